/* kernels/ref/rope.c: rotary position embedding, rotate-half pairing
 * (element i with i + D/2), as Hugging Face's Llama. */
#include <assert.h>
#include <math.h>

#include "kernels.h"

static void rope_rotate(float *v, int d, int32_t pos, float theta)
{
    int half = d / 2;
    for (int i = 0; i < half; i++) {
        /* angle in double so the reference does not lose bits at long positions */
        double freq = pow((double)theta, -2.0 * i / d);
        double a = pos * freq;
        double cs = cos(a), sn = sin(a);
        double x0 = v[i], x1 = v[i + half];
        v[i] = (float)(x0 * cs - x1 * sn);
        v[i + half] = (float)(x0 * sn + x1 * cs);
    }
}

/* q is (N,H,D); k is (N,KVH,D); pos is (N) */
void kern_ref_rope(float *q, float *k, const int32_t *pos, int n, int h, int kvh, int d,
                   float theta)
{
    assert(d % 2 == 0);
    for (int t = 0; t < n; t++) {
        for (int j = 0; j < h; j++)
            rope_rotate(q + ((size_t)t * h + j) * d, d, pos[t], theta);
        for (int j = 0; j < kvh; j++)
            rope_rotate(k + ((size_t)t * kvh + j) * d, d, pos[t], theta);
    }
}
