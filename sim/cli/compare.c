/* compare.c: `servesim compare A B [--tol SPEC] [--json]`: a CI gate over two
 * result sets.  Exit 0: no regression; 1: at least one, or a gated metric
 * that cannot be judged; 2: bad input or usage. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "fleet/compare.h"

static void compare_usage(FILE *f)
{
    fprintf(f,
        "usage: servesim compare A B [--tol SPEC] [--all] [--json]\n"
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
        "exit status: 0 no regression; 1 regression, or a gated metric missing or not a\n"
        "number; 2 bad input (a file, a run on one side only) or usage\n");
}

int cmd_compare(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "tol", required_argument, 0, 't' }, { "all", no_argument, 0, 'a' },
        { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 },
    };
    if (cli_wants_help(argc, argv)) { compare_usage(stdout); return 0; }
    CompareRules rules = { .n = 0 };
    bool all = false, json = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == 't') {
            if (compare_rules_parse(&rules, optarg)) { cli_fail_lib(); return 2; }
        } else if (c == 'a') {
            all = true;
        } else if (c == 'j') {
            json = true;
        } else {
            cli_fail("compare: unknown or incomplete option '%s' (see servesim compare --help)", argv[optind - 1]);
            return 2;
        }
    }
    if (argc - optind != 2) { cli_fail("compare: give two result sets, A (baseline) and B"); return 2; }
    const char *a = argv[optind], *b = argv[optind + 1];
    CompareResult res;
    int r = compare_paths(a, b, &rules, &res);
    for (size_t i = 0; i < res.n_warnings; i++) fprintf(stderr, "servesim: compare: warning: %s\n", res.warnings[i]);
    int status = r == COMPARE_BAD_METRIC ? 1 : r ? 2 : res.regressions ? 1 : 0;
    if (r) {
        cli_fail_lib();
    } else if (json) {
        json_t *j = compare_json(&res, a, b);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', stdout);
        json_decref(j);
    } else {
        compare_print(stdout, &res, all);
    }
    compare_result_free(&res);
    return status;
}
