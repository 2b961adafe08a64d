/* kernels/cuda/attn_decode.cu: decode attention, one query token per
 * sequence, over the paged KV cache, split-K (vLLM paged attention v2).
 *
 * A block owns one sequence, one kv head with up to NG <= DEC_MAXG of the query
 * heads that share it (GQA: K and V are read once for the whole group), and
 * one partition of plen <= DEC_PART context tokens.  D/8 threads share a key
 * row, each with one 16-byte load; DEC_UNROLL rows are loaded before any is
 * used so several loads are in flight.  Scores go to shared memory, the
 * partition's softmax is taken there, then V is streamed the same way.  With
 * one partition the block writes the output; otherwise it writes (acc, max,
 * sum) and decode_reduce_kernel merges the partitions. */
#include "attn_common.cuh"

#define DEC_THREADS 128
#define DEC_PART 512 /* most context tokens per partition (split-K) */
#define DEC_MIN_PART 64
#define DEC_MAXG 8   /* query heads per block */
#define DEC_UNROLL 4

template <int D, int NG>
struct DecShared {
    static constexpr int RED = DEC_THREADS / 32 * NG * D; /* cross-warp partial sums */
    static constexpr int SC = NG * DEC_PART;              /* scores, then probabilities */
    static constexpr int FLOATS = RED > SC ? RED : SC;
};

// out, q are (S,H,D); caches are (NB,BS,KVH,D);
// part_acc is (S,H,P,D), part_ml is (S,H,P,2) with P = gridDim.x partitions
template <int D, int NG>
__global__ static void __launch_bounds__(DEC_THREADS)
    attn_decode_kernel(__nv_bfloat16 *out, float *part_acc, float *part_ml,
                       const __nv_bfloat16 *q, const __nv_bfloat16 *kc, const __nv_bfloat16 *vc,
                       KernAttnBatch b, int gchunks, int plen)
{
    constexpr int TPK = D / 8;              /* threads per key row */
    constexpr int KPI = DEC_THREADS / TPK;  /* key rows per block pass */
    __shared__ float sm[DecShared<D, NG>::FLOATS];
    __shared__ float sm_m[NG], sm_l[NG];

    int part = blockIdx.x, s = blockIdx.y;
    int kvh = blockIdx.z / gchunks, chunk = blockIdx.z % gchunks;
    int group = b.heads / b.kv_heads;
    int h0 = kvh * group + chunk * NG;
    int ng = min(NG, group - chunk * NG);
    int ctx = b.ctx_lens[s];
    int start = part * plen, end = min(ctx, start + plen);
    if (start >= end)
        return;
    int n = end - start;
    int kk = threadIdx.x / TPK, li = threadIdx.x % TPK;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

    float qf[NG][8];
#pragma unroll
    for (int gi = 0; gi < NG; gi++) {
        KernBf16x8 v = {};
        if (gi < ng)
            v = *(const KernBf16x8 *)(q + ((size_t)s * b.heads + h0 + gi) * D + li * 8);
        kern_bf16x8_to_float(v, qf[gi]);
    }

    /* 1. scores */
    for (int p0 = start; p0 < end; p0 += KPI * DEC_UNROLL) {
        KernBf16x8 kv[DEC_UNROLL] = {};
#pragma unroll
        for (int u = 0; u < DEC_UNROLL; u++) {
            int p = p0 + u * KPI + kk;
            if (p < end)
                kv[u] = *(const KernBf16x8 *)(kc + attn_cache_offset(b, s, p, kvh) + li * 8);
        }
#pragma unroll
        for (int u = 0; u < DEC_UNROLL; u++) {
            int p = p0 + u * KPI + kk;
            float kf[8];
            kern_bf16x8_to_float(kv[u], kf);
#pragma unroll
            for (int gi = 0; gi < NG; gi++) {
                float dot = 0.f;
#pragma unroll
                for (int e = 0; e < 8; e++)
                    dot += qf[gi][e] * kf[e];
#pragma unroll
                for (int o = TPK / 2; o > 0; o >>= 1)
                    dot += __shfl_xor_sync(0xffffffffu, dot, o);
                if (li == 0 && p < end && gi < ng)
                    sm[gi * DEC_PART + (p - start)] = dot * b.scale;
            }
        }
    }
    __syncthreads();

    /* 2. softmax of the partition, one warp per head */
    for (int gi = warp; gi < ng; gi += DEC_THREADS / 32) {
        float *sc = sm + gi * DEC_PART;
        float mx = -INFINITY;
        for (int i = lane; i < n; i += 32)
            mx = fmaxf(mx, sc[i]);
        for (int o = 16; o > 0; o >>= 1)
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
        float sum = 0.f;
        for (int i = lane; i < n; i += 32) {
            float e = __expf(sc[i] - mx);
            sc[i] = e;
            sum += e;
        }
        for (int o = 16; o > 0; o >>= 1)
            sum += __shfl_xor_sync(0xffffffffu, sum, o);
        if (lane == 0) {
            sm_m[gi] = mx;
            sm_l[gi] = sum;
        }
    }
    __syncthreads();

    /* 3. probabilities times V */
    float acc[NG][8];
#pragma unroll
    for (int gi = 0; gi < NG; gi++)
#pragma unroll
        for (int e = 0; e < 8; e++)
            acc[gi][e] = 0.f;
    for (int p0 = start; p0 < end; p0 += KPI * DEC_UNROLL) {
        KernBf16x8 vv[DEC_UNROLL] = {};
#pragma unroll
        for (int u = 0; u < DEC_UNROLL; u++) {
            int p = p0 + u * KPI + kk;
            if (p < end)
                vv[u] = *(const KernBf16x8 *)(vc + attn_cache_offset(b, s, p, kvh) + li * 8);
        }
#pragma unroll
        for (int u = 0; u < DEC_UNROLL; u++) {
            int p = p0 + u * KPI + kk;
            if (p >= end)
                continue;
            float vf[8];
            kern_bf16x8_to_float(vv[u], vf);
#pragma unroll
            for (int gi = 0; gi < NG; gi++) {
                float pr = gi < ng ? sm[gi * DEC_PART + (p - start)] : 0.f;
#pragma unroll
                for (int e = 0; e < 8; e++)
                    acc[gi][e] += pr * vf[e];
            }
        }
    }
    /* sum over the key rows of a warp (lanes with equal li), then over warps */
#pragma unroll
    for (int gi = 0; gi < NG; gi++)
#pragma unroll
        for (int e = 0; e < 8; e++)
#pragma unroll
            for (int o = TPK; o < 32; o <<= 1)
                acc[gi][e] += __shfl_xor_sync(0xffffffffu, acc[gi][e], o);
    __syncthreads(); /* done with the probabilities: reuse sm */
    if (lane < TPK)
        for (int gi = 0; gi < ng; gi++)
#pragma unroll
            for (int e = 0; e < 8; e++)
                sm[(warp * NG + gi) * D + li * 8 + e] = acc[gi][e];
    __syncthreads();
    for (int i = threadIdx.x; i < ng * D; i += DEC_THREADS) {
        int gi = i / D, di = i % D;
        float total = 0.f;
        for (int w = 0; w < DEC_THREADS / 32; w++)
            total += sm[(w * NG + gi) * D + di];
        size_t sh = (size_t)s * b.heads + h0 + gi;
        if (gridDim.x == 1) {
            out[sh * D + di] = __float2bfloat16(total / sm_l[gi]);
        } else {
            part_acc[(sh * gridDim.x + part) * D + di] = total;
            if (di == 0) {
                part_ml[(sh * gridDim.x + part) * 2] = sm_m[gi];
                part_ml[(sh * gridDim.x + part) * 2 + 1] = sm_l[gi];
            }
        }
    }
}

/* Merge the partitions: out = sum_i acc_i e^(m_i - M) / sum_i l_i e^(m_i - M).
 * One block per (sequence, head), one thread per dim. */
__global__ static void attn_decode_reduce_kernel(__nv_bfloat16 *out, const float *part_acc,
                                                 const float *part_ml, const int32_t *ctx_lens,
                                                 int heads, int d, int nparts, int plen)
{
    int s = blockIdx.x / heads;
    size_t sh = blockIdx.x;
    int np = (ctx_lens[s] + plen - 1) / plen;
    const float *ml = part_ml + sh * nparts * 2;
    float mx = -INFINITY;
    for (int i = 0; i < np; i++)
        mx = fmaxf(mx, ml[2 * i]);
    for (int di = threadIdx.x; di < d; di += blockDim.x) {
        float num = 0.f, den = 0.f;
        for (int i = 0; i < np; i++) {
            float w = __expf(ml[2 * i] - mx);
            num += part_acc[(sh * nparts + i) * d + di] * w;
            den += ml[2 * i + 1] * w;
        }
        out[sh * d + di] = __float2bfloat16(num / den);
    }
}

extern "C" int kern_cuda_attn_decode(KernCuda *ctx, KernBf16 *out, const KernBf16 *q,
                                     const KernBf16 *k_cache, const KernBf16 *v_cache,
                                     const KernAttnBatch *b)
{
    if (b->n_seqs <= 0)
        return 0;
    if (b->kv_heads <= 0 || b->heads % b->kv_heads)
        return -EINVAL;
    int group = b->heads / b->kv_heads;
    int gchunks = kern_cdiv(group, DEC_MAXG);
    int ctx_max = b->max_ctx_len > 0 ? b->max_ctx_len : 1;
    /* Partition length: DEC_PART, halved while the grid would leave SMs idle
     * (fewer than 2 blocks per SM), down to DEC_MIN_PART; or as set. */
    int plen = ctx->decode_partition > 0 ? ctx->decode_partition : DEC_PART;
    if (plen > DEC_PART)
        return -EINVAL;
    if (ctx->decode_partition <= 0)
        while (plen > DEC_MIN_PART &&
               (long long)kern_cdiv(ctx_max, plen) * b->n_seqs * b->kv_heads * gchunks <
                   2LL * ctx->sm_count)
            plen /= 2;
    int nparts = kern_cdiv(ctx_max, plen);
    int ng = group < DEC_MAXG ? group : DEC_MAXG; /* heads per block, rounded up below */
    float *part_acc = NULL, *part_ml = NULL;
    if (nparts > 1) {
        size_t rows = (size_t)b->n_seqs * b->heads * nparts;
        float *w = (float *)kern_cuda__workspace(ctx, rows * ((size_t)b->head_dim + 2) * 4);
        part_acc = w;
        part_ml = w + rows * b->head_dim;
    }
    dim3 grid(nparts, b->n_seqs, b->kv_heads * gchunks);
#define DEC_LAUNCH(NG_)                                                                        \
    attn_decode_kernel<D, NG_><<<grid, DEC_THREADS, 0, ctx->stream>>>(                         \
        kern_bf(out), part_acc, part_ml, kern_bf(q), kern_bf(k_cache), kern_bf(v_cache), *b,   \
        gchunks, plen)
    ATTN_DISPATCH_D(b->head_dim, {
        if (ng == 1)
            DEC_LAUNCH(1);
        else if (ng == 2)
            DEC_LAUNCH(2);
        else if (ng <= 4)
            DEC_LAUNCH(4);
        else
            DEC_LAUNCH(8);
    });
#undef DEC_LAUNCH
    kern_cuda_check_launch();
    if (nparts > 1) {
        attn_decode_reduce_kernel<<<b->n_seqs * b->heads, 128, 0, ctx->stream>>>(
            kern_bf(out), part_acc, part_ml, b->ctx_lens, b->heads, b->head_dim, nparts, plen);
        kern_cuda_check_launch();
    }
    return 0;
}
