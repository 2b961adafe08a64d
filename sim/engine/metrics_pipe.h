/* metrics_pipe.h: the metrics' own thread.
 *
 * Accounting a finished request (latency vectors, sums, SLO check, its
 * requests.csv row) and pooling inter-token gaps into the log histogram were
 * a fifth of the engine thread's work, and nothing in the simulation reads
 * their results before the run ends.  So the engine appends compact events
 * (a finished request's numbers, a gap, a linear run of gaps) to blocks of a
 * bounded ring, and a consumer thread applies them in order: the figures and
 * the bytes are those of applying them at once, whatever the timing.
 *
 * Block k lives in slot k % METRICS_PIPE_BLOCKS and is filled only once
 * block k - METRICS_PIPE_BLOCKS has been applied: bounded memory; a slow
 * consumer makes the engine wait instead of queueing without end.  Waking a
 * sleeping thread costs the waker a system call, so the consumer is woken
 * only when a whole block waits (it then applies all it finds), and nobody
 * is signalled unless waiting.
 *
 * Without a thread (threaded = false, or none could be started) each push is
 * applied at once, then the block-done callback runs. */
#ifndef SERVESIM_METRICS_PIPE_H
#define SERVESIM_METRICS_PIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define METRICS_PIPE_BLOCK_BYTES ((size_t)64 << 10) /* events handed over per lock round trip */
#define METRICS_PIPE_BLOCKS 8                       /* ring: 512 KiB */

/* Apply one event (its payload is 8-byte aligned); block_done runs after
 * the events of each block (the consumer flushes its text there). */
typedef void (*MetricsPipeApply)(void *ctx, int kind, const void *payload);
typedef void (*MetricsPipeBlockDone)(void *ctx);

typedef struct MetricsPipe MetricsPipe;

void metrics_pipe_create(MetricsPipe **out, MetricsPipeApply apply, MetricsPipeBlockDone block_done,
                         void *ctx, bool threaded);
/* Queue an event of `bytes` (<= 256) bytes (waits when the ring is full). */
void metrics_pipe_push(MetricsPipe *p, int kind, const void *payload, size_t bytes);

/* The hot path, inlined into the engine: where the next event goes in the
 * block being filled (its header already written), or NULL when the caller
 * must use metrics_pipe_push (no thread, a new block).  The caller then
 * writes `bytes` of payload there. */
typedef struct MetricsPipeCursor {
    unsigned char *at, *end; /* free space of the block being filled */
} MetricsPipeCursor;

static inline void *metrics_pipe_slot(MetricsPipeCursor *c, int kind, size_t bytes)
{
    size_t need = 8 + ((bytes + 7) & ~(size_t)7); /* header: kind, padded size */
    if ((size_t)(c->end - c->at) < need) return NULL;
    uint32_t header[2] = { (uint32_t)kind, (uint32_t)(need - 8) };
    memcpy(c->at, header, sizeof(header));
    void *payload = c->at + 8;
    c->at += need;
    return payload;
}
/* The cursor the engine keeps for `p` (updated by metrics_pipe_push). */
MetricsPipeCursor *metrics_pipe_cursor(MetricsPipe *p);
/* Every pushed event applied; the thread ends.  No push after it.  Idempotent. */
void metrics_pipe_finish(MetricsPipe *p);
/* finish, then free; *p = NULL. */
void metrics_pipe_destroy(MetricsPipe **p);

#endif
