/* trace_gen.c: `servesim trace gen`: write a synthetic trace (BurstGPT schema,
 * or JSONL over a dataset with text) and a FILE.meta.json sidecar that
 * records the seed and parameters (a CSV trace has no room for them). */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "out_file.h"
#include "servesim_config.h"
#include "synth.h"
#include "synth_dataset.h"
#include "writer.h"

static const char usage[] =
    "usage: servesim trace gen [--workload NAME[:k=v,...] | --fit FIT.json | --rate R ...]\n"
    "                          (--requests N | --duration S) [--seed N] --out FILE[.gz]\n"
    "       servesim trace gen --from-dataset F.jsonl[.gz] [--split S] --rate R ... --out F.jsonl\n"
    "Writes a BurstGPT-schema trace (Timestamp,Model,Request tokens,Response tokens,\n"
    "Total tokens,Log Type), gzip when FILE ends in .gz or with --gzip, and FILE.meta.json\n"
    "with the seed and parameters.  Same options + same seed = same bytes.\n"
    "workload (default: the embedded BurstGPT-like one, traces/README-synth.md):\n"
    "  --workload default    Gamma(0.5) gaps at 2 req/s, Zipf(1.1) prompts, bimodal responses\n"
    "  --workload burstgpt-perf[:shape=,scale=,zipf=,max_tokens=,...]   BurstGPT's benchmark\n"
    "                        generator: Gamma(0.5, 2 s) gaps, Zipf(1.1) lengths < 1024 (servesim\n"
    "                        list workloads for every knob)\n"
    "  --fit FILE            parameters from `servesim trace fit --out FILE`\n"
    "  --arrival-dist D      with --fit: exponential|gamma|weibull (default: best AIC)\n"
    "  --length-dist D       with --fit: zipf|lognormal|lognormal2|empirical (default: best AIC)\n"
    "  --windows             with --fit: replay its per-window rates and shapes cyclically\n"
    "  --rate R              mean arrival rate, requests/s\n"
    "  --burstiness B        gap shape: Gamma shape (CV = 1/sqrt(B)); 1 = Poisson\n"
    "  --gaps D              gamma (default) | weibull | exponential\n"
    "  --diurnal             modulate the rate by BurstGPT's hour-of-day profile (11.7x)\n"
    "  --day-s S             seconds per diurnal day (default 86400)\n"
    "  --failure-share F     fraction of rows written as failed (Response tokens 0)\n"
    "length and output:\n"
    "  --requests N          number of rows\n"
    "  --duration S          stop at arrival time S seconds (with --requests: first reached)\n"
    "  --seed N              seed of every random stream (default 1)\n"
    "  --out FILE            output path ('-' = stdout, no sidecar)\n"
    "  --gzip                gzip whatever the name\n"
    "  --no-meta             no FILE.meta.json\n"
    "  --hashes              write JSONL with prefix block hashes (and session keys) instead of\n"
    "                        CSV, for a workload with sessions=true or system_prompt=N; reads\n"
    "                        back with no --map (jsonl's default keys)\n"
    "dataset mode (JSONL with text, e.g. ../shared/datasets/lmaas_apps.jsonl.gz):\n"
    "  --from-dataset F      draw requests (app, instruction, input, lengths) from F\n"
    "  --split S             train | valid | all (default all)\n";

enum { O_WORKLOAD = 1000, O_FIT, O_ADIST, O_LDIST, O_WINDOWS, O_RATE, O_BURST, O_GAPS, O_DIURNAL,
       O_DAY, O_FAIL, O_REQ, O_DUR, O_SEED, O_OUT, O_GZIP, O_NOMETA, O_DATASET, O_SPLIT, O_HASHES };

typedef struct GenArgs {
    const char *workload, *fit, *arrival_dist, *length_dist, *gaps, *out, *dataset, *split;
    bool windows, diurnal, gzip, no_meta, hashes;
    double rate, burstiness, day_s, failure_share, duration_s; /* < 0: not given */
    int64_t requests;
    uint64_t seed;
} GenArgs;

static int parse_num(const char *flag, const char *v, double *out, double min)
{
    if (ss_parse_double(v, out) || !(*out >= min))
        return cli_fail("%s: '%s' is not a number >= %g", flag, v, min);
    return 0;
}

static int parse_one(GenArgs *a, int c, const char *v)
{
    int64_t i;
    switch (c) {
    case O_WORKLOAD: { /* name, knobs and values: checked here (a usage error) */
        SynthParams p;
        if (synth_params_from_preset(&p, v) < 0) return cli_fail_lib();
        a->workload = v;
        return 0;
    }
    case O_FIT: a->fit = v; return 0;
    case O_ADIST: a->arrival_dist = v; return 0;
    case O_LDIST: a->length_dist = v; return 0;
    case O_WINDOWS: a->windows = true; return 0;
    case O_RATE: return parse_num("--rate", v, &a->rate, 1e-12);
    case O_BURST: return parse_num("--burstiness", v, &a->burstiness, 1e-6);
    case O_GAPS: a->gaps = v; return 0;
    case O_DIURNAL: a->diurnal = true; return 0;
    case O_DAY: return parse_num("--day-s", v, &a->day_s, 1e-6);
    case O_FAIL: return parse_num("--failure-share", v, &a->failure_share, 0);
    case O_DUR: return parse_num("--duration", v, &a->duration_s, 1e-12);
    case O_REQ:
        if (ss_parse_i64(v, &i) || i < 1) return cli_fail("--requests: '%s' is not >= 1", v);
        a->requests = i;
        return 0;
    case O_SEED:
        if (ss_parse_i64(v, &i) || i < 0) return cli_fail("--seed: '%s' is not >= 0", v);
        a->seed = (uint64_t)i;
        return 0;
    case O_OUT: a->out = v; return 0;
    case O_GZIP: a->gzip = true; return 0;
    case O_NOMETA: a->no_meta = true; return 0;
    case O_DATASET: a->dataset = v; return 0;
    case O_SPLIT: a->split = v; return 0;
    case O_HASHES: a->hashes = true; return 0;
    }
    return cli_fail("internal: option %d", c);
}

/* --hashes needs a workload with shared prefixes; --from-dataset takes none. */
static int check_hash_args(const GenArgs *a)
{
    SynthParams p;
    bool hashed = !a->fit && synth_params_from_preset(&p, a->workload ? a->workload : "default") == 0 &&
                  synth_turns_hashed(&p.turns);
    if (a->hashes && a->dataset) return cli_fail("--hashes and --from-dataset exclude each other");
    if (a->dataset && hashed)
        return cli_fail("--from-dataset draws whole requests: the workload's sessions= and "
                        "system_prompt= do not apply");
    if (a->hashes && !hashed)
        return cli_fail("--hashes: the workload shares no prefixes (give --workload NAME:sessions=true "
                        "or NAME:system_prompt=TOKENS)");
    return 0;
}

static int parse_args(int argc, char **argv, GenArgs *a)
{
    static const struct option longs[] = {
        { "workload", required_argument, 0, O_WORKLOAD }, { "fit", required_argument, 0, O_FIT },
        { "arrival-dist", required_argument, 0, O_ADIST },
        { "length-dist", required_argument, 0, O_LDIST }, { "windows", no_argument, 0, O_WINDOWS },
        { "rate", required_argument, 0, O_RATE }, { "burstiness", required_argument, 0, O_BURST },
        { "gaps", required_argument, 0, O_GAPS }, { "diurnal", no_argument, 0, O_DIURNAL },
        { "day-s", required_argument, 0, O_DAY }, { "failure-share", required_argument, 0, O_FAIL },
        { "requests", required_argument, 0, O_REQ }, { "duration", required_argument, 0, O_DUR },
        { "seed", required_argument, 0, O_SEED }, { "out", required_argument, 0, O_OUT },
        { "gzip", no_argument, 0, O_GZIP }, { "no-meta", no_argument, 0, O_NOMETA },
        { "from-dataset", required_argument, 0, O_DATASET },
        { "split", required_argument, 0, O_SPLIT }, { "hashes", no_argument, 0, O_HASHES },
        { 0, 0, 0, 0 },
    };
    int c, r;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (c == '?') return 2;
        if ((r = parse_one(a, c, optarg))) return r;
    }
    if (optind != argc) return cli_fail("unexpected argument '%s' (see --help)", argv[optind]);
    if (!a->out) return cli_fail("--out FILE is required");
    if (a->requests <= 0 && a->duration_s <= 0)
        return cli_fail("give --requests N or --duration S (a synthetic trace has no end)");
    if (a->fit && a->workload) return cli_fail("--fit and --workload exclude each other");
    if ((a->arrival_dist || a->length_dist || a->windows) && !a->fit)
        return cli_fail("--arrival-dist, --length-dist and --windows need --fit");
    if (a->gaps && strcmp(a->gaps, "gamma") && strcmp(a->gaps, "weibull") && strcmp(a->gaps, "exponential"))
        return cli_fail("--gaps: '%s' is not gamma, weibull or exponential", a->gaps);
    return check_hash_args(a);
}

static int build_params(const GenArgs *a, SynthParams *p)
{
    if (a->fit) {
        if (synth_params_from_fit(p, a->fit, a->arrival_dist, a->length_dist, a->windows) < 0)
            return cli_fail_lib();
    } else {
        const char *w = a->workload ? a->workload : "default";
        if (a->rate > 0 && synth_spec_names_key(w, "scale"))
            return cli_fail("--rate and the workload's scale= both set the rate; give one");
        if (a->burstiness > 0 && synth_spec_names_key(w, "shape"))
            return cli_fail("--burstiness and the workload's shape= both set the gap shape; give one");
        if (synth_params_from_preset(p, w) < 0) return cli_fail_lib();
    }
    if (a->rate > 0 && p->n_windows) return cli_fail("--rate: the fit's windows set the rates");
    if (a->rate > 0) p->rate = a->rate;
    if (a->burstiness > 0) p->shape = a->burstiness;
    if (a->gaps) {
        if (!strcmp(a->gaps, "gamma")) p->gap = SYNTH_GAP_GAMMA;
        else if (!strcmp(a->gaps, "weibull")) p->gap = SYNTH_GAP_WEIBULL;
        else if (!strcmp(a->gaps, "exponential")) p->gap = SYNTH_GAP_EXPONENTIAL;
        else return cli_fail("--gaps: '%s' is not gamma, weibull or exponential", a->gaps);
    }
    if (a->diurnal) p->diurnal = true;
    if (a->day_s > 0) p->day_s = a->day_s;
    if (a->failure_share >= 0) p->failure_share = a->failure_share;
    if (a->rate > 0 || a->burstiness > 0)
        snprintf(p->name, sizeof(p->name), "%s", a->fit ? "fit+params" : p->preset ? p->name : "params");
    p->requests = a->requests;
    p->duration_s = a->duration_s > 0 ? a->duration_s : 0;
    if (synth_params_validate(p) < 0) return cli_fail_lib();
    if (synth_turns_hashed(&p->turns) && !a->hashes && !a->dataset)
        fprintf(stderr, "trace gen: note: a BurstGPT CSV has no room for the workload's sessions and "
                "block hashes; --hashes writes JSONL with them\n");
    return 0;
}

static json_t *file_json(const char *path, const char *extra_key, json_t *extra)
{
    char sha[65];
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(path));
    json_object_set_new(o, "sha256", ss_sha256_file(path, sha) == 0 ? json_string(sha) : json_null());
    if (extra_key) json_object_set_new(o, extra_key, extra);
    return o;
}

static int write_meta(const GenArgs *a, const SynthParams *p, int argc, char **argv,
                      int64_t rows, double last_s)
{
    json_t *m = json_object(), *cmd = json_array(), *streams = json_array();
    json_object_set_new(m, "servesim_version", json_string(SERVESIM_VERSION));
    for (int i = 0; i < argc; i++) json_array_append_new(cmd, json_string(argv[i]));
    json_object_set_new(m, "command", cmd);
    json_object_set_new(m, "seed", json_integer((json_int_t)a->seed));
    json_object_set_new(m, "output", json_string(a->out));
    json_object_set_new(m, "format", json_string(a->dataset || a->hashes ? "jsonl" : "burstgpt"));
    json_object_set_new(m, "gzip", json_boolean(a->gzip || trace_writer_gz_name(a->out)));
    json_object_set_new(m, "rows", json_integer(rows));
    json_object_set_new(m, "last_arrival_s", json_real(last_s));
    json_object_set_new(m, "fit", a->fit ? file_json(a->fit, NULL, NULL) : json_null());
    json_object_set_new(m, "dataset", a->dataset ? file_json(a->dataset, "split",
                        json_string(a->split ? a->split : "all")) : json_null());
    static const char *const names[] = { "synth.arrivals", "synth.input", "synth.output",
                                         "synth.mix", "synth.failed", "synth.dataset",
                                         "synth.turns", "synth.think" };
    for (size_t i = 0; i < SS_ARRAY_LEN(names); i++) json_array_append_new(streams, json_string(names[i]));
    json_object_set_new(m, "rng", json_pack("{s:s, s:o}", "derivation",
        "GSL mt19937 per stream, seeded by ss_stream_seed(seed, name, 0): splitmix64 of seed, "
        "FNV-1a(name) and index", "streams", streams));
    json_object_set_new(m, "params", synth_params_to_json(p));
    char path[4096];
    snprintf(path, sizeof(path), "%s.meta.json", a->out);
    int err = out_file_dump_json(path, m, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(m);
    if (err) return cli_fail_lib();
    return 0;
}

static int generate_rows(const SynthParams *p, uint64_t seed, bool jsonl, TraceWriter *w,
                         int64_t *rows, double *last_s)
{
    SynthSource *s;
    TraceRow row;
    int err = synth_source_create(&s, p, seed);
    if (err < 0) return err;
    *rows = 0;
    while (synth_source_next(s, &row) == 1) {
        if ((err = jsonl ? trace_writer_row_jsonl(w, &row) : trace_writer_row(w, &row)) < 0) break;
        ++*rows;
        *last_s = row.arrival_s;
    }
    synth_source_destroy(&s);
    return err;
}

int cmd_trace_gen(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    GenArgs a = { .rate = -1, .burstiness = -1, .day_s = -1, .failure_share = -1,
                  .duration_s = -1, .seed = 1 };
    SynthParams p;
    SynthDataset *ds = NULL;
    TraceWriter *w = NULL;
    OutFile *tmp = NULL;
    int64_t rows = 0;
    double last_s = 0;
    cli_args_begin();
    int r = parse_args(argc, argv, &a);
    if (r) return r;
    cli_args_end();
    if ((r = build_params(&a, &p))) return r;
    bool gz = a.gzip || trace_writer_gz_name(a.out);
    int err = a.dataset ? synth_dataset_load(&ds, a.dataset, a.split) : 0;
    if (err < 0) goto fail;
    /* The trace is written under a temporary name, renamed when complete,
     * and the .meta.json after it: no partial trace is left under --out. */
    if (strcmp(a.out, "-") && (err = out_file_reserve(&tmp, a.out)) < 0) goto fail;
    const char *path = tmp ? out_file_temp_path(tmp) : a.out;
    err = ds || a.hashes ? trace_writer_open_lines(&w, path, gz) : trace_writer_open(&w, path, gz);
    if (err < 0) goto fail;
    err = ds ? synth_dataset_generate(ds, &p, a.seed, w, &rows, &last_s)
             : generate_rows(&p, a.seed, a.hashes, w, &rows, &last_s);
    int cerr = trace_writer_close(&w);
    if (err < 0 || (err = cerr) < 0) goto fail;
    if (tmp && (err = out_file_commit(&tmp)) < 0) goto fail;
    if (strcmp(a.out, "-") && !a.no_meta && (r = write_meta(&a, &p, argc, argv, rows, last_s)))
        goto out;
    fprintf(stderr, "trace gen: %" PRId64 " rows over %.1f s (workload %s, seed %" PRIu64 ") -> %s%s\n",
            rows, last_s, p.name, a.seed, a.out,
            strcmp(a.out, "-") && !a.no_meta ? " (+ .meta.json)" : "");
    goto out;
fail:
    /* The writer names the temporary file: say which --out it was for. */
    r = tmp ? cli_fail("%s: %s", a.out, ss_error_get()) : cli_fail_lib();
out:
    trace_writer_close(&w);
    out_file_discard(&tmp);
    synth_dataset_destroy(&ds);
    synth_params_clear(&p);
    return r;
}
