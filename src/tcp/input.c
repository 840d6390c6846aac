/*
 * tcp/input.c: where every TCP segment enters (tern__tcp_input, called by IP).
 *
 * Checks follow Linux's tcp_v4_rcv: the segment is counted (InSegs), its header and
 * checksum are verified (RFC 9293 §3.1: a bad checksum means discard), then it is
 * matched to a socket. Without a socket the segment is answered with a reset
 * (RFC 9293 §3.10.7.1; spec §7.1).
 */
#include "ip/ip.h"
#include "tcp/tcp.h"

/* Counters for each way the header can be refused: Linux's MIB and ours. Linux
 * counts InErrs only for a bad data offset and a bad checksum; a segment too short
 * for its header is dropped uncounted there. Linux stops parsing options at a bad
 * option length instead of dropping the segment. */
static void count_refusal(struct tern_stack *st, enum tern_wire_status why)
{
	switch (why) {
	case TERN_WIRE_TCP_TOO_SHORT:
		tern__count(st, TERN_CTR_TernTcpTooShort);
		break;
	case TERN_WIRE_TCP_BAD_CHECKSUM:
		tern__count(st, TERN_CTR_TcpInCsumErrors);
		tern__count(st, TERN_CTR_TcpInErrs);
		tern__count(st, TERN_CTR_TernTcpBadChecksum);
		break;
	case TERN_WIRE_TCP_BAD_DATA_OFFSET:
		tern__count(st, TERN_CTR_TcpInErrs);
		tern__count(st, TERN_CTR_TernTcpBadDataOffset);
		break;
	case TERN_WIRE_TCP_DATA_OFFSET_PAST_END:
		tern__count(st, TERN_CTR_TernTcpDataOffsetPastEnd);
		break;
	case TERN_WIRE_TCP_BAD_OPTION_LENGTH:
		tern__count(st, TERN_CTR_TernTcpBadOptionLength);
		break;
	case TERN_WIRE_TCP_OPTION_PAST_HEADER:
		tern__count(st, TERN_CTR_TernTcpOptionPastHeader);
		break;
	default:
		TERN_ASSERT(!"not a TCP parse status");
		break;
	}
}

void tern__tcp_input(struct tern_stack *st, const struct tern_ipv4 *ip)
{
	struct tern_tcp seg;
	enum tern_wire_status why;

	tern__count(st, TERN_CTR_TcpInSegs);
	why = tern_tcp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, true, &seg);
	if (why != TERN_WIRE_OK) {
		/* DEVIATION: a bad option length drops the segment here, where Linux would
		 * stop parsing options and carry on: a header that lies about its own
		 * layout is not worth acting on. */
		count_refusal(st, why);
		return;
	}

	/* No socket matches any segment yet: answer as for a closed port. */
	tern__count(st, TERN_CTR_TernTcpNoListener);
	tern__tcp_send_reset(st, ip, &seg);
}
