/* validate_report.c: statistics, table and JSON of `servesim validate`. */
#include "validate_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* End-to-end figures compared: summary.json metric keys and their labels. */
static const char *const e2e_keys[][2] = {
    { "median_ttft_ms", "TTFT P50 (ms)" }, { "p99_ttft_ms", "TTFT P99 (ms)" },
    { "median_tpot_ms", "TPOT P50 (ms)" }, { "p99_tpot_ms", "TPOT P99 (ms)" },
    { "median_itl_ms", "ITL P50 (ms)" },   { "p99_itl_ms", "ITL P99 (ms)" },
    { "median_e2el_ms", "E2E P50 (ms)" },  { "p99_e2el_ms", "E2E P99 (ms)" },
    { "request_throughput", "requests/s" }, { "output_throughput", "output tokens/s" },
};

typedef struct ErrStats { size_t n; double p50, p90, p99, bias; } ErrStats;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation between order statistics. */
static double percentile_sorted(const double *v, size_t n, double p)
{
    if (!n) return NAN;
    double pos = p / 100.0 * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n) return v[n - 1];
    return v[i] + (pos - (double)i) * (v[i + 1] - v[i]);
}

/* Over the iterations of `kind` (PROFILE_ALL: every one). */
static ErrStats err_stats(const ValidateModel *m, ProfileKind kind)
{
    ErrStats s = { 0 };
    double *abs_err = ss_malloc((m->n + 1) * sizeof(*abs_err)), *signed_err = ss_malloc((m->n + 1) * sizeof(*signed_err));
    for (size_t i = 0; i < m->n; i++) {
        if (kind != PROFILE_ALL && m->kind[i] != kind) continue;
        abs_err[s.n] = fabs(m->err[i]);
        signed_err[s.n++] = m->err[i];
    }
    qsort(abs_err, s.n, sizeof(double), cmp_double);
    qsort(signed_err, s.n, sizeof(double), cmp_double);
    s.p50 = percentile_sorted(abs_err, s.n, 50);
    s.p90 = percentile_sorted(abs_err, s.n, 90);
    s.p99 = percentile_sorted(abs_err, s.n, 99);
    s.bias = percentile_sorted(signed_err, s.n, 50);
    free(abs_err);
    free(signed_err);
    return s;
}

static double metric(json_t *metrics, const char *key)
{
    json_t *v = json_object_get(metrics, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static double rel_err(double sim, double meas)
{
    return meas != 0 && isfinite(meas) && isfinite(sim) ? (sim - meas) / meas : NAN;
}

static json_t *num_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *model_json(const ValidateReport *r, const ValidateModel *m)
{
    json_t *o = json_object(), *ps = json_object(), *e2e = json_object();
    json_object_set_new(o, "cost", json_string(m->cost));
    static const ProfileKind kinds[] = { PROFILE_ALL, PROFILE_PREFILL, PROFILE_DECODE, PROFILE_MIXED };
    for (size_t k = 0; k < SS_ARRAY_LEN(kinds); k++) {
        ErrStats s = err_stats(m, kinds[k]);
        json_t *j = json_object();
        json_object_set_new(j, "iterations", json_integer((json_int_t)s.n));
        json_object_set_new(j, "median_abs_rel_err", num_or_null(s.p50));
        json_object_set_new(j, "p90_abs_rel_err", num_or_null(s.p90));
        json_object_set_new(j, "p99_abs_rel_err", num_or_null(s.p99));
        json_object_set_new(j, "median_rel_err", num_or_null(s.bias));
        json_object_set_new(ps, profile_kind_name(kinds[k]), j);
    }
    for (size_t i = 0; i < SS_ARRAY_LEN(e2e_keys); i++) {
        double meas = metric(r->measured, e2e_keys[i][0]), sim = metric(m->sim, e2e_keys[i][0]);
        json_t *j = json_object();
        json_object_set_new(j, "measured", num_or_null(meas));
        json_object_set_new(j, "simulated", num_or_null(sim));
        json_object_set_new(j, "rel_err", num_or_null(rel_err(sim, meas)));
        json_object_set_new(e2e, e2e_keys[i][0], j);
    }
    if (!r->measured_file) json_object_set_new(o, "per_step", ps);
    else json_decref(ps);
    json_object_set_new(o, "end_to_end", e2e);
    return o;
}

/* --measured: what was measured, and which metrics came from its arrays. */
static void measured_json(json_t *o, const ValidateReport *r)
{
    json_object_set_new(o, "measured", json_string(r->measured_file));
    json_object_set_new(o, "measured_source", json_string("vllm bench serve"));
    json_object_set_new(o, "measured_requests", r->vllm.requests >= 0 ? json_integer(r->vllm.requests) : json_null());
    json_object_set(o, "derived_from_per_request", r->vllm.derived);
}

json_t *validate_report_json(const ValidateReport *r)
{
    json_t *o = json_object(), *cmd = json_array(), *models = json_array();
    json_object_set_new(o, "dir", json_string(r->dir));
    if (r->measured_file) {
        measured_json(o, r);
        json_decref(cmd);
        for (int i = 0; i < r->n_models; i++) json_array_append_new(models, model_json(r, &r->models[i]));
        json_object_set_new(o, "models", models);
        return o;
    }
    for (int i = 0; i < r->argc; i++) json_array_append_new(cmd, json_string(r->argv[i]));
    json_object_set_new(o, "replay_command", cmd);
    json_object_set_new(o, "iterations", json_integer((json_int_t)r->rows.n));
    for (int i = 0; i < r->n_models; i++) json_array_append_new(models, model_json(r, &r->models[i]));
    json_object_set_new(o, "models", models);
    return o;
}

/* A number, or "-" where a side has none (vLLM without e2el statistics). */
static void print_value(FILE *f, const char *fmt_num, int width, double x)
{
    if (isfinite(x)) fprintf(f, fmt_num, x);
    else fprintf(f, " %*s", width, "-");
}

/* Widest cost model name (at least `min`): a table never cuts a value. */
static int cost_width(const ValidateReport *r, int min)
{
    size_t w = (size_t)min;
    for (int i = 0; i < r->n_models; i++) w = SS_MAX(w, strlen(r->models[i].cost));
    return (int)w;
}

static void print_end_to_end(FILE *f, const ValidateReport *r)
{
    int cw = cost_width(r, 14);
    for (size_t k = 0; k < SS_ARRAY_LEN(e2e_keys); k++) {
        double meas = metric(r->measured, e2e_keys[k][0]);
        fprintf(f, "%-18s", e2e_keys[k][1]);
        print_value(f, " %12.4g", 12, meas);
        for (int i = 0; i < r->n_models; i++) {
            double sim = metric(r->models[i].sim, e2e_keys[k][0]);
            if (isfinite(sim)) fprintf(f, " %*.4g", cw, sim);
            else fprintf(f, " %*s", cw, "-");
            double e = rel_err(sim, meas);
            print_value(f, " %+7.1f%%", 8, fabs(e) < 5e-5 ? 0.0 : 100 * e);
        }
        fputc('\n', f);
    }
}

void validate_report_print(FILE *f, const ValidateReport *r)
{
    if (r->measured_file) {
        fprintf(f, "End to end: %s's simulation against the real vllm bench serve result %s", r->dir,
                r->measured_file);
        if (r->vllm.requests >= 0) fprintf(f, " (%lld per-request entries)", r->vllm.requests);
        fprintf(f, "\n%-18s %12s %*s %8s\n", "metric", "measured", cost_width(r, 14), r->models[0].cost, "error");
        print_end_to_end(f, r);
        return;
    }
    fprintf(f, "Per-step time: |predicted - measured| / measured (%zu measured iterations)\n", r->rows.n);
    int cw = cost_width(r, 28);
    fprintf(f, "%-*s %-8s %8s %9s %9s %9s %10s\n", cw, "cost model", "kind", "iters", "median", "P90", "P99", "bias");
    static const ProfileKind kinds[] = { PROFILE_ALL, PROFILE_PREFILL, PROFILE_DECODE, PROFILE_MIXED };
    for (int i = 0; i < r->n_models; i++) {
        for (size_t k = 0; k < SS_ARRAY_LEN(kinds); k++) {
            ErrStats s = err_stats(&r->models[i], kinds[k]);
            if (!s.n) continue;
            fprintf(f, "%-*s %-8s %8zu %8.2f%% %8.2f%% %8.2f%% %+9.2f%%\n", cw, r->models[i].cost,
                    profile_kind_name(kinds[k]), s.n, 100 * s.p50, 100 * s.p90, 100 * s.p99, 100 * s.bias);
        }
    }
    fprintf(f, "\nEnd to end: the replay's command simulated with each cost model\n%-18s %12s", "metric", "measured");
    for (int i = 0; i < r->n_models; i++) fprintf(f, " %*s %8s", cost_width(r, 14), r->models[i].cost, "error");
    fputc('\n', f);
    print_end_to_end(f, r);
}

void validate_report_free(ValidateReport *r)
{
    for (int i = 0; i < r->argc; i++) free(r->argv[i]);
    free(r->argv);
    for (int i = 0; i < r->n_models; i++) {
        free(r->models[i].err);
        free(r->models[i].kind);
        json_decref(r->models[i].sim);
    }
    steps_rows_free(&r->rows);
    vllm_result_free(&r->vllm);
}
