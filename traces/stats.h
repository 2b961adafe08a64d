/* stats.h: streaming statistics of a trace (`servesim trace stats`).
 *
 * One pass, bounded memory: gap moments by Welford's method, arrivals per
 * window of W seconds (one counter per window: bounded by span / W, not by
 * rows), token counts in exact histograms (one counter per value below
 * 65,536, the rare larger values kept one by one), so quantiles are exact
 * nearest-rank quantiles without storing a value per row. */
#ifndef SERVESIM_TRACE_STATS_H
#define SERVESIM_TRACE_STATS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "trace.h"

typedef struct TraceStats TraceStats;

typedef struct TraceTokenSummary {
    int64_t p50, p90, p99, max; /* tokens, nearest rank */
    double mean;
} TraceTokenSummary;

typedef struct TraceGroupSummary {
    char name[48];
    int64_t rows, failed;
    double mean_input, mean_output; /* tokens */
} TraceGroupSummary;

typedef struct TraceStatsSummary {
    int64_t rows;
    double span_s;             /* last arrival - first arrival */
    double mean_rate;          /* rows / span, req/s (NAN when span is 0) */
    double gap_mean_s, gap_cv; /* gaps between consecutive arrivals; CV uses the n-1 std
                                  (NAN under 2 / 3 rows; JSON null, text "n/a (why)") */
    double window_s;
    int64_t windows;           /* full windows of window_s inside the span */
    double peak_rate, valley_rate; /* req/s over those windows (NAN when none) */
    TraceTokenSummary input, output;
    double pearson;            /* input vs output tokens (NAN under 3 rows or when constant) */
    int64_t failed;            /* failed rows: replayed ones + dropped ones */
    double failure_share;      /* failed / (rows + dropped) */
    TraceGroupSummary *by_model, *by_log_type, *by_app; /* sorted by rows, then name */
    size_t n_models, n_log_types, n_apps;
    /* Ideal (infinite-cache) prefix reuse (traces/reuse.h). */
    int64_t hashed_rows;       /* rows with block hashes */
    int32_t hash_block_tokens; /* their block size; 0 = no hashes, -1 = mixed */
    int64_t prompt_tokens, reused_tokens;
    double ideal_reuse;        /* reused / prompt tokens; NAN without hashes */
} TraceStatsSummary;

/* window_s > 0: the width of the per-window rate (seconds). */
int trace_stats_create(TraceStats **out, double window_s);
void trace_stats_destroy(TraceStats **s);
void trace_stats_add(TraceStats *s, const TraceRow *row);
/* A failed row that --failed drop keeps out of the figures: counted only in
 * its groups' failed column (pass the reader's stats with rows_failed_dropped
 * = trace_stats_dropped_failed() to trace_stats_summarize). */
void trace_stats_add_dropped(TraceStats *s, const TraceRow *row);
int64_t trace_stats_dropped_failed(const TraceStats *s);
/* `rs` (may be NULL) adds the reader's dropped failed rows to the failure
 * share.  The arrays in *out belong to `s`. */
void trace_stats_summarize(TraceStats *s, const TraceReaderStats *rs, TraceStatsSummary *out);

/* Deterministic key order; doubles to 10 significant digits on dump. */
json_t *trace_stats_json(const TraceStatsSummary *sum, const TraceReaderStats *rs,
                         const char *source, const char *format);
void trace_stats_print(FILE *f, const TraceStatsSummary *sum, const TraceReaderStats *rs,
                       const char *source, const char *format);

#endif
