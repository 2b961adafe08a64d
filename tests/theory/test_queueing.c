/* Queueing theory against the simulator.
 *
 * One instance, fcfs-static with batch 1, one-token requests: each request's
 * service is exactly one step, whose time the synthetic backend draws from
 * the chosen distribution (mean 1 s).  Poisson arrivals at rate rho.  The
 * closed forms for the mean wait in queue (Wq) and mean queue length
 * (Lq = lambda Wq):
 *   M/M/1  Wq = rho / (1 - rho)
 *   M/D/1  Wq = rho / (2 (1 - rho))
 *   M/G/1  Wq = lambda E[S^2] / (2 (1 - rho)) = rho (1 + cv^2) / (2 (1 - rho))
 *          (Pollaczek-Khinchine; gamma service with cv = 0.5 here)
 *   4 instances, random router: four independent M/M/1 at rho (Poisson splitting)
 *   4 instances, central FIFO: M/M/4, Wq = C(4, a) / (4 - a), a = 4 rho (Erlang C)
 * Each case runs R seeds; the estimate is their mean and the 95 % confidence
 * interval Student's t over seeds; runs grow until that interval is within a
 * third of the tolerance (or a cap).  Pass: the estimate within 2 % of the
 * closed form for Wq and for Lq (measured as the time integral of the
 * scheduler's queue length, independently of the waits), and Little's law
 * Lq = lambda Wq within 1 % on every single run.
 *   test_queueing [--quick]   (--quick: fewer requests, looser: 5 %) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

#include "common.h"
#include "engine/engine.h"
#include "engine/rng.h"

typedef struct PoissonSource {
    gsl_rng *rng;
    double rate, t;
    int64_t left;
} PoissonSource;

static int poisson_next(void *ctx, TraceRow *row)
{
    PoissonSource *p = ctx;
    if (p->left-- <= 0) return 0;
    p->t += gsl_ran_exponential(p->rng, 1.0 / p->rate);
    memset(row, 0, sizeof(*row));
    row->arrival_s = p->t;
    row->input_tokens = 1;
    row->output_tokens = 1;
    return 1;
}

typedef struct Case {
    const char *name, *cost;
    double rho, cv2; /* utilisation per server; squared CV of service */
    int32_t servers; /* instances */
    const char *router;
} Case;

/* Erlang C: the probability that an arrival waits in M/M/c at offered load a = lambda/mu. */
static double erlang_c(int c, double a)
{
    double term = 1, sum = 1; /* sum_{k<c} a^k / k! */
    for (int k = 1; k < c; k++) { term *= a / k; sum += term; }
    double last = term * a / c; /* a^c / c! */
    double rho = a / c;
    return last / (1 - rho) / (sum + last / (1 - rho));
}

/* Mean wait in queue, service mean 1. */
static double theory_wq(const Case *k)
{
    if (k->servers > 1 && !strcmp(k->router, "central"))
        return erlang_c(k->servers, k->rho * k->servers) / (k->servers * (1 - k->rho));
    /* One queue, or random splitting into independent M/G/1 queues at rate rho. */
    return k->rho * (1 + k->cv2) / (2 * (1 - k->rho));
}

static int run_one(const Case *k, uint64_t seed, int64_t n, double out[3])
{
    EngineConfig c;
    engine_config_default(&c);
    snprintf(c.sched_spec, sizeof(c.sched_spec), "fcfs-static:batch=1");
    c.instances = k->servers;
    snprintf(c.router, sizeof(c.router), "%s", k->router);
    snprintf(c.cost_spec, sizeof(c.cost_spec), "%s", k->cost);
    c.sample_interval_s = 0;
    c.seed = seed;
    PoissonSource p = { ss_rng_stream(seed, "arrivals", 0), k->rho * k->servers, 0, n };
    RowSource src = { &p, poisson_next, "poisson" };
    Engine *e = NULL;
    int r = engine_create(&e, &c, NULL);
    if (!r) r = engine_run(e, &src);
    if (r) fprintf(stderr, "%s\n", ss_error_get());
    if (!r) {
        json_t *s = metrics_summary_json(engine_metrics(e));
        const Metrics *m = engine_metrics(e);
        double span = m->area_last_s - m->first_arrival_s;
        out[0] = json_real_value(json_object_get(s, "mean_wait_ms")) / 1e3;
        out[1] = json_real_value(json_object_get(s, "mean_queue_length"));
        out[2] = (double)m->arrived / span; /* measured lambda */
        json_decref(s);
    }
    engine_destroy(&e);
    gsl_rng_free(p.rng);
    return r;
}

static void mean_ci(const double *x, int n, double *mean, double *half)
{
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *half = gsl_cdf_tdist_Pinv(0.975, n - 1) * sqrt(ss / (n - 1) / n);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && !strcmp(argv[1], "--quick");
    const double tol = quick ? 0.05 : 0.02;
    const Case cases[] = {
        { "M/M/1", "synthetic:dist=exponential,mean=1", 0.5, 1.0, 1, "round-robin" },
        { "M/M/1", "synthetic:dist=exponential,mean=1", 0.8, 1.0, 1, "round-robin" },
        { "M/M/1", "synthetic:dist=exponential,mean=1", 0.9, 1.0, 1, "round-robin" },
        { "M/D/1", "synthetic:dist=constant,mean=1", 0.5, 0.0, 1, "round-robin" },
        { "M/D/1", "synthetic:dist=constant,mean=1", 0.8, 0.0, 1, "round-robin" },
        { "M/D/1", "synthetic:dist=constant,mean=1", 0.9, 0.0, 1, "round-robin" },
        { "M/G/1", "synthetic:dist=gamma,mean=1,cv=0.5", 0.5, 0.25, 1, "round-robin" },
        { "M/G/1", "synthetic:dist=gamma,mean=1,cv=0.5", 0.8, 0.25, 1, "round-robin" },
        { "M/G/1", "synthetic:dist=gamma,mean=1,cv=0.5", 0.9, 0.25, 1, "round-robin" },
        /* Fleets: random splitting gives 4 independent M/M/1 at rho; one
         * central FIFO gives M/M/4 (Erlang C). */
        { "4xM/M/1", "synthetic:dist=exponential,mean=1", 0.8, 1.0, 4, "random" },
        { "M/M/4", "synthetic:dist=exponential,mean=1", 0.5, 1.0, 4, "central" },
        { "M/M/4", "synthetic:dist=exponential,mean=1", 0.8, 1.0, 4, "central" },
        { "M/M/4", "synthetic:dist=exponential,mean=1", 0.9, 1.0, 4, "central" },
    };
    enum { SEEDS = 8 };
    int failures = 0, passed = 0;
    printf("%-6s %4s %9s %9s %7s %9s %9s %7s %8s\n", "model", "rho", "Wq", "theory", "ci95%",
           "Lq", "theory", "ci95%", "requests");
    for (size_t i = 0; i < SS_ARRAY_LEN(cases); i++) {
        const Case *k = &cases[i];
        /* Run R seeds; while the 95 % interval of Wq is wider than a third of
         * the tolerance, double the requests per seed (deterministic: the
         * same seeds give the same sequence of runs). */
        int64_t n = (int64_t)((quick ? 1e3 : 2e4) * k->servers / ((1 - k->rho) * (1 - k->rho)));
        const int64_t n_cap = quick ? 100000 : 4000000;
        double wq[SEEDS], lq[SEEDS], wm, wh, lm, lh;
        bool little_ok;
        for (;;) {
            little_ok = true;
            for (int s = 0; s < SEEDS; s++) {
                double out[3];
                if (run_one(k, 1000 + 17 * (uint64_t)s, n, out)) return 1;
                wq[s] = out[0];
                lq[s] = out[1];
                if (fabs(out[1] - out[2] * out[0]) > 0.01 * out[1]) {
                    printf("  Little's law off: Lq %.6f vs lambda Wq %.6f\n", out[1], out[2] * out[0]);
                    little_ok = false;
                }
            }
            mean_ci(wq, SEEDS, &wm, &wh);
            mean_ci(lq, SEEDS, &lm, &lh);
            if (wh <= tol / 3 * wm || n * 2 > n_cap) break;
            n *= 2;
        }
        double w_theory = theory_wq(k);
        double l_theory = k->rho * k->servers * w_theory; /* Little: Lq = lambda Wq */
        bool ok = little_ok && fabs(wm - w_theory) <= tol * w_theory &&
                  fabs(lm - l_theory) <= tol * l_theory;
        printf("%-6s %4.2f %9.4f %9.4f %6.2f%% %9.4f %9.4f %6.2f%% %8lld %s\n", k->name, k->rho,
               wm, w_theory, 100 * wh / w_theory, lm, l_theory, 100 * lh / l_theory,
               (long long)n * SEEDS, ok ? "ok" : "FAIL");
        if (ok) passed++; else failures++;
    }
    printf("%d passed, %d failed\n", passed, failures);
    return failures ? 1 : 0;
}
