/*
 * IPv4 host input through tern_stack_input: every malformed datagram is dropped
 * with its own counter (and Linux's MIB counters where Linux has them), nothing is
 * sent back, and no other counter moves; echo requests are answered byte-exactly;
 * TCP segments for a port with no socket get Linux's reset (spec §7.1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tern/tern.h"

#define HOST_A 0xc0a80001u   /* 192.168.0.1: the stack */
#define PEER   0xc0000201u   /* 192.0.2.1: the remote peer */

struct capture {
	int count;
	size_t len[8];
	uint8_t pkt[8][2048];
};

static void capture_emit(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	struct capture *c = ctx;
	(void)now;
	assert_true(c->count < 8);
	assert_true(len <= sizeof(c->pkt[0]));
	memcpy(c->pkt[c->count], pkt, len);
	c->len[c->count++] = len;
}

struct fixture {
	struct tern_stack *st;
	struct capture cap;
	uint64_t before[TERN_CTR_COUNT];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct tern_stack_config cfg;

	tern_stack_config_init(&cfg);
	cfg.addr = tern_addr_v4(192, 168, 0, 1);
	cfg.emit = capture_emit;
	cfg.emit_ctx = &f->cap;
	assert_int_equal(tern_stack_create(&cfg, &f->st), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	tern_stack_destroy(f->st);
	free(f);
	return 0;
}

/* Feeds `len` bytes from a buffer of exactly that size (so ASan sees any overrun). */
static void feed(struct fixture *f, const uint8_t *pkt, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, pkt, len);
	tern_stack_counters(f->st, f->before);
	tern_stack_input(f->st, 1000, copy, len);
	free(copy);
}

/* Asserts that the named counters rose by exactly one and nothing else moved. */
static void expect_counters(struct fixture *f, const char *const *names)
{
	uint64_t after[TERN_CTR_COUNT];
	int expected[TERN_CTR_COUNT] = { 0 };

	tern_stack_counters(f->st, after);
	for (; *names; names++) {
		int id = tern_counter_lookup(*names);
		if (id < 0)
			fail_msg("no counter named %s", *names);
		expected[id] = 1;
	}
	for (int i = 0; i < TERN_CTR_COUNT; i++)
		if (after[i] - f->before[i] != (uint64_t)expected[i])
			fail_msg("%s moved by %llu, expected %d", tern_counter_name((enum tern_counter)i),
				 (unsigned long long)(after[i] - f->before[i]), expected[i]);
}

#define EXPECT(f, ...) expect_counters((f), (const char *const[]){ __VA_ARGS__, NULL })

/* ------------------------------------------------------------- packet builders */

static void fix_ip_csum(uint8_t *pkt)
{
	size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
	pkt[10] = pkt[11] = 0;
	uint16_t c = tern_csum_fold(tern_csum_add(0, pkt, ihl));
	pkt[10] = (uint8_t)(c >> 8);
	pkt[11] = (uint8_t)c;
}

/* An echo request from PEER to `dst`, 56 data bytes; returns its length. */
static size_t build_echo(uint8_t *buf, uint32_t src, uint32_t dst, uint8_t tos)
{
	uint8_t data[56];
	for (int i = 0; i < 56; i++)
		data[i] = (uint8_t)(0xa0 + i);
	struct tern_icmp req = { .type = TERN_ICMP_ECHO, .id = 0x1234, .seq = 7, .data = data, .data_len = 56 };
	size_t n = tern_icmp_build_echo(buf + 20, 2000, &req);
	struct tern_ipv4 ip = { .tos = tos, .ttl = 61, .proto = TERN_IPPROTO_ICMP, .id = 0x4242, .src = src, .dst = dst };
	assert_int_equal(tern_ipv4_build(buf, 20, &ip, (uint16_t)n), 20);
	return 20 + n;
}

/* A TCP segment from PEER:40000 to the stack's port 8080 with the given options
 * bytes (already padded) and payload length. */
static size_t build_tcp(uint8_t *buf, uint8_t flags, uint32_t seq, uint32_t ack, const uint8_t *opts,
			size_t optlen, size_t paylen)
{
	uint8_t *t = buf + 20;
	memset(t, 0, 20 + optlen + paylen);
	t[0] = 40000 >> 8; t[1] = 40000 & 0xff;
	t[2] = 8080 >> 8;  t[3] = 8080 & 0xff;
	t[4] = (uint8_t)(seq >> 24); t[5] = (uint8_t)(seq >> 16); t[6] = (uint8_t)(seq >> 8); t[7] = (uint8_t)seq;
	t[8] = (uint8_t)(ack >> 24); t[9] = (uint8_t)(ack >> 16); t[10] = (uint8_t)(ack >> 8); t[11] = (uint8_t)ack;
	t[12] = (uint8_t)(((20 + optlen) / 4) << 4);
	t[13] = flags;
	t[14] = 0xff; t[15] = 0xff;
	if (optlen)
		memcpy(t + 20, opts, optlen);
	size_t tcplen = 20 + optlen + paylen;
	uint16_t c = tern_csum_fold(tern_csum_add(tern_csum_pseudo_v4(PEER, HOST_A, 6, (uint16_t)tcplen), t, tcplen));
	t[16] = (uint8_t)(c >> 8);
	t[17] = (uint8_t)c;
	struct tern_ipv4 ip = { .ttl = 64, .proto = TERN_IPPROTO_TCP, .frag = TERN_IP_DF, .src = PEER, .dst = HOST_A };
	assert_int_equal(tern_ipv4_build(buf, 20, &ip, (uint16_t)tcplen), 20);
	return 20 + tcplen;
}

/* Recomputes the TCP checksum after a test edits the header. */
static void fix_tcp_csum(uint8_t *pkt, size_t len)
{
	uint8_t *t = pkt + 20;
	size_t tcplen = len - 20;
	t[16] = t[17] = 0;
	uint16_t c = tern_csum_fold(tern_csum_add(tern_csum_pseudo_v4(PEER, HOST_A, 6, (uint16_t)tcplen), t, tcplen));
	t[16] = (uint8_t)(c >> 8);
	t[17] = (uint8_t)c;
}

/* ------------------------------------------------------------- IP malformed */

static void ip_too_short(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[128];
	build_echo(pkt, PEER, HOST_A, 0);

	for (size_t len = 0; len < 20; len++) {
		feed(f, pkt, len);
		EXPECT(f, "IpInReceives", "IpInHdrErrors", "TernIpTooShort");
	}
	assert_int_equal(f->cap.count, 0);
}

static void ip_bad_version(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[128];
	size_t n = build_echo(pkt, PEER, HOST_A, 0);

	pkt[0] = 0x65; /* IPv6 version with IHL 5 */
	fix_ip_csum(pkt);
	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpInHdrErrors", "TernIpBadVersion");
	assert_int_equal(f->cap.count, 0);
}

static void ip_ihl_below_5(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[128];
	size_t n = build_echo(pkt, PEER, HOST_A, 0);

	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		pkt[0] = (uint8_t)(0x40 | ihl);
		feed(f, pkt, n);
		EXPECT(f, "IpInReceives", "IpInHdrErrors", "TernIpBadIhl");
	}
	assert_int_equal(f->cap.count, 0);
}

static void ip_ihl_past_packet(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[128];
	build_echo(pkt, PEER, HOST_A, 0);

	/* IHL 15 (60 bytes) in a 40-byte packet. */
	pkt[0] = 0x4f;
	pkt[2] = 0; pkt[3] = 40;
	feed(f, pkt, 40);
	EXPECT(f, "IpInReceives", "IpInHdrErrors", "TernIpBadIhl");
	assert_int_equal(f->cap.count, 0);
}

static void ip_totlen_longer_than_buffer(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[128];
	size_t n = build_echo(pkt, PEER, HOST_A, 0);

	/* Total length says 84 bytes; 83 arrive. */
	feed(f, pkt, n - 1);
	EXPECT(f, "IpInReceives", "IpExtInTruncatedPkts", "TernIpTotLenTooLong");
	assert_int_equal(f->cap.count, 0);
}

static void ip_totlen_shorter_than_header(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[128];
	size_t n = build_echo(pkt, PEER, HOST_A, 0);

	pkt[2] = 0; pkt[3] = 19;
	fix_ip_csum(pkt);
	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpInHdrErrors", "TernIpTotLenTooShort");
	assert_int_equal(f->cap.count, 0);
}

static void ip_totlen_shorter_than_buffer(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[128];
	size_t n = build_echo(pkt, PEER, HOST_A, 0);

	/* Four trailing bytes after the datagram. */
	memset(pkt + n, 0xee, 4);
	feed(f, pkt, n + 4);
	EXPECT(f, "IpInReceives", "IpInHdrErrors", "TernIpTotLenBelowBuf");
	assert_int_equal(f->cap.count, 0);
}

static void ip_bad_checksum(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[128];
	size_t n = build_echo(pkt, PEER, HOST_A, 0);

	pkt[11] ^= 0x01;
	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpInHdrErrors", "IpExtInCsumErrors", "TernIpBadChecksum");
	assert_int_equal(f->cap.count, 0);
}

static void ip_fragments(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[128];
	size_t n = build_echo(pkt, PEER, HOST_A, 0);

	pkt[6] = 0x20; pkt[7] = 0x00; /* MF, offset 0: a first fragment */
	fix_ip_csum(pkt);
	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpReasmReqds", "IpReasmFails", "TernIpFragment");

	pkt[6] = 0x00; pkt[7] = 0x10; /* offset 16 (128 bytes), no MF: a last fragment */
	fix_ip_csum(pkt);
	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpReasmReqds", "IpReasmFails", "TernIpFragment");
	assert_int_equal(f->cap.count, 0);

	/* DF alone is no fragment: the request is answered. */
	pkt[6] = 0x40; pkt[7] = 0x00;
	fix_ip_csum(pkt);
	feed(f, pkt, n);
	assert_int_equal(f->cap.count, 1);
}

static void ip_martian_sources(void **state)
{
	struct fixture *f = *state;
	static const uint32_t martians[] = { 0x00000000u, 0x00010203u, 0xffffffffu, 0xe0000001u,
					     0xef000001u, 0x7f000001u };
	uint8_t pkt[128];

	for (size_t i = 0; i < sizeof(martians) / sizeof(martians[0]); i++) {
		size_t n = build_echo(pkt, martians[i], HOST_A, 0);
		feed(f, pkt, n);
		EXPECT(f, "IpInReceives", "TernIpBadSource");
	}
	/* The host's own addresses, the primary and an added one, coming from the
	 * wire (accept_local=0): a forged "land" datagram is not answered. */
	struct tern_addr extra = tern_addr_v4(10, 9, 8, 7);
	assert_int_equal(tern_stack_add_addr(f->st, &extra), 0);
	const uint32_t own[] = { HOST_A, extra.u.v4 };
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		size_t n = build_echo(pkt, own[i], HOST_A, 0);
		feed(f, pkt, n);
		EXPECT(f, "IpInReceives", "TernIpBadSource");
	}
	assert_int_equal(f->cap.count, 0);
}

static void ip_not_for_us(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[128];
	size_t n = build_echo(pkt, PEER, 0xc0a80002u, 0);

	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpInAddrErrors", "TernIpNotForUs");
	assert_int_equal(f->cap.count, 0);

	/* An address added later is ours. */
	struct tern_addr second = tern_addr_v4(192, 168, 0, 2);
	assert_int_equal(tern_stack_add_addr(f->st, &second), 0);
	assert_int_equal(tern_stack_add_addr(f->st, &second), -TERN_EEXIST);
	feed(f, pkt, n);
	assert_int_equal(f->cap.count, 1);
}

static void ip_unknown_protocol(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[128];
	size_t n = build_echo(pkt, PEER, HOST_A, 0);

	pkt[9] = TERN_IPPROTO_UDP;
	fix_ip_csum(pkt);
	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpInUnknownProtos", "TernIpUnknownProto");
	pkt[9] = 132; /* SCTP */
	fix_ip_csum(pkt);
	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpInUnknownProtos", "TernIpUnknownProto");
	assert_int_equal(f->cap.count, 0);
}

/* ------------------------------------------------------------- ICMP */

static void icmp_echo_answered_exactly(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[128];
	size_t n = build_echo(pkt, PEER, HOST_A, 0x10);

	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpInDelivers", "IcmpInMsgs", "IcmpInEchos", "IcmpOutMsgs",
	       "IcmpOutEchoReps", "IpOutRequests");
	assert_int_equal(f->cap.count, 1);
	assert_int_equal(f->cap.len[0], n);

	const uint8_t *r = f->cap.pkt[0];
	struct tern_ipv4 ip;
	struct tern_icmp rep;
	assert_int_equal(tern_ipv4_parse(r, n, &ip), TERN_WIRE_OK);
	assert_int_equal(ip.src, HOST_A);
	assert_int_equal(ip.dst, PEER);
	assert_int_equal(ip.ttl, 64);
	assert_int_equal(ip.tos, 0x10);
	assert_int_equal(ip.frag, 0);   /* no DF on ICMP replies, as Linux */
	assert_int_equal(ip.proto, TERN_IPPROTO_ICMP);
	assert_int_equal(tern_icmp_parse(ip.payload, ip.payload_len, &rep), TERN_WIRE_OK);
	assert_int_equal(rep.type, TERN_ICMP_ECHOREPLY);
	assert_int_equal(rep.code, 0);
	assert_int_equal(rep.id, 0x1234);
	assert_int_equal(rep.seq, 7);
	/* Everything after the ICMP header is the request's data, unchanged. */
	assert_memory_equal(r + 28, pkt + 28, 56);
}

static void icmp_malformed(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[128];
	size_t n = build_echo(pkt, PEER, HOST_A, 0);

	/* Checksum broken. */
	pkt[22] ^= 0xff;
	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpInDelivers", "IcmpInMsgs", "IcmpInErrors", "IcmpInCsumErrors",
	       "TernIcmpBadChecksum");

	/* Shorter than its 8-byte header (IP header fixed up to match). */
	n = build_echo(pkt, PEER, HOST_A, 0);
	pkt[2] = 0; pkt[3] = 24;
	fix_ip_csum(pkt);
	feed(f, pkt, 24);
	EXPECT(f, "IpInReceives", "IpInDelivers", "IcmpInMsgs", "IcmpInErrors", "TernIcmpTooShort");
	assert_int_equal(f->cap.count, 0);
}

static void icmp_other_types_counted(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[128];
	size_t n = build_echo(pkt, PEER, HOST_A, 0);

	/* Turn the request into a timestamp request (type 13): not acted on. */
	pkt[20] = 13;
	pkt[22] = pkt[23] = 0;
	uint16_t c = tern_csum_fold(tern_csum_add(0, pkt + 20, n - 20));
	pkt[22] = (uint8_t)(c >> 8);
	pkt[23] = (uint8_t)c;
	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpInDelivers", "IcmpInMsgs", "TernIcmpIgnoredType");
	assert_int_equal(f->cap.count, 0);
}

struct reply_log {
	int n;
	uint16_t id, seq;
	size_t len;
	uint32_t from;
};

static void on_reply(void *ctx, tern_time now, const struct tern_addr *from, uint16_t id, uint16_t seq,
		     size_t len)
{
	struct reply_log *l = ctx;
	(void)now;
	l->n++;
	l->id = id;
	l->seq = seq;
	l->len = len;
	l->from = from->u.v4;
}

/* One stack pings another through a direct hand-off of packets. */
static void ping_between_two_stacks(void **state)
{
	(void)state;
	struct capture ca = { 0 }, cb = { 0 };
	struct reply_log log = { 0 };
	struct tern_stack *a, *b;
	struct tern_stack_config cfg;

	tern_stack_config_init(&cfg);
	cfg.addr = tern_addr_v4(10, 0, 0, 1);
	cfg.emit = capture_emit;
	cfg.emit_ctx = &ca;
	cfg.echo_reply = on_reply;
	cfg.echo_reply_ctx = &log;
	assert_int_equal(tern_stack_create(&cfg, &a), 0);
	cfg.addr = tern_addr_v4(10, 0, 0, 2);
	cfg.emit_ctx = &cb;
	cfg.echo_reply = NULL;
	assert_int_equal(tern_stack_create(&cfg, &b), 0);

	struct tern_addr to = tern_addr_v4(10, 0, 0, 2);
	assert_int_equal(tern_stack_ping(a, 5, &to, 99, 3, 100), 0);
	assert_int_equal(ca.count, 1);
	assert_int_equal(ca.len[0], 20 + 8 + 100);
	tern_stack_input(b, 10, ca.pkt[0], ca.len[0]);
	assert_int_equal(cb.count, 1);
	tern_stack_input(a, 15, cb.pkt[0], cb.len[0]);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.id, 99);
	assert_int_equal(log.seq, 3);
	assert_int_equal(log.len, 100);
	assert_int_equal(log.from, 0x0a000002u);
	assert_int_equal(tern_stack_counter(a, TERN_CTR_IcmpOutEchos), 1);
	assert_int_equal(tern_stack_counter(a, TERN_CTR_IcmpInEchoReps), 1);
	assert_int_equal(tern_stack_counter(b, TERN_CTR_IcmpInEchos), 1);

	/* Bad arguments are refused, not sent. */
	struct tern_addr v6 = { .family = TERN_AF_INET6 };
	assert_int_equal(tern_stack_ping(a, 20, &v6, 1, 1, 10), -TERN_EINVAL);
	assert_int_equal(tern_stack_ping(a, 20, &to, 1, 1, 70000), -TERN_EINVAL);
	assert_int_equal(ca.count, 1);
	tern_stack_destroy(a);
	tern_stack_destroy(b);
}

/* ------------------------------------------------------------- TCP malformed */

static const uint8_t linux_syn_opts[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 7 };

static void tcp_malformed(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[256];
	size_t n;

	/* Shorter than a TCP header: a 12-byte IP payload. */
	n = build_tcp(pkt, TERN_TCP_SYN, 1, 0, NULL, 0, 0);
	pkt[2] = 0; pkt[3] = 32;
	fix_ip_csum(pkt);
	feed(f, pkt, 32);
	EXPECT(f, "IpInReceives", "IpInDelivers", "TcpInSegs", "TernTcpTooShort");

	/* Bad checksum. */
	n = build_tcp(pkt, TERN_TCP_SYN, 1, 0, linux_syn_opts, 20, 0);
	pkt[37] ^= 0x5a;
	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpInDelivers", "TcpInSegs", "TcpInErrs", "TcpInCsumErrors", "TernTcpBadChecksum");

	/* Data offset below 5 (checksum correct for the edited header). */
	for (uint8_t doff = 0; doff < 5; doff++) {
		n = build_tcp(pkt, TERN_TCP_SYN, 1, 0, NULL, 0, 0);
		pkt[32] = (uint8_t)(doff << 4);
		fix_tcp_csum(pkt, n);
		feed(f, pkt, n);
		EXPECT(f, "IpInReceives", "IpInDelivers", "TcpInSegs", "TcpInErrs", "TernTcpBadDataOffset");
	}

	/* Data offset 15 (60 bytes) in a 40-byte segment. */
	n = build_tcp(pkt, TERN_TCP_SYN, 1, 0, linux_syn_opts, 20, 0);
	pkt[32] = 0xf0;
	fix_tcp_csum(pkt, n);
	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpInDelivers", "TcpInSegs", "TernTcpDataOffsetPastEnd");

	/* An option with length 0, then length 1. */
	for (uint8_t bad = 0; bad < 2; bad++) {
		uint8_t opts[4] = { 2, bad, 0x05, 0xb4 };
		n = build_tcp(pkt, TERN_TCP_SYN, 1, 0, opts, 4, 0);
		feed(f, pkt, n);
		EXPECT(f, "IpInReceives", "IpInDelivers", "TcpInSegs", "TernTcpBadOptionLength");
	}

	/* An option running past the header: timestamps (10 bytes) in 8. */
	uint8_t past[8] = { 1, 1, 8, 10, 0, 0, 0, 1 };
	n = build_tcp(pkt, TERN_TCP_SYN, 1, 0, past, 8, 0);
	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpInDelivers", "TcpInSegs", "TernTcpOptionPastHeader");

	/* Malformed segments are never answered, not even with a reset. */
	assert_int_equal(f->cap.count, 0);
}

/* ------------------------------------------------------------- closed port */

static void parse_reply(struct fixture *f, int i, struct tern_ipv4 *ip, struct tern_tcp *seg)
{
	assert_true(i < f->cap.count);
	assert_int_equal(tern_ipv4_parse(f->cap.pkt[i], f->cap.len[i], ip), TERN_WIRE_OK);
	assert_int_equal(tern_tcp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, true, seg), TERN_WIRE_OK);
}

/* Spec §7.1: a SYN to a closed port gets RST|ACK, seq 0, ack = SYN's seq + 1. */
static void closed_port_syn_gets_rst_ack(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[256];
	struct tern_ipv4 ip;
	struct tern_tcp rst;
	char line[128];

	/* Near the top of sequence space: ack wraps to 0. */
	size_t n = build_tcp(pkt, TERN_TCP_SYN, 0xffffffffu, 0, linux_syn_opts, 20, 0);
	pkt[1] = 0x12; /* TOS 0x10 plus ECN bits, which the reset must not echo */
	fix_ip_csum(pkt);
	feed(f, pkt, n);
	EXPECT(f, "IpInReceives", "IpInDelivers", "TcpInSegs", "TernTcpNoListener", "TcpOutSegs", "TcpOutRsts",
	       "IpOutRequests");
	parse_reply(f, 0, &ip, &rst);
	assert_int_equal(f->cap.len[0], 40);
	assert_int_equal(ip.src, HOST_A);
	assert_int_equal(ip.dst, PEER);
	assert_int_equal(ip.ttl, 64);
	assert_int_equal(ip.tos, 0x10);
	assert_int_equal(ip.frag, TERN_IP_DF);
	assert_int_equal(ip.id, 0);
	assert_int_equal(rst.sport, 8080);
	assert_int_equal(rst.dport, 40000);
	tern_tcp_format(line, sizeof(line), &rst, NULL);
	assert_string_equal(line, "R. 0:0(0) ack 0 win 0");
}

/* A segment with ACK gets a bare RST whose seq is that ACK; SYN, FIN and data all
 * count toward the ack of an RST|ACK; a reset is never answered. */
static void closed_port_reset_forms(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[256];
	struct tern_ipv4 ip;
	struct tern_tcp rst;
	char line[128];
	size_t n;

	n = build_tcp(pkt, TERN_TCP_ACK | TERN_TCP_PSH, 1000, 0xdeadbeefu, NULL, 0, 10);
	feed(f, pkt, n);
	parse_reply(f, 0, &ip, &rst);
	tern_tcp_format(line, sizeof(line), &rst, NULL);
	assert_string_equal(line, "R 3735928559:3735928559(0) win 0");

	n = build_tcp(pkt, TERN_TCP_SYN | TERN_TCP_FIN, 5000, 0, NULL, 0, 7);
	feed(f, pkt, n);
	parse_reply(f, 1, &ip, &rst);
	tern_tcp_format(line, sizeof(line), &rst, NULL);
	assert_string_equal(line, "R. 0:0(0) ack 5009 win 0");

	n = build_tcp(pkt, TERN_TCP_RST, 1, 0, NULL, 0, 0);
	feed(f, pkt, n);
	n = build_tcp(pkt, TERN_TCP_RST | TERN_TCP_ACK, 1, 1, NULL, 0, 0);
	feed(f, pkt, n);
	assert_int_equal(f->cap.count, 2);
	assert_int_equal(tern_stack_counter(f->st, TERN_CTR_TcpOutRsts), 2);
}

/* ------------------------------------------------------------- robustness */

/* Random bytes and every truncation of valid datagrams never crash the stack, and
 * every datagram is accounted for by exactly one verdict counter. */
static void garbage_never_crashes(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[256];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (int round = 0; round < 20000; round++) {
		size_t n;
		if (round % 3 == 0) {
			n = build_tcp(pkt, TERN_TCP_SYN, (uint32_t)round, 0, linux_syn_opts, 20, (size_t)(round % 50));
		} else {
			n = build_echo(pkt, PEER, HOST_A, 0);
		}
		/* Flip a few random bytes, then cut at a random length. */
		for (int k = 0; k < 3; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			pkt[x % n] ^= (uint8_t)(x >> 32);
		}
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		feed(f, pkt, (size_t)(x % (n + 1)));
		f->cap.count = 0;
	}
	assert_int_equal(tern_stack_counter(f->st, TERN_CTR_IpInReceives), 20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(ip_too_short, setup, teardown),
		cmocka_unit_test_setup_teardown(ip_bad_version, setup, teardown),
		cmocka_unit_test_setup_teardown(ip_ihl_below_5, setup, teardown),
		cmocka_unit_test_setup_teardown(ip_ihl_past_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(ip_totlen_longer_than_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(ip_totlen_shorter_than_header, setup, teardown),
		cmocka_unit_test_setup_teardown(ip_totlen_shorter_than_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(ip_bad_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(ip_fragments, setup, teardown),
		cmocka_unit_test_setup_teardown(ip_martian_sources, setup, teardown),
		cmocka_unit_test_setup_teardown(ip_not_for_us, setup, teardown),
		cmocka_unit_test_setup_teardown(ip_unknown_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(icmp_echo_answered_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(icmp_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(icmp_other_types_counted, setup, teardown),
		cmocka_unit_test(ping_between_two_stacks),
		cmocka_unit_test_setup_teardown(tcp_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(closed_port_syn_gets_rst_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(closed_port_reset_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(garbage_never_crashes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
