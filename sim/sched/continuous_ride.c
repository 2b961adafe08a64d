/* continuous_ride.c: the scheduler's half of riders (see sim/engine/ride.h).
 *
 * A runner that has emitted a token and keeps decoding rides: the engine
 * credits its tokens lazily, and this file counts its KV growth in
 * aggregate.  Between spans a rider holds blocks_for(prefilled) blocks, its
 * table's ids plus a share of the cache's deferred count; ids catch up only
 * when it stops riding.  Riding changes no decision: a plan takes the fast
 * path only when every runner's next block fits, in which case the
 * iteration-by-iteration scheduler would not have preempted anyone and the
 * order in which runners took blocks did not matter; otherwise every rider
 * is taken back first and the step is planned member by member, as without
 * riders. */
#include <stdlib.h>

#include "common.h"
#include "continuous.h"

void cont_ride_init(Cont *c, bool allowed)
{
    /* Length-aware admission sums the runners' predicted peaks at every
     * step: it reads every runner, so it gains nothing from riding.
     * Priority policies ride with their rank kept lazily (continuous_rank.c),
     * which needs every runner in every iteration: not with chunked prefill.
     * Residue counts cost O(block_size) a query: fine up to 64-token blocks. */
    c->ride = allowed && !(c->priority && c->chunked) && !c->o.length_aware && c->kv.block_size <= 64;
    c->rank_lazy = c->ride && c->priority;
    if (c->ride) c->ride_at_least = ss_calloc((size_t)c->kv.block_size + 1, sizeof(*c->ride_at_least));
}

void cont_ride_free(Cont *c)
{
    free(c->ride_at_least);
    c->ride_at_least = NULL;
}

static inline int64_t floor_div(const KvCache *kv, int64_t a)
{
    if (kv->block_shift >= 0) return a >> kv->block_shift; /* arithmetic shift: floor */
    int64_t q = a / kv->block_size;
    return (a % kv->block_size != 0 && a < 0) ? q - 1 : q;
}

/* Blocks the riders hold when the clock reads `clock`:
 * sum over riders of ceil((offset + clock) / bs).  With offset = bs q + r
 * and clock = bs g + h, each term is q + g + [r + h >= 1] + [r + h >= bs + 1]:
 * O(1) with the counts of residues r >= k.  Asked a few times per plan and
 * ~12 times per bisection in plan_lookahead. */
int64_t cont_ride_blocks_at(const Cont *c, int64_t clock)
{
    if (!c->n_riders) return 0;
    int64_t bs = c->kv.block_size, g = floor_div(&c->kv, clock), h = clock - g * bs;
    int64_t n = c->n_riders;
    int64_t sum = c->ride_q_sum + n * g + (h >= 1 ? n : c->ride_at_least[1]);
    if (h >= 2) sum += c->ride_at_least[bs + 1 - h];
    return sum;
}

void cont_ride_count(Cont *c, int64_t offset, int sign)
{
    int64_t q = floor_div(&c->kv, offset), r = offset - q * c->kv.block_size;
    c->ride_q_sum += sign * q;
    for (int64_t k = 0; k <= r; k++) c->ride_at_least[k] += sign;
    c->n_riders += sign;
}

void cont_ride_join(Cont *c, Request *r)
{
    ContSeq *s = cont_seq(r);
    if (s->kv.n_blocks != kv_blocks_for(&c->kv, r->prefilled_tokens)) return;
    if (!engine_ride_join(c->env.instance, r)) {
        c->ride = false; /* this run lists every member (stepwise, replay) */
        return;
    }
    s->ride_offset = (int64_t)r->prefilled_tokens - engine_ride_clock(c->env.instance);
    cont_ride_count(c, s->ride_offset, +1);
    c->ride_blocks_now += s->kv.n_blocks;
}

/* r stops riding (its counters are credited) and gets the ids of the
 * `tokens` it holds; tokens is prefilled now, or one more for a rider that
 * finished (it held the block of the token it was about to write). */
static void ride_out(Cont *c, Request *r, int64_t tokens)
{
    ContSeq *s = cont_seq(r);
    cont_ride_count(c, s->ride_offset, -1);
    c->ride_blocks_now -= kv_blocks_for(&c->kv, tokens);
    kv_seq_materialize(&c->kv, &s->kv, tokens);
    r->kv_blocks = s->kv.n_blocks;
}

void cont_ride_take_back_all(Cont *c)
{
    c->ride_derides++;
    for (int32_t i = 0; i < c->n_running && c->n_riders; i++) {
        Request *r = c->running[i];
        if (!r->riding) continue;
        engine_ride_leave(c->env.instance, r);
        ride_out(c, r, r->prefilled_tokens);
    }
    SS_ASSERT(c->n_riders == 0);
}

/* It keeps the block planned for its next token, as a listed runner that
 * grew in run_phase would have (a swap-out moves that many blocks). */
void cont_ride_take_back_planned(Cont *c, Request *r)
{
    engine_ride_leave(c->env.instance, r);
    ContSeq *s = cont_seq(r);
    int64_t tokens = r->prefilled_tokens;
    cont_ride_count(c, s->ride_offset, -1);
    c->ride_blocks_now -= kv_blocks_for(&c->kv, tokens);
    c->ride_blocks_next -= kv_blocks_for(&c->kv, tokens + 1);
    kv_seq_materialize(&c->kv, &s->kv, tokens + 1);
    r->kv_blocks = s->kv.n_blocks;
}

/* Plan: blocks for every rider's next token, or false when they (with what
 * the other runners may need) do not all fit. */
bool cont_ride_plan(Cont *c, int64_t others_need)
{
    int64_t clock = engine_ride_clock(c->env.instance);
    c->ride_blocks_next = cont_ride_blocks_at(c, clock + 1);
    int64_t need = c->ride_blocks_next - c->ride_blocks_now;
    if (need + others_need > c->kv.n_free) return false;
    SS_ASSERT(kv_defer(&c->kv, (int32_t)need, false) == 0);
    return true;
}

/* After a span of `iters` iterations: riders that finished leave with the
 * blocks they had for the span's first token (as a listed member would: it
 * grows only while it runs); the others grow by the span's tokens out of
 * the reservation. */
void cont_ride_step_done(Cont *c, const Step *step)
{
    int64_t clock = engine_ride_clock(c->env.instance), start = clock - step->iters_done;
    for (int32_t i = 0; i < step->n_finished_riders; i++) {
        /* It leaves now: its blocks never need ids, they go back on detach. */
        ContSeq *s = cont_seq(step->finished_riders[i]);
        cont_ride_count(c, s->ride_offset, -1);
        int32_t held = kv_blocks_for(&c->kv, s->ride_offset + start + 1);
        c->ride_blocks_next -= held;
        s->deferred_blocks = held - s->kv.n_blocks;
    }
    int64_t now = cont_ride_blocks_at(c, clock);
    SS_ASSERT(kv_defer(&c->kv, (int32_t)(now - c->ride_blocks_next), true) == 0);
    c->ride_blocks_now = now;
}
