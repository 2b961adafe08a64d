/* csvrec.c: CSV records, split in place when a line has no quote, through
 * libcsv otherwise.
 *
 * Why two paths: libcsv calls back once per field and copies every byte
 * into its entry buffer; on BurstGPT-shaped lines that alone costs more than
 * the rest of the reader (see traces/README.md for the measurement).  A line
 * without '"' has the same meaning under RFC 4180 as its plain split on
 * commas, so only lines holding a quote pay for libcsv. */
#include "csvrec.h"

#include <csv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "format.h"

typedef struct PendingRecord {
    size_t first, n; /* field indexes into foff */
    size_t line;
} PendingRecord;

struct CsvRec {
    LineSrc *src;
    struct csv_parser p;
    char **field;          /* what a record hands out */
    size_t field_cap;
    /* libcsv path: fields copied into an arena, records queued */
    char *arena;
    size_t arena_len, arena_cap;
    size_t *foff, nf, foff_cap;
    PendingRecord *pend;
    size_t npend, pend_pos, pend_cap;
    size_t rec_first, rec_line;
    size_t slow;
    /* After csvrec_header: every record must have exactly header_n fields
     * (0 = no header read yet).  The names, for the short-row message. */
    size_t header_n;
    char **header_name;
};

static inline bool is_blank(char ch) { return ch == ' ' || ch == '\t'; }

static void on_field(void *s, size_t len, void *data)
{
    CsvRec *c = data;
    SS_GROW(c->arena, c->arena_cap, c->arena_len + len + 1);
    if (len) memcpy(c->arena + c->arena_len, s, len);
    c->arena[c->arena_len + len] = '\0';
    SS_GROW(c->foff, c->foff_cap, c->nf + 1);
    c->foff[c->nf++] = c->arena_len;
    c->arena_len += len + 1;
}

static void on_row(int term, void *data)
{
    (void)term;
    CsvRec *c = data;
    SS_GROW(c->pend, c->pend_cap, c->npend + 1);
    c->pend[c->npend++] = (PendingRecord){ c->rec_first, c->nf - c->rec_first, c->rec_line };
    c->rec_first = c->nf;
}

static int parser_init(CsvRec *c)
{
    if (csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI))
        return ss_error_set(ENOMEM, "%s: cannot initialise libcsv", linesrc_name(c->src));
    return 0;
}

int csvrec_create(CsvRec **out, LineSrc *src)
{
    CsvRec *c = ss_calloc(1, sizeof(*c));
    c->src = src;
    int r = parser_init(c);
    if (r) {
        free(c);
        return r;
    }
    *out = c;
    return 0;
}

void csvrec_destroy(CsvRec **pc)
{
    CsvRec *c = *pc;
    if (!c) return;
    csv_free(&c->p);
    free(c->field);
    free(c->arena);
    free(c->foff);
    free(c->pend);
    for (size_t i = 0; i < c->header_n; i++) free(c->header_name[i]);
    free(c->header_name);
    free(c);
    *pc = NULL;
}

int csvrec_find(const CsvRecord *header, const char *name)
{
    for (size_t i = 0; i < header->n; i++)
        if (!strcmp(header->field[i], name)) return (int)i;
    return -1;
}

void csvrec_join(const CsvRecord *header, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < header->n && at + 1 < cap; i++) {
        int n = snprintf(buf + at, cap - at, "%s%s", i ? ", " : "", header->field[i]);
        if (n < 0) break;
        at += (size_t)n;
    }
}

int csvrec_header(CsvRec *c, CsvRecord *header)
{
    int r = csvrec_next(c, header);
    if (r == 0) return ss_error_set(EINVAL, "%s: empty file (no header)", linesrc_name(c->src));
    if (r == TRACE_BAD_ROW) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", ss_error_get()); /* not formatted into itself */
        return ss_error_set(EINVAL, "%s (in the header)", msg);
    }
    if (r < 0) return r;
    c->header_name = ss_calloc(header->n, sizeof(*c->header_name));
    for (size_t i = 0; i < header->n; i++) c->header_name[i] = ss_strdup(header->field[i]);
    c->header_n = header->n;
    return 0;
}

int csvrec_column(const CsvRecord *header, const char *file, const char *name, bool required,
                  int *idx)
{
    *idx = csvrec_find(header, name);
    if (*idx >= 0 || !required) return 0;
    char cols[160];
    csvrec_join(header, cols, sizeof(cols));
    return ss_error_set(EINVAL, "%s:%zu: %s: missing column (header: %s)", file, header->line, name, cols);
}

size_t csvrec_slow_count(const CsvRec *c) { return c->slow; }

/* A malformed record: forget what libcsv held and report it. */
static int slow_bad(CsvRec *c, const char *reason)
{
    csv_free(&c->p);
    int r = parser_init(c);
    if (r) return r;
    c->npend = c->pend_pos = 0;
    return ss_error_set(TRACE_BAD_ROW, "%s:%zu: csv: %s", linesrc_name(c->src), c->rec_line, reason);
}

/* Feed `line` (and the lines after it while a quoted field stays open). */
static int slow_path(CsvRec *c, char *line, size_t len)
{
    c->slow++;
    c->rec_line = linesrc_line_no(c->src);
    for (;;) {
        if (csv_parse(&c->p, line, len, on_field, on_row, c) != len ||
            csv_parse(&c->p, "\n", 1, on_field, on_row, c) != 1)
            return slow_bad(c, "malformed quoted field");
        /* pstate 0 (libcsv's ROW_NOT_BEGUN, public in csv.h): no field is open. */
        if (c->p.pstate == 0) return 0;
        if (c->arena_len + c->p.entry_pos > LINESRC_MAX_LINE)
            return slow_bad(c, "quoted field longer than the line limit");
        int r = linesrc_next(c->src, &line, &len);
        if (r < 0) return r;
        if (r == 0) {
            if (csv_fini(&c->p, on_field, on_row, c)) return slow_bad(c, "unterminated quoted field");
            return 0;
        }
    }
}

static void fast_split(CsvRec *c, char *s, size_t len, CsvRecord *rec)
{
    char *end = s + len;
    size_t n = 0;
    for (;;) {
        char *comma = memchr(s, ',', (size_t)(end - s));
        char *fe = comma ? comma : end;
        while (s < fe && is_blank(*s)) s++;
        char *t = fe;
        while (t > s && is_blank(t[-1])) t--;
        *t = '\0';
        SS_GROW(c->field, c->field_cap, n + 1);
        c->field[n++] = s;
        if (!comma) break;
        s = comma + 1;
    }
    rec->field = c->field;
    rec->n = n;
    rec->line = linesrc_line_no(c->src);
}

static void pop_pending(CsvRec *c, CsvRecord *rec)
{
    const PendingRecord *pr = &c->pend[c->pend_pos++];
    SS_GROW(c->field, c->field_cap, pr->n + 1);
    for (size_t i = 0; i < pr->n; i++) c->field[i] = c->arena + c->foff[pr->first + i];
    rec->field = c->field;
    rec->n = pr->n;
    rec->line = pr->line;
}

/* A record whose width differs from the header's is misaligned: its values
 * would land in the wrong columns, so it is a bad row (already consumed). */
static int check_width(const CsvRec *c, const CsvRecord *rec)
{
    if (!c->header_n || rec->n == c->header_n) return 1;
    const char *file = linesrc_name(c->src);
    if (rec->n < c->header_n)
        return trace_bad_row(file, rec->line, c->header_name[rec->n], "missing (row has %zu fields)",
                             rec->n);
    return trace_bad_row(file, rec->line, "csv", "%zu fields, header has %zu (first extra: '%.40s')",
                         rec->n, c->header_n, rec->field[c->header_n]);
}

int csvrec_next(CsvRec *c, CsvRecord *rec)
{
    for (;;) {
        if (c->pend_pos < c->npend) {
            pop_pending(c, rec);
            return check_width(c, rec);
        }
        c->npend = c->pend_pos = 0;
        c->arena_len = c->nf = c->rec_first = 0;
        char *line;
        size_t len;
        int r = linesrc_next(c->src, &line, &len);
        if (r <= 0) return r;
        if (!len) continue;
        if (!memchr(line, '"', len)) {
            fast_split(c, line, len, rec);
            return check_width(c, rec);
        }
        if ((r = slow_path(c, line, len))) return r;
    }
}
