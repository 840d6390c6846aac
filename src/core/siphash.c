/*
 * core/siphash.c: SipHash-2-4, the keyed pseudo-random function of Aumasson and
 * Bernstein ("SipHash: a fast short-input PRF", INDOCRYPT 2012).
 *
 * The state is four 64-bit words initialised from the key and four fixed constants
 * (the ASCII of "somepseudorandomlygeneratedbytes"). The message is read as
 * little-endian 64-bit words; the last word carries the leftover bytes and, in its
 * top byte, the message length mod 256. Each word is xored into v3, mixed by two
 * SipRounds, then xored into v0; after the last word v2 is xored with 0xff, four
 * more SipRounds run, and the output is the xor of the four words.
 *
 * The 2u32/3u32/4u32 forms feed the same words directly, the way Linux hashes
 * connection tuples (net/core/secure_seq.c, lib/siphash.c), so no buffer is built.
 * Users: ISNs, timestamp offsets, ephemeral ports and SYN cookies (core/stack.c).
 */
#include "core/siphash.h"

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

/* The state is passed and returned by value and every step is forced inline, so
 * the four words live in registers through a whole hash: a SYN cookie costs three
 * hashes, and a SYN flood is answered at millions per second. */
#define SIP_INLINE static inline __attribute__((always_inline))

SIP_INLINE uint64_t rotl64(uint64_t x, unsigned k)
{
	return (x << k) | (x >> (64u - k));
}

static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

SIP_INLINE struct sip_state sip_round(struct sip_state s)
{
	s.v0 += s.v1;
	s.v1 = rotl64(s.v1, 13);
	s.v1 ^= s.v0;
	s.v0 = rotl64(s.v0, 32);
	s.v2 += s.v3;
	s.v3 = rotl64(s.v3, 16);
	s.v3 ^= s.v2;
	s.v0 += s.v3;
	s.v3 = rotl64(s.v3, 21);
	s.v3 ^= s.v0;
	s.v2 += s.v1;
	s.v1 = rotl64(s.v1, 17);
	s.v1 ^= s.v2;
	s.v2 = rotl64(s.v2, 32);
	return s;
}

SIP_INLINE struct sip_state sip_start(const struct tern_siphash_key *key)
{
	struct sip_state s = {
		.v0 = key->k0 ^ 0x736f6d6570736575ull,
		.v1 = key->k1 ^ 0x646f72616e646f6dull,
		.v2 = key->k0 ^ 0x6c7967656e657261ull,
		.v3 = key->k1 ^ 0x7465646279746573ull,
	};
	return s;
}

/* Absorbs one message word with the two compression rounds. */
SIP_INLINE struct sip_state sip_word(struct sip_state s, uint64_t m)
{
	s.v3 ^= m;
	s = sip_round(s);
	s = sip_round(s);
	s.v0 ^= m;
	return s;
}

/* Absorbs the last word, then runs the four finalisation rounds. */
SIP_INLINE uint64_t sip_finish(struct sip_state s, uint64_t last)
{
	s = sip_word(s, last);
	s.v2 ^= 0xff;
	s = sip_round(s);
	s = sip_round(s);
	s = sip_round(s);
	s = sip_round(s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

struct tern_siphash_key tern__siphash_key(const uint8_t bytes[16])
{
	struct tern_siphash_key k = { load_le64(bytes), load_le64(bytes + 8) };
	return k;
}

uint64_t tern__siphash(const struct tern_siphash_key *key, const void *data, size_t len)
{
	const uint8_t *p = data;
	struct sip_state s = sip_start(key);
	size_t whole = len & ~(size_t)7;
	for (size_t i = 0; i < whole; i += 8)
		s = sip_word(s, load_le64(p + i));
	uint64_t last = (uint64_t)(len & 0xff) << 56;
	for (size_t i = whole; i < len; i++)
		last |= (uint64_t)p[i] << (8 * (i - whole));
	return sip_finish(s, last);
}

static uint64_t pair(uint32_t lo, uint32_t hi)
{
	return (uint64_t)hi << 32 | lo;
}

uint64_t tern__siphash_2u32(const struct tern_siphash_key *key, uint32_t a, uint32_t b)
{
	return sip_finish(sip_word(sip_start(key), pair(a, b)), (uint64_t)8 << 56);
}

uint64_t tern__siphash_3u32(const struct tern_siphash_key *key, uint32_t a, uint32_t b, uint32_t c)
{
	return sip_finish(sip_word(sip_start(key), pair(a, b)), (uint64_t)12 << 56 | c);
}

struct tern_siphash_mid tern__siphash_mid_2u32(const struct tern_siphash_key *key, uint32_t a, uint32_t b)
{
	struct sip_state s = sip_word(sip_start(key), pair(a, b));
	struct tern_siphash_mid m = { s.v0, s.v1, s.v2, s.v3 };
	return m;
}

uint64_t tern__siphash_3u32_mid(const struct tern_siphash_mid *mid, uint32_t c)
{
	struct sip_state s = { mid->v0, mid->v1, mid->v2, mid->v3 };
	return sip_finish(s, (uint64_t)12 << 56 | c);
}

uint64_t tern__siphash_4u32(const struct tern_siphash_key *key, uint32_t a, uint32_t b, uint32_t c,
			    uint32_t d)
{
	return sip_finish(sip_word(sip_word(sip_start(key), pair(a, b)), pair(c, d)), (uint64_t)16 << 56);
}
