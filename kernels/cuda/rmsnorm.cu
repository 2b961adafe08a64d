/* kernels/cuda/rmsnorm.cu: RMSNorm, one block per row, fp32 statistics. */
#include "common.cuh"

#define RMSNORM_THREADS 256

// out, x are (N,C); w is (C)
__global__ static void __launch_bounds__(RMSNORM_THREADS)
    rmsnorm_kernel(__nv_bfloat16 *out, const __nv_bfloat16 *x, const __nv_bfloat16 *w, int c,
                   float eps)
{
    __shared__ float warp_sums[RMSNORM_THREADS / 32];
    const __nv_bfloat16 *xr = x + (size_t)blockIdx.x * c;
    __nv_bfloat16 *orow = out + (size_t)blockIdx.x * c;
    float ss = 0.f;
    for (int i = threadIdx.x; i < c; i += blockDim.x) {
        float v = __bfloat162float(xr[i]);
        ss += v * v;
    }
    for (int o = 16; o > 0; o >>= 1)
        ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if (threadIdx.x % 32 == 0)
        warp_sums[threadIdx.x / 32] = ss;
    __syncthreads();
    float total = 0.f;
    for (int i = 0; i < RMSNORM_THREADS / 32; i++)
        total += warp_sums[i];
    float inv = rsqrtf(total / c + eps);
    for (int i = threadIdx.x; i < c; i += blockDim.x)
        orow[i] = __float2bfloat16(__bfloat162float(xr[i]) * inv * __bfloat162float(w[i]));
}

extern "C" int kern_cuda_rmsnorm(KernCuda *ctx, KernBf16 *out, const KernBf16 *x,
                                 const KernBf16 *w, int n, int c, float eps)
{
    if (n <= 0)
        return 0;
    rmsnorm_kernel<<<n, RMSNORM_THREADS, 0, ctx->stream>>>(kern_bf(out), kern_bf(x), kern_bf(w),
                                                           c, eps);
    kern_cuda_check_launch();
    return 0;
}
