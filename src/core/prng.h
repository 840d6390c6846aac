/*
 * core/prng.h: the stack's seeded pseudo-random generator (xoshiro256**, seeded
 * through splitmix64). Deterministic: the same seed gives the same sequence on every
 * machine. Not for secrets: keys come from the driver (getrandom) or, in tests, from
 * the seed through SipHash (see stack.c).
 */
#ifndef TERN_CORE_PRNG_H
#define TERN_CORE_PRNG_H

#include <stdint.h>

struct tern_prng {
	uint64_t s[4];
};

void tern__prng_seed(struct tern_prng *r, uint64_t seed);
uint64_t tern__prng_u64(struct tern_prng *r);
uint32_t tern__prng_u32(struct tern_prng *r);
/* Uniform in [0, bound) without modulo bias; bound 0 returns 0. */
uint64_t tern__prng_below(struct tern_prng *r, uint64_t bound);
/* Uniform in [0, 1) with 53 bits of precision. */
double tern__prng_unit(struct tern_prng *r);
/* True with probability p (p <= 0: never, p >= 1: always). */
int tern__prng_chance(struct tern_prng *r, double p);

#endif
