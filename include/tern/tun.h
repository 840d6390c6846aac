/*
 * tern/tun.h: the Linux TUN driver, one tern host on a real network interface.
 *
 * The driver is the real-time counterpart of the simulator (tern/sim.h). It owns a
 * TUN device (IFF_TUN | IFF_NO_PI: every read and write is one IP datagram, after
 * a virtio-net header with offloads, below) and a tern stack whose address lives
 * behind that device, and it runs the stack in real time with one epoll loop:
 *
 *     tern_tun_poll(tun, until)
 *         sleep until a datagram arrives, the stack's next deadline, a watched
 *         descriptor becomes ready, or `until`;
 *         hand every waiting datagram (a bounded burst) to tern_stack_input;
 *         run due timers (tern_stack_advance);
 *         call the watchers of ready descriptors;
 *         write what the stack emitted (with offloads; see below).
 *
 * Offloads (the default; `no_offload` turns them off). The device is opened with
 * IFF_VNET_HDR and TUN_F_CSUM | TUN_F_TSO4, so the kernel hands tern TCP packets
 * of up to 64 KiB with their checksums left undone, and takes such packets from
 * tern. The driver hands each TSO packet it reads to the stack whole, as one
 * merged arrival (TERN_INPUT_GSO), the way Linux's receive path takes what GRO
 * merged: one ACK per packet rather than one per two segments. With `no_gro` it
 * cuts the packet into the segments the wire would have carried instead, and the
 * stack acknowledges as a Linux host without GRO. What the stack emits is queued,
 * and runs of segments of one flow are written as one TSO packet after each
 * datagram read and at the end of each turn of the loop (before it sleeps); the
 * stack itself makes MTU-sized segments either way. TCP checksums are left partial
 * both ways, as on Linux's loopback (the kernel and tern trust each other's
 * memory). The tap sees datagrams as the stack does (a merged TSO packet whole, as
 * tcpdump on a GRO interface shows it), with their checksums finished (in a copy,
 * a pass over each datagram that only a tap costs).
 * Without offloads (or when the kernel refuses them) every datagram crosses the
 * device as it is, and what the stack emits is written at once, from inside the
 * stack call that produced it.
 *
 * Time is CLOCK_MONOTONIC in nanoseconds; the ISN and cookie secrets and the PRNG
 * seed come from getrandom(2).
 *
 * The kernel's side of the device gets `peer` as its address, point to point with
 * tern's `addr` (what `ip addr add PEER peer ADDR dev IF` does), so the kernel
 * routes datagrams for `addr` into the device and tern answers from it. tern's
 * address is never configured on the kernel's interface: tern owns it. All of it
 * happens in the network namespace of the calling thread; docs/real-network.md
 * shows how `tern serve --netns` uses that.
 *
 * Linux only; needs CAP_NET_ADMIN (for creating and configuring the device).
 */
#ifndef TERN_TUN_H
#define TERN_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/stack.h"
#include "tern/types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tern_tun;

/* Sees every datagram the device delivers to tern (`out` false) and every one tern
 * writes to it (`out` true), e.g. to capture them. */
typedef void (*tern_tun_tap_fn)(void *ctx, tern_time now, bool out, const uint8_t *pkt, size_t len);

/* Called from tern_tun_poll when a watched descriptor is ready (epoll events). */
typedef void (*tern_tun_watch_fn)(void *ctx, int fd, uint32_t events);

struct tern_tun_config {
	const char *ifname;        /* device name, or a pattern with %d; NULL: "tern%d" */
	struct tern_addr addr;     /* tern's address (the stack's); IPv4, required */
	struct tern_addr peer;     /* the kernel's address on the device; TERN_AF_UNSPEC
				      leaves the device unconfigured and down */
	uint32_t mtu;              /* of the device and the stack, 576..65535; 0: 1500 */
	tern_log_fn log;           /* optional: the stack's log lines */
	void *log_ctx;
	tern_tun_tap_fn tap;       /* optional */
	void *tap_ctx;
	bool no_offload;           /* plain datagrams only (no IFF_VNET_HDR) */
	bool no_gro;               /* with offloads: TSO packets reach the stack cut into
				      their segments, not whole */
};

/* What the driver itself counts (the stack's counters are in tern_stack_counters). */
struct tern_tun_stats {
	uint64_t rx_packets, rx_bytes;   /* datagrams read from the device */
	uint64_t tx_packets, tx_bytes;   /* datagrams written to it */
	uint64_t tx_errors;              /* writes the device refused (the datagram is lost) */
	uint64_t wakeups;                /* returns from the epoll wait */
	uint64_t timer_wakeups;          /* of which the stack's deadline was the cause */
	/* Offloads. `offload` says whether they are on; when they were asked for and
	 * the kernel refused them, offload_error is the -errno of the refusal (the
	 * device then runs plain). */
	bool offload;
	int offload_error;
	uint64_t gso_rx_packets;         /* TSO packets read from the device ... */
	uint64_t gso_rx_segs;            /* ... and the segments they hold (cut or not) */
	uint64_t csum_rx_partial;        /* other datagrams with their checksum left partial */
	uint64_t gso_tx_packets;         /* TSO packets written to the device ... */
	uint64_t gso_tx_segs;            /* ... and the segments they were made of */
	uint64_t gso_tx_fallbacks;       /* TSO packets refused, then written segment by segment */
	uint64_t rx_bad_vnet;            /* reads dropped for a malformed vnet header */
};

/* Creates the device, configures it (when `peer` is given), and the stack on it.
 * 0, or a negative errno (-EPERM without CAP_NET_ADMIN, -ENOENT without
 * /dev/net/tun, -EBUSY when the name is taken, -EINVAL for a bad config). */
int tern_tun_create(const struct tern_tun_config *cfg, struct tern_tun **out);
/* Destroys the stack, closes the device (which removes it) and frees. NULL: no-op. */
void tern_tun_destroy(struct tern_tun *tun);

struct tern_stack *tern_tun_stack(struct tern_tun *tun);
/* The device's name as the kernel gave it ("tern0"). */
const char *tern_tun_ifname(const struct tern_tun *tun);
void tern_tun_stats(const struct tern_tun *tun, struct tern_tun_stats *out);

/* The driver's clock: CLOCK_MONOTONIC in nanoseconds. */
tern_time tern_tun_clock(void);

/* Adds a descriptor to the loop (level-triggered `events`, EPOLLIN etc.). At most
 * TERN_TUN_MAX_WATCH of them. 0, -ENOSPC, -EEXIST, or -errno from epoll_ctl. */
#define TERN_TUN_MAX_WATCH 16
int tern_tun_watch(struct tern_tun *tun, int fd, uint32_t events, tern_tun_watch_fn fn, void *ctx);
/* Removes it again. 0 or -ENOENT. */
int tern_tun_unwatch(struct tern_tun *tun, int fd);

/* One turn of the loop (above). `until` is an absolute tern_tun_clock time past
 * which the wait does not last (TERN_TIME_NEVER: no limit). Returns 0, or a
 * negative errno when the device or the wait failed (EINTR is not a failure). */
int tern_tun_poll(struct tern_tun *tun, tern_time until);

/* Writes what the stack emitted since the last turn of the loop. tern_tun_poll
 * does it before it sleeps and before it returns, so only a caller that makes
 * socket calls and then does something lengthy before polling again needs it. */
void tern_tun_flush(struct tern_tun *tun);

#ifdef __cplusplus
}
#endif
#endif
