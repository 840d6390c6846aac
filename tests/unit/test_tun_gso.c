/*
 * test_tun_gso.c: the TUN driver's offload arithmetic (src/link/tun_gso.c).
 *
 * In: a TSO packet as the kernel hands it (pseudo-header sum in the checksum
 * field, NEEDS_CSUM) is cut into segments that each pass the wire parsers with
 * their checksums (asked for complete), with the sequence numbers, IP IDs,
 * lengths, payload slices and flags (FIN/PSH last, CWR first) the kernel's own
 * segmentation gives; a small gso_size (below the header length) works too; left
 * partial (as the driver asks), each segment's field holds its own pseudo-header
 * sum and the segment is marked trusted; a GSO packet not marked NEEDS_CSUM gets
 * full checksums and no trust; a checksum left to the device is completed on
 * request to what tern_tcp_build computes; every malformed vnet header is refused
 * with its reason and nothing handed on. The vnet header for a lone segment is
 * NEEDS_CSUM for TCP only; a partial checksum finished for a capture is the
 * complete one.
 *
 * Out: runs of segments as the stack emits them are found exactly, each rule that
 * ends a run is checked by breaking it, and a run glued into a TSO packet and cut
 * again comes back byte for byte: the two directions are inverses. Random headers
 * over random bytes never crash (the sanitizer build runs this too).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/util.h"
#include "link/tun_gso.h"
#include "tern/wire.h"

#define SRC 0xc0000201u /* 192.0.2.1 */
#define DST 0xc0000202u /* 192.0.2.2 */
#define MSS 1448

/* ------------------------------------------------------------ building segments */

struct segspec {
	uint32_t seq, ack;
	uint16_t id, win;
	uint8_t flags;
	uint32_t tsval;        /* 0: no options */
	uint16_t sport;
	size_t plen;
	uint8_t fill;          /* payload byte k is fill + k */
};

static struct segspec spec(uint32_t seq, uint16_t id, size_t plen)
{
	return (struct segspec){ .seq = seq, .ack = 777, .id = id, .win = 501, .flags = TERN_TCP_ACK,
				 .tsval = 1000, .sport = 80, .plen = plen, .fill = (uint8_t)seq };
}

/* One TCP/IPv4 datagram with correct checksums; returns its length. */
static size_t build(uint8_t *buf, size_t cap, const struct segspec *s)
{
	uint8_t payload[TERN_GSO_MAX_DGRAM];
	for (size_t k = 0; k < s->plen; k++)
		payload[k] = (uint8_t)(s->fill + k);
	struct tern_tcp t = { .sport = s->sport, .dport = 40000, .seq = s->seq, .ack = s->ack,
			      .flags = s->flags, .win = s->win, .payload = payload,
			      .payload_len = (uint32_t)s->plen };
	if (s->tsval) {
		t.opt.present = TERN_TCPOPT_HAS_TS;
		t.opt.ts_val = s->tsval;
		t.opt.ts_ecr = 99;
		t.opt.count = 3;
		t.opt.kinds[0] = t.opt.kinds[1] = TERN_TCPOPT_NOP;
		t.opt.kinds[2] = TERN_TCPOPT_TS;
		t.opt.lens[0] = t.opt.lens[1] = 1;
		t.opt.lens[2] = 10;
	}
	size_t tl = tern_tcp_build(buf + TERN_IPV4_HDR_LEN, cap - TERN_IPV4_HDR_LEN, &t, SRC, DST);
	assert_true(tl > 0);
	struct tern_ipv4 ip = { .ttl = 64, .proto = TERN_IPPROTO_TCP, .id = s->id, .frag = TERN_IP_DF,
				.src = SRC, .dst = DST };
	assert_int_equal(tern_ipv4_build(buf, cap, &ip, (uint16_t)tl), TERN_IPV4_HDR_LEN);
	return TERN_IPV4_HDR_LEN + tl;
}

/* Parses a datagram fully, checksums included; fails the test if it does not. */
static void parse(const uint8_t *p, size_t len, struct tern_ipv4 *ip, struct tern_tcp *t)
{
	assert_int_equal(tern_ipv4_parse(p, len, ip), TERN_WIRE_OK);
	assert_int_equal(tern_tcp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, true, t),
			 TERN_WIRE_OK);
}

/* ------------------------------------------------------------ collecting segments */

#define MAX_SEGS 128

struct got {
	int n;
	uint8_t *seg[MAX_SEGS];
	size_t len[MAX_SEGS];
	bool ok[MAX_SEGS];
	uint16_t gso[MAX_SEGS];
};

static void collect(void *ctx, const uint8_t *pkt, size_t len, bool csum_ok, uint16_t gso_size)
{
	struct got *g = ctx;
	assert_true(g->n < MAX_SEGS);
	g->ok[g->n] = csum_ok;
	g->gso[g->n] = gso_size;
	g->seg[g->n] = malloc(len);
	assert_non_null(g->seg[g->n]);
	memcpy(g->seg[g->n], pkt, len);
	g->len[g->n++] = len;
}

static void got_free(struct got *g)
{
	for (int i = 0; i < g->n; i++)
		free(g->seg[i]);
	g->n = 0;
}

/* A TSO packet as the kernel hands it: one datagram with `plen` bytes of payload,
 * the TCP checksum field holding the pseudo-header sum, and its vnet header. */
static size_t kernel_tso(uint8_t *buf, struct segspec s, uint16_t gso_size, struct tern_vnet_hdr *vh)
{
	size_t len = build(buf, TERN_GSO_MAX_DGRAM, &s);
	size_t iphl = TERN_IPV4_HDR_LEN;
	uint32_t ps = tern_csum_pseudo_v4(SRC, DST, TERN_IPPROTO_TCP, (uint16_t)(len - iphl));
	tern_put16(buf + iphl + 16, (uint16_t)~tern_csum_fold(ps));
	*vh = (struct tern_vnet_hdr){ .flags = TERN_VNET_F_NEEDS_CSUM, .gso_type = TERN_VNET_GSO_TCPV4,
				      .hdr_len = (uint16_t)(len - s.plen), .gso_size = gso_size,
				      .csum_start = (uint16_t)iphl, .csum_offset = 16 };
	return len;
}

/* ------------------------------------------------------------ the vnet header */

static void test_vnet_header_little_endian(void **state)
{
	(void)state;
	struct tern_vnet_hdr h = { .flags = 1, .gso_type = 0x81, .hdr_len = 0x1234,
				   .gso_size = 0x05a8, .csum_start = 20, .csum_offset = 16 };
	uint8_t b[TERN_VNET_HDR_LEN];
	tern__vnet_hdr_put(b, &h);
	const uint8_t want[] = { 1, 0x81, 0x34, 0x12, 0xa8, 0x05, 20, 0, 16, 0 };
	assert_memory_equal(b, want, sizeof(want));
	struct tern_vnet_hdr back;
	tern__vnet_hdr_get(b, &back);
	assert_memory_equal(&back, &h, sizeof(h));
}

/* ------------------------------------------------------------ in */

static void test_split_like_the_kernel(void **state)
{
	(void)state;
	static uint8_t buf[TERN_GSO_MAX_DGRAM];
	struct tern_vnet_hdr vh;
	struct segspec s = spec(0xfffff000u, 0xfffe, 3 * MSS + 100);   /* seq and ID wrap */
	s.flags = TERN_TCP_ACK | TERN_TCP_PSH | TERN_TCP_FIN | TERN_TCP_CWR | TERN_TCP_ECE;
	kernel_tso(buf, s, MSS, &vh);

	struct got g = { 0 };
	assert_int_equal(tern__gso_input(&vh, buf, TERN_IPV4_HDR_LEN + 32 + s.plen, TERN_GSO_IN_COMPLETE, collect, &g), 4);
	assert_int_equal(g.n, 4);
	for (int k = 0; k < 4; k++) {
		struct tern_ipv4 ip;
		struct tern_tcp t;
		size_t plen = k < 3 ? MSS : 100;
		assert_int_equal(g.len[k], TERN_IPV4_HDR_LEN + 32 + plen);
		parse(g.seg[k], g.len[k], &ip, &t);
		assert_int_equal(ip.id, (uint16_t)(0xfffe + k));
		assert_int_equal(ip.frag, TERN_IP_DF);
		assert_int_equal(t.seq, 0xfffff000u + (uint32_t)(k * MSS));
		assert_int_equal(t.ack, 777);
		assert_int_equal(t.win, 501);
		assert_int_equal(t.opt.ts_val, 1000);
		assert_int_equal(t.payload_len, plen);
		for (size_t i = 0; i < plen; i++)
			assert_int_equal(t.payload[i], (uint8_t)(s.fill + k * MSS + i));
		uint8_t want = TERN_TCP_ACK | TERN_TCP_ECE;
		if (k == 0)
			want |= TERN_TCP_CWR;
		if (k == 3)
			want |= TERN_TCP_PSH | TERN_TCP_FIN;
		assert_int_equal(t.flags, want);
	}
	got_free(&g);
}

static void test_split_small_gso_size(void **state)
{
	(void)state;
	static uint8_t buf[TERN_GSO_MAX_DGRAM];
	struct tern_vnet_hdr vh;
	struct segspec s = spec(5000, 7, 100);
	kernel_tso(buf, s, 8, &vh);   /* smaller than the 52 bytes of headers */

	struct got g = { 0 };
	assert_int_equal(tern__gso_input(&vh, buf, 52 + 100, TERN_GSO_IN_COMPLETE, collect, &g), 13);
	for (int k = 0; k < 13; k++) {
		struct tern_ipv4 ip;
		struct tern_tcp t;
		parse(g.seg[k], g.len[k], &ip, &t);
		assert_int_equal(t.seq, 5000 + 8 * k);
		assert_int_equal(t.payload_len, k < 12 ? 8 : 4);
		assert_int_equal(t.payload[0], (uint8_t)(s.fill + 8 * k));
		assert_int_equal(t.opt.ts_val, 1000);
	}
	got_free(&g);
}

/* TERN_GSO_IN_WHOLE (GRO): the packet goes on in one piece with its gso_size:
 * the kernel's headers with a right IP checksum, the payload untouched, the
 * partial TCP checksum left for a trusting stack or finished when asked; a packet
 * of one segment, or a SYN, is not treated as merged. */
static void test_whole_like_gro(void **state)
{
	(void)state;
	static uint8_t buf[TERN_GSO_MAX_DGRAM];
	struct tern_vnet_hdr vh;
	struct segspec s = spec(0xfffff000u, 0xfffe, 3 * MSS + 100);
	s.flags = TERN_TCP_ACK | TERN_TCP_PSH | TERN_TCP_FIN;
	size_t len = kernel_tso(buf, s, MSS, &vh);
	tern_put16(buf + 10, 0x1234);   /* a wrong IP header checksum is made right */

	struct got g = { 0 };
	assert_int_equal(tern__gso_input(&vh, buf, len, TERN_GSO_IN_WHOLE, collect, &g), 4);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.len[0], len);
	assert_true(g.ok[0]);
	assert_int_equal(g.gso[0], MSS);
	struct tern_ipv4 ip;
	struct tern_tcp t;
	assert_int_equal(tern_ipv4_parse(g.seg[0], g.len[0], &ip), TERN_WIRE_OK);
	assert_int_equal(tern_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &t), TERN_WIRE_OK);
	assert_int_equal(t.seq, 0xfffff000u);
	assert_int_equal(t.payload_len, 3 * MSS + 100);
	assert_int_equal(t.flags, TERN_TCP_ACK | TERN_TCP_PSH | TERN_TCP_FIN);
	for (size_t i = 0; i < t.payload_len; i++)
		assert_int_equal(t.payload[i], (uint8_t)(s.fill + i));
	got_free(&g);

	/* Completed, it passes a full check, and the ref datagram is identical. */
	len = kernel_tso(buf, s, MSS, &vh);
	assert_int_equal(tern__gso_input(&vh, buf, len, TERN_GSO_IN_WHOLE | TERN_GSO_IN_COMPLETE, collect, &g), 4);
	parse(g.seg[0], g.len[0], &ip, &t);
	static uint8_t ref[TERN_GSO_MAX_DGRAM];
	assert_int_equal(build(ref, sizeof(ref), &s), len);
	assert_memory_equal(g.seg[0], ref, len);
	got_free(&g);

	/* One segment's worth: as without GRO, gso_size 0. */
	struct segspec one = spec(1, 1, MSS);
	len = kernel_tso(buf, one, MSS, &vh);
	assert_int_equal(tern__gso_input(&vh, buf, len, TERN_GSO_IN_WHOLE, collect, &g), 1);
	assert_int_equal(g.gso[0], 0);
	got_free(&g);

	/* Refused as when cut: SYN in a GSO packet. */
	s.flags = TERN_TCP_SYN;
	len = kernel_tso(buf, s, MSS, &vh);
	assert_int_equal(tern__gso_input(&vh, buf, len, TERN_GSO_IN_WHOLE, collect, &g), -TERN_GSO_BAD_FLAGS);
	assert_int_equal(g.n, 0);
}

/* A GSO packet no bigger than one segment is handed on as one. */
static void test_split_single_segment(void **state)
{
	(void)state;
	static uint8_t buf[TERN_GSO_MAX_DGRAM];
	struct tern_vnet_hdr vh;
	struct segspec s = spec(1, 1, 500);
	kernel_tso(buf, s, MSS, &vh);
	struct got g = { 0 };
	assert_int_equal(tern__gso_input(&vh, buf, 52 + 500, TERN_GSO_IN_COMPLETE, collect, &g), 1);
	uint8_t ref[2048];
	size_t rl = build(ref, sizeof(ref), &s);
	assert_int_equal(g.len[0], rl);
	assert_memory_equal(g.seg[0], ref, rl);
	got_free(&g);
}

/* A GSO packet the kernel did not mark NEEDS_CSUM (it never does): full
 * checksums, for the stack to check. */
static void test_split_untrusted(void **state)
{
	(void)state;
	static uint8_t buf[TERN_GSO_MAX_DGRAM];
	struct tern_vnet_hdr vh;
	struct segspec s = spec(9, 9, 3000);
	kernel_tso(buf, s, MSS, &vh);
	vh.flags = 0;
	struct got g = { 0 };
	assert_int_equal(tern__gso_input(&vh, buf, 52 + 3000, 0, collect, &g), 3);
	for (int k = 0; k < 3; k++) {
		struct tern_ipv4 ip;
		struct tern_tcp t;
		parse(g.seg[k], g.len[k], &ip, &t);
		assert_false(g.ok[k]);
	}
	got_free(&g);
}

static void test_checksum_completed(void **state)
{
	(void)state;
	uint8_t buf[2048], ref[2048];
	struct segspec s = spec(42, 9, 333);
	size_t len = build(ref, sizeof(ref), &s);
	memcpy(buf, ref, len);
	uint32_t ps = tern_csum_pseudo_v4(SRC, DST, TERN_IPPROTO_TCP, (uint16_t)(len - 20));
	tern_put16(buf + 20 + 16, (uint16_t)~tern_csum_fold(ps));
	uint8_t partial[2048];
	memcpy(partial, buf, len);
	struct tern_vnet_hdr vh = { .flags = TERN_VNET_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 16 };
	struct got g = { 0 };
	/* Left as it is, and trusted. */
	assert_int_equal(tern__gso_input(&vh, buf, len, 0, collect, &g), 1);
	assert_memory_equal(g.seg[0], partial, len);
	assert_true(g.ok[0]);
	got_free(&g);
	/* Completed on request. */
	assert_int_equal(tern__gso_input(&vh, buf, len, TERN_GSO_IN_COMPLETE, collect, &g), 1);
	assert_memory_equal(g.seg[0], ref, len);
	assert_true(g.ok[0]);
	got_free(&g);

	/* Without NEEDS_CSUM nothing is touched, even a wrong checksum; DATA_VALID
	 * is trusted, no flag is not. */
	buf[30] ^= 0xff;
	vh = (struct tern_vnet_hdr){ .flags = TERN_VNET_F_DATA_VALID };
	assert_int_equal(tern__gso_input(&vh, buf, len, TERN_GSO_IN_COMPLETE, collect, &g), 1);
	assert_memory_equal(g.seg[0], buf, len);
	assert_true(g.ok[0]);
	got_free(&g);
	vh = (struct tern_vnet_hdr){ 0 };
	assert_int_equal(tern__gso_input(&vh, buf, len, 0, collect, &g), 1);
	assert_memory_equal(g.seg[0], buf, len);
	assert_false(g.ok[0]);
	got_free(&g);
}

static void expect_refused(struct tern_vnet_hdr vh, uint8_t *buf, size_t len, int why)
{
	struct got g = { 0 };
	assert_int_equal(tern__gso_input(&vh, buf, len, TERN_GSO_IN_COMPLETE, collect, &g), -why);
	assert_int_equal(tern__gso_input(&vh, buf, len, 0, collect, &g), -why);
	assert_int_equal(g.n, 0);
}

static void test_malformed_refused(void **state)
{
	(void)state;
	static uint8_t buf[TERN_GSO_MAX_DGRAM];
	struct tern_vnet_hdr vh, bad;
	struct segspec s = spec(1, 1, 4000);
	size_t len = kernel_tso(buf, s, MSS, &vh);

	bad = vh;
	bad.gso_type = 3;                      /* UDP (UFO) */
	expect_refused(bad, buf, len, TERN_GSO_BAD_TYPE);
	bad.gso_type = 4;                      /* TCPV6 */
	expect_refused(bad, buf, len, TERN_GSO_BAD_TYPE);
	bad.gso_type = 0x7f;
	expect_refused(bad, buf, len, TERN_GSO_BAD_TYPE);
	bad = vh;
	bad.gso_size = 0;
	expect_refused(bad, buf, len, TERN_GSO_BAD_SIZE);
	bad = vh;
	bad.hdr_len = (uint16_t)(len + 1);
	expect_refused(bad, buf, len, TERN_GSO_BAD_HDR_LEN);
	bad = vh;
	bad.csum_start = (uint16_t)(len - 1);
	expect_refused(bad, buf, len, TERN_GSO_BAD_CSUM);
	bad = vh;
	bad.csum_offset = 15;
	expect_refused(bad, buf, len, TERN_GSO_BAD_CSUM);
	/* The datagram itself: shorter than its IP total length, not TCP, a
	 * fragment, a data offset past the end, SYN or RST. */
	expect_refused(vh, buf, len - 1, TERN_GSO_BAD_PACKET);
	buf[9] = TERN_IPPROTO_UDP;
	expect_refused(vh, buf, len, TERN_GSO_BAD_PACKET);
	buf[9] = TERN_IPPROTO_TCP;
	buf[6] |= 0x20;                        /* MF */
	expect_refused(vh, buf, len, TERN_GSO_BAD_PACKET);
	buf[6] &= (uint8_t)~0x20;
	bad = vh;
	bad.hdr_len = 0;
	expect_refused(bad, buf, 40, TERN_GSO_BAD_PACKET);
	buf[33] |= TERN_TCP_SYN;
	expect_refused(vh, buf, len, TERN_GSO_BAD_FLAGS);
	buf[33] ^= TERN_TCP_SYN | TERN_TCP_RST;
	expect_refused(vh, buf, len, TERN_GSO_BAD_FLAGS);
	buf[33] &= (uint8_t)~TERN_TCP_RST;
	buf[0] = 0x65;                         /* IPv6 version nibble */
	expect_refused(vh, buf, len, TERN_GSO_BAD_PACKET);
}

/* ------------------------------------------------------------ out */

struct train {
	uint8_t mem[64][2048];
	struct tern_gso_dgram d[64];
	struct segspec s[64];
	size_t n;
};

/* n segments as the stack emits them: MSS each but a `last`-byte last one (0: all
 * MSS), consecutive IDs, PSH on the last. */
static void make_train(struct train *t, size_t n, size_t last)
{
	t->n = n;
	for (size_t i = 0; i < n; i++) {
		t->s[i] = spec(1000000u + (uint32_t)(i * MSS), (uint16_t)(65530 + i), MSS);
		if (i + 1 == n) {
			t->s[i].flags |= TERN_TCP_PSH;
			if (last)
				t->s[i].plen = last;
		}
	}
}

static void train_build(struct train *t)
{
	for (size_t i = 0; i < t->n; i++)
		t->d[i] = (struct tern_gso_dgram){ t->mem[i], build(t->mem[i], sizeof(t->mem[i]), &t->s[i]) };
}

/* Glues d[0..n) into one packet as the driver writes it, then cuts it as the
 * driver reads it: the segments must come back unchanged. */
static void round_trip(const struct tern_gso_dgram *d, size_t n)
{
	static uint8_t pkt[TERN_GSO_MAX_DGRAM];
	uint8_t hdr[TERN_GSO_MAX_HDRS];
	struct tern_vnet_hdr vh;
	size_t h = tern__gso_build(d, n, hdr, &vh);
	assert_int_equal(vh.gso_type, TERN_VNET_GSO_TCPV4);
	assert_int_equal(vh.flags, TERN_VNET_F_NEEDS_CSUM);
	assert_int_equal(vh.hdr_len, h);
	assert_int_equal(vh.gso_size, d[0].len - h);
	assert_int_equal(vh.csum_start, 20);
	assert_int_equal(vh.csum_offset, 16);
	memcpy(pkt, hdr, h);
	size_t len = h;
	for (size_t i = 0; i < n; i++) {
		memcpy(pkt + len, d[i].data + h, d[i].len - h);
		len += d[i].len - h;
	}
	assert_int_equal(tern_get16(pkt + 2), len);
	/* The IP header is complete; the TCP field holds the pseudo-header sum. */
	struct tern_ipv4 ip;
	assert_int_equal(tern_ipv4_parse(pkt, len, &ip), TERN_WIRE_OK);
	uint32_t ps = tern_csum_pseudo_v4(SRC, DST, TERN_IPPROTO_TCP, (uint16_t)(len - 20));
	assert_int_equal(tern_get16(pkt + 36), (uint16_t)~tern_csum_fold(ps));

	/* Cut with full checksums: the originals. */
	static uint8_t copy[TERN_GSO_MAX_DGRAM];
	memcpy(copy, pkt, len);
	struct got g = { 0 };
	assert_int_equal(tern__gso_input(&vh, pkt, len, TERN_GSO_IN_COMPLETE, collect, &g), (int)n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(g.len[i], d[i].len);
		assert_memory_equal(g.seg[i], d[i].data, d[i].len);
		assert_true(g.ok[i]);
	}
	got_free(&g);
	/* Cut as the driver does, checksums left partial: the originals but for the
	 * checksum field, which holds each segment's pseudo-header sum. */
	assert_int_equal(tern__gso_input(&vh, copy, len, 0, collect, &g), (int)n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(g.len[i], d[i].len);
		assert_memory_equal(g.seg[i], d[i].data, 36);
		assert_memory_equal(g.seg[i] + 38, d[i].data + 38, d[i].len - 38);
		uint32_t seg_ps = tern_csum_pseudo_v4(SRC, DST, TERN_IPPROTO_TCP, (uint16_t)(d[i].len - 20));
		assert_int_equal(tern_get16(g.seg[i] + 36), (uint16_t)~tern_csum_fold(seg_ps));
		assert_true(g.ok[i]);
		/* Finished (as for a capture), it is the original. */
		tern__gso_finish_csum(g.seg[i], g.len[i]);
		assert_memory_equal(g.seg[i], d[i].data, d[i].len);
	}
	got_free(&g);
}

static void test_run_found_and_round_trips(void **state)
{
	(void)state;
	static struct train t;
	make_train(&t, 10, 0);
	train_build(&t);
	assert_int_equal(tern__gso_run(t.d, t.n, TERN_GSO_MAX_DGRAM), 10);
	round_trip(t.d, t.n);
	/* With a short last segment. */
	make_train(&t, 5, 700);
	train_build(&t);
	assert_int_equal(tern__gso_run(t.d, t.n, TERN_GSO_MAX_DGRAM), 5);
	round_trip(t.d, t.n);
	/* Without options, and the largest packet there is: 40 + 45 x 1448 bytes
	 * fit in 65,535; a 46th segment does not. */
	make_train(&t, 50, 0);
	for (size_t i = 0; i < 50; i++)
		t.s[i].tsval = 0;
	train_build(&t);
	assert_int_equal(tern__gso_run(t.d, t.n, TERN_GSO_MAX_DGRAM), 45);
	round_trip(t.d, 45);
	assert_int_equal(tern__gso_run(t.d, t.n, 20000), 13);
	assert_int_equal(tern__gso_run(t.d + 45, 5, TERN_GSO_MAX_DGRAM), 5);
}

/* Each rule: the run ends before the segment that breaks it (or at the first). */
static void test_run_breakers(void **state)
{
	(void)state;
	static struct train t;
	struct {
		const char *what;
		size_t at;       /* which segment is changed */
		size_t want;     /* run length from 0 */
	} cases[] = {
		{ "seq gap", 3, 3 },   { "seq overlap", 3, 3 },  { "id skip", 2, 2 },
		{ "ack", 4, 4 },       { "window", 1, 1 },       { "tsval", 5, 5 },
		{ "no options", 2, 2 }, { "port", 3, 3 },        { "psh in the middle", 3, 4 },
		{ "short in the middle", 2, 3 }, { "longer", 2, 2 }, { "fin", 2, 2 },
		{ "pure ack", 2, 2 },  { "psh on the first", 0, 1 }, { "first short", 0, 1 },
		{ "ece", 1, 1 },       { "tos", 4, 4 },          { "ttl", 4, 4 },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		make_train(&t, 8, 0);
		struct segspec *s = &t.s[cases[c].at];
		switch (c) {
		case 0: s->seq += 1; break;
		case 1: s->seq -= 1; break;
		case 2: s->id += 1; break;
		case 3: s->ack += 1; break;
		case 4: s->win += 1; break;
		case 5: s->tsval += 1; break;
		case 6: s->tsval = 0; break;
		case 7: s->sport = 81; break;
		case 8: s->flags |= TERN_TCP_PSH; break;
		case 9: s->plen = 100; break;
		case 10: s->plen = MSS + 1; break;
		case 11: s->flags |= TERN_TCP_FIN; break;
		case 12: s->plen = 0; break;
		case 13: s->flags |= TERN_TCP_PSH; break;
		case 14: s->plen = 1000; break;
		case 15: s->flags |= TERN_TCP_ECE; break;
		default: break;
		}
		train_build(&t);
		if (c == 16)
			t.mem[cases[c].at][1] = 0x02;      /* ECT(0) */
		if (c == 17)
			t.mem[cases[c].at][8] = 63;
		/* Those two leave a stale IP checksum: the run test does not look at it. */
		size_t got = tern__gso_run(t.d, t.n, TERN_GSO_MAX_DGRAM);
		if (got != cases[c].want)
			fail_msg("%s: run of %zu, want %zu", cases[c].what, got, cases[c].want);
		if (got >= 2 && c != 16 && c != 17)
			round_trip(t.d, got);
	}
}

static void test_run_refuses_non_tcp(void **state)
{
	(void)state;
	static struct train t;
	make_train(&t, 4, 0);
	train_build(&t);
	t.mem[0][9] = TERN_IPPROTO_ICMP;
	assert_int_equal(tern__gso_run(t.d, t.n, TERN_GSO_MAX_DGRAM), 1);
	t.mem[0][9] = TERN_IPPROTO_TCP;
	t.mem[1][9] = TERN_IPPROTO_ICMP;
	assert_int_equal(tern__gso_run(t.d, t.n, TERN_GSO_MAX_DGRAM), 1);
	t.mem[1][9] = TERN_IPPROTO_TCP;
	t.d[2].len--;                          /* shorter than its total length */
	assert_int_equal(tern__gso_run(t.d, t.n, TERN_GSO_MAX_DGRAM), 2);
	assert_int_equal(tern__gso_run(t.d, 1, TERN_GSO_MAX_DGRAM), 1);
}

static void test_plain_header(void **state)
{
	(void)state;
	uint8_t buf[2048];
	struct tern_vnet_hdr vh;
	size_t len = build(buf, sizeof(buf), &(struct segspec){ .seq = 1, .flags = TERN_TCP_ACK, .plen = 10 });
	tern__gso_plain_hdr(buf, len, &vh);
	assert_int_equal(vh.flags, TERN_VNET_F_NEEDS_CSUM);
	assert_int_equal(vh.gso_type, TERN_VNET_GSO_NONE);
	assert_int_equal(vh.csum_start, 20);
	assert_int_equal(vh.csum_offset, 16);
	/* Not TCP, a fragment, too short: nothing to finish. */
	buf[9] = TERN_IPPROTO_ICMP;
	tern__gso_plain_hdr(buf, len, &vh);
	assert_int_equal(vh.flags, 0);
	buf[9] = TERN_IPPROTO_TCP;
	buf[7] = 1;
	tern__gso_plain_hdr(buf, len, &vh);
	assert_int_equal(vh.flags, 0);
	buf[7] = 0;
	tern__gso_plain_hdr(buf, 30, &vh);
	assert_int_equal(vh.flags, 0);
	struct tern_vnet_hdr zero = { 0 };
	assert_memory_equal(&vh, &zero, sizeof(vh));
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void count_only(void *ctx, const uint8_t *pkt, size_t len, bool csum_ok, uint16_t gso_size)
{
	(void)pkt;
	(void)csum_ok;
	(void)gso_size;
	*(size_t *)ctx += len;
}

/* Random vnet headers over random and mutated datagrams, in exactly sized heap
 * buffers: whatever comes back, nothing is read or written outside them. */
static void test_random_input_is_safe(void **state)
{
	(void)state;
	uint64_t r = 0x9e3779b97f4a7c15u;
	static uint8_t tmpl[TERN_GSO_MAX_DGRAM];
	struct tern_vnet_hdr vh0;
	size_t tlen = kernel_tso(tmpl, spec(1, 1, 6000), MSS, &vh0);
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = (size_t)(rng_next(&r) % (tlen + 1));
		uint8_t *p = malloc(len ? len : 1);
		assert_non_null(p);
		memcpy(p, tmpl, len);
		for (int m = (int)(rng_next(&r) % 4); m > 0 && len; m--)
			p[rng_next(&r) % len] = (uint8_t)rng_next(&r);
		if (len >= 4 && rng_next(&r) % 2)
			tern_put16(p + 2, (uint16_t)len);
		struct tern_vnet_hdr vh = vh0;
		uint64_t x = rng_next(&r);
		if (x & 1)
			vh.gso_size = (uint16_t)(rng_next(&r) % 3000);
		if (x & 2)
			vh.gso_type = (uint8_t)rng_next(&r);
		if (x & 4)
			vh.flags = (uint8_t)rng_next(&r);
		if (x & 8) {
			vh.csum_start = (uint16_t)(rng_next(&r) % (len + 2));
			vh.csum_offset = (uint16_t)(rng_next(&r) % 64);
		}
		if (x & 16)
			vh.hdr_len = (uint16_t)rng_next(&r);
		size_t seen = 0;
		unsigned mode = (x & 32 ? TERN_GSO_IN_COMPLETE : 0) | (x & 64 ? TERN_GSO_IN_WHOLE : 0);
		int n = tern__gso_input(&vh, p, len, mode, count_only, &seen);
		assert_true(n != 0);
		if (n < 0)
			assert_int_equal(seen, 0);
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vnet_header_little_endian),
		cmocka_unit_test(test_split_like_the_kernel),
		cmocka_unit_test(test_whole_like_gro),
		cmocka_unit_test(test_split_small_gso_size),
		cmocka_unit_test(test_split_single_segment),
		cmocka_unit_test(test_split_untrusted),
		cmocka_unit_test(test_checksum_completed),
		cmocka_unit_test(test_malformed_refused),
		cmocka_unit_test(test_run_found_and_round_trips),
		cmocka_unit_test(test_run_breakers),
		cmocka_unit_test(test_run_refuses_non_tcp),
		cmocka_unit_test(test_plain_header),
		cmocka_unit_test(test_random_input_is_safe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
