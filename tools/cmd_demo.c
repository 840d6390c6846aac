/*
 * tools/cmd_demo.c: `tern demo`, the main demonstration (make demo).
 *
 * Two tern hosts on the simulated network ping each other across a lossy, jittery,
 * duplicating, reordering, corrupting link, in virtual time; then one opens a TCP
 * connection to the other, sends a request, gets 20 KB back, and both close, with
 * every segment traced in packetdrill syntax and each socket's state changes shown
 * as they happen; a third node, a raw endpoint, probes a TCP port nobody listens on
 * and gets Linux's reset. The run prints the link's and hosts' counters and writes
 * a pcap of each link. The same seed replays the same run, byte for byte.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern.h"
#include "tern/tern.h"
#include "trace.h"

/* Longest --interval and --delay taken: an hour. */
#define DEMO_MAX_MS 3600000.0

struct demo_opts {
	uint64_t seed;
	int count;
	double interval_ms;
	double delay_ms;
	double loss_pct;
	const char *pcap;
	const char *tcp_pcap;
};

/* What the pinging host saw. */
struct ping_log {
	const struct demo_opts *opts;
	tern_time sent_at[1024];
	int replies_for[1024];
	int received;   /* distinct sequence numbers answered */
	int dups;
	double rtt_min, rtt_max, rtt_sum, rtt_sq;
};

static void on_echo_reply(void *ctx, tern_time now, const struct tern_addr *from, uint16_t id,
			  uint16_t seq, size_t data_len)
{
	struct ping_log *pl = ctx;
	char addr[TERN_ADDR_STRLEN];

	if (seq >= 1024 || id != 0x7e57)
		return;
	double rtt = (double)(now - pl->sent_at[seq]) / TERN_NS_PER_MS;
	bool dup = pl->replies_for[seq]++ > 0;
	printf("%zu bytes from %s: icmp_seq=%u time=%.3f ms%s\n", data_len + 8,
	       tern_addr_format(from, addr, sizeof(addr)), seq, rtt, dup ? " (DUP!)" : "");
	if (dup) {
		pl->dups++;
		return;
	}
	pl->received++;
	pl->rtt_sum += rtt;
	pl->rtt_sq += rtt * rtt;
	if (pl->received == 1 || rtt < pl->rtt_min)
		pl->rtt_min = rtt;
	if (rtt > pl->rtt_max)
		pl->rtt_max = rtt;
}

/* The raw endpoint that probes a closed port prints every segment it gets back. */
static void on_probe_rx(void *ctx, struct tern_sim *sim, int node, tern_time now, const uint8_t *pkt,
			size_t len)
{
	struct tern_ipv4 ip;
	struct tern_tcp seg;
	char line[256], src[TERN_ADDR_STRLEN], dst[TERN_ADDR_STRLEN];

	(void)ctx, (void)sim, (void)node;
	if (tern_ipv4_parse(pkt, len, &ip) != TERN_WIRE_OK || ip.proto != TERN_IPPROTO_TCP)
		return;
	if (tern_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &seg) != TERN_WIRE_OK)
		return;
	struct tern_tcp_fmt fmt = { .ports = true, .win = true };
	tern_tcp_format(line, sizeof(line), &seg, &fmt);
	struct tern_addr s = { .family = TERN_AF_INET, .u.v4 = ip.src };
	struct tern_addr d = { .family = TERN_AF_INET, .u.v4 = ip.dst };
	printf("  %8.3f ms  %s > %s  %s\n", (double)now / TERN_NS_PER_MS,
	       tern_addr_format(&s, src, sizeof(src)), tern_addr_format(&d, dst, sizeof(dst)), line);
}

/* Builds the probe: a SYN with Linux's usual options, from 10.0.0.3:40000 to :80. */
static size_t build_probe(uint8_t *buf, size_t cap, uint32_t src, uint32_t dst, char *line, size_t linecap)
{
	struct tern_tcp syn = {
		.sport = 40000, .dport = 80, .seq = 1000, .flags = TERN_TCP_SYN, .win = 65535,
		.opt = {
			.present = TERN_TCPOPT_HAS_MSS | TERN_TCPOPT_HAS_SACK_PERM | TERN_TCPOPT_HAS_TS |
				   TERN_TCPOPT_HAS_WSCALE,
			.mss = 1460, .ts_val = 1, .wscale = 7, .count = 5,
			.kinds = { TERN_TCPOPT_MSS, TERN_TCPOPT_SACK_PERM, TERN_TCPOPT_TS,
				   TERN_TCPOPT_NOP, TERN_TCPOPT_WSCALE },
			.lens = { 4, 2, 10, 1, 3 },
		},
	};
	struct tern_ipv4 ip = { .ttl = 64, .proto = TERN_IPPROTO_TCP, .frag = TERN_IP_DF, .src = src, .dst = dst };
	size_t n = tern_tcp_build(buf + TERN_IPV4_HDR_LEN, cap - TERN_IPV4_HDR_LEN, &syn, src, dst);
	if (n == 0 || tern_ipv4_build(buf, cap, &ip, (uint16_t)n) == 0)
		return 0;
	struct tern_tcp_fmt fmt = { .ports = true, .win = true };
	tern_tcp_format(line, linecap, &syn, &fmt);
	return TERN_IPV4_HDR_LEN + n;
}

/* ------------------------------------------------------------ the TCP act */

/* The exchange is HTTP/1.0, so that Wireshark decodes port 80 cleanly. */
static const char http_request[] = "GET /demo HTTP/1.0\r\nHost: 10.0.0.2\r\nUser-Agent: tern-demo\r\n\r\n";
#define REQ_BYTES (sizeof(http_request) - 1)
#define BODY_BYTES 20000
static const char http_head[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20000\r\n\r\n";
#define RESP_BYTES (sizeof(http_head) - 1 + BODY_BYTES)

struct tcp_act {
	struct tern_trace tr;
	bool tracing;
	struct tern_stack *a, *b;
	int cfd, lfd, sfd;
	size_t req_sent, req_got, resp_sent, resp_got;
	bool cli_closed, srv_closed;
	int state_a, state_b;            /* last states printed */
};

static void on_segment(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	struct tcp_act *t = ctx;
	char line[512];

	if (!t->tracing || len < 20 || pkt[9] != TERN_IPPROTO_TCP)
		return;
	tern_trace_line(&t->tr, now, pkt, len, line, sizeof(line));
	printf("  %s\n", line);
}

struct find_conn {
	uint16_t port;     /* the server's port */
	bool server_side;
	int state;
};

static int find_conn_cb(void *ctx, const struct tern_diag_sock *s)
{
	struct find_conn *f = ctx;

	if (s->state == TERN_STATE_LISTEN || s->state == TERN_STATE_CLOSE)
		return 0;
	if ((f->server_side && s->lport == f->port) || (!f->server_side && s->rport == f->port)) {
		f->state = s->state;
		return 1;
	}
	return 0;
}

/* Prints a host's connection state when it changes ("gone" once it no longer
 * exists). */
static void show_state(struct tern_stack *st, const char *who, bool server_side, int *last, tern_time now)
{
	struct find_conn f = { .port = 80, .server_side = server_side, .state = 0 };

	tern_diag_foreach(st, find_conn_cb, &f);
	if (f.state == *last)
		return;
	*last = f.state;
	printf("  %10.6f %*s-- %s is now %s\n", (double)now / TERN_NS_PER_SEC, 26, "", who,
	       f.state ? tern_state_name(f.state) : "gone (CLOSED)");
}

/* The applications: A sends a request and reads the answer to EOF; B reads the
 * request, answers, and closes first (so B ends in TIME-WAIT). */
static void tcp_apps(struct tcp_act *t)
{
	uint8_t buf[4096];

	if (t->sfd < 0) {
		struct tern_sockaddr peer;
		int fd = tern_accept(t->b, t->lfd, &peer, TERN_SOCK_NONBLOCK);
		if (fd >= 0)
			t->sfd = fd;
	}
	if (!t->cli_closed && t->req_sent < REQ_BYTES) {
		ssize_t n = tern_send(t->a, t->cfd, http_request + t->req_sent, REQ_BYTES - t->req_sent, 0);
		if (n > 0)
			t->req_sent += (size_t)n;
	}
	if (t->sfd >= 0 && !t->srv_closed) {
		ssize_t n;
		while ((n = tern_recv(t->b, t->sfd, buf, sizeof(buf), 0)) > 0)
			t->req_got += (size_t)n;
		while (t->req_got >= REQ_BYTES && t->resp_sent < RESP_BYTES) {
			/* The header, then a body of text lines. */
			size_t head = sizeof(http_head) - 1, len = 0;
			for (; len < sizeof(buf) && t->resp_sent + len < RESP_BYTES; len++) {
				size_t at = t->resp_sent + len;
				buf[len] = at < head ? (uint8_t)http_head[at] : (at - head) % 64 == 63 ? '\n' : 'a' + (at - head) % 26;
			}
			n = tern_send(t->b, t->sfd, buf, len, 0);
			if (n <= 0)
				break;
			t->resp_sent += (size_t)n;
		}
		if (t->resp_sent == RESP_BYTES) {
			tern_close(t->b, t->sfd);
			t->srv_closed = true;
		}
	}
	if (!t->cli_closed) {
		ssize_t n;
		while ((n = tern_recv(t->a, t->cfd, buf, sizeof(buf), 0)) > 0)
			t->resp_got += (size_t)n;
		if (n == 0) {
			tern_close(t->a, t->cfd);
			t->cli_closed = true;
		}
	}
}

static void sync_all(struct tern_sim *sim, struct tcp_act *t)
{
	tern_stack_advance(t->a, tern_sim_now(sim));
	tern_stack_advance(t->b, tern_sim_now(sim));
}

static bool run_tcp_act(struct tern_sim *sim, int link, struct tern_stack *a, struct tern_stack *b)
{
	static struct tcp_act t;
	struct tern_sockaddr any = { .addr = { .family = TERN_AF_INET }, .port = 80 };
	struct tern_sockaddr to = { .addr = tern_addr_v4(10, 0, 0, 2), .port = 80 };

	memset(&t, 0, sizeof(t));
	tern_trace_init(&t.tr);
	t.a = a;
	t.b = b;
	t.sfd = -1;
	tern_sim_watch(sim, link, TERN_SIM_TAP_SEND, on_segment, &t);
	sync_all(sim, &t);
	t.lfd = tern_socket(b, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	if (t.lfd < 0 || tern_bind(b, t.lfd, &any) < 0 || tern_listen(b, t.lfd, 16) < 0)
		return false;
	t.cfd = tern_socket(a, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	if (t.cfd < 0)
		return false;
	printf("\nTCP: host B serves HTTP/1.0 on port 80; host A connects and asks for /demo (%zu bytes);\n"
	       "B answers with %zu bytes and closes; A reads to the end and closes. Segments as sent\n"
	       "(some are lost on the way), numbers relative to each side's ISN:\n\n", REQ_BYTES, RESP_BYTES);
	t.tracing = true;
	tern_connect(a, t.cfd, &to);
	show_state(a, "A", false, &t.state_a, tern_sim_now(sim));
	tern_time limit = tern_sim_now(sim) + 120 * TERN_NS_PER_SEC;
	tern_time quiet_until = TERN_TIME_NEVER;
	while (tern_sim_step(sim, limit)) {
		sync_all(sim, &t);
		tcp_apps(&t);
		show_state(a, "A", false, &t.state_a, tern_sim_now(sim));
		show_state(b, "B", true, &t.state_b, tern_sim_now(sim));
		/* Once both closed and only B's TIME-WAIT is left, stop tracing and let
		 * its 60 s pass in virtual time. */
		if (t.cli_closed && t.srv_closed && t.state_a == 0 && t.state_b == TERN_STATE_TIME_WAIT &&
		    quiet_until == TERN_TIME_NEVER) {
			quiet_until = tern_sim_now(sim) + 61 * TERN_NS_PER_SEC;
			printf("  %10.6f %*s   (B holds TIME-WAIT for 60 s; simulating them...)\n",
			       (double)tern_sim_now(sim) / TERN_NS_PER_SEC, 26, "");
		}
		if (t.state_b == 0 && t.srv_closed && t.cli_closed)
			break;
		if (tern_sim_now(sim) > quiet_until)
			break;
	}
	t.tracing = false;
	tern_close(b, t.lfd);
	printf("\nA sent %zu request bytes and received %zu of %zu response bytes.\n", t.req_sent, t.resp_got,
	       RESP_BYTES);
	return t.resp_got == RESP_BYTES && t.req_got == REQ_BYTES;
}

static void print_counters(const char *who, struct tern_stack *st)
{
	printf("%s counters:", who);
	int shown = 0;
	for (int i = 0; i < TERN_CTR_COUNT; i++) {
		uint64_t v = tern_stack_counter(st, (enum tern_counter)i);
		if (v == 0)
			continue;
		printf("%s %s %llu", shown % 4 ? "," : "\n   ", tern_counter_name((enum tern_counter)i),
		       (unsigned long long)v);
		shown++;
	}
	printf("\n");
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tern demo [--seed N] [--count N] [--interval MS] [--delay MS] [--loss PCT]\n"
		"                 [--pcap FILE] [--tcp-pcap FILE]\n"
		"Two simulated tern hosts ping each other over a lossy link in virtual time;\n"
		"a raw endpoint probes a closed TCP port. Writes a pcap of each link\n"
		"(default demo.pcap and demo-tcp.pcap).\n");
}

static int parse_opts(int argc, char **argv, struct demo_opts *o)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, 0, 's' },   { "count", required_argument, 0, 'c' },
		{ "interval", required_argument, 0, 'i' }, { "delay", required_argument, 0, 'd' },
		{ "loss", required_argument, 0, 'l' },   { "pcap", required_argument, 0, 'p' },
		{ "tcp-pcap", required_argument, 0, 't' }, { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int c;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:c:i:d:l:p:t:h", longopts, NULL)) != -1) {
		double v = 0;
		if (optarg) {
			v = strtod(optarg, &end);
			if (c != 'p' && c != 't' && (*end || end == optarg || !isfinite(v) || v < 0)) {
				fprintf(stderr, "tern demo: bad value '%s'\n", optarg);
				return -1;
			}
		}
		switch (c) {
		case 's':
			/* Read as an integer: every 64-bit seed names its own run. */
			errno = 0;
			o->seed = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || errno) {
				fprintf(stderr, "tern demo: bad seed '%s'\n", optarg);
				return -1;
			}
			break;
		case 'c': o->count = v <= 1000 ? (int)v : 0; break;
		case 'i': o->interval_ms = v; break;
		case 'd': o->delay_ms = v; break;
		case 'l': o->loss_pct = v; break;
		case 'p': o->pcap = optarg; break;
		case 't': o->tcp_pcap = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tern demo: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	/* An hour bounds both times, so every instant of the run fits tern_time. */
	if (o->count < 1 || o->count > 1000 || o->loss_pct > 100 || o->interval_ms <= 0 ||
	    o->interval_ms > DEMO_MAX_MS || o->delay_ms > DEMO_MAX_MS) {
		fprintf(stderr, "tern demo: --count must be 1..1000, --loss 0..100, "
				"--interval > 0, --interval and --delay at most %.0f ms\n", DEMO_MAX_MS);
		return -1;
	}
	return 0;
}

static double wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int tern_cmd_demo(int argc, char **argv)
{
	struct demo_opts o = { .seed = 42, .count = 20, .interval_ms = 200, .delay_ms = 20,
			       .loss_pct = 10, .pcap = "demo.pcap", .tcp_pcap = "demo-tcp.pcap" };
	static struct ping_log pl;
	struct tern_sim *sim;
	struct tern_stack *a, *b;
	int err;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	memset(&pl, 0, sizeof(pl));
	pl.opts = &o;

	if ((err = tern_sim_create(o.seed, &sim)) < 0) {
		fprintf(stderr, "tern demo: %s\n", tern_strerror(err));
		return 1;
	}

	struct tern_stack_config cfg;
	tern_stack_config_init(&cfg);
	cfg.addr = tern_addr_v4(10, 0, 0, 1);
	cfg.seed = o.seed;
	cfg.echo_reply = on_echo_reply;
	cfg.echo_reply_ctx = &pl;
	int na = tern_sim_add_stack(sim, &cfg, &a);
	tern_stack_config_init(&cfg);
	cfg.addr = tern_addr_v4(10, 0, 0, 2);
	cfg.seed = o.seed + 1;
	int nb = tern_sim_add_stack(sim, &cfg, &b);
	struct tern_addr probe_addr = tern_addr_v4(10, 0, 0, 3);
	int nc = tern_sim_add_endpoint(sim, &probe_addr, on_probe_rx, NULL);
	if (na < 0 || nb < 0 || nc < 0) {
		fprintf(stderr, "tern demo: cannot build the network\n");
		tern_sim_destroy(sim);
		return 1;
	}

	struct tern_link_params lossy = {
		.delay = (tern_time)(o.delay_ms * TERN_NS_PER_MS),
		.jitter = 2 * TERN_NS_PER_MS,
		.rate_bps = 10000000,
		.queue_bytes = 64 * 1024,
		.loss = o.loss_pct / 100.0,
		.duplicate = 0.02,
		.reorder = 0.05,
		.corrupt = 0.02,
	};
	struct tern_link_params wire = { .delay = 1 * TERN_NS_PER_MS };
	int ab = tern_sim_link(sim, na, nb, &lossy, &lossy);
	int cb = tern_sim_link(sim, nc, nb, &wire, &wire);
	if (ab < 0 || cb < 0 || (err = tern_sim_tap(sim, ab, o.pcap, TERN_SIM_TAP_SEND)) < 0 ||
	    (err = tern_sim_tap(sim, cb, o.tcp_pcap, TERN_SIM_TAP_SEND)) < 0) {
		fprintf(stderr, "tern demo: cannot write the capture: %s\n", tern_strerror(err));
		tern_sim_destroy(sim);
		return 1;
	}

	printf("tern demo (seed %llu): two tern hosts on a simulated network, in virtual time\n\n",
	       (unsigned long long)o.seed);
	printf("  host A 10.0.0.1 <---- %.0f ms each way, 0-2 ms jitter, 10 Mbit/s, %.0f%% loss,\n"
	       "                        2%% duplicated, 5%% reordered, 2%% corrupted ----> host B 10.0.0.2\n\n",
	       o.delay_ms, o.loss_pct);

	double t0 = wall_ms();
	struct tern_addr dst = tern_addr_v4(10, 0, 0, 2);
	tern_time step = (tern_time)(o.interval_ms * TERN_NS_PER_MS);
	printf("PING 10.0.0.2 from 10.0.0.1: 56 data bytes, %d requests %.0f ms apart\n", o.count,
	       o.interval_ms);
	for (int seq = 1; seq <= o.count; seq++) {
		tern_sim_run_until(sim, (tern_time)(seq - 1) * step);
		pl.sent_at[seq] = tern_sim_now(sim);
		tern_stack_ping(a, tern_sim_now(sim), &dst, 0x7e57, (uint16_t)seq, 56);
	}
	/* Let the last replies come home. */
	tern_time end = (tern_time)(o.count - 1) * step + 2 * TERN_NS_PER_SEC;
	tern_sim_run_until(sim, end);

	int lost = o.count - pl.received;
	printf("\n--- 10.0.0.2 ping statistics ---\n");
	printf("%d packets transmitted, %d received, +%d duplicates, %.0f%% packet loss, "
	       "time %.1f s (virtual)\n", o.count, pl.received, pl.dups,
	       100.0 * lost / o.count, (double)end / TERN_NS_PER_SEC);
	if (pl.received) {
		double avg = pl.rtt_sum / pl.received;
		double var = pl.rtt_sq / pl.received - avg * avg;
		printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", pl.rtt_min, avg, pl.rtt_max,
		       sqrt(var > 0 ? var : 0));
	}

	bool tcp_ok = run_tcp_act(sim, ab, a, b);

	/* A TCP segment to a port with no socket: Linux answers with a reset (RST|ACK,
	 * seq 0, ack = SYN's seq + 1), and so does tern. */
	uint8_t probe[128];
	char line[256];
	size_t n = build_probe(probe, sizeof(probe), probe_addr.u.v4, dst.u.v4, line, sizeof(line));
	printf("\nA raw endpoint 10.0.0.3 sends a SYN to host B's port 80, where nothing listens:\n");
	printf("  %8.3f ms  10.0.0.3 > 10.0.0.2  %s\n", (double)tern_sim_now(sim) / TERN_NS_PER_MS, line);
	tern_sim_inject(sim, nc, probe, n);
	tern_sim_run_until(sim, tern_sim_now(sim) + 10 * TERN_NS_PER_MS);
	double t1 = wall_ms();

	struct tern_link_stats s[2];
	tern_sim_link_stats(sim, ab, 0, &s[0]);
	tern_sim_link_stats(sim, ab, 1, &s[1]);
	printf("\nlink A<->B  sent  delivered  lost  dup  reordered  corrupted\n");
	for (int d = 0; d < 2; d++)
		printf("  %s   %5llu  %9llu  %4llu  %3llu  %9llu  %9llu\n", d ? "B->A" : "A->B",
		       (unsigned long long)s[d].sent, (unsigned long long)s[d].delivered,
		       (unsigned long long)s[d].lost, (unsigned long long)s[d].duplicated,
		       (unsigned long long)s[d].reordered, (unsigned long long)s[d].corrupted);
	printf("\n");
	print_counters("host A", a);
	print_counters("host B", b);
	printf("\n%.1f s of network time simulated in %.1f ms of real time.\n",
	       (double)tern_sim_now(sim) / TERN_NS_PER_SEC, t1 - t0);
	tern_sim_destroy(sim);
	printf("captures: %s (A<->B) and %s (probe); open them with wireshark or tshark -r\n", o.pcap,
	       o.tcp_pcap);
	if (!tcp_ok) {
		fprintf(stderr, "tern demo: the TCP exchange did not complete\n");
		return 1;
	}
	return 0;
}
