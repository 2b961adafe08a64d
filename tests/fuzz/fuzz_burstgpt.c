/* fuzz_burstgpt.c: libFuzzer target for the burstgpt trace reader. */
#include "fuzz_trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_trace_one("burstgpt", NULL, data, size);
}
