/* event_queue.h: the simulator's future event list.
 *
 * A binary min-heap ordered by (time, insertion sequence): events at the same
 * simulated time fire in the order they were pushed (libuv's timer rule), so
 * a run never depends on how the heap happens to break ties. */
#ifndef SERVESIM_EVENT_QUEUE_H
#define SERVESIM_EVENT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum SimEventKind {
    SIM_EV_ARRIVAL = 0, /* the next trace row arrives */
    SIM_EV_STEP_END,    /* an instance's step (span of iterations) ends */
    SIM_EV_WAKE,        /* an idle instance asked to be asked again (batching window) */
    SIM_EV_SAMPLE,      /* time-series sampling tick */
    SIM_EV_KICK,        /* an idle instance got work: ask its scheduler once every
                           arrival of this instant is in (simultaneous arrivals batch) */
    SIM_EV_DEADLINE,    /* a client or admission deadline of one request (client_engine.c) */
    SIM_EV_RETRY,       /* a client sends a failed request again */
    SIM_EV_AUTOSCALE,   /* an autoscaling decision (autoscale_engine.c) */
    SIM_EV_INSTANCE_READY,   /* a booting instance's cold start is over: it takes requests */
    SIM_EV_INSTANCE_DRAINED, /* a draining instance may have finished its last request */
    SIM_EV_KV_TRANSFER, /* a prefilled request's KV reached its decode instance (disagg.c) */
} SimEventKind;

typedef struct SimEvent {
    double time_s;        /* simulated seconds */
    uint64_t seq;         /* insertion order: the tie-breaker */
    int32_t kind;         /* SimEventKind */
    int32_t instance;     /* target instance, -1 for none */
    uint64_t generation;  /* stale when it differs from the target's current one */
} SimEvent;

typedef struct EventQueue {
    SimEvent *heap;
    size_t n, cap;
    uint64_t next_seq;
    /* One event beside the heap: the next arrival of a stream that is read
     * one row ahead needs no heap operation, only a comparison per pop. */
    SimEvent side;
    bool side_armed;
} EventQueue;

void event_queue_init(EventQueue *q);
void event_queue_free(EventQueue *q);
#if defined(__GNUC__)
__attribute__((noreturn, cold))
#endif
void event_queue__nan_abort(void);
/* Out of line (the heap doubles a few times a run), so that the push
 * inlined at its few call sites stays small. */
#if defined(__GNUC__)
__attribute__((noinline, cold))
#endif
void event_queue__grow(EventQueue *q);
/* Inline: a push per span (and per cut), where the call's register saves
 * were a fifth of its cost.  NaN would corrupt the order. */
static inline void event_queue_push(EventQueue *q, double time_s, int32_t kind, int32_t instance,
                                    uint64_t generation)
{
    if (time_s != time_s) event_queue__nan_abort();
    if (q->n == q->cap) event_queue__grow(q);
    SimEvent *heap = q->heap;
    uint64_t seq = q->next_seq++;
    size_t i = q->n++;
    /* The new event has the largest sequence number of any queued (numbers
     * only grow), so at an equal time it goes after: it rises past a parent
     * only when strictly earlier, the order (time, seq) gives. */
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!(time_s < heap[parent].time_s)) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = (SimEvent){ time_s, seq, kind, instance, generation };
}
/* As push, into the side slot (which must be empty): same order, same
 * tie-breaking (its sequence number is taken now). */
void event_queue_push_side(EventQueue *q, double time_s, int32_t kind, int32_t instance,
                           uint64_t generation);
/* Pop the earliest event into *out; false when empty. */
bool event_queue_pop(EventQueue *q, SimEvent *out);
static inline size_t event_queue_size(const EventQueue *q) { return q->n + q->side_armed; }

#endif
