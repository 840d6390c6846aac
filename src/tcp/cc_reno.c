/*
 * tcp/cc_reno.c: Reno congestion control ("reno"), as Linux's tcp_reno_* built-in.
 *
 * RFC 5681 §3.1: slow start while cwnd < ssthresh, then one segment per window of
 * ACKed segments; RFC 5681 §3.2 eq. (4) halves on loss. Linux details kept here:
 * ssthresh is half of cwnd (not of FlightSize) with a floor of 2; growth only when
 * the connection is cwnd-limited; ACKed segments left over when slow start reaches
 * ssthresh carry into congestion avoidance in the same ACK; undo returns to the
 * larger of the current cwnd and the cwnd before the reduction.
 */
#include "tcp/cc.h"

#include "core/util.h"

static void reno_cong_avoid(struct tern_cc *cc, const struct tern_cc_conn *conn, uint32_t acked,
			    bool cwnd_limited)
{
	(void)conn;
	if (!cwnd_limited)
		return;
	if (tern__cc_in_slow_start(cc)) {
		acked = tern__cc_slow_start(cc, acked);
		if (acked == 0)
			return;
	}
	tern__cc_cong_avoid_ai(cc, cc->cwnd_segs, acked);
}

/* RFC 5681 eq. (4) with cwnd standing in for FlightSize (LINUX-COMPAT). */
static uint32_t reno_ssthresh(struct tern_cc *cc)
{
	return TERN_MAX(cc->cwnd_segs >> 1, 2u);
}

static uint32_t reno_undo_cwnd(struct tern_cc *cc)
{
	return TERN_MAX(cc->cwnd_segs, cc->prior_cwnd_segs);
}

const struct tern_cc_ops tern__cc_reno = {
	.name = "reno",
	.ssthresh = reno_ssthresh,
	.cong_avoid = reno_cong_avoid,
	.undo_cwnd = reno_undo_cwnd,
};
