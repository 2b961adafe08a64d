/* trace_gen.c: `servesim trace gen`.  Placeholder until its issue lands: fails loudly. */
#include "cli.h"

int cmd_trace_gen(int argc, char **argv)
{
    (void)argc; (void)argv;
    return cli_fail("'trace gen' is not built yet");
}
