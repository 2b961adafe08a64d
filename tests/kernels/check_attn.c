/* tests/kernels/check_attn.c: build attention test batches. */
#include "check_attn.h"

#include <assert.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>

void attn_host_build(AttnHost *a, const AttnCase *c, CheckRng *rng, int fill_cache)
{
    int s, used = 0, max_blocks = 1;
    memset(a, 0, sizeof *a);
    assert(c->n_seqs > 0 && c->n_seqs <= ATTN_MAX_SEQS);
    size_t ns = (size_t)c->n_seqs;
    for (s = 0; s < c->n_seqs; s++) {
        int nb = (c->ctx_len[s] + c->block_size - 1) / c->block_size;
        used += nb;
        if (nb > max_blocks)
            max_blocks = nb;
    }
    a->num_blocks = used + 3; /* spares nobody owns */
    a->q_start = calloc(ns + 1, sizeof(int32_t));
    a->ctx_lens = calloc(ns, sizeof(int32_t));
    a->block_tables = malloc(sizeof(int32_t) * ns * (size_t)max_blocks);
    int32_t *perm = malloc(sizeof(int32_t) * (size_t)a->num_blocks);
    assert(a->q_start && a->ctx_lens && a->block_tables && perm);
    for (int i = 0; i < a->num_blocks; i++)
        perm[i] = i;
    for (int i = a->num_blocks - 1; i > 0; i--) { /* Fisher-Yates */
        int j = check_rng_int(rng, i + 1);
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    int next = 0;
    for (s = 0; s < c->n_seqs; s++) {
        assert(c->q_len[s] <= c->ctx_len[s]);
        a->q_start[s + 1] = a->q_start[s] + c->q_len[s];
        a->ctx_lens[s] = c->ctx_len[s];
        int nb = (c->ctx_len[s] + c->block_size - 1) / c->block_size;
        for (int j = 0; j < max_blocks; j++)
            a->block_tables[(size_t)s * max_blocks + j] = j < nb ? perm[next++] : -1;
    }
    free(perm);
    a->cache_elems = (size_t)a->num_blocks * c->block_size * c->kv_heads * c->head_dim;
    a->k_cache = malloc(sizeof(float) * a->cache_elems);
    a->v_cache = malloc(sizeof(float) * a->cache_elems);
    assert(a->k_cache && a->v_cache);
    if (fill_cache) {
        check_fill_uniform(rng, a->k_cache, a->cache_elems, -1.f, 1.f);
        check_fill_uniform(rng, a->v_cache, a->cache_elems, -1.f, 1.f);
        check_round_bf16(a->k_cache, a->cache_elems);
        check_round_bf16(a->v_cache, a->cache_elems);
    }
    a->q_elems = (size_t)a->q_start[c->n_seqs] * c->heads * c->head_dim;

    int max_q = 0, max_ctx = 0;
    for (s = 0; s < c->n_seqs; s++) {
        if (c->q_len[s] > max_q)
            max_q = c->q_len[s];
        if (c->ctx_len[s] > max_ctx)
            max_ctx = c->ctx_len[s];
    }
    a->b = (KernAttnBatch){
        .n_seqs = c->n_seqs, .q_start = a->q_start, .ctx_lens = a->ctx_lens,
        .block_tables = a->block_tables, .max_blocks = max_blocks,
        .block_size = c->block_size, .heads = c->heads, .kv_heads = c->kv_heads,
        .head_dim = c->head_dim, .scale = 1.0f / sqrtf((float)c->head_dim),
        .max_q_len = max_q, .max_ctx_len = max_ctx,
    };
}

void attn_host_free(AttnHost *a)
{
    free(a->q_start);
    free(a->ctx_lens);
    free(a->block_tables);
    free(a->k_cache);
    free(a->v_cache);
    memset(a, 0, sizeof *a);
}

void attn_case_describe(const AttnCase *c, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "S=%d q=[", c->n_seqs);
    for (int s = 0; s < c->n_seqs && o < len; s++)
        o += (size_t)snprintf(buf + o, len - o, "%s%d", s ? "," : "", c->q_len[s]);
    if (o < len)
        o += (size_t)snprintf(buf + o, len - o, "] ctx=[");
    for (int s = 0; s < c->n_seqs && o < len; s++)
        o += (size_t)snprintf(buf + o, len - o, "%s%d", s ? "," : "", c->ctx_len[s]);
    if (o < len)
        snprintf(buf + o, len - o, "] H=%d KVH=%d D=%d BS=%d", c->heads, c->kv_heads,
                 c->head_dim, c->block_size);
}
