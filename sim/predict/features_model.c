/* features_model.c: the answering model as a feature.
 *
 * The lmaas chat app's prompts are each answered by up to 21 models, and
 * the models' median answers run from 103 (llama-13b) to 636 tokens
 * (gpt-4-1106-preview) on the same prompts.  A server knows which model it
 * serves, so a predictor may know it too (PredictInput.model).  The table
 * keeps the median output of every (app, model) pair with at least
 * FEATURES_MODEL_MIN_ROWS training rows; fewer rows, an unknown model or
 * none at all fall back to the app's median, and an unknown app to the
 * pooled one: a request never gets a figure from a model it did not name.
 *
 * Model file block (after the app table): "models <n>", then one line per
 * pair: "model <n> <median> <app> <model>" (names escaped as features.c
 * does). */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "predict/features.h"

typedef struct PairRef {
    const char *app, *model;
    int32_t out;
} PairRef;

static int cmp_pair(const void *a, const void *b)
{
    const PairRef *x = a, *y = b;
    int c = strcmp(x->app, y->app);
    if (!c) c = strcmp(x->model, y->model);
    return c ? c : (x->out > y->out) - (x->out < y->out);
}

static int cmp_key(const char *app, const char *model, const FeatureModel *m)
{
    int c = strcmp(app, m->app);
    return c ? c : strcmp(model, m->model);
}

void features__models_free(FeatureSpace *fs)
{
    for (int32_t i = 0; i < fs->n_models; i++) {
        free(fs->models[i].app);
        free(fs->models[i].model);
    }
    free(fs->models);
    fs->models = NULL;
    fs->n_models = 0;
}

int features__models_fit(FeatureSpace *fs, const Dataset *train)
{
    features__models_free(fs);
    PairRef *p = ss_malloc((train->n + 1) * sizeof(*p));
    size_t n = 0;
    for (size_t i = 0; i < train->n; i++) {
        const PredictInput *in = &train->rows[i].in;
        if (!in->model || !in->model[0]) continue;
        p[n++] = (PairRef){ in->app ? in->app : "", in->model, train->rows[i].output_tokens };
    }
    qsort(p, n, sizeof(*p), cmp_pair);  /* groups pairs, each group sorted by output */
    fs->models = ss_calloc(n + 1, sizeof(*fs->models));
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a + 1; b < n && !strcmp(p[a].app, p[b].app) && !strcmp(p[a].model, p[b].model);)
            b++;
        size_t k = b - a;
        if (k < FEATURES_MODEL_MIN_ROWS) continue;
        FeatureModel *m = &fs->models[fs->n_models++];
        m->app = ss_strdup(p[a].app);
        m->model = ss_strdup(p[a].model);
        m->n = (int64_t)k;
        m->median_out = k % 2 ? p[a + k / 2].out : 0.5 * (p[a + k / 2 - 1].out + p[a + k / 2].out);
    }
    free(p);
    return 0;
}

const FeatureModel *features__model_find(const FeatureSpace *fs, const char *app,
                                         const char *model)
{
    if (!model || !model[0]) return NULL;
    int32_t lo = 0, hi = fs->n_models - 1;
    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = cmp_key(app, model, &fs->models[mid]);
        if (!c) return &fs->models[mid];
        if (c > 0) lo = mid + 1; else hi = mid - 1;
    }
    return NULL;
}

double features_base_tokens(const FeatureSpace *fs, const PredictInput *in)
{
    int32_t app = features__app_index(fs, in);
    const FeatureApp *a = app >= 0 ? &fs->apps[app] : &fs->pooled;
    const FeatureModel *m = app >= 0 ? features__model_find(fs, a->name, in->model) : NULL;
    return m ? m->median_out : a->median_out;
}

int features__models_save(const FeatureSpace *fs, FILE *f)
{
    fprintf(f, "models %d\n", (int)fs->n_models);
    for (int32_t i = 0; i < fs->n_models; i++) {
        const FeatureModel *m = &fs->models[i];
        fprintf(f, "model %lld %.17g ", (long long)m->n, m->median_out);
        features__write_escaped(f, m->app);
        fputc(' ', f);
        features__write_escaped(f, m->model);
        fputc('\n', f);
    }
    return ferror(f) ? ss_error_set(EIO, "features: write error") : 0;
}

static int model_parse(FeatureModel *m, char *line, const char *path, int lineno)
{
    char *save = NULL, *tok[5];
    int n = 0;
    for (char *t = strtok_r(line, " \n", &save); t && n < 5; t = strtok_r(NULL, " \n", &save))
        tok[n++] = t;
    double rows, median;
    char *app = n == 5 ? features__unescape(tok[3]) : NULL;
    char *model = n == 5 ? features__unescape(tok[4]) : NULL;
    if (n != 5 || strcmp(tok[0], "model") || ss_parse_double(tok[1], &rows) || rows < 1 ||
        ss_parse_double(tok[2], &median) || median < 0 || !app || !model || !model[0])
        return ss_error_set(EINVAL, "%s:%d: bad 'model' record (want 'model <rows> <median> "
                            "<app> <model>')", path, lineno);
    m->n = (int64_t)rows;
    m->median_out = median;
    m->app = ss_strdup(app);
    m->model = ss_strdup(model);
    return 0;
}

int features__models_load(FeatureSpace *fs, FILE *f, const char *path, int *lineno)
{
    char *line = NULL;
    size_t cap = 0;
    int n = -1, r = 0;
    (*lineno)++;
    if (getline(&line, &cap, f) < 0 || sscanf(line, "models %d", &n) != 1 || n < 0 ||
        n > 1000000) {
        r = ss_error_set(EINVAL, "%s:%d: expected 'models <n>'", path, *lineno);
        goto done;
    }
    fs->models = ss_calloc((size_t)n + 1, sizeof(*fs->models));
    for (int i = 0; i < n; i++) {
        (*lineno)++;
        if (getline(&line, &cap, f) < 0) {
            r = ss_error_set(EINVAL, "%s:%d: file ends inside the model table", path, *lineno);
            goto done;
        }
        if ((r = model_parse(&fs->models[i], line, path, *lineno))) goto done;
        fs->n_models++;
        if (i && cmp_key(fs->models[i].app, fs->models[i].model, &fs->models[i - 1]) <= 0) {
            r = ss_error_set(EINVAL, "%s:%d: model table out of order", path, *lineno);
            goto done;
        }
    }
done:
    free(line);
    return r;
}
