/* fmt_jsonl.c: one JSON object per line, through the same --map as csv.
 * Without --map the keys of the project's own workloads are used:
 *   arrival=arrival_s,input=prompt_tokens,output=output_tokens,model=model,
 *   app=app,instruction=instruction,text=input,log_type=log_type,session=session,
 *   hash_ids=hash_ids
 * (log_type, session and hash_ids: what `trace gen --hashes` writes; absent
 * keys are simply absent)
 * (the lmaas_apps dataset has every key but arrival: map arrival=- to read it
 * as a batch that arrives at time 0).  Arrivals may be JSON numbers (in the
 * map's unit) or strings (a number, or ISO with :iso).  Text fields point
 * into the parsed object, valid until the next row.  jansson allocates per
 * object: JSONL is for workloads with text, not for the 5 M-row fast path. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "format.h"

#define JSONL_DEFAULT_MAP \
    "arrival=arrival_s,input=prompt_tokens,output=output_tokens,model=model,app=app," \
    "instruction=instruction,text=input,log_type=log_type,session=session,hash_ids=hash_ids"

typedef struct Jsonl {
    LineSrc *src;
    const char *file;
    TraceMap m;
    TraceTimeBase base;
    json_t *cur; /* the row being handed out (owns its strings) */
    uint64_t *hashes; /* the row's hash_ids */
    size_t hashes_cap;
} Jsonl;

static int jsonl_probe(const char *line, size_t len, const char *map)
{
    (void)len; (void)map;
    while (*line == ' ' || *line == '\t') line++;
    return *line == '{' ? 5 : 0;
}

static int jsonl_open(void *priv, LineSrc *src, const char *map, char *time_field)
{
    Jsonl *j = priv;
    j->src = src;
    j->file = linesrc_name(src);
    int r = trace_map_parse(map && *map ? map : JSONL_DEFAULT_MAP, &j->m);
    if (r) return r;
    j->m.hash_ids_optional = !(map && *map); /* our own workloads may or may not carry them */
    trace_copy_str(time_field, 64, j->m.arrival);
    return 0;
}

/* An optional string key: NULL when unmapped or absent; a bad row when not a string. */
static int opt_string(const Jsonl *j, json_t *o, const char *key, size_t line, const char **out)
{
    *out = NULL;
    if (!key[0]) return 0;
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return trace_bad_row(j->file, line, key, "not a string");
    *out = json_string_value(v);
    return 0;
}

static int tokens(const Jsonl *j, json_t *o, const char *key, size_t line, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!v) return trace_bad_row(j->file, line, key, "missing");
    if (json_is_string(v)) return trace_field_tokens(json_string_value(v), j->file, line, key, out);
    if (!json_is_number(v)) return trace_bad_row(j->file, line, key, "not a number");
    double d = json_number_value(v);
    if (d < 0) return trace_bad_row(j->file, line, key, "negative: %.17g", d);
    if (d > INT32_MAX) return trace_bad_row(j->file, line, key, "overflow: %.17g > %d", d, INT32_MAX);
    if (d != (double)(int64_t)d) return trace_bad_row(j->file, line, key, "not an integer: %.17g", d);
    *out = (int64_t)d;
    return 0;
}

/* hash_ids: a JSON array of integers in [0, 2^63) (Mooncake writes small
 * integers); the count is checked against the prompt by the reader. */
static int hash_ids(Jsonl *j, json_t *o, size_t line, TraceRow *row)
{
    const char *key = j->m.hash_ids;
    if (!key[0]) return 0;
    json_t *v = json_object_get(o, key);
    if (!v && j->m.hash_ids_optional) return 0;
    if (!v) return trace_bad_row(j->file, line, key, "missing");
    if (!json_is_array(v)) return trace_bad_row(j->file, line, key, "not an array of integers");
    size_t n = json_array_size(v);
    if (n > INT32_MAX) return trace_bad_row(j->file, line, key, "%zu hashes, too many", n);
    SS_GROW(j->hashes, j->hashes_cap, n + 1);
    for (size_t i = 0; i < n; i++) {
        json_t *h = json_array_get(v, i);
        if (!json_is_integer(h))
            return trace_bad_row(j->file, line, key, "element %zu is not an integer", i + 1);
        json_int_t x = json_integer_value(h);
        if (x < 0) return trace_bad_row(j->file, line, key, "element %zu is negative: %lld", i + 1, (long long)x);
        j->hashes[i] = (uint64_t)x;
    }
    row->hash_ids = j->hashes; /* non-NULL even when empty: the reader checks the count */
    row->n_hash_ids = (int32_t)n;
    return 0;
}

/* session: a string or an integer key (kept whole, as BurstGPT's Session ID). */
static int session_key(Jsonl *j, json_t *o, size_t line, TraceRow *row)
{
    row->session[0] = '\0';
    const char *key = j->m.session;
    json_t *v = key[0] ? json_object_get(o, key) : NULL;
    if (!v || json_is_null(v)) return 0;
    char buf[TRACE_SESSION_MAX + 1];
    const char *s = buf;
    if (json_is_integer(v)) snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v)) s = json_string_value(v);
    else return trace_bad_row(j->file, line, key, "not a string or integer");
    size_t n = strlen(s);
    if (n >= TRACE_SESSION_MAX)
        return trace_bad_row(j->file, line, key, "%zu bytes, longer than %d", n, TRACE_SESSION_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return trace_bad_row(j->file, line, key, "control character at byte %zu", i + 1);
    memcpy(row->session, s, n + 1);
    return 0;
}

static int arrival(Jsonl *j, json_t *o, size_t line, double *t_s)
{
    const TraceMap *m = &j->m;
    *t_s = 0;
    if (!strcmp(m->arrival, "-")) return 0;
    json_t *v = json_object_get(o, m->arrival);
    if (!v && line == 1 && !strcmp(m->arrival, "arrival_s"))
        return trace_bad_row(j->file, line, m->arrival, "missing (a dataset without arrival times? "
                             "`servesim trace gen --from-dataset` gives it arrivals; --map "
                             "arrival=-,... reads it as one batch at t = 0)");
    if (!v) return trace_bad_row(j->file, line, m->arrival, "missing");
    if (json_is_string(v)) return trace_map_time(m, &j->base, json_string_value(v), j->file, line, t_s);
    if (!json_is_number(v) || m->unit == TRACE_UNIT_ISO)
        return trace_bad_row(j->file, line, m->arrival, m->unit == TRACE_UNIT_ISO ? "not an ISO string"
                                                                                  : "not a number");
    double d = json_number_value(v);
    if (d < 0) return trace_bad_row(j->file, line, m->arrival, "negative: %.17g", d);
    *t_s = d * trace_unit_scale(m->unit);
    return 0;
}

static int parse_row(Jsonl *j, json_t *o, size_t line, TraceRow *row, double *t_s)
{
    const TraceMap *m = &j->m;
    const char *model, *app, *log;
    int r;
    if ((r = arrival(j, o, line, t_s)) || (r = tokens(j, o, m->input, line, &row->input_tokens)) ||
        (r = tokens(j, o, m->output, line, &row->output_tokens)) ||
        (r = opt_string(j, o, m->model, line, &model)) || (r = opt_string(j, o, m->app, line, &app)) ||
        (r = opt_string(j, o, m->log_type, line, &log)) ||
        (r = opt_string(j, o, m->text, line, &row->text)) ||
        (r = opt_string(j, o, m->instruction, line, &row->instruction)) ||
        (r = session_key(j, o, line, row)) || (r = hash_ids(j, o, line, row)))
        return r;
    trace_copy_str(row->model, sizeof(row->model), model ? model : "");
    trace_copy_str(row->app, sizeof(row->app), app ? app : "");
    trace_copy_str(row->log_type, sizeof(row->log_type), log ? log : "");
    row->elapsed_s = -1;
    row->failed = false;
    row->line = line;
    return 1;
}

static int jsonl_next(void *priv, TraceRow *row, double *t_s)
{
    Jsonl *j = priv;
    json_decref(j->cur);
    j->cur = NULL;
    char *line;
    size_t len;
    int r;
    do {
        if ((r = linesrc_next(j->src, &line, &len)) <= 0) return r;
        while (len && (*line == ' ' || *line == '\t')) line++, len--;
    } while (!len);
    size_t no = linesrc_line_no(j->src);
    json_error_t err;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    if (!o) return trace_bad_row(j->file, no, "json", "%s (column %d)", err.text, err.column);
    if (!json_is_object(o)) {
        json_decref(o);
        return trace_bad_row(j->file, no, "json", "not an object");
    }
    j->cur = o;
    return parse_row(j, o, no, row, t_s);
}

static void jsonl_close(void *priv)
{
    Jsonl *j = priv;
    json_decref(j->cur);
    free(j->hashes);
}

const TraceFormat trace_format_jsonl = {
    .name = "jsonl",
    .help = "one JSON object a line, through --map (default arrival=arrival_s,input=prompt_tokens,"
            "output=output_tokens,model=model,app=app,instruction=instruction,text=input,"
            "log_type=log_type,session=session,hash_ids=hash_ids); Mooncake: --map "
            "arrival=timestamp:ms,input=input_length,output=output_length,hash_ids=hash_ids",
    .priv_size = sizeof(Jsonl),
    .probe = jsonl_probe,
    .open = jsonl_open,
    .next = jsonl_next,
    .close = jsonl_close,
};
