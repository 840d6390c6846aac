/*
 * tools/bench_memory.c: `tern bench memory`, what tern pays in memory for each of
 * the three kinds of object a busy server holds by the million:
 *
 *   request      a half-open connection in a listener's SYN queue;
 *   TIME-WAIT    a closed connection remembered for 60 s;
 *   established  an idle accepted connection, buffers empty, held by the app.
 *
 * Each kind is measured on its own simulated network: one tern stack (the server,
 * the one measured) and a raw endpoint (tools/bench_peer.c) that plays N clients
 * and keeps nothing per connection, so every byte counted is the server's. Virtual
 * time never moves (ideal wire, no delay), so no SYN-ACK is retransmitted and no
 * entry expires while the objects pile up. The cost is read from the C allocator
 * (bench_heap_bytes: mallinfo2's bytes in use, mmapped blocks included) before and
 * after making N objects, divided by N. Table growth (the connection hash, the
 * descriptor table, the request and TIME-WAIT arrays and their hashes, which all
 * double) is included, amortised over N: that is what a user pays at that size.
 * What is excluded is set up before the first reading: the listener, and pools
 * warmed to their working size by a first batch (the simulator's packet buffers;
 * for TIME-WAIT also the sockets that carry a connection until it is closed, and
 * the transfer blocks and segment records their FINs take while in flight, since
 * those go back to their pools and are reused, batch after batch).
 *
 *   requests     cookies off (net.ipv4.tcp_syncookies=0), the listen backlog and
 *                net.core.somaxconn above N (spec §1.2: the SYN queue holds
 *                backlog'+1), tcp_max_syn_backlog above 4N/3 (spec §1.3: without
 *                cookies SYNs are refused in its last quarter); N SYNs from
 *                distinct source addresses and ports that never complete.
 *   TIME-WAIT    tcp_max_tw_buckets above N; each connection is accepted and
 *                closed at once by the server, the peer answers the FIN with
 *                FIN+ACK, the server acknowledges it and holds the TIME-WAIT.
 *   established  N handshakes, every child accepted and its descriptor kept.
 *                Registering each in an epoll instance is measured separately.
 * Each count is then checked with tern_diag_foreach (what `tern ss` shows): N
 * SYN-RECV, N TIME-WAIT, N ESTAB with empty queues. If fewer were made, the
 * report names the counter or error that stopped it.
 *
 * The Linux baseline (bench/linux_memory.c) reads the kernel's slab object sizes
 * (request_sock_TCP, tw_sock_TCP, and TCP + sock_inode_cache + filp + dentry for a
 * socket with its file) and, where it can, measures slab growth over real
 * loopback connections in a private network namespace.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_peer.h"
#include "tern/diag.h"
#include "tern/errors.h"
#include "tern/sim.h"
#include "tern/socket.h"
#include "tern/sysctl.h"

#define MEM_PORT 80
#define MEM_CLOSED_PORT 81    /* nothing listens: warm-up SYNs draw RSTs */
#define MEM_BATCH 4096        /* SYNs per step: bounds packets in flight */
#define MEM_PORTS_PER_ADDR 64000
#define MEM_MAX_COUNT 50000000LL

#define TARGET_REQUEST 64
#define TARGET_TIME_WAIT 64
#define TARGET_ESTABLISHED 512

/* One measurement's network: the measured server and the stateless peer. */
struct mem_env {
	struct tern_sim *sim;
	struct tern_stack *st;
	struct bench_peer peer;
	uint32_t srv_addr;
	int lfd;
};

/* What one kind measured. */
struct mem_result {
	long long made;           /* objects of the kind found afterwards */
	double bytes;             /* heap delta / made */
	double setup_s;           /* wall time to make them */
	double extra_bytes;       /* established: epoll registration per connection */
	char limit[256];          /* why fewer than asked were made, or "" */
};

/* Bytes per object between two heap readings; NaN when the allocator keeps no
 * statistics (a sanitizer's allocator reports nothing through mallinfo2). */
static double mem_per(size_t before, size_t after, long long n)
{
	return n > 0 && after > before ? ((double)after - (double)before) / (double)n : NAN;
}

static void mem_settle(struct mem_env *e)
{
	tern_sim_run_until(e->sim, tern_sim_now(e->sim));
}

static int mem_set(struct mem_env *e, const char *name, long long v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", v);
	int r = tern_sysctl_set(e->st, name, buf);
	if (r < 0)
		fprintf(stderr, "tern bench memory: %s=%s: %s\n", name, buf, tern_strerror(r));
	return r;
}

static void mem_destroy(struct mem_env *e)
{
	if (e->sim)
		tern_sim_destroy(e->sim);
	e->sim = NULL;
}

/* A server at 10.0.0.2 listening on port 80 with `backlog`, the peer at 10.0.0.1
 * on an ideal wire. The sysctls that must be in place before listen() are set by
 * the caller through `somaxconn`. */
static int mem_create(struct mem_env *e, uint64_t seed, long long somaxconn, long long backlog)
{
	memset(e, 0, sizeof(*e));
	if (tern_sim_create(seed, &e->sim) < 0)
		return -TERN_ENOMEM;
	struct tern_stack_config cfg;
	tern_stack_config_init(&cfg);
	cfg.seed = seed;
	tern_addr_parse("10.0.0.2", &cfg.addr);
	e->srv_addr = cfg.addr.u.v4;
	int s = tern_sim_add_stack(e->sim, &cfg, &e->st);
	if (s < 0)
		goto fail;
	struct tern_addr pa;
	tern_addr_parse("10.0.0.1", &pa);
	if (bench_peer_add(&e->peer, e->sim, pa.u.v4) < 0)
		goto fail;
	/* The server's only link: every reply, to any source, reaches the peer. */
	if (tern_sim_link(e->sim, s, e->peer.node, NULL, NULL) < 0)
		goto fail;
	if (mem_set(e, "net.core.somaxconn", somaxconn) < 0)
		goto fail;
	e->lfd = tern_socket(e->st, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	struct tern_sockaddr any = { .port = MEM_PORT };
	any.addr.family = TERN_AF_INET;
	if (e->lfd < 0 || tern_bind(e->st, e->lfd, &any) < 0 ||
	    tern_listen(e->st, e->lfd, backlog > 0x7fffffff ? 0x7fffffff : (int)backlog) < 0)
		goto fail;
	return 0;
fail:
	mem_destroy(e);
	return -TERN_ENOMEM;
}

/* The i-th client: distinct (address, port) pairs from 11.0.0.0 upwards, or from
 * 12.0.0.0 for warm-up traffic, so the two never share a 4-tuple. */
static void mem_client(long long i, bool warm, uint32_t *addr, uint16_t *port)
{
	*addr = (warm ? 0x0c000000u : 0x0b000000u) + (uint32_t)(i / MEM_PORTS_PER_ADDR);
	*port = (uint16_t)(1024 + i % MEM_PORTS_PER_ADDR);
}

/* Sends SYNs for clients [from, to) to `port` and runs the network until quiet. */
static void mem_syns(struct mem_env *e, long long from, long long to, bool warm, uint16_t port)
{
	for (long long i = from; i < to; i++) {
		uint32_t a;
		uint16_t p;
		mem_client(i, warm, &a, &p);
		bench_peer_syn(&e->peer, a, p, e->srv_addr, port);
	}
	mem_settle(e);
}

/* Fills the simulator's packet pools to a batch's worth before the first reading:
 * a batch of SYNs to a closed port, each answered with an RST. */
static void mem_warm_packets(struct mem_env *e)
{
	mem_syns(e, 0, MEM_BATCH, true, MEM_CLOSED_PORT);
}

/* Counting sockets by state through the diag interface (what `tern ss` shows). */
struct mem_census {
	long long syn_recv, time_wait, estab, estab_busy, other;
};

static int mem_census_fn(void *ctx, const struct tern_diag_sock *s)
{
	struct mem_census *c = ctx;
	switch (s->state) {
	case TERN_STATE_SYN_RECV:
		c->syn_recv++;
		break;
	case TERN_STATE_TIME_WAIT:
		c->time_wait++;
		break;
	case TERN_STATE_ESTABLISHED:
		c->estab++;
		if (s->recv_q || s->send_q || s->fd < 0 || s->timer != TERN_DIAG_TIMER_NONE)
			c->estab_busy++;
		break;
	case TERN_STATE_LISTEN:
		break;
	default:
		c->other++;
	}
	return 0;
}

static void mem_census(struct mem_env *e, struct mem_census *c)
{
	memset(c, 0, sizeof(*c));
	tern_diag_foreach(e->st, mem_census_fn, c);
}

/* Names the counters that explain a shortfall. */
static void mem_explain(struct mem_env *e, struct mem_result *r, long long want, const char *what,
			int accept_err)
{
	if (r->made >= want)
		return;
	static const struct {
		enum tern_counter id;
		const char *name;
	} ctrs[] = {
		{ TERN_CTR_TcpExtTCPReqQFullDrop, "TCPReqQFullDrop" },
		{ TERN_CTR_TcpExtTCPReqQFullDoCookies, "TCPReqQFullDoCookies" },
		{ TERN_CTR_TcpExtListenOverflows, "ListenOverflows" },
		{ TERN_CTR_TcpExtListenDrops, "ListenDrops" },
		{ TERN_CTR_TcpExtTCPTimeWaitOverflow, "TCPTimeWaitOverflow" },
	};
	int n = snprintf(r->limit, sizeof(r->limit), "%lld of %lld %s made", r->made, want, what);
	for (size_t i = 0; i < sizeof(ctrs) / sizeof(ctrs[0]) && n < (int)sizeof(r->limit); i++) {
		uint64_t v = tern_stack_counter(e->st, ctrs[i].id);
		if (v)
			n += snprintf(r->limit + n, sizeof(r->limit) - (size_t)n, "; %s=%llu",
				      ctrs[i].name, (unsigned long long)v);
	}
	if (accept_err && n < (int)sizeof(r->limit))
		snprintf(r->limit + n, sizeof(r->limit) - (size_t)n, "; accept: %s",
			 tern_strerror(accept_err));
}

/* ---------------------------------------------------------------- requests */
static int mem_requests(long long count, struct mem_result *r)
{
	struct mem_env e;
	memset(r, 0, sizeof(*r));
	if (mem_create(&e, 11, count + 1024, count + 1024) < 0)
		return -1;
	if (mem_set(&e, "net.ipv4.tcp_syncookies", 0) < 0 ||
	    mem_set(&e, "net.ipv4.tcp_max_syn_backlog", 2 * count + 1024) < 0) {
		mem_destroy(&e);
		return -1;
	}
	e.peer.mute = true;
	mem_warm_packets(&e);
	size_t h0 = bench_heap_bytes();
	double w0 = bench_wall();
	for (long long i = 0; i < count; i += MEM_BATCH)
		mem_syns(&e, i, i + MEM_BATCH < count ? i + MEM_BATCH : count, false, MEM_PORT);
	r->setup_s = bench_wall() - w0;
	size_t h1 = bench_heap_bytes();
	struct mem_census c;
	mem_census(&e, &c);
	r->made = c.syn_recv;
	r->bytes = mem_per(h0, h1, r->made);
	mem_explain(&e, r, count, "requests", 0);
	mem_destroy(&e);
	return 0;
}

/* ---------------------------------------------------------------- TIME-WAIT */

/* Accepts every waiting child; `hold` keeps it, otherwise it is closed at once.
 * Returns how many were accepted; *err gets the first error other than -EAGAIN. */
static long long mem_accept_all(struct mem_env *e, bool hold, int *first_fd, int *last_fd, int *err)
{
	long long n = 0;
	for (;;) {
		int fd = tern_accept(e->st, e->lfd, NULL, TERN_SOCK_NONBLOCK);
		if (fd < 0) {
			if (fd != -TERN_EAGAIN && !*err)
				*err = fd;
			break;
		}
		n++;
		if (hold) {
			if (*first_fd < 0)
				*first_fd = fd;
			*last_fd = fd;
			continue;
		}
		tern_close(e->st, fd);
	}
	return n;
}

static int mem_time_wait(long long count, struct mem_result *r)
{
	struct mem_env e;
	memset(r, 0, sizeof(*r));
	if (mem_create(&e, 12, 4 * MEM_BATCH, 4 * MEM_BATCH) < 0)
		return -1;
	if (mem_set(&e, "net.ipv4.tcp_max_tw_buckets", count + MEM_BATCH) < 0) {
		mem_destroy(&e);
		return -1;
	}
	e.peer.answer_fin = true;
	int ffd = -1, lfd = -1, err = 0;
	/* Warm-up: a batch of connections that end by RST, so the socket, transfer
	 * block and segment pools, the descriptor table and the packet pools reach
	 * their working size. */
	mem_syns(&e, 0, MEM_BATCH, true, MEM_PORT);
	mem_accept_all(&e, true, &ffd, &lfd, &err);
	/* A byte in flight on each takes a transfer block and a segment record, as
	 * the FINs of a measured batch do, all at once. */
	for (int fd = ffd; ffd >= 0 && fd <= lfd; fd++)
		tern_send(e.st, fd, "w", 1, 0);
	for (int fd = ffd; ffd >= 0 && fd <= lfd; fd++) {
		struct tern_linger l = { 1, 0 };
		tern_setsockopt(e.st, fd, TERN_SOL_SOCKET, TERN_SO_LINGER, &l, sizeof(l));
		tern_close(e.st, fd);
	}
	ffd = lfd = -1;
	mem_settle(&e);
	size_t h0 = bench_heap_bytes();
	double w0 = bench_wall();
	for (long long i = 0; i < count; i += MEM_BATCH) {
		mem_syns(&e, i, i + MEM_BATCH < count ? i + MEM_BATCH : count, false, MEM_PORT);
		mem_accept_all(&e, false, &ffd, &lfd, &err);
		mem_settle(&e);
	}
	r->setup_s = bench_wall() - w0;
	size_t h1 = bench_heap_bytes();
	struct mem_census c;
	mem_census(&e, &c);
	r->made = c.time_wait;
	r->bytes = mem_per(h0, h1, r->made);
	mem_explain(&e, r, count, "TIME-WAIT entries", err);
	if (!r->limit[0] && (c.estab || c.other))
		snprintf(r->limit, sizeof(r->limit), "%lld sockets not yet in TIME-WAIT",
			 c.estab + c.other);
	mem_destroy(&e);
	return 0;
}

/* ---------------------------------------------------------------- established */
static int mem_established(long long count, struct mem_result *r)
{
	struct mem_env e;
	memset(r, 0, sizeof(*r));
	if (mem_create(&e, 13, 4 * MEM_BATCH, 4 * MEM_BATCH) < 0)
		return -1;
	int ffd = -1, lfd = -1, err = 0;
	mem_warm_packets(&e);
	size_t h0 = bench_heap_bytes();
	double w0 = bench_wall();
	for (long long i = 0; i < count; i += MEM_BATCH) {
		mem_syns(&e, i, i + MEM_BATCH < count ? i + MEM_BATCH : count, false, MEM_PORT);
		mem_accept_all(&e, true, &ffd, &lfd, &err);
	}
	r->setup_s = bench_wall() - w0;
	size_t h1 = bench_heap_bytes();
	struct mem_census c;
	mem_census(&e, &c);
	r->made = c.estab - c.estab_busy;
	r->bytes = mem_per(h0, h1, r->made);
	mem_explain(&e, r, count, "idle established connections", err);

	/* The same connections registered for readiness, as a server would. */
	int ep = tern_epoll_create(e.st);
	size_t h2 = bench_heap_bytes();
	long long added = 0;
	for (int fd = ffd; ep >= 0 && ffd >= 0 && fd <= lfd; fd++) {
		struct tern_epoll_event ev = { .events = TERN_POLLIN, .data = (uint64_t)fd };
		if (tern_epoll_ctl(e.st, ep, TERN_EPOLL_CTL_ADD, fd, &ev) == 0)
			added++;
	}
	size_t h3 = bench_heap_bytes();
	r->extra_bytes = mem_per(h2, h3, added);
	mem_destroy(&e);
	return 0;
}

/* ---------------------------------------------------------------- report */
static bool mem_args(const struct bench_opts *o, long long *count)
{
	*count = o->quick ? 10000 : 1000000;
	for (int i = 0; i < o->argc; i++) {
		const char *a = o->argv[i];
		const char *v = NULL;
		if (!strcmp(a, "--count")) {
			if (i + 1 >= o->argc)
				goto bad;
			v = o->argv[++i];
		} else if (!strncmp(a, "--count=", 8)) {
			v = a + 8;
		} else {
			fprintf(stderr, "tern bench memory: unknown option '%s' (known: --count N)\n", a);
			return false;
		}
		*count = bench_parse_count(v);
		if (*count < 1 || *count > MEM_MAX_COUNT)
			goto bad;
	}
	return true;
bad:
	fprintf(stderr, "tern bench memory: --count takes 1..%lld (k, M suffixes allowed)\n",
		MEM_MAX_COUNT);
	return false;
}

static double mem_ratio(double lin, double tern)
{
	return isfinite(lin) && isfinite(tern) && tern > 0 ? lin / tern : NAN;
}

static void mem_print_row(const char *name, double tern, double lin, double target,
			  const struct mem_result *r)
{
	printf("  %-22s %9.1f B", name, tern);
	if (isfinite(lin))
		printf("  %9.0f B  %6.1fx", lin, mem_ratio(lin, tern));
	else
		printf("  %9s    %6s ", "-", "-");
	if (target > 0)
		printf("  <= %3.0f  %s", target, tern <= target ? "met" : "NOT MET");
	printf("\n");
	if (r && r->limit[0])
		printf("    stopped: %s\n", r->limit);
}

int bench_memory(const struct bench_opts *o, const struct bench_machine *m)
{
	long long count;
	if (!mem_args(o, &count))
		return 2;
	struct mem_result req, tw, est;
	if (mem_requests(count, &req) < 0 || mem_time_wait(count, &tw) < 0 ||
	    mem_established(count, &est) < 0) {
		fprintf(stderr, "tern bench memory: cannot set up the simulated network\n");
		return 1;
	}

	char base[8192] = "";
	int brc = -1;
	double lreq = NAN, ltw = NAN, lest = NAN, lepoll = NAN;
	if (!o->no_linux) {
		const char *args[] = { "--count", o->quick ? "1000" : "10000", NULL };
		brc = bench_run_baseline("linux-memory", args, base, sizeof(base));
		if (brc == 0) {
			lreq = bench_json_get(base, "request_bytes");
			ltw = bench_json_get(base, "time_wait_bytes");
			lest = bench_json_get(base, "established_bytes");
			lepoll = bench_json_get(base, "established_epoll_bytes");
		}
	}
	double tepoll = est.bytes + est.extra_bytes;
	bool ok = req.made == count && tw.made == count && est.made == count;

	if (o->json) {
		struct bench_json j;
		bench_json_begin(&j, stdout);
		bench_json_head(&j, "memory", o, m);
		bench_json_obj(&j, "tern");
		bench_json_num(&j, "request_bytes", req.bytes);
		bench_json_num(&j, "time_wait_bytes", tw.bytes);
		bench_json_num(&j, "established_bytes", est.bytes);
		bench_json_num(&j, "established_epoll_bytes", tepoll);
		bench_json_int(&j, "count", count);
		bench_json_int(&j, "requests", req.made);
		bench_json_int(&j, "time_wait", tw.made);
		bench_json_int(&j, "established", est.made);
		bench_json_num(&j, "request_setup_s", req.setup_s);
		bench_json_num(&j, "time_wait_setup_s", tw.setup_s);
		bench_json_num(&j, "established_setup_s", est.setup_s);
		bench_json_str(&j, "method", "mallinfo2 heap delta / count; table growth included, amortised");
		const struct mem_result *rs[] = { &req, &tw, &est };
		const char *names[] = { "request", "time_wait", "established" };
		bench_json_obj(&j, "limits");
		for (int i = 0; i < 3; i++)
			if (rs[i]->limit[0])
				bench_json_str(&j, names[i], rs[i]->limit);
		bench_json_close(&j);
		bench_json_close(&j);
		bench_json_baseline(&j, o, brc, base);
		bench_json_obj(&j, "ratio");
		bench_json_num(&j, "request_bytes", mem_ratio(lreq, req.bytes));
		bench_json_num(&j, "time_wait_bytes", mem_ratio(ltw, tw.bytes));
		bench_json_num(&j, "established_bytes", mem_ratio(lest, est.bytes));
		bench_json_num(&j, "established_epoll_bytes", mem_ratio(lepoll, tepoll));
		bench_json_close(&j);
		bench_json_obj(&j, "targets");
		bench_json_num(&j, "request_bytes", TARGET_REQUEST);
		bench_json_num(&j, "time_wait_bytes", TARGET_TIME_WAIT);
		bench_json_num(&j, "established_bytes", TARGET_ESTABLISHED);
		bench_json_close(&j);
		bench_json_obj(&j, "met");
		bench_json_bool(&j, "request_bytes", req.bytes <= TARGET_REQUEST);
		bench_json_bool(&j, "time_wait_bytes", tw.bytes <= TARGET_TIME_WAIT);
		bench_json_bool(&j, "established_bytes", est.bytes <= TARGET_ESTABLISHED);
		bench_json_close(&j);
		bench_json_end(&j);
	} else {
		bench_machine_print(stdout, m);
		printf("memory: bytes per object, heap delta over %lld objects of each kind\n", count);
		printf("  %-22s %11s  %11s  %7s  %s\n", "", "tern", "linux", "ratio", "target");
		mem_print_row("half-open request", req.bytes, lreq, TARGET_REQUEST, &req);
		mem_print_row("TIME-WAIT entry", tw.bytes, ltw, TARGET_TIME_WAIT, &tw);
		mem_print_row("idle established", est.bytes, lest, TARGET_ESTABLISHED, &est);
		mem_print_row("  + epoll registration", tepoll, lepoll, 0, NULL);
		if (brc != 0 && !o->no_linux)
			printf("  linux  not measured: %s\n", base);
		else if (brc == 0)
			printf("  linux: slab object sizes with slab packing (/proc/slabinfo)\n");
	}
	return ok ? 0 : 1;
}
