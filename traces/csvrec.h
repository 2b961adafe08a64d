/* csvrec.h: CSV records from a LineSrc.
 *
 * RFC 4180 through libcsv (strict mode) fed line by line, so that every
 * record knows the line it starts on.  A line without any '"' cannot hold a
 * quoted field, so it is split in place (fast path, no copy); a line with a
 * quote goes to libcsv, which may continue over following lines when a
 * quoted field holds a newline.  Both paths drop spaces and tabs around
 * unquoted fields, as libcsv does.  Blank lines are skipped. */
#ifndef SERVESIM_CSVREC_H
#define SERVESIM_CSVREC_H

#include <stdbool.h>
#include <stddef.h>

#include "linesrc.h"

typedef struct CsvRecord {
    char **field;   /* NUL-terminated; valid until the next csvrec_next() */
    size_t n;       /* number of fields */
    size_t line;    /* 1-based line the record starts on */
} CsvRecord;

typedef struct CsvRec CsvRec;

int csvrec_create(CsvRec **out, LineSrc *src);
void csvrec_destroy(CsvRec **c);
/* 1 with a record, 0 at the end, TRACE_BAD_ROW (malformed quoting, or after
 * csvrec_header a record with fewer or more fields than the header: message
 * `file:line: field: reason` set, the record skipped) or another negative errno. */
int csvrec_next(CsvRec *c, CsvRecord *rec);
/* Index of the field equal to `name` in a header record, or -1. */
int csvrec_find(const CsvRecord *header, const char *name);
/* A header's field names joined by ", " into buf (for messages). */
void csvrec_join(const CsvRecord *header, char *buf, size_t cap);
/* Read the header record into *header (valid until the next record):
 * -EINVAL with a message for an empty file or a malformed header.  From then
 * on every record must be as wide as the header. */
int csvrec_header(CsvRec *c, CsvRecord *header);
/* *idx = the column called `name`; a missing required column is -EINVAL with
 * `file:line: name: missing column (header: ...)`; optional ones give -1. */
int csvrec_column(const CsvRecord *header, const char *file, const char *name, bool required,
                  int *idx);
/* How many records went through libcsv (for the benchmark's report). */
size_t csvrec_slow_count(const CsvRec *c);

#endif
