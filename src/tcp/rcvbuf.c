/*
 * tcp/rcvbuf.c: receive-buffer autotuning ("dynamic right-sizing"), as Linux 6.18
 * does it (tcp_rcv_rtt_measure, tcp_rcv_rtt_measure_ts, tcp_rcv_rtt_update,
 * tcp_rcv_space_adjust, tcp_rcvbuf_grow; the behaviour, in our own code).
 *
 * A receiver cannot offer more window than its buffer holds, and the buffer starts
 * at tcp_rmem[1] (131072 by default: a 64 KiB window). A sender then gets at most
 * 64 KiB per round trip, a few Mbit/s over a long path. So, unless the user fixed
 * SO_RCVBUF or tcp_moderate_rcvbuf is 0, the buffer follows what the application
 * actually reads:
 *
 *   - the receiver keeps its own RTT estimate (rcv_rtt_x8_us): from timestamps, a
 *     full-sized segment echoing one of ours; without them, the time it takes for
 *     a window's worth of data to arrive (a minimum, since the sender may not have
 *     been sending all along);
 *   - at each read, once an RTT has passed since the last count, the bytes read in
 *     that RTT (less what is still queued) are compared with the best so far
 *     (rcvq_space); when more, that is the new best, and the buffer grows to hold
 *     twice it as window (a sender in slow start doubles per RTT), plus the span of
 *     out-of-order data held; up to tcp_rmem[2]. The window's clamp follows;
 *   - out-of-order data also grows the buffer, so that a hole being repaired does
 *     not shut the window on the data behind it.
 *
 * The window itself then opens as tcp_grow_window raises rcv_ssthresh towards the
 * new clamp, and a read that doubles the window sends an update at once
 * (tern__tcp_clean_rbuf).
 *
 * Times are tern__sk_us (microseconds modulo 2^32, Linux's tcp_mstamp); an RTT
 * sample needs under 71 minutes, which every sample does.
 */
#include "tcp/sock.h"

/* Linux's tcp_rcv_rtt_update: a smaller sample always wins; a larger one counts
 * only from timestamps (`win_dep` false), and only while nothing waits to be read
 * (a queue the application is slow to drain inflates it), smoothed by 1/8. */
static void rcv_rtt_update(struct tern_sock *sk, uint32_t sample_us, bool win_dep)
{
	uint32_t old = sk->rcv_rtt_x8_us;
	uint64_t m = (uint64_t)sample_us << 3;

	if (old == 0 || m < old) {
		sk->rcv_rtt_x8_us = (uint32_t)TERN_MIN(m, (uint64_t)UINT32_MAX);
		return;
	}
	if (win_dep || sk->rcv_nxt != sk->copied_seq)
		return;
	sk->rcv_rtt_x8_us = old - (old >> 3) + sample_us;
}

/* Linux's tcp_rcv_rtt_measure, for each in-order arrival of data: the time from
 * one mark to rcv_nxt passing the window offered then. */
void tern__tcp_rcv_rtt_measure(struct tern_stack *st, struct tern_sock *sk)
{
	uint32_t now = tern__sk_us(st);

	if (sk->rcv_rtt_time) {
		if (seq_lt(sk->rcv_nxt, sk->rcv_rtt_seq))
			return;
		uint32_t delta = now - sk->rcv_rtt_time;
		rcv_rtt_update(sk, delta ? delta : 1, true);
	}
	sk->rcv_rtt_seq = sk->rcv_nxt + sk->rcv_wnd;
	sk->rcv_rtt_time = now;
}

/* Linux's tcp_rcv_rtt_measure_ts: a segment of at least rcv_mss bytes echoing one
 * of our timestamps. The clock ticks in milliseconds, so an echo from the same
 * millisecond says nothing (Linux takes no sample of 0 there either). */
void tern__tcp_rcv_rtt_measure_ts(struct tern_sock *sk, const struct tern_tcp *seg, uint32_t ts_now)
{
	if (!(seg->opt.present & TERN_TCPOPT_HAS_TS) || !seg->opt.ts_ecr ||
	    seg->payload_len < TERN_MAX(sk->rcv_mss, 1u))
		return;
	uint32_t delta_ms = ts_now - seg->opt.ts_ecr;
	if (delta_ms == 0 || delta_ms >= INT32_MAX / 1000)
		return;
	rcv_rtt_update(sk, delta_ms * 1000, false);
}

/* Linux's tcp_init_buffer_space, the autotuning part: the first count starts now,
 * with the best so far what the first window could carry in its first RTT. */
void tern__tcp_rcv_space_init(struct tern_stack *st, struct tern_sock *sk)
{
	sk->rcvq_space = TERN_MIN(TERN_MIN(sk->rcv_ssthresh, sk->rcv_wnd),
				  (uint32_t)TERN_TCP_INIT_CWND * sk->advmss);
	sk->rcvq_seq = sk->copied_seq;
	sk->rcvq_time = tern__sk_us(st);
}

/* Linux's tcp_space_from_win: the buffer that holds `win` bytes of window. */
static uint64_t space_from_win(const struct tern_sock *sk, uint64_t win)
{
	return (win << 8) / TERN_MAX(sk->scaling_ratio, 1u);
}

/* Linux's tcp_rcvbuf_grow: a buffer for twice the best RTT's reading, plus the
 * out-of-order span held; never smaller, at most tcp_rmem[2]. */
void tern__tcp_rcvbuf_grow(struct tern_stack *st, struct tern_sock *sk)
{
	if (!st->sys.tcp_moderate_rcvbuf || (sk->flags & SK_RCVBUF_LOCK))
		return;
	uint64_t rcvwin = (uint64_t)sk->rcvq_space << 1;
	if (!tern__sk_ooo_empty(sk))
		rcvwin += (uint32_t)(tern__ooo_end(sk->xfer->ooo) - sk->rcv_nxt);
	uint64_t rcvbuf = TERN_MIN(space_from_win(sk, rcvwin), (uint64_t)st->sys.tcp_rmem[2]);
	if (rcvbuf > sk->rcvbuf) {
		sk->rcvbuf = (uint32_t)rcvbuf;
		sk->window_clamp = (uint32_t)tern__win_from_space(sk, sk->rcvbuf);
	}
}

/* The rest of Linux's tcp_rcv_space_adjust (tern__tcp_rcv_space_adjust in sock.h
 * tests for an RTT sample first): once an RTT has passed since the last measure,
 * what was read in it sets the space to grow the buffer to. */
void tern__tcp_rcv_space_update(struct tern_stack *st, struct tern_sock *sk)
{
	uint32_t now = tern__sk_us(st);
	if (now - sk->rcvq_time < sk->rcv_rtt_x8_us >> 3)
		return;
	/* Read in the last RTT, less what still waits to be read. */
	int64_t copied = (int64_t)(uint32_t)(sk->copied_seq - sk->rcvq_seq) -
			 (int64_t)(uint32_t)(sk->rcv_nxt - sk->copied_seq);
	if (copied > (int64_t)sk->rcvq_space) {
		sk->rcvq_space = (uint32_t)copied;
		tern__tcp_rcvbuf_grow(st, sk);
	}
	sk->rcvq_seq = sk->copied_seq;
	sk->rcvq_time = now;
}
