/* cost.c: `servesim cost`: step times for shapes from a CSV, and the cost
 * model's subcommands `cost check` (cost_check.c) and `cost fit`.
 *
 *   servesim cost --model M --gpu G [--tp N] [--cost SPEC] --shapes FILE.csv [--breakdown]
 *
 * FILE.csv has a header with columns kind,batch,tokens,context (any order,
 * other columns refused): kind prefill = `batch` sequences each computing
 * `tokens` prompt tokens after `context` cached ones; decode = `batch`
 * sequences with `context` cached tokens, one new token each; mixed = one
 * prefill chunk of `tokens` after `context` plus `batch` - 1 decodes at
 * `context`.  Output: the input columns, step_ms, and with --breakdown one
 * _ms column per op group (op-level cost models only). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "out_file.h"
#include "common.h"
#include "cost/calibrated_fit.h"
#include "cost/cost.h"
#include "cost/opcost.h"

int cmd_cost_check(int argc, char **argv);

static void cost_usage(FILE *f)
{
    fprintf(f,
        "usage: servesim cost --model M --gpu G [--tp N] [--cost SPEC] --shapes FILE.csv [--breakdown]\n"
        "       servesim cost check [--tables DIR]\n"
        "       servesim cost fit [--tables DIR] [--gpus a100-80g,h100-sxm] [--bandwidth datasheet|measured]\n"
        "                         [--out FILE]\n"
        "\n"
        "Step times of the cost model for given shapes.  FILE.csv: a header naming the columns\n"
        "kind,batch,tokens,context, then one row per step:\n"
        "  prefill  `batch` sequences each computing `tokens` prompt tokens after `context` cached\n"
        "  decode   `batch` sequences each holding `context` cached tokens, one new token each\n"
        "  mixed    one prompt chunk of `tokens` after `context` cached, plus batch - 1 decodes at `context`\n"
        "Writes CSV to stdout: the input columns and step_ms; --breakdown adds gemm_ms,\n"
        "attention_ms, other_ops_ms, allreduce_ms, lm_head_ms, overhead_ms (op-level models:\n"
        "measured, roofline).  --cost defaults to auto: measured where the GPU has tables.\n"
        "\n"
        "`cost check` holds the cost models against every point of the measured tables\n"
        "(docs/COST_MODEL.md); `cost fit` fits the calibrated roofline's parameters, its memory\n"
        "terms on the datasheet's HBM bandwidth or (--bandwidth measured) on each GPU's measured\n"
        "stream_bandwidth (models/gpus/).\n");
}

typedef struct ShapeRow { char kind[16]; int64_t batch, tokens, context; } ShapeRow;

static int shape_of(const ShapeRow *r, StepShape *s, const char *path, int line)
{
    *s = (StepShape){ 0 };
    if (r->batch < 1) return ss_error_set(EINVAL, "%s:%d: batch: must be >= 1", path, line);
    if (r->context < 0) return ss_error_set(EINVAL, "%s:%d: context: must be >= 0", path, line);
    double chunk = (double)r->tokens, past = (double)r->context;
    if (!strcmp(r->kind, "prefill") || !strcmp(r->kind, "mixed")) {
        if (r->tokens < 1) return ss_error_set(EINVAL, "%s:%d: tokens: must be >= 1 for %s", path, line, r->kind);
        int64_t seqs = !strcmp(r->kind, "prefill") ? r->batch : 1;
        s->prefill_seqs = (int32_t)seqs;
        s->prefill_tokens = seqs * r->tokens;
        s->prefill_attn_pairs = (double)seqs * chunk * (past + (chunk + 1) / 2.0);
        s->prefill_past_tokens = seqs * r->context;
        if (!strcmp(r->kind, "mixed")) {
            s->decode_seqs = (int32_t)(r->batch - 1);
            s->decode_context = (r->batch - 1) * r->context;
        }
        return 0;
    }
    if (!strcmp(r->kind, "decode")) {
        if (r->tokens != 0 && r->tokens != 1)
            return ss_error_set(EINVAL, "%s:%d: tokens: a decode computes 1 token per sequence (give 0 or 1)", path, line);
        s->decode_seqs = (int32_t)r->batch;
        s->decode_context = r->batch * r->context;
        return 0;
    }
    return ss_error_set(EINVAL, "%s:%d: kind: '%s' is not prefill, decode or mixed", path, line, r->kind);
}

static char *field(char **p)
{
    char *s = *p, *c = strchr(s, ',');
    if (c) { *c = '\0'; *p = c + 1; } else *p = s + strlen(s);
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) s[--n] = '\0';
    while (*s == ' ') s++;
    return s;
}

static int run_shapes(const char *path, Backend *b, bool breakdown)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) return ss_error_set(errno, "%s: %s", path, strerror(errno));
    char buf[1024];
    int line = 0, col[4] = { -1, -1, -1, -1 }, ncols = 0, r = 0;
    static const char *const names[4] = { "kind", "batch", "tokens", "context" };
    if (!fgets(buf, sizeof(buf), f)) { r = ss_error_set(EINVAL, "%s:1: empty file (needs a header kind,batch,tokens,context)", path); goto done; }
    line = 1;
    for (char *p = buf; *p; ncols++) {
        char *name = field(&p);
        int k = 0;
        while (k < 4 && strcmp(names[k], name)) k++;
        if (k == 4) { r = ss_error_set(EINVAL, "%s:1: unknown column '%s' (kind,batch,tokens,context)", path, name); goto done; }
        if (col[k] >= 0) { r = ss_error_set(EINVAL, "%s:1: column '%s' given twice", path, name); goto done; }
        col[k] = ncols;
    }
    for (int k = 0; k < 4; k++)
        if (col[k] < 0) { r = ss_error_set(EINVAL, "%s:1: missing column '%s'", path, names[k]); goto done; }
    printf("kind,batch,tokens,context,step_ms");
    if (breakdown)
        for (int i = 0; i < OPG_COUNT; i++) printf(",%s_ms", op_group_names[i]);
    printf("\n");
    while (fgets(buf, sizeof(buf), f)) {
        line++;
        if (buf[0] == '\n' || buf[0] == '\r') continue;
        char *vals[8] = { 0 };
        int n = 0;
        for (char *p = buf; *p || n == 0; ) {
            char *v = field(&p);
            if (n >= ncols) { r = ss_error_set(EINVAL, "%s:%d: more fields than the header's %d", path, line, ncols); goto done; }
            vals[n++] = v;
            if (!*p) break;
        }
        if (n != ncols) { r = ss_error_set(EINVAL, "%s:%d: %d fields, the header has %d", path, line, n, ncols); goto done; }
        ShapeRow row = { 0 };
        snprintf(row.kind, sizeof(row.kind), "%s", vals[col[0]]);
        int64_t *nums[3] = { &row.batch, &row.tokens, &row.context };
        for (int k = 1; k < 4; k++)
            if (ss_parse_i64(vals[col[k]], nums[k - 1])) {
                r = ss_error_set(EINVAL, "%s:%d: %s: '%s' is not an integer", path, line, names[k], vals[col[k]]);
                goto done;
            }
        StepShape s;
        if ((r = shape_of(&row, &s, path, line))) goto done;
        double group_s[OPG_COUNT];
        double t = backend_step_time(b, &s);
        printf("%s,%lld,%lld,%lld,%.6f", row.kind, (long long)row.batch, (long long)row.tokens,
               (long long)row.context, t * 1e3);
        if (breakdown) {
            if (!b->ops->step_breakdown(b->priv, &s, group_s)) {
                r = ss_error_set(EINVAL, "cost: --breakdown: cost model '%s' is not op-level", b->spec);
                goto done;
            }
            for (int i = 0; i < OPG_COUNT; i++) printf(",%.6f", group_s[i] * 1e3);
        }
        printf("\n");
    }
    if (ferror(f)) r = ss_error_set(EIO, "%s: read error", path);
done:
    if (f != stdin) fclose(f);
    return r;
}

static int cost_fit_main(int argc, char **argv)
{
    const char *tables = NULL, *gpus = "a100-80g,h100-sxm", *out = NULL;
    bool measured_bw = false;
    static const struct option long_opts[] = {
        { "tables", required_argument, NULL, 't' }, { "gpus", required_argument, NULL, 'g' },
        { "out", required_argument, NULL, 'o' }, { "bandwidth", required_argument, NULL, 'b' },
        { "help", no_argument, NULL, 'h' }, { 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == 't') tables = optarg;
        else if (c == 'g') gpus = optarg;
        else if (c == 'o') out = optarg;
        else if (c == 'b' && (!strcmp(optarg, "datasheet") || !strcmp(optarg, "measured")))
            measured_bw = !strcmp(optarg, "measured");
        else if (c == 'b') { cli_fail("cost fit: --bandwidth: '%s': datasheet or measured", optarg); return 2; }
        else if (c == 'h') { cost_usage(stdout); return 0; }
        else { cli_fail("cost fit: unknown, incomplete or bad option '%s' (see --help)", argv[optind - 1]); return 2; }
    }
    if (optind < argc) { cli_fail("cost fit: unexpected argument '%s'", argv[optind]); return 2; }
    CalPoints pts = { 0 };
    MeasuredTables tabs[8];
    GpuSpec specs[8];
    int n = 0, r = 0;
    char list[256], comment[1024];
    snprintf(list, sizeof(list), "%s", gpus);
    int used = snprintf(comment, sizeof(comment), "# calibrated roofline parameters: servesim cost fit --gpus %s%s\n",
                        gpus, measured_bw ? " --bandwidth measured" : "");
    for (char *save = NULL, *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        if (n == 8) { r = ss_error_set(EINVAL, "cost fit: at most 8 GPUs"); break; }
        char path[1400];
        if (tables) snprintf(path, sizeof(path), "%s/%s.txt", tables, name);
        else measured_tables_path(name, path, sizeof(path));
        if ((r = gpu_spec_load(&specs[n], name)) || (r = measured_tables_load(&tabs[n], path))) break;
        if (tables) used += snprintf(comment + used, sizeof(comment) - (size_t)used, "# tables: %s\n", path);
        else used += snprintf(comment + used, sizeof(comment) - (size_t)used,
                              "# tables: models/profiles/measured/%s.txt\n", name);
        cal_points_add(&pts, &tabs[n], &specs[n], n);
        n++;
    }
    if (r) {
        for (int i = 0; i < n; i++) measured_tables_free(&tabs[i]);
        cal_points_free(&pts);
        return cli_fail_lib();
    }
    CalParams p;
    double loss[CALP_GROUPS];
    if ((r = cal_fit(&p, &pts, -1, measured_bw, loss))) {
        for (int i = 0; i < n; i++) measured_tables_free(&tabs[i]);
        cal_points_free(&pts);
        return cli_fail_lib();
    }
    static const char *const gname[CALP_GROUPS] = { "gemm", "prefill_attention", "decode_attention", "other_ops", "allreduce" };
    used += snprintf(comment + used, sizeof(comment) - (size_t)used,
                     "# mean |ln(predicted/measured)| per group after the fit:");
    for (int g = 0; g < CALP_GROUPS; g++)
        used += snprintf(comment + used, sizeof(comment) - (size_t)used, " %s %.4f", gname[g], loss[g]);
    snprintf(comment + used, sizeof(comment) - (size_t)used, "\n");
    /* --out through a temporary file: a failed fit or a full disk leaves no
     * half-written profile under the name a later run would load. */
    OutFile *of = NULL;
    FILE *f = stdout;
    if (out && !(r = out_file_open(&of, out))) f = out_file_stream(of);
    if (!r) {
        r = cal_params_write(&p, f, comment);
        if (of && r) out_file_discard(&of);
        else if (of) r = out_file_commit(&of);
    }
    for (int i = 0; i < n; i++) measured_tables_free(&tabs[i]);
    cal_points_free(&pts);
    return r ? cli_fail_lib() : 0;
}

int cmd_cost(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "check")) return cmd_cost_check(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "fit")) return cost_fit_main(argc - 1, argv + 1);
    const char *model = "llama-2-7b", *gpu = "h100-sxm", *spec = "auto", *shapes = NULL;
    int64_t tp = 1;
    bool breakdown = false;
    static const struct option long_opts[] = {
        { "model", required_argument, NULL, 'm' }, { "gpu", required_argument, NULL, 'g' },
        { "tp", required_argument, NULL, 't' }, { "cost", required_argument, NULL, 'c' },
        { "shapes", required_argument, NULL, 's' }, { "breakdown", no_argument, NULL, 'b' },
        { "help", no_argument, NULL, 'h' }, { 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'g': gpu = optarg; break;
        case 'c': spec = optarg; break;
        case 's': shapes = optarg; break;
        case 'b': breakdown = true; break;
        case 't':
            if (ss_parse_i64(optarg, &tp) || tp < 1 || tp > 64) {
                cli_fail("cost: --tp: '%s' is not an integer in 1..64", optarg);
                return 2;
            }
            break;
        case 'h': cost_usage(stdout); return 0;
        default: cli_fail("cost: unknown, incomplete or bad option '%s' (see --help)", argv[optind - 1]); return 2;
        }
    }
    if (optind < argc) { cli_fail("cost: unexpected argument '%s' (subcommands: check, fit)", argv[optind]); return 2; }
    if (!shapes) { cli_fail("cost: --shapes FILE.csv is required (see --help)"); return 2; }
    ModelSpec m;
    GpuSpec g;
    if (model_spec_load(&m, model) || gpu_spec_load(&g, gpu)) return cli_fail_lib();
    if (m.heads % tp || (m.kv_heads % tp && tp % m.kv_heads)) {
        cli_fail("cost: --tp %lld does not divide %s's %d heads / %d KV heads", (long long)tp, m.name, m.heads, m.kv_heads);
        return 2;
    }
    BackendEnv env = { &m, &g, (int32_t)tp, NULL };
    Backend *b = NULL;
    if (backend_create(&b, spec, &env)) return cli_fail_lib();
    double probe[OPG_COUNT];
    StepShape one = { .decode_seqs = 1, .decode_context = 1 };
    if (breakdown && (!b->ops->step_breakdown || !b->ops->step_breakdown(b->priv, &one, probe))) {
        backend_destroy(&b);
        cli_fail("cost: --breakdown: cost model '%s' is not op-level (measured or roofline are)", spec);
        return 2;
    }
    fprintf(stderr, "cost: %s on %d x %s, cost model %s\n", m.name, (int)tp, g.name, b->spec);
    int r = run_shapes(shapes, b, breakdown);
    backend_destroy(&b);
    return r ? cli_fail_lib() : 0;
}
