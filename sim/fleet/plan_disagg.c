/* plan_disagg.c: the prefill:decode ratio of a disaggregated fleet.
 *
 * A disaggregated fleet of one kind has two counts.  Holding the prefill
 * count p fixed, the SLO metrics are monotone in the decode count d as they
 * are in a colocated fleet's size (plan.c), so the fewest passing d is a
 * doubling-then-bisection search.  Across p the answer d*(p) does not grow:
 * more prefill instances shorten the prompts' queue (TTFT) and hand the
 * decode side the same requests sooner, never more work.  That is an
 * assumption of the search, not a theorem (earlier hand-offs arrive in
 * tighter bursts); it bounds each search by the last answer, which is what
 * keeps the whole walk near O(p_max log d) sizes.
 *
 * Every size runs the plan's R seeds (plan_eval_fleet: the same intervals,
 * the same pass criterion as the colocated search beside it). */
#include <math.h>
#include <string.h>

#include "common.h"
#include "plan_disagg.h"

typedef struct SplitCtx {
    const PlanConfig *c;
    PlanDisagg *d;
    PlanDisaggSplit *s;
    PlanEval last_pass, last_fail;
    int32_t pass_at, fail_at;
} SplitCtx;

static int split_pass(void *ctx, int32_t decode)
{
    SplitCtx *x = ctx;
    char fleet[256];
    const PlanCandidate *k = &x->d->cand;
    int w = snprintf(fleet, sizeof(fleet), "prefill:%dx%s:tp=%d,decode:%dx%s:tp=%d", x->s->prefill, k->gpu, k->tp,
                     decode, k->gpu, k->tp);
    if (w < 0 || (size_t)w >= sizeof(fleet)) return ss_error_set(EINVAL, "plan --disagg: GPU name too long");
    PlanEval ev;
    int r = plan_eval_fleet(x->c, fleet, x->s->prefill + decode, &ev, &x->d->sims, &x->d->seeds_identical);
    if (r < 0) return r;
    x->s->evals++;
    if (r && (!x->pass_at || decode < x->pass_at)) x->last_pass = ev, x->pass_at = decode;
    if (!r && decode > x->fail_at) x->last_fail = ev, x->fail_at = decode;
    return r;
}

int plan_disagg_candidate(const PlanConfig *c, const PlanAnswer *colocated, PlanDisagg *out)
{
    memset(out, 0, sizeof(*out));
    out->cand = colocated->cand;
    out->seeds_identical = colocated->seeds_identical ? 1 : -1;
    out->colocated = colocated->found ? colocated->instances : 0;
    out->colocated_cost_per_hour = colocated->found ? colocated->cost_per_hour : NAN;
    /* The walk's bounds: twice the colocated answer (a split needing more
     * would never be the plan), or the planner's own limit. */
    int32_t limit = colocated->found ? SS_MAX(2, 2 * colocated->instances) : c->max_instances;
    int32_t best_total = INT32_MAX, bound = limit - 1;
    snprintf(out->stop, sizeof(out->stop), "every prefill count up to %d tried", limit - 1);
    for (int32_t p = 1; p < limit && bound >= 1; p++) {
        if (p + 1 >= best_total) {
            snprintf(out->stop, sizeof(out->stop), "prefill:%d plus one decode instance costs the best split", p);
            break;
        }
        if (out->n_splits == PLAN_DISAGG_MAX_SPLITS) {
            snprintf(out->stop, sizeof(out->stop), "%d prefill counts tried (the table's limit)", out->n_splits);
            break;
        }
        PlanDisaggSplit *s = &out->splits[out->n_splits++];
        s->prefill = p;
        s->decode_bound = SS_MIN(bound, limit - p);
        SplitCtx x = { .c = c, .d = out, .s = s };
        int32_t d = plan_search_monotone(s->decode_bound, split_pass, &x);
        if (d < 0) return d;
        s->decode = d;
        s->have_eval = d ? x.pass_at == d : x.fail_at > 0;
        s->eval = d ? x.last_pass : x.last_fail;
        if (!d) continue; /* prefill-bound: more prefill instances may pass */
        bound = d;
        if (p + d < best_total) {
            best_total = p + d;
            out->found = true;
            out->prefill = p;
            out->decode = d;
            out->eval = s->eval;
            out->cost_per_hour = (double)best_total * out->cand.tp * out->cand.price_per_hour;
        }
        if (d == 1) {
            snprintf(out->stop, sizeof(out->stop), "prefill:%d needs one decode instance: more prefill cannot do better", p);
            break;
        }
    }
    return 0;
}

void plan_disagg_print(FILE *f, const PlanDisagg *d, const PlanSlo *slo)
{
    fprintf(f, "\ndisaggregated %s (tp %d), prefill:decode splits:\n", d->cand.gpu, d->cand.tp);
    fprintf(f, "  %-8s %-8s %5s %9s  %-28s %-28s %s\n", "prefill", "decode", "inst", "USD/h", "p99 TTFT s [95% CI]",
            "p99 TPOT s [95% CI]", "verdict");
    for (int32_t i = 0; i < d->n_splits; i++) {
        const PlanDisaggSplit *s = &d->splits[i];
        char ttft[64] = "-", tpot[64] = "-", dec[16];
        if (s->have_eval) {
            plan_format_interval(ttft, sizeof(ttft), &s->eval, PLAN_P99_TTFT, "");
            plan_format_interval(tpot, sizeof(tpot), &s->eval, PLAN_P99_TPOT, "");
        }
        if (s->decode) snprintf(dec, sizeof(dec), "%d", s->decode);
        else snprintf(dec, sizeof(dec), "> %d", s->decode_bound);
        int32_t inst = s->prefill + (s->decode ? s->decode : s->decode_bound);
        fprintf(f, "  %-8d %-8s %5d %9.2f  %-28s %-28s ", s->prefill, dec, inst,
                inst * d->cand.tp * d->cand.price_per_hour, ttft, tpot);
        if (s->decode) {
            fprintf(f, "pass (%d sizes)\n", s->evals);
        } else {
            char why[256] = "";
            if (s->have_eval) plan_eval_failing(&s->eval, slo, why, sizeof(why));
            fprintf(f, "FAIL at %d decode (%s)\n", s->decode_bound, why);
        }
    }
    fprintf(f, "  search ended: %s; %lld simulations\n", d->stop, (long long)d->sims);
    if (d->found)
        fprintf(f, "disaggregated answer: prefill:%dx%s,decode:%dx%s (tp %d) = %.2f USD/hour\n", d->prefill,
                d->cand.gpu, d->decode, d->cand.gpu, d->cand.tp, d->cost_per_hour);
    else
        fprintf(f, "disaggregated answer: no split of %s meets the SLO within %s\n", d->cand.gpu,
                d->colocated ? "twice the colocated answer's instances" : "--max-instances");
    if (d->colocated)
        fprintf(f, "  colocated: %d x %s = %.2f USD/hour: %s\n", d->colocated, d->cand.gpu, d->colocated_cost_per_hour,
                !d->found ? "the only answer"
                : d->cost_per_hour < d->colocated_cost_per_hour ? "disaggregation is cheaper"
                : d->cost_per_hour > d->colocated_cost_per_hour ? "colocated is cheaper"
                : "the same cost");
}

json_t *plan_disagg_json(const PlanDisagg *d)
{
    json_t *j = json_object(), *splits = json_array();
    json_object_set_new(j, "gpu", json_string(d->cand.gpu));
    json_object_set_new(j, "tp", json_integer(d->cand.tp));
    json_object_set_new(j, "found", json_boolean(d->found));
    if (d->found) {
        json_object_set_new(j, "prefill", json_integer(d->prefill));
        json_object_set_new(j, "decode", json_integer(d->decode));
        json_object_set_new(j, "fleet", json_sprintf("prefill:%dx%s:tp=%d,decode:%dx%s:tp=%d", d->prefill, d->cand.gpu,
                                                     d->cand.tp, d->decode, d->cand.gpu, d->cand.tp));
        json_object_set_new(j, "cost_per_hour", json_real(d->cost_per_hour));
        json_object_set_new(j, "at_answer", plan_eval_json(&d->cand, &d->eval));
    }
    json_object_set_new(j, "colocated_instances", d->colocated ? json_integer(d->colocated) : json_null());
    json_object_set_new(j, "colocated_cost_per_hour",
                        d->colocated ? json_real(d->colocated_cost_per_hour) : json_null());
    for (int32_t i = 0; i < d->n_splits; i++) {
        const PlanDisaggSplit *s = &d->splits[i];
        json_t *o = json_object();
        json_object_set_new(o, "prefill", json_integer(s->prefill));
        json_object_set_new(o, "decode", s->decode ? json_integer(s->decode) : json_null());
        json_object_set_new(o, "decode_bound", json_integer(s->decode_bound));
        json_object_set_new(o, "sizes_simulated", json_integer(s->evals));
        if (s->have_eval) json_object_set_new(o, s->decode ? "at_answer" : "at_bound", plan_eval_json(&d->cand, &s->eval));
        json_array_append_new(splits, o);
    }
    json_object_set_new(j, "splits", splits);
    json_object_set_new(j, "search_stop", json_string(d->stop));
    json_object_set_new(j, "simulations", json_integer(d->sims));
    return j;
}
