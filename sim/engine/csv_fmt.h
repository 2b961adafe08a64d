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

static inline char *csv_put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) *p++ = tmp[--n];
    return p;
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
    uint64_t ns = (uint64_t)llround(a * 1e9);
    p = csv_put_u64(p, ns / 1000000000u);
    uint64_t frac = ns % 1000000000u;
    if (frac) {
        char digits[9];
        for (int i = 8; i >= 0; i--) { digits[i] = (char)('0' + frac % 10); frac /= 10; }
        int len = 9;
        while (digits[len - 1] == '0') len--;
        *p++ = '.';
        memcpy(p, digits, (size_t)len);
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
