/* trace_stats.c: `servesim trace stats FILE`: rows, rates, burstiness, token
 * quantiles and breakdowns of a trace, read in one streaming pass. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "stats.h"
#include "trace.h"

static const char usage[] =
    "usage: servesim trace stats FILE [options]\n"
    "Rows, span, mean rate, gap mean and CV, per-window rate peak/valley, token\n"
    "quantiles (p50/p90/p99/max, nearest rank), Pearson(in,out), failure share,\n"
    "breakdown by model and log type.  FILE may be gzip (detected by content) or '-'.\n"
    "  --format F            auto (default) | burstgpt | azure | csv | jsonl\n"
    "  --map SPEC            csv/jsonl columns: arrival=COL[:s|ms|us|iso],input=COL,output=COL\n"
    "                        [,model=COL,app=COL,text=COL,instruction=COL,log_type=COL]\n"
    "  --speedup X           divide inter-arrival gaps by X (replay X times faster)\n"
    "  --window A:B          keep rows with trace time in [A, B) seconds (B may be empty)\n"
    "  --model M             keep only rows of model M\n"
    "  --log-type T          keep only rows of log type T\n"
    "  --max-requests N      stop after N rows\n"
    "  --bad-rows abort|skip malformed rows abort (default) or are skipped and counted\n"
    "  --failed drop|replay  BurstGPT zero-response rows: drop (default) or keep as failed\n"
    "  --window-s W          width of the per-window rate, seconds (default 60)\n"
    "  --json                JSON instead of a table\n";

enum { O_FORMAT = 1000, O_MAP, O_SPEEDUP, O_WINDOW, O_MODEL, O_LOG, O_MAX, O_BAD, O_FAILED, O_WINS, O_JSON };

static int parse_window(const char *v, TraceOpenOpts *o)
{
    const char *colon = strchr(v, ':');
    char a[64];
    if (!colon || (size_t)(colon - v) >= sizeof(a))
        return cli_fail("--window: '%s' is not START:END (seconds)", v);
    memcpy(a, v, (size_t)(colon - v));
    a[colon - v] = '\0';
    if (ss_parse_double(a, &o->window_start_s) || o->window_start_s < 0)
        return cli_fail("--window: start '%s' is not a number >= 0", a);
    if (colon[1] && (ss_parse_double(colon + 1, &o->window_end_s) || o->window_end_s <= o->window_start_s))
        return cli_fail("--window: end '%s' is not a number > start", colon + 1);
    return 0;
}

static int parse_args(int argc, char **argv, TraceOpenOpts *o, double *window_s, bool *json,
                      const char **path)
{
    static const struct option longs[] = {
        { "format", required_argument, 0, O_FORMAT }, { "map", required_argument, 0, O_MAP },
        { "speedup", required_argument, 0, O_SPEEDUP }, { "window", required_argument, 0, O_WINDOW },
        { "model", required_argument, 0, O_MODEL }, { "log-type", required_argument, 0, O_LOG },
        { "max-requests", required_argument, 0, O_MAX }, { "bad-rows", required_argument, 0, O_BAD },
        { "failed", required_argument, 0, O_FAILED }, { "window-s", required_argument, 0, O_WINS },
        { "json", no_argument, 0, O_JSON }, { 0, 0, 0, 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        const char *v = optarg;
        int r = 0;
        switch (c) {
        case O_FORMAT: o->format = v; break;
        case O_MAP: o->map = v; break;
        case O_SPEEDUP:
            if (ss_parse_double(v, &o->speedup) || o->speedup <= 0)
                return cli_fail("--speedup: '%s' is not a positive number", v);
            break;
        case O_WINDOW: r = parse_window(v, o); break;
        case O_MODEL: o->model_filter = v; break;
        case O_LOG: o->log_type_filter = v; break;
        case O_MAX:
            if (ss_parse_i64(v, &o->max_requests) || o->max_requests < 1)
                return cli_fail("--max-requests: '%s' is not a positive integer", v);
            break;
        case O_BAD:
            if (!strcmp(v, "abort") || !strcmp(v, "skip")) o->bad_rows = v[0] == 's' ? TRACE_BAD_SKIP : TRACE_BAD_ABORT;
            else return cli_fail("--bad-rows: '%s' is not abort or skip", v);
            break;
        case O_FAILED:
            if (!strcmp(v, "drop") || !strcmp(v, "replay"))
                o->failed_rows = v[0] == 'r' ? TRACE_FAILED_REPLAY : TRACE_FAILED_DROP;
            else return cli_fail("--failed: '%s' is not drop or replay", v);
            break;
        case O_WINS:
            if (ss_parse_double(v, window_s) || *window_s <= 0)
                return cli_fail("--window-s: '%s' is not a positive number of seconds", v);
            break;
        case O_JSON: *json = true; break;
        default: fputs(usage, stderr); return 2;
        }
        if (r) return r;
    }
    if (optind != argc - 1) {
        fputs(usage, stderr);
        return 2;
    }
    *path = argv[optind];
    return 0;
}

int cmd_trace_stats(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    TraceOpenOpts o;
    trace_open_opts_default(&o);
    double window_s = 60;
    bool json = false;
    const char *path = NULL;
    int rc = parse_args(argc, argv, &o, &window_s, &json, &path);
    if (rc) return rc;

    TraceReader *r = NULL;
    TraceStats *st = NULL;
    TraceRow row;
    int e;
    if ((e = trace_stats_create(&st, window_s)) || (e = trace_reader_open(&r, path, &o))) goto fail;
    while ((e = trace_reader_next(r, &row)) == 1) trace_stats_add(st, &row);
    if (e < 0) goto fail;

    TraceStatsSummary sum;
    const TraceReaderStats *rs = trace_reader_stats(r);
    trace_stats_summarize(st, rs, &sum);
    if (json) {
        json_t *j = trace_stats_json(&sum, rs, path, trace_reader_format_name(r));
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', stdout);
        json_decref(j);
    } else {
        trace_stats_print(stdout, &sum, rs, path, trace_reader_format_name(r));
    }
    trace_reader_destroy(&r);
    trace_stats_destroy(&st);
    return 0;
fail:
    rc = cli_fail_lib();
    trace_reader_destroy(&r);
    trace_stats_destroy(&st);
    return rc;
}
