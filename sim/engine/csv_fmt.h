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
#include <stdio.h>
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

/* Exactly nine digits (leading zeros kept) of v < 1e9: the fraction of a
 * time in nanoseconds, written with fixed divisions (multiplies). */
static inline void csv_fill9(char *p, uint32_t v)
{
    uint32_t hi = v / 100000000u, r = v % 100000000u;
    p[0] = (char)('0' + hi);
    memcpy(p + 1, csv_digit_pairs + 2 * (r / 1000000u), 2);
    memcpy(p + 3, csv_digit_pairs + 2 * (r / 10000u % 100u), 2);
    memcpy(p + 5, csv_digit_pairs + 2 * (r / 100u % 100u), 2);
    memcpy(p + 7, csv_digit_pairs + 2 * (r % 100u), 2);
}

/* Decimal digits of v (1 for 0): comparisons, not a division per digit. */
static inline int csv_digits_u32(uint32_t v)
{
    if (v < 100000) return v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : 5;
    return v < 1000000 ? 6 : v < 10000000 ? 7 : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

static inline char *csv_put_u64(char *p, uint64_t v)
{
    if (v > UINT32_MAX) { /* the upper digits first, then nine more */
        p = csv_put_u64(p, v / 1000000000u);
        csv_fill9(p, (uint32_t)(v % 1000000000u));
        return p + 9;
    }
    int n = csv_digits_u32((uint32_t)v);
    csv_fill_digits(p, (uint32_t)v, n);
    return p + n;
}

static inline char *csv_put_i64(char *p, int64_t v)
{
    if (v < 0) { *p++ = '-'; return csv_put_u64(p, (uint64_t)0 - (uint64_t)v); }
    return csv_put_u64(p, (uint64_t)v);
}

/* Seconds with nanosecond resolution; nan for NaN; microseconds beyond 1e9 s. */
static inline char *csv_put_seconds(char *p, double v)
{
    if (isnan(v)) { memcpy(p, "nan", 3); return p + 3; }
    double a = fabs(v);
    /* Past 1e9 s a double resolves ~1e-7 s: microseconds, never fewer
     * significant digits than the time has (%.9g printed 1e9 + 1 as 1e9). */
    if (a >= 1e15) return p + sprintf(p, "%.17g", v);
    if (a >= 1e9) return p + sprintf(p, "%.6f", v);
    if (v < 0) *p++ = '-';
    /* llround(a * 1e9) without the libm call: x < 1e18 < 2^63 truncates exactly, and
     * x - trunc(x) is exact, so ties go up (away from zero) as llround's do. */
    double x = a * 1e9;
    uint64_t ns = (uint64_t)x;
    if (x - (double)ns >= 0.5) ns++;
    uint32_t sec = (uint32_t)(ns / 1000000000u); /* <= 1e9: a < 1e9 rounds up at most to it */
    uint32_t frac = (uint32_t)(ns - (uint64_t)sec * 1000000000u);
    int n = csv_digits_u32(sec);
    csv_fill_digits(p, sec, n);
    p += n;
    if (frac) {
        /* All nine decimals, then the trailing zeros trimmed (frac != 0: one stays). */
        *p = '.';
        csv_fill9(p + 1, frac);
        int len = 9;
        while (p[len] == '0') len--;
        p += 1 + len;
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
