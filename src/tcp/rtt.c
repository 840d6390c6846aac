/*
 * tcp/rtt.c: the RTT estimator, RTO, min-RTT filter and retransmission time budget
 * declared in tcp/rtt.h.
 *
 * The estimator is Jacobson's (RFC 6298 §2) in the fixed-point form Linux uses
 * (tcp_rtt_estimator), with two Linux refinements that make its RTO differ from the
 * RFC's:
 *
 *  - A falling RTT barely raises the deviation. When a sample is below SRTT by more
 *    than the current deviation, only 1/8 of the excess (instead of 1/4) enters
 *    mdev, so a sudden drop in RTT does not inflate the RTO.
 *  - The RTO's variance term is not mdev itself but rttvar, which follows the
 *    largest mdev seen during the current round trip (mdev_max) and, once per round
 *    trip (when SND.UNA passes the SND.NXT recorded at the start of the round),
 *    decays a quarter of the way towards it. mdev_max starts each round at rto_min,
 *    so rttvar never falls below rto_min: RTO = SRTT + max(rttvar, rto_min), whose
 *    practical minimum is SRTT + 200 ms (LINUX-COMPAT, spec §14.14; RFC 6298 §2.4
 *    would floor the whole RTO at 1 s instead).
 *
 * The first sample sets SRTT = R and the deviation to R/2 (held as 2R at scale 4),
 * so the first RTO is R + max(2R, rto_min), i.e. 3R for R >= rto_min / 2 (RFC 6298
 * §2.2 with Linux's floor).
 *
 * LINUX-COMPAT: Linux converts the RTO to jiffies rounding up; tern keeps
 * microseconds and its timer wheel rounds deadlines up to 1 ms, which matches an
 * HZ=1000 kernel (an HZ=250 kernel's RTO lands on the next 4 ms step).
 */
#include "tcp/rtt.h"

#include "core/util.h"

void tern__rtt_init(struct tern_rtt *rtt)
{
	rtt->srtt_x8_us = 0;
	/* tcp_init_sock seeds the deviation with the initial timeout; it only matters
	 * if something reads it before the first sample replaces it. */
	rtt->mdev_x4_us = TERN_TCP_TIMEOUT_INIT_US;
	rtt->mdev_max_us = 0;
	rtt->rttvar_us = 0;
	rtt->rtt_seq = 0;
	rtt->rto_us = TERN_TCP_TIMEOUT_INIT_US;
}

void tern__rtt_handshake_fallback(struct tern_rtt *rtt)
{
	if (rtt->srtt_x8_us != 0)
		return;
	rtt->rttvar_us = TERN_TCP_TIMEOUT_FALLBACK_US;
	rtt->mdev_x4_us = TERN_TCP_TIMEOUT_FALLBACK_US;
	rtt->mdev_max_us = TERN_TCP_TIMEOUT_FALLBACK_US;
	rtt->rto_us = TERN_TCP_TIMEOUT_FALLBACK_US;
}

uint32_t tern__rtt_backoff_us(uint32_t rto_us, unsigned int backoff, uint32_t rto_max_us)
{
	uint64_t when;

	if (rto_us == 0)
		return 0;
	if (backoff >= 32) /* 2^32 times any non-zero RTO is far past any cap */
		return rto_max_us;
	when = (uint64_t)rto_us << backoff;
	return when > rto_max_us ? rto_max_us : (uint32_t)when;
}

/* ------------------------------------------------------------ min-RTT filter */

/*
 * Ages the three choices against the window once a sample has been placed. If the
 * best choice is older than the window, the second and third move up and the new
 * sample becomes the third (twice, if the promoted one is stale too: the third was
 * checked to be in the window by the caller). Otherwise, to keep the choices spread
 * over the window, a second choice is taken from the second quarter of the window
 * and a third from its second half if they still coincide with the one before.
 */
static uint32_t minrtt_age(struct tern_minrtt *m, uint32_t win_ms, struct tern_minrtt_sample cur)
{
	uint32_t age = cur.t - m->s[0].t;

	if (age > win_ms) {
		m->s[0] = m->s[1];
		m->s[1] = m->s[2];
		m->s[2] = cur;
		if (cur.t - m->s[0].t > win_ms) {
			m->s[0] = m->s[1];
			m->s[1] = m->s[2];
			m->s[2] = cur;
		}
	} else if (m->s[1].t == m->s[0].t && age > win_ms / 4) {
		m->s[1] = cur;
		m->s[2] = cur;
	} else if (m->s[2].t == m->s[1].t && age > win_ms / 2) {
		m->s[2] = cur;
	}
	return m->s[0].v;
}

uint32_t tern__minrtt_update_ms(struct tern_minrtt *m, uint32_t now_ms, uint32_t win_ms, uint32_t rtt_us)
{
	struct tern_minrtt_sample cur = { .t = now_ms, .v = rtt_us };

	TERN_ASSERT((int32_t)(cur.t - m->s[2].t) >= 0);
	/* A new overall minimum, or nothing left inside the window: start over. */
	if (rtt_us <= m->s[0].v || cur.t - m->s[2].t > win_ms)
		return tern__minrtt_reset_ms(m, now_ms, rtt_us);

	if (rtt_us <= m->s[1].v) {
		m->s[1] = cur;
		m->s[2] = cur;
	} else if (rtt_us <= m->s[2].v) {
		m->s[2] = cur;
	}
	return minrtt_age(m, win_ms, cur);
}

/* ------------------------------------------------------------ time budget */

/* floor(log2(x)) for x >= 1. */
static unsigned int log2_floor(uint32_t x)
{
	unsigned int n = 0;

	while (x >>= 1)
		n++;
	return n;
}

uint64_t tern__timeout_budget_us(unsigned int boundary, uint32_t rto_base_us, uint32_t rto_max_us)
{
	uint32_t ratio;
	unsigned int k;

	TERN_ASSERT(rto_base_us > 0 && rto_max_us > 0);
	if (rto_base_us == 0 || rto_max_us == 0)
		return 0;
	/* A base above the cap cannot occur with Linux's bounds (there ilog2(0) would
	 * be taken); every modelled RTO is then the cap itself. */
	if (rto_base_us > rto_max_us)
		rto_base_us = rto_max_us;
	/* k: the number of doublings after which the modelled RTO is still not above
	 * the cap. */
	ratio = rto_max_us / rto_base_us;
	k = log2_floor(ratio);

	if (boundary <= k)
		return ((UINT64_C(2) << boundary) - 1) * rto_base_us;
	/* Geometric sum up to the cap, then one rto_max per further retransmission. */
	return ((UINT64_C(2) << k) - 1) * rto_base_us + (uint64_t)(boundary - k) * rto_max_us;
}
