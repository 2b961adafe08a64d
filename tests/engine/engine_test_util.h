/* engine_test_util.h: run the engine over rows held in memory and read back
 * every request's record. */
#ifndef SERVESIM_ENGINE_TEST_UTIL_H
#define SERVESIM_ENGINE_TEST_UTIL_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "trace.h"

typedef struct ArraySource {
    const TraceRow *rows;
    size_t n, next;
} ArraySource;

static inline int array_source_next(void *ctx, TraceRow *row)
{
    ArraySource *a = ctx;
    if (a->next >= a->n) return 0;
    *row = a->rows[a->next++];
    row->line = a->next;
    return 1;
}

static inline TraceRow test_row(double arrival_s, int64_t input, int64_t output)
{
    TraceRow r;
    memset(&r, 0, sizeof(r));
    r.arrival_s = arrival_s;
    r.input_tokens = input;
    r.output_tokens = output;
    r.elapsed_s = -1;
    return r;
}

typedef struct RunRecord {
    long long id;
    int instance, input, output, predicted, generated, preemptions;
    char state[16], reason[16];
    double arrival, first_scheduled, first_token, finish, ttft, tpot, e2e, itl_max;
    int attempt;            /* the last three columns (after a session key that may hold commas) */
    long long original_id;
    int cached_tokens;
} RunRecord;

/* One requests.csv row (docs/OUTPUTS.md) into r: an empty field (absent)
 * reads as NAN for times.  True when the row has all 17 fields. */
static inline double test_time_field(const char *f, size_t len)
{
    return len ? strtod(f, NULL) : NAN;
}

static inline bool parse_requests_row(const char *line, RunRecord *r)
{
    const char *f[17];
    size_t len[17];
    int n = 0;
    const char *p = line;
    while (n < 17) {
        size_t k = strcspn(p, ",\n");
        f[n] = p;
        len[n++] = k;
        if (p[k] != ',') break;
        p += k + 1;
    }
    memset(r, 0, sizeof(*r));
    if (n != 17) return false;
    r->id = strtoll(f[0], NULL, 10);
    r->instance = atoi(f[1]);
    r->arrival = strtod(f[2], NULL);
    r->input = atoi(f[3]);
    r->output = atoi(f[4]);
    r->predicted = atoi(f[5]);
    r->generated = atoi(f[6]);
    snprintf(r->state, sizeof(r->state), "%.*s", (int)len[7], f[7]);
    snprintf(r->reason, sizeof(r->reason), "%.*s", (int)len[8], f[8]);
    r->first_scheduled = test_time_field(f[9], len[9]);
    r->first_token = test_time_field(f[10], len[10]);
    r->finish = test_time_field(f[11], len[11]);
    r->ttft = test_time_field(f[12], len[12]);
    r->tpot = test_time_field(f[13], len[13]);
    r->e2e = test_time_field(f[14], len[14]);
    r->itl_max = test_time_field(f[15], len[15]);
    r->preemptions = atoi(f[16]);
    /* The last columns, from the end (a session key before them may hold commas). */
    const char *end = line + strcspn(line, "\n"), *c[3];
    for (int k = 2; k >= 0; k--) {
        const char *q = k == 2 ? end : c[k + 1] - 1;
        while (q > line && q[-1] != ',') q--;
        c[k] = q;
    }
    r->attempt = atoi(c[0]);
    r->original_id = strtoll(c[1], NULL, 10);
    r->cached_tokens = atoi(c[2]);
    return true;
}

typedef struct RunResult {
    int status;
    RunRecord *rec;      /* indexed by request id */
    size_t n;
    char *requests_csv;  /* the raw file */
    size_t requests_csv_len;
    json_t *summary;     /* metrics_summary_json */
} RunResult;

static inline void run_result_free(RunResult *r)
{
    free(r->rec);
    free(r->requests_csv);
    if (r->summary) json_decref(r->summary);
    memset(r, 0, sizeof(*r));
}

static inline RunResult run_engine(const EngineConfig *cfg, const TraceRow *rows, size_t n)
{
    RunResult res;
    memset(&res, 0, sizeof(res));
    FILE *csv = open_memstream(&res.requests_csv, &res.requests_csv_len);
    EngineOutputs out = { .requests_csv = csv };
    Engine *e = NULL;
    ArraySource a = { rows, n, 0 };
    RowSource src = { &a, array_source_next, "test" };
    res.status = engine_create(&e, cfg, &out);
    if (!res.status) res.status = engine_run(e, &src);
    if (res.status) fprintf(stderr, "engine: %s\n", ss_error_get());
    if (!res.status) res.summary = metrics_summary_json(engine_metrics(e));
    engine_destroy(&e);
    fclose(csv);
    /* One record per attempt: rows of the trace, and retries (--client) after them. */
    size_t lines = 0;
    for (const char *c = res.requests_csv; c && *c; c++) lines += *c == '\n';
    if (lines) lines--; /* the header */
    if (lines > n) n = lines;
    res.rec = calloc(n ? n : 1, sizeof(RunRecord));
    res.n = n;
    char *line = strchr(res.requests_csv, '\n'); /* skip the header */
    while (line && line[1]) {
        RunRecord r;
        line++;
        if (parse_requests_row(line, &r) && r.id >= 0 && (size_t)r.id < n) res.rec[r.id] = r;
        line = strchr(line, '\n');
    }
    return res;
}

static inline double summary_num(const RunResult *r, const char *key)
{
    json_t *v = json_object_get(r->summary, key);
    return json_is_number(v) ? json_number_value(v) : -1e300;
}

#endif
