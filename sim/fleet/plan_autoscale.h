/* plan_autoscale.h: `servesim plan --autoscale`: the cheapest setting of a
 * small grid of autoscalers (plan_autoscale.c says which) meeting the SLOs
 * over a diurnal day, beside the static mean-hour and peak-hour fleets. */
#ifndef SERVESIM_PLAN_AUTOSCALE_H
#define SERVESIM_PLAN_AUTOSCALE_H

#include "plan.h"

#define PLAN_AUTOSCALE_MAX_SETTINGS 16

/* The day every setting runs: the workload with its hour-of-day profile. */
typedef struct PlanAutoscaleDay {
    SimInput input;             /* the diurnal workload, day_s long */
    double day_s;               /* simulated seconds of the day (86400 = a real day) */
    double rate;                /* the day's mean, requests/s */
    double peak_rate;           /* the peak hour's, as the static peak-hour plan ran it */
    const double *hour_mult;    /* [24] rate multipliers, mean 1 */
} PlanAutoscaleDay;

typedef struct PlanAutoscaleSetting {
    char name[48];              /* "static-peak", "schedule", "target-util-0.45", "queue-8" */
    char spec[256];             /* the --autoscale spec */
    PlanEval eval;              /* R seeds over the day; the autoscale metrics are per day */
} PlanAutoscaleSetting;

typedef struct PlanAutoscale {
    PlanCandidate cand;
    int32_t n_mean, n_peak;     /* the static answers the grid derives from */
    int32_t counts[24];         /* the schedule's per-hour counts */
    double cold_start_s;
    PlanAutoscaleSetting settings[PLAN_AUTOSCALE_MAX_SETTINGS];
    int n_settings;             /* 0: no grid (no static answer; why says so) */
    int best;                   /* the cheapest passing setting; -1: none */
    bool seeds_identical;
    char why[512];              /* best < 0: which SLO the grid fails and how */
    int64_t sims;
    double wall_s;
} PlanAutoscale;

/* Build the grid from the kind's static answers (mean hour, peak hour) and
 * run each setting over the day.  0 (see best), or a negative errno when a
 * simulation failed (message set, also in out->why). */
int plan_autoscale_candidate(const PlanConfig *c, const PlanAutoscaleDay *day, const PlanAnswer *mean,
                             const PlanAnswer *peak, PlanAutoscale *out);
void plan_autoscale_print(FILE *f, const PlanAutoscale *p, const PlanSlo *slo);
/* run_args: the workload's `servesim run` options (the day); each setting's
 * run_args add --gpu, --tp and --autoscale (per seed: --seed S). */
json_t *plan_autoscale_json(const PlanAutoscale *p, const char *run_args);

#endif
