#include "cli_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "autoscale/autoscale.h"
#include "client/client.h"
#include "common.h"
#include "cost/cost.h"
#include "fleet/fleet.h"
#include "opts.h"
#include "predict/predict.h"
#include "sched/sched.h"

/* Set while the command reads its command line (main thread only). */
static bool reading_args;

void cli_args_begin(void) { reading_args = true; }
void cli_args_end(void) { reading_args = false; }

int cli_exit_status(int command_status)
{
    return command_status == CLI_EXIT_FAILURE && reading_args ? CLI_EXIT_USAGE : command_status;
}

int cli_close_stdout(int status)
{
    errno = 0;
    bool failed = fflush(stdout) != 0 || ferror(stdout);
    int err = errno;
    if (fclose(stdout) && !failed) {
        failed = true;
        err = errno;
    }
    if (!failed) return status;
    cli_fail("stdout: write failed: %s", err ? strerror(err) : "write error");
    return status ? status : CLI_EXIT_FAILURE;
}

/* A plug-in `name` (found or not) with options `kvs`: they parse (into
 * scratch) under the same messages as at set-up. */
static int check_plugin(const char *flag, const char *kind, const char *name, bool known,
                        const OptSpec *opts, size_t opts_size, const char *kvs)
{
    if (!known) return cli_fail("%s: unknown %s '%s' (see `servesim list`)", flag, kind, name);
    char owner[96];
    snprintf(owner, sizeof(owner), "%s %s", flag, name);
    void *scratch = ss_calloc(1, opts_size ? opts_size : 1);
    int r = opts_init(opts, kvs, scratch, owner);
    free(scratch);
    return r ? cli_fail_lib() : 0;
}

int cli_serving_check(const EngineConfig *c)
{
    char name[64];
    const char *kvs;
    int r;
    if (opts_split_spec(c->sched_spec, name, sizeof(name), &kvs)) return cli_fail_lib();
    const SchedOps *s = sched_find(name);
    if ((r = check_plugin("--sched", "scheduler", name, s, s ? s->opts : NULL, s ? s->opts_size : 0, kvs)))
        return r;
    if (opts_split_spec(c->predict_spec, name, sizeof(name), &kvs)) return cli_fail_lib();
    const PredictorOps *p = predictor_find(name);
    if ((r = check_plugin("--predict", "predictor", name, p, p ? p->opts : NULL, p ? p->opts_size : 0, kvs)))
        return r;
    if (opts_split_spec(c->cost_spec, name, sizeof(name), &kvs)) return cli_fail_lib();
    /* "auto" picks its model at set-up, from the GPU (backend_create) */
    const BackendOps *b = cost_backend_find(name);
    if (!strcmp(name, "auto") && kvs && *kvs) return cli_fail("--cost auto: takes no options (got '%s')", kvs);
    if (strcmp(name, "auto") && (r = check_plugin("--cost", "cost model", name, b, b ? b->opts : NULL, b ? b->opts_size : 0, kvs)))
        return r;
    if (opts_split_spec(c->router, name, sizeof(name), &kvs)) return cli_fail_lib();
    const RouterOps *rt = router_find(name);
    if ((r = check_plugin("--router", "router", name, rt, rt ? rt->opts : NULL, rt ? rt->opts_size : 0, kvs)))
        return r;
    if (opts_split_spec(c->client_spec[0] ? c->client_spec : "none", name, sizeof(name), &kvs)) return cli_fail_lib();
    const ClientOps *cl = client_find(name);
    if ((r = check_plugin("--client", "client model", name, cl, cl ? cl->opts : NULL, cl ? cl->opts_size : 0, kvs)))
        return r;
    if ((r = check_plugin("--admission", "admission control", "admission", true, engine_admission_opts(),
                          sizeof(AdmissionOpts), c->admission_spec)))
        return r;
    FleetSpec f;
    if (c->fleet[0] && fleet_spec_parse(&f, c->fleet)) return cli_fail_lib();
    const char *as_flags[2] = { "--autoscale", "--autoscale-decode" };
    const char *as_specs[2] = { c->autoscale_spec, c->autoscale_decode_spec };
    for (int k = 0; k < 2; k++) {
        if (!as_specs[k][0]) continue;
        if (opts_split_spec(as_specs[k], name, sizeof(name), &kvs)) return cli_fail_lib();
        const AutoscaleOps *as = autoscale_find(name);
        if ((r = check_plugin(as_flags[k], "autoscaling policy", name, as, as ? as->opts : NULL,
                              as ? as->opts_size : 0, kvs)))
            return r;
    }
    if (c->autoscale_decode_spec[0] && !(c->autoscale_spec[0] && c->fleet[0] && f.disaggregated))
        return cli_fail("--autoscale-decode: the decode role's policy of a prefill:/decode: --fleet; give that "
                        "--fleet and --autoscale");
    if (c->autoscale_spec[0] && c->fleet[0] && !f.disaggregated)
        return cli_fail("--autoscale scales copies of --gpu (with --tp), or the roles of a prefill:/decode: "
                        "--fleet; drop this --fleet");
    if (c->autoscale_spec[0] && c->fleet[0] && opts_split_spec(c->autoscale_spec, name, sizeof(name), &kvs) == 0 &&
        opts_spec_has_key(kvs, "max"))
        return cli_fail("--autoscale %s: with prefill:/decode: roles each role's pool is its --fleet count; drop max=",
                        name);
    if (c->autoscale_decode_spec[0] && opts_split_spec(c->autoscale_decode_spec, name, sizeof(name), &kvs) == 0 &&
        opts_spec_has_key(kvs, "max"))
        return cli_fail("--autoscale-decode %s: the decode pool is its --fleet count; drop max=", name);
    return 0;
}

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
           "  --failed drop|replay  BurstGPT zero-token rows: drop (default) or replay as failures\n"
           "  --hash-block N        tokens per prefix block hash (jsonl hash_ids=, --sessions); 512\n"
           "  --sessions none|cumulative  derive block hashes from Session ID: a turn's prompt holds\n"
           "                        the session's earlier prompts and responses (traces/README.md)\n";
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
    case CLI_OPT_MODEL_NOT_FILTER:
        return cli_fail("--model names the served model (run, plan, replay); keep a trace's rows of one "
                        "model with --trace-model %s", v);
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
    case CLI_OPT_HASH_BLOCK:
        if (ss_parse_i64(v, &n) || n < 1 || n > (1 << 20))
            return cli_fail("--hash-block: '%s' is not a number of tokens in 1..1048576", v);
        o->hash_block_tokens = (int32_t)n;
        return 0;
    case CLI_OPT_SESSIONS:
        if (!strcmp(v, "none")) o->sessions = TRACE_SESSIONS_NONE;
        else if (!strcmp(v, "cumulative")) o->sessions = TRACE_SESSIONS_CUMULATIVE;
        else return cli_fail("--sessions: '%s' is not none or cumulative", v);
        return 0;
    }
    return cli_fail("internal: unhandled option %d", opt);
}

static int source_open_trace(CliSource *s, const CliTraceArgs *a, bool defer_sha256)
{
    memset(s, 0, sizeof(*s));
    int r = defer_sha256 ? 0 : ss_sha256_file(a->path, s->sha256);
    if (r) return r;
    s->sha256_on_thread = defer_sha256;
    if ((r = trace_reader_open(&s->reader, a->path, &a->open))) return r;
    s->path = a->path;
    s->rows = trace_reader_source(s->reader, a->path);
    return 0;
}

int cli_source_open_trace(CliSource *s, const CliTraceArgs *a)
{
    return source_open_trace(s, a, false);
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

static void hash_trace(void *ctx) /* on the prefetch thread */
{
    CliSource *s = ctx;
    s->sha256_status = ss_sha256_file(s->path, s->sha256);
    if (s->sha256_status) snprintf(s->sha256_error, sizeof(s->sha256_error), "%s", ss_error_get());
}

void cli_source_start_prefetch(CliSource *s)
{
    row_prefetch_create_after(&s->prefetch, s->rows, s->sha256_on_thread ? hash_trace : NULL, s);
    s->rows = row_prefetch_source(s->prefetch);
}

int cli_source_finish(CliSource *s)
{
    if (s->prefetch) row_prefetch_stop(s->prefetch);
    if (s->sha256_status) return ss_error_set(s->sha256_status, "%s", s->sha256_error);
    return 0;
}

void cli_source_report(const CliSource *s, FILE *f)
{
    if (!s->reader) return;
    if (s->prefetch) row_prefetch_stop(s->prefetch);
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
    row_prefetch_destroy(&s->prefetch); /* the thread reads reader or synth: first */
    if (s->reader) trace_reader_destroy(&s->reader);
    if (s->synth) synth_source_destroy(&s->synth);
}

void cli_run_args_default(CliRunArgs *a)
{
    cli_args_begin();
    memset(a, 0, sizeof(*a));
    engine_config_default(&a->cfg);
    cli_trace_args_default(&a->trace);
    a->requests = 10000;
    a->prefetch = true;
    a->cfg.metrics_thread = true;
}

static int copy_arg(char *dst, size_t cap, const char *src, const char *flag)
{
    if (strlen(src) >= cap) return cli_fail("%s: value too long", flag);
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

static int parse_slo(const char *s, SloSpec *slo)
{
    static const OptSpec specs[] = {
        { "ttft", OPT_DOUBLE, offsetof(SloSpec, ttft_s), "0", "seconds", NULL, 0, 1e12 },
        { "tpot", OPT_DOUBLE, offsetof(SloSpec, tpot_s), "0", "seconds", NULL, 0, 1e12 },
        { "e2el", OPT_DOUBLE, offsetof(SloSpec, e2el_s), "0", "seconds", NULL, 0, 1e12 },
        { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
    };
    return opts_init(specs, s, slo, "--slo");
}

/* Integer options >= 1 (bounded), by flag name. */
static int parse_count(const char *flag, const char *v, int64_t max, int64_t *out)
{
    if (ss_parse_i64(v, out) || *out < 1 || *out > max)
        return cli_fail("--%s: '%s' is not an integer in 1..%lld", flag, v, (long long)max);
    return 0;
}

static int parse_numeric_option(CliRunArgs *a, int opt, const char *v)
{
    EngineConfig *c = &a->cfg;
    int64_t n;
    double d;
    int r = 0;
    switch (opt) {
    case CLI_OPT_SEED:
        if (ss_parse_i64(v, &n) || n < 0) return cli_fail("--seed: '%s' is not a non-negative integer", v);
        c->seed = (uint64_t)n;
        return 0;
    case CLI_OPT_SAMPLE:
        /* 0 turns sampling off; below a microsecond the file would grow without end */
        if (ss_parse_double(v, &d) || d < 0 || (d > 0 && d < 1e-6))
            return cli_fail("--sample-interval: '%s' is not 0 (off) or >= 1e-6 seconds", v);
        c->sample_interval_s = d;
        return 0;
    case CLI_OPT_RATE: case CLI_OPT_DURATION:
        if (ss_parse_double(v, &d) || d <= 0)
            return cli_fail("--%s: '%s' is not a positive number", opt == CLI_OPT_RATE ? "rate" : "duration", v);
        if (opt == CLI_OPT_RATE) a->rate = d; else a->duration_s = d;
        return 0;
    case CLI_OPT_REQUESTS: if (!(r = parse_count("requests", v, INT64_MAX, &n))) a->requests = n; return r;
    case CLI_OPT_BURSTINESS: case CLI_OPT_DAY:
        if (ss_parse_double(v, &d) || !(d > 0) || d > 1e9)
            return cli_fail("--%s: '%s' is not a positive number", opt == CLI_OPT_DAY ? "day-s" : "burstiness", v);
        if (opt == CLI_OPT_DAY) a->day_s = d; else a->burstiness = d;
        return 0;
    case CLI_OPT_DIURNAL: a->diurnal = true; return 0;
    }
    return -1;
}

int cli_serving_parse_option(EngineConfig *c, int opt, const char *v)
{
    int64_t n;
    double d;
    int r;
    switch (opt) {
    case CLI_OPT_SCHED: return copy_arg(c->sched_spec, sizeof(c->sched_spec), v, "--sched");
    case CLI_OPT_PREDICT: return copy_arg(c->predict_spec, sizeof(c->predict_spec), v, "--predict");
    case CLI_OPT_COST: return copy_arg(c->cost_spec, sizeof(c->cost_spec), v, "--cost");
    case CLI_OPT_MODEL: return copy_arg(c->model, sizeof(c->model), v, "--model");
    case CLI_OPT_GPU: return copy_arg(c->gpu, sizeof(c->gpu), v, "--gpu");
    case CLI_OPT_FLEET: return copy_arg(c->fleet, sizeof(c->fleet), v, "--fleet");
    case CLI_OPT_ROUTER: return copy_arg(c->router, sizeof(c->router), v, "--router");
    case CLI_OPT_CLIENT: return copy_arg(c->client_spec, sizeof(c->client_spec), v, "--client");
    case CLI_OPT_ADMISSION: return copy_arg(c->admission_spec, sizeof(c->admission_spec), v, "--admission");
    case CLI_OPT_AUTOSCALE: return copy_arg(c->autoscale_spec, sizeof(c->autoscale_spec), v, "--autoscale");
    case CLI_OPT_KV_LINK: return copy_arg(c->kv_link, sizeof(c->kv_link), v, "--kv-link");
    case CLI_OPT_AUTOSCALE_DECODE:
        return copy_arg(c->autoscale_decode_spec, sizeof(c->autoscale_decode_spec), v, "--autoscale-decode");
    case CLI_OPT_MEMUTIL:
        if (ss_parse_double(v, &d) || d <= 0 || d > 1) return cli_fail("--gpu-mem-util: '%s' is not in (0, 1]", v);
        c->gpu_mem_util = d;
        return 0;
    case CLI_OPT_TP: if (!(r = parse_count("tp", v, 64, &n))) c->tensor_parallel = (int32_t)n; return r;
    case CLI_OPT_EP: if (!(r = parse_count("ep", v, 64, &n))) c->expert_parallel = (int32_t)n; return r;
    case CLI_OPT_WEIGHTS:
    case CLI_OPT_KV_DTYPE: {
        const char *what = opt == CLI_OPT_WEIGHTS ? "--weights" : "--kv-dtype";
        if (strcmp(v, "bf16") && strcmp(v, "fp16") && strcmp(v, "fp8"))
            return cli_fail("%s: '%s' is not bf16, fp16 or fp8", what, v);
        return copy_arg(opt == CLI_OPT_WEIGHTS ? c->weights_dtype : c->kv_dtype, sizeof(c->kv_dtype), v, what);
    }
    case CLI_OPT_MOE_SKEW:
        if (ss_parse_double(v, &d) || d < 0 || d > 4) return cli_fail("--moe-skew: '%s' is not in [0, 4]", v);
        c->moe_skew = d;
        return 0;
    case CLI_OPT_BLOCK: if (!(r = parse_count("block-size", v, 1 << 20, &n))) c->kv_block_size = (int32_t)n; return r;
    case CLI_OPT_INSTANCES: if (!(r = parse_count("instances", v, 100000, &n))) c->instances = (int32_t)n; return r;
    case CLI_OPT_MAX_PROMPT:
        if (!(r = parse_count("max-prompt-tokens", v, INT32_MAX, &n))) c->max_prompt_tokens = (int32_t)n;
        return r;
    case CLI_OPT_LONG_PROMPTS:
        if (!strcmp(v, "reject")) c->trim_long_prompts = false;
        else if (!strcmp(v, "trim")) c->trim_long_prompts = true;
        else return cli_fail("--long-prompts: '%s' is not reject or trim", v);
        return 0;
    }
    return -1;
}

int cli_run_parse_option(CliRunArgs *a, int opt, const char *v)
{
    EngineConfig *c = &a->cfg;
    int r = cli_serving_parse_option(c, opt, v);
    if (r != -1) {
        a->model_given |= opt == CLI_OPT_MODEL;
        a->gpu_given |= opt == CLI_OPT_GPU;
        a->instances_given |= opt == CLI_OPT_INSTANCES;
        a->tp_given |= opt == CLI_OPT_TP;
        return r;
    }
    switch (opt) {
    case CLI_OPT_TRACE: a->trace.path = v; return 0;
    case CLI_OPT_WORKLOAD: a->workload = v; return 0;
    case CLI_OPT_OUT: a->out_dir = v; return 0;
    case CLI_OPT_FORCE: a->force = true; return 0;
    case CLI_OPT_NO_REQ: a->no_requests_csv = true; return 0;
    case CLI_OPT_JSON: a->json = true; return 0;
    case CLI_OPT_QUIET: a->quiet = true; return 0;
    case CLI_OPT_SLO: return parse_slo(v, &c->slo) ? cli_fail_lib() : 0;
    }
    r = parse_numeric_option(a, opt, v);
    if (r != -1) return r;
    if (opt >= CLI_OPT_FORMAT && opt <= CLI_OPT_TRACE_LAST) return cli_trace_parse_option(&a->trace, opt, v);
    return -1;
}

int cli_run_args_check(const CliRunArgs *a, const char *cmd, bool need_out)
{
    if (!a->trace.path == !a->workload)
        return cli_fail("%s: give exactly one of --trace FILE or --workload NAME (%s)", cmd, synth_preset_names());
    if (a->workload) { /* the name, its knobs and their values: a usage error here */
        SynthParams p;
        if (synth_params_from_preset(&p, a->workload) < 0) return cli_fail_lib();
        if (a->rate > 0 && synth_spec_names_key(a->workload, "scale"))
            return cli_fail("%s: --rate and the workload's scale= both set the rate; give one", cmd);
        if (a->burstiness > 0 && synth_spec_names_key(a->workload, "shape"))
            return cli_fail("%s: --burstiness and the workload's shape= both set the gap shape; give one", cmd);
    }
    if (need_out && !a->out_dir) return cli_fail("%s: --out DIR is required", cmd);
    if (a->rate > 0 && a->trace.path)
        return cli_fail("%s: --rate sets the embedded workload's rate; a trace keeps its own "
                        "arrivals: scale them with --speedup F (F x faster)", cmd);
    if (a->trace.path && (a->burstiness > 0 || a->diurnal || a->day_s > 0))
        return cli_fail("%s: --%s shapes the embedded workload's arrivals; a trace keeps its own", cmd,
                        a->burstiness > 0 ? "burstiness" : a->diurnal ? "diurnal" : "day-s");
    if (a->day_s > 0 && !a->diurnal) return cli_fail("%s: --day-s is the length of a --diurnal day", cmd);
    /* --fleet names every replica's GPU, count and tp: the manifest would
     * otherwise record values that did not run. */
    if (a->cfg.fleet[0] && (a->gpu_given || a->instances_given || a->tp_given))
        return cli_fail("%s: --fleet %s already names the GPUs, their counts and tp; drop %s", cmd, a->cfg.fleet,
                        a->gpu_given ? "--gpu" : a->instances_given ? "--instances" : "--tp");
    /* The autoscaler sets the count (min, max, initial): --instances would not run. */
    if (a->cfg.autoscale_spec[0] && a->instances_given)
        return cli_fail("%s: --autoscale sets the instance count (its min=, max=, initial=); drop --instances", cmd);
    int r = cli_serving_check(&a->cfg);
    if (r) return r;
    cli_args_end();
    return 0;
}

int cli_run_open_source(const CliRunArgs *a, CliSource *src)
{
    int r;
    if (a->trace.path) {
        r = source_open_trace(src, &a->trace, a->prefetch && a->defer_sha256);
    } else {
        SynthParams p;
        if (synth_params_from_preset(&p, a->workload) < 0) return cli_fail_lib(); /* checked before */
        if (a->rate > 0) p.rate = a->rate;
        if (a->burstiness > 0) p.gap = SYNTH_GAP_GAMMA, p.shape = a->burstiness;
        if (a->diurnal) p.diurnal = true;
        if (a->day_s > 0) p.day_s = a->day_s;
        p.requests = a->duration_s > 0 ? 0 : a->requests;
        p.duration_s = a->duration_s;
        r = cli_source_open_synth(src, &p, a->cfg.seed);
    }
    /* Started now, the thread inflates and parses while the engine is set up. */
    if (!r && a->prefetch) cli_source_start_prefetch(src);
    return r;
}

const char *cli_run_options_help(void)
{
    return "workload:\n"
           "  --trace FILE          BurstGPT / Azure / CSV / JSONL trace, plain or gzip\n"
           "  --workload NAME[:k=v,...]  an embedded workload (no file needed): default (BurstGPT-like),\n"
           "                        burstgpt-perf[:shape=,scale=,zipf=,max_tokens=,...] (BurstGPT's\n"
           "                        benchmark generator); knobs: servesim list workloads\n"
           "  --requests N          requests to generate (workload; default 10000)\n"
           "  --rate R              mean arrival rate of the workload, requests/s\n"
           "  --burstiness B        workload gap shape: Gamma(B), CV 1/sqrt(B); 1 = Poisson (default 0.5)\n"
           "  --diurnal             workload rate follows BurstGPT's hour-of-day profile (--day-s S)\n"
           "  --duration S          generate for S simulated seconds instead of N requests\n"
           "serving:\n"
           "  --sched SPEC          scheduler and options (default vllm); `servesim list`\n"
           "  --predict SPEC        length predictor (default oracle)\n"
           "  --cost SPEC           ground-truth step-time model (default auto: measured where the GPU\n"
           "                        has tables, else roofline; see servesim list)\n"
           "  --model NAME|FILE     model shape (default llama-2-7b)\n"
           "  --gpu NAME|FILE       GPU spec (default h100-sxm)\n"
           "  --gpu-mem-util F      fraction of GPU memory for weights + KV (default 0.9)\n"
           "  --tp N                tensor-parallel GPUs per instance (default 1)\n"
           "  --ep N                MoE: experts split over N of the tp GPUs, two all-to-alls per\n"
           "                        MoE layer (default 1: experts tensor-parallel)\n"
           "  --weights DT          weights bf16|fp16|fp8 (default: the model's; fp8 computes at the\n"
           "                        GPU's flops_fp8, weight-only where it has none, e.g. A100)\n"
           "  --kv-dtype DT         KV cache bf16|fp16|fp8 (default: the model's)\n"
           "  --moe-skew S          MoE routing skew: expert i's share ~ 1/i^S (default 0: uniform)\n"
           "  --instances N         replicas of --gpu (default 1)\n"
           "  --fleet SPEC          heterogeneous replicas: 4xh100-sxm:tp=2,2xa100-80g\n"
           "  --router SPEC         least-work (default), round-robin, random, least-requests,\n"
           "                        p2c, length-aware:short_tokens=256, central (one FIFO)\n"
           "  --block-size N        KV block size in tokens (default 16)\n"
           "  --max-prompt-tokens N longest prompt served (default: the model context less 1)\n"
           "  --long-prompts P      reject (default; counted as rejected too_long) or trim: keep a\n"
           "                        longer prompt's last N tokens (counted as run.prompts_trimmed)\n"
           "  --client SPEC         client model: none (default), deadline:ttft_timeout=S,timeout=S,\n"
           "                        patience=S,retries=N,backoff=S,jitter=F (servesim list clients)\n"
           "  --admission SPEC      max_queue=N,max_queue_delay=S,max_preemptions=N (429-like rejections)\n"
           "  --fleet prefill:2xh100-sxm,decode:4xh100-sxm   disaggregated: prompts on prefill\n"
           "                        instances, KV sent to a decode instance (docs/PLANNING.md)\n"
           "  --kv-link SPEC        their KV link: nvlink or rdma:gbps=400,latency_us=10, with\n"
           "                        overlap=none (default) or layer, contention=fifo (default) or\n"
           "                        none (default link: nvlink within 8 GPUs, else rdma)\n"
           "  --autoscale SPEC      instances come and go: target-utilisation, queue or schedule, with\n"
           "                        min=,max=,interval=,boot=,load_gbps=,down_delay=,...\n"
           "                        (servesim list autoscalers; docs/PLANNING.md); with a prefill:/\n"
           "                        decode: --fleet each role is a pool of its fleet count (no max=)\n"
           "  --autoscale-decode SPEC   the decode pool's own policy (default: --autoscale's)\n"
           "  --slo ttft=S,tpot=S,e2el=S   goodput SLOs in seconds\n"
           "  --seed N              seed of every random stream (default 1)\n"
           "output:\n"
           "  --out DIR             results directory (refused if it exists, unless --force)\n"
           "  --force               overwrite DIR's files\n"
           "  --sample-interval S   time-series period in simulated seconds (default 1)\n"
           "  --no-requests-csv     skip requests.csv (huge traces)\n"
           "  --json                print summary.json instead of the table\n"
           "  --quiet               no table, no progress\n";
}
