/*
 * tcp/ack.c: what an arriving acknowledgment does to the sending side (RFC 9293
 * §3.10.7.4 "fifth, check the ACK field"), shaped as Linux's tcp_ack():
 *
 *   - range checks: an ACK older than one maximum window is challenged (RFC 5961
 *     §5.2), one for data never sent is dropped (spec §13.7);
 *   - the send window update, ordered by SND.WL1/SND.WL2 (RFC 9293 §3.10.7.4);
 *   - the scoreboard: fully acknowledged segments leave it, SACK blocks mark
 *     others (RFC 2018), D-SACKs are recognised (RFC 2883), and every delivery
 *     feeds RACK; RFC 6675's IsLost rule is here for when RACK is off;
 *   - RTT samples: from the oldest newly acknowledged segment never
 *     retransmitted (Karn's rule, RFC 6298 §3), else from the echoed timestamp
 *     (RFC 7323 §4.1), as Linux's tcp_ack_update_rtt prefers them.
 *
 * Loss detection, recovery and the congestion window are recovery.c's, called
 * once the scoreboard is up to date.
 */
#include "tcp/sock.h"
#include "tcp/tcp.h"
#include "tern/errors.h"

/* Linux's DupThresh default, net.ipv4.tcp_reordering. */
static uint32_t dupthresh(const struct tern_stack *st)
{
	return (uint32_t)st->sys.tcp_reordering;
}

/* ------------------------------------------------------------ scoreboard */

static void txseg_unlink_head(struct tern_stack *st, struct tern_xfer *x)
{
	struct tern_txseg *t = x->txq_head;

	x->txq_head = t->next;
	if (!x->txq_head)
		x->txq_tail = NULL;
	x->packets_out--;
	if (t->flags & TXSEG_SACKED)
		x->sacked_out--;
	if (t->flags & TXSEG_LOST)
		x->lost_out--;
	if (t->flags & TXSEG_RETRANS)
		x->retrans_out--;
	tern__pool_put(&st->tcp->txseg_pool, t);
}

/* Removes what `ack` covers in full. Returns the number of segments removed and,
 * as Linux's tcp_clean_rtx_queue measures them, the RTT samples from the oldest
 * (`seq_rtt_us`, for the estimator) and the newest (`ca_rtt_us`, for congestion
 * control) newly acked segment that was never SACKed; both -1 when there is none,
 * or when any acked segment was retransmitted (Karn, RFC 6298 §3). The transfer
 * block is held in a local: the pool and the scoreboard stores would otherwise
 * make the compiler read sk->xfer again at every step. */
static uint32_t clean_acked(struct tern_stack *st, struct tern_sock *sk, tern_seq ack, int64_t *seq_rtt_us,
			    int64_t *ca_rtt_us, bool *acked_retrans, uint32_t *newly_delivered)
{
	struct tern_xfer *x = sk->xfer;
	bool sack_ok = sk->neg.sack_ok, retrans = false;
	int64_t seq_rtt = -1, ca_rtt = -1;
	uint32_t n = 0, delivered = 0;
	struct tern_txseg *t;

	while ((t = x->txq_head) && seq_leq(t->end, ack)) {
		/* One send-to-ACK time serves Karn's samples and RACK. */
		int64_t rtt_us = (int64_t)tern__txseg_age_us(st->now, t);
		if (t->flags & TXSEG_EVER_RETRANS) {
			retrans = true;
		} else if (!(t->flags & TXSEG_SACKED)) {
			ca_rtt = rtt_us;
			if (seq_rtt < 0)
				seq_rtt = ca_rtt;
		}
		if (!(t->flags & TXSEG_SACKED)) {
			delivered++;
			if (sack_ok)
				tern__tcp_rack_advance_rtt(st, sk, t, (uint32_t)rtt_us);
		}
		txseg_unlink_head(st, x);
		n++;
	}
	*seq_rtt_us = retrans ? -1 : seq_rtt;
	*ca_rtt_us = retrans ? -1 : ca_rtt;
	*acked_retrans = retrans;
	*newly_delivered = delivered;
	return n;
}

/* Marks the segments the peer's SACK blocks cover (only blocks above snd_una and
 * not beyond what we sent count; RFC 2018 §8 allows the peer to take them back, so
 * a mark is never trusted for freeing memory). Returns segments newly SACKed. */
static uint32_t mark_sacked(struct tern_stack *st, struct tern_sock *sk, const struct tern_tcp *seg, bool *dsack)
{
	uint32_t newly = 0;
	tern_seq fack = sk->snd_una;   /* highest end SACKed before this ACK */

	*dsack = false;
	if (!(seg->opt.present & TERN_TCPOPT_HAS_SACK) || !sk->neg.sack_ok)
		return 0;
	for (struct tern_txseg *t = sk->xfer->txq_head; t; t = t->next)
		if (t->flags & TXSEG_SACKED)
			fack = t->end;
	for (int i = 0; i < seg->opt.sack_count; i++) {
		tern_seq s = seg->opt.sack[i].start, e = seg->opt.sack[i].end;
		if (!seq_lt(s, e) || seq_gt(e, sk->snd_nxt)) {
			tern__count(st, TERN_CTR_TcpExtTCPSACKDiscard);
			continue;
		}
		if (seq_leq(e, sk->snd_una) || (i == 0 && seq_lt(s, seg->ack))) {
			/* Below the cumulative ACK: a D-SACK (RFC 2883). */
			tern__count(st, TERN_CTR_TcpExtTCPDSACKRecv);
			*dsack = true;
			/* A D-SACK means a segment was resent needlessly: the path
			 * reorders (Linux keeps RACK's window from then on). */
			sk->rack_reord = 1;
			continue;
		}
		for (struct tern_txseg *t = sk->xfer->txq_head; t; t = t->next) {
			if (seq_geq(t->seq, e))
				break;
			if (seq_lt(t->seq, s) || seq_gt(t->end, e) || (t->flags & TXSEG_SACKED))
				continue;
			/* SACKed below data SACKed earlier, never resent: reordering
			 * (Linux's tcp_check_sack_reordering). */
			if (seq_lt(t->end, fack) && !(t->flags & TXSEG_EVER_RETRANS))
				sk->rack_reord = 1;
			tern__tcp_rack_advance(st, sk, t);
			t->flags |= TXSEG_SACKED;
			sk->xfer->sacked_out++;
			if (t->flags & TXSEG_LOST) {
				t->flags &= (uint8_t)~TXSEG_LOST;
				sk->xfer->lost_out--;
			}
			if (t->flags & TXSEG_RETRANS) {
				t->flags &= (uint8_t)~TXSEG_RETRANS;
				sk->xfer->retrans_out--;
			}
			newly++;
		}
	}
	return newly;
}

/* RFC 6675 §4 IsLost: a segment is lost once DupThresh segments above it are
 * SACKed. Walks from the top, counting SACKed segments. Returns newly lost. */
uint32_t tern__tcp_mark_lost_by_sack(struct tern_stack *st, struct tern_sock *sk)
{
	uint32_t above = 0, newly = 0, thresh = dupthresh(st);
	struct tern_txseg *stack_buf[64];
	int n = 0;

	/* The list is singly linked: gather the unsacked segments below the highest
	 * SACKed one in order, then judge them from the top down. */
	tern_seq highest_sacked = sk->snd_una;
	for (struct tern_txseg *t = sk->xfer->txq_head; t; t = t->next)
		if (t->flags & TXSEG_SACKED)
			highest_sacked = t->end;
	for (struct tern_txseg *t = sk->xfer->txq_head; t && seq_lt(t->seq, highest_sacked); t = t->next) {
		if (n == (int)TERN_ARRAY_SIZE(stack_buf)) {
			/* Deep holes: shift the window up; the lowest ones are judged by the
			 * same count once the higher ones are. */
			for (int i = 1; i < n; i++)
				stack_buf[i - 1] = stack_buf[i];
			n--;
		}
		stack_buf[n++] = t;
	}
	for (int i = n - 1; i >= 0; i--) {
		struct tern_txseg *t = stack_buf[i];
		if (t->flags & TXSEG_SACKED) {
			above++;
			continue;
		}
		if (above >= thresh && !(t->flags & (TXSEG_LOST | TXSEG_RETRANS))) {
			t->flags |= TXSEG_LOST;
			sk->xfer->lost_out++;
			newly++;
		}
	}
	return newly;
}

/* ------------------------------------------------------------ recovery */

/* RTO: every segment not SACKed is presumed lost, cwnd falls to one segment and
 * slow start begins again (RFC 5681 §3.1, Linux's tcp_enter_loss). */
void tern__tcp_enter_loss(struct tern_stack *st, struct tern_sock *sk)
{
	struct tern_cc_conn c = tern__tcp_cc_conn(st, sk);
	bool new_episode = sk->cc.ca_state != TERN_CA_LOSS || sk->retransmits == 0;

	for (struct tern_txseg *t = sk->xfer->txq_head; t; t = t->next) {
		if (t->flags & TXSEG_RETRANS) {
			t->flags &= (uint8_t)~TXSEG_RETRANS;
			sk->xfer->retrans_out--;
		}
		if (!(t->flags & (TXSEG_SACKED | TXSEG_LOST))) {
			t->flags |= TXSEG_LOST;
			sk->xfer->lost_out++;
		}
	}
	tern__cc_enter_loss(&sk->cc, &c, tern__tcp_in_flight(sk), new_episode);
	sk->xfer->high_seq = sk->snd_nxt;
}

/* ------------------------------------------------------------ the ACK */

/* RFC 9293 §3.10.7.4: the window is taken from a segment newer than the one it
 * was last taken from (by SEG.SEQ, then SEG.ACK), or from an equal one that
 * offers more (Linux's tcp_may_update_window). */
static void update_window(struct tern_stack *st, struct tern_sock *sk, const struct tern_tcp *seg)
{
	/* A SYN's window is never scaled (RFC 7323 §2.2): the SYN-ACK that
	 * completes our handshake passes through here too (tcp_ack_update_window). */
	uint32_t nwin = (seg->flags & TERN_TCP_SYN) ? seg->win : (uint32_t)seg->win << sk->neg.snd_wscale;

	if (seq_gt(seg->ack, sk->snd_una) || seq_gt(seg->seq, sk->snd_wl1) ||
	    (seg->seq == sk->snd_wl1 && nwin > sk->snd_wnd)) {
		sk->snd_wl1 = seg->seq;
		if (sk->snd_wnd != nwin) {
			sk->snd_wnd = nwin;
			if (nwin > sk->max_window) {
				sk->max_window = nwin;
				/* The MSS push keeps (push_mss, output.c) holds while
				 * the new window's cutoff still covers it. */
				if (sk->mss_cache > (nwin > TERN_TCP_DEFAULT_MSS ? nwin / 2 : nwin))
					sk->flags &= ~SK_MSS_CURRENT;
			}
		}
	}
	(void)st;
}

/* Congestion control's view of the connection for the ACK's hooks (pkts_acked
 * and cong_avoid; recovery.c's). They never read last_send (only the TX_START
 * event does), so it is not worked out back from lsndtime here. */
static inline struct tern_cc_conn ack_conn(const struct tern_stack *st, const struct tern_sock *sk)
{
	return (struct tern_cc_conn){ .now = st->now, .snd_una = sk->snd_una, .snd_nxt = sk->snd_nxt };
}

/* What an ACK that moves snd_una does in either path: the acked segments leave
 * the queue, the RTT is sampled and congestion control hears of it. Fills in
 * the segments removed and those delivered. */
static inline void take_ack(struct tern_stack *st, struct tern_sock *sk, const struct tern_tcp *seg, tern_seq prior_una,
			    uint32_t *acked_segs, uint32_t *delivered)
{
	tern_seq ack = seg->ack;
	int64_t seq_rtt_us, ca_rtt_us;
	bool acked_retrans;
	uint32_t newly_acked;

	*acked_segs = clean_acked(st, sk, ack, &seq_rtt_us, &ca_rtt_us, &acked_retrans, &newly_acked);
	*delivered += sk->neg.sack_ok ? newly_acked : tern__tcp_remove_reno_sacks(sk, *acked_segs);
	size_t bytes = (size_t)(ack - prior_una);
	/* The SYN and the FIN occupy sequence space but no queue bytes. */
	size_t queued = tern__stream_len(&sk->xfer->sndq);
	if (prior_una == sk->iss && bytes)
		bytes--;
	if ((sk->flags & SK_FIN_SENT) && seq_geq(ack, sk->write_seq + 1) && bytes)
		bytes--;
	if (queued)
		tern__stream_consume(&sk->xfer->sndq, &st->tcp->chunk_pool, TERN_MIN(bytes, queued));
	sk->snd_una = ack;
	sk->retransmits = 0;

	/* RTT (Linux's tcp_ack_update_rtt): the ACK's timing first; when Karn's
	 * rule forbids it, the echoed timestamp, which measures even
	 * retransmissions (RFC 7323 §4.1). Without timestamps the backoff stays
	 * (spec §14.16). */
	int64_t rtt_us = seq_rtt_us;
	if (rtt_us < 0 && sk->neg.ts_ok && (seg->opt.present & TERN_TCPOPT_HAS_TS) && seg->opt.ts_ecr) {
		uint32_t delta_ms = tern__tcp_ts_now(st, sk) - seg->opt.ts_ecr;
		if (delta_ms < INT32_MAX / 1000)
			rtt_us = ca_rtt_us = (int64_t)TERN_MAX(delta_ms, 1u) * 1000;
	}
	if (rtt_us >= 0) {
		tern__rtt_sample(&sk->rtt, rtt_us, sk->snd_una, sk->snd_nxt, (uint32_t)st->sys.tcp_rto_min_us,
				 (uint32_t)st->sys.tcp_rto_max_ms * 1000u);
		tern__tcp_min_rtt_update(st, sk, (uint32_t)TERN_MIN(rtt_us, (int64_t)UINT32_MAX));
		sk->backoff = 0;
	}
	/* The view ack_conn gives, built in memory only where a hook needs it
	 * (CUBIC's reads it only for HyStart). */
	tern__cc_pkts_acked_at(&sk->cc, st->now, sk->snd_una, sk->snd_nxt, *acked_segs, ca_rtt_us);
}

/* The common ACK, as Linux's tcp_ack handles one without FLAG_SLOWPATH: no SACK
 * blocks, an empty scoreboard (nothing SACKed, lost or resent), CA_OPEN, no
 * loss probe outstanding and no persist timer. Every test the full path makes
 * for those rarer cases then has a known answer: mark_sacked finds nothing,
 * recovery.c's state machine is not entered (the ACK is not dubious), the
 * window grows, and the persist check has nothing to end. One test of the
 * block replaces them; anything else takes the full path, unchanged. */
static bool ack_is_plain(const struct tern_sock *sk, const struct tern_tcp *seg)
{
	const struct tern_xfer *x = sk->xfer;

	return !(seg->opt.present & TERN_TCPOPT_HAS_SACK) && sk->cc.ca_state == TERN_CA_OPEN && !sk->tlp_high_seq &&
	       sk->rtx_kind != RTX_PERSIST && !(x->sacked_out | x->lost_out | x->retrans_out);
}

/* Returns <0 to drop the segment, 0 to go on with it. */
int tern__tcp_ack(struct tern_stack *st, struct tern_sock *sk, const struct tern_tcp *seg)
{
	tern_seq prior_una = sk->snd_una;
	uint32_t prior_wnd = sk->snd_wnd;
	tern_seq ack = seg->ack;

	/* RFC 5961 §5.2: far below SND.UNA (older than a maximum window). */
	if (seq_lt(ack, prior_una - sk->max_window)) {
		tern__tcp_send_challenge_ack(st, sk);
		return -1;
	}
	/* For data never sent: dropped, and a challenge ACK (spec §13.7). */
	if (seq_gt(ack, sk->snd_nxt)) {
		tern__tcp_send_challenge_ack(st, sk);
		return -1;
	}
	/* An acceptable ACK, even an old duplicate, stamps the last arrival (the
	 * callers in input.c rely on this rather than stamping it again). */
	sk->rcv_tstamp = tern__sk_ms(st);
	/* An old duplicate ACK carries nothing for the send side. */
	if (seq_lt(ack, prior_una))
		return 0;
	/* The plain ACK (ack_is_plain) that advanced snd_una, or carried data, a
	 * SYN or a FIN (so it is no duplicate, Linux's FLAG_NOT_DUP). */
	bool advanced = ack != prior_una;
	bool plain = ack_is_plain(sk, seg) &&
		     (advanced || seg->payload_len || (seg->flags & (TERN_TCP_SYN | TERN_TCP_FIN)));

	update_window(st, sk, seg);
	sk->probes_out = 0;

	bool dsack = false;
	uint32_t newly_sacked = plain ? 0 : mark_sacked(st, sk, seg, &dsack);
	uint32_t acked_segs = 0, delivered = newly_sacked;
	if (advanced)
		take_ack(st, sk, seg, prior_una, &acked_segs, &delivered);

	if (plain) {
		/* Its effects in the full path's order: recovery.c's
		 * tcp_cong_control (no cwnd reduction in CA_OPEN) and the timer for
		 * what is still in flight, or the full path's cancel with nothing
		 * left (the persist timer does not run). */
		if (advanced) {
			/* Nothing resent is outstanding and the state is open (the
			 * plain test saw to both, and freeing segments keeps them). */
			sk->retrans_stamp = 0;
			if (acked_segs) {
				/* In flight is packets_out alone: nothing is SACKed,
				 * lost or resent (the plain test, kept as above). */
				bool cwnd_limited = sk->xfer->packets_out + acked_segs >= sk->cc.cwnd_segs;
				/* The view as take_ack's hook saw it: nothing
				 * since has moved the clock, snd_una or snd_nxt. */
				if (cwnd_limited) {
					struct tern_cc_conn conn = ack_conn(st, sk);

					tern__cc_cong_avoid(&sk->cc, &conn, delivered, cwnd_limited);
				}
			}
			tern__count_add(st, TERN_CTR_TcpExtTCPDelivered, delivered);
			/* Arming leaves packets_out as it was, so the cancel is the
			 * other branch of one test. */
			if (sk->xfer->packets_out) {
				if (!tern__tcp_schedule_loss_probe(st, sk, true))
					tern__tcp_rearm_rto(st, sk);
			} else if (sk->rtx_kind != RTX_NONE) {
				tern__sk_timer_cancel_inline(st, sk, TERN_SKT_RTX);
				sk->rtx_kind = RTX_NONE;
			}
			/* A grown window wants a bigger buffer (Linux's tcp_new_space). */
			tern__tcp_sndbuf_expand(st, sk);
			tern__sock_wakeup(st, sk);
			return 0;
		}
		if (!sk->xfer->packets_out && sk->rtx_kind != RTX_NONE) {
			tern__sk_timer_cancel_inline(st, sk, TERN_SKT_RTX);
			sk->rtx_kind = RTX_NONE;
		}
		return 0;
	}

	/* Nothing resent left outstanding ends the retransmission episode. */
	if (advanced && !sk->xfer->retrans_out && sk->cc.ca_state == TERN_CA_OPEN)
		sk->retrans_stamp = 0;
	/* The view take_ack's hook saw (nothing since has moved the clock,
	 * snd_una or snd_nxt). */
	struct tern_cc_conn conn;
	if (advanced)
		conn = ack_conn(st, sk);
	/* Loss detection, recovery, the congestion window and the retransmission
	 * timer (recovery.c). Linux's FLAG_NOT_DUP: the segment carried data or a
	 * window update, or acked new data (RFC 5681 §2's duplicate ACK is the
	 * opposite, with something outstanding). */
	struct tern_ack_info info = {
		.ack = ack,
		.prior_una = prior_una,
		.acked_segs = acked_segs,
		.newly_sacked = newly_sacked,
		.delivered = delivered,
		.not_dup = seg->payload_len || (seg->flags & (TERN_TCP_SYN | TERN_TCP_FIN)) || sk->snd_wnd != prior_wnd ||
			   seq_gt(ack, prior_una),
		.dsack = dsack,
		.conn = advanced ? &conn : NULL,
	};
	tern__tcp_recovery_ack(st, sk, &info);
	tern__count_add(st, TERN_CTR_TcpExtTCPDelivered, info.delivered);
	/* Nothing in flight: no retransmission, probe or RACK deadline has
	 * anything left to watch (recovery.c leaves this cancel to here). */
	if (!sk->xfer->packets_out && sk->rtx_kind != RTX_PERSIST && sk->rtx_kind != RTX_NONE) {
		tern__sk_timer_cancel(st, sk, TERN_SKT_RTX);
		sk->rtx_kind = RTX_NONE;
	}
	/* A window that now takes the next segment ends the persist timer's watch
	 * (Linux's tcp_ack_probe). The next segment's length is worked out only
	 * while that timer runs: most ACKs have none to end. */
	if (sk->rtx_kind == RTX_PERSIST && sk->snd_wnd) {
		uint32_t next_len = TERN_MIN(tern__tcp_unsent(sk), (uint32_t)TERN_MAX(sk->mss_cache, 1));
		if (seq_leq(sk->snd_nxt + next_len, sk->snd_una + sk->snd_wnd)) {
			tern__sk_timer_cancel(st, sk, TERN_SKT_RTX);
			sk->rtx_kind = RTX_NONE;
			sk->backoff = 0;
		}
	}
	if (seq_gt(ack, prior_una)) {
		/* A grown window wants a bigger buffer (Linux's tcp_new_space). */
		tern__tcp_sndbuf_expand(st, sk);
		tern__sock_wakeup(st, sk);
	}
	return 0;
}
