/* compare_runs.h: internal to compare*.c: result sets loaded from disk. */
#ifndef SERVESIM_COMPARE_RUNS_H
#define SERVESIM_COMPARE_RUNS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "compare.h"

typedef struct CompareRun {
    char name[256];          /* relative directory, "" for a single run */
    char file[4200];         /* its summary.json, for messages */
    json_t *metrics;         /* the "metrics" object (owned) */
    json_t *manifest;        /* the "manifest" object (owned), or NULL */
} CompareRun;

typedef struct CompareRunSet {
    CompareRun *run;
    size_t n, cap;
} CompareRunSet;

/* Append the runs at `path` (a summary.json, a run directory, or a tree of
 * them, in sorted order): 0, or -EINVAL / -ENOENT with a message. */
int compare__set_load(CompareRunSet *s, const char *path);
void compare__set_free(CompareRunSet *s);
/* A warning in `out` when the manifests of `a` and `b` say they are results
 * of different inputs (the seed left out when `ignore_seed`). */
void compare__warn_if_inputs_differ(CompareResult *out, const CompareRun *a, const CompareRun *b,
                                    bool ignore_seed);

#endif
