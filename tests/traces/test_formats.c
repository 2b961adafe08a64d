/* test_formats.c: Azure, generic CSV and JSONL readers, format detection,
 * timestamps, the transforms (speed-up, window, filters, cap), long lines. */
#include <math.h>
#include <stdlib.h>

#include "trace_test_util.h"

#define AZ "TIMESTAMP,ContextTokens,GeneratedTokens\n"
#define B1 "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"

static void test_azure(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read(AZ "2023-11-16 18:15:46.6805900,374,44\n"
                             "2023-11-16 18:15:50.9951690,396,109\n"
                             "2023-11-16 19:15:46.6805901,1,0\n", 0, &o);
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->format, "azure");
    assert_int_equal(r->n, 3);
    assert_true(r->rows[0].arrival_s == 0.0);
    /* integer ns subtraction: 4.314579 s and one hour + 100 ns, to the tick */
    assert_true(fabs(r->rows[1].arrival_s - 4.314579) < 1e-12);
    assert_true(fabs(r->rows[2].arrival_s - 3600.0000001) < 1e-10);
    assert_false(r->rows[2].failed); /* only BurstGPT marks zero-token rows failed */
    r = tt_read(AZ "2023-11-16 18:15:46.68,374\n", 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_string_equal(r->msg, "t.csv:2: GeneratedTokens: missing (row has 2 fields)");
    r = tt_read(AZ "2023-11-16 18:15:46.68,374,44,9\n", 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_string_equal(r->msg, "t.csv:2: csv: 4 fields, header has 3 (first extra: '9')");
    /* a short row whose missing field is one the format does not read */
    r = tt_read("TIMESTAMP,ContextTokens,GeneratedTokens,Region\n2023-11-16 18:15:46.68,374,44\n", 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_string_equal(r->msg, "t.csv:2: Region: missing (row has 3 fields)");
    r = tt_read(AZ "2023-02-30 18:15:46.68,374,1\n", 0, &o);
    assert_string_equal(r->msg, "t.csv:2: TIMESTAMP: not a timestamp (YYYY-MM-DD HH:MM:SS.fffffff): "
                                "'2023-02-30 18:15:46.68'");
    r = tt_read(AZ "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:45,1,1\n", 0, &o);
    assert_string_equal(r->msg, "t.csv:3: TIMESTAMP: timestamp goes backwards (-1.68059 s after 0 s)");
}

static void test_iso(void **state)
{
    (void)state;
    int64_t ns;
    assert_int_equal(trace_parse_iso_ns("1970-01-01 00:00:00", &ns), 0);
    assert_true(ns == 0);
    assert_int_equal(trace_parse_iso_ns("2000-03-01T00:00:00.5Z", &ns), 0);
    assert_true(ns == 951868800LL * 1000000000LL + 500000000LL);
    assert_int_equal(trace_parse_iso_ns("2000-03-01T01:00:00+01:00", &ns), 0);
    assert_true(ns == 951868800LL * 1000000000LL);
    assert_int_equal(trace_parse_iso_ns("2024-02-29 23:59:59.123456789", &ns), 0);
    assert_int_equal(trace_parse_iso_ns("2023-02-29 00:00:00", &ns), -EINVAL);
    assert_int_equal(trace_parse_iso_ns("2023-11-16 24:00:00", &ns), -EINVAL);
    assert_int_equal(trace_parse_iso_ns("2023-11-16 18:15:46.", &ns), -EINVAL);
    assert_int_equal(trace_parse_iso_ns("2023-11-16", &ns), -EINVAL);
    /* The parser remembers the last date and hour: rows that share them, and
     * rows that share them but are bad past them or stop short, read as alone. */
    const int64_t hour = 1700157600LL; /* 2023-11-16 18:00:00 UTC */
    assert_int_equal(trace_parse_iso_ns("2023-11-16 18:15:46.6805900", &ns), 0);
    assert_true(ns == (hour + 15 * 60 + 46) * 1000000000LL + 680590000LL);
    assert_int_equal(trace_parse_iso_ns("2023-11-16 18:59:60.123456789999", &ns), 0);
    assert_true(ns == (hour + 59 * 60 + 60) * 1000000000LL + 123456789LL);
    assert_int_equal(trace_parse_iso_ns("2023-11-16 18:60:00", &ns), -EINVAL);
    assert_int_equal(trace_parse_iso_ns("2023-11-16 18:1", &ns), -EINVAL);
    assert_int_equal(trace_parse_iso_ns("2023-11-16 18:", &ns), -EINVAL);
    assert_int_equal(trace_parse_iso_ns("2023-11-16 18", &ns), -EINVAL);
    assert_int_equal(trace_parse_iso_ns("  2023-11-16 18:00:00Z", &ns), 0);
    assert_true(ns == hour * 1000000000LL);
    assert_int_equal(trace_parse_iso_ns("2023-11-16 18:00:00-01:00", &ns), 0);
    assert_true(ns == (hour + 3600) * 1000000000LL);
    assert_int_equal(trace_parse_iso_ns("2023-11-16 19:00:00.5", &ns), 0);
    assert_true(ns == (hour + 3600) * 1000000000LL + 500000000LL);
    assert_int_equal(trace_parse_iso_ns("2023-11-16T19:00:00", &ns), 0);
    assert_true(ns == (hour + 3600) * 1000000000LL);
}

static void test_generic_csv(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    const char *t = "id,ts,prompt_len,output_len,who\n"
                    "a,1500,10,20,m1\n"
                    "b,2250,11,21,m2\n";
    TtResult *r = tt_read(t, 0, &o);
    assert_int_equal(r->rc, -EINVAL); /* no map: cannot tell */
    o.map = "arrival=ts:ms,input=prompt_len,output=output_len,model=who";
    r = tt_read(t, 0, &o);
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->format, "csv");
    assert_int_equal(r->n, 2);
    assert_true(fabs(r->rows[1].arrival_s - 0.75) < 1e-12);
    assert_string_equal(r->rows[1].model, "m2");
    r = tt_read("id,ts,prompt_len,output_len,who\na,1500,10,20,m1,,\n", 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_string_equal(r->msg, "t.csv:2: csv: 7 fields, header has 5 (first extra: '')");
    o.map = "arrival=ts:us,input=prompt_len,output=nope";
    r = tt_read(t, 0, &o);
    assert_int_equal(r->rc, -EINVAL);
    assert_string_equal(r->msg, "t.csv:1: nope: missing column (header: id, ts, prompt_len, output_len, who)");
    o.map = "arrival=ts:hours,input=prompt_len,output=output_len";
    r = tt_read(t, 0, &o);
    assert_string_equal(r->msg, "--map: arrival unit 'hours' is not s, ms, us or iso");
    o.map = "arrival=ts,input=prompt_len,output=output_len,colour=who";
    r = tt_read(t, 0, &o);
    assert_int_equal(r->rc, -EINVAL);
    o.map = "arrival=when:iso,input=i,output=o,text=q";
    r = tt_read("when,i,o,q\n2024-01-01T00:00:00Z,1,2,\"hi, there\"\n2024-01-01T00:00:01.25Z,3,4,x\n", 0, &o);
    assert_int_equal(r->rc, 0);
    assert_true(r->rows[1].arrival_s == 1.25);
}

static void test_jsonl(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    const char *t = "{\"arrival_s\": 0.5, \"app\": \"code-gen\", \"model\": \"m\", \"instruction\": \"Write\","
                    " \"input\": \"a b\", \"prompt_tokens\": 12, \"output_tokens\": 30}\n"
                    "\n"
                    "{\"arrival_s\": 1.5, \"app\": \"chat\", \"prompt_tokens\": 2, \"output_tokens\": 3}\n";
    TtResult *r = tt_read(t, 0, &o);
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->format, "jsonl");
    assert_int_equal(r->n, 2);
    assert_string_equal(r->rows[0].app, "code-gen");
    assert_int_equal(r->rows[0].output_tokens, 30);
    assert_true(r->rows[1].arrival_s == 1.0);
    assert_int_equal(r->rows[1].line, 3);
    r = tt_read("{\"arrival_s\": 1, \"prompt_tokens\": 2}\n", 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_string_equal(r->msg, "t.csv:1: output_tokens: missing");
    r = tt_read("{\"arrival_s\": 1, \"prompt_tokens\": -2, \"output_tokens\": 1}\n", 0, &o);
    assert_string_equal(r->msg, "t.csv:1: prompt_tokens: negative: -2");
    r = tt_read("{\"arrival_s\": 1, \"prompt_tokens\": 1e12, \"output_tokens\": 1}\n", 0, &o);
    assert_string_equal(r->msg, "t.csv:1: prompt_tokens: overflow: 1000000000000 > 2147483647");
    r = tt_read("{\"arrival_s\": 1, \"prompt_tokens\": 1, \"output_tokens\": 1\n", 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_non_null(strstr(r->msg, "t.csv:1: json: "));
    o.map = "arrival=t:ms,input=p,output=q";
    r = tt_read("{\"t\": \"1500\", \"p\": 1, \"q\": 2}\n{\"t\": 2000, \"p\": \"3\", \"q\": 4}\n", 0, &o);
    assert_int_equal(r->rc, 0);
    assert_true(r->rows[1].arrival_s == 0.5);
    assert_int_equal(r->rows[1].input_tokens, 3);
}

/* JSONL text pointers stay valid until the next row. */
static void test_jsonl_text(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    o.map = "arrival=-,input=prompt_tokens,output=output_tokens,text=input,instruction=instruction";
    const char *t = "{\"input\": \"hello\", \"instruction\": \"Say\", \"prompt_tokens\": 1, \"output_tokens\": 2}\n";
    TraceReader *r;
    assert_int_equal(trace_reader_open_mem(&r, t, strlen(t), "t.jsonl", &o), 0);
    TraceRow row;
    assert_int_equal(trace_reader_next(r, &row), 1);
    assert_string_equal(row.text, "hello");
    assert_string_equal(row.instruction, "Say");
    assert_true(row.arrival_s == 0);
    assert_int_equal(trace_reader_next(r, &row), 0);
    trace_reader_destroy(&r);
    assert_null(r);
}

static void test_transforms(void **state)
{
    (void)state;
    const char *t = B1 "10,ChatGPT,1,1,2,Conversation log\n"
                       "20,GPT-4,2,2,4,API log\n"
                       "30,ChatGPT,3,3,6,API log\n"
                       "40,ChatGPT,4,4,8,Conversation log\n"
                       "50,GPT-4,5,5,10,API log\n";
    TraceOpenOpts o = tt_opts();
    o.speedup = 2;
    TtResult *r = tt_read(t, 0, &o);
    assert_int_equal(r->n, 5);
    assert_true(r->rows[4].arrival_s == 20.0);
    o = tt_opts();
    o.window_start_s = 20;
    o.window_end_s = 40;
    r = tt_read(t, 0, &o);
    assert_int_equal(r->n, 2);
    assert_int_equal(r->rows[0].input_tokens, 2);
    assert_true(r->rows[1].arrival_s == 10.0);
    assert_int_equal(r->stats.rows_filtered, 1);
    o = tt_opts();
    o.model_filter = "ChatGPT";
    o.log_type_filter = "API log";
    r = tt_read(t, 0, &o);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->rows[0].input_tokens, 3);
    assert_int_equal(r->stats.rows_filtered, 4);
    o = tt_opts();
    o.max_requests = 3;
    r = tt_read(t, 0, &o);
    assert_int_equal(r->n, 3);
    o = tt_opts();
    o.speedup = 0;
    r = tt_read(t, 0, &o);
    assert_int_equal(r->rc, -EINVAL);
    o = tt_opts();
    o.format = "parquet";
    r = tt_read(t, 0, &o);
    assert_string_equal(r->msg, "unknown trace format 'parquet' (servesim list formats)");
}

/* Lines crossing the 256 KiB chunk, and one longer than a chunk. */
static void test_long_lines(void **state)
{
    (void)state;
    const size_t rows = 20000, pad = 300000;
    size_t cap = rows * 64 + pad + 256, at = 0;
    char *buf = ss_malloc(cap);
    at += (size_t)sprintf(buf, "t,i,o,x\n");
    for (size_t k = 0; k < rows; k++) {
        at += (size_t)sprintf(buf + at, "%zu,%zu,%zu,", k, k % 977, k % 13);
        if (k == 7777) {
            memset(buf + at, 'z', pad);
            at += pad;
        }
        buf[at++] = '\n';
    }
    TraceOpenOpts o = tt_opts();
    o.map = "arrival=t,input=i,output=o,text=x";
    TraceReader *r;
    assert_int_equal(trace_reader_open_mem(&r, buf, at, "big.csv", &o), 0);
    TraceRow row;
    size_t n = 0;
    while (trace_reader_next(r, &row) == 1) {
        assert_int_equal(row.input_tokens, (int64_t)(n % 977));
        assert_int_equal(row.line, n + 2);
        if (n == 7777) assert_int_equal(strlen(row.text), pad);
        n++;
    }
    assert_int_equal(n, rows);
    trace_reader_destroy(&r);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_azure),      cmocka_unit_test(test_iso),
        cmocka_unit_test(test_generic_csv), cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_jsonl_text), cmocka_unit_test(test_transforms),
        cmocka_unit_test(test_long_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
