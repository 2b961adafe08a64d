/* roofline.c: the `roofline` backend and the schedulers' estimator.
 *
 * By default it is the calibrated op-level roofline (calibrated.c): the
 * per-op decomposition with fitted floors and efficiency curves.  With
 * `legacy` (roofline:legacy=true) it is the first formula, kept for
 * comparison (docs/COST_MODEL.md "Legacy roofline"):
 *
 * A step is one forward pass over T = prefill_tokens + decode_seqs tokens.
 * It costs, in seconds,
 *
 *   step = overhead + dense + attention + all-reduce
 *   dense     = max(dense FLOPs / (tp F), dense bytes / (tp B))
 *   attention = max(attn FLOPs / (tp F), KV bytes / (s B))
 *
 * with F = flops_16bit x achievable_flops and B = hbm_bandwidth x
 * achievable_bandwidth per GPU, tp GPUs and s = min(tp, kv_heads) KV shards.
 * The roofline max is taken per layer group (dense layers, attention), not
 * per step: the two run one after the other, and during decode the dense
 * layers of a large batch can be compute-bound while attention, reading the
 * KV cache, stays memory-bound.
 *
 *   dense FLOPs  = 2 x P_layers x T + 2 x vocab x hidden x logit_rows
 *   dense bytes  = P_layers x bytes + (logit_rows ? vocab x hidden x bytes : 0)
 *   attn FLOPs   = 4 x layers x heads x head_dim x pairs
 *                  pairs = prefill_attn_pairs + decode_context + decode_seqs
 *   KV bytes     = (prefill_past_tokens + decode_context + T) x kv_bytes_per_token
 *                  (cached context read, the step's own keys/values written)
 *   all-reduce   = 2 x layers x (2 (tp-1)/tp x T x hidden x bytes / link + latency)
 *
 * P_layers is the transformer blocks' weights; the input embedding is a row
 * look-up (T rows: negligible); the LM head runs only for the rows that
 * produce logits: one per sequence in the step (the last prompt token of each
 * prefill chunk, as vLLM computes, and each decode token).  Activations
 * (T x hidden per layer) are negligible against weights and KV and not
 * counted. */
#include <math.h>
#include <stddef.h>

#include "common.h"
#include "cost/calibrated.h"
#include "cost/cost.h"

/* Weights of the transformer blocks (matrices and norms), elements. */
static double roofline__layer_params(const ModelSpec *m)
{
    double h = m->hidden, q = (double)m->heads * m->head_dim,
           kv = (double)m->kv_heads * m->head_dim;
    double mlp = (m->gated_mlp ? 3.0 : 2.0) * h * m->intermediate;
    if (model_is_moe(m) || model_is_mla(m)) {
        /* Without the routed experts (the step adds those it touches). */
        int32_t moe = model_moe_layers(m);
        double always = m->experts * h + m->shared_experts * model_expert_params(m);
        return m->layers * (model_attn_params(m) + 2.0 * h) + (m->layers - moe) * mlp + moe * always;
    }
    return m->layers * (2.0 * h * q + 2.0 * h * kv + mlp + 2.0 * h);
}

static RooflineRates roofline__rates_of(const Roofline *r)
{
    const GpuSpec *g = &r->gpu;
    double tp = r->tensor_parallel, shards = model_kv_shards(&r->model, r->tensor_parallel);
    double flops = g->flops_16bit * g->achievable_flops;            /* FLOP/s per GPU */
    double bw = g->hbm_bandwidth * g->achievable_bandwidth;         /* bytes/s per GPU */
    return (RooflineRates){ 1.0 / (tp * flops), 1.0 / (tp * bw), 1.0 / (shards * bw) };
}

void roofline_init_legacy(Roofline *r, const ModelSpec *m, const GpuSpec *g, int32_t tp)
{
    SS_ASSERT(m && g && tp >= 1);
    r->legacy = true;
    r->model = *m;
    r->gpu = *g;
    r->tensor_parallel = tp;
    r->rates = roofline__rates_of(r);
    r->layer_params = roofline__layer_params(m);
    r->head_params = (double)m->vocab * m->hidden;
    r->s_per_pair = 4.0 * m->layers * m->heads * m->head_dim * r->rates.flop_s;
    if (model_is_mla(m)) /* absorbed MLA: 2 (kv_lora + rope) + 2 kv_lora FLOPs per head per pair */
        r->s_per_pair = 2.0 * m->layers * m->heads * (2.0 * m->kv_lora_rank + m->qk_rope_head_dim) * r->rates.flop_s;
    r->s_per_kv_token = m->kv_bytes_per_token * r->rates.kv_s;
}

void roofline_init_calibrated(Roofline *r, const ModelSpec *m, const GpuSpec *g, int32_t tp,
                              const CalParams *p)
{
    roofline_init_legacy(r, m, g, tp);
    r->legacy = false;
    cal_model_init(&r->cal, p ? p : &cal_params_default, m, g, tp);
}

void roofline_init(Roofline *r, const ModelSpec *m, const GpuSpec *g, int32_t tp)
{
    roofline_init_calibrated(r, m, g, tp, NULL);
}

static inline RooflineRates roofline__rates(const Roofline *r) { return r->rates; }

/* fmax without its NaN rules (a libm call at -O2): every input here is finite. */
static inline double max2(double a, double b) { return a > b ? a : b; }

/* Seconds of the part of a step that depends only on its token count and its
 * number of logit rows: overhead + dense layers + all-reduces. */
static double roofline__fixed_time(const Roofline *r, const RooflineRates *k, double tokens,
                                   double logit_rows)
{
    const ModelSpec *m = &r->model;
    const GpuSpec *g = &r->gpu;
    double p = r->layer_params, head = r->head_params;
    double flop = 2.0 * p * tokens + 2.0 * head * logit_rows;                 /* FLOPs */
    double bytes = (p + (logit_rows > 0 ? head : 0.0)) * m->bytes_per_param;  /* bytes */
    if (model_is_moe(m)) {
        /* layer_params holds the shared part; each token adds its k experts'
         * FLOPs, the step reads the weights of the experts it touches. */
        double expert = model_expert_params(m), moe_layers = model_moe_layers(m);
        double touched = moe_expected_experts(tokens, m->experts, m->experts_per_token, m->routing_skew);
        flop += 2.0 * moe_layers * m->experts_per_token * expert * tokens;
        bytes += moe_layers * touched * expert * m->expert_bytes_per_param;
    }
    double dense = max2(flop * k->flop_s, bytes * k->byte_s);
    double comm = 0.0;
    int32_t tp = r->tensor_parallel;
    if (tp > 1) {
        double volume = 2.0 * (tp - 1) / tp * tokens * m->hidden * m->bytes_per_param; /* bytes */
        comm = 2.0 * m->layers * (volume / g->interconnect_bandwidth + g->interconnect_latency_s);
    }
    return g->step_overhead_s + dense + comm;
}

/* Attention FLOPs per query-key pair and KV bytes per token, as seconds. */
static void roofline__attn_coeffs(const Roofline *r, const RooflineRates *k,
                                  double *s_per_pair, double *s_per_kv_token)
{
    (void)k;
    *s_per_pair = r->s_per_pair;
    *s_per_kv_token = r->s_per_kv_token;
}

double roofline_step_time(const Roofline *r, const StepShape *s)
{
    if (!r->legacy) return cal_step_time(&r->cal, s, NULL);
    double tokens = (double)step_shape_tokens(s);
    if (tokens <= 0) return 0.0;  /* an empty step runs nothing */
    RooflineRates k = roofline__rates(r);
    double fixed = roofline__fixed_time(r, &k, tokens, (double)s->prefill_seqs + s->decode_seqs);
    double per_pair, per_kv;
    roofline__attn_coeffs(r, &k, &per_pair, &per_kv);
    double pairs = s->prefill_attn_pairs + (double)s->decode_context + s->decode_seqs;
    double kv_tokens = (double)s->prefill_past_tokens + (double)s->decode_context + tokens;
    return fixed + max2(pairs * per_pair, kv_tokens * per_kv);
}

/* sum_{k=k0}^{k1-1} (a + b k) */
static double series(double a, double b, int64_t k0, int64_t k1)
{
    double n = (double)(k1 - k0);
    return n * a + b * ((double)k0 + (double)k1 - 1.0) * n * 0.5;
}

/* sum_{k=0}^{n-1} max(a0 + a1 k, b0 + b1 k): two lines cross at most once,
 * so the sum is two arithmetic series split at the crossing. */
double cost_sum_max_linear(double a0, double a1, double b0, double b1, int64_t n)
{
    if (n <= 0) return 0.0;
    if (a0 < b0 || (a0 == b0 && a1 < b1)) {  /* let line a be the larger at k = 0 */
        double t0 = a0, t1 = a1;
        a0 = b0, a1 = b1, b0 = t0, b1 = t1;
    }
    if (b1 <= a1) return series(a0, a1, 0, n);  /* a stays on top */
    /* b overtakes a after k* = (a0 - b0) / (b1 - a1) >= 0; at k* they are
     * equal, so which side the boundary falls on does not matter. */
    double cross = (a0 - b0) / (b1 - a1);
    int64_t split = cross >= (double)n ? n : (int64_t)floor(cross) + 1;
    return series(a0, a1, 0, split) + series(b0, b1, split, n);
}

double roofline_decode_span_time(const Roofline *r, const StepShape *first, int64_t iters)
{
    if (!r->legacy) return cal_decode_span_time(&r->cal, first, iters);
    if (iters <= 0 || first->decode_seqs <= 0) return 0.0;
    SS_ASSERT(first->prefill_seqs == 0 && first->prefill_tokens == 0);
    RooflineRates k = roofline__rates(r);
    double seqs = first->decode_seqs, ctx = (double)first->decode_context;
    double fixed = roofline__fixed_time(r, &k, seqs, seqs);
    double per_pair, per_kv;
    roofline__attn_coeffs(r, &k, &per_pair, &per_kv);
    /* Iteration k: context ctx + k seqs; pairs = context + seqs, KV tokens read
     * + written = context + seqs, the same count (prefill terms are zero). */
    double x0 = ctx + seqs;
    double attn = cost_sum_max_linear(x0 * per_pair, seqs * per_pair, x0 * per_kv, seqs * per_kv,
                                 iters);
    return (double)iters * fixed + attn;
}

void roofline_decode_iter_times(const Roofline *r, const StepShape *first, int64_t from, int64_t n,
                                double *out)
{
    if (!r->legacy) {
        double a, b;
        cal_decode_iter_linear(&r->cal, first, &a, &b);
        for (int64_t i = 0; i < n; i++) out[i] = a + b * (double)(from + i);
        return;
    }
    RooflineRates k = roofline__rates(r);
    double seqs = first->decode_seqs;
    double fixed = roofline__fixed_time(r, &k, seqs, seqs);
    double per_pair, per_kv;
    roofline__attn_coeffs(r, &k, &per_pair, &per_kv);
    /* Decode pairs and KV tokens are the same count x, so max(x a, x b) = x max(a, b). */
    double per_x = max2(per_pair, per_kv);
    double x = (double)first->decode_context + seqs + (double)from * seqs;
    for (int64_t i = 0; i < n; i++, x += seqs) out[i] = fixed + x * per_x;
}

int64_t cost_kv_capacity_tokens(const ModelSpec *m, const GpuSpec *g, double gpu_mem_util,
                                int32_t tensor_parallel)
{
    SS_ASSERT(tensor_parallel >= 1 && m->kv_bytes_per_token > 0);
    /* Per GPU: its share of the usable HBM minus its shard of the weights,
     * divided by its shard of each token's KV (heads split over
     * min(tp, kv_heads) GPUs; beyond that, KV heads are replicated).
     * Activations and the CUDA context are inside the (1 - util) margin. */
    double shards = model_kv_shards(m, tensor_parallel);
    double free_bytes = g->hbm_bytes * gpu_mem_util - m->weight_bytes / tensor_parallel;
    double per_token = m->kv_bytes_per_token / shards;  /* bytes per GPU */
    if (free_bytes <= 0) return 0;
    return (int64_t)floor(free_bytes / per_token);
}

/* The `roofline` backend: the formulas above as the simulator's ground truth. */
typedef struct RooflineOpts {
    double step_overhead_s;  /* seconds; < 0: the GPU file's */
    double efficiency;       /* multiplies both achievable fractions */
    bool legacy;             /* the session-1 formula instead of the calibrated one */
    char calib[OPTS_STRING_MAX]; /* calibration parameters file (cost fit's output) */
} RooflineOpts;

static const OptSpec roofline_opts[] = {
    { "step_overhead_s", OPT_DOUBLE, offsetof(RooflineOpts, step_overhead_s), "-1",
      "fixed seconds per step; -1 = the GPU spec's step_overhead_s", NULL, -1.0, 10.0 },
    { "efficiency", OPT_DOUBLE, offsetof(RooflineOpts, efficiency), "1",
      "factor on the GPU's FLOP/s and bandwidth (what-if runs)", NULL, 0.01, 1.5 },
    { "legacy", OPT_BOOL, offsetof(RooflineOpts, legacy), "false",
      "the uncalibrated formula: max(FLOPs, bytes) per layer group, no floors", NULL, OPT_NO_BOUNDS },
    { "calib", OPT_STRING, offsetof(RooflineOpts, calib), "",
      "calibration parameters (servesim cost fit --out); empty = the fitted defaults", NULL, OPT_NO_BOUNDS },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

static int roofline_backend_init(void *priv, const void *opts, const BackendEnv *env)
{
    const RooflineOpts *o = opts;
    if (!env->model || !env->gpu)
        return ss_error_set(EINVAL, "cost roofline: needs a model and a GPU");
    if (env->tensor_parallel < 1)
        return ss_error_set(EINVAL, "cost roofline: tensor_parallel %d < 1", env->tensor_parallel);
    GpuSpec g = *env->gpu;
    if (o->step_overhead_s >= 0) g.step_overhead_s = o->step_overhead_s;
    if (o->legacy) {
        if (o->calib[0]) return ss_error_set(EINVAL, "cost roofline: calib= does not apply with legacy=true");
        g.achievable_flops *= o->efficiency;
        g.achievable_bandwidth *= o->efficiency;
        roofline_init_legacy(priv, env->model, &g, env->tensor_parallel);
        return 0;
    }
    CalParams p = cal_params_default;
    int r;
    if (o->calib[0] && (r = cal_params_load(&p, o->calib))) return r;
    /* No quiet stand-in: a calibration on measured bandwidths needs this GPU's */
    if (p.stream_fraction > 0 && !(g.stream_bandwidth > 0))
        return ss_error_set(EINVAL, "cost roofline: calib=%s divides memory terms by a measured stream_bandwidth, "
                            "and GPU %s has none in its models/gpus/ file (measure one: docs/COST_MODEL.md, "
                            "\"One measured figure per GPU\")", o->calib, g.name);
    g.flops_16bit *= o->efficiency;
    g.hbm_bandwidth *= o->efficiency;
    g.stream_bandwidth *= o->efficiency; /* what a stream calibration divides by instead */
    g.interconnect_bandwidth *= o->efficiency;
    roofline_init_calibrated(priv, env->model, &g, env->tensor_parallel, &p);
    return 0;
}

static double roofline_backend_step_time(void *priv, const StepShape *shape)
{
    return roofline_step_time(priv, shape);
}

static double roofline_backend_decode_span_time(void *priv, const StepShape *first, int64_t iters)
{
    return roofline_decode_span_time(priv, first, iters);
}

static bool roofline_backend_decode_iter_linear(void *priv, const StepShape *first, int64_t iters, double *a,
                                               double *b)
{
    (void)iters; /* linear over any span */
    const Roofline *r = priv;
    if (!r->legacy) return cal_decode_iter_linear(&r->cal, first, a, b);
    RooflineRates k = roofline__rates(r);
    double seqs = first->decode_seqs;
    double per_pair, per_kv;
    roofline__attn_coeffs(r, &k, &per_pair, &per_kv);
    double per_x = max2(per_pair, per_kv);
    *a = roofline__fixed_time(r, &k, seqs, seqs) + ((double)first->decode_context + seqs) * per_x;
    *b = seqs * per_x;
    return true;
}

static void roofline_backend_decode_iter_times(void *priv, const StepShape *first, int64_t from,
                                               int64_t n, double *out)
{
    roofline_decode_iter_times(priv, first, from, n, out);
}

static bool roofline_backend_step_breakdown(void *priv, const StepShape *s, double *group_s)
{
    const Roofline *r = priv;
    if (r->legacy) return false;
    StepBreakdown b;
    cal_step_time(&r->cal, s, &b);
    for (int i = 0; i < OPG_COUNT; i++) group_s[i] = b.s[i];
    return true;
}

const BackendOps cost_backend_roofline = {
    .name = "roofline",
    .help = "calibrated op-level roofline (per-op floors, efficiency curves fitted to measured kernels); legacy=true: the uncalibrated formula",
    .opts = roofline_opts,
    .opts_size = sizeof(RooflineOpts),
    .priv_size = sizeof(Roofline),
    .init = roofline_backend_init,
    .step_time = roofline_backend_step_time,
    .decode_span_time = roofline_backend_decode_span_time,
    .decode_iter_times = roofline_backend_decode_iter_times,
    .decode_iter_linear = roofline_backend_decode_iter_linear,
    .step_breakdown = roofline_backend_step_breakdown,
    .close = NULL,
};
