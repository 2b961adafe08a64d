/* plan.c: the smallest homogeneous fleet of one GPU kind meeting the SLOs.
 *
 * Search: sizes 1, 2, 4, ... until one passes, then bisection between the
 * last failing and the first passing size: O(log n) sizes, each R seeds.
 * A size passes when every seed meets every SLO (default), or, with a
 * confidence level c, when the one-sided c t-bound of each SLO metric's mean
 * over the R seeds meets it (upper bound for latencies and failures, lower
 * bound for the goodput share). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "common.h"
#include "cost/cost.h"
#include "plan.h"

static const char *const metric_names[PLAN_N_METRICS] = {
    "p99_ttft_s", "p99_tpot_s", "goodput_share", "failure_share", "request_throughput", "mean_ttft_s",
};

const char *plan_metric_name(int k) { return metric_names[k]; }

int32_t plan_search_monotone(int32_t max_n, PlanPassFn pass, void *ctx)
{
    int32_t lo = 0, hi = 0; /* lo fails (0 always does), hi passes */
    for (int32_t n = 1; n <= max_n;) {
        int r = pass(ctx, n);
        if (r < 0) return r;
        if (r) { hi = n; break; }
        lo = n;
        if (n == max_n) break;
        n = n > max_n / 2 ? max_n : 2 * n;
    }
    if (!hi) return 0;
    while (hi - lo > 1) {
        int32_t mid = lo + (hi - lo) / 2;
        int r = pass(ctx, mid);
        if (r < 0) return r;
        if (r) hi = mid; else lo = mid;
    }
    return hi;
}

typedef struct SeedJob {
    const PlanConfig *c;
    EngineConfig cfg;           /* fleet set; seed per job */
    double (*x)[PLAN_N_METRICS]; /* [seed][metric] */
} SeedJob;

static int seed_run(void *ctx, int64_t i)
{
    SeedJob *j = ctx;
    EngineConfig cfg = j->cfg;
    cfg.seed = j->c->first_seed + (uint64_t)i;
    SimOutcome o;
    int r = sim_run_once(&cfg, &j->c->input, &o);
    if (r) return r;
    double *x = j->x[i];
    double arrived = o.arrived > 0 ? (double)o.arrived : NAN;
    x[PLAN_P99_TTFT] = sim_metric(&o, "p99_ttft_ms") / 1e3;
    x[PLAN_P99_TPOT] = sim_metric(&o, "p99_tpot_ms") / 1e3;
    x[PLAN_GOODPUT_SHARE] = o.good / arrived;
    x[PLAN_FAILURE_SHARE] = o.failed / arrived;
    x[PLAN_THROUGHPUT] = sim_metric(&o, "request_throughput");
    x[PLAN_MEAN_TTFT] = sim_metric(&o, "mean_ttft_ms") / 1e3;
    sim_outcome_clear(&o);
    return 0;
}

/* Does a value (a seed's, or a bound) meet SLO metric k?  NaN never does. */
static bool meets(const PlanSlo *s, int k, double v)
{
    switch (k) {
    case PLAN_P99_TTFT: return s->p99_ttft_s <= 0 || v <= s->p99_ttft_s;
    case PLAN_P99_TPOT: return s->p99_tpot_s <= 0 || v <= s->p99_tpot_s;
    case PLAN_GOODPUT_SHARE: return s->min_goodput_share <= 0 || v >= s->min_goodput_share;
    case PLAN_FAILURE_SHARE: return s->max_failure_share < 0 || v <= s->max_failure_share;
    default: return true;
    }
}

static void summarise(PlanEval *ev, const PlanSlo *slo, double (*x)[PLAN_N_METRICS], int32_t R)
{
    double t95 = R > 1 ? gsl_cdf_tdist_Pinv(0.975, R - 1) : 0;
    double tc = R > 1 && slo->confidence > 0 ? gsl_cdf_tdist_Pinv(slo->confidence, R - 1) : 0;
    bool bound_pass = true;
    for (int k = 0; k < PLAN_N_METRICS; k++) {
        double sum = 0, ss = 0;
        for (int32_t i = 0; i < R; i++) sum += x[i][k];
        double mean = sum / R;
        for (int32_t i = 0; i < R; i++) ss += (x[i][k] - mean) * (x[i][k] - mean);
        double se = R > 1 ? sqrt(ss / (R - 1) / R) : 0;
        ev->mean[k] = mean;
        ev->half[k] = t95 * se;
        double bound = k == PLAN_GOODPUT_SHARE ? mean - tc * se : mean + tc * se;
        if (!meets(slo, k, bound)) bound_pass = false;
    }
    ev->seeds_passed = 0;
    for (int32_t i = 0; i < R; i++) {
        bool ok = true;
        for (int k = 0; k < PLAN_N_METRICS; k++) ok = ok && meets(slo, k, x[i][k]);
        ev->seeds_passed += ok;
    }
    ev->pass = slo->confidence > 0 && R > 1 ? bound_pass : ev->seeds_passed == R;
}

typedef struct SearchCtx {
    const PlanConfig *c;
    PlanAnswer *a;
} SearchCtx;

int plan_eval_fleet(const PlanConfig *c, const char *fleet, int32_t instances, PlanEval *ev,
                    int64_t *sims)
{
    SeedJob job = { .c = c, .cfg = c->base };
    if (strlen(fleet) >= sizeof(job.cfg.fleet)) return ss_error_set(EINVAL, "plan: fleet spec too long");
    memcpy(job.cfg.fleet, fleet, strlen(fleet) + 1);
    job.x = ss_calloc((size_t)c->seeds, sizeof(*job.x));
    int r = parallel_for(c->seeds, c->threads, seed_run, &job);
    *sims += c->seeds;
    if (!r) {
        memset(ev, 0, sizeof(*ev));
        ev->instances = instances;
        summarise(ev, &c->slo, job.x, c->seeds);
        r = ev->pass;
    }
    free(job.x);
    return r;
}

static int eval_size(void *ctx, int32_t n)
{
    SearchCtx *s = ctx;
    PlanAnswer *a = s->a;
    if (a->n_evals == (int32_t)SS_ARRAY_LEN(a->evals)) return ss_error_set(E2BIG, "plan: too many sizes");
    char fleet[256];
    int w = snprintf(fleet, sizeof(fleet), "%dx%s:tp=%d", n, a->cand.gpu, a->cand.tp);
    if (w < 0 || (size_t)w >= sizeof(fleet)) return ss_error_set(EINVAL, "plan: GPU name too long");
    PlanEval ev;
    int r = plan_eval_fleet(s->c, fleet, n, &ev, &a->sims);
    if (r >= 0) a->evals[a->n_evals++] = ev;
    return r;
}

int plan_candidate(const PlanConfig *c, const PlanCandidate *cand, PlanAnswer *out)
{
    memset(out, 0, sizeof(*out));
    out->cand = *cand;
    if (out->cand.price_per_hour < 0) {
        GpuSpec g;
        int r = gpu_spec_load(&g, cand->gpu);
        if (r) { snprintf(out->error, sizeof(out->error), "%s", ss_error_get()); return r; }
        out->cand.price_per_hour = g.price_per_hour;
    }
    double wall0 = ss_wall_seconds();
    SearchCtx s = { c, out };
    int32_t n = plan_search_monotone(c->max_instances, eval_size, &s);
    out->wall_s = ss_wall_seconds() - wall0;
    if (n < 0) {
        snprintf(out->error, sizeof(out->error), "%s", ss_error_get());
        return n;
    }
    out->found = n > 0;
    out->instances = n;
    out->cost_per_hour = n * out->cand.tp * out->cand.price_per_hour;
    return 0;
}

const PlanEval *plan_answer_eval(const PlanAnswer *a, int32_t instances)
{
    for (int32_t i = 0; i < a->n_evals; i++)
        if (a->evals[i].instances == instances) return &a->evals[i];
    return NULL;
}

/* ---- JSON ---- */

json_t *plan_slo_json(const PlanSlo *s)
{
    json_t *j = json_object();
    if (s->p99_ttft_s > 0) json_object_set_new(j, "p99_ttft_s", json_real(s->p99_ttft_s));
    if (s->p99_tpot_s > 0) json_object_set_new(j, "p99_tpot_s", json_real(s->p99_tpot_s));
    if (s->min_goodput_share > 0) json_object_set_new(j, "min_goodput_share", json_real(s->min_goodput_share));
    if (s->max_failure_share >= 0) json_object_set_new(j, "max_failure_share", json_real(s->max_failure_share));
    json_object_set_new(j, "criterion", s->confidence > 0
        ? json_sprintf("one-sided %g t-bound of the mean over seeds", s->confidence)
        : json_string("every seed"));
    return j;
}

static json_t *number(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *eval_json(const PlanAnswer *a, const PlanEval *ev)
{
    json_t *j = json_object();
    json_object_set_new(j, "instances", json_integer(ev->instances));
    json_object_set_new(j, "gpus", json_integer((json_int_t)ev->instances * a->cand.tp));
    json_object_set_new(j, "cost_per_hour", json_real(ev->instances * a->cand.tp * a->cand.price_per_hour));
    json_object_set_new(j, "pass", json_boolean(ev->pass));
    json_object_set_new(j, "seeds_passed", json_integer(ev->seeds_passed));
    json_t *m = json_object();
    for (int k = 0; k < PLAN_N_METRICS; k++) {
        json_t *x = json_object();
        json_object_set_new(x, "mean", number(ev->mean[k]));
        json_t *ci = json_array();
        json_array_append_new(ci, number(ev->mean[k] - ev->half[k]));
        json_array_append_new(ci, number(ev->mean[k] + ev->half[k]));
        json_object_set_new(x, "ci95", ci);
        json_object_set_new(m, metric_names[k], x);
    }
    json_object_set_new(j, "metrics", m);
    return j;
}

json_t *plan_answer_json(const PlanAnswer *a)
{
    json_t *j = json_object();
    json_object_set_new(j, "gpu", json_string(a->cand.gpu));
    json_object_set_new(j, "tp", json_integer(a->cand.tp));
    json_object_set_new(j, "price_per_gpu_hour", json_real(a->cand.price_per_hour));
    json_object_set_new(j, "found", json_boolean(a->found));
    if (a->error[0]) json_object_set_new(j, "error", json_string(a->error));
    if (a->found) {
        json_object_set_new(j, "instances", json_integer(a->instances));
        json_object_set_new(j, "gpus", json_integer((json_int_t)a->instances * a->cand.tp));
        json_object_set_new(j, "cost_per_hour", json_real(a->cost_per_hour));
        const PlanEval *at = plan_answer_eval(a, a->instances);
        const PlanEval *below = plan_answer_eval(a, a->instances - 1);
        if (at) json_object_set_new(j, "at_answer", eval_json(a, at));
        if (below) json_object_set_new(j, "one_fewer", eval_json(a, below));
    }
    json_t *evs = json_array();
    for (int32_t i = 0; i < a->n_evals; i++) json_array_append_new(evs, eval_json(a, &a->evals[i]));
    json_object_set_new(j, "search", evs);
    json_object_set_new(j, "simulations", json_integer(a->sims));
    return j;
}
