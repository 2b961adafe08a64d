/* Engine + fcfs-static: golden cases computed by hand, event skipping against
 * stepwise execution, determinism, conservation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "engine_test_util.h"

#define EPS 1e-9

static EngineConfig constant_cost_config(const char *sched)
{
    EngineConfig c;
    engine_config_default(&c);
    snprintf(c.sched_spec, sizeof(c.sched_spec), "%s", sched);
    /* Every step (and every decode iteration) takes exactly 0.1 s. */
    snprintf(c.cost_spec, sizeof(c.cost_spec), "synthetic:dist=constant,mean=0.1");
    c.sample_interval_s = 0;
    return c;
}

static const TraceRow *golden_rows(size_t *n)
{
    static TraceRow rows[4];
    rows[0] = test_row(0.00, 10, 3);
    rows[1] = test_row(0.05, 20, 1);
    rows[2] = test_row(0.05, 5, 2);
    rows[3] = test_row(1.00, 8, 2);
    *n = 4;
    return rows;
}

/* batch=2, no window.
 * t=0    r0 alone (the queue is never fuller): tokens 0.1 0.2 0.3, span ends 0.3.
 * t=0.3  {r1, r2} padded to 20: r1's token 0.4; r2's 0.4 0.5; ends 0.5.
 * t=1.0  r3 alone: tokens 1.1 1.2. */
static void test_golden_no_window(void **state)
{
    (void)state;
    size_t n;
    const TraceRow *rows = golden_rows(&n);
    EngineConfig c = constant_cost_config("fcfs-static:batch=2");
    RunResult r = run_engine(&c, rows, n);
    assert_int_equal(r.status, 0);
    const double ttft[] = { 0.1, 0.35, 0.35, 0.1 }, e2e[] = { 0.3, 0.35, 0.45, 0.2 };
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(r.rec[i].state, "done");
        assert_float_equal(r.rec[i].ttft, ttft[i], EPS);
        assert_float_equal(r.rec[i].e2e, e2e[i], EPS);
    }
    assert_float_equal(r.rec[0].tpot, 0.1, EPS);
    assert_float_equal(summary_num(&r, "duration"), 1.2, EPS);
    assert_float_equal(summary_num(&r, "request_throughput"), 4 / 1.2, 1e-6);
    assert_float_equal(summary_num(&r, "mean_ttft_ms"), 225, 1e-3);
    assert_float_equal(summary_num(&r, "mean_itl_ms"), 100, 1e-6);
    /* Padding: r2's prompt 5 -> 20 (15 slots); r1's slot decodes once after it ended. */
    assert_int_equal((int)summary_num(&r, "padding_prefill_tokens"), 15);
    assert_int_equal((int)summary_num(&r, "padding_decode_tokens"), 1);
    assert_int_equal((int)summary_num(&r, "total_output_tokens"), 8);
    run_result_free(&r);
}

/* batch=2, window 0.2 s.
 * t=0     r0 waits (window until 0.2).
 * t=0.05  r1 fills the batch: {r0, r1} at once; r0 0.15 0.25 0.35, r1 0.15; ends 0.35.
 *         r2 arrives at the same instant, after r1: it waits.
 * t=0.35  r2 has waited past its window: alone, 0.45 0.55.
 * t=1.0   r3 waits for its window: 1.2, tokens 1.3 1.4. */
static void test_golden_window(void **state)
{
    (void)state;
    size_t n;
    const TraceRow *rows = golden_rows(&n);
    EngineConfig c = constant_cost_config("fcfs-static:batch=2,window=0.2");
    RunResult r = run_engine(&c, rows, n);
    assert_int_equal(r.status, 0);
    const double ttft[] = { 0.15, 0.10, 0.40, 0.30 }, e2e[] = { 0.35, 0.10, 0.50, 0.40 };
    for (size_t i = 0; i < n; i++) {
        assert_float_equal(r.rec[i].ttft, ttft[i], EPS);
        assert_float_equal(r.rec[i].e2e, e2e[i], EPS);
    }
    assert_float_equal(r.rec[3].first_scheduled, 1.2, EPS);
    run_result_free(&r);
}

/* Failed rows replayed: prefill, then failure, no tokens; prompts that can
 * never fit are rejected; both leave the conservation law intact. */
static void test_failed_and_rejected(void **state)
{
    (void)state;
    TraceRow rows[3] = { test_row(0, 10, 5), test_row(0, 10, 0), test_row(0, 100000, 5) };
    rows[1].failed = true;
    EngineConfig c = constant_cost_config("fcfs-static:batch=4");
    RunResult r = run_engine(&c, rows, 3);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.rec[0].state, "done");
    assert_string_equal(r.rec[1].state, "failed");
    assert_string_equal(r.rec[1].reason, "trace_failed");
    /* r0 and r1 arrive at the same instant: one batch; r1 fails after the prefill. */
    assert_float_equal(r.rec[1].finish, 0.1, EPS);
    assert_string_equal(r.rec[2].state, "rejected");
    assert_int_equal((int)summary_num(&r, "completed"), 1);
    assert_int_equal((int)summary_num(&r, "failed"), 1);
    assert_int_equal((int)summary_num(&r, "rejected"), 1);
    run_result_free(&r);
}

static TraceRow *random_rows(size_t n, uint64_t seed)
{
    TraceRow *rows = calloc(n, sizeof(TraceRow));
    uint64_t s = seed;
    double t = 0;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        t += (double)((s >> 40) % 1000) / 500.0;
        int64_t in = 1 + (int64_t)((s >> 20) % 1500), out = 1 + (int64_t)((s >> 8) % 600);
        rows[i] = test_row(t, in, out);
    }
    return rows;
}

/* Event skipping (closed-form spans) against one iteration at a time. */
static void test_skipping_equals_stepwise(void **state)
{
    (void)state;
    const size_t n = 400;
    TraceRow *rows = random_rows(n, 7);
    EngineConfig c;
    engine_config_default(&c);
    snprintf(c.sched_spec, sizeof(c.sched_spec), "fcfs-static:batch=6,window=0.5");
    c.sample_interval_s = 0;
    RunResult fast = run_engine(&c, rows, n);
    c.stepwise = true;
    RunResult slow = run_engine(&c, rows, n);
    assert_int_equal(fast.status, 0);
    assert_int_equal(slow.status, 0);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(fast.rec[i].state, slow.rec[i].state);
        assert_int_equal(fast.rec[i].generated, slow.rec[i].generated);
        /* Printed with 10 digits; closed form and sums agree to ~1e-12. */
        assert_float_equal(fast.rec[i].first_token, slow.rec[i].first_token, 2e-9 * fast.rec[i].finish);
        assert_float_equal(fast.rec[i].finish, slow.rec[i].finish, 2e-9 * fast.rec[i].finish);
        assert_float_equal(fast.rec[i].itl_max, slow.rec[i].itl_max, 1e-9);
    }
    /* Pooled ITL: the skipping run adds each span's iterations as one linear
     * run (closed form per histogram bucket), the stepwise one iteration by
     * iteration: equal to a bucket (0.2 %), means equal to rounding. */
    assert_float_equal(summary_num(&fast, "p99_itl_ms"), summary_num(&slow, "p99_itl_ms"),
                       2e-3 * summary_num(&slow, "p99_itl_ms"));
    assert_float_equal(summary_num(&fast, "mean_itl_ms"), summary_num(&slow, "mean_itl_ms"),
                       1e-9 * summary_num(&slow, "mean_itl_ms"));
    assert_float_equal(summary_num(&fast, "std_itl_ms"), summary_num(&slow, "std_itl_ms"),
                       1e-6 * summary_num(&slow, "std_itl_ms"));
    run_result_free(&fast);
    run_result_free(&slow);
    free(rows);
}

static void test_deterministic(void **state)
{
    (void)state;
    const size_t n = 300;
    TraceRow *rows = random_rows(n, 11);
    EngineConfig c;
    engine_config_default(&c);
    snprintf(c.sched_spec, sizeof(c.sched_spec), "fcfs-static:batch=4");
    snprintf(c.predict_spec, sizeof(c.predict_spec), "noisy:sigma=0.5");
    snprintf(c.cost_spec, sizeof(c.cost_spec), "synthetic:dist=exponential,mean=0.02");
    c.sample_interval_s = 0;
    RunResult a = run_engine(&c, rows, n), b = run_engine(&c, rows, n);
    assert_int_equal(a.requests_csv_len, b.requests_csv_len);
    assert_memory_equal(a.requests_csv, b.requests_csv, a.requests_csv_len);
    c.seed = 2;
    RunResult d = run_engine(&c, rows, n);
    assert_true(d.requests_csv_len != a.requests_csv_len ||
                memcmp(a.requests_csv, d.requests_csv, a.requests_csv_len) != 0);
    run_result_free(&a);
    run_result_free(&b);
    run_result_free(&d);
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_no_window),
        cmocka_unit_test(test_golden_window),
        cmocka_unit_test(test_failed_and_rejected),
        cmocka_unit_test(test_skipping_equals_stepwise),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
