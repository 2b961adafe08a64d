/* spec.c: model shapes and GPU specs from small `key = value` text files.
 *
 * A spec is named ("llama-2-7b", found as <models dir>/models/llama-2-7b.txt)
 * or given as a path (anything with a '/' or ending in ".txt").  The models
 * directory is $SERVESIM_MODELS_DIR, else $SERVESIM_SOURCE_ROOT/models, else
 * the source tree the binary was configured from.  '#' starts a comment;
 * every key is known (a typo is an error, not a silently ignored line) and
 * appears at most once; errors name file:line and the field. */
#include <ctype.h>
#include <math.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cost/cost.h"
#include "servesim_config.h"

typedef enum SpecKind {
    SPEC_INT,      /* int32_t, > 0 */
    SPEC_DOUBLE,   /* double, finite */
    SPEC_DTYPE,    /* int32_t bytes per element from fp32|fp16|bf16|fp8|int8 */
    SPEC_MLP,      /* bool gated: swiglu (true) | gelu (false) */
    SPEC_BOOL,     /* bool: true|false */
} SpecKind;

typedef struct SpecField {
    const char *key;
    SpecKind kind;
    size_t offset;
    bool required;
} SpecField;

#define MF(key, kind, field, req) { key, kind, offsetof(ModelSpec, field), req }
static const SpecField model_fields[] = {
    MF("layers", SPEC_INT, layers, true),
    MF("hidden", SPEC_INT, hidden, true),
    MF("heads", SPEC_INT, heads, true),
    MF("kv_heads", SPEC_INT, kv_heads, true),
    MF("head_dim", SPEC_INT, head_dim, false),
    MF("intermediate", SPEC_INT, intermediate, true),
    MF("vocab", SPEC_INT, vocab, true),
    MF("max_context", SPEC_INT, max_context, true),
    MF("dtype", SPEC_DTYPE, bytes_per_param, false),
    MF("bytes", SPEC_INT, bytes_per_param, false),
    MF("mlp", SPEC_MLP, gated_mlp, true),
    MF("tied_embeddings", SPEC_BOOL, tied_embeddings, false),
    MF("experts", SPEC_INT, experts, false),
    MF("experts_per_token", SPEC_INT, experts_per_token, false),
    MF("shared_experts", SPEC_INT, shared_experts, false),
    MF("moe_intermediate", SPEC_INT, moe_intermediate, false),
    MF("dense_layers", SPEC_INT, dense_layers, false),
    MF("kv_dtype", SPEC_DTYPE, kv_bytes, false),
    { NULL, SPEC_INT, 0, false },
};
#undef MF

#define GF(key, field) { key, SPEC_DOUBLE, offsetof(GpuSpec, field), true }
static const SpecField gpu_fields[] = {
    GF("hbm_bytes", hbm_bytes),
    GF("hbm_bandwidth", hbm_bandwidth),
    GF("flops_16bit", flops_16bit),
    GF("achievable_bandwidth", achievable_bandwidth),
    GF("achievable_flops", achievable_flops),
    GF("step_overhead_s", step_overhead_s),
    GF("interconnect_bandwidth", interconnect_bandwidth),
    GF("interconnect_latency_s", interconnect_latency_s),
    GF("price_per_hour", price_per_hour),
    { "flops_fp8", SPEC_DOUBLE, offsetof(GpuSpec, flops_fp8), false },
    { "clock_hz", SPEC_DOUBLE, offsetof(GpuSpec, clock_hz), false },
    { "sm_count", SPEC_DOUBLE, offsetof(GpuSpec, sm_count), false },
    { "stream_bandwidth", SPEC_DOUBLE, offsetof(GpuSpec, stream_bandwidth), false },
    { NULL, SPEC_INT, 0, false },
};
#undef GF

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) e--;
    *e = '\0';
    return s;
}

const char *cost_models_dir(char *buf, size_t cap)
{
    const char *dir = getenv("SERVESIM_MODELS_DIR");
    if (dir && *dir) return dir;
    const char *root = getenv("SERVESIM_SOURCE_ROOT");
    if (!root || !*root) root = SERVESIM_SOURCE_ROOT;
    snprintf(buf, cap, "%s/models", root);
    return buf;
}

/* `name_or_path` -> a file path and the spec's name (its basename without
 * ".txt"). */
static int spec_resolve(const char *what, const char *subdir, const char *name_or_path,
                        char *path, size_t path_cap, char *name, size_t name_cap)
{
    if (!name_or_path || !*name_or_path)
        return ss_error_set(EINVAL, "%s: empty name", what);
    size_t n = strlen(name_or_path);
    bool is_path = strchr(name_or_path, '/') || (n > 4 && !strcmp(name_or_path + n - 4, ".txt"));
    if (is_path) {
        if ((size_t)snprintf(path, path_cap, "%s", name_or_path) >= path_cap)
            return ss_error_set(ENAMETOOLONG, "%s: path too long: %s", what, name_or_path);
    } else {
        for (const char *p = name_or_path; *p; p++)
            if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
                return ss_error_set(EINVAL, "%s: bad name '%s' (letters, digits, '.', '_', '-')",
                                    what, name_or_path);
        char dir[1024];
        const char *d = cost_models_dir(dir, sizeof(dir));
        if ((size_t)snprintf(path, path_cap, "%s/%s/%s.txt", d, subdir, name_or_path) >= path_cap)
            return ss_error_set(ENAMETOOLONG, "%s: path too long for '%s'", what, name_or_path);
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len > 4 && !strcmp(base + len - 4, ".txt")) len -= 4;
    if (len >= name_cap) len = name_cap - 1;
    memcpy(name, base, len);
    name[len] = '\0';
    return 0;
}

static int spec_set(const SpecField *f, void *out, const char *value, const char *path, int line)
{
    char *field = (char *)out + f->offset;
    switch (f->kind) {
    case SPEC_INT: {
        int64_t v;
        if (ss_parse_i64(value, &v) || v <= 0 || v > INT32_MAX)
            return ss_error_set(EINVAL, "%s:%d: %s: '%s' is not a positive integer",
                                path, line, f->key, value);
        *(int32_t *)field = (int32_t)v;
        return 0;
    }
    case SPEC_DOUBLE: {
        double v;
        if (ss_parse_double(value, &v))
            return ss_error_set(EINVAL, "%s:%d: %s: '%s' is not a finite number",
                                path, line, f->key, value);
        *(double *)field = v;
        return 0;
    }
    case SPEC_DTYPE: {
        static const struct { const char *name; int32_t bytes; } dtypes[] = {
            { "fp32", 4 }, { "fp16", 2 }, { "bf16", 2 }, { "fp8", 1 }, { "int8", 1 },
        };
        for (size_t i = 0; i < SS_ARRAY_LEN(dtypes); i++)
            if (!strcmp(value, dtypes[i].name)) {
                *(int32_t *)field = dtypes[i].bytes;
                return 0;
            }
        return ss_error_set(EINVAL, "%s:%d: dtype: unknown '%s' (fp32|fp16|bf16|fp8|int8)",
                            path, line, value);
    }
    case SPEC_MLP:
        if (strcmp(value, "swiglu") && strcmp(value, "gelu"))
            return ss_error_set(EINVAL, "%s:%d: mlp: unknown '%s' (swiglu|gelu)",
                                path, line, value);
        *(bool *)field = !strcmp(value, "swiglu");
        return 0;
    case SPEC_BOOL:
        if (strcmp(value, "true") && strcmp(value, "false"))
            return ss_error_set(EINVAL, "%s:%d: %s: '%s' is not true or false",
                                path, line, f->key, value);
        *(bool *)field = !strcmp(value, "true");
        return 0;
    }
    return ss_error_set(EINVAL, "%s:%d: %s: bad field kind", path, line, f->key);
}

/* Parse `path` into `out` over `fields`; `seen` gets one flag per field. */
static int spec_parse_file(const char *path, const char *what, const SpecField *fields,
                           void *out, bool *seen)
{
    FILE *f = fopen(path, "r");
    if (!f) return ss_error_set(errno, "%s: cannot open %s: %s", what, path, strerror(errno));
    char buf[1024];
    int line = 0, r = 0;
    while (fgets(buf, sizeof(buf), f)) {
        line++;
        size_t n = strlen(buf);
        if (n == sizeof(buf) - 1 && buf[n - 1] != '\n') {
            r = ss_error_set(EINVAL, "%s:%d: line too long", path, line);
            goto fail;
        }
        char *hash = strchr(buf, '#');
        if (hash) *hash = '\0';
        char *s = trim(buf);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            r = ss_error_set(EINVAL, "%s:%d: expected 'key = value', got '%s'", path, line, s);
            goto fail;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        const SpecField *fd = NULL;
        for (const SpecField *p = fields; p->key; p++)
            if (!strcmp(p->key, key)) fd = p;
        if (!fd) {
            r = ss_error_set(EINVAL, "%s:%d: unknown field '%s'", path, line, key);
            goto fail;
        }
        if (seen[fd - fields]) {
            r = ss_error_set(EINVAL, "%s:%d: field '%s' given twice", path, line, key);
            goto fail;
        }
        seen[fd - fields] = true;
        if ((r = spec_set(fd, out, value, path, line))) goto fail;
    }
    if (ferror(f)) {
        r = ss_error_set(EIO, "%s: read error", path);
        goto fail;
    }
    for (const SpecField *p = fields; p->key; p++)
        if (p->required && !seen[p - fields]) {
            r = ss_error_set(EINVAL, "%s: missing field '%s'", path, p->key);
            goto fail;
        }
fail:
    fclose(f);
    return r;
}

/* A config.json, a directory (holding one), or a bare name with no .txt
 * but a models/hf/<name>/config.json. */
static bool spec_hf_path(const char *name_or_path, char *path, size_t cap)
{
    size_t n = strlen(name_or_path);
    struct stat st;
    if (n > 5 && !strcmp(name_or_path + n - 5, ".json")) {
        snprintf(path, cap, "%s", name_or_path);
        return true;
    }
    if (!stat(name_or_path, &st) && S_ISDIR(st.st_mode)) {
        snprintf(path, cap, "%s", name_or_path);
        return true;
    }
    if (strchr(name_or_path, '/') || (n > 4 && !strcmp(name_or_path + n - 4, ".txt"))) return false;
    char dir[1024], txt[1400];
    const char *d = cost_models_dir(dir, sizeof(dir));
    snprintf(txt, sizeof(txt), "%s/models/%s.txt", d, name_or_path);
    if (!stat(txt, &st)) return false;
    snprintf(path, cap, "%s/hf/%s/config.json", d, name_or_path);
    return !stat(path, &st);
}

int model_spec_load(ModelSpec *m, const char *name_or_path)
{
    char path[1280];
    memset(m, 0, sizeof(*m));
    if (name_or_path && *name_or_path && spec_hf_path(name_or_path, path, sizeof(path)))
        return model_spec_load_hf(m, path);
    int r = spec_resolve("model", "models", name_or_path, path, sizeof(path),
                         m->name, sizeof(m->name));
    if (r) return r;
    snprintf(m->source, sizeof(m->source), "txt");
    bool seen[SS_ARRAY_LEN(model_fields)] = { false };
    if ((r = spec_parse_file(path, "model", model_fields, m, seen))) return cost_spec_unknown(r, "model", "models", name_or_path);
    /* dtype and bytes say the same thing: one of them, exactly. */
    bool has_dtype = false, has_bytes = false;
    for (size_t i = 0; model_fields[i].key; i++) {
        if (!strcmp(model_fields[i].key, "dtype")) has_dtype = seen[i];
        if (!strcmp(model_fields[i].key, "bytes")) has_bytes = seen[i];
    }
    if (has_dtype == has_bytes)
        return ss_error_set(EINVAL, "%s: give exactly one of fields 'dtype' and 'bytes'", path);
    if ((r = model_spec_finish(m))) {
        char why[512];
        snprintf(why, sizeof(why), "%s", ss_error_get());
        return ss_error_set(r, "%s: %s", path, why);
    }
    return 0;
}

double model_attn_params(const ModelSpec *m)
{
    double h = m->hidden, H = m->heads;
    if (!model_is_mla(m)) {
        double q = H * m->head_dim, kv = (double)m->kv_heads * m->head_dim;
        return h * q + 2.0 * h * kv + q * h;                       /* Wq, Wk, Wv, Wo */
    }
    double qk = (double)m->qk_nope_head_dim + m->qk_rope_head_dim;
    double q = m->q_lora_rank > 0 ? h * m->q_lora_rank + m->q_lora_rank + m->q_lora_rank * H * qk
                                  : h * H * qk;                    /* q_a, its norm, q_b; or q_proj */
    double kv_a = h * ((double)m->kv_lora_rank + m->qk_rope_head_dim) + m->kv_lora_rank; /* + its norm */
    double kv_b = (double)m->kv_lora_rank * H * ((double)m->qk_nope_head_dim + m->v_head_dim);
    return q + kv_a + kv_b + H * m->v_head_dim * h;                /* + o_proj */
}

static int model_spec_check_moe(ModelSpec *m)
{
    if (!m->experts) {
        if (m->experts_per_token || m->shared_experts || m->moe_intermediate || m->dense_layers)
            return ss_error_set(EINVAL, "model %s: experts_per_token, shared_experts, moe_intermediate "
                                "and dense_layers need experts", m->name);
        return 0;
    }
    if (m->experts < 1 || m->experts_per_token < 1 || m->experts_per_token > m->experts)
        return ss_error_set(EINVAL, "model %s: experts_per_token %d must be in [1, experts %d]", m->name,
                            m->experts_per_token, m->experts);
    if (m->moe_intermediate <= 0)
        return ss_error_set(EINVAL, "model %s: a MoE model needs moe_intermediate", m->name);
    if (m->dense_layers < 0 || m->dense_layers >= m->layers || m->shared_experts < 0)
        return ss_error_set(EINVAL, "model %s: dense_layers %d must be in [0, layers %d) and shared_experts >= 0",
                            m->name, m->dense_layers, m->layers);
    if (!m->gated_mlp)
        return ss_error_set(EINVAL, "model %s: experts are gated (swiglu) here", m->name);
    return 0;
}

int model_spec_finish(ModelSpec *m)
{
    if (m->layers <= 0 || m->hidden <= 0 || m->heads <= 0 || m->kv_heads <= 0 ||
        m->intermediate <= 0 || m->vocab <= 0 || m->max_context <= 0)
        return ss_error_set(EINVAL, "model %s: layers, hidden, heads, kv_heads, intermediate, "
                            "vocab and max_context must be positive", m->name);
    if (m->head_dim <= 0) {
        if (m->hidden % m->heads)
            return ss_error_set(EINVAL, "model %s: hidden %d is not a multiple of heads %d: "
                                "give head_dim", m->name, m->hidden, m->heads);
        m->head_dim = m->hidden / m->heads;
    }
    if (m->heads % m->kv_heads)
        return ss_error_set(EINVAL, "model %s: heads %d is not a multiple of kv_heads %d",
                            m->name, m->heads, m->kv_heads);
    if (m->bytes_per_param != 1 && m->bytes_per_param != 2 && m->bytes_per_param != 4)
        return ss_error_set(EINVAL, "model %s: bytes %d per element (1, 2 or 4)",
                            m->name, m->bytes_per_param);
    if (m->kv_bytes == 0) m->kv_bytes = m->bytes_per_param;
    if (m->kv_bytes != 1 && m->kv_bytes != 2 && m->kv_bytes != 4)
        return ss_error_set(EINVAL, "model %s: KV bytes %d per element (1, 2 or 4)", m->name, m->kv_bytes);
    if (m->expert_bytes_per_param == 0) m->expert_bytes_per_param = m->bytes_per_param;
    if (m->expert_parallel == 0) m->expert_parallel = 1;
    if (model_is_mla(m) && (m->qk_rope_head_dim <= 0 || m->qk_nope_head_dim <= 0 || m->v_head_dim <= 0))
        return ss_error_set(EINVAL, "model %s: MLA needs qk_rope_head_dim, qk_nope_head_dim and v_head_dim",
                            m->name);
    int r = model_spec_check_moe(m);
    if (r) return r;
    double h = m->hidden;
    double attn = model_attn_params(m);
    double dense_mlp = (m->gated_mlp ? 3.0 : 2.0) * h * m->intermediate; /* gate/up/down or up/down */
    double norms = 2.0 * h;
    double embed = (double)m->vocab * h;
    int32_t moe_layers = model_moe_layers(m);
    double expert = model_expert_params(m);
    double routed = (double)moe_layers * m->experts * expert;            /* routed experts' elements */
    double moe_always = m->experts * h + m->shared_experts * expert;     /* router, shared experts */
    double layers_common = m->layers * (attn + norms);
    double dense_part = (m->layers - moe_layers) * dense_mlp + moe_layers * moe_always;
    if (!model_is_moe(m)) /* the dense sum in its historical order: identical bytes, identical KV capacity */
        m->params = m->layers * (attn + dense_mlp + norms) + h + embed + (m->tied_embeddings ? 0.0 : embed);
    else
        m->params = layers_common + dense_part + routed + h + embed + (m->tied_embeddings ? 0.0 : embed);
    /* What one token multiplies by: the input embedding is a look-up, the LM
     * head is a GEMM (counted even when tied). */
    m->active_params = layers_common + dense_part + (double)moe_layers * m->experts_per_token * expert + h + embed;
    m->weight_bytes = (m->params - routed) * m->bytes_per_param + routed * m->expert_bytes_per_param;
    m->kv_bytes_per_token = model_is_mla(m)
        ? (double)m->layers * ((double)m->kv_lora_rank + m->qk_rope_head_dim) * m->kv_bytes
        : 2.0 * m->layers * m->kv_heads * m->head_dim * m->kv_bytes;
    return 0;
}

double moe_expected_experts(double tokens, int32_t experts, int32_t k, double skew)
{
    if (tokens <= 0 || experts <= 0) return 0.0;
    double E = experts;
    if (!(skew > 0)) return E * (1.0 - pow(1.0 - (double)k / E, tokens));
    /* Zipf shares p_i ~ 1 / i^s; a token picks k distinct experts, which we
     * take as k independent draws capped at one per expert: expert i is
     * untouched by a token with probability (1 - min(1, k p_i)). */
    double norm = 0.0;
    for (int32_t i = 1; i <= experts; i++) norm += pow(i, -skew);
    double touched = 0.0;
    for (int32_t i = 1; i <= experts; i++) {
        double q = SS_MIN(1.0, k * pow(i, -skew) / norm);
        touched += 1.0 - pow(1.0 - q, tokens);
    }
    return touched;
}

static int dtype_bytes(const char *what, const char *v, int32_t *out)
{
    if (!v || !*v) return 0;
    if (!strcmp(v, "fp8")) *out = 1;
    else if (!strcmp(v, "bf16") || !strcmp(v, "fp16")) *out = 2;
    else return ss_error_set(EINVAL, "%s: unknown '%s' (bf16|fp16|fp8)", what, v);
    return 0;
}

int model_spec_deploy(ModelSpec *m, const GpuSpec *g, const char *weights, const char *kv_dtype,
                      int32_t ep, int32_t tp, double skew, char *note, size_t note_cap)
{
    if (!note) note = m->deploy_note, note_cap = sizeof(m->deploy_note);
    if (note_cap) note[0] = '\0';
    int32_t wb = 0, kb = 0;
    int r;
    if ((r = dtype_bytes("--weights", weights, &wb)) || (r = dtype_bytes("--kv-dtype", kv_dtype, &kb))) return r;
    if (wb) {
        m->bytes_per_param = wb;
        m->expert_bytes_per_param = wb;
        m->fp8_compute = wb == 1;
    }
    if (kb) m->kv_bytes = kb;
    if (skew >= 0) m->routing_skew = skew;
    if (ep < 1) ep = 1;
    if (ep > 1) {
        if (!model_is_moe(m))
            return ss_error_set(EINVAL, "--ep %d: %s has no experts", ep, m->name);
        if (tp % ep || m->experts % ep)
            return ss_error_set(EINVAL, "--ep %d must divide --tp %d (the instance's GPUs) and the %d experts",
                                ep, tp, m->experts);
    }
    m->expert_parallel = ep;
    if (m->fp8_compute && g && !(g->flops_fp8 > 0) && note_cap) {
        /* No FP8 tensor cores (A100): vLLM runs FP8 checkpoints weight-only
         * (Marlin): bytes halved, the GEMMs at the 16-bit rate. */
        m->fp8_compute = false;
        snprintf(note, note_cap, "%s has no FP8 tensor FLOP/s (flops_fp8): FP8 weights run weight-only "
                     "(bytes halved, GEMMs at the 16-bit rate)", g->name);
    }
    return model_spec_finish(m);
}

int gpu_spec_load(GpuSpec *g, const char *name_or_path)
{
    char path[1280];
    memset(g, 0, sizeof(*g));
    int r = spec_resolve("gpu", "gpus", name_or_path, path, sizeof(path),
                         g->name, sizeof(g->name));
    if (r) return r;
    bool seen[SS_ARRAY_LEN(gpu_fields)] = { false };
    if ((r = spec_parse_file(path, "gpu", gpu_fields, g, seen))) return cost_spec_unknown(r, "gpu", "gpus", name_or_path);
    static const struct { const char *key; size_t offset; double min, max; } checks[] = {
        { "hbm_bytes", offsetof(GpuSpec, hbm_bytes), 1.0, 1e15 },
        { "hbm_bandwidth", offsetof(GpuSpec, hbm_bandwidth), 1.0, 1e15 },
        { "flops_16bit", offsetof(GpuSpec, flops_16bit), 1.0, 1e18 },
        { "achievable_bandwidth", offsetof(GpuSpec, achievable_bandwidth), 1e-3, 1.0 },
        { "achievable_flops", offsetof(GpuSpec, achievable_flops), 1e-3, 1.0 },
        { "step_overhead_s", offsetof(GpuSpec, step_overhead_s), 0.0, 10.0 },
        { "interconnect_bandwidth", offsetof(GpuSpec, interconnect_bandwidth), 1.0, 1e15 },
        { "interconnect_latency_s", offsetof(GpuSpec, interconnect_latency_s), 0.0, 1.0 },
        { "price_per_hour", offsetof(GpuSpec, price_per_hour), 0.0, 1e6 },
        { "flops_fp8", offsetof(GpuSpec, flops_fp8), 0.0, 1e18 },
        { "clock_hz", offsetof(GpuSpec, clock_hz), 0.0, 1e11 },
        { "sm_count", offsetof(GpuSpec, sm_count), 0.0, 1e5 },
        { "stream_bandwidth", offsetof(GpuSpec, stream_bandwidth), 0.0, 1e15 },
    };
    for (size_t i = 0; i < SS_ARRAY_LEN(checks); i++) {
        double v = *(const double *)((const char *)g + checks[i].offset);
        if (v < checks[i].min || v > checks[i].max)
            return ss_error_set(ERANGE, "%s: %s: %g is out of range [%g, %g]", path,
                                checks[i].key, v, checks[i].min, checks[i].max);
    }
    /* A measured bandwidth above the datasheet's peak is a unit slip, and it
     * would make every memory term of a stream calibration too fast. */
    if (g->stream_bandwidth > g->hbm_bandwidth)
        return ss_error_set(ERANGE, "%s: stream_bandwidth: %g bytes/s is above hbm_bandwidth %g (a measured "
                            "bandwidth cannot beat the datasheet's peak)", path, g->stream_bandwidth, g->hbm_bandwidth);
    return 0;
}

void model_spec_describe(const ModelSpec *m, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s (%s): %.2f B parameters, %.2f B active per token, weights %s%s, KV %d byte%s x %.0f per token (%s)",
                     m->name, m->source, m->params / 1e9, m->active_params / 1e9,
                     m->expert_bytes_per_param < 1 ? "bf16 + MXFP4 experts" : m->bytes_per_param == 1 ? "fp8" : m->bytes_per_param == 2 ? "16-bit" : "fp32",
                     m->fp8_compute ? " (FP8 GEMMs)" : "", m->kv_bytes, m->kv_bytes == 1 ? "" : "s",
                     m->kv_bytes_per_token / m->kv_bytes, model_is_mla(m) ? "MLA latent" : "K and V");
    if (n < 0 || (size_t)n >= cap || !model_is_moe(m)) return;
    snprintf(buf + n, cap - (size_t)n, "; MoE %d of %d layers: top-%d of %d experts + %d shared, %s routing, "
             "experts split over ep %d; all experts resident", model_moe_layers(m), m->layers, m->experts_per_token,
             m->experts, m->shared_experts, m->routing_skew > 0 ? "Zipf-skewed" : "uniform", m->expert_parallel);
}
