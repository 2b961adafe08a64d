/* Radix-select order statistics against qsort: vectors of every size from
 * empty-ish to several chunks, with many ties, values spread over many
 * octaves or packed in one bucket, any set of ranks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/order_stats.h"

static int cmp_float(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

static uint64_t lcg(uint64_t *s) { *s = *s * 6364136223846793005ull + 1442695040888963407ull; return *s >> 11; }

static void check(int count, size_t chunk_len, int kind, uint64_t *seed)
{
    assert_true(count > 0 && count <= 1000000);
    size_t n = (size_t)count, n_chunks = (n + chunk_len - 1) / chunk_len;
    float **chunks = calloc(n_chunks, sizeof(float *));
    float *sorted = calloc(n, sizeof(float));
    for (size_t c = 0; c < n_chunks; c++) chunks[c] = malloc(chunk_len * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        uint64_t x = lcg(seed);
        float v;
        if (kind == 0) v = (float)((double)x * 0x1p-53 * 1e4);                /* many octaves */
        else if (kind == 1) v = (float)((x % 9) * 0.125);                     /* ties, zeros */
        else v = 0.0054f + (float)((double)(x % 100000) * 1e-11);             /* one bucket */
        chunks[i / chunk_len][i % chunk_len] = v;
        sorted[i] = v;
    }
    qsort(sorted, n, sizeof(float), cmp_float);
    for (int trial = 0; trial < 5 && n; trial++) {
        size_t ranks[FLOAT_ORDER_STATS_MAX];
        int nr = 1 + (int)(lcg(seed) % FLOAT_ORDER_STATS_MAX);
        for (int r = 0; r < nr; r++) ranks[r] = trial == 0 && r < 2 ? (r ? n - 1 : 0) : lcg(seed) % n;
        for (int r = 1; r < nr; r++)
            for (int j = r; j > 0 && ranks[j - 1] > ranks[j]; j--) {
                size_t t = ranks[j]; ranks[j] = ranks[j - 1]; ranks[j - 1] = t;
            }
        float out[FLOAT_ORDER_STATS_MAX];
        float_order_stats(chunks, chunk_len, n, ranks, nr, out);
        for (int r = 0; r < nr; r++) assert_true(out[r] == sorted[ranks[r]]);
    }
    for (size_t c = 0; c < n_chunks; c++) free(chunks[c]);
    free(chunks);
    free(sorted);
}

static void test_order_stats_match_sort(void **state)
{
    (void)state;
    uint64_t seed = 99;
    const int sizes[] = { 1, 2, 3, 7, 100, 1000, 4097, 30000 };
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
        for (int kind = 0; kind < 3; kind++) check(sizes[k], 1000, kind, &seed);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_order_stats_match_sort) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
