/* kernels/ref/attention.c: causal GQA attention over the paged KV cache,
 * for a ragged batch of query chunks (prefill) or single tokens (decode).
 * Plain loops, double accumulation, a full softmax per query: the ground
 * truth the CUDA flash-style and split-K kernels are checked against. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "kernels.h"

/* Cache row of sequence s's token at position p, for kv head g: (D) floats. */
static const float *attn_cache_row(const float *cache, const KernAttnBatch *b, int s, int p,
                                   int g)
{
    int32_t block = b->block_tables[(size_t)s * b->max_blocks + p / b->block_size];
    assert(block >= 0);
    size_t slot = (size_t)block * b->block_size + p % b->block_size;
    return cache + (slot * b->kv_heads + g) * b->head_dim;
}

/* One query vector q (D) at position pos of sequence s, head h -> out (D). */
static void attn_one(float *out, const float *q, const float *k_cache, const float *v_cache,
                     const KernAttnBatch *b, int s, int h, int pos, double *scores)
{
    int d = b->head_dim;
    int g = h / (b->heads / b->kv_heads);
    double mx = -INFINITY;
    for (int p = 0; p <= pos; p++) {
        const float *k = attn_cache_row(k_cache, b, s, p, g);
        double dot = 0.0;
        for (int i = 0; i < d; i++)
            dot += (double)q[i] * k[i];
        scores[p] = dot * b->scale;
        if (scores[p] > mx)
            mx = scores[p];
    }
    double sum = 0.0;
    for (int p = 0; p <= pos; p++) {
        scores[p] = exp(scores[p] - mx);
        sum += scores[p];
    }
    for (int i = 0; i < d; i++) {
        double acc = 0.0;
        for (int p = 0; p <= pos; p++)
            acc += scores[p] * attn_cache_row(v_cache, b, s, p, g)[i];
        out[i] = (float)(acc / sum);
    }
}

static double *attn_scratch(const KernAttnBatch *b)
{
    int most = 1;
    for (int s = 0; s < b->n_seqs; s++)
        if (b->ctx_lens[s] > most)
            most = b->ctx_lens[s];
    double *scores = malloc(sizeof(double) * (size_t)most);
    assert(scores);
    return scores;
}

/* q, out are (Nq,H,D) */
void kern_ref_attn_prefill(float *out, const float *q, const float *k_cache,
                           const float *v_cache, const KernAttnBatch *b)
{
    assert(b->heads % b->kv_heads == 0);
    double *scores = attn_scratch(b);
    size_t row = (size_t)b->heads * b->head_dim;
    for (int s = 0; s < b->n_seqs; s++) {
        int q_len = b->q_start[s + 1] - b->q_start[s];
        assert(q_len <= b->ctx_lens[s]);
        for (int i = 0; i < q_len; i++) {
            size_t t = (size_t)b->q_start[s] + i;
            int pos = b->ctx_lens[s] - q_len + i;
            for (int h = 0; h < b->heads; h++)
                attn_one(out + t * row + (size_t)h * b->head_dim,
                         q + t * row + (size_t)h * b->head_dim, k_cache, v_cache, b, s, h, pos,
                         scores);
        }
    }
    free(scores);
}

/* q, out are (S,H,D) */
void kern_ref_attn_decode(float *out, const float *q, const float *k_cache,
                          const float *v_cache, const KernAttnBatch *b)
{
    assert(b->heads % b->kv_heads == 0);
    double *scores = attn_scratch(b);
    size_t row = (size_t)b->heads * b->head_dim;
    for (int s = 0; s < b->n_seqs; s++) {
        assert(b->ctx_lens[s] >= 1);
        for (int h = 0; h < b->heads; h++)
            attn_one(out + s * row + (size_t)h * b->head_dim,
                     q + s * row + (size_t)h * b->head_dim, k_cache, v_cache, b, s, h,
                     b->ctx_lens[s] - 1, scores);
    }
    free(scores);
}
