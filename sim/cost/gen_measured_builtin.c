/* gen_measured_builtin.c: a build-time tool.  Parses measured table files
 * with optable.c's loader (every row, as measured_tables_load reads them)
 * and writes them as C data beside each file's bytes (measured_builtin.h).
 *
 *     gen_measured_builtin OUT.c TABLE.txt...
 *
 * Doubles are written as hexadecimal floats (%a): the same bits back. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cost/cost.h"
#include "cost/measured_builtin.h"
#include "cost/optable.h"

/* optable.c names files by path here (every argument has a '/'), so the
 * models directory is never asked for; spec.c, which answers it in the
 * simulator, pulls in the whole spec loader. */
const char *cost_models_dir(char *buf, size_t cap)
{
    snprintf(buf, cap, ".");
    return buf;
}

/* optable.c looks loads up here first; the tool parses every file itself. */
const MeasuredBuiltin measured_builtins[] = { { NULL, NULL, 0, NULL } };
const int32_t measured_builtins_count = 0;

static void put_doubles(FILE *o, const char *name, const double *v, size_t n)
{
    fprintf(o, "static double %s[] = {", name);
    for (size_t i = 0; i < n; i++) {
        if (i % 4 == 0) fputs("\n   ", o);
        if (isnan(v[i])) fputs(" NAN,", o);
        else if (isinf(v[i])) fputs(v[i] > 0 ? " INFINITY," : " -INFINITY,", o);
        else fprintf(o, " %a,", v[i]);
    }
    fputs(n ? "\n};\n" : " 0 };\n", o);
}

/* An OpGrid's arrays as statics named <p>_x, <p>_y, ...; its initializer in init (cap bytes). */
static void put_grid(FILE *o, const char *p, const OpGrid *g, char *init, size_t cap)
{
    char name[128];
    size_t cells = (size_t)g->nx * (size_t)g->ny;
    snprintf(name, sizeof(name), "%s_x", p);
    put_doubles(o, name, g->x, (size_t)g->nx);
    snprintf(name, sizeof(name), "%s_y", p);
    put_doubles(o, name, g->y, (size_t)g->ny);
    snprintf(name, sizeof(name), "%s_v", p);
    put_doubles(o, name, g->v, cells);
    if (g->filled) {
        fprintf(o, "static uint8_t %s_f[] = {", p);
        for (size_t i = 0; i < cells; i++) fprintf(o, "%s%u,", i % 32 ? "" : "\n   ", g->filled[i]);
        fputs("\n};\n", o);
    }
    snprintf(init, cap, "{ %" PRId32 ", %" PRId32 ", %s_x, %s_y, %s_v, %s%s, %" PRId32 " }", g->nx, g->ny, p, p, p,
             g->filled ? p : "NULL", g->filled ? "_f" : "", g->n_filled);
}

static void put_attn(FILE *o, const char *p, const AttnTable *a, int32_t n)
{
    char init[448], name[64];
    char *inits = ss_calloc((size_t)n + 1, 512);
    for (int32_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s%" PRId32, p, i);
        put_grid(o, name, &a[i].grid, init, sizeof(init));
        snprintf(inits + (size_t)i * 512, 512, "{ %" PRId32 ", %" PRId32 ", %s }", a[i].heads,
                 a[i].kv_heads, init);
    }
    fprintf(o, "static AttnTable %s[] = {\n", p);
    for (int32_t i = 0; i < n; i++) fprintf(o, "    %s,\n", inits + (size_t)i * 512);
    fputs(n ? "};\n" : "    { 0 } };\n", o);
    free(inits);
}

static void put_text(FILE *o, const char *name, const char *text, size_t len)
{
    fprintf(o, "static const char %s[] =", name);
    for (size_t i = 0; i < len; i++) {
        if (i % 64 == 0) fputs("\n    \"", o);
        unsigned char ch = (unsigned char)text[i];
        if (ch == '"' || ch == '\\') fprintf(o, "\\%c", ch);
        else if (ch >= 32 && ch < 127 && ch != '?') fputc(ch, o);  /* '?': no trigraphs */
        else fprintf(o, "\\%03o", ch);
        if (i % 64 == 63 || i + 1 == len) fputc('"', o);
    }
    fputs(len ? ";\n" : " \"\";\n", o);
}

static int put_file(FILE *o, int idx, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fprintf(stderr, "gen_measured_builtin: %s: %s\n", path, strerror(errno)), -1;
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        SS_GROW(text, cap, len + 65536);
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (!got) break;
    }
    fclose(f);
    MeasuredTables t;
    if (measured_tables_load(&t, path)) {
        fprintf(stderr, "gen_measured_builtin: %s\n", ss_error_get());
        free(text);
        return -1;
    }
    char p[64], name[128], init[512];
    snprintf(p, sizeof(p), "t%d", idx);
    snprintf(name, sizeof(name), "%s_text", p);
    put_text(o, name, text, len);
    snprintf(name, sizeof(name), "%s_gm", p);
    put_doubles(o, name, t.gemm_m, (size_t)t.gm);
    snprintf(name, sizeof(name), "%s_gn", p);
    put_doubles(o, name, t.gemm_n, (size_t)t.gn);
    snprintf(name, sizeof(name), "%s_gk", p);
    put_doubles(o, name, t.gemm_k, (size_t)t.gk);
    snprintf(name, sizeof(name), "%s_gs", p);
    put_doubles(o, name, t.gemm_s, (size_t)t.gm * (size_t)t.gn * (size_t)t.gk);
    snprintf(name, sizeof(name), "%s_pre", p);
    put_attn(o, name, t.prefill, t.n_prefill);
    snprintf(name, sizeof(name), "%s_dec", p);
    put_attn(o, name, t.decode, t.n_decode);
    for (int32_t i = 0; i < t.n_ops; i++)   /* every column's arrays, then the tables */
        for (int c = 0; c < OPS_COLUMNS; c++) {
            snprintf(name, sizeof(name), "%s_ops%" PRId32 "_%d", p, i, c);
            put_grid(o, name, &t.ops[i].col[c], init, sizeof(init));
        }
    fprintf(o, "static OpsTable %s_opsv[] = {\n", p);
    for (int32_t i = 0; i < t.n_ops; i++) {
        fprintf(o, "    { \"%s\", %" PRId32 ", {", t.ops[i].model, t.ops[i].tp);
        for (int c = 0; c < OPS_COLUMNS; c++) {
            snprintf(name, sizeof(name), "%s_ops%" PRId32 "_%d", p, i, c);
            const OpGrid *g = &t.ops[i].col[c];
            fprintf(o, " { %" PRId32 ", %" PRId32 ", %s_x, %s_y, %s_v, %s%s, %" PRId32 " },", g->nx, g->ny, name,
                    name, name, g->filled ? name : "NULL", g->filled ? "_f" : "", g->n_filled);
        }
        fputs(" } },\n", o);
    }
    fputs("    { .tp = 0 } };\n", o);
    fprintf(o, "static int32_t %s_argpus[] = {", p);
    for (int32_t i = 0; i < t.n_allreduce; i++) fprintf(o, " %" PRId32 ",", t.allreduce_gpus[i]);
    fputs(" 0 };\n", o);
    char *ar_inits = ss_calloc((size_t)t.n_allreduce + 1, sizeof(init));
    for (int32_t i = 0; i < t.n_allreduce; i++) {
        snprintf(name, sizeof(name), "%s_ar%" PRId32, p, i);
        put_grid(o, name, &t.allreduce[i], ar_inits + (size_t)i * sizeof(init), sizeof(init));
    }
    fprintf(o, "static OpGrid %s_ar[] = {\n", p);
    for (int32_t i = 0; i < t.n_allreduce; i++) fprintf(o, "    %s,\n", ar_inits + (size_t)i * sizeof(init));
    fputs("    { 0 } };\n", o);
    free(ar_inits);
    fprintf(o, "static const MeasuredTables %s_tables = {\n", p);
    fprintf(o, "    .gm = %" PRId32 ", .gn = %" PRId32 ", .gk = %" PRId32 ",\n", t.gm, t.gn, t.gk);
    fprintf(o, "    .gemm_m = %s_gm, .gemm_n = %s_gn, .gemm_k = %s_gk, .gemm_s = %s_gs,\n", p, p, p, p);
    fprintf(o, "    .n_prefill = %" PRId32 ", .n_decode = %" PRId32 ", .n_ops = %" PRId32 ",\n", t.n_prefill,
            t.n_decode, t.n_ops);
    fprintf(o, "    .prefill = %s_pre, .decode = %s_dec, .ops = %s_opsv,\n", p, p, p);
    fprintf(o, "    .n_allreduce = %" PRId32 ", .allreduce_gpus = %s_argpus, .allreduce = %s_ar,\n};\n\n",
            t.n_allreduce, p, p);
    measured_tables_free(&t);
    free(text);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_measured_builtin OUT.c TABLE.txt...\n");
        return 2;
    }
    FILE *o = fopen(argv[1], "w");
    if (!o) return fprintf(stderr, "gen_measured_builtin: %s: %s\n", argv[1], strerror(errno)), 1;
    fputs("/* Generated by sim/cost/gen_measured_builtin.c at build time: do not edit. */\n"
          "#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n\n#include \"cost/measured_builtin.h\"\n\n"
          "#pragma GCC diagnostic ignored \"-Woverlength-strings\"\n"
          "#pragma GCC diagnostic ignored \"-Wunused-variable\"\n\n", o);
    for (int i = 2; i < argc; i++)
        if (put_file(o, i - 2, argv[i])) return fclose(o), remove(argv[1]), 1;
    fputs("const MeasuredBuiltin measured_builtins[] = {\n", o);
    for (int i = 2; i < argc; i++) {
        const char *base = strrchr(argv[i], '/');
        fprintf(o, "    { \"%s\", t%d_text, sizeof(t%d_text) - 1, &t%d_tables },\n", base ? base + 1 : argv[i], i - 2,
                i - 2, i - 2);
    }
    fputs("    { NULL, NULL, 0, NULL } };\n", o);
    fprintf(o, "const int32_t measured_builtins_count = %d;\n", argc - 2);
    if (fclose(o)) return fprintf(stderr, "gen_measured_builtin: %s: write error\n", argv[1]), remove(argv[1]), 1;
    return 0;
}
