/* linear.c: least squares of output length on input length (GSL).
 *
 *   predicted = c0 + c1 x input_tokens, clamped to >= 1 token
 *
 * Trained from a Dataset with gsl_fit_linear; p10/p50/p90 add the training
 * residuals' empirical 10/50/90th percentiles (output lengths are skewed,
 * so a Gaussian band would put p10 below zero and p90 too low).  With fewer
 * than two rows, or all inputs equal, the slope is 0 and c0 the mean.
 *
 * Saved as a small text file:
 *   servesim-linear 1
 *   c0 <tokens>  c1 <tokens per input token>  r10/r50/r90 <tokens>  n <rows>
 * one "key value" per line after the header. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_fit.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "common.h"
#include "predict/predict.h"

#define LINEAR_FORMAT "servesim-linear"
#define LINEAR_VERSION 1

typedef struct LinearOpts {
    char model[OPTS_STRING_MAX];  /* saved model to load; "" = train first */
} LinearOpts;

static const OptSpec linear_opts[] = {
    { "file", OPT_STRING, offsetof(LinearOpts, model), "",
      "saved model file (from training) to load", NULL, OPT_NO_BOUNDS },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

typedef struct Linear {
    bool ready;
    double c0, c1;          /* tokens, tokens per input token */
    double r10, r50, r90;   /* residual percentiles, tokens */
    int64_t n;              /* training rows */
} Linear;

static int linear_load(void *priv, FILE *f, const char *path);

static int linear_init(void *priv, const void *opts, const PredictEnv *env)
{
    const LinearOpts *o = opts;
    if (!o->model[0]) return 0;
    FILE *f = fopen(o->model, "r");
    if (!f)
        return ss_error_set(errno, "predict linear: cannot open %s: %s", o->model, strerror(errno));
    int r = linear_load(priv, f, o->model);
    fclose(f);
    return r;
}

static int linear_train(void *priv, const Dataset *d)
{
    Linear *l = priv;
    if (d->n == 0) return ss_error_set(EINVAL, "predict linear: empty training set");
    size_t n = d->n;
    double *x = ss_malloc(n * sizeof(*x)), *y = ss_malloc(n * sizeof(*y));
    for (size_t i = 0; i < n; i++) {
        x[i] = d->rows[i].in.input_tokens;
        y[i] = d->rows[i].output_tokens;
    }
    double cov00, cov01, cov11, sumsq;
    double c0 = 0, c1 = 0;
    bool flat = n < 2 || gsl_stats_variance(x, 1, n) == 0.0;
    if (flat || gsl_fit_linear(x, 1, y, 1, n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq) ||
        !isfinite(c0) || !isfinite(c1)) {
        c0 = gsl_stats_mean(y, 1, n);
        c1 = 0.0;
    }
    for (size_t i = 0; i < n; i++) y[i] -= c0 + c1 * x[i];  /* residuals */
    gsl_sort(y, 1, n);
    l->c0 = c0;
    l->c1 = c1;
    l->r10 = gsl_stats_quantile_from_sorted_data(y, 1, n, 0.1);
    l->r50 = gsl_stats_quantile_from_sorted_data(y, 1, n, 0.5);
    l->r90 = gsl_stats_quantile_from_sorted_data(y, 1, n, 0.9);
    l->n = (int64_t)n;
    l->ready = true;
    free(x);
    free(y);
    return 0;
}

static int linear_predict(void *priv, const PredictInput *in, PredictOutput *out)
{
    const Linear *l = priv;
    if (!l->ready)
        return ss_error_set(EINVAL, "predict linear: not trained (train it or give file=FILE)");
    double t = l->c0 + l->c1 * in->input_tokens;  /* tokens */
    *out = (PredictOutput){
        .tokens = fmax(t, 1.0),
        .p10 = fmax(t + l->r10, 1.0),
        .p50 = fmax(t + l->r50, 1.0),
        .p90 = fmax(t + l->r90, 1.0),
        .has_quantiles = true,
    };
    return 0;
}

static int linear_save(void *priv, FILE *f)
{
    const Linear *l = priv;
    if (!l->ready) return ss_error_set(EINVAL, "predict linear: nothing to save: not trained");
    fprintf(f, "%s %d\n", LINEAR_FORMAT, LINEAR_VERSION);
    fprintf(f, "c0 %.17g\nc1 %.17g\nr10 %.17g\nr50 %.17g\nr90 %.17g\nn %lld\n",
            l->c0, l->c1, l->r10, l->r50, l->r90, (long long)l->n);
    return ferror(f) ? ss_error_set(EIO, "predict linear: write error") : 0;
}

static int linear_load(void *priv, FILE *f, const char *path)
{
    Linear *l = priv;
    Linear tmp = { 0 };
    char line[256], fmt[32];
    int version, lineno = 1;
    if (!fgets(line, sizeof(line), f) || sscanf(line, "%31s %d", fmt, &version) != 2 ||
        strcmp(fmt, LINEAR_FORMAT))
        return ss_error_set(EINVAL, "%s:1: not a linear predictor file (want '%s %d')",
                            path, LINEAR_FORMAT, LINEAR_VERSION);
    if (version != LINEAR_VERSION)
        return ss_error_set(EINVAL, "%s:1: linear predictor version %d, this build reads %d",
                            path, version, LINEAR_VERSION);
    struct { const char *key; double *v; } keys[] = {
        { "c0", &tmp.c0 }, { "c1", &tmp.c1 }, { "r10", &tmp.r10 },
        { "r50", &tmp.r50 }, { "r90", &tmp.r90 },
    };
    unsigned seen = 0;
    double n = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char key[32], value[64];
        if (line[0] == '\n' || line[0] == '#') continue;
        if (sscanf(line, "%31s %63s", key, value) != 2)
            return ss_error_set(EINVAL, "%s:%d: expected 'key value'", path, lineno);
        double v;
        if (ss_parse_double(value, &v))
            return ss_error_set(EINVAL, "%s:%d: %s: '%s' is not a finite number",
                                path, lineno, key, value);
        size_t i = 0;
        for (; i < SS_ARRAY_LEN(keys); i++)
            if (!strcmp(key, keys[i].key)) break;
        if (i < SS_ARRAY_LEN(keys)) {
            *keys[i].v = v;
        } else if (!strcmp(key, "n")) {
            n = v;
        } else {
            return ss_error_set(EINVAL, "%s:%d: unknown field '%s'", path, lineno, key);
        }
        seen |= 1u << i;
    }
    if (seen != (1u << (SS_ARRAY_LEN(keys) + 1)) - 1)
        return ss_error_set(EINVAL, "%s: missing fields (want c0 c1 r10 r50 r90 n)", path);
    tmp.n = (int64_t)n;
    tmp.ready = true;
    *l = tmp;
    return 0;
}

const PredictorOps predictor_linear = {
    .name = "linear",
    .help = "least squares of output on input length (train, or file=FILE)",
    .opts = linear_opts,
    .opts_size = sizeof(LinearOpts),
    .priv_size = sizeof(Linear),
    .reads_truth = false,
    .init = linear_init,
    .train = linear_train,
    .predict = linear_predict,
    .save = linear_save,
    .load = linear_load,
    .close = NULL,
};
