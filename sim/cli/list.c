/* list.c: `servesim list`: every registered plug-in and its options. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cost/cost.h"
#include "fleet/fleet.h"
#include "format.h"
#include "predict/predict.h"
#include "sched/sched.h"

int cmd_list(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: servesim list [schedulers|predictors|routers|backends|formats]\n"
               "Prints every registered plug-in with its options (name type default help).\n");
        return 0;
    }
    if (argc > 2) {
        cli_fail("list: one kind at most (see servesim list --help)");
        return CLI_EXIT_USAGE;
    }
    const char *only = argc >= 2 ? argv[1] : NULL;
    static const char *const kinds[] = { "schedulers", "predictors", "routers", "backends", "formats" };
    bool known = !only;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && !known; i++) known = !strcmp(only, kinds[i]);
    if (!known) {
        cli_fail("list: unknown kind '%s' (schedulers, predictors, routers, backends, formats)", only);
        return CLI_EXIT_USAGE;
    }
    if (!only || !strcmp(only, "schedulers")) {
        printf("schedulers (--sched NAME:key=value,...)\n");
        for (const SchedOps *const *s = sched_registry; *s; s++) {
            printf("  %-18s %s\n", (*s)->name, (*s)->help);
            opts_print(stdout, (*s)->opts, "      ");
        }
    }
    if (!only || !strcmp(only, "predictors")) {
        printf("predictors (--predict NAME:key=value,...)\n");
        for (const PredictorOps *const *p = predictor_registry; *p; p++) {
            printf("  %-18s %s\n", (*p)->name, (*p)->help);
            opts_print(stdout, (*p)->opts, "      ");
        }
    }
    if (!only || !strcmp(only, "routers")) {
        printf("routers (--router NAME:key=value,...)\n");
        for (const RouterOps *const *r = router_registry; *r; r++) {
            printf("  %-18s %s\n", (*r)->name, (*r)->help);
            opts_print(stdout, (*r)->opts, "      ");
        }
    }
    if (!only || !strcmp(only, "backends")) {
        printf("cost models (--cost NAME:key=value,...)\n");
        printf("  %-18s %s\n", "auto", "the default: measured where the GPU has tables (a100-80g, h100-sxm), else roofline");
        for (const BackendOps *const *b = cost_backend_registry; *b; b++) {
            printf("  %-18s %s\n", (*b)->name, (*b)->help);
            opts_print(stdout, (*b)->opts, "      ");
        }
    }
    if (!only || !strcmp(only, "formats")) {
        printf("trace formats (--format NAME; auto-detected from the header by default)\n");
        for (const TraceFormat *const *f = trace_format_registry; *f; f++)
            printf("  %-18s %s\n", (*f)->name, (*f)->help);
    }
    return 0;
}
