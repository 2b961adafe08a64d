/* tests/kernels/check_model.c: the whole forward pass, replay/model.c (fp32
 * reference kernels) against replay/model_cuda.c (bf16 CUDA kernels), with
 * the same seed (hence the same weights) over a few ragged steps: prefill
 * chunks beside decodes, block tables shuffled.  Both runners are fed the
 * reference's greedy tokens so they never diverge; logits are compared with
 * a tolerance for bf16 activations through every layer, and the greedy
 * tokens' agreement is reported. */
#include "check_ops.h"

#include <stdio.h>
#include <stdlib.h>

#include "replay/model.h"

#define CM_SEQS 3
#define CM_BS 16
#define CM_NB 64

/* bf16 activations through L layers: a few per cent of the logits' RMS */
static const CheckTol TOL_MODEL = {0, 0.1, 0.05, 0.05};

int check_model(KernCuda *ctx, CheckRng *rng)
{
    (void)ctx;
    ModelShape s = {.layers = 2, .hidden = 256, .heads = 8, .kv_heads = 2, .head_dim = 32,
                    .intermediate = 512, .vocab = 1000, .rope_theta = 10000.f,
                    .norm_eps = 1e-5f};
    uint64_t seed = check_rng_next(rng);
    Model *ref = NULL;
    ModelCuda *gpu = NULL;
    if (model_create(&ref, &s, seed, CM_NB, CM_BS) < 0 ||
        model_cuda_create(&gpu, &s, seed, CM_NB, CM_BS) < 0) {
        printf("FAIL model: cannot create the models\n");
        model_destroy(&ref);
        model_cuda_destroy(&gpu);
        return 1;
    }
    /* blocks: a shuffled pool, 8 per sequence (128 tokens each) */
    int32_t pool[CM_NB], tokens[CM_SEQS][128];
    for (int i = 0; i < CM_NB; i++)
        pool[i] = i;
    for (int i = CM_NB - 1; i > 0; i--) {
        int j = check_rng_int(rng, i + 1);
        int32_t t = pool[i];
        pool[i] = pool[j], pool[j] = t;
    }
    for (int q = 0; q < CM_SEQS; q++)
        for (int i = 0; i < 128; i++)
            tokens[q][i] = check_rng_int(rng, s.vocab);
    /* per step: new tokens of each sequence (0: not in this step) */
    static const int plan[][CM_SEQS] = {
        {37, 5, 0}, {1, 1, 20}, {1, 16, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1},
    };
    int len[CM_SEQS] = {0}, failures = 0, agree = 0, total = 0;
    float *lr = malloc(sizeof(float) * CM_SEQS * s.vocab);
    float *lg = malloc(sizeof(float) * CM_SEQS * s.vocab);
    for (size_t step = 0; step < sizeof plan / sizeof plan[0]; step++) {
        ModelSeq seqs[CM_SEQS];
        int ns = 0, who[CM_SEQS];
        for (int q = 0; q < CM_SEQS; q++) {
            if (!plan[step][q])
                continue;
            seqs[ns] = (ModelSeq){&tokens[q][len[q]], plan[step][q], len[q], &pool[q * 8], 8};
            who[ns++] = q;
        }
        int32_t nr[CM_SEQS], ng[CM_SEQS];
        int rc1 = model_forward_step(ref, seqs, ns, nr, lr);
        int rc2 = model_cuda_forward_step(gpu, seqs, ns, ng, lg);
        char what[96];
        snprintf(what, sizeof what, "L=%d C=%d H=%d KVH=%d D=%d step %zu", s.layers, s.hidden,
                 s.heads, s.kv_heads, s.head_dim, step);
        if (rc1 || rc2) {
            printf("FAIL model [%s]: returned %d / %d\n", what, rc1, rc2);
            failures++;
            break;
        }
        failures += check_compare("model logits", what, lg, lr, (size_t)ns * s.vocab, TOL_MODEL);
        for (int i = 0; i < ns; i++) {
            int q = who[i];
            len[q] += plan[step][q];
            agree += nr[i] == ng[i];
            total++;
            if (len[q] < 128)
                tokens[q][len[q]] = nr[i]; /* greedy continuation, the reference's */
        }
    }
    printf("%s model        L=%d C=%d H=%d KVH=%d D=%d V=%d: 6 ragged steps, greedy tokens "
           "agree %d/%d\n",
           failures ? "FAIL" : "ok  ", s.layers, s.hidden, s.heads, s.kv_heads, s.head_dim,
           s.vocab, agree, total);
    free(lr), free(lg);
    model_destroy(&ref);
    model_cuda_destroy(&gpu);
    return failures;
}
