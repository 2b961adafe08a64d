/* engine_internal.h: what engine.c and span.c share; not for plug-ins. */
#ifndef SERVESIM_ENGINE_INTERNAL_H
#define SERVESIM_ENGINE_INTERNAL_H

#include "engine.h"
#include "event_queue.h"
#include "instance.h"
#include "fleet/fleet.h"
#include "predict/predict.h"
#include "sched/queue.h"

struct Engine {
    EngineConfig cfg;
    EngineOutputs out;
    Instance *instances;
    int32_t n_instances;
    EventQueue queue;
    const RouterOps *router;
    void *router_priv, *router_opts;
    gsl_rng *router_rng;
    RouterInstance *router_view;
    ReqFifo central;           /* central-queue routing: requests not yet dispatched */
    StepExecutor executor;     /* replay: run_iteration != NULL */
    int executor_error;        /* first negative errno an iteration returned */
    Predictor *predictor;
    gsl_rng *predict_rng;
    Metrics metrics;
    RowSource *src;
    TraceRow pending;          /* the next arrival, read ahead by one row */
    bool have_pending;
    int64_t next_id;
    int64_t in_system;
    int64_t finished;
    int64_t length_capped;     /* outputs cut at the model's context limit */
    int64_t prompts_trimmed;   /* prompts cut to the prompt limit (--long-prompts trim) */
    int64_t events;
    double now_s;              /* simulated seconds */
    double last_arrival_s;     /* the previous row's arrival */
    double start_wall_s, next_progress_wall_s;
    bool progress_shown;
    double wall_late_s;        /* wall-clock mode: total time events fired after their due time */
    Request *free_list;
    Request **chunks;
    size_t n_chunks, cap_chunks;
    size_t chunk_used;         /* records handed out of the newest chunk */
};

/* span.c */
void span_begin(Engine *e, Instance *in);
void span_on_arrival(Engine *e, Instance *in);
void span_end(Engine *e, Instance *in);

/* engine.c */
void engine__finish(Engine *e, Instance *in, Request *r);

#endif
