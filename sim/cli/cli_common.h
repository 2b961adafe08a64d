/* cli_common.h: what several subcommands share: trace-reader options and the
 * request source (a trace file or the embedded workload). */
#ifndef SERVESIM_CLI_COMMON_H
#define SERVESIM_CLI_COMMON_H

#include <getopt.h>
#include <stdio.h>

#include "engine/engine.h"
#include "prefetch.h"
#include "synth.h"
#include "trace.h"

/* The plug-in specs of a serving set-up (--sched, --predict, --cost,
 * --router, --fleet): known names, options that parse.  0 or an exit status
 * (message printed), so a typo is a usage error before any work starts. */
int cli_serving_check(const EngineConfig *c);

typedef struct CliTraceArgs {
    const char *path;
    TraceOpenOpts open;
} CliTraceArgs;

enum {
    CLI_OPT_FORMAT = 2000, CLI_OPT_MAP, CLI_OPT_SPEEDUP, CLI_OPT_WINDOW, CLI_OPT_TRACE_MODEL,
    CLI_OPT_LOG_TYPE, CLI_OPT_MAX_REQUESTS, CLI_OPT_BAD_ROWS, CLI_OPT_FAILED, CLI_OPT_MODEL_NOT_FILTER,
    CLI_OPT_HASH_BLOCK, CLI_OPT_SESSIONS,
    CLI_OPT_TRACE_LAST = CLI_OPT_SESSIONS, /* the trace options are CLI_OPT_FORMAT .. this */
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
    { "failed", required_argument, 0, CLI_OPT_FAILED },                \
    { "hash-block", required_argument, 0, CLI_OPT_HASH_BLOCK },        \
    { "sessions", required_argument, 0, CLI_OPT_SESSIONS }

void cli_trace_args_default(CliTraceArgs *a);
/* Handle one of the CLI_OPT_* options; 0 or an exit status (message printed). */
int cli_trace_parse_option(CliTraceArgs *a, int opt, const char *value);
const char *cli_trace_options_help(void);

typedef struct CliSource {
    RowSource rows;
    TraceReader *reader;
    SynthSource *synth;
    RowPrefetch *prefetch;    /* reads `reader` or `synth` ahead, or NULL */
    const char *path;         /* NULL for the workload */
    char sha256[65];
    /* With defer_sha256 the prefetch thread hashes the trace (a fifth of a
     * millisecond of start-up on a 180 KB file): ready after the rows. */
    bool sha256_on_thread;
    int sha256_status;        /* 0, or the hash's negative errno */
    char sha256_error[256];
    uint64_t synth_seed;
} CliSource;

/* What `run` and `replay` share: the workload, the serving set-up, the
 * outputs.  One parser, so the two commands never drift apart. */
typedef struct CliRunArgs {
    EngineConfig cfg;
    CliTraceArgs trace;
    const char *workload, *out_dir;
    int64_t requests;         /* embedded workload: how many (default 10000) */
    double rate, duration_s;  /* embedded workload: req/s (0 = its own), seconds (0 = by count) */
    double burstiness;        /* embedded workload: Gamma gap shape (1 = Poisson); 0 = its own (0.5) */
    bool diurnal;             /* embedded workload: BurstGPT's hour-of-day rate profile */
    double day_s;             /* seconds per diurnal day; 0 = 86400 */
    bool model_given, gpu_given, instances_given, tp_given;
    bool force, json, quiet, no_requests_csv;
    bool prefetch;            /* read the source on its own thread (default; see prefetch.h) */
    bool defer_sha256;        /* with prefetch: the thread hashes the trace; call
                                 cli_source_finish before reading src->sha256 */
} CliRunArgs;

enum {
    CLI_OPT_TRACE = 2100, CLI_OPT_WORKLOAD, CLI_OPT_SCHED, CLI_OPT_PREDICT, CLI_OPT_COST,
    CLI_OPT_MODEL, CLI_OPT_GPU, CLI_OPT_SEED, CLI_OPT_OUT, CLI_OPT_FORCE, CLI_OPT_NO_REQ,
    CLI_OPT_JSON, CLI_OPT_QUIET, CLI_OPT_SLO, CLI_OPT_SAMPLE, CLI_OPT_MEMUTIL, CLI_OPT_TP,
    CLI_OPT_BLOCK, CLI_OPT_REQUESTS, CLI_OPT_RATE, CLI_OPT_DURATION, CLI_OPT_INSTANCES,
    CLI_OPT_FLEET, CLI_OPT_ROUTER, CLI_OPT_MAX_PROMPT, CLI_OPT_LONG_PROMPTS, CLI_OPT_BURSTINESS,
    CLI_OPT_DIURNAL, CLI_OPT_DAY, CLI_OPT_CLIENT, CLI_OPT_ADMISSION,
    CLI_OPT_AUTOSCALE, CLI_OPT_KV_LINK, CLI_OPT_AUTOSCALE_DECODE,
    CLI_OPT_EP, CLI_OPT_WEIGHTS, CLI_OPT_KV_DTYPE, CLI_OPT_MOE_SKEW,
};

#define CLI_RUN_LONG_OPTIONS                                                          \
    { "trace", required_argument, 0, CLI_OPT_TRACE },                                 \
    { "workload", required_argument, 0, CLI_OPT_WORKLOAD },                           \
    { "sched", required_argument, 0, CLI_OPT_SCHED },                                 \
    { "predict", required_argument, 0, CLI_OPT_PREDICT },                             \
    { "cost", required_argument, 0, CLI_OPT_COST },                                   \
    { "model", required_argument, 0, CLI_OPT_MODEL },                                 \
    { "gpu", required_argument, 0, CLI_OPT_GPU },                                     \
    { "seed", required_argument, 0, CLI_OPT_SEED },                                   \
    { "out", required_argument, 0, CLI_OPT_OUT },                                     \
    { "force", no_argument, 0, CLI_OPT_FORCE },                                       \
    { "no-requests-csv", no_argument, 0, CLI_OPT_NO_REQ },                            \
    { "json", no_argument, 0, CLI_OPT_JSON },                                         \
    { "quiet", no_argument, 0, CLI_OPT_QUIET },                                       \
    { "slo", required_argument, 0, CLI_OPT_SLO },                                     \
    { "sample-interval", required_argument, 0, CLI_OPT_SAMPLE },                      \
    { "gpu-mem-util", required_argument, 0, CLI_OPT_MEMUTIL },                        \
    { "tp", required_argument, 0, CLI_OPT_TP },                                       \
    { "ep", required_argument, 0, CLI_OPT_EP },                                       \
    { "weights", required_argument, 0, CLI_OPT_WEIGHTS },                             \
    { "kv-dtype", required_argument, 0, CLI_OPT_KV_DTYPE },                           \
    { "moe-skew", required_argument, 0, CLI_OPT_MOE_SKEW },                           \
    { "block-size", required_argument, 0, CLI_OPT_BLOCK },                            \
    { "requests", required_argument, 0, CLI_OPT_REQUESTS },                           \
    { "rate", required_argument, 0, CLI_OPT_RATE },                                   \
    { "duration", required_argument, 0, CLI_OPT_DURATION },                           \
    { "instances", required_argument, 0, CLI_OPT_INSTANCES },                         \
    { "fleet", required_argument, 0, CLI_OPT_FLEET },                                 \
    { "router", required_argument, 0, CLI_OPT_ROUTER },                               \
    { "max-prompt-tokens", required_argument, 0, CLI_OPT_MAX_PROMPT },                \
    { "long-prompts", required_argument, 0, CLI_OPT_LONG_PROMPTS },                   \
    { "burstiness", required_argument, 0, CLI_OPT_BURSTINESS },                       \
    { "diurnal", no_argument, 0, CLI_OPT_DIURNAL },                                   \
    { "day-s", required_argument, 0, CLI_OPT_DAY },                                   \
    { "client", required_argument, 0, CLI_OPT_CLIENT },                               \
    { "admission", required_argument, 0, CLI_OPT_ADMISSION },                         \
    { "autoscale", required_argument, 0, CLI_OPT_AUTOSCALE },                         \
    { "autoscale-decode", required_argument, 0, CLI_OPT_AUTOSCALE_DECODE },           \
    { "kv-link", required_argument, 0, CLI_OPT_KV_LINK },                             \
    CLI_TRACE_LONG_OPTIONS

/* Defaults; begins reading the command line (cli_args_begin). */
void cli_run_args_default(CliRunArgs *a);
/* The serving set-up alone (--sched --predict --cost --model --gpu --fleet
 * --router --gpu-mem-util --tp --block-size --instances), for commands such
 * as `plan` that take these but not run's workload and outputs: 0, an exit
 * status, or -1 when `opt` is not one of them. */
int cli_serving_parse_option(EngineConfig *c, int opt, const char *value);
/* Handle one of CLI_RUN_LONG_OPTIONS: 0, an exit status (message printed),
 * or -1 when `opt` is not one of them. */
int cli_run_parse_option(CliRunArgs *a, int opt, const char *value);
/* After parsing: exactly one source, a known workload, --out when needed,
 * plug-in specs that parse (cli_serving_check).  `cmd` names the command in
 * messages.  0 (and the command line is read: cli_args_end) or an exit status. */
int cli_run_args_check(const CliRunArgs *a, const char *cmd, bool need_out);
/* The trace file or the embedded workload (its --rate, --requests or
 * --duration), read ahead on a thread when a->prefetch.  0 or negative errno. */
int cli_run_open_source(const CliRunArgs *a, CliSource *src);
/* The option help lines shared by `run` and `replay`. */
const char *cli_run_options_help(void);

int cli_source_open_trace(CliSource *s, const CliTraceArgs *a);
int cli_source_open_synth(CliSource *s, const SynthParams *p, uint64_t seed);
/* From now on s->rows come from a thread that reads the source ahead.  The
 * commands that run one simulation use it; sweep and plan workers, already
 * one simulation per core, do not. */
void cli_source_start_prefetch(CliSource *s);
/* The reading thread is done (stopped if need be) and the trace's sha256 is
 * in s->sha256: 0, or the hash's error (message set). */
int cli_source_finish(CliSource *s);
/* Skipped / dropped row counts, to `f` (stops the prefetch thread first:
 * the counts are its until then). */
void cli_source_report(const CliSource *s, FILE *f);
void cli_source_close(CliSource *s);

#endif
