/* fit.h: maximum-likelihood fits of arrival gaps and token lengths (GSL).
 *
 * Gaps (continuous, seconds): exponential, Gamma, Weibull.
 * Lengths (discrete, tokens >= 1): truncated Zipf, lognormal, a mixture of
 * two lognormals (bimodal responses), empirical (a quantile table).
 *
 * Each fit reports its parameters, their standard errors from the inverse
 * Fisher information (NaN where no closed form is used), the log-likelihood,
 * AIC = 2 k - 2 logL, and the Kolmogorov-Smirnov statistic D = sup |F - Fn|.
 * Length models are scored as probability mass functions over the integers
 * (a lognormal puts mass F(k + 1/2) - F(k - 1/2) on k, all of (0, 1.5) on 1),
 * so Zipf, lognormal and empirical log-likelihoods compare on one footing. */
#ifndef SERVESIM_FIT_H
#define SERVESIM_FIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum FitDist {
    FIT_EXPONENTIAL = 0, /* p: rate (1/s) */
    FIT_GAMMA,           /* p: shape, scale (s); CV = 1/sqrt(shape) */
    FIT_WEIBULL,         /* p: shape k, scale lambda (s) */
    FIT_ZIPF,            /* p: exponent a, kmax (tokens; the largest value seen, not free) */
    FIT_LOGNORMAL,       /* p: mu, sigma (of ln tokens) */
    FIT_LOGNORMAL2,      /* p: weight of component 1, mu1, sigma1, mu2, sigma2 */
    FIT_EMPIRICAL,       /* no parameters: the quantile table; logL of the data's own pmf */
    FIT_DIST_COUNT
} FitDist;

#define FIT_MAX_PARAMS 5

typedef struct FitResult {
    FitDist dist;
    bool ok;                    /* false: too little data or no convergence */
    size_t n;                   /* observations used */
    int n_free;                 /* free parameters, for AIC */
    int n_params;               /* entries of p[] that are meaningful */
    double p[FIT_MAX_PARAMS];   /* see fit_param_name() */
    double se[FIT_MAX_PARAMS];  /* standard errors; NaN when not available */
    double loglik;              /* natural log */
    double aic;                 /* 2 n_free - 2 loglik */
    double ks;                  /* Kolmogorov-Smirnov D */
    int iterations;             /* of the root finder or EM */
} FitResult;

const char *fit_dist_name(FitDist d);
/* Name of parameter i of distribution d ("shape", "scale", ...), NULL past the end. */
const char *fit_param_name(FitDist d, int i);

/* Fit gaps (seconds, > 0, sorted ascending: the KS statistic needs the order).
 * d is FIT_EXPONENTIAL, FIT_GAMMA or FIT_WEIBULL.  Returns 0 (out->ok says
 * whether the fit converged) or -EINVAL for a bad argument. */
int fit_gaps(const double *gap_sorted, size_t n, FitDist d, FitResult *out);

/* The same families from gaps observed at resolution q seconds: count[d]
 * gaps of d * q, d = 0..dmax (zero gaps included), fitted by the
 * interval likelihood of fit_binned.c, starting from `start` (a fit of the
 * same family, e.g. on dequantized gaps).  Parameters in seconds; logL and
 * KS are those of the observed d, comparable among binned fits only. */
int fit_gaps_binned(const int64_t *count, size_t dmax, double q, FitDist d, const FitResult *start,
                    FitResult *out);

/* Gamma shape by maximum likelihood from the two sufficient statistics
 * s = ln(mean x) - mean(ln x) > 0 (Newton on ln k - psi(k) = s).  NaN if s <= 0. */
double fit_gamma_shape_from_s(double s, int *iterations);

/* A histogram of token lengths: count[k] requests of k tokens, k = 0..kmax.
 * Zero-length rows are not fitted (they are failures or empty prompts). */
typedef struct FitHist {
    const int64_t *count;
    size_t kmax;
} FitHist;

/* d is FIT_ZIPF, FIT_LOGNORMAL, FIT_LOGNORMAL2 or FIT_EMPIRICAL (for the
 * empirical one use fit_empirical(), which also returns its table). */
int fit_lengths(const FitHist *h, FitDist d, FitResult *out);

/* Empirical quantile table: q[i] = the (i / (nq - 1)) quantile of the
 * lengths >= 1, nq >= 2.  out scores the table as synth samples it (linear
 * interpolation in q, rounded): KS of that sampler against the data, logL of
 * the data's own pmf with (distinct values - 1) free parameters. */
int fit_empirical(const FitHist *h, double *q, size_t nq, FitResult *out);

/* Model CDF at tokens k (P(K <= k)) of a fitted length distribution. */
double fit_length_cdf(const FitResult *r, double k);

/* Draw from the quantile table as synth does (u uniform in [0, 1)), and
 * its inverse: P(interp(U) <= y). */
double fit_quantile_interp(const double *q, size_t nq, double u);
double fit_quantile_cdf(const double *q, size_t nq, double y);

#endif
