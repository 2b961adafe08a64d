/* compare_load.c: result sets on disk (one summary.json, a run directory, or
 * a tree of run directories), pairing runs by relative path, and the table. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "compare.h"

typedef struct RunSet {
    char (*name)[256];       /* relative directory, "" for a single run */
    json_t **metrics;        /* the "metrics" object of each summary (owned) */
    size_t n, cap, name_cap;
} RunSet;

static int set_add(RunSet *s, const char *file, const char *rel)
{
    json_error_t jerr;
    json_t *j = json_load_file(file, 0, &jerr);
    if (!j) return ss_error_set(EINVAL, "%s:%d: %s", file, jerr.line, jerr.text);
    json_t *m = json_object_get(j, "metrics");
    if (!json_is_object(m)) {
        json_decref(j);
        return ss_error_set(EINVAL, "%s: no \"metrics\" object (not a servesim summary.json?)", file);
    }
    SS_GROW(s->metrics, s->cap, s->n + 1);
    SS_GROW(s->name, s->name_cap, s->n + 1);
    snprintf(s->name[s->n], sizeof(s->name[0]), "%s", rel);
    s->metrics[s->n++] = json_incref(m);
    json_decref(j);
    return 0;
}

static void set_free(RunSet *s)
{
    for (size_t i = 0; i < s->n; i++) json_decref(s->metrics[i]);
    free(s->metrics);
    free(s->name);
    memset(s, 0, sizeof(*s));
}

static bool is_dir(const char *p)
{
    struct stat st;
    return !stat(p, &st) && S_ISDIR(st.st_mode);
}

/* Every run directory under root/rel, in sorted order (depth-first). */
static int scan(RunSet *s, const char *root, const char *rel, int depth)
{
    char dir[4096], file[4200];
    snprintf(dir, sizeof(dir), "%s%s%s", root, *rel ? "/" : "", rel);
    snprintf(file, sizeof(file), "%s/summary.json", dir);
    struct stat st;
    if (!stat(file, &st)) return set_add(s, file, rel);
    if (depth > 4) return 0;
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0) return ss_error_set(errno, "%s: %s", dir, strerror(errno));
    int r = 0;
    for (int i = 0; i < n; i++) {
        char sub[4096], path[4400];
        const char *nm = ents[i]->d_name;
        if (!r && nm[0] != '.') {
            int w1 = snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", nm);
            int w2 = snprintf(path, sizeof(path), "%s/%s", root, sub);
            if (w1 < (int)sizeof(sub) && w2 < (int)sizeof(path) && is_dir(path)) r = scan(s, root, sub, depth + 1);
        }
        free(ents[i]);
    }
    free(ents);
    return r;
}

static int set_load(RunSet *s, const char *path)
{
    struct stat st;
    if (stat(path, &st)) return ss_error_set(ENOENT, "%s: %s", path, strerror(errno));
    int r = S_ISDIR(st.st_mode) ? scan(s, path, "", 0) : set_add(s, path, "");
    if (!r && !s->n) r = ss_error_set(ENOENT, "%s: no summary.json found", path);
    return r;
}

static int find_run(const RunSet *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++) if (!strcmp(s->name[i], name)) return (int)i;
    return -1;
}

int compare_paths(const char *a, const char *b, const CompareRules *rules, CompareResult *out)
{
    RunSet sa = { 0 }, sb = { 0 };
    memset(out, 0, sizeof(*out));
    int r = set_load(&sa, a);
    if (!r) r = set_load(&sb, b);
    if (r) goto done;
    if (sa.n == 1 && sb.n == 1) {   /* two single runs pair whatever their names */
        compare__metrics(out, sa.name[0], sa.metrics[0], sb.metrics[0], rules);
        goto done;
    }
    for (size_t i = 0; i < sb.n && !r; i++)
        if (find_run(&sa, sb.name[i]) < 0) r = ss_error_set(ENOENT, "run '%s' is in %s but not in %s", sb.name[i], b, a);
    for (size_t i = 0; i < sa.n && !r; i++) {
        int j = find_run(&sb, sa.name[i]);
        if (j < 0) r = ss_error_set(ENOENT, "run '%s' is in %s but not in %s", sa.name[i], a, b);
        else compare__metrics(out, sa.name[i], sa.metrics[i], sb.metrics[j], rules);
    }
done:
    set_free(&sa);
    set_free(&sb);
    if (r) compare_result_free(out);
    return r;
}

void compare_result_free(CompareResult *r)
{
    free(r->rows);
    memset(r, 0, sizeof(*r));
}

static const char *verdict_name(const CompareRow *w)
{
    switch (w->verdict) {
    case CMP_SAME: return "same";
    case CMP_WITHIN: return w->dir == CMP_INFO ? "(info)" : "within";
    case CMP_BETTER: return "better";
    case CMP_REGRESSION: return "REGRESSION";
    default: return "n/a";
    }
}

void compare_print(FILE *f, const CompareResult *r, bool all)
{
    fprintf(f, "%-24s %-24s %14s %14s %9s %11s  %s\n", "run", "metric", "A", "B", "change", "allowed", "verdict");
    for (size_t i = 0; i < r->n; i++) {
        const CompareRow *w = &r->rows[i];
        if (!all && (w->dir == CMP_INFO || w->verdict == CMP_SAME)) continue;
        char change[32] = "", allowed[32] = "";
        if (isfinite(w->a) && isfinite(w->b) && w->a != 0)
            snprintf(change, sizeof(change), "%+.2f%%", 100 * (w->b - w->a) / fabs(w->a));
        if (w->dir != CMP_INFO) snprintf(allowed, sizeof(allowed), "%c%.4g", w->dir == CMP_HIGHER_BETTER ? '-' : '+', w->allowed);
        fprintf(f, "%-24.24s %-24.24s %14.6g %14.6g %9s %11s  %s\n", *w->run ? w->run : "-",
                w->metric, w->a, w->b, change, allowed, verdict_name(w));
    }
    int gated = 0, same = 0;
    for (size_t i = 0; i < r->n; i++) {
        gated += r->rows[i].dir != CMP_INFO;
        same += r->rows[i].dir != CMP_INFO && r->rows[i].verdict == CMP_SAME;
    }
    fprintf(f, "compare: %d run%s, %d gated metrics (%d identical), %d regression%s\n", r->runs,
            r->runs == 1 ? "" : "s", gated, same, r->regressions, r->regressions == 1 ? "" : "s");
}
