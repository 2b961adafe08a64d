/* noisy.c: the oracle with a chosen relative error, seeded.
 *
 *   lognormal  true x exp(sigma Z)   (median-unbiased: half over, half under)
 *   gaussian   true x (1 + sigma Z)
 *
 * Z ~ N(0, 1) from the predictor's own stream, one draw per request;
 * predictions are clamped to >= 1 token.  The quantiles are those of the
 * error model around the point estimate (what a calibrated predictor with
 * this error would report), so schedulers that read p90 get a consistent
 * picture. */
#include <math.h>
#include <stddef.h>

#include <gsl/gsl_randist.h>

#include "common.h"
#include "predict/predict.h"

enum { NOISY_LOGNORMAL, NOISY_GAUSSIAN };

typedef struct NoisyOpts {
    int dist;
    double sigma;  /* relative error scale (lognormal: of the log) */
} NoisyOpts;

static const OptSpec noisy_opts[] = {
    { "dist", OPT_CHOICE, offsetof(NoisyOpts, dist), "lognormal",
      "error distribution", "lognormal|gaussian", OPT_NO_BOUNDS },
    { "sigma", OPT_DOUBLE, offsetof(NoisyOpts, sigma), "0.5",
      "error scale: std of log(pred/true) or of pred/true - 1", NULL, 0.0, 10.0 },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

typedef struct Noisy {
    NoisyOpts o;
    gsl_rng *rng;  /* not owned */
} Noisy;

static int noisy_init(void *priv, const void *opts, const PredictEnv *env)
{
    Noisy *n = priv;
    n->o = *(const NoisyOpts *)opts;
    n->rng = env ? env->rng : NULL;
    if (!n->rng) return ss_error_set(EINVAL, "predict noisy: needs a random stream");
    return 0;
}

static double noisy_apply(const NoisyOpts *o, double truth, double z)
{
    double f = o->dist == NOISY_LOGNORMAL ? exp(o->sigma * z) : 1.0 + o->sigma * z;
    return fmax(truth * f, 1.0);
}

static int noisy_predict(void *priv, const PredictInput *in, PredictOutput *out)
{
    Noisy *n = priv;
    double truth = in->true_output_tokens;  /* tokens */
    double z = gsl_ran_ugaussian(n->rng);
    double t = noisy_apply(&n->o, truth, z);
    /* The true length given prediction t under the error model, for quantiles:
     * lognormal: truth = t exp(-sigma Z); gaussian: approximately t (1 - sigma Z). */
    const double z90 = 1.2815515655446004;  /* standard normal 90th percentile */
    double lo, hi;
    if (n->o.dist == NOISY_LOGNORMAL) {
        lo = t * exp(-n->o.sigma * z90);
        hi = t * exp(n->o.sigma * z90);
    } else {
        lo = t * (1.0 - n->o.sigma * z90);
        hi = t * (1.0 + n->o.sigma * z90);
    }
    *out = (PredictOutput){ .tokens = t, .p10 = fmax(lo, 1.0), .p50 = t, .p90 = fmax(hi, 1.0),
                            .has_quantiles = true };
    return 0;
}

const PredictorOps predictor_noisy = {
    .name = "noisy",
    .help = "oracle x seeded relative error (lognormal or gaussian), clamped >= 1",
    .opts = noisy_opts,
    .opts_size = sizeof(NoisyOpts),
    .priv_size = sizeof(Noisy),
    .reads_truth = true,
    .init = noisy_init,
    .train = NULL,
    .predict = noisy_predict,
    .save = NULL,
    .load = NULL,
    .close = NULL,
};
