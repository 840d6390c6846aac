/*
 * link/tun_linux.c: the Linux TUN driver (include/tern/tun.h). It runs one tern
 * stack in real time against the kernel's own TCP/IP stack.
 *
 * The device. /dev/net/tun with IFF_TUN | IFF_NO_PI (see the kernel's
 * Documentation/networking/tuntap.rst): each read(2) returns one IP datagram the
 * kernel routed into the interface, each write(2) injects one as if it had arrived
 * on it. No link header, no packet-information prefix: exactly what tern_stack_input
 * takes and what the stack's emit callback hands out. The descriptor is
 * non-blocking; the device goes away when it is closed (we never set TUNSETPERSIST).
 *
 * Its configuration uses the classic interface ioctls (netdevice(7)) on an AF_INET
 * datagram socket rather than netlink or running ip(8): SIOCSIFMTU, SIOCSIFADDR
 * (the kernel's address), SIOCSIFDSTADDR (tern's address as the point-to-point
 * peer; the kernel installs the host route to it), SIOCSIFFLAGS (up). A TUN device
 * is IFF_POINTOPOINT | IFF_NOARP already, so that is the whole of it, and the
 * ioctls act in the namespace of the thread that calls them, which is what lets
 * `tern serve --netns` build everything inside a private namespace. IPv6 is turned
 * off on the device (its sysctl) so that router solicitations and MLD reports do
 * not land in tern's counters as unknown protocols.
 *
 * The loop. One epoll set holds the device, a timerfd and the caller's watched
 * descriptors. The timerfd is armed (absolute, CLOCK_MONOTONIC) at the stack's
 * next deadline, so the process sleeps in epoll_wait until a datagram or a timer
 * is due: no periodic tick, no busy loop, and nanosecond precision where epoll's
 * own timeout has only milliseconds. Datagrams are read in bursts of at most
 * TUN_BURST per turn; the device stays readable when more wait, so a flood cannot
 * starve the timers or the application, which run after each burst.
 *
 * Time passed to the stack is read once per datagram (a vDSO call), so the stack's
 * RTT samples see arrival times, not the start of the burst.
 *
 * Offloads (unless the config says no_offload). The device is opened with
 * IFF_VNET_HDR too, and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4) tells the kernel
 * that tern takes TCP/IPv4 packets of up to 64 KiB whose checksums are left
 * undone, and may hand it such packets. Every read and write then starts with a
 * virtio-net header. We use the legacy 10-byte struct virtio_net_hdr, not the
 * 12-byte _v1 one: the two extra bytes (num_buffers) only mean something to
 * virtio devices with mergeable receive buffers, while a TUN read always yields
 * exactly one datagram; 10 is also the kernel's default, set explicitly with
 * TUNSETVNETHDRSZ anyway. TUNSETVNETLE fixes its byte order to little-endian, so
 * link/tun_gso.c reads it the same way on every host.
 *
 * In, each TSO packet goes to tern_stack_input_flags whole with TERN_INPUT_GSO, as
 * Linux's stack receives what GRO merged (link/tun_gso.c says why); with no_gro,
 * link/tun_gso.c cuts it into the segments the wire would have carried and the
 * core's per-segment behaviour is that of Linux without GRO. Checksums stay partial both
 * ways, as on loopback: what the kernel marks NEEDS_CSUM goes in with
 * TERN_INPUT_CSUM_OK, and the stack leaves its own TCP checksums partial
 * (tx_csum_offload) for the kernel, which gets them as NEEDS_CSUM and trusts
 * them. No payload byte is summed on either side. Out, the emit callback only queues (a copy, as it must). The
 * queue is written after each datagram read (what the stack said in answer goes
 * out before the next is read, as without offloads) and at the end of each turn,
 * before the loop sleeps: runs of one flow's segments as single TSO packets with
 * one writev each (vnet header, rebuilt headers, then the payloads where they lie
 * in the queue), anything else as it is. A TSO packet
 * the kernel refuses is written again segment by segment. If the kernel refuses
 * the offloads themselves the device is opened again without IFF_VNET_HDR and
 * the driver runs plain; the stats say so.
 */
#define _GNU_SOURCE

#include "tern/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "link/tun_gso.h"
#include "tern/stack.h"

/* Datagrams read per turn of the loop before timers and watchers get their turn:
 * enough to amortise the wake-up, small enough to bound the latency of a timer. */
#define TUN_BURST 64
/* The largest datagram an IPv4 header can describe. */
#define TUN_MAX_DGRAM 65535
/* Key material handed to the stack (tern_stack_config asks for at least 32). */
#define TUN_SECRET_BYTES 32
/* With offloads: the stack's output waiting for the end of the turn. The arena
 * holds a few TSO packets' worth; a fuller queue is written early. */
#define TXQ_BYTES (256 * 1024)
#define TXQ_DGRAMS 512
/* Most segments in one TSO packet we write (bounds the writev's iovecs). */
#define TUN_GSO_MAX_SEGS 64
/* epoll data tags for the two descriptors the driver owns itself. */
#define TAG_DEVICE UINT64_MAX
#define TAG_TIMER (UINT64_MAX - 1)

struct watch {
	int fd;                 /* -1: free */
	tern_tun_watch_fn fn;
	void *ctx;
};

struct tern_tun {
	int fd;                 /* /dev/net/tun, attached to the device */
	int epfd;
	int tfd;                /* timerfd at the stack's next deadline */
	tern_time armed;        /* what tfd is armed for (TERN_TIME_NEVER: disarmed) */
	char ifname[IFNAMSIZ];
	struct tern_stack *st;
	tern_tun_tap_fn tap;
	void *tap_ctx;
	struct tern_tun_stats stats;
	struct watch watch[TERN_TUN_MAX_WATCH];
	bool offload;            /* every read and write carries a vnet header */
	bool gro;                /* TSO packets go to the stack whole */
	tern_time rx_now;        /* arrival time of what tern__gso_input hands on */
	bool rx_partial;         /* and whether its TCP checksum is left partial */
	uint8_t *tapbuf;         /* with offloads and a tap: datagrams finished for it */
	uint8_t *txq;            /* the queue's arena (offloads only) */
	size_t txq_used;
	size_t txq_n;
	struct tern_gso_dgram txq_d[TXQ_DGRAMS];
	_Alignas(8) uint8_t buf[TUN_MAX_DGRAM];
};

_Static_assert(sizeof(struct virtio_net_hdr) == TERN_VNET_HDR_LEN, "legacy virtio-net header");

tern_time tern_tun_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (tern_time)ts.tv_sec * TERN_NS_PER_SEC + ts.tv_nsec;
}

/* ------------------------------------------------------------ the device */

/* Opens /dev/net/tun and creates the interface, with a vnet header on every
 * datagram when `vnet`. Returns the descriptor or -errno. */
static int open_device(const char *name, bool vnet, char ifname[IFNAMSIZ])
{
	struct ifreq ifr;

	if (strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';
	return fd;
}

/* Header size, byte order and the offloads on a device opened with IFF_VNET_HDR.
 * 0 or -errno of the ioctl the kernel refused. */
static int enable_offloads(int fd)
{
	int size = TERN_VNET_HDR_LEN, le = 1;
	const uint16_t probe = 1;

	if (ioctl(fd, TUNSETVNETHDRSZ, &size) < 0)
		return -errno;
	/* Little-endian is also the native order of a legacy header on a
	 * little-endian host, so there a kernel without the ioctl is no problem. */
	if (ioctl(fd, TUNSETVNETLE, &le) < 0 && *(const uint8_t *)&probe != 1)
		return -errno;
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4)) < 0)
		return -errno;
	return 0;
}

/* Opens the device with offloads if wanted and granted, else plain. Sets
 * tun->offload and the stats' offload fields. The descriptor or -errno. */
static int open_device_offload(struct tern_tun *tun, const char *name, bool want)
{
	if (want) {
		int fd = open_device(name, true, tun->ifname);
		if (fd >= 0) {
			int rc = enable_offloads(fd);
			if (rc == 0) {
				tun->offload = tun->stats.offload = true;
				return fd;
			}
			/* Closing removes the half-made device; it is made again plain. */
			close(fd);
			tun->stats.offload_error = rc;
		} else {
			tun->stats.offload_error = fd;
		}
	}
	return open_device(name, false, tun->ifname);
}

static void set_sockaddr(struct sockaddr *sa, uint32_t v4)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(v4) };
	memcpy(sa, &sin, sizeof(sin));
}

/* Best effort: a kernel without IPv6 has no such file, and that is fine. */
static void disable_ipv6(const char *ifname)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1\n", 2) < 0) {
		/* nothing to do: IPv6 datagrams are then dropped and counted by the stack */
	}
	close(fd);
}

/* Gives the kernel's side its address, point to point with tern's, and brings the
 * device up (netdevice(7)). 0 or -errno. */
static int configure_device(const char *ifname, uint32_t kernel_v4, uint32_t tern_v4, uint32_t mtu)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	int rc = 0;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	ifr.ifr_mtu = (int)mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
		goto fail;
	disable_ipv6(ifname);
	set_sockaddr(&ifr.ifr_addr, kernel_v4);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		goto fail;
	set_sockaddr(&ifr.ifr_netmask, 0xffffffffu);
	if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
		goto fail;
	set_sockaddr(&ifr.ifr_dstaddr, tern_v4);
	if (ioctl(s, SIOCSIFDSTADDR, &ifr) < 0)
		goto fail;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		goto fail;
	close(s);
	return 0;
fail:
	rc = -errno;
	close(s);
	return rc;
}

/* The stack's emit callback: one datagram, one write. A TUN write either takes the
 * whole datagram or fails; a failure (the device going down, no buffer) loses the
 * datagram, which TCP will retransmit, as a full NIC queue would. */
static void device_emit(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	struct tern_tun *tun = ctx;

	for (;;) {
		ssize_t n = write(tun->fd, pkt, len);
		if (n == (ssize_t)len) {
			tun->stats.tx_packets++;
			tun->stats.tx_bytes += len;
			if (tun->tap)
				tun->tap(tun->tap_ctx, now, true, pkt, len);
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		tun->stats.tx_errors++;
		return;
	}
}

/* Hands a datagram to the tap as a wire would carry it: with offloads a TCP
 * checksum may be partial, and is then finished in a copy. */
static void tap_call(struct tern_tun *tun, tern_time now, bool out, const uint8_t *pkt, size_t len,
		     bool partial)
{
	if (partial && tun->tapbuf && len <= TUN_MAX_DGRAM) {
		memcpy(tun->tapbuf, pkt, len);
		tern__gso_finish_csum(tun->tapbuf, len);
		pkt = tun->tapbuf;
	}
	tun->tap(tun->tap_ctx, now, out, pkt, len);
}

/* ------------------------------------------------------------ output with offloads */

/* One write of iov[0..n) with a vnet header in front; true when the kernel took it. */
static bool write_iov(struct tern_tun *tun, const struct iovec *iov, int n, size_t len)
{
	for (;;) {
		ssize_t w = writev(tun->fd, iov, n);
		if (w == (ssize_t)(len + TERN_VNET_HDR_LEN)) {
			tun->stats.tx_packets++;
			tun->stats.tx_bytes += len;
			return true;
		}
		if (w < 0 && errno == EINTR)
			continue;
		return false;
	}
}

/* One datagram as it is: no GSO; NEEDS_CSUM for a TCP segment, whose checksum
 * the stack left partial. */
static void write_plain(struct tern_tun *tun, const struct tern_gso_dgram *d)
{
	uint8_t vnet[TERN_VNET_HDR_LEN];
	struct tern_vnet_hdr vh;
	tern__gso_plain_hdr(d->data, d->len, &vh);
	tern__vnet_hdr_put(vnet, &vh);
	struct iovec iov[2] = {
		{ .iov_base = vnet, .iov_len = sizeof(vnet) },
		{ .iov_base = (void *)d->data, .iov_len = d->len },
	};
	if (!write_iov(tun, iov, 2, d->len))
		tun->stats.tx_errors++;
}

/* A run from tern__gso_run as one TSO packet: the vnet header, the rebuilt
 * headers, then each segment's payload where it lies in the queue. */
static bool write_tso(struct tern_tun *tun, const struct tern_gso_dgram *d, size_t n)
{
	uint8_t vnet[TERN_VNET_HDR_LEN], hdr[TERN_GSO_MAX_HDRS];
	struct iovec iov[TUN_GSO_MAX_SEGS + 2];
	struct tern_vnet_hdr vh;

	size_t h = tern__gso_build(d, n, hdr, &vh);
	tern__vnet_hdr_put(vnet, &vh);
	iov[0] = (struct iovec){ .iov_base = vnet, .iov_len = sizeof(vnet) };
	iov[1] = (struct iovec){ .iov_base = hdr, .iov_len = h };
	size_t len = h;
	for (size_t i = 0; i < n; i++) {
		iov[2 + i] = (struct iovec){ .iov_base = (void *)(d[i].data + h), .iov_len = d[i].len - h };
		len += d[i].len - h;
	}
	if (!write_iov(tun, iov, (int)n + 2, len))
		return false;
	tun->stats.gso_tx_packets++;
	tun->stats.gso_tx_segs += n;
	return true;
}

void tern_tun_flush(struct tern_tun *tun)
{
	size_t i = 0;

	while (i < tun->txq_n) {
		size_t left = tun->txq_n - i;
		size_t n = tern__gso_run(tun->txq_d + i, left < TUN_GSO_MAX_SEGS ? left : TUN_GSO_MAX_SEGS,
					 TERN_GSO_MAX_DGRAM);
		if (n >= 2 && !write_tso(tun, tun->txq_d + i, n)) {
			/* Refused as a whole (it should not be): the segments one by one. */
			tun->stats.gso_tx_fallbacks++;
			for (size_t k = 0; k < n; k++)
				write_plain(tun, &tun->txq_d[i + k]);
		} else if (n == 1) {
			write_plain(tun, &tun->txq_d[i]);
		}
		i += n;
	}
	tun->txq_n = 0;
	tun->txq_used = 0;
}

/* The stack's emit callback with offloads: a copy into the queue. */
static void queue_emit(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	struct tern_tun *tun = ctx;

	if (tun->txq_n == TXQ_DGRAMS || tun->txq_used + len > TXQ_BYTES)
		tern_tun_flush(tun);
	uint8_t *p = tun->txq + tun->txq_used;
	memcpy(p, pkt, len);
	tun->txq_d[tun->txq_n++] = (struct tern_gso_dgram){ .data = p, .len = len };
	/* Keeps every datagram 8-byte aligned in the arena. */
	tun->txq_used += (len + 7) & ~(size_t)7;
	if (tun->tap)
		tap_call(tun, now, true, pkt, len, true);
}

/* ------------------------------------------------------------ life cycle */

int tern_tun_create(const struct tern_tun_config *cfg, struct tern_tun **out)
{
	uint8_t secret[TUN_SECRET_BYTES];
	uint64_t seed;

	*out = NULL;
	if (!cfg || cfg->addr.family != TERN_AF_INET)
		return -EINVAL;
	if (cfg->peer.family != TERN_AF_UNSPEC &&
	    (cfg->peer.family != TERN_AF_INET || cfg->peer.u.v4 == cfg->addr.u.v4))
		return -EINVAL;
	uint32_t mtu = cfg->mtu ? cfg->mtu : 1500;
	if (mtu < 576 || mtu > TUN_MAX_DGRAM)
		return -EINVAL;
	/* getrandom(2) without flags blocks only until the pool is first initialised. */
	if (getrandom(secret, sizeof(secret), 0) != (ssize_t)sizeof(secret) ||
	    getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		return -EIO;

	struct tern_tun *tun = calloc(1, sizeof(*tun));
	if (!tun)
		return -ENOMEM;
	tun->fd = tun->epfd = tun->tfd = -1;
	tun->armed = TERN_TIME_NEVER;
	tun->tap = cfg->tap;
	tun->tap_ctx = cfg->tap_ctx;
	for (int i = 0; i < TERN_TUN_MAX_WATCH; i++)
		tun->watch[i].fd = -1;

	int rc = open_device_offload(tun, cfg->ifname ? cfg->ifname : "tern%d", !cfg->no_offload);
	if (rc < 0)
		goto fail;
	tun->fd = rc;
	tun->gro = tun->offload && !cfg->no_gro;
	if (tun->offload && (!(tun->txq = malloc(TXQ_BYTES)) ||
			     (tun->tap && !(tun->tapbuf = malloc(TUN_MAX_DGRAM))))) {
		rc = -ENOMEM;
		goto fail;
	}
	if (cfg->peer.family == TERN_AF_INET) {
		rc = configure_device(tun->ifname, cfg->peer.u.v4, cfg->addr.u.v4, mtu);
		if (rc < 0)
			goto fail;
	}

	tun->epfd = epoll_create1(EPOLL_CLOEXEC);
	tun->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tun->epfd < 0 || tun->tfd < 0) {
		rc = -errno;
		goto fail;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_DEVICE };
	if (epoll_ctl(tun->epfd, EPOLL_CTL_ADD, tun->fd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	ev.data.u64 = TAG_TIMER;
	if (epoll_ctl(tun->epfd, EPOLL_CTL_ADD, tun->tfd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}

	struct tern_stack_config sc;
	tern_stack_config_init(&sc);
	sc.addr = cfg->addr;
	sc.mtu = mtu;
	sc.now = tern_tun_clock();
	sc.seed = seed;
	sc.secret = secret;
	sc.secret_len = sizeof(secret);
	sc.emit = tun->offload ? queue_emit : device_emit;
	/* With offloads the kernel finishes (or trusts) what the stack leaves partial. */
	sc.tx_csum_offload = tun->offload;
	sc.emit_ctx = tun;
	sc.log = cfg->log;
	sc.log_ctx = cfg->log_ctx;
	rc = tern_stack_create(&sc, &tun->st);
	if (rc < 0)
		goto fail;
	explicit_bzero(secret, sizeof(secret));
	*out = tun;
	return 0;
fail:
	explicit_bzero(secret, sizeof(secret));
	tern_tun_destroy(tun);
	return rc;
}

void tern_tun_destroy(struct tern_tun *tun)
{
	if (!tun)
		return;
	if (tun->fd >= 0)
		tern_tun_flush(tun);
	if (tun->st)
		tern_stack_destroy(tun->st);
	if (tun->tfd >= 0)
		close(tun->tfd);
	if (tun->epfd >= 0)
		close(tun->epfd);
	if (tun->fd >= 0)
		close(tun->fd);
	free(tun->txq);
	free(tun->tapbuf);
	free(tun);
}

struct tern_stack *tern_tun_stack(struct tern_tun *tun)
{
	return tun->st;
}

const char *tern_tun_ifname(const struct tern_tun *tun)
{
	return tun->ifname;
}

void tern_tun_stats(const struct tern_tun *tun, struct tern_tun_stats *out)
{
	*out = tun->stats;
}

/* ------------------------------------------------------------ watched descriptors */

int tern_tun_watch(struct tern_tun *tun, int fd, uint32_t events, tern_tun_watch_fn fn, void *ctx)
{
	int slot = -1;

	if (fd < 0 || !fn)
		return -EINVAL;
	for (int i = 0; i < TERN_TUN_MAX_WATCH; i++) {
		if (tun->watch[i].fd == fd)
			return -EEXIST;
		if (tun->watch[i].fd < 0 && slot < 0)
			slot = i;
	}
	if (slot < 0)
		return -ENOSPC;
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)slot };
	if (epoll_ctl(tun->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	tun->watch[slot] = (struct watch){ .fd = fd, .fn = fn, .ctx = ctx };
	return 0;
}

int tern_tun_unwatch(struct tern_tun *tun, int fd)
{
	for (int i = 0; i < TERN_TUN_MAX_WATCH; i++) {
		if (tun->watch[i].fd == fd && fd >= 0) {
			epoll_ctl(tun->epfd, EPOLL_CTL_DEL, fd, NULL);
			tun->watch[i].fd = -1;
			return 0;
		}
	}
	return -ENOENT;
}

/* ------------------------------------------------------------ the loop */

/* Arms the timerfd for `when` (absolute), unless it already is. */
static int arm_timer(struct tern_tun *tun, tern_time when)
{
	if (when == tun->armed)
		return 0;
	struct itimerspec its = { 0 };
	if (when != TERN_TIME_NEVER) {
		/* A zero it_value would disarm: a deadline at time 0 is "now" anyway. */
		if (when <= 0)
			when = 1;
		its.it_value.tv_sec = when / TERN_NS_PER_SEC;
		its.it_value.tv_nsec = when % TERN_NS_PER_SEC;
	}
	if (timerfd_settime(tun->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	tun->armed = when;
	return 0;
}

/* tern__gso_input's consumer: one segment (or datagram) to the stack. */
static void rx_segment(void *ctx, const uint8_t *pkt, size_t len, bool csum_ok, uint16_t gso_size)
{
	struct tern_tun *tun = ctx;
	if (tun->tap)
		tap_call(tun, tun->rx_now, false, pkt, len, tun->rx_partial);
	tern_stack_input_flags(tun->st, tun->rx_now, pkt, len,
			       (csum_ok ? TERN_INPUT_CSUM_OK : 0) | TERN_INPUT_GSO(gso_size));
}

/* One read with offloads: the vnet header apart, the datagram into buf. */
static ssize_t read_vnet(struct tern_tun *tun, struct tern_vnet_hdr *vh)
{
	uint8_t vnet[TERN_VNET_HDR_LEN];
	struct iovec iov[2] = {
		{ .iov_base = vnet, .iov_len = sizeof(vnet) },
		{ .iov_base = tun->buf, .iov_len = sizeof(tun->buf) },
	};
	ssize_t n = readv(tun->fd, iov, 2);
	if (n <= 0)
		return n;
	if (n < TERN_VNET_HDR_LEN) {
		tun->stats.rx_bad_vnet++;
		return -2;
	}
	tern__vnet_hdr_get(vnet, vh);
	return n - TERN_VNET_HDR_LEN;
}

/* Reads up to TUN_BURST datagrams and hands each to the stack. 0 or -errno. */
static int read_burst(struct tern_tun *tun)
{
	struct tern_vnet_hdr vh;

	for (int i = 0; i < TUN_BURST; i++) {
		ssize_t n = tun->offload ? read_vnet(tun, &vh) : read(tun->fd, tun->buf, sizeof(tun->buf));
		if (n == -2)
			continue;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		if (n == 0)
			return 0;
		tern_time now = tern_tun_clock();
		if (tun->offload) {
			tun->stats.rx_packets++;
			tun->stats.rx_bytes += (uint64_t)n;
			tun->rx_now = now;
			/* What tern__gso_input leaves partial (it is asked not to finish). */
			tun->rx_partial = vh.gso_type != TERN_VNET_GSO_NONE
				? (vh.flags & (TERN_VNET_F_NEEDS_CSUM | TERN_VNET_F_DATA_VALID)) != 0
				: (vh.flags & TERN_VNET_F_NEEDS_CSUM) != 0;
			int segs = tern__gso_input(&vh, tun->buf, (size_t)n, tun->gro ? TERN_GSO_IN_WHOLE : 0,
						   rx_segment, tun);
			if (segs < 0) {
				tun->stats.rx_bad_vnet++;
			} else if (vh.gso_type != TERN_VNET_GSO_NONE) {
				tun->stats.gso_rx_packets++;
				tun->stats.gso_rx_segs += (uint64_t)segs;
			} else if (vh.flags & TERN_VNET_F_NEEDS_CSUM) {
				tun->stats.csum_rx_partial++;
			}
			/* What this datagram made the stack say goes out before the next
			 * is read, as without offloads: the kernel sees tern's ACKs as
			 * soon as it would have, and what they release can still be
			 * read in this burst. */
			tern_tun_flush(tun);
			continue;
		}
		tun->stats.rx_packets++;
		tun->stats.rx_bytes += (uint64_t)n;
		if (tun->tap)
			tun->tap(tun->tap_ctx, now, false, tun->buf, (size_t)n);
		tern_stack_input(tun->st, now, tun->buf, (size_t)n);
	}
	return 0;
}

int tern_tun_poll(struct tern_tun *tun, tern_time until)
{
	struct epoll_event evs[TERN_TUN_MAX_WATCH + 2];
	tern_time now = tern_tun_clock();

	/* Timers already due run before the wait; the wait then lasts until the next. */
	if (tern_stack_next_deadline(tun->st) <= now)
		tern_stack_advance(tun->st, now);
	tern_time wake = tern_stack_next_deadline(tun->st);
	if (until < wake)
		wake = until;
	int rc = arm_timer(tun, wake);
	if (rc < 0)
		return rc;
	/* What the application and the timers made is on its way before we sleep. */
	tern_tun_flush(tun);

	int n = epoll_wait(tun->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), -1);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	tun->stats.wakeups++;

	/* The datagrams first, then the timers, then the watchers: the application
	 * sees what arrived, at the time it arrived, with every timer already run. */
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u64 == TAG_DEVICE) {
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				return -EIO;
			rc = read_burst(tun);
			if (rc < 0)
				return rc;
		} else if (evs[i].data.u64 == TAG_TIMER) {
			uint64_t expirations;
			if (read(tun->tfd, &expirations, sizeof(expirations)) > 0)
				tun->stats.timer_wakeups++;
			/* Each arming is good for one expiry: arm again next turn. */
			tun->armed = TERN_TIME_NEVER;
		}
	}
	/* Always, not only when a timer is due: the application's socket calls act at
	 * the stack's time, which should be the time they are made. */
	tern_stack_advance(tun->st, tern_tun_clock());
	for (int i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;
		if (tag >= TERN_TUN_MAX_WATCH)
			continue;
		struct watch *w = &tun->watch[tag];
		if (w->fd >= 0)
			w->fn(w->ctx, w->fd, evs[i].events);
	}
	tern_tun_flush(tun);
	return 0;
}
