/* kernels/cuda/fill.cu: seeded uniform random fill on the device. */
#include "common.cuh"

/* kern_rand_uniform of kernels.h, bit for bit: splitmix64 of (seed, index),
 * counter-based so any thread order gives the same values; explicit
 * round-to-nearest ops so nvcc does not fuse them into an FMA. */
static __device__ __forceinline__ uint64_t fill_hash(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// dst is (N)
__global__ static void fill_uniform_kernel(__nv_bfloat16 *dst, size_t n, uint64_t seed, float lo,
                                           float hi)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float u = __fmul_rn((float)(fill_hash(seed, i) >> 40), 1.0f / 16777216.0f);
        dst[i] = __float2bfloat16_rn(__fadd_rn(lo, __fmul_rn(__fsub_rn(hi, lo), u)));
    }
}

extern "C" int kern_cuda_fill_uniform(KernCuda *ctx, KernBf16 *dst, size_t n, uint64_t seed,
                                      float lo, float hi)
{
    if (n == 0)
        return 0;
    size_t blocks = (n + 255) / 256;
    fill_uniform_kernel<<<(unsigned)(blocks < 65536 ? blocks : 65536), 256, 0, ctx->stream>>>(
        kern_bf(dst), n, seed, lo, hi);
    kern_cuda_check_launch();
    return 0;
}
