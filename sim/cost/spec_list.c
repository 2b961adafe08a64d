/* spec_list.c: the model and GPU names a models directory knows, for
 * `servesim list models|gpus` and for "unknown model 'x' (known: ...)". */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cost.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cost_spec_names(const char *subdir, char ***names, size_t *n)
{
    char buf[1024], dir[1200];
    snprintf(dir, sizeof(dir), "%s/%s", cost_models_dir(buf, sizeof(buf)), subdir);
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return ss_error_set(errno, "%s: cannot list: %s", dir, strerror(errno));
    size_t cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || strcmp(e->d_name + len - 4, ".txt") || e->d_name[0] == '.') continue;
        if (*n == cap) *names = ss_realloc(*names, (cap = cap ? 2 * cap : 16) * sizeof(char *));
        char *name = ss_strdup(e->d_name);
        name[len - 4] = '\0';
        (*names)[(*n)++] = name;
    }
    closedir(d);
    if (*n) qsort(*names, *n, sizeof(char *), by_name);
    return 0;
}

int cost_hf_names(char ***names, size_t *n)
{
    char buf[1024], dir[1200], cfg[1600];
    snprintf(dir, sizeof(dir), "%s/hf", cost_models_dir(buf, sizeof(buf)));
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return ss_error_set(errno, "%s: cannot list: %s", dir, strerror(errno));
    size_t cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        snprintf(cfg, sizeof(cfg), "%s/%s/config.json", dir, e->d_name);
        FILE *f = fopen(cfg, "r");
        if (!f) continue;
        fclose(f);
        if (*n == cap) *names = ss_realloc(*names, (cap = cap ? 2 * cap : 16) * sizeof(char *));
        (*names)[(*n)++] = ss_strdup(e->d_name);
    }
    closedir(d);
    if (*n) qsort(*names, *n, sizeof(char *), by_name);
    return 0;
}

void cost_spec_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

int cost_spec_unknown(int err, const char *what, const char *subdir, const char *name_or_path)
{
    /* A path the user typed is reported as it was; a bare name gets the list. */
    if (err != -ENOENT || strchr(name_or_path, '/') || strstr(name_or_path, ".txt")) return err;
    char **names;
    size_t n;
    if (cost_spec_names(subdir, &names, &n)) return ss_error_set(EINVAL, "unknown %s '%s'", what, name_or_path);
    char known[1024] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "", names[i]);
    cost_spec_names_free(names, n);
    /* An unknown name is a bad option value (EINVAL: exit 2), not a missing file. */
    return ss_error_set(EINVAL, "unknown %s '%s' (known: %s; or a path to a .txt spec; `servesim list %ss`)",
                        what, name_or_path, known, what);
}
