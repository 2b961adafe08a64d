/* continuous_queue.c: per-request scheduler state (pooled), the waiting queue
 * (a FIFO, or a binary heap on (key, id) for priority policies) and the
 * running set sorted by rank (sjf/srpt: only in plans that list runners,
 * continuous_rank.c).
 *
 * Priority with aging: key = predicted remaining tokens + aging x arrival.
 * A request's priority at time t is key - aging x t; the second term is the
 * same for everyone, so the order never changes while requests wait and a
 * heap keyed once at enqueue is exact.  It also bounds starvation: anything
 * that arrives more than key/aging seconds after a request ranks behind it. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "continuous.h"

#define SEQ_SLAB 1024

ContSeq *cont_seq_attach(Cont *c, Request *r)
{
    if (!c->free_seqs) {
        ContSeq *slab = ss_calloc(SEQ_SLAB, sizeof(*slab));
        SS_GROW(c->slabs, c->cap_slabs, c->n_slabs + 1);
        c->slabs[c->n_slabs++] = slab;
        for (int i = SEQ_SLAB - 1; i >= 0; i--) {
            slab[i].next_free = c->free_seqs;
            c->free_seqs = &slab[i];
        }
    }
    ContSeq *s = c->free_seqs;
    c->free_seqs = s->next_free;
    KvSeq kv = s->kv; /* keep the table's memory: no malloc per request */
    *s = (ContSeq){ .kv = kv, .heap_index = -1, .run_index = -1, .rank_slot = { -1, -1 } };
    r->sched_data = s;
    return s;
}

void cont_seq_detach(Cont *c, Request *r)
{
    ContSeq *s = cont_seq(r);
    kv_seq_release(&c->kv, &s->kv);
    kv_release_deferred(&c->kv, s->deferred_blocks);
    s->deferred_blocks = 0;
    r->kv_blocks = 0;
    s->next_free = c->free_seqs;
    c->free_seqs = s;
    r->sched_data = NULL;
}

void cont_seq_free_all(Cont *c)
{
    for (size_t i = 0; i < c->n_slabs; i++) {
        for (int j = 0; j < SEQ_SLAB; j++) {
            kv_seq_release(&c->kv, &c->slabs[i][j].kv);
            kv_seq_destroy(&c->slabs[i][j].kv);
        }
        free(c->slabs[i]);
    }
    free(c->slabs);
    c->slabs = NULL;
    c->n_slabs = c->cap_slabs = 0;
    c->free_seqs = NULL;
}

double cont_key(const Cont *c, const Request *r)
{
    int32_t rem = r->predicted_output_tokens - r->generated_tokens;
    /* Past its prediction a request is "nearly done": first in line. */
    return (double)SS_MAX(rem, 0) + c->o.aging * r->arrival_s;
}

/* ---- waiting ---- */

/* The heap holds each entry's key and id beside it: sifting through tens of
 * thousands of waiting requests compares without touching them. */
static bool heap_before(const WaitSlot *a, const WaitSlot *b)
{
    return a->key != b->key ? a->key < b->key : a->id < b->id;
}

static void heap_set(Cont *c, size_t i, WaitSlot e)
{
    c->heap[i] = e;
    e.s->heap_index = (int32_t)i;
}

static void heap_sift_up(Cont *c, size_t i, WaitSlot e)
{
    while (i > 0 && heap_before(&e, &c->heap[(i - 1) / 2])) {
        heap_set(c, i, c->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(c, i, e);
}

static void heap_sift_down(Cont *c, size_t i, WaitSlot e)
{
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= c->heap_n) break;
        if (k + 1 < c->heap_n && heap_before(&c->heap[k + 1], &c->heap[k])) k++;
        if (!heap_before(&c->heap[k], &e)) break;
        heap_set(c, i, c->heap[k]);
        i = k;
    }
    heap_set(c, i, e);
}

size_t cont_wait_len(const Cont *c) { return c->heap_wait ? c->heap_n : c->fifo.n; }

Request *cont_wait_peek(const Cont *c)
{
    if (c->heap_wait) return c->heap_n ? c->heap[0].r : NULL;
    return req_fifo_peek(&c->fifo, 0);
}

Request *cont_wait_pop(Cont *c)
{
    if (!c->heap_wait) return req_fifo_pop(&c->fifo);
    if (!c->heap_n) return NULL;
    WaitSlot top = c->heap[0];
    WaitSlot last = c->heap[--c->heap_n];
    if (c->heap_n) heap_sift_down(c, 0, last);
    top.s->heap_index = -1;
    return top.r;
}

/* Take r out of the waiting queue wherever it stands (its client gave up). */
void cont_wait_remove(Cont *c, Request *r)
{
    if (!c->heap_wait) {
        bool queued = req_fifo_remove(&c->fifo, r);
        SS_ASSERT(queued);
        return;
    }
    size_t i = (size_t)cont_seq(r)->heap_index;
    SS_ASSERT(i < c->heap_n && c->heap[i].r == r);
    WaitSlot last = c->heap[--c->heap_n];
    if (i < c->heap_n) { /* the last one fills the hole, then moves up or down */
        heap_sift_up(c, i, last);
        heap_sift_down(c, (size_t)last.s->heap_index, last);
    }
    cont_seq(r)->heap_index = -1;
}

/* `front`: a preempted request goes back to the head of a FIFO; a heap
 * places it by its key (sjf/srpt: its arrival-based aging keeps it near the
 * head; a queue_key policy: wherever its key says). */
void cont_wait_push(Cont *c, Request *r, bool front)
{
    if (!c->heap_wait) {
        if (front) req_fifo_push_front(&c->fifo, r); else req_fifo_push(&c->fifo, r);
        return;
    }
    ContSeq *s = cont_seq(r);
    s->key = c->queue_key ? c->queue_key(r, &c->o) : cont_key(c, r);
    SS_GROW(c->heap, c->heap_cap, c->heap_n + 1);
    heap_sift_up(c, c->heap_n++, (WaitSlot){ .key = s->key, .id = r->id, .r = r, .s = s });
}

/* ---- running, sorted by rank: the last one is the first preempted ---- */

static bool run_before(const Cont *c, const Request *a, const Request *b)
{
    if (c->priority) {
        double ka = cont_seq(a)->key, kb = cont_seq(b)->key;
        if (ka != kb) return ka < kb;
    }
    return a->id < b->id;
}

/* Lazy rank: outside a plan that lists runners the set has no order (an
 * admission goes at the end, a removal swaps the last in); in one, it is
 * kept sorted as below.  Either way run_index finds a runner in O(1). */
static void run_set(Cont *c, int32_t i, Request *r)
{
    c->running[i] = r;
    if (c->rank_lazy) cont_seq(r)->run_index = i;
}

void cont_run_insert(Cont *c, Request *r)
{
    SS_GROW(c->running, c->cap_running, c->n_running + 1);
    int32_t i = c->n_running++;
    if (c->rank_lazy) cont_rank_add(c, r);
    if (!c->rank_lazy || c->run_sorted) {
        while (i > 0 && run_before(c, r, c->running[i - 1])) {
            run_set(c, i, c->running[i - 1]);
            i--;
        }
    }
    run_set(c, i, r);
}

void cont_run_remove_at(Cont *c, int32_t i)
{
    SS_ASSERT(i >= 0 && i < c->n_running);
    if (!c->rank_lazy) {
        memmove(c->running + i, c->running + i + 1, (size_t)(c->n_running - i - 1) * sizeof(*c->running));
        c->n_running--;
        return;
    }
    Request *r = c->running[i];
    cont_rank_remove(c, r);
    cont_seq(r)->run_index = -1;
    c->n_running--;
    if (c->run_sorted) {
        for (int32_t k = i; k < c->n_running; k++) run_set(c, k, c->running[k + 1]);
    } else if (i < c->n_running) {
        run_set(c, i, c->running[c->n_running]);
    }
}

/* Bisection on the rank the set is sorted by (keys as last sorted). */
int32_t cont_run_find(const Cont *c, const Request *r)
{
    if (c->rank_lazy) {
        int32_t i = cont_seq(r)->run_index;
        SS_ASSERT(i >= 0 && i < c->n_running && c->running[i] == r);
        return i;
    }
    int32_t lo = 0, hi = c->n_running;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        bool before = c->priority ? run_before(c, c->running[mid], r) : c->running[mid]->id < r->id;
        if (before) lo = mid + 1; else hi = mid;
    }
    SS_ASSERT(lo < c->n_running && c->running[lo] == r);
    return lo;
}

/* Priority policies without lazy rank (length-aware, chunked): keys fall by
 * one per token emitted, the same for every runner, so the order barely
 * moves: insertion sort is O(n) here. */
void cont_run_resort(Cont *c)
{
    if (!c->priority) return;
    for (int32_t i = 0; i < c->n_running; i++) cont_seq(c->running[i])->key = cont_key(c, c->running[i]);
    for (int32_t i = 1; i < c->n_running; i++) {
        Request *r = c->running[i];
        int32_t j = i;
        while (j > 0 && run_before(c, r, c->running[j - 1])) {
            c->running[j] = c->running[j - 1];
            j--;
        }
        c->running[j] = r;
    }
}
