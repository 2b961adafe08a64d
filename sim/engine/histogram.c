#include "histogram.h"

#include <math.h>
#include <stdlib.h>

#include "common.h"

void log_histogram_init(LogHistogram *h, double lowest, double highest, double ratio)
{
    SS_ASSERT(lowest > 0 && highest > lowest && ratio > 1);
    *h = (LogHistogram){ .lowest = lowest, .log_ratio = log(ratio) };
    h->inv_log_ratio = 1.0 / h->log_ratio;
    h->n_buckets = (size_t)ceil(log(highest / lowest) * h->inv_log_ratio) + 1;
    h->weight = ss_calloc(h->n_buckets, sizeof(double));
    h->min = INFINITY;
    h->max = -INFINITY;
}

void log_histogram_free(LogHistogram *h)
{
    free(h->weight);
    h->weight = NULL;
}

void log_histogram_add(LogHistogram *h, double value, double weight)
{
    if (weight <= 0) return;
    h->total += weight;
    h->sum += value * weight;
    h->sum_sq += value * value * weight;
    if (value < h->min) h->min = value;
    if (value > h->max) h->max = value;
    if (value < h->lowest) { h->below += weight; return; }
    size_t b = (size_t)(log(value / h->lowest) * h->inv_log_ratio);
    if (b >= h->n_buckets) b = h->n_buckets - 1;
    h->weight[b] += weight;
}

/* Value of the element of rank r (0-based, may be fractional weight space):
 * the midpoint of the bucket holding it. */
static double value_at_rank(const LogHistogram *h, double rank)
{
    if (rank < h->below) return h->min < h->lowest ? SS_MAX(h->min, 0.0) : 0.0;
    double seen = h->below;
    for (size_t b = 0; b < h->n_buckets; b++) {
        seen += h->weight[b];
        if (rank < seen) {
            double mid = h->lowest * exp(((double)b + 0.5) * h->log_ratio);
            return SS_MIN(SS_MAX(mid, h->min), h->max);
        }
    }
    return h->max;
}

double log_histogram_percentile(const LogHistogram *h, double q)
{
    if (h->total <= 0) return NAN;
    double pos = q / 100.0 * (h->total - 1.0);
    double lo = floor(pos);
    double frac = pos - lo;
    double a = value_at_rank(h, lo);
    if (frac == 0) return a;
    double b = value_at_rank(h, lo + 1);
    return a + (b - a) * frac;
}

double log_histogram_mean(const LogHistogram *h)
{
    return h->total > 0 ? h->sum / h->total : NAN;
}

double log_histogram_std(const LogHistogram *h)
{
    if (h->total <= 0) return NAN;
    double mean = h->sum / h->total;
    double var = h->sum_sq / h->total - mean * mean;
    return var > 0 ? sqrt(var) : 0.0;
}
