/*
 * tern/stack.h: one tern host, as a deterministic machine.
 *
 * A stack never does I/O, never reads a clock and never prints (DESIGN.md §1):
 *   inputs:  packets (tern_stack_input), socket calls, the current time
 *   outputs: packets (the `emit` callback), readiness, the next deadline
 * The driver (the simulator, the TUN driver, the script runner) owns the loop:
 *
 *     tern_stack_input(st, now, pkt, len);        // for each packet that arrives
 *     tern_stack_advance(st, now);                // when now >= next deadline
 *     next = tern_stack_next_deadline(st);        // when to call advance again
 *
 * Time never goes backwards across calls (asserted in debug builds). All state hangs
 * off struct tern_stack: two stacks in one process never interfere.
 */
#ifndef TERN_STACK_H
#define TERN_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "tern/stats.h"
#include "tern/types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tern_stack;

/* Log levels, with syslog's values. */
#define TERN_LOG_ERR     3
#define TERN_LOG_WARNING 4
#define TERN_LOG_NOTICE  5
#define TERN_LOG_INFO    6
#define TERN_LOG_DEBUG   7

/* Hands a finished IP datagram to the driver. The bytes are valid only during the
 * call; the driver copies what it keeps. Called from inside tern_stack_* calls. */
typedef void (*tern_emit_fn)(void *ctx, tern_time now, const uint8_t *pkt, size_t len);

/* Receives the stack's log lines (no trailing newline). */
typedef void (*tern_log_fn)(void *ctx, int level, const char *msg);

/* Receives ICMP echo replies to tern_stack_ping (the ping facility of the stack). */
typedef void (*tern_echo_reply_fn)(void *ctx, tern_time now, const struct tern_addr *from,
				   uint16_t id, uint16_t seq, size_t data_len);

struct tern_stack_config {
	struct tern_addr addr;     /* the host's (first) address; IPv4 */
	uint32_t mtu;              /* of its interface, 576..65535; 0 means 1500 */
	tern_time now;             /* time at creation */
	uint64_t seed;             /* seeds the PRNG (and the secrets when none are given) */
	const uint8_t *secret;     /* key material for ISNs and cookies; NULL: from seed */
	size_t secret_len;         /* at least 32 bytes when given */
	tern_emit_fn emit;         /* required */
	void *emit_ctx;
	tern_log_fn log;           /* optional */
	void *log_ctx;
	tern_echo_reply_fn echo_reply;  /* optional */
	void *echo_reply_ctx;
	/* Checksum offload, as a NIC or Linux's loopback gives it: TCP checksums of
	 * emitted segments are left partial (the pseudo-header sum only, Linux's
	 * CHECKSUM_PARTIAL) for the link to finish or to trust. Only for a link that
	 * delivers such datagrams with TERN_INPUT_CSUM_OK (the simulator does, for a
	 * stack created so); a pcap of them shows "incorrect" TCP checksums, as a
	 * capture on lo does. The IPv4 header checksum is always computed. */
	bool tx_csum_offload;
};

/* Fills `cfg` with defaults: no address, time 0, seed 1, no callbacks. */
void tern_stack_config_init(struct tern_stack_config *cfg);

/* Creates a stack. Returns 0 and sets *out, or -EINVAL (bad config) / -ENOMEM. */
int tern_stack_create(const struct tern_stack_config *cfg, struct tern_stack **out);
void tern_stack_destroy(struct tern_stack *st);

/* Adds another local address (up to TERN_STACK_MAX_ADDRS). 0, -EEXIST or -ENOSPC. */
#define TERN_STACK_MAX_ADDRS 8
int tern_stack_add_addr(struct tern_stack *st, const struct tern_addr *addr);
/* The host's first address. */
struct tern_addr tern_stack_addr(const struct tern_stack *st);

/* One IP datagram (no link header) arrives at `now`. Malformed input is dropped and
 * counted, never reported upward. */
void tern_stack_input(struct tern_stack *st, tern_time now, const void *pkt, size_t len);
/* The same, with what the link knows about the datagram: TERN_INPUT_CSUM_OK means
 * its transport checksum is known good or was never filled in by an offloading
 * sender on a trusted link (Linux's CHECKSUM_UNNECESSARY); tern then skips the TCP
 * checksum check. The IPv4 header checksum is checked regardless. */
#define TERN_INPUT_CSUM_OK 0x1u
/* TERN_INPUT_GSO(n): the datagram is several TCP segments of n payload bytes each
 * (the last may be shorter) that a receive offload merged, as Linux's GRO or a
 * virtio-net device with TSO receive delivers them. The stack takes it as one
 * arrival, as Linux takes such an skb: the peer's segment size is measured as n, so
 * the data is ACKed at once when it is more than one segment's worth. */
#define TERN_INPUT_GSO_SHIFT 16
#define TERN_INPUT_GSO(n) ((unsigned)(uint16_t)(n) << TERN_INPUT_GSO_SHIFT)
void tern_stack_input_flags(struct tern_stack *st, tern_time now, const void *pkt, size_t len,
			    unsigned flags);

/* Runs every timer due at `now`. */
void tern_stack_advance(struct tern_stack *st, tern_time now);

/* When the stack next wants tern_stack_advance, or TERN_TIME_NEVER. The value may be
 * early (a timer-wheel cascade) but is never late. */
tern_time tern_stack_next_deadline(const struct tern_stack *st);

/* The stack's current time: the latest `now` it has been given. */
tern_time tern_stack_now(const struct tern_stack *st);

/* Sends an ICMP echo request with `data_len` bytes of payload (a counting pattern).
 * 0, -EINVAL (bad address or size), -ENETUNREACH. */
int tern_stack_ping(struct tern_stack *st, tern_time now, const struct tern_addr *dst,
		    uint16_t id, uint16_t seq, size_t data_len);

/* Counter value. */
uint64_t tern_stack_counter(const struct tern_stack *st, enum tern_counter id);
/* Copies all counters into out[TERN_CTR_COUNT]. */
void tern_stack_counters(const struct tern_stack *st, uint64_t *out);

#ifdef __cplusplus
}
#endif
#endif
