/* synth_dataset.c: JSONL request streams drawn from a dataset with text
 * (synth_dataset.h).  Lines are kept as text and parsed when drawn. */
#include "synth_dataset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <zlib.h>

#include "common.h"
#include "engine/rng.h"

struct SynthDataset {
    char *path;
    char **line;        /* kept lines (NUL-terminated) */
    size_t *line_no;    /* 1-based line in the file */
    size_t n, cap;
};

/* Next line into *buf (grown), without its newline; 1, 0 at the end, or -EIO. */
static int read_line(gzFile f, char **buf, size_t *cap, size_t *len)
{
    *len = 0;
    for (;;) {
        if (*cap - *len < 2) *buf = ss_realloc(*buf, *cap = *cap ? *cap * 2 : 4096);
        if (!gzgets(f, *buf + *len, (int)(*cap - *len))) {
            int e;
            gzerror(f, &e);
            if (e != Z_OK && e != Z_BUF_ERROR) return -EIO;
            return *len > 0;
        }
        *len += strlen(*buf + *len);
        if (*len && (*buf)[*len - 1] == '\n') {
            (*buf)[--*len] = 0;
            if (*len && (*buf)[*len - 1] == '\r') (*buf)[--*len] = 0;
            return 1;
        }
    }
}

static bool line_in_split(const char *text, const char *split, const char *path, size_t no,
                          int *err)
{
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    *err = 0;
    if (!json_is_object(o) || !json_is_integer(json_object_get(o, "prompt_tokens")) ||
        !json_is_integer(json_object_get(o, "output_tokens"))) {
        *err = ss_error_set(EINVAL, "%s:%zu: not a JSON object with integer prompt_tokens and "
                            "output_tokens", path, no);
        json_decref(o);
        return false;
    }
    const char *s = json_string_value(json_object_get(o, "split"));
    bool keep = !split || !strcmp(split, "all") || (s && !strcmp(s, split));
    json_decref(o);
    return keep;
}

int synth_dataset_load(SynthDataset **out, const char *path, const char *split)
{
    *out = NULL;
    gzFile f = gzopen(path, "rb");
    if (!f) return ss_error_set(errno ? errno : EIO, "%s: cannot open: %s", path,
                                strerror(errno ? errno : EIO));
    SynthDataset *d = ss_calloc(1, sizeof(*d));
    d->path = ss_strdup(path);
    char *buf = NULL;
    size_t cap = 0, len, no = 0;
    int r, err = 0;
    while ((r = read_line(f, &buf, &cap, &len)) == 1) {
        no++;
        if (!len) continue;
        if (!line_in_split(buf, split, path, no, &err)) {
            if (err < 0) goto fail;
            continue;
        }
        SS_GROW(d->line, d->cap, d->n + 1);
        d->line_no = ss_realloc(d->line_no, d->cap * sizeof(*d->line_no));
        d->line[d->n] = ss_strdup(buf);
        d->line_no[d->n++] = no;
    }
    if (r < 0) { err = ss_error_set(EIO, "%s:%zu: read or gzip error", path, no + 1); goto fail; }
    if (!d->n) {
        err = ss_error_set(EINVAL, "%s: no request of split '%s'", path, split ? split : "all");
        goto fail;
    }
    free(buf);
    gzclose(f);
    *out = d;
    return 0;
fail:
    free(buf);
    gzclose(f);
    synth_dataset_destroy(&d);
    return err;
}

size_t synth_dataset_size(const SynthDataset *d)
{
    return d->n;
}

/* The output object for kept line i at arrival t (fields in a fixed order). */
static json_t *request_json(const SynthDataset *d, size_t i, double t)
{
    json_t *src = json_loads(d->line[i], 0, NULL), *o = json_object();
    static const char *const keys[] = { "app", "model", "instruction", "input",
                                        "prompt_tokens", "output_tokens", "split" };
    json_object_set_new(o, "arrival_s", json_real(t));
    for (size_t k = 0; k < SS_ARRAY_LEN(keys); k++) {
        json_t *v = json_object_get(src, keys[k]);
        if (v) json_object_set(o, keys[k], v);
    }
    json_object_set_new(o, "source_line", json_integer((json_int_t)d->line_no[i]));
    json_decref(src);
    return o;
}

int synth_dataset_generate(SynthDataset *d, const SynthParams *p, uint64_t seed, TraceWriter *w,
                           int64_t *rows, double *last_arrival_s)
{
    SynthSource *s;
    int err = synth_source_create(&s, p, seed);
    if (err < 0) return err;
    gsl_rng *pick = ss_rng_stream(seed, "synth.dataset", 0);
    TraceRow row;
    *rows = 0;
    *last_arrival_s = 0;
    while (synth_source_next(s, &row) == 1) {
        size_t i = (size_t)gsl_rng_uniform_int(pick, d->n);
        json_t *o = request_json(d, i, row.arrival_s);
        char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
        err = trace_writer_line(w, text, strlen(text));
        free(text);
        json_decref(o);
        if (err < 0) break;
        ++*rows;
        *last_arrival_s = row.arrival_s;
    }
    gsl_rng_free(pick);
    synth_source_destroy(&s);
    return err;
}

void synth_dataset_destroy(SynthDataset **dp)
{
    SynthDataset *d = *dp;
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) free(d->line[i]);
    free(d->line);
    free(d->line_no);
    free(d->path);
    free(d);
    *dp = NULL;
}
