/*
 * tcp/timers.c: a connection's three timers, as Linux's tcp_timer.c runs them.
 *
 *   TERN_SKT_RTX     retransmission (RFC 6298 with Linux's constants: spec §4.1,
 *                 §14.14-17), the SYN schedule with tcp_syn_linear_timeouts (§4.3),
 *                 the persist timer's zero-window probes (RFC 9293 §3.8.6.1,
 *                 spec §14.10), RACK's reordering timer or the tail loss probe
 *                 (recovery.c, §14.15, §14.18): one at a time (rtx_kind), as
 *                 Linux's icsk_retransmit_timer.
 *   TERN_SKT_DELACK  the delayed ACK (RFC 9293 §3.8.6.3; Linux's adaptive ATO,
 *                 §14.2), or the compressed-SACK timer (ACK_COMP, §14.5)
 *   TERN_SKT_KA      keepalive (RFC 9293 §3.8.4, spec §6.8), and the lifetime of
 *                 an orphan in FIN_WAIT2 (§6.4); TIME-WAIT entries are tw.c's
 *
 * The three are deadlines, not wheel timers: the socket keeps each one's tick
 * (32 bits, compared modulo 2^32 against the wheel's tick, which is exact while a
 * deadline is under 2^31 ticks, 24 days, ahead; the longest TCP arms is a
 * sysctl's 2^31 - 1 ms) and one wheel timer waits for the earliest. Arming,
 * moving or cancelling a deadline re-arms the wheel timer only when the earliest
 * changes. When it fires, the first due deadline in arming order runs (as three
 * wheel timers due on one tick would), after the wheel timer has been set for the
 * next one, which may be due on the same tick and then fires in the same run. One
 * timer instead of three saves 64 bytes in every socket.
 *
 * Give-up decisions count time, not only retransmissions: Linux's
 * retransmits_timed_out budget runs from the first transmission of the oldest
 * unacknowledged segment (spec §14.17).
 */
#include "tcp/sock.h"
#include "tcp/tcp.h"
#include "tcp/tw.h"
#include "tern/errors.h"

static tern_time us(uint64_t v) { return (tern_time)v * TERN_NS_PER_US; }

static inline void sk_timer_arm(struct tern_stack *st, struct tern_sock *sk, enum tern_skt_kind kind, tern_time when);

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
	tern_time tmo = (tern_time)(sk->opts->linger2_s ? sk->opts->linger2_s : st->sys.tcp_fin_timeout) *
			TERN_NS_PER_SEC;
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
	if (!sk->xfer->packets_out) {
		if (sk->rtx_kind == RTX_RETRANS) {
			tern__sk_timer_cancel(st, sk, TERN_SKT_RTX);
			sk->rtx_kind = RTX_NONE;
		}
		return;
	}
	sk->rtx_kind = RTX_RETRANS;
	sk_timer_arm(st, sk, TERN_SKT_RTX, st->now + tern__tcp_backed_off_rto(st, sk));
}

/* Persist: probe0's interval is max(RTO, 200 ms) << backoff, capped (Linux's
 * tcp_probe0_when). */
void tern__tcp_arm_persist(struct tern_stack *st, struct tern_sock *sk)
{
	if (sk->rtx_kind == RTX_PERSIST && tern__sk_timer_pending(sk, TERN_SKT_RTX))
		return;
	uint32_t base = TERN_MAX(tern__rtt_rto_us(&sk->rtt), TERN_TCP_RTO_MIN_US);
	sk->rtx_kind = RTX_PERSIST;
	tern__sk_timer_arm(st, sk, TERN_SKT_RTX,
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
	budget = sk->opts->user_timeout_ms ? (uint64_t)sk->opts->user_timeout_ms * 1000u
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

	if (tern__sk_ms_age(st, sk->lsndtime) > 2 * (tern_time)rto_max_us(st) * TERN_NS_PER_US || !do_reset)
		shift++;
	if (sk->soft_err)
		shift++;
	if (((uint64_t)st->tcp->orphans << shift) <= (uint64_t)st->sys.tcp_max_orphans)
		return false;
	if (tern__sk_ms_age(st, sk->lsndtime) <= TERN_TCP_TIMEWAIT_NS || (!sk->snd_wnd && !sk->xfer->packets_out))
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
		unsigned retries = sk->opts->syncnt ? (unsigned)sk->opts->syncnt : (unsigned)st->sys.tcp_syn_retries;
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
	if (!sk->xfer->packets_out)
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
	tern__sk_timer_arm(st, sk, TERN_SKT_RTX, st->now + tern__tcp_backed_off_rto(st, sk));
}

/* Linux's tcp_probe_timer and tcp_send_probe0. */
static void probe_timeout(struct tern_stack *st, struct tern_sock *sk)
{
	unsigned max_probes = (unsigned)st->sys.tcp_retries2;

	if (sk->xfer->packets_out || tern__tcp_unsent(sk) == 0) {
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

static void rtx_fire(struct tern_stack *st, struct tern_sock *sk)
{
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
static void delack_fire(struct tern_stack *st, struct tern_sock *sk)
{
	tern_time rto = us(tern__rtt_rto_us(&sk->rtt));

	sk->ack_pending &= (uint8_t)~ACK_TIMER;
	if (!(sk->ack_pending & ACK_SCHED))
		return;
	if (sk->ack_pending & ACK_COMP) {
		/* Linux's tcp_compressed_ack_kick: the held duplicate ACKs leave as one;
		 * that one is sent, not compressed. */
		if (sk->compressed_ack)
			sk->compressed_ack--;
	} else {
		if (!sk->pingpong) {
			sk->ato = TERN_MIN(sk->ato * 2, rto);
		} else {
			sk->pingpong = 0;
			sk->ato = TERN_TCP_ATO_MIN_NS;
		}
		tern__count(st, TERN_CTR_TcpExtDelayedACKs);
	}
	tern__tcp_send_ack(st, sk);
	/* A D-SACK that waited for this ACK may have been all the transfer block
	 * still held. */
	tern__sk_xfer_trim(st, sk);
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
	tern__sk_timer_arm(st, sk, TERN_SKT_DELACK, st->now + delay);
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
		tern_time armed = tern__sk_timer_expiry(st, sk, TERN_SKT_DELACK);
		/* Nearly due anyway: send now rather than move it. */
		if (armed <= st->now + (ato >> 2)) {
			tern__tcp_send_ack(st, sk);
			return;
		}
		if (when > armed)
			when = armed;
	}
	sk->ack_pending |= ACK_SCHED | ACK_TIMER;
	tern__sk_timer_arm(st, sk, TERN_SKT_DELACK, when);
}

/* ------------------------------------------------------------ keepalive, lifetimes */

static tern_time keepalive_time(const struct tern_stack *st, const struct tern_sock *sk)
{
	return (tern_time)(sk->opts->keepidle_s ? sk->opts->keepidle_s : st->sys.tcp_keepalive_time) * TERN_NS_PER_SEC;
}

static tern_time keepalive_intvl(const struct tern_stack *st, const struct tern_sock *sk)
{
	return (tern_time)(sk->opts->keepintvl_s ? sk->opts->keepintvl_s : st->sys.tcp_keepalive_intvl) *
	       TERN_NS_PER_SEC;
}

void tern__tcp_arm_keepalive(struct tern_stack *st, struct tern_sock *sk)
{
	if (!(sk->flags & SK_KEEPALIVE) || sk->state == TERN_TCP_CLOSE || sk->state == TERN_TCP_LISTEN ||
	    sk->state == TERN_TCP_SYN_SENT || sk->state == TERN_TCP_TIME_WAIT) {
		if (sk->state != TERN_TCP_TIME_WAIT && !(sk->state == TERN_TCP_FIN_WAIT2 && (sk->flags & SK_ORPHAN)))
			tern__sk_timer_cancel(st, sk, TERN_SKT_KA);
		return;
	}
	tern__sk_timer_arm(st, sk, TERN_SKT_KA, st->now + keepalive_time(st, sk));
}

/* Linux's tcp_keepalive_timer for a live connection (spec §6.8). */
static void keepalive_fire(struct tern_stack *st, struct tern_sock *sk)
{
	tern_time idle = tern__sk_ms_age(st, sk->rcv_tstamp);
	tern_time next;
	int probes = sk->opts->keepcnt ? sk->opts->keepcnt : (int)st->sys.tcp_keepalive_probes;

	if (!(sk->flags & SK_KEEPALIVE) || sk->state == TERN_TCP_CLOSE || sk->state == TERN_TCP_SYN_SENT)
		return;
	/* Data in flight or waiting: the retransmission logic watches the peer. */
	if (sk->xfer->packets_out || tern__tcp_unsent(sk) != 0) {
		next = keepalive_time(st, sk);
	} else if (idle >= keepalive_time(st, sk)) {
		bool user_out = sk->opts->user_timeout_ms &&
				idle >= (tern_time)sk->opts->user_timeout_ms * TERN_NS_PER_MS &&
				sk->probes_out > 0;
		if (user_out || (!sk->opts->user_timeout_ms && sk->probes_out >= probes)) {
			tern__tcp_send_active_reset(st, sk);
			write_err(st, sk);
			return;
		}
		tern__count(st, TERN_CTR_TcpExtTCPKeepAlive);
		tern__tcp_send_probe(st, sk);
		tern__sk_xfer_trim(st, sk);   /* a pending D-SACK went with the probe */
		sk->probes_out++;
		next = keepalive_intvl(st, sk);
	} else {
		next = keepalive_time(st, sk) - idle;
	}
	tern__sk_timer_arm(st, sk, TERN_SKT_KA, st->now + next);
}

static void ka_fire(struct tern_stack *st, struct tern_sock *sk)
{
	if (sk->state == TERN_TCP_FIN_WAIT2 && (sk->flags & SK_ORPHAN)) {
		/* Linux's tcp_keepalive_timer for an orphan in FIN_WAIT2 (spec §6.4). */
		tern_time rest = fin_time(st, sk) - TERN_TCP_TIMEWAIT_NS;
		if (sk->opts->linger2_s >= 0 && rest > 0) {
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

	if (sk->opts->linger2_s < 0) {
		tern__count(st, TERN_CTR_TcpExtTCPAbortOnLinger);
		tern__tcp_send_active_reset(st, sk);
		tern__tcp_done(st, sk);
		return;
	}
	if (keep_socket || tmo > TERN_TCP_TIMEWAIT_NS) {
		tern__sk_timer_arm(st, sk, TERN_SKT_KA,
				st->now + (tmo > TERN_TCP_TIMEWAIT_NS ? tmo - TERN_TCP_TIMEWAIT_NS : tmo));
		return;
	}
	tern__tw_enter(st, sk, TERN_TCP_FIN_WAIT2, tmo);
}

/* ------------------------------------------------------------ the socket's timer */

/* timer_order lists the kinds oldest-armed first, two bits each. */
#define ORDER_BITS 2
#define ORDER_INITIAL (TERN_SKT_RTX | TERN_SKT_DELACK << ORDER_BITS | TERN_SKT_KA << (2 * ORDER_BITS))

static unsigned order_at(uint8_t order, unsigned i)
{
	return order >> (ORDER_BITS * i) & ((1u << ORDER_BITS) - 1);
}

/* The order with `kind` moved to the end (armed last): the entries above it
 * move down one place. Three kinds, so it is first or second when not last. */
static uint8_t order_move_last(uint8_t order, unsigned kind)
{
	_Static_assert(TERN_SKT_KINDS == 3, "the order holds three kinds");
	if (order_at(order, TERN_SKT_KINDS - 1) == kind)
		return order;   /* re-armed: already last */
	unsigned low = order_at(order, 0) == kind ? 0 : ORDER_BITS;
	unsigned below = order & ((1u << low) - 1);
	unsigned above = order >> (low + ORDER_BITS);
	return (uint8_t)(below | above << low | kind << (ORDER_BITS * (TERN_SKT_KINDS - 1)));
}

/* Ticks from the wheel's current tick to a deadline; a deadline already reached
 * is 0 (none can be further behind: the wheel fires each one as it reaches it). */
static uint32_t ticks_left(const struct tern_stack *st, uint32_t due)
{
	int32_t d = (int32_t)(due - (uint32_t)st->timers.now);
	return d < 0 ? 0 : (uint32_t)d;
}

/* Ticks from the wheel's tick to the earliest armed deadline (some must be). */
static uint32_t earliest_left(const struct tern_stack *st, const struct tern_sock *sk)
{
	unsigned armed = sk->timer_armed;
	uint32_t first = UINT32_MAX;

	for (unsigned k = 0; k < TERN_SKT_KINDS; k++)
		if (armed >> k & 1)
			first = TERN_MIN(first, ticks_left(st, sk->timer_due[k]));
	return first;
}

/* True when the wheel timer is pending at `tick`. */
static bool wheel_at(const struct tern_sock *sk, uint64_t tick)
{
	return tern__timer_pending(&sk->timer) && tern__timer_expiry_tick(&sk->timer) == tick;
}

/* Points the wheel timer at the earliest armed deadline, or cancels it. A timer
 * already there stays where it is in its slot (re-arming it would put it behind
 * timers armed since for the same tick). */
static void timer_sync(struct tern_stack *st, struct tern_sock *sk)
{
	if (!sk->timer_armed) {
		tern__timer_cancel(&st->timers, &sk->timer);
		return;
	}
	uint64_t tick = st->timers.now + earliest_left(st, sk);
	if (!wheel_at(sk, tick))
		tern__timer_arm_tick(&st->timers, &sk->timer, tick);
}

void tern__sk_timer_sync(struct tern_stack *st, struct tern_sock *sk)
{
	timer_sync(st, sk);
}

/* tern__sk_timer_arm, inline for the hot armings in this file (the
 * retransmission timer's); the rest call it out of line, so that its wheel
 * filing is not copied into every cold caller. */
static inline void sk_timer_arm(struct tern_stack *st, struct tern_sock *sk, enum tern_skt_kind kind, tern_time when)
{
	uint64_t tick = tern__timer_tick_ceil(when);

	TERN_ASSERT(tick < st->timers.now + (1ull << 31));
	sk->timer_due[kind] = (uint32_t)tick;
	if (!sk->timer_armed) {
		/* Nothing armed (a new connection's SYN, an idle socket's delayed
		 * ACK): the wheel timer is idle, since whatever disarms the last
		 * deadline cancels it, and the order is left as it is. It matters
		 * only among armed kinds, and every later arming moves its kind
		 * last, behind this one, as it would have if this one had been moved
		 * last now. */
		TERN_ASSERT(!tern__timer_pending(&sk->timer));
		sk->timer_armed = (uint8_t)(1u << kind);
		tern__timer_add_tick(&st->timers, &sk->timer, st->timers.now + ticks_left(st, (uint32_t)tick));
		return;
	}
	sk->timer_armed |= (uint8_t)(1u << kind);
	sk->timer_order = order_move_last(sk->timer_order, kind);
	/* timer_sync, with the earliest deadline known when this is the only one
	 * armed (the usual case): no pass over the other kinds. */
	uint64_t at = st->timers.now + (sk->timer_armed == 1u << kind ? ticks_left(st, (uint32_t)tick)
								  : earliest_left(st, sk));
	if (!wheel_at(sk, at))
		tern__timer_arm_tick(&st->timers, &sk->timer, at);
}

void __attribute__((noinline)) tern__sk_timer_arm(struct tern_stack *st, struct tern_sock *sk, enum tern_skt_kind kind,
						 tern_time when)
{
	sk_timer_arm(st, sk, kind, when);
}

/* The two armings' socket state is the second's. The wheel timer: the first
 * would re-arm it unless it already stood at the first's earliest; the second
 * would re-arm it unless it stood at the second's. Either way, when one of them
 * would re-arm it, it ends re-armed at the second's earliest, behind every timer
 * armed before for that tick; when neither would, it stays put. */
void tern__sk_timer_arm_moved(struct tern_stack *st, struct tern_sock *sk, enum tern_skt_kind kind, tern_time first,
			      tern_time when)
{
	uint64_t tick2 = tern__timer_tick_ceil(when);

	TERN_ASSERT(tern__timer_tick_ceil(first) < st->timers.now + (1ull << 31) &&
		    tick2 < st->timers.now + (1ull << 31));
	if (!sk->timer_armed) {
		/* Nothing armed (an ACK that emptied the flight, then new data): the
		 * wheel timer is idle, so both armings would arm it, the second last,
		 * and the order stays as it is (tern__sk_timer_arm says why). Only
		 * the second arming's tick matters here; the first's is worked out
		 * below, where another deadline is armed. */
		TERN_ASSERT(!tern__timer_pending(&sk->timer));
		sk->timer_due[kind] = (uint32_t)tick2;
		sk->timer_armed = (uint8_t)(1u << kind);
		tern__timer_add_tick(&st->timers, &sk->timer, st->timers.now + ticks_left(st, (uint32_t)tick2));
		return;
	}
	uint64_t tick1 = tern__timer_tick_ceil(first);
	sk->timer_armed |= (uint8_t)(1u << kind);
	sk->timer_order = order_move_last(sk->timer_order, kind);
	uint64_t earliest1, earliest2;
	if (sk->timer_armed == 1u << kind) {
		/* The only deadline armed: each arming's earliest is its own tick. */
		sk->timer_due[kind] = (uint32_t)tick2;
		earliest1 = st->timers.now + ticks_left(st, (uint32_t)tick1);
		earliest2 = st->timers.now + ticks_left(st, (uint32_t)tick2);
	} else {
		sk->timer_due[kind] = (uint32_t)tick1;
		earliest1 = earliest2 = st->timers.now + earliest_left(st, sk);
		if (tick2 != tick1) {
			sk->timer_due[kind] = (uint32_t)tick2;
			earliest2 = st->timers.now + earliest_left(st, sk);
		}
	}
	if (earliest1 != earliest2 || !wheel_at(sk, earliest1))
		tern__timer_arm_tick(&st->timers, &sk->timer, earliest2);
}

/* The same logic as the ACK's inline cancel (tcp.h), out of line for the cold
 * callers. */
void tern__sk_timer_cancel(struct tern_stack *st, struct tern_sock *sk, enum tern_skt_kind kind)
{
	tern__sk_timer_cancel_inline(st, sk, kind);
}

tern_time tern__sk_timer_expiry(const struct tern_stack *st, const struct tern_sock *sk, enum tern_skt_kind kind)
{
	return tern__timer_tick_ns(st->timers.now + ticks_left(st, sk->timer_due[kind]));
}

/* The wheel timer fired: the first deadline due now, in arming order, runs. The
 * wheel timer is set for the next deadline before the handler runs, since the
 * handler may free the socket. */
static void sk_timer_fire(void *ctx, struct tern_timer *t)
{
	static void (*const handlers[TERN_SKT_KINDS])(struct tern_stack *, struct tern_sock *) = {
		[TERN_SKT_RTX] = rtx_fire,
		[TERN_SKT_DELACK] = delack_fire,
		[TERN_SKT_KA] = ka_fire,
	};
	struct tern_stack *st = ctx;
	struct tern_sock *sk = TERN_CONTAINER_OF(t, struct tern_sock, timer);

	for (unsigned i = 0; i < TERN_SKT_KINDS; i++) {
		unsigned k = order_at(sk->timer_order, i);
		if ((sk->timer_armed >> k & 1) && ticks_left(st, sk->timer_due[k]) == 0) {
			sk->timer_armed &= (uint8_t)~(1u << k);
			timer_sync(st, sk);
			handlers[k](st, sk);
			return;
		}
	}
	TERN_ASSERT(!"socket timer fired with no deadline due");
	timer_sync(st, sk);
}

void tern__tcp_timers_init(struct tern_sock *sk)
{
	tern__timer_init(&sk->timer, sk_timer_fire);
	sk->timer_armed = 0;
	sk->timer_order = ORDER_INITIAL;
}

void tern__tcp_clear_timers(struct tern_stack *st, struct tern_sock *sk)
{
	sk->timer_armed = 0;
	tern__timer_cancel(&st->timers, &sk->timer);
	sk->rtx_kind = RTX_NONE;
	sk->ack_pending = 0;
}
