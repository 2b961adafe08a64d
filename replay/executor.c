/* replay/executor.c: the replay executor's set-up, its per-request state
 * (an open-addressing map on request id: O(in-flight) memory) and release.
 * Running an iteration is executor_step.c.  See executor.h. */
#include "executor_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cuda_module.h"
#include "kernels.h"

int replay_backend_parse(const char *name, ReplayBackendKind *out)
{
    if (!strcmp(name, "cpu")) { *out = REPLAY_BACKEND_CPU; return 0; }
    if (!strcmp(name, "cuda")) {
        const CudaModuleApi *api;
        int r = cuda_module_load(&api); /* says where it looked when absent */
        if (r) return r;
        *out = REPLAY_BACKEND_CUDA;
        return 0;
    }
    return ss_error_set(EINVAL, "--backend: unknown backend '%s' (cpu|cuda)", name);
}

int replay_shape_from_spec(ModelShape *out, const ModelSpec *m)
{
    *out = (ModelShape){ .layers = m->layers, .hidden = m->hidden, .heads = m->heads,
                         .kv_heads = m->kv_heads, .head_dim = m->head_dim,
                         .intermediate = m->intermediate, .vocab = m->vocab,
                         .rope_theta = 10000.f, .norm_eps = 1e-5f };
    if (!m->gated_mlp)
        return ss_error_set(EINVAL, "model %s: replay runs SwiGLU decoders only (mlp = swiglu)",
                            m->name);
    if (model_shape_check(out) < 0)
        return ss_error_set(EINVAL, "model %s: shape not runnable by the replay model", m->name);
    return 0;
}

size_t replay_backend_elem_bytes(ReplayBackendKind b)
{
    return b == REPLAY_BACKEND_CUDA ? 2 : 4; /* bf16 cache on the GPU, fp32 reference */
}

int64_t replay_capacity_tokens(const ModelShape *s, ReplayBackendKind b, int32_t block_size,
                               double budget_bytes)
{
    double block_bytes = (double)model_kv_block_bytes(s, block_size, replay_backend_elem_bytes(b));
    if (budget_bytes <= 0 || block_bytes <= 0) return 0;
    return (int64_t)(budget_bytes / block_bytes) * block_size;
}

int32_t replay_prompt_token(uint64_t seed, int64_t id, int64_t i, int32_t vocab)
{
    uint64_t stream = kern_rand_hash(seed ^ 0x70726f6d7074ull /* "prompt" */, (uint64_t)id);
    return (int32_t)(kern_rand_hash(stream, (uint64_t)i) % (uint64_t)vocab);
}

/* ---- the request map ---- */

static size_t map_home(const ReplayExecutor *x, int64_t id)
{
    return (size_t)kern_rand_hash(0, (uint64_t)id) & (x->map_cap - 1);
}

ReplayReq *replay__find(const ReplayExecutor *x, int64_t id)
{
    if (!x->map_cap) return NULL;
    for (size_t i = map_home(x, id);; i = (i + 1) & (x->map_cap - 1)) {
        if (!x->map[i].req) return NULL;
        if (x->map[i].id == id) return x->map[i].req;
    }
}

static void map_put(ReplayExecutor *x, ReplayReq *q)
{
    if (2 * (x->map_used + 1) > x->map_cap) { /* keep the load under 1/2 */
        ReplayMapSlot *old = x->map;
        size_t old_cap = x->map_cap;
        x->map_cap = old_cap ? 2 * old_cap : 64;
        x->map = ss_calloc(x->map_cap, sizeof(*x->map));
        x->map_used = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].req) map_put(x, old[i].req);
        free(old);
    }
    size_t i = map_home(x, q->id);
    while (x->map[i].req) i = (i + 1) & (x->map_cap - 1);
    x->map[i] = (ReplayMapSlot){ q->id, q };
    x->map_used++;
}

/* Linear-probing delete: shift back the entries that probed past the hole. */
static void map_remove(ReplayExecutor *x, int64_t id)
{
    size_t mask = x->map_cap - 1, i = map_home(x, id);
    while (x->map[i].req && x->map[i].id != id) i = (i + 1) & mask;
    if (!x->map[i].req) return;
    x->map[i].req = NULL;
    x->map_used--;
    for (size_t j = (i + 1) & mask; x->map[j].req; j = (j + 1) & mask) {
        size_t home = map_home(x, x->map[j].id);
        /* j's entry may move to the hole i unless its home lies in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        x->map[i] = x->map[j];
        x->map[j].req = NULL;
        i = j;
    }
}

/* The request's state, created with its prompt tokens on first sight. */
ReplayReq *replay__req(ReplayExecutor *x, const Request *r)
{
    ReplayReq *q = replay__find(x, r->id);
    if (q) return q;
    q = ss_calloc(1, sizeof(*q));
    q->id = r->id;
    q->n_prompt = q->n_tokens = r->input_tokens;
    SS_GROW(q->tokens, q->cap, (size_t)r->input_tokens + 1);
    for (int32_t i = 0; i < r->input_tokens; i++)
        q->tokens[i] = replay_prompt_token(x->cfg.seed, r->id, i, x->cfg.shape.vocab);
    map_put(x, q);
    return q;
}

static void req_drop_kv(ReplayExecutor *x, ReplayReq *q)
{
    kv_seq_release(&x->kv, &q->kv);
    q->cached = q->pad = 0;
}

/* Finished: forget it.  Preempted (recompute): free its blocks, keep its
 * tokens: the next prefill chunks recompute prompt + generated tokens. */
static void replay_release(void *ctx, const Request *r)
{
    ReplayExecutor *x = ctx;
    ReplayReq *q = replay__find(x, r->id);
    if (!q) return;
    req_drop_kv(x, q);
    if (!request_is_finished(r)) return;
    map_remove(x, r->id);
    kv_seq_destroy(&q->kv);
    free(q->tokens);
    free(q);
}

/* ---- set-up ---- */

static int create_cuda(ReplayExecutor *x, int num_blocks)
{
    int r = cuda_module_load(&x->cuda_api);
    if (r) return r;
    if (x->cuda_api->device_count() == 0)
        return ss_error_set(ENODEV, "--backend cuda: no CUDA device here");
    ModelCuda *m = NULL;
    r = x->cuda_api->create(&m, &x->cfg.shape, x->cfg.seed, num_blocks, x->cfg.block_size);
    if (r < 0) return ss_error_set(-r, "--backend cuda: cannot create the model (%d blocks)", num_blocks);
    x->cuda = m;
    return 0;
}

int replay_executor_create(ReplayExecutor **out, const ReplayConfig *cfg)
{
    *out = NULL;
    ReplayExecutor *x = ss_calloc(1, sizeof(*x));
    x->cfg = *cfg;
    int r = kv_init(&x->kv, cfg->capacity_tokens, cfg->block_size, 0.0, 0);
    if (r) goto fail;
    if (x->kv.n_blocks < 1) {
        r = ss_error_set(EINVAL, "replay: a KV cache of %lld tokens holds no %d-token block",
                         (long long)cfg->capacity_tokens, cfg->block_size);
        goto fail;
    }
    if (cfg->backend == REPLAY_BACKEND_CPU) {
        r = model_create(&x->cpu, &cfg->shape, cfg->seed, x->kv.n_blocks, cfg->block_size);
        if (r < 0) {
            ss_error_set(-r, "--backend cpu: cannot create the model (%d blocks of %d tokens)",
                         x->kv.n_blocks, cfg->block_size);
            goto fail;
        }
    } else if ((r = create_cuda(x, x->kv.n_blocks))) {
        goto fail;
    }
    if (cfg->steps_csv)
        fputs("step,iter,kind,members,seqs,prefill_seqs,prefill_tokens,prefill_attn_pairs,"
              "prefill_past_tokens,decode_seqs,decode_context,attn_pairs,padding_skipped,"
              "measured_s,roofline_s,profile_s\n", cfg->steps_csv);
    *out = x;
    return 0;
fail:
    replay_executor_destroy(&x);
    return r;
}

void replay_executor_destroy(ReplayExecutor **px)
{
    ReplayExecutor *x = *px;
    if (!x) return;
    for (size_t i = 0; i < x->map_cap; i++) {
        ReplayReq *q = x->map[i].req;
        if (!q) continue;
        kv_seq_release(&x->kv, &q->kv);
        kv_seq_destroy(&q->kv);
        free(q->tokens);
        free(q);
    }
    free(x->map);
    model_destroy(&x->cpu);
    if (x->cuda) {
        ModelCuda *m = x->cuda;
        x->cuda_api->destroy(&m);
    }
    kv_free(&x->kv);
    free(x->plan);
    free(x->seqs);
    free(x->next);
    free(x->scratch);
    free(x);
    *px = NULL;
}

StepExecutor replay_executor_hook(ReplayExecutor *x)
{
    return (StepExecutor){ .ctx = x, .run_iteration = replay__run_iteration,
                           .release = replay_release };
}

json_t *replay_executor_stats_json(const ReplayExecutor *x)
{
    json_t *o = json_object();
    json_object_set_new(o, "backend", json_string(x->cfg.backend == REPLAY_BACKEND_CUDA ? "cuda" : "cpu"));
    json_object_set_new(o, "kv_cache_tokens", json_integer((json_int_t)x->kv.n_blocks * x->kv.block_size));
    json_object_set_new(o, "kv_block_bytes", json_integer((json_int_t)model_kv_block_bytes(
        &x->cfg.shape, x->cfg.block_size, replay_backend_elem_bytes(x->cfg.backend))));
    json_object_set_new(o, "peak_blocks_held", json_integer(x->kv.peak_held));
    json_object_set_new(o, "steps", json_integer(x->steps));
    json_object_set_new(o, "iterations", json_integer(x->iterations));
    json_object_set_new(o, "measured_s", json_real(x->measured_s));
    json_object_set_new(o, "tokens_computed", json_integer(x->tokens_computed));
    json_object_set_new(o, "tokens_generated", json_integer(x->tokens_generated));
    json_object_set_new(o, "tokens_recomputed", json_integer(x->tokens_recomputed));
    json_object_set_new(o, "padding_skipped_tokens", json_integer(x->padding_skipped));
    return o;
}

const int32_t *replay_executor_tokens(const ReplayExecutor *x, int64_t id, int32_t *n_prompt,
                                      int32_t *n_tokens)
{
    const ReplayReq *q = replay__find(x, id);
    if (!q) return NULL;
    *n_prompt = q->n_prompt;
    *n_tokens = q->n_tokens;
    return q->tokens;
}
