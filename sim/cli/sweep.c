/* sweep.c: `servesim sweep SPEC.json --out FILE.csv`: the cartesian product
 * of options x seeds on threads, and across MPI ranks when launched by
 * mpirun (through libservesim_mpi.so, fleet/mpi_module.h, which builds with
 * -Dmpi=auto|enabled where OpenMPI is found): rank r runs runs r, r + K, ...,
 * rank 0 gathers the rows and writes them in spec order, so the CSV is
 * byte-identical whatever the thread and rank counts. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "out_file.h"
#include "fleet/mpi_module.h"
#include "fleet/sweep.h"

static void sweep_usage(FILE *f)
{
    fprintf(f,
        "usage: servesim sweep SPEC.json --out FILE.csv [--threads N] [--quiet]\n"
        "       mpirun -n K servesim sweep SPEC.json --out FILE.csv   (built with -Dmpi=enabled)\n"
        "\n"
        "Runs the cartesian product of the spec's options x seeds, with no per-request\n"
        "files, and writes one CSV row per run (its parameters, then its key metrics) in\n"
        "spec order: byte-identical whatever --threads and the number of ranks.\n"
        "\n"
        "spec (JSON; every axis takes a value or a list; docs/PLANNING.md):\n"
        "  {\"workload\": \"default\", \"requests\": 5000, \"slo\": {\"ttft\": 2, \"tpot\": 0.1},\n"
        "   \"sched\": [\"vllm\", \"sjf\"], \"rate\": [10, 20, 40], \"fleet\": \"2xh100-sxm\",\n"
        "   \"router\": \"least-work\", \"seeds\": 3}\n"
        "  axes: model gpu fleet router sched predict cost rate speedup seeds\n"
        "  \"trace\": FILE replays a trace instead (\"speedup\" scales it; \"rate\" is ignored)\n"
        "\n"
        "  --out FILE     the CSV ('-' for stdout)\n"
        "  --threads N    threads per process (default: cores, divided among local ranks)\n"
        "  --quiet        no timing line\n");
}

typedef struct SweepRun {
    const SweepSpec *spec;
    int64_t first, stride;   /* this rank's runs: first, first + stride, ... */
    char **rows;             /* [local index] */
} SweepRun;

static int run_one(void *ctx, int64_t k)
{
    SweepRun *s = ctx;
    return sweep_run_row(s->spec, s->first + k * s->stride, &s->rows[k]);
}

static int64_t local_count(int64_t n, int64_t first, int64_t stride)
{
    return first < n ? (n - first + stride - 1) / stride : 0;
}

/* FILE is written under a temporary name and renamed when complete. */
static int write_csv(const char *out, char **rows, int64_t n)
{
    OutFile *o = NULL;
    if (strcmp(out, "-") && out_file_open(&o, out)) return cli_fail_lib();
    FILE *f = o ? out_file_stream(o) : stdout;
    fputs(sweep_csv_header(), f);
    for (int64_t i = 0; i < n; i++) fputs(rows[i], f);
    if (!o) return fflush(f) ? cli_fail("stdout: write failed: %s", strerror(errno)) : 0;
    return out_file_commit(&o) ? cli_fail_lib() : 0;
}

/* Rank 0 receives every rank's rows (concatenated, in its local order) and
 * interleaves them back into spec order: rank r ran runs r, r + size, ...
 * all[] gets the n rows on rank 0.  Every rank returns the same status. */
static int gather_rows(const MpiTransport *mpi, const MpiWorld *world, char **mine,
                       int64_t n_mine, int64_t n, char **all)
{
    size_t len = 0;
    for (int64_t k = 0; k < n_mine; k++) len += strlen(mine[k]);
    char *buf = ss_malloc(len + 1), *p = buf, *recv;
    size_t *offsets;
    *p = '\0';
    for (int64_t k = 0; k < n_mine; k++) p = stpcpy(p, mine[k]);
    int err = mpi->gather_bytes(buf, len, &recv, &offsets);
    free(buf);
    if (err) return ss_error_set(err, "sweep: %s", mpi->last_error());
    if (world->rank == 0) {
        for (int r = 0; r < world->size; r++) {
            const char *q = recv + offsets[r];
            for (int64_t i = r; i < n; i += world->size) {
                const char *nl = strchr(q, '\n');
                SS_ASSERT(nl && (size_t)(nl - recv) < offsets[r + 1]);
                all[i] = strndup(q, (size_t)(nl - q + 1));
                q = nl + 1;
            }
        }
        free(recv), free(offsets);
    }
    return 0;
}

/* Under mpirun: load the transport and start MPI, or say why not. */
static int mpi_start(const MpiTransport **mpi, int *argc, char ***argv, MpiWorld *world)
{
    int err = mpi_module_load(mpi);
    if (!err && (err = (*mpi)->init(argc, argv, world)))
        ss_error_set(err, "sweep: %s", (*mpi)->last_error());
    return err;
}

typedef struct SweepArgs {
    const char *spec_path, *out;
    int threads;
    bool quiet;
} SweepArgs;

static int parse_sweep_args(int argc, char **argv, SweepArgs *a)
{
    static const struct option long_opts[] = {
        { "out", required_argument, 0, 'o' }, { "threads", required_argument, 0, 't' },
        { "quiet", no_argument, 0, 'q' }, { 0, 0, 0, 0 },
    };
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        int64_t v;
        if (c == 'o') a->out = optarg;
        else if (c == 'q') a->quiet = true;
        else if (c == 't') {
            if (ss_parse_i64(optarg, &v) || v < 1 || v > 4096) return cli_fail("--threads: '%s' is not in 1..4096", optarg);
            a->threads = (int)v;
        } else {
            return cli_fail("sweep: unknown or incomplete option '%s' (see servesim sweep --help)", argv[optind - 1]);
        }
    }
    if (argc - optind != 1) return cli_fail("sweep: give one spec file (see servesim sweep --help)");
    a->spec_path = argv[optind];
    if (!a->out) return cli_fail("sweep: --out FILE.csv is required ('-' for stdout)");
    return 0;
}

/* Every rank's failure becomes every rank's (so none waits in a gather the
 * others skip); then rank 0 collects the rows into all[] in spec order. */
static int collect_rows(const MpiTransport *mpi, const MpiWorld *world, const SweepRun *run,
                        int64_t n_mine, int64_t n, int failed, char ***all)
{
    *all = NULL;
    if (mpi->allreduce_max(&failed)) return cli_fail("sweep: %s", mpi->last_error());
    if (failed) return 1;
    if (!world->rank) *all = ss_calloc((size_t)n + 1, sizeof(char *));
    return gather_rows(mpi, world, run->rows, n_mine, n, *all) ? cli_fail_lib() : 0;
}

static int finish(const MpiTransport *mpi, int status)
{
    if (mpi && mpi->finalize()) return cli_fail("sweep: %s", mpi->last_error());
    return status;
}

int cmd_sweep(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { sweep_usage(stdout); return 0; }
    SweepArgs a = { .threads = 0 };
    cli_args_begin();
    int status = parse_sweep_args(argc, argv, &a);
    if (status) return status;
    cli_args_end();
    /* MPI only under mpirun, from a module loaded now: other runs never map libmpi. */
    const MpiTransport *mpi = NULL;
    MpiWorld world = { .rank = 0, .size = 1, .local_size = 1 };
    if (mpi_module_launched() && mpi_start(&mpi, &argc, &argv, &world)) return cli_fail_lib();
    int rank = world.rank, size = world.size;
    int threads = a.threads ? a.threads : SS_MAX(1, parallel_default_threads() / world.local_size);
    json_decref(json_object()); /* jansson seeds its hashes once: before threads start */
    SweepSpec spec;
    if (sweep_spec_load(&spec, a.spec_path)) /* every rank fails alike */
        return finish(mpi, cli_fail_lib());
    double wall0 = ss_wall_seconds();
    SweepRun run = { .spec = &spec, .first = rank, .stride = size };
    int64_t n_mine = local_count(spec.n_runs, rank, size);
    run.rows = ss_calloc((size_t)n_mine + 1, sizeof(char *));
    int r = parallel_for(n_mine, threads, run_one, &run);
    if (r) cli_fail_lib();
    int failed = r != 0;
    char **all = run.rows;
    if (mpi) failed = collect_rows(mpi, &world, &run, n_mine, spec.n_runs, failed, &all);
    status = failed;
    if (!failed && !rank) {
        status = write_csv(a.out, all, spec.n_runs);
        if (!a.quiet)
            fprintf(stderr, "servesim: sweep: %lld runs on %d rank%s x %d thread%s in %.3f s of wall time -> %s\n",
                    (long long)spec.n_runs, size, size == 1 ? "" : "s", threads, threads == 1 ? "" : "s",
                    ss_wall_seconds() - wall0, a.out);
    }
    for (int64_t k = 0; k < n_mine; k++) free(run.rows[k]);
    if (all != run.rows && all) {
        for (int64_t i = 0; i < spec.n_runs; i++) free(all[i]);
        free(all);
    }
    free(run.rows);
    sweep_spec_free(&spec);
    return finish(mpi, status);
}
