#include "rng.h"

#include "common.h"

uint64_t ss_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t ss_stream_seed(uint64_t seed, const char *name, uint64_t index)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the name */
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return ss_mix64(ss_mix64(seed) ^ ss_mix64(h) ^ ss_mix64(index + 0x51ed27ull));
}

gsl_rng *ss_rng_stream(uint64_t seed, const char *name, uint64_t index)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r) ss_abort(__FILE__, __LINE__, "out of memory");
    /* mt19937 takes an unsigned long seed; 0 maps to its default, so avoid it. */
    unsigned long s = (unsigned long)ss_stream_seed(seed, name, index);
    gsl_rng_set(r, s ? s : 1);
    return r;
}
