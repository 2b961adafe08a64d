/* dataset_jsonl.c: requests with text from an lmaas-style JSONL file.
 *
 * One JSON object a line (plain or gzip: zlib's gzread reads both):
 *   {"app":..., "model":..., "split":"train"|"valid", "instruction":...,
 *    "input":..., "prompt_tokens":N, "output_tokens":N}
 * Rows of other splits are skipped before any allocation.  App names and
 * instructions repeat on every row, so they are interned once per distinct
 * value.  A malformed row is an error naming file:line. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

#include "common.h"
#include "predict/predict.h"

#define INTERN_CACHE 256

typedef struct Loader {
    Dataset *d;
    const char *path;
    const char *split;
    const char *cache[INTERN_CACHE]; /* interned repeats: app names, instructions */
    int n_cache;
} Loader;

/* Read one line of any length into *buf; 0 at EOF, -1 on error. */
static long read_line(gzFile gz, char **buf, size_t *cap)
{
    size_t len = 0;
    if (!*cap) { *cap = 1 << 16; *buf = ss_malloc(*cap); }
    for (;;) {
        if (!gzgets(gz, *buf + len, (int)SS_MIN(*cap - len, (size_t)1 << 30))) {
            int err;
            gzerror(gz, &err);
            if (err != Z_OK && err != Z_STREAM_END) return -1;
            return (long)len;
        }
        len += strlen(*buf + len);
        if (len && (*buf)[len - 1] == '\n') return (long)len;
        if (len + 1 < *cap) return (long)len;  /* last line without newline */
        *cap *= 2;
        *buf = ss_realloc(*buf, *cap);
    }
}

static const char *intern_repeat(Loader *l, const char *s)
{
    for (int i = 0; i < l->n_cache; i++)
        if (!strcmp(l->cache[i], s)) return l->cache[i];
    const char *c = dataset_intern(l->d, s);
    if (l->n_cache < INTERN_CACHE) l->cache[l->n_cache++] = c;
    return c;
}

static int bad_row(const Loader *l, long lineno, const char *why)
{
    return ss_error_set(EINVAL, "%s:%ld: %s", l->path, lineno, why);
}

static int parse_row(Loader *l, const char *line, long lineno)
{
    json_error_t jerr;
    json_t *o = json_loads(line, 0, &jerr);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return ss_error_set(EINVAL, "%s:%ld: not a JSON object: %s", l->path, lineno, jerr.text);
    }
    int r = 0;
    const char *split = json_string_value(json_object_get(o, "split"));
    if (l->split && split && strcmp(split, l->split)) goto done;
    if (l->split && !split) { r = bad_row(l, lineno, "missing string field 'split'"); goto done; }
    const char *app = json_string_value(json_object_get(o, "app"));
    const char *instr = json_string_value(json_object_get(o, "instruction"));
    const char *input = json_string_value(json_object_get(o, "input"));
    const char *model = json_string_value(json_object_get(o, "model"));
    json_t *pt = json_object_get(o, "prompt_tokens"), *ot = json_object_get(o, "output_tokens");
    if (!app) { r = bad_row(l, lineno, "missing string field 'app'"); goto done; }
    if (!json_is_integer(pt) || json_integer_value(pt) < 0 || json_integer_value(pt) > INT32_MAX)
    { r = bad_row(l, lineno, "'prompt_tokens' must be an integer >= 0"); goto done; }
    if (!json_is_integer(ot) || json_integer_value(ot) < 0 || json_integer_value(ot) > INT32_MAX)
    { r = bad_row(l, lineno, "'output_tokens' must be an integer >= 0"); goto done; }
    PredictSample s = {
        .in = {
            .input_tokens = (int32_t)json_integer_value(pt),
            .app = intern_repeat(l, app),
            .instruction = instr ? intern_repeat(l, instr) : NULL,
            .text = input ? dataset_intern(l->d, input) : NULL,
            .true_output_tokens = (int32_t)json_integer_value(ot),
            .model = model && *model ? intern_repeat(l, model) : NULL,
        },
        .output_tokens = (int32_t)json_integer_value(ot),
    };
    dataset_push(l->d, &s);
done:
    json_decref(o);
    return r;
}

int dataset_load_jsonl(Dataset *d, const char *path, const char *split)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz) return ss_error_set(errno ? errno : EIO, "%s: cannot open: %s", path,
                                 errno ? strerror(errno) : "gzopen failed");
    Loader l = { .d = d, .path = path };
    l.split = split && *split && strcmp(split, "all") ? split : NULL;
    char *buf = NULL;
    size_t cap = 0;
    long lineno = 0, len;
    int r = 0;
    while ((len = read_line(gz, &buf, &cap)) > 0) {
        lineno++;
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = '\0';
        if (!len) continue;
        if ((r = parse_row(&l, buf, lineno))) break;
    }
    if (!r && len < 0) r = ss_error_set(EIO, "%s:%ld: read error (corrupt gzip?)", path, lineno + 1);
    free(buf);
    gzclose(gz);
    return r;
}
