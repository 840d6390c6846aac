/*
 * tools/bench_peer.c: the stateless TCP client of tools/bench_peer.h.
 *
 * What it sends, segment by segment:
 *   SYN      seq = a value derived from the 4-tuple, options MSS 1460, SACK
 *            permitted, timestamps, window scale 7 (what a Linux client offers);
 *   ACK      for a SYN-ACK: seq = its ack, ack = its seq + 1, timestamps echoed;
 *   FIN+ACK  for a FIN (when answer_fin is set): seq = its ack, ack = its seq +
 *            its payload + 1, so the tern side sees its FIN acknowledged and the
 *            peer's FIN in one segment and goes straight to TIME-WAIT.
 * Anything else is ignored (the tern side's final ACK, RSTs, which are counted).
 * The peer's timestamp clock is virtual milliseconds, so TSval never goes back.
 */
#include "bench_peer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tern/sim.h"
#include "tern/wire.h"

#define PEER_MSS 1460
#define PEER_WSCALE 7
#define PEER_WIN 65535

/* Builds one IPv4/TCP datagram into buf and injects it. `syn_opts` selects the
 * SYN's option list; otherwise only timestamps are sent. */
static int peer_send(struct bench_peer *p, uint32_t src, uint32_t dst, uint16_t sport,
		     uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint32_t ts_ecr,
		     bool syn_opts)
{
	uint8_t buf[TERN_IPV4_HDR_LEN + TERN_TCP_HDR_LEN + TERN_TCP_MAX_OPT_LEN];
	struct tern_tcp seg;
	memset(&seg, 0, sizeof(seg));
	seg.sport = sport;
	seg.dport = dport;
	seg.seq = seq;
	seg.ack = ack;
	seg.flags = flags;
	seg.win = PEER_WIN;
	struct tern_tcp_opts *o = &seg.opt;
	o->ts_val = (uint32_t)(tern_sim_now(p->sim) / TERN_NS_PER_MS) + 1;
	o->ts_ecr = ts_ecr;
	o->present = TERN_TCPOPT_HAS_TS;
	if (syn_opts) {
		static const uint8_t kinds[] = { TERN_TCPOPT_MSS, TERN_TCPOPT_SACK_PERM, TERN_TCPOPT_TS,
						 TERN_TCPOPT_NOP, TERN_TCPOPT_WSCALE };
		static const uint8_t lens[] = { 4, 2, 10, 1, 3 };
		o->present |= TERN_TCPOPT_HAS_MSS | TERN_TCPOPT_HAS_SACK_PERM | TERN_TCPOPT_HAS_WSCALE;
		o->mss = PEER_MSS;
		o->wscale = PEER_WSCALE;
		o->count = sizeof(kinds);
		memcpy(o->kinds, kinds, sizeof(kinds));
		memcpy(o->lens, lens, sizeof(lens));
	} else {
		static const uint8_t kinds[] = { TERN_TCPOPT_NOP, TERN_TCPOPT_NOP, TERN_TCPOPT_TS };
		static const uint8_t lens[] = { 1, 1, 10 };
		o->count = sizeof(kinds);
		memcpy(o->kinds, kinds, sizeof(kinds));
		memcpy(o->lens, lens, sizeof(lens));
	}
	size_t tl = tern_tcp_build(buf + TERN_IPV4_HDR_LEN, sizeof(buf) - TERN_IPV4_HDR_LEN, &seg,
				   src, dst);
	if (tl == 0)
		return -EINVAL;
	struct tern_ipv4 ip;
	memset(&ip, 0, sizeof(ip));
	ip.ttl = 64;
	ip.proto = TERN_IPPROTO_TCP;
	ip.frag = TERN_IP_DF;
	ip.src = src;
	ip.dst = dst;
	if (tern_ipv4_build(buf, sizeof(buf), &ip, (uint16_t)tl) == 0)
		return -EINVAL;
	int r = tern_sim_inject(p->sim, p->node, buf, TERN_IPV4_HDR_LEN + tl);
	if (r < 0)
		p->send_errors++;
	return r;
}

/* The endpoint's receive hook: answer what needs an answer, from the segment alone. */
static void peer_rx(void *ctx, struct tern_sim *sim, int node, tern_time now, const uint8_t *pkt,
		    size_t len)
{
	(void)sim;
	(void)node;
	(void)now;
	struct bench_peer *p = ctx;
	struct tern_ipv4 ip;
	struct tern_tcp t;
	if (tern_ipv4_parse(pkt, len, &ip) != TERN_WIRE_OK || ip.proto != TERN_IPPROTO_TCP)
		return;
	if (tern_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &t) != TERN_WIRE_OK)
		return;
	uint32_t ecr = (t.opt.present & TERN_TCPOPT_HAS_TS) ? t.opt.ts_val : 0;
	if (t.flags & TERN_TCP_RST) {
		p->resets++;
		return;
	}
	if (p->mute)
		return;
	if ((t.flags & (TERN_TCP_SYN | TERN_TCP_ACK)) == (TERN_TCP_SYN | TERN_TCP_ACK)) {
		if (peer_send(p, ip.dst, ip.src, t.dport, t.sport, t.ack, t.seq + 1, TERN_TCP_ACK,
			      ecr, false) == 0)
			p->synacks++;
		return;
	}
	if ((t.flags & TERN_TCP_FIN) && p->answer_fin) {
		uint32_t ack = t.seq + t.payload_len + 1;
		if (peer_send(p, ip.dst, ip.src, t.dport, t.sport, t.ack, ack,
			      TERN_TCP_FIN | TERN_TCP_ACK, ecr, false) == 0)
			p->fins++;
	}
}

int bench_peer_add(struct bench_peer *p, struct tern_sim *sim, uint32_t addr)
{
	memset(p, 0, sizeof(*p));
	p->sim = sim;
	p->addr = addr;
	struct tern_addr a = { .family = TERN_AF_INET };
	a.u.v4 = addr;
	int node = tern_sim_add_endpoint(sim, &a, peer_rx, p);
	if (node < 0)
		return node;
	p->node = node;
	return 0;
}

int bench_peer_syn(struct bench_peer *p, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	/* Any ISS works; a mix of the tuple keeps them apart. */
	uint32_t iss = (src * 2654435761u) ^ ((uint32_t)sport << 16 | dport) ^ 0x5bd1e995u;
	return peer_send(p, src, dst, sport, dport, iss, 0, TERN_TCP_SYN, 0, true);
}

long long bench_parse_count(const char *text)
{
	if (!text || !*text)
		return -1;
	char *end;
	errno = 0;
	long long x = strtoll(text, &end, 10);
	if (errno || end == text || x < 0)
		return -1;
	long long mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1000;
	else if (*end == 'M')
		mul = 1000000;
	else if (*end == 'G')
		mul = 1000000000;
	if (mul != 1)
		end++;
	if (*end || x > (long long)1e15 / mul)
		return -1;
	return x * mul;
}
