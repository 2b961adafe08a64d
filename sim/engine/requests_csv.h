/* requests_csv.h: requests.csv rows.
 *
 * A finished request's numbers travel to the metrics thread as one
 * fixed-size record (metrics_pipe.h); the thread formats the row.  The text
 * fields are enum values. */
#ifndef SERVESIM_REQUESTS_CSV_H
#define SERVESIM_REQUESTS_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The numbers of one row; the text fields are enum values. */
typedef struct RequestsCsvRecord {
    int64_t id;
    int64_t input_tokens, output_tokens, predicted_output_tokens, generated_tokens; /* tokens */
    int32_t instance, preemptions;
    uint8_t state, fail_reason;      /* ReqState, ReqFailReason */
    double arrival_s, first_scheduled_s, first_token_s, finish_s; /* simulated seconds */
    double ttft_s, tpot_s, e2e_s, itl_max_s;                       /* seconds; NaN when none */
    const char *session;             /* interned key (Metrics.sessions, never moves); NULL when none */
    int64_t original_id;             /* the first attempt's id (--client retries); = id otherwise */
    double original_arrival_s;       /* the first attempt's arrival */
    int64_t wasted_tokens;           /* prompt + output tokens computed, when it did not complete */
    int32_t attempt;                 /* 1 for the first */
    int32_t cached_tokens;           /* prompt tokens found in the prefix cache at its first admission */
} RequestsCsvRecord;

/* Rows leave in id order (= arrival order) although requests finish out of
 * order: a record waits in a ring, indexed by id, until every smaller id
 * has been written.  The ring holds the requests that finished while an
 * older one was still in flight: about the number in the system, never the
 * whole run.  Ids are dense from 0 (the engine's arrival count). */
typedef struct RequestsCsvOrder {
    RequestsCsvRecord *ring;
    uint8_t *have;
    size_t cap;                      /* a power of two, or 0 before the first record */
    int64_t next;                    /* the id the file waits for (ids start at 0) */
} RequestsCsvOrder;

typedef void (*RequestsCsvEmit)(void *ctx, const RequestsCsvRecord *rec);
/* Take one record; emit every record that is now next in id order. */
void requests_csv_order_add(RequestsCsvOrder *o, const RequestsCsvRecord *rec, RequestsCsvEmit emit, void *ctx);
/* Emit what is still held (ids whose predecessors never finished: an
 * abandoned run), in id order. */
void requests_csv_order_flush(RequestsCsvOrder *o, RequestsCsvEmit emit, void *ctx);
void requests_csv_order_free(RequestsCsvOrder *o);

/* The column names, newline-terminated. */
extern const char requests_csv_header[];
/* Longest row requests_csv_format_row writes (bytes). */
#define REQUESTS_CSV_ROW_MAX 768 /* the numbers (< 450) + a quoted session key (< 2 x 64 + 2) */
/* Write one row (newline-terminated) at p; returns its end. */
char *requests_csv_format_row(char *p, const RequestsCsvRecord *rec);

#endif
