/* Properties every registered scheduling policy must have, checked by
 * iterating over sched_registry so that a new policy is covered the moment
 * its registry line exists, without being named here:
 *   - conservation: every arrival ends exactly once (done, failed or
 *     rejected), and a done request generated all its tokens;
 *   - determinism: the same inputs give byte-identical requests.csv;
 *   - event skipping (span.c's closed-form decode spans, riders) equals one
 *     iteration per step (--stepwise) request by request.
 * Memory is tight (a 6,000-token KV cache) so that preemption, overflow and
 * rejection paths run, and the predictor is noisy so that length-based
 * policies mispredict. */
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
#include "sched/sched.h"

/* A GPU whose KV cache holds `tokens` tokens of llama-2-7b at gpu_mem_util 1. */
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

/* Bursty arrivals (faster than served, then idle gaps), prompts up to 2,000
 * tokens (a few longer than the cache: rejected), outputs up to 700. */
static TraceRow *property_rows(size_t n, uint64_t seed)
{
    TraceRow *rows = calloc(n, sizeof(TraceRow));
    uint64_t s = seed;
    double t = 0;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        t += (i % 100 < 70 ? 0.01 : 0.4) * (double)((s >> 40) % 1000) / 500.0;
        int64_t in = 1 + (int64_t)((s >> 20) % 2000), out = 1 + (int64_t)((s >> 8) % 700);
        if (i % 97 == 13) in = 7000; /* longer than the cache */
        rows[i] = test_row(t, in, out);
    }
    return rows;
}

static void expect_same(const char *policy, const RunResult *a, const RunResult *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const RunRecord *x = &a->rec[i], *y = &b->rec[i];
        if (strcmp(x->state, y->state) || x->generated != y->generated ||
            fabs(x->finish - y->finish) > 2e-9 * (fabs(x->finish) + 1) ||
            fabs(x->first_token - y->first_token) > 2e-9 * (fabs(x->finish) + 1))
            fail_msg("%s: request %zu: skipping %s gen %d first token %.12g finish %.12g, "
                     "stepwise %s gen %d first token %.12g finish %.12g", policy, i, x->state,
                     x->generated, x->first_token, x->finish, y->state, y->generated,
                     y->first_token, y->finish);
    }
}

/* Rows with empty fields (rejected before they ran; one-token requests have
 * no TPOT) are not parsed by run_engine: read their leading columns here. */
static void fill_unparsed_states(RunResult *r)
{
    for (char *line = strchr(r->requests_csv, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        long long id = -1;
        if (sscanf(line + 1, "%lld,", &id) != 1 || id < 0 || (size_t)id >= r->n) continue;
        if (r->rec[id].state[0]) continue;
        RunRecord *x = &r->rec[id];
        if (sscanf(line + 1, "%lld,%d,%lf,%d,%d,%d,%d,%15[^,]", &x->id, &x->instance, &x->arrival,
                   &x->input, &x->output, &x->predicted, &x->generated, x->state) != 8)
            x->state[0] = '\0';
        r->rec[id].id = id;
    }
}

static void expect_conserved(const char *policy, const RunResult *r, const TraceRow *rows, size_t n)
{
    if (r->status) fail_msg("%s: run failed: %s", policy, ss_error_get());
    int arrived = (int)summary_num(r, "arrived");
    int ended = (int)(summary_num(r, "completed") + summary_num(r, "failed") + summary_num(r, "rejected"));
    if (arrived != (int)n || ended != (int)n)
        fail_msg("%s: %zu requests, %d arrived, %d ended", policy, n, arrived, ended);
    for (size_t i = 0; i < n; i++) {
        const RunRecord *x = &r->rec[i];
        if (!x->state[0]) fail_msg("%s: request %zu has no record", policy, i);
        if (!strcmp(x->state, "done") && x->generated != rows[i].output_tokens)
            fail_msg("%s: request %zu done with %d of %lld tokens", policy, i, x->generated,
                     (long long)rows[i].output_tokens);
    }
}

static void test_every_registered_policy(void **state)
{
    (void)state;
    const size_t n = 300;
    TraceRow *rows = property_rows(n, 11);
    int policies = 0;
    for (const SchedOps *const *ops = sched_registry; *ops; ops++, policies++) {
        const char *name = (*ops)->name;
        EngineConfig c;
        engine_config_default(&c);
        snprintf(c.sched_spec, sizeof(c.sched_spec), "%s", name);
        snprintf(c.predict_spec, sizeof(c.predict_spec), "noisy:sigma=0.5");
        c.sample_interval_s = 0;
        gpu_with_kv_tokens(&c, 6000);
        RunResult fast = run_engine(&c, rows, n), again = run_engine(&c, rows, n);
        c.stepwise = true;
        RunResult slow = run_engine(&c, rows, n);
        unlink(c.gpu);
        fill_unparsed_states(&fast);
        fill_unparsed_states(&slow);
        print_message("%-16s completed %g failed %g rejected %g preemptions %g\n", name,
                      summary_num(&fast, "completed"), summary_num(&fast, "failed"),
                      summary_num(&fast, "rejected"), summary_num(&fast, "preemptions"));
        expect_conserved(name, &fast, rows, n);
        expect_conserved(name, &slow, rows, n);
        if (fast.requests_csv_len != again.requests_csv_len ||
            memcmp(fast.requests_csv, again.requests_csv, fast.requests_csv_len))
            fail_msg("%s: two runs of the same inputs wrote different requests.csv", name);
        expect_same(name, &fast, &slow, n);
        if (summary_num(&fast, "completed") < (double)n / 2)
            fail_msg("%s: only %g of %zu completed", name, summary_num(&fast, "completed"), n);
        run_result_free(&fast);
        run_result_free(&again);
        run_result_free(&slow);
    }
    assert_true(policies >= 7); /* the registry is what is iterated: not empty, lifo included */
    free(rows);
}

/* The example continuous policy: newest first, so when a burst queues, the
 * last arrival of the burst starts before the first one that had to wait. */
static void test_lifo_order(void **state)
{
    (void)state;
    TraceRow rows[6];
    for (int i = 0; i < 6; i++) rows[i] = test_row(0.001 * i, 100, 50);
    EngineConfig c;
    engine_config_default(&c);
    snprintf(c.sched_spec, sizeof(c.sched_spec), "lifo:max_num_seqs=1");
    c.sample_interval_s = 0;
    RunResult r = run_engine(&c, rows, 6);
    assert_int_equal(r.status, 0);
    /* Request 0 runs alone first (the queue was empty); then 5, 4, 3, 2, 1. */
    for (int i = 1; i < 5; i++) assert_true(r.rec[i + 1].first_scheduled < r.rec[i].first_scheduled);
    assert_true(r.rec[0].first_scheduled < r.rec[5].first_scheduled);
    run_result_free(&r);
    snprintf(c.sched_spec, sizeof(c.sched_spec), "vllm:max_num_seqs=1");
    r = run_engine(&c, rows, 6);
    for (int i = 1; i < 5; i++) assert_true(r.rec[i].first_scheduled < r.rec[i + 1].first_scheduled);
    run_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_registered_policy),
        cmocka_unit_test(test_lifo_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
