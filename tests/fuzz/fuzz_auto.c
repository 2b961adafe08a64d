/* fuzz_auto.c: libFuzzer target for format detection (jsonl/csv fall-backs). */
#include "fuzz_trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_trace_one("auto", "arrival=t:iso,input=in,output=out", data, size);
}
