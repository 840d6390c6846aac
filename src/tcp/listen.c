/*
 * tcp/listen.c: the listener, as Linux runs it (spec §1-§5; RFC 9293 §3.10.7.2
 * for LISTEN, RFC 4987 for the SYN-flood defences).
 *
 *   SYN       §1.3 in order: cookie or drop when the SYN queue is full (or always
 *             with tcp_syncookies=2), drop when the accept queue is full, the
 *             "last quarter" of tcp_max_syn_backlog without cookies, then a
 *             compact request (reqsk.c) and a SYN-ACK, or a stateless cookie.
 *   request   §5 in order for segments matching a request (tcp_check_req), with
 *             the live kernel's corrections (§13.1, §13.5); the final ACK creates
 *             the child, or meets a full accept queue (§2.3).
 *   timer     §4.2: SYN-ACKs at 1, 3, 7, 15, 31 s and silent expiry at 63 s, fewer
 *             retries under queue pressure (the young count), TCP_DEFER_ACCEPT.
 *   ACK       with no request: a SYN cookie is checked if the listener overflowed
 *             recently (§3.1); otherwise, or if invalid, the ACK gets a reset.
 */
#include <stdio.h>
#include <string.h>

#include "ip/ip.h"
#include "tcp/listen.h"
#include "tcp/reqsk.h"
#include "tcp/sock.h"
#include "tcp/syncookie.h"
#include "tcp/tcp.h"
#include "tern/errors.h"

#define TCPOLEN_TS_ALIGNED 12
/* TCP_SYNCOOKIE_VALID: a listener "overflowed recently" for two minutes. */
#define SYNCOOKIE_VALID_NS (120 * TERN_NS_PER_SEC)

/* What a SYN-ACK says, whoever sends it (a request or a cookie). */
struct synack {
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	tern_seq iss, irs;
	bool ts_ok, sack_ok, wscale_ok;
	uint8_t rcv_wscale;       /* out */
	uint32_t tsval, tsecr;
	bool cookie;
};

static uint32_t ms_clock(const struct tern_stack *st)
{
	return (uint32_t)st->now_ms;
}

static uint16_t advmss_of(const struct tern_stack *st, const struct tern_sock *lsk)
{
	uint32_t mss = st->mtu - TERN_IPV4_HDR_LEN - TERN_TCP_HDR_LEN;
	if (lsk->opts->user_mss && lsk->opts->user_mss < mss)
		mss = lsk->opts->user_mss;
	return (uint16_t)mss;
}

/* Sends a SYN-ACK in Linux's option layout (tcp_make_synack), window from the
 * listener's buffer as the child will have it (tcp_openreq_init_rwin). The
 * options are written straight into the transmit buffer. */
static inline void send_synack(struct tern_stack *st, const struct tern_sock *lsk, struct synack *sa)
{
	uint16_t advmss = advmss_of(st, lsk);
	uint32_t rcv_wnd, clamp;
	struct tern_tcp hdr;   /* the fixed header's fields only */
	struct tern_ip_out out = {
		.src = sa->laddr,
		.dst = sa->raddr,
		.proto = TERN_IPPROTO_TCP,
		.tos = lsk->opts->ip_tos,
		.df = true,
		.id = -1,
	};

	tern__tcp_select_initial_window(st, lsk->rcvbuf, lsk->flags & SK_RCVBUF_LOCK, 0,
					advmss - (sa->ts_ok ? TCPOLEN_TS_ALIGNED : 0), sa->wscale_ok, &rcv_wnd,
					&sa->rcv_wscale, &clamp);
	size_t optlen = tern__tcp_put_syn_options(tern__ip_payload_buf(st) + TERN_TCP_HDR_LEN, advmss, sa->ts_ok,
						  sa->sack_ok, sa->wscale_ok, sa->tsval, sa->tsecr,
						  sa->rcv_wscale);
	hdr.sport = sa->lport;
	hdr.dport = sa->rport;
	hdr.seq = sa->iss;
	hdr.ack = sa->irs + 1;
	hdr.flags = TERN_TCP_SYN | TERN_TCP_ACK;
	hdr.reserved = 0;
	hdr.urg = 0;
	hdr.win = (uint16_t)TERN_MIN(rcv_wnd, 65535u);
	tern__tcp_emit_in_place(st, &out, &hdr, optlen);
}

/* This and send_synack are inline so that listen_syn, which answers every SYN,
 * builds its SYN-ACK without two calls; GCC left both out of line (the copies
 * in the retransmit and cookie paths are cold). */
static inline void req_synack(struct tern_stack *st, const struct tern_sock *lsk, struct tern_req *req)
{
	struct synack sa = {
		.laddr = req->laddr, .raddr = req->raddr, .lport = req->lport, .rport = req->rport,
		.iss = req->iss, .irs = req->irs,
		.ts_ok = req->flags & REQ_TS_OK, .sack_ok = req->flags & REQ_SACK_OK,
		.wscale_ok = req->flags & REQ_WSCALE_OK,
		.tsval = ms_clock(st) + tern__ts_offset(st, req->laddr, req->raddr),
		.tsecr = req->ts_recent,
	};
	send_synack(st, lsk, &sa);
	req->rcv_wscale = sa.rcv_wscale;
}

/* Retransmits a request's SYN-ACK (Linux's inet_rtx_syn_ack). */
static void req_rtx_synack(struct tern_stack *st, const struct tern_sock *lsk, struct tern_req *req)
{
	req_synack(st, lsk, req);
	req->num_retrans++;
	tern__count(st, TERN_CTR_TcpRetransSegs);
	tern__count(st, TERN_CTR_TcpExtTCPSynRetrans);
}

/* Linux's tcp_oow_rate_limited for a request (tcp_invalid_ratelimit). */
static bool req_ratelimited(struct tern_stack *st, struct tern_req *req)
{
	uint32_t now = ms_clock(st) | 1;   /* 0 means "never" */
	if (req->last_ack_ms && now - req->last_ack_ms < (uint32_t)st->sys.tcp_invalid_ratelimit)
		return true;
	req->last_ack_ms = now;
	return false;
}

/* The window a request's SYN-ACK offered (tcp_openreq_init_rwin), and its scale. */
static uint32_t req_rcv_wnd(const struct tern_stack *st, const struct tern_sock *lsk, const struct tern_req *req,
			    uint8_t *ws, uint32_t *clamp)
{
	uint32_t rcv_wnd;

	tern__tcp_select_initial_window(st, lsk->rcvbuf, lsk->flags & SK_RCVBUF_LOCK, 0,
					advmss_of(st, lsk) - ((req->flags & REQ_TS_OK) ? TCPOLEN_TS_ALIGNED : 0),
					req->flags & REQ_WSCALE_OK, &rcv_wnd, ws, clamp);
	return rcv_wnd;
}

/* The ACK a request sends for an out-of-window segment (tcp_v4_reqsk_send_ack). */
static void req_send_ack(struct tern_stack *st, const struct tern_sock *lsk, struct tern_req *req)
{
	uint8_t ws;
	uint32_t clamp;
	uint32_t rcv_wnd = req_rcv_wnd(st, lsk, req, &ws, &clamp);
	struct tern_tcp seg = {
		.sport = req->lport, .dport = req->rport,
		.seq = req->iss + 1, .ack = req->irs + 1,
		.flags = TERN_TCP_ACK,
	};
	struct tern_ip_out out = {
		.src = req->laddr, .dst = req->raddr, .proto = TERN_IPPROTO_TCP,
		.tos = lsk->opts->ip_tos, .df = true, .id = -1,
	};

	seg.win = (uint16_t)(TERN_MIN(rcv_wnd, 65535u << ws) >> ws);
	if (req->flags & REQ_TS_OK)
		tern__tcp_opts_ts_only(&seg.opt, ms_clock(st) + tern__ts_offset(st, req->laddr, req->raddr),
				       req->ts_recent);
	tern__tcp_emit(st, &out, &seg);
}

/* ------------------------------------------------------------ children */

struct child_params {
	tern_seq irs, iss;
	uint16_t mss;
	bool ts_ok, sack_ok, wscale_ok;
	uint8_t snd_wscale;
	/* The initial window as the request's checks just chose it: the child's
	 * inputs (the listener's buffer and lock, no clamp of its own, the MSS less
	 * the timestamps, the scale agreed) are the same, so it is not chosen again. */
	uint32_t rcv_wnd, window_clamp;
	uint8_t rcv_wscale;
	uint32_t ts_recent;
	int64_t rtt_us;          /* handshake RTT sample, -1 if none */
};

/* The accept queue is full when it holds more than backlog' (spec §2.2). */
static bool acceptq_full(const struct tern_sock *lsk)
{
	return lsk->lq->acc_len > (uint32_t)lsk->lq->backlog;
}

/* create_child compares options blocks with memcmp: their fields fill them. */
_Static_assert(sizeof(struct tern_sk_opts) == 3 * 4 + 4 * 2 + 4, "struct tern_sk_opts has padding");

/* Linux's tcp_v4_syn_recv_sock + tcp_child_process: a connection socket from a
 * completed handshake, which then takes the final ACK itself (moving to
 * ESTABLISHED and onto the accept queue, and queueing any data it carries). */
static struct tern_sock *create_child(struct tern_stack *st, struct tern_sock *lsk, const struct tern_ipv4 *ip,
				      const struct tern_tcp *seg, const struct child_params *p, uint32_t hash)
{
	struct tern_sock *sk = tern__sock_alloc(st);

	if (!sk)
		return NULL;
	/* Children inherit the listener's options (Linux copies the socket), all but
	 * two: a lingering close() is the listener's own, and TCP_DEFER_ACCEPT lives
	 * in Linux's accept queue, which the clone starts empty (getsockopt on an
	 * accepted socket reads 0). A child left with nothing but defaults shares
	 * them, as a listener that set none does. */
	if (lsk->opts != &tern__sk_opts_none) {
		struct tern_sk_opts inherit = *lsk->opts;
		inherit.linger_until = 0;
		inherit.defer_accept = 0;
		if (memcmp(&inherit, &tern__sk_opts_none, sizeof(inherit)) != 0) {
			struct tern_sk_opts *o = tern__sk_opts(st, sk);
			if (!o) {
				tern__sock_free(st, sk);
				return NULL;
			}
			*o = inherit;
		}
	}
	sk->laddr = ip->dst;
	sk->raddr = ip->src;
	sk->lport = seg->dport;
	sk->rport = seg->sport;
	sk->parent = lsk;
	sk->flags = SK_CHILD | (lsk->flags & (SK_REUSEADDR | SK_REUSEPORT | SK_KEEPALIVE | SK_NODELAY | SK_LINGER |
					      SK_RCVBUF_LOCK | SK_SNDBUF_LOCK));
	sk->rcvbuf = lsk->rcvbuf;
	sk->sndbuf = lsk->sndbuf;
	sk->ip_id = (uint16_t)tern__prng_u32(&st->prng);
	tern__cc_init(&sk->cc, lsk->cc.ops);
	tern__port_inherit(st, sk, lsk);

	sk->rcv_nxt = p->irs + 1;
	sk->copied_seq = sk->rcv_nxt;
	sk->iss = p->iss;
	sk->snd_una = p->iss;
	sk->snd_nxt = sk->snd_max = sk->write_seq = p->iss + 1;
	sk->pushed_seq = sk->snd_sml = sk->snd_nxt;
	sk->snd_wl1 = p->irs;
	sk->ts_offset = tern__ts_offset(st, sk->laddr, sk->raddr);
	/* The new socket's agreement is all zero: written whole, not as four
	 * read-modify-writes of its bit-fields. */
	sk->neg = (struct tern_tcp_neg){
		.ts_ok = p->ts_ok, .sack_ok = p->sack_ok, .wscale_ok = p->wscale_ok,
		.snd_wscale = p->wscale_ok ? p->snd_wscale : 0, .mss_clamp = p->mss,
	};
	if (p->ts_ok) {
		sk->ts_recent = p->ts_recent;
		sk->ts_recent_stamp = st->now ? st->now : 1;
	}
	tern__tcp_init_mss(st, sk);
	tern__tcp_set_rcv_window(sk, p->rcv_wnd, p->rcv_wscale, p->window_clamp);
	sk->rcv_tstamp = tern__sk_ms(st);
	if (p->rtt_us >= 0) {
		tern__rtt_sample(&sk->rtt, p->rtt_us, sk->snd_una + 1, sk->snd_nxt, (uint32_t)st->sys.tcp_rto_min_us,
				 (uint32_t)st->sys.tcp_rto_max_ms * 1000u);
		tern__tcp_min_rtt_update(st, sk, (uint32_t)p->rtt_us);
	}
	sk->state = TERN_TCP_SYN_RECV;
	tern__ehash_insert_hashed(st, sk, hash);
	tern__count(st, TERN_CTR_TcpPassiveOpens);
	/* The final ACK now finds the child: it becomes ESTABLISHED and queued. */
	tern__tcp_rcv(st, sk, ip, seg);
	return sk;
}

/* §2.3: the final ACK met a full accept queue. */
static void acceptq_overflow(struct tern_stack *st, const struct tern_ipv4 *ip, const struct tern_tcp *seg,
			     struct tern_req *req)
{
	tern__count(st, TERN_CTR_TcpExtListenOverflows);
	tern__count(st, TERN_CTR_TcpExtListenDrops);
	if (!st->sys.tcp_abort_on_overflow) {
		/* The ACK (and any data) is dropped; the request stays, acked, and its
		 * SYN-ACK retransmissions make the client's ACKs retry. */
		if (req)
			req->flags |= REQ_ACKED;
		return;
	}
	tern__tcp_send_reset(st, ip, seg);
	if (req) {
		tern__req_remove(st, req);
		tern__count(st, TERN_CTR_TcpExtEmbryonicRsts);
	}
}

/* ------------------------------------------------------------ SYN */

static bool queue_full(const struct tern_stack *st, const struct tern_sock *lsk)
{
	/* spec §1.2: 6.13+ lets backlog'+1 requests in, 4.4-6.12 backlog'. */
	if (st->sys.kernel_profile == TERN_PROFILE_4_4)
		return lsk->lq->syn_len >= (uint32_t)lsk->lq->backlog;
	return lsk->lq->syn_len > (uint32_t)lsk->lq->backlog;
}

/* Linux's tcp_syn_flood_action: whether to answer with a cookie, counting and
 * warning once per listener. */
static bool syn_flood_action(struct tern_stack *st, struct tern_sock *lsk)
{
	bool cookie = st->sys.tcp_syncookies != 0;
	char addr[TERN_ADDR_STRLEN];

	if (cookie)
		tern__count(st, TERN_CTR_TcpExtTCPReqQFullDoCookies);
	else
		tern__count(st, TERN_CTR_TcpExtTCPReqQFullDrop);
	if (st->sys.tcp_syncookies != 2 && !(lsk->flags & SK_SYNFLOOD_WARNED)) {
		struct tern_addr a = { .family = TERN_AF_INET, .u.v4 = lsk->laddr };
		lsk->flags |= SK_SYNFLOOD_WARNED;
		tern__log(st, TERN_LOG_INFO, "TCP: request_sock_TCP: Possible SYN flooding on port %s:%u. %s.",
			  tern_addr_format(&a, addr, sizeof(addr)), lsk->lport,
			  cookie ? "Sending cookies" : "Dropping request");
	}
	return cookie;
}

static void listen_drop(struct tern_stack *st)
{
	tern__count(st, TERN_CTR_TcpExtListenDrops);
}

/* Linux's tcp_synq_overflow: the listener remembers, to the second, when it last
 * issued a cookie; cookie ACKs are checked only for two minutes after. */
static void synq_overflow(struct tern_stack *st, struct tern_sock *lsk)
{
	if (!(lsk->flags & SK_OVERFLOWED) || st->now - lsk->lq->last_overflow > TERN_NS_PER_SEC) {
		lsk->lq->last_overflow = st->now;
		lsk->flags |= SK_OVERFLOWED;
	}
}

static bool recent_overflow(const struct tern_stack *st, const struct tern_sock *lsk)
{
	return (lsk->flags & SK_OVERFLOWED) && st->now >= lsk->lq->last_overflow - TERN_NS_PER_SEC &&
	       st->now <= lsk->lq->last_overflow + SYNCOOKIE_VALID_NS;
}

static void send_cookie_synack(struct tern_stack *st, struct tern_sock *lsk, const struct tern_ipv4 *ip,
			       const struct tern_tcp *seg)
{
	struct tern_cookie_tuple t = { .saddr = ip->src, .daddr = ip->dst, .sport = seg->sport, .dport = seg->dport };
	uint16_t peer_mss = (seg->opt.present & TERN_TCPOPT_HAS_MSS) && seg->opt.mss ? seg->opt.mss
										     : TERN_TCP_DEFAULT_MSS;
	uint16_t mss_used;
	bool ts = (seg->opt.present & TERN_TCPOPT_HAS_TS) && st->sys.tcp_timestamps;

	if (lsk->opts->user_mss && lsk->opts->user_mss < peer_mss)
		peer_mss = lsk->opts->user_mss;
	unsigned idx = tern__cookie_mss_index(peer_mss, &mss_used);
	struct synack sa = {
		.laddr = ip->dst, .raddr = ip->src, .lport = seg->dport, .rport = seg->sport,
		.irs = seg->seq,
		.iss = tern__cookie_make(st->secrets.cookie, &t, seg->seq, tern__cookie_minute(st->now), idx),
		.cookie = true,
	};
	if (ts) {
		/* Options ride in the timestamp; without one, only the MSS survives
		 * (spec §3.4). tern does not negotiate ECN. */
		struct tern_cookie_opts co = {
			.wscale_ok = (seg->opt.present & TERN_TCPOPT_HAS_WSCALE) && st->sys.tcp_window_scaling,
			.wscale = (uint8_t)TERN_MIN(seg->opt.wscale, TERN_TCP_MAX_WSCALE),
			.sack_ok = (seg->opt.present & TERN_TCPOPT_HAS_SACK_PERM) && st->sys.tcp_sack,
		};
		sa.ts_ok = true;
		sa.sack_ok = co.sack_ok;
		sa.wscale_ok = co.wscale_ok;
		sa.tsval = tern__cookie_ts_encode(ms_clock(st), &co) + tern__ts_offset(st, ip->dst, ip->src);
		sa.tsecr = seg->opt.ts_val;
	}
	send_synack(st, lsk, &sa);
	tern__count(st, TERN_CTR_TcpExtSyncookiesSent);
	synq_overflow(st, lsk);
}

/* spec §1.3, steps 2 to 5. A SYN that reopens a TIME-WAIT connection (step 1)
 * comes with `tw_isn` (nonzero) and skips steps 2 and 4. */
static void listen_syn(struct tern_stack *st, struct tern_sock *lsk, const struct tern_ipv4 *ip,
		       const struct tern_tcp *seg, tern_seq tw_isn)
{
	bool want_cookie = false;

	if (!tw_isn && (st->sys.tcp_syncookies == 2 || queue_full(st, lsk))) {
		want_cookie = syn_flood_action(st, lsk);
		if (!want_cookie) {
			listen_drop(st);
			return;
		}
	}
	/* 3: cookies never bypass a full accept queue. */
	if (acceptq_full(lsk)) {
		tern__count(st, TERN_CTR_TcpExtListenOverflows);
		listen_drop(st);
		return;
	}
	/* 4: without cookies, the last quarter of tcp_max_syn_backlog is kept for
	 * peers known to answer. DEVIATION: tern keeps no tcp_metrics cache, so no
	 * peer counts as proven. */
	if (!want_cookie && !tw_isn && st->sys.tcp_syncookies == 0) {
		int64_t m = st->sys.tcp_max_syn_backlog;
		if (m - (int64_t)lsk->lq->syn_len < (m >> 2)) {
			listen_drop(st);
			return;
		}
	}
	if (want_cookie) {
		send_cookie_synack(st, lsk, ip, seg);
		return;
	}

	/* Segment input hashed this tuple for its lookups and left the hash in
	 * eh_hint_hash (sock.h); listen_syn runs only under it (tern__listen_rcv
	 * and tern__listen_syn_reopen are called from input's lookups and
	 * TIME-WAIT's verdict on the segment), so the request does not hash it
	 * again. Debug builds check it (tern__req_add_hashed). */
	struct tern_req *req = tern__req_add_hashed(st, lsk, st->tcp->eh_hint_hash, ip->dst, seg->dport, ip->src,
						    seg->sport);
	if (!req) {
		listen_drop(st);
		return;
	}
	req->irs = seg->seq;
	req->iss = tw_isn ? tw_isn : tern__isn(st, ip->dst, ip->src, seg->dport, seg->sport);
	req->mss = (seg->opt.present & TERN_TCPOPT_HAS_MSS) && seg->opt.mss ? seg->opt.mss : TERN_TCP_DEFAULT_MSS;
	if (lsk->opts->user_mss && lsk->opts->user_mss < req->mss)
		req->mss = lsk->opts->user_mss;
	if ((seg->opt.present & TERN_TCPOPT_HAS_TS) && st->sys.tcp_timestamps) {
		req->flags |= REQ_TS_OK;
		req->ts_recent = seg->opt.ts_val;
	}
	if ((seg->opt.present & TERN_TCPOPT_HAS_SACK_PERM) && st->sys.tcp_sack)
		req->flags |= REQ_SACK_OK;
	if ((seg->opt.present & TERN_TCPOPT_HAS_WSCALE) && st->sys.tcp_window_scaling) {
		req->flags |= REQ_WSCALE_OK;
		req->snd_wscale = (uint8_t)TERN_MIN(seg->opt.wscale, TERN_TCP_MAX_WSCALE);
	}
	req_synack(st, lsk, req);
}

/* ------------------------------------------------------------ ACK without a request */

/* Linux's cookie_v4_check. Returns true when the segment was dealt with (a child
 * made, or the ACK dropped at a full accept queue); false sends it on to be
 * answered with a reset. */
static bool cookie_ack(struct tern_stack *st, struct tern_sock *lsk, const struct tern_ipv4 *ip,
		       const struct tern_tcp *seg)
{
	struct tern_cookie_tuple t = { .saddr = ip->src, .daddr = ip->dst, .sport = seg->sport, .dport = seg->dport };
	uint16_t mss;

	if (!st->sys.tcp_syncookies || !recent_overflow(st, lsk))
		return false;
	if (tern__cookie_check(st->secrets.cookie, &t, seg->ack, seg->seq, tern__cookie_minute(st->now), &mss) < 0) {
		tern__count(st, TERN_CTR_TcpExtSyncookiesFailed);
		return false;
	}
	tern__count(st, TERN_CTR_TcpExtSyncookiesRecv);

	/* LINUX-COMPAT: cookie_v4_check rounds the window by the cookie's MSS, not
	 * by the MSS less the timestamp option as a queued request does. */
	struct child_params p = { .irs = seg->seq - 1, .iss = seg->ack - 1, .mss = mss, .rtt_us = -1 };
	if (seg->opt.present & TERN_TCPOPT_HAS_TS) {
		/* The options come back in TSecr (spec §3.4); each needs its sysctl. */
		struct tern_cookie_opts co;
		if (!st->sys.tcp_timestamps)
			return false;
		tern__cookie_ts_decode(seg->opt.ts_ecr - tern__ts_offset(st, ip->dst, ip->src), &co);
		if ((co.wscale_ok && !st->sys.tcp_window_scaling) || (co.sack_ok && !st->sys.tcp_sack))
			return false;
		p.ts_ok = true;
		p.ts_recent = seg->opt.ts_val;
		p.sack_ok = co.sack_ok;
		p.wscale_ok = co.wscale_ok;
		p.snd_wscale = co.wscale;
	}
	if (acceptq_full(lsk)) {
		/* No state to keep: the ACK is simply dropped (spec §2.3). */
		tern__count(st, TERN_CTR_TcpExtListenOverflows);
		listen_drop(st);
		return true;
	}
	tern__tcp_select_initial_window(st, lsk->rcvbuf, lsk->flags & SK_RCVBUF_LOCK, 0, mss, p.wscale_ok,
					&p.rcv_wnd, &p.rcv_wscale, &p.window_clamp);
	if (!create_child(st, lsk, ip, seg, &p, tern__tuple_hash(st, ip->dst, seg->dport, ip->src, seg->sport)))
		listen_drop(st);
	return true;
}

/* RFC 9293 §3.10.7.2 with Linux's filter (spec §1.3 end). */
void tern__listen_rcv(struct tern_stack *st, struct tern_sock *lsk, const struct tern_ipv4 *ip,
		      const struct tern_tcp *seg)
{
	if (seg->flags & TERN_TCP_RST)
		return;
	if (seg->flags & TERN_TCP_ACK) {
		if (!(seg->flags & TERN_TCP_SYN) && cookie_ack(st, lsk, ip, seg))
			return;
		tern__tcp_send_reset(st, ip, seg);
		return;
	}
	if (!(seg->flags & TERN_TCP_SYN) || (seg->flags & TERN_TCP_FIN))
		return;
	listen_syn(st, lsk, ip, seg, 0);
}

void tern__listen_syn_reopen(struct tern_stack *st, struct tern_sock *lsk, const struct tern_ipv4 *ip,
			     const struct tern_tcp *seg, tern_seq isn)
{
	listen_syn(st, lsk, ip, seg, isn);
}

/* ------------------------------------------------------------ segments for a request */

static void req_drop(struct tern_stack *st, struct tern_req *req, uint32_t hash)
{
	tern__req_remove_hashed(st, req, hash);
	tern__count(st, TERN_CTR_TcpExtEmbryonicRsts);
}

/* spec §5, steps 1 to 9, with §13.1 and §13.5. */
void tern__req_rcv(struct tern_stack *st, struct tern_req *req, uint32_t hash, const struct tern_ipv4 *ip,
		   const struct tern_tcp *seg)
{
	struct tern_sock *lsk = tern__req_listener(st, req);
	tern_seq rcv_nxt = req->irs + 1;
	uint8_t flags = seg->flags;
	uint8_t ws;
	uint32_t clamp;

	if (!lsk) {
		/* Its listener is gone: the request goes, and the segment is answered as
		 * one for no socket (spec §2.4). */
		tern__req_remove_hashed(st, req, hash);
		tern__tcp_send_reset(st, ip, seg);
		return;
	}
	/* 1. PAWS against the SYN's timestamp. */
	bool paws_fail = (req->flags & REQ_TS_OK) && (seg->opt.present & TERN_TCPOPT_HAS_TS) &&
			 !(flags & TERN_TCP_RST) && (int32_t)(req->ts_recent - seg->opt.ts_val) > 1;

	/* 2. The SYN again: resend the SYN-ACK (rate-limited), restart the interval. */
	if (flags == TERN_TCP_SYN && seg->seq == req->irs && !paws_fail) {
		if (req_ratelimited(st, req)) {
			tern__count(st, TERN_CTR_TcpExtTCPACKSkippedSynRecv);
		} else {
			req_rtx_synack(st, lsk, req);
			tern__req_rearm(st, req);
		}
		return;
	}
	/* 3. An ACK for something else than our SYN goes to the listener: reset. */
	if ((flags & TERN_TCP_ACK) && seg->ack != req->iss + 1) {
		tern__tcp_send_reset(st, ip, seg);
		return;
	}
	/* 4. Out of the window, or too old: an ACK (rate-limited) and drop. */
	uint32_t rcv_wnd = req_rcv_wnd(st, lsk, req, &ws, &clamp);
	tern_seq end = seg->seq + seg->payload_len + !!(flags & TERN_TCP_SYN) + !!(flags & TERN_TCP_FIN);
	if (paws_fail || !seq_in_window(seg->seq, end, rcv_nxt, rcv_nxt + rcv_wnd)) {
		if (!(flags & TERN_TCP_RST)) {
			if (req_ratelimited(st, req))
				tern__count(st, TERN_CTR_TcpExtTCPACKSkippedSynRecv);
			else
				req_send_ack(st, lsk, req);
		}
		if (paws_fail)
			tern__count(st, TERN_CTR_TcpExtPAWSEstab);
		return;
	}
	/* 5. A SYN repeated at the same ISN carries no new information. */
	if (seg->seq == req->irs)
		flags &= (uint8_t)~TERN_TCP_SYN;
	/* 6. RST or SYN. LINUX-COMPAT (spec §13.1): only an RST at exactly rcv_nxt
	 * kills the request; another in-window RST draws a challenge ACK. A SYN with
	 * another ISN is answered with a reset and ends it (§13.5). */
	if (flags & TERN_TCP_RST) {
		if (seg->seq != rcv_nxt) {
			if (req_ratelimited(st, req)) {
				tern__count(st, TERN_CTR_TcpExtTCPACKSkippedChallenge);
			} else {
				tern__count(st, TERN_CTR_TcpExtTCPChallengeACK);
				req_send_ack(st, lsk, req);
			}
			return;
		}
		tern__count(st, TERN_CTR_TcpAttemptFails);
		req_drop(st, req, hash);
		return;
	}
	if (flags & TERN_TCP_SYN) {
		tern__count(st, TERN_CTR_TcpAttemptFails);
		tern__tcp_send_reset(st, ip, seg);
		req_drop(st, req, hash);
		return;
	}
	/* 7. Nothing to act on without ACK. */
	if (!(flags & TERN_TCP_ACK))
		return;
	/* 8. TCP_DEFER_ACCEPT: a bare ACK waits for data (spec §4.4). */
	if (lsk->opts->defer_accept && req->num_timeout < lsk->opts->defer_accept && seg->payload_len == 0 &&
	    !(flags & TERN_TCP_FIN)) {
		req->flags |= REQ_ACKED;
		tern__count(st, TERN_CTR_TcpExtTCPDeferAcceptDrop);
		return;
	}
	/* 9. The child, unless the accept queue is full (spec §2.3). */
	if (acceptq_full(lsk)) {
		acceptq_overflow(st, ip, seg, req);
		return;
	}
	struct child_params p = {
		.irs = req->irs, .iss = req->iss, .mss = req->mss,
		.ts_ok = req->flags & REQ_TS_OK, .sack_ok = req->flags & REQ_SACK_OK,
		.wscale_ok = req->flags & REQ_WSCALE_OK, .snd_wscale = req->snd_wscale,
		.ts_recent = req->ts_recent, .rtt_us = -1,
		.rcv_wnd = rcv_wnd, .window_clamp = clamp, .rcv_wscale = ws,
	};
	/* Without timestamps, the handshake RTT counts only if the SYN-ACK was sent
	 * once (Linux's tcp_synack_rtt_meas); it left one interval before expiry. */
	if (!p.ts_ok && req->num_retrans == 0)
		p.rtt_us = (st->now - (tern__req_expires(st, req) - tern__req_interval(req))) / TERN_NS_PER_US;
	tern__req_remove_listened(st, req, hash, lsk);
	if (!create_child(st, lsk, ip, seg, &p, hash))
		listen_drop(st);
}

/* ------------------------------------------------------------ the request timer */

/* spec §4.2: the tick of one request. */
void tern__listen_req_timeout(struct tern_stack *st, struct tern_req *req)
{
	struct tern_sock *lsk = tern__req_listener(st, req);

	if (!lsk || lsk->state != TERN_TCP_LISTEN) {
		tern__req_remove(st, req);   /* the listener is gone: silently */
		return;
	}
	unsigned max_retries = lsk->opts->syncnt ? (unsigned)lsk->opts->syncnt : (unsigned)st->sys.tcp_synack_retries;
	uint32_t qlen = lsk->lq->syn_len;
	/* Queue pressure: fewer than half the requests young costs a retry, fewer
	 * than a quarter two, and so on, never below 2 (evaluated at each tick with
	 * the queue as it is then: spec §13.3). */
	if (2 * qlen > TERN_MAX(8u, (uint32_t)lsk->lq->backlog)) {
		uint64_t y = 2ull * lsk->lq->young;
		while (max_retries > 2 && qlen >= y) {
			max_retries--;
			y *= 2;
		}
	}
	bool acked = req->flags & REQ_ACKED;
	unsigned d = (unsigned)lsk->opts->defer_accept;
	bool expire, resend = true;
	if (d) {
		expire = req->num_timeout >= max_retries && (!acked || req->num_timeout >= d);
		resend = !acked || (unsigned)req->num_timeout + 1 >= d;
	} else {
		expire = req->num_timeout >= max_retries;
	}
	tern__count(st, TERN_CTR_TcpExtTCPTimeouts);
	if (expire) {
		tern__req_remove(st, req);
		return;
	}
	if (resend)
		req_rtx_synack(st, lsk, req);
	if (req->num_timeout++ == 0)
		lsk->lq->young--;
	tern__req_rearm(st, req);
}
