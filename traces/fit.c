/* fit.c: maximum-likelihood fits of inter-arrival gaps (exponential, Gamma,
 * Weibull) with standard errors from the Fisher information and a KS
 * statistic.  Length fits live in fit_len.c. */
#include "fit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>

#include "common.h"

static const char *const dist_names[FIT_DIST_COUNT] = {
    "exponential", "gamma", "weibull", "zipf", "lognormal", "lognormal2", "empirical",
};
static const char *const param_names[FIT_DIST_COUNT][FIT_MAX_PARAMS] = {
    { "rate" },
    { "shape", "scale" },
    { "shape", "scale" },
    { "a", "kmax" },
    { "mu", "sigma" },
    { "weight1", "mu1", "sigma1", "mu2", "sigma2" },
    { NULL },
};

const char *fit_dist_name(FitDist d)
{
    return (unsigned)d < FIT_DIST_COUNT ? dist_names[d] : "?";
}

const char *fit_param_name(FitDist d, int i)
{
    if ((unsigned)d >= FIT_DIST_COUNT || i < 0 || i >= FIT_MAX_PARAMS) return NULL;
    return param_names[d][i];
}

/* KS statistic of sorted data against a continuous CDF. */
static double ks_continuous(const double *x, size_t n, double (*cdf)(double, const double *),
                            const double *p)
{
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double f = cdf(x[i], p);
        double lo = f - (double)i / (double)n, hi = (double)(i + 1) / (double)n - f;
        if (lo > d) d = lo;
        if (hi > d) d = hi;
    }
    return d;
}

static double cdf_exponential(double x, const double *p) { return gsl_cdf_exponential_P(x, 1.0 / p[0]); }
static double cdf_gamma(double x, const double *p) { return gsl_cdf_gamma_P(x, p[0], p[1]); }
static double cdf_weibull(double x, const double *p) { return gsl_cdf_weibull_P(x, p[1], p[0]); }

double fit_gamma_shape_from_s(double s, int *iterations)
{
    if (!(s > 0) || !isfinite(s)) return NAN;
    /* Minka's closed-form start, then Newton on f(k) = ln k - psi(k) - s,
     * which is convex and decreasing: Newton from the left never overshoots. */
    double k = (3 - s + sqrt((s - 3) * (s - 3) + 24 * s)) / (12 * s);
    int it = 0;
    for (; it < 100; it++) {
        double f = log(k) - gsl_sf_psi(k) - s;
        double df = 1 / k - gsl_sf_psi_1(k);
        double step = f / df;
        double next = k - step;
        if (next <= 0) next = k / 2;
        if (fabs(next - k) <= 1e-13 * k) { k = next; break; }
        k = next;
    }
    if (iterations) *iterations = it + 1;
    return k;
}

static void fit_finish(FitResult *out, double loglik)
{
    out->loglik = loglik;
    out->aic = 2.0 * out->n_free - 2.0 * loglik;
    out->ok = isfinite(loglik);
}

static void fit_exponential(const double *x, size_t n, double sum, double sum_ln, FitResult *out)
{
    double nn = (double)n, rate = nn / sum;
    out->n_free = out->n_params = 1;
    out->p[0] = rate;
    out->se[0] = rate / sqrt(nn);
    out->ks = ks_continuous(x, n, cdf_exponential, out->p);
    (void)sum_ln;
    fit_finish(out, nn * log(rate) - rate * sum);
}

static void fit_gamma(const double *x, size_t n, double sum, double sum_ln, FitResult *out)
{
    double nn = (double)n, mean = sum / nn;
    double k = fit_gamma_shape_from_s(log(mean) - sum_ln / nn, &out->iterations);
    out->n_free = out->n_params = 2;
    if (!isfinite(k)) return;
    double theta = mean / k, tri = gsl_sf_psi_1(k);
    /* Inverse Fisher information per observation: det = (k psi1(k) - 1) / theta^2. */
    double det = k * tri - 1;
    out->p[0] = k;
    out->p[1] = theta;
    out->se[0] = sqrt(k / (nn * det));
    out->se[1] = sqrt(theta * theta * tri / (nn * det));
    out->ks = ks_continuous(x, n, cdf_gamma, out->p);
    fit_finish(out, (k - 1) * sum_ln - sum / theta - nn * (gsl_sf_lngamma(k) + k * log(theta)));
}

/* Weibull profile score in k, on y = x / geometric mean (so mean ln y = 0):
 * h(k) = sum y^k ln y / sum y^k - 1/k, increasing in k; its root is the MLE.
 * Sums use a running max of k ln y to avoid overflow. */
typedef struct WeibullData { const double *lny; size_t n; } WeibullData;

static double weibull_sums(const WeibullData *w, double k, double *s_ln)
{
    double m = -INFINITY;
    for (size_t i = 0; i < w->n; i++) if (k * w->lny[i] > m) m = k * w->lny[i];
    double s = 0, sl = 0;
    for (size_t i = 0; i < w->n; i++) {
        double e = exp(k * w->lny[i] - m);
        s += e;
        sl += e * w->lny[i];
    }
    *s_ln = sl / s;
    return m + log(s); /* ln sum y^k */
}

static double weibull_score(double k, void *ctx)
{
    double s_ln;
    weibull_sums(ctx, k, &s_ln);
    return s_ln - 1 / k;
}

static double weibull_shape(const WeibullData *w, int *iterations)
{
    double lo = 0.01, hi = 1.0;
    gsl_function F = { weibull_score, (void *)w };
    while (weibull_score(lo, (void *)w) > 0 && lo > 1e-6) lo /= 10;
    while (weibull_score(hi, (void *)w) < 0 && hi < 1e6) hi *= 2;
    if (weibull_score(lo, (void *)w) > 0 || weibull_score(hi, (void *)w) < 0) return NAN;
    gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (!s) ss_abort(__FILE__, __LINE__, "out of memory");
    gsl_root_fsolver_set(s, &F, lo, hi);
    double k = NAN;
    int it = 0, status = GSL_CONTINUE;
    while (status == GSL_CONTINUE && it++ < 200) {
        gsl_root_fsolver_iterate(s);
        k = gsl_root_fsolver_root(s);
        status = gsl_root_test_interval(gsl_root_fsolver_x_lower(s), gsl_root_fsolver_x_upper(s),
                                        0, 1e-12);
    }
    gsl_root_fsolver_free(s);
    *iterations = it;
    return status == GSL_SUCCESS ? k : NAN;
}

static void fit_weibull(const double *x, size_t n, double sum, double sum_ln, FitResult *out)
{
    double nn = (double)n, gm = sum_ln / nn;
    double *lny = ss_malloc(n * sizeof(*lny));
    for (size_t i = 0; i < n; i++) lny[i] = log(x[i]) - gm;
    WeibullData w = { lny, n };
    out->n_free = out->n_params = 2;
    double k = weibull_shape(&w, &out->iterations);
    if (isfinite(k)) {
        double s_ln, ln_sum = weibull_sums(&w, k, &s_ln);
        double lambda = exp(gm + (ln_sum - log(nn)) / k);
        const double euler = 0.57721566490153286, pi2_6 = M_PI * M_PI / 6;
        out->p[0] = k;
        out->p[1] = lambda;
        /* Inverse Fisher information: var k = 6 k^2 / (pi^2 n),
         * var lambda = lambda^2 (1 + (1 - euler)^2 / (pi^2 / 6)) / (n k^2). */
        out->se[0] = k * sqrt(1 / (pi2_6 * nn));
        out->se[1] = lambda / k * sqrt((1 + (1 - euler) * (1 - euler) / pi2_6) / nn);
        out->ks = ks_continuous(x, n, cdf_weibull, out->p);
        /* sum (x / lambda)^k = n at the MLE. */
        fit_finish(out, nn * (log(k) - k * log(lambda)) + (k - 1) * sum_ln - nn);
    }
    free(lny);
    (void)sum;
}

int fit_gaps(const double *gap_sorted, size_t n, FitDist d, FitResult *out)
{
    memset(out, 0, sizeof(*out));
    out->dist = d;
    out->n = n;
    for (int i = 0; i < FIT_MAX_PARAMS; i++) out->p[i] = out->se[i] = NAN;
    out->loglik = out->aic = out->ks = NAN;
    if (d != FIT_EXPONENTIAL && d != FIT_GAMMA && d != FIT_WEIBULL)
        return ss_error_set(EINVAL, "fit: %s is not a gap distribution", fit_dist_name(d));
    if (n < 2) return 0;
    double sum = 0, sum_ln = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(gap_sorted[i] > 0) || (i && gap_sorted[i] < gap_sorted[i - 1]))
            return ss_error_set(EINVAL, "fit: gap %zu is %g: gaps must be > 0 and sorted", i,
                                gap_sorted[i]);
        sum += gap_sorted[i];
        sum_ln += log(gap_sorted[i]);
    }
    if (d == FIT_EXPONENTIAL) fit_exponential(gap_sorted, n, sum, sum_ln, out);
    else if (d == FIT_GAMMA) fit_gamma(gap_sorted, n, sum, sum_ln, out);
    else fit_weibull(gap_sorted, n, sum, sum_ln, out);
    return 0;
}
