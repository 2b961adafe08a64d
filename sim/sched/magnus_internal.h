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
    bool group_gen;       /* classes use the generation bucket; off: prompt bucket alone */
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

/* A queued batch: requests of one length class (cell), in the order they
 * joined.  Its padded shape and oldest member are kept as it grows. */
typedef struct MagnusBatch {
    Request **members;
    int32_t n, cap;
    int64_t padded_input;   /* tokens: the longest prefill target */
    int64_t padded_gen;     /* tokens: the longest planned generation */
    double oldest_arrival_s;
    int64_t oldest_id;
    double roofline_s;      /* the scheduler's roofline estimate (valid unless dirty) */
    double est_s;           /* the configured estimate, made when last changed */
    bool dirty;             /* members joined since the estimates were made */
    int32_t cell;           /* index into Magnus.cells */
    struct MagnusBatch *next; /* the cell's next (younger) batch; free list */
} MagnusBatch;

/* A length class: (generation bucket, prompt bucket).  Its batches form a
 * FIFO; only the tail (youngest) accepts newcomers, the head is the cell's
 * candidate for dispatch. */
typedef struct MagnusCell {
    int64_t gen_bucket, prompt_bucket;
    MagnusBatch *head, *tail;
    int32_t live_index;     /* position in Magnus.live, -1 when empty */
} MagnusCell;
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
    MagnusCell *cells;          /* every length class seen so far */
    int32_t n_cells, cap_cells;
    int32_t *cell_slots;        /* open-addressing map (bucket pair) -> cell + 1, 0 = empty */
    int32_t cap_slots;          /* a power of two, kept at most half full */
    int32_t *live;              /* cells with a queued batch: the dispatch candidates */
    int32_t n_live, cap_live;
    struct MagnusNear *near;    /* dispatch scratch: cells whose batch could join */
    int32_t cap_near;
    MagnusBatch *free_batches;
    int64_t n_wait;             /* requests queued */
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
/* Queue a request: it joins its cell's youngest batch, or opens a batch. */
void magnus_wait_insert(Magnus *m, Request *r);
/* Take a queued request out (its client gave up): false when not queued. */
bool magnus_wait_remove(Magnus *m, const Request *r);
/* Roofline seconds of a static batch of n slots padded to (L, G). */
double magnus_roofline_s(const Roofline *rf, int64_t n, int64_t L, int64_t G);
/* The configured estimate of a batch's serving time (seconds). */
double magnus_estimate_s(Magnus *m, const MagnusBatch *b);
/* Pick the batch to run now (HRRN or FCFS over the cells' oldest batches),
 * absorb neighbouring cells' batches that make it cheaper, and take it out of
 * the queue.  The caller moves its members into the step and frees it with
 * magnus_batch_release. */
MagnusBatch *magnus_pick(Magnus *m, double now_s);
void magnus_batch_release(Magnus *m, MagnusBatch *b);
void magnus_batcher_free(Magnus *m);

#endif
