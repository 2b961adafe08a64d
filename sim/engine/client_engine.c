/* client_engine.c: the engine's side of the client model (--client) and of
 * admission control (--admission): deadlines, cancellation, retries.
 *
 * Deadlines are events.  When one fires for a request that is still
 * unfinished:
 *   - not in a running step (queued, preempted, or between steps in a
 *     continuous policy's running set): the scheduler drops it (its cancel
 *     hook frees the KV blocks) and it ends now;
 *   - in a running iteration-level step: the span is cut at the next
 *     iteration boundary and the request ends there with its KV freed,
 *     as a server does on a client disconnect; a request that emitted what
 *     the deadline asked for before it fired is not cancelled;
 *   - in a static batch: the batch runs to its end (request-level batching
 *     cannot drop a member), and the request ends then, its tokens wasted.
 * A request's memory stays out of the pool while a deadline event for it
 * is pending (pending_events), so an event never reads a reused record.
 * Riding (sim/engine/ride.h) is off while a client or admission control is
 * active: every decoding request is a listed member, so it can be cut. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "common.h"
#include "engine/rng.h"
#include "engine_internal.h"

static const OptSpec admission_opts[] = {
    { "max_queue", OPT_INT, offsetof(AdmissionOpts, max_queue), "-1",
      "requests waiting at most: a newcomer that would wait beyond is rejected (queue_full, a 429); "
      "0 = only what can start at once; -1 = unbounded", NULL, -1, 1e15 },
    { "max_queue_delay", OPT_DOUBLE, offsetof(AdmissionOpts, max_queue_delay_s), "0",
      "seconds a request may wait to be first scheduled, else rejected (queue_timeout); 0 = unbounded",
      NULL, 0.0, 1e12 },
    { "max_preemptions", OPT_INT, offsetof(AdmissionOpts, max_preemptions), "-1",
      "preemptions a request survives; one more fails it (preempted); -1 = unbounded", NULL, -1, 1e9 },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

const OptSpec *engine_admission_opts(void) { return admission_opts; }

enum { DEADLINE_GIVE_UP, DEADLINE_TTFT, DEADLINE_QUEUE };

int client__setup(Engine *e)
{
    char name[64];
    const char *kvs;
    int r = opts_split_spec(e->cfg.client_spec[0] ? e->cfg.client_spec : "none", name, sizeof(name), &kvs);
    if (r) return r;
    e->client = client_find(name);
    if (!e->client) {
        char known[256] = "";
        for (const ClientOps *const *c = client_registry; *c; c++)
            snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", known[0] ? ", " : "", (*c)->name);
        return ss_error_set(EINVAL, "--client: unknown client model '%s' (known: %s)", name, known);
    }
    e->client_opts = ss_calloc(1, e->client->opts_size + 1);
    if ((r = opts_init(e->client->opts, kvs, e->client_opts, "--client"))) return r;
    e->client_priv = ss_calloc(1, e->client->priv_size + 1);
    e->client_rng = ss_rng_stream(e->cfg.seed, "client", 0);
    if ((r = e->client->init(e->client_priv, e->client_opts, e->client_rng))) return r;
    if ((r = opts_init(admission_opts, e->cfg.admission_spec, &e->admission, "--admission"))) return r;
    const AdmissionOpts *a = &e->admission;
    bool admission = a->max_queue >= 0 || a->max_queue_delay_s > 0 || a->max_preemptions >= 0;
    e->client_active = strcmp(e->client->name, "none") || admission;
    if (!e->client_active) return 0;
    if (e->router->central)
        return ss_error_set(EINVAL, "--client/--admission: the central router's shared queue cannot drop a "
                            "request yet; use another --router");
    for (int32_t i = 0; i < e->n_instances; i++)
        if (!e->instances[i].sched_ops->cancel)
            return ss_error_set(EINVAL, "--client/--admission: scheduler '%s' cannot drop a queued request "
                                "(no cancel hook)", e->instances[i].sched_ops->name);
    return 0;
}

void client__free(Engine *e)
{
    free(e->client_opts);
    free(e->client_priv);
    if (e->client_rng) gsl_rng_free(e->client_rng);
    for (int64_t i = 0; i < e->n_retry_slots; i++) free(e->retry_pending[i].hash_ids); /* not yet sent */
    free(e->retry_pending);
    free(e->retry_free);
    free(e->original_e2e_s);
    free(e->original_ttft_s);
}

static void push_deadline(Engine *e, Request *r, double at_s, int kind)
{
    if (!isfinite(at_s)) return;
    r->pending_events++;
    event_queue_push(&e->queue, at_s, SIM_EV_DEADLINE, kind, (uint64_t)(uintptr_t)r);
}

void client__on_attempt(Engine *e, Request *q)
{
    ClientDeadlines d = e->client->deadlines(e->client_priv, q);
    q->give_up_s = d.give_up_s;
    q->give_up_why = (uint8_t)d.give_up_why;
    push_deadline(e, q, d.give_up_s, DEADLINE_GIVE_UP);
    push_deadline(e, q, d.ttft_deadline_s, DEADLINE_TTFT);
    if (e->admission.max_queue_delay_s > 0) push_deadline(e, q, q->arrival_s + e->admission.max_queue_delay_s,
                                                          DEADLINE_QUEUE);
}

bool client__admit(Engine *e, Instance *in, Request *q)
{
    int64_t max = e->admission.max_queue;
    if (max < 0) return true;
    int64_t waiting = in->sched_ops->queue_length ? in->sched_ops->queue_length(in->sched) : 0;
    /* It would wait behind `waiting` others, or behind the running step. */
    if (waiting >= max && (waiting > 0 || in->busy)) {
        engine_reject(in, q, REQ_REJECT_QUEUE_FULL, e->now_s);
        return false;
    }
    return true;
}

/* End request r now for `why`: dropped by its scheduler, or cut with its
 * step (span_cut) when it is a member of the running one. */
static void give_up(Engine *e, Request *r, ReqFailReason why, ReqState state)
{
    Instance *in = &e->instances[r->instance];
    if (r->in_step) {
        r->cancel_pending = true;
        r->give_up_s = e->now_s;
        r->give_up_why = (uint8_t)why;
        span_cut(e, in); /* no-op for a static batch: it ends with the batch */
        return;
    }
    in->sched_ops->cancel(in->sched, r, e->now_s);
    r->state = state;
    r->fail_reason = why;
    r->finish_s = e->now_s;
    engine__finish(e, in, r);
}

void client__on_deadline(Engine *e, const SimEvent *ev)
{
    Request *r = (Request *)(uintptr_t)ev->generation;
    SS_ASSERT(r->pending_events > 0);
    r->pending_events--;
    if (request_is_finished(r)) {
        if (!r->pending_events) engine__release(e, r);
        return;
    }
    switch (ev->instance) {
    case DEADLINE_GIVE_UP:
        give_up(e, r, (ReqFailReason)r->give_up_why, REQ_CANCELLED);
        break;
    case DEADLINE_TTFT:
        if (r->first_token_s >= 0) break;
        /* A prefill instance's first token is the client's only when its KV
         * has landed on a decode instance (disagg.c): not in this step. */
        if (r->in_step && !r->disagg_output_tokens && span_first_token_by(e, &e->instances[r->instance], r, e->now_s))
            break;
        give_up(e, r, REQ_CANCEL_TTFT_TIMEOUT, REQ_CANCELLED);
        break;
    case DEADLINE_QUEUE:
        if (r->first_scheduled_s >= 0) break; /* it started in time */
        give_up(e, r, REQ_REJECT_QUEUE_TIMEOUT, REQ_REJECTED);
        break;
    }
}

void client__settle_step(Engine *e, Instance *in)
{
    (void)e;
    Step *s = &in->step;
    for (int32_t i = 0; i < s->n_members; i++) {
        Request *r = s->members[i].req;
        r->in_step = false;
        if (!r->cancel_pending) continue;
        r->cancel_pending = false;
        ReqFailReason why = (ReqFailReason)r->give_up_why;
        /* What the client waited for arrived before it gave up: no cancel. */
        bool made_it = why == REQ_CANCEL_TTFT_TIMEOUT ? r->first_token_s >= 0 && r->first_token_s <= r->give_up_s
                                                     : r->state == REQ_DONE && r->finish_s <= r->give_up_s;
        made_it &= !r->disagg_output_tokens; /* a prefill instance's part of a split request */
        if (made_it) continue;
        r->state = why == REQ_REJECT_QUEUE_TIMEOUT ? REQ_REJECTED : REQ_CANCELLED;
        r->fail_reason = why;
        r->finish_s = r->give_up_s;
    }
}

void client__note_preempted(Engine *e, Instance *in, Request *r)
{
    if (e->admission.max_preemptions < 0 || r->preemptions <= e->admission.max_preemptions) return;
    SS_GROW(in->doomed, in->doomed_cap, (size_t)in->n_doomed + 1);
    in->doomed[in->n_doomed++] = r;
}

void client__after_schedule(Engine *e, Instance *in)
{
    /* Requests preempted once too often while the scheduler planned: now
     * queued again (not members of the step it formed), they fail. */
    for (int32_t i = 0; i < in->n_doomed; i++) {
        Request *r = in->doomed[i];
        if (request_is_finished(r) || r->in_step) continue;
        in->sched_ops->cancel(in->sched, r, e->now_s);
        engine_fail(in, r, REQ_FAIL_PREEMPTED, e->now_s);
    }
    in->n_doomed = 0;
}

/* ---- retries ---- */

void client__on_finished(Engine *e, Request *r)
{
    if (r->state == REQ_DONE) {
        e->originals_completed++;
        size_t n = (size_t)e->originals_completed;
        if (n > e->original_cap) { /* the two arrays grow together */
            e->original_cap = e->original_cap ? 2 * e->original_cap : 256;
            e->original_e2e_s = ss_realloc(e->original_e2e_s, e->original_cap * sizeof(double));
            e->original_ttft_s = ss_realloc(e->original_ttft_s, e->original_cap * sizeof(double));
        }
        e->original_e2e_s[n - 1] = r->finish_s - r->original_arrival_s;
        e->original_ttft_s[n - 1] = r->first_token_s - r->original_arrival_s;
        return;
    }
    double at = e->client->retry_at(e->client_priv, r, e->now_s);
    if (!(at >= e->now_s)) return;
    /* The next attempt: the same request, sent again (a new id on arrival). */
    int64_t slot;
    if (e->n_retry_free) {
        slot = e->retry_free[--e->n_retry_free];
    } else {
        SS_GROW(e->retry_pending, e->retry_cap, (size_t)e->n_retry_slots + 1);
        slot = e->n_retry_slots++;
    }
    Request *t = &e->retry_pending[slot];
    *t = *r; /* what the client sends again: lengths, prediction, original */
    if (r->n_hash_ids) { /* r's own copy goes back to the pool with it */
        t->hash_ids = ss_malloc((size_t)r->n_hash_ids * sizeof(*t->hash_ids));
        memcpy(t->hash_ids, r->hash_ids, (size_t)r->n_hash_ids * sizeof(*t->hash_ids));
    }
    t->attempt = (int16_t)(r->attempt + 1);
    t->arrival_s = at;
    e->retries_sent++;
    event_queue_push(&e->queue, at, SIM_EV_RETRY, -1, (uint64_t)slot);
}

Request *client__take_retry(Engine *e, const SimEvent *ev)
{
    int64_t slot = (int64_t)ev->generation;
    SS_GROW(e->retry_free, e->retry_free_cap, (size_t)e->n_retry_free + 1);
    e->retry_free[e->n_retry_free++] = slot;
    return &e->retry_pending[slot];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-quantile (linear between order statistics, as metrics.c's) of
 * x[0..n), sorted in place: the arrays serve only this summary. */
static double percentile(double *x, int64_t n, double p)
{
    if (n <= 0) return NAN;
    qsort(x, (size_t)n, sizeof(*x), cmp_double);
    double k = p * (double)(n - 1);
    int64_t i = (int64_t)k;
    double f = k - (double)i;
    return i + 1 < n ? x[i] * (1 - f) + x[i + 1] * f : x[i];
}

json_t *client__summary_json(Engine *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "client", json_string(e->client->name));
    json_object_set_new(o, "original_requests", json_integer(e->originals));
    json_object_set_new(o, "attempts", json_integer(e->attempts));
    json_object_set_new(o, "retries", json_integer(e->retries_sent));
    json_object_set_new(o, "amplification", e->originals ? json_real((double)e->attempts / (double)e->originals)
                                                         : json_null());
    json_object_set_new(o, "originals_completed", json_integer(e->originals_completed));
    json_object_set_new(o, "originals_failed", json_integer(e->originals - e->originals_completed));
    json_object_set_new(o, "original_success_rate",
                        e->originals ? json_real((double)e->originals_completed / (double)e->originals) : json_null());
    /* Latency of a request that succeeded on a later try counts from its first arrival. */
    int64_t n = e->originals_completed;
    double mean_e2e = 0, mean_ttft = 0;
    for (int64_t i = 0; i < n; i++) mean_e2e += e->original_e2e_s[i], mean_ttft += e->original_ttft_s[i];
    json_t *num;
    num = n ? json_real(1e3 * mean_ttft / (double)n) : json_null();
    json_object_set_new(o, "mean_original_ttft_ms", num);
    num = n ? json_real(1e3 * mean_e2e / (double)n) : json_null();
    json_object_set_new(o, "mean_original_e2el_ms", num);
    double p99_ttft = percentile(e->original_ttft_s, n, 0.99), p99_e2e = percentile(e->original_e2e_s, n, 0.99);
    json_object_set_new(o, "p99_original_ttft_ms", isfinite(p99_ttft) ? json_real(1e3 * p99_ttft) : json_null());
    json_object_set_new(o, "p99_original_e2el_ms", isfinite(p99_e2e) ? json_real(1e3 * p99_e2e) : json_null());
    json_t *adm = json_object();
    json_object_set_new(adm, "max_queue", json_integer(e->admission.max_queue));
    json_object_set_new(adm, "max_queue_delay_s", json_real(e->admission.max_queue_delay_s));
    json_object_set_new(adm, "max_preemptions", json_integer(e->admission.max_preemptions));
    json_object_set_new(o, "admission", adm);
    return o;
}
