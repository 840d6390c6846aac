/*
 * tcp/ports.h: connect()'s ephemeral port, with the 4-tuple's hash.
 */
#ifndef TERN_TCP_PORTS_H
#define TERN_TCP_PORTS_H

#include "tcp/sock.h"

/* Picks connect()'s local port (or checks the bound one's 4-tuple) as
 * tern__port_connect would, and leaves in *hash the tern__tuple_hash of the
 * 4-tuple it settled on: the connection hash insert that follows needs that same
 * value, and computing it again cost about 45 instructions a connect. */
int tern__port_connect_hashed(struct tern_stack *st, struct tern_sock *sk, uint32_t raddr, uint16_t rport,
			      struct tern_tw_reuse *reuse, uint32_t *hash);

#endif
