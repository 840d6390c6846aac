/*
 * tools/cmd_ladder.c: `tern ladder`, the sequence ("ladder") diagram of one TCP
 * connection from a pcap file or a trace (the text `tern trace` and `tern demo`
 * print; tools/ladder.c reads both into the same segments), as an SVG picture:
 * the textbook drawing of the three-way handshake and the close, made from a real
 * capture.
 *
 * Two lifelines, client on the left (the side that sent the first SYN) and server
 * on the right; one arrow per segment, leaving the sender at its capture time and
 * labelled in packetdrill syntax by tern_tcp_format (relative numbers, options
 * without their nop padding); the RFC 9293 state each side enters written beside
 * its lifeline (tools/ladder.c infers them); time runs down the page.
 *
 * Time axis: a capture (or a trace, which records what one stack read and wrote)
 * is taken at one point, so it says when a segment passed that point and never
 * when it arrived at the other end. Every arrow therefore
 * slants by the same few pixels. Rows are placed on a linear time scale chosen from
 * the capture's own spacing (the 75th percentile of the gaps between segments
 * spans 40 px), stretched where segments come closer than their labels allow, and
 * cut where the gap is long (a retransmission timeout, a TIME-WAIT): such a gap is
 * drawn as a break of fixed height with its length written in, so an idle minute
 * costs a few pixels rather than a giant picture. Tick labels in ms follow the
 * same piecewise mapping, and each distinct capture time is written beside its row.
 *
 * The file is complete, self-contained SVG: no scripts, styles or fonts from
 * elsewhere, every piece of text XML-escaped and forced to valid UTF-8.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ladder.h"
#include "tern.h"

#define PROG "tern ladder"

/* Geometry, in px. The lifelines sit 540 px apart: room for a 74-character label
 * in 12 px monospace (about 7.2 px a character) between them, and for a state name
 * in 12 px sans-serif (at most ~90 px) outside each. */
#define W            900
#define X_AXIS       62
#define X_CLIENT     230
#define X_SERVER     770
#define X_MID        ((X_CLIENT + X_SERVER) / 2)
#define Y_FIRST_ROW  134
#define SLANT        10      /* how far an arrow drops on its way across */
#define ROW_TOP      10      /* a row's label reaches this far above its arrow's start */
#define ROW_BOTTOM   12      /* ...and its arrow this far below, or with options: */
#define ROW_BOTTOM_OPTS 22
#define ROW_PAD      2
#define GAP_SPAN_PX  40.0    /* px the 75th-percentile gap between segments gets */
#define GAP_MAX_PX   160.0   /* a longer gap becomes a break */
#define BREAK_ZONE   30      /* height of the break marker's zone */
#define TICK_MIN_PX  50.0    /* aim for at least this much between ticks */
#define MAIN_MAX_CHARS 72
#define OPTS_MAX_CHARS 80
#define COLOR_SEG    "#222222"
#define COLOR_RETX   "#c0392b"
#define COLOR_STATE  "#1f5fa8"
#define COLOR_DIM    "#666666"

/* ------------------------------------------------------------ text */

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), 0 if there is none.
 * U+FFFE and U+FFFF are refused too: XML 1.0 does not allow them. The string is
 * NUL-terminated, and a NUL fails every continuation test, so reads stop there. */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		lo = c == 0xe0 ? 0xa0 : lo;   /* no overlong forms */
		hi = c == 0xed ? 0x9f : hi;   /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		lo = c == 0xf0 ? 0x90 : lo;
		hi = c == 0xf4 ? 0x8f : hi;   /* nothing past U+10FFFF */
	} else {
		return 0;
	}
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && c == 0xef && p[1] == 0xbf && p[2] >= 0xbe)
		return 0;
	return n;
}

/* Writes at most `max` characters of s as XML character data or attribute value;
 * a longer string ends in an ellipsis. Control characters and broken UTF-8 become
 * '?', so whatever a title holds, the document stays well-formed. */
static void put_text(FILE *out, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0;

	while (*p) {
		if (chars++ == max) {
			fputs("&#8230;", out);
			return;
		}
		if (*p >= 0x80) {
			size_t n = utf8_seq(p);
			if (n) {
				fwrite(p, 1, n, out);
				p += n;
			} else {
				fputc('?', out);
				p++;
			}
			continue;
		}
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default: fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out); break;
		}
		p++;
	}
}

static void text(FILE *out, double x, double y, const char *attrs, const char *s, size_t max)
{
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attrs);
	put_text(out, s, max);
	fputs("</text>\n", out);
}

static char *endpoint_str(char *buf, size_t cap, uint32_t addr, uint16_t port)
{
	snprintf(buf, cap, "%u.%u.%u.%u:%u", addr >> 24, addr >> 16 & 0xff, addr >> 8 & 0xff, addr & 0xff, port);
	return buf;
}

/* One segment's label, split into the header part ("S. 0:0(0) ack 1 win 65160")
 * and its options ("<mss 1460,sackOK,TS val 1 ecr 0,wscale 7>"), the nop and eol
 * padding left out since it says nothing about the exchange. */
static void seg_label(const struct ladder_capture *cap, const struct ladder_seg *s, char *main_part,
		      size_t main_cap, char *opts, size_t opts_cap)
{
	char line[512];
	struct tern_tcp_fmt fmt = {
		.relative = true, .seq_base = cap->base[s->from], .ack_base = cap->base[!s->from],
		.ports = false, .win = true,
	};

	tern_tcp_format(line, sizeof(line), &s->tcp, &fmt);
	opts[0] = '\0';
	char *lt = strstr(line, " <");
	if (lt) {
		*lt = '\0';
		char *list = lt + 2, *end = strrchr(list, '>');
		if (end)
			*end = '\0';
		size_t n = 0;
		for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
			if (!strcmp(tok, "nop") || !strcmp(tok, "eol"))
				continue;
			int w = snprintf(opts + n, opts_cap - n, "%s%s", n ? "," : "<", tok);
			if (w < 0 || (size_t)w >= opts_cap - n)
				break;
			n += (size_t)w;
		}
		if (n && n + 1 < opts_cap) {
			opts[n] = '>';
			opts[n + 1] = '\0';
		} else {
			opts[0] = '\0';
		}
	}
	size_t len = strlen(line) < main_cap ? strlen(line) : main_cap - 1;
	memcpy(main_part, line, len);
	main_part[len] = '\0';
}

/* ------------------------------------------------------------ layout */

struct layout {
	double *y;            /* where each row's arrow leaves its sender */
	bool *brk;            /* a compressed gap precedes this row */
	bool *has_opts;
	double scale;         /* px per ns on the linear stretches; 0 if all at once */
	double bottom;        /* below the last row */
};

static int cmp_time(const void *a, const void *b)
{
	tern_time x = *(const tern_time *)a, y = *(const tern_time *)b;
	return (x > y) - (x < y);
}

static double row_bottom(const struct layout *L, size_t i)
{
	return L->has_opts[i] ? ROW_BOTTOM_OPTS : ROW_BOTTOM;
}

static tern_time gap_ns(const struct ladder_capture *cap, size_t i)
{
	tern_time d = cap->segs[i].t_ns - cap->segs[i - 1].t_ns;
	return d > 0 ? d : 0;   /* merged captures may step back: treat as simultaneous */
}

static int layout_rows(const struct ladder_capture *cap, struct layout *L)
{
	size_t n = cap->nsegs;
	tern_time *gaps = malloc(n * sizeof(*gaps));
	L->y = calloc(n, sizeof(*L->y));
	L->brk = calloc(n, sizeof(*L->brk));
	L->has_opts = calloc(n, sizeof(*L->has_opts));
	if (!gaps || !L->y || !L->brk || !L->has_opts) {
		free(gaps);
		return -1;
	}
	size_t ng = 0;
	for (size_t i = 1; i < n; i++)
		if (gap_ns(cap, i) > 0)
			gaps[ng++] = gap_ns(cap, i);
	L->scale = 0;
	if (ng) {
		qsort(gaps, ng, sizeof(*gaps), cmp_time);
		L->scale = GAP_SPAN_PX / (double)gaps[ng * 3 / 4];
	}
	free(gaps);
	for (size_t i = 0; i < n; i++) {
		char m[256], o[256];
		seg_label(cap, &cap->segs[i], m, sizeof(m), o, sizeof(o));
		L->has_opts[i] = o[0] != '\0';
		if (i == 0) {
			L->y[i] = Y_FIRST_ROW;
			continue;
		}
		double need = row_bottom(L, i - 1) + ROW_TOP + ROW_PAD;
		double lin = (double)gap_ns(cap, i) * L->scale;
		if (lin > GAP_MAX_PX) {
			L->brk[i] = true;
			L->y[i] = L->y[i - 1] + row_bottom(L, i - 1) + 4 + BREAK_ZONE + 4 + ROW_TOP;
		} else {
			L->y[i] = L->y[i - 1] + (lin > need ? lin : need);
		}
	}
	L->bottom = L->y[n - 1] + row_bottom(L, n - 1) + 24;
	return 0;
}

/* The break zone before row i: [*z0, *z1]. */
static void break_zone(const struct layout *L, size_t i, double *z0, double *z1)
{
	*z0 = L->y[i - 1] + row_bottom(L, i - 1) + 4;
	*z1 = *z0 + BREAK_ZONE;
}

/* A vertical line at x from y0 to y1, interrupted by each break, with a "//" cut
 * mark at both ends of the interruption. */
static void lifeline(FILE *out, const struct ladder_capture *cap, const struct layout *L, double x,
		     double y0, double y1, const char *style)
{
	double from = y0;
	for (size_t i = 1; i < cap->nsegs; i++) {
		if (!L->brk[i])
			continue;
		double z0, z1;
		break_zone(L, i, &z0, &z1);
		fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" %s/>\n", x, from, x, z0 + 6, style);
		for (int k = 0; k < 2; k++) {
			double zz = k ? z1 - 6 : z0 + 6;
			fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
				     "stroke-width=\"1.5\"/>\n", x - 7, zz + 3, x + 7, zz - 3, COLOR_DIM);
		}
		from = z1 - 6;
	}
	fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" %s/>\n", x, from, x, y1, style);
}

/* 1, 2 or 5 times a power of ten, at least x (and at least 1 ns). */
static tern_time nice_step(double x)
{
	if (!(x > 1))
		return 1;
	double p = pow(10, floor(log10(x))), m = x / p;
	double step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
	return step > 1e18 ? (tern_time)1e18 : (tern_time)llround(step);
}

static void tick(FILE *out, double y, tern_time rel_ns, int decimals, double *last_y)
{
	if (*last_y > -1e9 && y - *last_y < 18)
		return;
	char buf[64];
	snprintf(buf, sizeof(buf), "%.*f", decimals, (double)rel_ns / TERN_NS_PER_MS);
	fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>\n", X_AXIS - 4, y,
		X_AXIS, y, COLOR_DIM);
	text(out, X_AXIS - 6, y + 4, "text-anchor=\"end\" font-size=\"11\" fill=\"" COLOR_DIM "\"", buf, 32);
	*last_y = y;
}

/* Ticks at round times on every linear stretch of the axis; none inside breaks. */
static void draw_ticks(FILE *out, const struct ladder_capture *cap, const struct layout *L)
{
	tern_time t0 = cap->segs[0].t_ns;
	double last_y = -1e10;

	if (L->scale <= 0) {
		tick(out, L->y[0], 0, 0, &last_y);
		return;
	}
	tern_time step = nice_step(TICK_MIN_PX / L->scale);
	double step_ms = (double)step / TERN_NS_PER_MS;
	int decimals = step_ms >= 1 ? 0 : (int)ceil(-log10(step_ms) - 1e-9);
	if (decimals > 6)
		decimals = 6;
	tick(out, L->y[0], 0, decimals, &last_y);
	for (size_t i = 1; i < cap->nsegs; i++) {
		tern_time a = cap->segs[i - 1].t_ns - t0, b = cap->segs[i].t_ns - t0;
		if (L->brk[i] || b <= a)
			continue;
		/* A linear stretch holds at most GAP_MAX_PX / TICK_MIN_PX + 1 ticks. */
		for (tern_time T = (a / step + 1) * step; T <= b; T += step)
			tick(out, L->y[i - 1] + (double)(T - a) / (double)(b - a) * (L->y[i] - L->y[i - 1]),
			     T, decimals, &last_y);
	}
}

/* ------------------------------------------------------------ drawing */

/* State names beside a lifeline, stacked downwards when they crowd each other. */
static void draw_states(FILE *out, const uint8_t *changes, int side, double y, double *last_y)
{
	for (int k = 0; k < LADDER_MAX_CHANGES && changes[k]; k++) {
		double yy = y < *last_y + 14 ? *last_y + 14 : y;
		double x = side == LADDER_CLIENT ? X_CLIENT : X_SERVER;
		fprintf(out, "<circle cx=\"%d\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", (int)x, y, COLOR_STATE);
		text(out, side == LADDER_CLIENT ? x - 8 : x + 8, yy + 4,
		     side == LADDER_CLIENT ? "text-anchor=\"end\" font-weight=\"bold\" fill=\"" COLOR_STATE "\""
					   : "font-weight=\"bold\" fill=\"" COLOR_STATE "\"",
		     ladder_state_name(changes[k]), 32);
		*last_y = yy;
	}
}

static void draw_head(FILE *out, double x, const char *role, const char *ep)
{
	fprintf(out, "<rect x=\"%.1f\" y=\"54\" width=\"200\" height=\"38\" rx=\"4\" fill=\"#f4f6f8\" "
		     "stroke=\"#888888\"/>\n", x - 100);
	text(out, x, 69, "text-anchor=\"middle\" font-weight=\"bold\"", role, 40);
	text(out, x, 85, "text-anchor=\"middle\" font-family=\"monospace\"", ep, 40);
}

static int render(FILE *out, const struct ladder_capture *cap, const char *title, const char *path)
{
	const struct ladder_conn *c = &cap->conns[cap->chosen];
	struct layout L = { 0 };
	char cl[32], sv[32], buf[512], m[256], o[256];

	if (layout_rows(cap, &L) < 0) {
		free(L.y);
		free(L.brk);
		free(L.has_opts);
		return -1;
	}
	endpoint_str(cl, sizeof(cl), c->addr[LADDER_CLIENT], c->port[LADDER_CLIENT]);
	endpoint_str(sv, sizeof(sv), c->addr[LADDER_SERVER], c->port[LADDER_SERVER]);
	/* Below the rows: the legend, two fixed lines of notes, then these. */
	int notes = 1 + (cap->total_segs > cap->nsegs) + cap->mid_stream;
	double height = L.bottom + 24 + 34 + 16.0 * notes + 10;

	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
		     "viewBox=\"0 0 %d %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
		W, height, W, height);
	fputs("<title>", out);
	put_text(out, title, 200);
	fputs("</title>\n<defs>\n", out);
	/* One arrowhead per colour: context-stroke is not understood everywhere. */
	fprintf(out, "<marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" "
		     "markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"%s\"/></marker>\n"
		     "<marker id=\"head-retx\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" "
		     "markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"%s\"/></marker>\n"
		     "</defs>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", COLOR_SEG, COLOR_RETX);

	text(out, W / 2, 22, "text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\"", title, 100);
	double span_ms = (double)(cap->segs[cap->nsegs - 1].t_ns - cap->segs[0].t_ns) / TERN_NS_PER_MS;
	snprintf(buf, sizeof(buf), "%s > %s: %llu segments over %.3f ms, starting %.6f s into the %s",
		 cl, sv, (unsigned long long)cap->total_segs, span_ms,
		 (double)(cap->segs[0].t_ns - cap->file_first_ns) / TERN_NS_PER_SEC,
		 cap->trace ? "trace" : "capture");
	text(out, W / 2, 40, "text-anchor=\"middle\" fill=\"" COLOR_DIM "\"", buf, 120);
	draw_head(out, X_CLIENT, cap->mid_stream ? "client (guessed)" : "client", cl);
	draw_head(out, X_SERVER, "server", sv);

	/* Axis and lifelines, then the initial states just above the first row. */
	lifeline(out, cap, &L, X_AXIS, Y_FIRST_ROW - 12, L.bottom, "stroke=\"" COLOR_DIM "\"");
	text(out, X_AXIS, Y_FIRST_ROW - 18, "text-anchor=\"middle\" font-size=\"11\" fill=\"" COLOR_DIM "\"", "ms", 4);
	lifeline(out, cap, &L, X_CLIENT, 92, L.bottom, "stroke=\"#999999\" stroke-width=\"2\"");
	lifeline(out, cap, &L, X_SERVER, 92, L.bottom, "stroke=\"#999999\" stroke-width=\"2\"");
	double last_state_y[2] = { -1e9, -1e9 };
	for (int side = 0; side < 2; side++) {
		/* A "?" marks a state assumed, not seen; the notes below say so in words. */
		snprintf(buf, sizeof(buf), "%s%s", ladder_state_name(cap->initial[side]), cap->mid_stream ? "?" : "");
		text(out, side == LADDER_CLIENT ? X_CLIENT - 8 : X_SERVER + 8, Y_FIRST_ROW - 22,
		     side == LADDER_CLIENT ? "text-anchor=\"end\" fill=\"" COLOR_STATE "\""
					   : "fill=\"" COLOR_STATE "\"", buf, 40);
	}
	draw_ticks(out, cap, &L);

	for (size_t i = 0; i < cap->nsegs; i++) {
		const struct ladder_seg *s = &cap->segs[i];
		double y = L.y[i];
		double xs = s->from == LADDER_CLIENT ? X_CLIENT : X_SERVER;
		double xr = s->from == LADDER_CLIENT ? X_SERVER : X_CLIENT;
		double rel_ms = (double)(s->t_ns - cap->segs[0].t_ns) / TERN_NS_PER_MS;

		if (L.brk[i]) {
			double z0, z1;
			break_zone(&L, i, &z0, &z1);
			snprintf(buf, sizeof(buf), "%.3f ms without segments (not to scale)",
				 (double)gap_ns(cap, i) / TERN_NS_PER_MS);
			text(out, X_MID, (z0 + z1) / 2 + 4, "text-anchor=\"middle\" font-style=\"italic\" fill=\""
			     COLOR_DIM "\"", buf, 80);
		}
		if (i == 0 || s->t_ns != cap->segs[i - 1].t_ns) {
			snprintf(buf, sizeof(buf), "%.3f", rel_ms);
			text(out, X_AXIS + 6, y + 4, "font-size=\"10\" fill=\"" COLOR_DIM "\"", buf, 24);
		}
		seg_label(cap, s, m, sizeof(m), o, sizeof(o));
		const char *color = s->retrans ? COLOR_RETX : COLOR_SEG;
		fprintf(out, "<g>\n<title>");
		snprintf(buf, sizeof(buf), "%s%.6f ms, %s > %s, seq %lu, ack %lu, %lu bytes of data",
			 s->retrans ? "retransmission, " : "", rel_ms, s->from == LADDER_CLIENT ? cl : sv,
			 s->from == LADDER_CLIENT ? sv : cl, (unsigned long)s->tcp.seq, (unsigned long)s->tcp.ack,
			 (unsigned long)s->tcp.payload_len);
		put_text(out, buf, 200);
		fprintf(out, "</title>\n<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			     "stroke-width=\"1.4\" marker-end=\"url(#%s)\"/>\n",
			xs, y, xr, y + SLANT, color, s->retrans ? "head-retx" : "head");
		snprintf(buf, sizeof(buf), "text-anchor=\"middle\" font-family=\"monospace\" fill=\"%s\"", color);
		text(out, X_MID, y + SLANT / 2.0 - 5, buf, m, MAIN_MAX_CHARS);
		if (o[0]) {
			snprintf(buf, sizeof(buf), "text-anchor=\"middle\" font-family=\"monospace\" "
				 "font-size=\"11\" fill=\"%s\"", s->retrans ? COLOR_RETX : COLOR_DIM);
			text(out, X_MID, y + SLANT / 2.0 + 13, buf, o, OPTS_MAX_CHARS);
		}
		fputs("</g>\n", out);
		draw_states(out, s->st_send, s->from, y, &last_state_y[s->from]);
		draw_states(out, s->st_arrive, !s->from, y + SLANT, &last_state_y[!s->from]);
	}

	/* Legend and notes. */
	double y = L.bottom + 24;
	fprintf(out, "<line x1=\"40\" y1=\"%.1f\" x2=\"80\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.4\" "
		     "marker-end=\"url(#head)\"/>\n", y - 4, y - 4, COLOR_SEG);
	text(out, 86, y, "", "segment", 20);
	fprintf(out, "<line x1=\"160\" y1=\"%.1f\" x2=\"200\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.4\" "
		     "marker-end=\"url(#head-retx)\"/>\n", y - 4, y - 4, COLOR_RETX);
	text(out, 206, y, "", "retransmission (resends sequence space already sent)", 80);
	text(out, 40, y + 18, "font-size=\"11\" fill=\"" COLOR_DIM "\"", cap->trace
	     ? "Arrows leave the sender at the traced time and all slant alike: one trace cannot tell "
	       "when a segment arrived."
	     : "Arrows leave the sender at the capture time and all slant alike: one capture cannot tell "
	       "when a segment arrived.", 140);
	text(out, 40, y + 34, "font-size=\"11\" fill=\"" COLOR_DIM "\"",
	     "Numbers relative to each side's ISN; states inferred from the segments (RFC 9293 3.3.2).", 140);
	y += 34;
	if (cap->total_segs > cap->nsegs) {
		snprintf(buf, sizeof(buf), "Only the first %zu of the connection's %llu segments are drawn.",
			 cap->nsegs, (unsigned long long)cap->total_segs);
		y += 16;
		text(out, 40, y, "font-size=\"11\" fill=\"" COLOR_RETX "\"", buf, 140);
	}
	if (cap->mid_stream) {
		y += 16;
		text(out, 40, y, "font-size=\"11\" fill=\"" COLOR_RETX "\"",
		     "The capture starts after the handshake: the first states are assumed.", 140);
	}
	snprintf(buf, sizeof(buf), "source: %s", path);
	y += 16;
	text(out, 40, y, "font-size=\"11\" fill=\"" COLOR_DIM "\"", buf, 140);
	fputs("</svg>\n", out);
	free(L.y);
	free(L.brk);
	free(L.has_opts);
	return 0;
}

/* ------------------------------------------------------------ command */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tern ladder [--conn N | --port P] [-o OUT.svg] [--title T] FILE\n"
		"       tern ladder --list FILE\n\n"
		"Draws the segments of one TCP connection in a capture or a trace as an SVG\n"
		"sequence diagram: client and server lifelines, an arrow per segment labelled\n"
		"in packetdrill syntax, the TCP state each side enters, time downwards.\n\n"
		"FILE (\"-\" for standard input) is either\n"
		"  - a classic pcap file with raw IP, Ethernet, Linux SLL/SLL2 or loopback\n"
		"    framing (what `tern pcap`, `tern demo --pcap` or tcpdump write), or\n"
		"  - a trace: the text `tern trace` (with or without --wall) or `tern demo`\n"
		"    prints, one line per segment such as\n"
		"      0.021980 10.0.0.2:80 > 10.0.0.1:35274  S. 0:0(0) ack 1 win 65160 <mss 1460>\n"
		"    Other lines are skipped; their number is reported on stderr.\n"
		"The kind is told from the file's first bytes.\n\n"
		"options:\n"
		"      --conn N    the N-th connection in the file, as --list numbers them\n"
		"      --port P    the first connection with P as either port\n"
		"      --list      list the connections and their packet counts, draw nothing\n"
		"  -o, --output F  write the SVG to F (default: standard output)\n"
		"      --title T   the picture's title\n"
		"  -h, --help      this text\n");
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || !*s || s[0] == '-' || s[0] == '+' || v == 0 || v > max)
		return false;
	*out = v;
	return true;
}

static int list_conns(const struct ladder_capture *cap)
{
	char a[32], b[32];
	printf("%5s  %-21s  %-21s  %9s  %12s\n", "conn", "client", "server", "packets", "start (s)");
	for (size_t i = 0; i < cap->nconns; i++) {
		const struct ladder_conn *c = &cap->conns[i];
		printf("%5zu  %-21s  %-21s  %9llu  %12.6f\n", i + 1,
		       endpoint_str(a, sizeof(a), c->addr[0], c->port[0]),
		       endpoint_str(b, sizeof(b), c->addr[1], c->port[1]), (unsigned long long)c->packets,
		       (double)(c->first_ns - cap->file_first_ns) / TERN_NS_PER_SEC);
	}
	if (cap->dropped)
		printf("(%llu packets of further connections not tracked: more than %d connections)\n",
		       (unsigned long long)cap->dropped, LADDER_MAX_CONNS);
	return fflush(stdout) ? 1 : 0;
}

enum { OPT_CONN = 256, OPT_PORT, OPT_LIST, OPT_TITLE, OPT_HELP };

int tern_cmd_ladder(int argc, char **argv)
{
	static const struct tern_tool_longopt longopts[] = {
		{ "conn", true, OPT_CONN }, { "port", true, OPT_PORT }, { "list", false, OPT_LIST },
		{ "output", true, 'o' }, { "title", true, OPT_TITLE }, { "help", false, OPT_HELP },
		{ NULL, false, 0 },
	};
	struct ladder_select sel = { 0 };
	struct tern_tool_getopt g;
	const char *output = NULL, *title = NULL;
	unsigned long v;
	int key;

	char **ops = calloc((size_t)argc + 1, sizeof(char *));
	if (!ops) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	tern_tool_getopt_init(&g, argc, argv, ops, PROG, stderr);
	while ((key = tern_tool_getopt(&g, "ho:", longopts)) != -1) {
		switch (key) {
		case OPT_CONN:
			if (!parse_ulong(g.arg, LADDER_MAX_CONNS, &v)) {
				fprintf(stderr, PROG ": --conn: '%s' is not a connection number (1, 2, ...)\n", g.arg);
				goto bad;
			}
			sel.conn = v;
			break;
		case OPT_PORT:
			if (!parse_ulong(g.arg, 65535, &v)) {
				fprintf(stderr, PROG ": --port: '%s' is not in 1..65535\n", g.arg);
				goto bad;
			}
			sel.port = (unsigned)v;
			break;
		case OPT_LIST:
			sel.list_only = true;
			break;
		case 'o':
			output = g.arg;
			break;
		case OPT_TITLE:
			title = g.arg;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			free(ops);
			return 0;
		default:
			goto bad;
		}
	}
	if (g.nops != 1) {
		fprintf(stderr, PROG ": %s (try '" PROG " --help')\n",
			g.nops ? "one file at a time" : "which capture or trace file?");
		goto bad;
	}
	if (sel.conn && sel.port) {
		fprintf(stderr, PROG ": --conn and --port both choose the connection; give one\n");
		goto bad;
	}
	const char *path = ops[0];
	free(ops);

	struct ladder_capture cap;
	char err[512];
	if (ladder_load(path, &sel, &cap, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	int rc = 1;
	if (!cap.nconns) {
		if (cap.trace)
			fprintf(stderr, PROG ": %s: no TCP segments in %llu line%s of text (not a trace?)\n", path,
				(unsigned long long)cap.records, cap.records == 1 ? "" : "s");
		else
			fprintf(stderr, PROG ": %s: no TCP segments in %llu records (%llu malformed)\n", path,
				(unsigned long long)cap.records, (unsigned long long)cap.malformed);
		goto out;
	}
	/* Said once, before anything else: a trace is often a program's whole output
	 * (`tern demo`), with other lines around the segments. */
	if (cap.trace && cap.malformed)
		fprintf(stderr, PROG ": %s: skipped %llu of %llu lines (not TCP segments in trace format)\n",
			path, (unsigned long long)cap.malformed, (unsigned long long)cap.records);
	if (sel.list_only) {
		rc = list_conns(&cap);
		goto out;
	}
	if (cap.chosen < 0) {
		if (sel.conn)
			fprintf(stderr, PROG ": %s: no connection %lu (the file has %zu; see --list)\n", path,
				sel.conn, cap.nconns);
		else
			fprintf(stderr, PROG ": %s: no connection uses port %u (see --list)\n", path, sel.port);
		goto out;
	}
	ladder_infer(&cap);
	char deftitle[256];
	if (!title) {
		snprintf(deftitle, sizeof(deftitle), "TCP connection %ld of %s", cap.chosen + 1,
			 strcmp(path, "-") ? tern_tool_basename(path) : "standard input");
		title = deftitle;
	}
	FILE *out = output ? fopen(output, "w") : stdout;
	if (!out) {
		fprintf(stderr, PROG ": %s: %s\n", output, strerror(errno));
		goto out;
	}
	int r = render(out, &cap, title, path);
	bool werr = ferror(out) != 0;
	if (output ? fclose(out) != 0 : fflush(out) != 0)
		werr = true;
	if (r < 0 || werr) {
		fprintf(stderr, PROG ": %s: %s\n", output ? output : "standard output",
			r < 0 ? "out of memory" : "write failed");
		if (output)
			remove(output);
		goto out;
	}
	rc = 0;
out:
	ladder_free(&cap);
	return rc;
bad:
	free(ops);
	return 2;
}
