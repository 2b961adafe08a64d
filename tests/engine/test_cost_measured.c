/* test_cost_measured.c: the measured tables and backend, the calibrated
 * roofline: interpolation exact at grid points and monotone between them, a
 * composed step by hand, the fallback path and its counts, closed-form decode
 * spans (and the linear pieces and per-iteration times the engine uses)
 * against step-by-step sums, and the shipped calibration against a refit. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gsl/gsl_rng.h>

#include "common.h"
#include "cost/calibrated_fit.h"
#include "cost/cost.h"
#include "cost/opcost.h"
#include "cost/measured_builtin.h"
#include "cost/optable.h"
#include "engine_test_util.h"

static void assert_close(double got, double want, double rel)
{
    double err = fabs(got - want) / fmax(fabs(want), 1e-300);
    if (err > rel) fail_msg("got %.17g want %.17g (relative error %.3g > %.3g)", got, want, err, rel);
}

static Backend *make(const char *spec, const ModelSpec *m, const GpuSpec *g, int32_t tp)
{
    BackendEnv env = { m, g, tp, NULL };
    Backend *b = NULL;
    if (backend_create(&b, spec, &env)) fail_msg("%s: %s", spec, ss_error_get());
    return b;
}

static void load(ModelSpec *m, const char *model, GpuSpec *g, const char *gpu)
{
    if (model_spec_load(m, model) || gpu_spec_load(g, gpu)) fail_msg("%s", ss_error_get());
}

/* A small table file written here, so the hand calculation does not move
 * when the shipped tables are regenerated. */
static const char *write_tables(void)
{
    static char path[] = "/tmp/servesim-test-tables-XXXXXX.txt";
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# test tables\n[gemm] m n k ms\n");
    /* t = 0.01 + m n k / 1e12 ms on the grid: affine in each of m, n, k */
    static const int ms[] = { 1, 16, 256 }, ns[] = { 1024, 4096, 16384 }, ks[] = { 1024, 4096, 16384 };
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 3; c++)
                fprintf(f, "%d %d %d %.15g\n", ms[a], ns[b], ks[c], 0.01 + (double)ms[a] * ns[b] * ks[c] / 1e12);
    fprintf(f, "[prefill_attention] batch isl heads kv_heads ms\n");
    for (int b = 1; b <= 4; b *= 2)
        for (int l = 16; l <= 1024; l *= 4) fprintf(f, "%d %d 4 2 %.15g\n", b, l, 0.02 + b * l * 1e-4);
    fprintf(f, "[decode_attention] batch kv_len heads kv_heads ms\n");
    for (int b = 1; b <= 16; b *= 4)
        for (int l = 16; l <= 4096; l *= 4) fprintf(f, "%d %d 4 2 %.15g\n", b, l, 0.01 + b * l * 1e-5);
    fprintf(f, "[ops tiny tp=1] tokens norm_in norm_post rope act add qkv o up down\n");
    fprintf(f, "1 0.001 0.001 0.002 0.003 0.0005 0 0 0 0\n1024 0.01 0.01 0.02 0.03 0.005 0 0 0 0\n");
    fclose(f);
    return path;
}

static void test_interpolation(void **state)
{
    (void)state;
    double ax[] = { 1, 2, 4, 8 };
    double v[] = { 1.0, 1.5, 1.5, 3.0 };
    OpGrid g = { .nx = 4, .ny = 1, .x = ax, .y = (double[]){ 0 }, .v = v };
    bool out = false;
    for (int i = 0; i < 4; i++) assert_true(opgrid_eval(&g, ax[i], 0, &out) == v[i]);
    assert_false(out);
    double prev = 0;
    for (double x = 1; x <= 8; x += 0.01) { /* monotone between monotone points */
        double y = opgrid_eval(&g, x, 0, &out);
        assert_true(y >= prev - 1e-15);
        prev = y;
    }
    assert_false(out);
    assert_close(opgrid_eval(&g, 16, 0, &out), 6.0, 1e-12); /* the last segment extended */
    assert_true(out);
    out = false;
    assert_true(opgrid_eval(&g, 0.5, 0, &out) == 1.0);   /* below: the first value */
    assert_true(out);
}

static void test_tables_load_and_hand_step(void **state)
{
    (void)state;
    const char *path = write_tables();
    MeasuredTables t;
    assert_int_equal(measured_tables_load(&t, path), 0);
    assert_int_equal(t.gm, 3);
    assert_int_equal(t.n_prefill, 1);
    assert_int_equal(t.n_decode, 1);
    assert_int_equal(t.n_ops, 1);
    OpGrid c;
    assert_true(measured_gemm_curve(&t, 2048, 4096, &c)); /* bilinear in (n, k) */
    assert_close(c.v[1], (0.01 + 16.0 * 2048 * 4096 / 1e12) * 1e-3, 1e-9);
    opgrid_free(&c);
    assert_false(measured_gemm_curve(&t, 32768, 4096, &c)); /* n outside the table */
    measured_tables_free(&t);

    /* tiny: 2 layers, hidden 64, 4 heads / 2 KV heads of 16, intermediate 128 (gate+up 256), vocab 256 */
    ModelSpec m;
    GpuSpec g;
    load(&m, "tiny", &g, "h100-sxm");
    char spec[256];
    snprintf(spec, sizeof(spec), "measured:step_overhead_s=0.001,tables=%s", path);
    Backend *b = make(spec, &m, &g, 1);
    /* n, k of tiny are under the GEMM table's 1024: every GEMM is a fallback
     * to the calibrated roofline; attention and other ops come from the
     * tables.  Decode 4 sequences at 256 cached each: */
    StepShape s = { .decode_seqs = 4, .decode_context = 4 * 256 };
    double group[OPG_COUNT];
    assert_true(b->ops->step_breakdown(b->priv, &s, group));
    /* decode attention: batch 4 between 1 and 16, kv 256 on the grid: (1-w) t(1) + w t(16), w = 3/15 */
    double t1 = 0.01 + 256e-5, t16 = 0.01 + 16 * 256e-5, w = 3.0 / 15;
    assert_close(group[OPG_ATTENTION], m.layers * ((1 - w) * t1 + w * t16) * 1e-3, 1e-9);
    /* other ops at 4 tokens: linear between 1 and 1024 tokens */
    double o1 = 0.001 + 0.001 + 0.002 + 0.003 + 2 * 0.0005, o1024 = 10 * o1, wo = 3.0 / 1023;
    assert_close(group[OPG_OTHER], m.layers * (o1 + wo * (o1024 - o1)) * 1e-3, 1e-9);
    assert_close(group[OPG_OVERHEAD], 1e-3, 1e-12);
    double sum = 0;
    for (int i = 0; i < OPG_COUNT; i++) sum += group[i];
    assert_close(backend_step_time(b, &s), sum, 1e-12);
    /* The fallback path is counted: a span of 1 + 9 iterations, all with fallback GEMMs. */
    b->ops->note_span(b->priv, &s, &s, 9);
    CostFallbacks fb;
    b->ops->fallbacks(b->priv, &fb);
    assert_int_equal(fb.steps, 10);
    assert_int_equal(fb.fallback_steps, 10);
    assert_int_equal(fb.by_group[OPG_GEMM], 10);
    assert_int_equal(fb.by_group[OPG_ATTENTION], 0);
    assert_non_null(strstr(fb.notes, "gemm qkv"));
    backend_destroy(&b);
    unlink(path);
}

/* Closed-form spans, linear pieces and per-iteration times against step sums. */
static void check_spans(const char *spec, const char *model, const char *gpu, int32_t tp, gsl_rng *rng)
{
    ModelSpec m;
    GpuSpec g;
    load(&m, model, &g, gpu);
    Backend *b = make(spec, &m, &g, tp);
    for (int trial = 0; trial < 60; trial++) {
        StepShape s = { .decode_seqs = 1 + (int32_t)gsl_rng_uniform_int(rng, trial < 30 ? 64 : 600) };
        s.decode_context = s.decode_seqs * (int64_t)(1 + gsl_rng_uniform_int(rng, 8192)) +
                           (int64_t)gsl_rng_uniform_int(rng, (unsigned long)s.decode_seqs);
        int64_t iters = 1 + (int64_t)gsl_rng_uniform_int(rng, trial % 3 ? 40 : 3000);
        double sum = 0, times[64];
        StepShape k = s;
        int64_t nt = SS_MIN(iters, 64);
        backend_decode_iter_times(b, &s, 0, nt, times);
        DecodePiece pieces[DECODE_PIECES_MAX];
        int np = b->ops->decode_iter_pieces ? b->ops->decode_iter_pieces(b->priv, &s, iters, pieces, DECODE_PIECES_MAX) : 0;
        int piece = 0;
        for (int64_t i = 0; i < iters; i++) {
            double t = backend_step_time(b, &k);
            if (i < nt) assert_close(times[i], t, 1e-9);
            if (np) { /* the pieces give every iteration's time */
                while (piece + 1 < np && pieces[piece + 1].start <= i) piece++;
                assert_close(pieces[piece].a + pieces[piece].b * (double)(i - pieces[piece].start), t, 1e-9);
            }
            sum += t;
            k.decode_context += k.decode_seqs;
        }
        if (fabs(backend_decode_span_time(b, &s, iters) - sum) > 1e-9 * sum)
            fail_msg("%s %s %s tp %d: span of %lld from %d seqs, context %lld: %.12g, steps sum %.12g", spec,
                     model, gpu, tp, (long long)iters, s.decode_seqs, (long long)s.decode_context,
                     backend_decode_span_time(b, &s, iters), sum);
        double a, slope;
        if (b->ops->decode_iter_linear && b->ops->decode_iter_linear(b->priv, &s, iters, &a, &slope)) {
            double lin = (double)iters * a + slope * (double)iters * (double)(iters - 1) / 2;
            if (fabs(lin - sum) > 1e-9 * sum)
                fail_msg("%s %s tp %d: linear over %lld from %d seqs, context %lld: %.12g, steps %.12g (a %g b %g)",
                         spec, model, tp, (long long)iters, s.decode_seqs, (long long)s.decode_context, lin, sum, a, slope);
        }
    }
    backend_destroy(&b);
}

static void test_spans(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    check_spans("measured", "llama-2-7b", "h100-sxm", 1, rng);
    check_spans("measured", "llama-3-8b", "a100-80g", 1, rng);
    check_spans("measured", "llama-2-70b", "h100-sxm", 4, rng);
    check_spans("measured", "llama-2-13b", "a100-80g", 2, rng); /* no per-op table: fallbacks */
    check_spans("roofline", "llama-2-7b", "h200", 1, rng);
    check_spans("roofline", "chatglm-6b", "v100-32g", 1, rng);
    gsl_rng_free(rng);
}

/* Event skipping against one iteration at a time on the measured tables
 * (llama-2-7b on H100, the default run): the spans' pieces, memos and
 * closed forms give every request the stepwise times. */
static void check_measured_stepwise(const char *sched, int32_t prompt_max, int32_t output_max)
{
    const size_t n = 300;
    TraceRow *rows = calloc(n, sizeof(*rows));
    uint64_t x = 88172645463325252ull;
    double t = 0;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        t += (double)(x % 1000) / 4000.0;
        rows[i] = test_row(t, 1 + (int64_t)((x >> 20) % (uint64_t)prompt_max), 1 + (int64_t)((x >> 40) % (uint64_t)output_max));
    }
    EngineConfig c;
    engine_config_default(&c);
    snprintf(c.sched_spec, sizeof(c.sched_spec), "%s", sched);
    c.sample_interval_s = 0;
    RunResult fast = run_engine(&c, rows, n);
    c.stepwise = true;
    RunResult slow = run_engine(&c, rows, n);
    assert_int_equal(fast.status, 0);
    assert_int_equal(slow.status, 0);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(fast.rec[i].state, slow.rec[i].state);
        assert_int_equal(fast.rec[i].generated, slow.rec[i].generated);
        assert_float_equal(fast.rec[i].first_token, slow.rec[i].first_token, 2e-9 * fast.rec[i].finish);
        assert_float_equal(fast.rec[i].finish, slow.rec[i].finish, 2e-9 * fast.rec[i].finish);
        assert_float_equal(fast.rec[i].itl_max, slow.rec[i].itl_max, 1e-9);
    }
    assert_float_equal(summary_num(&fast, "mean_itl_ms"), summary_num(&slow, "mean_itl_ms"),
                       1e-9 * summary_num(&slow, "mean_itl_ms"));
    run_result_free(&fast);
    run_result_free(&slow);
    free(rows);
}

static void test_measured_stepwise(void **state)
{
    (void)state;
    check_measured_stepwise("vllm", 3000, 400);
    check_measured_stepwise("fcfs-static:batch=8,window=0.2", 1500, 3000); /* long spans: many kv_len pieces */
}

/* The exponent index finds optable_locate's segment and weight, bit for
 * bit, on power-of-two and irregular axes, at and between points and past
 * both ends. */
static void test_axis_index(void **state)
{
    (void)state;
    static const double pow2[] = { 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072 };
    static const double odd[] = { 1, 16, 32, 64, 128, 256, 512, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 10240, 12288, 16384 };
    static const double tiny[] = { -3, 0.001, 0.0015, 0.5, 0.75, 1e6 };
    const double *axes[] = { pow2, odd, tiny };
    int32_t ns[] = { 17, 17, 6 };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    OpAxisIndex *ix = malloc(sizeof(*ix));
    for (int a = 0; a < 3; a++) {
        opaxis_index_init(ix, axes[a], ns[a]);
        for (int trial = 0; trial < 20000; trial++) {
            double x;
            if (trial < 3 * ns[a]) x = axes[a][trial / 3] + (trial % 3 - 1) * 1e-9 * fabs(axes[a][trial / 3]);
            else x = axes[a][0] - 5 + gsl_rng_uniform(rng) * (axes[a][ns[a] - 1] * 1.2 - axes[a][0] + 10);
            if (trial % 7 == 0) x = floor(x);
            int32_t i1, i2;
            double w1, w2;
            optable_locate(axes[a], ns[a], x, &i1, &w1);
            opaxis_locate(ix, axes[a], ns[a], x, &i2, &w2);
            if (i1 != i2 || memcmp(&w1, &w2, sizeof(w1)))
                fail_msg("axis %d x %.17g: search %d %.17g, index %d %.17g", a, x, i1, w1, i2, w2);
        }
    }
    free(ix);
    gsl_rng_free(rng);
}

/* The per-count memos (step_time from the second call of a token count on,
 * decode pieces, fallback counts) give the same bits as composing every op
 * (step_breakdown always does): event skipping stands on equal sums. */
static void check_memo_bits(const char *model, const char *gpu, int32_t tp, gsl_rng *rng)
{
    ModelSpec m;
    GpuSpec g;
    load(&m, model, &g, gpu);
    Backend *b = make("measured", &m, &g, tp), *fresh = make("measured", &m, &g, tp);
    for (int trial = 0; trial < 400; trial++) {
        StepShape s = { .decode_seqs = (int32_t)gsl_rng_uniform_int(rng, trial % 5 ? 300 : 4100) };
        s.decode_context = s.decode_seqs * (int64_t)(1 + gsl_rng_uniform_int(rng, trial % 7 ? 4096 : 200000));
        if (trial % 2) {  /* prompt chunks too */
            s.prefill_seqs = 1 + (int32_t)gsl_rng_uniform_int(rng, 8);
            s.prefill_tokens = s.prefill_seqs * (int64_t)(1 + gsl_rng_uniform_int(rng, 600));
            s.prefill_attn_pairs = (double)s.prefill_tokens * (double)(1 + gsl_rng_uniform_int(rng, 3000));
        }
        if (step_shape_tokens(&s) == 0) s.decode_seqs = 1, s.decode_context = 7;
        double group_s[OPG_COUNT], composed = 0;
        assert_true(b->ops->step_breakdown(b->priv, &s, group_s));
        for (int i = 0; i < OPG_COUNT; i++) composed += group_s[i];
        for (int rep = 0; rep < 3; rep++) {  /* first call fills the memos, later ones read them */
            double t = backend_step_time(b, &s);
            if (t != composed)
                fail_msg("%s %s tp %d: step (%d seqs %lld prefill, %d decodes ctx %lld) call %d: %.17g, composed %.17g",
                         model, gpu, tp, s.prefill_seqs, (long long)s.prefill_tokens, s.decode_seqs,
                         (long long)s.decode_context, rep, t, composed);
        }
        if (s.prefill_seqs == 0 && s.decode_seqs > 0) {
            DecodePiece p1[DECODE_PIECES_MAX], p2[DECODE_PIECES_MAX];
            int64_t iters = 1 + (int64_t)gsl_rng_uniform_int(rng, 5000);
            int n1 = b->ops->decode_iter_pieces(b->priv, &s, iters, p1, DECODE_PIECES_MAX);
            Backend *cold = make("measured", &m, &g, tp);
            int n2 = cold->ops->decode_iter_pieces(cold->priv, &s, iters, p2, DECODE_PIECES_MAX);
            backend_destroy(&cold);
            assert_int_equal(n1, n2);
            assert_memory_equal(p1, p2, sizeof(DecodePiece) * (size_t)n1);
            /* iteration 0 of the pieces is this step (base + attention: rounding apart) */
            if (n1) assert_close(p1[0].a, composed, 1e-12);
        }
        /* A span's fallback count from the memos against every iteration
         * counted alone (`fresh` never timed a step: each is composed). */
        StepShape next = s;
        next.prefill_seqs = 0, next.prefill_tokens = 0, next.prefill_attn_pairs = 0;
        if (next.decode_seqs == 0) next.decode_seqs = 1, next.decode_context = 9;
        int64_t iters = (int64_t)gsl_rng_uniform_int(rng, 200);
        b->ops->note_span(b->priv, &s, &next, iters);
        fresh->ops->note_span(fresh->priv, &s, &s, 0);
        for (int64_t k = 0; k < iters; k++, next.decode_context += next.decode_seqs)
            fresh->ops->note_span(fresh->priv, &next, &next, 0);
    }
    CostFallbacks f1, f2;
    b->ops->fallbacks(b->priv, &f1);
    fresh->ops->fallbacks(fresh->priv, &f2);
    assert_int_equal(f1.steps, f2.steps);
    assert_int_equal(f1.fallback_steps, f2.fallback_steps);
    assert_memory_equal(f1.by_group, f2.by_group, sizeof(f1.by_group));
    backend_destroy(&b);
    backend_destroy(&fresh);
}

static void test_memo_bits(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    check_memo_bits("llama-2-7b", "h100-sxm", 1, rng);
    check_memo_bits("llama-3-8b", "a100-80g", 1, rng);
    check_memo_bits("llama-2-70b", "h100-sxm", 4, rng);
    check_memo_bits("llama-2-13b", "a100-80g", 2, rng); /* no per-op table: fallbacks */
    gsl_rng_free(rng);
}

static void grids_equal(const OpGrid *a, const OpGrid *b)
{
    assert_int_equal(a->nx, b->nx);
    assert_int_equal(a->ny, b->ny);
    assert_int_equal(a->n_filled, b->n_filled);
    assert_memory_equal(a->x, b->x, sizeof(double) * (size_t)a->nx);
    assert_memory_equal(a->y, b->y, sizeof(double) * (size_t)a->ny);
    assert_memory_equal(a->v, b->v, sizeof(double) * (size_t)a->nx * (size_t)a->ny);  /* NaN bits too */
    assert_int_equal(a->filled == NULL, b->filled == NULL);
    if (a->filled) assert_memory_equal(a->filled, b->filled, (size_t)a->nx * (size_t)a->ny);
}

/* The compiled-in tables (measured_builtin.h) are, bit for bit, what
 * parsing the shipped files gives; a file whose bytes differ by one is
 * parsed, not taken from them. */
static void test_builtin_tables(void **state)
{
    (void)state;
    assert_true(measured_builtins_count >= 2);
    for (int32_t i = 0; i < measured_builtins_count; i++) {
        const MeasuredBuiltin *b = &measured_builtins[i];
        char gpu[64], path[1200];
        snprintf(gpu, sizeof(gpu), "%.*s", (int)(strlen(b->name) - 4), b->name);
        measured_tables_path(gpu, path, sizeof(path));
        MeasuredTables t;
        if (measured_tables_load(&t, path)) fail_msg("%s", ss_error_get());
        const MeasuredTables *c = b->tables;
        assert_int_equal(t.gm, c->gm);
        assert_int_equal(t.gn, c->gn);
        assert_int_equal(t.gk, c->gk);
        assert_memory_equal(t.gemm_m, c->gemm_m, sizeof(double) * (size_t)t.gm);
        assert_memory_equal(t.gemm_n, c->gemm_n, sizeof(double) * (size_t)t.gn);
        assert_memory_equal(t.gemm_k, c->gemm_k, sizeof(double) * (size_t)t.gk);
        assert_memory_equal(t.gemm_s, c->gemm_s, sizeof(double) * (size_t)t.gm * (size_t)t.gn * (size_t)t.gk);
        assert_int_equal(t.n_prefill, c->n_prefill);
        assert_int_equal(t.n_decode, c->n_decode);
        assert_int_equal(t.n_ops, c->n_ops);
        assert_int_equal(t.n_allreduce, c->n_allreduce);
        for (int32_t j = 0; j < t.n_prefill; j++) {
            assert_int_equal(t.prefill[j].heads, c->prefill[j].heads);
            assert_int_equal(t.prefill[j].kv_heads, c->prefill[j].kv_heads);
            grids_equal(&t.prefill[j].grid, &c->prefill[j].grid);
        }
        for (int32_t j = 0; j < t.n_decode; j++) {
            assert_int_equal(t.decode[j].heads, c->decode[j].heads);
            assert_int_equal(t.decode[j].kv_heads, c->decode[j].kv_heads);
            grids_equal(&t.decode[j].grid, &c->decode[j].grid);
        }
        for (int32_t j = 0; j < t.n_ops; j++) {
            assert_string_equal(t.ops[j].model, c->ops[j].model);
            assert_int_equal(t.ops[j].tp, c->ops[j].tp);
            for (int col = 0; col < OPS_COLUMNS; col++) grids_equal(&t.ops[j].col[col], &c->ops[j].col[col]);
        }
        for (int32_t j = 0; j < t.n_allreduce; j++) {
            assert_int_equal(t.allreduce_gpus[j], c->allreduce_gpus[j]);
            grids_equal(&t.allreduce[j], &c->allreduce[j]);
        }
        measured_tables_free(&t);
        /* the same bytes are found; one byte more is not */
        assert_ptr_equal(measured_builtin_for(b->text, b->text_len), c);
        char *longer = ss_malloc(b->text_len + 2);
        memcpy(longer, b->text, b->text_len);
        memcpy(longer + b->text_len, "\n", 2);
        assert_null(measured_builtin_for(longer, b->text_len + 1));
        free(longer);
    }
    /* A shipped file with one GEMM time changed: a shared load parses it. */
    const MeasuredBuiltin *b = &measured_builtins[0];
    const char *gemm = strstr(b->text, "[gemm]");
    assert_non_null(gemm);
    const char *row = strchr(gemm, '\n') + 1;
    while (*row == '#') row = strchr(row, '\n') + 1;
    const char *eol = strchr(row, '\n'), *ms = eol;
    while (ms[-1] != ' ') ms--;   /* the row's last field: ms */
    static char path[] = "/tmp/servesim-test-builtin-XXXXXX.txt";
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fwrite(b->text, 1, (size_t)(ms - b->text), f);
    fprintf(f, "%.17g", 2.0 * strtod(ms, NULL) + 1.0);
    fwrite(eol, 1, b->text_len - (size_t)(eol - b->text), f);
    fclose(f);
    char *p;
    double row_m = strtod(row, &p), row_n = strtod(p, &p), row_k = strtod(p, NULL);
    (void)row_m;
    MeasuredNeed need = { .n = { row_n }, .k = { row_k }, .n_n = 1, .n_k = 1, .model = "llama-2-7b", .tp = 1,
                          .heads = 32, .kv_heads = 32 };
    const MeasuredTables *t = NULL;
    if (measured_tables_shared_for(&t, path, &need)) fail_msg("%s", ss_error_get());
    assert_ptr_not_equal(t->gemm_s, b->tables->gemm_s);
    bool changed = false;
    for (int32_t j = 0; j < t->gm * t->gn * t->gk; j++) changed |= t->gemm_s[j] == (2.0 * strtod(ms, NULL) + 1.0) * 1e-3;
    assert_true(changed);
    unlink(path);
}

static void test_auto_and_legacy(void **state)
{
    (void)state;
    ModelSpec m;
    GpuSpec h100, h200;
    load(&m, "llama-2-7b", &h100, "h100-sxm");
    assert_int_equal(gpu_spec_load(&h200, "h200"), 0);
    Backend *b = make("auto", &m, &h100, 1);
    assert_string_equal(b->spec, "measured");
    backend_destroy(&b);
    b = make("auto", &m, &h200, 1);          /* no H200 tables: the calibrated roofline */
    assert_string_equal(b->spec, "roofline");
    backend_destroy(&b);
    /* the measured step is slower than the legacy formula's (its floors, its ops) */
    Backend *meas = make("measured", &m, &h100, 1), *leg = make("roofline:legacy=true", &m, &h100, 1);
    StepShape s = { .decode_seqs = 8, .decode_context = 8 * 1024 };
    assert_true(backend_step_time(meas, &s) > 1.1 * backend_step_time(leg, &s));
    backend_destroy(&meas);
    backend_destroy(&leg);
    BackendEnv env = { &m, &h100, 1, NULL };
    assert_true(backend_create(&b, "roofline:legacy=true,calib=/x", &env) < 0);
    assert_true(backend_create(&b, "auto:tables=/x", &env) < 0);
    assert_true(backend_create(&b, "measured:tables=/nonexistent.txt", &env) < 0);
}

/* Shipped parameters are what `servesim cost fit` gives on the shipped tables:
 * the defaults (datasheet bandwidth) and models/profiles/calibrated-stream.txt
 * (--bandwidth measured). */
static void expect_refit(const CalParams *shipped, bool measured_bw, const char *what)
{
    static const char *const names[] = { "a100-80g", "h100-sxm" };
    MeasuredTables t[2];
    GpuSpec g[2];
    CalPoints pts = { 0 };
    for (int i = 0; i < 2; i++) {
        assert_int_equal(gpu_spec_load(&g[i], names[i]), 0);
        assert_int_equal(measured_tables_load(&t[i], names[i]), 0);
        cal_points_add(&pts, &t[i], &g[i], i);
    }
    CalParams p;
    double refit_loss[CALP_GROUPS];
    assert_int_equal(cal_fit(&p, &pts, -1, measured_bw, refit_loss), 0);
    assert_true(fabs(p.stream_fraction - shipped->stream_fraction) <= 1e-5);
    /* Compare what the parameters predict, not the parameters: a half-saturation
     * size the data does not need fits to ~0 at any scale. */
    double shipped_loss[CALP_GROUPS] = { 0 };
    int32_t count[CALP_GROUPS] = { 0 };
    for (int32_t i = 0; i < pts.n; i++) {
        const CalPoint *x = &pts.v[i];
        shipped_loss[x->group] += fabs(log(cal_point_predict(shipped, x) / x->s));
        count[x->group]++;
    }
    for (int gr = 0; gr < CALP_GROUPS; gr++) {
        double l = shipped_loss[gr] / count[gr];
        if (fabs(l - refit_loss[gr]) > 1e-3 * refit_loss[gr])
            fail_msg("%s, group %d: shipped parameters' loss %.6f, refit %.6f (run servesim cost fit and update "
                     "them)", what, gr, l, refit_loss[gr]);
    }
    for (int i = 0; i < 2; i++) measured_tables_free(&t[i]);
    cal_points_free(&pts);
}

static void test_defaults_are_the_fit(void **state)
{
    (void)state;
    expect_refit(&cal_params_default, false, "calibrated.c defaults");
    char dir[1024], path[1200];
    snprintf(path, sizeof(path), "%s/profiles/calibrated-stream.txt", cost_models_dir(dir, sizeof(dir)));
    CalParams stream;
    assert_int_equal(cal_params_load(&stream, path), 0);
    assert_true(stream.stream_fraction > 0.5 && stream.stream_fraction < 1.0);
    expect_refit(&stream, true, "calibrated-stream.txt");
}

/* Which bandwidth the calibrated roofline divides by: the datasheet's by
 * default, whatever the GPU file says; with stream_fraction the measured
 * stream_bandwidth, or the datasheet's times the fraction for a GPU without
 * one.  Parameter files may leave stream_fraction out but not give it as 0. */
static void test_stream_bandwidth(void **state)
{
    (void)state;
    GpuSpec h100, h200;
    assert_int_equal(gpu_spec_load(&h100, "h100-sxm"), 0);
    assert_int_equal(gpu_spec_load(&h200, "h200"), 0);
    assert_true(h100.stream_bandwidth > 0 && h100.stream_bandwidth < h100.hbm_bandwidth);
    assert_true(h200.stream_bandwidth == 0);
    CalParams p = cal_params_default;
    assert_true(p.stream_fraction == 0);
    assert_true(cal_hw_of(&h100, &p).bw == h100.hbm_bandwidth);
    p.stream_fraction = 0.75;
    assert_true(cal_hw_of(&h100, &p).bw == h100.stream_bandwidth);
    assert_true(cal_hw_of(&h200, &p).bw == h200.hbm_bandwidth * 0.75);

    char path[] = "/tmp/servesim-calib-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_int_equal(cal_params_write(&cal_params_default, f, "# defaults\n"), 0);
    fclose(f);
    CalParams q;
    assert_int_equal(cal_params_load(&q, path), 0); /* written without stream_fraction */
    assert_true(q.stream_fraction == 0 && q.gemm_bw_eff == cal_params_default.gemm_bw_eff);
    f = fopen(path, "a");
    fprintf(f, "stream_fraction = 0\n");
    fclose(f);
    assert_true(cal_params_load(&q, path) < 0);
    unlink(path);

    /* fitting on measured bandwidths needs a GPU that has one */
    MeasuredTables t;
    assert_int_equal(measured_tables_load(&t, "h100-sxm"), 0);
    CalPoints pts = { 0 };
    cal_points_add(&pts, &t, &h200, 0); /* H100's points under a GPU file without stream_bandwidth */
    assert_true(cal_fit(&q, &pts, -1, true, NULL) < 0);
    measured_tables_free(&t);
    cal_points_free(&pts);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The calibrated roofline's op formulas, per group, against every table
 * point: median |error| bounds the session-4 forms meet (per-row kernels over
 * the SMs for the other ops, the custom all-reduce's one-/two-shot regimes,
 * a prefill floor in seconds) and the session-3 forms did not (other ops
 * 14.6 %, all-reduce 12.2 %, prefill attention 10.2 %). */
static void test_op_groups_median(void **state)
{
    (void)state;
    static const char *const names[] = { "a100-80g", "h100-sxm" };
    static const double bound[CALP_GROUPS] = { 0.09, 0.09, 0.11, 0.07, 0.10 };
    MeasuredTables t[2];
    GpuSpec g[2];
    CalPoints pts = { 0 };
    for (int i = 0; i < 2; i++) {
        assert_int_equal(gpu_spec_load(&g[i], names[i]), 0);
        assert_int_equal(measured_tables_load(&t[i], names[i]), 0);
        cal_points_add(&pts, &t[i], &g[i], i);
    }
    assert_true(g[0].sm_count == 108 && g[1].sm_count == 132);
    double *e = malloc(sizeof(double) * (size_t)pts.n);
    for (int gr = 0; gr < CALP_GROUPS; gr++) {
        int32_t n = 0;
        for (int32_t i = 0; i < pts.n; i++)
            if (pts.v[i].group == gr) e[n++] = fabs(cal_point_predict(&cal_params_default, &pts.v[i]) / pts.v[i].s - 1);
        assert_true(n > 100);
        qsort(e, (size_t)n, sizeof(double), cmp_double);
        double med = e[n / 2];
        if (!(med <= bound[gr])) fail_msg("group %d: median |error| %.3f > %.3f", gr, med, bound[gr]);
    }
    free(e);
    for (int i = 0; i < 2; i++) measured_tables_free(&t[i]);
    cal_points_free(&pts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interpolation),
        cmocka_unit_test(test_tables_load_and_hand_step),
        cmocka_unit_test(test_spans),
        cmocka_unit_test(test_memo_bits),
        cmocka_unit_test(test_axis_index),
        cmocka_unit_test(test_builtin_tables),
        cmocka_unit_test(test_measured_stepwise),
        cmocka_unit_test(test_auto_and_legacy),
        cmocka_unit_test(test_defaults_are_the_fit),
        cmocka_unit_test(test_stream_bandwidth),
        cmocka_unit_test(test_op_groups_median),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
