/* span.c: running a step as one span of iterations (event skipping).
 *
 * Iteration 1 computes every member's prefill chunk or decode token; the
 * iterations after it are pure decodes whose cost the backend sums in closed
 * form (decode_span_time).  With T(k) the time from the span's start to the
 * end of iteration k, member i's j-th token of the span is emitted at
 * start + T(j).  A span's length K:
 *   - static batch: until its longest member is done (finished members keep
 *     their padded slot, as request-level batching does);
 *   - iteration step: until the first member is done (membership changes),
 *     and cut at the iteration boundary after an arrival when the scheduler
 *     marked the step interruptible;
 *   - at most the scheduler's max_iters;
 *   - 1 when a prefill chunk leaves a prompt unfinished.
 * Stepwise mode (tests) sums step_time per iteration instead, and gives
 * continuous policies one iteration per step: the differential test holds the
 * two modes to the same per-request times. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "engine_internal.h"

/* span_time_at past the linear case (stepwise runs have neither linear
 * decode costs nor pieces). */
static double span_time_at_slow(const Instance *in, int64_t k)
{
    if (k <= 0) return 0.0;
    if (in->engine->cfg.stepwise) return in->stepwise_cum_s[k - 1];
    if (in->n_pieces > 0) { /* the same per piece: the pieces before, then part of one */
        int64_t d = k - 1;  /* decode iterations 0..d-1 */
        int32_t i = in->n_pieces - 1;
        while (i > 0 && in->pieces[i].start >= d) i--;
        const DecodePiece *p = &in->pieces[i];
        double n = (double)(d - p->start);
        return in->first_iter_s + in->piece_cum_s[i] + n * p->a + p->b * n * (n - 1) * 0.5;
    }
    return in->first_iter_s + backend_decode_span_time(in->backend, &in->decode_shape, k - 1);
}

/* Seconds from the span's start to the end of iteration k (1..K): inlined
 * for the common linear case (most spans), called at every emitted token. */
static inline double span_time_at(const Instance *in, int64_t k)
{
    if (in->decode_linear && k > 0) { /* sum_{j<k-1} (a + b j), without calling the backend */
        double n = (double)(k - 1);
        return in->first_iter_s + n * in->decode_a + in->decode_b * n * (n - 1) * 0.5;
    }
    return span_time_at_slow(in, k);
}

/* One iteration's seconds: measured by the replay executor, else the model's. */
static double iteration_time(Engine *e, Instance *in, const StepShape *s, int64_t k)
{
    if (!e->executor.run_iteration) return backend_step_time(in->backend, s);
    double t = e->executor.run_iteration(e->executor.ctx, in->index, &in->step, in->emits_first, s, k);
    if (t < 0) {
        if (!e->executor_error) e->executor_error = (int)t;
        return 0.0;
    }
    return t;
}

static void stepwise_fill(Engine *e, Instance *in, int64_t iters)
{
    SS_GROW(in->stepwise_cum_s, in->stepwise_cap, (size_t)iters);
    double t = in->first_iter_s;
    in->stepwise_cum_s[0] = t;
    StepShape s = in->decode_shape;
    for (int64_t k = 2; k <= iters; k++) {
        t += iteration_time(e, in, &s, k);
        in->stepwise_cum_s[k - 1] = t;
        s.decode_context += s.decode_seqs;
    }
}

/* Fill the shapes, emits_first[] and span_iters from the step's members. */
static void span_shape(Engine *e, Instance *in)
{
    Step *s = &in->step;
    StepShape first = { 0 }, next = { 0 };
    int64_t min_rem = INT64_MAX, max_rem = 0;
    bool unfinished_prompt = false, fails_now = false;
    int32_t emitters = 0;
    SS_GROW(in->emits_first, in->emits_cap, (size_t)s->n_members);
    for (int32_t i = 0; i < s->n_members; i++) {
        StepMember *m = &s->members[i];
        Request *r = m->req;
        int32_t target = request_prefill_target(r);
        int32_t remaining = request_remaining_tokens(r);
        bool emits;
        SS_ASSERT(!request_is_finished(r));
        if (s->static_batch) {
            SS_ASSERT(target <= s->padded_input);
            s->padding_tokens += s->padded_input - target;
            r->prefilled_tokens = 0; /* request-level batches start from an empty cache */
            m->prefill_chunk = target;
            emits = !r->trace_failed && remaining > 0;
            fails_now |= r->trace_failed;
        } else if (m->prefill_chunk > 0) {
            int32_t past = r->prefilled_tokens, chunk = m->prefill_chunk;
            SS_ASSERT(past + chunk <= target);
            first.prefill_seqs++;
            first.prefill_tokens += chunk;
            first.prefill_attn_pairs += chunk * (past + (chunk + 1) / 2.0);
            first.prefill_past_tokens += past;
            bool completes = past + chunk == target;
            unfinished_prompt |= !completes;
            fails_now |= completes && r->trace_failed;
            emits = completes && !r->trace_failed && remaining > 0;
        } else {
            /* Decoding: the cache holds every token but the last one emitted. */
            SS_ASSERT(r->generated_tokens > 0 && r->prefilled_tokens == target - 1);
            SS_ASSERT(remaining > 0);
            first.decode_seqs++;
            first.decode_context += target - 1; /* cost.h: the context before the fed token */
            emits = true;
        }
        in->emits_first[i] = emits;
        if (emits) {
            emitters++;
            min_rem = SS_MIN(min_rem, remaining);
            max_rem = SS_MAX(max_rem, remaining);
            next.decode_seqs++;
            next.decode_context += target; /* iteration 2 feeds the token emitted in 1 */
        }
    }
    /* Riders decode in every iteration; their contexts are one sum. */
    const RideLedger *l = &in->ride;
    if (l->n) {
        SS_ASSERT(!s->static_batch);
        int64_t context = ride_context(l);
        first.decode_seqs += l->n;
        first.decode_context += context - l->n; /* ride_context counts the fed token */
        next.decode_seqs += l->n;
        next.decode_context += context;
        emitters += l->n;
        min_rem = SS_MIN(min_rem, ride_min_remaining(l));
    }
    s->n_riders = l->n;
    int64_t iters;
    if (s->static_batch) {
        int64_t n = s->n_members, L = s->padded_input;
        first.prefill_seqs = (int32_t)n;
        first.prefill_tokens = n * L;
        first.prefill_attn_pairs = (double)n * (double)L * (L + 1) / 2.0;
        next.decode_seqs = (int32_t)n;           /* every slot decodes, padding too */
        next.decode_context = n * L; /* each slot has cached L tokens before its first new one (cost.h) */
        iters = emitters ? max_rem : 1;
    } else {
        iters = (emitters && !unfinished_prompt && !fails_now) ? min_rem : 1;
        if (e->cfg.stepwise) iters = 1;
    }
    if (s->max_iters > 0) iters = SS_MIN(iters, s->max_iters);
    in->first_shape = first;
    in->decode_shape = next;
    in->span_iters = SS_MAX(iters, 1);
}

void span_begin(Engine *e, Instance *in)
{
    Step *s = &in->step;
    double now = e->now_s;
    span_shape(e, in);
    const BackendOps *ops = in->backend->ops;
    bool pieces = false;
    /* One backend call (time, pieces, counting) where the backend has it;
     * a backend with linear decode costs says so through decode_iter_linear. */
    in->planned = ops->span_plan && !ops->decode_iter_linear && !e->cfg.stepwise && !e->executor.run_iteration;
    in->decode_linear = false;
    in->n_pieces = 0;
    if (in->planned) {
        ops->span_plan(in->backend->priv, &in->first_shape, &in->decode_shape, in->span_iters - 1, in->pieces,
                       DECODE_PIECES_MAX, &in->plan);
        in->first_iter_s = in->plan.first_s;
        in->n_pieces = in->plan.n_pieces;
        pieces = true;
    } else {
        in->first_iter_s = iteration_time(e, in, &in->first_shape, 1);
        in->decode_linear = !e->cfg.stepwise && in->span_iters > 1 && ops->decode_iter_linear &&
            ops->decode_iter_linear(in->backend->priv, &in->decode_shape, in->span_iters - 1, &in->decode_a,
                                    &in->decode_b);
        if (in->decode_linear) {
            in->pieces[0] = (DecodePiece){ 0, in->decode_a, in->decode_b };
            in->n_pieces = 1;
        } else if (!e->cfg.stepwise && in->span_iters > 1 && ops->decode_iter_pieces) {
            in->n_pieces = ops->decode_iter_pieces(in->backend->priv, &in->decode_shape, in->span_iters - 1,
                                                   in->pieces, DECODE_PIECES_MAX);
            pieces = true;
        }
    }
    if (pieces && in->n_pieces == 1 && in->pieces[0].b >= 0) { /* one rising piece: linear */
        in->decode_linear = true;
        in->decode_a = in->pieces[0].a;
        in->decode_b = in->pieces[0].b;
    } else if (pieces && in->n_pieces > 0) {
        /* Per piece, the decode seconds and the longest iteration before it
         * (linear spans read neither). */
        double cum = 0, longest = 0;
        for (int32_t i = 0;; i++) {
            in->piece_cum_s[i] = cum;
            in->piece_max_s[i] = longest;
            if (i + 1 == in->n_pieces) break;
            double n = (double)(in->pieces[i + 1].start - in->pieces[i].start);
            cum += n * in->pieces[i].a + in->pieces[i].b * n * (n - 1) * 0.5;
            longest = SS_MAX(longest, SS_MAX(in->pieces[i].a, in->pieces[i].a + in->pieces[i].b * (n - 1)));
        }
    }
    if (e->cfg.stepwise) stepwise_fill(e, in, in->span_iters);
    s->start_s = now;
    s->id = in->steps_done;
    for (int32_t i = 0; i < s->n_members; i++) {
        Request *r = s->members[i].req;
        if (r->first_scheduled_s < 0) r->first_scheduled_s = now;
        r->state = REQ_RUNNING;
        r->in_step = true;
    }
    in->busy = true;
    in->generation++;
    event_queue_push(&e->queue, now + span_time_at(in, in->span_iters), SIM_EV_STEP_END,
                     in->index, in->generation);
}

/* From a guess k in lo..hi, step to the smallest k with T(k) >= elapsed
 * (hi when none) with T itself; *t_k gets T(k) when a step read it (NaN
 * when not: k = hi, T(k) unread). */
static inline int64_t step_to_first_reaching(const Instance *in, double elapsed, int64_t k, int64_t lo,
                                             int64_t hi, double *t_k)
{
    *t_k = NAN;
    while (k > lo) {
        double t = span_time_at(in, k - 1);
        if (!(t >= elapsed)) break; /* the comparisons of the plain steps, NaN included */
        k--;
        *t_k = t;
    }
    if (*t_k == *t_k) return k; /* T(k) >= elapsed: moving up would not move */
    for (; k < hi; k++) {
        double t = span_time_at(in, k);
        if (!(t < elapsed)) {
            *t_k = t;
            break;
        }
    }
    return k;
}

/* The smallest k in 1..K with T(k) >= elapsed (K when none); *t_k gets
 * T(k) where it was read on the way (else NaN).  Linear decode costs make T
 * quadratic in k (per piece when piecewise): solve, then step to the exact
 * answer with T itself (a step or two), so the result is the bisection's. */
static int64_t first_iter_reaching(Instance *in, double elapsed, double *t_k)
{
    *t_k = NAN;
    int64_t lo = 1, hi = in->span_iters;
    if (in->decode_linear) {
        double rest = elapsed - in->first_iter_s, a = in->decode_a, b = in->decode_b, n = 0;
        if (rest > 0) {
            double lin = a - b / 2; /* T(n + 1) - first = lin n + (b / 2) n^2 */
            n = b > 0 ? (sqrt(lin * lin + 2 * b * rest) - lin) / b : (a > 0 ? rest / a : (double)hi);
        }
        /* (int64_t)ceil(n) without the libm call (n < hi here): truncation,
         * one up for a positive non-integer; n <= -1 clamps to lo below */
        int64_t k = hi;
        if (isfinite(n) && n < (double)hi) {
            int64_t t = n > -1.0 ? (int64_t)n : 0;
            k = ((double)t < n ? t + 1 : t) + 1;
        }
        k = SS_MIN(SS_MAX(k, lo), hi);
        return step_to_first_reaching(in, elapsed, k, lo, hi, t_k);
    }
    if (in->n_pieces > 0 && !in->engine->cfg.stepwise) {
        /* The same per piece: the piece whose decode iterations are running
         * at `elapsed` (piece_cum_s rises), its quadratic's first crossing
         * (b may be negative: then the smaller root), then exact steps. */
        double rest = elapsed - in->first_iter_s;
        int32_t i = 0;
        while (i + 1 < in->n_pieces && in->piece_cum_s[i + 1] < rest) i++;
        const DecodePiece *p = &in->pieces[i];
        double r = rest - in->piece_cum_s[i], a = p->a, b = p->b, n = 0;
        if (r > 0) {
            double lin = a - b / 2, disc = lin * lin + 2 * b * r;
            n = b != 0 ? (disc >= 0 ? (sqrt(disc) - lin) / b : (double)hi) : (a > 0 ? r / a : (double)hi);
        }
        double k_real = (double)p->start + ceil(n) + 1;
        int64_t k = isfinite(k_real) && k_real < (double)hi ? (int64_t)k_real : hi;
        k = SS_MIN(SS_MAX(k, lo), hi);
        return step_to_first_reaching(in, elapsed, k, lo, hi, t_k);
    }
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (span_time_at(in, mid) >= elapsed) hi = mid; else lo = mid + 1;
    }
    return lo;
}

/* End the running span at the first iteration boundary at or after now:
 * its end event is replaced (the old one goes stale). */
static void cut_at_next_boundary(Engine *e, Instance *in)
{
    double t_lo;
    int64_t lo = first_iter_reaching(in, e->now_s - in->step.start_s, &t_lo);
    if (lo >= in->span_iters) return;
    if (t_lo != t_lo) t_lo = span_time_at(in, lo);
    in->span_iters = lo;
    in->generation++;
    event_queue_push(&e->queue, in->step.start_s + t_lo, SIM_EV_STEP_END, in->index, in->generation);
}

/* A member's client gave up (client_engine.c): end an iteration-level
 * step at the iteration boundary after now, interruptible or not, as a
 * server aborts a disconnected request at its next step.  A static batch
 * runs to its end. */
void span_cut(Engine *e, Instance *in)
{
    if (in->step.static_batch || in->span_iters <= 1) return;
    cut_at_next_boundary(e, in);
}

/* Does member r of the running span emit its first token by t_s? */
bool span_first_token_by(Engine *e, Instance *in, const Request *r, double t_s)
{
    (void)e;
    for (int32_t i = 0; i < in->step.n_members; i++)
        if (in->step.members[i].req == r)
            return in->emits_first[i] && in->step.start_s + span_time_at(in, 1) <= t_s;
    return false;
}

void span_on_arrival(Engine *e, Instance *in)
{
    if (!in->step.interruptible || in->span_iters <= 1) return;
    cut_at_next_boundary(e, in);
}

typedef struct EmitOrder { int64_t tokens; int32_t member; } EmitOrder;

static int emit_order_cmp(const void *a, const void *b)
{
    const EmitOrder *x = a, *y = b;
    if (x->tokens != y->tokens) return x->tokens < y->tokens ? -1 : 1;
    return x->member - y->member;
}

/* The longest of decode iterations 0..d on the span's pieces (each piece's
 * extremes are its ends); *piece is a hint that only moves forward. */
static double piece_longest(const Instance *in, int64_t d, int32_t *piece)
{
    if (in->decode_linear) return in->decode_a + in->decode_b * (double)d; /* b >= 0 */
    while (*piece + 1 < in->n_pieces && in->pieces[*piece + 1].start <= d) (*piece)++;
    const DecodePiece *p = &in->pieces[*piece];
    double end = p->a + p->b * (double)(d - p->start);
    return SS_MAX(in->piece_max_s[*piece], SS_MAX(p->a, end));
}

/* Iterations from..upto (span numbering, 2..K) as closed-form runs per
 * piece; *piece is a hint that only moves forward (ranges come in order). */
static void add_itl_range(Engine *e, const Instance *in, int64_t from, int64_t upto, double weight, int32_t *piece)
{
    if (in->n_pieces == 1) { /* the loop's one pass, for the common one-piece span */
        const DecodePiece *p = &in->pieces[0];
        int64_t d0 = from - 2, last = upto - 2;
        double first_s = p->a + p->b * (double)(d0 - p->start), last_s = p->a + p->b * (double)(last - p->start);
        if (p->b >= 0) metrics_add_itl_linear(&e->metrics, first_s, p->b, last - d0 + 1, weight);
        else metrics_add_itl_linear(&e->metrics, last_s, -p->b, last - d0 + 1, weight);
        return;
    }
    while (*piece + 1 < in->n_pieces && in->pieces[*piece + 1].start <= from - 2) (*piece)++;
    for (int32_t i = *piece; i < in->n_pieces && from <= upto; i++) {
        int64_t d0 = from - 2, end = i + 1 < in->n_pieces ? in->pieces[i + 1].start : INT64_MAX;
        if (d0 >= end) continue;
        const DecodePiece *p = &in->pieces[i];
        int64_t last = SS_MIN(upto - 2, end - 1);
        double first_s = p->a + p->b * (double)(d0 - p->start), last_s = p->a + p->b * (double)(last - p->start);
        /* a falling run is the same durations as a rising one from its end */
        if (p->b >= 0) metrics_add_itl_linear(&e->metrics, first_s, p->b, last - d0 + 1, weight);
        else metrics_add_itl_linear(&e->metrics, last_s, -p->b, last - d0 + 1, weight);
        from = last + 3;
    }
}

/* Pooled ITL for iterations 2..K when decode durations are piecewise linear
 * (one piece: linear): iteration j's duration is a gap for every member
 * emitting at least j tokens.  Also records each member's largest in-span
 * gap.  O(pieces + n log n). */
static double span_itl_linear(Engine *e, const Instance *in, EmitOrder *order, int32_t n, int32_t p,
                              int32_t riders, int64_t K, double *max_gap)
{
    /* Iteration j (2..K) is decode iteration j - 2; a member's largest
     * in-span gap is the longest of its iterations (its last one when the
     * durations rise, as linear ones do).  Riders emit K tokens: they count
     * in every range. */
    int64_t from = 2;
    int32_t hint = 0, range_hint = 0;
    while (p < n) {
        int64_t upto = order[p].tokens;
        if (upto >= from) {
            add_itl_range(e, in, from, upto, (double)(n - p + riders), &range_hint);
            from = upto + 1;
        }
        double gap = piece_longest(in, upto - 2, &hint);
        while (p < n && order[p].tokens == upto) max_gap[order[p++].member] = gap;
    }
    if (riders && K >= from) add_itl_range(e, in, from, K, (double)riders, &range_hint);
    return K >= 2 ? piece_longest(in, K - 2, &hint) : 0.0;
}

/* Returns the largest in-span gap of a member that emitted all K tokens
 * (what every rider saw in iterations 2..K).  Inlined into span_end, its
 * one caller: as a call it saved and restored a dozen registers per span
 * (~1 M instructions on Azure conv). */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline double span_itl(Engine *e, Instance *in, EmitOrder *order, int32_t n, int32_t riders,
                       double *max_gap)
{
    int64_t K = in->span_iters;
    /* Continuous steps: every emitter got the same count; sort only when not
     * (static batches: a few members, where insertion beats qsort's calls;
     * (tokens, member) is a total order, so either gives the same order). */
    bool sorted = true;
    for (int32_t i = 1; i < n && sorted; i++) sorted = order[i - 1].tokens <= order[i].tokens;
    if (!sorted && n <= 32) {
        for (int32_t i = 1; i < n; i++) {
            EmitOrder x = order[i];
            int32_t j = i;
            for (; j > 0 && emit_order_cmp(&order[j - 1], &x) > 0; j--) order[j] = order[j - 1];
            order[j] = x;
        }
    } else if (!sorted) {
        qsort(order, (size_t)n, sizeof(*order), emit_order_cmp);
    }
    int32_t p = 0;
    while (p < n && order[p].tokens < 2) max_gap[order[p++].member] = 0;
    if (p == n && (!riders || K < 2)) return 0.0;
    if (in->n_pieces > 0) return span_itl_linear(e, in, order, n, p, riders, K, max_gap);
    int64_t last = n ? order[n - 1].tokens : 0;
    if (riders) last = SS_MAX(last, K);
    double running_max = 0, times[256];
    for (int64_t j0 = 2; j0 <= last; j0 += (int64_t)SS_ARRAY_LEN(times)) {
        int64_t count = SS_MIN((int64_t)SS_ARRAY_LEN(times), last - j0 + 1);
        /* Iteration j (2..K) of the span is decode iteration j - 2 of the
         * decode shape; stepwise runs read their own per-iteration sums. */
        if (e->cfg.stepwise)
            for (int64_t i = 0; i < count; i++)
                times[i] = in->stepwise_cum_s[j0 + i - 1] - in->stepwise_cum_s[j0 + i - 2];
        else
            backend_decode_iter_times(in->backend, &in->decode_shape, j0 - 2, count, times);
        for (int64_t i = 0; i < count; i++) {
            int64_t j = j0 + i;
            running_max = SS_MAX(running_max, times[i]);
            metrics_add_itl(&e->metrics, times[i], (double)(n - p + riders));
            while (p < n && order[p].tokens == j) max_gap[order[p++].member] = running_max;
        }
    }
    return running_max;
}

static void span_write_step(Engine *e, Instance *in, double duration_s)
{
    const Step *s = &in->step;
    fprintf(e->out.steps_csv, "%d,%lld,%.9g,%.9g,%d,%lld,%lld,%d,%lld,%lld,%.9g\n", in->index,
            (long long)s->id, s->start_s, duration_s, s->n_members + s->n_riders, (long long)in->span_iters,
            (long long)in->first_shape.prefill_tokens, in->first_shape.decode_seqs,
            (long long)in->first_shape.decode_context, (long long)s->padding_tokens,
            in->first_iter_s);
}

/* A rider's or decode-first member's rank: arrival id, or the one the
 * scheduler gave it in on_step_done (Step.rank_by_sched_key). */
static inline int64_t report_rank(const Step *s, const Request *r)
{
    return s->rank_by_sched_key ? r->sched_key : r->id;
}

/* Finished requests go to the metrics in the order a step listing every
 * rider would have had: riders stand among the decode-first members by rank,
 * the other members after them.  Identical order, identical floating-point
 * sums. */
static void span_report_finished(Engine *e, Instance *in)
{
    Step *s = &in->step;
    Request **done = in->ride.finished;
    int32_t nd = in->ride.n_finished, d = 0;
    for (int32_t i = 1; i < nd; i++) { /* few: insertion sort by rank */
        Request *r = done[i];
        int32_t j = i;
        for (; j > 0 && report_rank(s, done[j - 1]) > report_rank(s, r); j--) done[j] = done[j - 1];
        done[j] = r;
    }
    for (int32_t i = 0; i < s->n_members; i++) {
        Request *r = s->members[i].req;
        while (d < nd && (i >= s->n_decode_first || report_rank(s, done[d]) < report_rank(s, r)))
            engine__finish(e, in, done[d++]);
        if (request_is_finished(r)) engine__finish(e, in, r);
    }
    while (d < nd) engine__finish(e, in, done[d++]);
    in->ride.n_finished = 0;
}

void span_end(Engine *e, Instance *in)
{
    Step *s = &in->step;
    int32_t n = s->n_members;
    int64_t K = in->span_iters;
    if (in->planned)
        in->backend->ops->note_plan(in->backend->priv, &in->plan, &in->first_shape, &in->decode_shape, K - 1);
    else if (in->backend->ops->note_span)
        in->backend->ops->note_span(in->backend->priv, &in->first_shape, &in->decode_shape, K - 1);
    /* Most members emit K tokens (continuous steps end at the first completion):
     * T(K) once, not once per member. */
    double start = s->start_s, t1 = span_time_at(in, 1), tK = span_time_at(in, K);
    size_t need = (size_t)n * (sizeof(EmitOrder) + sizeof(double));
    if (need > in->span_scratch_bytes) {
        in->span_scratch = ss_realloc(in->span_scratch, need);
        in->span_scratch_bytes = need;
    }
    double *max_gap = in->span_scratch;
    EmitOrder *order = (EmitOrder *)(max_gap + n);
    int64_t useful_decode = 0, continuing = 0;
    for (int32_t i = 0; i < n; i++) {
        Request *r = s->members[i].req;
        int64_t tokens = in->emits_first[i] ? SS_MIN((int64_t)request_remaining_tokens(r), K) : 0;
        order[i] = (EmitOrder){ tokens, i };
        s->members[i].tokens_emitted = (int32_t)tokens;
        useful_decode += tokens > 1 ? tokens - 1 : 0;
    }
    int32_t riders = s->n_riders;
    double rider_gap = span_itl(e, in, order, n, riders, max_gap);
    for (int32_t i = 0; i < n; i++) {
        StepMember *m = &s->members[i];
        Request *r = m->req;
        int32_t tokens = m->tokens_emitted;
        if (m->prefill_chunk > 0) r->prefilled_tokens += m->prefill_chunk + (tokens ? tokens - 1 : 0);
        else r->prefilled_tokens += tokens;
        r->prefill_computed_tokens += m->prefill_chunk;
        if (tokens > 0) {
            double first_s = start + t1;
            if (r->last_token_s == start) {
                /* Decoding straight on from the previous step: its gap is this
                 * step's first iteration, pooled once for all such members. */
                continuing++;
                r->itl_max_s = SS_MAX(r->itl_max_s, t1);
            } else if (r->last_token_s >= 0) {
                double gap = first_s - r->last_token_s;
                metrics_add_itl(&e->metrics, gap, 1.0);
                r->itl_max_s = SS_MAX(r->itl_max_s, gap);
            }
            if (r->generated_tokens == 0) r->first_token_s = first_s;
            r->itl_max_s = SS_MAX(r->itl_max_s, max_gap[i]);
            r->generated_tokens += tokens;
            r->last_token_s = start + (tokens == K ? tK : span_time_at(in, tokens));
            if (r->generated_tokens == r->output_tokens) {
                r->state = REQ_DONE;
                r->finish_s = r->last_token_s;
            }
        } else if (r->trace_failed && r->prefilled_tokens >= request_prefill_target(r)) {
            r->state = REQ_FAILED;
            r->fail_reason = REQ_FAIL_TRACE;
            r->finish_s = start + t1;
        }
    }
    continuing += riders; /* every rider emitted a token at the span's start */
    if (continuing) metrics_add_itl(&e->metrics, t1, (double)continuing);
    ride_advance(&in->ride, K, start + tK, SS_MAX(t1, rider_gap));
    Metrics *mt = &e->metrics;
    mt->steps++;
    mt->iterations += K;
    if (s->static_batch) {
        mt->padding_prefill_tokens += s->padding_tokens;
        mt->padding_decode_tokens += (int64_t)n * (K - 1) - useful_decode;
        mt->computed_tokens += in->first_shape.prefill_tokens + (int64_t)n * (K - 1);
    } else {
        mt->computed_tokens += step_shape_tokens(&in->first_shape) +
                               (K - 1) * (int64_t)in->decode_shape.decode_seqs;
    }
    s->iters_done = K;
    s->end_s = e->now_s;
    if (e->out.steps_csv) span_write_step(e, in, e->now_s - start);
    in->busy = false;
    in->steps_done++;
    s->finished_riders = in->ride.finished;
    s->n_finished_riders = in->ride.n_finished;
    /* Members whose client gave up during the span end with it (their KV is
     * freed by on_step_done, as any finished member's). */
    if (e->client_active) client__settle_step(e, in);
    in->sched_ops->on_step_done(in->sched, s, e->now_s);
    span_report_finished(e, in);
}
