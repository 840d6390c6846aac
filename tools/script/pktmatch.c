/*
 * tools/script/pktmatch.c: packet lines meet the wire.
 *
 * Numbering. The script plays the peer, so the peer's sequence numbers (our
 * segments' seq, its ack and SACK edges in what tern sends) are the script's,
 * literally. tern's numbers are learned: its first SYN or SYN-ACK on a connection
 * fixes the offset live ISN - script ISN, added to the ack and SACK edges of
 * injected segments and taken off the seq of segments tern sends. Before that the
 * offset is 0 (an RST to a closed port is written with its literal numbers).
 *
 * Timestamps. tern's TS values are labels in a script: each expected segment
 * whose TS val the script writes as N records "N stood for live value V", and an
 * injected "ecr N" is sent as V (the latest V for that label). With
 * --tcp_ts_tick_usecs, TS val is checked too: the live value, moved into script
 * space by the first recorded pair, must be within the event's tolerance when
 * counted in ticks. TS ecr in expected segments is the peer's value: compared as
 * written.
 *
 * Comparison covers what packetdrill checks for TCP: flags, seq, ack, window when
 * written, urgent pointer when written, options (kinds in order, then values),
 * and the payload length; "<...>" accepts any options. Every difference is listed,
 * not just the first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

uint32_t conn_local_offset(const struct conn *c, bool is_syn)
{
	if (!c || !c->isn_known)
		return 0;
	return is_syn ? c->live_isn - c->script_isn : c->live_isn;
}

uint32_t conn_remote_offset(const struct conn *c, bool is_syn)
{
	return c && c->remote_known && !is_syn ? c->remote_isn : 0;
}

static bool ts_lookup(const struct conn *c, uint32_t script_val, uint32_t *live)
{
	if (!c)
		return false;
	for (size_t i = 0; i < c->nts; i++) {
		if (c->ts[i].script_val == script_val) {
			*live = c->ts[i].live_val;
			return true;
		}
	}
	return false;
}

static void ts_record(struct conn *c, uint32_t script_val, uint32_t live_val)
{
	for (size_t i = 0; i < c->nts; i++) {
		if (c->ts[i].script_val == script_val) {
			c->ts[i].live_val = live_val;
			return;
		}
	}
	if (c->nts == c->cap_ts) {
		size_t cap = c->cap_ts ? c->cap_ts * 2 : 16;
		struct ts_pair *n = realloc(c->ts, cap * sizeof *n);
		if (!n)
			return;
		c->ts = n;
		c->cap_ts = cap;
	}
	c->ts[c->nts].script_val = script_val;
	c->ts[c->nts].live_val = live_val;
	c->nts++;
}

bool pkt_build(struct runner *r, const struct pkt_spec *ps, const struct conn *c, uint8_t *buf,
	       size_t cap, size_t *len, char *why, size_t whycap)
{
	static const uint8_t zeros[1024];
	struct tern_tcp seg;
	bool is_syn = ps->flags & TERN_TCP_SYN;
	uint32_t off = conn_local_offset(c, is_syn);
	uint8_t *payload = NULL;

	memset(&seg, 0, sizeof seg);
	seg.sport = ps->ports ? ps->sport : c->rport;
	seg.dport = ps->ports ? ps->dport : c->lport;
	seg.seq = ps->seq + conn_remote_offset(c, is_syn);
	seg.ack = (ps->flags & TERN_TCP_ACK) ? ps->ack + off : 0;
	seg.flags = ps->flags;
	seg.win = ps->win;
	seg.urg = ps->urg;
	seg.opt = ps->opts;
	for (unsigned i = 0; i < seg.opt.sack_count; i++) {
		seg.opt.sack[i].start += off;
		seg.opt.sack[i].end += off;
	}
	if ((ps->flags & TERN_TCP_ACK) && (ps->opts.present & TERN_TCPOPT_HAS_TS)) {
		uint32_t live;
		if (!ts_lookup(c, ps->opts.ts_ecr, &live)) {
			snprintf(why, whycap, "TS ecr %u names no TS val the stack sent (no expected "
				 "packet on this connection had TS val %u)", ps->opts.ts_ecr,
				 ps->opts.ts_ecr);
			return false;
		}
		seg.opt.ts_ecr = live;
	}
	if (ps->len > 0) {
		if (ps->len <= sizeof zeros) {
			seg.payload = zeros;
		} else {
			payload = calloc(1, ps->len);
			if (!payload) {
				snprintf(why, whycap, "out of memory");
				return false;
			}
			seg.payload = payload;
		}
	}
	seg.payload_len = ps->len;

	struct tern_ipv4 ip;
	memset(&ip, 0, sizeof ip);
	ip.ttl = 64;
	ip.proto = TERN_IPPROTO_TCP;
	ip.id = r->ip_id++;
	ip.frag = TERN_IP_DF;
	ip.src = tern_addr_v4(192, 0, 2, 1).u.v4;
	ip.dst = tern_addr_v4(192, 168, 0, 1).u.v4;
	size_t tcplen = tern_tcp_build(buf + TERN_IPV4_HDR_LEN, cap - TERN_IPV4_HDR_LEN, &seg, ip.src,
				       ip.dst);
	free(payload);
	if (tcplen == 0 || tcplen + TERN_IPV4_HDR_LEN > 65535) {
		snprintf(why, whycap, "the segment does not fit in an IPv4 datagram");
		return false;
	}
	if (tern_ipv4_build(buf, cap, &ip, (uint16_t)tcplen) == 0) {
		snprintf(why, whycap, "cannot build the IPv4 header");
		return false;
	}
	*len = TERN_IPV4_HDR_LEN + tcplen;
	return true;
}

/* ------------------------------------------------------------------ formatting */

static void flags_text(uint8_t flags, char *buf, size_t cap)
{
	struct tern_tcp t;
	memset(&t, 0, sizeof t);
	t.flags = flags;
	char tmp[128];
	tern_tcp_format(tmp, sizeof tmp, &t, &(struct tern_tcp_fmt){ .win = false });
	size_t n = strcspn(tmp, " ");
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
}

void pkt_format_spec(const struct pkt_spec *ps, char *buf, size_t cap)
{
	struct tern_tcp t;
	memset(&t, 0, sizeof t);
	t.sport = ps->sport;
	t.dport = ps->dport;
	t.seq = ps->seq;
	t.payload_len = ps->len;
	t.flags = ps->flags;
	t.ack = ps->ack;
	t.win = ps->win;
	t.urg = ps->urg;
	if (ps->opts_mode == OPTS_LIST)
		t.opt = ps->opts;
	struct tern_tcp_fmt f = { .ports = ps->ports, .win = ps->has_win };
	int n = tern_tcp_format(buf, cap, &t, &f);
	if (ps->opts_mode == OPTS_ANY && n >= 0 && (size_t)n < cap)
		snprintf(buf + n, cap - (size_t)n, " <...>");
	if (ps->opts_mode == OPTS_LIST && ps->opts.count == 0 && n >= 0 && (size_t)n < cap)
		snprintf(buf + n, cap - (size_t)n, " <>");
}

void pkt_format_live(const struct tern_tcp *seg, const struct conn *c, bool ports, char *buf,
		     size_t cap)
{
	struct tern_tcp t = *seg;
	if (c && c->ts_base && (t.opt.present & TERN_TCPOPT_HAS_TS))
		t.opt.ts_val = c->ts_first_script + (t.opt.ts_val - c->ts_first_live);
	bool is_syn = seg->flags & TERN_TCP_SYN;
	struct tern_tcp_fmt f = { .relative = true, .seq_base = conn_local_offset(c, is_syn),
				  .ack_base = conn_remote_offset(c, is_syn), .ports = ports, .win = true };
	tern_tcp_format(buf, cap, &t, &f);
}

/* ------------------------------------------------------------------ matching */

struct diff {
	char *buf;
	size_t cap, len;
};

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void add_diff(struct diff *d, const char *fmt, ...)
{
	if (d->len + 3 >= d->cap)
		return;
	if (d->len > 0) {
		memcpy(d->buf + d->len, "; ", 2);
		d->len += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(d->buf + d->len, d->cap - d->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		d->len += (size_t)n < d->cap - d->len ? (size_t)n : d->cap - d->len - 1;
}

static void opts_text(const struct tern_tcp_opts *o, char *buf, size_t cap)
{
	struct tern_tcp t;
	memset(&t, 0, sizeof t);
	t.opt = *o;
	char tmp[512];
	tern_tcp_format(tmp, sizeof tmp, &t, &(struct tern_tcp_fmt){ .win = false });
	const char *lt = strchr(tmp, '<');
	snprintf(buf, cap, "%s", lt ? lt : "<>");
}

static void compare_options(struct runner *r, const struct pkt_spec *ps, struct conn *c,
			    const struct tern_tcp *seg, tern_time tol, struct diff *d)
{
	const struct tern_tcp_opts *e = &ps->opts, *a = &seg->opt;
	bool same_kinds = e->count == a->count;
	for (unsigned i = 0; same_kinds && i < e->count; i++)
		if (e->kinds[i] != a->kinds[i] || e->lens[i] != a->lens[i])
			same_kinds = false;
	/* The actual options as the "actual:" line shows them: TS val in script space. */
	struct tern_tcp_opts shown = *a;
	if (c->ts_base)
		shown.ts_val = c->ts_first_script + (a->ts_val - c->ts_first_live);
	if (!same_kinds) {
		char et[256], at[256];
		opts_text(e, et, sizeof et);
		opts_text(&shown, at, sizeof at);
		add_diff(d, "options %s, expected %s", at, et);
		return;
	}
	if ((e->present & TERN_TCPOPT_HAS_MSS) && e->mss != a->mss)
		add_diff(d, "mss %u, expected %u", a->mss, e->mss);
	if ((e->present & TERN_TCPOPT_HAS_WSCALE) && e->wscale != a->wscale)
		add_diff(d, "wscale %u, expected %u", a->wscale, e->wscale);
	if ((e->present & TERN_TCPOPT_HAS_SACK)) {
		bool same = e->sack_count == a->sack_count;
		/* Our SACK blocks name the peer's data: its numbering. */
		uint32_t roff = conn_remote_offset(c, false);
		for (unsigned i = 0; same && i < e->sack_count; i++)
			same = e->sack[i].start == a->sack[i].start - roff && e->sack[i].end == a->sack[i].end - roff;
		if (!same) {
			char et[256], at[256];
			opts_text(e, et, sizeof et);
			opts_text(&shown, at, sizeof at);
			add_diff(d, "SACK blocks differ: options %s, expected %s", at, et);
		}
	}
	if ((e->present & TERN_TCPOPT_HAS_TS) && (a->present & TERN_TCPOPT_HAS_TS)) {
		if (e->ts_ecr != a->ts_ecr)
			add_diff(d, "TS ecr %u, expected %u", a->ts_ecr, e->ts_ecr);
		/* Record the label before checking it, as packetdrill does. */
		if (!c->ts_base) {
			c->ts_base = true;
			c->ts_first_script = e->ts_val;
			c->ts_first_live = a->ts_val;
		}
		ts_record(c, e->ts_val, a->ts_val);
		if (r->sc->ts_tick_us > 0) {
			uint32_t mapped = c->ts_first_script + (a->ts_val - c->ts_first_live);
			int32_t off = (int32_t)(mapped - e->ts_val);
			double off_ns = (off < 0 ? -(double)off : (double)off) *
					(double)r->sc->ts_tick_us * (double)TERN_NS_PER_US;
			if (off_ns > (double)tol)
				add_diff(d, "TS val %u, expected %u (%lld us per tick, tolerance %lld us)",
					 mapped, e->ts_val, r->sc->ts_tick_us,
					 (long long)(tol / TERN_NS_PER_US));
		}
	}
}

bool pkt_match(struct runner *r, const struct pkt_spec *ps, struct conn *c,
	       const struct out_pkt *p, tern_time tol, char *why, size_t whycap)
{
	struct diff d = { why, whycap, 0 };
	why[0] = '\0';
	if (!p->tcp_ok) {
		snprintf(why, whycap, "the stack sent a datagram that is not a valid TCP/IPv4 "
			 "segment (%zu bytes)", p->len);
		return false;
	}
	const struct tern_tcp *seg = &p->tcp;
	bool is_syn = seg->flags & TERN_TCP_SYN;
	uint32_t seq = seg->seq - conn_local_offset(c, is_syn);
	uint32_t ack = seg->ack - conn_remote_offset(c, is_syn);

	if (p->bad_csum)
		add_diff(&d, "bad TCP checksum 0x%04x", seg->checksum);

	if (seg->flags != ps->flags) {
		char ef[16], af[16];
		flags_text(ps->flags, ef, sizeof ef);
		flags_text(seg->flags, af, sizeof af);
		add_diff(&d, "flags %s, expected %s", af, ef);
	}
	if (seq != ps->seq)
		add_diff(&d, "seq %u, expected %u", seq, ps->seq);
	if ((ps->flags & seg->flags & TERN_TCP_ACK) && ps->has_ack && ack != ps->ack)
		add_diff(&d, "ack %u, expected %u", ack, ps->ack);
	if (ps->has_win && seg->win != ps->win)
		add_diff(&d, "win %u, expected %u", seg->win, ps->win);
	if (ps->has_urg && seg->urg != ps->urg)
		add_diff(&d, "urg %u, expected %u", seg->urg, ps->urg);
	if (seg->payload_len != ps->len)
		add_diff(&d, "payload %u bytes, expected %u", seg->payload_len, ps->len);
	if (seg->reserved)
		add_diff(&d, "reserved header bits 0x%x set", seg->reserved);
	if (ps->opts_mode != OPTS_ANY)
		compare_options(r, ps, c, seg, tol, &d);
	return d.len == 0;
}
