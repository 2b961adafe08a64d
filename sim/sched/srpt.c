/* srpt.c: predicted shortest remaining processing time, with limited
 * preemption, on continuous batching.
 *
 * As sjf, and runners are ranked by the same aged key (their predicted
 * remaining tokens fall as they generate).  When the head of the queue is
 * refused for memory or max_num_seqs and some runner's key exceeds the
 * head's by more than `margin` tokens, the worst such runner is preempted
 * (recompute unless preempt=swap), at most `preempt_limit` times per
 * request so that a long request cannot be bounced forever. */
#include <stddef.h>

#include "continuous.h"

static const OptSpec srpt_opts[] = {
    CONT_OPT_COMMON,
    CONT_OPT_PRIORITY,
    { "max_num_batched_tokens", OPT_INT, offsetof(ContOpts, max_num_batched_tokens), "0",
      "tokens per step, prompts + decodes; 0 = max(model context, 2048)", NULL, 0, 1 << 30 },
    { "preempt_limit", OPT_INT, offsetof(ContOpts, preempt_limit), "1",
      "priority preemptions one request may suffer", NULL, 0, 1 << 20 },
    { "margin", OPT_INT, offsetof(ContOpts, margin), "64",
      "tokens by which a newcomer's key must beat a runner's to preempt it", NULL, 0, 1 << 30 },
    { NULL },
};

static int srpt_init(void *priv, const void *opts, const SchedEnv *env)
{
    return cont_init(priv, opts, env, (ContMode){ .priority = true, .srpt = true });
}

const SchedOps sched_srpt = {
    .name = "srpt",
    .help = "continuous batching, shortest predicted remaining first, limited preemption, aging",
    .opts = srpt_opts,
    .init = srpt_init,
    CONT_SCHED_OPS_COMMON,
};
