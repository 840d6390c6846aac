/*
 * tests/sim/test_gro_input.c: merged arrivals (TERN_INPUT_GSO), the way Linux's
 * receive path takes what GRO merged or what a virtio-net device with TSO receive
 * delivers (the TUN driver hands the kernel's TSO packets on this way).
 *
 * One stack, a listener, and a peer played by hand (MSS 1460, no other options):
 *  - a merged arrival of 4 x 700 bytes is measured by its segments: rcv_mss
 *    becomes 700 (tcp_measure_rcv_mss takes gso_size before skb->len), where the
 *    same bytes as one plain 2,800-byte segment set it to the full 1,460;
 *  - once quick-ACK mode is over and the window has stopped growing (buffer
 *    autotuning off: a growing window earns each arrival a quick ACK), each
 *    merged arrival of 4 full segments is ACKed at once, one ACK each (more than
 *    one segment's worth of new data, __tcp_ack_snd_check), while the same data
 *    as 4 plain segments is ACKed every second segment (spec §14.1): half as
 *    many ACKs on the wire;
 *  - while autotuning raises the window, a full plain segment that raises it is
 *    ACKed at once (tcp_grow_window's quick ACK), so most of them are;
 *  - every byte reaches the application in order either way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tern/diag.h"
#include "tern/socket.h"
#include "tern/stack.h"
#include "tern/sysctl.h"
#include "tern/wire.h"

#define PEER 0x0a000001u     /* 10.0.0.1 */
#define HOST 0x0a000002u     /* 10.0.0.2 */
#define PEER_PORT 40000
#define HOST_PORT 80
#define PEER_ISN 1000u
#define MSS 1460

/* What the stack sent: the last segment's ack and flags, and a count. */
struct out {
	unsigned segs, acks_only;
	uint32_t seq, ack;
	uint8_t flags;
};
static struct out out;

static void on_emit(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	(void)ctx, (void)now;
	struct tern_ipv4 ip;
	struct tern_tcp t;
	assert_int_equal(tern_ipv4_parse(pkt, len, &ip), TERN_WIRE_OK);
	assert_int_equal(tern_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &t), TERN_WIRE_OK);
	out.segs++;
	if (t.flags == TERN_TCP_ACK && t.payload_len == 0)
		out.acks_only++;
	out.seq = t.seq;
	out.ack = t.ack;
	out.flags = t.flags;
}

/* A segment from the peer with `len` payload bytes (byte k of the stream is k). */
static void peer_send(struct tern_stack *st, tern_time now, uint8_t flags, uint32_t seq, uint32_t ack,
		      uint32_t off, size_t len, uint16_t gso_size, bool with_mss)
{
	static uint8_t pkt[TERN_IPV4_HDR_LEN + 60 + 65535], data[65535];
	for (size_t k = 0; k < len; k++)
		data[k] = (uint8_t)(off + k);
	struct tern_tcp seg = { .sport = PEER_PORT, .dport = HOST_PORT, .seq = seq, .ack = ack,
				.flags = flags, .win = 65535, .payload = data, .payload_len = (uint32_t)len };
	if (with_mss) {
		seg.opt.present = TERN_TCPOPT_HAS_MSS;
		seg.opt.mss = MSS;
		seg.opt.count = 1;
		seg.opt.kinds[0] = TERN_TCPOPT_MSS;
		seg.opt.lens[0] = 4;
	}
	size_t tl = tern_tcp_build(pkt + TERN_IPV4_HDR_LEN, sizeof(pkt) - TERN_IPV4_HDR_LEN, &seg, PEER, HOST);
	assert_true(tl > 0);
	struct tern_ipv4 ip = { .ttl = 64, .proto = TERN_IPPROTO_TCP, .frag = TERN_IP_DF, .src = PEER, .dst = HOST };
	assert_int_equal(tern_ipv4_build(pkt, TERN_IPV4_HDR_LEN, &ip, (uint16_t)tl), TERN_IPV4_HDR_LEN);
	tern_stack_input_flags(st, now, pkt, TERN_IPV4_HDR_LEN + tl, TERN_INPUT_GSO(gso_size));
}

struct conn {
	struct tern_stack *st;
	int fd;
	uint32_t iss;          /* the stack's ISN */
	uint32_t nxt;          /* the peer's next sequence number */
	uint32_t off;          /* stream offset of nxt */
	tern_time now;
};

static void conn_open(struct conn *c, bool autotune)
{
	struct tern_stack_config cfg;
	tern_stack_config_init(&cfg);
	cfg.addr.family = TERN_AF_INET;
	cfg.addr.u.v4 = HOST;
	cfg.emit = on_emit;
	assert_int_equal(tern_stack_create(&cfg, &c->st), 0);
	if (!autotune)
		assert_int_equal(tern_sysctl_set(c->st, "net.ipv4.tcp_moderate_rcvbuf", "0"), 0);
	int l = tern_socket(c->st, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	struct tern_sockaddr sa = { .port = HOST_PORT };
	sa.addr.family = TERN_AF_INET;
	assert_int_equal(tern_bind(c->st, l, &sa), 0);
	assert_int_equal(tern_listen(c->st, l, 16), 0);

	out = (struct out){ 0 };
	c->now = 1000000;
	peer_send(c->st, c->now, TERN_TCP_SYN, PEER_ISN, 0, 0, 0, 0, true);
	assert_int_equal(out.flags, TERN_TCP_SYN | TERN_TCP_ACK);
	c->iss = out.seq;
	c->nxt = PEER_ISN + 1;
	c->off = 0;
	c->now += 1000000;
	peer_send(c->st, c->now, TERN_TCP_ACK, c->nxt, c->iss + 1, 0, 0, 0, false);
	c->fd = tern_accept(c->st, l, NULL, TERN_SOCK_NONBLOCK);
	assert_true(c->fd >= 0);
}

/* `n` payload bytes from the peer: one merged arrival (gso_size > 0) or one plain
 * segment; then the application reads and checks all it can. */
static void conn_data(struct conn *c, size_t n, uint16_t gso_size)
{
	peer_send(c->st, c->now, TERN_TCP_ACK, c->nxt, c->iss + 1, c->off, n, gso_size, false);
	c->nxt += (uint32_t)n;
	static uint8_t buf[65536];
	ssize_t r = tern_recv(c->st, c->fd, buf, sizeof(buf), 0);
	assert_int_equal(r, (ssize_t)n);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(buf[k], (uint8_t)(c->off + k));
	c->off += (uint32_t)n;
	c->now += 100000;   /* 100 us apart: a steady stream */
}

struct find {
	int fd;
	uint32_t rcv_mss;
};

static int find_fd(void *ctx, const struct tern_diag_sock *s)
{
	struct find *f = ctx;
	if (s->fd != f->fd)
		return 0;
	f->rcv_mss = s->rcv_mss;
	return 1;
}

static uint32_t rcv_mss_of(struct tern_stack *st, int fd)
{
	struct find f = { .fd = fd };
	assert_int_equal(tern_diag_foreach(st, find_fd, &f), 1);
	return f.rcv_mss;
}

static void measured_by_segments(void **state)
{
	(void)state;
	struct conn merged, plain;
	conn_open(&merged, true);
	conn_data(&merged, 4 * 700, 700);
	assert_int_equal(rcv_mss_of(merged.st, merged.fd), 700);
	assert_int_equal(out.ack, merged.nxt);

	conn_open(&plain, true);
	conn_data(&plain, 4 * 700, 0);
	assert_int_equal(rcv_mss_of(plain.st, plain.fd), MSS);

	tern_stack_destroy(merged.st);
	tern_stack_destroy(plain.st);
}

static void one_ack_per_arrival(void **state)
{
	(void)state;
	struct conn m;
	conn_open(&m, false);
	/* Past quick-ACK mode first (at most 16 quick ACKs, spec §14.1). */
	for (int i = 0; i < 40; i++)
		conn_data(&m, MSS, 0);
	unsigned before = out.acks_only;
	for (int i = 0; i < 20; i++) {
		unsigned prev = out.acks_only;
		conn_data(&m, 4 * MSS, MSS);
		assert_int_equal(out.acks_only, prev + 1);   /* at once, one ACK */
		assert_int_equal(out.ack, m.nxt);
	}
	assert_int_equal(out.acks_only - before, 20);

	/* The same data as plain segments: an ACK for every second one. */
	before = out.acks_only;
	for (int i = 0; i < 20 * 4; i++)
		conn_data(&m, MSS, 0);
	assert_int_equal(out.acks_only - before, 40);
	tern_stack_destroy(m.st);
}

/* tcp_grow_window: each arrival that raises the window's ceiling earns a quick
 * ACK (icsk_ack.quick |= 1), so while autotuning keeps the ceiling rising, full
 * plain segments are ACKed one by one rather than every second one. */
static void growing_window_acks_each_segment(void **state)
{
	(void)state;
	struct conn m;
	conn_open(&m, true);
	for (int i = 0; i < 40; i++)
		conn_data(&m, MSS, 0);
	unsigned before = out.acks_only;
	for (int i = 0; i < 20; i++)
		conn_data(&m, MSS, 0);
	/* One ACK per two segments would be 10; an arrival that finds the ceiling
	 * at the clamp (which autotuning raises once per receiver RTT) earns none,
	 * so not all 20 go at once. */
	assert_true(out.acks_only - before > 15);
	tern_stack_destroy(m.st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(measured_by_segments),
		cmocka_unit_test(one_ack_per_arrival),
		cmocka_unit_test(growing_window_acks_each_segment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
