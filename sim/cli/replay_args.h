/* replay_args.h: `servesim replay`'s command line, shared with `servesim
 * validate`, which re-parses the command a replay recorded in its manifest
 * to simulate the very same trace and options. */
#ifndef SERVESIM_REPLAY_ARGS_H
#define SERVESIM_REPLAY_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "cli_common.h"
#include "engine/engine.h"

typedef struct ReplayArgs {
    CliRunArgs run;           /* everything `servesim run` takes */
    const char *backend;      /* cpu | cuda */
    const char *clock;        /* virtual | wall */
    const char *timer;        /* monotonic | thread (cpu time of the replay thread) */
} ReplayArgs;

/* argv[0] is "replay".  need_out: --out is required (replay) or ignored
 * (validate).  0 or an exit status (message printed). */
int replay_args_parse(int argc, char **argv, ReplayArgs *a, bool need_out);
/* The trace file or the embedded workload.  0 or negative errno. */
int replay_args_open_source(const ReplayArgs *a, CliSource *src);

#endif
