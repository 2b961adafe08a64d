/* reader.c: a trace file behind one streaming API: format detection, the
 * transforms (speed-up, time window, model and log-type filters, request
 * cap) and the bad-row and failed-row policies.
 *
 * Order per row: parse -> timestamps must not go backwards (a bad row) ->
 * filters and window (trace time, before speed-up) -> failed-row policy ->
 * make relative to the first kept row and divide by the speed-up -> cap.
 * The window's end stops reading: rows are sorted, so nothing after it can
 * be kept. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "format.h"
#include "sessions.h"
#include "trace.h"

const TraceFormat *const trace_format_registry[] = {
    &trace_format_burstgpt,
    &trace_format_azure,
    &trace_format_jsonl,
    &trace_format_csv,
    NULL,
};

const TraceFormat *trace_format_find(const char *name)
{
    for (const TraceFormat *const *f = trace_format_registry; *f; f++)
        if (!strcmp((*f)->name, name)) return *f;
    return NULL;
}

struct TraceReader {
    const TraceFormat *fmt;
    void *priv;
    LineSrc *src;
    TraceOpenOpts o;
    char *model_filter, *log_type_filter, *map;
    TraceReaderStats st;
    SessionHasher *sessions;   /* --sessions cumulative, else NULL */
    char time_field[64];
    double prev_t, t0;     /* trace seconds */
    bool have_prev, have_t0, done;
};

void trace_open_opts_default(TraceOpenOpts *o)
{
    memset(o, 0, sizeof(*o));
    o->format = "auto";
    o->speedup = 1.0;
    o->bad_rows = TRACE_BAD_ABORT;
    o->failed_rows = TRACE_FAILED_DROP;
    o->hash_block_tokens = TRACE_HASH_BLOCK_DEFAULT;
    o->sessions = TRACE_SESSIONS_NONE;
}

static int detect(LineSrc *src, const char *map, const TraceFormat **out)
{
    char *line = NULL;
    size_t len = 0;
    int r;
    while ((r = linesrc_next(src, &line, &len)) == 1 && !len) {} /* leading blank lines */
    if (r < 0) return r;
    if (r == 0) return ss_error_set(EINVAL, "%s: empty file", linesrc_name(src));
    linesrc_unget(src);
    int best = 0;
    for (const TraceFormat *const *f = trace_format_registry; *f; f++) {
        int score = (*f)->probe(line, len, map);
        if (score > best) {
            best = score;
            *out = *f;
        }
    }
    if (!best)
        return ss_error_set(EINVAL, "%s:%zu: cannot tell the format from '%.60s'; give --format "
                            "(servesim list formats) and, for csv, --map", linesrc_name(src),
                            linesrc_line_no(src) + 1, line);
    return 0;
}

static int check_opts(const TraceOpenOpts *o)
{
    if (!(o->speedup > 0) || !isfinite(o->speedup))
        return ss_error_set(EINVAL, "speedup must be a positive number (got %g)", o->speedup);
    if (o->window_start_s < 0 || (o->window_end_s > 0 && o->window_end_s <= o->window_start_s))
        return ss_error_set(EINVAL, "time window [%g, %g) is empty or negative", o->window_start_s,
                            o->window_end_s);
    if (o->max_requests < 0) return ss_error_set(EINVAL, "max_requests must be >= 0");
    if (o->hash_block_tokens < 1)
        return ss_error_set(EINVAL, "hash block must be >= 1 token (got %d)", (int)o->hash_block_tokens);
    if ((unsigned)o->sessions > TRACE_SESSIONS_CUMULATIVE)
        return ss_error_set(EINVAL, "unknown sessions mode %d", (int)o->sessions);
    return 0;
}

/* Takes ownership of src. */
static int open_src(TraceReader **out, LineSrc *src, const TraceOpenOpts *opts)
{
    TraceOpenOpts defaults;
    if (!opts) {
        trace_open_opts_default(&defaults);
        opts = &defaults;
    }
    *out = NULL;
    int r = check_opts(opts);
    if (r) {
        linesrc_destroy(&src);
        return r;
    }
    TraceReader *t = ss_calloc(1, sizeof(*t));
    t->src = src;
    t->o = *opts;
    /* Own copies: the caller's strings (argv, a config) may go away. */
    t->model_filter = opts->model_filter ? ss_strdup(opts->model_filter) : NULL;
    t->log_type_filter = opts->log_type_filter ? ss_strdup(opts->log_type_filter) : NULL;
    t->map = opts->map ? ss_strdup(opts->map) : NULL;
    const char *fname = opts->format ? opts->format : "auto";
    if (!strcmp(fname, "auto")) {
        if ((r = detect(src, t->map, &t->fmt))) goto fail;
    } else if (!(t->fmt = trace_format_find(fname))) {
        r = ss_error_set(EINVAL, "unknown trace format '%s' (servesim list formats)", fname);
        goto fail;
    }
    t->priv = ss_calloc(1, t->fmt->priv_size);
    strcpy(t->time_field, "arrival");
    if ((r = t->fmt->open(t->priv, src, t->map, t->time_field))) goto fail;
    if (opts->sessions == TRACE_SESSIONS_CUMULATIVE) session_hasher_create(&t->sessions, opts->hash_block_tokens);
    *out = t;
    return 0;
fail:
    trace_reader_destroy(&t);
    return r;
}

int trace_reader_open(TraceReader **out, const char *path, const TraceOpenOpts *opts)
{
    LineSrc *src;
    *out = NULL;
    int r = linesrc_open(&src, path);
    if (r) return r;
    return open_src(out, src, opts);
}

int trace_reader_open_mem(TraceReader **out, const void *data, size_t len, const char *name,
                          const TraceOpenOpts *opts)
{
    LineSrc *src;
    *out = NULL;
    int r = linesrc_open_mem(&src, data, len, name);
    if (r) return r;
    return open_src(out, src, opts);
}

void trace_reader_destroy(TraceReader **pt)
{
    TraceReader *t = *pt;
    if (!t) return;
    if (t->priv && t->fmt) t->fmt->close(t->priv);
    free(t->priv);
    linesrc_destroy(&t->src);
    free(t->model_filter);
    free(t->log_type_filter);
    free(t->map);
    session_hasher_destroy(&t->sessions);
    free(t);
    *pt = NULL;
}

/* Apply the bad-row policy to the message just set: 0 to go on, or the error. */
static int bad_row(TraceReader *t, int err)
{
    if (t->o.bad_rows == TRACE_BAD_ABORT) return err;
    if (t->st.rows_bad_skipped < (int64_t)SS_ARRAY_LEN(t->st.first_bad))
        trace_copy_str(t->st.first_bad[t->st.rows_bad_skipped], sizeof(t->st.first_bad[0]),
                       ss_error_get());
    t->st.rows_bad_skipped++;
    ss_error_clear();
    return 0;
}

static bool filtered_out(const TraceReader *t, const TraceRow *row, double ts)
{
    if (t->model_filter && strcmp(row->model, t->model_filter)) return true;
    if (t->log_type_filter && strcmp(row->log_type, t->log_type_filter)) return true;
    return ts < t->o.window_start_s;
}

/* A file's hashes must cover the prompt at --hash-block tokens each: one per
 * block, the partial last one included (Mooncake) or not.  Any other count
 * means a wrong --hash-block or a broken row, not something to guess at. */
static int check_hashes(const TraceReader *t, const TraceRow *row)
{
    int64_t b = t->o.hash_block_tokens, full = row->input_tokens / b, all = (row->input_tokens + b - 1) / b;
    if (row->n_hash_ids == full || row->n_hash_ids == all) return 0;
    return ss_error_set(TRACE_BAD_ROW, "%s:%zu: hash_ids: %d hashes for a prompt of %lld tokens at "
                        "%lld tokens per hash (expected %lld%s%lld; is --hash-block right?)",
                        linesrc_name(t->src), row->line, (int)row->n_hash_ids,
                        (long long)row->input_tokens, (long long)b, (long long)all,
                        full == all ? "" : " or, full blocks only, ", full == all ? 0LL : (long long)full);
}

/* --sessions cumulative: the row's hashes from its session's history (after
 * the order check, before the filters: a filtered-out turn is still part of
 * its conversation). */
static int derive_hashes(TraceReader *t, TraceRow *row)
{
    if (row->n_hash_ids)
        return ss_error_set(EINVAL, "%s:%zu: hash_ids: the trace carries its own hashes; "
                            "--sessions cumulative is for session traces without them",
                            linesrc_name(t->src), row->line);
    bool short_turn;
    session_hasher_turn(t->sessions, row->session, row->input_tokens, row->output_tokens,
                        &row->hash_ids, &row->n_hash_ids, &short_turn);
    t->st.rows_session_short += short_turn;
    return 0;
}

int trace_reader_next(TraceReader *t, TraceRow *row)
{
    while (!t->done) {
        if (t->o.max_requests && t->st.rows_returned >= t->o.max_requests) break;
        double ts;
        row->hash_ids = NULL;
        row->n_hash_ids = 0;
        int r = t->fmt->next(t->priv, row, &ts);
        if (r == 1 && row->hash_ids && check_hashes(t, row)) r = TRACE_BAD_ROW; /* [] included */
        if (!row->n_hash_ids) row->hash_ids = NULL;
        if (r == 0) break;
        if (r == TRACE_BAD_ROW) {
            if ((r = bad_row(t, r))) return r;
            continue;
        }
        if (r < 0) return r;
        if (t->have_prev && ts < t->prev_t) {
            r = ss_error_set(TRACE_BAD_ROW, "%s:%zu: %s: timestamp goes backwards (%.9g s after %.9g s)",
                             linesrc_name(t->src), row->line, t->time_field, ts, t->prev_t);
            if ((r = bad_row(t, r))) return r;
            continue;
        }
        t->prev_t = ts;
        t->have_prev = true;
        if (t->sessions && (r = derive_hashes(t, row)) < 0) return r;
        row->hash_block_tokens = row->n_hash_ids ? t->o.hash_block_tokens : 0;
        if (t->o.window_end_s > 0 && ts >= t->o.window_end_s) break;
        if (filtered_out(t, row, ts)) {
            t->st.rows_filtered++;
            continue;
        }
        if (row->failed && t->o.failed_rows == TRACE_FAILED_DROP) {
            t->st.rows_failed_dropped++;
            continue;
        }
        if (!t->have_t0) {
            t->t0 = ts;
            t->have_t0 = true;
        }
        row->arrival_s = (ts - t->t0) / t->o.speedup;
        t->st.rows_returned++;
        return 1;
    }
    t->done = true;
    return 0;
}

const TraceReaderStats *trace_reader_stats(const TraceReader *t) { return &t->st; }
const char *trace_reader_format_name(const TraceReader *t) { return t->fmt->name; }

static int source_next(void *ctx, TraceRow *row) { return trace_reader_next(ctx, row); }

RowSource trace_reader_source(TraceReader *t, const char *path)
{
    return (RowSource){ .ctx = t, .next = source_next, .description = path };
}
