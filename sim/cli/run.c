/* run.c: `servesim run`: simulate a trace or workload through a scheduler. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_common.h"
#include "common.h"
#include "engine/engine.h"
#include "results.h"
#include "servesim_config.h"
#include "synth.h"
#include "trace.h"

static void run_usage(FILE *f)
{
    fprintf(f,
        "usage: servesim run (--trace FILE | --workload default) --out DIR [options]\n"
        "\n"
        "Simulates every request of the trace through one scheduler on one GPU replica and\n"
        "writes DIR/summary.json (vllm bench serve metrics + manifest), DIR/requests.csv and\n"
        "DIR/timeseries.csv.  Same inputs + same seed = byte-identical files.\n"
        "\n"
        "workload:\n"
        "  --trace FILE          BurstGPT / Azure / CSV / JSONL trace, plain or gzip\n"
        "  --workload default    the embedded BurstGPT-like workload (no file needed)\n"
        "  --requests N          requests to generate (workload; default 10000)\n"
        "  --rate R              mean arrival rate of the workload, requests/s\n"
        "  --duration S          generate for S simulated seconds instead of N requests\n"
        "%s"
        "serving:\n"
        "  --sched SPEC          scheduler and options (default fcfs-static); `servesim list`\n"
        "  --predict SPEC        length predictor (default oracle)\n"
        "  --cost SPEC           ground-truth step-time model (default roofline)\n"
        "  --model NAME|FILE     model shape (default llama-2-7b)\n"
        "  --gpu NAME|FILE       GPU spec (default h100-sxm)\n"
        "  --gpu-mem-util F      fraction of GPU memory for weights + KV (default 0.9)\n"
        "  --tp N                tensor-parallel GPUs per instance (default 1)\n"
        "  --instances N         replicas of --gpu (default 1)\n"
        "  --fleet SPEC          heterogeneous replicas: 4xh100-sxm:tp=2,2xa100-80g\n"
        "  --router SPEC         round-robin (default), random, least-requests, least-work,\n"
        "                        p2c, length-aware:short_tokens=256, central (one FIFO)\n"
        "  --block-size N        KV block size in tokens (default 16)\n"
        "  --slo ttft=S,tpot=S,e2el=S   goodput SLOs in seconds\n"
        "  --seed N              seed of every random stream (default 1)\n"
        "output:\n"
        "  --out DIR             results directory (refused if it exists, unless --force)\n"
        "  --force               overwrite DIR's files\n"
        "  --sample-interval S   time-series period in simulated seconds (default 1)\n"
        "  --steps               also write steps.csv (one row per step)\n"
        "  --no-requests-csv     skip requests.csv (huge traces)\n"
        "  --stepwise            no event skipping (for checks; slow)\n"
        "  --json                print summary.json instead of the table\n"
        "  --quiet               no table, no progress\n",
        cli_trace_options_help());
}

enum { OPT_FORCE = 1000, OPT_STEPS, OPT_NO_REQ, OPT_STEPWISE, OPT_JSON, OPT_QUIET, OPT_SLO,
       OPT_SAMPLE, OPT_MEMUTIL, OPT_TP, OPT_BLOCK, OPT_REQUESTS, OPT_RATE, OPT_DURATION,
       OPT_INSTANCES, OPT_FLEET, OPT_ROUTER };

typedef struct RunArgs {
    EngineConfig cfg;
    CliTraceArgs trace;
    const char *workload, *out_dir;
    int64_t requests;
    double rate, duration_s;
    bool force, steps, no_requests_csv, json, quiet;
} RunArgs;

static int parse_slo(const char *s, SloSpec *slo)
{
    static const OptSpec specs[] = {
        { "ttft", OPT_DOUBLE, offsetof(SloSpec, ttft_s), "0", "seconds", NULL, 0, 1e12 },
        { "tpot", OPT_DOUBLE, offsetof(SloSpec, tpot_s), "0", "seconds", NULL, 0, 1e12 },
        { "e2el", OPT_DOUBLE, offsetof(SloSpec, e2el_s), "0", "seconds", NULL, 0, 1e12 },
        { NULL },
    };
    return opts_init(specs, s, slo, "--slo");
}

static int copy_spec(char *dst, size_t cap, const char *src, const char *flag)
{
    if (strlen(src) >= cap) return cli_fail("%s: value too long", flag);
    strcpy(dst, src);
    return 0;
}

static int parse_run_args(int argc, char **argv, RunArgs *a)
{
    static const struct option long_opts[] = {
        { "trace", required_argument, 0, 't' }, { "workload", required_argument, 0, 'w' },
        { "sched", required_argument, 0, 's' }, { "predict", required_argument, 0, 'p' },
        { "cost", required_argument, 0, 'c' }, { "model", required_argument, 0, 'm' },
        { "gpu", required_argument, 0, 'g' }, { "seed", required_argument, 0, 'S' },
        { "out", required_argument, 0, 'o' }, { "force", no_argument, 0, OPT_FORCE },
        { "steps", no_argument, 0, OPT_STEPS }, { "no-requests-csv", no_argument, 0, OPT_NO_REQ },
        { "stepwise", no_argument, 0, OPT_STEPWISE }, { "json", no_argument, 0, OPT_JSON },
        { "quiet", no_argument, 0, OPT_QUIET }, { "slo", required_argument, 0, OPT_SLO },
        { "sample-interval", required_argument, 0, OPT_SAMPLE },
        { "gpu-mem-util", required_argument, 0, OPT_MEMUTIL }, { "tp", required_argument, 0, OPT_TP },
        { "block-size", required_argument, 0, OPT_BLOCK },
        { "requests", required_argument, 0, OPT_REQUESTS }, { "rate", required_argument, 0, OPT_RATE },
        { "duration", required_argument, 0, OPT_DURATION },
        { "instances", required_argument, 0, OPT_INSTANCES },
        { "fleet", required_argument, 0, OPT_FLEET }, { "router", required_argument, 0, OPT_ROUTER },
        CLI_TRACE_LONG_OPTIONS,
        { 0, 0, 0, 0 },
    };
    engine_config_default(&a->cfg);
    cli_trace_args_default(&a->trace);
    a->requests = 10000;
    int c, r;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        int64_t i64;
        double d;
        switch (c) {
        case 't': a->trace.path = optarg; break;
        case 'w': a->workload = optarg; break;
        case 's': if ((r = copy_spec(a->cfg.sched_spec, sizeof(a->cfg.sched_spec), optarg, "--sched"))) return r; break;
        case 'p': if ((r = copy_spec(a->cfg.predict_spec, sizeof(a->cfg.predict_spec), optarg, "--predict"))) return r; break;
        case 'c': if ((r = copy_spec(a->cfg.cost_spec, sizeof(a->cfg.cost_spec), optarg, "--cost"))) return r; break;
        case 'm': if ((r = copy_spec(a->cfg.model, sizeof(a->cfg.model), optarg, "--model"))) return r; break;
        case 'g': if ((r = copy_spec(a->cfg.gpu, sizeof(a->cfg.gpu), optarg, "--gpu"))) return r; break;
        case 'S':
            if (ss_parse_i64(optarg, &i64) || i64 < 0) return cli_fail("--seed: '%s' is not a non-negative integer", optarg);
            a->cfg.seed = (uint64_t)i64;
            break;
        case 'o': a->out_dir = optarg; break;
        case OPT_FORCE: a->force = true; break;
        case OPT_STEPS: a->steps = true; break;
        case OPT_NO_REQ: a->no_requests_csv = true; break;
        case OPT_STEPWISE: a->cfg.stepwise = true; break;
        case OPT_JSON: a->json = true; break;
        case OPT_QUIET: a->quiet = true; break;
        case OPT_SLO: if (parse_slo(optarg, &a->cfg.slo)) return cli_fail_lib(); break;
        case OPT_SAMPLE:
            if (ss_parse_double(optarg, &d) || d < 0) return cli_fail("--sample-interval: '%s' is not a number >= 0", optarg);
            a->cfg.sample_interval_s = d;
            break;
        case OPT_MEMUTIL:
            if (ss_parse_double(optarg, &d) || d <= 0 || d > 1) return cli_fail("--gpu-mem-util: '%s' is not in (0, 1]", optarg);
            a->cfg.gpu_mem_util = d;
            break;
        case OPT_TP: case OPT_BLOCK: case OPT_REQUESTS: case OPT_INSTANCES:
            if (ss_parse_i64(optarg, &i64) || i64 < 1 || i64 > (c == OPT_REQUESTS ? INT64_MAX : 1 << 20))
                return cli_fail("--%s: '%s' is not a positive integer",
                                c == OPT_TP ? "tp" : c == OPT_BLOCK ? "block-size"
                                : c == OPT_INSTANCES ? "instances" : "requests", optarg);
            if (c == OPT_TP) a->cfg.tensor_parallel = (int32_t)i64;
            else if (c == OPT_BLOCK) a->cfg.kv_block_size = (int32_t)i64;
            else if (c == OPT_INSTANCES) a->cfg.instances = (int32_t)i64;
            else a->requests = i64;
            break;
        case OPT_FLEET: if ((r = copy_spec(a->cfg.fleet, sizeof(a->cfg.fleet), optarg, "--fleet"))) return r; break;
        case OPT_ROUTER: if ((r = copy_spec(a->cfg.router, sizeof(a->cfg.router), optarg, "--router"))) return r; break;
        case OPT_RATE: case OPT_DURATION:
            if (ss_parse_double(optarg, &d) || d <= 0)
                return cli_fail("--%s: '%s' is not a positive number", c == OPT_RATE ? "rate" : "duration", optarg);
            if (c == OPT_RATE) a->rate = d; else a->duration_s = d;
            break;
        case '?':
            return cli_fail("run: unknown or incomplete option '%s' (see servesim run --help)", argv[optind - 1]);
        default:
            if ((r = cli_trace_parse_option(&a->trace, c, optarg))) return r;
        }
    }
    if (optind < argc) return cli_fail("run: unexpected argument '%s'", argv[optind]);
    if (!a->trace.path == !a->workload) return cli_fail("run: give exactly one of --trace FILE or --workload default");
    if (a->workload && strcmp(a->workload, "default"))
        return cli_fail("--workload: unknown workload '%s' (known: default)", a->workload);
    if (!a->out_dir) return cli_fail("run: --out DIR is required");
    a->cfg.progress = !a->quiet;
    return 0;
}

/* Open the request source: a trace file or the embedded workload. */
static int open_source(RunArgs *a, CliSource *src)
{
    if (a->trace.path) return cli_source_open_trace(src, &a->trace);
    SynthParams p;
    synth_params_default(&p);
    if (a->rate > 0) p.rate = a->rate;
    p.requests = a->duration_s > 0 ? 0 : a->requests;
    p.duration_s = a->duration_s;
    return cli_source_open_synth(src, &p, a->cfg.seed);
}

int cmd_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { run_usage(stdout); return 0; }
    RunArgs a = { 0 };
    int r = parse_run_args(argc, argv, &a);
    if (r) return r;
    CliSource src = { 0 };
    Engine *engine = NULL;
    ResultsDir dir = { .n_files = 0 };
    bool dir_open = false;
    int status = 1;
    EngineOutputs outs = { 0 };
    /* Everything that can be checked is checked before DIR is touched. */
    if (open_source(&a, &src) || engine_create(&engine, &a.cfg, NULL)) { cli_fail_lib(); goto done; }
    if (results_dir_open(&dir, a.out_dir, a.force)) { cli_fail_lib(); goto done; }
    dir_open = true;
    if (!a.no_requests_csv && !(outs.requests_csv = results_dir_create_file(&dir, "requests.csv"))) { cli_fail_lib(); goto done; }
    if (a.cfg.sample_interval_s > 0 && !(outs.timeseries_csv = results_dir_create_file(&dir, "timeseries.csv"))) { cli_fail_lib(); goto done; }
    if (a.steps && !(outs.steps_csv = results_dir_create_file(&dir, "steps.csv"))) { cli_fail_lib(); goto done; }
    engine_set_outputs(engine, &outs);
    double wall0 = ss_wall_seconds();
    if (engine_run(engine, &src.rows)) {
        cli_fail_lib();
        fprintf(stderr, "servesim: run abandoned; %s left without partial results\n", a.out_dir);
        goto done;
    }
    double wall_s = ss_wall_seconds() - wall0;
    json_t *summary = results_summary_json(engine, &a.cfg, &src, argc, argv);
    if (results_write_json(&dir, "summary.json", summary)) { json_decref(summary); cli_fail_lib(); goto done; }
    if (!a.quiet) {
        if (a.json) json_dumpf(summary, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        else results_print_table(stdout, summary);
        cli_source_report(&src, stderr);
        const Metrics *m = engine_metrics(engine);
        fprintf(stderr, "servesim: %lld requests in %.3f s of wall time (%.0f requests/s); results in %s/\n",
                (long long)m->arrived, wall_s, wall_s > 0 ? m->arrived / wall_s : 0.0, a.out_dir);
    }
    json_decref(summary);
    status = 0;
done:
    engine_destroy(&engine);
    if (outs.requests_csv && fclose(outs.requests_csv) && !status) status = cli_fail("%s: write error", a.out_dir);
    if (outs.timeseries_csv && fclose(outs.timeseries_csv) && !status) status = cli_fail("%s: write error", a.out_dir);
    if (outs.steps_csv && fclose(outs.steps_csv) && !status) status = cli_fail("%s: write error", a.out_dir);
    if (status && dir_open) results_dir_abandon(&dir);
    results_dir_free_buffers(&dir);
    cli_source_close(&src);
    return status;
}
