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

/* End-around-carry fold of a 32-bit sum to 16 bits, not complemented, in one
 * add as Linux's csum_fold does it: with x = H * 2^16 + L, the high half of x
 * plus x turned by 16 is H + L with the carry out of the low half added back,
 * what two folds give, for every x (0 for 0, else 1..0xffff). */
static inline uint32_t wire_fold16(uint32_t x)
{
	return (x + (x >> 16 | x << 16)) >> 16;
}

/* The fold, then the complement. A nonzero input never folds to 0, so every way
 * of summing the same bytes agrees (0 would otherwise be a second spelling of
 * 0xffff). */
static inline uint16_t wire_csum_fold(uint32_t sum)
{
	return (uint16_t)~wire_fold16(sum);
}

/* The complemented sum of a 20-byte header, as tern_csum_fold(tern_csum_add(0,
 * p, 20)) gives it: two 64-bit words and a 32-bit one in native order added
 * with end-around carry (RFC 1071 §2(B)), folded to 32 then 16 bits, then read
 * back in network order (the byte-order argument of checksum.c's opening
 * comment). Read straight from the header: copied to an array first, GCC
 * stored it to the stack and summed it back from there. A nonzero header
 * never folds to 0, so this is the value every other way of summing gives.
 * 0 for a header whose checksum field is right. */
static inline uint16_t wire_csum_hdr20(const uint8_t *p)
{
	uint64_t a, b;
	uint32_t c;
	memcpy(&a, p, sizeof(a));
	memcpy(&b, p + 8, sizeof(b));
	memcpy(&c, p + 16, sizeof(c));
	uint64_t s = a + b;
	s += s < a;
	uint64_t t = s + c;
	t += t < s;
	uint32_t u = (uint32_t)t + (uint32_t)(t >> 32);
	u += u < (uint32_t)t;
	uint16_t n16 = (uint16_t)wire_fold16(u);
	uint8_t bytes[2];
	memcpy(bytes, &n16, 2);
	return (uint16_t)~tern_get16(bytes);
}

#endif
