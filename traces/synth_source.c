/* synth_source.c: a RowSource that draws rows from SynthParams.
 *
 * The rate is piecewise constant over cyclic segments (one endless segment,
 * 24 diurnal hours, or a fit's windows).  A gap is drawn with unit mean in
 * expected arrivals, then spent segment by segment at each one's rate. */
#include "synth.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>

#include "common.h"
#include "engine/rng.h"
#include "fit.h"
#include "prefix_hash.h"

/* A session's next turn, waiting in the heap for its arrival. */
typedef struct PendingTurn {
    double t_s;                /* arrival */
    uint64_t session;          /* 1-based session number (the row's session key) */
    int64_t turn, turns;       /* 1-based turn of `turns` */
    int64_t prev_prompt, prev_output; /* tokens of the turn before */
    int mix;                   /* the session's category; -1 without a mix */
    uint64_t *hashes;          /* of the previous prompt (owned) */
    int64_t n_hashes;
} PendingTurn;

#define SYSTEM_CONTENT_BASE (UINT64_C(1) << 63) /* content ids of the system prompt's blocks */

struct SynthSource {
    SynthParams p;
    gsl_rng *rng_arrivals, *rng_input, *rng_output, *rng_mix, *rng_failed;
    size_t n_seg;
    double seg_len_s;          /* INFINITY for a constant rate */
    double *seg_rate;          /* requests/s */
    double *seg_shape;
    double *seg_wscale;        /* Weibull scale of a unit-mean gap */
    size_t seg;                /* current segment */
    double seg_end_s;          /* absolute end of the current segment */
    double t_s;                /* arrival time of the last row */
    int64_t emitted;
    double *zipf_cdf[2];       /* input, output: cumulative pmf, index k - 1 */
    double mix_cum[SYNTH_MAX_MIX];
    char desc[160];
    /* Hashes and sessions (p.turns). */
    int64_t hash_block;        /* tokens; 0 = rows carry no hashes */
    uint64_t *system_hashes;   /* of the system prompt's full blocks */
    int64_t n_system_hashes;
    uint64_t next_content;     /* content ids of new blocks */
    uint64_t *row_hashes;      /* handed out with a row */
    size_t row_hashes_cap;
    gsl_rng *rng_turns, *rng_think;
    PendingTurn *heap;         /* min-heap by (t_s, session) */
    size_t n_heap, cap_heap;
    uint64_t sessions_started;
    bool start_pending;        /* a session start at t_s waits to be used */
};

static void build_segments(SynthSource *s)
{
    const SynthParams *p = &s->p;
    s->n_seg = p->n_windows ? p->n_windows : p->diurnal ? 24 : 1;
    s->seg_rate = ss_malloc(s->n_seg * sizeof(double));
    s->seg_shape = ss_malloc(s->n_seg * sizeof(double));
    s->seg_wscale = ss_malloc(s->n_seg * sizeof(double));
    s->seg_len_s = p->n_windows ? p->window_s : p->diurnal ? p->day_s / 24 : INFINITY;
    for (size_t i = 0; i < s->n_seg; i++) {
        s->seg_rate[i] = p->n_windows ? p->window_rate[i]
                         : p->diurnal ? p->rate * p->hour_mult[i] : p->rate;
        s->seg_shape[i] = p->n_windows ? p->window_shape[i] : p->shape;
        s->seg_wscale[i] = 1 / gsl_sf_gamma(1 + 1 / s->seg_shape[i]);
    }
    s->seg = 0;
    s->seg_end_s = s->seg_len_s;
}

static double *zipf_table(const SynthLength *l)
{
    if (l->kind != SYNTH_LEN_ZIPF) return NULL;
    size_t n = (size_t)l->zipf_kmax;
    double *cdf = ss_malloc(n * sizeof(double)), sum = 0;
    for (size_t k = 1; k <= n; k++) {
        sum += exp(-l->zipf_a * log((double)k));
        cdf[k - 1] = sum;
    }
    for (size_t k = 0; k < n; k++) cdf[k] /= sum;
    cdf[n - 1] = 1;
    return cdf;
}

static int64_t draw_length(const SynthLength *l, const double *zipf_cdf, gsl_rng *r)
{
    double v;
    switch (l->kind) {
    case SYNTH_LEN_ZIPF: {
        double u = gsl_rng_uniform(r);
        size_t lo = 0, hi = (size_t)l->zipf_kmax - 1; /* first index with cdf > u */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (zipf_cdf[mid] <= u) lo = mid + 1;
            else hi = mid;
        }
        v = (double)(lo + 1);
        break;
    }
    case SYNTH_LEN_LOGNORMAL:
        v = gsl_ran_lognormal(r, l->mu1, l->sigma1);
        break;
    case SYNTH_LEN_LOGNORMAL2: {
        bool first = gsl_rng_uniform(r) < l->weight1;
        v = first ? gsl_ran_lognormal(r, l->mu1, l->sigma1) : gsl_ran_lognormal(r, l->mu2, l->sigma2);
        break;
    }
    case SYNTH_LEN_EMPIRICAL:
        v = fit_quantile_interp(l->q, SYNTH_QTABLE, gsl_rng_uniform(r));
        break;
    default:
        v = (double)l->constant;
    }
    v = floor(v + 0.5);
    if (!(v >= (double)l->min_tokens)) return l->min_tokens; /* NaN too */
    if (v > (double)l->max_tokens) return l->max_tokens;
    return (int64_t)v;
}

/* Advance t_s by one gap: unit mean in expected arrivals, spent through the
 * segments at their rates (an idle segment is skipped whole). */
static void advance(SynthSource *s, double per_gap)
{
    double shape = s->seg_shape[s->seg], g;
    if (s->p.gap == SYNTH_GAP_GAMMA) g = gsl_ran_gamma(s->rng_arrivals, shape, 1 / shape);
    else if (s->p.gap == SYNTH_GAP_WEIBULL)
        g = gsl_ran_weibull(s->rng_arrivals, s->seg_wscale[s->seg], shape);
    else g = gsl_ran_exponential(s->rng_arrivals, 1.0);
    g *= per_gap; /* sessions: one start per turns_mean expected requests */
    for (;;) {
        double r = s->seg_rate[s->seg];
        if (r > 0) {
            double need = g / r;
            if (s->t_s + need < s->seg_end_s) { s->t_s += need; return; }
            g -= (s->seg_end_s - s->t_s) * r;
            if (g < 0) g = 0;
        }
        s->t_s = s->seg_end_s;
        s->seg = (s->seg + 1) % s->n_seg;
        s->seg_end_s += s->seg_len_s;
    }
}

static const char *gap_name(SynthGap g)
{
    return g == SYNTH_GAP_GAMMA ? "gamma" : g == SYNTH_GAP_WEIBULL ? "weibull" : "exponential";
}

int synth_source_create(SynthSource **out, const SynthParams *p, uint64_t seed)
{
    *out = NULL;
    int err = synth_params_validate(p);
    if (err < 0) return err;
    SynthSource *s = ss_calloc(1, sizeof(*s));
    synth_params_copy(&s->p, p);
    s->rng_arrivals = ss_rng_stream(seed, "synth.arrivals", 0);
    s->rng_input = ss_rng_stream(seed, "synth.input", 0);
    s->rng_output = ss_rng_stream(seed, "synth.output", 0);
    s->rng_mix = ss_rng_stream(seed, "synth.mix", 0);
    s->rng_failed = ss_rng_stream(seed, "synth.failed", 0);
    build_segments(s);
    s->zipf_cdf[0] = zipf_table(&p->input);
    s->zipf_cdf[1] = zipf_table(&p->output);
    double cum = 0;
    for (size_t i = 0; i < p->n_mix; i++) s->mix_cum[i] = (cum += p->mix[i].weight);
    snprintf(s->desc, sizeof(s->desc), "workload:%s seed=%" PRIu64 " gaps=%s%s", p->name, seed,
             gap_name(p->gap), p->turns.sessions ? " sessions" : "");
    if (synth_turns_hashed(&p->turns)) {
        s->hash_block = p->turns.hash_block_tokens;
        s->n_system_hashes = p->turns.system_prompt_tokens / s->hash_block;
        s->system_hashes = ss_calloc((size_t)s->n_system_hashes + 1, sizeof(uint64_t));
        uint64_t content = SYSTEM_CONTENT_BASE; /* the same blocks, so the same hashes, in every session */
        prefix_hash_extend(s->system_hashes, s->n_system_hashes, NULL, 0, &content);
    }
    if (p->turns.sessions) {
        s->rng_turns = ss_rng_stream(seed, "synth.turns", 0);
        s->rng_think = ss_rng_stream(seed, "synth.think", 0);
        s->start_pending = true; /* the first session starts at t = 0 */
    }
    *out = s;
    return 0;
}

/* The category of the row; -1 without a mix. */
static int draw_mix(SynthSource *s, TraceRow *row)
{
    size_t n = s->p.n_mix;
    if (!n || !(s->mix_cum[n - 1] > 0)) return -1;
    double u = gsl_rng_uniform(s->rng_mix) * s->mix_cum[n - 1];
    size_t i = 0;
    while (i + 1 < n && s->mix_cum[i] <= u) i++;
    /* Same-size fields (char[32] both sides): a copy, not a printf per row. */
    _Static_assert(sizeof(row->model) == sizeof(s->p.mix[i].model), "model field sizes");
    _Static_assert(sizeof(row->log_type) == sizeof(s->p.mix[i].log_type), "log type field sizes");
    memcpy(row->model, s->p.mix[i].model, sizeof(row->model));
    memcpy(row->log_type, s->p.mix[i].log_type, sizeof(row->log_type));
    return (int)i;
}

/* A category's own lognormal responses, within params.output's bounds. */
static int64_t draw_category_output(const SynthSource *s, const SynthMix *m)
{
    double v = floor(gsl_ran_lognormal(s->rng_output, m->out_mu, m->out_sigma) + 0.5);
    if (!(v >= (double)s->p.output.min_tokens)) return s->p.output.min_tokens;
    if (v > (double)s->p.output.max_tokens) return s->p.output.max_tokens;
    return (int64_t)v;
}

static int64_t draw_output(SynthSource *s, int c)
{
    return c >= 0 && s->p.mix[c].out_sigma > 0 ? draw_category_output(s, &s->p.mix[c])
                                                : draw_length(&s->p.output, s->zipf_cdf[1], s->rng_output);
}

static void draw_failed(SynthSource *s, TraceRow *row)
{
    if (s->p.failure_share > 0 && gsl_rng_uniform(s->rng_failed) < s->p.failure_share) {
        row->failed = true;
        row->output_tokens = 0;
    }
}

/* The row's hashes: prev[0, keep) where the prompt starts with them (the
 * system prompt, or the previous turn's full blocks), new ones after. */
static void set_hashes(SynthSource *s, TraceRow *row, const uint64_t *prev, int64_t prev_full)
{
    int64_t n = prefix_hash_blocks(row->input_tokens, (int32_t)s->hash_block);
    int64_t full_now = row->input_tokens / s->hash_block, keep = prev_full < full_now ? prev_full : full_now;
    SS_GROW(s->row_hashes, s->row_hashes_cap, (size_t)n + 1);
    prefix_hash_extend(s->row_hashes, n, prev, keep, &s->next_content);
    row->hash_ids = n ? s->row_hashes : NULL;
    row->n_hash_ids = (int32_t)n;
    row->hash_block_tokens = (int32_t)s->hash_block;
}

static void row_begin(TraceRow *row, double t_s)
{
    memset(row, 0, sizeof(*row));
    row->arrival_s = t_s;
    row->elapsed_s = -1;
}

/* ---- sessions: a min-heap of pending turns by (arrival, session) ---- */

static bool turn_before(const PendingTurn *a, const PendingTurn *b)
{
    return a->t_s < b->t_s || (a->t_s == b->t_s && a->session < b->session);
}

static void heap_push(SynthSource *s, PendingTurn t)
{
    SS_GROW(s->heap, s->cap_heap, s->n_heap + 1);
    size_t i = s->n_heap++;
    while (i && turn_before(&t, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = t;
}

static PendingTurn heap_pop(SynthSource *s)
{
    PendingTurn top = s->heap[0], last = s->heap[--s->n_heap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->n_heap) break;
        if (c + 1 < s->n_heap && turn_before(&s->heap[c + 1], &s->heap[c])) c++;
        if (!turn_before(&s->heap[c], &last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->n_heap) s->heap[i] = last;
    return top;
}

/* After emitting turn `t` as `row`: queue the session's next turn. */
static void queue_next_turn(SynthSource *s, PendingTurn t, const TraceRow *row)
{
    if (t.turn >= t.turns) {
        free(t.hashes);
        return;
    }
    t.turn++;
    t.t_s = row->arrival_s + (s->p.turns.think_s > 0 ? gsl_ran_exponential(s->rng_think, s->p.turns.think_s) : 0);
    t.prev_prompt = row->input_tokens;
    t.prev_output = row->output_tokens;
    t.n_hashes = row->n_hash_ids;
    t.hashes = ss_realloc(t.hashes, ((size_t)t.n_hashes + 1) * sizeof(uint64_t));
    if (t.n_hashes) memcpy(t.hashes, row->hash_ids, (size_t)t.n_hashes * sizeof(uint64_t));
    heap_push(s, t);
}

/* The next turn of any session, or a new session's first: 1, or 0 past duration_s. */
static int next_session_turn(SynthSource *s, TraceRow *row)
{
    const SynthTurns *tp = &s->p.turns;
    for (;;) {
        if (!s->start_pending) {
            advance(s, tp->turns_mean);
            s->start_pending = true;
        }
        bool from_heap = s->n_heap && s->heap[0].t_s < s->t_s;
        double t_s = from_heap ? s->heap[0].t_s : s->t_s;
        if (s->p.duration_s > 0 && t_s >= s->p.duration_s) return 0;
        row_begin(row, t_s);
        PendingTurn t;
        int64_t fresh = draw_length(&s->p.input, s->zipf_cdf[0], s->rng_input);
        if (from_heap) {
            t = heap_pop(s);
            row->input_tokens = t.prev_prompt + t.prev_output + fresh;
            if (row->input_tokens > tp->max_context) { /* the conversation outgrew the context */
                free(t.hashes);
                continue;
            }
        } else {
            s->start_pending = false;
            t = (PendingTurn){ .t_s = t_s, .session = ++s->sessions_started, .turn = 1,
                               .turns = (int64_t)gsl_ran_geometric(s->rng_turns, 1 / tp->turns_mean) };
            row->input_tokens = tp->system_prompt_tokens + fresh;
            if (row->input_tokens > tp->max_context) row->input_tokens = tp->max_context;
        }
        if (t.turn == 1) t.mix = draw_mix(s, row); /* a conversation keeps its model */
        else if (t.mix >= 0) {
            memcpy(row->model, s->p.mix[t.mix].model, sizeof(row->model));
            memcpy(row->log_type, s->p.mix[t.mix].log_type, sizeof(row->log_type));
        }
        row->output_tokens = draw_output(s, t.mix);
        draw_failed(s, row);
        snprintf(row->session, sizeof(row->session), "%" PRIu64, t.session);
        if (t.turn == 1) set_hashes(s, row, s->system_hashes, s->n_system_hashes);
        else set_hashes(s, row, t.hashes, t.prev_prompt / s->hash_block);
        queue_next_turn(s, t, row);
        s->emitted++;
        return 1;
    }
}

int synth_source_next(SynthSource *s, TraceRow *row)
{
    if (s->p.requests > 0 && s->emitted >= s->p.requests) return 0;
    if (s->p.turns.sessions) return next_session_turn(s, row);
    if (s->emitted > 0) advance(s, 1);
    if (s->p.duration_s > 0 && s->t_s >= s->p.duration_s) return 0;
    row_begin(row, s->t_s);
    row->input_tokens = draw_length(&s->p.input, s->zipf_cdf[0], s->rng_input) + s->p.turns.system_prompt_tokens;
    /* Each quantity has its own stream: drawing the category first moves no draw. */
    int c = draw_mix(s, row);
    row->output_tokens = draw_output(s, c);
    draw_failed(s, row);
    if (s->hash_block) set_hashes(s, row, s->system_hashes, s->n_system_hashes);
    s->emitted++;
    return 1;
}

static int source_next(void *ctx, TraceRow *row)
{
    return synth_source_next(ctx, row);
}

RowSource synth_source_rowsource(SynthSource *s)
{
    RowSource r = { s, source_next, s->desc };
    return r;
}

const SynthParams *synth_source_params(const SynthSource *s)
{
    return &s->p;
}

int synth_source_create_from_fit(SynthSource **out, const char *fit_path, uint64_t seed,
                                 int64_t requests, double duration_s)
{
    SynthParams p;
    *out = NULL;
    int err = synth_params_from_fit(&p, fit_path, NULL, NULL, false);
    if (err < 0) return err;
    p.requests = requests;
    p.duration_s = duration_s;
    err = synth_source_create(out, &p, seed);
    synth_params_clear(&p);
    return err;
}

void synth_source_destroy(SynthSource **sp)
{
    SynthSource *s = *sp;
    if (!s) return;
    gsl_rng_free(s->rng_arrivals);
    gsl_rng_free(s->rng_input);
    gsl_rng_free(s->rng_output);
    gsl_rng_free(s->rng_mix);
    gsl_rng_free(s->rng_failed);
    if (s->rng_turns) gsl_rng_free(s->rng_turns);
    if (s->rng_think) gsl_rng_free(s->rng_think);
    for (size_t i = 0; i < s->n_heap; i++) free(s->heap[i].hashes);
    free(s->heap);
    free(s->system_hashes);
    free(s->row_hashes);
    free(s->seg_rate);
    free(s->seg_shape);
    free(s->seg_wscale);
    free(s->zipf_cdf[0]);
    free(s->zipf_cdf[1]);
    synth_params_clear(&s->p);
    free(s);
    *sp = NULL;
}
