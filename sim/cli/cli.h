/* cli.h: one function per subcommand of the `servesim` program; each lives
 * in its own file in sim/cli/ and is listed once in main.c's table. */
#ifndef SERVESIM_CLI_H
#define SERVESIM_CLI_H

#include <stdbool.h>
#include <stdio.h>

typedef struct CliCommand {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} CliCommand;

int cmd_version(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_trace(int argc, char **argv);      /* dispatches trace stats|fit|gen */
int cmd_trace_stats(int argc, char **argv);
int cmd_trace_fit(int argc, char **argv);
int cmd_trace_gen(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_predict(int argc, char **argv);    /* dispatches predict train|eval */
int cmd_plan(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_cost(int argc, char **argv);       /* step times | check | fit */

/* Exit statuses of every command (README "Using it", docs/CI_GATE.md). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1,     /* failed at run time (for compare: a regression) */
    CLI_EXIT_USAGE = 2,       /* a bad command line: unknown option, bad value, ... */
};

/* A command reads its command line between cli_args_begin() and
 * cli_args_end(): a failure it returns meanwhile (cli_fail's status 1) is a
 * usage error, which main() reports as CLI_EXIT_USAGE (cli_exit_status).
 * cli_run_args_default() begins and a passing cli_run_args_check() ends, so
 * run and replay need neither call. */
void cli_args_begin(void);
void cli_args_end(void);
/* main(): a command's return value -> the process's exit status. */
int cli_exit_status(int command_status);
/* main(), after the command: flush and close stdout.  A failed write (now or
 * earlier) is "servesim: stdout: <strerror>" and status 1 when the command
 * had succeeded; otherwise `status` unchanged. */
int cli_close_stdout(int status);

/* Print "servesim: <message>" to stderr and return the exit status 1. */
int cli_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Print ss_error_get() as one line and return 1. */
int cli_fail_lib(void);
/* Does argv contain -h or --help? */
bool cli_wants_help(int argc, char **argv);

#endif
