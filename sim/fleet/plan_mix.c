/* plan_mix.c: fleets of two GPU kinds.
 *
 * A pure fleet is rounded up to whole instances of one kind; a mix can land
 * between (3 H100 too few, 4 too many: 3 H100 + 1 A100).  With both
 * homogeneous answers known (n_a of a, n_b of b), every cheaper mix has
 * fewer than n_a of a; for each such count k_a the fewest b that pass is a
 * monotone search (more replicas never hurt under a load-aware router) up to
 * n_b.  Counts whose a-part alone already costs the best answer are skipped,
 * so the search ends early once a is the expensive part. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "plan.h"

typedef struct MixCtx {
    const PlanConfig *c;
    const PlanMix *m;
    int32_t k_a;
    PlanEval evals[32];         /* by search order */
    int32_t n_evals;
    int64_t sims;
    int *seeds_identical;       /* as the pure fleets found it */
} MixCtx;

static int mix_pass(void *ctx, int32_t k_b)
{
    MixCtx *x = ctx;
    if (x->n_evals == (int32_t)SS_ARRAY_LEN(x->evals)) return ss_error_set(E2BIG, "plan: too many sizes");
    char fleet[256];
    int w = snprintf(fleet, sizeof(fleet), "%dx%s:tp=%d,%dx%s:tp=%d", x->k_a, x->m->a.gpu,
                     x->m->a.tp, k_b, x->m->b.gpu, x->m->b.tp);
    if (w < 0 || (size_t)w >= sizeof(fleet)) return ss_error_set(EINVAL, "plan: GPU names too long");
    PlanEval *ev = &x->evals[x->n_evals];
    int r = plan_eval_fleet(x->c, fleet, x->k_a + k_b, ev, &x->sims, x->seeds_identical);
    if (r >= 0) x->n_evals++;
    return r;
}

int plan_mix_pair(const PlanConfig *c, const PlanAnswer *a, const PlanAnswer *b, PlanMix *out)
{
    memset(out, 0, sizeof(*out));
    /* The pure searches ran the two-seed probe on the same set-up. */
    out->seeds_identical = a->seeds_identical || b->seeds_identical;
    out->a = a->cand;
    out->b = b->cand;
    if (!a->found || !b->found) return 0;
    double unit_a = a->cand.tp * a->cand.price_per_hour, unit_b = b->cand.tp * b->cand.price_per_hour;
    double best = fmin(a->cost_per_hour, b->cost_per_hour); /* USD/h: beat the pure fleets */
    for (int32_t k_a = 1; k_a < a->instances; k_a++) {
        if (k_a * unit_a + unit_b >= best) break; /* the a-part plus one b already costs more */
        MixCtx x = { .c = c, .m = out, .k_a = k_a, .seeds_identical = &out->seeds_identical };
        int32_t k_b = plan_search_monotone(b->instances, mix_pass, &x);
        out->sims += x.sims;
        out->mixes_tried++;
        if (k_b < 0) return k_b;
        if (k_b == 0) continue;
        double cost = k_a * unit_a + k_b * unit_b;
        if (cost >= best) continue;
        for (int32_t i = 0; i < x.n_evals; i++)
            if (x.evals[i].instances == k_a + k_b && x.evals[i].pass) out->eval = x.evals[i];
        best = cost;
        out->found = true;
        out->n_a = k_a;
        out->n_b = k_b;
        out->cost_per_hour = cost;
    }
    return 0;
}

json_t *plan_mix_json(const PlanMix *m)
{
    json_t *j = json_object();
    json_object_set_new(j, "found", json_boolean(m->found));
    json_object_set_new(j, "mixes_tried", json_integer(m->mixes_tried));
    json_object_set_new(j, "simulations", json_integer(m->sims));
    if (!m->found) return j;
    json_t *f = json_array();
    json_array_append_new(f, json_pack("{s:s,s:i,s:i}", "gpu", m->a.gpu, "tp", m->a.tp, "instances", m->n_a));
    json_array_append_new(f, json_pack("{s:s,s:i,s:i}", "gpu", m->b.gpu, "tp", m->b.tp, "instances", m->n_b));
    json_object_set_new(j, "fleet", f);
    json_object_set_new(j, "cost_per_hour", json_real(m->cost_per_hour));
    json_t *x = json_object();
    for (int k = 0; k < PLAN_FIRST_AUTOSCALE_METRIC; k++) { /* a mix is a fixed fleet */
        json_t *v = json_object();
        json_object_set_new(v, "mean", isfinite(m->eval.mean[k]) ? json_real(m->eval.mean[k]) : json_null());
        json_t *ci = json_null();
        if (isfinite(m->eval.lo[k]) && isfinite(m->eval.hi[k])) ci = json_pack("[f,f]", m->eval.lo[k], m->eval.hi[k]);
        json_object_set_new(v, "ci95", ci);
        json_object_set_new(x, plan_metric_name(k), v);
    }
    json_object_set_new(j, "metrics", x);
    return j;
}
