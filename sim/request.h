/* request.h: one request's record and lifecycle.
 *
 * arrived -> queued -> running -> (preempted -> queued -> running ...) ->
 * done | failed | rejected | cancelled.  Every transition is timestamped in simulated
 * seconds.  `output_tokens` is the ground truth from the trace: only the
 * engine and the oracle predictors may read it, never a scheduler. */
#ifndef SERVESIM_REQUEST_H
#define SERVESIM_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

typedef enum ReqState {
    REQ_ARRIVED = 0,
    REQ_QUEUED,
    REQ_RUNNING,
    REQ_PREEMPTED,
    REQ_DONE,
    REQ_FAILED,
    REQ_REJECTED,
    REQ_CANCELLED,          /* the client gave up (--client): left the queue or was cut */
} ReqState;

typedef enum ReqFailReason {
    REQ_FAIL_NONE = 0,
    REQ_FAIL_TRACE,        /* the trace says it failed (BurstGPT zero-token row) */
    REQ_FAIL_TRUNCATED,    /* stopped at a memory or length limit */
    REQ_REJECT_TOO_LONG,   /* can never fit the model context or the GPU memory */
    REQ_REJECT_QUEUE_FULL, /* admission control */
    REQ_REJECT_EMPTY_PROMPT, /* a zero-token prompt: nothing to serve */
    REQ_REJECT_QUEUE_TIMEOUT, /* admission control: waited longer than max_queue_delay */
    REQ_FAIL_PREEMPTED,    /* preempted more than max_preemptions times */
    REQ_CANCEL_TTFT_TIMEOUT, /* client: no first token within ttft_timeout */
    REQ_CANCEL_TIMEOUT,    /* client: not done within timeout */
    REQ_CANCEL_PATIENCE,   /* client: its drawn patience ran out */
    REQ_FAIL_REASONS
} ReqFailReason;

typedef struct Request {
    int64_t id;                     /* arrival order, 0-based */
    int32_t instance;               /* replica it was routed to */
    int32_t input_tokens;           /* prompt tokens */
    int32_t output_tokens;          /* ground truth (engine/oracle only) */
    int32_t predicted_output_tokens;/* the predictor's point estimate */
    int32_t predicted_output_p90;   /* the predictor's 90th percentile (= point if none) */
    int32_t generated_tokens;       /* tokens emitted so far */
    int32_t prefilled_tokens;       /* prompt+recompute tokens whose KV is in cache */
    int32_t kv_blocks;              /* KV blocks held (paged policies) */
    int32_t preemptions;
    int32_t session;                /* interned session key (Metrics.sessions), -1 when none */
    int16_t app_id;                 /* interned application, -1 when none */
    ReqState state;
    ReqFailReason fail_reason;
    bool trace_failed;              /* replayed BurstGPT failure: fails after prefill */
    bool riding;                    /* engine: its tokens are credited lazily (sim/engine/ride.h) */
    int32_t ride_slot;              /* engine: index in the ride heap */
    int64_t ride_clock;             /* engine: iteration clock of its last credit while riding */
    int64_t ride_last_clock;        /* engine: clock at which it emits its last token */
    double arrival_s;               /* simulated seconds */
    double queued_s;
    double first_scheduled_s;       /* first time it entered a running step; -1 before */
    double first_token_s;           /* -1 before */
    double last_token_s;            /* -1 before */
    double finish_s;                /* done, failed or rejected; -1 before */
    double itl_max_s;               /* largest gap between two of its tokens */
    /* Client model (--client): attempts of one original request. */
    int64_t original_id;            /* the first attempt's id (= id for a first attempt) */
    double original_arrival_s;      /* the first attempt's arrival */
    double give_up_s;               /* when its client gives up; INFINITY: never */
    int16_t attempt;                /* 1 for the first */
    uint8_t give_up_why;            /* ReqFailReason of give_up_s */
    uint8_t pending_events;         /* engine: deadline events not yet fired (pool_put waits) */
    bool in_step;                   /* engine: a member of its instance's running step */
    bool cancel_pending;            /* engine: given up while in a step; cut at its end */
    int32_t disagg_output_tokens;   /* engine (disagg.c): its true output while a prefill instance
                                       serves its first token (output_tokens is 1 there); 0: not split */
    int32_t kv_transfer_slot;       /* engine (disagg.c): 1 + its KV transfer's slot from the hand-off
                                       to a decode instance until the KV lands; 0: none.  While set
                                       and queued, the decode scheduler admits it with blocks for its
                                       prompt and calls engine_kv_pull (sched.h), never computing it */
    int32_t prefill_computed_tokens;/* prompt tokens computed for it, recomputes included (wasted work) */
    uint64_t *hash_ids;             /* prefix block hashes (TraceRow.hash_ids, engine-owned); NULL: none */
    int32_t n_hash_ids;
    int32_t hash_block_tokens;      /* prompt tokens per hash */
    int32_t cached_tokens;          /* prompt tokens found in the prefix cache at its first admission */
    const char *text;               /* user text for text predictors; NULL when none */
    void *sched_data;               /* owned by the scheduler that queued it */
    int64_t sched_key;              /* free for the scheduler (heap index, batch id...) */
} Request;

static inline bool request_is_finished(const Request *r)
{
    return r->state == REQ_DONE || r->state == REQ_FAILED || r->state == REQ_REJECTED ||
           r->state == REQ_CANCELLED;
}

/* Tokens still to generate (ground truth; engine use). */
static inline int32_t request_remaining_tokens(const Request *r)
{
    return r->output_tokens - r->generated_tokens;
}

/* Tokens a scheduler must (re)compute before the next token: the prompt plus
 * any generated tokens lost to a recompute preemption. */
static inline int32_t request_prefill_target(const Request *r)
{
    return r->input_tokens + r->generated_tokens;
}

const char *request_state_name(ReqState s);
const char *request_fail_reason_name(ReqFailReason r);

#endif
