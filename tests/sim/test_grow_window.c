/*
 * tests/sim/test_grow_window.c: the receive window's ceiling (rcv_ssthresh) and
 * arrivals that are mostly overhead (Linux's tcp_grow_window and
 * __tcp_grow_window; src/tcp/output.c).
 *
 * The ceiling rises on an arrival only if the memory the arrival costs (its
 * truesize: the payload plus a few hundred bytes of buffer overhead) would be
 * paid for by the window it is granted. For a small segment that test fails, and
 * __tcp_grow_window gives it a second chance that shrinks with the segment: it
 * halves the segment's window worth and the largest window (from tcp_rmem[2])
 * together, and the ceiling still rises if the first falls to the payload before
 * the second falls to the ceiling. So a peer trickling tiny segments cannot open
 * the window (each byte would cost the receiver hundreds), while modest segments
 * still do.
 *
 * Here the server's buffer is 1 MiB from the start (tcp_rmem[1]), so the first
 * window (64 KiB at most, as always) leaves the ceiling room to rise. The client
 * writes N chunks of the same size with TCP_NODELAY, one per round trip, and the
 * server reads each at once, so its buffer is always empty and the window it
 * offers is the ceiling itself, rounded up to the window scale's unit (128
 * bytes). The ceiling starts at the first window, 65535, and the windows the
 * server offers are read off the wire:
 *  - 1-byte chunks (truesize 768): it never rises;
 *  - 100-byte chunks (truesize 1280, not paid for, but within the second chance):
 *    it rises by two receive segments a chunk, 2 x 536 (the receive MSS estimate
 *    before any full segment, Linux's TCP_MSS_DEFAULT): 65535 + 40 x 1072;
 *  - 1000-byte chunks (truesize 2304, paid for by their window): by two
 *    advertised MSS, 2 x 1460: 65535 + 40 x 2920.
 * With the second chance removed the 100-byte run fails; with it granted to every
 * arrival the 1-byte run does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support/tcp_sim.h"
#include "tern/sim.h"
#include "tern/socket.h"
#include "tern/sysctl.h"

#define PORT 9100
#define CHUNKS 40
#define GAP (3 * TERN_NS_PER_MS)   /* more than the 2 ms round trip */

struct trickle {
	struct tcp_sim ts;
	int lfd, cfd, sfd;
	size_t chunk;
	int sent;
	uint64_t got;
	tern_time next_send;
	/* What the server offered, from the wire: its window scale (from the
	 * SYN-ACK), its first window after the handshake, and the largest. */
	int wscale;
	uint32_t first, largest;
};

static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }

/* Reads the server's SYN-ACK window scale and every later window it offers. */
static void watch(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	struct trickle *t = ctx;
	(void)now;
	if (len < 40 || pkt[9] != 6 || pkt[15] != 2)   /* TCP from 10.0.0.2 */
		return;
	const uint8_t *tcp = pkt + (pkt[0] & 0x0f) * 4;
	size_t hl = (size_t)(tcp[12] >> 4) * 4;
	uint8_t flags = tcp[13];
	if (flags & 0x02) {                            /* the SYN-ACK: find WS */
		for (size_t i = 20; i < hl;) {
			uint8_t kind = tcp[i];
			if (kind == 0)
				break;
			if (kind == 1) {
				i++;
				continue;
			}
			if (kind == 3)
				t->wscale = tcp[i + 2];
			i += tcp[i + 1];
		}
		return;
	}
	uint32_t win = get16(tcp + 14) << t->wscale;
	if (!t->first)
		t->first = win;
	if (win > t->largest)
		t->largest = win;
}

static void step(void *ctx)
{
	struct trickle *t = ctx;
	static uint8_t buf[4096];

	if (t->sfd < 0) {
		t->sfd = tern_accept(t->ts.server, t->lfd, NULL, TERN_SOCK_NONBLOCK);
		if (t->sfd < 0)
			return;
		t->next_send = tern_sim_now(t->ts.sim);
	}
	if (t->sent < CHUNKS && tern_sim_now(t->ts.sim) >= t->next_send) {
		memset(buf, 'a' + t->sent % 26, t->chunk);
		assert_int_equal(tern_send(t->ts.client, t->cfd, buf, t->chunk, 0), (ssize_t)t->chunk);
		t->sent++;
		t->next_send = tern_sim_now(t->ts.sim) + GAP;
	}
	for (;;) {
		ssize_t r = tern_recv(t->ts.server, t->sfd, buf, sizeof(buf), 0);
		if (r <= 0)
			break;
		t->got += (uint64_t)r;
	}
}

static bool all_read(void *ctx)
{
	struct trickle *t = ctx;
	return t->got == (uint64_t)CHUNKS * t->chunk;
}

/* Runs CHUNKS writes of `chunk` bytes; leaves the windows seen in *t. */
static void run(struct trickle *t, size_t chunk)
{
	memset(t, 0, sizeof(*t));
	t->sfd = -1;
	t->chunk = chunk;
	tcp_sim_init(&t->ts, 5, NULL);
	/* A buffer far larger than the first window (64 KiB whatever the buffer),
	 * so the ceiling has room to rise before any autotuning. */
	assert_int_equal(tern_sysctl_set(t->ts.server, "net.ipv4.tcp_rmem", "4096 1048576 6291456"), 0);
	assert_int_equal(tern_sim_watch(t->ts.sim, t->ts.link, TERN_SIM_TAP_SEND, watch, t), 0);

	struct tern_sockaddr any = { .addr = { .family = TERN_AF_INET }, .port = PORT };
	struct tern_sockaddr server = { .addr = tern_addr_v4(10, 0, 0, 2), .port = PORT };
	int one = 1;
	t->lfd = tern_socket(t->ts.server, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	assert_int_equal(tern_bind(t->ts.server, t->lfd, &any), 0);
	assert_int_equal(tern_listen(t->ts.server, t->lfd, 4), 0);
	t->cfd = tern_socket(t->ts.client, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	assert_int_equal(tern_setsockopt(t->ts.client, t->cfd, TERN_SOL_TCP, TERN_TCP_NODELAY, &one,
					 sizeof(one)), 0);
	assert_int_equal(tern_connect(t->ts.client, t->cfd, &server), -TERN_EINPROGRESS);
	/* Time moves in 1 ms slices: between chunks the network is idle, with
	 * nothing queued that would move it. */
	tern_time end = tern_sim_now(t->ts.sim) + 10 * TERN_NS_PER_SEC;
	while (!all_read(t) && tern_sim_now(t->ts.sim) < end) {
		tern_sim_run_until(t->ts.sim, tern_sim_now(t->ts.sim) + TERN_NS_PER_MS);
		tcp_sim_sync(&t->ts);
		step(t);
	}
	assert_true(all_read(t));
	print_message("%4zu-byte chunks: wscale %d, first window %u, largest %u\n", chunk, t->wscale,
		      t->first, t->largest);
	assert_true(t->wscale > 0);
	assert_true(t->first > 0);
	tcp_sim_fini(&t->ts);
}

/* A window as the server offers it: in units of 2^7 bytes, rounded up. */
static uint32_t round_up(uint32_t win)
{
	return (win + 127) & ~127u;
}

static void tiny_arrivals_leave_the_ceiling(void **state)
{
	(void)state;
	struct trickle t;
	run(&t, 1);
	assert_int_equal(t.first, 65536);
	assert_int_equal(t.largest, 65536);
}

static void small_arrivals_raise_it(void **state)
{
	(void)state;
	struct trickle t;
	run(&t, 100);
	assert_int_equal(t.largest, round_up(65535 + CHUNKS * 2 * 536));
}

static void full_arrivals_raise_it(void **state)
{
	(void)state;
	struct trickle t;
	run(&t, 1000);
	assert_int_equal(t.largest, round_up(65535 + CHUNKS * 2 * 1460));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tiny_arrivals_leave_the_ceiling),
		cmocka_unit_test(small_arrivals_raise_it),
		cmocka_unit_test(full_arrivals_raise_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
