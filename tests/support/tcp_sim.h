/*
 * Helpers for TCP simulations: two tern stacks on the simulated network, a client
 * and a server, and loops that drive virtual time until a condition holds. Each
 * "app" is a small state machine advanced after every simulation step, the way an
 * event loop would run on readiness.
 */
#ifndef TERN_TESTS_TCP_SIM_H
#define TERN_TESTS_TCP_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "tern/tern.h"
#include "tern/socket.h"

struct tcp_sim {
	struct tern_sim *sim;
	struct tern_stack *client, *server;
	int client_node, server_node, link;
};

/* Creates the network: client 10.0.0.1, server 10.0.0.2, one link with `params`
 * both ways (NULL: an ideal wire with 1 ms delay). */
void tcp_sim_init(struct tcp_sim *ts, uint64_t seed, const struct tern_link_params *params);
void tcp_sim_fini(struct tcp_sim *ts);

/* Advances both stacks to the simulation's time (socket calls act at a stack's
 * own time). */
void tcp_sim_sync(struct tcp_sim *ts);

/* Runs the simulation until `done(ctx)` holds, calling `step(ctx)` after every
 * event, or until `limit` of virtual time passes. Returns whether done held. */
bool tcp_sim_run(struct tcp_sim *ts, tern_time limit, bool (*done)(void *), void (*step)(void *), void *ctx);

#endif
