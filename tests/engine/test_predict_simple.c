/* test_predict_simple.c: oracle, constant, noisy and linear predictors,
 * driven through their registry entries (PredictorOps) directly. */
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
#include "predict/predict.h"

/* A predictor instance without predictor_create: ops + options + state. */
typedef struct TestPredictor {
    const PredictorOps *ops;
    void *opts, *priv;
} TestPredictor;

static int tp_open(TestPredictor *t, const char *name, const char *kvs, gsl_rng *rng)
{
    t->ops = predictor_find(name);
    assert_non_null(t->ops);
    t->opts = ss_calloc(1, t->ops->opts_size + 1);
    t->priv = ss_calloc(1, t->ops->priv_size + 1);
    int r = opts_init(t->ops->opts, kvs, t->opts, name);
    if (r) return r;
    PredictEnv env = { .rng = rng };
    return t->ops->init(t->priv, t->opts, &env);
}

static void tp_close(TestPredictor *t)
{
    if (t->ops->close) t->ops->close(t->priv);
    free(t->opts);
    free(t->priv);
}

static double tp_predict(TestPredictor *t, int32_t input, int32_t truth)
{
    PredictInput in = { .input_tokens = input, .app = "", .true_output_tokens = truth };
    PredictOutput out;
    int r = t->ops->predict(t->priv, &in, &out);
    if (r) fail_msg("%s", ss_error_get());
    assert_true(out.p10 <= out.p50 && out.p50 <= out.p90);
    return out.tokens;
}

static void test_oracle_constant(void **state)
{
    (void)state;
    TestPredictor t;
    assert_int_equal(tp_open(&t, "oracle", NULL, NULL), 0);
    assert_true(t.ops->reads_truth);
    assert_true(tp_predict(&t, 100, 37) == 37.0);
    tp_close(&t);
    assert_int_equal(tp_open(&t, "constant", NULL, NULL), 0);
    assert_false(t.ops->reads_truth);
    assert_true(tp_predict(&t, 100, 37) == 256.0);
    tp_close(&t);
    assert_int_equal(tp_open(&t, "constant", "tokens=12", NULL), 0);
    assert_true(tp_predict(&t, 5, 999) == 12.0);
    tp_close(&t);
    assert_true(tp_open(&t, "constant", "tokens=0", NULL) < 0);
    tp_close(&t);
}

/* Noisy: the error's distribution over 100,000 draws (standard error of the
 * mean 0.0016 at sigma 0.5: allow 0.01; of the std about 0.0011: allow 0.01). */
static void test_noisy(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 99);
    TestPredictor t;
    assert_int_equal(tp_open(&t, "noisy", "dist=lognormal,sigma=0.5", rng), 0);
    assert_true(t.ops->reads_truth);
    const int n = 100000;
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        double e = log(tp_predict(&t, 10, 1000) / 1000.0);
        s += e;
        s2 += e * e;
    }
    double mean = s / n;
    assert_true(fabs(mean) < 0.01);
    assert_true(fabs(sqrt(s2 / n - mean * mean) - 0.5) < 0.01);
    tp_close(&t);

    assert_int_equal(tp_open(&t, "noisy", "dist=gaussian,sigma=0.2", rng), 0);
    s = s2 = 0;
    for (int i = 0; i < n; i++) {
        double e = tp_predict(&t, 10, 1000) / 1000.0 - 1.0;
        s += e;
        s2 += e * e;
    }
    mean = s / n;
    assert_true(fabs(mean) < 0.005);
    assert_true(fabs(sqrt(s2 / n - mean * mean) - 0.2) < 0.005);
    tp_close(&t);

    /* Clamped to >= 1 token. */
    assert_int_equal(tp_open(&t, "noisy", "dist=gaussian,sigma=3", rng), 0);
    for (int i = 0; i < 1000; i++) assert_true(tp_predict(&t, 10, 2) >= 1.0);
    tp_close(&t);

    /* Same seed, same predictions. */
    double a[50];
    gsl_rng_set(rng, 7);
    assert_int_equal(tp_open(&t, "noisy", NULL, rng), 0);
    for (int i = 0; i < 50; i++) a[i] = tp_predict(&t, 10, 100 + i);
    tp_close(&t);
    gsl_rng_set(rng, 7);
    assert_int_equal(tp_open(&t, "noisy", NULL, rng), 0);
    for (int i = 0; i < 50; i++) assert_true(tp_predict(&t, 10, 100 + i) == a[i]);
    tp_close(&t);

    assert_true(tp_open(&t, "noisy", NULL, NULL) < 0);  /* no stream */
    tp_close(&t);
    gsl_rng_free(rng);
}

static Dataset make_set(size_t n, double c0, double c1, double noise, gsl_rng *rng)
{
    Dataset d = { 0 };
    d.rows = ss_calloc(n, sizeof(*d.rows));
    d.n = d.cap = n;
    for (size_t i = 0; i < n; i++) {
        int32_t x = 1 + (int32_t)gsl_rng_uniform_int(rng, 2000);
        double y = c0 + c1 * x + (noise > 0 ? noise * (gsl_rng_uniform(rng) - 0.5) : 0);
        d.rows[i].in = (PredictInput){ .input_tokens = x, .app = "" };
        d.rows[i].output_tokens = (int32_t)lround(y);
    }
    return d;
}

static void save_load(TestPredictor *from, TestPredictor *to, char *path)
{
    strcpy(path, "/tmp/servesim-test-linear-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_int_equal(from->ops->save(from->priv, f), 0);
    fclose(f);
    char kvs[128];
    snprintf(kvs, sizeof(kvs), "file=%s", path);
    if (tp_open(to, "linear", kvs, NULL)) fail_msg("%s", ss_error_get());
}

static void expect_load_error(const char *text, const char *needle)
{
    char path[64];
    strcpy(path, "/tmp/servesim-test-linear-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    TestPredictor t;
    char kvs[128];
    snprintf(kvs, sizeof(kvs), "file=%s", path);
    assert_true(tp_open(&t, "linear", kvs, NULL) < 0);
    unlink(path);
    if (!strstr(ss_error_get(), needle))
        fail_msg("error '%s' does not contain '%s'", ss_error_get(), needle);
    tp_close(&t);
}

static void test_linear(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    TestPredictor t;
    assert_int_equal(tp_open(&t, "linear", NULL, NULL), 0);
    PredictInput in = { .input_tokens = 10 };
    PredictOutput out;
    assert_true(t.ops->predict(t.priv, &in, &out) < 0);  /* not trained */
    assert_non_null(strstr(ss_error_get(), "not trained"));

    /* Exact line: output = 5 + 0.5 x input (inputs even, so outputs are whole). */
    Dataset d = make_set(500, 5, 0.5, 0, rng);
    for (size_t i = 0; i < d.n; i++) {
        d.rows[i].in.input_tokens &= ~1;
        d.rows[i].in.input_tokens += 2;
        d.rows[i].output_tokens = 5 + d.rows[i].in.input_tokens / 2;
    }
    assert_int_equal(t.ops->train(t.priv, &d), 0);
    assert_true(fabs(tp_predict(&t, 1000, 0) - 505.0) < 1e-9);
    assert_true(tp_predict(&t, 0, 0) >= 1.0);
    free(d.rows);

    /* Noisy line: recovered within sampling error; residual band brackets it. */
    d = make_set(20000, 40, 0.3, 100, rng);
    assert_int_equal(t.ops->train(t.priv, &d), 0);
    assert_true(fabs(tp_predict(&t, 1000, 0) - 340.0) < 2.0);
    in.input_tokens = 1000;
    assert_int_equal(t.ops->predict(t.priv, &in, &out), 0);
    assert_true(out.has_quantiles);
    assert_true(fabs(out.p90 - out.tokens - 40.0) < 3.0);  /* uniform +-50: p90 residual 40 */
    assert_true(fabs(out.tokens - out.p10 - 40.0) < 3.0);
    free(d.rows);

    /* Save and load: the same predictions, bit for bit. */
    TestPredictor u;
    char path[64];
    save_load(&t, &u, path);
    for (int x = 1; x < 5000; x += 97) {
        PredictInput q = { .input_tokens = x };
        PredictOutput a, b;
        assert_int_equal(t.ops->predict(t.priv, &q, &a), 0);
        assert_int_equal(u.ops->predict(u.priv, &q, &b), 0);
        assert_true(a.tokens == b.tokens && a.p10 == b.p10 && a.p50 == b.p50 && a.p90 == b.p90);
    }
    unlink(path);
    tp_close(&u);

    /* All inputs equal: slope 0, the mean. */
    d = make_set(10, 0, 0, 0, rng);
    for (size_t i = 0; i < d.n; i++) {
        d.rows[i].in.input_tokens = 7;
        d.rows[i].output_tokens = (int32_t)(i + 1);
    }
    assert_int_equal(t.ops->train(t.priv, &d), 0);
    assert_true(fabs(tp_predict(&t, 1000, 0) - 5.5) < 1e-12);
    free(d.rows);
    tp_close(&t);

    expect_load_error("servesim-forest 1\n", ":1: not a linear predictor file");
    expect_load_error("servesim-linear 2\n", ":1: linear predictor version 2");
    expect_load_error("servesim-linear 1\nc0 1\nc2 3\n", ":3: unknown field 'c2'");
    expect_load_error("servesim-linear 1\nc0 x\n", ":2: c0: 'x' is not a finite number");
    expect_load_error("servesim-linear 1\nc0 1\nc1 2\n", "missing fields");
    gsl_rng_free(rng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracle_constant),
        cmocka_unit_test(test_noisy),
        cmocka_unit_test(test_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
