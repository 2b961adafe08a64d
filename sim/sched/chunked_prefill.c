/* chunked_prefill.c: Sarathi-style chunked prefill on continuous batching.
 *
 * Each step has a fixed token budget (`chunk`).  Decodes go first, one token
 * per runner, so a long prompt never stalls them; the rest of the budget
 * goes to unfinished prompts (runners first, then newcomers in arrival
 * order), a prompt taking as many tokens as are left.  Steps that mix a
 * prompt chunk with decodes keep the GPU busy at a steady per-step cost
 * (the stall-free schedule of Sarathi-Serve). */
#include <stddef.h>

#include "continuous.h"

static const OptSpec chunked_opts[] = {
    CONT_OPT_COMMON,
    { "chunk", OPT_INT, offsetof(ContOpts, max_num_batched_tokens), "512",
      "token budget per step (decodes + prompt chunks)", NULL, 1, 1 << 30 },
    { NULL },
};

static int chunked_init(void *priv, const void *opts, const SchedEnv *env)
{
    return cont_init(priv, opts, env, (ContMode){ .chunked = true });
}

const SchedOps sched_chunked_prefill = {
    .name = "chunked-prefill",
    .help = "continuous batching with prompts split into chunks, decodes first (Sarathi)",
    .opts = chunked_opts,
    .init = chunked_init,
    CONT_SCHED_OPS_COMMON,
};
