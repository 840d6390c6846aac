/*
 * Two tern stacks move data both ways over the simulated network: every byte
 * arrives exactly (checked against the sender's generator), both ends close, the
 * active closer's TIME-WAIT expires after 60 s, and nothing is left behind: no
 * socket, no buffer chunk, no scoreboard entry. Run clean, then under loss,
 * duplication and reordering, with and without SACK, window scaling, timestamps
 * and Nagle. Connections left open once their data is across hold no transfer
 * block (struct tern_xfer) any more, and running out of blocks is a counted drop
 * or ENOBUFS, never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/bulk.h"
#include "support/tcp_sim.h"
#include "tcp/reqsk.h"
#include "tcp/sock.h"
#include "tcp/tw.h"

struct scenario {
	const char *name;
	struct tern_link_params link;
	uint64_t bytes_c2s, bytes_s2c;
	int nconns;
	const char *sysctls[4];   /* "name=value" for both stacks */
	bool nodelay;
	uint64_t seed;
};

struct run {
	struct tcp_sim ts;
	const struct scenario *sc;
	int lfd;
	int cep, sep;             /* epoll instances on the client and server stacks */
	struct bulk_end *clients, *servers;
	int accepted;
	int finished;             /* ends that closed */
};

#define LISTENER_TAG UINT64_MAX

static void watch(struct tern_stack *st, int ep, int fd, uint64_t tag)
{
	struct tern_epoll_event ev = { .events = TERN_POLLIN | TERN_POLLOUT | TERN_EPOLLET, .data = tag };
	assert_int_equal(tern_epoll_ctl(st, ep, TERN_EPOLL_CTL_ADD, fd, &ev), 0);
}

/* Steps one end and counts it once when it finishes. */
static void step_end(struct run *r, struct bulk_end *e)
{
	bool was = bulk_finished(e);
	bulk_step(e);
	if (!was && bulk_finished(e))
		r->finished++;
}

static void accept_all(struct run *r)
{
	for (;;) {
		struct tern_sockaddr peer;
		int fd = tern_accept(r->ts.server, r->lfd, &peer, TERN_SOCK_NONBLOCK);
		if (fd < 0)
			break;
		assert_true(r->accepted < r->sc->nconns);
		/* The client's port tells which stream this is. */
		int i;
		for (i = 0; i < r->sc->nconns; i++) {
			struct tern_sockaddr me;
			if (r->clients[i].fd >= 0 && tern_getsockname(r->ts.client, r->clients[i].fd, &me) == 0 &&
			    me.port == peer.port)
				break;
		}
		assert_true(i < r->sc->nconns);
		bulk_accepted(&r->servers[i], r->ts.server, fd, r->sc->bytes_s2c, 2000 + (uint64_t)i,
			      1000 + (uint64_t)i);
		if (r->sc->nodelay) {
			int one = 1;
			tern_setsockopt(r->ts.server, fd, TERN_SOL_TCP, TERN_TCP_NODELAY, &one, sizeof(one));
		}
		watch(r->ts.server, r->sep, fd, (uint64_t)i);
		r->accepted++;
		step_end(r, &r->servers[i]);
	}
}

/* After each event: step only the ends whose sockets reported readiness. */
static void server_step(void *ctx)
{
	struct run *r = ctx;
	struct tern_epoll_event evs[64];
	int n;

	while ((n = tern_epoll_wait(r->ts.client, r->cep, evs, 64)) > 0)
		for (int k = 0; k < n; k++)
			step_end(r, &r->clients[evs[k].data]);
	while ((n = tern_epoll_wait(r->ts.server, r->sep, evs, 64)) > 0) {
		for (int k = 0; k < n; k++) {
			if (evs[k].data == LISTENER_TAG)
				accept_all(r);
			else
				step_end(r, &r->servers[evs[k].data]);
		}
	}
}

static bool all_finished(void *ctx)
{
	struct run *r = ctx;
	return r->finished == 2 * r->sc->nconns;
}

/* Every connection on both ends is closed or in TIME-WAIT (which is not in the
 * connection table). */
static bool no_connections(void *ctx)
{
	struct run *r = ctx;
	return r->ts.client->tcp->ehash_count == 0 && r->ts.server->tcp->ehash_count == 0;
}

static void set_knobs(struct tern_stack *st, const struct scenario *sc)
{
	for (int i = 0; i < 4 && sc->sysctls[i]; i++) {
		char name[96];
		const char *eq = strchr(sc->sysctls[i], '=');
		assert_non_null(eq);
		snprintf(name, sizeof(name), "%.*s", (int)(eq - sc->sysctls[i]), sc->sysctls[i]);
		assert_int_equal(tern_sysctl_set(st, name, eq + 1), 0);
	}
}

/* What a run reports: completion time and both stacks' loss-repair counters. */
struct report {
	double seconds;             /* virtual time from the first connect to the last close */
	uint64_t ctr[2][8];         /* [client, server][report_ctrs] */
};

static const enum tern_counter report_ctrs[8] = {
	TERN_CTR_TcpRetransSegs,       TERN_CTR_TcpExtTCPFastRetrans,   TERN_CTR_TcpExtTCPLossProbes,
	TERN_CTR_TcpExtTCPTimeouts,    TERN_CTR_TcpExtTCPSackRecovery,  TERN_CTR_TcpExtTCPRenoRecovery,
	TERN_CTR_TcpExtTCPLostRetransmit, TERN_CTR_TcpExtTCPAckCompressed,
};

static uint64_t both(const struct report *rep, int i)
{
	return rep->ctr[0][i] + rep->ctr[1][i];
}

static void run_scenario_report(const struct scenario *sc, struct report *rep);

static void run_scenario(const struct scenario *sc)
{
	struct report rep;
	run_scenario_report(sc, &rep);
}

static void run_scenario_report(const struct scenario *sc, struct report *rep)
{
	struct run r = { .sc = sc };
	struct tern_sockaddr any = { .addr = { .family = TERN_AF_INET }, .port = 8080 };
	struct tern_sockaddr server = { .addr = tern_addr_v4(10, 0, 0, 2), .port = 8080 };
	int one = 1;

	tcp_sim_init(&r.ts, sc->seed, &sc->link);
	/* TERN_TEST_PCAP=DIR writes each scenario's traffic to DIR/<seed>.pcap. */
	if (getenv("TERN_TEST_PCAP")) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%llu.pcap", getenv("TERN_TEST_PCAP"), (unsigned long long)sc->seed);
		tern_sim_tap(r.ts.sim, r.ts.link, path, TERN_SIM_TAP_RECV);
	}
	set_knobs(r.ts.client, sc);
	set_knobs(r.ts.server, sc);
	r.clients = calloc((size_t)sc->nconns, sizeof(*r.clients));
	r.servers = calloc((size_t)sc->nconns, sizeof(*r.servers));

	r.lfd = tern_socket(r.ts.server, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	assert_true(r.lfd >= 3);
	assert_int_equal(tern_setsockopt(r.ts.server, r.lfd, TERN_SOL_SOCKET, TERN_SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(tern_bind(r.ts.server, r.lfd, &any), 0);
	assert_int_equal(tern_listen(r.ts.server, r.lfd, 4096), 0);
	r.cep = tern_epoll_create(r.ts.client);
	r.sep = tern_epoll_create(r.ts.server);
	assert_true(r.cep >= 0 && r.sep >= 0);
	watch(r.ts.server, r.sep, r.lfd, LISTENER_TAG);
	for (int i = 0; i < sc->nconns; i++) {
		bulk_connect(&r.clients[i], r.ts.client, &server, sc->bytes_c2s, 1000 + (uint64_t)i, 2000 + (uint64_t)i);
		assert_int_equal(r.clients[i].err, 0);
		if (sc->nodelay)
			tern_setsockopt(r.ts.client, r.clients[i].fd, TERN_SOL_TCP, TERN_TCP_NODELAY, &one, sizeof(one));
		watch(r.ts.client, r.cep, r.clients[i].fd, (uint64_t)i);
	}

	tern_time start = tern_sim_now(r.ts.sim);
	bool done = tcp_sim_run(&r.ts, 600 * TERN_NS_PER_SEC, all_finished, server_step, &r);
	rep->seconds = (double)(tern_sim_now(r.ts.sim) - start) / TERN_NS_PER_SEC;
	for (int i = 0; i < 8; i++) {
		rep->ctr[0][i] = tern_stack_counter(r.ts.client, report_ctrs[i]);
		rep->ctr[1][i] = tern_stack_counter(r.ts.server, report_ctrs[i]);
	}
	print_message("%-28s %7.2f s  RetransSegs %6llu  FastRetrans %6llu  LossProbes %5llu  Timeouts %5llu  "
		      "SackRecovery %5llu  RenoRecovery %5llu  LostRetransmit %4llu  AckCompressed %5llu\n",
		      sc->name, rep->seconds, (unsigned long long)both(rep, 0), (unsigned long long)both(rep, 1),
		      (unsigned long long)both(rep, 2), (unsigned long long)both(rep, 3),
		      (unsigned long long)both(rep, 4), (unsigned long long)both(rep, 5),
		      (unsigned long long)both(rep, 6), (unsigned long long)both(rep, 7));
	for (int i = 0; i < sc->nconns; i++) {
		struct bulk_end *c = &r.clients[i], *s = &r.servers[i];
		if (!done)
			print_message("%s conn %d: client tx %llu/%llu rx %llu err %d; server tx %llu rx %llu err %d\n",
				      sc->name, i, (unsigned long long)c->tx_done, (unsigned long long)c->tx_total,
				      (unsigned long long)c->rx_done, c->err, (unsigned long long)s->tx_done,
				      (unsigned long long)s->rx_done, s->err);
		assert_true(done);
		assert_int_equal(c->err, 0);
		assert_int_equal(s->err, 0);
		assert_int_equal(c->rx_done, sc->bytes_s2c);
		assert_int_equal(s->rx_done, sc->bytes_c2s);
		assert_int_equal(c->mismatches, 0);
		assert_int_equal(s->mismatches, 0);
	}
	assert_int_equal(tern_stack_counter(r.ts.client, TERN_CTR_TcpActiveOpens), sc->nconns);
	assert_int_equal(tern_stack_counter(r.ts.server, TERN_CTR_TcpPassiveOpens), sc->nconns);
	assert_int_equal(tern_stack_counter(r.ts.client, TERN_CTR_TcpCurrEstab), 0);
	assert_int_equal(tern_stack_counter(r.ts.server, TERN_CTR_TcpCurrEstab), 0);
	/* No connection was aborted by either side for any reason. Resets may still
	 * go out under duplication: a stray duplicate arriving after its connection
	 * ended meets no socket, or only the listener, and is answered with a reset
	 * as Linux answers it (spec §7.1, RFC 9293 §3.10.7.2). */
	static const enum tern_counter aborts[] = {
		TERN_CTR_TcpEstabResets, TERN_CTR_TcpAttemptFails, TERN_CTR_TcpExtTCPAbortOnTimeout,
		TERN_CTR_TcpExtTCPAbortOnData, TERN_CTR_TcpExtTCPAbortOnClose, TERN_CTR_TcpExtTCPAbortOnMemory,
		TERN_CTR_TcpExtTCPAbortOnLinger, TERN_CTR_TcpExtEmbryonicRsts,
	};
	struct tern_stack *ends[2] = { r.ts.client, r.ts.server };
	for (int k = 0; k < 2; k++)
		for (size_t a = 0; a < sizeof(aborts) / sizeof(aborts[0]); a++)
			if (tern_stack_counter(ends[k], aborts[a]))
				fail_msg("%s: %s is %llu", k ? "server" : "client", tern_counter_name(aborts[a]),
					 (unsigned long long)tern_stack_counter(ends[k], aborts[a]));
	if (sc->link.loss == 0 && sc->link.duplicate == 0) {
		assert_int_equal(tern_stack_counter(r.ts.client, TERN_CTR_TcpOutRsts), 0);
		assert_int_equal(tern_stack_counter(r.ts.server, TERN_CTR_TcpOutRsts), 0);
	}
	/* Every new data segment (and a FIN alone) counts once in TCPOrigDataSent,
	 * never a retransmission: at least the data in full-sized segments, at most
	 * OutSegs (which, as Linux's, leaves retransmissions out). */
	for (int k = 0; k < 2; k++) {
		struct tern_stack *s = k ? r.ts.server : r.ts.client;
		uint64_t bytes = k ? sc->bytes_s2c * sc->nconns : sc->bytes_c2s * sc->nconns;
		uint64_t orig = tern_stack_counter(s, TERN_CTR_TcpExtTCPOrigDataSent);
		assert_true(orig >= bytes / 1460);
		assert_true(orig < tern_stack_counter(s, TERN_CTR_TcpOutSegs));
	}

	/* Both sent FIN at once after their data, so either may be the active closer.
	 * The applications are done once they have closed, but a FIN or its ACK lost
	 * on the way is retransmitted after an RTO, so the last connections may reach
	 * TIME-WAIT seconds later: wait for every connection to have left the
	 * connection table first. Whoever is in TIME-WAIT leaves it 60 s after, and
	 * then nothing remains. */
	assert_true(tcp_sim_run(&r.ts, 600 * TERN_NS_PER_SEC, no_connections, server_step, &r));
	tern_sim_run_until(r.ts.sim, tern_sim_now(r.ts.sim) + 61 * TERN_NS_PER_SEC);
	tcp_sim_sync(&r.ts);
	struct tern_stack *both[2] = { r.ts.client, r.ts.server };
	for (int k = 0; k < 2; k++) {
		struct tern_tcp_tables *t = both[k]->tcp;
		assert_int_equal(t->ehash_count, 0);
		assert_int_equal(tern__tw_count(both[k]), 0);
		assert_int_equal(tern__req_count(both[k]), 0);
		assert_int_equal(t->sock_pool.in_use, k == 1 ? 1 : 0);   /* the listener */
		assert_int_equal(t->chunk_pool.in_use, 0);
		assert_int_equal(t->txseg_pool.in_use, 0);
		assert_int_equal(t->xfer_pool.in_use, 0);
		assert_int_equal(t->orphans, 0);
	}
	assert_int_equal(tern_close(r.ts.server, r.lfd), 0);
	assert_int_equal(r.ts.server->tcp->sock_pool.in_use, 0);
	assert_int_equal(r.ts.server->tcp->epitem_pool.in_use, 0);
	assert_int_equal(r.ts.client->tcp->epitem_pool.in_use, 0);
	assert_int_equal(tern_close(r.ts.client, r.cep), 0);
	assert_int_equal(tern_close(r.ts.server, r.sep), 0);
	free(r.clients);
	free(r.servers);
	tcp_sim_fini(&r.ts);
}

static void clean_link_one_connection(void **state)
{
	(void)state;
	struct scenario sc = { .name = "clean", .link = { .delay = 5 * TERN_NS_PER_MS },
			       .bytes_c2s = 200000, .bytes_s2c = 300000, .nconns = 1, .seed = 1 };
	run_scenario(&sc);
}

static void lossy_link(void **state)
{
	(void)state;
	struct scenario sc = {
		.name = "lossy 5%",
		.link = { .delay = 10 * TERN_NS_PER_MS, .jitter = TERN_NS_PER_MS, .loss = 0.05,
			  .duplicate = 0.01, .reorder = 0.02, .rate_bps = 100000000, .queue_bytes = 256 * 1024 },
		.bytes_c2s = 1 << 20, .bytes_s2c = 1 << 20, .nconns = 4, .seed = 2,
	};
	run_scenario(&sc);
}

static void very_lossy_link(void **state)
{
	(void)state;
	struct scenario sc = {
		.name = "lossy 20%",
		.link = { .delay = 10 * TERN_NS_PER_MS, .loss = 0.20, .duplicate = 0.01, .reorder = 0.05 },
		.bytes_c2s = 100000, .bytes_s2c = 150000, .nconns = 3, .seed = 3,
	};
	run_scenario(&sc);
}

static void no_sack_no_wscale_no_ts(void **state)
{
	(void)state;
	struct scenario sc = {
		.name = "plain",
		.link = { .delay = 10 * TERN_NS_PER_MS, .loss = 0.05, .reorder = 0.02 },
		.bytes_c2s = 300000, .bytes_s2c = 300000, .nconns = 2, .seed = 4,
		.sysctls = { "net.ipv4.tcp_sack=0", "net.ipv4.tcp_window_scaling=0", "net.ipv4.tcp_timestamps=0" },
	};
	run_scenario(&sc);
}

static void nodelay_reno(void **state)
{
	(void)state;
	struct scenario sc = {
		.name = "nodelay reno",
		.link = { .delay = 2 * TERN_NS_PER_MS, .loss = 0.05, .duplicate = 0.02 },
		.bytes_c2s = 300000, .bytes_s2c = 1000, .nconns = 2, .seed = 5, .nodelay = true,
		.sysctls = { "net.ipv4.tcp_congestion_control=reno" },
	};
	run_scenario(&sc);
}

/* The recovery machines at scale (spec §14.15-19): the same lossy, reordering
 * link and the same 8 x 512 KiB bulk transfers each way under Linux's default
 * (RACK with tail loss probes), RFC 6675's DupThresh rule alone
 * (tcp_recovery=0, tcp_early_retrans=0), and NewReno without SACK. Each run
 * reports its completion time and retransmission counters; the assertions
 * check that each configuration used its own machinery. The receive buffer may
 * not grow past 128 KiB (tcp_rmem[2]), so the 64 KiB window, not the congestion
 * window, limits each flight: flights end in tails, which the loss probe is for
 * (with autotuning the window outgrows the path and the stream has no tails but
 * the last). */
static void recovery_mechanisms(void **state)
{
	(void)state;
	const struct tern_link_params link = { .delay = 20 * TERN_NS_PER_MS, .jitter = TERN_NS_PER_MS,
					       .loss = 0.02, .reorder = 0.02, .rate_bps = 50000000,
					       .queue_bytes = 512 * 1024 };
	struct scenario rack = { .name = "RACK + TLP (default)", .link = link, .bytes_c2s = 512 << 10,
				 .bytes_s2c = 512 << 10, .nconns = 8, .seed = 7,
				 .sysctls = { "net.ipv4.tcp_rmem=4096 131072 131072" } };
	struct scenario dupthresh = rack, newreno = rack;
	dupthresh.name = "DupThresh (RFC 6675)";
	dupthresh.sysctls[1] = "net.ipv4.tcp_recovery=0";
	dupthresh.sysctls[2] = "net.ipv4.tcp_early_retrans=0";
	newreno.name = "NewReno, no SACK";
	newreno.sysctls[1] = "net.ipv4.tcp_sack=0";
	struct report r_rack, r_dup, r_reno;

	run_scenario_report(&rack, &r_rack);
	run_scenario_report(&dupthresh, &r_dup);
	run_scenario_report(&newreno, &r_reno);

	/* Default: tail loss probes fire, recoveries are SACK-based, and most
	 * losses are repaired without waiting for the RTO. */
	assert_true(both(&r_rack, 2) > 0);
	assert_true(both(&r_rack, 4) > 0);
	assert_int_equal(both(&r_rack, 5), 0);
	assert_true(both(&r_rack, 3) < both(&r_rack, 1));
	/* Without RACK and TLP: no probes, still SACK recovery. */
	assert_int_equal(both(&r_dup, 2), 0);
	assert_true(both(&r_dup, 4) > 0);
	/* Without SACK: NewReno recoveries only, and no probes (TLP needs SACK). */
	assert_int_equal(both(&r_reno, 2), 0);
	assert_int_equal(both(&r_reno, 4), 0);
	assert_true(both(&r_reno, 5) > 0);
	/* Out-of-order arrivals were answered with compressed SACKs in the SACK runs. */
	assert_true(both(&r_rack, 7) > 0);
	assert_int_equal(both(&r_reno, 7), 0);
}

/* Issue 3's acceptance run: 1,000 concurrent connections, 1 MiB each way, 5 %
 * loss, 1 % duplication, reordering, 10 ms delay. With TERN_TEST_LARGE set (CTest
 * runs it so, as its own test, sim.tcp_thousand_connections); otherwise the same
 * scenario at 100 connections. */
static void thousand_connections(void **state)
{
	(void)state;
	const char *large = getenv("TERN_TEST_LARGE");
	struct scenario sc = {
		.name = "1000 x 1 MiB",
		.link = { .delay = 10 * TERN_NS_PER_MS, .jitter = 2 * TERN_NS_PER_MS, .loss = 0.05,
			  .duplicate = 0.01, .reorder = 0.01 },
		.bytes_c2s = 1 << 20, .bytes_s2c = 1 << 20, .nconns = large ? 1000 : 100, .seed = 6,
	};
	run_scenario(&sc);
}

/* ------------------------------------------------------------ idle connections */

/* Connections that carried data and then went quiet, still open: every one must
 * give its transfer block (queues, scoreboard, recovery state) back, so an idle
 * connection costs its socket alone, and take one again for the next exchange. */
#define IDLE_CONNS 16
#define IDLE_BYTES 60000u

struct idle_run {
	struct tcp_sim ts;
	int lfd;
	int cfd[IDLE_CONNS], sfd[IDLE_CONNS];
	int accepted;
	uint64_t round;                         /* bytes each side sends in total so far */
	uint64_t sent[2][IDLE_CONNS], got[2][IDLE_CONNS];
	uint64_t bad;                           /* received bytes not as sent */
};

static uint8_t idle_byte(int side, int i, uint64_t off)
{
	return (uint8_t)((off * 7 + (uint64_t)i * 13 + (uint64_t)side * 101) % 251);
}

/* Sends what each end still owes and reads whatever arrived; side 0 is the
 * client. */
static void idle_step(void *ctx)
{
	struct idle_run *r = ctx;
	uint8_t buf[4096];

	for (;;) {
		struct tern_sockaddr peer, me;
		int fd = tern_accept(r->ts.server, r->lfd, &peer, TERN_SOCK_NONBLOCK);
		if (fd < 0)
			break;
		/* The client's port tells which connection this is. */
		for (int i = 0; i < IDLE_CONNS; i++)
			if (tern_getsockname(r->ts.client, r->cfd[i], &me) == 0 && me.port == peer.port)
				r->sfd[i] = fd;
		r->accepted++;
	}
	for (int side = 0; side < 2; side++) {
		struct tern_stack *st = side ? r->ts.server : r->ts.client;
		for (int i = 0; i < IDLE_CONNS; i++) {
			int fd = side ? r->sfd[i] : r->cfd[i];
			if (fd <= 0)
				continue;
			while (r->sent[side][i] < r->round) {
				size_t n = (size_t)TERN_MIN(r->round - r->sent[side][i], sizeof(buf));
				for (size_t k = 0; k < n; k++)
					buf[k] = idle_byte(side, i, r->sent[side][i] + k);
				ssize_t w = tern_send(st, fd, buf, n, 0);
				if (w <= 0)
					break;
				r->sent[side][i] += (uint64_t)w;
			}
			ssize_t got;
			while ((got = tern_recv(st, fd, buf, sizeof(buf), 0)) > 0) {
				for (ssize_t k = 0; k < got; k++)
					r->bad += buf[k] != idle_byte(!side, i, r->got[side][i] + (uint64_t)k);
				r->got[side][i] += (uint64_t)got;
			}
		}
	}
}

static bool idle_round_done(void *ctx)
{
	struct idle_run *r = ctx;
	if (r->accepted < IDLE_CONNS)
		return false;
	for (int side = 0; side < 2; side++)
		for (int i = 0; i < IDLE_CONNS; i++)
			if (r->got[side][i] < r->round)
				return false;
	return true;
}

/* Nothing of a transfer left on either stack, every connection still open. */
static void assert_idle(struct idle_run *r)
{
	struct tern_stack *both[2] = { r->ts.client, r->ts.server };
	for (int k = 0; k < 2; k++) {
		struct tern_tcp_tables *t = both[k]->tcp;
		assert_int_equal(tern_stack_counter(both[k], TERN_CTR_TcpCurrEstab), IDLE_CONNS);
		assert_int_equal(t->xfer_pool.in_use, 0);
		assert_int_equal(t->txseg_pool.in_use, 0);
		assert_int_equal(t->chunk_pool.in_use, 0);
		assert_int_equal(t->ooo_pool.in_use, 0);
	}
}

/* A listener on the server and IDLE_CONNS connections to it, not yet accepted. */
static void idle_setup(struct idle_run *r, uint64_t seed, const struct tern_link_params *link)
{
	memset(r, 0, sizeof(*r));
	tcp_sim_init(&r->ts, seed, link);
	struct tern_sockaddr server = { .port = 80 };
	server.addr.family = TERN_AF_INET;
	server.addr.u.v4 = 0x0a000002;
	r->lfd = tern_socket(r->ts.server, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	assert_int_equal(tern_bind(r->ts.server, r->lfd, &server), 0);
	assert_int_equal(tern_listen(r->ts.server, r->lfd, 64), 0);
	for (int i = 0; i < IDLE_CONNS; i++) {
		r->cfd[i] = tern_socket(r->ts.client, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
		assert_int_equal(tern_connect(r->ts.client, r->cfd[i], &server), -TERN_EINPROGRESS);
	}
}

static void idle_connections_give_back_transfer_blocks(void **state)
{
	(void)state;
	struct idle_run r;
	struct tern_link_params lossy = { .delay = 10 * TERN_NS_PER_MS, .jitter = TERN_NS_PER_MS, .loss = 0.05,
					  .duplicate = 0.01, .reorder = 0.02 };
	idle_setup(&r, 9, &lossy);

	/* Two exchanges, each followed by a quiet minute (past every retransmission,
	 * probe and delayed ACK): the first makes the blocks, the second makes them
	 * again after they were given back. */
	for (int round = 1; round <= 2; round++) {
		r.round = (uint64_t)round * IDLE_BYTES;
		assert_true(tcp_sim_run(&r.ts, 120 * TERN_NS_PER_SEC, idle_round_done, idle_step, &r));
		assert_int_equal(r.bad, 0);
		assert_true(r.ts.client->tcp->xfer_pool.high_water > 0);
		tern_sim_run_until(r.ts.sim, tern_sim_now(r.ts.sim) + 60 * TERN_NS_PER_SEC);
		tcp_sim_sync(&r.ts);
		assert_idle(&r);
	}
	/* The losses were repaired by the recovery state the blocks carry. */
	assert_true(tern_stack_counter(r.ts.client, TERN_CTR_TcpRetransSegs) > 0);
	assert_true(tern_stack_counter(r.ts.server, TERN_CTR_TcpRetransSegs) > 0);
	tcp_sim_fini(&r.ts);
}

/* Out of transfer blocks (the pool's ceiling stands for memory running out): a
 * connection that needs one drops what arrives, as with a full buffer, and its
 * send() fails with ENOBUFS; once a block is free again the peer's
 * retransmission gets through. */
static void transfer_block_out_of_memory(void **state)
{
	(void)state;
	struct idle_run r;
	uint8_t buf[1000], in[2000];

	memset(buf, 7, sizeof(buf));
	idle_setup(&r, 10, NULL);
	assert_true(tcp_sim_run(&r.ts, 10 * TERN_NS_PER_SEC, idle_round_done, idle_step, &r));
	struct tern_pool *xp = &r.ts.server->tcp->xfer_pool;
	assert_int_equal(xp->in_use, 0);
	xp->max_objects = 1;

	/* Connection 0 takes the only block: its bytes wait unread. */
	assert_int_equal(tern_send(r.ts.client, r.cfd[0], buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	tern_sim_run_until(r.ts.sim, tern_sim_now(r.ts.sim) + 50 * TERN_NS_PER_MS);
	tcp_sim_sync(&r.ts);
	assert_int_equal(xp->in_use, 1);

	/* Connection 1 finds none. */
	uint64_t drops = tern_stack_counter(r.ts.server, TERN_CTR_TcpExtTCPRcvQDrop);
	uint64_t failures = xp->failures;
	assert_int_equal(tern_send(r.ts.client, r.cfd[1], buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	tern_sim_run_until(r.ts.sim, tern_sim_now(r.ts.sim) + 50 * TERN_NS_PER_MS);
	tcp_sim_sync(&r.ts);
	assert_true(tern_stack_counter(r.ts.server, TERN_CTR_TcpExtTCPRcvQDrop) > drops);
	assert_int_equal(tern_recv(r.ts.server, r.sfd[1], in, sizeof(in), 0), -TERN_EAGAIN);
	assert_int_equal(tern_send(r.ts.server, r.sfd[1], buf, 100, 0), -TERN_ENOBUFS);
	assert_true(xp->failures > failures);
	assert_int_equal(xp->in_use, 1);

	/* Reading connection 0 empties it and frees the block; connection 1's data
	 * arrives with the client's retransmission. */
	assert_int_equal(tern_recv(r.ts.server, r.sfd[0], in, sizeof(in), 0), (ssize_t)sizeof(buf));
	assert_int_equal(xp->in_use, 0);
	tern_sim_run_until(r.ts.sim, tern_sim_now(r.ts.sim) + 5 * TERN_NS_PER_SEC);
	tcp_sim_sync(&r.ts);
	assert_int_equal(tern_recv(r.ts.server, r.sfd[1], in, sizeof(in), 0), (ssize_t)sizeof(buf));
	assert_memory_equal(in, buf, sizeof(buf));
	assert_int_equal(tern_send(r.ts.server, r.sfd[1], buf, 100, 0), 100);
	assert_int_equal(tern_stack_counter(r.ts.server, TERN_CTR_TcpCurrEstab), IDLE_CONNS);
	tcp_sim_fini(&r.ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clean_link_one_connection),
		cmocka_unit_test(lossy_link),
		cmocka_unit_test(very_lossy_link),
		cmocka_unit_test(no_sack_no_wscale_no_ts),
		cmocka_unit_test(nodelay_reno),
		cmocka_unit_test(recovery_mechanisms),
		cmocka_unit_test(thousand_connections),
		cmocka_unit_test(idle_connections_give_back_transfer_blocks),
		cmocka_unit_test(transfer_block_out_of_memory),
	};
	/* TERN_TEST_FILTER picks tests by name (CTest runs the large one apart). */
	if (getenv("TERN_TEST_FILTER"))
		cmocka_set_test_filter(getenv("TERN_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
