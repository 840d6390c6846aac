/*
 * tests/sim/test_synflood.c: a SYN flood against a listener, with real clients
 * among it (issue 5's acceptance run; spec §1-§4, §12.3-§12.4, §13.3).
 *
 * Three nodes: a tern server 10.0.0.2 listening on port 80 with backlog 128, a
 * raw-endpoint flooder (on the server's first link, so the SYN-ACKs to the forged
 * sources come back to it and are read there), and a tern client stack 10.0.0.1
 * whose 1,000 real clients connect one after another, move 10,000 bytes each way
 * (every byte checked) and close. The flooder sends 1,000,000 SYNs at a steady rate
 * from forged sources in 11.0.0.0/8 (each source address unique; random port, ISN,
 * MSS, window scale, SACK, and timestamps on half of them).
 *
 * How the numbers are computed, not read back. Every SYN that reaches the
 * listener is judged by the test as it arrives, from the queue state it finds
 * (qlen, accept-queue length) and spec §1.3's order: SYN queue full (6.13+: qlen >
 * backlog') -> cookie (TCPReqQFullDoCookies) or, cookies off, drop (TCPReqQFullDrop,
 * ListenDrops); accept queue full -> drop (ListenOverflows, ListenDrops); cookies
 * off and past the last quarter of tcp_max_syn_backlog -> drop (ListenDrops);
 * otherwise a request. Then the wire must show that very outcome for that SYN: a
 * cookie SYN-ACK (recognised with the codec and the server's cookie keys, carrying
 * the right MSS index and the SYN's options in its TSval, never retransmitted), a
 * request's SYN-ACK retransmitted 2 to 5 times at +1, +3, +7, +15, +31 s, or
 * nothing. The counters must equal these tallies. Each request's life is checked
 * against the queue-pressure rule (spec §4.2, evaluated tick by tick: §13.3) with
 * the qlen and young the listener had at each of its timer ticks. Real clients
 * that are dropped retransmit their SYN on the 6.5+ schedule (0, 1, 2, 3, 4, 5, 7,
 * 11, 19, 35, 67 s) and give up with ETIMEDOUT at 131 s (spec §4.3); which ones do
 * is decided by the queue state their SYNs meet, and each is checked against it.
 *
 * Runs: cookies on, with the server not calling accept() for 20 s in the middle
 * (the accept queue fills to backlog'+1 and every SYN is dropped, cookie or not:
 * spec §1.3 step 3); cookies off; cookies off with tcp_max_syn_backlog = 128.
 *
 * The stack's timers tick every millisecond (core/timer.h: a deadline rounds up
 * to the next tick), so a request's first SYN-ACK retransmission leaves at the
 * first millisecond edge at or after 1 s; everything else here is exact.
 * TERN_FLOOD_SYNS overrides the number of forged SYNs (at least 100,000, so that
 * the queue stays full; the timeline stays the same and the rate scales).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/bulk.h"
#include "tcp/reqsk.h"
#include "tcp/sock.h"
#include "tcp/syncookie.h"
#include "tcp/tw.h"
#include "tern/sim.h"
#include "tern/wire.h"

#define NS_US TERN_NS_PER_US
#define NS_MS TERN_NS_PER_MS
#define NS_S TERN_NS_PER_SEC

#define CLIENT_ADDR 0x0a000001u   /* 10.0.0.1 */
#define SERVER_ADDR 0x0a000002u   /* 10.0.0.2 */
#define SPOOF_NET 0x0b000000u     /* 11.0.0.0/8: forged sources */
#define PORT 80
#define BACKLOG 128
#define LINK_DELAY (100 * NS_US)
#define LISTENER_TAG UINT64_MAX

/* Forged source i gets 11.x.y.z with x.y.z = (i * PERM_MUL mod 2^24) ^ PERM_XOR:
 * a bijection, so every source is distinct and the flooder can tell which SYN a
 * SYN-ACK answers. */
#define PERM_MUL 0x9e3779u
#define PERM_XOR 0x5a3c96u

/* spec §4.3 (6.5+, tcp_syn_linear_timeouts=4, tcp_syn_retries=6): SYNs at these
 * offsets, then ETIMEDOUT at 131 s. */
static const int syn_schedule_s[] = { 0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 };
#define SYN_TRIES 11
#define SYN_GIVE_UP_S 131

enum outcome { OUT_NONE, OUT_REQUEST, OUT_COOKIE, OUT_DROP_SYNQ, OUT_DROP_ACCQ, OUT_DROP_QUARTER };

struct scenario {
	const char *name;
	int syncookies;
	int max_syn_backlog;         /* net.ipv4.tcp_max_syn_backlog; 0 = tern's default */
	uint64_t nsyn;               /* forged SYNs */
	tern_time flood_from, flood_to;
	int nclients;
	tern_time client_from, client_gap;
	tern_time pause_from, pause_to;   /* server does not accept(); 0 = never */
	uint64_t bytes;              /* each way, per real client */
	uint64_t seed;
};

/* What the test expects, tallied SYN by SYN from the queue state each one met. */
struct expect {
	uint64_t syns;               /* SYNs that reached the listener */
	uint64_t docookies, cookies, requests;
	uint64_t reqqfull_drop, overflows, listen_drops, quarter_drops;
	uint64_t real_cookies;       /* of the cookies, to real clients */
};

/* One forged source: 16 bytes, a million of them. */
struct src {
	tern_time first;             /* first SYN-ACK's arrival at the flooder */
	tern_seq iss;                /* its sequence number */
	uint8_t pred;                /* enum outcome, judged on arrival at the server */
	uint8_t synacks;
	uint8_t cookie;
	uint8_t bad;                 /* a SYN-ACK broke a rule (see flooder_rx) */
};

/* The server's request timer at one millisecond tick (all its ticks fall on them,
 * core/timer.h): the listener's qlen and young just before the tick ran and just
 * after. Each request's decision at the tick saw values in between (both only
 * fall while a tick is processed), whatever order the requests due together were
 * taken in. */
struct tick {
	uint32_t q_pre, y_pre, q_post, y_post;
	bool seen;
};
#define TICK_HORIZON_MS 400000   /* 400 s of run */

struct client {
	struct bulk_end c, s;
	tern_time start;
	uint16_t port;
	tern_seq isn;
	uint32_t tsval;             /* its SYN's TSval */
	int nsyn;
	tern_time syn_at[SYN_TRIES + 4];
	enum outcome pred[SYN_TRIES + 4];
	int answered;                /* SYNs judged request or cookie */
	int synacks;
	bool synack_cookie;
	bool accepted;
	bool done_c, done_s;
	tern_time done_at;
};

struct run {
	const struct scenario *sc;
	struct tern_sim *sim;
	struct tern_stack *server, *cstack;
	int server_node, client_node, flood_node, flood_link, client_link;
	int lfd, sep, cep;
	struct tern_sock *lsk;
	tern_time interval;
	uint32_t perm_inv;
	struct src *srcs;
	struct client *cl;
	int32_t port_owner[65536];
	int started, finished_ends, ends_expected;
	bool paused;
	struct expect exp;
	struct tick *ticks;          /* by millisecond */
	uint8_t *tick_due;           /* a forged request may tick at this millisecond */
	uint32_t snap_q, snap_y;     /* qlen and young after the last event */
	uint32_t max_syn_len, max_acc_len;
	uint64_t steps;
	uint64_t flood_synacks, stray_to_flooder, server_rsts_seen;
	int flood_logs;
	char flood_log[160];
};

/* ---------------------------------------------------------------- forged SYNs */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct spoof {
	uint32_t addr;
	uint16_t port;
	tern_seq isn;
	uint16_t mss;                /* 0: no MSS option */
	bool ts, sack;
	int ws;                      /* -1: no window scale option */
	uint32_t tsval;
};

static const uint16_t spoof_msses[] = { 0, 500, 536, 1299, 1300, 1400, 1439, 1440, 1460, 9000 };

/* Everything about forged SYN i, from i alone: the flooder recomputes it. */
static void spoof_params(const struct run *r, uint64_t i, struct spoof *p)
{
	uint64_t a = mix(r->sc->seed * 0x100000001b3ull ^ i), b = mix(a ^ 0x5eed);
	unsigned w = (unsigned)(b >> 2) & 15;

	p->addr = SPOOF_NET | ((((uint32_t)i * PERM_MUL) & 0xffffffu) ^ PERM_XOR);
	p->port = (uint16_t)(1024 + a % 64512);
	p->isn = (uint32_t)(a >> 32);
	p->ts = b & 1;
	p->sack = (b >> 1) & 1;
	p->ws = w == 15 ? -1 : (int)w;
	p->mss = spoof_msses[(b >> 8) % (sizeof(spoof_msses) / sizeof(spoof_msses[0]))];
	p->tsval = (uint32_t)(b >> 32);
}

static bool spoof_index(const struct run *r, uint32_t addr, uint64_t *i)
{
	if ((addr & 0xff000000u) != SPOOF_NET)
		return false;
	*i = (((addr & 0xffffffu) ^ PERM_XOR) * r->perm_inv) & 0xffffffu;
	return *i < r->sc->nsyn;
}

static uint32_t inverse_mod_2_24(uint32_t a)
{
	uint32_t x = a;   /* correct to 3 bits for odd a; Newton doubles that */
	for (int k = 0; k < 5; k++)
		x *= 2 - a * x;
	return x & 0xffffffu;
}

static void inject_syn(struct run *r, uint64_t i)
{
	struct spoof p;
	struct tern_tcp seg = { .dport = PORT, .flags = TERN_TCP_SYN, .win = 64240 };
	struct tern_ipv4 ip = { .ttl = 64, .proto = TERN_IPPROTO_TCP, .frag = TERN_IP_DF, .dst = SERVER_ADDR };
	uint8_t buf[128];
	int n = 0;

	spoof_params(r, i, &p);
	seg.sport = p.port;
	seg.seq = p.isn;
	ip.src = p.addr;
	/* Linux's option order: mss, sackOK, TS, nop, wscale (padded to 4s). */
	if (p.mss) {
		seg.opt.kinds[n++] = TERN_TCPOPT_MSS;
		seg.opt.present |= TERN_TCPOPT_HAS_MSS;
		seg.opt.mss = p.mss;
	}
	if (p.ts) {
		if (p.sack) {
			seg.opt.kinds[n++] = TERN_TCPOPT_SACK_PERM;
		} else {
			seg.opt.kinds[n++] = TERN_TCPOPT_NOP;
			seg.opt.kinds[n++] = TERN_TCPOPT_NOP;
		}
		seg.opt.kinds[n++] = TERN_TCPOPT_TS;
		seg.opt.present |= TERN_TCPOPT_HAS_TS;
		seg.opt.ts_val = p.tsval;
	} else if (p.sack) {
		seg.opt.kinds[n++] = TERN_TCPOPT_NOP;
		seg.opt.kinds[n++] = TERN_TCPOPT_NOP;
		seg.opt.kinds[n++] = TERN_TCPOPT_SACK_PERM;
	}
	if (p.sack)
		seg.opt.present |= TERN_TCPOPT_HAS_SACK_PERM;
	if (p.ws >= 0) {
		seg.opt.kinds[n++] = TERN_TCPOPT_NOP;
		seg.opt.kinds[n++] = TERN_TCPOPT_WSCALE;
		seg.opt.present |= TERN_TCPOPT_HAS_WSCALE;
		seg.opt.wscale = (uint8_t)p.ws;
	}
	seg.opt.count = (uint8_t)n;
	size_t tl = tern_tcp_build(buf + TERN_IPV4_HDR_LEN, sizeof(buf) - TERN_IPV4_HDR_LEN, &seg, ip.src, ip.dst);
	assert_true(tl >= TERN_TCP_HDR_LEN);
	assert_int_equal(tern_ipv4_build(buf, TERN_IPV4_HDR_LEN, &ip, (uint16_t)tl), TERN_IPV4_HDR_LEN);
	assert_int_equal(tern_sim_inject(r->sim, r->flood_node, buf, TERN_IPV4_HDR_LEN + tl), 0);
}

/* ---------------------------------------------------------------- the server's queues */

static void check_limits(struct run *r)
{
	uint32_t q = r->lsk->lq->syn_len;

	/* spec §1.2 (6.13+): at most backlog'+1 requests; all requests are this
	 * listener's, so the table holds exactly its qlen. */
	if (q > BACKLOG + 1 || tern__req_count(r->server) != q || r->lsk->lq->acc_len > BACKLOG + 1)
		fail_msg("%s at %.6f s: qlen %u, table %u, accept queue %u (limit %u)", r->sc->name,
			 (double)tern_sim_now(r->sim) / NS_S, q, tern__req_count(r->server), r->lsk->lq->acc_len,
			 BACKLOG + 1);
	if (q > r->max_syn_len)
		r->max_syn_len = q;
	if (r->lsk->lq->acc_len > r->max_acc_len)
		r->max_acc_len = r->lsk->lq->acc_len;
}

/* The millisecond ticks at which a request created at `created` is looked at by
 * its timer: the first at the first millisecond edge at or after 1 s (the stack's
 * timers round deadlines up to the next 1 ms tick, core/timer.h), then 2, 4, 8,
 * 16 s later (spec §4.2), at most 6 ticks with tcp_synack_retries=5. */
static tern_time req_tick(tern_time created, int j)
{
	tern_time first = (created + NS_S + NS_MS - 1) / NS_MS * NS_MS;
	return first + (((tern_time)2 << j) - 2) * NS_S;
}

static struct tick *tick_at(struct run *r, tern_time t)
{
	int64_t ms = t / NS_MS;
	assert_true(ms >= 0 && ms < TICK_HORIZON_MS);
	return &r->ticks[ms];
}

static bool tick_due(struct run *r, tern_time t)
{
	return t % NS_MS == 0 && t / NS_MS < TICK_HORIZON_MS && r->tick_due[t / NS_MS];
}

static void record_tick(struct run *r, tern_time t, uint32_t q_pre, uint32_t y_pre)
{
	struct tick *k = tick_at(r, t);
	assert_false(k->seen);
	*k = (struct tick){ .q_pre = q_pre, .y_pre = y_pre, .q_post = r->lsk->lq->syn_len, .y_post = r->lsk->lq->young,
			    .seen = true };
}

/* Brings the server to `now` before it takes a datagram, recording the request
 * ticks that run then (tern_stack_input would run them first itself). */
static void server_catch_up(struct run *r, tern_time now)
{
	if (tern_stack_now(r->server) >= now)
		return;
	uint32_t q = r->lsk->lq->syn_len, y = r->lsk->lq->young;
	tern_stack_advance(r->server, now);
	if (tick_due(r, now))
		record_tick(r, now, q, y);
}

/* A SYN for the listener is about to be handed to the server: what must become of
 * it (spec §1.3 steps 2-4, the 6.13+ full test), from the queues as the server
 * will find them. The server's timers due now run first, as its input would run
 * them. */
static enum outcome judge_syn(struct run *r, const struct tern_ipv4 *ip, const struct tern_tcp *seg)
{
	struct expect *e = &r->exp;
	bool cookies = r->sc->syncookies != 0;

	server_catch_up(r, tern_sim_now(r->sim));
	check_limits(r);
	/* The test's premise: the SYN meets the listener, not a connection, a
	 * time-wait entry or a request of the same 4-tuple. */
	if (tern__ehash_lookup(r->server, ip->dst, seg->dport, ip->src, seg->sport) ||
	    tern__tw_lookup(r->server, ip->dst, seg->dport, ip->src, seg->sport) ||
	    tern__req_lookup(r->server, ip->dst, seg->dport, ip->src, seg->sport))
		fail_msg("%s: a SYN from %08x:%u found state for its 4-tuple", r->sc->name, ip->src, seg->sport);

	uint32_t qlen = r->lsk->lq->syn_len, acc = r->lsk->lq->acc_len;
	bool synq_full = qlen > BACKLOG;

	e->syns++;
	if (synq_full) {
		if (!cookies) {
			e->reqqfull_drop++;
			e->listen_drops++;
			return OUT_DROP_SYNQ;
		}
		e->docookies++;
	}
	if (acc > BACKLOG) {
		e->overflows++;
		e->listen_drops++;
		return OUT_DROP_ACCQ;
	}
	if (!synq_full && !cookies) {
		int64_t m = r->server->sys.tcp_max_syn_backlog;
		if (m - (int64_t)qlen < (m >> 2)) {
			e->quarter_drops++;
			e->listen_drops++;
			return OUT_DROP_QUARTER;
		}
	}
	if (synq_full) {
		e->cookies++;
		return OUT_COOKIE;
	}
	e->requests++;
	return OUT_REQUEST;
}

static bool parse(const uint8_t *pkt, size_t len, struct tern_ipv4 *ip, struct tern_tcp *seg)
{
	if (tern_ipv4_parse(pkt, len, ip) != TERN_WIRE_OK || ip->proto != TERN_IPPROTO_TCP)
		return false;
	return tern_tcp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, false, seg) == TERN_WIRE_OK;
}

/* The MSS index spec §3.2 gives a peer MSS (536 when the SYN has none). */
static unsigned want_mss_index(uint16_t peer_mss)
{
	if (peer_mss == 0)
		peer_mss = 536;
	return peer_mss >= 1460 ? 3 : peer_mss >= 1440 ? 2 : peer_mss >= 1300 ? 1 : 0;
}

/* Is this SYN-ACK's sequence number a cookie of the server's for this SYN? */
static int cookie_index(struct run *r, uint32_t client, uint16_t cport, const struct tern_tcp *synack, tern_time now)
{
	struct tern_cookie_tuple t = { .saddr = client, .daddr = SERVER_ADDR, .sport = cport, .dport = PORT };
	uint16_t mss;
	return tern__cookie_check(r->server->secrets.cookie, &t, synack->seq + 1, synack->ack,
				  tern__cookie_minute(now), &mss);
}

/* A cookie SYN-ACK carries the SYN's options as spec §3.4 says: with timestamps,
 * in the low 6 bits of a TSval not ahead of the clock, and echoed TSecr; without,
 * MSS alone. `sent` is when the server sent it. */
static bool cookie_options_ok(struct run *r, uint32_t client, const struct tern_tcp *sa, tern_time sent, bool ts,
			      bool sack, int ws, uint32_t tsval)
{
	const struct tern_tcp_opts *o = &sa->opt;

	if (!ts)
		return o->present == TERN_TCPOPT_HAS_MSS;
	if (!(o->present & TERN_TCPOPT_HAS_TS) || o->ts_ecr != tsval)
		return false;
	if (!!(o->present & TERN_TCPOPT_HAS_SACK_PERM) != sack || !!(o->present & TERN_TCPOPT_HAS_WSCALE) != (ws >= 0))
		return false;
	uint32_t clock_ms = (uint32_t)(sent / NS_MS);
	uint32_t v = o->ts_val - tern__ts_offset(r->server, SERVER_ADDR, client);
	struct tern_cookie_opts co;
	tern__cookie_ts_decode(v, &co);
	if ((int32_t)(v - clock_ms) > 0 || clock_ms - v >= 64)
		return false;
	if (co.wscale_ok != (ws >= 0) || (ws >= 0 && co.wscale != (ws > 14 ? 14 : ws)) || co.sack_ok != sack ||
	    co.ecn_ok)
		return false;
	return true;
}

/* ---------------------------------------------------------------- the flood link */

/* Datagrams delivered on the flood link: SYNs reaching the server are judged. */
static void flood_watch(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	struct run *r = ctx;
	struct tern_ipv4 ip;
	struct tern_tcp seg;
	uint64_t i = 0;

	if (!parse(pkt, len, &ip, &seg) || ip.dst != SERVER_ADDR)
		return;
	if (seg.flags != TERN_TCP_SYN || !spoof_index(r, ip.src, &i))
		fail_msg("%s: not a forged SYN on the flood link", r->sc->name);
	assert_int_equal(r->srcs[i].pred, OUT_NONE);
	r->srcs[i].pred = (uint8_t)judge_syn(r, &ip, &seg);
	if (r->srcs[i].pred == OUT_REQUEST)
		for (int j = 0; j < 6; j++) {
			tern_time t = req_tick(now, j);
			if (t / NS_MS < TICK_HORIZON_MS)
				r->tick_due[t / NS_MS] = 1;
		}
}

/* The flooder: every datagram the server sends to a forged source. A forged
 * source gets exactly one answer to its one SYN: a cookie SYN-ACK (never
 * retransmitted), or a request's SYN-ACK and its retransmissions at +1, +3, +7,
 * +15, +31 s (at least two: spec §4.2 never prunes below 2), or nothing. */
static void flooder_rx(void *ctx, struct tern_sim *sim, int node, tern_time now, const uint8_t *pkt, size_t len)
{
	struct run *r = ctx;
	struct tern_ipv4 ip;
	struct tern_tcp seg;
	struct spoof p;
	uint64_t i;

	(void)sim;
	(void)node;
	if (!parse(pkt, len, &ip, &seg) || !spoof_index(r, ip.dst, &i) || ip.src != SERVER_ADDR) {
		r->stray_to_flooder++;
		return;
	}
	spoof_params(r, i, &p);
	struct src *s = &r->srcs[i];
	r->flood_synacks++;
	if (seg.flags != (TERN_TCP_SYN | TERN_TCP_ACK) || seg.sport != PORT || seg.dport != p.port ||
	    seg.ack != p.isn + 1) {
		s->bad = 1;
		return;
	}
	if (s->synacks == 0) {
		s->first = now;
		s->iss = seg.seq;
		int idx = cookie_index(r, p.addr, p.port, &seg, now);
		if (idx >= 0) {
			s->cookie = 1;
			if ((unsigned)idx != want_mss_index(p.mss) ||
			    !cookie_options_ok(r, p.addr, &seg, now - LINK_DELAY, p.ts, p.sack, p.ws, p.tsval))
				s->bad = 2;
		}
	} else {
		/* A retransmission: same ISN, on the schedule. The stack's timers tick
		 * every millisecond (core/timer.h: deadlines round up to the next tick),
		 * so the first tick comes at the first millisecond edge at or after the
		 * request's 1 s, and the later ones whole seconds after that: 2 s, 4 s,
		 * 8 s, 16 s. */
		tern_time created = s->first - LINK_DELAY;
		tern_time first_tick = (created + NS_S + NS_MS - 1) / NS_MS * NS_MS;
		tern_time want = first_tick + (((tern_time)1 << s->synacks) - 2) * NS_S + LINK_DELAY;
		if (s->cookie || seg.seq != s->iss || now != want || s->synacks >= 6)
			s->bad = 3;
	}
	s->synacks++;
}

/* ---------------------------------------------------------------- the client link */

static void client_watch(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	struct run *r = ctx;
	struct tern_ipv4 ip;
	struct tern_tcp seg;

	if (!parse(pkt, len, &ip, &seg))
		return;
	if (ip.dst == SERVER_ADDR) {
		server_catch_up(r, now);
		if (seg.flags != TERN_TCP_SYN)
			return;
		int32_t ci = r->port_owner[seg.sport];
		assert_true(ci >= 0);
		struct client *c = &r->cl[ci];
		assert_true(c->nsyn < SYN_TRIES + 4);
		if (c->nsyn == 0)
			c->isn = seg.seq;
		c->tsval = seg.opt.ts_val;
		assert_int_equal(seg.seq, c->isn);
		c->syn_at[c->nsyn] = now;
		enum outcome o = judge_syn(r, &ip, &seg);
		c->pred[c->nsyn++] = o;
		if (o == OUT_REQUEST || o == OUT_COOKIE)
			c->answered++;
		if (o == OUT_COOKIE)
			r->exp.real_cookies++;
		return;
	}
	/* From the server to a real client. */
	if (seg.flags & TERN_TCP_RST)
		r->server_rsts_seen++;
	if (seg.flags != (TERN_TCP_SYN | TERN_TCP_ACK))
		return;
	int32_t ci = r->port_owner[seg.dport];
	assert_true(ci >= 0);
	struct client *c = &r->cl[ci];
	assert_int_equal(seg.ack, c->isn + 1);
	c->synacks++;
	int idx = cookie_index(r, CLIENT_ADDR, seg.dport, &seg, now);
	c->synack_cookie = idx >= 0;
	if (idx >= 0) {
		/* The client stack offers MSS 1460, wscale 7, SACK and timestamps. */
		assert_int_equal(idx, 3);
		assert_true(cookie_options_ok(r, CLIENT_ADDR, &seg, now - LINK_DELAY, true, true, 7, c->tsval));
	}
}

/* ---------------------------------------------------------------- the applications */

static void watch_fd(struct tern_stack *st, int ep, int fd, uint64_t tag)
{
	struct tern_epoll_event ev = { .events = TERN_POLLIN | TERN_POLLOUT | TERN_EPOLLET, .data = tag };
	assert_int_equal(tern_epoll_ctl(st, ep, TERN_EPOLL_CTL_ADD, fd, &ev), 0);
}

static void step_client(struct run *r, struct client *c)
{
	if (c->done_c)
		return;
	bulk_step(&c->c);
	if (bulk_finished(&c->c)) {
		c->done_c = true;
		c->done_at = tern_sim_now(r->sim);
		r->finished_ends++;
	}
}

static void step_server_end(struct run *r, struct client *c)
{
	if (c->done_s)
		return;
	bulk_step(&c->s);
	if (bulk_finished(&c->s)) {
		c->done_s = true;
		r->finished_ends++;
	}
}

static void accept_all(struct run *r)
{
	if (r->paused)
		return;
	for (;;) {
		struct tern_sockaddr peer;
		int fd = tern_accept(r->server, r->lfd, &peer, TERN_SOCK_NONBLOCK);
		if (fd < 0) {
			assert_int_equal(fd, -TERN_EAGAIN);
			break;
		}
		assert_int_equal(peer.addr.u.v4, CLIENT_ADDR);
		int32_t ci = r->port_owner[peer.port];
		assert_true(ci >= 0);
		struct client *c = &r->cl[ci];
		assert_false(c->accepted);
		c->accepted = true;
		r->ends_expected++;
		/* The handshake's options, cookie or not: the client offered MSS 1460,
		 * SACK, timestamps and window scale 7, and both ends agree on them. */
		int err = 0;
		struct tern_sock *sk = tern__fd_sock(r->server, fd, &err);
		assert_non_null(sk);
		if (!sk->neg.ts_ok || !sk->neg.sack_ok || !sk->neg.wscale_ok || sk->neg.snd_wscale != 7 ||
		    sk->neg.mss_clamp != 1460)
			fail_msg("%s: client %d (%s) accepted with ts %d sack %d wscale %d/%d mss %u", r->sc->name, ci,
				 c->synack_cookie ? "cookie" : "request", sk->neg.ts_ok, sk->neg.sack_ok, sk->neg.wscale_ok,
				 sk->neg.snd_wscale, sk->neg.mss_clamp);
		if (c->c.fd >= 0) {
			struct tern_sock *csk = tern__fd_sock(r->cstack, c->c.fd, &err);
			assert_non_null(csk);
			assert_true(csk->neg.ts_ok && csk->neg.sack_ok && csk->neg.wscale_ok);
			assert_int_equal(csk->neg.rcv_wscale, sk->neg.snd_wscale);
			assert_int_equal(csk->neg.snd_wscale, sk->neg.rcv_wscale);
		}
		bulk_accepted(&c->s, r->server, fd, r->sc->bytes, 2000000 + (uint64_t)ci, 1000000 + (uint64_t)ci);
		watch_fd(r->server, r->sep, fd, (uint64_t)ci);
		step_server_end(r, c);
	}
}

static void start_client(struct run *r, int i)
{
	struct client *c = &r->cl[i];
	struct tern_sockaddr server = { .addr = tern_addr_v4(10, 0, 0, 2), .port = PORT };
	struct tern_sockaddr me;

	c->start = tern_sim_now(r->sim);
	bulk_connect(&c->c, r->cstack, &server, r->sc->bytes, 1000000 + (uint64_t)i, 2000000 + (uint64_t)i);
	assert_int_equal(c->c.err, 0);
	assert_int_equal(tern_getsockname(r->cstack, c->c.fd, &me), 0);
	c->port = me.port;
	r->port_owner[me.port] = i;
	watch_fd(r->cstack, r->cep, c->c.fd, (uint64_t)i);
	r->started++;
	r->ends_expected++;
}

/* After every event: both stacks at the current time, the queues checked, and
 * each application stepped on its readiness. */
static void after_event(struct run *r)
{
	struct tern_epoll_event evs[64];
	tern_time now = tern_sim_now(r->sim);
	int n;

	/* Ticks no datagram for the server caught ran in the simulator's own pass
	 * over the stacks' timers; nothing else touched the server since the last
	 * event. */
	if (tick_due(r, now) && !tick_at(r, now)->seen && tern_stack_now(r->server) == now)
		record_tick(r, now, r->snap_q, r->snap_y);
	tern_stack_advance(r->server, now);
	tern_stack_advance(r->cstack, now);
	check_limits(r);
	r->steps++;
	while ((n = tern_epoll_wait(r->cstack, r->cep, evs, 64)) > 0)
		for (int k = 0; k < n; k++)
			step_client(r, &r->cl[evs[k].data]);
	while ((n = tern_epoll_wait(r->server, r->sep, evs, 64)) > 0)
		for (int k = 0; k < n; k++) {
			if (evs[k].data == LISTENER_TAG)
				accept_all(r);
			else
				step_server_end(r, &r->cl[evs[k].data]);
		}
	r->snap_q = r->lsk->lq->syn_len;
	r->snap_y = r->lsk->lq->young;
}

static void log_line(void *ctx, int level, const char *msg)
{
	struct run *r = ctx;
	(void)level;
	if (strstr(msg, "SYN flooding")) {
		if (r->flood_logs++ == 0)
			snprintf(r->flood_log, sizeof(r->flood_log), "%s", msg);
	}
}

/* ---------------------------------------------------------------- the run */

static void set_knobs(struct tern_stack *st, const struct scenario *sc)
{
	/* The conformance corpus's knobs (../shared/conformance/syn-queue). */
	static const char *knobs[][2] = {
		{ "net.core.somaxconn", "4096" },
		{ "net.ipv4.tcp_synack_retries", "5" },
		{ "net.ipv4.tcp_timestamps", "1" },
		{ "net.ipv4.tcp_sack", "1" },
		{ "net.ipv4.tcp_window_scaling", "1" },
		{ "net.ipv4.tcp_rmem", "4096 131072 6291456" },
		{ "net.ipv4.tcp_ecn", "2" },
	};
	for (size_t k = 0; k < sizeof(knobs) / sizeof(knobs[0]); k++)
		assert_int_equal(tern_sysctl_set(st, knobs[k][0], knobs[k][1]), 0);
	assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_syncookies", sc->syncookies ? "1" : "0"), 0);
	if (sc->max_syn_backlog) {
		char v[16];
		snprintf(v, sizeof(v), "%d", sc->max_syn_backlog);
		assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_max_syn_backlog", v), 0);
	}
}

static void setup(struct run *r, const struct scenario *sc)
{
	struct tern_stack_config cfg;
	struct tern_link_params wire = { .delay = LINK_DELAY };
	struct tern_addr flooder = tern_addr_v4(10, 0, 0, 3);
	struct tern_sockaddr any = { .addr = { .family = TERN_AF_INET }, .port = PORT };

	memset(r, 0, sizeof(*r));
	r->sc = sc;
	r->interval = (sc->flood_to - sc->flood_from) / (tern_time)sc->nsyn;
	assert_true(r->interval > 0);
	assert_true(sc->nsyn <= (1u << 24));
	r->perm_inv = inverse_mod_2_24(PERM_MUL);
	assert_int_equal((PERM_MUL * r->perm_inv) & 0xffffffu, 1);
	r->srcs = calloc(sc->nsyn, sizeof(*r->srcs));
	r->cl = calloc((size_t)sc->nclients, sizeof(*r->cl));
	r->ticks = calloc(TICK_HORIZON_MS, sizeof(*r->ticks));
	r->tick_due = calloc(TICK_HORIZON_MS, 1);
	assert_non_null(r->srcs);
	assert_non_null(r->cl);
	assert_non_null(r->ticks);
	assert_non_null(r->tick_due);
	for (int p = 0; p < 65536; p++)
		r->port_owner[p] = -1;

	assert_int_equal(tern_sim_create(sc->seed, &r->sim), 0);
	tern_stack_config_init(&cfg);
	cfg.addr = tern_addr_v4(10, 0, 0, 2);
	cfg.seed = sc->seed * 2 + 2;
	cfg.log = log_line;
	cfg.log_ctx = r;
	r->server_node = tern_sim_add_stack(r->sim, &cfg, &r->server);
	tern_stack_config_init(&cfg);
	cfg.addr = tern_addr_v4(10, 0, 0, 1);
	cfg.seed = sc->seed * 2 + 1;
	r->client_node = tern_sim_add_stack(r->sim, &cfg, &r->cstack);
	r->flood_node = tern_sim_add_endpoint(r->sim, &flooder, flooder_rx, r);
	assert_true(r->server_node >= 0 && r->client_node >= 0 && r->flood_node >= 0);
	/* The flood link first: the server answers forged sources over it. */
	r->flood_link = tern_sim_link(r->sim, r->server_node, r->flood_node, &wire, &wire);
	r->client_link = tern_sim_link(r->sim, r->server_node, r->client_node, &wire, &wire);
	assert_true(r->flood_link >= 0 && r->client_link >= 0);
	assert_int_equal(tern_sim_watch(r->sim, r->flood_link, TERN_SIM_TAP_RECV, flood_watch, r), 0);
	assert_int_equal(tern_sim_watch(r->sim, r->client_link, TERN_SIM_TAP_RECV, client_watch, r), 0);
	set_knobs(r->server, sc);
	set_knobs(r->cstack, sc);

	r->lfd = tern_socket(r->server, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	assert_true(r->lfd >= 0);
	assert_int_equal(tern_bind(r->server, r->lfd, &any), 0);
	assert_int_equal(tern_listen(r->server, r->lfd, BACKLOG), 0);
	int err = 0;
	r->lsk = tern__fd_sock(r->server, r->lfd, &err);
	assert_non_null(r->lsk);
	assert_int_equal(r->lsk->lq->backlog, BACKLOG);
	r->sep = tern_epoll_create(r->server);
	r->cep = tern_epoll_create(r->cstack);
	assert_true(r->sep >= 0 && r->cep >= 0);
	watch_fd(r->server, r->sep, r->lfd, LISTENER_TAG);
}

static bool all_done(const struct run *r)
{
	return r->started == r->sc->nclients && r->finished_ends == r->ends_expected;
}

static void drive(struct run *r)
{
	const struct scenario *sc = r->sc;
	uint64_t next_syn = 0;
	int next_client = 0;
	bool pause_started = false, pause_ended = sc->pause_from == 0;

	for (;;) {
		tern_time t_syn = next_syn < sc->nsyn ? sc->flood_from + (tern_time)next_syn * r->interval : TERN_TIME_NEVER;
		tern_time t_cl = next_client < sc->nclients ? sc->client_from + next_client * sc->client_gap
							    : TERN_TIME_NEVER;
		tern_time t_pause = !pause_started && sc->pause_from ? sc->pause_from
				    : !pause_ended                    ? sc->pause_to
									: TERN_TIME_NEVER;
		tern_time next = TERN_MIN(t_syn, TERN_MIN(t_cl, t_pause));

		if (next == TERN_TIME_NEVER && all_done(r))
			break;
		if (tern_sim_step(r->sim, next == TERN_TIME_NEVER ? tern_sim_now(r->sim) + 3600 * NS_S : next)) {
			after_event(r);
			continue;
		}
		if (next == TERN_TIME_NEVER)
			fail_msg("%s: nothing left to happen and not done (%d of %d ends finished)", sc->name,
				 r->finished_ends, r->ends_expected);
		tern_sim_run_until(r->sim, next);
		/* Socket calls act at a stack's own time: bring both to now first. */
		tern_stack_advance(r->server, next);
		tern_stack_advance(r->cstack, next);
		if (next == t_syn)
			inject_syn(r, next_syn++);
		if (next == t_cl)
			start_client(r, next_client++);
		if (next == t_pause) {
			if (!pause_started) {
				pause_started = true;
				r->paused = true;
			} else {
				pause_ended = true;
				r->paused = false;
				accept_all(r);
			}
		}
		after_event(r);
	}
	/* Let every request expire (63 s at most) and every TIME-WAIT end. */
	tern_time end = tern_sim_now(r->sim) + 130 * NS_S;
	while (tern_sim_step(r->sim, end))
		after_event(r);
	tern_sim_run_until(r->sim, end);
	after_event(r);
}

/* spec §4.2 step 2: the retries a request may have at a tick where the listener
 * holds q requests, y of them young. More requests prune more; more young ones
 * less. */
static unsigned max_retries(uint32_t q, uint32_t y)
{
	unsigned m = 5;   /* tcp_synack_retries */
	if (2 * q > TERN_MAX(8u, (unsigned)BACKLOG)) {
		uint64_t yy = 2ull * y;
		while (m > 2 && q >= yy) {
			m--;
			yy *= 2;
		}
	}
	return m;
}

/* What the flood did to the forged requests' lives (spec §4.2, §13.3). */
struct prune_tally {
	uint64_t lives[6];           /* requests by retransmissions before expiry */
	uint64_t decided, ambiguous; /* decisions the tick bounds fix / leave open */
};

/* A forged request created at `created` was retransmitted k times: it survived its
 * ticks 0..k-1 (num_timeout < max_retries) and expired at tick k (num_timeout >=
 * max_retries), each decided with the queue as it was at that tick. */
static void check_request_life(struct run *r, uint64_t i, tern_time created, unsigned k, struct prune_tally *pt)
{
	pt->lives[k]++;
	for (unsigned j = 0; j <= k; j++) {
		tern_time t = req_tick(created, (int)j);
		const struct tick *tk = tick_at(r, t);
		if (!tk->seen)
			fail_msg("%s: forged request %llu (created %.6f s) has no timer tick at %.3f s", r->sc->name,
				 (unsigned long long)i, (double)created / NS_S, (double)t / NS_S);
		unsigned lo = max_retries(tk->q_pre, tk->y_post), hi = max_retries(tk->q_post, tk->y_pre);
		bool ok = j < k ? hi > j : lo <= j;
		bool sure = j < k ? lo > j : hi <= j;
		if (!ok)
			fail_msg("%s: forged request %llu %s at tick %u (%.3f s): qlen %u->%u, young %u->%u allow "
				 "max_retries %u..%u",
				 r->sc->name, (unsigned long long)i, j < k ? "survived" : "expired", j, (double)t / NS_S,
				 tk->q_pre, tk->q_post, tk->y_pre, tk->y_post, lo, hi);
		if (sure)
			pt->decided++;
		else
			pt->ambiguous++;
	}
}

static uint64_t ctr(struct tern_stack *st, enum tern_counter id)
{
	return tern_stack_counter(st, id);
}

static uint64_t flood_syns(void)
{
	const char *v = getenv("TERN_FLOOD_SYNS");
	return v ? strtoull(v, NULL, 10) : 1000000;
}

static void run_flood(const struct scenario *sc)
{
	struct run *r = calloc(1, sizeof(*r));
	struct expect *e;

	assert_non_null(r);
	setup(r, sc);
	e = &r->exp;
	drive(r);

	/* ---- every forged source got what the queue state said it would */
	uint64_t f_cookies = 0, f_requests = 0, f_dropped = 0, f_retrans = 0, f_ticks = 0;
	uint64_t pred_count[6] = { 0 };
	struct prune_tally pt;
	memset(&pt, 0, sizeof(pt));
	for (uint64_t i = 0; i < sc->nsyn; i++) {
		const struct src *s = &r->srcs[i];
		pred_count[s->pred]++;
		bool ok;
		switch (s->pred) {
		case OUT_COOKIE:
			ok = s->synacks == 1 && s->cookie && !s->bad;
			f_cookies += ok;
			break;
		case OUT_REQUEST:
			/* spec §4.2: 2 to 5 retransmissions, then silent expiry. */
			ok = s->synacks >= 3 && s->synacks <= 6 && !s->cookie && !s->bad;
			f_requests += ok;
			f_retrans += s->synacks - 1u;
			f_ticks += s->synacks;   /* every retransmission's tick and the last */
			if (ok)
				check_request_life(r, i, s->first - LINK_DELAY, s->synacks - 1u, &pt);
			break;
		case OUT_DROP_SYNQ:
		case OUT_DROP_ACCQ:
		case OUT_DROP_QUARTER:
			ok = s->synacks == 0 && !s->bad;
			f_dropped += ok;
			break;
		default:
			ok = false;
		}
		if (!ok)
			fail_msg("%s: forged SYN %llu judged %d: %u SYN-ACKs, cookie %u, rule broken %u", sc->name,
				 (unsigned long long)i, s->pred, s->synacks, s->cookie, s->bad);
	}
	assert_int_equal(r->stray_to_flooder, 0);
	assert_int_equal(r->flood_synacks, f_cookies + f_requests + f_retrans);

	/* ---- every real client: as its SYNs' fates say */
	int ok_clients = 0, failed = 0, via_cookie = 0, real_dropped = 0, real_requests = 0;
	uint64_t client_retrans = 0;
	for (int i = 0; i < sc->nclients; i++) {
		struct client *c = &r->cl[i];
		assert_true(c->nsyn >= 1);
		assert_int_equal(c->syn_at[0], c->start + LINK_DELAY);
		for (int k = 0; k < c->nsyn; k++)
			if (k >= SYN_TRIES || c->syn_at[k] - c->syn_at[0] != syn_schedule_s[k] * NS_S)
				fail_msg("%s: client %d's SYN %d at +%.6f s", sc->name, i, k,
					 (double)(c->syn_at[k] - c->syn_at[0]) / NS_S);
		client_retrans += (uint64_t)c->nsyn - 1;
		real_dropped += c->nsyn - c->answered;
		if (c->answered) {
			/* Answered once, by its last SYN; connected and every byte moved. */
			enum outcome last = c->pred[c->nsyn - 1];
			assert_int_equal(c->answered, 1);
			assert_true(last == OUT_REQUEST || last == OUT_COOKIE);
			assert_int_equal(c->synacks, 1);
			assert_int_equal(c->synack_cookie, last == OUT_COOKIE);
			if (c->c.err || c->s.err || !c->accepted)
				fail_msg("%s: client %d: err %d, server end err %d, accepted %d", sc->name, i, c->c.err,
					 c->s.err, c->accepted);
			assert_int_equal(c->c.rx_done, sc->bytes);
			assert_int_equal(c->s.rx_done, sc->bytes);
			assert_int_equal(c->c.mismatches, 0);
			assert_int_equal(c->s.mismatches, 0);
			ok_clients++;
			via_cookie += last == OUT_COOKIE;
			real_requests += last == OUT_REQUEST;
		} else {
			/* Never let in: 11 SYNs, no answer, ETIMEDOUT at 131 s. */
			if (c->nsyn != SYN_TRIES || c->synacks || c->c.err != -TERN_ETIMEDOUT ||
			    c->done_at - c->start != SYN_GIVE_UP_S * NS_S || c->accepted)
				fail_msg("%s: client %d: %d SYNs, %d SYN-ACKs, err %d after %.6f s", sc->name, i, c->nsyn,
					 c->synacks, c->c.err, (double)(c->done_at - c->start) / NS_S);
			failed++;
		}
	}

	/* ---- the tallies agree with each other */
	assert_int_equal(pred_count[OUT_NONE], 0);
	assert_int_equal(e->syns, sc->nsyn + client_retrans + (uint64_t)sc->nclients);
	assert_int_equal(e->cookies, f_cookies + (uint64_t)via_cookie);
	assert_int_equal(e->real_cookies, (uint64_t)via_cookie);
	assert_int_equal(e->requests, f_requests + (uint64_t)real_requests);
	assert_int_equal(e->listen_drops, f_dropped + (uint64_t)real_dropped);

	/* ---- and the server's counters equal them */
	struct tern_stack *sv = r->server, *cs = r->cstack;
	assert_int_equal(ctr(sv, TERN_CTR_TcpExtSyncookiesSent), e->cookies);
	assert_int_equal(ctr(sv, TERN_CTR_TcpExtTCPReqQFullDoCookies), e->docookies);
	assert_int_equal(ctr(sv, TERN_CTR_TcpExtSyncookiesRecv), (uint64_t)via_cookie);
	assert_int_equal(ctr(sv, TERN_CTR_TcpExtSyncookiesFailed), 0);
	assert_int_equal(ctr(sv, TERN_CTR_TcpExtTCPReqQFullDrop), e->reqqfull_drop);
	assert_int_equal(ctr(sv, TERN_CTR_TcpExtListenOverflows), e->overflows);
	assert_int_equal(ctr(sv, TERN_CTR_TcpExtListenDrops), e->listen_drops);
	assert_int_equal(ctr(sv, TERN_CTR_TcpPassiveOpens), (uint64_t)ok_clients);
	assert_int_equal(ctr(sv, TERN_CTR_TcpExtTCPSynRetrans), f_retrans);
	assert_int_equal(ctr(sv, TERN_CTR_TcpExtTCPTimeouts), f_ticks);
	assert_int_equal(ctr(sv, TERN_CTR_TcpExtEmbryonicRsts), 0);
	assert_int_equal(ctr(sv, TERN_CTR_TcpOutRsts), 0);
	assert_int_equal(ctr(sv, TERN_CTR_TcpAttemptFails), 0);
	assert_int_equal(r->server_rsts_seen, 0);
	/* The client side of the failures, as Linux counts them. */
	assert_int_equal(ctr(cs, TERN_CTR_TcpActiveOpens), (uint64_t)sc->nclients);
	assert_int_equal(ctr(cs, TERN_CTR_TcpExtTCPSynRetrans), client_retrans);
	assert_int_equal(ctr(cs, TERN_CTR_TcpAttemptFails), (uint64_t)failed);
	assert_int_equal(ctr(cs, TERN_CTR_TcpExtTCPAbortOnTimeout), (uint64_t)failed);
	assert_int_equal(ctr(cs, TERN_CTR_TcpEstabResets), 0);

	/* ---- the queues: as full as spec §1.4 lets them be, never more, empty at
	 * the end. Cookies on: backlog'+1 requests (6.13+). Off: the same, or for
	 * peers not proven M - M/4 + 1 if that is less (M = tcp_max_syn_backlog). */
	int64_t m = sv->sys.tcp_max_syn_backlog;
	uint32_t cap = BACKLOG + 1;
	if (!sc->syncookies && m - m / 4 + 1 < cap)
		cap = (uint32_t)(m - m / 4 + 1);
	assert_int_equal(r->max_syn_len, cap);
	assert_int_equal(r->lsk->lq->syn_len, 0);
	assert_int_equal(r->lsk->lq->young, 0);
	assert_int_equal(tern__req_count(sv), 0);
	assert_int_equal(r->lsk->lq->acc_len, 0);
	assert_int_equal(sv->tcp->ehash_count, 0);
	assert_int_equal(cs->tcp->ehash_count, 0);

	/* ---- one warning per listener when the SYN queue overflows (spec §1.3 step
	 * 2); the "last quarter" drops only log at debug level, and say nothing. */
	assert_int_equal(r->flood_logs, e->docookies + e->reqqfull_drop > 0);
	if (r->flood_logs)
		assert_string_equal(r->flood_log, sc->syncookies
						  ? "TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:80. Sending cookies."
						  : "TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:80. Dropping request.");

	print_message("%s: %llu SYNs (%llu forged): %llu cookies (%d to real clients), %llu requests, %llu dropped "
		      "(%llu SYN queue full, %llu accept queue full, %llu last quarter); %d clients in (%d by cookie), %d timed out; "
		      "max accept queue %u; %llu steps\n",
		      sc->name, (unsigned long long)e->syns, (unsigned long long)sc->nsyn, (unsigned long long)e->cookies,
		      via_cookie, (unsigned long long)e->requests, (unsigned long long)e->listen_drops,
		      (unsigned long long)e->reqqfull_drop, (unsigned long long)e->overflows,
		      (unsigned long long)e->quarter_drops, ok_clients, via_cookie,
		      failed, r->max_acc_len, (unsigned long long)r->steps);
	print_message("%s: forged requests by retransmissions 2/3/4/5: %llu/%llu/%llu/%llu; %llu timer decisions "
		      "fixed by the queue state, %llu open\n",
		      sc->name, (unsigned long long)pt.lives[2], (unsigned long long)pt.lives[3],
		      (unsigned long long)pt.lives[4], (unsigned long long)pt.lives[5], (unsigned long long)pt.decided,
		      (unsigned long long)pt.ambiguous);
	if (sc->syncookies) {
		/* Cookies on: every real client gets in. */
		assert_int_equal(ok_clients, sc->nclients);
	}
	if (sc->pause_from) {
		/* Not accepting for 20 s filled the accept queue to backlog'+1. */
		assert_int_equal(r->max_acc_len, BACKLOG + 1);
		assert_true(e->overflows > 0);
	}

	assert_int_equal(tern_close(r->server, r->lfd), 0);
	tern_sim_destroy(r->sim);
	free(r->srcs);
	free(r->cl);
	free(r->ticks);
	free(r->tick_due);
	free(r);
}

/* ---------------------------------------------------------------- scenarios */

/* The timeline: 10 real clients before the flood (t = 0.05-1 s), the flood from
 * 1 s to 91 s, real clients every 101 ms until ~101 s. 101 ms never puts two
 * clients' SYNs (retransmissions included, all whole seconds apart) within 1 ms of
 * each other, five round trips: no handshake races another for the last place in
 * the accept queue. */
static void flood_cookies_on(void **state)
{
	(void)state;
	struct scenario sc = {
		.name = "cookies on", .syncookies = 1, .nsyn = flood_syns(),
		.flood_from = 1 * NS_S, .flood_to = 91 * NS_S,
		.nclients = 1000, .client_from = 50 * NS_MS, .client_gap = 101 * NS_MS,
		.pause_from = 30 * NS_S, .pause_to = 50 * NS_S,
		.bytes = 10000, .seed = 501,
	};
	run_flood(&sc);
}

static void flood_cookies_off(void **state)
{
	(void)state;
	struct scenario sc = {
		.name = "cookies off", .syncookies = 0, .nsyn = flood_syns(),
		.flood_from = 1 * NS_S, .flood_to = 91 * NS_S,
		.nclients = 1000, .client_from = 50 * NS_MS, .client_gap = 101 * NS_MS,
		.bytes = 10000, .seed = 502,
	};
	run_flood(&sc);
}

/* Cookies off with tcp_max_syn_backlog = 128 (a 2 GiB host's default): unproven
 * peers are refused once qlen > 128 - 32, so the queue stops at 97 and every
 * further SYN is a plain ListenDrops (spec §1.3 step 4, §12.3), never a
 * TCPReqQFullDrop. */
static void flood_cookies_off_small_host(void **state)
{
	(void)state;
	struct scenario sc = {
		.name = "cookies off, max_syn_backlog 128", .syncookies = 0, .max_syn_backlog = 128,
		.nsyn = flood_syns(), .flood_from = 1 * NS_S, .flood_to = 91 * NS_S,
		.nclients = 1000, .client_from = 50 * NS_MS, .client_gap = 101 * NS_MS,
		.bytes = 10000, .seed = 503,
	};
	run_flood(&sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(flood_cookies_on),
		cmocka_unit_test(flood_cookies_off),
		cmocka_unit_test(flood_cookies_off_small_host),
	};
	if (getenv("TERN_TEST_FILTER"))
		cmocka_set_test_filter(getenv("TERN_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
