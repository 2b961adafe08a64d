/* plan.c: the smallest homogeneous fleet of one GPU kind meeting the SLOs.
 *
 * Search: sizes 1, 2, 4, ... until one passes, then bisection between the
 * last failing and the first passing size: O(log n) sizes, each R seeds.
 * A size passes when every seed meets every SLO (default), or, with a
 * confidence level c, when the one-sided c t-bound of each SLO metric's mean
 * over the R seeds meets it (upper bound for latencies and failures, lower
 * bound for the goodput share). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "common.h"
#include "cost/cost.h"
#include "plan.h"

static const char *const metric_names[PLAN_N_METRICS] = {
    "p99_ttft_s", "p99_tpot_s", "goodput_share", "failure_share", "request_throughput", "mean_ttft_s",
    "usd_per_day", "gpu_hours_per_day", "slo_attainment", "worst_hour_attainment", "peak_instances",
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
    int32_t first;              /* index of the first seed this batch runs */
    double (*x)[PLAN_N_METRICS]; /* [seed][metric] */
    int64_t *servable, *unservable; /* [seed] */
} SeedJob;

static double json_num(const json_t *o, const char *key)
{
    const json_t *v = o ? json_object_get(o, key) : NULL;
    return v && json_is_number(v) ? json_number_value(v) : NAN;
}

/* An autoscaled run's day: cost (scaled to 24 hours: a compressed day's
 * account covers day_s seconds), SLO attainment, its worst hour's (hours
 * with no finished request do not count) and the most instances up. */
static void autoscale_figures(const json_t *as, double per_day_scale, double *x)
{
    for (int k = PLAN_FIRST_AUTOSCALE_METRIC; k < PLAN_N_METRICS; k++) x[k] = NAN;
    if (!as) return;
    x[PLAN_SLO_ATTAINMENT] = json_num(as, "slo_attainment");
    x[PLAN_PEAK_INSTANCES] = json_num(as, "peak_instances");
    /* The cost of the day's 24 hours: the drain after its last arrival is
     * the next day's first minutes (a 60 s tail would be 1.5 h a day once
     * a 960 s day is scaled up). */
    double worst = NAN, usd = 0, gpu_hours = 0;
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(as, "per_hour"), i, h) {
        double v = json_num(h, "slo_attainment");
        if (isfinite(v) && !(v >= worst)) worst = v;
        if (i < 24) usd += json_num(h, "usd"), gpu_hours += json_num(h, "gpu_hours");
    }
    x[PLAN_USD_PER_DAY] = usd * per_day_scale;
    x[PLAN_GPU_HOURS_PER_DAY] = gpu_hours * per_day_scale;
    x[PLAN_WORST_HOUR_ATTAINMENT] = worst;
}

static int seed_run(void *ctx, int64_t i)
{
    SeedJob *j = ctx;
    int64_t s = j->first + i;
    EngineConfig cfg = j->cfg;
    cfg.seed = j->c->first_seed + (uint64_t)s;
    SimOutcome o;
    int r = sim_run_once(&cfg, &j->c->input, &o);
    if (r) return r;
    double *x = j->x[s];
    /* Requests no number of these instances could serve (prompts over the
     * context or the KV cache, empty ones) are flagged, not judged: the
     * shares are of the servable requests. */
    int64_t servable = o.arrived - o.unservable;
    double n = servable > 0 ? (double)servable : NAN;
    x[PLAN_P99_TTFT] = sim_metric(&o, "p99_ttft_ms") / 1e3;
    x[PLAN_P99_TPOT] = sim_metric(&o, "p99_tpot_ms") / 1e3;
    x[PLAN_GOODPUT_SHARE] = o.good / n;
    x[PLAN_FAILURE_SHARE] = (o.failed - o.unservable) / n;
    /* Completions per second of offered time (first to last arrival): the
     * drain after the last arrival is not capacity the fleet was offered. */
    x[PLAN_THROUGHPUT] = o.completed / o.arrival_span_s;
    x[PLAN_MEAN_TTFT] = sim_metric(&o, "mean_ttft_ms") / 1e3;
    autoscale_figures(o.autoscale, j->c->per_day_scale, x);
    j->servable[s] = servable;
    j->unservable[s] = o.unservable;
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
    case PLAN_WORST_HOUR_ATTAINMENT: return s->min_hour_attainment <= 0 || v >= s->min_hour_attainment;
    default: return true;
    }
}

static bool is_share(int k)
{
    return k == PLAN_GOODPUT_SHARE || k == PLAN_FAILURE_SHARE || k == PLAN_SLO_ATTAINMENT ||
           k == PLAN_WORST_HOUR_ATTAINMENT;
}

/* Shares an SLO wants high: the worst seed is the lowest. */
static bool higher_is_better(int k)
{
    return k == PLAN_GOODPUT_SHARE || k == PLAN_SLO_ATTAINMENT || k == PLAN_WORST_HOUR_ATTAINMENT;
}

/* Bounds of a mean over seeds that stay inside the quantity's range, at
 * quantile z (a t quantile: few seeds).  Latencies and throughputs are > 0:
 * the delta-method interval on the log scale, m / e^(z se/m) .. m e^(z se/m),
 * which tends to m -+ z se when se << m and never crosses 0.  Shares are in
 * [0, 1]: the Wilson score interval at the effective sample size that the
 * seeds' spread implies, n_eff = p(1-p)/se^2 (Kish's design effect: the
 * requests of one run are not independent), capped at the requests pooled
 * over the seeds (and that count when the seeds agree exactly). */
static void range_bounds(int k, double m, double se, double z, double pooled_n, double *lo, double *hi)
{
    if (!isfinite(m)) { *lo = *hi = NAN; return; }
    if (!is_share(k)) {
        double f = m > 0 ? exp(z * se / m) : 1;
        *lo = m / f;
        *hi = m * f;
        return;
    }
    double p = fmin(fmax(m, 0.0), 1.0), n = pooled_n;
    if (se > 0 && p > 0 && p < 1) n = SS_MIN(n, p * (1 - p) / (se * se));
    if (!(n > 0)) { *lo = *hi = p; return; }
    double z2 = z * z, centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    double half = z / (1 + z2 / n) * sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    *lo = SS_MAX(0.0, centre - half);
    *hi = SS_MIN(1.0, centre + half);
}

static void summarise(PlanEval *ev, const PlanSlo *slo, double (*x)[PLAN_N_METRICS], int32_t R,
                      double pooled_servable)
{
    double t95 = R > 1 ? gsl_cdf_tdist_Pinv(0.975, R - 1) : 0;
    double tc = R > 1 && slo->confidence > 0 ? gsl_cdf_tdist_Pinv(slo->confidence, R - 1) : 0;
    bool judge_bound = slo->confidence > 0 && R > 1;
    ev->seeds_run = R;
    ev->failing = 0;
    for (int k = 0; k < PLAN_N_METRICS; k++) {
        double sum = 0, ss = 0, worst = x[0][k];
        for (int32_t i = 0; i < R; i++) {
            sum += x[i][k];
            bool worse = higher_is_better(k) ? x[i][k] < worst : x[i][k] > worst;
            if (worse || isnan(x[i][k])) worst = x[i][k];
        }
        double mean = sum / R;
        for (int32_t i = 0; i < R; i++) ss += (x[i][k] - mean) * (x[i][k] - mean);
        double se = R > 1 ? sqrt(ss / (R - 1) / R) : 0;
        ev->mean[k] = mean;
        /* An hour holds about a 24th of the day's requests. */
        double pooled = k == PLAN_WORST_HOUR_ATTAINMENT ? pooled_servable / 24 : pooled_servable;
        if (R > 1) range_bounds(k, mean, se, t95, pooled, &ev->lo[k], &ev->hi[k]);
        else ev->lo[k] = ev->hi[k] = NAN;
        /* --confidence judges the mean over seeds: its one-sided t-bound
         * (clamped to a share's range), as the seeds are the replications;
         * a Wilson bound would fail a zero-failure SLO at any sample size. */
        double bound = higher_is_better(k) ? mean - tc * se : mean + tc * se;
        if (is_share(k)) bound = fmin(fmax(bound, 0.0), 1.0);
        ev->judged[k] = judge_bound ? bound : worst;
        if (!meets(slo, k, ev->judged[k])) ev->failing |= 1u << k;
    }
    ev->seeds_passed = 0;
    for (int32_t i = 0; i < R; i++) {
        bool ok = true;
        for (int k = 0; k < PLAN_N_METRICS; k++) ok = ok && meets(slo, k, x[i][k]);
        ev->seeds_passed += ok;
    }
    ev->pass = ev->failing == 0;
}

void plan_eval_failing(const PlanEval *ev, const PlanSlo *slo, char *buf, size_t cap)
{
    static const char *const unit[PLAN_N_METRICS] = { " s", " s", "", "", "", "", "", "", "", "", "" };
    double limit[PLAN_N_METRICS] = { slo->p99_ttft_s, slo->p99_tpot_s, slo->min_goodput_share,
                                     slo->max_failure_share };
    limit[PLAN_WORST_HOUR_ATTAINMENT] = slo->min_hour_attainment;
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < PLAN_N_METRICS; k++) {
        if (!(ev->failing & (1u << k)) || used >= cap) continue;
        int w = snprintf(buf + used, cap - used, "%s%s %.4g%s %s %g%s", used ? "; " : "", metric_names[k],
                         ev->judged[k], unit[k], higher_is_better(k) ? "<" : ">", limit[k], unit[k]);
        if (w > 0) used += (size_t)w;
    }
}

typedef struct SearchCtx {
    const PlanConfig *c;
    PlanAnswer *a;
    int seeds_identical;        /* -1 until the first size has run */
    bool stalled;               /* doubling the size left every failing SLO metric unchanged */
} SearchCtx;

static bool rows_equal(const double *a, const double *b)
{
    for (int k = 0; k < PLAN_N_METRICS; k++)
        if (!(a[k] == b[k] || (isnan(a[k]) && isnan(b[k])))) return false;
    return true;
}

int plan_eval_fleet(const PlanConfig *c, const char *fleet, int32_t instances, PlanEval *ev,
                    int64_t *sims, int *seeds_identical)
{
    SeedJob job = { .c = c, .cfg = c->base };
    if (strlen(fleet) >= sizeof(job.cfg.fleet)) return ss_error_set(EINVAL, "plan: fleet spec too long");
    memcpy(job.cfg.fleet, fleet, strlen(fleet) + 1);
    int32_t R = c->seeds;
    job.x = ss_calloc((size_t)R, sizeof(*job.x));
    job.servable = ss_calloc((size_t)R, sizeof(int64_t));
    job.unservable = ss_calloc((size_t)R, sizeof(int64_t));
    int r = 0;
    if (R > 1 && *seeds_identical < 0) {
        /* Two seeds first: a deterministic set-up gives them equal results,
         * and R copies of one answer would fake an interval of width 0. */
        r = parallel_for(2, c->threads, seed_run, &job);
        *sims += 2;
        if (!r) {
            *seeds_identical = rows_equal(job.x[0], job.x[1]);
            if (*seeds_identical) R = 1;
            else if (R > 2) {
                job.first = 2;
                r = parallel_for(R - 2, c->threads, seed_run, &job);
                *sims += R - 2;
            }
        }
    } else {
        if (*seeds_identical > 0) R = 1;
        r = parallel_for(R, c->threads, seed_run, &job);
        *sims += R;
    }
    if (!r) {
        memset(ev, 0, sizeof(*ev));
        ev->instances = instances;
        double pooled = 0, unservable = 0, arrived = 0;
        for (int32_t i = 0; i < R; i++) {
            pooled += (double)job.servable[i];
            unservable += (double)job.unservable[i];
        }
        arrived = pooled + unservable;
        summarise(ev, &c->slo, job.x, R, pooled);
        ev->unservable = (int64_t)llround(unservable / R);
        ev->unservable_share = arrived > 0 ? unservable / arrived : NAN;
        r = ev->pass;
    }
    free(job.x);
    free(job.servable);
    free(job.unservable);
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
    int r = plan_eval_fleet(s->c, fleet, n, &ev, &a->sims, &s->seeds_identical);
    if (r < 0) return r;
    a->evals[a->n_evals++] = ev;
    a->seeds_identical = s->seeds_identical > 0;
    if (r || a->n_evals < 2) return r;
    /* Doubling changed nothing the SLO judges: the size is not what fails
     * (a GPU too slow for the TPOT even alone, requests that fail at any
     * load): say so and stop instead of searching to max_instances. */
    const PlanEval *prev = &a->evals[a->n_evals - 2];
    if (prev->instances * 2 == n && prev->failing == ev.failing) {
        bool same = true;
        for (int k = 0; k < PLAN_N_METRICS; k++)
            if ((ev.failing & (1u << k)) && !(fabs(ev.judged[k] - prev->judged[k]) <= 1e-9 * fabs(prev->judged[k])))
                same = false;
        if (same) {
            s->stalled = true;
            return -ECANCELED; /* ends the search; plan_candidate reports no answer and why */
        }
    }
    return 0;
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
    SearchCtx s = { c, out, -1, false };
    int32_t n = plan_search_monotone(c->max_instances, eval_size, &s);
    out->wall_s = ss_wall_seconds() - wall0;
    if (n < 0 && s.stalled) n = 0;
    if (n < 0) {
        snprintf(out->error, sizeof(out->error), "%s", ss_error_get());
        return n;
    }
    if (n == 0 && out->n_evals) {
        const PlanEval *last = &out->evals[out->n_evals - 1];
        char failing[256];
        plan_eval_failing(last, &c->slo, failing, sizeof(failing));
        if (s.stalled)
            snprintf(out->why, sizeof(out->why), "%s at both %d and %d instances: more instances do not "
                     "change it, so no size meets the SLO (search stopped)", failing, last->instances / 2,
                     last->instances);
        else
            snprintf(out->why, sizeof(out->why), "at %d instances (the search limit, --max-instances): %s",
                     last->instances, failing);
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
    if (s->min_hour_attainment > 0) json_object_set_new(j, "min_hour_attainment", json_real(s->min_hour_attainment));
    json_object_set_new(j, "criterion", s->confidence > 0
        ? json_sprintf("one-sided %g t-bound of the mean over seeds", s->confidence)
        : json_string("every seed"));
    return j;
}

static json_t *number(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

json_t *plan_eval_json(const PlanCandidate *cand, const PlanEval *ev)
{
    json_t *j = json_object();
    json_object_set_new(j, "instances", json_integer(ev->instances));
    json_object_set_new(j, "gpus", json_integer((json_int_t)ev->instances * cand->tp));
    json_object_set_new(j, "cost_per_hour", json_real(ev->instances * cand->tp * cand->price_per_hour));
    json_object_set_new(j, "pass", json_boolean(ev->pass));
    json_object_set_new(j, "seeds_run", json_integer(ev->seeds_run));
    json_object_set_new(j, "seeds_passed", json_integer(ev->seeds_passed));
    json_t *failing = json_array();
    for (int k = 0; k < PLAN_N_METRICS; k++)
        if (ev->failing & (1u << k)) json_array_append_new(failing, json_string(metric_names[k]));
    json_object_set_new(j, "failing", failing);
    json_object_set_new(j, "unservable_requests", json_integer(ev->unservable));
    json_object_set_new(j, "unservable_share", number(ev->unservable_share));
    json_t *m = json_object();
    for (int k = 0; k < PLAN_N_METRICS; k++) {
        if (k >= PLAN_FIRST_AUTOSCALE_METRIC && !isfinite(ev->mean[k])) continue; /* a fixed fleet */
        json_t *x = json_object();
        json_object_set_new(x, "mean", number(ev->mean[k]));
        /* null with one seed: a deterministic set-up has no spread to show */
        json_t *ci = json_null();
        if (isfinite(ev->lo[k]) && isfinite(ev->hi[k])) {
            ci = json_array();
            json_array_append_new(ci, json_real(ev->lo[k]));
            json_array_append_new(ci, json_real(ev->hi[k]));
        }
        json_object_set_new(x, "ci95", ci);
        json_object_set_new(x, "judged", number(ev->judged[k]));
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
    if (a->why[0]) json_object_set_new(j, "why_none", json_string(a->why));
    json_object_set_new(j, "seeds_identical", json_boolean(a->seeds_identical));
    if (a->found) {
        json_object_set_new(j, "instances", json_integer(a->instances));
        json_object_set_new(j, "gpus", json_integer((json_int_t)a->instances * a->cand.tp));
        json_object_set_new(j, "cost_per_hour", json_real(a->cost_per_hour));
        const PlanEval *at = plan_answer_eval(a, a->instances);
        const PlanEval *below = plan_answer_eval(a, a->instances - 1);
        if (at) json_object_set_new(j, "at_answer", plan_eval_json(&a->cand, at));
        if (below) json_object_set_new(j, "one_fewer", plan_eval_json(&a->cand, below));
    }
    json_t *evs = json_array();
    for (int32_t i = 0; i < a->n_evals; i++) json_array_append_new(evs, plan_eval_json(&a->cand, &a->evals[i]));
    json_object_set_new(j, "search", evs);
    json_object_set_new(j, "simulations", json_integer(a->sims));
    return j;
}
