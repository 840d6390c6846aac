/*
 * bench/linux_synflood.c: the Linux baseline of `tern bench synflood`.
 *
 * A kernel listener under a SYN flood, with legitimate kernel clients beside it,
 * all inside a private network namespace this program makes for itself
 * (unshare(CLONE_NEWNET)), so nothing it sends can leave the machine:
 *
 *   - lo is brought up, and a TUN device (tflood0) that nobody reads is added as
 *     the sink: it holds the listener's address 10.0.0.1, and the spoofed range
 *     10.128.0.0/9 is routed to it. SYN-ACKs to spoofed sources are therefore
 *     built and transmitted in full, then dropped by the TUN device when its
 *     queue is full. (A blackhole route would fail the route lookup before the
 *     SYN-ACK is built, which would flatter the kernel.)
 *   - net.ipv4.tcp_syncookies=2 (per namespace): every SYN gets a cookie.
 *   - A listener on 10.0.0.1:80 with a small backlog (128), served by its own
 *     thread: accept, read the byte, close.
 *   - A flooder thread sends --syns spoofed SYNs from a raw socket (IP_HDRINCL,
 *     sendmmsg in batches of 64) out of a pool of 64 Ki distinct SYNs with the
 *     options a Linux client sends. Over loopback the kernel handles each SYN in
 *     the flooder's own system call (softirq on the way out), so the flooder's
 *     rate bounds the kernel's; both are reported.
 *   - --clients legitimate clients connect (non-blocking, epoll), spread over the
 *     flood by its progress; each writes one byte and closes. Success means the
 *     server read the byte; latency is connect() to writable.
 *
 * The kernel's SYN-ACK rate comes from its own counters (TcpExtSyncookiesSent in
 * /proc/net/netstat, read inside the namespace) over the flood's wall time.
 *
 * Output: one JSON object on stdout. Without root or network namespaces it prints
 * {"error": "..."} and exits 3, so `tern bench synflood` reports why.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define POOL (64 * 1024)
#define BATCH 64
#define SYN_LEN 60
#define BACKLOG 128
#define PORT 80
#define SINK "tflood0"
#define SERVER 0x0a000001u        /* 10.0.0.1 */
#define SPOOF_NET 0x0a800000u     /* 10.128.0.0/9 */
#define SPOOF_MASK 0x007fffffu
#define CLIENT_TIMEOUT_S 10.0

static void fail(const char *what, int err)
{
	printf("{\"error\":\"%s: %s\"}\n", what, strerror(err));
	exit(3);
}

static double now_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ------------------------------------------------------------ the namespace */

static void if_up(int s, const char *name)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		fail("SIOCGIFFLAGS", errno);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		fail("SIOCSIFFLAGS", errno);
}

static void sin_set(struct sockaddr *sa, uint32_t addr)
{
	struct sockaddr_in *in = (struct sockaddr_in *)sa;
	memset(in, 0, sizeof(*in));
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(addr);
}

/* Returns the TUN descriptor, which must stay open: closing it removes the sink. */
static int make_netns(void)
{
	if (geteuid() != 0) {
		printf("{\"error\":\"needs root (a private network namespace and a raw socket)\"}\n");
		exit(3);
	}
	if (unshare(CLONE_NEWNET) < 0)
		fail("unshare(CLONE_NEWNET)", errno);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		fail("socket", errno);
	if_up(s, "lo");

	int tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (tun < 0)
		fail("/dev/net/tun", errno);
	struct ifreq ifr = { 0 };
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", SINK);
	if (ioctl(tun, TUNSETIFF, &ifr) < 0)
		fail("TUNSETIFF", errno);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", SINK);
	sin_set(&ifr.ifr_addr, SERVER);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		fail("SIOCSIFADDR", errno);
	if_up(s, SINK);

	struct rtentry rt = { 0 };
	sin_set(&rt.rt_dst, SPOOF_NET);
	sin_set(&rt.rt_genmask, ~SPOOF_MASK);
	sin_set(&rt.rt_gateway, 0);
	rt.rt_flags = RTF_UP;
	rt.rt_dev = (char *)SINK;
	if (ioctl(s, SIOCADDRT, &rt) < 0)
		fail("SIOCADDRT", errno);
	close(s);

	int f = open("/proc/sys/net/ipv4/tcp_syncookies", O_WRONLY);
	if (f < 0 || write(f, "2\n", 2) != 2)
		fail("net.ipv4.tcp_syncookies", errno);
	close(f);
	return tun;
}

/* ------------------------------------------------------------ kernel counters */

/* A field of a "Group: names / Group: values" pair of lines in a /proc/net file. */
static long long proc_counter(const char *file, const char *group, const char *name)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return -1;
	static char names[8192], vals[8192];
	long long v = -1;
	size_t gl = strlen(group);
	while (fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
		if (strncmp(names, group, gl) || names[gl] != ':')
			continue;
		char *sn, *sv;
		char *n = strtok_r(names + gl + 1, " \n", &sn);
		char *x = strtok_r(vals + gl + 1, " \n", &sv);
		for (; n && x; n = strtok_r(NULL, " \n", &sn), x = strtok_r(NULL, " \n", &sv))
			if (!strcmp(n, name)) {
				v = atoll(x);
				break;
			}
		break;
	}
	fclose(f);
	return v;
}

struct counters {
	long long cookies_sent, cookies_recv, cookies_failed, listen_drops, listen_overflows, out_segs;
};

static void counters_read(struct counters *c)
{
	c->cookies_sent = proc_counter("/proc/net/netstat", "TcpExt", "SyncookiesSent");
	c->cookies_recv = proc_counter("/proc/net/netstat", "TcpExt", "SyncookiesRecv");
	c->cookies_failed = proc_counter("/proc/net/netstat", "TcpExt", "SyncookiesFailed");
	c->listen_drops = proc_counter("/proc/net/netstat", "TcpExt", "ListenDrops");
	c->listen_overflows = proc_counter("/proc/net/netstat", "TcpExt", "ListenOverflows");
	c->out_segs = proc_counter("/proc/net/snmp", "Tcp", "OutSegs");
}

/* The interfaces of this namespace (/proc/net/dev), and what the sink was handed. */
static void netdev_read(char *names, size_t len, long long *sink_pkts)
{
	FILE *f = fopen("/proc/net/dev", "r");
	names[0] = 0;
	*sink_pkts = -1;
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		char *name = line;
		while (*name == ' ')
			name++;
		size_t used = strlen(names);
		snprintf(names + used, len - used, "%s%.20s", used ? "," : "", name);
		if (strcmp(name, SINK))
			continue;
		/* rx: bytes packets errs drop fifo frame compressed multicast;
		 * tx: bytes packets errs drop ... */
		long long v[12] = { 0 };
		if (sscanf(colon + 1, "%lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld", &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]) == 12)
			*sink_pkts = v[9] + v[11];
	}
	fclose(f);
}

/* ------------------------------------------------------------ the flood */

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

/* A SYN as Linux sends it: <mss 1460,sackOK,TS val V ecr 0,nop,wscale 7>. */
static void build_syn(uint8_t *b, uint32_t src, uint16_t sport, uint32_t seq, uint32_t tsval, uint16_t id)
{
	memset(b, 0, SYN_LEN);
	b[0] = 0x45;
	put16(b + 2, SYN_LEN);
	put16(b + 4, id);
	put16(b + 6, 0x4000);
	b[8] = 64;
	b[9] = IPPROTO_TCP;
	put32(b + 12, src);
	put32(b + 16, SERVER);
	put16(b + 10, csum_fold(csum_add(0, b, 20)));
	uint8_t *t = b + 20;
	put16(t, sport);
	put16(t + 2, PORT);
	put32(t + 4, seq);
	t[12] = 10 << 4;          /* 40 bytes of header */
	t[13] = 0x02;             /* SYN */
	put16(t + 14, 64240);
	static const uint8_t opts[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7 };
	memcpy(t + 20, opts, sizeof(opts));
	put32(t + 28, tsval);
	uint32_t sum = csum_add(0, b + 12, 8) + IPPROTO_TCP + 40;
	put16(t + 16, csum_fold(csum_add(sum, t, 40)));
}

struct flood {
	uint8_t *pool;
	long long syns;
	_Atomic long long sent;
	_Atomic bool done;
	double t0, t1, cpu_s;
	int err;
};

static void *flooder(void *arg)
{
	struct flood *fl = arg;
	int s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (s < 0) {
		fl->err = errno;
		atomic_store(&fl->done, true);
		return NULL;
	}
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(SERVER) };
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	fl->t0 = now_s(CLOCK_MONOTONIC);
	long long i = 0;
	while (i < fl->syns) {
		int n = fl->syns - i < BATCH ? (int)(fl->syns - i) : BATCH;
		for (int k = 0; k < n; k++) {
			iov[k].iov_base = fl->pool + (size_t)((i + k) & (POOL - 1)) * SYN_LEN;
			iov[k].iov_len = SYN_LEN;
			memset(&msgs[k], 0, sizeof(msgs[k]));
			msgs[k].msg_hdr.msg_name = &dst;
			msgs[k].msg_hdr.msg_namelen = sizeof(dst);
			msgs[k].msg_hdr.msg_iov = &iov[k];
			msgs[k].msg_hdr.msg_iovlen = 1;
		}
		int r = sendmmsg(s, msgs, (unsigned)n, 0);
		if (r < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)
				continue;
			fl->err = errno;
			break;
		}
		i += r;
		atomic_store_explicit(&fl->sent, i, memory_order_relaxed);
	}
	fl->t1 = now_s(CLOCK_MONOTONIC);
	fl->cpu_s = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	close(s);
	atomic_store(&fl->done, true);
	return NULL;
}

/* ------------------------------------------------------------ the server */

struct server {
	int lfd, ep;
	_Atomic bool stop;
	_Atomic uint8_t got[65536];    /* a byte arrived from this client port */
};

static void *server(void *arg)
{
	struct server *sv = arg;
	struct epoll_event evs[64];
	while (!atomic_load(&sv->stop)) {
		int n = epoll_wait(sv->ep, evs, 64, 5);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == sv->lfd) {
				int c;
				while ((c = accept4(sv->lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					struct epoll_event ev = { .events = EPOLLIN, .data.fd = c };
					epoll_ctl(sv->ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			char b[16];
			ssize_t r = read(fd, b, sizeof(b));
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r > 0) {
				struct sockaddr_in peer;
				socklen_t pl = sizeof(peer);
				if (getpeername(fd, (struct sockaddr *)&peer, &pl) == 0)
					atomic_store(&sv->got[ntohs(peer.sin_port)], 1);
				r = read(fd, b, sizeof(b));
				if (r < 0 && errno == EAGAIN)
					continue;
			}
			close(fd);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ the clients */

struct client {
	double start, latency;
	int fd;
	uint16_t port;
	int state;                /* 0 waiting, 1 connecting, 2 connected, 3 failed */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void client_start(struct client *c, int ep, int idx)
{
	c->start = now_s(CLOCK_MONOTONIC);
	c->state = 1;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(PORT),
				   .sin_addr.s_addr = htonl(SERVER) };
	if (c->fd < 0) {
		c->state = 3;
		return;
	}
	int r = connect(c->fd, (struct sockaddr *)&dst, sizeof(dst));
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)idx };
	if ((r < 0 && errno != EINPROGRESS) || getsockname(c->fd, (struct sockaddr *)&me, &ml) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		close(c->fd);
		c->state = 3;
		return;
	}
	c->port = ntohs(me.sin_port);
}

/* Runs the clients until each has connected or failed (refused, or still
 * connecting after CLIENT_TIMEOUT_S), starting client i once the flood has sent
 * (i + 1/2) / n of its SYNs, or at once when the flood is over. */
static void run_clients(struct client *cl, int n, struct flood *fl)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int next = 0, resolved = 0;
	struct epoll_event evs[64];
	while (resolved < n) {
		long long sent = atomic_load_explicit(&fl->sent, memory_order_relaxed);
		bool done = atomic_load(&fl->done);
		while (next < n && (done || (double)sent >= ((double)next + 0.5) * (double)fl->syns / n)) {
			client_start(&cl[next], ep, next);
			if (cl[next].state == 3)
				resolved++;
			next++;
		}
		int k = epoll_wait(ep, evs, 64, 1);
		double now = now_s(CLOCK_MONOTONIC);
		for (int i = 0; i < k; i++) {
			struct client *c = &cl[evs[i].data.u32];
			if (c->state != 1)
				continue;
			int err = 0;
			socklen_t el = sizeof(err);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (!err && write(c->fd, "x", 1) == 1) {
				c->latency = now - c->start;
				c->state = 2;
			} else {
				c->state = 3;
			}
			close(c->fd);
			resolved++;
		}
		for (int i = 0; i < next; i++)
			if (cl[i].state == 1 && now - cl[i].start > CLIENT_TIMEOUT_S) {
				close(cl[i].fd);
				cl[i].state = 3;
				resolved++;
			}
	}
	close(ep);
}

/* ------------------------------------------------------------ main */

static long long arg_count(const char *name, const char *v, long long lo, long long hi)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (end == v || *end || errno || x < lo || x > hi) {
		fprintf(stderr, "linux-synflood: %s wants %lld..%lld\n", name, lo, hi);
		exit(2);
	}
	return x;
}

int main(int argc, char **argv)
{
	long long syns = 2000000;
	int nclients = 1000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--syns") && i + 1 < argc)
			syns = arg_count("--syns", argv[++i], 0, 1000000000000LL);
		else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
			nclients = (int)arg_count("--clients", argv[++i], 1, 20000);
		else {
			fprintf(stderr, "usage: linux-synflood [--syns N] [--clients N]\n");
			return 2;
		}
	}
	int tun = make_netns();

	struct server *sv = calloc(1, sizeof(*sv));
	struct flood fl = { .syns = syns };
	struct client *cl = calloc((size_t)nclients, sizeof(*cl));
	fl.pool = malloc((size_t)POOL * SYN_LEN);
	if (!sv || !cl || !fl.pool)
		fail("malloc", ENOMEM);
	uint64_t seed = 42;
	for (size_t i = 0; i < POOL; i++) {
		uint64_t r = rnd(&seed), q = rnd(&seed);
		build_syn(fl.pool + i * SYN_LEN, SPOOF_NET | ((uint32_t)r & SPOOF_MASK),
			  (uint16_t)(1024 + (r >> 32) % (65536 - 1024)), (uint32_t)q, (uint32_t)(q >> 32),
			  (uint16_t)(r >> 48));
	}

	sv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;
	struct sockaddr_in la = { .sin_family = AF_INET, .sin_port = htons(PORT), .sin_addr.s_addr = htonl(SERVER) };
	if (sv->lfd < 0 || setsockopt(sv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(sv->lfd, (struct sockaddr *)&la, sizeof(la)) < 0 || listen(sv->lfd, BACKLOG) < 0)
		fail("listener", errno);
	sv->ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = sv->lfd };
	if (sv->ep < 0 || epoll_ctl(sv->ep, EPOLL_CTL_ADD, sv->lfd, &ev) < 0)
		fail("epoll", errno);

	struct counters c0, c1, c2;
	counters_read(&c0);
	pthread_t ts, tf;
	if (pthread_create(&ts, NULL, server, sv) || pthread_create(&tf, NULL, flooder, &fl))
		fail("pthread_create", EAGAIN);
	run_clients(cl, nclients, &fl);
	pthread_join(tf, NULL);
	counters_read(&c1);       /* the flood is over: its counters are complete */
	atomic_store(&sv->stop, true);
	pthread_join(ts, NULL);
	counters_read(&c2);
	if (fl.err)
		fail("flooder", fl.err);

	char ifnames[256];
	long long sink;
	netdev_read(ifnames, sizeof(ifnames), &sink);
	close(tun);

	int ok = 0;
	double *lat = calloc((size_t)nclients, sizeof(*lat));
	int nl = 0;
	for (int i = 0; i < nclients; i++) {
		if (cl[i].state == 2) {
			lat[nl++] = cl[i].latency * 1e6;
			if (atomic_load(&sv->got[cl[i].port]))
				ok++;
		}
	}
	qsort(lat, (size_t)nl, sizeof(*lat), cmp_double);
	double flood_s = fl.t1 - fl.t0;
	long long cookies = c1.cookies_sent - c0.cookies_sent;
	printf("{\"synacks_per_s\":%.6g,\"syns\":%lld,\"flood_s\":%.6g,\"flooder_pps\":%.6g,"
	       "\"flooder_cpu_s\":%.6g,\"synacks_per_cpu_s\":%.6g,\"cookies_sent\":%lld,"
	       "\"out_segs\":%lld,\"sink_packets\":%lld,\"interfaces\":\"%s\","
	       "\"clients\":%d,\"succeeded\":%d,\"failed\":%d,\"success_pct\":%.6g,",
	       flood_s > 0 ? (double)cookies / flood_s : 0, syns, flood_s,
	       flood_s > 0 ? (double)syns / flood_s : 0, fl.cpu_s,
	       fl.cpu_s > 0 ? (double)cookies / fl.cpu_s : 0, cookies, c1.out_segs - c0.out_segs, sink, ifnames,
	       nclients, ok, nclients - ok, 100.0 * ok / nclients);
	if (nl > 0)
		printf("\"latency_us\":{\"min\":%.6g,\"median\":%.6g,\"p99\":%.6g,\"max\":%.6g},", lat[0],
		       lat[nl / 2], lat[(nl * 99) / 100 < nl ? (nl * 99) / 100 : nl - 1], lat[nl - 1]);
	else
		printf("\"latency_us\":{\"min\":null,\"median\":null,\"p99\":null,\"max\":null},");
	printf("\"cookies_recv\":%lld,\"cookies_failed\":%lld,\"listen_drops\":%lld,\"listen_overflows\":%lld,"
	       "\"backlog\":%d,\"method\":\"private netns, raw socket sendmmsg flooder, TUN sink for spoofed replies, "
	       "tcp_syncookies=2\"}\n",
	       c2.cookies_recv - c0.cookies_recv, c2.cookies_failed - c0.cookies_failed,
	       c2.listen_drops - c0.listen_drops, c2.listen_overflows - c0.listen_overflows, BACKLOG);
	free(lat);
	free(cl);
	free(fl.pool);
	free(sv);
	return 0;
}
