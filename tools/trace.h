/*
 * tools/trace.h: one-line descriptions of datagrams for live traces: time,
 * endpoints, then the TCP segment in packetdrill syntax with sequence numbers
 * relative to each side's ISN (learnt from its SYN), as scripts write them.
 */
#ifndef TERN_TOOLS_TRACE_H
#define TERN_TOOLS_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "tern/types.h"

#define TERN_TRACE_FLOWS 64

struct tern_trace_flow {
	uint32_t addr[2];
	uint16_t port[2];
	uint32_t isn[2];
	uint8_t known[2];
};

struct tern_trace {
	struct tern_trace_flow flows[TERN_TRACE_FLOWS];
	unsigned nflows;
};

void tern_trace_init(struct tern_trace *tr);
/* Writes one line (no newline) describing `pkt`; returns its length, or 0 for a
 * datagram that is not IPv4 (it is then described as such). */
int tern_trace_line(struct tern_trace *tr, tern_time now, const uint8_t *pkt, size_t len, char *buf, size_t cap);

#endif
