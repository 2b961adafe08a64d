/* ride.h: riders, the decoders whose tokens the engine credits lazily.
 *
 * A continuous step is mostly requests that emitted a token at the end of
 * the previous span and will emit one per iteration of the next: nothing
 * about them changes but counters.  Touching each of them at every step
 * cost ~40 ns a member-step, most of a run.  A scheduler may instead hand
 * such a request to the instance's ride ledger (engine_ride_join): it then
 * takes part in every iteration of every span without being listed in
 * Step.members, and its generated/prefilled tokens, last token time and
 * largest gap are brought up to date (ride_sync) only when someone needs
 * them: when it finishes or when the scheduler takes it back
 * (engine_ride_leave).
 *
 * The ledger keeps
 *   - an iteration clock: iterations run on the instance, and when the last
 *     one ended; a rider that joined at clock c has emitted clock - c tokens
 *     since, the last at clock_s (riders are in every iteration);
 *   - a min-heap of riders by the clock value at which each emits its last
 *     token (the ground truth, which the engine may read): the span's
 *     length is bounded by its top;
 *   - the sum of their context lengths, as an offset from the clock, for
 *     the step shapes;
 *   - for largest gaps: per span, the largest inter-token gap a rider saw
 *     (first iteration or the last, decode iterations only grow), as a stack
 *     of (clock, gap) with gaps decreasing: the largest gap since clock c is
 *     the first entry after c, found by bisection.
 * Stepwise runs and replay (which reads every block table) do not ride. */
#ifndef SERVESIM_RIDE_H
#define SERVESIM_RIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "request.h"

typedef struct RideGap {
    int64_t clock;  /* the span ended at this clock */
    double gap_s;   /* largest gap a rider saw in it (and, by pruning, after it) */
} RideGap;

typedef struct RideLedger {
    int64_t clock;            /* iterations run on this instance */
    double clock_s;           /* simulated seconds when iteration `clock` ended */
    Request **heap;           /* riders by ride_last_clock */
    int32_t n, cap;
    int64_t sum_offset;       /* sum over riders of (prefilled_tokens - clock) at their sync */
    RideGap *gaps;
    size_t n_gaps, cap_gaps;
    Request **finished;       /* riders done in the last span, for the scheduler */
    int32_t n_finished, cap_finished;
} RideLedger;

void ride_free(RideLedger *l);
static inline bool ride_is_riding(const Request *r) { return r->riding; }
void ride_join(RideLedger *l, Request *r);
/* Credit what r emitted since its last sync. */
void ride_sync(RideLedger *l, Request *r);
/* Sync and take r off the ledger. */
void ride_leave(RideLedger *l, Request *r);
/* Iterations until the first rider is done (INT64_MAX without riders). */
static inline int64_t ride_min_remaining(const RideLedger *l)
{
    return l->n ? l->heap[0]->ride_last_clock - l->clock : INT64_MAX;
}
/* Sum of the riders' context lengths in the next iteration, tokens. */
static inline int64_t ride_context(const RideLedger *l)
{
    return l->sum_offset + (int64_t)l->n * (l->clock + 1);
}
/* A span of `iters` iterations ended at end_s; every rider emitted `iters`
 * tokens, none further apart than gap_s.  Riders that are done now leave,
 * synced and marked done, into l->finished. */
void ride_advance(RideLedger *l, int64_t iters, double end_s, double gap_s);

#endif
