/* fit_report.h: fit a whole trace: collect rows, then fit arrival gaps (and
 * per-window rates and Gamma shapes) and token lengths, as JSON.
 *
 * Memory: one double per row (arrival times; the gaps and their fits need
 * them all) plus two length histograms (8 bytes per distinct token count up
 * to the largest).  Timestamps recorded at a coarse resolution (BurstGPT:
 * whole seconds) give zero and tied gaps that no continuous law can fit, so
 * by default arrivals that are all multiples of a resolution q are spread
 * uniformly within [t, t + q) before the gaps are taken ("dequantization",
 * drawn from the stream "fit.dequantize" of the seed). */
#ifndef SERVESIM_FIT_REPORT_H
#define SERVESIM_FIT_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "fit.h"
#include "trace.h"

typedef struct FitReportOpts {
    double window_s;       /* per-window rate and Gamma shape; 0 = none (seconds) */
    double dequantize_s;   /* < 0: detect the resolution (default); 0: off; > 0: this one */
    uint64_t seed;         /* of the dequantization jitter */
    int min_window_gaps;   /* fewer gaps than this: the window's shape is null (default 10) */
} FitReportOpts;

void fit_report_opts_default(FitReportOpts *o);

typedef struct FitReport FitReport;

int fit_report_create(FitReport **out);
/* Add one row (in arrival order, as readers return them). */
void fit_report_add(FitReport *r, const TraceRow *row);
/* Fit everything; the result is a JSON object (the "fits" part of the fit
 * file, see traces/README-synth.md) owned by the caller. */
int fit_report_run(FitReport *r, const FitReportOpts *o, json_t **out);
void fit_report_destroy(FitReport **r);

/* A short table of a fit JSON object (from fit_report_run) to f. */
void fit_report_print(FILE *f, json_t *fit);

#endif
