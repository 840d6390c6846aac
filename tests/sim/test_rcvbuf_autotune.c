/*
 * tests/sim/test_rcvbuf_autotune.c: receive-buffer autotuning (src/tcp/rcvbuf.c,
 * Linux's tcp_rcv_space_adjust and tcp_rcvbuf_grow).
 *
 * One connection over a clean 50 ms round trip; the client writes 16 MiB, the
 * server reads everything as soon as it can. Time is virtual, so the durations
 * below are exact properties of the algorithms, not of this machine.
 *  - By default the server's buffer grows from tcp_rmem[1] (128 KiB: a 64 KiB
 *    window, at most 1.3 MB/s over this path) towards tcp_rmem[2], the window
 *    follows, and the transfer takes a few seconds instead of the 13 a fixed
 *    64 KiB window needs. With timestamps off the receiver's RTT comes from the
 *    time a window's worth of data takes to arrive, and autotuning still works.
 *  - tcp_moderate_rcvbuf=0 keeps the buffer at tcp_rmem[1] and the transfer slow.
 *  - SO_RCVBUF on the listener (inherited by the child) locks the buffer.
 *  - The buffer never exceeds tcp_rmem[2] (here 1 MiB), and reaches it.
 * Every byte arrives in order either way (checked against the sender's pattern).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "support/tcp_sim.h"
#include "tern/sim.h"
#include "tern/socket.h"
#include "tern/sysctl.h"

#define TOTAL (16u << 20)
#define PORT 9000

struct xfer {
	struct tcp_sim ts;
	int lfd, cfd, sfd;
	uint64_t sent, got;
	bool closed;
	int max_rcvbuf;        /* largest SO_RCVBUF the server's socket had */
	tern_time done_at;
};

static uint8_t pattern(uint64_t off) { return (uint8_t)(off * 7 + (off >> 11)); }

static int rcvbuf_of(struct tern_stack *st, int fd)
{
	int v = 0;
	size_t len = sizeof(v);
	assert_int_equal(tern_getsockopt(st, fd, TERN_SOL_SOCKET, TERN_SO_RCVBUF, &v, &len), 0);
	return v;
}

static void step(void *ctx)
{
	struct xfer *x = ctx;
	static uint8_t buf[256 * 1024];

	if (x->sfd < 0) {
		x->sfd = tern_accept(x->ts.server, x->lfd, NULL, TERN_SOCK_NONBLOCK);
		if (x->sfd < 0)
			return;
	}
	while (x->sent < TOTAL) {
		size_t n = TOTAL - x->sent < 65536 ? TOTAL - x->sent : 65536;
		for (size_t k = 0; k < n; k++)
			buf[k] = pattern(x->sent + k);
		ssize_t w = tern_send(x->ts.client, x->cfd, buf, n, 0);
		if (w <= 0)
			break;
		x->sent += (uint64_t)w;
	}
	for (;;) {
		ssize_t r = tern_recv(x->ts.server, x->sfd, buf, sizeof(buf), 0);
		if (r <= 0)
			break;
		for (ssize_t k = 0; k < r; k++)
			assert_int_equal(buf[k], pattern(x->got + (uint64_t)k));
		x->got += (uint64_t)r;
	}
	int b = rcvbuf_of(x->ts.server, x->sfd);
	if (b > x->max_rcvbuf)
		x->max_rcvbuf = b;
	if (x->got == TOTAL && !x->done_at)
		x->done_at = tern_sim_now(x->ts.sim);
}

static bool all_read(void *ctx)
{
	return ((struct xfer *)ctx)->done_at != 0;
}

/* Runs the transfer with the server's knobs `sysctl` ("name=value", NULL-ended)
 * and SO_RCVBUF `lock` on the listener (0: none); returns its duration in s. */
static double run(struct xfer *x, const char *const *sysctl, int lock)
{
	struct tern_link_params link = { .delay = 25 * TERN_NS_PER_MS };
	memset(x, 0, sizeof(*x));
	x->sfd = -1;
	tcp_sim_init(&x->ts, 11, &link);
	for (int i = 0; sysctl && sysctl[i]; i++) {
		const char *eq = strchr(sysctl[i], '=');
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(eq - sysctl[i]), sysctl[i]);
		assert_int_equal(tern_sysctl_set(x->ts.server, name, eq + 1), 0);
		assert_int_equal(tern_sysctl_set(x->ts.client, name, eq + 1), 0);
	}
	struct tern_sockaddr any = { .addr = { .family = TERN_AF_INET }, .port = PORT };
	struct tern_sockaddr server = { .addr = tern_addr_v4(10, 0, 0, 2), .port = PORT };
	x->lfd = tern_socket(x->ts.server, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	if (lock)
		assert_int_equal(tern_setsockopt(x->ts.server, x->lfd, TERN_SOL_SOCKET, TERN_SO_RCVBUF, &lock,
						 sizeof(lock)), 0);
	assert_int_equal(tern_bind(x->ts.server, x->lfd, &any), 0);
	assert_int_equal(tern_listen(x->ts.server, x->lfd, 16), 0);
	x->cfd = tern_socket(x->ts.client, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	assert_int_equal(tern_connect(x->ts.client, x->cfd, &server), -TERN_EINPROGRESS);
	tern_time start = tern_sim_now(x->ts.sim);
	assert_true(tcp_sim_run(&x->ts, 60 * TERN_NS_PER_SEC, all_read, step, x));
	assert_int_equal(x->got, TOTAL);
	double secs = (double)(x->done_at - start) / TERN_NS_PER_SEC;
	print_message("%-40s %6.2f s, largest SO_RCVBUF %d\n", sysctl && sysctl[0] ? sysctl[0] : "defaults",
		      secs, x->max_rcvbuf);
	tcp_sim_fini(&x->ts);
	return secs;
}

static void grows_by_default(void **state)
{
	(void)state;
	struct xfer x;
	double fixed = run(&x, (const char *[]){ "net.ipv4.tcp_moderate_rcvbuf=0", NULL }, 0);
	assert_int_equal(x.max_rcvbuf, 131072);
	/* 16 MiB through a window of about 64 KiB per 50 ms round trip. */
	assert_true(fixed > 12.0);

	double tuned = run(&x, NULL, 0);
	assert_true(x.max_rcvbuf > 4 * 131072);
	assert_true(x.max_rcvbuf <= 6291456);
	assert_true(tuned < fixed / 3);

	double no_ts = run(&x, (const char *[]){ "net.ipv4.tcp_timestamps=0", NULL }, 0);
	assert_true(x.max_rcvbuf > 4 * 131072);
	assert_true(no_ts < fixed / 3);
}

static void locked_by_so_rcvbuf(void **state)
{
	(void)state;
	struct xfer x;
	run(&x, NULL, 100000);
	assert_int_equal(x.max_rcvbuf, 200000);   /* twice the request, as Linux */
}

static void capped_by_tcp_rmem(void **state)
{
	(void)state;
	struct xfer x;
	run(&x, (const char *[]){ "net.ipv4.tcp_rmem=4096 131072 1048576", NULL }, 0);
	assert_int_equal(x.max_rcvbuf, 1048576);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grows_by_default),
		cmocka_unit_test(locked_by_so_rcvbuf),
		cmocka_unit_test(capped_by_tcp_rmem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
