/* test_requests_csv.c: the requests.csv writer thread writes the bytes the
 * synchronous path writes, in order, over many ring blocks; a full disk
 * still shows on the FILE; the engine's requests.csv is whole once the
 * engine is destroyed. */
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
#include "engine/metrics.h"
#include "engine/requests_csv.h"
#include "request.h"

/* A deterministic spread of values: small and large integers, never / NaN
 * times, sub-nanosecond fractions, times past 1e9 s (the %.9g branch). */
static void make_record(RequestsCsvRecord *r, uint64_t i)
{
    uint64_t h = i * 0x9E3779B97F4A7C15ull;
    memset(r, 0, sizeof(*r));
    r->id = (int64_t)i;
    r->instance = (int32_t)(h % 5);
    r->input_tokens = (int64_t)(h >> 40) % 9000;
    r->output_tokens = (int64_t)(h >> 20) % 4000;
    r->predicted_output_tokens = (int64_t)(h >> 30) % 4000 - 1;
    r->generated_tokens = r->output_tokens;
    r->state = (uint8_t)(REQ_DONE + h % 3);
    r->fail_reason = (uint8_t)(h % 5);
    r->preemptions = (int32_t)(h % 3);
    r->arrival_s = (double)i * 0.013 + (double)(h % 1000) * 1e-12;
    r->first_scheduled_s = i % 11 ? r->arrival_s + 0.25 : -1;
    r->first_token_s = r->first_scheduled_s + 0.007123456789;
    r->finish_s = i % 97 == 0 ? 2.5e9 + (double)i : r->first_token_s + (double)(h % 100000) * 1e-4;
    r->ttft_s = i % 7 ? r->first_token_s - r->arrival_s : NAN;
    r->tpot_s = i % 13 ? 0.0054 + (double)(h % 1000) * 1e-9 : NAN;
    r->e2e_s = r->finish_s - r->arrival_s;
    r->itl_max_s = (double)(h % 100) * 1e-3;
}

/* Rows written through a writer (threaded or not) into memory. */
static char *write_rows(bool threaded, uint64_t n, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    assert_non_null(f);
    fputs(requests_csv_header, f);
    RequestsCsvWriter *w;
    assert_int_equal(requests_csv_writer_create(&w, f, threaded), 0);
    RequestsCsvRecord rec;
    for (uint64_t i = 0; i < n; i++) {
        make_record(&rec, i);
        requests_csv_writer_push(w, &rec);
    }
    requests_csv_writer_finish(w);
    requests_csv_writer_finish(w); /* idempotent */
    requests_csv_writer_destroy(&w);
    assert_null(w);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void test_threaded_bytes_equal_synchronous(void **state)
{
    (void)state;
    /* none, less than a block, exactly a ring, and many rings plus a tail */
    uint64_t counts[] = { 0, 1, REQUESTS_CSV_BLOCK_ROWS - 1,
                          (uint64_t)REQUESTS_CSV_BLOCKS * REQUESTS_CSV_BLOCK_ROWS,
                          (uint64_t)REQUESTS_CSV_BLOCKS * REQUESTS_CSV_BLOCK_ROWS * 5 + 77 };
    for (size_t k = 0; k < SS_ARRAY_LEN(counts); k++) {
        size_t len_sync, len_thr;
        char *sync = write_rows(false, counts[k], &len_sync);
        char *thr = write_rows(true, counts[k], &len_thr);
        assert_int_equal(len_sync, len_thr);
        assert_memory_equal(sync, thr, len_sync);
        size_t lines = 0;
        for (size_t i = 0; i < len_thr; i++) lines += thr[i] == '\n';
        assert_int_equal(lines, counts[k] + 1);
        free(sync);
        free(thr);
    }
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
    };
    char row[REQUESTS_CSV_ROW_MAX];
    char *end = requests_csv_format_row(row, &r);
    *end = '\0';
    assert_string_equal(row, "3,0,4.710427,91,16,16,16,done,,4.712880452,4.718518358,4.803152151,"
                             "0.008091358,0.005642253,0.092725151,0.005645905,0\n");
}

/* A write error stays on the FILE, where the CLI finds it at fclose. */
static void test_write_error_reaches_file(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f) skip();
    RequestsCsvWriter *w;
    assert_int_equal(requests_csv_writer_create(&w, f, true), 0);
    RequestsCsvRecord rec;
    for (uint64_t i = 0; i < 3 * REQUESTS_CSV_BLOCK_ROWS; i++) {
        make_record(&rec, i);
        requests_csv_writer_push(w, &rec);
    }
    requests_csv_writer_destroy(&w);
    int flagged = ferror(f), close_failed = fclose(f) != 0;
    assert_true(flagged || close_failed);
}

/* Through Metrics, as the engine uses it: rows are in the FILE once
 * metrics_finish_requests_csv (or metrics_free) returns. */
static void test_metrics_rows_after_finish(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    Metrics m;
    metrics_init(&m, NULL, f);
    int n = 3 * REQUESTS_CSV_BLOCK_ROWS + 1;
    for (int i = 0; i < n; i++) {
        Request r;
        memset(&r, 0, sizeof(r));
        r.id = i;
        r.input_tokens = 10;
        r.output_tokens = r.generated_tokens = 3;
        r.state = REQ_DONE;
        r.arrival_s = i;
        r.first_scheduled_s = i + 0.5;
        r.first_token_s = i + 0.75;
        r.last_token_s = r.finish_s = i + 1;
        metrics_on_arrival(&m, &r);
        metrics_on_finish(&m, &r);
    }
    metrics_finish_requests_csv(&m);
    assert_int_equal(fflush(f), 0);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
    assert_int_equal(lines, (size_t)n + 1);
    assert_true(strstr(buf, "\n1536,0,1536,10,3,0,3,done,,1536.5,1536.75,1537,0.75,0.125,1,0,0\n") != NULL);
    metrics_free(&m);
    fclose(f);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threaded_bytes_equal_synchronous),
        cmocka_unit_test(test_row_format),
        cmocka_unit_test(test_write_error_reaches_file),
        cmocka_unit_test(test_metrics_rows_after_finish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
