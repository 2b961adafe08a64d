/* compare_sets.c: `servesim compare --sets`: two sets of runs of one
 * configuration each (seeds), gated metric by metric with Welch's t-test,
 * Holm-adjusted, and the tolerance: seed noise is not a regression. */
#include <errno.h>
#include <fnmatch.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "compare.h"
#include "compare_runs.h"

double compare_welch_p(double mean_x, double var_x, int n_x, double mean_y, double var_y, int n_y)
{
    double vx = var_x / n_x, vy = var_y / n_y, se = sqrt(vx + vy);
    double diff = mean_y - mean_x;
    if (!(se > 0)) return diff > 0 ? 0.0 : 1.0; /* no spread on either side: exact */
    double df = (vx + vy) * (vx + vy) / (vx * vx / (n_x - 1) + vy * vy / (n_y - 1));
    return gsl_cdf_tdist_Q(diff / se, df);
}

typedef struct Sample {
    int n;                   /* numbers */
    double mean, var;        /* sample variance (n - 1) */
    bool all_equal;          /* every number the same */
    double first;
} Sample;

static void sample_add(Sample *s, double x, double *m2)
{
    if (!s->n) s->first = x;
    s->all_equal = (s->n ? s->all_equal : true) && x == s->first;
    double d = x - s->mean;
    s->mean += d / ++s->n;
    *m2 += d * (x - s->mean);
}

/* `key` over every run of one side; a gated metric must be a number in every
 * run, or null in every run of both sides (checked by the caller): 0, or 1
 * with the problem recorded in `out`. */
static int side_sample(CompareResult *out, const CompareRunSet *s, const char *side, const char *key,
                       bool gated, Sample *smp, int *nulls)
{
    double m2 = 0;
    memset(smp, 0, sizeof(*smp));
    for (size_t i = 0; i < s->n; i++) {
        json_t *v = json_object_get(s->run[i].metrics, key);
        if (json_is_number(v)) { sample_add(smp, json_number_value(v), &m2); continue; }
        if (json_is_null(v)) { (*nulls)++; continue; }
        if (!gated) continue;
        if (!out->bad_metrics++)
            snprintf(out->first_bad, sizeof(out->first_bad), "compare: gated metric '%s' is %s in %.400s (%s)",
                     key, v ? "not a number" : "missing", s->run[i].file, side);
        return 1;
    }
    smp->var = smp->n > 1 ? m2 / (smp->n - 1) : NAN;
    return 0;
}

static void add_row(CompareResult *out, const char *key, CompareDir dir, const CompareTol *t,
                    const Sample *sa, const Sample *sb)
{
    SS_GROW(out->rows, out->cap, out->n + 1);
    CompareRow *row = &out->rows[out->n++];
    memset(row, 0, sizeof(*row));
    snprintf(row->metric, sizeof(row->metric), "%s", key);
    row->dir = dir;
    row->n_a = sa->n;
    row->n_b = sb->n;
    row->a = sa->n ? sa->mean : NAN;
    row->b = sb->n ? sb->mean : NAN;
    row->sd_a = sa->n > 1 ? sqrt(sa->var) : NAN;
    row->sd_b = sb->n > 1 ? sqrt(sb->var) : NAN;
    row->p = NAN;
    bool equal = sa->n && sb->n && sa->all_equal && sb->all_equal && sa->first == sb->first;
    if (!sa->n || !sb->n) row->verdict = !sa->n && !sb->n ? CMP_SAME : CMP_NA;
    else if (equal) row->verdict = CMP_SAME;
    else row->verdict = CMP_WITHIN;
    if (dir == CMP_INFO || !sa->n || !sb->n) return;
    row->allowed = SS_MAX(t->rel * fabs(row->a), t->abs);
    /* "worse" is larger for lower-better metrics: test y = B against x = A
     * on the metric's sign so that Welch's y > x means B is worse */
    double sign = dir == CMP_LOWER_BETTER ? 1 : -1;
    if (!equal) row->p = compare_welch_p(sign * sa->mean, sa->var, sa->n, sign * sb->mean, sb->var, sb->n);
}

static int by_p(const void *x, const void *y)
{
    const CompareRow *a = *(const CompareRow *const *)x, *b = *(const CompareRow *const *)y;
    return a->p < b->p ? -1 : a->p > b->p ? 1 : strcmp(a->metric, b->metric);
}

/* Holm's step-down over the gated rows with a p-value, then the verdicts. */
static void judge_rows(CompareResult *out, double alpha)
{
    CompareRow **tested = ss_calloc(out->n + 1, sizeof(*tested));
    int m = 0;
    for (size_t i = 0; i < out->n; i++)
        if (out->rows[i].dir != CMP_INFO && isfinite(out->rows[i].p)) tested[m++] = &out->rows[i];
    qsort(tested, (size_t)m, sizeof(*tested), by_p);
    bool *significant = ss_calloc((size_t)m + 1, sizeof(*significant));
    for (int k = 0; k < m && tested[k]->p <= alpha / (m - k); k++) significant[k] = true;
    for (int k = 0; k < m; k++) {
        CompareRow *w = tested[k];
        double worse = w->dir == CMP_HIGHER_BETTER ? w->a - w->b : w->b - w->a;
        if (worse > w->allowed) w->verdict = significant[k] ? CMP_REGRESSION : CMP_NOT_SIGNIFICANT;
        else w->verdict = worse < 0 ? CMP_BETTER : CMP_WITHIN;
        out->regressions += w->verdict == CMP_REGRESSION;
    }
    out->tests = m;
    free(significant);
    free(tested);
}

static void compare_metric(CompareResult *out, const CompareRunSet *sa, const CompareRunSet *sb,
                           const CompareRules *rules, const char *key)
{
    for (int i = 0; rules && i < rules->n; i++)
        if (!fnmatch(rules->tol[i].pattern, key, 0)) out->tol_matched[i] = true;
    CompareTol t = compare_tolerance(rules, key);
    CompareDir dir = t.off ? CMP_INFO : compare_direction(key);
    bool gated = dir != CMP_INFO;
    Sample a, b;
    int nulls = 0;
    if (side_sample(out, sa, "A", key, gated, &a, &nulls) || side_sample(out, sb, "B", key, gated, &b, &nulls))
        return;
    if (gated && nulls && a.n + b.n) {
        if (!out->bad_metrics++)
            snprintf(out->first_bad, sizeof(out->first_bad), "compare: gated metric '%s' is null in %d "
                     "of the runs and a number in %d: not comparable", key, nulls, a.n + b.n);
        return;
    }
    add_row(out, key, dir, &t, &a, &b);
    out->gated += gated;
    out->identical += gated && out->rows[out->n - 1].verdict == CMP_SAME;
}

/* Every run is a sample of the same configuration: warn when one is not
 * (another input, model, ... than the side's first run or A's first run),
 * or when a seed repeats within a side (identical runs are not samples). */
static void warn_sets(CompareResult *out, const CompareRunSet *s, const CompareRun *ref, const char *side)
{
    for (size_t i = 0; i < s->n; i++) {
        if (&s->run[i] != ref) compare__warn_if_inputs_differ(out, ref, &s->run[i], true);
        json_t *seed = s->run[i].manifest ? json_object_get(s->run[i].manifest, "seed") : NULL;
        for (size_t j = 0; seed && j < i; j++)
            if (s->run[j].manifest && json_equal(seed, json_object_get(s->run[j].manifest, "seed"))) {
                compare__warn(out, "%s and %s (%s) have the same seed %lld: one configuration and seed "
                              "gives one result, not two samples", s->run[j].file, s->run[i].file, side,
                              (long long)json_integer_value(seed));
                break;
            }
    }
}

/* Samples of one configuration are like with like: real vllm bench serve
 * results and simulations are not pooled or tested against each other
 * (accuracy is `compare REAL SIM`, one pair). */
static int refuse_mixed(const CompareRunSet *sa, const CompareRunSet *sb)
{
    const CompareRun *real = NULL, *sim = NULL;
    const CompareRunSet *sides[2] = { sa, sb };
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < sides[s]->n; i++) {
            if (sides[s]->run[i].real && !real) real = &sides[s]->run[i];
            if (!sides[s]->run[i].real && !sim) sim = &sides[s]->run[i];
        }
    if (real && sim)
        return ss_error_set(EINVAL, "compare --sets: %s is a real vllm bench serve result and %s a simulation: "
                            "sets pool runs of one kind (for accuracy, compare one real result with one "
                            "simulation, without --sets)", real->file, sim->file);
    return 0;
}

int compare_sets(const char *const *a, int na, const char *const *b, int nb, const CompareRules *rules,
                 double alpha, CompareResult *out)
{
    CompareRunSet sa = { 0 }, sb = { 0 };
    memset(out, 0, sizeof(*out));
    out->sets = true;
    out->alpha = alpha;
    int r = 0;
    for (int i = 0; i < na && !r; i++) r = compare__set_load(&sa, a[i]);
    for (int i = 0; i < nb && !r; i++) r = compare__set_load(&sb, b[i]);
    if (!r) r = refuse_mixed(&sa, &sb);
    if (!r && (sa.n < 2 || sb.n < 2))
        r = ss_error_set(EINVAL, "compare --sets: A has %zu run%s and B %zu: a test over seeds needs at least "
                         "2 runs a side (more seeds, more power)", sa.n, sa.n == 1 ? "" : "s", sb.n);
    if (r) goto done;
    out->set_runs_a = (int)sa.n;
    out->set_runs_b = (int)sb.n;
    out->runs = (int)(sa.n + sb.n);
    warn_sets(out, &sa, &sa.run[0], "A");
    warn_sets(out, &sb, &sa.run[0], "B");
    json_t *keys = json_object(); /* every metric name, in first-seen order */
    const CompareRunSet *sides[2] = { &sa, &sb };
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < sides[s]->n; i++) {
            const char *key;
            json_t *v;
            json_object_foreach(sides[s]->run[i].metrics, key, v) json_object_set(keys, key, json_true());
        }
    const char *key;
    json_t *v;
    json_object_foreach(keys, key, v) compare_metric(out, &sa, &sb, rules, key);
    json_decref(keys);
    judge_rows(out, alpha);
    r = compare__finish(out, rules);
done:
    compare__set_free(&sa);
    compare__set_free(&sb);
    return r;
}
