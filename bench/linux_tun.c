/*
 * bench/linux_tun.c: the kernel's side of `tern bench tun`, in three modes.
 *
 *   linux-tun client --addr A [--netns NS] --test http|upload|download
 *                    [--seconds S] [--conns N] [--size N]
 *   linux-tun server [--netns NS]
 *   linux-tun veth [--seconds S] [--conns N] [--size N]
 *
 * client is the one program that measures, against tern's server (tools/
 * bench_tun.c runs it inside `tern serve`'s namespace) and against the kernel's
 * (veth mode runs it against the server mode):
 *   http      N connections kept in flight, each a non-blocking connect to port
 *             80, "GET /SIZE" with Connection: close, the whole answer read (status
 *             200, SIZE body bytes), the server closing first, then close; the
 *             rate is connections completed per second;
 *   upload    one connection to port 9 (discard), 256 KiB writes for S seconds,
 *             then a half-close and the server's FIN: every byte has been taken
 *             by the server's application when the clock stops;
 *   download  one connection to port 19 (chargen), reads for S seconds, then
 *             half-closes and reads to the server's FIN (not timed).
 * server provides what tern serve's http, discard and chargen apps do, for the
 * kernel: one thread, one epoll set, non-blocking sockets (as tern serve).
 * veth builds the kernel-to-kernel pair: two fresh network namespaces joined by
 * a veth link (192.0.2.1 for the client, 192.0.2.2 for the server; the kernel's
 * defaults, so TSO, GSO and GRO on), the server forked into one, the client run
 * in the other, both namespaces removed at the end (whatever happens).
 *
 * Output: one JSON object on stdout, errors too ({"error": "..."}, exit 1).
 * Needs root for namespaces (veth, --netns); client and server need nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PORT_HTTP 80
#define PORT_DISCARD 9
#define PORT_CHARGEN 19
#define IO_BYTES (256 * 1024)
#define MAX_CONNS 1024
#define MAX_EVENTS 256
/* How long in-flight HTTP connections may take to finish after the measured time. */
#define DRAIN_S 5.0

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Prints {"error": "..."} and exits 1. */
static void die(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 32)
			*p = ' ';
	printf("{\"error\":\"%s\"}\n", msg);
	exit(1);
}

static void enter_netns(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		die("cannot enter network namespace %s: %s", name, strerror(errno));
	close(fd);
}

/* ------------------------------------------------------------ the client */

struct client_opts {
	struct sockaddr_in dst;    /* port filled per test */
	double seconds;
	int conns;
	long size;
};

enum { C_CONNECTING, C_READING };

struct hconn {
	int fd;                    /* -1: free */
	int phase;
	size_t got;                /* bytes of the answer so far */
	char head[512];            /* its first bytes, to check */
};

struct http_result {
	uint64_t done, failed;
	double wall_s, rate;
};

/* The answer is complete and right: status 200 and `size` bytes of body. */
static bool http_ok(const struct hconn *c, long size)
{
	size_t kept = c->got < sizeof(c->head) ? c->got : sizeof(c->head);
	if (kept < 12 || memcmp(c->head, "HTTP/1.1 200", 12))
		return false;
	const char *end = memmem(c->head, kept, "\r\n\r\n", 4);
	if (!end)
		return false;
	return c->got - (size_t)(end + 4 - c->head) == (size_t)size;
}

static int http_start(int ep, const struct client_opts *o, struct hconn *c)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&o->dst, sizeof(o->dst)) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return -e;
	}
	*c = (struct hconn){ .fd = fd, .phase = C_CONNECTING };
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		close(fd);
		c->fd = -1;
		return -e;
	}
	return 0;
}

/* One event of a client connection. true when it has ended (and is closed). */
static bool http_event(int ep, const struct client_opts *o, struct hconn *c, uint32_t e,
		       struct http_result *r)
{
	if (c->phase == C_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		char req[128];
		int n = snprintf(req, sizeof(req),
				 "GET /%ld HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n", o->size);
		if (err || send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
			goto failed;
		c->phase = C_READING;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		return false;
	}
	(void)e;
	for (;;) {
		char buf[16384];
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n < 0)
			goto failed;
		if (n == 0)
			break;
		if (c->got < sizeof(c->head)) {
			size_t k = sizeof(c->head) - c->got < (size_t)n ? sizeof(c->head) - c->got : (size_t)n;
			memcpy(c->head + c->got, buf, k);
		}
		c->got += (size_t)n;
	}
	if (http_ok(c, o->size))
		r->done++;
	else
		r->failed++;
	close(c->fd);
	c->fd = -1;
	return true;
failed:
	r->failed++;
	close(c->fd);
	c->fd = -1;
	return true;
}

static struct http_result run_http(const struct client_opts *o)
{
	static struct hconn conns[MAX_CONNS];
	struct epoll_event evs[MAX_EVENTS];
	struct http_result r = { 0 };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	int open_n = 0;
	double t0 = now_s(), until = t0 + o->seconds;
	for (int i = 0; i < o->conns; i++) {
		int rc = http_start(ep, o, &conns[i]);
		if (rc < 0)
			die("connect: %s", strerror(-rc));
		open_n++;
	}
	while (open_n > 0) {
		double now = now_s();
		if (now > until + DRAIN_S || stop)
			break;
		int n = epoll_wait(ep, evs, MAX_EVENTS, 100);
		for (int i = 0; i < n; i++) {
			struct hconn *c = evs[i].data.ptr;
			if (!http_event(ep, o, c, evs[i].events, &r))
				continue;
			open_n--;
			if (now_s() < until && !stop) {
				if (http_start(ep, o, c) < 0)
					r.failed++;
				else
					open_n++;
			}
		}
	}
	r.wall_s = now_s() - t0;
	r.failed += (uint64_t)open_n;    /* never finished */
	r.rate = r.wall_s > 0 ? (double)r.done / r.wall_s : 0;
	close(ep);
	return r;
}

struct stream_result {
	uint64_t bytes;
	double wall_s, gbps;
};

static int connect_blocking(const struct client_opts *o, uint16_t port)
{
	struct sockaddr_in dst = o->dst;
	dst.sin_port = htons(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		die("connect to port %u: %s", port, strerror(errno));
	return fd;
}

/* Writes to discard for the measured time; the clock stops at the server's FIN,
 * which it sends once it has read our FIN, so after every byte. */
static struct stream_result run_upload(const struct client_opts *o)
{
	static uint8_t buf[IO_BYTES];
	struct stream_result r = { 0 };
	memset(buf, 'u', sizeof(buf));
	int fd = connect_blocking(o, PORT_DISCARD);
	double t0 = now_s(), until = t0 + o->seconds;
	while (!stop && now_s() < until) {
		ssize_t n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("upload: send: %s", n < 0 ? strerror(errno) : "nothing taken");
		r.bytes += (uint64_t)n;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("upload: waiting for the server's FIN: %s", strerror(errno));
		if (n == 0)
			break;
	}
	r.wall_s = now_s() - t0;
	close(fd);
	r.gbps = (double)r.bytes * 8 / r.wall_s / 1e9;
	return r;
}

static struct stream_result run_download(const struct client_opts *o)
{
	static uint8_t buf[IO_BYTES];
	struct stream_result r = { 0 };
	int fd = connect_blocking(o, PORT_CHARGEN);
	double t0 = now_s(), until = t0 + o->seconds;
	while (!stop && now_s() < until) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("download: recv: %s", n < 0 ? strerror(errno) : "the server closed");
		r.bytes += (uint64_t)n;
	}
	r.wall_s = now_s() - t0;
	/* An orderly end, not counted: chargen closes once it reads our FIN, and
	 * what it still had in flight is read and dropped (no RST for unread data). */
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	shutdown(fd, SHUT_WR);
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	close(fd);
	r.gbps = (double)r.bytes * 8 / r.wall_s / 1e9;
	return r;
}

/* Ports for a long run of short connections: the namespace is ours. */
static void widen_ports(void)
{
	int fd = open("/proc/sys/net/ipv4/ip_local_port_range", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1024 65535\n", 11) < 0) {
			/* the default range then */
		}
		close(fd);
	}
}

/* ------------------------------------------------------------ the server */

enum { S_LISTEN_HTTP = 1, S_LISTEN_DISCARD, S_LISTEN_CHARGEN, S_HTTP, S_DISCARD, S_CHARGEN };

struct sconn {
	int fd, kind;
	char req[2048];
	size_t req_len;
	uint64_t body_left;         /* of the answer being sent */
	char head[256];
	size_t head_len, head_off;
	bool close_after;
};

static uint8_t pattern[IO_BYTES];

static struct sconn listeners[3];

static int listen_on(int ep, struct sconn *l, uint16_t port, int kind)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0) {
		close(fd);
		return -1;
	}
	l->fd = fd;
	l->kind = kind;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void sconn_end(struct sconn *c)
{
	close(c->fd);
	free(c);
}

static void set_interest(int ep, struct sconn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Sends what is left of the current answer. 1 done, 0 would block, -1 failed. */
static int http_send(struct sconn *c)
{
	while (c->head_off < c->head_len) {
		ssize_t n = send(c->fd, c->head + c->head_off, c->head_len - c->head_off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->head_off += (size_t)n;
	}
	while (c->body_left) {
		size_t k = c->body_left < sizeof(pattern) ? (size_t)c->body_left : sizeof(pattern);
		ssize_t n = send(c->fd, pattern, k, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->body_left -= (uint64_t)n;
	}
	return 1;
}

/* Answers every complete request in the buffer (GET /N: N bytes). false: close. */
static bool http_serve(int ep, struct sconn *c)
{
	for (;;) {
		if (c->head_off < c->head_len || c->body_left) {
			int r = http_send(c);
			if (r < 0)
				return false;
			if (r == 0) {
				set_interest(ep, c, EPOLLOUT);
				return true;
			}
			if (c->close_after)
				return false;      /* the server closes first */
			set_interest(ep, c, EPOLLIN);
		}
		char *end = memmem(c->req, c->req_len, "\r\n\r\n", 4);
		if (!end)
			return c->req_len < sizeof(c->req);
		size_t used = (size_t)(end + 4 - c->req);
		long n = -1;
		if (!strncmp(c->req, "GET /", 5))
			n = strtol(c->req + 5, NULL, 10);
		c->close_after = memmem(c->req, used, "Connection: close", 17) != NULL;
		if (n < 0) {
			c->head_len = (size_t)snprintf(c->head, sizeof(c->head),
				"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
			c->body_left = 0;
		} else {
			c->head_len = (size_t)snprintf(c->head, sizeof(c->head),
				"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %ld\r\n%s\r\n",
				n, c->close_after ? "Connection: close\r\n" : "");
			c->body_left = (uint64_t)n;
		}
		c->head_off = 0;
		memmove(c->req, c->req + used, c->req_len - used);
		c->req_len -= used;
	}
}

static void server_event(int ep, struct sconn *c, uint32_t e)
{
	char sink[65536];
	if (c->kind == S_HTTP) {
		if (e & EPOLLIN) {
			ssize_t n = recv(c->fd, c->req + c->req_len, sizeof(c->req) - c->req_len, 0);
			if (n == 0 || (n < 0 && errno != EAGAIN)) {
				sconn_end(c);
				return;
			}
			if (n > 0)
				c->req_len += (size_t)n;
		}
		if (!http_serve(ep, c))
			sconn_end(c);
		return;
	}
	if (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		for (int i = 0; i < 16; i++) {
			ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
			if (n == 0 || (n < 0 && errno != EAGAIN)) {
				sconn_end(c);
				return;
			}
			if (n < 0)
				break;
		}
	}
	if (c->kind == S_CHARGEN && (e & EPOLLOUT)) {
		ssize_t n = send(c->fd, pattern, sizeof(pattern), MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN)
			sconn_end(c);
	}
}

static void accept_all(int ep, int lfd, int kind)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct sconn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->kind = kind;
		struct epoll_event ev = { .events = kind == S_CHARGEN ? EPOLLIN | EPOLLOUT : EPOLLIN,
					  .data.ptr = c };
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

/* Serves until SIGTERM. `ready` (if >= 0) gets one byte once listening. */
static int serve(int ready)
{
	struct epoll_event evs[MAX_EVENTS];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(' ' + i % 95);
	if (ep < 0 || listen_on(ep, &listeners[0], PORT_HTTP, S_LISTEN_HTTP) < 0 ||
	    listen_on(ep, &listeners[1], PORT_DISCARD, S_LISTEN_DISCARD) < 0 ||
	    listen_on(ep, &listeners[2], PORT_CHARGEN, S_LISTEN_CHARGEN) < 0)
		return 1;
	if (ready >= 0) {
		if (write(ready, "r", 1) != 1)
			return 1;
		close(ready);
	}
	while (!stop) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, 200);
		for (int i = 0; i < n; i++) {
			struct sconn *c = evs[i].data.ptr;
			if (c->kind <= S_LISTEN_CHARGEN)
				accept_all(ep, c->fd, c->kind + (S_HTTP - S_LISTEN_HTTP));
			else
				server_event(ep, c, evs[i].events);
		}
	}
	return 0;
}

/* ------------------------------------------------------------ veth mode */

/* Runs `ip ARGS...` quietly. 0, or -1 with ip's first line of complaint in why. */
static int run_ip(char *why, size_t why_len, ...)
{
	char *argv[24];
	int n = 0;
	va_list ap;
	va_start(ap, why_len);
	argv[n++] = "ip";
	while (n < 23 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], STDERR_FILENO);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);
		execvp("ip", argv);
		fprintf(stderr, "cannot run ip: %s\n", strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	char buf[256];
	ssize_t got = pid > 0 ? read(pfd[0], buf, sizeof(buf) - 1) : -1;
	close(pfd[0]);
	buf[got > 0 ? got : 0] = 0;
	int status = 1;
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	buf[strcspn(buf, "\n")] = 0;
	snprintf(why, why_len, "ip %s %s: %s", argv[1], argv[2] ? argv[2] : "",
		 *buf ? buf : "failed");
	return -1;
}

static char ns_cli[64], ns_srv[64];
static pid_t server_pid = -1;

static void veth_cleanup(void)
{
	char why[256];
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		while (waitpid(server_pid, NULL, 0) < 0 && errno == EINTR)
			;
		server_pid = -1;
	}
	/* The veth pair goes with the namespaces. */
	if (ns_cli[0])
		run_ip(why, sizeof(why), "netns", "del", ns_cli, (char *)NULL);
	if (ns_srv[0])
		run_ip(why, sizeof(why), "netns", "del", ns_srv, (char *)NULL);
	ns_cli[0] = ns_srv[0] = 0;
}

static void veth_fail(const char *why)
{
	veth_cleanup();
	die("%s", why);
}

static void run_veth(struct client_opts *o)
{
	char why[256], vc[16], vs[16];
	if (geteuid() != 0)
		die("needs root (network namespaces and a veth pair)");
	/* A failure anywhere below (die) still removes what was made. */
	atexit(veth_cleanup);
	snprintf(ns_cli, sizeof(ns_cli), "tern-bvc-%d", (int)getpid());
	snprintf(ns_srv, sizeof(ns_srv), "tern-bvs-%d", (int)getpid());
	snprintf(vc, sizeof(vc), "tbvc%d", (int)getpid() % 10000000);
	snprintf(vs, sizeof(vs), "tbvs%d", (int)getpid() % 10000000);
	if (run_ip(why, sizeof(why), "netns", "add", ns_cli, (char *)NULL) < 0) {
		ns_cli[0] = ns_srv[0] = 0;
		die("%s", why);
	}
	if (run_ip(why, sizeof(why), "netns", "add", ns_srv, (char *)NULL) < 0) {
		ns_srv[0] = 0;
		veth_fail(why);
	}
	if (run_ip(why, sizeof(why), "link", "add", vc, "netns", ns_cli, "type", "veth", "peer", "name",
		   vs, "netns", ns_srv, (char *)NULL) < 0 ||
	    run_ip(why, sizeof(why), "-n", ns_cli, "addr", "add", "192.0.2.1/24", "dev", vc, (char *)NULL) < 0 ||
	    run_ip(why, sizeof(why), "-n", ns_srv, "addr", "add", "192.0.2.2/24", "dev", vs, (char *)NULL) < 0 ||
	    run_ip(why, sizeof(why), "-n", ns_cli, "link", "set", vc, "up", (char *)NULL) < 0 ||
	    run_ip(why, sizeof(why), "-n", ns_srv, "link", "set", vs, "up", (char *)NULL) < 0 ||
	    run_ip(why, sizeof(why), "-n", ns_cli, "link", "set", "lo", "up", (char *)NULL) < 0 ||
	    run_ip(why, sizeof(why), "-n", ns_srv, "link", "set", "lo", "up", (char *)NULL) < 0)
		veth_fail(why);

	int rfd[2];
	if (pipe2(rfd, O_CLOEXEC) < 0)
		veth_fail("pipe failed");
	fflush(stdout);
	server_pid = fork();
	if (server_pid < 0)
		veth_fail("fork failed");
	if (server_pid == 0) {
		/* The parent cleans up; this copy of the names must not. */
		char mine[sizeof(ns_srv)];
		memcpy(mine, ns_srv, sizeof(mine));
		server_pid = -1;
		ns_cli[0] = ns_srv[0] = 0;
		close(rfd[0]);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		enter_netns(mine);
		_exit(serve(rfd[1]));
	}
	close(rfd[1]);
	char c;
	if (read(rfd[0], &c, 1) != 1)
		veth_fail("the server did not start");
	close(rfd[0]);

	enter_netns(ns_cli);
	widen_ports();
	inet_pton(AF_INET, "192.0.2.2", &o->dst.sin_addr);
	o->dst.sin_port = htons(PORT_HTTP);
	struct http_result h = run_http(o);
	struct stream_result u = run_upload(o);
	struct stream_result d = run_download(o);
	veth_cleanup();
	printf("{\"mode\":\"kernel client, kernel server (one epoll thread) over veth between two "
	       "namespaces, veth offloads (TSO, GSO, GRO) on\",\"seconds\":%g,\"conns\":%d,\"size\":%ld,"
	       "\"http_conns_per_s\":%.1f,\"http_conns\":%llu,\"http_failed\":%llu,\"http_wall_s\":%.3f,"
	       "\"gbps\":%.3f,\"upload_bytes\":%llu,\"upload_wall_s\":%.3f,\"gbps_down\":%.3f}\n",
	       o->seconds, o->conns, o->size, h.rate, (unsigned long long)h.done,
	       (unsigned long long)h.failed, h.wall_s, u.gbps, (unsigned long long)u.bytes, u.wall_s,
	       d.gbps);
}

/* ------------------------------------------------------------ main */

static void usage_error(const char *msg)
{
	die("%s (usage: linux-tun client|server|veth [--addr A] [--netns NS] [--test http|upload|"
	    "download] [--seconds S] [--conns N] [--size N])", msg);
}

int main(int argc, char **argv)
{
	struct client_opts o = { .seconds = 3, .conns = 16, .size = 100 };
	const char *addr = NULL, *netns = NULL, *test = NULL;

	if (argc < 2)
		usage_error("no mode");
	const char *mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage_error("an option lacks its value");
		i++;
		char *end;
		if (!strcmp(a, "--addr"))
			addr = v;
		else if (!strcmp(a, "--netns"))
			netns = v;
		else if (!strcmp(a, "--test"))
			test = v;
		else if (!strcmp(a, "--seconds")) {
			o.seconds = strtod(v, &end);
			if (*end || !(o.seconds > 0 && o.seconds <= 3600))
				usage_error("--seconds: not in (0, 3600]");
		} else if (!strcmp(a, "--conns")) {
			o.conns = (int)strtol(v, &end, 10);
			if (*end || o.conns < 1 || o.conns > MAX_CONNS)
				usage_error("--conns: not in 1..1024");
		} else if (!strcmp(a, "--size")) {
			o.size = strtol(v, &end, 10);
			if (*end || o.size < 0 || o.size > (1L << 30))
				usage_error("--size: not in 0..2^30");
		} else {
			usage_error("unknown option");
		}
	}
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	o.dst.sin_family = AF_INET;

	if (!strcmp(mode, "veth")) {
		run_veth(&o);
		return 0;
	}
	if (netns)
		enter_netns(netns);
	if (!strcmp(mode, "server"))
		return serve(-1);
	if (strcmp(mode, "client"))
		usage_error("unknown mode");
	if (!addr || inet_pton(AF_INET, addr, &o.dst.sin_addr) != 1)
		usage_error("client needs --addr A.B.C.D");
	if (!test)
		usage_error("client needs --test");
	if (!strcmp(test, "http")) {
		widen_ports();
		o.dst.sin_port = htons(PORT_HTTP);
		struct http_result h = run_http(&o);
		printf("{\"test\":\"http\",\"conns\":%d,\"size\":%ld,\"http_conns_per_s\":%.1f,\"done\":%llu,"
		       "\"failed\":%llu,\"wall_s\":%.3f}\n", o.conns, o.size, h.rate,
		       (unsigned long long)h.done, (unsigned long long)h.failed, h.wall_s);
	} else if (!strcmp(test, "upload") || !strcmp(test, "download")) {
		bool up = !strcmp(test, "upload");
		struct stream_result s = up ? run_upload(&o) : run_download(&o);
		printf("{\"test\":\"%s\",\"gbps\":%.3f,\"bytes\":%llu,\"wall_s\":%.3f}\n", test, s.gbps,
		       (unsigned long long)s.bytes, s.wall_s);
	} else {
		usage_error("--test: http, upload or download");
	}
	return 0;
}
