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
#include "result_vllm.h"
#include "results.h"
#include "servesim_config.h"
#include "synth.h"
#include "trace.h"

static void run_usage(FILE *f)
{
    fprintf(f,
        "usage: servesim run (--trace FILE | --workload default) --out DIR [options]\n"
        "\n"
        "Simulates every request of the trace through the scheduler on the GPU replicas and\n"
        "writes DIR/summary.json (vllm bench serve metrics + manifest), DIR/requests.csv and\n"
        "DIR/timeseries.csv.  Same inputs + same seed = byte-identical files.\n"
        "\n%s%s"
        "  --steps               also write steps.csv (one row per step)\n"
        "  --result-format F     servesim (default), or vllm: also write DIR/summary.vllm.json in\n"
        "                        vllm bench serve's flat result schema (docs/CI_GATE.md)\n"
        "  --stepwise            no event skipping (for checks; slow)\n",
        cli_run_options_help(), cli_trace_options_help());
}

enum { OPT_STEPS = 1000, OPT_STEPWISE, OPT_RESULT_FORMAT };

typedef struct RunArgs {
    CliRunArgs run;
    bool steps;
    bool vllm_result;         /* --result-format vllm: summary.vllm.json too */
} RunArgs;

static int parse_run_args(int argc, char **argv, RunArgs *a)
{
    static const struct option long_opts[] = {
        CLI_RUN_LONG_OPTIONS,
        { "steps", no_argument, 0, OPT_STEPS },
        { "stepwise", no_argument, 0, OPT_STEPWISE },
        { "result-format", required_argument, 0, OPT_RESULT_FORMAT },
        { 0, 0, 0, 0 },
    };
    cli_run_args_default(&a->run);
    int c, r;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == OPT_STEPS) { a->steps = true; continue; }
        if (c == OPT_STEPWISE) { a->run.cfg.stepwise = true; continue; }
        if (c == OPT_RESULT_FORMAT) {
            if (strcmp(optarg, "vllm") && strcmp(optarg, "servesim"))
                return cli_fail("run: --result-format '%s': give servesim or vllm", optarg);
            a->vllm_result = !strcmp(optarg, "vllm");
            continue;
        }
        if (c == '?')
            return cli_fail("run: unknown or incomplete option '%s' (see servesim run --help)", argv[optind - 1]);
        if ((r = cli_run_parse_option(&a->run, c, optarg))) return r < 0 ? cli_fail("run: unhandled option") : r;
    }
    if (optind < argc) return cli_fail("run: unexpected argument '%s'", argv[optind]);
    if ((r = cli_run_args_check(&a->run, "run", true))) return r;
    a->run.cfg.progress = !a->run.quiet;
    return 0;
}

int cmd_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { run_usage(stdout); return 0; }
    RunArgs args = { .steps = false };
    int r = parse_run_args(argc, argv, &args);
    if (r) return r;
    CliRunArgs a = args.run;
    a.defer_sha256 = true; /* hashed beside the run; read after it (cli_source_finish) */
    CliSource src = { 0 };
    Engine *engine = NULL;
    ResultsDir dir = { .n_files = 0 };
    bool dir_open = false;
    int status = 1;
    EngineOutputs outs = { 0 };
    /* Everything that can be checked is checked before DIR is touched. */
    if (cli_run_open_source(&a, &src)) { cli_fail_lib(); goto done; }
    /* A set-up the engine refuses (a model that does not fit, a tp that
     * does not divide the heads, a budget or KV cache that could never
     * serve a request) is a bad option value. */
    if ((r = engine_create(&engine, &a.cfg, NULL))) {
        cli_fail_lib();
        if (r == -EINVAL) status = CLI_EXIT_USAGE; /* not a missing or unreadable file */
        goto done;
    }
    if (results_dir_open(&dir, a.out_dir, a.force)) { cli_fail_lib(); goto done; }
    dir_open = true;
    if (!a.no_requests_csv && !(outs.requests_csv = results_dir_create_file(&dir, "requests.csv"))) { cli_fail_lib(); goto done; }
    if (a.cfg.sample_interval_s > 0 && !(outs.timeseries_csv = results_dir_create_file(&dir, "timeseries.csv"))) { cli_fail_lib(); goto done; }
    if (args.steps && !(outs.steps_csv = results_dir_create_file(&dir, "steps.csv"))) { cli_fail_lib(); goto done; }
    engine_set_outputs(engine, &outs);
    double wall0 = ss_wall_seconds();
    if (engine_run(engine, &src.rows)) {
        cli_fail_lib();
        fprintf(stderr, "servesim: run abandoned; %s left without partial results\n", a.out_dir);
        goto done;
    }
    double wall_s = ss_wall_seconds() - wall0;
    if (cli_source_finish(&src)) { cli_fail_lib(); goto done; }
    if (engine_metrics(engine)->arrived == 0)
        fprintf(stderr, "servesim: warning: no requests reached the simulator (empty trace, or "
                        "every row filtered or dropped)\n");
    json_t *summary = results_summary_json(engine, &a.cfg, &src, argc, argv);
    results_warn_dropped(stderr, summary);
    if (args.vllm_result && results_write_vllm(&dir, summary)) { json_decref(summary); cli_fail_lib(); goto done; }
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
    /* The files were completed by results_write_json; on failure they go. */
    if (status && dir_open) results_dir_abandon(&dir);
    cli_source_close(&src);
    return status;
}
