/*
 * wire/tcphdr.h: the fixed 20-byte TCP header and the IPv4 header in front of
 * it, written from their fields, inline, for a sender that has laid out its
 * options and payload behind them already (TCP output, on every segment a
 * socket sends). Written as 64-bit and 32-bit words in network order, as
 * wire/ipv4.h writes the IPv4 header alone, with no struct tern_tcp or
 * tern_ipv4 in between.
 */
#ifndef TERN_WIRE_TCPHDR_H
#define TERN_WIRE_TCPHDR_H

#include <stdbool.h>
#include <stdint.h>

#include "tern/wire.h"
#include "wire/csum.h"
#include "wire/ipv4.h"

/* Writes, at buf, a 20-byte IPv4 header (version 4, IHL 5, protocol TCP, the
 * checksum tern_ipv4_build gives) and behind it the fixed TCP header of a
 * segment of `total` bytes (header, options and payload; hdr_len a whole
 * number of words from 20 to 60, total within 65515), with the checksum
 * tern_tcp_finish would give: complete, or with `partial` the pseudo-header's
 * folded sum (Linux's CHECKSUM_PARTIAL) for the link to finish. Reserved bits
 * and the urgent pointer are 0. `ports` is the source port above the
 * destination port, as the header holds them.
 *
 * Both checksums start from the same sum. The pseudo-header (RFC 9293 §3.1) is
 * the addresses, the protocol and the TCP length; the IP header is the same
 * addresses and protocol beside version, TOS, total length (the TCP length
 * plus 20), ID, fragment field and TTL. So the IP header's 16-bit sum is the
 * pseudo-header's minus the TCP length plus those fields, and the addresses
 * are added once. Every partial sum here is a nonnegative integer congruent
 * (mod 0xffff) to the true one's-complement sum, and none is 0, so each folds
 * to the one value in 1..0xffff that every other way of summing gives (RFC 1071
 * §2(B)). */
static inline void wire_ipv4_tcp_put_hdrs(uint8_t *buf, uint8_t tos, uint16_t id, uint16_t frag, uint8_t ttl,
					  uint32_t src, uint32_t dst, uint32_t ports, uint32_t seq,
					  uint32_t ack, unsigned hdr_len, uint8_t flags, uint16_t win, size_t total,
					  bool partial)
{
	uint8_t *th = buf + TERN_IPV4_HDR_LEN;
	uint16_t ip_len = (uint16_t)(TERN_IPV4_HDR_LEN + total);
	/* The pseudo-header as two 32-bit words and two small ones (below 2^34),
	 * folded once: below 2^18. */
	uint64_t s = (uint64_t)src + dst + TERN_IPPROTO_TCP + (uint16_t)total;
	uint32_t pseudo = (uint32_t)(s & 0xffffu) + (uint32_t)(s >> 16);
	/* The protocol is in already and the TCP length is the total length less
	 * 20; add 0x45 and TOS, the 20, ID, fragment field and TTL: below 2^19, so
	 * two folds bring it within 16 bits. */
	uint32_t ip_sum = wire_fold16(pseudo + ((uint32_t)0x45 << 8 | tos) + TERN_IPV4_HDR_LEN + id + frag +
				      ((uint32_t)ttl << 8));

	wire_put64(buf, (uint64_t)0x45 << 56 | (uint64_t)tos << 48 | (uint64_t)ip_len << 32 | (uint32_t)id << 16 | frag);
	wire_put64(buf + 8, (uint64_t)ttl << 56 | (uint64_t)TERN_IPPROTO_TCP << 48 |
				    (uint64_t)(uint16_t)~ip_sum << 32 | src);
	wire_put32(buf + 16, dst);

	uint16_t csum = 0;
	if (partial)
		csum = (uint16_t)wire_fold16(pseudo);
	wire_put64(th, (uint64_t)ports << 32 | seq);
	wire_put64(th + 8, (uint64_t)ack << 32 | (uint32_t)(hdr_len / 4) << 28 | (uint32_t)flags << 16 | win);
	wire_put32(th + 16, (uint32_t)csum << 16);
	if (!partial)
		tern_put16(th + 16, wire_csum_fold(tern_csum_add(pseudo, th, total)));
}

#endif
