/*
 * tools/script/run.c: runs one parsed script against a fresh tern stack.
 *
 * The world: a simulated network (include/tern/sim.h) holding one tern stack at
 * 192.168.0.1 and one raw endpoint at 192.0.2.1, the runner itself, joined by an
 * ideal wire (no delay, no loss). Everything happens in virtual time: the clock
 * jumps from one simulator event or script event to the next, so a 131 s script
 * costs only its events.
 *
 * Event timing follows packetdrill (../shared/spec/packetdrill.md §1). An event's
 * time is absolute, relative to "now" (the virtual time when the previous event
 * finished), or, for two injected packets in a row, relative to the previous one's
 * scheduled time so that slack does not add up. Injected packets, calls and
 * commands run exactly at their time. An expected packet is not waited for: the
 * runner takes the next segment the stack sent on the socket under test's
 * 4-tuple (sent earlier, or the first one sent from now on) and checks both its
 * contents and its time, which must fall within the tolerance: the larger of
 * --tolerance_usecs (4 ms) and --tolerance_percent (12.5 %) of the gap since the
 * previous event's scheduled time.
 *
 * Which connection a line belongs to is packetdrill's "socket under test"
 * bookkeeping (spec §1): socket() makes its socket the one under test; an
 * injected segment while that is a listener (or there is none) starts a new
 * passive connection with a fresh remote port; an expected SYN while it is
 * connecting binds its 4-tuple; explicit ports change only the one injected
 * segment. Segments on other 4-tuples are ignored. Two details follow the real
 * packetdrill where the spec's wording is looser, because the corpus depends on
 * them: any injected segment (not only a SYN) starts the new connection
 * (syn-queue/cookie-forged-ack.pkt sends a bare ACK from a new 4-tuple), and
 * accept() only names its connection's descriptor without making it the one
 * under test (accept-queue/listen0-one-connection.pkt keeps following the newest
 * client across an accept() of the older one).
 *
 * The stack's sequence numbers are learned from its first SYN or SYN-ACK; the
 * peer's (the script's) are used as written. Segments the stack sends queue up
 * in `r->q` until an expected line takes them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"
#include "tern/errors.h"
#include "tern/sim.h"
#include "tern/socket.h"
#include "tern/stack.h"

/* The addresses of packetdrill's defaults. */
#define LOCAL_ADDR  tern_addr_v4(192, 168, 0, 1)
#define REMOTE_ADDR tern_addr_v4(192, 0, 2, 1)

/* Fresh remote ports for passive connections come from the ephemeral range. */
#define PORT_FIRST 40000u
#define PORT_SPAN  20000u

/* How long past an expected packet's deadline the runner keeps looking, only to
 * say when (or whether) it did come, in the failure message. */
#define LATE_LOOKAHEAD (120 * TERN_NS_PER_SEC)
/* A `*` packet may come at any time; this is the sanity cap. */
#define ANY_TIME_CAP (600 * TERN_NS_PER_SEC)
/* The latest virtual time a script may name: ten million seconds (115 days),
 * far below where nanosecond arithmetic could overflow. */
#define MAX_SCRIPT_TIME (10000000 * TERN_NS_PER_SEC)
/* Simulator steps at one instant before the runner calls it a runaway stack. */
#define MAX_STEPS_PER_INSTANT 100000u
/* Segments waiting to be read before the runner gives up on the script. */
#define MAX_QUEUED 200000u

/* ------------------------------------------------------------------ utilities */

tern_time run_now(const struct runner *r)
{
	return tern_sim_now(r->sim);
}

void fmt_time(char *buf, size_t cap, tern_time t)
{
	bool neg = t < 0;
	long long a = neg ? -(long long)t : (long long)t;
	long long us = (a + 500) / 1000;
	int n = snprintf(buf, cap, "%s%lld.%06lld", neg ? "-" : "", us / 1000000, us % 1000000);
	/* Trim trailing zeros, keeping milliseconds. */
	if (n > 0 && (size_t)n < cap) {
		while (n > 0 && buf[n - 1] == '0' && n >= 4 && buf[n - 4] != '.')
			buf[--n] = '\0';
	}
}

void run_fail(struct runner *r, int line, const char *fmt, ...)
{
	if (r->failed)
		return;
	r->failed = true;
	r->fail_line = line;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&r->fail_msg, fmt, ap) < 0)
		r->fail_msg = NULL;
	va_end(ap);
}

void run_vlog(struct runner *r, tern_time t, const char *fmt, ...)
{
	if (!r->o->verbose || !r->o->vout)
		return;
	char ts[32];
	fmt_time(ts, sizeof ts, t);
	fprintf(r->o->vout, "%10s  ", ts);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(r->o->vout, fmt, ap);
	va_end(ap);
	fputc('\n', r->o->vout);
}

struct conn *run_new_conn(struct runner *r, enum conn_state state)
{
	if (r->nconns == r->cap_conns) {
		size_t cap = r->cap_conns ? r->cap_conns * 2 : 8;
		struct conn **n = realloc(r->conns, cap * sizeof *n);
		if (!n)
			return NULL;
		r->conns = n;
		r->cap_conns = cap;
	}
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->state = state;
	c->id = (int)r->nconns;
	r->conns[r->nconns++] = c;
	return c;
}

struct fd_map *run_fd(struct runner *r, int script_fd)
{
	for (size_t i = 0; i < r->nfds; i++)
		if (r->fds[i].script_fd == script_fd)
			return &r->fds[i];
	return NULL;
}

void run_map_fd(struct runner *r, int script_fd, int live_fd, struct conn *c)
{
	struct fd_map *m = run_fd(r, script_fd);
	if (!m) {
		if (r->nfds == r->cap_fds) {
			size_t cap = r->cap_fds ? r->cap_fds * 2 : 8;
			struct fd_map *n = realloc(r->fds, cap * sizeof *n);
			if (!n) {
				run_fail(r, r->cur ? r->cur->line : 0, "out of memory");
				return;
			}
			r->fds = n;
			r->cap_fds = cap;
		}
		m = &r->fds[r->nfds++];
	}
	m->script_fd = script_fd;
	m->live_fd = live_fd;
	m->conn = c;
}

void run_unmap_fd(struct runner *r, int script_fd)
{
	for (size_t i = 0; i < r->nfds; i++) {
		if (r->fds[i].script_fd == script_fd) {
			r->fds[i] = r->fds[--r->nfds];
			return;
		}
	}
}

/* ------------------------------------------------------------------ the wire */

static bool on_conn(const struct out_pkt *p, const struct conn *c)
{
	return c && c->tuple && p->tcp_ok && p->tcp.sport == c->lport && p->tcp.dport == c->rport;
}

/* The raw endpoint's receive hook: every datagram the stack sends us. */
static void rx(void *ctx, struct tern_sim *sim, int node, tern_time now, const uint8_t *pkt,
	       size_t len)
{
	struct runner *r = ctx;
	(void)sim;
	(void)node;
	if (r->qlen - r->qhead >= MAX_QUEUED) {
		r->runaway = true;
		return;
	}
	if (r->qhead > 0 && r->qhead == r->qlen) {
		r->qhead = 0;
		r->qlen = 0;
	}
	if (r->qlen == r->qcap) {
		size_t cap = r->qcap ? r->qcap * 2 : 64;
		struct out_pkt *n = realloc(r->q, cap * sizeof *n);
		if (!n) {
			r->runaway = true;
			return;
		}
		r->q = n;
		r->qcap = cap;
	}
	struct out_pkt *p = &r->q[r->qlen];
	memset(p, 0, sizeof *p);
	p->buf = malloc(len ? len : 1);
	if (!p->buf) {
		r->runaway = true;
		return;
	}
	memcpy(p->buf, pkt, len);
	p->len = len;
	p->at = now;
	if (tern_ipv4_parse(p->buf, len, &p->ip) == TERN_WIRE_OK && p->ip.proto == TERN_IPPROTO_TCP) {
		enum tern_wire_status st = tern_tcp_parse(p->ip.payload, p->ip.payload_len, p->ip.src,
							  p->ip.dst, true, &p->tcp);
		if (st == TERN_WIRE_TCP_BAD_CHECKSUM) {
			/* Keep it, so the line that expects it can say what is wrong. */
			p->bad_csum = true;
			st = tern_tcp_parse(p->ip.payload, p->ip.payload_len, p->ip.src, p->ip.dst,
					    false, &p->tcp);
		}
		p->tcp_ok = st == TERN_WIRE_OK;
	}
	p->on_sut = on_conn(p, r->sut);
	r->qlen++;
}

static void free_queue(struct runner *r)
{
	for (size_t i = r->qhead; i < r->qlen; i++)
		free(r->q[i].buf);
	free(r->q);
	r->q = NULL;
	r->qhead = r->qlen = r->qcap = 0;
}

/* The connection a live segment belongs to, for printing it in script numbers. */
static const struct conn *conn_of(const struct runner *r, const struct out_pkt *p)
{
	for (size_t i = r->nconns; i-- > 0;)
		if (on_conn(p, r->conns[i]))
			return r->conns[i];
	return NULL;
}

static void log_out(struct runner *r, const struct out_pkt *p, const char *what)
{
	if (!r->o->verbose)
		return;
	char buf[512];
	if (!p->tcp_ok) {
		run_vlog(r, p->at, "> (%zu bytes, not a TCP/IPv4 segment tern script can read)   [%s]",
			 p->len, what);
		return;
	}
	const struct conn *c = conn_of(r, p);
	pkt_format_live(&p->tcp, c, c != r->sut, buf, sizeof buf);
	run_vlog(r, p->at, "> %s   [%s]", buf, what);
}

/* ------------------------------------------------------------------ time */

void run_sync_stack(struct runner *r)
{
	tern_stack_advance(r->st, run_now(r));
}

static bool runaway_check(struct runner *r, tern_time *last_t, unsigned *same)
{
	tern_time t = run_now(r);
	if (t == *last_t) {
		if (++*same > MAX_STEPS_PER_INSTANT)
			r->runaway = true;
	} else {
		*last_t = t;
		*same = 0;
	}
	if (r->runaway)
		run_fail(r, r->cur ? r->cur->line : 0,
			 "the stack keeps sending without time passing (runaway at %lld ns)",
			 (long long)t);
	return !r->runaway;
}

/* One simulator step no later than `limit`; the pending call gets a chance after
 * it. False when nothing is due by then. */
bool run_step(struct runner *r, tern_time limit)
{
	tern_time lim = limit;
	if (r->blk.active && r->blk.deadline != TERN_TIME_NEVER && r->blk.deadline < lim &&
	    r->blk.deadline >= run_now(r))
		lim = r->blk.deadline;
	if (tern_sim_step(r->sim, lim)) {
		call_poll_pending(r);
		return true;
	}
	if (lim < limit) {
		/* Only the pending call's timeout lies between: go there. */
		tern_sim_run_until(r->sim, lim);
		call_poll_pending(r);
		return true;
	}
	return false;
}

void run_settle(struct runner *r)
{
	tern_time last = -1;
	unsigned same = 0;
	call_poll_pending(r);
	while (!r->failed && run_step(r, run_now(r)))
		if (!runaway_check(r, &last, &same))
			return;
}

/* Runs the simulation up to `t` (nothing happens if t is in the past). */
static void advance_to(struct runner *r, tern_time t)
{
	tern_time last = -1;
	unsigned same = 0;
	run_settle(r);
	while (!r->failed && run_step(r, t))
		if (!runaway_check(r, &last, &same))
			return;
	if (t > run_now(r))
		tern_sim_run_until(r->sim, t);
	call_poll_pending(r);
}

/* ------------------------------------------------------------------ packets */

static struct out_pkt *queue_front(struct runner *r)
{
	return r->qhead < r->qlen ? &r->q[r->qhead] : NULL;
}

static void queue_pop(struct runner *r)
{
	free(r->q[r->qhead].buf);
	r->q[r->qhead].buf = NULL;
	r->qhead++;
}

static void actual_line(const struct out_pkt *p, const struct conn *c, char *buf, size_t cap);

static void strict_unexpected(struct runner *r, const struct out_pkt *p, int line)
{
	char buf[600];
	actual_line(p, conn_of(r, p), buf, sizeof buf);
	run_fail(r, line, "unexpected packet on the connection under test (--strict)\n"
		 "    actual:   %s", buf);
}

/* Is `p` the SYN of the connecting socket under test? Then it binds the 4-tuple. */
static bool binds_connect(struct runner *r, const struct out_pkt *p)
{
	struct conn *c = r->sut;
	if (!c || c->state != CONN_SYN_SENT || c->tuple || !p->tcp_ok)
		return false;
	if ((p->tcp.flags & (TERN_TCP_SYN | TERN_TCP_ACK)) != TERN_TCP_SYN)
		return false;
	struct tern_addr remote = REMOTE_ADDR;
	if (p->ip.dst != remote.u.v4 || p->tcp.dport != r->sc->connect_port)
		return false;
	c->tuple = true;
	c->lport = p->tcp.sport;
	c->rport = p->tcp.dport;
	c->live_isn = p->tcp.seq;
	c->isn_known = true;
	return true;
}

/* Takes the next segment on the socket under test, waiting in virtual time up to
 * `limit`. NULL if none came by then. */
static struct out_pkt *sniff(struct runner *r, tern_time limit, int line)
{
	tern_time last = -1;
	unsigned same = 0;
	for (;;) {
		struct out_pkt *p;
		while ((p = queue_front(r)) != NULL) {
			if (on_conn(p, r->sut) || binds_connect(r, p))
				return p;
			log_out(r, p, "other connection: ignored");
			if (r->o->strict && p->on_sut && line > 0) {
				strict_unexpected(r, p, line);
				return NULL;
			}
			queue_pop(r);
		}
		if (r->failed || !run_step(r, limit) || !runaway_check(r, &last, &same))
			return NULL;
	}
}

static void inbound_packet(struct runner *r, const struct event *ev)
{
	const struct pkt_spec *ps = &ev->pkt;
	struct conn *c = r->sut;

	if (!c || c->state == CONN_LISTENING) {
		/* A new passive connection, with a fresh remote port. */
		c = run_new_conn(r, CONN_PASSIVE);
		if (!c) {
			run_fail(r, ev->line, "out of memory");
			return;
		}
		c->tuple = true;
		c->lport = (uint16_t)r->sc->bind_port;
		c->rport = r->next_port;
		r->next_port = (uint16_t)(PORT_FIRST + (r->next_port + 1 - PORT_FIRST) % PORT_SPAN);
		r->sut = c;
	} else if (!c->tuple) {
		run_fail(r, ev->line, "no connection for this packet: the socket under test "
			 "(made at its socket() call) has no 4-tuple yet");
		return;
	}
	/* packetdrill learns the peer's ISN from the SYN that opens a passive
	 * connection, or from the SYN-ACK answering our SYN; a bare SYN in SYN-SENT
	 * (simultaneous open) leaves the peer's numbers absolute. */
	bool learn_isn = !c->remote_known && !ps->ports &&
			 (((ps->flags & (TERN_TCP_SYN | TERN_TCP_ACK)) == TERN_TCP_SYN && c->state == CONN_PASSIVE) ||
			  ((ps->flags & (TERN_TCP_SYN | TERN_TCP_ACK)) == (TERN_TCP_SYN | TERN_TCP_ACK) &&
			   c->state == CONN_SYN_SENT));
	if (c->state == CONN_SYNACK_SENT && (ps->flags & TERN_TCP_ACK))
		c->state = CONN_SYNACK_ACKED;
	else if (c->state == CONN_SYN_SENT &&
		 (ps->flags & (TERN_TCP_SYN | TERN_TCP_ACK)) == (TERN_TCP_SYN | TERN_TCP_ACK))
		c->state = CONN_SYN_ACKED;

	uint8_t buf[TERN_IPV4_HDR_LEN + 65535];
	size_t len;
	char why[256];
	if (!pkt_build(r, ps, c, buf, sizeof buf, &len, why, sizeof why)) {
		run_fail(r, ev->line, "cannot build the packet: %s", why);
		return;
	}
	/* Later lines count from the peer's ISN (later SYNs, in ESTABLISHED or at
	 * TIME-WAIT, change nothing). */
	if (learn_isn) {
		c->remote_isn = ps->seq;
		c->remote_known = true;
	}
	if (r->o->verbose) {
		struct tern_ipv4 ip;
		struct tern_tcp tcp;
		char text[512];
		if (tern_ipv4_parse(buf, len, &ip) == TERN_WIRE_OK &&
		    tern_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &tcp) ==
			    TERN_WIRE_OK) {
			/* In script numbers, as packetdrill maps them. */
			bool is_syn = tcp.flags & TERN_TCP_SYN;
			struct tern_tcp_fmt f = { .relative = true, .seq_base = conn_remote_offset(c, is_syn),
						  .ack_base = conn_local_offset(c, is_syn), .ports = true,
						  .win = true };
			tcp.opt.ts_ecr = ps->opts.ts_ecr;
			tern_tcp_format(text, sizeof text, &tcp, &f);
			run_vlog(r, run_now(r), "< %s   [line %d]", text, ev->line);
		}
	}
	int rc = tern_sim_inject(r->sim, r->ep_node, buf, len);
	if (rc < 0) {
		run_fail(r, ev->line, "the simulator refused the packet: %s", tern_strerror(rc));
		return;
	}
	run_settle(r);
}

/* "0.100 > S. 0:0(0) ack 1 ..." or "0.1~0.14 > ...": a packet line with its time. */
static void expected_line(const struct event *ev, tern_time start, tern_time end, bool any,
			  char *buf, size_t cap)
{
	char spec[512], ts[32], te[32];
	pkt_format_spec(&ev->pkt, spec, sizeof spec);
	fmt_time(ts, sizeof ts, start);
	fmt_time(te, sizeof te, end);
	if (any)
		snprintf(buf, cap, "* > %s", spec);
	else if (ev->time.range)
		snprintf(buf, cap, "%s~%s > %s", ts, te, spec);
	else
		snprintf(buf, cap, "%s > %s", ts, spec);
}

static void actual_line(const struct out_pkt *p, const struct conn *c, char *buf, size_t cap)
{
	char seg[512], ts[32];
	pkt_format_live(&p->tcp, c, false, seg, sizeof seg);
	fmt_time(ts, sizeof ts, p->at);
	snprintf(buf, cap, "%s > %s", ts, seg);
}

static void outbound_packet(struct runner *r, const struct event *ev, tern_time start,
			    tern_time end, bool any, tern_time tol)
{
	const struct pkt_spec *ps = &ev->pkt;
	struct conn *c = r->sut;
	const uint8_t synack = TERN_TCP_SYN | TERN_TCP_ACK;
	char exp[600], act[600], why[512], when[80], ts[32], te[32], tt[32];

	if (!c) {
		run_fail(r, ev->line, "no socket under test for an expected packet (no socket() "
			 "call or injected packet yet)");
		return;
	}
	/* Learning the stack's ISN (packetdrill's handling of a script's own SYN). */
	if (c->state == CONN_CONNECTING && (ps->flags & synack) == TERN_TCP_SYN) {
		c->state = CONN_SYN_SENT;
		c->script_isn = ps->seq;
	}
	if (c->state == CONN_PASSIVE && (ps->flags & synack) == synack)
		c->script_isn = ps->seq;
	if (!c->tuple && c->state != CONN_SYN_SENT) {
		run_fail(r, ev->line, "no connection for this packet: the socket under test %s",
			 c->state == CONN_LISTENING ? "is a listener" : "has no 4-tuple yet");
		return;
	}

	tern_time limit = any ? run_now(r) + ANY_TIME_CAP : end + tol;
	struct out_pkt *p = sniff(r, limit, ev->line);
	if (r->failed)
		return;
	bool learn = c->state == CONN_PASSIVE && (ps->flags & synack) == synack;
	expected_line(ev, start, end, any, exp, sizeof exp);
	fmt_time(tt, sizeof tt, tol);
	fmt_time(ts, sizeof ts, start);
	fmt_time(te, sizeof te, end);
	if (any)
		snprintf(when, sizeof when, "by %s s", te);
	else if (ev->time.range)
		snprintf(when, sizeof when, "in %s~%s s", ts, te);
	else
		snprintf(when, sizeof when, "at %s s", ts);
	if (!p) {
		/* Look further ahead only to say what did happen. */
		tern_time horizon = run_now(r) + LATE_LOOKAHEAD;
		struct out_pkt *late = sniff(r, horizon, 0);
		if (r->failed)
			return;
		if (late) {
			if (learn && late->tcp_ok) {
				c->live_isn = late->tcp.seq;
				c->isn_known = true;
			}
			actual_line(late, c, act, sizeof act);
			fmt_time(te, sizeof te, late->at);
			run_fail(r, ev->line, "packet late: expected %s (tolerance %s s), it came at "
				 "%s s\n    expected: %s\n    actual:   %s", when, tt, te, exp, act);
		} else {
			fmt_time(te, sizeof te, horizon);
			run_fail(r, ev->line, "expected packet never came: nothing was sent on the "
				 "connection up to %s s\n    expected: %s", te, exp);
		}
		return;
	}
	if (learn) {
		c->state = CONN_SYNACK_SENT;
		if (p->tcp_ok) {
			c->live_isn = p->tcp.seq;
			c->isn_known = true;
		}
	}
	bool ok = pkt_match(r, ps, c, p, tol, why, sizeof why);
	bool early = !any && p->at < start - tol;
	bool late = !any && p->at > end + tol;
	if (ok && !early && !late) {
		log_out(r, p, "ok");
		queue_pop(r);
		return;
	}
	log_out(r, p, ok ? "wrong time" : "mismatch");
	actual_line(p, c, act, sizeof act);
	fmt_time(te, sizeof te, p->at);
	if (!ok && (early || late))
		run_fail(r, ev->line, "%s; and it came at %s s, expected %s (tolerance %s s)\n"
			 "    expected: %s\n    actual:   %s", why, te, when, tt, exp, act);
	else if (!ok)
		run_fail(r, ev->line, "%s\n    expected: %s\n    actual:   %s", why, exp, act);
	else
		run_fail(r, ev->line, "packet %s: expected %s (tolerance %s s), it came at %s s\n"
			 "    expected: %s\n    actual:   %s", early ? "early" : "late", when, tt, te,
			 exp, act);
	queue_pop(r);
}

/* ------------------------------------------------------------------ the loop */

static bool setup(struct runner *r)
{
	if (tern_sim_create(r->o->seed, &r->sim) < 0)
		return false;
	struct tern_stack_config cfg;
	tern_stack_config_init(&cfg);
	cfg.addr = LOCAL_ADDR;
	cfg.mtu = 1500;
	cfg.seed = r->o->seed;
	int node = tern_sim_add_stack(r->sim, &cfg, &r->st);
	if (node < 0)
		return false;
	struct tern_addr remote = REMOTE_ADDR;
	r->ep_node = tern_sim_add_endpoint(r->sim, &remote, rx, r);
	if (r->ep_node < 0)
		return false;
	if (tern_sim_link(r->sim, node, r->ep_node, NULL, NULL) < 0)
		return false;
	r->next_port = (uint16_t)(PORT_FIRST + (r->o->seed * 7919u) % PORT_SPAN);
	r->ip_id = 1;
	return true;
}

static void teardown(struct runner *r)
{
	call_discard_pending(r);
	free_queue(r);
	for (size_t i = 0; i < r->nconns; i++) {
		free(r->conns[i]->ts);
		free(r->conns[i]);
	}
	free(r->conns);
	free(r->fds);
	if (r->sim)
		tern_sim_destroy(r->sim);
}

static tern_time tolerance(const struct script *sc, tern_time gap)
{
	tern_time base = sc->tolerance_us * TERN_NS_PER_US;
	tern_time dyn = gap > 0 ? (tern_time)((double)gap * sc->tolerance_pct / 100.0) : 0;
	return dyn > base ? dyn : base;
}

static bool is_inbound(const struct event *ev)
{
	return ev && ev->type == EV_PACKET && ev->pkt.inbound;
}

/* Waits for a blocking call still running after the last event, up to its end. */
static void finish_pending(struct runner *r)
{
	if (!r->blk.active || r->failed)
		return;
	const struct event *ev = r->blk.ev;
	tern_time until = r->blk.explicit_end ? r->blk.end + r->blk.tol : r->blk.start + r->blk.tol;
	advance_to(r, until);
	if (r->blk.active && !r->failed) {
		char te[32];
		fmt_time(te, sizeof te, r->blk.end);
		r->cur = ev;
		run_fail(r, ev->line, "%s had not returned by the end of the script (expected at %s s)",
			 ev->text, te);
	}
}

static void run_events(struct runner *r)
{
	const struct script *sc = r->sc;
	const struct event *prev = NULL;
	tern_time prev_start = 0;
	char ts[32], tn[32];

	for (size_t i = 0; i < sc->nev && !r->failed; i++) {
		const struct event *ev = &sc->ev[i];
		tern_time now = run_now(r);
		tern_time base = (is_inbound(prev) && is_inbound(ev)) ? prev_start : now;
		tern_time start, end;
		bool any = ev->time.kind == TIME_ANY;

		if (ev->time.kind == TIME_ABS) {
			start = ev->time.t;
			end = ev->time.end;
			if (prev && prev->time.kind == TIME_ABS && start < prev_start) {
				fmt_time(ts, sizeof ts, start);
				fmt_time(tn, sizeof tn, prev_start);
				run_fail(r, ev->line, "time goes backwards: %s s after an event at %s s",
					 ts, tn);
				return;
			}
		} else if (any) {
			start = end = now;
		} else {
			start = base + ev->time.t;
			end = base + ev->time.end;
		}
		if (!ev->time.range && !ev->time.blocking)
			end = start;
		if (start > MAX_SCRIPT_TIME || end > MAX_SCRIPT_TIME) {
			run_fail(r, ev->line, "time beyond what the runner simulates (%lld s)",
				 (long long)(MAX_SCRIPT_TIME / TERN_NS_PER_SEC));
			return;
		}
		tern_time tol = tolerance(sc, prev ? start - prev_start : 0);
		r->cur = ev;

		if (ev->type == EV_PACKET && !ev->pkt.inbound) {
			outbound_packet(r, ev, start, end, any, tol);
		} else {
			advance_to(r, start);
			if (r->failed)
				return;
			now = run_now(r);
			if (now > start + tol) {
				fmt_time(ts, sizeof ts, start);
				fmt_time(tn, sizeof tn, now);
				run_fail(r, ev->line, "timing: this event is due at %s s, but the one "
					 "before it only finished at %s s", ts, tn);
				return;
			}
			if (ev->type == EV_PACKET)
				inbound_packet(r, ev);
			else if (ev->type == EV_CALL)
				call_run(r, ev, start, end, tol);
			else
				shell_run(r, ev->cmd, ev->line, "command");
		}
		prev = ev;
		prev_start = start;
	}
	finish_pending(r);
	if (!r->failed && r->o->strict) {
		run_settle(r);
		for (size_t i = r->qhead; i < r->qlen; i++) {
			if (r->q[i].on_sut) {
				strict_unexpected(r, &r->q[i], sc->nev ? sc->ev[sc->nev - 1].line : 0);
				break;
			}
		}
	}
}

void script_run(const struct script *sc, const struct run_opts *o, struct run_result *res)
{
	struct runner r;
	memset(&r, 0, sizeof r);
	r.sc = sc;
	r.o = o;
	memset(res, 0, sizeof *res);

	if (o->verbose && o->vout)
		fprintf(o->vout, "== %s\n", sc->path);
	if (!setup(&r)) {
		run_fail(&r, 0, "cannot set up the simulated network");
	} else {
		for (size_t i = 0; i < sc->nignored; i++)
			if (o->verbose && o->vout)
				fprintf(o->vout, "warning: option --%s is accepted but has no effect\n",
					sc->ignored_opts[i]);
		if (sc->init_cmd)
			shell_run(&r, sc->init_cmd, sc->init_line, "init command");
		if (!r.failed)
			run_events(&r);
		/* Like packetdrill, the cleanup command runs even after a failure (which
		 * then stays the one reported). */
		if (sc->cleanup_cmd)
			shell_run(&r, sc->cleanup_cmd, sc->cleanup_line, "cleanup command");
		if (o->verbose) {
			for (size_t i = r.qhead; i < r.qlen; i++)
				log_out(&r, &r.q[i], "not checked");
		}
	}
	res->pass = !r.failed;
	res->line = r.fail_line;
	res->msg = r.fail_msg;
	teardown(&r);
}
