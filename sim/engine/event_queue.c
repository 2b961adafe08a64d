#include "event_queue.h"

#include <stdlib.h>

#include "common.h"

static inline bool event_before(const SimEvent *a, const SimEvent *b)
{
    if (a->time_s != b->time_s) return a->time_s < b->time_s;
    return a->seq < b->seq;
}

void event_queue_init(EventQueue *q) { *q = (EventQueue){ 0 }; }

void event_queue_free(EventQueue *q)
{
    free(q->heap);
    *q = (EventQueue){ 0 };
}

void event_queue_push(EventQueue *q, double time_s, int32_t kind, int32_t instance,
                      uint64_t generation)
{
    SS_ASSERT(time_s == time_s); /* NaN would corrupt the order */
    SS_GROW(q->heap, q->cap, q->n + 1);
    SimEvent ev = { time_s, q->next_seq++, kind, instance, generation };
    size_t i = q->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!event_before(&ev, &q->heap[parent])) break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = ev;
}

void event_queue_push_side(EventQueue *q, double time_s, int32_t kind, int32_t instance,
                           uint64_t generation)
{
    SS_ASSERT(time_s == time_s && !q->side_armed);
    q->side = (SimEvent){ time_s, q->next_seq++, kind, instance, generation };
    q->side_armed = true;
}

bool event_queue_pop(EventQueue *q, SimEvent *out)
{
    if (q->side_armed && (q->n == 0 || event_before(&q->side, &q->heap[0]))) {
        *out = q->side;
        q->side_armed = false;
        return true;
    }
    if (q->n == 0) return false;
    *out = q->heap[0];
    SimEvent last = q->heap[--q->n];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= q->n) break;
        if (child + 1 < q->n && event_before(&q->heap[child + 1], &q->heap[child])) child++;
        if (!event_before(&q->heap[child], &last)) break;
        q->heap[i] = q->heap[child];
        i = child;
    }
    if (q->n) q->heap[i] = last;
    return true;
}
