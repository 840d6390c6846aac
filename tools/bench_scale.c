/*
 * tools/bench_scale.c: `tern bench scale`, whether idle connections cost a server
 * anything but memory. For each size N (1 k, 100 k, 1 M, 10 M by default) it builds
 * the lifecycle benchmark's network afresh (tools/bench_lifecycle.c: a client and a
 * server stack on one simulated wire), opens N idle established connections to the
 * server, then runs the lifecycle benchmark beside them and reports the heap and
 * RSS they cost and the lifecycle rate, against the rate at the first size.
 *
 * The idle connections come from a raw endpoint at 10.0.1.1 linked to the server
 * (tools/bench_peer.c: stateless, so it costs nothing per connection). The
 * simulator routes a datagram to the link whose far end owns its destination, so
 * the server's replies reach the endpoint only when addressed to the endpoint's
 * own address; the 4-tuples therefore vary in the ports: 64,512 source ports
 * (1024..65535) times as many server ports as needed (20000, 20001, ...; 156 for
 * 10 M), each with its own listener. The server accepts every connection and keeps
 * the descriptor: these are real established sockets held by the application,
 * with empty buffers and no timer running.
 *
 * The heap figure is the allocator's bytes in use (bench_heap_bytes) after the N
 * connections minus before, so it covers sockets, descriptor slots and hash
 * chains, table growth included. RSS is the whole process's. A size whose
 * estimated cost (the previous size's bytes per connection) does not fit in the
 * memory available is skipped and says so. Each rate is the median of three runs
 * of `--count` lifecycles after a warm-up of a tenth of that, per wall second (as
 * `tern bench lifecycle` reports) and per CPU second of this thread: on a shared
 * machine the second is the steadier comparison between sizes.
 */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_peer.h"
#include "tern/errors.h"
#include "tern/sim.h"
#include "tern/socket.h"
#include "tern/stack.h"
#include "tern/sysctl.h"

#define SCALE_MAX_SIZES 16
#define SCALE_PORT0 20000
#define SCALE_SPORT0 1024
#define SCALE_SPORTS (65536 - SCALE_SPORT0)     /* source ports per server port */
#define SCALE_MAX_CONNS (SCALE_SPORTS * 4096LL)  /* server ports 20000..24095 */
#define SCALE_BATCH 4096
#define SCALE_BACKLOG (2 * SCALE_BATCH)
#define SCALE_REPEAT 3

struct scale_row {
	long long connections;    /* asked */
	long long opened;         /* established and accepted */
	double heap_bytes;        /* heap delta over the idle connections */
	double rss_bytes;         /* process RSS with them open */
	double rss_delta_bytes;
	double setup_s;
	double rate;              /* lifecycles per wall second, median of SCALE_REPEAT */
	double cpu_rate;          /* lifecycles per CPU second of this thread, median */
	uint64_t lc_failed;
	char skipped[160];        /* why this size did not run, or "" */
	char limit[200];          /* why fewer connections opened, or "" */
};

/* ---------------------------------------------------------------- arguments */
static int scale_parse_sizes(const char *text, long long *sizes, int max)
{
	int n = 0;
	char buf[512];
	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long long v = bench_parse_count(tok);
		if (v < 1 || v > SCALE_MAX_CONNS || n >= max)
			return -1;
		sizes[n++] = v;
	}
	return n > 0 ? n : -1;
}

struct scale_args {
	long long sizes[SCALE_MAX_SIZES];
	int nsizes;
	long long count;          /* lifecycles per run */
	long long inflight;
};

static bool scale_args(const struct bench_opts *o, struct scale_args *a)
{
	static const long long full[] = { 1000, 100000, 1000000, 10000000 };
	static const long long quick[] = { 1000, 10000 };
	const long long *d = o->quick ? quick : full;
	a->nsizes = o->quick ? 2 : 4;
	memcpy(a->sizes, d, sizeof(long long) * (size_t)a->nsizes);
	a->count = o->quick ? 20000 : 500000;
	a->inflight = 256;
	const char *arg = NULL;
	for (int i = 0; i < o->argc; i++) {
		const char *v = NULL, *eq;
		arg = o->argv[i];
		eq = strchr(arg, '=');
		char name[32];
		size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
		if (nl >= sizeof(name))
			goto unknown;
		memcpy(name, arg, nl);
		name[nl] = 0;
		if (strcmp(name, "--sizes") && strcmp(name, "--count") && strcmp(name, "--inflight"))
			goto unknown;
		if (eq)
			v = eq + 1;
		else if (i + 1 < o->argc)
			v = o->argv[++i];
		else
			goto bad;
		if (!strcmp(name, "--sizes")) {
			a->nsizes = scale_parse_sizes(v, a->sizes, SCALE_MAX_SIZES);
			if (a->nsizes < 0)
				goto bad;
		} else if (!strcmp(name, "--count")) {
			a->count = bench_parse_count(v);
			if (a->count < 1 || a->count > 1000000000LL)
				goto bad;
		} else {
			a->inflight = bench_parse_count(v);
			if (a->inflight < 1 || a->inflight > 100000)
				goto bad;
		}
	}
	return true;
unknown:
	fprintf(stderr, "tern bench scale: unknown option '%s' "
		"(known: --sizes N,N,... --count N --inflight N)\n", arg);
	return false;
bad:
	fprintf(stderr, "tern bench scale: --sizes takes a list of 1..%lld (k, M suffixes), "
		"--count 1..1G lifecycles, --inflight 1..100000\n", SCALE_MAX_CONNS);
	return false;
}

/* ---------------------------------------------------------------- the idle crowd */
/* The node id of a stack, found through the public API. */
static int scale_node_of(struct tern_sim *sim, struct tern_stack *st)
{
	for (int i = 0; i < 64; i++)
		if (tern_sim_stack(sim, i) == st)
			return i;
	return -1;
}

/* MemAvailable from /proc/meminfo, in bytes; 0 if unknown. */
static double scale_mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	double v = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			v = (double)kb * 1024;
	}
	fclose(f);
	return v;
}

static int scale_listen(struct tern_stack *srv, uint16_t port)
{
	int fd = tern_socket(srv, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	struct tern_sockaddr any = { .port = port };
	any.addr.family = TERN_AF_INET;
	int r = tern_bind(srv, fd, &any);
	if (r == 0)
		r = tern_listen(srv, fd, SCALE_BACKLOG);
	if (r < 0) {
		tern_close(srv, fd);
		return r;
	}
	return fd;
}

/* Accepts everything waiting on `lfd` and keeps it. Returns the count; *err gets
 * the first error other than -EAGAIN. */
static long long scale_accept(struct tern_stack *srv, int lfd, int *err)
{
	long long n = 0;
	for (;;) {
		int fd = tern_accept(srv, lfd, NULL, TERN_SOCK_NONBLOCK);
		if (fd < 0) {
			if (fd != -TERN_EAGAIN && !*err)
				*err = fd;
			return n;
		}
		n++;
	}
}

/* Opens `want` idle connections from the peer to the server. Returns how many
 * were accepted; on a shortfall, row->limit says what stopped it. */
static long long scale_open(struct tern_sim *sim, struct tern_stack *srv, struct bench_peer *peer,
			    long long want, struct scale_row *row)
{
	int nports = (int)((want + SCALE_SPORTS - 1) / SCALE_SPORTS);
	int *lfds = calloc((size_t)nports, sizeof(int));
	if (!lfds) {
		snprintf(row->limit, sizeof(row->limit), "out of memory for %d listeners", nports);
		return 0;
	}
	/* A backlog of two batches: the application accepts after every batch. */
	tern_sysctl_set(srv, "net.core.somaxconn", "65535");
	for (int k = 0; k < nports; k++) {
		lfds[k] = scale_listen(srv, (uint16_t)(SCALE_PORT0 + k));
		if (lfds[k] < 0) {
			snprintf(row->limit, sizeof(row->limit), "listen on port %d: %s", SCALE_PORT0 + k,
				 tern_strerror(lfds[k]));
			free(lfds);
			return 0;
		}
	}
	uint32_t dst = tern_stack_addr(srv).u.v4;
	long long accepted = 0;
	int err = 0;
	for (long long i = 0; i < want; i += SCALE_BATCH) {
		long long end = i + SCALE_BATCH < want ? i + SCALE_BATCH : want;
		for (long long c = i; c < end; c++)
			bench_peer_syn(peer, peer->addr, (uint16_t)(SCALE_SPORT0 + c % SCALE_SPORTS), dst,
				       (uint16_t)(SCALE_PORT0 + c / SCALE_SPORTS));
		tern_sim_run_until(sim, tern_sim_now(sim));
		/* The batch touched at most two listeners. */
		int k0 = (int)(i / SCALE_SPORTS), k1 = (int)((end - 1) / SCALE_SPORTS);
		for (int k = k0; k <= k1; k++)
			accepted += scale_accept(srv, lfds[k], &err);
		if (err)
			break;
	}
	free(lfds);
	if (accepted < want) {
		int n = snprintf(row->limit, sizeof(row->limit), "%lld of %lld accepted", accepted, want);
		if (err)
			n += snprintf(row->limit + n, sizeof(row->limit) - (size_t)n, "; accept: %s",
				      tern_strerror(err));
		uint64_t ov = tern_stack_counter(srv, TERN_CTR_TcpExtListenOverflows);
		uint64_t ck = tern_stack_counter(srv, TERN_CTR_TcpExtTCPReqQFullDoCookies);
		if (ov || ck)
			snprintf(row->limit + n, sizeof(row->limit) - (size_t)n,
				 "; ListenOverflows=%llu TCPReqQFullDoCookies=%llu",
				 (unsigned long long)ov, (unsigned long long)ck);
	}
	return accepted;
}

static int scale_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* One size: a fresh lifecycle network, N idle connections, then the lifecycles. */
static int scale_one(const struct scale_args *a, long long n, struct scale_row *row)
{
	row->connections = n;
	malloc_trim(0);
	struct bench_lc *lc = bench_lc_create(42, (int)a->inflight);
	if (!lc)
		return -1;
	struct tern_sim *sim = bench_lc_sim(lc);
	struct tern_stack *srv = bench_lc_server(lc);
	struct bench_peer peer;
	struct tern_addr pa;
	tern_addr_parse("10.0.1.1", &pa);
	int snode = scale_node_of(sim, srv);
	if (snode < 0 || bench_peer_add(&peer, sim, pa.u.v4) < 0 ||
	    tern_sim_link(sim, snode, peer.node, NULL, NULL) < 0) {
		bench_lc_destroy(lc);
		return -1;
	}

	/* The simulator's packet pools grow to a batch in flight before the first
	 * reading: a batch of SYNs to a closed port, each answered with an RST. */
	uint32_t dst = tern_stack_addr(srv).u.v4;
	for (int c = 0; c < SCALE_BATCH; c++)
		bench_peer_syn(&peer, peer.addr, (uint16_t)(SCALE_SPORT0 + c), dst, SCALE_PORT0 - 1);
	tern_sim_run_until(sim, tern_sim_now(sim));

	size_t h0 = bench_heap_bytes(), r0 = bench_rss_bytes();
	double w0 = bench_wall();
	row->opened = scale_open(sim, srv, &peer, n, row);
	row->setup_s = bench_wall() - w0;
	size_t h1 = bench_heap_bytes(), r1 = bench_rss_bytes();
	row->heap_bytes = (double)h1 - (double)h0;
	row->rss_bytes = (double)r1;
	row->rss_delta_bytes = (double)r1 - (double)r0;

	/* The lifecycles beside them: a warm-up, then the median of three runs. */
	struct bench_lc_result res;
	double rates[SCALE_REPEAT], cpu_rates[SCALE_REPEAT];
	int rc = bench_lc_run(lc, (uint64_t)(a->count / 10 + 1), &res);
	row->lc_failed += res.failed;
	for (int k = 0; k < SCALE_REPEAT && rc == 0; k++) {
		rc = bench_lc_run(lc, (uint64_t)a->count, &res);
		rates[k] = res.rate;
		cpu_rates[k] = res.cpu_s > 0 ? (double)res.done / res.cpu_s : NAN;
		row->lc_failed += res.failed;
	}
	if (rc == 0) {
		qsort(rates, SCALE_REPEAT, sizeof(double), scale_cmp_double);
		qsort(cpu_rates, SCALE_REPEAT, sizeof(double), scale_cmp_double);
		row->rate = rates[SCALE_REPEAT / 2];
		row->cpu_rate = cpu_rates[SCALE_REPEAT / 2];
	} else {
		row->rate = row->cpu_rate = NAN;
	}
	/* The idle connections must still be there, untouched. */
	uint64_t estab = tern_stack_counter(srv, TERN_CTR_TcpCurrEstab);
	if (!row->limit[0] && estab < (uint64_t)row->opened)
		snprintf(row->limit, sizeof(row->limit), "only %llu of %lld still established",
			 (unsigned long long)estab, row->opened);
	bench_lc_destroy(lc);
	malloc_trim(0);
	return rc == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- report */
int bench_scale(const struct bench_opts *o, const struct bench_machine *m)
{
	struct scale_args a;
	if (!scale_args(o, &a))
		return 2;

	/* Linux's cost per socket, for an estimate beside each size. */
	char base[4096] = "";
	int brc = -1;
	double lsock = NAN;
	if (!o->no_linux) {
		const char *args[] = { "--count", "0", NULL };
		brc = bench_run_baseline("linux-memory", args, base, sizeof(base));
		if (brc == 0)
			lsock = bench_json_get(base, "established_bytes");
	}

	struct scale_row rows[SCALE_MAX_SIZES];
	memset(rows, 0, sizeof(rows));
	int status = 0;
	double per_conn = 1100;   /* a guess until the first size measures it */
	for (int i = 0; i < a.nsizes; i++) {
		struct scale_row *r = &rows[i];
		double need = (double)a.sizes[i] * per_conn * 1.25 + 256.0 * 1024 * 1024;
		double avail = scale_mem_available();
		if (avail > 0 && need > avail) {
			r->connections = a.sizes[i];
			r->rate = NAN;
			snprintf(r->skipped, sizeof(r->skipped),
				 "needs about %.1f GiB, %.1f GiB available", need / 1073741824.0,
				 avail / 1073741824.0);
			status = 1;
			continue;
		}
		if (!o->json && !o->quick)
			fprintf(stderr, "tern bench scale: %lld idle connections...\n", a.sizes[i]);
		if (scale_one(&a, a.sizes[i], r) < 0 || r->opened < a.sizes[i] || r->lc_failed)
			status = 1;
		if (r->opened > 0 && r->heap_bytes > 0)
			per_conn = r->heap_bytes / (double)r->opened;
	}
	double first = rows[0].rate, first_cpu = rows[0].cpu_rate;

	if (o->json) {
		struct bench_json j;
		bench_json_begin(&j, stdout);
		bench_json_head(&j, "scale", o, m);
		bench_json_int(&j, "inflight", a.inflight);
		bench_json_int(&j, "lifecycles_per_run", a.count);
		bench_json_int(&j, "runs", SCALE_REPEAT);
		bench_json_arr(&j, "sizes");
		for (int i = 0; i < a.nsizes; i++) {
			const struct scale_row *r = &rows[i];
			bench_json_obj(&j, NULL);
			bench_json_int(&j, "connections", r->connections);
			if (r->skipped[0]) {
				bench_json_str(&j, "skipped", r->skipped);
				bench_json_close(&j);
				continue;
			}
			bench_json_int(&j, "opened", r->opened);
			bench_json_num(&j, "heap_bytes", r->heap_bytes);
			bench_json_num(&j, "rss_bytes", r->rss_bytes);
			bench_json_num(&j, "rss_delta_bytes", r->rss_delta_bytes);
			bench_json_num(&j, "bytes_per_conn", r->opened ? r->heap_bytes / (double)r->opened : NAN);
			bench_json_num(&j, "setup_s", r->setup_s);
			bench_json_num(&j, "lifecycle_rate", r->rate);
			bench_json_num(&j, "rate_vs_first", r->rate / first);
			bench_json_num(&j, "lifecycle_rate_cpu", r->cpu_rate);
			bench_json_num(&j, "cpu_rate_vs_first", r->cpu_rate / first_cpu);
			bench_json_int(&j, "lifecycles_failed", (int64_t)r->lc_failed);
			bench_json_num(&j, "linux_estimate_bytes", lsock * (double)r->connections);
			if (r->limit[0])
				bench_json_str(&j, "limit", r->limit);
			bench_json_close(&j);
		}
		bench_json_close(&j);
		if (brc == 0)
			bench_json_num(&j, "linux_bytes_per_conn", lsock);
		else if (!o->no_linux)
			bench_json_str(&j, "linux_error", base);
		bench_json_obj(&j, "targets");
		bench_json_int(&j, "connections", 10000000);
		bench_json_num(&j, "heap_bytes", 8.0 * 1073741824.0);
		bench_json_num(&j, "rate_vs_first", 0.9);
		bench_json_close(&j);
		bench_json_end(&j);
	} else {
		bench_machine_print(stdout, m);
		printf("scale: idle established connections beside the lifecycle benchmark "
		       "(%lld in flight, median of %d x %lld lifecycles)\n", a.inflight, SCALE_REPEAT,
		       a.count);
		printf("  %12s %10s %10s %8s %8s %13s %8s %13s %8s %12s\n", "connections", "heap", "rss",
		       "B/conn", "setup", "lifecycles/s", "vs first", "per CPU-s", "vs first",
		       "linux est.");
		for (int i = 0; i < a.nsizes; i++) {
			const struct scale_row *r = &rows[i];
			if (r->skipped[0]) {
				printf("  %12lld skipped: %s\n", r->connections, r->skipped);
				continue;
			}
			printf("  %12lld %8.1f M %8.1f M %8.1f %7.2fs %13.0f %7.1f%% %13.0f %7.1f%%",
			       r->connections, r->heap_bytes / 1048576.0, r->rss_bytes / 1048576.0,
			       r->opened ? r->heap_bytes / (double)r->opened : NAN, r->setup_s, r->rate,
			       100.0 * r->rate / first, r->cpu_rate, 100.0 * r->cpu_rate / first_cpu);
			if (isfinite(lsock))
				printf(" %10.1f M\n", lsock * (double)r->connections / 1048576.0);
			else
				printf(" %12s\n", "-");
			if (r->limit[0])
				printf("    stopped: %s\n", r->limit);
		}
		printf("  targets: 10,000,000 connections in <= 8 GiB; rate within 10%% of the first size\n");
		if (brc != 0 && !o->no_linux)
			printf("  linux estimate unavailable: %s\n", base);
	}
	return status;
}
