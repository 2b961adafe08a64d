/* test_cost.c: model/GPU spec files, the roofline against a hand calculation,
 * closed-form decode spans against step-by-step sums, backends by spec. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gsl/gsl_rng.h>

#include "common.h"
#include "cost/cost.h"

#define KIB 1024.0

static void assert_close(double got, double want, double rel)
{
    double err = fabs(got - want) / fmax(fabs(want), 1e-300);
    if (err > rel) fail_msg("got %.17g want %.17g (relative error %.3g > %.3g)", got, want, err, rel);
}

static void load_model(ModelSpec *m, const char *name)
{
    int r = model_spec_load(m, name);
    if (r) fail_msg("model %s: %s", name, ss_error_get());
}

static void load_gpu(GpuSpec *g, const char *name)
{
    int r = gpu_spec_load(g, name);
    if (r) fail_msg("gpu %s: %s", name, ss_error_get());
}

static void test_kv_bytes_and_params(void **state)
{
    (void)state;
    static const struct { const char *name; double kv_kib, params_b, tol; } cases[] = {
        /* KV from background.md; parameter counts as published (B = 1e9). */
        { "chatglm-6b", 448, 6.2, 0.02 },
        { "llama-2-7b", 512, 6.74, 0.01 },
        { "llama-2-13b", 800, 13.0, 0.01 },
        { "llama-3-8b", 128, 8.03, 0.01 },
        { "llama-2-70b", 320, 69.0, 0.01 },
        { "llama-3-70b", 320, 70.6, 0.01 },
    };
    for (size_t i = 0; i < SS_ARRAY_LEN(cases); i++) {
        ModelSpec m;
        load_model(&m, cases[i].name);
        assert_string_equal(m.name, cases[i].name);
        assert_true(m.kv_bytes_per_token == cases[i].kv_kib * KIB);
        assert_close(m.params / 1e9, cases[i].params_b, cases[i].tol);
        assert_true(m.weight_bytes == m.params * m.bytes_per_param);
    }
    ModelSpec m;
    load_model(&m, "llama-2-7b");
    assert_int_equal(m.head_dim, 128);
    assert_true(m.gated_mlp);
    assert_int_equal(m.bytes_per_param, 2);
    /* background.md: Llama-2-7B weights about 13.5 GB in bf16. */
    assert_close(m.weight_bytes / 1e9, 13.5, 0.01);
}

static void test_gpus_load(void **state)
{
    (void)state;
    static const char *names[] = { "v100-32g", "a100-80g", "h100-sxm", "h200" };
    for (size_t i = 0; i < SS_ARRAY_LEN(names); i++) {
        GpuSpec g;
        load_gpu(&g, names[i]);
        assert_string_equal(g.name, names[i]);
        assert_true(g.achievable_bandwidth > 0.5 && g.achievable_bandwidth <= 1.0);
        assert_true(g.price_per_hour > 0);
    }
    GpuSpec g;
    load_gpu(&g, "h100-sxm");
    assert_true(g.hbm_bandwidth == 3.35e12 && g.flops_16bit == 989e12);
}

/* Write `text` to a temporary file; the caller unlinks `path`. */
static void write_temp(char *path, const char *text)
{
    strcpy(path, "/tmp/servesim-test-cost-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_model_error(const char *text, const char *needle)
{
    char path[64];
    write_temp(path, text);
    ModelSpec m;
    int r = model_spec_load(&m, path);
    unlink(path);
    assert_true(r < 0);
    if (!strstr(ss_error_get(), needle))
        fail_msg("error '%s' does not contain '%s'", ss_error_get(), needle);
}

static void test_spec_errors(void **state)
{
    (void)state;
    static const char good[] = "layers = 2\nhidden = 64\nheads = 4\nkv_heads = 2\n"
                               "intermediate = 128\nvocab = 100\nmax_context = 256\n"
                               "dtype = bf16\nmlp = swiglu\n";
    char text[512];
    snprintf(text, sizeof(text), "%s", good);
    char path[64];
    write_temp(path, text);
    ModelSpec m;
    int r = model_spec_load(&m, path);
    unlink(path);
    if (r) fail_msg("%s", ss_error_get());
    assert_int_equal(m.head_dim, 16);
    assert_true(m.kv_bytes_per_token == 2.0 * 2 * 2 * 16 * 2);

    snprintf(text, sizeof(text), "%slayrs = 3\n", good);
    expect_model_error(text, ":10: unknown field 'layrs'");
    snprintf(text, sizeof(text), "%s  # comment\nlayers = 3\n", good);
    expect_model_error(text, ":11: field 'layers' given twice");
    snprintf(text, sizeof(text), "hidden = x64\n");
    expect_model_error(text, ":1: hidden: 'x64' is not a positive integer");
    snprintf(text, sizeof(text), "%s", good + strlen("layers = 2\n"));
    expect_model_error(text, "missing field 'layers'");
    snprintf(text, sizeof(text), "%sbytes = 2\n", good);
    expect_model_error(text, "exactly one of fields 'dtype' and 'bytes'");
    snprintf(text, sizeof(text), "layers 2\n");
    expect_model_error(text, ":1: expected 'key = value'");
    snprintf(text, sizeof(text), "%s", good);
    text[strlen("layers = 2\nhidden = 64\nheads = 4\nkv_heads = ")] = '3';
    expect_model_error(text, "heads 4 is not a multiple of kv_heads 3");

    /* An unknown name is a bad value that lists the known ones; a missing path is ENOENT. */
    assert_true(model_spec_load(&m, "no-such-model") == -EINVAL);
    assert_non_null(strstr(ss_error_get(), "unknown model 'no-such-model' (known: "));
    assert_non_null(strstr(ss_error_get(), "llama-2-7b"));
    assert_true(model_spec_load(&m, "/nonexistent/no-such-model.txt") == -ENOENT);
    assert_non_null(strstr(ss_error_get(), "no-such-model.txt"));
    GpuSpec g;
    assert_true(gpu_spec_load(&g, "../etc/passwd") < 0);
}

/* Hand calculation, Llama-2-7B on H100 SXM, tp = 1.
 *   F = 989e12 x 0.81 = 801.09e12 FLOP/s; B = 3.35e12 x 0.90 = 3.015e12 bytes/s
 *   P_layers = 32 x (4 x 4096^2 + 3 x 4096 x 11008 + 2 x 4096) = 6,476,267,520
 *   LM head = 32000 x 4096 = 131,072,000
 *   dense bytes = (6,476,267,520 + 131,072,000) x 2 = 13,214,679,040 -> /B = 4.38298 ms
 * Decode, 1 sequence, context 1024:
 *   dense FLOPs = 2 x 6,476,267,520 + 2 x 131,072,000 = 13,214,679,040 -> /F = 16.5 us
 *     -> dense = 4.38298 ms (memory-bound)
 *   attention FLOPs = 4 x 32 x 32 x 128 x 1025 pairs = 537,395,200 -> /F = 0.67 us
 *   KV bytes = 1025 x 524,288 = 537,395,200 -> /B = 0.17824 ms (memory-bound)
 *   step = 1 ms + 4.38298 ms + 0.17824 ms = 5.56122 ms
 * Prefill, 1 sequence, 512 prompt tokens, nothing cached:
 *   dense FLOPs = 2 x 6,476,267,520 x 512 + 2 x 131,072,000 = 6.6319e12 -> /F = 8.27867 ms
 *     (compute-bound: > 4.38298 ms)
 *   pairs = 512 x 513 / 2 = 131,328; attention FLOPs = 68,853,694,464 -> /F = 85.95 us
 *   KV bytes = 512 x 524,288 = 268,435,456 -> /B = 89.03 us -> attention = 89.03 us
 *   step = 1 ms + 8.27867 ms + 0.08903 ms = 9.36770 ms */
static void test_roofline_hand(void **state)
{
    (void)state;
    ModelSpec m;
    GpuSpec g;
    load_model(&m, "llama-2-7b");
    load_gpu(&g, "h100-sxm");
    Roofline r;
    roofline_init_legacy(&r, &m, &g, 1);  /* the uncalibrated formula, by hand */
    const double F = 989e12 * 0.81, B = 3.35e12 * 0.90;

    StepShape decode = { .decode_seqs = 1, .decode_context = 1024 };
    double want = 1e-3 + 13214679040.0 / B + 537395200.0 / B;
    assert_close(roofline_step_time(&r, &decode), want, 1e-12);
    assert_close(roofline_step_time(&r, &decode), 5.56122e-3, 1e-5);

    StepShape prefill = { .prefill_seqs = 1, .prefill_tokens = 512,
                          .prefill_attn_pairs = 512 * 513 / 2.0 };
    want = 1e-3 + (2.0 * 6476267520.0 * 512 + 2.0 * 131072000.0) / F + 268435456.0 / B;
    assert_close(roofline_step_time(&r, &prefill), want, 1e-12);
    assert_close(roofline_step_time(&r, &prefill), 9.36770e-3, 1e-5);

    /* background.md: a decode step's floor on an H100 is ~4.5 ms (13.5 GB / 3.0 TB/s). */
    assert_true(roofline_step_time(&r, &decode) > 4.3e-3);
    StepShape empty = { 0 };
    assert_true(roofline_step_time(&r, &empty) == 0.0);
}

/* Tensor parallel: llama-2-70b over 4 H100s, decode 8 sequences at 2048 each.
 * The all-reduces: 2 x 80 x (1.5 x 8 x 8192 x 2 bytes / 450e9 + 8 us). */
static void test_roofline_tp(void **state)
{
    (void)state;
    ModelSpec m;
    GpuSpec g;
    load_model(&m, "llama-2-70b");
    load_gpu(&g, "h100-sxm");
    Roofline r1, r4;
    roofline_init_legacy(&r1, &m, &g, 1);
    roofline_init_legacy(&r4, &m, &g, 4);
    StepShape s = { .decode_seqs = 8, .decode_context = 8 * 2048 };
    double t1 = roofline_step_time(&r1, &s), t4 = roofline_step_time(&r4, &s);
    double comm = 2.0 * 80 * (1.5 * 8 * 8192 * 2 / 450e9 + 8e-6);
    assert_close(t4 - 1e-3, (t1 - 1e-3) / 4 + comm, 1e-9);
    assert_true(t4 < t1);
}

static void test_sum_max_linear(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 42);
    for (int trial = 0; trial < 2000; trial++) {
        double a0 = gsl_rng_uniform(rng), a1 = gsl_rng_uniform(rng) * 1e-3;
        double b0 = gsl_rng_uniform(rng), b1 = gsl_rng_uniform(rng) * 1e-3;
        if (trial % 7 == 0) b1 = a1;
        if (trial % 11 == 0) b0 = a0;
        int64_t n = 1 + (int64_t)gsl_rng_uniform_int(rng, 3000);
        double want = 0;
        for (int64_t k = 0; k < n; k++) want += fmax(a0 + a1 * k, b0 + b1 * k);
        assert_close(cost_sum_max_linear(a0, a1, b0, b1, n), want, 1e-9);
    }
    assert_true(cost_sum_max_linear(1, 1, 2, 2, 0) == 0.0);
    /* Crossing inside: max(10, 2k) over k = 0..9 = 10 x 6 + (12 + 14 + 16 + 18) = 120. */
    assert_close(cost_sum_max_linear(10, 0, 0, 2, 10), 120, 1e-15);
    gsl_rng_free(rng);
}

/* decode_span_time(first, K) = sum of K step_time calls, random shapes. */
static void test_decode_span_equals_steps(void **state)
{
    (void)state;
    static const char *models[] = { "llama-2-7b", "llama-3-8b", "chatglm-6b", "llama-2-70b" };
    static const char *gpus[] = { "v100-32g", "a100-80g", "h100-sxm", "h200" };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    for (size_t mi = 0; mi < SS_ARRAY_LEN(models); mi++) {
        ModelSpec m;
        load_model(&m, models[mi]);
        for (size_t gi = 0; gi < SS_ARRAY_LEN(gpus); gi++) {
            GpuSpec g;
            load_gpu(&g, gpus[gi]);
            for (int trial = 0; trial < 40; trial++) {
                int32_t tp = 1 << gsl_rng_uniform_int(rng, 4);
                Roofline r;
                roofline_init(&r, &m, &g, tp);
                StepShape s = { .decode_seqs = 1 + (int32_t)gsl_rng_uniform_int(rng, 512) };
                s.decode_context = s.decode_seqs * (int64_t)(1 + gsl_rng_uniform_int(rng, 4096));
                int64_t iters = 1 + (int64_t)gsl_rng_uniform_int(rng, 2000);
                double sum = 0;
                StepShape k = s;
                for (int64_t i = 0; i < iters; i++) {
                    sum += roofline_step_time(&r, &k);
                    k.decode_context += k.decode_seqs;
                }
                double span = roofline_decode_span_time(&r, &s, iters);
                assert_close(span, sum, 1e-9);
                assert_true(span == roofline_decode_span_time(&r, &s, iters));
            }
        }
    }
    gsl_rng_free(rng);
}

static void test_kv_capacity(void **state)
{
    (void)state;
    ModelSpec m;
    GpuSpec g;
    load_model(&m, "llama-2-7b");
    load_gpu(&g, "h100-sxm");
    int64_t cap = cost_kv_capacity_tokens(&m, &g, 0.9, 1);
    assert_int_equal(cap, (int64_t)floor((g.hbm_bytes * 0.9 - m.weight_bytes) / (512 * KIB)));
    assert_true(cap > 100000 && cap < 150000);
    /* tp 2 holds more than twice as much: the weights are split too. */
    assert_true(cost_kv_capacity_tokens(&m, &g, 0.9, 2) > 2 * cap);
    load_model(&m, "llama-2-70b");
    assert_int_equal(cost_kv_capacity_tokens(&m, &g, 0.9, 1), 0);  /* 138 GB of weights */
    assert_true(cost_kv_capacity_tokens(&m, &g, 0.9, 4) > 0);
}

static void test_backend_roofline(void **state)
{
    (void)state;
    ModelSpec m;
    GpuSpec g;
    load_model(&m, "llama-3-8b");
    load_gpu(&g, "a100-80g");
    BackendEnv env = { .model = &m, .gpu = &g, .tensor_parallel = 1 };
    Backend *b = NULL;
    if (backend_create(&b, "roofline", &env)) fail_msg("%s", ss_error_get());
    Roofline r;
    roofline_init(&r, &m, &g, 1);
    StepShape s = { .decode_seqs = 16, .decode_context = 16 * 700 };
    assert_true(backend_step_time(b, &s) == roofline_step_time(&r, &s));
    assert_true(backend_decode_span_time(b, &s, 100) == roofline_decode_span_time(&r, &s, 100));
    assert_true(backend_decode_span_time(b, &s, 0) == 0.0);
    backend_destroy(&b);
    assert_null(b);

    if (backend_create(&b, "roofline:step_overhead_s=0", &env)) fail_msg("%s", ss_error_get());
    assert_close(backend_step_time(b, &s), roofline_step_time(&r, &s) - g.step_overhead_s, 1e-12);
    backend_destroy(&b);

    assert_true(backend_create(&b, "no-such-backend", &env) < 0);
    assert_null(b);
    assert_true(backend_create(&b, "roofline:bogus=1", &env) < 0);
    assert_null(b);
}

/* Each distribution's sample mean and CV within sampling error (n = 200,000:
 * the mean's relative standard error is cv / sqrt(n), 0.45 % at cv 2; allow
 * 5 standard errors, and 3 % on the CV, whose estimate has heavier tails). */
static void test_backend_synthetic(void **state)
{
    (void)state;
    static const struct { const char *spec; double mean, cv; } cases[] = {
        { "synthetic:dist=constant,mean=0.02", 0.02, 0.0 },
        { "synthetic:dist=exponential,mean=0.01", 0.01, 1.0 },
        { "synthetic:dist=uniform,mean=0.01,cv=0.5", 0.01, 0.5 },
        { "synthetic:dist=gamma,mean=0.01,cv=2", 0.01, 2.0 },
        { "synthetic:dist=lognormal,mean=0.01,cv=0.7", 0.01, 0.7 },
    };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    BackendEnv env = { .tensor_parallel = 1, .rng = rng };
    StepShape s = { .decode_seqs = 1, .decode_context = 10 };
    for (size_t i = 0; i < SS_ARRAY_LEN(cases); i++) {
        gsl_rng_set(rng, 1234);
        Backend *b = NULL;
        if (backend_create(&b, cases[i].spec, &env)) fail_msg("%s", ss_error_get());
        const int n = 200000;
        double sum = 0, sum2 = 0;
        for (int k = 0; k < n; k++) {
            double t = backend_step_time(b, &s);
            assert_true(t >= 0);
            sum += t;
            sum2 += t * t;
        }
        double mean = sum / n, sd = sqrt(fmax(sum2 / n - mean * mean, 0.0));
        assert_close(mean, cases[i].mean, fmax(5 * cases[i].cv / sqrt(n), 1e-12));
        if (cases[i].cv > 0) assert_close(sd / mean, cases[i].cv, 0.03);
        else assert_true(sd / mean < 1e-6);  /* cancellation in E[t^2] - E[t]^2 */
        assert_true(backend_decode_span_time(b, &s, 37) == 37 * cases[i].mean);
        backend_destroy(&b);
    }
    /* Same seed, same draws. */
    Backend *b1 = NULL, *b2 = NULL;
    gsl_rng *rng2 = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    gsl_rng_set(rng2, 5);
    BackendEnv env2 = env;
    env2.rng = rng2;
    assert_int_equal(backend_create(&b1, "synthetic:dist=gamma,cv=0.3", &env), 0);
    assert_int_equal(backend_create(&b2, "synthetic:dist=gamma,cv=0.3", &env2), 0);
    for (int k = 0; k < 100; k++) assert_true(backend_step_time(b1, &s) == backend_step_time(b2, &s));
    backend_destroy(&b1);
    backend_destroy(&b2);
    assert_true(backend_create(&b1, "synthetic:dist=uniform,cv=0.9", &env) < 0);
    assert_true(backend_create(&b1, "synthetic:dist=weibull", &env) < 0);
    env.rng = NULL;
    assert_true(backend_create(&b1, "synthetic", &env) < 0);
    assert_null(b1);
    gsl_rng_free(rng);
    gsl_rng_free(rng2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv_bytes_and_params),
        cmocka_unit_test(test_gpus_load),
        cmocka_unit_test(test_spec_errors),
        cmocka_unit_test(test_roofline_hand),
        cmocka_unit_test(test_roofline_tp),
        cmocka_unit_test(test_sum_max_linear),
        cmocka_unit_test(test_decode_span_equals_steps),
        cmocka_unit_test(test_kv_capacity),
        cmocka_unit_test(test_backend_roofline),
        cmocka_unit_test(test_backend_synthetic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
