/* synthetic.c: step times drawn from a distribution, for queueing-theory tests.
 *
 * Each step_time call is one draw from the backend's own GSL stream
 * (BackendEnv.rng), whatever the step's shape: the queueing tests serve
 * 1-token requests one at a time, so a request's whole service is one step
 * and its service time is that draw (M/M/1: exponential, M/D/1: constant,
 * M/G/1: any of the others).
 *
 * Distributions by mean m (seconds) and coefficient of variation c:
 *   constant     m (c ignored)
 *   exponential  mean m (c is 1 by definition; the option is ignored)
 *   uniform      on [m - a, m + a], a = c m sqrt(3)   (needs c <= 1/sqrt(3))
 *   gamma        shape 1/c^2, scale m c^2
 *   lognormal    sigma^2 = ln(1 + c^2), mu = ln m - sigma^2 / 2
 *
 * decode_span_time(first, K) must be deterministic (the engine bisects it),
 * so it returns K x m rather than K draws: a multi-step span is outside what
 * this backend is for, and its expected duration is the honest answer. */
#include <math.h>
#include <stddef.h>

#include <gsl/gsl_randist.h>

#include "common.h"
#include "cost/cost.h"

enum { SYN_CONSTANT, SYN_EXPONENTIAL, SYN_UNIFORM, SYN_GAMMA, SYN_LOGNORMAL };

typedef struct SyntheticOpts {
    int dist;
    double mean;  /* seconds */
    double cv;    /* standard deviation / mean */
} SyntheticOpts;

static const OptSpec synthetic_opts[] = {
    { "dist", OPT_CHOICE, offsetof(SyntheticOpts, dist), "exponential",
      "step-time distribution", "constant|exponential|uniform|gamma|lognormal", OPT_NO_BOUNDS },
    { "mean", OPT_DOUBLE, offsetof(SyntheticOpts, mean), "0.01",
      "mean step time, seconds", NULL, 1e-12, 1e6 },
    { "cv", OPT_DOUBLE, offsetof(SyntheticOpts, cv), "1",
      "coefficient of variation (uniform, gamma, lognormal)", NULL, 0.0, 100.0 },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

typedef struct Synthetic {
    SyntheticOpts o;
    gsl_rng *rng;      /* not owned */
    double a, b;       /* distribution parameters, see synthetic_init */
} Synthetic;

static int synthetic_init(void *priv, const void *opts, const BackendEnv *env)
{
    Synthetic *s = priv;
    s->o = *(const SyntheticOpts *)opts;
    s->rng = env->rng;
    double m = s->o.mean, c = s->o.cv;
    if (!s->rng && s->o.dist != SYN_CONSTANT)
        return ss_error_set(EINVAL, "cost synthetic: needs a random stream");
    switch (s->o.dist) {
    case SYN_UNIFORM:
        if (c > 1.0 / sqrt(3.0) + 1e-12)
            return ss_error_set(EINVAL, "cost synthetic: uniform needs cv <= 0.577 (got %g): "
                                "times must stay >= 0", c);
        s->a = m - c * m * sqrt(3.0);
        s->b = m + c * m * sqrt(3.0);
        break;
    case SYN_GAMMA:
        if (c <= 0) return ss_error_set(EINVAL, "cost synthetic: gamma needs cv > 0");
        s->a = 1.0 / (c * c);  /* shape */
        s->b = m * c * c;      /* scale, seconds */
        break;
    case SYN_LOGNORMAL:
        s->b = sqrt(log1p(c * c));         /* sigma */
        s->a = log(m) - 0.5 * s->b * s->b; /* mu */
        break;
    default:
        break;
    }
    return 0;
}

static double synthetic_step_time(void *priv, const StepShape *shape)
{
    Synthetic *s = priv;
    switch (s->o.dist) {
    case SYN_CONSTANT: return s->o.mean;
    case SYN_EXPONENTIAL: return gsl_ran_exponential(s->rng, s->o.mean);
    case SYN_UNIFORM: return gsl_ran_flat(s->rng, s->a, s->b);
    case SYN_GAMMA: return gsl_ran_gamma(s->rng, s->a, s->b);
    case SYN_LOGNORMAL: return gsl_ran_lognormal(s->rng, s->a, s->b);
    }
    SS_ASSERT(!"unknown distribution");
    return 0.0;
}

static double synthetic_decode_span_time(void *priv, const StepShape *first, int64_t iters)
{
    const Synthetic *s = priv;
    return (double)iters * s->o.mean;
}

const BackendOps cost_backend_synthetic = {
    .name = "synthetic",
    .help = "step time drawn from a distribution (queueing-theory tests); spans: iters x mean",
    .opts = synthetic_opts,
    .opts_size = sizeof(SyntheticOpts),
    .priv_size = sizeof(Synthetic),
    .init = synthetic_init,
    .step_time = synthetic_step_time,
    .decode_span_time = synthetic_decode_span_time,
    .close = NULL,
};
