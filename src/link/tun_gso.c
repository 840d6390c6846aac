/*
 * link/tun_gso.c: cutting the kernel's TSO packets into segments and gluing the
 * stack's segments into TSO packets (link/tun_gso.h), for the TUN driver.
 *
 * Split or whole. Linux's receive path meets a TSO packet from a TUN device as
 * one skb: GRO merges the segments of a real NIC the same way, and a virtio-net
 * guest with TSO receive gets the packet whole. Its TCP then acknowledges the
 * merged data as one arrival: rcv_mss is measured from gso_size, and more than one
 * segment's worth of new data is ACKed at once (__tcp_ack_snd_check), so one ACK
 * per packet instead of one per two segments. The driver does the same by default
 * (TERN_GSO_IN_WHOLE: the stack gets the packet with TERN_INPUT_GSO). Cut into its
 * segments instead, the stack sees exactly the datagrams a wire without GRO would
 * have carried, and ACKs as a Linux host without GRO does.
 *
 * Why coalesce: every write(2) to a TUN device costs a system call and a trip
 * through the kernel's receive path. With TUN_F_TSO4 the kernel takes a packet of
 * up to 64 KiB plus the size its segments had (gso_size), and its TCP receives it
 * as GRO would have merged it. The stack's output is first queued for one turn of
 * the driver's loop, and runs of segments that TSO could have produced are written
 * as one packet.
 *
 * The rules both ways are those of the kernel's software segmentation
 * (tcp_gso_segment, net/ipv4/tcp_offload.c, described here in our own words):
 * every segment carries the packet's headers; the sequence number advances by
 * gso_size per segment, the IP ID by one (no FIXEDID); FIN and PSH belong to the
 * last segment, CWR to the first; lengths and checksums are per segment. For a
 * packet with NEEDS_CSUM the TCP checksum field holds the (uncomplemented)
 * pseudo-header sum of the whole packet's addresses, protocol and TCP length, and
 * the data is to be summed from csum_start (the TCP header) on.
 *
 * Checksums are left partial both ways, as on Linux's loopback: the kernel's
 * segments reach the stack with the pseudo-header sum in their checksum field and
 * TERN_INPUT_CSUM_OK (the data never left memory, so nothing could have damaged
 * it), and the stack's segments (tx_csum_offload) reach the kernel as NEEDS_CSUM,
 * which its receive path trusts the same way. No byte of payload is summed.
 *
 * Parsing here is only what these two jobs need; the core parses every segment
 * again in full, so a datagram that is merely odd (not something these rules
 * cover) is passed through untouched and the core decides.
 */
#include "link/tun_gso.h"

#include <string.h>

#include "core/util.h"
#include "tern/wire.h"

/* ------------------------------------------------------------ vnet header */

static uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

void tern__vnet_hdr_get(const uint8_t *b, struct tern_vnet_hdr *h)
{
	h->flags = b[0];
	h->gso_type = b[1];
	h->hdr_len = get_le16(b + 2);
	h->gso_size = get_le16(b + 4);
	h->csum_start = get_le16(b + 6);
	h->csum_offset = get_le16(b + 8);
}

void tern__vnet_hdr_put(uint8_t *b, const struct tern_vnet_hdr *h)
{
	b[0] = h->flags;
	b[1] = h->gso_type;
	put_le16(b + 2, h->hdr_len);
	put_le16(b + 4, h->gso_size);
	put_le16(b + 6, h->csum_start);
	put_le16(b + 8, h->csum_offset);
}

/* ------------------------------------------------------------ a TCP/IPv4 view */

/* The fields of a whole, unfragmented TCP/IPv4 datagram these rules look at. */
struct tcp4 {
	size_t iphl, thl, plen;   /* IP header, TCP header, payload bytes */
	uint16_t id;
	uint32_t seq;
	uint8_t flags;
};

/* Offsets in the IPv4 header (RFC 791) and TCP header (RFC 9293 §3.1). */
#define IP_TOTLEN 2
#define IP_ID 4
#define IP_FRAG 6
#define IP_PROTO 9
#define IP_CSUM 10
#define IP_SRC 12
#define IP_DST 16
#define TCP_SEQ 4
#define TCP_DOFF 12
#define TCP_FLAGS 13

static bool tcp4_view(const uint8_t *p, size_t len, struct tcp4 *v)
{
	if (len < TERN_IPV4_HDR_LEN + TERN_TCP_HDR_LEN || (p[0] >> 4) != 4)
		return false;
	v->iphl = (size_t)(p[0] & 0x0f) * 4;
	if (v->iphl < TERN_IPV4_HDR_LEN || tern_get16(p + IP_TOTLEN) != len ||
	    p[IP_PROTO] != TERN_IPPROTO_TCP ||
	    (tern_get16(p + IP_FRAG) & (TERN_IP_MF | TERN_IP_OFFMASK)))
		return false;
	if (len < v->iphl + TERN_TCP_HDR_LEN)
		return false;
	const uint8_t *t = p + v->iphl;
	v->thl = (size_t)(t[TCP_DOFF] >> 4) * 4;
	if (v->thl < TERN_TCP_HDR_LEN || v->iphl + v->thl > len)
		return false;
	v->plen = len - v->iphl - v->thl;
	v->id = tern_get16(p + IP_ID);
	v->seq = tern_get32(t + TCP_SEQ);
	v->flags = t[TCP_FLAGS];
	return true;
}

static void ip_csum_set(uint8_t *ip, size_t iphl)
{
	tern_put16(ip + IP_CSUM, 0);
	tern_put16(ip + IP_CSUM, tern_csum_fold(tern_csum_add(0, ip, iphl)));
}

/* The IPv4 pseudo-header sum for a TCP segment of `tcp_len` bytes. */
static uint32_t pseudo_sum(const uint8_t *ip, size_t tcp_len)
{
	return tern_csum_pseudo_v4(tern_get32(ip + IP_SRC), tern_get32(ip + IP_DST), TERN_IPPROTO_TCP,
				   (uint16_t)tcp_len);
}

/* ------------------------------------------------------------ in: splitting */

/* Cuts a TCP/IPv4 GSO packet; see tern__gso_input. `full`: full TCP checksums,
 * else the pseudo-header sum in each segment's field. */
static int gso_split(const struct tern_vnet_hdr *vh, uint8_t *pkt, size_t len, bool full,
		     bool csum_ok, tern_gso_seg_fn fn, void *ctx)
{
	struct tcp4 v;
	uint8_t tmpl[TERN_GSO_MAX_HDRS];

	if (!tcp4_view(pkt, len, &v))
		return -TERN_GSO_BAD_PACKET;
	if (v.flags & (TERN_TCP_SYN | TERN_TCP_RST))
		return -TERN_GSO_BAD_FLAGS;
	size_t h = v.iphl + v.thl;
	size_t g = vh->gso_size;
	size_t nseg = v.plen > g ? (v.plen + g - 1) / g : 1;
	/* The headers are rebuilt from a copy: a small gso_size lets segment 1's
	 * headers overwrite the packet's own. */
	memcpy(tmpl, pkt, h);

	for (size_t k = 0; k < nseg; k++) {
		size_t off = k * g;                        /* payload offset = header position */
		size_t plen = k + 1 < nseg ? g : v.plen - off;
		uint8_t *seg = pkt + off;
		uint8_t *t = seg + v.iphl;

		if (k > 0)
			memcpy(seg, tmpl, h);
		tern_put16(seg + IP_TOTLEN, (uint16_t)(h + plen));
		tern_put16(seg + IP_ID, (uint16_t)(v.id + k));
		ip_csum_set(seg, v.iphl);

		uint8_t flags = v.flags;
		if (k > 0)
			flags &= (uint8_t)~TERN_TCP_CWR;
		if (k + 1 < nseg)
			flags &= (uint8_t)~(TERN_TCP_FIN | TERN_TCP_PSH);
		tern_put32(t + TCP_SEQ, v.seq + (uint32_t)off);
		t[TCP_FLAGS] = flags;
		uint32_t sum = pseudo_sum(seg, v.thl + plen);
		if (full) {
			tern_put16(t + TERN_GSO_TCP_CSUM_OFF, 0);
			tern_put16(t + TERN_GSO_TCP_CSUM_OFF, tern_csum_fold(tern_csum_add(sum, t, v.thl + plen)));
		} else {
			/* tern_csum_fold complements; undo that to leave the folded sum. */
			tern_put16(t + TERN_GSO_TCP_CSUM_OFF, (uint16_t)~tern_csum_fold(sum));
		}
		fn(ctx, seg, h + plen, csum_ok, 0);
	}
	return (int)nseg;
}

/* Hands a TCP/IPv4 GSO packet on whole; see tern__gso_input. `full`: a full TCP
 * checksum, else the field is left as the kernel wrote it (the pseudo-header sum
 * of the whole length). A packet of one segment is cut (to itself) instead. */
static int gso_whole(const struct tern_vnet_hdr *vh, uint8_t *pkt, size_t len, bool full,
		     bool csum_ok, tern_gso_seg_fn fn, void *ctx)
{
	struct tcp4 v;

	if (!tcp4_view(pkt, len, &v))
		return -TERN_GSO_BAD_PACKET;
	if (v.flags & (TERN_TCP_SYN | TERN_TCP_RST))
		return -TERN_GSO_BAD_FLAGS;
	if (v.plen <= vh->gso_size)
		return gso_split(vh, pkt, len, full, csum_ok, fn, ctx);
	uint8_t *t = pkt + v.iphl;
	ip_csum_set(pkt, v.iphl);
	if (full) {
		tern_put16(t + TERN_GSO_TCP_CSUM_OFF, 0);
		tern_put16(t + TERN_GSO_TCP_CSUM_OFF,
			   tern_csum_fold(tern_csum_add(pseudo_sum(pkt, v.thl + v.plen), t, v.thl + v.plen)));
	}
	fn(ctx, pkt, len, csum_ok, vh->gso_size);
	return (int)((v.plen + vh->gso_size - 1) / vh->gso_size);
}

int tern__gso_input(const struct tern_vnet_hdr *vh, uint8_t *pkt, size_t len, unsigned mode,
		    tern_gso_seg_fn fn, void *ctx)
{
	bool complete = mode & TERN_GSO_IN_COMPLETE;
	if (vh->hdr_len > len)
		return -TERN_GSO_BAD_HDR_LEN;
	bool needs_csum = vh->flags & TERN_VNET_F_NEEDS_CSUM;
	if (needs_csum && ((size_t)vh->csum_start + vh->csum_offset + 2 > len || (vh->csum_offset & 1)))
		return -TERN_GSO_BAD_CSUM;
	/* LINUX-COMPAT: a checksum left partial by the sender, or already checked,
	 * is trusted on receipt, as Linux's stack trusts CHECKSUM_PARTIAL and
	 * CHECKSUM_UNNECESSARY skbs (skb_csum_unnecessary). */
	bool trusted = vh->flags & (TERN_VNET_F_NEEDS_CSUM | TERN_VNET_F_DATA_VALID);

	if (vh->gso_type != TERN_VNET_GSO_NONE) {
		if ((vh->gso_type & (uint8_t)~TERN_VNET_GSO_ECN) != TERN_VNET_GSO_TCPV4)
			return -TERN_GSO_BAD_TYPE;
		if (vh->gso_size == 0)
			return -TERN_GSO_BAD_SIZE;
		/* Every segment's checksum field is written afresh, so what the
		 * kernel left in the packet's does not matter. */
		if (mode & TERN_GSO_IN_WHOLE)
			return gso_whole(vh, pkt, len, complete || !trusted, trusted, fn, ctx);
		return gso_split(vh, pkt, len, complete || !trusted, trusted, fn, ctx);
	}
	if (needs_csum && complete) {
		/* The field holds the pseudo-header sum; summing from csum_start over
		 * it and the rest gives what the complete checksum complements. */
		uint8_t *field = pkt + vh->csum_start + vh->csum_offset;
		uint32_t sum = tern_csum_add(0, pkt + vh->csum_start, len - vh->csum_start);
		tern_put16(field, tern_csum_fold(sum));
	}
	fn(ctx, pkt, len, trusted, 0);
	return 1;
}

void tern__gso_plain_hdr(const uint8_t *pkt, size_t len, struct tern_vnet_hdr *vh)
{
	*vh = (struct tern_vnet_hdr){ 0 };
	if (len < TERN_IPV4_HDR_LEN || (pkt[0] >> 4) != 4 || pkt[IP_PROTO] != TERN_IPPROTO_TCP ||
	    (tern_get16(pkt + IP_FRAG) & (TERN_IP_MF | TERN_IP_OFFMASK)))
		return;
	size_t iphl = (size_t)(pkt[0] & 0x0f) * 4;
	if (iphl < TERN_IPV4_HDR_LEN || iphl + TERN_TCP_HDR_LEN > len)
		return;
	vh->flags = TERN_VNET_F_NEEDS_CSUM;
	vh->csum_start = (uint16_t)iphl;
	vh->csum_offset = TERN_GSO_TCP_CSUM_OFF;
}

/* ------------------------------------------------------------ out: coalescing */

/* Whether b's headers equal a's but for the fields a segmentation changes: IP
 * total length, ID and checksum; TCP sequence number, flags and checksum. */
static bool same_headers(const uint8_t *a, const uint8_t *b, const struct tcp4 *v)
{
	const uint8_t *ta = a + v->iphl, *tb = b + v->iphl;
	return !memcmp(a, b, IP_TOTLEN) && !memcmp(a + IP_FRAG, b + IP_FRAG, IP_CSUM - IP_FRAG) &&
	       !memcmp(a + IP_SRC, b + IP_SRC, v->iphl - IP_SRC) && !memcmp(ta, tb, TCP_SEQ) &&
	       !memcmp(ta + 8, tb + 8, TCP_FLAGS - 8) &&
	       !memcmp(ta + TCP_FLAGS + 1, tb + TCP_FLAGS + 1, TERN_GSO_TCP_CSUM_OFF - TCP_FLAGS - 1) &&
	       !memcmp(ta + TERN_GSO_TCP_CSUM_OFF + 2, tb + TERN_GSO_TCP_CSUM_OFF + 2,
		       v->thl - TERN_GSO_TCP_CSUM_OFF - 2);
}

size_t tern__gso_run(const struct tern_gso_dgram *d, size_t n, size_t max_len)
{
	struct tcp4 first, prev, c;

	if (max_len > TERN_GSO_MAX_DGRAM)
		max_len = TERN_GSO_MAX_DGRAM;
	if (n < 2 || !tcp4_view(d[0].data, d[0].len, &first) || first.flags != TERN_TCP_ACK ||
	    first.plen == 0)
		return 1;
	size_t total = d[0].len;
	size_t i;
	prev = first;
	for (i = 1; i < n; i++) {
		if (!tcp4_view(d[i].data, d[i].len, &c) || c.iphl != first.iphl || c.thl != first.thl)
			break;
		if ((c.flags & (uint8_t)~TERN_TCP_PSH) != TERN_TCP_ACK || c.plen == 0 ||
		    c.plen > first.plen)
			break;
		if (c.seq != prev.seq + (uint32_t)prev.plen || c.id != (uint16_t)(first.id + i))
			break;
		if (total + c.plen > max_len || !same_headers(d[0].data, d[i].data, &first))
			break;
		total += c.plen;
		prev = c;
		/* A short segment or a PUSH ends the packet. */
		if (c.plen < first.plen || (c.flags & TERN_TCP_PSH)) {
			i++;
			break;
		}
	}
	return i;
}

size_t tern__gso_build(const struct tern_gso_dgram *d, size_t n, uint8_t *hdr,
		       struct tern_vnet_hdr *vh)
{
	struct tcp4 v, last;

	TERN_ASSERT(n >= 2);
	tcp4_view(d[0].data, d[0].len, &v);
	tcp4_view(d[n - 1].data, d[n - 1].len, &last);
	size_t h = v.iphl + v.thl;
	size_t total = h;
	for (size_t i = 0; i < n; i++)
		total += d[i].len - h;

	memcpy(hdr, d[0].data, h);
	tern_put16(hdr + IP_TOTLEN, (uint16_t)total);
	ip_csum_set(hdr, v.iphl);
	uint8_t *t = hdr + v.iphl;
	t[TCP_FLAGS] = (uint8_t)(TERN_TCP_ACK | (last.flags & TERN_TCP_PSH));
	/* tern_csum_fold complements; undo that to leave the plain folded sum. */
	tern_put16(t + TERN_GSO_TCP_CSUM_OFF, (uint16_t)~tern_csum_fold(pseudo_sum(hdr, total - v.iphl)));

	*vh = (struct tern_vnet_hdr){
		.flags = TERN_VNET_F_NEEDS_CSUM,
		.gso_type = TERN_VNET_GSO_TCPV4,
		.hdr_len = (uint16_t)h,
		.gso_size = (uint16_t)v.plen,
		.csum_start = (uint16_t)v.iphl,
		.csum_offset = TERN_GSO_TCP_CSUM_OFF,
	};
	return h;
}

void tern__gso_finish_csum(uint8_t *pkt, size_t len)
{
	struct tern_vnet_hdr vh;
	tern__gso_plain_hdr(pkt, len, &vh);
	if (!vh.flags)
		return;
	uint32_t sum = tern_csum_add(0, pkt + vh.csum_start, len - vh.csum_start);
	tern_put16(pkt + vh.csum_start + vh.csum_offset, tern_csum_fold(sum));
}
