/*
 * test_wire_tcp.c: TCP header and option parsing and building (RFC 9293 §3.1 and
 * §3.2, RFC 7323, RFC 2018).
 *
 * The core of it is a real connection captured from Linux (linux_handshake.h):
 * every datagram is taken apart, every field checked against what tcpdump showed,
 * and rebuilt byte for byte with tern_ipv4_build and tern_tcp_build. Then one test
 * per malformation with its exact status, option edge cases, builder limits, and a
 * robustness sweep in exactly sized heap buffers for the sanitizer build.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/util.h"
#include "tern/wire.h"
#include "unit/linux_handshake.h"

#define LO 0x7f000001u /* 127.0.0.1 */
#define SRC 0x0a000001u
#define DST 0x0a000002u

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static uint8_t *dup_exact(const uint8_t *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	if (len)
		memcpy(p, src, len);
	return p;
}

static void fix_tcp_checksum(uint8_t *seg, size_t len, uint32_t src, uint32_t dst)
{
	seg[16] = seg[17] = 0;
	uint32_t sum = tern_csum_pseudo_v4(src, dst, TERN_IPPROTO_TCP, (uint16_t)len);
	tern_put16(seg + 16, tern_csum_fold(tern_csum_add(sum, seg, len)));
}

/* A segment SRC:1234 -> DST:80 with the given option bytes (a multiple of 4) and
 * payload, correct checksum. Returns its length. */
static size_t make_segment(uint8_t *buf, const uint8_t *opts, size_t optlen,
			   const uint8_t *data, size_t datalen)
{
	memset(buf, 0, 20);
	tern_put16(buf, 1234);
	tern_put16(buf + 2, 80);
	tern_put32(buf + 4, 1000);
	tern_put32(buf + 8, 2000);
	buf[12] = (uint8_t)(((20 + optlen) / 4) << 4);
	buf[13] = TERN_TCP_ACK;
	tern_put16(buf + 14, 512);
	if (optlen)
		memcpy(buf + 20, opts, optlen);
	if (datalen)
		memcpy(buf + 20 + optlen, data, datalen);
	fix_tcp_checksum(buf, 20 + optlen + datalen, SRC, DST);
	return 20 + optlen + datalen;
}

static enum tern_wire_status parse_exact(const uint8_t *src, size_t len, bool check,
					 struct tern_tcp *out)
{
	uint8_t *p = dup_exact(src, len);
	enum tern_wire_status st = tern_tcp_parse(p, len, SRC, DST, check, out);
	free(p);
	return st;
}

/* Parses option bytes in a segment and checks the status. */
static enum tern_wire_status parse_opts(const uint8_t *opts, size_t optlen, struct tern_tcp *out)
{
	uint8_t b[60];
	size_t n = make_segment(b, opts, optlen, NULL, 0);
	return parse_exact(b, n, true, out);
}

/* Parse then rebuild must give the same bytes. */
static void assert_round_trip(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst)
{
	struct tern_tcp t;
	uint8_t out[1600];
	assert_int_equal(tern_tcp_parse(seg, len, src, dst, true, &t), TERN_WIRE_OK);
	assert_int_equal(tern_tcp_build(out, sizeof(out), &t, src, dst), len);
	assert_memory_equal(out, seg, len);
}

/* ------------------------------------------------------------ Linux capture */

struct expect_opt {
	uint8_t kind;
	uint8_t len;
};

struct expect {
	const uint8_t *pkt;
	size_t len;
	uint16_t ip_id;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint32_t ts_val, ts_ecr;
	const char *payload;
	bool syn_opts; /* mss,sackOK,TS,nop,wscale, else nop,nop,TS */
};

/* Values as tcpdump -nn -vv printed them for the capture (decimal). */
static const struct expect hs[] = {
	{ linux_hs_syn, sizeof(linux_hs_syn), 38143, 51178, 8080, 522004813u, 0,
	  TERN_TCP_SYN, 65495, 1963138096u, 0, NULL, true },
	{ linux_hs_synack, sizeof(linux_hs_synack), 0, 8080, 51178, 2378351253u, 522004814u,
	  TERN_TCP_SYN | TERN_TCP_ACK, 65483, 4228130030u, 1963138096u, NULL, true },
	{ linux_hs_ack, sizeof(linux_hs_ack), 38144, 51178, 8080, 522004814u, 2378351254u,
	  TERN_TCP_ACK, 64, 1963138097u, 4228130030u, NULL, false },
	{ linux_hs_data, sizeof(linux_hs_data), 38145, 51178, 8080, 522004814u, 2378351254u,
	  TERN_TCP_PSH | TERN_TCP_ACK, 64, 1963138097u, 4228130030u, "hello tern\n", false },
	{ linux_hs_data_ack, sizeof(linux_hs_data_ack), 40196, 8080, 51178, 2378351254u, 522004825u,
	  TERN_TCP_ACK, 64, 4228130030u, 1963138097u, NULL, false },
	{ linux_hs_srv_fin, sizeof(linux_hs_srv_fin), 40197, 8080, 51178, 2378351254u, 522004825u,
	  TERN_TCP_FIN | TERN_TCP_ACK, 64, 4228130030u, 1963138097u, NULL, false },
	{ linux_hs_fin_ack, sizeof(linux_hs_fin_ack), 38146, 51178, 8080, 522004825u, 2378351255u,
	  TERN_TCP_ACK, 64, 1963138098u, 4228130030u, NULL, false },
	{ linux_hs_cli_fin, sizeof(linux_hs_cli_fin), 38147, 51178, 8080, 522004825u, 2378351255u,
	  TERN_TCP_FIN | TERN_TCP_ACK, 64, 1963138297u, 4228130030u, NULL, false },
	{ linux_hs_last_ack, sizeof(linux_hs_last_ack), 0, 8080, 51178, 2378351255u, 522004826u,
	  TERN_TCP_ACK, 64, 4228130230u, 1963138297u, NULL, false },
};

static void check_linux_packet(const struct expect *e)
{
	struct tern_ipv4 ip;
	struct tern_tcp t;
	uint8_t *p = dup_exact(e->pkt, e->len);

	assert_int_equal(tern_ipv4_parse(p, e->len, &ip), TERN_WIRE_OK);
	assert_int_equal(ip.proto, TERN_IPPROTO_TCP);
	assert_int_equal(ip.ttl, 64);
	assert_int_equal(ip.tos, 0);
	assert_int_equal(ip.frag, TERN_IP_DF);
	assert_int_equal(ip.id, e->ip_id);
	assert_int_equal(ip.src, LO);
	assert_int_equal(ip.dst, LO);

	assert_int_equal(tern_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &t),
			 TERN_WIRE_OK);
	assert_int_equal(t.sport, e->sport);
	assert_int_equal(t.dport, e->dport);
	assert_int_equal(t.seq, e->seq);
	assert_int_equal(t.ack, e->ack);
	assert_int_equal(t.flags, e->flags);
	assert_int_equal(t.reserved, 0);
	assert_int_equal(t.win, e->win);
	assert_int_equal(t.urg, 0);
	assert_int_equal(t.checksum, tern_get16(ip.payload + 16));

	const struct tern_tcp_opts *o = &t.opt;
	if (e->syn_opts) {
		/* Linux's SYN and SYN-ACK option layout on lo. */
		const struct expect_opt want[] = { { TERN_TCPOPT_MSS, 4 }, { TERN_TCPOPT_SACK_PERM, 2 },
						   { TERN_TCPOPT_TS, 10 }, { TERN_TCPOPT_NOP, 1 },
						   { TERN_TCPOPT_WSCALE, 3 } };
		assert_int_equal(t.hdr_len, 40);
		assert_int_equal(o->count, 5);
		for (size_t i = 0; i < 5; i++) {
			assert_int_equal(o->kinds[i], want[i].kind);
			assert_int_equal(o->lens[i], want[i].len);
		}
		assert_int_equal(o->present, TERN_TCPOPT_HAS_MSS | TERN_TCPOPT_HAS_SACK_PERM |
						     TERN_TCPOPT_HAS_TS | TERN_TCPOPT_HAS_WSCALE);
		assert_int_equal(o->mss, 65495);
		assert_int_equal(o->wscale, 10);
	} else {
		assert_int_equal(t.hdr_len, 32);
		assert_int_equal(o->count, 3);
		assert_int_equal(o->kinds[0], TERN_TCPOPT_NOP);
		assert_int_equal(o->kinds[1], TERN_TCPOPT_NOP);
		assert_int_equal(o->kinds[2], TERN_TCPOPT_TS);
		assert_int_equal(o->lens[2], 10);
		assert_int_equal(o->present, TERN_TCPOPT_HAS_TS);
	}
	assert_int_equal(o->ts_val, e->ts_val);
	assert_int_equal(o->ts_ecr, e->ts_ecr);
	assert_int_equal(o->sack_count, 0);

	if (e->payload) {
		assert_int_equal(t.payload_len, strlen(e->payload));
		assert_memory_equal(t.payload, e->payload, t.payload_len);
	} else {
		assert_int_equal(t.payload_len, 0);
	}

	/* Rebuild the datagram from the parsed structs alone. */
	uint8_t out[128];
	memset(out, 0xee, sizeof(out));
	size_t tl = tern_tcp_build(out + 20, sizeof(out) - 20, &t, ip.src, ip.dst);
	assert_int_equal(tl, ip.payload_len);
	assert_int_equal(tern_ipv4_build(out, sizeof(out), &ip, (uint16_t)tl), 20);
	assert_memory_equal(out, e->pkt, e->len);
	free(p);
}

static void test_linux_connection(void **state)
{
	(void)state;
	for (size_t i = 0; i < TERN_ARRAY_SIZE(hs); i++)
		check_linux_packet(&hs[i]);
}

static void test_linux_syn_format(void **state)
{
	(void)state;
	struct tern_ipv4 ip;
	struct tern_tcp t;
	char line[256];

	assert_int_equal(tern_ipv4_parse(linux_hs_syn, sizeof(linux_hs_syn), &ip), TERN_WIRE_OK);
	assert_int_equal(tern_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &t),
			 TERN_WIRE_OK);
	const char *abs_line = "S 522004813:522004813(0) win 65495 "
			       "<mss 65495,sackOK,TS val 1963138096 ecr 0,nop,wscale 10>";
	assert_int_equal(tern_tcp_format(line, sizeof(line), &t, NULL), (int)strlen(abs_line));
	assert_string_equal(line, abs_line);

	struct tern_tcp_fmt f = { .relative = true, .seq_base = 522004813u, .ack_base = 2378351253u,
				  .ports = true, .win = true };
	tern_tcp_format(line, sizeof(line), &t, &f);
	assert_string_equal(line, "51178>8080 S 0:0(0) win 65495 "
				  "<mss 65495,sackOK,TS val 1963138096 ecr 0,nop,wscale 10>");

	/* The SYN-ACK and the data segment, relative to each side's ISN. */
	assert_int_equal(tern_ipv4_parse(linux_hs_synack, sizeof(linux_hs_synack), &ip), TERN_WIRE_OK);
	assert_int_equal(tern_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &t),
			 TERN_WIRE_OK);
	f = (struct tern_tcp_fmt){ .relative = true, .seq_base = 2378351253u,
				   .ack_base = 522004813u, .win = true };
	tern_tcp_format(line, sizeof(line), &t, &f);
	assert_string_equal(line, "S. 0:0(0) ack 1 win 65483 "
				  "<mss 65495,sackOK,TS val 4228130030 ecr 1963138096,nop,wscale 10>");

	assert_int_equal(tern_ipv4_parse(linux_hs_data, sizeof(linux_hs_data), &ip), TERN_WIRE_OK);
	assert_int_equal(tern_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &t),
			 TERN_WIRE_OK);
	f = (struct tern_tcp_fmt){ .relative = true, .seq_base = 522004813u,
				   .ack_base = 2378351253u, .win = true };
	tern_tcp_format(line, sizeof(line), &t, &f);
	assert_string_equal(line, "P. 1:12(11) ack 1 win 64 <nop,nop,TS val 1963138097 ecr 4228130030>");
}

/* ------------------------------------------------------------ malformed */

static void test_too_short(void **state)
{
	(void)state;
	uint8_t b[20];
	make_segment(b, NULL, 0, NULL, 0);
	assert_int_equal(tern_tcp_parse(NULL, 0, SRC, DST, true, NULL), TERN_WIRE_TCP_TOO_SHORT);
	assert_int_equal(parse_exact(b, 0, true, NULL), TERN_WIRE_TCP_TOO_SHORT);
	assert_int_equal(parse_exact(b, 1, true, NULL), TERN_WIRE_TCP_TOO_SHORT);
	assert_int_equal(parse_exact(b, 19, true, NULL), TERN_WIRE_TCP_TOO_SHORT);
	assert_int_equal(parse_exact(b, 19, false, NULL), TERN_WIRE_TCP_TOO_SHORT);
	assert_int_equal(parse_exact(b, 20, true, NULL), TERN_WIRE_OK);
}

static void test_bad_checksum(void **state)
{
	(void)state;
	uint8_t b[64];
	const uint8_t data[] = { 1, 2, 3, 4, 5 };
	size_t n = make_segment(b, NULL, 0, data, sizeof(data));
	assert_int_equal(parse_exact(b, n, true, NULL), TERN_WIRE_OK);

	b[n - 1] ^= 0x40; /* a payload byte */
	assert_int_equal(parse_exact(b, n, true, NULL), TERN_WIRE_TCP_BAD_CHECKSUM);
	/* Without check_sum the same bytes pass. */
	assert_int_equal(parse_exact(b, n, false, NULL), TERN_WIRE_OK);
	b[n - 1] ^= 0x40;

	/* The pseudo-header counts: same bytes, other addresses. */
	uint8_t *p = dup_exact(b, n);
	assert_int_equal(tern_tcp_parse(p, n, SRC, DST + 1, true, NULL), TERN_WIRE_TCP_BAD_CHECKSUM);
	assert_int_equal(tern_tcp_parse(p, n, DST, SRC, true, NULL), TERN_WIRE_OK); /* sum is symmetric */
	free(p);

	/* Linux's order (tcp_v4_rcv): the data offset is checked before the checksum,
	 * so a segment with both faults counts as a bad offset. */
	b[12] = 0x30;
	assert_int_equal(parse_exact(b, n, true, NULL), TERN_WIRE_TCP_BAD_DATA_OFFSET);
	assert_int_equal(parse_exact(b, n, false, NULL), TERN_WIRE_TCP_BAD_DATA_OFFSET);
}

static void test_data_offset_below_5(void **state)
{
	(void)state;
	uint8_t b[40];
	for (uint8_t off = 0; off < 5; off++) {
		make_segment(b, NULL, 0, (const uint8_t *)"0123456789abcdefghij", 20);
		b[12] = (uint8_t)(off << 4);
		fix_tcp_checksum(b, 40, SRC, DST);
		struct tern_tcp t;
		assert_int_equal(parse_exact(b, 40, true, &t), TERN_WIRE_TCP_BAD_DATA_OFFSET);
		assert_int_equal(t.hdr_len, off * 4);
	}
}

static void test_data_offset_past_end(void **state)
{
	(void)state;
	uint8_t b[40];
	make_segment(b, NULL, 0, NULL, 0);
	b[12] = 6 << 4;
	fix_tcp_checksum(b, 20, SRC, DST);
	assert_int_equal(parse_exact(b, 20, true, NULL), TERN_WIRE_TCP_DATA_OFFSET_PAST_END);

	make_segment(b, NULL, 0, (const uint8_t *)"0123456789abcdefghij", 20);
	b[12] = 15 << 4;
	fix_tcp_checksum(b, 40, SRC, DST);
	assert_int_equal(parse_exact(b, 40, true, NULL), TERN_WIRE_TCP_DATA_OFFSET_PAST_END);
	b[12] = 10 << 4; /* exactly the whole segment: fine, no payload */
	memset(b + 20, TERN_TCPOPT_NOP, 20);
	fix_tcp_checksum(b, 40, SRC, DST);
	struct tern_tcp t;
	assert_int_equal(parse_exact(b, 40, true, &t), TERN_WIRE_OK);
	assert_int_equal(t.payload_len, 0);
	assert_int_equal(t.opt.count, 20);
}

static void test_option_length_zero(void **state)
{
	(void)state;
	const uint8_t o[] = { TERN_TCPOPT_NOP, TERN_TCPOPT_MSS, 0, 0 };
	struct tern_tcp t;
	assert_int_equal(parse_opts(o, sizeof(o), &t), TERN_WIRE_TCP_BAD_OPTION_LENGTH);
	/* What came before the bad option is kept, and so is the rest of the header. */
	assert_int_equal(t.opt.count, 1);
	assert_int_equal(t.opt.kinds[0], TERN_TCPOPT_NOP);
	assert_int_equal(t.sport, 1234);
	assert_int_equal(t.hdr_len, 24);
	/* An unknown kind with length 0 too. */
	const uint8_t u[] = { 200, 0, 1, 1 };
	assert_int_equal(parse_opts(u, sizeof(u), &t), TERN_WIRE_TCP_BAD_OPTION_LENGTH);
}

static void test_option_length_one(void **state)
{
	(void)state;
	const uint8_t o[] = { TERN_TCPOPT_MSS, 4, 0x05, 0xb4, TERN_TCPOPT_TS, 1, 0, 0 };
	struct tern_tcp t;
	assert_int_equal(parse_opts(o, sizeof(o), &t), TERN_WIRE_TCP_BAD_OPTION_LENGTH);
	assert_int_equal(t.opt.count, 1);
	assert_int_equal(t.opt.mss, 1460);
	assert_int_equal(t.opt.present, TERN_TCPOPT_HAS_MSS);
}

static void test_option_past_header(void **state)
{
	(void)state;
	struct tern_tcp t;
	/* A timestamp claiming 10 bytes with 2 left. */
	const uint8_t a[] = { 1, 1, TERN_TCPOPT_TS, 10 };
	assert_int_equal(parse_opts(a, sizeof(a), &t), TERN_WIRE_TCP_OPTION_PAST_HEADER);
	assert_int_equal(t.opt.count, 2);
	/* One byte too long. */
	const uint8_t b[] = { TERN_TCPOPT_MSS, 5, 0x05, 0xb4 };
	assert_int_equal(parse_opts(b, sizeof(b), &t), TERN_WIRE_TCP_OPTION_PAST_HEADER);
	/* Exactly reaching the end is fine. */
	const uint8_t c[] = { TERN_TCPOPT_MSS, 4, 0x05, 0xb4 };
	assert_int_equal(parse_opts(c, sizeof(c), &t), TERN_WIRE_OK);
	/* The payload does not count as header room. */
	uint8_t seg[40];
	size_t n = make_segment(seg, a, sizeof(a), (const uint8_t *)"12345678", 8);
	assert_int_equal(parse_exact(seg, n, true, NULL), TERN_WIRE_TCP_OPTION_PAST_HEADER);
}

static void test_option_kind_is_last_byte(void **state)
{
	(void)state;
	struct tern_tcp t;
	const uint8_t a[] = { 1, 1, 1, TERN_TCPOPT_MSS };
	assert_int_equal(parse_opts(a, sizeof(a), &t), TERN_WIRE_TCP_OPTION_PAST_HEADER);
	assert_int_equal(t.opt.count, 3);
	const uint8_t b[] = { 1, 1, 1, 0xfe };
	assert_int_equal(parse_opts(b, sizeof(b), &t), TERN_WIRE_TCP_OPTION_PAST_HEADER);
	/* The payload's first byte is not the missing length byte (it would read as
	 * length 1). */
	uint8_t seg[40];
	size_t n = make_segment(seg, b, sizeof(b), (const uint8_t *)"\x01\x01", 2);
	assert_int_equal(parse_exact(seg, n, true, &t), TERN_WIRE_TCP_OPTION_PAST_HEADER);
	assert_int_equal(t.payload_len, 2);
	/* NOP and EOL as the last byte need no length. */
	const uint8_t c[] = { 1, 1, 1, TERN_TCPOPT_EOL };
	assert_int_equal(parse_opts(c, sizeof(c), &t), TERN_WIRE_OK);
	assert_int_equal(t.opt.count, 4);
	assert_int_equal(t.opt.kinds[3], TERN_TCPOPT_EOL);
}

/* ------------------------------------------------------------ options */

static void test_eol_ends_options(void **state)
{
	(void)state;
	struct tern_tcp t;
	uint8_t seg[64];
	/* MSS, EOL, zero padding: two entries, and the header rebuilds exactly. */
	const uint8_t a[] = { TERN_TCPOPT_MSS, 4, 0x05, 0xb4, TERN_TCPOPT_EOL, 0, 0, 0 };
	assert_int_equal(parse_opts(a, sizeof(a), &t), TERN_WIRE_OK);
	assert_int_equal(t.opt.count, 2);
	assert_int_equal(t.opt.kinds[1], TERN_TCPOPT_EOL);
	assert_int_equal(t.opt.lens[1], 1);
	size_t n = make_segment(seg, a, sizeof(a), (const uint8_t *)"xyz", 3);
	assert_round_trip(seg, n, SRC, DST);

	/* Whatever follows EOL is padding, even if it looks like options (or like a
	 * malformed one). */
	const uint8_t b[] = { TERN_TCPOPT_EOL, TERN_TCPOPT_MSS, 4, 0x05, 0xb4, 8, 1, 0 };
	assert_int_equal(parse_opts(b, sizeof(b), &t), TERN_WIRE_OK);
	assert_int_equal(t.opt.count, 1);
	assert_int_equal(t.opt.kinds[0], TERN_TCPOPT_EOL);
	assert_int_equal(t.opt.present, 0);
}

static void test_wrong_length_known_options(void **state)
{
	(void)state;
	struct tern_tcp t;
	/* mss len 3, wscale len 4, sackOK len 3, then NOPs to a word boundary. */
	const uint8_t a[] = { 2, 3, 5, 3, 4, 7, 0, 4, 3, 0, 1, 1 };
	assert_int_equal(parse_opts(a, sizeof(a), &t), TERN_WIRE_OK);
	assert_int_equal(t.opt.count, 5);
	const uint8_t kinds[] = { 2, 3, 4, 1, 1 }, lens[] = { 3, 4, 3, 1, 1 };
	assert_memory_equal(t.opt.kinds, kinds, 5);
	assert_memory_equal(t.opt.lens, lens, 5);
	assert_int_equal(t.opt.present, 0);
	assert_int_equal(t.opt.mss, 0);
	assert_int_equal(t.opt.wscale, 0);

	/* TS len 8, SACK len 9, SACK len 2: kept, not decoded. */
	const uint8_t b[] = { 8, 8, 1, 2, 3, 4, 5, 6, 5, 9, 0, 0, 0, 1, 0, 0, 0, 5, 2, 1 };
	assert_int_equal(parse_opts(b, sizeof(b), &t), TERN_WIRE_OK);
	assert_int_equal(t.opt.count, 4);
	assert_int_equal(t.opt.kinds[0], 8);
	assert_int_equal(t.opt.lens[0], 8);
	assert_int_equal(t.opt.kinds[1], 5);
	assert_int_equal(t.opt.lens[1], 9);
	assert_int_equal(t.opt.kinds[2], 5);
	assert_int_equal(t.opt.lens[2], 2);
	assert_int_equal(t.opt.present, 0);
	assert_int_equal(t.opt.sack_count, 0);
	assert_int_equal(t.opt.ts_val, 0);

	/* They rebuild as kind, length and zeros. */
	uint8_t seg[64], out[64];
	size_t n = make_segment(seg, a, sizeof(a), NULL, 0);
	assert_int_equal(tern_tcp_parse(seg, n, SRC, DST, true, &t), TERN_WIRE_OK);
	assert_int_equal(tern_tcp_build(out, sizeof(out), &t, SRC, DST), n);
	const uint8_t zeroed[] = { 2, 3, 0, 3, 4, 0, 0, 4, 3, 0, 1, 1 };
	assert_memory_equal(out + 20, zeroed, sizeof(zeroed));
}

static void test_unknown_options(void **state)
{
	(void)state;
	struct tern_tcp t;
	const uint8_t a[] = { 30, 4, 0, 0, 1, 1, 254, 6, 0, 0, 0, 0 };
	assert_int_equal(parse_opts(a, sizeof(a), &t), TERN_WIRE_OK);
	assert_int_equal(t.opt.count, 4);
	assert_int_equal(t.opt.kinds[0], 30);
	assert_int_equal(t.opt.lens[0], 4);
	assert_int_equal(t.opt.kinds[3], 254);
	assert_int_equal(t.opt.lens[3], 6);
	assert_int_equal(t.opt.present, 0);
	uint8_t seg[64];
	size_t n = make_segment(seg, a, sizeof(a), NULL, 0);
	assert_round_trip(seg, n, SRC, DST);
}

static void test_sack_blocks(void **state)
{
	(void)state;
	struct tern_tcp t;
	uint8_t o[36] = { 1, 1, TERN_TCPOPT_SACK, 34 };
	for (unsigned i = 0; i < 8; i++)
		tern_put32(o + 4 + 4 * i, 0xfffffff0u + 100 * i);
	assert_int_equal(parse_opts(o, sizeof(o), &t), TERN_WIRE_OK);
	assert_int_equal(t.opt.present, TERN_TCPOPT_HAS_SACK);
	assert_int_equal(t.opt.sack_count, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(t.opt.sack[i].start, (uint32_t)(0xfffffff0u + 200 * i));
		assert_int_equal(t.opt.sack[i].end, (uint32_t)(0xfffffff0u + 200 * i + 100));
	}
	uint8_t seg[64];
	size_t n = make_segment(seg, o, sizeof(o), NULL, 0);
	assert_round_trip(seg, n, SRC, DST);

	/* One block, with a timestamp, as Linux sends them. */
	const uint8_t p[] = { 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8, 1, 1, 5, 10, 0, 0, 0x10, 0,
			      0, 0, 0x20, 0 };
	assert_int_equal(parse_opts(p, sizeof(p), &t), TERN_WIRE_OK);
	assert_int_equal(t.opt.present, TERN_TCPOPT_HAS_SACK | TERN_TCPOPT_HAS_TS);
	assert_int_equal(t.opt.sack_count, 1);
	assert_int_equal(t.opt.sack[0].start, 0x1000);
	assert_int_equal(t.opt.sack[0].end, 0x2000);
	assert_int_equal(t.opt.ts_val, 9);
	assert_int_equal(t.opt.ts_ecr, 8);
	n = make_segment(seg, p, sizeof(p), NULL, 0);
	assert_round_trip(seg, n, SRC, DST);
}

static void test_forty_nops(void **state)
{
	(void)state;
	uint8_t o[40];
	memset(o, TERN_TCPOPT_NOP, sizeof(o));
	struct tern_tcp t;
	assert_int_equal(parse_opts(o, sizeof(o), &t), TERN_WIRE_OK);
	assert_int_equal(t.opt.count, 40);
	uint8_t seg[80];
	size_t n = make_segment(seg, o, sizeof(o), (const uint8_t *)"!", 1);
	assert_round_trip(seg, n, SRC, DST);
}

static void test_duplicate_option_last_wins(void **state)
{
	(void)state;
	const uint8_t o[] = { 2, 4, 0x05, 0xb4, 2, 4, 0x02, 0x18 };
	struct tern_tcp t;
	assert_int_equal(parse_opts(o, sizeof(o), &t), TERN_WIRE_OK);
	assert_int_equal(t.opt.count, 2);
	assert_int_equal(t.opt.mss, 536);
}

/* The two layouts the parser and builder take in one step (NOP,NOP,TS and the
 * SYN's MSS,SACK-permitted,TS,NOP,WS) must come out as the option walk makes them.
 * The walk is reached with the same options and an EOL after them; the short way
 * parses into a struct full of garbage, since it clears only what may be read. */
static void check_common_layout(const uint8_t *o, size_t olen)
{
	uint8_t padded[40];
	memcpy(padded, o, olen);
	memset(padded + olen, TERN_TCPOPT_EOL, 4);
	struct tern_tcp fast, walk;
	memset(&fast, 0xa5, sizeof(fast));
	assert_int_equal(parse_opts(o, olen, &fast), TERN_WIRE_OK);
	assert_int_equal(parse_opts(padded, olen + 4, &walk), TERN_WIRE_OK);
	assert_int_equal(fast.opt.count + 1, walk.opt.count);
	assert_memory_equal(fast.opt.kinds, walk.opt.kinds, fast.opt.count);
	assert_memory_equal(fast.opt.lens, walk.opt.lens, fast.opt.count);
	assert_int_equal(fast.opt.present, walk.opt.present);
	assert_int_equal(fast.opt.mss, walk.opt.mss);
	assert_int_equal(fast.opt.wscale, walk.opt.wscale);
	assert_int_equal(fast.opt.ts_val, walk.opt.ts_val);
	assert_int_equal(fast.opt.ts_ecr, walk.opt.ts_ecr);
	assert_int_equal(fast.opt.sack_count, 0);
	assert_int_equal(fast.payload_len, 0);
	uint8_t seg[60];
	size_t n = make_segment(seg, o, olen, NULL, 0);
	uint8_t out[60];
	assert_int_equal(tern_tcp_build(out, sizeof(out), &fast, SRC, DST), n);
	assert_memory_equal(out, seg, n);
}

static void test_common_layouts(void **state)
{
	(void)state;
	const uint8_t ts[] = { 1, 1, 8, 10, 0x80, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe };
	const uint8_t syn[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 3, 3, 14 };
	check_common_layout(ts, sizeof(ts));
	check_common_layout(syn, sizeof(syn));

	/* Near misses take the long way. A timestamp of the wrong length is listed,
	 * not decoded. */
	struct tern_tcp t;
	const uint8_t ts9[] = { 1, 1, 8, 9, 0, 0, 0, 1, 0, 0, 0, 1 };
	assert_int_equal(parse_opts(ts9, sizeof(ts9), &t), TERN_WIRE_OK);
	assert_int_equal(t.opt.count, 4);
	assert_int_equal(t.opt.present, 0);
	/* A window scale whose length runs past the header. */
	uint8_t bad[sizeof(syn)];
	memcpy(bad, syn, sizeof(syn));
	bad[18] = 4;
	assert_int_equal(parse_opts(bad, sizeof(bad), &t), TERN_WIRE_TCP_OPTION_PAST_HEADER);
	/* Two NOPs where the SYN has SACK-permitted (SACK turned off). */
	memcpy(bad, syn, sizeof(syn));
	bad[4] = bad[5] = TERN_TCPOPT_NOP;
	assert_int_equal(parse_opts(bad, sizeof(bad), &t), TERN_WIRE_OK);
	assert_int_equal(t.opt.count, 6);
	assert_int_equal(t.opt.present, TERN_TCPOPT_HAS_MSS | TERN_TCPOPT_HAS_TS | TERN_TCPOPT_HAS_WSCALE);

	/* A listed length that is not the proper one is built the general way:
	 * kind, that length, zeros. */
	struct tern_tcp_opts l = { .ts_val = 1, .ts_ecr = 2, .count = 3,
				   .kinds = { TERN_TCPOPT_NOP, TERN_TCPOPT_NOP, TERN_TCPOPT_TS },
				   .lens = { 1, 1, 6 } };
	uint8_t b[40];
	const uint8_t lw[8] = { 1, 1, 8, 6, 0, 0, 0, 0 };
	assert_int_equal(tern_tcp_opts_build(b, sizeof(b), &l), 8);
	assert_memory_equal(b, lw, 8);
	l.lens[2] = 10;
	const uint8_t tw[12] = { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 };
	assert_int_equal(tern_tcp_opts_build(b, sizeof(b), &l), 12);
	assert_memory_equal(b, tw, 12);
	assert_int_equal(tern_tcp_opts_build(b, 11, &l), 0);
}

/* ------------------------------------------------------------ builders */

static void test_build_options_from_scratch(void **state)
{
	(void)state;
	/* Lengths left 0: the builder uses each option's proper length. */
	struct tern_tcp_opts o = { .mss = 1460, .wscale = 7, .ts_val = 1, .ts_ecr = 0, .count = 5,
				   .kinds = { TERN_TCPOPT_MSS, TERN_TCPOPT_SACK_PERM, TERN_TCPOPT_TS,
					      TERN_TCPOPT_NOP, TERN_TCPOPT_WSCALE } };
	uint8_t b[40];
	const uint8_t want[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7 };
	assert_int_equal(tern_tcp_opts_build(b, sizeof(b), &o), 20);
	assert_memory_equal(b, want, 20);
	/* Too small a buffer. */
	assert_int_equal(tern_tcp_opts_build(b, 19, &o), 0);
	assert_int_equal(tern_tcp_opts_build(b, 0, &o), 0);

	/* A SACK option sized from sack_count. */
	struct tern_tcp_opts s = { .sack_count = 2, .sack = { { 1, 2 }, { 3, 4 } }, .count = 3,
				   .kinds = { TERN_TCPOPT_NOP, TERN_TCPOPT_NOP, TERN_TCPOPT_SACK } };
	const uint8_t sw[20] = { 1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4 };
	assert_int_equal(tern_tcp_opts_build(b, sizeof(b), &s), 20);
	assert_memory_equal(b, sw, 20);
}

static void test_build_options_limits(void **state)
{
	(void)state;
	uint8_t b[64];
	struct tern_tcp_opts o = { .count = 41 };
	memset(o.kinds, TERN_TCPOPT_NOP, sizeof(o.kinds));
	assert_int_equal(tern_tcp_opts_build(b, sizeof(b), &o), 0);

	/* 44 bytes of options is past the 40-byte limit, whatever the buffer. */
	struct tern_tcp_opts big = { .ts_val = 5, .count = 5 };
	for (int i = 0; i < 4; i++)
		big.kinds[i] = TERN_TCPOPT_TS;
	big.kinds[4] = TERN_TCPOPT_TS;
	assert_int_equal(tern_tcp_opts_build(b, sizeof(b), &big), 0);
	big.count = 4;
	assert_int_equal(tern_tcp_opts_build(b, sizeof(b), &big), 40);

	/* An unknown kind needs a length of at least 2. */
	struct tern_tcp_opts u = { .count = 1, .kinds = { 99 }, .lens = { 1 } };
	assert_int_equal(tern_tcp_opts_build(b, sizeof(b), &u), 0);
	u.lens[0] = 2;
	assert_int_equal(tern_tcp_opts_build(b, sizeof(b), &u), 2);

	/* SACK with no blocks and no length cannot be written. */
	struct tern_tcp_opts s = { .count = 1, .kinds = { TERN_TCPOPT_SACK } };
	assert_int_equal(tern_tcp_opts_build(b, sizeof(b), &s), 0);
}

static void test_build_segment(void **state)
{
	(void)state;
	const uint8_t data[] = "payload";
	struct tern_tcp t = { .sport = 40000, .dport = 8080, .seq = 0xfffffffe, .ack = 7,
			      .flags = TERN_TCP_PSH | TERN_TCP_ACK, .win = 1000, .urg = 0,
			      .payload = data, .payload_len = 7 };
	t.opt.count = 3;
	t.opt.kinds[0] = t.opt.kinds[1] = TERN_TCPOPT_NOP;
	t.opt.kinds[2] = TERN_TCPOPT_TS;
	t.opt.ts_val = 11;
	t.opt.ts_ecr = 22;
	uint8_t b[64];
	size_t n = tern_tcp_build(b, sizeof(b), &t, SRC, DST);
	assert_int_equal(n, 39);
	assert_int_equal(b[12], 8 << 4);

	struct tern_tcp p;
	assert_int_equal(parse_exact(b, n, true, &p), TERN_WIRE_OK);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.seq, 0xfffffffe);
	assert_int_equal(p.opt.ts_ecr, 22);
	assert_int_equal(tern_tcp_parse(b, n, SRC, DST, true, &p), TERN_WIRE_OK);
	assert_memory_equal(p.payload, data, 7);

	/* Too small a buffer, by one. */
	assert_int_equal(tern_tcp_build(b, n - 1, &t, SRC, DST), 0);
	/* Options not a whole number of words and not ended by EOL. */
	t.opt.count = 2;
	assert_int_equal(tern_tcp_build(b, sizeof(b), &t, SRC, DST), 0);
	/* No options at all. */
	t.opt.count = 0;
	assert_int_equal(tern_tcp_build(b, sizeof(b), &t, SRC, DST), 27);
	/* Reserved bits are carried. */
	t.reserved = 0x0f;
	assert_int_equal(tern_tcp_build(b, sizeof(b), &t, SRC, DST), 27);
	assert_int_equal(b[12], 0x5f);
	assert_int_equal(tern_tcp_parse(b, 27, SRC, DST, true, &p), TERN_WIRE_OK);
	assert_int_equal(p.reserved, 0x0f);
}

static void test_build_in_place(void **state)
{
	(void)state;
	/* Rebuilding a parsed segment into its own buffer (payload overlaps). */
	uint8_t b[80];
	const uint8_t o[] = { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 };
	size_t n = make_segment(b, o, sizeof(o), (const uint8_t *)"in place", 8);
	uint8_t copy[80];
	memcpy(copy, b, n);
	struct tern_tcp t;
	assert_int_equal(tern_tcp_parse(b, n, SRC, DST, true, &t), TERN_WIRE_OK);
	assert_int_equal(tern_tcp_build(b, sizeof(b), &t, SRC, DST), n);
	assert_memory_equal(b, copy, n);
	/* And with the options dropped: the payload moves down. */
	t.opt.count = 0;
	assert_int_equal(tern_tcp_build(b, sizeof(b), &t, SRC, DST), 28);
	assert_memory_equal(b + 20, "in place", 8);
}

/* A segment laid out in place (options and payload first, then the header)
 * comes out as tern_tcp_build makes it, with either checksum. */
static void test_finish_in_place(void **state)
{
	(void)state;
	const uint8_t data[] = "in place";
	struct tern_tcp t = { .sport = 40000, .dport = 80, .seq = 0xfffffff0u, .ack = 12345,
			      .flags = TERN_TCP_PSH | TERN_TCP_ACK, .win = 502, .payload = data, .payload_len = 8 };
	t.opt.count = 3;
	t.opt.kinds[0] = t.opt.kinds[1] = TERN_TCPOPT_NOP;
	t.opt.kinds[2] = TERN_TCPOPT_TS;
	t.opt.ts_val = 0x01020304u;
	t.opt.ts_ecr = 0xa0b0c0d0u;
	for (int partial = 0; partial < 2; partial++) {
		uint8_t want[64], got[64];
		size_t n = partial ? tern_tcp_build_partial(want, sizeof(want), &t, SRC, DST)
				   : tern_tcp_build(want, sizeof(want), &t, SRC, DST);
		assert_int_equal(n, 40);
		memset(got, 0xee, sizeof(got));
		tern_tcp_opts_put_ts(got + 20, t.opt.ts_val, t.opt.ts_ecr);
		memcpy(got + 32, data, 8);
		assert_int_equal(tern_tcp_finish(got, &t, 12, 8, SRC, DST, partial), 40);
		assert_memory_equal(got, want, 40);
	}
	/* Options must be whole words within 40 bytes. */
	uint8_t b[80];
	assert_int_equal(tern_tcp_finish(b, &t, 10, 0, SRC, DST, false), 0);
	assert_int_equal(tern_tcp_finish(b, &t, 44, 0, SRC, DST, false), 0);
}

/* ------------------------------------------------------------ robustness */

static void assert_opts_equal(const struct tern_tcp_opts *a, const struct tern_tcp_opts *b)
{
	assert_int_equal(a->count, b->count);
	assert_memory_equal(a->kinds, b->kinds, a->count);
	assert_memory_equal(a->lens, b->lens, a->count);
	assert_int_equal(a->present, b->present);
	assert_int_equal(a->mss, b->mss);
	assert_int_equal(a->wscale, b->wscale);
	assert_int_equal(a->ts_val, b->ts_val);
	assert_int_equal(a->ts_ecr, b->ts_ecr);
	assert_int_equal(a->sack_count, b->sack_count);
	for (unsigned i = 0; i < a->sack_count; i++) {
		assert_int_equal(a->sack[i].start, b->sack[i].start);
		assert_int_equal(a->sack[i].end, b->sack[i].end);
	}
}

/* Whatever parsed also rebuilds, parses again to the same options, and formats
 * without overrunning a small buffer. */
static void check_consistency(const uint8_t *p, size_t len, const struct tern_tcp *t,
			      enum tern_wire_status st)
{
	char line[600], small[7];
	int full = tern_tcp_format(line, sizeof(line), t, NULL);
	assert_int_equal(full, (int)strlen(line));
	assert_int_equal(tern_tcp_format(small, sizeof(small), t, NULL), full);
	assert_int_equal(strlen(small), full < 6 ? full : 6);

	if (st != TERN_WIRE_OK)
		return;
	uint8_t out[200];
	struct tern_tcp again;
	size_t n = tern_tcp_build(out, sizeof(out), t, SRC, DST);
	assert_true(n >= 20);
	assert_int_equal(tern_tcp_parse(out, n, SRC, DST, true, &again), TERN_WIRE_OK);
	assert_opts_equal(&t->opt, &again.opt);
	assert_int_equal(again.payload_len, t->payload_len);
	if (t->payload_len)
		assert_memory_equal(again.payload, t->payload, t->payload_len);
	assert_ptr_equal(t->payload, p + t->hdr_len);
	assert_int_equal(t->hdr_len + t->payload_len, len);
}

static void test_every_truncation(void **state)
{
	(void)state;
	for (size_t k = 0; k < TERN_ARRAY_SIZE(hs); k++) {
		const uint8_t *seg = hs[k].pkt + 20;
		size_t full = hs[k].len - 20;
		for (size_t len = 0; len <= full; len++) {
			uint8_t *p = dup_exact(seg, len);
			struct tern_tcp t;
			enum tern_wire_status st = tern_tcp_parse(p, len, LO, LO, false, &t);
			if (len < 20)
				assert_int_equal(st, TERN_WIRE_TCP_TOO_SHORT);
			else if (len < (size_t)(seg[12] >> 4) * 4)
				assert_int_equal(st, TERN_WIRE_TCP_DATA_OFFSET_PAST_END);
			else
				assert_int_equal(st, TERN_WIRE_OK);
			if (len >= 20)
				check_consistency(p, len, &t, st);
			/* With the checksum on, only the full segment passes; a cut inside
			 * the header is reported as such first (Linux's order). */
			st = tern_tcp_parse(p, len, LO, LO, true, &t);
			if (len >= 20 && len < (size_t)(seg[12] >> 4) * 4)
				assert_int_equal(st, TERN_WIRE_TCP_DATA_OFFSET_PAST_END);
			else if (len >= 20)
				assert_int_equal(st, len == full ? TERN_WIRE_OK : TERN_WIRE_TCP_BAD_CHECKSUM);
			free(p);
		}
	}
}

static void test_random_garbage(void **state)
{
	(void)state;
	uint64_t rng = 0xdeadbeefcafef00dull;
	size_t statuses[TERN_WIRE_STATUS_COUNT] = { 0 };

	for (int iter = 0; iter < 50000; iter++) {
		size_t len = (size_t)(rng_next(&rng) % 90);
		uint8_t *p = malloc(len ? len : 1);
		assert_non_null(p);
		for (size_t i = 0; i < len; i++)
			p[i] = (uint8_t)rng_next(&rng);
		if (len >= 20 && iter % 2 == 0) {
			/* A plausible data offset, and option bytes biased to small kinds
			 * and lengths, so the option walk sees every path. */
			size_t max_words = TERN_MIN(len / 4, (size_t)15);
			p[12] = (uint8_t)((5 + rng_next(&rng) % (max_words - 4)) << 4);
			for (size_t i = 20; i < len; i++)
				if (rng_next(&rng) % 3)
					p[i] = (uint8_t)(rng_next(&rng) % 12);
		}
		struct tern_tcp t;
		bool check = iter % 5 == 0;
		enum tern_wire_status st = tern_tcp_parse(p, len, SRC, DST, check, &t);
		assert_true(st < TERN_WIRE_STATUS_COUNT);
		statuses[st]++;
		if (len >= 20 && st != TERN_WIRE_TCP_BAD_CHECKSUM)
			check_consistency(p, len, &t, st);
		free(p);
	}
	/* The sweep reached every TCP outcome. */
	assert_true(statuses[TERN_WIRE_OK] > 1000);
	assert_true(statuses[TERN_WIRE_TCP_TOO_SHORT] > 0);
	assert_true(statuses[TERN_WIRE_TCP_BAD_CHECKSUM] > 0);
	assert_true(statuses[TERN_WIRE_TCP_BAD_DATA_OFFSET] > 0);
	assert_true(statuses[TERN_WIRE_TCP_DATA_OFFSET_PAST_END] > 0);
	assert_true(statuses[TERN_WIRE_TCP_BAD_OPTION_LENGTH] > 0);
	assert_true(statuses[TERN_WIRE_TCP_OPTION_PAST_HEADER] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_connection),
		cmocka_unit_test(test_linux_syn_format),
		cmocka_unit_test(test_too_short),
		cmocka_unit_test(test_bad_checksum),
		cmocka_unit_test(test_data_offset_below_5),
		cmocka_unit_test(test_data_offset_past_end),
		cmocka_unit_test(test_option_length_zero),
		cmocka_unit_test(test_option_length_one),
		cmocka_unit_test(test_option_past_header),
		cmocka_unit_test(test_option_kind_is_last_byte),
		cmocka_unit_test(test_eol_ends_options),
		cmocka_unit_test(test_wrong_length_known_options),
		cmocka_unit_test(test_unknown_options),
		cmocka_unit_test(test_sack_blocks),
		cmocka_unit_test(test_forty_nops),
		cmocka_unit_test(test_duplicate_option_last_wins),
		cmocka_unit_test(test_common_layouts),
		cmocka_unit_test(test_build_options_from_scratch),
		cmocka_unit_test(test_build_options_limits),
		cmocka_unit_test(test_build_segment),
		cmocka_unit_test(test_build_in_place),
		cmocka_unit_test(test_finish_in_place),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_random_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
