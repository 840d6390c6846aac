/*
 * ip/ipv4.c: IPv4 input and output for the host's own addresses (RFC 791, RFC 1122
 * §3.2.1). This is tern_stack_input, the entry point of every datagram.
 *
 * Input checks run in Linux's order (ip_rcv_core, then routing): header length,
 * version and IHL, checksum, total length, then fragments, source and destination.
 * Every refusal bumps Linux's MIB counter where Linux has one, plus tern's own
 * counter for the exact reason, and the datagram is dropped: the packet path never
 * fails upward (DESIGN.md §5). tern does not forward and does not reassemble.
 */
#include <string.h>

#include "ip/ip.h"
#include "wire/ipv4.h"

/* Counters for each way a header can be refused: Linux's MIB (or none), and ours. */
struct ip_refusal {
	int linux_ctr;   /* -1 when Linux counts nothing beyond InReceives */
	int linux_ctr2;  /* a second Linux counter Linux bumps for the same event, or -1 */
	enum tern_counter tern_ctr;
};

static const struct ip_refusal ip_refusals[TERN_WIRE_STATUS_COUNT] = {
	[TERN_WIRE_IP_TOO_SHORT] = { TERN_CTR_IpInHdrErrors, -1, TERN_CTR_TernIpTooShort },
	[TERN_WIRE_IP_BAD_VERSION] = { TERN_CTR_IpInHdrErrors, -1, TERN_CTR_TernIpBadVersion },
	[TERN_WIRE_IP_BAD_IHL] = { TERN_CTR_IpInHdrErrors, -1, TERN_CTR_TernIpBadIhl },
	[TERN_WIRE_IP_BAD_CHECKSUM] = { TERN_CTR_IpExtInCsumErrors, TERN_CTR_IpInHdrErrors,
					TERN_CTR_TernIpBadChecksum },
	[TERN_WIRE_IP_TOTLEN_TOO_LONG] = { TERN_CTR_IpExtInTruncatedPkts, -1, TERN_CTR_TernIpTotLenTooLong },
	[TERN_WIRE_IP_TOTLEN_TOO_SHORT] = { TERN_CTR_IpInHdrErrors, -1, TERN_CTR_TernIpTotLenTooShort },
	/* DEVIATION: Linux trims bytes past the total length (Ethernet pads short
	 * frames). tern's links carry bare datagrams (TUN, the simulator), where such
	 * bytes can only come from a broken or hostile sender, so it drops them. */
	[TERN_WIRE_IP_TOTLEN_BELOW_BUF] = { TERN_CTR_IpInHdrErrors, -1, TERN_CTR_TernIpTotLenBelowBuf },
	/* DEVIATION: Linux reassembles fragments; tern counts them as a failed
	 * reassembly and drops them. TCP never needs fragments: it sets DF. */
	[TERN_WIRE_IP_FRAGMENT] = { TERN_CTR_IpReasmReqds, TERN_CTR_IpReasmFails, TERN_CTR_TernIpFragment },
};

static void count_refusal(struct tern_stack *st, enum tern_wire_status why)
{
	const struct ip_refusal *r = &ip_refusals[why];

	TERN_ASSERT(r->tern_ctr != 0);
	if (r->linux_ctr >= 0)
		tern__count(st, (enum tern_counter)r->linux_ctr);
	if (r->linux_ctr2 >= 0)
		tern__count(st, (enum tern_counter)r->linux_ctr2);
	tern__count(st, r->tern_ctr);
}

/* Linux refuses these as "martian" sources (ip_route_input_slow): zero network,
 * limited broadcast, multicast, loopback arriving for a non-loopback address, and
 * (fib_validate_source) one of the host's own addresses arriving from the wire.
 * LINUX-COMPAT: the last is net.ipv4.conf.all.accept_local=0, Linux's default; it
 * also keeps a forged "land" segment (source = destination) from reaching TCP. */
static bool martian_source(const struct tern_stack *st, uint32_t src, uint32_t dst)
{
	uint8_t top = (uint8_t)(src >> 24);

	/* One comparison clears the common source: 1 to 223 in the top byte is
	 * neither zero network, multicast nor limited broadcast; another, on the
	 * whole address as well, that it is not loopback. */
	if (src - 0x01000000u >= 0xdf000000u && (top == 0 || src == 0xffffffffu || (top & 0xf0) == 0xe0))
		return true;
	if (src - 0x7f000000u < 0x01000000u)
		return (uint8_t)(dst >> 24) != 127;
	return tern__stack_owns_v4(st, src);
}

void tern_stack_input(struct tern_stack *st, tern_time now, const void *pkt, size_t len)
{
	tern_stack_input_flags(st, now, pkt, len, 0);
}

void tern_stack_input_flags(struct tern_stack *st, tern_time now, const void *pkt, size_t len,
			    unsigned flags)
{
	struct tern_ipv4 ip;
	enum tern_wire_status why;

	tern__stack_set_time(st, now);
	tern__count(st, TERN_CTR_IpInReceives);

	/* The plain datagram's parse inline; anything else the full one names. */
	why = wire_ipv4_parse_plain(pkt, len, &ip) ? TERN_WIRE_OK : tern_ipv4_parse(pkt, len, &ip);
	if (why != TERN_WIRE_OK) {
		count_refusal(st, why);
		return;
	}
	if (martian_source(st, ip.src, ip.dst)) {
		tern__count(st, TERN_CTR_TernIpBadSource);
		return;
	}
	if (!tern__stack_owns_v4(st, ip.dst)) {
		/* Not ours and tern does not forward (Linux with ip_forward=0). */
		tern__count(st, TERN_CTR_IpInAddrErrors);
		tern__count(st, TERN_CTR_TernIpNotForUs);
		return;
	}

	/* TCP first: nearly every datagram is a segment. */
	if (ip.proto == TERN_IPPROTO_TCP) {
		tern__count(st, TERN_CTR_IpInDelivers);
		tern__tcp_input(st, &ip, flags);
		return;
	}
	switch (ip.proto) {
	case TERN_IPPROTO_ICMP:
		tern__count(st, TERN_CTR_IpInDelivers);
		tern__icmp_input(st, &ip);
		break;
	default:
		tern__count(st, TERN_CTR_IpInUnknownProtos);
		tern__count(st, TERN_CTR_TernIpUnknownProto);
		break;
	}
}

void tern__ip_output(struct tern_stack *st, const struct tern_ip_out *out, size_t payload_len)
{
	uint16_t id = 0;

	TERN_ASSERT(payload_len <= TERN_IP_MAX_PAYLOAD);
	/* LINUX-COMPAT: a DF datagram from no connected socket carries ID 0
	 * (ip_select_ident_segs); others take the next value of a per-stack counter. */
	if (out->id >= 0)
		id = (uint16_t)out->id;
	else if (!out->df)
		id = st->ip_id++;
	tern__ip_send(st, out->src, out->dst, out->proto, out->tos, id, out->df ? TERN_IP_DF : 0, payload_len);
}
