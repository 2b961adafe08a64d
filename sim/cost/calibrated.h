/* calibrated.h: the calibrated roofline, for GPUs and shapes without tables.
 *
 * The op decomposition of opcost.h, each op max(compute, memory) (softened
 * where GEMMs cross over) plus a per-kernel floor, with efficiencies that
 * rise with the work's size.  Its parameters are dimensionless fractions,
 * half-saturation sizes and floors in seconds, fitted once to the measured
 * A100 and H100 tables (servesim cost fit) and the same for every GPU: a GPU
 * enters only through its datasheet figures (dense 16-bit FLOP/s, HBM
 * bandwidth, interconnect bandwidth, SM clock and SM count) in models/gpus/,
 * or, in a calibration fitted on measured bandwidths (stream_fraction > 0),
 * through its measured stream_bandwidth in place of the HBM bandwidth. */
#ifndef SERVESIM_CALIBRATED_H
#define SERVESIM_CALIBRATED_H

#include "cost/opcost.h"


enum { CAL_N_PARAMS = (int)(sizeof(CalParams) / sizeof(double)) };

/* The fitted defaults (docs/COST_MODEL.md: how they were fitted). */
extern const CalParams cal_params_default;


void cal_model_init(CalModel *c, const CalParams *p, const ModelSpec *m, const GpuSpec *g, int32_t tp);
extern const OpCostVtbl cal_vtbl;

/* A GPU as the calibrated roofline sees it: datasheet figures only, but for
 * a calibration with stream_fraction > 0, whose bandwidth is the GPU's
 * measured stream_bandwidth (docs/COST_MODEL.md, "One measured figure"). */
typedef struct CalHw {
    double flops, bw, link;    /* dense 16-bit FLOP/s, HBM bytes/s, one-way NVLink bytes/s */
    double clock, sms;         /* boost SM clock (Hz), streaming multiprocessors */
} CalHw;
CalHw cal_hw_of(const GpuSpec *g, const CalParams *p);

/* Single ops at any shape (the measured backend's fallbacks, the fit). */
double cal_clock_hz(const GpuSpec *g);
double cal_gemm_s(const CalParams *p, const CalHw *hw, double m, double n, double k, double bytes);
double cal_prefill_attn_s(const CalParams *p, const CalHw *hw, double batch, double isl, double heads,
                          double kv_heads, double head_dim, double bytes);
double cal_decode_attn_s(const CalParams *p, const CalHw *hw, double batch, double kv_len, double kv_heads,
                         double head_dim, double bytes);
double cal_allreduce_s(const CalParams *p, const CalHw *hw, double elems, double gpus, double bytes);
double cal_other_s(const CalParams *p, const CalHw *hw, const OpShapes *sh, double tokens);

/* A whole step, and pure-decode spans in closed form (linear in j). */
double cal_step_time(const CalModel *c, const StepShape *s, StepBreakdown *b);
double cal_decode_span_time(const CalModel *c, const StepShape *first, int64_t iters);
bool cal_decode_iter_linear(const CalModel *c, const StepShape *first, double *a, double *b);

/* Read / write "key = value" parameter files (cost fit's output). */
int cal_params_load(CalParams *p, const char *path);
int cal_params_write(const CalParams *p, FILE *f, const char *comment);
const char *cal_param_name(int i);

#endif
