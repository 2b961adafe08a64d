/* fuzz_azure.c: libFuzzer target for the azure trace reader. */
#include "fuzz_trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_trace_one("azure", NULL, data, size);
}
