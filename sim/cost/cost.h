/* cost.h: the execution model.
 *
 * ModelSpec and GpuSpec come from small text files in models/.  A Backend
 * says how long a step takes: in the simulator a cost model (roofline,
 * profile, synthetic), in replay the kernels themselves.  The scheduler never
 * calls the ground-truth backend: it uses its own estimator (CostEstimator,
 * built on the same formulas but owned by the scheduler). */
#ifndef SERVESIM_COST_H
#define SERVESIM_COST_H

#include <stdbool.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "opts.h"

typedef struct ModelSpec {
    char name[64];
    int32_t layers;
    int32_t hidden;            /* model width */
    int32_t heads;             /* query heads */
    int32_t kv_heads;          /* key/value heads (GQA: fewer than heads) */
    int32_t head_dim;          /* hidden / heads unless the file says otherwise */
    int32_t intermediate;      /* MLP width */
    int32_t vocab;
    int32_t max_context;       /* tokens */
    int32_t bytes_per_param;   /* 2 for fp16/bf16 */
    bool gated_mlp;            /* SwiGLU (3 matrices) vs GeLU (2) */
    double params;             /* parameter count, derived */
    double weight_bytes;       /* bytes, derived */
    double kv_bytes_per_token; /* bytes, derived: 2 x layers x kv_heads x head_dim x bytes */
    bool tied_embeddings;      /* output layer shares the input embedding (params count it once) */
    /* Mixture of experts (docs/MODELS.md); experts == 0: a dense model. */
    int32_t experts;           /* routed experts per MoE layer */
    int32_t experts_per_token; /* top-k routed experts each token goes to */
    int32_t shared_experts;    /* always-on experts per MoE layer, each moe_intermediate wide */
    int32_t moe_intermediate;  /* one expert's MLP width */
    int32_t dense_layers;      /* leading layers with a dense MLP (first_k_dense_replace) */
    double routing_skew;       /* 0: uniform routing; s > 0: expert i's share ~ 1 / i^s */
    /* Multi-head latent attention (DeepSeek-V2/V3); kv_lora_rank == 0: none. */
    int32_t q_lora_rank;       /* 0: queries projected directly from hidden */
    int32_t kv_lora_rank;      /* the cached latent's width */
    int32_t qk_rope_head_dim;  /* the cached shared RoPE key's width */
    int32_t qk_nope_head_dim;  /* per head, the non-RoPE part of q and k */
    int32_t v_head_dim;        /* per head */
    /* Data types: weights x bytes_per_param except routed experts x
     * expert_bytes_per_param (MXFP4: 0.53125); KV elements x kv_bytes. */
    double expert_bytes_per_param; /* bytes; 0 = bytes_per_param */
    int32_t kv_bytes;          /* bytes per KV element; 0 = bytes_per_param */
    bool fp8_compute;          /* GEMMs at the GPU's FP8 rate (fp8 weights on a GPU that has it) */
    int32_t expert_parallel;   /* GPUs of an instance the experts are split over; 0 or 1: none */
    int32_t sliding_window;    /* tokens, informational: KV is still counted for every layer */
    char source[32];           /* "txt" or the config.json's model_type */
    char deploy_note[192];     /* what model_spec_deploy changed that the user did not ask for */
    double active_params;      /* parameters one token's forward pass uses, derived */
} ModelSpec;

typedef struct GpuSpec {
    char name[64];
    double hbm_bytes;              /* bytes */
    double hbm_bandwidth;          /* bytes/s, datasheet */
    double flops_16bit;            /* dense fp16/bf16 FLOP/s, datasheet */
    double achievable_bandwidth;   /* fraction of datasheet reached by real kernels */
    double achievable_flops;       /* fraction of datasheet reached by real GEMMs */
    double step_overhead_s;        /* fixed per-step cost: launches, sampling, scheduling */
    double interconnect_bandwidth; /* bytes/s per GPU (tensor parallel all-reduce) */
    double interconnect_latency_s;
    double price_per_hour;         /* USD, for planning */
    double flops_fp8;              /* dense FP8 tensor FLOP/s, datasheet (optional: 0 = none, e.g. A100) */
    double clock_hz;               /* boost SM clock, datasheet (optional: 0 = 1.5 GHz) */
    double sm_count;               /* streaming multiprocessors, datasheet (optional: 0 = 108) */
    double stream_bandwidth;       /* bytes/s large memory-bound GEMMs reach, measured (optional: 0 =
                                    * none); read only by calibrations with stream_fraction > 0 */
} GpuSpec;

/* Load "models/models/<name>.txt" / "models/gpus/<name>.txt", or a path.
 * Return 0 or negative errno with a file:line message. */
/* The models directory: $SERVESIM_MODELS_DIR, else $SERVESIM_SOURCE_ROOT/models,
 * else the configured source tree's. */
const char *cost_models_dir(char *buf, size_t cap);
int model_spec_load(ModelSpec *m, const char *name_or_path);
/* Names (basenames less .txt, sorted) under the models directory's
 * `subdir` ("models", "gpus"); free with cost_spec_names_free.  0 or -errno. */
int cost_spec_names(const char *subdir, char ***names, size_t *n);
void cost_spec_names_free(char **names, size_t n);
/* Directories under <models dir>/hf holding a config.json (sorted). */
int cost_hf_names(char ***names, size_t *n);
/* A bare name that has no file (err == -ENOENT): -EINVAL and "unknown
 * model 'x' (known: ...)"; any other error is returned as it is. */
int cost_spec_unknown(int err, const char *what, const char *subdir, const char *name_or_path);
int gpu_spec_load(GpuSpec *g, const char *name_or_path);
/* Fill derived fields (params, weight_bytes, kv_bytes_per_token) and check. */
int model_spec_finish(ModelSpec *m);
/* A Hugging Face config.json (or a directory holding one) into `m`
 * (hf_config.c): every key is read or ignored by design; any other is an
 * error naming it.  0 or negative errno with a message. */
int model_spec_load_hf(ModelSpec *m, const char *path);
/* Deployment choices on a loaded model: weights "" | "bf16" | "fp16" | "fp8",
 * KV "" | "bf16" | "fp16" | "fp8" ("" keeps the model's), ep experts split
 * over ep of the instance's tp GPUs, skew < 0 keeps the model's.  FP8
 * weights compute at FP8 rate on a GPU with flops_fp8; on one without
 * (A100) they are weight-only (bytes halved, 16-bit compute), said in
 * `note`.  Fills derived fields again. */
int model_spec_deploy(ModelSpec *m, const GpuSpec *g, const char *weights, const char *kv_dtype,
                      int32_t ep, int32_t tp, double skew, char *note, size_t note_cap);
/* One line of what the cost model assumes about `m` (plan, docs). */
void model_spec_describe(const ModelSpec *m, char *buf, size_t cap);
/* MoE helpers (spec.c). */
static inline bool model_is_moe(const ModelSpec *m) { return m->experts > 0; }
static inline int32_t model_moe_layers(const ModelSpec *m) { return m->experts > 0 ? m->layers - m->dense_layers : 0; }
/* Expected distinct experts of `experts` that `tokens` tokens, each routed
 * to k of them, touch: uniform E (1 - (1 - k/E)^T); with skew s the share
 * of expert i is proportional to 1 / i^s (k draws per token). */
double moe_expected_experts(double tokens, int32_t experts, int32_t k, double skew);
static inline bool model_is_mla(const ModelSpec *m) { return m->kv_lora_rank > 0; }
/* GPUs a token's KV is split over: MLA's latent is one shared "head",
 * replicated on every GPU; GQA heads split over min(tp, kv_heads). */
static inline int32_t model_kv_shards(const ModelSpec *m, int32_t tp)
{
    return model_is_mla(m) ? 1 : (tp < m->kv_heads ? tp : m->kv_heads);
}
/* Parameters of one routed expert (gate, up, down). */
static inline double model_expert_params(const ModelSpec *m)
{
    return 3.0 * m->hidden * (double)m->moe_intermediate;
}
/* Elements of one layer's attention weights (MLA or GQA), norms excluded. */
double model_attn_params(const ModelSpec *m);

/* What one step computes, in the terms a cost model needs.  A step is one
 * forward pass: some sequences compute prompt chunks (prefill), the others
 * decode one token each.  Padded slots of static batches count as real work. */
typedef struct StepShape {
    int32_t prefill_seqs;         /* sequences computing a prompt chunk */
    int64_t prefill_tokens;       /* tokens computed for prompts (padding included) */
    double prefill_attn_pairs;    /* sum over chunks of c x (past + (c+1)/2): query-key pairs */
    int64_t prefill_past_tokens;  /* KV tokens already cached that prefill chunks read */
    int32_t decode_seqs;          /* sequences decoding one token */
    int64_t decode_context;       /* sum of their context lengths before this token */
} StepShape;

static inline int64_t step_shape_tokens(const StepShape *s)
{
    return s->prefill_tokens + s->decode_seqs;
}

typedef struct BackendEnv {
    const ModelSpec *model;
    const GpuSpec *gpu;
    int32_t tensor_parallel;      /* GPUs per instance */
    gsl_rng *rng;                 /* the backend's own named stream */
} BackendEnv;

/* Steps a cost model timed outside its measured tables (run.cost_fallbacks). */
enum { COST_GROUPS = 6 };            /* opcost.h's OpGroup */
typedef struct CostFallbacks {
    int64_t steps;                   /* iterations timed */
    int64_t fallback_steps;          /* of which any op left a table */
    int64_t by_group[COST_GROUPS];   /* iterations per op group that left its table */
    char notes[768];                 /* ops with no table at all, "; "-separated */
} CostFallbacks;

/* Pure-decode iterations start.. of a span take a + b (j - start) seconds
 * (j counted from the span's first decode iteration). */
typedef struct DecodePiece { int64_t start; double a, b; } DecodePiece;
enum { DECODE_PIECES_MAX = 24 };

/* What BackendOps.span_plan answers for a span: its first iteration's
 * time, and what note_span would count for it cut to any decode_iters up
 * to the planned ones (the engine cuts spans at arrivals). */
typedef struct SpanPlan {
    double first_s;              /* step_time(first), the same bits */
    int32_t n_pieces;            /* decode_iter_pieces(decode, decode_iters)'s answer (0: none) */
    /* Counting (when `counted`, else note_plan recounts from the shapes):
     * iteration 1 left its tables in first_flags' op groups (opcost.h's
     * OpGroup bits), decode iterations [inside_lo, inside_hi) in
     * decode_flags', the other decode iterations in those and outside_flags'. */
    bool counted;
    unsigned first_flags, decode_flags, outside_flags;
    int64_t inside_lo, inside_hi;
    int64_t decode_iters;        /* as planned */
} SpanPlan;

typedef struct BackendOps {
    const char *name;
    const char *help;
    const OptSpec *opts;
    size_t opts_size;
    size_t priv_size;
    int (*init)(void *priv, const void *opts, const BackendEnv *env);
    /* Seconds one step takes. */
    double (*step_time)(void *priv, const StepShape *shape);
    /* Seconds that `iters` consecutive pure-decode iterations take, the first
     * with `first` and each next one with decode_context grown by
     * decode_seqs.  Must equal the sum of step_time over those iterations
     * (to rounding) and be O(1) or O(log iters): it is what event skipping
     * stands on.  The engine inverts it by bisection, so for a given
     * (first, iters) it must return the same value on every call. */
    double (*decode_span_time)(void *priv, const StepShape *first, int64_t iters);
    /* Optional: the durations of pure-decode iterations from, from+1, ...,
     * from+n-1 counted from `first` (iteration 0 has `first`'s context), into
     * out[0..n-1].  The engine pools them into the inter-token latencies; when
     * absent it takes differences of decode_span_time. */
    void (*decode_iter_times)(void *priv, const StepShape *first, int64_t from, int64_t n,
                              double *out);
    /* Optional: when decode iteration j's duration is exactly a + b j for
     * j = 0..iters-1 (j = 0 with `first`'s context), set a, b (b >= 0) and
     * return true; the engine then pools a span's inter-token latencies in
     * O(histogram buckets) instead of O(iterations).  A model linear only
     * piecewise answers for the span it is asked about. */
    bool (*decode_iter_linear)(void *priv, const StepShape *first, int64_t iters, double *a, double *b);
    /* Optional: decode iterations 0..iters-1 from `first` as linear pieces
     * (out[0].start = 0, starts ascending; a slope may be negative: measured
     * tables are not always monotone), exactly, so the engine pools a span's
     * ITLs per piece in closed form; returns the count (<= max) or 0 when
     * it cannot. */
    int (*decode_iter_pieces)(void *priv, const StepShape *first, int64_t iters, DecodePiece *out, int max);
    /* Optional: a span ran: its first iteration, then decode_iters pure-decode
     * iterations from `decode` (for counting, not timing). */
    void (*note_span)(void *priv, const StepShape *first, const StepShape *decode,
                      int64_t decode_iters);
    /* Optional, with note_plan: step_time(first), decode_iter_pieces(decode,
     * decode_iters) into pieces[0..max) when decode_iters >= 1 (else no
     * pieces), and note_span's count prepared, in one call: the same values
     * as those entries' (the engine uses it for a span's start when neither
     * stepwise nor replaying). */
    void (*span_plan)(void *priv, const StepShape *first, const StepShape *decode, int64_t decode_iters,
                      DecodePiece *pieces, int max, SpanPlan *plan);
    /* The span planned ran decode_iters (<= planned) decode iterations:
     * count as note_span(first, decode, decode_iters) would. */
    void (*note_plan)(void *priv, const SpanPlan *plan, const StepShape *first, const StepShape *decode,
                      int64_t decode_iters);
    /* Optional: seconds per op group (opcost.h's OpGroup order) of one step;
     * false when this model is not op-level. */
    bool (*step_breakdown)(void *priv, const StepShape *s, double *group_s);
    /* Optional: what note_span counted. */
    void (*fallbacks)(void *priv, CostFallbacks *out);
    void (*close)(void *priv);
} BackendOps;

/* NULL-terminated registry; `cost_backend_find` returns NULL if unknown. */
extern const BackendOps *const cost_backend_registry[];
const BackendOps *cost_backend_find(const char *name);

/* A ready-to-call backend instance (ops + private state + parsed options). */
typedef struct Backend {
    const BackendOps *ops;
    void *priv;
    void *opts;
    char spec[256];               /* as given, for manifests */
} Backend;

/* "roofline", "synthetic:dist=exponential,mean=0.01" ... ; "auto" (the
 * default) is `measured` when the GPU has tables, else `roofline`: the spec
 * that ran is in Backend.spec. */
int backend_create(Backend **out, const char *spec, const BackendEnv *env);
void backend_destroy(Backend **b);

static inline double backend_step_time(Backend *b, const StepShape *s)
{
    return b->ops->step_time(b->priv, s);
}
static inline double backend_decode_span_time(Backend *b, const StepShape *s, int64_t iters)
{
    return iters <= 0 ? 0.0 : b->ops->decode_span_time(b->priv, s, iters);
}
/* Durations of decode iterations from..from+n-1 of a span (see BackendOps). */
void backend_decode_iter_times(Backend *b, const StepShape *s, int64_t from, int64_t n, double *out);

/* ---- the op decomposition's types (opcost.h, calibrated.h) ---- */

typedef enum OpGemm { GEMM_QKV, GEMM_O, GEMM_UP, GEMM_DOWN, GEMM_LM_HEAD, GEMM_COUNT } OpGemm;

typedef enum OpGroup {
    OPG_GEMM, OPG_ATTENTION, OPG_OTHER, OPG_ALLREDUCE, OPG_LM_HEAD, OPG_OVERHEAD, OPG_COUNT
} OpGroup;
extern const char *const op_group_names[OPG_COUNT]; /* gemm, attention, other_ops, ... */

/* The model's operator shapes on one GPU of a tp group. */
typedef struct OpShapes {
    int32_t layers, tp;
    int32_t heads, kv_heads, head_dim;   /* per GPU; KV heads replicated when fewer than tp */
    int32_t hidden, intermediate;        /* intermediate per GPU */
    int32_t bytes;                       /* per element */
    bool gated_mlp;
    double gemm_n[GEMM_COUNT], gemm_k[GEMM_COUNT];
    int32_t kv_bytes;                    /* per KV element */
    /* MoE (moe_layers == 0: dense): the last moe_layers layers replace the
     * gate/up and down GEMMs with a router, the routed experts (a grouped
     * GEMM over the experts a step touches) and the shared experts. */
    int32_t moe_layers, experts, top_k, ep;
    double skew;
    double expert_up_n, expert_down_k;   /* one expert's shard on a GPU: 2 x, 1 x moe_intermediate / (tp / ep) */
    double shared_up_n, shared_down_k;   /* the shared experts' shard: split over tp */
    double expert_bytes;                 /* per routed-expert weight element */
    /* MLA (DeepSeek): the cached latent, read once per sequence by every head */
    bool mla;
    double mla_kv_elems;                 /* kv_lora_rank + qk_rope_head_dim */
    double mla_lora;                     /* kv_lora_rank: the absorbed value width */
    double mla_prefill_head_dim;         /* (qk + v) / 2: prefill runs unabsorbed */
} OpShapes;

/* The calibrated roofline's parameters (calibrated.h): GPU-independent.
 * Kernel floors are in SM clock cycles (a floor is launch and pipeline
 * latency: it scales with the clock), the all-reduce's in seconds. */
typedef struct CalParams {
    /* GEMM: floor + softmax_4(FLOPs / (F e_f m/(m + m_half)), bytes / (B e_b));
     * gemm_sharpness is the soft max's exponent, fixed at 4 (not fitted) */
    double gemm_floor_cycles, gemm_flop_eff, gemm_m_half, gemm_bw_eff, gemm_sharpness;
    /* prefill attention: floor (seconds: the same on A100 and H100) + FLOPs / (F e)
     * + blocks x block_cycles / (clock x SMs) + bytes / (B e_b): a block is one
     * (sequence, head, 128-query tile), with its Q load, O store and softmax
     * epilogue */
    double pa_floor_s, pa_flop_eff, pa_block_cycles, pa_bw_eff;
    /* decode attention: floor + (KV bytes + w x seq_bytes) / (B e), w = batch x KV heads:
     * each (sequence, KV head) block also loads its queries, writes its output
     * and reduces its splits, a cost counted as bytes */
    double da_floor_cycles, da_bw_eff, da_seq_bytes;
    /* + (KV bytes / w) / (clock x block_bpc): one block streams its share at
     * block_bpc bytes per cycle, the limit when there are few blocks */
    double da_block_bpc;
    /* other ops, per kernel: floor + row cycles + bytes / (B e); a norm, RoPE or
     * activation kernel gives each token row to one block, which walks its
     * row's elements at cycles_per_elem, rows_per_sm rows at once per SM */
    double op_floor_cycles, op_bw_eff, op_cycles_per_elem, op_rows_per_sm;
    /* all-reduce (vLLM's custom all-reduce): one-shot, each GPU reads its g - 1
     * peers' buffers after one barrier of floor + (g - 2) gpu_s seconds; or
     * two-shot, reduce-scatter + all-gather, two barriers and the ring's
     * 2 (g - 1)/g bytes; traffic over link x bw_eff */
    double ar_floor_s, ar_bw_eff, ar_gpu_s;
    /* Which bandwidth B is (not fitted; optional in parameter files): 0, the
     * default, the datasheet's hbm_bandwidth; > 0, the GPU's measured
     * stream_bandwidth, or inside a fit, for a GPU without one, hbm_bandwidth x
     * stream_fraction (the fit GPUs' mean measured fraction); the roofline
     * backend refuses such a GPU */
    double stream_fraction;
} CalParams;

typedef struct CalModel {
    CalParams p;
    OpShapes sh;
    double flops, bw, link;     /* FLOP/s, bytes/s, bytes/s per GPU, datasheet */
    double clock_hz;
    double sms;                 /* streaming multiprocessors, datasheet */
    double overhead_s;
    double gemm_flops;          /* FLOP/s the GEMMs run at: flops, or the FP8 rate with fp8_compute */
} CalModel;

/* The roofline, usable directly by schedulers as their estimator: the
 * calibrated op-level roofline (calibrated.h), or with `legacy` the
 * session-1 formula (docs/COST_MODEL.md). */
/* Per-step coefficients: seconds = max(flop_s x FLOPs, byte_s x bytes). */
typedef struct RooflineRates {
    double flop_s;  /* seconds per FLOP on the instance (tp GPUs) */
    double byte_s;  /* seconds per weight byte (split over tp) */
    double kv_s;    /* seconds per KV byte (split over min(tp, kv_heads)) */
} RooflineRates;

typedef struct Roofline {
    bool legacy;
    CalModel cal;             /* when !legacy */
    ModelSpec model;
    GpuSpec gpu;
    int32_t tensor_parallel;
    /* Derived once by roofline_init (asked for every step of every span). */
    RooflineRates rates;
    double layer_params;      /* elements in the transformer blocks */
    double head_params;       /* vocab x hidden */
    double s_per_pair;        /* attention seconds per query-key pair */
    double s_per_kv_token;    /* seconds to read one token's KV */
} Roofline;

/* The calibrated roofline with the fitted default parameters. */
void roofline_init(Roofline *r, const ModelSpec *m, const GpuSpec *g, int32_t tp);
/* With other parameters (NULL: the defaults). */
void roofline_init_calibrated(Roofline *r, const ModelSpec *m, const GpuSpec *g, int32_t tp,
                              const CalParams *p);
/* The legacy formula: max(FLOPs, bytes) per layer group with achievable fractions. */
void roofline_init_legacy(Roofline *r, const ModelSpec *m, const GpuSpec *g, int32_t tp);
double roofline_step_time(const Roofline *r, const StepShape *s);
double roofline_decode_span_time(const Roofline *r, const StepShape *first, int64_t iters);
void roofline_decode_iter_times(const Roofline *r, const StepShape *first, int64_t from, int64_t n,
                                double *out);

/* sum_{k=0}^{n-1} max(a0 + a1 k, b0 + b1 k) in O(1): two lines cross at most
 * once, so it is two arithmetic series.  For cost models whose step time is
 * the max of two terms linear in the decode context. */
double cost_sum_max_linear(double a0, double a1, double b0, double b1, int64_t n);

/* KV memory an instance can hold: (hbm x utilisation - weights) / kv per token. */
int64_t cost_kv_capacity_tokens(const ModelSpec *m, const GpuSpec *g, double gpu_mem_util,
                                int32_t tensor_parallel);

#endif
