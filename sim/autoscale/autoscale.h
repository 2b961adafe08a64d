/* autoscale.h: autoscaling policies (--autoscale NAME:key=value,...).
 *
 * A policy is asked every decision interval how many instances the fleet
 * should have (ready + booting); the engine (sim/engine/autoscale_engine.c)
 * clamps the answer to [min, max], holds scale-downs for the stabilisation
 * window, boots new instances (cold start: boot_s + weights at load_gbps)
 * and drains the ones that leave (no new requests; they finish what they
 * hold, then leave).  One file per policy behind AutoscaleOps; every
 * policy's options struct begins with AutoscaleCommon, whose table rows
 * (AUTOSCALE_COMMON_OPTS) every policy's OptSpec table lists first. */
#ifndef SERVESIM_AUTOSCALE_H
#define SERVESIM_AUTOSCALE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opts.h"

typedef struct AutoscaleCommon {
    int64_t min, max;          /* instances */
    int64_t initial;           /* instances ready at t = 0; -1: the policy's (min, or the schedule's hour 0) */
    double interval_s;         /* simulated seconds between decisions */
    double boot_s;             /* fixed part of a cold start: VM/container, runtime, CUDA graphs */
    double load_gbps;          /* weights from storage, 1e9 bytes/s per instance */
    double down_delay_s;       /* stabilisation: scale down only to the largest count asked for in this window */
    double hour_s;             /* seconds per "hour" of the per-hour figures (day_s / 24 for compressed days) */
} AutoscaleCommon;

#define AUTOSCALE_COMMON_OPTS                                                                        \
    { "min", OPT_INT, offsetof(AutoscaleCommon, min), "1", "fewest instances", NULL, 1, 4096 },    \
    { "max", OPT_INT, offsetof(AutoscaleCommon, max), "8", "most instances (the pool)", NULL, 1, 4096 }, \
    { "initial", OPT_INT, offsetof(AutoscaleCommon, initial), "-1",                                  \
      "instances ready at t=0; -1 = the policy's (min; schedule: its first hour)", NULL, -1, 4096 }, \
    { "interval", OPT_DOUBLE, offsetof(AutoscaleCommon, interval_s), "60",                           \
      "seconds between decisions", NULL, 1e-3, 1e9 },                                                \
    { "boot", OPT_DOUBLE, offsetof(AutoscaleCommon, boot_s), "60",                                   \
      "seconds of a cold start before the weights load (machine, runtime, warm-up)", NULL, 0, 1e9 }, \
    { "load_gbps", OPT_DOUBLE, offsetof(AutoscaleCommon, load_gbps), "2",                            \
      "GB/s (1e9 bytes/s) at which an instance reads its weights from storage", NULL, 1e-6, 1e6 },  \
    { "down_delay", OPT_DOUBLE, offsetof(AutoscaleCommon, down_delay_s), "300",                      \
      "seconds a lower count must be asked for before instances drain (largest ask in the window)",  \
      NULL, 0, 1e9 },                                                                                \
    { "hour", OPT_DOUBLE, offsetof(AutoscaleCommon, hour_s), "3600",                                 \
      "seconds per hour of the per-hour figures and of schedule's counts", NULL, 1e-3, 1e9 }

/* What a policy sees at a decision (the ready instances, the fleet). */
typedef struct AutoscaleView {
    double now_s;
    int32_t ready, booting, draining;
    int64_t queued;            /* waiting in the ready instances' schedulers */
    int64_t running;           /* members of the ready instances' running steps */
    double kv_utilisation;     /* mean over the ready instances of KV tokens used / capacity */
    double arrivals_per_s;     /* arrivals since the previous decision, per second */
} AutoscaleView;

typedef struct AutoscaleOps {
    const char *name;
    const char *help;
    const OptSpec *opts;       /* begins with AUTOSCALE_COMMON_OPTS */
    size_t opts_size;          /* the options struct begins with AutoscaleCommon */
    size_t priv_size;
    bool stabilise_down;       /* apply down_delay (schedule follows its counts exactly) */
    /* 0 or a negative errno with a message. */
    int (*init)(void *priv, const void *opts);
    /* Instances at t = 0 when initial = -1 (NULL: min). */
    int32_t (*initial)(void *priv);
    /* Instances wanted now (ready + booting), before clamping to [min, max]. */
    int32_t (*decide)(void *priv, const AutoscaleView *v);
} AutoscaleOps;

extern const AutoscaleOps *const autoscale_registry[];
const AutoscaleOps *autoscale_find(const char *name);

#endif
