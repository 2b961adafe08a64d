/* test_plan.c: the capacity search.
 *
 * 1. plan_search_monotone against a threshold predicate: the exact answer
 *    for every threshold 1..300, in at most 2 ceil(log2 t) + 1 evaluations.
 * 2. A case whose answer is computable: 1-token requests, each served alone
 *    in a constant 0.1 s step (synthetic cost, fcfs-static batch 1), nearly
 *    deterministic arrivals (Gamma shape 400: CV 5 %) at 65 req/s, round-
 *    robin.  Each instance serves 10 req/s, so N instances are stable iff
 *    65 / N < 10: N >= 7.  With 6 the queue grows ~0.8 req/s per instance
 *    and the P99 TTFT of 4000 requests reaches seconds; with 7 it stays
 *    ~0.1 s.  The planner must answer 7, with 6 as the failing neighbour,
 *    and the same figures on 1 and 2 threads. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"
#include "fleet/plan.h"

typedef struct Threshold {
    int32_t t;
    int calls;
} Threshold;

static int threshold_pass(void *ctx, int32_t n)
{
    Threshold *th = ctx;
    th->calls++;
    return n >= th->t;
}

static void test_monotone_search(void **state)
{
    (void)state;
    for (int32_t t = 1; t <= 300; t++) {
        Threshold th = { t, 0 };
        assert_int_equal(plan_search_monotone(1024, threshold_pass, &th), t);
        int log2t = 0;
        while ((1 << log2t) < t) log2t++;
        assert_true(th.calls <= 2 * log2t + 1);
    }
    Threshold none = { 2000, 0 };
    assert_int_equal(plan_search_monotone(1024, threshold_pass, &none), 0);
    assert_true(none.calls <= 12);
    Threshold edge = { 37, 0 };  /* a limit that is not a power of two */
    assert_int_equal(plan_search_monotone(37, threshold_pass, &edge), 37);
    assert_int_equal(plan_search_monotone(36, threshold_pass, &edge), 0);
}

static void known_case(PlanConfig *c, SynthParams *p, int threads)
{
    synth_params_default(p);
    p->gap = SYNTH_GAP_GAMMA;
    p->shape = 400;
    p->rate = 65;
    p->input.kind = p->output.kind = SYNTH_LEN_CONSTANT;
    p->input.constant = p->output.constant = 1;
    p->requests = 4000;
    memset(c, 0, sizeof(*c));
    engine_config_default(&c->base);
    snprintf(c->base.sched_spec, sizeof(c->base.sched_spec), "fcfs-static:batch=1");
    snprintf(c->base.cost_spec, sizeof(c->base.cost_spec), "synthetic:dist=constant,mean=0.1");
    snprintf(c->base.router, sizeof(c->base.router), "round-robin");
    c->base.slo.ttft_s = 0.5;
    c->input.synth = p;
    c->slo = (PlanSlo){ .p99_ttft_s = 0.5, .max_failure_share = 0.0 };
    c->seeds = 3;
    c->first_seed = 1;
    c->threads = threads;
    c->max_instances = 64;
}

static void test_known_answer(void **state)
{
    (void)state;
    PlanConfig c;
    SynthParams p;
    PlanCandidate cand = { "h100-sxm", 1, 2.5 };
    PlanAnswer a1, a2;
    known_case(&c, &p, 1);
    assert_int_equal(plan_candidate(&c, &cand, &a1), 0);
    assert_true(a1.found);
    assert_int_equal(a1.instances, 7);
    assert_true(fabs(a1.cost_per_hour - 17.5) < 1e-9);
    const PlanEval *at = plan_answer_eval(&a1, 7), *below = plan_answer_eval(&a1, 6);
    assert_non_null(at);
    assert_non_null(below);
    assert_true(at->pass && !below->pass);
    assert_int_equal(at->seeds_passed, 3);
    assert_true(at->mean[PLAN_P99_TTFT] < 0.3);
    assert_true(below->mean[PLAN_P99_TTFT] > 1.0);
    assert_true(a1.n_evals <= 6);                 /* 1 2 4 8 6 7 */
    assert_int_equal(a1.sims, (int64_t)a1.n_evals * 3);
    known_case(&c, &p, 2);                        /* threads change nothing */
    assert_int_equal(plan_candidate(&c, &cand, &a2), 0);
    assert_int_equal(a2.n_evals, a1.n_evals);
    for (int32_t i = 0; i < a1.n_evals; i++)
        for (int k = 0; k < PLAN_N_METRICS; k++) {
            double x = a1.evals[i].mean[k], y = a2.evals[i].mean[k];
            assert_true((isnan(x) && isnan(y)) || x == y);
        }
}

static void test_confidence_criterion(void **state)
{
    (void)state;
    PlanConfig c;
    SynthParams p;
    PlanCandidate cand = { "h100-sxm", 1, 2.5 };
    PlanAnswer a;
    known_case(&c, &p, 0);
    c.slo.confidence = 0.95;
    assert_int_equal(plan_candidate(&c, &cand, &a), 0);
    assert_int_equal(a.instances, 7);
    /* A GPU file that does not exist is an error, not an answer. */
    PlanCandidate bad = { "no-such-gpu", 1, -1 };
    assert_true(plan_candidate(&c, &bad, &a) < 0);
    assert_false(a.found);
    assert_true(strlen(a.error) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotone_search),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_confidence_criterion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
