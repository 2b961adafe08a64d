/* strtab.c: interned strings in fixed chunks, found through an open-addressing
 * hash of their indices (strtab.h). */
#include "strtab.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

#define CHUNK_BYTES (64 * 1024) /* > STRTAB_MAX_LEN + 1: any string fits a fresh chunk */

_Static_assert(CHUNK_BYTES > STRTAB_MAX_LEN + 1, "a string must fit one chunk");

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void strtab_init(StrTab *t)
{
    *t = (StrTab){ 0 };
}

/* Double the slots (load kept under 1/2) and re-place every index. */
static void grow_slots(StrTab *t)
{
    size_t n = t->n_slots ? t->n_slots * 2 : 1024;
    int32_t *slots = ss_malloc(n * sizeof(*slots));
    memset(slots, 0xff, n * sizeof(*slots)); /* -1 */
    for (size_t i = 0; i < t->n; i++) {
        size_t at = (size_t)hash_str(t->strs[i]) & (n - 1);
        while (slots[at] >= 0) at = (at + 1) & (n - 1);
        slots[at] = (int32_t)i;
    }
    free(t->slots);
    t->slots = slots;
    t->n_slots = n;
}

static const char *store(StrTab *t, const char *s, size_t len)
{
    if (!t->n_chunks || CHUNK_BYTES - t->chunk_used < len + 1) {
        SS_GROW(t->chunks, t->cap_chunks, t->n_chunks + 1);
        t->chunks[t->n_chunks++] = ss_malloc(CHUNK_BYTES);
        t->chunk_used = 0;
    }
    char *p = t->chunks[t->n_chunks - 1] + t->chunk_used;
    memcpy(p, s, len + 1);
    t->chunk_used += len + 1;
    return p;
}

int32_t strtab_intern(StrTab *t, const char *s)
{
    size_t len = strlen(s);
    SS_ASSERT(len <= STRTAB_MAX_LEN);
    SS_ASSERT(t->n < INT32_MAX);
    if (2 * (t->n + 1) > t->n_slots) grow_slots(t);
    size_t at = (size_t)hash_str(s) & (t->n_slots - 1);
    for (; t->slots[at] >= 0; at = (at + 1) & (t->n_slots - 1))
        if (!strcmp(t->strs[t->slots[at]], s)) return t->slots[at];
    SS_GROW(t->strs, t->cap, t->n + 1);
    t->strs[t->n] = store(t, s, len);
    t->slots[at] = (int32_t)t->n;
    return (int32_t)t->n++;
}

const char *strtab_get(const StrTab *t, int32_t i)
{
    if (i < 0) return NULL;
    SS_ASSERT((size_t)i < t->n);
    return t->strs[i];
}

size_t strtab_count(const StrTab *t)
{
    return t->n;
}

void strtab_free(StrTab *t)
{
    for (size_t i = 0; i < t->n_chunks; i++) free(t->chunks[i]);
    free(t->chunks);
    free(t->strs);
    free(t->slots);
    *t = (StrTab){ 0 };
}
