/*
 * wire/tcp.c: the TCP header (RFC 9293 §3.1) and its options (RFC 9293 §3.2;
 * window scale and timestamps RFC 7323 §2.2 and §3.2; SACK-permitted and SACK
 * RFC 2018 §2 and §3) taken apart and put together.
 *
 * The parser sits between the IP layer and TCP input. It checks, in Linux's order
 * (tcp_v4_rcv): that the fixed header is there, that the data offset is at least 5
 * words and within the segment, the checksum over the pseudo-header (when asked),
 * and then walks the options. The option walk keeps every option, in wire order, in kinds[]/lens[]
 * (NOP and EOL included) so that the builder and the formatter can reproduce the
 * segment exactly; the known options with their expected lengths are also decoded.
 *
 * The builder is used by TCP output and by the tests' round trip: given a parsed
 * segment it writes the same bytes back.
 */
#include <string.h>

#include "core/util.h"
#include "tern/wire.h"
#include "wire/csum.h"
#include "wire/tcpparse.h"

/* On-wire lengths of the options this layer decodes. */
#define MSS_LEN WIRE_TCPOPT_MSS_LEN
#define WSCALE_LEN WIRE_TCPOPT_WSCALE_LEN
#define SACK_PERM_LEN WIRE_TCPOPT_SACK_PERM_LEN
#define TS_LEN WIRE_TCPOPT_TS_LEN
#define SACK_BASE_LEN 2 /* RFC 2018 §3: kind, length, then 8 bytes per block */
#define SACK_BLOCK_LEN 8

/* Number of SACK blocks an option of on-wire length `len` carries, or 0 when the
 * length is not 2 + 8n for n in 1..4 (such an option is kept but not decoded). */
static unsigned sack_blocks_for_len(unsigned len)
{
	if (len < SACK_BASE_LEN + SACK_BLOCK_LEN || (len - SACK_BASE_LEN) % SACK_BLOCK_LEN)
		return 0;
	unsigned n = (len - SACK_BASE_LEN) / SACK_BLOCK_LEN;
	return n <= TERN_TCP_MAX_SACK_BLOCKS ? n : 0;
}

/* Decodes one option of a known kind whose length is right; leaves the others
 * alone. LINUX-COMPAT: a known option with the wrong length is ignored rather than
 * treated as an error, as tcp_parse_options() does. When an option appears twice,
 * the later one wins, again as in Linux. */
static void decode_option(struct tern_tcp_opts *o, uint8_t kind, const uint8_t *p, unsigned len)
{
	switch (kind) {
	case TERN_TCPOPT_MSS:
		if (len == MSS_LEN) {
			o->mss = tern_get16(p + 2);
			o->present |= TERN_TCPOPT_HAS_MSS;
		}
		break;
	case TERN_TCPOPT_WSCALE:
		/* The raw shift is kept; clamping it to 14 (RFC 7323 §2.3) is TCP's job. */
		if (len == WSCALE_LEN) {
			o->wscale = p[2];
			o->present |= TERN_TCPOPT_HAS_WSCALE;
		}
		break;
	case TERN_TCPOPT_SACK_PERM:
		if (len == SACK_PERM_LEN)
			o->present |= TERN_TCPOPT_HAS_SACK_PERM;
		break;
	case TERN_TCPOPT_TS:
		if (len == TS_LEN) {
			o->ts_val = tern_get32(p + 2);
			o->ts_ecr = tern_get32(p + 6);
			o->present |= TERN_TCPOPT_HAS_TS;
		}
		break;
	case TERN_TCPOPT_SACK: {
		unsigned n = sack_blocks_for_len(len);
		if (n == 0)
			break;
		for (unsigned i = 0; i < n; i++) {
			o->sack[i].start = tern_get32(p + SACK_BASE_LEN + i * SACK_BLOCK_LEN);
			o->sack[i].end = tern_get32(p + SACK_BASE_LEN + i * SACK_BLOCK_LEN + 4);
		}
		o->sack_count = (uint8_t)n;
		o->present |= TERN_TCPOPT_HAS_SACK;
		break;
	}
	default:
		break;
	}
}

/* Walks the option bytes p[0..len) (len <= 40, so kinds[] cannot overflow: every
 * option takes at least one byte). RFC 9293 §3.2: EOL ends the list and whatever
 * follows is padding; NOP is a single byte; every other option has a length byte
 * counting kind and length. */
static enum tern_wire_status parse_options(const uint8_t *p, unsigned len, struct tern_tcp_opts *o)
{
	unsigned i = 0;

	while (i < len) {
		uint8_t kind = p[i];
		unsigned olen;

		if (kind == TERN_TCPOPT_EOL || kind == TERN_TCPOPT_NOP) {
			o->kinds[o->count] = kind;
			o->lens[o->count] = 1;
			o->count++;
			if (kind == TERN_TCPOPT_EOL)
				break;
			i++;
			continue;
		}
		if (i + 1 >= len)
			return TERN_WIRE_TCP_OPTION_PAST_HEADER; /* no room for the length byte */
		olen = p[i + 1];
		if (olen < 2)
			return TERN_WIRE_TCP_BAD_OPTION_LENGTH;
		if (olen > len - i)
			return TERN_WIRE_TCP_OPTION_PAST_HEADER;

		o->kinds[o->count] = kind;
		o->lens[o->count] = (uint8_t)olen;
		o->count++;
		decode_option(o, kind, p + i, olen);
		i += olen;
	}
	return TERN_WIRE_OK;
}

/* Every check in Linux's order. Out of line, so that the common segment's path
 * does not pay for the registers and the stack this one needs. */
static enum tern_wire_status __attribute__((noinline)) parse_full(const uint8_t *buf, size_t len, uint32_t src,
								  uint32_t dst, bool check_sum,
								  struct tern_tcp *out)
{
	struct tern_tcp local;
	struct tern_tcp *seg = out ? out : &local;   /* filled in place: no copy */
	enum tern_wire_status st = TERN_WIRE_OK;

	/* Cleared: the options a reader may look at whatever the list was. The
	 * SACK blocks past sack_count and kinds[]/lens[] past count (about 110 of the
	 * struct's bytes) are not, as nothing may read them. The fixed fields are
	 * all read from the header below, so they are cleared only when there is
	 * no header to read. */
	memset(&seg->opt, 0, offsetof(struct tern_tcp_opts, sack));
	seg->opt.count = 0;
	seg->gso_size = 0;
	if (len < TERN_TCP_HDR_LEN) {
		memset(seg, 0, offsetof(struct tern_tcp, opt));
		st = TERN_WIRE_TCP_TOO_SHORT;
		goto refused;
	}

	wire_tcp_read_fixed(buf, seg);
	seg->hdr_len = (uint8_t)((buf[12] >> 4) * 4);
	seg->reserved = buf[12] & 0x0f;

	/* Linux's order (tcp_v4_rcv): the data offset, then that the header fits,
	 * then the checksum. */
	if (seg->hdr_len < TERN_TCP_HDR_LEN) {
		st = TERN_WIRE_TCP_BAD_DATA_OFFSET;
		goto refused;
	}
	if (seg->hdr_len > len) {
		st = TERN_WIRE_TCP_DATA_OFFSET_PAST_END;
		goto refused;
	}
	if (check_sum) {
		/* The pseudo-header's length field is 16 bits; a TCP segment inside an
		 * IPv4 datagram is always shorter than that. */
		uint32_t sum = tern_csum_pseudo_v4(src, dst, TERN_IPPROTO_TCP, (uint16_t)len);
		if (len > UINT16_MAX || tern_csum_fold(tern_csum_add(sum, buf, len)) != 0) {
			st = TERN_WIRE_TCP_BAD_CHECKSUM;
			goto refused;
		}
	}
	seg->payload = buf + seg->hdr_len;
	seg->payload_len = (uint32_t)(len - seg->hdr_len);

	/* On an option error, `seg` still describes the whole header and payload and
	 * keeps the options decoded before the bad one. LINUX-COMPAT: Linux stops
	 * reading options at such a byte and keeps the segment; with this the TCP
	 * layer can choose to do the same. */
	if (!wire_tcp_parse_common_options(buf + TERN_TCP_HDR_LEN, seg->hdr_len - TERN_TCP_HDR_LEN, &seg->opt))
		st = parse_options(buf + TERN_TCP_HDR_LEN, seg->hdr_len - TERN_TCP_HDR_LEN, &seg->opt);
	return st;

refused:
	/* No extent known (or not to be trusted): no payload described. */
	seg->payload = NULL;
	seg->payload_len = 0;
	return st;
}

enum tern_wire_status tern_tcp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
				     bool check_sum, struct tern_tcp *out)
{
	if (out && wire_tcp_parse_plain(buf, len, check_sum, out))
		return TERN_WIRE_OK;
	return parse_full(buf, len, src, dst, check_sum, out);
}

/* Writes one listed option at p (room for `room` bytes). Returns the bytes
 * written, or 0 if it does not fit or cannot be written. */
static size_t build_option(uint8_t *p, size_t room, const struct tern_tcp_opts *o, unsigned i)
{
	uint8_t kind = o->kinds[i];
	unsigned len = o->lens[i];
	unsigned want = 0; /* the length a decodable option of this kind has */

	switch (kind) {
	case TERN_TCPOPT_EOL:
	case TERN_TCPOPT_NOP:
		if (room < 1)
			return 0;
		p[0] = kind;
		return 1;
	case TERN_TCPOPT_MSS:
		want = MSS_LEN;
		break;
	case TERN_TCPOPT_WSCALE:
		want = WSCALE_LEN;
		break;
	case TERN_TCPOPT_SACK_PERM:
		want = SACK_PERM_LEN;
		break;
	case TERN_TCPOPT_TS:
		want = TS_LEN;
		break;
	case TERN_TCPOPT_SACK:
		if (o->sack_count >= 1 && o->sack_count <= TERN_TCP_MAX_SACK_BLOCKS)
			want = SACK_BASE_LEN + SACK_BLOCK_LEN * o->sack_count;
		break;
	default:
		break;
	}

	/* A known kind listed with length 0 (a caller building from scratch) or with
	 * its proper length is encoded from the decoded fields. */
	if (want != 0 && (len == 0 || len == want)) {
		if (room < want)
			return 0;
		p[0] = kind;
		p[1] = (uint8_t)want;
		switch (kind) {
		case TERN_TCPOPT_MSS:
			tern_put16(p + 2, o->mss);
			break;
		case TERN_TCPOPT_WSCALE:
			p[2] = o->wscale;
			break;
		case TERN_TCPOPT_TS:
			tern_put32(p + 2, o->ts_val);
			tern_put32(p + 6, o->ts_ecr);
			break;
		case TERN_TCPOPT_SACK:
			for (unsigned b = 0; b < o->sack_count; b++) {
				tern_put32(p + SACK_BASE_LEN + b * SACK_BLOCK_LEN, o->sack[b].start);
				tern_put32(p + SACK_BASE_LEN + b * SACK_BLOCK_LEN + 4, o->sack[b].end);
			}
			break;
		default:
			break;
		}
		return want;
	}

	/* Unknown kinds and known kinds that were not decoded: kind, the recorded
	 * length, zeros (their contents were not kept). A length below 2 cannot be
	 * put on the wire. */
	if (len < 2 || room < len)
		return 0;
	p[0] = kind;
	p[1] = (uint8_t)len;
	memset(p + 2, 0, len - 2);
	return len;
}

/* The option lists parse_common_options knows, when a list asks for one of them
 * with every known kind at its proper length (or 0, "the proper length"). */
enum common_layout { LAYOUT_NONE, LAYOUT_TS, LAYOUT_SYN, LAYOUT_OTHER };

static enum common_layout common_layout(const struct tern_tcp_opts *o)
{
	const uint8_t *k = o->kinds, *l = o->lens;

	if (o->count == 0)
		return LAYOUT_NONE;
	/* NOP's listed length is never read: it is one byte whatever it says. */
	if (o->count == 3 && k[0] == TERN_TCPOPT_NOP && k[1] == TERN_TCPOPT_NOP && k[2] == TERN_TCPOPT_TS &&
	    (l[2] == 0 || l[2] == TS_LEN))
		return LAYOUT_TS;
	if (o->count == 5 && k[0] == TERN_TCPOPT_MSS && k[1] == TERN_TCPOPT_SACK_PERM && k[2] == TERN_TCPOPT_TS &&
	    k[3] == TERN_TCPOPT_NOP && k[4] == TERN_TCPOPT_WSCALE && (l[0] == 0 || l[0] == MSS_LEN) &&
	    (l[1] == 0 || l[1] == SACK_PERM_LEN) && (l[2] == 0 || l[2] == TS_LEN) &&
	    (l[4] == 0 || l[4] == WSCALE_LEN))
		return LAYOUT_SYN;
	return LAYOUT_OTHER;
}

static const uint8_t layout_len[] = { [LAYOUT_NONE] = 0, [LAYOUT_TS] = 12, [LAYOUT_SYN] = 20 };

/* Writes a common layout: the bytes build_option would write one by one. */
static void build_common(uint8_t *p, enum common_layout lay, const struct tern_tcp_opts *o)
{
	switch (lay) {
	case LAYOUT_TS:
		tern_put32(p, 0x0101080au);
		tern_put32(p + 4, o->ts_val);
		tern_put32(p + 8, o->ts_ecr);
		break;
	case LAYOUT_SYN:
		tern_put16(p, TERN_TCPOPT_MSS << 8 | MSS_LEN);
		tern_put16(p + 2, o->mss);
		tern_put32(p + 4, 0x0402080au);
		tern_put32(p + 8, o->ts_val);
		tern_put32(p + 12, o->ts_ecr);
		tern_put32(p + 16, 0x01030300u | o->wscale);
		break;
	default:
		break;
	}
}

size_t tern_tcp_opts_build(uint8_t *buf, size_t cap, const struct tern_tcp_opts *opt)
{
	size_t limit = TERN_MIN(cap, (size_t)TERN_TCP_MAX_OPT_LEN);
	size_t used = 0;

	if (opt->count > TERN_TCP_MAX_OPT_LEN)
		return 0;
	enum common_layout lay = common_layout(opt);
	if (lay != LAYOUT_OTHER) {
		if (layout_len[lay] > limit)
			return 0;
		build_common(buf, lay, opt);
		return layout_len[lay];
	}
	for (unsigned i = 0; i < opt->count; i++) {
		size_t n = build_option(buf + used, limit - used, opt, i);
		if (n == 0)
			return 0;
		used += n;
	}
	return used;
}

/* The fixed header and the checksum field, options and payload being in place:
 * what every builder ends with. */
static size_t put_header(uint8_t *buf, const struct tern_tcp *seg, size_t hdr_len, size_t total, uint32_t src,
			 uint32_t dst, bool full_sum)
{
	tern_put16(buf, seg->sport);
	tern_put16(buf + 2, seg->dport);
	tern_put32(buf + 4, seg->seq);
	tern_put32(buf + 8, seg->ack);
	buf[12] = (uint8_t)((hdr_len / 4) << 4 | (seg->reserved & 0x0f));
	buf[13] = seg->flags;
	tern_put16(buf + 14, seg->win);
	tern_put16(buf + 16, 0);
	tern_put16(buf + 18, seg->urg);

	uint32_t sum = wire_csum_pseudo_v4(src, dst, TERN_IPPROTO_TCP, (uint16_t)total);
	if (full_sum)
		tern_put16(buf + 16, wire_csum_fold(tern_csum_add(sum, buf, total)));
	else
		tern_put16(buf + 16, (uint16_t)~wire_csum_fold(sum));
	return total;
}

void tern_tcp_opts_put_ts(uint8_t *p, uint32_t ts_val, uint32_t ts_ecr)
{
	struct tern_tcp_opts o = { .ts_val = ts_val, .ts_ecr = ts_ecr };
	build_common(p, LAYOUT_TS, &o);
}

size_t tern_tcp_finish(uint8_t *buf, const struct tern_tcp *seg, size_t optlen, size_t payload_len, uint32_t src,
		       uint32_t dst, bool partial)
{
	size_t hdr_len = TERN_TCP_HDR_LEN + optlen;

	if (optlen % 4 != 0 || optlen > TERN_TCP_MAX_OPT_LEN || payload_len > UINT16_MAX - hdr_len)
		return 0;
	return put_header(buf, seg, hdr_len, hdr_len + payload_len, src, dst, !partial);
}

static size_t tcp_build(uint8_t *buf, size_t cap, const struct tern_tcp *seg, uint32_t src, uint32_t dst,
			bool full_sum)
{
	uint8_t opts[TERN_TCP_MAX_OPT_LEN];
	size_t optlen;
	/* A common layout is written straight into place once the payload has
	 * moved; any other list is built aside first, as its length is known only
	 * once built. */
	enum common_layout lay = common_layout(&seg->opt);

	if (lay != LAYOUT_OTHER) {
		optlen = layout_len[lay];
	} else {
		optlen = tern_tcp_opts_build(opts, sizeof(opts), &seg->opt);
		if (optlen == 0)
			return 0;
	}
	/* The header ends on a 32-bit boundary (RFC 9293 §3.1). After an EOL the
	 * rest of the last word is zero padding, which is how a parsed header ending
	 * in EOL rebuilds exactly; any other list must already be a whole number of
	 * words. */
	if (optlen % 4 != 0) {
		if (seg->opt.kinds[seg->opt.count - 1] != TERN_TCPOPT_EOL)
			return 0;
		size_t padded = (optlen + 3) & ~(size_t)3;
		if (padded > TERN_TCP_MAX_OPT_LEN)
			return 0;
		memset(opts + optlen, 0, padded - optlen);
		optlen = padded;
	}

	size_t hdr_len = TERN_TCP_HDR_LEN + optlen;
	if (seg->payload_len > UINT16_MAX - hdr_len || (seg->payload_len > 0 && !seg->payload))
		return 0;
	size_t total = hdr_len + seg->payload_len;
	if (total > cap)
		return 0;

	/* Payload first, with memmove: it may already sit in this buffer (a segment
	 * rebuilt in place), often exactly where it belongs (TCP output puts it there). */
	if (seg->payload_len > 0 && seg->payload != buf + hdr_len)
		memmove(buf + hdr_len, seg->payload, seg->payload_len);
	if (lay != LAYOUT_OTHER)
		build_common(buf + TERN_TCP_HDR_LEN, lay, &seg->opt);
	else
		memcpy(buf + TERN_TCP_HDR_LEN, opts, optlen);
	return put_header(buf, seg, hdr_len, total, src, dst, full_sum);
}

size_t tern_tcp_build(uint8_t *buf, size_t cap, const struct tern_tcp *seg, uint32_t src, uint32_t dst)
{
	return tcp_build(buf, cap, seg, src, dst, true);
}

size_t tern_tcp_build_partial(uint8_t *buf, size_t cap, const struct tern_tcp *seg, uint32_t src,
			      uint32_t dst)
{
	return tcp_build(buf, cap, seg, src, dst, false);
}
