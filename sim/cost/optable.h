/* optable.h: measured per-GPU op tables (models/profiles/measured/<gpu>.txt)
 * and the interpolation every table look-up uses.
 *
 * Interpolation is piecewise linear on the measured grid, in each dimension
 * (bilinear on 2-D grids).  Why linear and not log-log: every kernel's time
 * is close to affine in its work between two grid points (a floor plus bytes
 * or FLOPs over a rate), so linear is exact for an affine segment, monotone
 * between monotone neighbours, exact at grid points, and its sums over
 * consecutive integers have a closed form (the decode-span sum).  Outside a
 * grid, below its first point the first value is used (a kernel's floor);
 * above its last point the last segment is extended (work keeps growing at the
 * edge's rate), and the look-up says it left the table. */
#ifndef SERVESIM_OPTABLE_H
#define SERVESIM_OPTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A rectangular grid v[ix * ny + iy] over ascending x[] and y[]; NaN marks
 * a point the source did not measure.  A 1-D table has ny = 1. */
typedef struct OpGrid {
    int32_t nx, ny;
    double *x, *y;
    double *v;      /* seconds */
    uint8_t *filled;  /* per cell: 1 when not measured but extrapolated at load (NULL: none) */
    int32_t n_filled;
} OpGrid;

/* Where value x falls on an ascending axis: segment [i, i+1] and weight w
 * (x = (1 - w) a[i] + w a[i+1]); w > 1 above the last point (extension),
 * w = 0 at or below the first.  Returns true when x lies outside [a0, an-1]. */
bool optable_locate(const double *a, int32_t n, double x, int32_t *i, double *w);
/* optable_locate for one axis through a direct index by x's binary
 * exponent: where the search's answer can start, then a step or two forward
 * (the measured axes are powers of two or close to them).  The same i and
 * the same bits of w; for look-ups at every step of every span. */
typedef struct OpAxisIndex { int16_t start[4096]; } OpAxisIndex;
/* a ascending, 2 <= n <= 32767. */
void opaxis_index_init(OpAxisIndex *ix, const double *a, int32_t n);
static inline void opaxis_locate(const OpAxisIndex *ix, const double *a, int32_t n, double x, int32_t *i,
                                 double *w)
{
    if (!(x > a[0] && x < a[n - 1])) { /* the edges (and NaN) as optable_locate has them */
        optable_locate(a, n, x, i, w);
        return;
    }
    uint64_t bits;
    memcpy(&bits, &x, sizeof(bits));
    int32_t lo = ix->start[bits >> 52];
    while (a[lo + 1] <= x) lo++;  /* stops before n - 1: x < a[n - 1] */
    *i = lo;
    *w = (x - a[lo]) / (a[lo + 1] - a[lo]);
}
/* Bilinear value at (x, y); *outside set when either leaves the grid or a
 * corner used was extrapolated at load (else untouched). */
double opgrid_eval(const OpGrid *g, double x, double y, bool *outside);
void opgrid_free(OpGrid *g);
/* A deep copy (axes, values, fill marks). */
void opgrid_copy(OpGrid *dst, const OpGrid *src);

/* Attention tables per (heads, kv heads) per GPU of one layer. */
typedef struct AttnTable {
    int32_t heads, kv_heads;
    OpGrid grid;    /* x = batch, y = isl (prefill) or kv_len (decode) */
} AttnTable;

/* Vidur's per-layer ops of one (model, tp) by token count. */
enum { OPS_NORM_IN, OPS_NORM_POST, OPS_ROPE, OPS_ACT, OPS_ADD,
       OPS_QKV, OPS_O, OPS_UP, OPS_DOWN, OPS_COLUMNS };
typedef struct OpsTable {
    char model[64];
    int32_t tp;
    OpGrid col[OPS_COLUMNS];   /* 1-D over tokens, seconds */
} OpsTable;

typedef struct MeasuredTables {
    char gpu[64];
    char path[1024];
    /* GEMM: t[im][in][ik] over m[], n[], k[]. */
    int32_t gm, gn, gk;
    double *gemm_m, *gemm_n, *gemm_k, *gemm_s;
    int32_t n_prefill, n_decode, n_ops;
    AttnTable *prefill, *decode;
    OpsTable *ops;
    int32_t n_allreduce;
    int32_t *allreduce_gpus;
    OpGrid *allreduce;         /* 1-D over message elements, seconds */
} MeasuredTables;

/* Load <models dir>/profiles/measured/<gpu>.txt (or a path).  Returns 0,
 * -ENOENT when that GPU has no tables (no message set beyond the path), or
 * a negative errno with a file:line: field message. */
int measured_tables_load(MeasuredTables *t, const char *gpu_or_path);
void measured_tables_free(MeasuredTables *t);

/* What one (model, tp) reads of a table file: GEMMs at these n and k (their
 * grid brackets are loaded), the per-layer ops of this model and tp.
 * Loading only that skips most of the file's rows (start-up time). */
typedef struct MeasuredNeed {
    double n[8], k[8];
    int32_t n_n, n_k;
    char model[64];
    int32_t tp;
    int32_t heads, kv_heads;   /* per GPU: attention rows of this layout or one it folds to */
} MeasuredNeed;
/* The tables of a GPU or path for one need, loaded once per process per
 * (path, need) and shared read-only by every instance and thread; never
 * freed.  They hold the needed GEMM, attention, per-layer op rows and every
 * all-reduce row. */
int measured_tables_shared_for(const MeasuredTables **out, const char *gpu_or_path, const MeasuredNeed *need);
/* The tables' file for a GPU name, for messages: "<dir>/profiles/measured/<gpu>.txt";
 * and their directory, "<dir>/profiles/measured". */
void measured_tables_path(const char *gpu, char *out, size_t cap);
void measured_tables_dir(char *out, size_t cap);

/* A GEMM's time over m for one (n, k): bilinear in (n, k) on the grid at
 * each measured m.  Returns false when (n, k) lies outside the measured
 * n / k range or a needed point is missing. */
bool measured_gemm_curve(const MeasuredTables *t, double n, double k, OpGrid *curve_out);

const AttnTable *measured_attn_find(const AttnTable *a, int32_t n, int32_t heads, int32_t kv_heads);
/* A table for (heads, kv_heads) by folding: the same heads per KV head on
 * fewer KV heads, the batch scaled by kv_heads / its kv_heads (the kernels'
 * grid is batch x KV heads, each block independent).  *batch_factor set.
 * NULL when none fits. */
const AttnTable *measured_attn_fold(const AttnTable *a, int32_t n, int32_t heads, int32_t kv_heads,
                                    double *batch_factor);

#endif
