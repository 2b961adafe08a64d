/* fit_report.c: rows -> arrival and length fits -> JSON (fit_report.h). */
#include "fit_report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "common.h"
#include "engine/rng.h"
#include "synth.h"

#define FIT_HIST_LIMIT (1u << 24) /* tokens; longer lengths are clamped and counted */
#define FIT_MAX_MIX 64

typedef struct LenHist {
    int64_t *count;
    size_t cap;          /* entries allocated: count[0..cap-1] */
    size_t kmax;         /* largest k seen */
    int64_t n, zeros, clamped;
    double sum;
} LenHist;

typedef struct MixCount { char model[64], log_type[32]; int64_t n; } MixCount;

struct FitReport {
    double *t;           /* arrival times, seconds */
    size_t n, cap;
    LenHist in, out;
    int64_t rows, failed;
    MixCount mix[FIT_MAX_MIX + 1]; /* the last one is "other" */
    size_t n_mix;
};

void fit_report_opts_default(FitReportOpts *o)
{
    memset(o, 0, sizeof(*o));
    o->dequantize_s = -1;
    o->seed = 1;
    o->min_window_gaps = 10;
}

int fit_report_create(FitReport **out)
{
    *out = ss_calloc(1, sizeof(**out));
    return 0;
}

void fit_report_destroy(FitReport **rp)
{
    FitReport *r = *rp;
    if (!r) return;
    free(r->t);
    free(r->in.count);
    free(r->out.count);
    free(r);
    *rp = NULL;
}

static void hist_add(LenHist *h, int64_t v)
{
    if (v < 0) v = 0;
    if (v >= FIT_HIST_LIMIT) {
        v = FIT_HIST_LIMIT - 1;
        h->clamped++;
    }
    size_t k = (size_t)v;
    if (k >= h->cap) {
        size_t old = h->cap;
        SS_GROW(h->count, h->cap, k + 1);
        memset(h->count + old, 0, (h->cap - old) * sizeof(*h->count));
    }
    h->count[k]++;
    h->n++;
    h->zeros += k == 0;
    h->sum += (double)k;
    if (k > h->kmax) h->kmax = k;
}

static void mix_add(FitReport *r, const TraceRow *row)
{
    size_t i = 0;
    for (; i < r->n_mix; i++)
        if (!strcmp(r->mix[i].model, row->model) && !strcmp(r->mix[i].log_type, row->log_type))
            break;
    if (i == r->n_mix) {
        if (r->n_mix == FIT_MAX_MIX) {
            i = FIT_MAX_MIX; /* "other" */
            snprintf(r->mix[i].model, sizeof(r->mix[i].model), "other");
        } else {
            snprintf(r->mix[i].model, sizeof(r->mix[i].model), "%s", row->model);
            snprintf(r->mix[i].log_type, sizeof(r->mix[i].log_type), "%s", row->log_type);
            r->n_mix++;
        }
    }
    r->mix[i].n++;
}

void fit_report_add(FitReport *r, const TraceRow *row)
{
    SS_GROW(r->t, r->cap, r->n + 1);
    r->t[r->n++] = row->arrival_s;
    r->rows++;
    hist_add(&r->in, row->input_tokens);
    if (row->failed || row->output_tokens == 0) r->failed++;
    else hist_add(&r->out, row->output_tokens);
    mix_add(r, row);
}

/* ---- JSON helpers ------------------------------------------------------ */

static json_t *jreal(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *fit_json(const FitResult *f)
{
    json_t *o = json_object(), *p = json_object(), *se = json_object();
    json_object_set_new(o, "ok", json_boolean(f->ok));
    json_object_set_new(o, "n", json_integer((json_int_t)f->n));
    for (int i = 0; i < f->n_params; i++) {
        const char *name = fit_param_name(f->dist, i);
        json_object_set_new(p, name, jreal(f->p[i]));
        json_object_set_new(se, name, jreal(f->se[i]));
    }
    json_object_set_new(o, "params", p);
    json_object_set_new(o, "se", se);
    json_object_set_new(o, "free_params", json_integer(f->n_free));
    json_object_set_new(o, "loglik", jreal(f->loglik));
    json_object_set_new(o, "aic", jreal(f->aic));
    json_object_set_new(o, "ks", jreal(f->ks));
    json_object_set_new(o, "iterations", json_integer(f->iterations));
    return o;
}

static const char *best_of(const FitResult *f, size_t n)
{
    const FitResult *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (f[i].ok && (!best || f[i].aic < best->aic)) best = &f[i];
    return best ? fit_dist_name(best->dist) : NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- arrivals ---------------------------------------------------------- */

static bool all_multiples(const double *t, size_t n, double q)
{
    for (size_t i = 0; i < n; i++) {
        double k = t[i] / q;
        /* 1e-3 of a step, plus the rounding of t itself (relative 1e-15). */
        if (fabs(k - nearbyint(k)) > 1e-3 + 1e-15 * fabs(k)) return false;
    }
    return true;
}

/* The coarsest resolution q <= the smallest positive gap that every arrival
 * is a multiple of, among that gap, 1 s, 1 ms and 1 us; 0 when the times
 * look continuous (nothing to spread). */
static double detect_resolution(const double *t, size_t n)
{
    double gmin = INFINITY;
    for (size_t i = 1; i < n; i++)
        if (t[i] - t[i - 1] > 0 && t[i] - t[i - 1] < gmin) gmin = t[i] - t[i - 1];
    if (!isfinite(gmin)) return 0;
    const double cand[4] = { gmin, 1, 1e-3, 1e-6 };
    double best = 0;
    for (int i = 0; i < 4; i++)
        if (cand[i] <= gmin * (1 + 1e-3) && cand[i] > best && all_multiples(t, n, cand[i]))
            best = cand[i];
    return best;
}

static void dequantize(double *t, size_t n, double q, uint64_t seed)
{
    gsl_rng *rng = ss_rng_stream(seed, "fit.dequantize", 0);
    for (size_t i = 0; i < n; i++) t[i] += q * gsl_rng_uniform(rng);
    gsl_rng_free(rng);
    qsort(t, n, sizeof(*t), cmp_double);
}

static json_t *windows_json(const double *t, size_t n, const FitReportOpts *o)
{
    double w_s = o->window_s;
    size_t nw = (size_t)floor(t[n - 1] / w_s) + 1;
    int64_t *count = ss_calloc(nw, sizeof(*count)), *ngap = ss_calloc(nw, sizeof(*ngap));
    double *sum = ss_calloc(nw, sizeof(*sum)), *sum_ln = ss_calloc(nw, sizeof(*sum_ln));
    for (size_t i = 0; i < n; i++) {
        size_t w = SS_MIN((size_t)floor(SS_MAX(t[i], 0) / w_s), nw - 1);
        count[w]++;
        double g = i ? t[i] - t[i - 1] : 0;
        if (g > 0) { ngap[w]++; sum[w] += g; sum_ln[w] += log(g); }
    }
    json_t *o_ = json_object(), *req = json_array(), *rate = json_array(), *shape = json_array();
    double peak = 0, valley = INFINITY;
    for (size_t w = 0; w < nw; w++) {
        double r = (double)count[w] / w_s, k = NAN;
        if (ngap[w] >= o->min_window_gaps) {
            double mean = sum[w] / (double)ngap[w];
            k = fit_gamma_shape_from_s(log(mean) - sum_ln[w] / (double)ngap[w], NULL);
        }
        json_array_append_new(req, json_integer(count[w]));
        json_array_append_new(rate, json_real(r));
        json_array_append_new(shape, jreal(k));
        peak = SS_MAX(peak, r);
        valley = SS_MIN(valley, r);
    }
    json_object_set_new(o_, "window_s", json_real(w_s));
    json_object_set_new(o_, "count", json_integer((json_int_t)nw));
    json_object_set_new(o_, "min_gaps_for_shape", json_integer(o->min_window_gaps));
    json_object_set_new(o_, "rate_peak", json_real(peak));
    json_object_set_new(o_, "rate_valley", json_real(valley));
    json_object_set_new(o_, "peak_valley", jreal(valley > 0 ? peak / valley : NAN));
    json_object_set_new(o_, "requests", req);
    json_object_set_new(o_, "rate", rate);
    json_object_set_new(o_, "shape", shape);
    free(count); free(ngap); free(sum); free(sum_ln);
    return o_;
}

static int arrivals_fits(const double *t, size_t n, json_t *a, FitResult f[3])
{
    double *g = ss_malloc(SS_MAX(n, 1) * sizeof(*g)), sum = 0, sum2 = 0;
    size_t m = 0, zeros = 0;
    for (size_t i = 1; i < n; i++) {
        double d = t[i] - t[i - 1];
        if (d > 0) { g[m++] = d; sum += d; sum2 += d * d; }
        else zeros++;
    }
    double mean = m ? sum / (double)m : NAN;
    json_object_set_new(a, "n_gaps", json_integer((json_int_t)m));
    json_object_set_new(a, "zero_gaps_dropped", json_integer((json_int_t)zeros));
    json_object_set_new(a, "mean_gap_s", jreal(mean));
    json_object_set_new(a, "cv", jreal(m > 1 ? sqrt(fmax(sum2 / (double)m - mean * mean, 0)) / mean : NAN));
    json_object_set_new(a, "rate", jreal(1 / mean));
    qsort(g, m, sizeof(*g), cmp_double);
    json_t *fits = json_object();
    int err = 0;
    for (int d = FIT_EXPONENTIAL; d <= FIT_WEIBULL && !err; d++) {
        err = fit_gaps(g, m, (FitDist)d, &f[d]);
        if (!err) json_object_set_new(fits, fit_dist_name((FitDist)d), fit_json(&f[d]));
    }
    free(g);
    json_object_set_new(a, "fits", fits);
    const char *best = err ? NULL : best_of(f, 3);
    json_object_set_new(a, "best", best ? json_string(best) : json_null());
    return err;
}

/* Gaps in whole units of the resolution q, from the recorded times. */
static int64_t *quantized_gaps(const double *t, size_t n, double q, size_t *dmax)
{
    *dmax = 0;
    double top = 0;
    for (size_t i = 1; i < n; i++) top = fmax(top, nearbyint((t[i] - t[i - 1]) / q));
    if (top > FIT_HIST_LIMIT) return NULL; /* a gap of > 2^24 steps: not worth binning */
    *dmax = (size_t)top;
    int64_t *count = ss_calloc(*dmax + 1, sizeof(*count));
    for (size_t i = 1; i < n; i++) count[(size_t)nearbyint((t[i] - t[i - 1]) / q)]++;
    return count;
}

/* Interval-likelihood fits of the recorded (quantized) gaps (fit_binned.c). */
static int interval_json(const int64_t *count, size_t dmax, double q, const FitResult start[3],
                         json_t *a)
{
    json_t *o = json_object(), *fits = json_object();
    FitResult f[3];
    int err = 0;
    for (int d = FIT_EXPONENTIAL; d <= FIT_WEIBULL && !err; d++) {
        err = fit_gaps_binned(count, dmax, q, (FitDist)d, &start[d], &f[d]);
        if (!err) json_object_set_new(fits, fit_dist_name((FitDist)d), fit_json(&f[d]));
    }
    json_object_set_new(o, "resolution_s", json_real(q));
    json_object_set_new(o, "zero_gaps", json_integer(count[0]));
    json_object_set_new(o, "fits", fits);
    const char *best = err ? NULL : best_of(f, 3);
    json_object_set_new(o, "best", best ? json_string(best) : json_null());
    json_object_set_new(a, "interval", o);
    return err;
}

static int arrivals_json(FitReport *r, const FitReportOpts *o, json_t **out)
{
    json_t *a = json_object();
    bool sorted = true;
    for (size_t i = 1; i < r->n && sorted; i++) sorted = r->t[i] >= r->t[i - 1];
    if (!sorted) qsort(r->t, r->n, sizeof(*r->t), cmp_double);
    double q = o->dequantize_s < 0 ? detect_resolution(r->t, r->n) : o->dequantize_s;
    /* The interval likelihood only where the resolution is coarse against the
     * gaps (>= 1e-3 of the mean): finer, jitter loses nothing and the
     * triangle-kernel differences would cancel catastrophically. */
    size_t dmax = 0;
    double mean_gap = r->n > 1 ? (r->t[r->n - 1] - r->t[0]) / (double)(r->n - 1) : 0;
    int64_t *dcount = q > 0 && q >= 1e-3 * mean_gap ? quantized_gaps(r->t, r->n, q, &dmax) : NULL;
    if (q > 0) dequantize(r->t, r->n, q, o->seed);
    json_object_set_new(a, "sorted_by_fit", json_boolean(!sorted));
    json_object_set_new(a, "dequantize_s", json_real(q));
    FitResult f[3];
    int err = arrivals_fits(r->t, r->n, a, f);
    if (!err && dcount) err = interval_json(dcount, dmax, q, f, a);
    free(dcount);
    if (!err && o->window_s > 0 && r->n > 0)
        json_object_set_new(a, "windows", windows_json(r->t, r->n, o));
    *out = a;
    return err;
}

/* ---- lengths, mix, the whole report ------------------------------------ */

static int length_json(const LenHist *h, json_t **out)
{
    json_t *o = json_object(), *fits = json_object();
    int64_t n = h->n - h->zeros;
    json_object_set_new(o, "n", json_integer(n));
    json_object_set_new(o, "zeros", json_integer(h->zeros));
    json_object_set_new(o, "clamped", json_integer(h->clamped));
    json_object_set_new(o, "mean", jreal(n ? h->sum / (double)n : NAN));
    json_object_set_new(o, "max", json_integer((json_int_t)h->kmax));
    FitResult f[4];
    int err = 0;
    static const int64_t none[2] = { 0, 0 };
    FitHist fh = { h->count ? h->count : none, h->count ? h->kmax : 1 };
    const FitDist dists[3] = { FIT_ZIPF, FIT_LOGNORMAL, FIT_LOGNORMAL2 };
    for (int i = 0; i < 3 && !err; i++) {
        err = fit_lengths(&fh, dists[i], &f[i]);
        if (!err) json_object_set_new(fits, fit_dist_name(dists[i]), fit_json(&f[i]));
    }
    double *q = ss_malloc(SYNTH_QTABLE * sizeof(*q));
    if (!err && n > 0 && !(err = fit_empirical(&fh, q, SYNTH_QTABLE, &f[3]))) {
        json_t *e = fit_json(&f[3]), *qa = json_array();
        for (size_t i = 0; i < SYNTH_QTABLE; i++) json_array_append_new(qa, json_real(q[i]));
        json_object_set_new(e, "quantiles", qa);
        json_object_set_new(fits, "empirical", e);
    } else if (!err) {
        f[3].ok = false;
    }
    free(q);
    json_object_set_new(o, "fits", fits);
    const char *best = err ? NULL : best_of(f, 4);
    json_object_set_new(o, "best", best ? json_string(best) : json_null());
    *out = o;
    return err;
}

static int cmp_mix(const void *a, const void *b)
{
    const MixCount *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    int c = strcmp(x->model, y->model);
    return c ? c : strcmp(x->log_type, y->log_type);
}

static json_t *mix_json(FitReport *r)
{
    size_t n = r->n_mix + (r->mix[FIT_MAX_MIX].n > 0);
    if (r->mix[FIT_MAX_MIX].n > 0) r->mix[r->n_mix] = r->mix[FIT_MAX_MIX];
    qsort(r->mix, n, sizeof(*r->mix), cmp_mix);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_object();
        json_object_set_new(m, "model", json_string(r->mix[i].model));
        json_object_set_new(m, "log_type", json_string(r->mix[i].log_type));
        json_object_set_new(m, "count", json_integer(r->mix[i].n));
        json_object_set_new(m, "share", json_real((double)r->mix[i].n / (double)r->rows));
        json_array_append_new(a, m);
    }
    return a;
}

int fit_report_run(FitReport *r, const FitReportOpts *o, json_t **out)
{
    *out = NULL;
    if (r->rows < 3) return ss_error_set(EINVAL, "fit: %lld rows: at least 3 are needed",
                                         (long long)r->rows);
    json_t *root = json_object(), *sec = NULL;
    json_object_set_new(root, "rows", json_integer(r->rows));
    json_object_set_new(root, "failed", json_integer(r->failed));
    json_object_set_new(root, "failure_share", json_real((double)r->failed / (double)r->rows));
    json_object_set_new(root, "span_s", json_real(r->t[r->n - 1] - r->t[0]));
    int err = arrivals_json(r, o, &sec);
    json_object_set_new(root, "arrivals", sec);
    if (err < 0) goto fail;
    if ((err = length_json(&r->in, &sec)) < 0) goto fail_sec;
    json_object_set_new(root, "input_tokens", sec);
    if ((err = length_json(&r->out, &sec)) < 0) goto fail_sec;
    json_object_set_new(root, "output_tokens", sec);
    json_object_set_new(root, "mix", mix_json(r));
    *out = root;
    return 0;
fail_sec:
    json_decref(sec);
fail:
    json_decref(root);
    return err;
}

/* ---- the table --------------------------------------------------------- */

static void print_fits(FILE *f, json_t *sec)
{
    const char *best = json_string_value(json_object_get(sec, "best"));
    const char *name;
    json_t *fit;
    fprintf(f, "  %-12s %-58s %14s %14s %8s\n", "dist", "parameters (+- SE)", "logL", "AIC", "KS");
    json_object_foreach(json_object_get(sec, "fits"), name, fit) {
        char params[512] = "", *p = params;
        const char *pn;
        json_t *v;
        json_object_foreach(json_object_get(fit, "params"), pn, v) {
            double se = json_number_value(json_object_get(json_object_get(fit, "se"), pn));
            p += snprintf(p, (size_t)(params + sizeof(params) - p), "%s=%.4g", pn,
                          json_number_value(v));
            if (se > 0 && p < params + sizeof(params) - 16)
                p += snprintf(p, (size_t)(params + sizeof(params) - p), "(%.2g)", se);
            if (p < params + sizeof(params) - 2) *p++ = ' ', *p = 0;
        }
        if (!strcmp(name, "empirical")) snprintf(params, sizeof(params), "%d-point quantile table",
                                                 SYNTH_QTABLE);
        /* never cut: a parameter cut mid-number reads as another value */
        fprintf(f, "  %-12s %-58s %14.1f %14.1f %8.4f%s\n", name, params,
                json_number_value(json_object_get(fit, "loglik")),
                json_number_value(json_object_get(fit, "aic")),
                json_number_value(json_object_get(fit, "ks")),
                best && !strcmp(best, name) ? "  best" : "");
    }
}

void fit_report_print(FILE *f, json_t *fit)
{
    json_t *a = json_object_get(fit, "arrivals"), *w = json_object_get(a, "windows");
    fprintf(f, "rows %lld, span %.0f s, failed %.2f %%\n",
            (long long)json_integer_value(json_object_get(fit, "rows")),
            json_number_value(json_object_get(fit, "span_s")),
            100 * json_number_value(json_object_get(fit, "failure_share")));
    fprintf(f, "arrivals: %.4g req/s, gap CV %.3f, %lld gaps (dequantized at %g s)\n",
            json_number_value(json_object_get(a, "rate")),
            json_number_value(json_object_get(a, "cv")),
            (long long)json_integer_value(json_object_get(a, "n_gaps")),
            json_number_value(json_object_get(a, "dequantize_s")));
    print_fits(f, a);
    json_t *iv = json_object_get(a, "interval");
    if (iv) {
        fprintf(f, "  interval fits of the recorded gaps (resolution %g s; unbiased, used by gen):\n",
                json_number_value(json_object_get(iv, "resolution_s")));
        print_fits(f, iv);
    }
    if (w)
        fprintf(f, "  %lld windows of %g s: rate peak %.4g, valley %.4g req/s\n",
                (long long)json_integer_value(json_object_get(w, "count")),
                json_number_value(json_object_get(w, "window_s")),
                json_number_value(json_object_get(w, "rate_peak")),
                json_number_value(json_object_get(w, "rate_valley")));
    static const char *const secs[2] = { "input_tokens", "output_tokens" };
    for (int i = 0; i < 2; i++) {
        json_t *s = json_object_get(fit, secs[i]);
        fprintf(f, "%s: n %lld, mean %.1f, max %lld, zeros %lld\n", secs[i],
                (long long)json_integer_value(json_object_get(s, "n")),
                json_number_value(json_object_get(s, "mean")),
                (long long)json_integer_value(json_object_get(s, "max")),
                (long long)json_integer_value(json_object_get(s, "zeros")));
        print_fits(f, s);
    }
}
