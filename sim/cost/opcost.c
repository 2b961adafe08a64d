/* opcost.c: composing a step from its operators (opcost.h). */
#include "cost/opcost.h"

#include <math.h>

#include "common.h"

const char *const op_group_names[OPG_COUNT] = {
    "gemm", "attention", "other_ops", "allreduce", "lm_head", "overhead",
};

void op_shapes_init(OpShapes *s, const ModelSpec *m, int32_t tp)
{
    SS_ASSERT(tp >= 1);
    *s = (OpShapes){ .layers = m->layers, .tp = tp, .head_dim = m->head_dim,
                     .hidden = m->hidden, .bytes = m->bytes_per_param, .gated_mlp = m->gated_mlp };
    s->heads = SS_MAX(1, m->heads / tp);
    /* vLLM replicates KV heads when there are fewer than GPUs: one per GPU. */
    s->kv_heads = SS_MAX(1, m->kv_heads / tp);
    s->intermediate = SS_MAX(1, m->intermediate / tp);
    double q = (double)s->heads * s->head_dim, kv = (double)s->kv_heads * s->head_dim;
    s->gemm_n[GEMM_QKV] = q + 2 * kv;                      s->gemm_k[GEMM_QKV] = m->hidden;
    s->gemm_n[GEMM_O] = m->hidden;                         s->gemm_k[GEMM_O] = q;
    s->gemm_n[GEMM_UP] = (m->gated_mlp ? 2.0 : 1.0) * s->intermediate;
    s->gemm_k[GEMM_UP] = m->hidden;
    s->gemm_n[GEMM_DOWN] = m->hidden;                      s->gemm_k[GEMM_DOWN] = s->intermediate;
    /* The LM head is split over the vocabulary (then gathered). */
    s->gemm_n[GEMM_LM_HEAD] = ceil((double)m->vocab / tp); s->gemm_k[GEMM_LM_HEAD] = m->hidden;
    s->kv_bytes = m->kv_bytes > 0 ? m->kv_bytes : m->bytes_per_param;
    if (model_is_mla(m)) {
        /* MLA: q_a and kv_a (hidden -> ranks) are replicated, q_b, kv_b and o
         * split over the heads.  The projections in as one GEMM of the same
         * elements over k = hidden (same FLOPs, same weight bytes). */
        double h = m->hidden, H = m->heads, qk = (double)m->qk_nope_head_dim + m->qk_rope_head_dim;
        double q_el = m->q_lora_rank > 0 ? h * m->q_lora_rank + m->q_lora_rank * H * qk / tp : h * H * qk / tp;
        double kv_el = h * ((double)m->kv_lora_rank + m->qk_rope_head_dim) +
                    (double)m->kv_lora_rank * H * ((double)m->qk_nope_head_dim + m->v_head_dim) / tp;
        s->mla = true;
        s->kv_heads = 1;
        s->mla_kv_elems = (double)m->kv_lora_rank + m->qk_rope_head_dim;
        s->mla_lora = m->kv_lora_rank;
        s->mla_prefill_head_dim = (qk + m->v_head_dim) * 0.5;
        s->gemm_n[GEMM_QKV] = (q_el + kv_el) / h;                s->gemm_k[GEMM_QKV] = h;
        s->gemm_n[GEMM_O] = h;                             s->gemm_k[GEMM_O] = (double)s->heads * m->v_head_dim;
    }
    if (model_is_moe(m)) {
        int32_t ep = m->expert_parallel > 1 ? m->expert_parallel : 1;
        double split = (double)tp / ep;  /* GPUs one expert is split over */
        s->moe_layers = model_moe_layers(m);
        s->experts = m->experts;
        s->top_k = m->experts_per_token;
        s->ep = ep;
        s->skew = m->routing_skew;
        s->expert_up_n = 2.0 * m->moe_intermediate / split;
        s->expert_down_k = m->moe_intermediate / split;
        s->shared_up_n = 2.0 * m->shared_experts * m->moe_intermediate / tp;
        s->shared_down_k = (double)m->shared_experts * m->moe_intermediate / tp;
        s->expert_bytes = m->expert_bytes_per_param > 0 ? m->expert_bytes_per_param : m->bytes_per_param;
    }
}

double op_moe_layer_s(const OpCostVtbl *v, const void *ctx, const OpShapes *sh, double tokens, double *comm_s)
{
    *comm_s = 0.0;
    if (tokens <= 0) return 0.0;
    double touched = moe_expected_experts(tokens, sh->experts, sh->top_k, sh->skew);
    double rows = tokens * sh->top_k / touched;        /* mean rows per touched expert */
    double router = v->gemm_nk_s(ctx, 1, tokens, sh->experts, sh->hidden, sh->bytes);
    /* The routed experts as two grouped GEMMs over the experts this GPU holds
     * that the step touches: one launch each, every expert's weights read
     * once, each at its own small m. */
    double groups = touched / sh->ep;
    double up = v->gemm_nk_s(ctx, groups, rows, sh->expert_up_n, sh->hidden, sh->expert_bytes);
    double down = v->gemm_nk_s(ctx, groups, rows, sh->hidden, sh->expert_down_k, sh->expert_bytes);
    double shared = 0.0;
    if (sh->shared_up_n > 0)
        shared = v->gemm_nk_s(ctx, 1, tokens, sh->shared_up_n, sh->hidden, sh->bytes) +
                 v->gemm_nk_s(ctx, 1, tokens, sh->hidden, sh->shared_down_k, sh->bytes);
    if (sh->ep > 1) {
        /* Dispatch and combine: each GPU sends its 1/ep of the tokens' k
         * copies, (ep - 1)/ep of them to other GPUs. */
        double ep = sh->ep, bytes = tokens / ep * sh->top_k * sh->hidden * sh->bytes * (ep - 1) / ep;
        *comm_s = 2.0 * v->alltoall_s(ctx, bytes);
    }
    return router + up + down + shared;
}

double op_equivalent_isl(double pairs_per_seq)
{
    return pairs_per_seq > 0 ? (sqrt(1.0 + 8.0 * pairs_per_seq) - 1.0) * 0.5 : 0.0;
}

/* Everything of a step but attention: it depends only on the row count. */
void op_fixed_part(const OpCostVtbl *v, const void *ctx, const OpShapes *sh, double tokens,
                     double logit_rows, StepBreakdown *b)
{
    if (!v->fixed_memo_get || !v->fixed_memo_get(ctx, tokens, b)) {
        double gemm = v->layer_gemms_s ? v->layer_gemms_s(ctx, tokens) : NAN;
        if (isnan(gemm)) {
            gemm = 0;
            for (int g = GEMM_QKV; g <= GEMM_DOWN; g++) gemm += v->gemm_s(ctx, (OpGemm)g, tokens);
        }
        b->s[OPG_GEMM] = sh->layers * gemm;
        b->s[OPG_OTHER] = sh->layers * v->other_s(ctx, tokens);
        b->s[OPG_ALLREDUCE] = sh->tp > 1 ? 2.0 * sh->layers * v->allreduce_s(ctx, tokens * sh->hidden) : 0.0;
        if (sh->moe_layers > 0) {
            /* MoE layers: attention's GEMMs, then the router and experts in
             * place of the dense MLP; with ep > 1 two all-to-alls in place of
             * the MLP's all-reduce. */
            double mlp = v->gemm_s(ctx, GEMM_UP, tokens) + v->gemm_s(ctx, GEMM_DOWN, tokens), comm;
            double moe = op_moe_layer_s(v, ctx, sh, tokens, &comm);
            b->s[OPG_GEMM] += sh->moe_layers * (moe - mlp);
            if (sh->ep > 1) b->s[OPG_ALLREDUCE] += sh->moe_layers * (comm - v->allreduce_s(ctx, tokens * sh->hidden));
        }
        if (v->fixed_memo_put) v->fixed_memo_put(ctx, tokens, b);
    }
    b->s[OPG_LM_HEAD] = logit_rows > 0 ? v->gemm_s(ctx, GEMM_LM_HEAD, logit_rows) : 0.0;
    b->s[OPG_OVERHEAD] = v->overhead_s;
}

static double op_sum(const StepBreakdown *b)
{
    double t = 0;
    for (int i = 0; i < OPG_COUNT; i++) t += b->s[i];
    return t;
}

double op_step_time(const OpCostVtbl *v, const void *ctx, const OpShapes *sh, const StepShape *s,
                    StepBreakdown *out)
{
    StepBreakdown b = { { 0 } };
    double tokens = (double)step_shape_tokens(s);
    if (tokens > 0) {
        op_fixed_part(v, ctx, sh, tokens, (double)s->prefill_seqs + s->decode_seqs, &b);
        double attn = 0;
        if (s->prefill_seqs > 0 && s->prefill_tokens > 0) {
            double isl = op_equivalent_isl(s->prefill_attn_pairs / s->prefill_seqs);
            attn += v->prefill_attn_s(ctx, s->prefill_seqs, isl);
        }
        if (s->decode_seqs > 0)
            attn += v->decode_attn_s(ctx, s->decode_seqs, (double)s->decode_context / s->decode_seqs);
        b.s[OPG_ATTENTION] = sh->layers * attn;
    }
    if (out) *out = b;
    return op_sum(&b);
}

double op_decode_span_time(const OpCostVtbl *v, const void *ctx, const OpShapes *sh,
                           const StepShape *first, int64_t iters)
{
    if (iters <= 0 || first->decode_seqs <= 0) return 0.0;
    SS_ASSERT(first->prefill_seqs == 0 && first->prefill_tokens == 0);
    double seqs = first->decode_seqs;
    StepBreakdown b = { { 0 } };
    op_fixed_part(v, ctx, sh, seqs, seqs, &b);
    /* Iteration j: every sequence one token longer, so the mean kv_len + j. */
    double kv0 = (double)first->decode_context / seqs;
    return (double)iters * op_sum(&b) + sh->layers * v->decode_attn_sum_s(ctx, seqs, kv0, iters);
}
