/* fmt_csv.c: any CSV with a header, through a column mapping:
 *   --map arrival=COL[:s|ms|us|iso],input=COL,output=COL[,model=COL,app=COL,
 *         text=COL,instruction=COL,log_type=COL]
 * Numeric arrivals are trace seconds once scaled by the unit; ISO ones are
 * counted from the first row.  `arrival=-` gives every row time 0. */
#include <string.h>

#include "common.h"
#include "csvrec.h"
#include "format.h"

typedef struct GenCsv {
    CsvRec *csv;
    const char *file;
    TraceMap m;
    TraceTimeBase base;
    int c_arr, c_in, c_out, c_model, c_app, c_text, c_instr, c_log; /* -1 = not mapped */
} GenCsv;

static int csv_probe(const char *line, size_t len, const char *map)
{
    (void)line; (void)len;
    return map && *map && line[0] != '{' ? 1 : 0; /* the fallback when a map is given */
}

static int column(GenCsv *g, const CsvRecord *h, const char *name, int *idx)
{
    *idx = -1;
    if (!name[0] || !strcmp(name, "-")) return 0;
    return csvrec_column(h, g->file, name, true, idx);
}

static int csv_open(void *priv, LineSrc *src, const char *map, char *time_field)
{
    GenCsv *g = priv;
    CsvRecord h;
    g->file = linesrc_name(src);
    int r = trace_map_parse(map, &g->m);
    if (!r && (g->m.hash_ids[0] || g->m.session[0])) /* a list in a CSV field has no agreed form */
        return ss_error_set(EINVAL, "--map: %s= is read from JSONL traces only (--format jsonl)",
                            g->m.hash_ids[0] ? "hash_ids" : "session");
    if (r || (r = csvrec_create(&g->csv, src)) || (r = csvrec_header(g->csv, &h))) return r;
    if ((r = column(g, &h, g->m.arrival, &g->c_arr)) || (r = column(g, &h, g->m.input, &g->c_in)) ||
        (r = column(g, &h, g->m.output, &g->c_out)) || (r = column(g, &h, g->m.model, &g->c_model)) ||
        (r = column(g, &h, g->m.app, &g->c_app)) || (r = column(g, &h, g->m.text, &g->c_text)) ||
        (r = column(g, &h, g->m.instruction, &g->c_instr)) ||
        (r = column(g, &h, g->m.log_type, &g->c_log)))
        return r;
    trace_copy_str(time_field, 64, g->m.arrival);
    return 0;
}

static int get(const GenCsv *g, const CsvRecord *rec, int col, const char *name, const char **out)
{
    *out = NULL;
    if (col < 0) return 0;
    if ((size_t)col >= rec->n)
        return trace_bad_row(g->file, rec->line, name, "missing (row has %zu fields)", rec->n);
    *out = rec->field[col];
    return 0;
}

static int csv_next(void *priv, TraceRow *row, double *t_s)
{
    GenCsv *g = priv;
    const TraceMap *m = &g->m;
    CsvRecord rec;
    int r = csvrec_next(g->csv, &rec);
    if (r <= 0) return r;
    const char *arr = NULL, *in = NULL, *out = NULL, *model = NULL, *app = NULL, *text = NULL,
               *instr = NULL, *log = NULL;
    if ((r = get(g, &rec, g->c_arr, m->arrival, &arr)) || (r = get(g, &rec, g->c_in, m->input, &in)) ||
        (r = get(g, &rec, g->c_out, m->output, &out)) || (r = get(g, &rec, g->c_model, m->model, &model)) ||
        (r = get(g, &rec, g->c_app, m->app, &app)) || (r = get(g, &rec, g->c_text, m->text, &text)) ||
        (r = get(g, &rec, g->c_instr, m->instruction, &instr)) ||
        (r = get(g, &rec, g->c_log, m->log_type, &log)))
        return r;
    *t_s = 0;
    if (arr && (r = trace_map_time(m, &g->base, arr, g->file, rec.line, t_s))) return r;
    if ((r = trace_field_tokens(in, g->file, rec.line, m->input, &row->input_tokens)) ||
        (r = trace_field_tokens(out, g->file, rec.line, m->output, &row->output_tokens)))
        return r;
    trace_copy_str(row->model, sizeof(row->model), model ? model : "");
    trace_copy_str(row->app, sizeof(row->app), app ? app : "");
    trace_copy_str(row->log_type, sizeof(row->log_type), log ? log : "");
    row->text = text;
    row->instruction = instr;
    row->session[0] = '\0';
    row->elapsed_s = -1;
    row->failed = false;
    row->line = rec.line;
    return 1;
}

static void csv_close(void *priv)
{
    GenCsv *g = priv;
    csvrec_destroy(&g->csv);
}

const TraceFormat trace_format_csv = {
    .name = "csv",
    .help = "any CSV with a header, through --map arrival=COL[:s|ms|us|iso],input=COL,output=COL"
            "[,model=,app=,text=,instruction=,log_type=]",
    .priv_size = sizeof(GenCsv),
    .probe = csv_probe,
    .open = csv_open,
    .next = csv_next,
    .close = csv_close,
};
