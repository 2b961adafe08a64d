/* tests/kernels/bench_model.c: whole forward steps of the CUDA model runner
 * at llama-2-7b shape (random weights drawn on the device), timed the way
 * the replay backend will see them: host plan, index upload, 32 layers,
 * LM head, argmax, tokens back.  Decode steps are memory-bound: MBU = (weight
 * bytes + KV bytes read) / time / HBM.  Prefill steps are compute-bound:
 * MFU = FLOPs / time / bf16 peak. */
#include "check_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "replay/model.h"

#define BM_BS 16
#define BM_MAX_TOKENS 65536 /* cache capacity: 32 GiB of bf16 K and V at 7B */

static double bm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bm_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds of reps steps: ns sequences of q new tokens after ctx-q
 * cached ones (decode when q == 1). */
static double bm_time(ModelCuda *m, const ModelShape *s, int ns, int q, int ctx, int reps)
{
    int nb = (ctx + BM_BS - 1) / BM_BS;
    ModelSeq *seqs = calloc((size_t)ns, sizeof *seqs);
    int32_t *bt = malloc(sizeof *bt * (size_t)ns * nb), *tok = malloc(sizeof *tok * (size_t)q);
    int32_t *next = malloc(sizeof *next * (size_t)ns);
    for (int i = 0; i < q; i++)
        tok[i] = (i * 7919) % s->vocab;
    for (int i = 0; i < ns * nb; i++)
        bt[i] = i; /* sequences side by side: each block used once */
    for (int i = 0; i < ns; i++)
        seqs[i] = (ModelSeq){tok, q, ctx - q, bt + (size_t)i * nb, nb};
    double *t = malloc(sizeof *t * (size_t)reps);
    for (int r = -2; r < reps; r++) { /* two warm-up steps */
        double t0 = bm_now();
        if (model_cuda_forward_step(m, seqs, ns, next, NULL) < 0) {
            printf("bench step: forward_step failed\n");
            exit(1);
        }
        if (r >= 0)
            t[r] = bm_now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, bm_cmp);
    double med = t[reps / 2];
    free(seqs), free(bt), free(tok), free(next), free(t);
    return med;
}

int bench_model(KernCuda *ctx, double hbm_gbs, double tflops)
{
    (void)ctx;
    ModelShape s = {.layers = 32, .hidden = 4096, .heads = 32, .kv_heads = 32,
                    .head_dim = 128, .intermediate = 11008, .vocab = 32000,
                    .rope_theta = 10000.f, .norm_eps = 1e-5f};
    ModelCuda *m = NULL;
    if (model_cuda_create(&m, &s, 7, BM_MAX_TOKENS / BM_BS, BM_BS) < 0) {
        printf("bench step: cannot create the llama-2-7b model\n");
        return 1;
    }
    double c = s.hidden, qd = (double)s.heads * s.head_dim, kvd = (double)s.kv_heads * s.head_dim;
    double per_layer = c * (qd + 2 * kvd) + qd * c + 3.0 * c * s.intermediate + 2 * c;
    double params = s.layers * per_layer + 2.0 * s.vocab * c + c; /* embed, head, norm */
    double matmul_params = s.layers * (per_layer - 2 * c) + (double)s.vocab * c;
    printf("step: llama-2-7b shape, %.2fG params, block size %d, median of 10 host-timed steps\n",
           params * 1e-9, BM_BS);
    printf("%-8s %-22s %10s %9s %8s %7s %7s\n", "step", "shape", "time_ms", "GB/s", "TFLOP/s",
           "MBU", "MFU");
    static const int dec[][2] = {{1, 512}, {1, 4096}, {8, 512}, {8, 4096}, {32, 512},
                                 {32, 2048}, {64, 512}, {64, 1024}};
    for (size_t i = 0; i < sizeof dec / sizeof dec[0]; i++) {
        int b = dec[i][0], len = dec[i][1];
        double sec = bm_time(m, &s, b, 1, len, 10);
        double kv = 2.0 * 2 * s.layers * kvd * (double)b * len;      /* K and V read */
        double bytes = 2.0 * (params - (double)s.vocab * c) + kv;    /* embed: B rows only */
        double flops = 2.0 * matmul_params * b + 4.0 * s.layers * qd * (double)b * len;
        char shape[32];
        snprintf(shape, sizeof shape, "B=%d ctx=%d", b, len);
        printf("%-8s %-22s %10.3f %9.1f %8.2f %6.1f%% %6.1f%%\n", "decode", shape, sec * 1e3,
               bytes / sec * 1e-9, flops / sec * 1e-12, 100 * bytes / sec * 1e-9 / hbm_gbs,
               100 * flops / sec * 1e-12 / tflops);
    }
    static const int pre[][2] = {{1, 512}, {1, 2048}, {4, 512}, {4, 2048}, {8, 2048}};
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
        int ns = pre[i][0], len = pre[i][1];
        double sec = bm_time(m, &s, ns, len, len, 5);
        double n = (double)ns * len;
        double flops = 2.0 * (matmul_params - (double)s.vocab * c) * n + 2.0 * s.vocab * c * ns +
                       4.0 * s.layers * qd * ns * (double)len * (len + 1) / 2;
        double bytes = 2.0 * params + 2.0 * 2 * s.layers * kvd * n;
        char shape[32];
        snprintf(shape, sizeof shape, "S=%d L=%d", ns, len);
        printf("%-8s %-22s %10.3f %9.1f %8.2f %6.1f%% %6.1f%%\n", "prefill", shape, sec * 1e3,
               bytes / sec * 1e-9, flops / sec * 1e-12, 100 * bytes / sec * 1e-9 / hbm_gbs,
               100 * flops / sec * 1e-12 / tflops);
    }
    model_cuda_destroy(&m);
    return 0;
}
