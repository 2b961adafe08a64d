/* kernels/ref/rmsnorm.c: RMSNorm (ground truth). */
#include <math.h>

#include "kernels.h"

/* out, x are (N,C); w is (C) */
void kern_ref_rmsnorm(float *out, const float *x, const float *w, int n, int c, float eps)
{
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * c;
        float *oi = out + (size_t)i * c;
        double ss = 0.0;
        for (int j = 0; j < c; j++)
            ss += (double)xi[j] * xi[j];
        double inv = 1.0 / sqrt(ss / c + eps);
        for (int j = 0; j < c; j++)
            oi[j] = (float)(xi[j] * inv * w[j]);
    }
}
