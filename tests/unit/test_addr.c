/*
 * tests/unit/test_addr.c: addresses as text (core/addr.c): strict dotted-quad
 * parsing with every kind of malformed input refused, round trips, and formatting.
 * Where the C library is at hand, random inputs are also checked against
 * inet_pton()/inet_ntop(), which follow the same rules.
 */
#define _POSIX_C_SOURCE 200112L

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/prng.h"
#include "tern/errors.h"
#include "tern/types.h"

static void expect_v4(const char *text, uint32_t want)
{
	struct tern_addr a;
	memset(&a, 0xee, sizeof(a));
	if (tern_addr_parse(text, &a) != 0)
		fail_msg("\"%s\" refused", text);
	assert_int_equal(a.family, TERN_AF_INET);
	assert_int_equal(a.u.v4, want);
}

static void expect_bad(const char *text)
{
	struct tern_addr a = tern_addr_v4(9, 9, 9, 9);
	int err = tern_addr_parse(text, &a);
	if (err != -TERN_EINVAL)
		fail_msg("\"%s\" gave %d, want -EINVAL", text, err);
	/* A refused text leaves the output alone. */
	assert_int_equal(a.family, TERN_AF_INET);
	assert_int_equal(a.u.v4, 0x09090909);
}

static void test_parse_good(void **state)
{
	(void)state;
	expect_v4("0.0.0.0", 0);
	expect_v4("255.255.255.255", 0xffffffff);
	expect_v4("192.168.0.1", 0xc0a80001);
	expect_v4("10.0.0.2", 0x0a000002);
	expect_v4("127.0.0.1", 0x7f000001);
	expect_v4("1.22.133.244", 0x011685f4);
	expect_v4("100.200.250.199", 0x64c8fac7);
}

static void test_parse_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",              /* empty */
		"1",             /* too few parts */
		"1.2",
		"1.2.3",
		"1.2.3.4.5",     /* too many */
		"1.2.3.",        /* empty parts */
		".1.2.3",
		"1..2.3",
		"1.2..3",
		"...",
		"1.2.3.4.",      /* trailing dot */
		"256.0.0.0",     /* out of range */
		"1.2.3.256",
		"1.2.3.999",
		"1.2.3.1000",
		"1.2.3.4294967297", /* would wrap a 32-bit accumulator */
		"01.2.3.4",      /* leading zeros (octal to some parsers) */
		"1.2.3.04",
		"1.2.3.00",
		"000.0.0.0",
		"+1.2.3.4",      /* signs */
		"-1.2.3.4",
		"1.2.3.+4",
		"1.-2.3.4",
		" 1.2.3.4",      /* whitespace */
		"1.2.3.4 ",
		"1.2.3.4\n",
		"1. 2.3.4",
		"1.2.3.4x",      /* trailing junk */
		"1.2.3.4/24",
		"1.2.3.4:80",
		"a.b.c.d",       /* not decimal */
		"0x1.2.3.4",
		"0x7f000001",
		"1.2.3.0x4",
		"1e2.0.0.0",
		"::1",           /* not IPv4 at all */
		"localhost",
		"1,2,3,4",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i]);
	/* An embedded NUL ends the text: what follows is never seen. */
	char buf[] = "1.2.3.4\0junk";
	expect_v4(buf, 0x01020304);
	/* Missing arguments. */
	struct tern_addr a;
	assert_int_equal(tern_addr_parse(NULL, &a), -TERN_EINVAL);
	assert_int_equal(tern_addr_parse("1.2.3.4", NULL), -TERN_EINVAL);
}

static void test_format_v4(void **state)
{
	(void)state;
	char buf[TERN_ADDR_STRLEN];
	struct tern_addr a = tern_addr_v4(192, 168, 0, 1);
	assert_ptr_equal(tern_addr_format(&a, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "192.168.0.1");
	a = tern_addr_v4(0, 0, 0, 0);
	assert_string_equal(tern_addr_format(&a, buf, sizeof(buf)), "0.0.0.0");
	a = tern_addr_v4(255, 255, 255, 255);
	assert_string_equal(tern_addr_format(&a, buf, sizeof(buf)), "255.255.255.255");
	/* A short buffer is cut, still terminated. */
	char small[8];
	memset(small, 'x', sizeof(small));
	tern_addr_format(&a, small, sizeof(small));
	assert_string_equal(small, "255.255");
	/* Unknown family. */
	struct tern_addr none = { .family = TERN_AF_UNSPEC };
	assert_string_equal(tern_addr_format(&none, buf, sizeof(buf)), "?");
	none.family = 77;
	assert_string_equal(tern_addr_format(&none, buf, sizeof(buf)), "?");
	/* Nothing to write into. */
	assert_null(tern_addr_format(&a, NULL, 16));
	assert_ptr_equal(tern_addr_format(&a, buf, 0), buf);
}

/* Every address of a random sample, and the corners, survive text and back. */
static void test_round_trip(void **state)
{
	(void)state;
	struct tern_prng r;
	tern__prng_seed(&r, 23);
	char buf[TERN_ADDR_STRLEN];
	const uint32_t corners[] = { 0, 1, 0xff, 0x100, 0x7f000001, 0x80000000, 0xfffffffe, 0xffffffff };
	for (int i = 0; i < 100000; i++) {
		uint32_t v = i < 8 ? corners[i] : tern__prng_u32(&r);
		struct tern_addr a = { .family = TERN_AF_INET, .u.v4 = v };
		struct tern_addr b;
		tern_addr_format(&a, buf, sizeof(buf));
		assert_int_equal(tern_addr_parse(buf, &b), 0);
		assert_true(tern_addr_eq(&a, &b));
	}
}

static struct tern_addr v6(const uint16_t g[8])
{
	struct tern_addr a = { .family = TERN_AF_INET6 };
	for (int i = 0; i < 8; i++) {
		a.u.v6[2 * i] = (uint8_t)(g[i] >> 8);
		a.u.v6[2 * i + 1] = (uint8_t)g[i];
	}
	return a;
}

static void test_format_v6(void **state)
{
	(void)state;
	static const struct {
		uint16_t g[8];
		const char *text;
	} cases[] = {
		{ { 0, 0, 0, 0, 0, 0, 0, 0 }, "::" },
		{ { 0, 0, 0, 0, 0, 0, 0, 1 }, "::1" },
		{ { 0x2001, 0xdb8, 0, 0, 0, 0, 0, 1 }, "2001:db8::1" },
		{ { 0x2001, 0xdb8, 0, 0, 1, 0, 0, 1 }, "2001:db8::1:0:0:1" },    /* first of equal runs */
		{ { 0x2001, 0, 0, 1, 0, 0, 0, 1 }, "2001:0:0:1::1" },           /* longest run wins */
		{ { 0x2001, 0xdb8, 0, 1, 1, 1, 1, 1 }, "2001:db8:0:1:1:1:1:1" }, /* lone zero kept */
		{ { 0xfe80, 0, 0, 0, 0x1234, 0xabcd, 0xef, 0x1 }, "fe80::1234:abcd:ef:1" },
		{ { 0x1, 0, 0, 0, 0, 0, 0, 0 }, "1::" },
		{ { 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff },
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
		{ { 0, 0, 0, 0, 0, 0xffff, 0xc0a8, 0x0001 }, "::ffff:192.168.0.1" },
	};
	char buf[TERN_ADDR_STRLEN];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tern_addr a = v6(cases[i].g);
		assert_string_equal(tern_addr_format(&a, buf, sizeof(buf)), cases[i].text);
	}
}

/* Random IPv6 addresses, with zero groups common, format as glibc's inet_ntop does
 * (leaving out the ::a.b.c.d form glibc still uses for the deprecated
 * IPv4-compatible range, which RFC 5952 does not recommend). */
static void test_format_v6_matches_libc(void **state)
{
	(void)state;
	struct tern_prng r;
	tern__prng_seed(&r, 29);
	char mine[TERN_ADDR_STRLEN], theirs[INET6_ADDRSTRLEN];
	int compared = 0;
	for (int i = 0; i < 50000; i++) {
		uint16_t g[8];
		for (int k = 0; k < 8; k++)
			g[k] = tern__prng_chance(&r, 0.5) ? 0 : (uint16_t)tern__prng_below(&r, 1u << (4 * (1 + k % 4)));
		if (!g[0] && !g[1] && !g[2] && !g[3] && !g[4] && !g[5])
			continue; /* IPv4-compatible: glibc's own form */
		struct tern_addr a = v6(g);
		tern_addr_format(&a, mine, sizeof(mine));
		assert_non_null(inet_ntop(AF_INET6, a.u.v6, theirs, sizeof(theirs)));
		if (strcmp(mine, theirs) != 0)
			fail_msg("tern \"%s\", libc \"%s\"", mine, theirs);
		compared++;
	}
	assert_true(compared > 40000);
}

/* Random short strings over the characters that matter: accepted exactly when
 * inet_pton(AF_INET) accepts them, with the same value. */
static void test_parse_matches_libc(void **state)
{
	(void)state;
	static const char alphabet[] = "0123456789....+- x";
	struct tern_prng r;
	tern__prng_seed(&r, 31);
	char text[24];
	int accepted = 0;
	for (int i = 0; i < 200000; i++) {
		size_t len = (size_t)tern__prng_below(&r, 18);
		for (size_t k = 0; k < len; k++) {
			/* Mostly digits and dots, so that well-formed quads come up often. */
			size_t pick = tern__prng_chance(&r, 0.9) ? tern__prng_below(&r, 14)
								: tern__prng_below(&r, sizeof(alphabet) - 1);
			text[k] = alphabet[pick];
		}
		text[len] = '\0';
		struct tern_addr a;
		struct in_addr in;
		int mine = tern_addr_parse(text, &a);
		int theirs = inet_pton(AF_INET, text, &in);
		if ((mine == 0) != (theirs == 1))
			fail_msg("\"%s\": tern %d, inet_pton %d", text, mine, theirs);
		if (mine == 0) {
			assert_int_equal(a.u.v4, ntohl(in.s_addr));
			accepted++;
		} else {
			assert_int_equal(mine, -TERN_EINVAL);
		}
	}
	assert_true(accepted > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_format_v4),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_format_v6),
		cmocka_unit_test(test_format_v6_matches_libc),
		cmocka_unit_test(test_parse_matches_libc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
