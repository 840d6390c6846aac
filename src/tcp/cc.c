/*
 * tcp/cc.c: the congestion-control registry and the window rules all algorithms
 * share (declared in tcp/cc.h): slow start, additive increase, the reductions at
 * loss, undo, and restart after idle.
 *
 * RFC 5681 §3.1 (slow start, congestion avoidance), §3.2 and §4.1 (loss, idle),
 * RFC 6298 §5 (RTO), RFC 3168 §6.1.2 (ECN reduction). The code follows Linux's
 * tcp_cong.c and the cwnd handling in tcp_input.c / tcp_output.c:
 *
 * LINUX-COMPAT: slow start counts every newly ACKed segment, so a stretch ACK for
 * 10 segments grows cwnd by 10 (spec §14.20); RFC 5681 §3.1 allows at most one SMSS
 * per ACK and RFC 3465 two. Growth happens only while the connection is
 * cwnd-limited (RFC 7661's concern), as the caller reports.
 */
#include "tcp/cc.h"

#include <string.h>

#include "core/util.h"
#include "tern/errors.h"

/* Linux lists algorithms in registration order: Reno is built in first. */
static const struct tern_cc_ops *const cc_registry[] = {
	&tern__cc_reno,
	&tern__cc_cubic,
};

int tern__cc_find(const char *name, const struct tern_cc_ops **out)
{
	TERN_ASSERT(name != NULL && out != NULL);
	for (size_t i = 0; i < TERN_ARRAY_SIZE(cc_registry); i++) {
		if (strcmp(cc_registry[i]->name, name) == 0) {
			*out = cc_registry[i];
			return 0;
		}
	}
	return -TERN_ENOENT;
}

const struct tern_cc_ops *tern__cc_at(unsigned int i)
{
	return i < TERN_ARRAY_SIZE(cc_registry) ? cc_registry[i] : NULL;
}

void tern__cc_init(struct tern_cc *cc, const struct tern_cc_ops *ops)
{
	memset(cc, 0, sizeof(*cc));
	cc->ops = ops;
	cc->cwnd_segs = TERN_TCP_INIT_CWND;
	cc->ssthresh_segs = TERN_TCP_INFINITE_SSTHRESH;
	cc->clamp_segs = UINT32_MAX; /* tcp_init_sock: no clamp until a route sets one */
	cc->ca_state = TERN_CA_OPEN;
}

void tern__cc_start(struct tern_cc *cc, const struct tern_cc_conn *conn)
{
	cc->prior_ssthresh_segs = 0;
	if (cc->ops == &tern__cc_cubic)
		tern__cubic_init(cc, conn); /* the default: a call LTO can inline */
	else if (cc->ops->init)
		cc->ops->init(cc, conn);
}

void tern__cc_switch(struct tern_cc *cc, const struct tern_cc_ops *ops, const struct tern_cc_conn *conn)
{
	if (ops == cc->ops)
		return; /* asking for the current algorithm changes nothing */
	cc->ops = ops;
	memset(&cc->priv, 0, sizeof(cc->priv));
	if (conn)
		tern__cc_start(cc, conn);
}

void tern__cc_pkts_acked(struct tern_cc *cc, const struct tern_cc_conn *conn, uint32_t acked, int64_t rtt_us)
{
	if (cc->ops == &tern__cc_cubic)
		tern__cubic_pkts_acked(cc, conn, acked, rtt_us);
	else if (cc->ops->pkts_acked)
		cc->ops->pkts_acked(cc, conn, acked, rtt_us);
}

void tern__cc_pkts_acked_at(struct tern_cc *cc, tern_time now, tern_seq snd_una, tern_seq snd_nxt, uint32_t acked,
			    int64_t rtt_us)
{
	if (cc->ops == &tern__cc_cubic) {
		tern__cubic_pkts_acked_at(cc, now, snd_una, snd_nxt, rtt_us);
	} else if (cc->ops->pkts_acked) {
		struct tern_cc_conn conn = { .now = now, .snd_una = snd_una, .snd_nxt = snd_nxt };

		cc->ops->pkts_acked(cc, &conn, acked, rtt_us);
	}
}

void tern__cc_cong_avoid(struct tern_cc *cc, const struct tern_cc_conn *conn, uint32_t acked,
			 bool cwnd_limited)
{
	/* Every algorithm's cong_avoid returns at once when the connection is not
	 * cwnd-limited (as each of Linux's does, tcp_is_cwnd_limited first): the
	 * call is skipped then, which is most ACKs of a short exchange. */
	if (cwnd_limited)
		cc->ops->cong_avoid(cc, conn, acked, cwnd_limited);
}

void tern__cc_event(struct tern_cc *cc, const struct tern_cc_conn *conn, enum tern_cc_event ev)
{
	if (cc->ops == &tern__cc_cubic)
		tern__cubic_cwnd_event(cc, conn, ev);
	else if (cc->ops->cwnd_event)
		cc->ops->cwnd_event(cc, conn, ev);
}

void tern__cc_set_state(struct tern_cc *cc, const struct tern_cc_conn *conn, enum tern_ca_state state)
{
	if (cc->ops->set_state)
		cc->ops->set_state(cc, conn, state);
	cc->ca_state = state;
}

/* ---------------------------------------------------------------- window rules */

uint32_t tern__cc_slow_start(struct tern_cc *cc, uint32_t acked)
{
	uint64_t grown = (uint64_t)cc->cwnd_segs + acked;
	uint32_t cwnd = grown < cc->ssthresh_segs ? (uint32_t)grown : cc->ssthresh_segs;

	/* What was not needed to reach ssthresh is handed back to the caller. */
	acked -= cwnd - cc->cwnd_segs;
	cc->cwnd_segs = TERN_MIN(cwnd, cc->clamp_segs);
	return acked;
}

void tern__cc_cong_avoid_ai(struct tern_cc *cc, uint32_t w, uint32_t acked)
{
	TERN_ASSERT(w > 0);
	if (w == 0)
		w = 1;
	/* Credit earned while w was larger: take one segment for it and start over,
	 * rather than a burst of several. */
	if (cc->cwnd_cnt >= w) {
		cc->cwnd_cnt = 0;
		cc->cwnd_segs++;
	}
	cc->cwnd_cnt += acked;
	if (cc->cwnd_cnt >= w) {
		uint32_t inc = cc->cwnd_cnt / w;

		cc->cwnd_cnt -= inc * w;
		cc->cwnd_segs += inc;
	}
	cc->cwnd_segs = TERN_MIN(cc->cwnd_segs, cc->clamp_segs);
}

static bool in_cwnd_reduction(const struct tern_cc *cc)
{
	return cc->ca_state == TERN_CA_CWR || cc->ca_state == TERN_CA_RECOVERY;
}

uint32_t tern__cc_current_ssthresh(const struct tern_cc *cc)
{
	uint32_t three_quarters;

	if (in_cwnd_reduction(cc))
		return cc->ssthresh_segs;
	three_quarters = (cc->cwnd_segs >> 1) + (cc->cwnd_segs >> 2);
	return TERN_MAX(cc->ssthresh_segs, three_quarters);
}

/* ---------------------------------------------------------------- loss events */

/* tcp_init_cwnd_reduction, the part that concerns the window. */
static void start_reduction(struct tern_cc *cc)
{
	cc->cwnd_cnt = 0;
	cc->prior_cwnd_segs = cc->cwnd_segs;
	cc->ssthresh_segs = cc->ops->ssthresh(cc);
}

void tern__cc_enter_recovery(struct tern_cc *cc, const struct tern_cc_conn *conn, bool ece)
{
	cc->prior_ssthresh_segs = 0;
	if (!in_cwnd_reduction(cc)) {
		if (!ece)
			cc->prior_ssthresh_segs = tern__cc_current_ssthresh(cc);
		start_reduction(cc);
	}
	tern__cc_set_state(cc, conn, TERN_CA_RECOVERY);
}

void tern__cc_enter_cwr(struct tern_cc *cc, const struct tern_cc_conn *conn)
{
	cc->prior_ssthresh_segs = 0;
	if (cc->ca_state < TERN_CA_CWR) {
		start_reduction(cc);
		tern__cc_set_state(cc, conn, TERN_CA_CWR);
	}
}

void tern__cc_enter_loss(struct tern_cc *cc, const struct tern_cc_conn *conn, uint32_t in_flight_segs,
			 bool new_episode)
{
	if (new_episode) {
		cc->prior_ssthresh_segs = tern__cc_current_ssthresh(cc);
		cc->prior_cwnd_segs = cc->cwnd_segs;
		cc->ssthresh_segs = cc->ops->ssthresh(cc);
		tern__cc_event(cc, conn, TERN_CC_EVENT_LOSS);
	}
	cc->cwnd_segs = in_flight_segs + 1;
	cc->cwnd_cnt = 0;
	tern__cc_set_state(cc, conn, TERN_CA_LOSS);
}

void tern__cc_end_reduction(struct tern_cc *cc, const struct tern_cc_conn *conn, bool undo_pending)
{
	if (cc->ssthresh_segs < TERN_TCP_INFINITE_SSTHRESH &&
	    (cc->ca_state == TERN_CA_CWR || undo_pending))
		cc->cwnd_segs = cc->ssthresh_segs;
	tern__cc_event(cc, conn, TERN_CC_EVENT_COMPLETE_CWR);
}

bool tern__cc_undo(struct tern_cc *cc)
{
	if (cc->prior_ssthresh_segs == 0)
		return false;
	cc->cwnd_segs = cc->ops->undo_cwnd(cc);
	if (cc->prior_ssthresh_segs > cc->ssthresh_segs)
		cc->ssthresh_segs = cc->prior_ssthresh_segs;
	return true;
}

void tern__cc_cwnd_restart(struct tern_cc *cc, const struct tern_cc_conn *conn, tern_time idle_ns,
			   uint32_t rto_us, uint32_t init_cwnd_segs)
{
	uint32_t restart = TERN_MIN(init_cwnd_segs, cc->cwnd_segs);
	uint32_t cwnd = cc->cwnd_segs;
	int64_t left_us = idle_ns / TERN_NS_PER_US;

	tern__cc_event(cc, conn, TERN_CC_EVENT_CWND_RESTART);
	cc->ssthresh_segs = tern__cc_current_ssthresh(cc);

	/* The first RTO of idleness is free; each further (part of an) RTO halves cwnd,
	 * down to the restart window. */
	if (rto_us > 0) {
		while ((left_us -= rto_us) > 0 && cwnd > restart)
			cwnd >>= 1;
	}
	cc->cwnd_segs = TERN_MAX(cwnd, restart);
}
