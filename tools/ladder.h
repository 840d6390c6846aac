/*
 * tools/ladder.h: the model behind `tern ladder` (tools/cmd_ladder.c draws it).
 *
 * ladder_load reads a classic pcap file or a text trace (the lines `tern trace`
 * and `tern demo` print), sorts its TCP segments into connections and keeps the
 * segments of the one asked for; ladder_infer then marks
 * retransmissions and works out the RFC 9293 §3.3.2 state each side enters as the
 * segments go by. Everything here is pure bookkeeping over the capture: the
 * drawing, the options and the messages live in cmd_ladder.c.
 */
#ifndef TERN_TOOLS_LADDER_H
#define TERN_TOOLS_LADDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/types.h"
#include "tern/wire.h"

/* Segments of one connection kept for drawing. At ~32 px a row, 5000 rows are
 * already a 160,000 px tall picture; the rest are counted and mentioned. */
#define LADDER_MAX_SEGS 5000
/* Connections tracked in one file (a scan of a busy server's capture must not
 * grow without bound); packets of later new connections are counted as skipped. */
#define LADDER_MAX_CONNS 1000000

/* The two sides: the client sent the first SYN (or, without one, is the guess
 * described in ladder.c), the server is the other. */
#define LADDER_CLIENT 0
#define LADDER_SERVER 1

/* RFC 9293 §3.3.2 states, as the ladder names them. 0 means "no change". */
enum ladder_state {
	LADDER_ST_NONE = 0,
	LADDER_ST_CLOSED,
	LADDER_ST_LISTEN,
	LADDER_ST_SYN_SENT,
	LADDER_ST_SYN_RECEIVED,
	LADDER_ST_ESTABLISHED,
	LADDER_ST_FIN_WAIT_1,
	LADDER_ST_FIN_WAIT_2,
	LADDER_ST_CLOSE_WAIT,
	LADDER_ST_CLOSING,
	LADDER_ST_LAST_ACK,
	LADDER_ST_TIME_WAIT,
};

/* Up to this many state changes of one side at one instant (an ACK of the peer's
 * FIN that also carries our own FIN: CLOSE-WAIT then LAST-ACK). */
#define LADDER_MAX_CHANGES 3

struct ladder_conn {
	uint32_t addr[2];          /* [LADDER_CLIENT], [LADDER_SERVER]; host order */
	uint16_t port[2];
	uint64_t packets;
	tern_time first_ns;        /* capture time of its first segment */
	/* Scan bookkeeping: a fresh SYN on a finished 4-tuple starts a new connection. */
	bool syn_seen;
	bool ended;                /* a FIN or RST went by */
	uint32_t client_isn;
};

struct ladder_seg {
	tern_time t_ns;                          /* capture time */
	uint8_t from;                            /* LADDER_CLIENT or LADDER_SERVER */
	bool retrans;                            /* resends sequence space sent before */
	uint8_t st_send[LADDER_MAX_CHANGES];     /* states the sender enters (0-ended) */
	uint8_t st_arrive[LADDER_MAX_CHANGES];   /* states the receiver enters */
	struct tern_tcp tcp;                     /* payload pointer cleared */
};

/* Which connection to keep: conn (1-based, as --list numbers them), else the
 * first using port, else the first. list_only keeps none. */
struct ladder_select {
	unsigned long conn;
	unsigned port;
	bool list_only;
};

struct ladder_capture {
	bool trace;                              /* a text trace rather than a pcap file */
	unsigned linktype;                       /* pcap only */
	tern_time file_first_ns;                 /* first record's (or timed line's) time */
	uint64_t records;                        /* pcap records, or non-blank trace lines */
	/* pcap: IPv4 or TCP headers that did not parse; trace: lines that are not TCP
	 * segments in the trace format (skipped). */
	uint64_t malformed;
	uint64_t dropped;                        /* TCP packets past LADDER_MAX_CONNS */
	struct ladder_conn *conns;
	size_t nconns;
	long chosen;                             /* index into conns, -1 for none */
	struct ladder_seg *segs;
	size_t nsegs;                            /* at most LADDER_MAX_SEGS */
	uint64_t total_segs;                     /* of the chosen connection */
	/* Set by ladder_infer. */
	uint8_t initial[2];                      /* each side's state before the first segment */
	uint32_t base[2];                        /* each side's ISN, for relative numbers */
	bool mid_stream;                         /* no handshake seen: states assumed */
};

/* Reads `path` ("-": standard input), a pcap file or a trace, whichever its first
 * bytes say it is. On failure returns -1 with a one-line reason in err (no newline)
 * and leaves nothing to free; on success 0, with ladder_free to call. */
int ladder_load(const char *path, const struct ladder_select *sel, struct ladder_capture *cap,
		char *err, size_t errcap);
/* Fills base[], initial[], mid_stream and each segment's retrans and states. */
void ladder_infer(struct ladder_capture *cap);
void ladder_free(struct ladder_capture *cap);
/* "SYN-SENT" and so on; "?" for anything else. */
const char *ladder_state_name(uint8_t st);

#endif
