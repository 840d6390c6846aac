/*
 * ip/ip.h: the IPv4 host layer inside the stack. Input checks a datagram (RFC 791;
 * RFC 1122 §3.2.1 on what a host must discard), counts it, and hands it to ICMP or
 * TCP; output wraps what an upper layer built in the stack's transmit buffer.
 */
#ifndef TERN_IP_IP_H
#define TERN_IP_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/stack.h"
#include "tern/wire.h"
#include "wire/ipv4.h"

/* Linux's net.ipv4.ip_default_ttl. */
#define TERN_IP_DEFAULT_TTL 64

/* Where an upper layer writes its message before calling tern__ip_output. */
static inline uint8_t *tern__ip_payload_buf(struct tern_stack *st) { return st->tx + TERN_IPV4_HDR_LEN; }
#define TERN_IP_MAX_PAYLOAD (TERN_IP_MAX_DATAGRAM - TERN_IPV4_HDR_LEN)

/* How tern__ip_output fills the IP header. */
struct tern_ip_out {
	uint32_t src;        /* host order */
	uint32_t dst;
	uint8_t proto;
	uint8_t tos;
	bool df;             /* set Don't Fragment; such datagrams carry ID 0 unless `id` */
	int32_t id;          /* an explicit IP ID, or -1 to let the layer choose */
};

/* Sends the `payload_len` bytes at tern__ip_payload_buf(st) as one datagram. */
void tern__ip_output(struct tern_stack *st, const struct tern_ip_out *out, size_t payload_len);

/* Counts and hands to the link a datagram whose header is in place in the
 * transmit buffer, in front of `payload_len` bytes. TCP output writes its IP
 * header together with its own (wire/tcphdr.h) and sends with this. */
static inline void tern__ip_emit(struct tern_stack *st, size_t payload_len)
{
	tern__count(st, TERN_CTR_IpOutRequests);
	st->emit(st->emit_ctx, st->now, st->tx, TERN_IPV4_HDR_LEN + payload_len);
}

/* tern__ip_output's work once the ID and fragment field are known: the header,
 * the count, the link. */
static inline void tern__ip_send(struct tern_stack *st, uint32_t src, uint32_t dst, uint8_t proto, uint8_t tos,
				 uint16_t id, uint16_t frag, size_t payload_len)
{
	wire_ipv4_put_hdr20(st->tx, tos, (uint16_t)(TERN_IPV4_HDR_LEN + payload_len), id, frag, TERN_IP_DEFAULT_TTL,
			    proto, src, dst);
	tern__ip_emit(st, payload_len);
}

/* Upper-layer input, called by IP for a checked datagram addressed to the host. */
void tern__icmp_input(struct tern_stack *st, const struct tern_ipv4 *ip);
/* `flags`: what the link knows (TERN_INPUT_CSUM_OK, TERN_INPUT_GSO). */
void tern__tcp_input(struct tern_stack *st, const struct tern_ipv4 *ip, unsigned flags);

#endif
