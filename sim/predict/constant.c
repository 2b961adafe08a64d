/* constant.c: the same length for every request (what a fixed max_tokens
 * reservation assumes). */
#include <stddef.h>

#include "common.h"
#include "predict/predict.h"

typedef struct ConstantOpts {
    double tokens;  /* tokens */
} ConstantOpts;

static const OptSpec constant_opts[] = {
    { "tokens", OPT_DOUBLE, offsetof(ConstantOpts, tokens), "256",
      "predicted output length, tokens", NULL, 1.0, 1e9 },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

static int constant_init(void *priv, const void *opts, const PredictEnv *env)
{
    *(ConstantOpts *)priv = *(const ConstantOpts *)opts;
    return 0;
}

static int constant_predict(void *priv, const PredictInput *in, PredictOutput *out)
{
    double t = ((const ConstantOpts *)priv)->tokens;
    *out = (PredictOutput){ .tokens = t, .p10 = t, .p50 = t, .p90 = t, .has_quantiles = false };
    return 0;
}

const PredictorOps predictor_constant = {
    .name = "constant",
    .help = "the same length for every request",
    .opts = constant_opts,
    .opts_size = sizeof(ConstantOpts),
    .priv_size = sizeof(ConstantOpts),
    .reads_truth = false,
    .init = constant_init,
    .train = NULL,
    .predict = constant_predict,
    .save = NULL,
    .load = NULL,
    .close = NULL,
};
