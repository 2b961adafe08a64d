/* magnus_batch.c: Magnus's batcher: length classes, the memory rule,
 * serving-time estimates and the batch order (docs/MAGNUS.md).
 *
 * Batches are formed as requests arrive, as in the paper's adaptive batcher,
 * so that no decision touches the whole queue:
 *   - a request's length class (cell) is (generation bucket, prompt bucket):
 *     the bucket of a planned generation g is floor(log(g) / log(1 + w)),
 *     w = gen_bucket (w = 0: g itself), and of a prefill target L
 *     floor(log2 L) (w = 0: one bucket): a batch is padded by less than a
 *     factor 1 + w in generation and 2 in prompt;
 *   - it joins the youngest batch of its cell while the memory rule
 *     n x (L + G) <= capacity x (1 - margin) and the size cap allow, else it
 *     opens a batch there: memory-adaptive batch sizes;
 *   - group_gen off: the prompt bucket alone (one generation bucket);
 *   - grouping off: one cell, batches in arrival order.
 * Dispatch looks at each cell's oldest batch (HRRN or FCFS over the cells),
 * then lets the chosen batch absorb the oldest batches of nearby cells
 * (generation buckets within MAGNUS_ABSORB_GEN_BUCKETS, nearest first) when
 * the memory rule allows and the roofline says one batch serves both faster
 * than two: under light load, when cells hold a request or two, similar
 * lengths still share the weights' reads.
 * Work: O(1) per arrival, O(cells) per dispatch, cells <= buckets^2 (about
 * 35 x 11 at the default w), whatever the queue length. */
#include <math.h>
#include <stdlib.h>
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
    if (!m->o.group_gen) return 0; /* ablation: the prompt-length sort alone */
    int64_t g = magnus_planned_gen(r);
    if (m->o.gen_bucket <= 0) return g;
    return (int64_t)floor(log((double)g) / log1p(m->o.gen_bucket));
}

/* The shapes span.c runs for a static batch: one prefill iteration over n
 * padded prompts, then G - 1 decode iterations over all n slots. */
static void magnus__shapes(int64_t n, int64_t L, StepShape *first, StepShape *next)
{
    *first = (StepShape){ .prefill_seqs = (int32_t)n, .prefill_tokens = n * L,
                          .prefill_attn_pairs = (double)n * (double)L * (double)(L + 1) / 2.0 };
    *next = (StepShape){ .decode_seqs = (int32_t)n, .decode_context = n * L }; /* L cached before the fed token */
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
static double magnus__oracle_s(Magnus *m, const MagnusBatch *g)
{
    Backend *b = m->env.instance->backend;
    if (!strcmp(b->ops->name, "synthetic")) return g->roofline_s;
    StepShape first, next;
    magnus__shapes(g->n, g->padded_input, &first, &next);
    return backend_step_time(b, &first) + backend_decode_span_time(b, &next, g->padded_gen - 1);
}

double magnus_estimate_s(Magnus *m, const MagnusBatch *g)
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

/* ---- length classes ---- */

static int64_t magnus__prompt_bucket(const Magnus *m, const Request *r)
{
    if (m->o.group_gen && m->o.gen_bucket <= 0) return 0; /* "sort by generation alone" */
    int32_t L = request_prefill_target(r);
    return L > 0 ? 63 - __builtin_clzll((unsigned long long)L) : 0;
}

static uint32_t magnus__hash(int64_t gb, int64_t pb)
{
    uint64_t x = (uint64_t)gb * 0x9E3779B97F4A7C15ull ^ (uint64_t)pb * 0xC2B2AE3D27D4EB4Full;
    x ^= x >> 31;
    return (uint32_t)(x * 0x94D049BB133111EBull >> 32);
}

static void magnus__rehash(Magnus *m)
{
    int32_t cap = m->cap_slots ? m->cap_slots * 2 : 64;
    free(m->cell_slots);
    m->cell_slots = ss_calloc((size_t)cap, sizeof(*m->cell_slots));
    m->cap_slots = cap;
    for (int32_t c = 0; c < m->n_cells; c++) {
        uint32_t h = magnus__hash(m->cells[c].gen_bucket, m->cells[c].prompt_bucket);
        while (m->cell_slots[h & (uint32_t)(cap - 1)]) h++;
        m->cell_slots[h & (uint32_t)(cap - 1)] = c + 1;
    }
}

/* The cell of (gb, pb): its index, or -1 when absent and !create. */
static int32_t magnus__cell(Magnus *m, int64_t gb, int64_t pb, bool create)
{
    if (!m->cap_slots) {
        if (!create) return -1;
        magnus__rehash(m);
    }
    uint32_t mask = (uint32_t)(m->cap_slots - 1), h = magnus__hash(gb, pb);
    for (;; h++) {
        int32_t c = m->cell_slots[h & mask] - 1;
        if (c < 0) break;
        if (m->cells[c].gen_bucket == gb && m->cells[c].prompt_bucket == pb) return c;
    }
    if (!create) return -1;
    SS_GROW(m->cells, m->cap_cells, m->n_cells + 1);
    int32_t c = m->n_cells++;
    m->cells[c] = (MagnusCell){ .gen_bucket = gb, .prompt_bucket = pb, .live_index = -1 };
    if (2 * m->n_cells > m->cap_slots) magnus__rehash(m); /* re-places c too */
    else m->cell_slots[h & mask] = c + 1;
    return c;
}

static void magnus__live_add(Magnus *m, int32_t c)
{
    SS_GROW(m->live, m->cap_live, m->n_live + 1);
    m->cells[c].live_index = m->n_live;
    m->live[m->n_live++] = c;
}

static void magnus__live_remove(Magnus *m, int32_t c)
{
    int32_t i = m->cells[c].live_index, last = m->live[--m->n_live];
    m->live[i] = last;
    m->cells[last].live_index = i;
    m->cells[c].live_index = -1;
}

/* ---- batches ---- */

static double magnus__budget(const Magnus *m)
{
    return (double)m->env.kv_capacity_tokens * (1.0 - m->o.margin); /* tokens */
}

static int64_t magnus__size_cap(const Magnus *m)
{
    return m->o.adaptive ? (m->o.max_batch > 0 ? m->o.max_batch : INT64_MAX) : m->o.batch;
}

/* Would a batch of n requests padded to (L, G) obey the memory rule and the cap? */
static bool magnus__fits(const Magnus *m, int64_t n, int64_t L, int64_t G)
{
    return n <= magnus__size_cap(m) && (n == 1 || (double)n * (double)(L + G) <= magnus__budget(m));
}

static MagnusBatch *magnus__batch_new(Magnus *m, int32_t cell)
{
    MagnusBatch *b = m->free_batches;
    if (b) m->free_batches = b->next;
    else b = ss_calloc(1, sizeof(*b));
    Request **members = b->members;
    int32_t cap = b->cap;
    *b = (MagnusBatch){ .members = members, .cap = cap, .cell = cell, .dirty = true };
    return b;
}

static void magnus__batch_add(MagnusBatch *b, Request *r)
{
    SS_GROW(b->members, b->cap, b->n + 1);
    b->members[b->n++] = r;
    b->padded_input = SS_MAX(b->padded_input, (int64_t)request_prefill_target(r));
    b->padded_gen = SS_MAX(b->padded_gen, magnus_planned_gen(r));
    if (b->n == 1 || r->id < b->oldest_id) {
        b->oldest_id = r->id;
        b->oldest_arrival_s = r->arrival_s;
    }
    b->dirty = true;
}

void magnus_batch_release(Magnus *m, MagnusBatch *b)
{
    b->next = m->free_batches;
    m->free_batches = b;
}

void magnus_batcher_free(Magnus *m)
{
    for (int32_t c = 0; c < m->n_cells; c++) {
        for (MagnusBatch *b = m->cells[c].head, *next; b; b = next) {
            next = b->next;
            free(b->members);
            free(b);
        }
    }
    for (MagnusBatch *b = m->free_batches, *next; b; b = next) {
        next = b->next;
        free(b->members);
        free(b);
    }
    free(m->cells);
    free(m->cell_slots);
    free(m->live);
    free(m->near);
}

void magnus_wait_insert(Magnus *m, Request *r)
{
    int64_t gb = m->o.grouping ? magnus__bucket(m, r) : 0;
    int64_t pb = m->o.grouping ? magnus__prompt_bucket(m, r) : 0;
    int32_t c = magnus__cell(m, gb, pb, true);
    MagnusCell *cell = &m->cells[c];
    MagnusBatch *b = cell->tail;
    if (!b || !magnus__fits(m, b->n + 1, SS_MAX(b->padded_input, (int64_t)request_prefill_target(r)),
                            SS_MAX(b->padded_gen, magnus_planned_gen(r)))) {
        b = magnus__batch_new(m, c);
        if (cell->tail) cell->tail->next = b; else cell->head = b;
        cell->tail = b;
        if (cell->live_index < 0) magnus__live_add(m, c);
    }
    magnus__batch_add(b, r);
    m->n_wait++;
}

bool magnus_wait_remove(Magnus *m, const Request *r)
{
    /* Its class is where it was queued: buckets of its planned generation
     * and prompt, neither of which changes while it waits. */
    int64_t gb = m->o.grouping ? magnus__bucket(m, r) : 0;
    int64_t pb = m->o.grouping ? magnus__prompt_bucket(m, r) : 0;
    int32_t c = magnus__cell(m, gb, pb, false);
    if (c < 0) return false;
    MagnusCell *cell = &m->cells[c];
    for (MagnusBatch *b = cell->head, *prev = NULL; b; prev = b, b = b->next) {
        int32_t i = 0;
        while (i < b->n && b->members[i] != r) i++;
        if (i == b->n) continue;
        memmove(b->members + i, b->members + i + 1, (size_t)(b->n - i - 1) * sizeof(*b->members));
        b->n--;
        m->n_wait--;
        if (b->n == 0) { /* out of the cell's FIFO */
            if (prev) prev->next = b->next; else cell->head = b->next;
            if (cell->tail == b) cell->tail = prev;
            if (!cell->head) magnus__live_remove(m, c);
            magnus_batch_release(m, b);
            return true;
        }
        /* Its shape without r: recomputed from the members left. */
        b->padded_input = b->padded_gen = 0;
        for (int32_t k = 0; k < b->n; k++) {
            const Request *x = b->members[k];
            b->padded_input = SS_MAX(b->padded_input, (int64_t)request_prefill_target(x));
            b->padded_gen = SS_MAX(b->padded_gen, magnus_planned_gen(x));
            if (k == 0 || x->id < b->oldest_id) b->oldest_id = x->id, b->oldest_arrival_s = x->arrival_s;
        }
        b->dirty = true;
        return true;
    }
    return false;
}

/* Take the head batch of cell c out of the queue. */
static MagnusBatch *magnus__pop_head(Magnus *m, int32_t c)
{
    MagnusCell *cell = &m->cells[c];
    MagnusBatch *b = cell->head;
    cell->head = b->next;
    if (!cell->head) {
        cell->tail = NULL;
        magnus__live_remove(m, c);
    }
    b->next = NULL;
    m->n_wait -= b->n;
    return b;
}

static void magnus__refresh(Magnus *m, MagnusBatch *b)
{
    if (!b->dirty) return;
    b->roofline_s = magnus_roofline_s(&m->env.estimator, b->n, b->padded_input, b->padded_gen);
    b->est_s = magnus_estimate_s(m, b);
    b->dirty = false;
}

/* Generation buckets a batch may reach across when absorbing (a factor
 * (1 + w)^3, about 2 at w = 0.25): chosen against the whole-queue dynamic
 * programme this batcher replaced, whose throughput and TTFT it matched
 * within ~10 % from 5 req/s to 2x overload (docs/MAGNUS.md); reaching
 * further made batches 4x larger and padded. */
#define MAGNUS_ABSORB_GEN_BUCKETS 2

typedef struct MagnusNear {
    int64_t dist, gb, pb; /* buckets away; the cell's buckets break ties */
    int32_t cell;
} MagnusNear;

static int magnus__near_cmp(const void *pa, const void *pb)
{
    const MagnusNear *a = pa, *b = pb;
    if (a->dist != b->dist) return a->dist < b->dist ? -1 : 1;
    if (a->gb != b->gb) return a->gb < b->gb ? -1 : 1;
    return (a->pb > b->pb) - (a->pb < b->pb);
}

/* The chosen batch absorbs other cells' oldest batches, nearest length
 * classes first, while memory allows and the roofline says one batch serves
 * both faster than two (the grouping trade: padded slots against shared
 * weight reads).  Under overload the cells' batches are full and the memory
 * test, O(1), rejects them before any estimate is made. */
static void magnus__absorb(Magnus *m, MagnusBatch *b)
{
    if (!m->o.grouping || !m->n_live) return;
    const Roofline *rf = &m->env.estimator;
    int64_t gb = m->cells[b->cell].gen_bucket, pb = m->cells[b->cell].prompt_bucket;
    SS_GROW(m->near, m->cap_near, m->n_live);
    int32_t n_near = 0;
    for (int32_t i = 0; i < m->n_live; i++) {
        const MagnusCell *cell = &m->cells[m->live[i]];
        const MagnusBatch *o = cell->head;
        if (!magnus__fits(m, b->n + o->n, SS_MAX(b->padded_input, o->padded_input),
                          SS_MAX(b->padded_gen, o->padded_gen))) continue;
        int64_t dg = cell->gen_bucket - gb, dp = cell->prompt_bucket - pb;
        if (dg > MAGNUS_ABSORB_GEN_BUCKETS || dg < -MAGNUS_ABSORB_GEN_BUCKETS) continue;
        m->near[n_near++] = (MagnusNear){ .dist = (dg < 0 ? -dg : dg) + (dp < 0 ? -dp : dp),
                                          .gb = cell->gen_bucket, .pb = cell->prompt_bucket,
                                          .cell = m->live[i] };
    }
    qsort(m->near, (size_t)n_near, sizeof(*m->near), magnus__near_cmp);
    double alone_s = magnus_roofline_s(rf, b->n, b->padded_input, b->padded_gen);
    for (int32_t i = 0; i < n_near; i++) {
        MagnusBatch *o = m->cells[m->near[i].cell].head;
        int64_t n = b->n + o->n, L = SS_MAX(b->padded_input, o->padded_input);
        int64_t G = SS_MAX(b->padded_gen, o->padded_gen);
        if (!magnus__fits(m, n, L, G)) continue; /* b has grown since */
        double merged_s = magnus_roofline_s(rf, n, L, G);
        if (merged_s >= alone_s + magnus_roofline_s(rf, o->n, o->padded_input, o->padded_gen)) continue;
        magnus__pop_head(m, m->near[i].cell);
        for (int32_t k = 0; k < o->n; k++) magnus__batch_add(b, o->members[k]);
        magnus_batch_release(m, o);
        alone_s = merged_s;
    }
}

/* HRRN: the highest (W + S) / S, W the oldest member's wait, S the estimated
 * serving time; FCFS: the batch holding the oldest request.  Ties go to the
 * batch with the oldest request (arrival ids are unique).  Candidates are the
 * cells' oldest batches: a cell's younger batches waited less for the same
 * kind of work. */
MagnusBatch *magnus_pick(Magnus *m, double now_s)
{
    MagnusBatch *best = NULL;
    double best_ratio = -1;
    for (int32_t i = 0; i < m->n_live; i++) {
        MagnusBatch *g = m->cells[m->live[i]].head;
        if (m->o.order == MAGNUS_ORDER_FCFS) {
            if (!best || g->oldest_id < best->oldest_id) best = g;
            continue;
        }
        magnus__refresh(m, g);
        double s = fmax(g->est_s, 1e-9); /* seconds */
        double ratio = (now_s - g->oldest_arrival_s + s) / s;
        if (ratio > best_ratio || (ratio == best_ratio && g->oldest_id < best->oldest_id)) {
            best = g;
            best_ratio = ratio;
        }
    }
    SS_ASSERT(best);
    magnus__pop_head(m, best->cell);
    magnus__absorb(m, best);
    magnus__refresh(m, best);
    return best;
}
