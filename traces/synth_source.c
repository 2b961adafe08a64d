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
static void advance(SynthSource *s)
{
    double shape = s->seg_shape[s->seg], g;
    if (s->p.gap == SYNTH_GAP_GAMMA) g = gsl_ran_gamma(s->rng_arrivals, shape, 1 / shape);
    else if (s->p.gap == SYNTH_GAP_WEIBULL)
        g = gsl_ran_weibull(s->rng_arrivals, s->seg_wscale[s->seg], shape);
    else g = gsl_ran_exponential(s->rng_arrivals, 1.0);
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
    snprintf(s->desc, sizeof(s->desc), "workload:%s seed=%" PRIu64 " gaps=%s", p->name, seed,
             gap_name(p->gap));
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

int synth_source_next(SynthSource *s, TraceRow *row)
{
    if (s->p.requests > 0 && s->emitted >= s->p.requests) return 0;
    if (s->emitted > 0) advance(s);
    if (s->p.duration_s > 0 && s->t_s >= s->p.duration_s) return 0;
    memset(row, 0, sizeof(*row));
    row->arrival_s = s->t_s;
    row->session[0] = '\0';
    row->elapsed_s = -1;
    row->input_tokens = draw_length(&s->p.input, s->zipf_cdf[0], s->rng_input);
    /* Each quantity has its own stream: drawing the category first moves no draw. */
    int c = draw_mix(s, row);
    row->output_tokens = c >= 0 && s->p.mix[c].out_sigma > 0 ? draw_category_output(s, &s->p.mix[c])
                                                              : draw_length(&s->p.output, s->zipf_cdf[1], s->rng_output);
    if (s->p.failure_share > 0 && gsl_rng_uniform(s->rng_failed) < s->p.failure_share) {
        row->failed = true;
        row->output_tokens = 0;
    }
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
    free(s->seg_rate);
    free(s->seg_shape);
    free(s->seg_wscale);
    free(s->zipf_cdf[0]);
    free(s->zipf_cdf[1]);
    synth_params_clear(&s->p);
    free(s);
    *sp = NULL;
}
