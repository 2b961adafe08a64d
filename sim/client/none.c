/* none.c: the default client: it waits for ever and never retries (every
 * output byte-identical to a run without a client model). */
#include <math.h>

#include "client.h"

static int none_init(void *priv, const void *opts, gsl_rng *rng)
{
    (void)priv, (void)opts, (void)rng;
    return 0;
}

static ClientDeadlines none_deadlines(void *priv, const Request *r)
{
    (void)priv, (void)r;
    return (ClientDeadlines){ INFINITY, REQ_FAIL_NONE, INFINITY };
}

static double none_retry_at(void *priv, const Request *r, double now_s)
{
    (void)priv, (void)r, (void)now_s;
    return NAN;
}

static const OptSpec none_opts[] = { { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS } };

const ClientOps client_none = {
    .name = "none",
    .help = "waits for ever, never retries (the default)",
    .opts = none_opts,
    .opts_size = 0,
    .priv_size = 0,
    .init = none_init,
    .deadlines = none_deadlines,
    .retry_at = none_retry_at,
};
