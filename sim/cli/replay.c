/* replay.c: `servesim replay`: the engine and the scheduler unchanged, every
 * iteration executed for real by the replay executor (replay/executor.h) on
 * the cpu reference kernels or the CUDA kernels, timed, and the clock
 * advanced by the measured durations (virtual clock). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "engine/engine.h"
#include "replay/executor.h"
#include "replay_args.h"
#include "results.h"

static void replay_usage(FILE *f)
{
    fprintf(f,
        "usage: servesim replay [--backend cpu|cuda] (--trace FILE | --workload default) --out DIR\n"
        "\n"
        "Runs the engine and the scheduler exactly as `servesim run` does, but every iteration\n"
        "of every step executes for real: a Llama-style decoder with random weights of the\n"
        "model's shape over a paged KV cache (the schedulers' allocator), each request\n"
        "generating exactly its trace output length.  Each iteration advances the clock by its\n"
        "measured duration.  Writes what `run` writes (summary.json with a \"replay\" section,\n"
        "requests.csv, timeseries.csv) plus steps.csv: one row per iteration with its shape,\n"
        "the measured seconds, the roofline's and (with --cost profile:file=F) the profile's.\n"
        "Then: servesim validate DIR; servesim calibrate DIR... --out PROFILE.\n"
        "\n"
        "  --backend cpu|cuda    cpu: reference kernels, fp32 (default); cuda: bf16 kernels\n"
        "  --clock virtual       measured durations advance the clock (default)\n"
        "  --clock wall          real time: arrivals released on schedule (open loop), and the\n"
        "                        engine's and scheduler's own time between steps counts\n"
        "  --model NAME|FILE     default tiny (cpu) or llama-2-7b (cuda); its dtype must be the\n"
        "                        backend's (fp32 cpu, bf16 cuda) so the scheduler's KV bytes\n"
        "                        per token are the cache's\n"
        "  --gpu NAME|FILE       memory budget and roofline: cpu-tiny (cpu) or h100-sxm (cuda)\n"
        "  --timer monotonic|thread  how an iteration is timed: CLOCK_MONOTONIC (default) or,\n"
        "                        cpu only, the thread's CPU time (steadier on a busy machine)\n"
        "  --cost SPEC           profile:file=F adds the profile's prediction to steps.csv\n"
        "  --trace, --workload, --requests (default 1000), --rate, --duration, --sched,\n"
        "  --predict, --gpu-mem-util, --block-size, --slo, --seed (weights, prompts and every\n"
        "  stream), --sample-interval, --out, --force, --no-requests-csv, --json, --quiet:\n"
        "                        as in `servesim run`\n"
        "%s", cli_trace_options_help());
}

/* The executor's cache must hold what the scheduler believes it has. */
static int executor_config(const ReplayArgs *a, ReplayConfig *rc, int64_t *sched_capacity)
{
    ModelSpec m;
    GpuSpec g;
    int r;
    if ((r = model_spec_load(&m, a->run.cfg.model)) || (r = gpu_spec_load(&g, a->run.cfg.gpu))) return r;
    if ((r = replay_backend_parse(a->backend, &rc->backend))) return r;
    if ((r = replay_shape_from_spec(&rc->shape, &m))) return r;
    rc->seed = a->run.cfg.seed;
    rc->thread_cpu_timer = !strcmp(a->timer, "thread");
    rc->block_size = a->run.cfg.kv_block_size;
    double budget = g.hbm_bytes * a->run.cfg.gpu_mem_util - m.weight_bytes;
    rc->capacity_tokens = replay_capacity_tokens(&rc->shape, rc->backend, rc->block_size, budget);
    *sched_capacity = cost_kv_capacity_tokens(&m, &g, a->run.cfg.gpu_mem_util, 1);
    /* paged schedulers use whole blocks of it */
    if (rc->capacity_tokens < *sched_capacity / rc->block_size * rc->block_size)
        return ss_error_set(EINVAL, "replay: the %s backend's KV cache holds %lld tokens (%zu bytes "
                            "per value) but the scheduler believes in %lld (model file %s: %d bytes "
                            "per value): give the model file the backend's dtype (fp32 cpu, bf16 cuda)",
                            a->backend, (long long)rc->capacity_tokens,
                            replay_backend_elem_bytes(rc->backend), (long long)*sched_capacity,
                            m.name, m.bytes_per_param);
    return 0;
}

/* The comparison backends for steps.csv: the roofline, and --cost if it is a profile. */
static int predictors_create(const ReplayArgs *a, Backend **roofline, Backend **profile)
{
    ModelSpec m;
    GpuSpec g;
    int r;
    if ((r = model_spec_load(&m, a->run.cfg.model)) || (r = gpu_spec_load(&g, a->run.cfg.gpu))) return r;
    BackendEnv env = { &m, &g, 1, NULL };
    if ((r = backend_create(roofline, "roofline", &env))) return r;
    if (!strncmp(a->run.cfg.cost_spec, "profile", 7)) return backend_create(profile, a->run.cfg.cost_spec, &env);
    return 0;
}

static json_t *replay_info_json(const ReplayArgs *a, const ReplayExecutor *x, double wall_s)
{
    json_t *o = replay_executor_stats_json(x);
    char cwd[4096];
    json_object_set_new(o, "clock", json_string(a->clock));
    json_object_set_new(o, "timer", json_string(a->timer));
    json_object_set_new(o, "wall_s", json_real(wall_s));
    if (getcwd(cwd, sizeof(cwd))) json_object_set_new(o, "cwd", json_string(cwd));
    return o;
}

typedef struct ReplayRun {
    ReplayArgs a;
    CliSource src;
    Engine *engine;
    ReplayExecutor *x;
    Backend *roofline, *profile;
    ResultsDir dir;
    bool dir_open;
    EngineOutputs outs;
    FILE *steps;
} ReplayRun;

static int replay_open(ReplayRun *R)
{
    ReplayConfig rc = { 0 };
    int64_t sched_capacity;
    if (replay_args_open_source(&R->a, &R->src) || executor_config(&R->a, &rc, &sched_capacity) ||
        predictors_create(&R->a, &R->roofline, &R->profile) ||
        engine_create(&R->engine, &R->a.run.cfg, NULL))
        return cli_fail_lib();
    if (results_dir_open(&R->dir, R->a.run.out_dir, R->a.run.force)) return cli_fail_lib();
    R->dir_open = true;
    if (!(R->steps = results_dir_create_file(&R->dir, "steps.csv"))) return cli_fail_lib();
    if (!R->a.run.no_requests_csv && !(R->outs.requests_csv = results_dir_create_file(&R->dir, "requests.csv")))
        return cli_fail_lib();
    if (R->a.run.cfg.sample_interval_s > 0 &&
        !(R->outs.timeseries_csv = results_dir_create_file(&R->dir, "timeseries.csv")))
        return cli_fail_lib();
    rc.steps_csv = R->steps;
    rc.roofline = R->roofline;
    rc.profile = R->profile;
    if (replay_executor_create(&R->x, &rc)) return cli_fail_lib();
    if (!R->a.run.quiet)
        fprintf(stderr, "servesim: replay on %s: %s, KV cache %lld tokens (scheduler: %lld), seed %llu\n",
                R->a.backend, R->a.run.cfg.model, (long long)rc.capacity_tokens,
                (long long)sched_capacity, (unsigned long long)R->a.run.cfg.seed);
    StepExecutor hook = replay_executor_hook(R->x);
    engine_set_executor(R->engine, &hook);
    engine_set_outputs(R->engine, &R->outs);
    return 0;
}

static int replay_finish(ReplayRun *R, int argc, char **argv, double wall_s)
{
    json_t *summary = results_summary_json(R->engine, &R->a.run.cfg, &R->src, argc, argv);
    json_object_set_new(summary, "replay", replay_info_json(&R->a, R->x, wall_s));
    int r = results_write_json(&R->dir, "summary.json", summary);
    if (!r && !R->a.run.quiet) {
        if (R->a.run.json) json_dumpf(summary, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        else results_print_table(stdout, summary);
        cli_source_report(&R->src, stderr);
        json_t *st = json_object_get(summary, "replay");
        fprintf(stderr, "servesim: %lld iterations measured, %.3f s of model time, %.1f s wall; "
                "results in %s/\n", (long long)json_integer_value(json_object_get(st, "iterations")),
                json_real_value(json_object_get(st, "measured_s")), wall_s, R->a.run.out_dir);
    }
    json_decref(summary);
    return r ? cli_fail_lib() : 0;
}

int cmd_replay(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { replay_usage(stdout); return 0; }
    ReplayRun R = { .dir = { .n_files = 0 } };
    int status = replay_args_parse(argc, argv, &R.a, true);
    if (status) return status;
    status = replay_open(&R);
    if (!status) {
        double wall0 = ss_wall_seconds();
        if (engine_run(R.engine, &R.src.rows)) {
            status = cli_fail_lib();
            fprintf(stderr, "servesim: replay abandoned; %s left without partial results\n", R.a.run.out_dir);
        } else {
            status = replay_finish(&R, argc, argv, ss_wall_seconds() - wall0);
        }
    }
    engine_destroy(&R.engine);
    replay_executor_destroy(&R.x);
    backend_destroy(&R.roofline);
    backend_destroy(&R.profile);
    /* The files were completed by results_write_json; on failure they go. */
    if (status && R.dir_open) results_dir_abandon(&R.dir);
    cli_source_close(&R.src);
    return status;
}
