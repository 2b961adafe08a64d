/* run.c: `servesim run`.  Placeholder until its issue lands: fails loudly. */
#include "cli.h"

int cmd_run(int argc, char **argv)
{
    (void)argc; (void)argv;
    return cli_fail("'run' is not built yet");
}
