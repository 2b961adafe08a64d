/* test_model_cues.c: the answering-model table (features_model.c), the
 * answer-length cues (features_cues.c) and forest target=logrel: what each
 * computes on hand-made rows, fallbacks for unknown and rare models, a
 * model file with a model table that round-trips bit-identically and one
 * whose damaged table names its line, and the JSONL loader's model field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "engine/rng.h"
#include "predict/features.h"
#include "predict/predict.h"

/* App "chat": model "short" answers 50 + x % 7 tokens, "long" 300 + x % 7,
 * "rare" (10 rows, under FEATURES_MODEL_MIN_ROWS) 1000; app "tr" (no model)
 * answers 2 x input.  Outputs do not depend on the text, so only the model
 * can tell "short" from "long". */
static void make_rows(Dataset *d, size_t n)
{
    dataset_init(d);
    for (size_t i = 0; i < n; i++) {
        int32_t x = 10 + (int32_t)(ss_mix64(i) % 90);
        PredictSample r = { .in = { .input_tokens = x, .app = "chat", .text = "hello there" } };
        switch (i % 3) {
        case 0: r.in.model = "short"; r.output_tokens = 50 + x % 7; break;
        case 1: r.in.model = "long"; r.output_tokens = 300 + x % 7; break;
        default: r.in.app = "tr"; r.output_tokens = 2 * x; break;
        }
        if (i < 10) { r.in.app = "chat"; r.in.model = "rare"; r.output_tokens = 1000; }
        r.in.true_output_tokens = r.output_tokens;
        dataset_push(d, &r);
    }
}

static void test_model_table(void **state)
{
    (void)state;
    Dataset d;
    make_rows(&d, 600);
    FeatureSpace fs;
    assert_int_equal(features_init(&fs, 1, 0), 0);
    assert_int_equal(features_fit(&fs, &d), 0);
    assert_int_equal(fs.n_models, 2);  /* "rare" has 10 rows: dropped */
    float x[FEAT_BASE];
    PredictInput in = { .input_tokens = 20, .app = "chat", .model = "long" };
    features_compute(&fs, &in, x);
    double app_median = x[FEAT_APP_MEDIAN_OUT];
    assert_true(x[FEAT_MODEL_MEDIAN_OUT] >= 300 && x[FEAT_MODEL_MEDIAN_OUT] <= 306);
    assert_true(fabs(x[FEAT_MODEL_FACTOR] - x[FEAT_MODEL_MEDIAN_OUT] / app_median) < 1e-4);
    assert_true(features_base_tokens(&fs, &in) == x[FEAT_MODEL_MEDIAN_OUT]);
    in.model = "short";
    features_compute(&fs, &in, x);
    assert_true(x[FEAT_MODEL_MEDIAN_OUT] >= 50 && x[FEAT_MODEL_MEDIAN_OUT] <= 56);
    /* Unknown, rare, absent model: the app's median, factor 1. */
    const char *fallback[] = { "nobody", "rare", NULL };
    for (size_t k = 0; k < 3; k++) {
        in.model = fallback[k];
        features_compute(&fs, &in, x);
        assert_true(x[FEAT_MODEL_MEDIAN_OUT] == (float)app_median);
        assert_true(x[FEAT_MODEL_FACTOR] == 1.0f);
    }
    /* A model of another app does not leak: "long" under app "tr". */
    in.app = "tr";
    in.model = "long";
    features_compute(&fs, &in, x);
    assert_true(x[FEAT_MODEL_MEDIAN_OUT] == x[FEAT_APP_MEDIAN_OUT]);
    features_free(&fs);
    dataset_free(&d);
}

static void cues(const char *text, float *x)
{
    FeatureSpace fs;
    assert_int_equal(features_init(&fs, 1, 0), 0);
    PredictInput in = { .input_tokens = 5, .app = "x", .text = text };
    features_compute(&fs, &in, x);
    features_free(&fs);
}

static void test_cues(void **state)
{
    (void)state;
    float x[FEAT_BASE];
    cues("List 10 ideas for a blog post, in 200 words.", x);
    assert_true(x[FEAT_ASK_COUNT] == 10 && x[FEAT_ASK_LENGTH_WORDS] == 200);
    assert_true(x[FEAT_ASK_ESSAY] == 2 && x[FEAT_STARTS_QUESTION] == 0);  /* blog, post */
    cues("What is the capital of France? Answer in one sentence, briefly.", x);
    assert_true(x[FEAT_STARTS_QUESTION] == 1 && x[FEAT_ASK_LENGTH_WORDS] == 20);
    assert_true(x[FEAT_ASK_BRIEF] == 1 && x[FEAT_ASK_COUNT] == 0);
    cues("Explain step-by-step, in three paragraphs, how to write Python code.", x);
    assert_true(x[FEAT_ASK_LENGTH_WORDS] == 300 && x[FEAT_ASK_STEPS] == 2);
    assert_true(x[FEAT_ASK_EXPLAIN] == 2 && x[FEAT_ASK_CODE] == 2);  /* explain, how; python, code */
    cues("Which one is better?", x);  /* "one" without a noun is no count */
    assert_true(x[FEAT_ASK_COUNT] == 0 && x[FEAT_ASK_LENGTH_WORDS] == 0);
    assert_true(x[FEAT_STARTS_QUESTION] == 1);
    cues("", x);
    assert_true(x[FEAT_ASK_COUNT] == 0 && x[FEAT_STARTS_QUESTION] == 0);
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

static double mae(Predictor *p, const Dataset *d, bool hide_model)
{
    double sum = 0;
    for (size_t i = 0; i < d->n; i++) {
        PredictInput in = d->rows[i].in;
        if (hide_model) in.model = NULL;
        PredictOutput o;
        assert_int_equal(predictor_predict(p, &in, &o), 0);
        sum += fabs(o.tokens - d->rows[i].output_tokens);
    }
    return sum / (double)d->n;
}

/* Knowing the model turns a 250-token miss into a few tokens; logrel and
 * log both learn it, and the model file keeps the table (bit-identical). */
static void test_forest_uses_model(void **state)
{
    (void)state;
    Dataset d;
    make_rows(&d, 1200);
    Predictor *p = trained("forest:trees=20,depth=8", &d);
    double with = mae(p, &d, false), without = mae(p, &d, true);
    print_message("forest logrel MAE %.2f with the model, %.2f without\n", with, without);
    assert_true(with < 15 && without > 5 * with);  /* "rare" rows cost ~6 of it */
    Predictor *lg = trained("forest:trees=20,depth=8,target=log", &d);
    double with_log = mae(lg, &d, false);
    print_message("forest log MAE %.2f with the model\n", with_log);
    assert_true(with_log < without / 2);
    char path[256], spec[300];
    snprintf(path, sizeof(path), "/tmp/servesim-test-models-%d.txt", (int)getpid());
    assert_int_equal(predictor_save(p, path), 0);
    snprintf(spec, sizeof(spec), "forest:file=%s", path);
    Predictor *q = NULL;
    assert_int_equal(predictor_create(&q, spec, NULL), 0);
    for (size_t i = 0; i < d.n; i++) {
        PredictOutput a, b;
        assert_int_equal(predictor_predict(p, &d.rows[i].in, &a), 0);
        assert_int_equal(predictor_predict(q, &d.rows[i].in, &b), 0);
        assert_memory_equal(&a.tokens, &b.tokens, sizeof(double));
        assert_memory_equal(&a.p90, &b.p90, sizeof(double));
    }
    predictor_destroy(&q);
    /* Damage the model table: its line is named. */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("servesim-forest 2\noptions 2 1 7 2 4 5 0\nfeatures 2 1 0 0\n"
          "pooled 1 1 1 1 1 0 * -\nmodels 2\nmodel 30 55 chat short\nmodel 30 x chat long\n", f);
    fclose(f);
    ss_error_clear();
    assert_true(predictor_create(&q, spec, NULL) < 0);
    print_message("error: %s\n", ss_error_get());
    assert_non_null(strstr(ss_error_get(), ":7: bad 'model' record"));
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("servesim-forest 2\noptions 2 1 7 2 4 5 0\nfeatures 2 1 0 0\n"
          "pooled 1 1 1 1 1 0 * -\nmodels 2\nmodel 30 55 chat short\nmodel 30 9 chat long\n", f);
    fclose(f);
    assert_true(predictor_create(&q, spec, NULL) < 0);
    assert_non_null(strstr(ss_error_get(), ":7: model table out of order"));
    remove(path);
    predictor_destroy(&p);
    predictor_destroy(&lg);
    dataset_free(&d);
}

static void test_jsonl_model(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "/tmp/servesim-test-modeljsonl-%d.jsonl", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"app\":\"chat\",\"model\":\"mistralai/Mixtral-8x7B-Instruct-v0.1\",\"split\":\"train\","
          "\"input\":\"hi\",\"prompt_tokens\":3,\"output_tokens\":9}\n"
          "{\"app\":\"chat\",\"split\":\"train\",\"prompt_tokens\":3,\"output_tokens\":9}\n", f);
    fclose(f);
    Dataset d;
    dataset_init(&d);
    assert_int_equal(dataset_load_jsonl(&d, path, "train"), 0);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.rows[0].in.model, "mistralai/Mixtral-8x7B-Instruct-v0.1");
    assert_null(d.rows[1].in.model);
    dataset_free(&d);
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_table),
        cmocka_unit_test(test_cues),
        cmocka_unit_test(test_forest_uses_model),
        cmocka_unit_test(test_jsonl_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
