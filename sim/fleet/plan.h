/* plan.h: capacity planning: the smallest fleet of one GPU kind that meets
 * every SLO, searched by exponential growth then bisection on the instance
 * count (the SLO metrics are monotone in it: more replicas never slow a
 * request down under a load-balancing router), R seeds per size run on
 * threads, with t-intervals over the seeds. */
#ifndef SERVESIM_PLAN_H
#define SERVESIM_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/engine.h"
#include "sweep.h"

/* The figures judged against the SLOs, per run.  From PLAN_USD_PER_DAY on
 * they come from an autoscaled run's accounting (run.autoscale; NAN for a
 * fixed fleet, and left out of its JSON). */
enum { PLAN_P99_TTFT, PLAN_P99_TPOT, PLAN_GOODPUT_SHARE, PLAN_FAILURE_SHARE,
       PLAN_THROUGHPUT, PLAN_MEAN_TTFT,
       PLAN_USD_PER_DAY, PLAN_GPU_HOURS_PER_DAY, PLAN_SLO_ATTAINMENT, PLAN_WORST_HOUR_ATTAINMENT,
       PLAN_PEAK_INSTANCES, PLAN_N_METRICS };
#define PLAN_FIRST_AUTOSCALE_METRIC PLAN_USD_PER_DAY

typedef struct PlanSlo {
    double p99_ttft_s;          /* <= 0: not judged */
    double p99_tpot_s;          /* <= 0: not judged */
    double min_goodput_share;   /* of arrived requests meeting ttft and tpot; 0: not judged */
    double max_failure_share;   /* failed + rejected over arrived; < 0: not judged */
    double min_hour_attainment; /* --autoscale: every hour's share of requests within ttft and
                                   tpot (run.autoscale.per_hour), at least; 0: not judged */
    double confidence;          /* 0: every seed must pass; else one-sided level of the t-bound */
} PlanSlo;

typedef struct PlanCandidate {
    char gpu[64];               /* GPU spec name or path */
    int32_t tp;                 /* GPUs per instance */
    double price_per_hour;      /* USD per GPU-hour; < 0: the GPU file's */
} PlanCandidate;

typedef struct PlanConfig {
    EngineConfig base;          /* model, sched, router, predict, cost...; fleet is set per size */
    SimInput input;
    PlanSlo slo;
    int32_t seeds;              /* R */
    uint64_t first_seed;        /* seeds first_seed .. first_seed + R - 1 */
    int threads;                /* <= 0: one per core */
    int32_t max_instances;
    /* --autoscale runs: run.autoscale's USD and GPU-hours are scaled by this
     * to a 24-hour day (86400 / the simulated day's seconds); 0: fixed fleets. */
    double per_day_scale;
} PlanConfig;

/* One size, R seeds. */
typedef struct PlanEval {
    int32_t instances;
    bool pass;
    int32_t seeds_run;           /* R, or 1 when the seeds gave identical results */
    int32_t seeds_passed;
    uint32_t failing;            /* bit k: SLO metric k failed the criterion */
    double mean[PLAN_N_METRICS];
    /* 95 % interval, inside the quantity's range (plan.c): log scale for
     * latencies and throughput, Wilson for shares; NAN for one seed. */
    double lo[PLAN_N_METRICS], hi[PLAN_N_METRICS];
    double judged[PLAN_N_METRICS]; /* what met or failed the SLO: the bound, or the worst seed */
    double unservable_share;     /* of arrived: prompts over the context or KV, or empty */
    int64_t unservable;          /* per seed (mean, rounded) */
} PlanEval;

typedef struct PlanAnswer {
    PlanCandidate cand;
    bool found;
    int32_t instances;          /* the smallest passing size */
    double cost_per_hour;       /* USD: instances x tp x price */
    PlanEval evals[64];         /* every size simulated, in search order */
    int32_t n_evals;
    int64_t sims;               /* simulations run */
    double wall_s;
    bool seeds_identical;       /* two seeds gave the same result: one seed per size */
    char why[512];              /* !found: which SLO failed, how, and why the search stopped */
    char error[512];            /* when a simulation failed (e.g. the model does not fit) */
} PlanAnswer;

/* Generic monotone search: smallest n in [1, max_n] with pass(n), by doubling
 * from 1 then bisection.  pass returns 1, 0, or a negative errno.  Returns the
 * answer, 0 when none up to max_n passes, or a negative errno. */
typedef int (*PlanPassFn)(void *ctx, int32_t n);
int32_t plan_search_monotone(int32_t max_n, PlanPassFn pass, void *ctx);

/* Run R seeds of one fleet ("3xh100-sxm:tp=1,2xa100-80g:tp=1") and judge it:
 * 1 pass, 0 fail, or a negative errno.  `instances` is recorded in *ev.
 * With *seeds_identical unknown (< 0) two seeds run first: when their
 * results are equal the set-up is deterministic (a trace, no random
 * plug-in), *seeds_identical becomes 1 and one seed stands for all (no
 * interval); else 0 and the other R - 2 run. */
int plan_eval_fleet(const PlanConfig *c, const char *fleet, int32_t instances, PlanEval *ev,
                    int64_t *sims, int *seeds_identical);
/* "p99_ttft_s 3.1 > 2; failure_share 0.02 > 0.01" for the metrics `ev` fails. */
void plan_eval_failing(const PlanEval *ev, const PlanSlo *slo, char *buf, size_t cap);

/* The cheapest fleet mixing two kinds (plan_mix.c). */
typedef struct PlanMix {
    PlanCandidate a, b;         /* prices resolved */
    bool found;                 /* a mix cheaper than either pure answer */
    int32_t n_a, n_b;           /* instances of each */
    double cost_per_hour;       /* USD */
    PlanEval eval;              /* at the answer */
    int seeds_identical;        /* -1 unknown, 0, 1 (see plan_eval_fleet) */
    int32_t mixes_tried;        /* counts of a tried */
    int64_t sims;
} PlanMix;

/* Given both kinds' homogeneous answers, for each count of `a` below its
 * answer the fewest `b` that pass (monotone search up to b's answer),
 * skipping counts whose `a` part alone costs more than the best so far. */
int plan_mix_pair(const PlanConfig *c, const PlanAnswer *a, const PlanAnswer *b, PlanMix *out);
json_t *plan_mix_json(const PlanMix *m);

/* The planner for one candidate.  0 (see found), or a negative errno for a
 * configuration error (message set; also copied to out->error). */
int plan_candidate(const PlanConfig *c, const PlanCandidate *cand, PlanAnswer *out);
const PlanEval *plan_answer_eval(const PlanAnswer *a, int32_t instances);

json_t *plan_slo_json(const PlanSlo *s);
json_t *plan_answer_json(const PlanAnswer *a);
/* One evaluation: size, cost per hour, pass, failing metrics, means, intervals. */
json_t *plan_eval_json(const PlanCandidate *cand, const PlanEval *ev);
/* The table of one scenario's answers, in `order` (plan_report.c). */
void plan_print_answers(FILE *f, const char *title, const PlanAnswer *ans, const int *order, int n,
                        const PlanSlo *slo);
/* "mean [lo, hi]" of metric k, "mean<one_seed>" without an interval, "-" when missing. */
void plan_format_interval(char *buf, size_t cap, const PlanEval *ev, int k, const char *one_seed);
/* Metric names for tables and JSON. */
const char *plan_metric_name(int k);

#endif
