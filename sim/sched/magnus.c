/* magnus.c: Magnus (Cheng et al., ICWS 2024): request-level batches of
 * similar predicted length, a batch size adapted to GPU memory, highest
 * response ratio next over the queued batches with a KNN serving-time
 * estimate, and what happens when a prediction is wrong (docs/MAGNUS.md).
 *
 * This file is the SchedOps glue: arrivals, dispatch, the memory limit a
 * batch runs under, overflow handling and the counters summary.json shows.
 * The batcher itself (waiting set, grouping and memory rules, estimates,
 * HRRN) is magnus_batch.c.
 *
 * Misprediction.  Memory is planned on predictions, but a batch runs until
 * its true longest generation.  The batch's KV cache holds n x (L + k)
 * tokens at iteration k (every padded slot keeps its KV to the end), so the
 * batch may run at most floor(capacity / n) - L iterations: step->max_iters.
 * Members still unfinished there are evicted and requeued (overflow=preempt,
 * and overflow=reserve once its p90 plan is exceeded too) or failed
 * (overflow=truncate), and counted. */
#include <math.h>
#include <stdlib.h>

#include "common.h"
#include "magnus_internal.h"

static const OptSpec magnus_opts[] = {
    { "grouping", OPT_BOOL, offsetof(MagnusOpts, grouping), "true",
      "group by predicted generation/input length; false: batches in arrival order", NULL, OPT_NO_BOUNDS },
    { "group_gen", OPT_BOOL, offsetof(MagnusOpts, group_gen), "true",
      "grouping: classes by predicted generation and prompt; false: by prompt bucket alone "
      "(the sort by prompt length without length prediction; memory is still planned on predictions)",
      NULL, OPT_NO_BOUNDS },
    { "gen_bucket", OPT_DOUBLE, offsetof(MagnusOpts, gen_bucket), "0.25",
      "grouping: predicted generations within a factor 1+w share a bucket, sorted by prompt inside; "
      "0 = sort by generation alone", NULL, 0, 10 },
    { "adaptive", OPT_BOOL, offsetof(MagnusOpts, adaptive), "true",
      "batch size from free KV memory; false: at most `batch` requests", NULL, OPT_NO_BOUNDS },
    { "batch", OPT_INT, offsetof(MagnusOpts, batch), "8",
      "fixed batch size B (requests) when adaptive=false", NULL, 1, 1 << 20 },
    { "max_batch", OPT_INT, offsetof(MagnusOpts, max_batch), "0",
      "requests per batch at most when adaptive; 0 = memory is the only limit", NULL, 0, 1 << 20 },
    { "margin", OPT_DOUBLE, offsetof(MagnusOpts, margin), "0.1",
      "share of the KV cache kept free when planning a batch (safety margin)", NULL, 0, 0.99 },
    { "order", OPT_CHOICE, offsetof(MagnusOpts, order), "hrrn",
      "batch order: highest response ratio next, or FCFS over batches", "hrrn|fcfs", OPT_NO_BOUNDS },
    { "estimator", OPT_CHOICE, offsetof(MagnusOpts, estimator), "knn",
      "serving-time estimate: online KNN (roofline prior), roofline, or the true cost model",
      "knn|roofline|oracle", OPT_NO_BOUNDS },
    { "knn_k", OPT_INT, offsetof(MagnusOpts, knn_k), "5", "KNN neighbours", NULL, 1, 64 },
    { "knn_capacity", OPT_INT, offsetof(MagnusOpts, knn_capacity), "1024",
      "finished batches the KNN keeps (oldest dropped)", NULL, 1, 1 << 20 },
    { "knn_target", OPT_CHOICE, offsetof(MagnusOpts, knn_target), "ratio",
      "KNN learns measured/roofline (times the roofline) or the measured seconds themselves",
      "ratio|seconds", OPT_NO_BOUNDS },
    { "overflow", OPT_CHOICE, offsetof(MagnusOpts, overflow), "preempt",
      "outgrown KV: evict + requeue (recompute), fail as truncated, or plan on p90 then evict",
      "preempt|truncate|reserve", OPT_NO_BOUNDS },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

static int magnus_init(void *priv, const void *opts, const SchedEnv *env)
{
    Magnus *m = priv;
    m->o = *(const MagnusOpts *)opts;
    m->env = *env;
    if (m->o.knn_capacity < m->o.knn_k)
        return ss_error_set(EINVAL, "--sched magnus: knn_capacity %lld below knn_k %lld",
                            (long long)m->o.knn_capacity, (long long)m->o.knn_k);
    /* The KNN always learns (it is cheap), so its samples can be reported
     * whichever estimator orders the batches. */
    return knn_create(&m->knn, (int32_t)m->o.knn_k, (int32_t)m->o.knn_capacity);
}

/* The most a request may generate: the model's context and the cache both bound it. */
static int64_t magnus_gen_limit(const Magnus *m, const Request *r)
{
    int64_t room = SS_MIN((int64_t)m->env.max_context, m->env.kv_capacity_tokens) - r->input_tokens;
    return SS_MAX(room, (int64_t)1); /* tokens */
}

/* Its client gave up while it waited (members of a running batch end with it). */
static void magnus_cancel(void *priv, Request *r, double now_s)
{
    (void)now_s;
    bool queued = magnus_wait_remove(priv, r);
    SS_ASSERT(queued);
}

static void magnus_on_arrival(void *priv, Request *r, double now_s)
{
    Magnus *m = priv;
    if ((int64_t)request_prefill_target(r) + 1 > m->env.kv_capacity_tokens) {
        engine_reject(m->env.instance, r, REQ_REJECT_TOO_LONG, now_s);
        return;
    }
    double plan = m->o.overflow == MAGNUS_OVERFLOW_RESERVE ? r->predicted_output_p90
                                                            : r->predicted_output_tokens;
    r->sched_key = SS_MIN(SS_MAX((int64_t)llround(plan), (int64_t)1), magnus_gen_limit(m, r));
    magnus_wait_insert(m, r);
}

static int magnus_next_step(void *priv, double now_s, Step *step, double *wake_s)
{
    Magnus *m = priv;
    (void)wake_s;
    if (!m->n_wait) return 0;
    MagnusBatch *g = magnus_pick(m, now_s);
    for (int32_t i = 0; i < g->n; i++) step_add(step, g->members[i], 0);
    step->static_batch = true;
    step->padded_input = (int32_t)g->padded_input;
    /* The physical limit, not the planning budget: the margin is there to
     * absorb overruns, so a batch may use it before it is cut. */
    int64_t per_slot = m->env.kv_capacity_tokens / g->n; /* tokens */
    SS_ASSERT(per_slot > g->padded_input);              /* admission and the memory rule */
    step->max_iters = per_slot - g->padded_input;
    m->run_x[0] = (double)g->n;
    m->run_x[1] = (double)g->padded_input;
    m->run_x[2] = (double)g->padded_gen;
    m->run_est_s = g->est_s;
    m->run_roofline_s = g->roofline_s;
    m->run_reserved_tokens = SS_MIN(g->n * (g->padded_input + g->padded_gen),
                                    m->env.kv_capacity_tokens);
    m->st.batches++;
    m->st.batched_requests += g->n;
    m->st.planned_gen_tokens += g->n * g->padded_gen;
    magnus_batch_release(m, g);
    return 1;
}

/* A member the memory limit stopped: fail it, or evict it (its KV is dropped
 * and its prompt + generated tokens recomputed when it runs again) with its
 * plan raised to twice what it has generated, so that repeated overruns
 * converge in O(log length) evictions. */
static void magnus_overflow(Magnus *m, Request *r, double now_s)
{
    /* Its context alone fills the cache: recomputing could never make room
     * for one more token, so it ends here whatever the policy. */
    bool never_fits = (int64_t)request_prefill_target(r) + 1 > m->env.kv_capacity_tokens;
    if (m->o.overflow == MAGNUS_OVERFLOW_TRUNCATE || never_fits) {
        m->st.overflow_truncated++;
        engine_fail(m->env.instance, r, REQ_FAIL_TRUNCATED, now_s);
        return;
    }
    m->st.overflow_preempted++;
    engine_preempt(m->env.instance, r, now_s);
    m->st.recompute_tokens += request_prefill_target(r);
    r->sched_key = SS_MIN(SS_MAX(r->sched_key, 2 * (int64_t)r->generated_tokens),
                          magnus_gen_limit(m, r));
    magnus_wait_insert(m, r);
}

static void magnus_on_step_done(void *priv, const Step *step, double now_s)
{
    Magnus *m = priv;
    double measured_s = step->end_s - step->start_s; /* what a real server observes */
    knn_add(m->knn, m->run_x, m->o.knn_target == MAGNUS_KNN_RATIO
                                  ? measured_s / fmax(m->run_roofline_s, 1e-12) : measured_s);
    knn_error_add(&m->st.est_err, m->run_est_s, measured_s);
    knn_error_add(&m->st.roofline_err, m->run_roofline_s, measured_s);
    m->st.run_iters_tokens += step->n_members * step->iters_done;
    m->run_reserved_tokens = 0;
    bool overflowed = false;
    for (int32_t i = 0; i < step->n_members; i++) {
        Request *r = step->members[i].req;
        if (request_is_finished(r)) {
            /* Its length is known now that it is done: score the predictor. */
            if (r->state == REQ_DONE) {
                knn_error_add(&m->st.predict_err, r->predicted_output_tokens, r->generated_tokens);
                m->st.predict_under += r->generated_tokens > r->predicted_output_tokens;
            }
            continue;
        }
        overflowed = true;
        magnus_overflow(m, r, now_s);
    }
    m->st.overflow_batches += overflowed;
}

static int64_t magnus_queue_length(void *priv) { return ((Magnus *)priv)->n_wait; }
static int64_t magnus_kv_used(void *priv) { return ((Magnus *)priv)->run_reserved_tokens; }

static json_t *magnus_stats_json(void *priv)
{
    const Magnus *m = priv;
    const MagnusStats *s = &m->st;
    json_t *o = json_object();
    json_object_set_new(o, "batches", json_integer(s->batches));
    json_object_set_new(o, "mean_batch_size",
                        json_real(s->batches ? (double)s->batched_requests / (double)s->batches : 0));
    json_object_set_new(o, "overflow_batches", json_integer(s->overflow_batches));
    json_object_set_new(o, "overflow_preempted", json_integer(s->overflow_preempted));
    json_object_set_new(o, "overflow_truncated", json_integer(s->overflow_truncated));
    json_object_set_new(o, "recompute_tokens", json_integer(s->recompute_tokens));
    json_object_set_new(o, "planned_slot_tokens", json_integer(s->planned_gen_tokens));
    json_object_set_new(o, "run_slot_tokens", json_integer(s->run_iters_tokens));
    json_object_set_new(o, "estimator", json_string(opts_choice_name(magnus_opts, "estimator",
                                                                     m->o.estimator)));
    json_object_set_new(o, "estimator_rmse_s", json_real(knn_error_rmse_s(&s->est_err)));
    json_object_set_new(o, "estimator_mean_rel_err", json_real(knn_error_mean_rel(&s->est_err)));
    json_object_set_new(o, "roofline_rmse_s", json_real(knn_error_rmse_s(&s->roofline_err)));
    json_object_set_new(o, "roofline_mean_rel_err", json_real(knn_error_mean_rel(&s->roofline_err)));
    json_object_set_new(o, "knn_samples", json_integer(knn_samples(m->knn)));
    json_object_set_new(o, "predictor_rmse_tokens", json_real(knn_error_rmse_s(&s->predict_err)));
    json_object_set_new(o, "predictor_mean_rel_err", json_real(knn_error_mean_rel(&s->predict_err)));
    json_object_set_new(o, "predictor_under_share",
                        json_real(s->predict_err.n ? (double)s->predict_under / (double)s->predict_err.n : 0));
    return o;
}

static void magnus_close(void *priv)
{
    Magnus *m = priv;
    magnus_batcher_free(m);
    knn_destroy(&m->knn);
}

const SchedOps sched_magnus = {
    .name = "magnus",
    .help = "Magnus: length-grouped request-level batches, memory-adaptive size, HRRN, KNN time estimate",
    .opts = magnus_opts,
    .opts_size = sizeof(MagnusOpts),
    .priv_size = sizeof(Magnus),
    .init = magnus_init,
    .on_arrival = magnus_on_arrival,
    .next_step = magnus_next_step,
    .on_step_done = magnus_on_step_done,
    .cancel = magnus_cancel,
    .queue_length = magnus_queue_length,
    .kv_tokens_used = magnus_kv_used,
    .close = magnus_close,
    .stats_json = magnus_stats_json,
};
