/* reuse.h: the ideal (infinite-cache) prefix reuse of a trace.
 *
 * Ideal reuse = the share of prompt tokens that lie in hash blocks whose
 * hash was seen in an earlier row: what a prefix cache that never evicts
 * would serve.  Every row's prompt tokens count in the denominator (a row
 * without hashes reuses nothing); a block's tokens are the block size, or
 * what is left of the prompt for the partial last block; tokens past the
 * last hash (a file that hashes full blocks only) reuse nothing.  Hashes of a
 * row count as seen from the next row on.  Memory: 16 bytes per distinct hash. */
#ifndef SERVESIM_TRACE_REUSE_H
#define SERVESIM_TRACE_REUSE_H

#include <stdbool.h>
#include <stdint.h>

#include "trace.h"

typedef struct PrefixReuse {
    uint64_t *set;              /* open addressing; 0 marks a free slot */
    size_t cap, used;
    bool seen_zero;             /* hash 0 (Mooncake's first id) lives here */
    int64_t rows, hashed_rows;
    int64_t prompt_tokens, reused_tokens; /* tokens */
    int32_t block_tokens;       /* of the hashed rows; -1 once two rows disagree */
} PrefixReuse;

void prefix_reuse_init(PrefixReuse *r);
void prefix_reuse_add(PrefixReuse *r, const TraceRow *row);
/* reused / prompt tokens; NAN when no row had hashes (the figure is unknown, not 0). */
double prefix_reuse_share(const PrefixReuse *r);
void prefix_reuse_free(PrefixReuse *r);

#endif
