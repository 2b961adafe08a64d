/* tests/kernels/check_ops.c: one check per op, several shapes each, ref vs
 * CUDA.  Every case names its shape in the failure message. */
#include "check_ops.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check_attn.h"

/* Tolerances (see kernels/README.md).  bf16 keeps 8 significant bits: one
 * rounding of an output is up to 2^-9 relative, so element-wise bounds sit
 * at 2^-7 (two roundings of slack); rel L2 error at 5e-3. */
static const CheckTol TOL_EXACT = {0, 0, 0, 0};
static const CheckTol TOL_ELEMENTWISE = {1e-6, 0, 1.0 / 128, 5e-3};
static const CheckTol TOL_ROPE = {2e-3, 0, 1.0 / 128, 5e-3};
static const CheckTol TOL_ATTN = {1e-3, 0, 1.0 / 128, 5e-3};
static const CheckTol TOL_LINEAR = {0, 5e-3, 1.0 / 128, 5e-3};
static const CheckTol TOL_LINEAR_F32 = {0, 1e-4, 1e-4, 1e-4};

/* The device buffers of one case: all freed, all guards checked at the end. */
typedef struct Case {
    const char *op;
    char what[160];
    DevBuf buf[12];
    int n;
    int failures;
} Case;

static void *case_buf(Case *c, size_t bytes)
{
    assert(c->n < 12);
    devbuf_alloc(&c->buf[c->n], bytes);
    return c->buf[c->n++].p;
}

static void *case_bf16(Case *c, const float *host, size_t n)
{
    void *p = case_buf(c, n * sizeof(KernBf16));
    devbuf_upload_bf16(&c->buf[c->n - 1], host, n);
    return p;
}

static void *case_raw(Case *c, const void *host, size_t bytes)
{
    void *p = case_buf(c, bytes);
    devbuf_upload(&c->buf[c->n - 1], host);
    return p;
}

static void case_get_bf16(float *host, const void *dev, size_t n)
{
    KernBf16 *tmp = malloc(sizeof *tmp * (n ? n : 1));
    kern_cuda_download(tmp, dev, sizeof *tmp * n);
    check_from_bf16(host, tmp, n);
    free(tmp);
}

static int case_rc(Case *c, int rc)
{
    if (rc != 0) {
        printf("FAIL %s [%s]: returned %d\n", c->op, c->what, rc);
        c->failures++;
    }
    return rc;
}

static int case_end(Case *c)
{
    for (int i = 0; i < c->n; i++) {
        c->failures += devbuf_guard_broken(&c->buf[i], c->op, c->what);
        devbuf_free(&c->buf[i]);
    }
    printf("%s %-12s %s\n", c->failures ? "FAIL" : "ok  ", c->op, c->what);
    return c->failures;
}

static float *rand_bf16(CheckRng *rng, size_t n, float lo, float hi)
{
    float *x = malloc(sizeof *x * (n ? n : 1));
    assert(x);
    check_fill_uniform(rng, x, n, lo, hi);
    check_round_bf16(x, n);
    return x;
}

static float *alloc_f(size_t n)
{
    float *x = calloc(n ? n : 1, sizeof *x);
    assert(x);
    return x;
}

static int check_embed(KernCuda *ctx, CheckRng *rng, int n, int c, int v)
{
    Case k = {.op = "embed"};
    snprintf(k.what, sizeof k.what, "N=%d C=%d V=%d", n, c, v);
    float *table = rand_bf16(rng, (size_t)v * c, -1, 1), *ref = alloc_f((size_t)n * c),
          *got = alloc_f((size_t)n * c);
    int32_t *tok = malloc(sizeof *tok * (size_t)n);
    for (int i = 0; i < n; i++)
        tok[i] = check_rng_int(rng, v);
    kern_ref_embed(ref, table, tok, n, c);
    void *dt = case_bf16(&k, table, (size_t)v * c);
    void *dtok = case_raw(&k, tok, sizeof *tok * (size_t)n);
    void *dout = case_buf(&k, sizeof(KernBf16) * (size_t)n * c);
    if (!case_rc(&k, kern_cuda_embed(ctx, dout, dt, dtok, n, c))) {
        case_get_bf16(got, dout, (size_t)n * c);
        k.failures += check_compare(k.op, k.what, got, ref, (size_t)n * c, TOL_EXACT);
    }
    free(table), free(ref), free(got), free(tok);
    return case_end(&k);
}

static int check_rmsnorm(KernCuda *ctx, CheckRng *rng, int n, int c, int with_nan)
{
    Case k = {.op = "rmsnorm"};
    snprintf(k.what, sizeof k.what, "N=%d C=%d%s", n, c, with_nan ? " NaN in row 0" : "");
    size_t e = (size_t)n * c;
    float *x = rand_bf16(rng, e, -2, 2), *w = rand_bf16(rng, (size_t)c, 0.5f, 1.5f);
    float *ref = alloc_f(e), *got = alloc_f(e);
    if (with_nan)
        x[c / 2] = NAN;
    kern_ref_rmsnorm(ref, x, w, n, c, 1e-5f);
    void *dx = case_bf16(&k, x, e), *dw = case_bf16(&k, w, (size_t)c);
    void *dout = case_buf(&k, sizeof(KernBf16) * e);
    if (!case_rc(&k, kern_cuda_rmsnorm(ctx, dout, dx, dw, n, c, 1e-5f))) {
        case_get_bf16(got, dout, e);
        k.failures += check_compare(k.op, k.what, got, ref, e, TOL_ELEMENTWISE);
    }
    free(x), free(w), free(ref), free(got);
    return case_end(&k);
}

static int check_rope(KernCuda *ctx, CheckRng *rng, int n, int h, int kvh, int d, float theta)
{
    Case k = {.op = "rope"};
    snprintf(k.what, sizeof k.what, "N=%d H=%d KVH=%d D=%d theta=%g", n, h, kvh, d, theta);
    size_t eq = (size_t)n * h * d, ek = (size_t)n * kvh * d;
    float *q = rand_bf16(rng, eq, -1, 1), *kk = rand_bf16(rng, ek, -1, 1);
    float *gq = alloc_f(eq), *gk = alloc_f(ek);
    int32_t *pos = malloc(sizeof *pos * (size_t)n);
    for (int i = 0; i < n; i++)
        pos[i] = i == 0 ? 0 : check_rng_int(rng, 8192);
    void *dq = case_bf16(&k, q, eq), *dk = case_bf16(&k, kk, ek);
    void *dpos = case_raw(&k, pos, sizeof *pos * (size_t)n);
    kern_ref_rope(q, kk, pos, n, h, kvh, d, theta);
    if (!case_rc(&k, kern_cuda_rope(ctx, dq, dk, dpos, n, h, kvh, d, theta))) {
        case_get_bf16(gq, dq, eq);
        case_get_bf16(gk, dk, ek);
        k.failures += check_compare(k.op, k.what, gq, q, eq, TOL_ROPE);
        k.failures += check_compare("rope(k)", k.what, gk, kk, ek, TOL_ROPE);
    }
    free(q), free(kk), free(gq), free(gk), free(pos);
    return case_end(&k);
}

static int check_kv_store(KernCuda *ctx, CheckRng *rng, int n, int kvh, int d, int bs)
{
    Case k = {.op = "kv_store"};
    int nb = (n + bs - 1) / bs + 2;
    snprintf(k.what, sizeof k.what, "N=%d KVH=%d D=%d BS=%d NB=%d", n, kvh, d, bs, nb);
    size_t row = (size_t)kvh * d, ec = (size_t)nb * bs * row, et = (size_t)n * row;
    float *kc = rand_bf16(rng, ec, -1, 1), *vc = rand_bf16(rng, ec, -1, 1);
    float *kn = rand_bf16(rng, et, -1, 1), *vn = rand_bf16(rng, et, -1, 1);
    float *gk = alloc_f(ec), *gv = alloc_f(ec);
    /* distinct random slots; every 5th token skipped (slot -1) */
    int32_t *slots = malloc(sizeof *slots * (size_t)nb * bs);
    for (int i = 0; i < nb * bs; i++)
        slots[i] = i;
    for (int i = nb * bs - 1; i > 0; i--) {
        int j = check_rng_int(rng, i + 1);
        int32_t t = slots[i];
        slots[i] = slots[j], slots[j] = t;
    }
    for (int i = 4; i < n; i += 5)
        slots[i] = -1;
    void *dkc = case_bf16(&k, kc, ec), *dvc = case_bf16(&k, vc, ec);
    void *dkn = case_bf16(&k, kn, et), *dvn = case_bf16(&k, vn, et);
    void *ds = case_raw(&k, slots, sizeof *slots * (size_t)n);
    kern_ref_kv_store(kc, vc, kn, vn, slots, n, kvh, d);
    if (!case_rc(&k, kern_cuda_kv_store(ctx, dkc, dvc, dkn, dvn, ds, n, kvh, d))) {
        case_get_bf16(gk, dkc, ec);
        case_get_bf16(gv, dvc, ec);
        k.failures += check_compare("kv_store(k)", k.what, gk, kc, ec, TOL_EXACT);
        k.failures += check_compare("kv_store(v)", k.what, gv, vc, ec, TOL_EXACT);
    }
    free(kc), free(vc), free(kn), free(vn), free(gk), free(gv), free(slots);
    return case_end(&k);
}

/* nan_at >= 0: put a NaN in the K (prefill) or V (decode) cache of the
 * last sequence at that position, kv head 0, dim 3.  variant: the prefill
 * version, or the decode partition in tokens (0: automatic). */
static int check_attn(KernCuda *ctx, CheckRng *rng, const AttnCase *ac, int decode, int nan_at,
                      int variant)
{
    Case k = {.op = decode ? "attn_decode" : variant == 1 ? "attn_prefill_v1" : "attn_prefill"};
    AttnHost a;
    attn_host_build(&a, ac, rng, 1);
    attn_case_describe(ac, k.what, sizeof k.what);
    if (decode && variant) {
        size_t len = strlen(k.what);
        snprintf(k.what + len, sizeof k.what - len, " part=%d", variant);
    }
    kern_cuda_set_attn_prefill_version(ctx, decode ? 0 : variant);
    kern_cuda_set_decode_partition(ctx, decode ? variant : 0);
    if (nan_at >= 0) {
        size_t len = strlen(k.what);
        snprintf(k.what + len, sizeof k.what - len, " NaN at pos %d", nan_at);
        int32_t blk = a.block_tables[(size_t)(ac->n_seqs - 1) * a.b.max_blocks +
                                     nan_at / ac->block_size];
        size_t off = (((size_t)blk * ac->block_size + nan_at % ac->block_size) * ac->kv_heads) *
                         ac->head_dim + 3;
        (decode ? a.v_cache : a.k_cache)[off] = NAN;
    }
    size_t eq = a.q_elems;
    float *q = rand_bf16(rng, eq, -3, 3), *ref = alloc_f(eq), *got = alloc_f(eq);
    KernAttnBatch db = a.b;
    db.q_start = case_raw(&k, a.q_start, sizeof(int32_t) * (size_t)(ac->n_seqs + 1));
    db.ctx_lens = case_raw(&k, a.ctx_lens, sizeof(int32_t) * (size_t)ac->n_seqs);
    db.block_tables = case_raw(&k, a.block_tables,
                               sizeof(int32_t) * (size_t)ac->n_seqs * a.b.max_blocks);
    void *dq = case_bf16(&k, q, eq), *dout = case_buf(&k, sizeof(KernBf16) * eq);
    void *dkc = case_bf16(&k, a.k_cache, a.cache_elems);
    void *dvc = case_bf16(&k, a.v_cache, a.cache_elems);
    int rc;
    if (decode) {
        kern_ref_attn_decode(ref, q, a.k_cache, a.v_cache, &a.b);
        rc = kern_cuda_attn_decode(ctx, dout, dq, dkc, dvc, &db);
    } else {
        kern_ref_attn_prefill(ref, q, a.k_cache, a.v_cache, &a.b);
        rc = kern_cuda_attn_prefill(ctx, dout, dq, dkc, dvc, &db);
    }
    if (!case_rc(&k, rc)) {
        case_get_bf16(got, dout, eq);
        k.failures += check_compare(k.op, k.what, got, ref, eq, TOL_ATTN);
    }
    free(q), free(ref), free(got);
    attn_host_free(&a);
    kern_cuda_set_attn_prefill_version(ctx, 0);
    kern_cuda_set_decode_partition(ctx, 0);
    return case_end(&k);
}

static int check_swiglu(KernCuda *ctx, CheckRng *rng, int n, int inter, int with_nan)
{
    Case k = {.op = "swiglu"};
    snprintf(k.what, sizeof k.what, "N=%d I=%d%s", n, inter, with_nan ? " with NaN" : "");
    size_t e = (size_t)n * inter;
    float *gu = rand_bf16(rng, 2 * e, -6, 6), *ref = alloc_f(e), *got = alloc_f(e);
    if (with_nan) {
        gu[1] = NAN;                   /* a gate */
        gu[(size_t)inter + 2] = NAN;   /* an up */
    }
    kern_ref_swiglu(ref, gu, n, inter);
    void *dgu = case_bf16(&k, gu, 2 * e), *dout = case_buf(&k, sizeof(KernBf16) * e);
    if (!case_rc(&k, kern_cuda_swiglu(ctx, dout, dgu, n, inter))) {
        case_get_bf16(got, dout, e);
        k.failures += check_compare(k.op, k.what, got, ref, e, TOL_ELEMENTWISE);
    }
    free(gu), free(ref), free(got);
    return case_end(&k);
}

/* mode 0: bf16 out; 1: bf16 out accumulating into the old out; 2: fp32 out */
static int check_linear(KernCuda *ctx, CheckRng *rng, int n, int c, int o, int mode,
                        int with_nan)
{
    Case k = {.op = mode == 2 ? "linear_f32" : "linear"};
    snprintf(k.what, sizeof k.what, "N=%d C=%d O=%d%s%s", n, c, o,
             mode == 1 ? " accumulate" : "", with_nan ? " NaN in x row 0" : "");
    size_t ex = (size_t)n * c, ew = (size_t)o * c, eo = (size_t)n * o;
    float *x = rand_bf16(rng, ex, -1, 1), *w = rand_bf16(rng, ew, -1, 1);
    float *ref = rand_bf16(rng, eo, -4, 4), *got = alloc_f(eo);
    if (with_nan)
        x[1] = NAN;
    void *dx = case_bf16(&k, x, ex), *dw = case_bf16(&k, w, ew), *dout;
    if (mode == 1)
        dout = case_bf16(&k, ref, eo); /* the residual to add to */
    else
        dout = case_buf(&k, (mode == 2 ? sizeof(float) : sizeof(KernBf16)) * eo);
    kern_ref_linear(ref, x, w, n, c, o, mode == 1);
    int rc = mode == 2 ? kern_cuda_linear_f32(ctx, dout, dx, dw, n, c, o)
                       : kern_cuda_linear(ctx, dout, dx, dw, n, c, o, mode == 1);
    if (!case_rc(&k, rc)) {
        if (mode == 2)
            kern_cuda_download(got, dout, sizeof(float) * eo);
        else
            case_get_bf16(got, dout, eo);
        k.failures += check_compare(k.op, k.what, got, ref, eo,
                                    mode == 2 ? TOL_LINEAR_F32 : TOL_LINEAR);
    }
    free(x), free(w), free(ref), free(got);
    return case_end(&k);
}

static int check_argmax(KernCuda *ctx, CheckRng *rng, int n, int v)
{
    Case k = {.op = "argmax"};
    snprintf(k.what, sizeof k.what, "N=%d V=%d (ties, NaN, -inf rows)", n, v);
    size_t e = (size_t)n * v;
    float *lg = rand_bf16(rng, e, -10, 10);
    int32_t *ref = malloc(sizeof *ref * (size_t)n), *got = malloc(sizeof *got * (size_t)n);
    for (int t = 0; t < n; t++) {
        float *row = lg + (size_t)t * v;
        switch (t % 4) {
        case 1: /* a tie for the maximum, far apart */
            row[v - 1] = row[v / 3] = 20.f;
            break;
        case 2: /* NaN must never win */
            row[0] = NAN;
            row[v / 2] = 30.f;
            row[v - 1] = NAN;
            break;
        case 3:
            if (t == 3)
                for (int i = 0; i < v; i++)
                    row[i] = -INFINITY;
            break;
        }
    }
    kern_ref_argmax(ref, lg, n, v);
    void *dl = case_raw(&k, lg, sizeof(float) * e), *dt = case_buf(&k, sizeof(int32_t) * n);
    if (!case_rc(&k, kern_cuda_argmax(ctx, dt, dl, n, v))) {
        kern_cuda_download(got, dt, sizeof(int32_t) * n);
        k.failures += check_compare_i32(k.op, k.what, got, ref, (size_t)n);
    }
    free(lg), free(ref), free(got);
    return case_end(&k);
}

static int want(const char *only, const char *op)
{
    return !only || !strcmp(only, op);
}

int check_ops(KernCuda *ctx, CheckRng *rng, const char *only)
{
    int f = 0;
    if (want(only, "embed")) {
        f += check_embed(ctx, rng, 1, 64, 100);
        f += check_embed(ctx, rng, 7, 4096, 50);
        f += check_embed(ctx, rng, 33, 100, 1000);
    }
    if (want(only, "rmsnorm")) {
        f += check_rmsnorm(ctx, rng, 1, 64, 0);
        f += check_rmsnorm(ctx, rng, 5, 4096, 0);
        f += check_rmsnorm(ctx, rng, 17, 5120, 0);
        f += check_rmsnorm(ctx, rng, 3, 100, 1);
    }
    if (want(only, "rope")) {
        f += check_rope(ctx, rng, 1, 32, 32, 128, 10000.f);
        f += check_rope(ctx, rng, 9, 32, 8, 128, 500000.f);
        f += check_rope(ctx, rng, 5, 4, 2, 64, 10000.f);
        f += check_rope(ctx, rng, 3, 3, 1, 18, 10000.f);
        f += check_rope(ctx, rng, 2, 1, 1, 256, 10000.f);
    }
    if (want(only, "kv_store")) {
        f += check_kv_store(ctx, rng, 1, 32, 128, 16);
        f += check_kv_store(ctx, rng, 37, 8, 128, 16);
        f += check_kv_store(ctx, rng, 20, 3, 10, 4); /* row not a multiple of 8 */
    }
    if (want(only, "attn_prefill")) {
        static const AttnCase pc[] = {
            {1, {1}, {1}, 4, 4, 64, 16},
            {4, {17, 5, 33, 1}, {17, 40, 33, 7}, 8, 2, 128, 16},
            {2, {100, 64}, {100, 300}, 4, 1, 32, 8},
            {1, {31}, {31}, 2, 2, 256, 16},
            {2, {3, 9}, {3, 20}, 6, 3, 16, 4},
            {3, {130, 1, 47}, {130, 600, 47}, 4, 4, 128, 32},
            {5, {64, 65, 63, 200, 7}, {64, 65, 100, 200, 7}, 4, 2, 64, 16},
        };
        /* version 2 (tensor cores) takes D 64 and 128, version 1 the rest */
        for (int ver = 1; ver <= 2; ver++) {
            for (size_t i = 0; i < sizeof pc / sizeof pc[0]; i++)
                f += check_attn(ctx, rng, &pc[i], 0, -1, ver);
            f += check_attn(ctx, rng, &pc[1], 0, 2, ver);
        }
    }
    if (want(only, "attn_decode")) {
        static const AttnCase dc[] = {
            {6, {1, 1, 1, 1, 1, 1}, {1, 17, 512, 513, 1500, 3000}, 32, 8, 128, 16},
            {2, {1, 1}, {5, 100}, 4, 4, 64, 16},
            {2, {1, 1}, {1024, 2049}, 8, 1, 128, 32},
            {1, {1}, {700}, 16, 1, 64, 16},
            {2, {1, 1}, {33, 77}, 6, 2, 256, 16},
            {1, {1}, {10}, 3, 3, 32, 16},
            {3, {1, 1, 1}, {2, 9, 1100}, 2, 1, 16, 8},
        };
        /* partitions: automatic (small grids halve it to 64), the largest,
         * and one that is not a power of two nor a multiple of the block */
        static const int parts[] = {0, 512, 40};
        for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
            for (size_t i = 0; i < sizeof dc / sizeof dc[0]; i++)
                f += check_attn(ctx, rng, &dc[i], 1, -1, parts[p]);
            f += check_attn(ctx, rng, &dc[0], 1, 5, parts[p]);
            f += check_attn(ctx, rng, &dc[2], 1, 600, parts[p]); /* a later partition */
        }
    }
    if (want(only, "swiglu")) {
        f += check_swiglu(ctx, rng, 1, 64, 0);
        f += check_swiglu(ctx, rng, 7, 11008, 0);
        f += check_swiglu(ctx, rng, 5, 99, 1);
    }
    if (want(only, "linear")) {
        f += check_linear(ctx, rng, 1, 4096, 4096, 0, 0);
        f += check_linear(ctx, rng, 64, 1024, 3072, 0, 0);
        f += check_linear(ctx, rng, 7, 100, 33, 0, 0);
        f += check_linear(ctx, rng, 33, 512, 1000, 1, 0);
        f += check_linear(ctx, rng, 3, 64, 96, 0, 1);
        f += check_linear(ctx, rng, 3, 256, 32000, 2, 0);
        f += check_linear(ctx, rng, 5, 128, 77, 2, 1);
    }
    if (want(only, "argmax")) {
        f += check_argmax(ctx, rng, 8, 32000);
        f += check_argmax(ctx, rng, 5, 7);
        f += check_argmax(ctx, rng, 1, 1);
    }
    if (want(only, "model"))
        f += check_model(ctx, rng);
    return f;
}
