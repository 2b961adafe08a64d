/* compare.h: diff two result sets metric by metric against tolerances, for
 * gating scheduler changes in CI (`servesim compare A B --tol SPEC`).
 *
 * Every metric has a direction (higher is better, lower is better, or
 * informational) and a tolerance: B regresses against A on a metric when it
 * is worse by more than max(rel x |A|, abs).  Defaults (docs/PLANNING.md):
 * throughputs -2 %, latencies and waits +5 %, failure rate +0.001, padding
 * share +0.01, preemptions +10 % (and at least 10), completed/failed/
 * rejected/truncated counts exact; std, durations and totals informational. */
#ifndef SERVESIM_COMPARE_H
#define SERVESIM_COMPARE_H

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

typedef enum CompareDir { CMP_INFO = 0, CMP_HIGHER_BETTER, CMP_LOWER_BETTER } CompareDir;
/* CMP_NOT_SIGNIFICANT (sets only): worse beyond the tolerance on average,
 * but not significantly so over the seeds: seed noise, not a regression. */
/* Accuracy mode (a real vllm bench serve result on one side): CMP_WITHIN or
 * CMP_BEYOND (|error| past the tolerance), CMP_MISSING (a number on one side
 * only: CompareRow.missing says which). */
typedef enum CompareVerdict {
    CMP_SAME = 0, CMP_WITHIN, CMP_BETTER, CMP_REGRESSION, CMP_NA, CMP_NOT_SIGNIFICANT, CMP_BEYOND, CMP_MISSING
} CompareVerdict;

typedef struct CompareTol {
    char pattern[64];        /* fnmatch pattern over metric names */
    double rel, abs;         /* allowed worsening: relative (fraction of A) and absolute (units of the metric) */
    bool off;                /* not gated */
} CompareTol;

#define COMPARE_MAX_TOLS 64
typedef struct CompareRules {
    CompareTol tol[COMPARE_MAX_TOLS]; /* user overrides, first match wins, before the defaults */
    int n;
} CompareRules;

/* "p99_*=10%,request_throughput=1%,failure_rate=0.002,steps=off" (a sign
 * before the number is allowed and ignored: the direction is the metric's).
 * 0 or -EINVAL. */
int compare_rules_parse(CompareRules *r, const char *spec);
CompareDir compare_direction(const char *metric);
/* The tolerance for a metric: a user rule, else the default. */
CompareTol compare_tolerance(const CompareRules *r, const char *metric);

typedef struct CompareRow {
    char run[256];           /* relative directory of the run within its set ("" for one file) */
    char metric[64];
    double a, b;             /* NAN when absent or null; the means over the runs for sets */
    double allowed;          /* the worsening allowed, units of the metric */
    CompareDir dir;
    CompareVerdict verdict;
    /* sets only (else n = 1, sd and p NAN) */
    int n_a, n_b;            /* runs with a number */
    double sd_a, sd_b;       /* sample standard deviations (n - 1) */
    double p;                /* one-sided Welch p-value of "B is worse than A" */
    int missing;             /* accuracy: bit 0 no number in A, bit 1 none in B */
} CompareRow;

typedef struct CompareResult {
    CompareRow *rows;
    size_t n, cap;
    int regressions;
    int runs;
    int gated, identical;    /* gated metric rows, and those equal on both sides */
    /* compare_sets: runs per side, the significance level, the tests it was
     * shared by (Holm) */
    bool sets;
    int set_runs_a, set_runs_b;
    double alpha;
    int tests;
    /* Accuracy mode: one side is a real vllm bench serve result (real_side 0
     * for A, 1 for B), the other a simulation; beyond counts the gated
     * metrics whose |error| exceeds the tolerance, missing the metrics with a
     * number on one side only. */
    bool accuracy;
    int real_side;
    int beyond, missing;
    char real_desc[300];
    /* Notes for stderr: pairs whose manifests say they are results of
     * different inputs (trace sha256 or workload, model, gpu, ...). */
    char (*warnings)[512];
    size_t n_warnings, warnings_cap;
    /* Filled while comparing, checked by compare_paths. */
    bool tol_matched[COMPARE_MAX_TOLS]; /* user rule i matched some metric name */
    int bad_metrics;         /* gated metrics missing, null on one side, or not numbers */
    char first_bad[600];     /* the first one's message */
} CompareResult;

/* compare_paths's error when a gated metric is missing on one side, null on
 * one side only, or not a number, or when no metric is gated at all: the
 * comparison cannot be judged (the CLI exits 1, as for a regression). */
#define COMPARE_BAD_METRIC (-ENODATA)

/* Load both sets (a summary.json file, a directory holding one, or a tree of
 * run directories each holding one; runs pair by relative path) and compare.
 * Either side may be a `vllm bench serve` result JSON file (vllm_result.h):
 * against a simulation that is accuracy mode (errors in %, no regression
 * verdicts); two real results are gated like two runs.
 * 0; -EINVAL / -ENOENT on bad input (a file, a run on one side only, a --tol
 * rule that matches no metric); COMPARE_BAD_METRIC (message set).  `out`
 * holds what was compared (and the warnings) either way: free it. */
int compare_paths(const char *a, const char *b, const CompareRules *rules, CompareResult *out);
void compare_result_free(CompareResult *r);

/* Noise-aware gate over seeds: every run found under the `na` paths of A
 * (summary.json files, run directories or trees) is one sample of the
 * baseline, likewise for B; at least 2 a side.  Per gated metric, B
 * regresses when (1) its mean is worse than A's by more than the tolerance
 * (max(rel x |mean A|, abs)) and (2) Welch's one-sided t-test of "B worse
 * than A" rejects at level `alpha`, Holm-adjusted over every gated metric
 * tested (the family-wise error stays <= alpha however many metrics are
 * gated).  Returns like compare_paths. */
int compare_sets(const char *const *a, int na, const char *const *b, int nb, const CompareRules *rules,
                 double alpha, CompareResult *out);
/* Welch's test: the one-sided p-value that the mean of y exceeds the mean
 * of x by more than chance, from means, sample variances and counts (>= 2). */
double compare_welch_p(double mean_x, double var_x, int n_x, double mean_y, double var_y, int n_y);
/* Internal (compare_load.c -> compare.c): one pair of runs' "metrics"
 * objects, keys of A first, then the keys only B has; the files name the
 * sides in messages. */
void compare__metrics(CompareResult *out, const char *run, const char *file_a, json_t *ma,
                      const char *file_b, json_t *mb, const CompareRules *rules);
/* Internal: after every pair, the --tol rules that matched nothing, the bad
 * metrics, an empty gate: 0 or the error of compare_paths. */
int compare__finish(CompareResult *out, const CompareRules *rules);
void compare__warn(CompareResult *out, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* compare_report.c: the table (informational and unchanged rows only when
 * `all`), and the same as JSON: {"a", "b", "verdict", "runs", "gated",
 * "identical", "regressions", "warnings", "metrics": [{run, metric, a, b,
 * change, allowed, direction, verdict}, ...]} with every row. */
void compare_print(FILE *f, const CompareResult *r, bool all);
json_t *compare_json(const CompareResult *r, const char *a, const char *b);
const char *compare_verdict_name(const CompareRow *w);

#endif
