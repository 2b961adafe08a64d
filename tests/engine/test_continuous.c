/* Continuous batching (vllm, chunked-prefill, sjf, srpt): golden cases by
 * hand, analytic finish times with ample memory, event skipping against one
 * iteration per step for every policy, sjf/srpt riding, conservation, aging
 * against starvation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "cost/cost.h"
#include "engine_test_util.h"

#define EPS 1e-9

/* A GPU whose KV cache holds exactly `tokens` tokens of llama-2-7b at
 * gpu_mem_util 1 (weights and KV bytes are integers: the sum is exact). */
static void gpu_with_kv_tokens(EngineConfig *c, int64_t tokens)
{
    ModelSpec m;
    assert_int_equal(model_spec_load(&m, "llama-2-7b"), 0);
    char path[] = "/tmp/servesim_test_gpu_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "hbm_bytes = %.17g\nhbm_bandwidth = 3.35e12\nflops_16bit = 989e12\n"
               "achievable_bandwidth = 0.9\nachievable_flops = 0.81\nstep_overhead_s = 1e-3\n"
               "interconnect_bandwidth = 450e9\ninterconnect_latency_s = 8e-6\nprice_per_hour = 3\n",
            m.weight_bytes + (double)tokens * m.kv_bytes_per_token);
    fclose(f);
    snprintf(c->gpu, sizeof(c->gpu), "%s", path);
    c->gpu_mem_util = 1.0;
}

static EngineConfig config(const char *sched, bool constant_cost)
{
    EngineConfig c;
    engine_config_default(&c);
    snprintf(c.sched_spec, sizeof(c.sched_spec), "%s", sched);
    if (constant_cost) /* every iteration takes exactly 0.1 s, whatever its shape */
        snprintf(c.cost_spec, sizeof(c.cost_spec), "synthetic:dist=constant,mean=0.1");
    c.sample_interval_s = 0;
    return c;
}

static TraceRow *random_rows(size_t n, uint64_t seed, double mean_gap_s, int max_in, int max_out)
{
    TraceRow *rows = calloc(n, sizeof(TraceRow));
    uint64_t s = seed;
    double t = 0;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        t += mean_gap_s * 2.0 * (double)((s >> 40) % 1000) / 1000.0;
        int64_t in = 1 + (int64_t)((s >> 20) % (uint64_t)max_in);
        int64_t out = 1 + (int64_t)((s >> 8) % (uint64_t)max_out);
        rows[i] = test_row(t, in, out);
    }
    return rows;
}

static const char *const all_policies[] = {
    "vllm", "chunked-prefill", "sjf", "srpt",
};

/* Ample memory, everyone at t = 0: the engine asks the scheduler once every
 * arrival of the instant is in, so one step admits all; then every member
 * emits one token per iteration: request i ends at 0.1 x output_i. */
static void test_infinite_memory_analytic(void **state)
{
    (void)state;
    const size_t n = 60;
    TraceRow *rows = random_rows(n, 3, 0, 60, 100); /* prompts fit one 4096-token step */
    for (size_t i = 0; i < n; i++) rows[i].arrival_s = 0;
    const char *specs[] = { "vllm", "sjf", "srpt", "chunked-prefill:chunk=20000", "vllm:lookahead=7" };
    for (size_t p = 0; p < SS_ARRAY_LEN(specs); p++) {
        EngineConfig c = config(specs[p], true);
        RunResult r = run_engine(&c, rows, n);
        assert_int_equal(r.status, 0);
        for (size_t i = 0; i < n; i++) {
            assert_string_equal(r.rec[i].state, "done");
            assert_float_equal(r.rec[i].ttft, 0.1, EPS);
            assert_float_equal(r.rec[i].finish, 0.1 * (double)rows[i].output_tokens, EPS);
            assert_int_equal(r.rec[i].preemptions, 0);
        }
        run_result_free(&r);
    }
    free(rows);
}

/* Five blocks of 16 tokens; two requests of 16 + 20 tokens need 3 each
 * at their peak: one block short.
 * t=0    both prefill (1 block each), first tokens at 0.1.  Lookahead: 17
 *        iterations fit (2 blocks each; the 18th would need a 3rd), so one
 *        span to t=1.7, 17 tokens each, 32 tokens cached each, 1 block free.
 * t=1.7  r0 takes the last block; r1 (latest arrival, the tail) preempts
 *        itself: recompute.  r0 alone: token 18 at 1.8.
 * t=1.8  r1 needs 16 + 17 = 33 tokens = 3 blocks, 2 free: waits; r0
 *        finishes at 2.0 (tokens 19, 20).
 * t=2.0  r1 recomputes 33 tokens: token 18 at 2.1, then 2.2, 2.3. */
static void test_golden_preemption(void **state)
{
    (void)state;
    TraceRow rows[2] = { test_row(0, 16, 20), test_row(0, 16, 20) };
    for (int stepwise = 0; stepwise < 2; stepwise++) {
        EngineConfig c = config("vllm:watermark=0", true);
        gpu_with_kv_tokens(&c, 80);
        c.stepwise = stepwise;
        RunResult r = run_engine(&c, rows, 2);
        unlink(c.gpu);
        assert_int_equal(r.status, 0);
        assert_int_equal((int)summary_num(&r, "preemptions"), 1);
        assert_int_equal(r.rec[0].preemptions, 0);
        assert_int_equal(r.rec[1].preemptions, 1);
        assert_float_equal(r.rec[0].ttft, 0.1, EPS);
        assert_float_equal(r.rec[0].finish, 2.0, EPS);
        assert_float_equal(r.rec[1].ttft, 0.1, EPS);
        assert_float_equal(r.rec[1].finish, 2.3, EPS);
        assert_float_equal(r.rec[1].itl_max, 0.4, EPS); /* token 17 at 1.7, 18 at 2.1 */
        assert_float_equal(r.rec[0].itl_max, 0.1, EPS);
        run_result_free(&r);
    }
}

/* chunk=8: r0 (20-token prompt) takes 8, 8, 4; r1 (4 tokens) waits for the
 * budget, joins in step 3 beside r0's last chunk.
 * r0: tokens at 0.3, 0.4.  r1: 0.3, 0.4, 0.5. */
static void test_golden_chunked(void **state)
{
    (void)state;
    TraceRow rows[2] = { test_row(0, 20, 2), test_row(0, 4, 3) };
    EngineConfig c = config("chunked-prefill:chunk=8", true);
    RunResult r = run_engine(&c, rows, 2);
    assert_int_equal(r.status, 0);
    assert_float_equal(r.rec[0].ttft, 0.3, EPS);
    assert_float_equal(r.rec[0].finish, 0.4, EPS);
    assert_float_equal(r.rec[1].ttft, 0.3, EPS);
    assert_float_equal(r.rec[1].finish, 0.5, EPS);
    assert_float_equal(r.rec[1].first_scheduled, 0.2, EPS);
    run_result_free(&r);
}

static void expect_same(const RunResult *a, const RunResult *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const RunRecord *x = &a->rec[i], *y = &b->rec[i];
        assert_string_equal(x->state, y->state);
        assert_int_equal(x->generated, y->generated);
        assert_int_equal(x->preemptions, y->preemptions);
        double tol = 2e-9 * (fabs(x->finish) + 1);
        assert_float_equal(x->first_scheduled, y->first_scheduled, tol);
        assert_float_equal(x->first_token, y->first_token, tol);
        assert_float_equal(x->finish, y->finish, tol);
        assert_float_equal(x->itl_max, y->itl_max, 1e-9);
    }
}

/* Event skipping against one iteration per step, roofline cost, memory
 * tight enough to preempt, for every policy and its main options. */
static void test_skipping_equals_stepwise(void **state)
{
    (void)state;
    const size_t n = 300;
    TraceRow *rows = random_rows(n, 7, 0.04, 1500, 600);
    const char *specs[] = {
        "vllm", "vllm:preempt=swap,swap_gib=0.001", "vllm:length_aware=true",
        "vllm:max_num_seqs=8,max_num_batched_tokens=4096", "chunked-prefill",
        "chunked-prefill:chunk=256", "sjf", "sjf:aging=0,length_aware=true",
        "srpt", "srpt:margin=0,preempt_limit=3,preempt=swap", "vllm:lookahead=5",
    };
    for (size_t p = 0; p < SS_ARRAY_LEN(specs); p++) {
        EngineConfig c = config(specs[p], false);
        gpu_with_kv_tokens(&c, 6000);
        snprintf(c.predict_spec, sizeof(c.predict_spec), "noisy:sigma=0.5");
        RunResult fast = run_engine(&c, rows, n);
        c.stepwise = true;
        RunResult slow = run_engine(&c, rows, n);
        unlink(c.gpu);
        print_message("%-50s preemptions %g\n", specs[p], summary_num(&fast, "preemptions"));
        assert_int_equal(fast.status, 0);
        assert_int_equal(slow.status, 0);
        expect_same(&fast, &slow, n);
        if (p == 0) assert_true(summary_num(&fast, "preemptions") > 0);
        run_result_free(&fast);
        run_result_free(&slow);
    }
    free(rows);
}

/* The run's sched_stats counter `key` (one instance). */
static json_int_t sched_stat(const EngineConfig *cfg, const TraceRow *rows, size_t n, const char *key)
{
    Engine *e = NULL;
    EngineOutputs out = { 0 };
    ArraySource a = { rows, n, 0 };
    RowSource src = { &a, array_source_next, "test" };
    assert_int_equal(engine_create(&e, cfg, &out), 0);
    assert_int_equal(engine_run(e, &src), 0);
    json_t *stats = engine_sched_stats_json(e);
    json_int_t v = json_integer_value(json_object_get(stats, key));
    json_decref(stats);
    engine_destroy(&e);
    return v;
}

/* sjf and srpt ride (their rank kept lazily, continuous_rank.c): with memory
 * tight enough to preempt, some plans take every rider back, which only
 * riders can be; srpt also preempts riders for newcomers (swap moves the
 * blocks a listed runner would have held).  Each run equals the stepwise
 * one, which lists every runner at every iteration. */
static void test_priority_policies_ride(void **state)
{
    (void)state;
    const size_t n = 400;
    TraceRow *rows = random_rows(n, 11, 0.03, 1200, 700);
    const char *specs[] = {
        "sjf", "srpt", "sjf:aging=0,preempt=swap,swap_gib=0.05",
        "srpt:margin=0,preempt_limit=3,preempt=swap,swap_gib=0.05", "srpt:aging=0,max_num_seqs=16",
    };
    for (size_t p = 0; p < SS_ARRAY_LEN(specs); p++) {
        EngineConfig c = config(specs[p], false);
        gpu_with_kv_tokens(&c, 8000);
        snprintf(c.predict_spec, sizeof(c.predict_spec), "noisy:sigma=0.5");
        json_int_t take_backs = sched_stat(&c, rows, n, "rider_take_backs");
        json_int_t prio = sched_stat(&c, rows, n, "priority_preemptions");
        RunResult fast = run_engine(&c, rows, n);
        c.stepwise = true;
        RunResult slow = run_engine(&c, rows, n);
        unlink(c.gpu);
        print_message("%-60s take-backs %lld, priority preemptions %lld\n", specs[p], (long long)take_backs,
                      (long long)prio);
        assert_true(take_backs > 0);
        if (specs[p][1] == 'r') assert_true(prio > 0);
        assert_int_equal(fast.status, 0);
        assert_int_equal(slow.status, 0);
        expect_same(&fast, &slow, n);
        run_result_free(&fast);
        run_result_free(&slow);
    }
    free(rows);
}

/* Every arrival ends exactly once; done requests got all their tokens; the
 * same seed gives the same bytes. */
static void test_conservation(void **state)
{
    (void)state;
    const size_t n = 400;
    TraceRow *rows = random_rows(n, 21, 0.02, 3000, 800);
    rows[5].failed = true;
    rows[5].output_tokens = 0;
    for (size_t p = 0; p < SS_ARRAY_LEN(all_policies); p++) {
        EngineConfig c = config(all_policies[p], false);
        gpu_with_kv_tokens(&c, 3000);
        snprintf(c.predict_spec, sizeof(c.predict_spec), "noisy:sigma=1");
        RunResult a = run_engine(&c, rows, n), b = run_engine(&c, rows, n);
        unlink(c.gpu);
        assert_int_equal(a.status, 0);
        double arrived = summary_num(&a, "arrived");
        assert_int_equal((int)arrived, (int)n);
        assert_int_equal((int)(summary_num(&a, "completed") + summary_num(&a, "failed") +
                               summary_num(&a, "rejected")), (int)n);
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(a.rec[i].state, "done")) assert_int_equal(a.rec[i].generated, a.rec[i].output);
            if (rows[i].input_tokens + 1 > 3000 - 30) assert_string_equal(a.rec[i].state, "rejected");
        }
        assert_string_equal(a.rec[5].state, "failed");
        assert_int_equal(a.requests_csv_len, b.requests_csv_len);
        assert_memory_equal(a.requests_csv, b.requests_csv, a.requests_csv_len);
        run_result_free(&a);
        run_result_free(&b);
    }
    free(rows);
}

/* One long request behind a stream of short ones, one at a time
 * (max_num_seqs=1), shorts arriving twice as fast as they are served.
 * Without aging the long one waits for the stream to end; with aging a it
 * ranks ahead of every short arriving more than (2000 - 1) / a seconds after
 * it, so it waits for at most the ~2 s x 20 shorts queued before that. */
static void test_aging_bounds_wait(void **state)
{
    (void)state;
    const size_t n = 201;
    TraceRow rows[201];
    rows[0] = test_row(0.01, 10, 2000);
    for (size_t i = 1; i < n; i++) rows[i] = test_row(0.05 * (double)(i - 1), 10, 1);
    /* Sort by arrival: the long one is second. */
    TraceRow t = rows[0]; rows[0] = rows[1]; rows[1] = t;
    const char *policies[] = { "sjf", "srpt" };
    for (size_t p = 0; p < 2; p++) {
        double wait[2];
        for (int aged = 0; aged < 2; aged++) {
            char spec[96];
            snprintf(spec, sizeof(spec), "%s:max_num_seqs=1,aging=%s", policies[p], aged ? "1000" : "0");
            EngineConfig c = config(spec, true);
            RunResult r = run_engine(&c, rows, n);
            assert_int_equal(r.status, 0);
            wait[aged] = r.rec[1].first_scheduled - r.rec[1].arrival;
            print_message("%-32s long request waited %.2f s, max wait %.1f ms\n", spec, wait[aged],
                          summary_num(&r, "max_wait_ms"));
            run_result_free(&r);
        }
        assert_true(wait[0] > 9.0);  /* starved until the stream ended (t = 10 s) */
        assert_true(wait[1] < 4.3);  /* <= 41 shorts queued before it, 0.1 s each */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_infinite_memory_analytic),
        cmocka_unit_test(test_golden_preemption),
        cmocka_unit_test(test_golden_chunked),
        cmocka_unit_test(test_skipping_equals_stepwise),
        cmocka_unit_test(test_priority_policies_ride),
        cmocka_unit_test(test_conservation),
        cmocka_unit_test(test_aging_bounds_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
