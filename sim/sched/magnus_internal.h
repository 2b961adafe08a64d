/* magnus_internal.h: what magnus.c (the SchedOps glue, overflow, counters)
 * and magnus_batch.c (waiting set, grouping, memory rule, estimates) share.
 * See docs/MAGNUS.md for the rules. */
#ifndef SERVESIM_SCHED_MAGNUS_INTERNAL_H
#define SERVESIM_SCHED_MAGNUS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cost/knn.h"
#include "sched.h"

enum { MAGNUS_ORDER_HRRN, MAGNUS_ORDER_FCFS };
enum { MAGNUS_EST_KNN, MAGNUS_EST_ROOFLINE, MAGNUS_EST_ORACLE };
enum { MAGNUS_KNN_RATIO, MAGNUS_KNN_SECONDS };
enum { MAGNUS_OVERFLOW_PREEMPT, MAGNUS_OVERFLOW_TRUNCATE, MAGNUS_OVERFLOW_RESERVE };

typedef struct MagnusOpts {
    bool grouping;        /* group by predicted length; off: arrival order */
    double gen_bucket;    /* relative width of a generation bucket; 0 = exact */
    bool adaptive;        /* batch size from memory; off: at most `batch` */
    int64_t batch;        /* fixed B (requests) when adaptive is off */
    int64_t max_batch;    /* requests; 0 = memory is the only limit */
    double margin;        /* share of the KV cache kept free when planning */
    int order;            /* MAGNUS_ORDER_* */
    int estimator;        /* MAGNUS_EST_* */
    int64_t knn_k;        /* neighbours */
    int64_t knn_capacity; /* samples kept */
    int knn_target;       /* MAGNUS_KNN_* */
    int overflow;         /* MAGNUS_OVERFLOW_* */
} MagnusOpts;

/* A candidate batch: a contiguous run [start, start + n) of the waiting set. */
typedef struct MagnusGroup {
    int32_t start, n;
    int64_t padded_input;   /* tokens: the longest prefill target */
    int64_t padded_gen;     /* tokens: the longest planned generation */
    double oldest_arrival_s;
    int64_t oldest_id;
    double roofline_s;      /* the scheduler's roofline estimate */
} MagnusGroup;

typedef struct MagnusStats {
    int64_t batches, batched_requests;
    int64_t overflow_batches;   /* batches cut where their padded KV outgrew the cache */
    int64_t overflow_preempted; /* members evicted and requeued (KV recomputed later) */
    int64_t overflow_truncated; /* members failed at the limit */
    int64_t recompute_tokens;   /* prompt + generated tokens recomputed after evictions */
    int64_t planned_gen_tokens; /* sum over batches of n x planned padded generation */
    int64_t run_iters_tokens;   /* sum over batches of n x iterations run */
    KnnError est_err;           /* the configured estimator, per batch */
    KnnError roofline_err;      /* the roofline, for comparison */
    KnnError predict_err;       /* predicted vs observed output length (tokens, done only) */
    int64_t predict_under;      /* done requests that outran their prediction */
} MagnusStats;

typedef struct Magnus {
    MagnusOpts o;
    SchedEnv env;
    Request **wait;             /* waiting set, sorted by magnus__key order */
    int32_t n_wait, cap_wait;
    MagnusGroup *groups;
    int32_t n_groups, cap_groups;
    double *dp_best;            /* grouping: seconds to serve the first i waiting */
    int32_t *dp_cut;            /* grouping: where the last batch of those i starts */
    size_t cap_dp, cap_dp_cut;
    KnnEstimator *knn;
    /* The running batch (one at a time: request-level batching). */
    double run_x[KNN_FEATURES];
    double run_est_s, run_roofline_s;
    int64_t run_reserved_tokens;
    int64_t run_planned_gen;
    MagnusStats st;
} Magnus;

/* Planned remaining generation of a queued request (tokens, >= 1). */
int64_t magnus_planned_gen(const Request *r);
/* Insert into the waiting set at its sorted place. */
void magnus_wait_insert(Magnus *m, Request *r);
/* Partition the waiting set into candidate batches (m->groups). */
void magnus_partition(Magnus *m);
/* The configured estimate of a group's serving time (seconds). */
double magnus_estimate_s(Magnus *m, const MagnusGroup *g);
/* Roofline seconds of a static batch of n slots padded to (L, G). */
double magnus_roofline_s(const Roofline *rf, int64_t n, int64_t L, int64_t G);
/* Pick the group to run now (HRRN or FCFS); returns its index. */
int32_t magnus_pick(Magnus *m, double now_s, double *est_s);
/* Move group g's members into step and out of the waiting set. */
void magnus_take(Magnus *m, const MagnusGroup *g, Step *step);

#endif
