/*
 * tcp/isn.c: initial sequence numbers and timestamp offsets, the Linux way
 * (RFC 6528; spec §7.2).
 *
 * An ISN is a keyed hash of the connection's 4-tuple plus a clock that ticks once
 * every 64 ns, so successive incarnations of one 4-tuple get increasing ISNs while
 * an off-path attacker cannot predict any of them. Timestamps are our millisecond
 * clock plus an offset hashed from the address pair alone (not the ports), as Linux
 * does with tcp_timestamps=1; with tcp_timestamps=2 the offset is 0.
 */
#include "tcp/sock.h"

tern_seq tern__isn(struct tern_stack *st, uint32_t laddr, uint32_t raddr, uint16_t lport, uint16_t rport)
{
	/* The key never changes, so the hash's state after the address pair (its
	 * first word) can be kept for the last pair: only the ports' word is left. */
	struct tern_isn_memo *m = &st->tcp->isn_memo;
	if (!m->valid || m->laddr != laddr || m->raddr != raddr) {
		m->mid = tern__siphash_mid_2u32(&st->secrets.isn, laddr, raddr);
		m->laddr = laddr;
		m->raddr = raddr;
		m->valid = true;
	}
	uint32_t hash = (uint32_t)tern__siphash_3u32_mid(&m->mid, (uint32_t)lport << 16 | rport);
	/* 64 ns a tick: the 32-bit space turns over every ~275 s (spec §7.2). */
	return hash + (uint32_t)((uint64_t)st->now >> 6);
}

uint32_t tern__ts_offset(struct tern_stack *st, uint32_t laddr, uint32_t raddr)
{
	if (st->sys.tcp_timestamps != 1)
		return 0;
	/* The key never changes, so the last pair's hash can be kept. */
	struct tern_ts_off_memo *m = &st->tcp->ts_off_memo;
	if (!m->valid || m->laddr != laddr || m->raddr != raddr) {
		m->off = (uint32_t)tern__siphash_2u32(&st->secrets.ts_off, laddr, raddr);
		m->laddr = laddr;
		m->raddr = raddr;
		m->valid = true;
	}
	return m->off;
}

uint32_t tern__tcp_ts_now(const struct tern_stack *st, const struct tern_sock *sk)
{
	return (uint32_t)st->now_ms + sk->ts_offset;
}
