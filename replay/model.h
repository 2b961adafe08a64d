/* replay/model.h: a tiny Llama-style decoder (RMSNorm, RoPE, GQA attention
 * over a paged KV cache, SwiGLU MLP, greedy sampling) run on the reference
 * kernels, with random weights drawn from a seed.
 *
 * One call executes one engine step: a ragged batch where each sequence
 * brings either a prefill chunk (n_tokens >= 1 new tokens, possibly after
 * earlier chunks) or one decode token.  The KV cache is real paged memory:
 * the caller (the engine's KV allocator) owns the block assignment and hands
 * each sequence's block table in; the model owns the blocks' storage.
 *
 * The CUDA twin (model_cuda.c, CUDA builds only) has the same shape:
 * model_cuda_create/destroy/forward_step with the same ModelShape and
 * ModelSeq (host structs; it uploads the step's index arrays itself).  Both
 * draw their weights from the same counter-based stream (kern_rand_uniform,
 * values representable in bf16), so one seed gives the same model on the
 * CPU and on the GPU. */
#ifndef SERVESIM_REPLAY_MODEL_H
#define SERVESIM_REPLAY_MODEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct ModelShape {
    int layers;
    int hidden;       /* C */
    int heads;        /* H query heads */
    int kv_heads;     /* KVH, H % KVH == 0 */
    int head_dim;     /* D, even */
    int intermediate; /* I, the MLP's inner width */
    int vocab;        /* V */
    float rope_theta; /* 10000 for Llama 2 */
    float norm_eps;   /* 1e-5 */
} ModelShape;

/* One sequence's part of a step. */
typedef struct ModelSeq {
    const int32_t *tokens;      /* (n_tokens) new tokens, each in [0, vocab) */
    int n_tokens;               /* a prefill chunk (>= 1) or 1 for decode */
    int start_pos;              /* tokens of this sequence already in the cache */
    const int32_t *block_table; /* (n_blocks) cache blocks for positions 0, BS, 2BS, ... */
    int n_blocks;               /* must cover start_pos + n_tokens positions */
} ModelSeq;

typedef struct Model Model;

/* A small shape for tests and CPU replay: 2 layers, C=64, H=4, KVH=2, D=16,
 * I=128, V=256. */
ModelShape model_shape_tiny(void);

/* 0 when the shape is usable, -EINVAL otherwise. */
int model_shape_check(const ModelShape *s);

/* Bytes one cache block takes over all layers (K and V) with elem_bytes per
 * value (4 for the fp32 reference, 2 for bf16): what the KV allocator's
 * capacity is computed from. */
size_t model_kv_block_bytes(const ModelShape *s, int block_size, size_t elem_bytes);

/* Weights drawn from seed; a cache of num_blocks blocks of block_size tokens.
 * 0, -EINVAL (bad shape or sizes) or -ENOMEM. */
int model_create(Model **out, const ModelShape *shape, uint64_t seed, int num_blocks,
                 int block_size);
void model_destroy(Model **m);

const ModelShape *model_shape(const Model *m);

/* Run one step.  Writes each sequence's new tokens' keys and values into its
 * blocks, and for each sequence the greedy next token after its last new
 * token: next_tokens is (n_seqs).  logits, when not NULL, is (n_seqs, vocab)
 * and receives those tokens' logits.  0 or -EINVAL (bad token, position,
 * block table). */
int model_forward_step(Model *m, const ModelSeq *seqs, int n_seqs, int32_t *next_tokens,
                       float *logits);

/* The weight tensors, and how each is drawn: values kern_rand_uniform(seed,
 * i, lo, hi) rounded to bf16, i over the (rows, cols) row-major tensor.
 * Linear layers: U(-a, a), a = sqrt(3 / cols) (unit-variance outputs);
 * norms: U(0.9, 1.1); the embedding: U(-1, 1). */
typedef enum ModelWeight {
    MODEL_W_EMBED,      /* (V,C) */
    MODEL_W_FINAL_NORM, /* (C) */
    MODEL_W_LM_HEAD,    /* (V,C) */
    MODEL_W_ATTN_NORM,  /* per layer from here: (C) */
    MODEL_W_FFN_NORM,   /* (C) */
    MODEL_W_Q,          /* (H*D, C) */
    MODEL_W_K,          /* (KVH*D, C) */
    MODEL_W_V,          /* (KVH*D, C) */
    MODEL_W_O,          /* (C, H*D) */
    MODEL_W_GATE_UP,    /* (2I, C): gate rows, then up rows */
    MODEL_W_DOWN,       /* (C, I) */
    MODEL_W_COUNT
} ModelWeight;

typedef struct ModelWeightSpec {
    int rows, cols;
    float lo, hi;
    uint64_t seed; /* the tensor's stream: from the model seed, the kind and the layer */
} ModelWeightSpec;

ModelWeightSpec model_weight_spec(const ModelShape *s, uint64_t seed, ModelWeight w, int layer);

/* The host-side layout of one step, shared by the CPU and CUDA runners: all
 * index arrays live in one int32 allocation (buf, n_ints used) so the CUDA
 * runner uploads them in one copy. */
typedef struct ModelPlan {
    int n_tokens, n_seqs;       /* N, S */
    int max_blocks;             /* row stride of block_tables */
    int max_q_len, max_ctx_len; /* over the sequences */
    int32_t *tok, *pos, *slots; /* (N) token ids, positions, cache rows */
    int32_t *q_start;           /* (S+1) first batch row of each sequence */
    int32_t *ctx_lens;          /* (S) tokens in cache after the step */
    int32_t *last_rows;         /* (S) batch row of each sequence's last new token */
    int32_t *block_tables;      /* (S, max_blocks), -1 past a sequence's blocks */
    int32_t *buf;               /* the one allocation */
    size_t n_ints, cap_ints;    /* int32s used, allocated */
} ModelPlan;

/* Validate a step against a cache of num_blocks blocks of block_size tokens
 * and lay it out in p (grown as needed).  0, -EINVAL or -ENOMEM. */
int model_plan_build(ModelPlan *p, const ModelShape *s, int num_blocks, int block_size,
                     const ModelSeq *seqs, int n_seqs);
void model_plan_free(ModelPlan *p);

/* ---- the CUDA twin (replay/model_cuda.c; only in builds with CUDA) ---- */

typedef struct ModelCuda ModelCuda;

/* Weights drawn on the device (kern_cuda_fill_uniform), the same values as
 * model_create with the same seed; the cache in device memory (bf16). */
int model_cuda_create(ModelCuda **out, const ModelShape *shape, uint64_t seed, int num_blocks,
                      int block_size);
void model_cuda_destroy(ModelCuda **m);
/* As model_forward_step; returns after the step finished on the GPU. */
int model_cuda_forward_step(ModelCuda *m, const ModelSeq *seqs, int n_seqs,
                            int32_t *next_tokens, float *logits);

#endif
