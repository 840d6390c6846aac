/*
 * tests/sim/test_sim_determinism.c: a simulation replays exactly from its seed.
 *
 * Two tern stacks ping each other across a link that loses, jitters, queues,
 * duplicates, reorders and corrupts, with pcap taps on both sides of the link.
 * Running it twice with one seed must give byte-identical captures and identical
 * counters; another seed must give a different capture. The taps are also checked
 * against the link's counters, and the stacks against the faults they were fed.
 */
#define _POSIX_C_SOURCE 200809L

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
#define SEC TERN_NS_PER_SEC
#define PINGS 400

struct replies {
	uint64_t n;
	uint64_t digest;   /* folds in every reply's time, source, id, seq and size */
};

struct outcome {
	struct replies rep[2];
	struct tern_link_stats link[2];
	uint64_t counters[2][TERN_CTR_COUNT];
	uint64_t unroutable;
};

static void on_reply(void *ctx, tern_time now, const struct tern_addr *from, uint16_t id,
		     uint16_t seq, size_t data_len)
{
	struct replies *r = ctx;
	const uint64_t parts[] = { (uint64_t)now, from->u.v4, id, seq, data_len };
	r->n++;
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		r->digest = (r->digest ^ parts[i]) * 0x100000001b3ull;  /* FNV-1a style */
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	const char *dir = getenv("TERN_TEST_TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(buf, len, "%s/test_sim_determinism_%ld_%s", dir, (long)getpid(), name);
}

/* One run: 400 pings each way, 2 ms apart, over a faulty 2 Mbit/s link. The
 * stacks' own seeds stay fixed; only the network's seed varies. */
static void run(uint64_t seed, const char *recv_path, const char *send_path, struct outcome *out)
{
	memset(out, 0, sizeof *out);
	struct tern_sim *sim;
	assert_int_equal(tern_sim_create(seed, &sim), 0);

	struct tern_stack *st[2];
	const struct tern_addr addr[2] = { tern_addr_v4(10, 0, 0, 1), tern_addr_v4(10, 0, 0, 2) };
	int node[2];
	for (int i = 0; i < 2; i++) {
		struct tern_stack_config cfg;
		tern_stack_config_init(&cfg);
		cfg.addr = addr[i];
		cfg.seed = 1000 + (uint64_t)i;
		cfg.echo_reply = on_reply;
		cfg.echo_reply_ctx = &out->rep[i];
		node[i] = tern_sim_add_stack(sim, &cfg, &st[i]);
		assert_int_equal(node[i], i);
	}
	const struct tern_link_params lp = {
		.delay = 5 * MS, .jitter = 3 * MS, .rate_bps = 2000000, .queue_bytes = 6000,
		.loss = 0.1, .duplicate = 0.05, .reorder = 0.1, .corrupt = 0.05,
	};
	int link = tern_sim_link(sim, node[0], node[1], &lp, &lp);
	assert_int_equal(link, 0);
	assert_int_equal(tern_sim_tap(sim, link, recv_path, TERN_SIM_TAP_RECV), 0);
	assert_int_equal(tern_sim_tap(sim, link, send_path, TERN_SIM_TAP_SEND), 0);

	for (uint16_t i = 0; i < PINGS; i++) {
		tern_sim_run_until(sim, (tern_time)i * 2 * MS);
		tern_time now = tern_sim_now(sim);
		assert_int_equal(tern_stack_ping(st[0], now, &addr[1], 1, i, 100 + i % 400), 0);
		assert_int_equal(tern_stack_ping(st[1], now, &addr[0], 2, i, 300 + i % 500), 0);
	}
	tern_sim_run_until(sim, PINGS * 2 * MS + 2 * SEC);
	assert_int_equal(tern_sim_next_event(sim), TERN_TIME_NEVER);

	for (int d = 0; d < 2; d++) {
		tern_sim_link_stats(sim, link, d, &out->link[d]);
		tern_stack_counters(st[d], out->counters[d]);
	}
	out->unroutable = tern_sim_unroutable(sim);
	tern_sim_destroy(sim);  /* closes the taps */
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	uint8_t *buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static uint64_t count_records(const char *path)
{
	struct tern_pcap_reader *r;
	assert_int_equal(tern_pcap_reader_open(path, &r), 0);
	uint64_t n = 0;
	tern_time ts, last = 0;
	const uint8_t *pkt;
	size_t len;
	int rc;
	while ((rc = tern_pcap_read(r, &ts, &pkt, &len)) == 1) {
		assert_true(ts >= last);  /* a tap writes in time order */
		assert_true(len >= 20 && pkt[0] >> 4 == 4);
		last = ts;
		n++;
	}
	assert_int_equal(rc, 0);
	tern_pcap_reader_close(r);
	return n;
}

static bool same_file(const char *a, const char *b)
{
	size_t la, lb;
	uint8_t *fa = slurp(a, &la), *fb = slurp(b, &lb);
	bool same = la == lb && memcmp(fa, fb, la) == 0;
	free(fa);
	free(fb);
	return same;
}

/* The run exercised what it claims to: every fault fired in both directions, the
 * taps agree with the link's counters, and the stacks saw the corruption. */
static void check_outcome(const struct outcome *o, const char *recv_path, const char *send_path)
{
	uint64_t sent = 0, delivered = 0;
	for (int d = 0; d < 2; d++) {
		const struct tern_link_stats *s = &o->link[d];
		assert_true(s->lost > 0);
		assert_true(s->duplicated > 0);
		assert_true(s->reordered > 0);
		assert_true(s->corrupted > 0);
		assert_true(s->queue_drops > 0);
		assert_int_equal(s->delivered, s->sent - s->lost - s->queue_drops + s->duplicated);
		sent += s->sent;
		delivered += s->delivered;
	}
	assert_int_equal(count_records(send_path), sent);
	assert_int_equal(count_records(recv_path), delivered);
	assert_int_equal(o->unroutable, 0);

	/* Each stack sent its 400 requests plus one reply per request it accepted. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(o->counters[i][TERN_CTR_IcmpOutEchos], PINGS);
		assert_int_equal(o->counters[i][TERN_CTR_IcmpOutEchoReps],
				 o->counters[i][TERN_CTR_IcmpInEchos]);
		assert_int_equal(o->link[i].sent, PINGS + o->counters[i][TERN_CTR_IcmpOutEchoReps]);
		assert_true(o->rep[i].n > PINGS / 4 && o->rep[i].n < PINGS);
		assert_true(o->rep[i].n == o->counters[i][TERN_CTR_IcmpInEchoReps]);
	}
	/* Flipped bits were caught by a checksum or a length check somewhere. */
	uint64_t caught = 0;
	for (int i = 0; i < 2; i++)
		caught += o->counters[i][TERN_CTR_IpInHdrErrors] +
			  o->counters[i][TERN_CTR_IcmpInErrors] +
			  o->counters[i][TERN_CTR_IpInAddrErrors] +
			  o->counters[i][TERN_CTR_IpInDiscards] +
			  o->counters[i][TERN_CTR_IpInUnknownProtos];
	assert_true(caught > 0);
}

static void test_same_seed_same_capture(void **state)
{
	(void)state;
	char recv1[512], send1[512], recv2[512], send2[512], recv3[512], send3[512];
	tmp_path(recv1, sizeof recv1, "recv1.pcap");
	tmp_path(send1, sizeof send1, "send1.pcap");
	tmp_path(recv2, sizeof recv2, "recv2.pcap");
	tmp_path(send2, sizeof send2, "send2.pcap");
	tmp_path(recv3, sizeof recv3, "recv3.pcap");
	tmp_path(send3, sizeof send3, "send3.pcap");

	static struct outcome o1, o2, o3;
	run(0xdecafbad, recv1, send1, &o1);
	run(0xdecafbad, recv2, send2, &o2);
	run(0xdecafbae, recv3, send3, &o3);
	check_outcome(&o1, recv1, send1);
	check_outcome(&o3, recv3, send3);

	assert_true(same_file(recv1, recv2));
	assert_true(same_file(send1, send2));
	assert_memory_equal(&o1, &o2, sizeof o1);

	assert_false(same_file(recv1, recv3));
	assert_false(same_file(send1, send3));
	assert_true(memcmp(&o1.link, &o3.link, sizeof o1.link) != 0);

	const char *paths[] = { recv1, send1, recv2, send2, recv3, send3 };
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		unlink(paths[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_capture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
