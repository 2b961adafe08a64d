/* tree.h: regression trees shared by the forest and boosted predictors.
 *
 * Training works on binned features (at most TREE_MAX_BINS quantile bins per
 * feature, computed once per training set) so that finding a node's best
 * split costs one pass over its samples per candidate feature, not a sort.
 * A split keeps the raw threshold (x <= threshold goes left), so prediction
 * reads plain float vectors and a saved tree needs no bin tables. */
#ifndef SERVESIM_PREDICT_TREE_H
#define SERVESIM_PREDICT_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TREE_MAX_BINS 256

typedef struct TreeNode {
    int32_t feature;        /* -1 for a leaf */
    float threshold;        /* split: x[feature] <= threshold goes left */
    int32_t left, right;    /* child node indices */
    double value;           /* leaf: mean label, or what the caller set */
    float q10, q50, q90;    /* leaf: label quantiles of its training samples */
    int32_t n;              /* training samples that reached the node */
} TreeNode;

typedef struct Tree {
    TreeNode *nodes;        /* nodes[0] is the root */
    int32_t n_nodes, cap;
} Tree;

/* Features of a training set, binned: the input of tree_fit. */
typedef struct TreeData {
    size_t n;               /* samples */
    int32_t d;              /* features */
    uint8_t *bins;          /* d x n, feature-major: bins[f * n + i] */
    float *edges;           /* d x TREE_MAX_BINS: bin b holds edges[b-1] < x <= edges[b] */
    int32_t *n_bins;        /* per feature */
} TreeData;

typedef struct TreeParams {
    int32_t max_depth;      /* root is depth 0 */
    int32_t min_leaf;       /* samples, repeats counted */
    int32_t mtry;           /* features tried per split (<= d) */
    bool leaf_quantiles;    /* compute q10/q50/q90 in leaves */
} TreeParams;

/* x is n x d row-major. */
void tree_data_create(TreeData *td, const float *x, size_t n, int32_t d);
void tree_data_free(TreeData *td);

/* Fit to labels y[n] on the samples listed in idx[0..n_idx) (repeats allowed:
 * a bootstrap).  idx is reordered.  seed drives the feature subsets. */
void tree_fit(Tree *t, const TreeData *td, const double *y, uint32_t *idx, size_t n_idx,
              const TreeParams *p, uint64_t seed);
void tree_free(Tree *t);

/* The leaf that x (a d-vector) falls into. */
const TreeNode *tree_leaf(const Tree *t, const float *x);
int32_t tree_leaf_index(const Tree *t, const float *x);

/* "tree <n_nodes>" then one line a node; load reports path:line errors and
 * checks that children and features are in range (n_features). */
int tree_save(const Tree *t, FILE *f);
int tree_load(Tree *t, FILE *f, const char *path, int *lineno, int32_t n_features);

/* A uniform 64-bit draw from a splitmix64 counter. */
uint64_t tree_rand(uint64_t *state);

#endif
