/* writer.h: write traces in BurstGPT's _1/_2 schema, or raw lines (JSONL),
 * plain or gzip (zlib).
 *
 *     Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
 *     0.000000,ChatGPT,17,230,247,Conversation log
 *
 * Timestamp is arrival_s with 6 decimals (microseconds; BurstGPT itself holds
 * whole seconds, our reader takes either).  A failed row is written as
 * BurstGPT marks it: Response tokens 0.  Gzip output carries no timestamp or
 * name in its header, so the same rows give the same bytes. */
#ifndef SERVESIM_WRITER_H
#define SERVESIM_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "trace.h"

typedef struct TraceWriter TraceWriter;

/* Does the name end in ".gz"? (gen's default for choosing gzip) */
bool trace_writer_gz_name(const char *path);

/* BurstGPT CSV with its header line.  "-" writes standard output. */
int trace_writer_open(TraceWriter **out, const char *path, bool gzip);
/* Lines as given (no header), for JSONL. */
int trace_writer_open_lines(TraceWriter **out, const char *path, bool gzip);
int trace_writer_row(TraceWriter *w, const TraceRow *row);
/* One JSONL row with prefix hashes, the keys jsonl's default --map reads:
 *   {"arrival_s":0.5,"model":"ChatGPT","log_type":"Conversation log",
 *    "prompt_tokens":700,"output_tokens":30,"session":"3","hash_ids":[..]}
 * (session only when the row has one).  The arrival is written to 17
 * significant digits, so it reads back exactly.  A failed row is written
 * with output_tokens 0: JSONL has no failure flag. */
int trace_writer_row_jsonl(TraceWriter *w, const TraceRow *row);
/* One line; the '\n' is added. */
int trace_writer_line(TraceWriter *w, const char *text, size_t len);
size_t trace_writer_rows(const TraceWriter *w);
/* Flush and close; reports a write error that buffering hid.  *w = NULL. */
int trace_writer_close(TraceWriter **w);

#endif
