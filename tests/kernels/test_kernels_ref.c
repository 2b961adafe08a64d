/* tests/kernels/test_kernels_ref.c: the reference kernels alone, against
 * hand-computed values and naive re-implementations (cmocka, suite unit). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "check_attn.h"
#include "kernels.h"

#define NEAR(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))

static void test_bf16_round_trip(void **state)
{
    (void)state;
    assert_int_equal(kern_bf16_from_float(1.0f).bits, 0x3f80);
    assert_int_equal(kern_bf16_from_float(-2.0f).bits, 0xc000);
    /* 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0) */
    assert_int_equal(kern_bf16_from_float(1.0f + 1.0f / 256).bits, 0x3f80);
    assert_int_equal(kern_bf16_from_float(1.0f + 3.0f / 256).bits, 0x3f82);
    assert_true(isnan(kern_bf16_to_float(kern_bf16_from_float(NAN))));
    assert_true(isinf(kern_bf16_to_float(kern_bf16_from_float(INFINITY))));
    NEAR(kern_bf16_to_float(kern_bf16_from_float(3.14159f)), 3.140625, 0);
}

/* The weight stream is shared with the device (kern_cuda_fill_uniform): its
 * values must never change silently, or CPU and GPU models part ways. */
static void test_rand_uniform_golden(void **state)
{
    (void)state;
    assert_true(kern_rand_uniform(1, 0, -1, 1) == 0.13312304f);
    assert_true(kern_rand_uniform(1, 1, -1, 1) == 0.491563439f);
    assert_true(kern_rand_uniform(42, 1000000, 0.9f, 1.1f) == 1.03775561f);
    for (uint64_t i = 0; i < 10000; i++) {
        float u = kern_rand_uniform(7, i, -0.5f, 0.5f);
        assert_true(u >= -0.5f && u < 0.5f);
    }
}

static void test_embed(void **state)
{
    (void)state;
    float table[3 * 2] = {0, 1, 10, 11, 20, 21}, out[4 * 2];
    int32_t tok[4] = {2, 0, 2, 1};
    kern_ref_embed(out, table, tok, 4, 2);
    float want[8] = {20, 21, 0, 1, 20, 21, 10, 11};
    for (int i = 0; i < 8; i++)
        NEAR(out[i], want[i], 0);
}

static void test_rmsnorm_hand(void **state)
{
    (void)state;
    /* mean square of 1,2,3,4 is 7.5 */
    float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 1, 2}, out[4];
    kern_ref_rmsnorm(out, x, w, 1, 4, 0.f);
    double r = 1.0 / sqrt(7.5);
    NEAR(out[0], r, 1e-6);
    NEAR(out[1], 2 * r, 1e-6);
    NEAR(out[2], 3 * r, 1e-6);
    NEAR(out[3], 8 * r, 1e-6);
    kern_ref_rmsnorm(x, x, w, 1, 4, 0.f); /* in place */
    NEAR(x[3], 8 * r, 1e-6);
}

static void test_rope_hand(void **state)
{
    (void)state;
    /* D=2: one pair, angle = pos */
    float q[2] = {1, 0}, k[2] = {0, 2};
    int32_t pos = 1;
    kern_ref_rope(q, k, &pos, 1, 1, 1, 2, 10000.f);
    NEAR(q[0], cos(1.0), 1e-6);
    NEAR(q[1], sin(1.0), 1e-6);
    NEAR(k[0], -2 * sin(1.0), 1e-6);
    NEAR(k[1], 2 * cos(1.0), 1e-6);
    /* D=4, theta=100: pairs (0,2) at angle 2*1 and (1,3) at angle 2*0.1 */
    float v[4] = {1, 1, 0, 0}, kk[4] = {0};
    pos = 2;
    kern_ref_rope(v, kk, &pos, 1, 1, 1, 4, 100.f);
    NEAR(v[0], cos(2.0), 1e-6);
    NEAR(v[2], sin(2.0), 1e-6);
    NEAR(v[1], cos(0.2), 1e-6);
    NEAR(v[3], sin(0.2), 1e-6);
    /* position 0 is the identity */
    float u[4] = {0.5f, -1, 2, 3};
    pos = 0;
    kern_ref_rope(u, kk, &pos, 1, 1, 1, 4, 100.f);
    NEAR(u[0], 0.5, 0), NEAR(u[1], -1, 0), NEAR(u[2], 2, 0), NEAR(u[3], 3, 0);
}

/* RoPE's point: <rope(q, m), rope(k, n)> depends only on m - n. */
static void test_rope_relative(void **state)
{
    (void)state;
    CheckRng rng = {7};
    float q0[64], k0[64];
    check_fill_uniform(&rng, q0, 64, -1, 1);
    check_fill_uniform(&rng, k0, 64, -1, 1);
    double dots[2];
    int32_t pm[2] = {5, 1005}, pn[2] = {2, 1002};
    for (int i = 0; i < 2; i++) {
        float q[64], k[64], dummy[64];
        memcpy(q, q0, sizeof q);
        memcpy(k, k0, sizeof k);
        kern_ref_rope(q, dummy, &pm[i], 1, 1, 0, 64, 10000.f);
        kern_ref_rope(k, dummy, &pn[i], 1, 1, 0, 64, 10000.f);
        dots[i] = 0;
        for (int j = 0; j < 64; j++)
            dots[i] += (double)q[j] * k[j];
    }
    NEAR(dots[0], dots[1], 1e-4);
}

static void test_kv_store(void **state)
{
    (void)state;
    /* 2 blocks of 2 tokens, KVH=1, D=2 */
    float kc[8], vc[8], k[6] = {1, 2, 3, 4, 5, 6}, v[6] = {-1, -2, -3, -4, -5, -6};
    for (int i = 0; i < 8; i++)
        kc[i] = vc[i] = 99;
    int32_t slots[3] = {3, -1, 0};
    kern_ref_kv_store(kc, vc, k, v, slots, 3, 1, 2);
    float wk[8] = {5, 6, 99, 99, 99, 99, 1, 2}, wv[8] = {-5, -6, 99, 99, 99, 99, -1, -2};
    for (int i = 0; i < 8; i++) {
        NEAR(kc[i], wk[i], 0);
        NEAR(vc[i], wv[i], 0);
    }
}

static void test_swiglu_hand(void **state)
{
    (void)state;
    float gu[2 * 3] = {0, 1, -20, 5, 2, 3}, out[3];
    kern_ref_swiglu(out, gu, 1, 3);
    NEAR(out[0], 0, 0);
    NEAR(out[1], 2.0 / (1.0 + exp(-1.0)), 1e-6);
    NEAR(out[2], 3 * -20.0 / (1.0 + exp(20.0)), 1e-9);
}

static void test_linear_hand(void **state)
{
    (void)state;
    float x[2 * 3] = {1, 2, 3, 4, 5, 6}, w[2 * 3] = {1, 0, -1, 0.5f, 0.5f, 0.5f}, out[4];
    kern_ref_linear(out, x, w, 2, 3, 2, 0);
    NEAR(out[0], -2, 0), NEAR(out[1], 3, 0), NEAR(out[2], -2, 0), NEAR(out[3], 7.5, 0);
    kern_ref_linear(out, x, w, 2, 3, 2, 1); /* accumulate: twice the result */
    NEAR(out[0], -4, 0), NEAR(out[3], 15, 0);
}

static void test_argmax_rules(void **state)
{
    (void)state;
    float lg[4 * 4] = {1, 3, 3, 2,                            /* tie: lowest index */
                       NAN, -1, 4, NAN,                       /* NaN never wins */
                       -INFINITY, -INFINITY, -INFINITY, -INFINITY, /* nothing: 0 */
                       -INFINITY, -5, -INFINITY, -6};
    int32_t tok[4];
    kern_ref_argmax(tok, lg, 4, 4);
    assert_int_equal(tok[0], 1);
    assert_int_equal(tok[1], 2);
    assert_int_equal(tok[2], 0);
    assert_int_equal(tok[3], 1);
}

/* Two keys by hand: q=(1,0), k0=(1,0), k1=(0,1), scale 1: weights e/(e+1), 1/(e+1). */
static void test_attention_hand(void **state)
{
    (void)state;
    float kc[2 * 2] = {1, 0, 0, 1}, vc[2 * 2] = {10, 0, 0, 10}, q[2] = {1, 0}, out[2];
    int32_t q_start[2] = {0, 1}, ctx = 2, bt[1] = {0};
    KernAttnBatch b = {.n_seqs = 1, .q_start = q_start, .ctx_lens = &ctx, .block_tables = bt,
                       .max_blocks = 1, .block_size = 2, .heads = 1, .kv_heads = 1,
                       .head_dim = 2, .scale = 1.f, .max_q_len = 1, .max_ctx_len = 2};
    double e = exp(1.0);
    kern_ref_attn_decode(out, q, kc, vc, &b);
    NEAR(out[0], 10 * e / (e + 1), 1e-5);
    NEAR(out[1], 10 / (e + 1), 1e-5);
    kern_ref_attn_prefill(out, q, kc, vc, &b); /* the same query as a chunk of 1 */
    NEAR(out[0], 10 * e / (e + 1), 1e-5);
    /* causal: as the first of a 2-token chunk the query sees key 0 only */
    float q2[4] = {1, 0, 1, 0}, out2[4];
    int32_t q_start2[2] = {0, 2};
    b.q_start = q_start2, b.max_q_len = 2;
    kern_ref_attn_prefill(out2, q2, kc, vc, &b);
    NEAR(out2[0], 10, 1e-6), NEAR(out2[1], 0, 1e-6);
    NEAR(out2[2], 10 * e / (e + 1), 1e-5);
}

/* A naive attention over contiguous K/V (T, KVH, D) for one sequence. */
static void naive_attn(float *out, const float *q, const float *k, const float *v, int q_len,
                       int ctx, int h, int kvh, int d)
{
    double sc[4096];
    for (int i = 0; i < q_len; i++)
        for (int hh = 0; hh < h; hh++) {
            int g = hh * kvh / h, last = ctx - q_len + i;
            const float *qi = q + ((size_t)i * h + hh) * d;
            double mx = -INFINITY, sum = 0;
            for (int p = 0; p <= last; p++) {
                double dot = 0;
                for (int j = 0; j < d; j++)
                    dot += (double)qi[j] * k[((size_t)p * kvh + g) * d + j];
                sc[p] = dot / sqrt((double)d);
                mx = fmax(mx, sc[p]);
            }
            for (int p = 0; p <= last; p++)
                sum += sc[p] = exp(sc[p] - mx);
            for (int j = 0; j < d; j++) {
                double acc = 0;
                for (int p = 0; p <= last; p++)
                    acc += sc[p] * v[((size_t)p * kvh + g) * d + j];
                out[((size_t)i * h + hh) * d + j] = (float)(acc / sum);
            }
        }
}

/* Paged prefill and decode over shuffled blocks == the naive contiguous one. */
static void test_attention_paged_vs_naive(void **state)
{
    (void)state;
    CheckRng rng = {42};
    AttnCase c = {3, {9, 1, 20}, {9, 30, 45}, 6, 2, 8, 4};
    AttnHost a;
    attn_host_build(&a, &c, &rng, 1);
    int h = c.heads, kvh = c.kv_heads, d = c.head_dim;
    float *q = malloc(sizeof(float) * a.q_elems), *out = malloc(sizeof(float) * a.q_elems);
    check_fill_uniform(&rng, q, a.q_elems, -2, 2);
    kern_ref_attn_prefill(out, q, a.k_cache, a.v_cache, &a.b);
    for (int s = 0; s < c.n_seqs; s++) {
        /* gather the sequence's cache into contiguous (T, KVH, D) */
        size_t row = (size_t)kvh * d;
        float *k = malloc(sizeof(float) * row * c.ctx_len[s]);
        float *v = malloc(sizeof(float) * row * c.ctx_len[s]);
        for (int p = 0; p < c.ctx_len[s]; p++) {
            int32_t blk = a.block_tables[s * a.b.max_blocks + p / c.block_size];
            size_t slot = (size_t)blk * c.block_size + p % c.block_size;
            memcpy(k + p * row, a.k_cache + slot * row, sizeof(float) * row);
            memcpy(v + p * row, a.v_cache + slot * row, sizeof(float) * row);
        }
        size_t off = (size_t)a.q_start[s] * h * d, n = (size_t)c.q_len[s] * h * d;
        float *want = malloc(sizeof(float) * n);
        naive_attn(want, q + off, k, v, c.q_len[s], c.ctx_len[s], h, kvh, d);
        for (size_t i = 0; i < n; i++)
            NEAR(out[off + i], want[i], 1e-5);
        /* decode of the sequence's newest token: the chunk's last row */
        float dq[6 * 8], dout[6 * 8];
        int32_t one_ctx = c.ctx_len[s];
        KernAttnBatch db = a.b;
        db.n_seqs = 1, db.ctx_lens = &one_ctx, db.max_q_len = 1;
        db.block_tables = a.block_tables + (size_t)s * a.b.max_blocks;
        memcpy(dq, q + off + n - (size_t)h * d, sizeof dq);
        kern_ref_attn_decode(dout, dq, a.k_cache, a.v_cache, &db);
        for (int i = 0; i < h * d; i++)
            NEAR(dout[i], want[n - (size_t)h * d + i], 1e-5);
        free(k), free(v), free(want);
    }
    free(q), free(out);
    attn_host_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bf16_round_trip),
        cmocka_unit_test(test_rand_uniform_golden),
        cmocka_unit_test(test_embed),
        cmocka_unit_test(test_rmsnorm_hand),
        cmocka_unit_test(test_rope_hand),
        cmocka_unit_test(test_rope_relative),
        cmocka_unit_test(test_kv_store),
        cmocka_unit_test(test_swiglu_hand),
        cmocka_unit_test(test_linear_hand),
        cmocka_unit_test(test_argmax_rules),
        cmocka_unit_test(test_attention_hand),
        cmocka_unit_test(test_attention_paged_vs_naive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
