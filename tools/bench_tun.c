/*
 * tools/bench_tun.c: `tern bench tun`, the kernel's client against tern's server
 * over a TUN device, next to the kernel against itself over veth.
 *
 * tern's side is `tern serve` itself (this executable, so the profile of a
 * `make bench` run shows it under the name tern), started as a child in a fresh
 * network namespace with its http and discard applications; the kernel's client
 * is bench/linux_tun.c in client mode, entering that namespace. Measured:
 *   - HTTP connections per second: 16 connections kept in flight (--conns), each
 *     a connect, "GET /100" (--size) with Connection: close, the whole answer read,
 *     tern closing first (its side keeps the TIME-WAIT), the client closing;
 *   - throughput, the kernel client writing into tern's discard for --seconds
 *     (256 KiB writes, timed to the server's FIN after the client's): with the
 *     vnet_hdr offloads (the default: TSO packets of up to 64 KiB each way, taken
 *     whole by the stack as GRO merges them and glued from the stack's segments by
 *     the driver) and, in a second instance, with --no-offload (every
 *     datagram MTU-sized). These are the headline figures (gbps_offload,
 *     gbps_plain): tern receives, and discard's application costs nothing, so
 *     they measure the driver and the stack;
 *   - the other direction too, the client reading tern's chargen (gbps_down_*;
 *     chargen copies its RFC 864 pattern from a ready buffer, as the baseline's
 *     does).
 * The Linux baseline is the same client program against its own server mode (one
 * epoll thread, like tern serve; its chargen writes from a ready buffer) over a
 * veth pair between two namespaces, with veth's default offloads (TSO, GSO,
 * GRO): `linux-tun veth`.
 *
 * Needs root, /dev/net/tun and ip(8); without them the record says why ("error",
 * "linux_error") and the command still exits 0. Everything it creates (tern
 * serve's namespace, the baseline's namespaces and veth) is removed on the way
 * out; tern serve removes its own on SIGTERM, and a serve that does not stop is
 * killed and its namespace deleted here.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define TUN_TARGET_GBPS 10.0
#define TUN_ADDR "192.0.2.2"
/* How long tern serve may take to come up, and to go away after SIGTERM. */
#define SERVE_START_MS 10000
#define SERVE_STOP_MS 10000

struct serve {
	pid_t pid;
	int out;                   /* its stdout */
	char ns[64];
	char text[8192];           /* everything it printed */
	size_t len;
};

/* Appends what the child printed, waiting up to `ms`; false at EOF or timeout. */
static bool serve_read(struct serve *s, int ms)
{
	struct pollfd p = { .fd = s->out, .events = POLLIN };
	int r = poll(&p, 1, ms);
	if (r <= 0)
		return false;
	char sink[4096];
	char *to = s->len + 1 < sizeof(s->text) ? s->text + s->len : sink;
	size_t room = s->len + 1 < sizeof(s->text) ? sizeof(s->text) - 1 - s->len : sizeof(sink);
	ssize_t n = read(s->out, to, room);
	if (n <= 0)
		return false;
	if (to != sink) {
		s->len += (size_t)n;
		s->text[s->len] = 0;
	}
	return true;
}

static bool serve_said(const struct serve *s, const char *line)
{
	return strstr(s->text, line) != NULL;
}

static void run_ip_del(const char *ns)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		execlp("ip", "ip", "netns", "del", ns, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

/* Stops tern serve and collects the rest of what it prints (its summary). */
static void serve_stop(struct serve *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	double until = bench_wall() + SERVE_STOP_MS / 1000.0;
	while (bench_wall() < until && serve_read(s, 200))
		;
	int status;
	pid_t r;
	while ((r = waitpid(s->pid, &status, WNOHANG)) == 0 && bench_wall() < until)
		usleep(10000);
	if (r == 0) {
		/* It did not stop: make sure nothing of it is left. */
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &status, 0);
		run_ip_del(s->ns);
	}
	close(s->out);
	s->pid = -1;
}

/* Starts `tern serve` in namespace s->ns. 0, or -1 with the reason in why. */
static int serve_start(struct serve *s, bool offload, char *why, size_t why_len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		snprintf(why, why_len, "cannot find the tern executable: %s", strerror(errno));
		return -1;
	}
	self[n] = 0;
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(why, why_len, "pipe: %s", strerror(errno));
		return -1;
	}
	s->len = 0;
	s->text[0] = 0;
	fflush(NULL);
	s->pid = fork();
	if (s->pid < 0) {
		snprintf(why, why_len, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (s->pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		const char *argv[] = { self, "serve", "--netns", s->ns, "--app", "http", "--app", "discard",
				       "--app", "chargen", "--ctl", "none", "--backlog", "4096", "--duration", "3600",
				       offload ? NULL : "--no-offload", NULL };
		execv(self, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	s->out = pfd[0];
	double until = bench_wall() + SERVE_START_MS / 1000.0;
	while (!serve_said(s, "tern serve: ready") && bench_wall() < until)
		if (!serve_read(s, 100) && waitpid(s->pid, NULL, WNOHANG) != 0)
			break;
	if (serve_said(s, "tern serve: ready"))
		return 0;
	/* Its first line of complaint went to our stderr; say what is known. */
	serve_stop(s);
	snprintf(why, why_len, "tern serve did not start in namespace %s", s->ns);
	return -1;
}

/* A number after `key` in tern serve's output, or NAN. */
static double serve_num(const struct serve *s, const char *key)
{
	const char *p = strstr(s->text, key);
	return p ? strtod(p + strlen(key), NULL) : NAN;
}

/* Why tern's side cannot run here, or NULL. */
static const char *tun_unavailable(void)
{
	if (geteuid() != 0)
		return "needs root (a TUN device and a network namespace)";
	if (access("/dev/net/tun", R_OK | W_OK) < 0)
		return "no /dev/net/tun";
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	for (const char *p = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		snprintf(buf, sizeof(buf), "%.*s/ip", (int)n, p);
		if (n && access(buf, X_OK) == 0)
			return NULL;
		p += n + (p[n] == ':');
	}
	return "no ip (iproute2)";
}

struct tern_result {
	double conns_per_s, conns, failed;
	double gbps_offload, gbps_plain, bytes_offload, bytes_plain;
	double down_offload, down_plain;
	double gso_rx, gso_rx_segs, gso_tx, gso_tx_segs, bad_vnet;
	bool offload_on;           /* the first instance said offloads on */
};

/* "linux-tun exited with 1: {"error":"why"}" becomes "why". */
static void plain_error(char *buf)
{
	const char *p = strstr(buf, "{\"error\":\"");
	if (!p)
		return;
	p += strlen("{\"error\":\"");
	size_t n = strcspn(p, "\"");
	memmove(buf, p, n);
	buf[n] = 0;
}

/* Runs the client in namespace `ns`: test http or upload. 0 with its JSON in buf. */
static int client(const char *ns, const char *test, const char *secs, const char *conns,
		  const char *size, char *buf, size_t len)
{
	const char *args[] = { "client", "--netns", ns, "--addr", TUN_ADDR, "--test", test, "--seconds",
			       secs, "--conns", conns, "--size", size, NULL };
	int rc = bench_run_baseline("linux-tun", args, buf, len);
	if (rc == 0 && strstr(buf, "\"error\""))
		rc = -EPROTO;
	return rc;
}

/* What every client run against one tern serve shares. */
struct client_args {
	struct serve *s;
	const char *secs, *conns, *size;
	char *why;
	size_t why_len;
};

/* Runs client test `test` against the serve in a->s. 0 with its JSON in out; on
 * failure the reason goes to a->why (prefixed by `what`), the serve is stopped,
 * and -1 is returned, so each caller just returns. */
static int run_client(const struct client_args *a, const char *test, const char *what, char *out,
		      size_t len)
{
	if (client(a->s->ns, test, a->secs, a->conns, a->size, out, len) == 0)
		return 0;
	plain_error(out);
	snprintf(a->why, a->why_len, "%s: %.300s", what, out);
	serve_stop(a->s);
	return -1;
}

static int measure_tern(const char *secs, const char *conns, const char *size,
			struct tern_result *r, char *why, size_t why_len)
{
	struct serve s = { .pid = -1 };
	struct client_args a = { &s, secs, conns, size, why, why_len };
	char out[4096];

	snprintf(s.ns, sizeof(s.ns), "tern-bt-%d", (int)getpid());
	if (serve_start(&s, true, why, why_len) < 0)
		return -1;
	r->offload_on = serve_said(&s, "tern serve: offloads on");
	if (run_client(&a, "http", "http client", out, sizeof(out)) < 0)
		return -1;
	r->conns_per_s = bench_json_get(out, "http_conns_per_s");
	r->conns = bench_json_get(out, "done");
	r->failed = bench_json_get(out, "failed");
	if (run_client(&a, "upload", "upload client (offloads)", out, sizeof(out)) < 0)
		return -1;
	r->gbps_offload = bench_json_get(out, "gbps");
	r->bytes_offload = bench_json_get(out, "bytes");
	if (run_client(&a, "download", "download client (offloads)", out, sizeof(out)) < 0)
		return -1;
	r->down_offload = bench_json_get(out, "gbps");
	serve_stop(&s);
	r->gso_rx = serve_num(&s, "offloads: ");
	r->gso_rx_segs = serve_num(&s, "TSO packets in holding ");
	r->gso_tx = serve_num(&s, "segments, ");
	r->gso_tx_segs = serve_num(&s, "TSO packets out made of ");
	r->bad_vnet = serve_num(&s, "partial checksums in, ");

	snprintf(s.ns, sizeof(s.ns), "tern-bt-%d-plain", (int)getpid());
	if (serve_start(&s, false, why, why_len) < 0)
		return -1;
	if (run_client(&a, "upload", "upload client (no offloads)", out, sizeof(out)) < 0)
		return -1;
	r->gbps_plain = bench_json_get(out, "gbps");
	r->bytes_plain = bench_json_get(out, "bytes");
	if (run_client(&a, "download", "download client (no offloads)", out, sizeof(out)) < 0)
		return -1;
	r->down_plain = bench_json_get(out, "gbps");
	serve_stop(&s);
	return 0;
}

/* A count: an integer, or null when not known. */
static void json_count(struct bench_json *j, const char *key, double v)
{
	if (isfinite(v))
		bench_json_int(j, key, (int64_t)v);
	else
		bench_json_null(j, key);
}

static double ratio(double a, double b)
{
	return isfinite(a) && isfinite(b) && b > 0 ? a / b : NAN;
}

/* Reads --seconds, --conns and --size; false (after one line on stderr) if bad. */
static bool tun_options(const struct bench_opts *o, double *secs, long *conns, long *size)
{
	static const char *const names[] = { "seconds", "conns", "size" };
	if (!bench_opts_check(o, "tun", names, sizeof(names) / sizeof(names[0]), "--seconds S, --conns N, --size BYTES"))
		return false;
	const char *v = bench_opt(o, "seconds", NULL);
	if (v) {
		char *end;
		*secs = strtod(v, &end);
		if (end == v || *end || !(*secs >= 0.1 && *secs <= 600)) {
			fprintf(stderr, "tern bench tun: --seconds wants 0.1..600\n");
			return false;
		}
	}
	*conns = bench_opt_long(o, "conns", *conns);
	*size = bench_opt_long(o, "size", *size);
	if (*conns < 1 || *conns > 1024 || *size < 0 || *size > 1 << 20) {
		fprintf(stderr, "tern bench tun: --conns wants 1..1024 and --size 0..1048576\n");
		return false;
	}
	return true;
}

int bench_tun(const struct bench_opts *o, const struct bench_machine *m)
{
	double secs = o->quick ? 0.3 : 3;
	long conns = 16, size = 100;
	if (!tun_options(o, &secs, &conns, &size))
		return 2;
	char s_secs[32], s_conns[32], s_size[32];
	snprintf(s_secs, sizeof(s_secs), "%g", secs);
	snprintf(s_conns, sizeof(s_conns), "%ld", conns);
	snprintf(s_size, sizeof(s_size), "%ld", size);

	struct tern_result r = { .conns_per_s = NAN, .gbps_offload = NAN, .gbps_plain = NAN,
				 .down_offload = NAN, .down_plain = NAN,
				 .gso_rx = NAN, .gso_rx_segs = NAN, .gso_tx = NAN, .gso_tx_segs = NAN,
				 .bad_vnet = NAN };
	char why[512] = "";
	const char *no = tun_unavailable();
	int trc = -1;
	if (no)
		snprintf(why, sizeof(why), "%s", no);
	else
		trc = measure_tern(s_secs, s_conns, s_size, &r, why, sizeof(why));

	char base[4096] = "";
	int brc = -1;
	double lconns = NAN, lgbps = NAN, ldown = NAN;
	if (!o->no_linux) {
		const char *args[] = { "veth", "--seconds", s_secs, "--conns", s_conns, "--size", s_size, NULL };
		brc = bench_run_baseline("linux-tun", args, base, sizeof(base));
		if (brc < 0)
			plain_error(base);
		if (brc == 0) {
			lconns = bench_json_get(base, "http_conns_per_s");
			lgbps = bench_json_get(base, "gbps");
			ldown = bench_json_get(base, "gbps_down");
		}
	}
	const char *mode = "kernel client in tern serve's namespace; tern serve (one thread) on a TUN "
			   "device; throughput: the client writes into discard (down: reads chargen)";

	if (o->json) {
		struct bench_json j;
		bench_json_begin(&j, stdout);
		bench_json_head(&j, "tun", o, m);
		bench_json_num(&j, "seconds", secs);
		bench_json_int(&j, "conns", conns);
		bench_json_int(&j, "size", size);
		if (trc < 0)
			bench_json_str(&j, "error", why);
		bench_json_obj(&j, "tern");
		if (trc < 0) {
			char note[600];
			snprintf(note, sizeof(note), "not measured: %s", why);
			bench_json_str(&j, "mode", note);
			bench_json_str(&j, "error", why);
		} else {
			bench_json_str(&j, "mode", mode);
			bench_json_num(&j, "http_conns_per_s", r.conns_per_s);
			json_count(&j, "http_conns", r.conns);
			json_count(&j, "http_failed", r.failed);
			bench_json_num(&j, "gbps_offload", r.gbps_offload);
			bench_json_num(&j, "gbps_plain", r.gbps_plain);
			bench_json_num(&j, "gbps_down_offload", r.down_offload);
			bench_json_num(&j, "gbps_down_plain", r.down_plain);
			json_count(&j, "upload_bytes_offload", r.bytes_offload);
			json_count(&j, "upload_bytes_plain", r.bytes_plain);
			bench_json_bool(&j, "offload_on", r.offload_on);
			json_count(&j, "gso_rx_packets", r.gso_rx);
			json_count(&j, "gso_rx_segs", r.gso_rx_segs);
			json_count(&j, "gso_tx_packets", r.gso_tx);
			json_count(&j, "gso_tx_segs", r.gso_tx_segs);
			json_count(&j, "bad_vnet", r.bad_vnet);
		}
		bench_json_close(&j);
		bench_json_baseline(&j, o, brc, base);
		bench_json_obj(&j, "ratio");
		bench_json_num(&j, "http_conns_per_s", ratio(r.conns_per_s, lconns));
		bench_json_num(&j, "gbps_offload", ratio(r.gbps_offload, lgbps));
		bench_json_num(&j, "gbps_plain", ratio(r.gbps_plain, lgbps));
		bench_json_num(&j, "gbps_down_offload", ratio(r.down_offload, ldown));
		bench_json_close(&j);
		bench_json_num(&j, "target_gbps", TUN_TARGET_GBPS);
		bench_json_end(&j);
	} else {
		bench_machine_print(stdout, m);
		printf("tun: kernel client against tern serve over TUN, and against the kernel over veth;\n"
		       "     %g s per measurement, HTTP: %ld connections in flight, GET /%ld, Connection: close;\n"
		       "     throughput: one connection writing into discard (or reading chargen)\n", secs,
		       conns, size);
		if (trc < 0)
			printf("  tern   not measured: %s\n", why);
		else {
			printf("  tern   %10.0f HTTP connections/s (%.0f failed)\n", r.conns_per_s, r.failed);
			printf("  tern   %10.2f Gbit/s with offloads (%.0f TSO packets in holding %.0f segments, "
			       "%.0f out from %.0f)\n", r.gbps_offload, r.gso_rx, r.gso_rx_segs, r.gso_tx,
			       r.gso_tx_segs);
			printf("  tern   %10.2f Gbit/s without offloads\n", r.gbps_plain);
			printf("  tern   %10.2f / %.2f Gbit/s reading chargen, with / without offloads\n",
			       r.down_offload, r.down_plain);
		}
		if (brc == 0) {
			printf("  linux  %10.0f HTTP connections/s\n", lconns);
			printf("  linux  %10.2f Gbit/s (veth, TSO/GSO/GRO on)\n", lgbps);
			printf("  linux  %10.2f Gbit/s reading chargen\n", ldown);
		} else if (!o->no_linux) {
			printf("  linux  not measured: %s\n", base);
		}
		double rc = ratio(r.conns_per_s, lconns), rg = ratio(r.gbps_offload, lgbps);
		if (isfinite(rc))
			printf("  ratio  %10.2fx HTTP connections/s\n", rc);
		if (isfinite(rg))
			printf("  ratio  %10.2fx Gbit/s with offloads (target: %.0f Gbit/s)\n", rg,
			       TUN_TARGET_GBPS);
	}
	/* Not being able to run here is no failure; tern failing where it can is. */
	return trc < 0 && !no ? 1 : 0;
}
