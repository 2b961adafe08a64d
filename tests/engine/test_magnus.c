/* Magnus: the KNN estimator, the grouping and memory rules, the batch order,
 * its ablations, and misprediction (overflow counters, nothing lost). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "cost/knn.h"
#include "engine/engine_internal.h"
#include "engine_test_util.h"

/* ---- KNN ---- */

static void test_knn_prior_then_neighbours(void **state)
{
    (void)state;
    KnnEstimator *k = NULL;
    assert_int_equal(knn_create(&k, 2, 4), 0);
    double a[KNN_FEATURES] = { 1, 100, 10 }, b[KNN_FEATURES] = { 2, 100, 10 },
           c[KNN_FEATURES] = { 50, 900, 500 };
    assert_float_equal(knn_estimate(k, a, 7.0), 7.0, 0); /* no samples: the prior */
    knn_add(k, a, 1.0);
    assert_float_equal(knn_estimate(k, a, 7.0), 7.0, 0); /* fewer than k */
    knn_add(k, b, 3.0);
    knn_add(k, c, 100.0);
    /* The two nearest of a are a and b. */
    assert_float_equal(knn_estimate(k, a, 7.0), 2.0, 1e-12);
    assert_float_equal(knn_estimate(k, c, 7.0), (100.0 + 3.0) / 2, 1e-12);
    /* The ring drops the oldest: after 4 more samples at c, a and b are gone. */
    for (int i = 0; i < 4; i++) knn_add(k, c, 10.0);
    assert_int_equal(knn_samples(k), 4);
    assert_int_equal((int)knn_learned(k), 7);
    assert_float_equal(knn_estimate(k, a, 7.0), 10.0, 1e-12);
    knn_destroy(&k);
    assert_null(k);
    assert_int_not_equal(knn_create(&k, 0, 4), 0);
    assert_int_not_equal(knn_create(&k, 5, 4), 0);
}

static void test_knn_error(void **state)
{
    (void)state;
    KnnError e = { 0 };
    knn_error_add(&e, 1.0, 2.0);
    knn_error_add(&e, 5.0, 2.0);
    assert_float_equal(knn_error_rmse_s(&e), sqrt((1.0 + 9.0) / 2), 1e-12);
    assert_float_equal(knn_error_mean_rel(&e), (0.5 + 1.5) / 2, 1e-12);
}

/* ---- engine runs ---- */

typedef struct MagnusRun {
    RunResult res;
    json_t *stats; /* sched_stats */
} MagnusRun;

static EngineConfig magnus_config(const char *sched, const char *predict)
{
    EngineConfig c;
    engine_config_default(&c);
    snprintf(c.model, sizeof(c.model), "chatglm-6b");
    snprintf(c.gpu, sizeof(c.gpu), "v100-32g");
    snprintf(c.sched_spec, sizeof(c.sched_spec), "%s", sched);
    snprintf(c.predict_spec, sizeof(c.predict_spec), "%s", predict);
    c.sample_interval_s = 0;
    return c;
}

/* run_engine, keeping the scheduler's counters before the engine goes. */
static MagnusRun run_magnus(const EngineConfig *cfg, const TraceRow *rows, size_t n)
{
    MagnusRun mr;
    memset(&mr, 0, sizeof(mr));
    RunResult *res = &mr.res;
    FILE *csv = open_memstream(&res->requests_csv, &res->requests_csv_len);
    EngineOutputs out = { .requests_csv = csv };
    Engine *e = NULL;
    ArraySource a = { rows, n, 0 };
    RowSource src = { &a, array_source_next, "test" };
    res->status = engine_create(&e, cfg, &out);
    if (!res->status) res->status = engine_run(e, &src);
    if (res->status) fprintf(stderr, "engine: %s\n", ss_error_get());
    if (!res->status) {
        res->summary = metrics_summary_json(engine_metrics(e));
        mr.stats = e->instances[0].sched_ops->stats_json(e->instances[0].sched);
    }
    engine_destroy(&e);
    fclose(csv);
    res->rec = calloc(n ? n : 1, sizeof(RunRecord));
    res->n = n;
    for (char *line = strchr(res->requests_csv, '\n'); line && line[1]; line = strchr(line, '\n')) {
        RunRecord r;
        line++;
        if (parse_requests_row(line, &r) && r.id >= 0 && (size_t)r.id < n) res->rec[r.id] = r;
    }
    return mr;
}

static void magnus_run_free(MagnusRun *mr)
{
    run_result_free(&mr->res);
    if (mr->stats) json_decref(mr->stats);
}

static double stat(const MagnusRun *mr, const char *key)
{
    json_t *v = json_object_get(mr->stats, key);
    return json_is_number(v) ? json_number_value(v) : -1e300;
}

static void assert_conserved(const MagnusRun *mr, size_t n)
{
    const RunResult *r = &mr->res;
    assert_int_equal(r->status, 0);
    assert_int_equal((int)summary_num(r, "arrived"), (int)n);
    assert_int_equal((int)(summary_num(r, "completed") + summary_num(r, "failed") +
                           summary_num(r, "rejected")), (int)n);
}

/* Two clusters queued behind a first request: 20 short (10 tokens) and 20
 * long (1000 tokens).  Both fit memory together, so only the grouping rule
 * can separate them. */
static TraceRow *cluster_rows(size_t *n)
{
    TraceRow *rows = calloc(41, sizeof(TraceRow));
    rows[0] = test_row(0, 100, 50);
    for (int i = 1; i <= 40; i++)
        rows[i] = test_row(0.001 * i, 100, (i % 2) ? 10 : 1000);
    *n = 41;
    return rows;
}

/* Members of one batch start together: count the distinct start times of
 * requests with a given output length. */
static int distinct_starts(const RunResult *r, int output)
{
    double seen[64];
    int ns = 0;
    for (size_t i = 1; i < r->n; i++) {
        if (r->rec[i].output != output) continue;
        int k = 0;
        while (k < ns && seen[k] != r->rec[i].first_scheduled) k++;
        if (k == ns && ns < 64) seen[ns++] = r->rec[i].first_scheduled;
    }
    return ns;
}

static int shared_starts(const RunResult *r)
{
    for (size_t i = 1; i < r->n; i++)
        for (size_t j = 1; j < r->n; j++)
            if (r->rec[i].output == 10 && r->rec[j].output == 1000 &&
                r->rec[i].first_scheduled == r->rec[j].first_scheduled) return 1;
    return 0;
}

static void test_grouping_separates_lengths(void **state)
{
    (void)state;
    size_t n;
    TraceRow *rows = cluster_rows(&n);
    EngineConfig c = magnus_config("magnus", "oracle");
    MagnusRun on = run_magnus(&c, rows, n);
    assert_conserved(&on, n);
    assert_int_equal(distinct_starts(&on.res, 10), 1);
    assert_int_equal(distinct_starts(&on.res, 1000), 1);
    assert_false(shared_starts(&on.res));
    /* HRRN: both batches waited about as long, the short one has the smaller
     * S, so the larger ratio: it runs first. */
    assert_true(on.res.rec[1].first_scheduled < on.res.rec[2].first_scheduled);
    assert_int_equal((int)stat(&on, "overflow_batches"), 0);

    snprintf(c.sched_spec, sizeof(c.sched_spec), "magnus:grouping=false");
    MagnusRun off = run_magnus(&c, rows, n);
    assert_conserved(&off, n);
    assert_true(shared_starts(&off.res)); /* one arrival-order batch of all 40 */
    assert_true(summary_num(&off.res, "padding_decode_tokens") >
                summary_num(&on.res, "padding_decode_tokens"));
    magnus_run_free(&on);
    magnus_run_free(&off);
    free(rows);
}

/* group_gen=false keeps the sort by prompt length and drops the grouping by
 * predicted generation: requests of one prompt length but outputs of 10 and
 * 1000 tokens share batches, and prompts of 10 and 1000 tokens (equal
 * outputs) are still kept apart, which grouping=false does not do. */
static void test_prompt_sort_only(void **state)
{
    (void)state;
    size_t n;
    TraceRow *rows = cluster_rows(&n);
    EngineConfig c = magnus_config("magnus:group_gen=false", "oracle");
    MagnusRun gen_off = run_magnus(&c, rows, n);
    assert_conserved(&gen_off, n);
    assert_true(shared_starts(&gen_off.res));
    magnus_run_free(&gen_off);

    /* Prompts alternate 10 / 1000 tokens, every output 50. */
    rows[0] = test_row(0, 100, 50);
    for (int i = 1; i <= 40; i++) rows[i] = test_row(0.001 * i, (i % 2) ? 10 : 1000, 50);
    const char *specs[] = { "magnus:group_gen=false", "magnus:grouping=false" };
    for (int k = 0; k < 2; k++) {
        snprintf(c.sched_spec, sizeof(c.sched_spec), "%s", specs[k]);
        MagnusRun r = run_magnus(&c, rows, n);
        assert_conserved(&r, n);
        bool mixed = false;
        for (size_t i = 1; i < n; i++)
            for (size_t j = 1; j < n; j++)
                if (r.res.rec[i].input == 10 && r.res.rec[j].input == 1000 &&
                    r.res.rec[i].first_scheduled == r.res.rec[j].first_scheduled) mixed = true;
        assert_true(mixed == (k == 1));
        magnus_run_free(&r);
    }
    free(rows);
}

static void test_fixed_batch_and_fcfs(void **state)
{
    (void)state;
    size_t n;
    TraceRow *rows = cluster_rows(&n);
    EngineConfig c = magnus_config("magnus:adaptive=false,batch=4", "oracle");
    MagnusRun fixed = run_magnus(&c, rows, n);
    assert_conserved(&fixed, n);
    assert_true(distinct_starts(&fixed.res, 10) >= 5);
    assert_true(stat(&fixed, "mean_batch_size") <= 4.0);

    /* FCFS over batches: the batch holding the oldest waiting request (id 1,
     * short) runs first, then the one holding id 2 (long). */
    snprintf(c.sched_spec, sizeof(c.sched_spec), "magnus:order=fcfs");
    rows[1].output_tokens = 1000; /* now the oldest waiting request is long */
    rows[2].output_tokens = 10;
    MagnusRun fcfs = run_magnus(&c, rows, n);
    assert_conserved(&fcfs, n);
    assert_true(fcfs.res.rec[1].first_scheduled < fcfs.res.rec[2].first_scheduled);
    snprintf(c.sched_spec, sizeof(c.sched_spec), "magnus:order=hrrn");
    MagnusRun hrrn = run_magnus(&c, rows, n);
    assert_true(hrrn.res.rec[2].first_scheduled < hrrn.res.rec[1].first_scheduled);
    magnus_run_free(&fixed);
    magnus_run_free(&fcfs);
    magnus_run_free(&hrrn);
    free(rows);
}

static TraceRow *random_rows(size_t n, uint64_t seed, double gap_s, int64_t max_input)
{
    TraceRow *rows = calloc(n, sizeof(TraceRow));
    uint64_t s = seed;
    double t = 0;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        t += gap_s * (double)((s >> 40) % 1000) / 500.0;
        int64_t in = 1 + (int64_t)((s >> 20) % (uint64_t)max_input), out = 1 + (int64_t)((s >> 8) % 900);
        rows[i] = test_row(t, in, out);
    }
    return rows;
}

/* Every estimator and ablation runs, conserves requests, and with exact
 * predictions never overflows; the oracle and roofline estimators are exact
 * under the roofline ground truth with exact predictions. */
static void test_ablations_run(void **state)
{
    (void)state;
    const size_t n = 600;
    TraceRow *rows = random_rows(n, 3, 0.3, 1000);
    const char *specs[] = {
        "magnus", "magnus:estimator=roofline", "magnus:estimator=oracle",
        "magnus:knn_target=seconds", "magnus:grouping=false", "magnus:adaptive=false,batch=8",
        "magnus:order=fcfs", "magnus:max_batch=16,margin=0", "magnus:group_gen=false",
    };
    for (size_t i = 0; i < SS_ARRAY_LEN(specs); i++) {
        EngineConfig c = magnus_config(specs[i], "oracle");
        MagnusRun r = run_magnus(&c, rows, n);
        assert_conserved(&r, n);
        assert_int_equal((int)summary_num(&r.res, "completed"), (int)n);
        assert_int_equal((int)stat(&r, "overflow_batches"), 0);
        assert_true(stat(&r, "batches") > 0);
        if (i == 1 || i == 2) assert_true(stat(&r, "estimator_mean_rel_err") < 1e-6);
        magnus_run_free(&r);
    }
    free(rows);
}

/* A predictor that says 1 token for everything: batches of one-token prompts
 * (equal, so prefill padding does not split them) are planned hundreds of
 * requests large, outgrow the KV cache within a few hundred iterations, and
 * each overflow policy does what it says. */
static void test_misprediction_counters(void **state)
{
    (void)state;
    const size_t n = 400;
    TraceRow *rows = random_rows(n, 5, 0.01, 1);
    EngineConfig c = magnus_config("magnus:overflow=preempt", "constant:tokens=1");
    MagnusRun pre = run_magnus(&c, rows, n);
    assert_conserved(&pre, n);
    assert_int_equal((int)summary_num(&pre.res, "completed"), (int)n); /* evicted, not lost */
    assert_true(stat(&pre, "overflow_batches") > 0);
    assert_true(stat(&pre, "overflow_preempted") > 0);
    assert_int_equal((int)stat(&pre, "overflow_truncated"), 0);
    assert_int_equal((int)summary_num(&pre.res, "preemptions"), (int)stat(&pre, "overflow_preempted"));
    assert_true(stat(&pre, "recompute_tokens") > 0);
    for (size_t i = 0; i < n; i++) assert_int_equal(pre.res.rec[i].generated, rows[i].output_tokens);

    snprintf(c.sched_spec, sizeof(c.sched_spec), "magnus:overflow=truncate");
    MagnusRun tr = run_magnus(&c, rows, n);
    assert_conserved(&tr, n);
    assert_true(stat(&tr, "overflow_truncated") > 0);
    assert_int_equal((int)summary_num(&tr.res, "failed"), (int)stat(&tr, "overflow_truncated"));
    assert_int_equal((int)stat(&tr, "overflow_preempted"), 0);
    int truncated = 0;
    for (size_t i = 0; i < n; i++) truncated += !strcmp(tr.res.rec[i].reason, "truncated");
    assert_int_equal(truncated, (int)stat(&tr, "overflow_truncated"));

    /* reserve plans on the p90: a wild lognormal predictor still overflows
     * sometimes, and then evicts. */
    snprintf(c.sched_spec, sizeof(c.sched_spec), "magnus:overflow=reserve");
    snprintf(c.predict_spec, sizeof(c.predict_spec), "noisy:sigma=3");
    MagnusRun rs = run_magnus(&c, rows, n);
    assert_conserved(&rs, n);
    assert_int_equal((int)summary_num(&rs.res, "completed"), (int)n);
    assert_int_equal((int)stat(&rs, "overflow_truncated"), 0);
    magnus_run_free(&pre);
    magnus_run_free(&tr);
    magnus_run_free(&rs);
    free(rows);
}

/* Overflowing batches under event skipping and one iteration at a time
 * agree, and a run is reproducible. */
static void test_stepwise_and_deterministic(void **state)
{
    (void)state;
    const size_t n = 200;
    TraceRow *rows = random_rows(n, 9, 0.1, 1000);
    EngineConfig c = magnus_config("magnus", "noisy:sigma=1");
    MagnusRun fast = run_magnus(&c, rows, n), again = run_magnus(&c, rows, n);
    c.stepwise = true;
    MagnusRun slow = run_magnus(&c, rows, n);
    assert_conserved(&fast, n);
    assert_int_equal(fast.res.requests_csv_len, again.res.requests_csv_len);
    assert_memory_equal(fast.res.requests_csv, again.res.requests_csv, fast.res.requests_csv_len);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(fast.res.rec[i].state, slow.res.rec[i].state);
        assert_float_equal(fast.res.rec[i].finish, slow.res.rec[i].finish, 1e-8 * fast.res.rec[i].finish);
    }
    magnus_run_free(&fast);
    magnus_run_free(&again);
    magnus_run_free(&slow);
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_knn_prior_then_neighbours),
        cmocka_unit_test(test_knn_error),
        cmocka_unit_test(test_grouping_separates_lengths),
        cmocka_unit_test(test_prompt_sort_only),
        cmocka_unit_test(test_fixed_batch_and_fcfs),
        cmocka_unit_test(test_ablations_run),
        cmocka_unit_test(test_misprediction_counters),
        cmocka_unit_test(test_stepwise_and_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
