/* measured_internal.h: the measured backend's state, shared by measured.c
 * (the ops, the tables, a step) and measured_span.c (decode spans: pieces,
 * sums, per-iteration times, the fallback count). */
#ifndef SERVESIM_MEASURED_INTERNAL_H
#define SERVESIM_MEASURED_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cost/calibrated.h"
#include "cost/opcost.h"
#include "cost/optable.h"

typedef struct MeasuredCost {
    const MeasuredTables *t;         /* shared, loaded once per process */
    OpShapes sh;
    CalModel cal;                    /* fallbacks */
    OpGrid gemm[GEMM_COUNT];
    bool gemm_have[GEMM_COUNT];
    OpGrid layer_gemms;              /* QKV + O + gate/up + down over m (all measured) */
    bool layer_gemms_have;
    OpGrid other_sum;                /* the per-layer ops' sum over tokens */
    const AttnTable *prefill, *decode;
    double prefill_fold, decode_fold;   /* batch factors of folded head layouts */
    const OpsTable *ops;
    const OpGrid *allreduce;
    double overhead_s;
    unsigned *flags;                 /* op groups that left a table in the last look-up */
    unsigned flags_store;
    /* The per-row-count part of steps (layers' GEMMs, other ops,
     * all-reduces) by token count: asked for at every step and span,
     * computed once per count. */
    struct FixedMemo {
        StepBreakdown b; unsigned flags; bool have;
        double lm_head_s; unsigned lm_flags; bool have_lm;   /* the LM head for this many rows */
    } *memo;
    /* Per integer batch: the decode table's row and what a pure-decode
     * iteration of that many sequences costs besides attention, derived
     * once, so that a span's look-ups are a few array reads. */
    struct DecodeMemo {
        double w, kv_limit;   /* row blend weight; attention leaves its table from kv_limit on */
        double *f, *slope;    /* the blended row at each kv_len grid point (ny), and per segment (ny - 1) */
        double base_s;        /* every group but attention, summed as the pieces sum it */
        unsigned fixed_flags; /* their op groups that left a table */
        int32_t row;
        bool have, outside, have_base;
    } *dmemo;
    /* Per integer prefill batch: where it falls on the prefill table's batch axis. */
    struct PrefillMemo { double wx; int32_t ix, jx; bool out_x, have; } *pmemo;
    OpAxisIndex *decode_kv_index, *prefill_isl_index;  /* the tables' kv_len and isl axes (NULL: one point) */
    unsigned *memo_flags_before;     /* flags when op_fixed began (points into memo_store) */
    unsigned memo_store;
    StepShape last_shape;            /* step_time's last shape and flags, for note_span */
    unsigned last_flags;
    CostFallbacks fb;
} MeasuredCost;

enum { FIXED_MEMO_ROWS = 4096 };  /* row counts memoised: steps of up to 4095 tokens */

/* Rare paths (memo fills, shapes past the memos) kept out of the per-span
 * functions, which then save fewer registers per call. */
#if defined(__GNUC__)
#define MEASURED_COLD __attribute__((noinline, cold))
#define MEASURED_INLINE __attribute__((always_inline)) inline
#else
#define MEASURED_COLD
#define MEASURED_INLINE inline
#endif

#define FLAG(c, g) (*(c)->flags |= 1u << (g))

/* The decode table's row at a batch: (1 - w) row[i] + w row[i + 1] over kv_len. */
typedef struct DecodeRow { const double *lo, *hi, *y; double w; int32_t ny; } DecodeRow;
DecodeRow measured_decode_row(const MeasuredCost *c, double batch);
struct DecodeMemo *measured_decode_memo_fill(const MeasuredCost *c, int32_t batch);
static inline struct DecodeMemo *decode_memo(const MeasuredCost *c, int32_t batch)
{
    struct DecodeMemo *m = &c->dmemo[batch];
    return m->have ? m : measured_decode_memo_fill(c, batch);
}
/* m_decode's value from a batch's memo (the same operations, so the same bits). */
static inline double decode_memo_at(const MeasuredCost *c, const struct DecodeMemo *m, const OpGrid *g,
                                    double kv_len)
{
    if (g->ny == 1 || kv_len <= g->y[0]) return m->f[0];
    int32_t i;
    double w;
    opaxis_locate(c->decode_kv_index, g->y, g->ny, kv_len, &i, &w);
    return m->f[i] + w * (m->f[i + 1] - m->f[i]);
}
/* Does decode attention at (batch, kv_len) leave its table (or have none)? */
bool measured_decode_attn_leaves(const MeasuredCost *c, double batch, double kv);
static inline double row_at(const DecodeRow *r, int32_t i) { return r->lo[i] + r->w * (r->hi[i] - r->lo[i]); }

/* The measured ops as opcost.h composes them. */
OpCostVtbl measured_vtbl_of(const MeasuredCost *c);
/* One step op by op; *flags (optional) gets the op groups that left a table. */
double measured_cost_step(MeasuredCost *c, const StepShape *s, StepBreakdown *b, unsigned *flags);
/* step_time's value from the memos where they serve, else op by op; *flags
 * gets the op groups that left a table. */
double measured_step_time_flags(MeasuredCost *c, const StepShape *s, unsigned *flags);

/* measured_span.c: BackendOps' decode-span entries. */
double measured_backend_decode_span_time(void *priv, const StepShape *first, int64_t iters);
void measured_backend_decode_iter_times(void *priv, const StepShape *first, int64_t from, int64_t n,
                                        double *out);
int measured_backend_decode_iter_pieces(void *priv, const StepShape *first, int64_t iters, DecodePiece *out,
                                        int max);
void measured_backend_note_span(void *priv, const StepShape *first, const StepShape *decode,
                                int64_t decode_iters);
void measured_backend_span_plan(void *priv, const StepShape *first, const StepShape *decode, int64_t decode_iters,
                                DecodePiece *pieces, int max, SpanPlan *plan);
void measured_backend_note_plan(void *priv, const SpanPlan *plan, const StepShape *first, const StepShape *decode,
                                int64_t decode_iters);

#endif
