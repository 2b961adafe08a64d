/* stats_out.c: a trace's statistics as JSON (deterministic key order) or as
 * a table for the terminal. */
#include <math.h>
#include <string.h>

#include "common.h"
#include "stats.h"

static json_t *real_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *tokens_json(const TraceTokenSummary *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "p50", json_integer(t->p50));
    json_object_set_new(o, "p90", json_integer(t->p90));
    json_object_set_new(o, "p99", json_integer(t->p99));
    json_object_set_new(o, "max", json_integer(t->max));
    json_object_set_new(o, "mean", real_or_null(t->mean));
    return o;
}

static json_t *groups_json(const TraceGroupSummary *g, size_t n, int64_t rows)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(g[i].name));
        json_object_set_new(o, "rows", json_integer(g[i].rows));
        json_object_set_new(o, "share", real_or_null((double)g[i].rows / (double)rows));
        json_object_set_new(o, "failed", json_integer(g[i].failed));
        json_object_set_new(o, "mean_input", real_or_null(g[i].mean_input));
        json_object_set_new(o, "mean_output", real_or_null(g[i].mean_output));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *reader_json(const TraceReaderStats *rs)
{
    json_t *o = json_object(), *bad = json_array();
    json_object_set_new(o, "bad_rows_skipped", json_integer(rs->rows_bad_skipped));
    json_object_set_new(o, "failed_rows_dropped", json_integer(rs->rows_failed_dropped));
    json_object_set_new(o, "rows_filtered", json_integer(rs->rows_filtered));
    json_object_set_new(o, "session_turns_short", json_integer(rs->rows_session_short));
    for (int i = 0; i < 5 && rs->first_bad[i][0]; i++) json_array_append_new(bad, json_string(rs->first_bad[i]));
    json_object_set_new(o, "first_bad_rows", bad);
    return o;
}

json_t *trace_stats_json(const TraceStatsSummary *s, const TraceReaderStats *rs, const char *source,
                         const char *format)
{
    json_t *o = json_object(), *gap = json_object(), *win = json_object();
    json_object_set_new(o, "source", json_string(source ? source : ""));
    json_object_set_new(o, "format", json_string(format ? format : ""));
    json_object_set_new(o, "rows", json_integer(s->rows));
    json_object_set_new(o, "span_s", json_real(s->span_s));
    json_object_set_new(o, "mean_rate_rps", real_or_null(s->mean_rate));
    json_object_set_new(gap, "mean_s", real_or_null(s->gap_mean_s));
    json_object_set_new(gap, "cv", real_or_null(s->gap_cv));
    json_object_set_new(o, "gap", gap);
    json_object_set_new(win, "width_s", json_real(s->window_s));
    json_object_set_new(win, "count", json_integer(s->windows));
    json_object_set_new(win, "peak_rps", real_or_null(s->peak_rate));
    json_object_set_new(win, "valley_rps", real_or_null(s->valley_rate));
    json_object_set_new(o, "window", win);
    json_object_set_new(o, "input_tokens", tokens_json(&s->input));
    json_object_set_new(o, "output_tokens", tokens_json(&s->output));
    json_object_set_new(o, "pearson_in_out", real_or_null(s->pearson));
    json_object_set_new(o, "failed_rows", json_integer(s->failed));
    json_object_set_new(o, "failure_share", real_or_null(s->failure_share));
    json_object_set_new(o, "by_model", groups_json(s->by_model, s->n_models, s->rows));
    json_object_set_new(o, "by_log_type", groups_json(s->by_log_type, s->n_log_types, s->rows));
    json_object_set_new(o, "by_app", groups_json(s->by_app, s->n_apps, s->rows));
    json_t *reuse = json_object();
    json_object_set_new(reuse, "hashed_rows", json_integer(s->hashed_rows));
    json_object_set_new(reuse, "block_tokens", s->hash_block_tokens ? json_integer(s->hash_block_tokens) : json_null());
    json_object_set_new(reuse, "prompt_tokens", json_integer(s->prompt_tokens));
    json_object_set_new(reuse, "reused_tokens", json_integer(s->reused_tokens));
    json_object_set_new(reuse, "ideal_share", real_or_null(s->ideal_reuse));
    json_object_set_new(o, "prefix_reuse", reuse);
    if (rs) json_object_set_new(o, "reader", reader_json(rs));
    return o;
}

static void print_groups(FILE *f, const char *title, const TraceGroupSummary *g, size_t n, int64_t rows)
{
    fprintf(f, "%s\n  %-22s %10s %7s %10s %11s %8s\n", title, "name", "rows", "share", "mean in",
            "mean out", "failed");
    for (size_t i = 0; i < n; i++) {
        char in[32] = "-", out[32] = "-"; /* a group of failed rows only has no lengths */
        if (g[i].rows) snprintf(in, sizeof(in), "%.1f", g[i].mean_input), snprintf(out, sizeof(out), "%.1f", g[i].mean_output);
        fprintf(f, "  %-22s %10lld %6.1f%% %10s %11s %8lld\n", g[i].name, (long long)g[i].rows,
                rows ? 100.0 * (double)g[i].rows / (double)rows : 0.0, in, out, (long long)g[i].failed);
    }
}

/* `v` formatted with `fmt`, or "n/a (why)" when it is undefined (NAN): a
 * figure the trace is too short or too flat for is said so, never "nan". */
static const char *figure(char *buf, size_t cap, const char *fmt, double v, const char *why)
{
    if (isfinite(v)) snprintf(buf, cap, fmt, v);
    else snprintf(buf, cap, "n/a (%s)", why);
    return buf;
}

void trace_stats_print(FILE *f, const TraceStatsSummary *s, const TraceReaderStats *rs,
                       const char *source, const char *format)
{
    char a[96], b[96], window_why[48];
    fprintf(f, "trace          %s (%s)\n", source, format);
    fprintf(f, "rows           %lld\n", (long long)s->rows);
    fprintf(f, "span           %.3f s\n", s->span_s);
    fprintf(f, "mean rate      %s\n", figure(a, sizeof(a), "%.4g req/s", s->mean_rate,
                                              s->rows < 2 ? "needs >= 2 rows" : "span is 0 s"));
    fprintf(f, "gaps           mean %s, CV %s\n",
            figure(a, sizeof(a), "%.4g s", s->gap_mean_s, "needs >= 2 rows"),
            figure(b, sizeof(b), "%.4g", s->gap_cv, s->rows < 3 ? "needs >= 3 rows" : "every gap is 0 s"));
    snprintf(window_why, sizeof(window_why), "no full %g s window", s->window_s);
    fprintf(f, "rate per %gs   peak %s, valley %s (%lld full windows)\n", s->window_s,
            figure(a, sizeof(a), "%.4g req/s", s->peak_rate, window_why),
            figure(b, sizeof(b), "%.4g req/s", s->valley_rate, window_why), (long long)s->windows);
    fprintf(f, "%-14s %8s %8s %8s %8s %10s\n", "tokens", "p50", "p90", "p99", "max", "mean");
    fprintf(f, "%-14s %8lld %8lld %8lld %8lld %10.2f\n", "  input", (long long)s->input.p50,
            (long long)s->input.p90, (long long)s->input.p99, (long long)s->input.max, s->input.mean);
    fprintf(f, "%-14s %8lld %8lld %8lld %8lld %10.2f\n", "  output", (long long)s->output.p50,
            (long long)s->output.p90, (long long)s->output.p99, (long long)s->output.max, s->output.mean);
    fprintf(f, "pearson(in,out) %s\n", figure(a, sizeof(a), "%.4f", s->pearson,
                                               s->rows < 3 ? "needs >= 3 rows" : "constant token counts"));
    fprintf(f, "failed         %lld (%s)\n", (long long)s->failed,
            figure(a, sizeof(a), "%.2f%%", 100.0 * s->failure_share, "no rows"));
    if (s->hashed_rows)
        fprintf(f, "ideal reuse    %s of prompt tokens in blocks seen before (infinite cache; %lld of "
                "%lld rows hashed, %s-token blocks)\n", figure(a, sizeof(a), "%.2f%%", 100.0 * s->ideal_reuse,
                "no prompt tokens"), (long long)s->hashed_rows, (long long)s->rows,
                s->hash_block_tokens > 0 ? (snprintf(b, sizeof(b), "%d", (int)s->hash_block_tokens), b) : "mixed");
    else
        fprintf(f, "ideal reuse    n/a (no block hashes: jsonl --map ...,hash_ids=FIELD or --sessions cumulative)\n");
    if (s->rows) {
        print_groups(f, "by model", s->by_model, s->n_models, s->rows);
        print_groups(f, "by log type", s->by_log_type, s->n_log_types, s->rows);
        if (s->n_apps > 1 || strcmp(s->by_app[0].name, "(none)"))
            print_groups(f, "by app", s->by_app, s->n_apps, s->rows);
    }
    if (rs && rs->rows_session_short)
        fprintf(f, "sessions       %lld turns shorter than the previous turn's prompt + response (the "
                "cumulative assumption fails there)\n", (long long)rs->rows_session_short);
    if (rs && (rs->rows_bad_skipped || rs->rows_failed_dropped || rs->rows_filtered)) {
        fprintf(f, "reader         %lld bad rows skipped, %lld failed rows dropped, %lld filtered\n",
                (long long)rs->rows_bad_skipped, (long long)rs->rows_failed_dropped,
                (long long)rs->rows_filtered);
        for (int i = 0; i < 5 && rs->first_bad[i][0]; i++) fprintf(f, "  %s\n", rs->first_bad[i]);
    }
}
