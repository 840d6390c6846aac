/*
 * wire/ipv4.c: the IPv4 header (RFC 791 §3.1) taken apart and put together.
 *
 * The parser is the first thing a received datagram meets after the link layer;
 * it runs its checks in Linux's order (ip_rcv_core: length, version, IHL,
 * checksum, total length; then fragments) and reports the first that fails, so
 * every drop has exactly one reason and lands on the counter Linux would bump. Reassembly is not done here: a fragment is reported as such and the
 * IP layer decides (RFC 791 §3.2 makes reassembly a receiver duty; tern drops them).
 * The builder writes the 20-byte header tern sends, with no options.
 */
#include <string.h>

#include "core/util.h"
#include "tern/wire.h"
#include "wire/csum.h"
#include "wire/ipv4.h"

/* Every check in order. Out of line, so that the plain datagram's path does not
 * pay for the registers this one needs. */
static enum tern_wire_status __attribute__((noinline)) parse_full(const uint8_t *buf, size_t len,
								  struct tern_ipv4 *out)
{
	struct tern_ipv4 local;
	struct tern_ipv4 *ip = out ? out : &local;   /* filled in place: no copy */

	memset(ip, 0, sizeof(*ip));
	if (len < TERN_IPV4_HDR_LEN)
		return TERN_WIRE_IP_TOO_SHORT;

	/* The fixed part is there: copy it out so a caller logging a refusal can
	 * see what arrived. */
	wire_ipv4_read_fixed(buf, ip);
	ip->hdr_len = (uint8_t)((buf[0] & 0x0f) * 4);

	if (buf[0] >> 4 != 4)
		return TERN_WIRE_IP_BAD_VERSION;
	if (ip->hdr_len < TERN_IPV4_HDR_LEN || ip->hdr_len > len)
		return TERN_WIRE_IP_BAD_IHL;
	ip->options = ip->hdr_len > TERN_IPV4_HDR_LEN ? buf + TERN_IPV4_HDR_LEN : NULL;

	/* Summing a correct header, checksum field included, gives all ones. */
	uint16_t sum = ip->hdr_len == TERN_IPV4_HDR_LEN ? wire_csum_hdr20(buf)
							: tern_csum_fold(tern_csum_add(0, buf, ip->hdr_len));
	if (sum != 0)
		return TERN_WIRE_IP_BAD_CHECKSUM;

	if (ip->total_len > len)
		return TERN_WIRE_IP_TOTLEN_TOO_LONG;
	if (ip->total_len < ip->hdr_len)
		return TERN_WIRE_IP_TOTLEN_TOO_SHORT;
	/* From here the datagram's extent is known; describe the payload even if a
	 * later check refuses it. */
	ip->payload = buf + ip->hdr_len;
	ip->payload_len = (uint16_t)(ip->total_len - ip->hdr_len);

	/* Bytes past the total length: Ethernet pads short frames, so Linux trims
	 * them; a bare-datagram link never should have them. A status of its own, so
	 * the IP layer decides (tern drops them, see ip/ipv4.c); a caller that wants
	 * Linux's trim parses again with len = total_len to run the last check. */
	if (ip->total_len < len)
		return TERN_WIRE_IP_TOTLEN_BELOW_BUF;
	/* DF alone is fine; MF or a nonzero offset marks a piece of a larger datagram. */
	if (ip->frag & (TERN_IP_MF | TERN_IP_OFFMASK))
		return TERN_WIRE_IP_FRAGMENT;
	return TERN_WIRE_OK;
}

enum tern_wire_status tern_ipv4_parse(const uint8_t *buf, size_t len, struct tern_ipv4 *out)
{
	if (out && wire_ipv4_parse_plain(buf, len, out))
		return TERN_WIRE_OK;
	return parse_full(buf, len, out);
}

size_t tern_ipv4_build(uint8_t *buf, size_t cap, const struct tern_ipv4 *ip, uint16_t payload_len)
{
	if (cap < TERN_IPV4_HDR_LEN || payload_len > UINT16_MAX - TERN_IPV4_HDR_LEN)
		return 0;

	wire_ipv4_put_hdr20(buf, ip->tos, (uint16_t)(TERN_IPV4_HDR_LEN + payload_len), ip->id, ip->frag, ip->ttl,
			    ip->proto, ip->src, ip->dst);
	return TERN_IPV4_HDR_LEN;
}
