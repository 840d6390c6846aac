/*
 * tools/bench_lifecycle.c: `tern bench lifecycle`, full connection lifecycles per
 * second. A client stack and a server stack share one simulated network (an ideal
 * wire with a loopback-like 5 µs delay, so virtual time moves and ISNs and
 * timestamps advance as on a real host, and checksum offload as loopback has). The client keeps N connections in flight;
 * each one connects, writes one byte, and closes once the server has read the byte
 * and closed (the server closes first, as an HTTP/1.0 server does, so TIME-WAIT is
 * on the server side and ports are never exhausted). Everything runs on one core
 * in this thread: both stacks, the network and both applications, driven by
 * tern's epoll.
 *
 * The Linux baseline (bench/linux_lifecycle.c) runs the same pattern over
 * loopback in one thread with epoll, the same N.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "tern/sim.h"
#include "tern/socket.h"
#include "tern/sysctl.h"
#include "tern/errors.h"

#define LC_PORT 80
#define LC_EVENTS 512
/* Runs per rate, tern's and the baseline's: the report gives the median. */
#define LC_REPEAT 3
/* Lifecycles per baseline run: about four seconds of the kernel's. */
#define LC_LINUX_COUNT 70000L

struct bench_lc {
	struct tern_sim *sim;
	struct tern_stack *cli, *srv;
	int cep, sep, lfd;
	struct tern_sockaddr dst;
	uint64_t target;      /* lifecycles wanted in this run */
	uint64_t started, done, failed;
	int inflight;         /* connections the client keeps open */
	int open;             /* client connections now open */
};

static void lc_fail(const char *what, int err)
{
	fprintf(stderr, "tern bench lifecycle: %s: %s\n", what, tern_strerror(err));
}

static int lc_start_one(struct bench_lc *lc)
{
	int fd = tern_socket(lc->cli, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	int r = tern_connect(lc->cli, fd, &lc->dst);
	if (r < 0 && r != -EINPROGRESS) {
		tern_close(lc->cli, fd);
		return r;
	}
	struct tern_epoll_event ev = { .events = TERN_POLLOUT | TERN_POLLIN, .data = (uint64_t)fd };
	r = tern_epoll_ctl(lc->cli, lc->cep, TERN_EPOLL_CTL_ADD, fd, &ev);
	if (r < 0) {
		tern_close(lc->cli, fd);
		return r;
	}
	lc->started++;
	lc->open++;
	return 0;
}

static void lc_refill(struct bench_lc *lc)
{
	while (lc->open < lc->inflight && lc->started < lc->target) {
		int r = lc_start_one(lc);
		if (r < 0) {
			lc_fail("connect", r);
			lc->failed++;
			lc->target--;       /* do not spin on a failing connect */
		}
	}
}

/* The server's side: a byte read means the client said its piece; close. */
static void lc_server_read(struct bench_lc *lc, int fd)
{
	char b[16];
	ssize_t n = tern_recv(lc->srv, fd, b, sizeof(b), 0);
	if (n == -EAGAIN)
		return;
	tern_close(lc->srv, fd);
}

static void lc_server(struct bench_lc *lc)
{
	struct tern_epoll_event evs[LC_EVENTS];
	int n;
	while ((n = tern_epoll_wait(lc->srv, lc->sep, evs, LC_EVENTS)) > 0) {
		for (int i = 0; i < n; i++) {
			int fd = (int)evs[i].data;
			if (fd != lc->lfd) {
				lc_server_read(lc, fd);
				continue;
			}
			for (;;) {
				int c = tern_accept(lc->srv, lc->lfd, NULL, TERN_SOCK_NONBLOCK);
				if (c < 0)
					break;
				/* The byte usually came with (or right after) the handshake. */
				char b[16];
				ssize_t r = tern_recv(lc->srv, c, b, sizeof(b), 0);
				if (r != -EAGAIN) {
					tern_close(lc->srv, c);
					continue;
				}
				struct tern_epoll_event ev = { .events = TERN_POLLIN, .data = (uint64_t)c };
				tern_epoll_ctl(lc->srv, lc->sep, TERN_EPOLL_CTL_ADD, c, &ev);
			}
		}
		if (n < LC_EVENTS)
			break;
	}
}

static void lc_client(struct bench_lc *lc)
{
	struct tern_epoll_event evs[LC_EVENTS];
	int n;
	while ((n = tern_epoll_wait(lc->cli, lc->cep, evs, LC_EVENTS)) > 0) {
		for (int i = 0; i < n; i++) {
			int fd = (int)evs[i].data;
			uint32_t e = evs[i].events;
			if (e & (TERN_POLLERR | TERN_POLLHUP | TERN_POLLIN)) {
				char b[16];
				ssize_t r = tern_recv(lc->cli, fd, b, sizeof(b), 0);
				if (r == -EAGAIN)
					continue;
				if (r == 0)
					lc->done++;
				else
					lc->failed++;
				tern_close(lc->cli, fd);
				lc->open--;
				continue;
			}
			if (e & TERN_POLLOUT) {
				ssize_t r = tern_send(lc->cli, fd, "x", 1, 0);
				struct tern_epoll_event ev = { .events = TERN_POLLIN, .data = (uint64_t)fd };
				tern_epoll_ctl(lc->cli, lc->cep, TERN_EPOLL_CTL_MOD, fd, &ev);
				if (r != 1) {
					lc->failed++;
					tern_close(lc->cli, fd);
					lc->open--;
				}
			}
		}
		if (n < LC_EVENTS)
			break;
	}
}

struct bench_lc *bench_lc_create(uint64_t seed, int inflight)
{
	struct bench_lc *lc = calloc(1, sizeof(*lc));
	if (!lc)
		return NULL;
	lc->inflight = inflight;
	if (tern_sim_create(seed, &lc->sim) < 0)
		goto fail;
	struct tern_stack_config cfg;
	tern_stack_config_init(&cfg);
	/* Checksum offload, as on the baseline's loopback, where TCP checksums are
	 * neither computed nor checked. */
	cfg.tx_csum_offload = true;
	tern_addr_parse("10.0.0.1", &cfg.addr);
	int c = tern_sim_add_stack(lc->sim, &cfg, &lc->cli);
	tern_addr_parse("10.0.0.2", &cfg.addr);
	cfg.seed = seed + 1;
	int s = tern_sim_add_stack(lc->sim, &cfg, &lc->srv);
	if (c < 0 || s < 0)
		goto fail;
	struct tern_link_params wire = { .delay = 5 * 1000 };
	if (tern_sim_link(lc->sim, c, s, &wire, &wire) < 0)
		goto fail;
	/* A listen queue as deep as the flight: the baseline gets the same. */
	char v[32];
	snprintf(v, sizeof(v), "%d", inflight < 128 ? 4096 : inflight * 4);
	tern_sysctl_set(lc->srv, "net.core.somaxconn", v);
	tern_sysctl_set(lc->srv, "net.ipv4.tcp_max_syn_backlog", v);
	lc->lfd = tern_socket(lc->srv, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	struct tern_sockaddr any = { .port = LC_PORT };
	any.addr.family = TERN_AF_INET;
	int one = 1;
	tern_setsockopt(lc->srv, lc->lfd, TERN_SOL_SOCKET, TERN_SO_REUSEADDR, &one, sizeof(one));
	if (tern_bind(lc->srv, lc->lfd, &any) < 0 || tern_listen(lc->srv, lc->lfd, atoi(v)) < 0)
		goto fail;
	lc->sep = tern_epoll_create(lc->srv);
	lc->cep = tern_epoll_create(lc->cli);
	struct tern_epoll_event ev = { .events = TERN_POLLIN, .data = (uint64_t)lc->lfd };
	if (lc->sep < 0 || lc->cep < 0 ||
	    tern_epoll_ctl(lc->srv, lc->sep, TERN_EPOLL_CTL_ADD, lc->lfd, &ev) < 0)
		goto fail;
	lc->dst.addr = tern_stack_addr(lc->srv);
	lc->dst.port = LC_PORT;
	return lc;
fail:
	if (lc->sim)
		tern_sim_destroy(lc->sim);
	free(lc);
	return NULL;
}

struct tern_sim *bench_lc_sim(struct bench_lc *lc) { return lc->sim; }
struct tern_stack *bench_lc_server(struct bench_lc *lc) { return lc->srv; }
struct tern_stack *bench_lc_client(struct bench_lc *lc) { return lc->cli; }

int bench_lc_run(struct bench_lc *lc, uint64_t count, struct bench_lc_result *out)
{
	uint64_t done0 = lc->done, failed0 = lc->failed;
	lc->target = lc->started + count;
	tern_time t0 = tern_sim_now(lc->sim);
	double w0 = bench_wall(), c0 = bench_cpu();
	lc_refill(lc);
	while (lc->open > 0) {
		if (!tern_sim_step(lc->sim, TERN_TIME_NEVER))
			break;
		lc_server(lc);
		lc_client(lc);
		lc_refill(lc);
	}
	memset(out, 0, sizeof(*out));
	out->wall_s = bench_wall() - w0;
	out->cpu_s = bench_cpu() - c0;
	out->done = lc->done - done0;
	out->failed = lc->failed - failed0;
	out->virtual_s = (double)(tern_sim_now(lc->sim) - t0) / 1e9;
	out->rate = out->wall_s > 0 ? (double)out->done / out->wall_s : 0;
	return lc->open > 0 ? -ETIMEDOUT : 0;
}

void bench_lc_destroy(struct bench_lc *lc)
{
	if (!lc)
		return;
	tern_sim_destroy(lc->sim);
	free(lc);
}

static int lc_cmp_rate(const void *a, const void *b)
{
	double x = ((const struct bench_lc_result *)a)->rate, y = ((const struct bench_lc_result *)b)->rate;
	return (x > y) - (x < y);
}

/* The Linux baseline's runs, each a JSON object in its own buffer; the median's
 * index by rate, or -1 when a run failed (`base[0]` then says why). */
static int lc_linux_runs(const struct bench_opts *o, long inflight, char (*base)[BENCH_BASE_LEN], double *rates)
{
	char n1[32], n2[32];
	snprintf(n1, sizeof(n1), "%ld", inflight);
	snprintf(n2, sizeof(n2), "%ld", o->quick ? 2000L : LC_LINUX_COUNT);
	const char *args[] = { "--inflight", n1, "--count", n2, NULL };
	return bench_run_baseline_runs("linux-lifecycle", args, LC_REPEAT, "rate", base, rates);
}

int bench_lifecycle(const struct bench_opts *o, const struct bench_machine *m)
{
	long inflight = bench_opt_long(o, "inflight", 256);
	long count = bench_opt_long(o, "count", o->quick ? 20000 : 1000000);
	if (inflight < 1 || inflight > 100000 || count < 1) {
		fprintf(stderr, "tern bench lifecycle: --inflight 1..100000 and --count >= 1\n");
		return 2;
	}
	struct bench_lc *lc = bench_lc_create(42, (int)inflight);
	if (!lc) {
		fprintf(stderr, "tern bench lifecycle: cannot set up the simulated network\n");
		return 1;
	}
	/* A short warm-up grows the pools and tables to their working size; then the
	 * median of LC_REPEAT runs, as for the baseline: one run on a shared machine
	 * moves by several per cent with what else the host is doing. */
	struct bench_lc_result warm, runs[LC_REPEAT], r;
	int rc = bench_lc_run(lc, (uint64_t)(count / 10 + 1), &warm);
	uint64_t failed = warm.failed;
	for (int k = 0; k < LC_REPEAT; k++) {
		if (bench_lc_run(lc, (uint64_t)count, &runs[k]) != 0)
			rc = -1;
		failed += runs[k].failed;
	}
	double trates[LC_REPEAT];
	for (int k = 0; k < LC_REPEAT; k++)
		trates[k] = runs[k].rate;
	qsort(runs, LC_REPEAT, sizeof(runs[0]), lc_cmp_rate);
	r = runs[LC_REPEAT / 2];
	uint64_t tw = tern_stack_counter(lc->srv, TERN_CTR_TcpExtTW);
	bench_lc_destroy(lc);

	static char base[LC_REPEAT][BENCH_BASE_LEN];
	double lrates[LC_REPEAT];
	int brc = -1, mid = -1;
	double lrate = NAN;
	if (!o->no_linux) {
		mid = lc_linux_runs(o, inflight, base, lrates);
		if (mid >= 0) {
			brc = 0;
			lrate = lrates[mid];
		}
	}
	const char *lbase = base[mid >= 0 ? mid : 0];
	double ratio = isfinite(lrate) && lrate > 0 ? r.rate / lrate : NAN;
	if (o->json) {
		struct bench_json j;
		bench_json_begin(&j, stdout);
		bench_json_head(&j, "lifecycle", o, m);
		bench_json_int(&j, "inflight", inflight);
		bench_json_int(&j, "runs", LC_REPEAT);
		bench_json_obj(&j, "tern");
		bench_json_int(&j, "lifecycles", (int64_t)r.done);
		bench_json_int(&j, "failed", (int64_t)failed);
		bench_json_num(&j, "wall_s", r.wall_s);
		bench_json_num(&j, "cpu_s", r.cpu_s);
		bench_json_num(&j, "virtual_s", r.virtual_s);
		bench_json_num(&j, "rate", r.rate);
		bench_json_nums(&j, "rates", trates, LC_REPEAT);
		bench_json_int(&j, "server_time_wait", (int64_t)tw);
		bench_json_close(&j);
		bench_json_baseline(&j, o, brc, lbase);
		if (brc == 0)
			bench_json_nums(&j, "linux_rates", lrates, LC_REPEAT);
		bench_json_num(&j, "ratio", ratio);
		bench_json_num(&j, "target_rate", 1e6);
		bench_json_num(&j, "target_ratio", 50);
		bench_json_end(&j);
	} else {
		bench_machine_print(stdout, m);
		printf("lifecycle: connect, accept, 1 byte, read, close by both; %ld in flight, one core;\n"
		       "median of %d runs each\n", inflight, LC_REPEAT);
		printf("  tern   %12.0f lifecycles/s  (%llu in %.2f s wall, %.3f s virtual, %llu failed; runs",
		       r.rate, (unsigned long long)r.done, r.wall_s, r.virtual_s, (unsigned long long)failed);
		bench_print_runs(stdout, trates, LC_REPEAT, 0);
		printf(")\n");
		if (brc == 0) {
			printf("  linux  %12.0f lifecycles/s  (loopback, one thread, epoll; runs", lrate);
			bench_print_runs(stdout, lrates, LC_REPEAT, 0);
			printf(")\n");
		} else if (!o->no_linux) {
			printf("  linux  not measured: %s\n", lbase);
		}
		if (isfinite(ratio))
			printf("  ratio  %12.1fx  (targets: 1,000,000/s and 50x)\n", ratio);
	}
	return rc == 0 && failed == 0 ? 0 : 1;
}
