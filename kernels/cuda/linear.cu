/* kernels/cuda/linear.cu: linear layers through cuBLAS, bf16 operands with
 * fp32 compute.  Row-major out(N,O) = x(N,C) w(O,C)^T is, read column-major,
 * out^T(O,N) = w^T x^T: gemm(T, N, m=O, n=N, k=C, A=w lda=C, B=x ldb=C). */
#include "common.cuh"

static int linear_gemm(KernCuda *ctx, void *out, cudaDataType_t out_type, const KernBf16 *x,
                       const KernBf16 *w, int n, int c, int o, float beta)
{
    if (n <= 0 || o <= 0)
        return 0;
    if (c <= 0)
        return -EINVAL;
    const float alpha = 1.0f;
    kern_blas_check(cublasGemmEx(ctx->blas, CUBLAS_OP_T, CUBLAS_OP_N, o, n, c, &alpha, w,
                                 CUDA_R_16BF, c, x, CUDA_R_16BF, c, &beta, out, out_type, o,
                                 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return 0;
}

// out is (N,O); x is (N,C); w is (O,C)
extern "C" int kern_cuda_linear(KernCuda *ctx, KernBf16 *out, const KernBf16 *x,
                                const KernBf16 *w, int n, int c, int o, int accumulate)
{
    return linear_gemm(ctx, out, CUDA_R_16BF, x, w, n, c, o, accumulate ? 1.0f : 0.0f);
}

extern "C" int kern_cuda_linear_f32(KernCuda *ctx, float *out, const KernBf16 *x,
                                    const KernBf16 *w, int n, int c, int o)
{
    return linear_gemm(ctx, out, CUDA_R_32F, x, w, n, c, o, 0.0f);
}
