/*
 * tools/cmd_serve.c: `tern serve`, a tern host on a TUN device running built-in
 * applications (tools/app.h) for the kernel's own clients to talk to.
 *
 *   tern serve --netns demo --app http
 *   ip netns exec demo curl http://192.0.2.2/1000
 *
 * The host and its loop are tools/tunhost.c; this file owns the listeners and the
 * connections. After each turn of the loop (datagrams in, timers run) it accepts
 * what the listeners hold and steps every connection tern_epoll_wait reports
 * ready; each connection's interest follows what its application asked for, so
 * an idle connection costs nothing and a blocked writer wakes only on POLLOUT.
 * All sockets are non-blocking: nothing here waits except tern_tun_poll.
 *
 * --hold-accept SECONDS leaves the listeners alone for that long after start:
 * connections complete their handshakes into the accept queue and, once it holds
 * backlog + 1 of them (Linux's rule), later SYNs are dropped and counted
 * (ListenOverflows), so kernel clients retransmit their SYNs; `tern ss -lnt`
 * shows the queue. When the hold ends, everything queued is accepted.
 *
 * A connection that ends in an error (the peer's RST, a timeout) is reported on
 * stderr as it ends, and counted in the summary printed at exit.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "tern.h"
#include "tern/errors.h"
#include "tern/socket.h"
#include "tunhost.h"

#define SERVE_MAX_APPS 8
#define SERVE_MAX_BACKLOG 65535
#define SERVE_EVENTS 64
/* Longest --hold-accept: a day. */
#define SERVE_MAX_HOLD_S 86400.0

enum { OPT_APP = TUNHOST_OPT_END, OPT_PORT, OPT_BACKLOG, OPT_COUNT, OPT_HOLD_ACCEPT, OPT_HELP };

struct listener {
	const struct app *app;
	uint16_t port;
	int fd;
};

/* What a tern descriptor is to us; indexed by the descriptor. */
struct slot {
	struct listener *l;        /* a listener, or */
	struct app_conn *c;        /* a connection, or neither */
	uint32_t interest;
};

struct server {
	struct tunhost h;
	struct listener lst[SERVE_MAX_APPS];
	int nlst;
	int backlog;
	uint64_t count;            /* stop after this many connections ended; 0: never */
	double hold_s;             /* --hold-accept */
	tern_time hold_until;      /* no accept() before this; 0 once the hold is over */
	int epfd;
	struct slot *slots;
	int nslots;
	uint64_t accepted, ended, rx_bytes, tx_bytes;
	uint64_t failed, resets;   /* connections ended by an error; of them, by ECONNRESET */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tern serve [--app NAME[:PORT]]... [--port N] [--backlog N] [--count N]\n"
		"                  [--hold-accept SECONDS] [options]\n"
		"\n"
		"Runs a tern host on a TUN device with built-in applications for the kernel's\n"
		"clients (curl, nc, python) to talk to.\n"
		"\n"
		"  --app NAME[:PORT]   echo (7), discard (9), chargen (19), http (80),\n"
		"                      reset (10: aborts after the request, SO_LINGER 0) or\n"
		"                      unread (12: closes with the request unread, so RST);\n"
		"                      repeatable; default http\n"
		"  --port N            the port of the only --app\n"
		"  --backlog N         listen() backlog (default 128)\n"
		"  --count N           stop once N connections have ended\n"
		"  --hold-accept S     do not accept() for the first S seconds (the accept\n"
		"                      queue fills, then overflows)\n"
		"%s"
		"\n"
		"http: GET /N answers N bytes of 64-byte text lines; keep-alive.\n"
		"Stops on SIGINT, SIGTERM or SIGHUP, removing the device and the namespace.\n",
		tunhost_usage);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int add_app(struct server *s, const char *arg)
{
	char name[32];
	const char *colon = strchr(arg, ':');
	size_t nlen = colon ? (size_t)(colon - arg) : strlen(arg);
	uint64_t port;

	if (nlen >= sizeof(name)) {
		fprintf(stderr, "tern serve: unknown application '%s' (%s)\n", arg, app_names);
		return -1;
	}
	memcpy(name, arg, nlen);
	name[nlen] = '\0';
	const struct app *app = app_find(name);
	if (!app) {
		fprintf(stderr, "tern serve: unknown application '%s' (%s)\n", name, app_names);
		return -1;
	}
	if (s->nlst == SERVE_MAX_APPS) {
		fprintf(stderr, "tern serve: at most %d applications\n", SERVE_MAX_APPS);
		return -1;
	}
	port = app->port;
	if (colon && parse_u64(colon + 1, 65535, &port) < 0) {
		fprintf(stderr, "tern serve: --app %s: bad port '%s'\n", name, colon + 1);
		return -1;
	}
	if (port == 0) {
		fprintf(stderr, "tern serve: --app %s: port 0\n", name);
		return -1;
	}
	s->lst[s->nlst++] = (struct listener){ .app = app, .port = (uint16_t)port, .fd = -1 };
	return 0;
}

/* ------------------------------------------------------------ descriptors */

static struct slot *slot_for(struct server *s, int fd)
{
	if (fd >= s->nslots) {
		int n = s->nslots ? s->nslots : 64;
		while (n <= fd)
			n *= 2;
		struct slot *grown = realloc(s->slots, (size_t)n * sizeof(*grown));
		if (!grown)
			return NULL;
		memset(grown + s->nslots, 0, (size_t)(n - s->nslots) * sizeof(*grown));
		s->slots = grown;
		s->nslots = n;
	}
	return &s->slots[fd];
}

static void conn_end(struct server *s, struct app_conn *c)
{
	struct tern_stack *st = s->h.st;
	tern_epoll_ctl(st, s->epfd, TERN_EPOLL_CTL_DEL, c->fd, NULL);
	tern_close(st, c->fd);
	s->slots[c->fd].c = NULL;
	s->rx_bytes += c->rx_bytes;
	s->tx_bytes += c->tx_bytes;
	s->ended++;
	if (c->err) {
		/* Unusual, so always said: tests look for it. */
		s->failed++;
		if (c->err == TERN_ECONNRESET)
			s->resets++;
		const char *name = tern_errname(c->err);
		fprintf(stderr, "tern serve: %s connection %d failed: %s (%s) after %" PRIu64
			" bytes in, %" PRIu64 " out\n", c->app->name, c->fd, name ? name : "?",
			tern_strerror(c->err), c->rx_bytes, c->tx_bytes);
	} else if (s->h.o.verbose) {
		fprintf(stderr, "tern serve: %s connection %d ended: %" PRIu64 " bytes in, %" PRIu64 " out\n",
			c->app->name, c->fd, c->rx_bytes, c->tx_bytes);
	}
	free(c);
}

/* Runs the application and follows the interest it returns. */
static void conn_step(struct server *s, struct app_conn *c)
{
	uint32_t want = c->app->step(c);
	if (!want) {
		conn_end(s, c);
		return;
	}
	struct slot *sl = &s->slots[c->fd];
	if (want != sl->interest) {
		struct tern_epoll_event ev = { .events = want | TERN_POLLRDHUP, .data = (uint64_t)c->fd };
		tern_epoll_ctl(s->h.st, s->epfd, TERN_EPOLL_CTL_MOD, c->fd, &ev);
		sl->interest = want;
	}
}

static void accept_all(struct server *s, struct listener *l)
{
	struct tern_stack *st = s->h.st;
	for (;;) {
		int fd = tern_accept(st, l->fd, NULL, TERN_SOCK_NONBLOCK);
		if (fd < 0)
			return;     /* -EAGAIN: the queue is empty; anything else: try next turn */
		struct slot *sl = slot_for(s, fd);
		struct app_conn *c = sl ? calloc(1, sizeof(*c)) : NULL;
		struct tern_epoll_event ev = { .events = TERN_POLLIN | TERN_POLLRDHUP, .data = (uint64_t)fd };
		if (!c || tern_epoll_ctl(st, s->epfd, TERN_EPOLL_CTL_ADD, fd, &ev) < 0) {
			fprintf(stderr, "tern serve: out of memory: connection dropped\n");
			free(c);
			tern_close(st, fd);
			continue;
		}
		c->st = st;
		c->fd = fd;
		c->app = l->app;
		sl->c = c;
		sl->l = NULL;
		sl->interest = TERN_POLLIN;
		s->accepted++;
		conn_step(s, c);
	}
}

/* Everything the stack has ready, once. Returns how many sockets were: the
 * epoll is level-triggered, so a connection whose application stopped at its
 * budget with input left is reported again, and the loop must not sleep until
 * the stack has nothing ready (no datagram may come to wake it: a peer that has
 * sent everything and waits for our FIN sends nothing more). */
static int serve_ready(struct server *s)
{
	struct tern_epoll_event evs[SERVE_EVENTS];
	int n = tern_epoll_wait(s->h.st, s->epfd, evs, SERVE_EVENTS);
	for (int i = 0; i < n; i++) {
		int fd = (int)evs[i].data;
		if (fd < 0 || fd >= s->nslots)
			continue;
		struct slot *sl = &s->slots[fd];
		if (sl->l) {
			if (!s->hold_until)
				accept_all(s, sl->l);
		} else if (sl->c) {
			conn_step(s, sl->c);
		}
	}
	return n;
}

static int open_listeners(struct server *s)
{
	struct tern_stack *st = s->h.st;
	s->epfd = tern_epoll_create(st);
	if (s->epfd < 0) {
		fprintf(stderr, "tern serve: epoll: %s\n", tern_strerror(s->epfd));
		return -1;
	}
	for (int i = 0; i < s->nlst; i++) {
		struct listener *l = &s->lst[i];
		struct tern_sockaddr sa = { .addr = { .family = TERN_AF_INET }, .port = l->port };
		int one = 1, rc;
		l->fd = tern_socket(st, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
		if (l->fd < 0) {
			rc = l->fd;
			goto fail;
		}
		tern_setsockopt(st, l->fd, TERN_SOL_SOCKET, TERN_SO_REUSEADDR, &one, sizeof(one));
		struct slot *sl = slot_for(s, l->fd);
		if (!sl) {
			rc = -TERN_ENOMEM;
			goto fail;
		}
		sl->l = l;
		struct tern_epoll_event ev = { .events = TERN_POLLIN, .data = (uint64_t)l->fd };
		if ((rc = tern_bind(st, l->fd, &sa)) < 0 || (rc = tern_listen(st, l->fd, s->backlog)) < 0 ||
		    (rc = tern_epoll_ctl(st, s->epfd, TERN_EPOLL_CTL_ADD, l->fd, &ev)) < 0)
			goto fail;
		continue;
fail:
		fprintf(stderr, "tern serve: cannot listen on port %u: %s\n", l->port, tern_strerror(rc));
		return -1;
	}
	return 0;
}

int tern_cmd_serve(int argc, char **argv)
{
	static const struct tern_tool_longopt longopts[] = {
		TUNHOST_LONGOPTS,
		{ "app", true, OPT_APP }, { "port", true, OPT_PORT }, { "backlog", true, OPT_BACKLOG },
		{ "count", true, OPT_COUNT }, { "hold-accept", true, OPT_HOLD_ACCEPT },
		{ "help", false, OPT_HELP }, { NULL, false, 0 },
	};
	static struct server s;
	struct tunhost_opts o;
	struct tern_tool_getopt g;
	uint64_t port = 0, v;
	int key;

	memset(&s, 0, sizeof(s));
	s.backlog = 128;
	s.epfd = -1;
	tunhost_opts_init(&o);
	char **ops = calloc((size_t)argc + 1, sizeof(char *));
	if (!ops)
		return 1;
	tern_tool_getopt_init(&g, argc, argv, ops, "tern serve", stderr);
	while ((key = tern_tool_getopt(&g, "hv", longopts)) != -1) {
		switch (key) {
		case OPT_APP:
			if (add_app(&s, g.arg) < 0)
				goto bad;
			break;
		case OPT_PORT:
			if (parse_u64(g.arg, 65535, &port) < 0 || port == 0) {
				fprintf(stderr, "tern serve: --port: '%s' is not in 1..65535\n", g.arg);
				goto bad;
			}
			break;
		case OPT_BACKLOG:
			if (parse_u64(g.arg, SERVE_MAX_BACKLOG, &v) < 0) {
				fprintf(stderr, "tern serve: --backlog: '%s' is not in 0..%d\n", g.arg,
					SERVE_MAX_BACKLOG);
				goto bad;
			}
			s.backlog = (int)v;
			break;
		case OPT_HOLD_ACCEPT: {
			char *end;
			errno = 0;
			double d = strtod(g.arg, &end);
			if (errno || end == g.arg || *end || !isfinite(d) || d < 0 || d > SERVE_MAX_HOLD_S) {
				fprintf(stderr, "tern serve: --hold-accept: '%s' is not a number of seconds in [0, %.0f]\n",
					g.arg, SERVE_MAX_HOLD_S);
				goto bad;
			}
			s.hold_s = d;
			break;
		}
		case OPT_COUNT:
			if (parse_u64(g.arg, UINT32_MAX, &v) < 0 || v == 0) {
				fprintf(stderr, "tern serve: --count: '%s' is not a positive count\n", g.arg);
				goto bad;
			}
			s.count = v;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			free(ops);
			return 0;
		case 'v':
			o.verbose++;
			break;
		case '?':
			goto bad;
		default:
			if (tunhost_option(&o, "tern serve", key, g.arg) < 0)
				goto bad;
		}
	}
	if (g.nops) {
		fprintf(stderr, "tern serve: unexpected argument '%s'\n", ops[0]);
		goto bad;
	}
	free(ops);
	ops = NULL;
	if (!s.nlst)
		add_app(&s, "http");
	if (port) {
		if (s.nlst != 1) {
			fprintf(stderr, "tern serve: --port needs exactly one --app (else use NAME:PORT)\n");
			return 2;
		}
		s.lst[0].port = (uint16_t)port;
	}
	for (int i = 0; i < s.nlst; i++)
		for (int j = 0; j < i; j++)
			if (s.lst[i].port == s.lst[j].port) {
				fprintf(stderr, "tern serve: %s and %s both on port %u\n", s.lst[j].app->name,
					s.lst[i].app->name, s.lst[i].port);
				return 2;
			}

	if (tunhost_start(&s.h, "tern serve", &o) < 0)
		return 1;
	int status = 0;
	if (open_listeners(&s) < 0) {
		status = 1;
		goto out;
	}

	char a[TERN_ADDR_STRLEN], p[TERN_ADDR_STRLEN];
	tern_addr_format(&o.addr, a, sizeof(a));
	tern_addr_format(&o.peer, p, sizeof(p));
	printf("tern serve: device %s%s%s, tern %s, kernel %s\n", tern_tun_ifname(s.h.tun),
	       o.netns ? " in netns " : "", o.netns ? o.netns : "", a, p);
	struct tern_tun_stats ts;
	tern_tun_stats(s.h.tun, &ts);
	if (ts.offload)
		printf("tern serve: offloads on (vnet header, TSO4, checksum; TSO packets in %s)\n",
		       o.no_gro ? "cut into segments (--no-gro)" : "whole, as GRO");
	else if (ts.offload_error)
		printf("tern serve: offloads off: the kernel refused them: %s\n",
		       tern_strerror(ts.offload_error));
	else
		printf("tern serve: offloads off (--no-offload)\n");
	for (int i = 0; i < s.nlst; i++)
		printf("tern serve: %s on %s:%u\n", s.lst[i].app->name, a, s.lst[i].port);
	if (s.h.ctl)
		printf("tern serve: control socket %s (TERN_CTL=%s tern ss -tan)\n", s.h.ctl_path,
		       s.h.ctl_path);
	if (s.hold_s > 0) {
		s.hold_until = tern_tun_clock() + (tern_time)(s.hold_s * 1e9);
		printf("tern serve: holding accept() for %g s\n", s.hold_s);
	}
	printf("tern serve: ready\n");
	fflush(stdout);

	int ready = 0;
	/* With sockets still ready, the poll only takes what has arrived (a wake-up
	 * time already past) instead of sleeping. */
	while (ready > 0 ? tunhost_poll_until(&s.h, 0)
	       : s.hold_until ? tunhost_poll_until(&s.h, s.hold_until) : tunhost_poll(&s.h)) {
		if (s.hold_until && tern_tun_clock() >= s.hold_until) {
			s.hold_until = 0;
			printf("tern serve: accepting\n");
			fflush(stdout);
			for (int i = 0; i < s.nlst; i++)
				accept_all(&s, &s.lst[i]);
		}
		ready = serve_ready(&s);
		if (s.count && s.ended >= s.count)
			break;
	}
	if (s.h.stop_signal)
		printf("tern serve: stopped by signal %d\n", s.h.stop_signal);

	tern_tun_stats(s.h.tun, &ts);
	for (int i = 0; i < s.nslots; i++)
		if (s.slots[i].c) {
			s.rx_bytes += s.slots[i].c->rx_bytes;
			s.tx_bytes += s.slots[i].c->tx_bytes;
		}
	printf("tern serve: %" PRIu64 " connections (%" PRIu64 " ended, %" PRIu64 " failed, %" PRIu64
	       " reset by the peer), %" PRIu64 " bytes in, %" PRIu64 " bytes out; device: %" PRIu64
	       " datagrams in, %" PRIu64 " out, %" PRIu64 " lost\n",
	       s.accepted, s.ended, s.failed, s.resets, s.rx_bytes, s.tx_bytes, ts.rx_packets,
	       ts.tx_packets, ts.tx_errors);
	if (ts.offload)
		printf("tern serve: offloads: %" PRIu64 " TSO packets in holding %" PRIu64
		       " segments (%s), %" PRIu64 " TSO packets out made of %" PRIu64 " segments (%" PRIu64
		       " refused), %" PRIu64 " partial checksums in, %" PRIu64 " bad vnet headers\n",
		       ts.gso_rx_packets, ts.gso_rx_segs, o.no_gro ? "cut" : "taken whole",
		       ts.gso_tx_packets, ts.gso_tx_segs,
		       ts.gso_tx_fallbacks, ts.csum_rx_partial, ts.rx_bad_vnet);
	fflush(stdout);
out:
	for (int i = 0; i < s.nslots; i++)
		free(s.slots[i].c);
	free(s.slots);
	s.slots = NULL;
	tunhost_finish(&s.h);
	return status;
bad:
	free(ops);
	return 2;
}
