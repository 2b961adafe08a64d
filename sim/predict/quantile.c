/* quantile.c: per-application empirical quantiles of output length.
 *
 * For each app seen in training keep the 0th..100th percentiles of its
 * output length (tokens) and of its output/input ratio.  mode=output
 * predicts the app's q-quantile of output length whatever the input;
 * mode=ratio predicts input_tokens x the app's q-quantile of the ratio (apt
 * where the output follows the input: translation, code repair).  Unknown
 * apps use the percentiles of every training row.  q=0.5, mode=output is
 * the per-app-median baseline of `servesim predict eval`.
 *
 * Model file (text): "servesim-quantile 1", "mode <0|1>", "apps <n>", then
 * per app a line "app <rows>", a line with its name, and two lines of 101
 * percentiles ("out ...", "ratio ..."); the last app is the pooled "*". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "common.h"
#include "predict/predict.h"

#define QUANTILE_FORMAT "servesim-quantile"
#define QUANTILE_VERSION 1
#define GRID 101

enum { MODE_OUTPUT, MODE_RATIO };

typedef struct QuantileOpts {
    double q;
    int mode;
    char model[OPTS_STRING_MAX];
} QuantileOpts;

static const OptSpec quantile_opts[] = {
    { "q", OPT_DOUBLE, offsetof(QuantileOpts, q), "0.5", "quantile to predict, 0..1",
      NULL, 0, 1 },
    { "mode", OPT_CHOICE, offsetof(QuantileOpts, mode), "output",
      "quantile of the output length, or of output/input times the input", "output|ratio",
      OPT_NO_BOUNDS },
    { "file", OPT_STRING, offsetof(QuantileOpts, model), "",
      "trained model file to load", NULL, OPT_NO_BOUNDS },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

typedef struct QuantApp {
    char *name;             /* "*" for the pooled row */
    int64_t n;
    double out[GRID];       /* tokens at percentile 0..100 */
    double ratio[GRID];     /* output/input at percentile 0..100 */
} QuantApp;

typedef struct Quantile {
    QuantileOpts o;
    QuantApp *apps;         /* apps[n_apps - 1] is pooled */
    int32_t n_apps;
} Quantile;

static int quantile_load(void *priv, FILE *f, const char *path);
static void quantile_close(void *priv);

static int quantile_init(void *priv, const void *opts, const PredictEnv *env)
{
    Quantile *qp = priv;
    qp->o = *(const QuantileOpts *)opts;
    if (!qp->o.model[0]) return 0;
    FILE *f = fopen(qp->o.model, "r");
    if (!f)
        return ss_error_set(errno, "predict quantile: cannot open %s: %s", qp->o.model,
                            strerror(errno));
    int r = quantile_load(priv, f, qp->o.model);
    fclose(f);
    if (r) quantile_close(priv);  /* predictor_create frees priv without close */
    return r;
}

static void quantile_clear(Quantile *qp)
{
    for (int32_t i = 0; i < qp->n_apps; i++) free(qp->apps[i].name);
    free(qp->apps);
    qp->apps = NULL;
    qp->n_apps = 0;
}

/* Percentile grid of the rows of `name` (NULL: all rows). */
static void app_fill(QuantApp *a, const Dataset *d, const char *name, double *out, double *ratio)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++) {
        const PredictSample *s = &d->rows[i];
        if (name && strcmp(s->in.app ? s->in.app : "", name)) continue;
        out[n] = s->output_tokens;
        ratio[n++] = s->output_tokens / SS_MAX(1.0, (double)s->in.input_tokens);
    }
    gsl_sort(out, 1, n);
    gsl_sort(ratio, 1, n);
    a->n = (int64_t)n;
    for (int k = 0; k < GRID; k++) {
        a->out[k] = gsl_stats_quantile_from_sorted_data(out, 1, n, k / 100.0);
        a->ratio[k] = gsl_stats_quantile_from_sorted_data(ratio, 1, n, k / 100.0);
    }
}

static int cmp_name(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int quantile_train(void *priv, const Dataset *d)
{
    Quantile *qp = priv;
    quantile_clear(qp);
    const char **names = ss_malloc(d->n * sizeof(*names));
    for (size_t i = 0; i < d->n; i++) names[i] = d->rows[i].in.app ? d->rows[i].in.app : "";
    qsort(names, d->n, sizeof(*names), cmp_name);
    double *out = ss_malloc(d->n * sizeof(*out)), *ratio = ss_malloc(d->n * sizeof(*ratio));
    qp->apps = ss_calloc(d->n + 1, sizeof(*qp->apps));
    for (size_t i = 0; i < d->n; i++) {
        if (i && !strcmp(names[i], names[i - 1])) continue;
        QuantApp *a = &qp->apps[qp->n_apps++];
        a->name = ss_strdup(names[i]);
        app_fill(a, d, a->name, out, ratio);
    }
    QuantApp *pooled = &qp->apps[qp->n_apps++];
    pooled->name = ss_strdup("*");
    app_fill(pooled, d, NULL, out, ratio);
    free(names);
    free(out);
    free(ratio);
    return 0;
}

/* Linear interpolation in a percentile grid. */
static double grid_at(const double *g, double q)
{
    double pos = SS_MIN(SS_MAX(q, 0.0), 1.0) * (GRID - 1);
    int k = (int)pos;
    if (k >= GRID - 1) return g[GRID - 1];
    return g[k] + (pos - k) * (g[k + 1] - g[k]);
}

static int quantile_predict(void *priv, const PredictInput *in, PredictOutput *out)
{
    Quantile *qp = priv;
    if (!qp->n_apps)
        return ss_error_set(EINVAL, "predict quantile: not trained (train it or give "
                            "file=FILE)");
    const QuantApp *a = &qp->apps[qp->n_apps - 1];
    for (int32_t i = 0; i + 1 < qp->n_apps; i++)
        if (!strcmp(qp->apps[i].name, in->app)) { a = &qp->apps[i]; break; }
    double scale = qp->o.mode == MODE_RATIO ? SS_MAX(1.0, (double)in->input_tokens) : 1.0;
    const double *g = qp->o.mode == MODE_RATIO ? a->ratio : a->out;
    out->tokens = SS_MAX(1.0, scale * grid_at(g, qp->o.q));
    out->p10 = SS_MAX(1.0, scale * grid_at(g, 0.1));
    out->p50 = SS_MAX(1.0, scale * grid_at(g, 0.5));
    out->p90 = SS_MAX(1.0, scale * grid_at(g, 0.9));
    out->has_quantiles = true;
    return 0;
}

static void grid_save(FILE *f, const char *tag, const double *g)
{
    fputs(tag, f);
    for (int k = 0; k < GRID; k++) fprintf(f, " %.17g", g[k]);
    fputc('\n', f);
}

static int quantile_save(void *priv, FILE *f)
{
    Quantile *qp = priv;
    if (!qp->n_apps) return ss_error_set(EINVAL, "predict quantile: nothing to save: not trained");
    fprintf(f, "%s %d\nq %.17g\nmode %d\napps %d\n", QUANTILE_FORMAT, QUANTILE_VERSION,
            qp->o.q, qp->o.mode, (int)qp->n_apps);
    for (int32_t i = 0; i < qp->n_apps; i++) {
        fprintf(f, "app %lld\n%s\n", (long long)qp->apps[i].n, qp->apps[i].name);
        grid_save(f, "out", qp->apps[i].out);
        grid_save(f, "ratio", qp->apps[i].ratio);
    }
    return ferror(f) ? ss_error_set(EIO, "predict quantile: write error") : 0;
}

static int grid_load(double *g, const char *line, const char *tag)
{
    size_t n = strlen(tag);
    if (strncmp(line, tag, n) || line[n] != ' ') return -1;
    const char *p = line + n;
    for (int k = 0; k < GRID; k++) {
        char *end;
        g[k] = strtod(p, &end);
        if (end == p || !isfinite(g[k])) return -1;
        p = end;
    }
    return 0;
}

static int app_load(QuantApp *a, FILE *f, char **line, size_t *cap)
{
    long long n;
    if (getline(line, cap, f) < 0 || sscanf(*line, "app %lld", &n) != 1) return -1;
    a->n = n;
    if (getline(line, cap, f) < 0) return -1;
    (*line)[strcspn(*line, "\n")] = '\0';
    a->name = ss_strdup(*line);
    if (getline(line, cap, f) < 0 || grid_load(a->out, *line, "out")) return -1;
    if (getline(line, cap, f) < 0 || grid_load(a->ratio, *line, "ratio")) return -1;
    return 0;
}

static int quantile_load(void *priv, FILE *f, const char *path)
{
    Quantile *qp = priv;
    int r = predictor_check_header(f, path, QUANTILE_FORMAT, QUANTILE_VERSION);
    if (r) return r;
    double q;
    int mode, n_apps;
    if (fscanf(f, "q %lg\nmode %d\napps %d\n", &q, &mode, &n_apps) != 3 || mode < 0 ||
        mode > 1 || n_apps < 1 || n_apps > 1000000)
        return ss_error_set(EINVAL, "%s:2: bad q/mode/apps lines", path);
    quantile_clear(qp);
    qp->apps = ss_calloc((size_t)n_apps, sizeof(*qp->apps));
    char *line = NULL;
    size_t cap = 0;
    for (int i = 0; i < n_apps && !r; i++, qp->n_apps++)
        if (app_load(&qp->apps[i], f, &line, &cap))
            r = ss_error_set(EINVAL, "%s:%d: bad app record %d", path, 5 + 4 * i, i + 1);
    free(line);
    qp->o.q = q;  /* the model answers what it was trained to answer */
    qp->o.mode = mode;
    return r;
}

static void quantile_close(void *priv)
{
    quantile_clear(priv);
}

const PredictorOps predictor_quantile = {
    .name = "quantile",
    .help = "per-app empirical quantile of output length or output/input ratio; file=FILE",
    .opts = quantile_opts,
    .opts_size = sizeof(QuantileOpts),
    .priv_size = sizeof(Quantile),
    .reads_truth = false,
    .init = quantile_init,
    .train = quantile_train,
    .predict = quantile_predict,
    .save = quantile_save,
    .load = quantile_load,
    .close = quantile_close,
};
