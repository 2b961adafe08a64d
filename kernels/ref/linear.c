/* kernels/ref/linear.c: a linear layer without bias, out = x @ w^T. */
#include "kernels.h"

/* out is (N,O); x is (N,C); w is (O,C) */
void kern_ref_linear(float *out, const float *x, const float *w, int n, int c, int o,
                     int accumulate)
{
    for (int t = 0; t < n; t++) {
        const float *xt = x + (size_t)t * c;
        for (int j = 0; j < o; j++) {
            const float *wj = w + (size_t)j * c;
            double acc = accumulate ? out[(size_t)t * o + j] : 0.0;
            for (int i = 0; i < c; i++)
                acc += (double)xt[i] * wj[i];
            out[(size_t)t * o + j] = (float)acc;
        }
    }
}
