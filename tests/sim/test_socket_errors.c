/*
 * Every error of the socket API, provoked the way Linux produces it (issue 3 item
 * 1; spec §7.1 for errors on RST, §8.3 for bind conflicts, §4.3 for the SYN
 * give-up): ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT, EADDRINUSE, EADDRNOTAVAIL,
 * EAGAIN, ENOTCONN, EISCONN, EALREADY, EINPROGRESS, EINVAL, EBADF, ENOTSOCK,
 * EAFNOSUPPORT, ESOCKTNOSUPPORT, EPROTONOSUPPORT, ENOPROTOOPT, ENOENT, EEXIST.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "support/tcp_sim.h"
#include "tern/tern.h"

#define S_ADDR tern_addr_v4(10, 0, 0, 2)

static struct tern_sockaddr server_at(uint16_t port)
{
	return (struct tern_sockaddr){ .addr = S_ADDR, .port = port };
}

static int new_socket(struct tern_stack *st)
{
	int fd = tern_socket(st, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	assert_true(fd >= 3);
	return fd;
}

static int listener(struct tern_stack *st, uint16_t port, int backlog)
{
	int fd = new_socket(st);
	struct tern_sockaddr any = { .addr = { .family = TERN_AF_INET }, .port = port };
	assert_int_equal(tern_bind(st, fd, &any), 0);
	assert_int_equal(tern_listen(st, fd, backlog), 0);
	return fd;
}

static int so_error(struct tern_stack *st, int fd)
{
	int e = -1;
	size_t len = sizeof(e);
	assert_int_equal(tern_getsockopt(st, fd, TERN_SOL_SOCKET, TERN_SO_ERROR, &e, &len), 0);
	return e;
}

struct ready {
	struct tern_stack *st;
	int fd;
	short events;
};

static bool is_ready(void *ctx)
{
	struct ready *r = ctx;
	struct tern_pollfd p = { .fd = r->fd, .events = r->events };
	return tern_poll(r->st, &p, 1) > 0;
}

static void wait_ready(struct tcp_sim *ts, struct tern_stack *st, int fd, short events, tern_time limit)
{
	struct ready r = { st, fd, events };
	assert_true(tcp_sim_run(ts, limit, is_ready, NULL, &r));
}

/* A connected pair: client fd *c, accepted server fd *s. */
static void connect_pair(struct tcp_sim *ts, uint16_t port, int *lfd, int *c, int *s)
{
	struct tern_sockaddr to = server_at(port);
	*lfd = listener(ts->server, port, 8);
	*c = new_socket(ts->client);
	assert_int_equal(tern_connect(ts->client, *c, &to), -TERN_EINPROGRESS);
	wait_ready(ts, ts->server, *lfd, TERN_POLLIN, TERN_NS_PER_SEC);
	*s = tern_accept(ts->server, *lfd, NULL, TERN_SOCK_NONBLOCK);
	assert_true(*s >= 3);
	wait_ready(ts, ts->client, *c, TERN_POLLOUT, TERN_NS_PER_SEC);
	assert_int_equal(so_error(ts->client, *c), 0);
}

static void econnrefused_from_a_closed_port(void **state)
{
	(void)state;
	struct tcp_sim ts;
	struct tern_sockaddr to = server_at(9);

	tcp_sim_init(&ts, 1, NULL);
	int fd = new_socket(ts.client);
	assert_int_equal(tern_connect(ts.client, fd, &to), -TERN_EINPROGRESS);
	/* The reset arrives; the socket is writable with the error pending. */
	wait_ready(&ts, ts.client, fd, TERN_POLLOUT, TERN_NS_PER_SEC);
	struct tern_pollfd p = { .fd = fd, .events = TERN_POLLOUT };
	tern_poll(ts.client, &p, 1);
	assert_true(p.revents & TERN_POLLERR);
	/* The next connect() reports it, as on Linux. */
	assert_int_equal(tern_connect(ts.client, fd, &to), -TERN_ECONNREFUSED);
	assert_int_equal(so_error(ts.client, fd), 0);
	assert_int_equal(tern_stack_counter(ts.client, TERN_CTR_TcpAttemptFails), 1);
	assert_int_equal(tern_stack_counter(ts.server, TERN_CTR_TcpOutRsts), 1);
	assert_int_equal(tern_close(ts.client, fd), 0);
	tcp_sim_fini(&ts);
}

static void econnrefused_by_so_error(void **state)
{
	(void)state;
	struct tcp_sim ts;
	struct tern_sockaddr to = server_at(9);

	tcp_sim_init(&ts, 2, NULL);
	int fd = new_socket(ts.client);
	assert_int_equal(tern_connect(ts.client, fd, &to), -TERN_EINPROGRESS);
	assert_int_equal(tern_connect(ts.client, fd, &to), -TERN_EALREADY);
	wait_ready(&ts, ts.client, fd, TERN_POLLOUT, TERN_NS_PER_SEC);
	assert_int_equal(so_error(ts.client, fd), TERN_ECONNREFUSED);
	tcp_sim_fini(&ts);
}

static void econnreset_and_epipe(void **state)
{
	(void)state;
	struct tcp_sim ts;
	int lfd, c, s;
	struct tern_linger abort_now = { 1, 0 };
	char buf[16];

	tcp_sim_init(&ts, 3, NULL);
	connect_pair(&ts, 80, &lfd, &c, &s);
	/* The server aborts (SO_LINGER 0): the client's next read sees ECONNRESET,
	 * then EOF; writes fail with EPIPE (spec §7.1). */
	assert_int_equal(tern_setsockopt(ts.server, s, TERN_SOL_SOCKET, TERN_SO_LINGER, &abort_now, sizeof(abort_now)), 0);
	assert_int_equal(tern_close(ts.server, s), 0);
	wait_ready(&ts, ts.client, c, TERN_POLLIN, TERN_NS_PER_SEC);
	assert_int_equal(tern_recv(ts.client, c, buf, sizeof(buf), 0), -TERN_ECONNRESET);
	assert_int_equal(tern_recv(ts.client, c, buf, sizeof(buf), 0), 0);
	assert_int_equal(tern_send(ts.client, c, "x", 1, 0), -TERN_EPIPE);
	assert_int_equal(tern_stack_counter(ts.client, TERN_CTR_TcpEstabResets), 1);
	assert_int_equal(tern_stack_counter(ts.server, TERN_CTR_TcpExtTCPAbortOnData), 1);
	tcp_sim_fini(&ts);
}

static void epipe_after_shutdown_and_in_close_wait_reset(void **state)
{
	(void)state;
	struct tcp_sim ts;
	int lfd, c, s;

	tcp_sim_init(&ts, 4, NULL);
	connect_pair(&ts, 80, &lfd, &c, &s);
	assert_int_equal(tern_shutdown(ts.client, c, TERN_SHUT_WR), 0);
	assert_int_equal(tern_send(ts.client, c, "x", 1, 0), -TERN_EPIPE);
	/* The server sees EOF (CLOSE-WAIT), then the client aborts: in CLOSE-WAIT
	 * a reset reports EPIPE, not ECONNRESET (spec §7.1). */
	wait_ready(&ts, ts.server, s, TERN_POLLIN, TERN_NS_PER_SEC);
	char buf[8];
	assert_int_equal(tern_recv(ts.server, s, buf, sizeof(buf), 0), 0);
	struct tern_linger abort_now = { 1, 0 };
	tern_setsockopt(ts.client, c, TERN_SOL_SOCKET, TERN_SO_LINGER, &abort_now, sizeof(abort_now));
	assert_int_equal(tern_close(ts.client, c), 0);
	tcp_sim_run(&ts, 100 * TERN_NS_PER_MS, is_ready, NULL, &(struct ready){ ts.server, s, TERN_POLLERR });
	assert_int_equal(so_error(ts.server, s), TERN_EPIPE);
	tcp_sim_fini(&ts);
}

static void etimedout_syn_schedule(void **state)
{
	(void)state;
	struct tcp_sim ts;
	struct tern_link_params blackhole = { .delay = TERN_NS_PER_MS, .loss = 1.0 };
	struct tern_sockaddr to = server_at(80);

	tcp_sim_init(&ts, 5, &blackhole);
	int fd = new_socket(ts.client);
	assert_int_equal(tern_connect(ts.client, fd, &to), -TERN_EINPROGRESS);
	tern_time start = tern_sim_now(ts.sim);
	wait_ready(&ts, ts.client, fd, TERN_POLLOUT, 200 * TERN_NS_PER_SEC);
	/* Spec §4.3, 6.5+ defaults: 11 SYNs (10 retransmissions), failure at 131 s. */
	tern_time took = tern_sim_now(ts.sim) - start;
	assert_true(took >= 131 * TERN_NS_PER_SEC && took < 132 * TERN_NS_PER_SEC);
	assert_int_equal(so_error(ts.client, fd), TERN_ETIMEDOUT);
	assert_int_equal(tern_stack_counter(ts.client, TERN_CTR_TcpExtTCPSynRetrans), 10);
	assert_int_equal(tern_stack_counter(ts.client, TERN_CTR_TcpExtTCPAbortOnTimeout), 1);
	assert_int_equal(tern_stack_counter(ts.client, TERN_CTR_TcpAttemptFails), 1);
	struct tern_link_stats ls;
	tern_sim_link_stats(ts.sim, ts.link, 0, &ls);
	assert_int_equal(ls.sent, 11);
	tcp_sim_fini(&ts);
}

static void eaddrinuse_and_reuseaddr(void **state)
{
	(void)state;
	struct tcp_sim ts;
	struct tern_sockaddr any80 = { .addr = { .family = TERN_AF_INET }, .port = 80 };
	int one = 1;

	tcp_sim_init(&ts, 6, NULL);
	int a = listener(ts.server, 80, 8);
	int b = new_socket(ts.server);
	assert_int_equal(tern_bind(ts.server, b, &any80), -TERN_EADDRINUSE);
	/* SO_REUSEADDR on both does not let a second socket onto a listener's port
	 * (spec §8.3). */
	tern_setsockopt(ts.server, b, TERN_SOL_SOCKET, TERN_SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(tern_bind(ts.server, b, &any80), -TERN_EADDRINUSE);
	/* Bound twice: EINVAL. */
	struct tern_sockaddr any81 = { .addr = { .family = TERN_AF_INET }, .port = 81 };
	assert_int_equal(tern_bind(ts.server, b, &any81), 0);
	assert_int_equal(tern_bind(ts.server, b, &any81), -TERN_EINVAL);
	(void)a;
	tcp_sim_fini(&ts);
}

static void eaddrnotavail(void **state)
{
	(void)state;
	struct tcp_sim ts;
	struct tern_sockaddr foreign = { .addr = tern_addr_v4(10, 9, 9, 9), .port = 80 };

	tcp_sim_init(&ts, 7, NULL);
	int fd = new_socket(ts.client);
	/* Not one of the host's addresses. */
	assert_int_equal(tern_bind(ts.client, fd, &foreign), -TERN_EADDRNOTAVAIL);
	/* Every ephemeral port to one destination in use: a one-port range. */
	assert_int_equal(tern_sysctl_set(ts.client, "net.ipv4.ip_local_port_range", "40000 40000"), 0);
	struct tern_sockaddr to = server_at(80);
	listener(ts.server, 80, 8);
	assert_int_equal(tern_connect(ts.client, fd, &to), -TERN_EINPROGRESS);
	int fd2 = new_socket(ts.client);
	assert_int_equal(tern_connect(ts.client, fd2, &to), -TERN_EADDRNOTAVAIL);
	tcp_sim_fini(&ts);
}

static void eagain_enotconn_eisconn(void **state)
{
	(void)state;
	struct tcp_sim ts;
	int lfd, c, s;
	char buf[8];
	struct tern_sockaddr peer;

	tcp_sim_init(&ts, 8, NULL);
	int fresh = new_socket(ts.client);
	assert_int_equal(tern_recv(ts.client, fresh, buf, sizeof(buf), 0), -TERN_ENOTCONN);
	assert_int_equal(tern_getpeername(ts.client, fresh, &peer), -TERN_ENOTCONN);
	assert_int_equal(tern_shutdown(ts.client, fresh, TERN_SHUT_WR), -TERN_ENOTCONN);
	assert_int_equal(tern_send(ts.client, fresh, "x", 1, 0), -TERN_EPIPE);
	connect_pair(&ts, 80, &lfd, &c, &s);
	/* Nothing to read or accept yet. */
	assert_int_equal(tern_recv(ts.server, s, buf, sizeof(buf), 0), -TERN_EAGAIN);
	assert_int_equal(tern_accept(ts.server, lfd, NULL, 0), -TERN_EAGAIN);
	/* The first connect() after completion reports success, then EISCONN. */
	struct tern_sockaddr to = server_at(80);
	assert_int_equal(tern_connect(ts.client, c, &to), 0);
	assert_int_equal(tern_connect(ts.client, c, &to), -TERN_EISCONN);
	assert_int_equal(tern_getpeername(ts.client, c, &peer), 0);
	assert_int_equal(peer.port, 80);
	/* A listener can neither receive nor connect. */
	assert_int_equal(tern_recv(ts.server, lfd, buf, sizeof(buf), 0), -TERN_ENOTCONN);
	assert_int_equal(tern_connect(ts.server, lfd, &to), -TERN_EISCONN);
	tcp_sim_fini(&ts);
}

static void einval_and_friends(void **state)
{
	(void)state;
	struct tcp_sim ts;
	int v = 0;
	size_t len = sizeof(v);

	tcp_sim_init(&ts, 9, NULL);
	struct tern_stack *st = ts.client;
	assert_int_equal(tern_socket(st, 99, TERN_SOCK_STREAM, 0), -TERN_EAFNOSUPPORT);
	assert_int_equal(tern_socket(st, TERN_AF_INET, 2 /* SOCK_DGRAM */, 0), -TERN_ESOCKTNOSUPPORT);
	assert_int_equal(tern_socket(st, TERN_AF_INET, TERN_SOCK_STREAM, 17), -TERN_EPROTONOSUPPORT);
	int fd = new_socket(st);
	assert_int_equal(tern_accept(st, fd, NULL, 0), -TERN_EINVAL);
	assert_int_equal(tern_shutdown(st, fd, 7), -TERN_EINVAL);
	assert_int_equal(tern_fcntl(st, fd, 99, 0), -TERN_EINVAL);
	v = 1;
	assert_int_equal(tern_setsockopt(st, fd, TERN_SOL_TCP, TERN_TCP_KEEPCNT, &v, 2), -TERN_EINVAL);
	v = 0;
	assert_int_equal(tern_setsockopt(st, fd, TERN_SOL_TCP, TERN_TCP_KEEPIDLE, &v, sizeof(v)), -TERN_EINVAL);
	v = 200;
	assert_int_equal(tern_setsockopt(st, fd, TERN_SOL_TCP, TERN_TCP_SYNCNT, &v, sizeof(v)), -TERN_EINVAL);
	v = 40;
	assert_int_equal(tern_setsockopt(st, fd, TERN_SOL_TCP, TERN_TCP_MAXSEG, &v, sizeof(v)), -TERN_EINVAL);
	assert_int_equal(tern_setsockopt(st, fd, 99, 1, &v, sizeof(v)), -TERN_ENOPROTOOPT);
	assert_int_equal(tern_getsockopt(st, fd, TERN_SOL_TCP, 9999, &v, &len), -TERN_ENOPROTOOPT);
	assert_int_equal(tern_setsockopt(st, fd, TERN_SOL_TCP, TERN_TCP_CONGESTION, "vegas", 5), -TERN_ENOENT);
	assert_int_equal(tern_setsockopt(st, fd, TERN_SOL_TCP, TERN_TCP_CONGESTION, "reno", 4), 0);
	char name[16];
	len = sizeof(name);
	assert_int_equal(tern_getsockopt(st, fd, TERN_SOL_TCP, TERN_TCP_CONGESTION, name, &len), 0);
	assert_string_equal(name, "reno");
	/* Bad descriptors. */
	assert_int_equal(tern_close(st, 999), -TERN_EBADF);
	assert_int_equal(tern_listen(st, 1, 1), -TERN_EBADF);
	int ep = tern_epoll_create(st);
	assert_true(ep >= 3);
	assert_int_equal(tern_listen(st, ep, 1), -TERN_ENOTSOCK);
	struct tern_epoll_event ev = { .events = TERN_POLLIN };
	assert_int_equal(tern_epoll_ctl(st, ep, TERN_EPOLL_CTL_ADD, fd, &ev), 0);
	assert_int_equal(tern_epoll_ctl(st, ep, TERN_EPOLL_CTL_ADD, fd, &ev), -TERN_EEXIST);
	assert_int_equal(tern_epoll_ctl(st, ep, TERN_EPOLL_CTL_DEL, fd, NULL), 0);
	assert_int_equal(tern_epoll_ctl(st, ep, TERN_EPOLL_CTL_DEL, fd, NULL), -TERN_ENOENT);
	assert_int_equal(tern_close(st, ep), 0);
	assert_int_equal(tern_close(st, fd), 0);
	tcp_sim_fini(&ts);
}

/* Keepalive probes an idle connection and keeps it while the peer answers (spec
 * §6.8); the give-up with RST and ETIMEDOUT is proven by the corpus script
 * keepalive/keepalive-probes-timeout.pkt. */
static void keepalive_answered_keeps_connection(void **state)
{
	(void)state;
	struct tcp_sim ts;
	int lfd, c, s, one = 1, idle = 10, intvl = 5, cnt = 3;

	tcp_sim_init(&ts, 10, NULL);
	connect_pair(&ts, 80, &lfd, &c, &s);
	assert_int_equal(tern_setsockopt(ts.client, c, TERN_SOL_SOCKET, TERN_SO_KEEPALIVE, &one, sizeof(one)), 0);
	assert_int_equal(tern_setsockopt(ts.client, c, TERN_SOL_TCP, TERN_TCP_KEEPIDLE, &idle, sizeof(idle)), 0);
	assert_int_equal(tern_setsockopt(ts.client, c, TERN_SOL_TCP, TERN_TCP_KEEPINTVL, &intvl, sizeof(intvl)), 0);
	assert_int_equal(tern_setsockopt(ts.client, c, TERN_SOL_TCP, TERN_TCP_KEEPCNT, &cnt, sizeof(cnt)), 0);
	tern_sim_run_until(ts.sim, tern_sim_now(ts.sim) + 105 * TERN_NS_PER_SEC);
	tcp_sim_sync(&ts);
	assert_int_equal(so_error(ts.client, c), 0);
	/* An answered probe resets the idle clock: one probe per 10 s of idle (each
	 * round also spends the 2 ms round trip, so the 10th comes at ~100.02 s). */
	assert_int_equal(tern_stack_counter(ts.client, TERN_CTR_TcpExtTCPKeepAlive), 10);
	assert_int_equal(tern_stack_counter(ts.client, TERN_CTR_TcpExtTCPAbortOnTimeout), 0);
	tcp_sim_fini(&ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(econnrefused_from_a_closed_port),
		cmocka_unit_test(econnrefused_by_so_error),
		cmocka_unit_test(econnreset_and_epipe),
		cmocka_unit_test(epipe_after_shutdown_and_in_close_wait_reset),
		cmocka_unit_test(etimedout_syn_schedule),
		cmocka_unit_test(eaddrinuse_and_reuseaddr),
		cmocka_unit_test(eaddrnotavail),
		cmocka_unit_test(eagain_enotconn_eisconn),
		cmocka_unit_test(einval_and_friends),
		cmocka_unit_test(keepalive_answered_keeps_connection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
