/*
 * Issue 6's acceptance run for outgoing connections and TIME-WAIT (spec §6.7, §8.1):
 * a client opens short connections to one server (10.0.0.2:80) far faster than
 * the ephemeral range turns over (28,232 ports / 60 s), closing first each time so
 * that every 4-tuple it used sits in its own TIME-WAIT. What happens next is
 * decided by net.ipv4.tcp_tw_reuse, as on Linux:
 *
 *   0        connect() fails with EADDRNOTAVAIL after exactly 28,232 connections
 *            (both parities scanned, even first) and works again when the oldest
 *            entry expires, 60 s after it was made;
 *   1        connect() takes over a TIME-WAIT 4-tuple whose entry is older than
 *            tcp_tw_reuse_delay (1000 ms, strictly), with ISN = old snd_nxt + 65537
 *            (seen on the wire), TWRecycled +1 each, and the server completes the
 *            handshake; only with timestamps;
 *   2        (the default) loopback only, so between 10.0.0.1 and 10.0.0.2 like 0;
 *   bind()   a socket bound to its port reuses the 4-tuple whatever the sysctl and
 *            the delay, timestamps still required.
 *
 * Every connection: connect, 1 byte each way, the client's shutdown(SHUT_WR) (the
 * client is the active closer), EOF, close. The link delay is a whole 1 ms, so every
 * event, and so every TIME-WAIT entry's birth, falls on a millisecond: the 1000 ms
 * and 60 s boundaries are checked to the nanosecond.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/tcp_sim.h"
#include "tcp/sock.h"
#include "tcp/tw.h"
#include "tern/errors.h"
#include "tern/sysctl.h"
#include "tern/wire.h"

#define MS TERN_NS_PER_MS
#define SEC TERN_NS_PER_SEC
#define SERVER_PORT 80
#define CONCURRENCY 512           /* client connections in flight at once */
#define TIMEWAIT (60 * SEC)       /* TCP_TIMEWAIT_LEN (spec §6.5) */
#define REUSE_DELAY (1000 * MS)   /* tcp_tw_reuse_delay's default (spec §6.7) */
#define LISTENER_TAG UINT64_MAX

enum { C_FREE, C_CONNECTING, C_WAIT_REPLY, C_WAIT_EOF };
enum { S_FREE, S_WAIT_REQ, S_WAIT_EOF };

/* What the wire showed of the client's side of each local port. */
struct port_wire {
	uint32_t syns;          /* SYNs sent from this port */
	uint32_t syn_seq;       /* ISN of the latest */
	uint32_t end;           /* highest client sequence sent since (snd_nxt) */
	uint32_t prev_end;      /* the connection before the latest one: its snd_nxt */
	bool have_prev;
};

struct net {
	struct tcp_sim ts;
	struct tern_addr caddr;
	struct tern_sockaddr server;
	int cep, sep, lfd;
	uint8_t cstate[4096];             /* per client descriptor */
	uint8_t sstate[4096];             /* per server descriptor */
	uint16_t cport[4096];
	int live;                         /* client connections not yet closed */
	int slive;                        /* server connections not yet closed */
	uint64_t completed;               /* client connections that reached EOF */
	uint64_t accepted;
	struct port_wire wire[65536];
	tern_time born[65536];            /* when the port's last TIME-WAIT began, -1: none */
	uint64_t tw_seen;                 /* TcpExtTW at the last check */
};

static uint64_t ctr(struct tern_stack *st, enum tern_counter c)
{
	return tern_stack_counter(st, c);
}

static void set(struct tern_stack *st, const char *name, const char *value)
{
	assert_int_equal(tern_sysctl_set(st, name, value), 0);
}

static bool seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* The tap: the client's segments as they enter the link. */
static void on_wire(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	struct net *n = ctx;
	struct tern_ipv4 ip;
	struct tern_tcp seg;

	(void)now;
	assert_int_equal(tern_ipv4_parse(pkt, len, &ip), TERN_WIRE_OK);
	assert_int_equal(ip.proto, TERN_IPPROTO_TCP);
	assert_int_equal(tern_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &seg), TERN_WIRE_OK);
	if (ip.src != n->caddr.u.v4)
		return;
	struct port_wire *w = &n->wire[seg.sport];
	if ((seg.flags & TERN_TCP_SYN) && !(seg.flags & TERN_TCP_ACK)) {
		w->have_prev = w->syns > 0;
		w->prev_end = w->end;
		w->syns++;
		w->syn_seq = seg.seq;
		w->end = seg.seq + 1;
		return;
	}
	uint32_t end = seg.seq + seg.payload_len + ((seg.flags & TERN_TCP_FIN) ? 1 : 0);
	if (seq_after(end, w->end))
		w->end = end;
}

static void watch(struct tern_stack *st, int ep, int fd, uint64_t tag)
{
	struct tern_epoll_event ev = { .events = TERN_POLLIN | TERN_POLLOUT | TERN_EPOLLET, .data = tag };
	assert_int_equal(tern_epoll_ctl(st, ep, TERN_EPOLL_CTL_ADD, fd, &ev), 0);
}

/* Client and server stacks at `caddr` and `saddr`, joined by a 1 ms link. */
static void net_init_at(struct net *n, uint64_t seed, struct tern_addr caddr, struct tern_addr saddr)
{
	struct tern_link_params wire = { .delay = 1 * MS };
	struct tern_sockaddr any = { .addr = { .family = TERN_AF_INET }, .port = SERVER_PORT };
	struct tern_stack_config cfg;

	memset(n, 0, sizeof(*n));
	assert_int_equal(tern_sim_create(seed, &n->ts.sim), 0);
	tern_stack_config_init(&cfg);
	cfg.addr = caddr;
	cfg.seed = seed * 2 + 1;
	n->ts.client_node = tern_sim_add_stack(n->ts.sim, &cfg, &n->ts.client);
	cfg.addr = saddr;
	cfg.seed = seed * 2 + 2;
	n->ts.server_node = tern_sim_add_stack(n->ts.sim, &cfg, &n->ts.server);
	assert_true(n->ts.client_node >= 0 && n->ts.server_node >= 0);
	n->ts.link = tern_sim_link(n->ts.sim, n->ts.client_node, n->ts.server_node, &wire, &wire);
	assert_true(n->ts.link >= 0);
	n->caddr = caddr;
	n->server = (struct tern_sockaddr){ .addr = saddr, .port = SERVER_PORT };
	for (int p = 0; p < 65536; p++)
		n->born[p] = -1;
	assert_int_equal(tern_sim_watch(n->ts.sim, n->ts.link, TERN_SIM_TAP_SEND, on_wire, n), 0);
	n->lfd = tern_socket(n->ts.server, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	assert_true(n->lfd >= 3);
	assert_int_equal(tern_bind(n->ts.server, n->lfd, &any), 0);
	assert_int_equal(tern_listen(n->ts.server, n->lfd, 4096), 0);
	n->cep = tern_epoll_create(n->ts.client);
	n->sep = tern_epoll_create(n->ts.server);
	assert_true(n->cep >= 0 && n->sep >= 0);
	watch(n->ts.server, n->sep, n->lfd, LISTENER_TAG);
}

/* The usual pair: client 10.0.0.1, server 10.0.0.2 (not loopback). */
static void net_init(struct net *n, uint64_t seed)
{
	net_init_at(n, seed, tern_addr_v4(10, 0, 0, 1), tern_addr_v4(10, 0, 0, 2));
}

/* ---------------------------------------------------------------- the application */

static void client_event(struct net *n, int fd)
{
	struct tern_stack *st = n->ts.client;
	uint8_t b;

	assert_true(fd > 0 && fd < 4096);
	for (;;) {
		switch (n->cstate[fd]) {
		case C_CONNECTING: {
			struct tern_pollfd p = { .fd = fd, .events = TERN_POLLOUT };
			if (tern_poll(st, &p, 1) == 0)
				return;
			int soerr = -1;
			size_t len = sizeof(soerr);
			assert_int_equal(tern_getsockopt(st, fd, TERN_SOL_SOCKET, TERN_SO_ERROR, &soerr, &len), 0);
			if (soerr)
				fail_msg("connection from port %u failed: %s", n->cport[fd], tern_strerror(soerr));
			assert_int_equal(tern_send(st, fd, "q", 1, 0), 1);
			n->cstate[fd] = C_WAIT_REPLY;
			break;
		}
		case C_WAIT_REPLY: {
			ssize_t r = tern_recv(st, fd, &b, 1, 0);
			if (r == -TERN_EAGAIN)
				return;
			assert_int_equal(r, 1);
			assert_int_equal(b, 'r');
			/* The client closes first: it will hold the TIME-WAIT. */
			assert_int_equal(tern_shutdown(st, fd, TERN_SHUT_WR), 0);
			n->cstate[fd] = C_WAIT_EOF;
			break;
		}
		case C_WAIT_EOF: {
			ssize_t r = tern_recv(st, fd, &b, 1, 0);
			if (r == -TERN_EAGAIN)
				return;
			assert_int_equal(r, 0);
			/* The server's FIN arrived in this very step: the socket is now a
			 * TIME-WAIT entry (checked against TcpExtTW after the step). */
			n->born[n->cport[fd]] = tern_sim_now(n->ts.sim);
			assert_int_equal(tern_close(st, fd), 0);
			n->cstate[fd] = C_FREE;
			n->live--;
			n->completed++;
			return;
		}
		default:
			return;
		}
	}
}

static void server_event(struct net *n, int fd)
{
	struct tern_stack *st = n->ts.server;
	uint8_t b;

	for (;;) {
		ssize_t r = tern_recv(st, fd, &b, 1, 0);
		if (r == -TERN_EAGAIN)
			return;
		if (n->sstate[fd] == S_WAIT_REQ) {
			assert_int_equal(r, 1);
			assert_int_equal(b, 'q');
			assert_int_equal(tern_send(st, fd, "r", 1, 0), 1);
			n->sstate[fd] = S_WAIT_EOF;
			continue;
		}
		assert_int_equal(n->sstate[fd], S_WAIT_EOF);
		assert_int_equal(r, 0);
		assert_int_equal(tern_close(st, fd), 0);
		n->sstate[fd] = S_FREE;
		n->slive--;
		return;
	}
}

static void accept_all(struct net *n)
{
	int fd;

	while ((fd = tern_accept(n->ts.server, n->lfd, NULL, TERN_SOCK_NONBLOCK)) >= 0) {
		assert_true(fd < 4096);
		assert_int_equal(n->sstate[fd], S_FREE);
		n->sstate[fd] = S_WAIT_REQ;
		n->slive++;
		n->accepted++;
		watch(n->ts.server, n->sep, fd, (uint64_t)fd);
		server_event(n, fd);
	}
	assert_int_equal(fd, -TERN_EAGAIN);
}

static void dispatch(struct net *n)
{
	struct tern_epoll_event evs[64];
	int k;

	while ((k = tern_epoll_wait(n->ts.client, n->cep, evs, 64)) > 0)
		for (int i = 0; i < k; i++)
			client_event(n, (int)evs[i].data);
	while ((k = tern_epoll_wait(n->ts.server, n->sep, evs, 64)) > 0)
		for (int i = 0; i < k; i++) {
			if (evs[i].data == LISTENER_TAG)
				accept_all(n);
			else
				server_event(n, (int)evs[i].data);
		}
}

/* One simulation event (at most `limit`), then the application reacts. Checks that
 * the TIME-WAIT entries made in the step are exactly the connections that saw EOF. */
static bool pump(struct net *n, tern_time limit)
{
	uint64_t done0 = n->completed;

	if (!tern_sim_step(n->ts.sim, limit))
		return false;
	tcp_sim_sync(&n->ts);
	dispatch(n);
	uint64_t tw = ctr(n->ts.client, TERN_CTR_TcpExtTW);
	assert_int_equal(tw - n->tw_seen, n->completed - done0);
	n->tw_seen = tw;
	return true;
}

/* Runs every event up to `t`, then moves the clock (and both stacks) to `t`. */
static void run_to(struct net *n, tern_time t)
{
	while (pump(n, t))
		;
	tern_sim_run_until(n->ts.sim, t);
	tcp_sim_sync(&n->ts);
}

/* Until every connection has ended at both sides. */
static void settle(struct net *n)
{
	tern_time limit = tern_sim_now(n->ts.sim) + 10 * SEC;

	while (n->live > 0 || n->slive > 0)
		assert_true(pump(n, limit));
	/* The server's last ACK-of-FIN receivers: let the final ACKs land. */
	run_to(n, tern_sim_now(n->ts.sim) + 10 * MS);
	assert_int_equal(n->ts.client->tcp->ehash_count, 0);
	assert_int_equal(n->ts.server->tcp->ehash_count, 0);
}

struct attempt {
	int rc;                 /* connect()'s result: -EINPROGRESS or an error */
	uint16_t port;          /* the local port it took */
	bool recycled;          /* TWRecycled moved: a TIME-WAIT 4-tuple was taken over */
	tern_time old_born;     /* when that port's TIME-WAIT began (-1: never used) */
};

/* Opens one connection at the current time; `bind_port` 0 lets connect() choose. */
static struct attempt open_conn(struct net *n, uint16_t bind_port)
{
	struct tern_stack *st = n->ts.client;
	struct attempt a = { .old_born = -1 };
	uint64_t rec0 = ctr(st, TERN_CTR_TcpExtTWRecycled);
	int fd = tern_socket(st, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);

	assert_true(fd >= 3 && fd < 4096);
	if (bind_port) {
		int one = 1;
		struct tern_sockaddr me = { .addr = n->caddr, .port = bind_port };
		assert_int_equal(tern_setsockopt(st, fd, TERN_SOL_SOCKET, TERN_SO_REUSEADDR, &one, sizeof(one)), 0);
		assert_int_equal(tern_bind(st, fd, &me), 0);
	}
	a.rc = tern_connect(st, fd, &n->server);
	a.recycled = ctr(st, TERN_CTR_TcpExtTWRecycled) != rec0;
	if (a.rc != -TERN_EINPROGRESS) {
		assert_false(a.recycled);
		assert_int_equal(tern_close(st, fd), 0);
		return a;
	}
	assert_int_equal(ctr(st, TERN_CTR_TcpExtTWRecycled) - rec0, a.recycled ? 1 : 0);
	struct tern_sockaddr me;
	assert_int_equal(tern_getsockname(st, fd, &me), 0);
	a.port = me.port;
	a.old_born = n->born[a.port];
	/* The SYN left during connect(). A reused 4-tuple starts past everything the
	 * old incarnation sent: ISN = its snd_nxt + 65537, 0 becoming 1 (spec §6.7). */
	struct port_wire *w = &n->wire[a.port];
	assert_true(w->syns > 0);
	if (a.recycled) {
		uint32_t want = w->prev_end + 65537;
		assert_true(w->have_prev);
		assert_int_equal(w->syn_seq, want ? want : 1);
	}
	n->cport[fd] = a.port;
	n->cstate[fd] = C_CONNECTING;
	n->live++;
	watch(st, n->cep, fd, (uint64_t)fd);
	return a;
}

/* Opens connections, CONCURRENCY at a time, until `target` have succeeded or one
 * fails; returns the successes. *fail_rc gets the failure (0 if none). */
static uint64_t burst(struct net *n, uint64_t target, int *fail_rc, uint16_t *ports)
{
	uint64_t ok = 0;

	*fail_rc = 0;
	while (ok < target) {
		while (n->live < CONCURRENCY && ok < target) {
			struct attempt a = open_conn(n, 0);
			if (a.rc != -TERN_EINPROGRESS) {
				*fail_rc = a.rc;
				return ok;
			}
			if (ports)
				ports[ok] = a.port;
			ok++;
		}
		assert_true(pump(n, tern_sim_now(n->ts.sim) + 10 * SEC));
	}
	return ok;
}

/* The earliest and latest TIME-WAIT births among the client's entries. */
static void births(const struct net *n, tern_time *first, tern_time *last)
{
	*first = TERN_TIME_NEVER;
	*last = -1;
	for (int p = 0; p < 65536; p++) {
		if (n->born[p] < 0)
			continue;
		if (n->born[p] < *first)
			*first = n->born[p];
		if (n->born[p] > *last)
			*last = n->born[p];
	}
}

/* Fills the client's ephemeral range [lo, hi] with TIME-WAIT entries. Exactly
 * hi - lo + 1 connects succeed, the first half on ports of lo's parity and the
 * second on the other (spec §8.1), each port once; the next fails with
 * EADDRNOTAVAIL whatever tcp_tw_reuse says, since no entry is 1000 ms old yet. */
static void fill_range(struct net *n, uint32_t lo, uint32_t hi)
{
	uint32_t range = hi - lo + 1;
	uint16_t *ports = calloc(range + 1, sizeof(*ports));
	uint8_t *seen = calloc(65536, 1);
	int rc;

	assert_true(range % 2 == 0);
	uint64_t ok = burst(n, range + 1, &rc, ports);
	if (ok != range)
		fail_msg("connect() #%llu failed (%s); expected the first failure at #%u",
			 (unsigned long long)ok + 1, rc ? tern_strerror(rc) : "none", range + 1);
	assert_int_equal(rc, -TERN_EADDRNOTAVAIL);
	for (uint32_t i = 0; i < range; i++) {
		uint16_t p = ports[i];
		assert_true(p >= lo && p <= hi);
		assert_false(seen[p]);
		seen[p] = 1;
		/* Ports of the range's low parity first: even for 32768. */
		if ((uint32_t)(p & 1) != ((i < range / 2) ? (lo & 1) : !(lo & 1)))
			fail_msg("connection #%u took port %u: the wrong parity for its half", i + 1, p);
	}
	settle(n);
	assert_int_equal(tern__tw_count(n->ts.client), range);
	assert_int_equal(tern__tw_count(n->ts.server), 0);   /* the client closed first */
	assert_int_equal(n->completed, range);
	assert_int_equal(n->accepted, range);
	assert_int_equal(ctr(n->ts.client, TERN_CTR_TcpExtTW), range);
	assert_int_equal(ctr(n->ts.client, TERN_CTR_TcpExtTWRecycled), 0);
	assert_int_equal(ctr(n->ts.client, TERN_CTR_TcpExtTCPTimeWaitOverflow), 0);
	/* Still exhausted once everything is TIME-WAIT. */
	assert_int_equal(open_conn(n, 0).rc, -TERN_EADDRNOTAVAIL);
	tern_time first, last;
	births(n, &first, &last);
	assert_true(last - first < REUSE_DELAY);   /* the whole range in under a second */
	free(ports);
	free(seen);
}

/* ---------------------------------------------------------------- the tests */

/*
 * The default range, 32768-60999 (28,232 ports), with timestamps; the quick run
 * (without TERN_TEST_LARGE) narrows it to 32768-36767 (4,000) because filling a
 * range costs connects x ports probes once one parity is full (each connect scans
 * every port of that parity first, as Linux's does). One fill, then each setting:
 * reuse=1 only after the delay (strictly after entry + 1000 ms); reuse=2 and 0 not
 * at all between non-loopback addresses; reuse=1 keeps connections coming at any
 * rate by recycling; reuse=0 again waits for the first entry to expire at 60 s.
 */
static void default_range_each_setting(void **state)
{
	(void)state;
	struct net *n = calloc(1, sizeof(*n));
	tern_time first, last;

	/* The default range unless the run is the quick one (see main). */
	const uint32_t lo = 32768, hi = getenv("TERN_TEST_LARGE") ? 60999 : 36767;
	const uint32_t range = hi - lo + 1;

	net_init(n, 61);
	if (hi == 60999) {
		char buf[32];
		assert_true(tern_sysctl_get(n->ts.client, "net.ipv4.ip_local_port_range", buf, sizeof(buf)) > 0);
		assert_string_equal(buf, "32768\t60999");
	} else {
		char r[32];
		snprintf(r, sizeof(r), "%u %u", lo, hi);
		set(n->ts.client, "net.ipv4.ip_local_port_range", r);
	}
	set(n->ts.client, "net.ipv4.tcp_tw_reuse", "0");
	fill_range(n, lo, hi);
	births(n, &first, &last);

	/* tcp_tw_reuse=1 (spec §6.7 (a)): refused while no entry is older than the
	 * delay: now, and at exactly first + 1000 ms (the test is strictly later). */
	set(n->ts.client, "net.ipv4.tcp_tw_reuse", "1");
	assert_int_equal(open_conn(n, 0).rc, -TERN_EADDRNOTAVAIL);
	run_to(n, first + REUSE_DELAY - 1);
	assert_int_equal(open_conn(n, 0).rc, -TERN_EADDRNOTAVAIL);
	run_to(n, first + REUSE_DELAY);
	assert_int_equal(open_conn(n, 0).rc, -TERN_EADDRNOTAVAIL);
	assert_int_equal(ctr(n->ts.client, TERN_CTR_TcpExtTWRecycled), 0);
	/* One millisecond later the oldest entries qualify, and only they. */
	run_to(n, first + REUSE_DELAY + MS);
	struct attempt a = open_conn(n, 0);
	assert_int_equal(a.rc, -TERN_EINPROGRESS);
	assert_true(a.recycled);
	assert_int_equal(a.old_born, first);
	assert_int_equal(ctr(n->ts.client, TERN_CTR_TcpExtTWRecycled), 1);
	settle(n);
	assert_int_equal(n->accepted, range + 1);   /* the server took the reused 4-tuple */

	/* Every original entry is now past the delay. tcp_tw_reuse=2 (the default)
	 * means loopback only: 10.0.0.1 -> 10.0.0.2 is refused, as with 0. */
	run_to(n, last + REUSE_DELAY + MS);
	set(n->ts.client, "net.ipv4.tcp_tw_reuse", "2");
	assert_int_equal(open_conn(n, 0).rc, -TERN_EADDRNOTAVAIL);
	set(n->ts.client, "net.ipv4.tcp_tw_reuse", "0");
	assert_int_equal(open_conn(n, 0).rc, -TERN_EADDRNOTAVAIL);
	assert_int_equal(ctr(n->ts.client, TERN_CTR_TcpExtTWRecycled), 1);

	/* tcp_tw_reuse=1: the client goes on at full speed. Every connect takes over a
	 * TIME-WAIT 4-tuple (all ports are held), TWRecycled counts each, each SYN
	 * carries old snd_nxt + 65537 (checked in open_conn), the server accepts
	 * every one: the whole range again within a second or two. */
	set(n->ts.client, "net.ipv4.tcp_tw_reuse", "1");
	tern_time t0 = tern_sim_now(n->ts.sim);
	uint64_t acc0 = n->accepted;
	int rc;
	uint64_t ok = burst(n, range - 1, &rc, NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(ok, range - 1);
	settle(n);
	assert_int_equal(ctr(n->ts.client, TERN_CTR_TcpExtTWRecycled), range);
	assert_int_equal(n->accepted - acc0, range - 1);
	assert_int_equal(tern__tw_count(n->ts.client), range);
	/* Every entry is now younger than the delay again: refused. */
	births(n, &first, &last);
	assert_true(tern_sim_now(n->ts.sim) - first < REUSE_DELAY);
	assert_int_equal(open_conn(n, 0).rc, -TERN_EADDRNOTAVAIL);
	print_message("reuse=1: %u connections in %.3f s of virtual time, every one a recycled 4-tuple\n",
		      range - 1, (double)(tern_sim_now(n->ts.sim) - t0) / SEC);
	assert_true(tern_sim_now(n->ts.sim) - t0 < 2 * SEC);

	/* tcp_tw_reuse=0 again: nothing until the oldest entry expires, exactly 60 s
	 * after it began (spec §6.5); then its port is free, with a fresh ISN. */
	set(n->ts.client, "net.ipv4.tcp_tw_reuse", "0");
	births(n, &first, &last);
	assert_int_equal(open_conn(n, 0).rc, -TERN_EADDRNOTAVAIL);
	run_to(n, first + TIMEWAIT - 1);
	assert_int_equal(tern__tw_count(n->ts.client), range);
	assert_int_equal(open_conn(n, 0).rc, -TERN_EADDRNOTAVAIL);
	run_to(n, first + TIMEWAIT);
	uint32_t expired = 0;
	for (uint32_t p = lo; p <= hi; p++)
		expired += n->born[p] == first;
	assert_true(expired > 0);
	assert_int_equal(tern__tw_count(n->ts.client), range - expired);
	for (uint32_t i = 0; i < expired; i++) {
		a = open_conn(n, 0);
		assert_int_equal(a.rc, -TERN_EINPROGRESS);
		assert_false(a.recycled);
		assert_int_equal(a.old_born, first);      /* one of the ports just freed */
		uint32_t reuse_isn = n->wire[a.port].prev_end + 65537;
		assert_true(n->wire[a.port].syn_seq != (reuse_isn ? reuse_isn : 1));
		n->born[a.port] = -1;   /* it belongs to the new connection now */
	}
	assert_int_equal(open_conn(n, 0).rc, -TERN_EADDRNOTAVAIL);
	assert_int_equal(ctr(n->ts.client, TERN_CTR_TcpExtTWRecycled), range);
	settle(n);
	assert_int_equal(ctr(n->ts.client, TERN_CTR_TcpAttemptFails), 0);
	assert_int_equal(ctr(n->ts.client, TERN_CTR_TcpEstabResets), 0);
	assert_int_equal(ctr(n->ts.client, TERN_CTR_TcpOutRsts), 0);
	assert_int_equal(ctr(n->ts.server, TERN_CTR_TcpOutRsts), 0);
	tcp_sim_fini(&n->ts);
	free(n);
}

/*
 * Without timestamps a TIME-WAIT entry cannot be reused (spec §6.7: the entry must
 * have ts_recent_stamp), even with tcp_tw_reuse=1 and old entries. The same run
 * with timestamps on is the control: there the reuse happens. A 1,000-port range
 * keeps it short.
 */
static void reuse_needs_timestamps(void **state)
{
	(void)state;
	for (int ts = 1; ts >= 0; ts--) {
		struct net *n = calloc(1, sizeof(*n));
		tern_time first, last;

		net_init(n, 62);
		set(n->ts.client, "net.ipv4.ip_local_port_range", "32768 33767");
		set(n->ts.client, "net.ipv4.tcp_tw_reuse", "1");
		set(n->ts.client, "net.ipv4.tcp_timestamps", ts ? "1" : "0");
		fill_range(n, 32768, 33767);
		births(n, &first, &last);
		run_to(n, last + 2 * REUSE_DELAY);
		struct attempt a = open_conn(n, 0);
		if (ts) {
			assert_int_equal(a.rc, -TERN_EINPROGRESS);
			assert_true(a.recycled);
		} else {
			assert_int_equal(a.rc, -TERN_EADDRNOTAVAIL);
			assert_int_equal(ctr(n->ts.client, TERN_CTR_TcpExtTWRecycled), 0);
		}
		settle(n);
		tcp_sim_fini(&n->ts);
		free(n);
	}
}

/*
 * tcp_tw_reuse=2, the default, is "loopback only" (spec §6.7): with an address in
 * 127/8 on the entry, the same fill as above is followed by reuse once the entries
 * are past the delay. (Between 10.0.0.1 and 10.0.0.2 it is refused: see
 * default_range_each_setting.)
 */
static void reuse_default_on_loopback(void **state)
{
	(void)state;
	struct net *n = calloc(1, sizeof(*n));
	tern_time first, last;
	char buf[16];

	net_init_at(n, 64, tern_addr_v4(127, 0, 0, 1), tern_addr_v4(127, 0, 0, 2));
	assert_true(tern_sysctl_get(n->ts.client, "net.ipv4.tcp_tw_reuse", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "2");
	set(n->ts.client, "net.ipv4.ip_local_port_range", "32768 33767");
	fill_range(n, 32768, 33767);
	births(n, &first, &last);
	run_to(n, last + REUSE_DELAY + MS);
	struct attempt a = open_conn(n, 0);
	assert_int_equal(a.rc, -TERN_EINPROGRESS);
	assert_true(a.recycled);
	settle(n);
	assert_int_equal(n->accepted, 1000 + 1);
	tcp_sim_fini(&n->ts);
	free(n);
}

/*
 * A socket bound to its port by bind() (spec §6.7 (b)): connect() to the 4-tuple
 * held by its own earlier incarnation's TIME-WAIT reuses it at once, with
 * tcp_tw_reuse=0 and long before the 1000 ms delay, if the entry has timestamps;
 * without timestamps it fails with EADDRNOTAVAIL. The second bind() needs
 * SO_REUSEADDR on both sockets (spec §8.3).
 */
static void explicit_bind_reuses(void **state)
{
	(void)state;
	for (int ts = 1; ts >= 0; ts--) {
		struct net *n = calloc(1, sizeof(*n));
		const uint16_t port = 5000;

		net_init(n, 63);
		set(n->ts.client, "net.ipv4.tcp_tw_reuse", "0");
		set(n->ts.client, "net.ipv4.tcp_timestamps", ts ? "1" : "0");
		struct attempt a = open_conn(n, port);
		assert_int_equal(a.rc, -TERN_EINPROGRESS);
		assert_int_equal(a.port, port);
		assert_false(a.recycled);
		settle(n);
		assert_int_equal(tern__tw_count(n->ts.client), 1);
		tern_time born = n->born[port];
		assert_true(born > 0);

		/* Without SO_REUSEADDR the TIME-WAIT entry holds the port against bind(). */
		int fd = tern_socket(n->ts.client, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
		struct tern_sockaddr me = { .addr = n->caddr, .port = port };
		assert_int_equal(tern_bind(n->ts.client, fd, &me), -TERN_EADDRINUSE);
		assert_int_equal(tern_close(n->ts.client, fd), 0);

		run_to(n, born + 10 * MS);   /* far inside the 1000 ms delay */
		a = open_conn(n, port);
		if (ts) {
			assert_int_equal(a.rc, -TERN_EINPROGRESS);
			assert_true(a.recycled);   /* and the ISN rule, checked in open_conn */
			assert_int_equal(ctr(n->ts.client, TERN_CTR_TcpExtTWRecycled), 1);
			settle(n);
			assert_int_equal(n->accepted, 2);
			assert_int_equal(n->completed, 2);
		} else {
			assert_int_equal(a.rc, -TERN_EADDRNOTAVAIL);
			assert_int_equal(ctr(n->ts.client, TERN_CTR_TcpExtTWRecycled), 0);
			assert_int_equal(tern__tw_count(n->ts.client), 1);
		}
		tcp_sim_fini(&n->ts);
		free(n);
	}
}

/* bind() to addr:port on the client stack, with the given options; the result. */
static int try_bind(struct net *n, struct tern_addr addr, uint16_t port, int reuseaddr, int reuseport)
{
	struct tern_stack *st = n->ts.client;
	int fd = tern_socket(st, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	struct tern_sockaddr me = { .addr = addr, .port = port };

	assert_true(fd >= 3);
	assert_int_equal(tern_setsockopt(st, fd, TERN_SOL_SOCKET, TERN_SO_REUSEADDR, &reuseaddr, sizeof(int)), 0);
	assert_int_equal(tern_setsockopt(st, fd, TERN_SOL_SOCKET, TERN_SO_REUSEPORT, &reuseport, sizeof(int)), 0);
	int rc = tern_bind(st, fd, &me);
	assert_int_equal(tern_close(st, fd), 0);
	return rc;
}

/*
 * TIME-WAIT entries hold their local ports against bind() (spec §8.3), on the
 * exact address and on the wildcard, unless SO_REUSEPORT is set, or SO_REUSEADDR
 * is set on both the new socket and the closed one; the hold ends with the entry.
 * 2,000 ports, half of them closed with SO_REUSEADDR, so the per-port accounting
 * grows, is probed for every port, and empties entry by entry at expiry.
 */
static void time_wait_holds_ports(void **state)
{
	(void)state;
	struct net *n = calloc(1, sizeof(*n));
	const uint16_t lo = 40000, nports = 2000;
	struct tern_addr any = { .family = TERN_AF_INET };

	net_init(n, 64);
	for (uint16_t i = 0; i < nports; i++) {
		/* Even offsets: bound with SO_REUSEADDR (open_conn sets it); odd: an
		 * ephemeral port from a one-port range, so the socket had none. */
		uint16_t port = (uint16_t)(lo + i);
		if (i % 2 == 0) {
			assert_int_equal(open_conn(n, port).rc, -TERN_EINPROGRESS);
		} else {
			char r[32];
			snprintf(r, sizeof(r), "%u %u", port, port);
			set(n->ts.client, "net.ipv4.ip_local_port_range", r);
			struct attempt a = open_conn(n, 0);
			assert_int_equal(a.rc, -TERN_EINPROGRESS);
			assert_int_equal(a.port, port);
		}
		if (n->live >= CONCURRENCY)
			settle(n);
	}
	settle(n);
	assert_int_equal(tern__tw_count(n->ts.client), nports);
	tern_time born_last = -1;
	for (uint16_t i = 0; i < nports; i++)
		if (n->born[lo + i] > born_last)
			born_last = n->born[lo + i];

	for (uint16_t i = 0; i < nports; i++) {
		uint16_t port = (uint16_t)(lo + i);
		bool had_reuseaddr = i % 2 == 0;
		assert_int_equal(try_bind(n, n->caddr, port, 0, 0), -TERN_EADDRINUSE);
		assert_int_equal(try_bind(n, any, port, 0, 0), -TERN_EADDRINUSE);
		assert_int_equal(try_bind(n, n->caddr, port, 1, 0), had_reuseaddr ? 0 : -TERN_EADDRINUSE);
		assert_int_equal(try_bind(n, any, port, 1, 0), had_reuseaddr ? 0 : -TERN_EADDRINUSE);
		assert_int_equal(try_bind(n, n->caddr, port, 0, 1), 0);
	}
	/* Ports next to them are free. */
	assert_int_equal(try_bind(n, n->caddr, (uint16_t)(lo - 1), 0, 0), 0);
	assert_int_equal(try_bind(n, any, (uint16_t)(lo + nports), 0, 0), 0);

	/* 60 s after the last entry began, every port is free again. */
	run_to(n, born_last + TIMEWAIT + MS);
	assert_int_equal(tern__tw_count(n->ts.client), 0);
	for (uint16_t i = 0; i < nports; i++) {
		assert_int_equal(try_bind(n, n->caddr, (uint16_t)(lo + i), 0, 0), 0);
		assert_int_equal(try_bind(n, any, (uint16_t)(lo + i), 0, 0), 0);
	}
	tcp_sim_fini(&n->ts);
	free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_range_each_setting),
		cmocka_unit_test(reuse_needs_timestamps),
		cmocka_unit_test(reuse_default_on_loopback),
		cmocka_unit_test(explicit_bind_reuses),
		cmocka_unit_test(time_wait_holds_ports),
	};
	/* TERN_TEST_LARGE runs the first test on the default 28,232-port range (CTest
	 * runs it so, as its own test, sim.tw_reuse_default_range); TERN_TEST_FILTER
	 * picks tests by name. */
	if (getenv("TERN_TEST_FILTER"))
		cmocka_set_test_filter(getenv("TERN_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
