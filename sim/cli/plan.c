/* plan.c: `servesim plan`: the smallest fleet per candidate GPU kind that
 * meets the SLOs in every one of R seeds, its cost per hour, and t-intervals
 * at that size and one fewer; with --diurnal, the mean hour and the peak
 * hour of the embedded day, so the cost of burstiness shows. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "common.h"
#include "out_file.h"
#include "fleet/plan.h"
#include "fleet/plan_autoscale.h"
#include "fleet/plan_disagg.h"
#include "results.h"
#include "servesim_config.h"
#include "sched/sched.h"

#define PLAN_MAX_CANDS 16

static void plan_usage(FILE *f)
{
    fprintf(f,
        "usage: servesim plan (--trace FILE | --workload NAME[:k=v,...]) [options]\n"
        "\n"
        "Finds, for each candidate GPU kind, the smallest number of instances meeting every\n"
        "SLO in every one of R seeds (exponential growth, then bisection on the count), its\n"
        "cost per hour, and 95 %% intervals over the seeds at that size and one fewer (inside\n"
        "each quantity's range; none when the seeds give identical results).  Requests no\n"
        "fleet can serve (prompts over the context or KV cache) are flagged and left out of\n"
        "the shares; with no answer the plan says which SLO failed and exits 1.\n"
        "Cheapest first.  Runs write no per-request files and are deterministic per seed.\n"
        "\n"
        "workload:\n"
        "  --trace FILE | --workload NAME[:k=v,...]   default or burstgpt-perf (servesim list workloads)\n"
        "  --rate R              workload mean rate, requests/s (default: the workload's, 2 for default)\n"
        "  --requests N          requests per simulation (default 20000)\n"
        "  --duration S          simulated seconds per simulation instead\n"
        "  --burstiness B        workload gap shape: Gamma(B), 1 = Poisson (default 0.5)\n"
        "  --diurnal             workload: plan for the mean hour (Poisson and bursty) and the\n"
        "                        peak hour (rate x %.4g) of the embedded day; 3600 s each\n"
        "%s"
        "fleet and serving:\n"
        "  --gpus LIST           candidate GPU kinds (default h100-sxm,a100-80g,h200)\n"
        "  --price KIND=USD,...  override the GPU files' price per GPU-hour\n"
        "  --tp N                tensor-parallel GPUs per instance (default 1)\n"
        "  --model NAME          (default llama-2-7b)\n"
        "  --sched SPEC          (default vllm when registered, else fcfs-static)\n"
        "  --router SPEC         (default least-work)\n"
        "  --predict SPEC, --cost SPEC, --gpu-mem-util F, --block-size N\n"
        "SLOs:\n"
        "  --slo ttft=S,tpot=S   P99 TTFT and P99 TPOT bounds, seconds (default ttft=2,tpot=0.1);\n"
        "                        also the per-request goodput SLO\n"
        "  --goodput F           share of requests meeting both, at least (default: not judged)\n"
        "  --max-failure F       failed + rejected share, at most (default 0.01; -1: not judged)\n"
        "  --seeds R             seeds per size (default 5)     --seed S  first seed (default 1)\n"
        "  --confidence C        pass on the one-sided C t-bound of the mean instead of every seed\n"
        "search and output:\n"
        "  --max-instances N     give up above N (default 1024)\n"
        "  --mix                 also search fleets mixing two of the kinds (cheaper when a\n"
        "                        pure fleet rounds up to a whole idle instance)\n"
        "  --autoscale           the cheapest of a small grid of autoscaler settings (static mean-\n"
        "                        and peak-hour fleets, per-hour schedules, target-utilisation and\n"
        "                        queue bands; docs/PLANNING.md) meeting the SLOs over a whole\n"
        "                        diurnal day, in USD/day; implies --diurnal (its static plans run\n"
        "                        --duration, default 600 s)\n"
        "  --day-s S             --autoscale: the day's simulated seconds (default 7200: the day's\n"
        "                        profile compressed 12x; 86400 for the real day)\n"
        "  --hour-attainment F   --autoscale: also every hour's share of requests within --slo, at\n"
        "                        least (default: not judged)\n"
        "  --disagg              also the cheapest prefill:decode split of each kind (--fleet\n"
        "                        prefill:P x GPU,decode:D x GPU), beside its colocated answer\n"
        "  --kv-link SPEC        --disagg: the link between the roles (as `run`; default nvlink\n"
        "                        within 8 GPUs, else rdma)\n"
        "  --threads N           simulations in parallel (default: cores)\n"
        "  --out FILE.json       write the plan as JSON    --json  print it instead of the table\n",
        synth_diurnal_profile()[14], cli_trace_options_help());
}

typedef struct PlanArgs {
    PlanConfig cfg;
    CliTraceArgs trace;
    const char *workload, *out, *gpus, *prices;
    SynthParams synth;
    double rate, duration_s, burstiness;
    int64_t requests;
    bool diurnal, json, requests_given, mix, autoscale, disagg;
    char kv_link[128];           /* --disagg runs only: colocated fleets refuse a link */
    double day_s;                /* --autoscale: simulated seconds of the day */
    char serving_args[1024];     /* the serving options as given (for run_args), but --tp */
} PlanArgs;

enum { P_MIX = 999, P_RATE = 1000, P_REQUESTS, P_DURATION, P_DIURNAL, P_GPUS, P_PRICE, P_SLO,
       P_GOODPUT, P_MAXFAIL, P_SEEDS, P_SEED, P_CONF, P_MAXINST, P_THREADS, P_OUT, P_JSON, P_TRACE,
       P_WORKLOAD, P_BURST, P_AUTOSCALE, P_DAY, P_HOUR_ATT, P_DISAGG, P_KV_LINK };

static int parse_slo_arg(const char *s, PlanSlo *slo, SloSpec *req)
{
    static const OptSpec specs[] = {
        { "ttft", OPT_DOUBLE, offsetof(SloSpec, ttft_s), "0", "seconds", NULL, 0, 1e12 },
        { "tpot", OPT_DOUBLE, offsetof(SloSpec, tpot_s), "0", "seconds", NULL, 0, 1e12 },
        { NULL },
    };
    if (opts_init(specs, s, req, "--slo")) return cli_fail_lib();
    slo->p99_ttft_s = req->ttft_s;
    slo->p99_tpot_s = req->tpot_s;
    return 0;
}

static int parse_number(const char *flag, const char *v, double lo, double hi, double *out)
{
    double d;
    if (ss_parse_double(v, &d) || !(d >= lo && d <= hi)) return cli_fail("%s: '%s' is not in [%g, %g]", flag, v, lo, hi);
    *out = d;
    return 0;
}

static int parse_one(PlanArgs *a, int c, const char *v)
{
    EngineConfig *e = &a->cfg.base;
    double d = 0;
    int r = 0;
    switch (c) {
    case P_TRACE: a->trace.path = v; break;
    case P_WORKLOAD: a->workload = v; break;
    case P_RATE: r = parse_number("--rate", v, 1e-9, 1e9, &a->rate); break;
    case P_DURATION: r = parse_number("--duration", v, 1e-9, 1e12, &a->duration_s); break;
    case P_REQUESTS: r = parse_number("--requests", v, 1, 1e12, &d); a->requests = (int64_t)d; a->requests_given = true; break;
    case P_DIURNAL: a->diurnal = true; break;
    case P_BURST: r = parse_number("--burstiness", v, 1e-6, 1e9, &a->burstiness); break;
    case P_MIX: a->mix = true; break;
    case P_AUTOSCALE: a->autoscale = true; break;
    case P_DISAGG: a->disagg = true; break;
    case P_KV_LINK:
        if (strlen(v) >= sizeof(a->kv_link)) r = cli_fail("--kv-link: longer than %zu characters", sizeof(a->kv_link) - 1);
        else snprintf(a->kv_link, sizeof(a->kv_link), "%s", v);
        break;
    case P_DAY: r = parse_number("--day-s", v, 240, 1e9, &a->day_s); break;
    case P_HOUR_ATT: r = parse_number("--hour-attainment", v, 0, 1, &a->cfg.slo.min_hour_attainment); break;
    case P_GPUS: a->gpus = v; break;
    case P_PRICE: a->prices = v; break;
    case P_SLO: r = parse_slo_arg(v, &a->cfg.slo, &e->slo); break;
    case P_GOODPUT: r = parse_number("--goodput", v, 0, 1, &a->cfg.slo.min_goodput_share); break;
    case P_MAXFAIL: r = parse_number("--max-failure", v, -1, 1, &a->cfg.slo.max_failure_share); break;
    case P_SEEDS: r = parse_number("--seeds", v, 1, 10000, &d); a->cfg.seeds = (int32_t)d; break;
    case P_SEED: r = parse_number("--seed", v, 0, 9e15, &d); a->cfg.first_seed = (uint64_t)d; break;
    case P_CONF: r = parse_number("--confidence", v, 0.5, 0.9999, &a->cfg.slo.confidence); break;
    case P_MAXINST: r = parse_number("--max-instances", v, 1, 100000, &d); a->cfg.max_instances = (int32_t)d; break;
    case P_THREADS: r = parse_number("--threads", v, 1, 4096, &d); a->cfg.threads = (int)d; break;
    case P_OUT: a->out = v; break;
    case P_JSON: a->json = true; break;
    default:
        /* The serving set-up, as `run` parses it; then the trace options. */
        r = cli_serving_parse_option(e, c, v);
        if (r == -1) r = cli_trace_parse_option(&a->trace, c, v);
    }
    return r;
}

static void plan_args_default(PlanArgs *a)
{
    memset(a, 0, sizeof(*a));
    engine_config_default(&a->cfg.base);
    EngineConfig *e = &a->cfg.base;
    snprintf(e->sched_spec, sizeof(e->sched_spec), "%s", sched_find("vllm") ? "vllm" : "fcfs-static");
    snprintf(e->router, sizeof(e->router), "least-work");
    e->slo.ttft_s = a->cfg.slo.p99_ttft_s = 2.0;
    e->slo.tpot_s = a->cfg.slo.p99_tpot_s = 0.1;
    a->cfg.slo.max_failure_share = 0.01;
    a->cfg.seeds = 5;
    a->cfg.first_seed = 1;
    a->cfg.max_instances = 1024;
    a->gpus = "h100-sxm,a100-80g,h200";
    a->requests = 20000;
    cli_trace_args_default(&a->trace);
}

static int parse_plan_args(int argc, char **argv, PlanArgs *a)
{
    static const struct option long_opts[] = {
        { "trace", required_argument, 0, P_TRACE }, { "workload", required_argument, 0, P_WORKLOAD },
        { "rate", required_argument, 0, P_RATE }, { "requests", required_argument, 0, P_REQUESTS },
        { "duration", required_argument, 0, P_DURATION }, { "diurnal", no_argument, 0, P_DIURNAL },
        { "mix", no_argument, 0, P_MIX }, { "burstiness", required_argument, 0, P_BURST },
        { "gpus", required_argument, 0, P_GPUS }, { "price", required_argument, 0, P_PRICE },
        { "tp", required_argument, 0, CLI_OPT_TP }, { "model", required_argument, 0, CLI_OPT_MODEL },
        { "ep", required_argument, 0, CLI_OPT_EP }, { "weights", required_argument, 0, CLI_OPT_WEIGHTS },
        { "kv-dtype", required_argument, 0, CLI_OPT_KV_DTYPE }, { "moe-skew", required_argument, 0, CLI_OPT_MOE_SKEW },
        { "sched", required_argument, 0, CLI_OPT_SCHED }, { "router", required_argument, 0, CLI_OPT_ROUTER },
        { "predict", required_argument, 0, CLI_OPT_PREDICT }, { "cost", required_argument, 0, CLI_OPT_COST },
        { "gpu-mem-util", required_argument, 0, CLI_OPT_MEMUTIL },
        { "block-size", required_argument, 0, CLI_OPT_BLOCK },
        { "max-prompt-tokens", required_argument, 0, CLI_OPT_MAX_PROMPT },
        { "long-prompts", required_argument, 0, CLI_OPT_LONG_PROMPTS },
        { "client", required_argument, 0, CLI_OPT_CLIENT }, { "admission", required_argument, 0, CLI_OPT_ADMISSION },
        { "slo", required_argument, 0, P_SLO }, { "goodput", required_argument, 0, P_GOODPUT },
        { "max-failure", required_argument, 0, P_MAXFAIL }, { "seeds", required_argument, 0, P_SEEDS },
        { "seed", required_argument, 0, P_SEED }, { "confidence", required_argument, 0, P_CONF },
        { "max-instances", required_argument, 0, P_MAXINST }, { "threads", required_argument, 0, P_THREADS },
        { "out", required_argument, 0, P_OUT }, { "json", no_argument, 0, P_JSON },
        { "autoscale", no_argument, 0, P_AUTOSCALE }, { "day-s", required_argument, 0, P_DAY },
        { "hour-attainment", required_argument, 0, P_HOUR_ATT },
        { "disagg", no_argument, 0, P_DISAGG }, { "kv-link", required_argument, 0, P_KV_LINK },
        CLI_TRACE_LONG_OPTIONS, { 0, 0, 0, 0 },
    };
    plan_args_default(a);
    int c, r, li = -1;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, &li)) != -1) {
        if (c == '?') return cli_fail("plan: unknown or incomplete option '%s' (see servesim plan --help)", argv[optind - 1]);
        if ((r = parse_one(a, c, optarg))) return r;
        /* The serving set-up as given, for the run_args that replay a setting. */
        size_t used = strlen(a->serving_args);
        if (c >= CLI_OPT_TRACE && c != CLI_OPT_TP && li >= 0) {
            int w = snprintf(a->serving_args + used, sizeof(a->serving_args) - used, " --%s %s", long_opts[li].name,
                             optarg ? optarg : "");
            if (w < 0 || (size_t)w >= sizeof(a->serving_args) - used) return cli_fail("plan: serving options too long");
        }
        li = -1;
    }
    if (optind < argc) return cli_fail("plan: unexpected argument '%s'", argv[optind]);
    if (!a->trace.path == !a->workload)
        return cli_fail("plan: give exactly one of --trace FILE or --workload NAME (%s)", synth_preset_names());
    if (a->workload) { /* name, knobs and values; the scenarios build from the same spec */
        SynthParams p;
        if (synth_params_from_preset(&p, a->workload) < 0) return cli_fail_lib();
        if (a->rate > 0 && synth_spec_names_key(a->workload, "scale"))
            return cli_fail("plan: --rate and the workload's scale= both set the rate; give one");
        if (a->burstiness > 0 && synth_spec_names_key(a->workload, "shape"))
            return cli_fail("plan: --burstiness and the workload's shape= both set the gap shape; give one");
        if (strlen(a->workload) > 120) return cli_fail("plan: --workload spec longer than 120 characters");
    }
    if (a->kv_link[0] && !a->disagg) return cli_fail("plan: --kv-link is the link of --disagg's split fleets; add --disagg");
    if (a->disagg && a->autoscale)
        return cli_fail("plan: --disagg with --autoscale is not supported (the engine does not autoscale roles yet)");
    if (a->autoscale && a->trace.path)
        return cli_fail("plan --autoscale: runs the embedded workload's diurnal day (--workload default); not a trace");
    if (!a->autoscale && (a->day_s > 0 || a->cfg.slo.min_hour_attainment > 0))
        return cli_fail("plan: --%s is a setting of --autoscale", a->day_s > 0 ? "day-s" : "hour-attainment");
    if (a->autoscale && a->requests_given)
        return cli_fail("plan --autoscale: the static plans run --duration S (default 600 s), the day --day-s S; "
                        "drop --requests");
    if (a->autoscale) {
        a->diurnal = true;
        if (!(a->day_s > 0)) a->day_s = 7200;
        if (!(a->duration_s > 0)) a->duration_s = 600;
    }
    if (a->diurnal && a->trace.path) return cli_fail("--diurnal: only with --workload default (a trace carries its own day)");
    if (a->burstiness > 0 && (a->trace.path || a->diurnal))
        return cli_fail("--burstiness: only with --workload default and without --diurnal (its scenarios set their own)");
    if (a->rate > 0 && a->trace.path)
        return cli_fail("plan: --rate sets the embedded workload's rate; a trace keeps its own "
                        "arrivals: scale them with --speedup F (F x faster)");
    return cli_serving_check(&a->cfg.base);
}

static int parse_candidates(const PlanArgs *a, PlanCandidate *cands, int *n)
{
    *n = 0;
    for (const char *p = a->gpus; *p;) {
        size_t len = strcspn(p, ",");
        if (*n == PLAN_MAX_CANDS) return cli_fail("--gpus: more than %d kinds", PLAN_MAX_CANDS);
        if (!len || len >= sizeof(cands[0].gpu)) return cli_fail("--gpus '%s': bad GPU name", a->gpus);
        PlanCandidate *c = &cands[(*n)++];
        memcpy(c->gpu, p, len);
        c->gpu[len] = '\0';
        c->tp = a->cfg.base.tensor_parallel;
        c->price_per_hour = -1;
        p += len + (p[len] == ',');
    }
    for (const char *p = a->prices ? a->prices : ""; *p;) {
        size_t len = strcspn(p, ","), klen = strcspn(p, "=");
        char v[64];
        double d;
        if (klen >= len || len - klen - 1 >= sizeof(v)) return cli_fail("--price '%s': expected KIND=USD,...", a->prices);
        snprintf(v, sizeof(v), "%.*s", (int)(len - klen - 1), p + klen + 1);
        if (ss_parse_double(v, &d) || d < 0) return cli_fail("--price: '%s' is not a price", v);
        int hit = 0;
        for (int i = 0; i < *n; i++)
            if (strlen(cands[i].gpu) == klen && !strncmp(cands[i].gpu, p, klen)) cands[i].price_per_hour = d, hit = 1;
        if (!hit) return cli_fail("--price: '%.*s' is not one of --gpus", (int)klen, p);
        p += len + (p[len] == ',');
    }
    return 0;
}

typedef struct Scenario {
    char name[32];
    char desc[256];
    char run_args[256];                /* the `servesim run` options that replay this workload */
    SynthParams synth;
    double rate;                       /* requests/s; NAN for a trace */
    PlanAnswer *ans;                   /* [n_cands] */
    PlanMix mix;                       /* --mix: the cheapest two-kind fleet, if one beats them */
    PlanDisagg *disagg;                /* --disagg: [n_cands], each kind's cheapest split */
    int order[PLAN_MAX_CANDS];         /* cheapest found first */
} Scenario;

/* The spec without its scale= and shape= knobs: a scenario's run_args give
 * the rate and shape that ran as --rate and --burstiness (run refuses both
 * spellings at once). */
static void spec_without_arrivals(const char *spec, char *out, size_t cap)
{
    const char *colon = strchr(spec, ':');
    size_t used = (size_t)snprintf(out, cap, "%.*s", (int)(colon ? colon - spec : (ptrdiff_t)strlen(spec)), spec);
    for (const char *p = colon; p && used < cap; ) {
        p++;
        size_t len = strcspn(p, ",");
        if (strncmp(p, "scale=", 6) && strncmp(p, "shape=", 6) && len)
            used += (size_t)snprintf(out + used, cap - used, "%c%.*s", strchr(out, ':') ? ',' : ':', (int)len, p);
        p = p[len] ? p + len : NULL;
    }
}

/* The workloads to plan for: the trace, the workload, or with --diurnal the
 * mean hour with Poisson arrivals, the mean hour and the peak hour (bursty). */
static int make_scenarios(PlanArgs *a, Scenario *sc)
{
    if (a->trace.path) {
        snprintf(sc[0].name, sizeof(sc[0].name), "trace");
        snprintf(sc[0].desc, sizeof(sc[0].desc), "trace %s (speedup %g)", a->trace.path, a->trace.open.speedup);
        sc[0].rate = NAN;
        return 1;
    }
    SynthParams base;
    int r = synth_params_from_preset(&base, a->workload); /* checked in parse_args */
    SS_ASSERT(r == 0);
    double rate = a->rate > 0 ? a->rate : base.rate;
    int n = a->diurnal ? 3 : 1;
    const double *mult = synth_diurnal_profile();
    for (int i = 0; i < n; i++) {
        SynthParams *p = &sc[i].synth;
        *p = base;
        p->diurnal = false;
        p->rate = i == 2 ? rate * mult[14] : rate;
        if (a->diurnal && i == 0) p->gap = SYNTH_GAP_EXPONENTIAL, p->shape = 1;
        if (a->burstiness > 0) p->gap = SYNTH_GAP_GAMMA, p->shape = a->burstiness;
        bool by_time = a->duration_s > 0 || (a->diurnal && !a->requests_given);
        p->duration_s = by_time ? (a->duration_s > 0 ? a->duration_s : 3600) : 0;
        p->requests = by_time ? 0 : a->requests;
        sc[i].rate = p->rate;
        const char *names[3] = { a->diurnal ? "mean-hour-poisson" : "workload", "mean-hour", "peak-hour" };
        snprintf(sc[i].name, sizeof(sc[i].name), "%s", names[i]);
        char per[48];
        if (by_time) snprintf(per, sizeof(per), "%g s per run", p->duration_s);
        else snprintf(per, sizeof(per), "%lld requests per run", (long long)p->requests);
        char gaps[32];
        if (p->gap == SYNTH_GAP_EXPONENTIAL || p->shape == 1) snprintf(gaps, sizeof(gaps), "Poisson");
        else snprintf(gaps, sizeof(gaps), "Gamma(%g)", p->shape);
        int w = snprintf(sc[i].desc, sizeof(sc[i].desc), "%s: workload %s, %s arrivals at %.4g req/s%s, %s",
                 names[i], a->workload, gaps, p->rate,
                 i == 2 ? " (14:00, the day's mean x 1.839)" : a->diurnal ? " (the day's mean)" : "", per);
        /* The same arrivals through `run` (per seed: --seed S) */
        char stop[48];
        if (by_time) snprintf(stop, sizeof(stop), "--duration %.17g", p->duration_s);
        else snprintf(stop, sizeof(stop), "--requests %lld", (long long)p->requests);
        char spec[160];
        spec_without_arrivals(a->workload, spec, sizeof(spec));
        int ra = snprintf(sc[i].run_args, sizeof(sc[i].run_args), "--workload %s --rate %.17g --burstiness %.17g %s",
                          spec, p->rate, p->gap == SYNTH_GAP_EXPONENTIAL ? 1.0 : p->shape, stop);
        SS_ASSERT(ra > 0 && (size_t)ra < sizeof(sc[i].run_args)); /* the spec is <= 120 characters */
        (void)w; /* a long description is cut, never an error */
    }
    return n;
}

static void sort_answers(Scenario *sc, int n)
{
    for (int i = 0; i < n; i++) sc->order[i] = i;
    for (int i = 1; i < n; i++)   /* insertion sort: found before not, then by cost, stable */
        for (int j = i; j > 0; j--) {
            const PlanAnswer *x = &sc->ans[sc->order[j - 1]], *y = &sc->ans[sc->order[j]];
            bool swap = (!x->found && y->found) || (x->found && y->found && y->cost_per_hour < x->cost_per_hour);
            if (!swap) break;
            int t = sc->order[j]; sc->order[j] = sc->order[j - 1]; sc->order[j - 1] = t;
        }
}

/* The same manifest as a run's (results_manifest_json: version, command,
 * input and its sha256, every plug-in's options), for a set-up that ran
 * on many fleets: gpu, instances and tp are per candidate (null here). */
static json_t *plan_manifest_json(const PlanArgs *a, int argc, char **argv)
{
    EngineConfig c = a->cfg.base;
    snprintf(c.fleet, sizeof(c.fleet), "per candidate: see scenarios[].candidates");
    c.seed = a->cfg.first_seed;
    CliSource src = { .path = a->trace.path ? a->trace.path : "" };
    if (a->trace.path && ss_sha256_file(a->trace.path, src.sha256)) return NULL;
    json_t *m = results_manifest_json(&c, &src, argc, argv);
    if (!a->trace.path)  /* each scenario's workload parameters are in its own object */
        json_object_set_new(m, "input", json_pack("{s:s,s:s}", "workload", a->workload,
                                                  "params", "per scenario: scenarios[].workload"));
    return m;
}

static json_t *plan_json(const PlanArgs *a, Scenario *sc, int n_sc, int n_cands, int64_t sims, double wall_s,
                         int argc, char **argv)
{
    json_t *j = json_object(), *arr = json_array();
    json_t *m = plan_manifest_json(a, argc, argv);
    if (!m) { json_decref(j); json_decref(arr); return NULL; }
    json_object_set_new(m, "seeds", json_integer(a->cfg.seeds));
    json_object_set_new(m, "first_seed", json_integer((json_int_t)a->cfg.first_seed));
    json_object_set_new(m, "slo", plan_slo_json(&a->cfg.slo));
    if (a->disagg) /* the split fleets' link; colocated fleets have none */
        json_object_set_new(m, "disagg_kv_link", json_string(a->kv_link[0] ? a->kv_link : "default (nvlink within 8 GPUs, else rdma)"));
    json_object_set_new(j, "manifest", m);
    for (int s = 0; s < n_sc; s++) {
        json_t *o = json_object(), *cands = json_array();
        json_object_set_new(o, "name", json_string(sc[s].name));
        json_object_set_new(o, "description", json_string(sc[s].desc));
        if (!a->trace.path) json_object_set_new(o, "run_args", json_string(sc[s].run_args));
        if (!a->trace.path) json_object_set_new(o, "workload", synth_params_to_json(&sc[s].synth));
        for (int i = 0; i < n_cands; i++) json_array_append_new(cands, plan_answer_json(&sc[s].ans[sc[s].order[i]]));
        json_object_set_new(o, "candidates", cands);
        if (a->mix) json_object_set_new(o, "mix", plan_mix_json(&sc[s].mix));
        if (a->disagg) {
            json_t *d = json_array();
            for (int i = 0; i < n_cands && sc[s].disagg; i++) json_array_append_new(d, plan_disagg_json(&sc[s].disagg[i]));
            json_object_set_new(o, "disaggregated", d);
        }
        json_array_append_new(arr, o);
    }
    json_object_set_new(j, "scenarios", arr);
    if (n_sc == 3 && sc[1].ans[sc[1].order[0]].found && sc[2].ans[sc[2].order[0]].found) {
        json_t *b = json_object();
        double c0 = sc[0].ans[sc[0].order[0]].found ? sc[0].ans[sc[0].order[0]].cost_per_hour : NAN;
        double c1 = sc[1].ans[sc[1].order[0]].cost_per_hour, c2 = sc[2].ans[sc[2].order[0]].cost_per_hour;
        json_object_set_new(b, "peak_over_mean_cost", json_real(c2 / c1));
        if (isfinite(c0)) json_object_set_new(b, "bursty_over_poisson_cost", json_real(c1 / c0));
        json_object_set_new(j, "burstiness", b);
    }
    json_t *run = json_object();
    json_object_set_new(run, "simulations", json_integer(sims));
    (void)wall_s; /* stderr only: the JSON stays byte-identical across reruns */
    json_object_set_new(j, "run", run);
    return j;
}

/* --mix: every pair of kinds that each have an answer; keep the cheapest mix. */
static int plan_scenario_mix(PlanArgs *a, Scenario *sc, int n_cands, int64_t *sims)
{
    for (int i = 0; i < n_cands; i++)
        for (int j = 0; j < n_cands; j++) {
            if (i == j) continue; /* both orders: the search walks the first kind's count */
            PlanMix m;
            int r = plan_mix_pair(&a->cfg, &sc->ans[i], &sc->ans[j], &m);
            *sims += m.sims;
            if (r) { fprintf(stderr, "servesim: plan --mix: %s\n", ss_error_get()); return r; }
            if (m.found && (!sc->mix.found || m.cost_per_hour < sc->mix.cost_per_hour)) sc->mix = m;
        }
    if (!a->json) {
        if (sc->mix.found)
            printf("mixed fleet: %d x %s + %d x %s = %.2f USD/hour (P99 TTFT %.4g s [%.4g, %.4g])\n",
                   sc->mix.n_a, sc->mix.a.gpu, sc->mix.n_b, sc->mix.b.gpu, sc->mix.cost_per_hour,
                   sc->mix.eval.mean[PLAN_P99_TTFT], sc->mix.eval.lo[PLAN_P99_TTFT], sc->mix.eval.hi[PLAN_P99_TTFT]);
        else
            printf("mixed fleet: none cheaper than the best pure fleet\n");
    }
    return 0;
}

/* --disagg: each kind's cheapest prefill:decode split, beside its colocated
 * answer (the same seeds, SLOs and serving set-up, plus --kv-link). */
static int plan_scenario_disagg(PlanArgs *a, Scenario *sc, int n_cands, int64_t *sims)
{
    PlanConfig dc = a->cfg;
    snprintf(dc.base.kv_link, sizeof(dc.base.kv_link), "%s", a->kv_link);
    sc->disagg = ss_calloc((size_t)n_cands, sizeof(PlanDisagg));
    for (int i = 0; i < n_cands; i++) {
        const PlanAnswer *colo = &sc->ans[sc->order[i]];
        PlanDisagg *d = &sc->disagg[i];
        int r = plan_disagg_candidate(&dc, colo, d);
        *sims += d->sims;
        if (r) { fprintf(stderr, "servesim: plan --disagg: %s: %s\n", colo->cand.gpu, ss_error_get()); return r; }
        if (!a->json) plan_disagg_print(stdout, d, &a->cfg.slo);
    }
    return 0;
}

static int run_scenarios(PlanArgs *a, Scenario *sc, int n_sc, const PlanCandidate *cands, int n_cands,
                         int64_t *sims)
{
    int errors = 0;
    /* The static hours are fixed fleets, with no per-hour accounting: the
     * hour criterion (--autoscale) judges the day only. */
    double hour_attainment = a->cfg.slo.min_hour_attainment;
    a->cfg.slo.min_hour_attainment = 0;
    for (int s = 0; s < n_sc; s++) {
        a->cfg.input = (SimInput){ .trace_path = a->trace.path, .trace_opts = a->trace.open,
                                   .synth = a->trace.path ? NULL : &sc[s].synth };
        sc[s].ans = ss_calloc((size_t)n_cands, sizeof(PlanAnswer));
        for (int i = 0; i < n_cands; i++) {
            if (plan_candidate(&a->cfg, &cands[i], &sc[s].ans[i]))
                fprintf(stderr, "servesim: plan: %s: %s\n", cands[i].gpu, sc[s].ans[i].error), errors++;
            *sims += sc[s].ans[i].sims;
        }
        sort_answers(&sc[s], n_cands);
        if (!a->json) plan_print_answers(stdout, sc[s].desc, sc[s].ans, sc[s].order, n_cands, &a->cfg.slo);
        if (a->mix && plan_scenario_mix(a, &sc[s], n_cands, sims)) errors++;
        if (a->disagg && plan_scenario_disagg(a, &sc[s], n_cands, sims)) errors++;
    }
    a->cfg.slo.min_hour_attainment = hour_attainment;
    return errors == n_sc * n_cands ? -EINVAL : 0;
}

/* --autoscale: the day's workload (the embedded profile over --day-s) and
 * the `servesim run` options that replay it. */
static void autoscale_day(const PlanArgs *a, const Scenario *peak, SynthParams *day, PlanAutoscaleDay *d,
                          char *run_args, size_t cap)
{
    int r = synth_params_from_preset(day, a->workload); /* checked in parse_args */
    SS_ASSERT(r == 0);
    if (a->rate > 0) day->rate = a->rate;
    day->diurnal = true;
    day->day_s = a->day_s;
    day->duration_s = a->day_s;
    day->requests = 0;
    *d = (PlanAutoscaleDay){ .input = { .synth = day }, .day_s = a->day_s, .rate = day->rate,
                             .peak_rate = peak->rate, .hour_mult = day->hour_mult };
    char spec[160];
    spec_without_arrivals(a->workload, spec, sizeof(spec));
    const EngineConfig *e = &a->cfg.base;
    int w = snprintf(run_args, cap, "--workload %s --diurnal --day-s %.17g --rate %.17g --burstiness %.17g "
                     "--duration %.17g --slo ttft=%.15g,tpot=%.15g%s%s%s", spec, a->day_s, day->rate,
                     day->gap == SYNTH_GAP_EXPONENTIAL ? 1.0 : day->shape, a->day_s, e->slo.ttft_s, e->slo.tpot_s,
                     strstr(a->serving_args, " --sched ") ? "" : " --sched ", strstr(a->serving_args, " --sched ") ? "" : e->sched_spec,
                     a->serving_args);
    SS_ASSERT(w > 0 && (size_t)w < cap);
    if (!strstr(a->serving_args, " --router ")) {
        size_t used = strlen(run_args);
        w = snprintf(run_args + used, cap - used, " --router %s", e->router); /* plan's default, not run's */
        SS_ASSERT(w > 0 && (size_t)w < cap - used);
    }
}

/* Each kind's grid over the day; prints its table.  Returns how many kinds
 * have a passing setting, or a negative errno (a simulation failed). */
static int run_autoscale(PlanArgs *a, Scenario *sc, int n_cands, const PlanAutoscaleDay *d, PlanAutoscale *pa,
                         int64_t *sims)
{
    int found = 0;
    for (int i = 0; i < n_cands; i++) {
        int r = plan_autoscale_candidate(&a->cfg, d, &sc[0].ans[i], &sc[1].ans[i], &pa[i]);
        *sims += pa[i].sims;
        if (r) { fprintf(stderr, "servesim: plan --autoscale: %s: %s\n", pa[i].cand.gpu, pa[i].why); return r; }
        if (!a->json) plan_autoscale_print(stdout, &pa[i], &a->cfg.slo);
        found += pa[i].best >= 0;
    }
    return found;
}

static json_t *autoscale_json(const PlanArgs *a, const PlanAutoscale *pa, int n_cands, const char *run_args)
{
    json_t *j = json_object(), *arr = json_array();
    json_object_set_new(j, "day_s", json_real(a->day_s));
    json_object_set_new(j, "hour_s", json_real(a->day_s / 24));
    json_object_set_new(j, "per_day_scale", json_real(86400 / a->day_s));
    json_object_set_new(j, "day_run_args", json_string(run_args));
    json_object_set_new(j, "cost", json_string("USD/day = the sum of run.autoscale.per_hour[0..23].usd (time up x price x "
                                               "tp; the drain after the last arrival is not counted) x 86400 / day_s"));
    json_object_set_new(j, "grid", json_string("static-mean, static-peak (constant schedules); schedule and "
                                               "schedule-x1.2 (per hour ceil(h rate_h / (peak rate / n_peak)), lead = "
                                               "cold start); target-utilisation low/target/high 0.2/0.3/0.4, "
                                               "0.3/0.45/0.6, 0.4/0.6/0.8; queue up_queue 2, 4, 8 (down_util 0.5); "
                                               "reactive: min 1, max 2 n_peak, initial = the schedule's hour 0"));
    const PlanAutoscale *best = NULL;
    for (int i = 0; i < n_cands; i++) {
        json_array_append_new(arr, plan_autoscale_json(&pa[i], run_args));
        if (pa[i].best >= 0 && (!best || pa[i].settings[pa[i].best].eval.mean[PLAN_USD_PER_DAY] <
                                             best->settings[best->best].eval.mean[PLAN_USD_PER_DAY]))
            best = &pa[i];
    }
    json_object_set_new(j, "candidates", arr);
    json_object_set_new(j, "found", json_boolean(best != NULL));
    if (best) {
        const PlanAutoscaleSetting *b = &best->settings[best->best];
        json_object_set_new(j, "answer", json_pack("{s:s,s:i,s:s,s:s,s:f,s:f,s:f}", "gpu", best->cand.gpu, "tp",
                                                   best->cand.tp, "setting", b->name, "autoscale", b->spec,
                                                   "usd_per_day", b->eval.mean[PLAN_USD_PER_DAY],
                                                   "static_peak_usd_per_day", best->settings[1].eval.mean[PLAN_USD_PER_DAY],
                                                   "static_mean_usd_per_day", best->settings[0].eval.mean[PLAN_USD_PER_DAY]));
        json_object_set_new(json_object_get(j, "answer"), "run_args",
                            json_sprintf("%s --gpu %s --tp %d --autoscale %s", run_args, best->cand.gpu,
                                         best->cand.tp, b->spec));
    } else {
        json_object_set_new(j, "answer", json_null());
    }
    return j;
}

int cmd_plan(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { plan_usage(stdout); return 0; }
    PlanArgs a;
    PlanCandidate cands[PLAN_MAX_CANDS];
    Scenario sc[3];
    PlanAutoscale *pa = NULL;
    SynthParams day;
    PlanAutoscaleDay dayd;
    char day_args[2048];
    int n_cands, status = 1, as_found = 0;
    cli_args_begin();
    if (parse_plan_args(argc, argv, &a) || parse_candidates(&a, cands, &n_cands)) return 1;
    cli_args_end();
    memset(sc, 0, sizeof(sc));
    int n_sc = make_scenarios(&a, sc);
    if (a.autoscale) { /* the static fleets for the bursty mean hour and the peak hour */
        sc[0] = sc[1], sc[1] = sc[2], n_sc = 2;
        memset(&sc[2], 0, sizeof(sc[2]));
    }
    if (!a.json) {
        const EngineConfig *e = &a.cfg.base;
        printf("servesim %s plan: model %s, sched %s, router %s, predict %s, cost %s; %d seed%s from %llu\n",
               SERVESIM_VERSION, e->model, e->sched_spec, e->router, e->predict_spec, e->cost_spec,
               a.cfg.seeds, a.cfg.seeds == 1 ? "" : "s", (unsigned long long)a.cfg.first_seed);
        ModelSpec m;
        if (!model_spec_load(&m, e->model) &&
            !model_spec_deploy(&m, NULL, e->weights_dtype, e->kv_dtype, e->expert_parallel,
                               e->expert_parallel > 1 ? e->expert_parallel : 1, e->moe_skew, NULL, 0)) {
            char what[512];
            model_spec_describe(&m, what, sizeof(what));
            printf("model: %s\n", what);
        }
    }
    json_decref(json_object()); /* jansson seeds its hashes once: before threads start */
    int64_t sims = 0;
    double wall0 = ss_wall_seconds();
    if (run_scenarios(&a, sc, n_sc, cands, n_cands, &sims)) {
        cli_fail("plan: every candidate failed (see above)");
        goto done;
    }
    /* A PlanConfig with the hour criterion: the static hours have no per-hour accounting. */
    if (a.autoscale) {
        autoscale_day(&a, &sc[1], &day, &dayd, day_args, sizeof(day_args));
        pa = ss_calloc((size_t)n_cands, sizeof(*pa));
        as_found = run_autoscale(&a, sc, n_cands, &dayd, pa, &sims);
        if (as_found < 0) { cli_fail("plan --autoscale: a simulation failed (see above)"); goto done; }
    }
    double wall_s = ss_wall_seconds() - wall0;
    json_t *j = plan_json(&a, sc, n_sc, n_cands, sims, wall_s, argc, argv);
    if (!j) { cli_fail_lib(); goto done; }
    if (a.autoscale) json_object_set_new(j, "autoscale", autoscale_json(&a, pa, n_cands, day_args));
    if (a.json) json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6)), fputc('\n', stdout);
    json_t *b = json_object_get(j, "burstiness");
    if (b && !a.json)
        printf("burstiness: the peak hour costs %.2fx the mean hour; bursty (Gamma 0.5) arrivals cost %.2fx Poisson at the mean rate\n",
               json_real_value(json_object_get(b, "peak_over_mean_cost")),
               json_real_value(json_object_get(b, "bursty_over_poisson_cost")));
    fflush(stdout);
    fprintf(stderr, "servesim: plan: %lld simulations (up to %d seeds per size; 1 where seeds gave identical "
                    "results) in %.2f s of wall time on %d threads\n", (long long)sims, a.cfg.seeds, wall_s, a.cfg.threads > 0 ? a.cfg.threads : parallel_default_threads());
    status = 0;
    /* No fleet of any kind meets the SLO: an answer a script must not take
     * for a plan (the reasons are in the table and JSON: why_none). */
    bool any_found = false;
    for (int s = 0; s < n_sc; s++)
        for (int i = 0; i < n_cands; i++) any_found |= sc[s].ans[i].found;
    if (!any_found) status = cli_fail("plan: no fleet meets the SLO (see why above)");
    else if (a.autoscale && !as_found) status = cli_fail("plan --autoscale: no setting meets the SLOs over the day (see why above)");
    else if (a.autoscale && !a.json) {
        const PlanAutoscale *best = NULL;
        for (int i = 0; i < n_cands; i++)
            if (pa[i].best >= 0 && (!best || pa[i].settings[pa[i].best].eval.mean[PLAN_USD_PER_DAY] <
                                                 best->settings[best->best].eval.mean[PLAN_USD_PER_DAY]))
                best = &pa[i];
        const PlanAutoscaleSetting *bs = &best->settings[best->best];
        printf("\nautoscale: the cheapest setting meeting the SLOs over the day (%g s%s): %s on %s = %.1f USD/day; "
               "static peak-hour fleet %.1f USD/day, mean-hour fleet %.1f USD/day (%s)\nreplay: servesim run %s "
               "--gpu %s --tp %d --autoscale %s --seed %llu\n", a.day_s, a.day_s == 86400 ? "" : ", compressed",
               bs->name, best->cand.gpu, bs->eval.mean[PLAN_USD_PER_DAY], best->settings[1].eval.mean[PLAN_USD_PER_DAY],
               best->settings[0].eval.mean[PLAN_USD_PER_DAY], best->settings[0].eval.pass ? "passes" : "fails",
               day_args, best->cand.gpu, best->cand.tp, bs->spec, (unsigned long long)a.cfg.first_seed);
    }
    if (a.out && out_file_dump_json(a.out, j, JSON_INDENT(2) | JSON_REAL_PRECISION(6)))
        status = cli_fail_lib(); /* names the file and errno; nothing left under a.out */
    else if (a.out) {
        fprintf(stderr, "servesim: plan written to %s\n", a.out);
        /* No answer is still a whole result (why_none): exit 1, file kept. */
        out_file_keep_all();
    }
    json_decref(j);
done:
    free(pa);
    for (int s = 0; s < n_sc; s++) free(sc[s].ans), free(sc[s].disagg);
    return status;
}
