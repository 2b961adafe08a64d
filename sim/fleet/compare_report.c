/* compare_report.c: a comparison as a table for the terminal and as JSON for
 * machines (`servesim compare --json`). */
#include <math.h>
#include <string.h>

#include "common.h"
#include "compare.h"

const char *compare_verdict_name(const CompareRow *w)
{
    switch (w->verdict) {
    case CMP_SAME: return "same";
    case CMP_WITHIN: return w->dir == CMP_INFO ? "(info)" : "within";
    case CMP_BETTER: return "better";
    case CMP_REGRESSION: return "REGRESSION";
    default: return "n/a";
    }
}

void compare_print(FILE *f, const CompareResult *r, bool all)
{
    fprintf(f, "%-24s %-24s %14s %14s %9s %11s  %s\n", "run", "metric", "A", "B", "change", "allowed", "verdict");
    for (size_t i = 0; i < r->n; i++) {
        const CompareRow *w = &r->rows[i];
        if (!all && (w->dir == CMP_INFO || w->verdict == CMP_SAME)) continue;
        char change[32] = "", allowed[32] = "";
        if (isfinite(w->a) && isfinite(w->b) && w->a != 0)
            snprintf(change, sizeof(change), "%+.2f%%", 100 * (w->b - w->a) / fabs(w->a));
        if (w->dir != CMP_INFO) snprintf(allowed, sizeof(allowed), "%c%.4g", w->dir == CMP_HIGHER_BETTER ? '-' : '+', w->allowed);
        fprintf(f, "%-24.24s %-24.24s %14.6g %14.6g %9s %11s  %s\n", *w->run ? w->run : "-",
                w->metric, w->a, w->b, change, allowed, compare_verdict_name(w));
    }
    fprintf(f, "compare: %d run%s, %d gated metrics (%d identical), %d regression%s\n", r->runs,
            r->runs == 1 ? "" : "s", r->gated, r->identical, r->regressions, r->regressions == 1 ? "" : "s");
}

static json_t *number_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *row_json(const CompareRow *w)
{
    static const char *const dir_name[] = { "info", "higher", "lower" };
    static const char *const verdict_key[] = { "same", "within", "better", "regression", "n/a" };
    json_t *o = json_object();
    json_object_set_new(o, "run", json_string(w->run));
    json_object_set_new(o, "metric", json_string(w->metric));
    json_object_set_new(o, "a", number_or_null(w->a));
    json_object_set_new(o, "b", number_or_null(w->b));
    /* relative change (B - A) / |A|, null when A is 0 or either is undefined */
    json_object_set_new(o, "change", isfinite(w->a) && isfinite(w->b) && w->a != 0
                                         ? json_real((w->b - w->a) / fabs(w->a)) : json_null());
    json_object_set_new(o, "direction", json_string(dir_name[w->dir]));
    json_object_set_new(o, "allowed", w->dir == CMP_INFO ? json_null() : json_real(w->allowed));
    json_object_set_new(o, "verdict", json_string(w->dir == CMP_INFO && w->verdict == CMP_WITHIN
                                                      ? "info" : verdict_key[w->verdict]));
    return o;
}

json_t *compare_json(const CompareResult *r, const char *a, const char *b)
{
    json_t *o = json_object(), *rows = json_array(), *warnings = json_array();
    json_object_set_new(o, "a", json_string(a));
    json_object_set_new(o, "b", json_string(b));
    json_object_set_new(o, "verdict", json_string(r->regressions ? "regression" : "pass"));
    json_object_set_new(o, "runs", json_integer(r->runs));
    json_object_set_new(o, "gated", json_integer(r->gated));
    json_object_set_new(o, "identical", json_integer(r->identical));
    json_object_set_new(o, "regressions", json_integer(r->regressions));
    for (size_t i = 0; i < r->n_warnings; i++) json_array_append_new(warnings, json_string(r->warnings[i]));
    json_object_set_new(o, "warnings", warnings);
    for (size_t i = 0; i < r->n; i++) json_array_append_new(rows, row_json(&r->rows[i]));
    json_object_set_new(o, "metrics", rows);
    return o;
}
