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
    int32_t *live;             /* the instances routers see, in index order: every one without --autoscale */
    int32_t n_live;
    struct AutoscaleRun *autoscale; /* --autoscale (autoscale_engine.c); NULL: a fixed fleet */
    struct DisaggRun *disagg;  /* prefill:/decode: roles in --fleet (disagg.c); NULL: colocated */
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
    /* Client model and admission control (client_engine.c). */
    const struct ClientOps *client;
    void *client_opts, *client_priv;
    gsl_rng *client_rng;
    AdmissionOpts admission;
    bool client_active;        /* a client other than none, or admission control */
    Request *retry_pending;    /* attempts waiting to be sent again (SIM_EV_RETRY slots) */
    size_t retry_cap;
    int64_t n_retry_slots;
    int64_t *retry_free;
    size_t retry_free_cap;
    int64_t n_retry_free;
    int64_t originals, attempts, retries_sent, originals_completed;
    double *original_e2e_s, *original_ttft_s; /* completed originals, from first arrival */
    size_t original_cap;       /* of both */
    Request *free_list;
    Request **chunks;
    size_t n_chunks, cap_chunks;
    size_t chunk_used;         /* records handed out of the newest chunk */
};

/* span.c */
void span_begin(Engine *e, Instance *in);
void span_on_arrival(Engine *e, Instance *in);
void span_end(Engine *e, Instance *in);

void span_cut(Engine *e, Instance *in);
bool span_first_token_by(Engine *e, Instance *in, const Request *r, double t_s);

/* engine.c */
void engine__finish(Engine *e, Instance *in, Request *r);
void engine__release(Engine *e, Request *r); /* back to the pool */
void engine__deliver(Engine *e, Instance *in, Request *q); /* to in's scheduler, limits checked */
/* Its scheduler has new work: cut the running span at the next iteration
 * boundary (interruptible steps), or plan once this instant's events are in. */
void engine__wake(Engine *e, Instance *in);

/* disagg.c */
typedef struct DisaggRun DisaggRun;
int disagg__setup(Engine *e, const FleetSpec *f); /* after the router; no-op for colocated fleets */
void disagg__on_arrival(Engine *e, Request *q);   /* cap the output at the first token */
bool disagg__hand_off(Engine *e, Instance *in, Request *r); /* true: prefill done, queued at a decode instance */
void disagg__on_transfer(Engine *e, const SimEvent *ev);
json_t *disagg__summary_json(const Engine *e);
/* --autoscale changed which decode instances are ready (autoscale__routable). */
void disagg__decode_live_changed(Engine *e);
void disagg__free(Engine *e);

/* autoscale_engine.c */
typedef struct AutoscaleRun AutoscaleRun;
int autoscale__configure(Engine *e);  /* before the instances: the pool is max of them */
int autoscale__setup(Engine *e);      /* after them: which are up at t = 0 */
void autoscale__start(Engine *e);
void autoscale__on_tick(Engine *e, const SimEvent *ev); /* ev->instance: -1 - pool */
bool autoscale__on_ready(Engine *e, const SimEvent *ev); /* true: the live set grew */
void autoscale__on_drained(Engine *e, const SimEvent *ev);
void autoscale__on_finish(Engine *e, Instance *in, const Request *r);
/* A request left `in` (finished, or handed off to a decode instance): a draining one may leave. */
void autoscale__on_left(Engine *e, Instance *in);
/* Ready, or no --autoscale: the routers may pick it. */
bool autoscale__routable(const Engine *e, int32_t instance);
json_t *autoscale__summary_json(const Engine *e);
void autoscale__free(Engine *e);

/* client_engine.c */
int client__setup(Engine *e);
void client__free(Engine *e);
void client__on_attempt(Engine *e, Request *q);
bool client__admit(Engine *e, Instance *in, Request *q);
void client__on_deadline(Engine *e, const SimEvent *ev);
void client__settle_step(Engine *e, Instance *in);
void client__note_preempted(Engine *e, Instance *in, Request *r);
void client__after_schedule(Engine *e, Instance *in);
void client__on_finished(Engine *e, Request *r);
Request *client__take_retry(Engine *e, const SimEvent *ev);
json_t *client__summary_json(Engine *e);

#endif
