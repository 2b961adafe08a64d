/* replay_args.c: parsing `servesim replay`'s options (see replay_args.h):
 * the options `run` has (cli_common.c) plus the backend, clock and timer. */
#include "replay_args.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"

enum { RA_BACKEND = 1000, RA_CLOCK, RA_TIMER };

/* After parsing: the replay-only choices, and defaults that depend on the backend. */
static int replay_args_finish(ReplayArgs *a)
{
    EngineConfig *c = &a->run.cfg;
    if (!strcmp(a->clock, "wall")) c->wall_clock = true;
    else if (strcmp(a->clock, "virtual"))
        return cli_fail("--clock %s: virtual (each iteration advances the clock by its measured "
                        "duration) or wall (real time: arrivals released on schedule)", a->clock);
    bool cuda = !strcmp(a->backend, "cuda");
    if (strcmp(a->timer, "monotonic") && (strcmp(a->timer, "thread") || cuda))
        return cli_fail("--timer %s: monotonic (wall time of each iteration) or, cpu backend only, "
                        "thread (the replay thread's CPU time)", a->timer);
    if (c->instances != 1 || c->fleet[0] || c->tensor_parallel != 1)
        return cli_fail("replay: drives one GPU instance (no --instances, --fleet or --tp)");
    if (!a->run.model_given) snprintf(c->model, sizeof(c->model), "%s", cuda ? "llama-2-7b" : "tiny");
    if (!a->run.gpu_given) snprintf(c->gpu, sizeof(c->gpu), "%s", cuda ? "h100-sxm" : "cpu-tiny");
    c->progress = !a->run.quiet;
    return 0;
}

int replay_args_parse(int argc, char **argv, ReplayArgs *a, bool need_out)
{
    static const struct option long_opts[] = {
        CLI_RUN_LONG_OPTIONS,
        { "backend", required_argument, 0, RA_BACKEND },
        { "clock", required_argument, 0, RA_CLOCK },
        { "timer", required_argument, 0, RA_TIMER },
        { 0, 0, 0, 0 },
    };
    cli_run_args_default(&a->run);
    a->run.requests = 1000;
    a->backend = "cpu";
    a->clock = "virtual";
    a->timer = "monotonic";
    int c, r;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == RA_BACKEND) { a->backend = optarg; continue; }
        if (c == RA_CLOCK) { a->clock = optarg; continue; }
        if (c == RA_TIMER) { a->timer = optarg; continue; }
        if (c == '?')
            return cli_fail("replay: unknown or incomplete option '%s' (see servesim replay --help)",
                            argv[optind - 1]);
        if ((r = cli_run_parse_option(&a->run, c, optarg)))
            return r < 0 ? cli_fail("replay: unhandled option") : r;
    }
    if (optind < argc) return cli_fail("replay: unexpected argument '%s'", argv[optind]);
    /* the replay-only checks first: a passing cli_run_args_check ends the
     * reading of the command line (later failures are run-time ones) */
    if ((r = replay_args_finish(a))) return r;
    return cli_run_args_check(&a->run, "replay", need_out);
}

int replay_args_open_source(const ReplayArgs *a, CliSource *src)
{
    return cli_run_open_source(&a->run, src);
}
