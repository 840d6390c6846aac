/*
 * tcp/timers.c: a connection's three timers, as Linux's tcp_timer.c runs them.
 *
 *   rtx_timer     retransmission (RFC 6298 with Linux's constants: spec §4.1,
 *                 §14.14-17), the SYN schedule with tcp_syn_linear_timeouts (§4.3),
 *                 the persist timer's zero-window probes (RFC 9293 §3.8.6.1,
 *                 spec §14.10), RACK's reordering timer or the tail loss probe
 *                 (recovery.c, §14.15, §14.18): one at a time (rtx_kind), as
 *                 Linux's icsk_retransmit_timer.
 *   delack_timer  the delayed ACK (RFC 9293 §3.8.6.3; Linux's adaptive ATO, §14.2),
 *                 or the compressed-SACK timer (ACK_COMP, §14.5)
 *   ka_timer      keepalive (RFC 9293 §3.8.4, spec §6.8), and the lifetime of
 *                 an orphan in FIN_WAIT2 (§6.4); TIME-WAIT entries are tw.c's
 *
 * Give-up decisions count time, not only retransmissions: Linux's
 * retransmits_timed_out budget runs from the first transmission of the oldest
 * unacknowledged segment (spec §14.17).
 */
#include "tcp/sock.h"
#include "tcp/tw.h"
#include "tern/errors.h"

static tern_time us(uint64_t v) { return (tern_time)v * TERN_NS_PER_US; }

static uint32_t rto_max_us(const struct tern_stack *st)
{
	return (uint32_t)st->sys.tcp_rto_max_ms * 1000u;
}

static uint32_t rto_min_us(const struct tern_stack *st)
{
	return (uint32_t)st->sys.tcp_rto_min_us;
}

/* tcp_fin_time: TCP_LINGER2 or tcp_fin_timeout, at least 3.5 RTO. */
static tern_time fin_time(const struct tern_stack *st, const struct tern_sock *sk)
{
	tern_time tmo = (tern_time)(sk->linger2_s ? sk->linger2_s : st->sys.tcp_fin_timeout) * TERN_NS_PER_SEC;
	tern_time rto = (tern_time)tern__rtt_rto_us(&sk->rtt) * TERN_NS_PER_US;
	return TERN_MAX(tmo, rto * 7 / 2);
}

/* The RTO with backoff applied, capped at tcp_rto_max_ms. */
tern_time tern__tcp_backed_off_rto(const struct tern_stack *st, const struct tern_sock *sk)
{
	return us(tern__rtt_backoff_us(tern__rtt_rto_us(&sk->rtt), sk->backoff, rto_max_us(st)));
}

void tern__tcp_rearm_rto(struct tern_stack *st, struct tern_sock *sk)
{
	if (!sk->packets_out) {
		if (sk->rtx_kind == RTX_RETRANS) {
			tern__timer_cancel(&st->timers, &sk->rtx_timer);
			sk->rtx_kind = RTX_NONE;
		}
		return;
	}
	sk->rtx_kind = RTX_RETRANS;
	tern__timer_arm(&st->timers, &sk->rtx_timer, st->now + tern__tcp_backed_off_rto(st, sk));
}

/* Persist: probe0's interval is max(RTO, 200 ms) << backoff, capped (Linux's
 * tcp_probe0_when). */
void tern__tcp_arm_persist(struct tern_stack *st, struct tern_sock *sk)
{
	if (sk->rtx_kind == RTX_PERSIST && tern__timer_pending(&sk->rtx_timer))
		return;
	uint32_t base = TERN_MAX(tern__rtt_rto_us(&sk->rtt), TERN_TCP_RTO_MIN_US);
	sk->rtx_kind = RTX_PERSIST;
	tern__timer_arm(&st->timers, &sk->rtx_timer,
			st->now + us(tern__rtt_backoff_us(base, sk->backoff, rto_max_us(st))));
}

/* ------------------------------------------------------------ giving up */

/* Linux's tcp_write_err: the connection dies with the soft error if one is
 * pending, else ETIMEDOUT; no RST is sent. */
static void write_err(struct tern_stack *st, struct tern_sock *sk)
{
	sk->err = sk->soft_err ? sk->soft_err : TERN_ETIMEDOUT;
	tern__count(st, TERN_CTR_TcpExtTCPAbortOnTimeout);
	tern__tcp_done(st, sk);
}

static bool budget_spent(struct tern_stack *st, const struct tern_sock *sk, unsigned boundary, uint32_t base_us)
{
	uint64_t budget;

	if (!sk->retransmits)
		return false;
	budget = sk->user_timeout_ms ? (uint64_t)sk->user_timeout_ms * 1000u
				     : tern__timeout_budget_us(boundary, base_us, rto_max_us(st));
	return st->now - sk->retrans_stamp >= us(budget);
}

/* tcp_orphan_retries: 0 means 8 while the RTO is still below its maximum. */
static unsigned orphan_retries(const struct tern_stack *st, bool alive)
{
	int r = (int)st->sys.tcp_orphan_retries;
	return r == 0 && alive ? 8 : (unsigned)r;
}

/* Linux's tcp_out_of_resources, on each RTO of an orphan (spec §6.4): with more
 * orphans than tcp_max_orphans (the count weighed up when the orphan has been
 * silent over 240 s, or is not due a reset, or has a soft error), the orphan is
 * killed, with a reset if it sent something in the last 60 s or the peer's window
 * is closed. True when it was killed. */
static bool out_of_resources(struct tern_stack *st, struct tern_sock *sk, bool do_reset)
{
	unsigned shift = 0;

	if (st->now - sk->lsndtime > 2 * (tern_time)rto_max_us(st) * TERN_NS_PER_US || !do_reset)
		shift++;
	if (sk->soft_err)
		shift++;
	if (((uint64_t)st->tcp->orphans << shift) <= (uint64_t)st->sys.tcp_max_orphans)
		return false;
	if (st->now - sk->lsndtime <= TERN_TCP_TIMEWAIT_NS || (!sk->snd_wnd && !sk->packets_out))
		do_reset = true;
	if (do_reset)
		tern__tcp_send_active_reset(st, sk);
	tern__count(st, TERN_CTR_TcpExtTCPAbortOnMemory);
	tern__tcp_done(st, sk);
	return true;
}

/* Linux's tcp_write_timeout. True when the connection was given up. */
static bool write_timeout(struct tern_stack *st, struct tern_sock *sk)
{
	bool expired;

	if (sk->state == TERN_TCP_SYN_SENT || sk->state == TERN_TCP_SYN_RECV) {
		unsigned retries = sk->syncnt ? (unsigned)sk->syncnt : (unsigned)st->sys.tcp_syn_retries;
		unsigned max = retries;
		if (sk->state == TERN_TCP_SYN_SENT)
			max += (unsigned)st->sys.tcp_syn_linear_timeouts;
		expired = sk->retransmits >= max || budget_spent(st, sk, retries, TERN_TCP_TIMEOUT_INIT_US);
	} else {
		unsigned retries = (unsigned)st->sys.tcp_retries2;
		if (sk->flags & SK_ORPHAN) {
			/* Linux's icsk_rto is the backed-off RTO. */
			bool alive = tern__tcp_backed_off_rto(st, sk) < (tern_time)rto_max_us(st) * TERN_NS_PER_US;
			retries = orphan_retries(st, alive);
			bool do_reset = alive || !budget_spent(st, sk, retries, rto_min_us(st));
			if (out_of_resources(st, sk, do_reset))
				return true;
		}
		expired = budget_spent(st, sk, retries, rto_min_us(st));
	}
	if (expired)
		write_err(st, sk);
	return expired;
}

/* ------------------------------------------------------------ retransmission */

static void retransmit_timeout(struct tern_stack *st, struct tern_sock *sk)
{
	if (!sk->packets_out)
		return;
	sk->tlp_high_seq = 0;
	if (write_timeout(st, sk))
		return;
	tern__count(st, TERN_CTR_TcpExtTCPTimeouts);

	if (sk->state == TERN_TCP_SYN_SENT || sk->state == TERN_TCP_SYN_RECV) {
		tern__tcp_send_syn(st, sk, true);   /* counts RetransSegs and TCPSynRetrans */
		sk->retransmits++;
		/* LINUX-COMPAT: net.ipv4.tcp_syn_linear_timeouts keeps the first RTOs of
		 * an active open at 1 s (spec §4.3). */
		if (sk->state != TERN_TCP_SYN_SENT || sk->retransmits > st->sys.tcp_syn_linear_timeouts)
			sk->backoff++;
	} else {
		tern__tcp_enter_loss(st, sk);
		tern__tcp_retransmit_head(st, sk);
		sk->retransmits++;
		sk->backoff++;
	}
	sk->rtx_kind = RTX_RETRANS;
	tern__timer_arm(&st->timers, &sk->rtx_timer, st->now + tern__tcp_backed_off_rto(st, sk));
}

/* Linux's tcp_probe_timer and tcp_send_probe0. */
static void probe_timeout(struct tern_stack *st, struct tern_sock *sk)
{
	unsigned max_probes = (unsigned)st->sys.tcp_retries2;

	if (sk->packets_out || tern__tcp_unsent(sk) == 0) {
		/* Data went out or nothing waits: the persist timer has no job. */
		sk->probes_out = 0;
		sk->rtx_kind = RTX_NONE;
		return;
	}
	if (sk->flags & SK_ORPHAN) {
		bool alive = tern__rtt_backoff_us(tern__rtt_rto_us(&sk->rtt), sk->backoff, rto_max_us(st)) <
			     rto_max_us(st);
		max_probes = orphan_retries(st, alive);
		if (!alive && sk->backoff >= max_probes) {
			write_err(st, sk);
			return;
		}
	}
	if (sk->probes_out >= max_probes) {
		write_err(st, sk);
		return;
	}
	if (tern__tcp_write_wakeup(st, sk)) {
		/* Data left: the retransmission timer guards it now. */
		sk->probes_out = 0;
		sk->backoff = 0;
		tern__tcp_rearm_rto(st, sk);
		return;
	}
	sk->probes_out++;
	if (sk->backoff < st->sys.tcp_retries2)
		sk->backoff++;
	sk->rtx_kind = RTX_NONE;
	tern__tcp_arm_persist(st, sk);
}

static void rtx_fire(void *ctx, struct tern_timer *t)
{
	struct tern_stack *st = ctx;
	struct tern_sock *sk = TERN_CONTAINER_OF(t, struct tern_sock, rtx_timer);
	uint8_t kind = sk->rtx_kind;

	sk->rtx_kind = RTX_NONE;
	if (kind == RTX_PERSIST)
		probe_timeout(st, sk);
	else if (kind == RTX_RETRANS)
		retransmit_timeout(st, sk);
	else if (kind == RTX_REO)
		tern__tcp_rack_reo_timeout(st, sk);
	else if (kind == RTX_PROBE)
		tern__tcp_send_loss_probe(st, sk);
}

/* ------------------------------------------------------------ delayed ACK */

/* Linux's tcp_delack_timer_handler: a timer that really fires means the ACK was
 * delayed for nothing, so the next delay grows (doubling, capped by the RTO), or,
 * in interactive mode, interactive mode ends. */
static void delack_fire(void *ctx, struct tern_timer *t)
{
	struct tern_stack *st = ctx;
	struct tern_sock *sk = TERN_CONTAINER_OF(t, struct tern_sock, delack_timer);
	tern_time rto = us(tern__rtt_rto_us(&sk->rtt));

	sk->ack_pending &= (uint8_t)~ACK_TIMER;
	if (!(sk->ack_pending & ACK_SCHED))
		return;
	if (sk->ack_pending & ACK_COMP) {
		/* Linux's tcp_compressed_ack_kick: the held duplicate ACKs leave as one;
		 * that one is sent, not compressed. */
		if (sk->compressed_ack)
			sk->compressed_ack--;
		tern__tcp_send_ack(st, sk);
		return;
	}
	if (!sk->pingpong) {
		sk->ato = TERN_MIN(sk->ato * 2, rto);
	} else {
		sk->pingpong = 0;
		sk->ato = TERN_TCP_ATO_MIN_NS;
	}
	tern__count(st, TERN_CTR_TcpExtDelayedACKs);
	tern__tcp_send_ack(st, sk);
}

void tern__tcp_arm_compressed_ack(struct tern_stack *st, struct tern_sock *sk)
{
	/* 5% of the RTT (the smaller of the receiver's estimate and SRTT), at most
	 * tcp_comp_sack_delay_ns. The 1 ms wheel rounds it up, within Linux's
	 * tcp_comp_sack_slack_ns of 100 us only when the delay is whole
	 * milliseconds; the wheel never fires early. */
	uint64_t rtt_x8 = sk->rcv_rtt_x8_us;
	if (sk->rtt.srtt_x8_us && sk->rtt.srtt_x8_us < rtt_x8)
		rtt_x8 = sk->rtt.srtt_x8_us;
	tern_time delay = (tern_time)(rtt_x8 * (TERN_NS_PER_US / 8) / 20);
	delay = TERN_MIN(delay, (tern_time)st->sys.tcp_comp_sack_delay_ns);
	tern__timer_arm(&st->timers, &sk->delack_timer, st->now + delay);
	sk->ack_pending |= ACK_SCHED | ACK_TIMER | ACK_COMP;
}

void tern__tcp_arm_delack(struct tern_stack *st, struct tern_sock *sk)
{
	if (sk->ack_pending & ACK_COMP)
		return;   /* the compressed ACK is due sooner */
	tern_time ato = sk->ato;
	tern_time when;

	if (ato > TERN_TCP_DELACK_MIN_NS) {
		/* Cap: 500 ms, or 200 ms when interactive or pushed, and never more than
		 * the smoothed RTT (at least 40 ms): spec §14.2. */
		tern_time max_ato = TERN_NS_PER_SEC / 2;
		if (sk->pingpong || (sk->ack_pending & ACK_PUSHED))
			max_ato = TERN_TCP_DELACK_MAX_NS;
		if (tern__rtt_has_sample(&sk->rtt)) {
			tern_time rtt = TERN_MAX(us(tern__rtt_srtt_us(&sk->rtt)), TERN_TCP_DELACK_MIN_NS);
			if (rtt < max_ato)
				max_ato = rtt;
		}
		ato = TERN_MIN(ato, max_ato);
	}
	when = st->now + ato;
	if (sk->ack_pending & ACK_TIMER) {
		tern_time armed = tern__timer_expiry(&sk->delack_timer);
		/* Nearly due anyway: send now rather than move it. */
		if (armed <= st->now + (ato >> 2)) {
			tern__tcp_send_ack(st, sk);
			return;
		}
		if (when > armed)
			when = armed;
	}
	sk->ack_pending |= ACK_SCHED | ACK_TIMER;
	tern__timer_arm(&st->timers, &sk->delack_timer, when);
}

/* ------------------------------------------------------------ keepalive, lifetimes */

static tern_time keepalive_time(const struct tern_stack *st, const struct tern_sock *sk)
{
	return (tern_time)(sk->keepidle_s ? sk->keepidle_s : st->sys.tcp_keepalive_time) * TERN_NS_PER_SEC;
}

static tern_time keepalive_intvl(const struct tern_stack *st, const struct tern_sock *sk)
{
	return (tern_time)(sk->keepintvl_s ? sk->keepintvl_s : st->sys.tcp_keepalive_intvl) * TERN_NS_PER_SEC;
}

void tern__tcp_arm_keepalive(struct tern_stack *st, struct tern_sock *sk)
{
	if (!(sk->flags & SK_KEEPALIVE) || sk->state == TERN_TCP_CLOSE || sk->state == TERN_TCP_LISTEN ||
	    sk->state == TERN_TCP_SYN_SENT || sk->state == TERN_TCP_TIME_WAIT) {
		if (sk->state != TERN_TCP_TIME_WAIT && !(sk->state == TERN_TCP_FIN_WAIT2 && (sk->flags & SK_ORPHAN)))
			tern__timer_cancel(&st->timers, &sk->ka_timer);
		return;
	}
	tern__timer_arm(&st->timers, &sk->ka_timer, st->now + keepalive_time(st, sk));
}

/* Linux's tcp_keepalive_timer for a live connection (spec §6.8). */
static void keepalive_fire(struct tern_stack *st, struct tern_sock *sk)
{
	tern_time idle = st->now - sk->rcv_tstamp;
	tern_time next;
	int probes = sk->keepcnt ? sk->keepcnt : (int)st->sys.tcp_keepalive_probes;

	if (!(sk->flags & SK_KEEPALIVE) || sk->state == TERN_TCP_CLOSE || sk->state == TERN_TCP_SYN_SENT)
		return;
	/* Data in flight or waiting: the retransmission logic watches the peer. */
	if (sk->packets_out || tern__tcp_unsent(sk) != 0) {
		next = keepalive_time(st, sk);
	} else if (idle >= keepalive_time(st, sk)) {
		bool user_out = sk->user_timeout_ms && idle >= (tern_time)sk->user_timeout_ms * TERN_NS_PER_MS &&
				sk->probes_out > 0;
		if (user_out || (!sk->user_timeout_ms && sk->probes_out >= probes)) {
			tern__tcp_send_active_reset(st, sk);
			write_err(st, sk);
			return;
		}
		tern__count(st, TERN_CTR_TcpExtTCPKeepAlive);
		tern__tcp_send_probe(st, sk);
		sk->probes_out++;
		next = keepalive_intvl(st, sk);
	} else {
		next = keepalive_time(st, sk) - idle;
	}
	tern__timer_arm(&st->timers, &sk->ka_timer, st->now + next);
}

static void ka_fire(void *ctx, struct tern_timer *t)
{
	struct tern_stack *st = ctx;
	struct tern_sock *sk = TERN_CONTAINER_OF(t, struct tern_sock, ka_timer);

	if (sk->state == TERN_TCP_FIN_WAIT2 && (sk->flags & SK_ORPHAN)) {
		/* Linux's tcp_keepalive_timer for an orphan in FIN_WAIT2 (spec §6.4). */
		tern_time rest = fin_time(st, sk) - TERN_TCP_TIMEWAIT_NS;
		if (sk->linger2_s >= 0 && rest > 0) {
			tern__tw_enter(st, sk, TERN_TCP_FIN_WAIT2, rest);
		} else {
			tern__tcp_send_active_reset(st, sk);
			tern__tcp_done(st, sk);
		}
		return;
	}
	keepalive_fire(st, sk);
}

/* An orphan in FIN_WAIT2 (spec §6.2 step 8, §6.3, §6.4): with TCP_LINGER2 < 0 it
 * is reset at once; otherwise it waits tcp_fin_time for the peer's FIN as a
 * time-wait entry in the FIN_WAIT2 sub-state. Linux keeps the full socket (on its
 * keepalive timer) when the segment that acked our FIN also carries the peer's
 * FIN, or when the wait is longer than 60 s: then tcp_fin_time - 60 s later it
 * becomes a time-wait entry for tcp_fin_time - 60 s more. */
void tern__tcp_orphan_fin_wait2(struct tern_stack *st, struct tern_sock *sk, bool keep_socket)
{
	tern_time tmo = fin_time(st, sk);

	if (sk->linger2_s < 0) {
		tern__count(st, TERN_CTR_TcpExtTCPAbortOnLinger);
		tern__tcp_send_active_reset(st, sk);
		tern__tcp_done(st, sk);
		return;
	}
	if (keep_socket || tmo > TERN_TCP_TIMEWAIT_NS) {
		tern__timer_arm(&st->timers, &sk->ka_timer,
				st->now + (tmo > TERN_TCP_TIMEWAIT_NS ? tmo - TERN_TCP_TIMEWAIT_NS : tmo));
		return;
	}
	tern__tw_enter(st, sk, TERN_TCP_FIN_WAIT2, tmo);
}

void tern__tcp_timers_init(struct tern_sock *sk)
{
	tern__timer_init(&sk->rtx_timer, rtx_fire);
	tern__timer_init(&sk->delack_timer, delack_fire);
	tern__timer_init(&sk->ka_timer, ka_fire);
}

void tern__tcp_clear_timers(struct tern_stack *st, struct tern_sock *sk)
{
	tern__timer_cancel(&st->timers, &sk->rtx_timer);
	tern__timer_cancel(&st->timers, &sk->delack_timer);
	tern__timer_cancel(&st->timers, &sk->ka_timer);
	sk->rtx_kind = RTX_NONE;
	sk->ack_pending = 0;
}
