/* order_stats.c: order statistics of non-negative floats without sorting.
 *
 * A summary needs p50, p90 and p99 of three latency vectors: six order
 * statistics each, not a sorted vector.  Non-negative floats order like
 * their bit patterns read as unsigned integers, so a radix select finds
 * them: count the values by their top 11 bits and read off which digit
 * each wanted rank falls in; copy out only the values with those digits
 * (a fraction of the vector, all of it at worst); count those by the next
 * 11 bits, then the values of each wanted middle digit by the last 10 bits.
 * About three passes over the data where the radix sort made seven (and
 * wrote every value three times): the sort was most of a summary. */
#include "order_stats.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

enum { TOP_SHIFT = 21, TOP_DIGITS = 2048, MID_SHIFT = 10, MID_DIGITS = 2048, LOW_DIGITS = 1024 };

static inline uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

/* Digit of each wanted rank (ascending) given per-digit counts; ranks
 * become relative to their digit's first value.  Returns the number of
 * distinct digits, listed in digit[]. */
static int locate(const uint64_t *count, int n_digits, size_t *rel, const size_t *ranks, int nr,
                  int *rank_digit, int *digit)
{
    int r = 0, nd = 0;
    uint64_t cum = 0;
    for (int d = 0; d < n_digits && r < nr; d++) {
        uint64_t c = count[d];
        bool used = false;
        while (r < nr && ranks[r] < cum + c) {
            rel[r] = (size_t)(ranks[r] - cum);
            rank_digit[r++] = d;
            used = true;
        }
        if (used) digit[nd++] = d;
        cum += c;
    }
    SS_ASSERT(r == nr); /* every rank < n */
    return nd;
}

void float_order_stats(float *const *chunks, size_t chunk_len, size_t n, const size_t *ranks,
                       int nr, float *out)
{
    SS_ASSERT(nr > 0 && nr <= FLOAT_ORDER_STATS_MAX);
    for (int i = 1; i < nr; i++) SS_ASSERT(ranks[i - 1] <= ranks[i]);
    uint64_t *count = ss_calloc(TOP_DIGITS, sizeof(*count));
    for (size_t done = 0, c = 0; done < n; c++) {
        size_t take = SS_MIN(chunk_len, n - done);
        for (size_t i = 0; i < take; i++) count[bits_of(chunks[c][i]) >> TOP_SHIFT]++;
        done += take;
    }
    size_t rel[FLOAT_ORDER_STATS_MAX];
    int rank_top[FLOAT_ORDER_STATS_MAX], tops[FLOAT_ORDER_STATS_MAX];
    int n_tops = locate(count, TOP_DIGITS, rel, ranks, nr, rank_top, tops);

    /* The values of the wanted top digits, one region each, in one pass. */
    int16_t *region_of = ss_malloc(TOP_DIGITS * sizeof(*region_of));
    memset(region_of, 0xff, TOP_DIGITS * sizeof(*region_of)); /* -1: not wanted */
    size_t start[FLOAT_ORDER_STATS_MAX + 1], fill[FLOAT_ORDER_STATS_MAX];
    start[0] = 0;
    for (int k = 0; k < n_tops; k++) {
        region_of[tops[k]] = (int16_t)k;
        fill[k] = start[k];
        start[k + 1] = start[k] + (size_t)count[tops[k]];
    }
    uint32_t *picked = ss_malloc((start[n_tops] ? start[n_tops] : 1) * sizeof(*picked));
    for (size_t done = 0, c = 0; done < n; c++) {
        size_t take = SS_MIN(chunk_len, n - done);
        for (size_t i = 0; i < take; i++) {
            uint32_t u = bits_of(chunks[c][i]);
            int k = region_of[u >> TOP_SHIFT];
            if (k >= 0) picked[fill[k]++] = u;
        }
        done += take;
    }

    uint64_t *mid = ss_malloc(MID_DIGITS * sizeof(*mid)), *low = ss_malloc(LOW_DIGITS * sizeof(*low));
    for (int k = 0; k < n_tops; k++) {
        const uint32_t *v = picked + start[k];
        size_t m = start[k + 1] - start[k];
        /* The ranks of this top digit, relative to it. */
        size_t sub[FLOAT_ORDER_STATS_MAX], sub_rel[FLOAT_ORDER_STATS_MAX];
        int idx[FLOAT_ORDER_STATS_MAX], ns = 0;
        for (int r = 0; r < nr; r++)
            if (rank_top[r] == tops[k]) { sub[ns] = rel[r]; idx[ns++] = r; }
        memset(mid, 0, MID_DIGITS * sizeof(*mid));
        for (size_t i = 0; i < m; i++) mid[(v[i] >> MID_SHIFT) & (MID_DIGITS - 1)]++;
        int rank_mid[FLOAT_ORDER_STATS_MAX], mids[FLOAT_ORDER_STATS_MAX];
        int n_mids = locate(mid, MID_DIGITS, sub_rel, sub, ns, rank_mid, mids);
        for (int j = 0; j < n_mids; j++) {
            uint32_t d2 = (uint32_t)mids[j];
            memset(low, 0, LOW_DIGITS * sizeof(*low));
            for (size_t i = 0; i < m; i++)
                if (((v[i] >> MID_SHIFT) & (MID_DIGITS - 1)) == d2) low[v[i] & (LOW_DIGITS - 1)]++;
            size_t ranks3[FLOAT_ORDER_STATS_MAX], rel3[FLOAT_ORDER_STATS_MAX];
            int which[FLOAT_ORDER_STATS_MAX], n3 = 0;
            for (int s = 0; s < ns; s++)
                if (rank_mid[s] == mids[j]) { ranks3[n3] = sub_rel[s]; which[n3++] = idx[s]; }
            int rank_low[FLOAT_ORDER_STATS_MAX], lows[FLOAT_ORDER_STATS_MAX];
            locate(low, LOW_DIGITS, rel3, ranks3, n3, rank_low, lows);
            for (int s = 0; s < n3; s++) {
                uint32_t u = ((uint32_t)tops[k] << TOP_SHIFT) | (d2 << MID_SHIFT) | (uint32_t)rank_low[s];
                memcpy(&out[which[s]], &u, sizeof(u));
            }
        }
    }
    free(low);
    free(mid);
    free(picked);
    free(region_of);
    free(count);
}
