/* prefetch.c: a RowSource read ahead by a thread into a ring of blocks.
 *
 * The thread fills a whole block without the lock, then publishes it; the
 * consumer reads a published block without the lock, then releases it.  So
 * the lock is taken twice per PREFETCH_BLOCK_ROWS rows on each side, not per
 * row.  Block k lives in slot k % PREFETCH_BLOCKS; the thread may fill block
 * k only once block k - PREFETCH_BLOCKS has been released, which bounds both
 * the memory and how far the thread runs ahead.
 *
 * Waking a sleeping thread costs the waker a system call and, on a 2-core
 * machine, can put the wakee on the consumer's core: a full ring wakes the
 * reader only once PREFETCH_WAKE_FREE blocks are free (it then refills them
 * in one go), and nobody is signalled unless it is waiting.  The blocks still
 * full when the reader is woken are the slack that hides how long it takes
 * to get a core (a few ms when the machine is busy). */
#include "prefetch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "helper_thread.h"

#define NO_TEXT SIZE_MAX /* offset of a NULL text */

typedef struct PrefetchBlock {
    TraceRow rows[PREFETCH_BLOCK_ROWS];
    /* The rows' strings live in `texts` (offsets, not pointers: `texts`
     * moves while it grows); the consumer points the row at them. */
    size_t text_at[PREFETCH_BLOCK_ROWS];
    size_t instruction_at[PREFETCH_BLOCK_ROWS];
    char *texts;                 /* NUL-terminated strings, one after another */
    size_t texts_len, texts_cap; /* bytes */
    /* The rows' hash_ids, likewise: row i's are hashes[hash_at[i], + n_hash_ids). */
    size_t hash_at[PREFETCH_BLOCK_ROWS];
    uint64_t *hashes;
    size_t hashes_len, hashes_cap; /* hashes */
    int n_rows;
    bool last;                   /* the source ended after these rows (see end_status) */
} PrefetchBlock;

struct RowPrefetch {
    RowSource inner;
    void (*after)(void *);       /* run on the thread after the last row */
    void *after_ctx;
    PrefetchBlock *ring;         /* PREFETCH_BLOCKS slots */
    pthread_t thread;
    bool threaded;               /* false: pass-through, no thread could be started */
    bool joined;
    pthread_mutex_t lock;
    pthread_cond_t block_ready;  /* the thread published a block */
    pthread_cond_t slot_free;    /* half the ring is free, or stop was asked */
    /* Under `lock`. */
    uint64_t published;          /* blocks filled by the thread */
    uint64_t released;           /* blocks the consumer is done with */
    bool stop;
    bool reader_waiting;         /* the thread waits on slot_free */
    bool consumer_waiting;       /* the consumer waits on block_ready */
    /* Written by the thread before it publishes the last block. */
    int end_status;              /* 0 at the end, or the inner source's negative errno */
    char end_message[1024];      /* the inner source's ss_error_get() with end_status */
    /* The consumer's own. */
    uint64_t current;            /* block being read */
    int pos;                     /* its next row */
    bool have_block;             /* `current` has been published */
};

static size_t keep_text(PrefetchBlock *b, const char *s)
{
    if (!s) return NO_TEXT;
    size_t n = strlen(s) + 1, at = b->texts_len;
    SS_GROW(b->texts, b->texts_cap, at + n);
    memcpy(b->texts + at, s, n);
    b->texts_len += n;
    return at;
}

/* Read up to a block of rows; true when the source ended (or failed).  The
 * inner source always writes into the same `scratch` row, as it would into
 * the engine's one pending row, so a source that leaves a field untouched
 * yields the same rows through the ring as without it. */
static size_t keep_hashes(PrefetchBlock *b, const TraceRow *row)
{
    size_t n = (size_t)row->n_hash_ids, at = b->hashes_len;
    if (!n) return 0;
    SS_GROW(b->hashes, b->hashes_cap, at + n);
    memcpy(b->hashes + at, row->hash_ids, n * sizeof(uint64_t));
    b->hashes_len += n;
    return at;
}

static bool fill_block(RowPrefetch *p, PrefetchBlock *b, TraceRow *scratch)
{
    b->n_rows = 0;
    b->texts_len = 0;
    b->hashes_len = 0;
    b->last = false;
    while (b->n_rows < PREFETCH_BLOCK_ROWS) {
        int r = p->inner.next(p->inner.ctx, scratch);
        if (r <= 0) {
            p->end_status = r;
            if (r < 0) snprintf(p->end_message, sizeof(p->end_message), "%s", ss_error_get());
            b->last = true;
            return true;
        }
        int i = b->n_rows++;
        b->rows[i] = *scratch;
        b->text_at[i] = keep_text(b, scratch->text);
        b->instruction_at[i] = keep_text(b, scratch->instruction);
        b->hash_at[i] = keep_hashes(b, scratch);
    }
    return false;
}

/* The extra task runs once every row is out (the engine's rows should not
 * wait for it: it has a ring's worth of rows still to simulate by then), or
 * when the thread is stopped early: in any case before the thread ends. */
static void run_after(RowPrefetch *p)
{
    if (p->after) p->after(p->after_ctx);
    p->after = NULL;
}

static void *prefetch_thread_main(void *arg)
{
    RowPrefetch *p = arg;
    TraceRow scratch;
    memset(&scratch, 0, sizeof(scratch));
    for (uint64_t block = 0;; block++) {
        pthread_mutex_lock(&p->lock);
        while (!p->stop && block - p->released >= PREFETCH_BLOCKS) {
            p->reader_waiting = true;
            pthread_cond_wait(&p->slot_free, &p->lock);
        }
        p->reader_waiting = false;
        bool stop = p->stop;
        pthread_mutex_unlock(&p->lock);
        if (stop) break;
        bool last = fill_block(p, &p->ring[block % PREFETCH_BLOCKS], &scratch);
        pthread_mutex_lock(&p->lock);
        p->published = block + 1;
        if (p->consumer_waiting) pthread_cond_signal(&p->block_ready);
        pthread_mutex_unlock(&p->lock);
        if (last) break;
    }
    run_after(p);
    return NULL;
}

static void join_thread(RowPrefetch *p)
{
    if (!p->threaded || p->joined) return;
    pthread_join(p->thread, NULL);
    p->joined = true;
}

static int prefetch_next(void *ctx, TraceRow *row)
{
    RowPrefetch *p = ctx;
    if (!p->threaded) return p->inner.next(p->inner.ctx, row);
    for (;;) {
        if (!p->have_block) {
            /* Reading on after row_prefetch_stop() cut the thread short is a bug. */
            SS_ASSERT(!p->joined);
            pthread_mutex_lock(&p->lock);
            while (p->published <= p->current) {
                p->consumer_waiting = true;
                pthread_cond_wait(&p->block_ready, &p->lock);
            }
            p->consumer_waiting = false;
            pthread_mutex_unlock(&p->lock);
            p->have_block = true;
            p->pos = 0;
        }
        const PrefetchBlock *b = &p->ring[p->current % PREFETCH_BLOCKS];
        if (p->pos < b->n_rows) {
            int i = p->pos++;
            *row = b->rows[i];
            row->text = b->text_at[i] == NO_TEXT ? NULL : b->texts + b->text_at[i];
            row->instruction = b->instruction_at[i] == NO_TEXT ? NULL : b->texts + b->instruction_at[i];
            row->hash_ids = row->n_hash_ids ? b->hashes + b->hash_at[i] : NULL;
            return 1;
        }
        if (b->last) {
            /* The thread has returned or is about to: joining now hands the
             * inner source (its stats) back before the caller can look. */
            join_thread(p);
            return p->end_status < 0 ? ss_error_set(p->end_status, "%s", p->end_message) : 0;
        }
        pthread_mutex_lock(&p->lock);
        p->released = ++p->current;
        /* The thread waits to fill block `published`: wake it once a few blocks are free. */
        if (p->reader_waiting && p->published - p->released <= PREFETCH_BLOCKS - PREFETCH_WAKE_FREE)
            pthread_cond_signal(&p->slot_free);
        pthread_mutex_unlock(&p->lock);
        p->have_block = false;
    }
}

int row_prefetch_create(RowPrefetch **out, RowSource inner)
{
    return row_prefetch_create_after(out, inner, NULL, NULL);
}

int row_prefetch_create_after(RowPrefetch **out, RowSource inner, void (*after)(void *),
                              void *after_ctx)
{
    RowPrefetch *p = ss_calloc(1, sizeof(*p));
    p->inner = inner;
    p->after = after;
    p->after_ctx = after_ctx;
    p->ring = ss_calloc(PREFETCH_BLOCKS, sizeof(PrefetchBlock));
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->block_ready, NULL);
    pthread_cond_init(&p->slot_free, NULL);
    /* Without a thread the rows still come, in the same order: the overlap
     * is an optimisation, not something a run may fail for. */
    p->threaded = helper_thread_start(&p->thread, prefetch_thread_main, p);
    if (!p->threaded && after) after(after_ctx);
    *out = p;
    return 0;
}

RowSource row_prefetch_source(RowPrefetch *p)
{
    return (RowSource){ .ctx = p, .next = prefetch_next, .description = p->inner.description };
}

void row_prefetch_stop(RowPrefetch *p)
{
    if (!p->threaded || p->joined) return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_signal(&p->slot_free);
    pthread_mutex_unlock(&p->lock);
    join_thread(p);
}

void row_prefetch_destroy(RowPrefetch **pp)
{
    RowPrefetch *p = *pp;
    if (!p) return;
    row_prefetch_stop(p);
    for (int i = 0; i < PREFETCH_BLOCKS; i++) {
        free(p->ring[i].texts);
        free(p->ring[i].hashes);
    }
    free(p->ring);
    pthread_cond_destroy(&p->slot_free);
    pthread_cond_destroy(&p->block_ready);
    pthread_mutex_destroy(&p->lock);
    free(p);
    *pp = NULL;
}
