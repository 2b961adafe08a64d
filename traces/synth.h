/* synth.h: synthetic workloads, streamed as TraceRows.
 *
 * A workload is a SynthParams value: an arrival process (renewal gaps:
 * exponential, Gamma or Weibull, with a rate that may follow an hour-of-day
 * profile or per-window fits), input and output length distributions, a mix
 * of (model, log type) and a failure share.  A SynthSource draws rows from it
 * one at a time, so the engine can stream any number of requests without a
 * file:
 *
 *     SynthParams p;
 *     synth_params_default(&p);          // the embedded BurstGPT-like workload
 *     p.requests = 10000;                // or p.duration_s = 3600
 *     SynthSource *s;
 *     if ((err = synth_source_create(&s, &p, seed)) < 0) ...   // deep-copies p
 *     RowSource src = synth_source_rowsource(s);   // valid until destroy
 *     while ((err = src.next(src.ctx, &row)) == 1) ...
 *     synth_source_destroy(&s);
 *
 * Time-varying rates are a time change: each gap is drawn with unit mean in
 * "expected arrivals" and mapped through the cumulative rate, so a window of
 * rate r gets r arrivals per second on average and keeps its burstiness.
 * The first row arrives at t = 0 (as a reader's first kept row does); with
 * --diurnal, t = 0 is midnight.
 *
 * Randomness: independent GSL mt19937 streams per purpose, seeded by
 * ss_stream_seed(seed, name, 0) (sim/engine/rng.h: FNV-1a of the name mixed
 * with the seed through splitmix64): "synth.arrivals", "synth.input",
 * "synth.output", "synth.mix", "synth.failed", and with sessions
 * "synth.turns" (turns per session) and "synth.think".  Changing one
 * distribution never shifts the draws of another (with sessions, lengths
 * are drawn in row order, which think times decide); the same seed gives
 * the same rows. */
#ifndef SERVESIM_SYNTH_H
#define SERVESIM_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "trace.h"

#define SYNTH_QTABLE 1025  /* points of an empirical quantile table: i / 1024 */
#define SYNTH_MAX_MIX 16   /* (model, log type) categories */

typedef enum SynthGap {
    SYNTH_GAP_EXPONENTIAL = 0, /* Poisson arrivals */
    SYNTH_GAP_GAMMA,           /* shape b: CV = 1 / sqrt(b); BurstGPT uses b = 0.5 */
    SYNTH_GAP_WEIBULL,         /* shape k: k < 1 is bursty */
} SynthGap;

typedef enum SynthLenKind {
    SYNTH_LEN_CONSTANT = 0,    /* always `constant` tokens */
    SYNTH_LEN_ZIPF,            /* P(k) ~ k^-zipf_a, k = 1..zipf_kmax */
    SYNTH_LEN_LOGNORMAL,       /* ln tokens ~ N(mu1, sigma1), rounded */
    SYNTH_LEN_LOGNORMAL2,      /* weight1 N(mu1, sigma1) + (1 - weight1) N(mu2, sigma2) of ln tokens */
    SYNTH_LEN_EMPIRICAL,       /* linear interpolation in the quantile table q, rounded */
} SynthLenKind;

typedef struct SynthLength {
    SynthLenKind kind;
    int64_t constant;          /* tokens */
    double zipf_a;
    int64_t zipf_kmax;         /* tokens, <= 1 << 24 */
    double weight1, mu1, sigma1, mu2, sigma2; /* of ln tokens */
    double q[SYNTH_QTABLE];    /* tokens at probabilities i / (SYNTH_QTABLE - 1) */
    int64_t min_tokens, max_tokens; /* every draw is clamped to [min, max]; min >= 1 */
} SynthLength;

typedef struct SynthMix {
    char model[64];         /* as TraceRow.model (copied whole) */
    char log_type[32];
    double weight;             /* relative; weights need not sum to 1 */
    /* This category's own responses: lognormal (of ln tokens), clamped to
     * params.output's [min_tokens, max_tokens]; out_sigma = 0: draw from
     * params.output (every category alike). */
    double out_mu, out_sigma;
} SynthMix;

/* Multi-turn sessions and a shared system prompt (traces/README-synth.md,
 * "Multi-turn sessions").  Sessions start by the arrival process at rate /
 * turns_mean, so the request rate stays near `rate`; a session has a
 * geometric number of turns (mean turns_mean), turn k + 1 arrives an
 * exponential think time (mean think_s) after turn k's arrival (the trace is
 * open-loop: response times are not known when it is drawn), and its prompt
 * is turn k's prompt + response + new tokens drawn from params.input, so
 * prompts grow; a session ends before a turn would pass max_context tokens.
 * system_prompt_tokens are prepended to every first turn (every row without
 * sessions).  Either one makes rows carry prefix hashes of
 * hash_block_tokens, in which turn k + 1 keeps turn k's full blocks and every
 * first turn keeps the system prompt's full blocks. */
typedef struct SynthTurns {
    bool sessions;             /* multi-turn sessions */
    double turns_mean;         /* turns per session, geometric, >= 1 */
    double think_s;            /* mean think time between a session's arrivals, seconds */
    int64_t max_context;       /* tokens: no turn's prompt is longer */
    int64_t system_prompt_tokens; /* shared prefix; 0 = none */
    int64_t hash_block_tokens; /* tokens per hash; used when sessions or a system prompt */
} SynthTurns;

/* The knobs of SynthTurns as OptSpec lines for a preset whose options
 * struct holds a SynthTurns named `member`. */
#define SYNTH_TURNS_OPTSPECS(Struct, member)                                                          \
    { "sessions", OPT_BOOL, offsetof(Struct, member.sessions), "false",                                \
      "multi-turn sessions: a turn's prompt holds the session's history (traces/README-synth.md)",     \
      NULL, OPT_NO_BOUNDS },                                                                           \
    { "turns_mean", OPT_DOUBLE, offsetof(Struct, member.turns_mean), "4",                             \
      "with sessions: mean turns per session (geometric)", NULL, 1, 1e6 },                             \
    { "think_s", OPT_DOUBLE, offsetof(Struct, member.think_s), "60",                                   \
      "with sessions: mean think time between turns, s (exponential, from the previous arrival)",      \
      NULL, 0, 1e9 },                                                                                  \
    { "max_context", OPT_INT, offsetof(Struct, member.max_context), "32768",                           \
      "with sessions: a session ends before a turn's prompt would pass this many tokens", NULL, 1,     \
      1e9 },                                                                                           \
    { "system_prompt", OPT_INT, offsetof(Struct, member.system_prompt_tokens), "0",                    \
      "tokens of a system prompt shared by every first turn; 0 = none", NULL, 0, 1e8 },                \
    { "hash_block", OPT_INT, offsetof(Struct, member.hash_block_tokens), "512",                        \
      "tokens per prefix hash of the rows (with sessions or a system prompt)", NULL, 1, 1048576 }

/* Defaults of SynthTurns (what the knobs default to): no sessions. */
void synth_turns_default(SynthTurns *t);
/* Whether rows carry hashes: sessions or a system prompt. */
bool synth_turns_hashed(const SynthTurns *t);

struct SynthPreset;
#define SYNTH_PRESET_OPTS_BYTES 192 /* a preset's parsed knobs, kept in the params */

typedef struct SynthParams {
    /* Arrivals. */
    SynthGap gap;
    double rate;               /* mean requests per second (the day's mean when diurnal) */
    double shape;              /* Gamma or Weibull shape; 1 = Poisson for both */
    bool diurnal;              /* modulate rate by hour_mult[] over a day of day_s seconds */
    double day_s;              /* seconds per diurnal cycle; 86400 (shorter compresses days) */
    double hour_mult[24];      /* rate multipliers by hour of day, mean 1 */
    /* Per-window rates and shapes (from `trace fit --window-s`), replayed
     * cyclically; when n_windows > 0 they replace rate, shape and diurnal.
     * Owned by the params: free with synth_params_clear(). */
    size_t n_windows;
    double window_s;           /* seconds per window */
    double *window_rate;       /* requests per second; 0 = an idle window */
    double *window_shape;      /* gap shape within the window */
    /* Lengths. */
    SynthLength input, output; /* prompt and generated tokens */
    /* (model, log type) categories, drawn independently of lengths. */
    size_t n_mix;
    SynthMix mix[SYNTH_MAX_MIX];
    double failure_share;      /* fraction of rows marked failed (output 0 tokens) */
    SynthTurns turns;          /* multi-turn sessions, system prompt, hashes */
    /* When to stop: after `requests` rows and/or at arrival time duration_s;
     * 0 = no limit (at least one must be set for a finite trace). */
    int64_t requests;
    double duration_s;         /* simulated seconds */
    char name[64];             /* "default", "params", "fit" : for descriptions */
    /* The preset these params came from and its knobs as parsed (for the
     * manifest); NULL when not from a preset with knobs. */
    const struct SynthPreset *preset;
    _Alignas(8) unsigned char preset_opts[SYNTH_PRESET_OPTS_BYTES];
} SynthParams;

/* The embedded BurstGPT-like workload (traces/README-synth.md): Gamma gaps of
 * shape 0.5 at SYNTH_DEFAULT_RATE req/s, Zipf(1.1) prompts on 1..1024 tokens,
 * bimodal (two-lognormal) responses on 1..2048 tokens, a ChatGPT / GPT-4 x
 * conversation / API mix, no failures, diurnal off (the profile is loaded).
 * requests = duration_s = 0: set one. */
#define SYNTH_DEFAULT_RATE 2.0 /* requests/s */
void synth_params_default(SynthParams *p);

/* Presets: the named workloads behind `--workload NAME[:key=value,...]`,
 * one registry for run, replay, plan, sweep, trace gen and `servesim list`
 * (traces/synth_preset.c, traces/README-synth.md says where every default
 * comes from). */
typedef struct SynthPreset {
    const char *name;
    const char *help;          /* one line */
    const OptSpec *opts;       /* knobs, NULL-name terminated; NULL = none */
    size_t opts_size;          /* bytes of the parsed knobs, <= SYNTH_PRESET_OPTS_BYTES */
    void (*build)(SynthParams *p, const void *opts);        /* opts already parsed and checked */
    /* The knobs that reproduce p's arrivals after --rate / --burstiness
     * changed them (so the manifest records what ran); NULL = none derived. */
    void (*sync)(const SynthParams *p, void *opts);
} SynthPreset;

extern const SynthPreset *const synth_presets[]; /* NULL-terminated */
const SynthPreset *synth_preset_find(const char *name);
/* "default, burstgpt-perf" */
const char *synth_preset_names(void);
/* p from "NAME[:key=value,...]": -EINVAL naming the unknown workload (and
 * the known ones), an unknown key or one given twice.  requests and
 * duration_s are 0: set one. */
int synth_params_from_preset(SynthParams *p, const char *spec);
/* Whether the key=value part of spec names `key` (to refuse --rate with
 * scale=, --burstiness with shape=). */
bool synth_spec_names_key(const char *spec, const char *key);

/* The embedded hour-of-day profile (24 multipliers, mean 1, peak/valley 11.7x). */
const double *synth_diurnal_profile(void);

/* Parameters from a `servesim trace fit` JSON file: for arrivals and each
 * length, the named distribution ("gamma", "weibull", "exponential";
 * "zipf", "lognormal", "lognormal2", "empirical"), or the best by AIC when
 * NULL.  use_windows: take the per-window rates/shapes if the fit has them.
 * The (model, log type) mix and failure share come from the fit too.
 * On error *p is left cleared; the message names the file and field. */
int synth_params_from_fit(SynthParams *p, const char *fit_path, const char *arrival_dist,
                          const char *length_dist, bool use_windows);

/* Deep copy (windows included); dst must not hold windows of its own. */
void synth_params_copy(SynthParams *dst, const SynthParams *src);
/* Free the windows (nothing else is owned); the params stay usable. */
void synth_params_clear(SynthParams *p);
/* 0 or -EINVAL naming the field. */
int synth_params_validate(const SynthParams *p);
/* The params as JSON (for manifests and gen's sidecar); windows as counts only. */
json_t *synth_params_to_json(const SynthParams *p);

typedef struct SynthSource SynthSource;

/* p is copied; seed picks every stream. */
int synth_source_create(SynthSource **out, const SynthParams *p, uint64_t seed);
/* synth_params_from_fit() + synth_source_create(), stopping after `requests`
 * rows and/or at duration_s (0 = no limit). */
int synth_source_create_from_fit(SynthSource **out, const char *fit_path, uint64_t seed,
                                 int64_t requests, double duration_s);
/* 1 with a row (line = 0, session "" or the session's number, elapsed_s =
 * -1, text NULL; hash_ids owned by the source, valid until the next row), 0
 * when the limit is reached.  Never fails once created. */
int synth_source_next(SynthSource *s, TraceRow *row);
/* description: "workload:default seed=1" (owned by the source). */
RowSource synth_source_rowsource(SynthSource *s);
const SynthParams *synth_source_params(const SynthSource *s);
void synth_source_destroy(SynthSource **s);

#endif
