/* engine.c: the run loop: pop (time, seq), dispatch by kind.
 *
 * Arrival -> predictor -> instance's scheduler.  An idle instance asks its
 * scheduler for a step; the step runs as one span of K iterations whose
 * membership does not change, timed in closed form (span.c).  At the span's
 * end the engine credits every member's tokens, reports finished requests to
 * the metrics, tells the scheduler and asks for the next step. */
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    c->kv_block_size = 16;
    c->instances = 1;
    snprintf(c->sched_spec, sizeof(c->sched_spec), "fcfs-static");
    snprintf(c->predict_spec, sizeof(c->predict_spec), "oracle");
    snprintf(c->cost_spec, sizeof(c->cost_spec), "roofline");
    c->seed = 1;
    c->sample_interval_s = 1.0;
}

/* ---- request pool: stable pointers, O(in-flight) memory ---- */

#define POOL_CHUNK 4096

static Request *pool_get(Engine *e)
{
    if (!e->free_list) {
        Request *chunk = ss_calloc(POOL_CHUNK, sizeof(Request));
        SS_GROW(e->chunks, e->cap_chunks, e->n_chunks + 1);
        e->chunks[e->n_chunks++] = chunk;
        for (size_t i = 0; i < POOL_CHUNK; i++) {
            chunk[i].sched_data = e->free_list;
            e->free_list = &chunk[i];
        }
    }
    Request *r = e->free_list;
    e->free_list = r->sched_data;
    memset(r, 0, sizeof(*r));
    return r;
}

static void pool_put(Engine *e, Request *r)
{
    r->sched_data = e->free_list;
    r->state = REQ_ARRIVED; /* poison: a freed record is never finished */
    e->free_list = r;
}

/* ---- finishing requests ---- */

void engine__finish(Engine *e, Instance *in, Request *r)
{
    SS_ASSERT(request_is_finished(r));
    metrics_on_finish(&e->metrics, r);
    in->in_system--;
    e->in_system--;
    e->finished++;
    pool_put(e, r);
}

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

void engine_preempt(struct Instance *in, Request *r, double now_s)
{
    (void)in; (void)now_s;
    r->state = REQ_PREEMPTED;
    r->prefilled_tokens = 0;
    r->kv_blocks = 0;
    r->preemptions++;
}

/* ---- set-up ---- */

static int instance_init(Engine *e, Instance *in, int32_t index)
{
    const EngineConfig *c = &e->cfg;
    int r;
    in->index = index;
    in->engine = e;
    if ((r = model_spec_load(&in->model, c->model))) return r;
    if ((r = gpu_spec_load(&in->gpu, c->gpu))) return r;
    in->kv_capacity_tokens = cost_kv_capacity_tokens(&in->model, &in->gpu, c->gpu_mem_util,
                                                     c->tensor_parallel);
    if (in->kv_capacity_tokens <= 0)
        return ss_error_set(EINVAL, "%s does not fit on %d x %s at gpu_mem_util %.2f: "
                            "no memory left for the KV cache", in->model.name,
                            c->tensor_parallel, in->gpu.name, c->gpu_mem_util);
    in->sched_rng = ss_rng_stream(c->seed, "sched", (uint64_t)index);
    in->backend_rng = ss_rng_stream(c->seed, "backend", (uint64_t)index);
    BackendEnv benv = { &in->model, &in->gpu, c->tensor_parallel, in->backend_rng };
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
    roofline_init(&env.estimator, &in->model, &in->gpu, c->tensor_parallel);
    return in->sched_ops->init(in->sched, in->sched_opts, &env);
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
    e->predict_rng = ss_rng_stream(cfg->seed, "predictor", 0);
    PredictEnv penv = { e->predict_rng };
    if ((r = predictor_create(&e->predictor, cfg->predict_spec, &penv))) goto fail;
    e->instances = ss_calloc((size_t)cfg->instances, sizeof(Instance));
    e->n_instances = cfg->instances;
    for (int32_t i = 0; i < cfg->instances; i++)
        if ((r = instance_init(e, &e->instances[i], i))) goto fail;
    if (outputs) engine_set_outputs(e, outputs);
    *out = e;
    return 0;
fail:
    engine_destroy(&e);
    return r;
}

void engine_set_outputs(Engine *e, const EngineOutputs *outputs)
{
    e->out = *outputs;
    metrics_set_requests_csv(&e->metrics, e->out.requests_csv);
    if (e->out.timeseries_csv)
        fputs("time_s,instance,queued,running,kv_tokens_used,kv_utilisation,in_system,"
              "finished\n", e->out.timeseries_csv);
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
        free(in->stepwise_cum_s);
    }
    free(e->instances);
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

json_t *engine_run_info_json(const Engine *e)
{
    json_t *o = json_object();
    const Instance *in = &e->instances[0];
    json_object_set_new(o, "instances", json_integer(e->n_instances));
    json_object_set_new(o, "kv_capacity_tokens", json_integer(in->kv_capacity_tokens));
    json_object_set_new(o, "kv_bytes_per_token", json_real(in->model.kv_bytes_per_token));
    json_object_set_new(o, "weight_bytes", json_real(in->model.weight_bytes));
    json_object_set_new(o, "events", json_integer(e->events));
    json_object_set_new(o, "simulated_s", json_real(e->now_s));
    return o;
}

/* ---- the loop ---- */

static void try_start(Engine *e, Instance *in)
{
    if (in->busy) return;
    step_reset(&in->step);
    double wake_s = -1;
    int has_step = in->sched_ops->next_step(in->sched, e->now_s, &in->step, &wake_s);
    if (has_step) {
        SS_ASSERT(in->step.n_members > 0);
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
        if (e->pending.arrival_s < e->now_s)
            return ss_error_set(EINVAL, "%s:%zu: arrival time goes backwards (%.9g < %.9g)",
                                e->src->description, e->pending.line, e->pending.arrival_s, e->now_s);
        event_queue_push(&e->queue, e->pending.arrival_s, SIM_EV_ARRIVAL, -1, 0);
    }
    return 0;
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
    q->first_scheduled_s = q->first_token_s = q->last_token_s = q->finish_s = -1;
    q->queued_s = e->now_s;
    PredictInput pin = { q->input_tokens, row->app, row->instruction, row->text, q->output_tokens };
    PredictOutput pout;
    int r = predictor_predict(e->predictor, &pin, &pout);
    if (r) { pool_put(e, q); return r; }
    q->predicted_output_tokens = (int32_t)SS_MAX(1.0, SS_MIN(lround(pout.tokens), INT32_MAX / 2));
    q->predicted_output_p90 = pout.has_quantiles
        ? (int32_t)SS_MAX(1.0, SS_MIN(lround(pout.p90), INT32_MAX / 2)) : q->predicted_output_tokens;
    Instance *in = &e->instances[q->id % e->n_instances]; /* routers come with fleets */
    q->instance = in->index;
    in->in_system++;
    e->in_system++;
    metrics_on_arrival(&e->metrics, q);
    /* Model context limit: a prompt that cannot fit is rejected; an output
     * past the limit is cut there, as a server's max_model_len would. */
    if (q->input_tokens < 1 || q->input_tokens >= in->model.max_context) {
        engine_reject(in, q, REQ_REJECT_TOO_LONG, e->now_s);
        return 0;
    }
    if (q->output_tokens > in->model.max_context - q->input_tokens) {
        q->output_tokens = in->model.max_context - q->input_tokens;
        e->length_capped++;
    }
    q->state = REQ_QUEUED;
    in->sched_ops->on_arrival(in->sched, q, e->now_s);
    if (in->busy)
        span_on_arrival(e, in);
    else
        try_start(e, in);
    return 0;
}

static void on_sample(Engine *e)
{
    for (int32_t i = 0; i < e->n_instances; i++) {
        Instance *in = &e->instances[i];
        const SchedOps *ops = in->sched_ops;
        int64_t queued = ops->queue_length ? ops->queue_length(in->sched) : -1;
        int64_t kv = ops->kv_tokens_used ? ops->kv_tokens_used(in->sched) : -1;
        char row[256], *p = row;
        p = csv_put_seconds(p, e->now_s); *p++ = ',';
        p = csv_put_i64(p, i); *p++ = ',';
        p = csv_put_i64(p, queued); *p++ = ',';
        p = csv_put_i64(p, in->busy ? in->step.n_members : 0); *p++ = ',';
        p = csv_put_i64(p, kv); *p++ = ',';
        /* utilisation to 1e-6: the fixed-point printer at micro resolution */
        p = csv_put_seconds(p, kv >= 0 ? round(1e6 * (double)kv / (double)in->kv_capacity_tokens) / 1e6 : -1.0);
        *p++ = ',';
        p = csv_put_i64(p, in->in_system); *p++ = ',';
        p = csv_put_i64(p, e->finished); *p++ = '\n';
        fwrite(row, 1, (size_t)(p - row), e->out.timeseries_csv);
    }
    if (e->have_pending || e->in_system > 0)
        event_queue_push(&e->queue, e->now_s + e->cfg.sample_interval_s, SIM_EV_SAMPLE, -1, 0);
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

/* Integrate queue and system sizes up to t (they are constant between events). */
static void track_sizes(Engine *e, double t)
{
    int64_t queued = 0;
    for (int32_t i = 0; i < e->n_instances; i++) {
        Instance *in = &e->instances[i];
        if (in->sched_ops->queue_length) queued += in->sched_ops->queue_length(in->sched);
    }
    metrics_advance(&e->metrics, t, queued, e->in_system);
}

int engine_run(Engine *e, RowSource *src)
{
    int r;
    e->src = src;
    e->start_wall_s = ss_wall_seconds();
    e->next_progress_wall_s = e->start_wall_s + 2.0;
    if ((r = read_next_arrival(e))) return r;
    if (e->out.timeseries_csv && e->cfg.sample_interval_s > 0 && e->have_pending)
        event_queue_push(&e->queue, e->pending.arrival_s, SIM_EV_SAMPLE, -1, 0);
    SimEvent ev;
    while (event_queue_pop(&e->queue, &ev)) {
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
            break;
        case SIM_EV_WAKE:
            if (ev.generation == in->generation) try_start(e, in);
            break;
        case SIM_EV_SAMPLE:
            on_sample(e);
            break;
        }
        if ((e->events & 0xffff) == 0) progress(e, false);
    }
    progress(e, true);
    /* Drain invariant: every arrival is accounted for. */
    const Metrics *m = &e->metrics;
    if (e->in_system != 0) {
        for (int32_t i = 0; i < e->n_instances; i++)
            if (e->instances[i].in_system)
                return ss_error_set(EPROTO, "scheduler '%s' left %lld requests unserved with "
                                    "nothing running (they can never be scheduled)",
                                    e->instances[i].sched_ops->name,
                                    (long long)e->instances[i].in_system);
    }
    SS_ASSERT(m->arrived == m->completed + m->failed + m->rejected);
    return 0;
}
