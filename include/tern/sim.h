/*
 * tern/sim.h: a simulated IP network in virtual time.
 *
 * Nodes are tern stacks or raw endpoints (a callback that sees every datagram that
 * reaches it and may inject its own: the script runner and flood generators are
 * such endpoints). Links join two nodes; each direction has its own delay, jitter,
 * bandwidth with a finite drop-tail queue, and loss, duplication, reordering and
 * corruption rates. Every random choice comes from the simulation's seed, so a run
 * replays exactly. The driver jumps virtual time from event to event (a delivery or
 * a stack deadline): a simulated minute costs only the events in it, never a sleep.
 */
#ifndef TERN_SIM_H
#define TERN_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/stack.h"
#include "tern/types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tern_sim;

/* One direction of a link. Zero everywhere is an ideal wire: no delay, infinite
 * bandwidth, no faults. */
struct tern_link_params {
	tern_time delay;        /* one-way propagation delay, ns */
	tern_time jitter;       /* extra delay drawn uniformly from [0, jitter]; packets
				   stay in order (jitter alone never reorders) */
	uint64_t rate_bps;      /* serialisation rate in bit/s; 0 = infinite */
	uint32_t queue_bytes;   /* drop-tail limit on bytes waiting to be serialised;
				   0 = unlimited. Only meaningful with a rate. */
	double loss;            /* probability a datagram is dropped */
	double duplicate;       /* probability a datagram is delivered twice */
	double reorder;         /* probability a datagram is held back by reorder_delay,
				   so later ones overtake it */
	tern_time reorder_delay; /* 0: max(delay, 1 ms) */
	double corrupt;         /* probability one random bit of the datagram flips */
};

/* What one direction of a link did. */
struct tern_link_stats {
	uint64_t sent;          /* datagrams offered to the link */
	uint64_t delivered;     /* datagrams handed to the far node (duplicates included) */
	uint64_t lost;
	uint64_t duplicated;
	uint64_t reordered;
	uint64_t corrupted;
	uint64_t queue_drops;   /* drop-tail: the queue was full */
	uint64_t bytes_delivered;
};

/* A raw endpoint's receive hook: every datagram delivered to the node. */
typedef void (*tern_sim_rx_fn)(void *ctx, struct tern_sim *sim, int node, tern_time now,
			       const uint8_t *pkt, size_t len);

/* Creates an empty network at time 0. 0 and *out, or -ENOMEM. */
int tern_sim_create(uint64_t seed, struct tern_sim **out);
/* Destroys the network, its stacks and its in-flight packets; closes pcap taps. */
void tern_sim_destroy(struct tern_sim *sim);

/* Adds a host running a tern stack. The simulator sets cfg's emit callback and time
 * (any given are ignored). Returns the node id (>= 0) and the stack in *out, or a
 * negative errno. The stack belongs to the simulation. */
int tern_sim_add_stack(struct tern_sim *sim, const struct tern_stack_config *cfg,
		       struct tern_stack **out);
/* Adds a raw endpoint owning `addr`. Returns the node id or a negative errno. */
int tern_sim_add_endpoint(struct tern_sim *sim, const struct tern_addr *addr,
			  tern_sim_rx_fn rx, void *ctx);

/* Joins nodes a and b. `ab` governs a→b, `ba` b→a; NULL means an ideal wire.
 * Returns the link id (>= 0) or a negative errno. A node's datagram goes out on the
 * link whose far end owns the destination address, else on the node's first link. */
int tern_sim_link(struct tern_sim *sim, int a, int b, const struct tern_link_params *ab,
		  const struct tern_link_params *ba);

/* Records a link's traffic in a pcap file. TERN_SIM_TAP_SEND records each datagram
 * as it enters the link (before loss and corruption, stamped at send time), like a
 * capture on the sender; TERN_SIM_TAP_RECV records what is delivered, when it is
 * delivered. 0 or -errno. */
enum tern_sim_tap_point { TERN_SIM_TAP_SEND, TERN_SIM_TAP_RECV };
int tern_sim_tap(struct tern_sim *sim, int link, const char *path, enum tern_sim_tap_point at);

/* Hands each datagram of a link (both directions) to `fn` at the chosen point,
 * like a capture but in memory: for live traces. The bytes are valid only during
 * the call. 0 or -EINVAL. */
typedef void (*tern_sim_watch_fn)(void *ctx, tern_time now, const uint8_t *pkt, size_t len);
int tern_sim_watch(struct tern_sim *sim, int link, enum tern_sim_tap_point at, tern_sim_watch_fn fn, void *ctx);

/* A raw endpoint sends a datagram at the current time. 0 or a negative errno
 * (-EINVAL for a node that is not an endpoint or a bad size, -ENETUNREACH). */
int tern_sim_inject(struct tern_sim *sim, int node, const void *pkt, size_t len);

/* Current virtual time. */
tern_time tern_sim_now(const struct tern_sim *sim);
/* Time of the next event (delivery or stack deadline), or TERN_TIME_NEVER. */
tern_time tern_sim_next_event(const struct tern_sim *sim);
/* Moves to the next event if it is at or before `limit` and runs everything due at
 * that instant: deliveries first (in the order they were sent), then stack timers.
 * Returns false, leaving time unchanged, when there is none. */
bool tern_sim_step(struct tern_sim *sim, tern_time limit);
/* Runs every event up to and including `t`, then sets the time to `t`. */
void tern_sim_run_until(struct tern_sim *sim, tern_time t);

/* Statistics of one direction of a link: dir 0 is a→b, 1 is b→a. */
void tern_sim_link_stats(const struct tern_sim *sim, int link, int dir, struct tern_link_stats *out);
/* The stack of a node, or NULL for an endpoint. */
struct tern_stack *tern_sim_stack(const struct tern_sim *sim, int node);
/* Datagrams dropped because their node had no link at all. */
uint64_t tern_sim_unroutable(const struct tern_sim *sim);

#ifdef __cplusplus
}
#endif
#endif
