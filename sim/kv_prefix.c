/* kv_prefix.c: prefix caching in counts (kv_prefix.h says the rules). */
#include "kv_prefix.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

/* splitmix64's finaliser: hash block prefix hash x position -> block key */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

bool kv_prefix_key(const KvCache *kv, const Request *r, int32_t j, uint64_t *key)
{
    if (!r->n_hash_ids || (int64_t)(j + 1) * kv->block_size > r->input_tokens) return false;
    int32_t per_hash = r->hash_block_tokens / kv->block_size;
    int32_t h = j / per_hash;
    if (h >= r->n_hash_ids) return false;
    *key = mix64(r->hash_ids[h] * 0x9e3779b97f4a7c15ull + (uint64_t)(j % per_hash) + 1);
    return true;
}

static int32_t find(const KvPrefix *p, uint64_t key)
{
    if (!p->n_buckets) return -1;
    for (int32_t e = p->buckets[key & (uint64_t)(p->n_buckets - 1)]; e >= 0; e = p->entries[e].chain)
        if (p->entries[e].key == key) return e;
    return -1;
}

static void lru_unlink(KvPrefix *p, int32_t e)
{
    KvPrefixEntry *x = &p->entries[e];
    if (x->lru_prev >= 0) p->entries[x->lru_prev].lru_next = x->lru_next; else p->lru_head = x->lru_next;
    if (x->lru_next >= 0) p->entries[x->lru_next].lru_prev = x->lru_prev; else p->lru_tail = x->lru_prev;
    x->lru_prev = x->lru_next = -1;
}

static void lru_push(KvPrefix *p, int32_t e)
{
    KvPrefixEntry *x = &p->entries[e];
    x->lru_prev = p->lru_tail;
    x->lru_next = -1;
    if (p->lru_tail >= 0) p->entries[p->lru_tail].lru_next = e; else p->lru_head = e;
    p->lru_tail = e;
}

static void rehash(KvPrefix *p)
{
    int32_t n = p->n_buckets ? 2 * p->n_buckets : 1024;
    free(p->buckets);
    p->buckets = ss_malloc((size_t)n * sizeof(*p->buckets));
    for (int32_t i = 0; i < n; i++) p->buckets[i] = -1;
    p->n_buckets = n;
    for (int32_t e = 0; e < p->cap_entries; e++) {
        KvPrefixEntry *x = &p->entries[e];
        if (x->refs < 0) continue; /* a free slot */
        uint64_t b = x->key & (uint64_t)(n - 1);
        x->chain = p->buckets[b];
        p->buckets[b] = e;
    }
}

static int32_t insert(KvPrefix *p, uint64_t key)
{
    if (p->n_entries + 1 > p->n_buckets / 2) rehash(p);
    int32_t e = p->free_head;
    if (e >= 0) {
        p->free_head = p->entries[e].chain;
    } else { /* the first new slot; the rest of the growth goes on the free list */
        int32_t old = p->cap_entries;
        SS_GROW(p->entries, p->cap_entries, (size_t)old + 1);
        for (int32_t i = p->cap_entries - 1; i > old; i--) {
            p->entries[i].refs = -1;
            p->entries[i].chain = p->free_head;
            p->free_head = i;
        }
        e = old;
    }
    uint64_t b = key & (uint64_t)(p->n_buckets - 1);
    p->entries[e] = (KvPrefixEntry){ .key = key, .refs = 1, .lru_prev = -1, .lru_next = -1, .chain = p->buckets[b] };
    p->buckets[b] = e;
    p->n_entries++;
    return e;
}

static void erase(KvPrefix *p, int32_t e)
{
    uint64_t b = p->entries[e].key & (uint64_t)(p->n_buckets - 1);
    int32_t *link = &p->buckets[b];
    while (*link != e) link = &p->entries[*link].chain;
    *link = p->entries[e].chain;
    p->entries[e].refs = -1;
    p->entries[e].chain = p->free_head;
    p->free_head = e;
    p->n_entries--;
}

int32_t kv_prefix_match(const KvCache *kv, const Request *r, int32_t max_blocks)
{
    const KvPrefix *p = kv->prefix;
    int32_t j = 0;
    uint64_t key;
    while (j < max_blocks && kv_prefix_key(kv, r, j, &key) && find(p, key) >= 0) j++;
    return j;
}

int32_t kv_prefix_free_among(const KvCache *kv, const Request *r, int32_t hits)
{
    const KvPrefix *p = kv->prefix;
    int32_t n = 0;
    uint64_t key;
    for (int32_t j = 0; j < hits; j++) {
        SS_ASSERT(kv_prefix_key(kv, r, j, &key));
        n += p->entries[find(p, key)].refs == 0;
    }
    return n;
}

static void ensure_entry_of(KvSeq *seq, int32_t blocks)
{
    if (seq->entry_cap >= blocks) return;
    int32_t old = seq->entry_cap;
    SS_GROW(seq->entry_of, seq->entry_cap, (size_t)blocks);
    for (int32_t i = old; i < seq->entry_cap; i++) seq->entry_of[i] = -1;
}

void kv_prefix_attach(KvCache *kv, KvSeq *seq, const Request *r, int32_t hits)
{
    KvPrefix *p = kv->prefix;
    SS_ASSERT(seq->n_blocks == 0 && seq->swap_blocks == 0);
    ensure_entry_of(seq, hits);
    uint64_t key;
    for (int32_t j = 0; j < hits; j++) {
        SS_ASSERT(kv_prefix_key(kv, r, j, &key));
        int32_t e = find(p, key);
        SS_ASSERT(e >= 0);
        if (p->entries[e].refs++ == 0) { /* out of the free pool, with its content */
            lru_unlink(p, e);
            p->n_cached_free--;
            kv->n_free--;
        }
        seq->entry_of[j] = e;
    }
    seq->n_blocks = hits;
    p->st.hit_blocks += hits;
    p->st.lookups++;
}

void kv_prefix_register(KvCache *kv, KvSeq *seq, const Request *r, int64_t computed_tokens)
{
    KvPrefix *p = kv->prefix;
    int32_t full = (int32_t)SS_MIN(computed_tokens / kv->block_size, (int64_t)seq->n_blocks);
    ensure_entry_of(seq, full);
    uint64_t key;
    for (int32_t j = 0; j < full; j++) {
        if (seq->entry_of[j] >= 0) continue;
        if (!kv_prefix_key(kv, r, j, &key)) break;     /* no keys from here on */
        if (find(p, key) >= 0) continue;              /* computed twice at once: ours stays private */
        seq->entry_of[j] = insert(p, key);
        p->st.registered++;
    }
}

void kv_prefix_after_take(KvCache *kv)
{
    KvPrefix *p = kv->prefix;
    /* Cached blocks live in the free pool and the reservation (a count moved
     * for lookahead, not yet written): evict, least recently released first,
     * only when written blocks reach into them. */
    while (p->n_cached_free > kv->n_free + kv->n_reserved) {
        int32_t e = p->lru_head;
        lru_unlink(p, e);
        erase(p, e);
        p->n_cached_free--;
        p->st.evictions++;
    }
}

void kv_prefix_release(KvCache *kv, KvSeq *seq)
{
    KvPrefix *p = kv->prefix;
    /* The last block first: a sequence's tail is evicted before its prefix. */
    for (int32_t j = seq->n_blocks - 1; j >= 0; j--) {
        int32_t e = j < seq->entry_cap ? seq->entry_of[j] : -1;
        kv->n_free++;
        if (e < 0) continue;
        seq->entry_of[j] = -1;
        if (--p->entries[e].refs > 0) {
            kv->n_free--; /* still held by another sequence */
            continue;
        }
        lru_push(p, e);
        p->n_cached_free++;
    }
    seq->n_blocks = 0;
}

void kv_prefix_free(KvPrefix *p)
{
    free(p->entries);
    free(p->buckets);
    *p = (KvPrefix){ 0 };
}
