#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "csv_fmt.h"
#include "metrics_pipe.h"
#include "order_stats.h"
#include "requests_csv.h"

#define FLOAT_CHUNK ((size_t)1 << 20) /* floats per chunk */

static void float_vec_push(FloatVec *v, double x)
{
    size_t slot = v->n % FLOAT_CHUNK;
    if (slot == 0) {
        SS_GROW(v->chunks, v->cap_chunks, v->n_chunks + 1);
        v->chunks[v->n_chunks++] = ss_malloc(FLOAT_CHUNK * sizeof(float));
    }
    v->chunks[v->n / FLOAT_CHUNK][slot] = (float)x;
    v->n++;
}

static void float_vec_free(FloatVec *v)
{
    for (size_t i = 0; i < v->n_chunks; i++) free(v->chunks[i]);
    free(v->chunks);
    *v = (FloatVec){ 0 };
}

/* One contiguous copy (for sorting); the caller frees it. */
enum { EV_FINISH = 1, EV_ITL, EV_ITL_LINEAR, EV_SAMPLE };

typedef struct EvItl { double gap_s, weight; } EvItl;
typedef struct EvItlLinear { double a, b, weight; int64_t count; } EvItlLinear;

#define TEXT_BYTES ((size_t)64 << 10) /* the thread's requests.csv buffer */

static void text_flush(Metrics *m)
{
    if (m->text_len) fwrite(m->text, 1, m->text_len, m->requests_csv);
    m->text_len = 0;
}

static void ts_flush(Metrics *m)
{
    if (m->ts_text_len) fwrite(m->ts_text, 1, m->ts_text_len, m->timeseries_csv);
    m->ts_text_len = 0;
}

/* The metrics thread: one timeseries.csv row. */
static void apply_sample(Metrics *m, const MetricsSample *s)
{
    if (TEXT_BYTES - m->ts_text_len < 256) ts_flush(m);
    char *p = m->ts_text + m->ts_text_len;
    /* Past 1e9 s csv_put_seconds keeps 9 significant digits: ticks 1 s apart
     * would print alike.  Microseconds there (a double's resolution ~1e-7). */
    if (fabs(s->time_s) >= 1e15) p += sprintf(p, "%.17g", s->time_s);
    else if (fabs(s->time_s) >= 1e9) p += sprintf(p, "%.6f", s->time_s);
    else p = csv_put_seconds(p, s->time_s);
    *p++ = ',';
    p = csv_put_i64(p, s->instance); *p++ = ',';
    p = csv_put_i64(p, s->queued); *p++ = ',';
    p = csv_put_i64(p, s->running); *p++ = ',';
    p = csv_put_i64(p, s->kv_tokens_used); *p++ = ',';
    /* utilisation to 1e-6: the fixed-point printer at micro resolution */
    p = csv_put_seconds(p, s->kv_utilisation); *p++ = ',';
    p = csv_put_i64(p, s->in_system); *p++ = ',';
    p = csv_put_i64(p, s->finished); *p++ = ',';
    p = csv_put_i64(p, s->failed); *p++ = ',';
    p = csv_put_i64(p, s->cached_blocks); *p++ = '\n';
    m->ts_text_len = (size_t)(p - m->ts_text);
}

static bool meets_slo(const SloSpec *s, double ttft, double tpot, double e2e, bool has_tpot)
{
    if (s->ttft_s > 0 && ttft > s->ttft_s) return false;
    if (s->tpot_s > 0 && has_tpot && tpot > s->tpot_s) return false;
    if (s->e2el_s > 0 && e2e > s->e2el_s) return false;
    return true;
}

/* One requests.csv row, in id order (requests_csv_order_add). */
static void emit_row(void *ctx, const RequestsCsvRecord *rec)
{
    Metrics *m = ctx;
    if (TEXT_BYTES - m->text_len < REQUESTS_CSV_ROW_MAX) text_flush(m);
    m->text_len = (size_t)(requests_csv_format_row(m->text + m->text_len, rec) - m->text);
}

/* The pipe is finished: rows still waiting (an abandoned run's) go out. */
static void order_flush(Metrics *m)
{
    if (!m->requests_csv) return;
    requests_csv_order_flush(&m->order, emit_row, m);
    text_flush(m);
}

/* The metrics thread: one finished request. */
static void apply_finish(Metrics *m, const RequestsCsvRecord *q)
{
    m->preemptions += q->preemptions;
    m->generated_tokens += q->generated_tokens;
    if (q->finish_s > m->last_finish_s) m->last_finish_s = q->finish_s;
    /* Response time (Magnus): every request that was served, failed ones
     * included; a rejected request was never served and would count as ~0. */
    if (q->state != REQ_REJECTED) m->e2e_sum_all_s += q->finish_s - q->arrival_s;
    if (q->first_scheduled_s >= 0 && q->first_scheduled_s - q->arrival_s > m->max_wait_s)
        m->max_wait_s = q->first_scheduled_s - q->arrival_s;
    RequestsCsvRecord rec = *q; /* + its latencies */
    rec.ttft_s = rec.tpot_s = rec.e2e_s = NAN;
    bool has_tpot = false;
    switch ((ReqState)q->state) {
    case REQ_DONE:
        m->completed++;
        m->total_input_tokens += q->input_tokens;
        m->wait_sum_s += q->first_scheduled_s - q->arrival_s;
        m->total_output_tokens += q->generated_tokens;
        rec.ttft_s = q->first_token_s - q->arrival_s;
        rec.e2e_s = q->finish_s - q->arrival_s;
        float_vec_push(&m->ttft_s, rec.ttft_s);
        float_vec_push(&m->e2e_s, rec.e2e_s);
        if (q->generated_tokens > 1) {
            rec.tpot_s = (rec.e2e_s - rec.ttft_s) / (double)(q->generated_tokens - 1);
            float_vec_push(&m->tpot_s, rec.tpot_s);
            has_tpot = true;
        }
        if (meets_slo(&m->slo, rec.ttft_s, rec.tpot_s, rec.e2e_s, has_tpot)) m->good++;
        break;
    case REQ_FAILED:
        m->failed++;
        if (q->fail_reason == REQ_FAIL_TRUNCATED) m->truncated++;
        break;
    case REQ_REJECTED:
        m->rejected++;
        if ((unsigned)q->fail_reason < SS_ARRAY_LEN(m->rejected_by_reason)) m->rejected_by_reason[q->fail_reason]++;
        break;
    case REQ_CANCELLED:
        m->cancelled++;
        break;
    default:
        SS_ASSERT(!"metrics_on_finish: request not finished");
    }
    if (q->first_scheduled_s >= 0) { /* its prompt reached the cache lookup */
        m->prompt_tokens_scheduled += q->input_tokens;
        m->cached_prompt_tokens += q->cached_tokens;
    }
    if (q->state != REQ_DONE) {
        if ((unsigned)q->fail_reason < SS_ARRAY_LEN(m->failures_by_reason)) m->failures_by_reason[q->fail_reason]++;
        m->wasted_tokens += q->wasted_tokens;
    }

    if (m->requests_csv) requests_csv_order_add(&m->order, &rec, emit_row, m);
}

static void apply_event(void *ctx, int kind, const void *payload)
{
    Metrics *m = ctx;
    switch (kind) {
    case EV_FINISH:
        apply_finish(m, payload);
        break;
    case EV_ITL: {
        const EvItl *v = payload;
        log_histogram_add(&m->itl_s, v->gap_s, v->weight);
        break;
    }
    case EV_ITL_LINEAR: {
        const EvItlLinear *v = payload;
        log_histogram_add_linear(&m->itl_s, v->a, v->b, v->count, v->weight);
        break;
    }
    case EV_SAMPLE:
        apply_sample(m, payload);
        break;
    default:
        SS_ASSERT(!"metrics: unknown event");
    }
}

static void apply_block_done(void *ctx)
{
    Metrics *m = ctx;
    if (m->requests_csv) text_flush(m);
    if (m->timeseries_csv) ts_flush(m);
}

void metrics_init(Metrics *m, const SloSpec *slo, FILE *requests_csv)
{
    *m = (Metrics){ 0 };
    if (slo) m->slo = *slo;
    /* 0.1 us .. 1e5 s, 0.2 % wide buckets: percentiles within 0.1 %. */
    log_histogram_init(&m->itl_s);
    m->first_arrival_s = INFINITY;
    m->last_finish_s = -INFINITY;
    m->text = ss_malloc(TEXT_BYTES);
    m->ts_text = ss_malloc(TEXT_BYTES);
    metrics_set_requests_csv(m, requests_csv);
}

void metrics_set_threaded(Metrics *m, bool threaded)
{
    SS_ASSERT(!m->pipe); /* before the first event */
    m->threaded = threaded;
}

/* The pipe starts with the first event: a requests.csv FILE set before it
 * (engine_set_outputs) is the thread's from then on. */
#if defined(__GNUC__)
#define METRICS_COLD __attribute__((noinline, cold))
#define METRICS_INLINE __attribute__((always_inline)) inline
#else
#define METRICS_COLD
#define METRICS_INLINE inline
#endif

static METRICS_COLD void pipe_start(Metrics *m)
{
    metrics_pipe_create(&m->pipe, apply_event, apply_block_done, m, m->threaded);
    m->cursor = metrics_pipe_cursor(m->pipe);
}

/* The first event and a full block take the calls out of line. */
static METRICS_COLD void push_slow(Metrics *m, int kind, const void *payload, size_t bytes)
{
    if (!m->pipe) pipe_start(m);
    void *slot = metrics_pipe_slot(m->cursor, kind, bytes);
    if (slot) memcpy(slot, payload, bytes);
    else metrics_pipe_push(m->pipe, kind, payload, bytes);
}

/* Inlined at each call with a constant size: the copy is a few stores
 * (forced: LTO kept one shared copy, whose memcpy of a variable size and
 * call cost about 40 instructions per event). */
static METRICS_INLINE void push(Metrics *m, int kind, const void *payload, size_t bytes)
{
    void *slot = m->pipe ? metrics_pipe_slot(m->cursor, kind, bytes) : NULL;
    if (slot) memcpy(slot, payload, bytes);
    else push_slow(m, kind, payload, bytes);
}

/* Before an output FILE changes hands: what was queued for the old one is
 * written out, and the next event starts a new pipe. */
static void pipe_end(Metrics *m)
{
    metrics_pipe_destroy(&m->pipe); /* applies every queued event first */
    order_flush(m);
    m->cursor = NULL;
}

void metrics_set_requests_csv(Metrics *m, FILE *requests_csv)
{
    pipe_end(m);
    m->requests_csv = requests_csv;
    if (requests_csv) fputs(requests_csv_header, requests_csv);
}

void metrics_set_timeseries_csv(Metrics *m, FILE *f)
{
    pipe_end(m);
    m->timeseries_csv = f;
}

static bool sample_unchanged(const MetricsSample *a, const MetricsSample *b)
{
    return a->instance == b->instance && a->queued == b->queued && a->running == b->running &&
           a->kv_tokens_used == b->kv_tokens_used && a->in_system == b->in_system &&
           a->finished == b->finished && a->failed == b->failed && a->kv_utilisation == b->kv_utilisation &&
           a->cached_blocks == b->cached_blocks;
}

/* On the engine thread, before the pipe: an unchanged row costs a compare,
 * not an event and a line (100000 idle instances write nothing per tick). */
bool metrics_sample(Metrics *m, const MetricsSample *s)
{
    SS_ASSERT(s->instance >= 0);
    size_t i = (size_t)s->instance;
    if (i >= m->ts_last_cap) {
        size_t old_cap = m->ts_last_cap;
        SS_GROW(m->ts_last, m->ts_last_cap, i + 1);
        for (size_t j = old_cap; j < m->ts_last_cap; j++) m->ts_last[j].instance = -1;
    }
    if (sample_unchanged(&m->ts_last[i], s)) return false;
    m->ts_last[i] = *s;
    push(m, EV_SAMPLE, s, sizeof(*s));
    return true;
}

void metrics_drain(Metrics *m)
{
    if (m->pipe) metrics_pipe_finish(m->pipe);
    order_flush(m);
}

void metrics_free(Metrics *m)
{
    pipe_end(m);
    float_vec_free(&m->ttft_s);
    float_vec_free(&m->tpot_s);
    float_vec_free(&m->e2e_s);
    log_histogram_free(&m->itl_s);
    requests_csv_order_free(&m->order);
    free(m->text);
    m->text = NULL;
    free(m->ts_text);
    m->ts_text = NULL;
    free(m->ts_last);
    m->ts_last = NULL;
    m->ts_last_cap = 0;
    strtab_free(&m->sessions); /* after the thread: its records point into it */
}

void metrics_on_arrival(Metrics *m, const Request *r)
{
    if (m->arrived++ == 0) m->area_last_s = r->arrival_s; /* integrals start here */
    if (r->arrival_s < m->first_arrival_s) m->first_arrival_s = r->arrival_s;
    if (r->arrival_s > m->last_arrival_s) m->last_arrival_s = r->arrival_s;
}

void metrics_on_finish(Metrics *m, const Request *r)
{
    RequestsCsvRecord rec = {
        .id = r->id, .instance = r->instance, .arrival_s = r->arrival_s,
        .input_tokens = r->input_tokens, .output_tokens = r->output_tokens,
        .predicted_output_tokens = r->predicted_output_tokens,
        .generated_tokens = r->generated_tokens,
        .state = (uint8_t)r->state, .fail_reason = (uint8_t)r->fail_reason,
        .first_scheduled_s = r->first_scheduled_s, .first_token_s = r->first_token_s,
        .finish_s = r->finish_s, .itl_max_s = r->itl_max_s, .preemptions = r->preemptions,
        .session = strtab_get(&m->sessions, r->session),
        .original_id = r->original_id, .original_arrival_s = r->original_arrival_s,
        .attempt = r->attempt, .cached_tokens = r->cached_tokens,
        .wasted_tokens = r->state == REQ_DONE ? 0 : (int64_t)r->prefill_computed_tokens + r->generated_tokens,
    };
    push(m, EV_FINISH, &rec, sizeof(rec));
}

void metrics_add_itl(Metrics *m, double gap_s, double weight)
{
    EvItl v = { gap_s, weight };
    push(m, EV_ITL, &v, sizeof(v));
}

void metrics_add_itl_linear(Metrics *m, double a, double b, int64_t count, double weight)
{
    EvItlLinear v = { a, b, weight, count };
    push(m, EV_ITL_LINEAR, &v, sizeof(v));
}

void metrics_advance(Metrics *m, double now_s, int64_t queued, int64_t in_system)
{
    double dt = now_s - m->area_last_s;
    if (dt > 0) {
        m->queue_area += dt * (double)queued;
        m->system_area += dt * (double)in_system;
    }
    m->area_last_s = now_s;
}

double float_percentile_sorted(const float *sorted, size_t n, double q)
{
    if (n == 0) return NAN;
    double pos = q / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    double frac = pos - (double)lo;
    double a = sorted[lo];
    if (lo + 1 >= n || frac == 0) return a;
    return a + ((double)sorted[lo + 1] - a) * frac;
}

static void put_number(json_t *o, const char *key, double x)
{
    json_object_set_new(o, key, isfinite(x) ? json_real(x) : json_null());
}

/* mean/median/std/p90/p99 in milliseconds, vLLM's key names. */
/* numpy-style (linear) percentiles q[] of the vector: the same values as
 * float_percentile_sorted on the sorted vector, from its order statistics. */
static void float_vec_percentiles(const FloatVec *vec, const double *q, int nq, double *out)
{
    size_t n = vec->n, ranks[FLOAT_ORDER_STATS_MAX];
    int nr = 0;
    for (int i = 0; i < nq; i++) {
        if (!n) continue;
        size_t lo = (size_t)floor(q[i] / 100.0 * (double)(n - 1));
        ranks[nr++] = lo;
        if (lo + 1 < n) ranks[nr++] = lo + 1;
    }
    for (int i = 1; i < nr; i++) /* a few: insertion sort */
        for (int j = i; j > 0 && ranks[j - 1] > ranks[j]; j--) {
            size_t t = ranks[j]; ranks[j] = ranks[j - 1]; ranks[j - 1] = t;
        }
    float at[FLOAT_ORDER_STATS_MAX];
    if (nr) float_order_stats(vec->chunks, FLOAT_CHUNK, n, ranks, nr, at);
    for (int i = 0; i < nq; i++) {
        if (!n) { out[i] = NAN; continue; }
        double pos = q[i] / 100.0 * (double)(n - 1);
        size_t lo = (size_t)floor(pos);
        double frac = pos - (double)lo, a = NAN, b = NAN;
        for (int r = 0; r < nr; r++) {
            if (ranks[r] == lo) a = at[r];
            if (ranks[r] == lo + 1) b = at[r];
        }
        out[i] = (lo + 1 >= n || frac == 0) ? a : a + (b - a) * frac;
    }
}

static void put_float_stats(json_t *o, const char *metric, const FloatVec *vec)
{
    char key[64];
    size_t n = vec->n;
    double sum = 0, sum_sq = 0;
    /* In insertion order, chunk by chunk: the sums of a gathered vector. */
    for (size_t done = 0, c = 0; done < n; c++) {
        size_t take = SS_MIN(FLOAT_CHUNK, n - done);
        for (size_t i = 0; i < take; i++) sum += vec->chunks[c][i];
        done += take;
    }
    double mean = n ? sum / (double)n : NAN;
    for (size_t done = 0, c = 0; done < n; c++) {
        size_t take = SS_MIN(FLOAT_CHUNK, n - done);
        for (size_t i = 0; i < take; i++) {
            const float v = vec->chunks[c][i];
            SS_ASSERT(v >= 0); /* latencies */
            sum_sq += (v - mean) * (v - mean);
        }
        done += take;
    }
    double sd = n ? sqrt(sum_sq / (double)n) : NAN;
    static const double q[3] = { 50, 90, 99 };
    double pct[3];
    float_vec_percentiles(vec, q, 3, pct);
    snprintf(key, sizeof(key), "mean_%s_ms", metric);   put_number(o, key, 1e3 * mean);
    snprintf(key, sizeof(key), "median_%s_ms", metric); put_number(o, key, 1e3 * pct[0]);
    snprintf(key, sizeof(key), "std_%s_ms", metric);    put_number(o, key, 1e3 * sd);
    snprintf(key, sizeof(key), "p90_%s_ms", metric);    put_number(o, key, 1e3 * pct[1]);
    snprintf(key, sizeof(key), "p99_%s_ms", metric);    put_number(o, key, 1e3 * pct[2]);
}

json_t *metrics_summary_json(const Metrics *m)
{
    json_t *o = json_object();
    double duration = m->completed + m->failed > 0 ? m->last_finish_s - m->first_arrival_s : 0;
    double inv_duration = duration > 0 ? 1.0 / duration : NAN;
    put_number(o, "duration", duration);
    json_object_set_new(o, "completed", json_integer(m->completed));
    json_object_set_new(o, "total_input_tokens", json_integer(m->total_input_tokens));
    json_object_set_new(o, "total_output_tokens", json_integer(m->total_output_tokens));
    put_number(o, "request_throughput", m->completed * inv_duration);
    if (m->slo.ttft_s > 0 || m->slo.tpot_s > 0 || m->slo.e2el_s > 0)
        put_number(o, "request_goodput", m->good * inv_duration);
    else
        json_object_set_new(o, "request_goodput", json_null());
    put_number(o, "output_throughput", m->total_output_tokens * inv_duration);
    put_number(o, "total_token_throughput",
               (m->total_input_tokens + m->total_output_tokens) * inv_duration);
    put_float_stats(o, "ttft", &m->ttft_s);
    put_float_stats(o, "tpot", &m->tpot_s);
    const LogHistogram *h = &m->itl_s;
    put_number(o, "mean_itl_ms", 1e3 * log_histogram_mean(h));
    put_number(o, "median_itl_ms", 1e3 * log_histogram_percentile(h, 50));
    put_number(o, "std_itl_ms", 1e3 * log_histogram_std(h));
    put_number(o, "p90_itl_ms", 1e3 * log_histogram_percentile(h, 90));
    put_number(o, "p99_itl_ms", 1e3 * log_histogram_percentile(h, 99));
    put_float_stats(o, "e2el", &m->e2e_s);
    /* servesim's own: Magnus's and BurstGPT's measures. */
    json_object_set_new(o, "arrived", json_integer(m->arrived));
    json_object_set_new(o, "failed", json_integer(m->failed));
    json_object_set_new(o, "rejected", json_integer(m->rejected));
    /* Every rejection has a reason, always listed (zeros included): nothing is dropped unsaid. */
    json_t *why = json_object();
    static const ReqFailReason reasons[] = { REQ_REJECT_TOO_LONG, REQ_REJECT_EMPTY_PROMPT, REQ_REJECT_QUEUE_FULL,
                                             REQ_REJECT_QUEUE_TIMEOUT };
    for (size_t i = 0; i < SS_ARRAY_LEN(reasons); i++)
        json_object_set_new(why, request_fail_reason_name(reasons[i]), json_integer(m->rejected_by_reason[reasons[i]]));
    json_object_set_new(o, "rejected_by_reason", why);
    json_object_set_new(o, "truncated", json_integer(m->truncated));
    json_object_set_new(o, "preemptions", json_integer(m->preemptions));
    json_object_set_new(o, "cancelled", json_integer(m->cancelled));
    /* Every attempt that did not complete, by reason (zeros included). */
    json_t *fails = json_object();
    for (int k = REQ_FAIL_NONE + 1; k < REQ_FAIL_REASONS; k++)
        json_object_set_new(fails, request_fail_reason_name((ReqFailReason)k), json_integer(m->failures_by_reason[k]));
    json_object_set_new(o, "failures_by_reason", fails);
    json_object_set_new(o, "wasted_tokens", json_integer(m->wasted_tokens));
    /* Prompt tokens found in the prefix cache at first admission, of those scheduled. */
    put_number(o, "prefix_cache_hit_rate", m->prompt_tokens_scheduled
               ? (double)m->cached_prompt_tokens / (double)m->prompt_tokens_scheduled : NAN);
    put_number(o, "failure_rate", m->arrived ? (double)(m->failed + m->rejected + m->cancelled) / m->arrived : NAN);
    put_number(o, "valid_token_throughput", m->total_output_tokens * inv_duration);
    json_object_set_new(o, "padding_prefill_tokens", json_integer(m->padding_prefill_tokens));
    json_object_set_new(o, "padding_decode_tokens", json_integer(m->padding_decode_tokens));
    json_object_set_new(o, "computed_tokens", json_integer(m->computed_tokens));
    put_number(o, "padding_share", m->computed_tokens
               ? (double)(m->padding_prefill_tokens + m->padding_decode_tokens) / m->computed_tokens : NAN);
    put_number(o, "mean_response_time_ms",
               m->completed + m->failed ? 1e3 * m->e2e_sum_all_s / (double)(m->completed + m->failed) : NAN);
    put_number(o, "mean_wait_ms", m->completed ? 1e3 * m->wait_sum_s / m->completed : NAN);
    put_number(o, "max_wait_ms", 1e3 * m->max_wait_s);
    double span = m->area_last_s - m->first_arrival_s;
    put_number(o, "mean_queue_length", span > 0 ? m->queue_area / span : NAN);
    put_number(o, "mean_in_system", span > 0 ? m->system_area / span : NAN);
    json_object_set_new(o, "steps", json_integer(m->steps));
    json_object_set_new(o, "iterations", json_integer(m->iterations));
    return o;
}
