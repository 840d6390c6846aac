/*
 * tcp/rtt.h: round-trip time estimation and the retransmission timeout, as Linux
 * computes them; a windowed minimum-RTT filter; and the time budget behind
 * tcp_retries2 / tcp_syn_retries / tcp_orphan_retries.
 *
 * Governing texts: RFC 6298 (§2 the estimator and RTO, §3 Karn's rule, §5 backoff
 * and the 3 s fallback), RFC 7323 §4 (RTT from timestamps), and Linux's
 * tcp_rtt_estimator / tcp_set_rto / tcp_bound_rto (tcp_input.c), win_minmax.c and
 * tcp_model_timeout (tcp_timer.c). Where the two disagree tern follows Linux; see
 * the LINUX-COMPAT notes.
 *
 * Pure state: no clock, no I/O, no allocation. The TCP engine calls in on each
 * valid RTT sample (from an ACK or a TSecr) and reads the RTO when it arms the
 * retransmission timer.
 *
 * Karn's rule is the caller's job (RFC 6298 §3, Linux tcp_ack_update_rtt): pass a
 * sample only when it is unambiguous: measured on a segment never retransmitted,
 * or from the echoed timestamp of an ACK that advanced SND.UNA. An ACK that covers
 * retransmitted data and carries no usable TSecr gives no sample, and the backed-off
 * RTO is kept (spec §14.16). After a valid sample the caller resets its backoff
 * count to 0, as Linux resets icsk_backoff.
 */
#ifndef TERN_TCP_RTT_H
#define TERN_TCP_RTT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"
#include "tern/types.h"

/* Linux include/net/tcp.h (spec §4.1). */
#define TERN_TCP_RTO_MIN_US          200000u    /* TCP_RTO_MIN, 200 ms */
#define TERN_TCP_RTO_MAX_US          120000000u /* TCP_RTO_MAX, 120 s */
#define TERN_TCP_TIMEOUT_INIT_US     1000000u   /* TCP_TIMEOUT_INIT, 1 s (RFC 6298 §2.1) */
#define TERN_TCP_TIMEOUT_FALLBACK_US 3000000u   /* TCP_TIMEOUT_FALLBACK, 3 s (RFC 6298 §5.7) */

/* net.ipv4.tcp_min_rtt_wlen default: the min-RTT filter's window is 300 s. */
#define TERN_TCP_MIN_RTT_WLEN_NS (300 * TERN_NS_PER_SEC)

/*
 * The estimator, with Linux's fixed-point scaling: srtt is kept times 8 and the
 * deviations times 4, all in microseconds, so RTO = srtt_x8/8 + rttvar_x4 is
 * SRTT + 4*RTTVAR of RFC 6298 §2.3, except that the variance term never drops
 * below rto_min (LINUX-COMPAT, spec §14.14).
 */
struct tern_rtt {
	uint32_t srtt_x8_us;   /* smoothed RTT << 3; 0 until the first sample */
	uint32_t mdev_x4_us;   /* mean deviation << 2 */
	uint32_t mdev_max_us;  /* largest mdev_x4_us seen in the current round trip */
	uint32_t rttvar_us;    /* the variance term of the RTO, >= rto_min */
	tern_seq rtt_seq;      /* SND.NXT when the current round trip began */
	uint32_t rto_us;       /* current RTO without backoff (Linux icsk_rto) */
};

/* A fresh connection: no sample, RTO = TCP_TIMEOUT_INIT (1 s), as tcp_init_sock. */
void tern__rtt_init(struct tern_rtt *rtt);

/*
 * Feeds one RTT measurement (microseconds, >= 0; Karn's rule already applied by the
 * caller) and recomputes the RTO, clamped to rto_max_us. snd_una and snd_nxt are
 * the values after this ACK was processed: the per-round-trip peak of the deviation
 * is folded into rttvar once SND.UNA passes the SND.NXT recorded at the start of the
 * round. rto_min_us is the socket's floor (TCP_RTO_MIN, or tcp_rto_min_us /
 * a route's rto_min). Returns the new RTO. Inline: about five samples per
 * connection's life, each a call with six arguments otherwise (the estimator
 * is described in rtt.c).
 */
/* tcp_set_rto + tcp_bound_rto: SRTT plus the variance term, capped at rto_max. */
static inline uint32_t tern__rtt_rto_from_estimate(const struct tern_rtt *rtt, uint32_t rto_max_us)
{
	uint64_t rto = (uint64_t)(rtt->srtt_x8_us >> 3) + rtt->rttvar_us;

	return rto > rto_max_us ? rto_max_us : (uint32_t)rto;
}

static inline uint32_t tern__rtt_sample(struct tern_rtt *rtt, int64_t rtt_us, tern_seq snd_una, tern_seq snd_nxt,
					 uint32_t rto_min_us, uint32_t rto_max_us)
{
	TERN_ASSERT(rtt_us >= 0);
	if (rtt_us < 0)
		return rtt->rto_us; /* no sample: Linux's "seq_rtt_us < 0" */
	/* The x8 scale keeps srtt in 32 bits up to about 536 s; no real RTT gets near. */
	if (rtt_us > (int64_t)(UINT32_MAX >> 3))
		rtt_us = (int64_t)(UINT32_MAX >> 3);

	if (rtt->srtt_x8_us == 0) {
		/* First measurement: SRTT = R, mdev = R/2 (scaled: 8R and 2R). 0
		 * means "no sample": a 0 us RTT must not leave that. */
		rtt->srtt_x8_us = (uint32_t)rtt_us << 3;
		if (rtt->srtt_x8_us == 0)
			rtt->srtt_x8_us = 1;
		rtt->mdev_x4_us = (uint32_t)rtt_us << 1;
		rtt->rttvar_us = TERN_MAX(rtt->mdev_x4_us, rto_min_us);
		rtt->mdev_max_us = rtt->rttvar_us;
		rtt->rtt_seq = snd_nxt;
	} else {
		/* err = R - SRTT; SRTT += err/8 (the x8 scale turns the /8 into a plain add). */
		int64_t err = rtt_us - (int64_t)(rtt->srtt_x8_us >> 3);
		int64_t dev;

		rtt->srtt_x8_us = (uint32_t)((int64_t)rtt->srtt_x8_us + err);

		/* mdev += (|err| - mdev)/4, in the x4 scale a plain add of |err| - mdev/4,
		 * except that when the RTT fell (err < 0) and |err| exceeds mdev, only an
		 * eighth of that rise is taken. */
		if (err < 0) {
			dev = -err - (int64_t)(rtt->mdev_x4_us >> 2);
			if (dev > 0)
				dev >>= 3;
		} else {
			dev = err - (int64_t)(rtt->mdev_x4_us >> 2);
		}
		rtt->mdev_x4_us = (uint32_t)((int64_t)rtt->mdev_x4_us + dev);

		/* Track this round trip's peak; it lifts rttvar at once. */
		if (rtt->mdev_x4_us > rtt->mdev_max_us) {
			rtt->mdev_max_us = rtt->mdev_x4_us;
			if (rtt->mdev_max_us > rtt->rttvar_us)
				rtt->rttvar_us = rtt->mdev_max_us;
		}
		/* A round trip is over once everything sent at its start is acknowledged:
		 * rttvar moves a quarter of the way down to the round's peak, and the next
		 * round's peak starts at the floor. */
		if ((int32_t)(snd_una - rtt->rtt_seq) > 0) { /* after, modulo 2^32 */
			if (rtt->mdev_max_us < rtt->rttvar_us)
				rtt->rttvar_us -= (rtt->rttvar_us - rtt->mdev_max_us) >> 2;
			rtt->rtt_seq = snd_nxt;
			rtt->mdev_max_us = rto_min_us;
		}
	}
	/* A later sample leaves srtt above zero: it keeps 7/8 of a value of at
	 * least 1 and adds R >= 0, and R < 2^29 keeps the sum below 2^32. */
	rtt->rto_us = tern__rtt_rto_from_estimate(rtt, rto_max_us);
	return rtt->rto_us;
}

/* The current RTO (no backoff applied). */
static inline uint32_t tern__rtt_rto_us(const struct tern_rtt *rtt) { return rtt->rto_us; }

/* True once a sample has been taken. */
static inline bool tern__rtt_has_sample(const struct tern_rtt *rtt) { return rtt->srtt_x8_us != 0; }

/* SRTT in microseconds (tcpi_rtt, ss "rtt:"); 0 before the first sample. */
static inline uint32_t tern__rtt_srtt_us(const struct tern_rtt *rtt) { return rtt->srtt_x8_us >> 3; }

/* Mean deviation in microseconds (tcpi_rttvar, the second half of ss "rtt:a/b"). */
static inline uint32_t tern__rtt_mdev_us(const struct tern_rtt *rtt) { return rtt->mdev_x4_us >> 2; }

/*
 * RFC 6298 §5.7 as tcp_init_metrics applies it: if the handshake ended without a
 * valid sample (the SYN or SYN-ACK was retransmitted), the RTO becomes
 * TCP_TIMEOUT_FALLBACK (3 s) and the deviations are seeded with 3 s. Does nothing
 * once a sample exists. Called by the engine when the connection is established.
 */
void tern__rtt_handshake_fallback(struct tern_rtt *rtt);

/* Replaces the RTO (the retransmission timer doubles it in place, Linux-style). */
static inline void tern__rtt_set_rto_us(struct tern_rtt *rtt, uint32_t rto_us) { rtt->rto_us = rto_us; }

/*
 * Exponential backoff (RFC 6298 §5.5; inet_csk_rto_backoff): rto << backoff, never
 * above rto_max_us. Any shift count is accepted; large ones saturate at the cap.
 */
uint32_t tern__rtt_backoff_us(uint32_t rto_us, unsigned int backoff, uint32_t rto_max_us);

/*
 * Windowed minimum (Kathleen Nichols' algorithm, Linux lib/win_minmax.c): the best,
 * second-best and third-best minima, with the invariant that each later choice was
 * measured no earlier than the one before. Constant space and time per sample, and
 * almost always the same answer as keeping every sample of the window. Linux uses it
 * for tcp_min_rtt (RACK, TLP; window net.ipv4.tcp_min_rtt_wlen = 300 s) and BBR
 * (10 s).
 *
 * Before calling, Linux's tcp_update_rtt_min turns a 0 us sample into one jiffy
 * (1000 us at HZ=1000) and skips samples from possibly delayed ACKs that are above
 * the current minimum; both are the caller's decisions.
 */
struct tern_minrtt_sample {
	uint32_t t;     /* when, in ms (Linux keeps tcp_jiffies32 at HZ=1000); wraps
			   after 49 days, and ages are taken modulo 2^32 */
	uint32_t v;
};

struct tern_minrtt {
	struct tern_minrtt_sample s[3];
};

/* Times are whole milliseconds, the stack's st->now_ms (so a socket's samples
 * need no division). */
/* Forgets everything: all three choices become (now_ms, v). Linux starts each
 * socket with v = UINT32_MAX ("no minimum yet"). Returns v. Inline: a steady
 * RTT makes every sample a new minimum, so this is the usual outcome. */
static inline uint32_t tern__minrtt_reset_ms(struct tern_minrtt *m, uint32_t now_ms, uint32_t v)
{
	struct tern_minrtt_sample s = { .t = now_ms, .v = v };

	m->s[0] = s;
	m->s[1] = s;
	m->s[2] = s;
	return v;
}
/* Adds a sample taken at `now_ms` (non-decreasing) to a filter of window `win_ms`;
 * returns the minimum over the window. */
uint32_t tern__minrtt_update_ms(struct tern_minrtt *m, uint32_t now_ms, uint32_t win_ms, uint32_t rtt_us);

/* The current minimum (UINT32_MAX if no sample since a reset to that value). */
static inline uint32_t tern__minrtt_get(const struct tern_minrtt *m) { return m->s[0].v; }

/*
 * The time budget of Linux's retransmits_timed_out (tcp_model_timeout; spec §4.3,
 * §6.4, §14.17): how long `boundary` retransmissions would take if the first RTO were
 * rto_base_us and each one doubled it, up to rto_max_us. With
 * k = floor(log2(rto_max_us / rto_base_us)) (the last doubling still under the cap):
 *   boundary <= k:  (2^(boundary+1) - 1) * rto_base_us
 *   boundary >  k:  (2^(k+1) - 1) * rto_base_us + (boundary - k) * rto_max_us
 * The engine gives up once now - (time of the first retransmission) >= the budget.
 * Examples: tcp_retries2 = 15, base 200 ms: 924.6 s; SYN, 6 retries, base 1 s: 127 s;
 * orphan, 8 retries, base 200 ms: 102.2 s. Linux works in jiffies; at HZ=1000 the
 * result is the same to the millisecond.
 */
uint64_t tern__timeout_budget_us(unsigned int boundary, uint32_t rto_base_us, uint32_t rto_max_us);

#endif
