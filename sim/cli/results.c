#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "out_file.h"
#include "cost/cost.h"
#include "predict/predict.h"
#include "sched/sched.h"
#include "servesim_config.h"

/* mkdir -p; each directory made here is this run's (out_file_note_dir):
 * removed again, if empty, when the run fails or is interrupted. */
static int mkdir_parents(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int r = mkdir(path, 0777);
        if (!r) out_file_note_dir(path);
        *p = '/';
        if (r && errno != EEXIST) return -errno;
    }
    if (mkdir(path, 0777)) return errno == EEXIST ? 0 : -errno;
    out_file_note_dir(path);
    return 0;
}

int results_dir_open(ResultsDir *d, const char *path, bool force)
{
    struct stat st;
    if (strlen(path) >= sizeof(d->path) - 64) return ss_error_set(ENAMETOOLONG, "%s: path too long", path);
    snprintf(d->path, sizeof(d->path), "%s", path);
    d->n_files = 0;
    if (!stat(path, &st)) {
        if (!S_ISDIR(st.st_mode)) return ss_error_set(EEXIST, "%s exists and is not a directory", path);
        if (!force)
            return ss_error_set(EEXIST, "%s exists: refusing to overwrite results (use --force, "
                                "or choose another --out)", path);
        /* --force replaces a result whole: an old steps.csv or summary.json
         * must not sit beside the new run's files (or a failed run's).
         * summary.json goes first: a directory never holds a summary whose
         * data files are gone. */
        static const char *const outputs[] = { "summary.json", "requests.csv", "timeseries.csv",
                                                "steps.csv", "summary.vllm.json" };
        for (size_t i = 0; i < SS_ARRAY_LEN(outputs); i++) {
            char p[4160];
            snprintf(p, sizeof(p), "%s/%s", path, outputs[i]);
            if (remove(p) && errno != ENOENT)
                return ss_error_set(errno, "%s: cannot remove the old result: %s", p, strerror(errno));
        }
        return 0;
    }
    int r = mkdir_parents(d->path);
    if (r) return ss_error_set(r, "%s: cannot create directory: %s", path, strerror(-r));
    return 0;
}

FILE *results_dir_create_file(ResultsDir *d, const char *name)
{
    char p[4160];
    snprintf(p, sizeof(p), "%s/%s", d->path, name);
    SS_ASSERT(d->n_files < (int)SS_ARRAY_LEN(d->files));
    if (out_file_open(&d->files[d->n_files], p)) return NULL;
    return out_file_stream(d->files[d->n_files++]);
}

/* The data files, completed and renamed in creation order. */
static int commit_data_files(ResultsDir *d)
{
    int r = 0;
    for (int i = 0; i < d->n_files; i++) {
        int ri = out_file_commit(&d->files[i]);
        if (ri && !r) r = ri;
        if (r) for (int j = i + 1; j < d->n_files; j++) out_file_discard(&d->files[j]);
        if (r) break;
    }
    d->n_files = 0;
    return r;
}

void results_dir_abandon(ResultsDir *d)
{
    for (int i = 0; i < d->n_files; i++) out_file_discard(&d->files[i]);
    d->n_files = 0;
    out_file_abandon_all(); /* what was already committed, and DIR if this run made it */
}

int results_write_json(ResultsDir *d, const char *name, json_t *j)
{
    int r = commit_data_files(d);
    if (r) return r;
    char p[4160];
    snprintf(p, sizeof(p), "%s/%s", d->path, name);
    OutFile *f;
    if ((r = out_file_open(&f, p))) return r;
    if (json_dumpf(j, out_file_stream(f), JSON_INDENT(2) | JSON_REAL_PRECISION(10))) {
        out_file_discard(&f);
        return ss_error_set(EIO, "%s: write failed: %s", p, strerror(errno ? errno : EIO));
    }
    fputc('\n', out_file_stream(f));
    return out_file_commit(&f);
}

/* {"name": ..., "options": {...}} for a "name:k=v" spec of a registry. */
static json_t *plugin_json(const char *spec, const OptSpec *opts, size_t opts_size)
{
    char name[64];
    const char *kvs;
    json_t *o = json_object();
    if (opts_split_spec(spec, name, sizeof(name), &kvs)) return o;
    json_object_set_new(o, "name", json_string(name));
    void *values = ss_calloc(1, opts_size ? opts_size : 1);
    if (!opts_init(opts, kvs, values, name)) json_object_set_new(o, "options", opts_to_json(opts, values));
    free(values);
    return o;
}

static json_t *sched_json(const char *spec)
{
    char name[64]; const char *kvs;
    if (opts_split_spec(spec, name, sizeof(name), &kvs)) return json_null();
    const SchedOps *s = sched_find(name);
    return s ? plugin_json(spec, s->opts, s->opts_size) : json_string(spec);
}

static json_t *predict_json(const char *spec)
{
    char name[64]; const char *kvs;
    if (opts_split_spec(spec, name, sizeof(name), &kvs)) return json_null();
    const PredictorOps *p = predictor_find(name);
    return p ? plugin_json(spec, p->opts, p->opts_size) : json_string(spec);
}

static json_t *cost_json(const char *spec)
{
    char name[64]; const char *kvs;
    if (opts_split_spec(spec, name, sizeof(name), &kvs)) return json_null();
    const BackendOps *b = cost_backend_find(name);
    return b ? plugin_json(spec, b->opts, b->opts_size) : json_string(spec);
}

/* The command line less what names the output (so two runs that differ only
 * in --out write identical files). */
static json_t *command_json(int argc, char **argv)
{
    json_t *a = json_array();
    json_array_append_new(a, json_string("servesim"));
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) continue;
        if (!strcmp(argv[i], "--out")) { i++; continue; }
        if (!strncmp(argv[i], "--out=", 6)) continue;
        json_array_append_new(a, json_string(argv[i]));
    }
    return a;
}

json_t *results_manifest_json(const EngineConfig *c, const CliSource *src, int argc, char **argv)
{
    json_t *m = json_object();
    json_object_set_new(m, "servesim_version", json_string(SERVESIM_VERSION));
    json_object_set_new(m, "command", command_json(argc, argv));
    json_object_set_new(m, "seed", json_integer((json_int_t)c->seed));
    json_t *input = json_object();
    if (src->path) {
        json_object_set_new(input, "trace", json_string(src->path));
        json_object_set_new(input, "sha256", json_string(src->sha256));
    } else {
        json_object_set_new(input, "workload", json_string(synth_source_params(src->synth)->name));
        json_object_set_new(input, "params", synth_params_to_json(synth_source_params(src->synth)));
        json_object_set_new(input, "seed", json_integer((json_int_t)src->synth_seed));
    }
    json_object_set_new(m, "input", input);
    json_object_set_new(m, "model", json_string(c->model));
    /* Under --fleet the fleet names every replica's GPU, count and tp: the
     * single-GPU fields did not run, so they are null, not their defaults. */
    bool fleet = c->fleet[0] != '\0';
    json_object_set_new(m, "gpu", fleet ? json_null() : json_string(c->gpu));
    json_object_set_new(m, "gpu_mem_util", json_real(c->gpu_mem_util));
    json_object_set_new(m, "tensor_parallel", fleet ? json_null() : json_integer(c->tensor_parallel));
    json_object_set_new(m, "instances", fleet ? json_null() : json_integer(c->instances));
    json_object_set_new(m, "fleet", json_string(c->fleet));
    json_object_set_new(m, "router", json_string(c->router));
    if (c->kv_link[0]) json_object_set_new(m, "kv_link", json_string(c->kv_link)); /* disaggregated fleets */
    json_object_set_new(m, "kv_block_size", json_integer(c->kv_block_size));
    json_object_set_new(m, "sched", sched_json(c->sched_spec));
    json_object_set_new(m, "predict", predict_json(c->predict_spec));
    json_object_set_new(m, "cost", cost_json(c->cost_spec));
    json_object_set_new(m, "client", json_string(c->client_spec[0] ? c->client_spec : "none"));
    json_object_set_new(m, "admission", json_string(c->admission_spec));
    json_t *slo = json_object();
    if (c->slo.ttft_s > 0) json_object_set_new(slo, "ttft_s", json_real(c->slo.ttft_s));
    if (c->slo.tpot_s > 0) json_object_set_new(slo, "tpot_s", json_real(c->slo.tpot_s));
    if (c->slo.e2el_s > 0) json_object_set_new(slo, "e2el_s", json_real(c->slo.e2el_s));
    json_object_set_new(m, "slo", slo);
    json_object_set_new(m, "stepwise", json_boolean(c->stepwise));
    /* timeseries.csv's tick grid: rows lie on first row's time + k intervals. */
    json_object_set_new(m, "sample_interval_s", json_real(c->sample_interval_s));
    return m;
}

json_t *results_summary_json(const Engine *e, const EngineConfig *cfg, const CliSource *src,
                             int argc, char **argv)
{
    json_t *s = json_object();
    json_object_set_new(s, "manifest", results_manifest_json(cfg, src, argc, argv));
    json_object_set_new(s, "metrics", metrics_summary_json(engine_metrics(e)));
    json_object_set_new(s, "run", engine_run_info_json(e));
    json_t *stats = engine_sched_stats_json(e);
    if (stats) json_object_set_new(s, "sched_stats", stats);
    return s;
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

void results_warn_dropped(FILE *f, json_t *summary)
{
    json_t *m = json_object_get(summary, "metrics");
    json_t *why = json_object_get(m, "rejected_by_reason");
    long long capped = (long long)json_integer_value(json_object_get(json_object_get(summary, "run"), "length_capped"));
    const char *key;
    json_t *val;
    char list[256] = "";
    json_object_foreach(why, key, val)
        if (json_integer_value(val) > 0)
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s %lld", list[0] ? ", " : "", key,
                     (long long)json_integer_value(val));
    if (list[0])
        fprintf(f, "servesim: warning: %.0f requests rejected before they ran (%s); see "
                   "metrics.rejected_by_reason\n", num(m, "rejected"), list);
    if (capped > 0)
        fprintf(f, "servesim: warning: %lld outputs cut at the model's context (run.length_capped)\n", capped);
    long long trimmed = (long long)json_integer_value(json_object_get(json_object_get(summary, "run"), "prompts_trimmed"));
    if (trimmed > 0)
        fprintf(f, "servesim: warning: %lld prompts trimmed to %lld tokens (--long-prompts trim; run.prompts_trimmed)\n",
                trimmed, (long long)json_integer_value(json_object_get(json_object_get(summary, "run"), "max_prompt_tokens")));
}

void results_print_table(FILE *f, json_t *summary)
{
    json_t *m = json_object_get(summary, "metrics");
    json_t *man = json_object_get(summary, "manifest");
    json_t *sched = json_object_get(man, "sched");
    const char *sched_name = json_string_value(json_object_get(sched, "name"));
    fprintf(f, "============ servesim: %s on %s / %s ============\n", sched_name ? sched_name : "?",
            json_string_value(json_object_get(man, "model")), json_string_value(json_object_get(man, "gpu")));
    fprintf(f, "%-40s %12.0f\n", "Successful requests:", num(m, "completed"));
    fprintf(f, "%-40s %12.0f\n", "Failed / rejected / cancelled requests:",
            num(m, "failed") + num(m, "rejected") + num(m, "cancelled"));
    /* Every attempt that did not complete, by reason: said in the table, not only in the JSON. */
    json_t *why = json_object_get(m, "failures_by_reason");
    const char *key;
    json_t *val;
    json_object_foreach(why, key, val)
        if (json_integer_value(val) > 0) {
            char label[64];
            bool rejected = !strcmp(key, "too_long") || !strcmp(key, "empty_prompt") || !strcmp(key, "queue_full") ||
                            !strcmp(key, "queue_timeout");
            bool cancelled = !strcmp(key, "ttft_timeout") || !strcmp(key, "timeout") || !strcmp(key, "patience");
            snprintf(label, sizeof(label), "  %s, %s:", rejected ? "rejected" : cancelled ? "cancelled" : "failed", key);
            fprintf(f, "%-40s %12lld\n", label, (long long)json_integer_value(val));
        }
    json_t *client = json_object_get(json_object_get(summary, "run"), "client");
    if (client) {
        fprintf(f, "%-40s %12lld\n", "Original requests (client):", (long long)json_integer_value(json_object_get(client, "original_requests")));
        fprintf(f, "%-40s %12lld\n", "  succeeded, any attempt:", (long long)json_integer_value(json_object_get(client, "originals_completed")));
        fprintf(f, "%-40s %12lld\n", "  retries sent:", (long long)json_integer_value(json_object_get(client, "retries")));
        fprintf(f, "%-40s %12.3f\n", "  amplification (attempts/original):", json_number_value(json_object_get(client, "amplification")));
    }
    if (json_integer_value(json_object_get(m, "wasted_tokens")) > 0)
        fprintf(f, "%-40s %12lld\n", "Tokens computed for failed attempts:", (long long)json_integer_value(json_object_get(m, "wasted_tokens")));
    json_t *capped = json_object_get(json_object_get(summary, "run"), "length_capped");
    if (json_integer_value(capped) > 0)
        fprintf(f, "%-40s %12lld\n", "Outputs cut at the model context:", (long long)json_integer_value(capped));
    json_t *trimmed = json_object_get(json_object_get(summary, "run"), "prompts_trimmed");
    if (json_integer_value(trimmed) > 0)
        fprintf(f, "%-40s %12lld\n", "Prompts trimmed (--long-prompts trim):", (long long)json_integer_value(trimmed));
    fprintf(f, "%-40s %12.2f\n", "Benchmark duration (s):", num(m, "duration"));
    fprintf(f, "%-40s %12.0f\n", "Total input tokens:", num(m, "total_input_tokens"));
    fprintf(f, "%-40s %12.0f\n", "Total generated tokens:", num(m, "total_output_tokens"));
    fprintf(f, "%-40s %12.2f\n", "Request throughput (req/s):", num(m, "request_throughput"));
    if (json_is_number(json_object_get(m, "request_goodput")))
        fprintf(f, "%-40s %12.2f\n", "Request goodput (req/s):", num(m, "request_goodput"));
    fprintf(f, "%-40s %12.2f\n", "Output token throughput (tok/s):", num(m, "output_throughput"));
    fprintf(f, "%-40s %12.2f\n", "Total token throughput (tok/s):", num(m, "total_token_throughput"));
    static const char *metrics[][2] = { { "ttft", "Time to First Token" },
                                        { "tpot", "Time per Output Token (excl. 1st token)" },
                                        { "itl", "Inter-token Latency" },
                                        { "e2el", "End-to-end Latency" } };
    for (size_t i = 0; i < SS_ARRAY_LEN(metrics); i++) {
        char k[64];
        fprintf(f, "%s\n", metrics[i][1]);
        static const char *stats[] = { "mean", "median", "p90", "p99" };
        for (size_t j = 0; j < SS_ARRAY_LEN(stats); j++) {
            char label[64];
            snprintf(k, sizeof(k), "%s_%s_ms", stats[j], metrics[i][0]);
            snprintf(label, sizeof(label), "  %s %s (ms):", stats[j], metrics[i][0] + 0);
            fprintf(f, "%-40s %12.2f\n", label, num(m, k));
        }
    }
    fprintf(f, "%-40s %12.4f\n", "Padding share of computed tokens:", num(m, "padding_share"));
    fprintf(f, "%-40s %12.0f\n", "Preemptions:", num(m, "preemptions"));
    fprintf(f, "%-40s %12.2f\n", "Longest queue wait (ms):", num(m, "max_wait_ms"));
    fprintf(f, "%-40s %12lld\n", "Seed:", (long long)json_integer_value(json_object_get(man, "seed")));
    fprintf(f, "==================================================\n");
}
