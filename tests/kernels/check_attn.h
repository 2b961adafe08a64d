/* tests/kernels/check_attn.h: random ragged batches over a shuffled paged
 * KV cache, shared by the checker, the benchmark and the unit tests. */
#ifndef SERVESIM_CHECK_ATTN_H
#define SERVESIM_CHECK_ATTN_H

#include "check_util.h"

#define ATTN_MAX_SEQS 16

typedef struct AttnCase {
    int n_seqs;
    int q_len[ATTN_MAX_SEQS];   /* query tokens this step (1 for decode) */
    int ctx_len[ATTN_MAX_SEQS]; /* tokens in cache after the step */
    int heads, kv_heads, head_dim, block_size;
} AttnCase;

/* Host side of a case: the batch description (host pointers) and a cache
 * whose blocks are handed out in a random order, with spare blocks no
 * sequence owns and -1 past each sequence's last block. */
typedef struct AttnHost {
    KernAttnBatch b;
    int32_t *q_start, *ctx_lens, *block_tables;
    int num_blocks;
    size_t cache_elems; /* NB * BS * KVH * D */
    float *k_cache, *v_cache;
    size_t q_elems;     /* Nq * H * D */
} AttnHost;

void attn_host_build(AttnHost *a, const AttnCase *c, CheckRng *rng, int fill_cache);
void attn_host_free(AttnHost *a);
/* "S=3 q=[17,5,1] ctx=[17,40,7] H=8 KVH=2 D=128 BS=16" */
void attn_case_describe(const AttnCase *c, char *buf, size_t len);

#endif
