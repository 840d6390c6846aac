/*
 * tests/packetdrill/test_pdso.c: libtern-packetdrill.so, loaded with dlopen and
 * driven the way packetdrill drives it (../shared/spec/packetdrill.md §2).
 *
 *     test_pdso PATH/libtern-packetdrill.so
 *
 * packetdrill is not part of the project, so this program plays its part: it
 * builds the remote peer's datagrams (192.0.2.1) with include/tern/wire.h, injects
 * them with netdev_send, takes the stack's with netdev_receive and checks them
 * field by field, and makes the script's calls through the table. Each scenario
 * is one function:
 *   passive_handshake   SYN in, SYN-ACK out (flags, ack, options), ACK in, accept()
 *                       with the peer's address; O_NONBLOCK via fcntl
 *   data_exchange       write/writev -> segments out; segments in -> read/recvmsg;
 *                       poll, epoll and FIONREAD see the data
 *   blocking_accept     accept() on a second thread sleeps (the thread is in state
 *                       S and burns no CPU) until the main thread injects the
 *                       handshake; likewise a blocking read and a blocking connect
 *   blocking_write      a write larger than the send buffer sleeps; each ACK lets it
 *                       go on, and its data leaves at the ACK's instant
 *   timed_poll          a poll() with a timeout on a thread ends at its virtual
 *                       deadline, which netdev_receive treats as an event
 *   clock_and_missing   gettimeofday moves 1 µs per read; usleep(1 s) fires the
 *                       SYN-ACK retransmission, stamped 1 s after the original;
 *                       netdev_receive walks the 1-2-4-8-16 s schedule and then
 *                       reports the missing packet (count 0), as it does on a
 *                       stack with nothing pending
 *   driver_blocks       the initializing thread's own blocking calls (packetdrill's
 *                       main thread, a call without an end time) move the clock
 *                       themselves: poll times out, connect fails with ETIMEDOUT
 *                       after its SYN retransmissions
 *   control_socket      $TERN_CTL as the library exported it: `tern sysctl` reads
 *                       and writes this stack's knobs (tcp_synack_retries=2 then
 *                       gives exactly two retransmissions, each stamped at its own
 *                       deadline by a usleep that spans both), `tern ss` lists it
 *   end_of_script       libc close() of every descriptor, then RSTs, then free;
 *                       a descriptor number reused by the kernel maps afresh
 *   bad_flags           an instance whose flags are wrong fails every call
 *
 * The program passes under ASan+UBSan (leaks included) and under TSan.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "packetdrill/interface.h"
#include "tern/types.h"
#include "tern/wire.h"

/* ------------------------------------------------------------------ checks */

static void failf(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: FAIL: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond))                                                           \
			failf(__FILE__, __LINE__, "%s", #cond);                        \
	} while (0)
#define CHECK_EQ(a, b)                                                                 \
	do {                                                                           \
		long long a_ = (long long)(a), b_ = (long long)(b);                    \
		if (a_ != b_)                                                          \
			failf(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
	} while (0)
/* A call that must fail with `err`. */
#define CHECK_ERR(call, err)                                                           \
	do {                                                                           \
		errno = 0;                                                             \
		long long r_ = (long long)(call);                                      \
		int e_ = errno;                                                        \
		if (r_ != -1 || e_ != (err))                                           \
			failf(__FILE__, __LINE__, "%s: %lld errno %d (%s), expected -1 %s", \
			      #call, r_, e_, strerror(e_), #err);                      \
	} while (0)

/* ------------------------------------------------------------------ the instance */

typedef void (*init_fn)(const char *flags, struct packetdrill_interface *ifc);

static init_fn pd_init;
static char tmpdir[512];

/* The remote peer and the stack, as packetdrill's defaults. */
#define PEER_IP  0xc0000201u   /* 192.0.2.1 */
#define LOCAL_IP 0xc0a80001u   /* 192.168.0.1 */

static long long now_us(struct packetdrill_interface *ifc)
{
	struct timeval tv;
	CHECK_EQ(ifc->gettimeofday(ifc->userdata, &tv, NULL), 0);
	return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* A segment from the peer. */
struct seg {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	bool syn_opts;           /* <mss 1460,sackOK,TS val ecr,nop,wscale 7> */
	bool ts;                 /* <nop,nop,TS val ecr> */
	uint32_t ts_val, ts_ecr;
	const char *data;
};

static void inject(struct packetdrill_interface *ifc, const struct seg *s)
{
	struct tern_tcp t = { .sport = s->sport, .dport = s->dport, .seq = s->seq, .ack = s->ack,
			      .flags = s->flags, .win = 65535 };
	uint8_t tcp[1600], pkt[1700];

	if (s->syn_opts) {
		static const uint8_t kinds[] = { TERN_TCPOPT_MSS, TERN_TCPOPT_SACK_PERM, TERN_TCPOPT_TS,
						 TERN_TCPOPT_NOP, TERN_TCPOPT_WSCALE };
		static const uint8_t lens[] = { 4, 2, 10, 1, 3 };
		t.opt.present = TERN_TCPOPT_HAS_MSS | TERN_TCPOPT_HAS_SACK_PERM | TERN_TCPOPT_HAS_TS |
				TERN_TCPOPT_HAS_WSCALE;
		t.opt.mss = 1460;
		t.opt.wscale = 7;
		t.opt.count = sizeof(kinds);
		memcpy(t.opt.kinds, kinds, sizeof(kinds));
		memcpy(t.opt.lens, lens, sizeof(lens));
	} else if (s->ts) {
		static const uint8_t kinds[] = { TERN_TCPOPT_NOP, TERN_TCPOPT_NOP, TERN_TCPOPT_TS };
		static const uint8_t lens[] = { 1, 1, 10 };
		t.opt.present = TERN_TCPOPT_HAS_TS;
		t.opt.count = sizeof(kinds);
		memcpy(t.opt.kinds, kinds, sizeof(kinds));
		memcpy(t.opt.lens, lens, sizeof(lens));
	}
	t.opt.ts_val = s->ts_val;
	t.opt.ts_ecr = s->ts_ecr;
	if (s->data) {
		t.payload = (const uint8_t *)s->data;
		t.payload_len = (uint32_t)strlen(s->data);
	}
	size_t tl = tern_tcp_build(tcp, sizeof(tcp), &t, PEER_IP, LOCAL_IP);
	CHECK(tl > 0);
	struct tern_ipv4 ip = { .ttl = 64, .proto = TERN_IPPROTO_TCP, .id = 1, .frag = TERN_IP_DF,
				.src = PEER_IP, .dst = LOCAL_IP };
	size_t il = tern_ipv4_build(pkt, sizeof(pkt), &ip, (uint16_t)tl);
	CHECK_EQ(il, TERN_IPV4_HDR_LEN);
	memcpy(pkt + il, tcp, tl);
	CHECK_EQ(ifc->netdev_send(ifc->userdata, pkt, il + tl), 0);
}

/* A datagram from the stack, parsed. */
struct got {
	uint8_t buf[4096];
	size_t len;
	long long t_us;
	struct tern_ipv4 ip;
	struct tern_tcp tcp;
};

/* The next datagram; false when netdev_receive reports the packet missing. */
static bool receive(struct packetdrill_interface *ifc, struct got *g)
{
	g->len = sizeof(g->buf);
	g->t_us = -1;
	CHECK_EQ(ifc->netdev_receive(ifc->userdata, g->buf, &g->len, &g->t_us), 0);
	if (g->len == 0)
		return false;
	CHECK_EQ(tern_ipv4_parse(g->buf, g->len, &g->ip), TERN_WIRE_OK);
	CHECK_EQ(g->ip.proto, TERN_IPPROTO_TCP);
	CHECK_EQ(g->ip.src, LOCAL_IP);
	CHECK_EQ(g->ip.dst, PEER_IP);
	CHECK_EQ(tern_tcp_parse(g->ip.payload, g->ip.payload_len, g->ip.src, g->ip.dst, true, &g->tcp),
		 TERN_WIRE_OK);
	return true;
}

static void expect_missing(struct packetdrill_interface *ifc)
{
	struct got g;
	CHECK(!receive(ifc, &g));
}

static struct sockaddr_in sin_of(uint32_t ip, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	sin.sin_addr.s_addr = htonl(ip);
	return sin;
}

static int listener(struct packetdrill_interface *ifc, uint16_t port)
{
	void *ud = ifc->userdata;
	int one = 1;
	struct sockaddr_in any = sin_of(0, port);

	int fd = ifc->socket(ud, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	CHECK(fd >= 0);
	CHECK_EQ(ifc->setsockopt(ud, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	CHECK_EQ(ifc->bind(ud, fd, (struct sockaddr *)&any, sizeof(any)), 0);
	CHECK_EQ(ifc->listen(ud, fd, 16), 0);
	return fd;
}

/* The passive handshake's first two steps: SYN in, SYN-ACK checked; returns the ISN. */
static uint32_t syn_synack(struct packetdrill_interface *ifc, uint16_t sport, uint16_t dport,
			   struct got *g)
{
	inject(ifc, &(struct seg){ .sport = sport, .dport = dport, .seq = 1000, .flags = TERN_TCP_SYN,
				   .syn_opts = true, .ts_val = 100 });
	CHECK(receive(ifc, g));
	CHECK_EQ(g->tcp.flags, TERN_TCP_SYN | TERN_TCP_ACK);
	CHECK_EQ(g->tcp.sport, dport);
	CHECK_EQ(g->tcp.dport, sport);
	CHECK_EQ(g->tcp.ack, 1001);
	CHECK_EQ(g->tcp.payload_len, 0);
	CHECK(g->tcp.opt.present & TERN_TCPOPT_HAS_MSS);
	CHECK_EQ(g->tcp.opt.mss, 1460);
	CHECK(g->tcp.opt.present & TERN_TCPOPT_HAS_SACK_PERM);
	CHECK(g->tcp.opt.present & TERN_TCPOPT_HAS_WSCALE);
	CHECK(g->tcp.opt.present & TERN_TCPOPT_HAS_TS);
	CHECK_EQ(g->tcp.opt.ts_ecr, 100);
	return g->tcp.seq;
}

/* ------------------------------------------------------------------ threads */

static pid_t thread_id(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* The scheduler state of a thread of this process ('S': sleeping). */
static char thread_state(pid_t tid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *paren = strrchr(buf, ')');
	CHECK(paren && paren[1] == ' ');
	return paren[2];
}

static void real_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long long thread_cpu_ns(pthread_t t)
{
	clockid_t clk;
	struct timespec ts;
	CHECK_EQ(pthread_getcpuclockid(t, &clk), 0);
	CHECK_EQ(clock_gettime(clk, &ts), 0);
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A call made on a second thread, as packetdrill runs a blocking call. */
struct blocked {
	struct packetdrill_interface *ifc;
	pthread_t thread;
	atomic_int tid;              /* set when the thread is about to make its call */
	atomic_bool returned;
	int fd;
	long rc;
	int err;
	struct sockaddr_in sin;
	socklen_t len;
	char buf[64];
	struct pollfd pfd;
};

/* Waits until the thread has entered its call and sleeps there; then checks that
 * it stays asleep, without burning CPU, for a while of real time. */
static void check_really_sleeps(struct blocked *b)
{
	for (int i = 0; i < 1000 && !atomic_load(&b->tid); i++)
		real_sleep_ms(5);
	CHECK(atomic_load(&b->tid) != 0);
	pid_t tid = (pid_t)atomic_load(&b->tid);
	int asleep = 0;
	for (int i = 0; i < 2000 && asleep < 5; i++) {     /* five samples in a row */
		asleep = thread_state(tid) == 'S' ? asleep + 1 : 0;
		real_sleep_ms(2);
	}
	CHECK_EQ(asleep, 5);
	long long cpu0 = thread_cpu_ns(b->thread);
	real_sleep_ms(200);
	long long cpu1 = thread_cpu_ns(b->thread);
	CHECK(!atomic_load(&b->returned));
	CHECK_EQ(thread_state(tid), 'S');
	if (cpu1 - cpu0 > 20000000)        /* a spinning thread would use ~200 ms */
		failf(__FILE__, __LINE__, "the blocked thread used %lld ns of CPU in 200 ms",
		      cpu1 - cpu0);
}

static void join(struct blocked *b)
{
	struct timespec limit;
	clock_gettime(CLOCK_REALTIME, &limit);
	limit.tv_sec += 30;
	CHECK_EQ(pthread_timedjoin_np(b->thread, NULL, &limit), 0);
	CHECK(atomic_load(&b->returned));
}

static void *accept_thread(void *arg)
{
	struct blocked *b = arg;
	b->len = sizeof(b->sin);
	atomic_store(&b->tid, (int)thread_id());
	b->rc = b->ifc->accept(b->ifc->userdata, b->fd, (struct sockaddr *)&b->sin, &b->len);
	b->err = errno;
	atomic_store(&b->returned, true);
	return NULL;
}

static void *read_thread(void *arg)
{
	struct blocked *b = arg;
	atomic_store(&b->tid, (int)thread_id());
	b->rc = b->ifc->read(b->ifc->userdata, b->fd, b->buf, sizeof(b->buf));
	b->err = errno;
	atomic_store(&b->returned, true);
	return NULL;
}

static void *connect_thread(void *arg)
{
	struct blocked *b = arg;
	struct sockaddr_in to = sin_of(PEER_IP, 9000);
	atomic_store(&b->tid, (int)thread_id());
	b->rc = b->ifc->connect(b->ifc->userdata, b->fd, (struct sockaddr *)&to, sizeof(to));
	b->err = errno;
	atomic_store(&b->returned, true);
	return NULL;
}

static char big[30000];

static void *write_thread(void *arg)
{
	struct blocked *b = arg;
	atomic_store(&b->tid, (int)thread_id());
	b->rc = b->ifc->write(b->ifc->userdata, b->fd, big, sizeof(big));
	b->err = errno;
	atomic_store(&b->returned, true);
	return NULL;
}

static void *poll_thread(void *arg)
{
	struct blocked *b = arg;
	atomic_store(&b->tid, (int)thread_id());
	b->rc = b->ifc->poll(b->ifc->userdata, &b->pfd, 1, 500);
	b->err = errno;
	atomic_store(&b->returned, true);
	return NULL;
}

static void start(struct blocked *b, void *(*fn)(void *))
{
	CHECK_EQ(pthread_create(&b->thread, NULL, fn, b), 0);
}

/* ------------------------------------------------------------------ scenarios */

/* The connection of the passive handshake, shared by the scenarios that follow. */
struct conn {
	int lfd, fd;
	uint32_t isn;        /* the stack's */
	uint32_t snd_nxt;    /* the stack's next sequence number */
	uint32_t rcv_nxt;    /* the peer's (what the stack expects next) */
	uint16_t sport;
};

static void passive_handshake(struct packetdrill_interface *ifc, struct conn *c)
{
	void *ud = ifc->userdata;
	struct got g;
	int v;
	socklen_t vlen = sizeof(v);

	c->lfd = listener(ifc, 8080);
	CHECK(fcntl(c->lfd, F_GETFD) & FD_CLOEXEC);      /* a real, harmless descriptor */
	CHECK_EQ(ifc->getsockopt(ud, c->lfd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vlen), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(vlen, sizeof(int));

	/* Non-blocking, accept has nothing to give yet. */
	CHECK_EQ(ifc->fcntl(ud, c->lfd, F_GETFL), O_RDWR);
	CHECK_EQ(ifc->fcntl(ud, c->lfd, F_SETFL, O_RDWR | O_NONBLOCK), 0);
	CHECK_EQ(ifc->fcntl(ud, c->lfd, F_GETFL), O_RDWR | O_NONBLOCK);
	CHECK_ERR(ifc->accept(ud, c->lfd, NULL, NULL), EAGAIN);

	c->sport = 40000;
	long long before = now_us(ifc);
	c->isn = syn_synack(ifc, c->sport, 8080, &g);
	CHECK_EQ(g.t_us, before);                   /* sent at once */
	inject(ifc, &(struct seg){ .sport = c->sport, .dport = 8080, .seq = 1001, .ack = c->isn + 1,
				   .flags = TERN_TCP_ACK, .ts = true, .ts_val = 101,
				   .ts_ecr = g.tcp.opt.ts_val });

	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	memset(&peer, 0xa5, sizeof(peer));
	c->fd = ifc->accept(ud, c->lfd, (struct sockaddr *)&peer, &len);
	CHECK(c->fd >= 0);
	CHECK(c->fd != c->lfd);
	CHECK_EQ(len, sizeof(struct sockaddr_in));
	CHECK_EQ(peer.sin_family, AF_INET);
	CHECK_EQ(ntohl(peer.sin_addr.s_addr), PEER_IP);
	CHECK_EQ(ntohs(peer.sin_port), c->sport);
	CHECK_ERR(ifc->accept(ud, c->lfd, NULL, NULL), EAGAIN);
	CHECK_EQ(ifc->fcntl(ud, c->lfd, F_SETFL, O_RDWR), 0);
	CHECK_EQ(ifc->fcntl(ud, c->fd, F_GETFL), O_RDWR);    /* accepted sockets block */
	c->snd_nxt = c->isn + 1;
	c->rcv_nxt = 1001;
}

static void peer_data(struct packetdrill_interface *ifc, struct conn *c, const char *data)
{
	inject(ifc, &(struct seg){ .sport = c->sport, .dport = 8080, .seq = c->rcv_nxt,
				   .ack = c->snd_nxt, .flags = TERN_TCP_ACK | TERN_TCP_PSH,
				   .ts = true, .ts_val = 200, .data = data });
	c->rcv_nxt += (uint32_t)strlen(data);
}

static void peer_ack(struct packetdrill_interface *ifc, struct conn *c)
{
	inject(ifc, &(struct seg){ .sport = c->sport, .dport = 8080, .seq = c->rcv_nxt,
				   .ack = c->snd_nxt, .flags = TERN_TCP_ACK, .ts = true, .ts_val = 200 });
}

/* The stack's data segment: `data` at snd_nxt, acknowledging rcv_nxt. */
static void expect_data(struct packetdrill_interface *ifc, struct conn *c, const char *data)
{
	struct got g;
	size_t n = strlen(data);
	CHECK(receive(ifc, &g));
	CHECK(g.tcp.flags & TERN_TCP_ACK);
	CHECK(!(g.tcp.flags & (TERN_TCP_SYN | TERN_TCP_FIN | TERN_TCP_RST)));
	CHECK_EQ(g.tcp.seq, c->snd_nxt);
	CHECK_EQ(g.tcp.ack, c->rcv_nxt);
	CHECK_EQ(g.tcp.payload_len, n);
	CHECK(!memcmp(g.tcp.payload, data, n));
	c->snd_nxt += (uint32_t)n;
}

/* The stack's pure ACK of everything the peer sent. */
static void expect_ack(struct packetdrill_interface *ifc, struct conn *c)
{
	struct got g;
	CHECK(receive(ifc, &g));
	CHECK_EQ(g.tcp.flags, TERN_TCP_ACK);
	CHECK_EQ(g.tcp.seq, c->snd_nxt);
	CHECK_EQ(g.tcp.ack, c->rcv_nxt);
	CHECK_EQ(g.tcp.payload_len, 0);
}

static void data_exchange(struct packetdrill_interface *ifc, struct conn *c)
{
	void *ud = ifc->userdata;
	char buf[64];

	/* Both ways with write and read. */
	CHECK_EQ(ifc->write(ud, c->fd, "hello", 5), 5);
	expect_data(ifc, c, "hello");
	peer_data(ifc, c, "world!");
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(ifc->read(ud, c->fd, buf, sizeof(buf)), 6);
	CHECK(!strcmp(buf, "world!"));
	expect_ack(ifc, c);

	/* writev gathers its pieces into one write. */
	struct iovec out[2] = { { .iov_base = "ab", .iov_len = 2 }, { .iov_base = "cd", .iov_len = 2 } };
	CHECK_EQ(ifc->writev(ud, c->fd, out, 2), 4);
	expect_data(ifc, c, "abcd");
	peer_ack(ifc, c);

	/* Readiness before and after the peer's data. */
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	CHECK_EQ(ifc->poll(ud, &pfd, 1, 0), 0);
	CHECK_EQ(pfd.revents, 0);
	int ep = ifc->epoll_create(ud, 1);
	CHECK(ep >= 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1122334455667788ull };
	CHECK_EQ(ifc->epoll_ctl(ud, ep, EPOLL_CTL_ADD, c->fd, &ev), 0);
	struct epoll_event evs[4];
	CHECK_EQ(ifc->epoll_wait(ud, ep, evs, 4, 0), 0);
	int n = -1;
	CHECK_EQ(ifc->ioctl(ud, c->fd, FIONREAD, &n), 0);
	CHECK_EQ(n, 0);

	peer_data(ifc, c, "xyz");
	CHECK_EQ(ifc->poll(ud, &pfd, 1, 0), 1);
	CHECK_EQ(pfd.revents, POLLIN);
	CHECK_EQ(ifc->epoll_wait(ud, ep, evs, 4, 0), 1);
	CHECK_EQ(evs[0].events, EPOLLIN);
	CHECK_EQ(evs[0].data.u64, 0x1122334455667788ull);
	CHECK_EQ(ifc->ioctl(ud, c->fd, FIONREAD, &n), 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(ifc->close(ud, ep), 0);

	/* recvmsg scatters and names the peer. */
	char a[2], b[10] = { 0 };
	struct iovec in[2] = { { .iov_base = a, .iov_len = 2 }, { .iov_base = b, .iov_len = 10 } };
	struct sockaddr_in from;
	struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = in,
			      .msg_iovlen = 2 };
	CHECK_EQ(ifc->recvmsg(ud, c->fd, &msg, 0), 3);
	CHECK(a[0] == 'x' && a[1] == 'y' && b[0] == 'z');
	CHECK_EQ(msg.msg_namelen, sizeof(from));
	CHECK_EQ(ntohl(from.sin_addr.s_addr), PEER_IP);
	CHECK_EQ(ntohs(from.sin_port), c->sport);
	CHECK_ERR(ifc->recv(ud, c->fd, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	expect_ack(ifc, c);

	/* sendmsg gathers too; SIOCOUTQ counts what the peer has not acknowledged. */
	struct iovec two[2] = { { .iov_base = "12", .iov_len = 2 }, { .iov_base = "34", .iov_len = 2 } };
	struct msghdr out_msg = { .msg_iov = two, .msg_iovlen = 2 };
	CHECK_EQ(ifc->sendmsg(ud, c->fd, &out_msg, 0), 4);
	expect_data(ifc, c, "1234");
	CHECK_EQ(ifc->ioctl(ud, c->fd, TIOCOUTQ, &n), 0);
	CHECK_EQ(n, 4);
	peer_ack(ifc, c);
	CHECK_EQ(ifc->ioctl(ud, c->fd, TIOCOUTQ, &n), 0);
	CHECK_EQ(n, 0);
	CHECK_ERR(ifc->ioctl(ud, c->lfd, FIONREAD, &n), EINVAL);     /* a listener */

	/* recvfrom names the peer; readv scatters. */
	peer_data(ifc, c, "pqrs");
	struct sockaddr_in src;
	socklen_t srclen = sizeof(src);
	CHECK_EQ(ifc->recvfrom(ud, c->fd, buf, 1, 0, (struct sockaddr *)&src, &srclen), 1);
	CHECK_EQ(buf[0], 'p');
	CHECK_EQ(srclen, sizeof(src));
	CHECK_EQ(ntohs(src.sin_port), c->sport);
	char q, r[2];
	struct iovec rv[2] = { { .iov_base = &q, .iov_len = 1 }, { .iov_base = r, .iov_len = 2 } };
	CHECK_EQ(ifc->readv(ud, c->fd, rv, 2), 3);
	CHECK(q == 'q' && r[0] == 'r' && r[1] == 's');
	expect_ack(ifc, c);

	/* Nothing is left to send and no timer is due. */
	expect_missing(ifc);
}

static void blocking_calls(struct packetdrill_interface *ifc, struct conn *c)
{
	void *ud = ifc->userdata;
	struct got g;

	/* accept() on a second thread sleeps until the handshake completes. */
	struct blocked b = { .ifc = ifc, .fd = listener(ifc, 8081) };
	start(&b, accept_thread);
	check_really_sleeps(&b);
	uint32_t isn = syn_synack(ifc, 40001, 8081, &g);
	CHECK(!atomic_load(&b.returned));               /* half a handshake is not enough */
	inject(ifc, &(struct seg){ .sport = 40001, .dport = 8081, .seq = 1001, .ack = isn + 1,
				   .flags = TERN_TCP_ACK, .ts = true, .ts_val = 101,
				   .ts_ecr = g.tcp.opt.ts_val });
	join(&b);
	CHECK(b.rc >= 0);
	CHECK_EQ(b.len, sizeof(struct sockaddr_in));
	CHECK_EQ(ntohl(b.sin.sin_addr.s_addr), PEER_IP);
	CHECK_EQ(ntohs(b.sin.sin_port), 40001);
	/* The peer resets it: no timer is left behind, and close() sends nothing. */
	inject(ifc, &(struct seg){ .sport = 40001, .dport = 8081, .seq = 1001, .flags = TERN_TCP_RST });
	char buf[8];
	CHECK_ERR(ifc->read(ud, (int)b.rc, buf, sizeof(buf)), ECONNRESET);
	CHECK_EQ(ifc->close(ud, (int)b.rc), 0);
	CHECK_EQ(ifc->close(ud, b.fd), 0);
	CHECK_ERR(ifc->close(ud, b.fd), EBADF);

	/* A blocking read, woken by the peer's data. */
	struct blocked r = { .ifc = ifc, .fd = c->fd };
	start(&r, read_thread);
	check_really_sleeps(&r);
	peer_data(ifc, c, "late");
	join(&r);
	CHECK_EQ(r.rc, 4);
	CHECK(!memcmp(r.buf, "late", 4));
	expect_ack(ifc, c);

	/* A blocking connect: the SYN leaves, the thread sleeps until the SYN-ACK. */
	struct blocked k = { .ifc = ifc, .fd = ifc->socket(ud, AF_INET, SOCK_STREAM, 0) };
	CHECK(k.fd >= 0);
	start(&k, connect_thread);
	check_really_sleeps(&k);
	CHECK(receive(ifc, &g));
	CHECK_EQ(g.tcp.flags, TERN_TCP_SYN);
	CHECK_EQ(g.tcp.dport, 9000);
	uint16_t lport = g.tcp.sport;
	uint32_t iss = g.tcp.seq;
	long long t_synack = now_us(ifc);
	inject(ifc, &(struct seg){ .sport = 9000, .dport = lport, .seq = 5000, .ack = iss + 1,
				   .flags = TERN_TCP_SYN | TERN_TCP_ACK, .syn_opts = true,
				   .ts_val = 300, .ts_ecr = g.tcp.opt.ts_val });
	join(&k);
	CHECK_EQ(k.rc, 0);
	CHECK(receive(ifc, &g));
	CHECK_EQ(g.tcp.flags, TERN_TCP_ACK);
	CHECK_EQ(g.tcp.ack, 5001);
	CHECK_EQ(g.t_us, t_synack);                   /* at the SYN-ACK's instant */
	inject(ifc, &(struct seg){ .sport = 9000, .dport = lport, .seq = 5001, .flags = TERN_TCP_RST });
	CHECK_EQ(ifc->close(ud, k.fd), 0);
	expect_missing(ifc);
}

/* A write larger than the send buffer blocks; each ACK makes room, the sleeping
 * writer refills the buffer, and the new data leaves at the ACK's instant: the
 * library lets the writer act before netdev_receive looks at the queue (without
 * that, it would find the queue empty and report the data missing). */
static void blocking_write(struct packetdrill_interface *ifc, struct conn *c)
{
	int sz = 4096;
	CHECK_EQ(ifc->setsockopt(ifc->userdata, c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);

	struct blocked w = { .ifc = ifc, .fd = c->fd };
	start(&w, write_thread);
	check_really_sleeps(&w);
	size_t sent = 0;
	while (sent < sizeof(big)) {
		long long t = now_us(ifc);
		struct got g;
		CHECK(receive(ifc, &g));
		CHECK_EQ(g.tcp.seq, c->snd_nxt);
		CHECK(g.tcp.payload_len > 0 && g.tcp.payload_len <= sizeof(big) - sent);
		CHECK(!memcmp(g.tcp.payload, big + sent, g.tcp.payload_len));
		if (g.t_us > t)
			failf(__FILE__, __LINE__, "byte %zu left %lld us late", sent, g.t_us - t);
		sent += g.tcp.payload_len;
		c->snd_nxt += g.tcp.payload_len;
		peer_ack(ifc, c);
	}
	join(&w);
	CHECK_EQ(w.rc, sizeof(big));
	expect_missing(ifc);
}

/* A poll with a timeout ends at its virtual deadline; with nothing else due,
 * netdev_receive moves the clock there and then reports nothing. */
static void timed_poll(struct packetdrill_interface *ifc, struct conn *c)
{
	struct blocked p = { .ifc = ifc, .pfd = { .fd = c->fd, .events = POLLIN } };
	long long t0 = now_us(ifc);
	start(&p, poll_thread);
	check_really_sleeps(&p);
	expect_missing(ifc);
	join(&p);
	CHECK_EQ(p.rc, 0);
	long long t1 = now_us(ifc);
	CHECK(t1 - t0 >= 500000 && t1 - t0 < 510000);
}

/* The thread that initialized the instance drives the clock: when it blocks, as
 * packetdrill's main thread does in a call written without an end time, the call
 * moves the clock itself, as the kernel's clock runs on while the process sleeps.
 * A poll times out at its virtual deadline; a connect to a silent peer with
 * TCP_SYNCNT 2 fails with ETIMEDOUT 7 s later (the time budget of two exponential
 * retries), its SYNs queued at 0, 1, 2, 3, 4 and 5 s (Linux's default of four
 * linear timeouts, tcp_syn_linear_timeouts, then doubling). */
static void driver_blocks(struct packetdrill_interface *ifc, int lfd)
{
	void *ud = ifc->userdata;
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	struct got g;

	long long t0 = now_us(ifc);
	CHECK_EQ(ifc->poll(ud, &pfd, 1, 300), 0);
	long long t1 = now_us(ifc);
	CHECK(t1 - t0 >= 300000 && t1 - t0 < 300100);

	int fd = ifc->socket(ud, AF_INET, SOCK_STREAM, 0), cnt = 2;
	CHECK(fd >= 0);
	CHECK_EQ(ifc->setsockopt(ud, fd, IPPROTO_TCP, TCP_SYNCNT, &cnt, sizeof(cnt)), 0);
	struct sockaddr_in to = sin_of(PEER_IP, 9000);
	t0 = now_us(ifc);
	CHECK_ERR(ifc->connect(ud, fd, (struct sockaddr *)&to, sizeof(to)), ETIMEDOUT);
	t1 = now_us(ifc);
	if (t1 - t0 < 7000000 - 1000 || t1 - t0 > 7000000 + 20000)
		failf(__FILE__, __LINE__, "connect failed %lld us after it began", t1 - t0);
	for (int i = 0; i < 6; i++) {
		long long want = i * 1000000LL;
		CHECK(receive(ifc, &g));
		CHECK_EQ(g.tcp.flags, TERN_TCP_SYN);
		CHECK_EQ(g.tcp.dport, 9000);
		if (g.t_us - t0 < want || g.t_us - t0 > want + 5000)
			failf(__FILE__, __LINE__, "SYN %d left %lld us after connect()", i, g.t_us - t0);
	}
	expect_missing(ifc);
	CHECK_EQ(ifc->close(ud, fd), 0);
}

/* A fresh instance: the clock, a retransmission schedule, missing packets. */
static void clock_and_missing(void)
{
	struct packetdrill_interface ifc;
	char flags[700];

	snprintf(flags, sizeof(flags), "--local_ip=192.168.0.1 --ctl=%s/b.ctl", tmpdir);
	pd_init(flags, &ifc);
	void *ud = ifc.userdata;

	long long t0 = now_us(&ifc), t1 = now_us(&ifc);
	CHECK_EQ(t1 - t0, 1);                        /* 1 µs per read */
	expect_missing(&ifc);                        /* nothing pending, no timer */
	CHECK_EQ(now_us(&ifc) - t1, 1);              /* and the clock did not jump */
	CHECK_EQ(ifc.usleep(ud, 1000000), 0);
	CHECK_EQ(now_us(&ifc) - t1, 1000002);

	int lfd = listener(&ifc, 8080);
	struct got first, g;
	uint32_t isn = syn_synack(&ifc, 40000, 8080, &first);

	/* usleep is where timers fire: the SYN-ACK comes again 1 s later (RTO). */
	CHECK_EQ(ifc.usleep(ud, 1000000), 0);
	CHECK(receive(&ifc, &g));
	CHECK_EQ(g.tcp.flags, TERN_TCP_SYN | TERN_TCP_ACK);
	CHECK_EQ(g.tcp.seq, isn);
	CHECK_EQ(g.tcp.ack, 1001);
	long long gap = g.t_us - first.t_us;
	if (gap < 999000 || gap > 1005000)
		failf(__FILE__, __LINE__, "first retransmission %lld us after the SYN-ACK", gap);

	/* Then netdev_receive moves the clock itself: 2, 4, 8, 16 s later. */
	long long prev = g.t_us;
	for (int i = 0; i < 4; i++) {
		long long want = 2000000LL << i;
		CHECK(receive(&ifc, &g));
		CHECK_EQ(g.tcp.flags, TERN_TCP_SYN | TERN_TCP_ACK);
		CHECK_EQ(g.tcp.seq, isn);
		gap = g.t_us - prev;
		if (gap < want - 1000 || gap > want + 5000)
			failf(__FILE__, __LINE__, "retransmission %d came %lld us after the last, "
			      "expected %lld", i + 2, gap, want);
		prev = g.t_us;
	}
	/* tcp_synack_retries (5) used up: the request dies and nothing else comes. */
	expect_missing(&ifc);
	CHECK(now_us(&ifc) - first.t_us >= 31000000);
	expect_missing(&ifc);

	driver_blocks(&ifc, lfd);
	CHECK_EQ(ifc.close(ud, lfd), 0);
	ifc.free(ud);
}

/* Runs a command line through /bin/sh; returns its exit status and its stdout. */
static int run(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	CHECK(p != NULL);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Backtick commands reach this stack through $TERN_CTL. */
static void control_socket(void)
{
	const char *bin = getenv("TERN_BIN");
	struct packetdrill_interface ifc;
	char cmd[1024], out[4096];
	struct got first, g;

	if (!bin || !*bin) {
		puts("control_socket: skipped ($TERN_BIN is not set)");
		return;
	}
	unsetenv("TERN_CTL");
	pd_init("", &ifc);                       /* the default path, exported */
	void *ud = ifc.userdata;
	const char *ctl = getenv("TERN_CTL");
	CHECK(ctl && *ctl);
	struct stat sb;
	CHECK_EQ(stat(ctl, &sb), 0);
	CHECK(S_ISSOCK(sb.st_mode));

	snprintf(cmd, sizeof(cmd), "'%s' sysctl net.ipv4.tcp_syncookies", bin);
	CHECK_EQ(run(cmd, out, sizeof(out)), 0);
	if (strcmp(out, "net.ipv4.tcp_syncookies = 1\n"))
		failf(__FILE__, __LINE__, "sysctl printed '%s'", out);

	snprintf(cmd, sizeof(cmd), "'%s' sysctl -w net.ipv4.tcp_synack_retries=2", bin);
	CHECK_EQ(run(cmd, out, sizeof(out)), 0);
	if (strcmp(out, "net.ipv4.tcp_synack_retries = 2\n"))
		failf(__FILE__, __LINE__, "sysctl -w printed '%s'", out);

	/* The knob is this stack's: two retransmissions, then nothing. A sleep over
	 * both fires each at its own time (+1 s, +3 s), not at the end of the sleep. */
	int lfd = listener(&ifc, 8080);
	uint32_t isn = syn_synack(&ifc, 40000, 8080, &first);
	CHECK_EQ(ifc.usleep(ud, 10000000), 0);
	for (int i = 0; i < 2; i++) {
		long long want = i ? 3000000 : 1000000;
		CHECK(receive(&ifc, &g));
		CHECK_EQ(g.tcp.flags, TERN_TCP_SYN | TERN_TCP_ACK);
		CHECK_EQ(g.tcp.seq, isn);
		long long gap = g.t_us - first.t_us;
		if (gap < want - 1000 || gap > want + 5000)
			failf(__FILE__, __LINE__, "retransmission %d %lld us after the SYN-ACK", i + 1, gap);
	}
	expect_missing(&ifc);

	snprintf(cmd, sizeof(cmd), "'%s' ss -ltn", bin);
	CHECK_EQ(run(cmd, out, sizeof(out)), 0);
	if (!strstr(out, "LISTEN") || !strstr(out, "0.0.0.0:8080"))
		failf(__FILE__, __LINE__, "ss -ltn printed '%s'", out);

	CHECK_EQ(ifc.close(ud, lfd), 0);
	ifc.free(ud);
	CHECK(getenv("TERN_CTL") == NULL);           /* withdrawn with the instance */
	CHECK(stat(ctl, &sb) < 0);
}

/* packetdrill's end of a script: libc close() of the descriptors, an RST per
 * connection, then free. */
static void end_of_script(struct packetdrill_interface *ifc, struct conn *c)
{
	void *ud = ifc->userdata;
	char buf[8];

	CHECK_ERR(ifc->read(ud, 1000, buf, sizeof(buf)), EBADF);
	CHECK_ERR(ifc->pipe(ud, (int[2]){ 0, 0 }), ENOSYS);

	CHECK_EQ(close(c->fd), 0);
	CHECK_EQ(close(c->lfd), 0);
	inject(ifc, &(struct seg){ .sport = c->sport, .dport = 8080, .seq = c->rcv_nxt,
				   .flags = TERN_TCP_RST });
	expect_missing(ifc);

	/* The kernel hands the numbers out again; the library maps them afresh. */
	int fd = ifc->socket(ud, AF_INET, SOCK_STREAM, 0);
	CHECK_EQ(fd, c->lfd);             /* lowest free; its listener on 8080 is orphaned */
	struct sockaddr_in any = sin_of(0, 8080);
	CHECK_EQ(ifc->bind(ud, fd, (struct sockaddr *)&any, sizeof(any)), 0);
	CHECK_EQ(ifc->listen(ud, fd, 1), 0);
	CHECK_EQ(close(fd), 0);
	ifc->free(ud);
}

/* A bad flag leaves an instance without a stack: every call fails with ENETDOWN
 * and every expected packet is missing, so packetdrill fails the script. */
static void bad_flags(void)
{
	struct packetdrill_interface ifc;
	pd_init("--local_ip=192.168.0 --no_such_flag", &ifc);
	void *ud = ifc.userdata;
	CHECK_ERR(ifc.socket(ud, AF_INET, SOCK_STREAM, 0), ENETDOWN);
	CHECK_ERR(ifc.netdev_send(ud, "x", 1), ENETDOWN);
	expect_missing(&ifc);
	long long t0 = now_us(&ifc);
	CHECK_EQ(ifc.usleep(ud, 5), 0);
	CHECK_EQ(now_us(&ifc) - t0, 6);
	ifc.free(ud);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH/libtern-packetdrill.so\n", argv[0]);
		return 2;
	}
	const char *base = getenv("TERN_TEST_TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/pdso-%ld", base && *base ? base : "/tmp", (long)getpid());
	CHECK(mkdir(tmpdir, 0700) == 0 || errno == EEXIST);

	/* packetdrill's own flags, except RTLD_DEEPBIND, which the sanitizers refuse. */
	int mode = RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE;
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#if defined(__has_feature)
#if !__has_feature(address_sanitizer) && !__has_feature(thread_sanitizer)
	mode |= RTLD_DEEPBIND;
#endif
#else
	mode |= RTLD_DEEPBIND;
#endif
#endif
	void *so = dlopen(argv[1], mode);
	if (!so) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	pd_init = (init_fn)dlsym(so, "packetdrill_interface_init");
	CHECK(pd_init != NULL);
	CHECK(dlsym(so, "tern_stack_create") == NULL);   /* only the one symbol is exported */

	struct packetdrill_interface ifc;
	struct conn c;
	char flags[700];
	snprintf(flags, sizeof(flags), "--local_ip=192.168.0.1 --ctl=%s/a.ctl", tmpdir);
	pd_init(flags, &ifc);
	expect_missing(&ifc);
	passive_handshake(&ifc, &c);
	puts("ok passive_handshake");
	data_exchange(&ifc, &c);
	puts("ok data_exchange");
	blocking_calls(&ifc, &c);
	puts("ok blocking_calls");
	blocking_write(&ifc, &c);
	puts("ok blocking_write");
	timed_poll(&ifc, &c);
	puts("ok timed_poll");
	end_of_script(&ifc, &c);
	puts("ok end_of_script");

	clock_and_missing();
	puts("ok clock_and_missing");
	control_socket();
	puts("ok control_socket");
	bad_flags();
	puts("ok bad_flags");

	dlclose(so);
	rmdir(tmpdir);
	return 0;
}
