/*
 * ip/icmp.c: ICMP for a host (RFC 792; RFC 1122 §3.2.2): answers echo requests,
 * reports echo replies to the driver (tern_stack_ping is the stack's ping), and
 * counts the rest. ICMP errors for TCP (RFC 5927, RFC 1191) arrive with the TCP
 * engine; tern does not yet send ICMP errors of its own.
 */
#include <string.h>

#include "ip/ip.h"
#include "tern/errors.h"

static void echo_reply(struct tern_stack *st, const struct tern_ipv4 *ip, const struct tern_icmp *req)
{
	struct tern_icmp rep = *req;
	struct tern_ip_out out = {
		.src = ip->dst,          /* answer from the address that was asked */
		.dst = ip->src,
		.proto = TERN_IPPROTO_ICMP,
		.tos = ip->tos,          /* RFC 1122 §3.2.2.6: the reply keeps the TOS */
		.df = false,             /* LINUX-COMPAT: Linux's ICMP socket does not set DF */
		.id = -1,
	};
	uint8_t *buf = tern__ip_payload_buf(st);

	rep.type = TERN_ICMP_ECHOREPLY;
	rep.code = 0;
	/* The request's data lives in the input buffer, never in st->tx, so building
	 * the reply cannot overwrite what it copies. */
	size_t n = tern_icmp_build_echo(buf, TERN_IP_MAX_PAYLOAD, &rep);
	if (n == 0)
		return;
	tern__count(st, TERN_CTR_IcmpOutMsgs);
	tern__count(st, TERN_CTR_IcmpOutEchoReps);
	tern__ip_output(st, &out, n);
}

void tern__icmp_input(struct tern_stack *st, const struct tern_ipv4 *ip)
{
	struct tern_icmp msg;
	enum tern_wire_status why;

	/* Linux's icmp_rcv counts the message first, then its faults. */
	tern__count(st, TERN_CTR_IcmpInMsgs);
	why = tern_icmp_parse(ip->payload, ip->payload_len, &msg);
	if (why == TERN_WIRE_ICMP_BAD_CHECKSUM) {
		tern__count(st, TERN_CTR_IcmpInCsumErrors);
		tern__count(st, TERN_CTR_IcmpInErrors);
		tern__count(st, TERN_CTR_TernIcmpBadChecksum);
		return;
	}
	if (why != TERN_WIRE_OK) {
		tern__count(st, TERN_CTR_IcmpInErrors);
		tern__count(st, TERN_CTR_TernIcmpTooShort);
		return;
	}

	switch (msg.type) {
	case TERN_ICMP_ECHO:
		tern__count(st, TERN_CTR_IcmpInEchos);
		if (msg.code == 0)
			echo_reply(st, ip, &msg);
		break;
	case TERN_ICMP_ECHOREPLY:
		tern__count(st, TERN_CTR_IcmpInEchoReps);
		if (st->echo_reply) {
			struct tern_addr from = { .family = TERN_AF_INET, .u.v4 = ip->src };
			st->echo_reply(st->echo_reply_ctx, st->now, &from, msg.id, msg.seq, msg.data_len);
		}
		break;
	case TERN_ICMP_DEST_UNREACH:
		tern__count(st, TERN_CTR_IcmpInDestUnreachs);
		break;
	default:
		tern__count(st, TERN_CTR_TernIcmpIgnoredType);
		break;
	}
}

int tern_stack_ping(struct tern_stack *st, tern_time now, const struct tern_addr *dst, uint16_t id,
		    uint16_t seq, size_t data_len)
{
	uint8_t *buf = tern__ip_payload_buf(st);
	struct tern_icmp req = { .type = TERN_ICMP_ECHO, .id = id, .seq = seq };
	struct tern_ip_out out = {
		.src = st->addrs[0].u.v4,
		.proto = TERN_IPPROTO_ICMP,
		.id = -1,
	};

	if (dst->family != TERN_AF_INET || data_len > TERN_IP_MAX_PAYLOAD - TERN_ICMP_HDR_LEN)
		return -TERN_EINVAL;
	tern__stack_set_time(st, now);
	out.dst = dst->u.v4;

	/* The data is a counting pattern, as ping's default fill is. It is written in
	 * place after the header, then the header is built over it. */
	uint8_t *data = buf + TERN_ICMP_HDR_LEN;
	for (size_t i = 0; i < data_len; i++)
		data[i] = (uint8_t)i;
	req.data = data;
	req.data_len = (uint16_t)data_len;
	size_t n = tern_icmp_build_echo(buf, TERN_IP_MAX_PAYLOAD, &req);
	if (n == 0)
		return -TERN_EINVAL;
	tern__count(st, TERN_CTR_IcmpOutMsgs);
	tern__count(st, TERN_CTR_IcmpOutEchos);
	tern__ip_output(st, &out, n);
	return 0;
}
