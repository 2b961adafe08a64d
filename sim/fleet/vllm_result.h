/* vllm_result.h: the result JSON of `vllm bench serve --save-result`
 * (vllm/benchmarks/serve.py: one flat object: duration, completed,
 * request_throughput, mean_ttft_ms, ..., and with --save-detailed the
 * per-request arrays ttfts, itls, latencies, output_lens, errors) read as
 * servesim metrics, and a servesim summary written in that schema.
 *
 * The mapping (docs/CI_GATE.md): the flat keys vLLM and servesim share keep
 * their names (both follow vllm bench serve); metrics vLLM's summary keys do
 * not give but its per-request arrays can (P90s, E2E without
 * --percentile-metrics e2el) are computed from the arrays as vLLM computes
 * its own (numpy: linear percentiles, population std, milliseconds). */
#ifndef SERVESIM_VLLM_RESULT_H
#define SERVESIM_VLLM_RESULT_H

#include <jansson.h>
#include <stdbool.h>

typedef struct VllmResult {
    json_t *metrics;          /* servesim metric names -> numbers or null (owned) */
    json_t *manifest;         /* servesim_manifest when servesim wrote the file, else NULL (owned) */
    json_t *derived;          /* names of the metrics computed from the per-request arrays (owned) */
    bool simulated;           /* written by `servesim run --result-format vllm` */
    long long requests;       /* length of the per-request arrays, -1 without them */
    long long num_prompts;    /* -1 when absent */
    char backend[64], model_id[192];
} VllmResult;

/* A JSON object that is not a servesim summary (no "metrics") but has
 * vllm bench serve's keys: "completed", "request_throughput" or "ttfts". */
bool vllm_result_looks_like(json_t *j);
/* Check and map `j` (the file's content; `file` names it in messages):
 * 0, or -EINVAL with a message naming the file and the field. */
int vllm_result_read(VllmResult *out, json_t *j, const char *file);
void vllm_result_free(VllmResult *r);
/* servesim's summary ({"manifest", "metrics", "run", ...}) in the flat
 * schema: vLLM's keys first, then servesim_manifest (seed, inputs, command),
 * servesim_metrics (what vLLM has no key for), servesim_run. */
json_t *vllm_result_from_summary(json_t *summary);
/* "mean_ttft_ms", "p99.9_itl_ms", ...: a latency statistic of vLLM's. */
bool vllm_result_is_latency_stat(const char *key);

#endif
