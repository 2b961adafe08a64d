/* hf_config.c: a Hugging Face config.json as a ModelSpec (docs/MODELS.md).
 *
 * Families (model_type): llama, mistral, qwen2, qwen3 (dense); mixtral,
 * qwen3_moe, gpt_oss (mixture of experts); deepseek_v2, deepseek_v3 (MoE with
 * multi-head latent attention).  Every key of the file is either read (and
 * checked) or listed below as irrelevant to cost; any other key is an error
 * naming it, so a config this mapping does not understand is refused rather
 * than guessed at.  A value the mapping cannot interpret (an unknown
 * rope_scaling type, quantization method, activation) is an error too. */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "cost/cost.h"

static const char *const known_families[] = {
    "llama", "mistral", "qwen2", "qwen3", "mixtral", "qwen3_moe", "deepseek_v2", "deepseek_v3", "gpt_oss",
};

/* Keys the mapping reads (checked below). */
static const char *const read_keys[] = {
    "model_type", "num_hidden_layers", "hidden_size", "num_attention_heads", "num_key_value_heads",
    "head_dim", "intermediate_size", "vocab_size", "max_position_embeddings", "tie_word_embeddings",
    "torch_dtype", "dtype", "hidden_act", "quantization_config", "rope_scaling", "sliding_window",
    "use_sliding_window", "max_window_layers", "layer_types", "attention_bias", "mlp_bias",
    "num_local_experts", "num_experts", "n_routed_experts", "num_experts_per_tok", "experts_per_token",
    "n_shared_experts", "moe_intermediate_size", "first_k_dense_replace", "moe_layer_freq",
    "decoder_sparse_step", "mlp_only_layers", "q_lora_rank", "kv_lora_rank", "qk_rope_head_dim",
    "qk_nope_head_dim", "v_head_dim",
};

/* Keys that do not change a step's shapes, bytes or FLOPs (docs/MODELS.md). */
static const char *const ignored_keys[] = {
    "architectures", "auto_map", "_name_or_path", "transformers_version", "bos_token_id", "eos_token_id",
    "pad_token_id", "initializer_range", "rms_norm_eps", "rope_theta", "attention_dropout", "use_cache",
    "output_router_logits", "router_aux_loss_coef", "router_jitter_noise", "aux_loss_alpha", "seq_aux",
    "scoring_func", "topk_method", "n_group", "topk_group", "routed_scaling_factor", "norm_topk_prob",
    "ep_size", "num_nextn_predict_layers", "pretraining_tp", "swiglu_limit", "initial_context_length",
};

static bool in_list(const char *key, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(key, list[i])) return true;
    return false;
}

/* An integer key: absent or null -> `dflt` (or an error when required). */
static int hf_int(json_t *root, const char *path, const char *key, bool required, int32_t dflt, int32_t *out)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        if (required) return ss_error_set(EINVAL, "%s: missing field '%s'", path, key);
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
        return ss_error_set(EINVAL, "%s: %s: not a non-negative integer", path, key);
    *out = (int32_t)json_integer_value(v);
    return 0;
}

static int hf_bool(json_t *root, const char *path, const char *key, bool dflt, bool *out)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) { *out = dflt; return 0; }
    if (!json_is_boolean(v)) return ss_error_set(EINVAL, "%s: %s: not true or false", path, key);
    *out = json_is_true(v);
    return 0;
}

static int hf_dtype(json_t *root, const char *path, int32_t *bytes)
{
    const char *key = json_object_get(root, "torch_dtype") ? "torch_dtype" : "dtype";
    json_t *v = json_object_get(root, key);
    if (!v) { *bytes = 2; return 0; } /* transformers' default for these families: bf16 checkpoints */
    const char *s = json_string_value(v);
    if (s && (!strcmp(s, "bfloat16") || !strcmp(s, "float16"))) *bytes = 2;
    else if (s && !strcmp(s, "float32")) *bytes = 4;
    else return ss_error_set(EINVAL, "%s: %s: unknown '%s' (bfloat16|float16|float32)", path, key, s ? s : "?");
    return 0;
}

/* rope_scaling changes positions, not shapes: the known types are accepted. */
static int hf_rope(json_t *root, const char *path)
{
    json_t *v = json_object_get(root, "rope_scaling");
    if (!v || json_is_null(v)) return 0;
    if (!json_is_object(v)) return ss_error_set(EINVAL, "%s: rope_scaling: not an object", path);
    json_t *t = json_object_get(v, "rope_type");
    if (!t) t = json_object_get(v, "type");
    const char *s = json_string_value(t);
    static const char *const known[] = { "default", "linear", "dynamic", "yarn", "llama3", "longrope" };
    if (!s || !in_list(s, known, SS_ARRAY_LEN(known)))
        return ss_error_set(EINVAL, "%s: rope_scaling: unknown type '%s' (default|linear|dynamic|yarn|llama3|longrope)",
                            path, s ? s : "?");
    return 0;
}

/* quantization_config: fp8 (e4m3, DeepSeek-V3's block-wise) or mxfp4
 * (gpt-oss: the experts only). */
static int hf_quant(json_t *root, const char *path, ModelSpec *m)
{
    json_t *q = json_object_get(root, "quantization_config");
    if (!q || json_is_null(q)) return 0;
    const char *method = json_string_value(json_object_get(q, "quant_method"));
    if (!method) return ss_error_set(EINVAL, "%s: quantization_config.quant_method: missing", path);
    static const char *const fp8_keys[] = { "quant_method", "fmt", "activation_scheme", "weight_block_size" };
    static const char *const mxfp4_keys[] = { "quant_method", "modules_to_not_convert" };
    bool fp8 = !strcmp(method, "fp8"), mxfp4 = !strcmp(method, "mxfp4");
    if (!fp8 && !mxfp4)
        return ss_error_set(EINVAL, "%s: quantization_config.quant_method: unknown '%s' (fp8|mxfp4)", path, method);
    const char *key;
    json_t *val;
    json_object_foreach(q, key, val) {
        if (!in_list(key, fp8 ? fp8_keys : mxfp4_keys, fp8 ? SS_ARRAY_LEN(fp8_keys) : SS_ARRAY_LEN(mxfp4_keys)))
            return ss_error_set(EINVAL, "%s: quantization_config.%s: not understood for %s", path, key, method);
    }
    if (fp8) {
        const char *fmt = json_string_value(json_object_get(q, "fmt"));
        if (fmt && strcmp(fmt, "e4m3"))
            return ss_error_set(EINVAL, "%s: quantization_config.fmt: unknown '%s' (e4m3)", path, fmt);
        const char *act = json_string_value(json_object_get(q, "activation_scheme"));
        if (act && strcmp(act, "dynamic") && strcmp(act, "static"))
            return ss_error_set(EINVAL, "%s: quantization_config.activation_scheme: unknown '%s'", path, act);
        /* All linear weights in FP8 (the block scales, 1/16384 of them, and
         * the bf16 embeddings and norms are not counted apart). */
        m->kv_bytes = m->bytes_per_param; /* vLLM's KV cache stays in the activations' dtype */
        m->bytes_per_param = 1;
        m->fp8_compute = true;
    } else {
        /* MXFP4: 4-bit elements with one 8-bit scale per 32: 4.25 bits. */
        m->expert_bytes_per_param = 4.25 / 8.0;
    }
    return 0;
}

static int hf_check_keys(json_t *root, const char *path)
{
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (in_list(key, read_keys, SS_ARRAY_LEN(read_keys)) || in_list(key, ignored_keys, SS_ARRAY_LEN(ignored_keys)))
            continue;
        return ss_error_set(EINVAL, "%s: field '%s' is not understood (neither read nor known to be irrelevant "
                            "to cost: docs/MODELS.md)", path, key);
    }
    return 0;
}

/* MoE keys, under each family's names. */
static int hf_moe(json_t *root, const char *path, ModelSpec *m)
{
    int32_t a, b, c;
    int r;
    if ((r = hf_int(root, path, "num_local_experts", false, 0, &a)) ||
        (r = hf_int(root, path, "num_experts", false, 0, &b)) ||
        (r = hf_int(root, path, "n_routed_experts", false, 0, &c)))
        return r;
    m->experts = a ? a : b ? b : c;
    if ((r = hf_int(root, path, "num_experts_per_tok", false, 0, &a)) ||
        (r = hf_int(root, path, "experts_per_token", false, 0, &b)))
        return r;
    if (a && b && a != b)
        return ss_error_set(EINVAL, "%s: num_experts_per_tok %d and experts_per_token %d disagree", path, a, b);
    m->experts_per_token = a ? a : b;
    if (!m->experts) {
        m->experts_per_token = 0;
        return 0;
    }
    if ((r = hf_int(root, path, "n_shared_experts", false, 0, &m->shared_experts)) ||
        (r = hf_int(root, path, "first_k_dense_replace", false, 0, &m->dense_layers)) ||
        (r = hf_int(root, path, "moe_intermediate_size", false, m->intermediate, &m->moe_intermediate)))
        return r;
    if ((r = hf_int(root, path, "moe_layer_freq", false, 1, &a)) || (r = hf_int(root, path, "decoder_sparse_step", false, 1, &b)))
        return r;
    if (a != 1 || b != 1)
        return ss_error_set(EINVAL, "%s: %s %d: only every layer a MoE layer (1) is mapped", path,
                            a != 1 ? "moe_layer_freq" : "decoder_sparse_step", a != 1 ? a : b);
    json_t *only = json_object_get(root, "mlp_only_layers");
    if (only && !json_is_null(only) && (!json_is_array(only) || json_array_size(only)))
        return ss_error_set(EINVAL, "%s: mlp_only_layers: only an empty list is mapped", path);
    return 0;
}

static int hf_attention(json_t *root, const char *path, ModelSpec *m)
{
    int r;
    if ((r = hf_int(root, path, "kv_lora_rank", false, 0, &m->kv_lora_rank))) return r;
    if (!m->kv_lora_rank) return 0;
    if ((r = hf_int(root, path, "q_lora_rank", false, 0, &m->q_lora_rank)) ||
        (r = hf_int(root, path, "qk_rope_head_dim", true, 0, &m->qk_rope_head_dim)) ||
        (r = hf_int(root, path, "qk_nope_head_dim", true, 0, &m->qk_nope_head_dim)) ||
        (r = hf_int(root, path, "v_head_dim", true, 0, &m->v_head_dim)))
        return r;
    m->head_dim = m->qk_nope_head_dim + m->qk_rope_head_dim; /* the query-key width (informational) */
    return 0;
}

/* Sliding windows: recorded (the KV of windowed layers is counted in full). */
static int hf_window(json_t *root, const char *path, ModelSpec *m)
{
    bool use = true;
    int r;
    if ((r = hf_bool(root, path, "use_sliding_window", true, &use))) return r;
    if ((r = hf_int(root, path, "sliding_window", false, 0, &m->sliding_window))) return r;
    if (!use) m->sliding_window = 0;
    json_t *types = json_object_get(root, "layer_types");
    if (types && !json_is_null(types)) {
        if (!json_is_array(types) || (int64_t)json_array_size(types) != m->layers)
            return ss_error_set(EINVAL, "%s: layer_types: not a list of %d layers", path, m->layers);
        size_t i;
        json_t *t;
        json_array_foreach(types, i, t) {
            const char *s = json_string_value(t);
            if (!s || (strcmp(s, "sliding_attention") && strcmp(s, "full_attention")))
                return ss_error_set(EINVAL, "%s: layer_types[%zu]: unknown '%s' (sliding_attention|full_attention)",
                                    path, i, s ? s : "?");
        }
    }
    return 0;
}

static void hf_name(ModelSpec *m, const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t len = strlen(base);
    if (!strcmp(base, "config.json") && base != file) {
        /* .../<name>/config.json: the directory names the model */
        const char *end = base - 1, *start = end;
        while (start > file && start[-1] != '/') start--;
        len = (size_t)(end - start);
        base = start;
    } else if (len > 5 && !strcmp(base + len - 5, ".json")) {
        len -= 5;
    }
    if (len >= sizeof(m->name)) len = sizeof(m->name) - 1;
    memcpy(m->name, base, len);
    m->name[len] = '\0';
}

int model_spec_load_hf(ModelSpec *m, const char *path_in)
{
    char path[1300];
    struct stat st;
    memset(m, 0, sizeof(*m));
    if (!stat(path_in, &st) && S_ISDIR(st.st_mode)) {
        size_t n = strlen(path_in);
        snprintf(path, sizeof(path), "%s%sconfig.json", path_in, n && path_in[n - 1] == '/' ? "" : "/");
    } else {
        snprintf(path, sizeof(path), "%s", path_in);
    }
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        int e = stat(path, &st) ? errno : EINVAL;
        return ss_error_set(e, "model: %s:%d: %s", path, jerr.line, jerr.text);
    }
    int r = 0;
    if (!json_is_object(root)) { r = ss_error_set(EINVAL, "%s: not a JSON object", path); goto fail; }
    const char *family = json_string_value(json_object_get(root, "model_type"));
    if (!family || !in_list(family, known_families, SS_ARRAY_LEN(known_families))) {
        r = ss_error_set(EINVAL, "%s: model_type '%s' is not mapped (llama, mistral, qwen2, qwen3, mixtral, "
                         "qwen3_moe, deepseek_v2, deepseek_v3, gpt_oss)", path, family ? family : "missing");
        goto fail;
    }
    if ((r = hf_check_keys(root, path))) goto fail;
    hf_name(m, path);
    snprintf(m->source, sizeof(m->source), "%s", family);
    if ((r = hf_int(root, path, "num_hidden_layers", true, 0, &m->layers)) ||
        (r = hf_int(root, path, "hidden_size", true, 0, &m->hidden)) ||
        (r = hf_int(root, path, "num_attention_heads", true, 0, &m->heads)) ||
        (r = hf_int(root, path, "num_key_value_heads", false, m->heads, &m->kv_heads)) ||
        (r = hf_int(root, path, "head_dim", false, 0, &m->head_dim)) ||
        (r = hf_int(root, path, "intermediate_size", true, 0, &m->intermediate)) ||
        (r = hf_int(root, path, "vocab_size", true, 0, &m->vocab)) ||
        (r = hf_int(root, path, "max_position_embeddings", true, 0, &m->max_context)) ||
        (r = hf_bool(root, path, "tie_word_embeddings", false, &m->tied_embeddings)) ||
        (r = hf_dtype(root, path, &m->bytes_per_param)))
        goto fail;
    const char *act = json_string_value(json_object_get(root, "hidden_act"));
    if (json_object_get(root, "hidden_act") && (!act || strcmp(act, "silu"))) {
        r = ss_error_set(EINVAL, "%s: hidden_act: '%s' is not mapped (silu: a gated SwiGLU MLP)", path, act ? act : "?");
        goto fail;
    }
    m->gated_mlp = true; /* every mapped family: gate, up, down */
    if ((r = hf_rope(root, path)) || (r = hf_window(root, path, m)) || (r = hf_moe(root, path, m)) ||
        (r = hf_attention(root, path, m)) || (r = hf_quant(root, path, m)))
        goto fail;
    bool unused;
    if ((r = hf_bool(root, path, "attention_bias", false, &unused)) || (r = hf_bool(root, path, "mlp_bias", false, &unused)))
        goto fail;
    if ((r = model_spec_finish(m))) {
        char why[512];
        snprintf(why, sizeof(why), "%s", ss_error_get());
        r = ss_error_set(r, "%s: %s", path, why);
    }
fail:
    json_decref(root);
    return r;
}
