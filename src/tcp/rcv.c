/*
 * tcp/rcv.c: arriving data and FIN, and when to acknowledge them (RFC 9293
 * §3.10.7.4 "seventh, process the segment text" and "eighth, check the FIN bit";
 * RFC 9293 §3.8.6.3 and RFC 5681 §4.2 on delayed ACKs; RFC 2018 and RFC 2883 for
 * the SACK and D-SACK blocks we report). Shaped as Linux's tcp_data_queue,
 * tcp_fin, tcp_event_data_recv, __tcp_ack_snd_check and tcp_cleanup_rbuf:
 *
 *   - in-order data joins the receive queue, then whatever the out-of-order queue
 *     can now deliver; filling a hole is acknowledged at once;
 *   - old data is acknowledged at once with a D-SACK, and re-enters quick-ACK mode;
 *   - out-of-order data is held and acknowledged at once with SACK blocks;
 *   - otherwise the ACK waits, unless more than one full segment arrived and the
 *     window can move, or the connection is in quick-ACK mode (the first 16
 *     segments, spec §14.1), or a read empties a queue that held a short segment.
 */
#include "tcp/sock.h"
#include "tcp/tw.h"
#include "tern/errors.h"

/* The truesize Linux gives a received segment arriving on a TUN device (the
 * setting the corpus was measured in): one linear buffer holding headroom
 * (NET_SKB_PAD 64 + NET_IP_ALIGN 2), the IP and TCP headers and the payload,
 * aligned to 64 bytes, plus the 320-byte skb_shared_info, rounded up to its kmalloc
 * size class, plus the 256-byte sk_buff. A 1000-byte segment with timestamps:
 * 2304 bytes, a ratio of 111/256. */
uint32_t tern__skb_truesize(uint32_t payload, uint32_t tcp_hdr_len)
{
	uint32_t data = (64 + 2 + 20 + tcp_hdr_len + payload + 63) & ~63u;
	uint32_t size = data + 320;
	/* The smallest power of two >= size, at least 64 (size is at least 448,
	 * below 2^31): the bit above size - 1's highest. */
	uint32_t alloc = 1u << (32 - __builtin_clz(size - 1));
	/* kmalloc's two odd classes. */
	if (size <= 96 && alloc > 96)
		alloc = 96;
	else if (size <= 192 && alloc > 192)
		alloc = 192;
	return alloc + 256;
}

/* The truesize of an arrival of `len` bytes: a merged one (TERN_INPUT_GSO) costs
 * what its segments would have, as a GRO skb carries theirs. */
static uint32_t seg_truesize(const struct tern_tcp *seg, uint32_t len)
{
	uint32_t g = seg->gso_size;
	if (!g || len <= g)
		return tern__skb_truesize(len, seg->hdr_len);
	uint32_t rest = len % g;
	return (len / g) * tern__skb_truesize(g, seg->hdr_len) + (rest ? tern__skb_truesize(rest, seg->hdr_len) : 0);
}

/* tcp_incr_quickack: enough quick ACKs for half a window of full segments, at
 * most `max`, at least 2. A window of `max` times two segments or more gives `max`
 * without the division (a usual window does: 64 KB over 2 x 1460 is 22). */
static void incr_quickack(struct tern_sock *sk, unsigned max)
{
	uint32_t two_segs = 2u * TERN_MAX(sk->rcv_mss, 1u);
	unsigned quick;

	if ((uint64_t)sk->rcv_wnd >= (uint64_t)max * two_segs) {
		quick = max;
	} else {
		quick = sk->rcv_wnd / two_segs;
		if (quick == 0)
			quick = 2;
		if (quick > max)
			quick = max;
	}
	if (quick > sk->quick_acks)
		sk->quick_acks = (uint8_t)quick;
}

void tern__tcp_enter_quickack_mode(struct tern_sock *sk)
{
	incr_quickack(sk, TERN_TCP_MAX_QUICKACKS);
	sk->pingpong = 0;
	sk->ato = TERN_TCP_ATO_MIN_NS;
}

static bool in_quickack_mode(const struct tern_sock *sk)
{
	return sk->quick_acks && !sk->pingpong;
}

/* Linux's tcp_event_data_recv: the adaptive ATO. Arrivals close together shrink
 * it toward 20 ms + half the old value; a gap longer than the RTO means the sender
 * restarted after idle, so quick-ACK mode returns (spec §14.1). */
void tern__tcp_event_data_recv(struct tern_stack *st, struct tern_sock *sk, uint32_t len, uint32_t hdr_len)
{
	tern_time rto = (tern_time)tern__rtt_rto_us(&sk->rtt) * TERN_NS_PER_US;

	sk->ack_pending |= ACK_SCHED;
	/* tcp_measure_rcv_mss: the peer's segment size, whether this one was short
	 * (pushed), and the payload/truesize ratio whenever the size changes. */
	if (len >= sk->rcv_mss) {
		if (len != sk->rcv_mss) {
			uint32_t ratio = (uint32_t)(((uint64_t)len << 8) / tern__skb_truesize(len, hdr_len));
			sk->scaling_ratio = (uint16_t)(ratio ? ratio : 1);
		}
		sk->rcv_mss = (uint16_t)TERN_MIN(len, (uint32_t)sk->advmss);
	} else {
		sk->ack_pending |= ACK_PUSHED;
	}
	tern__tcp_rcv_rtt_measure(st, sk);

	if (!sk->ato) {
		incr_quickack(sk, TERN_TCP_MAX_QUICKACKS);
		sk->ato = TERN_TCP_ATO_MIN_NS;
	} else {
		tern_time m = tern__sk_ms_age(st, sk->last_rcv_data);
		if (m <= TERN_TCP_ATO_MIN_NS / 2) {
			sk->ato = (sk->ato >> 1) + TERN_TCP_ATO_MIN_NS / 2;
		} else if (m < sk->ato) {
			sk->ato = (sk->ato >> 1) + m;
			if (sk->ato > rto)
				sk->ato = rto;
		} else if (m > rto) {
			incr_quickack(sk, TERN_TCP_MAX_QUICKACKS);
		}
	}
	sk->last_rcv_data = tern__sk_ms(st);
}

/* Linux's __tcp_ack_snd_check: send the owed ACK now, or let it wait. */
void tern__tcp_ack_snd_check(struct tern_stack *st, struct tern_sock *sk)
{
	if (!(sk->ack_pending & ACK_SCHED))
		return;
	uint32_t rcv_mss = TERN_MAX(sk->rcv_mss, 1u);
	bool more_than_one = (uint32_t)(sk->rcv_nxt - sk->rcv_wup) > rcv_mss;
	bool app_caught_up = sk->rcv_nxt == sk->copied_seq;
	if ((more_than_one && (app_caught_up || tern__tcp_select_window_peek(sk) >= sk->rcv_wnd)) ||
	    in_quickack_mode(sk) || (sk->ack_pending & ACK_NOW)) {
		tern__tcp_send_ack(st, sk);
		return;
	}
	if (tern__sk_ooo_empty(sk)) {
		tern__tcp_arm_delack(st, sk);
		return;
	}
	/* Out-of-order data: duplicate ACKs. The first three for a hole go at once
	 * (enough for the sender's fast retransmit); later ones are compressed into
	 * one ACK sent after min(tcp_comp_sack_delay_ns, 5% of the RTT), or at once
	 * when tcp_comp_sack_nr of them have been held (spec §14.5). */
	if (!sk->neg.sack_ok || sk->compressed_ack >= st->sys.tcp_comp_sack_nr) {
		tern__tcp_send_ack(st, sk);
		return;
	}
	if (sk->compressed_ack_rcv_nxt != sk->rcv_nxt) {
		sk->compressed_ack_rcv_nxt = sk->rcv_nxt;
		sk->dup_ack_counter = 0;
	}
	if (sk->dup_ack_counter < TERN_TCP_FASTRETRANS_THRESH) {
		sk->dup_ack_counter++;
		tern__tcp_send_ack(st, sk);
		return;
	}
	sk->compressed_ack++;
	if (sk->ack_pending & ACK_COMP)
		return;
	tern__tcp_arm_compressed_ack(st, sk);
}

/* ------------------------------------------------------------ SACK blocks */

void tern__tcp_dsack_set(struct tern_stack *st, struct tern_sock *sk, tern_seq start, tern_seq end)
{
	struct tern_xfer *x;

	if (!sk->neg.sack_ok || !st->sys.tcp_dsack)
		return;
	if (!(x = tern__sk_xfer(st, sk)))
		return;   /* out of memory: the ACK goes without its D-SACK */
	if (seq_lt(start, sk->rcv_nxt))
		tern__count(st, TERN_CTR_TcpExtTCPDSACKOldSent);
	x->dsack = 1;
	x->dsack_block.start = start;
	x->dsack_block.end = end;
}

/* ------------------------------------------------------------ FIN */

/* Linux's tcp_fin (spec §6.3), once everything before the FIN has arrived. */
static void rcv_fin(struct tern_stack *st, struct tern_sock *sk)
{
	sk->ack_pending |= ACK_SCHED;
	sk->flags |= SK_PEER_FIN;
	switch (sk->state) {
	case TERN_TCP_SYN_RECV:
	case TERN_TCP_ESTABLISHED:
		tern__tcp_set_state(st, sk, TERN_TCP_CLOSE_WAIT);
		/* LINUX-COMPAT: the ACK of a FIN is delayed (ping-pong mode), spec §13.9. */
		sk->pingpong = 1;
		break;
	case TERN_TCP_FIN_WAIT1:
		tern__tcp_send_ack(st, sk);
		tern__tcp_set_state(st, sk, TERN_TCP_CLOSING);
		break;
	case TERN_TCP_FIN_WAIT2:
		tern__tcp_send_ack(st, sk);
		tern__tw_enter(st, sk, TERN_TCP_TIME_WAIT, TERN_TCP_TIMEWAIT_NS);
		break;
	default:
		break;   /* CLOSE_WAIT, CLOSING, LAST_ACK: a retransmitted FIN */
	}
	tern__sk_ooo_put(st, sk, true);
	if (sk->xfer->ooo_fin)
		sk->xfer->ooo_fin = 0;
	tern__sock_wakeup(st, sk);
}

/* ------------------------------------------------------------ data */

/* Linux's tcp_try_rmem_schedule: a segment is taken while the buffers already
 * charged do not exceed SO_RCVBUF. */
static bool rmem_admits(const struct tern_sock *sk, uint32_t len)
{
	(void)len;
	return tern__rmem_alloc(sk) <= sk->rcvbuf;
}

static uint32_t receive_window(const struct tern_sock *sk)
{
	int32_t w = (int32_t)(sk->rcv_wup + sk->rcv_wnd - sk->rcv_nxt);
	return w < 0 ? 0 : (uint32_t)w;
}

/* Moves what the out-of-order queue can now deliver, and a FIN that was waiting
 * for it. Out of line and cold, as queue_ofo: inlined through
 * tern__tcp_data_queue into input.c's conn_rcv, the two kept that frame at 168
 * bytes with the socket on the stack, reloaded after every call of every
 * segment (62 instructions per lifecycle). */
static __attribute__((noinline, cold)) void ofo_deliver(struct tern_stack *st, struct tern_sock *sk)
{
	size_t moved = 0;
	if (sk->xfer->ooo) {
		moved = tern__ooo_deliver(sk->xfer->ooo, &st->tcp->chunk_pool, sk->rcv_nxt, &sk->xfer->rcvq);
		tern__sk_ooo_put(st, sk, false);
	}

	sk->rcv_nxt += (uint32_t)moved;
	if (sk->xfer->ooo_fin && sk->xfer->ooo_fin_seq == sk->rcv_nxt) {
		sk->rcv_nxt++;
		rcv_fin(st, sk);
	}
}

static __attribute__((noinline, cold)) void queue_ofo(struct tern_stack *st, struct tern_sock *sk,
							const struct tern_tcp *seg)
{
	tern_seq seq = seg->seq;
	tern_seq end = seg->seq + seg->payload_len;

	if (!rmem_admits(sk, seg->payload_len)) {
		/* Prune the highest out-of-order data first (Linux's tcp_prune_ofo_queue),
		 * then give up on this segment if still short. */
		if (sk->xfer->ooo) {
			tern__ooo_prune_tail(sk->xfer->ooo, &st->tcp->chunk_pool, 1 + seg->payload_len / TERN_CHUNK_DATA);
			tern__sk_ooo_put(st, sk, false);
		}
		if (!rmem_admits(sk, seg->payload_len)) {
			tern__count(st, TERN_CTR_TcpExtTCPOFODrop);
			return;
		}
	}
	tern__count(st, TERN_CTR_TcpExtTCPOFOQueue);
	sk->ack_pending |= ACK_SCHED;
	if (seg->flags & TERN_TCP_FIN) {
		struct tern_xfer *x = tern__sk_xfer(st, sk);
		if (!x) {
			tern__count(st, TERN_CTR_TcpExtTCPOFODrop);
			return;
		}
		x->ooo_fin = 1;
		x->ooo_fin_seq = end;
	}
	if (!seg->payload_len)
		return;
	struct tern_ooo *q = tern__sk_ooo_get(st, sk);
	if (!q) {
		tern__count(st, TERN_CTR_TcpExtTCPOFODrop);
		return;
	}
	struct tern_ooo_insert r = tern__ooo_insert(q, &st->tcp->chunk_pool, seq, seg->payload,
						    seg->payload_len);
	tern__sk_ooo_put(st, sk, false);
	if (r.refused)
		tern__count(st, TERN_CTR_TcpExtTCPOFODrop);
	if (r.dup)
		tern__tcp_dsack_set(st, sk, r.dup_span.start, r.dup_span.end);
	/* Linux's tcp_data_queue_ofo: the window may grow on out-of-order data when
	 * SACK reports it (without SACK, a window that stays put keeps the duplicate
	 * ACKs coming for fast retransmit); the buffer grows to hold the span, but
	 * not for a child nobody accepted yet, nor an orphan (Linux: sk_socket). */
	if (r.stored && sk->neg.sack_ok)
		tern__tcp_grow_window(st, sk, seg->payload_len, seg_truesize(seg, seg->payload_len));
	if (sk->fd >= 0)
		tern__tcp_rcvbuf_grow(st, sk);
}

/* Linux's tcp_data_queue. `seg` has passed the acceptability test and carries
 * data, a FIN, or both. */
void tern__tcp_data_queue(struct tern_stack *st, struct tern_sock *sk, const struct tern_tcp *seg)
{
	bool syn = seg->flags & TERN_TCP_SYN;    /* only a SYN repeated in SYN-RECV gets here */
	tern_seq seq = seg->seq + syn;
	tern_seq end = seq + seg->payload_len;   /* without the FIN */
	const uint8_t *data = seg->payload;
	uint32_t len = seg->payload_len;
	bool fin = seg->flags & TERN_TCP_FIN;

	if (len == 0 && !fin && !syn)
		return;
	if (seq_leq(end + fin, sk->rcv_nxt) && !(fin && end == sk->rcv_nxt)) {
		/* All of it arrived before: our ACK was lost. Answer at once with a
		 * D-SACK for what was repeated, SYN and FIN included (their sequence
		 * numbers count: spec §13.4, and a repeated FIN in LAST-ACK). */
		tern__count(st, TERN_CTR_TcpExtDelayedACKLost);
		tern__tcp_dsack_set(st, sk, seg->seq, end + fin);
		tern__tcp_enter_quickack_mode(sk);
		sk->ack_pending |= ACK_SCHED | ACK_NOW;
		return;
	}
	if (seq_gt(seq, sk->rcv_nxt)) {
		if (seq_geq(seq, sk->rcv_nxt + receive_window(sk))) {
			/* Beyond the window, a zero-window probe for instance. */
			tern__tcp_enter_quickack_mode(sk);
			sk->ack_pending |= ACK_SCHED | ACK_NOW;
			return;
		}
		queue_ofo(st, sk, seg);
		return;
	}
	if (seq_lt(seq, sk->rcv_nxt)) {
		/* Starts before rcv_nxt: keep only the new part (and D-SACK the old). */
		uint32_t skip = sk->rcv_nxt - seq;
		tern__tcp_dsack_set(st, sk, seq, sk->rcv_nxt);
		data += skip;
		len -= skip;
		seq = sk->rcv_nxt;
	}
	if (len && receive_window(sk) == 0) {
		tern__count(st, TERN_CTR_TcpExtTCPZeroWindowDrop);
		tern__tcp_enter_quickack_mode(sk);
		sk->ack_pending |= ACK_SCHED | ACK_NOW;
		return;
	}
	if (len && !rmem_admits(sk, len) && tern__stream_len(&sk->xfer->rcvq)) {
		tern__count(st, TERN_CTR_TcpExtTCPRcvQDrop);
		sk->ack_pending |= ACK_SCHED | ACK_NOW;
		return;
	}
	if (len) {
		struct tern_xfer *x = tern__sk_xfer(st, sk);
		size_t got = x ? tern__stream_append(&x->rcvq, &st->tcp->chunk_pool, data, len) : 0;
		if (got < len) {
			/* Out of memory for the transfer block or chunks: keep what
			 * fit, the peer resends the rest. */
			tern__count(st, TERN_CTR_TcpExtTCPRcvQDrop);
			len = (uint32_t)got;
			fin = false;
		}
		sk->rcv_nxt += len;
		/* A merged arrival (TERN_INPUT_GSO) is measured by its segments, as
		 * tcp_measure_rcv_mss takes gso_size before skb->len. */
		tern__tcp_event_data_recv(st, sk, seg->gso_size ? seg->gso_size : len, seg->hdr_len);
		tern__tcp_grow_window(st, sk, len, seg_truesize(seg, len));
	}
	if (fin && seq + len == end) {
		sk->rcv_nxt++;
		rcv_fin(st, sk);
	}
	if (!tern__sk_ooo_empty(sk) || sk->xfer->ooo_fin) {
		ofo_deliver(st, sk);
		TERN_ASSERT(tern__sk_ooo_empty(sk) || seq_gt(tern__ooo_start(sk->xfer->ooo), sk->rcv_nxt));
		/* RFC 5681 §4.2: a hole filled is acknowledged at once. */
		if (tern__sk_ooo_empty(sk))
			sk->ack_pending |= ACK_NOW;
	}
	/* Everything between what the user read and rcv_nxt is in the queue (the FIN
	 * takes a sequence number but no byte). */
	TERN_ASSERT(sk->rcv_nxt - sk->copied_seq - !!(sk->flags & SK_PEER_FIN) == tern__stream_len(&sk->xfer->rcvq));
	tern__sock_wakeup(st, sk);
}

/* Linux's tcp_cleanup_rbuf: after a read of `copied` bytes, the ACK that waited
 * goes now if a full segment's worth is unacknowledged, or if the read emptied a
 * queue that held a short segment (spec §14.4); and a window that at least doubled
 * is announced. */
void tern__tcp_clean_rbuf(struct tern_stack *st, struct tern_sock *sk, size_t copied)
{
	bool time_to_ack = false;

	if (sk->state == TERN_TCP_CLOSE || sk->state == TERN_TCP_LISTEN || sk->state == TERN_TCP_SYN_SENT)
		return;
	if (sk->ack_pending & ACK_SCHED) {
		if ((uint32_t)(sk->rcv_nxt - sk->rcv_wup) > TERN_MAX(sk->rcv_mss, 1u) ||
		    (copied > 0 && (sk->ack_pending & ACK_PUSHED) && !sk->pingpong &&
		     tern__stream_len(&sk->xfer->rcvq) == 0))
			time_to_ack = true;
	}
	if (copied > 0 && !time_to_ack && !(sk->flags & SK_PEER_FIN)) {
		uint32_t now_wnd = receive_window(sk);
		if (2 * now_wnd <= sk->window_clamp) {
			uint32_t new_wnd = tern__tcp_select_window_peek(sk);
			if (new_wnd && new_wnd >= 2 * now_wnd)
				time_to_ack = true;
		}
	}
	if (time_to_ack)
		tern__tcp_send_ack(st, sk);
}
