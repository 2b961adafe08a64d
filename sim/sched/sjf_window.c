/* sjf_window.c: predicted-shortest first inside a window, with a hard
 * starvation bound, on vllm's continuous batching.
 *
 * The waiting queue is ordered by a deadline:
 *     key = arrival_s + window_s x min(1, predicted remaining / long_tokens)
 * (seconds; predicted remaining = max(predicted - generated, 0), so a
 * preempted request keeps its arrival and its key only falls).  A short
 * request's deadline is close to its arrival, a long one's at most window_s
 * later: shorter requests overtake longer ones that arrived up to window_s
 * before them, and requests predicted >= long_tokens are FCFS among
 * themselves.
 *
 * Starvation bound: every key lies in [arrival_s, arrival_s + window_s], so a
 * request that arrived at a is never overtaken by one that arrives after
 * a + window_s (that one's key is larger; admission is head-of-line, in key
 * order).  Its wait is at most what FCFS would make a request arriving at
 * a + window_s wait, plus window_s (tests/cli/test_sjf_window.sh checks the
 * overtaking bound on a flood of short requests behind a long one).
 *
 * Unlike sjf/srpt, only the admission order changes: runners keep vllm's
 * order, so a memory preemption takes the newest arrival (not the longest
 * predicted runner, which sjf's ranking would take, raising tail E2E), and
 * runners ride as vllm's do.  Only predicted_output_tokens is read. */
#include <stddef.h>

#include "common.h"
#include "continuous.h"

static const OptSpec sjf_window_opts[] = {
    CONT_OPT_COMMON,
    { "max_num_batched_tokens", OPT_INT, offsetof(ContOpts, max_num_batched_tokens), "0",
      "tokens per step, prompts + decodes; 0 = max(model context, 2048)", NULL, 0, 1 << 30 },
    { "window_s", OPT_DOUBLE, offsetof(ContOpts, window_s), "4",
      "seconds after its arrival by which a request's key is due: the most it can be overtaken by",
      NULL, 0, 1e9 },
    { "long_tokens", OPT_INT, offsetof(ContOpts, long_tokens), "512",
      "predicted remaining tokens at and above which a request gets the whole window (FCFS among them)",
      NULL, 1, 1 << 30 },
    { NULL },
};

static double sjf_window_key(const Request *r, const ContOpts *o)
{
    int64_t remaining = SS_MAX((int64_t)r->predicted_output_tokens - r->generated_tokens, 0);
    double share = SS_MIN((double)remaining / (double)o->long_tokens, 1.0);
    return r->arrival_s + o->window_s * share;
}

static int sjf_window_init(void *priv, const void *opts, const SchedEnv *env)
{
    return cont_init(priv, opts, env, (ContMode){ .queue_key = sjf_window_key });
}

const SchedOps sched_sjf_window = {
    .name = "sjf-window",
    .help = "continuous batching as vllm, waiting queue by arrival + window x predicted length share "
            "(short first, never overtaken by arrivals > window_s later)",
    .opts = sjf_window_opts,
    .init = sjf_window_init,
    CONT_SCHED_OPS_COMMON,
};
