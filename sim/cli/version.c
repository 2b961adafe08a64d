#include <stdio.h>

#include <gsl/gsl_version.h>
#include <jansson.h>
#include <zlib.h>

#include "cli.h"
#include "servesim_config.h"

int cmd_version(int argc, char **argv)
{
    if (argc > 1) {
        cli_fail("version: takes no arguments (got '%s')", argv[1]);
        return CLI_EXIT_USAGE;
    }
    printf("servesim %s (gsl %s, zlib %s, jansson %s)\n", SERVESIM_VERSION, GSL_VERSION,
           ZLIB_VERSION, JANSSON_VERSION);
    return 0;
}
