/* kernels/ref/swiglu.c: the SwiGLU gate of the Llama MLP. */
#include <math.h>

#include "kernels.h"

/* out is (N,I); gu is (N,2I) */
void kern_ref_swiglu(float *out, const float *gu, int n, int inter)
{
    for (int t = 0; t < n; t++) {
        const float *gate = gu + (size_t)t * 2 * inter;
        const float *up = gate + inter;
        for (int i = 0; i < inter; i++) {
            double g = gate[i];
            out[(size_t)t * inter + i] = (float)(g / (1.0 + exp(-g)) * up[i]);
        }
    }
}
