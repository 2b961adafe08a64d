/* tests/kernels/check_util.h: what the kernel checker and its benchmark
 * share: a seeded RNG, canary-guarded device buffers, comparison with a
 * per-op tolerance (dav1d checkasm / ggml test-backend-ops habits). */
#ifndef SERVESIM_CHECK_UTIL_H
#define SERVESIM_CHECK_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

/* splitmix64: small, seedable, the same stream on every machine */
typedef struct CheckRng {
    uint64_t s;
} CheckRng;

uint64_t check_rng_next(CheckRng *r);
float check_rng_uniform(CheckRng *r, float lo, float hi); /* [lo, hi) */
int check_rng_int(CheckRng *r, int n);                     /* [0, n) */
void check_fill_uniform(CheckRng *r, float *x, size_t n, float lo, float hi);
/* Round to bf16 in place, so the reference sees exactly the device's inputs. */
void check_round_bf16(float *x, size_t n);
void check_to_bf16(KernBf16 *dst, const float *src, size_t n);
void check_from_bf16(float *dst, const KernBf16 *src, size_t n);

/* Element-wise bound: |got - ref| <= abs + rms * RMS(ref) + rel * |ref|;
 * and the whole output: ||got - ref|| / ||ref|| <= l2.  NaN must match NaN,
 * infinities must match exactly. */
typedef struct CheckTol {
    double abs, rms, rel, l2;
} CheckTol;

/* Compare n values; on failure print the case (op, what) and the worst
 * elements.  Returns 0 when within tolerance, 1 otherwise. */
int check_compare(const char *op, const char *what, const float *got, const float *ref,
                  size_t n, CheckTol tol);
int check_compare_i32(const char *op, const char *what, const int32_t *got, const int32_t *ref,
                      size_t n);

#if KERN_HAVE_CUDA
/* A device buffer with canary guard bytes before and after the payload.
 * Outputs are poisoned (all bytes 0xff: NaN for floats, -1 for ints) so an
 * element left unwritten shows up as a mismatch. */
typedef struct DevBuf {
    unsigned char *base; /* device: guard | payload | guard */
    void *p;             /* device payload */
    size_t bytes;        /* payload bytes */
} DevBuf;

void devbuf_alloc(DevBuf *b, size_t bytes);
void devbuf_upload(DevBuf *b, const void *host);          /* payload := host */
void devbuf_poison(DevBuf *b);                            /* payload := 0xff.. */
void devbuf_download(const DevBuf *b, void *host);
/* Non-zero when a guard byte changed: an out-of-bounds write. */
int devbuf_guard_broken(const DevBuf *b, const char *op, const char *what);
void devbuf_free(DevBuf *b);
/* float host data -> bf16 device payload; bf16 payload -> float host */
void devbuf_upload_bf16(DevBuf *b, const float *host, size_t n);
void devbuf_download_bf16(const DevBuf *b, float *host, size_t n);
#endif

#endif
