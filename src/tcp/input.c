/*
 * tcp/input.c: where every TCP segment enters (tern__tcp_input, called by IP) and
 * the state machine of RFC 9293 §3.10.7 "SEGMENT ARRIVES", one function per step,
 * with Linux's validation of synchronized states in front (tcp_validate_incoming:
 * PAWS, sequence, RST, SYN; spec §7.3, RFC 5961, RFC 7323 §5).
 *
 * Checks on the header follow Linux's tcp_v4_rcv: the segment is counted (InSegs),
 * its header and checksum are verified (RFC 9293 §3.1: a bad checksum means
 * discard), then it is matched to a connection, else to a listener, else answered
 * with a reset (§3.10.7.1; spec §7.1).
 */
#include "ip/ip.h"
#include "tcp/listen.h"
#include "tcp/reqsk.h"
#include "tcp/sock.h"
#include "tcp/tcp.h"
#include "tcp/tw.h"
#include "tern/errors.h"
#include "wire/tcpparse.h"

/* Counters for each way the header can be refused: Linux's MIB and ours. Linux
 * counts InErrs only for a bad data offset and a bad checksum; a segment too short
 * for its header is dropped uncounted there. */
static void count_refusal(struct tern_stack *st, enum tern_wire_status why)
{
	switch (why) {
	case TERN_WIRE_TCP_TOO_SHORT:
		tern__count(st, TERN_CTR_TernTcpTooShort);
		break;
	case TERN_WIRE_TCP_BAD_CHECKSUM:
		tern__count(st, TERN_CTR_TcpInCsumErrors);
		tern__count(st, TERN_CTR_TcpInErrs);
		tern__count(st, TERN_CTR_TernTcpBadChecksum);
		break;
	case TERN_WIRE_TCP_BAD_DATA_OFFSET:
		tern__count(st, TERN_CTR_TcpInErrs);
		tern__count(st, TERN_CTR_TernTcpBadDataOffset);
		break;
	case TERN_WIRE_TCP_DATA_OFFSET_PAST_END:
		tern__count(st, TERN_CTR_TernTcpDataOffsetPastEnd);
		break;
	case TERN_WIRE_TCP_BAD_OPTION_LENGTH:
		tern__count(st, TERN_CTR_TernTcpBadOptionLength);
		break;
	case TERN_WIRE_TCP_OPTION_PAST_HEADER:
		tern__count(st, TERN_CTR_TernTcpOptionPastHeader);
		break;
	default:
		TERN_ASSERT(!"not a TCP parse status");
		break;
	}
}

/* ------------------------------------------------------------ options */

/* What the peer's SYN-ACK (or, in a simultaneous open, its SYN) offers, as
 * Linux's tcp_parse_options and tcp_rcv_synsent_state_process take it: each
 * option counts only if our sysctl allows it and, for window scaling, if our SYN
 * offered it (until now the agreement's wscale_ok and rcv_wscale hold our
 * offer). The agreement is written whole, once, not field by field. */
static void negotiate(struct tern_stack *st, struct tern_sock *sk, const struct tern_tcp *seg)
{
	const struct tern_tcp_opts *o = &seg->opt;
	uint16_t mss = (o->present & TERN_TCPOPT_HAS_MSS) && o->mss ? o->mss : TERN_TCP_DEFAULT_MSS;
	bool ts_ok = (o->present & TERN_TCPOPT_HAS_TS) && st->sys.tcp_timestamps;
	/* Both sides must have offered scaling. */
	bool ws_ok = (o->present & TERN_TCPOPT_HAS_WSCALE) && st->sys.tcp_window_scaling && sk->neg.wscale_ok;

	if (sk->opts->user_mss && sk->opts->user_mss < mss)
		mss = sk->opts->user_mss;
	sk->neg = (struct tern_tcp_neg){
		.ts_ok = ts_ok,
		.sack_ok = (o->present & TERN_TCPOPT_HAS_SACK_PERM) && st->sys.tcp_sack,
		.wscale_ok = ws_ok,
		/* RFC 7323 §2.3: a shift above 14 is taken as 14 (Linux logs and
		 * clamps). */
		.snd_wscale = ws_ok ? (uint8_t)TERN_MIN(o->wscale, TERN_TCP_MAX_WSCALE) : 0,
		.rcv_wscale = ws_ok ? sk->neg.rcv_wscale : 0,
		.mss_clamp = mss,
	};
	if (ts_ok) {
		sk->ts_recent = o->ts_val;
		sk->ts_recent_stamp = st->now ? st->now : 1;
	}
}

/* RFC 7323 §4.3 / Linux's tcp_store_ts_recent: a timestamp is remembered only from
 * a segment at the left edge of the window. Inline: every segment with an ACK
 * asks, and the test is smaller than the call GCC left. `has_ts`: the segment
 * carries a timestamp and the connection uses them (established_rcv's test). */
static inline __attribute__((always_inline)) void store_ts_recent(struct tern_stack *st, struct tern_sock *sk,
								   const struct tern_tcp *seg, bool has_ts)
{
	if (!has_ts)
		return;
	if (seq_leq(seg->seq, sk->rcv_wup) && (int32_t)(seg->opt.ts_val - sk->ts_recent) >= 0) {
		sk->ts_recent = seg->opt.ts_val;
		sk->ts_recent_stamp = st->now ? st->now : 1;
	}
}

/* ------------------------------------------------------------ SYN-SENT */

/* Linux's TCP_TIMEOUT_MIN: two jiffies at the corpus kernel's HZ=250. */
#define TCP_TIMEOUT_MIN_NS (8 * TERN_NS_PER_MS)

/* RFC 9293 §3.10.7.3. Returns true when the segment should be answered with a
 * reset built from it. Out of line: once per active open, and inlined it made
 * tern__tcp_rcv's every segment pay for its registers (9 instructions per
 * lifecycle fewer apart). */
static __attribute__((noinline)) bool syn_sent_rcv(struct tern_stack *st, struct tern_sock *sk, const struct tern_tcp *seg)
{
	bool ack = seg->flags & TERN_TCP_ACK;

	/* First, the ACK: it must cover our SYN and nothing more. */
	if (ack && (seq_leq(seg->ack, sk->iss) || seq_gt(seg->ack, sk->snd_nxt))) {
		/* LINUX-COMPAT: a SYN not yet retransmitted is resent soon, in case the
		 * odd SYN-ACK or RST|ACK was a stale one from an earlier incarnation
		 * (spec §13.2). */
		if (sk->retransmits == 0) {
			sk->rtx_kind = RTX_RETRANS;
			tern__sk_timer_arm(st, sk, TERN_SKT_RTX, st->now + TCP_TIMEOUT_MIN_NS);
		}
		return !(seg->flags & TERN_TCP_RST);
	}
	/* Second, RST: only with an acceptable ACK; the connection is refused. */
	if (seg->flags & TERN_TCP_RST) {
		if (ack)
			tern__tcp_reset(st, sk);
		return false;
	}
	/* Fourth, SYN. */
	if (!(seg->flags & TERN_TCP_SYN))
		return false;

	sk->rcv_nxt = seg->seq + 1;
	sk->copied_seq = sk->rcv_nxt;
	sk->rcv_wup = sk->rcv_nxt;
	negotiate(st, sk, seg);
	sk->snd_wnd = seg->win;   /* unscaled in a SYN (RFC 7323 §2.2) */
	sk->max_window = seg->win;
	sk->snd_wl1 = seg->seq;

	if (ack) {
		/* Our SYN is acknowledged: ESTABLISHED (RFC 9293 §3.10.7.3). */
		int64_t rtt_us = -1;
		if (sk->xfer->txq_head && !(sk->xfer->txq_head->flags & TXSEG_EVER_RETRANS))
			rtt_us = (int64_t)tern__txseg_age_us(st->now, sk->xfer->txq_head);
		else if (sk->neg.ts_ok && seg->opt.ts_ecr)
			rtt_us = (int64_t)(tern__tcp_ts_now(st, sk) - seg->opt.ts_ecr) * 1000;
		tern__tcp_ack(st, sk, seg);
		if (rtt_us < 0 && !tern__rtt_has_sample(&sk->rtt))
			tern__rtt_handshake_fallback(&sk->rtt);
		tern__tcp_established(st, sk);
		sk->rcv_mss = (uint16_t)TERN_MIN(TERN_MIN(sk->advmss, (uint16_t)TERN_TCP_DEFAULT_MSS),
						 (uint16_t)(sk->rcv_wnd / 2));
		tern__tcp_send_ack(st, sk);
		tern__tcp_push(st, sk);
		tern__sk_xfer_trim(st, sk);   /* the SYN is acknowledged */
		return false;
	}
	/* A SYN without ACK: simultaneous open (RFC 9293 §3.5, figure 8). */
	tern__tcp_set_state(st, sk, TERN_TCP_SYN_RECV);
	tern__tcp_send_syn(st, sk, true);
	return false;
}

/* ------------------------------------------------------------ synchronized states */

static uint32_t receive_window(const struct tern_sock *sk)
{
	int32_t w = (int32_t)(sk->rcv_wup + sk->rcv_wnd - sk->rcv_nxt);
	return w < 0 ? 0 : (uint32_t)w;
}

enum seq_verdict { SEQ_OK, SEQ_OLD, SEQ_BEYOND, SEQ_END_BEYOND };

/* RFC 9293 §3.10.7.4 "first, check sequence number", as Linux 6.17+'s
 * tcp_sequence: the segment must end no earlier than the last window's left edge
 * and start within the window; one that ends beyond the window is dropped whole
 * unless the receive queue is empty (a FIN may stick out; spec §14.11). */
static enum seq_verdict seq_check(const struct tern_sock *sk, const struct tern_tcp *seg)
{
	bool fin = seg->flags & TERN_TCP_FIN;
	tern_seq end = seg->seq + seg->payload_len + !!(seg->flags & TERN_TCP_SYN) + fin;
	tern_seq limit = sk->rcv_nxt + receive_window(sk);

	if (seq_lt(end, sk->rcv_wup))
		return SEQ_OLD;
	if (seq_gt(end, limit)) {
		if (!seq_gt(end - fin, limit))
			return SEQ_OK;
		if (seq_gt(seg->seq, limit))
			return SEQ_BEYOND;
		if (tern__stream_len(&sk->xfer->rcvq))
			return SEQ_END_BEYOND;
	}
	return SEQ_OK;
}

/* Linux's tcp_send_dupack: old data is D-SACKed and puts the connection in
 * quick-ACK mode; then the ACK, rate-limited for segments without data. */
static void send_dupack(struct tern_stack *st, struct tern_sock *sk, const struct tern_tcp *seg,
			enum tern_counter skipped)
{
	tern_seq end = seg->seq + seg->payload_len + !!(seg->flags & TERN_TCP_SYN) + !!(seg->flags & TERN_TCP_FIN);

	if (end != seg->seq && seq_lt(seg->seq, sk->rcv_nxt)) {
		tern__count(st, TERN_CTR_TcpExtDelayedACKLost);
		tern__tcp_enter_quickack_mode(sk);
		if (sk->neg.sack_ok && st->sys.tcp_dsack)
			tern__tcp_dsack_set(st, sk, seg->seq, seq_gt(end, sk->rcv_nxt) ? sk->rcv_nxt : end);
	}
	if ((seg->payload_len == 0 || (seg->flags & TERN_TCP_SYN)) && tern__tcp_ratelimit_ack(st, sk)) {
		tern__count(st, skipped);
		return;
	}
	tern__tcp_send_ack(st, sk);
	/* The D-SACK went with it: a block taken just for it goes back. */
	tern__sk_xfer_trim(st, sk);
}

/* RFC 7323 §5.3 PAWS with Linux's one-tick tolerance (spec §14.23). Returns true
 * when the segment must be dropped. */
static bool paws_reject(struct tern_stack *st, struct tern_sock *sk, const struct tern_tcp *seg, bool has_ts)
{
	if (!has_ts || (seg->flags & TERN_TCP_RST))
		return false;
	if ((int32_t)(sk->ts_recent - seg->opt.ts_val) <= 1)
		return false;
	/* A timestamp that has not been refreshed in 24 days is too old to judge by
	 * (RFC 7323 §5.5). */
	if (st->now - sk->ts_recent_stamp > 24LL * 86400 * TERN_NS_PER_SEC)
		return false;
	if (seg->flags & TERN_TCP_SYN)
		return false;   /* a SYN goes on to draw a challenge ACK */
	tern__count(st, TERN_CTR_TcpExtPAWSEstab);
	send_dupack(st, sk, seg, TERN_CTR_TcpExtTCPACKSkippedPAWS);
	return true;
}

static bool rst_closing_match(const struct tern_sock *sk, const struct tern_tcp *seg)
{
	return (sk->state == TERN_TCP_CLOSE_WAIT || sk->state == TERN_TCP_LAST_ACK ||
		sk->state == TERN_TCP_CLOSING) &&
	       seg->seq == sk->rcv_nxt - 1;
}

/* Linux's tcp_validate_incoming (spec §7.3). Returns true to go on. */
static bool validate(struct tern_stack *st, struct tern_sock *sk, const struct tern_tcp *seg, bool has_ts)
{
	if (paws_reject(st, sk, seg, has_ts))
		return false;
	enum seq_verdict sv = seq_check(sk, seg);
	if (sv != SEQ_OK) {
		if (seg->flags & TERN_TCP_RST) {
			if (rst_closing_match(sk, seg))
				tern__tcp_reset(st, sk);
			return false;
		}
		if (seg->flags & TERN_TCP_SYN) {
			tern__count(st, TERN_CTR_TcpExtTCPSYNChallenge);
			tern__tcp_send_challenge_ack(st, sk);
			return false;
		}
		if (sv != SEQ_OLD)
			tern__count(st, TERN_CTR_TcpExtBeyondWindow);
		else if (seg->payload_len)
			/* LINUX-COMPAT: a duplicate of old data still refreshes the
			 * timestamp to echo (spec §14.23); a segment beyond the window
			 * does not. */
			store_ts_recent(st, sk, seg, has_ts);
		send_dupack(st, sk, seg, TERN_CTR_TcpExtTCPACKSkippedSeq);
		return false;
	}
	/* RFC 5961 §3.2: only an RST at exactly rcv_nxt resets; any other in the
	 * window draws a challenge ACK. */
	if (seg->flags & TERN_TCP_RST) {
		if (seg->seq == sk->rcv_nxt || rst_closing_match(sk, seg))
			tern__tcp_reset(st, sk);
		else
			tern__tcp_send_challenge_ack(st, sk);
		return false;
	}
	/* RFC 5961 §4.2: a SYN in a synchronized state draws a challenge ACK, except
	 * the SYN-ACK that completes a simultaneous open: in SYN-RECV, acking our
	 * SYN and repeating the peer's (Linux's tcp_validate_incoming). */
	if ((seg->flags & TERN_TCP_SYN) && sk->state == TERN_TCP_SYN_RECV && !tern__sk_parent(sk) &&
	    (seg->flags & TERN_TCP_ACK) && seg->payload_len == 0 && seg->seq + 1 == sk->rcv_nxt &&
	    seg->ack == sk->snd_nxt)
		return true;
	if (seg->flags & TERN_TCP_SYN) {
		tern__count(st, TERN_CTR_TcpExtTCPSYNChallenge);
		tern__tcp_send_challenge_ack(st, sk);
		return false;
	}
	return true;
}

/* SYN-RECV's ACK (RFC 9293 §3.10.7.4 "fifth", SYN-RECEIVED): an acceptable one
 * makes the connection ESTABLISHED; any other is answered with a reset. */
static bool synrecv_ack(struct tern_stack *st, struct tern_sock *sk, const struct tern_tcp *seg, bool *reset)
{
	if (seq_leq(seg->ack, sk->snd_una) || seq_gt(seg->ack, sk->snd_nxt)) {
		*reset = true;
		return false;
	}
	tern__tcp_ack(st, sk, seg);
	if (!tern__rtt_has_sample(&sk->rtt))
		tern__rtt_handshake_fallback(&sk->rtt);
	tern__tcp_established(st, sk);
	sk->rcv_mss = (uint16_t)TERN_MIN(TERN_MIN(sk->advmss, (uint16_t)TERN_TCP_DEFAULT_MSS),
					 (uint16_t)(sk->rcv_wnd / 2));
	return true;
}

/* The ACK of our FIN moves the closing states on (spec §6.3). `seg_fin`: the same
 * segment carries the peer's FIN, which will take the socket on at once. Returns
 * true when the orphan's FIN-WAIT-2 timer is left for the caller to arm once the
 * FIN has been processed (see established_rcv). */
static bool fin_acked(struct tern_stack *st, struct tern_sock *sk, bool seg_fin)
{
	switch (sk->state) {
	case TERN_TCP_FIN_WAIT1:
		tern__tcp_set_state(st, sk, TERN_TCP_FIN_WAIT2);
		if (!(sk->flags & SK_ORPHAN))
			break;
		if (seg_fin && sk->opts->linger2_s >= 0)
			return true;
		tern__tcp_orphan_fin_wait2(st, sk, seg_fin);
		break;
	case TERN_TCP_CLOSING:
		tern__tw_enter(st, sk, TERN_TCP_TIME_WAIT, TERN_TCP_TIMEWAIT_NS);
		break;
	case TERN_TCP_LAST_ACK:
		tern__tcp_done(st, sk);
		break;
	default:
		break;
	}
	return false;
}

/* RFC 9293 §3.10.7.4 for every state after SYN-SENT. Returns true when the
 * segment should be answered with a reset built from it. */
static bool established_rcv(struct tern_stack *st, struct tern_sock *sk, const struct tern_tcp *seg)
{
	bool reset = false, fin_wait2_timer = false;

	/* Linux drops a segment with none of ACK, RST and SYN before anything else. */
	if (!(seg->flags & (TERN_TCP_ACK | TERN_TCP_RST | TERN_TCP_SYN)))
		return false;
	/* Both PAWS and the timestamp's update ask whether the segment carries
	 * a timestamp we use: once (nothing between them changes either). */
	bool has_ts = sk->neg.ts_ok && (seg->opt.present & TERN_TCPOPT_HAS_TS);
	if (!validate(st, sk, seg, has_ts))
		return false;
	/* Fifth, the ACK field: without ACK the segment is dropped (RFC 9293
	 * §3.10.7.4). */
	if (!(seg->flags & TERN_TCP_ACK))
		return false;
	/* Linux takes the timestamp to echo before acting on the ACK (tcp_ack with
	 * FLAG_UPDATE_TS_RECENT), so a retransmission the ACK triggers echoes it. */
	store_ts_recent(st, sk, seg, has_ts);
	if (sk->state == TERN_TCP_SYN_RECV) {
		if (!synrecv_ack(st, sk, seg, &reset))
			return reset;
	} else if (tern__tcp_ack(st, sk, seg) < 0) {
		return false;
	}
	/* tern__tcp_ack, which synrecv_ack calls too, stamped rcv_tstamp. */
	if (sk->snd_una == sk->snd_nxt && (sk->flags & SK_FIN_SENT))
		fin_wait2_timer = fin_acked(st, sk, seg->flags & TERN_TCP_FIN);
	if (sk->state == TERN_TCP_CLOSE)
		return false;
	/* A segment without data is shorter than rcv_mss (at least 1 there), so
	 * the receiver's RTT measure would reject it: most segments are pure ACKs,
	 * and this is the cheapest of its tests. It rejects one without a
	 * timestamp too, so the test made for PAWS serves (`neg` is as it was). */
	if (has_ts && seg->payload_len)
		tern__tcp_rcv_rtt_measure_ts(sk, seg, tern__tcp_ts_now(st, sk));

	/* Data after the receive side was closed by close() (spec §6.3, §13.10): the
	 * connection is reset, and the reset is built from the segment. */
	bool has_new = seg->payload_len && seq_gt(seg->seq + seg->payload_len, sk->rcv_nxt);
	if (has_new && (sk->flags & SK_SHUT_RD) &&
	    (sk->state == TERN_TCP_FIN_WAIT1 || sk->state == TERN_TCP_FIN_WAIT2)) {
		tern__count(st, TERN_CTR_TcpExtTCPAbortOnData);
		tern__tcp_reset(st, sk);
		return true;
	}
	/* Seventh and eighth: text and FIN. After the peer's FIN nothing new counts. */
	if ((sk->state == TERN_TCP_CLOSE_WAIT || sk->state == TERN_TCP_CLOSING || sk->state == TERN_TCP_LAST_ACK) &&
	    !seq_lt(seg->seq, sk->rcv_nxt)) {
		/* nothing */
	} else if (seg->payload_len || (seg->flags & (TERN_TCP_FIN | TERN_TCP_SYN))) {
		tern__tcp_data_queue(st, sk, seg);
		/* The orphan's FIN-WAIT-2 timer, armed here rather than when the ACK
		 * of our FIN moved it there (only a segment with a FIN defers it, so
		 * it comes this way): that FIN usually makes TIME-WAIT, and arming
		 * the wheel only to cancel it was most of the step's cost. Linux arms
		 * it there (tcp_rcv_state_process's "bad case"); nothing since
		 * (data_queue with no new data: an orphan with new data was reset
		 * above) touched the socket's timers, and the clock is the same, so
		 * the deadline and the arming order are too. A FIN out of order or
		 * beyond the window leaves the socket in FIN-WAIT-2, and the timer
		 * runs. */
		if (fin_wait2_timer && sk->state == TERN_TCP_FIN_WAIT2)
			tern__tcp_orphan_fin_wait2(st, sk, true);
	}
	if (sk->state != TERN_TCP_CLOSE) {
		tern__tcp_push_inline(st, sk);
		tern__tcp_ack_snd_check(st, sk);
		/* Everything acknowledged and read: the transfer block goes back. */
		tern__sk_xfer_trim(st, sk);
	}
	return false;
}

/* A segment for a socket past LISTEN; true when it is to be answered with a
 * reset built from it. Out of line, and without the IP header: the caller keeps
 * that for the reset, so the large body (established_rcv and what it inlines)
 * has one more register across its calls. */
static __attribute__((noinline)) bool conn_rcv(struct tern_stack *st, struct tern_sock *sk,
					       const struct tern_tcp *seg)
{
	if (sk->state == TERN_TCP_SYN_SENT)
		return syn_sent_rcv(st, sk, seg);
	return established_rcv(st, sk, seg);
}

void tern__tcp_rcv(struct tern_stack *st, struct tern_sock *sk, const struct tern_ipv4 *ip,
		   const struct tern_tcp *seg)
{
	if (sk->state == TERN_TCP_LISTEN) {
		tern__listen_rcv(st, sk, ip, seg);
		return;
	}
	if (conn_rcv(st, sk, seg))
		tern__tcp_send_reset(st, ip, seg);
}

void tern__tcp_input(struct tern_stack *st, const struct tern_ipv4 *ip, unsigned flags)
{
	struct tern_tcp seg;
	enum tern_wire_status why;
	struct tern_sock *sk;

	tern__count(st, TERN_CTR_TcpInSegs);
	/* The common segment's parse inline (no call, no arguments it does not
	 * use); anything else the full one takes from the start. */
	if (!(flags & TERN_INPUT_CSUM_OK) || !wire_tcp_parse_plain(ip->payload, ip->payload_len, false, &seg)) {
		why = tern_tcp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, !(flags & TERN_INPUT_CSUM_OK),
				     &seg);
		if (why != TERN_WIRE_OK) {
			/* DEVIATION: a bad option length drops the segment here, where
			 * Linux would stop parsing options and carry on: a header that
			 * lies about its own layout is not worth acting on. */
			count_refusal(st, why);
			return;
		}
	}
	seg.gso_size = (uint16_t)(flags >> TERN_INPUT_GSO_SHIFT);

	/* A connection, else a time-wait entry, else a half-open request, else a
	 * listener (Linux keeps the first three in one hash). */
	uint64_t addrs;
	uint32_t ports;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* The parsed fields lie src, dst and sport, dport: as words, exactly
	 * laddr << 32 | raddr and lport << 16 | rport (the segment's). */
	_Static_assert(offsetof(struct tern_ipv4, dst) == offsetof(struct tern_ipv4, src) + 4 &&
			       offsetof(struct tern_tcp, dport) == offsetof(struct tern_tcp, sport) + 2,
		       "the parsed addresses and ports are pairs");
	memcpy(&addrs, &ip->src, sizeof(addrs));
	memcpy(&ports, &seg.sport, sizeof(ports));
#else
	addrs = (uint64_t)ip->dst << 32 | ip->src;
	ports = (uint32_t)seg.dport << 16 | seg.sport;
#endif
	uint32_t hash = tern__tuple_hash_words(st, addrs, ports);
	sk = tern__ehash_lookup_words(st, hash, addrs, ports);
	/* Remembered for the socket's removal (struct tern_tcp_tables); a miss
	 * stores NULL, which matches no socket. */
	st->tcp->eh_hint = sk;
	st->tcp->eh_hint_hash = hash;
	if (!sk) {
		struct tern_tw *tw = tern__tw_lookup_words(st, hash, addrs, ports);
		if (tw) {
			tern__tw_rcv(st, tw, ip, &seg);
			return;
		}
		struct tern_req *req = tern__req_lookup_hashed(st, hash, ip->dst, seg.dport, ip->src, seg.sport);
		if (req) {
			tern__req_rcv(st, req, hash, ip, &seg);
			return;
		}
		sk = tern__lhash_lookup(st, ip->dst, seg.dport);
	}
	if (!sk || sk->state == TERN_TCP_CLOSE) {
		tern__count(st, TERN_CTR_TernTcpNoListener);
		tern__tcp_send_reset(st, ip, &seg);
		return;
	}
	/* tern__tcp_rcv, without its call. */
	if (sk->state == TERN_TCP_LISTEN)
		tern__listen_rcv(st, sk, ip, &seg);
	else if (conn_rcv(st, sk, &seg))
		tern__tcp_send_reset(st, ip, &seg);
}
