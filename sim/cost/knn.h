/* knn.h: a k-nearest-neighbour regression of a batch's serving time, learned
 * online (Magnus's serving-time estimator).
 *
 * Features of a request-level batch: batch size (requests), padded input
 * (tokens) and predicted padded generation (tokens).  The target is what the
 * caller learns from the measured serving time of a finished batch (which a
 * real server observes): the seconds themselves, or their ratio to the
 * roofline estimate made at dispatch.  Until it holds k samples the
 * estimator answers with the caller's prior.  Distances are Euclidean over features
 * scaled by their running standard deviation, so that a token of input and a
 * request of batch size weigh what their spread says, not their unit.
 *
 * The sample store is a ring of `capacity` entries (oldest dropped first),
 * so queries stay O(capacity) however long the run. */
#ifndef SERVESIM_COST_KNN_H
#define SERVESIM_COST_KNN_H

#include <stdint.h>

#define KNN_FEATURES 3

typedef struct KnnEstimator KnnEstimator;

/* k >= 1 neighbours, capacity >= k samples kept.  Returns 0 or -EINVAL. */
int knn_create(KnnEstimator **out, int32_t k, int32_t capacity);
void knn_destroy(KnnEstimator **kp);

/* Learn one (features, target) sample. */
void knn_add(KnnEstimator *k, const double x[KNN_FEATURES], double y);

/* The mean of the k nearest samples' targets (ties broken by insertion
 * order), or `prior` while fewer than k samples are held. */
double knn_estimate(const KnnEstimator *k, const double x[KNN_FEATURES], double prior);

/* Samples held (at most capacity) and learned in total. */
int32_t knn_samples(const KnnEstimator *k);
int64_t knn_learned(const KnnEstimator *k);

/* Error bookkeeping: the estimate made for a batch against its measured
 * time.  RMSE in seconds, mean absolute relative error (0..). */
typedef struct KnnError {
    int64_t n;
    double sum_sq_s2;   /* seconds^2 */
    double sum_abs_rel; /* |est - true| / true */
} KnnError;

void knn_error_add(KnnError *e, double estimate_s, double measured_s);
double knn_error_rmse_s(const KnnError *e);
double knn_error_mean_rel(const KnnError *e);

#endif
