/* profile_fit.c: fitting one step kind of the profile model.
 *
 * Relative least squares: minimise sum ((x_i c - y_i) / y_i)^2, i.e. weights
 * 1 / y_i^2 in gsl_multifit_wlinear, so a 50 us decode and a 50 ms prefill
 * count alike (the validation reports relative errors).  Coefficients must be
 * >= 0 (closed-form decode spans, no negative times): a feature whose
 * coefficient comes out negative is dropped and the others refitted, one at a
 * time (the most negative first), which terminates in at most PF_N rounds. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_multifit.h>

#include "common.h"
#include "profile.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Fit y on the active features; 0 or -EINVAL. */
static int fit_active(const bool active[PF_N], const double *x, const double *y, int64_t n,
                      double coef[PF_N])
{
    int idx[PF_N], p = 0;
    for (int i = 0; i < PF_N; i++)
        if (active[i]) idx[p++] = i;
    if (p == 0 || n < p) return -EINVAL;
    gsl_matrix *X = gsl_matrix_alloc((size_t)n, (size_t)p);
    gsl_vector *Y = gsl_vector_alloc((size_t)n), *W = gsl_vector_alloc((size_t)n);
    gsl_vector *c = gsl_vector_alloc((size_t)p);
    gsl_matrix *cov = gsl_matrix_alloc((size_t)p, (size_t)p);
    gsl_multifit_linear_workspace *ws = gsl_multifit_linear_alloc((size_t)n, (size_t)p);
    for (int64_t r = 0; r < n; r++) {
        for (int j = 0; j < p; j++) gsl_matrix_set(X, (size_t)r, (size_t)j, x[r * PF_N + idx[j]]);
        gsl_vector_set(Y, (size_t)r, y[r]);
        gsl_vector_set(W, (size_t)r, 1.0 / (y[r] * y[r]));
    }
    double chisq;
    int status = gsl_multifit_wlinear(X, W, Y, c, cov, &chisq, ws);
    memset(coef, 0, sizeof(double) * PF_N);
    for (int j = 0; j < p; j++) coef[idx[j]] = gsl_vector_get(c, (size_t)j);
    gsl_multifit_linear_free(ws);
    gsl_matrix_free(cov);
    gsl_vector_free(c);
    gsl_vector_free(W);
    gsl_vector_free(Y);
    gsl_matrix_free(X);
    return status ? -EINVAL : 0;
}

int profile_fit_kind(ProfileFit *fit, ProfileKind k, const double *x, const double *y, int64_t n)
{
    memset(fit, 0, sizeof(*fit));
    bool active[PF_N];
    for (int i = 0; i < PF_N; i++) {
        active[i] = profile_kind_uses(k, (ProfileFeature)i);
        bool varies = false; /* a feature that is 0 on every row says nothing */
        for (int64_t r = 0; r < n && !varies; r++) varies = x[r * PF_N + i] != 0;
        active[i] &= varies;
    }
    double coef[PF_N];
    for (int round = 0; round <= PF_N; round++) {
        int r = fit_active(active, x, y, n, coef);
        if (r) return r;
        int worst = -1;
        for (int i = 0; i < PF_N; i++)
            if (active[i] && coef[i] < 0 && (worst < 0 || coef[i] < coef[worst])) worst = i;
        if (worst < 0) break;
        active[worst] = false;
    }
    double *err = ss_malloc((size_t)n * sizeof(*err));
    for (int64_t r = 0; r < n; r++) {
        double t = 0;
        for (int i = 0; i < PF_N; i++) t += coef[i] * x[r * PF_N + i];
        err[r] = fabs(t - y[r]) / y[r];
    }
    qsort(err, (size_t)n, sizeof(*err), cmp_double);
    fit->median_rel_err = n % 2 ? err[n / 2] : 0.5 * (err[n / 2 - 1] + err[n / 2]);
    free(err);
    memcpy(fit->coef, coef, sizeof(coef));
    for (int i = 0; i < PF_N; i++) fit->coef[i] = SS_MAX(fit->coef[i], 0.0);
    fit->rows = n;
    fit->present = true;
    return 0;
}
