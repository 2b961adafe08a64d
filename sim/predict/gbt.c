/* gbt.c: gradient-boosted regression trees (Friedman) over features.c.
 *
 * F_0 = mean (loss=squared) or median (loss=absolute) of the label; each
 * round fits a depth-limited tree (tree.c) to the negative gradient on a
 * random subsample of the rows: the residual y - F (squared) or its sign
 * (absolute).  For absolute loss each leaf then takes the median residual of
 * its rows (LAD-TreeBoost), so the model estimates the conditional median,
 * the point MAE rewards.  Leaf values are stored already multiplied by the
 * learning rate: prediction is F_0 + sum of one leaf per tree.  target=log
 * boosts log(1 + tokens) (the median commutes with the log).
 *
 * Seeded and single-threaded; deterministic for a seed.  No quantiles.
 * Model file (text, "servesim-gbt 2"): options line, feature space, trees. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "engine/rng.h"
#include "predict/features.h"
#include "predict/predict.h"
#include "predict/tree.h"

#define GBT_FORMAT "servesim-gbt"
#define GBT_VERSION 2  /* 2: features 2 (model table) */

enum { LOSS_SQUARED, LOSS_ABSOLUTE };
enum { TARGET_RAW, TARGET_LOG };

typedef struct GbtOpts {
    int64_t trees, depth, min_leaf, mtry, hash_dim, hash_seed;
    double lr, subsample;
    int loss, target;
    char model[OPTS_STRING_MAX];
} GbtOpts;

static const OptSpec gbt_opts[] = {
    { "trees", OPT_INT, offsetof(GbtOpts, trees), "300", "boosting rounds", NULL, 1, 100000 },
    { "depth", OPT_INT, offsetof(GbtOpts, depth), "6", "maximum tree depth", NULL, 1, 32 },
    { "min_leaf", OPT_INT, offsetof(GbtOpts, min_leaf), "20", "minimum rows per leaf",
      NULL, 1, 1e9 },
    { "mtry", OPT_INT, offsetof(GbtOpts, mtry), "0", "features tried per split; 0 = all",
      NULL, 0, 100000 },
    { "lr", OPT_DOUBLE, offsetof(GbtOpts, lr), "0.1", "learning rate (shrinkage)", NULL, 1e-6, 1 },
    { "subsample", OPT_DOUBLE, offsetof(GbtOpts, subsample), "0.8",
      "share of rows each round fits (without replacement)", NULL, 0.01, 1 },
    { "loss", OPT_CHOICE, offsetof(GbtOpts, loss), "absolute",
      "squared (conditional mean) or absolute (conditional median)", "squared|absolute",
      OPT_NO_BOUNDS },
    { "target", OPT_CHOICE, offsetof(GbtOpts, target), "log",
      "label: raw tokens or log(1 + tokens)", "raw|log", OPT_NO_BOUNDS },
    { "hash_dim", OPT_INT, offsetof(GbtOpts, hash_dim), "16",
      "projection dims per hashed n-gram family (words, chars)", NULL, 0, 64 },
    { "hash_seed", OPT_INT, offsetof(GbtOpts, hash_seed), "1", "n-gram hashing seed",
      NULL, 0, 9e18 },
    { "file", OPT_STRING, offsetof(GbtOpts, model), "",
      "trained model file to load (from `servesim predict train`)", NULL, OPT_NO_BOUNDS },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

typedef struct Gbt {
    GbtOpts o;
    uint64_t seed;
    FeatureSpace fs;
    double f0;              /* initial prediction, in target units */
    Tree *trees;
    int32_t n_trees;
    float *x;               /* scratch: one feature vector */
} Gbt;

static int gbt_load(void *priv, FILE *f, const char *path);
static void gbt_close(void *priv);

static int gbt_init(void *priv, const void *opts, const PredictEnv *env)
{
    Gbt *g = priv;
    g->o = *(const GbtOpts *)opts;
    g->seed = env && env->rng ? gsl_rng_get(env->rng) : 1;
    if (!g->o.model[0]) return features_init(&g->fs, (uint64_t)g->o.hash_seed,
                                             (int32_t)g->o.hash_dim);
    FILE *f = fopen(g->o.model, "r");
    if (!f)
        return ss_error_set(errno, "predict gbt: cannot open %s: %s", g->o.model,
                            strerror(errno));
    int r = gbt_load(priv, f, g->o.model);
    fclose(f);
    if (r) gbt_close(priv);  /* predictor_create frees priv without close */
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct LeafRes {
    int32_t leaf;
    double r;
} LeafRes;

static int cmp_leafres(const void *a, const void *b)
{
    const LeafRes *x = a, *y = b;
    if (x->leaf != y->leaf) return x->leaf < y->leaf ? -1 : 1;
    return (x->r > y->r) - (x->r < y->r);
}

/* Absolute loss: each leaf's value becomes the median residual of its rows. */
static void leaf_medians(Tree *t, const float *x, int32_t d, const double *res,
                         const uint32_t *idx, size_t m, LeafRes *lr)
{
    for (size_t k = 0; k < m; k++)
        lr[k] = (LeafRes){ tree_leaf_index(t, x + (size_t)idx[k] * (size_t)d), res[idx[k]] };
    qsort(lr, m, sizeof(*lr), cmp_leafres);
    for (size_t a = 0, b; a < m; a = b) {
        for (b = a; b < m && lr[b].leaf == lr[a].leaf; b++) {}
        size_t n = b - a;
        double med = n % 2 ? lr[a + n / 2].r : 0.5 * (lr[a + n / 2 - 1].r + lr[a + n / 2].r);
        t->nodes[lr[a].leaf].value = med;
    }
}

/* One boosting round: fit tree t to the gradient on a subsample, update F. */
static void boost_round(Gbt *g, Tree *t, const TreeData *td, const float *x, const double *y,
                        double *f, double *res, double *grad, uint32_t *idx, LeafRes *lr,
                        uint64_t *rng)
{
    size_t n = td->n, m = (size_t)SS_MAX(1.0, g->o.subsample * (double)n);
    for (size_t i = 0; i < n; i++) {
        res[i] = y[i] - f[i];
        grad[i] = g->o.loss == LOSS_ABSOLUTE ? (res[i] > 0) - (res[i] < 0) : res[i];
        idx[i] = (uint32_t)i;
    }
    for (size_t k = 0; k < m; k++) {  /* partial Fisher-Yates: m rows without replacement */
        size_t j = k + (size_t)(((tree_rand(rng) >> 32) * (uint64_t)(n - k)) >> 32);
        uint32_t tmp = idx[k]; idx[k] = idx[j]; idx[j] = tmp;
    }
    int32_t mtry = g->o.mtry ? (int32_t)SS_MIN(g->o.mtry, g->fs.dim) : g->fs.dim;
    TreeParams p = { (int32_t)g->o.depth, (int32_t)g->o.min_leaf, mtry, false };
    tree_fit(t, td, grad, idx, m, &p, tree_rand(rng));
    if (g->o.loss == LOSS_ABSOLUTE) leaf_medians(t, x, g->fs.dim, res, idx, m, lr);
    for (int32_t k = 0; k < t->n_nodes; k++)
        if (t->nodes[k].feature < 0) t->nodes[k].value *= g->o.lr;
    for (size_t i = 0; i < n; i++)
        f[i] += tree_leaf(t, x + i * (size_t)g->fs.dim)->value;
}

static void gbt_clear(Gbt *g)
{
    for (int32_t t = 0; t < g->n_trees; t++) tree_free(&g->trees[t]);
    free(g->trees);
    g->trees = NULL;
    g->n_trees = 0;
}

static int gbt_train(void *priv, const Dataset *d)
{
    Gbt *g = priv;
    int r = features_fit(&g->fs, d);
    if (r) return r;
    free(g->x);
    g->x = NULL;
    size_t n = d->n;
    float *x = features_matrix(&g->fs, d);
    double *y = ss_malloc(n * sizeof(*y)), *f = ss_malloc(n * sizeof(*f));
    double *res = ss_malloc(n * sizeof(*res)), *grad = ss_malloc(n * sizeof(*grad));
    uint32_t *idx = ss_malloc(n * sizeof(*idx));
    LeafRes *lr = ss_malloc(n * sizeof(*lr));
    for (size_t i = 0; i < n; i++) {
        double v = d->rows[i].output_tokens;
        y[i] = res[i] = g->o.target == TARGET_LOG ? log1p(SS_MAX(v, 0.0)) : v;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += y[i];
    g->f0 = g->o.loss == LOSS_ABSOLUTE ? median_of(res, n) : sum / (double)n;
    for (size_t i = 0; i < n; i++) f[i] = g->f0;
    TreeData td;
    tree_data_create(&td, x, n, g->fs.dim);
    gbt_clear(g);
    g->trees = ss_calloc((size_t)g->o.trees, sizeof(*g->trees));
    uint64_t rng = g->seed;
    for (; g->n_trees < (int32_t)g->o.trees; g->n_trees++)
        boost_round(g, &g->trees[g->n_trees], &td, x, y, f, res, grad, idx, lr, &rng);
    tree_data_free(&td);
    free(x); free(y); free(f); free(res); free(grad); free(idx); free(lr);
    return 0;
}

static int gbt_predict(void *priv, const PredictInput *in, PredictOutput *out)
{
    Gbt *g = priv;
    if (!g->n_trees)
        return ss_error_set(EINVAL, "predict gbt: not trained (train it with `servesim "
                            "predict train` and pass file=FILE)");
    if (!g->x) g->x = ss_malloc((size_t)g->fs.dim * sizeof(*g->x));
    features_compute(&g->fs, in, g->x);
    double v = g->f0;
    for (int32_t t = 0; t < g->n_trees; t++) v += tree_leaf(&g->trees[t], g->x)->value;
    if (g->o.target == TARGET_LOG) v = expm1(v);
    out->tokens = out->p10 = out->p50 = out->p90 = SS_MAX(1.0, v);
    out->has_quantiles = false;
    return 0;
}

static int gbt_save(void *priv, FILE *f)
{
    Gbt *g = priv;
    if (!g->n_trees) return ss_error_set(EINVAL, "predict gbt: nothing to save: not trained");
    fprintf(f, "%s %d\n", GBT_FORMAT, GBT_VERSION);
    fprintf(f, "options %d %d %llu %.17g %.17g %d\n", g->o.loss, g->o.target,
            (unsigned long long)g->seed, g->f0, g->o.lr, (int)g->n_trees);
    int r = features_save(&g->fs, f);
    for (int32_t t = 0; !r && t < g->n_trees; t++) r = tree_save(&g->trees[t], f);
    return r;
}

static int gbt_load(void *priv, FILE *f, const char *path)
{
    Gbt *g = priv;
    int r = predictor_check_header(f, path, GBT_FORMAT, GBT_VERSION), lineno = 2;
    if (r) return r;
    int loss, target, trees;
    unsigned long long seed;
    double f0, lr;
    if (fscanf(f, "options %d %d %llu %lg %lg %d\n", &loss, &target, &seed, &f0, &lr,
               &trees) != 6 || loss < 0 || loss > 1 || target < 0 || target > 1 ||
        trees < 1 || trees > 100000 || !isfinite(f0))
        return ss_error_set(EINVAL, "%s:2: bad 'options' line", path);
    features_free(&g->fs);
    if ((r = features_load(&g->fs, f, path, &lineno))) return r;
    gbt_clear(g);
    g->o.loss = loss; g->o.target = target; g->o.lr = lr; g->o.trees = trees;
    g->seed = seed;
    g->f0 = f0;
    g->trees = ss_calloc((size_t)trees, sizeof(*g->trees));
    for (int32_t t = 0; t < trees; t++, g->n_trees++)
        if ((r = tree_load(&g->trees[t], f, path, &lineno, g->fs.dim))) return r;
    return 0;
}

static void gbt_close(void *priv)
{
    Gbt *g = priv;
    gbt_clear(g);
    features_free(&g->fs);
    free(g->x);
}

const PredictorOps predictor_gbt = {
    .name = "gbt",
    .help = "gradient-boosted trees over input length, app and text features; file=FILE",
    .opts = gbt_opts,
    .opts_size = sizeof(GbtOpts),
    .priv_size = sizeof(Gbt),
    .reads_truth = false,
    .init = gbt_init,
    .train = gbt_train,
    .predict = gbt_predict,
    .save = gbt_save,
    .load = gbt_load,
    .close = gbt_close,
};
