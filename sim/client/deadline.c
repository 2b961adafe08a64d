/* deadline.c: a client with deadlines and retries (--client deadline:...).
 *
 * Per attempt, timed from that attempt's arrival:
 *   ttft_timeout=S  no first token within S seconds: give up;
 *   timeout=S       not done within S seconds: give up;
 *   patience=S      a patience drawn per attempt (patience_dist: exp with
 *                   mean S, lognormal with mean S and patience_cv, or the
 *                   constant S): give up when it runs out.
 * Any subset; 0 = that limit is off.  After an attempt that did not
 * complete for a reason load causes (client_reason_retryable: queue full or
 * timed out, preempted too often, a client timeout), up to `retries` more
 * attempts, the k-th (1-based) sent backoff x 2^(k-1) x (1 + jitter U(-1,1))
 * seconds after the failure: exponential backoff with seeded jitter, as
 * HTTP clients and the OpenAI SDK do. */
#include <math.h>
#include <stddef.h>

#include <gsl/gsl_randist.h>

#include "client.h"
#include "common.h"

enum { PATIENCE_EXP, PATIENCE_LOGNORMAL, PATIENCE_CONSTANT };

typedef struct DeadlineOpts {
    double ttft_timeout_s, timeout_s, patience_s, patience_cv;
    int patience_dist;
    int64_t retries;
    double backoff_s, jitter;
} DeadlineOpts;

static const OptSpec deadline_opts[] = {
    { "ttft_timeout", OPT_DOUBLE, offsetof(DeadlineOpts, ttft_timeout_s), "0",
      "seconds to the first token before giving up; 0 = none", NULL, 0.0, 1e12 },
    { "timeout", OPT_DOUBLE, offsetof(DeadlineOpts, timeout_s), "0",
      "seconds to the last token before giving up; 0 = none", NULL, 0.0, 1e12 },
    { "patience", OPT_DOUBLE, offsetof(DeadlineOpts, patience_s), "0",
      "mean patience per attempt, seconds (patience_dist); 0 = none", NULL, 0.0, 1e12 },
    { "patience_dist", OPT_CHOICE, offsetof(DeadlineOpts, patience_dist), "exp",
      "patience distribution", "exp|lognormal|constant", OPT_NO_BOUNDS },
    { "patience_cv", OPT_DOUBLE, offsetof(DeadlineOpts, patience_cv), "1",
      "lognormal patience: coefficient of variation", NULL, 1e-6, 100.0 },
    { "retries", OPT_INT, offsetof(DeadlineOpts, retries), "0",
      "attempts after the first, at most", NULL, 0, 1000 },
    { "backoff", OPT_DOUBLE, offsetof(DeadlineOpts, backoff_s), "1",
      "seconds before the first retry; doubles per retry", NULL, 0.0, 1e9 },
    { "jitter", OPT_DOUBLE, offsetof(DeadlineOpts, jitter), "0.1",
      "relative jitter of each backoff, uniform in +-jitter", NULL, 0.0, 1.0 },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

typedef struct Deadline {
    DeadlineOpts o;
    gsl_rng *rng; /* the client's own stream, not owned */
} Deadline;

static int deadline_init(void *priv, const void *opts, gsl_rng *rng)
{
    Deadline *d = priv;
    d->o = *(const DeadlineOpts *)opts;
    d->rng = rng;
    return 0;
}

static double draw_patience(Deadline *d)
{
    double mean = d->o.patience_s;
    switch (d->o.patience_dist) {
    case PATIENCE_EXP: return gsl_ran_exponential(d->rng, mean);
    case PATIENCE_LOGNORMAL: {
        double s2 = log1p(d->o.patience_cv * d->o.patience_cv);
        return gsl_ran_lognormal(d->rng, log(mean) - s2 / 2, sqrt(s2));
    }
    default: return mean;
    }
}

static ClientDeadlines deadline_deadlines(void *priv, const Request *r)
{
    Deadline *d = priv;
    ClientDeadlines out = { INFINITY, REQ_FAIL_NONE, INFINITY };
    if (d->o.timeout_s > 0) {
        out.give_up_s = r->arrival_s + d->o.timeout_s;
        out.give_up_why = REQ_CANCEL_TIMEOUT;
    }
    if (d->o.patience_s > 0) {
        double t = r->arrival_s + draw_patience(d);
        if (t < out.give_up_s) out.give_up_s = t, out.give_up_why = REQ_CANCEL_PATIENCE;
    }
    if (d->o.ttft_timeout_s > 0) out.ttft_deadline_s = r->arrival_s + d->o.ttft_timeout_s;
    return out;
}

static double deadline_retry_at(void *priv, const Request *r, double now_s)
{
    Deadline *d = priv;
    if (r->attempt > d->o.retries || !client_reason_retryable(r->fail_reason)) return NAN;
    double wait = d->o.backoff_s * ldexp(1.0, r->attempt - 1);
    if (d->o.jitter > 0) wait *= 1 + d->o.jitter * (2 * gsl_rng_uniform(d->rng) - 1);
    return now_s + wait;
}

const ClientOps client_deadline = {
    .name = "deadline",
    .help = "gives up on a deadline (ttft_timeout, timeout, drawn patience); retries with backoff",
    .opts = deadline_opts,
    .opts_size = sizeof(DeadlineOpts),
    .priv_size = sizeof(Deadline),
    .init = deadline_init,
    .deadlines = deadline_deadlines,
    .retry_at = deadline_retry_at,
};
