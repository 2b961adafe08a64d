/* calibrated_fit.c: fitting the calibrated roofline to measured op tables.
 *
 * Each op group's parameters are fitted on its own table points (every GPU
 * given), minimising the mean |ln(predicted / measured)|: an L1 loss on the
 * log ratio, so a relative error counts the same on a 5 us kernel and a 50 ms
 * one, and a bad point pulls no harder than a good one (robust).  Nelder-Mead
 * (GSL nmsimplex2) on the logarithms of the parameters keeps them positive.
 * The GPU enters each prediction only through its datasheet figures, and
 * in a --bandwidth measured fit through its measured stream_bandwidth. */
#include "cost/calibrated_fit.h"

#include <errno.h>
#include <gsl/gsl_multimin.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

void cal_points_free(CalPoints *p)
{
    free(p->v);
    *p = (CalPoints){ 0 };
}

static void push(CalPoints *p, CalPoint x)
{
    SS_GROW(p->v, p->cap, (size_t)p->n + 1);
    p->v[p->n++] = x;
}

/* Every measured (not extrapolated) table point of one GPU. */
void cal_points_add(CalPoints *pts, const MeasuredTables *t, const GpuSpec *g, int32_t gpu_index)
{
    for (int32_t im = 0; im < t->gm; im++)
        for (int32_t in = 0; in < t->gn; in++)
            for (int32_t ik = 0; ik < t->gk; ik++) {
                double s = t->gemm_s[((size_t)im * t->gn + in) * t->gk + ik];
                if (isnan(s)) continue;
                push(pts, (CalPoint){ .group = CALP_GEMM, .gpu = gpu_index, .g = g, .s = s,
                                      .a = t->gemm_m[im], .b = t->gemm_n[in], .c = t->gemm_k[ik] });
            }
    for (int pass = 0; pass < 2; pass++) {
        const AttnTable *tabs = pass ? t->decode : t->prefill;
        int32_t n = pass ? t->n_decode : t->n_prefill;
        for (int32_t i = 0; i < n; i++) {
            const OpGrid *gr = &tabs[i].grid;
            for (int32_t x = 0; x < gr->nx; x++)
                for (int32_t y = 0; y < gr->ny; y++) {
                    size_t cell = (size_t)x * gr->ny + y;
                    if (isnan(gr->v[cell]) || (gr->filled && gr->filled[cell])) continue;
                    push(pts, (CalPoint){ .group = pass ? CALP_DECODE : CALP_PREFILL, .gpu = gpu_index,
                                          .g = g, .s = gr->v[cell], .a = gr->x[x], .b = gr->y[y],
                                          .c = tabs[i].heads, .d = tabs[i].kv_heads });
                }
        }
    }
    for (int32_t i = 0; i < t->n_allreduce; i++) {
        const OpGrid *gr = &t->allreduce[i];
        for (int32_t x = 0; x < gr->nx; x++)
            push(pts, (CalPoint){ .group = CALP_ALLREDUCE, .gpu = gpu_index, .g = g, .s = gr->v[x],
                                  .a = gr->x[x], .b = t->allreduce_gpus[i] });
    }
    for (int32_t i = 0; i < t->n_ops; i++) {
        const OpsTable *o = &t->ops[i];
        ModelSpec m;
        if (model_spec_load(&m, o->model)) continue; /* a model we do not ship */
        CalPoint base = { .group = CALP_OTHER, .gpu = gpu_index, .g = g };
        op_shapes_init(&base.sh, &m, o->tp);
        for (int32_t x = 0; x < o->col[0].nx; x++) {
            CalPoint p = base;
            p.a = o->col[0].x[x];
            p.s = o->col[OPS_NORM_IN].v[x] + o->col[OPS_NORM_POST].v[x] + o->col[OPS_ROPE].v[x] +
                  o->col[OPS_ACT].v[x] + 2.0 * o->col[OPS_ADD].v[x];
            push(pts, p);
        }
    }
}

double cal_point_predict(const CalParams *p, const CalPoint *x)
{
    CalHw hw = cal_hw_of(x->g, p);
    switch (x->group) {
    case CALP_GEMM: return cal_gemm_s(p, &hw, x->a, x->b, x->c, 2);
    case CALP_PREFILL: return cal_prefill_attn_s(p, &hw, x->a, x->b, x->c, x->d, 128, 2);
    case CALP_DECODE: return cal_decode_attn_s(p, &hw, x->a, x->b, x->d, 128, 2);
    case CALP_ALLREDUCE: return cal_allreduce_s(p, &hw, x->a, x->b, 2);
    case CALP_OTHER: return cal_other_s(p, &hw, &x->sh, x->a);
    default: SS_ASSERT(0 && "unknown point group");
    }
    return 0;
}

/* The parameters each group owns, as indices into CalParams. */
#define CAL_IDX(field) ((int)(offsetof(CalParams, field) / sizeof(double)))
static const int group_params[CALP_GROUPS][6] = {
    /* gemm_sharpness is fixed at 4 */
    [CALP_GEMM] = { CAL_IDX(gemm_floor_cycles), CAL_IDX(gemm_flop_eff), CAL_IDX(gemm_m_half), CAL_IDX(gemm_bw_eff), -1 },
    [CALP_PREFILL] = { CAL_IDX(pa_floor_s), CAL_IDX(pa_flop_eff), CAL_IDX(pa_block_cycles), CAL_IDX(pa_bw_eff), -1 },
    [CALP_DECODE] = { CAL_IDX(da_floor_cycles), CAL_IDX(da_bw_eff), CAL_IDX(da_seq_bytes), CAL_IDX(da_block_bpc), -1 },
    [CALP_OTHER] = { CAL_IDX(op_floor_cycles), CAL_IDX(op_bw_eff), CAL_IDX(op_cycles_per_elem), CAL_IDX(op_rows_per_sm), -1 },
    [CALP_ALLREDUCE] = { CAL_IDX(ar_floor_s), CAL_IDX(ar_bw_eff), CAL_IDX(ar_gpu_s), -1 },
};
#undef CAL_IDX

typedef struct FitCtx {
    const CalPoints *pts;
    int group, gpu;            /* gpu < 0: every GPU */
    CalParams p;
    const int *idx;
    int n;
} FitCtx;

static double fit_loss(const gsl_vector *x, void *vctx)
{
    FitCtx *c = vctx;
    double *v = (double *)&c->p;
    for (int i = 0; i < c->n; i++) v[c->idx[i]] = exp(gsl_vector_get(x, (size_t)i));
    double sum = 0;
    int64_t cnt = 0;
    for (int32_t i = 0; i < c->pts->n; i++) {
        const CalPoint *pt = &c->pts->v[i];
        if (pt->group != c->group || (c->gpu >= 0 && pt->gpu != c->gpu)) continue;
        double pred = cal_point_predict(&c->p, pt);
        sum += fabs(log(pred / pt->s));
        cnt++;
    }
    return cnt ? sum / (double)cnt : 0.0;
}

double cal_fit_group(CalParams *p, const CalPoints *pts, int group, int gpu)
{
    FitCtx c = { .pts = pts, .group = group, .gpu = gpu, .p = *p, .idx = group_params[group] };
    while (c.n < 6 && c.idx[c.n] >= 0) c.n++;
    gsl_vector *x = gsl_vector_alloc((size_t)c.n), *step = gsl_vector_alloc((size_t)c.n);
    const double *v = (const double *)p;
    for (int i = 0; i < c.n; i++) {
        gsl_vector_set(x, (size_t)i, log(v[c.idx[i]]));
        gsl_vector_set(step, (size_t)i, 0.5);
    }
    gsl_multimin_function f = { .f = fit_loss, .n = (size_t)c.n, .params = &c };
    double best = INFINITY;
    /* Restarts from the best point: Nelder-Mead stalls on an L1 loss's kinks. */
    for (int restart = 0; restart < 4; restart++) {
        gsl_multimin_fminimizer *m = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, (size_t)c.n);
        gsl_multimin_fminimizer_set(m, &f, x, step);
        for (int it = 0; it < 3000; it++) {
            if (gsl_multimin_fminimizer_iterate(m)) break;
            if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(m), 1e-6) == GSL_SUCCESS) break;
        }
        gsl_vector_memcpy(x, gsl_multimin_fminimizer_x(m));
        best = gsl_multimin_fminimizer_minimum(m);
        gsl_multimin_fminimizer_free(m);
        gsl_vector_set_all(step, 0.2);
    }
    double *out = (double *)p;
    for (int i = 0; i < c.n; i++) out[c.idx[i]] = exp(gsl_vector_get(x, (size_t)i));
    gsl_vector_free(x);
    gsl_vector_free(step);
    return best;
}

/* The mean measured fraction stream_bandwidth / hbm_bandwidth of the fit's
 * GPUs (each counted once), 0 when none has a stream_bandwidth. */
static double mean_stream_fraction(const CalPoints *pts, int gpu)
{
    const GpuSpec *seen[16];
    int n_seen = 0;
    double sum = 0;
    int n = 0;
    for (int32_t i = 0; i < pts->n; i++) {
        const GpuSpec *g = pts->v[i].g;
        if (gpu >= 0 && pts->v[i].gpu != gpu) continue;
        bool dup = false;
        for (int j = 0; j < n_seen; j++) dup |= seen[j] == g;
        if (dup || n_seen == (int)SS_ARRAY_LEN(seen)) continue;
        seen[n_seen++] = g;
        if (g->stream_bandwidth > 0) sum += g->stream_bandwidth / g->hbm_bandwidth, n++;
    }
    return n ? sum / n : 0.0;
}

int cal_fit(CalParams *p, const CalPoints *pts, int gpu, bool measured_bandwidth, double loss_out[CALP_GROUPS])
{
    *p = cal_params_default;
    if (measured_bandwidth) {
        p->stream_fraction = mean_stream_fraction(pts, gpu);
        if (!(p->stream_fraction > 0))
            return ss_error_set(EINVAL, "cost fit --bandwidth measured: no GPU of the fit has a stream_bandwidth "
                                        "in its models/gpus/ file");
    }
    for (int g = 0; g < CALP_GROUPS; g++) {
        double l = cal_fit_group(p, pts, g, gpu);
        if (loss_out) loss_out[g] = l;
    }
    return 0;
}
