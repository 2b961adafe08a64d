/* result_vllm.c: summary.vllm.json beside summary.json.  A separate file,
 * not a replacement: validate, plan and compare's directory scans read
 * summary.json; vLLM's tooling and `servesim compare` read this one. */
#include "result_vllm.h"

#include "fleet/vllm_result.h"

int results_write_vllm(ResultsDir *d, json_t *summary)
{
    json_t *flat = vllm_result_from_summary(summary);
    int r = results_write_json(d, "summary.vllm.json", flat);
    json_decref(flat);
    return r;
}
