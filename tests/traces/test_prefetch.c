/* test_prefetch.c: a RowSource read ahead on a thread yields exactly the
 * rows of the source (text included), then its end or its error with the
 * same message; stopping early never hangs; the source's own state (reader
 * stats) is complete once the end is seen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common.h"
#include "format.h"
#include "prefetch.h"
#include "synth.h"

/* Rows 0..n_rows-1, then 0 or (fail) an error; text on some rows, kept in
 * one buffer that the next row overwrites, as the file readers do. */
typedef struct CountingSource {
    int64_t n_rows, emitted, calls;
    bool fail;
    char text[64], instruction[64];
} CountingSource;

/* > several ring blocks, and not a multiple of a block */
#define N_ROWS ((int64_t)PREFETCH_BLOCKS * PREFETCH_BLOCK_ROWS * 3 + 17)

static int counting_next(void *ctx, TraceRow *row)
{
    CountingSource *s = ctx;
    s->calls++;
    if (s->emitted == s->n_rows)
        return s->fail ? ss_error_set(EPROTO, "counting:%lld: made-up failure", (long long)s->emitted) : 0;
    int64_t i = s->emitted++;
    memset(row, 0, sizeof(*row));
    row->arrival_s = 0.5 * (double)i;
    row->input_tokens = i % 977 + 1;
    row->output_tokens = i % 131;
    snprintf(row->session, sizeof(row->session), "s%lld", (long long)i);
    row->line = (size_t)i + 2;
    snprintf(row->model, sizeof(row->model), "m%lld", (long long)(i % 7));
    row->text = NULL;
    row->instruction = NULL;
    if (i % 3 == 0) {
        snprintf(s->text, sizeof(s->text), "text of row %lld", (long long)i);
        row->text = s->text;
    }
    if (i % 5 == 0) {
        snprintf(s->instruction, sizeof(s->instruction), "instruction %lld", (long long)(i * 7));
        row->instruction = s->instruction;
    }
    return 1;
}

static void assert_rows_equal(const TraceRow *a, const TraceRow *b)
{
    assert_true(a->arrival_s == b->arrival_s);
    assert_int_equal(a->input_tokens, b->input_tokens);
    assert_int_equal(a->output_tokens, b->output_tokens);
    assert_int_equal(a->failed, b->failed);
    assert_string_equal(a->model, b->model);
    assert_string_equal(a->log_type, b->log_type);
    assert_string_equal(a->app, b->app);
    assert_string_equal(a->session, b->session);
    assert_true(a->elapsed_s == b->elapsed_s);
    assert_int_equal(a->line, b->line);
    assert_int_equal(a->text == NULL, b->text == NULL);
    if (a->text) assert_string_equal(a->text, b->text);
    assert_int_equal(a->instruction == NULL, b->instruction == NULL);
    if (a->instruction) assert_string_equal(a->instruction, b->instruction);
}

/* Every row of a fresh `direct` source equals the prefetched one, in order,
 * and both end the same way; returns the prefetched source's last status. */
static int compare_through_prefetch(RowSource direct, RowSource inner)
{
    RowPrefetch *p;
    assert_int_equal(row_prefetch_create(&p, inner), 0);
    RowSource ahead = row_prefetch_source(p);
    assert_ptr_equal(ahead.description, inner.description);
    TraceRow want, got;
    int rw, rg;
    char want_message[1024];
    do {
        rw = direct.next(direct.ctx, &want);
        snprintf(want_message, sizeof(want_message), "%s", rw < 0 ? ss_error_get() : "");
        ss_error_clear();
        rg = ahead.next(ahead.ctx, &got);
        assert_int_equal(rw, rg);
        if (rg == 1) assert_rows_equal(&want, &got);
    } while (rg == 1);
    if (rg < 0) assert_string_equal(ss_error_get(), want_message);
    /* Asking again after the end gives the end again. */
    ss_error_clear();
    assert_int_equal(ahead.next(ahead.ctx, &got), rg);
    if (rg < 0) assert_string_equal(ss_error_get(), want_message);
    row_prefetch_destroy(&p);
    assert_null(p);
    return rg;
}

static void test_same_rows_then_end(void **state)
{
    (void)state;
    CountingSource a = { .n_rows = N_ROWS }, b = { .n_rows = N_ROWS };
    RowSource direct = { &a, counting_next, "direct" }, inner = { &b, counting_next, "inner" };
    assert_int_equal(compare_through_prefetch(direct, inner), 0);
    assert_int_equal(b.emitted, N_ROWS);
    assert_int_equal(b.calls, N_ROWS + 1); /* the thread stopped at the end */
}

static void test_error_after_rows_keeps_message(void **state)
{
    (void)state;
    int64_t counts[] = { 0, 1, PREFETCH_BLOCK_ROWS - 1, PREFETCH_BLOCK_ROWS, N_ROWS };
    for (size_t k = 0; k < SS_ARRAY_LEN(counts); k++) {
        CountingSource a = { .n_rows = counts[k], .fail = true }, b = a;
        RowSource direct = { &a, counting_next, "direct" }, inner = { &b, counting_next, "inner" };
        assert_int_equal(compare_through_prefetch(direct, inner), -EPROTO);
        assert_int_equal(b.emitted, counts[k]);
    }
}

static void test_empty_source(void **state)
{
    (void)state;
    CountingSource a = { .n_rows = 0 }, b = { .n_rows = 0 };
    RowSource direct = { &a, counting_next, "direct" }, inner = { &b, counting_next, "inner" };
    assert_int_equal(compare_through_prefetch(direct, inner), 0);
}

/* Stopping before the end (an engine error, a cap) joins without draining:
 * a hang here shows up as the test's timeout. */
static void test_early_destroy_does_not_hang(void **state)
{
    (void)state;
    int64_t reads[] = { 0, 1, 10, PREFETCH_BLOCK_ROWS, (int64_t)PREFETCH_BLOCKS * PREFETCH_BLOCK_ROWS + 3 };
    for (size_t k = 0; k < SS_ARRAY_LEN(reads); k++) {
        CountingSource s = { .n_rows = 100 * N_ROWS };
        RowPrefetch *p;
        assert_int_equal(row_prefetch_create(&p, (RowSource){ &s, counting_next, "inner" }), 0);
        RowSource ahead = row_prefetch_source(p);
        TraceRow row;
        for (int64_t i = 0; i < reads[k]; i++) {
            assert_int_equal(ahead.next(ahead.ctx, &row), 1);
            char want[32];
            snprintf(want, sizeof(want), "s%lld", (long long)i);
            assert_string_equal(row.session, want);
        }
        row_prefetch_stop(p);
        /* Stopped: the source is ours again and the ring bounded how far it ran. */
        int64_t read_ahead = s.emitted - reads[k];
        assert_true(read_ahead >= 0);
        assert_true(read_ahead <= (int64_t)(PREFETCH_BLOCKS + 1) * PREFETCH_BLOCK_ROWS);
        row_prefetch_destroy(&p);
    }
}

static void test_synth_source_deterministic(void **state)
{
    (void)state;
    SynthParams params;
    synth_params_default(&params);
    params.requests = 3 * PREFETCH_BLOCKS * PREFETCH_BLOCK_ROWS + 5;
    SynthSource *a, *b;
    assert_int_equal(synth_source_create(&a, &params, 7), 0);
    assert_int_equal(synth_source_create(&b, &params, 7), 0);
    assert_int_equal(compare_through_prefetch(synth_source_rowsource(a), synth_source_rowsource(b)), 0);
    synth_source_destroy(&a);
    synth_source_destroy(&b);
}

/* A real reader with skipped bad rows: same rows, and its stats are whole
 * once the end has been seen (the thread has been joined by then). */
static void test_reader_stats_after_end(void **state)
{
    (void)state;
    size_t cap = 1 << 20, at = 0;
    char *csv = malloc(cap);
    at += (size_t)snprintf(csv + at, cap - at, "ts,in,out,txt\n");
    int rows = 3 * PREFETCH_BLOCKS * PREFETCH_BLOCK_ROWS;
    for (int i = 0; i < rows; i++) {
        if (i % 97 == 5) at += (size_t)snprintf(csv + at, cap - at, "%d,oops,3,x\n", i);
        else at += (size_t)snprintf(csv + at, cap - at, "%d,%d,%d,words of row %d\n", i, i % 50 + 1, i % 9, i);
    }
    TraceOpenOpts o;
    trace_open_opts_default(&o);
    o.format = "csv";
    o.map = "arrival=ts:s,input=in,output=out,text=txt";
    o.bad_rows = TRACE_BAD_SKIP;
    TraceReader *ra, *rb;
    /* One name for both: the skipped rows' messages name the file. */
    assert_int_equal(trace_reader_open_mem(&ra, csv, at, "t.csv", &o), 0);
    assert_int_equal(trace_reader_open_mem(&rb, csv, at, "t.csv", &o), 0);
    RowPrefetch *p;
    assert_int_equal(row_prefetch_create(&p, trace_reader_source(rb, "t.csv")), 0);
    RowSource direct = trace_reader_source(ra, "t.csv"), ahead = row_prefetch_source(p);
    TraceRow want, got;
    int rw, rg;
    do {
        rw = direct.next(direct.ctx, &want);
        rg = ahead.next(ahead.ctx, &got);
        assert_int_equal(rw, rg);
        if (rg == 1) assert_rows_equal(&want, &got);
    } while (rg == 1);
    const TraceReaderStats *sa = trace_reader_stats(ra), *sb = trace_reader_stats(rb);
    assert_true(sa->rows_bad_skipped > 0);
    assert_true(sa->rows_returned > 0);
    assert_int_equal(sa->rows_bad_skipped, sb->rows_bad_skipped);
    assert_int_equal(sa->rows_returned, sb->rows_returned);
    assert_string_equal(sa->first_bad[0], sb->first_bad[0]);
    row_prefetch_destroy(&p);
    trace_reader_destroy(&ra);
    trace_reader_destroy(&rb);
    free(csv);
}

/* A task run on the thread after its last block (the trace's hash in
 * `run`): it runs once, after every row was read, and what it wrote is the
 * consumer's after the end; stopped early, the thread still runs it. */
typedef struct FirstTask { CountingSource *src; int64_t calls_seen; int runs; } FirstTask;

static void first_task(void *ctx)
{
    FirstTask *t = ctx;
    t->calls_seen = t->src->calls;
    t->runs++;
}

static void test_first_task_before_rows(void **state)
{
    (void)state;
    CountingSource src = { .n_rows = 1000 };
    FirstTask t = { .src = &src, .calls_seen = -1 };
    RowPrefetch *p;
    assert_int_equal(row_prefetch_create_after(&p, (RowSource){ &src, counting_next, "counting" },
                                               first_task, &t), 0);
    RowSource rows = row_prefetch_source(p);
    TraceRow row;
    int64_t n = 0;
    while (rows.next(rows.ctx, &row) == 1) n++;
    assert_int_equal(n, 1000);
    assert_int_equal(t.runs, 1);
    assert_int_equal(t.calls_seen, 1001); /* every row, and the call that saw the end */
    row_prefetch_destroy(&p);

    CountingSource early = { .n_rows = 1000 };
    FirstTask u = { .src = &early, .calls_seen = -1 };
    assert_int_equal(row_prefetch_create_after(&p, (RowSource){ &early, counting_next, "counting" },
                                               first_task, &u), 0);
    row_prefetch_stop(p); /* before any row was taken */
    assert_int_equal(u.runs, 1);
    row_prefetch_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_rows_then_end),
        cmocka_unit_test(test_error_after_rows_keeps_message),
        cmocka_unit_test(test_empty_source),
        cmocka_unit_test(test_early_destroy_does_not_hang),
        cmocka_unit_test(test_synth_source_deterministic),
        cmocka_unit_test(test_reader_stats_after_end),
        cmocka_unit_test(test_first_task_before_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
