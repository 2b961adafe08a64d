/* test_burstgpt.c: the BurstGPT reader and the CSV edge cases every CSV
 * format shares (CRLF, BOM, quotes, empty, header only, bad fields). */
#include "trace_test_util.h"

#define HDR1 "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
#define HDR3 "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type\n"

static void test_schema_1(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read(HDR1 "5,ChatGPT,472,18,490,Conversation log\n"
                               "45,GPT-4,1087,230,1317,API log\n", 0, &o);
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->format, "burstgpt");
    assert_int_equal(r->n, 2);
    assert_true(r->rows[0].arrival_s == 0.0);
    assert_true(r->rows[1].arrival_s == 40.0);
    assert_int_equal(r->rows[0].input_tokens, 472);
    assert_int_equal(r->rows[0].output_tokens, 18);
    assert_string_equal(r->rows[1].model, "GPT-4");
    assert_string_equal(r->rows[1].log_type, "API log");
    assert_string_equal(r->rows[0].session, "");
    assert_int_equal(r->rows[1].line, 3);
}

static void test_schema_3(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read(HDR3 "1.5,7,0.25,ChatGPT,10,20,30,Conversation log\n"
                               "2.5,7,3.75,ChatGPT,11,21,32,Conversation log\n", 0, &o);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 2);
    assert_string_equal(r->rows[1].session, "7");
    assert_true(r->rows[1].elapsed_s == 3.75);
    assert_true(r->rows[1].arrival_s == 1.0);
    assert_int_equal(r->rows[1].input_tokens, 11);
}

/* _3 Session ID is an opaque key (#17 item 6): text, kept whole ("007" is
 * not "7"); one of 64 bytes or more, or with a control character, is a bad
 * row naming file:line, never cut (cut keys could merge two sessions). */
static void test_session_strings(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read(HDR3 "0,conv-9f3a,0,ChatGPT,10,20,30,Conversation log\n"
                               "1,007,0,ChatGPT,10,20,30,Conversation log\n"
                               "2,,0,ChatGPT,10,20,30,API log\n"
                               "3,\"a,\"\"b\"\"\",0,GPT-4,10,20,30,API log\n", 0, &o);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 4);
    assert_string_equal(r->rows[0].session, "conv-9f3a");
    assert_string_equal(r->rows[1].session, "007");
    assert_string_equal(r->rows[2].session, "");
    assert_string_equal(r->rows[3].session, "a,\"b\"");
    char data[512], key[80];
    memset(key, 'k', 63);
    key[63] = '\0';
    snprintf(data, sizeof(data), HDR3 "0,%s,0,ChatGPT,10,20,30,API log\n", key); /* 63 bytes: the longest */
    r = tt_read(data, 0, &o);
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->rows[0].session, key);
    snprintf(data, sizeof(data), HDR3 "0,a,0,ChatGPT,10,20,30,API log\n1,%sk,0,ChatGPT,10,20,30,API log\n", key);
    r = tt_read(data, 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_non_null(strstr(r->msg, "t.csv:3: Session ID: 64 bytes, longer than 63"));
    o.bad_rows = TRACE_BAD_SKIP;
    r = tt_read(data, 0, &o);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->stats.rows_bad_skipped, 1);
    o.bad_rows = TRACE_BAD_ABORT;
    r = tt_read(HDR3 "0,\"a\tb\",0,ChatGPT,10,20,30,API log\n", 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_non_null(strstr(r->msg, "t.csv:2: Session ID: control character 0x09 at byte 2"));
}

static void test_empty_file(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read("", 0, &o);
    assert_int_equal(r->rc, -EINVAL);
    assert_string_equal(r->msg, "t.csv: empty file");
    o.format = "burstgpt";
    r = tt_read("", 0, &o);
    assert_int_equal(r->rc, -EINVAL);
    assert_string_equal(r->msg, "t.csv: empty file (no header)");
}

static void test_header_only(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read(HDR1, 0, &o);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 0);
}

static void test_missing_column(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    o.format = "burstgpt";
    TtResult *r = tt_read("Timestamp,Model,Request tokens,Total tokens\n1,a,2,3\n", 0, &o);
    assert_int_equal(r->rc, -EINVAL);
    assert_string_equal(r->msg, "t.csv:1: Response tokens: missing column "
                                "(header: Timestamp, Model, Request tokens, Total tokens)");
}

static void test_short_row(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read(HDR1 "5,ChatGPT,472\n", 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_string_equal(r->msg, "t.csv:2: Response tokens: missing (row has 3 fields)");
}

/* A row with more fields than the header is misaligned, not a row with extras
 * to ignore: a bad row like any other (skipped and counted under skip). */
static void test_long_row(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    const char *t = HDR1 "5,ChatGPT,472,18,490,Conversation log\n"
                         "6,ChatGPT,10,18,28,Conversation log,extra,more\n";
    TtResult *r = tt_read(t, 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_string_equal(r->msg, "t.csv:3: csv: 8 fields, header has 6 (first extra: 'extra')");
    /* the quoted path counts the same way */
    r = tt_read(HDR1 "6,\"Chat, GPT\",10,18,28,Conversation log,\"x\"\n", 0, &o);
    assert_string_equal(r->msg, "t.csv:2: csv: 7 fields, header has 6 (first extra: 'x')");
    o.bad_rows = TRACE_BAD_SKIP;
    r = tt_read(t, 0, &o);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->stats.rows_bad_skipped, 1);
    assert_string_equal(r->stats.first_bad[0], "t.csv:3: csv: 8 fields, header has 6 (first extra: 'extra')");
    /* _3 schema, an optional column the format does not read: still counted */
    o.bad_rows = TRACE_BAD_ABORT;
    r = tt_read("Timestamp,Request tokens,Response tokens,Note\n1,2,3\n", 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_string_equal(r->msg, "t.csv:2: Note: missing (row has 3 fields)");
}

static void test_non_numeric(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read(HDR1 "5,ChatGPT,47x,18,490,Conversation log\n", 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_string_equal(r->msg, "t.csv:2: Request tokens: not an integer: '47x'");
    r = tt_read(HDR1 "five,ChatGPT,47,18,490,Conversation log\n", 0, &o);
    assert_string_equal(r->msg, "t.csv:2: Timestamp: not a number: 'five'");
    r = tt_read(HDR1 "5,ChatGPT,,18,490,Conversation log\n", 0, &o);
    assert_string_equal(r->msg, "t.csv:2: Request tokens: empty");
}

static void test_negative(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read(HDR1 "5,ChatGPT,47,-18,490,Conversation log\n", 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_string_equal(r->msg, "t.csv:2: Response tokens: negative: '-18'");
    r = tt_read(HDR1 "-5,ChatGPT,47,18,490,Conversation log\n", 0, &o);
    assert_string_equal(r->msg, "t.csv:2: Timestamp: negative: '-5'");
}

static void test_overflow(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read(HDR1 "5,ChatGPT,99999999999999999999999,18,490,Conversation log\n", 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_string_equal(r->msg, "t.csv:2: Request tokens: overflow: '99999999999999999999999' > 2147483647");
    r = tt_read(HDR1 "1e999,ChatGPT,1,18,490,Conversation log\n", 0, &o);
    assert_string_equal(r->msg, "t.csv:2: Timestamp: overflow: '1e999'");
}

static void test_crlf_bom(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read("\xEF\xBB\xBFTimestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\r\n"
                          "5,ChatGPT,472,18,490,Conversation log\r\n"
                          "6,ChatGPT,1,2,3,API log\r\n", 0, &o);
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->format, "burstgpt");
    assert_int_equal(r->n, 2);
    assert_string_equal(r->rows[0].log_type, "Conversation log"); /* no '\r' left */
    assert_string_equal(r->rows[1].log_type, "API log");
}

static void test_quoted(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read("\"Timestamp\",\"Model\",\"Request tokens\",\"Response tokens\",\"Total tokens\",\"Log Type\"\n"
                          "5,\"Chat, \"\"GPT\"\"\",\"472\",18,490,\"Conversation\nlog\"\r\n"
                          "6,ChatGPT,1,2,3,API log\n", 0, &o);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 2);
    assert_string_equal(r->rows[0].model, "Chat, \"GPT\"");
    assert_int_equal(r->rows[0].input_tokens, 472);
    assert_string_equal(r->rows[0].log_type, "Conversation\nlog");
    assert_int_equal(r->rows[0].line, 2);
    assert_int_equal(r->rows[1].line, 4); /* the quoted newline took a line */
}

static void test_bad_quotes(void **state)
{
    (void)state;
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read(HDR1 "5,\"Chat\"GPT,1,2,3,x\n", 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_string_equal(r->msg, "t.csv:2: csv: malformed quoted field");
    r = tt_read(HDR1 "5,\"ChatGPT,1,2,3,x\n", 0, &o);
    assert_string_equal(r->msg, "t.csv:2: csv: unterminated quoted field");
    o.bad_rows = TRACE_BAD_SKIP;
    r = tt_read(HDR1 "5,\"Chat\"GPT,1,2,3,x\n6,ChatGPT,1,2,3,x\n", 0, &o);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->stats.rows_bad_skipped, 1);
}

static void test_failed_rows(void **state)
{
    (void)state;
    const char *t = HDR1 "1,ChatGPT,5,0,5,API log\n2,ChatGPT,6,7,13,API log\n";
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read(t, 0, &o);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->stats.rows_failed_dropped, 1);
    assert_true(r->rows[0].arrival_s == 0.0); /* relative to the first kept row */
    o.failed_rows = TRACE_FAILED_REPLAY;
    r = tt_read(t, 0, &o);
    assert_int_equal(r->n, 2);
    assert_true(r->rows[0].failed);
    assert_false(r->rows[1].failed);
    assert_true(r->rows[1].arrival_s == 1.0);
}

static void test_unsorted(void **state)
{
    (void)state;
    const char *t = HDR1 "10,a,1,1,2,x\n9,a,1,1,2,x\n11,a,1,1,2,x\n";
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read(t, 0, &o);
    assert_int_equal(r->rc, TRACE_BAD_ROW);
    assert_string_equal(r->msg, "t.csv:3: Timestamp: timestamp goes backwards (9 s after 10 s)");
    o.bad_rows = TRACE_BAD_SKIP;
    r = tt_read(t, 0, &o);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 2);
    assert_int_equal(r->stats.rows_bad_skipped, 1);
    assert_string_equal(r->stats.first_bad[0], "t.csv:3: Timestamp: timestamp goes backwards (9 s after 10 s)");
}

static void test_skip_keeps_first_five(void **state)
{
    (void)state;
    const char *t = HDR1 "1,a,x,1,2,x\n2,a,x,1,2,x\n3,a,x,1,2,x\n4,a,x,1,2,x\n5,a,x,1,2,x\n"
                         "6,a,x,1,2,x\n7,a,x,1,2,x\n8,a,3,1,2,x\n";
    TraceOpenOpts o = tt_opts();
    o.bad_rows = TRACE_BAD_SKIP;
    TtResult *r = tt_read(t, 0, &o);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->stats.rows_bad_skipped, 7);
    assert_string_equal(r->stats.first_bad[0], "t.csv:2: Request tokens: not an integer: 'x'");
    assert_string_equal(r->stats.first_bad[4], "t.csv:6: Request tokens: not an integer: 'x'");
}

static void test_gzip_and_blank_lines(void **state)
{
    (void)state;
    size_t len;
    unsigned char *gz = tt_gzip(HDR1 "5,ChatGPT,472,18,490,Conversation log\n\n7,ChatGPT,1,2,3,API log", &len);
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read((const char *)gz, len, &o);
    free(gz);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 2);
    assert_int_equal(r->rows[1].line, 4);
    assert_int_equal(r->rows[1].output_tokens, 2);
}

static void test_truncated_gzip(void **state)
{
    (void)state;
    size_t len;
    unsigned char *gz = tt_gzip(HDR1 "5,ChatGPT,472,18,490,Conversation log\n", &len);
    TraceOpenOpts o = tt_opts();
    TtResult *r = tt_read((const char *)gz, len - 6, &o);
    free(gz);
    assert_int_equal(r->rc, -EIO);
    assert_string_equal(r->msg, "t.csv: gzip stream is truncated");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_1),        cmocka_unit_test(test_schema_3),
        cmocka_unit_test(test_session_strings),
        cmocka_unit_test(test_empty_file),      cmocka_unit_test(test_header_only),
        cmocka_unit_test(test_missing_column),  cmocka_unit_test(test_short_row),
        cmocka_unit_test(test_long_row),
        cmocka_unit_test(test_non_numeric),     cmocka_unit_test(test_negative),
        cmocka_unit_test(test_overflow),        cmocka_unit_test(test_crlf_bom),
        cmocka_unit_test(test_quoted),          cmocka_unit_test(test_bad_quotes),
        cmocka_unit_test(test_failed_rows),     cmocka_unit_test(test_unsorted),
        cmocka_unit_test(test_skip_keeps_first_five), cmocka_unit_test(test_gzip_and_blank_lines),
        cmocka_unit_test(test_truncated_gzip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
