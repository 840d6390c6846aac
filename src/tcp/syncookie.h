/*
 * tcp/syncookie.h: the SYN cookie codec (design essay in syncookie.c). Pure
 * functions: the keys, the time and the 4-tuple are passed in.
 */
#ifndef TERN_TCP_SYNCOOKIE_H
#define TERN_TCP_SYNCOOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/siphash.h"
#include "tern/types.h"

#define TERN_COOKIE_MSS_COUNT 4

/* The connection as the listener sees it: s = the client, d = us. */
struct tern_cookie_tuple {
	uint32_t saddr, daddr;
	uint16_t sport, dport;
};

/* Options carried in the SYN-ACK's timestamp. */
struct tern_cookie_opts {
	bool wscale_ok;
	uint8_t wscale;   /* the peer's shift */
	bool sack_ok;
	bool ecn_ok;
};

/* The cookie clock: minutes of stack time. */
uint32_t tern__cookie_minute(tern_time now);

/* The largest table MSS not above the peer's (or 536): its index, and the MSS the
 * connection will use in *mss_used. */
unsigned tern__cookie_mss_index(uint16_t peer_mss, uint16_t *mss_used);

/* The cookie for a SYN with `client_isn`, made in `minute`. */
tern_seq tern__cookie_make(const struct tern_siphash_key keys[2], const struct tern_cookie_tuple *t,
			   tern_seq client_isn, uint32_t minute, unsigned mss_index);

/* Checks the first ACK of a cookie handshake (`ack`, `seq` as received). Returns the
 * MSS index and the MSS in *mss, or -1 if the cookie is not ours, is from another
 * 4-tuple, or is older than two minutes. */
int tern__cookie_check(const struct tern_siphash_key keys[2], const struct tern_cookie_tuple *t, tern_seq ack,
		       tern_seq seq, uint32_t minute_now, uint16_t *mss);

/* Our SYN-ACK's TSval (before the per-host offset) with the options in its low 6
 * bits; `now_ms` is the stack's millisecond clock. */
uint32_t tern__cookie_ts_encode(uint32_t now_ms, const struct tern_cookie_opts *o);
/* The options from a TSecr with the offset already removed. */
void tern__cookie_ts_decode(uint32_t tsecr_without_offset, struct tern_cookie_opts *o);

#endif
