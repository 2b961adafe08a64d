/* engine.h: the discrete-event run loop.
 *
 * Events: the next trace row's arrival (only one row is read ahead: traces
 * stream), a step's end per instance, scheduler wake-ups (batching windows)
 * and time-series samples.  A step is a span of iterations whose members do
 * not change; its duration comes from the cost model in closed form, so the
 * work per request is O(log n) (heap) plus O(1) per span, not O(tokens). */
#ifndef SERVESIM_ENGINE_H
#define SERVESIM_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "metrics.h"
#include "trace.h"

typedef struct EngineConfig {
    char model[128];          /* model spec name or path */
    char gpu[128];            /* GPU spec name or path */
    double gpu_mem_util;      /* fraction of HBM for weights + KV cache */
    int32_t tensor_parallel;  /* GPUs per instance */
    int32_t kv_block_size;    /* tokens per KV block */
    int32_t instances;        /* replicas of `gpu` when `fleet` is empty */
    char fleet[256];          /* "4xh100-sxm:tp=2,2xa100-80g"; overrides gpu/instances/tp */
    char router[128];         /* routing policy spec, e.g. "least-work" */
    char sched_spec[256];     /* "fcfs-static:batch=8,window=0.05" */
    char predict_spec[256];   /* "oracle" */
    char cost_spec[256];      /* "roofline" */
    uint64_t seed;
    double sample_interval_s; /* time-series period in simulated seconds; <= 0: none */
    bool stepwise;            /* no event skipping: one iteration at a time (tests) */
    bool wall_clock;          /* replay: simulated time is real time since the start:
                                 arrivals wait for their moment (open loop) and the
                                 engine's and scheduler's own time counts */
    bool progress;            /* progress lines on stderr for long runs */
    bool metrics_thread;      /* account finished requests and gaps on a thread (metrics.h):
                                 run/replay; off where many engines run on threads */
    /* Prompts longer than this are rejected (too_long), or cut to it with
     * trim_long_prompts; 0 = the model context less one output token. */
    int32_t max_prompt_tokens;
    bool trim_long_prompts;   /* --long-prompts trim: keep a long prompt's last
                                 max_prompt_tokens tokens (as vLLM's
                                 truncate_prompt_tokens) instead of rejecting it */
    char client_spec[256];    /* --client: "none" (default), "deadline:timeout=30,retries=2" */
    int32_t expert_parallel;  /* --ep: GPUs of an instance the experts are split over (0/1: none) */
    char weights_dtype[8];    /* --weights: "" (the model's) | bf16 | fp16 | fp8 */
    char kv_dtype[8];         /* --kv-dtype: "" (the model's) | bf16 | fp16 | fp8 */
    double moe_skew;          /* --moe-skew: routing skew; < 0 (default) the model's (uniform) */
    char admission_spec[256]; /* --admission: "max_queue=64,max_queue_delay=5,max_preemptions=3" */
    char autoscale_spec[256]; /* --autoscale: "" = a fixed fleet; "target-utilisation:min=2,max=16" */
    char autoscale_decode_spec[256]; /* --autoscale-decode: a split fleet's decode pool ("" = --autoscale's) */
    char kv_link[256];        /* --kv-link: disaggregated fleets' prefill -> decode KV link (disagg.c);
                                 "" = auto: nvlink within one 8-GPU node, else rdma */
    SloSpec slo;
} EngineConfig;

/* --admission's options (client_engine.c); < 0 / 0: off. */
typedef struct AdmissionOpts {
    int64_t max_queue;
    double max_queue_delay_s;
    int64_t max_preemptions;
} AdmissionOpts;
const struct OptSpec *engine_admission_opts(void);

void engine_config_default(EngineConfig *c);

typedef struct EngineOutputs {
    FILE *requests_csv;       /* one row per request, or NULL */
    FILE *timeseries_csv;     /* samples, or NULL */
    FILE *steps_csv;          /* one row per step, or NULL */
} EngineOutputs;

typedef struct Engine Engine;

/* Replay: a backend that executes steps for real (kernels) instead of the
 * cost model.  With an executor the engine runs one iteration at a time
 * (stepwise) and each iteration's duration is what run_iteration measured;
 * the cost model still runs beside it, for comparison. */
struct Step;
struct StepShape;
struct Request;
typedef struct StepExecutor {
    void *ctx;
    /* Execute iteration `iter` (1-based) of instance's running step: in
     * iteration 1 members with a prefill_chunk compute it and the others
     * decode; iterations >= 2 decode every member with emits_first[i] (and,
     * for static batches, every padded slot).  `shape` is that iteration's
     * StepShape.  Returns the measured seconds, or a negative errno. */
    double (*run_iteration)(void *ctx, int32_t instance, const struct Step *step,
                            const bool *emits_first, const struct StepShape *shape, int64_t iter);
    /* A request finished (done, failed, rejected or preempted): drop its KV. */
    void (*release)(void *ctx, const struct Request *r);
} StepExecutor;

int engine_create(Engine **out, const EngineConfig *cfg, const EngineOutputs *outputs);
/* Execute steps through `x` (replay); call before engine_run. */
void engine_set_executor(Engine *e, const StepExecutor *x);
/* Where results go (call before engine_run; the default is nowhere). */
void engine_set_outputs(Engine *e, const EngineOutputs *outputs);
/* Run the rows of `src` to the end and drain.  0 or negative errno. */
int engine_run(Engine *e, RowSource *src);
const Metrics *engine_metrics(const Engine *e);
/* Each instance's scheduler counters (SchedOps.stats_json): one object for
 * one instance, an array for several; NULL when the policy has none. */
json_t *engine_sched_stats_json(const Engine *e);
/* Figures that describe the run itself (capacity, wall time, events). */
json_t *engine_run_info_json(const Engine *e);
void engine_destroy(Engine **e);

#endif
