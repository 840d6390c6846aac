/*
 * tcp/sock.h: the TCP socket (the TCB of RFC 9293 §3.3.1 plus Linux's per-socket
 * state), the descriptor table, and the functions the TCP files call on each other.
 *
 * Who owns what:
 *   table.c   descriptors, the connection hash (4-tuple), listeners, bind buckets
 *   ports.c   bind() conflicts and ephemeral ports (spec §8)
 *   isn.c     ISNs and timestamp offsets (RFC 6528, spec §7.2)
 *   output.c  building and sending segments: options, windows, what may be sent
 *   input.c   segment arrival in RFC 9293 §3.10.7's order
 *   ack.c     the ACK: window, scoreboard, RTT
 *   recovery.c loss detection (RACK, NewReno), PRR, tail loss probes
 *   rcv.c     received data: queues, delayed ACKs, SACK compression, FIN
 *   timers.c  retransmission (RTO, RACK, TLP), persist, delayed ACK, keepalive,
 *             orphan FIN_WAIT2
 *   listen.c  listeners: SYN queue (reqsk.c), accept queue, cookies (syncookie.c)
 *   tw.c      TIME-WAIT entries
 *   socket.c  the user calls (include/tern/socket.h); sockopt.c their options
 *   poll.c    readiness: poll and epoll
 *
 * State numbers are Linux's (include/net/tcp_states.h) so /proc and ss map 1:1.
 */
#ifndef TERN_TCP_SOCK_H
#define TERN_TCP_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/stack.h"
#include "tcp/cc.h"
#include "tcp/ooo.h"
#include "tcp/rtt.h"
#include "tcp/seq.h"
#include "tcp/stream.h"
#include "tern/socket.h"
#include "tern/wire.h"

enum tern_tcp_state {
	TERN_TCP_ESTABLISHED = 1,
	TERN_TCP_SYN_SENT = 2,
	TERN_TCP_SYN_RECV = 3,
	TERN_TCP_FIN_WAIT1 = 4,
	TERN_TCP_FIN_WAIT2 = 5,
	TERN_TCP_TIME_WAIT = 6,
	TERN_TCP_CLOSE = 7,
	TERN_TCP_CLOSE_WAIT = 8,
	TERN_TCP_LAST_ACK = 9,
	TERN_TCP_LISTEN = 10,
	TERN_TCP_CLOSING = 11,
};

/* ss's name for a state ("ESTAB", "SYN-SENT", ...). */
const char *tern__tcp_state_name(int state);

/* Linux's TCP_MAX_WSCALE (RFC 7323 §2.3). */
#define TERN_TCP_MAX_WSCALE 14
/* The MSS assumed when the peer sends none (RFC 9293 §3.7.1, MUST-15). */
#define TERN_TCP_DEFAULT_MSS 536
/* TCP_TIMEWAIT_LEN: Linux's fixed TIME-WAIT lifetime (spec §6.5). */
#define TERN_TCP_TIMEWAIT_NS (60 * TERN_NS_PER_SEC)
/* TCP_DELACK_MIN / TCP_DELACK_MAX (HZ/25 and HZ/5). */
#define TERN_TCP_DELACK_MIN_NS (40 * TERN_NS_PER_MS)
#define TERN_TCP_DELACK_MAX_NS (200 * TERN_NS_PER_MS)
/* TCP_ATO_MIN. */
#define TERN_TCP_ATO_MIN_NS (40 * TERN_NS_PER_MS)
/* TCP_MAX_QUICKACKS: the quick-ACK budget (spec §14.1). */
#define TERN_TCP_MAX_QUICKACKS 16
/* TCP_INIT_CWND (RFC 6928). */
#define TERN_TCP_INIT_CWND 10
/* TCP_RESOURCE_PROBE/persist bounds share the RTO's. */

/* A segment we sent and the peer has not yet acknowledged in full: the send-side
 * scoreboard (RFC 6675) is the list of these, in sequence order. */
struct tern_txseg {
	struct tern_txseg *next;
	tern_seq seq;
	tern_seq end;           /* seq + payload, + 1 for SYN and for FIN */
	tern_time sent_at;      /* last transmission */
	uint8_t flags;          /* TXSEG_* */
	uint8_t tcp_flags;      /* SYN/FIN it carries */
	uint16_t retrans;       /* times retransmitted */
};
#define TXSEG_SACKED   0x01  /* covered by a SACK block */
#define TXSEG_LOST     0x02  /* judged lost, to be retransmitted */
#define TXSEG_RETRANS  0x04  /* retransmitted and not yet acked (RFC 6675 "in flight") */
#define TXSEG_EVER_RETRANS 0x08  /* ever retransmitted: Karn's rule */

/* Microseconds since `t` last left, at stack time `now`. A send time is the
 * stack's clock when the segment left and the clock never goes back
 * (tern__stack_set_time), so the difference is never negative: divided
 * unsigned, without the signed division's rounding fix-up. */
static inline uint64_t tern__txseg_age_us(tern_time now, const struct tern_txseg *t)
{
	return (uint64_t)(now - t->sent_at) / TERN_NS_PER_US;
}

/* Socket flags (sk->flags). */
#define SK_NONBLOCK     0x0001
#define SK_REUSEADDR    0x0002
#define SK_REUSEPORT    0x0004
#define SK_KEEPALIVE    0x0008
#define SK_NODELAY      0x0010
#define SK_CORK         0x0020
#define SK_ORPHAN       0x0040  /* close() called; no descriptor */
#define SK_BOUND        0x0080  /* bound to a port */
#define SK_USER_BOUND   0x0100  /* bind() named the port (not ephemeral) */
#define SK_SHUT_RD      0x0200
#define SK_SHUT_WR      0x0400
#define SK_FIN_QUEUED   0x0800  /* our FIN is due after the send queue */
#define SK_FIN_SENT     0x1000
#define SK_LINGER       0x2000
#define SK_RCVBUF_LOCK  0x4000  /* SO_RCVBUF set by the user */
#define SK_SNDBUF_LOCK  0x8000
#define SK_ACCEPTED     0x10000 /* handed out by accept() */
#define SK_HASHED       0x20000 /* in the connection hash */
#define SK_PEER_FIN     0x40000 /* the peer's FIN has been received */
#define SK_CONNECTING   0x80000 /* connect() started; its outcome not yet reported */
#define SK_ACCQ         0x100000 /* on its listener's accept queue */
#define SK_OVERFLOWED   0x200000 /* listener: last_overflow is set */
#define SK_SYNFLOOD_WARNED 0x400000 /* listener: the SYN flood message was logged */
#define SK_LINGER_WAIT  0x800000 /* close() with SO_LINGER > 0 waits for the FIN's ACK */
#define SK_CHILD        0x1000000 /* a child not yet accepted: parent and acc_next
				     hold the socket's shared words (struct tern_sock) */
#define SK_MSS_CURRENT  0x2000000 /* mss_cache holds the MSS for the current
				     inputs (output.c, push_mss) */

/* A connection's timers (Linux's icsk_retransmit_timer, icsk_delack_timer and
 * sk_timer), kept as three deadlines behind one wheel timer (timers.c). */
enum tern_skt_kind {
	TERN_SKT_RTX,     /* retransmission, SYN, persist, RACK reordering, loss probe */
	TERN_SKT_DELACK,  /* delayed ACK, or the compressed-SACK timer */
	TERN_SKT_KA,      /* keepalive, and an orphan's FIN_WAIT2 lifetime */
	TERN_SKT_KINDS
};

/* Negotiated options (tp->rx_opt in Linux). */
struct tern_tcp_neg {
	uint8_t ts_ok : 1;
	uint8_t sack_ok : 1;
	uint8_t wscale_ok : 1;
	uint8_t snd_wscale : 4;   /* the peer's shift, applied to its windows */
	uint8_t rcv_wscale : 4;   /* our shift, applied to our advertised windows */
	uint16_t mss_clamp;       /* the peer's MSS option (or 536) */
};

/* What only a listener needs, kept apart so that the millions of connections a
 * server holds do not each carry it. */
struct tern_listen_q {
	struct tern_sock *acc_head, *acc_tail;  /* accept queue (FIFO, via acc_next) */
	uint32_t acc_len;               /* established children waiting for accept() */
	uint32_t syn_len;               /* qlen: requests in the SYN queue (spec §1.1) */
	uint32_t young;                 /* of those, not yet retransmitted */
	uint32_t lslot;                 /* its slot in the request table */
	int backlog;                    /* backlog' = min(backlog, somaxconn) */
	tern_time last_overflow;        /* last time the SYN queue overflowed (cookies) */
};

/*
 * Options few sockets set, kept apart (opts_pool) so that each socket carries one
 * pointer for them. A socket that never set one points at tern__sk_opts_none, a
 * constant block of the defaults (all zero), so reading needs no test; writing
 * goes through tern__sk_opts(), which takes a block of the socket's own (and may
 * fail: malloc, reported as -ENOMEM). A child inherits its listener's options
 * but TCP_DEFER_ACCEPT and a lingering close (create_child, listen.c), taking a
 * block only when that leaves it other than the defaults. Writing to
 * tern__sk_opts_none faults (it is read-only).
 *
 * Sizes follow Linux's bounds: MAX_TCP_KEEPIDLE/KEEPINTVL 32767, MAX_TCP_KEEPCNT
 * and MAX_TCP_SYNCNT 127, TCP_LINGER2 at most 120 s, DEFER_ACCEPT < 256.
 */
struct tern_sk_opts {
	uint32_t linger_until;          /* end of a lingering close() (SK_LINGER_WAIT;
					   tern__sk_ms): only with linger_s > 0, so
					   only in a block of the socket's own */
	int linger_s;                   /* SO_LINGER seconds when SK_LINGER */
	uint32_t user_timeout_ms;       /* TCP_USER_TIMEOUT, 0 = off */
	int16_t keepidle_s, keepintvl_s; /* 0 = the sysctl */
	int16_t linger2_s;              /* TCP_LINGER2: 0 = tcp_fin_timeout, <0 = RST */
	uint16_t user_mss;              /* TCP_MAXSEG before connect, 0 = none */
	uint8_t keepcnt;                /* 0 = the sysctl */
	uint8_t syncnt;                 /* 0 = tcp_syn_retries / tcp_synack_retries */
	uint8_t defer_accept;           /* TCP_DEFER_ACCEPT in retransmission periods */
	uint8_t ip_tos;                 /* TOS of the IP header (no option sets it yet) */
};

extern const struct tern_sk_opts tern__sk_opts_none;

/*
 * What a connection needs only while data moves: its send and receive queues,
 * the out-of-order queue, the scoreboard of segments in flight, and the loss
 * recovery state (RACK, tail loss probe, PRR, the recovery point), the D-SACK to
 * report and PSH marks still to place. An idle connection, the state of most of
 * the millions a server holds, needs none of it, so it lives in a block of its
 * own (xfer_pool) that the socket takes when data is first queued, sent or
 * received, or a SYN is sent, and gives back (tern__sk_xfer_trim) once nothing is
 * queued, in flight, lost, SACKed or pending and congestion control is Open.
 *
 * Without a block, sk->xfer points to tern__xfer_none, a constant all-empty
 * block, so reading needs no test; only writing does, through tern__sk_xfer(),
 * which takes the block (and may fail: the pool's ceiling or malloc, handled as
 * any other out-of-memory). Writing to tern__xfer_none faults (it is read-only).
 *
 * Why giving it back loses nothing. Fields that outlive an idle spell in Linux
 * (cwnd, ssthresh, the RTT estimator, the min-RTT filter, RACK's reordering flag,
 * the delayed-ACK state, and two that tern, as Linux, may leave set when all is
 * acknowledged: a loss probe still pending, and the time of the first
 * retransmission) stay in the socket. What a new block starts with equals
 * what the old one held wherever it can still be read: the queues are empty;
 * high_seq and the PRR counts are read only outside the Open state, and written
 * on the way out of it; psh_first and psh_step only with marks pending (psh_count);
 * tail_start and tail_psh are reset by the next write, as nothing is unsent;
 * dsack_block and ooo_fin_seq only with dsack and ooo_fin set. RACK's last
 * delivery (rack_mstamp, rack_end_seq) is older than every segment sent after
 * the idle spell, which is all that RACK asks of it, and so is zero; rack_rtt_us
 * is read only after a delivery sets it, and a stale rack_advanced would make the
 * next loss check look at segments none of which were sent before that delivery.
 */
struct tern_xfer {
	/* ---- line 0: what every ACK and every segment built read or write (the
	 * scoreboard, RACK's last delivery, the SACK check) and the rest of what
	 * giving the block back tests (tern__sk_xfer_trim) */
	struct tern_ooo *ooo;           /* bytes beyond rcv_nxt: taken from ooo_pool with
					   the first, given back when empty (NULL) */
	struct tern_txseg *txq_head, *txq_tail;   /* sent, not fully acked */
	uint32_t packets_out;           /* segments in flight (txq entries not sacked) */
	uint32_t sacked_out, lost_out, retrans_out;
	tern_time rack_mstamp;          /* RACK: send time of the latest delivered segment */
	tern_seq rack_end_seq;
	uint32_t rack_rtt_us;           /* RTT of that delivery */
	/* PSH placement follows Linux's skbs (spec §14.8): the unsent tail "skb" is
	 * [tail_start, write_seq), at most tcp_xmit_size_goal bytes; a full skb
	 * that was marked leaves its PSH at its end (psh_*: the pending marks, an
	 * arithmetic progression, as one large write makes them; psh_first and
	 * psh_step are on line 2). */
	tern_seq tail_start;
	uint16_t psh_count;             /* pending marks (0: none) */
	/* Flags as single bits sharing one byte, so that this line holds them
	 * all; each is only ever 0 or 1. */
	uint8_t tail_psh : 1;           /* the tail skb is marked */
	uint8_t rack_advanced : 1;      /* a delivery since the last loss check */
	uint8_t dsack : 1;              /* dsack_block goes first in the next ACK */
	uint8_t ooo_fin : 1;            /* a FIN arrived beyond rcv_nxt, at ooo_fin_seq */

	/* ---- line 1: the send queue whole, and the head of the receive queue
	 * (its length and chunk count lead struct tern_stream), so that both
	 * counts the trim tests share a line with what an ACK consumes */
	struct tern_stream sndq;        /* bytes from snd_una to write_seq */
	struct tern_stream rcvq;        /* bytes from copied_seq to rcv_nxt */

	/* ---- line 2: the rest of the receive queue, and what only loss
	 * recovery, PSH marks pending and D-SACK read */
	tern_seq high_seq;              /* snd_nxt when recovery began (RFC 6582 "recover") */
	uint32_t prr_delivered, prr_out;   /* PRR (RFC 6937) since recovery began */
	tern_seq psh_first;             /* first pending mark */
	uint32_t psh_step;
	/* D-SACK (RFC 2883) for the next ACK; the SACK blocks live in `ooo` */
	struct tern_sack_block dsack_block;
	tern_seq ooo_fin_seq;
};

/* Three cache lines. A pool's chunk starts on a line and its objects follow one
 * another, so a size that is a multiple of the line keeps every block on lines of
 * its own; a block of any other size would straddle one more. */
_Static_assert(sizeof(struct tern_xfer) <= 192 && sizeof(struct tern_xfer) % 64 == 0,
	       "struct tern_xfer: at most three cache lines, and a whole number of them");
_Static_assert(offsetof(struct tern_xfer, sndq) == 64 && offsetof(struct tern_xfer, rcvq) == 112 &&
		       offsetof(struct tern_stream, nchunks) < 16,
	       "struct tern_xfer: both queues' counts on line 1 (see the line comments)");

extern const struct tern_xfer tern__xfer_none;

struct tern_sock {
	/* The fields are ordered by use, not by topic. With hundreds of connections
	 * in flight a socket has left L1 by the time it is visited again (a segment,
	 * an application call, a timer), so every line a visit touches is a miss;
	 * what counts is which fields share a line, not their order within it. The
	 * grouping below was found by replaying a memory trace of `tern bench
	 * lifecycle` through a simulated L1 for candidate orders, and checked with
	 * cachegrind (docs/bench/notes/lifecycle.md, twelfth round). Moving a field
	 * to another line may cost a miss per segment: measure it. */

	/* ---- line 0: the lookup that finds the socket, what every visit reads
	 * next (flags, state, the xfer block), and the first fields a segment
	 * being built reads (addresses, IP ID, the TSval offset, rcv_ssthresh) */
	struct tern_sock *hash_next;    /* connection hash or listener chain */
	/* buffers, scoreboard and loss recovery while data moves (see above) */
	struct tern_xfer *xfer;
	uint32_t laddr, raddr;          /* host order; laddr 0 = wildcard */
	uint16_t lport, rport;
	uint32_t flags;                 /* SK_* */
	uint8_t state;
	uint8_t err;                    /* pending SO_ERROR (a positive errno: all are
					   below 256) */
	uint8_t ack_pending;            /* ACK_* (delayed ACK, Linux icsk_ack) */
	uint8_t quick_acks;             /* immediate ACKs left (quick-ACK mode) */
	uint32_t sndbuf;                /* send limit in bytes (Linux sk_sndbuf) */
	uint16_t ip_id;                 /* next IP ID (connected sockets, Linux inet_id) */
	uint16_t hash_rest;             /* the connection hash's: the summary of the
					   chain behind this socket (table.c) */
	uint32_t rcv_ssthresh;          /* the window's current ceiling; grows as data
					   arrives (Linux's tcp_grow_window) */
	uint32_t ts_offset;             /* added to our ms clock for TSval (spec §7.2) */
	uint32_t rcv_tstamp;            /* last time a segment arrived (tern__sk_ms) */
	uint16_t advmss;                /* the MSS we advertise (MTU - 40) */
	uint16_t rcv_mss;               /* estimate of the peer's segment size */
	uint16_t scaling_ratio;         /* window per buffer byte, x256 (Linux's
					   scaling_ratio: payload / skb truesize) */
	uint8_t timer_order;            /* the kinds in the order they were last armed
					   (timers, line 2) */
	uint8_t rack_reord;             /* RACK: reordering seen, keep the reordering window */

	/* ---- line 1: what sending data and an RTT sample update, and the
	 * receive-buffer autotuning that a read or a data segment advances */
	tern_time retrans_stamp;        /* first (re)transmission of the oldest segment */
	struct tern_rtt rtt;
	uint32_t lsndtime;              /* last time we sent data (tern__sk_ms) */
	tern_seq snd_max;               /* highest sequence ever sent */
	tern_seq pushed_seq;            /* write_seq at the last push mark (spec §14.8) */
	tern_seq snd_sml;               /* end of the last small segment sent (Minshall) */
	tern_seq compressed_ack_rcv_nxt;   /* rcv_nxt the SACK compression counter
					      (line 3) belongs to */
	/* receive-buffer autotuning (Linux's rcvq_space and rcv_rtt_est; the rest
	 * is on lines 5 and 6) */
	uint32_t rcvq_space;            /* most bytes the application read in one RTT */
	tern_seq rcvq_seq;              /* copied_seq when this RTT's count began
					   (rcvq_time says when) */
	tern_seq rcv_rtt_seq;           /* the per-window RTT sample ends when rcv_nxt
					   reaches this (begun at rcv_rtt_time) */

	/* ---- line 2: the sequence spaces and windows that every segment in and
	 * every segment out reads, and the timers' deadlines */
	/* send sequence space (RFC 9293 §3.3.1; Linux keeps neither SND.UP nor
	 * SND.WL2, whose role its window rule gives to SND.UNA; SND.WL1 is on
	 * line 5) */
	tern_seq snd_una, snd_nxt;
	uint32_t snd_wnd;               /* peer's window, scaled to bytes */
	uint32_t max_window;            /* largest window the peer offered */
	tern_seq write_seq;             /* end of the data the user queued */
	/* receive sequence space (IRS is needed only while the handshake runs,
	 * which the request or the SYN-SENT socket's rcv_nxt covers) */
	tern_seq rcv_nxt, rcv_wup;      /* rcv_wup: rcv_nxt when the window was last sent */
	uint32_t rcv_wnd;               /* window last advertised, in bytes */
	/* timestamps (RFC 7323) */
	uint32_t ts_recent;             /* peer's TSval to echo */
	struct tern_tcp_neg neg;
	uint16_t mss_cache;             /* payload bytes per full segment we send */
	/* timers (timers.c): three deadlines, one wheel timer (line 6) at the
	 * earliest */
	uint8_t rtx_kind;               /* RTX_*: what the TERN_SKT_RTX deadline is for */
	uint8_t timer_armed;            /* bit 1 << kind for each armed deadline */
	uint32_t timer_due[TERN_SKT_KINDS]; /* wheel tick of each armed deadline, low 32 bits */
	uint8_t probes_out;             /* unanswered persist or keepalive probes */
	uint8_t retransmits;            /* consecutive RTO expiries */
	uint8_t tlp_retrans;            /* the pending loss probe was a retransmission */
	uint8_t soft_err;
	/* RFC 5961 challenge ACK limit */
	uint32_t last_oow_ack;          /* last rate-limited ACK we sent (tern__sk_ms);
					   0: none */

	/* ---- line 3: the options, the rest of the receive window's inputs, and
	 * congestion control's head (ops, cwnd, ssthresh, ca_state) */
	const struct tern_sk_opts *opts; /* rare options (see above) */
	uint32_t rcvbuf;                /* receive limit in bytes (Linux sk_rcvbuf) */
	tern_seq copied_seq;            /* next byte the user will read (the peer's FIN,
					   with SK_PEER_FIN, is at rcv_nxt - 1) */
	uint32_t window_clamp;          /* largest window we will offer */
	uint8_t pingpong;               /* interactive: delay ACKs */
	/* SACK compression (spec §14.5): while one hole persists, duplicate
	 * ACKs after the third wait for the delack timer, armed short */
	uint8_t compressed_ack;         /* dupacks folded into the pending one */
	uint8_t dup_ack_counter;        /* immediate dupacks sent for this hole */
	uint8_t backoff;                /* RTO doublings since the last valid sample */
	/* ---- line 4: cc's tail (CUBIC's state, delay_min among it) shares its
	 * line with the min-RTT filter: an RTT sample updates both */
	struct tern_cc cc;
	struct tern_minrtt min_rtt;     /* windowed minimum RTT (all zero: none yet) */

	/* ---- line 5: the delayed-ACK timeout, the timestamp's age, binding, and
	 * what a data segment updates beyond the window */
	tern_time ato;                  /* current delayed-ACK timeout */
	tern_time ts_recent_stamp;      /* when ts_recent was set (ns); 0 = never */
	struct tern_sock *bind_next;    /* sockets sharing the local port's chain */
	struct tern_sock **bind_pprev;  /* what points at us there: O(1) unbind */
	tern_seq snd_wl1;
	tern_seq tlp_high_seq;          /* snd_nxt at the loss probe; 0: none pending */
	uint32_t last_rcv_data;         /* last data segment arrival (tern__sk_ms) */
	uint32_t rcv_rtt_time;          /* when the sample ending at rcv_rtt_seq began
					   (tern__sk_us); 0: none */

	/* ---- line 6: what the application's calls and epoll reach (the listener's
	 * queues or the epoll registrations, the descriptor), and the wheel timer */

	/* A child not yet accepted, or else a socket the user holds (SK_CHILD
	 * says which). The child has no descriptor, so no epoll registration and
	 * no listen(); the user's socket never has a listener. Read parent through
	 * tern__sk_parent and epitems through tern__sk_epitems, which check. */
	union {
		struct {
			struct tern_listen_q *lq;       /* a listener's queues (from its
							   first listen()) */
			struct tern_epitem *epitems;    /* epoll registrations watching
							   this socket */
		};
		struct {
			struct tern_sock *parent;       /* the listener of the child */
			struct tern_sock *acc_next;     /* next child on that accept queue */
		};
	};
	struct tern_timer timer;
	int fd;                         /* -1 once orphaned or for an unaccepted child */
	tern_seq iss;
	uint32_t rcvq_time;             /* autotuning: when rcvq_seq was taken
					   (tern__sk_us) */
	uint32_t rcv_rtt_x8_us;         /* receiver's RTT estimate, << 3 (Linux's
					   rcv_rtt_est.rtt_us); 0: none */
};

/* Seven cache lines, and a whole number of them so that every socket of the pool
 * starts on a line (as for struct tern_xfer). */
_Static_assert(sizeof(struct tern_sock) <= 448 && sizeof(struct tern_sock) % 64 == 0,
	       "struct tern_sock: at most seven cache lines, and a whole number of them");

/* The listener of a child not yet accepted; NULL for any other socket. */
static inline struct tern_sock *tern__sk_parent(const struct tern_sock *sk)
{
	return (sk->flags & SK_CHILD) ? sk->parent : NULL;
}

/* The epoll registrations watching the socket (none for a child not yet
 * accepted, whose words hold its accept-queue link instead). */
static inline struct tern_epitem *tern__sk_epitems(const struct tern_sock *sk)
{
	return (sk->flags & SK_CHILD) ? NULL : sk->epitems;
}

/* The listener's queues, or NULL (never listened, or a child). */
static inline struct tern_listen_q *tern__sk_lq(const struct tern_sock *sk)
{
	return (sk->flags & SK_CHILD) ? NULL : sk->lq;
}

/* The socket's own options block, taken (a copy of the defaults) on first use;
 * NULL when memory runs out. */
struct tern_sk_opts *tern__sk_opts(struct tern_stack *st, struct tern_sock *sk);

/* Linux's TCP_FASTRETRANS_THRESH: duplicate ACKs that start fast retransmit. */
#define TERN_TCP_FASTRETRANS_THRESH 3

#define ACK_SCHED  0x01   /* an ACK is owed */
#define ACK_TIMER  0x02   /* the delayed-ACK timer is armed */
#define ACK_PUSHED 0x04   /* send it as soon as possible */
#define ACK_NOW    0x08   /* send it at once */
#define ACK_COMP   0x10   /* the delack timer is running as the compressed-SACK timer */

#define RTX_NONE 0
#define RTX_RETRANS 1
#define RTX_PERSIST 2
#define RTX_REO 3       /* RACK's reordering timer */
#define RTX_PROBE 4     /* tail loss probe */

/* What one ACK did to the scoreboard, for recovery.c. */
struct tern_ack_info {
	tern_seq ack, prior_una;
	uint32_t acked_segs;            /* segments the cumulative ACK removed */
	uint32_t newly_sacked;          /* segments newly SACKed */
	uint32_t delivered;             /* segments newly delivered (acked or SACKed) */
	bool not_dup;                   /* data, a window update or new data acked
					   (Linux's FLAG_NOT_DUP) */
	bool dsack;                     /* it carried a D-SACK */
	/* What congestion control was shown when the ACK advanced snd_una (NULL
	 * otherwise); nothing recovery.c does before growing the window changes it. */
	const struct tern_cc_conn *conn;
};


/* Linux's TCP_DEFAULT_SCALING_RATIO: until data has been measured, half of the
 * buffer counts as window. */
#define TERN_TCP_DEFAULT_SCALING_RATIO 128

/* Linux's tcp_win_from_space: the window `space` bytes of receive buffer hold. */
static inline int64_t tern__win_from_space(const struct tern_sock *sk, int64_t space)
{
	return space * sk->scaling_ratio >> 8;
}

/* Whether the socket holds a transfer block of its own. */
static inline bool tern__sk_has_xfer(const struct tern_sock *sk)
{
	return sk->xfer != &tern__xfer_none;
}

/* Whether data waits beyond rcv_nxt. */
static inline bool tern__sk_ooo_empty(const struct tern_sock *sk)
{
	return !sk->xfer->ooo || tern__ooo_empty(sk->xfer->ooo);
}

/* The receive buffer the queued bytes take, as Linux charges their skbs' truesize
 * (estimated through the measured payload/truesize ratio). */
static inline uint64_t tern__rmem_alloc(const struct tern_sock *sk)
{
	uint64_t queued = tern__stream_len(&sk->xfer->rcvq) + (sk->xfer->ooo ? tern__ooo_bytes(sk->xfer->ooo) : 0);
	/* Most segments are built with nothing queued: no division for that. */
	return queued ? (queued << 8) / sk->scaling_ratio : 0;
}

/* The options of a bare ACK from an object without a socket (a SYN-queue request,
 * a TIME-WAIT entry): NOP, NOP, timestamp, as Linux lays them out (RFC 7323
 * appendix A). */
static inline void tern__tcp_opts_ts_only(struct tern_tcp_opts *o, uint32_t ts_val, uint32_t ts_ecr)
{
	o->present = TERN_TCPOPT_HAS_TS;
	o->kinds[0] = TERN_TCPOPT_NOP;
	o->kinds[1] = TERN_TCPOPT_NOP;
	o->kinds[2] = TERN_TCPOPT_TS;
	o->count = 3;
	o->ts_val = ts_val;
	o->ts_ecr = ts_ecr;
}

/* Segments the network holds now (RFC 6675 "pipe", Linux's tcp_packets_in_flight). */
static inline uint32_t tern__tcp_in_flight(const struct tern_sock *sk)
{
	return sk->xfer->packets_out - (sk->xfer->sacked_out + sk->xfer->lost_out) + sk->xfer->retrans_out;
}

/*
 * Socket clocks for times kept in 32 bits, read modulo 2^32 (as differences):
 * milliseconds, as Linux keeps lsndtime, rcv_tstamp, lrcvtime and the like in
 * tcp_jiffies32 (HZ=1000), good for ages up to 49 days; microseconds, as Linux's
 * tcp_mstamp, for RTT-scale measurements, good for 71 minutes. Both start at 1 so
 * that a stamp taken at time 0 is not 0, which some fields keep for "none".
 */
static inline uint32_t tern__sk_ms(const struct tern_stack *st)
{
	return (uint32_t)st->now_ms + 1;
}

static inline uint32_t tern__sk_us(const struct tern_stack *st)
{
	return (uint32_t)(st->now / TERN_NS_PER_US) + 1;
}

/* How long ago a tern__sk_ms stamp was, in nanoseconds. */
static inline tern_time tern__sk_ms_age(const struct tern_stack *st, uint32_t stamp)
{
	return (tern_time)(uint32_t)(tern__sk_ms(st) - stamp) * TERN_NS_PER_MS;
}

/* What the congestion-control module may see of the connection now. */
static inline struct tern_cc_conn tern__tcp_cc_conn(const struct tern_stack *st, const struct tern_sock *sk)
{
	struct tern_cc_conn c = { .now = st->now, .snd_una = sk->snd_una, .snd_nxt = sk->snd_nxt,
				  .last_send = sk->lsndtime ? st->now - tern__sk_ms_age(st, sk->lsndtime) : 0 };
	return c;
}

/* Bytes the user wrote that have not been sent yet. Once our FIN is out, snd_nxt
 * is one past write_seq, and there is nothing. */
static inline uint32_t tern__tcp_unsent(const struct tern_sock *sk)
{
	return (sk->flags & SK_FIN_SENT) ? 0 : sk->write_seq - sk->snd_nxt;
}

/* ------------------------------------------------------------ per-stack TCP */

#define TERN_LHASH_SIZE 256
#define TERN_BHASH_SIZE 4096
/* DEVIATION: Linux's perturbation table has 2^16 entries; 256 keep a stack small
 * and still spread consecutive connects to one destination across the range. */
#define TERN_PERTURB_SIZE 256

/* Descriptor table entry: the object's address with its kind in the two low bits
 * (sockets and epoll instances are at least 8-byte aligned), 0 when free, so a
 * descriptor costs 8 bytes rather than the 16 of a {kind, pointer} pair. */
enum tern_fd_kind { FD_FREE = 0, FD_SOCK, FD_EPOLL };
#define TERN_FD_KIND_MASK ((uintptr_t)3)

struct tern_tcp_tables {
	/* Descriptors: fds[i] for descriptor i; 0..2 are never used. */
	uintptr_t *fds;
	int nfds;
	int fd_hint;                    /* lowest possibly free descriptor */
	/* Connection hash: every socket with a 4-tuple, by tern__tuple_hash; a
	 * bucket is a chain head with a summary of the chain (table.c). */
	uintptr_t *ehash;
	uint32_t ehash_mask;
	uint32_t ehash_count;
	/* The socket segment input's lookup found last and its tuple's hash, so
	 * that its removal (tern__ehash_remove, TIME-WAIT's entry), which nearly
	 * always happens while a segment for it is input, does not hash the
	 * tuple again. Exact: a hashed socket's tuple is never written (connect
	 * and bind write it only while unhashed), and every unlink clears it, so
	 * while it is not NULL it is hashed, under eh_hint_hash. eh_hint_hash is
	 * the hash of the tuple of the segment being input, a miss included:
	 * listen.c's new request, made for that segment, takes it too. */
	struct tern_sock *eh_hint;
	uint32_t eh_hint_hash;
	/* Listeners and bind buckets, by local port. */
	struct tern_sock *lhash[TERN_LHASH_SIZE];
	struct tern_sock *bhash[TERN_BHASH_SIZE];  /* every bound socket, by port */
	uint32_t perturb[TERN_PERTURB_SIZE];       /* RFC 6056 alg. 4 table (spec §8.1) */
	struct tern_pool sock_pool;
	struct tern_pool txseg_pool;
	struct tern_pool chunk_pool;
	struct tern_pool epitem_pool;
	struct tern_pool ooo_pool;      /* out-of-order queues, only while data waits */
	struct tern_pool xfer_pool;     /* transfer blocks, only while data moves */
	struct tern_pool listen_pool;   /* listeners' queues */
	struct tern_pool opts_pool;     /* rare options, only for sockets that set them */
	struct tern_req_table *reqs;    /* the SYN queues' requests (reqsk.c) */
	struct tern_tw_table *tws;      /* time-wait entries (tw.c) */
	uint32_t orphans;
	uint64_t hash_probes;           /* chain links followed in lookups (work counter) */
	/* The last address pair's timestamp offset (isn.c): a host talks to few peers,
	 * and each connection needs it three or four times. */
	struct tern_ts_off_memo {
		uint32_t laddr, raddr, off;
		bool valid;
	} ts_off_memo;
	/* The last address pair's ISN hash state after the pair (isn.c). */
	struct tern_isn_memo {
		uint32_t laddr, raddr;
		bool valid;
		struct tern_siphash_mid mid;
	} isn_memo;
	/* The last connect's port-search offset (ports.c), for the same reason: a
	 * client connecting to one server again and again asks with the same
	 * addresses, port and 10-second epoch. */
	struct tern_port_off_memo {
		uint32_t laddr, raddr, epoch;
		uint16_t rport;
		bool valid;
		uint64_t off;
	} port_off_memo;
};

struct tern_req_table;
struct tern_tw_table;

/* What descriptor `fd` (in range) holds. */
static inline enum tern_fd_kind tern__fd_kind(const struct tern_tcp_tables *t, int fd)
{
	return (enum tern_fd_kind)(t->fds[fd] & TERN_FD_KIND_MASK);
}

static inline void *tern__fd_obj(const struct tern_tcp_tables *t, int fd)
{
	return (void *)(t->fds[fd] & ~TERN_FD_KIND_MASK);
}

/* The same, for a caller that has just tested the kind: the entry less the kind
 * (a subtraction folds into the load's address, where the mask does not). */
static inline void *tern__fd_obj_of(const struct tern_tcp_tables *t, int fd, enum tern_fd_kind kind)
{
	return (void *)(t->fds[fd] - kind);
}

/* table.c */
int tern__tcp_init(struct tern_stack *st);
void tern__tcp_fini(struct tern_stack *st);
/* tern__fd_alloc when the hint's descriptor is taken: the walk up, and growing. */
int tern__fd_alloc_scan(struct tern_stack *st, enum tern_fd_kind kind, void *obj);
/* The lowest free descriptor, now holding `obj` of `kind`. Inline for socket()
 * and accept(): the descriptor close() freed last is nearly always the hint, and
 * free. */
static inline int tern__fd_alloc(struct tern_stack *st, enum tern_fd_kind kind, void *obj)
{
	struct tern_tcp_tables *t = st->tcp;
	int fd = t->fd_hint;

	if (fd >= t->nfds || tern__fd_kind(t, fd) != FD_FREE)
		return tern__fd_alloc_scan(st, kind, obj);
	TERN_ASSERT(((uintptr_t)obj & TERN_FD_KIND_MASK) == 0);
	t->fds[fd] = (uintptr_t)obj | (uintptr_t)kind;
	t->fd_hint = fd + 1;
	return fd;
}
void tern__fd_free(struct tern_stack *st, int fd);
struct tern_sock *tern__fd_sock(struct tern_stack *st, int fd, int *err);
/* The same, also for a socket whose close() is lingering (for close and poll). */
struct tern_sock *tern__fd_sock_any(struct tern_stack *st, int fd, int *err);
struct tern_sock *tern__sock_alloc(struct tern_stack *st);
void tern__sock_free(struct tern_stack *st, struct tern_sock *sk);
/* The socket's transfer block, taken from the pool when it has none; NULL when
 * the pool is out of memory (the caller drops or refuses, as for any buffer). */
struct tern_xfer *tern__sk_xfer(struct tern_stack *st, struct tern_sock *sk);
/* Whether nothing in the socket's transfer block is in use (see struct tern_xfer):
 * nothing queued, in flight, lost, SACKed or pending, and congestion control Open. */
static inline bool tern__sk_xfer_idle(const struct tern_sock *sk)
{
	const struct tern_xfer *x = sk->xfer;

	return !tern__stream_chunks(&x->sndq) && !tern__stream_chunks(&x->rcvq) && !x->ooo && !x->txq_head &&
	       !x->packets_out && !x->sacked_out && !x->lost_out && !x->retrans_out && !x->psh_count && !x->dsack &&
	       !x->ooo_fin && sk->cc.ca_state == TERN_CA_OPEN;
}
/* The trim with an out-of-order queue held: the queue goes back first if it is
 * empty, then the block if idle (out of line: the queue is rare). */
void tern__sk_xfer_trim_ooo(struct tern_stack *st, struct tern_sock *sk);
/* Gives the transfer block back if nothing in it is in use. Called after every
 * segment and read, so the whole of it is inline, as Linux writes its hot tests
 * in tcp.h; only a held out-of-order queue takes the call. */
static inline void tern__sk_xfer_trim(struct tern_stack *st, struct tern_sock *sk)
{
	if (!tern__sk_has_xfer(sk))
		return;
	if (sk->xfer->ooo) {
		tern__sk_xfer_trim_ooo(st, sk);
		return;
	}
	if (!tern__sk_xfer_idle(sk))
		return;
	TERN_ASSERT(!tern__stream_len(&sk->xfer->sndq) && !tern__stream_len(&sk->xfer->rcvq));
	tern__pool_put(&st->tcp->xfer_pool, sk->xfer);
	sk->xfer = (struct tern_xfer *)&tern__xfer_none;
}
/* The out-of-order queue, taken from the pool when missing; NULL when the pool is
 * out of memory (the segment is then dropped, as a full buffer would drop it). */
struct tern_ooo *tern__sk_ooo_get(struct tern_stack *st, struct tern_sock *sk);
/* Gives the queue back if it is empty (drop: empties it first). */
void tern__sk_ooo_put(struct tern_stack *st, struct tern_sock *sk, bool drop);
/* The bucket hash of a 4-tuple, shared by the connection hash, the SYN queue and
 * TIME-WAIT (so a segment's three lookups agree on what they hash). Keyed by a
 * secret so that a peer cannot aim its tuples at one chain, but not SipHash: the
 * value never leaves the stack, and this runs for every segment, so it is a keyed
 * multiply-xorshift mix in the class of Linux's jhash(net_secret) for inet_ehashfn.
 * SipHash stays where the output is seen by peers (ISNs, cookies, port offsets).
 *
 * Unlike Linux's, it keeps runs of ports together. The low TERN_TUPLE_RUN_BITS of
 * the ports do not enter the mix; they are added to its low bits instead, so the
 * 512 tuples that differ only there fill 512 distinct, adjacent buckets of a
 * group the mix chooses (a rotation of the table, while it is smaller than
 * that). Short connections from one peer walk its ephemeral ports a few at a time
 * (Linux's connect() steps by 2 to 16 per destination), so each new connection
 * finds its bucket on a line or a page the last ones used: beside ten million
 * idle connections the first lookup of a SYN was a miss to memory and a page
 * walk, about 15 % of a lifecycle. A peer choosing its ports gains nothing: a run
 * spreads evenly over its group (over the table, while that is smaller), and
 * which group it lands in is the keyed mix's. */
#define TERN_TUPLE_RUN_BITS 9
/* The hash on the 4-tuple as two words, addrs = laddr << 32 | raddr and ports =
 * lport << 16 | rport: segment input has them so in the IP and TCP headers'
 * parsed fields (one load each on a little-endian host, see
 * tern__tcp_input), and the run's bits of both ports are then one mask. */
static inline uint32_t tern__tuple_hash_words(const struct tern_stack *st, uint64_t addrs, uint32_t ports)
{
	const uint32_t run = (1u << TERN_TUPLE_RUN_BITS) - 1;
	uint64_t a = addrs ^ st->secrets.port.k0;
	uint64_t b = (uint64_t)(ports & ~(run << 16 | run)) ^ st->secrets.port.k1;
	uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
	h ^= h >> 31;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 29;
	uint32_t x = (uint32_t)(h >> 32) ^ (uint32_t)h;
	/* A server sees one local port and the peer's varying; a client the reverse.
	 * The low run bits of lport ^ rport. */
	uint32_t low = (ports ^ ports >> 16) & run;
	/* The top four bits are the chains' summary tags (table.c, tw.c), far above
	 * any bucket index: mixed with the low bits too, so that a run's tuples do
	 * not all share one tag. */
	x ^= (low * 0x9e3779b1u) & 0xf0000000u;
	return (x & ~run) | ((x + low) & run);
}
static inline uint32_t tern__tuple_hash(const struct tern_stack *st, uint32_t laddr, uint16_t lport,
					uint32_t raddr, uint16_t rport)
{
	return tern__tuple_hash_words(st, (uint64_t)laddr << 32 | raddr, (uint32_t)lport << 16 | rport);
}
void tern__ehash_remove(struct tern_stack *st, struct tern_sock *sk);
/* The first socket of chain `i` (0 <= i <= ehash_mask). */
struct tern_sock *tern__ehash_chain(const struct tern_stack *st, uint32_t i);
struct tern_sock *tern__ehash_lookup(struct tern_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
				     uint16_t rport);

/* A connection-hash bucket: its chain's first socket and, on x86-64 where user
 * pointers fit in 48 bits, a 16-bit summary of the chain in the top bits, bit
 * (hash >> 28) of each socket on it (table.c says how it is kept). */
#if defined(__x86_64__) && UINTPTR_MAX == UINT64_MAX
#define TERN_EH_TAGS 1
#define TERN_EH_PTR_MASK ((uintptr_t)0xffffffffffff)
#else
#define TERN_EH_TAGS 0
#define TERN_EH_PTR_MASK UINTPTR_MAX
#endif

static inline struct tern_sock *tern__eh_first(uintptr_t b)
{
	return (struct tern_sock *)(b & TERN_EH_PTR_MASK);
}

static inline uint16_t tern__eh_summary(uintptr_t b)
{
#if TERN_EH_TAGS
	return (uint16_t)(b >> 48);
#else
	(void)b;
	return 0;
#endif
}

static inline uint16_t tern__eh_bit(uint32_t hash)
{
	return TERN_EH_TAGS ? (uint16_t)(1u << (hash >> 28)) : 0;
}

/* The bucket for chain `first` whose summary is `summary`. */
static inline uintptr_t tern__eh_make(struct tern_sock *first, uint16_t summary)
{
#if TERN_EH_TAGS
	return first ? (uintptr_t)first | (uintptr_t)summary << 48 : 0;
#else
	(void)summary;
	return (uintptr_t)first;
#endif
}

/* Puts `sk` first on the chain of bucket `b`. */
static inline void tern__eh_push(uintptr_t *b, struct tern_sock *sk, uint32_t hash)
{
	sk->hash_next = tern__eh_first(*b);
	sk->hash_rest = tern__eh_summary(*b);
	*b = tern__eh_make(sk, sk->hash_rest | tern__eh_bit(hash));
}

/* Rewrites bucket `b`'s summary after a walk of its chain found nothing. */
void tern__ehash_heal(const struct tern_stack *st, uintptr_t *b);
/* Doubles the connection hash (out of line: tern__ehash_insert's rare case). */
void tern__ehash_grow(struct tern_stack *st);

/* Hashes `sk` by its 4-tuple. Inline for connect() and the accepted child, one
 * each a lifecycle; growing the table is the rare part. */
/* tern__ehash_insert for a caller that has the 4-tuple's tern__tuple_hash
 * already (connect: its port search; a handshake's child: segment input's). The
 * hash does not depend on the table's size, so it holds across a grow. */
static inline void tern__ehash_insert_hashed(struct tern_stack *st, struct tern_sock *sk, uint32_t hash)
{
	struct tern_tcp_tables *t = st->tcp;

	TERN_ASSERT(!(sk->flags & SK_HASHED));
	TERN_ASSERT(((uintptr_t)sk & ~TERN_EH_PTR_MASK) == 0);
	TERN_ASSERT(hash == tern__tuple_hash(st, sk->laddr, sk->lport, sk->raddr, sk->rport));
	if (t->ehash_count > t->ehash_mask)
		tern__ehash_grow(st);
	tern__eh_push(&t->ehash[hash & t->ehash_mask], sk, hash);
	t->ehash_count++;
	sk->flags |= SK_HASHED;
}

static inline void tern__ehash_insert(struct tern_stack *st, struct tern_sock *sk)
{
	tern__ehash_insert_hashed(st, sk, tern__tuple_hash(st, sk->laddr, sk->lport, sk->raddr, sk->rport));
}

/* The same as tern__ehash_lookup, for a caller that has the tuple's
 * tern__tuple_hash already (segment input hashes once for the connection,
 * TIME-WAIT and request tables). Inline: every segment asks, most of them
 * settle it on the summary or the chain's first socket, and the call around
 * that cost as much as the test; the rare heal stays out of line. */
static inline struct tern_sock *tern__ehash_lookup_hashed(struct tern_stack *st, uint32_t hash, uint32_t laddr,
							  uint16_t lport, uint32_t raddr, uint16_t rport)
{
	struct tern_tcp_tables *t = st->tcp;
	uintptr_t *b = &t->ehash[hash & t->ehash_mask];

	if (TERN_EH_TAGS && !(tern__eh_summary(*b) & tern__eh_bit(hash)))
		return NULL;
	for (struct tern_sock *sk = tern__eh_first(*b); sk; sk = sk->hash_next) {
		t->hash_probes++;
		if (sk->lport == lport && sk->rport == rport && sk->laddr == laddr && sk->raddr == raddr)
			return sk;
	}
	if (TERN_EH_TAGS && *b)
		tern__ehash_heal(st, b);
	return NULL;
}
/* tern__ehash_lookup_hashed on the 4-tuple's two words (tern__tuple_hash_words'
 * addrs and ports), for segment input: on a little-endian host the socket's
 * laddr, raddr and lport, rport are the same words turned by half, so a
 * socket is compared in two tests instead of four. */
static inline struct tern_sock *tern__ehash_lookup_words(struct tern_stack *st, uint32_t hash, uint64_t addrs,
							 uint32_t ports)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	_Static_assert(offsetof(struct tern_sock, raddr) == offsetof(struct tern_sock, laddr) + 4 &&
			       offsetof(struct tern_sock, rport) == offsetof(struct tern_sock, lport) + 2,
		       "the socket's addresses and ports are pairs");
	struct tern_tcp_tables *t = st->tcp;
	uintptr_t *b = &t->ehash[hash & t->ehash_mask];
	uint64_t ka = addrs << 32 | addrs >> 32;
	uint32_t kp = ports << 16 | ports >> 16;

	if (TERN_EH_TAGS && !(tern__eh_summary(*b) & tern__eh_bit(hash)))
		return NULL;
	for (struct tern_sock *sk = tern__eh_first(*b); sk; sk = sk->hash_next) {
		uint64_t sa;
		uint32_t sp;
		t->hash_probes++;
		memcpy(&sa, &sk->laddr, sizeof(sa));
		memcpy(&sp, &sk->lport, sizeof(sp));
		if (sp == kp && sa == ka)
			return sk;
	}
	if (TERN_EH_TAGS && *b)
		tern__ehash_heal(st, b);
	return NULL;
#else
	return tern__ehash_lookup_hashed(st, hash, (uint32_t)(addrs >> 32), (uint16_t)(ports >> 16), (uint32_t)addrs,
					 (uint16_t)ports);
#endif
}
void tern__lhash_insert(struct tern_stack *st, struct tern_sock *sk);
void tern__lhash_remove(struct tern_stack *st, struct tern_sock *sk);
struct tern_sock *tern__lhash_lookup(struct tern_stack *st, uint32_t laddr, uint16_t lport);

/* ports.c */
int tern__port_bind(struct tern_stack *st, struct tern_sock *sk, uint32_t addr, uint16_t port);
void tern__port_unbind(struct tern_stack *st, struct tern_sock *sk);
int tern__port_relisten_check(struct tern_stack *st, struct tern_sock *sk);
void tern__port_inherit(struct tern_stack *st, struct tern_sock *child, const struct tern_sock *listener);
/* What connect() takes over from a reused time-wait entry (spec §6.7). */
struct tern_tw_reuse {
	bool used;
	tern_seq isn;
	uint32_t ts_recent;
	tern_time ts_recent_stamp;
};
/* Picks connect()'s local port (or checks the bound one's 4-tuple), and leaves
 * in *hash the tern__tuple_hash of the 4-tuple it settled on: the connection
 * hash insert that follows needs that same value (about 45 instructions a
 * connect not spent again). */
int tern__port_connect_hashed(struct tern_stack *st, struct tern_sock *sk, uint32_t raddr, uint16_t rport,
			      struct tern_tw_reuse *reuse, uint32_t *hash);

/* isn.c */
tern_seq tern__isn(struct tern_stack *st, uint32_t laddr, uint32_t raddr, uint16_t lport, uint16_t rport);
uint32_t tern__ts_offset(struct tern_stack *st, uint32_t laddr, uint32_t raddr);
/* Our TSval clock (ms) for a socket. */
uint32_t tern__tcp_ts_now(const struct tern_stack *st, const struct tern_sock *sk);

/* output.c */
void tern__tcp_init_mss(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_send_syn(struct tern_stack *st, struct tern_sock *sk, bool retransmit);
void tern__tcp_send_ack(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_send_active_reset(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_push(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_retransmit_head(struct tern_stack *st, struct tern_sock *sk);
bool tern__tcp_retransmit_lost(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_send_probe(struct tern_stack *st, struct tern_sock *sk);
uint32_t tern__tcp_select_window(struct tern_stack *st, struct tern_sock *sk);
uint32_t tern__tcp_select_window_peek(struct tern_sock *sk);
void tern__tcp_select_initial_window(const struct tern_stack *st, uint32_t rcvbuf, bool rcvbuf_locked,
				     uint32_t clamp, uint32_t mss, bool wscale_ok, uint32_t *rcv_wnd,
				     uint8_t *rcv_wscale, uint32_t *window_clamp);
void tern__tcp_init_rcv_window(struct tern_stack *st, struct tern_sock *sk, uint32_t mss);
struct tern_ip_out;
void tern__tcp_emit(struct tern_stack *st, const struct tern_ip_out *out, const struct tern_tcp *seg);
void tern__tcp_emit_in_place(struct tern_stack *st, const struct tern_ip_out *out, const struct tern_tcp *hdr,
			     size_t optlen);
/* Writes a SYN's or SYN-ACK's options at p in Linux's order and padding
 * (tcp_options_write): MSS, then SACK-permitted and timestamps, then the window
 * scale. Returns their length (at most 20). */
size_t tern__tcp_put_syn_options(uint8_t *p, uint16_t mss, bool ts, bool sack, bool ws, uint32_t ts_val,
				 uint32_t ts_ecr, uint8_t wscale);
void tern__tcp_init_buffer_space(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_grow_window(struct tern_stack *st, struct tern_sock *sk, uint32_t len, uint32_t truesize);
/* Receive-buffer autotuning (tcp/rcvbuf.c). */
void tern__tcp_rcv_space_init(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_rcv_space_update(struct tern_stack *st, struct tern_sock *sk);
/* Linux's tcp_rcv_space_adjust, after each read: nothing to do until the receiver
 * has an RTT sample (tcp_rcv_rtt_measure), the usual case of a short connection,
 * which is why that test is inline and the measure out of line. */
static inline void tern__tcp_rcv_space_adjust(struct tern_stack *st, struct tern_sock *sk)
{
	if (sk->rcv_rtt_x8_us)
		tern__tcp_rcv_space_update(st, sk);
}
void tern__tcp_rcvbuf_grow(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_rcv_rtt_measure(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_sndbuf_expand(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_ack_snd_check(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_schedule_ack(struct tern_stack *st, struct tern_sock *sk, bool now);
bool tern__tcp_ratelimit_ack(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_send_challenge_ack(struct tern_stack *st, struct tern_sock *sk);

/* ack.c */
int tern__tcp_ack(struct tern_stack *st, struct tern_sock *sk, const struct tern_tcp *seg);
void tern__tcp_enter_loss(struct tern_stack *st, struct tern_sock *sk);

/* recovery.c */
void tern__tcp_recovery_ack(struct tern_stack *st, struct tern_sock *sk, struct tern_ack_info *a);
void tern__tcp_mark_lost(struct tern_stack *st, struct tern_sock *sk, struct tern_txseg *t);
void tern__tcp_min_rtt_update(struct tern_stack *st, struct tern_sock *sk, uint32_t rtt_us);
void tern__tcp_rack_advance(struct tern_stack *st, struct tern_sock *sk, const struct tern_txseg *t);
void tern__tcp_rack_advance_rtt(struct tern_stack *st, struct tern_sock *sk, const struct tern_txseg *t,
				uint32_t rtt_us);
uint32_t tern__tcp_remove_reno_sacks(struct tern_sock *sk, uint32_t acked);
void tern__tcp_prr_sent(struct tern_sock *sk, uint32_t segs);
bool tern__tcp_schedule_loss_probe(struct tern_stack *st, struct tern_sock *sk, bool advancing_rto);
void tern__tcp_arm_rto_and_probe(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_send_loss_probe(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_rack_reo_timeout(struct tern_stack *st, struct tern_sock *sk);
/* ack.c: RFC 6675 IsLost, the loss rule when RACK is off */
uint32_t tern__tcp_mark_lost_by_sack(struct tern_stack *st, struct tern_sock *sk);
/* output.c */
void tern__tcp_retransmit_seg(struct tern_stack *st, struct tern_sock *sk, struct tern_txseg *t);
bool tern__tcp_send_probe_data(struct tern_stack *st, struct tern_sock *sk);
/* timers.c: the RTO with backoff, capped */
tern_time tern__tcp_backed_off_rto(const struct tern_stack *st, const struct tern_sock *sk);

/* rcv.c */
void tern__tcp_data_queue(struct tern_stack *st, struct tern_sock *sk, const struct tern_tcp *seg);
void tern__tcp_event_data_recv(struct tern_stack *st, struct tern_sock *sk, uint32_t len, uint32_t hdr_len);
uint32_t tern__skb_truesize(uint32_t payload, uint32_t tcp_hdr_len);
void tern__tcp_clean_rbuf(struct tern_stack *st, struct tern_sock *sk, size_t copied);
void tern__tcp_enter_quickack_mode(struct tern_sock *sk);
void tern__tcp_dsack_set(struct tern_stack *st, struct tern_sock *sk, tern_seq start, tern_seq end);

/* input.c */
void tern__tcp_rcv(struct tern_stack *st, struct tern_sock *sk, const struct tern_ipv4 *ip,
		   const struct tern_tcp *seg);

/* timers.c */
void tern__tcp_timers_init(struct tern_sock *sk);
/* Arms (or moves) one of the socket's deadlines; cancelling a deadline that is
 * not armed is harmless. Deadlines are at most 2^31 ticks (24 days) ahead. */
void tern__sk_timer_arm(struct tern_stack *st, struct tern_sock *sk, enum tern_skt_kind kind, tern_time when);
/* Arms `kind` for `first` and at once moves it to `when`, as the two calls would,
 * without the first's work (the wheel timer ends where the two would leave it). */
void tern__sk_timer_arm_moved(struct tern_stack *st, struct tern_sock *sk, enum tern_skt_kind kind, tern_time first,
			      tern_time when);
void tern__sk_timer_cancel(struct tern_stack *st, struct tern_sock *sk, enum tern_skt_kind kind);
static inline bool tern__sk_timer_pending(const struct tern_sock *sk, enum tern_skt_kind kind)
{
	return sk->timer_armed >> kind & 1;
}
/* When an armed deadline fires (ns, rounded up to the wheel's tick). */
tern_time tern__sk_timer_expiry(const struct tern_stack *st, const struct tern_sock *sk, enum tern_skt_kind kind);
void tern__tcp_rearm_rto(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_arm_persist(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_arm_delack(struct tern_stack *st, struct tern_sock *sk);
bool tern__tcp_write_wakeup(struct tern_stack *st, struct tern_sock *sk);
/* Accounts `n` bytes just appended to the send queue (Linux's tcp_sendmsg
 * bookkeeping: write_seq, the tail skb and its push marks). */
void tern__tcp_written(struct tern_stack *st, struct tern_sock *sk, uint32_t n);
/* Runs the delack timer as the compressed-SACK timer (spec §14.5). */
void tern__tcp_arm_compressed_ack(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_rcv_rtt_measure_ts(struct tern_sock *sk, const struct tern_tcp *seg, uint32_t ts_now);
void tern__tcp_arm_keepalive(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_orphan_fin_wait2(struct tern_stack *st, struct tern_sock *sk, bool keep_socket);
void tern__tcp_clear_timers(struct tern_stack *st, struct tern_sock *sk);

/* socket.c: state changes with their bookkeeping */
void tern__tcp_set_state(struct tern_stack *st, struct tern_sock *sk, int state);
void tern__tcp_done(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_reset(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_established(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_free_txq(struct tern_stack *st, struct tern_sock *sk);
void tern__tcp_listener_stop(struct tern_stack *st, struct tern_sock *lsk);
bool tern__tcp_linger_done(const struct tern_stack *st, const struct tern_sock *sk);

/* poll.c */
void tern__sock_wakeup(struct tern_stack *st, struct tern_sock *sk);
uint32_t tern__sock_poll(struct tern_stack *st, struct tern_sock *sk);
void tern__sock_epoll_detach(struct tern_stack *st, struct tern_sock *sk);
void tern__epoll_destroy(struct tern_stack *st, int epfd);

/* output.c: a window tern__tcp_select_initial_window chose, applied to a socket as
 * tern__tcp_init_rcv_window does (for a caller that has it already). */
void tern__tcp_set_rcv_window(struct tern_sock *sk, uint32_t rcv_wnd, uint8_t rcv_wscale, uint32_t window_clamp);

/* table.c: tern__ehash_remove for a caller that has the tuple's tern__tuple_hash
 * already (TIME-WAIT entry, made for the same 4-tuple, hashed it). */
void tern__ehash_remove_hashed(struct tern_stack *st, struct tern_sock *sk, uint32_t hash);

#endif
