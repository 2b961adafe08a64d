/* fields.c: field parsers and the --map parser shared by the formats.
 *
 * Numbers are parsed strictly (the whole field, no overflow) with a fast
 * path for plain decimal integers, which is what traces hold; timestamps are
 * parsed in integers so that an hour of 100 ns ticks keeps every tick. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "format.h"

static inline bool is_blank(char c) { return c == ' ' || c == '\t'; }
static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

int trace_bad_row(const char *file, size_t line, const char *field, const char *fmt, ...)
{
    char reason[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    return ss_error_set(TRACE_BAD_ROW, "%s:%zu: %s: %s", file, line, field, reason);
}

int trace_field_tokens(const char *s, const char *file, size_t line, const char *field,
                       int64_t *out)
{
    const char *p = s;
    while (is_blank(*p)) p++;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+') p++;
    if (!is_digit(*p)) {
        if (!*s) return trace_bad_row(file, line, field, "empty");
        return trace_bad_row(file, line, field, "not an integer: '%.40s'", s);
    }
    uint64_t v = 0;
    bool overflow = false;
    for (; is_digit(*p); p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > INT32_MAX) {
            overflow = true;
            v = INT32_MAX;
        }
    }
    while (is_blank(*p)) p++;
    if (*p) return trace_bad_row(file, line, field, "not an integer: '%.40s'", s);
    if (neg && v) return trace_bad_row(file, line, field, "negative: '%.40s'", s);
    if (overflow) return trace_bad_row(file, line, field, "overflow: '%.40s' > %d", s, INT32_MAX);
    *out = (int64_t)v;
    return 0;
}

int trace_field_seconds(const char *s, const char *file, size_t line, const char *field,
                        double *out)
{
    const char *p = s;
    uint64_t v = 0;
    int digits = 0;
    for (; is_digit(*p) && digits < 15; p++, digits++) v = v * 10 + (uint64_t)(*p - '0');
    if (digits && !*p) { /* plain integer seconds, exact */
        *out = (double)v;
        return 0;
    }
    double d;
    int r = ss_parse_double(s, &d);
    if (r == -ERANGE) return trace_bad_row(file, line, field, "overflow: '%.40s'", s);
    if (r) return trace_bad_row(file, line, field, *s ? "not a number: '%.40s'" : "empty", s);
    if (d < 0) return trace_bad_row(file, line, field, "negative: '%.40s'", s);
    *out = d;
    return 0;
}

static bool digits_at(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i])) return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* The last timestamp's date and hour ("YYYY-MM-DD HH:", validated) and its
 * seconds since the epoch: a trace's rows are in time order, so most share
 * them with the row before and skip the calendar arithmetic.  Per thread:
 * readers on other threads (sweeps, fleets) keep their own. */
enum { ISO_HOUR_PREFIX = 14 };
static _Thread_local struct {
    char prefix[ISO_HOUR_PREFIX + 1];
    int64_t hour_s;
} iso_last_hour;

int trace_parse_iso_ns(const char *s, int64_t *ns)
{
    int y, mo, d, h, mi, sec;
    int64_t hour_s;
    while (is_blank(*s)) s++;
    /* strncmp, not memcmp: it stops at a shorter string's NUL */
    if (iso_last_hour.prefix[0] && !strncmp(s, iso_last_hour.prefix, ISO_HOUR_PREFIX)) {
        hour_s = iso_last_hour.hour_s;
    } else {
        if (!digits_at(s, 4, &y) || s[4] != '-' || !digits_at(s + 5, 2, &mo) || s[7] != '-' ||
            !digits_at(s + 8, 2, &d) || (s[10] != ' ' && s[10] != 'T') || !digits_at(s + 11, 2, &h) ||
            s[13] != ':')
            return -EINVAL;
        if (y < 1900 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23)
            return -EINVAL;
        hour_s = days_from_civil(y, mo, d) * 86400 + h * 3600;
        memcpy(iso_last_hour.prefix, s, ISO_HOUR_PREFIX);
        iso_last_hour.hour_s = hour_s;
    }
    if (!digits_at(s + 14, 2, &mi) || s[16] != ':' || !digits_at(s + 17, 2, &sec) || mi > 59 || sec > 60)
        return -EINVAL;
    const char *p = s + 19;
    int64_t frac = 0; /* ns */
    if (*p == '.') {
        p++;
        if (!is_digit(*p)) return -EINVAL;
        static const int64_t ns_per_unit[10] = { 1000000000, 100000000, 10000000, 1000000, 100000,
                                                 10000, 1000, 100, 10, 1 };
        int n = 0;
        for (; is_digit(*p); p++)
            if (n < 9) frac = frac * 10 + (*p - '0'), n++; /* digits past ns drop */
        frac *= ns_per_unit[n];
    }
    int64_t tz = 0; /* seconds east of UTC */
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int th, tm;
        int sign = *p == '-' ? -1 : 1;
        if (!digits_at(p + 1, 2, &th)) return -EINVAL;
        p += 3;
        if (*p == ':') p++;
        if (!digits_at(p, 2, &tm) || th > 23 || tm > 59) return -EINVAL;
        p += 2;
        tz = sign * (th * 3600 + tm * 60);
    }
    while (is_blank(*p)) p++;
    if (*p) return -EINVAL;
    int64_t secs = hour_s + mi * 60 + sec - tz;
    *ns = secs * 1000000000 + frac;
    return 0;
}

void trace_copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int map_set(TraceMap *m, const char *key, const char *val)
{
    struct { const char *key; char *dst; } slots[] = {
        { "arrival", m->arrival }, { "input", m->input }, { "output", m->output },
        { "model", m->model }, { "app", m->app }, { "text", m->text },
        { "instruction", m->instruction }, { "log_type", m->log_type },
        { "session", m->session }, { "hash_ids", m->hash_ids },
    };
    for (size_t i = 0; i < SS_ARRAY_LEN(slots); i++) {
        if (strcmp(key, slots[i].key)) continue;
        if (!*val || strlen(val) >= sizeof(m->arrival))
            return ss_error_set(EINVAL, "--map: %s: column name empty or longer than 63 bytes", key);
        strcpy(slots[i].dst, val);
        return 0;
    }
    return ss_error_set(EINVAL, "--map: unknown key '%s' (keys: arrival, input, output, model, app, "
                        "text, instruction, log_type, session, hash_ids)", key);
}

int trace_map_parse(const char *spec, TraceMap *m)
{
    memset(m, 0, sizeof(*m));
    if (!spec || !*spec)
        return ss_error_set(EINVAL, "--map is needed: arrival=COL[:s|ms|us|iso],input=COL,output=COL");
    char buf[1024];
    if (strlen(spec) >= sizeof(buf)) return ss_error_set(EINVAL, "--map: longer than 1023 bytes");
    strcpy(buf, spec);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) return ss_error_set(EINVAL, "--map: '%s' is not key=column", item);
        *eq = '\0';
        if (!strcmp(item, "arrival")) {
            static const char *units[] = { "s", "ms", "us", "iso" };
            char *colon = strrchr(eq + 1, ':');
            for (size_t u = 0; colon && u < SS_ARRAY_LEN(units); u++) {
                if (strcmp(colon + 1, units[u])) continue;
                m->unit = (TraceTimeUnit)u;
                *colon = '\0';
                break;
            }
            if (colon && *colon)
                return ss_error_set(EINVAL, "--map: arrival unit '%s' is not s, ms, us or iso", colon + 1);
        }
        int r = map_set(m, item, eq + 1);
        if (r) return r;
    }
    if (!m->arrival[0] || !m->input[0] || !m->output[0])
        return ss_error_set(EINVAL, "--map: arrival, input and output are required (got '%s')", spec);
    if (!strcmp(m->input, "-") || !strcmp(m->output, "-"))
        return ss_error_set(EINVAL, "--map: input and output need a column ('-' is for arrival only)");
    return 0;
}

double trace_unit_scale(TraceTimeUnit u)
{
    return u == TRACE_UNIT_MS ? 1e-3 : u == TRACE_UNIT_US ? 1e-6 : 1.0;
}

int trace_map_time(const TraceMap *m, TraceTimeBase *base, const char *s, const char *file,
                   size_t line, double *t_s)
{
    if (m->unit != TRACE_UNIT_ISO) {
        int r = trace_field_seconds(s, file, line, m->arrival, t_s);
        *t_s *= trace_unit_scale(m->unit);
        return r;
    }
    int64_t ns;
    if (trace_parse_iso_ns(s, &ns))
        return trace_bad_row(file, line, m->arrival, "not an ISO timestamp: '%.40s'", s);
    if (!base->have_first) {
        base->first_ns = ns;
        base->have_first = true;
    }
    *t_s = (double)(ns - base->first_ns) * 1e-9;
    return 0;
}
