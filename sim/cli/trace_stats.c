/* trace_stats.c: `servesim trace stats FILE`: rows, rates, burstiness, token
 * quantiles and breakdowns of a trace, read in one streaming pass. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
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
    "  --trace-model M       keep only rows of model M\n"
    "  --log-type T          keep only rows of log type T\n"
    "  --max-requests N      stop after N rows\n"
    "  --bad-rows abort|skip malformed rows abort (default) or are skipped and counted\n"
    "  --failed drop|replay  BurstGPT zero-response rows: drop (default) or keep as failed\n"
    "  --window-s W          width of the per-window rate, seconds (default 60)\n"
    "  --json                JSON instead of a table\n";

enum { O_WINS = 1000, O_JSON };

static int parse_args(int argc, char **argv, TraceOpenOpts *o, double *window_s, bool *json,
                      const char **path)
{
    static const struct option longs[] = {
        CLI_TRACE_LONG_OPTIONS,
        /* --model is the served model in every command: refused with a hint */
        { "model", required_argument, 0, CLI_OPT_MODEL_NOT_FILTER },
        { "window-s", required_argument, 0, O_WINS }, { "json", no_argument, 0, O_JSON },
        { 0, 0, 0, 0 },
    };
    CliTraceArgs t = { .open = *o };
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (c == O_JSON) { *json = true; continue; }
        if (c == O_WINS) {
            if (ss_parse_double(optarg, window_s) || *window_s <= 0)
                return cli_fail("--window-s: '%s' is not a positive number of seconds", optarg);
            continue;
        }
        if (c == '?') { fputs(usage, stderr); return 2; }
        int r = cli_trace_parse_option(&t, c, optarg);
        if (r) return r;
    }
    if (optind != argc - 1) {
        fputs(usage, stderr);
        return 2;
    }
    *o = t.open;
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
    cli_args_begin();
    int rc = parse_args(argc, argv, &o, &window_s, &json, &path);
    if (rc) return rc;
    cli_args_end();

    TraceReader *r = NULL;
    TraceStats *st = NULL;
    TraceRow row;
    int e;
    /* Under --failed drop the reader would drop failed rows before their
     * model and log type are seen; read them and drop them here, so the
     * per-group failed counts add up to the trace's. */
    bool drop_failed = o.failed_rows == TRACE_FAILED_DROP;
    o.failed_rows = TRACE_FAILED_REPLAY;
    if ((e = trace_stats_create(&st, window_s)) || (e = trace_reader_open(&r, path, &o))) goto fail;
    while ((e = trace_reader_next(r, &row)) == 1) {
        if (drop_failed && row.failed) trace_stats_add_dropped(st, &row);
        else trace_stats_add(st, &row);
    }
    if (e < 0) goto fail;

    TraceStatsSummary sum;
    TraceReaderStats reader_stats = *trace_reader_stats(r);
    reader_stats.rows_failed_dropped += trace_stats_dropped_failed(st);
    const TraceReaderStats *rs = &reader_stats;
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
