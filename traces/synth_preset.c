/* synth_preset.c: the named workloads (`--workload NAME[:key=value,...]`).
 *
 * One registry (synth_presets) serves run, replay, plan, sweep, trace gen and
 * `servesim list`.  A preset with knobs declares them as an OptSpec table
 * (sim/opts.h), so an unknown key or a key given twice is the same clear
 * error as for any plug-in, and the parsed knobs ride in the params to the
 * manifest.  traces/README-synth.md has the table of where every default of
 * burstgpt-perf comes from. */
#include "synth.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

/* ---- default: the embedded BurstGPT-like workload (diurnal.c) ---------- */

typedef struct DefaultOpts {
    SynthTurns turns;
} DefaultOpts;

static const OptSpec default_opts[] = {
    SYNTH_TURNS_OPTSPECS(DefaultOpts, turns),
    { NULL, 0, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

static void default_build(SynthParams *p, const void *opts)
{
    const DefaultOpts *o = opts;
    synth_params_default(p);
    p->turns = o->turns;
}

static const SynthPreset preset_default = {
    .name = "default",
    .help = "BurstGPT-like: Gamma(0.5) gaps at 2 req/s, Zipf(1.1) prompts, bimodal responses "
            "(knobs: multi-turn sessions, system prompt)",
    .opts = default_opts,
    .opts_size = sizeof(DefaultOpts),
    .build = default_build,
};

/* ---- burstgpt-perf: the BurstGPT-Perf benchmark's synthetic generator --- */

typedef struct BurstPerfOpts {
    double shape, scale_s;           /* Gamma gaps: shape, scale (s); mean gap shape x scale */
    double zipf, response_zipf;      /* exponents of prompt and response lengths */
    int64_t max_prompt_len, max_gen_len; /* tokens: draws are < these (the benchmark rejects others) */
    int64_t max_tokens;              /* tokens: cap on each response; 0 = none */
    int responses;                   /* 0 zipf, 1 by-type */
    int log_type;                    /* 0 conv, 1 api, 2 both */
    double gpt4_share, api_share;    /* of requests; api_share with log_type=both */
    SynthTurns turns;                /* multi-turn sessions, system prompt (ours, not the benchmark's) */
} BurstPerfOpts;

_Static_assert(sizeof(BurstPerfOpts) <= SYNTH_PRESET_OPTS_BYTES, "knobs fit SynthParams.preset_opts");

#define ZIPF_KMAX_LIMIT (INT64_C(1) << 24) /* synth.c's table limit */

static const OptSpec burst_perf_opts[] = {
    { "shape", OPT_DOUBLE, offsetof(BurstPerfOpts, shape), "0.5",
      "Gamma shape of inter-arrival gaps (CV 1/sqrt(shape))", NULL, 1e-3, 1e3 },
    { "scale", OPT_DOUBLE, offsetof(BurstPerfOpts, scale_s), "2.0",
      "Gamma scale of gaps, s (rate = 1 / (shape x scale))", NULL, 1e-9, 1e9 },
    { "zipf", OPT_DOUBLE, offsetof(BurstPerfOpts, zipf), "1.1",
      "Zipf exponent of prompt lengths, P(k) ~ k^-zipf", NULL, 0, 20 },
    { "response_zipf", OPT_DOUBLE, offsetof(BurstPerfOpts, response_zipf), "1.1",
      "Zipf exponent of response lengths (responses=zipf)", NULL, 0, 20 },
    { "max_prompt_len", OPT_INT, offsetof(BurstPerfOpts, max_prompt_len), "1024",
      "prompts are 1..max_prompt_len-1 tokens", NULL, 2, (double)ZIPF_KMAX_LIMIT + 1 },
    { "max_gen_len", OPT_INT, offsetof(BurstPerfOpts, max_gen_len), "1024",
      "responses are 1..max_gen_len-1 tokens", NULL, 2, (double)ZIPF_KMAX_LIMIT + 1 },
    { "max_tokens", OPT_INT, offsetof(BurstPerfOpts, max_tokens), "0",
      "cap on each response, tokens (a request's max_tokens); 0 = none", NULL, 0, (double)ZIPF_KMAX_LIMIT },
    { "responses", OPT_CHOICE, offsetof(BurstPerfOpts, responses), "zipf",
      "zipf: the benchmark's; by-type: lognormal per log type", "zipf|by-type", OPT_NO_BOUNDS },
    { "log_type", OPT_CHOICE, offsetof(BurstPerfOpts, log_type), "conv",
      "log type of the requests (the benchmark's conv_or_api)", "conv|api|both", OPT_NO_BOUNDS },
    { "gpt4_share", OPT_DOUBLE, offsetof(BurstPerfOpts, gpt4_share), "0.2",
      "share of GPT-4 requests (the rest ChatGPT)", NULL, 0, 1 },
    { "api_share", OPT_DOUBLE, offsetof(BurstPerfOpts, api_share), "0.38",
      "share of API requests with log_type=both", NULL, 0, 1 },
    SYNTH_TURNS_OPTSPECS(BurstPerfOpts, turns),
    { NULL, 0, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

/* Lognormal (mu, sigma of ln tokens) with a given mean and 99th percentile:
 * ln p99 - ln mean = z99 sigma - sigma^2 / 2, the smaller root. */
static void lognormal_from_mean_p99(double mean, double p99, double *mu, double *sigma)
{
    const double z99 = 2.3263478740408408;
    double d = log(p99 / mean);
    *sigma = z99 - sqrt(z99 * z99 - 2 * d);
    *mu = log(mean) - *sigma * *sigma / 2;
}

static void set_mix(SynthMix *m, const char *model, const char *log_type, double weight)
{
    *m = (SynthMix){ .weight = weight };
    snprintf(m->model, sizeof(m->model), "%s", model);
    snprintf(m->log_type, sizeof(m->log_type), "%s", log_type);
}

/* Response lengths by log type (responses=by-type): BurstGPT_3 conversation
 * responses have mean 272 and p99 1,067, API responses mean 69 (third-party
 * figures, ../shared/docs/background.md); the API p99 is not given, so its
 * sigma is the conversation one (our choice).  No per-model figures: both
 * models share their log type's law. */
static void mix_responses(SynthMix *m, bool api)
{
    double mu, sigma;
    lognormal_from_mean_p99(272, 1067, &mu, &sigma);
    if (api) mu = log(69) - sigma * sigma / 2;
    m->out_mu = mu;
    m->out_sigma = sigma;
}

static void burst_perf_build(SynthParams *p, const void *opts)
{
    const BurstPerfOpts *o = opts;
    synth_params_default(p); /* the diurnal profile and day length, for --diurnal */
    p->gap = SYNTH_GAP_GAMMA;
    p->shape = o->shape;
    p->rate = 1 / (o->shape * o->scale_s);
    p->input = (SynthLength){ .kind = SYNTH_LEN_ZIPF, .zipf_a = o->zipf, .zipf_kmax = o->max_prompt_len - 1,
                              .min_tokens = 1, .max_tokens = o->max_prompt_len - 1 };
    int64_t out_max = o->max_gen_len - 1;
    if (o->max_tokens > 0 && o->max_tokens < out_max) out_max = o->max_tokens;
    /* max_tokens clamps (generation stops there); max_gen_len truncates the law */
    p->output = (SynthLength){ .kind = SYNTH_LEN_ZIPF, .zipf_a = o->response_zipf,
                               .zipf_kmax = o->max_gen_len - 1, .min_tokens = 1, .max_tokens = out_max };
    static const char *const logs[2] = { "Conversation log", "API log" };
    double api = o->log_type == 0 ? 0 : o->log_type == 1 ? 1 : o->api_share;
    p->n_mix = 0;
    for (int l = 0; l < 2; l++) {
        double share = l ? api : 1 - api;
        if (share <= 0) continue;
        set_mix(&p->mix[p->n_mix++], "ChatGPT", logs[l], share * (1 - o->gpt4_share));
        set_mix(&p->mix[p->n_mix++], "GPT-4", logs[l], share * o->gpt4_share);
    }
    if (o->responses == 1)
        for (size_t i = 0; i < p->n_mix; i++) mix_responses(&p->mix[i], !strcmp(p->mix[i].log_type, logs[1]));
    p->failure_share = 0;
    p->turns = o->turns;
    snprintf(p->name, sizeof(p->name), "burstgpt-perf");
}

/* --rate / --burstiness change the arrivals after the build: the knobs
 * recorded say what ran (scale from the rate and shape). */
static void burst_perf_sync(const SynthParams *p, void *opts)
{
    BurstPerfOpts *o = opts;
    if (p->gap != SYNTH_GAP_GAMMA || p->n_windows) return;
    o->shape = p->shape;
    o->scale_s = 1 / (p->rate * p->shape);
}

static const SynthPreset preset_burstgpt_perf = {
    .name = "burstgpt-perf",
    .help = "BurstGPT-Perf's synthetic generator: Gamma(0.5, 2 s) gaps, Zipf(1.1) prompts and responses < 1024",
    .opts = burst_perf_opts,
    .opts_size = sizeof(BurstPerfOpts),
    .build = burst_perf_build,
    .sync = burst_perf_sync,
};

/* ---- the registry ------------------------------------------------------ */

const SynthPreset *const synth_presets[] = { &preset_default, &preset_burstgpt_perf, NULL };

const SynthPreset *synth_preset_find(const char *name)
{
    for (size_t i = 0; synth_presets[i]; i++)
        if (!strcmp(synth_presets[i]->name, name)) return synth_presets[i];
    return NULL;
}

const char *synth_preset_names(void)
{
    static char names[256];
    if (names[0]) return names;
    size_t used = 0;
    for (size_t i = 0; synth_presets[i]; i++) {
        int n = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", synth_presets[i]->name);
        SS_ASSERT(n > 0 && (size_t)n < sizeof(names) - used);
        used += (size_t)n;
    }
    return names;
}

int synth_params_from_preset(SynthParams *p, const char *spec)
{
    char name[64];
    const char *kvs;
    memset(p, 0, sizeof(*p));
    int r = opts_split_spec(spec, name, sizeof(name), &kvs);
    if (r) return r;
    const SynthPreset *ps = synth_preset_find(name);
    if (!ps) return ss_error_set(EINVAL, "--workload: unknown workload '%s' (known: %s)", name, synth_preset_names());
    if (!ps->opts && kvs && *kvs)
        return ss_error_set(EINVAL, "--workload %s takes no options (got '%s'); see servesim list", name, kvs);
    _Alignas(8) unsigned char opts[SYNTH_PRESET_OPTS_BYTES] = { 0 };
    SS_ASSERT(ps->opts_size <= sizeof(opts));
    char owner[80];
    snprintf(owner, sizeof(owner), "--workload %s", name);
    if (ps->opts && (r = opts_init(ps->opts, kvs, opts, owner))) return r;
    ps->build(p, opts);
    /* The default workload records its knobs only when some were given, so
     * its manifests stay as they were before it had any. */
    if (ps->opts && (ps != &preset_default || (kvs && *kvs))) {
        p->preset = ps;
        memcpy(p->preset_opts, opts, sizeof(opts));
    }
    if ((r = synth_params_validate(p)) < 0) { /* e.g. a knob that makes a length law empty */
        char why[256];
        snprintf(why, sizeof(why), "%s", ss_error_get());
        return ss_error_set(EINVAL, "--workload %s: %s", spec, why);
    }
    return 0;
}

bool synth_spec_names_key(const char *spec, const char *key)
{
    const char *p = strchr(spec, ':');
    size_t klen = strlen(key);
    while (p) {
        p++;
        if (!strncmp(p, key, klen) && p[klen] == '=') return true;
        p = strchr(p, ',');
    }
    return false;
}
