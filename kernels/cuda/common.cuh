/* kernels/cuda/common.cuh: what every .cu file of kernels/cuda shares (not a
 * public header): the context, CUDA/cuBLAS call checks, bf16 casts. */
#ifndef SERVESIM_KERNELS_CUDA_COMMON_CUH
#define SERVESIM_KERNELS_CUDA_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels.h"

struct KernCuda {
    cudaStream_t stream;
    cublasHandle_t blas;
    void *work;        /* device scratch (split-K partials), grown on demand */
    size_t work_bytes; /* bytes */
    int prefill_version;  /* 0 auto, 1 CUDA cores, 2 tensor cores (mma.sync) */
    int decode_partition; /* split-K partition in tokens; 0 auto */
    int sm_count;         /* multiprocessors of the device */
    void *flush;       /* device buffer overwritten to evict L2 before a timed call */
    size_t flush_bytes; /* bytes */
};

/* A failing CUDA call is a broken invariant (bad pointer, no memory, a
 * kernel fault): stop at once with file:line, as llm.c's cudaCheck. */
#define kern_cuda_check(call) kern_cuda__check((call), __FILE__, __LINE__)
#define kern_cuda_check_launch() kern_cuda__check(cudaGetLastError(), __FILE__, __LINE__)
#define kern_blas_check(call) kern_blas__check((call), __FILE__, __LINE__)

static inline void kern_cuda__check(cudaError_t err, const char *file, int line)
{
    if (err != cudaSuccess) {
        fprintf(stderr, "%s:%d: CUDA error: %s\n", file, line, cudaGetErrorString(err));
        abort();
    }
}

static inline void kern_blas__check(cublasStatus_t st, const char *file, int line)
{
    if (st != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "%s:%d: cuBLAS error: %s\n", file, line, cublasGetStatusString(st));
        abort();
    }
}

static inline __nv_bfloat16 *kern_bf(KernBf16 *p) { return reinterpret_cast<__nv_bfloat16 *>(p); }
static inline const __nv_bfloat16 *kern_bf(const KernBf16 *p)
{
    return reinterpret_cast<const __nv_bfloat16 *>(p);
}

/* Eight bf16 in one 16-byte load. */
struct __align__(16) KernBf16x8 {
    __nv_bfloat162 h[4];
};

static __device__ __forceinline__ void kern_bf16x8_to_float(const KernBf16x8 &v, float *f)
{
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 t = __bfloat1622float2(v.h[i]);
        f[2 * i] = t.x;
        f[2 * i + 1] = t.y;
    }
}

static inline int kern_cdiv(long long a, long long b) { return (int)((a + b - 1) / b); }

int kern_cuda__attn_prefill_mma(KernCuda *ctx, KernBf16 *out, const KernBf16 *q,
                                const KernBf16 *k_cache, const KernBf16 *v_cache,
                                const KernAttnBatch *b);

/* Device scratch of at least bytes, owned by ctx (kernels/cuda/common.cu). */
void *kern_cuda__workspace(KernCuda *ctx, size_t bytes);

#endif
