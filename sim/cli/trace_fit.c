/* trace_fit.c: `servesim trace fit`.  Placeholder until its issue lands: fails loudly. */
#include "cli.h"

int cmd_trace_fit(int argc, char **argv)
{
    (void)argc; (void)argv;
    return cli_fail("'trace fit' is not built yet");
}
