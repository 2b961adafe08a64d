/* The ITL histogram: percentiles within 0.1 % of the exact (numpy-rule)
 * value on random data; exact mean and standard deviation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "engine/histogram.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double exact_percentile(const double *sorted, size_t n, double q)
{
    double pos = q / 100 * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    double frac = pos - (double)lo;
    return lo + 1 < n ? sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac : sorted[lo];
}

static void test_percentiles_within_tenth_percent(void **state)
{
    (void)state;
    const size_t n = 200000;
    double *v = malloc(n * sizeof(double));
    uint64_t s = 42;
    LogHistogram h;
    log_histogram_init(&h);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(s >> 11) / 9007199254740992.0;
        v[i] = 0.004 * exp(3 * u * u); /* 4 ms .. 80 ms, skewed */
        sum += v[i];
        log_histogram_add(&h, v[i], 1.0);
    }
    qsort(v, n, sizeof(double), cmp);
    const double qs[] = { 1, 10, 50, 90, 99, 99.9 };
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        double exact = exact_percentile(v, n, qs[i]), got = log_histogram_percentile(&h, qs[i]);
        if (fabs(got - exact) > 1e-3 * exact) fail_msg("p%g: %g vs exact %g", qs[i], got, exact);
    }
    assert_float_equal(log_histogram_mean(&h), sum / n, 1e-12);
    log_histogram_free(&h);
    free(v);
}

static void test_bucket_edges(void **state)
{
    (void)state;
    /* Every bucket's midpoint lies in it, and widths are 2^(1/347). */
    for (long b = 100; b < 14000; b += 97) {
        double mid = log_histogram_bucket_mid(b);
        assert_int_equal(log_histogram_bucket(mid), b);
    }
    assert_int_equal(log_histogram_bucket(0.0), -1);
    assert_int_equal(log_histogram_bucket(1e-12), -1);
    LogHistogram h;
    log_histogram_init(&h);
    log_histogram_add(&h, 0.0, 3);   /* zero gaps count, below the range */
    log_histogram_add(&h, 0.010, 1);
    assert_float_equal(log_histogram_percentile(&h, 50), 0.0, 0);
    assert_float_equal(log_histogram_percentile(&h, 100), 0.010, 0);
    log_histogram_free(&h);
}

/* A linear run added in closed form equals adding its values one by one:
 * same bucket weights (to a rounding count at bucket edges), same moments. */
static void test_linear_run_equals_values(void **state)
{
    (void)state;
    const double a = 0.0061, b = 3.7e-6;
    const int64_t count = 5000;
    LogHistogram one, run;
    log_histogram_init(&one);
    log_histogram_init(&run);
    for (int64_t j = 0; j < count; j++) log_histogram_add(&one, a + b * (double)j, 3.0);
    log_histogram_add_linear(&run, a, b, count, 3.0);
    double moved = 0;
    for (size_t i = 0; i < one.n_buckets; i++) moved += fabs(one.weight[i] - run.weight[i]);
    assert_true(moved <= 2 * 3.0 * 8); /* a few edge values may sit one bucket over */
    assert_float_equal(run.total, one.total, 0);
    assert_float_equal(run.sum, one.sum, 1e-12 * one.sum);
    assert_float_equal(run.sum_sq, one.sum_sq, 1e-10 * one.sum_sq);
    for (double q = 1; q < 100; q += 7)
        assert_float_equal(log_histogram_percentile(&run, q), log_histogram_percentile(&one, q),
                           2.1e-3 * log_histogram_percentile(&one, q));
    log_histogram_free(&one);
    log_histogram_free(&run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentiles_within_tenth_percent),
        cmocka_unit_test(test_bucket_edges),
        cmocka_unit_test(test_linear_run_equals_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
