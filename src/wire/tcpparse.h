/*
 * wire/tcpparse.h: the TCP parse of the segment nearly every arrival is, inline,
 * for segment input (tcp/input.c) to take without a call, as IP input takes
 * wire_ipv4_parse_plain; tern_tcp_parse (tcp.c) starts with the same test and
 * has the full checks, in Linux's order, for everything else.
 */
#ifndef TERN_WIRE_TCPPARSE_H
#define TERN_WIRE_TCPPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/util.h"
#include "tern/wire.h"

/* On-wire lengths of the options the common lists hold. */
#define WIRE_TCPOPT_MSS_LEN 4        /* RFC 9293 §3.2 */
#define WIRE_TCPOPT_WSCALE_LEN 3     /* RFC 7323 §2.2 */
#define WIRE_TCPOPT_SACK_PERM_LEN 2  /* RFC 2018 §2 */
#define WIRE_TCPOPT_TS_LEN 10        /* RFC 7323 §3.2 */

/* A timestamp option's two values (`p` at TSval) with one load and one store:
 * they are adjacent in the option as in `o`. */
static inline __attribute__((always_inline)) void wire_tcp_get_ts(struct tern_tcp_opts *o, const uint8_t *p)
{
	_Static_assert(offsetof(struct tern_tcp_opts, ts_ecr) == offsetof(struct tern_tcp_opts, ts_val) + 4,
		       "the timestamps are one word");
	tern_get32x2((uint8_t *)o + offsetof(struct tern_tcp_opts, ts_val), p);
}

/* The two option lists nearly every segment carries, taken in one step each:
 * what tcp.c's parse_options would make of them, byte for byte the same. Linux
 * puts NOP, NOP, timestamp on every segment after the handshake, and MSS,
 * SACK-permitted, timestamp, NOP, window scale on a SYN and SYN-ACK when all
 * are on. Each returns false for any other list (`p` at the options, which
 * span 12 bytes for the first and 20 for the second). */
static inline __attribute__((always_inline)) bool wire_tcp_parse_ts_option(const uint8_t *p, struct tern_tcp_opts *o)
{
	/* lens[3] is past `count`, so what it holds means nothing: written as 0
	 * with the first three, one store instead of two. */
	static const uint8_t ts_kinds[3] = { TERN_TCPOPT_NOP, TERN_TCPOPT_NOP, TERN_TCPOPT_TS };
	static const uint8_t ts_lens[4] = { 1, 1, WIRE_TCPOPT_TS_LEN, 0 };

	if (tern_get32(p) != 0x0101080au)
		return false;
	memcpy(o->kinds, ts_kinds, sizeof(ts_kinds));
	memcpy(o->lens, ts_lens, sizeof(ts_lens));
	o->count = 3;
	wire_tcp_get_ts(o, p + 4);
	o->present = TERN_TCPOPT_HAS_TS;
	return true;
}
static inline __attribute__((always_inline)) bool wire_tcp_parse_syn_options(const uint8_t *p,
									      struct tern_tcp_opts *o)
{
	static const uint8_t syn_kinds[5] = { TERN_TCPOPT_MSS, TERN_TCPOPT_SACK_PERM, TERN_TCPOPT_TS,
					      TERN_TCPOPT_NOP, TERN_TCPOPT_WSCALE };
	static const uint8_t syn_lens[5] = { WIRE_TCPOPT_MSS_LEN, WIRE_TCPOPT_SACK_PERM_LEN, WIRE_TCPOPT_TS_LEN, 1,
					     WIRE_TCPOPT_WSCALE_LEN };

	/* 2,4,m,m 4,2 8,10,v,v,v,v,e,e,e,e 1 3,3,s */
	if (!(p[0] == TERN_TCPOPT_MSS && p[1] == WIRE_TCPOPT_MSS_LEN && tern_get16(p + 4) == 0x0402u &&
	      tern_get16(p + 6) == 0x080au && tern_get32(p + 16) >> 8 == 0x010303u))
		return false;
	memcpy(o->kinds, syn_kinds, sizeof(syn_kinds));
	memcpy(o->lens, syn_lens, sizeof(syn_lens));
	o->count = 5;
	o->mss = tern_get16(p + 2);
	wire_tcp_get_ts(o, p + 8);
	o->wscale = p[19];
	o->present = TERN_TCPOPT_HAS_MSS | TERN_TCPOPT_HAS_SACK_PERM | TERN_TCPOPT_HAS_TS | TERN_TCPOPT_HAS_WSCALE;
	return true;
}

/* Either list, for an option space of `len` bytes. */
static inline __attribute__((always_inline)) bool wire_tcp_parse_common_options(const uint8_t *p, unsigned len,
										 struct tern_tcp_opts *o)
{
	return (len == 12 && wire_tcp_parse_ts_option(p, o)) || (len == 20 && wire_tcp_parse_syn_options(p, o));
}

/* The fixed 20-byte header's fields but the data offset byte (hdr_len and
 * reserved, which each parse takes from what it has checked), as both parses
 * fill them (`buf` holds at least 20 bytes). */
static inline __attribute__((always_inline)) void wire_tcp_read_fixed(const uint8_t *buf, struct tern_tcp *seg)
{
	/* Both ports in one store: segment input reads them with one 32-bit load
	 * for the tuple hash right after the parse returns (tern_get16x2 says why;
	 * a fifth of IP input's time went there). GCC does not merge the two
	 * 16-bit stores itself. */
	_Static_assert(offsetof(struct tern_tcp, dport) == offsetof(struct tern_tcp, sport) + 2,
		       "the ports are one word");
	tern_get16x2((uint8_t *)seg + offsetof(struct tern_tcp, sport), buf);
	/* Both sequence numbers with one load and one store, likewise. */
	_Static_assert(offsetof(struct tern_tcp, ack) == offsetof(struct tern_tcp, seq) + 4,
		       "the sequence numbers are one word");
	tern_get32x2((uint8_t *)seg + offsetof(struct tern_tcp, seq), buf + 4);
	seg->flags = buf[13];
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* The window, checksum and urgent pointer are three adjacent 16-bit
	 * fields in both: bytes 12 to 19 with each pair swapped hold them at 2 to
	 * 7, so one store at win - 2 puts them in place (and two bytes into
	 * `reserved`, which each parse writes after this, and the padding after
	 * it). As in IP input's wire_ipv4_read_fixed. */
	_Static_assert(offsetof(struct tern_tcp, checksum) == offsetof(struct tern_tcp, win) + 2 &&
			       offsetof(struct tern_tcp, urg) == offsetof(struct tern_tcp, win) + 4 &&
			       offsetof(struct tern_tcp, reserved) == offsetof(struct tern_tcp, win) - 2,
		       "window, checksum and urgent pointer follow reserved and a byte of padding");
	typedef uint16_t wire_u16x4 __attribute__((vector_size(8)));
	wire_u16x4 w;
	memcpy(&w, buf + 12, sizeof(w));
	w = w << 8 | w >> 8;
	memcpy((uint8_t *)seg + offsetof(struct tern_tcp, win) - 2, &w, sizeof(w));
#else
	seg->win = tern_get16(buf + 14);
	seg->checksum = tern_get16(buf + 16);
	seg->urg = tern_get16(buf + 18);
#endif
}

/* The rest of the plain segment, once its options are taken. */
static inline __attribute__((always_inline)) void wire_tcp_fill_plain(const uint8_t *buf, size_t len,
								       unsigned hdr_len, struct tern_tcp *seg)
{
	wire_tcp_read_fixed(buf, seg);
	seg->hdr_len = (uint8_t)hdr_len;
	seg->reserved = 0;
	seg->payload = buf + hdr_len;
	seg->payload_len = (uint32_t)(len - hdr_len);
	seg->gso_size = 0;
}

/* The segment nearly every arrival is: the checksum already vouched for by the
 * link, reserved bits clear, and one of the two common option lists filling
 * the header (32 bytes with NOP, NOP, timestamp; 40 on a SYN). Every check of
 * the full parse then passes, so this fills `seg` as it would and says true;
 * false for anything else, which the full parse then takes from the start. */
static inline __attribute__((always_inline)) bool wire_tcp_parse_plain(const uint8_t *buf, size_t len, bool check_sum,
								       struct tern_tcp *seg)
{
	/* The data offset byte picks the list (8 words, reserved bits clear: the
	 * timestamp; 10 words: the SYN's), and the list's header must fit. A
	 * segment shorter than the smaller header is never this one. */
	if (check_sum || len < TERN_TCP_HDR_LEN + 12)
		return false;
	memset(&seg->opt, 0, offsetof(struct tern_tcp_opts, sack));
	/* Each list's header length is a constant in its own branch. */
	if (buf[12] == 0x80 && wire_tcp_parse_ts_option(buf + TERN_TCP_HDR_LEN, &seg->opt)) {
		wire_tcp_fill_plain(buf, len, TERN_TCP_HDR_LEN + 12, seg);
		return true;
	}
	if (buf[12] == 0xa0 && len >= TERN_TCP_HDR_LEN + 20 &&
	    wire_tcp_parse_syn_options(buf + TERN_TCP_HDR_LEN, &seg->opt)) {
		wire_tcp_fill_plain(buf, len, TERN_TCP_HDR_LEN + 20, seg);
		return true;
	}
	return false;
}

#endif
