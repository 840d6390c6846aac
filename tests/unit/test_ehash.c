/*
 * The connection hash (src/tcp/table.c): every inserted 4-tuple is found and every
 * removed one is gone, through growth; and a lookup of an absent 4-tuple reads the
 * bucket's summary instead of walking a chain of sockets, so a SYN costs no cache
 * miss per idle socket sharing its bucket. A socket that leaves from the head of
 * its chain leaves the summary exact; one left stale by other removals heals on
 * the first lookup that walks the chain. And the tuple hash keeps a run of ports
 * of one peer in one group of buckets, without letting the run share a bucket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/stack.h"
#include "tcp/sock.h"
#include "tern/tern.h"

#define N 100000
#define ABSENT 100000

static void no_emit(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	(void)ctx, (void)now, (void)pkt, (void)len;
}

/* Tuple i: a server at 10.0.0.2:80 and clients 10.1.x.y with varied ports. */
static void tuple(uint32_t i, uint32_t *raddr, uint16_t *rport)
{
	*raddr = 0x0a010000u + (i >> 14);
	*rport = (uint16_t)(1024 + (i & 0x3fff));
}

static struct tern_sock *lookup(struct tern_stack *st, uint32_t i)
{
	uint32_t raddr;
	uint16_t rport;
	tuple(i, &raddr, &rport);
	return tern__ehash_lookup(st, 0x0a000002u, 80, raddr, rport);
}

/* Probes (chain links read) over lookups of `ABSENT` tuples that were never in. */
static uint64_t absent_probes(struct tern_stack *st)
{
	uint64_t p0 = st->tcp->hash_probes;
	for (uint32_t i = 0; i < ABSENT; i++)
		assert_null(lookup(st, 2 * N + i));
	return st->tcp->hash_probes - p0;
}

static void summaries_spare_the_chains(void **state)
{
	(void)state;
	struct tern_stack_config cfg;
	struct tern_stack *st;
	static struct tern_sock *sks[N];

	tern_stack_config_init(&cfg);
	cfg.addr = tern_addr_v4(10, 0, 0, 2);
	cfg.emit = no_emit;
	assert_int_equal(tern_stack_create(&cfg, &st), 0);

	for (uint32_t i = 0; i < N; i++) {
		struct tern_sock *sk = tern__sock_alloc(st);
		assert_non_null(sk);
		sk->laddr = 0x0a000002u;
		sk->lport = 80;
		tuple(i, &sk->raddr, &sk->rport);
		tern__ehash_insert(st, sk);
		sks[i] = sk;
	}
	for (uint32_t i = 0; i < N; i++)
		assert_ptr_equal(lookup(st, i), sks[i]);

	/* Chains average up to one socket here; without summaries each absent lookup
	 * would read every socket of its chain. With them, only a bucket whose
	 * summary has the tuple's bit walks: about one in sixteen per socket. */
	uint64_t walk = 0;
	for (uint32_t i = 0; i <= st->tcp->ehash_mask; i++)
		for (struct tern_sock *sk = tern__ehash_chain(st, i); sk; sk = sk->hash_next)
			walk++;
	assert_int_equal(walk, N);
	uint64_t probes = absent_probes(st);
	double per_lookup = (double)probes / ABSENT;
	double load = (double)N / (st->tcp->ehash_mask + 1);
	print_message("load %.2f: %.3f chain links read per absent lookup\n", load, per_lookup);
#if defined(__x86_64__)
	assert_true(per_lookup < load / 4);
#endif

	/* Short-lived connections join chains at their heads and leave from there:
	 * that must leave no bit behind, or the next connection on the same 4-tuple
	 * would walk the idle sockets sharing its bucket. */
	uint32_t mask = st->tcp->ehash_mask;
	static struct tern_sock *brief[N / 5];
	for (uint32_t i = 0; i < N / 5; i++) {
		brief[i] = tern__sock_alloc(st);
		assert_non_null(brief[i]);
		brief[i]->laddr = 0x0a000002u;
		brief[i]->lport = 80;
		tuple(4 * N + i, &brief[i]->raddr, &brief[i]->rport);
		tern__ehash_insert(st, brief[i]);
	}
	assert_int_equal(st->tcp->ehash_mask, mask);
	for (uint32_t i = N / 5; i-- > 0;) {
		tern__ehash_remove(st, brief[i]);
		tern__sock_free(st, brief[i]);
	}
	assert_int_equal(absent_probes(st), probes);

	/* Remove every other socket, oldest first: most are not first on their
	 * chains, and their bits stay in the summaries, so the next absent lookups
	 * walk more often than the load needs; those walks rewrite the summaries,
	 * and the same lookups again read fewer links. */
	for (uint32_t i = 0; i < N; i += 2)
		tern__ehash_remove(st, sks[i]);
	uint64_t stale = absent_probes(st);
	uint64_t healed = absent_probes(st);
	print_message("after removing half: %.3f links per absent lookup, then %.3f\n", (double)stale / ABSENT,
		      (double)healed / ABSENT);
#if defined(__x86_64__)
	assert_true(healed < stale);
#endif
	/* The removed are gone, the rest still there. */
	for (uint32_t i = 0; i < N; i++)
		assert_ptr_equal(lookup(st, i), (i % 2) ? sks[i] : NULL);

	for (uint32_t i = 1; i < N; i += 2)
		tern__ehash_remove(st, sks[i]);
	assert_int_equal(st->tcp->ehash_count, 0);
	for (uint32_t i = 0; i <= st->tcp->ehash_mask; i++)
		assert_null(tern__ehash_chain(st, i));
	assert_int_equal(absent_probes(st), 0);
	for (uint32_t i = 0; i < N; i++)
		tern__sock_free(st, sks[i]);
	tern_stack_destroy(st);
}

/* The tuple hash keeps a run of 512 ports of one peer together (sock.h): in a
 * table of at least 512 buckets the run fills 512 distinct buckets of one
 * aligned group, on the server's side (the peer's port varies) and on the
 * client's (its own port varies); in a smaller table it spreads evenly; and its
 * summary tags still differ from tuple to tuple. */
static void port_runs_stay_together(void **state)
{
	(void)state;
	struct tern_stack_config cfg;
	struct tern_stack *st;
	const uint32_t run = 1u << TERN_TUPLE_RUN_BITS;

	tern_stack_config_init(&cfg);
	cfg.addr = tern_addr_v4(10, 0, 0, 2);
	cfg.emit = no_emit;
	assert_int_equal(tern_stack_create(&cfg, &st), 0);

	for (int side = 0; side < 2; side++) {
		for (uint32_t base = 1024; base < 65536; base += 7 * run) {
			uint32_t first = base & ~(run - 1);
			uint32_t group = 0, tags = 0;
			static uint8_t seen[1u << 16];
			uint32_t small[64] = { 0 };
			memset(seen, 0, sizeof(seen));
			for (uint32_t p = first; p < first + run; p++) {
				uint16_t lport = side ? (uint16_t)p : 80, rport = side ? 80 : (uint16_t)p;
				uint32_t h = tern__tuple_hash(st, 0x0a000002u, lport, 0x0a010203u, rport);
				uint32_t b = h & 0xffffu;               /* a table of 2^16 buckets */
				if (p == first)
					group = b & ~(run - 1);
				assert_int_equal(b & ~(run - 1), group);
				assert_int_equal(seen[b], 0);
				seen[b] = 1;
				small[h & 63]++;                        /* a table of 64 */
				tags |= 1u << (h >> 28);
			}
			for (uint32_t b = 0; b < 64; b++)
				assert_int_equal(small[b], run / 64);
			assert_true(__builtin_popcount(tags) >= 12);
		}
	}
	tern_stack_destroy(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(summaries_spare_the_chains),
		cmocka_unit_test(port_runs_stay_together),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
