/* calibrated_fit.h: the calibrated roofline fitted to measured tables, and
 * the points it is fitted to (servesim cost fit, servesim cost check). */
#ifndef SERVESIM_CALIBRATED_FIT_H
#define SERVESIM_CALIBRATED_FIT_H

#include "cost/calibrated.h"
#include "cost/optable.h"

enum { CALP_GEMM, CALP_PREFILL, CALP_DECODE, CALP_OTHER, CALP_ALLREDUCE, CALP_GROUPS };

/* One measured op time: gemm (a, b, c) = (m, n, k); prefill (batch, isl,
 * heads, kv heads); decode (batch, kv_len, heads, kv heads); other (tokens)
 * with the model's shapes; all-reduce (elements, GPUs). */
typedef struct CalPoint {
    int group, gpu;
    const GpuSpec *g;
    double a, b, c, d;
    OpShapes sh;
    double s;                  /* measured seconds */
} CalPoint;

typedef struct CalPoints {
    int32_t n, cap;
    CalPoint *v;
} CalPoints;

void cal_points_add(CalPoints *pts, const MeasuredTables *t, const GpuSpec *g, int32_t gpu_index);
void cal_points_free(CalPoints *p);
double cal_point_predict(const CalParams *p, const CalPoint *x);

/* Fit every group on the points of GPU `gpu` (-1: all), from the defaults;
 * loss_out (optional) gets each group's mean |ln ratio|.  measured_bandwidth:
 * the memory terms use each GPU's stream_bandwidth (p->stream_fraction gets
 * the fit GPUs' mean measured fraction); -EINVAL when none has one. */
int cal_fit(CalParams *p, const CalPoints *pts, int gpu, bool measured_bandwidth, double loss_out[CALP_GROUPS]);
double cal_fit_group(CalParams *p, const CalPoints *pts, int group, int gpu);

#endif
