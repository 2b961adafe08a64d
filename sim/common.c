#include "common.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Thread_local char error_message[1024];

void ss_abort(const char *file, int line, const char *what)
{
    fprintf(stderr, "servesim: internal error at %s:%d: %s\n", file, line, what);
    fflush(stderr);
    abort();
}

int ss_error_set(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof(error_message), fmt, ap);
    va_end(ap);
    return err > 0 ? -err : err;
}

const char *ss_error_get(void) { return error_message; }
void ss_error_clear(void) { error_message[0] = '\0'; }

void *ss_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) ss_abort(__FILE__, __LINE__, "out of memory");
    return p;
}

void *ss_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) ss_abort(__FILE__, __LINE__, "out of memory");
    return p;
}

void *ss_realloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q) ss_abort(__FILE__, __LINE__, "out of memory");
    return q;
}

char *ss_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = ss_malloc(n);
    memcpy(d, s, n);
    return d;
}

double ss_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int ss_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s) return -EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE) return -ERANGE;
    if (end == s) return -EINVAL;
    while (*end == ' ' || *end == '\t') end++;
    if (*end) return -EINVAL;
    *out = (int64_t)v;
    return 0;
}

int ss_parse_double(const char *s, double *out)
{
    if (!s || !*s) return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL)) return -ERANGE;
    if (end == s) return -EINVAL;
    while (*end == ' ' || *end == '\t') end++;
    if (*end) return -EINVAL;
    if (!isfinite(v)) return -ERANGE;
    *out = v;
    return 0;
}
