/*
 * tests/unit/test_errors.c: the error table (include/tern/errors.h, core/errors.c).
 * Values must be Linux's and messages glibc's: both are checked against this
 * machine's <errno.h> and strerror() for every entry, so the table cannot drift.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "tern/errors.h"

struct entry {
	const char *name;
	int value;     /* tern's */
	int host;      /* the host's <errno.h> */
	const char *msg;
};

static const struct entry table[] = {
#define ENTRY(name, value, msg) { #name, TERN_##name, name, msg },
	TERN_ERRNO_TABLE(ENTRY)
#undef ENTRY
};

#define TABLE_LEN (sizeof(table) / sizeof(table[0]))

static void test_known_values(void **state)
{
	(void)state;
	assert_int_equal(TERN_ECONNREFUSED, 111);
	assert_int_equal(TERN_EADDRNOTAVAIL, 99);
	assert_int_equal(TERN_EADDRINUSE, 98);
	assert_int_equal(TERN_EINPROGRESS, 115);
	assert_int_equal(TERN_EALREADY, 114);
	assert_int_equal(TERN_EAGAIN, 11);
	assert_int_equal(TERN_EWOULDBLOCK, 11);
	assert_int_equal(TERN_ETIMEDOUT, 110);
	assert_int_equal(TERN_ECONNRESET, 104);
	assert_int_equal(TERN_ENOTCONN, 107);
	assert_int_equal(TERN_EISCONN, 106);
	assert_int_equal(TERN_EPIPE, 32);
	assert_int_equal(TERN_EINVAL, 22);
	assert_int_equal(TERN_ENOMEM, 12);
	assert_int_equal(TERN_ENOBUFS, 105);
	assert_int_equal(TERN_EHOSTUNREACH, 113);
	assert_int_equal(TERN_ENETUNREACH, 101);
}

/* On Linux the host's errno values are tern's, entry by entry. */
static void test_values_match_host(void **state)
{
	(void)state;
#ifdef __linux__
	for (size_t i = 0; i < TABLE_LEN; i++)
		if (table[i].value != table[i].host)
			fail_msg("%s: tern %d, host %d", table[i].name, table[i].value, table[i].host);
#else
	skip();
#endif
}

/* No value appears twice, so every lookup by value is unambiguous. */
static void test_values_unique(void **state)
{
	(void)state;
	for (size_t i = 0; i < TABLE_LEN; i++)
		for (size_t j = i + 1; j < TABLE_LEN; j++)
			assert_int_not_equal(table[i].value, table[j].value);
}

static void test_messages_match_glibc(void **state)
{
	(void)state;
#if defined(__linux__) && defined(__GLIBC__)
	for (size_t i = 0; i < TABLE_LEN; i++) {
		const char *host = strerror(table[i].value);
		if (strcmp(tern_strerror(table[i].value), host) != 0)
			fail_msg("%s: tern \"%s\", glibc \"%s\"", table[i].name,
				 tern_strerror(table[i].value), host);
	}
	assert_string_equal(tern_strerror(0), strerror(0));
#else
	skip();
#endif
}

static void test_strerror_both_signs(void **state)
{
	(void)state;
	for (size_t i = 0; i < TABLE_LEN; i++) {
		assert_string_equal(tern_strerror(table[i].value), table[i].msg);
		assert_string_equal(tern_strerror(-table[i].value), table[i].msg);
	}
	assert_string_equal(tern_strerror(0), "Success");
	assert_string_equal(tern_strerror(-TERN_ECONNREFUSED), "Connection refused");
}

static void test_strerror_unknown(void **state)
{
	(void)state;
	const int unknown[] = { 3, -3, 10, 200, -200, 4242, INT_MAX, INT_MIN, INT_MIN + 1 };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		const char *msg = tern_strerror(unknown[i]);
		assert_non_null(msg);
		/* glibc says "Unknown error N"; tern keeps no buffer to print N into. */
		assert_string_equal(msg, "Unknown error");
		assert_null(tern_errname(unknown[i]));
	}
}

static void test_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < TABLE_LEN; i++) {
		assert_string_equal(tern_errname(table[i].value), table[i].name);
		assert_string_equal(tern_errname(-table[i].value), table[i].name);
		assert_int_equal(tern_errno_from_name(table[i].name), table[i].value);
	}
	assert_string_equal(tern_errname(-111), "ECONNREFUSED");
	assert_string_equal(tern_errname(11), "EAGAIN");
	assert_null(tern_errname(0));
}

static void test_name_lookup_edges(void **state)
{
	(void)state;
	assert_int_equal(tern_errno_from_name("EWOULDBLOCK"), 11);
	assert_int_equal(tern_errno_from_name("EINPROGRESS"), 115);
	assert_int_equal(tern_errno_from_name(NULL), 0);
	assert_int_equal(tern_errno_from_name(""), 0);
	assert_int_equal(tern_errno_from_name("econnrefused"), 0); /* names are exact */
	assert_int_equal(tern_errno_from_name("ECONNREFUSED "), 0);
	assert_int_equal(tern_errno_from_name("ECONN"), 0);
	assert_int_equal(tern_errno_from_name("ENOTATHING"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_values_match_host),
		cmocka_unit_test(test_values_unique),
		cmocka_unit_test(test_messages_match_glibc),
		cmocka_unit_test(test_strerror_both_signs),
		cmocka_unit_test(test_strerror_unknown),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_name_lookup_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
