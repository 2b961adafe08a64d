/* replay/executor.h: the replay backend: a StepExecutor (engine.h) that runs
 * every iteration of the engine's steps through the model runner (cpu:
 * model_forward_step on the reference kernels; cuda: model_cuda_forward_step)
 * and measures it.
 *
 * Per request it keeps the token ids (the prompt: deterministic
 * pseudo-random tokens from the request id and the seed; then the greedy
 * outputs, each request generating exactly its trace length, EOS ignored)
 * and a block table from its own KvCache (sim/kv.h, the allocator the
 * schedulers use), sized from the model's real KV bytes per block and a
 * memory budget.  The engine and the scheduler are unchanged: they cannot
 * tell that the iterations ran for real.
 *
 * Static (request-level) batches run their padding for real: a member whose
 * prompt is shorter than the batch's padded_input gets leading padding tokens
 * (left padding, attended like any token: the kernels have no mask), and a
 * member that has finished keeps decoding filler tokens in its slot until the
 * batch ends, as FasterTransformer-style servers do.  So the measured
 * iteration computes what the engine's StepShape says.  When the cache has
 * no block left for a padding position (the scheduler reserves max_context
 * per slot, padding may need more), that slot's padding is skipped and
 * counted: the row's padding_skipped column, and stats_json.
 *
 * Recompute preemption: release() of an unfinished request frees its blocks
 * and keeps its tokens; its next prefill chunks recompute prompt + generated
 * tokens.  Swap preemption is not modelled: the executor keeps a swapped-out
 * sequence's KV in place (no swap traffic is measured), so replays with
 * vllm:preempt=swap need cache headroom (an -ENOSPC names it).
 *
 * Timing: CLOCK_MONOTONIC around the forward call (cpu, or with
 * thread_cpu_timer the thread's CPU time, which other processes on a busy
 * machine do not inflate; cuda: the call
 * returns after the GPU finished, so the host clock measures upload, launch
 * and compute).  Block-table bookkeeping is outside the timed region. */
#ifndef SERVESIM_REPLAY_EXECUTOR_H
#define SERVESIM_REPLAY_EXECUTOR_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "cost/cost.h"
#include "engine/engine.h"
#include "model.h"

typedef enum ReplayBackendKind { REPLAY_BACKEND_CPU, REPLAY_BACKEND_CUDA } ReplayBackendKind;

typedef struct ReplayConfig {
    ReplayBackendKind backend;
    ModelShape shape;
    uint64_t seed;              /* weights and prompt tokens */
    int32_t block_size;         /* tokens per KV block (the engine's) */
    int64_t capacity_tokens;    /* KV cache; rounded down to whole blocks */
    bool thread_cpu_timer;      /* cpu: CLOCK_THREAD_CPUTIME_ID instead of CLOCK_MONOTONIC
                                 * (immune to other processes on a shared machine) */
    FILE *steps_csv;            /* one row per iteration, or NULL */
    Backend *roofline;          /* predicted-time columns (not owned; NULL: none) */
    Backend *profile;           /* not owned; NULL: the column is empty */
} ReplayConfig;

typedef struct ReplayExecutor ReplayExecutor;

/* "cpu" / "cuda" -> kind; 0 or -EINVAL (message set).  cuda needs a build
 * with CUDA (-ENOTSUP otherwise). */
int replay_backend_parse(const char *name, ReplayBackendKind *out);
/* A ModelShape from a model spec file (rope_theta 10000, norm_eps 1e-5). */
int replay_shape_from_spec(ModelShape *out, const ModelSpec *m);
/* Bytes one value of the KV cache takes on a backend: 4 (cpu) or 2 (cuda). */
size_t replay_backend_elem_bytes(ReplayBackendKind b);
/* KV tokens a memory budget holds (whole blocks): budget_bytes / block bytes. */
int64_t replay_capacity_tokens(const ModelShape *s, ReplayBackendKind b, int32_t block_size,
                               double budget_bytes);

/* 0, -EINVAL, -ENOMEM or -ENOTSUP (message set). */
int replay_executor_create(ReplayExecutor **out, const ReplayConfig *cfg);
void replay_executor_destroy(ReplayExecutor **x);
/* The hook to hand to engine_set_executor (ctx = x). */
StepExecutor replay_executor_hook(ReplayExecutor *x);
/* Iterations, measured seconds, tokens, recomputes, padding skipped, peak
 * blocks (a new reference). */
json_t *replay_executor_stats_json(const ReplayExecutor *x);
/* The tokens of request `id` still held (prompt then generated), for tests:
 * NULL when unknown.  *n_prompt, *n_tokens receive the counts. */
const int32_t *replay_executor_tokens(const ReplayExecutor *x, int64_t id, int32_t *n_prompt,
                                      int32_t *n_tokens);
/* The i-th prompt token of request `id` under `seed`. */
int32_t replay_prompt_token(uint64_t seed, int64_t id, int64_t i, int32_t vocab);

#endif
