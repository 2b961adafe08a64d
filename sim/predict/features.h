/* features.h: what a length predictor may know about a request, as numbers.
 *
 * Only what a server sees when the request arrives: the input length
 * (tokens), the application (its name and fixed instruction) and the user's
 * text.  Never the output.  Application-level numbers (the app's typical
 * output length and output/input ratio) are learned from the *training*
 * rows by features_fit() and saved with the model; an app never seen in
 * training gets the pooled training figures.
 *
 * The vector has FEAT_BASE named features followed by 2 x hash_dim
 * projections of hashed word and character n-grams (see features.c and
 * docs/PREDICTORS.md for each feature and why).  Deterministic for a seed:
 * the same text, space and seed give the same floats on every machine. */
#ifndef SERVESIM_PREDICT_FEATURES_H
#define SERVESIM_PREDICT_FEATURES_H

#include <stdint.h>
#include <stdio.h>

#include "predict.h"

#define FEATURES_FORMAT_VERSION 1
#define FEATURES_MAX_HASH_DIM 64

enum {
    FEAT_INPUT_TOKENS,      /* tokens, as the request reports */
    FEAT_APP_ID,            /* index of the app among training apps; n_apps if unknown */
    FEAT_APP_MEDIAN_OUT,    /* tokens: app's median output in training */
    FEAT_APP_MEAN_OUT,      /* tokens */
    FEAT_APP_RATIO,         /* app's median output/input ratio in training */
    FEAT_RATIO_ESTIMATE,    /* tokens: input_tokens x app ratio */
    FEAT_APP_SLOPE_EST,     /* tokens: app's least-squares line on input length */
    FEAT_INSTR_BYTES,       /* bytes of the app's instruction */
    FEAT_TEXT_BYTES,        /* bytes of the user's text */
    FEAT_TEXT_CHARS,        /* UTF-8 code points */
    FEAT_TEXT_WORDS,        /* whitespace-separated words */
    FEAT_TEXT_LINES,        /* newline count + 1 */
    FEAT_MEAN_WORD_LEN,     /* code points per word */
    FEAT_CODE_PUNCT,        /* share of non-space chars in {}[]();=<>  */
    FEAT_CODE_LINES,        /* share of lines ending in ; { } : or indented */
    FEAT_SHARE_ASCII_ALPHA, /* shares of code points by script ... */
    FEAT_SHARE_DIGIT,
    FEAT_SHARE_LATIN_EXT,   /* U+00C0..U+024F: Danish/Norwegian/Latvian letters */
    FEAT_SHARE_CYRILLIC,
    FEAT_SHARE_CJK,         /* Han, kana, hangul */
    FEAT_SHARE_OTHER,       /* anything else non-ASCII (emoji, Arabic, ...) */
    FEAT_QUESTIONS,         /* '?' count */
    FEAT_LONG_ASK,          /* words asking for long output: write, explain, essay... */
    FEAT_SHORT_ASK,         /* words asking for short output: brief, short, only... */
    FEAT_LIST_ITEMS,        /* lines that start a list item: "1." "-" "*" */
    FEAT_BASE               /* count of named features */
};

typedef struct FeatureApp {
    char *name;
    char *instruction;      /* NULL when the training rows had none */
    double median_out;      /* tokens */
    double mean_out;        /* tokens */
    double ratio;           /* median of output/input */
    double c0, c1;          /* least squares: out = c0 + c1 x input (tokens) */
    int64_t n;              /* training rows */
} FeatureApp;

typedef struct FeatureSpace {
    uint64_t seed;          /* n-gram hashing seed */
    int32_t hash_dim;       /* projection dims per n-gram family, 0..64 */
    int32_t dim;            /* FEAT_BASE + 2 x hash_dim */
    FeatureApp *apps;       /* sorted by name */
    int32_t n_apps;
    FeatureApp pooled;      /* all training rows: for unknown apps */
} FeatureSpace;

/* An empty space (no apps) with the given hashing seed and dims. */
int features_init(FeatureSpace *fs, uint64_t seed, int32_t hash_dim);
void features_free(FeatureSpace *fs);
/* Learn the app table from training rows (uses their labels: app stats). */
int features_fit(FeatureSpace *fs, const Dataset *train);
/* Fill x[fs->dim] for one request.  Never reads in->true_output_tokens. */
void features_compute(const FeatureSpace *fs, const PredictInput *in, float *x);
/* Every row's vector: d->n x fs->dim, row-major; free() it. */
float *features_matrix(const FeatureSpace *fs, const Dataset *d);
/* Name of feature i (for importances and docs); hashed ones are "word_h3". */
const char *features_name(const FeatureSpace *fs, int32_t i, char *buf, size_t cap);

/* Text block inside a model file: "features 1 <seed> <hash_dim> <n_apps>"
 * then one line per app.  load reports errors as path:line. */
int features_save(const FeatureSpace *fs, FILE *f);
int features_load(FeatureSpace *fs, FILE *f, const char *path, int *lineno);

#endif
