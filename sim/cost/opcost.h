/* opcost.h: a step as the sum of its operators (docs/COST_MODEL.md).
 *
 *   step = L x (GEMMs + attention + other ops + 2 all-reduces) + LM head + overhead
 *
 * per GPU of a tensor-parallel group: the QKV, O, gate/up and down GEMMs at
 * their per-rank shapes for T = prefill tokens + decode sequences rows;
 * prefill attention of the step's prompt chunks; decode attention of its
 * decoding sequences; the norms, RoPE, activation and residual adds; two
 * all-reduces of T x hidden per layer when tp > 1; the LM head for one row
 * per sequence; a per-step host overhead.  Two cost models fill the ops in:
 * the measured tables (measured.c) and the calibrated roofline
 * (calibrated.c); this file composes them, for one step and in closed form
 * over a decode span. */
#ifndef SERVESIM_OPCOST_H
#define SERVESIM_OPCOST_H

#include <stdbool.h>
#include <stdint.h>

#include "cost/cost.h"




void op_shapes_init(OpShapes *s, const ModelSpec *m, int32_t tp);

typedef struct StepBreakdown { double s[OPG_COUNT]; } StepBreakdown;

/* What a cost model supplies: seconds per op on one GPU. */
typedef struct OpCostVtbl {
    double (*gemm_s)(const void *ctx, OpGemm g, double m);
    /* One layer's causal prefill attention of `batch` sequences of `isl` tokens. */
    double (*prefill_attn_s)(const void *ctx, double batch, double isl);
    /* One layer's decode attention of `batch` sequences over `kv_len` cached tokens. */
    double (*decode_attn_s)(const void *ctx, double batch, double kv_len);
    /* sum_{j=0}^{n-1} decode_attn_s(batch, kv0 + j), exact, O(grid) or O(1). */
    double (*decode_attn_sum_s)(const void *ctx, double batch, double kv0, int64_t n);
    /* One layer's norms, RoPE, activation and residual adds for `tokens` rows. */
    double (*other_s)(const void *ctx, double tokens);
    /* One all-reduce of `elems` elements over the tp group. */
    double (*allreduce_s)(const void *ctx, double elems);
    /* Optional: the layer's QKV + O + gate/up + down GEMMs at once (the same
     * value as the four gemm_s to rounding): NAN when it cannot. */
    double (*layer_gemms_s)(const void *ctx, double m);
    /* Optional: a memo of the per-row-count part of a step (the layers'
     * GEMMs, other ops, all-reduces): true and b's gemm, other_ops and
     * allreduce filled when it has `tokens`. */
    bool (*fixed_memo_get)(const void *ctx, double tokens, StepBreakdown *b);
    void (*fixed_memo_put)(const void *ctx, double tokens, const StepBreakdown *b);
    /* MoE: `groups` GEMMs of m x n x k in one launch (a grouped GEMM: one
     * floor); `bytes` per weight element.  And one all-to-all sending
     * `bytes` from each GPU.  Needed when OpShapes.moe_layers > 0. */
    double (*gemm_nk_s)(const void *ctx, double groups, double m, double n, double k, double bytes);
    double (*alltoall_s)(const void *ctx, double bytes);
    double overhead_s;
} OpCostVtbl;

/* One MoE layer's router + routed experts + shared experts GEMM seconds on
 * one GPU for `tokens` rows; `comm_s` gets its two all-to-alls (ep > 1). */
double op_moe_layer_s(const OpCostVtbl *v, const void *ctx, const OpShapes *sh, double tokens, double *comm_s);

/* Seconds of one step; `b` (optional) gets the per-group seconds. */
double op_step_time(const OpCostVtbl *v, const void *ctx, const OpShapes *sh, const StepShape *s,
                    StepBreakdown *b);
/* Seconds of `iters` pure-decode iterations from `first` (see BackendOps). */
double op_decode_span_time(const OpCostVtbl *v, const void *ctx, const OpShapes *sh,
                           const StepShape *first, int64_t iters);
/* Everything of a step but attention (it depends only on the row counts). */
void op_fixed_part(const OpCostVtbl *v, const void *ctx, const OpShapes *sh, double tokens,
                   double logit_rows, StepBreakdown *b);
/* The equivalent full-prompt length of prompt chunks with `pairs` causal
 * query-key pairs per sequence: L with L (L + 1) / 2 = pairs. */
double op_equivalent_isl(double pairs_per_seq);

#endif
