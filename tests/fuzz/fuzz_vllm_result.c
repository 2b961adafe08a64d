/* fuzz_vllm_result.c: the vllm bench serve result reader (compare's and
 * validate's real side) and the summary -> flat writer on any bytes: every
 * input is read, or refused with a message; never a crash, a hang or an
 * out-of-bounds access. */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "common.h"
#include "fleet/vllm_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, 0, &jerr);
    if (!j) return 0;
    ss_error_clear();
    if (vllm_result_looks_like(j)) {
        VllmResult v;
        int r = vllm_result_read(&v, j, "fuzz.json");
        /* Refused: a message; read: metrics and the derived names. */
        SS_ASSERT(r ? ss_error_get()[0] != '\0' : json_is_object(v.metrics) && json_is_array(v.derived));
        if (!r) vllm_result_free(&v);
    }
    json_t *flat = vllm_result_from_summary(j); /* any shape: missing parts are null or left out */
    SS_ASSERT(json_is_object(flat));
    json_decref(flat);
    json_decref(j);
    return 0;
}
