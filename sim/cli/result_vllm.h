/* result_vllm.h: `servesim run --result-format vllm`: DIR/summary.vllm.json,
 * the summary in vllm bench serve's flat result schema (sim/fleet/vllm_result.h). */
#ifndef SERVESIM_RESULT_VLLM_H
#define SERVESIM_RESULT_VLLM_H

#include <jansson.h>

#include "results.h"

/* Written before summary.json, so that a summary.json in DIR still means
 * every file beside it is whole.  0 or a negative errno (message set). */
int results_write_vllm(ResultsDir *d, json_t *summary);

#endif
