/* synth_json.c: SynthParams to JSON (manifests, gen's sidecar) and from a
 * `servesim trace fit` JSON file (format: traces/README-synth.md). */
#include "synth.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sf_gamma.h>

#include "common.h"

static const char *const len_kind_names[] = { "constant", "zipf", "lognormal", "lognormal2",
                                              "empirical" };
static const char *const gap_names[] = { "exponential", "gamma", "weibull" };

static json_t *length_to_json(const SynthLength *l)
{
    json_t *o = json_object();
    json_object_set_new(o, "dist", json_string(len_kind_names[l->kind]));
    if (l->kind == SYNTH_LEN_CONSTANT) json_object_set_new(o, "tokens", json_integer(l->constant));
    if (l->kind == SYNTH_LEN_ZIPF) {
        json_object_set_new(o, "a", json_real(l->zipf_a));
        json_object_set_new(o, "kmax", json_integer(l->zipf_kmax));
    }
    if (l->kind == SYNTH_LEN_LOGNORMAL2) json_object_set_new(o, "weight1", json_real(l->weight1));
    if (l->kind == SYNTH_LEN_LOGNORMAL || l->kind == SYNTH_LEN_LOGNORMAL2) {
        json_object_set_new(o, "mu1", json_real(l->mu1));
        json_object_set_new(o, "sigma1", json_real(l->sigma1));
    }
    if (l->kind == SYNTH_LEN_LOGNORMAL2) {
        json_object_set_new(o, "mu2", json_real(l->mu2));
        json_object_set_new(o, "sigma2", json_real(l->sigma2));
    }
    if (l->kind == SYNTH_LEN_EMPIRICAL) {
        json_object_set_new(o, "median", json_real(l->q[SYNTH_QTABLE / 2]));
        json_object_set_new(o, "table_points", json_integer(SYNTH_QTABLE));
    }
    json_object_set_new(o, "min_tokens", json_integer(l->min_tokens));
    json_object_set_new(o, "max_tokens", json_integer(l->max_tokens));
    return o;
}

json_t *synth_params_to_json(const SynthParams *p)
{
    json_t *o = json_object(), *a = json_object(), *mix = json_array();
    json_object_set_new(o, "name", json_string(p->name));
    if (p->preset && p->preset->opts) { /* the knobs, as they ran (after --rate / --burstiness) */
        _Alignas(8) unsigned char opts[SYNTH_PRESET_OPTS_BYTES];
        memcpy(opts, p->preset_opts, sizeof(opts));
        if (p->preset->sync) p->preset->sync(p, opts);
        json_t *ps = json_object();
        json_object_set_new(ps, "name", json_string(p->preset->name));
        json_t *knobs = opts_to_json(p->preset->opts, opts);
        if (!synth_turns_hashed(&p->turns)) { /* off: manifests stay as before the knobs existed */
            static const char *const turn_knobs[] = { "sessions", "turns_mean", "think_s", "max_context",
                                                      "system_prompt", "hash_block" };
            for (size_t i = 0; i < sizeof(turn_knobs) / sizeof(turn_knobs[0]); i++)
                json_object_del(knobs, turn_knobs[i]);
        }
        json_object_set_new(ps, "options", knobs);
        json_object_set_new(o, "preset", ps);
    }
    json_object_set_new(a, "gaps", json_string(gap_names[p->gap]));
    if (p->n_windows) {
        json_object_set_new(a, "windows", json_integer((json_int_t)p->n_windows));
        json_object_set_new(a, "window_s", json_real(p->window_s));
    } else {
        json_object_set_new(a, "rate", json_real(p->rate));
        json_object_set_new(a, "shape", json_real(p->shape));
        json_object_set_new(a, "diurnal", json_boolean(p->diurnal));
        if (p->diurnal) json_object_set_new(a, "day_s", json_real(p->day_s));
    }
    json_object_set_new(o, "arrivals", a);
    json_object_set_new(o, "input_tokens", length_to_json(&p->input));
    json_object_set_new(o, "output_tokens", length_to_json(&p->output));
    for (size_t i = 0; i < p->n_mix; i++) {
        json_t *m = json_object();
        json_object_set_new(m, "model", json_string(p->mix[i].model));
        json_object_set_new(m, "log_type", json_string(p->mix[i].log_type));
        json_object_set_new(m, "weight", json_real(p->mix[i].weight));
        if (p->mix[i].out_sigma > 0) { /* this category's own responses */
            json_object_set_new(m, "output_mu", json_real(p->mix[i].out_mu));
            json_object_set_new(m, "output_sigma", json_real(p->mix[i].out_sigma));
        }
        json_array_append_new(mix, m);
    }
    json_object_set_new(o, "mix", mix);
    json_object_set_new(o, "failure_share", json_real(p->failure_share));
    if (synth_turns_hashed(&p->turns)) { /* absent otherwise: single-turn manifests stay as they were */
        const SynthTurns *t = &p->turns;
        json_t *tj = json_object();
        json_object_set_new(tj, "sessions", json_boolean(t->sessions));
        if (t->sessions) {
            json_object_set_new(tj, "turns_mean", json_real(t->turns_mean));
            json_object_set_new(tj, "turns_law", json_string("geometric"));
            json_object_set_new(tj, "think_s", json_real(t->think_s));
            json_object_set_new(tj, "think_law", json_string("exponential, from the previous turn's arrival"));
            json_object_set_new(tj, "max_context_tokens", json_integer(t->max_context));
        }
        json_object_set_new(tj, "system_prompt_tokens", json_integer(t->system_prompt_tokens));
        json_object_set_new(tj, "hash_block_tokens", json_integer(t->hash_block_tokens));
        json_object_set_new(o, "turns", tj);
    }
    json_object_set_new(o, "requests", json_integer(p->requests));
    json_object_set_new(o, "duration_s", json_real(p->duration_s));
    return o;
}

/* ---- reading a fit file ------------------------------------------------ */

typedef struct FitDoc { json_t *root; const char *path; } FitDoc;

/* The object at dotted `key` under `o` (e.g. "fits.gamma.params"). */
static json_t *jpath(json_t *o, const char *key)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", key);
    for (char *tok = strtok(buf, "."); tok && o; tok = strtok(NULL, "."))
        o = json_object_get(o, tok);
    return o;
}

static int jnum(const FitDoc *d, json_t *o, const char *where, const char *key, double *out)
{
    json_t *v = jpath(o, key);
    if (!json_is_number(v))
        return ss_error_set(EINVAL, "%s: %s.%s: missing or not a number", d->path, where, key);
    *out = json_number_value(v);
    return 0;
}

static const char *pick(json_t *section, const char *want)
{
    if (want) return want;
    const char *best = json_string_value(json_object_get(section, "best"));
    return best ? best : "";
}

static int arrivals_from_fit(const FitDoc *d, const char *want, bool use_windows, SynthParams *p)
{
    json_t *a = json_object_get(d->root, "arrivals");
    /* Timestamps at a coarse resolution: the interval fits are the unbiased ones. */
    json_t *iv = json_object_get(a, "interval");
    const char *dist = pick(iv ? iv : a, want);
    char where[64];
    bool use_iv = iv && json_is_true(json_object_get(json_object_get(json_object_get(iv, "fits"),
                                                                     dist), "ok"));
    snprintf(where, sizeof(where), "arrivals.%s.%s", use_iv ? "interval.fits" : "fits", dist);
    json_t *f = jpath(use_iv ? iv : a, "fits");
    f = json_object_get(f, dist);
    int err = jnum(d, a, "arrivals", "rate", &p->rate);
    if (err < 0) return err;
    if (!strcmp(dist, "exponential")) {
        p->gap = SYNTH_GAP_EXPONENTIAL;
        p->shape = 1;
    } else if (!strcmp(dist, "gamma") || !strcmp(dist, "weibull")) {
        p->gap = dist[0] == 'g' ? SYNTH_GAP_GAMMA : SYNTH_GAP_WEIBULL;
        if ((err = jnum(d, f, where, "params.shape", &p->shape)) < 0) return err;
    } else {
        return ss_error_set(EINVAL, "%s: arrivals: unknown distribution '%s' "
                            "(exponential, gamma, weibull)", d->path, dist);
    }
    json_t *w = json_object_get(a, "windows");
    if (!use_windows) return 0;
    if (!json_is_object(w))
        return ss_error_set(EINVAL, "%s: arrivals.windows: absent (fit with --window-s)", d->path);
    json_t *rate = json_object_get(w, "rate"), *shape = json_object_get(w, "shape");
    size_t n = json_array_size(rate);
    if (!n || json_array_size(shape) != n)
        return ss_error_set(EINVAL, "%s: arrivals.windows: rate/shape arrays missing", d->path);
    if ((err = jnum(d, w, "arrivals.windows", "window_s", &p->window_s)) < 0) return err;
    /* Window shapes are Gamma shapes; a window with too few gaps for its own
     * shape (null) takes the whole trace's Gamma shape. */
    double fallback = p->shape;
    jnum(d, jpath(use_iv ? iv : a, "fits.gamma"), "arrivals.fits.gamma", "params.shape", &fallback);
    ss_error_clear();
    p->gap = SYNTH_GAP_GAMMA;
    p->shape = fallback;
    p->window_rate = ss_malloc(n * sizeof(double));
    p->window_shape = ss_malloc(n * sizeof(double));
    p->n_windows = n;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(shape, i);
        p->window_rate[i] = json_number_value(json_array_get(rate, i));
        p->window_shape[i] = json_is_number(s) ? json_number_value(s) : p->shape;
    }
    return 0;
}

static int length_from_fit(const FitDoc *d, const char *section, const char *want, SynthLength *l)
{
    json_t *sec = json_object_get(d->root, section);
    if (!json_is_object(sec)) return ss_error_set(EINVAL, "%s: %s: missing", d->path, section);
    const char *dist = pick(sec, want);
    char where[96];
    snprintf(where, sizeof(where), "%s.fits.%s", section, dist);
    json_t *f = jpath(sec, "fits");
    f = json_object_get(f, dist);
    double max = 0;
    int err = jnum(d, sec, section, "max", &max);
    if (err < 0) return err;
    memset(l, 0, sizeof(*l));
    l->min_tokens = 1;
    l->max_tokens = max >= 1 ? (int64_t)max : 1;
    if (!strcmp(dist, "zipf")) {
        double kmax = 0;
        l->kind = SYNTH_LEN_ZIPF;
        if ((err = jnum(d, f, where, "params.a", &l->zipf_a)) < 0) return err;
        if ((err = jnum(d, f, where, "params.kmax", &kmax)) < 0) return err;
        l->zipf_kmax = (int64_t)kmax;
    } else if (!strcmp(dist, "lognormal")) {
        l->kind = SYNTH_LEN_LOGNORMAL;
        if ((err = jnum(d, f, where, "params.mu", &l->mu1)) < 0 ||
            (err = jnum(d, f, where, "params.sigma", &l->sigma1)) < 0) return err;
    } else if (!strcmp(dist, "lognormal2")) {
        l->kind = SYNTH_LEN_LOGNORMAL2;
        if ((err = jnum(d, f, where, "params.weight1", &l->weight1)) < 0 ||
            (err = jnum(d, f, where, "params.mu1", &l->mu1)) < 0 ||
            (err = jnum(d, f, where, "params.sigma1", &l->sigma1)) < 0 ||
            (err = jnum(d, f, where, "params.mu2", &l->mu2)) < 0 ||
            (err = jnum(d, f, where, "params.sigma2", &l->sigma2)) < 0) return err;
    } else if (!strcmp(dist, "empirical")) {
        json_t *q = json_object_get(f, "quantiles");
        l->kind = SYNTH_LEN_EMPIRICAL;
        if (json_array_size(q) != SYNTH_QTABLE)
            return ss_error_set(EINVAL, "%s: %s.quantiles: expected %d numbers", d->path, where,
                                SYNTH_QTABLE);
        for (size_t i = 0; i < SYNTH_QTABLE; i++) l->q[i] = json_number_value(json_array_get(q, i));
    } else {
        return ss_error_set(EINVAL, "%s: %s: unknown distribution '%s' "
                            "(zipf, lognormal, lognormal2, empirical)", d->path, section, dist);
    }
    return 0;
}

static void mix_from_fit(const FitDoc *d, SynthParams *p)
{
    json_t *mix = json_object_get(d->root, "mix");
    p->n_mix = 0;
    for (size_t i = 0; i < json_array_size(mix) && p->n_mix < SYNTH_MAX_MIX; i++) {
        json_t *m = json_array_get(mix, i);
        SynthMix *e = &p->mix[p->n_mix++];
        const char *model = json_string_value(json_object_get(m, "model"));
        const char *log_type = json_string_value(json_object_get(m, "log_type"));
        snprintf(e->model, sizeof(e->model), "%s", model ? model : "");
        snprintf(e->log_type, sizeof(e->log_type), "%s", log_type ? log_type : "");
        e->weight = json_number_value(json_object_get(m, "share"));
    }
}

int synth_params_from_fit(SynthParams *p, const char *fit_path, const char *arrival_dist,
                          const char *length_dist, bool use_windows)
{
    json_error_t jerr;
    synth_params_default(p);
    p->n_mix = 0;
    FitDoc d = { json_load_file(fit_path, 0, &jerr), fit_path };
    if (!d.root)
        return ss_error_set(EINVAL, "%s:%d: not a fit JSON file: %s", fit_path, jerr.line, jerr.text);
    int err = 0;
    if (!json_is_integer(json_object_get(d.root, "servesim_fit"))) {
        err = ss_error_set(EINVAL, "%s: servesim_fit: missing (not written by `trace fit`)",
                           fit_path);
        goto fail;
    }
    if ((err = arrivals_from_fit(&d, arrival_dist, use_windows, p)) < 0) goto fail;
    if ((err = length_from_fit(&d, "input_tokens", length_dist, &p->input)) < 0) goto fail;
    if ((err = length_from_fit(&d, "output_tokens", length_dist, &p->output)) < 0) goto fail;
    mix_from_fit(&d, p);
    p->failure_share = json_number_value(json_object_get(d.root, "failure_share"));
    snprintf(p->name, sizeof(p->name), "fit");
    if ((err = synth_params_validate(p)) < 0) goto fail;
    json_decref(d.root);
    return 0;
fail:
    json_decref(d.root);
    synth_params_clear(p);
    return err;
}
