/*
 * The stack object: configuration is validated, addresses are bounded, time is
 * the driver's, secrets derive deterministically from the seed or the given secret
 * with a separate key per use, logs reach the callback, and two stacks share nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/stack.h"
#include "tern/tern.h"

static int emitted;

static void count_emit(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	(void)ctx, (void)now, (void)pkt, (void)len;
	emitted++;
}

static struct tern_stack_config base_config(void)
{
	struct tern_stack_config cfg;
	tern_stack_config_init(&cfg);
	cfg.addr = tern_addr_v4(10, 1, 2, 3);
	cfg.emit = count_emit;
	return cfg;
}

static void config_is_validated(void **state)
{
	(void)state;
	struct tern_stack *st = NULL;
	struct tern_stack_config cfg = base_config();
	uint8_t secret[32] = { 1 };

	cfg.emit = NULL;
	assert_int_equal(tern_stack_create(&cfg, &st), -TERN_EINVAL);
	cfg = base_config();
	cfg.addr.family = TERN_AF_INET6;
	assert_int_equal(tern_stack_create(&cfg, &st), -TERN_EINVAL);
	cfg = base_config();
	cfg.now = -1;
	assert_int_equal(tern_stack_create(&cfg, &st), -TERN_EINVAL);
	cfg = base_config();
	cfg.secret = secret;
	cfg.secret_len = 31;
	assert_int_equal(tern_stack_create(&cfg, &st), -TERN_EINVAL);
	assert_int_equal(tern_stack_create(NULL, &st), -TERN_EINVAL);
	assert_null(st);

	cfg.secret_len = 32;
	cfg.now = 5 * TERN_NS_PER_SEC;
	assert_int_equal(tern_stack_create(&cfg, &st), 0);
	assert_int_equal(tern_stack_now(st), 5 * TERN_NS_PER_SEC);
	assert_int_equal(tern_stack_addr(st).u.v4, 0x0a010203u);
	tern_stack_destroy(st);
}

static void addresses_are_bounded(void **state)
{
	(void)state;
	struct tern_stack *st;
	struct tern_stack_config cfg = base_config();

	assert_int_equal(tern_stack_create(&cfg, &st), 0);
	struct tern_addr v6 = { .family = TERN_AF_INET6 };
	assert_int_equal(tern_stack_add_addr(st, &v6), -TERN_EAFNOSUPPORT);
	assert_int_equal(tern_stack_add_addr(st, &cfg.addr), -TERN_EEXIST);
	for (int i = 1; i < TERN_STACK_MAX_ADDRS; i++) {
		struct tern_addr a = tern_addr_v4(10, 9, 9, (uint8_t)i);
		assert_int_equal(tern_stack_add_addr(st, &a), 0);
		assert_true(tern__stack_owns_v4(st, a.u.v4));
	}
	struct tern_addr extra = tern_addr_v4(10, 9, 9, 200);
	assert_int_equal(tern_stack_add_addr(st, &extra), -TERN_ENOSPC);
	assert_false(tern__stack_owns_v4(st, extra.u.v4));
	tern_stack_destroy(st);
}

static void time_and_deadline(void **state)
{
	(void)state;
	struct tern_stack *st;
	struct tern_stack_config cfg = base_config();

	assert_int_equal(tern_stack_create(&cfg, &st), 0);
	/* No timer pending: no deadline. */
	assert_true(tern_stack_next_deadline(st) == TERN_TIME_NEVER);
	tern_stack_advance(st, 100);
	assert_int_equal(tern_stack_now(st), 100);
	tern_stack_input(st, 250, "", 0);
	assert_int_equal(tern_stack_now(st), 250);
	tern_stack_destroy(st);
}

static void secrets_follow_seed_or_secret(void **state)
{
	(void)state;
	struct tern_stack *a, *b, *c, *d;
	struct tern_stack_config cfg = base_config();
	uint8_t secret[40];

	cfg.seed = 11;
	assert_int_equal(tern_stack_create(&cfg, &a), 0);
	assert_int_equal(tern_stack_create(&cfg, &b), 0);
	cfg.seed = 12;
	assert_int_equal(tern_stack_create(&cfg, &c), 0);
	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(i * 7);
	cfg.secret = secret;
	cfg.secret_len = sizeof(secret);
	assert_int_equal(tern_stack_create(&cfg, &d), 0);

	/* Same seed, same keys; another seed or a given secret, other keys. */
	assert_memory_equal(&a->secrets, &b->secrets, sizeof(a->secrets));
	assert_memory_not_equal(&a->secrets, &c->secrets, sizeof(a->secrets));
	assert_memory_not_equal(&a->secrets, &d->secrets, sizeof(a->secrets));
	/* Each use has its own key. */
	const struct tern_siphash_key *k = &a->secrets.isn;
	assert_memory_not_equal(k, &a->secrets.ts_off, sizeof(*k));
	assert_memory_not_equal(k, &a->secrets.port, sizeof(*k));
	assert_memory_not_equal(&a->secrets.cookie[0], &a->secrets.cookie[1], sizeof(*k));
	tern_stack_destroy(a);
	tern_stack_destroy(b);
	tern_stack_destroy(c);
	tern_stack_destroy(d);
}

struct log_sink {
	int n;
	int level;
	char last[300];
};

static void sink(void *ctx, int level, const char *msg)
{
	struct log_sink *s = ctx;
	s->n++;
	s->level = level;
	strncpy(s->last, msg, sizeof(s->last) - 1);
}

static void logs_reach_the_callback(void **state)
{
	(void)state;
	struct tern_stack *st;
	struct tern_stack_config cfg = base_config();
	struct log_sink s = { 0 };
	char longtext[600];

	/* Without a callback, logging is a no-op. */
	assert_int_equal(tern_stack_create(&cfg, &st), 0);
	tern__log(st, TERN_LOG_INFO, "nobody hears %d", 1);
	tern_stack_destroy(st);

	cfg.log = sink;
	cfg.log_ctx = &s;
	assert_int_equal(tern_stack_create(&cfg, &st), 0);
	tern__log(st, TERN_LOG_WARNING, "Possible SYN flooding on port %d", 8080);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.level, TERN_LOG_WARNING);
	assert_string_equal(s.last, "Possible SYN flooding on port 8080");
	/* An over-long line is cut, not overrun. */
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = 0;
	tern__log(st, TERN_LOG_INFO, "%s", longtext);
	assert_int_equal(strlen(s.last), 255);
	tern_stack_destroy(st);
}

static void stacks_share_nothing(void **state)
{
	(void)state;
	struct tern_stack *a, *b;
	struct tern_stack_config cfg = base_config();
	uint8_t junk[10] = { 0 };

	assert_int_equal(tern_stack_create(&cfg, &a), 0);
	assert_int_equal(tern_stack_create(&cfg, &b), 0);
	tern_stack_input(a, 1, junk, sizeof(junk));
	assert_int_equal(tern_stack_counter(a, TERN_CTR_TernIpTooShort), 1);
	assert_int_equal(tern_stack_counter(b, TERN_CTR_TernIpTooShort), 0);
	assert_int_equal(tern_stack_counter(a, (enum tern_counter)TERN_CTR_COUNT), 0);
	tern_stack_destroy(a);
	tern_stack_destroy(b);
}

static void counter_names(void **state)
{
	(void)state;
	assert_string_equal(tern_counter_name(TERN_CTR_IpInHdrErrors), "IpInHdrErrors");
	assert_string_equal(tern_counter_name(TERN_CTR_IpExtInCsumErrors), "IpExtInCsumErrors");
	assert_string_equal(tern_counter_name(TERN_CTR_TcpOutRsts), "TcpOutRsts");
	assert_string_equal(tern_counter_group(TERN_CTR_TernIpBadIhl), "Tern");
	assert_non_null(tern_counter_doc(TERN_CTR_TernIpBadIhl));
	assert_int_equal(tern_counter_lookup("IcmpInEchos"), TERN_CTR_IcmpInEchos);
	assert_int_equal(tern_counter_lookup("NoSuchCounter"), -1);
	assert_null(tern_counter_name((enum tern_counter)TERN_CTR_COUNT));
	/* Names are unique. */
	for (int i = 0; i < TERN_CTR_COUNT; i++)
		assert_int_equal(tern_counter_lookup(tern_counter_name((enum tern_counter)i)), i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_is_validated),
		cmocka_unit_test(addresses_are_bounded),
		cmocka_unit_test(time_and_deadline),
		cmocka_unit_test(secrets_follow_seed_or_secret),
		cmocka_unit_test(logs_reach_the_callback),
		cmocka_unit_test(stacks_share_nothing),
		cmocka_unit_test(counter_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
