/*
 * tests/unit/test_cc.c: congestion control (tcp/cc.c, cc_reno.c, cc_cubic.c).
 *
 * Reno is checked to the segment: slow start counting stretch ACKs in full (spec
 * §14.20), one segment per window in congestion avoidance, halving with a floor of
 * 2, the clamp, restart after idle, the recovery/loss/undo bookkeeping. CUBIC's
 * integer results are checked exactly where Linux's arithmetic makes them exact
 * (ssthresh = cwnd * 717 / 1024, fast convergence), and its curve against a
 * floating-point model of RFC 9438 (W(t) = C (t - K)^3 + W_max, the Reno-friendly
 * W_est) within stated tolerances. HyStart's two exits, the epoch shift after idle,
 * undo, and the registry complete it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "tcp/cc.h"
#include "tern/errors.h"

#define MS TERN_NS_PER_MS
#define SEC TERN_NS_PER_SEC
#define MSS 1000u /* bytes per segment in the sequence-number bookkeeping below */

/* RFC 9438 constants as Linux realises them. */
#define CUBIC_C (410.0 / 1024.0)
#define CUBIC_BETA (717.0 / 1024.0)

static struct tern_cc_conn conn_at(tern_time now)
{
	struct tern_cc_conn c;

	memset(&c, 0, sizeof(c));
	c.now = now;
	return c;
}

static void make(struct tern_cc *cc, const char *name, tern_time now)
{
	const struct tern_cc_ops *ops = NULL;
	struct tern_cc_conn c = conn_at(now);

	assert_int_equal(tern__cc_find(name, &ops), 0);
	tern__cc_init(cc, ops);
	tern__cc_start(cc, &c);
}

/* One ACK of `acked` segments: pkts_acked, then cong_avoid (cwnd-limited). */
static void ack(struct tern_cc *cc, tern_time now, uint32_t acked, int64_t rtt_us)
{
	struct tern_cc_conn c = conn_at(now);

	tern__cc_pkts_acked(cc, &c, acked, rtt_us);
	tern__cc_cong_avoid(cc, &c, acked, true);
}

/* ---------------------------------------------------------------- registry */

static void test_registry(void **state)
{
	const struct tern_cc_ops *ops = NULL;

	(void)state;
	assert_int_equal(tern__cc_find("reno", &ops), 0);
	assert_ptr_equal(ops, &tern__cc_reno);
	assert_int_equal(tern__cc_find("cubic", &ops), 0);
	assert_ptr_equal(ops, &tern__cc_cubic);
	assert_int_equal(tern__cc_find(TERN_CC_DEFAULT_NAME, &ops), 0);
	assert_ptr_equal(ops, &tern__cc_cubic);

	/* Unknown names (TCP_CONGESTION and the sysctl answer -ENOENT); exact match. */
	static const char *const bad[] = { "bbr", "", "Cubic", "cubic ", "cub", "renoo" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ops = NULL;
		assert_int_equal(tern__cc_find(bad[i], &ops), -TERN_ENOENT);
		assert_null(ops);
	}

	/* tcp_available_congestion_control lists "reno cubic". */
	assert_string_equal(tern__cc_at(0)->name, "reno");
	assert_string_equal(tern__cc_at(1)->name, "cubic");
	assert_null(tern__cc_at(2));
}

/* A new socket's defaults; then TCP_CONGESTION on an established socket: new
 * private state, initialised, window kept. */
static void test_defaults_and_switch(void **state)
{
	struct tern_cc cc;
	struct tern_cc_conn c = conn_at(5 * SEC);

	(void)state;
	make(&cc, "reno", 0);
	assert_int_equal(cc.cwnd_segs, 10);
	assert_int_equal(cc.ssthresh_segs, 0x7fffffff);
	assert_int_equal(cc.clamp_segs, UINT32_MAX);
	assert_int_equal(cc.ca_state, TERN_CA_OPEN);
	assert_true(tern__cc_in_slow_start(&cc));

	cc.cwnd_segs = 37;
	cc.ssthresh_segs = 30;
	memset(&cc.priv, 0xa5, sizeof(cc.priv));
	c.snd_nxt = 123456;
	tern__cc_switch(&cc, &tern__cc_cubic, &c);
	assert_ptr_equal(cc.ops, &tern__cc_cubic);
	assert_int_equal(cc.cwnd_segs, 37);
	assert_int_equal(cc.ssthresh_segs, 30);
	assert_int_equal(cc.priv.cubic.last_max_cwnd, 0);
	assert_false(cc.priv.cubic.in_epoch);
	assert_int_equal(cc.priv.cubic.end_seq, 123456);      /* HyStart round armed */
	assert_int_equal(cc.priv.cubic.round_start_us, 5000000);
	assert_int_equal(cc.priv.cubic.curr_rtt_us, UINT32_MAX);

	/* Not yet connected (conn NULL): ops change, init deferred. */
	make(&cc, "cubic", 0);
	tern__cc_switch(&cc, &tern__cc_reno, NULL);
	assert_ptr_equal(cc.ops, &tern__cc_reno);
}

/* ---------------------------------------------------------------- Reno */

static void test_reno_slow_start_stretch_ack(void **state)
{
	struct tern_cc cc;

	(void)state;
	make(&cc, "reno", 0);
	/* Spec §14.20: a stretch ACK of 10 segments grows cwnd by 10. */
	ack(&cc, 0, 10, -1);
	assert_int_equal(cc.cwnd_segs, 20);
	ack(&cc, 0, 1, -1);
	assert_int_equal(cc.cwnd_segs, 21);

	/* Reaching ssthresh mid-ACK: 10 -> 15 by slow start, the other 5 segments go to
	 * congestion avoidance (cwnd_cnt 5 of 15). */
	make(&cc, "reno", 0);
	cc.ssthresh_segs = 15;
	ack(&cc, 0, 10, -1);
	assert_int_equal(cc.cwnd_segs, 15);
	assert_int_equal(cc.cwnd_cnt, 5);
	assert_false(tern__cc_in_slow_start(&cc));
}

static void test_reno_only_when_cwnd_limited(void **state)
{
	struct tern_cc cc;
	struct tern_cc_conn c = conn_at(0);

	(void)state;
	make(&cc, "reno", 0);
	tern__cc_cong_avoid(&cc, &c, 10, false);
	assert_int_equal(cc.cwnd_segs, 10);
	cc.ssthresh_segs = 10;
	tern__cc_cong_avoid(&cc, &c, 100, false);
	assert_int_equal(cc.cwnd_segs, 10);
	assert_int_equal(cc.cwnd_cnt, 0);
}

static void test_reno_congestion_avoidance(void **state)
{
	struct tern_cc cc;

	(void)state;
	make(&cc, "reno", 0);
	cc.cwnd_segs = 20;
	cc.ssthresh_segs = 20;
	/* One segment per window: 20 ACKs -> 21, then 21 ACKs -> 22. */
	for (int i = 0; i < 19; i++)
		ack(&cc, 0, 1, -1);
	assert_int_equal(cc.cwnd_segs, 20);
	ack(&cc, 0, 1, -1);
	assert_int_equal(cc.cwnd_segs, 21);
	assert_int_equal(cc.cwnd_cnt, 0);
	for (int i = 0; i < 21; i++)
		ack(&cc, 0, 1, -1);
	assert_int_equal(cc.cwnd_segs, 22);

	/* A stretch ACK of two windows: +2 at once, remainder kept. */
	cc.cwnd_segs = 20;
	cc.cwnd_cnt = 0;
	ack(&cc, 0, 45, -1);
	assert_int_equal(cc.cwnd_segs, 22);
	assert_int_equal(cc.cwnd_cnt, 5);

	/* Credit earned under a larger window is cashed in as a single +1. */
	cc.ssthresh_segs = 5;
	cc.cwnd_segs = 10;
	cc.cwnd_cnt = 30;
	ack(&cc, 0, 1, -1);
	assert_int_equal(cc.cwnd_segs, 11);
	assert_int_equal(cc.cwnd_cnt, 1);
}

static void test_reno_ssthresh_halving(void **state)
{
	struct tern_cc cc;
	static const uint32_t cwnd[] = { 100, 21, 20, 5, 4, 3, 2, 1 };
	static const uint32_t want[] = { 50, 10, 10, 2, 2, 2, 2, 2 };

	(void)state;
	make(&cc, "reno", 0);
	for (size_t i = 0; i < sizeof(cwnd) / sizeof(cwnd[0]); i++) {
		cc.cwnd_segs = cwnd[i];
		assert_int_equal(cc.ops->ssthresh(&cc), want[i]);
	}
}

static void test_clamp(void **state)
{
	struct tern_cc cc;

	(void)state;
	make(&cc, "reno", 0);
	cc.clamp_segs = 12;
	ack(&cc, 0, 10, -1);
	assert_int_equal(cc.cwnd_segs, 12);
	cc.ssthresh_segs = 12;
	for (int i = 0; i < 100; i++)
		ack(&cc, 0, 1, -1);
	assert_int_equal(cc.cwnd_segs, 12);
}

/* Fast recovery and its end: ssthresh halves, prior_cwnd and the undo point are
 * saved, cwnd settles at ssthresh. */
static void test_recovery_and_end(void **state)
{
	struct tern_cc cc;
	struct tern_cc_conn c = conn_at(0);

	(void)state;
	make(&cc, "reno", 0);
	cc.cwnd_segs = 40;
	cc.ssthresh_segs = 50;
	tern__cc_enter_recovery(&cc, &c, false);
	assert_int_equal(cc.ca_state, TERN_CA_RECOVERY);
	assert_int_equal(cc.ssthresh_segs, 20);
	assert_int_equal(cc.prior_cwnd_segs, 40);
	assert_int_equal(cc.prior_ssthresh_segs, 50); /* max(50, 3/4 * 40) */
	/* Entering again while in recovery changes nothing but the undo point. */
	tern__cc_enter_recovery(&cc, &c, false);
	assert_int_equal(cc.ssthresh_segs, 20);
	assert_int_equal(cc.prior_ssthresh_segs, 0);
	cc.cwnd_segs = 25; /* PRR's doing */
	tern__cc_end_reduction(&cc, &c, true);
	assert_int_equal(cc.cwnd_segs, 20);

	/* ECN echo: a reduction without an undo point. */
	make(&cc, "reno", 0);
	cc.cwnd_segs = 40;
	tern__cc_enter_recovery(&cc, &c, true);
	assert_int_equal(cc.prior_ssthresh_segs, 0);
	assert_false(tern__cc_undo(&cc));

	/* CWR: only from Open/Disorder; cwnd settles at ssthresh at the end. */
	make(&cc, "reno", 0);
	cc.cwnd_segs = 30;
	tern__cc_enter_cwr(&cc, &c);
	assert_int_equal(cc.ca_state, TERN_CA_CWR);
	assert_int_equal(cc.ssthresh_segs, 15);
	tern__cc_enter_cwr(&cc, &c);
	assert_int_equal(cc.ssthresh_segs, 15);
	tern__cc_end_reduction(&cc, &c, false);
	assert_int_equal(cc.cwnd_segs, 15);
}

static void test_loss_and_undo(void **state)
{
	struct tern_cc cc;
	struct tern_cc_conn c = conn_at(0);

	(void)state;
	make(&cc, "reno", 0);
	cc.cwnd_segs = 40;
	cc.ssthresh_segs = 60;
	tern__cc_enter_loss(&cc, &c, 0, true);
	assert_int_equal(cc.ca_state, TERN_CA_LOSS);
	assert_int_equal(cc.cwnd_segs, 1); /* in flight + 1 */
	assert_int_equal(cc.ssthresh_segs, 20);
	assert_int_equal(cc.prior_cwnd_segs, 40);
	assert_int_equal(cc.prior_ssthresh_segs, 60);
	/* A further RTO of the same episode keeps ssthresh and the undo point. */
	tern__cc_enter_loss(&cc, &c, 3, false);
	assert_int_equal(cc.cwnd_segs, 4);
	assert_int_equal(cc.ssthresh_segs, 20);
	assert_int_equal(cc.prior_ssthresh_segs, 60);
	/* Spurious (F-RTO / timestamps): back to cwnd 40 and ssthresh 60. */
	assert_true(tern__cc_undo(&cc));
	assert_int_equal(cc.cwnd_segs, 40);
	assert_int_equal(cc.ssthresh_segs, 60);

	/* A saved ssthresh below the current one is not restored. */
	cc.ssthresh_segs = 70;
	cc.prior_ssthresh_segs = 30;
	cc.cwnd_segs = 50;
	cc.prior_cwnd_segs = 45;
	assert_true(tern__cc_undo(&cc));
	assert_int_equal(cc.ssthresh_segs, 70);
	assert_int_equal(cc.cwnd_segs, 50); /* max(cwnd, prior_cwnd) */
}

/* Restart after idle (spec §14.20): cwnd halves ceil(idle / RTO) - 1 times, not
 * below min(initial cwnd, cwnd); ssthresh keeps 3/4 of the old cwnd. RTO 200 ms. */
static void test_cwnd_restart_after_idle(void **state)
{
	static const struct {
		uint32_t cwnd;
		tern_time idle;
		uint32_t want;
	} cases[] = {
		{ 40, 300 * MS, 20 },      /* 1.5 RTO: one halving */
		{ 40, 400 * MS, 20 },      /* exactly 2 RTOs: still one */
		{ 40, 401 * MS, 10 },      /* just over: two */
		{ 80, 1000 * MS, 10 },     /* 40, 20, 10 */
		{ 70, 1000 * MS, 10 },     /* 35, 17, 8 -> the floor, 10 */
		{ 400, 60 * SEC, 10 },     /* long idle: the floor */
		{ 6, 60 * SEC, 6 },        /* already below the initial window: kept */
	};
	struct tern_cc cc;
	struct tern_cc_conn c = conn_at(0);

	(void)state;
	make(&cc, "reno", 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cc.cwnd_segs = cases[i].cwnd;
		cc.ssthresh_segs = 20;
		tern__cc_cwnd_restart(&cc, &c, cases[i].idle, 200000, 10);
		assert_int_equal(cc.cwnd_segs, cases[i].want);
		uint32_t three_quarters = cases[i].cwnd / 2 + cases[i].cwnd / 4;

		assert_int_equal(cc.ssthresh_segs, three_quarters > 20 ? three_quarters : 20);
	}
}

/* ---------------------------------------------------------------- CUBIC */

/* ssthresh = max(cwnd * 717 / 1024, 2): 100 -> 70 (70.02), 1000 -> 700 (700.2). */
static void test_cubic_ssthresh_beta(void **state)
{
	struct tern_cc cc;
	static const uint32_t cwnd[] = { 100, 1000, 10, 3, 2, 1, 1024, 12345 };
	static const uint32_t want[] = { 70, 700, 7, 2, 2, 2, 717, 8643 };

	(void)state;
	for (size_t i = 0; i < sizeof(cwnd) / sizeof(cwnd[0]); i++) {
		make(&cc, "cubic", 0);
		cc.cwnd_segs = cwnd[i];
		assert_int_equal(cc.ops->ssthresh(&cc), want[i]);
		assert_int_equal(cc.priv.cubic.last_max_cwnd, cwnd[i]); /* first loss: W_max = cwnd */
	}
}

static void test_cubic_fast_convergence(void **state)
{
	struct tern_cc cc;

	(void)state;
	make(&cc, "cubic", 0);
	cc.cwnd_segs = 100;
	cc.ops->ssthresh(&cc);
	assert_int_equal(cc.priv.cubic.last_max_cwnd, 100);
	/* Loss again below W_max: W_max = 80 * (1 + 0.7)/2 = 80 * 1741 / 2048 = 68. */
	cc.cwnd_segs = 80;
	assert_int_equal(cc.ops->ssthresh(&cc), 56);
	assert_int_equal(cc.priv.cubic.last_max_cwnd, 68);
	/* Loss at or above W_max: W_max = cwnd. */
	cc.cwnd_segs = 120;
	cc.ops->ssthresh(&cc);
	assert_int_equal(cc.priv.cubic.last_max_cwnd, 120);
}

/* Sets up the state right after a fast recovery that cut W_max to beta * W_max:
 * cwnd = ssthresh, state Open, delay_min = rtt. */
static void cubic_after_loss(struct tern_cc *cc, uint32_t w_max, uint32_t rtt_us, tern_time now)
{
	struct tern_cc_conn c = conn_at(now);

	make(cc, "cubic", 0);
	cc->priv.cubic.delay_min_us = rtt_us;
	cc->cwnd_segs = w_max;
	tern__cc_enter_recovery(cc, &c, false);
	cc->cwnd_segs = cc->ssthresh_segs; /* where PRR brings it */
	tern__cc_end_reduction(cc, &c, true);
	tern__cc_set_state(cc, &c, TERN_CA_OPEN);
}

/* K = cbrt((W_max - cwnd) / C), in 1/1024 s: checked against the floating-point
 * value within 0.1% over six orders of magnitude (this also checks the cube root). */
static void test_cubic_k(void **state)
{
	static const uint32_t diff[] = { 1, 2, 7, 30, 100, 999, 12345, 100000, 1000000 };
	struct tern_cc cc;

	(void)state;
	for (size_t i = 0; i < sizeof(diff) / sizeof(diff[0]); i++) {
		make(&cc, "cubic", 0);
		cc.cwnd_segs = 50;
		cc.ssthresh_segs = 50;
		cc.priv.cubic.last_max_cwnd = 50 + diff[i];
		ack(&cc, 1 * SEC, 1, -1);
		double want = 1024.0 * cbrt(diff[i] / CUBIC_C);

		assert_true(cc.priv.cubic.in_epoch);
		assert_int_equal(cc.priv.cubic.origin_point, 50 + diff[i]);
		assert_true(fabs(cc.priv.cubic.k - want) <= want * 0.001 + 1.0);
	}

	/* After a real loss at W_max = 100: K = cbrt(100 * 0.3 / 0.4) = 4.22 s. */
	cubic_after_loss(&cc, 100, 100000, 1 * SEC);
	assert_int_equal(cc.cwnd_segs, 70);
	ack(&cc, 1 * SEC, 1, -1);
	assert_true(fabs(cc.priv.cubic.k / 1024.0 - cbrt(30 / CUBIC_C)) < 0.005);
	/* ... which is RFC 9438's K for the reduction to beta * W_max (the integer
	 * ssthresh 70 vs 70.02 moves it by about 1 ms). */
	assert_true(fabs(cc.priv.cubic.k / 1024.0 - cbrt(100 * (1 - CUBIC_BETA) / CUBIC_C)) < 0.005);

	/* cwnd already at or above W_max: K = 0, the curve starts at the current cwnd. */
	make(&cc, "cubic", 0);
	cc.cwnd_segs = 80;
	cc.ssthresh_segs = 80;
	cc.priv.cubic.last_max_cwnd = 60;
	ack(&cc, 1 * SEC, 1, -1);
	assert_int_equal(cc.priv.cubic.k, 0);
	assert_int_equal(cc.priv.cubic.origin_point, 80);
}

/*
 * ACK-clocked congestion avoidance: every round trip the whole window is ACKed one
 * segment at a time, spread evenly over the RTT. Records cwnd at the start of each
 * round in trace[0..rounds] (the time of round i is start + i * rtt).
 */
static void run_rounds(struct tern_cc *cc, tern_time start, tern_time rtt, int rounds, uint32_t *trace)
{
	tern_time t = start;

	for (int r = 0; r < rounds; r++) {
		uint32_t w = cc->cwnd_segs;

		if (trace)
			trace[r] = w;
		for (uint32_t i = 0; i < w; i++)
			ack(cc, t + (tern_time)(rtt * (i + 1) / w), 1, rtt / 1000);
		t += rtt;
	}
	if (trace)
		trace[rounds] = cc->cwnd_segs;
}

/* The cubic curve: concave up to W_max, a plateau at t = K, convex beyond, and
 * within a few segments of C (t - K)^3 + W_max all along. */
static void test_cubic_curve_shape(void **state)
{
	enum { ROUNDS = 100 };
	const tern_time rtt = 100 * MS;
	const double w_max = 100, k = cbrt(w_max * (1 - CUBIC_BETA) / CUBIC_C); /* 4.22 s */
	uint32_t trace[ROUNDS + 1];
	struct tern_cc cc;

	(void)state;
	cubic_after_loss(&cc, 100, 100000, 1 * SEC);
	run_rounds(&cc, 1 * SEC, rtt, ROUNDS, trace);

	for (int r = 0; r <= ROUNDS; r++) {
		/* Linux aims each round at the curve one delay_min (= one RTT) ahead, and
		 * the round's ACKs get it there: the window at the start of round r is
		 * W(t_r), to within rounding. */
		double t = r * 0.1;
		double model = CUBIC_C * pow(t - k, 3) + w_max;

		assert_true(fabs(trace[r] - model) <= 2.0);
	}

	/* Concave: growth per second shrinks on the way up to W_max ... */
	int g0 = (int)trace[10] - (int)trace[0];   /* 0..1 s */
	int g1 = (int)trace[20] - (int)trace[10];  /* 1..2 s */
	int g3 = (int)trace[40] - (int)trace[30];  /* 3..4 s */

	assert_true(g0 > g1 && g1 > g3);
	assert_true(g0 >= 10);
	/* ... a plateau around K (4.2 s): within 2 segments of W_max for a second ... */
	for (int r = 37; r <= 47; r++)
		assert_true(trace[r] >= 98 && trace[r] <= 102);
	/* ... and convex after it: growth per second rises. */
	int g5 = (int)trace[60] - (int)trace[50];
	int g7 = (int)trace[80] - (int)trace[70];
	int g9 = (int)trace[100] - (int)trace[90];

	assert_true(g5 < g7 && g7 < g9);
	assert_true(g9 >= 15);
}

/* Reno-friendly region (RFC 9438 §4.3): with a short RTT the cubic curve hardly
 * moves in real time, and cwnd follows W_est instead, growing by alpha = 8/15 of a
 * segment per round trip (Linux's integer alpha), far ahead of the curve. */
static void test_cubic_reno_friendly_region(void **state)
{
	enum { ROUNDS = 200 };
	const tern_time rtt = 10 * MS;
	const double w_max = 100, k = cbrt(w_max * (1 - CUBIC_BETA) / CUBIC_C);
	uint32_t trace[ROUNDS + 1];
	struct tern_cc cc;

	(void)state;
	cubic_after_loss(&cc, 100, 10000, 1 * SEC);
	run_rounds(&cc, 1 * SEC, rtt, ROUNDS, trace);

	/* After 2 s the curve alone would be at about 96 segments ... */
	double curve = CUBIC_C * pow(2.0 + 0.01 - k, 3) + w_max;

	assert_true(curve < 97);
	/* ... while W_est = 70 + 200 * 8/15 = 176.7: cwnd tracks it. */
	for (int r = 20; r <= ROUNDS; r += 20) {
		double w_est = 70 + r * 8.0 / 15.0;

		assert_true(fabs(trace[r] - w_est) <= 3.0);
	}
	assert_true(trace[ROUNDS] > curve + 70);
}

/* Before any loss (W_max = 0), congestion avoidance still grows by at least 1/20 of
 * cwnd per round trip (cnt capped at 20). */
static void test_cubic_no_loss_yet(void **state)
{
	enum { ROUNDS = 10 };
	uint32_t trace[ROUNDS + 1];
	struct tern_cc cc;

	(void)state;
	make(&cc, "cubic", 0);
	cc.cwnd_segs = 200;
	cc.ssthresh_segs = 200; /* as if HyStart had ended slow start */
	cc.priv.cubic.delay_min_us = 50000;
	run_rounds(&cc, 1 * SEC, 50 * MS, ROUNDS, trace);
	for (int r = 0; r < ROUNDS; r++)
		assert_true(trace[r + 1] - trace[r] >= trace[r] / 20);
}

/* TX_START after idle moves the epoch forward by the idle time, so the curve resumes
 * where it was rather than leaping ahead (and never moves it past now). */
static void test_cubic_epoch_shift_after_idle(void **state)
{
	struct tern_cc cc;
	struct tern_cc_conn c;

	(void)state;
	cubic_after_loss(&cc, 100, 100000, 1 * SEC);
	run_rounds(&cc, 1 * SEC, 100 * MS, 10, NULL); /* 1 s of the epoch */
	assert_true(cc.priv.cubic.in_epoch);
	uint32_t epoch = cc.priv.cubic.epoch_start_ms;
	uint32_t cwnd = cc.cwnd_segs;

	assert_int_equal(epoch, 1001); /* the first ACK, 100 ms / 70 after 1 s */
	/* Last send at 2.0 s, data again at 7.0 s: the epoch start moves by 5 s. */
	c = conn_at(7 * SEC);
	c.last_send = 2 * SEC;
	tern__cc_event(&cc, &c, TERN_CC_EVENT_TX_START);
	assert_int_equal(cc.priv.cubic.epoch_start_ms, 6001);
	/* The curve resumes: the next second grows cwnd as the epoch's second second
	 * would have (W(1 s) = 88 -> W(2 s) = 96), not as its sixth (W(6 s) = 102). */
	run_rounds(&cc, 7 * SEC, 100 * MS, 10, NULL);
	double model = CUBIC_C * pow(2.0 - cbrt(30 / CUBIC_C), 3) + 100;

	assert_true(cc.cwnd_segs > cwnd);
	assert_true(fabs(cc.cwnd_segs - model) <= 2.0);
	assert_true(cc.cwnd_segs < 100);

	/* An epoch that began after the last send is not pushed past now. */
	cubic_after_loss(&cc, 100, 100000, 1 * SEC);
	ack(&cc, 1100 * MS, 1, -1);
	assert_int_equal(cc.priv.cubic.epoch_start_ms, 1100);
	c = conn_at(3 * SEC);
	c.last_send = 1 * SEC;
	tern__cc_event(&cc, &c, TERN_CC_EVENT_TX_START);
	assert_int_equal(cc.priv.cubic.epoch_start_ms, 3000);

	/* No epoch (slow start): nothing to move. */
	make(&cc, "cubic", 0);
	c = conn_at(10 * SEC);
	tern__cc_event(&cc, &c, TERN_CC_EVENT_TX_START);
	assert_false(cc.priv.cubic.in_epoch);
	assert_int_equal(cc.priv.cubic.epoch_start_ms, 0);
}

/* A loss ends the epoch; the next congestion-avoidance ACK starts a new one. An RTO
 * forgets W_max and HyStart's verdict altogether. */
static void test_cubic_epoch_reset_on_loss(void **state)
{
	struct tern_cc cc;
	struct tern_cc_conn c = conn_at(20 * SEC);

	(void)state;
	cubic_after_loss(&cc, 100, 100000, 1 * SEC);
	run_rounds(&cc, 1 * SEC, 100 * MS, 20, NULL);
	assert_true(cc.priv.cubic.in_epoch);
	uint32_t cwnd = cc.cwnd_segs;

	tern__cc_enter_recovery(&cc, &c, false);
	assert_false(cc.priv.cubic.in_epoch);
	assert_int_equal(cc.priv.cubic.last_max_cwnd, cwnd * 1741 / 2048); /* fast convergence */

	cc.priv.cubic.found = true;
	tern__cc_enter_loss(&cc, &c, 5, true);
	assert_int_equal(cc.cwnd_segs, 6);
	assert_int_equal(cc.priv.cubic.last_max_cwnd, 0);
	assert_false(cc.priv.cubic.found);
	assert_int_equal(cc.priv.cubic.delay_min_us, 0);
}

/* Undo after a spurious reduction restores cwnd and ssthresh. */
static void test_cubic_undo(void **state)
{
	struct tern_cc cc;
	struct tern_cc_conn c = conn_at(0);

	(void)state;
	make(&cc, "cubic", 0);
	cc.cwnd_segs = 100;
	cc.ssthresh_segs = 80;
	tern__cc_enter_recovery(&cc, &c, false);
	assert_int_equal(cc.ssthresh_segs, 70);
	assert_int_equal(cc.prior_ssthresh_segs, 80);
	cc.cwnd_segs = 72; /* PRR */
	assert_true(tern__cc_undo(&cc));
	assert_int_equal(cc.cwnd_segs, 100);
	assert_int_equal(cc.ssthresh_segs, 80);

	/* In initial slow start the saved ssthresh is "infinite", and so is the restored. */
	make(&cc, "cubic", 0);
	cc.cwnd_segs = 64;
	tern__cc_enter_recovery(&cc, &c, false);
	assert_int_equal(cc.ssthresh_segs, 44);
	assert_true(tern__cc_undo(&cc));
	assert_int_equal(cc.ssthresh_segs, 0x7fffffff);
	assert_int_equal(cc.cwnd_segs, 64);
}

/*
 * HyStart, delay detection: rounds of ACKs 3 ms apart (never an ACK train), RTT
 * 40 ms in the first round, 50 ms from the second. The threshold is delay_min +
 * clamp(40/8, 4, 16) = 45 ms; after 8 samples of the second round the 9th ends slow
 * start with ssthresh = cwnd.
 */
static void test_cubic_hystart_delay(void **state)
{
	struct tern_cc cc;
	struct tern_cc_conn c = conn_at(1 * SEC);
	tern_time now = 1 * SEC;
	tern_seq una = 0, nxt;
	uint32_t round_end;
	int acks_in_round2 = 0;

	(void)state;
	make(&cc, "cubic", 0);
	cc.cwnd_segs = 16;
	nxt = 16 * MSS;
	c.snd_nxt = nxt;
	tern__cc_start(&cc, &c); /* round 1 ends when SND.UNA passes 16 segments */
	round_end = nxt;

	for (int i = 0; i < 200 && !cc.priv.cubic.found; i++) {
		now += 3 * MS;
		una += MSS;
		bool round2 = (int32_t)(una - round_end) > 0;
		uint32_t rtt = round2 ? 50000 : 40000;

		nxt += 2 * MSS; /* slow start: two new segments per ACKed one */
		c = conn_at(now);
		c.snd_una = una;
		c.snd_nxt = nxt;
		if (round2)
			acks_in_round2++;
		tern__cc_pkts_acked(&cc, &c, 1, rtt);
		if (!cc.priv.cubic.found)
			tern__cc_cong_avoid(&cc, &c, 1, true);
	}
	assert_true(cc.priv.cubic.found);
	assert_int_equal(cc.priv.cubic.delay_min_us, 40000);
	assert_int_equal(acks_in_round2, 9);
	assert_int_equal(cc.ssthresh_segs, cc.cwnd_segs);
	assert_false(tern__cc_in_slow_start(&cc));
	/* 16 + 16 ACKs of round 1 + 8 of round 2 before the exit. */
	assert_int_equal(cc.cwnd_segs, 16 + 16 + 8);

	/* Slow start is over: the next ACK grows cwnd by the cubic rule, not by one. */
	uint32_t cwnd = cc.cwnd_segs;

	tern__cc_cong_avoid(&cc, &c, 1, true);
	assert_int_equal(cc.cwnd_segs, cwnd);
}

/* Below hystart_low_window (16) HyStart does not act, however large the delay. */
static void test_cubic_hystart_low_window(void **state)
{
	struct tern_cc cc;
	tern_time now = 0;

	(void)state;
	make(&cc, "cubic", 0);
	cc.cwnd_segs = 4;
	cc.clamp_segs = 15;
	for (int i = 0; i < 50; i++) {
		struct tern_cc_conn c = conn_at(now += 3 * MS);

		c.snd_una = (tern_seq)(i * MSS);
		tern__cc_pkts_acked(&cc, &c, 1, i < 5 ? 10000 : 900000);
		tern__cc_cong_avoid(&cc, &c, 1, true);
	}
	assert_false(cc.priv.cubic.found);
	assert_int_equal(cc.ssthresh_segs, 0x7fffffff);
}

/*
 * HyStart, ACK train: ACKs 1 ms apart in a round that lasts longer than half of
 * delay_min (40 ms / 2 = 20 ms, no pacer, no pacing rate known): the ACK 21 ms into
 * the round ends slow start.
 */
static void test_cubic_hystart_ack_train(void **state)
{
	struct tern_cc cc;
	struct tern_cc_conn c = conn_at(1 * SEC);
	tern_seq nxt = 64 * MSS;

	(void)state;
	make(&cc, "cubic", 0);
	cc.cwnd_segs = 32;
	c.snd_nxt = nxt;
	tern__cc_start(&cc, &c); /* round starts at 1 s */
	for (int i = 1; i <= 40 && !cc.priv.cubic.found; i++) {
		c = conn_at(1 * SEC + i * MS);
		c.snd_una = (tern_seq)(i * MSS);
		c.snd_nxt = nxt;
		tern__cc_pkts_acked(&cc, &c, 1, 40000);
		if (cc.priv.cubic.found) {
			assert_int_equal(i, 21);
			break;
		}
		tern__cc_cong_avoid(&cc, &c, 1, true);
	}
	assert_true(cc.priv.cubic.found);
	assert_int_equal(cc.cwnd_segs, 32 + 20);
	assert_int_equal(cc.ssthresh_segs, 52);

	/* With a pacer at 100 MB/s the allowance is 4 * 65536 / 1e8 s = 2621 us -> 1 ms,
	 * and the threshold is not halved: 40 + 1 = 41 ms, longer than this round's 40
	 * spaced ACKs, so no exit. */
	make(&cc, "cubic", 0);
	cc.cwnd_segs = 32;
	c = conn_at(1 * SEC);
	c.snd_nxt = nxt;
	tern__cc_start(&cc, &c);
	for (int i = 1; i <= 40; i++) {
		c = conn_at(1 * SEC + i * MS);
		c.snd_una = (tern_seq)(i * MSS);
		c.snd_nxt = nxt;
		c.pacing_bytes_per_s = 100000000;
		c.paced = true;
		tern__cc_pkts_acked(&cc, &c, 1, 40000);
	}
	assert_false(cc.priv.cubic.found);
}

/* RTT samples in the first second of an epoch are not used (delay_min stays). */
static void test_cubic_ignores_samples_early_in_epoch(void **state)
{
	struct tern_cc cc;

	(void)state;
	cubic_after_loss(&cc, 100, 50000, 1 * SEC);
	ack(&cc, 1 * SEC, 1, 50000); /* epoch starts at 1 s */
	ack(&cc, 1500 * MS, 1, 20000);
	assert_int_equal(cc.priv.cubic.delay_min_us, 50000);
	ack(&cc, 2000 * MS, 1, 20000);
	assert_int_equal(cc.priv.cubic.delay_min_us, 20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_defaults_and_switch),
		cmocka_unit_test(test_reno_slow_start_stretch_ack),
		cmocka_unit_test(test_reno_only_when_cwnd_limited),
		cmocka_unit_test(test_reno_congestion_avoidance),
		cmocka_unit_test(test_reno_ssthresh_halving),
		cmocka_unit_test(test_clamp),
		cmocka_unit_test(test_recovery_and_end),
		cmocka_unit_test(test_loss_and_undo),
		cmocka_unit_test(test_cwnd_restart_after_idle),
		cmocka_unit_test(test_cubic_ssthresh_beta),
		cmocka_unit_test(test_cubic_fast_convergence),
		cmocka_unit_test(test_cubic_k),
		cmocka_unit_test(test_cubic_curve_shape),
		cmocka_unit_test(test_cubic_reno_friendly_region),
		cmocka_unit_test(test_cubic_no_loss_yet),
		cmocka_unit_test(test_cubic_epoch_shift_after_idle),
		cmocka_unit_test(test_cubic_epoch_reset_on_loss),
		cmocka_unit_test(test_cubic_undo),
		cmocka_unit_test(test_cubic_hystart_delay),
		cmocka_unit_test(test_cubic_hystart_low_window),
		cmocka_unit_test(test_cubic_hystart_ack_train),
		cmocka_unit_test(test_cubic_ignores_samples_early_in_epoch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
