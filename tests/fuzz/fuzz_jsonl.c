/* fuzz_jsonl.c: libFuzzer target for the jsonl trace reader. */
#include "fuzz_trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_trace_one("jsonl", NULL, data, size);
}
