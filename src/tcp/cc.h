/*
 * tcp/cc.h: congestion control: the per-connection state, the algorithm vtable,
 * the registry ("reno", "cubic"), and the window operations every algorithm shares.
 *
 * Governing texts: RFC 5681 (§3.1 slow start and congestion avoidance, §3.2 the
 * reaction to loss), RFC 9438 (CUBIC), RFC 6582 / RFC 6675 for where the engine
 * enters recovery, RFC 2861 / RFC 5681 §4.1 for restarting after idle. tern
 * follows Linux (tcp_cong.c, tcp_cubic.c, and the callers in tcp_input.c /
 * tcp_output.c) where it departs from the RFC text.
 *
 * Division of labour. The TCP engine owns the loss-recovery state machine (RACK,
 * SACK scoreboard, PRR, undo markers, high_seq) and decides *when* things happen;
 * this module owns *how* cwnd and ssthresh change. The engine calls:
 *   - tern__cc_init when the socket is created, tern__cc_start when it becomes
 *     ESTABLISHED (Linux tcp_init_congestion_control), tern__cc_switch for
 *     TCP_CONGESTION;
 *   - tern__cc_pkts_acked for every ACK that acknowledges or SACKs data, with the
 *     RTT sample of the most recently sent newly acknowledged segment (-1 if none);
 *   - tern__cc_cong_avoid when the ACK may raise cwnd (Linux tcp_may_raise_cwnd;
 *     not during CWR/Recovery/Loss reductions), saying whether the connection was
 *     cwnd-limited (Linux tcp_is_cwnd_limited): only then does cwnd grow;
 *   - tern__cc_enter_recovery / tern__cc_enter_loss / tern__cc_end_reduction /
 *     tern__cc_undo at the corresponding recovery events; during recovery the engine
 *     sets cwnd itself by PRR (RFC 6937, spec §14.19): no cwnd inflation here;
 *   - tern__cc_event(TX_START) when it sends data with nothing in flight, and
 *     tern__cc_cwnd_restart when new data is queued after an idle period longer than
 *     the RTO (net.ipv4.tcp_slow_start_after_idle, spec §14.20).
 *
 * Everything is in segments. Time is passed in (struct tern_cc_conn.now); nothing
 * here reads a clock, allocates, or keeps global mutable state: the registry is a
 * constant table.
 */
#ifndef TERN_TCP_CC_H
#define TERN_TCP_CC_H

#include <stdbool.h>
#include <stdint.h>

#include "tern/types.h"

/* Linux include/net/tcp.h. */
#define TERN_TCP_INIT_CWND          10           /* TCP_INIT_CWND (RFC 6928) */
#define TERN_TCP_INFINITE_SSTHRESH  0x7fffffffu  /* TCP_INFINITE_SSTHRESH */
#define TERN_TCP_CA_NAME_MAX        16           /* TCP_CA_NAME_MAX, with the NUL */
#define TERN_CC_DEFAULT_NAME        "cubic"      /* CONFIG_DEFAULT_TCP_CONG */

/* Linux's congestion-avoidance states (enum tcp_ca_state), in its order. */
enum tern_ca_state {
	TERN_CA_OPEN = 0,
	TERN_CA_DISORDER = 1,
	TERN_CA_CWR = 2,
	TERN_CA_RECOVERY = 3,
	TERN_CA_LOSS = 4,
};

/* Events passed to an algorithm's cwnd_event (Linux enum tcp_ca_event). */
enum tern_cc_event {
	TERN_CC_EVENT_TX_START,     /* first transmission with nothing in flight */
	TERN_CC_EVENT_CWND_RESTART, /* cwnd restarted after idle */
	TERN_CC_EVENT_COMPLETE_CWR, /* a CWR or recovery reduction ended */
	TERN_CC_EVENT_LOSS,         /* an RTO loss episode began */
};

/*
 * CUBIC's private state (Linux struct bictcp, plus an explicit epoch flag: Linux
 * uses epoch_start == 0 for "no epoch", which a clock that starts at 0 would hit).
 * Times named _ms are a 1 ms tick counter, Linux's jiffies at HZ=1000; _us are
 * microsecond stamps truncated to 32 bits like Linux's tcp_mstamp.
 */
struct tern_cubic {
	uint32_t cnt;              /* ACKed segments per cwnd increment */
	uint32_t last_max_cwnd;    /* W_max: cwnd at the last loss, after fast convergence */
	uint32_t last_cwnd;        /* cwnd when cnt was last computed */
	uint32_t last_time_ms;     /* when cnt was last computed */
	uint32_t origin_point;     /* the curve's plateau (W_max or the epoch's cwnd) */
	uint32_t k;                /* time from epoch start to the plateau, 1/1024 s */
	uint32_t delay_min_us;     /* smallest RTT seen */
	uint32_t epoch_start_ms;   /* start of the current growth epoch */
	uint32_t ack_cnt;          /* segments ACKed in the epoch, for the Reno estimate */
	uint32_t tcp_cwnd;         /* W_est: what Reno would have by now */
	bool in_epoch;             /* epoch_start_ms is valid */
	bool found;                /* HyStart has ended slow start */
	uint8_t sample_cnt;        /* HyStart delay samples this round */
	uint32_t round_start_us;   /* HyStart: start of the current round */
	tern_seq end_seq;          /* HyStart: SND.NXT at the start of the round */
	uint32_t last_ack_us;      /* HyStart: last ACK of the current ACK train */
	uint32_t curr_rtt_us;      /* HyStart: smallest RTT this round */
};

/* Room for any algorithm's private state. DEVIATION: Linux reserves 104 bytes
 * (ICSK_CA_PRIV_SIZE) for algorithms tern does not have; tern's two fit in 60, and
 * every idle connection pays for this room. */
union tern_cc_priv {
	struct tern_cubic cubic;
	uint32_t raw[15];
};
_Static_assert(sizeof(struct tern_cubic) <= 60, "CUBIC's state must fit the private room");

struct tern_cc_ops;

/* Per-connection congestion state (the tcp_sock / icsk fields Linux keeps). */
struct tern_cc {
	const struct tern_cc_ops *ops;
	uint32_t cwnd_segs;           /* snd_cwnd */
	uint32_t ssthresh_segs;       /* snd_ssthresh */
	uint32_t cwnd_cnt;            /* snd_cwnd_cnt: ACKed segments towards the next +1 */
	uint32_t clamp_segs;          /* snd_cwnd_clamp */
	uint32_t prior_cwnd_segs;     /* cwnd before the current reduction (for undo, PRR) */
	uint32_t prior_ssthresh_segs; /* ssthresh to restore on undo; 0 = nothing to undo */
	uint8_t ca_state;             /* enum tern_ca_state */
	union tern_cc_priv priv;
};

/* What an algorithm may read about the connection at the time of a call. */
struct tern_cc_conn {
	tern_time now;
	tern_seq snd_una;
	tern_seq snd_nxt;
	tern_time last_send;       /* when data was last sent (Linux lsndtime); read
				      by cwnd_event only, and left 0 in the view
				      tern__tcp_ack gives pkts_acked and cong_avoid */
	uint64_t pacing_bytes_per_s;  /* sk_pacing_rate in bytes per second; 0 if none */
	bool paced;                /* a pacer enforces that rate (sk_pacing_status) */
};

/*
 * An algorithm (the roles of Linux's struct tcp_congestion_ops). ssthresh,
 * cong_avoid and undo_cwnd are required; the others may be NULL.
 */
struct tern_cc_ops {
	const char *name;
	/* Sets up private state when the connection is established. */
	void (*init)(struct tern_cc *cc, const struct tern_cc_conn *conn);
	/* The new ssthresh for a loss or ECN reduction, from the current cwnd. */
	uint32_t (*ssthresh)(struct tern_cc *cc);
	/* Grows cwnd for `acked` newly acknowledged segments. Must change
	 * nothing when not `cwnd_limited`: tern__cc_cong_avoid does not call it
	 * then. */
	void (*cong_avoid)(struct tern_cc *cc, const struct tern_cc_conn *conn, uint32_t acked,
			   bool cwnd_limited);
	/* Sees every ACK of new data, with its RTT sample in us (-1 if none). */
	void (*pkts_acked)(struct tern_cc *cc, const struct tern_cc_conn *conn, uint32_t acked,
			   int64_t rtt_us);
	void (*cwnd_event)(struct tern_cc *cc, const struct tern_cc_conn *conn, enum tern_cc_event ev);
	/* Called before the state changes to `state`. */
	void (*set_state)(struct tern_cc *cc, const struct tern_cc_conn *conn, enum tern_ca_state state);
	/* The cwnd to return to when a reduction proves spurious. */
	uint32_t (*undo_cwnd)(struct tern_cc *cc);
};

extern const struct tern_cc_ops tern__cc_reno;
extern const struct tern_cc_ops tern__cc_cubic;

/* CUBIC's hooks that run on every connection (its init, pkts_acked and
 * cwnd_event, the same functions tern__cc_cubic points at), named so that cc.c
 * can call them directly when a socket's ops are CUBIC's, as Linux's
 * INDIRECT_CALL_* wrappers do: a direct call the link-time optimiser can inline
 * instead of one through a pointer it cannot see through. */
void tern__cubic_init(struct tern_cc *cc, const struct tern_cc_conn *conn);
void tern__cubic_pkts_acked(struct tern_cc *cc, const struct tern_cc_conn *conn, uint32_t acked,
			    int64_t rtt_us);
void tern__cubic_cwnd_event(struct tern_cc *cc, const struct tern_cc_conn *conn, enum tern_cc_event ev);
/* tern__cubic_pkts_acked for the view tern__cc_pkts_acked_at describes. */
void tern__cubic_pkts_acked_at(struct tern_cc *cc, tern_time now, tern_seq snd_una, tern_seq snd_nxt,
			       int64_t rtt_us);

/* ---------------------------------------------------------------- registry */

/* Finds an algorithm by its exact name. 0 and *out set, or -TERN_ENOENT. */
int tern__cc_find(const char *name, const struct tern_cc_ops **out);

/* The registered algorithms, in Linux's listing order ("reno cubic"), for
 * net.ipv4.tcp_available_congestion_control. NULL past the end. The index equals
 * the word index of net.ipv4.tcp_congestion_control in sysctl/sysctl.h. */
const struct tern_cc_ops *tern__cc_at(unsigned int i);

/* ---------------------------------------------------------------- lifecycle */

/* A new socket (tcp_init_sock): cwnd TCP_INIT_CWND, ssthresh "infinite", no clamp,
 * state Open, private state zeroed. Does not call ops->init (see tern__cc_start). */
void tern__cc_init(struct tern_cc *cc, const struct tern_cc_ops *ops);

/* The connection is established (tcp_init_congestion_control): forgets any undo
 * state and runs the algorithm's init. */
void tern__cc_start(struct tern_cc *cc, const struct tern_cc_conn *conn);

/* TCP_CONGESTION (tcp_reinit_congestion_control): switches algorithm, zeroes its
 * private state and, when the socket is neither CLOSED nor LISTEN (conn != NULL),
 * starts the new one. cwnd and ssthresh are kept. */
void tern__cc_switch(struct tern_cc *cc, const struct tern_cc_ops *ops, const struct tern_cc_conn *conn);

/* ---------------------------------------------------------------- per ACK */

/* Linux tcp_in_slow_start: cwnd below ssthresh. */
static inline bool tern__cc_in_slow_start(const struct tern_cc *cc)
{
	return cc->cwnd_segs < cc->ssthresh_segs;
}

/* Runs the algorithm's pkts_acked, if any. */
void tern__cc_pkts_acked(struct tern_cc *cc, const struct tern_cc_conn *conn, uint32_t acked, int64_t rtt_us);
/* The same, with the view the ACK gives (`now`, `snd_una` and `snd_nxt`, the
 * rest 0) built only where a hook needs it in memory: CUBIC's hook reads the
 * time from it only in a young epoch and hands it on only to HyStart. */
void tern__cc_pkts_acked_at(struct tern_cc *cc, tern_time now, tern_seq snd_una, tern_seq snd_nxt, uint32_t acked,
			    int64_t rtt_us);

/* Runs the algorithm's cong_avoid, when the connection is cwnd-limited. */
void tern__cc_cong_avoid(struct tern_cc *cc, const struct tern_cc_conn *conn, uint32_t acked,
			 bool cwnd_limited);

/* Delivers an event to the algorithm. */
void tern__cc_event(struct tern_cc *cc, const struct tern_cc_conn *conn, enum tern_cc_event ev);

/* Changes the CA state, telling the algorithm first (tcp_set_ca_state). */
void tern__cc_set_state(struct tern_cc *cc, const struct tern_cc_conn *conn, enum tern_ca_state state);

/* ---------------------------------------------------------------- shared window rules */

/*
 * Slow start (Linux tcp_slow_start, RFC 5681 §3.1): cwnd grows by every newly
 * ACKed segment, a stretch ACK counting in full (no RFC 3465 limit: spec §14.20),
 * but not past ssthresh, and never past the clamp. Returns the ACKed segments left
 * over once cwnd reached ssthresh, for congestion avoidance to use.
 */
uint32_t tern__cc_slow_start(struct tern_cc *cc, uint32_t acked);

/*
 * Additive increase (Linux tcp_cong_avoid_ai): cwnd grows by one for every `w`
 * ACKed segments, counted in cwnd_cnt (w = cwnd gives RFC 5681's one segment per
 * RTT). Credit accumulated under a larger w is cashed in as a single +1.
 */
void tern__cc_cong_avoid_ai(struct tern_cc *cc, uint32_t w, uint32_t acked);

/* tcp_current_ssthresh: during a reduction (CWR, Recovery) the current ssthresh;
 * otherwise the larger of ssthresh and 3/4 of cwnd. */
uint32_t tern__cc_current_ssthresh(const struct tern_cc *cc);

/* ---------------------------------------------------------------- loss events */

/*
 * Fast recovery begins (tcp_enter_recovery + tcp_init_cwnd_reduction). Unless a CWR
 * or recovery reduction is already under way, remembers the undo point (prior
 * ssthresh: none if the reduction is an ECN echo, `ece`), saves prior_cwnd, and asks
 * the algorithm for the new ssthresh. Then enters Recovery. The engine then runs PRR
 * from prior_cwnd_segs towards ssthresh_segs.
 */
void tern__cc_enter_recovery(struct tern_cc *cc, const struct tern_cc_conn *conn, bool ece);

/*
 * ECN congestion or a local drop (tcp_enter_cwr): reduce without an undo point.
 * Only from Open or Disorder.
 */
void tern__cc_enter_cwr(struct tern_cc *cc, const struct tern_cc_conn *conn);

/*
 * The retransmission timer fired (tcp_enter_loss). `new_episode` is the engine's
 * judgement that this is not a further RTO of the same loss episode (Linux: state
 * was Open/Disorder, or SND.UNA reached high_seq, or a Loss state with no
 * retransmission yet). For a new episode the undo point and prior_cwnd are saved,
 * ssthresh recomputed and the LOSS event delivered. Then cwnd = in_flight + 1 and
 * the state becomes Loss.
 */
void tern__cc_enter_loss(struct tern_cc *cc, const struct tern_cc_conn *conn, uint32_t in_flight_segs,
			 bool new_episode);

/*
 * A CWR or Recovery reduction completes (tcp_end_cwnd_reduction): cwnd settles at
 * ssthresh (if ssthresh is finite and the state is CWR or the engine still has an
 * undo marker, `undo_pending`), then COMPLETE_CWR is delivered. The engine moves
 * the state to Open afterwards.
 */
void tern__cc_end_reduction(struct tern_cc *cc, const struct tern_cc_conn *conn, bool undo_pending);

/*
 * The reduction was spurious (tcp_undo_cwnd_reduction, after D-SACK, timestamps or
 * F-RTO proved it): if an undo point exists, cwnd returns to the algorithm's
 * undo_cwnd and ssthresh to the saved one if that is larger. Returns whether an
 * undo point existed. The engine clears its own undo marker.
 */
bool tern__cc_undo(struct tern_cc *cc);

/*
 * Restart after idle (tcp_cwnd_restart, RFC 5681 §4.1 as Linux reads it): delivers
 * CWND_RESTART, lifts ssthresh to the current ssthresh (3/4 of cwnd if larger), and
 * halves cwnd ceil(idle / RTO) - 1 times, stopping once it is at or below
 * min(init_cwnd, cwnd), which is also the floor. The engine calls it when it queues
 * data with nothing in flight and the idle time (now - last send) exceeds the RTO
 * (Linux tcp_slow_start_after_idle_check, net.ipv4.tcp_slow_start_after_idle).
 */
void tern__cc_cwnd_restart(struct tern_cc *cc, const struct tern_cc_conn *conn, tern_time idle_ns,
			   uint32_t rto_us, uint32_t init_cwnd_segs);

#endif
