/*
 * A test application that moves a known byte stream each way over one TCP
 * connection and checks every byte it receives against the stream it expects.
 * Each direction's bytes come from a seeded generator, so a receiver can verify
 * without buffering what was sent. The app is driven by bulk_step() after every
 * simulation event, like an event loop on readiness; it never blocks.
 *
 * Lifecycle: connected (or accepted) -> send tx_total bytes -> shutdown(SHUT_WR)
 * -> read until EOF -> close(). Any error is recorded, not asserted, so a test can
 * check the outcome it expects.
 */
#ifndef TERN_TESTS_BULK_H
#define TERN_TESTS_BULK_H

#include <stdbool.h>
#include <stdint.h>

#include "tern/tern.h"
#include "tern/socket.h"

struct bulk_end {
	struct tern_stack *st;
	int fd;                 /* -1 before connect/accept and after close */
	bool connecting;        /* connect() returned EINPROGRESS, outcome pending */
	bool connected;
	bool wr_shut;
	bool eof;
	bool closed;
	int err;                /* first error seen (negative errno), 0 if none */
	uint64_t tx_total, tx_done;
	uint64_t rx_done;
	uint64_t tx_seed, rx_seed;
	uint64_t mismatches;    /* received bytes that differ from the expected stream */
	uint32_t chunk;         /* bytes per send() call */
};

/* The byte at `offset` of the stream named `seed`. */
uint8_t bulk_byte(uint64_t seed, uint64_t offset);

/* Starts a client: socket, non-blocking connect to `server`. */
void bulk_connect(struct bulk_end *e, struct tern_stack *st, const struct tern_sockaddr *server,
		  uint64_t tx_total, uint64_t tx_seed, uint64_t rx_seed);
/* Takes over an accepted descriptor. */
void bulk_accepted(struct bulk_end *e, struct tern_stack *st, int fd, uint64_t tx_total, uint64_t tx_seed,
		   uint64_t rx_seed);
/* Does whatever the socket allows now. */
void bulk_step(struct bulk_end *e);
/* True once the app closed its socket (after EOF both ways, or an error). */
static inline bool bulk_finished(const struct bulk_end *e) { return e->closed; }

#endif
