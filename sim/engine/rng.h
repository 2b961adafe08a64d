/* rng.h: named random streams.
 *
 * Every random draw comes from a GSL stream named for its purpose
 * ("arrivals", "predictor", "sched", "backend", "router") and an index (the
 * instance), seeded from the run's --seed.  Streams are independent of one
 * another, so adding draws to one purpose never shifts another's. */
#ifndef SERVESIM_RNG_H
#define SERVESIM_RNG_H

#include <stdint.h>

#include <gsl/gsl_rng.h>

/* splitmix64 finaliser: a well-mixed 64-bit hash. */
uint64_t ss_mix64(uint64_t x);
/* The seed of stream (name, index) under the run seed. */
uint64_t ss_stream_seed(uint64_t seed, const char *name, uint64_t index);
/* A new mt19937 stream seeded with ss_stream_seed(); free with gsl_rng_free. */
gsl_rng *ss_rng_stream(uint64_t seed, const char *name, uint64_t index);

#endif
