/* plan_autoscale.c: `servesim plan --autoscale`: the cheapest autoscaler
 * setting, over a small fixed grid, that meets the SLOs over a whole
 * diurnal day, beside the static fleets sized for the mean and peak hour.
 *
 * Every row of the grid is one `--autoscale` spec run over the day (R
 * seeds, judged by plan.c's criterion, intervals inside each quantity's
 * range).  The static fleets run as constant schedules (byte-identical to a
 * fixed fleet: test_autoscale) so that every row has the same accounting:
 * USD = time up x price, closed at the first decision after the last
 * request, scaled to 24 hours for a compressed day.  The grid is derived
 * from the two static answers (n_mean, n_peak) of the candidate's kind:
 *   static-mean, static-peak            schedule:counts=N, min = max = N
 *   schedule, schedule-x1.2             per hour ceil(h x rate_h / cap), h = 1, 1.2,
 *                                       cap = peak rate / n_peak (one instance's
 *                                       share at the peak sizing), lead = cold start
 *   target-utilisation low/target/high  0.2/0.3/0.4 (defaults), 0.3/0.45/0.6, 0.4/0.6/0.8
 *   queue                               up_queue 2, 4 (default), 8 with down_util 0.5
 * reactive rows: min 1, max 2 x n_peak, initial = the schedule's hour 0;
 * cold start everywhere the engine's default (boot 60 s + weights at 2 GB/s). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "cost/cost.h"
#include "plan.h"
#include "plan_autoscale.h"

/* Seconds from a boot decision to a ready instance, as the engine computes
 * it with the default boot= and load_gbps= (autoscale_engine.c). */
static int cold_start_s(const PlanConfig *c, const PlanCandidate *cand, double *out)
{
    ModelSpec m;
    GpuSpec g;
    const EngineConfig *e = &c->base;
    int r;
    if ((r = model_spec_load(&m, e->model)) || (r = gpu_spec_load(&g, cand->gpu))) return r;
    if ((r = model_spec_deploy(&m, &g, e->weights_dtype, e->kv_dtype, e->expert_parallel, cand->tp,
                               e->moe_skew, NULL, 0)))
        return r;
    *out = 60.0 + m.weight_bytes / 2e9;
    return 0;
}

static void add_setting(PlanAutoscale *p, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_setting(PlanAutoscale *p, const char *name, const char *fmt, ...)
{
    SS_ASSERT(p->n_settings < PLAN_AUTOSCALE_MAX_SETTINGS);
    PlanAutoscaleSetting *s = &p->settings[p->n_settings++];
    snprintf(s->name, sizeof(s->name), "%s", name);
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(s->spec, sizeof(s->spec), fmt, ap);
    va_end(ap);
    SS_ASSERT(w > 0 && (size_t)w < sizeof(s->spec)); /* 24 counts of <= 4 digits and the options fit */
}

static void counts_string(const int32_t *counts, char *buf, size_t cap)
{
    size_t used = 0;
    for (int h = 0; h < 24 && used < cap; h++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%d", h ? "/" : "", counts[h]);
}

/* The grid of the header comment, for one kind with static answers. */
static void build_grid(PlanAutoscale *p, const PlanAutoscaleDay *day)
{
    int32_t nm = p->n_mean, np = p->n_peak, hi = SS_MAX(2 * np, np + 1);
    double hour_s = day->day_s / 24, cap = day->peak_rate / np; /* req/s per instance */
    char counts[128], counts_hr[128];
    int32_t c1[24], c12[24];
    for (int h = 0; h < 24; h++) {
        double rate_h = day->rate * day->hour_mult[h];
        c1[h] = (int32_t)SS_MIN(hi, SS_MAX(1, (int32_t)ceil(rate_h / cap - 1e-9)));
        c12[h] = (int32_t)SS_MIN(hi, SS_MAX(1, (int32_t)ceil(1.2 * rate_h / cap - 1e-9)));
        p->counts[h] = c1[h];
    }
    counts_string(c1, counts, sizeof(counts));
    counts_string(c12, counts_hr, sizeof(counts_hr));
    add_setting(p, "static-mean", "schedule:counts=%d,min=%d,max=%d,hour=%.17g", nm, nm, nm, hour_s);
    add_setting(p, "static-peak", "schedule:counts=%d,min=%d,max=%d,hour=%.17g", np, np, np, hour_s);
    add_setting(p, "schedule", "schedule:counts=%s,min=1,max=%d,lead=%.10g,hour=%.17g", counts, hi, p->cold_start_s, hour_s);
    add_setting(p, "schedule-x1.2", "schedule:counts=%s,min=1,max=%d,lead=%.10g,hour=%.17g", counts_hr, hi,
                p->cold_start_s, hour_s);
    static const double band[3][3] = { { 0.2, 0.3, 0.4 }, { 0.3, 0.45, 0.6 }, { 0.4, 0.6, 0.8 } };
    for (int i = 0; i < 3; i++) {
        char name[48];
        snprintf(name, sizeof(name), "target-util-%g", band[i][1]);
        add_setting(p, name, "target-utilisation:low=%g,target=%g,high=%g,min=1,max=%d,initial=%d,hour=%.17g",
                    band[i][0], band[i][1], band[i][2], hi, c1[0], hour_s);
    }
    static const double upq[3] = { 2, 4, 8 }, down[3] = { 0.3, 0.3, 0.5 };
    for (int i = 0; i < 3; i++) {
        char name[48];
        snprintf(name, sizeof(name), "queue-%g", upq[i]);
        add_setting(p, name, "queue:up_queue=%g,down_util=%g,min=1,max=%d,initial=%d,hour=%.17g", upq[i], down[i],
                    hi, c1[0], hour_s);
    }
}

int plan_autoscale_candidate(const PlanConfig *c, const PlanAutoscaleDay *day, const PlanAnswer *mean,
                             const PlanAnswer *peak, PlanAutoscale *out)
{
    memset(out, 0, sizeof(*out));
    out->cand = mean->cand; /* price resolved by the static search */
    out->best = -1;
    if (!mean->found || !peak->found) {
        const PlanAnswer *none = !peak->found ? peak : mean;
        snprintf(out->why, sizeof(out->why), "no static %s fleet to derive the grid from: %.440s",
                 none == peak ? "peak-hour" : "mean-hour", none->error[0] ? none->error : none->why);
        return 0;
    }
    out->n_mean = mean->instances;
    out->n_peak = peak->instances;
    int r = cold_start_s(c, &out->cand, &out->cold_start_s);
    if (r) { snprintf(out->why, sizeof(out->why), "%s", ss_error_get()); return r; }
    build_grid(out, day);
    PlanConfig dc = *c;
    dc.input = day->input;
    dc.per_day_scale = 86400 / day->day_s;
    snprintf(dc.base.gpu, sizeof(dc.base.gpu), "%s", out->cand.gpu);
    dc.base.tensor_parallel = out->cand.tp;
    dc.base.fleet[0] = '\0';
    int seeds_identical = -1;
    double wall0 = ss_wall_seconds();
    for (int i = 0; i < out->n_settings; i++) {
        PlanAutoscaleSetting *s = &out->settings[i];
        snprintf(dc.base.autoscale_spec, sizeof(dc.base.autoscale_spec), "%s", s->spec);
        r = plan_eval_fleet(&dc, "", 0, &s->eval, &out->sims, &seeds_identical);
        if (r < 0) {
            snprintf(out->why, sizeof(out->why), "%s: %s", s->name, ss_error_get());
            return r;
        }
        if (r && (out->best < 0 || s->eval.mean[PLAN_USD_PER_DAY] < out->settings[out->best].eval.mean[PLAN_USD_PER_DAY]))
            out->best = i; /* ties keep the earlier row: static first */
    }
    out->wall_s = ss_wall_seconds() - wall0;
    out->seeds_identical = seeds_identical > 0;
    if (out->best < 0) {
        /* The cheapest failing row and what it fails: what to relax. */
        const PlanAutoscaleSetting *s = &out->settings[1]; /* static-peak: the most capacity of the static rows */
        char failing[256];
        plan_eval_failing(&s->eval, &c->slo, failing, sizeof(failing));
        snprintf(out->why, sizeof(out->why), "no setting of the grid meets the SLOs over the day; even static-peak "
                 "(%d instances all day) fails: %s", out->n_peak, failing);
    }
    return 0;
}

/* ---- report ---- */

static void interval(char *buf, size_t cap, const PlanEval *ev, int k, const char *fmt)
{
    char m[20], lo[20], hi[20];
    snprintf(m, sizeof(m), fmt, ev->mean[k]);
    if (!isfinite(ev->mean[k])) { snprintf(buf, cap, "-"); return; }
    if (!isfinite(ev->lo[k])) { snprintf(buf, cap, "%s (1 seed)", m); return; }
    snprintf(lo, sizeof(lo), fmt, ev->lo[k]);
    snprintf(hi, sizeof(hi), fmt, ev->hi[k]);
    snprintf(buf, cap, "%s [%s, %s]", m, lo, hi);
}

void plan_autoscale_print(FILE *f, const PlanAutoscale *p, const PlanSlo *slo)
{
    fprintf(f, "\n== autoscale: %s (tp %d, %.4g USD/GPU-hour) over the day\n", p->cand.gpu, p->cand.tp,
            p->cand.price_per_hour);
    if (!p->n_settings) { fprintf(f, "no grid: %s\n", p->why); return; }
    fprintf(f, "static sizes: mean hour %d, peak hour %d instances; schedule counts ", p->n_mean, p->n_peak);
    for (int h = 0; h < 24; h++) fprintf(f, "%s%d", h ? "/" : "", p->counts[h]);
    fprintf(f, "; cold start %.4g s\n", p->cold_start_s);
    fprintf(f, "%-18s %-24s %5s %-24s %-24s %-10s %-9s %-9s %s\n", "setting", "USD/day [95% CI]", "peak",
            "p99 TTFT s [95% CI]", "p99 TPOT s [95% CI]", "failures", "day SLO", "worst hr", "seeds");
    for (int i = 0; i < p->n_settings; i++) {
        const PlanAutoscaleSetting *s = &p->settings[i];
        const PlanEval *ev = &s->eval;
        char usd[80], ttft[80], tpot[80];
        interval(usd, sizeof(usd), ev, PLAN_USD_PER_DAY, "%.1f");
        interval(ttft, sizeof(ttft), ev, PLAN_P99_TTFT, "%.4g");
        interval(tpot, sizeof(tpot), ev, PLAN_P99_TPOT, "%.4g");
        fprintf(f, "%-18s %-24s %5.0f %-24s %-24s %-10.3g %-9.4f %-9.4f %d/%d %s", s->name, usd,
                ev->mean[PLAN_PEAK_INSTANCES], ttft, tpot, ev->mean[PLAN_FAILURE_SHARE], ev->mean[PLAN_SLO_ATTAINMENT],
                ev->mean[PLAN_WORST_HOUR_ATTAINMENT], ev->seeds_passed, ev->seeds_run,
                i == p->best ? "pass  <- cheapest" : ev->pass ? "pass" : "FAIL");
        if (!ev->pass) {
            char why[256];
            plan_eval_failing(ev, slo, why, sizeof(why));
            fprintf(f, " (%s)", why);
        }
        fputc('\n', f);
    }
    fprintf(f, "%-18s %d settings, %lld simulations of the day, %.2f s\n", "", p->n_settings, (long long)p->sims,
            p->wall_s);
    if (p->best < 0) { fprintf(f, "autoscale answer: none: %s\n", p->why); return; }
    const PlanAutoscaleSetting *b = &p->settings[p->best];
    double peak = p->settings[1].eval.mean[PLAN_USD_PER_DAY], mean = p->settings[0].eval.mean[PLAN_USD_PER_DAY];
    fprintf(f, "autoscale answer: %s = %.1f USD/day (static-peak %.1f, static-mean %.1f%s): --autoscale %s\n",
            b->name, b->eval.mean[PLAN_USD_PER_DAY], peak, mean, p->settings[0].eval.pass ? "" : " fails", b->spec);
}

/* ---- JSON ---- */

json_t *plan_autoscale_json(const PlanAutoscale *p, const char *run_args)
{
    json_t *j = json_object();
    json_object_set_new(j, "gpu", json_string(p->cand.gpu));
    json_object_set_new(j, "tp", json_integer(p->cand.tp));
    json_object_set_new(j, "price_per_gpu_hour", json_real(p->cand.price_per_hour));
    json_object_set_new(j, "found", json_boolean(p->best >= 0));
    if (p->why[0]) json_object_set_new(j, "why_none", json_string(p->why));
    if (!p->n_settings) return j;
    json_object_set_new(j, "static_mean_instances", json_integer(p->n_mean));
    json_object_set_new(j, "static_peak_instances", json_integer(p->n_peak));
    json_t *counts = json_array();
    for (int h = 0; h < 24; h++) json_array_append_new(counts, json_integer(p->counts[h]));
    json_object_set_new(j, "schedule_counts", counts);
    json_object_set_new(j, "cold_start_s", json_real(p->cold_start_s));
    json_object_set_new(j, "seeds_identical", json_boolean(p->seeds_identical));
    json_t *arr = json_array();
    for (int i = 0; i < p->n_settings; i++) {
        const PlanAutoscaleSetting *s = &p->settings[i];
        json_t *o = plan_eval_json(&p->cand, &s->eval);
        json_object_del(o, "instances");      /* the policy sets the count: see peak_instances */
        json_object_del(o, "gpus");
        json_object_del(o, "cost_per_hour");
        json_object_set_new(o, "name", json_string(s->name));
        json_object_set_new(o, "autoscale", json_string(s->spec));
        json_object_set_new(o, "run_args", json_sprintf("%s --gpu %s --tp %d --autoscale %s", run_args,
                                                        p->cand.gpu, p->cand.tp, s->spec));
        json_object_set_new(o, "usd_per_day", json_real(s->eval.mean[PLAN_USD_PER_DAY]));
        json_array_append_new(arr, o);
    }
    json_object_set_new(j, "settings", arr);
    json_object_set_new(j, "static_mean_usd_per_day", json_real(p->settings[0].eval.mean[PLAN_USD_PER_DAY]));
    json_object_set_new(j, "static_peak_usd_per_day", json_real(p->settings[1].eval.mean[PLAN_USD_PER_DAY]));
    if (p->best >= 0) {
        const PlanAutoscaleSetting *b = &p->settings[p->best];
        json_object_set_new(j, "answer", json_string(b->name));
        json_object_set_new(j, "usd_per_day", json_real(b->eval.mean[PLAN_USD_PER_DAY]));
        json_object_set_new(j, "autoscale", json_string(b->spec));
        json_object_set_new(j, "run_args", json_sprintf("%s --gpu %s --tp %d --autoscale %s", run_args,
                                                        p->cand.gpu, p->cand.tp, b->spec));
    }
    json_object_set_new(j, "simulations", json_integer(p->sims));
    return j;
}
