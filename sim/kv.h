/* kv.h: the paged KV cache: fixed-size blocks, per-sequence block tables.
 *
 * The GPU's KV memory is cut into blocks of `block_size` tokens.  A sequence
 * owns a block table (logical block i -> physical block id) that grows on
 * demand as its tokens are written; ids never move while the sequence holds
 * them, so a replay backend can place real KV with the same allocator.
 *
 * Three counts partition the GPU blocks: held (in some table), reserved
 * (counted out for lookahead iterations, not yet given an id) and free.
 * Reservation is by count only: event skipping plans spans of many
 * iterations, and handing out ids for iterations that an arrival may cut
 * would churn the free list for nothing.  The ids appear when the tokens
 * they hold exist (kv_seq_grow_to after the span).
 *
 * Deferred blocks are held but have no id yet: the scheduler credits the
 * growth of sequences that simply keep decoding ("riders", see
 * sim/engine/ride.c) as one count per span, and a rider's table catches up
 * (kv_seq_materialize) only when it stops riding.  Simulations never read
 * the ids of a rider; replay, which does, runs without riders.
 *
 * Swap space (optional) is a CPU pool counted in blocks; a swapped-out
 * sequence holds swap blocks and no GPU ids. */
#ifndef SERVESIM_KV_H
#define SERVESIM_KV_H

#include <stdbool.h>
#include <stdint.h>

typedef struct KvSeq {
    int32_t *ids;          /* physical GPU block ids, logical order */
    int32_t n_blocks, cap; /* blocks held on the GPU; table capacity */
    int32_t swap_blocks;   /* blocks held in CPU swap (then n_blocks == 0) */
    int32_t *entry_of;     /* prefix caching: block -> cache entry, -1 private (kv_prefix.h) */
    int32_t entry_cap;
} KvSeq;

struct KvPrefix;

typedef struct KvCache {
    int32_t block_size;    /* tokens per block */
    int32_t block_shift;   /* log2(block_size) when a power of two, else -1 */
    int32_t n_blocks;      /* GPU blocks in all */
    int32_t n_free;        /* neither held nor reserved */
    int32_t n_reserved;    /* counted out for lookahead, no id yet */
    int32_t n_deferred;    /* held by riders, no id yet (see above) */
    int32_t watermark;     /* blocks admission leaves free for running growth */
    int32_t *free_ids;     /* stack of ids in no table: n_free + n_reserved + n_deferred; NULL: counts only */
    int32_t n_swap_blocks; /* CPU swap blocks in all (0 = no swap) */
    int32_t n_swap_free;
    int64_t peak_held;     /* most GPU blocks ever held at once */
    struct KvPrefix *prefix; /* prefix caching (kv_prefix.h), counts only; NULL: off */
} KvCache;

/* capacity_tokens / block_size blocks (rounded down); watermark as a fraction
 * of them; swap_tokens of CPU swap.  0 or -EINVAL (message set). */
int kv_init(KvCache *kv, int64_t capacity_tokens, int32_t block_size, double watermark,
            int64_t swap_tokens);
void kv_free(KvCache *kv);
/* Count blocks, hand out no ids (tables stay empty, kv_seq_block says -1):
 * for a scheduler, which only needs to know what fits.  The replay
 * executor, which places real KV, keeps its own cache with ids.  Before any
 * block is held. */
void kv_count_only(KvCache *kv);
/* Turn prefix caching on (after kv_count_only, before any block is held). */
void kv_enable_prefix(KvCache *kv);

static inline int32_t kv_blocks_for(const KvCache *kv, int64_t tokens)
{
    /* Asked for every member of every step: a shift, not a division, for
     * power-of-two block sizes (16 by default). */
    if (kv->block_shift >= 0) return (int32_t)((tokens + kv->block_size - 1) >> kv->block_shift);
    return (int32_t)((tokens + kv->block_size - 1) / kv->block_size);
}

static inline int32_t kv_held(const KvCache *kv)
{
    return kv->n_blocks - kv->n_free - kv->n_reserved;
}

/* Admission: `blocks` more still leave the watermark free. */
static inline bool kv_can_admit(const KvCache *kv, int32_t blocks)
{
    return kv->n_free - blocks >= kv->watermark;
}

/* Blocks `seq` needs beyond its table to hold `tokens`. */
static inline int32_t kv_seq_need(const KvCache *kv, const KvSeq *seq, int64_t tokens)
{
    int32_t need = kv_blocks_for(kv, tokens) - seq->n_blocks;
    return need > 0 ? need : 0;
}

/* Grow the table to hold `tokens` from free blocks (or, with
 * from_reserved, from the reservation).  All or nothing: 0 or -ENOSPC. */
int kv_seq_grow_to(KvCache *kv, KvSeq *seq, int64_t tokens, bool from_reserved);
/* Give every GPU and swap block back; the table keeps its capacity. */
void kv_seq_release(KvCache *kv, KvSeq *seq);
/* Free the table's memory (the sequence holds nothing). */
void kv_seq_destroy(KvSeq *seq);

static inline int32_t kv_seq_block(const KvSeq *seq, int32_t logical)
{
    return logical >= 0 && logical < seq->n_blocks && seq->ids ? seq->ids[logical] : -1;
}

/* Riders: hold `blocks` more without ids, from the free pool or from the
 * reservation (0 or -ENOSPC); give a table the ids for `tokens` out of the
 * deferred count (the caller credited them before). */
int kv_defer(KvCache *kv, int32_t blocks, bool from_reserved);
void kv_seq_materialize(KvCache *kv, KvSeq *seq, int64_t tokens);
/* A finished rider's deferred blocks go straight back to the free pool. */
void kv_release_deferred(KvCache *kv, int32_t blocks);
/* Lookahead: count blocks out of the free pool (0 or -ENOSPC), give back. */
int kv_reserve(KvCache *kv, int32_t blocks);
void kv_unreserve(KvCache *kv, int32_t blocks);

/* Swap: GPU blocks -> CPU swap (0 or -ENOSPC when swap is full), and back
 * (0 or -ENOSPC when the GPU lacks free blocks).  Swap-in gives new ids. */
int kv_seq_swap_out(KvCache *kv, KvSeq *seq);
int kv_seq_swap_in(KvCache *kv, KvSeq *seq);

#endif
