/* metrics.h: per-request records -> `vllm bench serve` metrics.
 *
 * Definitions (background.md): TTFT = first token - arrival; E2E = last token
 * - arrival; TPOT = (E2E - TTFT) / (output - 1) for output > 1, request-
 * weighted; ITL = gaps between successive tokens pooled over all tokens
 * (token-weighted, a 0.1 % log histogram).  Only completed requests enter the
 * latency figures, as in vLLM.  Per completed request three floats are kept
 * (12 bytes) so percentiles are exact to float precision; everything else is
 * streamed to requests.csv. */
#ifndef SERVESIM_METRICS_H
#define SERVESIM_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "requests_csv.h"
#include "histogram.h"
#include "request.h"
#include "strtab.h"

/* Values in 4 MiB chunks: growing never copies (a doubling array would hold
 * old and new copies at once: 2.5x the data at peak on a 10 M-request run). */
typedef struct FloatVec {
    float **chunks;
    size_t n_chunks, cap_chunks;
    size_t n;
} FloatVec;

typedef struct SloSpec {
    double ttft_s, tpot_s, e2el_s; /* <= 0: not set */
} SloSpec;

typedef struct Metrics {
    FloatVec ttft_s, tpot_s, e2e_s;
    LogHistogram itl_s;
    int64_t arrived, completed, failed, rejected, truncated, good;
    int64_t cancelled;               /* given up by their client (--client) */
    int64_t rejected_by_reason[16];  /* by ReqFailReason */
    int64_t failures_by_reason[16];  /* failed + rejected + cancelled, by ReqFailReason */
    int64_t wasted_tokens;           /* prompt and output tokens computed for attempts that did not complete */
    int64_t prompt_tokens_scheduled, cached_prompt_tokens; /* prefix caching: of requests scheduled */
    int64_t preemptions;
    int64_t total_input_tokens;      /* of completed requests */
    int64_t total_output_tokens;     /* of completed requests */
    int64_t generated_tokens;        /* all tokens emitted, failed requests included */
    int64_t padding_prefill_tokens;  /* prompt slots computed for padding */
    int64_t padding_decode_tokens;   /* decode slots of finished members in static batches */
    int64_t computed_tokens;         /* every token slot computed, padding included */
    int64_t steps, iterations;
    double first_arrival_s, last_arrival_s, last_finish_s;
    double e2e_sum_all_s;            /* response time of every served request (done or failed) */
    double max_wait_s;               /* longest arrival -> first scheduled */
    double wait_sum_s;               /* sum of arrival -> first scheduled, completed requests */
    /* Time integrals for Little's law: queue and system sizes over time. */
    double queue_area, system_area;  /* request-seconds */
    double area_last_s;              /* time the integrals reach */
    SloSpec slo;
    FILE *requests_csv;              /* optional */
    /* Finished requests and gaps are accounted by the metrics thread
     * (metrics_pipe.h): the fields it writes (the vectors, the histogram,
     * the counts and sums of finished requests) are read only after
     * metrics_drain.  The engine thread owns the rest. */
    struct MetricsPipe *pipe;
    struct MetricsPipeCursor *cursor; /* the pipe's free space: events go there inline */
    bool threaded;                   /* account on a thread (set before the first event) */
    char *text;                      /* the thread's requests.csv rows not yet written */
    size_t text_len;
    RequestsCsvOrder order;          /* the thread's rows waiting for a smaller id */
    FILE *timeseries_csv;            /* optional: rows of metrics_sample, the thread's */
    struct MetricsSample *ts_last;   /* engine thread: each instance's last row written */
    size_t ts_last_cap;              /* entries; instance < 0: none written yet */
    char *ts_text;                   /* its rows not yet written */
    size_t ts_text_len;
    StrTab sessions;                 /* engine thread interns; the strings never move (strtab.h) */
} Metrics;

/* One time-series row (timeseries.csv), formatted by the metrics thread.
 * Run-length form: an instance's row is written at the first tick and then
 * only at ticks where one of its values differs from its previous row; a
 * tick with no row for an instance holds that instance's previous row. */
typedef struct MetricsSample {
    double time_s;                   /* simulated seconds */
    int64_t instance, queued, running, kv_tokens_used, in_system;
    int64_t finished;                /* requests finished on this instance so far */
    int64_t failed;                  /* of them not done (failed, rejected, cancelled) */
    int64_t cached_blocks;           /* prefix-cache entries (held or free); -1 when caching is off */
    double kv_utilisation;           /* fraction, to 1e-6; -1 when unknown */
} MetricsSample;

void metrics_init(Metrics *m, const SloSpec *slo, FILE *requests_csv);
void metrics_free(Metrics *m);
/* Account finished requests and gaps on a thread (run, replay), or at once
 * (the default: sweeps and plans run many engines on threads of their own). */
void metrics_set_threaded(Metrics *m, bool threaded);
/* Stream one row per finished request to `f` (header written now).  `f` is
 * the metrics thread's until metrics_drain() or metrics_free(). */
void metrics_set_requests_csv(Metrics *m, FILE *f);
/* Wait until every event is accounted and every requests.csv row handed to
 * the FILE (fwrite, not fflush).  The engine calls it when a run ends; no
 * metrics_on_finish/add_itl may follow.  Idempotent. */
void metrics_drain(Metrics *m);
/* Rows of metrics_sample go to `f` (its header already written), from the
 * metrics thread: the FILE is the thread's until metrics_drain(). */
void metrics_set_timeseries_csv(Metrics *m, FILE *f);
/* A tick's row for one instance: written only when it differs from the
 * instance's previous row (or is its first); true when written. */
bool metrics_sample(Metrics *m, const MetricsSample *s);
void metrics_on_arrival(Metrics *m, const Request *r);
/* A request reached done, failed or rejected. */
void metrics_on_finish(Metrics *m, const Request *r);
void metrics_add_itl(Metrics *m, double gap_s, double weight);
/* Gaps a + b j, j = 0..count-1, each with `weight` (a linear run of iterations). */
void metrics_add_itl_linear(Metrics *m, double a, double b, int64_t count, double weight);
/* Extend the time integrals to now_s with the sizes that held since the last call. */
void metrics_advance(Metrics *m, double now_s, int64_t queued, int64_t in_system);
/* The summary with vllm bench serve's key names, plus servesim's own. */
json_t *metrics_summary_json(const Metrics *m);
/* numpy-style percentile of sorted values. */
double float_percentile_sorted(const float *sorted, size_t n, double q);

#endif
