#include "histogram.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* 12 mantissa bits (8 KiB) stay in L1; a 2^-12-wide mantissa slice is
 * narrower than a bucket (2^(1/347) - 1 = 0.2 %), so it straddles at most
 * one edge, which one comparison with octave_edge settles: exact buckets. */
#define MANT_BITS 12
static uint16_t sub_bucket[1 << MANT_BITS]; /* mantissa slice -> first bucket it touches */
static double octave_edge[LOG_HIST_PER_OCTAVE + 1]; /* 2^(i/347) */
#define N_BUCKETS ((LOG_HIST_MAX_EXP - LOG_HIST_MIN_EXP + 1) * LOG_HIST_PER_OCTAVE)
static double lower_edge[N_BUCKETS + 1]; /* bucket b holds [lower_edge[b], lower_edge[b+1]) */
static pthread_once_t sub_bucket_once = PTHREAD_ONCE_INIT;

static double b_edge_exact(int i)
{
    return i == LOG_HIST_PER_OCTAVE ? 2.0 : exp2((double)i / LOG_HIST_PER_OCTAVE);
}

static void sub_bucket_fill(void)
{
    for (int i = 0; i <= LOG_HIST_PER_OCTAVE; i++)
        octave_edge[i] = b_edge_exact(i);
    for (long b = 0; b <= N_BUCKETS; b++)
        lower_edge[b] = ldexp(octave_edge[b % LOG_HIST_PER_OCTAVE],
                              (int)(b / LOG_HIST_PER_OCTAVE) + LOG_HIST_MIN_EXP);
    long b = 0; /* slice starts rise with m: the scan resumes where the last one stopped */
    for (size_t m = 0; m < (1u << MANT_BITS); m++) {
        double mantissa = 1.0 + (double)m / (double)(1u << MANT_BITS); /* slice start */
        while (b + 1 < LOG_HIST_PER_OCTAVE && octave_edge[b + 1] <= mantissa) b++;
        sub_bucket[m] = (uint16_t)b;
    }
}

long log_histogram_bucket(double value)
{
    /* Tables filled on first use: by the metrics thread, not the engine's
     * start-up (14,500 ldexp calls). */
    pthread_once(&sub_bucket_once, sub_bucket_fill);
    uint64_t bits;
    memcpy(&bits, &value, sizeof(bits));
    int exponent = (int)((bits >> 52) & 0x7ff) - 1023;
    if (!(value > 0) || exponent < LOG_HIST_MIN_EXP) return -1;
    if (exponent > LOG_HIST_MAX_EXP) /* beyond the range: the last bucket */
        return (long)(LOG_HIST_MAX_EXP - LOG_HIST_MIN_EXP + 1) * LOG_HIST_PER_OCTAVE - 1;
    unsigned m = (unsigned)((bits >> (52 - MANT_BITS)) & ((1u << MANT_BITS) - 1));
    long sub = sub_bucket[m];
    uint64_t mant_bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double mantissa;
    memcpy(&mantissa, &mant_bits, sizeof(mantissa)); /* value / 2^exponent, in [1, 2) */
    if (sub + 1 < LOG_HIST_PER_OCTAVE && mantissa >= octave_edge[sub + 1]) sub++;
    return (long)(exponent - LOG_HIST_MIN_EXP) * LOG_HIST_PER_OCTAVE + sub;
}

static double *weights(LogHistogram *h)
{
    if (!h->weight) h->weight = ss_calloc(h->n_buckets, sizeof(double));
    return h->weight;
}

double log_histogram_bucket_mid(long bucket)
{
    return ldexp(exp2(((double)bucket + 0.5) / LOG_HIST_PER_OCTAVE), LOG_HIST_MIN_EXP);
}

void log_histogram_init(LogHistogram *h)
{
    *h = (LogHistogram){ 0 };
    h->n_buckets = N_BUCKETS;
    /* h->weight comes with the first value (whoever adds owns the pages). */
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
    long b = log_histogram_bucket(value);
    if (b < 0) h->below += weight;
    else weights(h)[b] += weight;
}

/* Upper edge of bucket b: values below it and at or above its lower edge
 * fall in it (to the mantissa table's 2^-16 resolution). */
static double bucket_upper(long b)
{
    return lower_edge[b + 1];
}

void log_histogram_add_linear(LogHistogram *h, double a, double b, int64_t count, double weight)
{
    SS_ASSERT(b >= 0 && count >= 0);
    if (count <= 0 || weight <= 0) return;
    if (b == 0) {
        log_histogram_add(h, a, weight * (double)count);
        return;
    }
    if (count <= 4) { /* a handful: cheaper one by one */
        for (int64_t j = 0; j < count; j++) log_histogram_add(h, a + b * (double)j, weight);
        return;
    }
    double n = (double)count, last = a + b * (n - 1);
    /* Exact moments of the run: sum of (a + b j) and of its square. */
    double sj = n * (n - 1) / 2, sj2 = (n - 1) * n * (2 * n - 1) / 6;
    h->total += weight * n;
    h->sum += weight * (a * n + b * sj);
    h->sum_sq += weight * (a * a * n + 2 * a * b * sj + b * b * sj2);
    if (a < h->min) h->min = a;
    if (last > h->max) h->max = last;
    /* Most runs (one span's decode iterations) stay inside one 0.2 % bucket. */
    long first_bucket = log_histogram_bucket(a);
    if (first_bucket >= 0 && first_bucket == log_histogram_bucket(last)) {
        weights(h)[first_bucket] += weight * n;
        return;
    }
    int64_t j = 0;
    while (j < count) {
        double v = a + b * (double)j;
        long bucket = log_histogram_bucket(v);
        int64_t end; /* first j past this bucket */
        if (bucket < 0) end = (int64_t)ceil((ldexp(1.0, LOG_HIST_MIN_EXP) - a) / b);
        else if ((size_t)bucket + 1 >= h->n_buckets) end = count;
        else end = (int64_t)ceil((bucket_upper(bucket) - a) / b);
        end = SS_MIN(SS_MAX(end, j + 1), count);
        double w = weight * (double)(end - j);
        if (bucket < 0) h->below += w;
        else weights(h)[bucket] += w;
        j = end;
    }
}

/* The value of rank `rank` (0-based): its bucket's midpoint, clamped to the
 * observed range so a histogram of one value reports that value's bucket. */
static double value_at_rank(const LogHistogram *h, double rank)
{
    if (rank < h->below || !h->weight) return SS_MAX(h->min, 0.0);
    double seen = h->below;
    for (size_t b = 0; b < h->n_buckets; b++) {
        seen += h->weight[b];
        if (rank < seen) return SS_MIN(SS_MAX(log_histogram_bucket_mid((long)b), h->min), h->max);
    }
    return h->max;
}

double log_histogram_percentile(const LogHistogram *h, double q)
{
    if (h->total <= 0) return NAN;
    if (q >= 100) return h->max; /* the extremes are known exactly */
    if (q <= 0) return h->min;
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
