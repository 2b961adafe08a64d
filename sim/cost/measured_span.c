/* measured_span.c: the measured backend over decode spans (docs/COST_MODEL.md):
 * the span's sum and per-iteration times, its iterations as linear pieces
 * (one per kv_len segment of the decode table's row crossed), and the
 * fallback count of a span that ran, all from the per-batch decode memo
 * (measured_internal.h) with the same bits as composing each step. */
#include <math.h>
#include <stdlib.h>

#include "common.h"
#include "cost/measured_internal.h"

double measured_backend_decode_span_time(void *priv, const StepShape *first, int64_t iters)
{
    MeasuredCost *c = priv;
    OpCostVtbl v = measured_vtbl_of(c);
    return op_decode_span_time(&v, c, &c->sh, first, iters);
}

/* Iteration from+i: the first's step with decode_context grown (from + i) x seqs. */
void measured_backend_decode_iter_times(void *priv, const StepShape *first, int64_t from,
                                               int64_t n, double *out)
{
    MeasuredCost *c = priv;
    OpCostVtbl v = measured_vtbl_of(c);
    double seqs = first->decode_seqs;
    if (n <= 0) return;
    StepShape s = *first;
    s.decode_context = first->decode_context + from * first->decode_seqs;
    /* everything but decode attention is the same each iteration */
    double fixed = op_step_time(&v, c, &c->sh, &s, NULL) -
                   c->sh.layers * v.decode_attn_s(c, seqs, (double)s.decode_context / seqs);
    double kv = (double)s.decode_context / seqs;
    if (!c->decode) {
        for (int64_t i = 0; i < n; i++) out[i] = fixed + c->sh.layers * v.decode_attn_s(c, seqs, kv + (double)i);
        return;
    }
    /* Walk the row's kv_len segments instead of searching each iteration. */
    DecodeRow r = measured_decode_row(c, seqs);
    int32_t seg;
    double w;
    optable_locate(r.y, r.ny, kv, &seg, &w);
    for (int64_t i = 0; i < n; i++) {
        double x = kv + (double)i, attn;
        while (r.ny > 1 && seg + 2 < r.ny && x >= r.y[seg + 1]) seg++;
        if (r.ny == 1 || x <= r.y[0]) attn = row_at(&r, 0);
        else {
            double fa = row_at(&r, seg), fb = row_at(&r, seg + 1);
            attn = fa + (x - r.y[seg]) / (r.y[seg + 1] - r.y[seg]) * (fb - fa);
        }
        out[i] = fixed + c->sh.layers * attn;
    }
}

/* Everything of a pure-decode iteration of `seqs` sequences but attention,
 * summed (attention 0) in op_sum's order, and the op groups that left a
 * table; *flags may be NULL. */
static double decode_fixed_sum(MeasuredCost *c, double seqs, unsigned *flags)
{
    OpCostVtbl v = measured_vtbl_of(c);
    StepBreakdown fixed = { { 0 } };
    *c->flags = 0;
    op_fixed_part(&v, c, &c->sh, seqs, seqs, &fixed);
    if (flags) *flags = *c->flags;
    double base = 0;
    for (int g = 0; g < OPG_COUNT; g++) base += fixed.s[g];
    return base;
}

/* An integer batch's memo with its fixed part (decode tables present). */
static MEASURED_COLD struct DecodeMemo *decode_base_fill(MeasuredCost *c, int32_t seqs)
{
    struct DecodeMemo *m = decode_memo(c, seqs);
    m->base_s = decode_fixed_sum(c, seqs, &m->fixed_flags);
    m->have_base = true;
    return m;
}

static inline struct DecodeMemo *decode_base(MeasuredCost *c, int32_t seqs)
{
    struct DecodeMemo *m = &c->dmemo[seqs];
    return m->have_base ? m : decode_base_fill(c, seqs);
}

static unsigned decode_fixed_flags(MeasuredCost *c, const StepShape *decode)
{
    int32_t seqs = decode->decode_seqs;
    if (c->decode && seqs >= 1 && seqs < FIXED_MEMO_ROWS) return decode_base(c, seqs)->fixed_flags;
    unsigned f = 0;
    decode_fixed_sum(c, seqs, &f);
    return f;
}

bool measured_decode_attn_leaves(const MeasuredCost *c, double batch, double kv)
{
    if (!c->decode) return true;
    if (batch >= 1 && batch < FIXED_MEMO_ROWS && (double)(int32_t)batch == batch) {
        const struct DecodeMemo *m = decode_memo(c, (int32_t)batch);
        return m->outside || kv < c->decode->grid.y[0] || !(kv < m->kv_limit);
    }
    const OpGrid *g = &c->decode->grid;
    double xb = batch * c->decode_fold;
    if (xb < g->x[0] || xb > g->x[g->nx - 1] || kv < g->y[0] || kv > g->y[g->ny - 1]) return true;
    if (!g->filled) return false;
    int32_t ib, iy;
    double w;
    optable_locate(g->x, g->nx, xb, &ib, &w);
    optable_locate(g->y, g->ny, kv, &iy, &w);
    int32_t jb = g->nx > 1 ? ib + 1 : ib, jy = g->ny > 1 ? iy + 1 : iy, ny = g->ny;
    return g->filled[ib * ny + iy] | g->filled[jb * ny + iy] | g->filled[ib * ny + jy] | g->filled[jb * ny + jy];
}

/* (int64_t)ceil(x) for |x| < 2^53 (a kv_len difference), without the libm
 * call: truncation is the ceiling for x <= 0 and one below it for a
 * positive non-integer. */
static inline int64_t ceil_i64(double x)
{
    int64_t t = (int64_t)x;
    return (double)t < x ? t + 1 : t;
}

/* The span's decode iterations, one linear piece per kv_len segment of the
 * decode table's row crossed (the grid is powers of two: most spans are one
 * piece, which the engine then treats as linear). */
/* The pieces from a batch's blended row and fixed part. */
static MEASURED_INLINE int decode_pieces(const MeasuredCost *c, const struct DecodeMemo *m, const StepShape *first,
                                int64_t iters, DecodePiece *out, int max)
{
    const double *y = c->decode->grid.y;
    int32_t ny = c->decode->grid.ny;
    double kv0 = (double)first->decode_context / (double)first->decode_seqs;
    double base = m->base_s, L = c->sh.layers;
    int n = 0;
    int64_t j = 0;
    while (j < iters) {
        if (n == max) return 0;
        double kv = kv0 + (double)j, f, slope;
        int64_t next;
        if (ny == 1 || kv < y[0]) {             /* the floor below the first kv_len */
            f = m->f[0];
            slope = 0;
            next = ny == 1 ? iters : ceil_i64(y[0] - kv0);
        } else {
            int32_t i;
            double w;
            opaxis_locate(c->decode_kv_index, y, ny, kv, &i, &w);
            slope = m->slope[i];
            f = m->f[i] + (kv - y[i]) * slope;
            next = i + 2 == ny ? iters : ceil_i64(y[i + 1] - kv0);
        }
        if (next <= j) next = j + 1;
        if (next > iters) next = iters;
        out[n++] = (DecodePiece){ j, base + L * f, L * slope };
        j = next;
    }
    return n;
}

static int big_batch_pieces(MeasuredCost *c, const StepShape *first, int64_t iters, DecodePiece *out, int max);

int measured_backend_decode_iter_pieces(void *priv, const StepShape *first, int64_t iters,
                                               DecodePiece *out, int max)
{
    MeasuredCost *c = priv;
    int32_t batch = first->decode_seqs;
    if (!c->decode || batch <= 0 || iters < 1) return 0;
    /* An integer batch under FIXED_MEMO_ROWS (every engine span's) reads
     * its blended row and fixed part from the memo; a larger one blends
     * them now into a memo of its own (the same values). */
    if (batch < FIXED_MEMO_ROWS) return decode_pieces(c, decode_base(c, batch), first, iters, out, max);
    return big_batch_pieces(c, first, iters, out, max);
}

static MEASURED_COLD int big_batch_pieces(MeasuredCost *c, const StepShape *first, int64_t iters, DecodePiece *out,
                                          int max)
{
    double seqs = first->decode_seqs;
    DecodeRow r = measured_decode_row(c, seqs);
    struct DecodeMemo big = { 0 };
    big.f = ss_malloc((size_t)(2 * r.ny) * sizeof(double));
    big.slope = big.f + r.ny;
    for (int32_t i = 0; i < r.ny; i++) big.f[i] = row_at(&r, i);
    for (int32_t i = 0; i + 1 < r.ny; i++) big.slope[i] = (row_at(&r, i + 1) - big.f[i]) / (r.y[i + 1] - r.y[i]);
    big.base_s = decode_fixed_sum(c, seqs, NULL);
    int n = decode_pieces(c, &big, first, iters, out, max);
    free(big.f);
    return n;
}

static inline void count_fallbacks(CostFallbacks *fb, unsigned flags, int64_t iters)
{
    fb->steps += iters;
    if (!flags) return;
    fb->fallback_steps += iters;
    for (int g = 0; g < OPG_COUNT; g++) fb->by_group[g] += ((flags >> g) & 1u) ? iters : 0;
}

/* Decode iteration j of a span has decode_context + j seqs, and step_time
 * reads its kv_len as context / seqs: the first j in [lo, hi) whose kv_len
 * is not below `limit` (hi when none; kv_len never falls along a span). */
static int64_t first_iter_at(const StepShape *decode, double limit, int64_t lo, int64_t hi)
{
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        double kv = (double)(decode->decode_context + mid * decode->decode_seqs) / decode->decode_seqs;
        if (kv < limit) lo = mid + 1; else hi = mid;
    }
    return lo;
}

void measured_backend_note_span(void *priv, const StepShape *first, const StepShape *decode,
                                       int64_t decode_iters)
{
    MeasuredCost *c = priv;
    unsigned f1 = 0, f = 0;
    /* The engine timed `first` just before: its flags are the last call's. */
    const StepShape *l = &c->last_shape;
    if (first->decode_context == l->decode_context && first->prefill_tokens == l->prefill_tokens &&
        first->decode_seqs == l->decode_seqs && first->prefill_seqs == l->prefill_seqs &&
        first->prefill_past_tokens == l->prefill_past_tokens && first->prefill_attn_pairs == l->prefill_attn_pairs)
        f1 = c->last_flags;
    else measured_cost_step(c, first, NULL, &f1);
    count_fallbacks(&c->fb, f1, 1);
    if (decode_iters <= 0) return;
    int32_t batch = decode->decode_seqs;
    double seqs = batch, kv0 = (double)decode->decode_context / seqs;
    double kv1 = (double)(decode->decode_context + (decode_iters - 1) * decode->decode_seqs) / seqs;
    if (!c->decode || batch >= FIXED_MEMO_ROWS) {  /* per-step look-ups at both ends */
        f = decode_fixed_flags(c, decode);
        if (measured_decode_attn_leaves(c, seqs, kv0) || measured_decode_attn_leaves(c, seqs, kv1)) f |= 1u << OPG_ATTENTION;
        count_fallbacks(&c->fb, f, decode_iters);
        return;
    }
    /* Everything but attention is the same in every iteration; attention
     * leaves its table below the first kv_len or from kv_limit on, and kv_len
     * only grows: the iterations inside are one run [in_lo, in_hi). */
    const struct DecodeMemo *m = decode_base(c, batch);
    double y0 = c->decode->grid.y[0];
    int64_t in_lo = 0, in_hi = decode_iters;
    if (m->outside || !(kv0 < m->kv_limit) || kv1 < y0) in_hi = 0;
    else {
        if (kv0 < y0) in_lo = first_iter_at(decode, y0, 0, decode_iters);
        if (!(kv1 < m->kv_limit)) in_hi = first_iter_at(decode, m->kv_limit, in_lo, decode_iters);
    }
    f = m->fixed_flags;
    int64_t inside = in_hi - in_lo;
    if (inside > 0) count_fallbacks(&c->fb, f, inside);
    if (inside < decode_iters) count_fallbacks(&c->fb, f | 1u << OPG_ATTENTION, decode_iters - inside);
}

/* One call for a span's start (BackendOps.span_plan): iteration 1's time,
 * the decode pieces, and note_span's count prepared for any cut of the
 * span: the iterations inside attention's table are one run (kv_len only
 * grows), and first_iter_at over fewer iterations is this run clamped to
 * them.  The same memo reads, in the same order, as step_time, then
 * decode_iter_pieces, then note_span. */
void measured_backend_span_plan(void *priv, const StepShape *first, const StepShape *decode, int64_t decode_iters,
                                DecodePiece *pieces, int max, SpanPlan *plan)
{
    MeasuredCost *c = priv;
    unsigned f1;
    plan->first_s = measured_step_time_flags(c, first, &f1);
    plan->first_flags = f1;
    plan->decode_iters = decode_iters;
    plan->n_pieces = 0;
    plan->counted = true;
    plan->inside_lo = plan->inside_hi = 0;
    if (decode_iters < 1) return;
    int32_t batch = decode->decode_seqs;
    if (!c->decode || batch <= 0 || batch >= FIXED_MEMO_ROWS) { /* rare: the entries one by one */
        plan->n_pieces = measured_backend_decode_iter_pieces(c, decode, decode_iters, pieces, max);
        plan->counted = false;
        c->last_shape = *first;
        c->last_flags = f1;
        return;
    }
    const struct DecodeMemo *m = decode_base(c, batch);
    plan->n_pieces = decode_pieces(c, m, decode, decode_iters, pieces, max);
    double seqs = batch, kv0 = (double)decode->decode_context / seqs;
    double kv1 = (double)(decode->decode_context + (decode_iters - 1) * decode->decode_seqs) / seqs;
    double y0 = c->decode->grid.y[0];
    int64_t in_lo = 0, in_hi = decode_iters;
    if (m->outside || !(kv0 < m->kv_limit) || kv1 < y0) in_hi = 0;
    else {
        if (kv0 < y0) in_lo = first_iter_at(decode, y0, 0, decode_iters);
        if (!(kv1 < m->kv_limit)) in_hi = first_iter_at(decode, m->kv_limit, in_lo, decode_iters);
    }
    plan->decode_flags = m->fixed_flags;
    plan->outside_flags = 1u << OPG_ATTENTION;
    plan->inside_lo = in_lo;
    plan->inside_hi = in_hi;
}

void measured_backend_note_plan(void *priv, const SpanPlan *plan, const StepShape *first, const StepShape *decode,
                                int64_t decode_iters)
{
    MeasuredCost *c = priv;
    SS_ASSERT(decode_iters <= plan->decode_iters);
    if (!plan->counted) {
        measured_backend_note_span(priv, first, decode, decode_iters);
        return;
    }
    count_fallbacks(&c->fb, plan->first_flags, 1);
    if (decode_iters <= 0) return;
    int64_t inside = SS_MIN(plan->inside_hi, decode_iters) - SS_MIN(plan->inside_lo, decode_iters);
    if (inside > 0) count_fallbacks(&c->fb, plan->decode_flags, inside);
    if (inside < decode_iters)
        count_fallbacks(&c->fb, plan->decode_flags | plan->outside_flags, decode_iters - inside);
}
