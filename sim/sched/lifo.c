/* lifo.c: continuous batching that admits the newest waiting request first.
 *
 * The smallest continuous policy, and the example of docs/SCHEDULERS.md:
 * everything but the waiting order is vllm's (continuous.c), and the order
 * is one function.  A request preempted for memory is requeued by the same
 * key, so it waits behind everything that arrived after it.  Under overload
 * old requests starve; that is the point of having it to compare against. */
#include <stddef.h>

#include "continuous.h"

static const OptSpec lifo_opts[] = {
    CONT_OPT_COMMON,
    { "max_num_batched_tokens", OPT_INT, offsetof(ContOpts, max_num_batched_tokens), "0",
      "tokens per step, prompts + decodes; 0 = max(model context, 2048)", NULL, 0, 1 << 30 },
    { NULL },
};

/* Lower first: the latest arrival (ties: the lower id, by the heap). */
static double lifo_queue_key(const Request *r, const ContOpts *o) { (void)o; return -r->arrival_s; }

static int lifo_init(void *priv, const void *opts, const SchedEnv *env)
{
    return cont_init(priv, opts, env, (ContMode){ .queue_key = lifo_queue_key });
}

const SchedOps sched_lifo = {
    .name = "lifo",
    .help = "continuous batching as vllm, newest waiting request admitted first (example policy)",
    .opts = lifo_opts,
    .init = lifo_init,
    CONT_SCHED_OPS_COMMON,
};
