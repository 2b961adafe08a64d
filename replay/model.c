/* replay/model.c: the tiny Llama-style decoder on the reference kernels.
 * See model.h.  Per layer, for the N new tokens of a step (x is (N,C)):
 *
 *   xn = rmsnorm(x) ; q,k,v = xn Wq^T, xn Wk^T, xn Wv^T ; rope(q, k, pos)
 *   kv_store(k, v -> the sequences' cache slots) ; a = attention(q, cache)
 *   x += a Wo^T ; xn = rmsnorm(x) ; x += swiglu(xn Wgu^T) Wd^T
 *
 * then each sequence's last row goes through the final norm, the LM head
 * and argmax. */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

typedef struct ModelLayer {
    float *attn_norm, *ffn_norm; /* (C) */
    float *wq;                   /* (H*D, C) */
    float *wk, *wv;              /* (KVH*D, C) */
    float *wo;                   /* (C, H*D) */
    float *wgu;                  /* (2I, C): gate rows, then up rows */
    float *wd;                   /* (C, I) */
    float *k_cache, *v_cache;    /* (NB, BS, KVH, D) */
} ModelLayer;

/* Float scratch for one step, grown to the largest step seen. */
typedef struct ModelWork {
    int tokens, seqs;                           /* capacities */
    float *x, *xn, *q, *k, *v, *att, *gu, *mlp; /* (N, ...) */
    float *last, *logits;                       /* (S,C), (S,V) */
} ModelWork;

struct Model {
    ModelShape s;
    int num_blocks, block_size;
    float *embed;      /* (V,C) */
    float *final_norm; /* (C) */
    float *lm_head;    /* (V,C) */
    ModelLayer *layer; /* (layers) */
    ModelWork w;
    ModelPlan plan;
};

ModelShape model_shape_tiny(void)
{
    return (ModelShape){.layers = 2, .hidden = 64, .heads = 4, .kv_heads = 2, .head_dim = 16,
                        .intermediate = 128, .vocab = 256, .rope_theta = 10000.f,
                        .norm_eps = 1e-5f};
}

int model_shape_check(const ModelShape *s)
{
    if (s->layers < 1 || s->hidden < 1 || s->heads < 1 || s->kv_heads < 1 ||
        s->heads % s->kv_heads || s->head_dim < 2 || s->head_dim % 2 || s->intermediate < 1 ||
        s->vocab < 1 || !(s->rope_theta > 0) || !(s->norm_eps >= 0))
        return -EINVAL;
    return 0;
}

size_t model_kv_block_bytes(const ModelShape *s, int block_size, size_t elem_bytes)
{
    return 2 * (size_t)s->layers * block_size * s->kv_heads * s->head_dim * elem_bytes;
}

ModelWeightSpec model_weight_spec(const ModelShape *s, uint64_t seed, ModelWeight w, int layer)
{
    int qd = s->heads * s->head_dim, kvd = s->kv_heads * s->head_dim;
    ModelWeightSpec sp = {1, s->hidden, 0.9f, 1.1f, 0}; /* a norm */
    switch (w) {
    case MODEL_W_EMBED: sp = (ModelWeightSpec){s->vocab, s->hidden, -1.f, 1.f, 0}; break;
    case MODEL_W_LM_HEAD: sp.rows = s->vocab; break;
    case MODEL_W_Q: sp.rows = qd; break;
    case MODEL_W_K:
    case MODEL_W_V: sp.rows = kvd; break;
    case MODEL_W_O: sp.rows = s->hidden, sp.cols = qd; break;
    case MODEL_W_GATE_UP: sp.rows = 2 * s->intermediate; break;
    case MODEL_W_DOWN: sp.rows = s->hidden, sp.cols = s->intermediate; break;
    default: break;
    }
    if (w == MODEL_W_LM_HEAD || w >= MODEL_W_Q) { /* linear layers */
        sp.hi = sqrtf(3.0f / (float)sp.cols);
        sp.lo = -sp.hi;
    }
    int layered = w >= MODEL_W_ATTN_NORM;
    sp.seed = kern_rand_hash(seed, (uint64_t)(layered ? layer + 1 : 0) * MODEL_W_COUNT + w);
    return sp;
}

/* A weight tensor on the host: the spec's values, bf16-representable. */
static float *model__weight(const ModelShape *s, uint64_t seed, ModelWeight w, int layer)
{
    ModelWeightSpec sp = model_weight_spec(s, seed, w, layer);
    size_t n = (size_t)sp.rows * sp.cols;
    float *p = malloc(sizeof *p * n);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = kern_bf16_to_float(kern_bf16_from_float(kern_rand_uniform(sp.seed, i, sp.lo, sp.hi)));
    return p;
}

int model_create(Model **out, const ModelShape *shape, uint64_t seed, int num_blocks,
                 int block_size)
{
    *out = NULL;
    if (model_shape_check(shape) < 0 || num_blocks < 1 || block_size < 1)
        return -EINVAL;
    Model *m = calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    const ModelShape *s = &m->s;
    m->s = *shape;
    m->num_blocks = num_blocks;
    m->block_size = block_size;
    size_t cache = (size_t)num_blocks * block_size * s->kv_heads * s->head_dim;
    m->embed = model__weight(s, seed, MODEL_W_EMBED, 0);
    m->final_norm = model__weight(s, seed, MODEL_W_FINAL_NORM, 0);
    m->lm_head = model__weight(s, seed, MODEL_W_LM_HEAD, 0);
    m->layer = calloc((size_t)s->layers, sizeof *m->layer);
    if (!m->embed || !m->final_norm || !m->lm_head || !m->layer)
        goto fail;
    for (int l = 0; l < s->layers; l++) {
        ModelLayer *L = &m->layer[l];
        L->attn_norm = model__weight(s, seed, MODEL_W_ATTN_NORM, l);
        L->ffn_norm = model__weight(s, seed, MODEL_W_FFN_NORM, l);
        L->wq = model__weight(s, seed, MODEL_W_Q, l);
        L->wk = model__weight(s, seed, MODEL_W_K, l);
        L->wv = model__weight(s, seed, MODEL_W_V, l);
        L->wo = model__weight(s, seed, MODEL_W_O, l);
        L->wgu = model__weight(s, seed, MODEL_W_GATE_UP, l);
        L->wd = model__weight(s, seed, MODEL_W_DOWN, l);
        L->k_cache = calloc(cache, sizeof(float));
        L->v_cache = calloc(cache, sizeof(float));
        if (!L->attn_norm || !L->ffn_norm || !L->wq || !L->wk || !L->wv || !L->wo || !L->wgu ||
            !L->wd || !L->k_cache || !L->v_cache)
            goto fail;
    }
    *out = m;
    return 0;
fail:
    model_destroy(&m);
    return -ENOMEM;
}

static void model__work_free(ModelWork *w)
{
    void *p[] = {w->x, w->xn, w->q, w->k, w->v, w->att, w->gu, w->mlp, w->last, w->logits};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
    memset(w, 0, sizeof *w);
}

void model_destroy(Model **pm)
{
    Model *m = *pm;
    if (!m)
        return;
    for (int l = 0; m->layer && l < m->s.layers; l++) {
        ModelLayer *L = &m->layer[l];
        free(L->attn_norm), free(L->ffn_norm), free(L->wq), free(L->wk), free(L->wv);
        free(L->wo), free(L->wgu), free(L->wd), free(L->k_cache), free(L->v_cache);
    }
    free(m->layer);
    free(m->embed), free(m->final_norm), free(m->lm_head);
    model__work_free(&m->w);
    model_plan_free(&m->plan);
    free(m);
    *pm = NULL;
}

const ModelShape *model_shape(const Model *m)
{
    return &m->s;
}

/* Make room for a step of n tokens and ns sequences. */
static int model__work_reserve(Model *m, int n, int ns)
{
    ModelWork *w = &m->w;
    const ModelShape *s = &m->s;
    if (n <= w->tokens && ns <= w->seqs)
        return 0;
    n = n > w->tokens ? n : w->tokens;
    ns = ns > w->seqs ? ns : w->seqs;
    model__work_free(w);
    size_t N = (size_t)n, qd = (size_t)s->heads * s->head_dim;
    size_t kvd = (size_t)s->kv_heads * s->head_dim;
    w->x = malloc(sizeof(float) * N * s->hidden);
    w->xn = malloc(sizeof(float) * N * s->hidden);
    w->q = malloc(sizeof(float) * N * qd);
    w->k = malloc(sizeof(float) * N * kvd);
    w->v = malloc(sizeof(float) * N * kvd);
    w->att = malloc(sizeof(float) * N * qd);
    w->gu = malloc(sizeof(float) * N * 2 * s->intermediate);
    w->mlp = malloc(sizeof(float) * N * s->intermediate);
    w->last = malloc(sizeof(float) * (size_t)ns * s->hidden);
    w->logits = malloc(sizeof(float) * (size_t)ns * s->vocab);
    if (!w->x || !w->xn || !w->q || !w->k || !w->v || !w->att || !w->gu || !w->mlp ||
        !w->last || !w->logits) {
        model__work_free(w);
        return -ENOMEM;
    }
    w->tokens = n, w->seqs = ns;
    return 0;
}

void model_plan_free(ModelPlan *p)
{
    free(p->buf);
    memset(p, 0, sizeof *p);
}

int model_plan_build(ModelPlan *p, const ModelShape *s, int num_blocks, int block_size,
                     const ModelSeq *seqs, int n_seqs)
{
    int n = 0, max_blocks = 1, max_q = 0, max_ctx = 0;
    if (n_seqs < 1 || !seqs)
        return -EINVAL;
    for (int i = 0; i < n_seqs; i++) {
        const ModelSeq *q = &seqs[i];
        long long ctx = (long long)q->start_pos + q->n_tokens;
        if (q->n_tokens < 1 || q->start_pos < 0 || !q->tokens || !q->block_table ||
            ctx > (long long)q->n_blocks * block_size || ctx > INT32_MAX ||
            (long long)n + q->n_tokens > INT32_MAX)
            return -EINVAL;
        n += q->n_tokens;
        max_blocks = q->n_blocks > max_blocks ? q->n_blocks : max_blocks;
        max_q = q->n_tokens > max_q ? q->n_tokens : max_q;
        max_ctx = (int)ctx > max_ctx ? (int)ctx : max_ctx;
    }
    size_t N = (size_t)n, S = (size_t)n_seqs;
    size_t need = 3 * N + (S + 1) + 2 * S + S * (size_t)max_blocks;
    if (need > p->cap_ints) {
        int32_t *nb = realloc(p->buf, sizeof *nb * need);
        if (!nb)
            return -ENOMEM;
        p->buf = nb;
        p->cap_ints = need;
    }
    p->n_ints = need;
    p->tok = p->buf;
    p->pos = p->tok + N;
    p->slots = p->pos + N;
    p->q_start = p->slots + N;
    p->ctx_lens = p->q_start + S + 1;
    p->last_rows = p->ctx_lens + S;
    p->block_tables = p->last_rows + S;
    p->n_tokens = n, p->n_seqs = n_seqs, p->max_blocks = max_blocks;
    p->max_q_len = max_q, p->max_ctx_len = max_ctx;
    int t = 0;
    p->q_start[0] = 0;
    for (int i = 0; i < n_seqs; i++) {
        const ModelSeq *q = &seqs[i];
        for (int j = 0; j < max_blocks; j++) {
            int32_t blk = j < q->n_blocks ? q->block_table[j] : -1;
            if (j < q->n_blocks && (blk < 0 || blk >= num_blocks))
                return -EINVAL;
            p->block_tables[(size_t)i * max_blocks + j] = blk;
        }
        for (int j = 0; j < q->n_tokens; j++, t++) {
            int pos = q->start_pos + j;
            if (q->tokens[j] < 0 || q->tokens[j] >= s->vocab)
                return -EINVAL;
            p->tok[t] = q->tokens[j];
            p->pos[t] = pos;
            p->slots[t] = q->block_table[pos / block_size] * block_size + pos % block_size;
        }
        p->q_start[i + 1] = t;
        p->ctx_lens[i] = q->start_pos + q->n_tokens;
        p->last_rows[i] = t - 1;
    }
    return 0;
}

static void model__layer(Model *m, const ModelLayer *L, int n, const KernAttnBatch *b)
{
    const ModelShape *s = &m->s;
    ModelWork *w = &m->w;
    int c = s->hidden, qd = s->heads * s->head_dim, kvd = s->kv_heads * s->head_dim;
    kern_ref_rmsnorm(w->xn, w->x, L->attn_norm, n, c, s->norm_eps);
    kern_ref_linear(w->q, w->xn, L->wq, n, c, qd, 0);
    kern_ref_linear(w->k, w->xn, L->wk, n, c, kvd, 0);
    kern_ref_linear(w->v, w->xn, L->wv, n, c, kvd, 0);
    kern_ref_rope(w->q, w->k, m->plan.pos, n, s->heads, s->kv_heads, s->head_dim, s->rope_theta);
    kern_ref_kv_store(L->k_cache, L->v_cache, w->k, w->v, m->plan.slots, n, s->kv_heads,
                      s->head_dim);
    if (b->max_q_len == 1) /* a pure decode step: one query row per sequence */
        kern_ref_attn_decode(w->att, w->q, L->k_cache, L->v_cache, b);
    else
        kern_ref_attn_prefill(w->att, w->q, L->k_cache, L->v_cache, b);
    kern_ref_linear(w->x, w->att, L->wo, n, qd, c, 1);
    kern_ref_rmsnorm(w->xn, w->x, L->ffn_norm, n, c, s->norm_eps);
    kern_ref_linear(w->gu, w->xn, L->wgu, n, c, 2 * s->intermediate, 0);
    kern_ref_swiglu(w->mlp, w->gu, n, s->intermediate);
    kern_ref_linear(w->x, w->mlp, L->wd, n, s->intermediate, c, 1);
}

int model_forward_step(Model *m, const ModelSeq *seqs, int n_seqs, int32_t *next_tokens,
                       float *logits)
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
    rc = model__work_reserve(m, n, n_seqs);
    if (rc < 0)
        return rc;
    KernAttnBatch b = {.n_seqs = n_seqs, .q_start = p->q_start, .ctx_lens = p->ctx_lens,
                       .block_tables = p->block_tables, .max_blocks = p->max_blocks,
                       .block_size = m->block_size, .heads = s->heads,
                       .kv_heads = s->kv_heads, .head_dim = s->head_dim,
                       .scale = 1.0f / sqrtf((float)s->head_dim), .max_q_len = p->max_q_len,
                       .max_ctx_len = p->max_ctx_len};
    ModelWork *w = &m->w;
    kern_ref_embed(w->x, m->embed, p->tok, n, s->hidden);
    for (int l = 0; l < s->layers; l++)
        model__layer(m, &m->layer[l], n, &b);
    /* each sequence's last new token: a row gather (the embed op on x) */
    kern_ref_embed(w->last, w->x, p->last_rows, n_seqs, s->hidden);
    kern_ref_rmsnorm(w->last, w->last, m->final_norm, n_seqs, s->hidden, s->norm_eps);
    kern_ref_linear(w->logits, w->last, m->lm_head, n_seqs, s->hidden, s->vocab, 0);
    kern_ref_argmax(next_tokens, w->logits, n_seqs, s->vocab);
    if (logits)
        memcpy(logits, w->logits, sizeof(float) * (size_t)n_seqs * s->vocab);
    return 0;
}
