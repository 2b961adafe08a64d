/* test_fit.c: fit recovery.  1e5 draws from a known distribution with a
 * fixed seed; the maximum-likelihood estimate must land within 3 standard
 * errors (from the Fisher information) of the truth, the true family must
 * win on AIC, and its KS statistic must be small (the 1 % critical value for
 * n = 1e5 is 1.63 / sqrt(n) = 0.0052; fitted parameters only shrink D). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "fit.h"

#define N 100000
#define KMAX 1000000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static gsl_rng *rng(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    return r;
}

static void assert_within_se(const FitResult *f, int i, double truth)
{
    double z = fabs(f->p[i] - truth) / f->se[i];
    if (!(z <= 3)) fail_msg("%s %s = %g (se %g), truth %g: %.2f standard errors",
                            fit_dist_name(f->dist), fit_param_name(f->dist, i), f->p[i], f->se[i],
                            truth, z);
}

/* Fit the three gap families to sorted x; return the family with least AIC. */
static FitDist fit_all_gaps(double *x, FitResult res[3])
{
    qsort(x, N, sizeof(double), cmp_double);
    FitDist best = FIT_EXPONENTIAL;
    for (int d = FIT_EXPONENTIAL; d <= FIT_WEIBULL; d++) {
        assert_int_equal(fit_gaps(x, N, (FitDist)d, &res[d]), 0);
        assert_true(res[d].ok);
        if (res[d].aic < res[best].aic) best = (FitDist)d;
    }
    return best;
}

static void test_exponential(void **state)
{
    (void)state;
    gsl_rng *r = rng(11);
    double *x = malloc(N * sizeof(double));
    for (int i = 0; i < N; i++) x[i] = gsl_ran_exponential(r, 0.5); /* rate 2 /s */
    FitResult res[3];
    fit_all_gaps(x, res);
    assert_within_se(&res[FIT_EXPONENTIAL], 0, 2.0);
    assert_true(res[FIT_EXPONENTIAL].ks < 0.0052);
    /* Nested: Gamma and Weibull with shape 1 are the exponential. */
    assert_within_se(&res[FIT_GAMMA], 0, 1.0);
    assert_within_se(&res[FIT_WEIBULL], 0, 1.0);
    free(x);
    gsl_rng_free(r);
}

static void test_gamma(void **state)
{
    (void)state;
    gsl_rng *r = rng(12);
    double *x = malloc(N * sizeof(double));
    for (int i = 0; i < N; i++) x[i] = gsl_ran_gamma(r, 0.5, 2.0); /* BurstGPT's */
    FitResult res[3];
    assert_int_equal(fit_all_gaps(x, res), FIT_GAMMA);
    assert_within_se(&res[FIT_GAMMA], 0, 0.5);
    assert_within_se(&res[FIT_GAMMA], 1, 2.0);
    assert_true(res[FIT_GAMMA].ks < 0.0052);
    assert_true(res[FIT_EXPONENTIAL].ks > 0.05);
    free(x);
    gsl_rng_free(r);
}

static void test_weibull(void **state)
{
    (void)state;
    gsl_rng *r = rng(13);
    double *x = malloc(N * sizeof(double));
    for (int i = 0; i < N; i++) x[i] = gsl_ran_weibull(r, 1.5, 0.7); /* scale 1.5 s, shape 0.7 */
    FitResult res[3];
    assert_int_equal(fit_all_gaps(x, res), FIT_WEIBULL);
    assert_within_se(&res[FIT_WEIBULL], 0, 0.7);
    assert_within_se(&res[FIT_WEIBULL], 1, 1.5);
    assert_true(res[FIT_WEIBULL].ks < 0.0052);
    free(x);
    gsl_rng_free(r);
}

static void test_gamma_shape_equation(void **state)
{
    (void)state;
    /* s = ln k - psi(k) at k = 2: psi(2) = 1 - euler. */
    double s = log(2.0) - (1 - 0.57721566490153286);
    assert_true(fabs(fit_gamma_shape_from_s(s, NULL) - 2.0) < 1e-10);
    assert_true(isnan(fit_gamma_shape_from_s(0, NULL)));
}

static void test_bad_gaps(void **state)
{
    (void)state;
    double x[3] = { 1, 0, 2 };
    FitResult f;
    assert_int_equal(fit_gaps(x, 3, FIT_GAMMA, &f), -EINVAL);
    assert_int_equal(fit_gaps(x, 3, FIT_ZIPF, &f), -EINVAL);
}

static int64_t *hist_new(void)
{
    return calloc(KMAX + 1, sizeof(int64_t));
}

static void hist_add(int64_t *h, double v)
{
    long k = lround(v);
    if (k < 1) k = 1;
    if (k > KMAX) k = KMAX;
    h[k]++;
}

static void test_lognormal(void **state)
{
    (void)state;
    gsl_rng *r = rng(14);
    int64_t *h = hist_new();
    for (int i = 0; i < N; i++) hist_add(h, gsl_ran_lognormal(r, 5.0, 1.0));
    FitHist fh = { h, KMAX };
    FitResult ln, z;
    assert_int_equal(fit_lengths(&fh, FIT_LOGNORMAL, &ln), 0);
    assert_int_equal(fit_lengths(&fh, FIT_ZIPF, &z), 0);
    assert_true(ln.ok && z.ok);
    assert_within_se(&ln, 0, 5.0);
    assert_within_se(&ln, 1, 1.0);
    assert_true(ln.ks < 0.0052);
    assert_true(ln.aic < z.aic);
    free(h);
    gsl_rng_free(r);
}

static void test_zipf(void **state)
{
    (void)state;
    gsl_rng *r = rng(15);
    int64_t *h = hist_new();
    double cdf[1024], sum = 0;
    for (int k = 1; k <= 1024; k++) cdf[k - 1] = (sum += pow(k, -1.1));
    for (int i = 0; i < N; i++) {
        double u = gsl_rng_uniform(r) * sum;
        int k = 0;
        while (cdf[k] <= u) k++;
        h[k + 1]++;
    }
    FitHist fh = { h, KMAX };
    FitResult z, ln;
    assert_int_equal(fit_lengths(&fh, FIT_ZIPF, &z), 0);
    assert_int_equal(fit_lengths(&fh, FIT_LOGNORMAL, &ln), 0);
    assert_true(z.ok);
    assert_within_se(&z, 0, 1.1);
    assert_true(z.p[1] == 1024);
    assert_true(z.ks < 0.0052);
    assert_true(z.aic < ln.aic);
    assert_true(fabs(fit_length_cdf(&z, 1) - 1 / sum) < 0.005); /* at the fitted a */
    assert_true(fabs(fit_length_cdf(&z, 1024) - 1) < 1e-12);
    free(h);
    gsl_rng_free(r);
}

static void test_lognormal2_and_empirical(void **state)
{
    (void)state;
    gsl_rng *r = rng(16);
    int64_t *h = hist_new();
    for (int i = 0; i < N; i++) {
        bool first = gsl_rng_uniform(r) < 0.35;
        hist_add(h, first ? gsl_ran_lognormal(r, 3.4, 0.8) : gsl_ran_lognormal(r, 5.6, 0.55));
    }
    FitHist fh = { h, KMAX };
    FitResult m, ln, e;
    assert_int_equal(fit_lengths(&fh, FIT_LOGNORMAL2, &m), 0);
    assert_int_equal(fit_lengths(&fh, FIT_LOGNORMAL, &ln), 0);
    assert_true(m.ok);
    /* EM has no closed-form SE here: a stated bound of 0.03 on each parameter
     * (the component SEs are ~0.005 at this n; rounding to integers adds bias
     * at the short mode's low end). */
    const double truth[5] = { 0.35, 3.4, 0.8, 5.6, 0.55 };
    for (int i = 0; i < 5; i++)
        if (fabs(m.p[i] - truth[i]) > 0.03)
            fail_msg("lognormal2 %s = %g, truth %g", fit_param_name(FIT_LOGNORMAL2, i), m.p[i],
                     truth[i]);
    assert_true(m.aic < ln.aic);
    assert_true(m.ks < 0.0052);
    double q[1025];
    assert_int_equal(fit_empirical(&fh, q, 1025, &e), 0);
    assert_true(e.ok && e.ks < 0.002);
    assert_true(e.loglik >= m.loglik);
    for (int i = 1; i < 1025; i++) assert_true(q[i] >= q[i - 1]);
    assert_true(fabs(fit_quantile_cdf(q, 1025, q[512]) - 0.5) < 0.01);
    free(h);
    gsl_rng_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exponential),
        cmocka_unit_test(test_gamma),
        cmocka_unit_test(test_weibull),
        cmocka_unit_test(test_gamma_shape_equation),
        cmocka_unit_test(test_bad_gaps),
        cmocka_unit_test(test_lognormal),
        cmocka_unit_test(test_zipf),
        cmocka_unit_test(test_lognormal2_and_empirical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
