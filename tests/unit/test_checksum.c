/*
 * test_checksum.c: the Internet checksum (RFC 1071) and the IPv4 pseudo-header
 * (RFC 9293 §3.1), against hand-computed values and against a plain byte-by-byte
 * reference on random buffers of every length from 0 to 1500, at every alignment
 * and split into chunks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tern/wire.h"

/* xorshift64: a fixed-seed generator owned by each test. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* The reference: big-endian 16-bit words one at a time, odd byte padded with a
 * zero low half, end-around carry at the end. */
static uint32_t naive_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

static void test_rfc1071_example(void **state)
{
	(void)state;
	/* RFC 1071 §3 works this example through: the words 0001 f203 f4f5 f6f7
	 * sum to 0x2ddf0, which folds to 0xddf2; the checksum is its complement. */
	const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	assert_int_equal(tern_csum_add(0, b, sizeof(b)), 0xddf2);
	assert_int_equal(tern_csum_fold(tern_csum_add(0, b, sizeof(b))), 0x220d);
}

static void test_known_ipv4_header(void **state)
{
	(void)state;
	/* 192.168.0.1 -> 192.168.0.199, UDP, total length 115, DF, TTL 64: the
	 * checksum field holds 0xb861, computed by hand over the other nine words. */
	uint8_t h[] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	assert_int_equal(tern_csum_fold(tern_csum_add(0, h, sizeof(h))), 0);
	h[10] = h[11] = 0;
	assert_int_equal(tern_csum_fold(tern_csum_add(0, h, sizeof(h))), 0xb861);
}

static void test_odd_lengths(void **state)
{
	(void)state;
	const uint8_t b[] = { 0x01, 0x02, 0x03 };
	/* A trailing byte is the high half of a word whose low half is zero. */
	assert_int_equal(tern_csum_add(0, b, 1), 0x0100);
	assert_int_equal(tern_csum_add(0, b, 2), 0x0102);
	assert_int_equal(tern_csum_add(0, b, 3), 0x0402);
	assert_int_equal(tern_csum_fold(tern_csum_add(0, b, 3)), 0xfbfd);
}

static void test_edge_values(void **state)
{
	(void)state;
	uint8_t zeros[64] = { 0 };
	uint8_t ones[64];
	memset(ones, 0xff, sizeof(ones));

	assert_int_equal(tern_csum_add(0, NULL, 0), 0);
	assert_int_equal(tern_csum_add(0x1234, NULL, 0), 0x1234);
	assert_int_equal(tern_csum_add(0, zeros, sizeof(zeros)), 0);
	assert_int_equal(tern_csum_fold(0), 0xffff);
	assert_int_equal(tern_csum_add(0, ones, sizeof(ones)), 0xffff);
	assert_int_equal(tern_csum_fold(0xffff), 0);
	/* Carries out of the low 16 bits come back around. */
	assert_int_equal(tern_csum_fold(0x1fffe), 0);
	assert_int_equal(tern_csum_fold(0x10000), 0xfffe);
	assert_int_equal(tern_csum_fold(0xffffffff), 0);
	/* A large running sum passed in is folded, not lost. */
	assert_int_equal(tern_csum_add(0xffffffff, zeros, 2), 0xffff);
}

/* The one-add fold (Linux's csum_fold shape) against two plain folds, over the
 * 32-bit values a step of 65521 apart (a prime: the low half moves by -15 each
 * step, so every low half and every high half comes up), and the ends. */
static uint16_t fold_twice(uint32_t x)
{
	uint32_t y = (x & 0xffffu) + (x >> 16);
	y = (y & 0xffffu) + (y >> 16);
	return (uint16_t)~y;
}

static void test_fold_matches_two_folds(void **state)
{
	(void)state;
	for (uint64_t x = 0; x <= 0xffffffffu; x += 65521u)
		if (tern_csum_fold((uint32_t)x) != fold_twice((uint32_t)x))
			fail_msg("fold of 0x%08x: 0x%04x, two folds 0x%04x", (unsigned)x,
				 tern_csum_fold((uint32_t)x), fold_twice((uint32_t)x));
	static const uint32_t ends[] = { 0, 1, 0xffff, 0x10000, 0x1fffe, 0x1ffff, 0xfffeffff, 0xffff0000,
					 0xffffffff };
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		assert_int_equal(tern_csum_fold(ends[i]), fold_twice(ends[i]));
}

static void test_all_ones_long_buffer(void **state)
{
	(void)state;
	/* Every 8-byte word is all ones, so the 64-bit accumulator wraps on every
	 * add: the carry count must bring each wrap back. */
	size_t len = 70001;
	uint8_t *b = malloc(len);
	assert_non_null(b);
	memset(b, 0xff, len);
	for (size_t n = len - 64; n <= len; n++)
		assert_int_equal(tern_csum_add(0, b, n), naive_sum(0, b, n));
	b[len - 1] = 0x7f;
	assert_int_equal(tern_csum_add(0, b, len), naive_sum(0, b, len));
	free(b);
}

static void test_pseudo_header(void **state)
{
	(void)state;
	/* 10.0.0.1 -> 10.0.0.2, TCP, 20 bytes: 0x0a00+0x0001+0x0a00+0x0002+6+20. */
	assert_int_equal(tern_csum_pseudo_v4(0x0a000001, 0x0a000002, TERN_IPPROTO_TCP, 20),
			 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + 20);
	/* Same value as summing the 12 pseudo-header bytes themselves. */
	const uint8_t ph[12] = { 0xc0, 0xa8, 0x01, 0x02, 0xff, 0xfe, 0x10, 0x01, 0, 6, 0x05, 0xdc };
	assert_int_equal(tern_csum_fold(tern_csum_pseudo_v4(0xc0a80102, 0xfffe1001, 6, 1500)),
			 tern_csum_fold(naive_sum(0, ph, sizeof(ph))));
}

static void test_random_against_reference(void **state)
{
	(void)state;
	enum { MAX = 1500, SLACK = 8 };
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	uint8_t *mem = malloc(MAX + SLACK);
	assert_non_null(mem);

	for (size_t len = 0; len <= MAX; len++) {
		/* Every start alignment modulo 8, a fresh random buffer each time. */
		size_t off = len % SLACK;
		uint8_t *b = mem + off;
		for (size_t i = 0; i < len; i++)
			b[i] = (uint8_t)rng_next(&rng);
		uint32_t want = naive_sum(0, b, len);
		assert_int_equal(tern_csum_add(0, b, len), want);

		/* With a starting sum (as the pseudo-header gives). */
		uint32_t start = (uint32_t)rng_next(&rng) & 0x3ffff;
		assert_int_equal(tern_csum_fold(tern_csum_add(start, b, len)),
				 tern_csum_fold(naive_sum(start, b, len)));

		/* In chunks: every chunk but the last has even length. */
		uint32_t sum = 0;
		size_t pos = 0;
		while (pos < len) {
			size_t n = (size_t)(rng_next(&rng) % 200);
			n &= ~(size_t)1;
			if (n == 0 || pos + n > len)
				n = len - pos;
			sum = tern_csum_add(sum, b + pos, n);
			pos += n;
		}
		assert_int_equal(tern_csum_fold(sum), tern_csum_fold(want));

		/* Verifying: with the checksum stored in the data, the fold is 0. */
		if (len >= 2 && len % 2 == 0) {
			b[0] = b[1] = 0;
			uint16_t c = tern_csum_fold(tern_csum_add(0, b, len));
			b[0] = (uint8_t)(c >> 8);
			b[1] = (uint8_t)c;
			assert_int_equal(tern_csum_fold(tern_csum_add(0, b, len)), 0);
		}
	}
	free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_known_ipv4_header),
		cmocka_unit_test(test_odd_lengths),
		cmocka_unit_test(test_edge_values),
		cmocka_unit_test(test_fold_matches_two_folds),
		cmocka_unit_test(test_all_ones_long_buffer),
		cmocka_unit_test(test_pseudo_header),
		cmocka_unit_test(test_random_against_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
