/* linesrc.h: a file (or memory block) read line by line, plain or gzip.
 *
 * Gzip is recognised by its magic bytes (1f 8b), never by the file name, and
 * inflated in a stream (concatenated members included), so memory stays at a
 * few buffers whatever the file's size.  A UTF-8 byte-order mark at the start
 * is dropped; a line's trailing '\r' (CRLF files) is dropped too. */
#ifndef SERVESIM_LINESRC_H
#define SERVESIM_LINESRC_H

#include <stdbool.h>
#include <stddef.h>

typedef struct LineSrc LineSrc;

/* Longest line accepted (bytes); a longer one is an error, not a bad row. */
#define LINESRC_MAX_LINE (64u << 20)

/* `path` "-" reads standard input. */
int linesrc_open(LineSrc **out, const char *path);
/* Read from memory (not copied: `data` must outlive the source); `name`
 * names it in messages. */
int linesrc_open_mem(LineSrc **out, const void *data, size_t len, const char *name);
void linesrc_destroy(LineSrc **ls);

/* 1 with the next line in *line (NUL-terminated, without its '\n' or '\r\n',
 * writable, valid until the next call), 0 at the end, negative errno on an
 * I/O or gzip error (message set). */
int linesrc_next(LineSrc *ls, char **line, size_t *len);
/* The next linesrc_next() returns the last line again (once). */
void linesrc_unget(LineSrc *ls);
/* 1-based number of the line last returned (0 before the first). */
size_t linesrc_line_no(const LineSrc *ls);
const char *linesrc_name(const LineSrc *ls);
bool linesrc_is_gzip(const LineSrc *ls);

#endif
