/*
 * tcp/tcp.h: what the IP layer sees of TCP: segment input, and the reset for a
 * segment no socket takes (spec §7.1). The engine itself is declared in
 * tcp/sock.h; this header adds the hot paths the engine's own files take
 * inline (the common case here, the rest out of line), as Linux's
 * include/net/tcp.h does.
 */
#ifndef TERN_TCP_TCP_H
#define TERN_TCP_TCP_H

#include "core/stack.h"
#include "tcp/sock.h"
#include "tern/wire.h"

struct tern_ipv4;

/* Answers `seg` (which arrived in `ip`) with a reset built from the segment alone,
 * as Linux's tcp_v4_send_reset does; never answers a reset. */
void tern__tcp_send_reset(struct tern_stack *st, const struct tern_ipv4 *ip, const struct tern_tcp *seg);

/* ------------------------------------------------------------ push */

/* The states in which push may send (data, or the FIN). */
static inline bool tern__tcp_sending_state(const struct tern_sock *sk)
{
	const unsigned sending = 1u << TERN_TCP_ESTABLISHED | 1u << TERN_TCP_CLOSE_WAIT | 1u << TERN_TCP_FIN_WAIT1 |
				 1u << TERN_TCP_CLOSING | 1u << TERN_TCP_LAST_ACK;
	return sk->state < 32 && (sending >> sk->state & 1);
}

/* Nothing for push to send: no loss to repair, no data unsent, no FIN due. */
static inline bool tern__tcp_push_idle(const struct tern_sock *sk)
{
	return sk->cc.ca_state < TERN_CA_RECOVERY && !tern__tcp_unsent(sk) &&
	       (sk->flags & (SK_FIN_QUEUED | SK_FIN_SENT)) != SK_FIN_QUEUED;
}

/* Whether the next segment may carry SACK blocks: seldom, so the callers test
 * this before gathering any (every segment and every push asks). */
static inline bool tern__tcp_sack_due(const struct tern_sock *sk)
{
	return sk->neg.sack_ok && (sk->xfer->dsack || sk->xfer->ooo);
}

/* mss_cache holds what push's MSS computation would give (output.c's
 * tern__tcp_push_mss_refresh says when SK_MSS_CURRENT may stand). */
static inline bool tern__tcp_mss_current(const struct tern_stack *st, const struct tern_sock *sk)
{
	return (sk->flags & SK_MSS_CURRENT) && !sk->opts->user_mss &&
	       (uint32_t)st->sys.tcp_min_snd_mss <= sk->mss_cache &&
	       !tern__tcp_sack_due(sk);
}

/* Sends what the windows and Nagle allow (output.c). */
void tern__tcp_push_send(struct tern_stack *st, struct tern_sock *sk);
/* Recomputes mss_cache and whether it may stand (output.c); returns it. */
uint32_t tern__tcp_push_mss_refresh(struct tern_stack *st, struct tern_sock *sk);

/* Push (tern__tcp_push is the same out of line), written here for the segment
 * path, close and send. Most calls (after every segment in, five of eight in a
 * connection's life) find nothing to send and mss_cache current: those cost a
 * few tests here, without a call. */
static inline void tern__tcp_push_inline(struct tern_stack *st, struct tern_sock *sk)
{
	if (!tern__tcp_sending_state(sk))
		return;
	if (!tern__tcp_push_idle(sk)) {
		tern__tcp_push_send(st, sk);
		return;
	}
	if (!tern__tcp_mss_current(st, sk))
		(void)tern__tcp_push_mss_refresh(st, sk);
}

/* ------------------------------------------------------------ timers */

/* Points the wheel timer at the earliest armed deadline, or cancels it (timers.c). */
void tern__sk_timer_sync(struct tern_stack *st, struct tern_sock *sk);

/* Disarms deadline `kind` (tern__sk_timer_cancel is this, out of line). Inline
 * for the ACK's plain path, which cancels the retransmission deadline four times
 * in a lifecycle, each time its last: the wheel timer is then pending (it stands
 * exactly while some deadline is armed, asserted here) and goes, with no call.
 * With another deadline still armed it is moved out of line. */
static inline void tern__sk_timer_cancel_inline(struct tern_stack *st, struct tern_sock *sk, enum tern_skt_kind kind)
{
	if (!(sk->timer_armed >> kind & 1))
		return;
	sk->timer_armed &= (uint8_t)~(1u << kind);
	if (sk->timer_armed) {
		tern__sk_timer_sync(st, sk);
		return;
	}
	TERN_ASSERT(tern__timer_pending(&sk->timer));
	tern__timer_del(&st->timers, &sk->timer);
}

/* ------------------------------------------------------------ keepalive */

/* tern__tcp_arm_keepalive for a connection being established: without
 * SO_KEEPALIVE (the usual case) and no keepalive deadline armed, it would do
 * nothing, whatever the state. */
static inline void tern__tcp_arm_keepalive_inline(struct tern_stack *st, struct tern_sock *sk)
{
	if (!(sk->flags & SK_KEEPALIVE) && !(sk->timer_armed >> TERN_SKT_KA & 1))
		return;
	tern__tcp_arm_keepalive(st, sk);
}

#endif
