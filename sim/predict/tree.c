/* tree.c: CART regression trees on binned features (squared-error splits).
 *
 * A node's best split: for each of mtry features drawn at random (partial
 * Fisher-Yates), accumulate count and label sum per bin over the node's
 * samples, then scan the bins left to right; the variance reduction of a
 * split is sumL^2/nL + sumR^2/nR - sum^2/n.  Cost per tree: O(depth x n x
 * mtry), with no sorting after the one-off binning.  Nodes are laid out
 * depth-first; the caller's index array is partitioned in place. */
#include "predict/tree.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "engine/rng.h"

uint64_t tree_rand(uint64_t *state)
{
    return ss_mix64((*state)++);
}

static uint32_t rand_below(uint64_t *state, uint32_t n)
{
    return (uint32_t)(((tree_rand(state) >> 32) * (uint64_t)n) >> 32);
}

static int cmp_double_asc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Bin edges of one feature from its sorted values: every distinct value
 * gets its own bin when there are few; quantile cuts otherwise. */
static int32_t bin_edges(const float *sorted, size_t n, float *edges)
{
    int32_t nb = 0;
    size_t distinct = n ? 1 : 0;
    for (size_t i = 1; i < n && distinct <= TREE_MAX_BINS; i++)
        distinct += sorted[i] != sorted[i - 1];
    if (distinct <= TREE_MAX_BINS) {
        for (size_t i = 1; i < n; i++)
            if (sorted[i] != sorted[i - 1])
                edges[nb++] = sorted[i - 1] + (sorted[i] - sorted[i - 1]) * 0.5f;
    } else {
        for (int32_t b = 1; b < TREE_MAX_BINS; b++) {
            float v = sorted[(size_t)b * n / TREE_MAX_BINS];
            if (v < sorted[n - 1] && (!nb || v > edges[nb - 1])) edges[nb++] = v;
        }
    }
    edges[nb++] = FLT_MAX;  /* the last bin takes everything above */
    return nb;
}

static uint8_t bin_of(const float *edges, int32_t nb, float v)
{
    int32_t lo = 0, hi = nb - 1;  /* first edge >= v */
    while (lo < hi) {
        int32_t mid = (lo + hi) / 2;
        if (v <= edges[mid]) hi = mid; else lo = mid + 1;
    }
    return (uint8_t)lo;
}

void tree_data_create(TreeData *td, const float *x, size_t n, int32_t d)
{
    td->n = n;
    td->d = d;
    td->bins = ss_malloc((size_t)d * n + 1);
    td->edges = ss_malloc((size_t)d * TREE_MAX_BINS * sizeof(*td->edges));
    td->n_bins = ss_malloc((size_t)d * sizeof(*td->n_bins));
    float *col = ss_malloc((n + 1) * sizeof(*col));
    for (int32_t f = 0; f < d; f++) {
        for (size_t i = 0; i < n; i++) col[i] = x[i * (size_t)d + (size_t)f];
        qsort(col, n, sizeof(*col), cmp_float);
        float *e = td->edges + (size_t)f * TREE_MAX_BINS;
        td->n_bins[f] = bin_edges(col, n, e);
        for (size_t i = 0; i < n; i++)
            td->bins[(size_t)f * n + i] = bin_of(e, td->n_bins[f], x[i * (size_t)d + (size_t)f]);
    }
    free(col);
}

void tree_data_free(TreeData *td)
{
    free(td->bins);
    free(td->edges);
    free(td->n_bins);
    memset(td, 0, sizeof(*td));
}

void tree_free(Tree *t)
{
    free(t->nodes);
    memset(t, 0, sizeof(*t));
}

typedef struct FitCtx {
    Tree *t;
    const TreeData *td;
    const double *y;
    uint32_t *idx;
    const TreeParams *p;
    uint64_t rng;
    int32_t *features;      /* permutation scratch, d */
    double *hist_sum;       /* TREE_MAX_BINS */
    uint32_t *hist_n;       /* TREE_MAX_BINS */
    double *scratch;        /* leaf labels for quantiles */
} FitCtx;

typedef struct Split {
    int32_t feature, bin;
    double gain;
} Split;

static int32_t node_new(Tree *t)
{
    SS_GROW(t->nodes, t->cap, t->n_nodes + 1);
    memset(&t->nodes[t->n_nodes], 0, sizeof(TreeNode));
    return t->n_nodes++;
}

/* The best split of idx[lo, hi) over mtry random features; gain 0 if none. */
static Split best_split(FitCtx *c, size_t lo, size_t hi, double sum)
{
    const TreeData *td = c->td;
    Split best = { -1, -1, 0.0 };
    double n = (double)(hi - lo), base = sum * sum / n;
    for (int32_t k = 0; k < c->p->mtry && k < td->d; k++) {
        int32_t j = k + (int32_t)rand_below(&c->rng, (uint32_t)(td->d - k));
        int32_t f = c->features[j];
        c->features[j] = c->features[k];
        c->features[k] = f;
        int32_t nb = td->n_bins[f];
        if (nb < 2) continue;
        const uint8_t *bins = td->bins + (size_t)f * td->n;
        memset(c->hist_sum, 0, (size_t)nb * sizeof(*c->hist_sum));
        memset(c->hist_n, 0, (size_t)nb * sizeof(*c->hist_n));
        for (size_t i = lo; i < hi; i++) {
            uint8_t b = bins[c->idx[i]];
            c->hist_sum[b] += c->y[c->idx[i]];
            c->hist_n[b]++;
        }
        double sl = 0, nl = 0;
        for (int32_t b = 0; b + 1 < nb; b++) {
            sl += c->hist_sum[b];
            nl += c->hist_n[b];
            double nr = n - nl;
            if (nl < c->p->min_leaf) continue;
            if (nr < c->p->min_leaf) break;
            double sr = sum - sl;
            double gain = sl * sl / nl + sr * sr / nr - base;
            if (gain > best.gain * (1 + 1e-12) + 1e-12) best = (Split){ f, b, gain };
        }
    }
    return best;
}

static void make_leaf(FitCtx *c, int32_t node, size_t lo, size_t hi, double sum)
{
    TreeNode *nd = &c->t->nodes[node];
    nd->feature = -1;
    nd->value = sum / (double)(hi - lo);
    nd->q10 = nd->q50 = nd->q90 = (float)nd->value;
    if (!c->p->leaf_quantiles) return;
    size_t m = hi - lo;
    for (size_t i = 0; i < m; i++) c->scratch[i] = c->y[c->idx[lo + i]];
    qsort(c->scratch, m, sizeof(*c->scratch), cmp_double_asc);
    nd->q10 = (float)c->scratch[(size_t)(0.1 * (double)(m - 1) + 0.5)];
    nd->q50 = (float)(m % 2 ? c->scratch[m / 2] : 0.5 * (c->scratch[m / 2 - 1] + c->scratch[m / 2]));
    nd->q90 = (float)c->scratch[(size_t)(0.9 * (double)(m - 1) + 0.5)];
}

static void grow(FitCtx *c, int32_t node, size_t lo, size_t hi, int32_t depth)
{
    double sum = 0;
    for (size_t i = lo; i < hi; i++) sum += c->y[c->idx[i]];
    c->t->nodes[node].n = (int32_t)(hi - lo);
    Split s = { -1, -1, 0.0 };
    if (depth < c->p->max_depth && hi - lo >= 2 * (size_t)c->p->min_leaf)
        s = best_split(c, lo, hi, sum);
    if (s.feature < 0) { make_leaf(c, node, lo, hi, sum); return; }
    const uint8_t *bins = c->td->bins + (size_t)s.feature * c->td->n;
    size_t mid = lo;
    for (size_t i = lo; i < hi; i++)
        if (bins[c->idx[i]] <= s.bin) {
            uint32_t tmp = c->idx[i];
            c->idx[i] = c->idx[mid];
            c->idx[mid++] = tmp;
        }
    int32_t left = node_new(c->t);
    grow(c, left, lo, mid, depth + 1);
    int32_t right = node_new(c->t);
    grow(c, right, mid, hi, depth + 1);
    TreeNode *nd = &c->t->nodes[node];  /* nodes may have moved */
    nd->feature = s.feature;
    nd->threshold = c->td->edges[(size_t)s.feature * TREE_MAX_BINS + (size_t)s.bin];
    nd->left = left;
    nd->right = right;
}

void tree_fit(Tree *t, const TreeData *td, const double *y, uint32_t *idx, size_t n_idx,
              const TreeParams *p, uint64_t seed)
{
    SS_ASSERT(n_idx > 0 && p->min_leaf >= 1 && p->mtry >= 1);
    FitCtx c = { t, td, y, idx, p, seed, NULL, NULL, NULL, NULL };
    c.features = ss_malloc((size_t)td->d * sizeof(*c.features));
    for (int32_t f = 0; f < td->d; f++) c.features[f] = f;
    c.hist_sum = ss_malloc(TREE_MAX_BINS * sizeof(*c.hist_sum));
    c.hist_n = ss_malloc(TREE_MAX_BINS * sizeof(*c.hist_n));
    c.scratch = ss_malloc(n_idx * sizeof(*c.scratch));
    t->n_nodes = 0;
    grow(&c, node_new(t), 0, n_idx, 0);
    free(c.features);
    free(c.hist_sum);
    free(c.hist_n);
    free(c.scratch);
}

int32_t tree_leaf_index(const Tree *t, const float *x)
{
    int32_t i = 0;
    while (t->nodes[i].feature >= 0)
        i = x[t->nodes[i].feature] <= t->nodes[i].threshold ? t->nodes[i].left : t->nodes[i].right;
    return i;
}

const TreeNode *tree_leaf(const Tree *t, const float *x)
{
    return &t->nodes[tree_leaf_index(t, x)];
}

int tree_save(const Tree *t, FILE *f)
{
    fprintf(f, "tree %d\n", (int)t->n_nodes);
    for (int32_t i = 0; i < t->n_nodes; i++) {
        const TreeNode *nd = &t->nodes[i];
        if (nd->feature >= 0)
            fprintf(f, "s %d %.9g %d %d %d\n", (int)nd->feature, (double)nd->threshold,
                    (int)nd->left, (int)nd->right, (int)nd->n);
        else
            fprintf(f, "l %.17g %.9g %.9g %.9g %d\n", nd->value, (double)nd->q10,
                    (double)nd->q50, (double)nd->q90, (int)nd->n);
    }
    return ferror(f) ? ss_error_set(EIO, "tree: write error") : 0;
}

/* Parse one node line; children must point forward (depth-first layout),
 * which also rules out cycles. */
static int node_parse(TreeNode *nd, const char *line, int32_t self, int32_t n_nodes,
                      int32_t n_features)
{
    int feature, left, right, n;
    float thr, q10, q50, q90;
    double value;
    if (sscanf(line, "s %d %g %d %d %d", &feature, &thr, &left, &right, &n) == 5) {
        if (feature < 0 || feature >= n_features || left <= self || right <= self ||
            left >= n_nodes || right >= n_nodes || !isfinite(thr))
            return -1;
        *nd = (TreeNode){ .feature = feature, .threshold = thr, .left = left, .right = right,
                          .n = n };
        return 0;
    }
    if (sscanf(line, "l %lg %g %g %g %d", &value, &q10, &q50, &q90, &n) == 5 &&
        isfinite(value)) {
        *nd = (TreeNode){ .feature = -1, .value = value, .q10 = q10, .q50 = q50, .q90 = q90,
                          .n = n };
        return 0;
    }
    return -1;
}

int tree_load(Tree *t, FILE *f, const char *path, int *lineno, int32_t n_features)
{
    char line[256];
    int n_nodes = 0;
    memset(t, 0, sizeof(*t));
    (*lineno)++;
    if (!fgets(line, sizeof(line), f) || sscanf(line, "tree %d", &n_nodes) != 1 ||
        n_nodes < 1 || n_nodes > (1 << 26))
        return ss_error_set(EINVAL, "%s:%d: expected 'tree <nodes>'", path, *lineno);
    t->nodes = ss_malloc((size_t)n_nodes * sizeof(*t->nodes));
    t->cap = t->n_nodes = n_nodes;
    for (int32_t i = 0; i < n_nodes; i++) {
        (*lineno)++;
        if (!fgets(line, sizeof(line), f) ||
            node_parse(&t->nodes[i], line, i, n_nodes, n_features)) {
            tree_free(t);
            return ss_error_set(EINVAL, "%s:%d: bad tree node", path, *lineno);
        }
    }
    return 0;
}
