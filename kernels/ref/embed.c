/* kernels/ref/embed.c: token embedding lookup (ground truth). */
#include <assert.h>

#include "kernels.h"

/* out is (N,C); table is (V,C); tokens is (N) */
void kern_ref_embed(float *out, const float *table, const int32_t *tokens, int n, int c)
{
    for (int i = 0; i < n; i++) {
        assert(tokens[i] >= 0);
        memcpy(out + (size_t)i * c, table + (size_t)tokens[i] * c, sizeof(float) * (size_t)c);
    }
}
