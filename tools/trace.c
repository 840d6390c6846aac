/* tools/trace.h: one-line datagram descriptions with relative sequence numbers. */
#include <stdio.h>
#include <string.h>

#include "tern/tern.h"
#include "trace.h"

void tern_trace_init(struct tern_trace *tr)
{
	memset(tr, 0, sizeof(*tr));
}

/* The flow of a segment, and which side (0 or 1) sent it; a new flow replaces the
 * oldest when the table is full. */
static struct tern_trace_flow *flow_of(struct tern_trace *tr, uint32_t src, uint16_t sport, uint32_t dst,
				       uint16_t dport, int *side)
{
	for (unsigned i = 0; i < tr->nflows; i++) {
		struct tern_trace_flow *f = &tr->flows[i];
		for (int s = 0; s < 2; s++) {
			if (f->addr[s] == src && f->port[s] == sport && f->addr[!s] == dst && f->port[!s] == dport) {
				*side = s;
				return f;
			}
		}
	}
	unsigned slot = tr->nflows < TERN_TRACE_FLOWS ? tr->nflows++ : 0;
	struct tern_trace_flow *f = &tr->flows[slot];
	memset(f, 0, sizeof(*f));
	f->addr[0] = src;
	f->port[0] = sport;
	f->addr[1] = dst;
	f->port[1] = dport;
	*side = 0;
	return f;
}

int tern_trace_line(struct tern_trace *tr, tern_time now, const uint8_t *pkt, size_t len, char *buf, size_t cap)
{
	struct tern_ipv4 ip;
	struct tern_tcp seg;
	char src[TERN_ADDR_STRLEN], dst[TERN_ADDR_STRLEN], body[256];
	double t = (double)now / TERN_NS_PER_SEC;

	if (tern_ipv4_parse(pkt, len, &ip) != TERN_WIRE_OK)
		return snprintf(buf, cap, "%10.6f (not a valid IPv4 datagram, %zu bytes)", t, len);
	struct tern_addr a = { .family = TERN_AF_INET, .u.v4 = ip.src };
	struct tern_addr b = { .family = TERN_AF_INET, .u.v4 = ip.dst };
	tern_addr_format(&a, src, sizeof(src));
	tern_addr_format(&b, dst, sizeof(dst));
	if (ip.proto != TERN_IPPROTO_TCP ||
	    tern_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &seg) != TERN_WIRE_OK)
		return snprintf(buf, cap, "%10.6f %s > %s proto %u, %u bytes", t, src, dst, ip.proto, ip.payload_len);

	int side;
	struct tern_trace_flow *f = flow_of(tr, ip.src, seg.sport, ip.dst, seg.dport, &side);
	if ((seg.flags & TERN_TCP_SYN) && !f->known[side]) {
		f->isn[side] = seg.seq;
		f->known[side] = 1;
	}
	struct tern_tcp_fmt fmt = {
		.relative = f->known[side] && f->known[!side],
		.seq_base = f->isn[side],
		.ack_base = f->isn[!side],
		.win = true,
	};
	/* A SYN's numbers are absolute in packetdrill syntax; print the SYN-ACK's ack
	 * relative as soon as the other side's ISN is known. */
	if (!fmt.relative && f->known[side]) {
		fmt.relative = true;
		fmt.ack_base = f->known[!side] ? f->isn[!side] : 0;
	}
	tern_tcp_format(body, sizeof(body), &seg, &fmt);
	return snprintf(buf, cap, "%10.6f %s:%u > %s:%u  %s", t, src, seg.sport, dst, seg.dport, body);
}
