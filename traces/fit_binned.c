/* fit_binned.c: Gamma / Weibull / exponential gaps from timestamps recorded
 * at a coarse resolution q (BurstGPT: whole seconds), by maximum likelihood
 * on what was observed: D = floor(T + G) - floor(T) in units of q.
 *
 * If the arrival's phase frac(T) is uniform and independent of the true gap
 * G, then D = floor(G) w.p. 1 - frac(G) and floor(G) + 1 w.p. frac(G), so
 *   P(D = d) = integral f(g) (1 - |g - d|) dg over |g - d| < 1,
 * a triangle kernel over the gap density.  With F the CDF and M(x) the
 * partial mean integral_0^x g f(g) dg this is closed-form:
 *   left  = M(d) - M(d-1) - (d - 1) (F(d) - F(d-1))
 *   right = (d + 1) (F(d+1) - F(d)) - (M(d+1) - M(d)).
 * Gamma: M(x) = k theta F_{k+1}(x); Weibull: M(x) = lambda Gamma(1 + 1/k)
 * P(1 + 1/k, (x / lambda)^k).  Consecutive D share a phase, so the product
 * is a composite likelihood: consistent, SEs from its Hessian are a guide.
 * Dequantizing by jitter instead biases a Gamma(0.5) shape up by 0.07-0.2
 * at 0.1-1 req/s, because most of its gaps are shorter than the resolution. */
#include "fit.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_sf_gamma.h>

#include "common.h"

typedef struct Binned { const int64_t *count; size_t dmax; FitDist d; } Binned;

/* F(x) and M(x) (or their complements when upper) of the family at p. */
static void cdf_and_mean(FitDist d, const double *p, double x, bool upper, double *f, double *m)
{
    if (x <= 0) { *f = upper ? 1 : 0; *m = upper ? 1 : 0; return; }
    if (d == FIT_WEIBULL) {
        double k = p[0], lam = p[1], z = pow(x / lam, k), a = 1 + 1 / k;
        *f = upper ? exp(-z) : -expm1(-z);
        *m = upper ? gsl_sf_gamma_inc_Q(a, z) : gsl_sf_gamma_inc_P(a, z); /* times lam Gamma(a) */
        return;
    }
    double k = d == FIT_GAMMA ? p[0] : 1, th = d == FIT_GAMMA ? p[1] : 1 / p[0];
    *f = upper ? gsl_cdf_gamma_Q(x, k, th) : gsl_cdf_gamma_P(x, k, th);
    *m = upper ? gsl_cdf_gamma_Q(x, k + 1, th) : gsl_cdf_gamma_P(x, k + 1, th); /* times k th */
}

static double mean_scale(FitDist d, const double *p)
{
    if (d == FIT_WEIBULL) return p[1] * gsl_sf_gamma(1 + 1 / p[0]);
    return d == FIT_GAMMA ? p[0] * p[1] : 1 / p[0];
}

/* F and M differences over [a, b], from whichever tail keeps precision. */
static void diffs(FitDist d, const double *p, double a, double b, double *df, double *dm)
{
    double fa, ma, fb, mb;
    cdf_and_mean(d, p, a, false, &fa, &ma);
    bool upper = fa > 0.5;
    if (upper) cdf_and_mean(d, p, a, true, &fa, &ma);
    cdf_and_mean(d, p, b, upper, &fb, &mb);
    double s = mean_scale(d, p);
    *df = upper ? fa - fb : fb - fa;
    *dm = s * (upper ? ma - mb : mb - ma);
}

static double pmf_d(FitDist d, const double *p, size_t k)
{
    double x = (double)k, df, dm, left = 0, right;
    if (k > 0) {
        diffs(d, p, x - 1, x, &df, &dm);
        left = dm - (x - 1) * df;
    }
    diffs(d, p, x, x + 1, &df, &dm);
    right = (x + 1) * df - dm;
    return left + right;
}

static double binned_nll(const gsl_vector *v, void *ctx)
{
    const Binned *b = ctx;
    double p[2] = { exp(gsl_vector_get(v, 0)), v->size > 1 ? exp(gsl_vector_get(v, 1)) : 0 };
    double ll = 0;
    for (size_t k = 0; k <= b->dmax; k++) {
        if (!b->count[k]) continue;
        double pr = pmf_d(b->d, p, k);
        if (!(pr > 0)) return 1e300;
        ll += (double)b->count[k] * log(pr);
    }
    return -ll;
}

/* Numerical Hessian of the negative log-likelihood in log parameters. */
static void hessian_se(Binned *b, const gsl_vector *x, int n, double *se_log)
{
    double h = 1e-4, f0 = binned_nll(x, b), H[2][2];
    gsl_vector *v = gsl_vector_alloc((size_t)n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s[4];
            for (int c = 0; c < 4; c++) {
                gsl_vector_memcpy(v, x);
                gsl_vector_set(v, (size_t)i, gsl_vector_get(v, (size_t)i) + (c & 1 ? -h : h));
                gsl_vector_set(v, (size_t)j, gsl_vector_get(v, (size_t)j) + (c & 2 ? -h : h));
                s[c] = binned_nll(v, b);
            }
            H[i][j] = (s[0] - s[1] - s[2] + s[3]) / (4 * h * h);
        }
    gsl_vector_free(v);
    (void)f0;
    if (n == 1) { se_log[0] = 1 / sqrt(H[0][0]); return; }
    double det = H[0][0] * H[1][1] - H[0][1] * H[1][0];
    se_log[0] = sqrt(H[1][1] / det);
    se_log[1] = sqrt(H[0][0] / det);
}

static int minimise(Binned *b, gsl_vector *x, int n)
{
    gsl_multimin_function F = { binned_nll, (size_t)n, b };
    gsl_vector *step = gsl_vector_alloc((size_t)n);
    gsl_vector_set_all(step, 0.2);
    gsl_multimin_fminimizer *m = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2,
                                                                (size_t)n);
    gsl_multimin_fminimizer_set(m, &F, x, step);
    int it = 0, status = GSL_CONTINUE;
    while (status == GSL_CONTINUE && it++ < 500) {
        if (gsl_multimin_fminimizer_iterate(m)) break;
        status = gsl_multimin_test_size(gsl_multimin_fminimizer_size(m), 1e-7);
    }
    gsl_vector_memcpy(x, gsl_multimin_fminimizer_x(m));
    gsl_multimin_fminimizer_free(m);
    gsl_vector_free(step);
    return status == GSL_SUCCESS ? it : -it;
}

int fit_gaps_binned(const int64_t *count, size_t dmax, double q, FitDist d, const FitResult *start,
                    FitResult *out)
{
    memset(out, 0, sizeof(*out));
    out->dist = d;
    for (int i = 0; i < FIT_MAX_PARAMS; i++) out->p[i] = out->se[i] = NAN;
    out->loglik = out->aic = out->ks = NAN;
    if (d != FIT_EXPONENTIAL && d != FIT_GAMMA && d != FIT_WEIBULL)
        return ss_error_set(EINVAL, "fit: %s is not a gap distribution", fit_dist_name(d));
    if (!(q > 0)) return ss_error_set(EINVAL, "fit: binned gaps need a resolution > 0");
    int n = d == FIT_EXPONENTIAL ? 1 : 2;
    out->n_free = out->n_params = n;
    for (size_t k = 0; k <= dmax; k++) out->n += (size_t)count[k];
    if (out->n < 2 || !start->ok) return 0;
    Binned b = { count, dmax, d };
    /* Extreme trial points underflow inside GSL: that is a large NLL here,
     * not a reason to abort the process. */
    gsl_error_handler_t *old_handler = gsl_set_error_handler_off();
    gsl_vector *x = gsl_vector_alloc((size_t)n);
    /* Start from the dequantized fit, in units of q. */
    if (d == FIT_EXPONENTIAL) gsl_vector_set(x, 0, log(start->p[0] * q));
    else {
        gsl_vector_set(x, 0, log(start->p[0]));
        gsl_vector_set(x, 1, log(start->p[1] / q));
    }
    int it = minimise(&b, x, n);
    out->iterations = it < 0 ? -it : it;
    double se_log[2] = { NAN, NAN };
    if (it > 0) hessian_se(&b, x, n, se_log);
    double p[2] = { exp(gsl_vector_get(x, 0)), n > 1 ? exp(gsl_vector_get(x, 1)) : 0 };
    double cm = 0, ce = 0, ks = 0;
    for (size_t k = 0; k <= dmax; k++) {
        cm += pmf_d(d, p, k);
        ce += (double)count[k] / (double)out->n;
        ks = fmax(ks, fabs(cm - ce));
    }
    double ll = -binned_nll(x, &b);
    gsl_vector_free(x);
    gsl_set_error_handler(old_handler);
    out->p[0] = d == FIT_EXPONENTIAL ? p[0] / q : p[0];
    out->se[0] = out->p[0] * se_log[0];
    if (n > 1) {
        out->p[1] = p[1] * q;
        out->se[1] = out->p[1] * se_log[1];
    }
    out->ks = ks;
    out->loglik = ll;
    out->aic = 2.0 * n - 2.0 * ll;
    out->ok = it > 0 && isfinite(ll);
    return 0;
}
