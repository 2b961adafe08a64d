/* tests/kernels/check_kernels.c: every CUDA kernel against kernels/ref on
 * seeded random inputs (dav1d checkasm, ggml test-backend-ops):
 *
 *   check_kernels [--seed N] [--op NAME] [--bench] [--hbm-gbs X] [--tflops Y]
 *
 * Inputs are drawn in fp32 and rounded to bf16 so that both implementations
 * see the same numbers; outputs are compared with a per-op tolerance, NaN
 * must match NaN, outputs are poisoned before each run (an unwritten element
 * fails) and canary guards around each device buffer catch out-of-bounds
 * writes.  The seed is printed; pass it back to replay a failure.  Exits 77
 * (meson's skip) when the build has no CUDA or the machine has no GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_attn.h"
#include "check_util.h"

#if KERN_HAVE_CUDA
#include "check_ops.h"
#endif

static void usage(void)
{
    printf("usage: check_kernels [--seed N] [--op NAME] [--bench] [--hbm-gbs X] [--tflops Y]\n"
           "  --op      check (or bench) only this op: embed rmsnorm rope kv_store\n"
           "            attn_prefill attn_decode swiglu linear argmax model\n"
           "  --bench   after the checks, time llama-2-7b shapes (ops, then whole\n"
           "            steps: --op step);\n"
           "            roofline from --hbm-gbs (3000)\n"
           "            and --tflops (800), the measured H100 peaks\n");
}

int main(int argc, char **argv)
{
    uint64_t seed = (uint64_t)time(NULL);
    const char *only = NULL;
    int bench = 0;
    double hbm_gbs = 3000.0, tflops = 800.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--op") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--bench"))
            bench = 1;
        else if (!strcmp(argv[i], "--hbm-gbs") && i + 1 < argc)
            hbm_gbs = atof(argv[++i]);
        else if (!strcmp(argv[i], "--tflops") && i + 1 < argc)
            tflops = atof(argv[++i]);
        else {
            usage();
            return !strcmp(argv[i], "--help") ? 0 : 2;
        }
    }
    printf("check_kernels: seed %llu\n", (unsigned long long)seed);
#if !KERN_HAVE_CUDA
    (void)only;
    (void)bench;
    (void)hbm_gbs;
    (void)tflops;
    printf("check_kernels: built without CUDA: skip\n");
    return 77;
#else
    if (kern_cuda_device_count() == 0) {
        printf("check_kernels: no CUDA device: skip\n");
        return 77;
    }
    char info[256];
    kern_cuda_device_info(info, sizeof info);
    printf("check_kernels: %s\n", info);
    KernCuda *ctx = NULL;
    if (kern_cuda_create(&ctx) < 0) {
        printf("check_kernels: cannot create the CUDA context\n");
        return 1;
    }
    CheckRng rng = {seed};
    /* --bench checks first: a timing of a wrong kernel is worth nothing, and
     * one device call then does both */
    int failures = check_ops(ctx, &rng, only);
    if (bench)
        failures += bench_ops(ctx, &rng, only, hbm_gbs, tflops);
    kern_cuda_destroy(&ctx);
    if (failures)
        printf("check_kernels: %d FAILED (seed %llu)\n", failures, (unsigned long long)seed);
    else
        printf("check_kernels: all passed\n");
    return failures ? 1 : 0;
#endif
}
