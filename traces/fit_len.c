/* fit_len.c: maximum-likelihood fits of token lengths (integers >= 1) from a
 * histogram: truncated Zipf, lognormal, a two-lognormal mixture (EM) and the
 * empirical quantile table.  Every model is scored through its probability
 * mass function over 1..kmax, so log-likelihoods, AICs and KS statistics
 * compare across models. */
#include "fit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>

#include "common.h"

typedef struct HistStats {
    double n, sum_ln, sum_ln2; /* over k >= 1 */
    size_t kmax;               /* largest k with a count */
    size_t distinct;
} HistStats;

static void hist_stats(const FitHist *h, HistStats *s)
{
    memset(s, 0, sizeof(*s));
    for (size_t k = 1; k <= h->kmax; k++) {
        if (!h->count[k]) continue;
        double c = (double)h->count[k], l = log((double)k);
        s->n += c;
        s->sum_ln += c * l;
        s->sum_ln2 += c * l * l;
        s->kmax = k;
        s->distinct++;
    }
}

static void result_init(FitResult *out, FitDist d, const HistStats *s)
{
    memset(out, 0, sizeof(*out));
    out->dist = d;
    out->n = (size_t)s->n;
    for (int i = 0; i < FIT_MAX_PARAMS; i++) out->p[i] = out->se[i] = NAN;
    out->loglik = out->aic = out->ks = NAN;
}

/* Continuous CDF and survival at x of a (mixture of) lognormal(s). */
static void lognormal_cdf_sf(const FitResult *r, double x, double *cdf, double *sf)
{
    double w[2] = { 1, 0 }, mu[2] = { r->p[0], 0 }, sg[2] = { r->p[1], 1 };
    if (r->dist == FIT_LOGNORMAL2) {
        w[0] = r->p[0]; w[1] = 1 - r->p[0];
        mu[0] = r->p[1]; sg[0] = r->p[2]; mu[1] = r->p[3]; sg[1] = r->p[4];
    }
    *cdf = *sf = 0;
    for (int c = 0; c < 2; c++) {
        if (w[c] <= 0) continue;
        double z = (log(x) - mu[c]) / sg[c];
        *cdf += w[c] * gsl_cdf_ugaussian_P(z);
        *sf += w[c] * gsl_cdf_ugaussian_Q(z);
    }
}

/* pmf[k], k = 1..kmax, of a fitted model (index 0 unused). */
static void model_pmf(const FitResult *r, size_t kmax, double *pmf)
{
    pmf[0] = 0;
    if (r->dist == FIT_ZIPF) {
        double h = 0, a = r->p[0], km = r->p[1];
        for (size_t k = 1; k <= (size_t)km; k++) h += exp(-a * log((double)k));
        for (size_t k = 1; k <= kmax; k++)
            pmf[k] = k <= (size_t)km ? exp(-a * log((double)k)) / h : 0;
        return;
    }
    double prev_cdf = 0, prev_sf = 1;
    for (size_t k = 1; k <= kmax; k++) {
        double cdf, sf;
        lognormal_cdf_sf(r, (double)k + 0.5, &cdf, &sf);
        /* Differences of whichever tail is small keep precision far out. */
        pmf[k] = cdf < 0.5 ? cdf - prev_cdf : prev_sf - sf;
        prev_cdf = cdf;
        prev_sf = sf;
    }
}

/* logL and KS of the data against pmf[1..kmax]. */
static void score_pmf(const FitHist *h, const double *pmf, double n, FitResult *out)
{
    double ll = 0, cm = 0, ce = 0, d = 0;
    for (size_t k = 1; k <= h->kmax; k++) {
        if (h->count[k]) ll += (double)h->count[k] * log(pmf[k]);
        cm += pmf[k];
        ce += (double)h->count[k] / n;
        if (fabs(cm - ce) > d) d = fabs(cm - ce);
    }
    out->loglik = ll;
    out->ks = d;
    out->aic = 2.0 * out->n_free - 2.0 * ll;
    out->ok = isfinite(ll);
}

static void score(const FitHist *h, const HistStats *s, FitResult *out)
{
    double *pmf = ss_malloc((h->kmax + 1) * sizeof(*pmf));
    model_pmf(out, h->kmax, pmf);
    score_pmf(h, pmf, s->n, out);
    free(pmf);
}

/* Zipf score: E_a[ln K] - mean ln k (decreasing in a); its root is the MLE. */
typedef struct ZipfData { size_t kmax; double mean_ln; double var_ln; } ZipfData;

static double zipf_score(double a, void *ctx)
{
    ZipfData *z = ctx;
    double h = 0, e1 = 0, e2 = 0;
    for (size_t k = 1; k <= z->kmax; k++) {
        double l = log((double)k), w = exp(-a * l);
        h += w; e1 += w * l; e2 += w * l * l;
    }
    e1 /= h;
    z->var_ln = e2 / h - e1 * e1;
    return e1 - z->mean_ln;
}

static void fit_zipf(const FitHist *h, const HistStats *s, FitResult *out)
{
    ZipfData z = { s->kmax, s->sum_ln / s->n, 0 };
    out->n_free = 1;
    out->n_params = 2;
    double lo = 0, hi = 2;
    while (zipf_score(lo, &z) < 0 && lo > -50) lo -= 5;
    while (zipf_score(hi, &z) > 0 && hi < 200) hi *= 2;
    if (zipf_score(lo, &z) < 0 || zipf_score(hi, &z) > 0) return; /* all ones: a -> inf */
    gsl_function F = { zipf_score, &z };
    gsl_root_fsolver *rs = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (!rs) ss_abort(__FILE__, __LINE__, "out of memory");
    gsl_root_fsolver_set(rs, &F, lo, hi);
    int status = GSL_CONTINUE, it = 0;
    double a = NAN;
    while (status == GSL_CONTINUE && it++ < 200) {
        gsl_root_fsolver_iterate(rs);
        a = gsl_root_fsolver_root(rs);
        status = gsl_root_test_interval(gsl_root_fsolver_x_lower(rs), gsl_root_fsolver_x_upper(rs),
                                        0, 1e-12);
    }
    gsl_root_fsolver_free(rs);
    out->iterations = it;
    if (status != GSL_SUCCESS) return;
    zipf_score(a, &z);
    out->p[0] = a;
    out->p[1] = (double)s->kmax;
    out->se[0] = 1 / sqrt(s->n * z.var_ln); /* Fisher information n Var_a(ln K) */
    out->se[1] = 0;
    score(h, s, out);
}

static void fit_lognormal(const FitHist *h, const HistStats *s, FitResult *out)
{
    double mu = s->sum_ln / s->n, var = s->sum_ln2 / s->n - mu * mu;
    out->n_free = out->n_params = 2;
    if (!(var > 0)) return;
    out->p[0] = mu;
    out->p[1] = sqrt(var);
    out->se[0] = out->p[1] / sqrt(s->n);
    out->se[1] = out->p[1] / sqrt(2 * s->n);
    score(h, s, out);
}

/* One EM pass over the distinct values x = ln k with counts c; returns the
 * continuous log-likelihood of ln k under the current mixture. */
static double em_step(const double *x, const double *c, size_t m, double *p)
{
    double w = p[0], mu1 = p[1], s1 = p[2], mu2 = p[3], s2 = p[4];
    double sw = 0, sx1 = 0, sxx1 = 0, sx2 = 0, sxx2 = 0, tot = 0, ll = 0;
    for (size_t j = 0; j < m; j++) {
        double z1 = (x[j] - mu1) / s1, z2 = (x[j] - mu2) / s2;
        double l1 = log(w) - log(s1) - 0.5 * z1 * z1, l2 = log1p(-w) - log(s2) - 0.5 * z2 * z2;
        double top = l1 > l2 ? l1 : l2, lse = top + log(exp(l1 - top) + exp(l2 - top));
        double r = exp(l1 - lse);
        ll += c[j] * (lse - 0.5 * log(2 * M_PI));
        sw += c[j] * r;
        sx1 += c[j] * r * x[j];
        sxx1 += c[j] * r * x[j] * x[j];
        sx2 += c[j] * (1 - r) * x[j];
        sxx2 += c[j] * (1 - r) * x[j] * x[j];
        tot += c[j];
    }
    double w2 = tot - sw;
    p[0] = SS_MIN(SS_MAX(sw / tot, 1e-6), 1 - 1e-6);
    p[1] = sx1 / sw;
    p[2] = sqrt(SS_MAX(sxx1 / sw - p[1] * p[1], 1e-6));
    p[3] = sx2 / w2;
    p[4] = sqrt(SS_MAX(sxx2 / w2 - p[3] * p[3], 1e-6));
    return ll;
}

static void fit_lognormal2(const FitHist *h, const HistStats *s, FitResult *out)
{
    out->n_free = out->n_params = 5;
    if (s->distinct < 4) return;
    double *x = ss_malloc(s->distinct * sizeof(*x)), *c = ss_malloc(s->distinct * sizeof(*c));
    size_t m = 0;
    double cum = 0, q25 = NAN, q75 = NAN;
    for (size_t k = 1; k <= h->kmax; k++) {
        if (!h->count[k]) continue;
        x[m] = log((double)k);
        c[m] = (double)h->count[k];
        cum += c[m];
        if (isnan(q25) && cum >= 0.25 * s->n) q25 = x[m];
        if (isnan(q75) && cum >= 0.75 * s->n) q75 = x[m];
        m++;
    }
    double mu = s->sum_ln / s->n, sd = sqrt(SS_MAX(s->sum_ln2 / s->n - mu * mu, 1e-6));
    double p[5] = { 0.5, q25, sd / 2, q75 > q25 ? q75 : q25 + sd, sd / 2 };
    double prev = -INFINITY;
    int it = 0;
    for (; it < 5000; it++) {
        double ll = em_step(x, c, m, p);
        if (fabs(ll - prev) <= 1e-11 * fabs(ll)) break;
        prev = ll;
    }
    free(x);
    free(c);
    if (p[1] > p[3]) { /* component 1 is the shorter one */
        double t[5] = { 1 - p[0], p[3], p[4], p[1], p[2] };
        memcpy(p, t, sizeof(t));
    }
    memcpy(out->p, p, sizeof(p));
    out->iterations = it + 1;
    score(h, s, out);
}

/* Type-7 quantile (linear between order statistics) of the lengths >= 1,
 * for increasing probabilities: the walk over the histogram resumes. */
typedef struct HistWalk { const FitHist *h; size_t k; double below; } HistWalk;

static double hist_order_stat(HistWalk *w, double idx) /* 0-based */
{
    while (w->k <= w->h->kmax && w->below + (double)w->h->count[w->k] <= idx) {
        w->below += (double)w->h->count[w->k];
        w->k++;
    }
    return (double)w->k;
}

int fit_empirical(const FitHist *h, double *q, size_t nq, FitResult *out)
{
    HistStats s;
    hist_stats(h, &s);
    result_init(out, FIT_EMPIRICAL, &s);
    if (nq < 2 || !q) return ss_error_set(EINVAL, "fit: empirical table needs >= 2 points");
    if (s.n < 1) return 0;
    HistWalk lo = { h, 1, 0 }, hi = { h, 1, 0 };
    for (size_t i = 0; i < nq; i++) {
        double pos = (s.n - 1) * (double)i / (double)(nq - 1), f = floor(pos);
        double a = hist_order_stat(&lo, f), b = hist_order_stat(&hi, SS_MIN(f + 1, s.n - 1));
        q[i] = a + (pos - f) * (b - a);
    }
    /* pmf of the sampler round(interp(u)): P(K <= k) = F(k + 1/2). */
    double *pmf = ss_malloc((h->kmax + 1) * sizeof(*pmf)), prev = 0, ll = 0;
    for (size_t k = 1; k <= h->kmax; k++) {
        double f = fit_quantile_cdf(q, nq, (double)k + 0.5);
        pmf[k] = f - prev;
        prev = f;
        if (h->count[k]) ll += (double)h->count[k] * log((double)h->count[k] / s.n);
    }
    out->n_free = (int)s.distinct - 1;
    score_pmf(h, pmf, s.n, out);
    free(pmf);
    out->loglik = ll; /* the data's own pmf: the best any model can do */
    out->aic = 2.0 * out->n_free - 2.0 * ll;
    out->ok = true;
    return 0;
}

int fit_lengths(const FitHist *h, FitDist d, FitResult *out)
{
    HistStats s;
    hist_stats(h, &s);
    result_init(out, d, &s);
    if (d != FIT_ZIPF && d != FIT_LOGNORMAL && d != FIT_LOGNORMAL2)
        return ss_error_set(EINVAL, "fit: %s is not a parametric length distribution",
                            fit_dist_name(d));
    if (s.n < 2) return 0;
    if (d == FIT_ZIPF) fit_zipf(h, &s, out);
    else if (d == FIT_LOGNORMAL) fit_lognormal(h, &s, out);
    else fit_lognormal2(h, &s, out);
    return 0;
}

double fit_length_cdf(const FitResult *r, double k)
{
    if (k < 1) return 0;
    if (r->dist == FIT_ZIPF) {
        double h = 0, below = 0;
        for (size_t j = 1; j <= (size_t)r->p[1]; j++) {
            double w = exp(-r->p[0] * log((double)j));
            h += w;
            if ((double)j <= k) below += w;
        }
        return below / h;
    }
    if (r->dist != FIT_LOGNORMAL && r->dist != FIT_LOGNORMAL2) return NAN;
    double cdf, sf;
    lognormal_cdf_sf(r, floor(k) + 0.5, &cdf, &sf);
    return cdf;
}

double fit_quantile_interp(const double *q, size_t nq, double u)
{
    double pos = u * (double)(nq - 1);
    size_t i = (size_t)pos;
    if (i >= nq - 1) return q[nq - 1];
    return q[i] + (pos - (double)i) * (q[i + 1] - q[i]);
}

double fit_quantile_cdf(const double *q, size_t nq, double y)
{
    if (y < q[0]) return 0;
    if (y >= q[nq - 1]) return 1;
    size_t lo = 0, hi = nq; /* first index with q > y */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (q[mid] <= y) lo = mid + 1;
        else hi = mid;
    }
    size_t j = lo; /* q[j - 1] <= y < q[j] */
    double frac = (y - q[j - 1]) / (q[j] - q[j - 1]);
    return ((double)(j - 1) + frac) / (double)(nq - 1);
}
