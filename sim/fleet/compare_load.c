/* compare_load.c: result sets on disk (one summary.json, a run directory, or
 * a tree of run directories), pairing runs by relative path, and a warning
 * for each pair whose manifests say they ran on different inputs. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "compare.h"
#include "compare_runs.h"
#include "vllm_result.h"

/* A vllm bench serve result: its metrics under servesim's names. */
static int add_vllm(CompareRun *e, json_t *j, const char *file)
{
    VllmResult v;
    int r = vllm_result_read(&v, j, file);
    if (r) return r;
    e->metrics = json_incref(v.metrics);
    e->manifest = v.manifest ? json_incref(v.manifest) : NULL;
    e->real = !v.simulated;
    e->num_prompts = v.num_prompts;
    char reqs[48] = "no per-request arrays";
    if (v.requests >= 0) snprintf(reqs, sizeof(reqs), "%lld per-request entries", v.requests);
    snprintf(e->desc, sizeof(e->desc), "vllm bench serve result (backend %.40s, model %.120s, %s)", v.backend,
             v.model_id, reqs);
    vllm_result_free(&v);
    return 0;
}

static int set_add(CompareRunSet *s, const char *file, const char *rel)
{
    json_error_t jerr;
    json_t *j = json_load_file(file, 0, &jerr);
    if (!j)
        return ss_error_set(EINVAL, "%s:%d: %s%s", file, jerr.line, jerr.text,
                            strstr(jerr.text, "end of file expected")
                                ? " (several results in one file, as `vllm bench serve --append-result` "
                                  "writes? give one result a file)" : "");
    json_t *m = json_object_get(j, "metrics");
    bool vllm = vllm_result_looks_like(j);
    if (!json_is_object(m) && !vllm) {
        json_decref(j);
        return ss_error_set(EINVAL, "%s: no \"metrics\" object (not a servesim summary.json) and no "
                            "\"completed\" / \"request_throughput\" (not a vllm bench serve result)", file);
    }
    CompareRun e = { .num_prompts = -1 };
    snprintf(e.name, sizeof(e.name), "%s", rel);
    snprintf(e.file, sizeof(e.file), "%s", file);
    int r = 0;
    if (vllm) {
        r = add_vllm(&e, j, file);
    } else {
        e.metrics = json_incref(m);
        json_t *man = json_object_get(j, "manifest");
        e.manifest = json_is_object(man) ? json_incref(man) : NULL;
    }
    json_decref(j);
    if (r) return r;
    SS_GROW(s->run, s->cap, s->n + 1);
    s->run[s->n++] = e;
    return 0;
}

void compare__set_free(CompareRunSet *s)
{
    for (size_t i = 0; i < s->n; i++) {
        json_decref(s->run[i].metrics);
        if (s->run[i].manifest) json_decref(s->run[i].manifest);
    }
    free(s->run);
    memset(s, 0, sizeof(*s));
}

static bool is_dir(const char *p)
{
    struct stat st;
    return !stat(p, &st) && S_ISDIR(st.st_mode);
}

/* Every run directory under root/rel, in sorted order (depth-first). */
static int scan(CompareRunSet *s, const char *root, const char *rel, int depth)
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

int compare__set_load(CompareRunSet *s, const char *path)
{
    struct stat st;
    size_t before = s->n;
    if (stat(path, &st)) return ss_error_set(ENOENT, "%s: %s", path, strerror(errno));
    int r = S_ISDIR(st.st_mode) ? scan(s, path, "", 0) : set_add(s, path, "");
    if (!r && s->n == before) r = ss_error_set(ENOENT, "%s: no summary.json found", path);
    return r;
}

static int find_run(const CompareRunSet *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++) if (!strcmp(s->run[i].name, name)) return (int)i;
    return -1;
}

static void append(char *buf, size_t cap, const char *fmt, const char *x, const char *y)
{
    size_t at = strlen(buf);
    if (at + 1 < cap) snprintf(buf + at, cap - at, fmt, *buf ? ", " : "", x, y);
}

/* How two manifests' inputs differ ("" when they do not): the trace's
 * sha256, or the workload's parameters and (unless ignored) seed. */
static void describe_input(json_t *ia, json_t *ib, bool ignore_seed, char *buf, size_t cap)
{
    const char *sa = json_string_value(json_object_get(ia, "sha256"));
    const char *sb = json_string_value(json_object_get(ib, "sha256"));
    json_t *wa = json_object_get(ia, "workload"), *wb = json_object_get(ib, "workload");
    if (sa && sb) {
        if (strcmp(sa, sb)) snprintf(buf, cap, "input (trace sha256 %.12s... vs %.12s...)", sa, sb);
    } else if (wa && wb) {
        if (!json_equal(json_object_get(ia, "params"), json_object_get(ib, "params")) || !json_equal(wa, wb))
            snprintf(buf, cap, "input (workload parameters)");
        else if (!ignore_seed && !json_equal(json_object_get(ia, "seed"), json_object_get(ib, "seed")))
            snprintf(buf, cap, "input (workload seed %lld vs %lld)",
                     (long long)json_integer_value(json_object_get(ia, "seed")),
                     (long long)json_integer_value(json_object_get(ib, "seed")));
    } else if (!json_equal(ia, ib)) {
        snprintf(buf, cap, "input (%s vs %s)", sa ? "trace" : wa ? "workload" : "?", sb ? "trace" : wb ? "workload" : "?");
    }
}

/* What a candidate may change (scheduler, predictor, cost model, the code)
 * is free; what makes two results answers to different questions is not. */
void compare__warn_if_inputs_differ(CompareResult *out, const CompareRun *a, const CompareRun *b,
                                    bool ignore_seed)
{
    static const char *const same_keys[] = { "model", "gpu", "fleet", "tensor_parallel", "slo" };
    if (!a->manifest || !b->manifest) return;
    char diff[400] = "";
    describe_input(json_object_get(a->manifest, "input"), json_object_get(b->manifest, "input"), ignore_seed,
                   diff, sizeof(diff));
    for (size_t i = 0; i < SS_ARRAY_LEN(same_keys); i++) {
        json_t *va = json_object_get(a->manifest, same_keys[i]), *vb = json_object_get(b->manifest, same_keys[i]);
        if (!va || !vb || json_equal(va, vb)) continue;
        if (json_is_string(va) && json_is_string(vb)) {
            char both[200];
            snprintf(both, sizeof(both), "%.90s vs %.90s", json_string_value(va), json_string_value(vb));
            append(diff, sizeof(diff), "%s%s (%s)", same_keys[i], both);
        } else {
            append(diff, sizeof(diff), "%s%s%s", same_keys[i], "");
        }
    }
    if (!diff[0]) return;
    compare__warn(out, "%s and %s are results of different inputs: %s; their difference is not only "
                  "the change under test", a->file, b->file, diff);
}

static void compare_pair(CompareResult *out, const CompareRun *a, const CompareRun *b, const CompareRules *rules)
{
    compare__warn_if_inputs_differ(out, a, b, false);
    compare__metrics(out, a->name, a->file, a->metrics, b->file, b->metrics, rules);
}

/* A real result (one file) is compared with one run, never paired into a
 * tree by name. */
static int check_real_pairs(const CompareRunSet *sa, const char *a, const CompareRunSet *sb, const char *b)
{
    const CompareRunSet *set[2] = { sa, sb };
    const char *path[2] = { a, b };
    for (int i = 0; i < 2; i++)
        if (set[i]->n == 1 && set[i]->run[0].real && set[1 - i]->n != 1)
            return ss_error_set(EINVAL, "%s is a vllm bench serve result (one real run) and %s holds %zu runs: "
                                "compare it with one simulation's summary.json or run directory", path[i],
                                path[1 - i], set[1 - i]->n);
    return 0;
}

int compare_paths(const char *a, const char *b, const CompareRules *rules, CompareResult *out)
{
    CompareRunSet sa = { 0 }, sb = { 0 };
    memset(out, 0, sizeof(*out));
    int r = compare__set_load(&sa, a);
    if (!r) r = compare__set_load(&sb, b);
    if (r) goto done;
    if ((r = check_real_pairs(&sa, a, &sb, b))) goto done;
    if (sa.n == 1 && sb.n == 1 && sa.run[0].real != sb.run[0].real) {
        compare__accuracy(out, &sa.run[0], &sb.run[0], rules);
        r = compare__finish(out, rules);
        goto done;
    }
    if (sa.n == 1 && sb.n == 1) {   /* two single runs pair whatever their names */
        compare_pair(out, &sa.run[0], &sb.run[0], rules);
        r = compare__finish(out, rules);
        goto done;
    }
    for (size_t i = 0; i < sb.n && !r; i++)
        if (find_run(&sa, sb.run[i].name) < 0)
            r = ss_error_set(ENOENT, "run '%s' is in %s but not in %s", sb.run[i].name, b, a);
    for (size_t i = 0; i < sa.n && !r; i++) {
        int j = find_run(&sb, sa.run[i].name);
        if (j < 0) r = ss_error_set(ENOENT, "run '%s' is in %s but not in %s", sa.run[i].name, a, b);
        else compare_pair(out, &sa.run[i], &sb.run[j], rules);
    }
    if (!r) r = compare__finish(out, rules);
done:
    compare__set_free(&sa);
    compare__set_free(&sb);
    return r;
}

void compare_result_free(CompareResult *r)
{
    free(r->rows);
    free(r->warnings);
    memset(r, 0, sizeof(*r));
}
