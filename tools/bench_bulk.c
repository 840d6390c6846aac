/*
 * tools/bench_bulk.c: `tern bench bulk`, one-direction throughput on one core.
 *
 * A sender stack and a receiver stack share one simulated ideal wire (no rate
 * limit, no faults). The sender application writes the stream in 64 KiB writes;
 * the receiver application reads it in 64 KiB reads into one buffer and throws it
 * away. Both stacks, the network and both applications run in this thread, so the
 * wall time is the cost of everything a byte goes through: the send copy, segment
 * building and checksum, the wire's copy, input with its checksum check, the
 * receive queue and the read copy. Goodput is application bytes received over
 * wall time; virtual time only orders events.
 *
 * The wire copies the choice a Linux host makes for loopback: an MTU of 64 KiB
 * (tern's ceiling is 65535, the kernel's lo has 65536), so one 64 KiB write is
 * about one segment, and no propagation delay. A delay (--delay-us; 10 us was
 * tried) models nothing the loopback does and only spreads the segments over more
 * instants of the simulation, each carrying less: it measured 5-10 % more CPU per
 * byte. Buffers: Linux grows a receive buffer by itself up to tcp_rmem[2] (on
 * loopback the baseline ends at that ceiling); tern does not autotune the receive
 * side yet, so the receiver starts where Linux ends, at tern's tcp_rmem[2]
 * (net.ipv4.tcp_rmem = "4096 6291456 6291456" on the receiving stack; --rmem N
 * picks another size). The send buffer grows with the congestion window towards
 * tcp_wmem[2] by itself, as in Linux. On an ideal wire the window never limits the
 * rate, only how much is in flight: 1 MiB measured 10-20 % less CPU per byte
 * (fewer bytes in flight stay in the CPU's caches), while Linux's starting 128 KiB
 * gives a window below one 64 KiB-MTU segment, and the flow then crawls through
 * zero-window probes in virtual time.
 *
 * The stream carries a pattern that depends on each byte's offset with a prime
 * period, and one read in sixteen is compared in full, so a lost, repeated or
 * misplaced write shows without paying a full comparison on every byte.
 *
 * The Linux baseline (bench/linux_bulk.c) moves the same byte count over loopback
 * between a sender thread and a receiver thread. Each side runs three times (tern's
 * over one connection, the stream going on) and the report gives the median run:
 * on a shared host one run moves by a quarter with what the neighbours do.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "tern/errors.h"
#include "tern/sim.h"
#include "tern/socket.h"
#include "tern/sysctl.h"

#define BULK_PORT 5001
#define BULK_CHUNK 65536u          /* the write and read size */
#define BULK_PERIOD 65521u         /* the pattern's period: the largest prime below 64 Ki */
#define BULK_TARGET_GBPS 40.0
/* Runs per rate, tern's and the baseline's: the report gives the median. */
#define BULK_REPEAT 3

struct bulk {
	struct tern_sim *sim;
	struct tern_stack *tx, *rx;    /* 10.0.0.1 sends, 10.0.0.2 receives */
	int cfd, lfd, afd;
	uint8_t *pattern;              /* BULK_PERIOD + BULK_CHUNK bytes */
	uint8_t *buf;                  /* the receiver's read buffer */
};

struct bulk_result {
	uint64_t bytes, segments, acks, retrans, bad_samples;
	uint32_t mss;
	double wall_s, cpu_s, virtual_s;
	double gbps;
};

static void bulk_destroy(struct bulk *b)
{
	if (b->sim)
		tern_sim_destroy(b->sim);
	free(b->pattern);
	free(b->buf);
}

/* Two stacks on one wire, a listener, one connection established and accepted.
 * 0, or a negative errno with a line on stderr. */
static int bulk_setup(struct bulk *b, tern_time delay_ns, uint32_t mtu, const char *rmem)
{
	memset(b, 0, sizeof(*b));
	b->pattern = malloc(BULK_PERIOD + BULK_CHUNK);
	b->buf = malloc(BULK_CHUNK);
	if (!b->pattern || !b->buf || tern_sim_create(7, &b->sim) < 0)
		return -TERN_ENOMEM;
	for (size_t i = 0; i < BULK_PERIOD + BULK_CHUNK; i++)
		b->pattern[i] = (uint8_t)((i % BULK_PERIOD) * 131u + 7u);

	struct tern_stack_config cfg;
	tern_stack_config_init(&cfg);
	cfg.mtu = mtu;
	/* Loopback never computes or checks TCP checksums (CHECKSUM_PARTIAL on the
	 * way out is trusted on the way in); the simulated wire does the same. */
	cfg.tx_csum_offload = true;
	tern_addr_parse("10.0.0.1", &cfg.addr);
	cfg.seed = 1;
	int t = tern_sim_add_stack(b->sim, &cfg, &b->tx);
	tern_addr_parse("10.0.0.2", &cfg.addr);
	cfg.seed = 2;
	int r = tern_sim_add_stack(b->sim, &cfg, &b->rx);
	if (t < 0 || r < 0)
		return t < 0 ? t : r;
	struct tern_link_params wire = { .delay = delay_ns };
	int rc = tern_sim_link(b->sim, t, r, &wire, &wire);
	if (rc < 0)
		return rc;
	rc = tern_sysctl_set(b->rx, "net.ipv4.tcp_rmem", rmem);
	if (rc < 0)
		return rc;

	b->lfd = tern_socket(b->rx, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	struct tern_sockaddr any = { .port = BULK_PORT };
	any.addr.family = TERN_AF_INET;
	if (b->lfd < 0 || tern_bind(b->rx, b->lfd, &any) < 0 || tern_listen(b->rx, b->lfd, 1) < 0)
		return -TERN_EINVAL;
	b->cfd = tern_socket(b->tx, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	struct tern_sockaddr dst = { .addr = tern_stack_addr(b->rx), .port = BULK_PORT };
	if (b->cfd < 0)
		return b->cfd;
	rc = tern_connect(b->tx, b->cfd, &dst);
	if (rc < 0 && rc != -TERN_EINPROGRESS)
		return rc;
	b->afd = -1;
	while (b->afd < 0) {
		if (!tern_sim_step(b->sim, TERN_TIME_NEVER))
			return -TERN_ETIMEDOUT;
		b->afd = tern_accept(b->rx, b->lfd, NULL, TERN_SOCK_NONBLOCK);
		if (b->afd < 0 && b->afd != -TERN_EAGAIN)
			return b->afd;
	}
	/* The client's side of the handshake may still be on the wire. */
	tern_sim_run_until(b->sim, tern_sim_now(b->sim) + 2 * delay_ns);
	return 0;
}

/* Moves `bytes` from the sender's application to the receiver's. 0, or
 * -ETIMEDOUT when the network went quiet with bytes outstanding. */
static int bulk_run(struct bulk *b, uint64_t bytes, struct bulk_result *res)
{
	uint64_t sent = 0, got = 0, reads = 0;
	uint64_t out0 = tern_stack_counter(b->tx, TERN_CTR_TcpOutSegs);
	uint64_t ack0 = tern_stack_counter(b->rx, TERN_CTR_TcpOutSegs);
	uint64_t re0 = tern_stack_counter(b->tx, TERN_CTR_TcpRetransSegs);
	tern_time v0 = tern_sim_now(b->sim);
	int rc = 0;

	memset(res, 0, sizeof(*res));
	double w0 = bench_wall(), c0 = bench_cpu();
	while (got < bytes) {
		/* The sender writes until its buffer is full. */
		while (sent < bytes) {
			size_t n = bytes - sent < BULK_CHUNK ? (size_t)(bytes - sent) : BULK_CHUNK;
			ssize_t w = tern_send(b->tx, b->cfd, b->pattern + sent % BULK_PERIOD, n, 0);
			if (w <= 0)
				break;
			sent += (uint64_t)w;
		}
		bool moved = tern_sim_step(b->sim, TERN_TIME_NEVER);
		/* The receiver reads everything that is there. */
		ssize_t n;
		while ((n = tern_recv(b->rx, b->afd, b->buf, BULK_CHUNK, 0)) > 0) {
			if ((reads++ & 15) == 0 &&
			    memcmp(b->buf, b->pattern + got % BULK_PERIOD, (size_t)n) != 0)
				res->bad_samples++;
			got += (uint64_t)n;
			moved = true;
		}
		if (n < 0 && n != -TERN_EAGAIN) {
			fprintf(stderr, "tern bench bulk: recv: %s\n", tern_strerror((int)n));
			rc = (int)n;
			break;
		}
		if (!moved) {
			fprintf(stderr, "tern bench bulk: stalled with %llu of %llu bytes received\n",
				(unsigned long long)got, (unsigned long long)bytes);
			rc = -TERN_ETIMEDOUT;
			break;
		}
	}
	res->wall_s = bench_wall() - w0;
	res->cpu_s = bench_cpu() - c0;
	res->virtual_s = (double)(tern_sim_now(b->sim) - v0) / 1e9;
	res->bytes = got;
	res->segments = tern_stack_counter(b->tx, TERN_CTR_TcpOutSegs) - out0;
	res->acks = tern_stack_counter(b->rx, TERN_CTR_TcpOutSegs) - ack0;
	res->retrans = tern_stack_counter(b->tx, TERN_CTR_TcpRetransSegs) - re0;
	res->gbps = res->wall_s > 0 ? (double)got * 8 / res->wall_s / 1e9 : 0;
	int mss = 0;
	size_t len = sizeof(mss);
	if (tern_getsockopt(b->tx, b->cfd, TERN_SOL_TCP, TERN_TCP_MAXSEG, &mss, &len) == 0)
		res->mss = (uint32_t)mss;
	return rc;
}

/* Reads a positive integer option; false (and a line on stderr) when malformed. */
static bool bulk_opt(const struct bench_opts *o, const char *name, long long lo, long long hi,
		     long long *v)
{
	const char *s = bench_opt(o, name, NULL);
	if (!s)
		return true;
	char *end;
	long long x = strtoll(s, &end, 0);
	if (end != s && *end) {
		/* k, M, G in powers of ten; Ki, Mi, Gi in powers of two. */
		long long mul = *end == 'k' || *end == 'K' ? 1000 : *end == 'M' ? 1000000 :
				*end == 'G' ? 1000000000 : 0;
		if (mul && end[1] == 'i' && !end[2])
			mul = *end == 'G' ? 1ll << 30 : *end == 'M' ? 1 << 20 : 1 << 10;
		else if (end[1])
			mul = 0;
		x = mul && x >= 0 && x <= hi / mul ? x * mul : -1;
	}
	if (end == s || x < lo || x > hi) {
		fprintf(stderr, "tern bench bulk: --%s wants %lld..%lld\n", name, lo, hi);
		return false;
	}
	*v = x;
	return true;
}

int bench_bulk(const struct bench_opts *o, const struct bench_machine *m)
{
	long long bytes = o->quick ? 64ll << 20 : 4ll << 30;
	long long delay_us = 0, mtu = 65535, rmem = 6291456;
	static const char *const names[] = { "bytes", "delay-us", "mtu", "rmem" };
	if (!bench_opts_check(o, "bulk", names, sizeof(names) / sizeof(names[0]),
			      "--bytes N, --delay-us US, --mtu BYTES, --rmem BYTES"))
		return 2;
	if (!bulk_opt(o, "bytes", 1, 1ll << 40, &bytes) ||
	    !bulk_opt(o, "delay-us", 0, 1000000, &delay_us) ||
	    !bulk_opt(o, "mtu", 576, 65535, &mtu) ||
	    !bulk_opt(o, "rmem", 4096, 1ll << 30, &rmem))
		return 2;
	char rmem_s[64];
	snprintf(rmem_s, sizeof(rmem_s), "4096 %lld %lld", rmem, rmem > 6291456 ? rmem : 6291456);

	struct bulk b;
	int rc = bulk_setup(&b, (tern_time)delay_us * 1000, (uint32_t)mtu, rmem_s);
	if (rc < 0) {
		fprintf(stderr, "tern bench bulk: cannot set up the connection: %s\n", tern_strerror(rc));
		bulk_destroy(&b);
		return 1;
	}
	struct bulk_result runs[BULK_REPEAT], r;
	double tgbps[BULK_REPEAT];
	uint64_t bad = 0;
	bool intact = true;
	for (int k = 0; k < BULK_REPEAT; k++) {
		if (bulk_run(&b, (uint64_t)bytes, &runs[k]) < 0)
			rc = -1;
		tgbps[k] = runs[k].gbps;
		bad += runs[k].bad_samples;
		intact = intact && runs[k].bytes == (uint64_t)bytes;
	}
	r = runs[bench_median_index(tgbps, BULK_REPEAT)];
	bulk_destroy(&b);

	static char base[BULK_REPEAT][BENCH_BASE_LEN];
	double lrates[BULK_REPEAT];
	int brc = -1, mid = -1;
	double lgbps = NAN;
	if (!o->no_linux) {
		char nb[32];
		snprintf(nb, sizeof(nb), "%lld", bytes);
		const char *args[] = { "--bytes", nb, NULL };
		mid = bench_run_baseline_runs("linux-bulk", args, BULK_REPEAT, "gbps", base, lrates);
		if (mid >= 0) {
			brc = 0;
			lgbps = lrates[mid];
		}
	}
	const char *lbase = base[mid >= 0 ? mid : 0];
	double ratio = isfinite(lgbps) && lgbps > 0 ? r.gbps / lgbps : NAN;
	/* On a shared machine the thread may wait for a core: the rate per CPU
	 * second says what one core does when it has it. */
	double gbps_cpu = r.cpu_s > 0 ? (double)r.bytes * 8 / r.cpu_s / 1e9 : 0;
	double segs_per_s = r.wall_s > 0 ? (double)r.segments / r.wall_s : 0;
	/* The sender sends nothing but data once established, so its OutSegs are
	 * data segments. */
	double avg_seg = r.segments ? (double)r.bytes / (double)r.segments : 0;

	if (o->json) {
		struct bench_json j;
		bench_json_begin(&j, stdout);
		bench_json_head(&j, "bulk", o, m);
		bench_json_int(&j, "runs", BULK_REPEAT);
		bench_json_obj(&j, "tern");
		bench_json_num(&j, "gbps", r.gbps);
		bench_json_nums(&j, "gbps_runs", tgbps, BULK_REPEAT);
		bench_json_int(&j, "bytes", (int64_t)r.bytes);
		bench_json_num(&j, "wall_s", r.wall_s);
		bench_json_num(&j, "cpu_s", r.cpu_s);
		bench_json_num(&j, "gbps_cpu", gbps_cpu);
		bench_json_num(&j, "virtual_s", r.virtual_s);
		bench_json_int(&j, "segments", (int64_t)r.segments);
		bench_json_num(&j, "segments_per_s", segs_per_s);
		bench_json_num(&j, "avg_segment_bytes", avg_seg);
		bench_json_int(&j, "acks", (int64_t)r.acks);
		bench_json_int(&j, "retrans", (int64_t)r.retrans);
		bench_json_int(&j, "mss", r.mss);
		bench_json_int(&j, "mtu", mtu);
		bench_json_num(&j, "delay_us", (double)delay_us);
		bench_json_str(&j, "receiver_tcp_rmem", rmem_s);
		bench_json_bool(&j, "intact", bad == 0 && intact);
		bench_json_str(&j, "mode", "simulated ideal wire, one thread, 64 KiB writes and reads");
		bench_json_close(&j);
		bench_json_baseline(&j, o, brc, lbase);
		if (brc == 0)
			bench_json_nums(&j, "linux_gbps_runs", lrates, BULK_REPEAT);
		bench_json_num(&j, "ratio", ratio);
		bench_json_num(&j, "target_gbps", BULK_TARGET_GBPS);
		bench_json_end(&j);
	} else {
		bench_machine_print(stdout, m);
		printf("bulk: one direction, 64 KiB writes, %.0f MiB; ideal wire, MTU %lld, delay %lld us, receiver tcp_rmem %s, one core;\n"
		       "median of %d runs each\n", (double)bytes / (1 << 20), mtu, delay_us, rmem_s, BULK_REPEAT);
		printf("  tern   %8.2f Gbit/s  (%.2f s wall; %.2f s cpu, %.2f Gbit/s per cpu second; %.0f segments/s, %.0f B average, MSS %u, %llu ACKs, %llu retransmitted)\n",
		       r.gbps, r.wall_s, r.cpu_s, gbps_cpu, segs_per_s, avg_seg, r.mss,
		       (unsigned long long)r.acks, (unsigned long long)r.retrans);
		printf("         runs");
		bench_print_runs(stdout, tgbps, BULK_REPEAT, 2);
		printf(" Gbit/s\n");
		if (brc == 0) {
			printf("  linux  %8.2f Gbit/s  (loopback, sender and receiver threads; runs", lgbps);
			bench_print_runs(stdout, lrates, BULK_REPEAT, 2);
			printf(")\n");
		} else if (!o->no_linux) {
			printf("  linux  not measured: %s\n", lbase);
		}
		if (isfinite(ratio))
			printf("  ratio  %8.2fx\n", ratio);
		if (r.retrans)
			printf("  note: %llu retransmissions on a loss-free wire (%.3f s virtual): the sender overran the window\n",
			       (unsigned long long)r.retrans, r.virtual_s);
		if (r.gbps < BULK_TARGET_GBPS)
			printf("  below the %.0f Gbit/s target; where the time goes:\n"
			       "    perf record -g tern bench bulk --no-linux && perf report --stdio\n",
			       BULK_TARGET_GBPS);
	}
	if (bad)
		fprintf(stderr, "tern bench bulk: %llu sampled reads carried the wrong bytes\n",
			(unsigned long long)bad);
	return rc == 0 && bad == 0 && intact ? 0 : 1;
}
