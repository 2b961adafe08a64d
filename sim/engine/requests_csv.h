/* requests_csv.h: requests.csv rows.
 *
 * A finished request's numbers travel to the metrics thread as one
 * fixed-size record (metrics_pipe.h); the thread formats the row.  The text
 * fields are enum values. */
#ifndef SERVESIM_REQUESTS_CSV_H
#define SERVESIM_REQUESTS_CSV_H

#include <stdint.h>

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

#endif
