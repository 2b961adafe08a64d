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
 * Decode spans (measured_span.c): only decode attention changes from one
 * iteration to the next (the mean kv_len grows by one), and at a fixed batch
 * it is piecewise linear in kv_len, so the span's sum is one arithmetic
 * series per grid segment crossed: exact, O(grid). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cost/measured_internal.h"

typedef struct MeasuredOpts {
    double step_overhead_s;   /* < 0: the GPU file's */
    char tables[OPTS_STRING_MAX];  /* a path, or empty: the GPU's own */
} MeasuredOpts;


static double m_gemm(const void *ctx, OpGemm g, double m)
{
    const MeasuredCost *c = ctx;
    int grp = g == GEMM_LM_HEAD ? OPG_LM_HEAD : OPG_GEMM;
    if (!c->gemm_have[g]) {
        FLAG(c, grp);
        return cal_vtbl.gemm_s(&c->cal, g, m);
    }
    struct FixedMemo *memo = NULL;
    if (g == GEMM_LM_HEAD && m >= 1 && m < FIXED_MEMO_ROWS && (double)(int32_t)m == m) {
        memo = &c->memo[(int32_t)m];
        if (memo->have_lm) {
            *c->flags |= memo->lm_flags;
            return memo->lm_head_s;
        }
    }
    bool out = false;
    double t = opgrid_eval(&c->gemm[g], m, 0, &out);
    if (out) FLAG(c, grp);
    if (memo) {
        memo->lm_head_s = t;
        memo->lm_flags = out ? 1u << grp : 0;
        memo->have_lm = true;
    }
    return t;
}

static double m_layer_gemms(const void *ctx, double m)
{
    const MeasuredCost *c = ctx;
    if (!c->layer_gemms_have) return NAN;
    bool out = false;
    double t = opgrid_eval(&c->layer_gemms, m, 0, &out);
    if (out) FLAG(c, OPG_GEMM);
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
    const OpGrid *g = &c->decode->grid;
    if (batch >= 1 && batch < FIXED_MEMO_ROWS && (double)(int32_t)batch == batch) { /* every step's case */
        struct DecodeMemo *m = decode_memo(c, (int32_t)batch);
        if (m->outside || kv_len < g->y[0] || !(kv_len < m->kv_limit)) FLAG(c, OPG_ATTENTION);
        return decode_memo_at(c, m, g, kv_len);
    }
    if (measured_decode_attn_leaves(c, batch, kv_len)) FLAG(c, OPG_ATTENTION);
    DecodeRow r = measured_decode_row(c, batch);
    if (r.ny == 1 || kv_len <= r.y[0]) return row_at(&r, 0);
    int32_t i;
    double w;
    optable_locate(r.y, r.ny, kv_len, &i, &w);
    return row_at(&r, i) + w * (row_at(&r, i + 1) - row_at(&r, i));
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


/* The decode row of an integer batch, located once and remembered: which
 * two table rows it blends, and where their measured cells end (kv_len in
 * [y_i, y_i+1) reads columns i and i + 1). */
MEASURED_COLD struct DecodeMemo *measured_decode_memo_fill(const MeasuredCost *c, int32_t batch)
{
    struct DecodeMemo *m = &c->dmemo[batch];
    const OpGrid *g = &c->decode->grid;
    double xb = batch * c->decode_fold;
    optable_locate(g->x, g->nx, xb, &m->row, &m->w);
    m->outside = xb < g->x[0] || xb > g->x[g->nx - 1];
    int32_t jr = g->nx > 1 ? m->row + 1 : m->row, first_filled = g->ny;
    for (int32_t iy = 0; g->filled && iy < g->ny && first_filled == g->ny; iy++)
        if (g->filled[m->row * g->ny + iy] || g->filled[jr * g->ny + iy]) first_filled = iy;
    m->kv_limit = first_filled == g->ny ? nextafter(g->y[g->ny - 1], INFINITY)
                : first_filled == 0 ? -INFINITY : g->y[first_filled - 1];
    /* row_at's blend at every kv_len point, and the segments' slopes as the
     * pieces and sums compute them */
    const double *lo = g->v + (size_t)m->row * g->ny, *hi = g->nx > 1 ? lo + g->ny : lo;
    m->f = ss_malloc((size_t)(2 * g->ny) * sizeof(double));
    m->slope = m->f + g->ny;
    for (int32_t i = 0; i < g->ny; i++) m->f[i] = lo[i] + m->w * (hi[i] - lo[i]);
    for (int32_t i = 0; i + 1 < g->ny; i++) m->slope[i] = (m->f[i + 1] - m->f[i]) / (g->y[i + 1] - g->y[i]);
    m->have = true;
    return m;
}

DecodeRow measured_decode_row(const MeasuredCost *c, double batch)
{
    const OpGrid *g = &c->decode->grid;
    int32_t ib;
    double wb;
    if (batch >= 1 && batch < FIXED_MEMO_ROWS && (double)(int32_t)batch == batch) {
        const struct DecodeMemo *m = decode_memo(c, (int32_t)batch);
        ib = m->row;
        wb = m->w;
    } else {
        optable_locate(g->x, g->nx, batch * c->decode_fold, &ib, &wb);
    }
    int32_t jb = g->nx > 1 ? ib + 1 : ib;
    return (DecodeRow){ g->v + (size_t)ib * g->ny, g->v + (size_t)jb * g->ny, g->y, wb, g->ny };
}

static double m_decode_sum(const void *ctx, double batch, double kv0, int64_t n)
{
    const MeasuredCost *c = ctx;
    if (!c->decode) return cal_vtbl.decode_attn_sum_s(&c->cal, batch, kv0, n);
    DecodeRow r = measured_decode_row(c, batch);
    const double *y = r.y;
    int32_t ny = r.ny;
    if (ny == 1) return (double)n * row_at(&r, 0);
    /* Below the first kv_len: the first value (the kernel's floor). */
    double sum = seg_sum(kv0, n, -INFINITY, y[0], row_at(&r, 0), 0.0), last = kv0 + (double)(n - 1);
    int32_t i0;
    double w0;
    optable_locate(y, ny, kv0, &i0, &w0);
    for (int32_t i = i0; i + 1 < ny && y[i] <= last; i++) {
        double fa = row_at(&r, i), fb = row_at(&r, i + 1);
        double slope = (fb - fa) / (y[i + 1] - y[i]);
        double yb = i + 2 == ny ? INFINITY : y[i + 1];  /* the last segment extends past the grid */
        sum += seg_sum(kv0, n, y[i], yb, fa, slope);
    }
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
    double t = opgrid_eval(&c->other_sum, tokens, 0, &out);
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

static bool m_memo_get(const void *ctx, double tokens, StepBreakdown *b)
{
    const MeasuredCost *c = ctx;
    if (tokens < 1 || tokens >= FIXED_MEMO_ROWS) return false;
    const struct FixedMemo *m = &c->memo[(int32_t)tokens];
    if (!m->have || (double)(int32_t)tokens != tokens) {
        /* op_fixed computes it now: count its flags alone for the memo */
        c->memo_flags_before[0] = *c->flags;
        *c->flags = 0;
        return false;
    }
    b->s[OPG_GEMM] = m->b.s[OPG_GEMM];
    b->s[OPG_OTHER] = m->b.s[OPG_OTHER];
    b->s[OPG_ALLREDUCE] = m->b.s[OPG_ALLREDUCE];
    *c->flags |= m->flags;
    return true;
}

static void m_memo_put(const void *ctx, double tokens, const StepBreakdown *b)
{
    const MeasuredCost *c = ctx;
    if (tokens < 1 || tokens >= FIXED_MEMO_ROWS || (double)(int32_t)tokens != tokens) return;
    struct FixedMemo *m = &c->memo[(int32_t)tokens];
    m->b = *b;
    m->flags = *c->flags;
    m->have = true;
    *c->flags |= c->memo_flags_before[0];
}

/* MoE experts and their all-to-alls: no measured tables of grouped expert
 * GEMMs yet, so the calibrated roofline's, counted as fallbacks. */
static double m_gemm_nk(const void *ctx, double groups, double m, double n, double k, double bytes)
{
    const MeasuredCost *c = ctx;
    FLAG(c, OPG_GEMM);
    return cal_vtbl.gemm_nk_s(&c->cal, groups, m, n, k, bytes);
}

static double m_alltoall(const void *ctx, double bytes)
{
    const MeasuredCost *c = ctx;
    FLAG(c, OPG_ALLREDUCE);
    return cal_vtbl.alltoall_s(&c->cal, bytes);
}

OpCostVtbl measured_vtbl_of(const MeasuredCost *c)
{
    return (OpCostVtbl){ .gemm_s = m_gemm, .prefill_attn_s = m_prefill, .decode_attn_s = m_decode,
                         .decode_attn_sum_s = m_decode_sum, .other_s = m_other,
                         .allreduce_s = m_allreduce, .layer_gemms_s = m_layer_gemms, .fixed_memo_get = m_memo_get,
                         .fixed_memo_put = m_memo_put, .gemm_nk_s = m_gemm_nk, .alltoall_s = m_alltoall,
                         .overhead_s = c->overhead_s };
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
    /* Only this model's GEMM shapes and per-layer ops are read from the file. */
    OpShapes sh;
    op_shapes_init(&sh, m, tp);
    MeasuredNeed need;
    memset(&need, 0, sizeof(need));
    for (int i = 0; i < GEMM_COUNT; i++) {
        need.n[need.n_n++] = sh.gemm_n[i];
        need.k[need.n_k++] = sh.gemm_k[i];
    }
    snprintf(need.model, sizeof(need.model), "%s", m->name);
    need.tp = tp;
    need.heads = sh.heads;
    need.kv_heads = sh.kv_heads;
    int r = measured_tables_shared_for(&c->t, tables && *tables ? tables : g->name, &need);
    if (r) return r;
    c->flags = &c->flags_store;
    c->memo = ss_calloc(FIXED_MEMO_ROWS, sizeof(*c->memo));
    c->dmemo = ss_calloc(FIXED_MEMO_ROWS, sizeof(*c->dmemo));
    c->pmemo = ss_calloc(FIXED_MEMO_ROWS, sizeof(*c->pmemo));
    c->memo_flags_before = &c->memo_store;
    op_shapes_init(&c->sh, m, tp);
    cal_model_init(&c->cal, &cal_params_default, m, g, tp);
    c->overhead_s = overhead_s >= 0 ? overhead_s : g->step_overhead_s;
    c->cal.overhead_s = c->overhead_s;
    static const char *const gemm_names[GEMM_COUNT] = { "qkv", "o", "gate_up", "down", "lm_head" };
    char what[96];
    /* The tables are 16-bit kernels: FP8 GEMMs or KV, MLA attention and
     * MoE experts take the calibrated roofline (said in the notes). */
    bool fp8_gemm = m->fp8_compute || m->bytes_per_param == 1;
    if (fp8_gemm) note_gap(c, "gemm %s: calibrated roofline", "at FP8 weights");
    if (c->sh.moe_layers) note_gap(c, "moe %s: calibrated roofline (grouped GEMM)", "experts and all-to-all");
    for (int i = 0; i < GEMM_COUNT; i++) {
        c->gemm_have[i] = !fp8_gemm && measured_gemm_curve(c->t, c->sh.gemm_n[i], c->sh.gemm_k[i], &c->gemm[i]);
        if (fp8_gemm) continue;
        if (!c->gemm_have[i]) {
            snprintf(what, sizeof(what), "%s n=%.0f k=%.0f", gemm_names[i], c->sh.gemm_n[i], c->sh.gemm_k[i]);
            note_gap(c, "gemm %s outside the table: calibrated roofline", what);
        }
    }
    int32_t h = c->sh.heads, kvh = c->sh.kv_heads;
    c->prefill_fold = c->decode_fold = 1.0;
    bool attn_tables = !c->sh.mla && c->sh.kv_bytes != 1;
    if (!attn_tables) note_gap(c, "attention %s: calibrated roofline", c->sh.mla ? "MLA" : "with an FP8 KV cache");
    c->prefill = attn_tables ? measured_attn_find(c->t->prefill, c->t->n_prefill, h, kvh) : NULL;
    if (!c->prefill && attn_tables)
        c->prefill = measured_attn_fold(c->t->prefill, c->t->n_prefill, h, kvh, &c->prefill_fold);
    c->decode = attn_tables ? measured_attn_find(c->t->decode, c->t->n_decode, h, kvh) : NULL;
    if (!c->decode && attn_tables)
        c->decode = measured_attn_fold(c->t->decode, c->t->n_decode, h, kvh, &c->decode_fold);
    snprintf(what, sizeof(what), "%d/%d heads", h, kvh);
    if (!c->prefill) note_gap(c, "prefill attention %s not measured: calibrated roofline", what);
    if (!c->decode) note_gap(c, "decode attention %s not measured: calibrated roofline", what);
    if (c->decode && c->decode_fold != 1.0) {
        char fold[192];
        snprintf(fold, sizeof(fold), "%s read as %d/%d with batch x %.0f", what, c->decode->heads,
                 c->decode->kv_heads, c->decode_fold);
        note_gap(c, "decode attention %s", fold);
    }
    if (c->decode && c->decode->grid.ny > 1) {
        c->decode_kv_index = ss_malloc(sizeof(*c->decode_kv_index));
        opaxis_index_init(c->decode_kv_index, c->decode->grid.y, c->decode->grid.ny);
    }
    if (c->prefill && c->prefill->grid.ny > 1) {
        c->prefill_isl_index = ss_malloc(sizeof(*c->prefill_isl_index));
        opaxis_index_init(c->prefill_isl_index, c->prefill->grid.y, c->prefill->grid.ny);
    }
    for (int32_t i = 0; i < c->t->n_ops; i++)
        if (!strcmp(c->t->ops[i].model, m->name) && c->t->ops[i].tp == tp) c->ops = &c->t->ops[i];
    /* Curves on one grid add up point by point: one look-up instead of four
     * (GEMMs) or six (two norms, RoPE, activation, two residual adds). */
    c->layer_gemms_have = true;
    for (int i = GEMM_QKV; i <= GEMM_DOWN; i++) c->layer_gemms_have &= c->gemm_have[i];
    if (c->layer_gemms_have) {
        opgrid_copy(&c->layer_gemms, &c->gemm[GEMM_QKV]);
        for (int32_t x = 0; x < c->layer_gemms.nx; x++)
            c->layer_gemms.v[x] = c->gemm[GEMM_QKV].v[x] + c->gemm[GEMM_O].v[x] + c->gemm[GEMM_UP].v[x] +
                                  c->gemm[GEMM_DOWN].v[x];
    }
    if (c->ops) {
        const OpGrid *col = c->ops->col;
        opgrid_copy(&c->other_sum, &col[OPS_NORM_IN]);
        for (int32_t x = 0; x < c->other_sum.nx; x++)
            c->other_sum.v[x] = col[OPS_NORM_IN].v[x] + col[OPS_NORM_POST].v[x] + col[OPS_ROPE].v[x] +
                                col[OPS_ACT].v[x] + 2.0 * col[OPS_ADD].v[x];
    }
    snprintf(what, sizeof(what), "%s tp=%d", m->name, tp);
    if (!c->ops) note_gap(c, "per-layer ops of %s not measured: calibrated roofline", what);
    if (tp > 1) {
        for (int32_t i = 0; i < c->t->n_allreduce; i++)
            if (c->t->allreduce_gpus[i] == tp) c->allreduce = &c->t->allreduce[i];
        snprintf(what, sizeof(what), "%d GPUs", tp);
        if (!c->allreduce) note_gap(c, "all-reduce over %s not measured: calibrated roofline", what);
    }
    return 0;
}

static void measured_cost_free(MeasuredCost *c)
{
    for (int i = 0; i < GEMM_COUNT; i++) opgrid_free(&c->gemm[i]);
    opgrid_free(&c->layer_gemms);
    opgrid_free(&c->other_sum);
    free(c->memo);
    for (int32_t b = 0; c->dmemo && b < FIXED_MEMO_ROWS; b++) free(c->dmemo[b].f);
    free(c->dmemo);
    free(c->pmemo);
    free(c->decode_kv_index);
    free(c->prefill_isl_index);
}

double measured_cost_step(MeasuredCost *c, const StepShape *s, StepBreakdown *b, unsigned *flags)
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

/* opgrid_eval of the prefill table at (batch x fold, isl), the batch axis
 * located once per batch (the same operations, so the same bits). */
static MEASURED_INLINE double prefill_memo_eval(MeasuredCost *c, int32_t batch, double isl, bool *outside)
{
    const OpGrid *g = &c->prefill->grid;
    struct PrefillMemo *p = &c->pmemo[batch];
    if (!p->have) {
        p->out_x = optable_locate(g->x, g->nx, (double)batch * c->prefill_fold, &p->ix, &p->wx);
        p->jx = g->nx > 1 ? p->ix + 1 : p->ix;
        p->have = true;
    }
    int32_t ny = g->ny, ix = p->ix, jx = p->jx, iy = 0, jy;
    double wx = p->wx, wy = 0.0;
    bool out = p->out_x;
    if (ny > 1) {
        out |= isl < g->y[0] || isl > g->y[ny - 1]; /* optable_locate's answer */
        if (isl > g->y[0]) {
            opaxis_locate(c->prefill_isl_index, g->y, ny, isl, &iy, &wy);
        }
    }
    jy = ny > 1 ? iy + 1 : iy;
    if (g->filled)
        out |= g->filled[ix * ny + iy] | g->filled[jx * ny + iy] | g->filled[ix * ny + jy] | g->filled[jx * ny + jy];
    *outside = out;
    double v00 = g->v[ix * ny + iy], v10 = g->v[jx * ny + iy];
    if (ny == 1) return v00 + wx * (v10 - v00);
    double v01 = g->v[ix * ny + jy], v11 = g->v[jx * ny + jy];
    double a = v00 + wy * (v01 - v00), b = v10 + wy * (v11 - v10);
    return a + wx * (b - a);
}

/* op_fixed_part fills the memos of this many tokens and rows (kept out of
 * line: the hot path below then saves fewer registers per call). */
static MEASURED_COLD bool step_memo_fill(MeasuredCost *c, int64_t tokens, int64_t rows)
{
    OpCostVtbl v = measured_vtbl_of(c);
    StepBreakdown b;
    *c->flags = 0;
    op_fixed_part(&v, c, &c->sh, (double)tokens, (double)rows, &b);
    return c->memo[tokens].have && c->memo[rows].have_lm;
}

/* The general path, out of line for the same reason. */
static MEASURED_COLD double step_time_composed(MeasuredCost *c, const StepShape *s, unsigned *flags)
{
    return measured_cost_step(c, s, NULL, flags);
}

/* op_step_time over the measured ops when every per-count part is in the
 * memos: the same operations in the same order, so the same bits, without
 * the op-by-op calls.  False when a memo is not there yet (the general path
 * then fills it) or an op has no table. */
static MEASURED_INLINE bool measured_step_memo(MeasuredCost *c, const StepShape *s, double *t_out, unsigned *flags_out)
{
    int64_t tokens = step_shape_tokens(s), rows = (int64_t)s->prefill_seqs + s->decode_seqs;
    if (tokens < 1 || tokens >= FIXED_MEMO_ROWS || rows < 1 || rows >= FIXED_MEMO_ROWS) return false;
    const struct FixedMemo *fixed = &c->memo[tokens], *lm = &c->memo[rows];
    bool prefill = s->prefill_seqs > 0 && s->prefill_tokens > 0, decode = s->decode_seqs > 0;
    if ((prefill && !c->prefill) || (decode && !c->decode) || !c->gemm_have[GEMM_LM_HEAD]) return false;
    if ((!fixed->have || !lm->have_lm) && !step_memo_fill(c, tokens, rows)) return false;
    unsigned flags = fixed->flags | lm->lm_flags;
    double attn = 0;
    if (prefill) {
        double isl = op_equivalent_isl(s->prefill_attn_pairs / s->prefill_seqs);
        bool out;
        attn += prefill_memo_eval(c, s->prefill_seqs, isl, &out);
        if (out) flags |= 1u << OPG_ATTENTION;
    }
    if (decode) {
        const OpGrid *g = &c->decode->grid;
        struct DecodeMemo *m = decode_memo(c, s->decode_seqs);
        double kv = (double)s->decode_context / s->decode_seqs;
        if (m->outside || kv < g->y[0] || !(kv < m->kv_limit)) flags |= 1u << OPG_ATTENTION;
        attn += decode_memo_at(c, m, g, kv);
    }
    double t = 0; /* op_sum's order: gemm, attention, other ops, all-reduce, LM head, overhead */
    t += fixed->b.s[OPG_GEMM];
    t += c->sh.layers * attn;
    t += fixed->b.s[OPG_OTHER];
    t += fixed->b.s[OPG_ALLREDUCE];
    t += lm->lm_head_s;
    t += c->overhead_s;
    *t_out = t;
    *flags_out = flags;
    return true;
}

double measured_step_time_flags(MeasuredCost *c, const StepShape *shape, unsigned *flags)
{
    double t;
    if (!measured_step_memo(c, shape, &t, flags)) t = step_time_composed(c, shape, flags);
    return t;
}

/* (Each caller its own copy of the memo path: span_plan's, its only other
 * caller, is then inlined there.) */
static double measured_backend_step_time(void *priv, const StepShape *shape)
{
    MeasuredCost *c = priv;
    double t;
    if (!measured_step_memo(c, shape, &t, &c->last_flags)) t = step_time_composed(c, shape, &c->last_flags);
    c->last_shape = *shape;
    return t;
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
    .decode_iter_pieces = measured_backend_decode_iter_pieces,
    .note_span = measured_backend_note_span,
    .span_plan = measured_backend_span_plan,
    .note_plan = measured_backend_note_plan,
    .step_breakdown = measured_backend_step_breakdown,
    .fallbacks = measured_backend_fallbacks,
    .close = measured_backend_close,
};
