/* histogram.h: a logarithmic histogram for quantities too many to store.
 *
 * Inter-token latencies are pooled over every token of every request (tens
 * of millions on a long trace), so they are counted in buckets whose edges
 * grow by a factor of 1.002: any percentile is reported as its bucket's
 * geometric midpoint, within 0.1 % of the exact value.  Mean and standard
 * deviation are exact (running sums). */
#ifndef SERVESIM_HISTOGRAM_H
#define SERVESIM_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct LogHistogram {
    double lowest;      /* left edge of bucket 0 */
    double inv_log_ratio;
    double log_ratio;
    size_t n_buckets;
    double *weight;     /* per bucket */
    double below;       /* weight of values < lowest (zero gaps included) */
    double total, sum, sum_sq;
    double min, max;
} LogHistogram;

void log_histogram_init(LogHistogram *h, double lowest, double highest, double ratio);
void log_histogram_free(LogHistogram *h);
void log_histogram_add(LogHistogram *h, double value, double weight);
/* Linear-interpolated percentile (numpy's default rule) on bucket midpoints;
 * q in [0, 100]. */
double log_histogram_percentile(const LogHistogram *h, double q);
double log_histogram_mean(const LogHistogram *h);
double log_histogram_std(const LogHistogram *h);

#endif
