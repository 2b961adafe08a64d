/* stats.c: one-pass trace statistics in bounded memory (see stats.h). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "format.h"
#include "reuse.h"

#define DENSE_TOKENS 65536          /* exact counters for token values below this */
#define MAX_WINDOWS (1 << 24)       /* per-window counters kept (128 MiB would be silly) */
#define MAX_GROUPS 256              /* distinct models / log types; the rest is "(other)" */

typedef struct TokenHist {
    int64_t *dense;                 /* count per value < DENSE_TOKENS */
    int64_t *big;                   /* values >= DENSE_TOKENS, one by one */
    size_t n_big, cap_big;
    int64_t n, max;
    double sum;
} TokenHist;

typedef struct Group {
    char name[48];
    int64_t rows, failed;
    double in_sum, out_sum;
} Group;

typedef struct GroupSet {
    Group *g;
    size_t n, cap, last;            /* last: the previous hit (traces repeat a few names) */
} GroupSet;

struct TraceStats {
    double window_s;
    int64_t n, failed;
    double first_t, last_t;
    double gap_mean, gap_m2;        /* Welford over gaps */
    double mx, my, m2x, m2y, cxy;   /* Welford co-moments of (input, output) */
    int64_t *win;                   /* arrivals per window */
    size_t n_win, cap_win;
    bool win_overflow;
    TokenHist in, out;
    GroupSet models, logs, apps;
    int64_t dropped_failed;         /* failed rows the caller dropped (trace_stats_add_dropped) */
    TraceGroupSummary *sum_models, *sum_logs, *sum_apps;
    PrefixReuse reuse;
};

int trace_stats_create(TraceStats **out, double window_s)
{
    if (!(window_s > 0) || !isfinite(window_s))
        return ss_error_set(EINVAL, "window must be a positive number of seconds (got %g)", window_s);
    TraceStats *s = ss_calloc(1, sizeof(*s));
    s->window_s = window_s;
    s->in.dense = ss_calloc(DENSE_TOKENS, sizeof(int64_t));
    s->out.dense = ss_calloc(DENSE_TOKENS, sizeof(int64_t));
    *out = s;
    return 0;
}

void trace_stats_destroy(TraceStats **ps)
{
    TraceStats *s = *ps;
    if (!s) return;
    free(s->in.dense);
    free(s->in.big);
    free(s->out.dense);
    free(s->out.big);
    free(s->win);
    free(s->models.g);
    free(s->logs.g);
    free(s->apps.g);
    free(s->sum_apps);
    free(s->sum_models);
    free(s->sum_logs);
    prefix_reuse_free(&s->reuse);
    free(s);
    *ps = NULL;
}

static void hist_add(TokenHist *h, int64_t v)
{
    if (v < DENSE_TOKENS) {
        h->dense[v]++;
    } else {
        SS_GROW(h->big, h->cap_big, h->n_big + 1);
        h->big[h->n_big++] = v;
    }
    h->n++;
    h->sum += (double)v;
    if (v > h->max) h->max = v;
}

static void group_add(GroupSet *gs, const char *name, const TraceRow *row)
{
    Group *g = NULL;
    if (gs->n && !strcmp(gs->g[gs->last].name, name)) g = &gs->g[gs->last];
    for (size_t i = 0; !g && i < gs->n; i++)
        if (!strcmp(gs->g[i].name, name)) {
            g = &gs->g[i];
            gs->last = i;
        }
    if (!g && gs->n >= MAX_GROUPS) name = "(other)";
    for (size_t i = 0; !g && i < gs->n; i++)
        if (!strcmp(gs->g[i].name, name)) g = &gs->g[i];
    if (!g) {
        SS_GROW(gs->g, gs->cap, gs->n + 1);
        g = &gs->g[gs->n];
        memset(g, 0, sizeof(*g));
        trace_copy_str(g->name, sizeof(g->name), name);
        gs->last = gs->n++;
    }
    g->rows++;
    g->failed += row->failed;
    g->in_sum += (double)row->input_tokens;
    g->out_sum += (double)row->output_tokens;
}

static void window_add(TraceStats *s, double t)
{
    double w = (t - s->first_t) / s->window_s;
    if (!(w < MAX_WINDOWS)) {
        s->win_overflow = true;
        return;
    }
    size_t i = (size_t)w;
    if (i >= s->n_win) {
        size_t old = s->cap_win;
        SS_GROW(s->win, s->cap_win, i + 1);
        memset(s->win + old, 0, (s->cap_win - old) * sizeof(*s->win));
        s->n_win = i + 1;
    }
    s->win[i]++;
}

/* A failed row the caller drops (--failed drop): counted in its groups'
 * `failed` column, so the groups add up to the trace's failed count, and
 * nowhere else (it never arrives). */
static void group_add_failed(GroupSet *gs, const char *name)
{
    for (size_t i = 0; i < gs->n; i++)
        if (!strcmp(gs->g[i].name, name)) { gs->g[i].failed++; return; }
    if (gs->n >= MAX_GROUPS) name = "(other)";
    for (size_t i = 0; i < gs->n; i++)
        if (!strcmp(gs->g[i].name, name)) { gs->g[i].failed++; return; }
    SS_GROW(gs->g, gs->cap, gs->n + 1);
    Group *g = &gs->g[gs->n++];
    memset(g, 0, sizeof(*g));
    trace_copy_str(g->name, sizeof(g->name), name);
    g->failed = 1;
}

void trace_stats_add_dropped(TraceStats *s, const TraceRow *row)
{
    s->dropped_failed++;
    group_add_failed(&s->models, row->model[0] ? row->model : "(none)");
    group_add_failed(&s->logs, row->log_type[0] ? row->log_type : "(none)");
    group_add_failed(&s->apps, row->app[0] ? row->app : "(none)");
}

int64_t trace_stats_dropped_failed(const TraceStats *s) { return s->dropped_failed; }

void trace_stats_add(TraceStats *s, const TraceRow *row)
{
    const double t = row->arrival_s;
    if (!s->n) {
        s->first_t = t;
    } else {
        double gap = t - s->last_t, d = gap - s->gap_mean;
        s->gap_mean += d / (double)s->n; /* s->n gaps so far, this one included */
        s->gap_m2 += d * (gap - s->gap_mean);
    }
    s->last_t = t;
    s->n++;
    const double x = (double)row->input_tokens, y = (double)row->output_tokens;
    const double dx = x - s->mx, dy = y - s->my;
    s->mx += dx / (double)s->n;
    s->my += dy / (double)s->n;
    s->m2x += dx * (x - s->mx);
    s->m2y += dy * (y - s->my);
    s->cxy += dx * (y - s->my);
    window_add(s, t);
    hist_add(&s->in, row->input_tokens);
    hist_add(&s->out, row->output_tokens);
    s->failed += row->failed;
    group_add(&s->models, row->model[0] ? row->model : "(none)", row);
    group_add(&s->logs, row->log_type[0] ? row->log_type : "(none)", row);
    group_add(&s->apps, row->app[0] ? row->app : "(none)", row);
    prefix_reuse_add(&s->reuse, row);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest value v with count(<= v) >= ceil(pct/100 * n). */
static int64_t hist_quantile(const TokenHist *h, int pct)
{
    if (!h->n) return 0;
    int64_t k = (h->n * pct + 99) / 100, cum = 0;
    if (k < 1) k = 1;
    for (int64_t v = 0; v < DENSE_TOKENS; v++)
        if ((cum += h->dense[v]) >= k) return v;
    return h->big[k - cum - 1]; /* big[] is sorted by summarize */
}

static void token_summary(TokenHist *h, TraceTokenSummary *o)
{
    if (h->n_big) qsort(h->big, h->n_big, sizeof(*h->big), cmp_i64);
    o->p50 = hist_quantile(h, 50);
    o->p90 = hist_quantile(h, 90);
    o->p99 = hist_quantile(h, 99);
    o->max = h->max;
    o->mean = h->n ? h->sum / (double)h->n : NAN;
}

static int cmp_group(const void *a, const void *b)
{
    const TraceGroupSummary *x = a, *y = b;
    if (x->rows != y->rows) return x->rows > y->rows ? -1 : 1;
    return strcmp(x->name, y->name);
}

static TraceGroupSummary *groups_summary(const GroupSet *gs, TraceGroupSummary *old)
{
    free(old);
    TraceGroupSummary *o = ss_calloc(gs->n + 1, sizeof(*o));
    for (size_t i = 0; i < gs->n; i++) {
        const Group *g = &gs->g[i];
        memcpy(o[i].name, g->name, sizeof(o[i].name));
        o[i].rows = g->rows;
        o[i].failed = g->failed;
        o[i].mean_input = g->in_sum / (double)g->rows;
        o[i].mean_output = g->out_sum / (double)g->rows;
    }
    qsort(o, gs->n, sizeof(*o), cmp_group);
    return o;
}

void trace_stats_summarize(TraceStats *s, const TraceReaderStats *rs, TraceStatsSummary *o)
{
    memset(o, 0, sizeof(*o));
    o->rows = s->n;
    o->span_s = s->n ? s->last_t - s->first_t : 0;
    o->mean_rate = o->span_s > 0 ? (double)s->n / o->span_s : NAN;
    o->gap_mean_s = s->n > 1 ? s->gap_mean : NAN;
    o->gap_cv = s->n > 2 && s->gap_mean > 0 ? sqrt(s->gap_m2 / (double)(s->n - 2)) / s->gap_mean : NAN;
    o->window_s = s->window_s;
    o->peak_rate = o->valley_rate = NAN;
    if (!s->win_overflow && s->n) {
        o->windows = (int64_t)floor(o->span_s / s->window_s);
        for (int64_t i = 0; i < o->windows; i++) {
            double rate = (double)s->win[i] / s->window_s;
            if (!i || rate > o->peak_rate) o->peak_rate = rate;
            if (!i || rate < o->valley_rate) o->valley_rate = rate;
        }
    }
    token_summary(&s->in, &o->input);
    token_summary(&s->out, &o->output);
    /* Two points always correlate +-1: a number that says nothing, so NAN. */
    o->pearson = s->n > 2 && s->m2x > 0 && s->m2y > 0 ? s->cxy / sqrt(s->m2x * s->m2y) : NAN;
    int64_t dropped = rs ? rs->rows_failed_dropped : 0;
    o->failed = s->failed + dropped;
    o->failure_share = s->n + dropped ? (double)o->failed / (double)(s->n + dropped) : NAN;
    s->sum_models = o->by_model = groups_summary(&s->models, s->sum_models);
    s->sum_logs = o->by_log_type = groups_summary(&s->logs, s->sum_logs);
    o->n_models = s->models.n;
    o->n_log_types = s->logs.n;
    s->sum_apps = o->by_app = groups_summary(&s->apps, s->sum_apps);
    o->n_apps = s->apps.n;
    o->hashed_rows = s->reuse.hashed_rows;
    o->hash_block_tokens = s->reuse.hashed_rows ? s->reuse.block_tokens : 0;
    o->prompt_tokens = s->reuse.prompt_tokens;
    o->reused_tokens = s->reuse.reused_tokens;
    o->ideal_reuse = prefix_reuse_share(&s->reuse);
}
