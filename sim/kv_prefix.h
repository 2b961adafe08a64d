/* kv_prefix.h: prefix caching over the paged KV cache (vLLM's automatic
 * prefix caching, in counts).
 *
 * A full KV block of a prompt has a key: the prefix hash of the trace's
 * hash block it lies in (Request.hash_ids, hash_block tokens each: equal
 * hashes mean equal prefixes up to that hash block's end) mixed with its
 * index inside that hash block.  So two prompts share KV block j exactly
 * when they share the whole hash block holding it: a hash block of 512
 * tokens is 32 KV blocks of 16, all shared or none (conservative: a prefix
 * that diverges inside a hash block shares none of it).  The KV block size
 * must divide the hash block.  Only full blocks inside the prompt have keys;
 * generated tokens are never shared.
 *
 * Entries are blocks whose KV has been computed: a block becomes an entry
 * when the prefill that writes it ends (kv_prefix_register after the step),
 * never when it is only allocated, so a request arriving while another is
 * still in prefill gets no hit on blocks not yet computed.  An entry held by
 * running sequences has refs > 0; released (refs 0) it stays cached in the
 * free pool and is evicted least recently released first, only when free
 * blocks without cached content run out (KvCache.n_free counts both; the
 * cached ones are n_cached_free of them).  A sequence's table records which
 * of its blocks are entries (entry_of), so releasing it drops references
 * and frees its private blocks. */
#ifndef SERVESIM_KV_PREFIX_H
#define SERVESIM_KV_PREFIX_H

#include <stdbool.h>
#include <stdint.h>

#include "kv.h"
#include "request.h"

typedef struct KvPrefixEntry {
    uint64_t key;
    int32_t refs;          /* sequences holding it; 0: cached in the free pool (on the LRU list) */
    int32_t lru_prev, lru_next;
    int32_t chain;         /* next entry in its hash bucket; -1 ends */
} KvPrefixEntry;

typedef struct KvPrefixStats {
    int64_t hit_blocks;    /* blocks reused at admissions (recomputes included) */
    int64_t lookups;       /* admissions that had keys */
    int64_t evictions;     /* cached blocks reclaimed for other use */
    int64_t registered;    /* blocks that became entries */
} KvPrefixStats;

typedef struct KvPrefix {
    KvPrefixEntry *entries;
    int32_t n_entries, cap_entries, free_head; /* free slots chained through .chain */
    int32_t *buckets;      /* power of two, -1 empty */
    int32_t n_buckets;
    int32_t lru_head, lru_tail; /* refs == 0 entries, oldest at the head */
    int32_t n_cached_free; /* = entries with refs 0 */
    KvPrefixStats st;
} KvPrefix;

/* The key of KV block j of r's prompt, or false when it has none (no
 * hashes, a partial block, past the hashes). */
bool kv_prefix_key(const KvCache *kv, const Request *r, int32_t j, uint64_t *key);
/* Leading blocks of r's prompt cached (held or free), at most max_blocks. */
int32_t kv_prefix_match(const KvCache *kv, const Request *r, int32_t max_blocks);
/* Of those `hits` leading blocks, how many are free (cached, refs 0): the
 * blocks admission takes out of the free pool by referencing them. */
int32_t kv_prefix_free_among(const KvCache *kv, const Request *r, int32_t hits);
/* seq (empty) references the first `hits` blocks of r's prompt. */
void kv_prefix_attach(KvCache *kv, KvSeq *seq, const Request *r, int32_t hits);
/* Blocks of r's prompt that seq now holds computed (prefilled_tokens) and
 * that no entry has yet become entries. */
void kv_prefix_register(KvCache *kv, KvSeq *seq, const Request *r, int64_t computed_tokens);
/* Blocks were written: evict cached ones beyond what n_free + n_reserved still covers. */
void kv_prefix_after_take(KvCache *kv);
/* seq's blocks go back: entries lose a reference (cached at 0), private ones are freed. */
void kv_prefix_release(KvCache *kv, KvSeq *seq);
void kv_prefix_free(KvPrefix *p);

#endif
