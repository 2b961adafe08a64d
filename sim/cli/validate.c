/* validate.c: `servesim validate DIR`: a replay's measurements beside the
 * simulator's predictions.
 *
 * Per step: every measured iteration of DIR/steps.csv against what each cost
 * model predicts for its shape (error = (predicted - measured) / measured;
 * |error| at P50/P90/P99 and the signed median, by kind).  End to end: the
 * command the replay recorded in its manifest is parsed again and simulated
 * (event skipping, same trace, scheduler, predictor, seed) with each cost
 * model; its TTFT/TPOT/ITL/E2E percentiles and throughputs are compared with
 * the replay's. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "out_file.h"
#include "common.h"
#include "fleet/vllm_result.h"
#include "replay_args.h"
#include "steps_csv.h"
#include "validate_report.h"

static void validate_usage(FILE *f)
{
    fprintf(f,
        "usage: servesim validate DIR [--cost SPEC] [--out FILE] [--json] [--quiet]\n"
        "\n"
        "DIR is a `servesim replay` output.  Compares its measured iterations (steps.csv) with\n"
        "the roofline's predictions and, with --cost (e.g. profile:file=F), that model's:\n"
        "per-step error median/P90/P99 by kind (prefill, decode, mixed); then simulates the\n"
        "replay's recorded command with each cost model and compares TTFT, TPOT, ITL and E2E\n"
        "at P50 and P99 and the throughputs.  Prints a table; writes the JSON to --out\n"
        "(default DIR/validation.json); --json prints the JSON instead of the table.\n"
        "\n"
        "  --measured FILE  FILE is a real `vllm bench serve --save-result` JSON and DIR a\n"
        "                   `servesim run` output of the same workload: compares DIR's simulated\n"
        "                   TTFT/TPOT/ITL/E2E P50 and P99 and throughputs with FILE's (from its\n"
        "                   per-request ttfts/itls/latencies where its summary lacks them,\n"
        "                   --save-detailed); no per-step part\n");
}

/* The replay's recorded command as a fresh argv (owned strings). */
static int command_argv(json_t *man, char ***argv_out, int *argc_out)
{
    json_t *cmd = json_object_get(man, "command");
    size_t n = json_array_size(cmd);
    const char *sub = n > 1 ? json_string_value(json_array_get(cmd, 1)) : NULL;
    if (!sub || strcmp(sub, "replay"))
        return ss_error_set(EINVAL, "the manifest's command is not a `servesim replay`");
    char **argv = ss_calloc(n, sizeof(*argv));
    for (size_t i = 1; i < n; i++) argv[i - 1] = ss_strdup(json_string_value(json_array_get(cmd, i)));
    *argv_out = argv;
    *argc_out = (int)n - 1;
    return 0;
}

/* A relative trace path is tried from here, then from the replay's cwd. */
static void resolve_trace(ReplayArgs *a, json_t *rep, char *buf, size_t cap)
{
    if (!a->run.trace.path || a->run.trace.path[0] == '/' || !access(a->run.trace.path, R_OK)) return;
    const char *cwd = json_string_value(json_object_get(rep, "cwd"));
    if (!cwd) return;
    snprintf(buf, cap, "%s/%s", cwd, a->run.trace.path);
    a->run.trace.path = buf;
}

static int per_step(ValidateModel *vm, const StepRows *rows, const ReplayArgs *a)
{
    ModelSpec m;
    GpuSpec g;
    Backend *b = NULL;
    int r;
    if ((r = model_spec_load(&m, a->run.cfg.model)) || (r = gpu_spec_load(&g, a->run.cfg.gpu))) return r;
    BackendEnv env = { &m, &g, 1, NULL };
    if ((r = backend_create(&b, vm->cost, &env))) return r;
    vm->err = ss_malloc((rows->n + 1) * sizeof(*vm->err));
    vm->kind = ss_malloc((rows->n + 1) * sizeof(*vm->kind));
    for (size_t i = 0; i < rows->n; i++) {
        const StepRow *s = &rows->rows[i];
        if (s->measured_s <= 0) continue;
        double p = backend_step_time(b, &s->shape);
        vm->err[vm->n] = (p - s->measured_s) / s->measured_s;
        vm->kind[vm->n++] = s->kind;
    }
    backend_destroy(&b);
    return 0;
}

/* Simulate the replay's command with vm->cost; vm->sim gets the metrics. */
static int resimulate(ValidateModel *vm, const ReplayArgs *a, const char *want_sha)
{
    EngineConfig cfg = a->run.cfg;
    CliSource src = { 0 };
    Engine *e = NULL;
    snprintf(cfg.cost_spec, sizeof(cfg.cost_spec), "%s", vm->cost);
    cfg.stepwise = false;
    cfg.progress = false;
    int r = replay_args_open_source(a, &src);
    if (!r && src.path && want_sha && strcmp(src.sha256, want_sha))
        r = ss_error_set(EINVAL, "%s changed since the replay (sha256 differs)", src.path);
    if (!r) r = engine_create(&e, &cfg, NULL);
    if (!r) r = engine_run(e, &src.rows);
    if (!r) vm->sim = metrics_summary_json(engine_metrics(e));
    engine_destroy(&e);
    cli_source_close(&src);
    return r;
}

typedef struct ValidateArgs {
    const char *dir, *cost, *out, *measured;
    bool json, quiet;
} ValidateArgs;

static int parse_validate_args(int argc, char **argv, ValidateArgs *v)
{
    static const struct option long_opts[] = {
        { "cost", required_argument, 0, 'c' }, { "out", required_argument, 0, 'o' },
        { "json", no_argument, 0, 'j' }, { "quiet", no_argument, 0, 'q' },
        { "measured", required_argument, 0, 'm' }, { 0, 0, 0, 0 },
    };
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case 'c': v->cost = optarg; break;
        case 'o': v->out = optarg; break;
        case 'j': v->json = true; break;
        case 'q': v->quiet = true; break;
        case 'm': v->measured = optarg; break;
        default: return cli_fail("validate: unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_fail("validate: give exactly one replay directory");
    if (v->measured && v->cost)
        return cli_fail("validate: --cost re-simulates a replay; with --measured the simulation is DIR's own");
    v->dir = argv[optind];
    return 0;
}

static int validate_dir(const ValidateArgs *v, json_t *summary, ValidateReport *rep)
{
    json_t *man = json_object_get(summary, "manifest"), *replay = json_object_get(summary, "replay");
    if (!replay) return ss_error_set(EINVAL, "%s/summary.json: no \"replay\" section: not a replay's output", v->dir);
    ReplayArgs a;
    char trace_buf[4200];
    int r = command_argv(man, &rep->argv, &rep->argc);
    if (r) return r;
    if (replay_args_parse(rep->argc, rep->argv, &a, false))
        return ss_error_set(EINVAL, "%s: the recorded replay command does not parse", v->dir);
    resolve_trace(&a, replay, trace_buf, sizeof(trace_buf));
    if ((r = steps_csv_load(&rep->rows, v->dir))) return r;
    rep->measured = json_object_get(summary, "metrics");
    const char *sha = json_string_value(json_object_get(json_object_get(man, "input"), "sha256"));
    /* First the default cost model (measured where the GPU has tables),
     * then --cost when it names another. */
    rep->n_models = v->cost && strcmp(v->cost, "auto") ? 2 : 1;
    for (int i = 0; i < rep->n_models; i++) {
        ValidateModel *vm = &rep->models[i];
        vm->cost = i == 0 ? "auto" : v->cost;
        if ((r = per_step(vm, &rep->rows, &a)) || (r = resimulate(vm, &a, sha))) return r;
    }
    return 0;
}

/* --measured: a real vllm bench serve result against DIR's simulation. */
static int validate_measured(const ValidateArgs *v, json_t *summary, const char *path, ValidateReport *rep)
{
    json_t *metrics = json_object_get(summary, "metrics"), *man = json_object_get(summary, "manifest");
    if (json_object_get(summary, "replay"))
        return ss_error_set(EINVAL, "%s is a replay's output: --measured compares a `servesim run` output "
                            "with the real result (validate DIR alone checks a replay)", path);
    if (!json_is_object(metrics)) return ss_error_set(EINVAL, "%s: no \"metrics\" object: not a servesim summary", path);
    json_error_t jerr;
    json_t *j = json_load_file(v->measured, 0, &jerr);
    if (!j) return ss_error_set(EINVAL, "%s:%d: %s", v->measured, jerr.line, jerr.text);
    int r = vllm_result_looks_like(j) ? vllm_result_read(&rep->vllm, j, v->measured)
                                      : ss_error_set(EINVAL, "%s: not a vllm bench serve result (no \"completed\" "
                                                     "or \"request_throughput\")", v->measured);
    json_decref(j);
    if (r) return r;
    if (rep->vllm.simulated)
        return ss_error_set(EINVAL, "%s was written by `servesim run --result-format vllm`: a simulation, "
                            "not a measurement", v->measured);
    json_t *cost = json_object_get(man, "cost");
    rep->measured_file = v->measured;
    rep->measured = rep->vllm.metrics;
    rep->n_models = 1;
    rep->models[0].cost = json_is_string(cost) ? json_string_value(cost)
                          : json_string_value(json_object_get(cost, "name")) ? json_string_value(json_object_get(cost, "name"))
                                                                             : "simulated";
    rep->models[0].sim = json_incref(metrics);
    json_t *arrived = json_object_get(metrics, "arrived");
    if (rep->vllm.num_prompts >= 0 && json_is_integer(arrived) && json_integer_value(arrived) != rep->vllm.num_prompts)
        fprintf(stderr, "servesim: validate: warning: %s sent %lld requests (num_prompts) but %s simulated %lld: "
                "not the same workload\n", v->measured, rep->vllm.num_prompts, path,
                (long long)json_integer_value(arrived));
    return 0;
}

int cmd_validate(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { validate_usage(stdout); return 0; }
    ValidateArgs v = { 0 };
    cli_args_begin();
    int status = parse_validate_args(argc, argv, &v);
    if (status) return status;
    cli_args_end();
    char path[4200], out[4200];
    snprintf(path, sizeof(path), "%s/summary.json", v.dir);
    json_error_t jerr;
    json_t *summary = json_load_file(path, 0, &jerr);
    if (!summary) return cli_fail("%s:%d: %s", path, jerr.line, jerr.text);
    ValidateReport rep = { 0 };
    rep.dir = v.dir;
    if (v.measured ? validate_measured(&v, summary, path, &rep) : validate_dir(&v, summary, &rep))
        status = cli_fail_lib();
    if (!status) {
        json_t *j = validate_report_json(&rep);
        snprintf(out, sizeof(out), "%s", v.out ? v.out : "");
        if (!v.out) snprintf(out, sizeof(out), "%s/validation.json", v.dir);
        if (out_file_dump_json(out, j, JSON_INDENT(2) | JSON_REAL_PRECISION(6)))
            status = cli_fail_lib(); /* names the file and errno; nothing left under its name */
        if (v.json) json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        else if (!v.quiet) validate_report_print(stdout, &rep);
        json_decref(j);
    }
    validate_report_free(&rep);
    json_decref(summary);
    return status;
}
