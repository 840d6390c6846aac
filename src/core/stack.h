/*
 * core/stack.h: struct tern_stack, the one object that holds all of a host's state,
 * and the internal helpers every layer uses on it (time, counters, logging, the
 * transmit scratch buffer). Layers above reach the stack only through this header.
 */
#ifndef TERN_CORE_STACK_H
#define TERN_CORE_STACK_H

#include <stdarg.h>
#include <stdint.h>

#include "core/prng.h"
#include "core/siphash.h"
#include "core/timer.h"
#include "core/util.h"
#include "sysctl/sysctl.h"
#include "tern/stack.h"

/* Largest datagram the stack builds or accepts (the IPv4 total-length limit). */
#define TERN_IP_MAX_DATAGRAM 65535

struct tern_tcp_tables;

/* Keys derived once from the driver's secret (or from the seed in tests). Each use
 * has its own key, as Linux keeps net_secret, ts_secret and syncookie_secret apart. */
struct tern_secrets {
	struct tern_siphash_key isn;        /* ISNs (RFC 6528) */
	struct tern_siphash_key ts_off;     /* per-address-pair timestamp offsets */
	struct tern_siphash_key port;       /* ephemeral port offsets (RFC 6056 alg. 4) */
	struct tern_siphash_key cookie[2];  /* SYN cookies: two keys, as Linux has */
};

struct tern_stack {
	tern_time now;                      /* latest time given by the driver */
	uint64_t now_ms;                    /* now / TERN_NS_PER_MS, kept with it: sockets
					     * stamp in milliseconds many times per packet */
	struct tern_addr addrs[TERN_STACK_MAX_ADDRS];
	unsigned naddrs;                    /* at least 1: the address given at creation */
	uint32_t v4[TERN_STACK_MAX_ADDRS];  /* addrs[i].u.v4, packed (all are IPv4) */
	uint16_t ip_id;                     /* next IP ID for datagrams without DF */

	struct tern_prng prng;
	struct tern_secrets secrets;
	struct tern_timers timers;
	struct tern_sysctls sys;            /* knob values (sysctl/table.h) */
	struct tern_tcp_tables *tcp;        /* sockets and their tables (tcp/sock.h) */
	uint32_t mtu;                       /* of the host's one interface */

	tern_emit_fn emit;
	void *emit_ctx;
	tern_log_fn log;
	void *log_ctx;
	tern_echo_reply_fn echo_reply;
	void *echo_reply_ctx;
	bool tx_csum_offload;               /* leave TCP checksums partial (config) */

	uint64_t counters[TERN_CTR_COUNT];

	/* Every outgoing datagram is built here, then handed to `emit`: the transmit path
	 * needs no allocation. Aligned for the checksum's word loads. */
	_Alignas(8) uint8_t tx[TERN_IP_MAX_DATAGRAM];
};

static inline void tern__count(struct tern_stack *st, enum tern_counter id) { st->counters[id]++; }
static inline void tern__count_add(struct tern_stack *st, enum tern_counter id, uint64_t n) { st->counters[id] += n; }

/* The wheel's tick is the millisecond, so the stack's millisecond clock is its tick. */
_Static_assert(TERN_TIMER_TICK_NS == TERN_NS_PER_MS, "the wheel ticks in milliseconds");

/* Moves the stack's clock to `now` and runs the timers due by then. Every entry
 * point that takes a time calls this first. Inline: every arriving datagram does,
 * and most find nothing due (the wheel's own check, on the tick kept here). Most
 * find the clock where it was, too (the simulator delivers a batch at one
 * instant: 99.8 % of arrivals in `tern bench lifecycle`), so the millisecond
 * clock is worked out again only when the time moves; `now` and `now_ms` are
 * written nowhere else, so the one kept is the one it would give. */
static inline void tern__stack_set_time(struct tern_stack *st, tern_time now)
{
	/* Time is the driver's to give, and it must be monotonic (DESIGN.md §1). */
	TERN_ASSERT(now >= st->now);
	if (now > st->now) {
		st->now = now;
		st->now_ms = (uint64_t)now / TERN_NS_PER_MS;
	}
	tern__timers_run_tick(&st->timers, st->now, st->now_ms, st);
}

/* True if `addr` (IPv4, host order) is one of the host's addresses. Inline: every
 * arriving datagram asks twice (its source and its destination). */
static inline bool tern__stack_owns_v4(const struct tern_stack *st, uint32_t addr)
{
	/* The first address is always there, and usually the one asked about. */
	if (st->v4[0] == addr)
		return true;
	for (unsigned i = 1; i < st->naddrs; i++)
		if (st->v4[i] == addr)
			return true;
	return false;
}

/* Formats a log line and hands it to the log callback, if any. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void tern__log(struct tern_stack *st, int level, const char *fmt, ...);

#endif
