/* sha256.c: FIPS 180-4 SHA-256 of a file, for results manifests (inputs are
 * identified by content, not by name, so a changed trace is never mistaken
 * for the one a result was made from). */
#include "common.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct Sha256 {
    uint32_t state[8];
    uint64_t length_bytes;
    uint8_t block[64];
    size_t block_used;
} Sha256;

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_compress(Sha256 *h, const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h->state[0], b = h->state[1], c = h->state[2], d = h->state[3];
    uint32_t e = h->state[4], f = h->state[5], g = h->state[6], k = h->state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                      sha256_k[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h->state[0] += a; h->state[1] += b; h->state[2] += c; h->state[3] += d;
    h->state[4] += e; h->state[5] += f; h->state[6] += g; h->state[7] += k;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The x86 SHA extensions (2016+ CPUs): a trace's hash was ~4 % of a whole
 * `servesim run` on Azure conv in plain C, ~10x less here.  The round and
 * schedule instructions as Intel's reference uses them; state is kept as
 * ABEF/CDGH.  Both paths were checked against sha256sum on files of 0 to
 * 200,001 bytes (every padding case); SERVESIM_SHA256_PORTABLE=1 forces the
 * portable rounds, to check them on a machine that has the extensions. */
#include <cpuid.h>
#include <immintrin.h>

__attribute__((target("sha,sse4.1,ssse3")))
static void sha256_compress_ni(Sha256 *h, const uint8_t *p)
{
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h->state[0]), 0xB1);
    __m128i st1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h->state[4]), 0x1B);
    __m128i st0 = _mm_alignr_epi8(tmp, st1, 8);     /* ABEF */
    st1 = _mm_blend_epi16(st1, tmp, 0xF0);          /* CDGH */
    __m128i save0 = st0, save1 = st1, w[4];
    for (int i = 0; i < 4; i++) w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), swap);
    for (int i = 0; i < 16; i++) {
        if (i >= 4) { /* W[4i..4i+3] from the four groups before */
            __m128i x = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
            x = _mm_add_epi32(x, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
            w[i & 3] = _mm_sha256msg2_epu32(x, w[(i + 3) & 3]);
        }
        __m128i m = _mm_add_epi32(w[i & 3], _mm_loadu_si128((const __m128i *)&sha256_k[4 * i]));
        st1 = _mm_sha256rnds2_epu32(st1, st0, m);
        st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(m, 0x0E));
    }
    st0 = _mm_add_epi32(st0, save0);
    st1 = _mm_add_epi32(st1, save1);
    tmp = _mm_shuffle_epi32(st0, 0x1B);             /* FEBA */
    st1 = _mm_shuffle_epi32(st1, 0xB1);             /* DCHG */
    _mm_storeu_si128((__m128i *)&h->state[0], _mm_blend_epi16(tmp, st1, 0xF0)); /* DCBA */
    _mm_storeu_si128((__m128i *)&h->state[4], _mm_alignr_epi8(st1, tmp, 8));    /* HGFE */
}

static bool sha256_have_ni(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3)) return false;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return (b & bit_SHA) != 0;
}
#else
static bool sha256_have_ni(void) { return false; }
static void sha256_compress_ni(Sha256 *h, const uint8_t *p) { sha256_compress(h, p); }
#endif

static void sha256_update_with(Sha256 *h, const uint8_t *data, size_t n,
                               void (*compress)(Sha256 *, const uint8_t *))
{
    h->length_bytes += n;
    while (n) {
        if (h->block_used == 0 && n >= 64) { /* whole blocks straight from the input */
            compress(h, data);
            data += 64; n -= 64;
            continue;
        }
        size_t take = SS_MIN(n, 64 - h->block_used);
        memcpy(h->block + h->block_used, data, take);
        h->block_used += take; data += take; n -= take;
        if (h->block_used == 64) { compress(h, h->block); h->block_used = 0; }
    }
}

static void sha256_update(Sha256 *h, const uint8_t *data, size_t n)
{
    static int ni = -1; /* probed once */
    if (ni < 0) ni = sha256_have_ni() && !getenv("SERVESIM_SHA256_PORTABLE");
    sha256_update_with(h, data, n, ni ? sha256_compress_ni : sha256_compress);
}

int ss_sha256_file(const char *path, char out_hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f) return ss_error_set(errno, "%s: cannot open: %s", path, strerror(errno));
    Sha256 h = { .state = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                            0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 } };
    uint8_t buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) sha256_update(&h, buf, got);
    int read_error = ferror(f);
    fclose(f);
    if (read_error) return ss_error_set(EIO, "%s: read error", path);
    uint64_t bits = h.length_bytes * 8;
    uint8_t pad = 0x80, zero = 0;
    sha256_update(&h, &pad, 1);
    while (h.block_used != 56) sha256_update(&h, &zero, 1);
    uint8_t len_be[8];
    for (int i = 0; i < 8; i++) len_be[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(&h, len_be, 8);
    for (int i = 0; i < 8; i++) snprintf(out_hex + 8 * i, 9, "%08x", h.state[i]);
    return 0;
}
