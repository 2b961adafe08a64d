/* test_fit_report.c: a whole-trace fit and back: synth rows -> fit report
 * (JSON) -> SynthParams -> synth rows, the parameters surviving the trip;
 * dequantization of whole-second timestamps; per-window rates. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common.h"
#include "fit_report.h"
#include "synth.h"

static json_t *fit_synth(const SynthParams *p, uint64_t seed, double round_to_s, double window_s)
{
    SynthSource *s;
    FitReport *r;
    TraceRow row;
    assert_int_equal(synth_source_create(&s, p, seed), 0);
    assert_int_equal(fit_report_create(&r), 0);
    while (synth_source_next(s, &row) == 1) {
        if (round_to_s > 0) row.arrival_s = floor(row.arrival_s / round_to_s) * round_to_s;
        fit_report_add(r, &row);
    }
    FitReportOpts o;
    fit_report_opts_default(&o);
    o.window_s = window_s;
    json_t *fit = NULL;
    assert_int_equal(fit_report_run(r, &o, &fit), 0);
    fit_report_destroy(&r);
    synth_source_destroy(&s);
    /* What `trace fit` adds around the report, so synth can read it back. */
    json_object_set_new(fit, "servesim_fit", json_integer(1));
    return fit;
}

static double num(json_t *root, const char *a, const char *b, const char *c, const char *d)
{
    json_t *o = json_object_get(root, a);
    if (b) o = json_object_get(o, b);
    if (c) o = json_object_get(o, c);
    if (d) o = json_object_get(o, d);
    assert_true(json_is_number(o));
    return json_number_value(o);
}

static void test_round_trip(void **state)
{
    (void)state;
    SynthParams p, q;
    synth_params_default(&p);
    p.requests = 50000;
    p.failure_share = 0.02;
    json_t *fit = fit_synth(&p, 21, 0, 0);
    json_t *arr = json_object_get(fit, "arrivals");
    assert_string_equal(json_string_value(json_object_get(arr, "best")), "gamma");
    double k = num(arr, "fits", "gamma", "params", "shape");
    double se = num(arr, "fits", "gamma", "se", "shape");
    assert_true(fabs(k - 0.5) < 3 * se);
    assert_string_equal(json_string_value(json_object_get(json_object_get(fit, "output_tokens"),
                                                          "best")), "lognormal2");
    assert_true(fabs(num(fit, "failure_share", NULL, NULL, NULL) - 0.02) < 0.003);
    assert_int_equal(json_array_size(json_object_get(fit, "mix")), 4);

    char path[] = "/tmp/servesim_test_fit_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(json_dump_file(fit, path, JSON_REAL_PRECISION(15)), 0);
    assert_int_equal(synth_params_from_fit(&q, path, NULL, NULL, false), 0);
    assert_int_equal(q.gap, SYNTH_GAP_GAMMA);
    assert_true(fabs(q.shape - k) < 1e-12);
    assert_true(fabs(q.rate - SYNTH_DEFAULT_RATE) < 0.05 * SYNTH_DEFAULT_RATE);
    assert_int_equal(q.output.kind, SYNTH_LEN_LOGNORMAL2);
    assert_true(fabs(q.output.mu2 - 5.6348) < 0.03);
    assert_int_equal(q.n_mix, 4);
    assert_true(fabs(q.failure_share - 0.02) < 0.003);
    synth_params_clear(&q);
    assert_int_equal(synth_params_from_fit(&q, path, "weibull", "empirical", false), 0);
    assert_int_equal(q.gap, SYNTH_GAP_WEIBULL);
    assert_int_equal(q.input.kind, SYNTH_LEN_EMPIRICAL);
    assert_true(q.input.q[SYNTH_QTABLE - 1] == 1024);
    assert_int_equal(synth_params_from_fit(&q, path, "pareto", NULL, false), -EINVAL);
    assert_non_null(strstr(ss_error_get(), "pareto"));
    assert_int_equal(synth_params_from_fit(&q, path, NULL, NULL, true), -EINVAL);
    assert_non_null(strstr(ss_error_get(), "windows"));
    SynthSource *s;
    assert_int_equal(synth_source_create_from_fit(&s, path, 5, 10, 0), 0);
    TraceRow row;
    int n = 0;
    while (synth_source_next(s, &row) == 1) n++;
    assert_int_equal(n, 10);
    synth_source_destroy(&s);
    unlink(path);
    json_decref(fit);
}

/* Whole-second timestamps (as BurstGPT records them): ties and zero gaps,
 * the interval likelihood (fit_binned.c) still recovers the Gamma shape. */
static void test_dequantize(void **state)
{
    (void)state;
    SynthParams p;
    synth_params_default(&p);
    p.rate = 0.5;
    p.requests = 30000;
    json_t *fit = fit_synth(&p, 22, 1.0, 0);
    json_t *arr = json_object_get(fit, "arrivals");
    assert_true(num(arr, "dequantize_s", NULL, NULL, NULL) == 1.0);
    /* Jitter alone blurs the many sub-second gaps of Gamma(0.5) (shape ~0.66
     * here); the interval likelihood of the recorded gaps is unbiased. */
    json_t *g = json_object_get(json_object_get(json_object_get(arr, "interval"), "fits"), "gamma");
    double shape = num(g, "params", "shape", NULL, NULL), se = num(g, "se", "shape", NULL, NULL);
    if (fabs(shape - 0.5) > 3 * se) fail_msg("interval Gamma shape %g (se %g), want 0.5", shape, se);
    assert_string_equal(json_string_value(json_object_get(json_object_get(arr, "interval"), "best")),
                        "gamma");
    json_decref(fit);
}

static void test_windows(void **state)
{
    (void)state;
    SynthParams p;
    synth_params_default(&p);
    p.rate = 20;
    p.diurnal = true;
    p.day_s = 24 * 60; /* an hour per minute */
    p.duration_s = 2 * 24 * 60;
    json_t *fit = fit_synth(&p, 23, 0, 60);
    json_t *w = json_object_get(json_object_get(fit, "arrivals"), "windows");
    assert_int_equal(json_array_size(json_object_get(w, "rate")), 48);
    double pv = num(w, "peak_valley", NULL, NULL, NULL);
    if (pv < 8 || pv > 16) fail_msg("windowed peak/valley %g, want ~11.7", pv);
    /* Hour 14 is the busiest: 20 * 1.8388 req/s. */
    double r14 = json_number_value(json_array_get(json_object_get(w, "rate"), 14));
    assert_true(fabs(r14 - 36.8) < 4);
    json_decref(fit);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_dequantize),
        cmocka_unit_test(test_windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
