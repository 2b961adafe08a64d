/* test_stats.c: trace statistics, and the golden test: a tiny hand-made
 * trace -> exact stats JSON checked in under tests/traces/golden/
 * (SERVESIM_UPDATE_GOLDEN=1 rewrites the expected files). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "stats.h"
#include "trace_test_util.h"

static TraceRow mkrow(double t, int64_t in, int64_t out, const char *model)
{
    TraceRow r;
    memset(&r, 0, sizeof(r));
    r.arrival_s = t;
    r.input_tokens = in;
    r.output_tokens = out;
    snprintf(r.model, sizeof(r.model), "%s", model);
    return r;
}

static void test_quantiles_and_moments(void **state)
{
    (void)state;
    TraceStats *s;
    assert_int_equal(trace_stats_create(&s, 1.0), 0);
    for (int i = 1; i <= 100; i++) {
        TraceRow r = mkrow(i, i == 100 ? 1000000 : i, 2 * i, i % 2 ? "a" : "b");
        trace_stats_add(s, &r);
    }
    TraceStatsSummary m;
    trace_stats_summarize(s, NULL, &m);
    assert_int_equal(m.rows, 100);
    assert_true(m.span_s == 99);
    assert_int_equal(m.input.p50, 50);
    assert_int_equal(m.input.p90, 90);
    assert_int_equal(m.input.p99, 99);
    assert_int_equal(m.input.max, 1000000); /* beyond the dense histogram */
    assert_int_equal(m.output.p99, 198);
    assert_true(m.gap_mean_s == 1.0);
    assert_true(m.gap_cv == 0.0);
    assert_int_equal(m.windows, 99);
    assert_true(m.peak_rate == 1.0 && m.valley_rate == 1.0);
    assert_int_equal(m.n_models, 2);
    assert_string_equal(m.by_model[0].name, "a"); /* 50 rows each: by name */
    trace_stats_destroy(&s);
    assert_null(s);

    assert_int_equal(trace_stats_create(&s, 60), 0);
    for (int i = 0; i < 10; i++) {
        TraceRow r = mkrow(i, 100 + 3 * i, 7 + 2 * i, "");
        trace_stats_add(s, &r);
    }
    trace_stats_summarize(s, NULL, &m);
    assert_true(fabs(m.pearson - 1.0) < 1e-12);
    assert_int_equal(m.windows, 0);
    assert_true(isnan(m.peak_rate));
    trace_stats_destroy(&s);
    assert_int_equal(trace_stats_create(&s, 0), -EINVAL);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = ss_malloc((size_t)n + 1);
    b[fread(b, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return b;
}

static void golden(const char *name, TraceFailedRows failed, double window_s)
{
    const char *root = getenv("SERVESIM_SOURCE_ROOT");
    char in[1024], want[1024];
    snprintf(in, sizeof(in), "%s/tests/traces/golden/%s.csv", root ? root : ".", name);
    snprintf(want, sizeof(want), "%s/tests/traces/golden/%s%s.stats.json", root ? root : ".", name,
             failed == TRACE_FAILED_REPLAY ? "_replay" : "");
    TraceOpenOpts o = tt_opts();
    o.failed_rows = failed;
    TraceReader *r;
    TraceStats *s;
    TraceRow row;
    assert_int_equal(trace_reader_open(&r, in, &o), 0);
    assert_int_equal(trace_stats_create(&s, window_s), 0);
    int k;
    while ((k = trace_reader_next(r, &row)) == 1) trace_stats_add(s, &row);
    assert_int_equal(k, 0);
    TraceStatsSummary m;
    trace_stats_summarize(s, trace_reader_stats(r), &m);
    json_t *j = trace_stats_json(&m, trace_reader_stats(r), name, trace_reader_format_name(r));
    char *got = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    if (getenv("SERVESIM_UPDATE_GOLDEN")) {
        FILE *f = fopen(want, "w");
        assert_non_null(f);
        fprintf(f, "%s\n", got);
        fclose(f);
    }
    char *expect = slurp(want);
    assert_non_null(expect);
    size_t n = strlen(expect);
    if (n && expect[n - 1] == '\n') expect[n - 1] = '\0';
    assert_string_equal(got, expect);
    free(expect);
    free(got);
    json_decref(j);
    trace_stats_destroy(&s);
    trace_reader_destroy(&r);
}

/* Two rows: no CV (one gap), no meaningful correlation (two points always
 * give +-1): the text says n/a and why, the JSON says null, never "nan". */
static void test_two_rows_undefined(void **state)
{
    (void)state;
    TraceStats *s;
    assert_int_equal(trace_stats_create(&s, 60), 0);
    TraceRow r0 = mkrow(5, 472, 18, "ChatGPT"), r1 = mkrow(6, 10, 30, "ChatGPT");
    trace_stats_add(s, &r0);
    trace_stats_add(s, &r1);
    TraceStatsSummary m;
    trace_stats_summarize(s, NULL, &m);
    assert_true(isnan(m.gap_cv));
    assert_true(isnan(m.pearson));
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    trace_stats_print(f, &m, NULL, "t.csv", "burstgpt");
    fclose(f);
    assert_null(strstr(text, "nan"));
    assert_non_null(strstr(text, "gaps           mean 1 s, CV n/a (needs >= 3 rows)\n"));
    assert_non_null(strstr(text, "pearson(in,out) n/a (needs >= 3 rows)\n"));
    assert_non_null(strstr(text, "peak n/a (no full 60 s window), valley n/a (no full 60 s window)"));
    free(text);
    json_t *j = trace_stats_json(&m, NULL, "t.csv", "burstgpt");
    assert_true(json_is_null(json_object_get(json_object_get(j, "gap"), "cv")));
    assert_true(json_is_null(json_object_get(j, "pearson_in_out")));
    char *dump = json_dumps(j, JSON_REAL_PRECISION(10));
    assert_null(strstr(dump, "nan"));
    free(dump);
    json_decref(j);
    trace_stats_destroy(&s);
}

static void test_golden_drop(void **state)
{
    (void)state;
    golden("tiny_burstgpt", TRACE_FAILED_DROP, 10);
}

static void test_golden_replay(void **state)
{
    (void)state;
    golden("tiny_burstgpt", TRACE_FAILED_REPLAY, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantiles_and_moments),
        cmocka_unit_test(test_two_rows_undefined),
        cmocka_unit_test(test_golden_drop),
        cmocka_unit_test(test_golden_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
