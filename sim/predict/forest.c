/* forest.c: random forest regression of output length, the Magnus predictor.
 *
 * Breiman's forest over features.c's vector: each tree grows on a bootstrap
 * sample (`sample` x n draws with replacement) and tries `mtry` random
 * features per split (default d/3).  The label is the output length in
 * tokens, or log(1 + tokens) with target=log (output lengths are skewed; a
 * log target stops the long chat answers from dominating every split), or
 * with target=logrel log((1 + tokens) / (1 + base)), base the request's
 * (app, model) median (features_base_tokens): the answering model scales a
 * chat answer by a factor, and fitting the factor left after it lets every
 * split on the text pool the rows of all models.
 *
 * Point estimate: the mean over trees of each leaf's mean (point=mean), or
 * of each leaf's median (point=median, what MAE rewards).  p10/p50/p90 are
 * the tree-averaged leaf quantiles: a cheap form of Meinshausen's quantile
 * regression forest that keeps model files small (no stored samples).
 *
 * Defaults (target=logrel, min_leaf=10, sample=0.5, hash_dim=0) were chosen
 * on a held-out eighth of the train split (grouped by prompt), never on
 * valid: with the model known, the hashed n-grams let trees memorise the
 * ~570 training chat prompts (each answered by ~9 models) and lost 1-2 %
 * of chat MAE; half-size bootstraps decorrelate the trees (docs/PREDICTORS.md).
 *
 * Deterministic for a seed: tree i draws from its own counter stream seeded
 * by (seed, i), so threads=N gives the same forest as threads=1.
 *
 * Model file (text, "servesim-forest 2"): options, the feature space, then
 * each tree (tree.c's format). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "engine/rng.h"
#include "predict/features.h"
#include "predict/predict.h"
#include "predict/tree.h"

#define FOREST_FORMAT "servesim-forest"
#define FOREST_VERSION 2  /* 2: features 2 (model table), target=logrel */

enum { TARGET_RAW, TARGET_LOG, TARGET_LOGREL };
enum { POINT_MEAN, POINT_MEDIAN };

typedef struct ForestOpts {
    int64_t trees, depth, min_leaf, mtry, threads, hash_dim, hash_seed;
    double sample;
    int target, point;
    char model[OPTS_STRING_MAX];
} ForestOpts;

static const OptSpec forest_opts[] = {
    { "trees", OPT_INT, offsetof(ForestOpts, trees), "100", "number of trees", NULL, 1, 100000 },
    { "depth", OPT_INT, offsetof(ForestOpts, depth), "16", "maximum tree depth (root = 0)",
      NULL, 1, 64 },
    { "min_leaf", OPT_INT, offsetof(ForestOpts, min_leaf), "10",
      "minimum training samples per leaf", NULL, 1, 1e9 },
    { "mtry", OPT_INT, offsetof(ForestOpts, mtry), "0",
      "features tried per split; 0 = one third of them", NULL, 0, 100000 },
    { "sample", OPT_DOUBLE, offsetof(ForestOpts, sample), "0.5",
      "bootstrap draws per tree, as a fraction of the training rows", NULL, 0.01, 10 },
    { "threads", OPT_INT, offsetof(ForestOpts, threads), "1",
      "training threads (the forest does not depend on it)", NULL, 1, 256 },
    { "hash_dim", OPT_INT, offsetof(ForestOpts, hash_dim), "0",
      "projection dims per hashed n-gram family (words, chars)", NULL, 0, 64 },
    { "hash_seed", OPT_INT, offsetof(ForestOpts, hash_seed), "1", "n-gram hashing seed",
      NULL, 0, 9e18 },
    { "target", OPT_CHOICE, offsetof(ForestOpts, target), "logrel",
      "label the trees fit: raw tokens, log(1 + tokens), or that minus log(1 + the request's "
      "(app, model) median)", "raw|log|logrel", OPT_NO_BOUNDS },
    { "point", OPT_CHOICE, offsetof(ForestOpts, point), "median",
      "point estimate: mean or median of the leaves", "mean|median", OPT_NO_BOUNDS },
    { "file", OPT_STRING, offsetof(ForestOpts, model), "",
      "trained model file to load (from `servesim predict train`)", NULL, OPT_NO_BOUNDS },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

typedef struct Forest {
    ForestOpts o;
    uint64_t seed;
    FeatureSpace fs;
    Tree *trees;
    int32_t n_trees;
    float *x;               /* scratch: one feature vector */
} Forest;

static int forest_load(void *priv, FILE *f, const char *path);
static void forest_close(void *priv);

static int forest_init(void *priv, const void *opts, const PredictEnv *env)
{
    Forest *fo = priv;
    fo->o = *(const ForestOpts *)opts;
    fo->seed = env && env->rng ? gsl_rng_get(env->rng) : 1;
    if (!fo->o.model[0]) return features_init(&fo->fs, (uint64_t)fo->o.hash_seed,
                                              (int32_t)fo->o.hash_dim);
    FILE *f = fopen(fo->o.model, "r");
    if (!f)
        return ss_error_set(errno, "predict forest: cannot open %s: %s", fo->o.model,
                            strerror(errno));
    int r = forest_load(priv, f, fo->o.model);
    fclose(f);
    if (r) forest_close(priv);  /* predictor_create frees priv without close */
    return r;
}

/* base: the request's (app, model) median (tokens), read by logrel only. */
static double to_target(int target, double tokens, double base)
{
    double v = target == TARGET_RAW ? tokens : log1p(SS_MAX(tokens, 0.0));
    return target == TARGET_LOGREL ? v - log1p(SS_MAX(base, 0.0)) : v;
}

static double from_target(int target, double v, double base)
{
    if (target == TARGET_LOGREL) v += log1p(SS_MAX(base, 0.0));
    return target == TARGET_RAW ? v : expm1(v);
}

typedef struct TrainJob {
    Forest *fo;
    const TreeData *td;
    const double *y;
    TreeParams params;
    int32_t first, step;    /* trees first, first + step, ... */
} TrainJob;

static void *train_worker(void *arg)
{
    TrainJob *j = arg;
    size_t n = j->td->n, draws = (size_t)SS_MAX(1.0, j->fo->o.sample * (double)n);
    uint32_t *idx = ss_malloc(draws * sizeof(*idx));
    for (int32_t t = j->first; t < j->fo->n_trees; t += j->step) {
        uint64_t rng = ss_mix64(j->fo->seed ^ ss_mix64((uint64_t)t + 0x7f4a7c15ull));
        for (size_t i = 0; i < draws; i++)
            idx[i] = (uint32_t)(((tree_rand(&rng) >> 32) * (uint64_t)n) >> 32);
        tree_fit(&j->fo->trees[t], j->td, j->y, idx, draws, &j->params, tree_rand(&rng));
    }
    free(idx);
    return NULL;
}

static void forest_clear(Forest *fo)
{
    for (int32_t t = 0; t < fo->n_trees; t++) tree_free(&fo->trees[t]);
    free(fo->trees);
    fo->trees = NULL;
    fo->n_trees = 0;
}

static int forest_train(void *priv, const Dataset *d)
{
    Forest *fo = priv;
    int r = features_fit(&fo->fs, d);
    if (r) return r;
    free(fo->x);
    fo->x = NULL;
    float *x = features_matrix(&fo->fs, d);
    double *y = ss_malloc(d->n * sizeof(*y));
    for (size_t i = 0; i < d->n; i++)
        y[i] = to_target(fo->o.target, d->rows[i].output_tokens,
                         features_base_tokens(&fo->fs, &d->rows[i].in));
    TreeData td;
    tree_data_create(&td, x, d->n, fo->fs.dim);
    forest_clear(fo);
    fo->n_trees = (int32_t)fo->o.trees;
    fo->trees = ss_calloc((size_t)fo->n_trees, sizeof(*fo->trees));
    int32_t mtry = fo->o.mtry ? (int32_t)SS_MIN(fo->o.mtry, fo->fs.dim)
                              : SS_MAX(1, fo->fs.dim / 3);
    TreeParams params = { (int32_t)fo->o.depth, (int32_t)fo->o.min_leaf, mtry, true };
    int32_t n_threads = (int32_t)SS_MIN(fo->o.threads, fo->o.trees);
    TrainJob *jobs = ss_calloc((size_t)n_threads, sizeof(*jobs));
    pthread_t *tids = ss_calloc((size_t)n_threads, sizeof(*tids));
    for (int32_t w = 0; w < n_threads; w++) {
        jobs[w] = (TrainJob){ fo, &td, y, params, w, n_threads };
        if (w && pthread_create(&tids[w], NULL, train_worker, &jobs[w]))
            SS_ASSERT(!"pthread_create failed");
    }
    train_worker(&jobs[0]);
    for (int32_t w = 1; w < n_threads; w++) pthread_join(tids[w], NULL);
    free(jobs);
    free(tids);
    tree_data_free(&td);
    free(x);
    free(y);
    return 0;
}

static int forest_predict(void *priv, const PredictInput *in, PredictOutput *out)
{
    Forest *fo = priv;
    if (!fo->n_trees)
        return ss_error_set(EINVAL, "predict forest: not trained (train it with `servesim "
                            "predict train` and pass file=FILE)");
    if (!fo->x) fo->x = ss_malloc((size_t)fo->fs.dim * sizeof(*fo->x));
    features_compute(&fo->fs, in, fo->x);
    double mean = 0, q10 = 0, q50 = 0, q90 = 0;
    for (int32_t t = 0; t < fo->n_trees; t++) {
        const TreeNode *leaf = tree_leaf(&fo->trees[t], fo->x);
        mean += leaf->value;
        q10 += leaf->q10;
        q50 += leaf->q50;
        q90 += leaf->q90;
    }
    double k = fo->n_trees;
    int tg = fo->o.target;
    double base = features_base_tokens(&fo->fs, in);
    out->p10 = SS_MAX(1.0, from_target(tg, q10 / k, base));
    out->p50 = SS_MAX(1.0, from_target(tg, q50 / k, base));
    out->p90 = SS_MAX(1.0, from_target(tg, q90 / k, base));
    out->tokens = fo->o.point == POINT_MEDIAN ? out->p50
                                              : SS_MAX(1.0, from_target(tg, mean / k, base));
    out->has_quantiles = true;
    return 0;
}

static int forest_save(void *priv, FILE *f)
{
    Forest *fo = priv;
    if (!fo->n_trees) return ss_error_set(EINVAL, "predict forest: nothing to save: not trained");
    fprintf(f, "%s %d\n", FOREST_FORMAT, FOREST_VERSION);
    fprintf(f, "options %d %d %llu %lld %lld %lld %lld\n", fo->o.target, fo->o.point,
            (unsigned long long)fo->seed, (long long)fo->o.trees, (long long)fo->o.depth,
            (long long)fo->o.min_leaf, (long long)fo->o.mtry);
    int r = features_save(&fo->fs, f);
    for (int32_t t = 0; !r && t < fo->n_trees; t++) r = tree_save(&fo->trees[t], f);
    return r;
}

static int forest_load(void *priv, FILE *f, const char *path)
{
    Forest *fo = priv;
    int r = predictor_check_header(f, path, FOREST_FORMAT, FOREST_VERSION), lineno = 2;
    if (r) return r;
    int target, point;
    unsigned long long seed;
    long long trees, depth, min_leaf, mtry;
    if (fscanf(f, "options %d %d %llu %lld %lld %lld %lld\n", &target, &point, &seed, &trees,
               &depth, &min_leaf, &mtry) != 7 || target < 0 || target > TARGET_LOGREL || point < 0 ||
        point > 1 || trees < 1 || trees > 100000)
        return ss_error_set(EINVAL, "%s:2: bad 'options' line", path);
    features_free(&fo->fs);
    if ((r = features_load(&fo->fs, f, path, &lineno))) return r;
    forest_clear(fo);
    fo->o.target = target; fo->o.point = point; fo->o.trees = trees;
    fo->o.depth = depth; fo->o.min_leaf = min_leaf; fo->o.mtry = mtry;
    fo->seed = seed;
    fo->trees = ss_calloc((size_t)trees, sizeof(*fo->trees));
    for (int32_t t = 0; t < (int32_t)trees; t++, fo->n_trees++)
        if ((r = tree_load(&fo->trees[t], f, path, &lineno, fo->fs.dim))) return r;
    return 0;
}

static void forest_close(void *priv)
{
    Forest *fo = priv;
    forest_clear(fo);
    features_free(&fo->fs);
    free(fo->x);
}

const PredictorOps predictor_forest = {
    .name = "forest",
    .help = "random forest over input length, app and text features (Magnus); file=FILE",
    .opts = forest_opts,
    .opts_size = sizeof(ForestOpts),
    .priv_size = sizeof(Forest),
    .reads_truth = false,
    .init = forest_init,
    .train = forest_train,
    .predict = forest_predict,
    .save = forest_save,
    .load = forest_load,
    .close = forest_close,
};
