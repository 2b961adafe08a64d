/* fmt_burstgpt.c: BurstGPT traces (Wang et al., KDD 2025).
 *
 * BurstGPT_1/_2: Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
 * BurstGPT_3 adds Session ID and Elapsed time after Timestamp.
 * Columns are found by header name, so both schemas (and any column order)
 * read the same way.  Timestamp is seconds from the start of the trace; a row
 * with Response tokens = 0 is a failed request (row.failed). */
#include <string.h>

#include "common.h"
#include "csvrec.h"
#include "format.h"

typedef struct Burst {
    CsvRec *csv;
    const char *file;
    int c_ts, c_model, c_req, c_resp, c_log, c_session, c_elapsed; /* -1 = absent */
} Burst;

static int burst_probe(const char *line, size_t len, const char *map)
{
    (void)len; (void)map;
    return strstr(line, "Timestamp") && strstr(line, "Request tokens") && strstr(line, "Response tokens")
               ? 10 : 0;
}

static int burst_open(void *priv, LineSrc *src, const char *map, char *time_field)
{
    Burst *b = priv;
    CsvRecord h;
    b->file = linesrc_name(src);
    int r = csvrec_create(&b->csv, src);
    if (r || (r = csvrec_header(b->csv, &h))) return r;
    if ((r = csvrec_column(&h, b->file, "Timestamp", true, &b->c_ts)) ||
        (r = csvrec_column(&h, b->file, "Request tokens", true, &b->c_req)) ||
        (r = csvrec_column(&h, b->file, "Response tokens", true, &b->c_resp)) ||
        (r = csvrec_column(&h, b->file, "Model", false, &b->c_model)) ||
        (r = csvrec_column(&h, b->file, "Log Type", false, &b->c_log)) ||
        (r = csvrec_column(&h, b->file, "Session ID", false, &b->c_session)) ||
        (r = csvrec_column(&h, b->file, "Elapsed time", false, &b->c_elapsed)))
        return r;
    (void)map;
    strcpy(time_field, "Timestamp");
    return 0;
}

/* The field of column `col`, or a bad row when the record is too short. */
static int field_at(const Burst *b, const CsvRecord *rec, int col, const char *name, const char **out)
{
    if (col < 0) {
        *out = NULL;
        return 0;
    }
    if ((size_t)col >= rec->n)
        return trace_bad_row(b->file, rec->line, name, "missing (row has %zu fields)", rec->n);
    *out = rec->field[col];
    return 0;
}

/* Session ID is an opaque key: digits or any other text (later multi-turn
 * work only needs equality).  Kept whole or refused: a key of
 * TRACE_SESSION_MAX bytes or more, or one with a control character (it
 * could not be written back to a CSV line), is a bad row. */
static int copy_session(const Burst *b, size_t line, const char *session, char *dst)
{
    size_t n = strlen(session);
    if (n >= TRACE_SESSION_MAX)
        return trace_bad_row(b->file, line, "Session ID", "%zu bytes, longer than %d: '%.40s...'", n,
                             TRACE_SESSION_MAX - 1, session);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)session[i] < 0x20 || session[i] == 0x7f)
            return trace_bad_row(b->file, line, "Session ID", "control character 0x%02x at byte %zu",
                                 (unsigned)(unsigned char)session[i], i + 1);
    memcpy(dst, session, n + 1);
    return 0;
}

static int burst_next(void *priv, TraceRow *row, double *t_s)
{
    Burst *b = priv;
    CsvRecord rec;
    int r = csvrec_next(b->csv, &rec);
    if (r <= 0) return r;
    const char *ts = NULL, *req = NULL, *resp = NULL, *model = NULL, *log = NULL, *session = NULL,
               *elapsed = NULL;
    if ((r = field_at(b, &rec, b->c_ts, "Timestamp", &ts)) ||
        (r = field_at(b, &rec, b->c_req, "Request tokens", &req)) ||
        (r = field_at(b, &rec, b->c_resp, "Response tokens", &resp)) ||
        (r = field_at(b, &rec, b->c_model, "Model", &model)) ||
        (r = field_at(b, &rec, b->c_log, "Log Type", &log)) ||
        (r = field_at(b, &rec, b->c_session, "Session ID", &session)) ||
        (r = field_at(b, &rec, b->c_elapsed, "Elapsed time", &elapsed)))
        return r;
    if ((r = trace_field_seconds(ts, b->file, rec.line, "Timestamp", t_s)) ||
        (r = trace_field_tokens(req, b->file, rec.line, "Request tokens", &row->input_tokens)) ||
        (r = trace_field_tokens(resp, b->file, rec.line, "Response tokens", &row->output_tokens)))
        return r;
    row->elapsed_s = -1;
    if ((r = copy_session(b, rec.line, session ? session : "", row->session))) return r;
    if (elapsed && *elapsed && (r = trace_field_seconds(elapsed, b->file, rec.line, "Elapsed time", &row->elapsed_s)))
        return r;
    trace_copy_str(row->model, sizeof(row->model), model ? model : "");
    trace_copy_str(row->log_type, sizeof(row->log_type), log ? log : "");
    row->app[0] = '\0';
    row->instruction = row->text = NULL;
    row->failed = row->output_tokens == 0;
    row->line = rec.line;
    return 1;
}

static void burst_close(void *priv)
{
    Burst *b = priv;
    csvrec_destroy(&b->csv);
}

const TraceFormat trace_format_burstgpt = {
    .name = "burstgpt",
    .help = "BurstGPT CSV, _1/_2 and _3 schemas (Timestamp, Request tokens, Response tokens; "
            "Model, Log Type, Session ID, Elapsed time when present)",
    .priv_size = sizeof(Burst),
    .probe = burst_probe,
    .open = burst_open,
    .next = burst_next,
    .close = burst_close,
};
