/* predict.c: `servesim predict`.  Placeholder until its issue lands: fails loudly. */
#include "cli.h"

int cmd_predict(int argc, char **argv)
{
    (void)argc; (void)argv;
    return cli_fail("'predict' is not built yet");
}
