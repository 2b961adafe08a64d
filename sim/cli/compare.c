/* compare.c: `servesim compare A B [--tol SPEC]`: a CI gate over two result
 * sets.  Exit 0: no regression; 1: at least one; 2: bad input. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "fleet/compare.h"

static void compare_usage(FILE *f)
{
    fprintf(f,
        "usage: servesim compare A B [--tol SPEC] [--all]\n"
        "\n"
        "Compares result set B (the candidate) against A (the baseline), metric by metric.\n"
        "A and B are summary.json files, run directories, or trees of run directories\n"
        "(runs pair by relative path).  Each metric has a direction: higher is better\n"
        "(throughputs, goodput, completed) or lower is better (latencies, waits, queue,\n"
        "failures, preemptions, padding); std, durations and totals are informational.\n"
        "B regresses when it is worse than A by more than max(rel x |A|, abs).\n"
        "\n"
        "default tolerances:\n"
        "  *_throughput, request_goodput      -2 %%\n"
        "  mean/median/p90/p99 ttft tpot itl e2el, *_wait_ms, mean_response_time_ms,\n"
        "  mean_queue_length                  +5 %%\n"
        "  failure_rate +0.001   padding_share +0.01   preemptions +10 %% (at least 10)\n"
        "  completed, failed, rejected, truncated: exact\n"
        "\n"
        "  --tol SPEC   overrides, first match wins: metric or fnmatch pattern = N%% (relative),\n"
        "               N (absolute, the metric's units) or off:  'p99_*=10%%,failure_rate=0.01'\n"
        "  --all        also print informational and identical metrics\n"
        "\n"
        "exit status: 0 no regression, 1 regression, 2 bad input\n");
}

int cmd_compare(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "tol", required_argument, 0, 't' }, { "all", no_argument, 0, 'a' }, { 0, 0, 0, 0 },
    };
    if (cli_wants_help(argc, argv)) { compare_usage(stdout); return 0; }
    CompareRules rules = { .n = 0 };
    bool all = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == 't') {
            if (compare_rules_parse(&rules, optarg)) { cli_fail_lib(); return 2; }
        } else if (c == 'a') {
            all = true;
        } else {
            cli_fail("compare: unknown or incomplete option '%s' (see servesim compare --help)", argv[optind - 1]);
            return 2;
        }
    }
    if (argc - optind != 2) { cli_fail("compare: give two result sets, A (baseline) and B"); return 2; }
    CompareResult res;
    if (compare_paths(argv[optind], argv[optind + 1], &rules, &res)) { cli_fail_lib(); return 2; }
    compare_print(stdout, &res, all);
    int status = res.regressions ? 1 : 0;
    compare_result_free(&res);
    return status;
}
