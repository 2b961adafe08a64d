/* kernels.h: the transformer ops of a Llama-style decoder, one C interface
 * implemented twice:
 *
 *   kern_ref_   kernels/ref (C)     plain C, fp32 on host memory: the ground truth
 *   kern_cuda_  kernels/cuda (.cu)  bf16 storage, fp32 accumulation, device memory
 *
 * Every tensor is dense row-major; shapes are written as in llm.c, outermost
 * first: `x is (N,C)` means x[n*C + c].  N counts tokens of a ragged batch
 * packed back to back (sequence 0's tokens, then sequence 1's, ...).
 *
 * Paged KV cache (one pair per layer), vLLM layout:
 *   k_cache, v_cache are (NB, BS, KVH, D): NB blocks of BS tokens each.
 *   block_tables is (S, max_blocks) int32: sequence s's token at position p
 *   lives in block block_tables[s*max_blocks + p/BS], row p%BS.
 *   A slot is block*BS + p%BS: the flat token row in the cache.
 *
 * The CUDA functions take device pointers (including the int32 index arrays
 * inside KernAttnBatch), enqueue on the context's stream and return 0, or
 * -EINVAL for a shape they do not support; a failing CUDA call aborts with
 * file:line (an invariant, not an error to handle).  They exist only when the
 * build has CUDA (KERN_HAVE_CUDA is then defined to 1 by the build).
 */
#ifndef SERVESIM_KERNELS_H
#define SERVESIM_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* bfloat16 storage: the top 16 bits of an IEEE float. */
typedef struct KernBf16 {
    uint16_t bits;
} KernBf16;

/* Round to nearest even; NaN stays a (quiet) NaN. */
static inline KernBf16 kern_bf16_from_float(float f)
{
    uint32_t u;
    KernBf16 b;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        b.bits = (uint16_t)((u >> 16) | 0x0040u);
        return b;
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    b.bits = (uint16_t)(u >> 16);
    return b;
}

static inline float kern_bf16_to_float(KernBf16 b)
{
    uint32_t u = (uint32_t)b.bits << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Which query tokens and which cached context each sequence of a ragged
 * batch attends with.  Sequence s owns query rows q_start[s] .. q_start[s+1]-1
 * (q_len = their count); after this step's kv_store its cache holds ctx_lens[s]
 * tokens, the last q_len of them being its queries' own keys.  So query i of
 * s sits at position ctx_lens[s] - q_len + i and attends causally to cache
 * positions 0 .. that position.  Covers full prefill (q_len == ctx_len),
 * chunked prefill (q_len < ctx_len) and decode (q_len == 1). */
/* Counter-based uniform random numbers in [lo, hi): value i of stream seed.
 * kern_cuda_fill_uniform computes the very same floats on the device, so a
 * model drawn on the host (reference) and on the GPU is the same model. */
static inline uint64_t kern_rand_hash(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline float kern_rand_uniform(uint64_t seed, uint64_t i, float lo, float hi)
{
    float u = (float)(kern_rand_hash(seed, i) >> 40) * (1.0f / 16777216.0f); /* 24 bits */
    float span = hi - lo;
    float t = span * u; /* two separate roundings, as the device does (no FMA) */
    return lo + t;
}

typedef struct KernAttnBatch {
    int n_seqs;                  /* S */
    const int32_t *q_start;      /* (S+1) prefix sums of q_len; decode ignores it */
    const int32_t *ctx_lens;     /* (S) tokens in cache, this step's included */
    const int32_t *block_tables; /* (S, max_blocks) */
    int max_blocks;              /* row stride of block_tables */
    int block_size;              /* BS: tokens per cache block (default 16) */
    int heads;                   /* H query heads */
    int kv_heads;                /* KVH: H % KVH == 0 (GQA; KVH == H is MHA) */
    int head_dim;                /* D */
    float scale;                 /* softmax scale, usually 1/sqrt(D) */
    int max_q_len;               /* max over s of q_len (CUDA grid size; host value) */
    int max_ctx_len;             /* max over s of ctx_lens (split-K count; host value) */
} KernAttnBatch;

#define KERN_DEFAULT_BLOCK_SIZE 16

/* ---- reference kernels (kernels/ref), fp32, host memory --------------- */

/* out is (N,C); table is (V,C); tokens is (N), each in [0,V) */
void kern_ref_embed(float *out, const float *table, const int32_t *tokens, int n, int c);

/* out, x are (N,C); w is (C): out = x / sqrt(mean(x^2) + eps) * w.
 * out may alias x. */
void kern_ref_rmsnorm(float *out, const float *x, const float *w, int n, int c, float eps);

/* In place. q is (N,H,D); k is (N,KVH,D); pos is (N).  Rotate-half (NeoX /
 * Hugging Face Llama) pairing: element i pairs with i + D/2, angle
 * pos * theta^(-2i/D) for i < D/2.  D must be even. */
void kern_ref_rope(float *q, float *k, const int32_t *pos, int n, int h, int kvh, int d,
                   float theta);

/* k, v are (N,KVH,D); caches are (NB,BS,KVH,D); slots is (N): token n goes to
 * cache row slots[n] (block*BS + offset); a negative slot is skipped. */
void kern_ref_kv_store(float *k_cache, float *v_cache, const float *k, const float *v,
                       const int32_t *slots, int n, int kvh, int d);

/* Causal attention of a ragged batch of query chunks over the paged cache.
 * q, out are (Nq,H,D) with Nq = q_start[S]; caches are (NB,BS,KVH,D). */
void kern_ref_attn_prefill(float *out, const float *q, const float *k_cache,
                           const float *v_cache, const KernAttnBatch *b);

/* Decode: one query token per sequence (the newest one, position
 * ctx_lens[s]-1).  q, out are (S,H,D). */
void kern_ref_attn_decode(float *out, const float *q, const float *k_cache,
                          const float *v_cache, const KernAttnBatch *b);

/* out is (N,I); gu is (N,2I): gate = gu[:, :I], up = gu[:, I:];
 * out = silu(gate) * up, silu(g) = g / (1 + exp(-g)). */
void kern_ref_swiglu(float *out, const float *gu, int n, int inter);

/* out is (N,O); x is (N,C); w is (O,C) (PyTorch nn.Linear layout):
 * out = x @ w^T, plus the old out when accumulate (the residual add). */
void kern_ref_linear(float *out, const float *x, const float *w, int n, int c, int o,
                     int accumulate);

/* tokens is (N); logits is (N,V): the index of each row's maximum.  Ties go
 * to the lowest index; NaN never wins; a row with no value > -inf gives 0. */
void kern_ref_argmax(int32_t *tokens, const float *logits, int n, int v);

/* ---- CUDA kernels (kernels/cuda), bf16 storage, device memory --------- */

typedef struct KernCuda KernCuda; /* stream, cuBLAS handle, workspace */

/* Number of usable CUDA devices; 0 when none (or the driver is missing). */
int kern_cuda_device_count(void);

/* Device 0's name and a one-line summary (SMs, memory, driver/runtime). */
void kern_cuda_device_info(char *buf, size_t len);

int kern_cuda_create(KernCuda **out);
void kern_cuda_destroy(KernCuda **ctx);

void *kern_cuda_malloc(size_t bytes);
void kern_cuda_free(void *p);
void kern_cuda_upload(void *dst, const void *src, size_t bytes);   /* synchronous */
void kern_cuda_download(void *dst, const void *src, size_t bytes); /* synchronous */
void kern_cuda_memset(void *dst, int byte, size_t bytes);
void kern_cuda_sync(KernCuda *ctx);

/* Enqueue a device-to-device copy on ctx's stream. */
void kern_cuda_copy(KernCuda *ctx, void *dst, const void *src, size_t bytes);

/* Fill n bf16 values with uniform numbers in [lo, hi) from a counter-based
 * hash of (seed, index): the same values for a seed on any GPU, at HBM
 * speed (random weights and caches of real model shapes, no downloads). */
int kern_cuda_fill_uniform(KernCuda *ctx, KernBf16 *dst, size_t n, uint64_t seed, float lo,
                           float hi);

/* Median time in milliseconds of reps calls of fn(arg) on ctx's stream,
 * after warmup calls; each timed with CUDA events.  flush_l2: overwrite a
 * buffer twice the L2's size before each call (outside the timed region),
 * so that inputs come from HBM as they do in a real step. */
double kern_cuda_time_ms(KernCuda *ctx, void (*fn)(void *arg), void *arg, int warmup, int reps,
                         int flush_l2);

int kern_cuda_embed(KernCuda *ctx, KernBf16 *out, const KernBf16 *table,
                    const int32_t *tokens, int n, int c);
int kern_cuda_rmsnorm(KernCuda *ctx, KernBf16 *out, const KernBf16 *x, const KernBf16 *w,
                      int n, int c, float eps);
int kern_cuda_rope(KernCuda *ctx, KernBf16 *q, KernBf16 *k, const int32_t *pos, int n, int h,
                   int kvh, int d, float theta);
int kern_cuda_kv_store(KernCuda *ctx, KernBf16 *k_cache, KernBf16 *v_cache, const KernBf16 *k,
                       const KernBf16 *v, const int32_t *slots, int n, int kvh, int d);
/* D in {16, 32, 64, 128, 256}. */
int kern_cuda_attn_prefill(KernCuda *ctx, KernBf16 *out, const KernBf16 *q,
                           const KernBf16 *k_cache, const KernBf16 *v_cache,
                           const KernAttnBatch *b);
/* Which prefill attention kernel: 0 auto (tensor cores for D 64 and 128,
 * else version 1), 1 always version 1 (CUDA cores), 2 tensor cores where
 * the head dim allows.  For the checker and benchmarks. */
void kern_cuda_set_attn_prefill_version(KernCuda *ctx, int version);
/* Split-K decode partition, in tokens: 0 (auto) starts at 512 and halves,
 * down to 64, while the grid has fewer than 2 blocks per SM; otherwise 1 to
 * 512.  For the checker and benchmarks. */
void kern_cuda_set_decode_partition(KernCuda *ctx, int tokens);
/* Split-K over the context in partitions (see above), then a reduce. */
int kern_cuda_attn_decode(KernCuda *ctx, KernBf16 *out, const KernBf16 *q,
                          const KernBf16 *k_cache, const KernBf16 *v_cache,
                          const KernAttnBatch *b);
int kern_cuda_swiglu(KernCuda *ctx, KernBf16 *out, const KernBf16 *gu, int n, int inter);
/* cuBLAS bf16 GEMM, fp32 compute; accumulate adds into out (beta = 1). */
int kern_cuda_linear(KernCuda *ctx, KernBf16 *out, const KernBf16 *x, const KernBf16 *w,
                     int n, int c, int o, int accumulate);
/* The same with fp32 output, for the LM head's logits. */
int kern_cuda_linear_f32(KernCuda *ctx, float *out, const KernBf16 *x, const KernBf16 *w,
                         int n, int c, int o);
int kern_cuda_argmax(KernCuda *ctx, int32_t *tokens, const float *logits, int n, int v);

#ifdef __cplusplus
}
#endif

#endif /* SERVESIM_KERNELS_H */
