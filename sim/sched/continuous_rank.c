/* continuous_rank.c: the rank order of sjf/srpt runners without touching
 * every runner at every step, so that they can ride as vllm's do.
 *
 * A runner's key is max(predicted - generated, 0) + aging x arrival_s.
 * Without chunked prefill every runner is in every iteration, so
 * rank_u = predicted - generated + clock is constant while it runs, and its
 * key at clock C is max(rank_u - C, 0) + age_key: every key falls by one
 * per iteration until it reaches age_key, then stays.  The order among the
 * still-falling ("open") runners never changes, nor does it among the
 * clamped ones; only the two groups move against each other.  So:
 *
 * - A plan that lists runners (some of them do not ride, or memory is short
 *   and every rider is taken back) sorts them by the key at the plan's
 *   clock, the same (key, id) order the per-step re-sort gave: O(n log n)
 *   where the plan costs O(n) anyway.  A plan in which every runner rides
 *   needs no order at all: nobody is listed, nobody can be short of a block.
 * - srpt's victim, the worst runner it may still preempt, is the larger of
 *   the tops of two heaps (open by rank_u + age_key, clamped by age_key),
 *   with runners moved from one to the other when the clock reaches their
 *   rank_u (a third heap, by rank_u): O(log n) per change.
 * - Finished riders are reported where a listing step would have had them:
 *   on_step_done gives them and the listed decode-first members their
 *   merged rank in sched_key (Step.rank_by_sched_key).
 *
 * The open heap orders by the exact rank_u + age_key (long double: 64
 * mantissa bits on x86 hold both), which is the real-number order of the
 * keys at any clock; the per-step re-sort compared the keys rounded to
 * double.  The two differ only where two keys are within an ulp (~1e-11
 * tokens), where rounding may make them tie and the lower id win: a
 * tie-break. */
#include <stdlib.h>

#include "common.h"
#include "continuous.h"

enum { SLOT_VICTIM, SLOT_CLAMP };

typedef bool (*RankBefore)(const RankSlot *a, const RankSlot *b);

/* ---- an indexed binary heap: `before` puts a nearer the top ---- */

static void rh_set(RankHeap *h, int which, int32_t i, RankSlot e)
{
    h->items[i] = e;
    e.s->rank_slot[which] = i;
}

static void rh_up(RankHeap *h, int which, RankBefore before, int32_t i, RankSlot e)
{
    while (i > 0 && before(&e, &h->items[(i - 1) / 2])) {
        rh_set(h, which, i, h->items[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    rh_set(h, which, i, e);
}

static void rh_down(RankHeap *h, int which, RankBefore before, int32_t i, RankSlot e)
{
    for (;;) {
        int32_t k = 2 * i + 1;
        if (k >= h->n) break;
        if (k + 1 < h->n && before(&h->items[k + 1], &h->items[k])) k++;
        if (!before(&h->items[k], &e)) break;
        rh_set(h, which, i, h->items[k]);
        i = k;
    }
    rh_set(h, which, i, e);
}

static void rh_push(RankHeap *h, int which, RankBefore before, RankSlot e)
{
    SS_GROW(h->items, h->cap, h->n + 1);
    rh_up(h, which, before, h->n++, e);
}

static void rh_remove(RankHeap *h, int which, RankBefore before, ContSeq *s)
{
    int32_t i = s->rank_slot[which];
    SS_ASSERT(i >= 0 && i < h->n && h->items[i].s == s);
    RankSlot last = h->items[--h->n];
    if (last.s != s) {
        if (i > 0 && before(&last, &h->items[(i - 1) / 2])) rh_up(h, which, before, i, last);
        else rh_down(h, which, before, i, last);
    }
    s->rank_slot[which] = -1;
}

static void rh_free(RankHeap *h)
{
    free(h->items);
    *h = (RankHeap){ 0 };
}

/* Worst first: larger key, then larger id (the order the running set's tail had). */
static bool open_worse(const RankSlot *a, const RankSlot *b)
{
    long double wa = (long double)a->u + a->age_key, wb = (long double)b->u + b->age_key;
    return wa != wb ? wa > wb : a->id > b->id;
}

static bool clamped_worse(const RankSlot *a, const RankSlot *b)
{
    return a->age_key != b->age_key ? a->age_key > b->age_key : a->id > b->id;
}

static bool clamps_first(const RankSlot *a, const RankSlot *b)
{
    return a->u != b->u ? a->u < b->u : a->id < b->id;
}

static RankSlot slot_of(Request *r)
{
    ContSeq *s = cont_seq(r);
    return (RankSlot){ .u = s->rank_u, .age_key = s->age_key, .id = r->id, .s = s };
}

/* The key of a heap entry at `clock`, as cont_key computes it. */
static double slot_key_at(const RankSlot *e, int64_t clock)
{
    int64_t rem = e->u - clock;
    return (double)SS_MAX(rem, (int64_t)0) + e->age_key;
}

void cont_rank_free(Cont *c)
{
    rh_free(&c->victims_open);
    rh_free(&c->victims_clamped);
    rh_free(&c->to_clamp);
    free(c->rank_scratch);
    c->rank_scratch = NULL;
    c->cap_rank_scratch = 0;
}

/* The key cont_key would give at `clock` (the same expression, so the same double). */
static double cont_rank_key_at(const Cont *c, const Request *r, int64_t clock)
{
    int64_t rem = cont_seq(r)->rank_u - clock;
    return (double)SS_MAX(rem, (int64_t)0) + c->o.aging * r->arrival_s;
}

/* The clock of this plan; srpt victims whose keys reached age_key change heaps. */
void cont_rank_plan_start(Cont *c)
{
    c->plan_clock = engine_ride_clock(c->env.instance);
    c->run_sorted = false;
    while (c->to_clamp.n && c->to_clamp.items[0].u <= c->plan_clock) {
        RankSlot e = c->to_clamp.items[0];
        rh_remove(&c->to_clamp, SLOT_CLAMP, clamps_first, e.s);
        rh_remove(&c->victims_open, SLOT_VICTIM, open_worse, e.s);
        e.s->clamped = true;
        rh_push(&c->victims_clamped, SLOT_VICTIM, clamped_worse, e);
    }
}

static int by_key_then_id(const void *pa, const void *pb)
{
    const Request *a = *(Request *const *)pa, *b = *(Request *const *)pb;
    double ka = cont_seq(a)->key, kb = cont_seq(b)->key;
    if (ka != kb) return ka < kb ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* This plan lists runners: running[] in (key, id) order at the plan's clock. */
void cont_rank_sort(Cont *c)
{
    for (int32_t i = 0; i < c->n_running; i++) {
        const Request *r = c->running[i];
        /* Listed runners' counters are current: rank_u must agree with them. */
        SS_ASSERT(r->riding ||
                  cont_seq(r)->rank_u - c->plan_clock == (int64_t)r->predicted_output_tokens - r->generated_tokens);
        cont_seq(r)->key = cont_rank_key_at(c, r, c->plan_clock);
    }
    qsort(c->running, (size_t)c->n_running, sizeof(*c->running), by_key_then_id);
    for (int32_t i = 0; i < c->n_running; i++) cont_seq(c->running[i])->run_index = i;
    c->run_sorted = true;
}

/* r was admitted in this plan (its counters are current). */
void cont_rank_add(Cont *c, Request *r)
{
    ContSeq *s = cont_seq(r);
    s->rank_u = (int64_t)r->predicted_output_tokens - r->generated_tokens + c->plan_clock;
    s->age_key = c->o.aging * r->arrival_s;
    s->rank_slot[SLOT_VICTIM] = s->rank_slot[SLOT_CLAMP] = -1;
    s->clamped = s->rank_u <= c->plan_clock;
    if (!c->srpt || s->prio_preempts >= c->o.preempt_limit) return; /* never a victim */
    if (s->clamped) {
        rh_push(&c->victims_clamped, SLOT_VICTIM, clamped_worse, slot_of(r));
    } else {
        rh_push(&c->victims_open, SLOT_VICTIM, open_worse, slot_of(r));
        rh_push(&c->to_clamp, SLOT_CLAMP, clamps_first, slot_of(r));
    }
}

void cont_rank_remove(Cont *c, Request *r)
{
    ContSeq *s = cont_seq(r);
    if (s->rank_slot[SLOT_VICTIM] >= 0)
        rh_remove(s->clamped ? &c->victims_clamped : &c->victims_open, SLOT_VICTIM,
                  s->clamped ? clamped_worse : open_worse, s);
    if (s->rank_slot[SLOT_CLAMP] >= 0) rh_remove(&c->to_clamp, SLOT_CLAMP, clamps_first, s);
}

/* srpt: the worst runner it may still preempt, if its key exceeds the
 * head's by more than the margin; else -1.  (Scanning the sorted running
 * set from its tail, as before, stops at the first preemptible runner or
 * the first key within the margin: the same answer.) */
int32_t cont_rank_victim(const Cont *c, const Request *head)
{
    const RankSlot *worst = NULL;
    double worst_key = 0;
    if (c->victims_open.n) {
        worst = &c->victims_open.items[0];
        worst_key = slot_key_at(worst, c->plan_clock);
    }
    if (c->victims_clamped.n) {
        const RankSlot *e = &c->victims_clamped.items[0];
        double k = slot_key_at(e, c->plan_clock);
        if (!worst || k > worst_key || (k == worst_key && e->id > worst->id)) worst = e, worst_key = k;
    }
    if (!worst || worst_key <= cont_seq(head)->key + (double)c->o.margin) return -1;
    return worst->s->run_index;
}

static bool rank_before(const Request *a, const Request *b)
{
    double ka = cont_seq(a)->key, kb = cont_seq(b)->key;
    return ka != kb ? ka < kb : a->id < b->id;
}

/* Riders done in the span, and the listed decode-first members, get their
 * merged rank at the plan's clock in sched_key: the engine reports
 * finished requests in that order, as if every rider had been listed. */
void cont_rank_finished(Cont *c, const Step *step)
{
    int32_t nf = step->n_finished_riders, nd = step->n_decode_first;
    if (!nf) return;
    SS_GROW(c->rank_scratch, c->cap_rank_scratch, nf);
    Request **done = c->rank_scratch;
    for (int32_t i = 0; i < nf; i++) {
        Request *r = step->finished_riders[i];
        cont_seq(r)->key = cont_rank_key_at(c, r, c->plan_clock);
        int32_t j = i; /* few: insertion sort */
        for (; j > 0 && rank_before(r, done[j - 1]); j--) done[j] = done[j - 1];
        done[j] = r;
    }
    int64_t pos = 0;
    for (int32_t i = 0, d = 0; i < nd || d < nf;) {
        Request *m = i < nd ? step->members[i].req : NULL;
        if (d < nf && (!m || rank_before(done[d], m))) done[d++]->sched_key = pos++;
        else m->sched_key = pos++, i++;
    }
}
