/* kernels/cuda/rope.cu: rotary embedding in place, rotate-half pairing;
 * one thread per (token, head, pair). */
#include "common.cuh"

// q is (N,H,D); k is (N,KVH,D); pos is (N)
__global__ static void rope_kernel(__nv_bfloat16 *q, __nv_bfloat16 *k, const int32_t *pos,
                                   int n, int h, int kvh, int d, double log2_theta)
{
    int half = d / 2;
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long per_token = (long long)(h + kvh) * half;
    if (idx >= per_token * n)
        return;
    int t = (int)(idx / per_token);
    int r = (int)(idx % per_token);
    int head = r / half, i = r % half;
    __nv_bfloat16 *v = head < h ? q + ((size_t)t * h + head) * d
                                : k + ((size_t)t * kvh + (head - h)) * d;
    /* The angle pos * theta^(-2i/D) reaches thousands of radians: in fp32 it
     * would be off by ~1e-3 rad at pos 8k.  Form and reduce it in double
     * (a few FP64 ops in a memory-bound kernel), then sincosf the rest. */
    double a = (double)pos[t] * exp2(-2.0 * i / d * log2_theta);
    a -= 6.283185307179586 * rint(a * 0.15915494309189535);
    float s, cs;
    sincosf((float)a, &s, &cs);
    float x0 = __bfloat162float(v[i]), x1 = __bfloat162float(v[i + half]);
    v[i] = __float2bfloat16(x0 * cs - x1 * s);
    v[i + half] = __float2bfloat16(x0 * s + x1 * cs);
}

extern "C" int kern_cuda_rope(KernCuda *ctx, KernBf16 *q, KernBf16 *k, const int32_t *pos, int n,
                              int h, int kvh, int d, float theta)
{
    if (d % 2)
        return -EINVAL;
    long long total = (long long)n * (h + kvh) * (d / 2);
    if (total <= 0)
        return 0;
    rope_kernel<<<kern_cdiv(total, 256), 256, 0, ctx->stream>>>(kern_bf(q), kern_bf(k), pos, n, h,
                                                                kvh, d, log2((double)theta));
    kern_cuda_check_launch();
    return 0;
}
