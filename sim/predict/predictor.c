/* predictor.c: a predictor from its spec, training, model files, datasets.
 *
 * "name:k=v,..." -> the registry entry, its options parsed with opts_init,
 * zeroed private state, then init.  predictor_predict hides the true output
 * length from every predictor not flagged reads_truth, so a learned model
 * cannot see it even by mistake. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "predict/predict.h"

int predictor_create(Predictor **out, const char *spec, const PredictEnv *env)
{
    char name[64], owner[96];
    const char *kvs = NULL;
    *out = NULL;
    if (!spec || !*spec) return ss_error_set(EINVAL, "predict: empty predictor spec");
    if (strlen(spec) >= sizeof((*out)->spec))
        return ss_error_set(EINVAL, "predict: spec too long (max %zu chars): %s",
                            sizeof((*out)->spec) - 1, spec);
    int r = opts_split_spec(spec, name, sizeof(name), &kvs);
    if (r) return r;
    const PredictorOps *ops = predictor_find(name);
    if (!ops)
        return ss_error_set(EINVAL, "predict: unknown predictor '%s' (see `servesim list "
                            "predictors`)", name);
    Predictor *p = ss_calloc(1, sizeof(*p));
    p->ops = ops;
    snprintf(p->spec, sizeof(p->spec), "%s", spec);
    p->opts = ss_calloc(1, ops->opts_size ? ops->opts_size : 1);
    p->priv = ss_calloc(1, ops->priv_size ? ops->priv_size : 1);
    snprintf(owner, sizeof(owner), "predict %s", name);
    if (ops->opts && (r = opts_init(ops->opts, kvs, p->opts, owner))) goto fail;
    if (!ops->opts && kvs && *kvs) {
        r = ss_error_set(EINVAL, "predict %s: takes no options (got '%s')", name, kvs);
        goto fail;
    }
    if (ops->init && (r = ops->init(p->priv, p->opts, env))) goto fail;
    *out = p;
    return 0;
fail:
    free(p->opts);
    free(p->priv);
    free(p);
    return r;
}

void predictor_destroy(Predictor **pp)
{
    Predictor *p = *pp;
    if (!p) return;
    if (p->ops->close) p->ops->close(p->priv);
    free(p->priv);
    free(p->opts);
    free(p);
    *pp = NULL;
}

int predictor_predict(Predictor *p, const PredictInput *in, PredictOutput *out)
{
    PredictInput seen = *in;
    if (!p->ops->reads_truth) seen.true_output_tokens = -1;
    if (!seen.app) seen.app = "";
    int r = p->ops->predict(p->priv, &seen, out);
    if (r) return r;
    if (!out->has_quantiles) out->p10 = out->p50 = out->p90 = out->tokens;
    return 0;
}

int predictor_train(Predictor *p, const Dataset *train)
{
    if (!p->ops->train)
        return ss_error_set(ENOTSUP, "predict %s: needs no training", p->ops->name);
    if (!train->n) return ss_error_set(EINVAL, "predict %s: empty training set", p->ops->name);
    return p->ops->train(p->priv, train);
}

int predictor_save(Predictor *p, const char *path)
{
    if (!p->ops->save)
        return ss_error_set(ENOTSUP, "predict %s: has no model to save", p->ops->name);
    FILE *f = fopen(path, "w");
    if (!f) return ss_error_set(errno, "predict: cannot write %s: %s", path, strerror(errno));
    int r = p->ops->save(p->priv, f);
    if (fclose(f) && !r) r = ss_error_set(EIO, "predict: write error on %s", path);
    if (r) remove(path);
    return r;
}

int predictor_model_kind(const char *path, char *name, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) return ss_error_set(errno, "predict: cannot open %s: %s", path, strerror(errno));
    char word[64] = "";
    int ok = fscanf(f, "%63s", word) == 1 && !strncmp(word, "servesim-", 9) && word[9];
    fclose(f);
    if (!ok)
        return ss_error_set(EINVAL, "%s:1: not a servesim predictor model (no 'servesim-<name> "
                            "<version>' header)", path);
    if (!predictor_find(word + 9))
        return ss_error_set(EINVAL, "%s:1: model of predictor '%s', which this build lacks",
                            path, word + 9);
    snprintf(name, cap, "%s", word + 9);
    return 0;
}

int predictor_check_header(FILE *f, const char *path, const char *format, int version)
{
    char line[128], word[64];
    int v = 0;
    if (!fgets(line, sizeof(line), f) || sscanf(line, "%63s %d", word, &v) != 2 ||
        strcmp(word, format))
        return ss_error_set(EINVAL, "%s:1: not a %s model file (want header '%s %d')",
                            path, format, format, version);
    if (v != version)
        return ss_error_set(EINVAL, "%s:1: %s model version %d; this build reads version %d "
                            "(retrain it)", path, format, v, version);
    return 0;
}

void dataset_init(Dataset *d)
{
    memset(d, 0, sizeof(*d));
}

void dataset_free(Dataset *d)
{
    for (size_t i = 0; i < d->n_strings; i++) free(d->strings[i]);
    free(d->strings);
    free(d->rows);
    memset(d, 0, sizeof(*d));
}

const char *dataset_intern(Dataset *d, const char *s)
{
    if (!s) return NULL;
    SS_GROW(d->strings, d->cap_strings, d->n_strings + 1);
    return d->strings[d->n_strings++] = ss_strdup(s);
}

void dataset_push(Dataset *d, const PredictSample *s)
{
    SS_GROW(d->rows, d->cap, d->n + 1);
    d->rows[d->n++] = *s;
}
