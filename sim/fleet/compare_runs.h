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
    /* A real measurement: a `vllm bench serve` result JSON (not one that
     * servesim wrote with --result-format vllm); its metrics are mapped to
     * servesim's names (vllm_result.h). */
    bool real;
    long long num_prompts;   /* real: vLLM's num_prompts, -1 when absent */
    char desc[300];          /* real: "vllm bench serve result (backend B, model M, ...)" */
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

/* compare_accuracy.c: one real result against one simulation: the error of
 * the simulation in % of the real value, two-sided against the tolerance;
 * metrics on one side only are rows with verdict CMP_MISSING. */
void compare__accuracy(CompareResult *out, const CompareRun *a, const CompareRun *b, const CompareRules *rules);

#endif
