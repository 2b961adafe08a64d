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
 * Disaggregated fleets (--fleet prefill:...,decode:...): one pool per role,
 * each its fleet groups' instances (the count is the pool: the most it may
 * run), with its own policy state and decisions on its own role's signals
 * (--autoscale for prefill, --autoscale-decode for decode, default the same
 * spec); the arrival router sees the ready prefill instances and the decode
 * router the ready decode ones (disagg.c).  A draining prefill instance
 * leaves when its last prompt has been handed off; a draining decode one
 * when it holds no request, incoming transfers included.
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
    double usd, gpu_s;          /* what the instances up cost, and their GPU-seconds */
} AutoscaleHour;

/* The instances one policy scales: the whole fleet, or one role's. */
typedef struct AutoscalePool {
    const char *role;          /* "prefill", "decode"; NULL: colocated */
    const AutoscaleOps *ops;
    void *opts, *priv;
    AutoscaleCommon c;
    int32_t *member, n_member; /* instance indices, ascending */
    int32_t n_ready, n_booting, n_draining, peak;
    int32_t *recent;           /* ring of the last asks (stabilisation window) */
    int32_t recent_len, n_recent, recent_pos;
    int64_t attempts_at_last;
    double last_decision_s, cold_start_s;
    int64_t decisions, scale_ups, revived, scale_downs, boots_cancelled;
    json_t *timeline;          /* [t, ready, booting, draining] at each change */
} AutoscalePool;

struct AutoscaleRun {
    AutoscalePool pool[2];
    int32_t n_pools;
    int32_t *pool_of;          /* per instance */
    AutoscaleSlot *slot;
    int32_t peak;
    double acct_s, end_s;
    AutoscaleHour *hour;
    size_t n_hours, cap_hours;
    bool uniform_price;        /* every instance costs the same per second */
    double usd_per_instance_s; /* when uniform */
    int64_t failures, lag_failures;
    json_t *timeline;          /* summed over the pools */
    bool closed;
};

/* One pool's policy from its spec: "NAME:key=value,...". */
static int pool_configure(AutoscalePool *p, const char *spec, const char *flag, bool pool_from_fleet)
{
    char name[64];
    const char *kvs;
    int r = opts_split_spec(spec, name, sizeof(name), &kvs);
    if (r) return r;
    const AutoscaleOps *ops = autoscale_find(name);
    if (!ops) {
        char known[256] = "";
        for (const AutoscaleOps *const *q = autoscale_registry; *q; q++)
            snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", known[0] ? ", " : "", (*q)->name);
        return ss_error_set(EINVAL, "%s: unknown policy '%s' (known: %s)", flag, name, known);
    }
    if (pool_from_fleet && opts_spec_has_key(kvs, "max"))
        return ss_error_set(EINVAL, "%s %s: with prefill:/decode: roles each role's pool is its --fleet count; "
                            "drop max=", flag, name);
    p->ops = ops;
    p->opts = ss_calloc(1, ops->opts_size);
    char owner[96];
    snprintf(owner, sizeof(owner), "%s %s", flag, name);
    if ((r = opts_init(ops->opts, kvs, p->opts, owner))) return r;
    p->c = *(const AutoscaleCommon *)p->opts;
    if (!pool_from_fleet && p->c.min > p->c.max)
        return ss_error_set(EINVAL, "%s %s: min=%lld exceeds max=%lld", flag, name, (long long)p->c.min,
                            (long long)p->c.max);
    p->priv = ss_calloc(1, ops->priv_size ? ops->priv_size : 1);
    /* With roles the pool, and so max, is known once the fleet is set up:
     * the policy checks its options against it then (pool_setup). */
    return pool_from_fleet ? 0 : ops->init(p->priv, p->opts);
}

int autoscale__configure(Engine *e)
{
    const char *spec = e->cfg.autoscale_spec;
    if (!spec[0]) {
        if (e->cfg.autoscale_decode_spec[0])
            return ss_error_set(EINVAL, "--autoscale-decode: the decode role's policy; give --autoscale too");
        return 0;
    }
    FleetSpec f;
    bool roles = false;
    if (e->cfg.fleet[0]) {
        int r = fleet_spec_parse(&f, e->cfg.fleet);
        if (r) return r;
        if (!f.disaggregated)
            return ss_error_set(EINVAL, "--autoscale: scales copies of --gpu (with --tp), or the roles of a "
                                "prefill:/decode: --fleet; a --fleet of colocated groups cannot be autoscaled yet");
        roles = true;
    }
    if (e->cfg.autoscale_decode_spec[0] && !roles)
        return ss_error_set(EINVAL, "--autoscale-decode: needs a --fleet with prefill:/decode: roles");
    AutoscaleRun *a = e->autoscale = ss_calloc(1, sizeof(*a));
    a->n_pools = roles ? 2 : 1;
    int r = pool_configure(&a->pool[0], spec, "--autoscale", roles);
    if (r) return r;
    if (!roles) {
        e->cfg.instances = (int32_t)a->pool[0].c.max; /* the pool */
        return 0;
    }
    const char *dspec = e->cfg.autoscale_decode_spec[0] ? e->cfg.autoscale_decode_spec : spec;
    r = pool_configure(&a->pool[1], dspec, e->cfg.autoscale_decode_spec[0] ? "--autoscale-decode" : "--autoscale",
                       true);
    if (r) return r;
    a->pool[0].role = "prefill";
    a->pool[1].role = "decode";
    return 0;
}

static int32_t pool_up(const AutoscalePool *p) { return p->n_ready + p->n_booting + p->n_draining; }

static void timeline_note(Engine *e, AutoscalePool *p)
{
    AutoscaleRun *a = e->autoscale;
    int32_t sum[3] = { 0, 0, 0 }, up = 0;
    for (int32_t k = 0; k < a->n_pools; k++) {
        const AutoscalePool *q = &a->pool[k];
        sum[0] += q->n_ready, sum[1] += q->n_booting, sum[2] += q->n_draining;
        up += pool_up(q);
    }
    json_array_append_new(a->timeline, json_pack("[f,i,i,i]", e->now_s, sum[0], sum[1], sum[2]));
    if (up > a->peak) a->peak = up;
    if (a->n_pools > 1) {
        json_array_append_new(p->timeline, json_pack("[f,i,i,i]", e->now_s, p->n_ready, p->n_booting, p->n_draining));
        p->peak = SS_MAX(p->peak, pool_up(p));
    }
}

/* The live sets, in index order (routers' ties go to the lowest index):
 * the arrival router's (the colocated or prefill pool), and with roles the
 * decode router's (disagg.c). */
static void live_rebuild(Engine *e)
{
    const AutoscaleRun *a = e->autoscale;
    e->n_live = 0;
    for (int32_t i = 0; i < e->n_instances; i++)
        if (a->pool_of[i] == 0 && a->slot[i].state == SLOT_READY) e->live[e->n_live++] = i;
    SS_ASSERT(e->n_live == a->pool[0].n_ready && e->n_live >= 1);
    if (a->n_pools > 1) disagg__decode_live_changed(e);
}

bool autoscale__routable(const Engine *e, int32_t instance)
{
    return !e->autoscale || e->autoscale->slot[instance].state == SLOT_READY;
}

static AutoscaleHour *hour_at(AutoscaleRun *a, double t_s)
{
    double hour_s = a->pool[0].c.hour_s;
    size_t h = (size_t)SS_MAX(0.0, floor(t_s / hour_s));
    if (h >= a->n_hours) {
        SS_GROW(a->hour, a->cap_hours, h + 1);
        memset(a->hour + a->n_hours, 0, (h + 1 - a->n_hours) * sizeof(*a->hour));
        a->n_hours = h + 1;
    }
    return &a->hour[h];
}

static double instance_usd_per_s(const Instance *in) { return in->gpu.price_per_hour * in->tensor_parallel / 3600; }

/* Instance-seconds up to t, split at hour boundaries (counts are constant
 * between state changes). */
static void acct_advance(Engine *e, double t_s)
{
    AutoscaleRun *a = e->autoscale;
    double up = 0, ready = 0, usd_s = 0, gpus = 0;
    for (int32_t k = 0; k < a->n_pools; k++) {
        up += pool_up(&a->pool[k]);
        ready += a->pool[k].n_ready + a->pool[k].n_draining;
    }
    if (!a->uniform_price)
        for (int32_t i = 0; i < e->n_instances; i++)
            if (a->slot[i].state != SLOT_OFF) {
                usd_s += instance_usd_per_s(&e->instances[i]);
                gpus += e->instances[i].tensor_parallel;
            }
    double hour_s = a->pool[0].c.hour_s;
    while (a->acct_s < t_s) {
        double hour_end = (floor(a->acct_s / hour_s) + 1) * hour_s;
        double to = SS_MIN(t_s, hour_end);
        if (!(to > a->acct_s)) to = t_s; /* rounding at a boundary */
        AutoscaleHour *h = hour_at(a, a->acct_s);
        h->instance_s += up * (to - a->acct_s);
        h->ready_s += ready * (to - a->acct_s);
        h->usd += usd_s * (to - a->acct_s);
        h->gpu_s += gpus * (to - a->acct_s);
        a->acct_s = to;
    }
}

static int pool_setup(Engine *e, AutoscalePool *p, int32_t k)
{
    AutoscaleRun *a = e->autoscale;
    const char *flag = k ? "--autoscale-decode" : "--autoscale";
    p->member = ss_calloc((size_t)e->n_instances, sizeof(int32_t));
    for (int32_t i = 0; i < e->n_instances; i++)
        if (a->pool_of[i] == k) p->member[p->n_member++] = i;
    if (p->role) { /* the fleet's count is the pool (max) */
        p->c.max = ((AutoscaleCommon *)p->opts)->max = p->n_member;
        if (p->c.min > p->c.max)
            return ss_error_set(EINVAL, "%s: %s min=%lld exceeds the %s pool of %d (--fleet)", flag, p->ops->name,
                                (long long)p->c.min, p->role, p->n_member);
        int r = p->ops->init(p->priv, p->opts);
        if (r) return r;
    }
    int64_t initial = p->c.initial >= 0 ? p->c.initial : p->ops->initial ? p->ops->initial(p->priv) : p->c.min;
    if (initial < p->c.min || initial > p->c.max)
        return ss_error_set(EINVAL, "%s %s: initial=%lld is outside [min=%lld, max=%lld]%s%s", flag, p->ops->name,
                            (long long)initial, (long long)p->c.min, (long long)p->c.max, p->role ? " for " : "",
                            p->role ? p->role : "");
    for (int32_t j = 0; j < p->n_member; j++) {
        AutoscaleSlot *s = &a->slot[p->member[j]];
        s->first_ready_s = -1;
        if (j < initial) {
            s->state = SLOT_READY;
            s->first_ready_s = 0;
            p->n_ready++;
        }
    }
    p->recent_len = (int32_t)SS_MAX(1.0, ceil(p->c.down_delay_s / p->c.interval_s - 1e-9));
    p->recent = ss_calloc((size_t)p->recent_len, sizeof(*p->recent));
    p->cold_start_s = p->c.boot_s + e->instances[p->member[0]].model.weight_bytes / (p->c.load_gbps * 1e9);
    p->timeline = json_array();
    return 0;
}

int autoscale__setup(Engine *e)
{
    AutoscaleRun *a = e->autoscale;
    a->slot = ss_calloc((size_t)e->n_instances, sizeof(*a->slot));
    a->pool_of = ss_calloc((size_t)e->n_instances, sizeof(int32_t));
    for (int32_t i = 0; i < e->n_instances; i++) a->pool_of[i] = e->instances[i].role == FLEET_ROLE_DECODE;
    if (a->n_pools > 1 && a->pool[0].c.hour_s != a->pool[1].c.hour_s)
        return ss_error_set(EINVAL, "--autoscale-decode: hour=%g differs from --autoscale's %g (one per-hour account)",
                            a->pool[1].c.hour_s, a->pool[0].c.hour_s);
    a->uniform_price = true;
    a->usd_per_instance_s = instance_usd_per_s(&e->instances[0]);
    for (int32_t i = 1; i < e->n_instances; i++)
        a->uniform_price &= instance_usd_per_s(&e->instances[i]) == a->usd_per_instance_s &&
                            e->instances[i].tensor_parallel == e->instances[0].tensor_parallel;
    for (int32_t k = 0; k < a->n_pools; k++) {
        int r = pool_setup(e, &a->pool[k], k);
        if (r) return r;
    }
    a->timeline = json_array();
    live_rebuild(e);
    return 0;
}

void autoscale__start(Engine *e)
{
    AutoscaleRun *a = e->autoscale;
    for (int32_t k = 0; k < a->n_pools; k++) {
        timeline_note(e, &a->pool[k]);
        /* Pool 0's decisions carry -1 (the single pool's, as ever); pool 1's -2. */
        event_queue_push(&e->queue, 0.0, SIM_EV_AUTOSCALE, -1 - k, 0);
    }
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
 * request finishes or is handed off: SIM_EV_INSTANCE_DRAINED). */
static bool drained(const Engine *e, int32_t i)
{
    return e->instances[i].in_system == 0 && !e->instances[i].busy;
}

static void apply(Engine *e, AutoscalePool *p, int32_t want)
{
    AutoscaleRun *a = e->autoscale;
    const int32_t *m = p->member;
    while (p->n_ready + p->n_booting < want) {
        int32_t j = p->n_member - 1;
        while (j >= 0 && a->slot[m[j]].state != SLOT_DRAINING) j--;
        if (j >= 0) { /* warm: back to serving, nothing to load */
            a->slot[m[j]].state = SLOT_READY;
            a->slot[m[j]].epoch++;
            p->n_draining--, p->n_ready++, p->revived++;
            continue;
        }
        for (j = 0; a->slot[m[j]].state != SLOT_OFF; j++) SS_ASSERT(j + 1 < p->n_member);
        AutoscaleSlot *s = &a->slot[m[j]];
        s->state = SLOT_BOOTING;
        s->up_since_s = e->now_s;
        s->boots++;
        s->epoch++;
        p->n_booting++, p->scale_ups++;
        event_queue_push(&e->queue, e->now_s + p->cold_start_s, SIM_EV_INSTANCE_READY, m[j], s->epoch);
    }
    while (p->n_ready + p->n_booting > want) {
        int32_t j = p->n_member - 1;
        while (j >= 0 && a->slot[m[j]].state != SLOT_BOOTING) j--;
        if (j >= 0) {
            slot_leave(e, m[j]);
            p->n_booting--, p->boots_cancelled++;
            continue;
        }
        for (j = p->n_member - 1; a->slot[m[j]].state != SLOT_READY; j--) SS_ASSERT(j > 0);
        a->slot[m[j]].state = SLOT_DRAINING;
        p->n_ready--, p->n_draining++, p->scale_downs++;
        if (drained(e, m[j])) slot_leave(e, m[j]), p->n_draining--;
    }
}

static void view_fill(const Engine *e, const AutoscalePool *p, AutoscaleView *v)
{
    const AutoscaleRun *a = e->autoscale;
    double kv = 0;
    *v = (AutoscaleView){ .now_s = e->now_s, .ready = p->n_ready, .booting = p->n_booting, .draining = p->n_draining };
    for (int32_t j = 0; j < p->n_member; j++) {
        if (a->slot[p->member[j]].state != SLOT_READY) continue;
        const Instance *in = &e->instances[p->member[j]];
        const SchedOps *ops = in->sched_ops;
        if (ops->queue_length) v->queued += ops->queue_length(in->sched);
        v->running += in->busy ? in->step.n_members + in->step.n_riders : 0;
        if (ops->kv_tokens_used) kv += (double)ops->kv_tokens_used(in->sched) / (double)in->kv_capacity_tokens;
    }
    v->kv_utilisation = kv / p->n_ready;
    double dt = e->now_s - p->last_decision_s;
    v->arrivals_per_s = dt > 0 ? (double)(e->attempts - p->attempts_at_last) / dt : 0;
}

static void autoscale_close(Engine *e)
{
    AutoscaleRun *a = e->autoscale;
    if (a->closed) return;
    acct_advance(e, e->now_s);
    for (int32_t i = 0; i < e->n_instances; i++)
        if (a->slot[i].state != SLOT_OFF) {
            AutoscaleSlot *s = &a->slot[i];
            s->time_up_s += e->now_s - s->up_since_s;
            if (s->state != SLOT_BOOTING) s->time_serving_s += e->now_s - s->serving_since_s;
        }
    a->end_s = e->now_s;
    a->closed = true;
}

void autoscale__on_tick(Engine *e, const SimEvent *ev)
{
    AutoscaleRun *a = e->autoscale;
    if (a->closed) return;
    AutoscalePool *p = &a->pool[-1 - ev->instance];
    acct_advance(e, e->now_s);
    AutoscaleView v;
    view_fill(e, p, &v);
    int32_t have = p->n_ready + p->n_booting, before_draining = p->n_draining;
    int32_t want = (int32_t)SS_MIN(SS_MAX((int64_t)p->ops->decide(p->priv, &v), p->c.min), p->c.max);
    if (p->ops->stabilise_down) {
        p->recent[p->recent_pos] = want;
        p->recent_pos = (p->recent_pos + 1) % p->recent_len;
        p->n_recent = SS_MIN(p->n_recent + 1, p->recent_len);
        int32_t largest = want;
        for (int32_t k = 0; k < p->n_recent; k++) largest = SS_MAX(largest, p->recent[k]);
        if (want < have) want = SS_MIN(have, largest);
    }
    p->decisions++;
    p->last_decision_s = e->now_s;
    p->attempts_at_last = e->attempts;
    if (want != have) {
        apply(e, p, want);
        live_rebuild(e);
    }
    if (want != have || p->n_draining != before_draining) timeline_note(e, p);
    if (e->have_pending || e->in_system > 0)
        event_queue_push(&e->queue, e->now_s + p->c.interval_s, SIM_EV_AUTOSCALE, ev->instance, 0);
    else
        autoscale_close(e);
}

bool autoscale__on_ready(Engine *e, const SimEvent *ev)
{
    AutoscaleRun *a = e->autoscale;
    AutoscaleSlot *s = &a->slot[ev->instance];
    if (a->closed || s->state != SLOT_BOOTING || s->epoch != ev->generation) return false;
    AutoscalePool *p = &a->pool[a->pool_of[ev->instance]];
    acct_advance(e, e->now_s);
    s->state = SLOT_READY;
    s->serving_since_s = e->now_s;
    if (s->first_ready_s < 0) s->first_ready_s = e->now_s;
    p->n_booting--, p->n_ready++;
    live_rebuild(e);
    timeline_note(e, p);
    return a->pool_of[ev->instance] == 0; /* the arrival router's set grew */
}

void autoscale__on_drained(Engine *e, const SimEvent *ev)
{
    AutoscaleRun *a = e->autoscale;
    AutoscaleSlot *s = &a->slot[ev->instance];
    if (a->closed || s->state != SLOT_DRAINING || s->epoch != ev->generation || !drained(e, ev->instance)) return;
    AutoscalePool *p = &a->pool[a->pool_of[ev->instance]];
    acct_advance(e, e->now_s);
    slot_leave(e, ev->instance);
    p->n_draining--;
    timeline_note(e, p);
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

static bool any_booting(const AutoscaleRun *a)
{
    for (int32_t k = 0; k < a->n_pools; k++)
        if (a->pool[k].n_booting > 0) return true;
    return false;
}

void autoscale__on_left(Engine *e, Instance *in)
{
    AutoscaleSlot *s = &e->autoscale->slot[in->index];
    if (s->state == SLOT_DRAINING && in->in_system == 0)
        event_queue_push(&e->queue, e->now_s, SIM_EV_INSTANCE_DRAINED, in->index, s->epoch);
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
        if (any_booting(a)) h->lag_failures++, a->lag_failures++;
    }
    autoscale__on_left(e, in);
}

static json_t *hours_json(const Engine *e)
{
    const AutoscaleRun *a = e->autoscale;
    json_t *arr = json_array();
    int32_t tp = e->instances[0].tensor_parallel;
    double hour_s = a->pool[0].c.hour_s;
    for (size_t k = 0; k < a->n_hours; k++) {
        const AutoscaleHour *h = &a->hour[k];
        double span_s = SS_MIN(hour_s, a->end_s - (double)k * hour_s);
        json_t *o = json_object();
        json_object_set_new(o, "hour", json_integer((json_int_t)k));
        json_object_set_new(o, "instances_mean", json_real(span_s > 0 ? h->instance_s / span_s : 0));
        json_object_set_new(o, "serving_mean", json_real(span_s > 0 ? h->ready_s / span_s : 0));
        json_object_set_new(o, "gpu_hours", json_real((a->uniform_price ? h->instance_s * tp : h->gpu_s) / 3600));
        json_object_set_new(o, "usd", json_real(a->uniform_price ? h->instance_s * a->usd_per_instance_s : h->usd));
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

/* One pool's own figures (with roles). */
static json_t *pool_json(const Engine *e, const AutoscalePool *p)
{
    const AutoscaleRun *a = e->autoscale;
    double up_s = 0, usd = 0, gpu_s = 0;
    for (int32_t j = 0; j < p->n_member; j++) {
        const Instance *in = &e->instances[p->member[j]];
        double t = a->slot[p->member[j]].time_up_s;
        up_s += t, usd += t * instance_usd_per_s(in), gpu_s += t * in->tensor_parallel;
    }
    json_t *o = json_object();
    json_object_set_new(o, "policy", json_string(p->ops->name));
    json_object_set_new(o, "options", opts_to_json(p->ops->opts, p->opts));
    json_object_set_new(o, "pool", json_integer(p->n_member));
    json_object_set_new(o, "cold_start_s", json_real(p->cold_start_s));
    json_object_set_new(o, "decisions", json_integer(p->decisions));
    json_object_set_new(o, "boots", json_integer(p->scale_ups));
    json_object_set_new(o, "revived_while_draining", json_integer(p->revived));
    json_object_set_new(o, "boots_cancelled", json_integer(p->boots_cancelled));
    json_object_set_new(o, "drains", json_integer(p->scale_downs));
    json_object_set_new(o, "peak_instances", json_integer(p->peak));
    json_object_set_new(o, "instance_hours", json_real(up_s / 3600));
    json_object_set_new(o, "gpu_hours", json_real(gpu_s / 3600));
    json_object_set_new(o, "usd", json_real(usd));
    json_object_set_new(o, "timeline", json_incref(p->timeline));
    return o;
}

json_t *autoscale__summary_json(const Engine *e)
{
    AutoscaleRun *a = e->autoscale;
    autoscale_close((Engine *)e); /* an abandoned or tick-less run: cost up to now */
    const AutoscalePool *p0 = &a->pool[0];
    const Instance *in0 = &e->instances[0];
    json_t *o = json_object(), *inst = json_array();
    double up_s = 0, usd = 0, gpu_s = 0;
    int64_t finished = 0, met = 0, decisions = 0, boots = 0, revived = 0, cancelled = 0, drains = 0;
    for (int32_t i = 0; i < e->n_instances; i++) {
        const AutoscaleSlot *s = &a->slot[i];
        const Instance *in = &e->instances[i];
        up_s += s->time_up_s;
        usd += s->time_up_s * instance_usd_per_s(in);
        gpu_s += s->time_up_s * in->tensor_parallel;
        json_t *j = json_object();
        json_object_set_new(j, "index", json_integer(i));
        if (a->n_pools > 1) json_object_set_new(j, "role", json_string(a->pool[a->pool_of[i]].role));
        json_object_set_new(j, "state_at_end", json_string(slot_state_names[s->state]));
        json_object_set_new(j, "boots", json_integer(s->boots));
        json_object_set_new(j, "first_ready_s", s->first_ready_s >= 0 ? json_real(s->first_ready_s) : json_null());
        json_object_set_new(j, "time_up_s", json_real(s->time_up_s));
        json_object_set_new(j, "time_serving_s", json_real(s->time_serving_s));
        json_object_set_new(j, "usd", json_real(s->time_up_s * (a->uniform_price ? a->usd_per_instance_s
                                                                                 : instance_usd_per_s(in))));
        json_array_append_new(inst, j);
    }
    for (int32_t k = 0; k < a->n_pools; k++) {
        const AutoscalePool *p = &a->pool[k];
        decisions += p->decisions, boots += p->scale_ups, revived += p->revived;
        cancelled += p->boots_cancelled, drains += p->scale_downs;
    }
    for (size_t k = 0; k < a->n_hours; k++) finished += a->hour[k].finished, met += a->hour[k].slo_met;
    SS_ASSERT(finished == e->finished); /* every finished attempt is in one hour */
    json_object_set_new(o, "policy", json_string(p0->ops->name));
    json_object_set_new(o, "options", opts_to_json(p0->ops->opts, p0->opts));
    json_object_set_new(o, "scale_down", json_string("drain: no new requests; it serves every request it holds "
                                                     "(queued ones too), then leaves; no migration"));
    json_object_set_new(o, "cold_start_s", json_real(p0->cold_start_s));
    json_object_set_new(o, "decisions", json_integer(decisions));
    json_object_set_new(o, "boots", json_integer(boots));
    json_object_set_new(o, "revived_while_draining", json_integer(revived));
    json_object_set_new(o, "boots_cancelled", json_integer(cancelled));
    json_object_set_new(o, "drains", json_integer(drains));
    json_object_set_new(o, "peak_instances", json_integer(a->peak));
    json_object_set_new(o, "end_s", json_real(a->end_s));
    json_object_set_new(o, "instance_hours", json_real(up_s / 3600));
    json_object_set_new(o, "gpu_hours", json_real((a->uniform_price ? up_s * in0->tensor_parallel : gpu_s) / 3600));
    json_object_set_new(o, "usd", json_real(a->uniform_price ? up_s * a->usd_per_instance_s : usd));
    json_object_set_new(o, "slo_attainment", finished ? json_real((double)met / (double)finished) : json_null());
    json_object_set_new(o, "failures", json_integer(a->failures));
    json_object_set_new(o, "failures_during_scale_up", json_integer(a->lag_failures));
    json_object_set_new(o, "per_hour", hours_json(e));
    json_object_set_new(o, "instances", inst);
    json_object_set_new(o, "timeline", json_incref(a->timeline));
    if (a->n_pools > 1) {
        json_t *roles = json_object();
        for (int32_t k = 0; k < a->n_pools; k++) json_object_set_new(roles, a->pool[k].role, pool_json(e, &a->pool[k]));
        json_object_set_new(o, "roles", roles);
    }
    return o;
}

void autoscale__free(Engine *e)
{
    AutoscaleRun *a = e->autoscale;
    if (!a) return;
    for (int32_t k = 0; k < 2; k++) {
        AutoscalePool *p = &a->pool[k];
        free(p->opts);
        free(p->priv);
        free(p->member);
        free(p->recent);
        json_decref(p->timeline);
    }
    free(a->pool_of);
    free(a->slot);
    free(a->hour);
    json_decref(a->timeline);
    free(a);
    e->autoscale = NULL;
}
