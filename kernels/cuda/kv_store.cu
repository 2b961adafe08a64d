/* kernels/cuda/kv_store.cu: write this step's keys and values into the
 * paged cache (vLLM's reshape_and_cache); one block per token. */
#include "common.cuh"

// k, v are (N,KVH,D); caches are (NB,BS,KVH,D); slots is (N)
__global__ static void kv_store_kernel(__nv_bfloat16 *k_cache, __nv_bfloat16 *v_cache,
                                       const __nv_bfloat16 *k, const __nv_bfloat16 *v,
                                       const int32_t *slots, int row)
{
    int t = blockIdx.x;
    long long slot = slots[t];
    if (slot < 0)
        return;
    const __nv_bfloat16 *ks = k + (size_t)t * row, *vs = v + (size_t)t * row;
    __nv_bfloat16 *kd = k_cache + slot * row, *vd = v_cache + slot * row;
    if (row % 8 == 0) {
        for (int i = threadIdx.x; i < row / 8; i += blockDim.x) {
            ((uint4 *)kd)[i] = ((const uint4 *)ks)[i];
            ((uint4 *)vd)[i] = ((const uint4 *)vs)[i];
        }
    } else {
        for (int i = threadIdx.x; i < row; i += blockDim.x) {
            kd[i] = ks[i];
            vd[i] = vs[i];
        }
    }
}

extern "C" int kern_cuda_kv_store(KernCuda *ctx, KernBf16 *k_cache, KernBf16 *v_cache,
                                  const KernBf16 *k, const KernBf16 *v, const int32_t *slots,
                                  int n, int kvh, int d)
{
    if (n <= 0)
        return 0;
    kv_store_kernel<<<n, 128, 0, ctx->stream>>>(kern_bf(k_cache), kern_bf(v_cache), kern_bf(k),
                                                kern_bf(v), slots, kvh * d);
    kern_cuda_check_launch();
    return 0;
}
