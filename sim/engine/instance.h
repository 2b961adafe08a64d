/* instance.h: one GPU replica: its scheduler, its memory, its backend, and
 * the span it is running. */
#ifndef SERVESIM_INSTANCE_H
#define SERVESIM_INSTANCE_H

#include <stdbool.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "cost/cost.h"
#include "fleet/fleet.h"
#include "sched/sched.h"
#include "ride.h"

struct Engine;

typedef struct Instance {
    int32_t index;
    struct Engine *engine;
    ModelSpec model;
    GpuSpec gpu;
    int64_t kv_capacity_tokens;
    int32_t tensor_parallel;   /* GPUs in this instance */
    FleetRole role;            /* prefill, decode, or both (colocated) */
    double outstanding_tokens; /* input + predicted output of requests routed here */
    double tokens_per_s;       /* rough decode speed, for routers comparing instances */
    const SchedOps *sched_ops;
    void *sched;               /* private state */
    void *sched_opts;
    Backend *backend;          /* ground truth step times */
    gsl_rng *sched_rng, *backend_rng;

    /* The running span (valid while busy). */
    bool busy;
    Step step;
    bool *emits_first;         /* per member: emits a token in iteration 1 */
    size_t emits_cap;
    void *span_scratch;        /* span_end's per-member work arrays */
    size_t span_scratch_bytes;
    StepShape first_shape;     /* iteration 1 */
    StepShape decode_shape;    /* iteration 2 (later ones grow decode_context) */
    bool decode_linear;        /* decode iteration j takes decode_a + decode_b j seconds */
    double decode_a, decode_b;
    int32_t n_pieces;          /* else, when > 0: piecewise linear (BackendOps.decode_iter_pieces) */
    DecodePiece pieces[DECODE_PIECES_MAX];
    double piece_cum_s[DECODE_PIECES_MAX]; /* seconds of the decode iterations before each piece */
    double piece_max_s[DECODE_PIECES_MAX]; /* the longest decode iteration before each piece */
    int64_t span_iters;        /* K */
    bool planned;              /* timed by BackendOps.span_plan: note_plan counts it */
    SpanPlan plan;
    RideLedger ride;           /* decoders credited lazily (ride.h) */
    double span_start_s;
    double first_iter_s;       /* duration of iteration 1 */
    double *stepwise_cum_s;    /* stepwise mode: T(k) for k = 1..K */
    size_t stepwise_cap;
    uint64_t generation;       /* invalidates stale STEP_END / WAKE events */
    bool kick_pending;         /* a SIM_EV_KICK is queued */
    int64_t steps_done;
    int64_t in_system;         /* routed here and not finished */
    int64_t finished;          /* requests finished here (timeseries.csv) */
    int64_t failed;            /* of them not done: failed, rejected, cancelled (timeseries.csv) */
    Request **doomed;          /* preempted past --admission max_preemptions: fail after planning */
    size_t doomed_cap;
    int32_t n_doomed;
} Instance;

#endif
