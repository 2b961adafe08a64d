/* order_stats.h: order statistics of non-negative floats by radix select. */
#ifndef SERVESIM_ORDER_STATS_H
#define SERVESIM_ORDER_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLOAT_ORDER_STATS_MAX 16 /* ranks per call */

/* out[i] = the value of 0-based rank ranks[i] (ascending, each < n) among
 * the n non-negative floats stored in chunks of chunk_len (the last one
 * partly filled), as sorting them would give.  The values are not moved. */
void float_order_stats(float *const *chunks, size_t chunk_len, size_t n, const size_t *ranks,
                       int nr, float *out);

#endif
