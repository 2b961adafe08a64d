/* tests/kernels/check_ops.h: the per-op checks (check_ops.c) and the
 * benchmark (bench_ops.c); CUDA builds only. */
#ifndef SERVESIM_CHECK_OPS_H
#define SERVESIM_CHECK_OPS_H

#include "check_util.h"

/* Run the checks of every op (or only `only`); returns the failure count. */
int check_ops(KernCuda *ctx, CheckRng *rng, const char *only);
/* The CPU and CUDA model runners on the same seed and steps. */
int check_model(KernCuda *ctx, CheckRng *rng);
/* Time llama-2-7b shapes; prints a table; returns the failure count. */
int bench_ops(KernCuda *ctx, CheckRng *rng, const char *only, double hbm_gbs, double tflops);

/* Whole llama-2-7b steps through the CUDA model runner (bench_model.c). */
int bench_model(KernCuda *ctx, double hbm_gbs, double tflops);

#endif
