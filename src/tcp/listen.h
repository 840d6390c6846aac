/*
 * tcp/listen.h: the listener (spec §1-§5): SYNs, the SYN queue of compact
 * requests (reqsk.h), SYN cookies (syncookie.h), final ACKs and the accept queue.
 */
#ifndef TERN_TCP_LISTEN_H
#define TERN_TCP_LISTEN_H

#include "core/stack.h"
#include "tern/wire.h"

struct tern_sock;
struct tern_req;

/* A segment for a listener that matched no connection and no request. */
void tern__listen_rcv(struct tern_stack *st, struct tern_sock *lsk, const struct tern_ipv4 *ip,
		      const struct tern_tcp *seg);
/* A SYN that reopens a TIME-WAIT connection (spec §6.6 TW_SYN): handled as a new
 * SYN with the ISN `isn`, skipping the SYN-queue limits (spec §1.3 step 1). */
void tern__listen_syn_reopen(struct tern_stack *st, struct tern_sock *lsk, const struct tern_ipv4 *ip,
			     const struct tern_tcp *seg, tern_seq isn);
/* A segment for a half-open request (Linux's tcp_check_req); `hash` is the
 * request's tern__tuple_hash, which the caller's lookup used. */
void tern__req_rcv(struct tern_stack *st, struct tern_req *req, uint32_t hash, const struct tern_ipv4 *ip,
		   const struct tern_tcp *seg);
/* A request's timer tick (Linux's reqsk_timer_handler): resend or expire. */
void tern__listen_req_timeout(struct tern_stack *st, struct tern_req *req);

#endif
