/*
 * wire/csum.h: the checksum steps every header built or parsed takes, inline, for
 * this folder's own use. checksum.c has the general sum (RFC 1071) and the public
 * entry points, which are these same functions; a 20-byte IPv4 header has its own
 * short sum here because every datagram pays for it twice (built, then checked).
 */
#ifndef TERN_WIRE_CSUM_H
#define TERN_WIRE_CSUM_H

#include <stdint.h>
#include <string.h>

#include "core/util.h"

/* The pseudo-header's contribution (RFC 9293 §3.1): source, destination, a zero
 * byte and the protocol, then the length of the TCP header plus data. */
static inline uint32_t wire_csum_pseudo_v4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	return (src >> 16) + (src & 0xffffu) + (dst >> 16) + (dst & 0xffffu) + proto + len;
}

/* End-around-carry fold of a running sum to 16 bits, then the complement. A
 * nonzero input never folds to 0, so every way of summing the same bytes agrees
 * (0 would otherwise be a second spelling of 0xffff). */
static inline uint16_t wire_csum_fold(uint32_t sum)
{
	uint64_t s = sum;
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)~s;
}

/* The complemented sum of a 20-byte header, as tern_csum_fold(tern_csum_add(0,
 * p, 20)) gives it: five 32-bit words in native order (no carries lost in 64
 * bits), folded, then read back in network order (the byte-order argument of
 * checksum.c's opening comment). 0 for a header whose checksum field is right. */
static inline uint16_t wire_csum_hdr20(const uint8_t *p)
{
	uint32_t w[5];
	memcpy(w, p, sizeof(w));
	uint64_t s = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	uint16_t n16 = (uint16_t)s;
	uint8_t bytes[2];
	memcpy(bytes, &n16, 2);
	return (uint16_t)~tern_get16(bytes);
}

#endif
