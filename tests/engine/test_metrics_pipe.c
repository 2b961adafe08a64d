/* test_metrics_pipe.c: the metrics thread gives the figures and the
 * requests.csv bytes of accounting at once, in order, over many ring
 * blocks; the ring alone delivers every event in order; a full disk still
 * shows on the FILE; the row format cannot drift. */
#include <jansson.h>
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
#include "engine/csv_fmt.h"
#include "engine/metrics.h"
#include "engine/metrics_pipe.h"
#include "engine/requests_csv.h"
#include "request.h"
#include "trace.h"

/* A deterministic spread of requests: done, failed and rejected; never /
 * NaN times; sub-nanosecond fractions; times past 1e9 s (the %.9g branch). */
static void make_request(Request *r, uint64_t i)
{
    uint64_t h = i * 0x9E3779B97F4A7C15ull;
    memset(r, 0, sizeof(*r));
    r->session = -1;
    r->id = (int64_t)i;
    r->instance = (int32_t)(h % 5);
    r->input_tokens = (int32_t)((h >> 40) % 9000);
    r->output_tokens = (int32_t)((h >> 20) % 4000);
    r->predicted_output_tokens = (int32_t)((h >> 30) % 4000) - 1;
    r->state = (ReqState)(REQ_DONE + h % 3);
    r->generated_tokens = r->state == REQ_DONE ? r->output_tokens : (int32_t)(h % 7);
    r->fail_reason = r->state == REQ_DONE ? REQ_FAIL_NONE : (ReqFailReason)(1 + h % 4);
    r->preemptions = (int32_t)(h % 3);
    r->arrival_s = (double)i * 0.013 + (double)(h % 1000) * 1e-12;
    r->first_scheduled_s = r->state == REQ_REJECTED ? -1 : r->arrival_s + 0.25 * (double)(i % 11);
    r->first_token_s = r->first_scheduled_s + 0.007123456789;
    r->finish_s = i % 97 == 0 ? 2.5e9 + (double)i : r->first_token_s + (double)(h % 100000) * 1e-4;
    r->itl_max_s = (double)(h % 100) * 1e-3;
}

typedef struct Accounted {
    char *csv, *summary, *ts;
    size_t csv_len, ts_len;
} Accounted;

/* n requests and ~3 n gaps through Metrics, on a thread or at once. */
static Accounted account(bool threaded, uint64_t n)
{
    Accounted a = { 0 };
    FILE *f = open_memstream(&a.csv, &a.csv_len), *ts = open_memstream(&a.ts, &a.ts_len);
    assert_non_null(f);
    assert_non_null(ts);
    Metrics m;
    SloSpec slo = { .ttft_s = 0.3, .tpot_s = 0.01, .e2el_s = 0 };
    metrics_init(&m, &slo, NULL);
    metrics_set_threaded(&m, threaded);
    metrics_set_requests_csv(&m, f);
    metrics_set_timeseries_csv(&m, ts);
    for (uint64_t i = 0; i < n; i++) {
        Request r;
        make_request(&r, i);
        if (i % 3) { /* session keys travel to the thread as interned pointers */
            char key[32];
            snprintf(key, sizeof(key), i % 5 ? "s%llu" : "s,\"%llu\"", (unsigned long long)(i % 50));
            r.session = strtab_intern(&m.sessions, key);
        }
        metrics_on_arrival(&m, &r);
        if (i % 7 == 0) {
            MetricsSample smp = { .time_s = r.arrival_s, .instance = (int64_t)(i % 3), .queued = (int64_t)(i % 11),
                                  .running = (int64_t)(i % 5), .kv_tokens_used = (int64_t)i * 16,
                                  .in_system = (int64_t)(i % 13), .finished = (int64_t)i,
                                  .kv_utilisation = i % 2 ? -1.0 : (double)(i % 1000) * 1e-3 };
            metrics_sample(&m, &smp);
        }
        metrics_add_itl(&m, 0.004 + (double)(i % 17) * 1e-4, (double)(1 + i % 9));
        metrics_add_itl_linear(&m, 0.005, 1e-6 * (double)(i % 5), (int64_t)(i % 40), 3.0);
        metrics_on_finish(&m, &r);
    }
    metrics_drain(&m);
    metrics_drain(&m); /* idempotent */
    json_t *j = metrics_summary_json(&m);
    a.summary = json_dumps(j, JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(j);
    metrics_free(&m);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(fclose(ts), 0);
    return a;
}

static void test_threaded_equals_at_once(void **state)
{
    (void)state;
    /* none, one, about a block, and many rings plus a tail */
    uint64_t counts[] = { 0, 1, 300, 20000 };
    for (size_t k = 0; k < SS_ARRAY_LEN(counts); k++) {
        Accounted now = account(false, counts[k]), thr = account(true, counts[k]);
        assert_int_equal(now.csv_len, thr.csv_len);
        assert_memory_equal(now.csv, thr.csv, now.csv_len);
        assert_string_equal(now.summary, thr.summary);
        assert_int_equal(now.ts_len, thr.ts_len);
        assert_memory_equal(now.ts, thr.ts, now.ts_len);
        size_t lines = 0;
        for (size_t i = 0; i < thr.csv_len; i++) lines += thr.csv[i] == '\n';
        assert_int_equal(lines, counts[k] + 1);
        free(now.csv), free(now.summary), free(thr.csv), free(thr.summary), free(now.ts), free(thr.ts);
    }
}

/* The ring by itself: events of every size arrive whole and in order. */
typedef struct Seen { uint64_t next; bool ok; } Seen;

static void check_event(void *ctx, int kind, const void *payload)
{
    Seen *s = ctx;
    uint64_t v[32];
    size_t words = (size_t)kind;
    memcpy(v, payload, words * sizeof(v[0]));
    for (size_t w = 0; w < words; w++) s->ok &= v[w] == s->next * 131 + w;
    s->next++;
}

static void test_ring_order(void **state)
{
    (void)state;
    Seen seen = { 0, true };
    MetricsPipe *p;
    metrics_pipe_create(&p, check_event, NULL, &seen, true);
    uint64_t n = 200000;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v[32];
        size_t words = 1 + i % 32;
        for (size_t w = 0; w < words; w++) v[w] = i * 131 + w;
        metrics_pipe_push(p, (int)words, v, words * sizeof(v[0]));
    }
    metrics_pipe_destroy(&p);
    assert_null(p);
    assert_true(seen.ok);
    assert_int_equal(seen.next, n);
}

/* The row text itself: one known row, so the format cannot drift silently. */
static void test_row_format(void **state)
{
    (void)state;
    RequestsCsvRecord r = {
        .id = 3, .instance = 0, .arrival_s = 4.710427, .input_tokens = 91, .output_tokens = 16,
        .predicted_output_tokens = 16, .generated_tokens = 16, .state = REQ_DONE,
        .fail_reason = REQ_FAIL_NONE, .first_scheduled_s = 4.712880452,
        .first_token_s = 4.718518358, .finish_s = 4.803152151, .ttft_s = 0.008091358,
        .tpot_s = 0.005642253, .e2e_s = 0.092725151, .itl_max_s = 0.005645905, .preemptions = 0,
        .attempt = 2, .original_id = 1,
    };
    char row[REQUESTS_CSV_ROW_MAX];
    char *end = requests_csv_format_row(row, &r);
    *end = '\0';
    assert_string_equal(row, "3,0,4.710427,91,16,16,16,done,none,4.712880452,4.718518358,4.803152151,"
                             "0.008091358,0.005642253,0.092725151,0.005645905,0,,2,1,0\n");
    /* a session key: as is, or quoted with its quotes doubled */
    r.session = "conv-42";
    *requests_csv_format_row(row, &r) = '\0';
    assert_non_null(strstr(row, ",0,conv-42,2,1,0\n"));
    r.session = "a,\"b\"";
    *requests_csv_format_row(row, &r) = '\0';
    assert_non_null(strstr(row, ",0,\"a,\"\"b\"\"\",2,1,0\n"));
    char longest[TRACE_SESSION_MAX];
    memset(longest, '"', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    r.session = longest; /* the widest row: every byte doubled, within REQUESTS_CSV_ROW_MAX */
    end = requests_csv_format_row(row, &r);
    assert_true(end - row <= REQUESTS_CSV_ROW_MAX);
}

/* A write error stays on the FILE, where the CLI finds it at fclose. */
static void test_write_error_reaches_file(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f) skip();
    Metrics m;
    metrics_init(&m, NULL, NULL);
    metrics_set_threaded(&m, true);
    metrics_set_requests_csv(&m, f);
    for (uint64_t i = 0; i < 3000; i++) {
        Request r;
        make_request(&r, i);
        metrics_on_arrival(&m, &r);
        metrics_on_finish(&m, &r);
    }
    metrics_drain(&m);
    int flagged = ferror(f), close_failed = fclose(f) != 0;
    assert_true(flagged || close_failed);
    metrics_free(&m);
}

/* The formatter before its fast digit counting and trimming (session 1),
 * kept here as the reference the fast one must match byte for byte. */
static char *ref_put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

static char *ref_put_seconds(char *p, double v)
{
    if (isnan(v)) { memcpy(p, "nan", 3); return p + 3; }
    double a = fabs(v);
    if (a >= 1e15) return p + sprintf(p, "%.17g", v);
    if (a >= 1e9) return p + sprintf(p, "%.6f", v);
    if (v < 0) *p++ = '-';
    double x = a * 1e9;
    uint64_t ns = (uint64_t)x;
    if (x - (double)ns >= 0.5) ns++;
    p = ref_put_u64(p, ns / 1000000000u);
    uint32_t frac = (uint32_t)(ns % 1000000000u);
    if (frac) {
        int len = 9;
        while (frac % 10 == 0) frac /= 10, len--;
        *p++ = '.';
        for (int i = len - 1; i >= 0; i--, frac /= 10) p[i] = (char)('0' + frac % 10);
        p += len;
    }
    return p;
}

static void test_number_format_matches_reference(void **state)
{
    (void)state;
    const double edges[] = { 0, -0.0, 1, -1, 1e-9, 0.5e-9, 0.49e-9, 1.5e-9, 0.1, 0.123456789,
                             9.9999999995, 999999999.9999999, 1e9, -1e9, 2.5e9, 12345.000000001,
                             NAN, 4.710427, 0.007112434, 7e-10 };
    char got[64], want[64];
    for (size_t i = 0; i < SS_ARRAY_LEN(edges); i++) {
        *csv_put_seconds(got, edges[i]) = 0;
        *ref_put_seconds(want, edges[i]) = 0;
        assert_string_equal(got, want);
    }
    uint64_t x = 7;
    for (int i = 0; i < 2000000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        double scale = (double)(1u << (x >> 60)) * ((x >> 59) & 1 ? 1e-6 : 1.0);
        double v = (double)(x >> 11) * 0x1p-53 * scale * ((x >> 58) & 1 ? 1000.0 : 1.0);
        if ((x & 15) == 3) v = -v;
        if ((x & 31) == 5) v = (double)(int64_t)(v * 1e9) / 1e9; /* exact nanoseconds */
        *csv_put_seconds(got, v) = 0;
        *ref_put_seconds(want, v) = 0;
        assert_string_equal(got, want);
        int64_t k = (int64_t)(x >> (x & 63)) * ((x >> 7) & 1 ? -1 : 1);
        *csv_put_i64(got, k) = 0;
        char *w = want;
        if (k < 0) *w++ = '-';
        *ref_put_u64(w, k < 0 ? (uint64_t)0 - (uint64_t)k : (uint64_t)k) = 0;
        assert_string_equal(got, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threaded_equals_at_once),
        cmocka_unit_test(test_ring_order),
        cmocka_unit_test(test_row_format),
        cmocka_unit_test(test_number_format_matches_reference),
        cmocka_unit_test(test_write_error_reaches_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
