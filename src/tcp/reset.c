/*
 * tcp/reset.c: resets built from an offending segment alone, for segments that
 * match no socket or that a listener refuses (RFC 9293 §3.10.7.1 and §3.5.2; spec
 * §7.1, Linux's tcp_v4_send_reset).
 *
 * The reply never answers a reset. If the segment carried an ACK, the reset takes
 * its sequence number from that ACK and carries no ACK itself; otherwise it has
 * sequence 0 and acknowledges everything the segment occupied (data, SYN, FIN),
 * with RST|ACK. Window 0, no options, DF, ID 0, the segment's TOS without the ECN
 * bits (LINUX-COMPAT: Linux reflects the TOS on its control socket).
 */
#include "ip/ip.h"
#include "tcp/sock.h"
#include "tcp/tcp.h"

void tern__tcp_send_reset(struct tern_stack *st, const struct tern_ipv4 *ip, const struct tern_tcp *seg)
{
	struct tern_tcp rst = { .sport = seg->dport, .dport = seg->sport };
	struct tern_ip_out out = {
		.src = ip->dst,
		.dst = ip->src,
		.proto = TERN_IPPROTO_TCP,
		.tos = (uint8_t)(ip->tos & ~0x03),
		.df = true,
		.id = -1,
	};

	if (seg->flags & TERN_TCP_RST)
		return;
	if (seg->flags & TERN_TCP_ACK) {
		rst.flags = TERN_TCP_RST;
		rst.seq = seg->ack;
	} else {
		rst.flags = TERN_TCP_RST | TERN_TCP_ACK;
		rst.ack = seg->seq + seg->payload_len + !!(seg->flags & TERN_TCP_SYN) +
			  !!(seg->flags & TERN_TCP_FIN);
	}

	tern__tcp_emit(st, &out, &rst);
}
