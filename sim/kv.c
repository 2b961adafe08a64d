/* kv.c: the paged KV cache (see kv.h).
 *
 * Free ids live on a stack: the most recently freed block is reused first
 * (warm in a real cache's L2, and deterministic).  A sequence's blocks are
 * pushed back in reverse table order so that the next sequence gets them in
 * the same order it had them.  The stack grows downwards, from the end of
 * free_ids (its top is free_ids[n_blocks - depth]), so that both a pop of n
 * ids into a table and a push of a whole table are one memcpy: admissions
 * take a prompt's worth of blocks at once. */
#include "kv.h"
#include "kv_prefix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int kv_init(KvCache *kv, int64_t capacity_tokens, int32_t block_size, double watermark,
            int64_t swap_tokens)
{
    *kv = (KvCache){ 0 };
    if (block_size < 1) return ss_error_set(EINVAL, "kv: block size must be >= 1 (got %d)", block_size);
    if (watermark < 0 || watermark >= 1)
        return ss_error_set(EINVAL, "kv: watermark must be in [0, 1) (got %g)", watermark);
    int64_t blocks = capacity_tokens / block_size;
    if (blocks < 1 || blocks > INT32_MAX / 2)
        return ss_error_set(EINVAL, "kv: %lld tokens of KV cache make %lld blocks of %d tokens: "
                            "need 1 .. 2^30", (long long)capacity_tokens, (long long)blocks, block_size);
    kv->block_size = block_size;
    kv->block_shift = -1;
    for (int32_t sh = 0; sh < 31; sh++)
        if ((int32_t)1 << sh == block_size) kv->block_shift = sh;
    kv->n_blocks = kv->n_free = (int32_t)blocks;
    kv->watermark = (int32_t)(watermark * (double)blocks);
    kv->free_ids = ss_malloc((size_t)blocks * sizeof(*kv->free_ids));
    /* Block 0 on top: the first sequence gets ids 0, 1, 2 ... */
    for (int32_t i = 0; i < kv->n_blocks; i++) kv->free_ids[i] = i;
    int64_t swap = swap_tokens > 0 ? swap_tokens / block_size : 0;
    kv->n_swap_blocks = kv->n_swap_free = (int32_t)SS_MIN(swap, (int64_t)INT32_MAX / 2);
    return 0;
}

void kv_count_only(KvCache *kv)
{
    SS_ASSERT(kv_held(kv) == 0);
    free(kv->free_ids);
    kv->free_ids = NULL;
}

void kv_enable_prefix(KvCache *kv)
{
    SS_ASSERT(!kv->free_ids && kv_held(kv) == 0); /* counts only: ids are replay's */
    kv->prefix = ss_calloc(1, sizeof(*kv->prefix));
    kv->prefix->lru_head = kv->prefix->lru_tail = kv->prefix->free_head = -1;
}

/* Blocks were taken for KV: cached content where they were is evicted (kv_prefix.h). */
static inline void kv__taken(KvCache *kv)
{
    if (kv->prefix) kv_prefix_after_take(kv);
}

void kv_free(KvCache *kv)
{
    if (kv->prefix) {
        kv_prefix_free(kv->prefix);
        free(kv->prefix);
    }
    free(kv->free_ids);
    *kv = (KvCache){ 0 };
}

static void kv__note_peak(KvCache *kv)
{
    int64_t held = kv_held(kv);
    if (held > kv->peak_held) kv->peak_held = held;
}

/* Pop n ids off the free stack into the table; the caller has already taken
 * n off the counts, so the stack held n more than their sum. */
static void kv__take(KvCache *kv, KvSeq *seq, int32_t n)
{
    if (!kv->free_ids) { /* counts only */
        seq->n_blocks += n;
        kv__note_peak(kv);
        return;
    }
    SS_GROW(seq->ids, seq->cap, seq->n_blocks + n);
    int32_t top = kv->n_blocks - (kv->n_free + kv->n_reserved + kv->n_deferred + n);
    if (n) memcpy(seq->ids + seq->n_blocks, kv->free_ids + top, (size_t)n * sizeof(*seq->ids));
    seq->n_blocks += n;
    kv__note_peak(kv);
}

int kv_seq_grow_to(KvCache *kv, KvSeq *seq, int64_t tokens, bool from_reserved)
{
    SS_ASSERT(seq->swap_blocks == 0);
    int32_t need = kv_seq_need(kv, seq, tokens);
    if (!need) return 0;
    if (from_reserved) {
        if (kv->n_reserved < need) return -ENOSPC;
        kv->n_reserved -= need;
    } else {
        if (kv->n_free < need) return -ENOSPC;
        kv->n_free -= need;
    }
    kv__taken(kv);
    kv__take(kv, seq, need);
    return 0;
}

/* Push the table back, its last block first: ids[0] ends on top. */
static void kv__give_back(KvCache *kv, KvSeq *seq)
{
    int32_t top = kv->n_blocks - (kv->n_free + kv->n_reserved + kv->n_deferred) - seq->n_blocks;
    if (seq->n_blocks && kv->free_ids) /* a table never grown has no ids array */
        memcpy(kv->free_ids + top, seq->ids, (size_t)seq->n_blocks * sizeof(*seq->ids));
    kv->n_free += seq->n_blocks;
    seq->n_blocks = 0;
}

void kv_seq_release(KvCache *kv, KvSeq *seq)
{
    if (kv->prefix) kv_prefix_release(kv, seq);
    else kv__give_back(kv, seq);
    kv->n_swap_free += seq->swap_blocks;
    seq->swap_blocks = 0;
}

void kv_seq_destroy(KvSeq *seq)
{
    SS_ASSERT(seq->n_blocks == 0 && seq->swap_blocks == 0);
    free(seq->ids);
    free(seq->entry_of);
    *seq = (KvSeq){ 0 };
}

int kv_defer(KvCache *kv, int32_t blocks, bool from_reserved)
{
    int32_t *pool = from_reserved ? &kv->n_reserved : &kv->n_free;
    if (blocks < 0 || blocks > *pool) return -ENOSPC;
    *pool -= blocks;
    if (!from_reserved) kv__taken(kv);
    kv->n_deferred += blocks;
    kv__note_peak(kv);
    return 0;
}

void kv_seq_materialize(KvCache *kv, KvSeq *seq, int64_t tokens)
{
    SS_ASSERT(seq->swap_blocks == 0);
    int32_t need = kv_seq_need(kv, seq, tokens);
    SS_ASSERT(need <= kv->n_deferred);
    kv->n_deferred -= need;
    kv__take(kv, seq, need);
}

void kv_release_deferred(KvCache *kv, int32_t blocks)
{
    SS_ASSERT(blocks >= 0 && blocks <= kv->n_deferred);
    kv->n_deferred -= blocks; /* the ids never left the stack */
    kv->n_free += blocks;
}

int kv_reserve(KvCache *kv, int32_t blocks)
{
    if (blocks < 0 || blocks > kv->n_free) return -ENOSPC;
    kv->n_free -= blocks; /* a count moves: no cached block is evicted for a reservation */
    kv->n_reserved += blocks;
    return 0;
}

void kv_unreserve(KvCache *kv, int32_t blocks)
{
    SS_ASSERT(blocks >= 0 && blocks <= kv->n_reserved);
    kv->n_reserved -= blocks;
    kv->n_free += blocks;
}

int kv_seq_swap_out(KvCache *kv, KvSeq *seq)
{
    SS_ASSERT(seq->swap_blocks == 0);
    if (seq->n_blocks > kv->n_swap_free) return -ENOSPC;
    int32_t n = seq->n_blocks;
    kv__give_back(kv, seq);
    kv->n_swap_free -= n;
    seq->swap_blocks = n;
    return 0;
}

int kv_seq_swap_in(KvCache *kv, KvSeq *seq)
{
    SS_ASSERT(seq->n_blocks == 0);
    int32_t n = seq->swap_blocks;
    if (n > kv->n_free) return -ENOSPC;
    kv->n_free -= n;
    kv__taken(kv);
    kv__take(kv, seq, n);
    kv->n_swap_free += n;
    seq->swap_blocks = 0;
    return 0;
}
