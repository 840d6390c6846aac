/*
 * tcp/cc_cubic.c: CUBIC congestion control ("cubic", Linux's default), RFC 9438 as
 * Linux's tcp_cubic implements it with its default module parameters.
 *
 * The window after a loss follows W(t) = C (t - K)^3 + W_max (RFC 9438 §4.2):
 * concave while it climbs back towards W_max, flat around t = K, convex beyond it
 * as it probes for more. W_max is the cwnd at the last loss, K the time the curve
 * needs to return there: K = cbrt((W_max - cwnd_at_epoch_start) / C), which after a
 * plain reduction to beta * W_max is cbrt(W_max (1 - beta) / C).
 *
 * Linux's choices, kept here:
 *  - beta = 717/1024 (~0.7, RFC 9438 §4.6) and C = 41*10/1024 (~0.4, the RFC's
 *    recommended value; Linux's bic_scale = 41). Time on the curve is in units of
 *    1/1024 s (BICTCP_HZ = 10), so delta = 410 * (t - K)^3 >> 40 segments, and K
 *    comes from the cube root of (W_max - cwnd) * 2^40 / 410.
 *  - The curve is evaluated one minimum RTT ahead (t includes delay_min), as
 *    RFC 9438 §4.2 suggests, and its target turns into "cnt": the number of ACKed
 *    segments per +1 of cwnd (Linux's tcp_cong_avoid_ai), never below 2, so cwnd at
 *    most grows by half a segment per ACKed segment (the 1.5 cwnd per RTT cap on
 *    the target of RFC 9438 §4.2). While cwnd is unchanged, cnt is recomputed at
 *    most every 1/32 s.
 *  - Before the first loss (W_max = 0) cnt is capped at 20, about 5% growth per RTT.
 *  - Reno-friendly region (RFC 9438 §4.3, tcp_friendliness = 1): W_est grows by one
 *    segment per 15/8 cwnd ACKed segments (alpha = 3(1-beta)/(1+beta) ~ 0.53 in
 *    Linux's integer form 8*(1024+717)/3/(1024-717) = 15), and when W_est is ahead
 *    cnt is lowered to catch up.
 *    LINUX-COMPAT: alpha stays ~0.53 even once W_est passes the previous cwnd, where
 *    RFC 9438 §4.3 says it SHOULD become 1.
 *  - Fast convergence on (RFC 9438 §4.7): a loss below the previous W_max sets
 *    W_max = cwnd (1 + beta) / 2.
 *  - ssthresh on loss = max(cwnd * beta, 2) (RFC 9438 §4.6); the epoch ends, and a
 *    new one starts with the first congestion-avoidance ACK afterwards.
 *  - An RTO (set_state Loss) forgets everything, including HyStart's verdict.
 *  - After idle (TX_START with nothing in flight) the epoch start moves forward by
 *    the idle time, so the curve resumes where it stopped instead of jumping ahead
 *    (RFC 9438 §5.8; Linux commit 30927520dbae, "tcp_cubic: better follow cubic
 *    curve after idle period").
 *  - Undo returns to max(cwnd, prior_cwnd), like Reno.
 *  - initial_ssthresh = 0: ssthresh starts "infinite".
 *  - HyStart (Ha and Rhee; hystart = 1, hystart_detect = 3): slow start ends early,
 *    with ssthresh = cwnd, once cwnd >= 16 (hystart_low_window) and either
 *      ACK train: the ACKs of one round, each within 2 ms (hystart_ack_delta_us) of
 *        the previous one, span more than delay_min (plus an allowance for ACK
 *        aggregation: 4 * 64 KB / pacing rate, at most 1 ms) - halved when no pacer
 *        is active - meaning the round's data has filled the path; or
 *      delay: after 8 samples in a round (HYSTART_MIN_SAMPLES), the round's minimum
 *        RTT exceeds delay_min + clamp(delay_min / 8, 4 ms, 16 ms).
 *    A round ends when SND.UNA passes the SND.NXT recorded at its start. RTT samples
 *    in the first second of an epoch are ignored (they may still carry the queue of
 *    the recovery).
 *
 * Clocks. Linux runs the curve on jiffies; tern uses a 1 ms tick (an HZ=1000
 * kernel): on an HZ=250 kernel the times are quantised to 4 ms instead. HyStart
 * uses microsecond stamps like Linux's tcp_mstamp.
 *
 * Arithmetic is integer throughout, as in Linux, and the cube root is a table seed
 * plus one Newton step, accurate to about 0.1% for the magnitudes CUBIC feeds it
 * (this table is tern's own, so K can differ from Linux's by a few 1/1024 s).
 */
#include "tcp/cc.h"

#include "core/util.h"

/* Defaults of Linux's tcp_cubic module parameters. */
#define BETA_SCALE         1024u  /* BICTCP_BETA_SCALE */
#define BETA               717u   /* beta = 717/1024 */
#define BIC_SCALE          41u    /* C = bic_scale * 10 / 1024 ~ 0.4 */
#define HZ_SHIFT           10     /* BICTCP_HZ: curve time in 1/1024 s */
#define CUBE_RTT_SCALE     (BIC_SCALE * 10u)                                 /* 410 */
#define CUBE_FACTOR        ((UINT64_C(1) << (10 + 3 * HZ_SHIFT)) / CUBE_RTT_SCALE) /* 2^40/410 */
#define RENO_BETA_SCALE    (8u * (BETA_SCALE + BETA) / 3u / (BETA_SCALE - BETA))   /* 15 */
#define FAST_CONVERGENCE   1
#define TCP_FRIENDLINESS   1
#define HYSTART            1
#define HYSTART_ACK_TRAIN  0x1
#define HYSTART_DELAY      0x2
#define HYSTART_DETECT     (HYSTART_ACK_TRAIN | HYSTART_DELAY)
#define HYSTART_LOW_WINDOW 16u
#define HYSTART_ACK_DELTA_US 2000
#define HYSTART_MIN_SAMPLES 8
#define HYSTART_DELAY_MIN_US 4000u
#define HYSTART_DELAY_MAX_US 16000u
#define GSO_MAX_SIZE_BYTES 65536u /* GSO_LEGACY_MAX_SIZE, Linux's sk_gso_max_size */

/* The curve's tick: Linux's jiffies at HZ=1000. */
#define TICK_HZ 1000u

static inline uint32_t ticks_of(tern_time t) { return (uint32_t)(t / TERN_NS_PER_MS); }
static inline uint32_t usecs_of(tern_time t) { return (uint32_t)(t / TERN_NS_PER_US); }
static inline uint32_t usecs_to_ticks(uint32_t us) { return (uint32_t)(((uint64_t)us + 999u) / 1000u); }
static inline bool u32_after(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

static struct tern_cubic *cubic_of(struct tern_cc *cc) { return &cc->priv.cubic; }

/* ---------------------------------------------------------------- cube root */

/*
 * Seeds for the cube root: round(64 * cbrt(i + 0.5)) for i = 8..63, the midpoint of
 * each 6-bit leading-digit bucket, so the seed is within ~2% before Newton's step.
 */
static const uint8_t cbrt_seed[56] = {
	131, 136, 140, 144, 149, 152, 156, 160,
	163, 166, 169, 172, 175, 178, 181, 183,
	186, 188, 191, 193, 195, 198, 200, 202,
	204, 206, 208, 210, 212, 214, 216, 218,
	220, 222, 223, 225, 227, 228, 230, 232,
	233, 235, 237, 238, 240, 241, 243, 244,
	246, 247, 248, 250, 251, 253, 254, 255,
};

static unsigned int bit_length(uint64_t a)
{
	unsigned int n = 0;

	while (a) {
		a >>= 1;
		n++;
	}
	return n;
}

/*
 * An approximate integer cube root. Write a = m * 8^j with m in [8, 64) (its top
 * four to six bits); then cbrt(a) = cbrt(m) * 2^j, read from the table in 1/64
 * units, and one Newton step x' = (2x + a/x^2) / 3 squares the seed's error.
 */
static uint32_t cube_root(uint64_t a)
{
	unsigned int j;
	uint64_t x;

	if (a < 64) { /* 0..3: not reached by CUBIC, whose inputs are >= 2^40/410 */
		uint32_t r = 0;

		while ((uint64_t)(r + 1) * (r + 1) * (r + 1) <= a)
			r++;
		return r;
	}
	j = (bit_length(a) - 4) / 3;
	x = ((uint64_t)cbrt_seed[(a >> (3 * j)) - 8] << j) >> 6;
	if (x == 0)
		x = 1;
	return (uint32_t)((2 * x + a / (x * x)) / 3);
}

/* ---------------------------------------------------------------- the curve */

/* Linux bictcp_reset: everything but the HyStart round bookkeeping. */
static void cubic_reset(struct tern_cubic *ca)
{
	ca->cnt = 0;
	ca->last_max_cwnd = 0;
	ca->last_cwnd = 0;
	ca->last_time_ms = 0;
	ca->origin_point = 0;
	ca->k = 0;
	ca->delay_min_us = 0;
	ca->epoch_start_ms = 0;
	ca->in_epoch = false;
	ca->ack_cnt = 0;
	ca->tcp_cwnd = 0;
	ca->found = false;
}

static void hystart_reset(struct tern_cubic *ca, const struct tern_cc_conn *conn)
{
	ca->round_start_us = usecs_of(conn->now);
	ca->last_ack_us = ca->round_start_us;
	ca->end_seq = conn->snd_nxt;
	ca->curr_rtt_us = UINT32_MAX;
	ca->sample_cnt = 0;
}

/*
 * Recomputes ca->cnt for the current cwnd (Linux bictcp_update): where the cubic
 * curve says cwnd should be one delay_min from now, and how many ACKed segments
 * per +1 get it there; then the Reno-friendly estimate, which may only lower cnt.
 */
static void cubic_update(struct tern_cubic *ca, uint32_t cwnd, uint32_t acked, uint32_t now_ms)
{
	uint64_t t, offs;
	uint32_t delta, target;

	ca->ack_cnt += acked;

	/* Nothing changed and cnt is fresh (computed less than 1/32 s ago). */
	if (ca->last_cwnd == cwnd && (int32_t)(now_ms - ca->last_time_ms) <= (int32_t)(TICK_HZ / 32))
		return;

	/* Already computed in this tick: only let the Reno estimate catch up. */
	if (!(ca->in_epoch && now_ms == ca->last_time_ms)) {
		ca->last_cwnd = cwnd;
		ca->last_time_ms = now_ms;

		if (!ca->in_epoch) {
			/* A new epoch: the first congestion-avoidance ACK after a loss or
			 * after slow start. */
			ca->in_epoch = true;
			ca->epoch_start_ms = now_ms;
			ca->ack_cnt = acked;
			ca->tcp_cwnd = cwnd;
			if (ca->last_max_cwnd <= cwnd) {
				ca->k = 0;
				ca->origin_point = cwnd;
			} else {
				ca->k = cube_root(CUBE_FACTOR * (ca->last_max_cwnd - cwnd));
				ca->origin_point = ca->last_max_cwnd;
			}
		}

		/* Elapsed epoch time plus one minimum RTT, in 1/1024 s. */
		int32_t elapsed = (int32_t)(now_ms - ca->epoch_start_ms);

		t = elapsed > 0 ? (uint64_t)elapsed : 0;
		t += usecs_to_ticks(ca->delay_min_us);
		t = (t << HZ_SHIFT) / TICK_HZ;

		offs = t < ca->k ? ca->k - t : t - ca->k;
		/* C (t - K)^3 in segments; valid while |t - K| stays under ~5 minutes. */
		delta = (uint32_t)((CUBE_RTT_SCALE * offs * offs * offs) >> (10 + 3 * HZ_SHIFT));
		target = t < ca->k ? ca->origin_point - delta : ca->origin_point + delta;

		if (target > cwnd)
			ca->cnt = cwnd / (target - cwnd);
		else
			ca->cnt = 100 * cwnd; /* at or above the curve: creep */

		/* No loss yet: grow at least ~5% per RTT. */
		if (ca->last_max_cwnd == 0 && ca->cnt > 20)
			ca->cnt = 20;
	}

	if (TCP_FRIENDLINESS) {
		/* W_est: +1 per 15/8 cwnd ACKed segments (alpha ~ 0.53 per RTT). */
		uint32_t per_seg = (cwnd * RENO_BETA_SCALE) >> 3;

		if (per_seg == 0)
			per_seg = 1;
		while (ca->ack_cnt > per_seg) {
			ca->ack_cnt -= per_seg;
			ca->tcp_cwnd++;
		}
		if (ca->tcp_cwnd > cwnd) {
			uint32_t max_cnt = cwnd / (ca->tcp_cwnd - cwnd);

			if (ca->cnt > max_cnt)
				ca->cnt = max_cnt;
		}
	}

	/* At most +1 per 2 ACKed segments: 1.5x per RTT. */
	if (ca->cnt < 2)
		ca->cnt = 2;
}

/* ---------------------------------------------------------------- HyStart */

/* The ACK-aggregation allowance: time to send 4 GSO packets at the pacing rate,
 * at most 1 ms; none when the rate is unknown. */
static uint32_t hystart_ack_delay_us(const struct tern_cc_conn *conn)
{
	uint64_t d;

	if (conn->pacing_bytes_per_s == 0)
		return 0;
	d = (uint64_t)GSO_MAX_SIZE_BYTES * 4u * 1000000u / conn->pacing_bytes_per_s;
	return d < 1000u ? (uint32_t)d : 1000u;
}

/* Out of line: only slow start past HYSTART_LOW_WINDOW gets here, and keeping it
 * apart leaves tern__cubic_pkts_acked small enough to inline into the ACK path. */
static __attribute__((noinline)) void hystart_update(struct tern_cc *cc, const struct tern_cc_conn *conn,
						      uint32_t delay_us)
{
	struct tern_cubic *ca = cubic_of(cc);

	if (u32_after(conn->snd_una, ca->end_seq))
		hystart_reset(ca, conn); /* a new round */

	if (HYSTART_DETECT & HYSTART_ACK_TRAIN) {
		uint32_t now_us = usecs_of(conn->now);

		if ((int32_t)(now_us - ca->last_ack_us) <= HYSTART_ACK_DELTA_US) {
			uint32_t threshold = ca->delay_min_us + hystart_ack_delay_us(conn);

			ca->last_ack_us = now_us;
			if (!conn->paced)
				threshold >>= 1; /* unpaced rounds leave as a burst */
			if (now_us - ca->round_start_us > threshold) {
				ca->found = true;
				cc->ssthresh_segs = cc->cwnd_segs;
			}
		}
	}

	if (HYSTART_DETECT & HYSTART_DELAY) {
		if (ca->curr_rtt_us > delay_us)
			ca->curr_rtt_us = delay_us;
		if (ca->sample_cnt < HYSTART_MIN_SAMPLES) {
			ca->sample_cnt++;
		} else {
			uint32_t slack = TERN_MIN(TERN_MAX(ca->delay_min_us >> 3, HYSTART_DELAY_MIN_US),
						  HYSTART_DELAY_MAX_US);

			if (ca->curr_rtt_us > ca->delay_min_us + slack) {
				ca->found = true;
				cc->ssthresh_segs = cc->cwnd_segs;
			}
		}
	}
}

/* ---------------------------------------------------------------- the ops */

void tern__cubic_init(struct tern_cc *cc, const struct tern_cc_conn *conn)
{
	struct tern_cubic *ca = cubic_of(cc);

	cubic_reset(ca);
	if (HYSTART)
		hystart_reset(ca, conn);
	/* initial_ssthresh = 0: ssthresh is left as it is ("infinite"). */
}

static void cubic_cong_avoid(struct tern_cc *cc, const struct tern_cc_conn *conn, uint32_t acked,
			     bool cwnd_limited)
{
	if (!cwnd_limited)
		return;
	if (tern__cc_in_slow_start(cc)) {
		acked = tern__cc_slow_start(cc, acked);
		if (acked == 0)
			return;
	}
	cubic_update(cubic_of(cc), cc->cwnd_segs, acked, ticks_of(conn->now));
	tern__cc_cong_avoid_ai(cc, cubic_of(cc)->cnt, acked);
}

static uint32_t cubic_ssthresh(struct tern_cc *cc)
{
	struct tern_cubic *ca = cubic_of(cc);
	uint32_t cwnd = cc->cwnd_segs;
	uint64_t reduced;

	ca->in_epoch = false; /* the epoch ends with the loss */

	/* Fast convergence: losing below the last W_max means the path's share shrank;
	 * aim lower so newer flows can catch up. */
	if (FAST_CONVERGENCE && cwnd < ca->last_max_cwnd)
		ca->last_max_cwnd = (uint32_t)((uint64_t)cwnd * (BETA_SCALE + BETA) / (2 * BETA_SCALE));
	else
		ca->last_max_cwnd = cwnd;

	reduced = (uint64_t)cwnd * BETA / BETA_SCALE;
	return reduced > 2 ? (uint32_t)reduced : 2u;
}

static void cubic_set_state(struct tern_cc *cc, const struct tern_cc_conn *conn, enum tern_ca_state state)
{
	if (state == TERN_CA_LOSS) {
		cubic_reset(cubic_of(cc));
		hystart_reset(cubic_of(cc), conn);
	}
}

void tern__cubic_cwnd_event(struct tern_cc *cc, const struct tern_cc_conn *conn, enum tern_cc_event ev)
{
	struct tern_cubic *ca = cubic_of(cc);
	uint32_t now_ms;
	int32_t idle_ms;

	if (ev != TERN_CC_EVENT_TX_START)
		return;
	now_ms = ticks_of(conn->now);
	idle_ms = (int32_t)(now_ms - ticks_of(conn->last_send));
	/* Shift the epoch by the idle time, but never into the future. */
	if (ca->in_epoch && idle_ms > 0) {
		ca->epoch_start_ms += (uint32_t)idle_ms;
		if (u32_after(ca->epoch_start_ms, now_ms))
			ca->epoch_start_ms = now_ms;
	}
}

/* pkts_acked up to HyStart: the delay minimum. Returns whether HyStart's update
 * is due, with the sample in *delay_us. */
static inline bool cubic_acked_delay(struct tern_cc *cc, tern_time now, int64_t rtt_us, uint32_t *delay_us)
{
	struct tern_cubic *ca = cubic_of(cc);
	uint32_t delay;

	if (rtt_us < 0)
		return false;
	/* Samples just after a recovery may still carry its queue. */
	if (ca->in_epoch && (int32_t)(ticks_of(now) - ca->epoch_start_ms) < (int32_t)TICK_HZ)
		return false;

	delay = rtt_us > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)rtt_us;
	if (delay == 0)
		delay = 1;
	if (ca->delay_min_us == 0 || ca->delay_min_us > delay)
		ca->delay_min_us = delay;
	*delay_us = delay;

	/* The window's size first: a young connection (below the low window) is
	 * the common case, and the four tests have no effects to order. */
	return HYSTART && cc->cwnd_segs >= HYSTART_LOW_WINDOW && !ca->found && tern__cc_in_slow_start(cc);
}

inline void tern__cubic_pkts_acked(struct tern_cc *cc, const struct tern_cc_conn *conn, uint32_t acked,
				   int64_t rtt_us)
{
	uint32_t delay_us;

	(void)acked;
	if (cubic_acked_delay(cc, conn->now, rtt_us, &delay_us))
		hystart_update(cc, conn, delay_us);
}

/* The ACK's view (tern__cc_pkts_acked_at): the same conn is built only for
 * HyStart. */
inline void tern__cubic_pkts_acked_at(struct tern_cc *cc, tern_time now, tern_seq snd_una, tern_seq snd_nxt,
				      int64_t rtt_us)
{
	uint32_t delay_us;

	if (cubic_acked_delay(cc, now, rtt_us, &delay_us)) {
		struct tern_cc_conn conn = { .now = now, .snd_una = snd_una, .snd_nxt = snd_nxt };

		hystart_update(cc, &conn, delay_us);
	}
}

static uint32_t cubic_undo_cwnd(struct tern_cc *cc)
{
	return TERN_MAX(cc->cwnd_segs, cc->prior_cwnd_segs);
}

const struct tern_cc_ops tern__cc_cubic = {
	.name = "cubic",
	.init = tern__cubic_init,
	.ssthresh = cubic_ssthresh,
	.cong_avoid = cubic_cong_avoid,
	.pkts_acked = tern__cubic_pkts_acked,
	.cwnd_event = tern__cubic_cwnd_event,
	.set_state = cubic_set_state,
	.undo_cwnd = cubic_undo_cwnd,
};
