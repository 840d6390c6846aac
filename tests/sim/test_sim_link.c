/*
 * tests/sim/test_sim_link.c: the simulated network's links (src/link/sim.c), driven
 * by raw endpoints so that only the simulator is under test.
 *
 * Exact timing (delay, serialisation at a rate, drop-tail at a byte limit), fault
 * rates over 100k datagrams against their binomial bounds with every counter
 * reconciled against what actually arrived, ordering (jitter keeps it, reordering
 * breaks it by exactly the counted datagrams), time jumps, injection from inside a
 * delivery, routing, taps, and refusal of bad arguments.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tern/errors.h"
#include "tern/pcap.h"
#include "tern/sim.h"

#define MS TERN_NS_PER_MS
#define US TERN_NS_PER_US
#define SEC TERN_NS_PER_SEC

/* Datagrams of at least this many bytes carry their id three times after the IP
 * header, so that a single flipped bit cannot hide which datagram it was. */
#define ID_BYTES 32

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* An IPv4-looking datagram from `src` to `dst` (host order), numbered `id`. The
 * simulator looks only at the destination; the rest is a recognisable pattern. */
static void make_pkt(uint8_t *buf, size_t len, uint32_t src, uint32_t dst, uint32_t id)
{
	memset(buf, 0, len < 20 ? len : 20);
	buf[0] = 0x45;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	buf[8] = 64;
	buf[9] = 253;  /* RFC 3692 experimental protocol */
	put32(buf + 12, src);
	put32(buf + 16, dst);
	size_t i = 20;
	for (int k = 0; k < 3 && i + 4 <= len; k++, i += 4)
		put32(buf + i, id);
	for (; i < len; i++)
		buf[i] = (uint8_t)(i * 31 + id);
}

static uint32_t pkt_id(const uint8_t *pkt, size_t len)
{
	if (len < ID_BYTES)
		return 0;
	uint32_t a = get32(pkt + 20), b = get32(pkt + 24), c = get32(pkt + 28);
	return (a == b || a == c) ? a : b;
}

/* ------------------------------------------------------------------ a recording endpoint */

struct rx_rec {
	tern_time at;
	uint32_t id;
	uint32_t len;
	uint32_t bit_errors;  /* bits that differ from the datagram as sent */
};

struct recorder {
	struct rx_rec *r;
	size_t n, cap;
	uint32_t src, dst;    /* the addresses the sender used, to rebuild the original */
	/* Optional echo: send each datagram back (addresses swapped), `echo` times. */
	int echo;
	uint8_t scratch[65535];
};

static unsigned popcount8(uint8_t v)
{
	unsigned c = 0;
	for (; v; v &= (uint8_t)(v - 1))
		c++;
	return c;
}

static void rec_rx(void *ctx, struct tern_sim *sim, int node, tern_time now,
		   const uint8_t *pkt, size_t len)
{
	struct recorder *rc = ctx;
	if (rc->n == rc->cap) {
		rc->cap = rc->cap ? rc->cap * 2 : 1024;
		rc->r = realloc(rc->r, rc->cap * sizeof *rc->r);
		assert_non_null(rc->r);
	}
	struct rx_rec *r = &rc->r[rc->n++];
	r->at = now;
	r->len = (uint32_t)len;
	r->id = pkt_id(pkt, len);
	make_pkt(rc->scratch, len, rc->src, rc->dst, r->id);
	r->bit_errors = 0;
	for (size_t i = 0; i < len; i++)
		r->bit_errors += popcount8(pkt[i] ^ rc->scratch[i]);

	if (rc->echo > 0) {
		rc->echo--;
		make_pkt(rc->scratch, len, get32(pkt + 16), get32(pkt + 12), r->id + 1000000);
		assert_int_equal(tern_sim_inject(sim, node, rc->scratch, len), 0);
	}
}

static void rec_free(struct recorder *rc)
{
	free(rc->r);
	free(rc);
}

static struct recorder *rec_new(uint32_t src, uint32_t dst)
{
	struct recorder *rc = calloc(1, sizeof *rc);
	assert_non_null(rc);
	rc->src = src;
	rc->dst = dst;
	return rc;
}

/* ------------------------------------------------------------------ a two-endpoint network */

#define ADDR_A 0x0a000001u  /* 10.0.0.1 */
#define ADDR_B 0x0a000002u  /* 10.0.0.2 */

struct pair {
	struct tern_sim *sim;
	int a, b, link;
	struct recorder *ra, *rb;
};

static struct tern_addr v4(uint32_t a)
{
	struct tern_addr addr = { .family = TERN_AF_INET };
	addr.u.v4 = a;
	return addr;
}

static void pair_init(struct pair *p, uint64_t seed, const struct tern_link_params *ab,
		      const struct tern_link_params *ba)
{
	memset(p, 0, sizeof *p);
	assert_int_equal(tern_sim_create(seed, &p->sim), 0);
	p->ra = rec_new(ADDR_B, ADDR_A);
	p->rb = rec_new(ADDR_A, ADDR_B);
	struct tern_addr aa = v4(ADDR_A), ab_ = v4(ADDR_B);
	p->a = tern_sim_add_endpoint(p->sim, &aa, rec_rx, p->ra);
	p->b = tern_sim_add_endpoint(p->sim, &ab_, rec_rx, p->rb);
	assert_int_equal(p->a, 0);
	assert_int_equal(p->b, 1);
	p->link = tern_sim_link(p->sim, p->a, p->b, ab, ba);
	assert_int_equal(p->link, 0);
}

static void pair_fini(struct pair *p)
{
	tern_sim_destroy(p->sim);
	rec_free(p->ra);
	rec_free(p->rb);
}

/* Endpoint A sends datagram `id` of `len` bytes to B now. */
static void send_ab(struct pair *p, uint32_t id, size_t len)
{
	static uint8_t buf[65535];
	make_pkt(buf, len, ADDR_A, ADDR_B, id);
	assert_int_equal(tern_sim_inject(p->sim, p->a, buf, len), 0);
}

static void send_ba(struct pair *p, uint32_t id, size_t len)
{
	static uint8_t buf[65535];
	make_pkt(buf, len, ADDR_B, ADDR_A, id);
	assert_int_equal(tern_sim_inject(p->sim, p->b, buf, len), 0);
}

/* ------------------------------------------------------------------ timing */

static void test_delay_exact(void **state)
{
	(void)state;
	struct tern_link_params ab = { .delay = 7 * MS }, ba = { .delay = 3 * MS + 1 };
	struct pair p;
	pair_init(&p, 1, &ab, &ba);

	send_ab(&p, 1, 100);
	assert_int_equal(tern_sim_next_event(p.sim), 7 * MS);
	assert_true(tern_sim_step(p.sim, TERN_TIME_NEVER));
	assert_int_equal(tern_sim_now(p.sim), 7 * MS);
	assert_int_equal(p.rb->n, 1);
	assert_int_equal(p.rb->r[0].at, 7 * MS);
	assert_int_equal(p.rb->r[0].id, 1);
	assert_int_equal(p.rb->r[0].len, 100);
	assert_int_equal(p.rb->r[0].bit_errors, 0);
	assert_false(tern_sim_step(p.sim, TERN_TIME_NEVER));

	tern_sim_run_until(p.sim, 100 * MS);
	assert_int_equal(tern_sim_now(p.sim), 100 * MS);
	send_ba(&p, 2, 40);
	tern_sim_run_until(p.sim, SEC);
	assert_int_equal(p.ra->n, 1);
	assert_int_equal(p.ra->r[0].at, 103 * MS + 1);
	assert_int_equal(p.ra->r[0].bit_errors, 0);

	struct tern_link_stats s;
	tern_sim_link_stats(p.sim, p.link, 0, &s);
	assert_int_equal(s.sent, 1);
	assert_int_equal(s.delivered, 1);
	assert_int_equal(s.bytes_delivered, 100);
	assert_int_equal(s.lost + s.duplicated + s.reordered + s.corrupted + s.queue_drops, 0);
	tern_sim_link_stats(p.sim, p.link, 1, &s);
	assert_int_equal(s.sent, 1);
	assert_int_equal(s.bytes_delivered, 40);
	pair_fini(&p);
}

/* 1500 bytes at 10 Mbit/s take 1.2 ms on the wire: back-to-back datagrams arrive
 * exactly that far apart, the first after its own serialisation plus the delay. */
static void test_bandwidth(void **state)
{
	(void)state;
	struct tern_link_params ab = { .delay = 1 * MS, .rate_bps = 10000000 };
	struct pair p;
	pair_init(&p, 1, &ab, NULL);

	for (uint32_t i = 0; i < 10; i++)
		send_ab(&p, i, 1500);
	tern_sim_run_until(p.sim, SEC);
	assert_int_equal(p.rb->n, 10);
	for (size_t i = 0; i < 10; i++) {
		assert_int_equal(p.rb->r[i].id, i);
		assert_int_equal(p.rb->r[i].at, 1 * MS + (tern_time)(i + 1) * 1200 * US);
	}

	/* An idle link starts afresh: no credit, no leftover backlog. */
	send_ab(&p, 10, 1500);
	tern_sim_run_until(p.sim, 2 * SEC);
	assert_int_equal(p.rb->n, 11);
	assert_int_equal(p.rb->r[10].at, SEC + 1 * MS + 1200 * US);

	/* Serialisation rounds up to whole nanoseconds: 20 bytes at 3 Gbit/s take
	 * 53.3 ns, so 54 each. */
	struct tern_link_params fast = { .rate_bps = 3000000000ull };
	struct pair q;
	pair_init(&q, 1, &fast, NULL);
	send_ab(&q, 0, 20);
	send_ab(&q, 0, 20);
	tern_sim_run_until(q.sim, SEC);
	assert_int_equal(q.rb->n, 2);
	assert_int_equal(q.rb->r[0].at, 54);
	assert_int_equal(q.rb->r[1].at, 108);
	pair_fini(&q);

	struct tern_link_stats s;
	tern_sim_link_stats(p.sim, p.link, 0, &s);
	assert_int_equal(s.sent, 11);
	assert_int_equal(s.delivered, 11);
	assert_int_equal(s.bytes_delivered, 11 * 1500);
	assert_int_equal(s.queue_drops, 0);
	pair_fini(&p);
}

/* A 15000-byte queue at 10 Mbit/s holds ten 1500-byte datagrams (the one being
 * serialised included): of twenty sent at once, exactly ten are dropped. Once one
 * has been clocked out, there is room for exactly one more. */
static void test_drop_tail(void **state)
{
	(void)state;
	struct tern_link_params ab = { .delay = 5 * MS, .rate_bps = 10000000, .queue_bytes = 15000 };
	struct pair p;
	pair_init(&p, 1, &ab, NULL);

	for (uint32_t i = 0; i < 20; i++)
		send_ab(&p, i, 1500);
	struct tern_link_stats s;
	tern_sim_link_stats(p.sim, p.link, 0, &s);
	assert_int_equal(s.sent, 20);
	assert_int_equal(s.queue_drops, 10);

	/* 1.2 ms later one datagram has left: room for one more, then none, not
	 * even for a small one. */
	tern_sim_run_until(p.sim, 1200 * US);
	send_ab(&p, 100, 1500);
	send_ab(&p, 101, 1500);
	send_ab(&p, 102, 40);
	tern_sim_link_stats(p.sim, p.link, 0, &s);
	assert_int_equal(s.sent, 23);
	assert_int_equal(s.queue_drops, 12);

	tern_sim_run_until(p.sim, SEC);
	assert_int_equal(p.rb->n, 11);
	for (size_t i = 0; i < 10; i++) {
		assert_int_equal(p.rb->r[i].id, i);
		assert_int_equal(p.rb->r[i].at, 5 * MS + (tern_time)(i + 1) * 1200 * US);
	}
	assert_int_equal(p.rb->r[10].id, 100);
	assert_int_equal(p.rb->r[10].at, 5 * MS + 11 * 1200 * US);
	tern_sim_link_stats(p.sim, p.link, 0, &s);
	assert_int_equal(s.delivered, 11);
	assert_int_equal(s.sent, s.delivered + s.queue_drops);

	/* Without a rate the queue limit means nothing. */
	struct tern_link_params nolimit = { .queue_bytes = 100 };
	struct pair q;
	pair_init(&q, 1, &nolimit, NULL);
	for (uint32_t i = 0; i < 20; i++)
		send_ab(&q, i, 1500);
	tern_sim_run_until(q.sim, SEC);
	assert_int_equal(q.rb->n, 20);
	pair_fini(&q);
	pair_fini(&p);
}

/* ------------------------------------------------------------------ faults */

/* |observed - n p| within 6 standard deviations of a binomial(n, p). */
static void assert_binomial(uint64_t observed, uint64_t n, double prob)
{
	double mean = (double)n * prob;
	double sd = sqrt((double)n * prob * (1.0 - prob));
	if (fabs((double)observed - mean) > 6.0 * sd + 1.0)
		fail_msg("observed %llu, expected %.1f +- %.1f", (unsigned long long)observed,
			 mean, 6.0 * sd);
}

#define FAULT_N 100000u

/* 100k datagrams through a link with every fault on, then every counter reconciled
 * with what B actually saw. */
static void test_fault_rates(void **state)
{
	(void)state;
	struct tern_link_params ab = {
		.delay = 1 * MS, .loss = 0.1, .duplicate = 0.05, .reorder = 0.05,
		.corrupt = 0.02,
	};
	struct pair p;
	pair_init(&p, 0x5eed, &ab, NULL);
	for (uint32_t i = 0; i < FAULT_N; i++) {
		tern_sim_run_until(p.sim, (tern_time)i * 10 * US);
		send_ab(&p, i, ID_BYTES + (i % 64));
	}
	tern_sim_run_until(p.sim, 10 * SEC);

	struct tern_link_stats s;
	tern_sim_link_stats(p.sim, p.link, 0, &s);
	assert_int_equal(s.sent, FAULT_N);
	assert_int_equal(s.queue_drops, 0);
	assert_int_equal(s.delivered, p.rb->n);
	uint64_t kept = s.sent - s.lost;
	assert_int_equal(s.delivered, kept + s.duplicated);

	assert_binomial(s.lost, FAULT_N, 0.1);
	assert_binomial(s.duplicated, kept, 0.05);
	assert_binomial(s.reordered, kept, 0.05);
	assert_binomial(s.corrupted, kept, 0.02);

	/* What arrived: each datagram at most twice, corrupted ones by exactly one bit,
	 * late ones exactly as many as were held back. */
	uint8_t *copies = calloc(FAULT_N, 1);
	uint8_t *bad = calloc(FAULT_N, 1);
	assert_non_null(copies);
	assert_non_null(bad);
	uint64_t unique = 0, dups = 0, corrupted = 0, late = 0, bytes = 0;
	uint32_t highest = 0;
	bool any = false;
	for (size_t i = 0; i < p.rb->n; i++) {
		const struct rx_rec *r = &p.rb->r[i];
		assert_true(r->id < FAULT_N);
		assert_int_equal(r->len, ID_BYTES + (r->id % 64));
		assert_true(r->bit_errors <= 1);
		bytes += r->len;
		if (copies[r->id]++) {
			dups++;
			/* A duplicate carries the same bytes as its first copy. */
			assert_int_equal(bad[r->id], r->bit_errors);
			continue;
		}
		unique++;
		bad[r->id] = (uint8_t)r->bit_errors;
		corrupted += r->bit_errors;
		if (any && r->id < highest)
			late++;
		if (!any || r->id > highest)
			highest = r->id;
		any = true;
	}
	assert_int_equal(unique, kept);
	assert_int_equal(dups, s.duplicated);
	assert_int_equal(corrupted, s.corrupted);
	assert_int_equal(late, s.reordered);
	assert_int_equal(bytes, s.bytes_delivered);
	for (uint32_t i = 0; i < FAULT_N; i++)
		assert_true(copies[i] <= 2);
	free(copies);
	free(bad);
	pair_fini(&p);
}

static void test_loss_all_or_nothing(void **state)
{
	(void)state;
	struct tern_link_params all = { .loss = 1.0 }, none = { .loss = 0.0 };
	struct pair p;
	pair_init(&p, 9, &all, &none);
	for (uint32_t i = 0; i < 1000; i++) {
		send_ab(&p, i, 40);
		send_ba(&p, i, 40);
	}
	tern_sim_run_until(p.sim, SEC);
	assert_int_equal(p.rb->n, 0);
	assert_int_equal(p.ra->n, 1000);
	struct tern_link_stats s;
	tern_sim_link_stats(p.sim, p.link, 0, &s);
	assert_int_equal(s.lost, 1000);
	assert_int_equal(s.delivered, 0);
	pair_fini(&p);
}

/* Jitter spreads arrivals inside [send + delay, send + delay + jitter] but never
 * reorders, even when the jitter is far larger than the spacing. */
static void test_jitter_keeps_order(void **state)
{
	(void)state;
	struct tern_link_params ab = { .delay = 1 * MS, .jitter = 5 * MS };
	struct pair p;
	pair_init(&p, 77, &ab, NULL);
	for (uint32_t i = 0; i < 2000; i++) {
		tern_sim_run_until(p.sim, (tern_time)i * 10 * US);
		send_ab(&p, i, ID_BYTES);
	}
	tern_sim_run_until(p.sim, SEC);
	assert_int_equal(p.rb->n, 2000);
	for (uint32_t i = 0; i < 2000; i++) {
		const struct rx_rec *r = &p.rb->r[i];
		assert_int_equal(r->id, i);
		tern_time extra = r->at - (tern_time)i * 10 * US - 1 * MS;
		assert_true(extra >= 0 && extra <= 5 * MS);
		if (i > 0)
			assert_true(r->at >= p.rb->r[i - 1].at);
	}
	struct tern_link_stats s;
	tern_sim_link_stats(p.sim, p.link, 0, &s);
	assert_int_equal(s.reordered, 0);

	/* Spaced wider than the jitter, nothing is clamped: the extra delay is uniform
	 * over [0, 5 ms] (mean 2.5 ms, sd of the mean of 1000 about 0.05 ms). */
	struct pair q;
	pair_init(&q, 78, &ab, NULL);
	for (uint32_t i = 0; i < 1000; i++) {
		tern_sim_run_until(q.sim, (tern_time)i * 10 * MS);
		send_ab(&q, i, ID_BYTES);
	}
	tern_sim_run_until(q.sim, 100 * SEC);
	assert_int_equal(q.rb->n, 1000);
	tern_time lo = TERN_TIME_NEVER, hi = 0;
	double sum = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		const struct rx_rec *r = &q.rb->r[i];
		assert_int_equal(r->id, i);
		tern_time extra = r->at - (tern_time)i * 10 * MS - 1 * MS;
		assert_true(extra >= 0 && extra <= 5 * MS);
		lo = extra < lo ? extra : lo;
		hi = extra > hi ? extra : hi;
		sum += (double)extra;
	}
	assert_true(lo < 100 * US);
	assert_true(hi > 4900 * US);
	assert_true(fabs(sum / 1000.0 - 2.5 * MS) < 0.3 * MS);
	pair_fini(&q);
	pair_fini(&p);
}

/* Reordering holds a datagram back by exactly reorder_delay; those sent after it
 * overtake it. With reorder_delay 0 the hold is max(delay, 1 ms). */
static void test_reorder(void **state)
{
	(void)state;
	struct tern_link_params ab = { .delay = 2 * MS, .reorder = 0.1, .reorder_delay = 5 * MS };
	struct tern_link_params ba = { .delay = 100 * US, .reorder = 0.1 };
	struct pair p;
	pair_init(&p, 4242, &ab, &ba);
	for (uint32_t i = 0; i < 1000; i++) {
		tern_sim_run_until(p.sim, (tern_time)i * 100 * US);
		send_ab(&p, i, ID_BYTES);
		send_ba(&p, i, ID_BYTES);
	}
	tern_sim_run_until(p.sim, 10 * SEC);
	assert_int_equal(p.rb->n, 1000);
	assert_int_equal(p.ra->n, 1000);

	uint64_t held = 0, out_of_order = 0;
	for (size_t i = 0; i < 1000; i++) {
		const struct rx_rec *r = &p.rb->r[i];
		tern_time sent = (tern_time)r->id * 100 * US;
		if (r->at == sent + 2 * MS + 5 * MS)
			held++;
		else
			assert_int_equal(r->at, sent + 2 * MS);
		if (i > 0 && r->id < p.rb->r[i - 1].id)
			out_of_order++;
	}
	struct tern_link_stats s;
	tern_sim_link_stats(p.sim, p.link, 0, &s);
	assert_int_equal(held, s.reordered);
	assert_true(held > 50 && held < 150);
	assert_true(out_of_order > 0);

	held = 0;
	for (size_t i = 0; i < 1000; i++) {
		const struct rx_rec *r = &p.ra->r[i];
		tern_time sent = (tern_time)r->id * 100 * US;
		if (r->at == sent + 100 * US + 1 * MS)
			held++;
		else
			assert_int_equal(r->at, sent + 100 * US);
	}
	tern_sim_link_stats(p.sim, p.link, 1, &s);
	assert_int_equal(held, s.reordered);
	assert_true(held > 50);
	pair_fini(&p);
}

/* A duplicate arrives at the same instant, right after its original, before any
 * datagram sent later at the same time. */
static void test_duplicate_order(void **state)
{
	(void)state;
	struct tern_link_params ab = { .delay = 1 * MS, .duplicate = 1.0 };
	struct pair p;
	pair_init(&p, 3, &ab, NULL);
	for (uint32_t i = 0; i < 5; i++)
		send_ab(&p, i, ID_BYTES);
	assert_true(tern_sim_step(p.sim, TERN_TIME_NEVER));
	assert_int_equal(p.rb->n, 10);
	for (size_t i = 0; i < 10; i++) {
		assert_int_equal(p.rb->r[i].id, i / 2);
		assert_int_equal(p.rb->r[i].at, 1 * MS);
	}
	assert_false(tern_sim_step(p.sim, TERN_TIME_NEVER));
	pair_fini(&p);
}

/* ------------------------------------------------------------------ the clock */

/* An event a minute away costs one step, whatever the distance. */
static void test_time_jump(void **state)
{
	(void)state;
	struct tern_link_params ab = { .delay = 60 * SEC };
	struct pair p;
	pair_init(&p, 1, &ab, NULL);
	assert_int_equal(tern_sim_next_event(p.sim), TERN_TIME_NEVER);
	assert_false(tern_sim_step(p.sim, TERN_TIME_NEVER));

	send_ab(&p, 1, 64);
	assert_int_equal(tern_sim_next_event(p.sim), 60 * SEC);
	assert_false(tern_sim_step(p.sim, 60 * SEC - 1));
	assert_int_equal(tern_sim_now(p.sim), 0);
	assert_int_equal(p.rb->n, 0);

	int steps = 0;
	while (tern_sim_step(p.sim, TERN_TIME_NEVER))
		steps++;
	assert_int_equal(steps, 1);
	assert_int_equal(tern_sim_now(p.sim), 60 * SEC);
	assert_int_equal(p.rb->n, 1);
	assert_int_equal(p.rb->r[0].at, 60 * SEC);

	/* run_until lands exactly on its target, with or without events. */
	tern_sim_run_until(p.sim, 3600 * SEC);
	assert_int_equal(tern_sim_now(p.sim), 3600 * SEC);
	tern_sim_run_until(p.sim, 10 * SEC);  /* never backwards */
	assert_int_equal(tern_sim_now(p.sim), 3600 * SEC);
	pair_fini(&p);
}

/* B answers every datagram from inside its receive hook; the answers reach A one
 * delay later. Many injections during one delivery grow the event heap while the
 * simulator is walking it. */
static void test_inject_from_rx(void **state)
{
	(void)state;
	struct tern_link_params ab = { .delay = 2 * MS }, ba = { .delay = 3 * MS };
	struct pair p;
	pair_init(&p, 1, &ab, &ba);
	p.rb->echo = 1000;
	for (uint32_t i = 0; i < 1000; i++)
		send_ab(&p, i, ID_BYTES + 8);
	tern_sim_run_until(p.sim, SEC);
	assert_int_equal(p.rb->n, 1000);
	assert_int_equal(p.ra->n, 1000);
	for (uint32_t i = 0; i < 1000; i++) {
		assert_int_equal(p.ra->r[i].id, i + 1000000);
		assert_int_equal(p.ra->r[i].at, 5 * MS);
		assert_int_equal(p.ra->r[i].bit_errors, 0);
	}

	/* On an ideal wire an answer sent during a step waits for the next step, at
	 * the same instant: a step always ends. */
	struct pair q;
	pair_init(&q, 1, NULL, NULL);
	q.rb->echo = 1;
	send_ab(&q, 7, ID_BYTES);
	assert_true(tern_sim_step(q.sim, TERN_TIME_NEVER));
	assert_int_equal(q.rb->n, 1);
	assert_int_equal(q.ra->n, 0);
	assert_int_equal(tern_sim_next_event(q.sim), 0);
	assert_true(tern_sim_step(q.sim, TERN_TIME_NEVER));
	assert_int_equal(q.ra->n, 1);
	assert_int_equal(q.ra->r[0].at, 0);
	assert_false(tern_sim_step(q.sim, TERN_TIME_NEVER));
	pair_fini(&q);
	pair_fini(&p);
}

/* A steady stream of large datagrams, each delivered before the next is sent: the
 * pools recycle (this runs clean under the leak checker too). */
static void test_large_datagrams(void **state)
{
	(void)state;
	struct tern_link_params ab = { .delay = 1 * MS, .duplicate = 0.5 };
	struct pair p;
	pair_init(&p, 11, &ab, NULL);
	for (uint32_t i = 0; i < 200; i++) {
		send_ab(&p, i, i % 2 ? 65535 : 2049 + i);
		tern_sim_run_until(p.sim, (tern_time)(i + 1) * 2 * MS);
	}
	struct tern_link_stats s;
	tern_sim_link_stats(p.sim, p.link, 0, &s);
	assert_int_equal(s.sent, 200);
	assert_true(s.duplicated > 50 && s.duplicated < 150);
	assert_int_equal(s.delivered, 200 + s.duplicated);
	assert_int_equal(p.rb->n, s.delivered);
	for (size_t i = 0; i < p.rb->n; i++)
		assert_int_equal(p.rb->r[i].bit_errors, 0);
	/* Some left in flight at destroy: their memory goes with the simulation. */
	send_ab(&p, 1000, 65535);
	send_ab(&p, 1001, 100);
	pair_fini(&p);
}

/* ------------------------------------------------------------------ routing */

static void test_routing(void **state)
{
	(void)state;
	struct tern_sim *sim;
	assert_int_equal(tern_sim_create(1, &sim), 0);
	struct recorder *rec[4];
	const uint32_t addr[4] = { 0x0a000001u, 0x0a000002u, 0x0a000003u, 0x0a000004u };
	int node[4];
	for (int i = 0; i < 4; i++) {
		rec[i] = rec_new(0, 0);
		struct tern_addr a = v4(addr[i]);
		node[i] = tern_sim_add_endpoint(sim, &a, rec_rx, rec[i]);
		assert_int_equal(node[i], i);
	}
	/* A hub (node 0) with a link to each of the others; different delays tell
	 * which link carried a datagram. */
	int link[3];
	for (int i = 1; i < 4; i++) {
		struct tern_link_params lp = { .delay = i * MS };
		link[i - 1] = tern_sim_link(sim, node[0], node[i], &lp, &lp);
		assert_int_equal(link[i - 1], i - 1);
	}
	uint8_t pkt[ID_BYTES];
	make_pkt(pkt, sizeof pkt, addr[0], addr[2], 2);
	assert_int_equal(tern_sim_inject(sim, node[0], pkt, sizeof pkt), 0);
	make_pkt(pkt, sizeof pkt, addr[0], addr[3], 3);
	assert_int_equal(tern_sim_inject(sim, node[0], pkt, sizeof pkt), 0);
	make_pkt(pkt, sizeof pkt, addr[0], addr[1], 1);
	assert_int_equal(tern_sim_inject(sim, node[0], pkt, sizeof pkt), 0);
	/* Nobody owns 192.0.2.1: the hub's first link. */
	make_pkt(pkt, sizeof pkt, addr[0], 0xc0000201u, 9);
	assert_int_equal(tern_sim_inject(sim, node[0], pkt, sizeof pkt), 0);
	/* A leaf has one link, whatever the destination: back to the hub. */
	make_pkt(pkt, sizeof pkt, addr[3], addr[2], 4);
	assert_int_equal(tern_sim_inject(sim, node[3], pkt, sizeof pkt), 0);
	tern_sim_run_until(sim, SEC);

	assert_int_equal(rec[1]->n, 2);
	assert_int_equal(rec[1]->r[0].id, 1);
	assert_int_equal(rec[1]->r[1].id, 9);
	assert_int_equal(rec[1]->r[0].at, 1 * MS);
	assert_int_equal(rec[2]->n, 1);
	assert_int_equal(rec[2]->r[0].id, 2);
	assert_int_equal(rec[2]->r[0].at, 2 * MS);
	assert_int_equal(rec[3]->n, 1);
	assert_int_equal(rec[3]->r[0].id, 3);
	assert_int_equal(rec[3]->r[0].at, 3 * MS);
	assert_int_equal(rec[0]->n, 1);
	assert_int_equal(rec[0]->r[0].id, 4);
	assert_int_equal(rec[0]->r[0].at, 3 * MS);

	struct tern_link_stats s;
	tern_sim_link_stats(sim, link[0], 0, &s);
	assert_int_equal(s.sent, 2);
	tern_sim_link_stats(sim, link[2], 1, &s);
	assert_int_equal(s.sent, 1);
	assert_int_equal(tern_sim_unroutable(sim), 0);
	assert_null(tern_sim_stack(sim, node[0]));
	assert_null(tern_sim_stack(sim, 99));
	tern_sim_destroy(sim);
	for (int i = 0; i < 4; i++)
		rec_free(rec[i]);
}

/* A link made after a node has sent takes the traffic for its far end's address
 * from then on, even for a destination the node sent to just before (and that
 * went to its first link then): no route is remembered past a new link. */
static void test_routing_new_link(void **state)
{
	(void)state;
	struct tern_sim *sim;
	assert_int_equal(tern_sim_create(1, &sim), 0);
	struct recorder *rec[3];
	const uint32_t addr[3] = { 0x0a000001u, 0x0a000002u, 0x0a000003u };
	int node[3];
	for (int i = 0; i < 3; i++) {
		rec[i] = rec_new(0, 0);
		struct tern_addr a = v4(addr[i]);
		node[i] = tern_sim_add_endpoint(sim, &a, rec_rx, rec[i]);
	}
	struct tern_link_params lp = { .delay = MS };
	assert_int_equal(tern_sim_link(sim, node[0], node[1], &lp, &lp), 0);
	uint8_t pkt[ID_BYTES];
	make_pkt(pkt, sizeof pkt, addr[0], addr[2], 1);
	assert_int_equal(tern_sim_inject(sim, node[0], pkt, sizeof pkt), 0);
	make_pkt(pkt, sizeof pkt, addr[0], addr[2], 2);
	assert_int_equal(tern_sim_inject(sim, node[0], pkt, sizeof pkt), 0);
	assert_int_equal(tern_sim_link(sim, node[0], node[2], &lp, &lp), 1);
	make_pkt(pkt, sizeof pkt, addr[0], addr[2], 3);
	assert_int_equal(tern_sim_inject(sim, node[0], pkt, sizeof pkt), 0);
	/* And back again to the node sent to before the one before. */
	make_pkt(pkt, sizeof pkt, addr[0], addr[1], 4);
	assert_int_equal(tern_sim_inject(sim, node[0], pkt, sizeof pkt), 0);
	make_pkt(pkt, sizeof pkt, addr[0], addr[2], 5);
	assert_int_equal(tern_sim_inject(sim, node[0], pkt, sizeof pkt), 0);
	tern_sim_run_until(sim, SEC);

	assert_int_equal(rec[1]->n, 3);
	assert_int_equal(rec[1]->r[0].id, 1);
	assert_int_equal(rec[1]->r[1].id, 2);
	assert_int_equal(rec[1]->r[2].id, 4);
	assert_int_equal(rec[2]->n, 2);
	assert_int_equal(rec[2]->r[0].id, 3);
	assert_int_equal(rec[2]->r[1].id, 5);
	tern_sim_destroy(sim);
	for (int i = 0; i < 3; i++)
		rec_free(rec[i]);
}

static void test_unroutable(void **state)
{
	(void)state;
	struct tern_sim *sim;
	assert_int_equal(tern_sim_create(1, &sim), 0);
	struct tern_addr a = v4(ADDR_A), b = v4(ADDR_B);
	int na = tern_sim_add_endpoint(sim, &a, NULL, NULL);
	int nb = tern_sim_add_endpoint(sim, &b, NULL, NULL);
	uint8_t pkt[40];
	make_pkt(pkt, sizeof pkt, ADDR_A, ADDR_B, 1);
	assert_int_equal(tern_sim_inject(sim, na, pkt, sizeof pkt), -TERN_ENETUNREACH);
	assert_int_equal(tern_sim_inject(sim, nb, pkt, sizeof pkt), -TERN_ENETUNREACH);
	assert_int_equal(tern_sim_unroutable(sim), 2);
	/* Once linked, the same datagram goes (to an endpoint without a hook). */
	assert_int_equal(tern_sim_link(sim, na, nb, NULL, NULL), 0);
	assert_int_equal(tern_sim_inject(sim, na, pkt, sizeof pkt), 0);
	tern_sim_run_until(sim, SEC);
	struct tern_link_stats s;
	tern_sim_link_stats(sim, 0, 0, &s);
	assert_int_equal(s.delivered, 1);
	assert_int_equal(tern_sim_unroutable(sim), 2);
	tern_sim_destroy(sim);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	struct tern_sim *sim;
	assert_int_equal(tern_sim_create(1, &sim), 0);
	struct tern_addr a = v4(ADDR_A), b = v4(ADDR_B), none = { .family = TERN_AF_UNSPEC };
	int na = tern_sim_add_endpoint(sim, &a, NULL, NULL);
	int nb = tern_sim_add_endpoint(sim, &b, NULL, NULL);
	assert_int_equal(tern_sim_add_endpoint(sim, &none, NULL, NULL), -TERN_EINVAL);
	assert_int_equal(tern_sim_add_endpoint(sim, NULL, NULL, NULL), -TERN_EINVAL);
	assert_int_equal(tern_sim_add_stack(sim, NULL, NULL), -TERN_EINVAL);

	/* Links: unknown nodes, a loop, nonsense parameters. */
	assert_int_equal(tern_sim_link(sim, na, 7, NULL, NULL), -TERN_EINVAL);
	assert_int_equal(tern_sim_link(sim, -1, nb, NULL, NULL), -TERN_EINVAL);
	assert_int_equal(tern_sim_link(sim, na, na, NULL, NULL), -TERN_EINVAL);
	const struct tern_link_params bad[] = {
		{ .delay = -1 }, { .jitter = -5 }, { .reorder_delay = -1 }, { .loss = 1.5 },
		{ .duplicate = -0.1 }, { .reorder = NAN }, { .corrupt = 2.0 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(tern_sim_link(sim, na, nb, &bad[i], NULL), -TERN_EINVAL);
		assert_int_equal(tern_sim_link(sim, na, nb, NULL, &bad[i]), -TERN_EINVAL);
	}
	int link = tern_sim_link(sim, na, nb, NULL, NULL);
	assert_int_equal(link, 0);

	/* Sizes: an IPv4 header at least, 65535 at most. */
	static uint8_t pkt[65536];
	make_pkt(pkt, sizeof pkt, ADDR_A, ADDR_B, 1);
	assert_int_equal(tern_sim_inject(sim, na, pkt, 19), -TERN_EINVAL);
	assert_int_equal(tern_sim_inject(sim, na, pkt, 0), -TERN_EINVAL);
	assert_int_equal(tern_sim_inject(sim, na, pkt, 65536), -TERN_EINVAL);
	assert_int_equal(tern_sim_inject(sim, na, NULL, 40), -TERN_EINVAL);
	assert_int_equal(tern_sim_inject(sim, 5, pkt, 40), -TERN_EINVAL);
	assert_int_equal(tern_sim_inject(sim, -1, pkt, 40), -TERN_EINVAL);
	assert_int_equal(tern_sim_inject(sim, na, pkt, 20), 0);
	assert_int_equal(tern_sim_inject(sim, na, pkt, 65535), 0);

	/* Taps on links that do not exist, or at no known point. */
	assert_int_equal(tern_sim_tap(sim, 3, "/tmp/never.pcap", TERN_SIM_TAP_SEND), -TERN_EINVAL);
	assert_int_equal(tern_sim_tap(sim, link, "/tmp/never.pcap", (enum tern_sim_tap_point)7),
			 -TERN_EINVAL);
	assert_int_equal(tern_sim_tap(sim, link, "/nonexistent-dir/x.pcap", TERN_SIM_TAP_SEND),
			 -TERN_ENOENT);

	struct tern_link_stats s;
	memset(&s, 0xff, sizeof s);
	tern_sim_link_stats(sim, 9, 0, &s);
	assert_int_equal(s.sent, 0);
	tern_sim_link_stats(sim, link, 2, &s);
	assert_int_equal(s.sent, 0);
	tern_sim_link_stats(sim, link, 0, &s);
	assert_int_equal(s.sent, 2);
	assert_int_equal(tern_sim_unroutable(sim), 0);
	tern_sim_destroy(sim);
	tern_sim_destroy(NULL);
}

/* ------------------------------------------------------------------ stacks */

struct reply_log {
	size_t n;
	tern_time at[8];
	uint32_t from[8];
	uint16_t seq[8];
	size_t len[8];
};

static void on_reply(void *ctx, tern_time now, const struct tern_addr *from, uint16_t id,
		     uint16_t seq, size_t data_len)
{
	struct reply_log *log = ctx;
	(void)id;
	assert_true(log->n < 8);
	log->at[log->n] = now;
	log->from[log->n] = from->u.v4;
	log->seq[log->n] = seq;
	log->len[log->n] = data_len;
	log->n++;
}

/* Stacks on the network: a ping crosses a link each way and the reply arrives one
 * round trip later, to the nanosecond; a stack's datagrams are routed by their
 * destination like an endpoint's; a stack is not an endpoint to inject from; a
 * stack with no link at all has its datagrams counted as unroutable. */
static void test_stacks(void **state)
{
	(void)state;
	struct tern_sim *sim;
	assert_int_equal(tern_sim_create(1, &sim), 0);
	struct reply_log log_a = { 0 };
	struct tern_stack_config cfg;
	struct tern_stack *sa, *sb, *sd;

	tern_stack_config_init(&cfg);
	cfg.addr = v4(ADDR_A);
	cfg.echo_reply = on_reply;
	cfg.echo_reply_ctx = &log_a;
	cfg.now = 12345;  /* ignored: the stack starts at the simulation's time */
	int na = tern_sim_add_stack(sim, &cfg, &sa);
	tern_stack_config_init(&cfg);
	cfg.addr = v4(ADDR_B);
	int nb = tern_sim_add_stack(sim, &cfg, &sb);
	struct recorder *rc = rec_new(0, 0);
	struct tern_addr ac = v4(0x0a000003u);
	int nc = tern_sim_add_endpoint(sim, &ac, rec_rx, rc);
	tern_stack_config_init(&cfg);
	cfg.addr = v4(0x0a000004u);
	int nd = tern_sim_add_stack(sim, &cfg, &sd);
	assert_int_equal(na, 0);
	assert_int_equal(nb, 1);
	assert_int_equal(nc, 2);
	assert_int_equal(nd, 3);
	assert_ptr_equal(tern_sim_stack(sim, na), sa);
	assert_ptr_equal(tern_sim_stack(sim, nd), sd);
	assert_null(tern_sim_stack(sim, nc));
	assert_int_equal(tern_stack_now(sa), 0);

	struct tern_link_params ab = { .delay = 5 * MS }, ba = { .delay = 7 * MS };
	struct tern_link_params ac_p = { .delay = 1 * MS };
	assert_int_equal(tern_sim_link(sim, na, nb, &ab, &ba), 0);
	assert_int_equal(tern_sim_link(sim, na, nc, &ac_p, &ac_p), 1);

	tern_sim_run_until(sim, 100 * MS);
	struct tern_addr dst_b = v4(ADDR_B), dst_c = v4(0x0a000003u), dst_a = v4(ADDR_A);
	assert_int_equal(tern_stack_ping(sa, tern_sim_now(sim), &dst_b, 1, 7, 56), 0);
	assert_int_equal(tern_stack_ping(sa, tern_sim_now(sim), &dst_c, 1, 8, 10), 0);
	tern_sim_run_until(sim, SEC);

	assert_int_equal(log_a.n, 1);
	assert_int_equal(log_a.at[0], 112 * MS);
	assert_int_equal(log_a.from[0], ADDR_B);
	assert_int_equal(log_a.seq[0], 7);
	assert_int_equal(log_a.len[0], 56);
	assert_int_equal(tern_stack_counter(sb, TERN_CTR_IcmpInEchos), 1);
	assert_int_equal(tern_stack_counter(sb, TERN_CTR_IcmpOutEchoReps), 1);
	assert_int_equal(tern_stack_counter(sa, TERN_CTR_IcmpInEchoReps), 1);

	/* The endpoint saw A's echo request: 20 + 8 + 10 bytes, ICMP type 8. */
	assert_int_equal(rc->n, 1);
	assert_int_equal(rc->r[0].at, 101 * MS);
	assert_int_equal(rc->r[0].len, 38);

	/* Only endpoints inject. */
	uint8_t pkt[40];
	make_pkt(pkt, sizeof pkt, ADDR_A, ADDR_B, 1);
	assert_int_equal(tern_sim_inject(sim, na, pkt, sizeof pkt), -TERN_EINVAL);

	/* D has no link: its ping is emitted and counted as unroutable. */
	assert_int_equal(tern_sim_unroutable(sim), 0);
	assert_int_equal(tern_stack_ping(sd, tern_sim_now(sim), &dst_a, 1, 1, 8), 0);
	assert_int_equal(tern_sim_unroutable(sim), 1);
	tern_sim_run_until(sim, 2 * SEC);
	assert_int_equal(log_a.n, 1);

	struct tern_link_stats s;
	tern_sim_link_stats(sim, 0, 0, &s);
	assert_int_equal(s.sent, 1);
	assert_int_equal(s.bytes_delivered, 20 + 8 + 56);
	tern_sim_link_stats(sim, 0, 1, &s);
	assert_int_equal(s.delivered, 1);
	tern_sim_destroy(sim);
	rec_free(rc);
}

static void count_watch(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	(void)now;
	(void)pkt;
	(void)len;
	(*(int *)ctx)++;
}

/* Stacks' header-sized datagrams behind one already queued take the short path,
 * through the direction their node remembers. That must follow the direction
 * table when it moves (links added elsewhere: a stale pointer shows under ASan,
 * as its realloc always moves) and give way to a tap added while one is queued. */
static void test_stacks_route_kept(void **state)
{
	(void)state;
	struct tern_sim *sim;
	assert_int_equal(tern_sim_create(1, &sim), 0);
	struct reply_log log_a = { 0 };
	struct tern_stack_config cfg;
	struct tern_stack *sa, *sb;
	tern_stack_config_init(&cfg);
	cfg.addr = v4(ADDR_A);
	cfg.echo_reply = on_reply;
	cfg.echo_reply_ctx = &log_a;
	int na = tern_sim_add_stack(sim, &cfg, &sa);
	tern_stack_config_init(&cfg);
	cfg.addr = v4(ADDR_B);
	int nb = tern_sim_add_stack(sim, &cfg, &sb);
	struct tern_link_params p = { .delay = 1 * MS };
	assert_int_equal(tern_sim_link(sim, na, nb, &p, &p), 0);
	struct tern_addr dst_b = v4(ADDR_B);

	/* Two pings at once each way: the second of each pair is appended behind
	 * the first. */
	assert_int_equal(tern_stack_ping(sa, tern_sim_now(sim), &dst_b, 1, 1, 8), 0);
	assert_int_equal(tern_stack_ping(sa, tern_sim_now(sim), &dst_b, 1, 2, 8), 0);
	tern_sim_run_until(sim, 100 * MS);
	assert_int_equal(log_a.n, 2);

	/* Twenty links between endpoints that neither stack touches: the direction
	 * table is reallocated under both stacks' remembered routes. */
	struct recorder *rc = rec_new(0, 0);
	int prev = -1;
	for (int i = 0; i < 21; i++) {
		struct tern_addr a = v4(0x0a000100u + (uint32_t)i);
		int id = tern_sim_add_endpoint(sim, &a, rec_rx, rc);
		assert_true(id >= 0);
		if (prev >= 0)
			assert_true(tern_sim_link(sim, prev, id, &p, &p) > 0);
		prev = id;
	}
	assert_int_equal(tern_stack_ping(sa, tern_sim_now(sim), &dst_b, 1, 3, 8), 0);
	assert_int_equal(tern_stack_ping(sa, tern_sim_now(sim), &dst_b, 1, 4, 8), 0);
	tern_sim_run_until(sim, 200 * MS);
	assert_int_equal(log_a.n, 4);
	assert_int_equal(log_a.at[3], 102 * MS);

	/* A tap opened between two pings, the first in flight, sees everything after
	 * it: the second ping, which would have been appended behind the first,
	 * included (7 = all 8 sends and arrivals but the first ping's send). */
	int seen = 0;
	assert_int_equal(tern_stack_ping(sa, tern_sim_now(sim), &dst_b, 1, 5, 8), 0);
	assert_int_equal(tern_sim_watch(sim, 0, TERN_SIM_TAP_SEND, count_watch, &seen), 0);
	assert_int_equal(tern_sim_watch(sim, 0, TERN_SIM_TAP_RECV, count_watch, &seen), 0);
	assert_int_equal(tern_stack_ping(sa, tern_sim_now(sim), &dst_b, 1, 6, 8), 0);
	tern_sim_run_until(sim, 300 * MS);
	assert_int_equal(log_a.n, 6);
	assert_int_equal(seen, 7);

	struct tern_link_stats s;
	for (int dir = 0; dir < 2; dir++) {
		tern_sim_link_stats(sim, 0, dir, &s);
		assert_int_equal(s.sent, 6);
		assert_int_equal(s.delivered, 6);
		assert_int_equal(s.bytes_delivered, 6 * (20 + 8 + 8));
	}
	assert_int_equal(rc->n, 0);
	tern_sim_destroy(sim);
	rec_free(rc);
}

/* ------------------------------------------------------------------ taps */

static void tmp_path(char *buf, size_t len, const char *name)
{
	const char *dir = getenv("TERN_TEST_TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(buf, len, "%s/test_sim_link_%ld_%s", dir, (long)getpid(), name);
}

/* The SEND tap sees the original when it was sent; the RECV tap sees the corrupted
 * copy when it arrived. Both directions go into each file. */
static void test_taps(void **state)
{
	(void)state;
	char send_path[512], recv_path[512];
	tmp_path(send_path, sizeof send_path, "send.pcap");
	tmp_path(recv_path, sizeof recv_path, "recv.pcap");

	struct tern_link_params ab = { .delay = 4 * MS, .corrupt = 1.0 };
	struct tern_link_params ba = { .delay = 1 * MS };
	struct pair p;
	pair_init(&p, 5, &ab, &ba);
	assert_int_equal(tern_sim_tap(p.sim, p.link, send_path, TERN_SIM_TAP_SEND), 0);
	assert_int_equal(tern_sim_tap(p.sim, p.link, recv_path, TERN_SIM_TAP_RECV), 0);
	tern_sim_run_until(p.sim, 10 * MS);
	send_ab(&p, 1, 60);
	tern_sim_run_until(p.sim, 11 * MS);
	send_ba(&p, 2, 50);
	tern_sim_run_until(p.sim, SEC);
	pair_fini(&p);  /* closes the taps */

	uint8_t orig_ab[60], orig_ba[50];
	make_pkt(orig_ab, sizeof orig_ab, ADDR_A, ADDR_B, 1);
	make_pkt(orig_ba, sizeof orig_ba, ADDR_B, ADDR_A, 2);

	struct tern_pcap_reader *r;
	tern_time ts;
	const uint8_t *pkt;
	size_t len;
	assert_int_equal(tern_pcap_reader_open(send_path, &r), 0);
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 1);
	assert_int_equal(ts, 10 * MS);
	assert_int_equal(len, 60);
	assert_memory_equal(pkt, orig_ab, 60);
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 1);
	assert_int_equal(ts, 11 * MS);
	assert_int_equal(len, 50);
	assert_memory_equal(pkt, orig_ba, 50);
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 0);
	tern_pcap_reader_close(r);

	assert_int_equal(tern_pcap_reader_open(recv_path, &r), 0);
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 1);
	assert_int_equal(ts, 12 * MS);  /* b->a: sent at 11 ms, 1 ms delay */
	assert_int_equal(len, 50);
	assert_memory_equal(pkt, orig_ba, 50);
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 1);
	assert_int_equal(ts, 14 * MS);
	assert_int_equal(len, 60);
	unsigned flipped = 0;
	for (size_t i = 0; i < 60; i++)
		flipped += popcount8(pkt[i] ^ orig_ab[i]);
	assert_int_equal(flipped, 1);
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 0);
	tern_pcap_reader_close(r);
	unlink(send_path);
	unlink(recv_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay_exact),
		cmocka_unit_test(test_bandwidth),
		cmocka_unit_test(test_drop_tail),
		cmocka_unit_test(test_fault_rates),
		cmocka_unit_test(test_loss_all_or_nothing),
		cmocka_unit_test(test_jitter_keeps_order),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_duplicate_order),
		cmocka_unit_test(test_time_jump),
		cmocka_unit_test(test_inject_from_rx),
		cmocka_unit_test(test_large_datagrams),
		cmocka_unit_test(test_routing),
		cmocka_unit_test(test_routing_new_link),
		cmocka_unit_test(test_unroutable),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_stacks),
		cmocka_unit_test(test_stacks_route_kept),
		cmocka_unit_test(test_taps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
