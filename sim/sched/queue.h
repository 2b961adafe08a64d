/* queue.h: a FIFO of requests (ring buffer) for scheduler waiting queues. */
#ifndef SERVESIM_SCHED_QUEUE_H
#define SERVESIM_SCHED_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "common.h"
#include "request.h"

typedef struct ReqFifo {
    Request **items;
    size_t head, n, cap; /* cap is a power of two */
} ReqFifo;

static inline void req_fifo_push(ReqFifo *q, Request *r)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        Request **items = ss_malloc(cap * sizeof(*items));
        for (size_t i = 0; i < q->n; i++) items[i] = q->items[(q->head + i) & (q->cap - 1)];
        free(q->items);
        q->items = items;
        q->head = 0;
        q->cap = cap;
    }
    q->items[(q->head + q->n++) & (q->cap - 1)] = r;
}

static inline void req_fifo_push_front(ReqFifo *q, Request *r)
{
    req_fifo_push(q, r); /* make room, then rotate it to the front */
    q->n--;
    q->head = (q->head + q->cap - 1) & (q->cap - 1);
    q->items[q->head] = r;
    q->n++;
}

static inline Request *req_fifo_peek(const ReqFifo *q, size_t i)
{
    return i < q->n ? q->items[(q->head + i) & (q->cap - 1)] : NULL;
}

static inline Request *req_fifo_pop(ReqFifo *q)
{
    if (!q->n) return NULL;
    Request *r = q->items[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->n--;
    return r;
}

/* Remove r (a cancel: --client, --admission): found from the head, where a
 * FIFO's oldest, and so first to time out, wait; the rest shift up.  False
 * when r is not queued. */
static inline bool req_fifo_remove(ReqFifo *q, const Request *r)
{
    size_t i = 0;
    while (i < q->n && q->items[(q->head + i) & (q->cap - 1)] != r) i++;
    if (i == q->n) return false;
    for (; i + 1 < q->n; i++)
        q->items[(q->head + i) & (q->cap - 1)] = q->items[(q->head + i + 1) & (q->cap - 1)];
    q->n--;
    return true;
}

static inline void req_fifo_free(ReqFifo *q)
{
    free(q->items);
    *q = (ReqFifo){ 0 };
}

#endif
