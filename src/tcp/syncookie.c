/*
 * tcp/syncookie.c: SYN cookies, the way Linux makes and checks them (spec §3;
 * RFC 4987 §3.6 describes the idea).
 *
 * The threat. A SYN flood fills a listener's SYN queue with half-open requests
 * from forged addresses that will never complete; once the queue is full, real
 * clients are turned away. Keeping less state per request only moves the limit.
 * A cookie removes the state: when the queue is full (tcp_syncookies=1) or always
 * (=2), the listener answers a SYN with a SYN-ACK whose sequence number encodes
 * everything it would have kept, and keeps nothing. A real client's ACK returns
 * that number plus one; the listener checks it and builds the connection from it.
 * A forger who never sees our SYN-ACK cannot produce a valid ACK.
 *
 * The layout of the 32-bit ISN (the cookie):
 *
 *     cookie = H0(addrs, ports, 0) + client_isn
 *            + (minute << 24)
 *            + ((H1(addrs, ports, minute) + mss_index) mod 2^24)
 *
 * H0 and H1 are SipHash-2-4 with the stack's two cookie keys over the four words
 * (saddr, daddr, sport<<16 | dport, minute or 0), truncated to 32 bits. The top 8
 * bits, after the first hash and the client ISN are subtracted, carry the minute
 * the cookie was made in; the low 24 bits carry a second hash, which only the key
 * holder can compute, plus a 2-bit index into the MSS table {536, 1300, 1440, 1460}.
 *
 * The arithmetic of a check. Given the ACK, c = ack - 1 is the cookie and s =
 * seq - 1 the client ISN. Subtracting H0 + s leaves (minute << 24) + low24. The
 * minute is read from the top byte; the cookie is good in the minute it was made
 * and the next (so 60 to 120 s: MAX_SYNCOOKIE_AGE 2). Subtracting H1 for that
 * minute from the low 24 bits must leave a valid MSS index (< 4): a forger guessing
 * blindly succeeds with probability 4 / 2^24 per try.
 *
 * Options carried in the timestamp. Window scale, SACK-permitted and ECN do not fit
 * in 32 bits of ISN, so when the SYN carried timestamps the low 6 bits of our
 * SYN-ACK's TSval hold them (bits 0-3 the peer's shift or 0xF for none, bit 4 SACK,
 * bit 5 ECN); the client echoes them in TSecr. Without timestamps only the MSS
 * survives, and the SYN-ACK offers nothing else.
 */
#include "tcp/syncookie.h"

static const uint16_t msstab[TERN_COOKIE_MSS_COUNT] = { 536, 1300, 1440, 1460 };

#define COOKIEBITS 24
#define COOKIEMASK ((1u << COOKIEBITS) - 1)
#define MAX_SYNCOOKIE_AGE 2
#define TSBITS 6
#define TSMASK ((1u << TSBITS) - 1)

static uint32_t cookie_hash(const struct tern_siphash_key *key, const struct tern_cookie_tuple *t,
			    uint32_t count)
{
	return (uint32_t)tern__siphash_4u32(key, t->saddr, t->daddr, (uint32_t)t->sport << 16 | t->dport, count);
}

uint32_t tern__cookie_minute(tern_time now)
{
	return (uint32_t)(now / (60 * TERN_NS_PER_SEC));
}

unsigned tern__cookie_mss_index(uint16_t peer_mss, uint16_t *mss_used)
{
	unsigned i = TERN_COOKIE_MSS_COUNT;

	while (--i > 0)
		if (peer_mss >= msstab[i])
			break;
	*mss_used = msstab[i];
	return i;
}

tern_seq tern__cookie_make(const struct tern_siphash_key keys[2], const struct tern_cookie_tuple *t,
			   tern_seq client_isn, uint32_t minute, unsigned mss_index)
{
	return cookie_hash(&keys[0], t, 0) + client_isn + (minute << COOKIEBITS) +
	       ((cookie_hash(&keys[1], t, minute) + mss_index) & COOKIEMASK);
}

int tern__cookie_check(const struct tern_siphash_key keys[2], const struct tern_cookie_tuple *t, tern_seq ack,
		       tern_seq seq, uint32_t minute_now, uint16_t *mss)
{
	tern_seq cookie = ack - 1, client_isn = seq - 1;
	uint32_t rest = cookie - (cookie_hash(&keys[0], t, 0) + client_isn);
	uint32_t age = (minute_now - (rest >> COOKIEBITS)) & 0xff;

	if (age >= MAX_SYNCOOKIE_AGE)
		return -1;
	uint32_t index = (rest - cookie_hash(&keys[1], t, minute_now - age)) & COOKIEMASK;
	if (index >= TERN_COOKIE_MSS_COUNT)
		return -1;
	*mss = msstab[index];
	return (int)index;
}

uint32_t tern__cookie_ts_encode(uint32_t now_ms, const struct tern_cookie_opts *o)
{
	uint32_t options = o->wscale_ok ? (o->wscale & 0xf) : 0xf;
	uint32_t ts;

	options |= (uint32_t)o->sack_ok << 4;
	options |= (uint32_t)o->ecn_ok << 5;
	ts = (now_ms & ~TSMASK) | options;
	/* Never ahead of the clock: step back one 64 ms unit if it would be. */
	if ((int32_t)(ts - now_ms) > 0)
		ts -= TSMASK + 1;
	return ts;
}

void tern__cookie_ts_decode(uint32_t tsecr_without_offset, struct tern_cookie_opts *o)
{
	uint32_t options = tsecr_without_offset & TSMASK;
	uint32_t ws = options & 0xf;

	o->wscale_ok = ws != 0xf;
	o->wscale = o->wscale_ok ? (uint8_t)ws : 0;
	o->sack_ok = (options >> 4) & 1;
	o->ecn_ok = (options >> 5) & 1;
}
