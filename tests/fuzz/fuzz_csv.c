/* fuzz_csv.c: libFuzzer target for the generic mapped CSV reader. */
#include "fuzz_trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_trace_one("csv", "arrival=t:ms,input=in,output=out,model=m,text=x", data, size);
}
