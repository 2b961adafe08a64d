/* format.h: the TraceFormat plug-in interface (internal to traces/).
 *
 * One file per format (fmt_*.c) defines a const TraceFormat and gets one line
 * in trace_format_registry[] (reader.c).  A format only parses: it turns the
 * lines of a LineSrc into TraceRows plus the row's trace time.  Everything
 * that is the same for every format (sortedness, window, filters, speed-up,
 * cap, the bad-row and failed-row policies) lives in reader.c. */
#ifndef SERVESIM_TRACE_FORMAT_H
#define SERVESIM_TRACE_FORMAT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linesrc.h"
#include "trace.h"

/* A malformed row: the message `file:line: field: reason` is set and the
 * row consumed, so reading may go on under --bad-rows skip.  Every other
 * negative errno is fatal. */
#define TRACE_BAD_ROW (-EBADMSG)

typedef struct TraceFormat {
    const char *name;
    const char *help;       /* one line; names the columns or --map keys */
    size_t priv_size;       /* bytes of private state, zeroed before open() */
    /* How sure is this format that `first_line` (the header, or the first
     * row) is its own?  0 = not mine; a higher score wins auto-detection. */
    int (*probe)(const char *first_line, size_t len, const char *map);
    /* Read the header if the format has one.  `time_field` (64 bytes) gets
     * the name of the arrival column, for the reader's messages. */
    int (*open)(void *priv, LineSrc *src, const char *map, char *time_field);
    /* 1 with a row and its trace time t_s (seconds, before speed-up; not yet
     * relative to the first kept row), 0 at the end, TRACE_BAD_ROW, or a
     * fatal negative errno.  row->arrival_s is left to the reader. */
    int (*next)(void *priv, TraceRow *row, double *t_s);
    void (*close)(void *priv);
} TraceFormat;

extern const TraceFormat trace_format_burstgpt;
extern const TraceFormat trace_format_azure;
extern const TraceFormat trace_format_csv;
extern const TraceFormat trace_format_jsonl;

/* NULL-terminated, in auto-detection tie-break order. */
extern const TraceFormat *const trace_format_registry[];
const TraceFormat *trace_format_find(const char *name);

/* Open a trace held in memory (tests, fuzz targets).  `data` must outlive
 * the reader; `name` stands for the file name in messages. */
int trace_reader_open_mem(TraceReader **out, const void *data, size_t len, const char *name,
                          const TraceOpenOpts *opts);

/* ---- helpers shared by the formats (fields.c) ---- */

/* Set the bad-row message `file:line: field: reason` and return TRACE_BAD_ROW. */
int trace_bad_row(const char *file, size_t line, const char *field, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Token count: a decimal integer in [0, INT32_MAX] (spaces around allowed).
 * Returns 0 or TRACE_BAD_ROW with the message set. */
int trace_field_tokens(const char *s, const char *file, size_t line, const char *field,
                       int64_t *out);
/* Seconds as a finite number >= 0 (integer fast path, strtod otherwise). */
int trace_field_seconds(const char *s, const char *file, size_t line, const char *field,
                        double *out);
/* "YYYY-MM-DD[ T]HH:MM:SS[.f{1,9}][Z|+HH:MM|-HH:MM]" -> ns since 1970-01-01
 * UTC, in integers only.  0 or -EINVAL. */
int trace_parse_iso_ns(const char *s, int64_t *ns);
/* Copy at most cap-1 bytes of src and NUL-terminate. */
void trace_copy_str(char *dst, size_t cap, const char *src);

/* The --map of the generic csv and jsonl formats. */
typedef enum TraceTimeUnit { TRACE_UNIT_S, TRACE_UNIT_MS, TRACE_UNIT_US, TRACE_UNIT_ISO } TraceTimeUnit;

typedef struct TraceMap {
    char arrival[64];     /* column/key; "-" = no arrival, every row at 0 */
    TraceTimeUnit unit;
    char input[64], output[64];
    char model[64], app[64], text[64], instruction[64], log_type[64]; /* "" = absent */
    char session[64];     /* jsonl: a session key (string or integer); "" = absent */
    char hash_ids[64];    /* jsonl: an array of prefix block hashes (integers >= 0); "" = absent */
    bool hash_ids_optional; /* a row without the key has no hashes (the default map);
                             * otherwise a mapped key missing is a bad row */
} TraceMap;

/* ISO arrivals are made relative to the first row, in integer ns. */
typedef struct TraceTimeBase {
    int64_t first_ns;
    bool have_first;
} TraceTimeBase;

/* Seconds per unit of a numeric arrival (1, 1e-3, 1e-6). */
double trace_unit_scale(TraceTimeUnit u);
/* The text of an arrival field in the map's unit -> trace seconds: numbers
 * are scaled as they are, ISO timestamps counted from the first row. */
int trace_map_time(const TraceMap *m, TraceTimeBase *base, const char *s, const char *file,
                   size_t line, double *t_s);

/* Parse "arrival=ts:ms,input=prompt_len,output=output_len[,model=..]".
 * arrival, input and output are required. */
int trace_map_parse(const char *spec, TraceMap *m);

#endif
