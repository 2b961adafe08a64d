/* sweep_run.c: one simulation without files, and the thread pool that runs
 * many of them (used by `servesim plan` and `servesim sweep`). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "sweep.h"

typedef struct OpenSource {
    RowSource rows;
    TraceReader *reader;
    SynthSource *synth;
} OpenSource;

static int source_open(OpenSource *s, const SimInput *in, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    int r;
    if (in->trace_path) {
        if ((r = trace_reader_open(&s->reader, in->trace_path, &in->trace_opts))) return r;
        s->rows = trace_reader_source(s->reader, in->trace_path);
        return 0;
    }
    if (!in->synth) return ss_error_set(EINVAL, "sim: no trace and no workload");
    if ((r = synth_source_create(&s->synth, in->synth, seed))) return r;
    s->rows = synth_source_rowsource(s->synth);
    return 0;
}

static void source_close(OpenSource *s)
{
    if (s->reader) trace_reader_destroy(&s->reader);
    if (s->synth) synth_source_destroy(&s->synth);
}

int sim_run_once(const EngineConfig *cfg, const SimInput *in, SimOutcome *out)
{
    memset(out, 0, sizeof(*out));
    EngineConfig c = *cfg;
    c.progress = false;
    c.sample_interval_s = 0;   /* no time series: nothing is written */
    OpenSource src;
    Engine *e = NULL;
    int r = source_open(&src, in, c.seed);
    if (r) return r;
    double wall0 = ss_wall_seconds();
    if ((r = engine_create(&e, &c, NULL))) goto done;
    if ((r = engine_run(e, &src.rows))) goto done;
    const Metrics *m = engine_metrics(e);
    out->metrics = metrics_summary_json(m);
    out->arrived = m->arrived;
    out->good = m->good;
    out->failed = m->failed + m->rejected;
    out->completed = m->completed;
    out->unservable = m->rejected_by_reason[REQ_REJECT_TOO_LONG] + m->rejected_by_reason[REQ_REJECT_EMPTY_PROMPT];
    out->arrival_span_s = m->arrived > 1 ? m->last_arrival_s - m->first_arrival_s : NAN;
    out->wall_s = ss_wall_seconds() - wall0;
    if (c.autoscale_spec[0]) { /* the day's cost and per-hour SLO attainment (plan --autoscale) */
        json_t *info = engine_run_info_json(e);
        out->autoscale = json_incref(json_object_get(info, "autoscale"));
        json_decref(info);
    }
done:
    engine_destroy(&e);
    source_close(&src);
    return r;
}

void sim_outcome_clear(SimOutcome *o)
{
    if (o->metrics) json_decref(o->metrics);
    if (o->autoscale) json_decref(o->autoscale);
    memset(o, 0, sizeof(*o));
}

double sim_metric(const SimOutcome *o, const char *key)
{
    json_t *v = o->metrics ? json_object_get(o->metrics, key) : NULL;
    return v && json_is_number(v) ? json_number_value(v) : NAN;
}

/* ---- thread pool ---- */

typedef struct Pool {
    ParallelFn fn;
    void *ctx;
    int64_t n;
    atomic_llong next;
    atomic_int failed;
    pthread_mutex_t lock;
    int err;                 /* first failure, under lock */
    char message[1024];
} Pool;

static void *pool_worker(void *arg)
{
    Pool *p = arg;
    for (;;) {
        if (atomic_load(&p->failed)) break;
        int64_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n) break;
        int r = p->fn(p->ctx, i);
        if (r < 0) {
            pthread_mutex_lock(&p->lock);
            if (!p->err) {
                p->err = r;
                snprintf(p->message, sizeof(p->message), "%s", ss_error_get());
            }
            pthread_mutex_unlock(&p->lock);
            atomic_store(&p->failed, 1);
        }
    }
    return NULL;
}

int parallel_default_threads(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)SS_MIN(c, 256) : 1;
}

int parallel_for(int64_t n, int threads, ParallelFn fn, void *ctx)
{
    Pool p = { .fn = fn, .ctx = ctx, .n = n };
    atomic_init(&p.next, 0);
    atomic_init(&p.failed, 0);
    pthread_mutex_init(&p.lock, NULL);
    if (threads <= 0) threads = parallel_default_threads();
    if (threads > n) threads = n > 0 ? (int)n : 1;
    pthread_t *tid = ss_calloc((size_t)threads, sizeof(*tid));
    int started = 0;
    /* The calling thread is worker 0: one thread means no thread at all. */
    for (int t = 1; t < threads; t++, started++)
        if (pthread_create(&tid[t], NULL, pool_worker, &p)) break;
    pool_worker(&p);
    for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
    free(tid);
    pthread_mutex_destroy(&p.lock);
    if (p.err) return ss_error_set(-p.err, "%s", p.message);
    return 0;
}
