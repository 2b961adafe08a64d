/* profile.h: the fitted step-time model (`--cost profile:file=PATH`).
 *
 * A step's time is linear in a few features of its StepShape, with one set
 * of coefficients per step kind (prefill only, decode only, mixed) and a
 * fallback fitted on every iteration ("all"):
 *
 *   t = const + prefill_tokens a1 + prefill_seqs a2 + attn_pairs a3
 *             + past_tokens a4 + decode_seqs a5 + decode_context a6   (seconds)
 *
 * (attn_pairs = the prefill chunks' query-key pairs; decode pairs are
 * decode_context + decode_seqs, covered by a5, a6).  Coefficients are >= 0,
 * so a decode span is a sum of a line in k and sums in O(1):
 *   sum_{k<K} t(C0 + k S) = K t(C0) + a6 S K (K - 1) / 2.
 * `servesim calibrate` fits them by relative least squares on replay
 * measurements (steps.csv); the file format is text, versioned:
 *
 *   servesim-profile 1
 *   source = <free text: backend, model, GPU, runs>
 *   <kind> rows=N median_rel_err=E const=C prefill_tokens=A ...
 *
 * one line per kind present; a kind may give only the features it uses. */
#ifndef SERVESIM_PROFILE_H
#define SERVESIM_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "cost.h"

typedef enum ProfileKind {
    PROFILE_PREFILL, PROFILE_DECODE, PROFILE_MIXED, PROFILE_ALL, PROFILE_N_KINDS
} ProfileKind;

typedef enum ProfileFeature {
    PF_CONST, PF_PREFILL_TOKENS, PF_PREFILL_SEQS, PF_ATTN_PAIRS, PF_PAST_TOKENS,
    PF_DECODE_SEQS, PF_DECODE_CONTEXT, PF_N
} ProfileFeature;

typedef struct ProfileFit {
    bool present;
    double coef[PF_N];        /* seconds per unit of each feature, >= 0 */
    int64_t rows;             /* iterations it was fitted on */
    double median_rel_err;    /* |predicted - measured| / measured on those, median */
} ProfileFit;

typedef struct Profile {
    char source[256];
    ProfileFit fit[PROFILE_N_KINDS];
} Profile;

#define PROFILE_FORMAT_VERSION 1

/* prefill (no decodes), decode (no prefill) or mixed; an empty step is decode. */
ProfileKind profile_step_kind(const StepShape *s);
const char *profile_kind_name(ProfileKind k);
/* -1 when unknown. */
int profile_kind_from_name(const char *name);
const char *profile_feature_name(ProfileFeature f);
/* Does kind k's formula use feature f?  (decode: const, decode_seqs,
 * decode_context; prefill: the prefill ones; mixed and all: every one.) */
bool profile_kind_uses(ProfileKind k, ProfileFeature f);
void profile_features(const StepShape *s, double x[PF_N]);

/* 0 or negative errno with a file:line message. */
int profile_load(Profile *p, const char *path);
int profile_save(const Profile *p, const char *path);
/* Seconds; the kind's fit, else "all". */
double profile_step_time(const Profile *p, const StepShape *s);

/* Fit one kind by relative least squares (each row weighted by 1 /
 * measured^2, through gsl_multifit_wlinear) on the features the kind uses;
 * a feature whose coefficient comes out negative is dropped and the rest
 * refitted, until all are >= 0.  x is (n, PF_N) row-major, y (n) seconds.
 * 0, or -EINVAL when n is smaller than the features (fit->present false). */
int profile_fit_kind(ProfileFit *fit, ProfileKind k, const double *x, const double *y, int64_t n);

#endif
