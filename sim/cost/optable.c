/* optable.c: loading the measured op tables and interpolating on them.
 *
 * File format (scripts/import-measured writes it): '#' comments; a section
 * header "[name ...] col col ..." names the section and its columns; every
 * other line is one row of numbers.  Sections: gemm (m n k ms),
 * prefill_attention (batch isl heads kv_heads ms), decode_attention (batch
 * kv_len heads kv_heads ms), allreduce (gpus elems ms), "ops <model> tp=<n>"
 * (tokens and nine per-layer op times in ms).  Times are stored in seconds. */
#include "cost/optable.h"
#include "cost/measured_builtin.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cost/cost.h"

bool optable_locate(const double *a, int32_t n, double x, int32_t *i, double *w)
{
    if (n <= 1 || x <= a[0]) {
        *i = 0;
        *w = 0.0;
        return n <= 1 ? x != a[0] : x < a[0];
    }
    if (x >= a[n - 1]) {
        *i = n - 2;
        *w = (x - a[n - 2]) / (a[n - 1] - a[n - 2]);
        return x > a[n - 1];
    }
    /* The last a[lo] <= x, branch-free (a's few dozen points: the compare
     * chain pipelines where a branchy search would mispredict). */
    const double *base = a;
    int32_t len = n - 1;         /* a[0] <= x < a[n - 1] */
    while (len > 1) {
        int32_t half = len / 2;
        base = base[half] <= x ? base + half : base;
        len -= half;
    }
    int32_t lo = (int32_t)(base - a);
    *i = lo;
    *w = (x - a[lo]) / (a[lo + 1] - a[lo]);
    return false;
}

void opaxis_index_init(OpAxisIndex *ix, const double *a, int32_t n)
{
    SS_ASSERT(n >= 2 && n <= 32767);
    /* Bucket e holds the x whose top 12 bits (sign, exponent) are e; its
     * smallest value (2^(e - 1023); 0 for e = 0) bounds the answer from
     * below: start = the last i <= n - 2 with a[i] <= that value (0 when
     * none, and for negative x).  The smallest values rise with e. */
    int32_t start = 0;
    for (int32_t e = 0; e < 4096; e++) {
        if (e >= 2047) start = 0;
        else {
            uint64_t bits = (uint64_t)e << 52;
            double smallest;
            memcpy(&smallest, &bits, sizeof(smallest));
            while (start + 1 <= n - 2 && a[start + 1] <= smallest) start++;
        }
        ix->start[e] = (int16_t)start;
    }
}

double opgrid_eval(const OpGrid *g, double x, double y, bool *outside)
{
    int32_t ix, iy = 0;
    double wx, wy = 0.0;
    bool out = optable_locate(g->x, g->nx, x, &ix, &wx);
    if (g->ny > 1) out |= optable_locate(g->y, g->ny, y, &iy, &wy);
    int32_t ny = g->ny, jx = g->nx > 1 ? ix + 1 : ix, jy = g->ny > 1 ? iy + 1 : iy;
    if (g->filled)
        out |= g->filled[ix * ny + iy] | g->filled[jx * ny + iy] | g->filled[ix * ny + jy] |
               g->filled[jx * ny + jy];
    if (out && outside) *outside = true;
    double v00 = g->v[ix * ny + iy], v10 = g->v[jx * ny + iy];
    if (g->ny == 1) return v00 + wx * (v10 - v00);
    double v01 = g->v[ix * ny + jy], v11 = g->v[jx * ny + jy];
    double a = v00 + wy * (v01 - v00), b = v10 + wy * (v11 - v10);
    return a + wx * (b - a);
}

void opgrid_copy(OpGrid *d, const OpGrid *s)
{
    size_t cells = (size_t)s->nx * (size_t)s->ny;
    *d = *s;
    d->x = ss_malloc(sizeof(double) * (size_t)s->nx);
    d->y = ss_malloc(sizeof(double) * (size_t)s->ny);
    d->v = ss_malloc(sizeof(double) * cells);
    memcpy(d->x, s->x, sizeof(double) * (size_t)s->nx);
    memcpy(d->y, s->y, sizeof(double) * (size_t)s->ny);
    memcpy(d->v, s->v, sizeof(double) * cells);
    d->filled = NULL;
    if (s->filled) {
        d->filled = ss_malloc(cells);
        memcpy(d->filled, s->filled, cells);
    }
}

void opgrid_free(OpGrid *g)
{
    free(g->x);
    free(g->y);
    free(g->v);
    free(g->filled);
    *g = (OpGrid){ 0 };
}

/* ---- loading ---- */

typedef struct Rows {
    int32_t cols, n, cap;
    double *v;      /* n x cols */
} Rows;

static void rows_push(Rows *r, const double *vals)
{
    SS_GROW(r->v, r->cap, (size_t)(r->n + 1) * (size_t)r->cols);
    memcpy(r->v + (size_t)r->n * (size_t)r->cols, vals, sizeof(double) * (size_t)r->cols);
    r->n++;
}

/* The sorted distinct values of column c of the rows that match.  Tables
 * have a few dozen distinct values per axis: insertion into a short sorted
 * list beats sorting every row. */
static int32_t axis_of(const Rows *r, int32_t c, double **out,
                       bool (*match)(const double *row, const void *ctx), const void *ctx)
{
    int32_t n = 0, cap = 32;
    double *a = ss_malloc(sizeof(double) * (size_t)cap);
    double last = NAN;
    for (int32_t i = 0; i < r->n; i++) {
        const double *row = r->v + (size_t)i * (size_t)r->cols;
        if (match && !match(row, ctx)) continue;
        double x = row[c];
        if (x == last) continue;   /* runs of one value are the common case */
        last = x;
        int32_t j = n;
        while (j > 0 && a[j - 1] > x) j--;
        if (j > 0 && a[j - 1] == x) continue;
        SS_GROW(a, cap, (size_t)n + 1);
        memmove(a + j + 1, a + j, sizeof(double) * (size_t)(n - j));
        a[j] = x;
        n++;
    }
    *out = a;
    return n;
}

static int32_t axis_index(const double *a, int32_t n, double x)
{
    int32_t lo = 0, hi = n - 1;
    while (lo <= hi) {
        int32_t mid = (lo + hi) / 2;
        if (a[mid] == x) return mid;
        if (a[mid] < x) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

static bool match_gpus(const double *row, const void *ctx)
{
    return row[0] == *(const double *)ctx;
}

/* A 2-D grid over columns (cx, cy) of the rows that match, values from cv (ms -> s). */
static void grid_build(OpGrid *g, const Rows *r, int32_t cx, int32_t cy, int32_t cv,
                       bool (*match)(const double *, const void *), const void *ctx)
{
    g->nx = axis_of(r, cx, &g->x, match, ctx);
    if (cy >= 0) {
        g->ny = axis_of(r, cy, &g->y, match, ctx);
    } else {
        g->ny = 1;
        g->y = ss_calloc(1, sizeof(double));
    }
    size_t cells = (size_t)g->nx * (size_t)g->ny;
    g->v = ss_malloc(sizeof(double) * cells);
    for (size_t i = 0; i < cells; i++) g->v[i] = NAN;
    for (int32_t i = 0; i < r->n; i++) {
        const double *row = r->v + (size_t)i * (size_t)r->cols;
        if (match && !match(row, ctx)) continue;
        int32_t ix = axis_index(g->x, g->nx, row[cx]);
        int32_t iy = cy >= 0 ? axis_index(g->y, g->ny, row[cy]) : 0;
        g->v[(size_t)ix * (size_t)g->ny + (size_t)iy] = row[cv] * 1e-3;
    }
}

/* Unmeasured cells (large batch x long sequence: the source ran out of
 * memory there) are extrapolated along the batch axis from the column's last
 * two measured batches (time grows linearly with batch at a fixed length),
 * else along the length axis, and marked. */
static void grid_fill(OpGrid *g)
{
    int32_t nx = g->nx, ny = g->ny;
    for (int pass = 0; pass < 2; pass++) {
        bool along_x = pass == 0;
        int32_t lines = along_x ? ny : nx, len = along_x ? nx : ny;
        for (int32_t l = 0; l < lines; l++) {
            int32_t a = -1, b = -1;   /* the last two measured points so far */
            for (int32_t i = 0; i < len; i++) {
                size_t cell = along_x ? (size_t)i * ny + l : (size_t)l * ny + i;
                const double *ax = along_x ? g->x : g->y;
                if (!isnan(g->v[cell])) { a = b; b = i; continue; }
                if (a < 0) continue;
                size_t ca = along_x ? (size_t)a * ny + l : (size_t)l * ny + a;
                size_t cb = along_x ? (size_t)b * ny + l : (size_t)l * ny + b;
                double slope = (g->v[cb] - g->v[ca]) / (ax[b] - ax[a]);
                g->v[cell] = g->v[cb] + SS_MAX(slope, 0.0) * (ax[i] - ax[b]);
                if (!g->filled) g->filled = ss_calloc((size_t)nx * ny, 1);
                g->filled[cell] = 1;
                g->n_filled++;
            }
        }
    }
}

static int heads_cmp(const void *a, const void *b)
{
    const double *x = a, *y = b;  /* rows: batch, length, heads, kv_heads, ms */
    if (x[2] != y[2]) return x[2] < y[2] ? -1 : 1;
    if (x[3] != y[3]) return x[3] < y[3] ? -1 : 1;
    return 0;
}

/* One table per (heads, kv heads), each from its run of rows. */
static void attn_build(AttnTable **out, int32_t *n_out, Rows *r)
{
    *out = NULL;
    *n_out = 0;
    int32_t cap = 0;
    if (r->n == 0) return;   /* a filtered load may read no layout: attention then falls back */
    /* stable enough: qsort only reorders rows of different layouts' runs */
    qsort(r->v, (size_t)r->n, sizeof(double) * (size_t)r->cols, heads_cmp);
    for (int32_t lo = 0; lo < r->n; ) {
        const double *first = r->v + (size_t)lo * (size_t)r->cols;
        int32_t hi = lo + 1;
        while (hi < r->n && !heads_cmp(first, r->v + (size_t)hi * (size_t)r->cols)) hi++;
        SS_GROW(*out, cap, (size_t)*n_out + 1);
        AttnTable *a = &(*out)[(*n_out)++];
        *a = (AttnTable){ .heads = (int32_t)first[2], .kv_heads = (int32_t)first[3] };
        Rows run = { .cols = r->cols, .n = hi - lo, .v = r->v + (size_t)lo * (size_t)r->cols };
        grid_build(&a->grid, &run, 0, 1, 4, NULL, NULL);
        grid_fill(&a->grid);
        lo = hi;
    }
}

enum { SEC_NONE, SEC_GEMM, SEC_PREFILL, SEC_DECODE, SEC_ALLREDUCE, SEC_OPS };

/* Under the models directory: the shipped tables. */
#define MEASURED_TABLES_SUBDIR "profiles/measured"

void measured_tables_dir(char *out, size_t cap)
{
    char models[1024];
    snprintf(out, cap, "%s/" MEASURED_TABLES_SUBDIR, cost_models_dir(models, sizeof(models)));
}

void measured_tables_path(const char *gpu, char *out, size_t cap)
{
    if (strchr(gpu, '/')) {
        snprintf(out, cap, "%s", gpu);
        return;
    }
    char models[1024];
    snprintf(out, cap, "%s/" MEASURED_TABLES_SUBDIR "/%s.txt", cost_models_dir(models, sizeof(models)), gpu);
}

/* Decimal numbers as the import script writes them (%.6g: up to 15
 * digits, a small exponent) by Clinger's fast path: an integer mantissa of
 * at most 15 digits times or over an exact power of ten is one correctly
 * rounded operation, so the value is strtod's, at a fraction of its cost;
 * anything else goes to strtod. */
static bool parse_fast(const char *s, const char **end, double *out)
{
    static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
                                    1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
    const char *p = s;
    uint64_t mant = 0;
    /* Most fields are short integers (m, n, k, batch, kv_len, heads). */
    while ((unsigned)(*p - '0') < 10u && p - s < 15) mant = mant * 10 + (uint64_t)(*p++ - '0');
    if (p > s && *p != '.' && *p != 'e' && *p != 'E' && (unsigned)(*p - '0') >= 10u) {
        *out = (double)mant;
        *end = p;
        return true;
    }
    p = s;
    mant = 0;
    int digits = 0, scale = 0;
    bool seen = false;
    while (*p == '0') { p++; seen = true; }
    for (; *p >= '0' && *p <= '9'; p++, seen = true)
        if (digits < 18) { mant = mant * 10 + (uint64_t)(*p - '0'); if (mant) digits++; } else return false;
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9'; p++, seen = true) {
            if (digits >= 18) return false;
            mant = mant * 10 + (uint64_t)(*p - '0');
            if (mant) digits++;
            scale--;
        }
    }
    if (!seen) return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        int sign = 1, e = 0;
        if (*p == '-' || *p == '+') sign = *p++ == '-' ? -1 : 1;
        if (*p < '0' || *p > '9') return false;
        for (; *p >= '0' && *p <= '9'; p++) { e = e * 10 + (*p - '0'); if (e > 400) return false; }
        scale += sign * e;
    }
    if (digits > 15 || scale < -22 || scale > 22) return false;
    *out = scale < 0 ? (double)mant / pow10[-scale] : (double)mant * pow10[scale];
    *end = p;
    return true;
}

static int parse_numbers(char *s, double *vals, int32_t want, const char *path, int line)
{
    /* The fast path first; a field it does not take is parsed in full below. */
    const char *p = s;
    int32_t got = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\0' || *p == '\n' || *p == '\r') break;
        if (got == want || !parse_fast(p, &p, &vals[got]) || (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')) {
            got = -1;
            break;
        }
        got++;
    }
    if (got == want) return 0;
    got = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
        if (got == want)
            return ss_error_set(EINVAL, "%s:%d: more than %d fields", path, line, want);
        if (ss_parse_double(tok, &vals[got]) || vals[got] < 0)
            return ss_error_set(EINVAL, "%s:%d: field %d: '%s' is not a non-negative number",
                                path, line, got + 1, tok);
        got++;
    }
    if (got != want)
        return ss_error_set(EINVAL, "%s:%d: %d fields, expected %d", path, line, got, want);
    return 0;
}

static void ops_finish(MeasuredTables *t, Rows *r, const char *model, int32_t tp, int32_t *cap)
{
    if (!r->n) return;
    SS_GROW(t->ops, *cap, (size_t)t->n_ops + 1);
    OpsTable *o = &t->ops[t->n_ops++];
    *o = (OpsTable){ .tp = tp };
    snprintf(o->model, sizeof(o->model), "%s", model);
    for (int32_t c = 0; c < OPS_COLUMNS; c++) grid_build(&o->col[c], r, 0, -1, c + 1, NULL, NULL);
    r->n = 0;
}

/* Is x one of the two grid values the interpolation of a need's n (or k)
 * reads (optable_locate's segment: both ends, even at weight 0)?  axis sorted. */
static bool need_brackets(const double *axis, int32_t n_axis, const double *vals, int32_t n_vals, double x)
{
    for (int32_t i = 0; i < n_vals; i++) {
        int32_t seg;
        double w;
        if (optable_locate(axis, n_axis, vals[i], &seg, &w)) continue; /* outside: not interpolated */
        if (x == axis[seg] || (seg + 1 < n_axis && x == axis[seg + 1])) return true;
    }
    return false;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void small_axis_add(double *a, int32_t *n, int32_t cap, double x)
{
    for (int32_t i = 0; i < *n; i++)
        if (a[i] == x) return;
    if (*n < cap) a[(*n)++] = x;
}

static int tables_load(MeasuredTables *t, const char *gpu_or_path, const MeasuredNeed *need, bool *unsorted);

int measured_tables_load(MeasuredTables *t, const char *gpu_or_path)
{
    bool unsorted = false;
    return tables_load(t, gpu_or_path, NULL, &unsorted);
}

static int tables_load(MeasuredTables *t, const char *gpu_or_path, const MeasuredNeed *need, bool *unsorted)
{
    *t = (MeasuredTables){ 0 };
    measured_tables_path(gpu_or_path, t->path, sizeof(t->path));
    const char *base = strrchr(t->path, '/');
    base = base ? base + 1 : t->path;
    size_t len = SS_MIN(strlen(base), sizeof(t->gpu) - 1);
    memcpy(t->gpu, base, len);
    t->gpu[len] = '\0';
    char *dot = strrchr(t->gpu, '.');
    if (dot && !strcmp(dot, ".txt")) *dot = '\0';
    FILE *f = fopen(t->path, "r");
    if (!f) {
        int err = errno;
        return ss_error_set(err, "%s: %s", t->path, strerror(err));
    }
    /* The whole file at once, split at newlines in place (start-up time:
     * a line at a time through stdio was a fifth of the load). */
    char *text = NULL;
    size_t text_len = 0, text_cap = 0;
    for (;;) {
        SS_GROW(text, text_cap, text_len + 65536 + 1);
        size_t got = fread(text + text_len, 1, text_cap - text_len - 1, f);
        text_len += got;
        if (got == 0) break;
    }
    text[text_len] = '\0';
    /* The repository's files were parsed at build time (measured_builtin.h):
     * the same bytes, the same tables.  Every row is in them, a superset of
     * any need's, which read the same cells. */
    const MeasuredTables *built = need ? measured_builtin_for(text, text_len) : NULL;
    if (built) {
        char path[sizeof(t->path)], gpu[sizeof(t->gpu)];
        memcpy(path, t->path, sizeof(path));
        memcpy(gpu, t->gpu, sizeof(gpu));
        *t = *built;
        memcpy(t->path, path, sizeof(path));
        memcpy(t->gpu, gpu, sizeof(gpu));
        fclose(f);
        free(text);
        return 0;
    }
    char *cursor = text, *text_end = text + text_len;
    Rows gemm = { .cols = 4 }, pre = { .cols = 5 }, dec = { .cols = 5 }, ar = { .cols = 3 },
         ops = { .cols = 1 + OPS_COLUMNS };
    int sec = SEC_NONE, line = 0, r = 0, ops_tp = 0;
    int32_t ops_cap = 0;
    char ops_model[64] = "";
    /* With a need: the GEMM section's first m lists every (n, k) (the import
     * writes it sorted by m, n, k); after it, rows of other n, k are skipped
     * unparsed.  A file not in that order is read again in full. */
    enum { AXIS_CAP = 64 };
    double first_m = NAN, axis_n[AXIS_CAP], axis_k[AXIS_CAP];
    bool want_n[AXIS_CAP], want_k[AXIS_CAP];
    int32_t an = 0, ak = 0;
    bool axes_done = false, skip_section = false;
    while (cursor < text_end) {
        char *buf = cursor, *nl = memchr(cursor, '\n', (size_t)(text_end - cursor));
        size_t line_len = nl ? (size_t)(nl - cursor) : (size_t)(text_end - cursor);
        buf[line_len] = '\0';
        cursor = buf + line_len + 1;
        line++;
        char *hash = memchr(buf, '#', line_len);
        if (hash) *hash = '\0';
        char *s = buf;
        while (isspace((unsigned char)*s)) s++;
        if (!*s) continue;
        if (*s == '[') {
            if (sec == SEC_OPS) ops_finish(t, &ops, ops_model, ops_tp, &ops_cap);
            char name[32] = "", model[64] = "";
            int tp = 0;
            if (sscanf(s, "[%31[a-z_] %63[^ ] tp=%d]", name, model, &tp) == 3 && !strcmp(name, "ops")) {
                sec = SEC_OPS;
                snprintf(ops_model, sizeof(ops_model), "%s", model);
                ops_tp = tp;
                if (tp < 1) { r = ss_error_set(EINVAL, "%s:%d: tp: must be >= 1", t->path, line); goto done; }
            } else if (sscanf(s, "[%31[a-z_]]", name) == 1) {
                sec = !strcmp(name, "gemm") ? SEC_GEMM : !strcmp(name, "prefill_attention") ? SEC_PREFILL
                    : !strcmp(name, "decode_attention") ? SEC_DECODE : !strcmp(name, "allreduce") ? SEC_ALLREDUCE
                    : SEC_NONE;
            }
            if (sec == SEC_NONE) {
                r = ss_error_set(EINVAL, "%s:%d: unknown section %s", t->path, line, s);
                goto done;
            }
            skip_section = need && sec == SEC_OPS && (strcmp(ops_model, need->model) || ops_tp != need->tp);
            continue;
        }
        if (skip_section) continue;
        if (need && (sec == SEC_PREFILL || sec == SEC_DECODE)) {
            const char *p = s;
            double b, l, h, kvh;
            if (parse_fast(p, &p, &b) && *p == ' ' && parse_fast(p + 1, &p, &l) && *p == ' ' &&
                parse_fast(p + 1, &p, &h) && *p == ' ' && parse_fast(p + 1, &p, &kvh) && kvh >= 1) {
                /* measured_attn_find's layout, or one measured_attn_fold could pick */
                bool candidate = h * need->kv_heads == (double)need->heads * kvh && kvh <= need->kv_heads &&
                                 fmod((double)need->kv_heads, kvh) == 0;
                if (!candidate) continue;
            }
        }
        if (need && sec == SEC_GEMM) {
            const char *p = s;
            double m, n, k;
            if (parse_fast(p, &p, &m) && *p == ' ' && parse_fast(p + 1, &p, &n) && *p == ' ' &&
                parse_fast(p + 1, &p, &k)) {
                if (isnan(first_m)) first_m = m;
                if (!axes_done && m == first_m) {
                    small_axis_add(axis_n, &an, AXIS_CAP, n);
                    small_axis_add(axis_k, &ak, AXIS_CAP, k);
                } else {
                    if (!axes_done) {   /* the axes are complete: which of their values are read */
                        qsort(axis_n, (size_t)an, sizeof(double), dbl_cmp);
                        qsort(axis_k, (size_t)ak, sizeof(double), dbl_cmp);
                        for (int32_t i = 0; i < an; i++)
                            want_n[i] = need_brackets(axis_n, an, need->n, need->n_n, axis_n[i]);
                        for (int32_t i = 0; i < ak; i++)
                            want_k[i] = need_brackets(axis_k, ak, need->k, need->n_k, axis_k[i]);
                    }
                    axes_done = true;
                    int32_t in = axis_index(axis_n, an, n), ik = axis_index(axis_k, ak, k);
                    if (in < 0) in = an;
                    if (ik < 0) ik = ak;
                    if (in == an || ik == ak || m == first_m) {
                        *unsorted = true;
                        r = -EAGAIN;
                        goto done;
                    }
                    if (!want_n[in] || !want_k[ik]) continue;
                }
            } /* else: parsed in full below, which names the bad field */
        }
        Rows *rows = sec == SEC_GEMM ? &gemm : sec == SEC_PREFILL ? &pre : sec == SEC_DECODE ? &dec
                   : sec == SEC_ALLREDUCE ? &ar : sec == SEC_OPS ? &ops : NULL;
        if (!rows) { r = ss_error_set(EINVAL, "%s:%d: a row before any section", t->path, line); goto done; }
        double vals[16];
        if ((r = parse_numbers(s, vals, rows->cols, t->path, line))) goto done;
        rows_push(rows, vals);
    }
    if (ferror(f)) { r = ss_error_set(EIO, "%s: read error", t->path); goto done; }
    if (sec == SEC_OPS) ops_finish(t, &ops, ops_model, ops_tp, &ops_cap);
    if (!need && (!gemm.n || !pre.n || !dec.n)) {
        r = ss_error_set(EINVAL, "%s: needs [gemm], [prefill_attention] and [decode_attention] rows", t->path);
        goto done;
    }
    /* GEMM: a 3-D grid over m, n, k. */
    t->gm = axis_of(&gemm, 0, &t->gemm_m, NULL, NULL);
    t->gn = axis_of(&gemm, 1, &t->gemm_n, NULL, NULL);
    t->gk = axis_of(&gemm, 2, &t->gemm_k, NULL, NULL);
    size_t cells = (size_t)t->gm * (size_t)t->gn * (size_t)t->gk;
    t->gemm_s = ss_malloc(sizeof(double) * cells);
    for (size_t i = 0; i < cells; i++) t->gemm_s[i] = NAN;
    for (int32_t i = 0; i < gemm.n; i++) {
        const double *row = gemm.v + (size_t)i * 4;
        size_t im = (size_t)axis_index(t->gemm_m, t->gm, row[0]);
        size_t in = (size_t)axis_index(t->gemm_n, t->gn, row[1]);
        size_t ik = (size_t)axis_index(t->gemm_k, t->gk, row[2]);
        t->gemm_s[(im * (size_t)t->gn + in) * (size_t)t->gk + ik] = row[3] * 1e-3;
    }
    attn_build(&t->prefill, &t->n_prefill, &pre);
    attn_build(&t->decode, &t->n_decode, &dec);
    double *gpus = NULL;
    t->n_allreduce = ar.n ? axis_of(&ar, 0, &gpus, NULL, NULL) : 0;
    t->allreduce_gpus = ss_calloc((size_t)t->n_allreduce + 1, sizeof(int32_t));
    t->allreduce = ss_calloc((size_t)t->n_allreduce + 1, sizeof(OpGrid));
    for (int32_t i = 0; i < t->n_allreduce; i++) {
        t->allreduce_gpus[i] = (int32_t)gpus[i];
        grid_build(&t->allreduce[i], &ar, 1, -1, 2, match_gpus, &gpus[i]);
    }
    free(gpus);
done:
    fclose(f);
    free(text);
    free(gemm.v);
    free(pre.v);
    free(dec.v);
    free(ar.v);
    free(ops.v);
    if (r) measured_tables_free(t);
    return r;
}

const MeasuredTables *measured_builtin_for(const char *text, size_t text_len)
{
    for (int32_t i = 0; i < measured_builtins_count; i++)
        if (measured_builtins[i].text_len == text_len && !memcmp(measured_builtins[i].text, text, text_len))
            return measured_builtins[i].tables;
    return NULL;
}

int measured_tables_shared_for(const MeasuredTables **out, const char *gpu_or_path, const MeasuredNeed *need)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static struct { MeasuredTables *t; MeasuredNeed need; } loaded[32];
    static int32_t n_loaded;
    char path[sizeof(loaded[0].t->path)];
    measured_tables_path(gpu_or_path, path, sizeof(path));
    int r = 0;
    pthread_mutex_lock(&lock);
    *out = NULL;
    for (int32_t i = 0; i < n_loaded && !*out; i++)
        if (!strcmp(loaded[i].t->path, path) && !memcmp(&loaded[i].need, need, sizeof(*need))) *out = loaded[i].t;
    if (!*out) {
        MeasuredTables *t = ss_calloc(1, sizeof(*t));
        bool unsorted = false;
        r = tables_load(t, gpu_or_path, need, &unsorted);
        if (unsorted) r = tables_load(t, gpu_or_path, NULL, &unsorted); /* not in the import's order */
        if (r) {
            free(t);
        } else if (n_loaded == (int32_t)SS_ARRAY_LEN(loaded)) {
            *out = t;   /* past the cache: kept for the process, not shared */
        } else {
            loaded[n_loaded].t = t;
            loaded[n_loaded].need = *need;
            n_loaded++;
            *out = t;
        }
    }
    pthread_mutex_unlock(&lock);
    return r;
}

void measured_tables_free(MeasuredTables *t)
{
    free(t->gemm_m);
    free(t->gemm_n);
    free(t->gemm_k);
    free(t->gemm_s);
    for (int32_t i = 0; i < t->n_prefill; i++) opgrid_free(&t->prefill[i].grid);
    for (int32_t i = 0; i < t->n_decode; i++) opgrid_free(&t->decode[i].grid);
    for (int32_t i = 0; i < t->n_ops; i++)
        for (int32_t c = 0; c < OPS_COLUMNS; c++) opgrid_free(&t->ops[i].col[c]);
    for (int32_t i = 0; i < t->n_allreduce; i++) opgrid_free(&t->allreduce[i]);
    free(t->prefill);
    free(t->decode);
    free(t->ops);
    free(t->allreduce);
    free(t->allreduce_gpus);
    char path[sizeof(t->path)];
    memcpy(path, t->path, sizeof(path));
    *t = (MeasuredTables){ 0 };
    memcpy(t->path, path, sizeof(path));
}

bool measured_gemm_curve(const MeasuredTables *t, double n, double k, OpGrid *c)
{
    *c = (OpGrid){ 0 };
    int32_t in, ik;
    double wn, wk;
    if (optable_locate(t->gemm_n, t->gn, n, &in, &wn) || optable_locate(t->gemm_k, t->gk, k, &ik, &wk))
        return false;
    c->nx = t->gm;
    c->ny = 1;
    c->x = ss_malloc(sizeof(double) * (size_t)t->gm);
    c->y = ss_calloc(1, sizeof(double));
    c->v = ss_malloc(sizeof(double) * (size_t)t->gm);
    memcpy(c->x, t->gemm_m, sizeof(double) * (size_t)t->gm);
    int32_t jn = t->gn > 1 ? in + 1 : in, jk = t->gk > 1 ? ik + 1 : ik;
    for (int32_t im = 0; im < t->gm; im++) {
#define G(a, b) t->gemm_s[((size_t)im * (size_t)t->gn + (size_t)(a)) * (size_t)t->gk + (size_t)(b)]
        double v00 = G(in, ik), v01 = G(in, jk), v10 = G(jn, ik), v11 = G(jn, jk);
#undef G
        double a = v00 + wk * (v01 - v00), b = v10 + wk * (v11 - v10);
        c->v[im] = a + wn * (b - a);
        if (!isfinite(c->v[im])) {
            opgrid_free(c);
            return false;
        }
    }
    return true;
}

const AttnTable *measured_attn_find(const AttnTable *a, int32_t n, int32_t heads, int32_t kv_heads)
{
    for (int32_t i = 0; i < n; i++)
        if (a[i].heads == heads && a[i].kv_heads == kv_heads) return &a[i];
    return NULL;
}

const AttnTable *measured_attn_fold(const AttnTable *a, int32_t n, int32_t heads, int32_t kv_heads,
                                    double *batch_factor)
{
    const AttnTable *best = NULL;
    for (int32_t i = 0; i < n; i++) {
        const AttnTable *c = &a[i];
        /* same query heads per KV head, fewer KV heads that divide ours */
        if ((int64_t)c->heads * kv_heads != (int64_t)heads * c->kv_heads) continue;
        if (c->kv_heads > kv_heads || kv_heads % c->kv_heads) continue;
        if (!best || c->kv_heads > best->kv_heads) best = c;
    }
    if (best) *batch_factor = (double)kv_heads / best->kv_heads;
    return best;
}
