/*
 * wire/tcphdr.h: the fixed 20-byte TCP header written from its fields, inline,
 * for a sender that has laid out its options and payload behind it already (TCP
 * output, on every segment a socket sends). Written as two 64-bit words and one
 * 32-bit word in network order, as wire/ipv4.h writes the IPv4 header, with no
 * struct tern_tcp in between.
 */
#ifndef TERN_WIRE_TCPHDR_H
#define TERN_WIRE_TCPHDR_H

#include <stdbool.h>
#include <stdint.h>

#include "tern/wire.h"
#include "wire/csum.h"
#include "wire/ipv4.h"

/* Writes the header at buf for a segment of `total` bytes (header, options and
 * payload; hdr_len a whole number of words from 20 to 60, total within 65535),
 * with the checksum tern_tcp_finish would give: complete, or with `partial` the
 * pseudo-header's folded sum (Linux's CHECKSUM_PARTIAL) for the link to finish.
 * Reserved bits and the urgent pointer are 0. */
static inline void wire_tcp_put_hdr20(uint8_t *buf, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
				      unsigned hdr_len, uint8_t flags, uint16_t win, size_t total, uint32_t src,
				      uint32_t dst, bool partial)
{
	uint64_t w0 = (uint64_t)sport << 48 | (uint64_t)dport << 32 | seq;
	uint64_t w1 = (uint64_t)ack << 32 | (uint32_t)(hdr_len / 4) << 28 | (uint32_t)flags << 16 | win;
	uint32_t sum = wire_csum_pseudo_v4(src, dst, TERN_IPPROTO_TCP, (uint16_t)total);
	uint16_t csum = 0;

	if (partial) {
		/* The same pseudo-header sum taken as two 32-bit words (RFC 1071
		 * §2(B)), folded with end-around carry: fewer steps than the 16-bit
		 * halves, the same folded value (neither is ever 0). */
		uint64_t s = (uint64_t)src + dst + TERN_IPPROTO_TCP + (uint16_t)total;
		s = (s & 0xffffu) + (s >> 16);
		s = (s & 0xffffu) + (s >> 16);
		s = (s & 0xffffu) + (s >> 16);
		csum = (uint16_t)s;
	}

	wire_put64(buf, w0);
	wire_put64(buf + 8, w1);
	wire_put32(buf + 16, (uint32_t)csum << 16);
	if (!partial)
		tern_put16(buf + 16, wire_csum_fold(tern_csum_add(sum, buf, total)));
}

#endif
