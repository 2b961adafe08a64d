/* sweep.h: many independent simulations: one-run helper, a thread pool,
 * and `servesim sweep` specs (the cartesian product of options x seeds).
 *
 * Each Engine is independent (the engine's only process-wide state is the
 * histogram's pthread_once table; errors are thread-local), so runs go to
 * threads without locks.  Runs write no per-request files (outputs NULL)
 * and are deterministic for their seed, so a sweep's CSV is byte-identical
 * whatever the number of threads or MPI ranks: rows are written in spec
 * order, never in completion order. */
#ifndef SERVESIM_SWEEP_H
#define SERVESIM_SWEEP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "synth.h"
#include "trace.h"

/* Where a run's requests come from: a trace file (re-read per run) or a
 * synthetic workload seeded with the run's seed. */
typedef struct SimInput {
    const char *trace_path;      /* NULL: the synthetic workload */
    TraceOpenOpts trace_opts;
    const SynthParams *synth;    /* when trace_path is NULL */
} SimInput;

/* What the planner and the sweep read from one run. */
typedef struct SimOutcome {
    json_t *metrics;             /* metrics_summary_json (owned) */
    int64_t arrived, good, failed; /* failed: failed + rejected */
    int64_t completed;
    /* Rejected for a prompt over the context (or --max-prompt-tokens) or
     * the KV cache, or empty: no number of instances of this kind serves
     * them (too_long + empty_prompt). */
    int64_t unservable;
    double arrival_span_s;       /* first to last arrival: the offered time */
    double wall_s;
    json_t *autoscale;           /* --autoscale: run.autoscale (owned); NULL for a fixed fleet */
} SimOutcome;

/* One simulation of `in` under `cfg` (cfg->seed seeds the workload too),
 * no files written.  0 or negative errno (message set). */
int sim_run_once(const EngineConfig *cfg, const SimInput *in, SimOutcome *out);
void sim_outcome_clear(SimOutcome *o);
/* A metric of the summary as a double; NAN when absent or null. */
double sim_metric(const SimOutcome *o, const char *key);

/* Run fn(ctx, i) for i in [0, n) on `threads` threads (<= 0: one per core).
 * Indices are handed out in order; the first failure stops new work.
 * 0 or the first negative errno, whose message is copied to this thread. */
typedef int (*ParallelFn)(void *ctx, int64_t i);
int parallel_for(int64_t n, int threads, ParallelFn fn, void *ctx);
int parallel_default_threads(void);

/* ---- sweep specs ---- */

/* Axes, in product order (the last varies fastest). */
enum { SWEEP_MODEL, SWEEP_GPU, SWEEP_FLEET, SWEEP_ROUTER, SWEEP_SCHED, SWEEP_PREDICT,
       SWEEP_COST, SWEEP_RATE, SWEEP_SPEEDUP, SWEEP_SEED, SWEEP_N_AXES };

typedef struct SweepSpec {
    json_t *axis[SWEEP_N_AXES];  /* each an array of strings or numbers (owned) */
    char trace[1024];            /* "" for the workload */
    char workload[160];          /* the workload's spec, NAME[:k=v,...] (synth_presets); "default" */
    int64_t requests;            /* per run (workload) */
    double duration_s;           /* per run instead of requests (workload), simulated seconds */
    SloSpec slo;
    int64_t n_runs;              /* product of the axis lengths */
} SweepSpec;

/* Parse a spec (see docs/PLANNING.md); 0 or -EINVAL naming the field. */
int sweep_spec_load(SweepSpec *s, const char *path);
void sweep_spec_free(SweepSpec *s);
/* The CSV header line (with '\n'). */
const char *sweep_csv_header(void);
/* Run `index` of the product and format its CSV row (malloc'd, with '\n'). */
int sweep_run_row(const SweepSpec *s, int64_t index, char **row);

#endif
