/* tests/kernels/bench_ops.c: time the CUDA kernels at llama-2-7b shapes
 * (C=4096, H=KVH=32, D=128, I=11008, V=32000) and print achieved GB/s and
 * TFLOP/s with their fractions of the roofline (llm.c's dev/cuda habit).
 *
 * Bytes are the fewest a kernel must move (each input read once, each
 * output written once); FLOPs count a multiply-add as 2.  L2 is flushed
 * before every timed call; the median of the repetitions is reported. */
#include "check_ops.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_attn.h"

#define L7_C 4096
#define L7_H 32
#define L7_KVH 32
#define L7_D 128
#define L7_I 11008
#define L7_V 32000

typedef struct Bench {
    KernCuda *ctx;
    int op; /* BenchOp */
    int n, c, o;
    void *a, *b, *out, *kc, *vc, *idx;
    KernAttnBatch ab;
} Bench;

enum BenchOp { B_EMBED, B_RMSNORM, B_ROPE, B_KV, B_SWIGLU, B_LINEAR, B_LINEAR_F32, B_ARGMAX,
               B_DECODE, B_PREFILL, B_COPY };

static void bench_call(void *arg)
{
    Bench *b = arg;
    int rc = 0;
    switch (b->op) {
    case B_EMBED: rc = kern_cuda_embed(b->ctx, b->out, b->a, b->idx, b->n, b->c); break;
    case B_RMSNORM: rc = kern_cuda_rmsnorm(b->ctx, b->out, b->a, b->b, b->n, b->c, 1e-5f); break;
    case B_ROPE:
        rc = kern_cuda_rope(b->ctx, b->a, b->b, b->idx, b->n, L7_H, L7_KVH, L7_D, 10000.f);
        break;
    case B_KV:
        rc = kern_cuda_kv_store(b->ctx, b->kc, b->vc, b->a, b->b, b->idx, b->n, L7_KVH, L7_D);
        break;
    case B_SWIGLU: rc = kern_cuda_swiglu(b->ctx, b->out, b->a, b->n, b->o); break;
    case B_LINEAR: rc = kern_cuda_linear(b->ctx, b->out, b->a, b->b, b->n, b->c, b->o, 0); break;
    case B_LINEAR_F32:
        rc = kern_cuda_linear_f32(b->ctx, b->out, b->a, b->b, b->n, b->c, b->o);
        break;
    case B_ARGMAX: rc = kern_cuda_argmax(b->ctx, b->out, b->a, b->n, b->o); break;
    case B_DECODE: rc = kern_cuda_attn_decode(b->ctx, b->out, b->a, b->kc, b->vc, &b->ab); break;
    case B_PREFILL: rc = kern_cuda_attn_prefill(b->ctx, b->out, b->a, b->kc, b->vc, &b->ab); break;
    case B_COPY: kern_cuda_copy(b->ctx, b->out, b->a, (size_t)b->n << 20); break;
    }
    assert(rc == 0);
    (void)rc;
}

typedef struct Roof {
    double gbs, tflops; /* the roofline's two ceilings */
    const char *only;
} Roof;

static void bench_row(Bench *b, const Roof *r, const char *op, const char *shape, double bytes,
                      double flops)
{
    int reps = 25;
    double ms = kern_cuda_time_ms(b->ctx, bench_call, b, 3, reps, 1);
    double s = ms * 1e-3;
    double gbs = bytes / s * 1e-9, tf = flops / s * 1e-12;
    double floor_s = bytes / (r->gbs * 1e9);
    if (flops / (r->tflops * 1e12) > floor_s)
        floor_s = flops / (r->tflops * 1e12);
    printf("%-12s %-34s %10.2f %9.1f %8.2f %6.1f%% %6.1f%% %6.1f%%\n", op, shape, ms * 1e3, gbs,
           tf, 100 * gbs / r->gbs, 100 * tf / r->tflops, 100 * floor_s / s);
}

static void *dev_rand(KernCuda *ctx, size_t n, float lo, float hi, CheckRng *rng)
{
    void *p = kern_cuda_malloc(n * sizeof(KernBf16));
    kern_cuda_fill_uniform(ctx, p, n, check_rng_next(rng), lo, hi);
    return p;
}

static int32_t *dev_tokens(size_t n, int v, CheckRng *rng)
{
    int32_t *h = malloc(sizeof *h * n), *d = kern_cuda_malloc(sizeof *h * n);
    for (size_t i = 0; i < n; i++)
        h[i] = check_rng_int(rng, v);
    kern_cuda_upload(d, h, sizeof *h * n);
    free(h);
    return d;
}

static int want(const Roof *r, const char *op)
{
    return !r->only || !strcmp(r->only, op);
}

static void bench_peaks(KernCuda *ctx, CheckRng *rng, const Roof *r)
{
    Bench b = {.ctx = ctx, .op = B_COPY, .n = 2048}; /* 2 GiB copy: read + write */
    b.a = dev_rand(ctx, (size_t)b.n << 19, -1, 1, rng);
    b.out = kern_cuda_malloc((size_t)b.n << 20);
    bench_row(&b, r, "peak_copy", "2 GiB device to device", 2.0 * ((size_t)b.n << 20), 0);
    kern_cuda_free(b.a), kern_cuda_free(b.out);
    Bench g = {.ctx = ctx, .op = B_LINEAR, .n = 8192, .c = 8192, .o = 8192};
    g.a = dev_rand(ctx, (size_t)g.n * g.c, -1, 1, rng);
    g.b = dev_rand(ctx, (size_t)g.o * g.c, -1, 1, rng);
    g.out = kern_cuda_malloc(sizeof(KernBf16) * (size_t)g.n * g.o);
    bench_row(&g, r, "peak_gemm", "8192^3 bf16, fp32 accumulate", 2.0 * 3 * 8192.0 * 8192,
              2.0 * 8192.0 * 8192 * 8192);
    kern_cuda_free(g.a), kern_cuda_free(g.b), kern_cuda_free(g.out);
}

static void bench_pointwise(KernCuda *ctx, CheckRng *rng, const Roof *r)
{
    const int n = 4096; /* tokens: one long prefill */
    size_t nc = (size_t)n * L7_C, ni = (size_t)n * L7_I;
    char shape[64];
    snprintf(shape, sizeof shape, "N=%d C=%d", n, L7_C);
    Bench b = {.ctx = ctx, .n = n, .c = L7_C};
    b.out = kern_cuda_malloc(sizeof(KernBf16) * ni); /* big enough for all */
    if (want(r, "embed")) {
        b.op = B_EMBED;
        b.a = dev_rand(ctx, (size_t)L7_V * L7_C, -1, 1, rng);
        b.idx = dev_tokens((size_t)n, L7_V, rng);
        bench_row(&b, r, "embed", shape, 2.0 * 2 * nc, 0);
        kern_cuda_free(b.a), kern_cuda_free(b.idx);
    }
    if (want(r, "rmsnorm")) {
        b.op = B_RMSNORM;
        b.a = dev_rand(ctx, nc, -1, 1, rng), b.b = dev_rand(ctx, L7_C, 0.5f, 1.5f, rng);
        bench_row(&b, r, "rmsnorm", shape, 2.0 * (2 * nc + L7_C), 4.0 * nc);
        kern_cuda_free(b.a), kern_cuda_free(b.b);
    }
    if (want(r, "rope")) {
        b.op = B_ROPE;
        b.a = dev_rand(ctx, nc, -1, 1, rng), b.b = dev_rand(ctx, nc, -1, 1, rng);
        b.idx = dev_tokens((size_t)n, 4096, rng);
        snprintf(shape, sizeof shape, "N=%d H=KVH=%d D=%d", n, L7_H, L7_D);
        bench_row(&b, r, "rope", shape, 2.0 * 2 * 2 * nc, 6.0 * nc);
        if (want(r, "kv_store")) {
            b.op = B_KV;
            b.kc = kern_cuda_malloc(sizeof(KernBf16) * nc);
            b.vc = kern_cuda_malloc(sizeof(KernBf16) * nc);
            bench_row(&b, r, "kv_store", shape, 2.0 * 2 * 2 * nc, 0);
            kern_cuda_free(b.kc), kern_cuda_free(b.vc);
        }
        kern_cuda_free(b.a), kern_cuda_free(b.b), kern_cuda_free(b.idx);
    }
    if (want(r, "swiglu")) {
        b.op = B_SWIGLU, b.o = L7_I;
        b.a = dev_rand(ctx, 2 * ni, -4, 4, rng);
        snprintf(shape, sizeof shape, "N=%d I=%d", n, L7_I);
        bench_row(&b, r, "swiglu", shape, 2.0 * 3 * ni, 6.0 * ni);
        kern_cuda_free(b.a);
    }
    kern_cuda_free(b.out);
    if (want(r, "argmax")) {
        Bench a = {.ctx = ctx, .op = B_ARGMAX, .n = 64, .o = L7_V};
        a.a = kern_cuda_malloc(sizeof(float) * 64 * L7_V);
        /* random logits: fill bf16 bits over the float buffer (any finite values do) */
        kern_cuda_fill_uniform(ctx, a.a, 2 * 64 * L7_V, check_rng_next(rng), -1, 1);
        a.out = kern_cuda_malloc(sizeof(int32_t) * 64);
        bench_row(&a, r, "argmax", "N=64 V=32000 fp32", 4.0 * 64 * L7_V, 0);
        kern_cuda_free(a.a), kern_cuda_free(a.out);
    }
}

static void bench_linear(KernCuda *ctx, CheckRng *rng, const Roof *r)
{
    static const struct { const char *name; int c, o; } mats[] = {
        {"qkv", L7_C, 3 * L7_C}, {"o", L7_C, L7_C}, {"gate_up", L7_C, 2 * L7_I},
        {"down", L7_I, L7_C},
    };
    static const int ns[] = {1, 8, 32, 64, 512, 4096};
    size_t maxw = (size_t)L7_V * L7_C, maxn = 4096; /* the LM head is the largest */
    void *x = dev_rand(ctx, maxn * L7_I, -1, 1, rng), *w = dev_rand(ctx, maxw, -1, 1, rng);
    void *out = kern_cuda_malloc(sizeof(float) * maxn * 2 * L7_I);
    for (size_t m = 0; m < sizeof mats / sizeof mats[0]; m++)
        for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
            Bench b = {.ctx = ctx, .op = B_LINEAR, .n = ns[i], .c = mats[m].c, .o = mats[m].o,
                       .a = x, .b = w, .out = out};
            char shape[64];
            snprintf(shape, sizeof shape, "%s N=%d C=%d O=%d", mats[m].name, b.n, b.c, b.o);
            double n = b.n, c = b.c, o = b.o;
            bench_row(&b, r, "linear", shape, 2 * (n * c + o * c + n * o), 2 * n * c * o);
        }
    for (int n = 1; n <= 64; n *= 64) {
        Bench b = {.ctx = ctx, .op = B_LINEAR_F32, .n = n, .c = L7_C, .o = L7_V,
                   .a = x, .b = w, .out = out};
        char shape[64];
        snprintf(shape, sizeof shape, "lm_head N=%d C=%d V=%d", n, L7_C, L7_V);
        double c = L7_C, o = L7_V;
        bench_row(&b, r, "linear_f32", shape, 2 * (n * c + o * c) + 4.0 * n * o, 2 * n * c * o);
    }
    kern_cuda_free(x), kern_cuda_free(w), kern_cuda_free(out);
}

/* Attention over a cache holding max_tokens tokens (filled on the device). */
static void bench_attn(KernCuda *ctx, CheckRng *rng, const Roof *r, int decode)
{
    static const int dec_b[] = {1, 8, 32, 64}, dec_ctx[] = {512, 1024, 2048, 4096};
    static const int pf_s[] = {1, 4, 8}, pf_l[] = {512, 2048, 4096};
    const int bs = KERN_DEFAULT_BLOCK_SIZE;
    size_t max_tokens = decode ? 64 * 4096 : 8 * 4096;
    size_t row = (size_t)L7_KVH * L7_D;
    Bench b = {.ctx = ctx, .op = decode ? B_DECODE : B_PREFILL};
    b.kc = dev_rand(ctx, max_tokens * row, -1, 1, rng);
    b.vc = dev_rand(ctx, max_tokens * row, -1, 1, rng);
    size_t max_q = decode ? 64 : 8 * 4096;
    b.a = dev_rand(ctx, max_q * L7_H * L7_D, -2, 2, rng);
    b.out = kern_cuda_malloc(sizeof(KernBf16) * max_q * L7_H * L7_D);
    int ni = decode ? 4 : 3, nj = decode ? 4 : 3;
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < nj; j++) {
            int ns = decode ? dec_b[i] : pf_s[i];
            int len = decode ? dec_ctx[j] : pf_l[j];
            /* block tables: a random permutation of the cache's blocks */
            int nb = (len + bs - 1) / bs;
            int32_t *bt = malloc(sizeof *bt * (size_t)ns * nb), *perm;
            int32_t *lens = malloc(sizeof *lens * (size_t)ns);
            int32_t *qs = malloc(sizeof *qs * ((size_t)ns + 1));
            int total_blocks = (int)(max_tokens / bs);
            perm = malloc(sizeof *perm * (size_t)total_blocks);
            for (int k = 0; k < total_blocks; k++)
                perm[k] = k;
            for (int k = total_blocks - 1; k > 0; k--) {
                int t = check_rng_int(rng, k + 1);
                int32_t x = perm[k];
                perm[k] = perm[t], perm[t] = x;
            }
            for (int s = 0; s < ns; s++) {
                lens[s] = len;
                qs[s] = decode ? s : s * len;
                for (int k = 0; k < nb; k++)
                    bt[(size_t)s * nb + k] = perm[s * nb + k];
            }
            qs[ns] = decode ? ns : ns * len;
            b.ab = (KernAttnBatch){.n_seqs = ns, .max_blocks = nb, .block_size = bs,
                                   .heads = L7_H, .kv_heads = L7_KVH, .head_dim = L7_D,
                                   .scale = 1.0f / sqrtf((float)L7_D),
                                   .max_q_len = decode ? 1 : len, .max_ctx_len = len};
            int32_t *dbt = kern_cuda_malloc(sizeof *bt * (size_t)ns * nb);
            int32_t *dl = kern_cuda_malloc(sizeof *lens * (size_t)ns);
            int32_t *dq = kern_cuda_malloc(sizeof *qs * ((size_t)ns + 1));
            kern_cuda_upload(dbt, bt, sizeof *bt * (size_t)ns * nb);
            kern_cuda_upload(dl, lens, sizeof *lens * (size_t)ns);
            kern_cuda_upload(dq, qs, sizeof *qs * ((size_t)ns + 1));
            b.ab.block_tables = dbt, b.ab.ctx_lens = dl, b.ab.q_start = dq;
            char shape[64];
            double kv = 2.0 * 2 * ns * (double)len * row;           /* K and V, bf16 */
            double qo = 2.0 * 2 * (decode ? ns : ns * (double)len) * L7_H * L7_D;
            double pairs = decode ? (double)ns * len : ns * (double)len * (len + 1) / 2;
            snprintf(shape, sizeof shape, "%s=%d %s=%d", decode ? "B" : "S", ns,
                     decode ? "ctx" : "L", len);
            bench_row(&b, r, decode ? "attn_decode" : "attn_prefill", shape, kv + qo,
                      4.0 * pairs * L7_H * L7_D);
            if (!decode) { /* version 1 (CUDA cores) for comparison */
                kern_cuda_set_attn_prefill_version(ctx, 1);
                bench_row(&b, r, "attn_pf_v1", shape, kv + qo, 4.0 * pairs * L7_H * L7_D);
                kern_cuda_set_attn_prefill_version(ctx, 0);
            }
            kern_cuda_free(dbt), kern_cuda_free(dl), kern_cuda_free(dq);
            free(bt), free(lens), free(qs), free(perm);
        }
    kern_cuda_free(b.kc), kern_cuda_free(b.vc), kern_cuda_free(b.a), kern_cuda_free(b.out);
}

int bench_ops(KernCuda *ctx, CheckRng *rng, const char *only, double hbm_gbs, double tflops)
{
    Roof r = {hbm_gbs, tflops, only};
    printf("roofline: HBM %.0f GB/s, bf16 %.0f TFLOP/s (override: --hbm-gbs, --tflops)\n",
           hbm_gbs, tflops);
    printf("%-12s %-34s %10s %9s %8s %7s %7s %7s\n", "op", "shape", "time_us", "GB/s",
           "TFLOP/s", "%HBM", "%bf16", "%roof");
    if (want(&r, "peak"))
        bench_peaks(ctx, rng, &r);
    bench_pointwise(ctx, rng, &r);
    if (want(&r, "linear"))
        bench_linear(ctx, rng, &r);
    if (want(&r, "attn_decode"))
        bench_attn(ctx, rng, &r, 1);
    if (want(&r, "attn_prefill"))
        bench_attn(ctx, rng, &r, 0);
    int f = 0;
    if (want(&r, "step"))
        f += bench_model(ctx, hbm_gbs, tflops);
    printf("%%roof: the roofline floor max(bytes/HBM, FLOPs/bf16) over the measured time\n");
    return f;
}
