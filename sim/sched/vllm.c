/* vllm.c: continuous batching as vLLM's scheduler does it.
 *
 * Iteration-level: every step runs the running requests' decodes first,
 * then admits waiting requests in arrival order (whole prompts) while
 * max_num_seqs, max_num_batched_tokens and the KV blocks (less a watermark)
 * allow.  A runner that cannot get a block preempts the most recently
 * arrived runner (itself if it is the last), recompute by default, and the
 * victim goes back to the head of the queue; no one is admitted in a step
 * that preempted.  The machinery is in continuous.c. */
#include <stddef.h>

#include "continuous.h"

static const OptSpec vllm_opts[] = {
    CONT_OPT_COMMON,
    { "max_num_batched_tokens", OPT_INT, offsetof(ContOpts, max_num_batched_tokens), "0",
      "tokens per step, prompts + decodes; 0 = max(model context, 2048)", NULL, 0, 1 << 30 },
    { NULL },
};

static int vllm_init(void *priv, const void *opts, const SchedEnv *env)
{
    return cont_init(priv, opts, env, (ContMode){ .chunked = false });
}

const SchedOps sched_vllm = {
    .name = "vllm",
    .help = "continuous batching: paged KV blocks, FCFS, preemption (recompute or swap)",
    .opts = vllm_opts,
    .init = vllm_init,
    CONT_SCHED_OPS_COMMON,
};
