/*
 * core/prng.c: the stack's deterministic generator, xoshiro256** (Blackman and
 * Vigna, "Scrambled linear pseudorandom number generators", 2018/2021).
 *
 * The 256-bit state is filled from the 64-bit seed by four outputs of splitmix64
 * (Steele, Lea and Flood, 2014), which spreads even seeds like 0, 1, 2 over the
 * whole state and cannot produce the all-zero state in practice. Bounded values use
 * rejection sampling, so every value below the bound is exactly equally likely.
 * Users: the simulated network's faults, IP IDs, and anything else that needs
 * reproducible randomness (never secrets; see core/prng.h).
 */
#include "core/prng.h"

static uint64_t rotl64(uint64_t x, unsigned k)
{
	return (x << k) | (x >> (64u - k));
}

/* One splitmix64 step: advances the counter by the golden-ratio increment and
 * returns a mixed copy of it. */
static uint64_t splitmix_next(uint64_t *counter)
{
	uint64_t z = (*counter += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void tern__prng_seed(struct tern_prng *r, uint64_t seed)
{
	uint64_t counter = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix_next(&counter);
	/* xoshiro's one forbidden state; splitmix64 does not produce four zero words,
	 * but the guard costs nothing. */
	if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
		r->s[0] = 1;
}

uint64_t tern__prng_u64(struct tern_prng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl64(s[1] * 5u, 7) * 9u;
	uint64_t shifted = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= shifted;
	s[3] = rotl64(s[3], 45);
	return out;
}

uint32_t tern__prng_u32(struct tern_prng *r)
{
	/* The high half: the scrambler leaves the upper bits the strongest. */
	return (uint32_t)(tern__prng_u64(r) >> 32);
}

uint64_t tern__prng_below(struct tern_prng *r, uint64_t bound)
{
	if (bound == 0)
		return 0;
	/* 2^64 mod bound values at the bottom of the range would make the low results
	 * more likely; drawing again when one of them comes up removes the bias. The
	 * expected number of draws is below 2 for any bound. */
	uint64_t reject_below = (0 - bound) % bound;
	for (;;) {
		uint64_t x = tern__prng_u64(r);
		if (x >= reject_below)
			return x % bound;
	}
}

double tern__prng_unit(struct tern_prng *r)
{
	/* The top 53 bits, scaled by 2^-53: every result is a multiple of 2^-53 in [0, 1). */
	return (double)(tern__prng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

int tern__prng_chance(struct tern_prng *r, double p)
{
	/* The sure cases draw nothing, so a probability knob left at 0 does not shift
	 * the sequence seen by everything else. */
	if (!(p > 0.0))
		return 0;
	if (p >= 1.0)
		return 1;
	return tern__prng_unit(r) < p;
}
