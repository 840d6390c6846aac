/*
 * tests/unit/test_rtt.c: the RTT estimator, RTO, backoff, min-RTT filter and the
 * retransmission time budget (tcp/rtt.c).
 *
 * Expected values are worked out in the comments from the rules (RFC 6298 §2 with
 * Linux's rto_min floor on the variance term, spec §14.14; tcp_model_timeout, spec
 * §4.3 / §6.4 / §9), not read back from the implementation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "tcp/rtt.h"

#define MS 1000u             /* microseconds per millisecond */
#define SEC_US 1000000u
#define NS_MS TERN_NS_PER_MS
#define NS_S TERN_NS_PER_SEC
#define S_MS 1000u           /* milliseconds per second (the min-RTT filter's clock) */

static const uint32_t rto_min = TERN_TCP_RTO_MIN_US;
static const uint32_t rto_max = TERN_TCP_RTO_MAX_US;

/* ---------------------------------------------------------------- estimator */

static void test_initial_rto_and_fallback(void **state)
{
	struct tern_rtt r;

	(void)state;
	tern__rtt_init(&r);
	assert_false(tern__rtt_has_sample(&r));
	assert_int_equal(tern__rtt_rto_us(&r), 1000 * MS); /* TCP_TIMEOUT_INIT */

	/* Handshake without a sample: RFC 6298 §5.7's 3 s. */
	tern__rtt_handshake_fallback(&r);
	assert_int_equal(tern__rtt_rto_us(&r), 3000 * MS);

	/* With a sample the fallback does nothing. */
	tern__rtt_init(&r);
	tern__rtt_sample(&r, 100 * MS, 1, 1, rto_min, rto_max);
	tern__rtt_handshake_fallback(&r);
	assert_int_equal(tern__rtt_rto_us(&r), 300 * MS);
}

static void test_first_sample(void **state)
{
	struct tern_rtt r;

	(void)state;
	/* R = 100 ms: SRTT = 100, mdev = R/2 = 50 (x4: 200), rttvar = max(200, 200),
	 * RTO = 100 + 200 = 300 ms = 3R. */
	tern__rtt_init(&r);
	assert_int_equal(tern__rtt_sample(&r, 100 * MS, 0, 1000, rto_min, rto_max), 300 * MS);
	assert_true(tern__rtt_has_sample(&r));
	assert_int_equal(tern__rtt_srtt_us(&r), 100 * MS);
	assert_int_equal(tern__rtt_mdev_us(&r), 50 * MS);
	assert_int_equal(r.rttvar_us, 200 * MS);
	assert_int_equal(r.rtt_seq, 1000);

	/* R = 400 ms: deviation term 800 ms beats the floor, RTO = 3R = 1.2 s. */
	tern__rtt_init(&r);
	assert_int_equal(tern__rtt_sample(&r, 400 * MS, 0, 1, rto_min, rto_max), 1200 * MS);

	/* R = 10 ms: the floor wins: 10 + 200 = 210 ms. */
	tern__rtt_init(&r);
	assert_int_equal(tern__rtt_sample(&r, 10 * MS, 0, 1, rto_min, rto_max), 210 * MS);

	/* R = 0 (same-tick ACK): SRTT is kept non-zero so the estimator stays seeded. */
	tern__rtt_init(&r);
	assert_int_equal(tern__rtt_sample(&r, 0, 0, 1, rto_min, rto_max), 200 * MS);
	assert_true(tern__rtt_has_sample(&r));

	/* A huge first sample is capped at rto_max. */
	tern__rtt_init(&r);
	assert_int_equal(tern__rtt_sample(&r, 100 * SEC_US, 0, 1, rto_min, rto_max), rto_max);
}

/* Spec §14.14: RTO = SRTT + max(4 RTTVAR, rto_min), so RTT 50 ms gives 250 ms
 * (RFC 6298 §2.4 would give 1 s), and it stays there under a steady RTT. */
static void test_rto_floor_is_srtt_plus_200ms(void **state)
{
	struct tern_rtt r;
	tern_seq una = 0, nxt = 10000;

	(void)state;
	tern__rtt_init(&r);
	assert_int_equal(tern__rtt_sample(&r, 50 * MS, una, nxt, rto_min, rto_max), 250 * MS);
	for (int round = 0; round < 50; round++) {
		una = nxt + 1;
		nxt += 10000;
		for (int i = 0; i < 10; i++)
			assert_int_equal(tern__rtt_sample(&r, 50 * MS, una, nxt, rto_min, rto_max), 250 * MS);
	}
	assert_int_equal(tern__rtt_srtt_us(&r), 50 * MS);

	/* A different floor (tcp_rto_min_us = 5 ms) moves the minimum with it:
	 * first sample 1 ms: SRTT 1 + max(2 ms, 5 ms) = 6 ms. */
	tern__rtt_init(&r);
	assert_int_equal(tern__rtt_sample(&r, 1 * MS, 0, 1, 5 * MS, rto_max), 6 * MS);
}

/* From a 200 ms first sample to a steady 50 ms: SRTT converges to exactly 50 ms
 * (the x8 fixed point), the deviation decays, and the RTO comes down to
 * SRTT + rto_min (rttvar decays a quarter of the way per round trip and rounding can
 * leave it up to 3 us above the floor). */
static void test_steady_state_converges(void **state)
{
	struct tern_rtt r;
	tern_seq una = 0, nxt = 1000;
	uint32_t prev_rto;

	(void)state;
	tern__rtt_init(&r);
	prev_rto = tern__rtt_sample(&r, 200 * MS, una, nxt, rto_min, rto_max);
	assert_int_equal(prev_rto, 600 * MS);
	for (int round = 0; round < 200; round++) {
		una = nxt + 1;
		nxt += 1000;
		uint32_t rto = tern__rtt_sample(&r, 50 * MS, una, nxt, rto_min, rto_max);

		assert_true(rto <= prev_rto); /* never rises under a falling/steady RTT */
		prev_rto = rto;
	}
	assert_int_equal(tern__rtt_srtt_us(&r), 50 * MS);
	assert_true(tern__rtt_mdev_us(&r) < 1 * MS);
	assert_in_range(tern__rtt_rto_us(&r), 250 * MS, 250 * MS + 3);
}

/* The variance term follows the peak deviation of the current round trip and only
 * decays (by a quarter of the gap) when SND.UNA passes the round's mark. */
static void test_mdev_max_reset_per_round(void **state)
{
	struct tern_rtt r;

	(void)state;
	tern__rtt_init(&r);
	/* Round 1 starts: mark = SND.NXT = 1000. SRTT 100, mdev x4 200, rttvar 200 ms. */
	tern__rtt_sample(&r, 100 * MS, 0, 1000, rto_min, rto_max);
	assert_int_equal(r.rtt_seq, 1000);

	/* A 300 ms spike inside the round (SND.UNA 500 has not passed 1000):
	 * err = 300 - 100 = 200 ms; SRTT x8 = 800 + 200 = 1000 ms (SRTT 125 ms);
	 * mdev x4 = 200 + (200 - 50) = 350 ms > peak 200, so rttvar jumps to 350 ms;
	 * RTO = 125 + 350 = 475 ms. */
	assert_int_equal(tern__rtt_sample(&r, 300 * MS, 500, 1000, rto_min, rto_max), 475 * MS);
	assert_int_equal(r.mdev_max_us, 350 * MS);
	assert_int_equal(r.rttvar_us, 350 * MS);

	/* Back to 100 ms, same round: err = 100 - 125 = -25 ms; SRTT x8 = 975 ms
	 * (SRTT 121.875 ms); |err| - mdev = 25 - 87.5 < 0, taken whole:
	 * mdev x4 = 350 - 62.5 = 287.5 ms. The peak and rttvar stay at 350 ms. */
	assert_int_equal(tern__rtt_sample(&r, 100 * MS, 900, 1000, rto_min, rto_max), 121875 + 350000);
	assert_int_equal(r.mdev_x4_us, 287500);
	assert_int_equal(r.rttvar_us, 350 * MS);

	/* SND.UNA 1001 passes the mark: err = 100 - 121.875 = -21.875 ms, SRTT x8 =
	 * 953.125 ms (SRTT 119.140 ms), mdev x4 = 287.5 - 50 = 237.5 ms. The round's peak
	 * (350) equals rttvar, so nothing decays; a new round starts at mark 3000 with
	 * the peak reset to rto_min. */
	assert_int_equal(tern__rtt_sample(&r, 100 * MS, 1001, 3000, rto_min, rto_max), 119140 + 350000);
	assert_int_equal(r.rtt_seq, 3000);
	assert_int_equal(r.mdev_max_us, 200 * MS);

	/* The next round ends with a peak of only 200 ms (mdev x4 fell to 197.265 ms,
	 * below the floor): rttvar moves a quarter of the way down,
	 * 350 - (350 - 200)/4 = 312.5 ms. SRTT x8 = 953125 - 19140 = 933985 us. */
	assert_int_equal(tern__rtt_sample(&r, 100 * MS, 3001, 5000, rto_min, rto_max), 116748 + 312500);
	assert_int_equal(r.rttvar_us, 312500);
	assert_int_equal(r.mdev_x4_us, 197265);
}

/* A falling RTT raises the deviation by only 1/8 of the excess: after SRTT 400 ms
 * and mdev x4 800 ms, a 10 ms sample (err -390 ms, |err| - mdev = 390 - 200 = 190)
 * adds 190/8 = 23.75 ms to mdev x4, where RFC 6298 would add 190/4 (47.5 ms). */
static void test_falling_rtt_eifel_damping(void **state)
{
	struct tern_rtt r;

	(void)state;
	tern__rtt_init(&r);
	tern__rtt_sample(&r, 400 * MS, 0, 1000, rto_min, rto_max);
	assert_int_equal(r.mdev_x4_us, 800 * MS);
	tern__rtt_sample(&r, 10 * MS, 10, 1000, rto_min, rto_max);
	assert_int_equal(r.mdev_x4_us, 800 * MS + 23750);
	assert_int_equal(r.srtt_x8_us, 3200 * MS - 390 * MS);
}

static void test_negative_sample_ignored(void **state)
{
	struct tern_rtt r;

	(void)state;
	tern__rtt_init(&r);
	tern__rtt_sample(&r, 100 * MS, 0, 1000, rto_min, rto_max);
#ifndef TERN_DEBUG /* debug builds assert on the caller's mistake */
	struct tern_rtt before = r;

	assert_int_equal(tern__rtt_sample(&r, -1, 2000, 3000, rto_min, rto_max), 300 * MS);
	assert_memory_equal(&before, &r, sizeof(r));
#endif
}

/* ---------------------------------------------------------------- backoff */

static void test_backoff_and_cap(void **state)
{
	(void)state;
	/* 200 ms doubling: 200, 400, 800, ..., 102.4 s, then the 120 s cap. */
	uint32_t expect = 200 * MS;

	for (unsigned int b = 0; b <= 9; b++, expect *= 2)
		assert_int_equal(tern__rtt_backoff_us(200 * MS, b, rto_max), expect);
	assert_int_equal(tern__rtt_backoff_us(200 * MS, 10, rto_max), rto_max); /* 204.8 s */
	assert_int_equal(tern__rtt_backoff_us(200 * MS, 15, rto_max), rto_max);
	assert_int_equal(tern__rtt_backoff_us(200 * MS, 40, rto_max), rto_max);
	assert_int_equal(tern__rtt_backoff_us(200 * MS, 255, rto_max), rto_max);
	/* tcp_rto_max_ms = 1000 (6.15+): 1 s reached at the third doubling. */
	assert_int_equal(tern__rtt_backoff_us(200 * MS, 2, 1000 * MS), 800 * MS);
	assert_int_equal(tern__rtt_backoff_us(200 * MS, 3, 1000 * MS), 1000 * MS);
	/* SYN schedule, 1 s base: 1, 2, 4, ..., 64 s, then 120 s. */
	assert_int_equal(tern__rtt_backoff_us(SEC_US, 6, rto_max), 64 * SEC_US);
	assert_int_equal(tern__rtt_backoff_us(SEC_US, 7, rto_max), rto_max);
	assert_int_equal(tern__rtt_backoff_us(0, 5, rto_max), 0);
}

/* ---------------------------------------------------------------- min-RTT filter */

static void test_minrtt_window(void **state)
{
	struct tern_minrtt m;
	const uint32_t win = 10 * S_MS;

	(void)state;
	tern__minrtt_reset_ms(&m, 0, UINT32_MAX);
	assert_int_equal(tern__minrtt_get(&m), UINT32_MAX);

	assert_int_equal(tern__minrtt_update_ms(&m, 0, win, 50), 50);
	assert_int_equal(tern__minrtt_update_ms(&m, 1 * S_MS, win, 60), 50);
	/* Past a quarter of the window the 2nd (and 3rd) choice is taken: (3 s, 60). */
	assert_int_equal(tern__minrtt_update_ms(&m, 3 * S_MS, win, 60), 50);
	assert_true(m.s[1].t == 3000 && m.s[1].v == 60);
	/* Past half the window a fresh 3rd choice: (6 s, 70). */
	assert_int_equal(tern__minrtt_update_ms(&m, 6 * S_MS, win, 70), 50);
	assert_true(m.s[2].t == 6000 && m.s[2].v == 70);
	/* At 11 s the 50 (taken at 0 s) has left the window: the 60 from 3 s is the
	 * minimum (the true minimum of (1 s, 11 s] is also 60). */
	assert_int_equal(tern__minrtt_update_ms(&m, 11 * S_MS, win, 80), 60);
	/* At 14 s the 60 (3 s) expires too: 70 (true minimum over (4, 14] is 70). */
	assert_int_equal(tern__minrtt_update_ms(&m, 14 * S_MS, win, 90), 70);
	/* A lower value replaces everything at once. */
	assert_int_equal(tern__minrtt_update_ms(&m, 15 * S_MS, win, 40), 40);
	assert_true(m.s[2].t == 15000);
	/* Nothing at all within the window: the new sample is the minimum, even higher. */
	assert_int_equal(tern__minrtt_update_ms(&m, 26 * S_MS, win, 100), 100);
}

/* With Linux's default window (tcp_min_rtt_wlen = 300 s) a minimum lasts 5 minutes. */
static void test_minrtt_default_window(void **state)
{
	struct tern_minrtt m;
	const uint32_t win = (uint32_t)(TERN_TCP_MIN_RTT_WLEN_NS / NS_MS);

	(void)state;
	assert_true(win == 300 * S_MS);
	tern__minrtt_reset_ms(&m, 0, UINT32_MAX);
	tern__minrtt_update_ms(&m, 0, win, 20 * MS);
	for (uint32_t t = S_MS; t <= 300 * S_MS; t += S_MS)
		assert_int_equal(tern__minrtt_update_ms(&m, t, win, 30 * MS + t / S_MS), 20 * MS);
	/* 301 s: the 20 ms sample is gone; the survivors were spread over the window. */
	uint32_t after = tern__minrtt_update_ms(&m, 301 * S_MS, win, 500 * MS);

	assert_true(after > 20 * MS && after < 500 * MS);
}

/* ---------------------------------------------------------------- time budget */

/* Independent model: the sum of the RTOs of boundary+1 timeouts, each the base
 * doubled per step but never above the cap. */
static uint64_t budget_by_sum(unsigned int boundary, uint64_t base, uint64_t max)
{
	uint64_t sum = 0, rto = base;

	for (unsigned int i = 0; i <= boundary; i++) {
		sum += rto < max ? rto : max;
		if (rto < max)
			rto *= 2;
	}
	return sum;
}

static void test_timeout_budgets(void **state)
{
	(void)state;
	/* tcp_retries2 = 15 with a 200 ms base: (2^10 - 1) * 0.2 + 6 * 120 = 924.6 s
	 * (spec §9). */
	assert_true(tern__timeout_budget_us(15, 200 * MS, rto_max) == UINT64_C(924600000));
	/* tcp_retries1 = 3: 15 * 0.2 = 3 s. */
	assert_true(tern__timeout_budget_us(3, 200 * MS, rto_max) == UINT64_C(3000000));
	/* SYN: tcp_syn_retries = 6 with the 1 s base: 2^7 - 1 = 127 s (spec §4.3). */
	assert_true(tern__timeout_budget_us(6, SEC_US, rto_max) == UINT64_C(127000000));
	/* Orphans: 8 retries: (2^9 - 1) * 0.2 = 102.2 s (spec §6.4). */
	assert_true(tern__timeout_budget_us(8, 200 * MS, rto_max) == UINT64_C(102200000));
	/* The switch to linear growth: k = log2(600) = 9. */
	assert_true(tern__timeout_budget_us(9, 200 * MS, rto_max) == UINT64_C(204600000));
	assert_true(tern__timeout_budget_us(10, 200 * MS, rto_max) == UINT64_C(324600000));
	/* tcp_rto_max_ms = 1000: k = 2; 7 * 0.2 + 13 * 1 = 14.4 s. */
	assert_true(tern__timeout_budget_us(15, 200 * MS, 1000 * MS) == UINT64_C(14400000));
	/* boundary 0: a single RTO. */
	assert_true(tern__timeout_budget_us(0, 200 * MS, rto_max) == 200 * MS);

	/* Every combination agrees with the plain sum. */
	static const uint32_t bases[] = { 200 * MS, 300 * MS, 1000 * MS, 3000 * MS, 5 * MS };
	static const uint32_t maxes[] = { 120 * SEC_US, 1 * SEC_US, 60 * SEC_US, 7 * SEC_US };

	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
		for (size_t x = 0; x < sizeof(maxes) / sizeof(maxes[0]); x++)
			for (unsigned int n = 0; n <= 40; n++)
				assert_true(tern__timeout_budget_us(n, bases[b], maxes[x]) ==
					    budget_by_sum(n, bases[b], maxes[x]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial_rto_and_fallback),
		cmocka_unit_test(test_first_sample),
		cmocka_unit_test(test_rto_floor_is_srtt_plus_200ms),
		cmocka_unit_test(test_steady_state_converges),
		cmocka_unit_test(test_mdev_max_reset_per_round),
		cmocka_unit_test(test_falling_rtt_eifel_damping),
		cmocka_unit_test(test_negative_sample_ignored),
		cmocka_unit_test(test_backoff_and_cap),
		cmocka_unit_test(test_minrtt_window),
		cmocka_unit_test(test_minrtt_default_window),
		cmocka_unit_test(test_timeout_budgets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
