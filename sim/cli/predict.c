/* predict.c: `servesim predict train|eval`.
 *
 *   servesim predict train --data F [--split train] --learner SPEC [--seed N] [--out M]
 *   servesim predict eval (--predictor-file M | --predict SPEC) --data F [--split valid]
 *                         [--train-split train] [--seed N] [--json]
 *
 * eval scores a predictor beside two references trained on --train-split of
 * the same file: the per-app median of output length (quantile:q=0.5) and
 * `linear` (least squares on input length; computed inline when the build
 * has no linear predictor).  Metrics per app and overall: MAE, RMSE, MAPE
 * (|error| / true length), and the share of requests within +-25 % and
 * +-50 % of their true length. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli.h"
#include "common.h"
#include "engine/rng.h"
#include "predict/predict.h"
#include "trace.h"

typedef struct PredictArgs {
    const char *data, *trace, *split, *train_split, *learner, *predictor_file, *predict, *out;
    int64_t seed;
    bool json;
} PredictArgs;

static int parse_args(int argc, char **argv, PredictArgs *a)
{
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--json")) { a->json = true; continue; }
        if (i + 1 >= argc) return cli_fail("predict: %s needs a value", k);
        const char *v = argv[++i];
        if (!strcmp(k, "--data")) a->data = v;
        else if (!strcmp(k, "--trace")) a->trace = v;
        else if (!strcmp(k, "--split")) a->split = v;
        else if (!strcmp(k, "--train-split")) a->train_split = v;
        else if (!strcmp(k, "--learner")) a->learner = v;
        else if (!strcmp(k, "--predictor-file")) a->predictor_file = v;
        else if (!strcmp(k, "--model"))
            /* --model is the served model in every other command */
            return cli_fail("predict: --model names the served model elsewhere; give what to train with "
                            "--learner KIND[:key=value] (train) and a trained file with --predictor-file FILE (eval)");
        else if (!strcmp(k, "--predict")) a->predict = v;
        else if (!strcmp(k, "--out")) a->out = v;
        else if (!strcmp(k, "--seed")) {
            if (ss_parse_i64(v, &a->seed) || a->seed < 0)
                return cli_fail("predict: --seed wants an integer >= 0, not '%s'", v);
        } else return cli_fail("predict: unknown option '%s' (see --help)", k);
    }
    if (!a->data == !a->trace) return cli_fail("predict: give one of --data FILE (lmaas JSONL) or --trace FILE");
    if (a->trace) a->data = a->trace;
    return 0;
}

/* An lmaas dataset (its own split field) or any trace (a seeded 80/20 split). */
static int load_split(Dataset *d, const PredictArgs *a, const char *split)
{
    dataset_init(d);
    if (a->trace) {
        TraceOpenOpts o;
        trace_open_opts_default(&o);
        if (dataset_load_trace(d, a->trace, &o, split, (uint64_t)a->seed)) return cli_fail_lib();
    } else if (dataset_load_jsonl(d, a->data, split)) {
        return cli_fail_lib();
    }
    if (!d->n) return cli_fail("%s: no rows in split '%s'", a->data, split);
    return 0;
}

static long file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) ? -1 : (long)st.st_size;
}

static int cmd_predict_train(int argc, char **argv)
{
    PredictArgs a = { .split = "train", .seed = 1 };
    cli_args_begin();
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    if (!a.learner) return cli_fail("predict train: --learner SPEC is required (e.g. forest:trees=100)");
    if (a.predictor_file) return cli_fail("predict train: --predictor-file is for eval; train writes --out FILE");
    cli_args_end();
    Dataset d;
    if ((rc = load_split(&d, &a, a.split))) return rc;
    gsl_rng *rng = ss_rng_stream((uint64_t)a.seed, "predictor", 0);
    PredictEnv env = { rng };
    Predictor *p = NULL;
    char out[512];
    if (predictor_create(&p, a.learner, &env)) { rc = cli_fail_lib(); goto done; }
    if (a.out) snprintf(out, sizeof(out), "%s", a.out);
    else snprintf(out, sizeof(out), "models/predictors/%s-seed%lld.txt", p->ops->name,
                  (long long)a.seed);
    double t0 = ss_wall_seconds();
    if (predictor_train(p, &d)) { rc = cli_fail_lib(); goto done; }
    double secs = ss_wall_seconds() - t0;
    if (predictor_save(p, out)) { rc = cli_fail_lib(); goto done; }
    fprintf(stderr, "trained %s on %zu rows (%s, split %s, seed %lld) in %.2f s; "
            "model %s (%.2f MiB)\n", a.learner, d.n, a.data, a.split, (long long)a.seed, secs,
            out, (double)file_bytes(out) / (1 << 20));
done:
    predictor_destroy(&p);
    gsl_rng_free(rng);
    dataset_free(&d);
    return rc;
}

/* Error sums for one (app, predictor) cell. */
typedef struct Score {
    double n, abs, sq, ape, w25, w50;
    double n_q, in_p10_p90, under_p90;  /* rows with quantiles; truth in [p10, p90]; <= p90 */
} Score;

static void score_add(Score *s, const PredictOutput *o, double truth)
{
    double pred = o->tokens, e = fabs(pred - truth), t = SS_MAX(truth, 1.0);
    if (o->has_quantiles) {
        s->n_q++;
        s->in_p10_p90 += truth >= o->p10 && truth <= o->p90;
        s->under_p90 += truth <= o->p90;
    }
    s->n++;
    s->abs += e;
    s->sq += e * e;
    s->ape += e / t;
    s->w25 += e <= 0.25 * t;
    s->w50 += e <= 0.5 * t;
}

static double score_mae(const Score *s)
{
    return s->n ? s->abs / s->n : NAN;
}

enum { COL_MODEL, COL_BASE, COL_LINEAR, N_COLS };

typedef struct EvalTable {
    const char **apps;      /* sorted, distinct; index n_apps is "overall" */
    int n_apps;
    Score (*cell)[N_COLS];  /* (n_apps + 1) x N_COLS */
    double lin_c0, lin_c1;  /* inline linear fallback */
} EvalTable;

static int cmp_cstr(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void table_init(EvalTable *t, const Dataset *d)
{
    t->apps = ss_malloc(d->n * sizeof(*t->apps));
    for (size_t i = 0; i < d->n; i++) t->apps[i] = d->rows[i].in.app ? d->rows[i].in.app : "";
    qsort(t->apps, d->n, sizeof(*t->apps), cmp_cstr);
    int n = 0;
    for (size_t i = 0; i < d->n; i++)
        if (!n || strcmp(t->apps[n - 1], t->apps[i])) t->apps[n++] = t->apps[i];
    t->n_apps = n;
    t->cell = ss_calloc((size_t)n + 1, sizeof(*t->cell));
}

static int table_app(const EvalTable *t, const char *app)
{
    const char **hit = bsearch(&app, t->apps, (size_t)t->n_apps, sizeof(*t->apps), cmp_cstr);
    SS_ASSERT(hit);
    return (int)(hit - t->apps);
}

/* Least squares of output on input length: the fallback `linear`. */
static void fit_inline_linear(EvalTable *t, const Dataset *train)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0, n = (double)train->n;
    for (size_t i = 0; i < train->n; i++) {
        double x = train->rows[i].in.input_tokens, y = train->rows[i].output_tokens;
        sx += x; sy += y; sxx += x * x; sxy += x * y;
    }
    double var = sxx - sx * sx / n;
    t->lin_c1 = var > 0 ? (sxy - sx * sy / n) / var : 0;
    t->lin_c0 = (sy - t->lin_c1 * sx) / n;
}

/* Create a predictor and train it on `train` unless it loads a model. */
static int make_trained(Predictor **p, const char *spec, const PredictEnv *env,
                        const Dataset *train)
{
    if (predictor_create(p, spec, env)) return -1;
    if ((*p)->ops->train && !strstr(spec, "file=") && predictor_train(*p, train)) {
        predictor_destroy(p);
        return -1;
    }
    return 0;
}

static int score_column(EvalTable *t, int col, Predictor *p, const Dataset *d)
{
    for (size_t i = 0; i < d->n; i++) {
        const PredictSample *s = &d->rows[i];
        PredictOutput o;
        if (p) {
            if (predictor_predict(p, &s->in, &o)) return -1;
        } else {
            o.tokens = SS_MAX(1.0, t->lin_c0 + t->lin_c1 * s->in.input_tokens);
            o.has_quantiles = false;
        }
        int app = table_app(t, s->in.app ? s->in.app : "");
        score_add(&t->cell[app][col], &o, s->output_tokens);
        score_add(&t->cell[t->n_apps][col], &o, s->output_tokens);
    }
    return 0;
}

static json_t *score_json(const Score *s)
{
    json_t *o = json_pack("{s:i, s:f, s:f, s:f, s:f, s:f}", "n", (json_int_t)s->n,
                          "mae", score_mae(s), "rmse", sqrt(s->sq / s->n), "mape", s->ape / s->n,
                          "within_25pct", s->w25 / s->n, "within_50pct", s->w50 / s->n);
    if (s->n_q) {  /* interval calibration: ideally 0.8 and 0.9 */
        json_object_set_new(o, "share_in_p10_p90", json_real(s->in_p10_p90 / s->n_q));
        json_object_set_new(o, "share_below_p90", json_real(s->under_p90 / s->n_q));
    }
    return o;
}

static json_t *row_json(const Score *row)
{
    double base = score_mae(&row[COL_BASE]), lin = score_mae(&row[COL_LINEAR]);
    return json_pack("{s:o, s:o, s:o, s:f, s:f}", "model", score_json(&row[COL_MODEL]),
                     "baseline_app_median", score_json(&row[COL_BASE]),
                     "linear", score_json(&row[COL_LINEAR]),
                     "mae_ratio_to_baseline", score_mae(&row[COL_MODEL]) / base,
                     "mae_ratio_to_linear", score_mae(&row[COL_MODEL]) / lin);
}

static void print_json(const EvalTable *t, const char *spec, const PredictArgs *a)
{
    json_t *apps = json_object();
    for (int i = 0; i < t->n_apps; i++) json_object_set_new(apps, t->apps[i], row_json(t->cell[i]));
    json_t *root = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "predictor", spec, "data", a->data,
                             "split", a->split, "train_split", a->train_split,
                             "overall", row_json(t->cell[t->n_apps]), "apps", apps);
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    fputc('\n', stdout);
    json_decref(root);
}

static void print_row(const char *name, const Score *row)
{
    const Score *m = &row[COL_MODEL];
    double base = score_mae(&row[COL_BASE]), lin = score_mae(&row[COL_LINEAR]);
    printf("%-18s %6.0f %8.2f %8.2f %7.1f %6.1f %6.1f | %8.2f %6.3f | %8.2f %6.3f\n", name, m->n,
           score_mae(m), sqrt(m->sq / m->n), 100 * m->ape / m->n, 100 * m->w25 / m->n,
           100 * m->w50 / m->n, base, score_mae(m) / base, lin, score_mae(m) / lin);
}

static void print_table(const EvalTable *t, const char *spec, const PredictArgs *a)
{
    printf("predictor %s on %s (split %s; references trained on split %s)\n", spec, a->data,
           a->split, a->train_split);
    printf("%-18s %6s %8s %8s %7s %6s %6s | %8s %6s | %8s %6s\n", "app", "n", "MAE", "RMSE",
           "MAPE%", "+-25%", "+-50%", "base MAE", "ratio", "lin MAE", "ratio");
    for (int i = 0; i < t->n_apps; i++) print_row(t->apps[i], t->cell[i]);
    print_row("overall", t->cell[t->n_apps]);
    const Score *m = &t->cell[t->n_apps][COL_MODEL];
    if (m->n_q)
        printf("interval: %.1f %% of true lengths in [p10, p90] (ideal 80 %%), %.1f %% <= p90 "
               "(ideal 90 %%)\n", 100 * m->in_p10_p90 / m->n_q, 100 * m->under_p90 / m->n_q);
    printf("(tokens; base = per-app median of the training outputs; ratio = MAE / reference "
           "MAE)\n");
}

static int cmd_predict_eval(int argc, char **argv)
{
    PredictArgs a = { .split = "valid", .train_split = "train", .seed = 1 };
    cli_args_begin();
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    if (a.learner) return cli_fail("predict eval: --learner is for train; eval takes --predictor-file FILE or --predict SPEC");
    if (!!a.predictor_file == !!a.predict) return cli_fail("predict eval: give one of --predictor-file FILE or "
                                                  "--predict SPEC");
    cli_args_end();
    char spec[256], kind[64];
    if (a.predictor_file) {
        if (predictor_model_kind(a.predictor_file, kind, sizeof(kind))) return cli_fail_lib();
        snprintf(spec, sizeof(spec), "%s:file=%s", kind, a.predictor_file);
    } else snprintf(spec, sizeof(spec), "%s", a.predict);
    Dataset train, eval;
    if ((rc = load_split(&eval, &a, a.split))) return rc;
    if ((rc = load_split(&train, &a, a.train_split))) { dataset_free(&eval); return rc; }
    gsl_rng *rng = ss_rng_stream((uint64_t)a.seed, "predictor", 0);
    PredictEnv env = { rng };
    Predictor *model = NULL, *base = NULL, *lin = NULL;
    EvalTable t = { 0 };
    table_init(&t, &eval);
    fit_inline_linear(&t, &train);
    if (make_trained(&model, spec, &env, &train) ||
        make_trained(&base, "quantile:q=0.5,mode=output", &env, &train) ||
        (predictor_find("linear") && make_trained(&lin, "linear", &env, &train)) ||
        score_column(&t, COL_MODEL, model, &eval) || score_column(&t, COL_BASE, base, &eval) ||
        score_column(&t, COL_LINEAR, lin, &eval)) {
        rc = cli_fail_lib();
        goto done;
    }
    if (a.json) print_json(&t, spec, &a);
    else print_table(&t, spec, &a);
done:
    predictor_destroy(&model);
    predictor_destroy(&base);
    predictor_destroy(&lin);
    free(t.apps);
    free(t.cell);
    gsl_rng_free(rng);
    dataset_free(&train);
    dataset_free(&eval);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: servesim predict train --data F [--split train] --learner SPEC [--seed N] "
        "[--out M]\n"
        "       servesim predict eval (--predictor-file M | --predict SPEC) --data F [--split valid]\n"
        "                             [--train-split train] [--seed N] [--json]\n\n"
        "train: fit a predictor (e.g. forest:trees=100,depth=16, gbt:loss=absolute,\n"
        "       quantile:q=0.5) on one split of an lmaas JSONL(.gz) dataset and save it\n"
        "       (default models/predictors/<name>-seed<N>.txt).\n"
        "eval:  MAE, RMSE, MAPE, share within +-25 %% and +-50 %%, per app and overall,\n"
        "       beside the per-app-median baseline and `linear` (both fitted on\n"
        "       --train-split).  --predict SPEC trains SPEC on --train-split first unless\n"
        "       it names file=FILE.  See `servesim list predictors` for options.\n"
        "--trace F instead of --data F: any trace the readers know (BurstGPT, Azure,\n"
        "       CSV/JSONL); train/valid is a deterministic 80/20 split of its rows by --seed.\n");
}

int cmd_predict(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "train") && !cli_wants_help(argc - 1, argv + 1))
        return cmd_predict_train(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "eval") && !cli_wants_help(argc - 1, argv + 1))
        return cmd_predict_eval(argc - 1, argv + 1);
    bool help = cli_wants_help(argc, argv);
    usage(help ? stdout : stderr);
    return help ? 0 : 2;
}
