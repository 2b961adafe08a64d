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

void event_queue__nan_abort(void) { ss_abort(__FILE__, __LINE__, "event time is NaN"); }

void event_queue__grow(EventQueue *q) { SS_GROW(q->heap, q->cap, q->n + 1); }

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
    SimEvent *heap = q->heap;
    *out = heap[0];
    size_t n = --q->n;
    if (!n) return true;
    const SimEvent *last = &heap[n];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && event_before(&heap[child + 1], &heap[child])) child++;
        if (!event_before(&heap[child], last)) break;
        heap[i] = heap[child];
        i = child;
    }
    heap[i] = *last;
    return true;
}
