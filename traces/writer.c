/* writer.c: BurstGPT-schema CSV and raw lines, plain (stdio) or gzip (zlib). */
#include "writer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <zlib.h>

#include "common.h"

#define WRITER_BUF (1u << 16)

struct TraceWriter {
    char *path;
    FILE *f;            /* plain */
    gzFile gz;          /* gzip */
    size_t rows;
    int err;            /* first write error (negative errno), sticky */
};

bool trace_writer_gz_name(const char *path)
{
    size_t n = strlen(path);
    return n >= 3 && !strcmp(path + n - 3, ".gz");
}

static int writer_open(TraceWriter **out, const char *path, bool gzip)
{
    TraceWriter *w = ss_calloc(1, sizeof(*w));
    w->path = ss_strdup(path);
    bool std = !strcmp(path, "-");
    FILE *f = std ? stdout : fopen(path, "wb");
    if (!f) {
        int e = errno;
        free(w->path);
        free(w);
        return ss_error_set(e, "%s: cannot create: %s", path, strerror(e));
    }
    if (gzip) {
        /* gzdopen on a dup keeps stdout usable; level 6 = zlib's default. */
        w->gz = gzdopen(dup(fileno(f)), "wb6");
        if (!std) fclose(f);
        if (!w->gz) {
            free(w->path);
            free(w);
            return ss_error_set(ENOMEM, "%s: gzip: cannot start", path);
        }
        gzbuffer(w->gz, WRITER_BUF);
    } else {
        w->f = f;
    }
    *out = w;
    return 0;
}

static int writer_put(TraceWriter *w, const char *s, size_t n)
{
    if (w->err) return w->err;
    if (w->gz) {
        if (n && gzwrite(w->gz, s, (unsigned)n) != (int)n) {
            int e;
            const char *msg = gzerror(w->gz, &e);
            w->err = ss_error_set(EIO, "%s: gzip write failed: %s", w->path, msg);
        }
    } else if (fwrite(s, 1, n, w->f) != n) {
        int e = errno ? errno : EIO;
        w->err = ss_error_set(e, "%s: write failed: %s", w->path, strerror(e));
    }
    return w->err;
}

int trace_writer_open(TraceWriter **out, const char *path, bool gzip)
{
    static const char header[] =
        "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n";
    int err = writer_open(out, path, gzip);
    if (err < 0) return err;
    if ((err = writer_put(*out, header, sizeof(header) - 1)) < 0) {
        trace_writer_close(out);
        ss_error_set(-err, "%s: cannot write the header", path);
    }
    return err;
}

int trace_writer_open_lines(TraceWriter **out, const char *path, bool gzip)
{
    return writer_open(out, path, gzip);
}

/* A CSV field: quoted when it holds a comma, quote or newline. */
static size_t csv_field(char *dst, size_t cap, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) return (size_t)snprintf(dst, cap, "%s", s);
    size_t n = 0;
    dst[n++] = '"';
    for (; *s && n + 3 < cap; s++) {
        if (*s == '"') dst[n++] = '"';
        dst[n++] = *s;
    }
    dst[n++] = '"';
    dst[n] = 0;
    return n;
}

int trace_writer_row(TraceWriter *w, const TraceRow *row)
{
    char line[256], model[80], log_type[80];
    int64_t out_tok = row->failed ? 0 : row->output_tokens;
    csv_field(model, sizeof(model), row->model);
    csv_field(log_type, sizeof(log_type), row->log_type);
    int n = snprintf(line, sizeof(line), "%.6f,%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%s\n",
                     row->arrival_s, model, row->input_tokens, out_tok,
                     row->input_tokens + out_tok, log_type);
    SS_ASSERT(n > 0 && (size_t)n < sizeof(line));
    w->rows++;
    return writer_put(w, line, (size_t)n);
}

int trace_writer_row_jsonl(TraceWriter *w, const TraceRow *row)
{
    json_t *o = json_object(), *h = json_array();
    json_object_set_new(o, "arrival_s", json_real(row->arrival_s));
    json_object_set_new(o, "model", json_string(row->model));
    json_object_set_new(o, "log_type", json_string(row->log_type));
    json_object_set_new(o, "prompt_tokens", json_integer(row->input_tokens));
    json_object_set_new(o, "output_tokens", json_integer(row->failed ? 0 : row->output_tokens));
    if (row->session[0]) json_object_set_new(o, "session", json_string(row->session));
    for (int32_t i = 0; i < row->n_hash_ids; i++) {
        SS_ASSERT(row->hash_ids[i] <= (uint64_t)INT64_MAX); /* derived hashes are 63-bit */
        json_array_append_new(h, json_integer((json_int_t)row->hash_ids[i]));
    }
    json_object_set_new(o, "hash_ids", h);
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(o);
    SS_ASSERT(text);
    int err = trace_writer_line(w, text, strlen(text));
    free(text);
    return err;
}

int trace_writer_line(TraceWriter *w, const char *text, size_t len)
{
    int err = writer_put(w, text, len);
    if (err < 0) return err;
    w->rows++;
    return writer_put(w, "\n", 1);
}

size_t trace_writer_rows(const TraceWriter *w)
{
    return w->rows;
}

int trace_writer_close(TraceWriter **wp)
{
    TraceWriter *w = *wp;
    if (!w) return 0;
    int err = w->err;
    if (w->gz) {
        int z = gzclose(w->gz);
        if (z != Z_OK && !err) err = ss_error_set(EIO, "%s: gzip close failed (%d)", w->path, z);
    } else if (w->f == stdout) {
        if (fflush(stdout) && !err) err = ss_error_set(EIO, "%s: flush failed", w->path);
    } else if (fclose(w->f) && !err) {
        int e = errno ? errno : EIO;
        err = ss_error_set(e, "%s: close failed: %s", w->path, strerror(e));
    }
    free(w->path);
    free(w);
    *wp = NULL;
    return err;
}
