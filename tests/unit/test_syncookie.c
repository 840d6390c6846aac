/*
 * tests/unit/test_syncookie.c: the SYN cookie codec (tcp/syncookie.c), table-driven.
 *
 * Expected values come from the rules in spec §3.2-§3.4, written out in each table,
 * not from the implementation: the MSS table {536, 1300, 1440, 1460} with "largest
 * entry not above the peer's MSS, 536 below that"; the minute counter (60 s of stack
 * time) with a cookie good in its own minute and the next; the 6 option bits of the
 * timestamp (bits 0-3 the peer's window scale or 0xF, bit 4 SACK, bit 5 ECN) on a
 * value never ahead of the millisecond clock. Every row checks the exact decoded
 * values, and every rejection is checked against a cookie that is accepted with the
 * same inputs but for the one thing changed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/prng.h"
#include "core/siphash.h"
#include "tcp/syncookie.h"

#define NS_S TERN_NS_PER_SEC
#define NS_MS TERN_NS_PER_MS
#define MINUTE_NS (60 * NS_S)

static const uint16_t msstab[4] = { 536, 1300, 1440, 1460 };   /* spec §3.2 */

/* Two fixed, unrelated cookie keys (a stack draws its own from its secret). */
static const struct tern_siphash_key keys[2] = {
	{ 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull },
	{ 0x8badf00ddeadbeefull, 0x0123456789abcdefull },
};

/* A client 198.51.100.7:40000 and a server 203.0.113.1:80. */
static const struct tern_cookie_tuple tuple = {
	.saddr = 0xc6336407u, .daddr = 0xcb007101u, .sport = 40000, .dport = 80,
};

/* ---------------------------------------------------------------- the MSS table */

struct mss_row {
	uint16_t peer_mss;
	unsigned index;     /* spec §3.2: largest i with peer_mss >= msstab[i], else 0 */
	uint16_t mss;       /* msstab[index]: rounded down, or up to 536 below it */
};

static const struct mss_row mss_rows[] = {
	{ 0, 0, 536 },     { 1, 0, 536 },       { 88, 0, 536 },     { 500, 0, 536 },
	{ 535, 0, 536 },   { 536, 0, 536 },     { 537, 0, 536 },    { 1299, 0, 536 },
	{ 1300, 1, 1300 }, { 1301, 1, 1300 },   { 1400, 1, 1300 },  { 1439, 1, 1300 },
	{ 1440, 2, 1440 }, { 1441, 2, 1440 },   { 1459, 2, 1440 },  { 1460, 3, 1460 },
	{ 1461, 3, 1460 }, { 9000, 3, 1460 },   { 65535, 3, 1460 },
};

static void test_mss_index_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mss_rows) / sizeof(mss_rows[0]); i++) {
		uint16_t used = 0;
		unsigned idx = tern__cookie_mss_index(mss_rows[i].peer_mss, &used);
		if (idx != mss_rows[i].index || used != mss_rows[i].mss)
			fail_msg("peer MSS %u: index %u MSS %u, want %u and %u", mss_rows[i].peer_mss, idx, used,
				 mss_rows[i].index, mss_rows[i].mss);
	}
}

/* ---------------------------------------------------------------- the option bits */

/* The 6 bits spec §3.4 puts in the low end of the SYN-ACK's TSval. */
static uint32_t option_bits(const struct tern_cookie_opts *o)
{
	return (o->wscale_ok ? o->wscale : 0xfu) | (o->sack_ok ? 0x10u : 0) | (o->ecn_ok ? 0x20u : 0);
}

/* What the encoder must return, from its three defining properties: low 6 bits are
 * the options, not ahead of the clock, and the latest such value (so less than 64
 * behind). Checked as properties rather than recomputed. */
static void assert_ts_encoding(uint32_t now_ms, const struct tern_cookie_opts *o, uint32_t ts)
{
	if ((ts & 63u) != option_bits(o) || (int32_t)(ts - now_ms) > 0 || now_ms - ts >= 64u)
		fail_msg("clock %u ws_ok %d ws %u sack %d ecn %d: TSval %u", now_ms, o->wscale_ok, o->wscale,
			 o->sack_ok, o->ecn_ok, ts);
}

/* Worked examples of "never ahead of the clock". */
struct ts_row {
	uint32_t now_ms;
	struct tern_cookie_opts o;
	uint32_t tsval;
};

static const struct ts_row ts_rows[] = {
	/* 1000 = 15*64 + 40. wscale 7 + SACK = 0x17 = 23: 960 + 23 = 983 <= 1000. */
	{ 1000, { true, 7, true, false }, 983 },
	/* No wscale, SACK, ECN = 0x3f = 63: 960 + 63 = 1023 > 1000, so 64 earlier. */
	{ 1000, { false, 0, true, true }, 959 },
	/* 1023 = 15*64 + 63: 960 + 63 = 1023 equals the clock, which is not ahead. */
	{ 1023, { false, 0, true, true }, 1023 },
	/* 1024 = 16*64: wscale 0 alone is 1024; wscale 1 would be 1025, so 961. */
	{ 1024, { true, 0, false, false }, 1024 },
	{ 1024, { true, 1, false, false }, 961 },
	/* wscale 14 + ECN = 0x2e = 46 on a clock of 46 mod 64: exactly now. */
	{ 64 * 1000 + 46, { true, 14, false, true }, 64 * 1000 + 46 },
	{ 64 * 1000 + 45, { true, 14, false, true }, 64 * 999 + 46 },
	/* A clock of 5 ms and all bits set: 63 - 64 wraps to 2^32 - 1. */
	{ 5, { false, 0, true, true }, 0xffffffffu },
	/* The top of the 32-bit clock: 0xffffffc0 | 0x2a. */
	{ 0xffffffffu, { true, 10, false, true }, 0xffffffeau },
	{ 0, { true, 0, false, false }, 0 },
	{ 0, { true, 1, false, false }, 0xffffffc1u },
};

static void test_ts_encode_examples(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ts_rows) / sizeof(ts_rows[0]); i++) {
		const struct ts_row *r = &ts_rows[i];
		uint32_t ts = tern__cookie_ts_encode(r->now_ms, &r->o);
		if (ts != r->tsval)
			fail_msg("row %zu: clock %u gives TSval %u, want %u", i, r->now_ms, ts, r->tsval);
		assert_ts_encoding(r->now_ms, &r->o, ts);
	}
}

/* Every 6-bit value decodes to its fields (spec §3.4). */
static void test_ts_decode_all_values(void **state)
{
	(void)state;
	for (uint32_t v = 0; v < 64; v++) {
		struct tern_cookie_opts o;
		memset(&o, 0xa5, sizeof(o));
		/* The upper bits of TSecr are clock, not options. */
		tern__cookie_ts_decode(0x5eadbe00u | v, &o);
		bool want_ws = (v & 0xf) != 0xf;
		assert_int_equal(o.wscale_ok, want_ws);
		assert_int_equal(o.wscale, want_ws ? (v & 0xf) : 0);
		assert_int_equal(o.sack_ok, (v >> 4) & 1);
		assert_int_equal(o.ecn_ok, (v >> 5) & 1);
	}
}

/* ---------------------------------------------------------------- the full table */

/* The MSS boundaries of the issue, every window scale and none, SACK and ECN each on
 * and off, with and without timestamps: a cookie made for each SYN decodes to the
 * row's MSS index and MSS in its minute and the next; with timestamps the options
 * come back from the TSval exactly; without, only the MSS (checked for every row)
 * comes back (tests/sim/test_synflood.c checks that such a SYN-ACK offers MSS alone). */
static const uint16_t boundary_mss[] = { 500, 536, 1299, 1300, 1439, 1440, 1460, 9000 };
static const unsigned boundary_index[] = { 0, 0, 0, 1, 1, 2, 3, 3 };
static const uint16_t boundary_used[] = { 536, 536, 536, 1300, 1300, 1440, 1460, 1460 };

/* Clock values whose low 6 bits cover the cases: options below, equal to and
 * above the clock's own low bits, and the wrap of the 32-bit clock. */
static const uint32_t clocks_ms[] = { 0, 1, 14, 15, 31, 32, 47, 63, 64, 1000, 123456789, 0xffffffffu, 0xffffffc5u };

static void test_option_table(void **state)
{
	(void)state;
	struct tern_prng prng;
	unsigned rows = 0;

	tern__prng_seed(&prng, 0x5c00c1e5);
	for (size_t m = 0; m < sizeof(boundary_mss) / sizeof(boundary_mss[0]); m++) {
		for (int ws = -1; ws <= 14; ws++) {
			for (int sack = 0; sack <= 1; sack++) {
				for (int ecn = 0; ecn <= 1; ecn++) {
					for (int ts = 0; ts <= 1; ts++) {
						struct tern_cookie_tuple t = tuple;
						t.saddr = tern__prng_u32(&prng);
						t.sport = (uint16_t)(tern__prng_u32(&prng) | 1024);
						tern_seq isn = tern__prng_u32(&prng);
						uint32_t minute = tern__prng_u32(&prng) >> 8;
						uint32_t now_ms = clocks_ms[rows % (sizeof(clocks_ms) / sizeof(clocks_ms[0]))];
						uint16_t used = 0, mss = 0;
						unsigned idx = tern__cookie_mss_index(boundary_mss[m], &used);
						assert_int_equal(idx, boundary_index[m]);
						assert_int_equal(used, boundary_used[m]);

						tern_seq cookie = tern__cookie_make(keys, &t, isn, minute, idx);
						assert_int_equal(tern__cookie_check(keys, &t, cookie + 1, isn + 1, minute, &mss),
								 (int)boundary_index[m]);
						assert_int_equal(mss, boundary_used[m]);
						mss = 0;
						assert_int_equal(tern__cookie_check(keys, &t, cookie + 1, isn + 1, minute + 1, &mss),
								 (int)boundary_index[m]);
						assert_int_equal(mss, boundary_used[m]);
						assert_int_equal(tern__cookie_check(keys, &t, cookie + 1, isn + 1, minute + 2, &mss),
								 -1);

						struct tern_cookie_opts o = {
							.wscale_ok = ws >= 0, .wscale = (uint8_t)(ws >= 0 ? ws : 0),
							.sack_ok = sack, .ecn_ok = ecn,
						};
						if (ts) {
							uint32_t tsval = tern__cookie_ts_encode(now_ms, &o);
							assert_ts_encoding(now_ms, &o, tsval);
							struct tern_cookie_opts back;
							memset(&back, 0x5a, sizeof(back));
							tern__cookie_ts_decode(tsval, &back);
							assert_int_equal(back.wscale_ok, o.wscale_ok);
							assert_int_equal(back.wscale, o.wscale);
							assert_int_equal(back.sack_ok, o.sack_ok);
							assert_int_equal(back.ecn_ok, o.ecn_ok);
						}
						rows++;
					}
				}
			}
		}
	}
	assert_int_equal(rows, 8 * 16 * 2 * 2 * 2);
}

/* ---------------------------------------------------------------- the layout */

/* Spec §3.2's formula, with tern's word order (saddr, daddr, sport<<16 | dport,
 * count) in host order, as syncookie.c documents it. */
static uint32_t h(int k, const struct tern_cookie_tuple *t, uint32_t count)
{
	return (uint32_t)tern__siphash_4u32(&keys[k], t->saddr, t->daddr, (uint32_t)t->sport << 16 | t->dport, count);
}

static void test_layout(void **state)
{
	(void)state;
	static const uint32_t minutes[] = { 0, 1, 2, 255, 256, 257, 28000000, 0xfffffffeu, 0xffffffffu };
	static const tern_seq isns[] = { 0, 1, 0x7fffffffu, 0xfffffffeu, 0xffffffffu, 0x12345678u };

	for (size_t m = 0; m < sizeof(minutes) / sizeof(minutes[0]); m++)
		for (size_t s = 0; s < sizeof(isns) / sizeof(isns[0]); s++)
			for (unsigned idx = 0; idx < 4; idx++) {
				uint32_t c = minutes[m];
				tern_seq want = h(0, &tuple, 0) + isns[s] + (c << 24) + ((h(1, &tuple, c) + idx) & 0xffffffu);
				tern_seq got = tern__cookie_make(keys, &tuple, isns[s], c, idx);
				assert_int_equal(got, want);
				/* Taking off H0 and the client ISN leaves the minute's low byte
				 * on top. */
				assert_int_equal((got - h(0, &tuple, 0) - isns[s]) >> 24, c & 0xff);
			}
	/* The client ISN enters by addition: one more ISN, one more cookie. */
	tern_seq c0 = tern__cookie_make(keys, &tuple, 1000, 77, 2);
	assert_int_equal(tern__cookie_make(keys, &tuple, 1001, 77, 2), c0 + 1);
}

/* ---------------------------------------------------------------- minutes */

static void test_minute_clock(void **state)
{
	(void)state;
	assert_int_equal(tern__cookie_minute(0), 0);
	assert_int_equal(tern__cookie_minute(59 * NS_S + 999 * NS_MS), 0);   /* 59.999 s */
	assert_int_equal(tern__cookie_minute(MINUTE_NS - 1), 0);
	assert_int_equal(tern__cookie_minute(60 * NS_S), 1);                 /* 60.000 s */
	assert_int_equal(tern__cookie_minute(119 * NS_S + 999 * NS_MS), 1);
	assert_int_equal(tern__cookie_minute(120 * NS_S), 2);
	assert_int_equal(tern__cookie_minute(1000 * MINUTE_NS - 1), 999);
	assert_int_equal(tern__cookie_minute(1000 * MINUTE_NS), 1000);
}

/* Made in minute n: valid in n and n+1 with the same MSS, rejected in n+2 and
 * in n-1 (that is, older by 255 minutes mod 256). */
static void test_minute_window(void **state)
{
	(void)state;
	static const uint32_t ns[] = { 0, 1, 2, 3, 254, 255, 256, 257, 1000, 0x123456u, 0xfffffffeu, 0xffffffffu };
	uint16_t mss;

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		for (unsigned idx = 0; idx < 4; idx++) {
			uint32_t n = ns[i];
			tern_seq isn = 0xfffffff0u + (uint32_t)i;
			tern_seq c = tern__cookie_make(keys, &tuple, isn, n, idx);
			mss = 0;
			assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1, n, &mss), (int)idx);
			assert_int_equal(mss, msstab[idx]);
			mss = 0;
			assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1, n + 1, &mss), (int)idx);
			assert_int_equal(mss, msstab[idx]);
			assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1, n + 2, &mss), -1);
			assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1, n + 3, &mss), -1);
			assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1, n - 1, &mss), -1);
			/* 256 minutes on, the top byte reads as this minute again, but the
			 * second hash is of another minute. */
			assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1, n + 256, &mss), -1);
		}
	}
}

/* The same with the stack's clock at the exact edges: made at the last
 * nanosecond of a minute or the first, checked 59.999 s vs 60.000 s later. */
static void test_minute_edges_in_time(void **state)
{
	(void)state;
	static const int64_t minutes[] = { 1, 5, 255, 256, 1000 };
	uint16_t mss;

	for (size_t i = 0; i < sizeof(minutes) / sizeof(minutes[0]); i++) {
		int64_t start = minutes[i] * MINUTE_NS;       /* first ns of minute n */
		int64_t last = start + MINUTE_NS - 1;         /* last ns of minute n */
		tern_seq isn = 0x01020304u;

		/* Made at the first instant of n: good until 119.999... s later. */
		tern_seq c = tern__cookie_make(keys, &tuple, isn, tern__cookie_minute(start), 3);
		assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1, tern__cookie_minute(start), &mss), 3);
		assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1,
						    tern__cookie_minute(start + 119 * NS_S + 999 * NS_MS), &mss), 3);
		assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1,
						    tern__cookie_minute(start + 120 * NS_S), &mss), -1);
		assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1, tern__cookie_minute(start - 1), &mss),
				 -1);

		/* Made at the last instant of n: good 60 s later (minute n+1), gone
		 * 60 s and 1 ns later (minute n+2). */
		c = tern__cookie_make(keys, &tuple, isn, tern__cookie_minute(last), 1);
		assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1, tern__cookie_minute(last + 1), &mss), 1);
		assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1,
						    tern__cookie_minute(last + 60 * NS_S), &mss), 1);
		assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1,
						    tern__cookie_minute(last + 60 * NS_S + 1), &mss), -1);
		/* 59.999 s vs 60.000 s after the start of minute n+1. */
		assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1,
						    tern__cookie_minute(start + MINUTE_NS + 59 * NS_S + 999 * NS_MS), &mss),
				 1);
		assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1,
						    tern__cookie_minute(start + MINUTE_NS + 60 * NS_S), &mss),
				 -1);
	}
}

/* ---------------------------------------------------------------- other connections */

static void test_other_tuple_rejected(void **state)
{
	(void)state;
	struct tern_cookie_tuple variants[10];
	int nv = 0;
	uint16_t mss;

	for (int k = 0; k < 10; k++)
		variants[k] = tuple;
	variants[nv++].saddr ^= 1;
	variants[nv++].daddr ^= 1;
	variants[nv++].sport ^= 1;
	variants[nv++].dport ^= 1;
	variants[nv++].saddr ^= 0x80000000u;
	variants[nv].sport = tuple.dport;   /* ports swapped: the reverse direction */
	variants[nv++].dport = tuple.sport;
	variants[nv].saddr = tuple.daddr;   /* addresses swapped */
	variants[nv++].daddr = tuple.saddr;
	variants[nv].saddr = tuple.daddr;   /* the whole tuple reversed */
	variants[nv].daddr = tuple.saddr;
	variants[nv].sport = tuple.dport;
	variants[nv++].dport = tuple.sport;
	variants[nv++].dport = 81;
	variants[nv++].sport = 40002;

	const struct tern_siphash_key swapped[2] = { keys[1], keys[0] };
	struct tern_siphash_key flipped0[2] = { keys[0], keys[1] }, flipped1[2] = { keys[0], keys[1] };
	flipped0[0].k1 ^= 1ull << 63;
	flipped1[1].k0 ^= 1;

	for (uint32_t minute = 10; minute < 14; minute++) {
		for (unsigned idx = 0; idx < 4; idx++) {
			tern_seq isn = 0x9abcdef0u + minute * 7919u + idx;
			tern_seq c = tern__cookie_make(keys, &tuple, isn, minute, idx);
			/* The control: the right tuple and keys accept it. */
			assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1, minute, &mss), (int)idx);
			for (int v = 0; v < nv; v++)
				if (tern__cookie_check(keys, &variants[v], c + 1, isn + 1, minute, &mss) != -1)
					fail_msg("variant %d of the 4-tuple accepted (minute %u, index %u)", v, minute, idx);
			assert_int_equal(tern__cookie_check(swapped, &tuple, c + 1, isn + 1, minute, &mss), -1);
			assert_int_equal(tern__cookie_check(flipped0, &tuple, c + 1, isn + 1, minute, &mss), -1);
			assert_int_equal(tern__cookie_check(flipped1, &tuple, c + 1, isn + 1, minute, &mss), -1);
			/* A cookie made with the keys in the other order is not ours. */
			tern_seq cs = tern__cookie_make(swapped, &tuple, isn, minute, idx);
			assert_int_equal(tern__cookie_check(keys, &tuple, cs + 1, isn + 1, minute, &mss), -1);
		}
	}
}

/* The check is plain arithmetic on (ack - 1) - (seq - 1) (spec §3.3): an ACK whose
 * sequence number is k past the SYN's decodes as index - k, which is still a valid
 * index while k <= index and wraps far out of range beyond. So only the first
 * segment (seq = ISN+1) is sure to validate, as on Linux. */
static void test_seq_offsets(void **state)
{
	(void)state;
	uint16_t mss;
	tern_seq isn = 0xfffffffeu;   /* seq wraps through zero */

	for (unsigned idx = 0; idx < 4; idx++) {
		tern_seq c = tern__cookie_make(keys, &tuple, isn, 500, idx);
		for (unsigned k = 0; k < 8; k++) {
			int want = k <= idx ? (int)(idx - k) : -1;
			assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1 + k, 500, &mss), want);
		}
		/* Data 1000 bytes on never validates. */
		assert_int_equal(tern__cookie_check(keys, &tuple, c + 1, isn + 1001, 500, &mss), -1);
		/* The ACK number off by one the other way: index + 1, valid below 4. */
		assert_int_equal(tern__cookie_check(keys, &tuple, c + 2, isn + 1, 500, &mss), idx < 3 ? (int)idx + 1 : -1);
		/* An ACK of the ISN itself (ack = cookie) is index - 1. */
		assert_int_equal(tern__cookie_check(keys, &tuple, c, isn + 1, 500, &mss), idx > 0 ? (int)idx - 1 : -1);
	}
}

/* Blind forgery: 10^5 random ACK numbers against one connection (and 10^5 random
 * ACK and sequence pairs) in one minute. A guess must hit one of the two valid
 * minutes (2/256) and then one of 4 indexes in 2^24, so about 5e-5 acceptances
 * are expected; even the bare 4/2^24 bound predicts 0.024. At most one. */
static void test_forgery_sweep(void **state)
{
	(void)state;
	struct tern_prng prng;
	uint16_t mss;
	unsigned accepted = 0, accepted_pairs = 0;
	tern_seq isn = 0x31415926u;
	tern_seq real = tern__cookie_make(keys, &tuple, isn, 4242, 2);

	tern__prng_seed(&prng, 0xf0f9e5);
	for (int i = 0; i < 100000; i++) {
		tern_seq ack = tern__prng_u32(&prng);
		if (ack == real + 1 || ack == real + 2 || ack == real || ack == real - 1)
			continue;   /* the real cookie and its index neighbours are no forgery */
		if (tern__cookie_check(keys, &tuple, ack, isn + 1, 4242, &mss) >= 0)
			accepted++;
	}
	for (int i = 0; i < 100000; i++) {
		tern_seq ack = tern__prng_u32(&prng), seq = tern__prng_u32(&prng);
		if (tern__cookie_check(keys, &tuple, ack, seq, 4242, &mss) >= 0)
			accepted_pairs++;
	}
	assert_true(accepted <= 1);
	assert_true(accepted_pairs <= 1);
	/* The control: the real one is accepted. */
	assert_int_equal(tern__cookie_check(keys, &tuple, real + 1, isn + 1, 4242, &mss), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mss_index_table),
		cmocka_unit_test(test_ts_encode_examples),
		cmocka_unit_test(test_ts_decode_all_values),
		cmocka_unit_test(test_option_table),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_minute_clock),
		cmocka_unit_test(test_minute_window),
		cmocka_unit_test(test_minute_edges_in_time),
		cmocka_unit_test(test_other_tuple_rejected),
		cmocka_unit_test(test_seq_offsets),
		cmocka_unit_test(test_forgery_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
