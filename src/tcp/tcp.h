/*
 * tcp/tcp.h: the TCP layer's internal interface. For now the layer has no sockets:
 * it checks each segment and answers it as Linux answers a segment for which no
 * socket exists (spec §7.1). The TCP engine (state machine, sockets, listener)
 * plugs into tern__tcp_input's socket lookup.
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
