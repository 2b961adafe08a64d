/* kernels/ref/kv_store.c: write this step's keys and values into the paged
 * cache (vLLM's reshape_and_cache). */
#include "kernels.h"

/* k, v are (N,KVH,D); caches are (NB,BS,KVH,D); slots is (N) */
void kern_ref_kv_store(float *k_cache, float *v_cache, const float *k, const float *v,
                       const int32_t *slots, int n, int kvh, int d)
{
    size_t row = (size_t)kvh * d; /* floats per token */
    for (int t = 0; t < n; t++) {
        if (slots[t] < 0)
            continue;
        memcpy(k_cache + (size_t)slots[t] * row, k + (size_t)t * row, sizeof(float) * row);
        memcpy(v_cache + (size_t)slots[t] * row, v + (size_t)t * row, sizeof(float) * row);
    }
}
