/* sweep.c: `servesim sweep` specs: axes -> the cartesian product of runs,
 * one CSV row per run (its parameters, then its key metrics).
 *
 *   { "workload": "default", "requests": 5000, "slo": {"ttft": 2, "tpot": 0.1},
 *     "sched": ["vllm", "sjf"], "rate": [10, 20, 40], "seeds": 3 }
 *
 * Every axis takes one value or an array; "seeds" takes a count (1..N) or
 * an array.  Run i is the mixed-radix decomposition of i over the axes in
 * SWEEP_* order, the seed varying fastest. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "sweep.h"

static const char *const axis_names[SWEEP_N_AXES] = {
    "model", "gpu", "fleet", "router", "sched", "predict", "cost", "rate", "speedup", "seeds",
};

/* Metric columns after the parameters (metrics_summary_json's keys). */
static const char *const metric_cols[] = {
    "completed", "request_throughput", "request_goodput", "output_throughput",
    "mean_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "p99_tpot_ms", "p99_itl_ms",
    "mean_e2el_ms", "p99_e2el_ms", "failure_rate", "preemptions", "mean_queue_length",
};

const char *sweep_csv_header(void)
{
    return "run,model,gpu,fleet,router,sched,predict,cost,rate,speedup,seed,completed,"
           "request_throughput,request_goodput,output_throughput,mean_ttft_ms,p99_ttft_ms,"
           "mean_tpot_ms,p99_tpot_ms,p99_itl_ms,mean_e2el_ms,p99_e2el_ms,failure_rate,"
           "preemptions,mean_queue_length\n";
}

static json_t *axis_default(const SweepSpec *s, int a)
{
    EngineConfig c;
    engine_config_default(&c);
    switch (a) {
    case SWEEP_MODEL: return json_string(c.model);
    case SWEEP_GPU: return json_string(c.gpu);
    case SWEEP_FLEET: return json_string("");
    case SWEEP_ROUTER: return json_string(c.router);
    case SWEEP_SCHED: return json_string(c.sched_spec);
    case SWEEP_PREDICT: return json_string(c.predict_spec);
    case SWEEP_COST: return json_string(c.cost_spec);
    case SWEEP_RATE: { /* the workload's own rate */
        SynthParams p;
        return json_real(synth_params_from_preset(&p, s->workload) ? SYNTH_DEFAULT_RATE : p.rate);
    }
    case SWEEP_SPEEDUP: return json_real(1.0);
    default: return json_integer(1);
    }
}

/* One axis as a non-empty array of strings (numbers for rate/speedup/seeds). */
static int axis_load(SweepSpec *s, int a, json_t *v, const char *path)
{
    const char *name = axis_names[a];
    bool numeric = a == SWEEP_RATE || a == SWEEP_SPEEDUP || a == SWEEP_SEED;
    json_t *arr = json_array();
    if (a == SWEEP_SEED && json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 1 || n > 1000000) { json_decref(arr); return ss_error_set(EINVAL, "%s: seeds: count %lld not in 1..1e6", path, (long long)n); }
        for (json_int_t k = 1; k <= n; k++) json_array_append_new(arr, json_integer(k));
    } else if (json_is_array(v)) {
        json_array_extend(arr, v);
    } else {
        json_array_append(arr, v);
    }
    s->axis[a] = arr;
    if (!json_array_size(arr)) return ss_error_set(EINVAL, "%s: %s: empty list", path, name);
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) {
        bool ok = numeric ? json_is_number(x) : json_is_string(x);
        if (a == SWEEP_SEED) ok = json_is_integer(x) && json_integer_value(x) >= 0;
        if ((a == SWEEP_RATE || a == SWEEP_SPEEDUP) && ok) ok = json_number_value(x) > 0;
        if (!ok)
            return ss_error_set(EINVAL, "%s: %s[%zu]: expected %s", path, name, i,
                                a == SWEEP_SEED ? "a non-negative integer"
                                : numeric ? "a positive number" : "a string");
    }
    return 0;
}

static int load_scalars(SweepSpec *s, json_t *j, const char *path)
{
    json_t *v;
    s->requests = 5000;
    if ((v = json_object_get(j, "trace"))) {
        if (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof(s->trace))
            return ss_error_set(EINVAL, "%s: trace: expected a path", path);
        snprintf(s->trace, sizeof(s->trace), "%s", json_string_value(v));
    }
    snprintf(s->workload, sizeof(s->workload), "default");
    if ((v = json_object_get(j, "workload"))) { /* NAME[:k=v,...], as --workload */
        SynthParams p;
        if (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof(s->workload))
            return ss_error_set(EINVAL, "%s: workload: expected a string such as \"burstgpt-perf:shape=0.25\"", path);
        if (synth_params_from_preset(&p, json_string_value(v))) {
            char why[256];
            snprintf(why, sizeof(why), "%s", ss_error_get());
            return ss_error_set(EINVAL, "%s: workload: %s", path, why);
        }
        snprintf(s->workload, sizeof(s->workload), "%s", json_string_value(v));
    }
    if ((v = json_object_get(j, "requests"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1) return ss_error_set(EINVAL, "%s: requests: expected a positive integer", path);
        s->requests = json_integer_value(v);
    }
    if ((v = json_object_get(j, "duration_s"))) {
        if (!json_is_number(v) || !(json_number_value(v) > 0)) return ss_error_set(EINVAL, "%s: duration_s: expected seconds > 0", path);
        s->duration_s = json_number_value(v);
    }
    if ((v = json_object_get(j, "slo"))) {
        double *dst[3] = { &s->slo.ttft_s, &s->slo.tpot_s, &s->slo.e2el_s };
        const char *keys[3] = { "ttft", "tpot", "e2el" };
        if (!json_is_object(v)) return ss_error_set(EINVAL, "%s: slo: expected {\"ttft\": s, \"tpot\": s}", path);
        for (int k = 0; k < 3; k++) {
            json_t *x = json_object_get(v, keys[k]);
            if (x && (!json_is_number(x) || json_number_value(x) < 0))
                return ss_error_set(EINVAL, "%s: slo.%s: expected seconds >= 0", path, keys[k]);
            if (x) *dst[k] = json_number_value(x);
        }
    }
    return 0;
}

static bool known_key(const char *k)
{
    static const char *const scalars[] = { "trace", "workload", "requests", "duration_s", "slo", "comment" };
    for (size_t i = 0; i < SS_ARRAY_LEN(scalars); i++) if (!strcmp(k, scalars[i])) return true;
    for (int a = 0; a < SWEEP_N_AXES; a++) if (!strcmp(k, axis_names[a])) return true;
    return false;
}

int sweep_spec_load(SweepSpec *s, const char *path)
{
    memset(s, 0, sizeof(*s));
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j) return ss_error_set(EINVAL, "%s:%d: %s", path, jerr.line, jerr.text);
    int r = 0;
    const char *key;
    json_t *v;
    if (!json_is_object(j)) { r = ss_error_set(EINVAL, "%s: expected a JSON object", path); goto done; }
    json_object_foreach(j, key, v)
        if (!known_key(key)) { r = ss_error_set(EINVAL, "%s: unknown field '%s'", path, key); goto done; }
    if ((r = load_scalars(s, j, path))) goto done;
    s->n_runs = 1;
    for (int a = 0; a < SWEEP_N_AXES; a++) {
        json_t *given = json_object_get(j, axis_names[a]);
        json_t *def = given ? NULL : axis_default(s, a);
        r = axis_load(s, a, given ? given : def, path);
        if (def) json_decref(def);
        if (r) goto done;
        s->n_runs *= (int64_t)json_array_size(s->axis[a]);
        if (s->n_runs > 100000000) { r = ss_error_set(EINVAL, "%s: more than 1e8 runs", path); goto done; }
    }
done:
    json_decref(j);
    if (r) sweep_spec_free(s);
    return r;
}

void sweep_spec_free(SweepSpec *s)
{
    for (int a = 0; a < SWEEP_N_AXES; a++)
        if (s->axis[a]) json_decref(s->axis[a]);
    memset(s, 0, sizeof(*s));
}

/* ---- one run of the product ---- */

static int copy_axis_string(char *dst, size_t cap, json_t *v, const char *name)
{
    const char *s = json_string_value(v);
    if (strlen(s) >= cap) return ss_error_set(EINVAL, "sweep: %s '%s' too long", name, s);
    snprintf(dst, cap, "%s", s);
    return 0;
}

/* The values of run `index`, one per axis. */
static void run_values(const SweepSpec *s, int64_t index, json_t *val[SWEEP_N_AXES])
{
    for (int a = SWEEP_N_AXES - 1; a >= 0; a--) {
        int64_t n = (int64_t)json_array_size(s->axis[a]);
        val[a] = json_array_get(s->axis[a], (size_t)(index % n));
        index /= n;
    }
}

static int run_config(const SweepSpec *s, json_t *const val[SWEEP_N_AXES], EngineConfig *c)
{
    engine_config_default(c);
    char *dst[] = { c->model, c->gpu, c->fleet, c->router, c->sched_spec, c->predict_spec, c->cost_spec };
    size_t cap[] = { sizeof(c->model), sizeof(c->gpu), sizeof(c->fleet), sizeof(c->router),
                     sizeof(c->sched_spec), sizeof(c->predict_spec), sizeof(c->cost_spec) };
    for (int a = SWEEP_MODEL; a <= SWEEP_COST; a++) {
        int r = copy_axis_string(dst[a], cap[a], val[a], axis_names[a]);
        if (r) return r;
    }
    c->seed = (uint64_t)json_integer_value(val[SWEEP_SEED]);
    c->slo = s->slo;
    return 0;
}

/* A CSV field: quoted when it holds a comma, quote or newline. */
static void put_field(char **p, const char *s)
{
    bool quote = strpbrk(s, ",\"\n") != NULL;
    if (quote) *(*p)++ = '"';
    for (; *s; s++) {
        if (*s == '"') *(*p)++ = '"';
        *(*p)++ = *s;
    }
    if (quote) *(*p)++ = '"';
    *(*p)++ = ',';
}

static void put_number(char **p, double x)
{
    if (isnan(x)) *p += sprintf(*p, ",");
    else *p += sprintf(*p, "%.10g,", x);
}

int sweep_run_row(const SweepSpec *s, int64_t index, char **row)
{
    json_t *val[SWEEP_N_AXES];
    EngineConfig cfg;
    run_values(s, index, val);
    int r = run_config(s, val, &cfg);
    if (r) return r;
    SynthParams p;
    if ((r = synth_params_from_preset(&p, s->workload))) return r; /* checked at load */
    p.rate = json_number_value(val[SWEEP_RATE]);
    p.requests = s->duration_s > 0 ? 0 : s->requests;
    p.duration_s = s->duration_s;
    SimInput in = { .trace_path = s->trace[0] ? s->trace : NULL, .synth = &p };
    trace_open_opts_default(&in.trace_opts);
    in.trace_opts.speedup = json_number_value(val[SWEEP_SPEEDUP]);
    SimOutcome o;
    if ((r = sim_run_once(&cfg, &in, &o)))
        return ss_error_set(-r, "sweep run %lld: %s", (long long)index, ss_error_get());
    size_t cap = 2048;
    for (int a = 0; a < SWEEP_N_AXES; a++)
        if (json_is_string(val[a])) cap += 2 * strlen(json_string_value(val[a]));
    char *buf = ss_malloc(cap), *q = buf;
    q += sprintf(q, "%lld,", (long long)index);
    for (int a = SWEEP_MODEL; a <= SWEEP_COST; a++) put_field(&q, json_string_value(val[a]));
    put_number(&q, json_number_value(val[SWEEP_RATE]));
    put_number(&q, json_number_value(val[SWEEP_SPEEDUP]));
    q += sprintf(q, "%lld,", (long long)json_integer_value(val[SWEEP_SEED]));
    for (size_t k = 0; k < SS_ARRAY_LEN(metric_cols); k++) put_number(&q, sim_metric(&o, metric_cols[k]));
    q[-1] = '\n';
    *q = '\0';
    sim_outcome_clear(&o);
    *row = buf;
    return 0;
}
