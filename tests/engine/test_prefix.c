/* test_prefix.c: prefix caching (sim/kv_prefix.h), by hand: shared
 * blocks, LRU eviction of a released sequence's tail first, a preempted
 * request's blocks hit when it returns, no hit on blocks still being
 * computed, and the engine's prefill tokens and cost with caching on. */
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
#include "kv.h"
#include "kv_prefix.h"

/* A request whose 16-token blocks have the given prefix hashes (one hash per block). */
static Request req(int32_t prompt, uint64_t *hashes, int32_t n)
{
    Request r;
    memset(&r, 0, sizeof(r));
    r.input_tokens = prompt;
    r.hash_ids = hashes;
    r.n_hash_ids = n;
    r.hash_block_tokens = 16;
    return r;
}

static void kv6(KvCache *kv)
{
    assert_int_equal(kv_init(kv, 6 * 16, 16, 0.0, 0), 0);
    kv_count_only(kv);
    kv_enable_prefix(kv);
}

/* A computes 4 blocks and leaves; B (other keys) needs 4 of the 6: the two
 * free blocks without content, then the least recently released cached ones
 * (A's tail: blocks 3 then 2).  C with A's prompt finds blocks 0 and 1. */
static void test_lru_eviction(void **state)
{
    (void)state;
    KvCache kv;
    kv6(&kv);
    uint64_t ha[4] = { 1, 2, 3, 4 }, hb[4] = { 9, 10, 11, 12 };
    Request a = req(64, ha, 4), b = req(64, hb, 4), c = req(64, ha, 4);
    KvSeq sa = { 0 }, sb = { 0 }, sc = { 0 };
    assert_int_equal(kv_prefix_match(&kv, &a, 3), 0);
    assert_int_equal(kv_seq_grow_to(&kv, &sa, 64, false), 0);
    kv_prefix_register(&kv, &sa, &a, 64);
    assert_int_equal(kv.prefix->n_entries, 4);
    kv_seq_release(&kv, &sa);
    assert_int_equal(kv.n_free, 6);
    assert_int_equal(kv.prefix->n_cached_free, 4);
    assert_int_equal(kv_seq_grow_to(&kv, &sb, 64, false), 0);
    assert_int_equal(kv.prefix->st.evictions, 2);
    kv_prefix_register(&kv, &sb, &b, 64);
    assert_int_equal(kv_prefix_match(&kv, &c, 3), 2);   /* blocks 0, 1 survived */
    assert_int_equal(kv_prefix_free_among(&kv, &c, 2), 2);
    kv_prefix_attach(&kv, &sc, &c, 2);
    assert_int_equal(kv.n_free, 0);
    assert_int_equal(sc.n_blocks, 2);
    kv_seq_release(&kv, &sb);
    kv_seq_release(&kv, &sc);
    assert_int_equal(kv.n_free, 6);
    kv_seq_destroy(&sa);
    kv_seq_destroy(&sb);
    kv_seq_destroy(&sc);
    kv_free(&kv);
}

/* Two sequences share three blocks: held once (the free count drops by the
 * private blocks only), released by both before they are cached; a
 * preempted sequence's blocks are hits when it comes back. */
static void test_shared_and_preempted(void **state)
{
    (void)state;
    KvCache kv;
    kv6(&kv);
    uint64_t ha[4] = { 1, 2, 3, 4 }, hb[4] = { 1, 2, 3, 7 };
    Request a = req(64, ha, 4), b = req(64, hb, 4);
    KvSeq sa = { 0 }, sb = { 0 };
    assert_int_equal(kv_seq_grow_to(&kv, &sa, 64, false), 0);
    kv_prefix_register(&kv, &sa, &a, 64);
    assert_int_equal(kv_prefix_match(&kv, &b, 3), 3);
    assert_int_equal(kv_prefix_free_among(&kv, &b, 3), 0); /* held by A: no free block needed */
    kv_prefix_attach(&kv, &sb, &b, 3);
    assert_int_equal(kv.n_free, 2);
    assert_int_equal(kv_seq_grow_to(&kv, &sb, 64, false), 0); /* its 4th block is its own */
    assert_int_equal(kv.n_free, 1);
    kv_prefix_register(&kv, &sb, &b, 64);
    assert_int_equal(kv.prefix->n_entries, 5);
    kv_seq_release(&kv, &sa);                 /* A preempted: its blocks stay cached or shared */
    assert_int_equal(kv.n_free, 2);           /* block 3 of A is free (cached); 0..2 still B's */
    assert_int_equal(kv_prefix_match(&kv, &a, 3), 3);
    assert_int_equal(kv_prefix_match(&kv, &a, 4), 4);
    kv_seq_release(&kv, &sb);
    assert_int_equal(kv.n_free, 6);
    assert_int_equal(kv.prefix->n_cached_free, 5);
    kv_seq_destroy(&sa);
    kv_seq_destroy(&sb);
    kv_free(&kv);
}

static EngineConfig vllm_config(bool caching)
{
    EngineConfig c;
    engine_config_default(&c);
    snprintf(c.sched_spec, sizeof(c.sched_spec), "vllm:prefix_caching=%s", caching ? "true" : "false");
    snprintf(c.cost_spec, sizeof(c.cost_spec), "roofline");
    c.sample_interval_s = 0;
    return c;
}

/* Engine: r0 and its twin r1 (64 tokens, the same 4 hashed blocks) arrive
 * at t=0 and are admitted in the same step, before r0's blocks are
 * computed: r1 gets no hit.  r2, at t=5, shares 3 blocks with them: 48
 * prompt tokens cached, 16 computed. */
static void test_engine_hits(void **state)
{
    (void)state;
    uint64_t h0[4] = { 1, 2, 3, 4 }, h1[4] = { 1, 2, 3, 8 }, h2[4] = { 1, 2, 3, 4 };
    TraceRow rows[3] = { test_row(0.0, 64, 2), test_row(0.0, 64, 2), test_row(5.0, 64, 2) };
    rows[0].hash_ids = h0, rows[0].n_hash_ids = 4, rows[0].hash_block_tokens = 16;
    rows[1].hash_ids = h2, rows[1].n_hash_ids = 4, rows[1].hash_block_tokens = 16;
    rows[2].hash_ids = h1, rows[2].n_hash_ids = 4, rows[2].hash_block_tokens = 16;
    EngineConfig c = vllm_config(true);
    RunResult r = run_engine(&c, rows, 3);
    assert_int_equal(r.status, 0);
    /* cached_tokens: the last column of requests.csv (RunRecord.cached_tokens) */
    const char *line = strchr(r.requests_csv, '\n') + 1;
    int cached[3];
    for (int i = 0; i < 3; i++) {
        const char *end = strchr(line, '\n');
        const char *comma = end;
        while (comma[-1] != ',') comma--;
        cached[i] = atoi(comma);
        line = end + 1;
    }
    assert_int_equal(cached[0], 0);
    assert_int_equal(cached[1], 0);  /* its twin r0 was still in prefill */
    assert_int_equal(cached[2], 48); /* 3 shared blocks; the 4th differs */
    assert_true(fabs(summary_num(&r, "prefix_cache_hit_rate") - 48.0 / 192.0) < 1e-12);
    /* Off: nothing cached.  r2's prefill computes 64 tokens instead of 16
     * (over 48 cached that attention still reads): a longer first token. */
    EngineConfig o = vllm_config(false);
    RunResult x = run_engine(&o, rows, 3);
    assert_true(summary_num(&x, "prefix_cache_hit_rate") == 0.0);
    assert_true(r.rec[2].ttft < x.rec[2].ttft);
    assert_true(fabs(r.rec[0].ttft - x.rec[0].ttft) < 1e-12); /* the step r0 was in is the same */
    run_result_free(&x);
    run_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru_eviction),
        cmocka_unit_test(test_shared_and_preempted),
        cmocka_unit_test(test_engine_hits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
