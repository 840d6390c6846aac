/*
 * wire/ipv4.h: the 20-byte IPv4 header written from its fields, and the plain
 * header parsed, inline. Every datagram sent takes the first step (the IP
 * layer's output), so it is written as two 64-bit words and one 32-bit word,
 * and its checksum is summed from those words' values rather than read back
 * from the bytes just stored. Every datagram received takes the second (IP
 * input tries it before tern_ipv4_parse, which tries it again and then runs
 * the full checks: a call less per datagram).
 */
#ifndef TERN_WIRE_IPV4_H
#define TERN_WIRE_IPV4_H

#include <stdint.h>
#include <string.h>

#include "core/util.h"
#include "tern/wire.h"
#include "wire/csum.h"

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

/* The same for a 32-bit word. */
static inline void wire_put32(uint8_t *p, uint32_t v)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
	memcpy(p, &v, sizeof(v));
#else
	tern_put32(p, v);
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

/* A 16-bit field as it lies in memory, and a host-order constant as it would
 * lie there: a mask tested on the first is the mask tested on the field,
 * without turning the field around. */
static inline uint16_t wire_get16_raw(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}
static inline uint16_t wire_raw16(uint16_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap16(v);
#else
	return v;
#endif
}

/* The fixed 20-byte header's fields but the header length (which each parse
 * takes from what it has checked), as both parses fill them (`buf` holds at
 * least 20 bytes). */
static inline __attribute__((always_inline)) void wire_ipv4_read_fixed(const uint8_t *buf, struct tern_ipv4 *ip)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* The total length, ID and fragment field are three adjacent 16-bit
	 * fields in both: the header's first eight bytes with each pair swapped
	 * hold them at bytes 2 to 7, so one store at total_len - 2 puts them in
	 * place (and two bytes into proto and hdr_len, written next and by the
	 * caller). Field by field GCC loaded, shifted and swapped each one. */
	_Static_assert(offsetof(struct tern_ipv4, id) == offsetof(struct tern_ipv4, total_len) + 2 &&
			       offsetof(struct tern_ipv4, frag) == offsetof(struct tern_ipv4, total_len) + 4 &&
			       offsetof(struct tern_ipv4, hdr_len) == offsetof(struct tern_ipv4, total_len) - 1 &&
			       offsetof(struct tern_ipv4, proto) == offsetof(struct tern_ipv4, total_len) - 2,
		       "total length, ID and fragment field follow proto and hdr_len");
	_Static_assert(offsetof(struct tern_ipv4, proto) == offsetof(struct tern_ipv4, ttl) + 1,
		       "TTL and protocol are adjacent, as in the header");
	typedef uint16_t wire_u16x8 __attribute__((vector_size(16)));
	wire_u16x8 v, w;
	memcpy(&v, buf, sizeof(v));
	w = v << 8 | v >> 8;
	memcpy((uint8_t *)ip + offsetof(struct tern_ipv4, total_len) - 2, &w, 8);
	uint16_t ttl_proto = v[4];  /* as it lies in memory */
	memcpy(&ip->ttl, &ttl_proto, sizeof(ttl_proto));
	ip->tos = buf[1];
	ip->checksum = w[5];
#else
	ip->tos = buf[1];
	ip->total_len = tern_get16(buf + 2);
	ip->id = tern_get16(buf + 4);
	ip->frag = tern_get16(buf + 6);
	ip->ttl = buf[8];
	ip->proto = buf[9];
	ip->checksum = tern_get16(buf + 10);
#endif
	/* Both addresses in one store: segment input's tuple hash reads them
	 * with one 64-bit load soon after (tern_get32x2 says why). */
	_Static_assert(offsetof(struct tern_ipv4, dst) == offsetof(struct tern_ipv4, src) + 4,
		       "the addresses are one 64-bit word");
	tern_get32x2((uint8_t *)ip + offsetof(struct tern_ipv4, src), buf + 12);
}

/* The datagram nearly every arrival is: version 4, a 20-byte header, the right
 * checksum, a total length that is exactly the buffer's, not a fragment. Every
 * check below then passes, so those five are tested first, at once, and the
 * fields are filled as the full parse would fill them (each one, so nothing is
 * left to clear). False for anything else, which the full parse then takes in
 * Linux's order to name the first check that fails. */
static inline __attribute__((always_inline)) bool wire_ipv4_parse_plain(const uint8_t *buf, size_t len,
								  struct tern_ipv4 *ip)
{
	if (len < TERN_IPV4_HDR_LEN || buf[0] != 0x45)
		return false;
	/* Filled first and tested from the fields (the fragment field from the
	 * header as it stands): on a refusal the full parse fills everything
	 * again. */
	wire_ipv4_read_fixed(buf, ip);
	ip->hdr_len = TERN_IPV4_HDR_LEN;
	if (ip->total_len != len || (wire_get16_raw(buf + 6) & wire_raw16(TERN_IP_MF | TERN_IP_OFFMASK)) ||
	    wire_csum_hdr20(buf) != 0)
		return false;
	ip->options = NULL;
	ip->payload = buf + TERN_IPV4_HDR_LEN;
	ip->payload_len = (uint16_t)(ip->total_len - TERN_IPV4_HDR_LEN);
	return true;
}

#endif
