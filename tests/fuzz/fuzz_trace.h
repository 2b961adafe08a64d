/* fuzz_trace.h: the one entry every trace-format fuzz target calls. */
#ifndef SERVESIM_FUZZ_TRACE_H
#define SERVESIM_FUZZ_TRACE_H

#include <stddef.h>
#include <stdint.h>

/* Read `data` as a trace of `format` to the end, once aborting on the first
 * bad row and once skipping bad rows with transforms on.  Returns 0; any
 * crash, leak or sanitizer report is the finding. */
int fuzz_trace_one(const char *format, const char *map, const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
