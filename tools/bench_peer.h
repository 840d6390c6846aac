/*
 * tools/bench_peer.h: a stateless TCP client on the simulated network, for the
 * benchmarks that need very many connections to a tern stack without paying for
 * a second stack (tools/bench_memory.c, tools/bench_scale.c).
 *
 * The peer is a raw endpoint (tern_sim_add_endpoint). It sends SYNs with Linux's
 * usual options (MSS, SACK permitted, timestamps, window scale), answers every
 * SYN-ACK with the ACK that completes the handshake, and, when asked, answers a
 * FIN with FIN+ACK so that the tern side ends in TIME-WAIT; muted, it answers
 * nothing and the handshakes stay half-open. It keeps no state per connection:
 * every reply is computed from the segment it answers, so a million connections
 * cost the peer nothing and the heap the benchmarks measure is the tern stack's
 * alone.
 */
#ifndef TERN_TOOLS_BENCH_PEER_H
#define TERN_TOOLS_BENCH_PEER_H

#include <stdbool.h>
#include <stdint.h>

struct tern_sim;

struct bench_peer {
	struct tern_sim *sim;
	int node;                 /* the endpoint's node id */
	uint32_t addr;            /* the address it owns, host order */
	bool answer_fin;          /* a FIN gets FIN+ACK (the tern side closed first) */
	bool mute;                /* answers nothing: handshakes stay half-open */
	uint64_t synacks;         /* handshakes completed (ACKs sent) */
	uint64_t fins;            /* FINs answered */
	uint64_t resets;          /* RSTs received */
	uint64_t send_errors;     /* tern_sim_inject refused a datagram */
};

/* Adds the endpoint owning `addr` (host order) to `sim`. 0 or a negative errno. */
int bench_peer_add(struct bench_peer *p, struct tern_sim *sim, uint32_t addr);

/* Sends one SYN from src:sport to dst:dport (addresses in host order). The source
 * need not be the peer's own address when the tern stack's replies reach the peer
 * anyway (its only link). 0 or a negative errno. */
int bench_peer_syn(struct bench_peer *p, uint32_t src, uint16_t sport, uint32_t dst,
		   uint16_t dport);

/* Parses a positive count with an optional k/M/G suffix ("10M"); -1 if it is not
 * one, so that a bad argument is an error rather than a default. */
long long bench_parse_count(const char *text);

#endif
