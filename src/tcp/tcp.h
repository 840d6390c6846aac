/*
 * tcp/tcp.h: what the IP layer sees of TCP: segment input, and the reset for a
 * segment no socket takes (spec §7.1). The engine itself is declared in
 * tcp/sock.h.
 */
#ifndef TERN_TCP_TCP_H
#define TERN_TCP_TCP_H

#include "core/stack.h"
#include "tern/wire.h"

struct tern_ipv4;

/* Answers `seg` (which arrived in `ip`) with a reset built from the segment alone,
 * as Linux's tcp_v4_send_reset does; never answers a reset. */
void tern__tcp_send_reset(struct tern_stack *st, const struct tern_ipv4 *ip, const struct tern_tcp *seg);

#endif
