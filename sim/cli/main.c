/* main.c: the `servesim` program: one table of subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "out_file.h"

static const CliCommand commands[] = {
    { "run", "simulate a trace or workload through a scheduler", cmd_run },
    { "trace", "trace stats | fit | gen", cmd_trace },
    { "predict", "length predictors: train | eval", cmd_predict },
    { "plan", "capacity planning: the smallest fleet meeting SLOs, cost per hour", cmd_plan },
    { "sweep", "options x seeds on threads (or MPI ranks) into one CSV", cmd_sweep },
    { "compare", "diff two result sets against tolerances (CI gate)", cmd_compare },
    { "replay", "run a trace's steps for real on the cpu/cuda kernels, measured", cmd_replay },
    { "validate", "a replay's measurements vs the simulator's predictions", cmd_validate },
    { "calibrate", "fit a profile cost model on replay measurements", cmd_calibrate },
    { "cost", "step times for shapes; check | fit the cost model against measured kernels", cmd_cost },
    { "list", "every registered plug-in with its options", cmd_list },
    { "version", "print the version", cmd_version },
};

static void usage(FILE *f)
{
    fprintf(f, "usage: servesim <command> [options]\n\n"
               "A trace-driven discrete-event simulator of LLM serving.\n\ncommands:\n");
    for (size_t i = 0; i < SS_ARRAY_LEN(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`servesim <command> --help` documents each command.\n");
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("servesim: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_fail_lib(void)
{
    const char *m = ss_error_get();
    return cli_fail("%s", *m ? m : "unknown error");
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return true;
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 2) { usage(stderr); return 2; }
    int status = -1;
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        status = 0;
    } else if (!strcmp(argv[1], "--version")) {
        status = cmd_version(1, argv + 1);
    }
    bool found = status >= 0;
    for (size_t i = 0; i < SS_ARRAY_LEN(commands) && !found; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            found = true;
            status = cli_exit_status(commands[i].run(argc - 1, argv + 1));
            /* A command that hands back a library error code (negative errno)
             * has failed, whatever its path forgot: exit 1, never a quiet 0
             * or a status the shell would read as a signal. */
            if (status < 0 || status > 125) status = 1;
        }
    if (!found) {
        fprintf(stderr, "servesim: unknown command '%s'\n\n", argv[1]);
        usage(stderr);
        return 2;
    }
    /* A failed command leaves none of the files it created (sim/out_file.h). */
    if (status == 0) out_file_keep_all();
    else out_file_abandon_all();
    /* Every command's output is only written once stdout is flushed: a full
     * disk or a closed pipe must fail the command, not lose its output. */
    return cli_close_stdout(status);
}
