/* synth.c: SynthParams checks and copies, and the SynthSource that streams
 * rows from them (see synth.h for the arrival time change and the streams). */
#include "synth.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define SYNTH_ZIPF_KMAX_LIMIT (INT64_C(1) << 24)

static int length_validate(const SynthLength *l, const char *what)
{
    if (l->min_tokens < 1 || l->max_tokens < l->min_tokens)
        return ss_error_set(EINVAL, "synth: %s: min_tokens %" PRId64 " / max_tokens %" PRId64
                            " must satisfy 1 <= min <= max", what, l->min_tokens, l->max_tokens);
    switch (l->kind) {
    case SYNTH_LEN_CONSTANT:
        if (l->constant < 1) return ss_error_set(EINVAL, "synth: %s: constant must be >= 1", what);
        return 0;
    case SYNTH_LEN_ZIPF:
        if (!isfinite(l->zipf_a) || l->zipf_kmax < 1 || l->zipf_kmax > SYNTH_ZIPF_KMAX_LIMIT)
            return ss_error_set(EINVAL, "synth: %s: zipf a = %g, kmax = %" PRId64
                                " (kmax must be in 1..2^24)", what, l->zipf_a, l->zipf_kmax);
        return 0;
    case SYNTH_LEN_LOGNORMAL2:
        if (!(l->weight1 >= 0 && l->weight1 <= 1) || !isfinite(l->mu2) || !(l->sigma2 > 0))
            return ss_error_set(EINVAL, "synth: %s: lognormal2 weight1 %g, mu2 %g, sigma2 %g",
                                what, l->weight1, l->mu2, l->sigma2);
        if (!isfinite(l->mu1) || !(l->sigma1 > 0))
            return ss_error_set(EINVAL, "synth: %s: lognormal2 mu1 %g, sigma1 %g (sigma > 0)",
                                what, l->mu1, l->sigma1);
        return 0;
    case SYNTH_LEN_LOGNORMAL:
        if (!isfinite(l->mu1) || !(l->sigma1 > 0))
            return ss_error_set(EINVAL, "synth: %s: lognormal mu %g, sigma %g (sigma > 0)", what,
                                l->mu1, l->sigma1);
        return 0;
    case SYNTH_LEN_EMPIRICAL:
        for (size_t i = 0; i < SYNTH_QTABLE; i++)
            if (!isfinite(l->q[i]) || (i && l->q[i] < l->q[i - 1]))
                return ss_error_set(EINVAL, "synth: %s: quantile table not increasing at %zu",
                                    what, i);
        return 0;
    }
    return ss_error_set(EINVAL, "synth: %s: unknown length kind %d", what, (int)l->kind);
}

static int arrivals_validate(const SynthParams *p)
{
    if ((unsigned)p->gap > SYNTH_GAP_WEIBULL)
        return ss_error_set(EINVAL, "synth: unknown gap distribution %d", (int)p->gap);
    if (p->n_windows) {
        double total = 0;
        if (!(p->window_s > 0) || !p->window_rate || !p->window_shape)
            return ss_error_set(EINVAL, "synth: windows: window_s %g must be > 0", p->window_s);
        for (size_t i = 0; i < p->n_windows; i++) {
            if (!(p->window_rate[i] >= 0) || !(p->window_shape[i] > 0))
                return ss_error_set(EINVAL, "synth: window %zu: rate %g / shape %g", i,
                                    p->window_rate[i], p->window_shape[i]);
            total += p->window_rate[i];
        }
        if (!(total > 0)) return ss_error_set(EINVAL, "synth: windows: every rate is 0");
        return 0;
    }
    if (!(p->rate > 0) || !isfinite(p->rate))
        return ss_error_set(EINVAL, "synth: rate %g must be > 0 requests/s", p->rate);
    if (!(p->shape > 0) || !isfinite(p->shape))
        return ss_error_set(EINVAL, "synth: shape (burstiness) %g must be > 0", p->shape);
    if (p->diurnal) {
        if (!(p->day_s > 0)) return ss_error_set(EINVAL, "synth: day_s %g must be > 0", p->day_s);
        for (int h = 0; h < 24; h++)
            if (!(p->hour_mult[h] >= 0))
                return ss_error_set(EINVAL, "synth: hour_mult[%d] = %g", h, p->hour_mult[h]);
    }
    return 0;
}

void synth_turns_default(SynthTurns *t)
{
    *t = (SynthTurns){ .sessions = false, .turns_mean = 4, .think_s = 60, .max_context = 32768,
                       .system_prompt_tokens = 0, .hash_block_tokens = 512 };
}

bool synth_turns_hashed(const SynthTurns *t)
{
    return t->sessions || t->system_prompt_tokens > 0;
}

static int turns_validate(const SynthTurns *t, const SynthLength *input)
{
    if (t->system_prompt_tokens < 0 || t->system_prompt_tokens > INT32_MAX / 2)
        return ss_error_set(EINVAL, "synth: system_prompt %" PRId64 " tokens", t->system_prompt_tokens);
    if (!synth_turns_hashed(t)) return 0;
    if (t->hash_block_tokens < 1 || t->hash_block_tokens > (1 << 20))
        return ss_error_set(EINVAL, "synth: hash_block %" PRId64 " must be in 1..1048576 tokens",
                            t->hash_block_tokens);
    if (!t->sessions) return 0;
    if (!(t->turns_mean >= 1) || !isfinite(t->turns_mean))
        return ss_error_set(EINVAL, "synth: turns_mean %g must be >= 1", t->turns_mean);
    if (!(t->think_s >= 0) || !isfinite(t->think_s))
        return ss_error_set(EINVAL, "synth: think_s %g must be >= 0 s", t->think_s);
    /* A first turn must fit, or no session would ever have a row. */
    if (t->max_context < t->system_prompt_tokens + input->min_tokens || t->max_context > INT32_MAX)
        return ss_error_set(EINVAL, "synth: max_context %" PRId64 " tokens cannot hold a first turn "
                            "(system prompt %" PRId64 " + at least %" PRId64 " tokens)", t->max_context,
                            t->system_prompt_tokens, input->min_tokens);
    return 0;
}

int synth_params_validate(const SynthParams *p)
{
    int err = arrivals_validate(p);
    if (err < 0) return err;
    if ((err = length_validate(&p->input, "input")) < 0) return err;
    if ((err = length_validate(&p->output, "output")) < 0) return err;
    if (p->n_mix > SYNTH_MAX_MIX)
        return ss_error_set(EINVAL, "synth: %zu mix entries (at most %d)", p->n_mix, SYNTH_MAX_MIX);
    for (size_t i = 0; i < p->n_mix; i++) {
        const SynthMix *m = &p->mix[i];
        if (!(m->weight >= 0)) return ss_error_set(EINVAL, "synth: mix[%zu] weight %g", i, m->weight);
        if (!(m->out_sigma >= 0) || !isfinite(m->out_sigma) || !isfinite(m->out_mu))
            return ss_error_set(EINVAL, "synth: mix[%zu] response lognormal mu %g, sigma %g", i, m->out_mu,
                                m->out_sigma);
    }
    if (!(p->failure_share >= 0 && p->failure_share <= 1))
        return ss_error_set(EINVAL, "synth: failure_share %g must be in [0, 1]", p->failure_share);
    if ((err = turns_validate(&p->turns, &p->input)) < 0) return err;
    if (p->requests < 0 || !(p->duration_s >= 0))
        return ss_error_set(EINVAL, "synth: requests %" PRId64 " / duration %g must be >= 0",
                            p->requests, p->duration_s);
    return 0;
}

void synth_params_copy(SynthParams *dst, const SynthParams *src)
{
    *dst = *src;
    if (!src->n_windows) {
        dst->window_rate = dst->window_shape = NULL;
        return;
    }
    size_t bytes = src->n_windows * sizeof(double);
    dst->window_rate = ss_malloc(bytes);
    dst->window_shape = ss_malloc(bytes);
    memcpy(dst->window_rate, src->window_rate, bytes);
    memcpy(dst->window_shape, src->window_shape, bytes);
}

void synth_params_clear(SynthParams *p)
{
    free(p->window_rate);
    free(p->window_shape);
    p->window_rate = p->window_shape = NULL;
    p->n_windows = 0;
}
