/* ride.c: the ride ledger (see ride.h). */
#include "ride.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

void ride_free(RideLedger *l)
{
    free(l->heap);
    free(l->gaps);
    free(l->finished);
    *l = (RideLedger){ 0 };
}

/* ---- heap on ride_last_clock ---- */

static void heap_set(RideLedger *l, int32_t i, Request *r)
{
    l->heap[i] = r;
    r->ride_slot = i;
}

static void sift_up(RideLedger *l, int32_t i, Request *r)
{
    while (i > 0 && r->ride_last_clock < l->heap[(i - 1) / 2]->ride_last_clock) {
        heap_set(l, i, l->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(l, i, r);
}

static void sift_down(RideLedger *l, int32_t i, Request *r)
{
    for (;;) {
        int32_t k = 2 * i + 1;
        if (k >= l->n) break;
        if (k + 1 < l->n && l->heap[k + 1]->ride_last_clock < l->heap[k]->ride_last_clock) k++;
        if (l->heap[k]->ride_last_clock >= r->ride_last_clock) break;
        heap_set(l, i, l->heap[k]);
        i = k;
    }
    heap_set(l, i, r);
}

static void heap_remove(RideLedger *l, Request *r)
{
    int32_t i = r->ride_slot;
    SS_ASSERT(i >= 0 && i < l->n && l->heap[i] == r);
    Request *last = l->heap[--l->n];
    if (last != r) {
        if (i > 0 && last->ride_last_clock < l->heap[(i - 1) / 2]->ride_last_clock) sift_up(l, i, last);
        else sift_down(l, i, last);
    }
    r->ride_slot = -1;
}

/* ---- largest gaps ---- */

/* The largest gap of the spans that ended after `since`: entries are by
 * clock, gaps decreasing, so it is the first entry past `since`. */
static double gap_since(const RideLedger *l, int64_t since)
{
    size_t lo = 0, hi = l->n_gaps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->gaps[mid].clock > since) hi = mid; else lo = mid + 1;
    }
    return lo < l->n_gaps ? l->gaps[lo].gap_s : 0.0;
}

/* Entries no rider can ask about (ended at or before every rider's last
 * sync) are dropped when the stack grows: it stays as short as the gaps of
 * the oldest rider's lifetime, whatever the run's length. */
static void gaps_prune(RideLedger *l)
{
    int64_t oldest = l->clock;
    for (int32_t i = 0; i < l->n; i++) oldest = SS_MIN(oldest, l->heap[i]->ride_clock);
    size_t keep = 0;
    while (keep < l->n_gaps && l->gaps[keep].clock <= oldest) keep++;
    memmove(l->gaps, l->gaps + keep, (l->n_gaps - keep) * sizeof(*l->gaps));
    l->n_gaps -= keep;
}

static void gaps_push(RideLedger *l, double gap_s)
{
    while (l->n_gaps && l->gaps[l->n_gaps - 1].gap_s <= gap_s) l->n_gaps--;
    if (l->n_gaps == l->cap_gaps && l->n_gaps >= 4096) gaps_prune(l);
    SS_GROW(l->gaps, l->cap_gaps, l->n_gaps + 1);
    l->gaps[l->n_gaps++] = (RideGap){ l->clock, gap_s };
}

/* ---- riders ---- */

void ride_join(RideLedger *l, Request *r)
{
    SS_ASSERT(!ride_is_riding(r));
    SS_ASSERT(r->state == REQ_RUNNING && r->generated_tokens > 0 && r->generated_tokens < r->output_tokens);
    r->riding = true;
    r->ride_clock = l->clock;
    r->ride_last_clock = l->clock + (r->output_tokens - r->generated_tokens);
    l->sum_offset += r->prefilled_tokens - l->clock;
    SS_GROW(l->heap, l->cap, l->n + 1);
    sift_up(l, l->n++, r);
}

void ride_sync(RideLedger *l, Request *r)
{
    SS_ASSERT(ride_is_riding(r));
    int64_t tokens = l->clock - r->ride_clock;
    if (!tokens) return;
    /* Its offset (prefilled - clock) is unchanged: both grew by `tokens`. */
    r->generated_tokens += (int32_t)tokens;
    r->prefilled_tokens += (int32_t)tokens;
    r->last_token_s = l->clock_s;
    r->itl_max_s = SS_MAX(r->itl_max_s, gap_since(l, r->ride_clock));
    r->ride_clock = l->clock;
}

void ride_leave(RideLedger *l, Request *r)
{
    ride_sync(l, r);
    heap_remove(l, r);
    l->sum_offset -= r->prefilled_tokens - l->clock;
    r->riding = false;
}

void ride_advance(RideLedger *l, int64_t iters, double end_s, double gap_s)
{
    l->n_finished = 0;
    if (!l->n) {
        l->clock += iters;
        l->clock_s = end_s;
        return;
    }
    SS_ASSERT(iters <= ride_min_remaining(l));
    l->clock += iters;
    l->clock_s = end_s;
    gaps_push(l, gap_s);
    while (l->n && l->heap[0]->ride_last_clock == l->clock) {
        Request *r = l->heap[0];
        ride_leave(l, r);
        SS_ASSERT(r->generated_tokens == r->output_tokens);
        r->state = REQ_DONE;
        r->finish_s = r->last_token_s;
        SS_GROW(l->finished, l->cap_finished, l->n_finished + 1);
        l->finished[l->n_finished++] = r;
    }
}
