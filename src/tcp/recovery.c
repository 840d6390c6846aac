/*
 * tcp/recovery.c: loss detection and recovery on the sending side, shaped as
 * Linux's tcp_fastretrans_alert and tcp_recovery.c (spec §14.15-19).
 *
 *   loss detection  RACK (RFC 8985 §6) when net.ipv4.tcp_recovery has bit 0 and
 *                   the peer SACKs: a segment is lost once a segment sent after
 *                   it has been delivered and it is older than the latest RTT
 *                   plus a reordering window (min_rtt/4, 0 once DupThresh
 *                   segments are SACKed, spec §14.18), with a timer for the
 *                   rest. Without SACK, NewReno: DupThresh duplicate ACKs (each
 *                   counted as a SACKed segment, Linux's "reno sacks") or a
 *                   partial ACK mark the head lost. With SACK and RACK off,
 *                   RFC 6675's IsLost (ack.c).
 *   recovery        fast recovery with PRR (RFC 6937, Linux's
 *                   tcp_cwnd_reduction, spec §14.19): cwnd follows what is
 *                   delivered, in proportion down to ssthresh and then at most
 *                   one segment per segment delivered; held until the ACK
 *                   passes the recovery point.
 *   tail loss probe RFC 8985 §7 with Linux's timing (spec §14.15): 2 SRTT + 2 ms
 *                   (+ tcp_rto_min with one segment out), within the RTO; it
 *                   sends new data if it can, else resends the last segment.
 *
 * Limited transmit (RFC 3042) falls out of the accounting: a duplicate ACK or a
 * SACK takes one segment out of flight, so one new segment fits cwnd.
 */
#include "tcp/sock.h"

#define TCP_TIMEOUT_MIN_NS (2 * TERN_NS_PER_MS)   /* Linux's TCP_TIMEOUT_MIN_US */

static bool rack_on(const struct tern_stack *st, const struct tern_sock *sk)
{
	return (st->sys.tcp_recovery & 1) && sk->neg.sack_ok;
}

static bool in_cwnd_reduction(const struct tern_sock *sk)
{
	return sk->cc.ca_state == TERN_CA_CWR || sk->cc.ca_state == TERN_CA_RECOVERY;
}

/* Linux's tcp_mark_skb_lost: a retransmission judged lost is in flight no more. */
void tern__tcp_mark_lost(struct tern_stack *st, struct tern_sock *sk, struct tern_txseg *t)
{
	if (t->flags & TXSEG_RETRANS) {
		t->flags &= (uint8_t)~TXSEG_RETRANS;
		sk->xfer->retrans_out--;
		tern__count(st, TERN_CTR_TcpExtTCPLostRetransmit);
	}
	if (!(t->flags & (TXSEG_LOST | TXSEG_SACKED))) {
		t->flags |= TXSEG_LOST;
		sk->xfer->lost_out++;
	}
}

/* ------------------------------------------------------------ min RTT */

/* Linux's tcp_update_rtt_min: the smallest RTT of the last tcp_min_rtt_wlen
 * (300 s), through the windowed-minimum filter of rtt.h. */
void tern__tcp_min_rtt_update(struct tern_stack *st, struct tern_sock *sk, uint32_t rtt_us)
{
	/* The stack's millisecond clock is the filter's: no division per sample. */
	uint32_t now_ms = (uint32_t)st->now_ms, min = tern__minrtt_get(&sk->min_rtt);

	rtt_us = TERN_MAX(rtt_us, 1u);
	/* No minimum yet, or a new one (the filter's update would start over
	 * too): every choice becomes this sample, here without the call. */
	if (!min || rtt_us <= min)
		tern__minrtt_reset_ms(&sk->min_rtt, now_ms, rtt_us);
	else
		tern__minrtt_update_ms(&sk->min_rtt, now_ms, (uint32_t)(TERN_TCP_MIN_RTT_WLEN_NS / TERN_NS_PER_MS), rtt_us);
}

/* Linux's tcp_min_rtt: "none yet" reads as the largest value. */
static uint32_t min_rtt_us(const struct tern_sock *sk)
{
	uint32_t v = tern__minrtt_get(&sk->min_rtt);
	return v ? v : UINT32_MAX;
}

/* ------------------------------------------------------------ RACK */

/* Linux's tcp_skb_sent_after: by send time, ties broken by sequence. */
static bool sent_after(tern_time t1, tern_time t2, tern_seq seq1, tern_seq seq2)
{
	return t1 > t2 || (t1 == t2 && seq_gt(seq1, seq2));
}

/* Linux's tcp_rack_advance: a segment was delivered (acked or SACKed). */
void tern__tcp_rack_advance(struct tern_stack *st, struct tern_sock *sk, const struct tern_txseg *t)
{
	tern__tcp_rack_advance_rtt(st, sk, t, (uint32_t)tern__txseg_age_us(st->now, t));
}

/* The same, with the send-to-delivery time in microseconds already known. */
void tern__tcp_rack_advance_rtt(struct tern_stack *st, struct tern_sock *sk, const struct tern_txseg *t,
				uint32_t rtt_us)
{
	/* A retransmission delivered sooner than any RTT could be the original
	 * arriving: the sample is ambiguous. */
	if ((t->flags & TXSEG_EVER_RETRANS) && rtt_us < min_rtt_us(sk))
		return;
	sk->xfer->rack_advanced = 1;
	sk->xfer->rack_rtt_us = rtt_us;
	if (sent_after(t->sent_at, sk->xfer->rack_mstamp, t->end, sk->xfer->rack_end_seq)) {
		sk->xfer->rack_mstamp = t->sent_at;
		sk->xfer->rack_end_seq = t->end;
	}
}

/* Linux's tcp_rack_reo_wnd: min_rtt/4, bounded by SRTT; none once DupThresh
 * segments are SACKed or in recovery, unless reordering was seen. */
static uint32_t rack_reo_wnd_us(const struct tern_stack *st, const struct tern_sock *sk)
{
	if (!sk->rack_reord) {
		if (sk->cc.ca_state >= TERN_CA_RECOVERY)
			return 0;
		if (sk->xfer->sacked_out >= (uint32_t)st->sys.tcp_reordering && !(st->sys.tcp_recovery & 4))
			return 0;
	}
	return TERN_MIN(min_rtt_us(sk) / 4, tern__rtt_srtt_us(&sk->rtt));
}

/* Linux's tcp_rack_detect_loss: marks what has waited too long; returns the
 * longest time (us) still to wait for the others. */
static uint32_t rack_detect_loss(struct tern_stack *st, struct tern_sock *sk)
{
	uint32_t reo_wnd = rack_reo_wnd_us(st, sk), wait_us = 0;

	for (struct tern_txseg *t = sk->xfer->txq_head; t; t = t->next) {
		if (t->flags & TXSEG_SACKED)
			continue;
		/* Already lost and not resent yet: nothing more to decide. */
		if ((t->flags & TXSEG_LOST) && !(t->flags & TXSEG_RETRANS))
			continue;
		if (!sent_after(sk->xfer->rack_mstamp, t->sent_at, sk->xfer->rack_end_seq, t->end))
			continue;
		int64_t waited_us = (int64_t)tern__txseg_age_us(st->now, t);
		int64_t remaining = (int64_t)sk->xfer->rack_rtt_us + reo_wnd - waited_us;
		if (remaining <= 0)
			tern__tcp_mark_lost(st, sk, t);
		else if ((uint32_t)remaining > wait_us)
			wait_us = (uint32_t)remaining;
	}
	return wait_us;
}

/* Linux's tcp_rack_mark_lost. Returns true if it armed the reordering timer. */
static bool rack_mark_lost(struct tern_stack *st, struct tern_sock *sk)
{
	if (!sk->xfer->rack_advanced)
		return false;
	sk->xfer->rack_advanced = 0;
	uint32_t wait_us = rack_detect_loss(st, sk);
	if (!wait_us)
		return false;
	sk->rtx_kind = RTX_REO;
	tern__sk_timer_arm(st, sk, TERN_SKT_RTX,
			st->now + (tern_time)wait_us * TERN_NS_PER_US + TCP_TIMEOUT_MIN_NS);
	return true;
}

/* Linux's tcp_newreno_mark_lost: without SACK, the head is lost after DupThresh
 * duplicate ACKs, or at a partial ACK during recovery. */
static void newreno_mark_lost(struct tern_stack *st, struct tern_sock *sk, bool snd_una_advanced)
{
	uint8_t state = sk->cc.ca_state;
	struct tern_txseg *t = sk->xfer->txq_head;

	if (!t)
		return;
	if ((state < TERN_CA_RECOVERY && sk->xfer->sacked_out >= (uint32_t)st->sys.tcp_reordering) ||
	    (state == TERN_CA_RECOVERY && snd_una_advanced)) {
		if (!(t->flags & TXSEG_LOST))
			tern__tcp_mark_lost(st, sk, t);
	}
}

/* Linux's tcp_identify_packet_loss. Returns true if the RACK timer took over. */
static bool identify_loss(struct tern_stack *st, struct tern_sock *sk, bool snd_una_advanced)
{
	if (!sk->xfer->txq_head)
		return false;
	if (!sk->neg.sack_ok) {
		newreno_mark_lost(st, sk, snd_una_advanced);
		return false;
	}
	if (rack_on(st, sk))
		return rack_mark_lost(st, sk);
	tern__tcp_mark_lost_by_sack(st, sk);
	return false;
}

/* ------------------------------------------------------------ reno "sacks" */

/* Linux's tcp_add_reno_sack: without SACK, each duplicate ACK stands for one
 * segment that left the network. Never more than leaves one hole. */
static uint32_t add_reno_sack(struct tern_sock *sk)
{
	uint32_t prior = sk->xfer->sacked_out;
	uint32_t holes = TERN_MIN(TERN_MAX(sk->xfer->lost_out, 1u), sk->xfer->packets_out);

	sk->xfer->sacked_out++;
	if (sk->xfer->sacked_out + holes > sk->xfer->packets_out)
		sk->xfer->sacked_out = sk->xfer->packets_out - holes;
	return sk->xfer->sacked_out > prior ? sk->xfer->sacked_out - prior : 0;
}

/* Linux's tcp_remove_reno_sacks: a cumulative ACK of `acked` segments filled
 * one hole; the rest of it was counted already by duplicate ACKs. Returns the
 * segments it newly delivers. */
uint32_t tern__tcp_remove_reno_sacks(struct tern_sock *sk, uint32_t acked)
{
	if (!acked)
		return 0;
	uint32_t delivered = acked > sk->xfer->sacked_out ? acked - sk->xfer->sacked_out : 1;
	if (acked - 1 >= sk->xfer->sacked_out)
		sk->xfer->sacked_out = 0;
	else
		sk->xfer->sacked_out -= acked - 1;
	return delivered;
}

/* ------------------------------------------------------------ states */

/* Linux's tcp_init_cwnd_reduction. */
static void init_cwnd_reduction(struct tern_sock *sk)
{
	sk->xfer->high_seq = sk->snd_nxt;
	sk->tlp_high_seq = 0;
	sk->xfer->prr_delivered = 0;
	sk->xfer->prr_out = 0;
}

static void enter_recovery(struct tern_stack *st, struct tern_sock *sk)
{
	struct tern_cc_conn c = tern__tcp_cc_conn(st, sk);

	tern__count(st, sk->neg.sack_ok ? TERN_CTR_TcpExtTCPSackRecovery : TERN_CTR_TcpExtTCPRenoRecovery);
	if (!in_cwnd_reduction(sk))
		init_cwnd_reduction(sk);
	tern__cc_enter_recovery(&sk->cc, &c, false);
}

/* Linux's tcp_try_keep_open: Disorder while anything is SACKed, lost or resent. */
static void try_keep_open(struct tern_stack *st, struct tern_sock *sk)
{
	struct tern_cc_conn c = tern__tcp_cc_conn(st, sk);
	enum tern_ca_state state = TERN_CA_OPEN;

	if (sk->xfer->sacked_out || sk->xfer->lost_out || sk->xfer->retrans_out)
		state = TERN_CA_DISORDER;
	if (sk->cc.ca_state != state) {
		tern__cc_set_state(&sk->cc, &c, state);
		sk->xfer->high_seq = sk->snd_nxt;
	}
}

static void end_cwnd_reduction(struct tern_stack *st, struct tern_sock *sk)
{
	struct tern_cc_conn c = tern__tcp_cc_conn(st, sk);
	tern__cc_end_reduction(&sk->cc, &c, true);
}

/* Linux's tcp_cwnd_reduction (PRR, RFC 6937 §3 with the slow-start reduction
 * bound). */
static void cwnd_reduction(struct tern_sock *sk, uint32_t delivered, bool newly_lost, bool una_advanced)
{
	int64_t delta = (int64_t)sk->cc.ssthresh_segs - tern__tcp_in_flight(sk);
	int64_t sndcnt;

	if (!delivered || !sk->cc.prior_cwnd_segs)
		return;
	sk->xfer->prr_delivered += delivered;
	if (delta < 0) {
		uint64_t dividend = (uint64_t)sk->cc.ssthresh_segs * sk->xfer->prr_delivered + sk->cc.prior_cwnd_segs - 1;
		sndcnt = (int64_t)(dividend / sk->cc.prior_cwnd_segs) - sk->xfer->prr_out;
	} else {
		sndcnt = TERN_MAX((int64_t)sk->xfer->prr_delivered - sk->xfer->prr_out, (int64_t)delivered);
		if (una_advanced && !newly_lost)
			sndcnt++;
		sndcnt = TERN_MIN(delta, sndcnt);
	}
	/* The fast retransmit itself always goes. */
	sndcnt = TERN_MAX(sndcnt, (int64_t)(sk->xfer->prr_out ? 0 : 1));
	sk->cc.cwnd_segs = (uint32_t)TERN_MAX((int64_t)tern__tcp_in_flight(sk) + sndcnt, 1);
}

void tern__tcp_prr_sent(struct tern_sock *sk, uint32_t segs)
{
	if (in_cwnd_reduction(sk))
		sk->xfer->prr_out += segs;
}

/* ------------------------------------------------------------ tail loss probe */

/* How far ahead the RTO (`rto`) of the oldest outstanding segment lies (Linux's
 * tcp_rto_delta_us). */
static tern_time rto_delta(const struct tern_stack *st, const struct tern_sock *sk, tern_time rto)
{
	if (!sk->xfer->txq_head)
		return rto;
	return sk->xfer->txq_head->sent_at + rto - st->now;
}

static bool loss_probe_applies(const struct tern_stack *st, const struct tern_sock *sk)
{
	return (st->sys.tcp_early_retrans == 3 || st->sys.tcp_early_retrans == 4) && sk->xfer->packets_out &&
	       sk->neg.sack_ok && (sk->cc.ca_state == TERN_CA_OPEN || sk->cc.ca_state == TERN_CA_CWR);
}

/* The probe timeout: two smoothed RTTs and some slack, no later than the RTO
 * (`rto`, from now) when that is ahead. */
static tern_time loss_probe_timeout(const struct tern_stack *st, const struct tern_sock *sk, tern_time rto)
{
	tern_time timeout;
	if (tern__rtt_has_sample(&sk->rtt)) {
		timeout = 2 * (tern_time)tern__rtt_srtt_us(&sk->rtt) * TERN_NS_PER_US;
		timeout += sk->xfer->packets_out == 1 ? (tern_time)st->sys.tcp_rto_min_us * TERN_NS_PER_US : TCP_TIMEOUT_MIN_NS;
	} else {
		timeout = (tern_time)TERN_TCP_TIMEOUT_INIT_US * TERN_NS_PER_US;
	}
	if (rto > 0 && rto < timeout)
		timeout = rto;
	return timeout;
}

/* Linux's tcp_schedule_loss_probe. `advancing_rto`: an ACK just moved the RTO
 * (it would restart from now). */
bool tern__tcp_schedule_loss_probe(struct tern_stack *st, struct tern_sock *sk, bool advancing_rto)
{
	if (!loss_probe_applies(st, sk))
		return false;
	tern_time rto = tern__tcp_backed_off_rto(st, sk);
	if (!advancing_rto)
		rto = rto_delta(st, sk, rto);
	sk->rtx_kind = RTX_PROBE;
	tern__sk_timer_arm(st, sk, TERN_SKT_RTX, st->now + loss_probe_timeout(st, sk, rto));
	return true;
}

/* New data left with no retransmission deadline running (or only the persist
 * timer's): Linux's tcp_event_new_data_sent arms the RTO, then
 * tcp_schedule_loss_probe moves it to a loss probe when one applies. Both
 * armings in one (tern__sk_timer_arm_moved); neither reads what the other
 * sets but rtx_kind. */
void tern__tcp_arm_rto_and_probe(struct tern_stack *st, struct tern_sock *sk)
{
	if (!loss_probe_applies(st, sk)) {
		tern__tcp_rearm_rto(st, sk);
		return;
	}
	tern_time rto = tern__tcp_backed_off_rto(st, sk);
	tern_time probe = loss_probe_timeout(st, sk, rto_delta(st, sk, rto));
	sk->rtx_kind = RTX_PROBE;
	tern__sk_timer_arm_moved(st, sk, TERN_SKT_RTX, st->now + rto, st->now + probe);
}

/* Linux's tcp_send_loss_probe: new data if the window takes it, else the last
 * segment again; one probe per episode. */
void tern__tcp_send_loss_probe(struct tern_stack *st, struct tern_sock *sk)
{
	if (!sk->tlp_high_seq) {
		sk->tlp_retrans = 0;
		bool sent = tern__tcp_send_probe_data(st, sk);
		if (!sent && sk->xfer->txq_tail) {
			tern__tcp_retransmit_seg(st, sk, sk->xfer->txq_tail);
			sk->tlp_retrans = 1;
			sent = true;
		}
		if (sent) {
			sk->tlp_high_seq = sk->snd_nxt;
			tern__count(st, TERN_CTR_TcpExtTCPLossProbes);
		}
	}
	tern__tcp_rearm_rto(st, sk);
}

/* Linux's tcp_process_tlp_ack: did the probe repair a loss? An ACK past the
 * probe's snd_nxt without a D-SACK for it says yes: the window is reduced once
 * (CWR). A D-SACK or a pure duplicate ACK says both copies arrived. */
static void process_tlp_ack(struct tern_stack *st, struct tern_sock *sk, tern_seq ack, bool dsack, bool una_advanced,
			    bool not_dup)
{
	if (seq_lt(ack, sk->tlp_high_seq))
		return;
	if (!sk->tlp_retrans || dsack) {
		sk->tlp_high_seq = 0;
	} else if (seq_gt(ack, sk->tlp_high_seq)) {
		struct tern_cc_conn c = tern__tcp_cc_conn(st, sk);
		init_cwnd_reduction(sk);
		tern__cc_enter_cwr(&sk->cc, &c);
		end_cwnd_reduction(st, sk);
		try_keep_open(st, sk);
		tern__count(st, TERN_CTR_TcpExtTCPLossProbeRecovery);
	} else if (!una_advanced && !not_dup) {
		sk->tlp_high_seq = 0;
	}
}

/* ------------------------------------------------------------ the ACK */

/* Runs after ack.c has taken the ACK's cumulative and SACK information into the
 * scoreboard: Linux's tcp_fastretrans_alert, tcp_cong_control and the choice of
 * the retransmission timer. `a->delivered` counts segments newly acked or
 * SACKed (reno sacks are added here). */
void tern__tcp_recovery_ack(struct tern_stack *st, struct tern_sock *sk, struct tern_ack_info *a)
{
	bool una_advanced = seq_gt(a->ack, a->prior_una);
	bool rack_timer = false;
	uint32_t prior_lost = sk->xfer->lost_out;

	if (sk->tlp_high_seq)
		process_tlp_ack(st, sk, a->ack, a->dsack, una_advanced, a->not_dup);

	bool dubious = !a->not_dup || a->newly_sacked || sk->cc.ca_state != TERN_CA_OPEN;
	if (dubious) {
		bool dupack = !una_advanced && !a->not_dup && sk->xfer->packets_out;

		if (!sk->xfer->packets_out && sk->xfer->sacked_out)
			sk->xfer->sacked_out = 0;
		/* D: leaving a state once the recovery point is acked. */
		if (sk->cc.ca_state == TERN_CA_CWR && seq_geq(sk->snd_una, sk->xfer->high_seq) && sk->snd_una != sk->xfer->high_seq) {
			end_cwnd_reduction(st, sk);
			struct tern_cc_conn c = tern__tcp_cc_conn(st, sk);
			tern__cc_set_state(&sk->cc, &c, TERN_CA_OPEN);
		} else if (sk->cc.ca_state == TERN_CA_RECOVERY && seq_geq(sk->snd_una, sk->xfer->high_seq)) {
			if (!sk->neg.sack_ok)
				sk->xfer->sacked_out = 0;
			/* NewReno holds recovery until something above the point is
			 * acked (Linux's tcp_try_undo_recovery). */
			if (sk->snd_una == sk->xfer->high_seq && !sk->neg.sack_ok)
				goto cong;
			struct tern_cc_conn c = tern__tcp_cc_conn(st, sk);
			tern__cc_set_state(&sk->cc, &c, TERN_CA_OPEN);
			end_cwnd_reduction(st, sk);
		}

		/* E: the state's work. */
		switch (sk->cc.ca_state) {
		case TERN_CA_RECOVERY:
			if (!una_advanced && !sk->neg.sack_ok && dupack)
				a->delivered += add_reno_sack(sk);
			/* A partial ACK with SACK but no RACK: the next hole is lost
			 * (RFC 6582 §3.2 as Linux's tcp_update_scoreboard does it). */
			if (una_advanced && sk->neg.sack_ok && !rack_on(st, sk) && sk->xfer->txq_head &&
			    !(sk->xfer->txq_head->flags & (TXSEG_SACKED | TXSEG_LOST)))
				tern__tcp_mark_lost(st, sk, sk->xfer->txq_head);
			rack_timer = identify_loss(st, sk, una_advanced);
			break;
		case TERN_CA_LOSS:
			if (seq_geq(a->ack, sk->xfer->high_seq)) {
				struct tern_cc_conn c = tern__tcp_cc_conn(st, sk);
				tern__cc_end_reduction(&sk->cc, &c, false);
				tern__cc_set_state(&sk->cc, &c, TERN_CA_OPEN);
				if (!sk->neg.sack_ok)
					sk->xfer->sacked_out = 0;
			}
			rack_timer = identify_loss(st, sk, una_advanced);
			break;
		default:
			if (!sk->neg.sack_ok) {
				if (una_advanced && sk->xfer->sacked_out)
					sk->xfer->sacked_out = 0;
				if (dupack)
					a->delivered += add_reno_sack(sk);
			}
			rack_timer = identify_loss(st, sk, una_advanced);
			bool time_to_recover = sk->xfer->lost_out > 0;
			if (!rack_on(st, sk) && sk->neg.sack_ok &&
			    sk->xfer->sacked_out + 1 > (uint32_t)st->sys.tcp_reordering)
				time_to_recover = true;
			if (!time_to_recover) {
				try_keep_open(st, sk);
				break;
			}
			if (!rack_on(st, sk) && sk->neg.sack_ok && !sk->xfer->lost_out && sk->xfer->txq_head)
				tern__tcp_mark_lost(st, sk, sk->xfer->txq_head);
			enter_recovery(st, sk);
			break;
		}
	}
cong:
	/* tcp_cong_control: PRR while reducing, growth otherwise. */
	if (in_cwnd_reduction(sk)) {
		cwnd_reduction(sk, a->delivered, sk->xfer->lost_out > prior_lost, una_advanced);
	} else if (una_advanced && a->acked_segs) {
		bool cwnd_limited = tern__tcp_in_flight(sk) + a->acked_segs >= sk->cc.cwnd_segs;
		TERN_ASSERT(a->conn);
		tern__cc_cong_avoid(&sk->cc, a->conn, a->delivered, cwnd_limited);
	}

	/* The timer: RACK's if it armed one, else a loss probe or the RTO
	 * (tcp_set_xmit_timer), when this ACK acked or SACKed something. With
	 * nothing in flight no probe applies and the RTO would only be cancelled,
	 * which tern__tcp_ack does next for every kind but persist (the common
	 * ACK of everything sent). */
	if (!rack_timer && (una_advanced || a->newly_sacked) && sk->xfer->packets_out) {
		if (!tern__tcp_schedule_loss_probe(st, sk, true))
			tern__tcp_rearm_rto(st, sk);
	}
}

/* The RACK reordering timer fired (Linux's tcp_rack_reo_timeout). */
void tern__tcp_rack_reo_timeout(struct tern_stack *st, struct tern_sock *sk)
{
	uint32_t prior = tern__tcp_in_flight(sk);

	rack_detect_loss(st, sk);
	if (prior != tern__tcp_in_flight(sk)) {
		if (sk->cc.ca_state != TERN_CA_RECOVERY) {
			enter_recovery(st, sk);
			cwnd_reduction(sk, 1, false, false);
		}
		tern__tcp_retransmit_lost(st, sk);
	}
	if (sk->rtx_kind != RTX_RETRANS)
		tern__tcp_rearm_rto(st, sk);
}
