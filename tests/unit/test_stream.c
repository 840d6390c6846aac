/*
 * tests/unit/test_stream.c: the chunked byte stream (tcp/stream.c) behind the send
 * and receive queues: append, peek and consume across chunk boundaries at every
 * alignment, the cursor that keeps consecutive peeks cheap (counted in chunk hops),
 * the pool's ceiling giving short appends without corruption, zeros, chunks handed
 * over whole, every short copy length, and a long random run checked against a
 * flat buffer. Every test ends with the chunk pool's in_use back at 0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/pool.h"
#include "tcp/stream.h"

#define DATA ((size_t)TERN_CHUNK_DATA)

/* The byte at absolute stream position i: varies within and across chunks. */
static uint8_t pat(uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13 ^ i);
}

static void fill(uint8_t *buf, uint64_t from, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(from + i);
}

/* Appends the pattern's bytes [from, from + len) and returns how many went in. */
static size_t append_pat(struct tern_stream *s, struct tern_pool *pool, uint64_t from, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	fill(buf, from, len);
	size_t n = tern__stream_append(s, pool, buf, len);
	free(buf);
	return n;
}

/* Asserts that bytes [off, off + len) of the stream are the pattern from `from`. */
static void expect_pat(struct tern_stream *s, size_t off, uint64_t from, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	assert_int_equal(tern__stream_peek(s, off, buf, len), len);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pat(from + i))
			fail_msg("byte %zu of peek(%zu, %zu) is %u, want %u", i, off, len, buf[i], pat(from + i));
	free(buf);
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

static size_t chunks_for(size_t bytes)
{
	return (bytes + DATA - 1) / DATA;
}

static void test_chunk_geometry(void **state)
{
	(void)state;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, 0);
	assert_int_equal(pool.obj_size, TERN_CHUNK_BYTES); /* no padding added */
	assert_int_equal(TERN_CHUNK_BYTES, 2048);
	assert_true(DATA >= 2000 && DATA + offsetof(struct tern_chunk, data) == TERN_CHUNK_BYTES);
	if (sizeof(void *) == 8)
		assert_int_equal(DATA, 2028);
	tern__pool_destroy(&pool);
}

static void test_empty(void **state)
{
	(void)state;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, 0);
	struct tern_stream s;
	tern__stream_init(&s);
	uint8_t b[4] = { 9, 9, 9, 9 };
	const uint8_t *p = b;
	assert_int_equal(tern__stream_len(&s), 0);
	assert_int_equal(tern__stream_chunks(&s), 0);
	assert_int_equal(tern__stream_peek(&s, 0, b, 4), 0);
	assert_int_equal(b[0], 9);
	assert_int_equal(tern__stream_span(&s, 0, &p), 0);
	assert_null(p);
	assert_int_equal(tern__stream_consume(&s, &pool, 10), 0);
	assert_int_equal(tern__stream_append(&s, &pool, b, 0), 0);
	assert_int_equal(tern__stream_append_zeros(&s, &pool, 0), 0);
	assert_int_equal(pool.in_use, 0); /* an empty stream holds nothing */
	assert_int_equal(tern__pool_footprint(&pool), 0);
	assert_true(tern__stream_check(&s));
	tern__stream_clear(&s, &pool);
	tern__pool_destroy(&pool);
}

/* The offsets where things go wrong: every chunk boundary and its neighbours. */
static size_t boundary_offsets(size_t total, size_t *out)
{
	size_t n = 0;
	for (size_t k = 0; k * DATA <= total + 2; k++)
		for (int d = -2; d <= 2; d++) {
			long long o = (long long)(k * DATA) + d;
			if (o >= 0 && (size_t)o <= total)
				out[n++] = (size_t)o;
		}
	return n;
}

static void test_append_peek_every_alignment(void **state)
{
	(void)state;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, 0);
	/* Append pieces of awkward sizes so that piece edges fall everywhere. */
	const size_t pieces[] = { 1, 2, DATA - 3, DATA, 1, DATA + 1, 7, 2 * DATA - 1, 3, DATA - 1 };
	struct tern_stream s;
	tern__stream_init(&s);
	size_t total = 0;
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		assert_int_equal(append_pat(&s, &pool, total, pieces[i]), pieces[i]);
		total += pieces[i];
		assert_int_equal(tern__stream_len(&s), total);
		/* Appends fill each chunk before taking the next. */
		assert_int_equal(tern__stream_chunks(&s), chunks_for(total));
		assert_true(tern__stream_check(&s));
	}
	size_t offs[128];
	size_t noff = boundary_offsets(total, offs);
	const size_t lens[] = { 1, 2, 3, DATA - 1, DATA, DATA + 1, 2 * DATA + 3, total };
	for (size_t i = 0; i < noff; i++)
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			size_t want = offs[i] + lens[j] <= total ? lens[j] : total - offs[i];
			expect_pat(&s, offs[i], offs[i], want);
		}
	/* Single bytes at every offset, forwards then backwards. */
	for (size_t off = 0; off < total; off++)
		expect_pat(&s, off, off, 1);
	for (size_t off = total; off-- > 0;)
		expect_pat(&s, off, off, 1);
	/* Past the end: nothing, and a request running over the end is cut short. */
	uint8_t b[8];
	assert_int_equal(tern__stream_peek(&s, total, b, 8), 0);
	assert_int_equal(tern__stream_peek(&s, total + 100, b, 8), 0);
	assert_int_equal(tern__stream_peek(&s, total - 3, b, 8), 3);
	tern__stream_clear(&s, &pool);
	assert_int_equal(pool.in_use, 0);
	tern__pool_destroy(&pool);
}

static void test_consume_every_alignment(void **state)
{
	(void)state;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, 0);
	const size_t total = 4 * DATA + 100;
	size_t offs[128];
	size_t noff = boundary_offsets(total, offs);
	for (size_t i = 0; i < noff; i++) {
		for (size_t j = 0; j < noff; j++) {
			/* Consume offs[i], then offs[j] more, checking what is left. */
			struct tern_stream s;
			tern__stream_init(&s);
			assert_int_equal(append_pat(&s, &pool, 0, total), total);
			size_t a = offs[i];
			assert_int_equal(tern__stream_consume(&s, &pool, a), a);
			size_t left = total - a;
			assert_int_equal(tern__stream_len(&s), left);
			/* Emptied chunks go back at once. */
			assert_int_equal(tern__stream_chunks(&s), chunks_for(total) - a / DATA - (left == 0 && total % DATA != 0));
			assert_int_equal(pool.in_use, tern__stream_chunks(&s));
			assert_true(tern__stream_check(&s));
			size_t b = min_sz(offs[j], left);
			assert_int_equal(tern__stream_consume(&s, &pool, offs[j]), b);
			left -= b;
			if (left)
				expect_pat(&s, 0, a + b, left);
			else
				assert_int_equal(pool.in_use, 0);
			/* Appending after consumption continues the same stream. */
			assert_int_equal(append_pat(&s, &pool, a + b + left, 50), 50);
			expect_pat(&s, 0, a + b, left + 50);
			assert_true(tern__stream_check(&s));
			tern__stream_clear(&s, &pool);
			assert_int_equal(pool.in_use, 0);
		}
	}
	tern__pool_destroy(&pool);
}

static void test_small_appends_pack(void **state)
{
	(void)state;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, 0);
	struct tern_stream s;
	tern__stream_init(&s);
	size_t total = 0;
	for (int i = 0; i < 3000; i++) {
		size_t n = (size_t)(i % 5) + 1;
		assert_int_equal(append_pat(&s, &pool, total, n), n);
		total += n;
	}
	assert_int_equal(tern__stream_chunks(&s), chunks_for(total));
	expect_pat(&s, 0, 0, total);
	/* Reading in small bites returns chunks as they empty. */
	uint8_t buf[37];
	size_t done = 0;
	while (done < total) {
		size_t n = tern__stream_read(&s, &pool, buf, sizeof(buf));
		assert_true(n > 0);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(buf[i], pat(done + i));
		done += n;
		assert_int_equal(pool.in_use, tern__stream_chunks(&s));
		assert_true(tern__stream_chunks(&s) <= chunks_for(total - done) + 1);
	}
	assert_int_equal(tern__stream_len(&s), 0);
	assert_int_equal(pool.in_use, 0);
	tern__stream_clear(&s, &pool);
	tern__pool_destroy(&pool);
}

/* Every short length (stream.c copies up to 16 bytes with fixed-width moves,
 * in four size classes): appended and peeked whole, at offsets that put the copy
 * inside a chunk and across a chunk boundary, and the peek writes exactly `len`
 * bytes: the guard bytes on both sides of the destination stay as they were. */
static void test_short_copies_every_length(void **state)
{
	(void)state;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, 0);
	for (size_t len = 0; len <= 20; len++) {
		struct tern_stream s;
		tern__stream_init(&s);
		/* Fill to just short of a chunk's end, then the short write. */
		size_t lead = DATA - len / 2;
		assert_int_equal(append_pat(&s, &pool, 0, lead), lead);
		assert_int_equal(append_pat(&s, &pool, lead, len), len);
		expect_pat(&s, 0, 0, lead + len);
		size_t offs[] = { 0, 3, lead > 7 ? lead - 7 : 0, lead };
		for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
			uint8_t buf[40];
			memset(buf, 0xa5, sizeof(buf));
			assert_int_equal(tern__stream_peek(&s, offs[k], buf + 8, len), len);
			for (size_t i = 0; i < 8; i++)
				assert_int_equal(buf[i], 0xa5);
			for (size_t i = 0; i < len; i++)
				assert_int_equal(buf[8 + i], pat(offs[k] + i));
			for (size_t i = 8 + len; i < sizeof(buf); i++)
				assert_int_equal(buf[i], 0xa5);
		}
		tern__stream_clear(&s, &pool);
	}
	assert_int_equal(pool.in_use, 0);
	tern__pool_destroy(&pool);
}

static void test_cursor_makes_sequential_peeks_cheap(void **state)
{
	(void)state;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, 0);
	struct tern_stream s;
	tern__stream_init(&s);
	const size_t total = 1u << 20, mss = 1448;
	assert_int_equal(append_pat(&s, &pool, 0, total), total);
	size_t nchunks = tern__stream_chunks(&s);
	uint8_t seg[1448];

	/* Building every segment of a 1 MiB queue: one hop per chunk in all, where a
	 * walk from the front each time would take about nchunks^2 / 2 hops. */
	s.hops = 0;
	for (size_t off = 0; off < total; off += mss) {
		size_t n = tern__stream_peek(&s, off, seg, mss);
		assert_int_equal(n, min_sz(mss, total - off));
		for (size_t i = 0; i < n; i++)
			assert_int_equal(seg[i], pat(off + i));
	}
	assert_true(s.hops <= nchunks);
	assert_true(s.hops >= nchunks - 1);

	/* A retransmission from the front walks again, once. */
	s.hops = 0;
	expect_pat(&s, 0, 0, mss);
	assert_true(s.hops <= 1);
	size_t next = mss;
	for (; next < total / 2; next += mss)
		expect_pat(&s, next, next, mss);
	assert_true(s.hops <= chunks_for(next) + 1);

	/* Acknowledgments consume at the front while sending continues ahead: the
	 * cursor survives the front moving (it is never on a freed chunk). */
	size_t acked = 0, from = next;
	s.hops = 0;
	while (next < total) {
		size_t n = min_sz(mss, total - next);
		expect_pat(&s, next - acked, next, n);
		next += n;
		size_t ack = min_sz(3 * mss / 2, next - acked);
		assert_int_equal(tern__stream_consume(&s, &pool, ack), ack);
		acked += ack;
		assert_true(tern__stream_check(&s));
	}
	assert_true(s.hops <= chunks_for(total - from) + 2);

	/* Consuming past the cursor's chunk forgets the cursor, and lookups stay right. */
	tern__stream_clear(&s, &pool);
	assert_int_equal(append_pat(&s, &pool, 0, 6 * DATA), 6 * DATA);
	expect_pat(&s, 3 * DATA + 5, 3 * DATA + 5, 10);
	assert_ptr_not_equal(s.cur, NULL);
	assert_int_equal(tern__stream_consume(&s, &pool, 4 * DATA), 4 * DATA);
	assert_null(s.cur);
	assert_true(tern__stream_check(&s));
	expect_pat(&s, 0, 4 * DATA, 2 * DATA);
	/* A cursor on the first chunk follows a partial consume of it. */
	expect_pat(&s, 10, 4 * DATA + 10, 5);
	assert_int_equal(tern__stream_consume(&s, &pool, 7), 7);
	assert_true(tern__stream_check(&s));
	expect_pat(&s, 3, 4 * DATA + 10, 5);
	expect_pat(&s, DATA, 5 * DATA + 7, DATA - 7);

	tern__stream_clear(&s, &pool);
	assert_int_equal(pool.in_use, 0);
	tern__pool_destroy(&pool);
}

static void test_span(void **state)
{
	(void)state;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, 0);
	struct tern_stream s;
	tern__stream_init(&s);
	const size_t total = 3 * DATA + 11;
	assert_int_equal(append_pat(&s, &pool, 0, total), total);
	assert_int_equal(tern__stream_consume(&s, &pool, 5), 5);
	/* Walking by spans visits every byte once, each span ending at a chunk end. */
	size_t off = 0, spans = 0;
	while (off < total - 5) {
		const uint8_t *p;
		size_t n = tern__stream_span(&s, off, &p);
		assert_true(n > 0);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(p[i], pat(5 + off + i));
		off += n;
		spans++;
	}
	assert_int_equal(off, total - 5);
	assert_int_equal(spans, chunks_for(total));
	const uint8_t *p;
	assert_int_equal(tern__stream_span(&s, 1, &p), DATA - 6);
	assert_int_equal(*p, pat(6));
	assert_int_equal(tern__stream_span(&s, total - 5, &p), 0);
	assert_null(p);
	tern__stream_clear(&s, &pool);
	assert_int_equal(pool.in_use, 0);
	tern__pool_destroy(&pool);
}

static void test_ceiling_gives_short_appends(void **state)
{
	(void)state;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, 3);
	struct tern_stream s;
	tern__stream_init(&s);
	/* 10 000 bytes want 5 chunks; 3 fit. What went in is exactly the first bytes. */
	assert_int_equal(append_pat(&s, &pool, 0, 10000), 3 * DATA);
	assert_int_equal(tern__stream_len(&s), 3 * DATA);
	assert_int_equal(pool.in_use, 3);
	assert_true(pool.failures >= 1);
	expect_pat(&s, 0, 0, 3 * DATA);
	assert_true(tern__stream_check(&s));
	/* Full: nothing more, zeros included, and nothing changes. */
	assert_int_equal(append_pat(&s, &pool, 3 * DATA, 1), 0);
	assert_int_equal(tern__stream_append_zeros(&s, &pool, 100), 0);
	assert_int_equal(tern__stream_len(&s), 3 * DATA);
	/* Freeing one chunk lets the rest in, continuing where it stopped. */
	assert_int_equal(tern__stream_consume(&s, &pool, DATA + 1), DATA + 1);
	assert_int_equal(pool.in_use, 2);
	assert_int_equal(append_pat(&s, &pool, 3 * DATA, 10000), DATA);
	expect_pat(&s, 0, DATA + 1, 3 * DATA - 1);
	assert_true(tern__stream_check(&s));

	/* A second stream on the same pool gets nothing while the first holds it all. */
	struct tern_stream t;
	tern__stream_init(&t);
	assert_int_equal(append_pat(&t, &pool, 0, 5), 0);
	assert_int_equal(tern__stream_chunks(&t), 0);
	tern__stream_clear(&s, &pool);
	assert_int_equal(append_pat(&t, &pool, 0, 5), 5);
	tern__stream_clear(&t, &pool);
	assert_int_equal(pool.in_use, 0);
	tern__pool_destroy(&pool);
}

static void test_zeros(void **state)
{
	(void)state;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, 0);
	struct tern_stream s;
	tern__stream_init(&s);
	assert_int_equal(append_pat(&s, &pool, 0, 10), 10);
	assert_int_equal(tern__stream_append_zeros(&s, &pool, 2 * DATA + 3), 2 * DATA + 3);
	assert_int_equal(append_pat(&s, &pool, 99, 4), 4);
	assert_int_equal(tern__stream_len(&s), 2 * DATA + 17);
	assert_int_equal(tern__stream_chunks(&s), 3);
	expect_pat(&s, 0, 0, 10);
	uint8_t *buf = malloc(2 * DATA + 3);
	assert_int_equal(tern__stream_peek(&s, 10, buf, 2 * DATA + 3), 2 * DATA + 3);
	for (size_t i = 0; i < 2 * DATA + 3; i++)
		assert_int_equal(buf[i], 0);
	expect_pat(&s, 2 * DATA + 13, 99, 4);
	tern__stream_clear(&s, &pool);
	free(buf);

	/* Chunks come back dirty from the pool; zeros must overwrite them. */
	assert_int_equal(append_pat(&s, &pool, 0, 3 * DATA), 3 * DATA);
	tern__stream_clear(&s, &pool);
	assert_int_equal(tern__stream_append_zeros(&s, &pool, 3 * DATA), 3 * DATA);
	const uint8_t *p;
	for (size_t off = 0; off < 3 * DATA;) {
		size_t n = tern__stream_span(&s, off, &p);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(p[i], 0);
		off += n;
	}
	tern__stream_clear(&s, &pool);
	assert_int_equal(pool.in_use, 0);
	tern__pool_destroy(&pool);
}

static struct tern_chunk *make_chunk(struct tern_pool *pool, uint16_t lo, uint16_t hi, uint64_t from)
{
	struct tern_chunk *c = tern__pool_get(pool);
	assert_non_null(c);
	memset(c->data, 0xee, DATA);
	c->lo = lo;
	c->hi = hi;
	fill(c->data + lo, from, (size_t)(hi - lo));
	return c;
}

static void test_put_chunk(void **state)
{
	(void)state;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, 0);
	struct tern_stream s;
	tern__stream_init(&s);
	/* Into an empty stream: linked as it is, offsets and all. */
	tern__stream_put_chunk(&s, &pool, make_chunk(&pool, 100, 300, 0));
	assert_int_equal(tern__stream_len(&s), 200);
	assert_int_equal(tern__stream_chunks(&s), 1);
	/* A small one fits the last chunk's room: copied, and the chunk goes back. */
	tern__stream_put_chunk(&s, &pool, make_chunk(&pool, 5, 55, 200));
	assert_int_equal(tern__stream_chunks(&s), 1);
	assert_int_equal(pool.in_use, 1);
	/* A big one does not fit: linked whole. */
	tern__stream_put_chunk(&s, &pool, make_chunk(&pool, 1, (uint16_t)DATA, 250));
	assert_int_equal(tern__stream_chunks(&s), 2);
	assert_int_equal(pool.in_use, 2);
	/* An empty one is just returned. */
	tern__stream_put_chunk(&s, &pool, make_chunk(&pool, 7, 7, 0));
	assert_int_equal(pool.in_use, 2);
	size_t total = 250 + DATA - 1;
	assert_int_equal(tern__stream_len(&s), total);
	assert_true(tern__stream_check(&s));
	expect_pat(&s, 0, 0, total);
	/* Appends continue after a linked chunk that is full: a new chunk. */
	assert_int_equal(append_pat(&s, &pool, total, 10), 10);
	assert_int_equal(tern__stream_chunks(&s), 3);
	expect_pat(&s, 0, 0, total + 10);
	for (size_t off = 0; off <= total + 10; off++)
		expect_pat(&s, off, off, total + 10 - off);
	tern__stream_clear(&s, &pool);
	assert_int_equal(pool.in_use, 0);
	tern__pool_destroy(&pool);
}

static void test_clear_returns_everything(void **state)
{
	(void)state;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, 0);
	struct tern_stream a, b;
	tern__stream_init(&a);
	tern__stream_init(&b);
	assert_int_equal(append_pat(&a, &pool, 0, 50 * DATA + 1), 50 * DATA + 1);
	assert_int_equal(append_pat(&b, &pool, 7, 3), 3);
	assert_int_equal(pool.in_use, 52);
	size_t footprint = tern__pool_footprint(&pool);
	tern__stream_clear(&a, &pool);
	assert_int_equal(pool.in_use, 1);
	assert_int_equal(tern__stream_len(&a), 0);
	assert_int_equal(tern__stream_chunks(&a), 0);
	assert_true(tern__stream_check(&a));
	expect_pat(&b, 0, 7, 3); /* the other stream is untouched */
	/* The stream is reusable, and the pool reuses its objects. */
	assert_int_equal(append_pat(&a, &pool, 0, 40 * DATA), 40 * DATA);
	expect_pat(&a, 0, 0, 40 * DATA);
	assert_int_equal(tern__pool_footprint(&pool), footprint);
	tern__stream_clear(&a, &pool);
	tern__stream_clear(&b, &pool);
	tern__stream_clear(&b, &pool); /* twice is harmless */
	assert_int_equal(pool.in_use, 0);
	tern__pool_destroy(&pool);
}

/* A small xorshift generator with a fixed seed: the run is the same every time. */
static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static size_t rng_below(uint64_t *x, size_t n)
{
	return (size_t)(rng_next(x) % n);
}

static void test_random_against_flat_buffer(void **state)
{
	(void)state;
	struct tern_pool pool;
	tern__chunk_pool_init(&pool, 40); /* tight enough that appends get cut short */
	struct tern_stream s;
	tern__stream_init(&s);
	const size_t cap = 1u << 17;
	uint8_t *ref = malloc(cap), *buf = malloc(cap), *src = malloc(cap);
	size_t ref_len = 0;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint64_t appended = 0, short_appends = 0;
	for (int op = 0; op < 60000; op++) {
		size_t kind = rng_below(&x, 10);
		if (kind < 4) {
			/* Append data or zeros; the ceiling may cut it. */
			size_t n = rng_below(&x, 4) == 0 ? rng_below(&x, 3 * DATA) : rng_below(&x, 1500);
			bool zeros = rng_below(&x, 8) == 0;
			for (size_t i = 0; i < n; i++)
				src[i] = zeros ? 0 : (uint8_t)rng_next(&x);
			size_t got = zeros ? tern__stream_append_zeros(&s, &pool, n)
					   : tern__stream_append(&s, &pool, src, n);
			assert_true(got <= n);
			if (got < n) {
				short_appends++;
				/* Short only because the pool is at its ceiling. */
				assert_int_equal(pool.in_use, 40);
			}
			memcpy(ref + ref_len, src, got);
			ref_len += got;
			appended += got;
		} else if (kind < 7) {
			/* Peek somewhere, often just after the previous peek. */
			size_t off = ref_len ? rng_below(&x, ref_len + 10) : 0;
			size_t n = rng_below(&x, 2 * DATA);
			size_t got = tern__stream_peek(&s, off, buf, n);
			size_t want = off >= ref_len ? 0 : min_sz(n, ref_len - off);
			assert_int_equal(got, want);
			assert_memory_equal(buf, ref + (off < ref_len ? off : 0), got);
		} else if (kind < 9) {
			size_t n = rng_below(&x, 3 * DATA);
			size_t want = min_sz(n, ref_len);
			if (rng_below(&x, 2)) {
				assert_int_equal(tern__stream_consume(&s, &pool, n), want);
			} else {
				assert_int_equal(tern__stream_read(&s, &pool, buf, n), want);
				assert_memory_equal(buf, ref, want);
			}
			memmove(ref, ref + want, ref_len - want);
			ref_len -= want;
		} else {
			size_t off = ref_len ? rng_below(&x, ref_len) : 0;
			const uint8_t *p;
			size_t n = tern__stream_span(&s, off, &p);
			if (ref_len) {
				assert_true(n >= 1 && n <= ref_len - off && n <= DATA);
				assert_memory_equal(p, ref + off, n);
			} else {
				assert_int_equal(n, 0);
			}
		}
		assert_int_equal(tern__stream_len(&s), ref_len);
		assert_int_equal(pool.in_use, tern__stream_chunks(&s));
		/* Chunks are packed: at most one more than the bytes need, plus the
		 * partly consumed first chunk. */
		assert_true(tern__stream_chunks(&s) <= chunks_for(ref_len) + 1);
		assert_true(tern__stream_check(&s));
	}
	assert_true(short_appends > 100); /* the ceiling was really hit */
	assert_true(appended > 10u * 1000 * 1000);
	/* Everything left reads back in one go. */
	assert_int_equal(tern__stream_peek(&s, 0, buf, cap), ref_len);
	assert_memory_equal(buf, ref, ref_len);
	tern__stream_clear(&s, &pool);
	assert_int_equal(pool.in_use, 0);
	free(ref);
	free(buf);
	free(src);
	tern__pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunk_geometry),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_append_peek_every_alignment),
		cmocka_unit_test(test_consume_every_alignment),
		cmocka_unit_test(test_small_appends_pack),
		cmocka_unit_test(test_short_copies_every_length),
		cmocka_unit_test(test_cursor_makes_sequential_peeks_cheap),
		cmocka_unit_test(test_span),
		cmocka_unit_test(test_ceiling_gives_short_appends),
		cmocka_unit_test(test_zeros),
		cmocka_unit_test(test_put_chunk),
		cmocka_unit_test(test_clear_returns_everything),
		cmocka_unit_test(test_random_against_flat_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
