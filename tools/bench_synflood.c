/*
 * tools/bench_synflood.c: `tern bench synflood`, a listener under a SYN flood.
 *
 * Two measurements, both with net.ipv4.tcp_syncookies=2 (every SYN is answered
 * with a cookie, nothing is kept per SYN):
 *
 * 1. The rate. One stack, a listener on port 80, and a pool of 64 Ki distinct SYNs
 *    built before the clock starts: random spoofed sources in 10.128.0.0/9, random
 *    ports and sequence numbers, and the options a Linux client sends (MSS 1460,
 *    SACK permitted, timestamps, window scale 7), checksums correct. The loop hands
 *    them to tern_stack_input back to back, as a driver with a batch of received
 *    datagrams would, reading the clock once per batch of 64; the emit callback
 *    counts the SYN-ACKs. That is the whole cost of a cookie SYN-ACK on one core:
 *    IP and TCP parsing and checksums, the listener lookup, the cookie (two
 *    SipHashes), the timestamp offset, and building the SYN-ACK with its checksum.
 *    Before timing, a few SYN-ACKs are parsed and answered with the ACK a client
 *    would send, to show they are cookies the stack accepts.
 *
 * 2. Legitimate clients during a flood, on the simulated network. A raw endpoint
 *    (the flooder) sends spoofed SYNs at a fixed packet rate while a tern client
 *    stack opens connections spread evenly over the flood; each connects, writes
 *    one byte and closes, and the server accepts, reads the byte and closes.
 *    Success means the server got the byte; the connect latency is virtual time
 *    from connect() to writability. Processing costs no virtual time, so a
 *    connect takes one round trip unless something is dropped and retransmitted
 *    (a listener that dropped SYNs under the flood would show 1 s latencies):
 *    this part checks that cookies keep every legitimate client in, not how
 *    fast. The same run gives the SYN-ACK rate through the simulator (its queues
 *    and copies included) as a second row.
 *
 * The Linux baseline (bench/linux_synflood.c) floods a kernel listener in a
 * private namespace from a raw socket and runs legitimate kernel clients beside it.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "tern/errors.h"
#include "tern/sim.h"
#include "tern/socket.h"
#include "tern/stack.h"
#include "tern/sysctl.h"
#include "tern/wire.h"

#define SF_PORT 80
#define SF_POOL (64 * 1024)             /* distinct SYNs by default (--pool), a power of two */
#define SF_BATCH 64                     /* SYNs per clock reading */
#define SF_SYN_LEN (20 + 20 + 20)       /* IPv4, TCP, Linux's SYN options */
#define SF_BACKLOG 128                  /* the listen backlog: small, as on a busy server */
#define SF_VERIFY 8                     /* cookies completed before timing */
#define SF_LINK_DELAY_NS (10 * 1000)    /* one-way, every simulated link */
#define SF_CLIENT_TIMEOUT_NS (30LL * TERN_NS_PER_SEC)

/* Addresses (host order). Spoofed sources never collide with these. */
#define SF_SERVER 0x0a000002u           /* 10.0.0.2 */
#define SF_CLIENT 0x0a000001u           /* 10.0.0.1 */
#define SF_FLOODER 0x0a000003u          /* 10.0.0.3, the raw endpoint */
#define SF_SPOOF_NET 0x0a800000u        /* 10.128.0.0/9 */
#define SF_SPOOF_MASK 0x007fffffu

struct sf_syn {
	uint8_t b[SF_SYN_LEN];
	uint32_t seq, tsval;
};

/* The SYNs, built once; `mask` is their count minus one. */
struct sf_pool {
	struct sf_syn *syn;
	size_t mask;
};

/* A small deterministic generator (splitmix64): the pool is the same every run. */
static uint64_t sf_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* One SYN as Linux sends it: <mss 1460,sackOK,TS val V ecr 0,nop,wscale 7>. */
static void sf_build_syn(struct sf_syn *s, uint32_t src, uint16_t sport, uint32_t seq, uint32_t tsval,
			 uint16_t ipid)
{
	struct tern_tcp seg = {
		.sport = sport,
		.dport = SF_PORT,
		.seq = seq,
		.flags = TERN_TCP_SYN,
		.win = 64240,
	};
	struct tern_tcp_opts *o = &seg.opt;
	static const uint8_t kinds[] = { TERN_TCPOPT_MSS, TERN_TCPOPT_SACK_PERM, TERN_TCPOPT_TS,
					 TERN_TCPOPT_NOP, TERN_TCPOPT_WSCALE };
	o->present = TERN_TCPOPT_HAS_MSS | TERN_TCPOPT_HAS_SACK_PERM | TERN_TCPOPT_HAS_TS |
		     TERN_TCPOPT_HAS_WSCALE;
	o->mss = 1460;
	o->ts_val = tsval;
	o->wscale = 7;
	o->count = sizeof(kinds);
	memcpy(o->kinds, kinds, sizeof(kinds));
	struct tern_ipv4 ip = {
		.ttl = 64,
		.proto = TERN_IPPROTO_TCP,
		.id = ipid,
		.frag = TERN_IP_DF,
		.src = src,
		.dst = SF_SERVER,
	};
	size_t tl = tern_tcp_build(s->b + TERN_IPV4_HDR_LEN, sizeof(s->b) - TERN_IPV4_HDR_LEN, &seg, src,
				   SF_SERVER);
	tern_ipv4_build(s->b, sizeof(s->b), &ip, (uint16_t)tl);
	s->seq = seq;
	s->tsval = tsval;
}

static int sf_pool_build(struct sf_pool *p, size_t count, uint64_t seed)
{
	struct sf_syn *pool = malloc(count * sizeof(*pool));
	if (!pool)
		return -1;
	for (size_t i = 0; i < count; i++) {
		uint64_t r = sf_rand(&seed), q = sf_rand(&seed);
		uint32_t src = SF_SPOOF_NET | ((uint32_t)r & SF_SPOOF_MASK);
		uint16_t sport = (uint16_t)(1024 + (r >> 32) % (65536 - 1024));
		sf_build_syn(&pool[i], src, sport, (uint32_t)q, (uint32_t)(q >> 32), (uint16_t)(r >> 48));
	}
	p->syn = pool;
	p->mask = count - 1;
	return 0;
}

/* ------------------------------------------------------------ option parsing */

static const char *const sf_known[] = { "syns", "flood", "clients", "pps", "pool" };

/* Every benchmark-specific argument must be a known --name with a value. */
static int sf_check_args(const struct bench_opts *o)
{
	for (int i = 0; i < o->argc; i++) {
		const char *a = o->argv[i];
		bool ok = false;
		for (size_t k = 0; k < sizeof(sf_known) / sizeof(sf_known[0]) && !ok; k++) {
			size_t n = strlen(sf_known[k]);
			if (strncmp(a, "--", 2) || strncmp(a + 2, sf_known[k], n))
				continue;
			if (a[2 + n] == '=') {
				ok = true;
			} else if (a[2 + n] == 0 && i + 1 < o->argc) {
				ok = true;
				i++;
			}
		}
		if (!ok) {
			fprintf(stderr, "tern bench synflood: unknown or incomplete option '%s'\n", a);
			return -1;
		}
	}
	return 0;
}

/* A count option: digits with an optional k, M or G; within [lo, hi]. */
static int sf_count(const struct bench_opts *o, const char *name, long dflt, long lo, long hi, long *out)
{
	const char *v = bench_opt(o, name, NULL);
	*out = dflt;
	if (!v)
		return 0;
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	long mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1000, end++;
	else if (*end == 'M')
		mul = 1000000, end++;
	else if (*end == 'G')
		mul = 1000000000, end++;
	if (end == v || *end || errno || x < 0 || x > hi / mul || x * mul < lo) {
		fprintf(stderr, "tern bench synflood: --%s wants a count in %ld..%ld, not '%s'\n", name, lo,
			hi, v);
		return -1;
	}
	*out = x * mul;
	return 0;
}

/* ------------------------------------------------------------ the rate */

struct sf_rate {
	struct tern_stack *st;
	int lfd;
	uint64_t synacks, other;
	/* Capture for the verification: the last datagram emitted. */
	bool capture;
	uint8_t last[128];
	size_t last_len;
};

struct sf_rate_result {
	uint64_t syns, synacks, other, cookies_sent;
	int verified;
	double wall_s, cpu_s;
};

static void sf_rate_emit(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	(void)now;
	struct sf_rate *r = ctx;
	/* IPv4 without options, TCP flags at byte 13 of the TCP header. */
	if (len >= 40 && pkt[9] == TERN_IPPROTO_TCP && pkt[33] == (TERN_TCP_SYN | TERN_TCP_ACK))
		r->synacks++;
	else
		r->other++;
	if (r->capture && len <= sizeof(r->last)) {
		memcpy(r->last, pkt, len);
		r->last_len = len;
	}
}

static int sf_listener(struct tern_stack *st, int backlog)
{
	if (tern_sysctl_set(st, "net.ipv4.tcp_syncookies", "2") < 0)
		return -1;
	int fd = tern_socket(st, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	struct tern_sockaddr any = { .port = SF_PORT };
	any.addr.family = TERN_AF_INET;
	if (fd < 0 || tern_bind(st, fd, &any) < 0 || tern_listen(st, fd, backlog) < 0)
		return -1;
	return fd;
}

/*
 * Shows the SYN-ACKs are cookies the stack takes back: for a few SYNs of the pool,
 * checks the SYN-ACK (checksums, flags, ack, echoed timestamp, options), answers it
 * with the client's ACK, and expects SyncookiesRecv to count it and accept() to
 * return the connection, which is then aborted. Returns how many completed.
 */
static int sf_verify(struct sf_rate *r, const struct sf_syn *pool, tern_time *now)
{
	int ok = 0;
	uint64_t recv0 = tern_stack_counter(r->st, TERN_CTR_TcpExtSyncookiesRecv);
	r->capture = true;
	for (int i = 0; i < SF_VERIFY; i++) {
		const struct sf_syn *s = &pool[i];
		r->last_len = 0;
		tern_stack_input(r->st, ++*now, s->b, SF_SYN_LEN);
		struct tern_ipv4 ip;
		struct tern_tcp sa;
		if (!r->last_len || tern_ipv4_parse(r->last, r->last_len, &ip) != TERN_WIRE_OK ||
		    tern_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &sa) != TERN_WIRE_OK)
			continue;
		uint8_t want = TERN_TCPOPT_HAS_MSS | TERN_TCPOPT_HAS_SACK_PERM | TERN_TCPOPT_HAS_TS |
			       TERN_TCPOPT_HAS_WSCALE;
		if (sa.flags != (TERN_TCP_SYN | TERN_TCP_ACK) || sa.ack != s->seq + 1 ||
		    (sa.opt.present & want) != want || sa.opt.ts_ecr != s->tsval)
			continue;
		/* The third segment of the handshake, as the spoofed host would send it. */
		struct tern_tcp ack = {
			.sport = sa.dport,
			.dport = sa.sport,
			.seq = s->seq + 1,
			.ack = sa.seq + 1,
			.flags = TERN_TCP_ACK,
			.win = 502,
		};
		static const uint8_t kinds[] = { TERN_TCPOPT_NOP, TERN_TCPOPT_NOP, TERN_TCPOPT_TS };
		ack.opt.present = TERN_TCPOPT_HAS_TS;
		ack.opt.ts_val = s->tsval + 1;
		ack.opt.ts_ecr = sa.opt.ts_val;
		ack.opt.count = sizeof(kinds);
		memcpy(ack.opt.kinds, kinds, sizeof(kinds));
		struct tern_ipv4 aip = { .ttl = 64, .proto = TERN_IPPROTO_TCP, .frag = TERN_IP_DF,
					 .src = ip.dst, .dst = ip.src };
		uint8_t buf[80];
		size_t tl = tern_tcp_build(buf + TERN_IPV4_HDR_LEN, sizeof(buf) - TERN_IPV4_HDR_LEN, &ack,
					   aip.src, aip.dst);
		size_t hl = tern_ipv4_build(buf, sizeof(buf), &aip, (uint16_t)tl);
		if (!tl || !hl)
			continue;
		tern_stack_input(r->st, ++*now, buf, hl + tl);
		int c = tern_accept(r->st, r->lfd, NULL, TERN_SOCK_NONBLOCK);
		if (c < 0)
			continue;
		struct tern_linger lg = { .l_onoff = 1, .l_linger = 0 };
		tern_setsockopt(r->st, c, TERN_SOL_SOCKET, TERN_SO_LINGER, &lg, sizeof(lg));
		tern_close(r->st, c);
		ok++;
	}
	r->capture = false;
	uint64_t recv = tern_stack_counter(r->st, TERN_CTR_TcpExtSyncookiesRecv) - recv0;
	return (uint64_t)ok == recv ? ok : -1;
}

static int sf_rate_run(const struct sf_pool *p, uint64_t count, struct sf_rate_result *out)
{
	struct sf_rate r = { 0 };
	struct tern_stack_config cfg;
	tern_stack_config_init(&cfg);
	cfg.addr.family = TERN_AF_INET;
	cfg.addr.u.v4 = SF_SERVER;
	cfg.seed = 7;
	cfg.emit = sf_rate_emit;
	cfg.emit_ctx = &r;
	if (tern_stack_create(&cfg, &r.st) < 0)
		return -1;
	r.lfd = sf_listener(r.st, SF_BACKLOG);
	if (r.lfd < 0) {
		tern_stack_destroy(r.st);
		return -1;
	}
	memset(out, 0, sizeof(*out));
	/* The stack's clock is the monotonic clock from here, as a real driver's. */
	double base = bench_wall();
	tern_time now = 1;
	out->verified = sf_verify(&r, p->syn, &now);

	/* Warm-up: one pass over the pool faults everything in. */
	for (size_t i = 0; i <= p->mask; i++)
		tern_stack_input(r.st, now, p->syn[i].b, SF_SYN_LEN);
	r.synacks = r.other = 0;
	uint64_t sent0 = tern_stack_counter(r.st, TERN_CTR_TcpExtSyncookiesSent);

	double w0 = bench_wall(), c0 = bench_cpu();
	uint64_t i = 0;
	while (i < count) {
		tern_time t = (tern_time)((bench_wall() - base) * 1e9);
		if (t > now)
			now = t;
		uint64_t end = i + SF_BATCH < count ? i + SF_BATCH : count;
		for (; i < end; i++)
			tern_stack_input(r.st, now, p->syn[i & p->mask].b, SF_SYN_LEN);
	}
	out->wall_s = bench_wall() - w0;
	out->cpu_s = bench_cpu() - c0;
	out->syns = count;
	out->synacks = r.synacks;
	out->other = r.other;
	out->cookies_sent = tern_stack_counter(r.st, TERN_CTR_TcpExtSyncookiesSent) - sent0;
	tern_stack_destroy(r.st);
	return 0;
}

/* ------------------------------------------------------------ legitimate clients */

enum sf_cstate { SF_WAITING, SF_CONNECTING, SF_SENT, SF_FAILED };

struct sf_client {
	tern_time start;          /* when it connects */
	tern_time latency;        /* connect() to writable; -1 until then */
	int fd;
	uint16_t port;
	uint8_t state;
	bool delivered;           /* the server read its byte */
};

struct sf_legit {
	struct tern_sim *sim;
	struct tern_stack *srv, *cli;
	int flooder, link_flood, link_cli;
	int lfd, sep, cep;
	struct sf_client *c;
	long nclients;
	long next;                /* next client to start */
	long resolved;            /* delivered or failed */
	int32_t by_port[65536];   /* client index by local port, -1 */
	uint64_t flood_synacks;   /* SYN-ACKs that reached the flooder */
};

struct sf_legit_result {
	long clients, succeeded, failed;
	double lat_us[4];         /* min, median, p99, max */
	uint64_t flood_syns, flood_synacks, cookies_sent, cookies_recv, listen_drops;
	double pps, virtual_s, wall_s, cpu_s;
};

static void sf_flooder_rx(void *ctx, struct tern_sim *sim, int node, tern_time now, const uint8_t *pkt,
			  size_t len)
{
	(void)sim;
	(void)node;
	(void)now;
	struct sf_legit *lg = ctx;
	if (len >= 40 && pkt[33] == (TERN_TCP_SYN | TERN_TCP_ACK))
		lg->flood_synacks++;
}

static void sf_client_fail(struct sf_legit *lg, struct sf_client *c)
{
	if (c->state == SF_CONNECTING) {
		tern_close(lg->cli, c->fd);
		c->state = SF_FAILED;
		lg->resolved++;
	}
}

static void sf_client_start(struct sf_legit *lg, struct sf_client *c)
{
	struct tern_sockaddr dst = { .port = SF_PORT };
	dst.addr.family = TERN_AF_INET;
	dst.addr.u.v4 = SF_SERVER;
	c->start = tern_sim_now(lg->sim);
	c->latency = -1;
	c->state = SF_CONNECTING;
	/* Socket calls act at the stack's clock: bring it to the present. */
	tern_stack_advance(lg->cli, c->start);
	c->fd = tern_socket(lg->cli, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		c->state = SF_FAILED;
		lg->resolved++;
		return;
	}
	int r = tern_connect(lg->cli, c->fd, &dst);
	struct tern_sockaddr me;
	struct tern_epoll_event ev = { .events = TERN_POLLOUT, .data = (uint64_t)(c - lg->c) };
	if ((r < 0 && r != -EINPROGRESS) || tern_getsockname(lg->cli, c->fd, &me) < 0 ||
	    tern_epoll_ctl(lg->cli, lg->cep, TERN_EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		sf_client_fail(lg, c);
		return;
	}
	c->port = me.port;
	lg->by_port[me.port] = (int32_t)(c - lg->c);
}

/* The client side: a writable socket is connected; write the byte and close. */
static void sf_client_events(struct sf_legit *lg)
{
	struct tern_epoll_event evs[64];
	int n;
	while ((n = tern_epoll_wait(lg->cli, lg->cep, evs, 64)) > 0) {
		for (int i = 0; i < n; i++) {
			struct sf_client *c = &lg->c[evs[i].data];
			if (c->state != SF_CONNECTING)
				continue;
			int err = 0;
			size_t el = sizeof(err);
			tern_getsockopt(lg->cli, c->fd, TERN_SOL_SOCKET, TERN_SO_ERROR, &err, &el);
			if (err || !(evs[i].events & TERN_POLLOUT) ||
			    tern_send(lg->cli, c->fd, "x", 1, 0) != 1) {
				sf_client_fail(lg, c);
				continue;
			}
			c->latency = tern_sim_now(lg->sim) - c->start;
			c->state = SF_SENT;
			tern_close(lg->cli, c->fd);
		}
		if (n < 64)
			break;
	}
}

static void sf_server_read(struct sf_legit *lg, int fd)
{
	char b[16];
	ssize_t n = tern_recv(lg->srv, fd, b, sizeof(b), 0);
	if (n == -EAGAIN)
		return;
	if (n > 0) {
		struct tern_sockaddr peer;
		if (tern_getpeername(lg->srv, fd, &peer) == 0 && peer.addr.u.v4 == SF_CLIENT) {
			int32_t k = lg->by_port[peer.port];
			if (k >= 0 && !lg->c[k].delivered && lg->c[k].state == SF_SENT) {
				lg->c[k].delivered = true;
				lg->resolved++;
			}
		}
		/* The FIN usually came with the byte; otherwise wait for it. */
		n = tern_recv(lg->srv, fd, b, sizeof(b), 0);
		if (n == -EAGAIN)
			return;
	}
	tern_close(lg->srv, fd);
}

static void sf_server_events(struct sf_legit *lg)
{
	struct tern_epoll_event evs[64];
	int n;
	while ((n = tern_epoll_wait(lg->srv, lg->sep, evs, 64)) > 0) {
		for (int i = 0; i < n; i++) {
			int fd = (int)evs[i].data;
			if (fd != lg->lfd) {
				sf_server_read(lg, fd);
				continue;
			}
			int c;
			while ((c = tern_accept(lg->srv, lg->lfd, NULL, TERN_SOCK_NONBLOCK)) >= 0) {
				struct tern_epoll_event ev = { .events = TERN_POLLIN, .data = (uint64_t)c };
				tern_epoll_ctl(lg->srv, lg->sep, TERN_EPOLL_CTL_ADD, c, &ev);
				sf_server_read(lg, c);
			}
		}
		if (n < 64)
			break;
	}
}

static int sf_legit_setup(struct sf_legit *lg, uint64_t seed)
{
	struct tern_stack_config cfg;
	if (tern_sim_create(seed, &lg->sim) < 0)
		return -1;
	tern_stack_config_init(&cfg);
	cfg.addr.family = TERN_AF_INET;
	cfg.addr.u.v4 = SF_SERVER;
	cfg.seed = seed + 1;
	int s = tern_sim_add_stack(lg->sim, &cfg, &lg->srv);
	cfg.addr.u.v4 = SF_CLIENT;
	cfg.seed = seed + 2;
	int c = tern_sim_add_stack(lg->sim, &cfg, &lg->cli);
	struct tern_addr fa = { .family = TERN_AF_INET, .u.v4 = SF_FLOODER };
	lg->flooder = tern_sim_add_endpoint(lg->sim, &fa, sf_flooder_rx, lg);
	if (s < 0 || c < 0 || lg->flooder < 0)
		return -1;
	/* The server's first link leads to the flooder: SYN-ACKs to spoofed
	 * addresses, which no node owns, go there and are dropped. */
	struct tern_link_params wire = { .delay = SF_LINK_DELAY_NS };
	lg->link_flood = tern_sim_link(lg->sim, s, lg->flooder, &wire, &wire);
	lg->link_cli = tern_sim_link(lg->sim, s, c, &wire, &wire);
	if (lg->link_flood < 0 || lg->link_cli < 0)
		return -1;
	lg->lfd = sf_listener(lg->srv, SF_BACKLOG);
	lg->sep = tern_epoll_create(lg->srv);
	lg->cep = tern_epoll_create(lg->cli);
	struct tern_epoll_event ev = { .events = TERN_POLLIN, .data = (uint64_t)lg->lfd };
	if (lg->lfd < 0 || lg->sep < 0 || lg->cep < 0 ||
	    tern_epoll_ctl(lg->srv, lg->sep, TERN_EPOLL_CTL_ADD, lg->lfd, &ev) < 0)
		return -1;
	return 0;
}

/* Every client has its answer and the flood has landed: its SYNs at the server,
 * the SYN-ACKs at the flooder. */
static bool sf_finished(const struct sf_legit *lg, uint64_t sent)
{
	struct tern_link_stats out, back;
	tern_sim_link_stats(lg->sim, lg->link_flood, 1, &out);
	tern_sim_link_stats(lg->sim, lg->link_flood, 0, &back);
	return lg->resolved >= lg->nclients && out.delivered == sent && back.delivered == back.sent;
}

static int sf_cmp_time(const void *a, const void *b)
{
	tern_time x = *(const tern_time *)a, y = *(const tern_time *)b;
	return x < y ? -1 : x > y;
}

static int sf_legit_run(const struct sf_pool *p, long nclients, uint64_t flood, uint64_t pps,
			struct sf_legit_result *out)
{
	struct sf_legit *lg = calloc(1, sizeof(*lg));
	if (!lg)
		return -1;
	lg->c = calloc((size_t)nclients, sizeof(*lg->c));
	int rc = -1;
	if (!lg->c || sf_legit_setup(lg, 11) < 0)
		goto out;
	memset(lg->by_port, 0xff, sizeof(lg->by_port));
	lg->nclients = nclients;

	/* The flood leaves in bursts of `burst` SYNs every `gap` ns, at `pps` on
	 * average; the clients start evenly spread over its length. */
	uint64_t burst = pps >= 1000000 ? pps / 1000000 : 1;
	tern_time gap = (tern_time)(burst * 1000000000ull / pps);
	if (gap < 1)
		gap = 1;
	tern_time span = (tern_time)((flood + burst - 1) / burst) * gap;
	for (long k = 0; k < nclients; k++)
		lg->c[k].start = (tern_time)(((double)k + 0.5) * (double)span / (double)nclients);

	uint64_t sent = 0;
	tern_time next_burst = 0;
	double w0 = bench_wall(), c0 = bench_cpu();
	for (;;) {
		tern_time t = TERN_TIME_NEVER;
		if (sent < flood)
			t = next_burst;
		if (lg->next < nclients && lg->c[lg->next].start < t)
			t = lg->c[lg->next].start;
		if (t == TERN_TIME_NEVER && sf_finished(lg, sent))
			break;
		/* Everything due before t, with the applications served after each
		 * instant so that connect latencies are exact. */
		while (tern_sim_step(lg->sim, t)) {
			sf_server_events(lg);
			sf_client_events(lg);
			/* A client still connecting past the timeout has failed. */
			if (t == TERN_TIME_NEVER) {
				tern_time now = tern_sim_now(lg->sim);
				for (long k = 0; k < nclients; k++)
					if (lg->c[k].state == SF_CONNECTING &&
					    now - lg->c[k].start > SF_CLIENT_TIMEOUT_NS)
						sf_client_fail(lg, &lg->c[k]);
				if (sf_finished(lg, sent))
					break;
			}
		}
		if (t == TERN_TIME_NEVER)
			break;
		tern_sim_run_until(lg->sim, t);
		if (sent < flood && t == next_burst) {
			for (uint64_t b = 0; b < burst && sent < flood; b++, sent++)
				tern_sim_inject(lg->sim, lg->flooder, p->syn[sent & p->mask].b, SF_SYN_LEN);
			next_burst += gap;
		}
		while (lg->next < nclients && lg->c[lg->next].start <= t)
			sf_client_start(lg, &lg->c[lg->next++]);
	}
	memset(out, 0, sizeof(*out));
	out->wall_s = bench_wall() - w0;
	out->cpu_s = bench_cpu() - c0;
	out->virtual_s = (double)tern_sim_now(lg->sim) / 1e9;
	out->clients = nclients;
	out->flood_syns = sent;
	out->pps = (double)pps;
	out->flood_synacks = lg->flood_synacks;
	out->cookies_sent = tern_stack_counter(lg->srv, TERN_CTR_TcpExtSyncookiesSent);
	out->cookies_recv = tern_stack_counter(lg->srv, TERN_CTR_TcpExtSyncookiesRecv);
	out->listen_drops = tern_stack_counter(lg->srv, TERN_CTR_TcpExtListenDrops);
	tern_time *lat = malloc((size_t)nclients * sizeof(*lat));
	long nl = 0;
	for (long k = 0; k < nclients; k++) {
		if (lg->c[k].delivered)
			out->succeeded++;
		else
			out->failed++;
		if (lg->c[k].latency >= 0 && lat)
			lat[nl++] = lg->c[k].latency;
	}
	for (int q = 0; q < 4; q++)
		out->lat_us[q] = NAN;
	if (lat && nl > 0) {
		qsort(lat, (size_t)nl, sizeof(*lat), sf_cmp_time);
		out->lat_us[0] = (double)lat[0] / 1e3;
		out->lat_us[1] = (double)lat[nl / 2] / 1e3;
		out->lat_us[2] = (double)lat[(nl * 99) / 100 < nl ? (nl * 99) / 100 : nl - 1] / 1e3;
		out->lat_us[3] = (double)lat[nl - 1] / 1e3;
	}
	free(lat);
	rc = 0;
out:
	if (lg->sim)
		tern_sim_destroy(lg->sim);
	free(lg->c);
	free(lg);
	return rc;
}

/* ------------------------------------------------------------ the report */

static void sf_json_latency(struct bench_json *j, const double *l)
{
	bench_json_obj(j, "latency_us");
	bench_json_num(j, "min", l[0]);
	bench_json_num(j, "median", l[1]);
	bench_json_num(j, "p99", l[2]);
	bench_json_num(j, "max", l[3]);
	bench_json_close(j);
}

int bench_synflood(const struct bench_opts *o, const struct bench_machine *m)
{
	long syns, flood, clients, pps, npool;
	if (sf_check_args(o) < 0 ||
	    sf_count(o, "syns", o->quick ? 1000000 : 20000000, 1, 1000000000000L, &syns) < 0 ||
	    sf_count(o, "flood", o->quick ? 100000 : 10000000, 0, 1000000000000L, &flood) < 0 ||
	    sf_count(o, "clients", o->quick ? 100 : 1000, 1, 60000, &clients) < 0 ||
	    sf_count(o, "pps", 10000000, 1000, 1000000000L, &pps) < 0 ||
	    sf_count(o, "pool", SF_POOL, SF_VERIFY, 1L << 24, &npool) < 0)
		return 2;
	if (npool & (npool - 1)) {
		fprintf(stderr, "tern bench synflood: --pool wants a power of two\n");
		return 2;
	}

	struct sf_pool pool;
	if (sf_pool_build(&pool, (size_t)npool, 42) < 0) {
		fprintf(stderr, "tern bench synflood: out of memory\n");
		return 1;
	}
	struct sf_rate_result r;
	struct sf_legit_result lg;
	if (sf_rate_run(&pool, (uint64_t)syns, &r) < 0 ||
	    sf_legit_run(&pool, clients, (uint64_t)flood, (uint64_t)pps, &lg) < 0) {
		free(pool.syn);
		fprintf(stderr, "tern bench synflood: cannot set up the stacks\n");
		return 1;
	}
	free(pool.syn);
	double rate = r.wall_s > 0 ? (double)r.synacks / r.wall_s : 0;
	double cpu_rate = r.cpu_s > 0 ? (double)r.synacks / r.cpu_s : 0;
	double ns_per = r.syns ? r.wall_s * 1e9 / (double)r.syns : 0;
	double ns_cpu = r.syns ? r.cpu_s * 1e9 / (double)r.syns : 0;
	double sim_rate = lg.wall_s > 0 ? (double)lg.cookies_sent / lg.wall_s : 0;
	double pct = 100.0 * (double)lg.succeeded / (double)lg.clients;

	char base[8192] = "";
	int brc = -1;
	double lrate = NAN;
	if (!o->no_linux) {
		char n1[32], n2[32];
		snprintf(n1, sizeof(n1), "%ld", flood < 2000000 ? flood : 2000000);
		snprintf(n2, sizeof(n2), "%ld", clients);
		const char *args[] = { "--syns", n1, "--clients", n2, NULL };
		brc = bench_run_baseline("linux-synflood", args, base, sizeof(base));
		if (brc == 0)
			lrate = bench_json_get(base, "synacks_per_s");
	}
	double ratio = isfinite(lrate) && lrate > 0 ? rate / lrate : NAN;
	/* On a shared machine wall time includes other tenants; CPU time does not.
	 * Linux's CPU time is the flooder thread's, which carries the kernel's
	 * receive path for each SYN (loopback runs it in the sender's softirq). */
	double lcpu = brc == 0 ? bench_json_get(base, "synacks_per_cpu_s") : NAN;
	double ratio_cpu = isfinite(lcpu) && lcpu > 0 ? cpu_rate / lcpu : NAN;
	/* Every SYN of the rate run must have had its cookie SYN-ACK. */
	bool ok = r.synacks == r.syns && r.cookies_sent == r.syns && r.other == 0 &&
		  r.verified == SF_VERIFY && lg.failed == 0;

	if (o->json) {
		struct bench_json j;
		bench_json_begin(&j, stdout);
		bench_json_head(&j, "synflood", o, m);
		bench_json_obj(&j, "tern");
		bench_json_num(&j, "synacks_per_s", rate);
		bench_json_num(&j, "synacks_per_cpu_s", cpu_rate);
		bench_json_num(&j, "ns_per_syn", ns_per);
		bench_json_num(&j, "cpu_ns_per_syn", ns_cpu);
		bench_json_int(&j, "distinct_syns", npool);
		bench_json_int(&j, "syns", (int64_t)r.syns);
		bench_json_int(&j, "synacks", (int64_t)r.synacks);
		bench_json_int(&j, "cookies_sent", (int64_t)r.cookies_sent);
		bench_json_int(&j, "other_segments", (int64_t)r.other);
		bench_json_int(&j, "cookies_verified", r.verified);
		bench_json_num(&j, "wall_s", r.wall_s);
		bench_json_num(&j, "cpu_s", r.cpu_s);
		bench_json_str(&j, "driver", "tern_stack_input back to back, clock read per 64 SYNs");
		bench_json_close(&j);
		bench_json_obj(&j, "tern_sim");
		bench_json_num(&j, "synacks_per_s", sim_rate);
		bench_json_int(&j, "synacks", (int64_t)lg.cookies_sent);
		bench_json_num(&j, "wall_s", lg.wall_s);
		bench_json_str(&j, "driver", "simulated network, raw endpoint injecting (the legit run)");
		bench_json_close(&j);
		bench_json_obj(&j, "legit");
		bench_json_int(&j, "clients", lg.clients);
		bench_json_int(&j, "succeeded", lg.succeeded);
		bench_json_int(&j, "failed", lg.failed);
		bench_json_num(&j, "success_pct", pct);
		sf_json_latency(&j, lg.lat_us);
		bench_json_int(&j, "flood_syns", (int64_t)lg.flood_syns);
		bench_json_num(&j, "flood_pps", lg.pps);
		bench_json_int(&j, "flood_synacks", (int64_t)lg.flood_synacks);
		bench_json_int(&j, "cookies_sent", (int64_t)lg.cookies_sent);
		bench_json_int(&j, "cookies_recv", (int64_t)lg.cookies_recv);
		bench_json_int(&j, "listen_drops", (int64_t)lg.listen_drops);
		bench_json_bool(&j, "cookies_used", lg.cookies_recv > 0);
		bench_json_num(&j, "link_delay_us", SF_LINK_DELAY_NS / 1e3);
		bench_json_int(&j, "backlog", SF_BACKLOG);
		bench_json_num(&j, "virtual_s", lg.virtual_s);
		bench_json_num(&j, "wall_s", lg.wall_s);
		bench_json_close(&j);
		bench_json_baseline(&j, o, brc, base);
		bench_json_num(&j, "ratio", ratio);
		bench_json_num(&j, "ratio_cpu", ratio_cpu);
		bench_json_num(&j, "target_synacks_per_s", 5e6);
		bench_json_num(&j, "target_success_pct", 100);
		bench_json_end(&j);
	} else {
		bench_machine_print(stdout, m);
		printf("synflood: tcp_syncookies=2, listener on port 80, SYNs from random spoofed sources\n");
		printf("  rate, one core (tern_stack_input, %ld distinct SYNs with mss,sackOK,TS,wscale)\n",
		       npool);
		printf("    tern   %12.0f SYN-ACKs/s  (%.0f ns per SYN; CPU time: %.0f/s, %.0f ns; %llu SYNs in %.2f s)\n",
		       rate, ns_per, cpu_rate, ns_cpu, (unsigned long long)r.syns, r.wall_s);
		printf("           %llu cookies sent, %d of %d sample cookies completed a handshake\n",
		       (unsigned long long)r.cookies_sent, r.verified, SF_VERIFY);
		printf("    sim    %12.0f SYN-ACKs/s  (through the simulated network, from the run below)\n",
		       sim_rate);
		if (brc == 0) {
			printf("    linux  %12.0f SYN-ACKs/s  (CPU time: %.0f/s; kernel listener in a namespace, raw-socket flooder at %.0f SYNs/s)\n",
			       lrate, lcpu, bench_json_get(base, "flooder_pps"));
		} else if (!o->no_linux) {
			printf("    linux  not measured: %s\n", base);
		}
		if (isfinite(ratio))
			printf("    ratio  %12.1fx  (CPU time: %.1fx)\n", ratio, ratio_cpu);
		printf("    target %12.0f SYN-ACKs/s: %s\n", 5e6, rate >= 5e6 ? "met" : "NOT met");
		printf("  legitimate clients during a flood (simulated network, %.0f µs one-way links, no loss)\n",
		       SF_LINK_DELAY_NS / 1e3);
		printf("    flood  %llu spoofed SYNs at %.0f SYNs/s (%.3f s virtual, %.2f s wall)\n",
		       (unsigned long long)lg.flood_syns, lg.pps, lg.virtual_s, lg.wall_s);
		printf("    tern   %ld/%ld connected and delivered (%.1f %%), connect latency µs: min %.1f median %.1f p99 %.1f max %.1f\n",
		       lg.succeeded, lg.clients, pct, lg.lat_us[0], lg.lat_us[1], lg.lat_us[2], lg.lat_us[3]);
		printf("           (virtual time, in which processing is free: one round trip unless a SYN or\n"
		       "           SYN-ACK is dropped and retransmitted)\n");
		printf("           cookies sent %llu, cookies received %llu, listen drops %llu\n",
		       (unsigned long long)lg.cookies_sent, (unsigned long long)lg.cookies_recv,
		       (unsigned long long)lg.listen_drops);
		if (brc == 0) {
			printf("    linux  %.0f/%.0f connected (%.1f %%) during %.0f SYNs, connect latency µs: min %.1f median %.1f p99 %.1f max %.1f\n",
			       bench_json_get(base, "succeeded"), bench_json_get(base, "clients"),
			       bench_json_get(base, "success_pct"), bench_json_get(base, "syns"),
			       bench_json_get(base, "latency_us.min"),
			       bench_json_get(base, "latency_us.median"), bench_json_get(base, "latency_us.p99"),
			       bench_json_get(base, "latency_us.max"));
		}
	}
	return ok ? 0 : 1;
}
