/* compare.c: `servesim compare A B [--tol SPEC] [--json]`, and over seeds
 * `servesim compare --sets A... -- B...`: a CI gate over two result sets.
 * Exit 0: no regression; 1: at least one, or a gated metric that cannot be
 * judged; 2: bad input or usage. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "fleet/compare.h"

static void compare_usage(FILE *f)
{
    fprintf(f,
        "usage: servesim compare [--tol SPEC] [--all] [--json] A B\n"
        "       servesim compare --sets [--alpha P] [--tol SPEC] [--all] [--json] A... -- B...\n"
        "\n"
        "Compares result set B (the candidate) against A (the baseline), metric by metric.\n"
        "A and B are summary.json files, run directories, or trees of run directories\n"
        "(runs pair by relative path).  Each metric has a direction: higher is better\n"
        "(throughputs, goodput, completed) or lower is better (latencies, waits, queue,\n"
        "failures, preemptions, padding); std, durations and totals are informational.\n"
        "B regresses when it is worse than A by more than max(rel x |A|, abs).  A gated\n"
        "metric must be a number on both sides (or null on both); two results whose\n"
        "manifests differ in input, model, gpu, fleet, tp or SLOs are compared with a warning.\n"
        "\n"
        "default tolerances:\n"
        "  *_throughput, request_goodput      -2 %%\n"
        "  mean/median/p90/p99 ttft tpot itl e2el, *_wait_ms, mean_response_time_ms,\n"
        "  mean_queue_length                  +5 %%\n"
        "  failure_rate +0.001   padding_share +0.01   preemptions +10 %% (at least 10)\n"
        "  completed, failed, rejected, truncated: exact\n"
        "\n"
        "  --tol SPEC   overrides, first match wins: metric or fnmatch pattern = N%% (relative),\n"
        "               N (absolute, the metric's units) or off:  'p99_*=10%%,failure_rate=0.01';\n"
        "               a pattern that matches no metric is refused\n"
        "  --all        also print informational and identical metrics\n"
        "  --json       print the comparison as JSON (every metric) instead of the table\n"
        "\n"
        "Over seeds (--sets): every run under the paths before `--` is a sample of the\n"
        "baseline, every run after it one of the candidate (at least 2 a side; with two\n"
        "paths and no `--`, A and B are one tree each).  A gated metric regresses only when\n"
        "B's mean is worse than A's beyond the tolerance AND Welch's one-sided t-test says\n"
        "B is worse at level P (default 0.05), Holm-adjusted over the gated metrics; worse\n"
        "but not significant is 'noise'.  Options go before `--`.\n"
        "  --alpha P    significance level, family-wise over the gated metrics (0 < P <= 0.5)\n"
        "\n"
        "Real results: A or B may be the JSON of `vllm bench serve --save-result` (its flat\n"
        "schema; with --save-detailed its per-request ttfts/itls/latencies give the P90s and\n"
        "E2E it does not summarise).  Against a simulation that is accuracy mode: each metric's\n"
        "error (sim - real) / |real| in %%, within or beyond the tolerance both ways (the same\n"
        "defaults and --tol), and the metrics with a number on one side only named as missing.\n"
        "Two vllm results are gated like two runs.  docs/CI_GATE.md has the metric mapping.\n"
        "\n"
        "exit status: 0 no regression (accuracy: every gated metric within tolerance); 1\n"
        "regression (accuracy: one beyond), or a gated metric missing or not a number; 2 bad\n"
        "input (a file, a malformed vllm result, a run on one side only) or usage\n");
}

/* "p1 p2 ..." for the JSON's "a" and "b". */
static char *join_paths(char **paths, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++) len += strlen(paths[i]) + 1;
    char *s = ss_calloc(1, len);
    for (int i = 0; i < n; i++) {
        if (i) strcat(s, " ");
        strcat(s, paths[i]);
    }
    return s;
}

typedef struct CompareArgs {
    CompareRules rules;
    bool all, json, sets;
    double alpha;
    char **a, **b;            /* the paths of each side */
    int na, nb;
} CompareArgs;

/* Options, then the paths: A B, or with --sets A... -- B... (or A B, one
 * tree each).  0 or the exit status 2 (message printed). */
static int parse_compare_args(int argc, char **argv, CompareArgs *c)
{
    static const struct option long_opts[] = {
        { "tol", required_argument, 0, 't' }, { "all", no_argument, 0, 'a' },
        { "json", no_argument, 0, 'j' }, { "sets", no_argument, 0, 's' },
        { "alpha", required_argument, 0, 'p' }, { 0, 0, 0, 0 },
    };
    int split = argc; /* the first "--": B's paths follow it */
    for (int i = 1; i < argc && split == argc; i++) if (!strcmp(argv[i], "--")) split = i;
    int o;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(split, argv, "", long_opts, NULL)) != -1) {
        if (o == 't') {
            if (compare_rules_parse(&c->rules, optarg)) { cli_fail_lib(); return 2; }
        } else if (o == 'a') {
            c->all = true;
        } else if (o == 'j') {
            c->json = true;
        } else if (o == 's') {
            c->sets = true;
        } else if (o == 'p') {
            if (ss_parse_double(optarg, &c->alpha) || !(c->alpha > 0 && c->alpha <= 0.5)) {
                cli_fail("compare: --alpha '%s' is not a significance level in (0, 0.5]", optarg);
                return 2;
            }
        } else {
            cli_fail("compare: unknown or incomplete option '%s' (see servesim compare --help)", argv[optind - 1]);
            return 2;
        }
    }
    c->a = argv + optind;
    if (split < argc) {
        c->na = split - optind;
        c->b = argv + split + 1;
        c->nb = argc - split - 1;
        if (!c->sets) { cli_fail("compare: `A... -- B...` compares sets of runs: give --sets"); return 2; }
        if (!c->na || !c->nb) { cli_fail("compare --sets: give runs on both sides of `--`"); return 2; }
    } else {
        if (split - optind != 2) { cli_fail("compare: give two result sets, A (baseline) and B"); return 2; }
        c->na = c->nb = 1;
        c->b = argv + optind + 1;
    }
    if (c->alpha > 0 && !c->sets) { cli_fail("compare: --alpha is for --sets"); return 2; }
    if (!(c->alpha > 0)) c->alpha = 0.05;
    return 0;
}

int cmd_compare(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { compare_usage(stdout); return 0; }
    CompareArgs c = { .rules = { .n = 0 } };
    int status = parse_compare_args(argc, argv, &c);
    if (status) return status;
    CompareResult res;
    int r = c.sets ? compare_sets((const char *const *)c.a, c.na, (const char *const *)c.b, c.nb, &c.rules,
                                  c.alpha, &res)
                   : compare_paths(c.a[0], c.b[0], &c.rules, &res);
    for (size_t i = 0; i < res.n_warnings; i++) fprintf(stderr, "servesim: compare: warning: %s\n", res.warnings[i]);
    status = r == COMPARE_BAD_METRIC ? 1 : r ? 2 : res.regressions || res.beyond ? 1 : 0;
    if (r) {
        cli_fail_lib();
    } else if (c.json) {
        char *a = join_paths(c.a, c.na), *b = join_paths(c.b, c.nb);
        json_t *j = compare_json(&res, a, b);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', stdout);
        json_decref(j);
        free(a);
        free(b);
    } else {
        compare_print(stdout, &res, c.all);
    }
    compare_result_free(&res);
    return status;
}
