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

#define FEATURES_FORMAT_VERSION 2  /* 2: the (app, model) table */
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
    /* The answering model (features_model.c): chat answers of the same prompt
     * differ by a factor 6 between models' medians. */
    FEAT_MODEL_MEDIAN_OUT,  /* tokens: the (app, model) median output; the app's if unknown */
    FEAT_MODEL_FACTOR,      /* that median / the app's median */
    /* Answer-length cues in the user's text (features_cues.c). */
    FEAT_ASK_COUNT,         /* N of "list 10 ideas", "3 examples" (count nouns), 0 if none */
    FEAT_ASK_LENGTH_WORDS,  /* words asked for: "500 words", "2 paragraphs" (x 100), ... */
    FEAT_ASK_ESSAY,         /* essay, article, story, blog, poem, letter, guide ... */
    FEAT_ASK_EXPLAIN,       /* explain, describe, compare, detailed, comprehensive ... */
    FEAT_ASK_CODE,          /* code, function, script, implement, python, sql ... */
    FEAT_ASK_BRIEF,         /* brief, concise, only, just, single, yes/no, summarize ... */
    FEAT_STARTS_QUESTION,   /* 1 when the text opens with what/who/is/can/how/why ... */
    FEAT_ASK_STEPS,         /* "step" words: step-by-step answers run long */
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

/* One answering model of one app, kept when it has enough training rows. */
typedef struct FeatureModel {
    char *app, *model;
    double median_out;      /* tokens */
    int64_t n;              /* training rows */
} FeatureModel;

#define FEATURES_MODEL_MIN_ROWS 20  /* fewer: the model's median is noise; use the app's */

typedef struct FeatureSpace {
    uint64_t seed;          /* n-gram hashing seed */
    int32_t hash_dim;       /* projection dims per n-gram family, 0..64 */
    int32_t dim;            /* FEAT_BASE + 2 x hash_dim */
    FeatureApp *apps;       /* sorted by name */
    int32_t n_apps;
    FeatureApp pooled;      /* all training rows: for unknown apps */
    FeatureModel *models;   /* sorted by (app, model) */
    int32_t n_models;
} FeatureSpace;

/* An empty space (no apps) with the given hashing seed and dims. */
int features_init(FeatureSpace *fs, uint64_t seed, int32_t hash_dim);
void features_free(FeatureSpace *fs);
/* Learn the app table from training rows (uses their labels: app stats). */
int features_fit(FeatureSpace *fs, const Dataset *train);
/* Fill x[fs->dim] for one request.  Never reads in->true_output_tokens. */
void features_compute(const FeatureSpace *fs, const PredictInput *in, float *x);
/* The (app, model) median output (tokens) of a request: the app's median when
 * its model is unknown or rare, the pooled median for an unknown app.  The
 * base that target=logrel predictors fit their label against. */
double features_base_tokens(const FeatureSpace *fs, const PredictInput *in);
/* Every row's vector: d->n x fs->dim, row-major; free() it. */
float *features_matrix(const FeatureSpace *fs, const Dataset *d);
/* Name of feature i (for importances and docs); hashed ones are "word_h3". */
const char *features_name(const FeatureSpace *fs, int32_t i, char *buf, size_t cap);

/* Text block inside a model file: "features 1 <seed> <hash_dim> <n_apps>"
 * then one line per app.  load reports errors as path:line. */
int features_save(const FeatureSpace *fs, FILE *f);
int features_load(FeatureSpace *fs, FILE *f, const char *path, int *lineno);

/* Internal to features*.c. */
int32_t features__app_index(const FeatureSpace *fs, const PredictInput *in);
int features__models_fit(FeatureSpace *fs, const Dataset *train);
void features__models_free(FeatureSpace *fs);
const FeatureModel *features__model_find(const FeatureSpace *fs, const char *app,
                                         const char *model);
int features__models_save(const FeatureSpace *fs, FILE *f);
int features__models_load(FeatureSpace *fs, FILE *f, const char *path, int *lineno);
void features__write_escaped(FILE *f, const char *s);
char *features__unescape(char *s);
/* Fill x[FEAT_ASK_COUNT .. FEAT_ASK_STEPS] from the lower-cased text low[n]. */
void features__cues(const char *low, size_t n, float *x);

#endif
