/* measured.c: the `measured` cost backend: a step as the sum of measured
 * kernel times (docs/COST_MODEL.md).
 *
 * Every op of opcost.h is looked up in the GPU's tables
 * (models/profiles/measured/<gpu>.txt, optable.h) and interpolated piecewise
 * linearly: the GEMMs by (m, n, k) at the model's per-GPU shapes, prefill
 * attention by (batch, equivalent length) and decode attention by (batch,
 * kv_len) for the per-GPU heads / KV heads, the per-layer ops by token count
 * from the (model, tp) table, the all-reduce by message size for tp GPUs.
 *
 * A shape the tables do not cover is still timed, and counted:
 *   - past a table's last point the last segment is extended (linear growth
 *     with work: beyond m = 8192 a GEMM is compute-bound);
 *   - an op with no table at all (a model without a per-op table, an n or k
 *     outside the GEMM grid, a heads layout no table folds to, an all-reduce
 *     over a GPU count not measured) uses the calibrated roofline.
 * Each step (iteration) that used either is counted in run.cost_fallbacks,
 * by op group; the structural gaps are listed once.
 *
 * Decode spans: only decode attention changes from one iteration to the next
 * (the mean kv_len grows by one), and at a fixed batch it is piecewise linear
 * in kv_len, so the span's sum is one arithmetic series per grid segment
 * crossed: exact, O(grid). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cost/calibrated.h"
#include "cost/opcost.h"
#include "cost/optable.h"

typedef struct MeasuredOpts {
    double step_overhead_s;   /* < 0: the GPU file's */
    char tables[OPTS_STRING_MAX];  /* a path, or empty: the GPU's own */
} MeasuredOpts;

typedef struct MeasuredCost {
    MeasuredTables t;
    OpShapes sh;
    CalModel cal;                    /* fallbacks */
    OpGrid gemm[GEMM_COUNT];
    bool gemm_have[GEMM_COUNT];
    const AttnTable *prefill, *decode;
    double prefill_fold, decode_fold;   /* batch factors of folded head layouts */
    const OpsTable *ops;
    const OpGrid *allreduce;
    double overhead_s;
    unsigned *flags;                 /* op groups that left a table in the last look-up */
    unsigned flags_store;
    CostFallbacks fb;
} MeasuredCost;

#define FLAG(c, g) (*(c)->flags |= 1u << (g))

static double m_gemm(const void *ctx, OpGemm g, double m)
{
    const MeasuredCost *c = ctx;
    int grp = g == GEMM_LM_HEAD ? OPG_LM_HEAD : OPG_GEMM;
    if (!c->gemm_have[g]) {
        FLAG(c, grp);
        return cal_vtbl.gemm_s(&c->cal, g, m);
    }
    bool out = false;
    double t = opgrid_eval(&c->gemm[g], m, 0, &out);
    if (out) FLAG(c, grp);
    return t;
}

static double m_prefill(const void *ctx, double batch, double isl)
{
    const MeasuredCost *c = ctx;
    if (!c->prefill) {
        FLAG(c, OPG_ATTENTION);
        return cal_vtbl.prefill_attn_s(&c->cal, batch, isl);
    }
    bool out = false;
    double t = opgrid_eval(&c->prefill->grid, batch * c->prefill_fold, isl, &out);
    if (out) FLAG(c, OPG_ATTENTION);
    return t;
}

static double m_decode(const void *ctx, double batch, double kv_len)
{
    const MeasuredCost *c = ctx;
    if (!c->decode) {
        FLAG(c, OPG_ATTENTION);
        return cal_vtbl.decode_attn_s(&c->cal, batch, kv_len);
    }
    bool out = false;
    double t = opgrid_eval(&c->decode->grid, batch * c->decode_fold, kv_len, &out);
    if (out) FLAG(c, OPG_ATTENTION);
    return t;
}

/* sum_{j<n} f(y0 + j) for f linear on [ya, yb) with f(ya) = fa and slope s:
 * the j with ya <= y0 + j < yb (j in [j0, j1)). */
static double seg_sum(double y0, int64_t n, double ya, double yb, double fa, double s)
{
    double lo = ceil(ya - y0), hi = ceil(yb - y0);
    int64_t j0 = lo < 0 ? 0 : (int64_t)SS_MIN(lo, (double)n);
    int64_t j1 = hi < 0 ? 0 : (int64_t)SS_MIN(hi, (double)n);
    if (j1 <= j0) return 0.0;
    double cnt = (double)(j1 - j0);
    /* sum (y0 + j - ya) over j0..j1-1 */
    double first = y0 + (double)j0 - ya, last = y0 + (double)(j1 - 1) - ya;
    return cnt * fa + s * (first + last) * cnt * 0.5;
}

static double m_decode_sum(const void *ctx, double batch, double kv0, int64_t n)
{
    const MeasuredCost *c = ctx;
    if (!c->decode) return cal_vtbl.decode_attn_sum_s(&c->cal, batch, kv0, n);
    const OpGrid *g = &c->decode->grid;
    /* The row at this batch: (1 - wb) row[ib] + wb row[ib + 1] over y[]. */
    int32_t ib;
    double wb;
    optable_locate(g->x, g->nx, batch * c->decode_fold, &ib, &wb);
    int32_t jb = g->nx > 1 ? ib + 1 : ib, ny = g->ny;
    const double *y = g->y;
#define ROW(iy) ((1 - wb) * g->v[ib * ny + (iy)] + wb * g->v[jb * ny + (iy)])
    double sum = 0.0;
    /* Below the first kv_len: the first value (the kernel's floor). */
    sum += seg_sum(kv0, n, -INFINITY, y[0], ROW(0), 0.0);
    for (int32_t i = 0; i + 1 < ny; i++) {
        double fa = ROW(i), fb = ROW(i + 1);
        double s = (fb - fa) / (y[i + 1] - y[i]);
        /* the last segment extends past the grid */
        double yb = i + 2 == ny ? INFINITY : y[i + 1];
        if (kv0 + (double)(n - 1) < y[i] || kv0 >= yb) continue;
        sum += seg_sum(kv0, n, y[i], yb, fa, s);
    }
    if (ny == 1) sum += seg_sum(kv0, n, y[0], INFINITY, ROW(0), 0.0);
#undef ROW
    return sum;
}

static double m_other(const void *ctx, double tokens)
{
    const MeasuredCost *c = ctx;
    if (!c->ops) {
        FLAG(c, OPG_OTHER);
        return cal_vtbl.other_s(&c->cal, tokens);
    }
    bool out = false;
    const OpGrid *col = c->ops->col;
    /* two RMSNorms, RoPE, the activation, two residual adds */
    double t = opgrid_eval(&col[OPS_NORM_IN], tokens, 0, &out) + opgrid_eval(&col[OPS_NORM_POST], tokens, 0, &out)
             + opgrid_eval(&col[OPS_ROPE], tokens, 0, &out) + opgrid_eval(&col[OPS_ACT], tokens, 0, &out)
             + 2.0 * opgrid_eval(&col[OPS_ADD], tokens, 0, &out);
    if (out) FLAG(c, OPG_OTHER);
    return t;
}

static double m_allreduce(const void *ctx, double elems)
{
    const MeasuredCost *c = ctx;
    if (!c->allreduce) {
        FLAG(c, OPG_ALLREDUCE);
        return cal_vtbl.allreduce_s(&c->cal, elems);
    }
    bool out = false;
    double t = opgrid_eval(c->allreduce, elems, 0, &out);
    if (out) FLAG(c, OPG_ALLREDUCE);
    return t;
}

static OpCostVtbl measured_vtbl_of(const MeasuredCost *c)
{
    return (OpCostVtbl){ .gemm_s = m_gemm, .prefill_attn_s = m_prefill, .decode_attn_s = m_decode,
                         .decode_attn_sum_s = m_decode_sum, .other_s = m_other,
                         .allreduce_s = m_allreduce, .overhead_s = c->overhead_s };
}

static void note_gap(MeasuredCost *c, const char *fmt, const char *what)
{
    size_t used = strlen(c->fb.notes);
    snprintf(c->fb.notes + used, sizeof(c->fb.notes) - used, "%s", used ? "; " : "");
    used = strlen(c->fb.notes);
    snprintf(c->fb.notes + used, sizeof(c->fb.notes) - used, fmt, what);
}

static int measured_cost_init(MeasuredCost *c, const ModelSpec *m, const GpuSpec *g, int32_t tp,
                       const char *tables, double overhead_s)
{
    int r = measured_tables_load(&c->t, tables && *tables ? tables : g->name);
    if (r) return r;
    c->flags = &c->flags_store;
    op_shapes_init(&c->sh, m, tp);
    cal_model_init(&c->cal, &cal_params_default, m, g, tp);
    c->overhead_s = overhead_s >= 0 ? overhead_s : g->step_overhead_s;
    c->cal.overhead_s = c->overhead_s;
    static const char *const gemm_names[GEMM_COUNT] = { "qkv", "o", "gate_up", "down", "lm_head" };
    char what[96];
    for (int i = 0; i < GEMM_COUNT; i++) {
        c->gemm_have[i] = measured_gemm_curve(&c->t, c->sh.gemm_n[i], c->sh.gemm_k[i], &c->gemm[i]);
        if (!c->gemm_have[i]) {
            snprintf(what, sizeof(what), "%s n=%.0f k=%.0f", gemm_names[i], c->sh.gemm_n[i], c->sh.gemm_k[i]);
            note_gap(c, "gemm %s outside the table: calibrated roofline", what);
        }
    }
    int32_t h = c->sh.heads, kvh = c->sh.kv_heads;
    c->prefill_fold = c->decode_fold = 1.0;
    c->prefill = measured_attn_find(c->t.prefill, c->t.n_prefill, h, kvh);
    if (!c->prefill) c->prefill = measured_attn_fold(c->t.prefill, c->t.n_prefill, h, kvh, &c->prefill_fold);
    c->decode = measured_attn_find(c->t.decode, c->t.n_decode, h, kvh);
    if (!c->decode) c->decode = measured_attn_fold(c->t.decode, c->t.n_decode, h, kvh, &c->decode_fold);
    snprintf(what, sizeof(what), "%d/%d heads", h, kvh);
    if (!c->prefill) note_gap(c, "prefill attention %s not measured: calibrated roofline", what);
    if (!c->decode) note_gap(c, "decode attention %s not measured: calibrated roofline", what);
    if (c->decode && c->decode_fold != 1.0) {
        char fold[192];
        snprintf(fold, sizeof(fold), "%s read as %d/%d with batch x %.0f", what, c->decode->heads,
                 c->decode->kv_heads, c->decode_fold);
        note_gap(c, "decode attention %s", fold);
    }
    for (int32_t i = 0; i < c->t.n_ops; i++)
        if (!strcmp(c->t.ops[i].model, m->name) && c->t.ops[i].tp == tp) c->ops = &c->t.ops[i];
    snprintf(what, sizeof(what), "%s tp=%d", m->name, tp);
    if (!c->ops) note_gap(c, "per-layer ops of %s not measured: calibrated roofline", what);
    if (tp > 1) {
        for (int32_t i = 0; i < c->t.n_allreduce; i++)
            if (c->t.allreduce_gpus[i] == tp) c->allreduce = &c->t.allreduce[i];
        snprintf(what, sizeof(what), "%d GPUs", tp);
        if (!c->allreduce) note_gap(c, "all-reduce over %s not measured: calibrated roofline", what);
    }
    return 0;
}

static void measured_cost_free(MeasuredCost *c)
{
    for (int i = 0; i < GEMM_COUNT; i++) opgrid_free(&c->gemm[i]);
    measured_tables_free(&c->t);
}

static double measured_cost_step(MeasuredCost *c, const StepShape *s, StepBreakdown *b, unsigned *flags)
{
    OpCostVtbl v = measured_vtbl_of(c);
    *c->flags = 0;
    double t = op_step_time(&v, c, &c->sh, s, b);
    if (flags) *flags = *c->flags;
    return t;
}

/* ---- the backend ---- */

static const OptSpec measured_opts[] = {
    { "step_overhead_s", OPT_DOUBLE, offsetof(MeasuredOpts, step_overhead_s), "-1",
      "host seconds per step; -1 = the GPU spec's step_overhead_s", NULL, -1.0, 10.0 },
    { "tables", OPT_STRING, offsetof(MeasuredOpts, tables), "",
      "op tables file; empty = models/profiles/measured/<gpu>.txt", NULL, OPT_NO_BOUNDS },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

static int measured_backend_init(void *priv, const void *opts, const BackendEnv *env)
{
    const MeasuredOpts *o = opts;
    if (!env->model || !env->gpu) return ss_error_set(EINVAL, "cost measured: needs a model and a GPU");
    return measured_cost_init(priv, env->model, env->gpu, env->tensor_parallel, o->tables,
                              o->step_overhead_s);
}

static double measured_backend_step_time(void *priv, const StepShape *shape)
{
    return measured_cost_step(priv, shape, NULL, NULL);
}

static double measured_backend_decode_span_time(void *priv, const StepShape *first, int64_t iters)
{
    MeasuredCost *c = priv;
    OpCostVtbl v = measured_vtbl_of(c);
    return op_decode_span_time(&v, c, &c->sh, first, iters);
}

/* Iteration from+i: the first's step with decode_context grown (from + i) x seqs. */
static void measured_backend_decode_iter_times(void *priv, const StepShape *first, int64_t from,
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
                   c->sh.layers * m_decode(c, seqs, (double)s.decode_context / seqs);
    double kv = (double)s.decode_context / seqs;
    for (int64_t i = 0; i < n; i++) out[i] = fixed + c->sh.layers * m_decode(c, seqs, kv + (double)i);
}

static void measured_backend_note_span(void *priv, const StepShape *first, const StepShape *decode,
                                       int64_t decode_iters)
{
    MeasuredCost *c = priv;
    unsigned f1 = 0, f2 = 0, f3 = 0;
    measured_cost_step(c, first, NULL, &f1);
    c->fb.steps++;
    if (f1) c->fb.fallback_steps++;
    for (int g = 0; g < OPG_COUNT; g++) c->fb.by_group[g] += (f1 >> g) & 1u;
    if (decode_iters <= 0) return;
    /* Table coverage along a span changes only at its ends (kv_len grows). */
    measured_cost_step(c, decode, NULL, &f2);
    StepShape last = *decode;
    last.decode_context += (decode_iters - 1) * decode->decode_seqs;
    measured_cost_step(c, &last, NULL, &f3);
    unsigned f = f2 | f3;
    c->fb.steps += decode_iters;
    if (f) c->fb.fallback_steps += decode_iters;
    for (int g = 0; g < OPG_COUNT; g++) c->fb.by_group[g] += ((f >> g) & 1u) ? decode_iters : 0;
}

static bool measured_backend_step_breakdown(void *priv, const StepShape *s, double *group_s)
{
    StepBreakdown b;
    measured_cost_step(priv, s, &b, NULL);
    for (int i = 0; i < OPG_COUNT; i++) group_s[i] = b.s[i];
    return true;
}

static void measured_backend_fallbacks(void *priv, CostFallbacks *out)
{
    const MeasuredCost *c = priv;
    *out = c->fb;
}

static void measured_backend_close(void *priv) { measured_cost_free(priv); }

const BackendOps cost_backend_measured = {
    .name = "measured",
    .help = "sum of measured kernel times (models/profiles/measured/<gpu>.txt), interpolated",
    .opts = measured_opts,
    .opts_size = sizeof(MeasuredOpts),
    .priv_size = sizeof(MeasuredCost),
    .init = measured_backend_init,
    .step_time = measured_backend_step_time,
    .decode_span_time = measured_backend_decode_span_time,
    .decode_iter_times = measured_backend_decode_iter_times,
    .note_span = measured_backend_note_span,
    .step_breakdown = measured_backend_step_breakdown,
    .fallbacks = measured_backend_fallbacks,
    .close = measured_backend_close,
};
