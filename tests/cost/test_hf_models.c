/* test_hf_models.c: config.json models (#20): parameter counts against the
 * published totals, MLA KV bytes by hand, MoE steps by hand, FP8, errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"
#include "cost/calibrated.h"
#include "cost/cost.h"

static void load(ModelSpec *m, const char *name)
{
    int r = model_spec_load(m, name);
    if (r) fprintf(stderr, "%s\n", ss_error_get());
    assert_int_equal(r, 0);
}

static void near(double got, double want, double rel)
{
    if (fabs(got - want) > rel * fabs(want)) {
        fprintf(stderr, "got %.6g want %.6g (rel %.3g > %.3g)\n", got, want, fabs(got - want) / fabs(want), rel);
        fail();
    }
}

/* Published totals: Mixtral 8x7B 46.7 B total / 12.9 B active (Mistral AI,
 * "Mixtral of experts", Jan 2024: counting the input embedding); DeepSeek-V3
 * 671 B / 37 B (DeepSeek-V3 technical report, arXiv 2412.19437, abstract;
 * the MTP module's 14 B excluded); Llama-3-8B 8.03 B (the HF model card);
 * gpt-oss-120b 116.83 B / 5.13 B active (OpenAI gpt-oss model card, table 1:
 * active counts the unembedding, not the embedding; biases not counted here);
 * DeepSeek-V2-Lite 15.7 B / 2.4 B (its HF model card). */
static void test_published_param_counts(void **state)
{
    (void)state;
    ModelSpec m;
    load(&m, "mixtral-8x7b-v0.1");
    near(m.params, 46.7e9, 0.002);
    near(m.active_params + (double)m.vocab * m.hidden, 12.9e9, 0.005); /* + the input embedding */
    load(&m, "deepseek-v3");
    near(m.params, 671e9, 0.001);
    near(m.active_params, 37e9, 0.015);
    load(&m, "meta-llama-3-8b");
    near(m.params, 8.03e9, 0.001);
    ModelSpec t;
    load(&t, "llama-3-8b"); /* the .txt spec: the same shapes, the same count */
    assert_true(t.params == m.params && t.kv_bytes_per_token == m.kv_bytes_per_token);
    load(&m, "gpt-oss-120b");
    near(m.params, 116.83e9, 0.001);
    near(m.active_params, 5.13e9, 0.005);
    load(&m, "deepseek-v2-lite");
    near(m.params, 15.7e9, 0.005);
    near(m.active_params, 2.4e9, 0.03);
}

/* MLA caches the latent: (kv_lora_rank 512 + qk_rope_head_dim 64) x 61 layers
 * x 2 bytes (bf16 KV: the FP8 checkpoint's cache is in the activations'
 * dtype) = 70272 bytes per token; GQA would be 2 x 61 x 128 x 128 x 2 = 3.9 MB. */
static void test_mla_kv_bytes(void **state)
{
    (void)state;
    ModelSpec m;
    load(&m, "deepseek-v3");
    assert_true(m.kv_bytes_per_token == 61.0 * (512 + 64) * 2);
    assert_int_equal(m.bytes_per_param, 1); /* quantization_config: fp8 */
    assert_true(m.fp8_compute);
    assert_int_equal(model_kv_shards(&m, 8), 1); /* the latent is on every GPU */
    GpuSpec g;
    assert_int_equal(gpu_spec_load(&g, "h200"), 0);
    char note[192];
    assert_int_equal(model_spec_deploy(&m, &g, "", "fp8", 8, 8, -1, note, sizeof(note)), 0);
    assert_true(m.kv_bytes_per_token == 61.0 * 576);
    assert_string_equal(note, "");
}

static void test_expected_experts(void **state)
{
    (void)state;
    assert_true(moe_expected_experts(1, 8, 2, 0) == 2.0);
    near(moe_expected_experts(8, 8, 2, 0), 8.0 * (1 - pow(0.75, 8)), 1e-12);
    near(moe_expected_experts(1e6, 256, 8, 0), 256, 1e-12);
    /* skewed routing touches fewer experts */
    assert_true(moe_expected_experts(16, 64, 6, 1.0) < moe_expected_experts(16, 64, 6, 0));
}

/* Mixtral decode of one token on one H100 with the legacy roofline: one
 * token touches exactly its 2 experts, so the step reads the attention,
 * norms and router of 32 layers, 2 x 32 experts and the LM head. */
static void test_moe_decode_step_by_hand(void **state)
{
    (void)state;
    ModelSpec m;
    GpuSpec g;
    load(&m, "mixtral-8x7b-v0.1");
    assert_int_equal(gpu_spec_load(&g, "h100-sxm"), 0);
    Roofline r;
    roofline_init_legacy(&r, &m, &g, 1);
    double h = 4096, attn = 2 * h * 4096 + 2 * h * 1024, expert = 3 * h * 14336;
    double shared = 32 * (attn + 2 * h + 8 * h);             /* attention, norms, router */
    double bytes = (shared + 2 * 32 * expert + 32000 * h) * 2; /* + touched experts + LM head */
    double flops = 2 * (shared + 2 * 32 * expert) + 2 * 32000 * h;
    double B = 3.35e12 * 0.90, F = 989e12 * 0.81;
    double dense = fmax(bytes / B, flops / F);
    /* attention over 0 cached tokens: 1 pair, 1 KV token written */
    double attn_s = fmax(4.0 * 32 * 32 * 128 / F, 2.0 * 32 * 8 * 128 * 2 / B);
    StepShape s = { .decode_seqs = 1, .decode_context = 0 };
    near(roofline_step_time(&r, &s), 1e-3 + dense + attn_s, 1e-12);
    /* The calibrated roofline, composed by hand from its GEMM formula: per
     * layer qkv + o + router + the grouped experts (2 groups of 1 row, one
     * floor each) */
    roofline_init(&r, &m, &g, 1);
    const CalParams *p = &cal_params_default;
    CalHw hw = cal_hw_of(&g, p);
    double floor = p->gemm_floor_cycles / hw.clock;
    double per_layer = cal_gemm_s(p, &hw, 1, 4096 + 2048, h, 2) + cal_gemm_s(p, &hw, 1, h, 4096, 2) +
                       cal_gemm_s(p, &hw, 1, 8, h, 2) + floor + 2 * (cal_gemm_s(p, &hw, 1, 2 * 14336, h, 2) - floor) +
                       floor + 2 * (cal_gemm_s(p, &hw, 1, h, 14336, 2) - floor);
    StepBreakdown b;
    cal_step_time(&r.cal, &s, &b);
    near(b.s[OPG_GEMM], 32 * per_layer, 1e-9);
    /* A 64-token decode touches nearly all 8 experts: the experts read about 4x the bytes */
    StepShape s64 = { .decode_seqs = 64, .decode_context = 64 * 512 };
    StepBreakdown b64;
    cal_step_time(&r.cal, &s64, &b64);
    assert_true(b64.s[OPG_GEMM] > 2.5 * b.s[OPG_GEMM]);
}

/* Expert parallel: the two all-to-alls per MoE layer appear in the all-reduce group. */
static void test_ep_and_fp8(void **state)
{
    (void)state;
    ModelSpec m, e;
    GpuSpec g, a100;
    load(&m, "mixtral-8x7b-v0.1");
    assert_int_equal(gpu_spec_load(&g, "h100-sxm"), 0);
    e = m;
    assert_int_equal(model_spec_deploy(&e, &g, "", "", 2, 2, -1, NULL, 0), 0);
    assert_int_equal(e.expert_parallel, 2);
    Roofline r1, r2;
    roofline_init(&r1, &m, &g, 2);
    roofline_init(&r2, &e, &g, 2);
    StepShape s = { .decode_seqs = 32, .decode_context = 32 * 1024 };
    StepBreakdown b1, b2;
    cal_step_time(&r1.cal, &s, &b1);
    cal_step_time(&r2.cal, &s, &b2);
    assert_true(b1.s[OPG_ALLREDUCE] != b2.s[OPG_ALLREDUCE]);
    assert_true(b2.s[OPG_GEMM] > 0);
    e = m;
    assert_int_equal(model_spec_deploy(&e, &g, "", "", 3, 2, -1, NULL, 0), -EINVAL); /* 3 does not divide tp 2 */
    /* FP8 weights: half the bytes; on the A100 (no flops_fp8) weight-only, said */
    e = m;
    assert_int_equal(model_spec_deploy(&e, &g, "fp8", "", 1, 1, -1, NULL, 0), 0);
    assert_true(e.fp8_compute && e.weight_bytes * 2 == m.weight_bytes);
    assert_int_equal(gpu_spec_load(&a100, "a100-80g"), 0);
    e = m;
    char note[192];
    assert_int_equal(model_spec_deploy(&e, &a100, "fp8", "", 1, 1, -1, note, sizeof(note)), 0);
    assert_false(e.fp8_compute);
    assert_non_null(strstr(note, "weight-only"));
    /* FP8 decode of a large batch is faster on the H100: fewer bytes, more FLOP/s */
    e = m;
    assert_int_equal(model_spec_deploy(&e, &g, "fp8", "fp8", 1, 1, -1, NULL, 0), 0);
    roofline_init(&r1, &m, &g, 1);
    roofline_init(&r2, &e, &g, 1);
    assert_true(roofline_step_time(&r2, &s) < roofline_step_time(&r1, &s));
}

static const char *write_json(const char *text)
{
    static char path[] = "/tmp/servesim_hf_XXXXXX.json";
    snprintf(path, sizeof(path), "/tmp/servesim_hf_XXXXXX.json");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

#define BASE "\"model_type\": \"llama\", \"num_hidden_layers\": 2, \"hidden_size\": 64, \"num_attention_heads\": 4, " \
             "\"intermediate_size\": 128, \"vocab_size\": 256, \"max_position_embeddings\": 1024"

static void expect_error(const char *json, const char *needle)
{
    const char *p = write_json(json);
    ModelSpec m;
    int r = model_spec_load(&m, p);
    remove(p);
    if (r == 0 || !strstr(ss_error_get(), needle)) {
        fprintf(stderr, "r=%d, error '%s' lacks '%s'\n", r, ss_error_get(), needle);
        fail();
    }
}

static void test_unknown_fields_are_errors(void **state)
{
    (void)state;
    expect_error("{" BASE ", \"num_sparse_widgets\": 3}", "field 'num_sparse_widgets' is not understood");
    expect_error("{" BASE ", \"rope_scaling\": {\"type\": \"warp\"}}", "rope_scaling: unknown type 'warp'");
    expect_error("{" BASE ", \"quantization_config\": {\"quant_method\": \"awq\"}}", "unknown 'awq'");
    expect_error("{\"model_type\": \"gemma\"}", "model_type 'gemma' is not mapped");
    expect_error("{" BASE ", \"hidden_act\": \"gelu\"}", "hidden_act");
    expect_error("{\"model_type\": \"llama\"}", "missing field 'num_hidden_layers'");
    expect_error("{" BASE ", \"num_local_experts\": 4, \"num_experts_per_tok\": 8}", "experts_per_token 8");
    expect_error("{" BASE, "model:"); /* malformed JSON */
    const char *p = write_json("{" BASE ", \"bos_token_id\": 1, \"rope_theta\": 10000}");
    ModelSpec m;
    assert_int_equal(model_spec_load(&m, p), 0); /* ignored by design */
    remove(p);
    assert_int_equal(m.kv_heads, 4);
    assert_int_equal(m.head_dim, 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_param_counts), cmocka_unit_test(test_mla_kv_bytes),
        cmocka_unit_test(test_expected_experts),       cmocka_unit_test(test_moe_decode_step_by_hand),
        cmocka_unit_test(test_ep_and_fp8),             cmocka_unit_test(test_unknown_fields_are_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
