/* test_synth.c: the synthetic source: the default workload's statistics,
 * determinism, limits, the diurnal time change, fit -> params round trip. */
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
#include "synth.h"

#define N 100000

typedef struct Moments {
    double n, gap_sum, gap_sum2, in_sum, out_sum, last_t;
    int64_t in_max, out_max, in_ones, mix[4];
} Moments;

static void moments(const SynthParams *p, uint64_t seed, Moments *m)
{
    SynthSource *s;
    assert_int_equal(synth_source_create(&s, p, seed), 0);
    RowSource src = synth_source_rowsource(s);
    TraceRow row;
    memset(m, 0, sizeof(*m));
    double prev = 0;
    while (src.next(src.ctx, &row) == 1) {
        if (m->n > 0) {
            double g = row.arrival_s - prev;
            assert_true(g >= 0);
            m->gap_sum += g;
            m->gap_sum2 += g * g;
        }
        prev = m->last_t = row.arrival_s;
        m->n++;
        m->in_sum += (double)row.input_tokens;
        m->out_sum += (double)row.output_tokens;
        if (row.input_tokens > m->in_max) m->in_max = row.input_tokens;
        if (row.output_tokens > m->out_max) m->out_max = row.output_tokens;
        m->in_ones += row.input_tokens == 1;
        m->mix[(strcmp(row.model, "GPT-4") == 0) * 2 + (strcmp(row.log_type, "API log") == 0)]++;
        assert_int_equal((int)row.line, 0);
    }
    synth_source_destroy(&s);
    assert_null(s);
}

static void test_default_workload(void **state)
{
    (void)state;
    SynthParams p;
    synth_params_default(&p);
    p.requests = N;
    Moments m;
    moments(&p, 1, &m);
    assert_int_equal((int64_t)m.n, N);
    double g = m.n - 1, mean = m.gap_sum / g;
    double cv = sqrt(m.gap_sum2 / g - mean * mean) / mean;
    /* Mean gap: SE = CV / sqrt(n) = 0.45 % of the mean; allow 2 %. */
    assert_true(fabs(1 / mean - SYNTH_DEFAULT_RATE) < 0.02 * SYNTH_DEFAULT_RATE);
    /* Gamma(0.5): CV = sqrt(2) = 1.414; the sample CV's SE is ~1 % here. */
    if (fabs(cv - sqrt(2.0)) > 0.05) fail_msg("gap CV %g, want 1.414", cv);
    /* Zipf(1.1) on 1..1024: mean 101.8, P(1) = 0.179. */
    assert_true(fabs(m.in_sum / m.n - 101.8) < 3);
    assert_true(fabs((double)m.in_ones / m.n - 0.179) < 0.005);
    assert_true(m.in_max <= 1024 && m.out_max <= 2048);
    /* Two lognormals: mean ~226 tokens. */
    assert_true(fabs(m.out_sum / m.n - 226) < 6);
    assert_true(fabs((double)m.mix[0] / m.n - 0.50) < 0.01);
    assert_true(fabs((double)m.mix[3] / m.n - 0.08) < 0.005);
}

static void test_determinism(void **state)
{
    (void)state;
    SynthParams p;
    synth_params_default(&p);
    p.requests = 1000;
    SynthSource *a, *b, *c;
    assert_int_equal(synth_source_create(&a, &p, 7), 0);
    assert_int_equal(synth_source_create(&b, &p, 7), 0);
    assert_int_equal(synth_source_create(&c, &p, 8), 0);
    TraceRow ra, rb, rc;
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(synth_source_next(a, &ra), 1);
        assert_int_equal(synth_source_next(b, &rb), 1);
        assert_int_equal(synth_source_next(c, &rc), 1);
        assert_memory_equal(&ra, &rb, sizeof(ra));
        differ += ra.arrival_s != rc.arrival_s;
    }
    assert_true(differ > 990);
    assert_int_equal(synth_source_next(a, &ra), 0);
    synth_source_destroy(&a);
    synth_source_destroy(&b);
    synth_source_destroy(&c);
}

/* Changing the output distribution must not move arrivals or inputs. */
static void test_streams_independent(void **state)
{
    (void)state;
    SynthParams p, q;
    synth_params_default(&p);
    p.requests = 200;
    q = p;
    q.output.kind = SYNTH_LEN_CONSTANT;
    q.output.constant = 5;
    SynthSource *a, *b;
    assert_int_equal(synth_source_create(&a, &p, 3), 0);
    assert_int_equal(synth_source_create(&b, &q, 3), 0);
    TraceRow ra, rb;
    while (synth_source_next(a, &ra) == 1) {
        assert_int_equal(synth_source_next(b, &rb), 1);
        assert_true(ra.arrival_s == rb.arrival_s);
        assert_int_equal(ra.input_tokens, rb.input_tokens);
        assert_int_equal(rb.output_tokens, 5);
    }
    synth_source_destroy(&a);
    synth_source_destroy(&b);
}

static void test_duration_and_poisson(void **state)
{
    (void)state;
    SynthParams p;
    synth_params_default(&p);
    p.gap = SYNTH_GAP_EXPONENTIAL;
    p.rate = 50;
    p.duration_s = 2000;
    Moments m;
    moments(&p, 2, &m);
    assert_true(m.last_t < 2000);
    /* Poisson count: mean 1e5, SD 316. */
    assert_true(fabs(m.n - 1e5) < 1500);
    double g = m.n - 1, mean = m.gap_sum / g;
    assert_true(fabs(sqrt(m.gap_sum2 / g - mean * mean) / mean - 1) < 0.02);
}

/* Diurnal: a 24 h day compressed to 2400 s; counts per hour follow the profile. */
static void test_diurnal(void **state)
{
    (void)state;
    SynthParams p;
    synth_params_default(&p);
    p.diurnal = true;
    p.rate = 100;
    p.day_s = 2400;
    p.duration_s = 4 * 2400;
    SynthSource *s;
    assert_int_equal(synth_source_create(&s, &p, 5), 0);
    double count[24] = { 0 }, total = 0;
    TraceRow row;
    while (synth_source_next(s, &row) == 1) {
        count[(int)fmod(row.arrival_s / 100, 24)]++;
        total++;
    }
    synth_source_destroy(&s);
    const double *mult = synth_diurnal_profile();
    for (int h = 0; h < 24; h++) {
        double want = mult[h] * 100 * 100 * 4; /* rate * hour seconds * days */
        if (fabs(count[h] - want) > 0.1 * want + 100)
            fail_msg("hour %d: %g arrivals, want %g", h, count[h], want);
    }
    assert_true(fabs(total - 100 * 9600) < 0.02 * 100 * 9600);
    double peak = 0, valley = 1e9;
    for (int h = 0; h < 24; h++) {
        peak = fmax(peak, mult[h]);
        valley = fmin(valley, mult[h]);
    }
    assert_true(fabs(peak / valley - 11.74) < 0.05);
}

static void test_windows_and_validation(void **state)
{
    (void)state;
    SynthParams p, q;
    synth_params_default(&p);
    double rate[3] = { 10, 0, 30 }, shape[3] = { 1, 1, 0.5 };
    p.n_windows = 3;
    p.window_s = 100;
    p.window_rate = rate;
    p.window_shape = shape;
    p.duration_s = 3000;
    synth_params_copy(&q, &p);
    assert_true(q.window_rate != rate);
    SynthSource *s;
    assert_int_equal(synth_source_create(&s, &q, 9), 0);
    double count[3] = { 0 };
    TraceRow row;
    while (synth_source_next(s, &row) == 1) count[(int)fmod(row.arrival_s / 100, 3)]++;
    synth_source_destroy(&s);
    assert_true(count[1] == 0);
    assert_true(fabs(count[0] - 10000) < 600 && fabs(count[2] - 30000) < 1500);
    synth_params_clear(&q);
    assert_null(q.window_rate);

    synth_params_default(&p);
    p.rate = -1;
    assert_int_equal(synth_source_create(&s, &p, 1), -EINVAL);
    assert_non_null(strstr(ss_error_get(), "rate"));
    synth_params_default(&p);
    p.input.min_tokens = 0;
    assert_int_equal(synth_params_validate(&p), -EINVAL);
    assert_non_null(strstr(ss_error_get(), "input"));
}

static void test_params_json(void **state)
{
    (void)state;
    SynthParams p;
    synth_params_default(&p);
    json_t *j = synth_params_to_json(&p);
    char *s = json_dumps(j, JSON_COMPACT);
    assert_non_null(strstr(s, "\"gaps\":\"gamma\""));
    assert_non_null(strstr(s, "\"dist\":\"zipf\""));
    free(s);
    json_decref(j);
    assert_int_equal(synth_params_from_fit(&p, "/nonexistent/fit.json", NULL, NULL, false), -EINVAL);
    assert_non_null(strstr(ss_error_get(), "/nonexistent/fit.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_workload),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_streams_independent),
        cmocka_unit_test(test_duration_and_poisson),
        cmocka_unit_test(test_diurnal),
        cmocka_unit_test(test_windows_and_validation),
        cmocka_unit_test(test_params_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
