/*
 * Issue 6's acceptance run for TIME-WAIT at scale (spec §6.5): a client makes
 * 2^20 = 1,048,576 TIME-WAIT entries at once with short connections it closes
 * first, and the test checks, by counting rather than timing,
 *
 *   - that every entry lives exactly its 60 s: present until the very nanosecond
 *     60 s after the server's FIN made it, gone at the first 1 ms timer tick from
 *     then (the wheel's granularity);
 *   - what the entries cost in memory: sizeof(struct tern_tw) is 64, which
 *     docs/design.md must state, and the time-wait table, measured through the
 *     allocator, holds 64 bytes per entry plus its 4-byte hash slot;
 *   - that a new connection costs the same work with a million entries as with
 *     none: identical timer-wheel work, and connection-table probes that differ
 *     only by the one time-wait hash chain connect() walks, whose length is
 *     measured and bounded by the table's load factor.
 *
 * Network: client 10.0.0.1; bulk server 10.0.0.2 on 128 ports over a link with
 * 250 us delay and 100 us jitter (so births fall anywhere in a millisecond); probe
 * server 10.0.0.3 over a link without jitter. Per destination the client has 28,232
 * ephemeral ports, so the million entries are spread over 128 server ports, 8,192
 * each: below the 14,116 ports of the first parity, so connect() never has to scan
 * a full parity (spec §8.1).
 *
 * Timeline (virtual time is free; only events cost):
 *   W0 - 20 s  seed connection to the probe server: one TIME-WAIT entry, so the
 *              table's expiry timer is armed as it will be at W1;
 *   W0         K probe connections, one after the other, their work counted;
 *   W1 - 20 s  head connection (as the seed), then the bulk: 2^20 - 1 - K short
 *              connections, 1,024 in flight;
 *   W1         the same K probes, with 2^20 - K entries present (2^20 after);
 *   then       time runs on until the last entry expires, every birth instant's
 *              60 s boundary checked on the way.
 * W0 and W1 are multiples of 64^3 ms, so the timer wheel, whose levels are 64
 * ticks of 1 ms, 64 ms, 4096 ms wide, is in the same position in both windows.
 *
 * Without TERN_TEST_LARGE the same run is made with 2^16 entries (CTest runs the
 * large one as its own test, sim.timewait_million).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <malloc.h>

#include <cmocka.h>

#include "core/timer.h"
#include "tcp/sock.h"
#include "tcp/tw.h"
#include "tern/errors.h"
#include "tern/sim.h"
#include "tern/sysctl.h"

#if defined(__SANITIZE_ADDRESS__)
#define TERN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TERN_ASAN 1
#endif
#endif
#ifdef TERN_ASAN
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#define US TERN_NS_PER_US
#define MS TERN_NS_PER_MS
#define SEC TERN_NS_PER_SEC
#define TIMEWAIT (60 * SEC)            /* TCP_TIMEWAIT_LEN (spec §6.5) */
#define WHEEL_BLOCK (262144 * MS)      /* 64^3 ticks of 1 ms */
#define W0 (1 * WHEEL_BLOCK)
#define W1 (2 * WHEEL_BLOCK)
#define LEAD (20 * SEC)                /* seed/head connection before W0/W1 */
#define BULK_PORTS 128
#define BULK_PORT0 10000
#define PROBE_PORT0 20000
#define SEED_PORT 30000
#define NPROBES 64
#define CONCURRENCY 1024
#define MAXFD 8192
#define LISTENER_BIT (1ull << 62)

enum { C_FREE, C_CONNECTING, C_WAIT_REPLY, C_WAIT_EOF };
enum { S_FREE, S_WAIT_REQ, S_WAIT_EOF };

struct server {
	struct tern_stack *st;
	struct tern_addr addr;
	int node, ep;
	uint8_t state[MAXFD];
	int live;
	uint64_t accepted;
};

struct birth {
	tern_time at;
	uint32_t n;
};

struct run {
	struct tern_sim *sim;
	struct tern_stack *cl;
	int cnode, cep;
	struct server srv[2];            /* 0: bulk server, 1: probe server */
	uint8_t cstate[MAXFD];
	uint16_t cport[MAXFD];
	int live;
	uint64_t completed, eofs_in_step;
	/* Births of TIME-WAIT entries, in time order, and the expiry checks. */
	struct birth *births;
	size_t nbirths, cap;
	uint64_t born_total, tw_seen;
	size_t chk_a, chk_b;             /* next birth to check at c + 60 s - 1 ns, at the tick */
	size_t may_i, must_i;            /* births counted as possibly / surely gone */
	uint64_t may_gone, must_gone;
	uint64_t checks;
	uint32_t peak;
};

struct probe_cost {
	uint64_t client_probes;          /* hash_probes of the client stack (the test's own
					    lookups taken out) */
	uint64_t server_probes;
	uint64_t chain;                  /* sum over probes of the time-wait chain at the new tuple */
	uint32_t chain_max;
	struct tern_timer_work cw, sw;   /* timer-wheel work, client and probe server */
};

static void set(struct tern_stack *st, const char *name, const char *value)
{
	assert_int_equal(tern_sysctl_set(st, name, value), 0);
}

static void watch(struct tern_stack *st, int ep, int fd, uint64_t tag)
{
	struct tern_epoll_event ev = { .events = TERN_POLLIN | TERN_POLLOUT | TERN_EPOLLET, .data = tag };
	assert_int_equal(tern_epoll_ctl(st, ep, TERN_EPOLL_CTL_ADD, fd, &ev), 0);
}

static void sync_all(struct run *r)
{
	tern_time now = tern_sim_now(r->sim);
	tern_stack_advance(r->cl, now);
	tern_stack_advance(r->srv[0].st, now);
	tern_stack_advance(r->srv[1].st, now);
}

static tern_time ceil_ms(tern_time t)
{
	return (t + MS - 1) / MS * MS;
}

/* ---------------------------------------------------------------- the application */

static void client_event(struct run *r, int fd)
{
	uint8_t b;

	assert_true(fd > 0 && fd < MAXFD);
	for (;;) {
		switch (r->cstate[fd]) {
		case C_CONNECTING: {
			struct tern_pollfd p = { .fd = fd, .events = TERN_POLLOUT };
			if (tern_poll(r->cl, &p, 1) == 0)
				return;
			int soerr = -1;
			size_t len = sizeof(soerr);
			assert_int_equal(tern_getsockopt(r->cl, fd, TERN_SOL_SOCKET, TERN_SO_ERROR, &soerr, &len), 0);
			if (soerr)
				fail_msg("connection from port %u failed: %s", r->cport[fd], tern_strerror(soerr));
			assert_int_equal(tern_send(r->cl, fd, "q", 1, 0), 1);
			r->cstate[fd] = C_WAIT_REPLY;
			break;
		}
		case C_WAIT_REPLY: {
			ssize_t n = tern_recv(r->cl, fd, &b, 1, 0);
			if (n == -TERN_EAGAIN)
				return;
			assert_int_equal(n, 1);
			assert_int_equal(b, 'r');
			/* The client closes first and will hold the TIME-WAIT. shutdown()
			 * rather than close(), so the socket is never an orphan FIN-WAIT-2
			 * entry: it becomes TIME-WAIT when the server's FIN arrives. */
			assert_int_equal(tern_shutdown(r->cl, fd, TERN_SHUT_WR), 0);
			r->cstate[fd] = C_WAIT_EOF;
			break;
		}
		case C_WAIT_EOF: {
			ssize_t n = tern_recv(r->cl, fd, &b, 1, 0);
			if (n == -TERN_EAGAIN)
				return;
			assert_int_equal(n, 0);
			assert_int_equal(tern_close(r->cl, fd), 0);
			r->cstate[fd] = C_FREE;
			r->live--;
			r->completed++;
			r->eofs_in_step++;
			return;
		}
		default:
			return;
		}
	}
}

static void server_event(struct server *s, int fd)
{
	uint8_t b;

	assert_true(fd > 0 && fd < MAXFD);
	for (;;) {
		ssize_t n = tern_recv(s->st, fd, &b, 1, 0);
		if (n == -TERN_EAGAIN)
			return;
		if (s->state[fd] == S_WAIT_REQ) {
			assert_int_equal(n, 1);
			assert_int_equal(b, 'q');
			assert_int_equal(tern_send(s->st, fd, "r", 1, 0), 1);
			s->state[fd] = S_WAIT_EOF;
			continue;
		}
		assert_int_equal(s->state[fd], S_WAIT_EOF);
		assert_int_equal(n, 0);
		assert_int_equal(tern_close(s->st, fd), 0);
		s->state[fd] = S_FREE;
		s->live--;
		return;
	}
}

static void accept_all(struct server *s, int lfd)
{
	int fd;

	while ((fd = tern_accept(s->st, lfd, NULL, TERN_SOCK_NONBLOCK)) >= 0) {
		assert_true(fd < MAXFD);
		assert_int_equal(s->state[fd], S_FREE);
		s->state[fd] = S_WAIT_REQ;
		s->live++;
		s->accepted++;
		watch(s->st, s->ep, fd, (uint64_t)fd);
		server_event(s, fd);
	}
	assert_int_equal(fd, -TERN_EAGAIN);
}

static void dispatch(struct run *r)
{
	struct tern_epoll_event evs[64];
	int k;

	while ((k = tern_epoll_wait(r->cl, r->cep, evs, 64)) > 0)
		for (int i = 0; i < k; i++)
			client_event(r, (int)evs[i].data);
	for (int j = 0; j < 2; j++) {
		struct server *s = &r->srv[j];
		while ((k = tern_epoll_wait(s->st, s->ep, evs, 64)) > 0)
			for (int i = 0; i < k; i++) {
				if (evs[i].data & LISTENER_BIT)
					accept_all(s, (int)(evs[i].data & ~LISTENER_BIT));
				else
					server_event(s, (int)evs[i].data);
			}
	}
}

/* ---------------------------------------------------------------- expiry checks */

/*
 * Between two events nothing changes, so the count after the events of time t holds
 * until the next event. `until` (exclusive) is that next event: every boundary
 * before it is checked against the count now. For a birth at c the entry must be
 * present at c + 60 s - 1 ns and gone at ceil_ms(c + 60 s); at a time b, the count
 * must lie between born - #{c + 60 s <= b} and born - #{ceil_ms(c + 60 s) <= b}.
 */
static void check_one(struct run *r, tern_time b, size_t k)
{
	while (r->may_i < r->nbirths && r->births[r->may_i].at + TIMEWAIT <= b)
		r->may_gone += r->births[r->may_i++].n;
	while (r->must_i < r->nbirths && ceil_ms(r->births[r->must_i].at + TIMEWAIT) <= b)
		r->must_gone += r->births[r->must_i++].n;
	uint64_t count = tern__tw_count(r->cl);
	uint64_t lo = r->born_total - r->may_gone, hi = r->born_total - r->must_gone;
	if (count < lo || count > hi)
		fail_msg("at %lld ns: %llu TIME-WAIT entries, expected %llu..%llu (entries born at %lld ns %s)",
			 (long long)b, (unsigned long long)count, (unsigned long long)lo, (unsigned long long)hi,
			 (long long)r->births[k].at,
			 count < lo ? "or later went early, before their 60 s" : "or earlier outlived 60 s + 1 tick");
	r->checks++;
}

static void check_until(struct run *r, tern_time until)
{
	for (;;) {
		tern_time ba = r->chk_a < r->nbirths ? r->births[r->chk_a].at + TIMEWAIT - 1 : TERN_TIME_NEVER;
		tern_time bb = r->chk_b < r->nbirths ? ceil_ms(r->births[r->chk_b].at + TIMEWAIT) : TERN_TIME_NEVER;
		if (ba <= bb && ba < until) {
			check_one(r, ba, r->chk_a++);
		} else if (bb < ba && bb < until) {
			check_one(r, bb, r->chk_b++);
		} else {
			return;
		}
	}
}

/* One simulation event (at most `limit`), the application's reaction, and the
 * bookkeeping of births: the entries made in a step are exactly the client
 * connections that read EOF in it (the server's FIN made them). */
static bool pump(struct run *r, tern_time limit)
{
	tern_time next = tern_sim_next_event(r->sim);

	check_until(r, next < limit ? next : limit);
	if (!tern_sim_step(r->sim, limit))
		return false;
	sync_all(r);
	r->eofs_in_step = 0;
	dispatch(r);
	uint64_t tw = tern_stack_counter(r->cl, TERN_CTR_TcpExtTW);
	assert_int_equal(tw - r->tw_seen, r->eofs_in_step);
	if (tw != r->tw_seen) {
		if (r->nbirths == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 4096;
			r->births = realloc(r->births, r->cap * sizeof(*r->births));
			assert_non_null(r->births);
		}
		r->births[r->nbirths++] = (struct birth){ .at = tern_sim_now(r->sim), .n = (uint32_t)(tw - r->tw_seen) };
		r->born_total += tw - r->tw_seen;
		r->tw_seen = tw;
	}
	if (tern__tw_count(r->cl) > r->peak)
		r->peak = tern__tw_count(r->cl);
	return true;
}

/* Every event up to `t`, then the clock to `t`, boundaries checked up to `t`. */
static void run_to(struct run *r, tern_time t)
{
	while (pump(r, t))
		;
	check_until(r, t + 1);
	tern_sim_run_until(r->sim, t);
	sync_all(r);
}

/* ---------------------------------------------------------------- connections */

static int open_conn(struct run *r, int srv, uint16_t port)
{
	struct tern_sockaddr dst = { .addr = r->srv[srv].addr, .port = port };
	int fd = tern_socket(r->cl, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);

	assert_true(fd >= 3 && fd < MAXFD);
	int rc = tern_connect(r->cl, fd, &dst);
	if (rc != -TERN_EINPROGRESS)
		fail_msg("connect() to port %u: %s", port, tern_strerror(rc));
	struct tern_sockaddr me;
	assert_int_equal(tern_getsockname(r->cl, fd, &me), 0);
	r->cport[fd] = me.port;
	r->cstate[fd] = C_CONNECTING;
	r->live++;
	watch(r->cl, r->cep, fd, (uint64_t)fd);
	return fd;
}

/* Until every connection is over at both ends and the last ACK has landed. */
static void quiesce(struct run *r)
{
	tern_time limit = tern_sim_now(r->sim) + 10 * SEC;

	while (r->live > 0 || r->srv[0].live > 0 || r->srv[1].live > 0 || r->cl->tcp->ehash_count > 0 ||
	       r->srv[0].st->tcp->ehash_count > 0 || r->srv[1].st->tcp->ehash_count > 0)
		assert_true(pump(r, limit));
}

/* One connection to the probe server, run to its end (the seed and head). */
static void single(struct run *r, uint16_t port)
{
	open_conn(r, 1, port);
	quiesce(r);
}

static struct tern_timer_work work_diff(const struct tern_timer_work *a, const struct tern_timer_work *b)
{
	return (struct tern_timer_work){
		.armed = b->armed - a->armed, .cancelled = b->cancelled - a->cancelled,
		.fired = b->fired - a->fired, .cascaded = b->cascaded - a->cascaded,
		.steps = b->steps - a->steps, .walked = b->walked - a->walked,
	};
}

/*
 * NPROBES connections to the probe server, one after another, each to its own port
 * so that connect() takes the first port it tries, each run from connect() to the
 * server's last ACK. After each connect() the time-wait chain its new 4-tuple
 * hashed to is measured by one more lookup (a miss walks the whole chain); that
 * lookup's probes are not the stack's and are taken out again.
 */
static struct probe_cost probe_window(struct run *r)
{
	struct probe_cost pc = { 0 };
	struct tern_stack *cl = r->cl, *sv = r->srv[1].st;
	struct tern_timer_work cw0 = cl->timers.work, sw0 = sv->timers.work;
	uint64_t cp0 = cl->tcp->hash_probes, sp0 = sv->tcp->hash_probes;

	for (int i = 0; i < NPROBES; i++) {
		int fd = open_conn(r, 1, (uint16_t)(PROBE_PORT0 + i));
		uint64_t h0 = cl->tcp->hash_probes;
		assert_null(tern__tw_lookup(cl, tern_addr_v4(10, 0, 0, 1).u.v4, r->cport[fd], r->srv[1].addr.u.v4,
					    (uint16_t)(PROBE_PORT0 + i)));
		uint32_t chain = (uint32_t)(cl->tcp->hash_probes - h0);
		pc.chain += chain;
		if (chain > pc.chain_max)
			pc.chain_max = chain;
		quiesce(r);
	}
	pc.client_probes = cl->tcp->hash_probes - cp0 - pc.chain;
	pc.server_probes = sv->tcp->hash_probes - sp0;
	pc.cw = work_diff(&cw0, &cl->timers.work);
	pc.sw = work_diff(&sw0, &sv->timers.work);
	return pc;
}

static void print_cost(const char *when, const struct probe_cost *pc)
{
	print_message("%s: client probes %llu (time-wait chain links %llu, longest %u), server probes %llu; client timers "
		      "armed %llu cancelled %llu fired %llu cascaded %llu steps %llu walked %llu\n",
		      when, (unsigned long long)pc->client_probes, (unsigned long long)pc->chain, pc->chain_max,
		      (unsigned long long)pc->server_probes, (unsigned long long)pc->cw.armed,
		      (unsigned long long)pc->cw.cancelled, (unsigned long long)pc->cw.fired,
		      (unsigned long long)pc->cw.cascaded, (unsigned long long)pc->cw.steps,
		      (unsigned long long)pc->cw.walked);
}

static void assert_work_equal(const char *who, const struct tern_timer_work *a, const struct tern_timer_work *b)
{
	if (memcmp(a, b, sizeof(*a)) != 0)
		fail_msg("%s timer work differs: armed %llu/%llu cancelled %llu/%llu fired %llu/%llu cascaded "
			 "%llu/%llu steps %llu/%llu walked %llu/%llu", who,
			 (unsigned long long)a->armed, (unsigned long long)b->armed,
			 (unsigned long long)a->cancelled, (unsigned long long)b->cancelled,
			 (unsigned long long)a->fired, (unsigned long long)b->fired,
			 (unsigned long long)a->cascaded, (unsigned long long)b->cascaded,
			 (unsigned long long)a->steps, (unsigned long long)b->steps,
			 (unsigned long long)a->walked, (unsigned long long)b->walked);
}

/* ---------------------------------------------------------------- memory */

static size_t allocated_bytes(void)
{
#ifdef TERN_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
#endif
}

/* docs/design.md must state the entry's size: "<n> bytes" or "<n>-byte" in a
 * paragraph that speaks of TIME-WAIT. */
static bool design_states_size(size_t size)
{
	char path[1024], want1[32], want2[32];
	snprintf(path, sizeof(path), "%s/docs/design.md", TERN_SOURCE_DIR);
	snprintf(want1, sizeof(want1), "%zu bytes", size);
	snprintf(want2, sizeof(want2), "%zu-byte", size);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *text = calloc((size_t)len + 1, 1);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);

	bool found = false;
	for (char *para = text; para && *para && !found;) {
		char *end = strstr(para, "\n\n");
		if (end)
			*end = '\0';
		if ((strstr(para, want1) || strstr(para, want2)) && (strstr(para, "TIME-WAIT") || strstr(para, "time-wait")))
			found = true;
		para = end ? end + 2 : NULL;
	}
	free(text);
	return found;
}

/* ---------------------------------------------------------------- the run */

static void add_server(struct run *r, int j, struct tern_addr addr, uint64_t seed, const struct tern_link_params *lp)
{
	struct tern_stack_config cfg;
	struct server *s = &r->srv[j];

	tern_stack_config_init(&cfg);
	cfg.addr = addr;
	cfg.seed = seed;
	s->addr = addr;
	s->node = tern_sim_add_stack(r->sim, &cfg, &s->st);
	assert_true(s->node >= 0);
	assert_true(tern_sim_link(r->sim, r->cnode, s->node, lp, lp) >= 0);
	s->ep = tern_epoll_create(s->st);
	assert_true(s->ep >= 0);
}

static void listen_on(struct server *s, uint16_t port)
{
	struct tern_sockaddr any = { .addr = { .family = TERN_AF_INET }, .port = port };
	int lfd = tern_socket(s->st, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);

	assert_true(lfd >= 3 && lfd < MAXFD);
	assert_int_equal(tern_bind(s->st, lfd, &any), 0);
	assert_int_equal(tern_listen(s->st, lfd, 4096), 0);
	watch(s->st, s->ep, lfd, LISTENER_BIT | (uint64_t)lfd);
}

static void million_timewait(void **state)
{
	(void)state;
	const bool large = getenv("TERN_TEST_LARGE") != NULL;
	/* The peak: a power of two, so the table's arrays are exactly full then. */
	const uint32_t peak = large ? 1u << 20 : 1u << 16;
	const uint32_t bulk = peak - 1 - NPROBES;
	struct run *r = calloc(1, sizeof(*r));
	struct tern_stack_config cfg;
	struct tern_link_params jittery = { .delay = 250 * US, .jitter = 100 * US };
	struct tern_link_params clean = { .delay = 250 * US };
	char buf[32];

	/* ---- the network */
	assert_int_equal(tern_sim_create(66, &r->sim), 0);
	tern_stack_config_init(&cfg);
	cfg.addr = tern_addr_v4(10, 0, 0, 1);
	cfg.seed = 661;
	r->cnode = tern_sim_add_stack(r->sim, &cfg, &r->cl);
	assert_true(r->cnode >= 0);
	add_server(r, 0, tern_addr_v4(10, 0, 0, 2), 662, &jittery);
	add_server(r, 1, tern_addr_v4(10, 0, 0, 3), 663, &clean);
	r->cep = tern_epoll_create(r->cl);
	assert_true(r->cep >= 0);
	for (int p = 0; p < BULK_PORTS; p++)
		listen_on(&r->srv[0], (uint16_t)(BULK_PORT0 + p));
	for (int p = 0; p < NPROBES; p++)
		listen_on(&r->srv[1], (uint16_t)(PROBE_PORT0 + p));
	listen_on(&r->srv[1], SEED_PORT);
	/* Room for all of them (the default is 131072: spec §9's half of the
	 * established hash of the modelled 24 GiB host). */
	snprintf(buf, sizeof(buf), "%u", 2 * peak);
	set(r->cl, "net.ipv4.tcp_max_tw_buckets", buf);

	/* ---- W0: the seed, then the probes with (almost) no TIME-WAIT */
	run_to(r, W0 - LEAD);
	single(r, SEED_PORT);
	assert_int_equal(tern__tw_count(r->cl), 1);
	run_to(r, W0);
	struct probe_cost before = probe_window(r);
	assert_int_equal(tern__tw_count(r->cl), 1 + NPROBES);
	print_cost("with 1 TIME-WAIT entry", &before);

	/* ---- W1 - 20 s: the head, then the bulk */
	run_to(r, W1 - LEAD);
	assert_int_equal(tern__tw_count(r->cl), 0);   /* all of W0's expired */
	single(r, SEED_PORT);
	run_to(r, W1 - LEAD + 1 * SEC);
	tern_time bulk_start = tern_sim_now(r->sim);
	uint32_t opened = 0;
	while (opened < bulk || r->live > 0) {
		while (r->live < CONCURRENCY && opened < bulk) {
			open_conn(r, 0, (uint16_t)(BULK_PORT0 + opened % BULK_PORTS));
			opened++;
		}
		assert_true(pump(r, W1 - 1));
	}
	quiesce(r);
	tern_time bulk_end = tern_sim_now(r->sim);
	assert_int_equal(tern__tw_count(r->cl), 1 + bulk);
	assert_int_equal(r->srv[0].accepted, bulk);
	print_message("%u connections in %.3f s of virtual time\n", bulk, (double)(bulk_end - bulk_start) / SEC);
	/* They are not sockets: none is left on either side. */
	assert_int_equal(r->cl->tcp->sock_pool.in_use, 0);
	assert_int_equal(r->srv[0].st->tcp->sock_pool.in_use, BULK_PORTS);   /* the listeners */
	assert_int_equal(tern__tw_count(r->srv[0].st), 0);   /* the client closed first */
	assert_true(r->cl->tcp->sock_pool.high_water <= CONCURRENCY + 1);
	/* The probe windows must see the same things: nothing pending at the bulk
	 * server, nothing in flight. */
	assert_true(tern_stack_next_deadline(r->srv[0].st) > W1 + 60 * SEC);

	/* ---- W1: the probes again, with the million present */
	run_to(r, W1);
	assert_int_equal(tern__tw_count(r->cl), 1 + bulk);
	struct probe_cost after = probe_window(r);
	assert_int_equal(tern__tw_count(r->cl), peak);
	assert_int_equal(r->peak, peak);
	print_cost("with a million TIME-WAIT entries", &after);

	/* Timer work: identical. The entries share one wheel timer that follows the
	 * oldest; a new entry joins the tail of a list already in expiry order. */
	assert_work_equal("client", &before.cw, &after.cw);
	assert_work_equal("probe server", &before.sw, &after.sw);
	/* Table probes: the server's identical; the client's differ exactly by the
	 * time-wait chain connect() walked for each new 4-tuple, and that chain
	 * averages the load factor (entries per bucket, at most 1): not the number of
	 * entries. */
	assert_int_equal(after.server_probes, before.server_probes);
	assert_int_equal(after.client_probes - after.chain, before.client_probes - before.chain);
	assert_true(after.chain <= 2 * NPROBES);
	/* Most misses stop at the bucket's summary without reading an entry (tw.c):
	 * at a load near one, walking every chain would read about NPROBES links. */
	assert_true(after.chain <= NPROBES / 2);
	assert_true(after.chain_max <= 8);

	/* ---- every entry expires 60 s after its birth */
	tern_time end = ceil_ms(r->births[r->nbirths - 1].at + TIMEWAIT) + MS;
	run_to(r, end);
	assert_int_equal(tern__tw_count(r->cl), 0);
	assert_int_equal(r->chk_a, r->nbirths);
	assert_int_equal(r->chk_b, r->nbirths);
	assert_int_equal(r->born_total, 1 + NPROBES + 1 + bulk + NPROBES);
	assert_int_equal(tern_stack_counter(r->cl, TERN_CTR_TcpExtTW), r->born_total);
	assert_int_equal(tern_stack_counter(r->cl, TERN_CTR_TcpExtTCPTimeWaitOverflow), 0);
	assert_int_equal(tern_stack_counter(r->cl, TERN_CTR_TcpExtTWRecycled), 0);
	assert_int_equal(tern_stack_counter(r->cl, TERN_CTR_TcpAttemptFails), 0);
	assert_int_equal(tern_stack_counter(r->cl, TERN_CTR_TcpOutRsts), 0);
	assert_int_equal(tern_stack_counter(r->srv[0].st, TERN_CTR_TcpOutRsts), 0);
	print_message("%zu birth instants, %llu expiry checks\n", r->nbirths, (unsigned long long)r->checks);

	/* ---- memory: 48 bytes an entry, as docs/design.md says, plus 8 of expiry
	 * links in the array beside the entries (tw.c) */
	assert_int_equal(sizeof(struct tern_tw), 48);
	if (!design_states_size(sizeof(struct tern_tw)))
		fail_msg("docs/design.md does not state the %zu-byte TIME-WAIT entry", sizeof(struct tern_tw));
	/* The table never shrinks: it still holds the arrays sized for the peak. Free
	 * it and see how much the allocator gets back. */
	size_t held = allocated_bytes();
	tern__tw_fini(r->cl);
	size_t table = held - allocated_bytes();
	assert_int_equal(tern__tw_init(r->cl), 0);
	print_message("time-wait table at its peak of %u entries: %zu bytes, %.3f per entry\n", peak, table,
		      (double)table / peak);
	assert_true(table >= (size_t)peak * sizeof(struct tern_tw));
	/* The entries themselves with their 8 bytes of links, one 4-byte hash slot per
	 * entry (load factor 1 at a power of two), and the fixed part (per-port chain
	 * heads): 64 KiB at most. */
	assert_true(table >= (size_t)peak * (sizeof(struct tern_tw) + 8));
	assert_true(table <= (size_t)peak * (sizeof(struct tern_tw) + 8 + 4) + 64 * 1024);

	tern_sim_destroy(r->sim);
	free(r->births);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(million_timewait),
	};
	if (getenv("TERN_TEST_FILTER"))
		cmocka_set_test_filter(getenv("TERN_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
