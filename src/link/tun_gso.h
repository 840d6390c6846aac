/*
 * link/tun_gso.h: the packet arithmetic behind the TUN driver's offloads
 * (src/link/tun_linux.c), kept apart from the device so that it can be tested
 * without one (tests/unit/test_tun_gso.c). Nothing here touches the OS.
 *
 * With IFF_VNET_HDR every read from and write to a TUN device starts with a
 * virtio-net header (the legacy 10-byte struct virtio_net_hdr of
 * linux/virtio_net.h). The driver asks for it in little-endian order
 * (TUNSETVNETLE), so these helpers read and write it byte by byte the same way on
 * every host.
 *
 * In: tern__gso_input turns what the kernel hands the device into the datagrams
 * tern_stack_input_flags takes: a TCP/IPv4 GSO packet (up to 64 KiB) cut into
 * gso_size segments or passed whole with its gso_size (GRO), anything else
 * unchanged, and says which of them have a checksum the stack may trust without
 * summing the data (TERN_INPUT_CSUM_OK).
 * Checksums the kernel left undone (NEEDS_CSUM: its data never left memory, as
 * on loopback) stay undone unless asked for.
 *
 * Out: tern__gso_run finds how many consecutive datagrams of the stack's output
 * the kernel could take as one TSO packet, and tern__gso_build writes the headers
 * of that packet (and its vnet header); the payloads follow the headers as they
 * are, so the driver can write the whole packet with one writev and no copy.
 */
#ifndef TERN_LINK_TUN_GSO_H
#define TERN_LINK_TUN_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* struct virtio_net_hdr: flags, gso_type, then four 16-bit fields. */
#define TERN_VNET_HDR_LEN 10
#define TERN_VNET_F_NEEDS_CSUM 0x01   /* csum_start/csum_offset say what is left to sum */
#define TERN_VNET_F_DATA_VALID 0x02   /* the checksum was checked already */
#define TERN_VNET_GSO_NONE 0
#define TERN_VNET_GSO_TCPV4 1
#define TERN_VNET_GSO_ECN 0x80        /* or-ed into gso_type: CWR on the first segment */

/* The largest datagram an IPv4 header can describe, so the largest TSO packet. */
#define TERN_GSO_MAX_DGRAM 65535
/* Offset of the checksum field in a TCP header (RFC 9293 §3.1). */
#define TERN_GSO_TCP_CSUM_OFF 16
/* Room for the headers of one segment: the largest IPv4 plus the largest TCP header. */
#define TERN_GSO_MAX_HDRS 120

/* A vnet header in host order. */
struct tern_vnet_hdr {
	uint8_t flags;         /* TERN_VNET_F_* */
	uint8_t gso_type;      /* TERN_VNET_GSO_* */
	uint16_t hdr_len;      /* bytes of headers before the payload */
	uint16_t gso_size;     /* payload bytes per segment */
	uint16_t csum_start;   /* where the sum to complete starts */
	uint16_t csum_offset;  /* where the result goes, from csum_start */
};

void tern__vnet_hdr_get(const uint8_t *b, struct tern_vnet_hdr *h);  /* b: 10 bytes, LE */
void tern__vnet_hdr_put(uint8_t *b, const struct tern_vnet_hdr *h);

/* Why tern__gso_input refused a datagram (the driver counts them all as one). */
enum tern_gso_status {
	TERN_GSO_OK = 0,
	TERN_GSO_BAD_TYPE,       /* a gso_type other than NONE and TCPV4(+ECN) */
	TERN_GSO_BAD_SIZE,       /* gso_size 0 in a GSO packet */
	TERN_GSO_BAD_HDR_LEN,    /* hdr_len beyond the datagram */
	TERN_GSO_BAD_CSUM,       /* NEEDS_CSUM with offsets beyond the datagram, or odd */
	TERN_GSO_BAD_PACKET,     /* a GSO packet that is not one whole TCP/IPv4 datagram */
	TERN_GSO_BAD_FLAGS,      /* a GSO packet with SYN or RST */
};

/* Receives one datagram for the stack; valid only during the call. `csum_ok`:
 * its TCP checksum need not be checked (TERN_INPUT_CSUM_OK). `gso_size`: 0 for a
 * single segment; for a GSO packet handed whole (TERN_GSO_IN_WHOLE), the payload
 * bytes of each segment it stands for (TERN_INPUT_GSO). */
typedef void (*tern_gso_seg_fn)(void *ctx, const uint8_t *pkt, size_t len, bool csum_ok,
				uint16_t gso_size);

/* How tern__gso_input hands datagrams on (or-ed). */
#define TERN_GSO_IN_COMPLETE 0x1u  /* full TCP checksums, as a wire would carry them */
#define TERN_GSO_IN_WHOLE 0x2u     /* a GSO packet goes on as one datagram (GRO) */

/* Hands to `fn`, in order, the datagrams the stack should see for one read from
 * the device: `vh` its vnet header, pkt[0..len) the datagram after it. Returns how
 * many segments they stand for (at least 1), or -TERN_GSO_* without handing any.
 *
 * A GSO packet is cut in place unless `mode` has TERN_GSO_IN_WHOLE: segment k is
 * rebuilt over the tail of segment k-1 once `fn` has returned, so `pkt` is scratch
 * afterwards. Each segment gets the packet's headers with its own IP total length,
 * IP ID (the packet's + k), header checksum and sequence number (+ k * gso_size);
 * FIN and PSH stay on the last segment only and CWR on the first only, as the
 * kernel's own segmentation (tcp_gso_segment) leaves them.
 *
 * With TERN_GSO_IN_WHOLE a GSO packet of more than one segment is checked the same
 * way but handed on in one piece with its gso_size, as Linux's receive path sees
 * what GRO merged or what a virtio-net guest with TSO receive gets: one datagram of
 * up to 64 KiB, its headers those of the first segment but for the total length,
 * and FIN/PSH of the last.
 *
 * Checksums. A datagram the kernel marked NEEDS_CSUM (every TCP segment it sends
 * through a device with TUN_F_CSUM) or DATA_VALID is trusted: csum_ok. Its TCP
 * checksum field holds the pseudo-header sum (Linux's CHECKSUM_PARTIAL), and so
 * does each segment cut from it, for its own length. With TERN_GSO_IN_COMPLETE the
 * sum is finished instead (full TCP checksums, NEEDS_CSUM completed in place), for
 * a consumer that wants datagrams exactly as a wire would carry them. A GSO packet
 * marked neither gets full checksums and csum_ok false; other datagrams marked
 * neither pass untouched, csum_ok false. The IPv4 header checksum of whatever is
 * handed on is always right. */
int tern__gso_input(const struct tern_vnet_hdr *vh, uint8_t *pkt, size_t len, unsigned mode,
		    tern_gso_seg_fn fn, void *ctx);

/* The vnet header for one datagram of a stack that leaves TCP checksums partial
 * (tern_stack_config.tx_csum_offload): NEEDS_CSUM at the TCP checksum for an
 * unfragmented TCP/IPv4 datagram, all zero (nothing to do) for anything else. */
void tern__gso_plain_hdr(const uint8_t *pkt, size_t len, struct tern_vnet_hdr *vh);

/* Finishes a TCP checksum left partial (the field holding the pseudo-header sum)
 * in an unfragmented TCP/IPv4 datagram, in place; anything else is left alone.
 * For captures, which should show datagrams as a wire carries them. */
void tern__gso_finish_csum(uint8_t *pkt, size_t len);

/* One datagram of the stack's output. */
struct tern_gso_dgram {
	const uint8_t *data;
	size_t len;
};

/* How many datagrams from d[0] on (n > 0) make one TSO packet of at most `max_len`
 * bytes: 1 when d[0] goes alone. They must be TCP/IPv4 segments of one flow with
 * contiguous sequence numbers and consecutive IP IDs, identical IP and TCP headers
 * otherwise (ack, window, options byte for byte), ACK alone as flags but for PSH on
 * the last, and each as much payload as the first except a shorter last one. */
size_t tern__gso_run(const struct tern_gso_dgram *d, size_t n, size_t max_len);

/* For a run d[0..n) (n >= 2) from tern__gso_run: writes the TSO packet's headers
 * to hdr (at least TERN_GSO_MAX_HDRS bytes) and its vnet header to *vh; returns the
 * headers' length H. The packet is hdr[0..H) followed by the payload of each
 * datagram in order (d[i].data + H .. d[i].len). Its IP total length and header
 * checksum are the packet's, PSH is the last segment's, and the TCP checksum field
 * holds the pseudo-header sum for the whole length, not complemented, which is
 * what the kernel expects of a NEEDS_CSUM packet (it adds each segment's bytes).
 * The segments' own checksum fields are ignored: full or partial, it is the same. */
size_t tern__gso_build(const struct tern_gso_dgram *d, size_t n, uint8_t *hdr,
		       struct tern_vnet_hdr *vh);

#endif
