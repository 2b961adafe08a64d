/* calibrate.c: `servesim calibrate DIR... --out FILE`: fit the profile cost
 * model (sim/cost/profile.h) on the iterations replays measured. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "common.h"
#include "out_file.h"
#include "cost/profile.h"
#include "steps_csv.h"

static void calibrate_usage(FILE *f)
{
    fprintf(f,
        "usage: servesim calibrate DIR... --out FILE [--min-rows N] [--quiet]\n"
        "\n"
        "Fits the profile step-time model on the iterations in each DIR/steps.csv (written by\n"
        "`servesim replay`): per step kind (prefill, decode, mixed) and over all iterations, a\n"
        "linear formula in prefill tokens, prefill sequences, prefill query-key pairs, cached\n"
        "tokens prefill chunks read, decode sequences and decode context, by relative least\n"
        "squares (GSL) with coefficients >= 0.  Iterations whose padding the executor had to\n"
        "skip are left out.  A kind with fewer than --min-rows iterations (default 12) falls\n"
        "back to the 'all' fit.  Use the file with --cost profile:file=FILE; the convention is\n"
        "models/profiles/<gpu>-<model>.txt.\n");
}

/* "cpu backend, tiny on cpu-tiny" from DIR/summary.json, or "" */
static void describe_run(const char *dir, char *out, size_t cap)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/summary.json", dir);
    out[0] = '\0';
    json_t *s = json_load_file(path, 0, NULL);
    if (!s) return;
    json_t *man = json_object_get(s, "manifest"), *rep = json_object_get(s, "replay");
    const char *model = json_string_value(json_object_get(man, "model"));
    const char *gpu = json_string_value(json_object_get(man, "gpu"));
    const char *backend = json_string_value(json_object_get(rep, "backend"));
    snprintf(out, cap, "%s backend, %s on %s", backend ? backend : "?", model ? model : "?",
             gpu ? gpu : "?");
    json_decref(s);
}

static int fit_all(Profile *p, const StepRows *rows, int64_t min_rows, int64_t *used)
{
    double *x = ss_malloc(rows->n * PF_N * sizeof(*x)), *y = ss_malloc(rows->n * sizeof(*y));
    int r = 0;
    *used = 0;
    for (int k = PROFILE_N_KINDS - 1; k >= 0 && !r; k--) { /* "all" first */
        int64_t n = 0;
        for (size_t i = 0; i < rows->n; i++) {
            const StepRow *s = &rows->rows[i];
            if (s->measured_s <= 0 || s->padding_skipped > 0) continue;
            if (k != PROFILE_ALL && s->kind != (ProfileKind)k) continue;
            profile_features(&s->shape, x + n * PF_N);
            y[n++] = s->measured_s;
        }
        if (k == PROFILE_ALL) *used = n;
        if (k != PROFILE_ALL && n < min_rows) continue;
        if (profile_fit_kind(&p->fit[k], (ProfileKind)k, x, y, n) && k == PROFILE_ALL)
            r = ss_error_set(EINVAL, "calibrate: %lld usable iterations: too few to fit", (long long)n);
    }
    free(x);
    free(y);
    return r;
}

static void print_fits(FILE *f, const Profile *p)
{
    fprintf(f, "%-8s %7s %10s", "kind", "rows", "med.err");
    for (int i = 0; i < PF_N; i++) fprintf(f, " %14s", profile_feature_name((ProfileFeature)i));
    fputc('\n', f);
    for (int k = 0; k < PROFILE_N_KINDS; k++) {
        const ProfileFit *x = &p->fit[k];
        if (!x->present) {
            fprintf(f, "%-8s %7s (too few iterations: uses 'all')\n", profile_kind_name((ProfileKind)k), "-");
            continue;
        }
        fprintf(f, "%-8s %7lld %9.2f%%", profile_kind_name((ProfileKind)k), (long long)x->rows,
                100 * x->median_rel_err);
        for (int i = 0; i < PF_N; i++)
            if (profile_kind_uses((ProfileKind)k, (ProfileFeature)i)) fprintf(f, " %14.4e", x->coef[i]);
            else fprintf(f, " %14s", "");
        fputc('\n', f);
    }
}

int cmd_calibrate(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { calibrate_usage(stdout); return 0; }
    static const struct option long_opts[] = {
        { "out", required_argument, 0, 'o' }, { "min-rows", required_argument, 0, 'm' },
        { "quiet", no_argument, 0, 'q' }, { 0, 0, 0, 0 },
    };
    const char *out = NULL;
    int64_t min_rows = 12;
    bool quiet = false;
    int c;
    optind = 1;
    opterr = 0;
    cli_args_begin();
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'q') quiet = true;
        else if (c == 'm' && !ss_parse_i64(optarg, &min_rows) && min_rows >= 1) continue;
        else return cli_fail("calibrate: unknown, incomplete or bad option '%s' (see --help)", argv[optind - 1]);
    }
    if (!out) return cli_fail("calibrate: --out FILE is required");
    if (optind >= argc) return cli_fail("calibrate: give at least one replay directory");
    cli_args_end();
    StepRows rows = { 0 };
    Profile p;
    memset(&p, 0, sizeof(p));
    int status = 0;
    for (int i = optind; i < argc && !status; i++)
        if (steps_csv_load(&rows, argv[i])) status = cli_fail_lib();
    int64_t used = 0;
    if (!status && fit_all(&p, &rows, min_rows, &used)) status = cli_fail_lib();
    if (!status) {
        char what[256];
        describe_run(argv[optind], what, sizeof(what));
        snprintf(p.source, sizeof(p.source), "%s; %lld iterations from %d replay(s)",
                 what[0] ? what : "replay", (long long)used, argc - optind);
        /* Through a temporary file: a failed write leaves no profile under OUT. */
        OutFile *o = NULL;
        if (out_file_reserve(&o, out)) status = cli_fail_lib();
        else if (profile_save(&p, out_file_temp_path(o)) || out_file_commit(&o))
            status = cli_fail("%s: %s", out, ss_error_get());
        out_file_discard(&o);
    }
    if (!status && !quiet) {
        print_fits(stdout, &p);
        fprintf(stderr, "servesim: profile of %lld iterations written to %s (use --cost profile:file=%s)\n",
                (long long)used, out, out);
    }
    steps_rows_free(&rows);
    return status;
}
