/* fmt_azure.c: Azure LLM inference traces, 2023 and 2024.
 *
 * TIMESTAMP,ContextTokens,GeneratedTokens with TIMESTAMP like
 * `2023-11-16 18:15:46.6805900` (7 fractional digits, 100 ns ticks).  Times
 * are parsed in integer nanoseconds and made relative to the file's first
 * row by an integer subtraction, so an hour-long trace keeps every tick
 * (a double of absolute epoch seconds would only keep ~0.2 us). */
#include <string.h>

#include "common.h"
#include "csvrec.h"
#include "format.h"

typedef struct Azure {
    CsvRec *csv;
    const char *file;
    int c_ts, c_in, c_out;
    int need;              /* fields a row must have */
    int64_t first_ns;      /* the first row's TIMESTAMP, ns since 1970 */
    bool have_first;
} Azure;

static int azure_probe(const char *line, size_t len, const char *map)
{
    (void)len; (void)map;
    return strstr(line, "TIMESTAMP") && strstr(line, "ContextTokens") && strstr(line, "GeneratedTokens")
               ? 10 : 0;
}

static int azure_open(void *priv, LineSrc *src, const char *map, char *time_field)
{
    Azure *a = priv;
    CsvRecord h;
    (void)map;
    a->file = linesrc_name(src);
    int r = csvrec_create(&a->csv, src);
    if (r || (r = csvrec_header(a->csv, &h))) return r;
    if ((r = csvrec_column(&h, a->file, "TIMESTAMP", true, &a->c_ts)) ||
        (r = csvrec_column(&h, a->file, "ContextTokens", true, &a->c_in)) ||
        (r = csvrec_column(&h, a->file, "GeneratedTokens", true, &a->c_out)))
        return r;
    a->need = SS_MAX(a->c_ts, SS_MAX(a->c_in, a->c_out)) + 1;
    strcpy(time_field, "TIMESTAMP");
    return 0;
}

static int azure_next(void *priv, TraceRow *row, double *t_s)
{
    Azure *a = priv;
    CsvRecord rec;
    int r = csvrec_next(a->csv, &rec);
    if (r <= 0) return r;
    if (rec.n < (size_t)a->need) {
        const char *miss = rec.n <= (size_t)a->c_ts ? "TIMESTAMP"
                         : rec.n <= (size_t)a->c_in ? "ContextTokens" : "GeneratedTokens";
        return trace_bad_row(a->file, rec.line, miss, "missing (row has %zu fields)", rec.n);
    }
    int64_t ns;
    const char *ts = rec.field[a->c_ts];
    if (trace_parse_iso_ns(ts, &ns))
        return trace_bad_row(a->file, rec.line, "TIMESTAMP", "not a timestamp "
                             "(YYYY-MM-DD HH:MM:SS.fffffff): '%.40s'", ts);
    if ((r = trace_field_tokens(rec.field[a->c_in], a->file, rec.line, "ContextTokens",
                                &row->input_tokens)) ||
        (r = trace_field_tokens(rec.field[a->c_out], a->file, rec.line, "GeneratedTokens",
                                &row->output_tokens)))
        return r;
    if (!a->have_first) {
        a->first_ns = ns;
        a->have_first = true;
    }
    /* Before the first row means unsorted: a negative time the reader rejects. */
    *t_s = (double)(ns - a->first_ns) * 1e-9;
    row->model[0] = row->log_type[0] = row->app[0] = '\0';
    row->session[0] = '\0';
    row->elapsed_s = -1;
    row->instruction = row->text = NULL;
    row->failed = false;
    row->line = rec.line;
    return 1;
}

static void azure_close(void *priv)
{
    Azure *a = priv;
    csvrec_destroy(&a->csv);
}

const TraceFormat trace_format_azure = {
    .name = "azure",
    .help = "Azure LLM inference trace 2023/2024 (TIMESTAMP, ContextTokens, GeneratedTokens); "
            "times relative to the first row",
    .priv_size = sizeof(Azure),
    .probe = azure_probe,
    .open = azure_open,
    .next = azure_next,
    .close = azure_close,
};
