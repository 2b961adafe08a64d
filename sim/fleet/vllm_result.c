/* vllm_result.c: vllm bench serve's result JSON <-> servesim metrics
 * (vllm_result.h says what maps to what). */
#include "vllm_result.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Flat keys with the same name and meaning on both sides. */
static const char *const shared_keys[] = {
    "duration", "completed", "failed", "total_input_tokens", "total_output_tokens",
    "request_throughput", "request_goodput", "output_throughput", "total_token_throughput",
};

bool vllm_result_is_latency_stat(const char *key)
{
    static const char *const stats[] = { "mean_", "median_", "std_" };
    static const char *const metrics[] = { "ttft_ms", "tpot_ms", "itl_ms", "e2el_ms" };
    const char *p = NULL;
    for (size_t i = 0; i < SS_ARRAY_LEN(stats) && !p; i++)
        if (!strncmp(key, stats[i], strlen(stats[i]))) p = key + strlen(stats[i]);
    if (!p && key[0] == 'p' && isdigit((unsigned char)key[1])) { /* p99_, p99.9_ */
        p = key + 1;
        while (isdigit((unsigned char)*p) || *p == '.') p++;
        if (*p++ != '_') return false;
    }
    if (!p) return false;
    for (size_t i = 0; i < SS_ARRAY_LEN(metrics); i++)
        if (!strcmp(p, metrics[i])) return true;
    return false;
}

bool vllm_result_looks_like(json_t *j)
{
    return json_is_object(j) && !json_object_get(j, "metrics") &&
           (json_object_get(j, "completed") || json_object_get(j, "request_throughput") ||
            json_object_get(j, "ttfts"));
}

static const char *json_kind(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    default: return "a number";
    }
}

/* The summary keys: numbers (or null: request_goodput without --goodput). */
static int check_flat(json_t *j, const char *file)
{
    json_t *c = json_object_get(j, "completed"), *d = json_object_get(j, "duration");
    if (!json_is_integer(c) || json_integer_value(c) < 0)
        return ss_error_set(EINVAL, "%s: \"completed\" is %s: a vllm bench serve result counts its successful "
                            "requests there (an integer >= 0)", file, c ? json_kind(c) : "missing");
    if (!json_is_number(d) || !(json_number_value(d) >= 0))
        return ss_error_set(EINVAL, "%s: \"duration\" is %s: a vllm bench serve result gives the benchmark's "
                            "duration in seconds there (a number >= 0)", file, d ? json_kind(d) : "missing");
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        bool mapped = vllm_result_is_latency_stat(key);
        for (size_t i = 0; i < SS_ARRAY_LEN(shared_keys) && !mapped; i++) mapped = !strcmp(key, shared_keys[i]);
        if (mapped && !json_is_number(v) && !json_is_null(v))
            return ss_error_set(EINVAL, "%s: \"%s\" is %s, not a number", file, key, json_kind(v));
    }
    json_t *n = json_object_get(j, "num_prompts");
    if (n && !json_is_integer(n))
        return ss_error_set(EINVAL, "%s: \"num_prompts\" is %s, not an integer", file, json_kind(n));
    return 0;
}

typedef struct PerRequest {
    json_t *ttfts, *itls, *latencies, *output_lens, *errors; /* borrowed; NULL when absent */
    long long n;              /* their common length, -1 without them */
} PerRequest;

/* `key`: absent, or an array of `n` entries (the first array found sets n)
 * each passing `ok`. */
static int per_request_array(json_t *j, const char *key, const char *file, bool (*ok)(json_t *),
                             const char *want, PerRequest *pr, json_t **arr)
{
    json_t *v = json_object_get(j, key);
    *arr = NULL;
    if (!v) return 0;
    if (!json_is_array(v))
        return ss_error_set(EINVAL, "%s: \"%s\" is %s: vllm bench serve --save-detailed writes an array with "
                            "one entry per request", file, key, json_kind(v));
    long long n = (long long)json_array_size(v);
    if (pr->n >= 0 && n != pr->n)
        return ss_error_set(EINVAL, "%s: \"%s\" has %lld entries but the other per-request arrays %lld: "
                            "they must align, one entry per request", file, key, n, pr->n);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
        if (!ok(e))
            return ss_error_set(EINVAL, "%s: \"%s\"[%zu] is %s, not %s", file, key, i, json_kind(e), want);
    pr->n = n;
    *arr = v;
    return 0;
}

static bool is_seconds(json_t *e) { return json_is_number(e) && json_number_value(e) >= 0; }
static bool is_tokens(json_t *e) { return json_is_integer(e) && json_integer_value(e) >= 0; }
static bool is_error(json_t *e) { return json_is_string(e) || json_is_null(e); }
static bool is_gaps(json_t *e)
{
    size_t i;
    json_t *g;
    if (!json_is_array(e)) return false;
    json_array_foreach(e, i, g) if (!is_seconds(g)) return false;
    return true;
}

static int read_per_request(json_t *j, const char *file, PerRequest *pr)
{
    int r;
    pr->n = -1;
    if ((r = per_request_array(j, "ttfts", file, is_seconds, "seconds >= 0", pr, &pr->ttfts)) ||
        (r = per_request_array(j, "itls", file, is_gaps, "a list of inter-token gaps in seconds", pr, &pr->itls)) ||
        (r = per_request_array(j, "latencies", file, is_seconds, "seconds >= 0", pr, &pr->latencies)) ||
        (r = per_request_array(j, "output_lens", file, is_tokens, "a token count", pr, &pr->output_lens)) ||
        (r = per_request_array(j, "errors", file, is_error, "an error message (\"\" on success)", pr, &pr->errors)))
        return r;
    return 0;
}

typedef struct Samples { double *v; size_t n, cap; } Samples;

static void samples_add(Samples *s, double x)
{
    SS_GROW(s->v, s->cap, s->n + 1);
    s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile's default: linear between order statistics. */
static double percentile_sorted(const double *v, size_t n, double p)
{
    double pos = p / 100.0 * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n) return v[n - 1];
    return v[i] + (pos - (double)i) * (v[i + 1] - v[i]);
}

/* mean/median/std/p90/p99 of `metric` in ms from samples in seconds, for the
 * keys the file's summary did not give. */
static void put_stats(VllmResult *out, const char *metric, Samples *s)
{
    if (!s->n) return;
    qsort(s->v, s->n, sizeof(double), cmp_double);
    double sum = 0, m2 = 0;
    for (size_t i = 0; i < s->n; i++) sum += s->v[i];
    double mean = sum / (double)s->n;
    for (size_t i = 0; i < s->n; i++) m2 += (s->v[i] - mean) * (s->v[i] - mean);
    const char *stat[] = { "mean", "median", "std", "p90", "p99" };
    double value[] = { mean, percentile_sorted(s->v, s->n, 50), sqrt(m2 / (double)s->n),
                       percentile_sorted(s->v, s->n, 90), percentile_sorted(s->v, s->n, 99) };
    for (size_t k = 0; k < SS_ARRAY_LEN(stat); k++) {
        char key[64];
        snprintf(key, sizeof(key), "%s_%s_ms", stat[k], metric);
        if (json_object_get(out->metrics, key)) continue;
        json_object_set_new(out->metrics, key, json_real(1000 * value[k]));
        json_array_append_new(out->derived, json_string(key));
    }
}

/* Successful requests only: errors[i] empty, or every entry when the arrays
 * hold exactly `completed` requests and no errors.  TPOT and E2E as vLLM
 * defines them: (latency - ttft) / (output_len - 1), latency = ttft + the
 * gaps when "latencies" is absent (older vLLM). */
static void derive(VllmResult *out, const PerRequest *pr, long long completed)
{
    if (pr->n <= 0 || (!pr->errors && pr->n != completed)) return;
    Samples ttft = { 0 }, tpot = { 0 }, itl = { 0 }, e2el = { 0 };
    for (size_t i = 0; i < (size_t)pr->n; i++) {
        const char *err = pr->errors ? json_string_value(json_array_get(pr->errors, i)) : NULL;
        if (err && *err) continue;
        double t = pr->ttfts ? json_number_value(json_array_get(pr->ttfts, i)) : NAN, gaps = 0;
        json_t *g = pr->itls ? json_array_get(pr->itls, i) : NULL;
        for (size_t k = 0; k < json_array_size(g); k++) {
            double x = json_number_value(json_array_get(g, k));
            samples_add(&itl, x);
            gaps += x;
        }
        double lat = pr->latencies ? json_number_value(json_array_get(pr->latencies, i)) : g ? t + gaps : NAN;
        long long len = pr->output_lens ? (long long)json_integer_value(json_array_get(pr->output_lens, i)) : 0;
        if (isfinite(t)) samples_add(&ttft, t);
        if (isfinite(lat)) samples_add(&e2el, lat);
        if (isfinite(lat) && isfinite(t) && len > 1) samples_add(&tpot, (lat - t) / (double)(len - 1));
    }
    put_stats(out, "ttft", &ttft);
    put_stats(out, "tpot", &tpot);
    put_stats(out, "itl", &itl);
    put_stats(out, "e2el", &e2el);
    free(ttft.v);
    free(tpot.v);
    free(itl.v);
    free(e2el.v);
}

int vllm_result_read(VllmResult *out, json_t *j, const char *file)
{
    memset(out, 0, sizeof(*out));
    out->requests = out->num_prompts = -1;
    PerRequest pr;
    int r = check_flat(j, file);
    if (!r) r = read_per_request(j, file, &pr);
    json_t *extra = json_object_get(j, "servesim_metrics"), *man = json_object_get(j, "servesim_manifest");
    if (!r && ((extra && !json_is_object(extra)) || (man && !json_is_object(man))))
        r = ss_error_set(EINVAL, "%s: \"servesim_metrics\" and \"servesim_manifest\" must be objects", file);
    if (r) return r;
    out->metrics = json_object();
    out->derived = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        bool mapped = vllm_result_is_latency_stat(key);
        for (size_t i = 0; i < SS_ARRAY_LEN(shared_keys) && !mapped; i++) mapped = !strcmp(key, shared_keys[i]);
        if (mapped) json_object_set(out->metrics, key, v);
    }
    json_object_foreach(extra, key, v)
        if (!json_object_get(out->metrics, key)) json_object_set(out->metrics, key, v);
    derive(out, &pr, (long long)json_integer_value(json_object_get(j, "completed")));
    out->manifest = man ? json_incref(man) : NULL;
    out->simulated = man != NULL;
    out->requests = pr.n;
    json_t *np = json_object_get(j, "num_prompts");
    if (np) out->num_prompts = (long long)json_integer_value(np);
    snprintf(out->backend, sizeof(out->backend), "%s", json_string_value(json_object_get(j, "backend"))
             ? json_string_value(json_object_get(j, "backend")) : "?");
    snprintf(out->model_id, sizeof(out->model_id), "%s", json_string_value(json_object_get(j, "model_id"))
             ? json_string_value(json_object_get(j, "model_id")) : "?");
    return 0;
}

void vllm_result_free(VllmResult *r)
{
    if (r->metrics) json_decref(r->metrics);
    if (r->manifest) json_decref(r->manifest);
    if (r->derived) json_decref(r->derived);
    memset(r, 0, sizeof(*r));
}

/* vLLM's traffic keys: request_rate and burstiness are its Gamma arrival
 * process (shape = burstiness, 1 = Poisson), which servesim's workload
 * "gamma" / "exponential" gaps are; a trace, a windowed or Weibull workload
 * has no such pair: null. */
static void put_traffic(json_t *flat, json_t *man)
{
    json_t *arr = json_object_get(json_object_get(json_object_get(man, "input"), "params"), "arrivals");
    const char *gaps = json_string_value(json_object_get(arr, "gaps"));
    json_t *rate = json_object_get(arr, "rate");
    bool gamma = gaps && !strcmp(gaps, "gamma"), expo = gaps && !strcmp(gaps, "exponential");
    json_object_set_new(flat, "request_rate", rate && (gamma || expo) ? json_deep_copy(rate) : json_null());
    json_t *shape = json_object_get(arr, "shape");
    json_object_set_new(flat, "burstiness", gamma && rate && shape ? json_deep_copy(shape)
                                            : expo && rate ? json_real(1.0) : json_null());
    json_object_set_new(flat, "max_concurrency", json_null());
}

json_t *vllm_result_from_summary(json_t *summary)
{
    json_t *man = json_object_get(summary, "manifest"), *m = json_object_get(summary, "metrics");
    json_t *flat = json_object(), *rest = json_object();
    const char *sched = json_string_value(json_object_get(json_object_get(man, "sched"), "name"));
    json_t *model = json_object_get(man, "model");
    /* No "date": same inputs and seed give byte-identical files. */
    json_object_set_new(flat, "endpoint_type", json_string("servesim"));
    json_object_set_new(flat, "backend", json_string("servesim"));
    json_object_set_new(flat, "label", json_string(sched ? sched : "servesim"));
    json_object_set(flat, "model_id", model ? model : json_null());
    json_object_set(flat, "tokenizer_id", model ? model : json_null());
    json_t *arrived = json_object_get(m, "arrived");
    json_object_set(flat, "num_prompts", arrived ? arrived : json_null());
    put_traffic(flat, man);
    for (size_t i = 0; i < SS_ARRAY_LEN(shared_keys); i++) {
        json_t *v = json_object_get(m, shared_keys[i]);
        if (v) json_object_set(flat, shared_keys[i], v);
    }
    const char *key;
    json_t *v;
    json_object_foreach(m, key, v) {
        bool shared = false;
        for (size_t i = 0; i < SS_ARRAY_LEN(shared_keys) && !shared; i++) shared = !strcmp(key, shared_keys[i]);
        if (vllm_result_is_latency_stat(key)) json_object_set(flat, key, v);
        else if (!shared) json_object_set(rest, key, v);
    }
    json_object_set(flat, "servesim_manifest", man ? man : json_null());
    json_object_set_new(flat, "servesim_metrics", rest);
    json_t *run = json_object_get(summary, "run"), *stats = json_object_get(summary, "sched_stats");
    if (run) json_object_set(flat, "servesim_run", run);
    if (stats) json_object_set(flat, "servesim_sched_stats", stats);
    return flat;
}
