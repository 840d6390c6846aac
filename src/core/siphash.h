/*
 * core/siphash.h: SipHash-2-4 (Aumasson and Bernstein, 2012), the keyed hash Linux
 * uses for ISNs, timestamp offsets, ephemeral ports and SYN cookies (since 4.11).
 * Checked against the reference test vectors (tests/unit/test_siphash.c).
 */
#ifndef TERN_CORE_SIPHASH_H
#define TERN_CORE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* A 128-bit key as two little-endian 64-bit halves (key bytes 0-7 and 8-15). */
struct tern_siphash_key {
	uint64_t k0;
	uint64_t k1;
};

/* Loads a key from 16 bytes. */
struct tern_siphash_key tern__siphash_key(const uint8_t bytes[16]);

/* SipHash-2-4 of an arbitrary byte string. */
uint64_t tern__siphash(const struct tern_siphash_key *key, const void *data, size_t len);

/* SipHash-2-4 of the 8-, 12- or 16-byte message formed by 32-bit words laid out in
 * little-endian order, as Linux's siphash_2u32/3u32/4u32 do; equal to tern__siphash
 * on those bytes, without building the buffer. */
uint64_t tern__siphash_2u32(const struct tern_siphash_key *key, uint32_t a, uint32_t b);
uint64_t tern__siphash_3u32(const struct tern_siphash_key *key, uint32_t a, uint32_t b, uint32_t c);
uint64_t tern__siphash_4u32(const struct tern_siphash_key *key, uint32_t a, uint32_t b, uint32_t c,
			    uint32_t d);

/* The state after the first 8 message bytes, for callers that hash many messages
 * beginning with the same word under the same key (tern__siphash_3u32 of one
 * address pair, tcp/isn.c): the rest of the hash continues from it exactly. */
struct tern_siphash_mid {
	uint64_t v0, v1, v2, v3;
};

/* The state after absorbing the little-endian words a, b (the first 8 bytes). */
struct tern_siphash_mid tern__siphash_mid_2u32(const struct tern_siphash_key *key, uint32_t a, uint32_t b);

/* tern__siphash_3u32(key, a, b, c) from tern__siphash_mid_2u32(key, a, b). */
uint64_t tern__siphash_3u32_mid(const struct tern_siphash_mid *mid, uint32_t c);

#endif
