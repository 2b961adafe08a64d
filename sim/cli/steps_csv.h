/* steps_csv.h: reading a replay's steps.csv (one row per measured
 * iteration) for `servesim validate` and `servesim calibrate`. */
#ifndef SERVESIM_STEPS_CSV_H
#define SERVESIM_STEPS_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "cost/cost.h"
#include "cost/profile.h"

typedef struct StepRow {
    StepShape shape;
    ProfileKind kind;
    int64_t step, iter;
    int64_t padding_skipped;  /* padded slots the executor could not run */
    double measured_s;        /* seconds */
} StepRow;

typedef struct StepRows {
    StepRow *rows;
    size_t n, cap;
} StepRows;

/* Append DIR/steps.csv's rows.  0 or negative errno with a file:line message. */
int steps_csv_load(StepRows *out, const char *dir);
void steps_rows_free(StepRows *r);

#endif
