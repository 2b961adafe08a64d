/* prefix_hash.h: derived prefix block hashes (internal to traces/).
 *
 * A derived hash is a prefix hash: hash i = mix(hash i-1, content id of
 * block i), with hash -1 = PREFIX_HASH_ROOT, so equal hashes mean equal
 * prefixes (as Mooncake's hash_ids), never merely equal blocks.  Content
 * ids come from a counter that each reader or workload owns, so new blocks
 * never collide (up to 64-bit mixing) and the same input gives the same
 * hashes.  One rule serves --sessions cumulative and the multi-turn
 * workload: a turn keeps the previous turn's hashes for the blocks that lie
 * wholly inside the previous prompt (and inside its own), and draws new ones
 * for the rest, the partial last block included. */
#ifndef SERVESIM_PREFIX_HASH_H
#define SERVESIM_PREFIX_HASH_H

#include <stdint.h>

#define PREFIX_HASH_ROOT UINT64_C(0x9e3779b97f4a7c15)

static inline uint64_t prefix_hash_mix(uint64_t x) /* splitmix64's finaliser */
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* 63 bits: JSONL carries hashes as JSON integers, which are signed 64-bit. */
static inline uint64_t prefix_hash_next(uint64_t prev, uint64_t content_id)
{
    return prefix_hash_mix(prev ^ prefix_hash_mix(content_id + UINT64_C(0x632be59bd9b4e019))) >> 1;
}

/* Blocks (hashes) of a prompt of `tokens` tokens: the partial last block counts. */
static inline int64_t prefix_hash_blocks(int64_t tokens, int32_t block_tokens)
{
    return (tokens + block_tokens - 1) / block_tokens;
}

/* Fill out[0, n) for a prompt of n blocks: out[0, keep) are prev[0, keep)
 * (the shared prefix), the rest chain on from them with new content ids
 * taken from *next_content.  keep <= n; prev may be NULL when keep = 0. */
static inline void prefix_hash_extend(uint64_t *out, int64_t n, const uint64_t *prev, int64_t keep,
                                      uint64_t *next_content)
{
    uint64_t h = PREFIX_HASH_ROOT;
    for (int64_t i = 0; i < keep; i++) h = out[i] = prev[i];
    for (int64_t i = keep; i < n; i++) h = out[i] = prefix_hash_next(h, (*next_content)++);
}

#endif
