/* test_writer.c: BurstGPT-schema writer: synth -> writer -> reader round
 * trip (plain and gzip), same seed -> same bytes, quoting, errors. */
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
#include "synth.h"
#include "trace.h"
#include "writer.h"

#define ROWS 5000

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/servesim_test_writer_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_synth(const char *path, bool gz, uint64_t seed, double failure_share)
{
    SynthParams p;
    synth_params_default(&p);
    p.requests = ROWS;
    p.failure_share = failure_share;
    SynthSource *s;
    TraceWriter *w;
    TraceRow row;
    assert_int_equal(synth_source_create(&s, &p, seed), 0);
    assert_int_equal(trace_writer_open(&w, path, gz), 0);
    while (synth_source_next(s, &row) == 1) assert_int_equal(trace_writer_row(w, &row), 0);
    assert_int_equal(trace_writer_rows(w), ROWS);
    assert_int_equal(trace_writer_close(&w), 0);
    assert_null(w);
    synth_source_destroy(&s);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*len + 1);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void round_trip(bool gz)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/rt.csv%s", tmpdir, gz ? ".gz" : "");
    write_synth(path, gz, 42, 0.05);
    TraceOpenOpts o;
    trace_open_opts_default(&o);
    o.failed_rows = TRACE_FAILED_REPLAY;
    TraceReader *r;
    assert_int_equal(trace_reader_open(&r, path, &o), 0);
    assert_string_equal(trace_reader_format_name(r), "burstgpt");
    SynthParams p;
    synth_params_default(&p);
    p.requests = ROWS;
    p.failure_share = 0.05;
    SynthSource *s;
    assert_int_equal(synth_source_create(&s, &p, 42), 0);
    TraceRow want, got;
    int n = 0, failed = 0;
    while (synth_source_next(s, &want) == 1) {
        assert_int_equal(trace_reader_next(r, &got), 1);
        assert_true(fabs(got.arrival_s - want.arrival_s) <= 1e-6);
        assert_int_equal(got.input_tokens, want.input_tokens);
        assert_int_equal(got.output_tokens, want.output_tokens);
        assert_int_equal(got.failed, want.failed);
        assert_string_equal(got.model, want.model);
        assert_string_equal(got.log_type, want.log_type);
        failed += got.failed;
        n++;
    }
    assert_int_equal(trace_reader_next(r, &got), 0);
    assert_int_equal(n, ROWS);
    assert_true(failed > 150 && failed < 350);
    trace_reader_destroy(&r);
    synth_source_destroy(&s);
}

static void test_round_trip_plain(void **state) { (void)state; round_trip(false); }
static void test_round_trip_gzip(void **state) { (void)state; round_trip(true); }

static void test_same_seed_same_bytes(void **state)
{
    (void)state;
    char a[300], b[300], c[300];
    snprintf(a, sizeof(a), "%s/a.csv.gz", tmpdir);
    snprintf(b, sizeof(b), "%s/b.csv.gz", tmpdir);
    snprintf(c, sizeof(c), "%s/c.csv.gz", tmpdir);
    write_synth(a, true, 9, 0);
    write_synth(b, true, 9, 0);
    write_synth(c, true, 10, 0);
    size_t la, lb, lc;
    char *da = slurp(a, &la), *db = slurp(b, &lb), *dc = slurp(c, &lc);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    assert_true(la != lc || memcmp(da, dc, la));
    assert_true((unsigned char)da[0] == 0x1f && (unsigned char)da[1] == 0x8b);
    free(da);
    free(db);
    free(dc);
}

static void test_format_and_quoting(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof(path), "%s/q.csv", tmpdir);
    TraceWriter *w;
    TraceRow row;
    memset(&row, 0, sizeof(row));
    row.arrival_s = 1.5;
    row.input_tokens = 10;
    row.output_tokens = 20;
    snprintf(row.model, sizeof(row.model), "a,\"b\"");
    snprintf(row.log_type, sizeof(row.log_type), "API log");
    assert_int_equal(trace_writer_open(&w, path, false), 0);
    assert_int_equal(trace_writer_row(w, &row), 0);
    row.failed = true;
    assert_int_equal(trace_writer_row(w, &row), 0);
    assert_int_equal(trace_writer_close(&w), 0);
    size_t len;
    char *d = slurp(path, &len);
    d[len] = 0;
    assert_string_equal(d, "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
                           "1.500000,\"a,\"\"b\"\"\",10,20,30,API log\n"
                           "1.500000,\"a,\"\"b\"\"\",10,0,10,API log\n");
    free(d);
    assert_int_equal(trace_writer_open(&w, "/nonexistent/dir/x.csv", false), -ENOENT);
    assert_non_null(strstr(ss_error_get(), "/nonexistent/dir/x.csv"));
    assert_true(trace_writer_gz_name("x.csv.gz") && !trace_writer_gz_name("x.gzip"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_plain),
        cmocka_unit_test(test_round_trip_gzip),
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_format_and_quoting),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
