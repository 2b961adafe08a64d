/* requests_csv.h: requests.csv rows, formatted and written off the main thread.
 *
 * Formatting 17 numbers and writing ~130 bytes per finished request was a
 * sixth of a run.  The engine's thread now only copies the row's numbers
 * into a fixed-size record (RequestsCsvRecord) in a bounded ring of blocks;
 * a writer thread formats the blocks in order and fwrite()s them.  The bytes
 * are those the synchronous path writes (requests_csv_format_row for both),
 * in the same order.  Memory: REQUESTS_CSV_BLOCKS blocks of
 * REQUESTS_CSV_BLOCK_ROWS records, whatever the run's length.
 *
 * The FILE is the writer thread's until requests_csv_writer_finish(): call it
 * (or destroy) before reading, flushing or closing the FILE.  Write errors
 * stay on the FILE as before (ferror, and fclose's result). */
#ifndef SERVESIM_REQUESTS_CSV_H
#define SERVESIM_REQUESTS_CSV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define REQUESTS_CSV_BLOCK_ROWS 512 /* records handed over per lock round trip */
#define REQUESTS_CSV_BLOCKS 16      /* ring size (16 x 512 x 120 bytes: 960 KiB) */

/* The numbers of one row; the text fields are enum values. */
typedef struct RequestsCsvRecord {
    int64_t id;
    int64_t input_tokens, output_tokens, predicted_output_tokens, generated_tokens; /* tokens */
    int32_t instance, preemptions;
    uint8_t state, fail_reason;      /* ReqState, ReqFailReason */
    double arrival_s, first_scheduled_s, first_token_s, finish_s; /* simulated seconds */
    double ttft_s, tpot_s, e2e_s, itl_max_s;                       /* seconds; NaN when none */
} RequestsCsvRecord;

/* The column names, newline-terminated. */
extern const char requests_csv_header[];
/* Longest row requests_csv_format_row writes (bytes). */
#define REQUESTS_CSV_ROW_MAX 512
/* Write one row (newline-terminated) at p; returns its end. */
char *requests_csv_format_row(char *p, const RequestsCsvRecord *rec);

typedef struct RequestsCsvWriter RequestsCsvWriter;

/* Rows to `f` (the header is the caller's).  threaded = false, or when no
 * thread can be started: each push formats and writes at once.  0 always. */
int requests_csv_writer_create(RequestsCsvWriter **out, FILE *f, bool threaded);
/* Queue one row (waits when the ring is full). */
void requests_csv_writer_push(RequestsCsvWriter *w, const RequestsCsvRecord *rec);
/* Every pushed row written to the FILE (fwrite'd, not fflush'ed); the
 * thread ends.  No push after it.  Idempotent. */
void requests_csv_writer_finish(RequestsCsvWriter *w);
/* finish, then free; *w = NULL.  The FILE stays open. */
void requests_csv_writer_destroy(RequestsCsvWriter **w);

#endif
