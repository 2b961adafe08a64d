/* trace_test_util.h: read a trace held in a string, for the reader tests. */
#ifndef SERVESIM_TRACE_TEST_UTIL_H
#define SERVESIM_TRACE_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "common.h"
#include "format.h"
#include "trace.h"

#define TT_MAX_ROWS 64

typedef struct TtResult {
    int rc;                 /* open error, next error, or 0 */
    char msg[512];          /* ss_error_get() after an error */
    int n;
    TraceRow rows[TT_MAX_ROWS];
    TraceReaderStats stats;
    char format[16];
} TtResult;

/* Read `data` (len bytes, or strlen when len = 0) named "t.csv" to the end. */
static inline TtResult *tt_read(const char *data, size_t len, const TraceOpenOpts *o)
{
    static TtResult res;
    memset(&res, 0, sizeof(res));
    TraceReader *r = NULL;
    ss_error_clear();
    res.rc = trace_reader_open_mem(&r, data, len ? len : strlen(data), "t.csv", o);
    if (!res.rc) {
        snprintf(res.format, sizeof(res.format), "%s", trace_reader_format_name(r));
        TraceRow row;
        int k;
        while ((k = trace_reader_next(r, &row)) == 1) {
            assert_true(res.n < TT_MAX_ROWS);
            row.text = row.instruction = NULL; /* not valid after the next row */
            res.rows[res.n++] = row;
        }
        res.rc = k;
        res.stats = *trace_reader_stats(r);
    }
    if (res.rc) snprintf(res.msg, sizeof(res.msg), "%s", ss_error_get());
    trace_reader_destroy(&r);
    return &res;
}

static inline TraceOpenOpts tt_opts(void)
{
    TraceOpenOpts o;
    trace_open_opts_default(&o);
    return o;
}

/* gzip `src` into a new buffer (*len bytes); free() it. */
static inline unsigned char *tt_gzip(const char *src, size_t *len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, strlen(src)) + 64;
    unsigned char *out = ss_malloc(cap);
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)strlen(src);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

#endif
