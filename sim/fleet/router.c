/* router.c: one function per routing policy.
 *
 * Ties go to the lowest index (deterministic); random choices come from the
 * router's own stream ("router"). */
#include <math.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "common.h"
#include "fleet.h"

typedef struct RouterOpts {
    int64_t short_tokens;   /* length-aware: predicted output <= this is short */
    double short_share;     /* length-aware: fraction of instances serving short requests */
    double cache_weight;    /* prefix-affinity: outstanding tokens one cached prompt token is worth */
} RouterOpts;

typedef struct RouterState {
    RouterOpts o;
    gsl_rng *rng;
    int64_t next;           /* round robin */
    int32_t n;
} RouterState;

static int router_init(void *priv, const void *opts, int32_t n, gsl_rng *rng)
{
    RouterState *s = priv;
    if (opts) s->o = *(const RouterOpts *)opts;
    s->rng = rng;
    s->n = n;
    return 0;
}

static int32_t pick_round_robin(void *priv, const RouterInstance *in, int32_t n, const Request *r)
{
    (void)in; (void)r;
    RouterState *s = priv;
    return (int32_t)(s->next++ % n);
}

static int32_t pick_random(void *priv, const RouterInstance *in, int32_t n, const Request *r)
{
    (void)in; (void)r;
    return (int32_t)gsl_rng_uniform_int(((RouterState *)priv)->rng, (unsigned long)n);
}

static int32_t least_requests_in(const RouterInstance *in, int32_t from, int32_t to)
{
    int32_t best = from;
    for (int32_t i = from + 1; i < to; i++)
        if (in[i].in_system < in[best].in_system) best = i;
    return best;
}

static int32_t pick_least_requests(void *priv, const RouterInstance *in, int32_t n, const Request *r)
{
    (void)priv; (void)r;
    return least_requests_in(in, 0, n);
}

/* Outstanding predicted tokens over the instance's speed: seconds of work. */
static int32_t pick_least_work(void *priv, const RouterInstance *in, int32_t n, const Request *r)
{
    (void)priv; (void)r;
    int32_t best = 0;
    double best_s = INFINITY;
    for (int32_t i = 0; i < n; i++) {
        double s = in[i].outstanding_tokens / in[i].tokens_per_s;
        if (s < best_s) { best_s = s; best = i; }
    }
    return best;
}

/* Short and long requests to separate pools, so short ones never queue
 * behind long generations; least requests within the pool. */
static int32_t pick_length_aware(void *priv, const RouterInstance *in, int32_t n, const Request *r)
{
    RouterState *s = priv;
    if (n == 1) return 0;
    int32_t n_short = (int32_t)lround(s->o.short_share * n);
    n_short = SS_MIN(SS_MAX(n_short, 1), n - 1);
    if (r->predicted_output_tokens <= s->o.short_tokens) return least_requests_in(in, 0, n_short);
    return least_requests_in(in, n_short, n);
}

/* Power of two choices: two distinct random instances, the less loaded. */
static int32_t pick_p2c(void *priv, const RouterInstance *in, int32_t n, const Request *r)
{
    (void)r;
    RouterState *s = priv;
    if (n == 1) return 0;
    int32_t a = (int32_t)gsl_rng_uniform_int(s->rng, (unsigned long)n);
    int32_t b = (int32_t)gsl_rng_uniform_int(s->rng, (unsigned long)(n - 1));
    if (b >= a) b++;
    if (in[b].in_system < in[a].in_system || (in[b].in_system == in[a].in_system && b < a)) return b;
    return a;
}

/* Least work, less what the instance's prefix cache saves: the score is
 * (outstanding tokens - cache_weight x this request's cached prompt tokens
 * there) / speed, seconds; the lowest wins, ties to the lower index.  With
 * cache_weight 0 it is least-work; large, it follows the cache whatever the
 * load.  Prefill tokens cost less than decode tokens, so a weight near 1
 * already leans towards the cache. */
static int32_t pick_prefix_affinity(void *priv, const RouterInstance *in, int32_t n, const Request *r)
{
    const RouterState *s = priv;
    (void)r;
    int32_t best = 0;
    double best_s = INFINITY;
    for (int32_t i = 0; i < n; i++) {
        double score = (in[i].outstanding_tokens - s->o.cache_weight * (double)in[i].cached_tokens) / in[i].tokens_per_s;
        if (score < best_s) { best_s = score; best = i; }
    }
    return best;
}

static const OptSpec no_opts[] = { { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS } };
static const OptSpec length_aware_opts[] = {
    { "short_tokens", OPT_INT, offsetof(RouterOpts, short_tokens), "256",
      "predicted output tokens at or below which a request is short", NULL, 1, 1 << 24 },
    { "short_share", OPT_DOUBLE, offsetof(RouterOpts, short_share), "0.5",
      "fraction of instances that serve short requests", NULL, 0.0, 1.0 },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

#define ROUTER(n, h, fn) { .name = n, .help = h, .opts = no_opts, .opts_size = sizeof(RouterOpts), \
    .priv_size = sizeof(RouterState), .init = router_init, .pick = fn }

static const RouterOps router_round_robin = ROUTER("round-robin", "instances in turn", pick_round_robin);
static const RouterOps router_random = ROUTER("random", "uniformly at random (seeded)", pick_random);
static const RouterOps router_least_requests =
    ROUTER("least-requests", "fewest outstanding requests", pick_least_requests);
static const RouterOps router_least_work = ROUTER("least-work",
    "least outstanding predicted tokens per unit of instance speed", pick_least_work);
static const RouterOps router_p2c =
    ROUTER("p2c", "power of two choices on outstanding requests", pick_p2c);
/* The pools must both exist: a share that rounds to no instance on either
 * side is refused rather than silently clamped. */
static int length_aware_init(void *priv, const void *opts, int32_t n, gsl_rng *rng)
{
    const RouterOpts *o = opts;
    if (n > 1) {
        long n_short = lround(o->short_share * n);
        if (n_short < 1 || n_short > n - 1)
            return ss_error_set(EINVAL, "--router length-aware: short_share=%g of %d instances gives %ld "
                                "to short requests; each pool needs at least one (a share in [%.3g, %.3g])",
                                o->short_share, n, n_short, 0.5 / n, 1.0 - 0.5 / n);
    }
    return router_init(priv, opts, n, rng);
}

static const RouterOps router_length_aware = {
    .name = "length-aware", .help = "short/long pools by predicted output, least requests within",
    .opts = length_aware_opts, .opts_size = sizeof(RouterOpts), .priv_size = sizeof(RouterState),
    .init = length_aware_init, .pick = pick_length_aware,
};
static const OptSpec prefix_affinity_opts[] = {
    { "cache_weight", OPT_DOUBLE, offsetof(RouterOpts, cache_weight), "1",
      "outstanding tokens one cached prompt token is worth (0 = least-work)", NULL, 0.0, 1e6 },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

static const RouterOps router_prefix_affinity = {
    .name = "prefix-affinity", .help = "least work less the request's cached prefix on each instance (prefix_caching)",
    .opts = prefix_affinity_opts, .opts_size = sizeof(RouterOpts), .priv_size = sizeof(RouterState),
    .wants_prefix = true, .init = router_init, .pick = pick_prefix_affinity,
};
static const RouterOps router_central = {
    .name = "central", .help = "one central FIFO; the first idle instance takes the head (M/M/c)",
    .opts = no_opts, .opts_size = sizeof(RouterOpts), .priv_size = sizeof(RouterState), .central = true,
    .init = router_init, .pick = NULL,
};

const RouterOps *const router_registry[] = {
    &router_round_robin, &router_random, &router_least_requests, &router_least_work,
    &router_p2c, &router_length_aware, &router_prefix_affinity, &router_central, NULL,
};

const RouterOps *router_find(const char *name)
{
    for (const RouterOps *const *r = router_registry; *r; r++)
        if (!strcmp((*r)->name, name)) return *r;
    return NULL;
}
