/*
 * tools/ladder.c: reading the input of `tern ladder` (a capture or a trace), TCP
 * segments sorted into connections, and the states each side of one connection
 * goes through.
 *
 * Two kinds of input, told apart by their first bytes:
 *
 *  - classic pcap, with the link-layer headers captures of a TUN device or of
 *    loopback carry. The reader is tern's own rather than src/link/pcap.c's
 *    because that one accepts only the LINKTYPE_RAW files tern writes, while people
 *    will also hand this tool what tcpdump or tshark recorded on an interface
 *    (Ethernet, Linux "cooked" SLL and SLL2, BSD loopback). pcapng is refused with
 *    a hint to convert it. Every length in the file is checked before it is used: a
 *    record header or body cut short is an error, a record longer than any snapshot
 *    length is corruption, and a packet whose IPv4 or TCP header does not parse
 *    (tern_ipv4_parse, tern_tcp_parse) is counted and skipped, never trusted.
 *
 *  - a text trace: the one line per datagram that `tern trace` streams and
 *    `tern demo` prints (tools/trace.c: seconds, "addr:port > addr:port", then the
 *    segment as tern_tcp_format writes it, optionally after a --wall clock time).
 *    Each line is read back into the same struct tern_tcp a pcap record gives, so
 *    the sorting, the state inference and the drawing cannot tell the two apart.
 *    The grammar is the formatter's, read strictly: a line that is anything else
 *    (a ping line, a "-- A is now ESTAB" note, a segment cut short, a line with
 *    binary bytes in it) is counted and skipped.
 *
 * States follow RFC 9293 §3.3.2 (the diagram) and §3.10.7 (segment arrival), with
 * one twist because a single capture cannot tell whether, or when, a segment
 * arrived: transitions that a receiver acknowledges at once (a SYN-ACK taking the
 * client to ESTABLISHED, a FIN taking its receiver to CLOSE-WAIT, CLOSING or
 * TIME-WAIT) are placed where that side's ACK covering the SYN or FIN shows up,
 * which is proof the segment got there. Transitions nobody answers (the ACK of
 * one's SYN or FIN, a RST) are placed at the arrival of the segment, as drawn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ladder.h"

/* Link types (tcpdump.org/linktypes.html). */
#define LT_NULL      0     /* BSD loopback: 4-byte address family, capturer's byte order */
#define LT_ETHERNET  1
#define LT_RAW       101   /* bare IP, what tern writes */
#define LT_LOOP      108   /* OpenBSD loopback: family in network order */
#define LT_SLL       113   /* Linux cooked capture ("any", TUN via tcpdump -i any) */
#define LT_IPV4      228
#define LT_SLL2      276

/* No capture tool snaps more than 256 KiB (tcpdump's MAXIMUM_SNAPLEN); a record
 * claiming more is a corrupt or misread file. */
#define LADDER_MAX_RECORD 262144u

#define ETHERTYPE_IPV4 0x0800
#define AF_INET_FAMILY 2   /* AF_INET on every system that writes these files */

struct reader {
	FILE *f;
	const char *path;
	bool swap;                 /* file written in the other byte order */
	bool nano;                 /* ns timestamps (magic 0xa1b23c4d) */
	uint64_t offset;           /* of the next byte to read, for messages */
	uint8_t *buf;
	/* The first bytes, read to tell a pcap file from text; a trace's lines are
	 * read from here before the rest of the file. */
	uint8_t head[4];
	size_t head_len, head_pos;
};

enum input_kind { INPUT_PCAP, INPUT_TRACE };

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return swap ? __builtin_bswap32(v) : v;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool linktype_known(unsigned lt)
{
	return lt == LT_NULL || lt == LT_ETHERNET || lt == LT_RAW || lt == LT_LOOP || lt == LT_SLL ||
	       lt == LT_IPV4 || lt == LT_SLL2;
}

/* Could this byte open a line of text? Printable ASCII, white space, or part of
 * a UTF-8 sequence; control characters say "binary". */
static bool text_byte(uint8_t c)
{
	return (c >= 0x20 && c != 0x7f) || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Opens path ("-" is standard input) and reads its first four bytes: a pcap magic
 * number makes it a capture, text makes it a trace, anything else is refused. */
static int open_input(struct reader *r, const char *path, enum input_kind *kind, char *err, size_t errcap)
{
	memset(r, 0, sizeof(*r));
	r->path = path;
	r->f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!r->f) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return -1;
	}
	size_t n = fread(r->head, 1, sizeof(r->head), r->f);
	if (n == 0 && ferror(r->f)) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (n == 0) {
		snprintf(err, errcap, "%s: empty file, neither a pcap capture nor a trace", path);
		return -1;
	}
	r->head_len = n;
	r->offset = n;
	if (n == sizeof(r->head)) {
		uint32_t magic = rd32(r->head, false);
		if (magic == 0x0a0d0d0a) {
			snprintf(err, errcap, "%s: pcapng is not supported; convert it with 'editcap -F pcap'", path);
			return -1;
		}
		if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d || magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
			*kind = INPUT_PCAP;
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!text_byte(r->head[i])) {
			uint32_t first = 0;
			for (size_t k = 0; k < n; k++)
				first = first << 8 | r->head[k];
			snprintf(err, errcap, "%s: neither a pcap capture nor a text trace (starts with 0x%0*x)", path,
				 (int)(2 * n), (unsigned)first);
			return -1;
		}
	}
	*kind = INPUT_TRACE;
	return 0;
}

/* The rest of a pcap file header, after the magic number open_input read. */
static int pcap_header(struct reader *r, unsigned *linktype, char *err, size_t errcap)
{
	uint8_t h[24];
	const char *path = r->path;

	memcpy(h, r->head, 4);
	uint32_t magic = rd32(h, false);
	r->swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
	r->nano = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
	size_t n = 4 + fread(h + 4, 1, sizeof(h) - 4, r->f);
	if (n < sizeof(h)) {
		snprintf(err, errcap, "%s: truncated pcap file header (%zu of 24 bytes)", path, n);
		return -1;
	}
	/* The upper bits of the link-type word carry FCS information, not the type. */
	*linktype = rd32(h + 20, r->swap) & 0xffff;
	if (!linktype_known(*linktype)) {
		snprintf(err, errcap, "%s: unsupported link type %u (raw IP, Ethernet, Linux SLL/SLL2 "
			 "and loopback are read)", path, *linktype);
		return -1;
	}
	r->offset = sizeof(h);
	r->buf = malloc(LADDER_MAX_RECORD);
	if (!r->buf) {
		snprintf(err, errcap, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

static void close_file(struct reader *r)
{
	if (r->f && r->f != stdin)
		fclose(r->f);
	free(r->buf);
	r->f = NULL;
	r->buf = NULL;
}

/* 1 and a record, 0 at a clean end of file, -1 with err set. */
static int next_record(struct reader *r, uint64_t index, tern_time *ts, const uint8_t **pkt, size_t *len,
		       char *err, size_t errcap)
{
	uint8_t h[16];

	size_t n = fread(h, 1, sizeof(h), r->f);
	if (n == 0 && feof(r->f))
		return 0;
	if (n < sizeof(h)) {
		snprintf(err, errcap, "%s: record %llu: truncated header at byte %llu", r->path,
			 (unsigned long long)index, (unsigned long long)r->offset);
		return -1;
	}
	uint32_t sec = rd32(h, r->swap), frac = rd32(h + 4, r->swap), incl = rd32(h + 8, r->swap);
	if (incl > LADDER_MAX_RECORD) {
		snprintf(err, errcap, "%s: record %llu at byte %llu claims %u bytes (corrupt file?)", r->path,
			 (unsigned long long)index, (unsigned long long)r->offset, (unsigned)incl);
		return -1;
	}
	if (fread(r->buf, 1, incl, r->f) != incl) {
		snprintf(err, errcap, "%s: record %llu: truncated, %u bytes announced at byte %llu", r->path,
			 (unsigned long long)index, (unsigned)incl, (unsigned long long)r->offset);
		return -1;
	}
	r->offset += sizeof(h) + incl;
	/* u32 seconds times 1e9 stays below 2^63: no overflow. */
	*ts = (tern_time)sec * TERN_NS_PER_SEC + (r->nano ? (tern_time)frac : (tern_time)frac * TERN_NS_PER_US);
	*pkt = r->buf;
	*len = incl;
	return 1;
}

/* Strips the link-layer header; false for anything that is not IPv4. */
static bool link_to_ipv4(unsigned lt, const uint8_t **pkt, size_t *len)
{
	const uint8_t *p = *pkt;
	size_t n = *len, off;
	uint16_t type;

	switch (lt) {
	case LT_RAW:
	case LT_IPV4:
		off = 0;
		type = ETHERTYPE_IPV4;
		break;
	case LT_ETHERNET:
		if (n < 14)
			return false;
		type = be16(p + 12);
		off = 14;
		/* 802.1Q and 802.1ad tags sit between the addresses and the type. */
		while ((type == 0x8100 || type == 0x88a8 || type == 0x9100) && n >= off + 4) {
			type = be16(p + off + 2);
			off += 4;
		}
		break;
	case LT_SLL:
		if (n < 16)
			return false;
		type = be16(p + 14);
		off = 16;
		break;
	case LT_SLL2:
		if (n < 20)
			return false;
		type = be16(p);
		off = 20;
		break;
	case LT_NULL:
	case LT_LOOP:
		if (n < 4)
			return false;
		/* LT_NULL is in the capturing host's order, which the file does not record. */
		type = (be32(p) == AF_INET_FAMILY || (lt == LT_NULL && rd32(p, false) == AF_INET_FAMILY))
			       ? ETHERTYPE_IPV4 : 0;
		off = 4;
		break;
	default:
		return false;
	}
	if (type != ETHERTYPE_IPV4 || n < off + TERN_IPV4_HDR_LEN || (p[off] >> 4) != 4)
		return false;
	p += off;
	n -= off;
	/* Ethernet pads short frames to 60 bytes; the IP total length says what is real. */
	uint16_t total = be16(p + 2);
	if (total >= TERN_IPV4_HDR_LEN && total < n)
		n = total;
	*pkt = p;
	*len = n;
	return true;
}

/* ------------------------------------------------------------ connections */

/* An open-addressed table from a 4-tuple (either direction) to the index of the
 * newest connection on it; linear probing, kept at most half full. */
struct conn_table {
	struct ladder_capture *cap;
	uint32_t *slot;            /* conn index + 1, 0 empty */
	size_t size;               /* power of two */
	size_t used;
};

static uint64_t endpoint(uint32_t addr, uint16_t port)
{
	return (uint64_t)addr << 16 | port;
}

static size_t tuple_hash(uint64_t a, uint64_t b, size_t mask)
{
	uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
	uint64_t h = (lo * 0x9e3779b97f4a7c15ull) ^ (hi + 0x632be59bd9b4e019ull + (lo << 6));
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (size_t)h & mask;
}

static bool conn_matches(const struct ladder_conn *c, uint64_t a, uint64_t b)
{
	uint64_t x = endpoint(c->addr[0], c->port[0]), y = endpoint(c->addr[1], c->port[1]);
	return (x == a && y == b) || (x == b && y == a);
}

/* The slot holding the tuple, or the empty slot where it would go. */
static size_t table_find(const struct conn_table *t, uint64_t a, uint64_t b)
{
	size_t mask = t->size - 1, i = tuple_hash(a, b, mask);
	while (t->slot[i] && !conn_matches(&t->cap->conns[t->slot[i] - 1], a, b))
		i = (i + 1) & mask;
	return i;
}

static int table_grow(struct conn_table *t)
{
	size_t old_size = t->size, nsize = old_size ? old_size * 2 : 1024;
	uint32_t *old = t->slot;
	t->slot = calloc(nsize, sizeof(*t->slot));
	if (!t->slot) {
		t->slot = old;
		return -1;
	}
	t->size = nsize;
	for (size_t i = 0; i < old_size; i++) {
		if (!old[i])
			continue;
		const struct ladder_conn *c = &t->cap->conns[old[i] - 1];
		t->slot[table_find(t, endpoint(c->addr[0], c->port[0]), endpoint(c->addr[1], c->port[1]))] = old[i];
	}
	free(old);
	return 0;
}

/* Who is the client of a connection first seen with this segment: the sender of a
 * SYN, the receiver of a SYN-ACK; mid-stream, the side with the higher port (servers
 * sit on low, well-known ports), or on a tie the sender. true: the sender. */
static bool sender_is_client(const struct tern_tcp *tcp)
{
	if (tcp->flags & TERN_TCP_SYN)
		return !(tcp->flags & TERN_TCP_ACK);
	return tcp->sport >= tcp->dport;
}

/* The connection index of this segment, creating one if needed; -1 when full or
 * out of memory (*oom set). */
static long conn_of(struct conn_table *t, uint32_t src, uint32_t dst, const struct tern_tcp *tcp,
		    tern_time ts, size_t *conn_cap, bool *oom)
{
	struct ladder_capture *cap = t->cap;
	uint64_t a = endpoint(src, tcp->sport), b = endpoint(dst, tcp->dport);
	bool fresh_syn = (tcp->flags & (TERN_TCP_SYN | TERN_TCP_ACK)) == TERN_TCP_SYN;

	size_t i = table_find(t, a, b);
	if (t->slot[i]) {
		struct ladder_conn *c = &cap->conns[t->slot[i] - 1];
		/* A new SYN on a tuple whose connection already ended is a new connection
		 * (port reuse); a resent SYN of the same one (same ISN) is not. */
		if (!(fresh_syn && c->ended && !(c->syn_seen && c->client_isn == tcp->seq)))
			return (long)t->slot[i] - 1;
	}
	if (cap->nconns >= LADDER_MAX_CONNS)
		return -1;
	if (cap->nconns == *conn_cap) {
		size_t ncap = *conn_cap ? *conn_cap * 2 : 64;
		struct ladder_conn *nc = realloc(cap->conns, ncap * sizeof(*nc));
		if (!nc) {
			*oom = true;
			return -1;
		}
		cap->conns = nc;
		*conn_cap = ncap;
	}
	struct ladder_conn *c = &cap->conns[cap->nconns];
	memset(c, 0, sizeof(*c));
	int cl = sender_is_client(tcp) ? 0 : 1;
	c->addr[cl] = src;
	c->port[cl] = tcp->sport;
	c->addr[!cl] = dst;
	c->port[!cl] = tcp->dport;
	c->first_ns = ts;
	if (!t->slot[i])
		t->used++;
	t->slot[i] = (uint32_t)++cap->nconns;
	if (t->used * 2 > t->size && table_grow(t) < 0) {
		*oom = true;
		return -1;
	}
	return (long)cap->nconns - 1;
}

/* Is this (new) connection the one asked for? */
static bool selected(const struct ladder_select *sel, const struct ladder_capture *cap, size_t idx)
{
	const struct ladder_conn *c = &cap->conns[idx];
	if (sel->list_only || cap->chosen >= 0)
		return false;
	if (sel->conn)
		return idx + 1 == sel->conn;
	if (sel->port)
		return c->port[0] == sel->port || c->port[1] == sel->port;
	return true;
}

/* What both readers share while they hand segments over. */
struct loader {
	struct ladder_capture *cap;
	const struct ladder_select *sel;
	struct conn_table t;
	size_t conn_cap, seg_cap;
	const char *path;
	char *err;
	size_t errcap;
};

/* One TCP segment read from either kind of input: counted against its
 * connection, kept if that is the chosen one. -1 (err set) when out of memory. */
static int take_segment(struct loader *ld, uint32_t src, uint32_t dst, const struct tern_tcp *tcp, tern_time ts)
{
	struct ladder_capture *cap = ld->cap;
	size_t before = cap->nconns;
	bool oom = false;
	long idx = conn_of(&ld->t, src, dst, tcp, ts, &ld->conn_cap, &oom);
	if (oom) {
		snprintf(ld->err, ld->errcap, "%s: out of memory after %llu %s", ld->path,
			 (unsigned long long)cap->records, cap->trace ? "lines" : "records");
		return -1;
	}
	if (idx < 0) {
		cap->dropped++;
		return 0;
	}
	struct ladder_conn *c = &cap->conns[idx];
	if (cap->nconns > before && selected(ld->sel, cap, (size_t)idx))
		cap->chosen = idx;
	c->packets++;
	bool from_client = src == c->addr[0] && tcp->sport == c->port[0];
	if ((tcp->flags & (TERN_TCP_SYN | TERN_TCP_ACK)) == TERN_TCP_SYN && from_client && !c->syn_seen) {
		c->syn_seen = true;
		c->client_isn = tcp->seq;
	}
	if (tcp->flags & (TERN_TCP_FIN | TERN_TCP_RST))
		c->ended = true;
	if (idx != cap->chosen)
		return 0;
	cap->total_segs++;
	if (cap->nsegs >= LADDER_MAX_SEGS)
		return 0;
	if (cap->nsegs == ld->seg_cap) {
		size_t ncap = ld->seg_cap ? ld->seg_cap * 2 : 256;
		struct ladder_seg *ns = realloc(cap->segs, ncap * sizeof(*ns));
		if (!ns) {
			snprintf(ld->err, ld->errcap, "%s: out of memory", ld->path);
			return -1;
		}
		cap->segs = ns;
		ld->seg_cap = ncap;
	}
	struct ladder_seg *s = &cap->segs[cap->nsegs++];
	memset(s, 0, sizeof(*s));
	s->t_ns = ts;
	s->from = from_client ? LADDER_CLIENT : LADDER_SERVER;
	s->tcp = *tcp;
	s->tcp.payload = NULL;   /* points into the reader's buffer; only the length is used */
	return 0;
}

static int load_pcap(struct reader *r, struct loader *ld)
{
	struct ladder_capture *cap = ld->cap;
	const uint8_t *pkt;
	size_t len;
	tern_time ts;

	if (pcap_header(r, &cap->linktype, ld->err, ld->errcap) < 0)
		return -1;
	for (;;) {
		int got = next_record(r, cap->records + 1, &ts, &pkt, &len, ld->err, ld->errcap);
		if (got <= 0)
			return got;
		if (cap->records++ == 0)
			cap->file_first_ns = ts;
		struct tern_ipv4 ip;
		struct tern_tcp tcp;
		if (!link_to_ipv4(cap->linktype, &pkt, &len))
			continue;   /* ARP, IPv6 and the like: not ours to draw */
		if (tern_ipv4_parse(pkt, len, &ip) != TERN_WIRE_OK) {
			cap->malformed++;
			continue;
		}
		if (ip.proto != TERN_IPPROTO_TCP)
			continue;
		/* Checksums are not verified: captures of outgoing packets on a device
		 * with checksum offload (loopback included) hold unfinished ones. */
		if (tern_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &tcp) != TERN_WIRE_OK) {
			cap->malformed++;
			continue;
		}
		if (take_segment(ld, ip.src, ip.dst, &tcp, ts) < 0)
			return -1;
	}
}

/* ------------------------------------------------------------ traces */

/* A trace line is read with a cursor that every helper below moves past what it
 * accepted; each returns false, the cursor wherever it stopped, on anything else. */

static bool at_space(const char *p)
{
	return *p == ' ' || *p == '\t';
}

static void skip_spaces(const char **p)
{
	while (at_space(*p))
		(*p)++;
}

/* At least one blank. */
static bool spaces(const char **p)
{
	if (!at_space(*p))
		return false;
	skip_spaces(p);
	return true;
}

static bool word(const char **p, const char *w)
{
	size_t n = strlen(w);
	if (strncmp(*p, w, n))
		return false;
	*p += n;
	return true;
}

/* A decimal number of at most `max`, no sign, no leading blanks. */
static bool number(const char **p, uint64_t max, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*v = x;
	return true;
}

static bool u32_field(const char **p, uint32_t *v)
{
	uint64_t x;
	if (!number(p, UINT32_MAX, &x))
		return false;
	*v = (uint32_t)x;
	return true;
}

/* Seconds with one to nine decimals (the trace writes six), exactly, as ns.
 * Digits past the ninth are read and dropped. Capped at a century: plenty for
 * relative trace times. */
static bool seconds(const char **p, tern_time *ns)
{
	uint64_t sec, frac = 0;
	if (!number(p, 100ull * 366 * 86400, &sec))
		return false;
	if (**p != '.')
		return false;
	(*p)++;
	int digits = 0;
	for (; **p >= '0' && **p <= '9'; (*p)++)
		if (digits < 9) {
			frac = frac * 10 + (uint64_t)(**p - '0');
			digits++;
		}
	if (!digits)
		return false;
	while (digits++ < 9)
		frac *= 10;
	*ns = (tern_time)sec * TERN_NS_PER_SEC + (tern_time)frac;
	return true;
}

/* The clock time `tern trace --wall` puts first ("14:03:27.123456 "), skipped;
 * the cursor does not move if there is none. */
static void skip_wall_clock(const char **p)
{
	const char *s = *p;
	uint64_t v;
	if (number(&s, 23, &v) && word(&s, ":") && number(&s, 59, &v) && word(&s, ":") && number(&s, 60, &v)) {
		if (*s == '.') {
			s++;
			if (!number(&s, UINT64_MAX, &v))
				return;
		}
		if (spaces(&s))
			*p = s;
	}
}

/* "10.0.0.1:35274" */
static bool endpoint_text(const char **p, uint32_t *addr, uint16_t *port)
{
	uint64_t v;
	uint32_t a = 0;
	for (int i = 0; i < 4; i++) {
		if ((i && !word(p, ".")) || !number(p, 255, &v))
			return false;
		a = a << 8 | (uint32_t)v;
	}
	if (!word(p, ":") || !number(p, 65535, &v))
		return false;
	*addr = a;
	*port = (uint16_t)v;
	return true;
}

/* Flag letters as tern_tcp_format writes them, "-" for none. */
static bool flags_text(const char **p, uint8_t *flags)
{
	static const char letters[] = "FSRP.UEW";   /* bit i is letters[i], FIN first */
	uint8_t f = 0;
	if (**p == '-') {
		(*p)++;
	} else {
		for (; **p && !at_space(*p); (*p)++) {
			const char *l = strchr(letters, **p);
			if (!l)
				return false;
			uint8_t bit = (uint8_t)(1u << (l - letters));
			if (f & bit)
				return false;
			f |= bit;
		}
		if (!f)
			return false;
	}
	*flags = f;
	return at_space(*p);
}

/* Appends one option to the list in the order read; bytes is its on-wire length. */
static bool add_option(struct tern_tcp_opts *o, uint8_t kind, uint8_t bytes, unsigned *total)
{
	if (o->count >= TERN_TCP_MAX_OPT_LEN)
		return false;
	o->kinds[o->count] = kind;
	o->lens[o->count] = bytes;
	o->count++;
	*total += bytes;
	return true;
}

/* One entry of "<mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>", by the names
 * tern_tcp_format gives them; undecodable options come back as their kind and
 * length, as it writes them. */
static bool option_text(const char **p, struct tern_tcp_opts *o, unsigned *total)
{
	uint64_t a, b;

	if (word(p, "nop"))
		return add_option(o, TERN_TCPOPT_NOP, 1, total);
	if (word(p, "eol"))
		return add_option(o, TERN_TCPOPT_EOL, 1, total);
	if (word(p, "mss")) {
		if (!spaces(p) || !number(p, 65535, &a))
			return false;
		o->mss = (uint16_t)a;
		o->present |= TERN_TCPOPT_HAS_MSS;
		return add_option(o, TERN_TCPOPT_MSS, 4, total);
	}
	if (word(p, "wscale")) {
		if (!spaces(p) || !number(p, 255, &a))
			return false;
		o->wscale = (uint8_t)a;
		o->present |= TERN_TCPOPT_HAS_WSCALE;
		return add_option(o, TERN_TCPOPT_WSCALE, 3, total);
	}
	if (word(p, "sackOK")) {
		o->present |= TERN_TCPOPT_HAS_SACK_PERM;
		return add_option(o, TERN_TCPOPT_SACK_PERM, 2, total);
	}
	if (word(p, "sack")) {
		unsigned n = 0;
		while (spaces(p)) {
			if (n == TERN_TCP_MAX_SACK_BLOCKS || !u32_field(p, &o->sack[n].start) || !word(p, ":") ||
			    !u32_field(p, &o->sack[n].end))
				return false;
			n++;
		}
		if (!n)
			return false;
		o->sack_count = (uint8_t)n;
		o->present |= TERN_TCPOPT_HAS_SACK;
		return add_option(o, TERN_TCPOPT_SACK, (uint8_t)(2 + 8 * n), total);
	}
	if (word(p, "TS")) {
		if (!spaces(p) || !word(p, "val") || !spaces(p) || !u32_field(p, &o->ts_val) || !spaces(p) ||
		    !word(p, "ecr") || !spaces(p) || !u32_field(p, &o->ts_ecr))
			return false;
		o->present |= TERN_TCPOPT_HAS_TS;
		return add_option(o, TERN_TCPOPT_TS, 10, total);
	}
	if (word(p, "unknown-kind") || word(p, "malformed-kind")) {
		if (!spaces(p) || !number(p, 255, &a) || !spaces(p) || !word(p, "len") || !spaces(p) ||
		    !number(p, 255, &b))
			return false;
		return add_option(o, (uint8_t)a, (uint8_t)b, total);
	}
	return false;
}

/* One trace line into the addresses, time and segment it describes: true only
 * for a complete TCP segment line. *have_time says whether at least the time at
 * the start read, which counts for where the trace begins. */
static bool trace_line(const char *line, tern_time *ts, bool *have_time, uint32_t *src, uint32_t *dst,
		       struct tern_tcp *tcp)
{
	const char *p = line;
	uint64_t v;
	uint32_t end, len;

	*have_time = false;
	memset(tcp, 0, sizeof(*tcp));
	skip_spaces(&p);
	skip_wall_clock(&p);
	if (!seconds(&p, ts) || !spaces(&p) || !endpoint_text(&p, src, &tcp->sport))
		return false;
	/* A time and an address: a datagram of the trace, if perhaps not TCP. */
	*have_time = true;
	if (!spaces(&p) || !word(&p, ">") || !spaces(&p) || !endpoint_text(&p, dst, &tcp->dport) || !spaces(&p))
		return false;
	/* flags seq:end(len) */
	if (!flags_text(&p, &tcp->flags) || !spaces(&p) || !u32_field(&p, &tcp->seq) || !word(&p, ":") ||
	    !u32_field(&p, &end) || !word(&p, "(") || !u32_field(&p, &len) || !word(&p, ")"))
		return false;
	/* The end is seq plus the payload length, modulo 2^32; no datagram holds more
	 * than 64 KiB. */
	if (len > 65535 || end != tcp->seq + len)
		return false;
	tcp->payload_len = len;
	/* " ack N" exactly when ACK is set, " urg N" when URG is; " win N" always. */
	const char *mark = p;
	bool has_ack = spaces(&p) && word(&p, "ack");
	if (has_ack != !!(tcp->flags & TERN_TCP_ACK))
		return false;
	if (has_ack) {
		if (!spaces(&p) || !u32_field(&p, &tcp->ack))
			return false;
		mark = p;
	}
	p = mark;
	bool has_urg = spaces(&p) && word(&p, "urg");
	if (has_urg != !!(tcp->flags & TERN_TCP_URG))
		return false;
	if (has_urg) {
		if (!spaces(&p) || !number(&p, 65535, &v))
			return false;
		tcp->urg = (uint16_t)v;
		mark = p;
	}
	p = mark;
	if (!spaces(&p) || !word(&p, "win") || !spaces(&p) || !number(&p, 65535, &v))
		return false;
	tcp->win = (uint16_t)v;
	unsigned opt_bytes = 0;
	mark = p;
	if (spaces(&p) && word(&p, "<")) {
		do {
			if (!option_text(&p, &tcp->opt, &opt_bytes))
				return false;
		} while (word(&p, ","));
		if (!word(&p, ">"))
			return false;
	} else {
		p = mark;
	}
	while (at_space(p) || *p == '\r')
		p++;
	if (*p)
		return false;
	/* The header length is what the options would take, padded to four bytes. */
	unsigned hdr = TERN_TCP_HDR_LEN + (opt_bytes + 3) / 4 * 4;
	tcp->hdr_len = (uint8_t)(hdr > 60 ? 60 : hdr);
	return true;
}

/* Lines longer than this are not trace lines (the longest, with every option,
 * is under 300 bytes); they are skipped whole. */
#define TRACE_LINE_MAX 4096

/* One line without its end into buf. 1 with the line, 0 at the end of the file,
 * -1 on a read error; *cut when it was longer than the buffer, *nul when it held
 * a NUL byte. */
static int next_line(struct reader *r, char *buf, size_t cap, bool *cut, bool *nul)
{
	size_t n = 0;
	int c;
	bool any = false;

	*cut = *nul = false;
	for (;;) {
		if (r->head_pos < r->head_len) {
			c = r->head[r->head_pos++];
		} else {
			c = getc(r->f);
			if (c == EOF)
				break;
			r->offset++;
		}
		any = true;
		if (c == '\n')
			break;
		if (c == '\0')
			*nul = true;
		if (n + 1 < cap)
			buf[n++] = (char)c;
		else
			*cut = true;
	}
	buf[n] = '\0';
	if (ferror(r->f))
		return -1;
	return any ? 1 : 0;
}

static int load_trace(struct reader *r, struct loader *ld)
{
	struct ladder_capture *cap = ld->cap;
	char *line = malloc(TRACE_LINE_MAX);
	uint64_t lineno = 0;
	bool cut, nul, started = false;
	int got, rc = -1;

	cap->trace = true;
	if (!line) {
		snprintf(ld->err, ld->errcap, "%s: out of memory", ld->path);
		return -1;
	}
	while ((got = next_line(r, line, TRACE_LINE_MAX, &cut, &nul)) > 0) {
		lineno++;
		const char *p = line;
		while (at_space(p) || *p == '\r')
			p++;
		if (!*p)
			continue;   /* blank lines say nothing, and are not counted */
		cap->records++;
		tern_time ts = 0;
		bool have_time = false;
		uint32_t src, dst;
		struct tern_tcp tcp;
		/* A NUL would end the C string early and pass a prefix off as the line. */
		bool seg = !cut && !nul && trace_line(line, &ts, &have_time, &src, &dst, &tcp);
		if (have_time && !started) {
			cap->file_first_ns = ts;
			started = true;
		}
		if (!seg) {
			cap->malformed++;
			continue;
		}
		if (take_segment(ld, src, dst, &tcp, ts) < 0)
			goto out;
	}
	if (got < 0) {
		snprintf(ld->err, ld->errcap, "%s: read error after line %llu: %s", ld->path,
			 (unsigned long long)lineno, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(line);
	return rc;
}

int ladder_load(const char *path, const struct ladder_select *sel, struct ladder_capture *cap,
		char *err, size_t errcap)
{
	struct reader r;
	struct loader ld = { .cap = cap, .sel = sel, .t = { .cap = cap }, .path = path, .err = err, .errcap = errcap };
	enum input_kind kind;
	int rc = -1;

	memset(cap, 0, sizeof(*cap));
	cap->chosen = -1;
	if (open_input(&r, path, &kind, err, errcap) < 0)
		goto out;
	if (table_grow(&ld.t) < 0) {
		snprintf(err, errcap, "%s: out of memory", path);
		goto out;
	}
	rc = kind == INPUT_PCAP ? load_pcap(&r, &ld) : load_trace(&r, &ld);
out:
	close_file(&r);
	free(ld.t.slot);
	if (rc < 0)
		ladder_free(cap);
	return rc;
}

void ladder_free(struct ladder_capture *cap)
{
	free(cap->conns);
	free(cap->segs);
	cap->conns = NULL;
	cap->segs = NULL;
	cap->nconns = cap->nsegs = 0;
}

/* ------------------------------------------------------------ states */

const char *ladder_state_name(uint8_t st)
{
	static const char *const names[] = {
		[LADDER_ST_CLOSED] = "CLOSED",           [LADDER_ST_LISTEN] = "LISTEN",
		[LADDER_ST_SYN_SENT] = "SYN-SENT",       [LADDER_ST_SYN_RECEIVED] = "SYN-RECEIVED",
		[LADDER_ST_ESTABLISHED] = "ESTABLISHED", [LADDER_ST_FIN_WAIT_1] = "FIN-WAIT-1",
		[LADDER_ST_FIN_WAIT_2] = "FIN-WAIT-2",   [LADDER_ST_CLOSE_WAIT] = "CLOSE-WAIT",
		[LADDER_ST_CLOSING] = "CLOSING",         [LADDER_ST_LAST_ACK] = "LAST-ACK",
		[LADDER_ST_TIME_WAIT] = "TIME-WAIT",
	};
	if (st < sizeof(names) / sizeof(names[0]) && names[st])
		return names[st];
	return "?";
}

/* What the inference knows about one side. */
struct side {
	uint8_t st;
	bool syn_sent;
	uint32_t isn;
	bool fin_sent;
	uint32_t fin_seq;          /* sequence number the FIN occupies */
	bool peer_fin_taken;       /* we acknowledged the peer's FIN */
	bool hi_valid;
	uint32_t hi;               /* end of the highest sequence space sent */
};

/* `a` at or after `b` in sequence space (RFC 9293 §3.4, modulo 2^32). */
static bool seq_ge(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

static void enter(struct side *sd, uint8_t *changes, uint8_t st)
{
	if (sd->st == st)
		return;
	sd->st = st;
	for (int i = 0; i < LADDER_MAX_CHANGES; i++)
		if (!changes[i]) {
			changes[i] = st;
			return;
		}
	changes[LADDER_MAX_CHANGES - 1] = st;
}

/* The sender's side of one segment: what sending it says about the sender. */
static void on_send(struct side *me, const struct side *peer, struct ladder_seg *s)
{
	const struct tern_tcp *tcp = &s->tcp;
	uint8_t fl = tcp->flags;
	uint32_t space = tcp->payload_len + !!(fl & TERN_TCP_SYN) + !!(fl & TERN_TCP_FIN);

	/* A retransmission starts below sequence space this side already used. */
	if (space) {
		if (me->hi_valid && !seq_ge(tcp->seq, me->hi))
			s->retrans = true;
		if (!me->hi_valid || seq_ge(tcp->seq + space, me->hi)) {
			me->hi = tcp->seq + space;
			me->hi_valid = true;
		}
	}
	if (fl & TERN_TCP_RST) {
		/* A reset aborts the sender, except a listener refusing a stray segment. */
		if (me->st != LADDER_ST_LISTEN)
			enter(me, s->st_send, LADDER_ST_CLOSED);
		return;
	}
	if (fl & TERN_TCP_SYN) {
		if (!me->syn_sent) {
			me->syn_sent = true;
			me->isn = tcp->seq;
		}
		if (!(fl & TERN_TCP_ACK)) {
			if (me->st == LADDER_ST_CLOSED)
				enter(me, s->st_send, LADDER_ST_SYN_SENT);
		} else if (me->st == LADDER_ST_LISTEN || me->st == LADDER_ST_CLOSED ||
			   me->st == LADDER_ST_SYN_SENT) {
			enter(me, s->st_send, LADDER_ST_SYN_RECEIVED);
		}
	} else if (fl & TERN_TCP_ACK) {
		/* An ACK covering the peer's SYN: its SYN-ACK reached us (§3.10.7.3). */
		if (me->st == LADDER_ST_SYN_SENT && peer->syn_sent && seq_ge(tcp->ack, peer->isn + 1))
			enter(me, s->st_send, LADDER_ST_ESTABLISHED);
	}
	/* An ACK covering the peer's FIN: we took the FIN in (§3.10.7.4, eighth step). */
	if ((fl & TERN_TCP_ACK) && peer->fin_sent && !me->peer_fin_taken && seq_ge(tcp->ack, peer->fin_seq + 1)) {
		me->peer_fin_taken = true;
		if (me->st == LADDER_ST_ESTABLISHED || me->st == LADDER_ST_SYN_RECEIVED)
			enter(me, s->st_send, LADDER_ST_CLOSE_WAIT);
		else if (me->st == LADDER_ST_FIN_WAIT_1)
			enter(me, s->st_send, LADDER_ST_CLOSING);
		else if (me->st == LADDER_ST_FIN_WAIT_2)
			enter(me, s->st_send, LADDER_ST_TIME_WAIT);
	}
	if ((fl & TERN_TCP_FIN) && !me->fin_sent) {
		me->fin_sent = true;
		me->fin_seq = tcp->seq + tcp->payload_len + !!(fl & TERN_TCP_SYN);
		if (me->st == LADDER_ST_ESTABLISHED || me->st == LADDER_ST_SYN_RECEIVED)
			enter(me, s->st_send, LADDER_ST_FIN_WAIT_1);
		else if (me->st == LADDER_ST_CLOSE_WAIT)
			enter(me, s->st_send, LADDER_ST_LAST_ACK);
	}
}

/* The receiver's side: what the segment does to it on arrival. */
static void on_arrive(struct side *me, struct ladder_seg *s)
{
	const struct tern_tcp *tcp = &s->tcp;
	uint8_t fl = tcp->flags;

	if (fl & TERN_TCP_RST) {
		/* §3.10.7.2: a listener ignores resets; in SYN-SENT only one that
		 * acknowledges our SYN counts; otherwise the connection is gone. */
		if (me->st == LADDER_ST_LISTEN || me->st == LADDER_ST_CLOSED)
			return;
		if (me->st == LADDER_ST_SYN_SENT && !((fl & TERN_TCP_ACK) && tcp->ack == me->isn + 1))
			return;
		enter(me, s->st_arrive, LADDER_ST_CLOSED);
		return;
	}
	if (!(fl & TERN_TCP_ACK))
		return;
	if (me->st == LADDER_ST_SYN_RECEIVED && me->syn_sent && seq_ge(tcp->ack, me->isn + 1))
		enter(me, s->st_arrive, LADDER_ST_ESTABLISHED);
	if (me->fin_sent && seq_ge(tcp->ack, me->fin_seq + 1)) {
		if (me->st == LADDER_ST_FIN_WAIT_1)
			enter(me, s->st_arrive, LADDER_ST_FIN_WAIT_2);
		else if (me->st == LADDER_ST_CLOSING)
			enter(me, s->st_arrive, LADDER_ST_TIME_WAIT);
		else if (me->st == LADDER_ST_LAST_ACK)
			enter(me, s->st_arrive, LADDER_ST_CLOSED);
	}
}

/* Relative numbers start at each side's ISN (its SYN's sequence number). Without
 * a SYN: one before its first sequence number, so data starts at 1 as after a
 * handshake (as Wireshark does), except a side that only answers with a RST, whose
 * sequence number is usually 0 (prints as 0); with no segment of its own at all,
 * one before the first acknowledgment number the peer sent it. */
static void find_bases(struct ladder_capture *cap)
{
	bool known[2] = { false, false };
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < cap->nsegs; i++) {
			const struct ladder_seg *s = &cap->segs[i];
			const struct tern_tcp *tcp = &s->tcp;
			int side = pass == 2 ? !s->from : s->from;
			if (known[side])
				continue;
			if (pass == 0 && (tcp->flags & TERN_TCP_SYN)) {
				cap->base[side] = tcp->seq;
			} else if (pass == 1) {
				cap->base[side] = (tcp->flags & TERN_TCP_RST) ? tcp->seq : tcp->seq - 1;
			} else if (pass == 2 && (tcp->flags & TERN_TCP_ACK)) {
				cap->base[side] = tcp->ack - 1;
			} else {
				continue;
			}
			known[side] = true;
		}
	}
}

void ladder_infer(struct ladder_capture *cap)
{
	struct side sides[2];

	memset(sides, 0, sizeof(sides));
	find_bases(cap);
	if (!cap->nsegs)
		return;
	/* Where each side starts: a SYN first means a handshake from scratch, with the
	 * server listening if it ever answers with a SYN-ACK and closed (a port nobody
	 * listens on) otherwise; a SYN-ACK first means the client's SYN went before the
	 * capture began; anything else is a connection already open. */
	const struct tern_tcp *first = &cap->segs[0].tcp;
	bool server_answers = false;
	for (size_t i = 0; i < cap->nsegs; i++)
		if (cap->segs[i].from == LADDER_SERVER && (cap->segs[i].tcp.flags & TERN_TCP_SYN))
			server_answers = true;
	if ((first->flags & (TERN_TCP_SYN | TERN_TCP_ACK)) == TERN_TCP_SYN) {
		sides[LADDER_CLIENT].st = LADDER_ST_CLOSED;
		sides[LADDER_SERVER].st = server_answers ? LADDER_ST_LISTEN : LADDER_ST_CLOSED;
	} else if (first->flags & TERN_TCP_SYN) {
		sides[LADDER_CLIENT].st = LADDER_ST_SYN_SENT;
		sides[LADDER_CLIENT].syn_sent = true;
		sides[LADDER_CLIENT].isn = first->ack - 1;
		sides[LADDER_SERVER].st = LADDER_ST_LISTEN;
	} else {
		sides[LADDER_CLIENT].st = sides[LADDER_SERVER].st = LADDER_ST_ESTABLISHED;
		cap->mid_stream = true;
	}
	cap->initial[0] = sides[0].st;
	cap->initial[1] = sides[1].st;
	/* Each segment is sent, then arrives, before the next one is sent: the ladder
	 * draws them in capture order with every arrival above the next departure. */
	for (size_t i = 0; i < cap->nsegs; i++) {
		struct ladder_seg *s = &cap->segs[i];
		on_send(&sides[s->from], &sides[!s->from], s);
		on_arrive(&sides[!s->from], s);
	}
}
