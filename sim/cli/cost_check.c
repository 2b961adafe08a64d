/* cost_check.c: `servesim cost check`: every cost model held against the
 * measured tables, per op group and per composed step (docs/COST_MODEL.md).
 *
 * Op groups: every measured point of every GPU's tables (today A100 and
 * H100: GEMM, prefill attention, decode attention, other per-layer ops,
 * all-reduce) beside the legacy roofline's op formula, the calibrated
 * roofline as shipped (fitted on A100 and H100), and the calibrated roofline
 * fitted on the other GPUs without the one predicted (leave-one-GPU-out: how
 * it transfers to a GPU nobody measured; with two GPUs, the other one); then the
 * same two fits with the memory terms on each GPU's measured stream
 * bandwidth instead of the datasheet's (one measured figure per GPU: what it
 * buys; not part of the targets, which ask for datasheet figures only).
 *
 * Composed steps: for each (GPU, model, tp) with a per-layer op table and a
 * natively measured decode heads layout, decode steps (B 1..256, context
 * 512..4096) and prefill steps (batch x length up to the op table's token
 * range) composed from the tables at grid points,
 *     L x (QKV + O + gate/up + down + attention + other ops + 2 all-reduces) + LM head,
 * against each model's step time less its host overhead (not in any
 * table).  `measured` there is nearly an identity (the backend interpolates
 * the same tables); `measured, held out` recomposes each step with every
 * op's grid point left out and interpolated from its two neighbours: the
 * error the tables' interpolation makes between grid points. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "cost/calibrated_fit.h"
#include "cost/cost.h"
#include "cost/opcost.h"

int cmd_cost_check(int argc, char **argv);

/* Every GPU with a table file in the directory (and a models/gpus/ file),
 * in name order; today a100-80g and h100-sxm. */
enum { MAX_GPUS = 8 };

typedef struct TableGpu { char name[64]; GpuSpec spec; } TableGpu;

static int name_cmp(const void *a, const void *b) { return strcmp(((const TableGpu *)a)->name, ((const TableGpu *)b)->name); }

/* The GPUs of the directory's <name>.txt files with a spec loaded, sorted by name. */
static int list_table_gpus(const char *dir, TableGpu gpus[MAX_GPUS], int *n)
{
    DIR *d = opendir(dir);
    if (!d) return ss_error_set(errno, "%s: %s", dir, strerror(errno));
    *n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || len - 4 >= sizeof(gpus[0].name) || strcmp(e->d_name + len - 4, ".txt")) continue;
        if (*n == MAX_GPUS) { closedir(d); return ss_error_set(EINVAL, "%s: more than %d GPUs' tables", dir, MAX_GPUS); }
        TableGpu *g = &gpus[*n];
        snprintf(g->name, sizeof(g->name), "%.*s", (int)(len - 4), e->d_name);
        if (gpu_spec_load(&g->spec, g->name)) { ss_error_clear(); continue; } /* not a GPU we have a spec of */
        (*n)++;
    }
    closedir(d);
    qsort(gpus, (size_t)*n, sizeof(gpus[0]), name_cmp);
    if (*n < 2) return ss_error_set(EINVAL, "%s: cost check needs two GPUs' tables (leave-one-GPU-out), found %d", dir, *n);
    return 0;
}

/* The points of every GPU but `gpu`, in their order: the leave-one-GPU-out fit's data. */
static void points_without(CalPoints *out, const CalPoints *all, int gpu)
{
    *out = (CalPoints){ 0 };
    for (int32_t i = 0; i < all->n; i++) {
        if (all->v[i].gpu == gpu) continue;
        SS_GROW(out->v, out->cap, (size_t)out->n + 1);
        out->v[out->n++] = all->v[i];
    }
}

typedef struct ErrSet { int32_t n, cap; double *e; } ErrSet;

static void err_add(ErrSet *s, double pred, double meas)
{
    if (!(meas > 0) || !isfinite(pred)) return;
    SS_GROW(s->e, s->cap, (size_t)s->n + 1);
    s->e[s->n++] = (pred - meas) / meas;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile_of(double *v, int32_t n, double q)
{
    qsort(v, (size_t)n, sizeof(double), dcmp);
    double pos = q * (n - 1);
    int32_t i = (int32_t)floor(pos);
    return i + 1 < n ? v[i] + (pos - i) * (v[i + 1] - v[i]) : v[i];
}

typedef struct ErrStats { int32_t n; double med_abs, p90_abs, med_signed; } ErrStats;

static ErrStats err_stats(const ErrSet *s)
{
    ErrStats r = { .n = s->n, .med_abs = NAN, .p90_abs = NAN, .med_signed = NAN };
    if (!s->n) return r;
    double *a = ss_malloc(sizeof(double) * (size_t)s->n);
    for (int32_t i = 0; i < s->n; i++) a[i] = fabs(s->e[i]);
    r.med_abs = quantile_of(a, s->n, 0.5);
    r.p90_abs = quantile_of(a, s->n, 0.9);
    memcpy(a, s->e, sizeof(double) * (size_t)s->n);
    r.med_signed = quantile_of(a, s->n, 0.5);
    free(a);
    return r;
}

/* ---- op groups ---- */

/* The legacy roofline's formula for one op (GpuSpec achievable fractions, no floors). */
static double legacy_point(const CalPoint *x)
{
    const GpuSpec *g = x->g;
    double F = g->flops_16bit * g->achievable_flops, B = g->hbm_bandwidth * g->achievable_bandwidth;
    switch (x->group) {
    case CALP_GEMM: return fmax(2 * x->a * x->b * x->c / F, 2 * x->b * x->c / B);
    case CALP_PREFILL: {
        double pairs = x->a * x->b * (x->b + 1) / 2;
        double kv = x->a * x->b * 2 * x->d * 128 * 2;
        return fmax(4 * x->c * 128 * pairs / F, kv / B);
    }
    case CALP_DECODE: {
        double pairs = x->a * (x->b + 1);
        return fmax(4 * x->c * 128 * pairs / F, pairs * 2 * x->d * 128 * 2 / B);
    }
    case CALP_ALLREDUCE:
        return 2 * (x->b - 1) / x->b * x->a * 2 / g->interconnect_bandwidth + g->interconnect_latency_s;
    default: return 0.0; /* norms, RoPE, activation, adds: not in the legacy formula */
    }
}

/* ---- composed steps ---- */

static int32_t axis_at(const double *a, int32_t n, double x)
{
    for (int32_t i = 0; i < n; i++)
        if (a[i] == x) return i;
    return -1;
}

/* v(i) on a 1-D axis, or with hold-out the line through its neighbours. */
static double at_or_held(const double *ax, const double *v, int32_t n, int32_t i, bool held, int32_t stride)
{
    if (i < 0) return NAN;
    if (!held) return v[(size_t)i * stride];
    if (i == 0 || i + 1 >= n) return NAN;   /* an edge point has one neighbour */
    double a = v[(size_t)(i - 1) * stride], b = v[(size_t)(i + 1) * stride];
    return a + (ax[i] - ax[i - 1]) / (ax[i + 1] - ax[i - 1]) * (b - a);
}

typedef struct Composer {
    const MeasuredTables *t;
    OpShapes sh;
    OpGrid gemm[GEMM_COUNT];
    bool ok;
    const AttnTable *prefill, *decode;
    const OpsTable *ops;
    const OpGrid *allreduce;
} Composer;

static bool composer_init(Composer *c, const MeasuredTables *t, const ModelSpec *m, int32_t tp,
                          const OpsTable *ops)
{
    *c = (Composer){ .t = t, .ops = ops };
    op_shapes_init(&c->sh, m, tp);
    c->ok = true;
    for (int i = 0; i < GEMM_COUNT; i++) c->ok &= measured_gemm_curve(t, c->sh.gemm_n[i], c->sh.gemm_k[i], &c->gemm[i]);
    c->prefill = measured_attn_find(t->prefill, t->n_prefill, c->sh.heads, c->sh.kv_heads);
    c->decode = measured_attn_find(t->decode, t->n_decode, c->sh.heads, c->sh.kv_heads);
    for (int32_t i = 0; tp > 1 && i < t->n_allreduce; i++)
        if (t->allreduce_gpus[i] == tp) c->allreduce = &t->allreduce[i];
    return c->ok && c->prefill && c->decode && (tp == 1 || c->allreduce);
}

static void composer_free(Composer *c)
{
    for (int i = 0; i < GEMM_COUNT; i++) opgrid_free(&c->gemm[i]);
}

static double attn_cell(const AttnTable *a, double x, double y, bool held)
{
    const OpGrid *g = &a->grid;
    int32_t ix = axis_at(g->x, g->nx, x), iy = axis_at(g->y, g->ny, y);
    if (ix < 0 || iy < 0) return NAN;
    if (g->filled && g->filled[(size_t)ix * g->ny + iy]) return NAN;
    return at_or_held(g->y, g->v + (size_t)ix * g->ny, g->ny, iy, held, 1);
}

static double gemm_at(const Composer *c, OpGemm g, double m, bool held)
{
    const OpGrid *cv = &c->gemm[g];
    return at_or_held(cv->x, cv->v, cv->nx, axis_at(cv->x, cv->nx, m), held, 1);
}

/* GPU seconds of a step from the tables (NaN where a point is missing). */
static double composed(const Composer *c, const StepShape *s, bool held)
{
    double T = (double)step_shape_tokens(s), R = (double)s->prefill_seqs + s->decode_seqs;
    double layer = 0;
    for (int g = GEMM_QKV; g <= GEMM_DOWN; g++) layer += gemm_at(c, (OpGemm)g, T, held);
    if (s->prefill_seqs)
        layer += attn_cell(c->prefill, s->prefill_seqs, (double)s->prefill_tokens / s->prefill_seqs, held);
    if (s->decode_seqs)
        layer += attn_cell(c->decode, s->decode_seqs, (double)s->decode_context / s->decode_seqs, held);
    const OpGrid *col = c->ops->col;
    int32_t it = axis_at(col[0].x, col[0].nx, T);
    double other = 0;
    static const int cols[] = { OPS_NORM_IN, OPS_NORM_POST, OPS_ROPE, OPS_ACT, OPS_ADD, OPS_ADD };
    for (size_t k = 0; k < SS_ARRAY_LEN(cols); k++)
        other += at_or_held(col[cols[k]].x, col[cols[k]].v, col[cols[k]].nx, it, held, 1);
    layer += other;
    if (c->sh.tp > 1) {
        const OpGrid *a = c->allreduce;
        layer += 2 * at_or_held(a->x, a->v, a->nx, axis_at(a->x, a->nx, T * c->sh.hidden), held, 1);
    }
    return c->sh.layers * layer + gemm_at(c, GEMM_LM_HEAD, R, held);
}

enum { REG_DEC_SMALL, REG_DEC_LARGE, REG_PRE_SMALL, REG_PRE_LARGE, N_REGIMES };
static const char *const regime_names[N_REGIMES] = {
    "decode B <= 8", "decode 16 <= B <= 256", "prefill <= 512 tok", "prefill > 512 tok",
};
enum { M_LEGACY, M_CAL, M_CAL_LOO, M_CALBW, M_CALBW_LOO, M_MEASURED, M_MEASURED_HELD, N_MODELS };
static const char *const model_names[N_MODELS] = {
    "legacy roofline", "calibrated", "calibrated, other GPU's fit", "calib. + stream bw", "calib. + stream bw, other's",
    "measured", "measured, held out",
};
/* The op-group rows: the first five models. */
enum { N_OP_MODELS = M_CALBW_LOO + 1 };

typedef struct Check {
    int n_gpus;
    TableGpu gpus[MAX_GPUS];       /* name and spec */
    MeasuredTables tabs[MAX_GPUS];
    CalParams fit_without[MAX_GPUS];    /* fitted on every other GPU (with two: the other one) */
    CalParams fit_bw, fit_bw_without[MAX_GPUS]; /* the same on measured stream bandwidths: all, all but one */
    ErrSet op[CALP_GROUPS][N_OP_MODELS];
    ErrSet step[N_REGIMES][N_MODELS];
    int32_t configs;
} Check;

static void check_config(Check *k, int gi, const ModelSpec *m, int32_t tp, const OpsTable *ops)
{
    Composer c;
    if (!composer_init(&c, &k->tabs[gi], m, tp, ops)) { composer_free(&c); return; }
    k->configs++;
    const GpuSpec *g = &k->gpus[gi].spec;
    Roofline legacy, cal, loo, calbw, calbw_loo;
    roofline_init_legacy(&legacy, m, g, tp);
    roofline_init_calibrated(&cal, m, g, tp, NULL);
    roofline_init_calibrated(&loo, m, g, tp, &k->fit_without[gi]);
    roofline_init_calibrated(&calbw, m, g, tp, &k->fit_bw);
    roofline_init_calibrated(&calbw_loo, m, g, tp, &k->fit_bw_without[gi]);
    BackendEnv env = { m, g, tp, NULL };
    Backend *measured = NULL;
    char spec[1400];
    snprintf(spec, sizeof(spec), "measured:step_overhead_s=0,tables=%s", k->tabs[gi].path);
    if (backend_create(&measured, spec, &env)) { composer_free(&c); return; }
    double max_tokens = ops->col[0].x[ops->col[0].nx - 1];
    static const double ctxs[] = { 512, 1024, 2048, 4096 };
    static const double batches[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256 };
    static const double isls[] = { 128, 256, 512, 1024, 2048, 4096, 8192 };
    for (int kind = 0; kind < 2; kind++)
        for (size_t bi = 0; bi < SS_ARRAY_LEN(batches); bi++)
            for (size_t j = 0; j < (kind ? SS_ARRAY_LEN(isls) : SS_ARRAY_LEN(ctxs)); j++) {
                StepShape s = { 0 };
                double B = batches[bi];
                int regime;
                if (kind == 0) {
                    s.decode_seqs = (int32_t)B;
                    s.decode_context = (int64_t)(B * ctxs[j]);
                    regime = B <= 8 ? REG_DEC_SMALL : REG_DEC_LARGE;
                } else {
                    double L = isls[j];
                    if (B > 8 || B * L > max_tokens) continue;
                    s.prefill_seqs = (int32_t)B;
                    s.prefill_tokens = (int64_t)(B * L);
                    s.prefill_attn_pairs = B * L * (L + 1) / 2;
                    regime = L <= 512 ? REG_PRE_SMALL : REG_PRE_LARGE;
                }
                double truth = composed(&c, &s, false);
                if (!isfinite(truth)) continue;
                err_add(&k->step[regime][M_LEGACY], roofline_step_time(&legacy, &s) - g->step_overhead_s, truth);
                err_add(&k->step[regime][M_CAL], roofline_step_time(&cal, &s) - g->step_overhead_s, truth);
                err_add(&k->step[regime][M_CAL_LOO], roofline_step_time(&loo, &s) - g->step_overhead_s, truth);
                err_add(&k->step[regime][M_CALBW], roofline_step_time(&calbw, &s) - g->step_overhead_s, truth);
                err_add(&k->step[regime][M_CALBW_LOO], roofline_step_time(&calbw_loo, &s) - g->step_overhead_s,
                        truth);
                err_add(&k->step[regime][M_MEASURED], backend_step_time(measured, &s), truth);
                err_add(&k->step[regime][M_MEASURED_HELD], composed(&c, &s, true), truth);
            }
    backend_destroy(&measured);
    composer_free(&c);
}

static void print_stats(FILE *f, const char *label, const char *model, ErrStats s)
{
    if (!s.n) { fprintf(f, "%-22s %-28s %6s\n", label, model, "-"); return; }
    fprintf(f, "%-22s %-28s %6d %9.1f %9.1f %+10.1f\n", label, model, s.n, 100 * s.med_abs,
            100 * s.p90_abs, 100 * s.med_signed);
}

static void check_usage(FILE *f)
{
    fprintf(f,
        "usage: servesim cost check [--tables DIR]   (--measured DIR: the same)\n"
        "\n"
        "Holds the legacy roofline, the calibrated roofline (as shipped, and fitted on the other\n"
        "GPUs without the one predicted) and the measured backend against every point of the\n"
        "measured tables of every GPU in DIR (DIR/<gpu>.txt for each models/gpus/<gpu>; default\n"
        "models/profiles/measured: A100 and H100; regenerate from the raw CSVs with\n"
        "scripts/import-measured --out DIR).  Prints median |error|, P90 |error|\n"
        "and signed median error (%%) per op group and per composed-step regime, and the targets.\n"
        "Exit status 0 when every target holds, 1 when one does not.\n");
}

int cmd_cost_check(int argc, char **argv)
{
    const char *dir = NULL;
    static const struct option long_opts[] = {
        { "tables", required_argument, NULL, 't' }, { "measured", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' }, { 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == 't') dir = optarg;
        else if (c == 'h') { check_usage(stdout); return 0; }
        else { cli_fail("cost check: unknown, incomplete or bad option '%s' (see --help)", argv[optind - 1]); return 2; }
    }
    if (optind < argc) { cli_fail("cost check: unexpected argument '%s'", argv[optind]); return 2; }
    Check *k = ss_calloc(1, sizeof(*k));
    CalPoints pts = { 0 };
    int r = 0;
    char default_dir[1200];
    if (!dir) measured_tables_dir(default_dir, sizeof(default_dir));
    if ((r = list_table_gpus(dir ? dir : default_dir, k->gpus, &k->n_gpus))) {
        r = cli_fail_lib();
        goto done;
    }
    for (int gi = 0; gi < k->n_gpus && !r; gi++) {
        char path[1400];
        snprintf(path, sizeof(path), "%s/%s.txt", dir ? dir : default_dir, k->gpus[gi].name);
        if ((r = measured_tables_load(&k->tabs[gi], path))) break;
        cal_points_add(&pts, &k->tabs[gi], &k->gpus[gi].spec, gi);
    }
    if (r) {
        r = cli_fail_lib();
        goto done;
    }
    for (int gi = 0; gi < k->n_gpus && !r; gi++) {
        CalPoints others;
        points_without(&others, &pts, gi);
        if (!(r = cal_fit(&k->fit_without[gi], &others, -1, false, NULL)))
            r = cal_fit(&k->fit_bw_without[gi], &others, -1, true, NULL);
        cal_points_free(&others);
    }
    if (r || (r = cal_fit(&k->fit_bw, &pts, -1, true, NULL))) {
        r = cli_fail_lib();
        goto done;
    }
    for (int32_t i = 0; i < pts.n; i++) {
        const CalPoint *p = &pts.v[i];
        if (p->group != CALP_OTHER) err_add(&k->op[p->group][M_LEGACY], legacy_point(p), p->s);
        err_add(&k->op[p->group][M_CAL], cal_point_predict(&cal_params_default, p), p->s);
        err_add(&k->op[p->group][M_CAL_LOO], cal_point_predict(&k->fit_without[p->gpu], p), p->s);
        err_add(&k->op[p->group][M_CALBW], cal_point_predict(&k->fit_bw, p), p->s);
        err_add(&k->op[p->group][M_CALBW_LOO], cal_point_predict(&k->fit_bw_without[p->gpu], p), p->s);
    }
    for (int gi = 0; gi < k->n_gpus; gi++)
        for (int32_t i = 0; i < k->tabs[gi].n_ops; i++) {
            const OpsTable *o = &k->tabs[gi].ops[i];
            ModelSpec m;
            if (model_spec_load(&m, o->model)) continue;
            check_config(k, gi, &m, o->tp, o);
        }
    FILE *f = stdout;
    static const char *const group_names[CALP_GROUPS] = {
        "GEMM", "prefill attention", "decode attention", "other ops", "all-reduce" };
    fprintf(f, "servesim cost check: tables %s/{", dir ? dir : "models/profiles/measured");
    for (int gi = 0; gi < k->n_gpus; gi++) fprintf(f, "%s%s", gi ? "," : "", k->gpus[gi].name);
    fprintf(f, "}.txt\n");
    fprintf(f, "error = (predicted - measured) / measured, %%\n\n");
    fprintf(f, "%-22s %-28s %6s %9s %9s %10s\n", "op group", "model", "points", "med|err|", "P90|err|", "signed med");
    bool pass = true, pass_bw = true;
    for (int g = 0; g < CALP_GROUPS; g++)
        for (int mdl = 0; mdl < N_OP_MODELS; mdl++) {
            ErrStats s = err_stats(&k->op[g][mdl]);
            print_stats(f, group_names[g], model_names[mdl], s);
            if ((mdl == M_CAL || mdl == M_CAL_LOO) && !(s.med_abs <= 0.10)) pass = false;
            if (mdl >= M_CALBW && !(s.med_abs <= 0.10)) pass_bw = false;
        }
    fprintf(f, "\ncomposed GPU step, %d (GPU, model, tp) configurations; host overhead excluded\n", k->configs);
    fprintf(f, "%-22s %-28s %6s %9s %9s %10s\n", "regime", "model", "steps", "med|err|", "P90|err|", "signed med");
    for (int rg = 0; rg < N_REGIMES; rg++)
        for (int mdl = 0; mdl < N_MODELS; mdl++) {
            ErrStats s = err_stats(&k->step[rg][mdl]);
            print_stats(f, regime_names[rg], model_names[mdl], s);
            if (mdl == M_MEASURED_HELD && !(s.med_abs <= 0.03 && s.p90_abs <= 0.08)) pass = false;
            if (mdl == M_CAL_LOO && !(s.med_abs <= 0.10 && s.p90_abs <= 0.20)) pass = false;
            if (mdl == M_CALBW_LOO && !(s.med_abs <= 0.10 && s.p90_abs <= 0.20)) pass_bw = false;
        }
    fprintf(f, "\ntargets: measured (held out) median <= 3 %%, P90 <= 8 %%; calibrated (other GPU's fit)\n"
               "median <= 10 %%, P90 <= 20 %%; each op group (calibrated, both fits) median <= 10 %%: %s\n",
            pass ? "met" : "NOT met");
    fprintf(f, "the same two calibrated targets with each GPU's measured stream bandwidth (models/gpus/\n"
               "stream_bandwidth; one measured figure, not datasheet only): %s\n", pass_bw ? "met" : "NOT met");
    r = pass ? 0 : 1;
done:
    for (int gi = 0; gi < k->n_gpus; gi++) measured_tables_free(&k->tabs[gi]);
    for (int g = 0; g < CALP_GROUPS; g++)
        for (int mdl = 0; mdl < N_OP_MODELS; mdl++) free(k->op[g][mdl].e);
    for (int rg = 0; rg < N_REGIMES; rg++)
        for (int mdl = 0; mdl < N_MODELS; mdl++) free(k->step[rg][mdl].e);
    cal_points_free(&pts);
    free(k);
    return r;
}
