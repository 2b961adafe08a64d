/* fleet.c: parsing fleet specs. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "fleet.h"

/* One "NxGPU[:tp=K]" token (options may follow as further ",key=value"). */
static int parse_group(FleetGroup *g, const char *tok, size_t len, const char *text)
{
    char buf[128];
    if (len >= sizeof(buf)) return ss_error_set(EINVAL, "--fleet '%s': entry too long", text);
    memcpy(buf, tok, len);
    buf[len] = '\0';
    g->role = FLEET_ROLE_BOTH;
    char *body = buf;
    if (!strncmp(buf, "prefill:", 8)) g->role = FLEET_ROLE_PREFILL, body = buf + 8;
    else if (!strncmp(buf, "decode:", 7)) g->role = FLEET_ROLE_DECODE, body = buf + 7;
    memmove(buf, body, strlen(body) + 1);
    char *x = strchr(buf, 'x');
    if (!x || x == buf) return ss_error_set(EINVAL, "--fleet '%s': '%s' is not COUNTxGPU", text, buf);
    *x = '\0';
    int64_t count;
    if (ss_parse_i64(buf, &count) || count < 1 || count > 100000)
        return ss_error_set(EINVAL, "--fleet '%s': count '%s' is not in 1..100000", text, buf);
    char *colon = strchr(x + 1, ':');
    if (colon) *colon = '\0';
    if (!x[1] || strlen(x + 1) >= sizeof(g->gpu))
        return ss_error_set(EINVAL, "--fleet '%s': missing or too long GPU name", text);
    g->count = (int32_t)count;
    snprintf(g->gpu, sizeof(g->gpu), "%s", x + 1);
    g->tp = 1;
    if (colon) {
        int64_t tp;
        if (strncmp(colon + 1, "tp=", 3) || ss_parse_i64(colon + 4, &tp) || tp < 1 || tp > 64)
            return ss_error_set(EINVAL, "--fleet '%s': '%s' is not tp=N (1..64)", text, colon + 1);
        g->tp = (int32_t)tp;
    }
    return 0;
}

int fleet_spec_parse(FleetSpec *f, const char *text)
{
    memset(f, 0, sizeof(*f));
    const char *p = text;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (f->n_groups == FLEET_MAX_GROUPS)
            return ss_error_set(EINVAL, "--fleet '%s': more than %d groups", text, FLEET_MAX_GROUPS);
        int r = parse_group(&f->groups[f->n_groups], p, len, text);
        if (r) return r;
        f->instances += f->groups[f->n_groups++].count;
        if (f->instances > 100000) return ss_error_set(EINVAL, "--fleet '%s': too many instances", text);
        if (!comma) break;
        p = comma + 1;
    }
    if (!f->n_groups) return ss_error_set(EINVAL, "--fleet: empty");
    int32_t with_role = 0, prefill = 0, decode = 0;
    for (int32_t g = 0; g < f->n_groups; g++) {
        with_role += f->groups[g].role != FLEET_ROLE_BOTH;
        prefill += f->groups[g].role == FLEET_ROLE_PREFILL;
        decode += f->groups[g].role == FLEET_ROLE_DECODE;
    }
    if (with_role && with_role != f->n_groups)
        return ss_error_set(EINVAL, "--fleet '%s': give every group a role (prefill: or decode:) or none", text);
    if (with_role && (!prefill || !decode))
        return ss_error_set(EINVAL, "--fleet '%s': a disaggregated fleet needs a prefill: group and a decode: group",
                            text);
    f->disaggregated = with_role > 0;
    return 0;
}
