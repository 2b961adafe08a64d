/* engine.c: the run loop: pop (time, seq), dispatch by kind.
 *
 * Arrival -> predictor -> instance's scheduler.  An idle instance asks its
 * scheduler for a step; the step runs as one span of K iterations whose
 * membership does not change, timed in closed form (span.c).  At the span's
 * end the engine credits every member's tokens, reports finished requests to
 * the metrics, tells the scheduler and asks for the next step. */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "csv_fmt.h"
#include "engine_internal.h"
#include "predict/predict.h"
#include "rng.h"

void engine_config_default(EngineConfig *c)
{
    *c = (EngineConfig){ 0 };
    snprintf(c->model, sizeof(c->model), "llama-2-7b");
    snprintf(c->gpu, sizeof(c->gpu), "h100-sxm");
    c->gpu_mem_util = 0.9;
    c->tensor_parallel = 1;
    c->moe_skew = -1.0; /* the model's (uniform routing) */
    c->kv_block_size = 16;
    c->instances = 1;
    /* One set of defaults for run, replay, plan and sweep: what a vLLM
     * deployment behind a load-aware router does. */
    snprintf(c->router, sizeof(c->router), "least-work");
    snprintf(c->sched_spec, sizeof(c->sched_spec), "vllm");
    snprintf(c->predict_spec, sizeof(c->predict_spec), "oracle");
    snprintf(c->cost_spec, sizeof(c->cost_spec), "auto");
    c->seed = 1;
    c->sample_interval_s = 1.0;
}

/* The longest prompt served: --max-prompt-tokens, never past the context
 * less the one token every request generates. */
static int32_t prompt_limit_tokens(const Engine *e)
{
    int32_t context_limit = e->instances[0].model.max_context - 1;
    return e->cfg.max_prompt_tokens > 0 ? SS_MIN(e->cfg.max_prompt_tokens, context_limit) : context_limit;
}

/* ---- request pool: stable pointers, O(in-flight) memory ---- */

#define POOL_CHUNK 4096

static Request *pool_get(Engine *e)
{
    Request *r = e->free_list;
    if (r) {
        e->free_list = r->sched_data;
    } else {
        /* Carve from the newest chunk; a fresh chunk's pages are touched only
         * as records are first used (O(peak in flight), not O(chunk)). */
        if (!e->n_chunks || e->chunk_used == POOL_CHUNK) {
            SS_GROW(e->chunks, e->cap_chunks, e->n_chunks + 1);
            e->chunks[e->n_chunks++] = ss_malloc(POOL_CHUNK * sizeof(Request));
            e->chunk_used = 0;
        }
        r = &e->chunks[e->n_chunks - 1][e->chunk_used++];
    }
    memset(r, 0, sizeof(*r));
    return r;
}

static void pool_put(Engine *e, Request *r)
{
    if (r->hash_ids) { /* most traces have none: no call per finish */
        free(r->hash_ids);
        r->hash_ids = NULL;
    }
    r->sched_data = e->free_list;
    r->state = REQ_ARRIVED; /* poison: a freed record is never finished */
    e->free_list = r;
}

/* ---- finishing requests ---- */

void engine__finish(Engine *e, Instance *in, Request *r)
{
    SS_ASSERT(request_is_finished(r));
    /* Conservation: a completed request emitted exactly its true length. */
    SS_ASSERT(r->state != REQ_DONE || r->generated_tokens == r->output_tokens);
    if (e->disagg && disagg__hand_off(e, in, r)) return; /* its first token: on to a decode instance */
    in->outstanding_tokens -= (double)r->input_tokens + r->predicted_output_tokens;
    if (e->executor.release) e->executor.release(e->executor.ctx, r);
    if (e->client_active) client__on_finished(e, r); /* a retry, or the original's outcome */
    metrics_on_finish(&e->metrics, r);
    in->in_system--;
    in->finished++;
    in->failed += r->state != REQ_DONE;
    if (e->autoscale) autoscale__on_finish(e, in, r); /* per-hour figures; a drained instance leaves */
    e->in_system--;
    e->finished++;
    /* A deadline event still pending reads the record when it fires: it
     * goes back to the pool then (client_engine.c). */
    if (!r->pending_events) pool_put(e, r);
}

void engine__release(Engine *e, Request *r) { pool_put(e, r); }

void engine_reject(struct Instance *in, Request *r, ReqFailReason why, double now_s)
{
    r->state = REQ_REJECTED;
    r->fail_reason = why;
    r->finish_s = now_s;
    engine__finish(in->engine, in, r);
}

void engine_fail(struct Instance *in, Request *r, ReqFailReason why, double now_s)
{
    r->state = REQ_FAILED;
    r->fail_reason = why;
    r->finish_s = now_s;
    engine__finish(in->engine, in, r);
}

bool engine_ride_join(struct Instance *in, Request *r)
{
    /* Tests and replay list every member; so does a run whose clients may
     * cancel a decoding request mid-span (it must be a member to be cut). */
    if (in->engine->cfg.stepwise || in->engine->client_active) return false;
    ride_join(&in->ride, r);
    return true;
}

void engine_ride_leave(struct Instance *in, Request *r)
{
    ride_leave(&in->ride, r);
}

int64_t engine_ride_clock(const struct Instance *in) { return in->ride.clock; }

void engine_preempt(struct Instance *in, Request *r, double now_s)
{
    (void)now_s;
    SS_ASSERT(!ride_is_riding(r));
    Engine *e = in->engine;
    if (e->executor.release) e->executor.release(e->executor.ctx, r);
    r->state = REQ_PREEMPTED;
    r->prefilled_tokens = 0;
    r->kv_blocks = 0;
    r->preemptions++;
    if (e->client_active) client__note_preempted(e, in, r);
}

void engine_preempt_swapped(struct Instance *in, Request *r)
{
    r->preemptions++;
    if (in->engine->client_active) client__note_preempted(in->engine, in, r);
}

/* ---- set-up ---- */

/* Rough decode speed (tokens/s) of a batch of 32 at 1 k context: what
 * work-aware routers divide outstanding tokens by. */
static double instance_tokens_per_s(const Instance *in)
{
    Roofline rf;
    roofline_init(&rf, &in->model, &in->gpu, in->tensor_parallel);
    StepShape s = { .decode_seqs = 32, .decode_context = 32 * 1024 };
    return 32.0 / roofline_step_time(&rf, &s);
}

static int instance_init(Engine *e, Instance *in, int32_t index, const char *gpu, int32_t tp)
{
    const EngineConfig *c = &e->cfg;
    int r;
    in->index = index;
    in->engine = e;
    in->tensor_parallel = tp;
    if ((r = model_spec_load(&in->model, c->model))) return r;
    if ((r = gpu_spec_load(&in->gpu, gpu))) return r;
    if ((r = model_spec_deploy(&in->model, &in->gpu, c->weights_dtype, c->kv_dtype, c->expert_parallel, tp,
                               c->moe_skew, NULL, 0)))
        return r;
    /* Tensor parallelism splits the query heads evenly, and the KV heads (or
     * replicates them when there are fewer than GPUs). */
    if (in->model.heads % tp || (in->model.kv_heads % tp && tp % in->model.kv_heads))
        return ss_error_set(EINVAL, "tensor parallel %d does not divide %s's %d heads / %d KV heads "
                            "(use a divisor: 1, 2, 4, ...)", tp, in->model.name, in->model.heads,
                            in->model.kv_heads);
    in->kv_capacity_tokens = cost_kv_capacity_tokens(&in->model, &in->gpu, c->gpu_mem_util, tp);
    if (in->kv_capacity_tokens <= 0)
        return ss_error_set(EINVAL, "%s does not fit on %d x %s at gpu_mem_util %.2f: "
                            "no memory left for the KV cache", in->model.name,
                            tp, in->gpu.name, c->gpu_mem_util);
    in->tokens_per_s = instance_tokens_per_s(in);
    in->sched_rng = ss_rng_stream(c->seed, "sched", (uint64_t)index);
    in->backend_rng = ss_rng_stream(c->seed, "backend", (uint64_t)index);
    BackendEnv benv = { &in->model, &in->gpu, tp, in->backend_rng };
    if ((r = backend_create(&in->backend, c->cost_spec, &benv))) return r;

    char name[64];
    const char *kvs;
    if ((r = opts_split_spec(c->sched_spec, name, sizeof(name), &kvs))) return r;
    in->sched_ops = sched_find(name);
    if (!in->sched_ops) return ss_error_set(EINVAL, "unknown scheduler '%s' (see `servesim list schedulers`)", name);
    char owner[96];
    snprintf(owner, sizeof(owner), "--sched %s", name);
    in->sched_opts = ss_calloc(1, in->sched_ops->opts_size ? in->sched_ops->opts_size : 1);
    if ((r = opts_init(in->sched_ops->opts, kvs, in->sched_opts, owner))) return r;
    in->sched = ss_calloc(1, in->sched_ops->priv_size ? in->sched_ops->priv_size : 1);
    SchedEnv env = {
        .model = &in->model, .gpu = &in->gpu,
        .kv_capacity_tokens = in->kv_capacity_tokens,
        .kv_block_size = c->kv_block_size,
        .max_context = in->model.max_context,
        .rng = in->sched_rng, .instance = in,
    };
    roofline_init(&env.estimator, &in->model, &in->gpu, tp);
    return in->sched_ops->init(in->sched, in->sched_opts, &env);
}

static int router_setup(Engine *e)
{
    char name[64];
    const char *kvs;
    int r = opts_split_spec(e->cfg.router, name, sizeof(name), &kvs);
    if (r) return r;
    e->router = router_find(name);
    if (!e->router) {
        char known[256] = "";
        for (const RouterOps *const *p = router_registry; *p; p++)
            snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
                     known[0] ? ", " : "", (*p)->name);
        return ss_error_set(EINVAL, "unknown router '%s' (known: %s)", name, known);
    }
    e->router_opts = ss_calloc(1, e->router->opts_size + 1);
    if ((r = opts_init(e->router->opts, kvs, e->router_opts, "--router"))) return r;
    e->router_priv = ss_calloc(1, e->router->priv_size + 1);
    e->router_rng = ss_rng_stream(e->cfg.seed, "router", 0);
    e->router_view = ss_calloc((size_t)e->n_instances, sizeof(RouterInstance));
    return e->router->init(e->router_priv, e->router_opts, e->n_instances, e->router_rng);
}

/* Instances from --fleet, or `instances` copies of --gpu. */
static int instances_setup(Engine *e)
{
    FleetSpec f;
    int r;
    if (e->cfg.fleet[0]) {
        if ((r = fleet_spec_parse(&f, e->cfg.fleet))) return r;
    } else {
        memset(&f, 0, sizeof(f));
        f.n_groups = 1;
        f.instances = f.groups[0].count = e->cfg.instances;
        if (strlen(e->cfg.gpu) >= sizeof(f.groups[0].gpu))
            return ss_error_set(EINVAL, "--gpu '%s': name too long", e->cfg.gpu);
        memcpy(f.groups[0].gpu, e->cfg.gpu, strlen(e->cfg.gpu) + 1);
        f.groups[0].tp = e->cfg.tensor_parallel;
    }
    e->instances = ss_calloc((size_t)f.instances, sizeof(Instance));
    e->n_instances = f.instances;
    int32_t index = 0;
    for (int32_t g = 0; g < f.n_groups; g++)
        for (int32_t k = 0; k < f.groups[g].count; k++, index++)
            if ((r = instance_init(e, &e->instances[index], index, f.groups[g].gpu, f.groups[g].tp)))
                return r;
    return 0;
}

int engine_create(Engine **out, const EngineConfig *cfg, const EngineOutputs *outputs)
{
    Engine *e = ss_calloc(1, sizeof(*e));
    int r;
    e->cfg = *cfg;
    if (cfg->instances < 1 || cfg->tensor_parallel < 1 || cfg->kv_block_size < 1) {
        r = ss_error_set(EINVAL, "instances, tensor_parallel and kv_block_size must be >= 1");
        goto fail;
    }
    event_queue_init(&e->queue);
    metrics_init(&e->metrics, &cfg->slo, NULL);
    metrics_set_threaded(&e->metrics, cfg->metrics_thread);
    e->predict_rng = ss_rng_stream(cfg->seed, "predictor", 0);
    PredictEnv penv = { e->predict_rng };
    if ((r = predictor_create(&e->predictor, cfg->predict_spec, &penv))) goto fail;
    if ((r = autoscale__configure(e))) goto fail; /* --autoscale: the pool is `max` instances */
    if ((r = instances_setup(e))) goto fail;
    e->live = ss_calloc((size_t)e->n_instances, sizeof(*e->live));
    for (int32_t i = 0; i < e->n_instances; i++) e->live[i] = i;
    e->n_live = e->n_instances;
    if ((r = router_setup(e))) goto fail;
    if ((r = client__setup(e))) goto fail;
    if (cfg->fleet[0]) {
        FleetSpec f;
        if ((r = fleet_spec_parse(&f, cfg->fleet)) || (r = disagg__setup(e, &f))) goto fail;
    }
    /* After the roles: a split fleet's pools are its roles. */
    if (e->autoscale && (r = autoscale__setup(e))) goto fail;
    if (cfg->kv_link[0] && !e->disagg) {
        r = ss_error_set(EINVAL, "--kv-link %s: the fleet has no prefill:/decode: roles (it would not be used)",
                         cfg->kv_link);
        goto fail;
    }
    if (outputs) engine_set_outputs(e, outputs);
    *out = e;
    return 0;
fail:
    engine_destroy(&e);
    return r;
}

void engine_set_executor(Engine *e, const StepExecutor *x)
{
    e->executor = *x;
    e->cfg.stepwise = true; /* every iteration runs for real */
}

void engine_set_outputs(Engine *e, const EngineOutputs *outputs)
{
    e->out = *outputs;
    metrics_set_requests_csv(&e->metrics, e->out.requests_csv);
    if (e->out.timeseries_csv)
        fputs("time_s,instance,queued,running,kv_tokens_used,kv_utilisation,in_system,"
              "finished,failed,kv_cached_blocks\n", e->out.timeseries_csv);
    metrics_set_timeseries_csv(&e->metrics, e->out.timeseries_csv); /* rows from the metrics thread */
    if (e->out.steps_csv)
        fputs("instance,step,start_s,duration_s,members,iterations,prefill_tokens,"
              "decode_seqs,decode_context,padding_tokens,first_iter_s\n", e->out.steps_csv);
}

void engine_destroy(Engine **pe)
{
    Engine *e = *pe;
    if (!e) return;
    for (int32_t i = 0; i < e->n_instances; i++) {
        Instance *in = &e->instances[i];
        if (in->sched && in->sched_ops && in->sched_ops->close) in->sched_ops->close(in->sched);
        free(in->sched);
        free(in->sched_opts);
        backend_destroy(&in->backend);
        if (in->sched_rng) gsl_rng_free(in->sched_rng);
        if (in->backend_rng) gsl_rng_free(in->backend_rng);
        step_free(&in->step);
        free(in->emits_first);
        free(in->span_scratch);
        free(in->stepwise_cum_s);
        free(in->doomed);
        ride_free(&in->ride);
    }
    free(e->instances);
    free(e->live);
    autoscale__free(e);
    disagg__free(e);
    free(e->router_priv);
    free(e->router_opts);
    free(e->router_view);
    if (e->router_rng) gsl_rng_free(e->router_rng);
    req_fifo_free(&e->central);
    client__free(e);
    predictor_destroy(&e->predictor);
    if (e->predict_rng) gsl_rng_free(e->predict_rng);
    metrics_free(&e->metrics);
    event_queue_free(&e->queue);
    for (size_t i = 0; i < e->n_chunks; i++) free(e->chunks[i]);
    free(e->chunks);
    free(e);
    *pe = NULL;
}

const Metrics *engine_metrics(const Engine *e) { return &e->metrics; }

json_t *engine_sched_stats_json(const Engine *e)
{
    const SchedOps *ops = e->n_instances ? e->instances[0].sched_ops : NULL;
    if (!ops || !ops->stats_json) return NULL;
    if (e->n_instances == 1) return ops->stats_json(e->instances[0].sched);
    json_t *a = json_array();
    for (int32_t i = 0; i < e->n_instances; i++)
        json_array_append_new(a, e->instances[i].sched_ops->stats_json(e->instances[i].sched));
    return a;
}

/* Iterations timed outside the cost model's tables, over the fleet, by op
 * group, and the ops it has no table for (null: the model has no tables). */
static json_t *engine__cost_fallbacks_json(const Engine *e)
{
    CostFallbacks sum = { 0 };
    bool any = false;
    json_t *notes = json_array();
    for (int32_t i = 0; i < e->n_instances; i++) {
        Backend *b = e->instances[i].backend;
        if (!b->ops->fallbacks) continue;
        CostFallbacks f;
        b->ops->fallbacks(b->priv, &f);
        any = true;
        sum.steps += f.steps;
        sum.fallback_steps += f.fallback_steps;
        for (int g = 0; g < COST_GROUPS; g++) sum.by_group[g] += f.by_group[g];
        bool seen = false;
        for (size_t k = 0; k < json_array_size(notes); k++)
            seen |= !strcmp(json_string_value(json_array_get(notes, k)), f.notes);
        if (f.notes[0] && !seen) json_array_append_new(notes, json_string(f.notes));
    }
    if (!any) {
        json_decref(notes);
        return json_null();
    }
    json_t *o = json_object(), *by = json_object();
    json_object_set_new(o, "steps", json_integer(sum.fallback_steps));
    json_object_set_new(o, "of_steps", json_integer(sum.steps));
    for (int g = 0; g < COST_GROUPS; g++)
        if (sum.by_group[g]) json_object_set_new(by, op_group_names[g], json_integer(sum.by_group[g]));
    json_object_set_new(o, "by_op_group", by);
    json_object_set_new(o, "notes", notes);
    return o;
}

json_t *engine_run_info_json(const Engine *e)
{
    json_t *o = json_object();
    const Instance *in = &e->instances[0];
    json_object_set_new(o, "instances", json_integer(e->n_instances)); /* --autoscale: the pool */
    json_object_set_new(o, "kv_capacity_tokens", json_integer(in->kv_capacity_tokens));
    json_object_set_new(o, "kv_bytes_per_token", json_real(in->model.kv_bytes_per_token));
    json_object_set_new(o, "weight_bytes", json_real(in->model.weight_bytes));
    json_object_set_new(o, "model_deploy",
                        json_pack("{s:f, s:f, s:i, s:b, s:i, s:f, s:s}", "params", in->model.params,
                                  "active_params", in->model.active_params, "kv_bytes_per_element", in->model.kv_bytes,
                                  "fp8_compute", in->model.fp8_compute, "expert_parallel", in->model.expert_parallel,
                                  "routing_skew", in->model.routing_skew, "note", in->model.deploy_note));
    json_object_set_new(o, "router", json_string(e->router->name));
    json_t *fleet = json_array();
    for (int32_t i = 0; i < e->n_instances; i++) {
        const Instance *x = &e->instances[i];
        json_t *j = json_object();
        json_object_set_new(j, "gpu", json_string(x->gpu.name));
        json_object_set_new(j, "tp", json_integer(x->tensor_parallel));
        if (e->disagg) json_object_set_new(j, "role", json_string(x->role == FLEET_ROLE_PREFILL ? "prefill" : "decode"));
        json_object_set_new(j, "kv_capacity_tokens", json_integer(x->kv_capacity_tokens));
        json_object_set_new(j, "steps", json_integer(x->steps_done));
        json_object_set_new(j, "price_per_hour", json_real(x->gpu.price_per_hour * x->tensor_parallel));
        json_object_set_new(j, "cost_model", json_string(x->backend->spec));
        json_array_append_new(fleet, j);
    }
    json_object_set_new(o, "fleet", fleet);
    json_object_set_new(o, "cost_model", json_string(in->backend->spec));
    json_object_set_new(o, "cost_fallbacks", engine__cost_fallbacks_json(e));
    json_object_set_new(o, "events", json_integer(e->events));
    json_object_set_new(o, "length_capped", json_integer(e->length_capped));
    if (e->client_active) json_object_set_new(o, "client", client__summary_json((Engine *)e));
    json_object_set_new(o, "prompts_trimmed", json_integer(e->prompts_trimmed));
    json_object_set_new(o, "max_prompt_tokens", json_integer(prompt_limit_tokens(e)));
    json_object_set_new(o, "long_prompts", json_string(e->cfg.trim_long_prompts ? "trim" : "reject"));
    if (e->cfg.wall_clock) json_object_set_new(o, "wall_late_s", json_real(e->wall_late_s));
    json_object_set_new(o, "simulated_s", json_real(e->now_s));
    if (e->autoscale) json_object_set_new(o, "autoscale", autoscale__summary_json(e));
    if (e->disagg) json_object_set_new(o, "disaggregation", disagg__summary_json(e));
    return o;
}

/* ---- the loop ---- */

static void try_start(Engine *e, Instance *in)
{
    if (in->busy) return;
    step_reset(&in->step);
    double wake_s = -1;
    int has_step = in->sched_ops->next_step(in->sched, e->now_s, &in->step, &wake_s);
    if (in->n_doomed) client__after_schedule(e, in);
    if (has_step) {
        SS_ASSERT(in->step.n_members + in->ride.n > 0);
        span_begin(e, in);
    } else if (wake_s > e->now_s) {
        in->generation++;
        event_queue_push(&e->queue, wake_s, SIM_EV_WAKE, in->index, in->generation);
    }
}

static int read_next_arrival(Engine *e)
{
    int r = e->src->next(e->src->ctx, &e->pending);
    if (r < 0) return r;
    e->have_pending = r > 0;
    if (e->have_pending) {
        /* Rows come in arrival order (readers reject the rest); in wall-clock
         * mode the clock may be past a row's time when the engine runs late. */
        if (e->pending.arrival_s < e->last_arrival_s)
            return ss_error_set(EINVAL, "%s:%zu: arrival time goes backwards (%.9g < %.9g)",
                                e->src->description, e->pending.line, e->pending.arrival_s,
                                e->last_arrival_s);
        e->last_arrival_s = e->pending.arrival_s;
        event_queue_push_side(&e->queue, e->pending.arrival_s, SIM_EV_ARRIVAL, -1, 0);
    }
    return 0;
}

/* Hand a request to an instance: the context limit, then its scheduler. */
static void route_to(Engine *e, Instance *in, Request *q)
{
    q->instance = in->index;
    q->queued_s = e->now_s;
    in->in_system++;
    in->outstanding_tokens += (double)q->input_tokens + q->predicted_output_tokens;
    /* Model context limit: a prompt that cannot fit is rejected (an output
     * past it was cut at arrival, before the predictor saw it). */
    if (q->input_tokens < 1) {
        engine_reject(in, q, REQ_REJECT_EMPTY_PROMPT, e->now_s);
        return;
    }
    if (q->input_tokens >= in->model.max_context ||
        (e->cfg.max_prompt_tokens > 0 && q->input_tokens > e->cfg.max_prompt_tokens)) {
        engine_reject(in, q, REQ_REJECT_TOO_LONG, e->now_s);
        return;
    }
    if (e->client_active && !client__admit(e, in, q)) return; /* --admission max_queue: a 429 */
    engine__deliver(e, in, q);
}

void engine__deliver(Engine *e, Instance *in, Request *q)
{
    q->state = REQ_QUEUED;
    in->sched_ops->on_arrival(in->sched, q, e->now_s);
    engine__wake(e, in);
}

void engine__wake(Engine *e, Instance *in)
{
    if (in->busy) {
        span_on_arrival(e, in);
    } else if (!in->kick_pending) {
        /* Not now: more requests may arrive at this same instant, and the
         * scheduler should see them all before it forms the step. */
        in->kick_pending = true;
        event_queue_push(&e->queue, e->now_s, SIM_EV_KICK, in->index, 0);
    }
}

/* The router sees the live set (the ready instances under --autoscale; all
 * of them otherwise): view k is instance live[k]. */
static int32_t route_pick(Engine *e, const Request *q)
{
    if (e->n_live == 1) return e->live[0];
    for (int32_t k = 0; k < e->n_live; k++) {
        const Instance *in = &e->instances[e->live[k]];
        e->router_view[k] = (RouterInstance){ in->in_system, in->outstanding_tokens, in->tokens_per_s, 0 };
        if (e->router->wants_prefix && in->sched_ops->prefix_match_tokens)
            e->router_view[k].cached_tokens = in->sched_ops->prefix_match_tokens(in->sched, q);
    }
    int32_t k = e->router->pick(e->router_priv, e->router_view, e->n_live, q);
    SS_ASSERT(k >= 0 && k < e->n_live);
    return e->live[k];
}

/* Central queue: the first idle instance with nothing queued takes the head. */
static void central_dispatch(Engine *e)
{
    for (int32_t k = 0; k < e->n_live && e->central.n; k++) {
        Instance *in = &e->instances[e->live[k]];
        const SchedOps *ops = in->sched_ops;
        while (e->central.n && !in->busy && (!ops->queue_length || ops->queue_length(in->sched) == 0))
            route_to(e, in, req_fifo_pop(&e->central));
    }
}

static int on_arrival(Engine *e)
{
    const TraceRow *row = &e->pending;
    Request *q = pool_get(e);
    q->id = e->next_id++;
    q->arrival_s = row->arrival_s;
    q->input_tokens = (int32_t)SS_MIN(row->input_tokens, INT32_MAX);
    q->output_tokens = (int32_t)SS_MIN(row->output_tokens, INT32_MAX);
    q->trace_failed = row->failed || row->output_tokens <= 0;
    if (q->trace_failed) q->output_tokens = 0;
    q->app_id = -1;
    q->session = row->session[0] ? strtab_intern(&e->metrics.sessions, row->session) : -1;
    q->first_scheduled_s = q->first_token_s = q->last_token_s = q->finish_s = -1;
    q->original_id = q->id;
    q->original_arrival_s = q->arrival_s;
    q->attempt = 1;
    q->give_up_s = INFINITY;
    e->originals++;
    e->attempts++;
    /* The model's context bounds every output (route_to cuts it there); the
     * oracle must see the length that will actually be generated. */
    int32_t max_context = e->instances[0].model.max_context;
    int32_t prompt_limit = prompt_limit_tokens(e);
    if (e->cfg.trim_long_prompts && q->input_tokens > prompt_limit) {
        q->input_tokens = prompt_limit;
        e->prompts_trimmed++;
    }
    if (q->input_tokens < max_context && q->output_tokens > max_context - q->input_tokens) {
        q->output_tokens = max_context - q->input_tokens;
        e->length_capped++;
    }
    /* Prefix block hashes (--map hash_ids=..., --sessions, multi-turn
     * workloads): the engine's own copy, for the prefix cache (sim/kv_prefix.h).
     * A trimmed prompt lost its leading tokens: its hashes no longer apply. */
    if (row->n_hash_ids > 0 && !(e->cfg.trim_long_prompts && q->input_tokens < row->input_tokens)) {
        if (row->hash_block_tokens % e->cfg.kv_block_size) {
            pool_put(e, q);
            return ss_error_set(EINVAL, "%s:%zu: hash blocks of %d tokens are not a whole number of KV blocks "
                                "(--block-size %d): pick a block size that divides them", e->src->description,
                                row->line, row->hash_block_tokens, e->cfg.kv_block_size);
        }
        q->hash_ids = ss_malloc((size_t)row->n_hash_ids * sizeof(*q->hash_ids));
        memcpy(q->hash_ids, row->hash_ids, (size_t)row->n_hash_ids * sizeof(*q->hash_ids));
        q->n_hash_ids = row->n_hash_ids;
        q->hash_block_tokens = row->hash_block_tokens;
    }
    PredictInput pin = { .input_tokens = q->input_tokens, .app = row->app,
                         .instruction = row->instruction, .text = row->text,
                         .true_output_tokens = q->output_tokens,
                         .model = row->model[0] ? row->model : NULL };
    PredictOutput pout;
    int r = predictor_predict(e->predictor, &pin, &pout);
    if (r) { pool_put(e, q); return r; }
    q->predicted_output_tokens = (int32_t)SS_MAX(1.0, SS_MIN(ss_lround(pout.tokens), INT32_MAX / 2));
    q->predicted_output_p90 = pout.has_quantiles
        ? (int32_t)SS_MAX(1.0, SS_MIN(ss_lround(pout.p90), INT32_MAX / 2)) : q->predicted_output_tokens;
    e->in_system++;
    metrics_on_arrival(&e->metrics, q);
    if (e->client_active) client__on_attempt(e, q);
    if (e->disagg) disagg__on_arrival(e, q);
    if (e->router->central) {
        req_fifo_push(&e->central, q);
        central_dispatch(e);
        return 0;
    }
    route_to(e, &e->instances[route_pick(e, q)], q);
    return 0;
}

/* A client sends a failed request again: a new attempt (a new id), with the
 * original's lengths and prediction, routed like any arrival. */
static void on_retry(Engine *e, const SimEvent *ev)
{
    Request *t = client__take_retry(e, ev);
    Request *q = pool_get(e);
    q->id = e->next_id++;
    q->arrival_s = e->now_s;
    q->input_tokens = t->input_tokens;
    q->output_tokens = t->output_tokens;
    q->trace_failed = t->trace_failed;
    q->predicted_output_tokens = t->predicted_output_tokens;
    q->predicted_output_p90 = t->predicted_output_p90;
    q->app_id = t->app_id;
    q->session = t->session;
    q->text = t->text;
    q->hash_ids = t->hash_ids; /* the template's copy changes hands */
    t->hash_ids = NULL;
    q->n_hash_ids = t->n_hash_ids;
    q->hash_block_tokens = t->hash_block_tokens;
    q->original_id = t->original_id;
    q->original_arrival_s = t->original_arrival_s;
    q->attempt = t->attempt;
    q->give_up_s = INFINITY;
    q->first_scheduled_s = q->first_token_s = q->last_token_s = q->finish_s = -1;
    e->attempts++;
    e->in_system++;
    metrics_on_arrival(&e->metrics, q);
    client__on_attempt(e, q);
    route_to(e, &e->instances[route_pick(e, q)], q);
}

static void on_sample(Engine *e)
{
    for (int32_t i = 0; i < e->n_instances; i++) {
        Instance *in = &e->instances[i];
        const SchedOps *ops = in->sched_ops;
        int64_t queued = ops->queue_length ? ops->queue_length(in->sched) : -1;
        int64_t kv = ops->kv_tokens_used ? ops->kv_tokens_used(in->sched) : -1;
        MetricsSample s = {
            .time_s = e->now_s, .instance = i, .queued = queued,
            .running = in->busy ? in->step.n_members + in->step.n_riders : 0,
            .kv_tokens_used = kv, .in_system = in->in_system, .finished = in->finished, .failed = in->failed,
            .cached_blocks = ops->prefix_cached_blocks ? ops->prefix_cached_blocks(in->sched) : -1,
            .kv_utilisation = kv >= 0 ? round(1e6 * (double)kv / (double)in->kv_capacity_tokens) / 1e6 : -1.0,
        };
        metrics_sample(&e->metrics, &s); /* only a changed row is written */
    }
    /* Next tick strictly later, even where now + interval rounds to now. */
    double next = e->now_s + e->cfg.sample_interval_s;
    if (!(next > e->now_s)) next = nextafter(e->now_s, INFINITY);
    /* Nothing is in the system: no row changes until the next arrival, so the
     * ticks before it are skipped (a gap of years in a trace costs one event,
     * not one per interval); the grid is kept: now + k intervals. */
    if (e->in_system == 0 && e->have_pending && e->pending.arrival_s > next) {
        double k = ceil((e->pending.arrival_s - e->now_s) / e->cfg.sample_interval_s);
        double jump = e->now_s + k * e->cfg.sample_interval_s;
        if (jump > next) next = jump;
    }
    if (e->have_pending || e->in_system > 0)
        event_queue_push(&e->queue, next, SIM_EV_SAMPLE, -1, 0);
}

static void progress(Engine *e, bool final)
{
    double wall = ss_wall_seconds();
    if (!e->cfg.progress || (!final && wall < e->next_progress_wall_s)) return;
    if (!final && wall - e->start_wall_s < 2.0) return;
    if (final && !e->progress_shown) return;
    e->progress_shown = true;
    e->next_progress_wall_s = wall + 1.0;
    fprintf(stderr, "\rservesim: %lld requests arrived, %lld finished, simulated %.1f s, wall %.1f s%s",
            (long long)e->next_id, (long long)e->finished, e->now_s, wall - e->start_wall_s,
            final ? "\n" : "");
}

/* Wall-clock mode: an event fires no earlier than its time (sleep until then)
 * and no earlier than now (when the engine, the scheduler or the kernels ran
 * late, the clock is where the wall is).  Returns the time it fires at. */
static double wall_clock_wait(Engine *e, double event_s)
{
    double now = ss_wall_seconds() - e->start_wall_s;
    if (event_s > now) {
        double wait = event_s - now;
        struct timespec ts = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
        while (nanosleep(&ts, &ts) && errno == EINTR) {}
        return event_s;
    }
    e->wall_late_s += now - event_s;
    return now;
}

/* Integrate queue and system sizes up to t (they are constant between events). */
static void track_sizes(Engine *e, double t)
{
    int64_t queued = (int64_t)e->central.n;
    for (int32_t i = 0; i < e->n_instances; i++) {
        Instance *in = &e->instances[i];
        if (in->sched_ops->queue_length) queued += in->sched_ops->queue_length(in->sched);
    }
    metrics_advance(&e->metrics, t, queued, e->in_system);
}

static int engine__run(Engine *e, RowSource *src);

int engine_run(Engine *e, RowSource *src)
{
    int r = engine__run(e, src);
    metrics_drain(&e->metrics); /* the metrics thread has accounted every event */
    if (r) return r;
    /* Drain invariant: every arrival is accounted for. */
    const Metrics *m = &e->metrics;
    SS_ASSERT(m->arrived == m->completed + m->failed + m->rejected + m->cancelled);
    SS_ASSERT(e->originals_completed <= e->originals && e->attempts == m->arrived);
    return 0;
}

static int engine__run(Engine *e, RowSource *src)
{
    int r;
    e->src = src;
    e->start_wall_s = ss_wall_seconds();
    e->next_progress_wall_s = e->start_wall_s + 2.0;
    if ((r = read_next_arrival(e))) return r;
    if (e->autoscale) autoscale__start(e);
    if (e->out.timeseries_csv && e->cfg.sample_interval_s > 0 && e->have_pending)
        event_queue_push(&e->queue, e->pending.arrival_s, SIM_EV_SAMPLE, -1, 0);
    SimEvent ev;
    while (event_queue_pop(&e->queue, &ev)) {
        if (e->cfg.wall_clock) ev.time_s = wall_clock_wait(e, SS_MAX(ev.time_s, e->now_s));
        SS_ASSERT(ev.time_s >= e->now_s);
        if (ev.time_s > e->now_s && e->metrics.arrived > 0) track_sizes(e, ev.time_s);
        e->now_s = ev.time_s;
        e->events++;
        Instance *in = ev.instance >= 0 ? &e->instances[ev.instance] : NULL;
        switch (ev.kind) {
        case SIM_EV_ARRIVAL:
            if ((r = on_arrival(e))) return r;
            if ((r = read_next_arrival(e))) return r;
            break;
        case SIM_EV_STEP_END:
            if (ev.generation != in->generation || !in->busy) break; /* cut or replaced */
            span_end(e, in);
            try_start(e, in);
            if (e->central.n) central_dispatch(e);
            break;
        case SIM_EV_WAKE:
            if (ev.generation == in->generation) try_start(e, in);
            break;
        case SIM_EV_SAMPLE:
            on_sample(e);
            break;
        case SIM_EV_DEADLINE:
            client__on_deadline(e, &ev);
            break;
        case SIM_EV_RETRY:
            on_retry(e, &ev);
            break;
        case SIM_EV_AUTOSCALE:
            autoscale__on_tick(e, &ev);
            break;
        case SIM_EV_INSTANCE_READY:
            if (autoscale__on_ready(e, &ev) && e->central.n) central_dispatch(e);
            break;
        case SIM_EV_INSTANCE_DRAINED:
            autoscale__on_drained(e, &ev);
            break;
        case SIM_EV_KV_TRANSFER:
            disagg__on_transfer(e, &ev);
            break;
        case SIM_EV_KICK:
            if (e->have_pending && e->pending.arrival_s == e->now_s) {
                /* The next arrival is at this instant too: go after it. */
                event_queue_push(&e->queue, e->now_s, SIM_EV_KICK, in->index, 0);
                break;
            }
            in->kick_pending = false;
            try_start(e, in);
            if (e->central.n) central_dispatch(e);
            break;
        }
        if ((e->events & 0xffff) == 0) progress(e, false);
        if (e->executor_error) return ss_error_set(e->executor_error, "replay: %s", ss_error_get());
    }
    progress(e, true);
    if (e->in_system != 0) {
        for (int32_t i = 0; i < e->n_instances; i++)
            if (e->instances[i].in_system)
                return ss_error_set(EPROTO, "scheduler '%s' left %lld requests unserved with "
                                    "nothing running (they can never be scheduled)",
                                    e->instances[i].sched_ops->name,
                                    (long long)e->instances[i].in_system);
    }
    return 0;
}
