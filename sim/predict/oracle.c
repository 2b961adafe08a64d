/* oracle.c: the true output length (an upper bound on what prediction buys). */
#include "common.h"
#include "predict/predict.h"

static int oracle_init(void *priv, const void *opts, const PredictEnv *env)
{
    return 0;
}

static int oracle_predict(void *priv, const PredictInput *in, PredictOutput *out)
{
    double t = in->true_output_tokens;  /* tokens */
    *out = (PredictOutput){ .tokens = t, .p10 = t, .p50 = t, .p90 = t, .has_quantiles = false };
    return 0;
}

static const OptSpec oracle_opts[] = {
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

const PredictorOps predictor_oracle = {
    .name = "oracle",
    .help = "the true output length",
    .opts = oracle_opts,
    .opts_size = 0,
    .priv_size = 0,
    .reads_truth = true,
    .init = oracle_init,
    .train = NULL,
    .predict = oracle_predict,
    .save = NULL,
    .load = NULL,
    .close = NULL,
};
