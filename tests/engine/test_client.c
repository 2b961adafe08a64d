/* test_client.c: the client model (--client) and admission control
 * (--admission): hand-computed deadline and retry cases, conservation per
 * attempt and per original request on random configurations, and the
 * default `none` leaving every output as it was. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"
#include "engine_test_util.h"
#include "engine/engine.h"
#include "engine/rng.h"

#define EPS 1e-9

/* Every step (and decode iteration) takes 0.1 s: times are multiples of it. */
static EngineConfig config(const char *sched, const char *client, const char *admission)
{
    EngineConfig c;
    engine_config_default(&c);
    snprintf(c.sched_spec, sizeof(c.sched_spec), "%s", sched);
    snprintf(c.cost_spec, sizeof(c.cost_spec), "synthetic:dist=constant,mean=0.1");
    snprintf(c.client_spec, sizeof(c.client_spec), "%s", client);
    snprintf(c.admission_spec, sizeof(c.admission_spec), "%s", admission);
    c.sample_interval_s = 0;
    return c;
}

static double run_num(const RunResult *r, const char *key) { return summary_num(r, key); }

/* Two requests at t=0, 3 tokens each, one at a time (batch=1).
 * r0 runs 0 -> 0.3 (tokens 0.1 0.2 0.3).  r1 waits; its client gives up at
 * 0.25 (ttft_timeout) and leaves the queue.  With one retry after 1 s (no
 * jitter) its second attempt (id 2) arrives at 1.25 and runs 1.25 -> 1.55:
 * the original succeeded, 1.55 s after it was first sent. */
static void test_ttft_deadline_and_retry(void **state)
{
    (void)state;
    TraceRow rows[2] = { test_row(0.0, 10, 3), test_row(0.0, 10, 3) };
    EngineConfig c = config("fcfs-static:batch=1", "deadline:ttft_timeout=0.25", "");
    RunResult r = run_engine(&c, rows, 2);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.rec[0].state, "done");
    assert_string_equal(r.rec[1].state, "cancelled");
    assert_string_equal(r.rec[1].reason, "ttft_timeout");
    assert_float_equal(r.rec[1].finish, 0.25, EPS);
    assert_true(isnan(r.rec[1].first_scheduled)); /* it never ran */
    assert_int_equal((int)run_num(&r, "cancelled"), 1);
    assert_float_equal(run_num(&r, "failure_rate"), 0.5, EPS);
    run_result_free(&r);

    c = config("fcfs-static:batch=1", "deadline:ttft_timeout=0.25,retries=1,backoff=1,jitter=0", "");
    r = run_engine(&c, rows, 2);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.rec[1].state, "cancelled");
    assert_string_equal(r.rec[2].state, "done");
    assert_int_equal(r.rec[2].attempt, 2);
    assert_int_equal(r.rec[2].original_id, 1);
    assert_float_equal(r.rec[2].arrival, 1.25, EPS);
    assert_float_equal(r.rec[2].finish, 1.55, EPS);
    assert_int_equal(r.rec[0].attempt, 1);
    assert_int_equal(r.rec[0].original_id, 0);
    run_result_free(&r);
}

/* A whole-request timeout on a member of a running static batch: the batch
 * cannot drop it, so it runs to the batch's end (0.3) and ends cancelled at
 * its give-up time, its 10 prompt + 3 output tokens wasted. */
static void test_timeout_in_static_batch(void **state)
{
    (void)state;
    TraceRow rows[1] = { test_row(0.0, 10, 3) };
    EngineConfig c = config("fcfs-static:batch=1", "deadline:timeout=0.15", "");
    RunResult r = run_engine(&c, rows, 1);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.rec[0].state, "cancelled");
    assert_string_equal(r.rec[0].reason, "timeout");
    assert_float_equal(r.rec[0].finish, 0.15, EPS);
    assert_int_equal(r.rec[0].generated, 3);
    assert_int_equal((int)run_num(&r, "wasted_tokens"), 13);
    run_result_free(&r);
    /* A request that finishes before its deadline is not touched. */
    c = config("fcfs-static:batch=1", "deadline:timeout=0.35", "");
    r = run_engine(&c, rows, 1);
    assert_string_equal(r.rec[0].state, "done");
    assert_int_equal((int)run_num(&r, "wasted_tokens"), 0);
    run_result_free(&r);
}

/* Iteration-level batching (vllm, one sequence at a time): r0 (10 tokens)
 * and r1 (queued behind it) both give up at 0.35.  r1 leaves the queue then;
 * r0, decoding, is cut at the next iteration boundary (0.4) with 4 tokens
 * emitted and its KV freed, so r2 (arrived 0.36) starts at 0.4 and is done
 * at 0.6, before its own deadline. */
static void test_timeout_cuts_running_step(void **state)
{
    (void)state;
    TraceRow rows[3] = { test_row(0.0, 10, 10), test_row(0.0, 10, 3), test_row(0.36, 10, 2) };
    EngineConfig c = config("vllm:max_num_seqs=1", "deadline:timeout=0.35", "");
    RunResult r = run_engine(&c, rows, 3);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.rec[0].state, "cancelled");
    assert_float_equal(r.rec[0].finish, 0.35, EPS);
    assert_int_equal(r.rec[0].generated, 4);
    assert_string_equal(r.rec[1].state, "cancelled");
    assert_true(isnan(r.rec[1].first_scheduled));
    assert_string_equal(r.rec[2].state, "done");
    assert_float_equal(r.rec[2].first_scheduled, 0.4, EPS);
    assert_float_equal(r.rec[2].finish, 0.6, EPS);
    assert_int_equal((int)run_num(&r, "wasted_tokens"), 10 + 4);
    run_result_free(&r);
}

/* max_queue=0: only what can start at once.  Three requests at t=0: the
 * first finds the instance idle and starts; the other two would wait and
 * are rejected (queue_full).  A fourth at t=1, when the instance is idle
 * again, starts. */
static void test_max_queue_zero(void **state)
{
    (void)state;
    TraceRow rows[4] = { test_row(0.0, 10, 3), test_row(0.0, 10, 3), test_row(0.0, 10, 3), test_row(1.0, 10, 3) };
    EngineConfig c = config("fcfs-static:batch=1", "none", "max_queue=0");
    RunResult r = run_engine(&c, rows, 4);
    assert_int_equal(r.status, 0);
    const char *want[4] = { "done", "rejected", "rejected", "done" };
    for (int i = 0; i < 4; i++) assert_string_equal(r.rec[i].state, want[i]);
    assert_string_equal(r.rec[1].reason, "queue_full");
    assert_float_equal(r.rec[1].finish, 0.0, EPS);
    run_result_free(&r);
    /* max_queue_delay: r1 would first run at 0.3; it may wait 0.15 s. */
    c = config("fcfs-static:batch=1", "none", "max_queue_delay=0.15");
    r = run_engine(&c, rows, 2);
    assert_string_equal(r.rec[1].state, "rejected");
    assert_string_equal(r.rec[1].reason, "queue_timeout");
    assert_float_equal(r.rec[1].finish, 0.15, EPS);
    run_result_free(&r);
}

/* The default client changes nothing: "none" and no spec give the same
 * bytes, and so do an admission spec at its defaults. */
static void test_none_identical(void **state)
{
    (void)state;
    TraceRow rows[64];
    gsl_rng *rng = ss_rng_stream(7, "test", 0);
    double t = 0;
    for (int i = 0; i < 64; i++) {
        t += gsl_rng_uniform(rng) * 0.05;
        rows[i] = test_row(t, 1 + (int64_t)gsl_rng_uniform_int(rng, 300), 1 + (int64_t)gsl_rng_uniform_int(rng, 50));
    }
    gsl_rng_free(rng);
    const char *scheds[] = { "fcfs-static:batch=4", "magnus" };
    for (size_t s = 0; s < 2; s++) {
        EngineConfig a = config(scheds[s], "", ""), b = config(scheds[s], "none", "max_queue=-1");
        RunResult x = run_engine(&a, rows, 64), y = run_engine(&b, rows, 64);
        assert_int_equal(x.status, 0);
        assert_int_equal(x.requests_csv_len, y.requests_csv_len);
        assert_memory_equal(x.requests_csv, y.requests_csv, x.requests_csv_len);
        run_result_free(&x);
        run_result_free(&y);
    }
}

/* Random configurations: every original request ends exactly once (done on
 * its last attempt, or given up), attempts of one original are numbered
 * 1..k and arrive in order, and the per-attempt counts add up (the engine
 * also asserts arrived = completed + failed + rejected + cancelled). */
static void test_conservation_random(void **state)
{
    (void)state;
    gsl_rng *rng = ss_rng_stream(11, "test", 0);
    const char *scheds[] = { "fcfs-static:batch=4", "fcfs-static:batch=1,window=0.2", "magnus", "vllm",
                             "sjf", "srpt", "chunked-prefill", "lifo", "vllm:preempt=swap,swap_gib=0.001" };
    const size_t n_scheds = sizeof(scheds) / sizeof(scheds[0]);
    for (int trial = 0; trial < 45; trial++) {
        TraceRow rows[80];
        double t = 0;
        for (int i = 0; i < 80; i++) {
            t += gsl_rng_uniform(rng) * 0.08;
            rows[i] = test_row(t, 1 + (int64_t)gsl_rng_uniform_int(rng, 500), 1 + (int64_t)gsl_rng_uniform_int(rng, 40));
        }
        char client[192], admission[128];
        snprintf(client, sizeof(client), "deadline:ttft_timeout=%g,timeout=%g,patience=%g,patience_dist=%s,"
                 "retries=%d,backoff=%g,jitter=%g", 0.2 + 2 * gsl_rng_uniform(rng), 1 + 5 * gsl_rng_uniform(rng),
                 0.5 + 3 * gsl_rng_uniform(rng), trial % 3 == 0 ? "exp" : trial % 3 == 1 ? "lognormal" : "constant",
                 (int)gsl_rng_uniform_int(rng, 4), 0.1 + gsl_rng_uniform(rng), gsl_rng_uniform(rng) * 0.5);
        snprintf(admission, sizeof(admission), "max_queue=%d,max_queue_delay=%g,max_preemptions=%d",
                 (int)gsl_rng_uniform_int(rng, 12) - 1, trial % 2 ? 0.0 : 0.5 + gsl_rng_uniform(rng),
                 (int)gsl_rng_uniform_int(rng, 3) - 1);
        const char *sched = scheds[(size_t)trial % n_scheds];
        EngineConfig c = config(sched, client, admission);
        c.seed = (uint64_t)trial + 1;
        /* Continuous policies on a small KV cache: preemptions, swaps, max_preemptions. */
        if (!strstr(sched, "static") && strcmp(sched, "magnus")) c.gpu_mem_util = 0.19;
        RunResult r = run_engine(&c, rows, 80);
        assert_int_equal(r.status, 0);
        int *last_attempt = calloc(r.n, sizeof(int)), *ends = calloc(r.n, sizeof(int));
        double *last_arrival = calloc(r.n, sizeof(double));
        int done = 0, originals = 0;
        for (size_t i = 0; i < r.n; i++) {
            const RunRecord *x = &r.rec[i];
            /* ids are arrival order, retries included: an original's id is its first attempt's */
            assert_true(x->original_id >= 0 && x->original_id <= x->id);
            if (x->attempt == 1) assert_int_equal(x->original_id, x->id), originals++;
            assert_int_equal(x->attempt, last_attempt[x->original_id] + 1); /* 1, 2, ... in id order */
            assert_true(x->arrival >= last_arrival[x->original_id]);
            last_attempt[x->original_id] = x->attempt;
            last_arrival[x->original_id] = x->arrival;
            assert_int_equal(ends[x->original_id], 0); /* nothing after a success */
            if (!strcmp(x->state, "done")) ends[x->original_id] = 1, done++;
        }
        assert_int_equal((size_t)run_num(&r, "arrived"), r.n);
        assert_int_equal((int)(run_num(&r, "completed") + run_num(&r, "failed") + run_num(&r, "rejected") +
                               run_num(&r, "cancelled")), (int)r.n);
        assert_int_equal((int)run_num(&r, "completed"), done);
        assert_int_equal(originals, 80);
        free(last_attempt);
        free(ends);
        free(last_arrival);
        run_result_free(&r);
    }
    gsl_rng_free(rng);
}

static void test_bad_specs(void **state)
{
    (void)state;
    const char *clients[] = { "nope", "deadline:bogus=1", "deadline:timeout=-1", "deadline:retries=x" };
    for (size_t i = 0; i < 4; i++) {
        EngineConfig c = config("fcfs-static", clients[i], "");
        Engine *e = NULL;
        assert_true(engine_create(&e, &c, NULL) < 0);
        assert_null(e);
    }
    EngineConfig c = config("fcfs-static", "none", "max_queue=x");
    Engine *e = NULL;
    assert_true(engine_create(&e, &c, NULL) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ttft_deadline_and_retry),
        cmocka_unit_test(test_timeout_in_static_batch),
        cmocka_unit_test(test_timeout_cuts_running_step),
        cmocka_unit_test(test_max_queue_zero),
        cmocka_unit_test(test_none_identical),
        cmocka_unit_test(test_conservation_random),
        cmocka_unit_test(test_bad_specs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
