/* replay/model_cuda.c: the CUDA twin of model.c.  Same step, same order of
 * ops, the kern_cuda_* kernels on bf16 weights, activations and paged cache
 * (fp32 logits).  Built only with CUDA.  See model.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "model.h"

typedef struct ModelCudaLayer {
    KernBf16 *attn_norm, *ffn_norm, *wq, *wk, *wv, *wo, *wgu, *wd;
    KernBf16 *k_cache, *v_cache; /* (NB, BS, KVH, D) */
} ModelCudaLayer;

struct ModelCuda {
    ModelShape s;
    int num_blocks, block_size;
    KernCuda *ctx;
    KernBf16 *embed, *final_norm, *lm_head;
    ModelCudaLayer *layer;
    ModelPlan plan; /* host */
    /* device scratch, grown to the largest step seen */
    int cap_tokens, cap_seqs;
    size_t cap_ints;
    KernBf16 *x, *xn, *q, *k, *v, *att, *gu, *mlp, *last; /* (N, ...), last (S,C) */
    float *logits;                                         /* (S,V) */
    int32_t *next, *idx; /* (S); the plan's index arrays (cap_ints) */
};

static KernBf16 *model_cuda__weight(ModelCuda *m, uint64_t seed, ModelWeight w, int layer)
{
    ModelWeightSpec sp = model_weight_spec(&m->s, seed, w, layer);
    size_t n = (size_t)sp.rows * sp.cols;
    KernBf16 *p = kern_cuda_malloc(n * sizeof *p);
    kern_cuda_fill_uniform(m->ctx, p, n, sp.seed, sp.lo, sp.hi);
    return p;
}

int model_cuda_create(ModelCuda **out, const ModelShape *shape, uint64_t seed, int num_blocks,
                      int block_size)
{
    *out = NULL;
    if (model_shape_check(shape) < 0 || num_blocks < 1 || block_size < 1)
        return -EINVAL;
    ModelCuda *m = calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    m->s = *shape;
    m->num_blocks = num_blocks;
    m->block_size = block_size;
    int rc = kern_cuda_create(&m->ctx);
    m->layer = calloc((size_t)shape->layers, sizeof *m->layer);
    if (rc < 0 || !m->layer) {
        model_cuda_destroy(&m);
        return rc < 0 ? rc : -ENOMEM;
    }
    const ModelShape *s = &m->s;
    size_t cache = (size_t)num_blocks * block_size * s->kv_heads * s->head_dim;
    m->embed = model_cuda__weight(m, seed, MODEL_W_EMBED, 0);
    m->final_norm = model_cuda__weight(m, seed, MODEL_W_FINAL_NORM, 0);
    m->lm_head = model_cuda__weight(m, seed, MODEL_W_LM_HEAD, 0);
    for (int l = 0; l < s->layers; l++) {
        ModelCudaLayer *L = &m->layer[l];
        L->attn_norm = model_cuda__weight(m, seed, MODEL_W_ATTN_NORM, l);
        L->ffn_norm = model_cuda__weight(m, seed, MODEL_W_FFN_NORM, l);
        L->wq = model_cuda__weight(m, seed, MODEL_W_Q, l);
        L->wk = model_cuda__weight(m, seed, MODEL_W_K, l);
        L->wv = model_cuda__weight(m, seed, MODEL_W_V, l);
        L->wo = model_cuda__weight(m, seed, MODEL_W_O, l);
        L->wgu = model_cuda__weight(m, seed, MODEL_W_GATE_UP, l);
        L->wd = model_cuda__weight(m, seed, MODEL_W_DOWN, l);
        L->k_cache = kern_cuda_malloc(cache * sizeof(KernBf16));
        L->v_cache = kern_cuda_malloc(cache * sizeof(KernBf16));
        /* never-written cache rows hold finite numbers, not whatever was there */
        kern_cuda_fill_uniform(m->ctx, L->k_cache, cache, seed ^ 0x6b, -1.f, 1.f);
        kern_cuda_fill_uniform(m->ctx, L->v_cache, cache, seed ^ 0x76, -1.f, 1.f);
    }
    kern_cuda_sync(m->ctx);
    *out = m;
    return 0;
}

static void model_cuda__scratch_free(ModelCuda *m)
{
    void *p[] = {m->x, m->xn, m->q, m->k, m->v, m->att, m->gu, m->mlp, m->last, m->logits,
                 m->next};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        kern_cuda_free(p[i]);
    m->x = m->xn = m->q = m->k = m->v = m->att = m->gu = m->mlp = m->last = NULL;
    m->logits = NULL;
    m->next = NULL;
    m->cap_tokens = m->cap_seqs = 0;
}

void model_cuda_destroy(ModelCuda **pm)
{
    ModelCuda *m = *pm;
    if (!m)
        return;
    if (m->ctx) {
        kern_cuda_sync(m->ctx);
        for (int l = 0; m->layer && l < m->s.layers; l++) {
            ModelCudaLayer *L = &m->layer[l];
            void *p[] = {L->attn_norm, L->ffn_norm, L->wq, L->wk, L->wv, L->wo, L->wgu, L->wd,
                         L->k_cache, L->v_cache};
            for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
                kern_cuda_free(p[i]);
        }
        kern_cuda_free(m->embed), kern_cuda_free(m->final_norm), kern_cuda_free(m->lm_head);
        model_cuda__scratch_free(m);
        kern_cuda_free(m->idx);
        kern_cuda_destroy(&m->ctx);
    }
    free(m->layer);
    model_plan_free(&m->plan);
    free(m);
    *pm = NULL;
}

static void model_cuda__reserve(ModelCuda *m, int n, int ns, size_t ints)
{
    const ModelShape *s = &m->s;
    if (ints > m->cap_ints) {
        kern_cuda_free(m->idx);
        m->idx = kern_cuda_malloc(ints * sizeof(int32_t));
        m->cap_ints = ints;
    }
    if (n <= m->cap_tokens && ns <= m->cap_seqs)
        return;
    n = n > m->cap_tokens ? n : m->cap_tokens;
    ns = ns > m->cap_seqs ? ns : m->cap_seqs;
    kern_cuda_sync(m->ctx);
    model_cuda__scratch_free(m);
    size_t N = (size_t)n, b = sizeof(KernBf16), qd = (size_t)s->heads * s->head_dim;
    size_t kvd = (size_t)s->kv_heads * s->head_dim;
    m->x = kern_cuda_malloc(N * s->hidden * b);
    m->xn = kern_cuda_malloc(N * s->hidden * b);
    m->q = kern_cuda_malloc(N * qd * b);
    m->k = kern_cuda_malloc(N * kvd * b);
    m->v = kern_cuda_malloc(N * kvd * b);
    m->att = kern_cuda_malloc(N * qd * b);
    m->gu = kern_cuda_malloc(N * 2 * s->intermediate * b);
    m->mlp = kern_cuda_malloc(N * s->intermediate * b);
    m->last = kern_cuda_malloc((size_t)ns * s->hidden * b);
    m->logits = kern_cuda_malloc((size_t)ns * s->vocab * sizeof(float));
    m->next = kern_cuda_malloc((size_t)ns * sizeof(int32_t));
    m->cap_tokens = n, m->cap_seqs = ns;
}

/* The device copy of one of the plan's index arrays. */
static int32_t *model_cuda__dev(ModelCuda *m, const int32_t *host)
{
    return m->idx + (host - m->plan.buf);
}

static int model_cuda__layer(ModelCuda *m, const ModelCudaLayer *L, int n,
                             const KernAttnBatch *b)
{
    const ModelShape *s = &m->s;
    KernCuda *ctx = m->ctx;
    int c = s->hidden, qd = s->heads * s->head_dim, kvd = s->kv_heads * s->head_dim, rc = 0;
    rc |= kern_cuda_rmsnorm(ctx, m->xn, m->x, L->attn_norm, n, c, s->norm_eps);
    rc |= kern_cuda_linear(ctx, m->q, m->xn, L->wq, n, c, qd, 0);
    rc |= kern_cuda_linear(ctx, m->k, m->xn, L->wk, n, c, kvd, 0);
    rc |= kern_cuda_linear(ctx, m->v, m->xn, L->wv, n, c, kvd, 0);
    rc |= kern_cuda_rope(ctx, m->q, m->k, model_cuda__dev(m, m->plan.pos), n, s->heads,
                         s->kv_heads, s->head_dim, s->rope_theta);
    rc |= kern_cuda_kv_store(ctx, L->k_cache, L->v_cache, m->k, m->v,
                             model_cuda__dev(m, m->plan.slots), n, s->kv_heads, s->head_dim);
    if (b->max_q_len == 1)
        rc |= kern_cuda_attn_decode(ctx, m->att, m->q, L->k_cache, L->v_cache, b);
    else
        rc |= kern_cuda_attn_prefill(ctx, m->att, m->q, L->k_cache, L->v_cache, b);
    rc |= kern_cuda_linear(ctx, m->x, m->att, L->wo, n, qd, c, 1);
    rc |= kern_cuda_rmsnorm(ctx, m->xn, m->x, L->ffn_norm, n, c, s->norm_eps);
    rc |= kern_cuda_linear(ctx, m->gu, m->xn, L->wgu, n, c, 2 * s->intermediate, 0);
    rc |= kern_cuda_swiglu(ctx, m->mlp, m->gu, n, s->intermediate);
    rc |= kern_cuda_linear(ctx, m->x, m->mlp, L->wd, n, s->intermediate, c, 1);
    return rc ? -EINVAL : 0; /* the only error the kernels return */
}

int model_cuda_forward_step(ModelCuda *m, const ModelSeq *seqs, int n_seqs,
                            int32_t *next_tokens, float *logits)
{
    if (n_seqs < 0 || (n_seqs > 0 && !next_tokens))
        return -EINVAL;
    if (n_seqs == 0)
        return 0;
    const ModelShape *s = &m->s;
    ModelPlan *p = &m->plan;
    int rc = model_plan_build(p, s, m->num_blocks, m->block_size, seqs, n_seqs);
    if (rc < 0)
        return rc;
    int n = p->n_tokens;
    model_cuda__reserve(m, n, n_seqs, p->n_ints);
    kern_cuda_upload(m->idx, p->buf, p->n_ints * sizeof(int32_t));
    KernAttnBatch b = {.n_seqs = n_seqs, .q_start = model_cuda__dev(m, p->q_start),
                       .ctx_lens = model_cuda__dev(m, p->ctx_lens),
                       .block_tables = model_cuda__dev(m, p->block_tables),
                       .max_blocks = p->max_blocks, .block_size = m->block_size,
                       .heads = s->heads, .kv_heads = s->kv_heads, .head_dim = s->head_dim,
                       .scale = 1.0f / sqrtf((float)s->head_dim), .max_q_len = p->max_q_len,
                       .max_ctx_len = p->max_ctx_len};
    rc = kern_cuda_embed(m->ctx, m->x, m->embed, model_cuda__dev(m, p->tok), n, s->hidden);
    for (int l = 0; l < s->layers && rc == 0; l++)
        rc = model_cuda__layer(m, &m->layer[l], n, &b);
    if (rc < 0)
        return rc;
    /* each sequence's last new token: a row gather (the embed op on x) */
    kern_cuda_embed(m->ctx, m->last, m->x, model_cuda__dev(m, p->last_rows), n_seqs, s->hidden);
    kern_cuda_rmsnorm(m->ctx, m->last, m->last, m->final_norm, n_seqs, s->hidden, s->norm_eps);
    kern_cuda_linear_f32(m->ctx, m->logits, m->last, m->lm_head, n_seqs, s->hidden, s->vocab);
    kern_cuda_argmax(m->ctx, m->next, m->logits, n_seqs, s->vocab);
    kern_cuda_sync(m->ctx);
    kern_cuda_download(next_tokens, m->next, sizeof(int32_t) * (size_t)n_seqs);
    if (logits)
        kern_cuda_download(logits, m->logits, sizeof(float) * (size_t)n_seqs * s->vocab);
    return 0;
}
