/* kernels/cuda/swiglu.cu: out = silu(gate) * up, elementwise. */
#include "common.cuh"

// out is (N,I); gu is (N,2I): gate = gu[:, :I], up = gu[:, I:]
__global__ static void swiglu_kernel(__nv_bfloat16 *out, const __nv_bfloat16 *gu, int n,
                                     int inter)
{
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)n * inter)
        return;
    long long t = idx / inter, i = idx % inter;
    float g = __bfloat162float(gu[t * 2 * inter + i]);
    float u = __bfloat162float(gu[t * 2 * inter + inter + i]);
    out[idx] = __float2bfloat16(g / (1.0f + expf(-g)) * u);
}

extern "C" int kern_cuda_swiglu(KernCuda *ctx, KernBf16 *out, const KernBf16 *gu, int n,
                                int inter)
{
    long long total = (long long)n * inter;
    if (total <= 0)
        return 0;
    swiglu_kernel<<<kern_cdiv(total, 256), 256, 0, ctx->stream>>>(kern_bf(out), kern_bf(gu), n,
                                                                  inter);
    kern_cuda_check_launch();
    return 0;
}
