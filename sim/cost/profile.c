/* profile.c: the fitted step-time model: its file format and the `profile`
 * backend.  See profile.h. */
#include "profile.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char *const kind_names[PROFILE_N_KINDS] = { "prefill", "decode", "mixed", "all" };
static const char *const feature_names[PF_N] = {
    "const", "prefill_tokens", "prefill_seqs", "attn_pairs", "past_tokens", "decode_seqs",
    "decode_context",
};

ProfileKind profile_step_kind(const StepShape *s)
{
    if (s->prefill_tokens > 0) return s->decode_seqs > 0 ? PROFILE_MIXED : PROFILE_PREFILL;
    return PROFILE_DECODE;
}

const char *profile_kind_name(ProfileKind k) { return kind_names[k]; }
const char *profile_feature_name(ProfileFeature f) { return feature_names[f]; }

int profile_kind_from_name(const char *name)
{
    for (int k = 0; k < PROFILE_N_KINDS; k++)
        if (!strcmp(name, kind_names[k])) return k;
    return -1;
}

bool profile_kind_uses(ProfileKind k, ProfileFeature f)
{
    if (f == PF_CONST || k == PROFILE_MIXED || k == PROFILE_ALL) return true;
    bool decode_feature = f == PF_DECODE_SEQS || f == PF_DECODE_CONTEXT;
    return k == PROFILE_DECODE ? decode_feature : !decode_feature;
}

void profile_features(const StepShape *s, double x[PF_N])
{
    x[PF_CONST] = 1.0;
    x[PF_PREFILL_TOKENS] = (double)s->prefill_tokens;
    x[PF_PREFILL_SEQS] = s->prefill_seqs;
    x[PF_ATTN_PAIRS] = s->prefill_attn_pairs;
    x[PF_PAST_TOKENS] = (double)s->prefill_past_tokens;
    x[PF_DECODE_SEQS] = s->decode_seqs;
    x[PF_DECODE_CONTEXT] = (double)s->decode_context;
}

static const ProfileFit *fit_for(const Profile *p, const StepShape *s)
{
    const ProfileFit *f = &p->fit[profile_step_kind(s)];
    return f->present ? f : &p->fit[PROFILE_ALL];
}

static double fit_eval(const ProfileFit *f, const StepShape *s)
{
    double x[PF_N], t = 0;
    profile_features(s, x);
    for (int i = 0; i < PF_N; i++) t += f->coef[i] * x[i];
    return t;
}

double profile_step_time(const Profile *p, const StepShape *s)
{
    if (step_shape_tokens(s) == 0) return 0.0;
    return fit_eval(fit_for(p, s), s);
}

/* ---- the file ---- */

/* One "<kind> key=value ..." line into p. */
static int parse_kind_line(Profile *p, char *line, const char *path, int ln)
{
    char *save = NULL, *tok = strtok_r(line, " \t", &save);
    int k = profile_kind_from_name(tok);
    if (k < 0)
        return ss_error_set(EINVAL, "%s:%d: unknown kind '%s' (prefill|decode|mixed|all)", path, ln, tok);
    ProfileFit *f = &p->fit[k];
    if (f->present) return ss_error_set(EINVAL, "%s:%d: kind '%s' given twice", path, ln, tok);
    *f = (ProfileFit){ .present = true };
    while ((tok = strtok_r(NULL, " \t", &save))) {
        char *eq = strchr(tok, '=');
        double v;
        if (!eq || ss_parse_double(eq + 1, &v) || !isfinite(v))
            return ss_error_set(EINVAL, "%s:%d: '%s' is not key=number", path, ln, tok);
        *eq = '\0';
        if (!strcmp(tok, "rows")) { f->rows = (int64_t)v; continue; }
        if (!strcmp(tok, "median_rel_err")) { f->median_rel_err = v; continue; }
        int i = 0;
        while (i < PF_N && strcmp(tok, feature_names[i])) i++;
        if (i == PF_N || !profile_kind_uses((ProfileKind)k, (ProfileFeature)i))
            return ss_error_set(EINVAL, "%s:%d: kind %s has no feature '%s'", path, ln,
                                kind_names[k], tok);
        if (v < 0)
            return ss_error_set(EINVAL, "%s:%d: %s = %g: coefficients are >= 0 (decode spans "
                                "are summed in closed form)", path, ln, tok, v);
        f->coef[i] = v;
    }
    return 0;
}

static int parse_line(Profile *p, char *line, const char *path, int ln, bool *have_version)
{
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    size_t len = strlen(line);
    while (len && strchr(" \t\r\n", line[len - 1])) line[--len] = '\0';
    while (*line == ' ' || *line == '\t') line++;
    if (!*line) return 0;
    if (!*have_version) {
        int v;
        if (sscanf(line, "servesim-profile %d", &v) != 1)
            return ss_error_set(EINVAL, "%s:%d: not a servesim profile (the first line must be "
                                "'servesim-profile %d')", path, ln, PROFILE_FORMAT_VERSION);
        if (v != PROFILE_FORMAT_VERSION)
            return ss_error_set(EINVAL, "%s:%d: profile format version %d; this servesim reads "
                                "version %d", path, ln, v, PROFILE_FORMAT_VERSION);
        *have_version = true;
        return 0;
    }
    if (!strncmp(line, "source", 6) && strchr(line, '=')) {
        const char *v = strchr(line, '=') + 1;
        while (*v == ' ') v++;
        snprintf(p->source, sizeof(p->source), "%s", v);
        return 0;
    }
    return parse_kind_line(p, line, path, ln);
}

int profile_load(Profile *p, const char *path)
{
    memset(p, 0, sizeof(*p));
    FILE *f = fopen(path, "r");
    if (!f) return ss_error_set(errno, "%s: cannot open profile: %s", path, strerror(errno));
    char line[4096];
    int ln = 0, r = 0;
    bool have_version = false;
    while (!r && fgets(line, sizeof(line), f)) r = parse_line(p, line, path, ++ln, &have_version);
    fclose(f);
    if (r) return r;
    if (!have_version) return ss_error_set(EINVAL, "%s: empty file, not a servesim profile", path);
    bool all_kinds = p->fit[PROFILE_PREFILL].present && p->fit[PROFILE_DECODE].present &&
                     p->fit[PROFILE_MIXED].present;
    if (!p->fit[PROFILE_ALL].present && !all_kinds)
        return ss_error_set(EINVAL, "%s: a profile needs the 'all' line or all of prefill, "
                            "decode and mixed", path);
    return 0;
}

int profile_save(const Profile *p, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return ss_error_set(errno, "%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "servesim-profile %d\n", PROFILE_FORMAT_VERSION);
    fputs("# Step time (seconds) = sum of coefficient x feature, per step kind; fitted by\n"
          "# `servesim calibrate` (relative least squares, coefficients >= 0).  Features:\n"
          "# const, prefill_tokens, prefill_seqs, attn_pairs (prefill query-key pairs),\n"
          "# past_tokens (cached tokens prefill chunks read), decode_seqs, decode_context.\n", f);
    if (p->source[0]) fprintf(f, "source = %s\n", p->source);
    for (int k = 0; k < PROFILE_N_KINDS; k++) {
        const ProfileFit *x = &p->fit[k];
        if (!x->present) continue;
        fprintf(f, "%s rows=%lld median_rel_err=%.4f", kind_names[k], (long long)x->rows,
                x->median_rel_err);
        for (int i = 0; i < PF_N; i++)
            if (profile_kind_uses((ProfileKind)k, (ProfileFeature)i))
                fprintf(f, " %s=%.9g", feature_names[i], x->coef[i]);
        fputc('\n', f);
    }
    if (fclose(f)) return ss_error_set(EIO, "%s: write failed", path);
    return 0;
}

/* ---- the backend ---- */

typedef struct ProfileOpts { char file[OPTS_STRING_MAX]; } ProfileOpts;

static const OptSpec profile_opts[] = {
    { "file", OPT_STRING, offsetof(ProfileOpts, file), "",
      "profile written by `servesim calibrate` (models/profiles/<gpu>-<model>.txt)", NULL, OPT_NO_BOUNDS },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

static int profile_backend_init(void *priv, const void *opts, const BackendEnv *env)
{
    const ProfileOpts *o = opts;
    (void)env;
    if (!o->file[0]) return ss_error_set(EINVAL, "cost profile: needs file=PATH (servesim calibrate writes one)");
    return profile_load(priv, o->file);
}

static double profile_backend_step_time(void *priv, const StepShape *s)
{
    return profile_step_time(priv, s);
}

/* Decode iteration j of a span costs a + b j: every feature but the context
 * is constant, and the context grows by decode_seqs per iteration. */
static bool profile_backend_linear(void *priv, const StepShape *first, double *a, double *b)
{
    const Profile *p = priv;
    if (step_shape_tokens(first) == 0) { *a = *b = 0; return true; }
    const ProfileFit *f = fit_for(p, first);
    *a = fit_eval(f, first);
    *b = f->coef[PF_DECODE_CONTEXT] * first->decode_seqs;
    return true;
}

static double profile_backend_span(void *priv, const StepShape *first, int64_t iters)
{
    double a, b, k = (double)iters;
    profile_backend_linear(priv, first, &a, &b);
    return k * a + b * k * (k - 1) / 2.0;
}

static void profile_backend_iter_times(void *priv, const StepShape *first, int64_t from,
                                       int64_t n, double *out)
{
    double a, b;
    profile_backend_linear(priv, first, &a, &b);
    for (int64_t i = 0; i < n; i++) out[i] = a + b * (double)(from + i);
}

static bool profile_backend_linear_span(void *priv, const StepShape *first, int64_t iters, double *a,
                                        double *b)
{
    (void)iters; /* linear over any span */
    return profile_backend_linear(priv, first, a, b);
}

const BackendOps cost_backend_profile = {
    .name = "profile",
    .help = "fitted per-kind linear step time from replay measurements (servesim calibrate)",
    .opts = profile_opts,
    .opts_size = sizeof(ProfileOpts),
    .priv_size = sizeof(Profile),
    .init = profile_backend_init,
    .step_time = profile_backend_step_time,
    .decode_span_time = profile_backend_span,
    .decode_iter_times = profile_backend_iter_times,
    .decode_iter_linear = profile_backend_linear_span,
    .close = NULL,
};
