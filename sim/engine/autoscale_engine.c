/* autoscale_engine.c: the engine's side of --autoscale: instances that come
 * and go while the simulation runs.
 *
 * The pool is `max` instances, all set up at start (stable pointers: requests
 * hold instance indices, spans hold Instance pointers); each is in one of
 * four states:
 *   off       not running, costs nothing;
 *   booting   paid for, not routable: a cold start of boot_s plus the
 *             weights read from storage at load_gbps (SIM_EV_INSTANCE_READY);
 *   ready     routable: routers see only these (Engine.live);
 *   draining  scale-down: no new requests; it serves every request it holds
 *             (queued ones included) and leaves once it holds none
 *             (SIM_EV_INSTANCE_DRAINED).  Requests are never migrated.
 * Every `interval` seconds (SIM_EV_AUTOSCALE) the policy says how many
 * instances it wants (ready + booting); the engine clamps that to [min, max]
 * and, for stabilised policies, scales down only to the largest count asked
 * for over the last down_delay seconds (Kubernetes' stabilisation window).
 * Growing revives draining instances first (they are warm), then boots the
 * lowest-index off ones; shrinking cancels boots first (newest first), then
 * drains the highest-index ready ones.  A revived or rebooted instance keeps
 * its scheduler's state, which is empty but for a prefix cache's blocks.
 *
 * Accounting: per instance time up (boot start to leave), time serving
 * (ready or draining) and USD (time up x GPU price x tp); per hour of
 * arrival, requests finished, within the SLO, failed, and failed while a
 * scale-up was under way (the lag).  The run's cost ends at the first
 * decision after the last request finished. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autoscale/autoscale.h"
#include "common.h"
#include "engine_internal.h"

enum { SLOT_OFF, SLOT_BOOTING, SLOT_READY, SLOT_DRAINING };
static const char *const slot_state_names[] = { "off", "booting", "ready", "draining" };

typedef struct AutoscaleSlot {
    int state;
    uint64_t epoch;            /* READY / DRAINED events carry it: stale when it moved on */
    double up_since_s, serving_since_s;
    double time_up_s, time_serving_s;
    double first_ready_s;      /* -1 until its first boot ends (instances up at t=0: 0) */
    int32_t boots;
} AutoscaleSlot;

typedef struct AutoscaleHour {
    int64_t finished, slo_met, failed, lag_failures;
    double instance_s, ready_s; /* instance-seconds up / ready in this hour */
} AutoscaleHour;

struct AutoscaleRun {
    const AutoscaleOps *ops;
    void *opts, *priv;
    AutoscaleCommon c;
    AutoscaleSlot *slot;
    int32_t n_ready, n_booting, n_draining, peak;
    int32_t *recent;           /* ring of the last asks (stabilisation window) */
    int32_t recent_len, n_recent, recent_pos;
    int64_t attempts_at_last;
    double last_decision_s, acct_s, end_s, cold_start_s;
    AutoscaleHour *hour;
    size_t n_hours, cap_hours;
    int64_t decisions, scale_ups, revived, scale_downs, boots_cancelled, failures, lag_failures;
    json_t *timeline;          /* [t, ready, booting, draining] at each change */
    bool closed;
};

int autoscale__configure(Engine *e)
{
    const char *spec = e->cfg.autoscale_spec;
    if (!spec[0]) return 0;
    char name[64];
    const char *kvs;
    int r = opts_split_spec(spec, name, sizeof(name), &kvs);
    if (r) return r;
    const AutoscaleOps *ops = autoscale_find(name);
    if (!ops) {
        char known[256] = "";
        for (const AutoscaleOps *const *p = autoscale_registry; *p; p++)
            snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", known[0] ? ", " : "", (*p)->name);
        return ss_error_set(EINVAL, "--autoscale: unknown policy '%s' (known: %s)", name, known);
    }
    if (e->cfg.fleet[0])
        return ss_error_set(EINVAL, "--autoscale: scales copies of --gpu (with --tp); a --fleet of groups cannot "
                            "be autoscaled yet");
    AutoscaleRun *a = e->autoscale = ss_calloc(1, sizeof(*a));
    a->ops = ops;
    a->opts = ss_calloc(1, ops->opts_size);
    char owner[96];
    snprintf(owner, sizeof(owner), "--autoscale %s", name);
    if ((r = opts_init(ops->opts, kvs, a->opts, owner))) return r;
    a->c = *(const AutoscaleCommon *)a->opts;
    if (a->c.min > a->c.max)
        return ss_error_set(EINVAL, "--autoscale %s: min=%lld exceeds max=%lld", name, (long long)a->c.min,
                            (long long)a->c.max);
    a->priv = ss_calloc(1, ops->priv_size ? ops->priv_size : 1);
    if ((r = ops->init(a->priv, a->opts))) return r;
    e->cfg.instances = (int32_t)a->c.max; /* the pool */
    return 0;
}

static void timeline_note(Engine *e)
{
    AutoscaleRun *a = e->autoscale;
    json_t *row = json_array();
    json_array_append_new(row, json_real(e->now_s));
    json_array_append_new(row, json_integer(a->n_ready));
    json_array_append_new(row, json_integer(a->n_booting));
    json_array_append_new(row, json_integer(a->n_draining));
    json_array_append_new(a->timeline, row);
    int32_t up = a->n_ready + a->n_booting + a->n_draining;
    if (up > a->peak) a->peak = up;
}

/* The live set, in index order (routers' ties go to the lowest index). */
static void live_rebuild(Engine *e)
{
    e->n_live = 0;
    for (int32_t i = 0; i < e->n_instances; i++)
        if (e->autoscale->slot[i].state == SLOT_READY) e->live[e->n_live++] = i;
    SS_ASSERT(e->n_live == e->autoscale->n_ready && e->n_live >= 1);
}

static AutoscaleHour *hour_at(AutoscaleRun *a, double t_s)
{
    size_t h = (size_t)SS_MAX(0.0, floor(t_s / a->c.hour_s));
    if (h >= a->n_hours) {
        SS_GROW(a->hour, a->cap_hours, h + 1);
        memset(a->hour + a->n_hours, 0, (h + 1 - a->n_hours) * sizeof(*a->hour));
        a->n_hours = h + 1;
    }
    return &a->hour[h];
}

/* Instance-seconds up to t, split at hour boundaries (counts are constant
 * between state changes). */
static void acct_advance(AutoscaleRun *a, double t_s)
{
    double up = a->n_ready + a->n_booting + a->n_draining, ready = a->n_ready + a->n_draining;
    while (a->acct_s < t_s) {
        double hour_end = (floor(a->acct_s / a->c.hour_s) + 1) * a->c.hour_s;
        double to = SS_MIN(t_s, hour_end);
        if (!(to > a->acct_s)) to = t_s; /* rounding at a boundary */
        AutoscaleHour *h = hour_at(a, a->acct_s);
        h->instance_s += up * (to - a->acct_s);
        h->ready_s += ready * (to - a->acct_s);
        a->acct_s = to;
    }
}

int autoscale__setup(Engine *e)
{
    AutoscaleRun *a = e->autoscale;
    int64_t initial = a->c.initial >= 0 ? a->c.initial : a->ops->initial ? a->ops->initial(a->priv) : a->c.min;
    if (initial < a->c.min || initial > a->c.max)
        return ss_error_set(EINVAL, "--autoscale %s: initial=%lld is outside [min=%lld, max=%lld]", a->ops->name,
                            (long long)initial, (long long)a->c.min, (long long)a->c.max);
    a->slot = ss_calloc((size_t)e->n_instances, sizeof(*a->slot));
    for (int32_t i = 0; i < e->n_instances; i++) {
        a->slot[i].first_ready_s = -1;
        if (i < initial) {
            a->slot[i].state = SLOT_READY;
            a->slot[i].first_ready_s = 0;
            a->n_ready++;
        }
    }
    a->recent_len = (int32_t)SS_MAX(1.0, ceil(a->c.down_delay_s / a->c.interval_s - 1e-9));
    a->recent = ss_calloc((size_t)a->recent_len, sizeof(*a->recent));
    a->cold_start_s = a->c.boot_s + e->instances[0].model.weight_bytes / (a->c.load_gbps * 1e9);
    a->timeline = json_array();
    live_rebuild(e);
    return 0;
}

void autoscale__start(Engine *e)
{
    timeline_note(e);
    event_queue_push(&e->queue, 0.0, SIM_EV_AUTOSCALE, -1, 0);
}

static void slot_leave(Engine *e, int32_t i)
{
    AutoscaleSlot *s = &e->autoscale->slot[i];
    s->time_up_s += e->now_s - s->up_since_s;
    if (s->state == SLOT_READY || s->state == SLOT_DRAINING) s->time_serving_s += e->now_s - s->serving_since_s;
    s->state = SLOT_OFF;
    s->epoch++;
}

/* A draining instance that holds nothing leaves (at once, or when its last
 * request finishes: SIM_EV_INSTANCE_DRAINED). */
static bool drained(const Engine *e, int32_t i)
{
    return e->instances[i].in_system == 0 && !e->instances[i].busy;
}

static void apply(Engine *e, int32_t want)
{
    AutoscaleRun *a = e->autoscale;
    while (a->n_ready + a->n_booting < want) {
        int32_t i = e->n_instances - 1;
        while (i >= 0 && a->slot[i].state != SLOT_DRAINING) i--;
        if (i >= 0) { /* warm: back to serving, nothing to load */
            a->slot[i].state = SLOT_READY;
            a->slot[i].epoch++;
            a->n_draining--, a->n_ready++, a->revived++;
            continue;
        }
        for (i = 0; a->slot[i].state != SLOT_OFF; i++) SS_ASSERT(i + 1 < e->n_instances);
        AutoscaleSlot *s = &a->slot[i];
        s->state = SLOT_BOOTING;
        s->up_since_s = e->now_s;
        s->boots++;
        s->epoch++;
        a->n_booting++, a->scale_ups++;
        event_queue_push(&e->queue, e->now_s + a->cold_start_s, SIM_EV_INSTANCE_READY, i, s->epoch);
    }
    while (a->n_ready + a->n_booting > want) {
        int32_t i = e->n_instances - 1;
        while (i >= 0 && a->slot[i].state != SLOT_BOOTING) i--;
        if (i >= 0) {
            slot_leave(e, i);
            a->n_booting--, a->boots_cancelled++;
            continue;
        }
        for (i = e->n_instances - 1; a->slot[i].state != SLOT_READY; i--) SS_ASSERT(i > 0);
        a->slot[i].state = SLOT_DRAINING;
        a->n_ready--, a->n_draining++, a->scale_downs++;
        if (drained(e, i)) slot_leave(e, i), a->n_draining--;
    }
}

static void view_fill(const Engine *e, AutoscaleView *v)
{
    const AutoscaleRun *a = e->autoscale;
    double kv = 0;
    *v = (AutoscaleView){ .now_s = e->now_s, .ready = a->n_ready, .booting = a->n_booting, .draining = a->n_draining };
    for (int32_t k = 0; k < e->n_live; k++) {
        const Instance *in = &e->instances[e->live[k]];
        const SchedOps *ops = in->sched_ops;
        if (ops->queue_length) v->queued += ops->queue_length(in->sched);
        v->running += in->busy ? in->step.n_members + in->step.n_riders : 0;
        if (ops->kv_tokens_used) kv += (double)ops->kv_tokens_used(in->sched) / (double)in->kv_capacity_tokens;
    }
    v->kv_utilisation = kv / e->n_live;
    double dt = e->now_s - a->last_decision_s;
    v->arrivals_per_s = dt > 0 ? (double)(e->attempts - a->attempts_at_last) / dt : 0;
}

static void autoscale_close(Engine *e)
{
    AutoscaleRun *a = e->autoscale;
    if (a->closed) return;
    acct_advance(a, e->now_s);
    for (int32_t i = 0; i < e->n_instances; i++)
        if (a->slot[i].state != SLOT_OFF) {
            AutoscaleSlot *s = &a->slot[i];
            s->time_up_s += e->now_s - s->up_since_s;
            if (s->state != SLOT_BOOTING) s->time_serving_s += e->now_s - s->serving_since_s;
        }
    a->end_s = e->now_s;
    a->closed = true;
}

void autoscale__on_tick(Engine *e)
{
    AutoscaleRun *a = e->autoscale;
    if (a->closed) return;
    acct_advance(a, e->now_s);
    AutoscaleView v;
    view_fill(e, &v);
    int32_t have = a->n_ready + a->n_booting, before_draining = a->n_draining;
    int32_t want = (int32_t)SS_MIN(SS_MAX((int64_t)a->ops->decide(a->priv, &v), a->c.min), a->c.max);
    if (a->ops->stabilise_down) {
        a->recent[a->recent_pos] = want;
        a->recent_pos = (a->recent_pos + 1) % a->recent_len;
        a->n_recent = SS_MIN(a->n_recent + 1, a->recent_len);
        int32_t largest = want;
        for (int32_t k = 0; k < a->n_recent; k++) largest = SS_MAX(largest, a->recent[k]);
        if (want < have) want = SS_MIN(have, largest);
    }
    a->decisions++;
    a->last_decision_s = e->now_s;
    a->attempts_at_last = e->attempts;
    if (want != have) {
        apply(e, want);
        live_rebuild(e);
    }
    if (want != have || a->n_draining != before_draining) timeline_note(e);
    if (e->have_pending || e->in_system > 0)
        event_queue_push(&e->queue, e->now_s + a->c.interval_s, SIM_EV_AUTOSCALE, -1, 0);
    else
        autoscale_close(e);
}

bool autoscale__on_ready(Engine *e, const SimEvent *ev)
{
    AutoscaleRun *a = e->autoscale;
    AutoscaleSlot *s = &a->slot[ev->instance];
    if (a->closed || s->state != SLOT_BOOTING || s->epoch != ev->generation) return false;
    acct_advance(a, e->now_s);
    s->state = SLOT_READY;
    s->serving_since_s = e->now_s;
    if (s->first_ready_s < 0) s->first_ready_s = e->now_s;
    a->n_booting--, a->n_ready++;
    live_rebuild(e);
    timeline_note(e);
    return true;
}

void autoscale__on_drained(Engine *e, const SimEvent *ev)
{
    AutoscaleRun *a = e->autoscale;
    AutoscaleSlot *s = &a->slot[ev->instance];
    if (a->closed || s->state != SLOT_DRAINING || s->epoch != ev->generation || !drained(e, ev->instance)) return;
    acct_advance(a, e->now_s);
    slot_leave(e, ev->instance);
    a->n_draining--;
    timeline_note(e);
}

static bool meets_slo(const SloSpec *s, const Request *r)
{
    double ttft = r->first_token_s - r->arrival_s, e2e = r->finish_s - r->arrival_s;
    if (s->ttft_s > 0 && ttft > s->ttft_s) return false;
    if (s->tpot_s > 0 && r->generated_tokens > 1 && (e2e - ttft) / (double)(r->generated_tokens - 1) > s->tpot_s)
        return false;
    if (s->e2el_s > 0 && e2e > s->e2el_s) return false;
    return true;
}

void autoscale__on_finish(Engine *e, Instance *in, const Request *r)
{
    AutoscaleRun *a = e->autoscale;
    AutoscaleHour *h = hour_at(a, r->arrival_s);
    h->finished++;
    if (r->state == REQ_DONE) {
        h->slo_met += meets_slo(&e->cfg.slo, r);
    } else if (r->fail_reason != REQ_FAIL_TRACE && r->fail_reason != REQ_REJECT_TOO_LONG &&
               r->fail_reason != REQ_REJECT_EMPTY_PROMPT) {
        /* Capacity failures (give-ups, 429s, preemption limits); those while
         * a scale-up is under way are the lag's. */
        h->failed++;
        a->failures++;
        if (a->n_booting > 0) h->lag_failures++, a->lag_failures++;
    }
    AutoscaleSlot *s = &a->slot[in->index];
    if (s->state == SLOT_DRAINING && in->in_system == 0)
        event_queue_push(&e->queue, e->now_s, SIM_EV_INSTANCE_DRAINED, in->index, s->epoch);
}

static json_t *hours_json(const Engine *e, double usd_per_instance_s)
{
    const AutoscaleRun *a = e->autoscale;
    json_t *arr = json_array();
    int32_t tp = e->instances[0].tensor_parallel;
    for (size_t k = 0; k < a->n_hours; k++) {
        const AutoscaleHour *h = &a->hour[k];
        double span_s = SS_MIN(a->c.hour_s, a->end_s - (double)k * a->c.hour_s);
        json_t *o = json_object();
        json_object_set_new(o, "hour", json_integer((json_int_t)k));
        json_object_set_new(o, "instances_mean", json_real(span_s > 0 ? h->instance_s / span_s : 0));
        json_object_set_new(o, "serving_mean", json_real(span_s > 0 ? h->ready_s / span_s : 0));
        json_object_set_new(o, "gpu_hours", json_real(h->instance_s * tp / 3600));
        json_object_set_new(o, "usd", json_real(h->instance_s * usd_per_instance_s));
        json_object_set_new(o, "finished", json_integer(h->finished));
        json_object_set_new(o, "slo_met", json_integer(h->slo_met));
        json_object_set_new(o, "slo_attainment", h->finished ? json_real((double)h->slo_met / (double)h->finished)
                                                             : json_null());
        json_object_set_new(o, "failed", json_integer(h->failed));
        json_object_set_new(o, "failed_during_scale_up", json_integer(h->lag_failures));
        json_array_append_new(arr, o);
    }
    return arr;
}

json_t *autoscale__summary_json(const Engine *e)
{
    AutoscaleRun *a = e->autoscale;
    autoscale_close((Engine *)e); /* an abandoned or tick-less run: cost up to now */
    const Instance *in0 = &e->instances[0];
    double usd_per_instance_s = in0->gpu.price_per_hour * in0->tensor_parallel / 3600;
    json_t *o = json_object(), *inst = json_array();
    double up_s = 0;
    int64_t finished = 0, met = 0;
    for (int32_t i = 0; i < e->n_instances; i++) {
        const AutoscaleSlot *s = &a->slot[i];
        up_s += s->time_up_s;
        json_t *j = json_object();
        json_object_set_new(j, "index", json_integer(i));
        json_object_set_new(j, "state_at_end", json_string(slot_state_names[s->state]));
        json_object_set_new(j, "boots", json_integer(s->boots));
        json_object_set_new(j, "first_ready_s", s->first_ready_s >= 0 ? json_real(s->first_ready_s) : json_null());
        json_object_set_new(j, "time_up_s", json_real(s->time_up_s));
        json_object_set_new(j, "time_serving_s", json_real(s->time_serving_s));
        json_object_set_new(j, "usd", json_real(s->time_up_s * usd_per_instance_s));
        json_array_append_new(inst, j);
    }
    for (size_t k = 0; k < a->n_hours; k++) finished += a->hour[k].finished, met += a->hour[k].slo_met;
    SS_ASSERT(finished == e->finished); /* every finished attempt is in one hour */
    json_object_set_new(o, "policy", json_string(a->ops->name));
    json_object_set_new(o, "options", opts_to_json(a->ops->opts, a->opts));
    json_object_set_new(o, "scale_down", json_string("drain: no new requests; it serves every request it holds "
                                                     "(queued ones too), then leaves; no migration"));
    json_object_set_new(o, "cold_start_s", json_real(a->cold_start_s));
    json_object_set_new(o, "decisions", json_integer(a->decisions));
    json_object_set_new(o, "boots", json_integer(a->scale_ups));
    json_object_set_new(o, "revived_while_draining", json_integer(a->revived));
    json_object_set_new(o, "boots_cancelled", json_integer(a->boots_cancelled));
    json_object_set_new(o, "drains", json_integer(a->scale_downs));
    json_object_set_new(o, "peak_instances", json_integer(a->peak));
    json_object_set_new(o, "end_s", json_real(a->end_s));
    json_object_set_new(o, "instance_hours", json_real(up_s / 3600));
    json_object_set_new(o, "gpu_hours", json_real(up_s * in0->tensor_parallel / 3600));
    json_object_set_new(o, "usd", json_real(up_s * usd_per_instance_s));
    json_object_set_new(o, "slo_attainment", finished ? json_real((double)met / (double)finished) : json_null());
    json_object_set_new(o, "failures", json_integer(a->failures));
    json_object_set_new(o, "failures_during_scale_up", json_integer(a->lag_failures));
    json_object_set_new(o, "per_hour", hours_json(e, usd_per_instance_s));
    json_object_set_new(o, "instances", inst);
    json_object_set_new(o, "timeline", json_incref(a->timeline));
    return o;
}

void autoscale__free(Engine *e)
{
    AutoscaleRun *a = e->autoscale;
    if (!a) return;
    free(a->opts);
    free(a->priv);
    free(a->slot);
    free(a->recent);
    free(a->hour);
    json_decref(a->timeline);
    free(a);
    e->autoscale = NULL;
}
