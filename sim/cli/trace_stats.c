/* trace_stats.c: `servesim trace stats`.  Placeholder until its issue lands: fails loudly. */
#include "cli.h"

int cmd_trace_stats(int argc, char **argv)
{
    (void)argc; (void)argv;
    return cli_fail("'trace stats' is not built yet");
}
