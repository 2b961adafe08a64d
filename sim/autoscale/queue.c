/* queue.c: scale on the queue: its length per ready instance, and the
 * queueing delay it implies (queued / arrival rate, Little's law).
 *
 * Up: when either is above its bound, add ceil(ready x step) instances (at
 * least one; booting ones count as added).  Down: when fewer requests wait
 * than instances are ready (none waits, bar this instant's arrivals) and KV
 * use is below down_util, size the fleet so that the same KV load would sit
 * at down_util. */
#include <errno.h>
#include <math.h>

#include "autoscale.h"
#include "common.h"

typedef struct QueueOpts {
    AutoscaleCommon common;
    double up_queue;           /* requests waiting per ready instance */
    double up_delay_s;         /* estimated queueing delay, seconds; 0 = off */
    double step;               /* fraction of the ready instances added per decision */
    double down_util;          /* KV utilisation */
} QueueOpts;

typedef struct QueueState {
    QueueOpts o;
} QueueState;

static const OptSpec queue_opts[] = {
    AUTOSCALE_COMMON_OPTS,
    { "up_queue", OPT_DOUBLE, offsetof(QueueOpts, up_queue), "4",
      "requests waiting per ready instance above which the fleet grows", NULL, 0, 1e9 },
    { "up_delay", OPT_DOUBLE, offsetof(QueueOpts, up_delay_s), "1",
      "seconds of queueing delay (queued / arrival rate) above which the fleet grows; 0 = off", NULL, 0, 1e9 },
    { "step", OPT_DOUBLE, offsetof(QueueOpts, step), "0.25",
      "fraction of the ready instances added per decision (at least 1)", NULL, 0, 100 },
    { "down_util", OPT_DOUBLE, offsetof(QueueOpts, down_util), "0.3",
      "with fewer queued than instances ready, KV utilisation below which the fleet shrinks (to sit at it)", NULL, 1e-3, 1 },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

static int queue_init(void *priv, const void *opts)
{
    ((QueueState *)priv)->o = *(const QueueOpts *)opts;
    return 0;
}

static int32_t queue_decide(void *priv, const AutoscaleView *v)
{
    const QueueState *s = priv;
    int32_t have = v->ready + v->booting;
    double per_instance = (double)v->queued / v->ready;
    double delay_s = v->arrivals_per_s > 0 ? (double)v->queued / v->arrivals_per_s : (v->queued ? INFINITY : 0);
    bool up = per_instance > s->o.up_queue || (s->o.up_delay_s > 0 && delay_s > s->o.up_delay_s);
    if (up) {
        double add = SS_MAX(1.0, ceil((double)v->ready * s->o.step));
        return (int32_t)SS_MIN(1e6, SS_MAX((double)have, (double)v->ready + add));
    }
    /* "Nothing waits" tolerates the requests of this very instant, not yet
     * started: fewer waiting than instances ready. */
    if (v->queued < v->ready && v->kv_utilisation < s->o.down_util)
        return (int32_t)SS_MAX(1.0, ceil((double)v->ready * v->kv_utilisation / s->o.down_util - 1e-9));
    return have;
}

const AutoscaleOps autoscale_queue = {
    .name = "queue",
    .help = "grow on queue length / queueing delay, shrink when nothing waits and KV use is low",
    .opts = queue_opts, .opts_size = sizeof(QueueOpts), .priv_size = sizeof(QueueState),
    .stabilise_down = true, .init = queue_init, .decide = queue_decide,
};
