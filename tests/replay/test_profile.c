/* tests/replay/test_profile.c: the profile cost model: a fit recovers known
 * coefficients, save/load round-trips, decode spans in closed form equal the
 * sum of step_time, bad files fail with file:line. */
#include <errno.h>
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
#include "cost/profile.h"

static const double want[PF_N] = { 2e-4, 5e-6, 0, 3e-9, 0, 4e-5, 7e-8 };

static void fit_profile(Profile *p)
{
    enum { N = 400 };
    double x[N * PF_N], y[N];
    int n = 0;
    memset(p, 0, sizeof(*p));
    for (int i = 0; i < N; i++) { /* decode and prefill shapes, exact times */
        StepShape s = { 0 };
        if (i % 2) s = (StepShape){ .decode_seqs = 1 + i % 37, .decode_context = (1 + i % 37) * (50 + 13 * i) };
        else s = (StepShape){ .prefill_seqs = 1, .prefill_tokens = 10 + i, .prefill_attn_pairs = (10.0 + i) * (11 + i) / 2 };
        profile_features(&s, x + n * PF_N);
        y[n] = 0;
        for (int f = 0; f < PF_N; f++) y[n] += want[f] * x[n * PF_N + f];
        n++;
    }
    assert_int_equal(profile_fit_kind(&p->fit[PROFILE_ALL], PROFILE_ALL, x, y, n), 0);
}

static void test_fit_recovers(void **state)
{
    (void)state;
    Profile p;
    fit_profile(&p);
    for (int f = 0; f < PF_N; f++) assert_true(fabs(p.fit[PROFILE_ALL].coef[f] - want[f]) <= 1e-6 * want[PF_CONST]);
    assert_true(p.fit[PROFILE_ALL].median_rel_err < 1e-6);
}

static void test_span_closed_form_and_round_trip(void **state)
{
    (void)state;
    Profile p, q;
    fit_profile(&p);
    char path[] = "/tmp/servesim-profile-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    snprintf(p.source, sizeof(p.source), "test");
    assert_int_equal(profile_save(&p, path), 0);
    assert_int_equal(profile_load(&q, path), 0);
    char spec[300];
    snprintf(spec, sizeof(spec), "profile:file=%s", path);
    Backend *b = NULL;
    assert_int_equal(backend_create(&b, spec, &(BackendEnv){ 0 }), 0);
    StepShape s = { .decode_seqs = 7, .decode_context = 7 * 300 };
    double sum = 0;
    for (int k = 0; k < 500; k++) {
        assert_true(fabs(backend_step_time(b, &s) - profile_step_time(&p, &s)) <= 1e-9 * profile_step_time(&p, &s));
        sum += backend_step_time(b, &s);
        s.decode_context += s.decode_seqs;
    }
    s.decode_context = 7 * 300;
    assert_true(fabs(backend_decode_span_time(b, &s, 500) - sum) <= 1e-9 * sum);
    backend_destroy(&b);
    unlink(path);
}

static int load_text(const char *text)
{
    char path[] = "/tmp/servesim-profile-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    Profile p;
    int r = profile_load(&p, path);
    unlink(path);
    return r;
}

static void test_bad_files(void **state)
{
    (void)state;
    assert_int_equal(load_text("servesim-profile 1\nall const=1e-4 decode_seqs=1e-5\n"), 0);
    assert_int_equal(load_text("servesim-profile 2\nall const=1\n"), -EINVAL);
    assert_non_null(strstr(ss_error_get(), ":1: profile format version 2"));
    assert_int_equal(load_text("hello\n"), -EINVAL);
    assert_int_equal(load_text("servesim-profile 1\nall const=-1\n"), -EINVAL);
    assert_non_null(strstr(ss_error_get(), ":2:"));
    assert_int_equal(load_text("servesim-profile 1\ndecode prefill_tokens=1\nall const=1\n"), -EINVAL);
    assert_int_equal(load_text("servesim-profile 1\ndecode const=1\n"), -EINVAL); /* no fallback */
    assert_int_equal(load_text("servesim-profile 1\nall const=abc\n"), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_recovers),
        cmocka_unit_test(test_span_closed_form_and_round_trip),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
