/*
 * tern/wire.h: IPv4, TCP and ICMP headers on the wire; checksums; the one-line
 * segment formatter in packetdrill syntax.
 *
 * Parsers never trust their input: each returns TERN_WIRE_OK or the one reason the
 * bytes are malformed, and never reads outside the buffer it was given. Builders write
 * into a caller's buffer and return the bytes written (0 if it would not fit).
 * This layer depends on nothing else in tern and never allocates.
 *
 * Governing texts: RFC 791 (IPv4), RFC 1071 (checksum), RFC 792 (ICMP), RFC 9293 §3.1
 * (TCP header), RFC 9293 §3.2 and RFC 7323 / RFC 2018 (TCP options).
 */
#ifndef TERN_WIRE_H
#define TERN_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Why a parser refused its input; TERN_WIRE_OK when it did not. */
enum tern_wire_status {
	TERN_WIRE_OK = 0,
	TERN_WIRE_IP_TOO_SHORT,         /* fewer than 20 bytes */
	TERN_WIRE_IP_BAD_VERSION,       /* version != 4 */
	TERN_WIRE_IP_BAD_IHL,           /* IHL < 5, or IHL*4 > bytes available */
	TERN_WIRE_IP_TOTLEN_TOO_LONG,   /* total length > bytes available */
	TERN_WIRE_IP_TOTLEN_TOO_SHORT,  /* total length < IHL*4 */
	TERN_WIRE_IP_TOTLEN_BELOW_BUF,  /* total length < bytes available */
	TERN_WIRE_IP_BAD_CHECKSUM,
	TERN_WIRE_IP_FRAGMENT,          /* MF set or fragment offset != 0 */
	TERN_WIRE_ICMP_TOO_SHORT,
	TERN_WIRE_ICMP_BAD_CHECKSUM,
	TERN_WIRE_TCP_TOO_SHORT,        /* fewer than 20 bytes */
	TERN_WIRE_TCP_BAD_CHECKSUM,
	TERN_WIRE_TCP_BAD_DATA_OFFSET,  /* data offset < 5 */
	TERN_WIRE_TCP_DATA_OFFSET_PAST_END,
	TERN_WIRE_TCP_BAD_OPTION_LENGTH,  /* an option's length byte is 0 or 1 */
	TERN_WIRE_TCP_OPTION_PAST_HEADER, /* an option runs past the header */
	TERN_WIRE_STATUS_COUNT
};

/* Short stable name of a status ("ip-bad-ihl"), for logs and tests. */
const char *tern_wire_status_name(enum tern_wire_status st);

/* ------------------------------------------------------------------ checksum */

/* Adds `len` bytes to a running one's-complement sum (RFC 1071). Start with 0;
 * chunks after the first must begin at an even offset of the whole. */
uint32_t tern_csum_add(uint32_t sum, const void *data, size_t len);
/* Folds a running sum to 16 bits and complements it: the value for the header. */
uint16_t tern_csum_fold(uint32_t sum);
/* The IPv4 pseudo-header's contribution (RFC 9293 §3.1): addresses in host order. */
uint32_t tern_csum_pseudo_v4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

/* ------------------------------------------------------------------ IPv4 */

#define TERN_IPPROTO_ICMP 1
#define TERN_IPPROTO_TCP  6
#define TERN_IPPROTO_UDP  17

#define TERN_IPV4_HDR_LEN 20
#define TERN_IP_DF 0x4000
#define TERN_IP_MF 0x2000
#define TERN_IP_OFFMASK 0x1fff

/* A parsed IPv4 header. Fields in host order; pointers into the parsed buffer. */
struct tern_ipv4 {
	uint8_t tos;
	uint8_t ttl;
	uint8_t proto;
	uint8_t hdr_len;       /* bytes: IHL * 4 */
	uint16_t total_len;
	uint16_t id;
	uint16_t frag;         /* flags and offset as on the wire: DF, MF, offset */
	uint16_t checksum;
	uint32_t src;
	uint32_t dst;
	const uint8_t *options;  /* hdr_len - 20 bytes of IP options, if any */
	const uint8_t *payload;
	uint16_t payload_len;
};

/* Parses and checks an IPv4 header in buf[0..len). The checks run in Linux's order
 * (ip_rcv_core): length, version, IHL, checksum, total length, then fragment. */
enum tern_wire_status tern_ipv4_parse(const uint8_t *buf, size_t len, struct tern_ipv4 *out);

/* Writes a 20-byte IPv4 header (no options) for a datagram of `payload_len` bytes,
 * checksum filled in. Uses tos, ttl, proto, id, frag, src, dst from `ip`. */
size_t tern_ipv4_build(uint8_t *buf, size_t cap, const struct tern_ipv4 *ip, uint16_t payload_len);

/* ------------------------------------------------------------------ ICMP */

#define TERN_ICMP_ECHOREPLY   0
#define TERN_ICMP_DEST_UNREACH 3
#define TERN_ICMP_ECHO        8
#define TERN_ICMP_HDR_LEN     8

struct tern_icmp {
	uint8_t type;
	uint8_t code;
	uint16_t checksum;
	uint16_t id;          /* echo identifier (bytes 4-5); meaningless for other types */
	uint16_t seq;         /* echo sequence (bytes 6-7) */
	const uint8_t *data;  /* bytes after the 8-byte header */
	uint16_t data_len;
};

/* Parses an ICMP message (the IP payload) and verifies its checksum. */
enum tern_wire_status tern_icmp_parse(const uint8_t *buf, size_t len, struct tern_icmp *out);

/* Writes an ICMP echo or echo reply (type, code, id, seq from `msg`, then
 * `msg->data_len` bytes from `msg->data`), checksum filled in. */
size_t tern_icmp_build_echo(uint8_t *buf, size_t cap, const struct tern_icmp *msg);

/* ------------------------------------------------------------------ TCP */

#define TERN_TCP_FIN 0x01
#define TERN_TCP_SYN 0x02
#define TERN_TCP_RST 0x04
#define TERN_TCP_PSH 0x08
#define TERN_TCP_ACK 0x10
#define TERN_TCP_URG 0x20
#define TERN_TCP_ECE 0x40
#define TERN_TCP_CWR 0x80

#define TERN_TCP_HDR_LEN 20
#define TERN_TCP_MAX_OPT_LEN 40

/* Option kinds (IANA). */
#define TERN_TCPOPT_EOL       0
#define TERN_TCPOPT_NOP       1
#define TERN_TCPOPT_MSS       2
#define TERN_TCPOPT_WSCALE    3
#define TERN_TCPOPT_SACK_PERM 4
#define TERN_TCPOPT_SACK      5
#define TERN_TCPOPT_TS        8

/* `present` bits of struct tern_tcp_opts. */
#define TERN_TCPOPT_HAS_MSS       0x01
#define TERN_TCPOPT_HAS_WSCALE    0x02
#define TERN_TCPOPT_HAS_SACK_PERM 0x04
#define TERN_TCPOPT_HAS_SACK      0x08
#define TERN_TCPOPT_HAS_TS        0x10

#define TERN_TCP_MAX_SACK_BLOCKS 4

struct tern_sack_block {
	uint32_t start;
	uint32_t end;
};

/* TCP options, decoded, plus the order they appeared in (which both the formatter
 * and the builder follow, so a parsed header rebuilds byte for byte). `kinds[i]` is
 * the i-th option's kind (NOP and EOL included). A known option with the wrong
 * length is kept in the order with its kind but not decoded (as Linux ignores it);
 * an unknown option is kept as its kind and length. Only kinds[]/lens[] below
 * `count` and sack[] below `sack_count` mean anything: the parser leaves the rest
 * as it found it. */
struct tern_tcp_opts {
	uint8_t present;            /* TERN_TCPOPT_HAS_* */
	uint8_t wscale;
	uint16_t mss;
	uint32_t ts_val;
	uint32_t ts_ecr;
	uint8_t sack_count;
	struct tern_sack_block sack[TERN_TCP_MAX_SACK_BLOCKS];
	uint8_t count;              /* entries used in kinds[] and lens[] */
	uint8_t kinds[TERN_TCP_MAX_OPT_LEN];
	uint8_t lens[TERN_TCP_MAX_OPT_LEN];  /* on-wire length of each (1 for NOP/EOL) */
};

/* A parsed TCP segment. Fields in host order; `payload` points into the buffer. */
struct tern_tcp {
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t hdr_len;            /* bytes: data offset * 4 */
	uint8_t flags;              /* TERN_TCP_* */
	uint8_t reserved;           /* the 4 reserved bits (normally 0) */
	uint16_t win;
	uint16_t checksum;
	uint16_t urg;
	struct tern_tcp_opts opt;
	const uint8_t *payload;
	uint32_t payload_len;
	/* Not from the header: the payload bytes of each segment when a receive
	 * offload merged several into this one (TERN_INPUT_GSO), else 0. */
	uint16_t gso_size;
};

/* Parses a TCP segment (the IP payload, `len` bytes). With `check_sum`, verifies the
 * checksum against the IPv4 pseudo-header for src/dst (host order). Order of checks
 * as Linux's tcp_v4_rcv: length, data offset, header within the segment, checksum,
 * then options. */
enum tern_wire_status tern_tcp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
				     bool check_sum, struct tern_tcp *out);

/* Writes the options listed in opt->kinds[] in that order, taking values from the
 * decoded fields; an unknown kind is written as kind, lens[i], then zero bytes. No
 * padding is added: NOPs and EOL are listed in kinds[] like any option. Returns the
 * bytes written, or 0 if they would exceed `cap` or TERN_TCP_MAX_OPT_LEN. */
size_t tern_tcp_opts_build(uint8_t *buf, size_t cap, const struct tern_tcp_opts *opt);

/* Writes a TCP header with options (from seg->opt as tern_tcp_opts_build) followed by
 * `seg->payload_len` bytes from `seg->payload`, checksum computed for src/dst. The
 * data offset is derived from the options' length, which must be a multiple of 4. */
size_t tern_tcp_build(uint8_t *buf, size_t cap, const struct tern_tcp *seg,
		      uint32_t src, uint32_t dst);
/* The same with the checksum left to an offload: the field holds the folded
 * pseudo-header sum, not complemented (Linux's CHECKSUM_PARTIAL convention, and
 * what a virtio/TUN NEEDS_CSUM packet carries). */
size_t tern_tcp_build_partial(uint8_t *buf, size_t cap, const struct tern_tcp *seg,
			      uint32_t src, uint32_t dst);

/* For a sender that lays out its own segments (TCP output writes the options and
 * copies the payload straight into place): writes the fixed 20-byte header in
 * front of `optlen` bytes of options and `payload_len` bytes of payload already at
 * buf + 20, and the checksum, complete or (`partial`) as tern_tcp_build_partial
 * leaves it. Header fields come from `seg`, its options and payload are not read.
 * Returns the segment's length, or 0 if optlen is not a whole number of words
 * within 40 or the segment would not fit the IPv4 length. */
size_t tern_tcp_finish(uint8_t *buf, const struct tern_tcp *seg, size_t optlen, size_t payload_len,
		       uint32_t src, uint32_t dst, bool partial);
/* Writes NOP, NOP, timestamp (12 bytes): the options of nearly every segment
 * after the handshake, as tern_tcp_opts_build writes that list. */
void tern_tcp_opts_put_ts(uint8_t *p, uint32_t ts_val, uint32_t ts_ecr);

/* ------------------------------------------------------------------ formatter */

/* How tern_tcp_format prints a segment. */
struct tern_tcp_fmt {
	bool relative;       /* print seq/ack (and SACK blocks) relative to the bases */
	uint32_t seq_base;   /* subtracted from seg->seq when relative (sender's ISN) */
	uint32_t ack_base;   /* subtracted from seg->ack and SACK edges (receiver's ISN) */
	bool ports;          /* prefix "sport>dport " as packetdrill's explicit ports */
	bool win;            /* print "win N" (true in logs; the runner may omit it) */
};

/* Formats one segment on one line in packetdrill syntax, e.g.
 *   S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>
 * Flags print in packetdrill's order F S R P . U E W, "-" for none; "ack N" only
 * with ACK, "urg N" only with URG. `fmt` NULL means absolute numbers with window.
 * Returns the length it would have written (like snprintf); always NUL-terminates. */
int tern_tcp_format(char *buf, size_t cap, const struct tern_tcp *seg, const struct tern_tcp_fmt *fmt);

#ifdef __cplusplus
}
#endif
#endif
