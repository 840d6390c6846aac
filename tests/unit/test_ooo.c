/*
 * tests/unit/test_ooo.c: the out-of-order queue (tcp/ooo.c) and the sequence
 * helpers (tcp/seq.h): holes filled in every order, duplicates and partial
 * overlaps with their D-SACK spans, a segment bridging several ranges, coalescing
 * of adjacent data, bytes before rcv_nxt trimmed on delivery, sequence numbers
 * wrapping at 2^32, range listing, the range reported for the newest segment, SACK
 * blocks in Linux's order, pruning from the top, the pool refusing memory
 * mid-insert, and long random runs checked against a byte map. Payload bytes are a
 * function of their sequence number, so every delivered byte is checked. Every test
 * ends with the chunk pool's in_use back at 0 (the fixture's teardown checks).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/pool.h"
#include "tcp/ooo.h"
#include "tcp/seq.h"
#include "tcp/stream.h"

#define DATA ((uint32_t)TERN_CHUNK_DATA)

static uint8_t pat(tern_seq s)
{
	return (uint8_t)((s * 2654435761u) >> 11 ^ s);
}

static struct tern_ooo_insert ins(struct tern_ooo *q, struct tern_pool *pool, tern_seq seq, uint32_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	for (uint32_t i = 0; i < len; i++)
		buf[i] = pat(seq + i);
	struct tern_ooo_insert r = tern__ooo_insert(q, pool, seq, buf, len);
	free(buf);
	assert_true(tern__ooo_check(q));
	return r;
}

/* Reads everything out of `s`, checking it is the pattern from `from`. */
static void drain(struct tern_stream *s, struct tern_pool *pool, tern_seq from, size_t want)
{
	assert_int_equal(tern__stream_len(s), want);
	uint8_t buf[1000];
	size_t got = 0;
	while (got < want) {
		size_t n = tern__stream_read(s, pool, buf, sizeof(buf));
		for (size_t i = 0; i < n; i++)
			if (buf[i] != pat(from + (uint32_t)(got + i)))
				fail_msg("delivered byte at seq %u is wrong", (unsigned)(from + (uint32_t)(got + i)));
		got += n;
	}
	assert_int_equal(tern__stream_len(s), 0);
}

/* Asserts the queue's ranges are exactly the `n` pairs in `want`. */
static void expect_ranges(const struct tern_ooo *q, size_t n, const tern_seq *want)
{
	struct tern_ooo_range got[16];
	assert_int_equal(tern__ooo_ranges(q), n);
	assert_int_equal(tern__ooo_list(q, got, 16), n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(got[i].start, want[2 * i]);
		assert_int_equal(got[i].end, want[2 * i + 1]);
	}
}

static void expect_range(struct tern_ooo_range r, tern_seq start, tern_seq end)
{
	assert_int_equal(r.start, start);
	assert_int_equal(r.end, end);
}

/* Each test gets a chunk pool, a queue and a receive stream; teardown clears both
 * and fails the test unless every chunk went back to the pool. */
struct fx {
	struct tern_pool pool;
	struct tern_ooo q;
	struct tern_stream rx;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	tern__chunk_pool_init(&f->pool, 0);
	tern__ooo_init(&f->q);
	tern__stream_init(&f->rx);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	bool ok = tern__ooo_check(&f->q);
	tern__ooo_clear(&f->q, &f->pool);
	tern__stream_clear(&f->rx, &f->pool);
	ok = ok && f->pool.in_use == 0;
	tern__pool_destroy(&f->pool);
	free(f);
	return ok ? 0 : -1;
}

static void test_seq_helpers(void **state)
{
	(void)state;
	assert_true(seq_lt(1, 2));
	assert_true(seq_lt(0xffffffffu, 0));
	assert_true(seq_lt(0xfffff000u, 0x10));
	assert_false(seq_lt(0x10, 0xfffff000u));
	assert_false(seq_lt(5, 5));
	assert_true(seq_leq(5, 5) && seq_geq(5, 5));
	assert_true(seq_gt(0, 0xffffffffu) && seq_geq(0, 0xffffffffu));
	assert_int_equal(seq_max(0xfffffff0u, 3), 3);
	assert_int_equal(seq_min(0xfffffff0u, 3), 0xfffffff0u);
	/* Exactly half the circle apart: each is "before" the other, as with
	 * Linux's before(); the window checks never let such a pair meet. */
	assert_true(seq_lt(0x80000000u, 0));
	assert_true(seq_lt(0, 0x80000000u));
	assert_true(seq_between(0, 0xfffffff0u, 0x10));
	assert_true(seq_between(0x10, 0xfffffff0u, 0x10));
	assert_false(seq_between(0x11, 0xfffffff0u, 0x10));
	assert_true(seq_in_range(0xfffffff0u, 0xfffffff0u, 0x10));
	assert_false(seq_in_range(0x10, 0xfffffff0u, 0x10));
	assert_false(seq_in_range(7, 7, 7));
	assert_int_equal(seq_diff(3, 0xfffffffeu), 5);
	assert_int_equal(seq_diff(0xfffffffeu, 3), -5);
	assert_int_equal(seq_diff(0x80000000u, 0), INT32_MIN);
	assert_int_equal(seq_diff(0x7fffffffu, 0), INT32_MAX);
}

static void test_basic_insert_deliver(void **state)
{
	struct fx *f = *state;
	struct tern_ooo *q = &f->q;
	struct tern_pool *pool = &f->pool;
	struct tern_stream *rx = &f->rx;
	assert_true(tern__ooo_empty(q));
	assert_int_equal(pool->in_use, 0);

	struct tern_ooo_insert r = ins(q, pool, 2000, 500);
	assert_int_equal(r.stored, 500);
	assert_int_equal(r.dup, 0);
	assert_int_equal(r.refused, 0);
	assert_false(r.duplicate);
	assert_true(r.has_range);
	expect_range(r.range, 2000, 2500);
	assert_int_equal(tern__ooo_bytes(q), 500);
	assert_int_equal(tern__ooo_chunks(q), 1);
	assert_int_equal(tern__ooo_start(q), 2000);
	assert_int_equal(tern__ooo_end(q), 2500);

	/* Nothing is contiguous with rcv_nxt 1000 yet. */
	assert_int_equal(tern__ooo_deliver(q, pool, 1000, rx), 0);
	assert_int_equal(tern__ooo_bytes(q), 500);
	/* The hole [1000, 2000) arrives: the engine appends it itself, then delivers. */
	assert_int_equal(tern__ooo_deliver(q, pool, 2000, rx), 500);
	assert_true(tern__ooo_empty(q));
	assert_int_equal(tern__ooo_bytes(q), 0);
	assert_int_equal(tern__ooo_ranges(q), 0);
	drain(rx, pool, 2000, 500);
	/* An empty segment changes nothing. */
	r = ins(q, pool, 5, 0);
	assert_int_equal(r.stored + r.dup + r.refused, 0);
	assert_false(r.has_range);
	assert_true(tern__ooo_empty(q));
}

/* Five segments covering [base, base + total) inserted in the order `perm`,
 * delivering after each one; returns nothing, asserts everything. */
static void run_permutation(struct tern_pool *pool, tern_seq base, const int *perm)
{
	/* Sizes chosen to cross chunk edges: one byte, a few, more than a chunk. */
	static const uint32_t sizes[5] = { 700, 1, 3000, 2100, 64 };
	tern_seq starts[5];
	tern_seq at = base;
	for (int i = 0; i < 5; i++) {
		starts[i] = at;
		at += sizes[i];
	}
	bool have[5] = { false };
	struct tern_ooo q;
	struct tern_stream rx;
	tern__ooo_init(&q);
	tern__stream_init(&rx);
	tern_seq rcv_nxt = base;
	int delivered_upto = 0;
	for (int k = 0; k < 5; k++) {
		int i = perm[k];
		struct tern_ooo_insert r = ins(&q, pool, starts[i], sizes[i]);
		assert_int_equal(r.stored, sizes[i]);
		have[i] = true;
		/* The range reported spans the neighbours that were present. */
		int lo = i, hi = i;
		while (lo > delivered_upto && have[lo - 1])
			lo--;
		while (hi < 4 && have[hi + 1])
			hi++;
		expect_range(r.range, starts[lo], starts[hi] + sizes[hi]);
		/* Count the ranges the model expects beyond what was delivered. */
		size_t ranges = 0;
		for (int j = delivered_upto; j < 5; j++)
			if (have[j] && (j == delivered_upto || !have[j - 1]))
				ranges++;
		assert_int_equal(tern__ooo_ranges(&q), ranges);
		/* Deliver whatever is now contiguous. */
		uint32_t want = 0;
		while (delivered_upto < 5 && have[delivered_upto])
			want += sizes[delivered_upto++];
		assert_int_equal(tern__ooo_deliver(&q, pool, rcv_nxt, &rx), want);
		assert_true(tern__ooo_check(&q));
		drain(&rx, pool, rcv_nxt, want);
		rcv_nxt += want;
	}
	assert_int_equal(rcv_nxt, at);
	assert_true(tern__ooo_empty(&q));
	assert_int_equal(pool->in_use, 0);
	tern__ooo_clear(&q, pool);
	tern__stream_clear(&rx, pool);
}

static void permute(struct tern_pool *pool, tern_seq base, int *perm, int k, int *count)
{
	if (k == 5) {
		run_permutation(pool, base, perm);
		(*count)++;
		return;
	}
	for (int i = k; i < 5; i++) {
		int t = perm[k];
		perm[k] = perm[i];
		perm[i] = t;
		permute(pool, base, perm, k + 1, count);
		perm[i] = perm[k];
		perm[k] = t;
	}
}

static void test_fill_holes_in_every_order(void **state)
{
	(void)state;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, 0);
	/* Far from the wrap, and straddling it at several points. */
	const tern_seq bases[] = { 1000, 0xfffff000u, 0xffffffffu - 700, 0xffffffffu - 3000, 0xffffffffu - 5000 };
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		int perm[5] = { 0, 1, 2, 3, 4 };
		int count = 0;
		permute(&pool, bases[b], perm, 0, &count);
		assert_int_equal(count, 120);
	}
	assert_int_equal(pool.in_use, 0);
	tern__pool_destroy(&pool);
}

static void test_duplicates_and_overlaps(void **state)
{
	struct fx *f = *state;
	struct tern_ooo *q = &f->q;
	struct tern_pool *pool = &f->pool;
	struct tern_stream *rx = &f->rx;

	ins(q, pool, 100, 100);
	/* The same segment again: a full duplicate, nothing stored. */
	struct tern_ooo_insert r = ins(q, pool, 100, 100);
	assert_true(r.duplicate);
	assert_int_equal(r.dup, 100);
	assert_int_equal(r.stored, 0);
	expect_range(r.dup_span, 100, 200);
	expect_range(r.range, 100, 200);
	/* Inside it: also a full duplicate. */
	r = ins(q, pool, 120, 30);
	assert_true(r.duplicate);
	expect_range(r.dup_span, 120, 150);
	expect_range(r.range, 100, 200);
	assert_int_equal(tern__ooo_bytes(q), 100);

	/* Overlapping the left edge: the front is new, the rest duplicate. */
	r = ins(q, pool, 50, 100);
	assert_false(r.duplicate);
	assert_int_equal(r.stored, 50);
	assert_int_equal(r.dup, 50);
	expect_range(r.dup_span, 100, 150);
	expect_range(r.range, 50, 200);
	/* Overlapping the right edge. */
	r = ins(q, pool, 180, 80);
	assert_int_equal(r.stored, 60);
	assert_int_equal(r.dup, 20);
	expect_range(r.dup_span, 180, 200);
	expect_range(r.range, 50, 260);
	/* Covering it entirely, with new bytes on both sides. */
	r = ins(q, pool, 40, 230);
	assert_int_equal(r.stored, 20);
	assert_int_equal(r.dup, 210);
	expect_range(r.dup_span, 50, 260);
	expect_range(r.range, 40, 270);
	const tern_seq one[] = { 40, 270 };
	expect_ranges(q, 1, one);
	assert_int_equal(tern__ooo_bytes(q), 230);
	/* Growth upwards packs into the chunk it continues; growth downwards takes
	 * a chunk per piece: [40, 50), [50, 100), [100, 270). */
	assert_int_equal(tern__ooo_chunks(q), 3);

	assert_int_equal(tern__ooo_deliver(q, pool, 40, rx), 230);
	drain(rx, pool, 40, 230);
}

static void test_segment_spanning_ranges(void **state)
{
	struct fx *f = *state;
	struct tern_ooo *q = &f->q;
	struct tern_pool *pool = &f->pool;
	struct tern_stream *rx = &f->rx;
	const tern_seq base = 0xfffffe00u; /* the ranges straddle the wrap */
	ins(q, pool, base + 100, 100);
	ins(q, pool, base + 300, 100);
	ins(q, pool, base + 500, 100);
	ins(q, pool, base + 700, 3 * DATA);
	const tern_seq four[] = { base + 100, base + 200, base + 300, base + 400,
				  base + 500, base + 600, base + 700, base + 700 + 3 * DATA };
	expect_ranges(q, 4, four);
	/* A listing cut short gives the lowest ranges. */
	struct tern_ooo_range out[2];
	assert_int_equal(tern__ooo_list(q, out, 2), 2);
	expect_range(out[1], base + 300, base + 400);
	assert_int_equal(tern__ooo_list(q, out, 0), 0);
	struct tern_ooo_range found;
	assert_true(tern__ooo_find(q, base + 350, &found));
	expect_range(found, base + 300, base + 400);
	assert_true(tern__ooo_find(q, base + 700 + 2 * DATA, &found));
	expect_range(found, base + 700, base + 700 + 3 * DATA);
	assert_false(tern__ooo_find(q, base + 200, &found));
	assert_false(tern__ooo_find(q, base + 99, &found));
	assert_false(tern__ooo_find(q, base + 700 + 3 * DATA, &found));

	/* From inside the first range to inside the third: two holes fill, three
	 * ranges become one; the D-SACK span runs from the first to the last
	 * duplicate byte. */
	struct tern_ooo_insert r = ins(q, pool, base + 150, 400);
	assert_int_equal(r.stored, 200);
	assert_int_equal(r.dup, 200);
	expect_range(r.dup_span, base + 150, base + 550);
	expect_range(r.range, base + 100, base + 600);
	const tern_seq two[] = { base + 100, base + 600, base + 700, base + 700 + 3 * DATA };
	expect_ranges(q, 2, two);

	/* From before everything to past the end: every gap, both ends. */
	r = ins(q, pool, base, 750 + 3 * DATA);
	assert_int_equal(r.stored, 100 + 100 + 50);
	assert_int_equal(r.dup, 500 + 3 * DATA);
	expect_range(r.dup_span, base + 100, base + 700 + 3 * DATA);
	expect_range(r.range, base, base + 750 + 3 * DATA);
	assert_int_equal(tern__ooo_ranges(q), 1);
	assert_int_equal(tern__ooo_bytes(q), 750 + 3 * DATA);

	assert_int_equal(tern__ooo_deliver(q, pool, base, rx), 750 + 3 * DATA);
	drain(rx, pool, base, 750 + 3 * DATA);
}

static void test_adjacent_segments_coalesce(void **state)
{
	struct fx *f = *state;
	struct tern_ooo *q = &f->q;
	struct tern_pool *pool = &f->pool;
	struct tern_stream *rx = &f->rx;
	/* In order beyond a hole: one range, packed into as few chunks as the bytes
	 * need (536-byte segments, several per chunk). */
	for (uint32_t i = 0; i < 40; i++) {
		struct tern_ooo_insert r = ins(q, pool, 10000 + i * 536, 536);
		expect_range(r.range, 10000, 10000 + (i + 1) * 536);
		assert_int_equal(tern__ooo_ranges(q), 1);
	}
	assert_int_equal(tern__ooo_chunks(q), (40 * 536 + DATA - 1) / DATA);
	/* Backwards, each segment ending where the range begins. */
	for (uint32_t i = 1; i <= 10; i++) {
		struct tern_ooo_insert r = ins(q, pool, 10000 - i * 100, 100);
		expect_range(r.range, 10000 - i * 100, 10000 + 40 * 536);
		assert_int_equal(tern__ooo_ranges(q), 1);
	}
	/* A second range, then the exact hole between them: one range again. */
	ins(q, pool, 40000, 10);
	assert_int_equal(tern__ooo_ranges(q), 2);
	tern_seq gap = 10000 + 40 * 536;
	struct tern_ooo_insert r = ins(q, pool, gap, 40000 - gap);
	assert_int_equal(r.stored, 40000 - gap);
	assert_int_equal(r.dup, 0);
	expect_range(r.range, 9000, 40010);
	assert_int_equal(tern__ooo_ranges(q), 1);

	assert_int_equal(tern__ooo_deliver(q, pool, 9000, rx), 31010);
	drain(rx, pool, 9000, 31010);
}

static void test_deliver_trims_before_rcv_nxt(void **state)
{
	struct fx *f = *state;
	struct tern_ooo *q = &f->q;
	struct tern_pool *pool = &f->pool;
	struct tern_stream *rx = &f->rx;
	const tern_seq b = 0xffffff00u;
	ins(q, pool, b + 100, 200 + DATA);     /* straddles the wrap */
	ins(q, pool, b + 400 + DATA, 100);
	ins(q, pool, b + 600 + DATA, 100);
	/* rcv_nxt inside the first range: its front is dropped, the rest moves. */
	assert_int_equal(tern__ooo_deliver(q, pool, b + 150, rx), 150 + DATA);
	drain(rx, pool, b + 150, 150 + DATA);
	const tern_seq left[] = { b + 400 + DATA, b + 500 + DATA, b + 600 + DATA, b + 700 + DATA };
	expect_ranges(q, 2, left);
	assert_true(tern__ooo_check(q));
	/* rcv_nxt in a hole: nothing moves, nothing before it is left. */
	assert_int_equal(tern__ooo_deliver(q, pool, b + 350 + DATA, rx), 0);
	expect_ranges(q, 2, left);
	/* rcv_nxt past the whole first range and into the second: the first is
	 * discarded, the tail of the second delivered. */
	assert_int_equal(tern__ooo_deliver(q, pool, b + 650 + DATA, rx), 50);
	drain(rx, pool, b + 650 + DATA, 50);
	assert_true(tern__ooo_empty(q));
	/* rcv_nxt past everything: all discarded. */
	ins(q, pool, 5000, 3 * DATA);
	ins(q, pool, 5000 + 4 * DATA, 10);
	assert_int_equal(tern__ooo_deliver(q, pool, 5000 + 5 * DATA, rx), 0);
	assert_true(tern__ooo_empty(q));
	assert_int_equal(tern__ooo_chunks(q), 0);
	assert_int_equal(tern__ooo_ranges(q), 0);
	assert_true(tern__ooo_check(q));
}

static void test_wraparound(void **state)
{
	struct fx *f = *state;
	struct tern_ooo *q = &f->q;
	struct tern_pool *pool = &f->pool;
	struct tern_stream *rx = &f->rx;
	tern_seq rcv_nxt = 0xfffff000u;
	/* 1000-byte segments from rcv_nxt + 1000 to past 0x2000, one lost. */
	for (uint32_t i = 1; i < 12; i++)
		ins(q, pool, rcv_nxt + i * 1000, 1000);
	const tern_seq one[] = { 0xfffff000u + 1000, 0xfffff000u + 12000 };
	expect_ranges(q, 1, one);
	assert_int_equal(tern__ooo_start(q), 0xfffff3e8u);
	assert_int_equal(tern__ooo_end(q), 0x1ee0u);
	struct tern_ooo_range found;
	assert_true(tern__ooo_find(q, 0, &found));
	expect_range(found, 0xfffff3e8u, 0x1ee0u);
	assert_true(tern__ooo_find(q, 0xffffffffu, &found));
	/* A segment straddling 2^32 exactly, duplicated. */
	struct tern_ooo_insert r = ins(q, pool, 0xffffff00u, 0x200);
	assert_true(r.duplicate);
	expect_range(r.dup_span, 0xffffff00u, 0x100u);
	/* The lost one arrives: everything goes. */
	r = ins(q, pool, rcv_nxt, 1000);
	expect_range(r.range, rcv_nxt, 0x1ee0u);
	assert_int_equal(tern__ooo_deliver(q, pool, rcv_nxt, rx), 12000);
	drain(rx, pool, rcv_nxt, 12000);
}

static void expect_blocks(const struct tern_ooo *q, int n, const tern_seq *want)
{
	struct tern_sack_block b[TERN_OOO_SACKS];
	assert_int_equal(tern__ooo_sack_blocks(q, b, TERN_OOO_SACKS), n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(b[i].start, want[2 * i]);
		assert_int_equal(b[i].end, want[2 * i + 1]);
	}
}

/* The SACK blocks follow Linux's selective_acks step by step. */
static void test_sack_blocks_linux_order(void **state)
{
	struct fx *f = *state;
	struct tern_ooo *q = &f->q;
	struct tern_pool *pool = &f->pool;
	struct tern_stream *rx = &f->rx;
	expect_blocks(q, 0, NULL);
	ins(q, pool, 1000, 100);
	ins(q, pool, 2000, 100);
	ins(q, pool, 3000, 100);
	const tern_seq a[] = { 3000, 3100, 2000, 2100, 1000, 1100 };
	expect_blocks(q, 3, a);
	/* Extending the oldest brings it to the front, the others keep their order. */
	ins(q, pool, 1100, 100);
	const tern_seq b[] = { 1000, 1200, 3000, 3100, 2000, 2100 };
	expect_blocks(q, 3, b);
	/* Four at most: the fifth distinct block pushes the oldest out, though its
	 * bytes are still held. */
	ins(q, pool, 4000, 100);
	ins(q, pool, 5000, 100);
	const tern_seq c[] = { 5000, 5100, 4000, 4100, 1000, 1200, 3000, 3100 };
	expect_blocks(q, 4, c);
	assert_int_equal(tern__ooo_ranges(q), 5);
	/* The caller asks for fewer beside timestamps. */
	struct tern_sack_block three[3];
	assert_int_equal(tern__ooo_sack_blocks(q, three, 3), 3);
	assert_int_equal(three[2].start, 1000);
	/* [1200, 2000) closes a hole: the queue's range runs to 2100, but the block
	 * only grows by the segment (the forgotten [2000, 2100) is not rediscovered). */
	struct tern_ooo_insert r = ins(q, pool, 1200, 800);
	expect_range(r.range, 1000, 2100);
	const tern_seq d[] = { 1000, 2000, 5000, 5100, 4000, 4100, 3000, 3100 };
	expect_blocks(q, 4, d);
	/* [2100, 3000) does not touch [1000, 2000) but touches [3000, 3100), which
	 * grows backwards and comes to the front. */
	ins(q, pool, 2100, 900);
	const tern_seq e[] = { 2100, 3100, 1000, 2000, 5000, 5100, 4000, 4100 };
	expect_blocks(q, 4, e);
	/* A duplicate brings its block to the front too. */
	r = ins(q, pool, 4050, 10);
	assert_true(r.duplicate);
	const tern_seq f2[] = { 4000, 4100, 2100, 3100, 1000, 2000, 5000, 5100 };
	expect_blocks(q, 4, f2);
	/* A segment bridging two blocks makes the front block swallow the other. */
	ins(q, pool, 4100, 900);
	const tern_seq g[] = { 4000, 5100, 2100, 3100, 1000, 2000 };
	expect_blocks(q, 3, g);
	/* rcv_nxt reaches 1000: everything up to 3100 is delivered and its blocks go. */
	assert_int_equal(tern__ooo_deliver(q, pool, 1000, rx), 2100);
	drain(rx, pool, 1000, 2100);
	const tern_seq h[] = { 4000, 5100 };
	expect_blocks(q, 1, h);
	/* A delivery that moves nothing leaves blocks above rcv_nxt alone. */
	ins(q, pool, 7000, 10);
	assert_int_equal(tern__ooo_deliver(q, pool, 3500, rx), 0);
	const tern_seq i[] = { 7000, 7010, 4000, 5100 };
	expect_blocks(q, 2, i);
	/* Pruning forgets every block, as Linux resets its SACK state. */
	assert_int_equal(tern__ooo_prune_tail(q, pool, 1), 10);
	expect_blocks(q, 0, NULL);
	/* Blocks come back with the next segment. */
	ins(q, pool, 6000, 10);
	const tern_seq j[] = { 6000, 6010 };
	expect_blocks(q, 1, j);
	/* Emptying the queue through delivery forgets them all. */
	assert_int_equal(tern__ooo_deliver(q, pool, 9000, rx), 0);
	assert_true(tern__ooo_empty(q));
	expect_blocks(q, 0, NULL);
}

static void test_prune_tail(void **state)
{
	struct fx *f = *state;
	struct tern_ooo *q = &f->q;
	struct tern_pool *pool = &f->pool;
	struct tern_stream *rx = &f->rx;
	ins(q, pool, 1000, 100);              /* 1 chunk */
	ins(q, pool, 2000, 2 * DATA);         /* 2 chunks */
	ins(q, pool, 10000, 2 * DATA + 10);   /* 3 chunks */
	assert_int_equal(tern__ooo_chunks(q), 6);
	assert_int_equal(pool->in_use, 6);
	assert_int_equal(tern__ooo_prune_tail(q, pool, 0), 0);
	/* One chunk: the highest range loses its top 10 bytes. */
	assert_int_equal(tern__ooo_prune_tail(q, pool, 1), 10);
	assert_true(tern__ooo_check(q));
	const tern_seq a[] = { 1000, 1100, 2000, 2000 + 2 * DATA, 10000, 10000 + 2 * DATA };
	expect_ranges(q, 3, a);
	assert_int_equal(pool->in_use, 5);
	/* Two more: the highest range goes entirely. */
	assert_int_equal(tern__ooo_prune_tail(q, pool, 2), 2 * DATA);
	expect_ranges(q, 2, a);
	assert_int_equal(tern__ooo_end(q), 2000 + 2 * DATA);
	/* Inserting after a prune continues from the new tail correctly. */
	struct tern_ooo_insert r = ins(q, pool, 2000 + 2 * DATA, 5);
	expect_range(r.range, 2000, 2005 + 2 * DATA);
	/* The survivors are intact. */
	assert_int_equal(tern__ooo_prune_tail(q, pool, 2), DATA + 5);
	assert_int_equal(tern__ooo_deliver(q, pool, 1000, rx), 100);
	drain(rx, pool, 1000, 100);
	assert_int_equal(tern__ooo_deliver(q, pool, 2000, rx), DATA);
	drain(rx, pool, 2000, DATA);
	/* Asking for more than is held empties the queue. */
	ins(q, pool, 9000, 10);
	ins(q, pool, 9100, 10);
	assert_int_equal(tern__ooo_prune_tail(q, pool, 100), 20);
	assert_true(tern__ooo_empty(q));
	assert_int_equal(tern__ooo_prune_tail(q, pool, 1), 0);
}

static void test_pool_refuses_mid_insert(void **state)
{
	struct fx *f = *state;
	struct tern_ooo *q = &f->q;
	struct tern_pool *pool = &f->pool;
	struct tern_stream *rx = &f->rx;
	tern__chunk_pool_init(pool, 3); /* empty still: only the ceiling changes */
	ins(q, pool, 10000, 100);
	ins(q, pool, 20000, 100);
	/* [9000, 30000): the hole before 10000 takes the third chunk, the hole after
	 * it fills that range's free room, and then the pool says no. */
	struct tern_sack_block b[TERN_OOO_SACKS];
	struct tern_ooo_insert r = ins(q, pool, 9000, 21000);
	/* Cut short: the SACK blocks do not claim it. */
	assert_int_equal(tern__ooo_sack_blocks(q, b, TERN_OOO_SACKS), 2);
	assert_int_equal(b[0].start, 20000);
	assert_int_equal(b[1].start, 10000);
	assert_int_equal(b[1].end, 10100);
	assert_int_equal(r.stored, 1000 + (DATA - 100));
	assert_int_equal(r.dup, 200);
	assert_int_equal(r.refused, 21000 - 200 - r.stored);
	assert_true(r.has_range);
	expect_range(r.range, 9000, 10000 + DATA);
	expect_range(r.dup_span, 10000, 20100);
	assert_int_equal(pool->in_use, 3);
	const tern_seq two[] = { 9000, 10000 + DATA, 20000, 20100 };
	expect_ranges(q, 2, two);

	/* A segment whose first byte cannot be stored and whose rest is held: the
	 * range reported is the held one. */
	r = ins(q, pool, 19000, 1050);
	assert_int_equal(r.stored, 0);
	assert_int_equal(r.refused, 1000);
	assert_int_equal(r.dup, 50);
	assert_true(r.has_range);
	expect_range(r.range, 20000, 20100);
	/* Nothing of it held at all: no range. */
	r = ins(q, pool, 50000, 10);
	assert_int_equal(r.refused, 10);
	assert_false(r.has_range);
	assert_false(r.duplicate);

	/* Delivering frees memory; the refused segment, sent again, now fits. */
	assert_int_equal(tern__ooo_deliver(q, pool, 9000, rx), 1000 + DATA);
	drain(rx, pool, 9000, 1000 + DATA);
	assert_int_equal(pool->in_use, 1);
	r = ins(q, pool, 19000, 1050);
	assert_int_equal(r.stored, 1000);
	assert_int_equal(r.refused, 0);
	expect_range(r.range, 19000, 20100);
	assert_int_equal(tern__ooo_sack_blocks(q, b, TERN_OOO_SACKS), 1);
	assert_int_equal(b[0].start, 19000);
	assert_int_equal(b[0].end, 20100);
	assert_int_equal(tern__ooo_deliver(q, pool, 19000, rx), 1100);
	drain(rx, pool, 19000, 1100);
}

/* ---------------------------------------------------------------- random runs */

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static uint32_t rng_below(uint64_t *x, uint32_t n)
{
	return (uint32_t)(rng_next(x) % n);
}

#define MAP_BITS 19
#define MAP_MASK ((1u << MAP_BITS) - 1)

/* Random segments around a window past rcv_nxt, checked byte by byte against a
 * map of which sequence numbers are held: far from and across the wrap, with a
 * window wider than a chunk list walk would like, and with a pool ceiling that
 * makes inserts come up short (max_chunks 0: no ceiling). */
struct run_params {
	uint64_t seed;
	uint32_t window;
	size_t max_chunks;
};

static const struct run_params narrow = { 0x243f6a8885a308d3ull, 64 * 1024, 0 };
static const struct run_params wide = { 0x13198a2e03707344ull, 256 * 1024, 0 };
static const struct run_params tight = { 0xa4093822299f31d0ull, 64 * 1024, 24 };

static void test_random_against_byte_map(void **state)
{
	const struct run_params *p = *state;
	const uint32_t window = p->window;
	const size_t max_chunks = p->max_chunks;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, max_chunks);
	struct tern_ooo q;
	struct tern_stream rx;
	tern__ooo_init(&q);
	tern__stream_init(&rx);
	uint8_t *held = calloc(1u << MAP_BITS, 1);
	uint64_t x = p->seed;
	tern_seq rcv_nxt = 0xfff80000u; /* crosses 2^32 during the run */
	const uint32_t back = 600;      /* how far before rcv_nxt segments may start */
	uint64_t total_moved = 0, total_refused = 0, total_dup = 0, prunes = 0;

	for (int op = 0; op < 20000; op++) {
		uint32_t kind = rng_below(&x, 100);
		if (kind < 80) {
			uint32_t len = rng_below(&x, 4) == 0 ? 1 + rng_below(&x, 40) : 1 + rng_below(&x, 3000);
			tern_seq seq = rcv_nxt - back + rng_below(&x, window + back);
			uint32_t old = 0;
			for (uint32_t i = 0; i < len; i++)
				old += held[(seq + i) & MAP_MASK];
			struct tern_ooo_insert r = ins(&q, &pool, seq, len);
			assert_int_equal(r.dup, old);
			assert_int_equal(r.stored + r.dup + r.refused, len);
			assert_true(r.duplicate == (old == len));
			if (r.refused)
				assert_true(max_chunks && pool.in_use == max_chunks);
			/* The first r.stored new bytes, in order, are now held. */
			uint32_t left = r.stored;
			tern_seq lowest = 0, first_dup = 0, last_dup = 0;
			bool any = false, any_dup = false;
			for (uint32_t i = 0; i < len; i++) {
				uint8_t *h = &held[(seq + i) & MAP_MASK];
				if (*h) {
					if (!any_dup)
						first_dup = seq + i;
					last_dup = seq + i + 1;
					any_dup = true;
				} else if (left) {
					*h = 1;
					left--;
				}
				if (*h && !any) {
					lowest = seq + i;
					any = true;
				}
			}
			assert_true(r.has_range == any);
			if (any) {
				/* The reported range is the run around the lowest held byte. */
				tern_seq s = lowest, e = lowest;
				while (held[(s - 1) & MAP_MASK])
					s--;
				while (held[e & MAP_MASK])
					e++;
				expect_range(r.range, s, e);
			}
			if (any_dup)
				expect_range(r.dup_span, first_dup, last_dup);
			/* A segment held in full heads the SACK blocks. */
			struct tern_sack_block blocks[TERN_OOO_SACKS];
			int nb = tern__ooo_sack_blocks(&q, blocks, TERN_OOO_SACKS);
			if (r.refused == 0) {
				assert_true(nb >= 1);
				assert_true(seq_leq(blocks[0].start, seq) && seq_leq(seq + len, blocks[0].end));
			}
			total_refused += r.refused;
			total_dup += r.dup;
		} else if (kind < 96) {
			/* The engine delivers, sometimes after advancing rcv_nxt by data it
			 * took in order itself (bytes it held become stale and are dropped). */
			tern_seq from = rcv_nxt;
			if (rng_below(&x, 4) == 0)
				rcv_nxt += rng_below(&x, 400);
			uint32_t want = 0;
			while (held[(rcv_nxt + want) & MAP_MASK])
				want++;
			size_t moved = tern__ooo_deliver(&q, &pool, rcv_nxt, &rx);
			assert_int_equal(moved, want);
			drain(&rx, &pool, rcv_nxt, want);
			for (tern_seq s = from - back; s != rcv_nxt + want; s++)
				held[s & MAP_MASK] = 0;
			rcv_nxt += want;
			total_moved += want;
			/* Nothing at or before rcv_nxt is left, nor reported. */
			if (!tern__ooo_empty(&q))
				assert_true(seq_gt(tern__ooo_start(&q), rcv_nxt));
			struct tern_sack_block blocks[TERN_OOO_SACKS];
			int nb = tern__ooo_sack_blocks(&q, blocks, TERN_OOO_SACKS);
			for (int i = 0; i < nb; i++)
				assert_true(seq_gt(blocks[i].start, rcv_nxt));
			if (tern__ooo_empty(&q))
				assert_int_equal(nb, 0);
		} else if (kind < 98) {
			/* Memory pressure: free some chunks from the top. */
			size_t want = 1 + rng_below(&x, 4);
			size_t before = tern__ooo_bytes(&q), nch = tern__ooo_chunks(&q);
			size_t dropped = tern__ooo_prune_tail(&q, &pool, want);
			assert_true(tern__ooo_check(&q));
			assert_int_equal(tern__ooo_bytes(&q), before - dropped);
			assert_int_equal(tern__ooo_chunks(&q), nch > want ? nch - want : 0);
			/* Everything below the new top survives; everything above is gone. */
			tern_seq top = tern__ooo_empty(&q) ? rcv_nxt - back : tern__ooo_end(&q);
			size_t above = 0;
			for (tern_seq s = top; s != rcv_nxt + window + 3000; s++) {
				above += held[s & MAP_MASK];
				held[s & MAP_MASK] = 0;
			}
			assert_int_equal(above, dropped);
			prunes++;
		} else {
			/* Compare the full range listing with the map. */
			static struct tern_ooo_range got[8192];
			size_t n = tern__ooo_list(&q, got, 8192);
			assert_int_equal(n, tern__ooo_ranges(&q));
			size_t k = 0, bytes = 0;
			for (tern_seq s = rcv_nxt - back; s != rcv_nxt + window + 3000; s++) {
				if (!held[s & MAP_MASK])
					continue;
				bytes++;
				if (held[(s - 1) & MAP_MASK])
					continue;
				tern_seq e = s;
				while (held[e & MAP_MASK])
					e++;
				assert_true(k < n);
				expect_range(got[k], s, e);
				k++;
			}
			assert_int_equal(k, n);
			assert_int_equal(bytes, tern__ooo_bytes(&q));
		}
		assert_int_equal(pool.in_use, tern__ooo_chunks(&q));
	}
	assert_true(total_moved > 0x80000u);
	assert_true(total_dup > 0);
	assert_true(prunes > 0);
	if (max_chunks)
		assert_true(total_refused > 0);
	assert_true(seq_lt(0xfff80000u, rcv_nxt) && rcv_nxt < 0xfff80000u); /* wrapped */
	tern__ooo_clear(&q, &pool);
	tern__stream_clear(&rx, &pool);
	assert_int_equal(pool.in_use, 0);
	free(held);
	tern__pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq_helpers),
		cmocka_unit_test_setup_teardown(test_basic_insert_deliver, fx_setup, fx_teardown),
		cmocka_unit_test(test_fill_holes_in_every_order),
		cmocka_unit_test_setup_teardown(test_duplicates_and_overlaps, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_segment_spanning_ranges, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_adjacent_segments_coalesce, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_deliver_trims_before_rcv_nxt, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_wraparound, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sack_blocks_linux_order, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_prune_tail, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pool_refuses_mid_insert, fx_setup, fx_teardown),
		cmocka_unit_test_prestate(test_random_against_byte_map, (void *)&narrow),
		cmocka_unit_test_prestate(test_random_against_byte_map, (void *)&wide),
		cmocka_unit_test_prestate(test_random_against_byte_map, (void *)&tight),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
