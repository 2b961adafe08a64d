/* kernels/ref/argmax.c: greedy sampling. */
#include <math.h>

#include "kernels.h"

/* tokens is (N); logits is (N,V) */
void kern_ref_argmax(int32_t *tokens, const float *logits, int n, int v)
{
    for (int t = 0; t < n; t++) {
        const float *row = logits + (size_t)t * v;
        float best = -INFINITY;
        int32_t idx = 0;
        for (int i = 0; i < v; i++) {
            if (row[i] > best) { /* strict: ties keep the lowest index; NaN never wins */
                best = row[i];
                idx = i;
            }
        }
        tokens[t] = idx;
    }
}
