/*
 * wire/ipv4.h: the 20-byte IPv4 header written from its fields, inline. Every
 * datagram sent takes this step (the IP layer's output), so it is written as
 * two 64-bit words and one 32-bit word, and its checksum is summed from those
 * words' values rather than read back from the bytes just stored.
 */
#ifndef TERN_WIRE_IPV4_H
#define TERN_WIRE_IPV4_H

#include <stdint.h>
#include <string.h>

#include "core/util.h"

/* Stores v in network order. GCC does not merge tern_put32's byte stores into
 * one store here, so the byte order is spelled out where it is known. */
static inline void wire_put64(uint8_t *p, uint64_t v)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
	memcpy(p, &v, sizeof(v));
#elif defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	memcpy(p, &v, sizeof(v));
#else
	tern_put32(p, (uint32_t)(v >> 32));
	tern_put32(p + 4, (uint32_t)v);
#endif
}

/* Writes version 4, IHL 5, then the fields, with the header checksum. The
 * words hold the header's values in network order (the first byte on top), so
 * adding them with end-around carry is the RFC 1071 sum of its ten 16-bit words
 * taken four at a time (RFC 1071 §2(B): any multiple of 16 bits folds back to
 * the same sum). */
static inline void wire_ipv4_put_hdr20(uint8_t *buf, uint8_t tos, uint16_t total_len, uint16_t id, uint16_t frag,
				       uint8_t ttl, uint8_t proto, uint32_t src, uint32_t dst)
{
	uint64_t w0 = (uint64_t)0x45 << 56 | (uint64_t)tos << 48 | (uint64_t)total_len << 32 | (uint32_t)id << 16 |
		      frag;
	uint64_t w1 = (uint64_t)ttl << 56 | (uint64_t)proto << 48 | src;  /* checksum field 0 */
	uint64_t s = w0 + w1;

	s += s < w1;            /* the carry out of 64 bits, back in at the bottom */
	s += dst;
	s += s < dst;
	uint32_t t = (uint32_t)s + (uint32_t)(s >> 32);
	t += t < (uint32_t)s;
	t = (t & 0xffffu) + (t >> 16);
	t = (t & 0xffffu) + (t >> 16);
	/* The sum is never 0 (the first byte is 0x45), so it folds to 1..0xffff
	 * and its complement is the one value every way of summing gives. */
	w1 |= (uint64_t)(uint16_t)~t << 32;
	wire_put64(buf, w0);
	wire_put64(buf + 8, w1);
	tern_put32(buf + 16, dst);
}

#endif
