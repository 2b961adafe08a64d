/* request.c: request lifecycle names and step helpers. */
#include <stdlib.h>

#include "common.h"
#include "request.h"
#include "sched/sched.h"

const char *request_state_name(ReqState s)
{
    static const char *names[] = { "arrived", "queued", "running", "preempted",
                                   "done", "failed", "rejected", "cancelled" };
    return (unsigned)s < SS_ARRAY_LEN(names) ? names[s] : "?";
}

const char *request_fail_reason_name(ReqFailReason r)
{
    static const char *names[] = { "", "trace_failed", "truncated", "too_long", "queue_full", "empty_prompt",
                                   "queue_timeout", "preempted", "ttft_timeout", "timeout", "patience" };
    return (unsigned)r < SS_ARRAY_LEN(names) ? names[r] : "?";
}

void step_reset(Step *s)
{
    s->n_members = 0;
    s->static_batch = false;
    s->padded_input = 0;
    s->max_iters = 0;
    s->interruptible = false;
    s->rank_by_sched_key = false;
    s->iters_done = 0;
    s->start_s = s->end_s = 0;
    s->padding_tokens = 0;
    s->n_decode_first = s->n_riders = s->n_finished_riders = 0;
    s->finished_riders = NULL;
}

void step_grow(Step *s)
{
    SS_GROW(s->members, s->cap_members, s->n_members + 1);
}

void step_free(Step *s)
{
    free(s->members);
    s->members = NULL;
    s->n_members = s->cap_members = 0;
}
