/* validate_report.h: `servesim validate`'s figures: per-step error
 * statistics and end-to-end comparisons, as a table and as JSON. */
#ifndef SERVESIM_VALIDATE_REPORT_H
#define SERVESIM_VALIDATE_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "cost/profile.h"
#include "fleet/vllm_result.h"
#include "steps_csv.h"

typedef struct ValidateModel {
    const char *cost;         /* cost spec */
    double *err;              /* per measured iteration: (predicted - measured) / measured */
    ProfileKind *kind;        /* its step kind */
    size_t n;
    json_t *sim;              /* metrics of the re-simulation (owned) */
} ValidateModel;

typedef struct ValidateReport {
    const char *dir;
    char **argv;              /* the replay's recorded command (owned) */
    int argc;
    StepRows rows;
    json_t *measured;         /* the replay's metrics (borrowed), or vllm.metrics */
    ValidateModel models[2];  /* roofline, then --cost; with --measured: DIR's own simulation */
    int n_models;
    /* --measured FILE: a real vllm bench serve result is the measured side,
     * DIR (a `servesim run` output) the simulated one; no per-step part. */
    const char *measured_file;
    VllmResult vllm;
} ValidateReport;

json_t *validate_report_json(const ValidateReport *r);
void validate_report_print(FILE *f, const ValidateReport *r);
void validate_report_free(ValidateReport *r);

#endif
