/* magnus_batch.c: Magnus's batcher: the waiting set, the grouping rule, the
 * memory rule, serving-time estimates and the batch order (docs/MAGNUS.md).
 *
 * The waiting set is one array kept sorted, so every candidate batch is a
 * contiguous run of it:
 *   - grouping on: by (generation bucket, prefill target, arrival id), the
 *     bucket of a planned generation g being floor(log(g) / log(1 + w)),
 *     w = gen_bucket: neighbours have similar predicted generations (within
 *     a factor 1 + w) and, inside a bucket, similar prompts, so a batch is
 *     padded little in both dimensions.  w = 0 sorts by generation alone;
 *   - grouping off: by arrival id (FIFO chunks).
 * Candidate batches are re-formed from the sorted set at every dispatch
 * (O(queue) with O(1) roofline work per request), so a batch always reflects
 * the requests waiting now rather than the order they happened to arrive in. */
#include <math.h>
#include <string.h>

#include "common.h"
#include "engine/instance.h"
#include "magnus_internal.h"

int64_t magnus_planned_gen(const Request *r)
{
    /* sched_key holds the planned total output (tokens): the prediction (or
     * its p90 under overflow=reserve), raised after an overrun. */
    return SS_MAX((int64_t)1, r->sched_key - r->generated_tokens);
}

static int64_t magnus__bucket(const Magnus *m, const Request *r)
{
    int64_t g = magnus_planned_gen(r);
    if (m->o.gen_bucket <= 0) return g;
    return (int64_t)floor(log((double)g) / log1p(m->o.gen_bucket));
}

static int magnus__cmp(const Magnus *m, const Request *a, const Request *b)
{
    if (m->o.grouping) {
        int64_t ga = magnus__bucket(m, a), gb = magnus__bucket(m, b);
        if (ga != gb) return ga < gb ? -1 : 1;
        int32_t la = request_prefill_target(a), lb = request_prefill_target(b);
        if (la != lb) return la < lb ? -1 : 1;
    }
    return a->id < b->id ? -1 : a->id > b->id;
}

void magnus_wait_insert(Magnus *m, Request *r)
{
    int32_t lo = 0, hi = m->n_wait; /* first element ordered after r */
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (magnus__cmp(m, m->wait[mid], r) < 0) lo = mid + 1; else hi = mid;
    }
    SS_GROW(m->wait, m->cap_wait, m->n_wait + 1);
    memmove(&m->wait[lo + 1], &m->wait[lo], (size_t)(m->n_wait - lo) * sizeof(*m->wait));
    m->wait[lo] = r;
    m->n_wait++;
}

/* The shapes span.c runs for a static batch: one prefill iteration over n
 * padded prompts, then G - 1 decode iterations over all n slots. */
static void magnus__shapes(int64_t n, int64_t L, StepShape *first, StepShape *next)
{
    *first = (StepShape){ .prefill_seqs = (int32_t)n, .prefill_tokens = n * L,
                          .prefill_attn_pairs = (double)n * (double)L * (double)(L + 1) / 2.0 };
    *next = (StepShape){ .decode_seqs = (int32_t)n, .decode_context = n * (L + 1) };
}

double magnus_roofline_s(const Roofline *rf, int64_t n, int64_t L, int64_t G)
{
    StepShape first, next;
    magnus__shapes(n, L, &first, &next);
    return roofline_step_time(rf, &first) + roofline_decode_span_time(rf, &next, G - 1);
}

/* estimator=oracle: the ground-truth cost model itself (what a perfectly
 * profiled server knows) on the planned lengths: exact when the predictor is
 * exact.  A synthetic backend draws a random number per call, and asking it
 * would change the run's ground truth, so there the roofline stands in. */
static double magnus__oracle_s(Magnus *m, const MagnusGroup *g)
{
    Backend *b = m->env.instance->backend;
    if (!strcmp(b->ops->name, "synthetic")) return g->roofline_s;
    StepShape first, next;
    magnus__shapes(g->n, g->padded_input, &first, &next);
    return backend_step_time(b, &first) + backend_decode_span_time(b, &next, g->padded_gen - 1);
}

double magnus_estimate_s(Magnus *m, const MagnusGroup *g)
{
    switch (m->o.estimator) {
    case MAGNUS_EST_KNN: {
        double x[KNN_FEATURES] = { (double)g->n, (double)g->padded_input, (double)g->padded_gen };
        if (m->o.knn_target == MAGNUS_KNN_SECONDS) return knn_estimate(m->knn, x, g->roofline_s);
        return g->roofline_s * knn_estimate(m->knn, x, 1.0);
    }
    case MAGNUS_EST_ORACLE: return magnus__oracle_s(m, g);
    default: return g->roofline_s;
    }
}

static void magnus__push_group(Magnus *m, const MagnusGroup *g)
{
    SS_GROW(m->groups, m->cap_groups, m->n_groups + 1);
    m->groups[m->n_groups++] = *g;
}

static MagnusGroup magnus__group_of(Magnus *m, int32_t i)
{
    const Request *r = m->wait[i];
    MagnusGroup g = { .start = i, .n = 1, .padded_input = request_prefill_target(r),
                      .padded_gen = magnus_planned_gen(r), .oldest_arrival_s = r->arrival_s,
                      .oldest_id = r->id };
    return g;
}

/* Grouping off: batches in arrival order, each filled while the memory rule
 * and the size cap allow. */
static void magnus__partition_fifo(Magnus *m, double budget, int64_t size_cap)
{
    MagnusGroup g = magnus__group_of(m, 0);
    for (int32_t i = 1; i < m->n_wait; i++) {
        const Request *r = m->wait[i];
        int64_t n1 = g.n + 1;
        int64_t L1 = SS_MAX(g.padded_input, (int64_t)request_prefill_target(r));
        int64_t G1 = SS_MAX(g.padded_gen, magnus_planned_gen(r));
        if (n1 <= size_cap && (double)n1 * (double)(L1 + G1) <= budget) {
            g.n = (int32_t)n1;
            g.padded_input = L1;
            g.padded_gen = G1;
            continue;
        }
        g.roofline_s = magnus_roofline_s(&m->env.estimator, g.n, g.padded_input, g.padded_gen);
        magnus__push_group(m, &g);
        g = magnus__group_of(m, i);
    }
    g.roofline_s = magnus_roofline_s(&m->env.estimator, g.n, g.padded_input, g.padded_gen);
    magnus__push_group(m, &g);
}

/* Grouping on: the waiting set, sorted by planned length, is cut into
 * contiguous batches that minimise the total estimated serving time
 *   sum over batches of S(n, L, G)   (roofline seconds)
 * subject to the memory rule n x (L + G) <= KV capacity x (1 - margin) and
 * the size cap, by dynamic programming over the prefixes:
 *   best[i] = min_j best[j] + S(i - j, max prefill target, max planned gen in [j, i)).
 * This is the wasted-memory-access trade in time units: a request whose
 * predicted length is far from its neighbours' would lengthen every slot of
 * their batch (padding read for nothing) by more than it saves by sharing the
 * weights' reads, and starts a batch of its own; requests of similar length
 * share a batch as large as memory allows.  O(queue x batch size) roofline
 * evaluations (each O(1)). */
static void magnus__partition_dp(Magnus *m, double budget, int64_t size_cap)
{
    const Roofline *rf = &m->env.estimator;
    int32_t N = m->n_wait;
    SS_GROW(m->dp_best, m->cap_dp, (size_t)N + 1);
    SS_GROW(m->dp_cut, m->cap_dp_cut, (size_t)N + 1);
    m->dp_best[0] = 0;
    for (int32_t i = 1; i <= N; i++) {
        int64_t G = 0, L = 0; /* tokens: the candidate batch's padded lengths */
        double best = INFINITY;
        int32_t cut = i - 1;
        for (int32_t j = i - 1; j >= 0 && i - j <= size_cap; j--) {
            int64_t n = i - j;
            G = SS_MAX(G, magnus_planned_gen(m->wait[j]));
            L = SS_MAX(L, (int64_t)request_prefill_target(m->wait[j]));
            if (n > 1 && (double)n * (double)(L + G) > budget) break;
            double c = m->dp_best[j] + magnus_roofline_s(rf, n, L, G);
            if (c < best) { best = c; cut = j; }
        }
        m->dp_best[i] = best;
        m->dp_cut[i] = cut;
    }
    /* Walk the cuts back from the end; groups come out last first. */
    for (int32_t i = N; i > 0; i = m->dp_cut[i]) {
        MagnusGroup g = magnus__group_of(m, m->dp_cut[i]);
        for (int32_t k = m->dp_cut[i] + 1; k < i; k++) {
            const Request *r = m->wait[k];
            g.n++;
            g.padded_input = SS_MAX(g.padded_input, (int64_t)request_prefill_target(r));
            g.padded_gen = SS_MAX(g.padded_gen, magnus_planned_gen(r));
            if (r->id < g.oldest_id) {
                g.oldest_id = r->id;
                g.oldest_arrival_s = r->arrival_s;
            }
        }
        g.roofline_s = magnus_roofline_s(rf, g.n, g.padded_input, g.padded_gen);
        magnus__push_group(m, &g);
    }
}

void magnus_partition(Magnus *m)
{
    double budget = (double)m->env.kv_capacity_tokens * (1.0 - m->o.margin); /* tokens */
    int64_t size_cap = m->o.adaptive ? (m->o.max_batch > 0 ? m->o.max_batch : INT64_MAX)
                                     : m->o.batch;
    m->n_groups = 0;
    if (!m->n_wait) return;
    if (m->o.grouping) magnus__partition_dp(m, budget, size_cap);
    else magnus__partition_fifo(m, budget, size_cap);
}

/* HRRN: the highest (W + S) / S, W the oldest member's wait, S the estimated
 * serving time; FCFS: the batch holding the oldest request.  Ties go to the
 * batch with the oldest request (arrival ids are unique). */
int32_t magnus_pick(Magnus *m, double now_s, double *est_s)
{
    int32_t best = 0;
    double best_ratio = -1, best_s = 0;
    for (int32_t i = 0; i < m->n_groups; i++) {
        const MagnusGroup *g = &m->groups[i];
        if (m->o.order == MAGNUS_ORDER_FCFS) {
            if (g->oldest_id < m->groups[best].oldest_id) best = i;
            continue;
        }
        double s = fmax(magnus_estimate_s(m, g), 1e-9); /* seconds */
        double ratio = (now_s - g->oldest_arrival_s + s) / s;
        if (ratio > best_ratio ||
            (ratio == best_ratio && g->oldest_id < m->groups[best].oldest_id)) {
            best = i;
            best_ratio = ratio;
            best_s = s;
        }
    }
    *est_s = m->o.order == MAGNUS_ORDER_FCFS ? magnus_estimate_s(m, &m->groups[best]) : best_s;
    return best;
}

void magnus_take(Magnus *m, const MagnusGroup *g, Step *step)
{
    for (int32_t i = 0; i < g->n; i++) step_add(step, m->wait[g->start + i], 0);
    int32_t tail = m->n_wait - (g->start + g->n);
    memmove(&m->wait[g->start], &m->wait[g->start + g->n], (size_t)tail * sizeof(*m->wait));
    m->n_wait -= g->n;
}
