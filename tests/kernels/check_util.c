/* tests/kernels/check_util.c: RNG, comparison and guarded device buffers
 * for the kernel checker. */
#include "check_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t check_rng_next(CheckRng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float check_rng_uniform(CheckRng *r, float lo, float hi)
{
    double u = (double)(check_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(lo + (hi - lo) * u);
}

int check_rng_int(CheckRng *r, int n)
{
    return (int)(check_rng_next(r) % (uint64_t)n);
}

void check_fill_uniform(CheckRng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = check_rng_uniform(r, lo, hi);
}

void check_round_bf16(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = kern_bf16_to_float(kern_bf16_from_float(x[i]));
}

void check_to_bf16(KernBf16 *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = kern_bf16_from_float(src[i]);
}

void check_from_bf16(float *dst, const KernBf16 *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = kern_bf16_to_float(src[i]);
}

int check_compare(const char *op, const char *what, const float *got, const float *ref,
                  size_t n, CheckTol tol)
{
    double ss_ref = 0.0, ss_diff = 0.0;
    size_t finite = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(ref[i])) {
            ss_ref += (double)ref[i] * ref[i];
            finite++;
        }
    double rms = finite ? sqrt(ss_ref / finite) : 0.0;
    size_t bad = 0, first = 0, worst = 0;
    double worst_excess = -1.0;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], r = ref[i];
        int ok;
        if (isnan(r) || isnan(g))
            ok = isnan(r) && isnan(g);
        else if (isinf(r) || isinf(g))
            ok = g == r;
        else {
            double d = fabs(g - r), bound = tol.abs + tol.rms * rms + tol.rel * fabs(r);
            ss_diff += d * d;
            ok = d <= bound;
            if (d - bound > worst_excess) {
                worst_excess = d - bound;
                worst = i;
            }
        }
        if (!ok && bad++ == 0)
            first = i;
    }
    double l2 = ss_ref > 0 ? sqrt(ss_diff / ss_ref) : sqrt(ss_diff);
    if (bad == 0 && l2 <= tol.l2)
        return 0;
    printf("FAIL %s [%s]: %zu of %zu elements out of tolerance, rel L2 error %.3g (tol %.3g)\n",
           op, what, bad, n, l2, tol.l2);
    if (bad)
        printf("     first bad [%zu]: got %.8g ref %.8g\n", first, got[first], ref[first]);
    printf("     worst [%zu]: got %.8g ref %.8g (tol abs %.3g + rms %.3g*%.3g + rel %.3g)\n",
           worst, got[worst], ref[worst], tol.abs, tol.rms, rms, tol.rel);
    return 1;
}

int check_compare_i32(const char *op, const char *what, const int32_t *got, const int32_t *ref,
                      size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != ref[i]) {
            printf("FAIL %s [%s]: element %zu: got %d ref %d\n", op, what, i, got[i], ref[i]);
            return 1;
        }
    return 0;
}

#if KERN_HAVE_CUDA
#define GUARD_BYTES 256   /* a multiple of 16 keeps the payload 16-byte aligned */
#define GUARD_CANARY 0xa5 /* neither a plausible bf16 nor the poison */

void devbuf_alloc(DevBuf *b, size_t bytes)
{
    unsigned char canary[GUARD_BYTES];
    memset(canary, GUARD_CANARY, sizeof canary);
    b->bytes = bytes;
    b->base = kern_cuda_malloc(bytes + 2 * GUARD_BYTES);
    b->p = b->base + GUARD_BYTES;
    kern_cuda_upload(b->base, canary, GUARD_BYTES);
    kern_cuda_upload(b->base + GUARD_BYTES + bytes, canary, GUARD_BYTES);
    devbuf_poison(b);
}

void devbuf_upload(DevBuf *b, const void *host)
{
    kern_cuda_upload(b->p, host, b->bytes);
}

void devbuf_poison(DevBuf *b)
{
    kern_cuda_memset(b->p, 0xff, b->bytes);
}

void devbuf_download(const DevBuf *b, void *host)
{
    kern_cuda_download(host, b->p, b->bytes);
}

int devbuf_guard_broken(const DevBuf *b, const char *op, const char *what)
{
    unsigned char g[2][GUARD_BYTES];
    kern_cuda_download(g[0], b->base, GUARD_BYTES);
    kern_cuda_download(g[1], b->base + GUARD_BYTES + b->bytes, GUARD_BYTES);
    for (int side = 0; side < 2; side++)
        for (int i = 0; i < GUARD_BYTES; i++)
            if (g[side][i] != GUARD_CANARY) {
                printf("FAIL %s [%s]: write out of bounds, %d bytes %s the buffer\n", op, what,
                       side ? i + 1 : GUARD_BYTES - i, side ? "after" : "before");
                return 1;
            }
    return 0;
}

void devbuf_free(DevBuf *b)
{
    kern_cuda_free(b->base);
    memset(b, 0, sizeof *b);
}

void devbuf_upload_bf16(DevBuf *b, const float *host, size_t n)
{
    KernBf16 *tmp = malloc(sizeof *tmp * (n ? n : 1));
    check_to_bf16(tmp, host, n);
    kern_cuda_upload(b->p, tmp, sizeof *tmp * n);
    free(tmp);
}

void devbuf_download_bf16(const DevBuf *b, float *host, size_t n)
{
    KernBf16 *tmp = malloc(sizeof *tmp * (n ? n : 1));
    kern_cuda_download(tmp, b->p, sizeof *tmp * n);
    check_from_bf16(host, tmp, n);
    free(tmp);
}
#endif
