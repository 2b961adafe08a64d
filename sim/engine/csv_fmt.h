/* csv_fmt.h: fast number formatting for the per-request CSV.
 *
 * printf("%.9g") costs about 2 us per row of 17 fields, which was most of a
 * 20 k-request run.  Times here are seconds >= 0 (or -1 for "never") at
 * nanosecond resolution, so they are printed as fixed-point with up to nine
 * decimals from integer arithmetic, trailing zeros trimmed: exact to the
 * nanosecond and readable by pandas as floats. */
#ifndef SERVESIM_CSV_FMT_H
#define SERVESIM_CSV_FMT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* "00" .. "99": two digits per division (the digit loops were most of a row). */
static const char csv_digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Writes v's `n` lowest decimal digits ending at p + n (leading zeros kept).
 * 32-bit: every field but an id past 4e9 fits, and 32-bit division is cheaper. */
static inline void csv_fill_digits(char *p, uint32_t v, int n)
{
    while (n >= 2) {
        n -= 2;
        memcpy(p + n, csv_digit_pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (n) p[0] = (char)('0' + v % 10);
}

static inline char *csv_put_u64(char *p, uint64_t v)
{
    if (v > UINT32_MAX) { /* the upper digits first, then nine more */
        p = csv_put_u64(p, v / 1000000000u);
        csv_fill_digits(p, (uint32_t)(v % 1000000000u), 9);
        return p + 9;
    }
    uint32_t v32 = (uint32_t)v;
    int n = 1;
    for (uint32_t x = v32; x >= 10; x /= 10) n++;
    csv_fill_digits(p, v32, n);
    return p + n;
}

static inline char *csv_put_i64(char *p, int64_t v)
{
    if (v < 0) { *p++ = '-'; return csv_put_u64(p, (uint64_t)0 - (uint64_t)v); }
    return csv_put_u64(p, (uint64_t)v);
}

/* Seconds with nanosecond resolution; nan for NaN; %.9g beyond 1e9 s. */
static inline char *csv_put_seconds(char *p, double v)
{
    if (isnan(v)) { memcpy(p, "nan", 3); return p + 3; }
    double a = fabs(v);
    if (a >= 1e9) return p + sprintf(p, "%.9g", v);
    if (v < 0) *p++ = '-';
    /* llround(a * 1e9) without the libm call: x < 1e18 < 2^63 truncates exactly, and
     * x - trunc(x) is exact, so ties go up (away from zero) as llround's do. */
    double x = a * 1e9;
    uint64_t ns = (uint64_t)x;
    if (x - (double)ns >= 0.5) ns++;
    p = csv_put_u64(p, ns / 1000000000u);
    uint32_t frac = (uint32_t)(ns % 1000000000u);
    if (frac) {
        int len = 9;
        while (frac % 10 == 0) frac /= 10, len--; /* trailing zeros trimmed */
        *p++ = '.';
        csv_fill_digits(p, frac, len);
        p += len;
    }
    return p;
}

static inline char *csv_put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

#endif
