/* Riders (sim/engine/ride.c, sim/sched/continuous_ride.c): the lazy token
 * ledger against step-by-step crediting, the aggregate block count against
 * a per-rider sum, and deferred KV blocks against the id stack.  End to end,
 * test_continuous holds runs with riders to runs without (stepwise). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/ride.h"
#include "kv.h"
#include "sched/continuous.h"

static Request rider(int64_t id, int32_t generated, int32_t output, int32_t prefilled)
{
    return (Request){ .id = id, .state = REQ_RUNNING, .generated_tokens = generated,
                      .output_tokens = output, .prefilled_tokens = prefilled, .itl_max_s = 0.0 };
}

/* Two riders, spans of 2, 1, 1 iterations: tokens, finish times and each
 * one's largest gap counted only from when it joined. */
static void test_ledger_credits(void **state)
{
    (void)state;
    RideLedger l = { 0 };
    Request a = rider(0, 1, 6, 10), b = rider(1, 1, 3, 20), c = rider(2, 1, 9, 30);
    ride_join(&l, &a);
    ride_join(&l, &b);
    assert_int_equal(ride_min_remaining(&l), 2);
    assert_int_equal(ride_context(&l), (10 + 1) + (20 + 1));
    ride_advance(&l, 2, 0.2, 0.3);  /* b emits its 2 last tokens */
    assert_int_equal(l.n_finished, 1);
    assert_ptr_equal(l.finished[0], &b);
    assert_int_equal(b.state, REQ_DONE);
    assert_int_equal(b.generated_tokens, 3);
    assert_int_equal(b.prefilled_tokens, 22);
    assert_float_equal(b.finish_s, 0.2, 0);
    assert_float_equal(b.itl_max_s, 0.3, 0);
    assert_false(b.riding);
    ride_join(&l, &c);              /* joins after the 0.3 s gap */
    ride_advance(&l, 1, 0.35, 0.15);
    ride_advance(&l, 1, 0.40, 0.05);
    assert_int_equal(l.n_finished, 0);
    assert_int_equal(ride_min_remaining(&l), 1); /* a: 5 of 6 */
    ride_leave(&l, &c);             /* the scheduler takes c back */
    assert_int_equal(c.generated_tokens, 3);
    assert_int_equal(c.prefilled_tokens, 32);
    assert_float_equal(c.last_token_s, 0.40, 0);
    assert_float_equal(c.itl_max_s, 0.15, 0);
    ride_advance(&l, 1, 0.5, 0.1);
    assert_int_equal(l.n_finished, 1);
    assert_int_equal(a.generated_tokens, 6);
    assert_float_equal(a.itl_max_s, 0.3, 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(l.sum_offset, 0);
    ride_free(&l);
}

/* 20,000 spans of falling gaps (the stack only grows) with riders joining
 * and leaving: every rider's largest gap is the brute-force maximum, and
 * pruning keeps the stack near the oldest rider's lifetime. */
static void test_ledger_gap_stack(void **state)
{
    (void)state;
    RideLedger l = { 0 };
    enum { N = 8, SPANS = 20000 };
    Request r[N];
    double seen[N];
    uint64_t x = 12345;
    for (int i = 0; i < N; i++) {
        r[i] = rider(i, 1, 1 << 30, 100);
        seen[i] = 0;
        ride_join(&l, &r[i]);
    }
    for (int s = 0; s < SPANS; s++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        double gap = 1.0 / (double)(s + 1) + (double)(x >> 40) * 1e-12;
        ride_advance(&l, 1, (double)s, gap);
        for (int i = 0; i < N; i++) seen[i] = seen[i] > gap ? seen[i] : gap;
        int who = (int)((x >> 20) % (N * 64)); /* now and then one leaves and comes back */
        if (who < N) {
            ride_leave(&l, &r[who]);
            assert_float_equal(r[who].itl_max_s, seen[who], 0);
            r[who].itl_max_s = 0;
            seen[who] = 0;
            ride_join(&l, &r[who]);
        }
    }
    assert_true(l.n_gaps <= 2 * 4096 + SPANS / 2);
    for (int i = 0; i < N; i++) {
        ride_leave(&l, &r[i]);
        assert_float_equal(r[i].itl_max_s, seen[i], 0);
    }
    ride_free(&l);
}

static int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

/* The O(1) count of riders' blocks equals the sum of ceil(tokens / bs), for
 * a power-of-two block size and another one, offsets of either sign. */
static void test_rider_block_count(void **state)
{
    (void)state;
    const int32_t sizes[] = { 16, 1, 7, 64 };
    uint64_t x = 99;
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        Cont c = { 0 };
        assert_int_equal(kv_init(&c.kv, 1 << 20, sizes[k], 0.0, 0), 0);
        cont_ride_init(&c, true);
        assert_true(c.ride);
        int64_t offsets[300];
        int n = 0;
        for (int step = 0; step < 3000; step++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            if (n < 300 && (n == 0 || (x >> 33) % 3)) {
                offsets[n] = (int64_t)((x >> 24) % 5000) - 2500;
                cont_ride_count(&c, offsets[n++], +1);
            } else {
                int i = (int)((x >> 13) % (uint64_t)n);
                cont_ride_count(&c, offsets[i], -1);
                offsets[i] = offsets[--n];
            }
            int64_t clock = 2500 + (int64_t)((x >> 40) % 3000), want = 0;
            for (int i = 0; i < n; i++) want += ceil_div(offsets[i] + clock, sizes[k]);
            assert_int_equal(cont_ride_blocks_at(&c, clock), want);
        }
        cont_ride_free(&c);
        kv_free(&c.kv);
    }
}

/* Deferred blocks are held without ids; materialising hands out ids no one
 * holds, and giving everything back leaves a full, duplicate-free stack. */
static void test_deferred_blocks(void **state)
{
    (void)state;
    KvCache kv;
    assert_int_equal(kv_init(&kv, 16 * 10, 16, 0.0, 0), 0);
    KvSeq a = { 0 }, b = { 0 };
    assert_int_equal(kv_seq_grow_to(&kv, &a, 32, false), 0);  /* 2 blocks */
    assert_int_equal(kv_defer(&kv, 3, false), 0);              /* a rides 3 blocks further */
    assert_int_equal(kv_held(&kv), 5);
    assert_int_equal(kv.peak_held, 5);
    assert_int_equal(kv_reserve(&kv, 4), 0);
    assert_int_equal(kv_defer(&kv, 5, true), -ENOSPC);
    assert_int_equal(kv_defer(&kv, 2, true), 0);               /* out of the reservation */
    kv_unreserve(&kv, kv.n_reserved);
    assert_int_equal(kv_held(&kv), 7);
    assert_int_equal(kv.n_free, 3);
    assert_int_equal(kv_seq_grow_to(&kv, &b, 48, false), 0);   /* 3 ids beside the deferred */
    kv_seq_materialize(&kv, &a, 16 * 7);                       /* a's 5 deferred get ids */
    assert_int_equal(a.n_blocks, 7);
    assert_int_equal(kv.n_deferred, 0);
    int held[10] = { 0 };
    for (int i = 0; i < a.n_blocks; i++) held[kv_seq_block(&a, i)]++;
    for (int i = 0; i < b.n_blocks; i++) held[kv_seq_block(&b, i)]++;
    for (int i = 0; i < 10; i++) assert_int_equal(held[i], 1);
    kv_seq_release(&kv, &a);
    kv_seq_release(&kv, &b);
    assert_int_equal(kv.n_free, 10);
    KvSeq all = { 0 };
    assert_int_equal(kv_seq_grow_to(&kv, &all, 160, false), 0);
    int again[10] = { 0 };
    for (int i = 0; i < 10; i++) again[kv_seq_block(&all, i)]++;
    for (int i = 0; i < 10; i++) assert_int_equal(again[i], 1);
    kv_seq_release(&kv, &all);
    kv_seq_destroy(&a);
    kv_seq_destroy(&b);
    kv_seq_destroy(&all);
    kv_free(&kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger_credits),
        cmocka_unit_test(test_ledger_gap_stack),
        cmocka_unit_test(test_rider_block_count),
        cmocka_unit_test(test_deferred_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
