/* cli_common.h: what several subcommands share: trace-reader options and the
 * request source (a trace file or the embedded workload). */
#ifndef SERVESIM_CLI_COMMON_H
#define SERVESIM_CLI_COMMON_H

#include <getopt.h>
#include <stdio.h>

#include "synth.h"
#include "trace.h"

typedef struct CliTraceArgs {
    const char *path;
    TraceOpenOpts open;
} CliTraceArgs;

enum {
    CLI_OPT_FORMAT = 2000, CLI_OPT_MAP, CLI_OPT_SPEEDUP, CLI_OPT_WINDOW, CLI_OPT_TRACE_MODEL,
    CLI_OPT_LOG_TYPE, CLI_OPT_MAX_REQUESTS, CLI_OPT_BAD_ROWS, CLI_OPT_FAILED,
};

#define CLI_TRACE_LONG_OPTIONS                                         \
    { "format", required_argument, 0, CLI_OPT_FORMAT },                \
    { "map", required_argument, 0, CLI_OPT_MAP },                      \
    { "speedup", required_argument, 0, CLI_OPT_SPEEDUP },              \
    { "window", required_argument, 0, CLI_OPT_WINDOW },                \
    { "trace-model", required_argument, 0, CLI_OPT_TRACE_MODEL },      \
    { "log-type", required_argument, 0, CLI_OPT_LOG_TYPE },            \
    { "max-requests", required_argument, 0, CLI_OPT_MAX_REQUESTS },    \
    { "bad-rows", required_argument, 0, CLI_OPT_BAD_ROWS },            \
    { "failed", required_argument, 0, CLI_OPT_FAILED }

void cli_trace_args_default(CliTraceArgs *a);
/* Handle one of the CLI_OPT_* options; 0 or an exit status (message printed). */
int cli_trace_parse_option(CliTraceArgs *a, int opt, const char *value);
const char *cli_trace_options_help(void);

typedef struct CliSource {
    RowSource rows;
    TraceReader *reader;
    SynthSource *synth;
    const char *path;         /* NULL for the workload */
    char sha256[65];
    uint64_t synth_seed;
} CliSource;

int cli_source_open_trace(CliSource *s, const CliTraceArgs *a);
int cli_source_open_synth(CliSource *s, const SynthParams *p, uint64_t seed);
/* Skipped / dropped row counts, to `f`. */
void cli_source_report(const CliSource *s, FILE *f);
void cli_source_close(CliSource *s);

#endif
