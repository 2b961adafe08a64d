/* test_hashes.c: prefix block hashes (issue #19 item 1): the Mooncake-style
 * fixture reads with its hashes, a bad hash_ids field is a file:line error,
 * --sessions cumulative derives the expected hashes on a hand-made session,
 * the multi-turn workload's ideal reuse is plausible and reproducible by
 * seed, and trace gen's JSONL writes hashes that read back identically
 * (through the prefetch ring too). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "trace_test_util.h"

#include "prefetch.h"
#include "prefix_hash.h"
#include "reuse.h"
#include "stats.h"
#include "synth.h"
#include "writer.h"

#define MOONCAKE_MAP "arrival=timestamp:ms,input=input_length,output=output_length,hash_ids=hash_ids"

static void fixture_path(char *buf, size_t cap)
{
    const char *root = getenv("SERVESIM_SOURCE_ROOT");
    snprintf(buf, cap, "%s/tests/traces/data/mooncake_tiny.jsonl", root ? root : ".");
}

/* tests/traces/data/mooncake_tiny.jsonl: five rows in Mooncake's format
 * (FAST'25 trace release: {"timestamp" ms, "input_length", "output_length",
 * "hash_ids"}, 512 tokens per hash); rows 1-4 hash the partial last block
 * (ceil), row 5 full blocks only (floor: 1030 tokens, 2 hashes). */
static void test_mooncake_fixture(void **state)
{
    (void)state;
    static const int64_t in[5] = { 1200, 1100, 512, 2287, 1030 };
    static const double t[5] = { 0, 1.5, 3.052, 3.052, 27.482 };
    static const uint64_t h[5][5] = { { 0, 1, 2 }, { 0, 1, 3 }, { 0 }, { 4, 5, 6, 7, 8 }, { 4, 5 } };
    static const int n[5] = { 3, 3, 1, 5, 2 };
    char path[1024];
    fixture_path(path, sizeof(path));
    TraceOpenOpts o = tt_opts();
    o.map = MOONCAKE_MAP;
    TraceReader *r;
    TraceRow row;
    PrefixReuse reuse;
    prefix_reuse_init(&reuse);
    assert_int_equal(trace_reader_open(&r, path, &o), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(trace_reader_next(r, &row), 1);
        assert_int_equal(row.input_tokens, in[i]);
        assert_true(fabs(row.arrival_s - t[i]) < 1e-12);
        assert_int_equal(row.n_hash_ids, n[i]);
        assert_int_equal(row.hash_block_tokens, 512);
        for (int k = 0; k < n[i]; k++) assert_int_equal(row.hash_ids[k], h[i][k]);
        prefix_reuse_add(&reuse, &row);
    }
    assert_int_equal(trace_reader_next(r, &row), 0);
    /* Reused: row 2 blocks 0-1 (1024), row 3 block 0 (512), row 5 blocks 0-1
     * (1024; its 6 unhashed tokens reuse nothing) of 6129 prompt tokens. */
    assert_int_equal(reuse.prompt_tokens, 6129);
    assert_int_equal(reuse.reused_tokens, 2560);
    assert_true(fabs(prefix_reuse_share(&reuse) - 2560.0 / 6129.0) < 1e-15);
    prefix_reuse_free(&reuse);
    trace_reader_destroy(&r);
    /* Without hash_ids= in the map, no row has hashes and the share is unknown, not 0. */
    o.map = "arrival=timestamp:ms,input=input_length,output=output_length";
    prefix_reuse_init(&reuse);
    assert_int_equal(trace_reader_open(&r, path, &o), 0);
    while (trace_reader_next(r, &row) == 1) {
        assert_null(row.hash_ids);
        assert_int_equal(row.hash_block_tokens, 0);
        prefix_reuse_add(&reuse, &row);
    }
    assert_true(isnan(prefix_reuse_share(&reuse)));
    prefix_reuse_free(&reuse);
    trace_reader_destroy(&r);
}

static void expect_bad(const char *line2, int32_t block, const char *message)
{
    char data[512];
    snprintf(data, sizeof(data), "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 5, "
             "\"hash_ids\": [1, 2]}\n%s\n", line2);
    TraceOpenOpts o = tt_opts();
    o.map = MOONCAKE_MAP;
    o.hash_block_tokens = block;
    TraceReader *r;
    TraceRow row;
    assert_int_equal(trace_reader_open_mem(&r, data, strlen(data), "m.jsonl", &o), 0);
    assert_int_equal(trace_reader_next(r, &row), 1);
    assert_int_equal(trace_reader_next(r, &row), TRACE_BAD_ROW);
    if (!strstr(ss_error_get(), message)) fail_msg("got '%s', want '%s'", ss_error_get(), message);
    trace_reader_destroy(&r);
}

static void test_bad_hash_ids(void **state)
{
    (void)state;
    const char *pre = "{\"timestamp\": 1, \"input_length\": 600, \"output_length\": 5";
    char l[256];
    snprintf(l, sizeof(l), "%s, \"hash_ids\": [1, \"x\"]}", pre);
    expect_bad(l, 512, "m.jsonl:2: hash_ids: element 2 is not an integer");
    snprintf(l, sizeof(l), "%s, \"hash_ids\": [1, 2.5]}", pre);
    expect_bad(l, 512, "m.jsonl:2: hash_ids: element 2 is not an integer");
    snprintf(l, sizeof(l), "%s, \"hash_ids\": [1, -3]}", pre);
    expect_bad(l, 512, "m.jsonl:2: hash_ids: element 2 is negative");
    snprintf(l, sizeof(l), "%s, \"hash_ids\": 7}", pre);
    expect_bad(l, 512, "m.jsonl:2: hash_ids: not an array");
    snprintf(l, sizeof(l), "%s}", pre);
    expect_bad(l, 512, "m.jsonl:2: hash_ids: missing");
    snprintf(l, sizeof(l), "%s, \"hash_ids\": [1, 2, 3]}", pre); /* 600 tokens: 1 or 2 hashes */
    expect_bad(l, 512, "m.jsonl:2: hash_ids: 3 hashes for a prompt of 600 tokens");
    snprintf(l, sizeof(l), "%s, \"hash_ids\": []}", pre);
    expect_bad(l, 512, "m.jsonl:2: hash_ids: 0 hashes");
    /* A wrong --hash-block is caught on the first row it does not fit. */
    snprintf(l, sizeof(l), "%s, \"hash_ids\": [1, 2]}", pre);
    TraceOpenOpts o = tt_opts();
    o.map = MOONCAKE_MAP;
    o.hash_block_tokens = 100;
    TraceReader *r;
    TraceRow row;
    assert_int_equal(trace_reader_open_mem(&r, l, strlen(l), "m.jsonl", &o), 0);
    assert_int_equal(trace_reader_next(r, &row), TRACE_BAD_ROW);
    assert_non_null(strstr(ss_error_get(), "m.jsonl:1: hash_ids: 2 hashes for a prompt of 600 tokens at 100"));
    trace_reader_destroy(&r);
    /* csv has no hash lists */
    o = tt_opts();
    o.format = "csv";
    o.map = "arrival=t,input=i,output=o,hash_ids=h";
    assert_true(trace_reader_open_mem(&r, "t,i,o,h\n0,1,1,1\n", 16, "c.csv", &o) < 0);
    assert_non_null(strstr(ss_error_get(), "hash_ids= is read from JSONL traces only"));
}

/* Session s1 of three turns (and a fourth that breaks the assumption)
 * around one turn of s2, with 4-token blocks: content ids are handed out in
 * row order from 0, so every hash can be written down. */
static const char sessions_csv[] =
    "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
    "0,s1,1,ChatGPT,10,3,13,Conversation log\n"   /* 3 blocks, new: ids 0 1 2 */
    "5,s1,1,ChatGPT,17,2,19,Conversation log\n"   /* history 13 <= 17; keeps 2, new 3 4 5 */
    "6,s2,1,ChatGPT,8,1,9,Conversation log\n"     /* another session: new 6 7 */
    "9,s1,1,ChatGPT,21,5,26,Conversation log\n"   /* history 19 <= 21; keeps 4, new 8 9 */
    "12,s1,1,ChatGPT,5,5,10,Conversation log\n";  /* 5 < 26: short; keeps 1, new 10 */

static void test_sessions_cumulative(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    o.sessions = TRACE_SESSIONS_CUMULATIVE;
    o.hash_block_tokens = 4;
    TraceReader *r;
    TraceRow row;
    uint64_t got[5][6];
    int n[5];
    PrefixReuse reuse;
    prefix_reuse_init(&reuse);
    assert_int_equal(trace_reader_open_mem(&r, sessions_csv, strlen(sessions_csv), "s.csv", &o), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(trace_reader_next(r, &row), 1);
        assert_int_equal(row.hash_block_tokens, 4);
        n[i] = row.n_hash_ids;
        memcpy(got[i], row.hash_ids, (size_t)n[i] * sizeof(uint64_t));
        prefix_reuse_add(&reuse, &row);
    }
    assert_int_equal(trace_reader_next(r, &row), 0);
    assert_int_equal(n[0], 3);
    assert_int_equal(n[1], 5);
    assert_int_equal(n[2], 2);
    assert_int_equal(n[3], 6);
    assert_int_equal(n[4], 2);
    /* the expected chains: hash i = next(hash i-1, content id) */
    const uint64_t R = PREFIX_HASH_ROOT;
    uint64_t a0 = prefix_hash_next(R, 0), a1 = prefix_hash_next(a0, 1), a2 = prefix_hash_next(a1, 2);
    assert_true(got[0][0] == a0 && got[0][1] == a1 && got[0][2] == a2);
    uint64_t b2 = prefix_hash_next(a1, 3), b3 = prefix_hash_next(b2, 4), b4 = prefix_hash_next(b3, 5);
    assert_true(got[1][0] == a0 && got[1][1] == a1);
    assert_true(got[1][2] == b2 && got[1][3] == b3 && got[1][4] == b4);
    assert_true(got[1][2] != a2); /* turn 1's partial last block is not turn 2's full one */
    uint64_t c0 = prefix_hash_next(R, 6);
    assert_true(got[2][0] == c0 && got[2][1] == prefix_hash_next(c0, 7));
    uint64_t d4 = prefix_hash_next(b3, 8);
    assert_true(got[3][0] == a0 && got[3][1] == a1 && got[3][2] == b2 && got[3][3] == b3);
    assert_true(got[3][4] == d4 && got[3][5] == prefix_hash_next(d4, 9));
    assert_true(got[4][0] == a0 && got[4][1] == prefix_hash_next(a0, 10));
    assert_int_equal(trace_reader_stats(r)->rows_session_short, 1);
    /* ideal reuse: 8 of 17, 0 of 8, 16 of 21, 4 of 5 tokens */
    assert_int_equal(reuse.prompt_tokens, 10 + 17 + 8 + 21 + 5);
    assert_int_equal(reuse.reused_tokens, 8 + 16 + 4);
    prefix_reuse_free(&reuse);
    trace_reader_destroy(&r);
}

/* FNV-1a over the rows' sessions, lengths and hashes; the ideal reuse. */
static uint64_t workload_digest(const char *spec, uint64_t seed, int64_t requests, double *share)
{
    SynthParams p;
    assert_int_equal(synth_params_from_preset(&p, spec), 0);
    p.requests = requests;
    SynthSource *s;
    assert_int_equal(synth_source_create(&s, &p, seed), 0);
    TraceRow row;
    PrefixReuse reuse;
    prefix_reuse_init(&reuse);
    uint64_t h = UINT64_C(1469598103934665603);
    while (synth_source_next(s, &row) == 1) {
        uint64_t v[3] = { (uint64_t)row.input_tokens, (uint64_t)row.output_tokens, (uint64_t)row.n_hash_ids };
        for (int i = 0; i < 3; i++) h = (h ^ v[i]) * UINT64_C(1099511628211);
        for (int32_t i = 0; i < row.n_hash_ids; i++) h = (h ^ row.hash_ids[i]) * UINT64_C(1099511628211);
        for (const char *c = row.session; *c; c++) h = (h ^ (unsigned char)*c) * UINT64_C(1099511628211);
        prefix_reuse_add(&reuse, &row);
    }
    *share = prefix_reuse_share(&reuse);
    prefix_reuse_free(&reuse);
    synth_source_destroy(&s);
    synth_params_clear(&p);
    return h;
}

static void test_multi_turn_workload(void **state)
{
    (void)state;
    double a, b, c, none, sys;
    uint64_t ha = workload_digest("default:sessions=true", 1, 5000, &a);
    uint64_t hb = workload_digest("default:sessions=true", 1, 5000, &b);
    uint64_t hc = workload_digest("default:sessions=true", 2, 5000, &c);
    assert_true(ha == hb && a == b); /* reproducible by seed */
    assert_true(ha != hc);
    /* Plausible: ~4 turns a session, each resending ~330 tokens of the last
     * turn (prompt + response) in 512-token blocks: most tokens are history,
     * never all (first turns, partial blocks). */
    assert_true(a > 0.35 && a < 0.85);
    assert_true(c > 0.35 && c < 0.85);
    /* One turn a session reuses nothing; more turns reuse more. */
    workload_digest("default:sessions=true,turns_mean=1", 1, 5000, &none);
    assert_true(none == 0);
    double more;
    workload_digest("default:sessions=true,turns_mean=10", 1, 5000, &more);
    assert_true(more > a);
    /* A 1100-token system prompt alone: its 2 full blocks (1024 tokens) are
     * shared by every row but the first. */
    workload_digest("default:system_prompt=1100", 1, 5000, &sys);
    assert_true(sys > 0.8 && sys < 1024.0 / 1101.0);
    /* The plain workload carries no hashes (and draws as before). */
    workload_digest("default", 1, 100, &none);
    assert_true(isnan(none));
}

static void test_gen_round_trip(void **state)
{
    (void)state;
    SynthParams p;
    assert_int_equal(synth_params_from_preset(&p, "burstgpt-perf:sessions=true,system_prompt=700,think_s=5"), 0);
    p.requests = 3000; /* > a prefetch block, so the ring wraps */
    char path[] = "/tmp/servesim_hashes_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    SynthSource *s;
    TraceWriter *w;
    TraceRow row;
    assert_int_equal(synth_source_create(&s, &p, 9), 0);
    assert_int_equal(trace_writer_open_lines(&w, path, false), 0);
    while (synth_source_next(s, &row) == 1) assert_int_equal(trace_writer_row_jsonl(w, &row), 0);
    assert_int_equal(trace_writer_close(&w), 0);
    synth_source_destroy(&s);
    for (int pass = 0; pass < 2; pass++) { /* direct, then through the prefetch ring */
        TraceOpenOpts o = tt_opts();
        TraceReader *r;
        RowPrefetch *pf = NULL;
        assert_int_equal(trace_reader_open(&r, path, &o), 0);
        RowSource src = trace_reader_source(r, path);
        if (pass) {
            row_prefetch_create(&pf, src);
            src = row_prefetch_source(pf);
        }
        assert_int_equal(synth_source_create(&s, &p, 9), 0);
        TraceRow want, got;
        int64_t rows = 0;
        while (synth_source_next(s, &want) == 1) {
            assert_int_equal(src.next(src.ctx, &got), 1);
            assert_true(got.arrival_s == want.arrival_s);
            assert_int_equal(got.input_tokens, want.input_tokens);
            assert_int_equal(got.output_tokens, want.output_tokens);
            assert_string_equal(got.session, want.session);
            assert_string_equal(got.model, want.model);
            assert_int_equal(got.hash_block_tokens, 512);
            assert_int_equal(got.n_hash_ids, want.n_hash_ids);
            assert_memory_equal(got.hash_ids, want.hash_ids, (size_t)want.n_hash_ids * sizeof(uint64_t));
            rows++;
        }
        assert_int_equal(src.next(src.ctx, &got), 0);
        assert_int_equal(rows, 3000);
        synth_source_destroy(&s);
        row_prefetch_destroy(&pf);
        trace_reader_destroy(&r);
    }
    remove(path);
    synth_params_clear(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mooncake_fixture),
        cmocka_unit_test(test_bad_hash_ids),
        cmocka_unit_test(test_sessions_cumulative),
        cmocka_unit_test(test_multi_turn_workload),
        cmocka_unit_test(test_gen_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
