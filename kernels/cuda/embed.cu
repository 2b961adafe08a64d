/* kernels/cuda/embed.cu: token embedding lookup, one block per token. */
#include "common.cuh"

// out is (N,C); table is (V,C); tokens is (N)
__global__ static void embed_kernel(__nv_bfloat16 *out, const __nv_bfloat16 *table,
                                    const int32_t *tokens, int c)
{
    int t = blockIdx.x;
    const __nv_bfloat16 *src = table + (size_t)tokens[t] * c;
    __nv_bfloat16 *dst = out + (size_t)t * c;
    if (c % 8 == 0) { /* 16-byte copies */
        for (int i = threadIdx.x; i < c / 8; i += blockDim.x)
            ((uint4 *)dst)[i] = ((const uint4 *)src)[i];
    } else {
        for (int i = threadIdx.x; i < c; i += blockDim.x)
            dst[i] = src[i];
    }
}

extern "C" int kern_cuda_embed(KernCuda *ctx, KernBf16 *out, const KernBf16 *table,
                               const int32_t *tokens, int n, int c)
{
    if (n <= 0)
        return 0;
    embed_kernel<<<n, 128, 0, ctx->stream>>>(kern_bf(out), kern_bf(table), tokens, c);
    kern_cuda_check_launch();
    return 0;
}
