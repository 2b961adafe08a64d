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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentiles_within_tenth_percent),
        cmocka_unit_test(test_bucket_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
