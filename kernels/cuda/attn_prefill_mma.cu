/* kernels/cuda/attn_prefill_mma.cu: causal GQA prefill attention over the
 * paged KV cache on tensor cores (version 2), FlashAttention-2 style.
 *
 * A block = 64 queries of one sequence and one head, 4 warps x 16 query
 * rows.  Per 64-key tile staged in shared memory (K row-major, V transposed,
 * both padded so the fragment loads hit 32 distinct banks), each warp does
 * S = Q K^T with mma.sync m16n8k16 (bf16 in, fp32 accumulate), the online
 * softmax on S's registers, converts P to bf16 A fragments in place and
 * accumulates O += P V.  Fragment layouts are the PTX ISA's for
 * m16n8k16 (g = lane/4, t = lane%4):
 *   A (16x16): {a0,a1} row g, cols 2t..2t+1; {a2,a3} row g+8; {a4,a5} row g,
 *              cols 2t+8..; {a6,a7} row g+8, cols 2t+8..
 *   B (16x8):  {b0,b1} rows(k) 2t..2t+1, col(n) g; {b2,b3} rows 2t+8..
 *   C (16x8):  {c0,c1} row g, cols 2t..2t+1; {c2,c3} row g+8
 * Head dims 64 and 128 (others use version 1).  Difference from the
 * reference: a NaN in V at a key hidden by the causal mask inside a visible
 * tile still poisons the row (0 * NaN in the product). */
#include "attn_common.cuh"

#define MMA_QT 64 /* queries per block */
#define MMA_KT 64 /* keys per tile */
#define MMA_THREADS 128

static __device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4],
                                                 uint32_t b0, uint32_t b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

static __device__ __forceinline__ uint32_t ld32(const __nv_bfloat16 *p)
{
    return *(const uint32_t *)p;
}

static __device__ __forceinline__ uint32_t pack_bf16(float lo, float hi)
{
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi); /* .x (lo) in the low half */
    return *(uint32_t *)&v;
}

// out, q are (Nq,H,D); caches are (NB,BS,KVH,D)
template <int D>
__global__ static void __launch_bounds__(MMA_THREADS)
    attn_prefill_mma_kernel(__nv_bfloat16 *out, const __nv_bfloat16 *q,
                            const __nv_bfloat16 *kc, const __nv_bfloat16 *vc, KernAttnBatch b)
{
    constexpr int KS = D + 8;      /* K row stride (bf16): rows 4 banks apart */
    constexpr int VS = MMA_KT + 8; /* V^T row stride */
    __shared__ __align__(16) __nv_bfloat16 ks[MMA_KT * KS];
    __shared__ __align__(16) __nv_bfloat16 vt[D * VS];

    int s = blockIdx.y, h = blockIdx.z;
    int q0 = b.q_start[s], q_len = b.q_start[s + 1] - q0;
    int tile0 = blockIdx.x * MMA_QT;
    if (tile0 >= q_len)
        return;
    int first_pos = b.ctx_lens[s] - q_len;
    int g = h / (b.heads / b.kv_heads);
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32, gr = lane >> 2, tg = lane & 3;
    size_t qrow = (size_t)b.heads * D;
    int r0 = tile0 + warp * 16 + gr, r1 = r0 + 8; /* query rows within the sequence */
    int qp0 = first_pos + r0, qp1 = first_pos + r1;
    int warp_last = first_pos + min(q_len - 1, tile0 + warp * 16 + 15);
    bool idle = tile0 + warp * 16 >= q_len; /* all 16 rows are padding */
    int kv_end = first_pos + min(q_len, tile0 + MMA_QT);

    uint32_t qa[D / 16][4];
    {
        const __nv_bfloat16 *qr0 = q + (q0 + (size_t)min(r0, q_len - 1)) * qrow + (size_t)h * D;
        const __nv_bfloat16 *qr1 = q + (q0 + (size_t)min(r1, q_len - 1)) * qrow + (size_t)h * D;
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
            int d0 = kk * 16 + tg * 2;
            qa[kk][0] = ld32(qr0 + d0);
            qa[kk][1] = ld32(qr1 + d0);
            qa[kk][2] = ld32(qr0 + d0 + 8);
            qa[kk][3] = ld32(qr1 + d0 + 8);
        }
    }
    float o[D / 8][4];
#pragma unroll
    for (int dt = 0; dt < D / 8; dt++)
        o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;
    const float sl2 = b.scale * 1.4426950408889634f; /* softmax in base 2 */

    for (int k0 = 0; k0 < kv_end; k0 += MMA_KT) {
        __syncthreads(); /* the previous tile is consumed */
        /* K: a warp copies whole rows (16-byte pieces along D, coalesced) */
        for (int i = threadIdx.x; i < MMA_KT * D / 8; i += MMA_THREADS) {
            int j = i / (D / 8), d0 = (i % (D / 8)) * 8;
            uint4 kv = make_uint4(0, 0, 0, 0);
            if (k0 + j < kv_end)
                kv = *(const uint4 *)(kc + attn_cache_offset(b, s, k0 + j, g) + d0);
            *(uint4 *)&ks[j * KS + d0] = kv;
        }
        /* V, transposed: consecutive threads take consecutive keys, so the
         * 2-byte stores into a V^T row land in distinct banks */
        for (int i = threadIdx.x; i < MMA_KT * D / 8; i += MMA_THREADS) {
            int j = i % MMA_KT, d0 = (i / MMA_KT) * 8;
            uint4 vv = make_uint4(0, 0, 0, 0);
            if (k0 + j < kv_end)
                vv = *(const uint4 *)(vc + attn_cache_offset(b, s, k0 + j, g) + d0);
            const __nv_bfloat16 *ve = (const __nv_bfloat16 *)&vv;
#pragma unroll
            for (int e = 0; e < 8; e++)
                vt[(d0 + e) * VS + j] = ve[e];
        }
        __syncthreads();
        if (idle || k0 > warp_last)
            continue; /* no row of this warp sees a key of this tile */

        float sc[MMA_KT / 8][4];
#pragma unroll
        for (int nt = 0; nt < MMA_KT / 8; nt++) {
            sc[nt][0] = sc[nt][1] = sc[nt][2] = sc[nt][3] = 0.f;
            const __nv_bfloat16 *kr = &ks[(nt * 8 + gr) * KS + tg * 2];
#pragma unroll
            for (int kk = 0; kk < D / 16; kk++)
                mma_16816(sc[nt], qa[kk], ld32(kr + kk * 16), ld32(kr + kk * 16 + 8));
        }
        float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
        for (int nt = 0; nt < MMA_KT / 8; nt++)
#pragma unroll
            for (int e = 0; e < 2; e++) {
                int key = k0 + nt * 8 + tg * 2 + e;
                float v0 = key <= qp0 ? sc[nt][e] * sl2 : -INFINITY;
                float v1 = key <= qp1 ? sc[nt][2 + e] * sl2 : -INFINITY;
                sc[nt][e] = v0, sc[nt][2 + e] = v1;
                mx0 = fmaxf(mx0, v0), mx1 = fmaxf(mx1, v1);
            }
#pragma unroll
        for (int o_ = 1; o_ <= 2; o_ <<= 1) {
            mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, o_));
            mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, o_));
        }
        float mn0 = fmaxf(m0, mx0), mn1 = fmaxf(m1, mx1);
        float base0 = mn0 == -INFINITY ? 0.f : mn0, base1 = mn1 == -INFINITY ? 0.f : mn1;
        float al0 = exp2f(m0 - base0), al1 = exp2f(m1 - base1);
        m0 = mn0, m1 = mn1;
        float ps0 = 0.f, ps1 = 0.f;
#pragma unroll
        for (int nt = 0; nt < MMA_KT / 8; nt++)
#pragma unroll
            for (int e = 0; e < 2; e++) {
                sc[nt][e] = exp2f(sc[nt][e] - base0);
                sc[nt][2 + e] = exp2f(sc[nt][2 + e] - base1);
                ps0 += sc[nt][e], ps1 += sc[nt][2 + e];
            }
        l0 = l0 * al0 + ps0; /* per-thread partial sums: reduced at the end */
        l1 = l1 * al1 + ps1;
#pragma unroll
        for (int dt = 0; dt < D / 8; dt++) {
            o[dt][0] *= al0, o[dt][1] *= al0;
            o[dt][2] *= al1, o[dt][3] *= al1;
        }
#pragma unroll
        for (int j = 0; j < MMA_KT / 16; j++) {
            uint32_t pa[4] = {pack_bf16(sc[2 * j][0], sc[2 * j][1]),
                              pack_bf16(sc[2 * j][2], sc[2 * j][3]),
                              pack_bf16(sc[2 * j + 1][0], sc[2 * j + 1][1]),
                              pack_bf16(sc[2 * j + 1][2], sc[2 * j + 1][3])};
#pragma unroll
            for (int dt = 0; dt < D / 8; dt++) {
                const __nv_bfloat16 *vr = &vt[(dt * 8 + gr) * VS + j * 16 + tg * 2];
                mma_16816(o[dt], pa, ld32(vr), ld32(vr + 8));
            }
        }
    }

#pragma unroll
    for (int o_ = 1; o_ <= 2; o_ <<= 1) {
        l0 += __shfl_xor_sync(0xffffffffu, l0, o_);
        l1 += __shfl_xor_sync(0xffffffffu, l1, o_);
    }
    float i0 = 1.f / l0, i1 = 1.f / l1;
    if (r0 < q_len) {
        __nv_bfloat16 *dst = out + (q0 + (size_t)r0) * qrow + (size_t)h * D + tg * 2;
#pragma unroll
        for (int dt = 0; dt < D / 8; dt++)
            *(uint32_t *)(dst + dt * 8) = pack_bf16(o[dt][0] * i0, o[dt][1] * i0);
    }
    if (r1 < q_len) {
        __nv_bfloat16 *dst = out + (q0 + (size_t)r1) * qrow + (size_t)h * D + tg * 2;
#pragma unroll
        for (int dt = 0; dt < D / 8; dt++)
            *(uint32_t *)(dst + dt * 8) = pack_bf16(o[dt][2] * i1, o[dt][3] * i1);
    }
}

/* 0 when launched; -EINVAL for a head dim this version does not cover. */
int kern_cuda__attn_prefill_mma(KernCuda *ctx, KernBf16 *out, const KernBf16 *q,
                                const KernBf16 *k_cache, const KernBf16 *v_cache,
                                const KernAttnBatch *b)
{
    dim3 grid(kern_cdiv(b->max_q_len, MMA_QT), b->n_seqs, b->heads);
    switch (b->head_dim) {
    case 64:
        attn_prefill_mma_kernel<64><<<grid, MMA_THREADS, 0, ctx->stream>>>(
            kern_bf(out), kern_bf(q), kern_bf(k_cache), kern_bf(v_cache), *b);
        break;
    case 128:
        attn_prefill_mma_kernel<128><<<grid, MMA_THREADS, 0, ctx->stream>>>(
            kern_bf(out), kern_bf(q), kern_bf(k_cache), kern_bf(v_cache), *b);
        break;
    default:
        return -EINVAL;
    }
    kern_cuda_check_launch();
    return 0;
}
