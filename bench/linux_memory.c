/*
 * bench/linux_memory.c: the kernel's side of `tern bench memory`, what Linux pays
 * per half-open request, per TIME-WAIT entry and per idle established socket.
 *
 * 1. Sizes. Every TCP object lives in a slab cache; /proc/slabinfo (root only)
 *    gives each cache's object size and how many objects share a slab of
 *    2^k pages, so the real cost of one object, slab packing included, is
 *    pagesperslab * page_size / objperslab. The figures:
 *      request     request_sock_TCP
 *      TIME-WAIT   tw_sock_TCP
 *      socket      TCP (struct tcp_sock) + sock_inode_cache (struct socket with
 *                  its inode) + filp (struct file) + dentry: what a socket that a
 *                  process holds as a descriptor needs;
 *      + epoll     eventpoll_epi + eventpoll_pwq + ep_head: the registration in
 *                  an epoll set, its wait-queue hook, the file's list of them.
 *    SLUB merges caches of equal size, so some of these have no line of their own
 *    in /proc/slabinfo; their slab geometry then comes from /sys/kernel/slab/NAME
 *    ("merged": true), and in slab growth they show under the host cache's name.
 * 2. Measurement (unless --count 0). In a private network namespace of its own
 *    (unshare(CLONE_NEWNET); it vanishes with this process, taking every socket
 *    and TIME-WAIT entry along), the program opens N loopback connections, holds
 *    both ends, registers them in epoll, closes them so that the clients hold N
 *    TIME-WAIT entries, and finally sends N SYNs that never complete through a
 *    TUN device to a listener with cookies off, reading and discarding the
 *    SYN-ACKs. After each step it reads /proc/slabinfo again: the growth of each
 *    named cache, in objects per connection, checks the model above (1.0 each),
 *    and the growth of all caches together, in bytes per object, is the measured
 *    cost. Slab counts are global, so other activity on the machine adds noise;
 *    the named caches' object counts show how much.
 *
 *   linux-memory [--count N]    (default 10000; 0 skips the measurement)
 *
 * Output: one JSON object, top-level figures first (the caller reads
 * "request_bytes", "time_wait_bytes", "established_bytes" by name):
 *   {"page_size", "request_bytes", "time_wait_bytes", "established_bytes",
 *    "established_epoll_bytes", "caches": {...}, "measured": {...}}
 * Exit 3 with an "error" field when /proc/slabinfo cannot be read; exit 2 for bad
 * arguments. A measurement that cannot run (no netns, no TUN) is reported in
 * "measured_error" and the sizes are still printed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CACHES 1024
#define MAX_COUNT 60000       /* one loopback port range (set to 1024-65535) */
#define TUN_ADDR 0x0a090001u   /* 10.9.0.1: the listener for half-open requests */
#define TUN_PEER 0x0a090002u   /* 10.9.0.2: the SYNs' source */

struct cache {
	char name[64];
	long active, total, objsize, perslab, pages;
	bool merged;              /* from /sys/kernel/slab: shares another's slabs */
};

struct snapshot {
	struct cache c[MAX_CACHES];
	int n;
};

static long page_size;

/* Reads /proc/slabinfo into s. 0, or -errno. */
static int slab_read(struct snapshot *s)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	if (!f)
		return -errno;
	char line[512];
	s->n = 0;
	while (fgets(line, sizeof(line), f) && s->n < MAX_CACHES) {
		struct cache *c = &s->c[s->n];
		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%63s %ld %ld %ld %ld %ld", c->name, &c->active, &c->total, &c->objsize,
			   &c->perslab, &c->pages) == 6 && c->perslab > 0)
			s->n++;
	}
	int err = ferror(f) ? -EIO : 0;
	fclose(f);
	return err;
}

static const struct cache *slab_find(const struct snapshot *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->c[i].name, name))
			return &s->c[i];
	return NULL;
}

/* A cache merged into another (SLUB shares caches of equal size) has no line of
 * its own in /proc/slabinfo; /sys/kernel/slab/NAME still describes the slab its
 * objects live in. Adds it to s as a line with no counts. NULL if absent. */
static long sysfs_long(const char *name, const char *field)
{
	char path[160];
	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/%s", name, field);
	FILE *f = fopen(path, "r");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static const struct cache *slab_find_merged(struct snapshot *s, const char *name)
{
	const struct cache *c = slab_find(s, name);
	if (c || s->n >= MAX_CACHES)
		return c;
	struct cache *m = &s->c[s->n];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->objsize = sysfs_long(name, "object_size");
	m->perslab = sysfs_long(name, "objs_per_slab");
	long order = sysfs_long(name, "order");
	if (m->objsize <= 0 || m->perslab <= 0 || order < 0 || order > 10)
		return NULL;
	m->pages = 1L << order;
	m->merged = true;
	s->n++;
	return m;
}

/* Bytes one object really costs: its share of the slab it sits in. */
static double slab_bytes(const struct cache *c)
{
	return c ? (double)c->pages * (double)page_size / (double)c->perslab : 0;
}

/* Growth of one cache between two snapshots, in objects. */
static long slab_delta(const struct snapshot *a, const struct snapshot *b, const char *name)
{
	const struct cache *x = slab_find(a, name), *y = slab_find(b, name);
	return x && y ? y->active - x->active : 0;
}

/* Growth of all caches together, in bytes (objects times their slab share). */
static double slab_delta_all(const struct snapshot *a, const struct snapshot *b)
{
	double sum = 0;
	for (int i = 0; i < b->n; i++) {
		const struct cache *x = slab_find(a, b->c[i].name);
		long before = x ? x->active : 0;
		sum += (double)(b->c[i].active - before) * slab_bytes(&b->c[i]);
	}
	return sum;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int write_proc_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", text);
	return fclose(f) == 0 ? 0 : -errno;
}

static int write_proc(const char *path, long v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%ld", v);
	return write_proc_text(path, buf);
}

/* ---------------------------------------------------------------- the measurement */
/* What one step (N objects of a kind made) did to the slabs. */
struct step {
	long units;               /* objects made */
	double named_bytes;       /* growth of the kind's own caches, per object */
	double all_bytes;         /* growth of every cache, per object */
	char caches[600];         /* JSON: each cache that grew or shrank by >= 5 % of
				     units, in objects per unit */
	bool done;
};

struct measured {
	long count;
	struct step socket, epoll, time_wait, request;
	char error[200];
};

static const char *const sock_caches[] = { "TCP", "sock_inode_cache", "filp", "dentry" };

/* Fills `st` from two snapshots; `named` lists the kind's own caches. */
static void step_fill(struct step *st, long units, const struct snapshot *a, const struct snapshot *b,
		      const char *const *named, int nnamed)
{
	st->units = units;
	double sum = 0;
	for (int k = 0; k < nnamed; k++)
		sum += (double)slab_delta(a, b, named[k]) * slab_bytes(slab_find(b, named[k]));
	st->named_bytes = sum / (double)units;
	st->all_bytes = slab_delta_all(a, b) / (double)units;
	size_t used = 0;
	for (int i = 0; i < b->n && used < sizeof(st->caches) - 80; i++) {
		long d = slab_delta(a, b, b->c[i].name);
		if (labs(d) * 20 < units)
			continue;
		used += (size_t)snprintf(st->caches + used, sizeof(st->caches) - used, "%s\"%s\":%.3f",
					 used ? "," : "", b->c[i].name, (double)d / (double)units);
	}
	st->done = true;
}

static int set_up(int s, const char *name)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

/* One SYN with Linux's options (MSS, SACK permitted, timestamps, window scale)
 * from src:sport to TUN_ADDR:dport (host order). Returns its length. */
static size_t make_syn(uint8_t *b, uint32_t src_addr, uint16_t sport, uint16_t dport, uint32_t iss)
{
	static const uint8_t opts[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
					  1, 3, 3, 7 };
	size_t tl = 20 + sizeof(opts), len = 20 + tl;
	memset(b, 0, len);
	b[0] = 0x45;
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	b[6] = 0x40;  /* DF */
	b[8] = 64;
	b[9] = IPPROTO_TCP;
	uint32_t src = htonl(src_addr), dst = htonl(TUN_ADDR);
	memcpy(b + 12, &src, 4);
	memcpy(b + 16, &dst, 4);
	uint16_t ipsum = htons(csum_fold(csum_add(0, b, 20)));
	memcpy(b + 10, &ipsum, 2);
	uint8_t *t = b + 20;
	t[0] = (uint8_t)(sport >> 8);
	t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8);
	t[3] = (uint8_t)dport;
	uint32_t seq = htonl(iss);
	memcpy(t + 4, &seq, 4);
	t[12] = (uint8_t)((tl / 4) << 4);
	t[13] = 0x02;  /* SYN */
	t[14] = 0xff;
	t[15] = 0xff;
	memcpy(t + 20, opts, sizeof(opts));
	uint32_t sum = csum_add(0, b + 12, 8);  /* pseudo-header: addresses */
	sum += IPPROTO_TCP + (uint32_t)tl;
	sum = csum_add(sum, t, tl);
	uint16_t tsum = htons(csum_fold(sum));
	memcpy(t + 16, &tsum, 2);
	return len;
}

static void tun_drain(int fd)
{
	uint8_t buf[2048];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* N half-open requests through a TUN device; fills m->request_*. */
static int measure_requests(struct measured *m, int ctl, struct snapshot *s0, struct snapshot *s1)
{
	long n = m->count;
	int tun = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
	if (tun < 0)
		return snprintf(m->error, sizeof(m->error), "/dev/net/tun: %s", strerror(errno)), -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (ioctl(tun, TUNSETIFF, &ifr) < 0)
		return snprintf(m->error, sizeof(m->error), "TUNSETIFF: %s", strerror(errno)), -1;
	struct sockaddr_in *sa = (struct sockaddr_in *)&ifr.ifr_addr;
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(TUN_ADDR);
	int r = ioctl(ctl, SIOCSIFADDR, &ifr);
	sa->sin_addr.s_addr = htonl(0xffffff00u);
	if (r < 0 || ioctl(ctl, SIOCSIFNETMASK, &ifr) < 0 || set_up(ctl, ifr.ifr_name) < 0)
		return snprintf(m->error, sizeof(m->error), "tun address: %s", strerror(errno)), -1;
	if (write_proc("/proc/sys/net/ipv4/tcp_syncookies", 0) < 0 ||
	    write_proc("/proc/sys/net/ipv4/tcp_max_syn_backlog", 4 * n + 1024) < 0 ||
	    write_proc("/proc/sys/net/core/somaxconn", n + 1024) < 0)
		return snprintf(m->error, sizeof(m->error), "sysctl: %s", strerror(errno)), -1;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80),
				 .sin_addr.s_addr = htonl(TUN_ADDR) };
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, (int)n + 1024) < 0)
		return snprintf(m->error, sizeof(m->error), "listen: %s", strerror(errno)), -1;
	if (slab_read(s0) < 0)
		return snprintf(m->error, sizeof(m->error), "slabinfo: %s", strerror(errno)), -1;
	uint8_t pkt[64];
	for (long i = 0; i < n; i++) {
		/* Distinct sources: 50,000 ports on each of 10.9.0.2, .3, ... */
		size_t len = make_syn(pkt, TUN_PEER + (uint32_t)(i / 50000), (uint16_t)(1024 + i % 50000),
				      80, (uint32_t)i * 2654435761u);
		if (write(tun, pkt, len) != (ssize_t)len)
			return snprintf(m->error, sizeof(m->error), "tun write: %s", strerror(errno)), -1;
		if ((i & 63) == 63)
			tun_drain(tun);
	}
	tun_drain(tun);
	sleep_ms(20);
	tun_drain(tun);
	if (slab_read(s1) < 0)
		return -1;
	static const char *const req[] = { "request_sock_TCP" };
	step_fill(&m->request, n, s0, s1, req, 1);
	return 0;
}

/* Opens n loopback connections to `a`, accepting each; the two ends in cli[] and
 * srv[]. 0 or -1 with m->error set. */
static int connect_all(struct measured *m, const struct sockaddr_in *a, int l, int *cli, int *srv,
		       long n)
{
	for (long i = 0; i < n; i++) {
		cli[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (cli[i] < 0 || connect(cli[i], (const struct sockaddr *)a, sizeof(*a)) < 0)
			return snprintf(m->error, sizeof(m->error), "connect %ld: %s", i, strerror(errno)), -1;
		srv[i] = accept(l, NULL, NULL);
		if (srv[i] < 0)
			return snprintf(m->error, sizeof(m->error), "accept %ld: %s", i, strerror(errno)), -1;
	}
	return 0;
}

/*
 * The steps, each measured on the server side alone, as tern's figures are:
 *   socket     N connections; the clients then abort theirs (RST, no TIME-WAIT,
 *              their port buckets freed), leaving N accepted sockets held open;
 *   epoll      those N registered in one epoll set;
 *   TIME-WAIT  (after the N are closed) N new connections that the server closes
 *              first, so the server holds N TIME-WAIT entries;
 *   request    N SYNs through a TUN device (measure_requests).
 * Sockets, files and inodes are freed after an RCU grace period, hence the pauses.
 */
static int measure(struct measured *m)
{
	long n = m->count;
	static struct snapshot s0, s1, s2, s3, s4;
	if (unshare(CLONE_NEWNET) < 0)
		return snprintf(m->error, sizeof(m->error), "unshare(CLONE_NEWNET): %s", strerror(errno)), -1;
	int ctl = socket(AF_INET, SOCK_DGRAM, 0);
	if (ctl < 0 || set_up(ctl, "lo") < 0)
		return snprintf(m->error, sizeof(m->error), "lo up: %s", strerror(errno)), -1;
	/* Two descriptors per connection. Without CAP_SYS_RESOURCE the hard limit
	 * cannot be raised: then the count shrinks to fit under it. */
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rlim_t want = (rlim_t)(2 * n + 64);
	if (rl.rlim_max < want) {
		struct rlimit up = { want, want };
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < want) {
		n = rl.rlim_cur > 64 ? (long)(rl.rlim_cur - 64) / 2 : 0;
		if (n < 64)
			return snprintf(m->error, sizeof(m->error), "RLIMIT_NOFILE too low"), -1;
		m->count = n;
	}
	/* Room for N client ports to one destination. */
	if (write_proc_text("/proc/sys/net/ipv4/ip_local_port_range", "1024 65535") < 0)
		return snprintf(m->error, sizeof(m->error), "ip_local_port_range: %s", strerror(errno)), -1;
	int *cli = calloc((size_t)n, sizeof(int)), *srv = calloc((size_t)n, sizeof(int));
	if (!cli || !srv)
		return snprintf(m->error, sizeof(m->error), "out of memory"), -1;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 4096) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &alen) < 0)
		return snprintf(m->error, sizeof(m->error), "listen: %s", strerror(errno)), -1;
	int ep = epoll_create1(0);
	if (ep < 0 || slab_read(&s0) < 0)
		return snprintf(m->error, sizeof(m->error), "setup: %s", strerror(errno)), -1;

	/* Idle accepted sockets. */
	if (connect_all(m, &a, l, cli, srv, n) < 0)
		return -1;
	struct linger lg = { 1, 0 };
	for (long i = 0; i < n; i++) {
		setsockopt(cli[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(cli[i]);
	}
	sleep_ms(200);
	slab_read(&s1);
	step_fill(&m->socket, n, &s0, &s1, sock_caches, 4);

	/* Registered for readiness. */
	for (long i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		ev.data.fd = srv[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, srv[i], &ev);
	}
	slab_read(&s2);
	static const char *const epi[] = { "eventpoll_epi" };
	step_fill(&m->epoll, n, &s1, &s2, epi, 1);
	close(ep);
	for (long i = 0; i < n; i++)
		close(srv[i]);
	sleep_ms(200);

	/* TIME-WAIT on the server: it closes first, the client answers with its FIN. */
	slab_read(&s3);
	if (connect_all(m, &a, l, cli, srv, n) < 0)
		return -1;
	for (long i = 0; i < n; i++)
		close(srv[i]);
	sleep_ms(20);
	for (long i = 0; i < n; i++)
		close(cli[i]);
	sleep_ms(200);
	slab_read(&s4);
	static const char *const tw[] = { "tw_sock_TCP" };
	step_fill(&m->time_wait, n, &s3, &s4, tw, 1);
	close(l);
	free(cli);
	free(srv);

	return measure_requests(m, ctl, &s0, &s1);
}

/* ---------------------------------------------------------------- output */
static void print_cache(const struct snapshot *s, const char *name, bool *first)
{
	const struct cache *c = slab_find(s, name);
	printf("%s\"%s\":", *first ? "" : ",", name);
	*first = false;
	if (!c) {
		printf("null");
		return;
	}
	printf("{\"objsize\":%ld,\"objperslab\":%ld,\"pagesperslab\":%ld,\"bytes\":%.1f,\"merged\":%s}",
	       c->objsize, c->perslab, c->pages, slab_bytes(c), c->merged ? "true" : "false");
}

static void print_flat(const char *name, const struct step *st)
{
	if (st->done)
		printf(",\"%s\":%.1f", name, st->named_bytes);
	else
		printf(",\"%s\":null", name);
}

static void print_step(const char *name, const struct step *st)
{
	printf(",\"%s\":", name);
	if (!st->done) {
		printf("null");
		return;
	}
	printf("{\"count\":%ld,\"named_caches_bytes\":%.1f,\"all_caches_bytes\":%.1f,"
	       "\"objects_per_unit\":{%s}}", st->units, st->named_bytes, st->all_bytes, st->caches);
}

int main(int argc, char **argv)
{
	long count = 10000;
	for (int i = 1; i < argc; i++) {
		char *end = NULL;
		if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			count = strtol(argv[++i], &end, 10);
			if (*end || count < 0 || count > MAX_COUNT) {
				printf("{\"error\":\"--count takes 0..%d\"}\n", MAX_COUNT);
				return 2;
			}
		} else {
			printf("{\"error\":\"usage: linux-memory [--count N]\"}\n");
			return 2;
		}
	}
	page_size = sysconf(_SC_PAGESIZE);
	static struct snapshot s;
	int err = slab_read(&s);
	if (err < 0) {
		printf("{\"error\":\"/proc/slabinfo: %s\"}\n", strerror(-err));
		return 3;
	}
	const char *all[] = { "request_sock_TCP", "tw_sock_TCP", "TCP", "sock_inode_cache", "filp",
			      "dentry", "eventpoll_epi", "eventpoll_pwq", "ep_head" };
	for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
		slab_find_merged(&s, all[k]);
	double est_bytes = 0;
	for (int k = 0; k < 4; k++)
		est_bytes += slab_bytes(slab_find(&s, sock_caches[k]));
	/* An epoll registration: the item, its wait-queue hook, and the per-file
	 * list head made with a file's first registration. */
	double epoll = est_bytes + slab_bytes(slab_find(&s, "eventpoll_epi")) +
		       slab_bytes(slab_find(&s, "eventpoll_pwq")) + slab_bytes(slab_find(&s, "ep_head"));

	static struct measured m;
	m.count = count;
	if (count > 0 && measure(&m) < 0 && !m.error[0])
		snprintf(m.error, sizeof(m.error), "measurement failed");

	printf("{\"page_size\":%ld,\"request_bytes\":%.1f,\"time_wait_bytes\":%.1f,"
	       "\"established_bytes\":%.1f,\"established_epoll_bytes\":%.1f,"
	       "\"method\":\"slab object sizes with slab packing (/proc/slabinfo)\",\"caches\":{",
	       page_size, slab_bytes(slab_find(&s, "request_sock_TCP")),
	       slab_bytes(slab_find(&s, "tw_sock_TCP")), est_bytes, epoll);
	bool first = true;
	for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
		print_cache(&s, all[k], &first);
	printf("}");
	if (m.error[0])
		printf(",\"measured_error\":\"%s\"", m.error);
	if (count == 0 || !m.socket.done) {
		printf(",\"measured\":null}\n");
		return 0;
	}
	/* The named caches' growth per object first, flat, then each step in full. */
	printf(",\"measured\":{\"connections\":%ld,\"netns\":true", m.count);
	print_flat("socket_slab_bytes", &m.socket);
	print_flat("epoll_slab_bytes", &m.epoll);
	print_flat("time_wait_slab_bytes", &m.time_wait);
	print_flat("request_slab_bytes", &m.request);
	print_step("socket", &m.socket);
	print_step("epoll", &m.epoll);
	print_step("time_wait", &m.time_wait);
	print_step("request", &m.request);
	printf("}}\n");
	return 0;
}
