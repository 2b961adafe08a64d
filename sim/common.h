/* common.h: errors, invariants and allocation helpers shared by every module.
 *
 * Library code returns 0 or a negative errno and leaves a human-readable
 * message in a thread-local buffer (ss_error_set); the CLI prints that
 * message once and exits non-zero.  Invariants that can only fail through a
 * bug abort with file:line and stay on in release builds. */
#ifndef SERVESIM_COMMON_H
#define SERVESIM_COMMON_H

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define SS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define SS_NORETURN __attribute__((noreturn))
#else
#define SS_PRINTF(a, b)
#define SS_NORETURN
#endif

#define SS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SS_MAX(a, b) ((a) > (b) ? (a) : (b))

SS_NORETURN void ss_abort(const char *file, int line, const char *what);

/* Always on, release builds included: a broken invariant is a bug. */
#define SS_ASSERT(cond) \
    do { if (!(cond)) ss_abort(__FILE__, __LINE__, #cond); } while (0)

/* Record the message that explains the error about to be returned.
 * Returns -err so that `return ss_error_set(EINVAL, ...)` reads well. */
int ss_error_set(int err, const char *fmt, ...) SS_PRINTF(2, 3);
/* The last message set on this thread ("" if none). */
const char *ss_error_get(void);
void ss_error_clear(void);

/* Allocation that aborts on exhaustion: out-of-memory is not a recoverable
 * input error in a simulator, and checking every small allocation would
 * bury the logic. */
void *ss_malloc(size_t size);
void *ss_calloc(size_t n, size_t size);
void *ss_realloc(void *p, size_t size);
char *ss_strdup(const char *s);

/* Grow a dynamic array to hold at least `need` elements. */
#define SS_GROW(ptr, cap, need)                                              \
    do {                                                                     \
        if ((size_t)(need) > (size_t)(cap)) {                                \
            size_t ss_new_cap_ = (cap) ? (size_t)(cap) * 2 : 16;             \
            while (ss_new_cap_ < (size_t)(need)) ss_new_cap_ *= 2;           \
            (ptr) = ss_realloc((ptr), ss_new_cap_ * sizeof(*(ptr)));         \
            (cap) = ss_new_cap_;                                             \
        }                                                                    \
    } while (0)

/* Monotonic wall clock, seconds. */
double ss_wall_seconds(void);

/* lround() without the libm call (a tenth of an arrival's cost): truncate,
 * then round the exact remainder half away from zero, as lround does. */
static inline long ss_lround(double x)
{
    double a = x < 0 ? -x : x;
    if (!(a < 4e18)) return lround(x); /* NaN, huge: libm's answer */
    long n = (long)a;
    if (a - (double)n >= 0.5) n++;
    return x < 0 ? -n : n;
}

/* Strict number parsing: the whole string must be consumed, no overflow.
 * Return 0 or -EINVAL / -ERANGE (no message set: callers know the field). */
int ss_parse_i64(const char *s, int64_t *out);
int ss_parse_double(const char *s, double *out);

/* Hex sha256 of a file (64 chars + NUL) for results manifests. */
int ss_sha256_file(const char *path, char out_hex[65]);

#endif
