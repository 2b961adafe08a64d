/* steps_csv.c: a replay's steps.csv, columns found by header name. */
#include "steps_csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

enum { C_STEP, C_ITER, C_PF_SEQS, C_PF_TOKENS, C_PAIRS, C_PAST, C_DEC_SEQS, C_DEC_CTX, C_SKIPPED,
       C_MEASURED, C_N };
static const char *const col_names[C_N] = {
    "step", "iter", "prefill_seqs", "prefill_tokens", "prefill_attn_pairs", "prefill_past_tokens",
    "decode_seqs", "decode_context", "padding_skipped", "measured_s",
};

/* Split a line on commas in place; returns the field count (at most cap). */
static int split(char *line, char **f, int cap)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < cap; p++) {
        f[n++] = p;
        p = strchr(p, ',');
        if (!p) break;
        *p = '\0';
    }
    return n;
}

static int header(char *line, int col[C_N], const char *path)
{
    char *f[64];
    int n = split(line, f, 64);
    for (int c = 0; c < C_N; c++) {
        col[c] = -1;
        for (int i = 0; i < n; i++)
            if (!strcmp(f[i], col_names[c])) col[c] = i;
        if (col[c] < 0)
            return ss_error_set(EINVAL, "%s:1: no column '%s': not a replay steps.csv", path, col_names[c]);
    }
    return 0;
}

static int row(char *line, const int col[C_N], StepRow *r, const char *path, size_t ln)
{
    char *f[64];
    int n = split(line, f, 64);
    double v[C_N];
    for (int c = 0; c < C_N; c++)
        if (col[c] >= n || ss_parse_double(f[col[c]], &v[c]))
            return ss_error_set(EINVAL, "%s:%zu: column %s: not a number", path, ln, col_names[c]);
    *r = (StepRow){ .step = (int64_t)v[C_STEP], .iter = (int64_t)v[C_ITER],
                    .padding_skipped = (int64_t)v[C_SKIPPED], .measured_s = v[C_MEASURED] };
    r->shape = (StepShape){ .prefill_seqs = (int32_t)v[C_PF_SEQS],
                            .prefill_tokens = (int64_t)v[C_PF_TOKENS],
                            .prefill_attn_pairs = v[C_PAIRS],
                            .prefill_past_tokens = (int64_t)v[C_PAST],
                            .decode_seqs = (int32_t)v[C_DEC_SEQS],
                            .decode_context = (int64_t)v[C_DEC_CTX] };
    r->kind = profile_step_kind(&r->shape);
    return 0;
}

int steps_csv_load(StepRows *out, const char *dir)
{
    char path[4200], line[1024];
    snprintf(path, sizeof(path), "%s/steps.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) return ss_error_set(errno, "%s: cannot open: %s (is %s a replay's output?)", path,
                                strerror(errno), dir);
    int col[C_N], r = 0;
    size_t ln = 1;
    if (!fgets(line, sizeof(line), f)) r = ss_error_set(EINVAL, "%s: empty", path);
    else r = header(line, col, path);
    while (!r && fgets(line, sizeof(line), f)) {
        ln++;
        SS_GROW(out->rows, out->cap, out->n + 1);
        r = row(line, col, &out->rows[out->n], path, ln);
        if (!r) out->n++;
    }
    fclose(f);
    return r;
}

void steps_rows_free(StepRows *r)
{
    free(r->rows);
    *r = (StepRows){ 0 };
}
