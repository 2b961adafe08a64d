/* replay/executor_internal.h: what executor.c (state, set-up) and
 * executor_step.c (running one iteration) share. */
#ifndef SERVESIM_REPLAY_EXECUTOR_INTERNAL_H
#define SERVESIM_REPLAY_EXECUTOR_INTERNAL_H

#include <stdbool.h>

#include "executor.h"
#include "kv.h"
#include "request.h"
#include "sched/sched.h"

/* One request as the executor sees it. */
typedef struct ReplayReq {
    int64_t id;
    int32_t *tokens;          /* prompt, then the greedy outputs */
    int32_t n_prompt, n_tokens, cap;
    int32_t pad;              /* leading padding positions in the cache (static batches) */
    int32_t cached;           /* positions whose KV is in the cache, padding included */
    int32_t filler;           /* token a finished static slot feeds next */
    KvSeq kv;
} ReplayReq;

/* One sequence of an iteration. */
typedef struct ReplaySeqPlan {
    ReplayReq *q;
    const int32_t *src;       /* real tokens fed after the padding */
    int32_t n, n_pad;         /* tokens fed, of which leading padding */
    int32_t start;            /* cache position of the first */
    bool emits;               /* its output is the request's next token */
} ReplaySeqPlan;

typedef struct ReplayMapSlot { int64_t id; ReplayReq *req; } ReplayMapSlot;

struct ReplayExecutor {
    ReplayConfig cfg;
    Model *cpu;
    void *cuda;               /* ModelCuda *, from the CUDA module */
    const struct CudaModuleApi *cuda_api;
    KvCache kv;
    ReplayMapSlot *map;       /* open addressing on id, linear probing; req NULL = empty */
    size_t map_cap, map_used;
    /* one iteration's plan (reused; plan_cap entries each) */
    ReplaySeqPlan *plan;
    ModelSeq *seqs;
    int32_t *next;            /* greedy outputs */
    size_t plan_cap;
    int32_t *scratch;         /* the iteration's tokens, back to back */
    size_t scratch_cap;
    bool static_padding;      /* the running static batch's padding runs (else skipped) */
    /* counters */
    int64_t steps, iterations;
    int64_t tokens_computed, tokens_generated, tokens_recomputed, padding_skipped;
    double measured_s;        /* sum of measured iterations, seconds */
};

ReplayReq *replay__req(ReplayExecutor *x, const Request *r);
ReplayReq *replay__find(const ReplayExecutor *x, int64_t id);
double replay__run_iteration(void *ctx, int32_t instance, const Step *step,
                             const bool *emits_first, const StepShape *shape, int64_t iter);

#endif
