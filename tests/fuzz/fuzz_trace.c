/* fuzz_trace.c: shared body of the trace-format fuzz targets. */
#include "fuzz_trace.h"

#include <string.h>

#include "common.h"
#include "format.h"
#include "trace.h"

static void read_all(const char *format, const char *map, const uint8_t *data, size_t size, bool skip)
{
    TraceOpenOpts o;
    trace_open_opts_default(&o);
    o.format = format;
    o.map = map;
    if (skip) {
        o.bad_rows = TRACE_BAD_SKIP;
        o.failed_rows = TRACE_FAILED_REPLAY;
        o.speedup = 2.5;
        o.window_start_s = 0.5;
        o.window_end_s = 1e7;
        o.max_requests = 10000;
    }
    TraceReader *r;
    if (trace_reader_open_mem(&r, data, size, "fuzz", &o)) return;
    TraceRow row;
    double last = 0;
    int k;
    while ((k = trace_reader_next(r, &row)) == 1) {
        /* What every consumer relies on. */
        SS_ASSERT(row.arrival_s >= last);
        SS_ASSERT(row.input_tokens >= 0 && row.output_tokens >= 0);
        SS_ASSERT(memchr(row.model, '\0', sizeof(row.model)));
        if (row.text) (void)strlen(row.text);
        last = row.arrival_s;
    }
    SS_ASSERT(k <= 0);
    if (k < 0) SS_ASSERT(strlen(ss_error_get()) > 0);
    trace_reader_destroy(&r);
}

int fuzz_trace_one(const char *format, const char *map, const uint8_t *data, size_t size)
{
    read_all(format, map, data, size, false);
    read_all(format, map, data, size, true);
    return 0;
}
