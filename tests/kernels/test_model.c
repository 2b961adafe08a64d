/* tests/kernels/test_model.c: the replay model runner on the reference
 * kernels.  Decoding token by token through the paged cache must give the
 * logits a full causal prefill of the same prefix gives (paging, RoPE
 * positions, the cache writes); so must chunked prefill, and a ragged batch
 * must give each sequence what it gets alone. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "replay/model.h"

#define T_LEN 23 /* tokens: odd, several blocks */
#define BS 4
#define NB 64

static int32_t seq_tokens[T_LEN];

/* Blocks handed out backwards and interleaved: 63, 61, 59, ... */
static void block_table(int32_t *bt, int n, int which)
{
    for (int i = 0; i < n; i++)
        bt[i] = NB - 1 - 2 * i - which;
}

static double max_rel_diff(const float *a, const float *b, int n)
{
    double worst = 0, scale = 0;
    for (int i = 0; i < n; i++)
        scale = fmax(scale, fabs(b[i]));
    for (int i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a[i] - b[i]) / scale);
    return worst;
}

static int setup(void **state)
{
    for (int i = 0; i < T_LEN; i++)
        seq_tokens[i] = (int32_t)((i * 37 + 11) % 256);
    Model *m = NULL;
    ModelShape s = model_shape_tiny();
    assert_int_equal(model_create(&m, &s, 1234, NB, BS), 0);
    *state = m;
    return 0;
}

static int teardown(void **state)
{
    Model *m = *state;
    model_destroy(&m);
    assert_null(m);
    return 0;
}

/* Logits after each prefix 1..T_LEN, from a full prefill of that prefix. */
static void prefill_logits(Model *m, float *logits, int32_t *next)
{
    int v = model_shape(m)->vocab;
    int32_t bt[NB / 2];
    block_table(bt, NB / 2, 0);
    for (int t = 1; t <= T_LEN; t++) {
        ModelSeq sq = {seq_tokens, t, 0, bt, (t + BS - 1) / BS};
        assert_int_equal(model_forward_step(m, &sq, 1, &next[t - 1], logits + (size_t)(t - 1) * v),
                         0);
    }
}

static void test_decode_matches_prefill(void **state)
{
    Model *m = *state;
    int v = model_shape(m)->vocab;
    float *full = malloc(sizeof(float) * T_LEN * v), *step = malloc(sizeof(float) * T_LEN * v);
    int32_t nf[T_LEN], ns[T_LEN];
    prefill_logits(m, full, nf);
    /* token by token, other blocks: prefill of 1 token, then decode */
    int32_t bt[NB / 2];
    block_table(bt, NB / 2, 1);
    for (int t = 0; t < T_LEN; t++) {
        ModelSeq sq = {&seq_tokens[t], 1, t, bt, t / BS + 1};
        assert_int_equal(model_forward_step(m, &sq, 1, &ns[t], step + (size_t)t * v), 0);
    }
    for (int t = 0; t < T_LEN; t++) {
        assert_true(max_rel_diff(step + (size_t)t * v, full + (size_t)t * v, v) < 1e-5);
        assert_int_equal(ns[t], nf[t]);
    }
    /* the logits do change with position: this is not a trivially equal pair */
    assert_true(max_rel_diff(full, full + (size_t)(T_LEN - 1) * v, v) > 1e-3);
    free(full), free(step);
}

static void test_chunked_prefill_matches(void **state)
{
    Model *m = *state;
    int v = model_shape(m)->vocab;
    float *full = malloc(sizeof(float) * T_LEN * v), lg[256];
    int32_t nf[T_LEN], nt;
    prefill_logits(m, full, nf);
    static const int chunks[] = {5, 7, 1, 10}; /* sums to T_LEN */
    int32_t bt[NB / 2];
    block_table(bt, NB / 2, 1);
    int pos = 0;
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        ModelSeq sq = {&seq_tokens[pos], chunks[i], pos, bt, (pos + chunks[i] + BS - 1) / BS};
        assert_int_equal(model_forward_step(m, &sq, 1, &nt, lg), 0);
        pos += chunks[i];
        assert_true(max_rel_diff(lg, full + (size_t)(pos - 1) * v, v) < 1e-5);
        assert_int_equal(nt, nf[pos - 1]);
    }
    assert_int_equal(pos, T_LEN);
    free(full);
}

/* One step with a prefill chunk of sequence A beside decodes of B and C
 * gives each what it gets alone. */
static void test_ragged_batch(void **state)
{
    Model *m = *state;
    int v = model_shape(m)->vocab;
    float *full = malloc(sizeof(float) * T_LEN * v), lg[3 * 256];
    int32_t nf[T_LEN], next[3];
    prefill_logits(m, full, nf);
    /* B and C hold the first 10 and 17 tokens of the same text in their own blocks */
    int32_t bta[8] = {0, 2, 4, 6, 8, 10}, btb[8] = {1, 3, 5, 7, 9}, btc[8] = {11, 13, 15, 17, 19};
    ModelSeq b0 = {seq_tokens, 9, 0, btb, 3}, c0 = {seq_tokens, 16, 0, btc, 4};
    assert_int_equal(model_forward_step(m, &b0, 1, next, NULL), 0);
    assert_int_equal(model_forward_step(m, &c0, 1, next, NULL), 0);
    ModelSeq batch[3] = {
        {seq_tokens, 21, 0, bta, 6},      /* A: prefill 21 tokens */
        {&seq_tokens[9], 1, 9, btb, 3},   /* B: decode its 10th token */
        {&seq_tokens[16], 1, 16, btc, 5}, /* C: decode its 17th token */
    };
    assert_int_equal(model_forward_step(m, batch, 3, next, lg), 0);
    static const int want_t[3] = {21, 10, 17};
    for (int i = 0; i < 3; i++) {
        assert_true(max_rel_diff(lg + (size_t)i * v, full + (size_t)(want_t[i] - 1) * v, v) <
                    1e-5);
        assert_int_equal(next[i], nf[want_t[i] - 1]);
    }
    /* a pure decode step of B and C (the decode kernel path) */
    ModelSeq dec[2] = {{&seq_tokens[10], 1, 10, btb, 3}, {&seq_tokens[17], 1, 17, btc, 5}};
    assert_int_equal(model_forward_step(m, dec, 2, next, lg), 0);
    assert_true(max_rel_diff(lg, full + (size_t)10 * v, v) < 1e-5);
    assert_true(max_rel_diff(lg + v, full + (size_t)17 * v, v) < 1e-5);
    free(full);
}

static void test_seed_and_errors(void **state)
{
    Model *m = *state, *m2 = NULL, *m3 = NULL;
    ModelShape s = model_shape_tiny();
    assert_int_equal(model_create(&m2, &s, 1234, 8, BS), 0);
    assert_int_equal(model_create(&m3, &s, 99, 8, BS), 0);
    int32_t bt[2] = {0, 1}, bt_m[2] = {5, 9}, n1, n2, n3;
    float l1[256], l2[256], l3[256];
    ModelSeq sq = {seq_tokens, 6, 0, bt, 2}, sm = {seq_tokens, 6, 0, bt_m, 2};
    assert_int_equal(model_forward_step(m, &sm, 1, &n1, l1), 0);
    assert_int_equal(model_forward_step(m2, &sq, 1, &n2, l2), 0);
    assert_int_equal(model_forward_step(m3, &sq, 1, &n3, l3), 0);
    assert_memory_equal(l1, l2, sizeof l1); /* same seed: the same model */
    assert_true(max_rel_diff(l1, l3, 256) > 1e-3);
    /* errors: too few blocks, a block out of range, a bad token */
    ModelSeq bad = {seq_tokens, 9, 0, bt, 2};
    assert_int_equal(model_forward_step(m2, &bad, 1, &n2, NULL), -EINVAL);
    int32_t bt_bad[2] = {0, 8};
    bad = (ModelSeq){seq_tokens, 6, 0, bt_bad, 2};
    assert_int_equal(model_forward_step(m2, &bad, 1, &n2, NULL), -EINVAL);
    int32_t tok = 256;
    bad = (ModelSeq){&tok, 1, 0, bt, 1};
    assert_int_equal(model_forward_step(m2, &bad, 1, &n2, NULL), -EINVAL);
    Model *m4 = NULL;
    s.kv_heads = 3; /* 4 heads do not split into 3 groups */
    assert_int_equal(model_create(&m4, &s, 1, 8, BS), -EINVAL);
    assert_null(m4);
    model_destroy(&m2);
    model_destroy(&m3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_matches_prefill),
        cmocka_unit_test(test_chunked_prefill_matches),
        cmocka_unit_test(test_ragged_batch),
        cmocka_unit_test(test_seed_and_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
