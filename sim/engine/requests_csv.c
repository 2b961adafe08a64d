/* requests_csv.c: the rows of requests.csv (written by the metrics thread,
 * metrics_pipe.h). */
#include "requests_csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#include "csv_fmt.h"
#include "request.h"
#include "trace.h"

const char requests_csv_header[] =
    "id,instance,arrival_s,input_tokens,output_tokens,predicted_output_tokens,"
    "generated_tokens,state,reason,first_scheduled_s,first_token_s,finish_s,"
    "ttft_s,tpot_s,e2e_s,itl_max_s,preemptions,session,attempt,original_id,cached_tokens\n";

/* A time, or nothing when there is none (never scheduled, no token, no
 * TPOT): one spelling of "absent" in every column, which pandas, R and
 * DuckDB all read as a missing value (-1 would read as a time). */
static char *put_time(char *p, double v)
{
    return isnan(v) || v < 0 ? p : csv_put_seconds(p, v);
}

/* A session key as one CSV field: as is, or quoted (quotes doubled) when it
 * holds a comma or a quote; empty when there is none.  Keys are at most
 * TRACE_SESSION_MAX - 1 bytes without control characters (the readers
 * refuse others), so the row stays within REQUESTS_CSV_ROW_MAX. */
static char *put_session(char *p, const char *s)
{
    if (!s) return p;
    size_t n = strlen(s);
    SS_ASSERT(n < TRACE_SESSION_MAX);
    if (!strpbrk(s, ",\"")) {
        memcpy(p, s, n);
        return p + n;
    }
    *p++ = '"';
    for (; *s; s++) {
        if (*s == '"') *p++ = '"';
        *p++ = *s;
    }
    *p++ = '"';
    return p;
}

char *requests_csv_format_row(char *p, const RequestsCsvRecord *rec)
{
    p = csv_put_i64(p, rec->id); *p++ = ',';
    p = csv_put_i64(p, rec->instance); *p++ = ',';
    p = csv_put_seconds(p, rec->arrival_s); *p++ = ',';
    p = csv_put_i64(p, rec->input_tokens); *p++ = ',';
    p = csv_put_i64(p, rec->output_tokens); *p++ = ',';
    p = csv_put_i64(p, rec->predicted_output_tokens); *p++ = ',';
    p = csv_put_i64(p, rec->generated_tokens); *p++ = ',';
    p = csv_put_str(p, request_state_name((ReqState)rec->state)); *p++ = ',';
    /* "none" rather than empty: the column reads as text even when nothing failed */
    const char *reason = request_fail_reason_name((ReqFailReason)rec->fail_reason);
    p = csv_put_str(p, *reason ? reason : "none"); *p++ = ',';
    p = put_time(p, rec->first_scheduled_s); *p++ = ',';
    p = put_time(p, rec->first_token_s); *p++ = ',';
    p = put_time(p, rec->finish_s); *p++ = ',';
    p = put_time(p, rec->ttft_s); *p++ = ',';
    p = put_time(p, rec->tpot_s); *p++ = ',';
    p = put_time(p, rec->e2e_s); *p++ = ',';
    p = rec->generated_tokens >= 2 ? put_time(p, rec->itl_max_s) : p; /* no gap below 2 tokens */ *p++ = ',';
    p = csv_put_i64(p, rec->preemptions); *p++ = ',';
    p = put_session(p, rec->session); *p++ = ',';
    p = csv_put_i64(p, rec->attempt); *p++ = ',';
    p = csv_put_i64(p, rec->original_id); *p++ = ',';
    p = csv_put_i64(p, rec->cached_tokens); *p++ = '\n';
    return p;
}

/* ---- id order ---- */

static void order_grow(RequestsCsvOrder *o, size_t need)
{
    size_t cap = o->cap ? o->cap : 1024;
    while (cap < need) cap *= 2;
    RequestsCsvRecord *ring = ss_malloc(cap * sizeof(*ring));
    uint8_t *have = ss_calloc(cap, 1);
    for (size_t i = 0; i < o->cap; i++) { /* re-index the held window [next, next + old cap) */
        size_t from = (size_t)(o->next + (int64_t)i) & (o->cap - 1);
        if (!o->have[from]) continue;
        size_t to = (size_t)(o->next + (int64_t)i) & (cap - 1);
        ring[to] = o->ring[from];
        have[to] = 1;
    }
    free(o->ring);
    free(o->have);
    o->ring = ring;
    o->have = have;
    o->cap = cap;
}

void requests_csv_order_add(RequestsCsvOrder *o, const RequestsCsvRecord *rec, RequestsCsvEmit emit, void *ctx)
{
    SS_ASSERT(rec->id >= o->next); /* ids from 0, each finishes once */
    if (rec->id == o->next) {
        emit(ctx, rec);
        o->next++;
    } else {
        size_t ahead = (size_t)(rec->id - o->next);
        if (ahead >= o->cap) order_grow(o, ahead + 1);
        size_t slot = (size_t)rec->id & (o->cap - 1);
        o->ring[slot] = *rec;
        o->have[slot] = 1;
    }
    while (o->cap) {
        size_t slot = (size_t)o->next & (o->cap - 1);
        if (!o->have[slot]) break;
        o->have[slot] = 0;
        emit(ctx, &o->ring[slot]);
        o->next++;
    }
}

void requests_csv_order_flush(RequestsCsvOrder *o, RequestsCsvEmit emit, void *ctx)
{
    for (size_t i = 0; i < o->cap; i++) {
        size_t slot = (size_t)(o->next + (int64_t)i) & (o->cap - 1);
        if (!o->have[slot]) continue;
        o->have[slot] = 0;
        emit(ctx, &o->ring[slot]);
    }
}

void requests_csv_order_free(RequestsCsvOrder *o)
{
    free(o->ring);
    free(o->have);
    *o = (RequestsCsvOrder){ 0 };
}
