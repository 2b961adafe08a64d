/* sessions.c: --sessions cumulative (see sessions.h): a table of sessions by
 * key (open addressing, FNV-1a, grown at half full) holding each one's last
 * prompt, response and hashes. */
#include "sessions.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "prefix_hash.h"
#include "trace.h"

typedef struct SessionEntry {
    char key[TRACE_SESSION_MAX];  /* "" = a free slot */
    int64_t prompt_tokens, output_tokens; /* of the session's last turn */
    uint64_t *hashes;             /* of its last prompt */
    int32_t n_hashes;
    int64_t turns;                /* seen so far */
} SessionEntry;

struct SessionHasher {
    int32_t block_tokens;
    SessionEntry *slots;
    size_t cap, used;             /* cap: a power of two */
    uint64_t next_content;        /* content ids of new blocks */
    uint64_t *row;                /* the hashes handed out */
    size_t row_cap;
};

static uint64_t key_hash(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++) h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

void session_hasher_create(SessionHasher **out, int32_t block_tokens)
{
    SS_ASSERT(block_tokens > 0);
    SessionHasher *h = ss_calloc(1, sizeof(*h));
    h->block_tokens = block_tokens;
    h->cap = 1024;
    h->slots = ss_calloc(h->cap, sizeof(SessionEntry));
    *out = h;
}

void session_hasher_destroy(SessionHasher **ph)
{
    SessionHasher *h = *ph;
    if (!h) return;
    for (size_t i = 0; i < h->cap; i++) free(h->slots[i].hashes);
    free(h->slots);
    free(h->row);
    free(h);
    *ph = NULL;
}

static SessionEntry *slot_of(SessionEntry *slots, size_t cap, const char *key)
{
    size_t i = (size_t)key_hash(key) & (cap - 1);
    while (slots[i].key[0] && strcmp(slots[i].key, key)) i = (i + 1) & (cap - 1);
    return &slots[i];
}

static void grow(SessionHasher *h)
{
    size_t cap = h->cap * 2;
    SessionEntry *slots = ss_calloc(cap, sizeof(SessionEntry));
    for (size_t i = 0; i < h->cap; i++)
        if (h->slots[i].key[0]) *slot_of(slots, cap, h->slots[i].key) = h->slots[i];
    free(h->slots);
    h->slots = slots;
    h->cap = cap;
}

/* The entry of `key`, made (empty) when new. */
static SessionEntry *find_or_add(SessionHasher *h, const char *key)
{
    if (2 * (h->used + 1) > h->cap) grow(h);
    SessionEntry *e = slot_of(h->slots, h->cap, key);
    if (!e->key[0]) {
        size_t n = strlen(key);
        SS_ASSERT(n < sizeof(e->key));
        memcpy(e->key, key, n + 1);
        h->used++;
    }
    return e;
}

void session_hasher_turn(SessionHasher *h, const char *session, int64_t input_tokens,
                         int64_t output_tokens, const uint64_t **hashes, int32_t *n,
                         bool *short_turn)
{
    int64_t blocks = prefix_hash_blocks(input_tokens, h->block_tokens);
    SS_ASSERT(blocks <= INT32_MAX);
    SS_GROW(h->row, h->row_cap, (size_t)blocks + 1);
    *short_turn = false;
    SessionEntry *e = session[0] ? find_or_add(h, session) : NULL;
    int64_t keep = 0;
    if (e && e->turns) {
        *short_turn = input_tokens < e->prompt_tokens + e->output_tokens;
        int64_t full_prev = e->prompt_tokens / h->block_tokens, full_now = input_tokens / h->block_tokens;
        keep = full_prev < full_now ? full_prev : full_now;
    }
    prefix_hash_extend(h->row, blocks, e ? e->hashes : NULL, keep, &h->next_content);
    if (e) {
        if (blocks > e->n_hashes) e->hashes = ss_realloc(e->hashes, (size_t)blocks * sizeof(uint64_t));
        if (blocks) memcpy(e->hashes, h->row, (size_t)blocks * sizeof(uint64_t));
        e->n_hashes = (int32_t)blocks;
        e->prompt_tokens = input_tokens;
        e->output_tokens = output_tokens;
        e->turns++;
    }
    *hashes = blocks ? h->row : NULL;
    *n = (int32_t)blocks;
}
