#include "opts.h"

#include "common.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const OptSpec *opts_find(const OptSpec *specs, const char *key, size_t key_len)
{
    for (const OptSpec *s = specs; s && s->name; s++)
        if (strlen(s->name) == key_len && !strncmp(s->name, key, key_len)) return s;
    return NULL;
}

/* The index of `value` among "a|b|c", or -1. */
static int choice_index(const char *choices, const char *value)
{
    int index = 0;
    const char *p = choices;
    size_t n = strlen(value);
    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, value, n)) return index;
        index++;
        p = bar ? bar + 1 : NULL;
    }
    return -1;
}

static int parse_bool(const char *v, bool *out)
{
    static const char *yes[] = { "1", "true", "yes", "on" };
    static const char *no[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < SS_ARRAY_LEN(yes); i++)
        if (!strcasecmp(v, yes[i])) { *out = true; return 0; }
    for (size_t i = 0; i < SS_ARRAY_LEN(no); i++)
        if (!strcasecmp(v, no[i])) { *out = false; return 0; }
    return -EINVAL;
}

static int check_bounds(const OptSpec *s, double v, const char *owner, const char *text)
{
    if (s->min <= s->max && (v < s->min || v > s->max))
        return ss_error_set(ERANGE, "%s: option '%s': %s is out of range [%g, %g]",
                            owner, s->name, text, s->min, s->max);
    return 0;
}

static int opts_set(const OptSpec *s, const char *value, void *out, const char *owner)
{
    char *field = (char *)out + s->offset;
    switch (s->type) {
    case OPT_INT: {
        int64_t v;
        if (ss_parse_i64(value, &v))
            return ss_error_set(EINVAL, "%s: option '%s': '%s' is not an integer",
                                owner, s->name, value);
        int r = check_bounds(s, (double)v, owner, value);
        if (r) return r;
        memcpy(field, &v, sizeof(v));
        return 0;
    }
    case OPT_DOUBLE: {
        double v;
        if (ss_parse_double(value, &v))
            return ss_error_set(EINVAL, "%s: option '%s': '%s' is not a finite number",
                                owner, s->name, value);
        int r = check_bounds(s, v, owner, value);
        if (r) return r;
        memcpy(field, &v, sizeof(v));
        return 0;
    }
    case OPT_BOOL: {
        bool v;
        if (parse_bool(value, &v))
            return ss_error_set(EINVAL, "%s: option '%s': '%s' is not a boolean (true/false)",
                                owner, s->name, value);
        memcpy(field, &v, sizeof(v));
        return 0;
    }
    case OPT_STRING:
        if (strlen(value) >= OPTS_STRING_MAX)
            return ss_error_set(EINVAL, "%s: option '%s': value longer than %d characters",
                                owner, s->name, OPTS_STRING_MAX - 1);
        strcpy(field, value);
        return 0;
    case OPT_CHOICE: {
        int v = choice_index(s->choices, value);
        if (v < 0)
            return ss_error_set(EINVAL, "%s: option '%s': '%s' is not one of %s",
                                owner, s->name, value, s->choices);
        memcpy(field, &v, sizeof(v));
        return 0;
    }
    }
    return ss_error_set(EINVAL, "%s: option '%s': unknown type", owner, s->name);
}

int opts_defaults(const OptSpec *specs, void *out)
{
    for (const OptSpec *s = specs; s && s->name; s++) {
        int r = opts_set(s, s->default_value ? s->default_value : "", out, "default");
        if (r) return r;
    }
    return 0;
}

static void known_keys(const OptSpec *specs, char *buf, size_t cap)
{
    buf[0] = '\0';
    size_t used = 0;
    for (const OptSpec *s = specs; s && s->name; s++) {
        int n = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", s->name);
        if (n < 0 || (size_t)n >= cap - used) break;
        used += (size_t)n;
    }
    if (!used) snprintf(buf, cap, "none");
}

int opts_parse(const OptSpec *specs, const char *kvs, void *out, const char *owner)
{
    if (!kvs) return 0;
    const char *p = kvs;
    const OptSpec *seen[64];   /* a key given twice is an error, not "the last one wins" */
    size_t n_seen = 0;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t item_len = comma ? (size_t)(comma - p) : strlen(p);
        if (item_len == 0) { p += comma ? 1 : 0; if (!comma) break; continue; }
        const char *eq = memchr(p, '=', item_len);
        if (!eq)
            return ss_error_set(EINVAL, "%s: '%.*s' is not key=value", owner, (int)item_len, p);
        size_t key_len = (size_t)(eq - p);
        const OptSpec *s = opts_find(specs, p, key_len);
        if (!s) {
            char known[512];
            known_keys(specs, known, sizeof(known));
            return ss_error_set(EINVAL, "%s: unknown option '%.*s' (known: %s)",
                                owner, (int)key_len, p, known);
        }
        for (size_t i = 0; i < n_seen; i++)
            if (seen[i] == s)
                return ss_error_set(EINVAL, "%s: option '%s' given twice", owner, s->name);
        if (n_seen < SS_ARRAY_LEN(seen)) seen[n_seen++] = s;
        char value[OPTS_STRING_MAX + 1];
        size_t value_len = item_len - key_len - 1;
        if (value_len > OPTS_STRING_MAX)
            return ss_error_set(EINVAL, "%s: option '%s': value too long", owner, s->name);
        memcpy(value, eq + 1, value_len);
        value[value_len] = '\0';
        int r = opts_set(s, value, out, owner);
        if (r) return r;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

int opts_init(const OptSpec *specs, const char *kvs, void *out, const char *owner)
{
    int r = opts_defaults(specs, out);
    return r ? r : opts_parse(specs, kvs, out, owner);
}

int opts_split_spec(const char *spec, char *name, size_t cap, const char **kvs)
{
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len == 0) return ss_error_set(EINVAL, "empty plug-in name in '%s'", spec);
    if (len >= cap) return ss_error_set(EINVAL, "plug-in name too long in '%s'", spec);
    memcpy(name, spec, len);
    name[len] = '\0';
    *kvs = colon ? colon + 1 : NULL;
    return 0;
}

bool opts_spec_has_key(const char *kvs, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = kvs; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len > n && p[n] == '=' && !strncmp(p, key, n)) return true;
        p = p[len] ? p + len + 1 : NULL;
    }
    return false;
}

static const char *type_name(const OptSpec *s)
{
    switch (s->type) {
    case OPT_INT: return "int";
    case OPT_DOUBLE: return "real";
    case OPT_BOOL: return "bool";
    case OPT_STRING: return "text";
    case OPT_CHOICE: return s->choices;
    }
    return "?";
}

void opts_print(FILE *f, const OptSpec *specs, const char *indent)
{
    for (const OptSpec *s = specs; s && s->name; s++)
        fprintf(f, "%s%-16s %-22s default %-10s %s\n", indent, s->name, type_name(s),
                s->default_value && *s->default_value ? s->default_value : "\"\"",
                s->help ? s->help : "");
}

const char *opts_choice_name(const OptSpec *specs, const char *name, int index)
{
    static _Thread_local char buf[OPTS_STRING_MAX];
    const OptSpec *s = opts_find(specs, name, strlen(name));
    if (!s || s->type != OPT_CHOICE) return "?";
    const char *p = s->choices;
    for (int i = 0; p && *p; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (i == index) {
            len = SS_MIN(len, sizeof(buf) - 1);
            memcpy(buf, p, len);
            buf[len] = '\0';
            return buf;
        }
        p = bar ? bar + 1 : NULL;
    }
    return "?";
}

json_t *opts_to_json(const OptSpec *specs, const void *values)
{
    json_t *o = json_object();
    for (const OptSpec *s = specs; s && s->name; s++) {
        const char *field = (const char *)values + s->offset;
        json_t *v = NULL;
        switch (s->type) {
        case OPT_INT: { int64_t x; memcpy(&x, field, sizeof(x)); v = json_integer(x); break; }
        case OPT_DOUBLE: { double x; memcpy(&x, field, sizeof(x)); v = json_real(x); break; }
        case OPT_BOOL: { bool x; memcpy(&x, field, sizeof(x)); v = json_boolean(x); break; }
        case OPT_STRING: v = json_string(field); break;
        case OPT_CHOICE: {
            int x; memcpy(&x, field, sizeof(x));
            v = json_string(opts_choice_name(specs, s->name, x));
            break;
        }
        }
        json_object_set_new(o, s->name, v);
    }
    return o;
}
