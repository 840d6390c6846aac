/*
 * bench/linux_lifecycle.c: the kernel's side of `tern bench lifecycle`.
 *
 * The same pattern tools/bench_lifecycle.c runs on the simulated network, here
 * over loopback with the kernel's sockets: one thread and one epoll instance hold
 * both the clients and the server, and N lifecycles are kept in flight. A
 * lifecycle is a non-blocking connect to 127.0.0.1, one byte sent when the socket
 * turns writable, accept4 on the server, which reads the byte and closes first
 * (so TIME-WAIT lands on the server side, as with an HTTP/1.0 server), and the
 * client reading end-of-file and closing. The rate is lifecycles completed per
 * second of wall time, measured after a short warm-up.
 *
 *   linux-lifecycle [--inflight N] [--count M] [--seconds S]
 *
 * The run stops after M lifecycles or after S seconds (default 3), whichever comes
 * first, so a slow machine still answers in bounded time. It needs no privileges:
 * the listener takes an ephemeral port, so concurrent runs do not collide.
 *
 * Ports: each connection uses a client port only until the client closes, since
 * the server holds the TIME-WAIT. Should connect() ever say EADDRNOTAVAIL anyway,
 * the clients move to explicit source addresses spread over 127.0.0.0/8 (all of it
 * is loopback on Linux) with IP_BIND_ADDRESS_NO_PORT, and the JSON reports how
 * often that happened.
 *
 * Output: one JSON object on stdout:
 *   {"rate", "lifecycles", "failed", "wall_s", "inflight", "mode", ...}
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MAX_EVENTS 512

/* What an epoll event's fd is; the fd itself sits in the low 32 bits. */
enum role { ROLE_LISTEN = 1, ROLE_CLIENT = 2, ROLE_SERVER = 3 };

struct lc {
	int ep, lfd;
	struct sockaddr_in dst;
	int inflight;
	int open;                 /* client sockets now open */
	uint64_t target;          /* lifecycles wanted: stop starting at this count */
	uint64_t started, done, failed;
	uint64_t addrnotavail;    /* connect() said EADDRNOTAVAIL */
	bool spread;              /* bind clients to varying 127.x.y.z */
	uint32_t next_src;        /* the next source in 127.0.0.0/8, host order */
	double deadline;          /* wall time after which nothing new starts */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t ev_data(enum role r, int fd)
{
	return ((uint64_t)r << 32) | (uint32_t)fd;
}

static int die(const char *what)
{
	/* Errors go to stdout too, as JSON, so the caller can show why. */
	printf("{\"error\":\"%s: %s\"}\n", what, strerror(errno));
	return 1;
}

/* The next loopback source: 127.0.0.2 upwards, skipping .0 and .255 host bytes. */
static uint32_t next_source(struct lc *lc)
{
	for (;;) {
		uint32_t a = lc->next_src++;
		if (lc->next_src >= 0x7fffff00u)
			lc->next_src = 0x7f000002u;
		if ((a & 0xff) != 0 && (a & 0xff) != 0xff)
			return a;
	}
}

/* Opens one client connection. 0, or -errno after counting the failure. */
static int start_one(struct lc *lc)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (lc->spread) {
		int one = 1;
		struct sockaddr_in src = { .sin_family = AF_INET };
		src.sin_addr.s_addr = htonl(next_source(lc));
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
	}
	if (connect(fd, (struct sockaddr *)&lc->dst, sizeof(lc->dst)) < 0 &&
	    errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return -e;
	}
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = ev_data(ROLE_CLIENT, fd) };
	if (epoll_ctl(lc->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	lc->started++;
	lc->open++;
	return 0;
}

static void refill(struct lc *lc)
{
	if (now_s() > lc->deadline)
		lc->target = lc->started;
	while (lc->open < lc->inflight && lc->started < lc->target) {
		int r = start_one(lc);
		if (r == -EADDRNOTAVAIL && !lc->spread) {
			/* Out of ports towards 127.0.0.1: spread the sources. */
			lc->addrnotavail++;
			lc->spread = true;
			continue;
		}
		if (r < 0) {
			if (r == -EADDRNOTAVAIL)
				lc->addrnotavail++;
			lc->failed++;
			lc->target--;      /* never spin on a failing connect */
		}
	}
}

static void client_event(struct lc *lc, int fd, uint32_t e)
{
	if (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		char b[16];
		ssize_t n = read(fd, b, sizeof(b));
		if (n < 0 && errno == EAGAIN)
			return;
		if (n == 0)
			lc->done++;
		else
			lc->failed++;
		close(fd);        /* also leaves the epoll set */
		lc->open--;
		return;
	}
	if (e & EPOLLOUT) {
		ssize_t n = write(fd, "x", 1);
		if (n != 1) {
			lc->failed++;
			close(fd);
			lc->open--;
			return;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ev_data(ROLE_CLIENT, fd) };
		epoll_ctl(lc->ep, EPOLL_CTL_MOD, fd, &ev);
	}
}

/* The server read the client's byte (or saw it go away): close first. */
static void server_event(struct lc *lc, int fd)
{
	(void)lc;
	char b[16];
	ssize_t n = read(fd, b, sizeof(b));
	if (n < 0 && errno == EAGAIN)
		return;
	close(fd);
}

static void accept_all(struct lc *lc)
{
	for (;;) {
		int c = accept4(lc->lfd, NULL, NULL, SOCK_NONBLOCK);
		if (c < 0)
			return;
		/* On loopback the byte has often arrived before accept. */
		char b[16];
		ssize_t n = read(c, b, sizeof(b));
		if (!(n < 0 && errno == EAGAIN)) {
			close(c);
			continue;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ev_data(ROLE_SERVER, c) };
		if (epoll_ctl(lc->ep, EPOLL_CTL_ADD, c, &ev) < 0)
			close(c);
	}
}

/* Runs `count` lifecycles (fewer if the deadline passes); returns wall seconds. */
static double run(struct lc *lc, uint64_t count, double max_s)
{
	struct epoll_event evs[MAX_EVENTS];
	double t0 = now_s();
	lc->deadline = t0 + max_s;
	lc->target = lc->started + count;
	refill(lc);
	while (lc->open > 0) {
		/* Three idle seconds outlast a SYN retransmission (1 s): then the
		 * rest is given up and counted as failed. */
		int n = epoll_wait(lc->ep, evs, MAX_EVENTS, 3000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			int fd = (int)(uint32_t)evs[i].data.u64;
			switch ((enum role)(evs[i].data.u64 >> 32)) {
			case ROLE_LISTEN:
				accept_all(lc);
				break;
			case ROLE_CLIENT:
				client_event(lc, fd, evs[i].events);
				break;
			case ROLE_SERVER:
				server_event(lc, fd);
				break;
			}
		}
		refill(lc);
	}
	return now_s() - t0;
}

static int usage(const char *msg)
{
	fprintf(stderr, "linux-lifecycle: %s\n"
		"usage: linux-lifecycle [--inflight N] [--count M] [--seconds S]\n", msg);
	return 2;
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	double inflight = 256, count = 200000, seconds = 3;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		double *slot = NULL, lo = 1, hi = 1e12;
		if (!strcmp(a, "--inflight"))
			slot = &inflight, hi = 100000;
		else if (!strcmp(a, "--count"))
			slot = &count;
		else if (!strcmp(a, "--seconds"))
			slot = &seconds, lo = 0.01, hi = 3600;
		else
			return usage("unknown argument");
		if (i + 1 >= argc || !parse_num(argv[++i], lo, hi, slot))
			return usage("bad or missing value");
	}

	/* Two descriptors per lifecycle in flight (client and accepted server). */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)(2 * inflight + 64)) {
		printf("{\"error\":\"RLIMIT_NOFILE %llu is too small for %.0f in flight\"}\n",
		       (unsigned long long)rl.rlim_cur, inflight);
		return 1;
	}

	struct lc lc = { .inflight = (int)inflight, .next_src = 0x7f000002u };
	lc.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lc.lfd < 0)
		return die("socket");
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = 0 };
	any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(lc.dst);
	/* A deep backlog, as the tern side gets; the kernel caps it at somaxconn
	 * (4096 on a fresh system), which is plenty for the default flight. */
	int backlog = inflight < 128 ? 4096 : (int)inflight * 4;
	if (bind(lc.lfd, (struct sockaddr *)&any, sizeof(any)) < 0)
		return die("bind");
	if (listen(lc.lfd, backlog) < 0)
		return die("listen");
	if (getsockname(lc.lfd, (struct sockaddr *)&lc.dst, &alen) < 0)
		return die("getsockname");
	lc.ep = epoll_create1(0);
	if (lc.ep < 0)
		return die("epoll_create1");
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ev_data(ROLE_LISTEN, lc.lfd) };
	if (epoll_ctl(lc.ep, EPOLL_CTL_ADD, lc.lfd, &ev) < 0)
		return die("epoll_ctl");

	/* Warm-up: a tenth of the run (at most half a second) fills the kernel's
	 * caches and slabs; it is not counted. */
	(void)run(&lc, (uint64_t)(count / 10) + 1, 0.5);
	uint64_t done0 = lc.done, failed0 = lc.failed;
	double wall = run(&lc, (uint64_t)count, seconds);
	uint64_t done = lc.done - done0, failed = lc.failed - failed0;
	if (lc.open > 0)
		failed += (uint64_t)lc.open;  /* stalled: counted as failed */

	printf("{\"rate\":%.1f,\"lifecycles\":%llu,\"failed\":%llu,\"wall_s\":%.6f,"
	       "\"inflight\":%d,\"addrnotavail\":%llu,\"spread_sources\":%s,"
	       "\"mode\":\"loopback, one thread, epoll\"}\n",
	       wall > 0 ? (double)done / wall : 0.0, (unsigned long long)done,
	       (unsigned long long)failed, wall, lc.inflight,
	       (unsigned long long)lc.addrnotavail, lc.spread ? "true" : "false");
	return 0;
}
