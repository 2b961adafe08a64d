/* sched.h: the scheduler interface.
 *
 * A scheduler owns its queues.  The engine tells it about arrivals and about
 * finished steps, and asks it for the next step whenever the instance's GPU
 * is free.  A static (request-level) policy returns a padded batch that runs
 * until its longest member ends; a continuous (iteration-level) policy
 * returns an iteration whose members may change at the next call.  The same
 * object runs under the simulator and under replay: it cannot tell which. */
#ifndef SERVESIM_SCHED_H
#define SERVESIM_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "cost/cost.h"
#include "opts.h"
#include "request.h"

typedef struct StepMember {
    Request *req;
    int32_t prefill_chunk;  /* prompt tokens computed in the first iteration; 0 = decode */
    int32_t tokens_emitted; /* engine: tokens this member emitted in the step */
} StepMember;

typedef struct Step {
    StepMember *members;
    int32_t n_members, cap_members;
    /* Request-level batch: every member's prompt is padded to padded_input
     * tokens, all slots decode until the longest member is done (finished
     * members keep their slot: the padding waste Magnus attacks). */
    bool static_batch;
    int32_t padded_input;   /* tokens; static batches only */
    /* Iterations the scheduler allows before it must be asked again
     * (memory planned, chunk boundary); 0 = no limit. */
    int64_t max_iters;
    /* Continuous policies: cut the step at the iteration boundary after an
     * arrival so the newcomer can join. */
    bool interruptible;
    /* Riders (continuous policies, sim/engine/ride.h): decoders the engine
     * credits lazily; they run in every iteration without being members.
     * members[0..n_decode_first) are the decode-first runners in rank order:
     * where riders would stand if they were listed (finishing order). */
    int32_t n_decode_first;
    /* Rank order of the above: arrival id, or (priority policies) the
     * Request.sched_key the scheduler gives the decode-first members and
     * the finished riders in on_step_done. */
    bool rank_by_sched_key;
    /* Filled by the engine. */
    int32_t n_riders;       /* riders in the step */
    Request *const *finished_riders; /* riders done in this step (on_step_done), */
    int32_t n_finished_riders;       /* synced and marked done */
    int64_t iters_done;     /* iterations executed */
    double start_s, end_s;  /* simulated seconds */
    int64_t padding_tokens; /* token slots computed for padding */
    int64_t id;             /* step sequence number on this instance */
} Step;

void step_reset(Step *s);
/* Room for one more member (the out-of-line half of step_add). */
void step_grow(Step *s);
/* Inline: called for every member of every step (~10 per step). */
static inline void step_add(Step *s, Request *r, int32_t prefill_chunk)
{
    if (s->n_members == s->cap_members) step_grow(s);
    s->members[s->n_members++] = (StepMember){ .req = r, .prefill_chunk = prefill_chunk };
}
void step_free(Step *s);

struct Instance;

typedef struct SchedEnv {
    const ModelSpec *model;
    const GpuSpec *gpu;
    Roofline estimator;         /* the scheduler's own step-time estimate */
    int64_t kv_capacity_tokens; /* KV cache the instance can hold */
    int32_t kv_block_size;      /* tokens per block (paged policies) */
    int32_t max_context;        /* tokens: prompt + output limit of the model */
    gsl_rng *rng;               /* the scheduler's own named stream */
    struct Instance *instance;  /* pass back to the engine_* calls below */
} SchedEnv;

typedef struct SchedOps {
    const char *name;
    const char *help;
    const OptSpec *opts;
    size_t opts_size;
    size_t priv_size;
    int (*init)(void *priv, const void *opts, const SchedEnv *env);
    /* A request routed to this instance.  The predictor has already set
     * predicted_output_tokens. */
    void (*on_arrival)(void *priv, Request *r, double now_s);
    /* Fill `step` (already reset) and return 1, or return 0 when there is
     * nothing to run now; then, if *wake_s > now_s, the engine asks again at
     * that time (batching windows) as well as at the next arrival. */
    int (*next_step)(void *priv, double now_s, Step *step, double *wake_s);
    /* The step ran; members' generated_tokens, states and times are updated.
     * Members that finished (request_is_finished) are reported to the metrics
     * and freed by the engine right after this returns: drop them here. */
    void (*on_step_done)(void *priv, const Step *step, double now_s);
    /* Requests waiting (for time series). */
    int64_t (*queue_length)(void *priv);
    /* KV tokens held right now (for time series). */
    int64_t (*kv_tokens_used)(void *priv);
    void (*close)(void *priv);
    /* The client gave up on r (or admission control rejects it) while it is
     * not in a running step: queued, preempted, or between steps in the
     * policy's running set.  Drop it from every queue and free its KV; the
     * engine ends it right after.  Needed for --client and --admission. */
    void (*cancel)(void *priv, Request *r, double now_s);
    /* Optional, prefix caching: r's prompt tokens found cached here (for
     * prefix-affinity routing), and the blocks cached now (timeseries.csv);
     * -1 from the latter when caching is off. */
    int64_t (*prefix_match_tokens)(void *priv, const Request *r);
    int64_t (*prefix_cached_blocks)(void *priv);
    /* Optional, disaggregated decode instances (engine_kv_pull): the KV of
     * r, admitted earlier with its blocks, has landed; r decodes from the
     * next step on.  Called between or inside steps (a landing interrupts
     * an interruptible span as an arrival does). */
    void (*kv_landed)(void *priv, Request *r, double now_s);
    /* Optional: the policy's own counters (a new reference), shown under
     * "sched_stats" in summary.json; NULL when it has none. */
    json_t *(*stats_json)(void *priv);
} SchedOps;

extern const SchedOps *const sched_registry[];
const SchedOps *sched_find(const char *name);

/* Engine services a scheduler may call. */
void engine_reject(struct Instance *inst, Request *r, ReqFailReason why, double now_s);
void engine_fail(struct Instance *inst, Request *r, ReqFailReason why, double now_s);
/* Recompute preemption: KV dropped, prompt + generated tokens recomputed later. */
void engine_preempt(struct Instance *inst, Request *r, double now_s);
/* Swap preemption: the scheduler keeps the KV (in CPU memory); the engine
 * counts it (r->preemptions, --admission max_preemptions). */
void engine_preempt_swapped(struct Instance *inst, Request *r);
/* Riders: a running request that has emitted a token and will emit one in
 * every iteration from now on rides (true), or the run does not ride
 * (stepwise, replay: false).  Leaving brings its counters up to date; read
 * nothing of a rider but what does not change while it rides. */
bool engine_ride_join(struct Instance *inst, Request *r);
void engine_ride_leave(struct Instance *inst, Request *r);
/* Disaggregation: r (r->kv_transfer_slot set) now holds blocks for its
 * prompt on this decode instance: its KV starts across the link, and the
 * scheduler's kv_landed fires when it is in. */
void engine_kv_pull(struct Instance *inst, Request *r, double now_s);
/* Iterations run on the instance so far (riders' tokens grow with it). */
int64_t engine_ride_clock(const struct Instance *inst);

#endif
