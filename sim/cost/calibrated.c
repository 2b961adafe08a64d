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
    .pa_floor_s = 1.14514e-05,
    .pa_flop_eff = 0.591159,
    .pa_block_cycles = 1559.11,
    .pa_bw_eff = 0.395593,
    .da_floor_cycles = 21926.3,
    .da_bw_eff = 0.926401,
    .da_seq_bytes = 66523.8,
    .da_block_bpc = 343.895,
    .op_floor_cycles = 2128.64,
    .op_bw_eff = 1.44491,
    .op_cycles_per_elem = 0.980945,
    .op_rows_per_sm = 1.49298,
    .ar_floor_s = 4.85153e-06,
    .ar_bw_eff = 0.67037,
    .ar_gpu_s = 1.22552e-07,
};

static const char *const param_names[CAL_N_PARAMS] = {
    "gemm_floor_cycles", "gemm_flop_eff", "gemm_m_half", "gemm_bw_eff", "gemm_sharpness",
    "pa_floor_s", "pa_flop_eff", "pa_block_cycles", "pa_bw_eff",
    "da_floor_cycles", "da_bw_eff", "da_seq_bytes", "da_block_bpc",
    "op_floor_cycles", "op_bw_eff", "op_cycles_per_elem", "op_rows_per_sm",
    "ar_floor_s", "ar_bw_eff", "ar_gpu_s", "stream_fraction",
};
/* Fields a parameter file may leave out (their default is 0: the datasheet). */
static bool param_optional(int i) { return !strcmp(param_names[i], "stream_fraction"); }

const char *cal_param_name(int i) { return i >= 0 && i < CAL_N_PARAMS ? param_names[i] : NULL; }

double cal_clock_hz(const GpuSpec *g) { return g->clock_hz > 0 ? g->clock_hz : 1.5e9; }

CalHw cal_hw_of(const GpuSpec *g, const CalParams *p)
{
    double bw = g->hbm_bandwidth;
    if (p->stream_fraction > 0)
        bw = g->stream_bandwidth > 0 ? g->stream_bandwidth : g->hbm_bandwidth * p->stream_fraction;
    return (CalHw){ .flops = g->flops_16bit, .bw = bw, .link = g->interconnect_bandwidth,
                    .clock = cal_clock_hz(g), .sms = g->sm_count > 0 ? g->sm_count : 108.0 };
}

static inline double max2(double a, double b) { return a > b ? a : b; }

double cal_gemm_s(const CalParams *p, const CalHw *hw, double m, double n, double k, double bytes)
{
    if (m <= 0) return 0.0;
    double flops = 2.0 * m * n * k;
    double moved = bytes * (m * k + n * k + m * n);
    double tc = flops / (hw->flops * p->gemm_flop_eff * m / (m + p->gemm_m_half));
    double tm = moved / (hw->bw * p->gemm_bw_eff);
    /* A soft max, (tc^4 + tm^4)^(1/4): near the crossover neither limit is
     * reached.  The exponent was fitted (3.8) and is fixed at 4, which needs
     * two square roots instead of pow(), a fifth of a step's cost. */
    double hi = max2(tc, tm), lo = (tc + tm - hi) / hi;
    double lo2 = lo * lo;
    return p->gemm_floor_cycles / hw->clock + hi * sqrt(sqrt(1.0 + lo2 * lo2));
}

/* Flash attention's forward pass: one block per (sequence, head, 128-query
 * tile); query tile i visits the i + 1 key tiles at or before it, each a
 * full 128 x 128 tile of QK^T and PV however short the prompt (a 16-token
 * prompt pays for a 128 x 128 tile).  Each block also has its fixed work
 * (Q load, softmax epilogue, O store), spread over the SMs. */
double cal_prefill_attn_s(const CalParams *p, const CalHw *hw, double batch, double isl, double heads,
                          double kv_heads, double head_dim, double bytes)
{
    if (batch <= 0 || isl <= 0) return 0.0;
    double tiles = ceil(isl / 128.0);
    double blocks = batch * heads * tiles;
    double flops = 4.0 * batch * heads * head_dim * isl * (isl + 1) * 0.5;
    double moved = bytes * batch * isl * head_dim * (2.0 * heads + 2.0 * kv_heads);
    double tc = flops / (hw->flops * p->pa_flop_eff);
    double tb = blocks * p->pa_block_cycles / (hw->clock * hw->sms);
    double tm = moved / (hw->bw * p->pa_bw_eff);
    return p->pa_floor_s + tc + tb + tm;
}

double cal_decode_attn_s(const CalParams *p, const CalHw *hw, double batch, double kv_len, double kv_heads,
                         double head_dim, double bytes)
{
    if (batch <= 0) return 0.0;
    double moved = bytes * 2.0 * batch * (kv_len + 1) * kv_heads * head_dim; /* K and V */
    double w = batch * kv_heads;
    return p->da_floor_cycles / hw->clock + (moved + w * p->da_seq_bytes) / (hw->bw * p->da_bw_eff) +
           moved / w / (hw->clock * p->da_block_bpc);
}

/* vLLM's custom all-reduce: one-shot (every GPU reads its g - 1 peers'
 * buffers: one barrier) for small messages, two-shot (reduce-scatter +
 * all-gather: two barriers, the ring's traffic) above.  From 8 MiB vLLM
 * hands over to NCCL's ring; its latency fitted alone differs by GPU (57 us
 * on A100, 25 us on H100) with nothing in a datasheet to say so, and the
 * two-shot form transfers between GPUs better. */
double cal_allreduce_s(const CalParams *p, const CalHw *hw, double elems, double gpus, double bytes)
{
    if (gpus <= 1 || elems <= 0) return 0.0;
    double size = elems * bytes, link = hw->link * p->ar_bw_eff;
    double ring = 2.0 * (gpus - 1) / gpus * size / link;
    double sync = p->ar_floor_s + (gpus - 2) * p->ar_gpu_s;
    bool one_shot = gpus <= 2 || (gpus <= 4 && size < 512.0 * 1024) || size < 256.0 * 1024;
    return one_shot ? sync + (gpus - 1) * size / link : 2.0 * sync + ring;
}

/* One row kernel (a norm, RoPE, the activation) over `tokens` rows of
 * `width` elements moving `bytes_per_row`: a block per row walks its
 * elements; the SMs hold sms x rows_per_sm rows at once. */
static double row_kernel_s(const CalParams *p, const CalHw *hw, double tokens, double width, double bytes_per_row)
{
    double waves = max2(1.0, tokens / (hw->sms * p->op_rows_per_sm));
    return p->op_floor_cycles / hw->clock + waves * width * p->op_cycles_per_elem / hw->clock +
           tokens * bytes_per_row / (hw->bw * p->op_bw_eff);
}

/* Per layer: two RMSNorms (read and write hidden), RoPE (read and write q
 * and k), the activation (read gate and up, write one): row kernels; two
 * residual adds (read two, write one): element-wise, floor and bytes. */
double cal_other_s(const CalParams *p, const CalHw *hw, const OpShapes *sh, double tokens)
{
    if (tokens <= 0) return 0.0;
    double q = (double)sh->heads * sh->head_dim, kv = (double)sh->kv_heads * sh->head_dim;
    double hid = sh->hidden, inter = sh->intermediate, b = sh->bytes;
    double act_in = sh->gated_mlp ? 2.0 : 1.0;
    double t = 2.0 * row_kernel_s(p, hw, tokens, hid, 2.0 * hid * b) + row_kernel_s(p, hw, tokens, q + kv, 2.0 * (q + kv) * b) +
               row_kernel_s(p, hw, tokens, inter, (act_in + 1.0) * inter * b);
    return t + 2.0 * (p->op_floor_cycles / hw->clock + tokens * 3.0 * hid * b / (hw->bw * p->op_bw_eff));
}

void cal_model_init(CalModel *c, const CalParams *p, const ModelSpec *m, const GpuSpec *g, int32_t tp)
{
    c->p = *p;
    op_shapes_init(&c->sh, m, tp);
    CalHw hw = cal_hw_of(g, p);
    c->flops = hw.flops;
    c->bw = hw.bw;
    c->link = hw.link;
    c->clock_hz = hw.clock;
    c->sms = hw.sms;
    c->overhead_s = g->step_overhead_s;
    /* FP8 GEMMs at the FP8 tensor rate; attention stays 16-bit. */
    c->gemm_flops = m->fp8_compute && g->flops_fp8 > 0 ? g->flops_fp8 : hw.flops;
}

static CalHw hw_of_model(const CalModel *c)
{
    return (CalHw){ .flops = c->flops, .bw = c->bw, .link = c->link, .clock = c->clock_hz, .sms = c->sms };
}

static double v_gemm(const void *ctx, OpGemm gm, double m)
{
    const CalModel *c = ctx;
    CalHw hw = hw_of_model(c);
    hw.flops = c->gemm_flops;
    return cal_gemm_s(&c->p, &hw, m, c->sh.gemm_n[gm], c->sh.gemm_k[gm], c->sh.bytes);
}

/* A grouped GEMM: one launch (one floor), each group's work at its own m. */
static double v_gemm_nk(const void *ctx, double groups, double m, double n, double k, double bytes)
{
    const CalModel *c = ctx;
    if (groups <= 0 || m <= 0) return 0.0;
    CalHw hw = hw_of_model(c);
    hw.flops = c->gemm_flops;
    double floor = c->p.gemm_floor_cycles / hw.clock;
    return floor + groups * (cal_gemm_s(&c->p, &hw, m, n, k, bytes) - floor);
}

/* All-to-all: the all-reduce's barrier, then each GPU's bytes over its link. */
static double v_alltoall(const void *ctx, double bytes)
{
    const CalModel *c = ctx;
    if (c->sh.ep <= 1 || bytes <= 0) return 0.0;
    return c->p.ar_floor_s + (c->sh.ep - 2) * c->p.ar_gpu_s + bytes / (c->link * c->p.ar_bw_eff);
}

/* MLA decode (weights absorbed, as vLLM and FlashMLA run it): every head
 * attends over the one cached latent: kv_lora + rope elements per token,
 * read once per sequence; 2 (kv_lora + rope) + 2 kv_lora FLOPs per head per
 * pair, which at 128 heads is compute-bound on a Hopper. */
static double cal_decode_mla_s(const CalParams *p, const CalHw *hw, const OpShapes *sh, double batch, double kv_len)
{
    if (batch <= 0) return 0.0;
    /* Per cached token: the slower of reading it and computing on it (the
     * larger slope), so that the time stays linear in kv_len (spans in
     * closed form); the per-sequence bytes on top. */
    double token_bytes = sh->kv_bytes * batch * sh->mla_kv_elems;
    double read_s = token_bytes / (hw->bw * p->da_bw_eff) + token_bytes / batch / (hw->clock * p->da_block_bpc);
    double compute_s = 2.0 * batch * sh->heads * (sh->mla_kv_elems + sh->mla_lora) / (hw->flops * p->pa_flop_eff);
    return p->da_floor_cycles / hw->clock + batch * p->da_seq_bytes / (hw->bw * p->da_bw_eff) +
           (kv_len + 1) * max2(read_s, compute_s);
}

static double cal_decode_attn_of(const CalModel *c, double batch, double kv_len)
{
    CalHw hw = hw_of_model(c);
    if (c->sh.mla) return cal_decode_mla_s(&c->p, &hw, &c->sh, batch, kv_len);
    return cal_decode_attn_s(&c->p, &hw, batch, kv_len, c->sh.kv_heads, c->sh.head_dim, c->sh.kv_bytes);
}

static double v_prefill(const void *ctx, double batch, double isl)
{
    const CalModel *c = ctx;
    CalHw hw = hw_of_model(c);
    /* MLA prefill runs unabsorbed: keys and values decompressed per head,
     * (qk + v) / 2 wide on average. */
    if (c->sh.mla)
        return cal_prefill_attn_s(&c->p, &hw, batch, isl, c->sh.heads, c->sh.heads, c->sh.mla_prefill_head_dim,
                                  c->sh.kv_bytes);
    return cal_prefill_attn_s(&c->p, &hw, batch, isl, c->sh.heads, c->sh.kv_heads, c->sh.head_dim, c->sh.kv_bytes);
}

static double v_decode(const void *ctx, double batch, double kv_len)
{
    return cal_decode_attn_of(ctx, batch, kv_len);
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
    CalHw hw = hw_of_model(c);
    return cal_other_s(&c->p, &hw, &c->sh, tokens);
}

static double v_allreduce(const void *ctx, double elems)
{
    const CalModel *c = ctx;
    CalHw hw = hw_of_model(c);
    return cal_allreduce_s(&c->p, &hw, elems, c->sh.tp, c->sh.bytes);
}

const OpCostVtbl cal_vtbl = {
    .gemm_s = v_gemm, .prefill_attn_s = v_prefill, .decode_attn_s = v_decode,
    .decode_attn_sum_s = v_decode_sum, .other_s = v_other, .allreduce_s = v_allreduce,
    .gemm_nk_s = v_gemm_nk, .alltoall_s = v_alltoall,
};

int cal_params_write(const CalParams *p, FILE *f, const char *comment)
{
    const double *v = (const double *)p;
    if (comment) fprintf(f, "%s", comment);
    for (int i = 0; i < CAL_N_PARAMS; i++)
        if (!(param_optional(i) && v[i] == 0)) fprintf(f, "%-16s = %.6g\n", param_names[i], v[i]);
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
        if (!seen[i] && !param_optional(i)) r = ss_error_set(EINVAL, "%s: missing field '%s'", path, param_names[i]);
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
    double a1 = cal_decode_attn_of(c, first->decode_seqs, (double)next.decode_context / first->decode_seqs);
    double a0 = cal_decode_attn_of(c, first->decode_seqs, (double)first->decode_context / first->decode_seqs);
    *b = c->sh.layers * (a1 - a0);
    return *b >= 0;
}
