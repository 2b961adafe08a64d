/* trace_fit.c: `servesim trace fit FILE`: maximum-likelihood fits of arrival
 * gaps and token lengths, goodness of fit, JSON out (traces/README-synth.md). */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "common.h"
#include "out_file.h"
#include "fit_report.h"
#include "servesim_config.h"
#include "trace.h"

static const char usage[] =
    "usage: servesim trace fit FILE [options]\n"
    "Fits inter-arrival gaps (exponential, Gamma, Weibull; per window with --window-s)\n"
    "and input/output token lengths (Zipf, lognormal, two-lognormal mixture, empirical)\n"
    "by maximum likelihood, with SE, log-likelihood, AIC and KS for each.\n"
    "  --format F            auto (default) | burstgpt | azure | csv | jsonl\n"
    "  --map SPEC            csv/jsonl columns: arrival=COL[:s|ms|us|iso],input=COL,output=COL\n"
    "  --speedup X           divide inter-arrival gaps by X\n"
    "  --window A:B          keep rows with trace time in [A, B) seconds (B may be empty)\n"
    "  --trace-model M       keep only rows of model M\n"
    "  --log-type T          keep only rows of log type T\n"
    "  --max-requests N      stop after N rows\n"
    "  --bad-rows abort|skip malformed rows abort (default) or are skipped and counted\n"
    "  --failed drop|replay  zero-response rows: keep as failed arrivals (replay, default) or drop\n"
    "  --window-s W          also fit a rate and Gamma shape per window of W seconds\n"
    "  --dequantize auto|off|Q  spread arrivals within their timestamp resolution\n"
    "                        (auto: detected, e.g. 1 s for BurstGPT; default auto)\n"
    "  --seed N              seed of the dequantization jitter (default 1)\n"
    "  --out FILE            write the fit JSON to FILE (else only the table)\n"
    "  --json                print the JSON instead of the table\n";

enum { O_WINS = 1000, O_DEQ, O_SEED, O_OUT, O_JSON };

typedef struct FitArgs {
    TraceOpenOpts open;
    FitReportOpts fit;
    const char *path, *out;
    bool json;
} FitArgs;

static int parse_fit_option(int c, const char *v, FitArgs *a)
{
    int64_t seed;
    switch (c) {
    case O_WINS:
        if (ss_parse_double(v, &a->fit.window_s) || !(a->fit.window_s > 0))
            return cli_fail("--window-s: '%s' is not a number of seconds > 0", v);
        return 0;
    case O_DEQ:
        if (!strcmp(v, "auto")) a->fit.dequantize_s = -1;
        else if (!strcmp(v, "off")) a->fit.dequantize_s = 0;
        else if (ss_parse_double(v, &a->fit.dequantize_s) || !(a->fit.dequantize_s > 0))
            return cli_fail("--dequantize: '%s' is not auto, off or seconds > 0", v);
        return 0;
    case O_SEED:
        if (ss_parse_i64(v, &seed) || seed < 0) return cli_fail("--seed: '%s' is not >= 0", v);
        a->fit.seed = (uint64_t)seed;
        return 0;
    case O_OUT: a->out = v; return 0;
    case O_JSON: a->json = true; return 0;
    }
    CliTraceArgs t = { .open = a->open };
    int r = cli_trace_parse_option(&t, c, v);
    a->open = t.open;
    return r;
}

static int parse_args(int argc, char **argv, FitArgs *a)
{
    static const struct option longs[] = {
        CLI_TRACE_LONG_OPTIONS,
        /* --model is the served model in every command: refused with a hint */
        { "model", required_argument, 0, CLI_OPT_MODEL_NOT_FILTER },
        { "window-s", required_argument, 0, O_WINS },
        { "dequantize", required_argument, 0, O_DEQ }, { "seed", required_argument, 0, O_SEED },
        { "out", required_argument, 0, O_OUT }, { "json", no_argument, 0, O_JSON },
        { 0, 0, 0, 0 },
    };
    int c, r;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (c == '?') return 2;
        if ((r = parse_fit_option(c, optarg, a))) return r;
    }
    if (optind != argc - 1) {
        fputs(usage, stderr);
        return 2;
    }
    a->path = argv[optind];
    return 0;
}

/* Where the rows came from: path, sha256, format, reader options, counts. */
static json_t *input_json(const FitArgs *a, TraceReader *r)
{
    json_t *o = json_object();
    const TraceOpenOpts *op = &a->open;
    const TraceReaderStats *st = trace_reader_stats(r);
    char sha[65] = "";
    json_object_set_new(o, "path", json_string(a->path));
    if (strcmp(a->path, "-") && ss_sha256_file(a->path, sha) == 0)
        json_object_set_new(o, "sha256", json_string(sha));
    else
        json_object_set_new(o, "sha256", json_null());
    json_object_set_new(o, "format", json_string(trace_reader_format_name(r)));
    json_object_set_new(o, "map", op->map ? json_string(op->map) : json_null());
    json_object_set_new(o, "speedup", json_real(op->speedup));
    json_object_set_new(o, "window_start_s", json_real(op->window_start_s));
    json_object_set_new(o, "window_end_s", json_real(op->window_end_s));
    json_object_set_new(o, "model", op->model_filter ? json_string(op->model_filter) : json_null());
    json_object_set_new(o, "log_type",
                        op->log_type_filter ? json_string(op->log_type_filter) : json_null());
    json_object_set_new(o, "max_requests", json_integer(op->max_requests));
    json_object_set_new(o, "bad_rows", json_string(op->bad_rows == TRACE_BAD_SKIP ? "skip" : "abort"));
    json_object_set_new(o, "failed_rows",
                        json_string(op->failed_rows == TRACE_FAILED_REPLAY ? "replay" : "drop"));
    json_object_set_new(o, "rows_bad_skipped", json_integer(st->rows_bad_skipped));
    json_object_set_new(o, "rows_failed_dropped", json_integer(st->rows_failed_dropped));
    json_object_set_new(o, "rows_filtered", json_integer(st->rows_filtered));
    return o;
}

/* Read every row into a report; on success *root holds the whole fit file. */
static int fit_file(const FitArgs *a, json_t **root)
{
    TraceReader *r = NULL;
    FitReport *rep = NULL;
    json_t *fit = NULL;
    TraceRow row;
    int err = trace_reader_open(&r, a->path, &a->open);
    if (err < 0) return err;
    fit_report_create(&rep);
    while ((err = trace_reader_next(r, &row)) == 1) fit_report_add(rep, &row);
    if (err < 0 || (err = fit_report_run(rep, &a->fit, &fit)) < 0) goto fail;
    const TraceReaderStats *st = trace_reader_stats(r);
    if (st->rows_bad_skipped)
        fprintf(stderr, "trace fit: skipped %" PRId64 " bad rows (first: %s)\n",
                st->rows_bad_skipped, st->first_bad[0]);
    *root = json_object();
    json_object_set_new(*root, "servesim_fit", json_integer(1));
    json_object_set_new(*root, "servesim_version", json_string(SERVESIM_VERSION));
    json_object_set_new(*root, "input", input_json(a, r));
    json_object_set_new(*root, "seed", json_integer((json_int_t)a->fit.seed));
    json_object_set_new(*root, "window_s", json_real(a->fit.window_s));
    json_object_update(*root, fit); /* appends in fit's order */
    json_decref(fit);
fail:
    fit_report_destroy(&rep);
    trace_reader_destroy(&r);
    return err;
}

int cmd_trace_fit(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    FitArgs a;
    memset(&a, 0, sizeof(a));
    trace_open_opts_default(&a.open);
    a.open.failed_rows = TRACE_FAILED_REPLAY; /* failed requests are arrivals too */
    fit_report_opts_default(&a.fit);
    cli_args_begin();
    int r = parse_args(argc, argv, &a);
    if (r) return r;
    cli_args_end();
    json_t *root = NULL;
    if (fit_file(&a, &root) < 0) return cli_fail_lib();
    const size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12);
    if (a.out && out_file_dump_json(a.out, root, flags)) { /* whole or not at all */
        json_decref(root);
        return cli_fail_lib();
    }
    if (a.json) {
        json_dumpf(root, stdout, flags);
        fputc('\n', stdout);
    } else {
        printf("%s (seed %" PRIu64 ")\n", a.path, a.fit.seed);
        fit_report_print(stdout, root);
        if (a.out) printf("fit written to %s\n", a.out);
    }
    json_decref(root);
    return 0;
}
