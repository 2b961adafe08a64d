/* reuse.c: ideal prefix reuse (see reuse.h) over a set of the hashes seen. */
#include "reuse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "prefix_hash.h"

void prefix_reuse_init(PrefixReuse *r)
{
    memset(r, 0, sizeof(*r));
}

void prefix_reuse_free(PrefixReuse *r)
{
    free(r->set);
    r->set = NULL;
    r->cap = r->used = 0;
}

/* The slot of h (h != 0): where it is, or the free one where it would go. */
static size_t slot_of(const uint64_t *set, size_t cap, uint64_t h)
{
    size_t i = (size_t)prefix_hash_mix(h) & (cap - 1);
    while (set[i] && set[i] != h) i = (i + 1) & (cap - 1);
    return i;
}

static bool seen(const PrefixReuse *r, uint64_t h)
{
    if (!h) return r->seen_zero;
    return r->cap && r->set[slot_of(r->set, r->cap, h)] == h;
}

static void insert(PrefixReuse *r, uint64_t h)
{
    if (!h) {
        r->seen_zero = true;
        return;
    }
    if (2 * (r->used + 1) > r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 4096;
        uint64_t *set = ss_calloc(cap, sizeof(uint64_t));
        for (size_t i = 0; i < r->cap; i++)
            if (r->set[i]) set[slot_of(set, cap, r->set[i])] = r->set[i];
        free(r->set);
        r->set = set;
        r->cap = cap;
    }
    size_t i = slot_of(r->set, r->cap, h);
    if (!r->set[i]) {
        r->set[i] = h;
        r->used++;
    }
}

void prefix_reuse_add(PrefixReuse *r, const TraceRow *row)
{
    r->rows++;
    r->prompt_tokens += row->input_tokens;
    if (!row->n_hash_ids) return;
    int64_t b = row->hash_block_tokens;
    SS_ASSERT(b > 0 && row->hash_ids);
    if (!r->hashed_rows) r->block_tokens = (int32_t)b;
    else if (r->block_tokens != b) r->block_tokens = -1;
    r->hashed_rows++;
    for (int32_t i = 0; i < row->n_hash_ids; i++) {
        int64_t left = row->input_tokens - (int64_t)i * b;
        if (left > 0 && seen(r, row->hash_ids[i])) r->reused_tokens += left < b ? left : b;
    }
    for (int32_t i = 0; i < row->n_hash_ids; i++) insert(r, row->hash_ids[i]);
}

double prefix_reuse_share(const PrefixReuse *r)
{
    if (!r->hashed_rows || !r->prompt_tokens) return NAN;
    return (double)r->reused_tokens / (double)r->prompt_tokens;
}
