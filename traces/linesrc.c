/* linesrc.c: lines from a plain or gzip file, or from memory.
 *
 * Bytes flow raw input -> (inflate when the magic says gzip) -> line buffer.
 * The line buffer holds one chunk (256 KiB); a line longer than what is left
 * is moved to the front and the buffer grows only when a single line does
 * not fit, so memory is bounded by the longest line, not the file. */
#include "linesrc.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common.h"

#define LINESRC_CHUNK (256u << 10) /* bytes */
/* The first fill, which format detection at open needs, decodes only this
 * much: opening is then cheap on the caller's thread, and the rest of the
 * decoding happens where the rows are read (the prefetch thread in `run`). */
#define LINESRC_FIRST_FILL (16u << 10) /* bytes */
/* Later fills of a gzip stream decode this much at a time: a 256 KiB fill
 * took a millisecond, and the prefetch thread's blocks of rows came out in
 * bursts the engine waited for (0.5-1 ms each, early in a run). */
#define LINESRC_GZ_FILL (32u << 10) /* bytes */

struct LineSrc {
    char *name;
    int fd;                   /* -1 for memory sources */
    bool own_fd;
    const unsigned char *mem; /* memory source */
    size_t mem_len, mem_pos;

    unsigned char *in;        /* raw bytes read ahead of the decoder (fd sources) */
    size_t in_pos, in_len;
    bool raw_eof;

    bool gzip, z_ready, z_member_done;
    z_stream z;

    char *buf;                /* decoded bytes: [pos, end) not yet returned */
    size_t cap, pos, end;
    bool eof;                 /* decoder drained */

    size_t line_no;
    bool filled, first_line, unget;
    char *last;
    size_t last_len;
};

/* Up to `cap` raw bytes into dst; 0 at the end. */
static int raw_read(LineSrc *ls, unsigned char *dst, size_t cap, size_t *got)
{
    *got = 0;
    if (ls->in_pos < ls->in_len) {
        size_t n = SS_MIN(cap, ls->in_len - ls->in_pos);
        memcpy(dst, ls->in + ls->in_pos, n);
        ls->in_pos += n;
        *got = n;
        return 0;
    }
    if (ls->fd < 0) {
        size_t n = SS_MIN(cap, ls->mem_len - ls->mem_pos);
        memcpy(dst, ls->mem + ls->mem_pos, n);
        ls->mem_pos += n;
        *got = n;
        return 0;
    }
    for (;;) {
        ssize_t r = read(ls->fd, dst, cap);
        if (r >= 0) { *got = (size_t)r; return 0; }
        if (errno != EINTR) return ss_error_set(errno, "%s: read: %s", ls->name, strerror(errno));
    }
}

/* Make z.next_in non-empty if input remains; sets raw_eof at the end. */
static int gz_refill(LineSrc *ls)
{
    if (ls->z.avail_in || ls->raw_eof) return 0;
    if (ls->fd < 0) { /* memory: the whole block was handed over at open */
        ls->raw_eof = true;
        return 0;
    }
    size_t got;
    int r = raw_read(ls, ls->in, LINESRC_CHUNK, &got);
    if (r) return r;
    ls->in_pos = ls->in_len = 0; /* the read-ahead (if any) was consumed above */
    if (!got) ls->raw_eof = true;
    ls->z.next_in = ls->in;
    ls->z.avail_in = (uInt)got;
    return 0;
}

/* Inflate up to `cap` bytes into dst; *got = 0 at the end of the last member. */
static int gz_read(LineSrc *ls, char *dst, size_t cap, size_t *got)
{
    ls->z.next_out = (Bytef *)dst;
    ls->z.avail_out = (uInt)cap;
    while (ls->z.avail_out == cap) {
        int r = gz_refill(ls);
        if (r) return r;
        if (ls->z_member_done) {
            if (!ls->z.avail_in && ls->raw_eof) break;
            inflateReset(&ls->z); /* another gzip member follows */
            ls->z_member_done = false;
        }
        if (!ls->z.avail_in && ls->raw_eof)
            return ss_error_set(EIO, "%s: gzip stream is truncated", ls->name);
        int zr = inflate(&ls->z, Z_NO_FLUSH);
        if (zr == Z_STREAM_END) ls->z_member_done = true;
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            return ss_error_set(EIO, "%s: corrupt gzip data (%s)", ls->name,
                                ls->z.msg ? ls->z.msg : "inflate failed");
    }
    *got = cap - ls->z.avail_out;
    return 0;
}

static int decode(LineSrc *ls, char *dst, size_t cap, size_t *got)
{
    if (ls->gzip) return gz_read(ls, dst, cap, got);
    return raw_read(ls, (unsigned char *)dst, cap, got);
}

static int setup(LineSrc *ls)
{
    const unsigned char *head;
    size_t have;
    if (ls->fd >= 0) {
        /* Read ahead until two bytes are known (or the file ends). */
        while (ls->in_len < 2) {
            ssize_t r = read(ls->fd, ls->in + ls->in_len, LINESRC_CHUNK - ls->in_len);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) return ss_error_set(errno, "%s: read: %s", ls->name, strerror(errno));
            if (r == 0) break;
            ls->in_len += (size_t)r;
        }
        head = ls->in;
        have = ls->in_len;
    } else {
        head = ls->mem;
        have = ls->mem_len;
    }
    ls->gzip = have >= 2 && head[0] == 0x1f && head[1] == 0x8b;
    if (!ls->gzip) return 0;
    if (inflateInit2(&ls->z, 16 + MAX_WBITS) != Z_OK)
        return ss_error_set(ENOMEM, "%s: cannot initialise zlib", ls->name);
    ls->z_ready = true;
    if (ls->fd >= 0) {
        ls->z.next_in = ls->in;
        ls->z.avail_in = (uInt)ls->in_len;
        ls->in_len = ls->in_pos = 0;
    } else {
        ls->z.next_in = (Bytef *)ls->mem;
        ls->z.avail_in = (uInt)SS_MIN(ls->mem_len, (size_t)UINT32_MAX);
        ls->raw_eof = true;
    }
    return 0;
}

static LineSrc *alloc_src(const char *name)
{
    LineSrc *ls = ss_calloc(1, sizeof(*ls));
    ls->name = ss_strdup(name);
    ls->fd = -1;
    ls->cap = LINESRC_CHUNK + 1;
    ls->buf = ss_malloc(ls->cap);
    ls->first_line = true;
    return ls;
}

int linesrc_open(LineSrc **out, const char *path)
{
    *out = NULL;
    int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
    if (fd < 0) return ss_error_set(errno, "%s: %s", path, strerror(errno));
    LineSrc *ls = alloc_src(path);
    ls->fd = fd;
    ls->own_fd = fd != 0;
    ls->in = ss_malloc(LINESRC_CHUNK);
    int r = setup(ls);
    if (r) {
        linesrc_destroy(&ls);
        return r;
    }
    *out = ls;
    return 0;
}

int linesrc_open_mem(LineSrc **out, const void *data, size_t len, const char *name)
{
    LineSrc *ls = alloc_src(name);
    ls->mem = data;
    ls->mem_len = len;
    int r = setup(ls);
    if (r) {
        linesrc_destroy(&ls);
        return r;
    }
    *out = ls;
    return 0;
}

void linesrc_destroy(LineSrc **pls)
{
    LineSrc *ls = *pls;
    if (!ls) return;
    if (ls->z_ready) inflateEnd(&ls->z);
    if (ls->own_fd) close(ls->fd);
    free(ls->in);
    free(ls->buf);
    free(ls->name);
    free(ls);
    *pls = NULL;
}

/* Move the unread tail to the front, grow if one line fills the buffer,
 * and decode more bytes behind it. */
static int fill(LineSrc *ls)
{
    size_t avail = ls->end - ls->pos;
    if (ls->pos) {
        memmove(ls->buf, ls->buf + ls->pos, avail);
        ls->pos = 0;
        ls->end = avail;
    }
    if (ls->end + 1 >= ls->cap) {
        if (ls->cap > LINESRC_MAX_LINE)
            return ss_error_set(E2BIG, "%s:%zu: line longer than %u MiB", ls->name,
                                ls->line_no + 1, LINESRC_MAX_LINE >> 20);
        ls->cap = 2 * ls->cap - 1;
        ls->buf = ss_realloc(ls->buf, ls->cap);
    }
    size_t got, room = ls->cap - 1 - ls->end;
    if (!ls->filled) room = SS_MIN(room, LINESRC_FIRST_FILL);
    else if (ls->gzip) room = SS_MIN(room, LINESRC_GZ_FILL);
    ls->filled = true;
    int r = decode(ls, ls->buf + ls->end, room, &got);
    if (r) return r;
    if (!got) ls->eof = true;
    ls->end += got;
    return 0;
}

int linesrc_next(LineSrc *ls, char **line, size_t *len)
{
    if (ls->unget) {
        ls->unget = false;
        ls->line_no++;
        *line = ls->last;
        *len = ls->last_len;
        return 1;
    }
    for (;;) {
        char *p = ls->buf + ls->pos;
        size_t avail = ls->end - ls->pos;
        char *nl = avail ? memchr(p, '\n', avail) : NULL;
        if (nl || (ls->eof && avail)) {
            size_t n = nl ? (size_t)(nl - p) : avail;
            ls->pos += nl ? n + 1 : n;
            p[n] = '\0'; /* the spare byte at the end of buf covers the no-'\n' case */
            if (n && p[n - 1] == '\r') p[--n] = '\0';
            if (ls->first_line) {
                ls->first_line = false;
                if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) {
                    p += 3;
                    n -= 3;
                }
            }
            ls->line_no++;
            ls->last = p;
            ls->last_len = n;
            *line = p;
            *len = n;
            return 1;
        }
        if (ls->eof) return 0;
        int r = fill(ls);
        if (r) return r;
    }
}

void linesrc_unget(LineSrc *ls)
{
    SS_ASSERT(ls->last && !ls->unget);
    ls->unget = true;
    ls->line_no--;
}

size_t linesrc_line_no(const LineSrc *ls) { return ls->line_no; }
const char *linesrc_name(const LineSrc *ls) { return ls->name; }
bool linesrc_is_gzip(const LineSrc *ls) { return ls->gzip; }
