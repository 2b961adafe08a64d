/* plan_disagg.h: `servesim plan --disagg`: the cheapest prefill:decode split
 * of one GPU kind meeting the SLOs, beside the colocated answer. */
#ifndef SERVESIM_PLAN_DISAGG_H
#define SERVESIM_PLAN_DISAGG_H

#include <stdio.h>

#include "plan.h"

enum { PLAN_DISAGG_MAX_SPLITS = 64 };

/* One prefill count: the fewest decode instances that pass, if any does up
 * to the search's bound. */
typedef struct PlanDisaggSplit {
    int32_t prefill;
    int32_t decode;              /* 0: none up to decode_bound passes */
    int32_t decode_bound;        /* the most decode instances tried */
    PlanEval eval;               /* at (prefill, decode); else at the bound (why it fails) */
    bool have_eval;
    int32_t evals;               /* sizes simulated for this prefill count */
} PlanDisaggSplit;

typedef struct PlanDisagg {
    PlanCandidate cand;          /* price resolved */
    bool found;
    int32_t prefill, decode;     /* the cheapest passing split */
    double cost_per_hour;        /* USD */
    PlanEval eval;               /* at the answer */
    int32_t colocated;           /* the colocated answer's instances; 0: none found */
    double colocated_cost_per_hour;
    PlanDisaggSplit splits[PLAN_DISAGG_MAX_SPLITS];
    int32_t n_splits;
    int64_t sims;
    int seeds_identical;         /* -1 unknown, 0, 1 (plan_eval_fleet) */
    char stop[160];              /* why the search over prefill counts ended */
} PlanDisagg;

/* For prefill counts p = 1, 2, ...: the fewest decode instances d that pass
 * (monotone search: more decode replicas never hurt under a load-aware
 * router), bounded by the previous count's answer (more prefill instances
 * never need more decode ones) and, for p = 1, by twice the colocated
 * answer (else max_instances).  Stops when p + 1 instances already cost the
 * best split found, or when a split needs a single decode instance (more
 * prefill cannot do better).  0, or a negative errno (message set) when a
 * simulation fails (e.g. a policy disaggregation refuses). */
int plan_disagg_candidate(const PlanConfig *c, const PlanAnswer *colocated, PlanDisagg *out);
void plan_disagg_print(FILE *f, const PlanDisagg *d, const PlanSlo *slo);
json_t *plan_disagg_json(const PlanDisagg *d);

#endif
