/* fleet.h: many replicas in one simulation.
 *
 * A fleet is groups of identical instances: "4xh100-sxm:tp=2,2xa100-80g"
 * (count x GPU kind, optional tensor parallelism per group).  A router picks
 * the instance of every arriving request; one function per policy in
 * router.c, behind RouterOps. */
#ifndef SERVESIM_FLEET_H
#define SERVESIM_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "opts.h"
#include "request.h"

#define FLEET_MAX_GROUPS 16

/* Disaggregated serving: a group's role ("prefill:2xh100-sxm"); a fleet
 * without roles colocates both phases on every instance. */
typedef enum FleetRole { FLEET_ROLE_BOTH = 0, FLEET_ROLE_PREFILL, FLEET_ROLE_DECODE } FleetRole;

typedef struct FleetGroup {
    int32_t count;      /* instances */
    FleetRole role;     /* FLEET_ROLE_BOTH unless the entry starts with prefill: or decode: */
    char gpu[64];       /* GPU spec name or path */
    int32_t tp;         /* GPUs per instance (tensor parallel) */
} FleetGroup;

typedef struct FleetSpec {
    FleetGroup groups[FLEET_MAX_GROUPS];
    int32_t n_groups;
    int32_t instances;  /* sum of counts */
    bool disaggregated; /* every group has a role, at least one of each */
} FleetSpec;

/* "4xh100-sxm:tp=2,2xa100-80g" or, disaggregated, "prefill:2xh100-sxm,decode:4xh100-sxm:tp=2"
 * (roles on every group or on none): 0 or -EINVAL with a message. */
int fleet_spec_parse(FleetSpec *f, const char *text);

/* What a router may look at for each instance. */
typedef struct RouterInstance {
    int64_t in_system;           /* requests routed here and not finished */
    double outstanding_tokens;   /* sum of input + predicted output of those */
    double tokens_per_s;         /* the instance's rough decode speed (for heterogeneity) */
    int64_t cached_tokens;       /* routers with wants_prefix: the request's prompt tokens cached there */
} RouterInstance;

typedef struct RouterOps {
    const char *name;
    const char *help;
    const OptSpec *opts;
    size_t opts_size;
    size_t priv_size;
    /* Requests wait in one central FIFO and go to the first idle instance
     * (M/M/c), instead of being routed on arrival. */
    bool central;
    bool wants_prefix;           /* fill RouterInstance.cached_tokens (a prefix-cache lookup per instance) */
    int (*init)(void *priv, const void *opts, int32_t n_instances, gsl_rng *rng);
    /* Index of the instance for r (never called for central routers). */
    int32_t (*pick)(void *priv, const RouterInstance *inst, int32_t n, const Request *r);
} RouterOps;

extern const RouterOps *const router_registry[];
const RouterOps *router_find(const char *name);

#endif
