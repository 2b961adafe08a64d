/* plan_report.c: the planner's terminal table: per candidate, the answer and
 * its cost, the SLO metrics at that size with 95 % t-intervals over the
 * seeds, and the same one instance fewer (which fails: why it is needed). */
#include <math.h>
#include <stdio.h>

#include "plan.h"

void plan_format_interval(char *buf, size_t cap, const PlanEval *ev, int k, const char *one_seed)
{
    double m = ev->mean[k];
    if (!isfinite(m)) snprintf(buf, cap, "-");
    else if (!isfinite(ev->lo[k])) snprintf(buf, cap, "%.4g%s", m, one_seed);
    else snprintf(buf, cap, "%.4g [%.4g, %.4g]", m, ev->lo[k], ev->hi[k]);
}

static void interval(char *buf, size_t cap, const PlanEval *ev, int k)
{
    plan_format_interval(buf, cap, ev, k, " (1 seed)");
}

static void eval_line(FILE *f, const char *label, const PlanAnswer *a, const PlanEval *ev, int seeds,
                      const PlanSlo *slo)
{
    char ttft[64], tpot[64], good[64], fail[64];
    interval(ttft, sizeof(ttft), ev, PLAN_P99_TTFT);
    interval(tpot, sizeof(tpot), ev, PLAN_P99_TPOT);
    interval(good, sizeof(good), ev, PLAN_GOODPUT_SHARE);
    interval(fail, sizeof(fail), ev, PLAN_FAILURE_SHARE);
    fprintf(f, "%-12s %3d %5d %9.2f  %-28s %-28s %-26s %-10.3g %d/%d %s", label, a->cand.tp, ev->instances,
            ev->instances * a->cand.tp * a->cand.price_per_hour, ttft, tpot, good,
            ev->mean[PLAN_FAILURE_SHARE], ev->seeds_passed, seeds, ev->pass ? "pass" : "FAIL");
    if (!ev->pass) {
        char why[256];
        plan_eval_failing(ev, slo, why, sizeof(why));
        fprintf(f, " (%s)", why);
    }
    fputc('\n', f);
}

static void slo_line(FILE *f, const PlanSlo *s)
{
    fprintf(f, "SLO:");
    if (s->p99_ttft_s > 0) fprintf(f, " p99 TTFT <= %g s;", s->p99_ttft_s);
    if (s->p99_tpot_s > 0) fprintf(f, " p99 TPOT <= %g s;", s->p99_tpot_s);
    if (s->min_goodput_share > 0) fprintf(f, " goodput share >= %g;", s->min_goodput_share);
    if (s->max_failure_share >= 0) fprintf(f, " failure share <= %g;", s->max_failure_share);
    if (s->confidence > 0) fprintf(f, " judged on the one-sided %g t-bound over seeds\n", s->confidence);
    else fprintf(f, " in every seed\n");
}

void plan_print_answers(FILE *f, const char *title, const PlanAnswer *ans, const int *order, int n,
                        const PlanSlo *slo)
{
    fprintf(f, "\n== %s\n", title);
    slo_line(f, slo);
    fprintf(f, "%-12s %3s %5s %9s  %-28s %-28s %-26s %-10s %s\n", "gpu", "tp", "inst", "USD/h",
            "p99 TTFT s [95% CI]", "p99 TPOT s [95% CI]", "goodput share [95% CI]", "failures", "seeds");
    for (int i = 0; i < n; i++) {
        const PlanAnswer *a = &ans[order[i]];
        if (!a->found) {
            fprintf(f, "%-12s %3d   no fleet meets the SLO: %s\n", a->cand.gpu, a->cand.tp,
                    a->error[0] ? a->error : a->why);
            continue;
        }
        const PlanEval *at = plan_answer_eval(a, a->instances);
        const PlanEval *below = plan_answer_eval(a, a->instances - 1);
        int seeds = at->seeds_run;
        eval_line(f, a->cand.gpu, a, at, seeds, slo);
        if (below) eval_line(f, "  one fewer", a, below, seeds, slo);
        if (at->unservable > 0)
            fprintf(f, "%-12s %lld requests per run (%.2f %%) no fleet of this kind can serve (prompt over the "
                    "context or the KV cache, or empty): left out of the shares\n", "",
                    (long long)at->unservable, 100 * at->unservable_share);
        if (a->seeds_identical)
            fprintf(f, "%-12s seeds gave identical results (deterministic trace and set-up): one seed per size\n", "");
        fprintf(f, "%-12s %d sizes searched (", "", a->n_evals);
        for (int32_t k = 0; k < a->n_evals; k++) fprintf(f, "%s%d", k ? " " : "", a->evals[k].instances);
        fprintf(f, "), %lld simulations, %.2f s\n", (long long)a->sims, a->wall_s);
    }
    for (int i = 0; i < n; i++)
        if (ans[order[i]].found) {
            const PlanAnswer *a = &ans[order[i]];
            fprintf(f, "answer: %d x %s (tp %d) = %.2f USD/hour\n", a->instances, a->cand.gpu, a->cand.tp,
                    a->cost_per_hour);
            break;
        }
}
