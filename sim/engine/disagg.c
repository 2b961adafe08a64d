/* disagg.c: disaggregated prefill and decode (--fleet prefill:P x GPU,decode:D x GPU).
 *
 * A request's prompt runs on a prefill instance with its output capped at the
 * first token; when that token is out the prefill instance is done with it
 * (its scheduler frees the KV there at once, as for any finished request: the
 * copy is modelled as staged out of its blocks, as connectors that keep it in
 * host memory do), a decode instance is picked by the decode router, and the
 * request joins that instance's waiting queue with its prompt marked remote
 * (Request.kv_transfer_slot).  Its scheduler admits it as it would any
 * waiting request, by memory and max_num_seqs, taking blocks for the whole
 * prompt (continuous.c admit_remote, as vLLM's decode side allocates before
 * it reads the remote KV); then engine_kv_pull starts the transfer and a
 * SIM_EV_KV_TRANSFER event fires when the KV has landed, after which the
 * request decodes from the next step on, never recomputing its prompt.  So
 * decode KV admission accounts for every incoming transfer: a transfer never
 * lands where there is no room, and a full decode instance makes the prefill
 * results wait (run.disaggregation.decode_kv_wait_s_*).
 *
 * The first token reaches the client when the KV lands on the decode instance
 * (first_token_s = landing), so TTFT includes the decode-side wait and the
 * transfer.  One request is one record, written where it ends (decode, or
 * prefill for one-token outputs, trace failures and rejections).
 *
 * The link: bytes = prompt tokens x kv_bytes_per_token over the ranks that send
 * in parallel (each tensor-parallel rank its shard, min(tp, KV heads) distinct
 * shards, the smaller tp of the two sides).  overlap=none (a pull, vLLM's NIXL
 * connector): the KV is read once the decode side has admitted it, landing at
 * admission + latency + bytes / bandwidth.  overlap=layer (a push, layer by
 * layer during the prefill, into a receive buffer on the decode node): each
 * layer leaves as soon as its prefill is done, so the KV is across at the
 * first token + latency + max(one layer's share, bytes/bw - (L-1)/L x P), P
 * the prefill iteration's duration (a pipeline of L layers), and lands at
 * that time or at admission, whichever is later.
 *
 * Contention (contention=fifo, the default): each instance's link (its GPUs'
 * NICs or NVLink ports, one per tensor-parallel rank) carries one transfer at
 * a time, in the order transfers ask for it; a transfer holds the sender's
 * and the receiver's link for its wire time, starting when both are free.
 * FIFO rather than fair sharing: the same throughput at the bottleneck (what
 * decides whether a slow link keeps up), a different spread of waits.  A
 * layer-wise push asks for the links at its hand-off for a stream that began
 * with the prefill's first layer: one that asked during the prefill is
 * ordered after it (an approximation).  contention=none: every transfer
 * has the whole link. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "engine_internal.h"
#include "rng.h"
#include "sched/continuous.h"

typedef struct LinkOpts {
    double gbps;        /* Gb/s per GPU; 0: the link's default */
    double latency_us;  /* microseconds per transfer; < 0: the link's default */
    int overlap;        /* 0 none, 1 layer */
    int contention;     /* 0 fifo, 1 none */
} LinkOpts;

static const OptSpec link_opts[] = {
    { "gbps", OPT_DOUBLE, offsetof(LinkOpts, gbps), "0",
      "bandwidth per GPU, Gb/s (0: nvlink = the GPU spec's interconnect_bandwidth, rdma = 400)", NULL, 0, 1e6 },
    { "latency_us", OPT_DOUBLE, offsetof(LinkOpts, latency_us), "-1",
      "latency per transfer, us (< 0: nvlink = the GPU spec's interconnect_latency_s, rdma = 10)", NULL, -1, 1e9 },
    { "overlap", OPT_CHOICE, offsetof(LinkOpts, overlap), "none",
      "none: the KV leaves after the prefill; layer: layer by layer during it", "none|layer", OPT_NO_BOUNDS },
    { "contention", OPT_CHOICE, offsetof(LinkOpts, contention), "fifo",
      "fifo: an instance's link carries one transfer at a time; none: each has the whole link", "fifo|none",
      OPT_NO_BOUNDS },
    { NULL, 0, 0, NULL, NULL, NULL, 0, 0 },
};

/* A request from its hand-off to its landing. */
typedef struct Transfer {
    Request *r;
    double handoff_s;     /* its first token on the prefill instance */
    double wire_s;        /* bytes over the ranks' links, seconds (no latency) */
    double pushed_s;      /* overlap=layer: when the whole KV is on the decode node */
    int32_t from;         /* the prefill instance */
    uint32_t epoch;       /* bumped when the slot is freed: a cancelled transfer's event is stale */
} Transfer;

struct DisaggRun {
    int32_t *prefill, n_prefill;     /* instance indices by role */
    int32_t *decode, n_decode;
    int32_t *decode_live, n_decode_live; /* the decode router's set: the ready ones (--autoscale) */
    const char *link_name;           /* "nvlink" | "rdma" */
    double link_bytes_per_s, link_latency_s;
    bool overlap_layers, contention;
    double *link_free_s;             /* per instance: when its link is next free (contention) */
    void *router_priv;               /* the decode role's own router state */
    gsl_rng *router_rng;
    RouterInstance *view;
    Transfer *slot;                  /* hand-offs not landed; Request.kv_transfer_slot = index + 1 */
    int32_t n_slots, *free_slots, n_free;
    size_t slot_cap, free_cap;
    int64_t transfers, waited;       /* landed; of them admitted after their hand-off instant */
    double kv_bytes, transfer_s_sum, transfer_s_max, wait_s_sum, wait_s_max, link_wait_s_sum, link_wait_s_max;
};

static int link_setup(DisaggRun *d, const Engine *e)
{
    char name[32];
    const char *kvs = NULL;
    int32_t gpus = 0;
    for (int32_t i = 0; i < e->n_instances; i++) gpus += e->instances[i].tensor_parallel;
    /* One 8-GPU node holds the whole fleet: NVLink; more: RDMA between nodes. */
    if (!e->cfg.kv_link[0]) snprintf(name, sizeof(name), "%s", gpus <= 8 ? "nvlink" : "rdma");
    else if (opts_split_spec(e->cfg.kv_link, name, sizeof(name), &kvs)) return -EINVAL;
    LinkOpts o;
    int r = opts_init(link_opts, kvs, &o, "--kv-link");
    if (r) return r;
    const GpuSpec *g = &e->instances[d->prefill[0]].gpu;
    if (!strcmp(name, "nvlink")) {
        d->link_name = "nvlink";
        d->link_bytes_per_s = o.gbps > 0 ? o.gbps * 1e9 / 8 : g->interconnect_bandwidth;
        d->link_latency_s = o.latency_us >= 0 ? o.latency_us * 1e-6 : g->interconnect_latency_s;
    } else if (!strcmp(name, "rdma")) {
        /* One 400 Gb/s NIC per GPU (ConnectX-7 NDR, as in DGX H100); ~10 us to
         * set up an RDMA read of a request's blocks (rough). */
        d->link_name = "rdma";
        d->link_bytes_per_s = (o.gbps > 0 ? o.gbps : 400.0) * 1e9 / 8;
        d->link_latency_s = o.latency_us >= 0 ? o.latency_us * 1e-6 : 10e-6;
    } else {
        return ss_error_set(EINVAL, "--kv-link '%s': unknown link '%s' (nvlink or rdma)", e->cfg.kv_link, name);
    }
    if (!(d->link_bytes_per_s > 0))
        return ss_error_set(EINVAL, "--kv-link: %s has no bandwidth (give gbps=)", g->name);
    d->overlap_layers = o.overlap == 1;
    d->contention = o.contention == 0;
    return 0;
}

int disagg__setup(Engine *e, const FleetSpec *f)
{
    if (!f->disaggregated) return 0;
    if (e->router->central)
        return ss_error_set(EINVAL, "--router %s with a disaggregated --fleet is not supported "
                            "(routers that pick on arrival only)", e->router->name);
    if (e->executor.run_iteration) return ss_error_set(EINVAL, "replay drives colocated instances only");
    DisaggRun *d = ss_calloc(1, sizeof(*d));
    e->disagg = d;
    d->prefill = ss_calloc((size_t)e->n_instances, sizeof(int32_t));
    d->decode = ss_calloc((size_t)e->n_instances, sizeof(int32_t));
    int32_t index = 0;
    for (int32_t g = 0; g < f->n_groups; g++)
        for (int32_t k = 0; k < f->groups[g].count; k++, index++) {
            Instance *in = &e->instances[index];
            in->role = f->groups[g].role;
            if (in->role == FLEET_ROLE_PREFILL) d->prefill[d->n_prefill++] = index;
            else d->decode[d->n_decode++] = index;
            /* The decode side must admit a prefilled request as a decoder,
             * which continuous policies do; static batches recompute prompts. */
            if (in->sched_ops->on_arrival != cont_on_arrival)
                return ss_error_set(EINVAL, "--sched %s with a disaggregated --fleet: use a continuous "
                                    "policy (vllm, chunked-prefill, sjf, srpt, ...)", in->sched_ops->name);
        }
    int r = link_setup(d, e);
    if (r) return r;
    /* The arrival router sees the prefill instances only. */
    memcpy(e->live, d->prefill, (size_t)d->n_prefill * sizeof(int32_t));
    e->n_live = d->n_prefill;
    d->router_priv = ss_calloc(1, e->router->priv_size + 1);
    d->router_rng = ss_rng_stream(e->cfg.seed, "router-decode", 0);
    d->view = ss_calloc((size_t)d->n_decode, sizeof(RouterInstance));
    d->decode_live = ss_calloc((size_t)d->n_decode, sizeof(int32_t));
    memcpy(d->decode_live, d->decode, (size_t)d->n_decode * sizeof(int32_t));
    d->n_decode_live = d->n_decode;
    d->link_free_s = ss_calloc((size_t)e->n_instances, sizeof(double));
    return e->router->init(d->router_priv, e->router_opts, d->n_decode, d->router_rng);
}

void disagg__on_arrival(Engine *e, Request *q)
{
    (void)e;
    /* One-token outputs and trace failures end on the prefill instance. */
    if (q->output_tokens > 1) {
        q->disagg_output_tokens = q->output_tokens;
        q->output_tokens = 1;
    }
}

/* Seconds the prompt's KV takes on the wire between them (no latency, no
 * contention); *bytes_out its bytes. */
static double wire_s_of(const DisaggRun *d, const Instance *from, const Instance *to, int32_t prompt_tokens,
                        double *bytes_out)
{
    int32_t tp = SS_MIN(from->tensor_parallel, to->tensor_parallel);
    int32_t shards = SS_MAX(1, SS_MIN(tp, from->model.kv_heads));
    double bytes = (double)prompt_tokens * from->model.kv_bytes_per_token;
    *bytes_out = bytes;
    return bytes / shards / d->link_bytes_per_s;
}

/* A transfer of wire_s ready at ready_s, ending no sooner than
 * not_before_end_s: with contention both ends' links are held FIFO from
 * when both are free.  Returns when its last byte is across (no latency). */
static double link_claim(DisaggRun *d, int32_t from, int32_t to, double ready_s, double wire_s, double not_before_end_s)
{
    double start = ready_s;
    if (d->contention) {
        start = SS_MAX(ready_s, SS_MAX(d->link_free_s[from], d->link_free_s[to]));
        double wait = start - ready_s;
        d->link_wait_s_sum += wait;
        d->link_wait_s_max = SS_MAX(d->link_wait_s_max, wait);
    }
    double end = SS_MAX(start + wire_s, not_before_end_s);
    if (d->contention) d->link_free_s[from] = d->link_free_s[to] = end;
    return end;
}

static int32_t pick_decode(Engine *e, DisaggRun *d, const Request *q)
{
    if (d->n_decode_live == 1) return d->decode_live[0];
    for (int32_t k = 0; k < d->n_decode_live; k++) {
        const Instance *in = &e->instances[d->decode_live[k]];
        d->view[k] = (RouterInstance){ in->in_system, in->outstanding_tokens, in->tokens_per_s, 0 };
    }
    int32_t k = e->router->pick(d->router_priv, d->view, d->n_decode_live, q);
    SS_ASSERT(k >= 0 && k < d->n_decode_live);
    return d->decode_live[k];
}

void disagg__decode_live_changed(Engine *e)
{
    DisaggRun *d = e->disagg;
    d->n_decode_live = 0;
    for (int32_t k = 0; k < d->n_decode; k++)
        if (autoscale__routable(e, d->decode[k])) d->decode_live[d->n_decode_live++] = d->decode[k];
    SS_ASSERT(d->n_decode_live >= 1); /* min >= 1 per pool */
}

static void slot_free(DisaggRun *d, Request *r)
{
    int32_t k = r->kv_transfer_slot - 1;
    SS_ASSERT(k >= 0 && k < d->n_slots && d->slot[k].r == r);
    d->slot[k].r = NULL;
    d->slot[k].epoch++;
    SS_GROW(d->free_slots, d->free_cap, (size_t)d->n_free + 1);
    d->free_slots[d->n_free++] = k;
    r->kv_transfer_slot = 0;
}

bool disagg__hand_off(Engine *e, Instance *in, Request *r)
{
    DisaggRun *d = e->disagg;
    if (!d) return false;
    /* Refused by the decode instance before its KV moved (a prompt its KV
     * cache cannot hold): it ends there, its slot with it. */
    if (r->kv_transfer_slot) {
        slot_free(d, r);
        return false;
    }
    if (!r->disagg_output_tokens || r->state != REQ_DONE) return false;
    SS_ASSERT(in->role == FLEET_ROLE_PREFILL && r->generated_tokens == 1 && r->prefilled_tokens == r->input_tokens);
    in->outstanding_tokens -= (double)r->input_tokens + r->predicted_output_tokens;
    in->in_system--;
    in->finished++;
    if (e->autoscale) autoscale__on_left(e, in); /* a draining prefill instance may now leave */
    r->output_tokens = r->disagg_output_tokens;
    r->disagg_output_tokens = 0;
    r->finish_s = -1;
    r->kv_blocks = 0;
    Instance *to = &e->instances[pick_decode(e, d, r)];
    /* Routed now: the decode router sees transfers on their way in. */
    to->in_system++;
    to->outstanding_tokens += (double)r->input_tokens + r->predicted_output_tokens;
    int32_t k;
    if (d->n_free) {
        k = d->free_slots[--d->n_free];
    } else {
        SS_GROW(d->slot, d->slot_cap, (size_t)d->n_slots + 1);
        k = d->n_slots++;
    }
    Transfer *t = &d->slot[k];
    double bytes;
    t->r = r;
    t->from = in->index;
    t->handoff_s = r->first_token_s;
    /* Not the client's yet: it sees the first token when the KV lands. */
    r->first_token_s = r->last_token_s = -1;
    t->wire_s = wire_s_of(d, in, to, r->input_tokens, &bytes);
    t->pushed_s = NAN;
    if (d->overlap_layers) {
        /* A pipeline of L layers over the prefill iteration P: the stream
         * starts when layer 1 is done and its last layer leaves after the
         * prefill ends, so wire - (L - 1)/L x P shows after it, at least
         * one layer's share. */
        double L = in->model.layers, P = in->first_iter_s;
        double stream_s = t->handoff_s - P + P / L;
        t->pushed_s = link_claim(d, t->from, to->index, stream_s, t->wire_s, t->handoff_s + t->wire_s / L) +
                      d->link_latency_s;
    }
    d->kv_bytes += bytes;
    r->kv_transfer_slot = k + 1;
    r->instance = to->index;
    engine__deliver(e, to, r); /* may end it at once (too long there): see the top */
    return true;
}

void engine_kv_pull(Instance *to, Request *r, double now_s)
{
    Engine *e = to->engine;
    DisaggRun *d = e->disagg;
    int32_t k = r->kv_transfer_slot - 1;
    SS_ASSERT(d && k >= 0 && k < d->n_slots && d->slot[k].r == r);
    const Transfer *t = &d->slot[k];
    /* Static prefill batches hand off after their members' first tokens:
     * nothing lands before now. */
    double land_s;
    if (d->overlap_layers) land_s = SS_MAX(now_s, t->pushed_s);
    else land_s = link_claim(d, t->from, to->index, now_s, t->wire_s, 0) + d->link_latency_s;
    double wait_s = SS_MAX(0.0, now_s - t->handoff_s);
    d->waited += wait_s > 0;
    d->wait_s_sum += wait_s;
    d->wait_s_max = SS_MAX(d->wait_s_max, wait_s);
    /* The link's share: latency + what shows of the wire (after the first
     * token when layer-wise; from the decode admission when a pull). */
    double link_s = d->overlap_layers ? t->pushed_s - t->handoff_s : land_s - now_s;
    d->transfer_s_sum += link_s;
    d->transfer_s_max = SS_MAX(d->transfer_s_max, link_s);
    d->transfers++;
    event_queue_push(&e->queue, land_s, SIM_EV_KV_TRANSFER, to->index, (uint64_t)t->epoch << 32 | (uint32_t)k);
}

void disagg__on_transfer(Engine *e, const SimEvent *ev)
{
    DisaggRun *d = e->disagg;
    uint32_t k = (uint32_t)ev->generation, epoch = (uint32_t)(ev->generation >> 32);
    SS_ASSERT(d && k < (uint32_t)d->n_slots);
    if (d->slot[k].epoch != epoch) return; /* its client gave up while the KV was on the way */
    Request *r = d->slot[k].r;
    SS_ASSERT(r);
    slot_free(d, r);
    /* The client sees the first token when its KV has landed (TTFT includes
     * the transfer); the second token's gap starts there. */
    r->first_token_s = r->last_token_s = e->now_s;
    Instance *in = &e->instances[ev->instance];
    in->sched_ops->kv_landed(in->sched, r, e->now_s);
    engine__wake(e, in);
}

json_t *disagg__summary_json(const Engine *e)
{
    const DisaggRun *d = e->disagg;
    json_t *o = json_object();
    json_object_set_new(o, "prefill_instances", json_integer(d->n_prefill));
    json_object_set_new(o, "decode_instances", json_integer(d->n_decode));
    json_object_set_new(o, "kv_link", json_string(d->link_name));
    json_object_set_new(o, "link_bytes_per_s", json_real(d->link_bytes_per_s));
    json_object_set_new(o, "link_latency_s", json_real(d->link_latency_s));
    json_object_set_new(o, "overlap", json_string(d->overlap_layers ? "layer" : "none"));
    json_object_set_new(o, "contention", json_string(d->contention ? "fifo" : "none"));
    /* A transfer's wait for busy links (contention=fifo), in its link time. */
    json_object_set_new(o, "link_wait_s_mean", json_real(d->transfers ? d->link_wait_s_sum / (double)d->transfers : 0));
    json_object_set_new(o, "link_wait_s_max", json_real(d->link_wait_s_max));
    json_object_set_new(o, "transfers", json_integer(d->transfers));
    json_object_set_new(o, "kv_bytes_transferred", json_real(d->kv_bytes));
    json_object_set_new(o, "transfer_s_mean", json_real(d->transfers ? d->transfer_s_sum / (double)d->transfers : 0));
    json_object_set_new(o, "transfer_s_max", json_real(d->transfer_s_max));
    json_object_set_new(o, "transfer_s_total", json_real(d->transfer_s_sum));
    /* From the first token on the prefill instance to the decode side's
     * admission (blocks for the prompt): time the KV waited for room. */
    json_object_set_new(o, "transfers_waited_for_decode_kv", json_integer(d->waited));
    json_object_set_new(o, "decode_kv_wait_s_mean", json_real(d->transfers ? d->wait_s_sum / (double)d->transfers : 0));
    json_object_set_new(o, "decode_kv_wait_s_max", json_real(d->wait_s_max));
    return o;
}

void disagg__free(Engine *e)
{
    DisaggRun *d = e->disagg;
    if (!d) return;
    free(d->prefill);
    free(d->decode);
    free(d->router_priv);
    if (d->router_rng) gsl_rng_free(d->router_rng);
    free(d->view);
    free(d->decode_live);
    free(d->link_free_s);
    free(d->slot);
    free(d->free_slots);
    free(d);
    e->disagg = NULL;
}
