/*
 * tcp/tw.h: TIME-WAIT (and an orphan's FIN-WAIT-2) as compact objects rather than
 * sockets (spec §6.4-§6.7). Design notes in tw.c.
 */
#ifndef TERN_TCP_TW_H
#define TERN_TCP_TW_H

#include <stdbool.h>
#include <stdint.h>

#include "core/stack.h"
#include "tcp/sock.h"
#include "tern/diag.h"
#include "tern/wire.h"

#define TW_IN_USE    0x01
#define TW_REUSEADDR 0x02
#define TW_REUSEPORT 0x04
#define TW_HAS_TS    0x08   /* the connection had timestamps */

/* 48 bytes (checked at compile time); links are array indices plus one. The
 * expiry list's links live beside the entries (tw.c), not in them. The first 32
 * bytes are what a SYN reopening the 4-tuple reads (the lookup's tuple, the
 * sequence numbers and timestamp it judges and takes its ISN from, the state
 * and flags) and what the entry's removal then reads: entries sit 48 bytes
 * apart, so for three in four those 32 bytes are one cache line. */
struct tern_tw {
	uint32_t hnext;              /* 4-tuple hash chain */
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	tern_seq snd_nxt, rcv_nxt;
	uint32_t ts_recent;
	union {
		struct {
			uint16_t ts_stamp_s;  /* stack seconds when ts_recent was taken,
						 modulo 2^16: ages matter only up to
						 PAWS's 2147 s */
			uint8_t substate : 4; /* TERN_TCP_TIME_WAIT or TERN_TCP_FIN_WAIT2 */
			uint8_t list : 4;     /* which expiry list holds it */
			uint8_t rcv_wscale : 4;
			uint8_t flags : 4;    /* TW_* */
		};
		/* The four above as one word, as tern__tw_enter writes them
		 * (TW_WORD: GCC's x86-64 layout, low bits first; checked at init). */
		uint32_t word;
	};
	uint32_t rcv_wnd;            /* the window last offered, in bytes */
	uint32_t expires_ms;         /* stack milliseconds; lifetimes are minutes, so
					32 bits compare safely */
	uint32_t entry_ms;           /* when it became TIME-WAIT (tcp_tw_reuse_delay) */
	uint32_t last_oow_ms;        /* last rate-limited ACK (0 = none) */
};

#define TW_WORD(stamp, substate, list, rcv_wscale, flags) \
	((uint32_t)(stamp) | (uint32_t)(substate) << 16 | (uint32_t)(list) << 20 | (uint32_t)(rcv_wscale) << 24 | \
	 (uint32_t)(flags) << 28)

struct tern_sock;

int tern__tw_init(struct tern_stack *st);
void tern__tw_fini(struct tern_stack *st);

/* Replaces `sk` by a time-wait object in `state` (TIME_WAIT, or FIN_WAIT2 for an
 * orphan) living `timeout`, and closes the socket (Linux's tcp_time_wait). Beyond
 * tcp_max_tw_buckets no object is made (TCPTimeWaitOverflow). */
void tern__tw_enter(struct tern_stack *st, struct tern_sock *sk, int state, tern_time timeout);

struct tern_tw *tern__tw_lookup(struct tern_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
				uint16_t rport);

/* The part of the time-wait table (tw.c) a lookup reads, first in it so that
 * the inline lookup below can read it through the table's pointer. */
struct tern_tw_index {
	struct tern_tw *tws;         /* the entries, by index */
	uint32_t *buckets;           /* 4-tuple hash chains */
	uint32_t mask;               /* buckets - 1 */
	uint32_t count;              /* entries in use */
	/* The entry (index plus one; 0: none) the last lookup found, and its
	 * tuple's hash: a SYN that reopens an entry kills the one input just found,
	 * and tern__tw_kill takes the hash from here rather than hash again. */
	uint32_t hit, hit_hash;
};

/* A bucket is the index (plus one) of its chain's first entry in the low 28 bits
 * and, in the top 4, a summary of the chain: bit (hash >> 30) of each entry that
 * joined it. A lookup whose bit is clear is a miss without reading an entry: every
 * SYN and handshake ACK of a new connection looks here first, and on a busy server
 * the entries are a hundred megabytes of cache misses. Removal leaves bits set; a
 * lookup that walks a chain in vain rewrites its summary (tern__tw_heal). */
#define TW_IDX_BITS 28
#define TW_IDX_MASK ((1u << TW_IDX_BITS) - 1)

static inline uint32_t tern__tw_summary_bit(uint32_t hash)
{
	return 1u << (TW_IDX_BITS + (hash >> 30));
}

void tern__tw_heal(const struct tern_stack *st, uint32_t *bucket);

/* The same as tern__tw_lookup, for a caller that has the tuple's
 * tern__tuple_hash already, and the tuple as tern__tuple_hash_words' two words
 * (addrs = laddr << 32 | raddr, ports = lport << 16 | rport). Inline for
 * segment input, which asks for every segment that matches no socket and
 * nearly always has its answer from the count or the summary; the heal stays
 * out of line. On a little-endian host an entry's laddr, raddr and lport,
 * rport are the words turned by half, so it is compared in two tests. */
static inline struct tern_tw *tern__tw_lookup_words(struct tern_stack *st, uint32_t hash, uint64_t addrs,
						    uint32_t ports)
{
	struct tern_tw_index *ix = (struct tern_tw_index *)st->tcp->tws;

	if (!ix->count)
		return NULL;
	uint32_t *bucket = &ix->buckets[hash & ix->mask];
	if (!(*bucket & tern__tw_summary_bit(hash)))
		return NULL;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	_Static_assert(offsetof(struct tern_tw, raddr) == offsetof(struct tern_tw, laddr) + 4 &&
			       offsetof(struct tern_tw, rport) == offsetof(struct tern_tw, lport) + 2,
		       "an entry's addresses and ports are pairs");
	uint64_t ka = addrs << 32 | addrs >> 32;
	uint32_t kp = ports << 16 | ports >> 16;
#endif
	for (uint32_t i = *bucket & TW_IDX_MASK; i; i = ix->tws[i - 1].hnext) {
		struct tern_tw *tw = &ix->tws[i - 1];
		st->tcp->hash_probes++;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		uint64_t ta;
		uint32_t tp;
		memcpy(&ta, &tw->laddr, sizeof(ta));
		memcpy(&tp, &tw->lport, sizeof(tp));
		bool eq = tp == kp && ta == ka;
#else
		bool eq = tw->lport == (uint16_t)(ports >> 16) && tw->rport == (uint16_t)ports &&
			  tw->laddr == (uint32_t)(addrs >> 32) && tw->raddr == (uint32_t)addrs;
#endif
		if (eq) {
			ix->hit = i;
			ix->hit_hash = hash;
			return tw;
		}
	}
	tern__tw_heal(st, bucket);
	return NULL;
}
/* The same, on the tuple's four fields. */
static inline struct tern_tw *tern__tw_lookup_hashed(struct tern_stack *st, uint32_t hash, uint32_t laddr,
						     uint16_t lport, uint32_t raddr, uint16_t rport)
{
	return tern__tw_lookup_words(st, hash, (uint64_t)laddr << 32 | raddr, (uint32_t)lport << 16 | rport);
}
/* A segment for a time-wait object (Linux's tcp_timewait_state_process and what
 * tcp_v4_rcv does with its verdict). */
void tern__tw_rcv(struct tern_stack *st, struct tern_tw *tw, const struct tern_ipv4 *ip, const struct tern_tcp *seg);
void tern__tw_kill(struct tern_stack *st, struct tern_tw *tw);

/* bind(): would a socket with `reuseaddr`/`reuseport` on addr:port clash with a
 * time-wait object there? (spec §8.3) */
bool tern__tw_bind_conflict(struct tern_stack *st, uint32_t addr, uint16_t port, bool reuseaddr, bool reuseport);
/* connect(): the time-wait object holding this 4-tuple may be reused (spec §6.7)?
 * `bound` says the socket named its port with bind(). On reuse, *isn and the
 * timestamps to inherit are set, the object is killed and TWRecycled counted. */
bool tern__tw_try_reuse(struct tern_stack *st, struct tern_tw *tw, bool bound, tern_seq *isn, uint32_t *ts_recent,
			tern_time *ts_recent_stamp);

uint32_t tern__tw_count(const struct tern_stack *st);
int tern__tw_diag(struct tern_stack *st, tern_diag_fn fn, void *ctx);

#endif
