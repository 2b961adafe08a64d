/* prefetch.h: read a RowSource ahead on its own thread.
 *
 * Inflating and parsing a trace (or drawing synthetic rows) is a tenth or
 * more of a run, and it does not depend on the simulation: a second thread
 * reads rows into a bounded ring (PREFETCH_BLOCKS blocks of
 * PREFETCH_BLOCK_ROWS rows) while the engine consumes them.  Memory stays
 * bounded whatever the trace's length.
 *
 * Same rows, same order, same end: the prefetch thread is the only caller of
 * the inner source, so a source with its own RNG draws exactly what it would
 * have drawn on the main thread.  Text (TraceRow.text, .instruction) and
 * hash_ids are copied into the row's block, so it stays valid until the next row, as the
 * RowSource contract says.  An error reaches the consumer after every row
 * read before it, with the same return code and ss_error_get() message.
 *
 * The inner source's own state (TraceReaderStats, ...) belongs to the thread
 * until it has finished: read it only after the consumer has seen the end or
 * an error, or after row_prefetch_stop().
 *
 *     RowPrefetch *p;
 *     row_prefetch_create(&p, trace_reader_source(reader, path));
 *     RowSource rows = row_prefetch_source(p);  // hand to engine_run
 *     ...
 *     row_prefetch_destroy(&p);                 // before the inner source */
#ifndef SERVESIM_PREFETCH_H
#define SERVESIM_PREFETCH_H

#include "trace.h"

#define PREFETCH_BLOCK_ROWS 256 /* rows handed over per lock round trip */
#define PREFETCH_BLOCKS 16      /* ring size (16 x 256 rows x 184 bytes: 740 KiB) */
#define PREFETCH_WAKE_FREE 4    /* a full ring wakes the reader when this many blocks are free */

typedef struct RowPrefetch RowPrefetch;

/* Start reading `inner` ahead.  `inner` (its ctx and description) must
 * outlive the RowPrefetch.  When no thread can be started, rows come from
 * `inner` directly on the caller's thread: same rows, no overlap.  0 always
 * (the signature keeps room for a future failure). */
int row_prefetch_create(RowPrefetch **out, RowSource inner);
/* The same, with after(after_ctx) run once on the thread after it has
 * handed over its last block, or when it is stopped (at once on the
 * caller's thread when no thread starts).  What `after` writes is the
 * caller's once the consumer has seen the end or an error, or after
 * row_prefetch_stop(). */
int row_prefetch_create_after(RowPrefetch **out, RowSource inner, void (*after)(void *),
                              void *after_ctx);
/* The rows of `inner`, through the ring; valid until destroy. */
RowSource row_prefetch_source(RowPrefetch *p);
/* Make the thread stop reading (at once when the consumer has not reached
 * the end: rows read ahead are dropped) and wait for it.  Afterwards the
 * inner source is the caller's again.  Idempotent. */
void row_prefetch_stop(RowPrefetch *p);
/* row_prefetch_stop(), then free; *p = NULL. */
void row_prefetch_destroy(RowPrefetch **p);

#endif
