/* predict.h: generation-length predictors.
 *
 * A predictor annotates each arriving request with a predicted output length
 * (and, when it can, a 90th percentile).  Oracle-family predictors may read
 * the true length; every other one sees only what a server would see: the
 * input length, the application and the text.  One file per predictor. */
#ifndef SERVESIM_PREDICT_H
#define SERVESIM_PREDICT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <gsl/gsl_rng.h>

#include "opts.h"

typedef struct PredictInput {
    int32_t input_tokens;
    const char *app;          /* "" when unknown */
    const char *instruction;  /* NULL when unknown */
    const char *text;         /* NULL when unknown */
    int32_t true_output_tokens; /* only predictors flagged reads_truth may look */
    const char *model;        /* the model that will answer (a server knows what it
                               * serves); NULL when unknown */
} PredictInput;

typedef struct PredictOutput {
    double tokens;            /* point estimate */
    double p10, p50, p90;     /* quantiles; equal to tokens when unknown */
    bool has_quantiles;
} PredictOutput;

typedef struct PredictSample {
    PredictInput in;
    int32_t output_tokens;    /* the label */
} PredictSample;

/* A training / evaluation set.  Owns its strings. */
typedef struct Dataset {
    PredictSample *rows;
    size_t n, cap;
    char **strings;           /* every owned string, freed with the set */
    size_t n_strings, cap_strings;
} Dataset;

typedef struct PredictEnv {
    gsl_rng *rng;             /* the predictor's own named stream */
} PredictEnv;

typedef struct PredictorOps {
    const char *name;
    const char *help;
    const OptSpec *opts;
    size_t opts_size;
    size_t priv_size;
    bool reads_truth;         /* oracle family: may read true_output_tokens */
    int (*init)(void *priv, const void *opts, const PredictEnv *env);
    /* NULL when the predictor needs no training. */
    int (*train)(void *priv, const Dataset *train);
    int (*predict)(void *priv, const PredictInput *in, PredictOutput *out);
    /* NULL when there is nothing to save. */
    int (*save)(void *priv, FILE *f);
    int (*load)(void *priv, FILE *f, const char *path);
    void (*close)(void *priv);
} PredictorOps;

extern const PredictorOps *const predictor_registry[];
const PredictorOps *predictor_find(const char *name);

typedef struct Predictor {
    const PredictorOps *ops;
    void *priv;
    void *opts;
    char spec[256];
} Predictor;

/* "oracle", "noisy:sigma=0.5,dist=lognormal", "forest:file=models/predictors/x.txt" */
int predictor_create(Predictor **out, const char *spec, const PredictEnv *env);
void predictor_destroy(Predictor **p);
int predictor_predict(Predictor *p, const PredictInput *in, PredictOutput *out);

/* Training and model files (added with the learned predictors).  Train
 * with the predictor's own train callback; -ENOTSUP when it has none. */
int predictor_train(Predictor *p, const Dataset *train);
/* Write the predictor's model to path (its save callback). */
int predictor_save(Predictor *p, const char *path);
/* The predictor that wrote a model file: its first word is
 * "servesim-<name>"; copies <name> into name[cap]. */
int predictor_model_kind(const char *path, char *name, size_t cap);
/* Read a model file's first line and check it is "<format> <version>":
 * one clear error for a foreign file or another version. */
int predictor_check_header(FILE *f, const char *path, const char *format, int version);

/* Datasets */
void dataset_init(Dataset *d);
void dataset_free(Dataset *d);
/* Copy a string into the set's storage; returns the owned copy. */
const char *dataset_intern(Dataset *d, const char *s);
void dataset_push(Dataset *d, const PredictSample *s);
/* Append the rows of an lmaas-style JSONL file (plain or .gz) whose "split"
 * equals `split` (NULL or "" or "all": every row).  Fields: app, model,
 * split, instruction, input, prompt_tokens, output_tokens (model optional).  Errors name
 * file:line. */
int dataset_load_jsonl(Dataset *d, const char *path, const char *split);
/* Rows of any trace (readers' formats) as a dataset; split train|valid|all
 * is a deterministic 80/20 draw per row index under `seed`. */
struct TraceOpenOpts;
int dataset_load_trace(Dataset *d, const char *path, const struct TraceOpenOpts *opts,
                       const char *split, uint64_t seed);

#endif
