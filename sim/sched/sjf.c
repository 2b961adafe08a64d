/* sjf.c: predicted shortest job first on continuous batching.
 *
 * Waiting requests run in order of predicted remaining generation
 * (predicted_output_tokens - generated_tokens, from whatever predictor is
 * configured; the true length is never read), aged so that nothing starves:
 * priority = remaining - aging x seconds waited (continuous_queue.c shows
 * that the order is then fixed at enqueue and a late long request waits at
 * most about remaining / aging seconds behind newcomers).  Runners are not
 * interrupted except for memory, the lowest-priority runner first. */
#include <stddef.h>

#include "continuous.h"

static const OptSpec sjf_opts[] = {
    CONT_OPT_COMMON,
    CONT_OPT_PRIORITY,
    { "max_num_batched_tokens", OPT_INT, offsetof(ContOpts, max_num_batched_tokens), "0",
      "tokens per step, prompts + decodes; 0 = max(model context, 2048)", NULL, 0, 1 << 30 },
    { NULL },
};

static int sjf_init(void *priv, const void *opts, const SchedEnv *env)
{
    return cont_init(priv, opts, env, (ContMode){ .priority = true });
}

const SchedOps sched_sjf = {
    .name = "sjf",
    .help = "continuous batching, waiting queue by predicted remaining tokens, with aging",
    .opts = sjf_opts,
    .init = sjf_init,
    CONT_SCHED_OPS_COMMON,
};
