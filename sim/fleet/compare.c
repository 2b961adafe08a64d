/* compare.c: metric directions, tolerances, and the comparison of two
 * summary.json metric objects.  Loading result sets is compare_load.c. */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "compare.h"

/* Directions and default tolerances, first match wins. */
static const struct {
    const char *pattern;
    CompareDir dir;
    double rel, abs;
} defaults[] = {
    { "std_*", CMP_INFO, 0, 0 },
    { "*_throughput", CMP_HIGHER_BETTER, 0.02, 0 },
    { "request_goodput", CMP_HIGHER_BETTER, 0.02, 0 },
    { "completed", CMP_HIGHER_BETTER, 0, 0 },
    { "*_ttft_ms", CMP_LOWER_BETTER, 0.05, 0 },
    { "*_tpot_ms", CMP_LOWER_BETTER, 0.05, 0 },
    { "*_itl_ms", CMP_LOWER_BETTER, 0.05, 0 },
    { "*_e2el_ms", CMP_LOWER_BETTER, 0.05, 0 },
    { "*_wait_ms", CMP_LOWER_BETTER, 0.05, 0 },
    { "mean_response_time_ms", CMP_LOWER_BETTER, 0.05, 0 },
    { "mean_queue_length", CMP_LOWER_BETTER, 0.05, 0 },
    { "failure_rate", CMP_LOWER_BETTER, 0, 0.001 },
    { "padding_share", CMP_LOWER_BETTER, 0, 0.01 },
    { "preemptions", CMP_LOWER_BETTER, 0.10, 10 },
    { "failed", CMP_LOWER_BETTER, 0, 0 },
    { "rejected", CMP_LOWER_BETTER, 0, 0 },
    { "truncated", CMP_LOWER_BETTER, 0, 0 },
};

static int default_index(const char *metric)
{
    for (size_t i = 0; i < SS_ARRAY_LEN(defaults); i++)
        if (!fnmatch(defaults[i].pattern, metric, 0)) return (int)i;
    return -1;
}

CompareDir compare_direction(const char *metric)
{
    int i = default_index(metric);
    return i < 0 ? CMP_INFO : defaults[i].dir;
}

CompareTol compare_tolerance(const CompareRules *r, const char *metric)
{
    for (int i = 0; r && i < r->n; i++)
        if (!fnmatch(r->tol[i].pattern, metric, 0)) return r->tol[i];
    CompareTol t = { .off = true };
    int i = default_index(metric);
    if (i >= 0 && defaults[i].dir != CMP_INFO) {
        t.off = false;
        t.rel = defaults[i].rel;
        t.abs = defaults[i].abs;
    }
    snprintf(t.pattern, sizeof(t.pattern), "%s", i >= 0 ? defaults[i].pattern : "*");
    return t;
}

/* One "pattern=value" item: value is N% (relative), N (absolute) or off. */
static int parse_item(CompareTol *t, const char *item, size_t len, const char *spec)
{
    char buf[128];
    if (len >= sizeof(buf)) return ss_error_set(EINVAL, "--tol '%s': item too long", spec);
    memcpy(buf, item, len);
    buf[len] = '\0';
    char *eq = strchr(buf, '=');
    if (!eq || eq == buf || eq - buf >= (long)sizeof(t->pattern))
        return ss_error_set(EINVAL, "--tol '%s': '%s' is not metric=value", spec, buf);
    *eq = '\0';
    memset(t, 0, sizeof(*t));
    memcpy(t->pattern, buf, (size_t)(eq - buf) + 1);
    char *v = eq + 1;
    if (!strcmp(v, "off")) { t->off = true; return 0; }
    if (*v == '+' || *v == '-') v++;
    size_t n = strlen(v);
    bool pct = n && v[n - 1] == '%';
    if (pct) v[n - 1] = '\0';
    double x;
    if (ss_parse_double(v, &x) || !(x >= 0) || isinf(x))
        return ss_error_set(EINVAL, "--tol '%s': '%s' for %s is not N%%, N or off", spec, eq + 1, buf);
    if (pct) t->rel = x / 100; else t->abs = x;
    return 0;
}

int compare_rules_parse(CompareRules *r, const char *spec)
{
    const char *p = spec;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (r->n == COMPARE_MAX_TOLS) return ss_error_set(EINVAL, "--tol: more than %d rules", COMPARE_MAX_TOLS);
        int e = parse_item(&r->tol[r->n], p, len, spec);
        if (e) return e;
        r->n++;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

static double metric_value(json_t *m, const char *key)
{
    json_t *v = json_object_get(m, key);
    return v && json_is_number(v) ? json_number_value(v) : NAN;
}

/* A gated metric must be a number on both sides (or null on both: undefined
 * in either run, such as request_goodput without --slo).  Otherwise the
 * first problem is recorded and counted: 1, else 0. */
static int check_gated(CompareResult *out, const char *key, const char *file_a, json_t *va,
                       const char *file_b, json_t *vb)
{
    char why[560];
    json_t *v[2] = { va, vb };
    const char *file[2] = { file_a, file_b }, *side[2] = { "A", "B" };
    why[0] = '\0';
    for (int i = 0; i < 2 && !why[0]; i++) {
        if (!v[i]) {
            snprintf(why, sizeof(why), "missing in %s (%s)", file[i], side[i]);
        } else if (!json_is_number(v[i]) && !json_is_null(v[i])) {
            char *text = json_dumps(v[i], JSON_ENCODE_ANY | JSON_COMPACT);
            snprintf(why, sizeof(why), "not a number in %s (%s): %.60s", file[i], side[i], text ? text : "?");
            free(text);
        }
    }
    if (!why[0] && json_is_null(va) != json_is_null(vb)) {
        int n = json_is_null(va) ? 0 : 1;
        snprintf(why, sizeof(why), "null in %s (%s) but %.10g in %s (%s)", file[n], side[n],
                 json_number_value(v[1 - n]), file[1 - n], side[1 - n]);
    }
    if (!why[0]) return 0;
    if (!out->bad_metrics++)
        snprintf(out->first_bad, sizeof(out->first_bad), "compare: gated metric '%s' is %s", key, why);
    return 1;
}

static void note_tol_matches(CompareResult *out, const CompareRules *rules, const char *key)
{
    for (int i = 0; rules && i < rules->n; i++)
        if (!out->tol_matched[i] && !fnmatch(rules->tol[i].pattern, key, 0)) out->tol_matched[i] = true;
}

static CompareVerdict judge(CompareRow *row, const CompareTol *t)
{
    double a = row->a, b = row->b;
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) ? CMP_SAME : CMP_NA;
    if (row->dir != CMP_INFO && !t->off) row->allowed = SS_MAX(t->rel * fabs(a), t->abs);
    if (a == b) return CMP_SAME;
    if (row->dir == CMP_INFO || t->off) return CMP_WITHIN;
    double worse = row->dir == CMP_HIGHER_BETTER ? a - b : b - a;
    if (worse > row->allowed) return CMP_REGRESSION;
    return worse < 0 ? CMP_BETTER : CMP_WITHIN;
}

void compare__metrics(CompareResult *out, const char *run, const char *file_a, json_t *ma,
                      const char *file_b, json_t *mb, const CompareRules *rules)
{
    json_t *sets[2] = { ma, mb };
    for (int s = 0; s < 2; s++) {
        const char *key;
        json_t *v;
        json_object_foreach(sets[s], key, v) {
            note_tol_matches(out, rules, key);
            if (s == 1 && json_object_get(ma, key)) continue;
            CompareTol t = compare_tolerance(rules, key);
            CompareDir dir = t.off ? CMP_INFO : compare_direction(key);
            if (dir != CMP_INFO &&
                check_gated(out, key, file_a, json_object_get(ma, key), file_b, json_object_get(mb, key)))
                continue;
            SS_GROW(out->rows, out->cap, out->n + 1);
            CompareRow *row = &out->rows[out->n++];
            memset(row, 0, sizeof(*row));
            snprintf(row->run, sizeof(row->run), "%s", run);
            snprintf(row->metric, sizeof(row->metric), "%s", key);
            row->n_a = row->n_b = 1;
            row->sd_a = row->sd_b = row->p = NAN;
            row->a = metric_value(ma, key);
            row->b = metric_value(mb, key);
            row->dir = dir;
            row->verdict = judge(row, &t);
            out->regressions += row->verdict == CMP_REGRESSION;
            out->gated += dir != CMP_INFO;
            out->identical += dir != CMP_INFO && row->verdict == CMP_SAME;
        }
    }
    out->runs++;
}

int compare__finish(CompareResult *out, const CompareRules *rules)
{
    for (int i = 0; rules && i < rules->n; i++)
        if (!out->tol_matched[i])
            return ss_error_set(EINVAL, "--tol: pattern '%s' matches no metric in A or B (a typo? "
                                "metric names are summary.json's, e.g. p99_ttft_ms)", rules->tol[i].pattern);
    if (out->bad_metrics > 1)
        return ss_error_set(COMPARE_BAD_METRIC, "%s (and %d more gated metrics missing or not numbers)",
                            out->first_bad, out->bad_metrics - 1);
    if (out->bad_metrics) return ss_error_set(COMPARE_BAD_METRIC, "%s", out->first_bad);
    if (!out->gated)
        return ss_error_set(COMPARE_BAD_METRIC, "compare: no gated metric in A or B: nothing to judge "
                            "(servesim summaries have request_throughput, p99_ttft_ms, ...)");
    return 0;
}

void compare__warn(CompareResult *out, const char *fmt, ...)
{
    SS_GROW(out->warnings, out->warnings_cap, out->n_warnings + 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->warnings[out->n_warnings++], sizeof(out->warnings[0]), fmt, ap);
    va_end(ap);
}
