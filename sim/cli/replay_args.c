/* replay_args.c: parsing `servesim replay`'s options (see replay_args.h). */
#include "replay_args.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"

enum { RA_FORCE = 1000, RA_NO_REQ, RA_JSON, RA_QUIET, RA_SLO, RA_SAMPLE, RA_MEMUTIL, RA_BLOCK,
       RA_REQUESTS, RA_RATE, RA_DURATION, RA_BACKEND, RA_CLOCK, RA_TIMER };

static int copy_spec(char *dst, size_t cap, const char *src, const char *flag)
{
    if (strlen(src) >= cap) return cli_fail("%s: value too long", flag);
    strcpy(dst, src);
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

static int parse_number_option(ReplayArgs *a, int c, const char *v)
{
    int64_t i64;
    double d;
    switch (c) {
    case 'S':
        if (ss_parse_i64(v, &i64) || i64 < 0) return cli_fail("--seed: '%s' is not a non-negative integer", v);
        a->cfg.seed = (uint64_t)i64;
        return 0;
    case RA_SAMPLE:
        if (ss_parse_double(v, &d) || d < 0) return cli_fail("--sample-interval: '%s' is not a number >= 0", v);
        a->cfg.sample_interval_s = d;
        return 0;
    case RA_MEMUTIL:
        if (ss_parse_double(v, &d) || d <= 0 || d > 1) return cli_fail("--gpu-mem-util: '%s' is not in (0, 1]", v);
        a->cfg.gpu_mem_util = d;
        return 0;
    case RA_BLOCK: case RA_REQUESTS:
        if (ss_parse_i64(v, &i64) || i64 < 1 || (c == RA_BLOCK && i64 > 1 << 20))
            return cli_fail("--%s: '%s' is not a positive integer", c == RA_BLOCK ? "block-size" : "requests", v);
        if (c == RA_BLOCK) a->cfg.kv_block_size = (int32_t)i64; else a->requests = i64;
        return 0;
    case RA_RATE: case RA_DURATION:
        if (ss_parse_double(v, &d) || d <= 0)
            return cli_fail("--%s: '%s' is not a positive number", c == RA_RATE ? "rate" : "duration", v);
        if (c == RA_RATE) a->rate = d; else a->duration_s = d;
        return 0;
    }
    return cli_trace_parse_option(&a->trace, c, v);
}

static int parse_one(ReplayArgs *a, int c, const char *v)
{
    EngineConfig *g = &a->cfg;
    switch (c) {
    case 't': a->trace.path = v; return 0;
    case 'w': a->workload = v; return 0;
    case 's': return copy_spec(g->sched_spec, sizeof(g->sched_spec), v, "--sched");
    case 'p': return copy_spec(g->predict_spec, sizeof(g->predict_spec), v, "--predict");
    case 'c': return copy_spec(g->cost_spec, sizeof(g->cost_spec), v, "--cost");
    case 'm': a->model_given = true; return copy_spec(g->model, sizeof(g->model), v, "--model");
    case 'g': a->gpu_given = true; return copy_spec(g->gpu, sizeof(g->gpu), v, "--gpu");
    case 'o': a->out_dir = v; return 0;
    case RA_FORCE: a->force = true; return 0;
    case RA_NO_REQ: a->no_requests_csv = true; return 0;
    case RA_JSON: a->json = true; return 0;
    case RA_QUIET: a->quiet = true; return 0;
    case RA_BACKEND: a->backend = v; return 0;
    case RA_CLOCK: a->clock = v; return 0;
    case RA_TIMER: a->timer = v; return 0;
    case RA_SLO: return parse_slo(v, &g->slo) ? cli_fail_lib() : 0;
    }
    return parse_number_option(a, c, v);
}

int replay_args_parse(int argc, char **argv, ReplayArgs *a, bool need_out)
{
    static const struct option long_opts[] = {
        { "trace", required_argument, 0, 't' }, { "workload", required_argument, 0, 'w' },
        { "sched", required_argument, 0, 's' }, { "predict", required_argument, 0, 'p' },
        { "cost", required_argument, 0, 'c' }, { "model", required_argument, 0, 'm' },
        { "gpu", required_argument, 0, 'g' }, { "seed", required_argument, 0, 'S' },
        { "out", required_argument, 0, 'o' }, { "force", no_argument, 0, RA_FORCE },
        { "no-requests-csv", no_argument, 0, RA_NO_REQ }, { "json", no_argument, 0, RA_JSON },
        { "quiet", no_argument, 0, RA_QUIET }, { "slo", required_argument, 0, RA_SLO },
        { "sample-interval", required_argument, 0, RA_SAMPLE },
        { "gpu-mem-util", required_argument, 0, RA_MEMUTIL },
        { "block-size", required_argument, 0, RA_BLOCK },
        { "requests", required_argument, 0, RA_REQUESTS }, { "rate", required_argument, 0, RA_RATE },
        { "duration", required_argument, 0, RA_DURATION },
        { "backend", required_argument, 0, RA_BACKEND }, { "clock", required_argument, 0, RA_CLOCK },
        { "timer", required_argument, 0, RA_TIMER },
        CLI_TRACE_LONG_OPTIONS,
        { 0, 0, 0, 0 },
    };
    memset(a, 0, sizeof(*a));
    engine_config_default(&a->cfg);
    cli_trace_args_default(&a->trace);
    a->requests = 1000;
    a->backend = "cpu";
    a->clock = "virtual";
    a->timer = "monotonic";
    int c, r;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == '?')
            return cli_fail("replay: unknown or incomplete option '%s' (see servesim replay --help)",
                            argv[optind - 1]);
        if ((r = parse_one(a, c, optarg))) return r;
    }
    if (optind < argc) return cli_fail("replay: unexpected argument '%s'", argv[optind]);
    if (!a->trace.path == !a->workload) return cli_fail("replay: give exactly one of --trace FILE or --workload default");
    if (a->workload && strcmp(a->workload, "default"))
        return cli_fail("--workload: unknown workload '%s' (known: default)", a->workload);
    if (need_out && !a->out_dir) return cli_fail("replay: --out DIR is required");
    if (!strcmp(a->clock, "wall")) a->cfg.wall_clock = true;
    else if (strcmp(a->clock, "virtual"))
        return cli_fail("--clock %s: virtual (each iteration advances the clock by its measured "
                        "duration) or wall (real time: arrivals released on schedule)", a->clock);
    bool cuda = !strcmp(a->backend, "cuda");
    if (strcmp(a->timer, "monotonic") && (strcmp(a->timer, "thread") || cuda))
        return cli_fail("--timer %s: monotonic (wall time of each iteration) or, cpu backend only, "
                        "thread (the replay thread's CPU time)", a->timer);
    if (!a->model_given) snprintf(a->cfg.model, sizeof(a->cfg.model), "%s", cuda ? "llama-2-7b" : "tiny");
    if (!a->gpu_given) snprintf(a->cfg.gpu, sizeof(a->cfg.gpu), "%s", cuda ? "h100-sxm" : "cpu-tiny");
    a->cfg.progress = !a->quiet;
    return 0;
}

int replay_args_open_source(const ReplayArgs *a, CliSource *src)
{
    if (a->trace.path) return cli_source_open_trace(src, &a->trace);
    SynthParams p;
    synth_params_default(&p);
    if (a->rate > 0) p.rate = a->rate;
    p.requests = a->duration_s > 0 ? 0 : a->requests;
    p.duration_s = a->duration_s;
    return cli_source_open_synth(src, &p, a->cfg.seed);
}
