/* strtab.h: interned strings (requests' session keys).
 *
 * Each distinct string gets a dense index from 0; a Request keeps the
 * int32_t index instead of the text, so requests stay small however long the
 * keys are.  The table is append-only and its strings never move (they live
 * in fixed chunks): a pointer from strtab_get() stays valid until
 * strtab_free(), which is what lets the engine hand it to the metrics thread
 * inside a finished request's record.  Memory: O(distinct strings), about
 * length + 20 bytes each.  One thread interns (the engine's). */
#ifndef SERVESIM_STRTAB_H
#define SERVESIM_STRTAB_H

#include <stddef.h>
#include <stdint.h>

#define STRTAB_MAX_LEN 1024 /* bytes a string may have (callers check first) */

typedef struct StrTab {
    char **chunks;             /* the strings, NUL-terminated, one after another */
    size_t n_chunks, cap_chunks;
    size_t chunk_used;         /* bytes used of the newest chunk */
    const char **strs;         /* by index */
    size_t n, cap;
    int32_t *slots;            /* open addressing on hashes; -1 = empty */
    size_t n_slots;            /* a power of two, or 0 before the first string */
} StrTab;

/* A zeroed StrTab is an empty table; this is the same. */
void strtab_init(StrTab *t);
/* The index of s (added when new).  len = strlen(s) <= STRTAB_MAX_LEN. */
int32_t strtab_intern(StrTab *t, const char *s);
/* The string of index i (0 <= i < strtab_count), or NULL for i < 0. */
const char *strtab_get(const StrTab *t, int32_t i);
size_t strtab_count(const StrTab *t);
void strtab_free(StrTab *t);

#endif
