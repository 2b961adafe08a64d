#include "cli_common.h"

#include <string.h>

#include "cli.h"
#include "common.h"

void cli_trace_args_default(CliTraceArgs *a)
{
    a->path = NULL;
    trace_open_opts_default(&a->open);
}

const char *cli_trace_options_help(void)
{
    return "trace reading:\n"
           "  --format F            auto (default), or a format from `servesim list formats`\n"
           "  --map SPEC            column mapping for csv/jsonl: arrival=ts:ms,input=..,output=..\n"
           "  --speedup X           replay X times faster (divides inter-arrival gaps)\n"
           "  --window A:B          keep rows with trace time in [A, B) seconds\n"
           "  --trace-model M       keep only rows of this model (e.g. ChatGPT)\n"
           "  --log-type T          keep only rows of this log type\n"
           "  --max-requests N      stop after N rows\n"
           "  --bad-rows abort|skip malformed rows abort the run (default) or are counted\n"
           "  --failed drop|replay  BurstGPT zero-token rows: drop (default) or replay as failures\n";
}

int cli_trace_parse_option(CliTraceArgs *a, int opt, const char *v)
{
    TraceOpenOpts *o = &a->open;
    double d;
    int64_t n;
    switch (opt) {
    case CLI_OPT_FORMAT: o->format = v; return 0;
    case CLI_OPT_MAP: o->map = v; return 0;
    case CLI_OPT_SPEEDUP:
        if (ss_parse_double(v, &d) || d <= 0) return cli_fail("--speedup: '%s' is not a positive number", v);
        o->speedup = d;
        return 0;
    case CLI_OPT_WINDOW: {
        const char *colon = strchr(v, ':');
        char start[64] = "", end[64] = "";
        if (!colon || (size_t)(colon - v) >= sizeof(start) || strlen(colon + 1) >= sizeof(end))
            return cli_fail("--window: '%s' is not START:END (seconds; END may be empty)", v);
        memcpy(start, v, (size_t)(colon - v));
        strcpy(end, colon + 1);
        if (ss_parse_double(start, &o->window_start_s) || o->window_start_s < 0)
            return cli_fail("--window: start '%s' is not a number >= 0", start);
        if (*end && (ss_parse_double(end, &o->window_end_s) || o->window_end_s <= o->window_start_s))
            return cli_fail("--window: end '%s' is not a number > start", end);
        return 0;
    }
    case CLI_OPT_TRACE_MODEL: o->model_filter = v; return 0;
    case CLI_OPT_LOG_TYPE: o->log_type_filter = v; return 0;
    case CLI_OPT_MAX_REQUESTS:
        if (ss_parse_i64(v, &n) || n < 1) return cli_fail("--max-requests: '%s' is not a positive integer", v);
        o->max_requests = n;
        return 0;
    case CLI_OPT_BAD_ROWS:
        if (!strcmp(v, "abort")) o->bad_rows = TRACE_BAD_ABORT;
        else if (!strcmp(v, "skip")) o->bad_rows = TRACE_BAD_SKIP;
        else return cli_fail("--bad-rows: '%s' is not abort or skip", v);
        return 0;
    case CLI_OPT_FAILED:
        if (!strcmp(v, "drop")) o->failed_rows = TRACE_FAILED_DROP;
        else if (!strcmp(v, "replay")) o->failed_rows = TRACE_FAILED_REPLAY;
        else return cli_fail("--failed: '%s' is not drop or replay", v);
        return 0;
    }
    return cli_fail("internal: unhandled option %d", opt);
}

int cli_source_open_trace(CliSource *s, const CliTraceArgs *a)
{
    memset(s, 0, sizeof(*s));
    int r = ss_sha256_file(a->path, s->sha256);
    if (r) return r;
    if ((r = trace_reader_open(&s->reader, a->path, &a->open))) return r;
    s->path = a->path;
    s->rows = trace_reader_source(s->reader, a->path);
    return 0;
}

int cli_source_open_synth(CliSource *s, const SynthParams *p, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    int r = synth_source_create(&s->synth, p, seed);
    if (r) return r;
    s->synth_seed = seed;
    s->rows = synth_source_rowsource(s->synth);
    return 0;
}

void cli_source_report(const CliSource *s, FILE *f)
{
    if (!s->reader) return;
    const TraceReaderStats *st = trace_reader_stats(s->reader);
    if (st->rows_bad_skipped) {
        fprintf(f, "servesim: %s: skipped %lld malformed rows, first ones:\n", s->path,
                (long long)st->rows_bad_skipped);
        for (int i = 0; i < 5 && st->first_bad[i][0]; i++) fprintf(f, "  %s\n", st->first_bad[i]);
    }
    if (st->rows_failed_dropped)
        fprintf(f, "servesim: %s: dropped %lld failed rows (zero response tokens; --failed replay keeps them)\n",
                s->path, (long long)st->rows_failed_dropped);
}

void cli_source_close(CliSource *s)
{
    if (s->reader) trace_reader_destroy(&s->reader);
    if (s->synth) synth_source_destroy(&s->synth);
}
