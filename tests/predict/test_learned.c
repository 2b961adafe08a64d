/* test_learned.c: the learned predictors (forest, gbt, quantile), their
 * features, model files and the JSONL dataset loader. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "engine/rng.h"
#include "predict/features.h"
#include "predict/predict.h"

static const char *const words[] = { "alpha", "beta", "gamma", "delta", "code", "{", "}",
                                     "explain", "brief", "æble", "数据", "x = 1;" };

/* Synthetic rows: out = 2 x input + 10 for app "a", 0.5 x input + 100 for
 * app "b", plus 0..3 tokens of noise; a little text to exercise features. */
static void make_synthetic(Dataset *d, size_t n, uint64_t seed)
{
    dataset_init(d);
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        int32_t x = 1 + (int32_t)(ss_mix64(s++) % 200);
        bool a = ss_mix64(s++) & 1;
        char text[256] = "";
        for (int w = 0; w < 1 + x / 20; w++) {
            strcat(text, words[ss_mix64(s++) % SS_ARRAY_LEN(words)]);
            strcat(text, w % 5 == 4 ? "\n" : " ");
        }
        PredictSample r = { .in = { .input_tokens = x, .app = a ? "a" : "b",
                                    .instruction = a ? "Do A." : "Do B.",
                                    .text = dataset_intern(d, text), .true_output_tokens = 0 } };
        r.output_tokens = (int32_t)(a ? 2 * x + 10 : x / 2 + 100) + (int32_t)(ss_mix64(s++) % 4);
        r.in.true_output_tokens = r.output_tokens;
        dataset_push(d, &r);
    }
}

/* Bit-identical outputs (fields, not the struct: it has padding). */
static void assert_same_output(const PredictOutput *a, const PredictOutput *b)
{
    assert_memory_equal(&a->tokens, &b->tokens, sizeof(double));
    assert_memory_equal(&a->p10, &b->p10, sizeof(double));
    assert_memory_equal(&a->p50, &b->p50, sizeof(double));
    assert_memory_equal(&a->p90, &b->p90, sizeof(double));
    assert_int_equal(a->has_quantiles, b->has_quantiles);
}

static Predictor *trained(const char *spec, const Dataset *d)
{
    gsl_rng *rng = ss_rng_stream(7, "predictor", 0);
    PredictEnv env = { rng };
    Predictor *p = NULL;
    assert_int_equal(predictor_create(&p, spec, &env), 0);
    assert_int_equal(predictor_train(p, d), 0);
    gsl_rng_free(rng);
    return p;
}

/* Mean absolute error relative to the mean label. */
static double relative_mae(Predictor *p, const Dataset *d)
{
    double err = 0, sum = 0;
    for (size_t i = 0; i < d->n; i++) {
        PredictOutput o;
        assert_int_equal(predictor_predict(p, &d->rows[i].in, &o), 0);
        err += fabs(o.tokens - d->rows[i].output_tokens);
        sum += d->rows[i].output_tokens;
    }
    return err / sum;
}

static void fits_synthetic(const char *spec, double tolerance)
{
    Dataset train, test;
    make_synthetic(&train, 3000, 1);
    make_synthetic(&test, 500, 99);
    Predictor *p = trained(spec, &train);
    double rel = relative_mae(p, &test);
    print_message("%s: relative MAE %.4f (tolerance %.2f)\n", spec, rel, tolerance);
    assert_true(rel < tolerance);
    predictor_destroy(&p);
    assert_null(p);
    dataset_free(&train);
    dataset_free(&test);
}

static void test_forest_fits(void **state)
{
    (void)state;
    fits_synthetic("forest:trees=40,depth=12", 0.02);
}

static void test_gbt_fits(void **state)
{
    (void)state;
    fits_synthetic("gbt:trees=200,depth=4", 0.02);
    fits_synthetic("gbt:trees=200,depth=4,loss=squared,target=raw", 0.02);
}

static void test_quantile_ratio(void **state)
{
    (void)state;
    Dataset d;
    make_synthetic(&d, 2000, 3);
    Predictor *p = trained("quantile:q=0.5,mode=output", &d);
    PredictInput in = { .input_tokens = 50, .app = "a" };
    PredictOutput o;
    assert_int_equal(predictor_predict(p, &in, &o), 0);
    assert_true(o.has_quantiles && o.p10 <= o.p50 && o.p50 <= o.p90);
    assert_true(fabs(o.tokens - 211) < 25);  /* median of 2 x U(1,200) + 10 */
    predictor_destroy(&p);
    dataset_free(&d);
}

static char *temp_path(const char *tag)
{
    static char path[256];
    snprintf(path, sizeof(path), "/tmp/servesim-test-%s-%d.txt", tag, (int)getpid());
    return path;
}

/* Train, save, load through "<name>:file=FILE": identical predictions. */
static void round_trip(const char *spec, const char *name)
{
    Dataset d;
    make_synthetic(&d, 1500, 5);
    Predictor *p = trained(spec, &d);
    const char *path = temp_path(name);
    assert_int_equal(predictor_save(p, path), 0);
    char kind[64], loaded_spec[300];
    assert_int_equal(predictor_model_kind(path, kind, sizeof(kind)), 0);
    assert_string_equal(kind, name);
    snprintf(loaded_spec, sizeof(loaded_spec), "%s:file=%s", name, path);
    Predictor *q = NULL;
    assert_int_equal(predictor_create(&q, loaded_spec, NULL), 0);
    for (size_t i = 0; i < d.n; i++) {
        PredictOutput a, b;
        assert_int_equal(predictor_predict(p, &d.rows[i].in, &a), 0);
        assert_int_equal(predictor_predict(q, &d.rows[i].in, &b), 0);
        assert_same_output(&a, &b);
    }
    remove(path);
    predictor_destroy(&p);
    predictor_destroy(&q);
    dataset_free(&d);
}

static void test_save_load_round_trip(void **state)
{
    (void)state;
    round_trip("forest:trees=10,depth=8", "forest");
    round_trip("gbt:trees=30,depth=3", "gbt");
    round_trip("quantile:q=0.9,mode=ratio", "quantile");
}

static void test_forest_threads_deterministic(void **state)
{
    (void)state;
    Dataset d;
    make_synthetic(&d, 1000, 11);
    Predictor *one = trained("forest:trees=12,depth=8,threads=1", &d);
    Predictor *three = trained("forest:trees=12,depth=8,threads=3", &d);
    for (size_t i = 0; i < d.n; i++) {
        PredictOutput a, b;
        assert_int_equal(predictor_predict(one, &d.rows[i].in, &a), 0);
        assert_int_equal(predictor_predict(three, &d.rows[i].in, &b), 0);
        assert_same_output(&a, &b);
    }
    predictor_destroy(&one);
    predictor_destroy(&three);
    dataset_free(&d);
}

static void test_features_deterministic(void **state)
{
    (void)state;
    Dataset d;
    make_synthetic(&d, 200, 13);
    FeatureSpace a, b, c;
    assert_int_equal(features_init(&a, 42, 16), 0);
    assert_int_equal(features_init(&b, 42, 16), 0);
    assert_int_equal(features_init(&c, 43, 16), 0);
    assert_int_equal(features_fit(&a, &d), 0);
    assert_int_equal(features_fit(&b, &d), 0);
    assert_int_equal(features_fit(&c, &d), 0);
    float *xa = features_matrix(&a, &d), *xb = features_matrix(&b, &d);
    float *xc = features_matrix(&c, &d);
    size_t dim = (size_t)a.dim;
    assert_int_equal(dim, FEAT_BASE + 32);
    assert_memory_equal(xa, xb, d.n * dim * sizeof(float));
    bool hashed_differ = false;
    for (size_t i = 0; i < d.n; i++) {
        assert_memory_equal(xa + i * dim, xc + i * dim, FEAT_BASE * sizeof(float));
        hashed_differ |= memcmp(xa + i * dim + FEAT_BASE, xc + i * dim + FEAT_BASE,
                                32 * sizeof(float)) != 0;
    }
    assert_true(hashed_differ);  /* another seed, other projections */
    /* A hand-checked vector: app "a" is id 0; "x = 1;" is code-shaped. */
    PredictInput in = { .input_tokens = 9, .app = "a", .text = "x = 1;\n  y();" };
    features_compute(&a, &in, xa);
    assert_true(xa[FEAT_APP_ID] == 0.0f && xa[FEAT_INPUT_TOKENS] == 9.0f);
    assert_true(xa[FEAT_TEXT_LINES] == 2.0f && xa[FEAT_CODE_LINES] == 1.0f);
    in.app = "zzz";
    features_compute(&a, &in, xa);
    assert_true(xa[FEAT_APP_ID] == (float)a.n_apps);  /* unknown app */
    free(xa); free(xb); free(xc);
    features_free(&a); features_free(&b); features_free(&c);
    dataset_free(&d);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_load_error(const char *spec, const char *needle)
{
    Predictor *p = NULL;
    ss_error_clear();
    assert_true(predictor_create(&p, spec, NULL) < 0);
    assert_null(p);
    print_message("error: %s\n", ss_error_get());
    assert_non_null(strstr(ss_error_get(), needle));
}

static void test_bad_model_file(void **state)
{
    (void)state;
    char spec[300];
    const char *path = temp_path("bad");
    write_file(path, "hello world\n");
    snprintf(spec, sizeof(spec), "forest:file=%s", path);
    expect_load_error(spec, "not a servesim-forest model file");
    write_file(path, "servesim-forest 99\n");
    expect_load_error(spec, "version 99");
    write_file(path, "servesim-gbt 1\noptions 1 1 1 0 0.1 1\n");
    expect_load_error(spec, "not a servesim-forest model file");
    write_file(path, "servesim-forest 2\noptions 1 1 7 2 4 5 0\nfeatures 2 1 0 0\n"
                     "pooled 1 1 1 1 1 0 * -\nmodels 0\ntree 3\ns 0 5 1 9 1\n");
    expect_load_error(spec, ":7: bad tree node");
    snprintf(spec, sizeof(spec), "forest:file=%s.missing", path);
    expect_load_error(spec, "cannot open");
    remove(path);
    char kind[64];
    assert_true(predictor_model_kind("/nonexistent/x", kind, sizeof(kind)) < 0);
}

static void test_dataset_jsonl(void **state)
{
    (void)state;
    const char *path = temp_path("data");
    write_file(path,
        "{\"app\":\"t\",\"model\":\"m\",\"split\":\"train\",\"instruction\":\"I\",\"input\":\"hi\","
        "\"prompt_tokens\":5,\"output_tokens\":7}\n"
        "{\"app\":\"t\",\"model\":\"m\",\"split\":\"valid\",\"instruction\":\"I\",\"input\":\"yo\","
        "\"prompt_tokens\":6,\"output_tokens\":8}\n\n"
        "{\"app\":\"u\",\"split\":\"train\",\"input\":\"z\",\"prompt_tokens\":1,"
        "\"output_tokens\":2}\n");
    Dataset d;
    dataset_init(&d);
    assert_int_equal(dataset_load_jsonl(&d, path, "train"), 0);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.rows[0].in.app, "t");
    assert_string_equal(d.rows[0].in.text, "hi");
    assert_int_equal(d.rows[1].output_tokens, 2);
    assert_null(d.rows[1].in.instruction);
    assert_true(d.rows[0].in.app == d.rows[0].in.app);
    dataset_free(&d);
    dataset_init(&d);
    assert_int_equal(dataset_load_jsonl(&d, path, NULL), 0);
    assert_int_equal(d.n, 3);
    dataset_free(&d);
    write_file(path, "{\"app\":\"t\",\"split\":\"train\",\"prompt_tokens\":5,\"output_tokens\":7}\n"
                     "{\"app\":\"t\",\"split\":\"train\",\"prompt_tokens\":\"5\"}\n");
    dataset_init(&d);
    ss_error_clear();
    assert_true(dataset_load_jsonl(&d, path, "train") < 0);
    assert_non_null(strstr(ss_error_get(), ":2: 'prompt_tokens'"));
    dataset_free(&d);
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_deterministic),
        cmocka_unit_test(test_forest_fits),
        cmocka_unit_test(test_gbt_fits),
        cmocka_unit_test(test_quantile_ratio),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_forest_threads_deterministic),
        cmocka_unit_test(test_bad_model_file),
        cmocka_unit_test(test_dataset_jsonl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
