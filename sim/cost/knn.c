/* knn.c: online k-nearest-neighbour regression of batch serving times.
 *
 * A query scans every held sample (the ring holds at most `capacity`, a few
 * hundred to a few thousand: a run finishes one batch per tens of requests)
 * and keeps the k best in a small sorted array.  Feature scales are the
 * running standard deviations (Welford) over every sample learned; a feature
 * that has not varied yet gets scale 1 so it neither divides by zero nor
 * dominates. */
#include "cost/knn.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "common.h"

#define KNN_MAX_K 64

typedef struct KnnSample {
    double x[KNN_FEATURES];
    double y;        /* target: seconds, or a ratio */
    int64_t seq;     /* insertion number: breaks distance ties */
} KnnSample;

struct KnnEstimator {
    int32_t k, capacity;
    KnnSample *ring;
    int32_t held;            /* samples in the ring */
    int64_t learned;         /* samples ever added; the next goes to learned % capacity */
    double mean[KNN_FEATURES], m2[KNN_FEATURES]; /* Welford running moments */
};

int knn_create(KnnEstimator **out, int32_t k, int32_t capacity)
{
    *out = NULL;
    if (k < 1 || k > KNN_MAX_K)
        return ss_error_set(EINVAL, "knn: k=%d outside 1..%d", k, KNN_MAX_K);
    if (capacity < k)
        return ss_error_set(EINVAL, "knn: capacity %d below k=%d", capacity, k);
    KnnEstimator *e = ss_calloc(1, sizeof(*e));
    e->k = k;
    e->capacity = capacity;
    e->ring = ss_calloc((size_t)capacity, sizeof(*e->ring));
    *out = e;
    return 0;
}

void knn_destroy(KnnEstimator **kp)
{
    if (!*kp) return;
    free((*kp)->ring);
    free(*kp);
    *kp = NULL;
}

void knn_add(KnnEstimator *k, const double x[KNN_FEATURES], double y)
{
    KnnSample *s = &k->ring[k->learned % k->capacity];
    for (int f = 0; f < KNN_FEATURES; f++) s->x[f] = x[f];
    s->y = y;
    s->seq = k->learned;
    k->learned++;
    if (k->held < k->capacity) k->held++;
    double n = (double)k->learned;
    for (int f = 0; f < KNN_FEATURES; f++) {
        double d = x[f] - k->mean[f];
        k->mean[f] += d / n;
        k->m2[f] += d * (x[f] - k->mean[f]);
    }
}

static double knn__scale(const KnnEstimator *k, int f)
{
    if (k->learned < 2) return 1.0;
    double sd = sqrt(k->m2[f] / (double)(k->learned - 1));
    return sd > 1e-9 ? sd : 1.0;
}

typedef struct KnnHit { double d2; int64_t seq; double y; } KnnHit;

static int knn__before(const KnnHit *a, const KnnHit *b)
{
    return a->d2 < b->d2 || (a->d2 == b->d2 && a->seq < b->seq);
}

double knn_estimate(const KnnEstimator *k, const double x[KNN_FEATURES], double prior)
{
    if (k->held < k->k) return prior;
    double inv[KNN_FEATURES];
    for (int f = 0; f < KNN_FEATURES; f++) inv[f] = 1.0 / knn__scale(k, f);
    KnnHit best[KNN_MAX_K];
    int32_t nb = 0;
    for (int32_t i = 0; i < k->held; i++) {
        const KnnSample *s = &k->ring[i];
        KnnHit h = { 0, s->seq, s->y };
        for (int f = 0; f < KNN_FEATURES; f++) {
            double d = (x[f] - s->x[f]) * inv[f];
            h.d2 += d * d;
        }
        if (nb == k->k && !knn__before(&h, &best[nb - 1])) continue;
        int32_t j = nb < k->k ? nb++ : nb - 1; /* insertion sort into the k best */
        while (j > 0 && knn__before(&h, &best[j - 1])) { best[j] = best[j - 1]; j--; }
        best[j] = h;
    }
    double sum = 0;
    for (int32_t i = 0; i < nb; i++) sum += best[i].y;
    return sum / nb;
}

int32_t knn_samples(const KnnEstimator *k) { return k->held; }
int64_t knn_learned(const KnnEstimator *k) { return k->learned; }

void knn_error_add(KnnError *e, double estimate_s, double measured_s)
{
    double d = estimate_s - measured_s;
    e->n++;
    e->sum_sq_s2 += d * d;
    if (measured_s > 0) e->sum_abs_rel += fabs(d) / measured_s;
}

double knn_error_rmse_s(const KnnError *e)
{
    return e->n ? sqrt(e->sum_sq_s2 / (double)e->n) : 0.0;
}

double knn_error_mean_rel(const KnnError *e)
{
    return e->n ? e->sum_abs_rel / (double)e->n : 0.0;
}
