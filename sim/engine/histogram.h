/* histogram.h: a logarithmic histogram for quantities too many to store.
 *
 * Inter-token latencies are pooled over every token of every request (tens
 * of millions on a long trace), so they are counted in buckets: each octave
 * [2^e, 2^(e+1)) is split into LOG_HIST_PER_OCTAVE = 347 buckets of equal
 * ratio 2^(1/347) = 1.0020, and a percentile is reported as its bucket's
 * geometric midpoint: within 0.1 % of the exact value.  The bucket of a value
 * comes from its IEEE-754 exponent and a table over its top 16 mantissa bits
 * (no log() per add: the engine adds one value per decode iteration).  Mean
 * and standard deviation are exact (running sums). */
#ifndef SERVESIM_HISTOGRAM_H
#define SERVESIM_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define LOG_HIST_PER_OCTAVE 347
#define LOG_HIST_MIN_EXP (-24) /* lowest bucket starts at 2^-24 s (60 ns) */
#define LOG_HIST_MAX_EXP 17    /* highest octave ends at 2^17 s (36 h) */

typedef struct LogHistogram {
    double *weight;     /* per bucket */
    size_t n_buckets;
    double below;       /* weight of values < 2^LOG_HIST_MIN_EXP (zero gaps included) */
    double total, sum, sum_sq;
    double min, max;
} LogHistogram;

void log_histogram_init(LogHistogram *h);
void log_histogram_free(LogHistogram *h);
void log_histogram_add(LogHistogram *h, double value, double weight);
/* Add the values a + b j for j = 0..count-1 (b >= 0), each with `weight`, in
 * O(buckets spanned): a span's decode iterations under a linear cost model. */
void log_histogram_add_linear(LogHistogram *h, double a, double b, int64_t count, double weight);
/* Linear-interpolated percentile (numpy's default rule) on bucket midpoints;
 * q in [0, 100]. */
double log_histogram_percentile(const LogHistogram *h, double q);
double log_histogram_mean(const LogHistogram *h);
double log_histogram_std(const LogHistogram *h);
/* The bucket a value falls in (exposed for tests); -1 below the range. */
long log_histogram_bucket(double value);
double log_histogram_bucket_mid(long bucket);

#endif
