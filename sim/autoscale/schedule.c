/* schedule.c: a per-hour instance count (e.g. from `servesim plan`).
 *
 * counts=N (every hour) or 24 counts separated by '/' ("4/4/3/.../5"), hour
 * h = floor(t / hour) mod 24.  lead boots an hour's instances that many
 * seconds before it begins (set it to the cold start to have them ready on
 * the hour).  Scale-downs follow the schedule at once (no stabilisation). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autoscale.h"
#include "common.h"

typedef struct ScheduleOpts {
    AutoscaleCommon common;
    char counts[OPTS_STRING_MAX];
    double lead_s;
} ScheduleOpts;

typedef struct ScheduleState {
    ScheduleOpts o;
    int32_t count[24];
} ScheduleState;

static const OptSpec schedule_opts[] = {
    AUTOSCALE_COMMON_OPTS,
    { "counts", OPT_STRING, offsetof(ScheduleOpts, counts), "",
      "instances per hour: one count, or 24 separated by '/' (hour 0 first)", NULL, OPT_NO_BOUNDS },
    { "lead", OPT_DOUBLE, offsetof(ScheduleOpts, lead_s), "0",
      "seconds before an hour at which its count applies (the cold start: ready on the hour)", NULL, 0, 1e9 },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

static int schedule_init(void *priv, const void *opts)
{
    ScheduleState *s = priv;
    s->o = *(const ScheduleOpts *)opts;
    const AutoscaleCommon *c = &s->o.common;
    int n = 0;
    const char *p = s->o.counts;
    if (!*p) return ss_error_set(EINVAL, "--autoscale schedule: counts= is required (one count or 24 separated by '/')");
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != '/') || n == 24)
            return ss_error_set(EINVAL, "--autoscale schedule: counts='%s': expected one count or 24 integers "
                                "separated by '/'", s->o.counts);
        if (v < c->min || v > c->max)
            return ss_error_set(EINVAL, "--autoscale schedule: counts='%s': hour %d's %ld is outside "
                                "[min=%lld, max=%lld]", s->o.counts, n, v, (long long)c->min, (long long)c->max);
        s->count[n++] = (int32_t)v;
        p = *end ? end + 1 : end;
    }
    if (n != 1 && n != 24)
        return ss_error_set(EINVAL, "--autoscale schedule: counts='%s' has %d values; give 1 or 24", s->o.counts, n);
    for (int h = n; h < 24; h++) s->count[h] = s->count[0];
    return 0;
}

static int32_t schedule_at(const ScheduleState *s, double t_s)
{
    double h = fmod(floor(t_s / s->o.common.hour_s), 24.0);
    return s->count[(int)h];
}

static int32_t schedule_initial(void *priv)
{
    return schedule_at(priv, ((ScheduleState *)priv)->o.lead_s);
}

static int32_t schedule_decide(void *priv, const AutoscaleView *v)
{
    return schedule_at(priv, v->now_s + ((ScheduleState *)priv)->o.lead_s);
}

const AutoscaleOps autoscale_schedule = {
    .name = "schedule",
    .help = "a per-hour instance count (counts=N or 24 counts separated by '/'), booted lead seconds early",
    .opts = schedule_opts, .opts_size = sizeof(ScheduleOpts), .priv_size = sizeof(ScheduleState),
    .stabilise_down = false, .init = schedule_init, .initial = schedule_initial, .decide = schedule_decide,
};
