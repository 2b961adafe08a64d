/* calibrated.c: the calibrated roofline's op formulas (calibrated.h). */
#include "cost/calibrated.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

/* Fitted by `servesim cost fit` on the A100 and H100 tables together
 * (models/profiles/calibrated.txt holds the same values with the command). */
const CalParams cal_params_default = {
    .gemm_floor_cycles = 7208.25,
    .gemm_flop_eff = 0.883624,
    .gemm_m_half = 120.953,
    .gemm_bw_eff = 0.907635,
    .gemm_sharpness = 4,
    .pa_floor_cycles = 22666.8,
    .pa_flop_eff = 0.592359,
    .pa_len_half = 1.57526e-20,
    .pa_bw_eff = 0.364271,
    .da_floor_cycles = 21926.3,
    .da_bw_eff = 0.926401,
    .da_seq_bytes = 66523.7,
    .da_block_bpc = 343.896,
    .op_floor_cycles = 4688.41,
    .op_bw_eff = 0.573691,
    .ar_floor_s = 5.13872e-06,
    .ar_bw_eff = 0.627308,
};

static const char *const param_names[CAL_N_PARAMS] = {
    "gemm_floor_cycles", "gemm_flop_eff", "gemm_m_half", "gemm_bw_eff", "gemm_sharpness",
    "pa_floor_cycles", "pa_flop_eff", "pa_len_half", "pa_bw_eff",
    "da_floor_cycles", "da_bw_eff", "da_seq_bytes", "da_block_bpc",
    "op_floor_cycles", "op_bw_eff",
    "ar_floor_s", "ar_bw_eff",
};

const char *cal_param_name(int i) { return i >= 0 && i < CAL_N_PARAMS ? param_names[i] : NULL; }

double cal_clock_hz(const GpuSpec *g) { return g->clock_hz > 0 ? g->clock_hz : 1.5e9; }

static inline double max2(double a, double b) { return a > b ? a : b; }

double cal_gemm_s(const CalParams *p, double F, double B, double clock, double m, double n, double k,
                  double bytes)
{
    if (m <= 0) return 0.0;
    double flops = 2.0 * m * n * k;
    double moved = bytes * (m * k + n * k + m * n);
    double tc = flops / (F * p->gemm_flop_eff * m / (m + p->gemm_m_half));
    double tm = moved / (B * p->gemm_bw_eff);
    /* A soft max, (tc^4 + tm^4)^(1/4): near the crossover neither limit is
     * reached.  The exponent was fitted (3.8) and is fixed at 4, which needs
     * two square roots instead of pow(), a fifth of a step's cost. */
    double hi = max2(tc, tm), lo = (tc + tm - hi) / hi;
    double lo2 = lo * lo;
    return p->gemm_floor_cycles / clock + hi * sqrt(sqrt(1.0 + lo2 * lo2));
}

double cal_prefill_attn_s(const CalParams *p, double F, double B, double clock, double batch, double isl,
                          double heads, double kv_heads, double head_dim, double bytes)
{
    if (batch <= 0 || isl <= 0) return 0.0;
    double flops = 4.0 * batch * heads * head_dim * isl * (isl + 1) * 0.5;
    double moved = bytes * batch * isl * head_dim * (2.0 * heads + 2.0 * kv_heads);
    double tc = flops / (F * p->pa_flop_eff * isl / (isl + p->pa_len_half));
    double tm = moved / (B * p->pa_bw_eff);
    return p->pa_floor_cycles / clock + tc + tm;
}

double cal_decode_attn_s(const CalParams *p, double B, double clock, double batch, double kv_len, double kv_heads,
                         double head_dim, double bytes)
{
    if (batch <= 0) return 0.0;
    double moved = bytes * 2.0 * batch * (kv_len + 1) * kv_heads * head_dim; /* K and V */
    double w = batch * kv_heads;
    return p->da_floor_cycles / clock + (moved + w * p->da_seq_bytes) / (B * p->da_bw_eff) +
           moved / w / (clock * p->da_block_bpc);
}

double cal_allreduce_s(const CalParams *p, double link, double elems, double gpus, double bytes)
{
    if (gpus <= 1 || elems <= 0) return 0.0;
    return p->ar_floor_s + 2.0 * (gpus - 1) / gpus * elems * bytes / (link * p->ar_bw_eff);
}

/* Per layer: two RMSNorms (read and write hidden), RoPE (read and write q
 * and k), the activation (read gate and up, write one), two residual adds
 * (read two, write one): six kernels. */
double cal_other_s(const CalParams *p, double B, double clock, const OpShapes *sh, double tokens)
{
    if (tokens <= 0) return 0.0;
    double q = (double)sh->heads * sh->head_dim, kv = (double)sh->kv_heads * sh->head_dim;
    double act = (sh->gated_mlp ? 3.0 : 2.0) * sh->intermediate;
    double elems = 2 * (2.0 * sh->hidden) + 2.0 * (q + kv) + act + 2 * (3.0 * sh->hidden);
    return 6.0 * p->op_floor_cycles / clock + tokens * elems * sh->bytes / (B * p->op_bw_eff);
}

void cal_model_init(CalModel *c, const CalParams *p, const ModelSpec *m, const GpuSpec *g, int32_t tp)
{
    c->p = *p;
    op_shapes_init(&c->sh, m, tp);
    c->flops = g->flops_16bit;
    c->bw = g->hbm_bandwidth;
    c->link = g->interconnect_bandwidth;
    c->clock_hz = cal_clock_hz(g);
    c->overhead_s = g->step_overhead_s;
}

static double v_gemm(const void *ctx, OpGemm gm, double m)
{
    const CalModel *c = ctx;
    return cal_gemm_s(&c->p, c->flops, c->bw, c->clock_hz, m, c->sh.gemm_n[gm], c->sh.gemm_k[gm], c->sh.bytes);
}

static double v_prefill(const void *ctx, double batch, double isl)
{
    const CalModel *c = ctx;
    return cal_prefill_attn_s(&c->p, c->flops, c->bw, c->clock_hz, batch, isl, c->sh.heads, c->sh.kv_heads,
                              c->sh.head_dim, c->sh.bytes);
}

static double v_decode(const void *ctx, double batch, double kv_len)
{
    const CalModel *c = ctx;
    return cal_decode_attn_s(&c->p, c->bw, c->clock_hz, batch, kv_len, c->sh.kv_heads, c->sh.head_dim, c->sh.bytes);
}

/* Linear in kv_len: n a + b (kv0 n + n (n - 1) / 2). */
static double v_decode_sum(const void *ctx, double batch, double kv0, int64_t n)
{
    double a = v_decode(ctx, batch, 0.0), b = v_decode(ctx, batch, 1.0) - a;
    double dn = (double)n;
    return dn * a + b * (kv0 * dn + dn * (dn - 1) * 0.5);
}

static double v_other(const void *ctx, double tokens)
{
    const CalModel *c = ctx;
    return cal_other_s(&c->p, c->bw, c->clock_hz, &c->sh, tokens);
}

static double v_allreduce(const void *ctx, double elems)
{
    const CalModel *c = ctx;
    return cal_allreduce_s(&c->p, c->link, elems, c->sh.tp, c->sh.bytes);
}

const OpCostVtbl cal_vtbl = {
    .gemm_s = v_gemm, .prefill_attn_s = v_prefill, .decode_attn_s = v_decode,
    .decode_attn_sum_s = v_decode_sum, .other_s = v_other, .allreduce_s = v_allreduce,
};

int cal_params_write(const CalParams *p, FILE *f, const char *comment)
{
    const double *v = (const double *)p;
    if (comment) fprintf(f, "%s", comment);
    for (int i = 0; i < CAL_N_PARAMS; i++) fprintf(f, "%-16s = %.6g\n", param_names[i], v[i]);
    return ferror(f) ? ss_error_set(EIO, "writing calibration parameters failed") : 0;
}

int cal_params_load(CalParams *p, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return ss_error_set(errno, "%s: %s", path, strerror(errno));
    *p = cal_params_default;
    double *v = (double *)p;
    bool seen[CAL_N_PARAMS] = { false };
    char buf[256], key[64], val[64];
    int line = 0, r = 0;
    while (fgets(buf, sizeof(buf), f)) {
        line++;
        char *hash = strchr(buf, '#');
        if (hash) *hash = '\0';
        char extra[8];
        int got = sscanf(buf, " %63[a-z_] = %63s %7s", key, val, extra);
        if (got <= 0) continue;
        if (got != 2) { r = ss_error_set(EINVAL, "%s:%d: expected 'key = value'", path, line); break; }
        int i = 0;
        while (i < CAL_N_PARAMS && strcmp(param_names[i], key)) i++;
        if (i == CAL_N_PARAMS) { r = ss_error_set(EINVAL, "%s:%d: unknown field '%s'", path, line, key); break; }
        if (seen[i]) { r = ss_error_set(EINVAL, "%s:%d: field '%s' given twice", path, line, key); break; }
        seen[i] = true;
        if (ss_parse_double(val, &v[i]) || !(v[i] > 0)) {
            r = ss_error_set(EINVAL, "%s:%d: %s: '%s' is not a positive number", path, line, key, val);
            break;
        }
    }
    fclose(f);
    for (int i = 0; !r && i < CAL_N_PARAMS; i++)
        if (!seen[i]) r = ss_error_set(EINVAL, "%s: missing field '%s'", path, param_names[i]);
    return r;
}

double cal_step_time(const CalModel *c, const StepShape *s, StepBreakdown *b)
{
    OpCostVtbl v = cal_vtbl;
    v.overhead_s = c->overhead_s;
    return op_step_time(&v, c, &c->sh, s, b);
}

double cal_decode_span_time(const CalModel *c, const StepShape *first, int64_t iters)
{
    OpCostVtbl v = cal_vtbl;
    v.overhead_s = c->overhead_s;
    return op_decode_span_time(&v, c, &c->sh, first, iters);
}

bool cal_decode_iter_linear(const CalModel *c, const StepShape *first, double *a, double *b)
{
    /* Only decode attention changes, linearly in kv_len: a + b j exactly. */
    StepShape next = *first;
    next.decode_context += first->decode_seqs;
    *a = cal_step_time(c, first, NULL);
    double a1 = cal_decode_attn_s(&c->p, c->bw, c->clock_hz, first->decode_seqs,
                                  (double)next.decode_context / first->decode_seqs, c->sh.kv_heads,
                                  c->sh.head_dim, c->sh.bytes);
    double a0 = cal_decode_attn_s(&c->p, c->bw, c->clock_hz, first->decode_seqs,
                                  (double)first->decode_context / first->decode_seqs, c->sh.kv_heads,
                                  c->sh.head_dim, c->sh.bytes);
    *b = c->sh.layers * (a1 - a0);
    return *b >= 0;
}
