/* kernels/cuda/attn_prefill.cu: causal GQA attention of a ragged batch of
 * query chunks over the paged KV cache (flash-style online softmax).
 *
 * Version 2 (attn_prefill_mma.cu, tensor cores) runs head dims 64 and 128;
 * this version 1, correct first, the rest: CUDA cores, fp32 math.  A block takes 16 queries
 * of one sequence and one head (4 warps x 4 queries) and walks the keys in
 * tiles of 32 staged in shared memory as bf16; lane j scores key j, then
 * each lane accumulates its own output dims.  Tensor-core (wgmma / mma)
 * tiles are the next version; see kernels/README.md. */
#include "attn_common.cuh"

#define PF_WARPS 4
#define PF_QPW 4 /* queries per warp */
#define PF_QT (PF_WARPS * PF_QPW)
#define PF_KT 32 /* keys per tile: one per lane */

// out, q are (Nq,H,D); caches are (NB,BS,KVH,D)
template <int D>
__global__ static void __launch_bounds__(PF_WARPS * 32)
    attn_prefill_kernel(__nv_bfloat16 *out, const __nv_bfloat16 *q, const __nv_bfloat16 *kc,
                        const __nv_bfloat16 *vc, KernAttnBatch b)
{
    constexpr int KS = D + 2; /* padded K row (bf16): odd word stride, no bank conflicts */
    constexpr int PAIRS = (D / 2 + 31) / 32; /* bf16 pairs of output dims per lane */
    __shared__ __align__(16) __nv_bfloat16 qs[PF_QT][D];
    __shared__ __align__(16) __nv_bfloat16 ks[PF_KT][KS];
    __shared__ __align__(16) __nv_bfloat16 vs[PF_KT][D];

    int s = blockIdx.y, h = blockIdx.z;
    int q0 = b.q_start[s], q_len = b.q_start[s + 1] - q0;
    int tile0 = blockIdx.x * PF_QT;
    if (tile0 >= q_len)
        return;
    int ctx = b.ctx_lens[s];
    int first_pos = ctx - q_len; /* position of query 0 */
    int g = h / (b.heads / b.kv_heads);
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    size_t qrow = (size_t)b.heads * D;

    for (int i = threadIdx.x; i < PF_QT * D; i += blockDim.x) {
        int qi = i / D, di = i % D;
        qs[qi][di] = tile0 + qi < q_len ? q[(q0 + tile0 + qi) * qrow + (size_t)h * D + di]
                                        : __float2bfloat16(0.f);
    }

    float m[PF_QPW], l[PF_QPW], acc[PF_QPW][PAIRS][2];
#pragma unroll
    for (int r = 0; r < PF_QPW; r++) {
        m[r] = -INFINITY;
        l[r] = 0.f;
#pragma unroll
        for (int pp = 0; pp < PAIRS; pp++)
            acc[r][pp][0] = acc[r][pp][1] = 0.f;
    }

    /* keys needed by this tile's last query */
    int kv_end = first_pos + min(q_len, tile0 + PF_QT);
    for (int k0 = 0; k0 < kv_end; k0 += PF_KT) {
        __syncthreads(); /* previous tile fully consumed (and qs written, first time) */
        for (int i = threadIdx.x; i < PF_KT * D / 2; i += blockDim.x) {
            int kj = i / (D / 2), di = 2 * (i % (D / 2));
            __nv_bfloat162 kv2 = __floats2bfloat162_rn(0.f, 0.f), vv2 = kv2;
            if (k0 + kj < kv_end) {
                size_t off = attn_cache_offset(b, s, k0 + kj, g) + di;
                kv2 = *(const __nv_bfloat162 *)(kc + off);
                vv2 = *(const __nv_bfloat162 *)(vc + off);
            }
            *(__nv_bfloat162 *)&ks[kj][di] = kv2;
            *(__nv_bfloat162 *)&vs[kj][di] = vv2;
        }
        __syncthreads();
#pragma unroll
        for (int r = 0; r < PF_QPW; r++) {
            int qi = warp * PF_QPW + r;
            int qpos = first_pos + tile0 + qi;
            if (tile0 + qi >= q_len)
                continue; /* warp-uniform */
            int kpos = k0 + lane;
            bool valid = kpos <= qpos; /* causal; also < kv_end since qpos < kv_end */
            float sc = -INFINITY;
            if (valid) {
                float dot = 0.f;
#pragma unroll 8
                for (int di = 0; di < D; di += 2) {
                    float2 qq = __bfloat1622float2(*(const __nv_bfloat162 *)&qs[qi][di]);
                    float2 kk = __bfloat1622float2(*(const __nv_bfloat162 *)&ks[lane][di]);
                    dot += qq.x * kk.x + qq.y * kk.y;
                }
                sc = dot * b.scale;
            }
            float tmax = sc;
            for (int o = 16; o > 0; o >>= 1)
                tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, o));
            float mnew = fmaxf(m[r], tmax);
            if (mnew == -INFINITY)
                continue; /* nothing visible yet (cannot happen for finite inputs) */
            float p = valid ? __expf(sc - mnew) : 0.f;
            float alpha = __expf(m[r] - mnew);
            float psum = p;
            for (int o = 16; o > 0; o >>= 1)
                psum += __shfl_xor_sync(0xffffffffu, psum, o);
            l[r] = l[r] * alpha + psum;
            m[r] = mnew;
#pragma unroll
            for (int pp = 0; pp < PAIRS; pp++) {
                acc[r][pp][0] *= alpha;
                acc[r][pp][1] *= alpha;
            }
            int nvalid = min(PF_KT, qpos - k0 + 1); /* keys k0 .. k0+nvalid-1 are visible */
            for (int j = 0; j < nvalid; j++) {
                float pj = __shfl_sync(0xffffffffu, p, j);
#pragma unroll
                for (int pp = 0; pp < PAIRS; pp++) {
                    int di = 2 * (lane + 32 * pp);
                    if (di < D) {
                        float2 vv = __bfloat1622float2(*(const __nv_bfloat162 *)&vs[j][di]);
                        acc[r][pp][0] += pj * vv.x;
                        acc[r][pp][1] += pj * vv.y;
                    }
                }
            }
        }
    }

#pragma unroll
    for (int r = 0; r < PF_QPW; r++) {
        int qi = warp * PF_QPW + r;
        if (tile0 + qi >= q_len)
            continue;
        __nv_bfloat16 *o = out + (q0 + tile0 + qi) * qrow + (size_t)h * D;
        float inv = 1.0f / l[r];
#pragma unroll
        for (int pp = 0; pp < PAIRS; pp++) {
            int di = 2 * (lane + 32 * pp);
            if (di < D)
                *(__nv_bfloat162 *)(o + di) =
                    __floats2bfloat162_rn(acc[r][pp][0] * inv, acc[r][pp][1] * inv);
        }
    }
}

extern "C" int kern_cuda_attn_prefill(KernCuda *ctx, KernBf16 *out, const KernBf16 *q,
                                      const KernBf16 *k_cache, const KernBf16 *v_cache,
                                      const KernAttnBatch *b)
{
    if (b->n_seqs <= 0 || b->max_q_len <= 0)
        return 0;
    if (b->kv_heads <= 0 || b->heads % b->kv_heads)
        return -EINVAL;
    if (ctx->prefill_version != 1 &&
        kern_cuda__attn_prefill_mma(ctx, out, q, k_cache, v_cache, b) == 0)
        return 0; /* tensor cores took it (head dims 64, 128) */
    dim3 grid(kern_cdiv(b->max_q_len, PF_QT), b->n_seqs, b->heads);
    ATTN_DISPATCH_D(b->head_dim, {
        attn_prefill_kernel<D><<<grid, PF_WARPS * 32, 0, ctx->stream>>>(
            kern_bf(out), kern_bf(q), kern_bf(k_cache), kern_bf(v_cache), *b);
    });
    kern_cuda_check_launch();
    return 0;
}
