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
    case CMP_NOT_SIGNIFICANT: return "noise";
    case CMP_BEYOND: return "beyond";
    case CMP_MISSING: return w->missing & 1 ? "missing in A" : "missing in B";
    default: return "n/a";
    }
}

static void format_change(char *buf, size_t cap, const CompareRow *w)
{
    buf[0] = '\0';
    if (isfinite(w->a) && isfinite(w->b) && w->a != 0)
        snprintf(buf, cap, "%+.2f%%", 100 * (w->b - w->a) / fabs(w->a));
}

static void format_allowed(char *buf, size_t cap, const CompareRow *w)
{
    buf[0] = '\0';
    if (w->dir != CMP_INFO) snprintf(buf, cap, "%c%.4g", w->dir == CMP_HIGHER_BETTER ? '-' : '+', w->allowed);
}

/* Column widths that fit every name: a table never cuts a value. */
static int metric_width(const CompareResult *r)
{
    size_t w = 24;
    for (size_t i = 0; i < r->n; i++) w = SS_MAX(w, strlen(r->rows[i].metric));
    return (int)w;
}

static int run_width(const CompareResult *r)
{
    size_t w = 24;
    for (size_t i = 0; i < r->n; i++) w = SS_MAX(w, strlen(r->rows[i].run));
    return (int)w;
}

/* Sets: means and standard deviations over the runs, the p-value. */
static void print_sets(FILE *f, const CompareResult *r, bool all)
{
    int mw = metric_width(r);
    fprintf(f, "%-*s %12s %10s %12s %10s %9s %11s %9s  %s\n", mw, "metric", "A mean", "A sd", "B mean", "B sd",
            "change", "allowed", "p", "verdict");
    for (size_t i = 0; i < r->n; i++) {
        const CompareRow *w = &r->rows[i];
        if (!all && (w->dir == CMP_INFO || w->verdict == CMP_SAME)) continue;
        char change[32], allowed[32], p[32] = "";
        format_change(change, sizeof(change), w);
        format_allowed(allowed, sizeof(allowed), w);
        if (isfinite(w->p)) snprintf(p, sizeof(p), "%.3g", w->p);
        fprintf(f, "%-*s %12.6g %10.4g %12.6g %10.4g %9s %11s %9s  %s\n", mw, w->metric, w->a, w->sd_a, w->b,
                w->sd_b, change, allowed, p, compare_verdict_name(w));
    }
    fprintf(f, "compare: sets of %d (A) and %d (B) runs, %d gated metrics (%d identical), Welch's one-sided "
            "t-test at alpha %g, Holm over %d tests: %d regression%s\n", r->set_runs_a, r->set_runs_b, r->gated,
            r->identical, r->alpha, r->tests, r->regressions, r->regressions == 1 ? "" : "s");
}

/* The simulation's error (sim - real) / |real|; NAN when real is 0 and
 * they differ, or either is undefined. */
static double accuracy_error(const CompareResult *r, const CompareRow *w)
{
    double real = r->real_side ? w->b : w->a, sim = r->real_side ? w->a : w->b;
    if (!isfinite(real) || !isfinite(sim)) return NAN;
    if (real == 0) return sim == 0 ? 0 : NAN;
    return (sim - real) / fabs(real);
}

/* The names of the metrics with a number on one side only ("" if none). */
static void missing_list(const CompareResult *r, int side_bit, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < r->n; i++) {
        const CompareRow *w = &r->rows[i];
        size_t at = strlen(buf);
        if (w->verdict == CMP_MISSING && (w->missing & side_bit) && at + 1 < cap)
            snprintf(buf + at, cap - at, "%s%s", at ? ", " : "", w->metric);
    }
}

static void print_accuracy(FILE *f, const CompareResult *r, bool all)
{
    const char *real = r->real_side ? "B" : "A", *sim = r->real_side ? "A" : "B";
    fprintf(f, "accuracy: the simulation (%s) against a real %s (%s)\n", sim, r->real_desc, real);
    int mw = metric_width(r);
    fprintf(f, "%-*s %14s %14s %9s %11s  %s\n", mw, "metric", "A", "B", "error", "tolerance", "verdict");
    double worst = -1, sum = 0;
    const char *worst_name = "";
    int n_err = 0;
    for (size_t i = 0; i < r->n; i++) {
        const CompareRow *w = &r->rows[i];
        double e = accuracy_error(r, w);
        if (w->dir != CMP_INFO && isfinite(e)) {
            sum += fabs(e);
            n_err++;
            if (fabs(e) > worst) { worst = fabs(e); worst_name = w->metric; }
        }
        if (!all && (w->dir == CMP_INFO || w->verdict == CMP_NA)) continue;
        char err[32] = "", tol[32] = "";
        if (isfinite(e)) snprintf(err, sizeof(err), "%+.2f%%", fabs(e) < 5e-5 ? 0.0 : 100 * e);
        if (w->dir != CMP_INFO && w->verdict != CMP_MISSING && w->verdict != CMP_NA) snprintf(tol, sizeof(tol), "+-%.4g", w->allowed);
        fprintf(f, "%-*s %14.6g %14.6g %9s %11s  %s\n", mw, w->metric, w->a, w->b, err, tol,
                compare_verdict_name(w));
    }
    char only[2][2048];
    missing_list(r, 2, only[0], sizeof(only[0])); /* a number in A, none in B */
    missing_list(r, 1, only[1], sizeof(only[1]));
    if (only[0][0]) fprintf(f, "only in A (missing in B): %s\n", only[0]);
    if (only[1][0]) fprintf(f, "only in B (missing in A): %s\n", only[1]);
    fprintf(f, "compare: accuracy of %s against the real %s: %d gated metrics on both sides, mean |error| %.2f%%",
            sim, real, r->gated, n_err ? 100 * sum / n_err : 0.0);
    if (worst >= 0) fprintf(f, " (largest %.2f%%, %s)", 100 * worst, worst_name);
    fprintf(f, ", %d beyond tolerance, %d metrics on one side only\n", r->beyond, r->missing);
}

void compare_print(FILE *f, const CompareResult *r, bool all)
{
    if (r->sets) {
        print_sets(f, r, all);
        return;
    }
    if (r->accuracy) {
        print_accuracy(f, r, all);
        return;
    }
    int rw = run_width(r), mw = metric_width(r);
    fprintf(f, "%-*s %-*s %14s %14s %9s %11s  %s\n", rw, "run", mw, "metric", "A", "B", "change", "allowed", "verdict");
    for (size_t i = 0; i < r->n; i++) {
        const CompareRow *w = &r->rows[i];
        if (!all && (w->dir == CMP_INFO || w->verdict == CMP_SAME)) continue;
        char change[32], allowed[32];
        format_change(change, sizeof(change), w);
        format_allowed(allowed, sizeof(allowed), w);
        fprintf(f, "%-*s %-*s %14.6g %14.6g %9s %11s  %s\n", rw, *w->run ? w->run : "-",
                mw, w->metric, w->a, w->b, change, allowed, compare_verdict_name(w));
    }
    fprintf(f, "compare: %d run%s, %d gated metrics (%d identical), %d regression%s\n", r->runs,
            r->runs == 1 ? "" : "s", r->gated, r->identical, r->regressions, r->regressions == 1 ? "" : "s");
}

static json_t *number_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *row_json(const CompareResult *r, const CompareRow *w, bool sets)
{
    static const char *const dir_name[] = { "info", "higher", "lower" };
    static const char *const verdict_key[] = { "same", "within", "better", "regression", "n/a", "not_significant",
                                               "beyond", "missing" };
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
    if (r->accuracy) {
        /* error: (simulated - real) / |real|, signed */
        json_object_set_new(o, "real", number_or_null(r->real_side ? w->b : w->a));
        json_object_set_new(o, "simulated", number_or_null(r->real_side ? w->a : w->b));
        json_object_set_new(o, "error", number_or_null(accuracy_error(r, w)));
        json_object_set_new(o, "missing_in", w->verdict != CMP_MISSING ? json_null()
                                             : json_string(w->missing & 1 ? "a" : "b"));
    }
    if (sets) {
        json_object_set_new(o, "n_a", json_integer(w->n_a));
        json_object_set_new(o, "n_b", json_integer(w->n_b));
        json_object_set_new(o, "sd_a", number_or_null(w->sd_a));
        json_object_set_new(o, "sd_b", number_or_null(w->sd_b));
        json_object_set_new(o, "p", number_or_null(w->p));
    }
    return o;
}

json_t *compare_json(const CompareResult *r, const char *a, const char *b)
{
    json_t *o = json_object(), *rows = json_array(), *warnings = json_array();
    json_object_set_new(o, "a", json_string(a));
    json_object_set_new(o, "b", json_string(b));
    json_object_set_new(o, "mode", json_string(r->sets ? "sets" : r->accuracy ? "accuracy" : "pairs"));
    if (r->accuracy) {
        json_object_set_new(o, "verdict", json_string(r->beyond ? "beyond_tolerance" : "within_tolerance"));
        json_object_set_new(o, "real", json_string(r->real_side ? "b" : "a"));
        json_object_set_new(o, "real_source", json_string(r->real_desc));
        json_object_set_new(o, "beyond", json_integer(r->beyond));
        json_t *only[2] = { json_array(), json_array() };
        for (size_t i = 0; i < r->n; i++)
            if (r->rows[i].verdict == CMP_MISSING)
                json_array_append_new(only[r->rows[i].missing & 1 ? 0 : 1], json_string(r->rows[i].metric));
        json_object_set_new(o, "missing_in_a", only[0]);
        json_object_set_new(o, "missing_in_b", only[1]);
    } else {
        json_object_set_new(o, "verdict", json_string(r->regressions ? "regression" : "pass"));
    }
    if (r->sets) {
        json_object_set_new(o, "runs_a", json_integer(r->set_runs_a));
        json_object_set_new(o, "runs_b", json_integer(r->set_runs_b));
        json_object_set_new(o, "test", json_string("welch-one-sided-holm"));
        json_object_set_new(o, "alpha", json_real(r->alpha));
        json_object_set_new(o, "tests", json_integer(r->tests));
    }
    json_object_set_new(o, "runs", json_integer(r->runs));
    json_object_set_new(o, "gated", json_integer(r->gated));
    json_object_set_new(o, "identical", json_integer(r->identical));
    json_object_set_new(o, "regressions", json_integer(r->regressions));
    for (size_t i = 0; i < r->n_warnings; i++) json_array_append_new(warnings, json_string(r->warnings[i]));
    json_object_set_new(o, "warnings", warnings);
    for (size_t i = 0; i < r->n; i++) json_array_append_new(rows, row_json(r, &r->rows[i], r->sets));
    json_object_set_new(o, "metrics", rows);
    return o;
}
