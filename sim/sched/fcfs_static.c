/* fcfs_static.c: request-level batching, first come first served.
 *
 * The baseline Magnus measures against (FasterTransformer-style static
 * batching): up to `batch` requests in arrival order, prompts padded to the
 * longest, the batch runs until its longest generation ends, finished
 * members keep their slot and their memory to the end.  A batching window
 * waits up to `window` seconds after the oldest request arrived for the batch
 * to fill, and dispatches at once when it is full.
 *
 * Memory: the scheduler does not know output lengths, so like a static
 * server it reserves for each slot the padded prompt plus `max_new_tokens`
 * (default: the model's whole context), and admits fewer members when the
 * batch would not fit the KV cache.  Outputs never overflow that
 * reservation: the batch stops after max_new_tokens tokens (members still
 * generating then end as truncated, as a server's max_tokens cuts them), and
 * the engine caps every output at the model's context. */
#include <stdlib.h>

#include "common.h"
#include "queue.h"
#include "sched.h"

typedef struct FcfsStaticOpts {
    int64_t batch;          /* requests per batch, at most */
    double window_s;        /* seconds to wait for a batch to fill */
    int64_t max_new_tokens; /* reserved output tokens per slot; 0 = model context */
} FcfsStaticOpts;

typedef struct FcfsStatic {
    FcfsStaticOpts o;
    SchedEnv env;
    ReqFifo waiting;
    int64_t reserved_tokens; /* KV tokens held by the running batch */
} FcfsStatic;

static const OptSpec fcfs_static_opts[] = {
    { "batch", OPT_INT, offsetof(FcfsStaticOpts, batch), "8", "requests per batch (max)", NULL, 1, 1 << 20 },
    { "window", OPT_DOUBLE, offsetof(FcfsStaticOpts, window_s), "0",
      "seconds the oldest request may wait for the batch to fill", NULL, 0, 1e9 },
    { "max_new_tokens", OPT_INT, offsetof(FcfsStaticOpts, max_new_tokens), "0",
      "output tokens reserved per slot; 0 = up to the model context", NULL, 0, 1 << 24 },
    { NULL },
};

/* KV tokens one slot reserves when the batch is padded to `padded` tokens. */
static int64_t slot_tokens(const FcfsStatic *s, int64_t padded)
{
    int64_t limit = s->env.max_context;
    if (s->o.max_new_tokens > 0) limit = SS_MIN(limit, padded + s->o.max_new_tokens);
    return SS_MAX(limit, padded + 1);
}

static int fcfs_static_init(void *priv, const void *opts, const SchedEnv *env)
{
    FcfsStatic *s = priv;
    s->o = *(const FcfsStaticOpts *)opts;
    s->env = *env;
    /* A slot reserves its prompt plus max_new_tokens (or the whole context):
     * when even a one-token prompt's slot exceeds the cache, every request
     * would be rejected; say so now rather than run and reject them all. */
    if (slot_tokens(s, 1) > env->kv_capacity_tokens)
        return ss_error_set(EINVAL, "--sched fcfs-static: one batch slot reserves %lld KV tokens (%s) but the KV "
                            "cache holds %lld: no request could ever run; set max_new_tokens=N (tokens per "
                            "slot) or give the KV cache more memory (--gpu-mem-util, --tp, a bigger GPU)",
                            (long long)slot_tokens(s, 1),
                            s->o.max_new_tokens > 0 ? "the prompt plus max_new_tokens" : "the model context",
                            (long long)env->kv_capacity_tokens);
    return 0;
}

static void fcfs_static_on_arrival(void *priv, Request *r, double now_s)
{
    FcfsStatic *s = priv;
    if (slot_tokens(s, request_prefill_target(r)) > s->env.kv_capacity_tokens) {
        engine_reject(s->env.instance, r, REQ_REJECT_TOO_LONG, now_s);
        return;
    }
    req_fifo_push(&s->waiting, r);
}

static int fcfs_static_next_step(void *priv, double now_s, Step *step, double *wake_s)
{
    FcfsStatic *s = priv;
    if (!s->waiting.n) return 0;
    Request *oldest = req_fifo_peek(&s->waiting, 0);
    if ((int64_t)s->waiting.n < s->o.batch && now_s < oldest->arrival_s + s->o.window_s) {
        *wake_s = oldest->arrival_s + s->o.window_s;
        return 0;
    }
    int64_t padded = 0;
    while (s->waiting.n && step->n_members < s->o.batch) {
        Request *r = req_fifo_peek(&s->waiting, 0);
        int64_t p = SS_MAX(padded, (int64_t)request_prefill_target(r));
        if ((step->n_members + 1) * slot_tokens(s, p) > s->env.kv_capacity_tokens) break;
        padded = p;
        step_add(step, req_fifo_pop(&s->waiting), 0);
    }
    SS_ASSERT(step->n_members > 0); /* on_arrival rejected what cannot fit alone */
    step->static_batch = true;
    step->padded_input = (int32_t)padded;
    /* Iterations emit one token each (the first comes with the prefill). */
    if (s->o.max_new_tokens > 0) step->max_iters = s->o.max_new_tokens;
    s->reserved_tokens = step->n_members * slot_tokens(s, padded);
    return 1;
}

static void fcfs_static_on_step_done(void *priv, const Step *step, double now_s)
{
    FcfsStatic *s = priv;
    s->reserved_tokens = 0;
    /* The span ran to the longest member's end or to max_new_tokens: who is
     * still generating was cut at the limit. */
    for (int32_t i = 0; i < step->n_members; i++) {
        Request *r = step->members[i].req;
        if (!request_is_finished(r)) {
            SS_ASSERT(s->o.max_new_tokens > 0 && step->iters_done == s->o.max_new_tokens);
            engine_fail(s->env.instance, r, REQ_FAIL_TRUNCATED, now_s);
        }
    }
}

/* Its client gave up while it waited (members of a running batch end with it). */
static void fcfs_static_cancel(void *priv, Request *r, double now_s)
{
    (void)now_s;
    FcfsStatic *s = priv;
    bool queued = req_fifo_remove(&s->waiting, r);
    SS_ASSERT(queued);
}

static int64_t fcfs_static_queue_length(void *priv) { return (int64_t)((FcfsStatic *)priv)->waiting.n; }
static int64_t fcfs_static_kv_used(void *priv) { return ((FcfsStatic *)priv)->reserved_tokens; }

static void fcfs_static_close(void *priv)
{
    FcfsStatic *s = priv;
    req_fifo_free(&s->waiting);
}

const SchedOps sched_fcfs_static = {
    .name = "fcfs-static",
    .help = "request-level batching, FCFS, fixed max batch size and batching window",
    .opts = fcfs_static_opts,
    .opts_size = sizeof(FcfsStaticOpts),
    .priv_size = sizeof(FcfsStatic),
    .init = fcfs_static_init,
    .on_arrival = fcfs_static_on_arrival,
    .next_step = fcfs_static_next_step,
    .on_step_done = fcfs_static_on_step_done,
    .cancel = fcfs_static_cancel,
    .queue_length = fcfs_static_queue_length,
    .kv_tokens_used = fcfs_static_kv_used,
    .close = fcfs_static_close,
};
