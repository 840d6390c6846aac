/*
 * tcp/reqsk.h: half-open connection requests (the SYN queue), kept as compact
 * entries rather than sockets. Design notes in reqsk.c; the decisions about them
 * (spec §1-§5) are in listen.c.
 */
#ifndef TERN_TCP_REQSK_H
#define TERN_TCP_REQSK_H

#include <stdint.h>

#include "core/stack.h"
#include "tern/diag.h"

/* Retry levels: the timer interval of a request is 1 s << num_timeout, capped at
 * 120 s (TCP_RTO_MAX) from level 7 on, so 8 FIFOs hold every pending request. */
#define TERN_REQ_LEVELS 8

#define REQ_TS_OK     0x01
#define REQ_SACK_OK   0x02
#define REQ_WSCALE_OK 0x04
#define REQ_ACKED     0x08   /* a final ACK came while the accept queue was full */
#define REQ_IN_USE    0x80

/* One half-open request: 56 bytes (checked at compile time). Links are array
 * indices plus one (0 = none), so an entry needs no pointers. */
struct tern_req {
	uint32_t hnext;        /* hash chain */
	uint32_t prev, next;   /* the timer FIFO of its level */
	uint16_t lslot, lgen;  /* its listener: slot and the slot's generation */
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	tern_seq irs, iss;
	uint32_t ts_recent;    /* the peer's TSval to echo */
	uint32_t last_ack_ms;  /* last rate-limited answer (ms clock; 0 = none) */
	uint32_t expires_us;   /* next timer tick, microseconds modulo 2^32: ticks are
				  at most 120 s ahead, so modular comparison is exact */
	uint16_t mss;          /* the peer's MSS (after clamping) */
	uint8_t num_timeout;   /* timer ticks so far */
	uint8_t num_retrans;   /* SYN-ACKs resent */
	uint8_t flags;         /* REQ_* */
	uint8_t snd_wscale;    /* the peer's shift */
	uint8_t rcv_wscale;    /* ours, as offered in the SYN-ACK */
	uint8_t level;         /* FIFO it is on */
};

struct tern_sock;

/* Lifecycle of the table (one per stack). */
int tern__req_init(struct tern_stack *st);
void tern__req_fini(struct tern_stack *st);

/* A listener's slot, so requests can name it without a pointer; released (and its
 * generation moved on) when the listener stops, orphaning its requests. */
int tern__listener_attach(struct tern_stack *st, struct tern_sock *lsk);
void tern__listener_detach(struct tern_stack *st, struct tern_sock *lsk);
/* The request's listener, or NULL once that listener is gone. */
struct tern_sock *tern__req_listener(struct tern_stack *st, const struct tern_req *req);

struct tern_req *tern__req_lookup(struct tern_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
				  uint16_t rport);
/* The same, for a caller that has the tuple's tern__tuple_hash already. */
struct tern_req *tern__req_lookup_hashed(struct tern_stack *st, uint32_t hash, uint32_t laddr, uint16_t lport,
					 uint32_t raddr, uint16_t rport);
/* A new request for `lsk` (counted in its qlen and young), its first tick in 1 s.
 * NULL when memory runs out. The caller fills in the connection's fields and
 * gives the tuple's tern__tuple_hash. */
struct tern_req *tern__req_add_hashed(struct tern_stack *st, struct tern_sock *lsk, uint32_t hash, uint32_t laddr,
				      uint16_t lport, uint32_t raddr, uint16_t rport);
/* Removes a request (and uncounts it from its listener, if that still exists). */
void tern__req_remove(struct tern_stack *st, struct tern_req *req);
/* The same, for a caller that has the request's tern__tuple_hash already. */
void tern__req_remove_hashed(struct tern_stack *st, struct tern_req *req, uint32_t hash);
/* The same, for a caller that has its listener too (tern__req_listener's answer,
 * NULL if gone), as a segment for the request does. */
void tern__req_remove_listened(struct tern_stack *st, struct tern_req *req, uint32_t hash, struct tern_sock *lsk);
/* Next tick at now + the current interval (1 s << num_timeout, capped at 120 s). */
void tern__req_rearm(struct tern_stack *st, struct tern_req *req);
/* When the request's next timer tick is due. */
tern_time tern__req_expires(const struct tern_stack *st, const struct tern_req *req);
/* Time the request's current interval lasts. */
tern_time tern__req_interval(const struct tern_req *req);
/* Number of live requests (all listeners). */
uint32_t tern__req_count(const struct tern_stack *st);
/* For ss: every request as a SYN-RECV row. */
int tern__req_diag(struct tern_stack *st, tern_diag_fn fn, void *ctx);
/* Bytes the table holds per entry, for the benchmarks and docs. */
size_t tern__req_entry_size(void);

#endif
