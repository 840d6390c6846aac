/*
 * tcp/output.c: everything that puts a TCP segment on the wire (RFC 9293 §3.8,
 * §3.10.4, RFC 7323, RFC 2018), shaped as Linux's tcp_output.c decides it:
 *
 *   - options in Linux's layouts (MSS, then SACK-permitted packed with timestamps,
 *     then NOP+window scale; NOP,NOP,TS on later segments; then SACK blocks);
 *   - the receive window offered (Linux's __tcp_select_window: never moves the
 *     right edge back, rounds to the scale, goes to zero under pressure);
 *   - what may be sent now (tcp_write_xmit): the peer's window, the congestion
 *     window, Nagle in Minshall's variant, TCP_CORK;
 *   - the segment scoreboard: one tern_txseg per segment sent and not yet acked.
 *
 * Memory accounting follows Linux's: received data is charged its buffers' truesize
 * against SO_RCVBUF, and the window a buffer holds is scaled by the measured ratio
 * of payload to truesize (1/2 until data has arrived), so while the application
 * does not read, the window offered shrinks at least as fast as data arrives and
 * its right edge stays put (spec §14.12-§14.13).
 */
#include <stddef.h>
#include <string.h>

#include "ip/ip.h"
#include "tcp/sock.h"
#include "tcp/tcp.h"
#include "tern/errors.h"
#include "wire/tcphdr.h"

#define TCPOLEN_TS_ALIGNED 12

/* A 32-bit big-endian store as one byte swap and one move. tern_put32's four
 * byte stores are correct everywhere, but GCC merges two adjacent ones (the
 * timestamp's value and echo) into a 64-bit word assembled a byte at a time,
 * about 30 instructions for what every segment carries. */
static inline void put_be32(uint8_t *p, uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
	memcpy(p, &v, sizeof(v));
#else
	tern_put32(p, v);
#endif
}

/* NOP, NOP, timestamp (RFC 7323 appendix A): the option of nearly every
 * segment after the handshake, as tern_tcp_opts_put_ts writes it. */
static inline void put_ts_option(uint8_t *p, uint32_t ts_val, uint32_t ts_ecr)
{
	put_be32(p, (uint32_t)TERN_TCPOPT_NOP << 24 | TERN_TCPOPT_NOP << 16 | TERN_TCPOPT_TS << 8 | 10);
	put_be32(p + 4, ts_val);
	put_be32(p + 8, ts_ecr);
}

/* ------------------------------------------------------------ MSS */

void tern__tcp_init_mss(struct tern_stack *st, struct tern_sock *sk)
{
	uint32_t mss = st->mtu - TERN_IPV4_HDR_LEN - TERN_TCP_HDR_LEN;

	if (sk->opts->user_mss && sk->opts->user_mss < mss)
		mss = sk->opts->user_mss;
	sk->advmss = (uint16_t)mss;
	/* A handshake begins: the peer's MSS and timestamps are yet to be agreed. */
	sk->flags &= ~SK_MSS_CURRENT;
}

/* The SACK blocks the next segment carries (a D-SACK first, then the
 * out-of-order ranges), as many as fit beside a timestamp: 3, else 4. */
static int sack_blocks(const struct tern_sock *sk, struct tern_sack_block *out)
{
	int max = sk->neg.ts_ok ? 3 : 4, got = 0;

	if (!sk->neg.sack_ok)
		return 0;
	if (sk->xfer->dsack)
		out[got++] = sk->xfer->dsack_block;
	if (sk->xfer->ooo)
		got += tern__ooo_sack_blocks(sk->xfer->ooo, out + got, max - got);
	return got;
}

/* Payload bytes per segment now: Linux's tcp_current_mss. The cached size allows
 * for a timestamp; SACK blocks riding on the segment (2 NOPs, kind, length, 8
 * bytes a block) take their room from the payload, so that header and data stay
 * within the MTU. */
static uint32_t sack_option_room(const struct tern_sock *sk)
{
	struct tern_sack_block blocks[TERN_TCP_MAX_SACK_BLOCKS];
	int nsacks = sack_blocks(sk, blocks);
	return nsacks > 0 ? 4u + 8u * (uint32_t)nsacks : 0;
}

/* Inline: push asks on every call, mostly with nothing to send, to keep
 * mss_cache current (push_mss below). `*stands` is set to whether the value
 * came from the peer's MSS, the MTU and the timestamp option alone (see
 * tern__tcp_push_mss_refresh): each step that lets another input decide
 * clears it, where that step is taken. */
static inline __attribute__((always_inline)) uint32_t current_mss_stands(struct tern_stack *st,
									   struct tern_sock *sk, bool *stands)
{
	uint32_t mss = TERN_MIN((uint32_t)sk->neg.mss_clamp, st->mtu - 40u);
	uint32_t floor = (uint32_t)st->sys.tcp_min_snd_mss;
	uint32_t user_mss = sk->opts->user_mss;
	bool ok = !user_mss;

	if (user_mss && user_mss < mss)
		mss = user_mss;
	if (sk->neg.ts_ok)
		mss -= TCPOLEN_TS_ALIGNED;
	if (sk->max_window) {
		uint32_t cutoff = sk->max_window > TERN_TCP_DEFAULT_MSS ? sk->max_window / 2 : sk->max_window;
		/* TERN_MIN(mss, cutoff); the value stands only below the cutoff. */
		if (mss >= cutoff) {
			mss = cutoff;
			ok = false;
		}
	}
	/* TERN_MAX(mss, floor); the value stands only above the floor. */
	if (mss <= floor) {
		mss = floor;
		ok = false;
	}
	if (mss > UINT16_MAX)
		ok = false;
	if (tern__tcp_sack_due(sk)) {
		mss -= sack_option_room(sk);
		ok = false;
	}
	*stands = ok;
	return mss;
}

static inline __attribute__((always_inline)) uint32_t current_mss(struct tern_stack *st, struct tern_sock *sk)
{
	bool stands;
	return current_mss_stands(st, sk, &stands);
}

/* current_mss for push, which stores it in mss_cache (what ss and TCP_MAXSEG
 * show). The answer seldom changes within a connection, so SK_MSS_CURRENT says
 * that mss_cache already holds it. Push sets it when the value came from the
 * peer's MSS, the MTU and the timestamp option alone: no TCP_MAXSEG, neither
 * the floor (tcp_min_snd_mss) nor half the peer's largest window reached, no
 * SACK room taken, and within mss_cache's 16 bits. It is cleared when a
 * handshake begins (tern__tcp_init_mss: the peer's MSS and timestamps are
 * agreed after it) and when max_window grows so that its cutoff falls below
 * the value (ack.c). The inputs that change elsewhere are tested on each call:
 * TCP_MAXSEG still unset, the floor not above the value, no SACK due. The MTU
 * is fixed when the stack is made. So the stored value is what the full
 * computation would give. Those tests are made as the value is worked out
 * (current_mss_stands): below the cutoff before the cutoff applies is the same
 * as after it, once above the floor; above the floor before the floor applies,
 * the same as after. */
__attribute__((noinline)) uint32_t tern__tcp_push_mss_refresh(struct tern_stack *st, struct tern_sock *sk)
{
	bool stands;
	uint32_t mss = current_mss_stands(st, sk, &stands);

	sk->mss_cache = (uint16_t)mss;
	if (stands)
		sk->flags |= SK_MSS_CURRENT;
	else
		sk->flags &= ~SK_MSS_CURRENT;
	return mss;
}

static inline __attribute__((always_inline)) uint32_t push_mss(struct tern_stack *st, struct tern_sock *sk)
{
	if (tern__tcp_mss_current(st, sk))
		return sk->mss_cache;
	return tern__tcp_push_mss_refresh(st, sk);
}

/* ------------------------------------------------------------ windows */

/* Receive space the socket may still offer: Linux's tcp_space(). */
static int64_t rcv_space(const struct tern_sock *sk)
{
	return tern__win_from_space(sk, (int64_t)sk->rcvbuf - (int64_t)tern__rmem_alloc(sk));
}

/* The window the whole buffer holds: Linux's tcp_full_space(). */
static uint32_t allowed_space(const struct tern_sock *sk)
{
	return (uint32_t)tern__win_from_space(sk, sk->rcvbuf);
}

static uint32_t full_space(const struct tern_sock *sk)
{
	return TERN_MIN(sk->window_clamp, allowed_space(sk));
}

/* The initial window and our scale (Linux's tcp_select_initial_window, spec §13.15):
 * the space is half of SO_RCVBUF (tcp_rmem[1] by default), rounded down to whole
 * segments of `mss`; the scale is the smallest that lets tcp_rmem[2] (or rmem_max,
 * whichever is larger) be offered. A passive open rounds by the MSS less the
 * timestamp option, an active open by the full MSS, so with the corpus's tcp_rmem
 * a SYN-ACK offers 65160 (64240 without timestamps) and a SYN 64240; wscale 7.
 * tern__tcp_init_rcv_window applies it to a socket, whose window's ceiling
 * (rcv_ssthresh) starts at that first offer. */
void tern__tcp_select_initial_window(const struct tern_stack *st, uint32_t rcvbuf, bool rcvbuf_locked,
				     uint32_t clamp, uint32_t mss, bool wscale_ok, uint32_t *rcv_wnd,
				     uint8_t *rcv_wscale, uint32_t *window_clamp)
{
	uint32_t space = rcvbuf / 2;

	if (!clamp)
		clamp = 65535u << TERN_TCP_MAX_WSCALE;
	/* A buffer the user sized (SO_RCVBUF) bounds the scale too: with SO_RCVBUF
	 * 8192 the window is 7240 and wscale 0 (spec §14.13). */
	if (rcvbuf_locked && clamp > space)
		clamp = space;
	space = TERN_MIN(space, clamp);
	if (space > mss)
		space -= space % mss;
	*rcv_wnd = st->sys.tcp_workaround_signed_windows ? TERN_MIN(space, 32767u) : TERN_MIN(space, 65535u);
	*rcv_wscale = 0;
	if (wscale_ok) {
		uint64_t want = TERN_MAX((uint64_t)space, (uint64_t)st->sys.tcp_rmem[2]);
		want = TERN_MAX(want, (uint64_t)st->sys.rmem_max);
		want = TERN_MIN(want, (uint64_t)clamp);
		int log = 63 - __builtin_clzll(want | 1);
		int ws = log - 15;
		*rcv_wscale = (uint8_t)(ws < 0 ? 0 : ws > TERN_TCP_MAX_WSCALE ? TERN_TCP_MAX_WSCALE : ws);
	}
	*window_clamp = TERN_MIN(65535u << *rcv_wscale, clamp);
}

void tern__tcp_init_rcv_window(struct tern_stack *st, struct tern_sock *sk, uint32_t mss)
{
	uint32_t rcv_wnd, clamp;
	uint8_t ws;

	tern__tcp_select_initial_window(st, sk->rcvbuf, sk->flags & SK_RCVBUF_LOCK, sk->window_clamp, mss,
					sk->neg.wscale_ok, &rcv_wnd, &ws, &clamp);
	tern__tcp_set_rcv_window(sk, rcv_wnd, ws, clamp);
}

void tern__tcp_set_rcv_window(struct tern_sock *sk, uint32_t rcv_wnd, uint8_t rcv_wscale, uint32_t window_clamp)
{
	sk->rcv_wnd = rcv_wnd;
	sk->neg.rcv_wscale = rcv_wscale;
	sk->window_clamp = window_clamp;
	sk->rcv_ssthresh = rcv_wnd;
	sk->rcv_wup = sk->rcv_nxt;
}

/* Linux's tcp_init_buffer_space, when the connection is established: the window's
 * clamp follows the buffer (tcp_app_win keeps 1/2^tcp_app_win of it for the
 * application: nothing at the default 31), one segment of the buffer stays out of
 * the window (with the default tcp_rmem, a clamp of 65536 - 1448 = 64088), and the
 * ceiling stays under the clamp. A peer without window scaling caps everything at
 * 65535. */
void tern__tcp_init_buffer_space(struct tern_stack *st, struct tern_sock *sk)
{
	uint32_t maxwin = allowed_space(sk);

	if (!sk->neg.wscale_ok)
		sk->window_clamp = TERN_MIN(sk->window_clamp, 65535u);
	if (sk->window_clamp >= maxwin) {
		sk->window_clamp = maxwin;
		if (st->sys.tcp_app_win && st->sys.tcp_app_win < 32 && maxwin > 4u * sk->advmss)
			sk->window_clamp = TERN_MAX(maxwin - (maxwin >> st->sys.tcp_app_win), 4u * sk->advmss);
	}
	if (st->sys.tcp_app_win && sk->window_clamp > 2u * sk->advmss && sk->window_clamp + sk->advmss > maxwin)
		sk->window_clamp = TERN_MAX(2u * sk->advmss, maxwin - sk->advmss);
	sk->rcv_ssthresh = TERN_MIN(sk->rcv_ssthresh, sk->window_clamp);
	tern__tcp_rcv_space_init(st, sk);
}

/* Linux's tcp_sndbuf_expand: unless the user fixed SO_SNDBUF, the send buffer
 * holds two congestion windows (at least 10 segments, and the reordering degree
 * plus one) of per-segment memory: the MSS plus headers and buffer overhead,
 * rounded to a power of two (4352 bytes at MSS 1460, so 87040 at first), up to
 * tcp_wmem[2]. tern charges payload bytes against it. */
void tern__tcp_sndbuf_expand(struct tern_stack *st, struct tern_sock *sk)
{
	uint32_t per_mss = TERN_MAX((uint32_t)sk->neg.mss_clamp, (uint32_t)sk->mss_cache) + 320u + 320u;
	uint32_t nr_segs = TERN_MAX(TERN_MAX(sk->cc.cwnd_segs, (uint32_t)TERN_TCP_INIT_CWND),
				    (uint32_t)st->sys.tcp_reordering + 1u);
	uint64_t sndmem;

	if (sk->flags & SK_SNDBUF_LOCK)
		return;
	/* per_mss is at least 640, so the power of two at or above it is 2 <<
	 * (31 - clz(per_mss - 1)) (Linux's roundup_pow_of_two); twice it plus twice
	 * the 256 is the doubled per-segment memory, one shift and one add (the
	 * value is that of 2 * nr_segs * (roundup + 256), in fewer instructions). */
	sndmem = (uint64_t)nr_segs * ((4u << (31 - __builtin_clz(per_mss - 1))) + 512u);
	if (sk->sndbuf < sndmem)
		sk->sndbuf = (uint32_t)TERN_MIN(sndmem, (uint64_t)st->sys.tcp_wmem[2]);
}

/* Linux's __tcp_grow_window: an arrival whose buffer holds more than its payload
 * in window may still grow the ceiling while the ceiling is low: each halving of
 * the largest window (tcp_rmem[2]) the ceiling is under halves what the buffer
 * must carry. */
static uint32_t grow_window_small(const struct tern_stack *st, const struct tern_sock *sk, uint32_t len,
				  uint32_t truesize)
{
	int64_t size = tern__win_from_space(sk, truesize) >> 1;
	int64_t window = tern__win_from_space(sk, st->sys.tcp_rmem[2]) >> 1;

	while ((int64_t)sk->rcv_ssthresh <= window) {
		if (size <= (int64_t)len)
			return 2u * sk->rcv_mss;
		size >>= 1;
		window >>= 1;
	}
	return 0;
}

/* Linux's tcp_grow_window, for an arrival of `len` bytes whose buffers would cost
 * `truesize`: while the buffer has room, the ceiling rises by two segments (or,
 * for an arrival that is mostly overhead, by what grow_window_small allows), or
 * by twice the arrival when that is more (a merged one, TERN_INPUT_GSO), never
 * past the room; and the next ACK goes at once. */
void tern__tcp_grow_window(struct tern_stack *st, struct tern_sock *sk, uint32_t len, uint32_t truesize)
{
	int64_t room = TERN_MIN((int64_t)sk->window_clamp, rcv_space(sk)) - (int64_t)sk->rcv_ssthresh;
	if (room <= 0)
		return;
	int64_t incr = tern__win_from_space(sk, truesize) <= (int64_t)len ? 2 * (int64_t)sk->advmss
									   : grow_window_small(st, sk, len, truesize);
	if (!incr)
		return;
	incr = TERN_MAX(incr, 2 * (int64_t)len);
	sk->rcv_ssthresh += (uint32_t)TERN_MIN(room, incr);
	sk->quick_acks |= 1;
}

/* compute_window's general case (data held, or no scale), out of line: inlined,
 * GCC began its loads and sums before the common case's test and kept them on
 * the stack, which every segment paid. */
static __attribute__((noinline)) uint32_t compute_window_general(struct tern_sock *sk)
{
	uint32_t mss = sk->rcv_mss ? sk->rcv_mss : sk->advmss;
	uint32_t full = full_space(sk);
	int64_t free_space = rcv_space(sk);
	uint32_t window;

	uint32_t allowed = allowed_space(sk);

	if (mss > full)
		mss = full;
	if (free_space < (int64_t)(full >> 1)) {
		/* Under pressure: leave quick-ACK mode, and refuse a window too small to
		 * be worth offering (receiver-side SWS avoidance, RFC 9293 §3.8.6.2.2). */
		sk->quick_acks = 0;
		if (free_space < 0)
			free_space = 0;
		free_space &= ~(int64_t)((1u << sk->neg.rcv_wscale) - 1);
		if (free_space < (int64_t)(allowed >> 4) || free_space < (int64_t)mss)
			return 0;
	}
	if (free_space > (int64_t)sk->rcv_ssthresh)
		free_space = sk->rcv_ssthresh;
	if (sk->neg.rcv_wscale) {
		/* Rounded up to the scale's unit (free_space is at most rcv_ssthresh, a
		 * 32-bit value, so the sum cannot wrap in 64 bits). */
		uint64_t unit_mask = (1u << sk->neg.rcv_wscale) - 1;
		window = (uint32_t)(((uint64_t)free_space + unit_mask) & ~unit_mask);
	} else {
		window = sk->rcv_wnd;
		if ((int64_t)window <= free_space - mss || (int64_t)window > free_space)
			window = (uint32_t)(free_space - free_space % mss);
		else if (mss == full && free_space > (int64_t)(window + (full >> 1)))
			window = (uint32_t)free_space;
	}
	return window;
}

/* Linux's __tcp_select_window: what the window should be from buffer space alone. */
static inline __attribute__((always_inline)) uint32_t compute_window(struct tern_sock *sk)
{
	if (sk->neg.rcv_wscale && !tern__stream_len(&sk->xfer->rcvq) && !sk->xfer->ooo) {
		/* Nothing held, the usual case when we send: the free space is the whole
		 * buffer's window, never under the pressure line (half of at most
		 * itself), so only the ceiling and the scale's rounding below apply. */
		uint64_t free_space = TERN_MIN(allowed_space(sk), sk->rcv_ssthresh);
		uint64_t unit_mask = (1u << sk->neg.rcv_wscale) - 1;
		return (uint32_t)((free_space + unit_mask) & ~unit_mask);
	}
	return compute_window_general(sk);
}

/* What the window would be now, without recording an offer. */
uint32_t tern__tcp_select_window_peek(struct tern_sock *sk)
{
	return compute_window(sk);
}

/* The window field of the next segment, after recording the offer (rcv_wnd,
 * rcv_wup). LINUX-COMPAT: with net.ipv4.tcp_shrink_window=0 the right edge of an
 * earlier offer is never withdrawn (spec §14.12). */
uint32_t tern__tcp_select_window(struct tern_stack *st, struct tern_sock *sk)
{
	int64_t cur = (int64_t)(uint32_t)(sk->rcv_wup + sk->rcv_wnd - sk->rcv_nxt);
	uint32_t new_win = compute_window(sk);

	if (cur < 0 || (uint32_t)(sk->rcv_wup + sk->rcv_wnd - sk->rcv_nxt) > (1u << 30))
		cur = 0;
	if ((int64_t)new_win < cur && !st->sys.tcp_shrink_window) {
		/* Up to the scale's unit: masks, as the unit is a power of two (cur is
		 * at most 2^30 here). */
		uint64_t unit_mask = (1u << sk->neg.rcv_wscale) - 1;
		new_win = (uint32_t)(((uint64_t)cur + unit_mask) & ~unit_mask);
	}
	uint32_t old_win = sk->rcv_wnd;
	sk->rcv_wnd = new_win;
	sk->rcv_wup = sk->rcv_nxt;
	new_win = TERN_MIN(new_win, 65535u << sk->neg.rcv_wscale) >> sk->neg.rcv_wscale;
	if (new_win == 0) {
		if (old_win)
			tern__count(st, TERN_CTR_TcpExtTCPToZeroWindowAdv);
	} else if (old_win == 0) {
		tern__count(st, TERN_CTR_TcpExtTCPFromZeroWindowAdv);
	}
	return new_win;
}

/* ------------------------------------------------------------ building */

/* Appends an option to the list at its proper length (a listed length of 0 asks
 * the builder for exactly that). */
static void opt_add(struct tern_tcp_opts *o, uint8_t kind)
{
	o->kinds[o->count] = kind;
	o->lens[o->count] = 0;
	o->count++;
}

size_t tern__tcp_put_syn_options(uint8_t *p, uint16_t mss, bool ts, bool sack, bool ws, uint32_t ts_val,
				 uint32_t ts_ecr, uint8_t wscale)
{
	uint8_t *q = p;

	/* The bytes tern_tcp_opts_build would write for the same list, written
	 * directly: every SYN and SYN-ACK takes this path. */
	tern_put16(q, TERN_TCPOPT_MSS << 8 | 4);
	tern_put16(q + 2, mss);
	q += 4;
	if (ts) {
		if (sack)
			tern_put16(q, TERN_TCPOPT_SACK_PERM << 8 | 2);
		else
			tern_put16(q, TERN_TCPOPT_NOP << 8 | TERN_TCPOPT_NOP);
		tern_put16(q + 2, TERN_TCPOPT_TS << 8 | 10);
		put_be32(q + 4, ts_val);
		put_be32(q + 8, ts_ecr);
		q += 12;
	} else if (sack) {
		tern_put32(q, (uint32_t)TERN_TCPOPT_NOP << 24 | TERN_TCPOPT_NOP << 16 | TERN_TCPOPT_SACK_PERM << 8 | 2);
		q += 4;
	}
	if (ws) {
		tern_put32(q, (uint32_t)TERN_TCPOPT_NOP << 24 | TERN_TCPOPT_WSCALE << 16 | 3 << 8 | wscale);
		q += 4;
	}
	return (size_t)(q - p);
}

/* Writes the options of a SYN or SYN-ACK at p. Returns their length. */
static size_t syn_options(struct tern_stack *st, struct tern_sock *sk, uint8_t *p, bool synack)
{
	bool ts = synack ? sk->neg.ts_ok : st->sys.tcp_timestamps != 0;
	bool sack = synack ? sk->neg.sack_ok : st->sys.tcp_sack != 0;
	bool ws = synack ? sk->neg.wscale_ok : st->sys.tcp_window_scaling != 0;
	uint32_t ts_val = ts ? tern__tcp_ts_now(st, sk) : 0;

	return tern__tcp_put_syn_options(p, sk->advmss, ts, sack, ws, ts_val, synack ? sk->ts_recent : 0,
					 sk->neg.rcv_wscale);
}

/* Writes the options of a synchronized-state segment at p: timestamps, then SACK
 * blocks for what the out-of-order queue holds (RFC 2018 §4: the block holding the
 * latest arrival first; at most 3 with timestamps, 4 without). Returns their
 * length. */
static size_t __attribute__((noinline, cold)) est_options_sack(struct tern_stack *st, struct tern_sock *sk,
								uint8_t *p)
{
	struct tern_tcp_opts o;
	int got = sack_blocks(sk, o.sack);

	if (got == 0) {
		if (!sk->neg.ts_ok)
			return 0;
		put_ts_option(p, tern__tcp_ts_now(st, sk), sk->ts_recent);
		return TCPOLEN_TS_ALIGNED;
	}
	o.count = 0;
	o.sack_count = (uint8_t)got;
	if (sk->neg.ts_ok) {
		opt_add(&o, TERN_TCPOPT_NOP);
		opt_add(&o, TERN_TCPOPT_NOP);
		opt_add(&o, TERN_TCPOPT_TS);
		o.ts_val = tern__tcp_ts_now(st, sk);
		o.ts_ecr = sk->ts_recent;
	}
	opt_add(&o, TERN_TCPOPT_NOP);
	opt_add(&o, TERN_TCPOPT_NOP);
	opt_add(&o, TERN_TCPOPT_SACK);
	return tern_tcp_opts_build(p, TERN_TCP_MAX_OPT_LEN, &o);
}

static size_t est_options(struct tern_stack *st, struct tern_sock *sk, uint8_t *p)
{
	/* SACK blocks out of line (rare): their option list is a large local,
	 * which made transmit's frame. */
	if (tern__tcp_sack_due(sk))
		return est_options_sack(st, sk, p);
	/* Nearly every segment. */
	if (!sk->neg.ts_ok)
		return 0;
	put_ts_option(p, tern__tcp_ts_now(st, sk), sk->ts_recent);
	return TCPOLEN_TS_ALIGNED;
}

/* Counts a built segment of `n` bytes at tern__ip_payload_buf and sends it: the
 * one place TCP segments leave. LINUX-COMPAT: OutSegs leaves out a socket's
 * retransmissions (__tcp_transmit_skb counts only segments past snd_nxt or
 * without sequence space); every SYN-ACK counts. */
static void emit_built(struct tern_stack *st, const struct tern_ip_out *out, uint8_t flags, size_t n,
		       bool count_outsegs)
{
	TERN_ASSERT(n > 0);
	if (n == 0)
		return;
	if (count_outsegs)
		tern__count(st, TERN_CTR_TcpOutSegs);
	if (flags & TERN_TCP_RST)
		tern__count(st, TERN_CTR_TcpOutRsts);
	tern__ip_output(st, out, n);
}

/* The socket's two ports as the TCP header holds them, the source above the
 * destination: one 32-bit load of the pair (lport then rport, adjacent in the
 * socket) turned by 16 on a little-endian host, instead of two loads, two
 * shifts and an or. */
static inline uint32_t sk_ports(const struct tern_sock *sk)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	_Static_assert(offsetof(struct tern_sock, rport) == offsetof(struct tern_sock, lport) + 2,
		       "the ports are adjacent");
	uint32_t v;
	memcpy(&v, &sk->lport, sizeof(v));
	return v << 16 | v >> 16;
#else
	return (uint32_t)sk->lport << 16 | sk->rport;
#endif
}

/* transmit's flags: the TCP flags in the low byte, and above them this one, for
 * a retransmission (not counted in OutSegs). One argument, not a seventh: the
 * seventh went on the stack at every call. */
#define TX_RETRANS 0x100u

/* Builds and sends one segment. `tx_flags` is the TCP flags, with TX_RETRANS
 * for a retransmission. `data_off` is the payload's offset in the send
 * queue (from snd_una); `len` bytes of it go out. Every segment but a bare SYN
 * carries ACK; sending one settles any ACK we owed. The segment is laid out in
 * place in the transmit buffer: options, then the payload straight from the send
 * queue, then the fixed header and the IPv4 header in front, each written from
 * the socket's fields (no struct tern_tcp or tern_ip_out in between). Counted as
 * emit_built counts. */
static void transmit(struct tern_stack *st, struct tern_sock *sk, tern_seq seq, unsigned tx_flags, size_t data_off,
		     size_t len)
{
	uint8_t *th = tern__ip_payload_buf(st);
	uint8_t flags = (uint8_t)tx_flags;
	tern_seq ack = 0;
	uint16_t win;

	/* Counted first (nothing below reads the counters before the link has the
	 * segment), so that TX_RETRANS need not be kept to the end. */
	if (!(tx_flags & TX_RETRANS))
		tern__count(st, TERN_CTR_TcpOutSegs);
	if (flags & TERN_TCP_RST)
		tern__count(st, TERN_CTR_TcpOutRsts);
	size_t optlen = flags & TERN_TCP_SYN ? syn_options(st, sk, th + TERN_TCP_HDR_LEN, flags & TERN_TCP_ACK)
					     : est_options(st, sk, th + TERN_TCP_HDR_LEN);
	if (flags & TERN_TCP_ACK) {
		ack = sk->rcv_nxt;
		/* RFC 7323 §2.2: a SYN's window is never scaled. */
		if (flags & TERN_TCP_SYN) {
			win = (uint16_t)TERN_MIN(sk->rcv_wnd, 65535u);
			sk->rcv_wup = sk->rcv_nxt;
		} else {
			win = (uint16_t)tern__tcp_select_window(st, sk);
		}
	} else {
		win = (uint16_t)TERN_MIN(sk->rcv_wnd, 65535u);
	}

	if (len) {
		size_t got = tern__stream_peek(&sk->xfer->sndq, data_off, th + TERN_TCP_HDR_LEN + optlen, len);
		TERN_ASSERT(got == len);
		(void)got;
	}
	if (flags & TERN_TCP_ACK) {
		/* Any ACK we send acknowledges all we have: nothing is owed any more, and
		 * a D-SACK is reported once. Linux's tcp_event_ack_sent and
		 * tcp_dec_quickack_mode: each ACK for data spends one quick ACK. */
		if ((sk->ack_pending & ACK_SCHED) && sk->quick_acks) {
			if (--sk->quick_acks == 0)
				sk->ato = TERN_TCP_ATO_MIN_NS;
		}
		if (sk->compressed_ack) {
			tern__count_add(st, TERN_CTR_TcpExtTCPAckCompressed, sk->compressed_ack);
			sk->compressed_ack = 0;
		}
		if (sk->xfer->dsack)
			sk->xfer->dsack = 0;
		sk->ack_pending = 0;
		tern__sk_timer_cancel(st, sk, TERN_SKT_DELACK);
	}
	/* The options are whole words within 40 bytes (the timestamp, the SYN's
	 * list, at most three SACK blocks beside it) and the payload at most an
	 * MSS: the checks tern_tcp_finish makes always pass here. */
	size_t hdr_len = TERN_TCP_HDR_LEN + optlen;
	size_t n = hdr_len + len;
	TERN_ASSERT(optlen % 4 == 0 && optlen <= TERN_TCP_MAX_OPT_LEN && len <= UINT16_MAX - hdr_len);
	/* DF from a connected socket: its own IP ID, taken here where it is used. */
	uint16_t id = sk->ip_id++;
	wire_ipv4_tcp_put_hdrs(st->tx, sk->opts->ip_tos, id, TERN_IP_DF, TERN_IP_DEFAULT_TTL, sk->laddr, sk->raddr,
			       sk_ports(sk), seq, ack, (unsigned)hdr_len, flags, win, n, st->tx_csum_offload);
	tern__ip_emit(st, n);
}

/* Sends a segment whose options already sit in place in the transmit buffer
 * (after its 20-byte fixed header), with no payload: the fixed header from `hdr`
 * goes in front. Counted as tern__tcp_emit's segments are. */
void tern__tcp_emit_in_place(struct tern_stack *st, const struct tern_ip_out *out, const struct tern_tcp *hdr,
			     size_t optlen)
{
	size_t n = tern_tcp_finish(tern__ip_payload_buf(st), hdr, optlen, 0, out->src, out->dst,
				   st->tx_csum_offload);

	emit_built(st, out, hdr->flags, n, true);
}

/* Builds `seg` (its payload may already sit in place in the transmit buffer) and
 * sends it, counted as transmit's segments are. */
void tern__tcp_emit(struct tern_stack *st, const struct tern_ip_out *out, const struct tern_tcp *seg)
{
	size_t n = st->tx_csum_offload
		? tern_tcp_build_partial(tern__ip_payload_buf(st), TERN_IP_MAX_PAYLOAD, seg, out->src, out->dst)
		: tern_tcp_build(tern__ip_payload_buf(st), TERN_IP_MAX_PAYLOAD, seg, out->src, out->dst);

	emit_built(st, out, seg->flags, n, true);
}

/* ------------------------------------------------------------ the scoreboard */

static inline __attribute__((always_inline)) struct tern_txseg *
txseg_add(struct tern_stack *st, struct tern_sock *sk, tern_seq seq, tern_seq end, uint8_t tcp_flags)
{
	struct tern_xfer *x = tern__sk_xfer(st, sk);
	struct tern_txseg *t = x ? tern__pool_get(&st->tcp->txseg_pool) : NULL;

	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->seq = seq;
	t->end = end;
	t->sent_at = st->now;
	t->tcp_flags = tcp_flags;
	if (x->txq_tail)
		x->txq_tail->next = t;
	else
		x->txq_head = t;
	x->txq_tail = t;
	x->packets_out++;
	return t;
}

void tern__tcp_free_txq(struct tern_stack *st, struct tern_sock *sk)
{
	struct tern_xfer *x = sk->xfer;

	if (!tern__sk_has_xfer(sk))
		return;
	for (struct tern_txseg *t = x->txq_head, *next; t; t = next) {
		next = t->next;
		tern__pool_put(&st->tcp->txseg_pool, t);
	}
	x->txq_head = x->txq_tail = NULL;
	x->packets_out = x->sacked_out = x->lost_out = x->retrans_out = 0;
}

/* Resends one scoreboard entry as it was first cut. */
void tern__tcp_retransmit_seg(struct tern_stack *st, struct tern_sock *sk, struct tern_txseg *t)
{
	/* A retransmission carries what the original carried (PSH included). */
	uint8_t flags = TERN_TCP_ACK | (t->tcp_flags & (TERN_TCP_FIN | TERN_TCP_SYN | TERN_TCP_PSH));
	size_t len = (size_t)(t->end - t->seq) - !!(t->tcp_flags & TERN_TCP_FIN) - !!(t->tcp_flags & TERN_TCP_SYN);
	tern_seq seq = t->seq;

	/* Part of it may have been acked since (a partial ACK): send only the rest. */
	if (seq_lt(seq, sk->snd_una)) {
		uint32_t skip = sk->snd_una - seq;
		len = skip < len ? len - skip : 0;
		seq = sk->snd_una;
	}
	if (t->tcp_flags & TERN_TCP_SYN) {
		tern__tcp_send_syn(st, sk, true);
		return;
	}
	transmit(st, sk, seq, flags | TX_RETRANS, (size_t)(seq - sk->snd_una), len);
	/* The give-up budget runs from the head's first transmission (spec §14.17). */
	if (!sk->retrans_stamp)
		sk->retrans_stamp = t->sent_at;
	if (!(t->flags & TXSEG_RETRANS))
		sk->xfer->retrans_out++;
	t->flags |= TXSEG_RETRANS | TXSEG_EVER_RETRANS;
	t->retrans++;
	t->sent_at = st->now;
	tern__count(st, TERN_CTR_TcpRetransSegs);
	tern__tcp_prr_sent(sk, 1);
}

void tern__tcp_retransmit_head(struct tern_stack *st, struct tern_sock *sk)
{
	if (sk->xfer->txq_head)
		tern__tcp_retransmit_seg(st, sk, sk->xfer->txq_head);
}

/* Resends segments marked lost while the congestion window allows (Linux's
 * tcp_xmit_retransmit_queue). Returns true if it sent anything. */
bool tern__tcp_retransmit_lost(struct tern_stack *st, struct tern_sock *sk)
{
	bool sent = false;

	for (struct tern_txseg *t = sk->xfer->txq_head; t; t = t->next) {
		if (tern__tcp_in_flight(sk) >= sk->cc.cwnd_segs)
			break;
		if ((t->flags & (TXSEG_LOST | TXSEG_RETRANS | TXSEG_SACKED)) != TXSEG_LOST)
			continue;
		tern__count(st, sk->cc.ca_state == TERN_CA_LOSS ? TERN_CTR_TcpExtTCPSlowStartRetrans
								 : TERN_CTR_TcpExtTCPFastRetrans);
		tern__tcp_retransmit_seg(st, sk, t);
		sent = true;
	}
	return sent;
}

/* ------------------------------------------------------------ SYN, ACK, RST */

void tern__tcp_send_syn(struct tern_stack *st, struct tern_sock *sk, bool retransmit)
{
	uint8_t flags = TERN_TCP_SYN | (sk->state == TERN_TCP_SYN_RECV ? TERN_TCP_ACK : 0);

	/* Loaded once: transmit does not move it, but GCC cannot know. */
	tern_seq iss = sk->iss;

	transmit(st, sk, iss, flags | (retransmit && flags == TERN_TCP_SYN ? TX_RETRANS : 0), 0, 0);
	if (!retransmit) {
		if (!txseg_add(st, sk, iss, iss + 1, TERN_TCP_SYN))
			return;
		/* The SYN takes one sequence number of the stream the user writes. */
		sk->snd_nxt = sk->write_seq = iss + 1;
		sk->snd_max = sk->pushed_seq = sk->snd_sml = sk->snd_nxt;
		sk->retrans_stamp = st->now;
		tern__tcp_rearm_rto(st, sk);
	} else {
		if (sk->xfer->txq_head)
			sk->xfer->txq_head->flags |= TXSEG_EVER_RETRANS;
		tern__count(st, TERN_CTR_TcpRetransSegs);
		tern__count(st, TERN_CTR_TcpExtTCPSynRetrans);
	}
}

void tern__tcp_send_ack(struct tern_stack *st, struct tern_sock *sk)
{
	if (sk->state == TERN_TCP_CLOSE || sk->state == TERN_TCP_LISTEN || sk->state == TERN_TCP_SYN_SENT)
		return;
	transmit(st, sk, sk->snd_nxt, TERN_TCP_ACK, 0, 0);
}

/* Linux's tcp_send_active_reset: RST|ACK at snd_nxt acknowledging rcv_nxt. */
void tern__tcp_send_active_reset(struct tern_stack *st, struct tern_sock *sk)
{
	transmit(st, sk, sk->snd_nxt, TERN_TCP_RST | TERN_TCP_ACK, 0, 0);
}

/* RFC 5961 §7 and tcp_invalid_ratelimit: at most one of these ACKs per socket per
 * interval. Returns true when this one must be suppressed. */
bool tern__tcp_ratelimit_ack(struct tern_stack *st, struct tern_sock *sk)
{
	/* Linux compares jiffies (HZ=1000): a stamp in the future is not recent. */
	if (sk->last_oow_ack) {
		int32_t elapsed = (int32_t)(tern__sk_ms(st) - sk->last_oow_ack);
		if (elapsed >= 0 && (int64_t)elapsed < (int64_t)st->sys.tcp_invalid_ratelimit)
			return true;
	}
	sk->last_oow_ack = tern__sk_ms(st);
	return false;
}

/* A challenge ACK (RFC 5961 §3.2, §4.2, §5.2; spec §7.3 step 5). */
void tern__tcp_send_challenge_ack(struct tern_stack *st, struct tern_sock *sk)
{
	if (tern__tcp_ratelimit_ack(st, sk)) {
		tern__count(st, TERN_CTR_TcpExtTCPACKSkippedChallenge);
		return;
	}
	tern__count(st, TERN_CTR_TcpExtTCPChallengeACK);
	tern__tcp_send_ack(st, sk);
}

/* A zero-window probe (spec §14.10): a bare ACK one below snd_una, which the peer
 * must answer with its current window. */
void tern__tcp_send_probe(struct tern_stack *st, struct tern_sock *sk)
{
	transmit(st, sk, sk->snd_una - 1, TERN_TCP_ACK, 0, 0);
}

/* ------------------------------------------------------------ sending data */

/* Minshall's Nagle (spec §14.6): hold a small segment back only while an earlier
 * small segment is still unacknowledged. */
static bool nagle_holds(const struct tern_sock *sk, uint32_t len, uint32_t mss)
{
	if (len >= mss || (sk->flags & SK_NODELAY))
		return false;
	if (sk->flags & SK_CORK)
		return true;
	return seq_gt(sk->snd_sml, sk->snd_una) && tern__tcp_in_flight(sk) > 0;
}

/* Linux's tcp_xmit_size_goal: how large tcp_sendmsg lets an skb grow, a whole
 * number of segments within half the peer's largest window and the 64 KiB GSO
 * limit (less Linux's MAX_TCP_HEADER reserve, 320 bytes on x86-64). */
static uint32_t size_goal_bytes(const struct tern_sock *sk)
{
	uint32_t goal = 65536 - 1 - 320;
	uint32_t cutoff = sk->max_window > 536 ? sk->max_window / 2 : sk->max_window;
	if (cutoff && goal > cutoff)
		goal = TERN_MAX(cutoff, 68u - (sk->neg.ts_ok ? 32u : 20u));
	return goal;
}

static uint32_t size_goal(const struct tern_sock *sk, uint32_t mss)
{
	uint32_t goal = size_goal_bytes(sk);
	return TERN_MAX(goal / mss * mss, mss);
}

static void add_psh_mark(struct tern_xfer *x, tern_seq at)
{
	if (x->psh_count == 0) {
		x->psh_first = at;
		x->psh_count = 1;
	} else if (x->psh_count == 1) {
		x->psh_step = at - x->psh_first;
		x->psh_count = 2;
	} else if (at == x->psh_first + x->psh_count * x->psh_step && x->psh_count < UINT16_MAX) {
		x->psh_count++;
	}
	/* else: a second progression while the first is unsent; its marks are
	 * lost (PSH is a hint; this needs two large writes stuck behind cwnd). */
}

void tern__tcp_written(struct tern_stack *st, struct tern_sock *sk, uint32_t n)
{
	struct tern_xfer *x = sk->xfer;   /* taken by the write that queued the bytes */
	uint32_t goal;

	TERN_ASSERT(tern__sk_has_xfer(sk));
	if (sk->snd_nxt == sk->write_seq || seq_lt(x->tail_start, sk->snd_nxt)) {
		/* The tail skb left whole (a new one starts) or in part (what is left
		 * of it is the tail). */
		if (sk->snd_nxt == sk->write_seq)
			x->tail_psh = 0;
		x->tail_start = sk->snd_nxt;
	}
	/* The rounded goal is at least half the unrounded one plus a half (whole
	 * segments lose less than one MSS, and there is at least one), so a tail that
	 * stays within half of it cannot fill: the loop would add all `n` and mark
	 * nothing. A small write skips the MSS and its division. */
	uint32_t half = size_goal_bytes(sk) / 2;
	uint32_t used = sk->write_seq - x->tail_start;
	if (n <= half && used <= half - n) {
		sk->write_seq += n;
		n = 0;
	}
	goal = n ? size_goal(sk, current_mss(st, sk)) : 0;
	while (n) {
		if (sk->write_seq - x->tail_start >= goal) {
			x->tail_start = sk->write_seq;
			x->tail_psh = 0;
		}
		uint32_t copy = TERN_MIN(n, goal - (sk->write_seq - x->tail_start));
		sk->write_seq += copy;
		n -= copy;
		if (sk->write_seq - x->tail_start < goal)
			continue;
		/* The skb is full: forced_push marks it when half a window went by
		 * unmarked; a marked full skb keeps its PSH at its end. */
		if ((uint32_t)(sk->write_seq - sk->pushed_seq) > sk->max_window / 2) {
			x->tail_psh = 1;
			sk->pushed_seq = sk->write_seq;
		}
		if (x->tail_psh)
			add_psh_mark(x, sk->write_seq);
	}
	/* tcp_push at the end of the write marks the tail (no MSG_MORE). */
	x->tail_psh = 1;
	sk->pushed_seq = sk->write_seq;
}

/* Whether the segment [seq, end) carries PSH: it ends the marked tail skb or
 * reaches a pending mark. Marks it has passed are spent. */
static bool take_psh_mark(struct tern_sock *sk, tern_seq seq, tern_seq end)
{
	struct tern_xfer *x = sk->xfer;
	bool psh = end == sk->write_seq && x->tail_psh;
	(void)seq;
	while (x->psh_count && seq_leq(x->psh_first, end)) {
		psh = true;
		x->psh_first += x->psh_step;
		x->psh_count--;
	}
	return psh;
}

/* Sends `len` new bytes at snd_nxt (and the FIN if `with_fin`), as one segment.
 * PSH marks the end of what was written and every half window inside a large
 * write (spec §14.8), or is forced. Returns false when out of segment memory. */
static inline __attribute__((always_inline)) bool send_new(struct tern_stack *st, struct tern_sock *sk,
							      uint32_t len, uint32_t mss, bool with_fin, bool psh)
{
	uint8_t flags = TERN_TCP_ACK;
	tern_seq seq = sk->snd_nxt;

	if (len && (psh || take_psh_mark(sk, seq, seq + len)))
		flags |= TERN_TCP_PSH;
	if (with_fin)
		flags |= TERN_TCP_FIN;
	if (len && tern__tcp_in_flight(sk) == 0) {
		/* Linux's tcp_event_data_sent: sending resumes with nothing in flight
		 * (CUBIC restarts its epoch from here). */
		struct tern_cc_conn c = tern__tcp_cc_conn(st, sk);
		tern__cc_event(&sk->cc, &c, TERN_CC_EVENT_TX_START);
	}
	if (!txseg_add(st, sk, seq, seq + len + (with_fin ? 1 : 0), flags & (TERN_TCP_FIN | TERN_TCP_PSH)))
		return false;
	transmit(st, sk, seq, flags, (size_t)(seq - sk->snd_una), len);
	/* Linux's tcp_event_new_data_sent: one per new segment, a lone FIN too. */
	tern__count(st, TERN_CTR_TcpExtTCPOrigDataSent);
	tern__tcp_prr_sent(sk, 1);
	if (len < mss)
		sk->snd_sml = seq + len;
	sk->snd_nxt = seq + len + (with_fin ? 1 : 0);
	if (with_fin)
		sk->flags |= SK_FIN_SENT;
	if (seq_gt(sk->snd_nxt, sk->snd_max))
		sk->snd_max = sk->snd_nxt;
	if (len)
		sk->lsndtime = tern__sk_ms(st);   /* data, not a bare FIN (tcp_event_data_sent) */
	return true;
}

/* Linux's tcp_write_wakeup, run by the persist timer: if the peer's window has
 * room, the next unsent data leaves (up to one MSS, with PSH) whatever Nagle, the
 * cork or the congestion window say; otherwise a zero-window probe goes.
 * Returns true if data was sent. */
bool tern__tcp_write_wakeup(struct tern_stack *st, struct tern_sock *sk)
{
	uint32_t unsent = tern__tcp_unsent(sk);
	tern_seq wnd_end = sk->snd_una + sk->snd_wnd;

	if (unsent && seq_lt(sk->snd_nxt, wnd_end)) {
		uint32_t mss = current_mss(st, sk);
		uint32_t len = TERN_MIN(TERN_MIN(unsent, mss), (uint32_t)(wnd_end - sk->snd_nxt));
		bool fin_due = (sk->flags & SK_FIN_QUEUED) && !(sk->flags & SK_FIN_SENT);
		return send_new(st, sk, len, mss, fin_due && len == unsent, true);
	}
	tern__count(st, TERN_CTR_TcpExtTCPWinProbe);
	tern__tcp_send_probe(st, sk);
	return false;
}

/* The tail loss probe's new data (Linux's tcp_send_loss_probe with
 * tcp_write_xmit's push_one = 2): one segment if the peer's window takes it,
 * whatever cwnd and Nagle say. */
bool tern__tcp_send_probe_data(struct tern_stack *st, struct tern_sock *sk)
{
	uint32_t unsent = tern__tcp_unsent(sk);
	uint32_t mss = current_mss(st, sk);
	uint32_t len = TERN_MIN(unsent, mss);

	if (!unsent || seq_gt(sk->snd_nxt + len, sk->snd_una + sk->snd_wnd))
		return false;
	bool fin_due = (sk->flags & SK_FIN_QUEUED) && !(sk->flags & SK_FIN_SENT);
	return send_new(st, sk, len, mss, fin_due && len == unsent, false);
}

/* Sends what the windows and Nagle allow, then the FIN if it is due (Linux's
 * tcp_write_xmit). Arms the persist timer when the peer's window stops us with
 * nothing in flight. */
void __attribute__((noinline)) tern__tcp_push_send(struct tern_stack *st, struct tern_sock *sk)
{
	uint32_t mss;
	bool sent = false;

	if (sk->cc.ca_state >= TERN_CA_RECOVERY)
		tern__tcp_retransmit_lost(st, sk);
	mss = push_mss(st, sk);

	for (;;) {
		uint32_t unsent = tern__tcp_unsent(sk);
		bool fin_due = (sk->flags & SK_FIN_QUEUED) && !(sk->flags & SK_FIN_SENT);

		if (unsent == 0 && !fin_due)
			break;
		/* A segment carrying only a FIN always fits the congestion window. */
		if (unsent && tern__tcp_in_flight(sk) >= sk->cc.cwnd_segs)
			break;
		uint32_t len = TERN_MIN(unsent, mss);
		tern_seq wnd_end = sk->snd_una + sk->snd_wnd;
		if (len && seq_gt(sk->snd_nxt + len, wnd_end)) {
			/* The peer's window is the limit (RFC 9293 §3.8.6.2.1 sender SWS
			 * avoidance: send less only if it is at least half the max window). */
			uint32_t room = seq_gt(wnd_end, sk->snd_nxt) ? wnd_end - sk->snd_nxt : 0;
			if (room == 0 || room < sk->max_window / 2 || room < len / 2) {
				if (tern__tcp_in_flight(sk) == 0)
					tern__tcp_arm_persist(st, sk);
				break;
			}
			len = room;
		}
		if (len && nagle_holds(sk, len, mss)) {
			/* TCP_CORK's ceiling (spec §14.7): the persist timer, when nothing is in
			 * flight to clock the data out. */
			if (tern__tcp_in_flight(sk) == 0 && (sk->flags & SK_CORK))
				tern__tcp_arm_persist(st, sk);
			break;
		}

		bool with_fin = fin_due && len == unsent;
		if (!send_new(st, sk, len, mss, with_fin, false))
			break;
		sent = true;
		if (with_fin)
			break;
	}
	if (!sent)
		return;
	/* New data in flight: the RTO guards it (armed when the first segment
	 * leaves), replaced by a loss probe when one applies (Linux's
	 * tcp_event_new_data_sent, then tcp_schedule_loss_probe). */
	if (!tern__sk_timer_pending(sk, TERN_SKT_RTX) || sk->rtx_kind == RTX_PERSIST)
		tern__tcp_arm_rto_and_probe(st, sk);
	else if (sk->rtx_kind == RTX_RETRANS || sk->rtx_kind == RTX_PROBE)
		tern__tcp_schedule_loss_probe(st, sk, false);
}

/* Push out of line, for the callers off the hot path (socket options, the
 * SYN-SENT path); the logic is tern__tcp_push_inline's (tcp.h). */
void tern__tcp_push(struct tern_stack *st, struct tern_sock *sk)
{
	tern__tcp_push_inline(st, sk);
}
