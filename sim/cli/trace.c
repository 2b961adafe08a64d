/* trace.c: `servesim trace stats|fit|gen`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_trace(int argc, char **argv)
{
    static const CliCommand sub[] = {
        { "stats", "rows, rates, burstiness, token quantiles of a trace", cmd_trace_stats },
        { "fit", "fit arrival and length distributions (GSL), with goodness of fit", cmd_trace_fit },
        { "gen", "generate a trace from a fit, parameters or the default workload", cmd_trace_gen },
    };
    const size_t n = sizeof(sub) / sizeof(sub[0]);
    if (argc >= 2)
        for (size_t i = 0; i < n; i++)
            if (!strcmp(argv[1], sub[i].name)) return sub[i].run(argc - 1, argv + 1);
    FILE *f = (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) ? stdout : stderr;
    fprintf(f, "usage: servesim trace <stats|fit|gen> [options]\n");
    for (size_t i = 0; i < n; i++) fprintf(f, "  %-6s %s\n", sub[i].name, sub[i].summary);
    return f == stdout ? 0 : 2;
}
