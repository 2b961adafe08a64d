/* target_utilisation.c: keep the ready instances' utilisation in a band.
 *
 * Utilisation is KV tokens used over capacity (metric=kv), or requests
 * running and waiting over batch_slots (metric=batch: above 1 when requests
 * queue, so it sees an overload that KV use, capped near 1, cannot).  Inside
 * [low, high] nothing changes; outside it the fleet is sized so that the
 * same load would sit at `target`: ceil(ready x utilisation / target), as
 * Kubernetes' horizontal pod autoscaler does. */
#include <errno.h>
#include <math.h>

#include "autoscale.h"
#include "common.h"

typedef struct TargetOpts {
    AutoscaleCommon common;
    int metric;                /* 0 kv, 1 batch */
    double target, low, high;  /* fractions */
    int64_t batch_slots;       /* metric=batch: requests one instance runs at full load */
} TargetOpts;

typedef struct TargetState {
    TargetOpts o;
} TargetState;

static const OptSpec target_opts[] = {
    AUTOSCALE_COMMON_OPTS,
    { "metric", OPT_CHOICE, offsetof(TargetOpts, metric), "batch",
      "kv: KV tokens used / capacity; batch: (running + queued) / batch_slots", "kv|batch", OPT_NO_BOUNDS },
    { "target", OPT_DOUBLE, offsetof(TargetOpts, target), "0.3", "utilisation to size the fleet for", NULL, 1e-3, 10 },
    { "low", OPT_DOUBLE, offsetof(TargetOpts, low), "0.2", "below this the fleet shrinks", NULL, 0, 10 },
    { "high", OPT_DOUBLE, offsetof(TargetOpts, high), "0.4", "above this the fleet grows", NULL, 1e-3, 10 },
    { "batch_slots", OPT_INT, offsetof(TargetOpts, batch_slots), "256",
      "metric=batch: requests per instance at utilisation 1 (vLLM's max_num_seqs)", NULL, 1, 1 << 24 },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

static int target_init(void *priv, const void *opts)
{
    TargetState *s = priv;
    s->o = *(const TargetOpts *)opts;
    if (!(s->o.low <= s->o.target && s->o.target <= s->o.high))
        return ss_error_set(EINVAL, "--autoscale target-utilisation: need low <= target <= high (got %g, %g, %g)",
                            s->o.low, s->o.target, s->o.high);
    return 0;
}

static int32_t target_decide(void *priv, const AutoscaleView *v)
{
    const TargetState *s = priv;
    double util = s->o.metric == 0 ? v->kv_utilisation
                                   : (double)(v->running + v->queued) / ((double)v->ready * (double)s->o.batch_slots);
    int32_t have = v->ready + v->booting;
    if (util >= s->o.low && util <= s->o.high) return have;
    double want = ceil((double)v->ready * util / s->o.target - 1e-9);
    if (util > s->o.high) return (int32_t)SS_MAX((double)have, SS_MIN(want, 1e6)); /* booting ones count */
    return (int32_t)SS_MAX(1.0, want);
}

const AutoscaleOps autoscale_target_utilisation = {
    .name = "target-utilisation",
    .help = "keep KV (or running-batch) utilisation of the ready instances in [low, high]",
    .opts = target_opts, .opts_size = sizeof(TargetOpts), .priv_size = sizeof(TargetState),
    .stabilise_down = true, .init = target_init, .decide = target_decide,
};
