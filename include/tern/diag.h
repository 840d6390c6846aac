/*
 * tern/diag.h: what a stack can say about its sockets, for tools like ss (and
 * /proc/net/tcp), as Linux's inet_diag reports them (spec §10.1-§10.2).
 *
 * tern_diag_foreach calls back once per socket and connection: listeners,
 * connections in every state (half-open ones as SYN-RECV, TIME-WAIT and orphaned
 * FIN-WAIT-2 ones included), and sockets that exist but are not connected
 * (UNCONN). The values are what ss prints: Recv-Q and Send-Q with Linux's meaning
 * per state, the pending timer with its time left, retransmissions.
 */
#ifndef TERN_DIAG_H
#define TERN_DIAG_H

#include <stdint.h>

#include "tern/stack.h"
#include "tern/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* TCP states, with Linux's numbers (include/net/tcp_states.h). */
enum tern_tcp_state_id {
	TERN_STATE_ESTABLISHED = 1,
	TERN_STATE_SYN_SENT = 2,
	TERN_STATE_SYN_RECV = 3,
	TERN_STATE_FIN_WAIT1 = 4,
	TERN_STATE_FIN_WAIT2 = 5,
	TERN_STATE_TIME_WAIT = 6,
	TERN_STATE_CLOSE = 7,
	TERN_STATE_CLOSE_WAIT = 8,
	TERN_STATE_LAST_ACK = 9,
	TERN_STATE_LISTEN = 10,
	TERN_STATE_CLOSING = 11,
};

/* ss's name for a state: "ESTAB", "SYN-RECV", "TIME-WAIT", "UNCONN", ... */
const char *tern_state_name(int state);

/* The timer ss -o shows, with /proc/net/tcp's numbering ("tr"). */
enum tern_diag_timer {
	TERN_DIAG_TIMER_NONE = 0,
	TERN_DIAG_TIMER_ON = 1,         /* retransmission (ss: "on") */
	TERN_DIAG_TIMER_KEEPALIVE = 2,  /* keepalive or an orphan's FIN_WAIT2 timer */
	TERN_DIAG_TIMER_TIMEWAIT = 3,
	TERN_DIAG_TIMER_PERSIST = 4,    /* zero-window probe */
	TERN_DIAG_TIMER_DELACK = 5,     /* tern only: not shown by ss */
};

struct tern_diag_sock {
	int state;                   /* enum tern_tcp_state_id */
	struct tern_addr laddr, raddr;
	uint16_t lport, rport;
	uint32_t recv_q;             /* LISTEN: accept-queue length; else unread bytes */
	uint32_t send_q;             /* LISTEN: backlog'; else unacked + unsent bytes */
	int timer;                   /* enum tern_diag_timer */
	tern_time timer_left;        /* time until it fires (0 if none) */
	unsigned retrans;            /* ss's third timer field: retransmits or probes */
	int fd;                      /* its descriptor, or -1 (orphans, unaccepted) */
	uint32_t snd_cwnd, snd_mss, rcv_mss, rto_ms, rtt_us, rttvar_us;
	uint8_t snd_wscale, rcv_wscale;
	uint8_t ts_ok, sack_ok;
	uint64_t uid_inode;          /* a stable identity for the object */
};

/* Calls `fn` for each socket, in a stable order; stops early if `fn` returns
 * nonzero and returns that value. */
typedef int (*tern_diag_fn)(void *ctx, const struct tern_diag_sock *s);
int tern_diag_foreach(struct tern_stack *st, tern_diag_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
