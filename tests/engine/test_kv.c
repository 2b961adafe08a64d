/* The paged KV allocator: block arithmetic, ids, all-or-nothing growth,
 * reservation, swap, and a seeded random walk against a naive model (no id
 * held twice, counts conserved, ids stable while held). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "kv.h"

static void test_blocks_and_ids(void **state)
{
    (void)state;
    KvCache kv;
    assert_int_equal(kv_init(&kv, 100, 16, 0.0, 0), 0); /* 6 blocks, 4 tokens lost */
    assert_int_equal(kv.n_blocks, 6);
    assert_int_equal(kv_blocks_for(&kv, 0), 0);
    assert_int_equal(kv_blocks_for(&kv, 16), 1);
    assert_int_equal(kv_blocks_for(&kv, 17), 2);
    KvSeq a = { 0 }, b = { 0 };
    assert_int_equal(kv_seq_grow_to(&kv, &a, 33, false), 0);
    assert_int_equal(a.n_blocks, 3);
    for (int i = 0; i < 3; i++) assert_int_equal(kv_seq_block(&a, i), i);
    assert_int_equal(kv_seq_block(&a, 3), -1);
    assert_int_equal(kv_seq_grow_to(&kv, &a, 40, false), 0); /* same block count */
    assert_int_equal(a.n_blocks, 3);
    /* All or nothing: 4 blocks asked, 3 free. */
    assert_int_equal(kv_seq_grow_to(&kv, &b, 64, false), -ENOSPC);
    assert_int_equal(b.n_blocks, 0);
    assert_int_equal(kv.n_free, 3);
    assert_int_equal(kv_seq_grow_to(&kv, &b, 48, false), 0);
    assert_int_equal(kv_seq_block(&b, 0), 3);
    assert_int_equal(kv_held(&kv), 6);
    assert_int_equal(kv.peak_held, 6);
    /* Freed in reverse: the next sequence gets a's ids in a's order. */
    kv_seq_release(&kv, &a);
    KvSeq c = { 0 };
    assert_int_equal(kv_seq_grow_to(&kv, &c, 48, false), 0);
    for (int i = 0; i < 3; i++) assert_int_equal(kv_seq_block(&c, i), i);
    kv_seq_release(&kv, &b);
    kv_seq_release(&kv, &c);
    assert_int_equal(kv.n_free, 6);
    kv_seq_destroy(&a);
    kv_seq_destroy(&b);
    kv_seq_destroy(&c);
    kv_free(&kv);
}

static void test_watermark_and_reserve(void **state)
{
    (void)state;
    KvCache kv;
    assert_int_equal(kv_init(&kv, 1600, 16, 0.1, 0), 0); /* 100 blocks, watermark 10 */
    assert_int_equal(kv.watermark, 10);
    assert_true(kv_can_admit(&kv, 90));
    assert_false(kv_can_admit(&kv, 91));
    KvSeq a = { 0 };
    assert_int_equal(kv_seq_grow_to(&kv, &a, 16, false), 0);
    assert_int_equal(kv_reserve(&kv, 10), 0);
    assert_int_equal(kv.n_free, 89);
    assert_int_equal(kv_held(&kv), 1);
    /* Growth out of the reservation never touches the free count. */
    assert_int_equal(kv_seq_grow_to(&kv, &a, 16 * 5, true), 0);
    assert_int_equal(kv.n_reserved, 6);
    assert_int_equal(kv.n_free, 89);
    assert_int_equal(kv_seq_grow_to(&kv, &a, 16 * 12, true), -ENOSPC);
    kv_unreserve(&kv, kv.n_reserved);
    assert_int_equal(kv.n_free, 95);
    assert_int_equal(kv_reserve(&kv, 96), -ENOSPC);
    kv_seq_release(&kv, &a);
    kv_seq_destroy(&a);
    kv_free(&kv);
    assert_int_equal(kv_init(&kv, 10, 16, 0, 0), -EINVAL); /* less than a block */
    assert_int_equal(kv_init(&kv, 1600, 16, 1.0, 0), -EINVAL);
}

static void test_swap(void **state)
{
    (void)state;
    KvCache kv;
    assert_int_equal(kv_init(&kv, 64, 16, 0, 32), 0); /* 4 GPU blocks, 2 swap */
    KvSeq a = { 0 }, b = { 0 };
    assert_int_equal(kv_seq_grow_to(&kv, &a, 40, false), 0); /* 3 blocks */
    assert_int_equal(kv_seq_swap_out(&kv, &a), -ENOSPC);      /* swap holds 2 */
    kv_seq_release(&kv, &a);
    assert_int_equal(kv_seq_grow_to(&kv, &a, 20, false), 0); /* 2 blocks */
    assert_int_equal(kv_seq_swap_out(&kv, &a), 0);
    assert_int_equal(a.n_blocks, 0);
    assert_int_equal(a.swap_blocks, 2);
    assert_int_equal(kv.n_free, 4);
    assert_int_equal(kv_seq_grow_to(&kv, &b, 48, false), 0);
    assert_int_equal(kv_seq_swap_in(&kv, &a), -ENOSPC);      /* 1 free, 2 needed */
    kv_seq_release(&kv, &b);
    assert_int_equal(kv_seq_swap_in(&kv, &a), 0);
    assert_int_equal(a.n_blocks, 2);
    assert_int_equal(kv.n_swap_free, 2);
    kv_seq_release(&kv, &a);
    kv_seq_destroy(&a);
    kv_seq_destroy(&b);
    kv_free(&kv);
}

/* Seeded random walk: grow, release, reserve; check the invariants. */
static void test_random_walk(void **state)
{
    (void)state;
    enum { SEQS = 12, STEPS = 20000 };
    KvCache kv;
    assert_int_equal(kv_init(&kv, 16 * 200, 16, 0, 0), 0);
    KvSeq seq[SEQS] = { { 0 } };
    int32_t first_id[SEQS];
    uint64_t s = 12345;
    for (int step = 0; step < STEPS; step++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int i = (int)((s >> 33) % SEQS);
        int op = (int)((s >> 20) % 8);
        if (op == 0) {
            kv_seq_release(&kv, &seq[i]);
        } else {
            int32_t before = seq[i].n_blocks;
            int64_t tokens = (int64_t)before * 16 + (int64_t)((s >> 40) % 40);
            int r = kv_seq_grow_to(&kv, &seq[i], tokens, false);
            if (r == 0 && before > 0) assert_int_equal(seq[i].ids[0], first_id[i]); /* stable */
            if (r == 0 && before == 0 && seq[i].n_blocks) first_id[i] = seq[i].ids[0];
            if (r) assert_int_equal(seq[i].n_blocks, before);
        }
        static unsigned char seen[200];
        int32_t held = 0;
        for (int k = 0; k < 200; k++) seen[k] = 0;
        for (int k = 0; k < SEQS; k++)
            for (int32_t b = 0; b < seq[k].n_blocks; b++) {
                int32_t id = seq[k].ids[b];
                assert_true(id >= 0 && id < 200);
                assert_int_equal(seen[id], 0);
                seen[id] = 1;
                held++;
            }
        assert_int_equal(held, kv_held(&kv));
        assert_int_equal(held + kv.n_free + kv.n_reserved, kv.n_blocks);
    }
    for (int k = 0; k < SEQS; k++) {
        kv_seq_release(&kv, &seq[k]);
        kv_seq_destroy(&seq[k]);
    }
    assert_int_equal(kv.n_free, 200);
    kv_free(&kv);
}

/* Counts only (a scheduler's cache): the same walk of grows, releases,
 * reservations, deferrals and swaps gives the same counts, results and peak
 * as a cache with ids, and no table gets an id. */
static void test_counts_only_mirror_ids(void **state)
{
    (void)state;
    enum { SEQS = 10, STEPS = 20000 };
    KvCache with, counts;
    assert_int_equal(kv_init(&with, 16 * 150, 16, 0.05, 16 * 40), 0);
    assert_int_equal(kv_init(&counts, 16 * 150, 16, 0.05, 16 * 40), 0);
    kv_count_only(&counts);
    KvSeq a[SEQS] = { { 0 } }, b[SEQS] = { { 0 } };
    uint64_t s = 777;
    for (int step = 0; step < STEPS; step++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int i = (int)((s >> 33) % SEQS), op = (int)((s >> 20) % 10);
        int64_t tokens = (int64_t)a[i].n_blocks * 16 + (int64_t)((s >> 40) % 40);
        int ra = 0, rb = 0;
        if (op == 0) {
            kv_seq_release(&with, &a[i]);
            kv_seq_release(&counts, &b[i]);
        } else if (op == 1 && a[i].n_blocks) {
            ra = kv_seq_swap_out(&with, &a[i]);
            rb = kv_seq_swap_out(&counts, &b[i]);
        } else if (op == 2 && a[i].swap_blocks) {
            ra = kv_seq_swap_in(&with, &a[i]);
            rb = kv_seq_swap_in(&counts, &b[i]);
        } else if (op == 3) {
            int32_t n = (int32_t)((s >> 44) % 6);
            ra = kv_reserve(&with, n);
            rb = kv_reserve(&counts, n);
            if (!ra && a[i].swap_blocks == 0) { /* a rider's growth, out of the reservation */
                assert_int_equal(kv_defer(&with, n, true), kv_defer(&counts, n, true));
                kv_seq_materialize(&with, &a[i], (int64_t)(a[i].n_blocks + n) * 16);
                kv_seq_materialize(&counts, &b[i], (int64_t)(b[i].n_blocks + n) * 16);
            } else {
                kv_unreserve(&with, with.n_reserved);
                kv_unreserve(&counts, counts.n_reserved);
            }
        } else if (a[i].swap_blocks == 0) {
            ra = kv_seq_grow_to(&with, &a[i], tokens, false);
            rb = kv_seq_grow_to(&counts, &b[i], tokens, false);
        }
        assert_int_equal(ra, rb);
        assert_int_equal(a[i].n_blocks, b[i].n_blocks);
        assert_int_equal(b[i].cap, 0);
        assert_int_equal(kv_seq_block(&b[i], 0), -1);
        assert_int_equal(with.n_free, counts.n_free);
        assert_int_equal(with.n_swap_free, counts.n_swap_free);
        assert_int_equal(kv_held(&with), kv_held(&counts));
        assert_int_equal(with.peak_held, counts.peak_held);
    }
    for (int k = 0; k < SEQS; k++) {
        kv_seq_release(&with, &a[k]);
        kv_seq_release(&counts, &b[k]);
        kv_seq_destroy(&a[k]);
        kv_seq_destroy(&b[k]);
    }
    assert_int_equal(counts.n_free, counts.n_blocks);
    kv_free(&with);
    kv_free(&counts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_and_ids),
        cmocka_unit_test(test_watermark_and_reserve),
        cmocka_unit_test(test_swap),
        cmocka_unit_test(test_random_walk),
        cmocka_unit_test(test_counts_only_mirror_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
