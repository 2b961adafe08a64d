/* kernels/cuda/attn_common.cuh: paged-cache addressing shared by the two
 * attention kernels. */
#ifndef SERVESIM_KERNELS_CUDA_ATTN_COMMON_CUH
#define SERVESIM_KERNELS_CUDA_ATTN_COMMON_CUH

#include "common.cuh"

/* Element offset of (sequence s, position p, kv head g, dim 0) in a cache
 * (NB,BS,KVH,D).  Only positions < ctx_lens[s] may be asked for: block table
 * entries past the sequence's blocks are not ours to read. */
static __device__ __forceinline__ size_t attn_cache_offset(const KernAttnBatch &b, int s, int p,
                                                           int g)
{
    int32_t block = b.block_tables[(size_t)s * b.max_blocks + p / b.block_size];
    size_t slot = (size_t)block * b.block_size + p % b.block_size;
    return (slot * b.kv_heads + g) * b.head_dim;
}

/* Run body with the compile-time head dim D; -EINVAL for an unsupported D. */
#define ATTN_DISPATCH_D(d, ...)                                                                 \
    switch (d) {                                                                                \
    case 16: { constexpr int D = 16; __VA_ARGS__; } break;                                      \
    case 32: { constexpr int D = 32; __VA_ARGS__; } break;                                      \
    case 64: { constexpr int D = 64; __VA_ARGS__; } break;                                      \
    case 128: { constexpr int D = 128; __VA_ARGS__; } break;                                    \
    case 256: { constexpr int D = 256; __VA_ARGS__; } break;                                    \
    default: return -EINVAL;                                                                    \
    }

#endif
