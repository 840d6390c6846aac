/*
 * tests/sim/test_csum_offload.c: checksum offload (tern_stack_config.tx_csum_offload
 * and TERN_INPUT_CSUM_OK), the way Linux's loopback and offloading NICs skip the
 * TCP checksum.
 *
 *  - tern_tcp_build_partial leaves the pseudo-header sum in the checksum field
 *    (Linux's CHECKSUM_PARTIAL): a strict parse refuses it, and finishing the sum
 *    over the segment, as a NIC would, gives exactly what tern_tcp_build writes.
 *  - Two offloading stacks on the simulated wire connect, move data and close;
 *    every TCP segment on the wire carries a partial checksum, and nothing is
 *    counted as a checksum error.
 *  - Such a segment handed to a stack as plain input is a bad checksum (counted,
 *    no answer); with TERN_INPUT_CSUM_OK it is taken.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tern/errors.h"
#include "tern/sim.h"
#include "tern/socket.h"
#include "tern/stack.h"
#include "tern/wire.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* The pseudo-header sum of a TCP segment in an IPv4 datagram, folded, as a
 * partial checksum field holds it. */
static uint16_t partial_of(const uint8_t *pkt, size_t len)
{
	struct tern_ipv4 ip;
	assert_int_equal(tern_ipv4_parse(pkt, len, &ip), TERN_WIRE_OK);
	uint16_t folded = tern_csum_fold(tern_csum_pseudo_v4(ip.src, ip.dst, TERN_IPPROTO_TCP,
							     (uint16_t)ip.payload_len));
	return (uint16_t)~folded;
}

static void wire_partial(void **state)
{
	(void)state;
	static const uint8_t data[] = "offloaded";
	struct tern_tcp seg = { .sport = 40000, .dport = 80, .seq = 1000, .ack = 2000,
				.flags = TERN_TCP_ACK | TERN_TCP_PSH, .win = 500,
				.payload = data, .payload_len = sizeof(data) - 1 };
	uint32_t src = 0x0a000001, dst = 0x0a000002;
	uint8_t full[128], part[128];
	size_t n = tern_tcp_build(full, sizeof(full), &seg, src, dst);
	assert_int_equal(tern_tcp_build_partial(part, sizeof(part), &seg, src, dst), n);
	assert_memory_equal(full, part, 16);
	assert_memory_equal(full + 18, part + 18, n - 18);

	struct tern_tcp out;
	assert_int_equal(tern_tcp_parse(part, n, src, dst, true, &out), TERN_WIRE_TCP_BAD_CHECKSUM);
	assert_int_equal(tern_tcp_parse(part, n, src, dst, false, &out), TERN_WIRE_OK);

	/* What the NIC does: sum the segment from the partial value on, complement. */
	uint16_t finished = tern_csum_fold(tern_csum_add(0, part, n));
	assert_int_equal(finished, get16(full + 16));
}

struct watch {
	uint64_t tcp, partial;
};

static void on_wire(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	(void)now;
	struct watch *w = ctx;
	struct tern_ipv4 ip;
	if (tern_ipv4_parse(pkt, len, &ip) != TERN_WIRE_OK || ip.proto != TERN_IPPROTO_TCP)
		return;
	w->tcp++;
	if (get16(ip.payload + 16) == partial_of(pkt, len))
		w->partial++;
}

static void sim_offload(void **state)
{
	(void)state;
	struct tern_sim *sim;
	assert_int_equal(tern_sim_create(7, &sim), 0);
	struct tern_stack_config cfg;
	tern_stack_config_init(&cfg);
	cfg.tx_csum_offload = true;
	struct tern_stack *a, *b;
	cfg.addr = tern_addr_v4(10, 0, 0, 1);
	int na = tern_sim_add_stack(sim, &cfg, &a);
	cfg.addr = tern_addr_v4(10, 0, 0, 2);
	int nb = tern_sim_add_stack(sim, &cfg, &b);
	struct tern_link_params wire = { .delay = 10000 };
	int link = tern_sim_link(sim, na, nb, &wire, &wire);
	struct watch w = { 0 };
	assert_int_equal(tern_sim_watch(sim, link, TERN_SIM_TAP_SEND, on_wire, &w), 0);

	int l = tern_socket(b, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	struct tern_sockaddr sa = { .port = 80 };
	sa.addr.family = TERN_AF_INET;
	assert_int_equal(tern_bind(b, l, &sa), 0);
	assert_int_equal(tern_listen(b, l, 16), 0);
	int c = tern_socket(a, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	sa.addr = tern_stack_addr(b);
	assert_int_equal(tern_connect(a, c, &sa), -TERN_EINPROGRESS);
	tern_sim_run_until(sim, 100000);
	int s = tern_accept(b, l, NULL, TERN_SOCK_NONBLOCK);
	assert_true(s >= 0);
	static char buf[100000], got[100000];
	memset(buf, 'x', sizeof(buf));
	size_t sent = 0, total = 0;
	for (int i = 0; i < 10000 && total < sizeof(buf); i++) {
		ssize_t wr = tern_send(a, c, buf + sent, sizeof(buf) - sent, 0);
		if (wr > 0)
			sent += (size_t)wr;
		tern_sim_run_until(sim, tern_sim_now(sim) + 100000);
		ssize_t r = tern_recv(b, s, got + total, sizeof(got) - total, 0);
		if (r > 0)
			total += (size_t)r;
	}
	assert_int_equal(total, sizeof(buf));
	assert_memory_equal(buf, got, sizeof(buf));
	assert_int_equal(tern_close(a, c), 0);
	assert_int_equal(tern_close(b, s), 0);
	tern_sim_run_until(sim, tern_sim_now(sim) + 1000000);

	assert_true(w.tcp > 10);
	assert_int_equal(w.partial, w.tcp);
	assert_int_equal(tern_stack_counter(a, TERN_CTR_TcpInCsumErrors), 0);
	assert_int_equal(tern_stack_counter(b, TERN_CTR_TcpInCsumErrors), 0);

	tern_sim_destroy(sim);
}

static uint64_t emitted;
static void count_emit(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	(void)ctx, (void)now, (void)pkt, (void)len;
	emitted++;
}

/* A partial checksum is a bad one unless the link says otherwise. */
static void strict_input(void **state)
{
	(void)state;
	struct tern_tcp_opts opt = { 0 };
	struct tern_tcp seg = { .sport = 40000, .dport = 80, .seq = 1, .flags = TERN_TCP_SYN,
				.win = 65535, .opt = opt };
	struct tern_ipv4 ip = { .ttl = 64, .proto = TERN_IPPROTO_TCP, .frag = TERN_IP_DF,
				.src = 0x0a000001, .dst = 0x0a000002 };
	uint8_t pkt[128];
	size_t tl = tern_tcp_build_partial(pkt + TERN_IPV4_HDR_LEN, sizeof(pkt) - TERN_IPV4_HDR_LEN, &seg,
					   ip.src, ip.dst);
	assert_true(tl > 0);
	assert_int_equal(tern_ipv4_build(pkt, TERN_IPV4_HDR_LEN, &ip, (uint16_t)tl), TERN_IPV4_HDR_LEN);
	size_t len = TERN_IPV4_HDR_LEN + tl;

	struct tern_stack_config cfg;
	tern_stack_config_init(&cfg);
	cfg.addr = tern_addr_v4(10, 0, 0, 2);
	cfg.emit = count_emit;
	struct tern_stack *st;
	assert_int_equal(tern_stack_create(&cfg, &st), 0);
	int l = tern_socket(st, TERN_AF_INET, TERN_SOCK_STREAM, 0);
	struct tern_sockaddr sa = { .port = 80 };
	sa.addr.family = TERN_AF_INET;
	assert_int_equal(tern_bind(st, l, &sa), 0);
	assert_int_equal(tern_listen(st, l, 16), 0);

	emitted = 0;
	tern_stack_input(st, 0, pkt, len);
	assert_int_equal(tern_stack_counter(st, TERN_CTR_TcpInCsumErrors), 1);
	assert_int_equal(emitted, 0);
	tern_stack_input_flags(st, 0, pkt, len, TERN_INPUT_CSUM_OK);
	assert_int_equal(tern_stack_counter(st, TERN_CTR_TcpInCsumErrors), 1);
	assert_int_equal(emitted, 1);   /* the SYN-ACK */
	tern_stack_destroy(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wire_partial),
		cmocka_unit_test(sim_offload),
		cmocka_unit_test(strict_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
