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
 * A CUDA twin keeps this shape: model_cuda_create/destroy/forward_step with
 * the same ModelShape and ModelSeq (host structs; it copies the small index
 * arrays to the device itself). */
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

#endif
