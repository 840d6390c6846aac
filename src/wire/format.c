/*
 * wire/format.c: one TCP segment on one line, in the syntax packetdrill scripts use
 * (flags, seq:end(len), ack, urg, win, <options>), and the names of parser statuses.
 *
 * Used by logs, by the script runner to compare what tern sent with what a script
 * expects, and by tests. Field meanings follow RFC 9293 §3.1 and the options
 * RFC 9293 §3.2, RFC 7323 and RFC 2018.
 *
 * Notation, as packetdrill prints it: the end of the sequence range is seq plus the
 * payload length only (SYN and FIN are not counted, so a SYN reads "S 0:0(0)").
 * Relative numbers are taken modulo 2^32, so a connection whose ISN is near the top
 * of the sequence space still prints small numbers after the wrap.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>

#include "tern/wire.h"

/* An snprintf that keeps going past the end of the buffer: `len` counts what would
 * have been written, the buffer holds as much as fits, always NUL-terminated. */
struct out {
	char *buf;
	size_t cap;
	size_t len;
};

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	char *dst = NULL;
	size_t room = 0;
	int n;

	if (o->len < o->cap) {
		dst = o->buf + o->len;
		room = o->cap - o->len;
	}
	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

/* Flag letters in the order packetdrill prints them. */
static const struct {
	uint8_t bit;
	char letter;
} flag_letters[] = {
	{ TERN_TCP_FIN, 'F' }, { TERN_TCP_SYN, 'S' }, { TERN_TCP_RST, 'R' },
	{ TERN_TCP_PSH, 'P' }, { TERN_TCP_ACK, '.' }, { TERN_TCP_URG, 'U' },
	{ TERN_TCP_ECE, 'E' }, { TERN_TCP_CWR, 'W' },
};

static void put_flags(struct out *o, uint8_t flags)
{
	char s[sizeof(flag_letters) / sizeof(flag_letters[0]) + 1];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(flag_letters) / sizeof(flag_letters[0]); i++)
		if (flags & flag_letters[i].bit)
			s[n++] = flag_letters[i].letter;
	if (n == 0)
		s[n++] = '-';
	s[n] = '\0';
	put(o, "%s", s);
}

static bool is_known_kind(uint8_t kind)
{
	switch (kind) {
	case TERN_TCPOPT_EOL:
	case TERN_TCPOPT_NOP:
	case TERN_TCPOPT_MSS:
	case TERN_TCPOPT_WSCALE:
	case TERN_TCPOPT_SACK_PERM:
	case TERN_TCPOPT_SACK:
	case TERN_TCPOPT_TS:
		return true;
	default:
		return false;
	}
}

/* Prints option i of the list. A known option is shown decoded only when its
 * length is the one the parser decodes (the same test the builder makes); a
 * length of 0 stands for "the proper length" as in tern_tcp_opts_build. */
static void put_option(struct out *o, const struct tern_tcp_opts *opt, unsigned i, uint32_t ack_base)
{
	uint8_t kind = opt->kinds[i];
	unsigned len = opt->lens[i];
	unsigned sacks = opt->sack_count;

	switch (kind) {
	case TERN_TCPOPT_EOL:
		put(o, "eol");
		return;
	case TERN_TCPOPT_NOP:
		put(o, "nop");
		return;
	case TERN_TCPOPT_MSS:
		if (len == 0 || len == 4) {
			put(o, "mss %u", (unsigned)opt->mss);
			return;
		}
		break;
	case TERN_TCPOPT_WSCALE:
		if (len == 0 || len == 3) {
			put(o, "wscale %u", (unsigned)opt->wscale);
			return;
		}
		break;
	case TERN_TCPOPT_SACK_PERM:
		if (len == 0 || len == 2) {
			put(o, "sackOK");
			return;
		}
		break;
	case TERN_TCPOPT_TS:
		if (len == 0 || len == 10) {
			put(o, "TS val %lu ecr %lu", (unsigned long)opt->ts_val,
			    (unsigned long)opt->ts_ecr);
			return;
		}
		break;
	case TERN_TCPOPT_SACK:
		if (sacks >= 1 && sacks <= TERN_TCP_MAX_SACK_BLOCKS && (len == 0 || len == 2 + 8 * sacks)) {
			put(o, "sack");
			for (unsigned b = 0; b < sacks; b++)
				put(o, " %lu:%lu", (unsigned long)(uint32_t)(opt->sack[b].start - ack_base),
				    (unsigned long)(uint32_t)(opt->sack[b].end - ack_base));
			return;
		}
		break;
	default:
		break;
	}
	/* Not decodable: say what it is rather than guess. */
	put(o, "%s %u len %u", is_known_kind(kind) ? "malformed-kind" : "unknown-kind",
	    (unsigned)kind, len);
}

int tern_tcp_format(char *buf, size_t cap, const struct tern_tcp *seg, const struct tern_tcp_fmt *fmt)
{
	struct out o = { buf, cap, 0 };
	bool relative = fmt && fmt->relative;
	uint32_t seq_base = relative ? fmt->seq_base : 0;
	uint32_t ack_base = relative ? fmt->ack_base : 0;
	bool show_win = fmt == NULL || fmt->win;

	if (cap > 0)
		buf[0] = '\0';

	if (fmt && fmt->ports)
		put(&o, "%u>%u ", (unsigned)seg->sport, (unsigned)seg->dport);
	put_flags(&o, seg->flags);

	uint32_t seq = seg->seq - seq_base;
	put(&o, " %lu:%lu(%lu)", (unsigned long)seq, (unsigned long)(uint32_t)(seq + seg->payload_len),
	    (unsigned long)seg->payload_len);
	if (seg->flags & TERN_TCP_ACK)
		put(&o, " ack %lu", (unsigned long)(uint32_t)(seg->ack - ack_base));
	if (seg->flags & TERN_TCP_URG)
		put(&o, " urg %u", (unsigned)seg->urg);
	if (show_win)
		put(&o, " win %u", (unsigned)seg->win);

	/* A hand-made struct may claim more entries than the arrays hold. */
	unsigned count = seg->opt.count;
	if (count > TERN_TCP_MAX_OPT_LEN)
		count = TERN_TCP_MAX_OPT_LEN;
	if (count > 0) {
		put(&o, " <");
		for (unsigned i = 0; i < count; i++) {
			if (i > 0)
				put(&o, ",");
			put_option(&o, &seg->opt, i, ack_base);
		}
		put(&o, ">");
	}

	return o.len > (size_t)INT_MAX ? INT_MAX : (int)o.len;
}

static const char *const status_names[TERN_WIRE_STATUS_COUNT] = {
	[TERN_WIRE_OK] = "ok",
	[TERN_WIRE_IP_TOO_SHORT] = "ip-too-short",
	[TERN_WIRE_IP_BAD_VERSION] = "ip-bad-version",
	[TERN_WIRE_IP_BAD_IHL] = "ip-bad-ihl",
	[TERN_WIRE_IP_TOTLEN_TOO_LONG] = "ip-totlen-too-long",
	[TERN_WIRE_IP_TOTLEN_TOO_SHORT] = "ip-totlen-too-short",
	[TERN_WIRE_IP_TOTLEN_BELOW_BUF] = "ip-totlen-below-buf",
	[TERN_WIRE_IP_BAD_CHECKSUM] = "ip-bad-checksum",
	[TERN_WIRE_IP_FRAGMENT] = "ip-fragment",
	[TERN_WIRE_ICMP_TOO_SHORT] = "icmp-too-short",
	[TERN_WIRE_ICMP_BAD_CHECKSUM] = "icmp-bad-checksum",
	[TERN_WIRE_TCP_TOO_SHORT] = "tcp-too-short",
	[TERN_WIRE_TCP_BAD_CHECKSUM] = "tcp-bad-checksum",
	[TERN_WIRE_TCP_BAD_DATA_OFFSET] = "tcp-bad-data-offset",
	[TERN_WIRE_TCP_DATA_OFFSET_PAST_END] = "tcp-data-offset-past-end",
	[TERN_WIRE_TCP_BAD_OPTION_LENGTH] = "tcp-bad-option-length",
	[TERN_WIRE_TCP_OPTION_PAST_HEADER] = "tcp-option-past-header",
};

const char *tern_wire_status_name(enum tern_wire_status st)
{
	if ((unsigned)st >= TERN_WIRE_STATUS_COUNT || status_names[st] == NULL)
		return "invalid-status";
	return status_names[st];
}
