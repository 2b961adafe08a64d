/* metrics_pipe.c: the metrics thread's ring (see metrics_pipe.h).
 *
 * The engine's thread fills a block without the lock, then publishes it;
 * the consumer applies a published block, then releases it.  An event is a
 * header (kind, size) and its payload, padded to 8 bytes. */
#include "metrics_pipe.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "helper_thread.h"

/* Wake a sleeping consumer once this many blocks wait: one, so the run's end
 * waits for at most a block's tail (a wake costs a few microseconds; a
 * block holds ~500 finished requests or ~2,000 gaps). */
#define METRICS_PIPE_WAKE_BLOCKS 1

typedef struct EventHeader { /* as metrics_pipe_slot writes it */
    uint32_t kind;
    uint32_t bytes; /* payload, padded to 8 */
} EventHeader;
_Static_assert(sizeof(EventHeader) == 8, "metrics_pipe_slot writes an 8-byte header");

typedef struct Block {
    size_t used; /* bytes */
    _Alignas(8) unsigned char data[METRICS_PIPE_BLOCK_BYTES];
} Block;

struct MetricsPipe {
    MetricsPipeApply apply;
    MetricsPipeBlockDone block_done;
    void *ctx;
    Block *ring;                 /* METRICS_PIPE_BLOCKS slots */
    pthread_t thread;
    bool threaded;
    bool finished;
    pthread_mutex_t lock;
    pthread_cond_t block_ready;  /* half the ring is published, or closing was set */
    pthread_cond_t slot_free;    /* the consumer released a block */
    /* Under `lock`. */
    uint64_t published, released; /* blocks */
    bool closing;
    bool consumer_waiting;
    bool pusher_waiting;
    /* The pushing thread's own. */
    uint64_t filling;            /* block being filled */
    bool slot_checked;           /* its slot is known to be free */
    MetricsPipeCursor cursor;    /* its free space (empty until slot_checked) */
};

MetricsPipeCursor *metrics_pipe_cursor(MetricsPipe *p) { return &p->cursor; }


static void apply_block(MetricsPipe *p, const Block *b)
{
    for (size_t at = 0; at < b->used;) {
        EventHeader h;
        memcpy(&h, b->data + at, sizeof(h));
        p->apply(p->ctx, (int)h.kind, b->data + at + sizeof(h));
        at += sizeof(h) + h.bytes;
    }
    if (p->block_done) p->block_done(p->ctx);
}

static void *consumer_main(void *arg)
{
    MetricsPipe *p = arg;
    for (uint64_t block = 0;; block++) {
        pthread_mutex_lock(&p->lock);
        while (p->published <= block && !p->closing) {
            p->consumer_waiting = true;
            pthread_cond_wait(&p->block_ready, &p->lock);
        }
        p->consumer_waiting = false;
        bool have = p->published > block;
        pthread_mutex_unlock(&p->lock);
        if (!have) return NULL;
        apply_block(p, &p->ring[block % METRICS_PIPE_BLOCKS]);
        pthread_mutex_lock(&p->lock);
        p->released = block + 1;
        if (p->pusher_waiting) pthread_cond_signal(&p->slot_free);
        pthread_mutex_unlock(&p->lock);
    }
}

void metrics_pipe_create(MetricsPipe **out, MetricsPipeApply apply, MetricsPipeBlockDone block_done,
                         void *ctx, bool threaded)
{
    MetricsPipe *p = ss_calloc(1, sizeof(*p));
    p->apply = apply;
    p->block_done = block_done;
    p->ctx = ctx;
    if (threaded) {
        p->ring = ss_malloc(METRICS_PIPE_BLOCKS * sizeof(Block));
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->block_ready, NULL);
        pthread_cond_init(&p->slot_free, NULL);
        p->threaded = helper_thread_start(&p->thread, consumer_main, p);
        if (!p->threaded) { /* no thread: apply at once, same figures */
            pthread_cond_destroy(&p->slot_free);
            pthread_cond_destroy(&p->block_ready);
            pthread_mutex_destroy(&p->lock);
        }
    }
    *out = p;
}

/* Hand over the block being filled: what the cursor wrote counts as used. */
static void publish(MetricsPipe *p)
{
    Block *b = &p->ring[p->filling % METRICS_PIPE_BLOCKS];
    b->used = (size_t)(p->cursor.at - b->data);
    p->cursor = (MetricsPipeCursor){ NULL, NULL };
    pthread_mutex_lock(&p->lock);
    p->published = ++p->filling;
    if (p->consumer_waiting && p->published - p->released >= METRICS_PIPE_WAKE_BLOCKS)
        pthread_cond_signal(&p->block_ready);
    pthread_mutex_unlock(&p->lock);
    p->slot_checked = false;
}

void metrics_pipe_push(MetricsPipe *p, int kind, const void *payload, size_t bytes)
{
    SS_ASSERT(!p->finished && bytes <= 256);
    if (!p->threaded) {
        _Alignas(8) unsigned char copy[256]; /* the consumer may rely on alignment */
        memcpy(copy, payload, bytes);
        p->apply(p->ctx, kind, copy);
        if (p->block_done) p->block_done(p->ctx);
        return;
    }
    if (p->slot_checked) {
        void *slot = metrics_pipe_slot(&p->cursor, kind, bytes);
        if (slot) {
            memcpy(slot, payload, bytes);
            return;
        }
        publish(p); /* this block is full */
    }
    Block *b = &p->ring[p->filling % METRICS_PIPE_BLOCKS];
    {   /* a new block: wait until its slot has been applied */
        pthread_mutex_lock(&p->lock);
        while (p->filling - p->released >= METRICS_PIPE_BLOCKS) {
            p->pusher_waiting = true;
            pthread_cond_wait(&p->slot_free, &p->lock);
        }
        p->pusher_waiting = false;
        pthread_mutex_unlock(&p->lock);
        p->slot_checked = true;
        b->used = 0;
        p->cursor = (MetricsPipeCursor){ b->data, b->data + METRICS_PIPE_BLOCK_BYTES };
    }
    memcpy(metrics_pipe_slot(&p->cursor, kind, bytes), payload, bytes); /* bytes <= 256 fit */
}

void metrics_pipe_finish(MetricsPipe *p)
{
    if (p->finished) return;
    p->finished = true;
    if (!p->threaded) return;
    if (p->slot_checked && p->cursor.at != p->ring[p->filling % METRICS_PIPE_BLOCKS].data)
        publish(p); /* the block being filled holds events */
    pthread_mutex_lock(&p->lock);
    p->closing = true;
    pthread_cond_signal(&p->block_ready);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
}

void metrics_pipe_destroy(MetricsPipe **pp)
{
    MetricsPipe *p = *pp;
    if (!p) return;
    metrics_pipe_finish(p);
    if (p->threaded) {
        pthread_cond_destroy(&p->slot_free);
        pthread_cond_destroy(&p->block_ready);
        pthread_mutex_destroy(&p->lock);
    }
    free(p->ring);
    free(p);
    *pp = NULL;
}
