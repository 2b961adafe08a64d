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
