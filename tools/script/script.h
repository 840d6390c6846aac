/*
 * tools/script/script.h: the insides of `tern script`, the packetdrill-language
 * interpreter (../shared/spec/packetdrill.md §1 is its specification).
 *
 * Four stages, one file each, sharing the types below:
 *   lexer.c    text -> tokens (comments dropped, backtick commands kept whole)
 *   parse.c    tokens -> struct script, the syntax tree; every error names its
 *              line and column
 *   run.c      the event loop: one fresh stack on the simulated network, the
 *              runner as the remote peer, virtual time, the socket-under-test
 *              bookkeeping, the queue of segments the stack sent
 *   pktmatch.c building injected segments, checking expected ones, printing both
 *   syscalls.c the system calls and their constants; blocking-call emulation
 *   shell.c    backtick commands, run through /bin/sh while the control socket
 *              is served so that ss, nstat and sysctl see this script's stack
 * tools/cmd_script.c is the command line around them.
 *
 * Times are nanoseconds of virtual time (tern_time) everywhere; scripts write
 * seconds and the parser converts exactly (no floating point).
 */
#ifndef TERN_TOOLS_SCRIPT_SCRIPT_H
#define TERN_TOOLS_SCRIPT_SCRIPT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tern/types.h"
#include "tern/wire.h"

struct tern_sim;
struct tern_stack;
struct tern_ctl_server;

/* ------------------------------------------------------------------ errors */

struct parse_error {
	int line;
	int col;
	char msg[256];
};

/* ------------------------------------------------------------------ lexer */

enum tok_kind {
	TOK_EOF,
	TOK_NUM,       /* 12, 0.100, .5, 0x1f: the text is kept, the parser converts */
	TOK_IDENT,     /* letters, digits, underscores; not starting with a digit */
	TOK_STRING,    /* "text": text excludes the quotes */
	TOK_CMD,       /* `text`: text excludes the backticks */
	TOK_OPTION,    /* --name or --name=value at the start of a line: text is "name=value" */
	TOK_ELLIPSIS,  /* ... */
	TOK_PUNCT,     /* one character: + - * ~ < > ( ) [ ] { } , = : | . */
};

struct token {
	enum tok_kind kind;
	char ch;               /* TOK_PUNCT */
	const char *text;      /* points into the source */
	size_t len;
	int line, col;         /* 1-based */
	size_t off;            /* byte offset of the token's start */
	size_t end;            /* byte offset just past it (delimiters included) */
	bool space_before;     /* whitespace or a comment separates it from the previous */
};

struct lexer {
	const char *src;
	size_t len, pos;
	int line, col;
	bool line_start;       /* only blanks since the last newline */
	bool has_peek;
	struct token peek;
	size_t last_end;       /* end of the last token handed out by lex_next */
	struct parse_error *err;
};

void lex_init(struct lexer *lx, const char *src, size_t len, struct parse_error *err);
/* The next token; false (with *err filled) on a lexical error. */
bool lex_next(struct lexer *lx, struct token *t);
bool lex_peek(struct lexer *lx, struct token *t);
/* After a '(' was consumed: the raw text up to the matching ')', which is
 * consumed too. For free-text notes such as "(Connection refused)". */
bool lex_raw_parens(struct lexer *lx, struct token *t);

/* ------------------------------------------------------------------ syntax tree */

enum time_kind { TIME_ABS, TIME_REL, TIME_ANY };

struct ev_time {
	enum time_kind kind;
	tern_time t;             /* absolute, or the offset from the event's base */
	bool range;              /* t~end: expected packets only */
	bool blocking;           /* t...end: system calls only */
	enum time_kind end_kind;
	tern_time end;
};

enum expr_kind { EXPR_ELLIPSIS, EXPR_INT, EXPR_STRING, EXPR_LIST, EXPR_STRUCT };

struct expr {
	enum expr_kind kind;
	int line, col;
	long long num;           /* EXPR_INT */
	char *str;               /* EXPR_STRING */
	char *field;             /* name of a struct member ("onoff"), else NULL */
	struct expr *items;      /* EXPR_LIST, EXPR_STRUCT */
	size_t nitems;
};

enum opts_mode { OPTS_NONE, OPTS_LIST, OPTS_ANY };

struct pkt_spec {
	bool inbound;            /* '<' injected; '>' expected */
	bool ports;              /* explicit sport>dport */
	uint16_t sport, dport;
	uint8_t flags;           /* TERN_TCP_* */
	uint32_t seq;
	uint32_t len;            /* payload bytes */
	bool has_ack, has_win, has_urg;
	uint32_t ack;
	uint16_t win;
	uint16_t urg;
	enum opts_mode opts_mode;
	struct tern_tcp_opts opts;
	size_t opts_bytes;       /* their length on the wire */
};

/* The system calls the runner knows. */
enum call_id {
	CALL_SOCKET, CALL_BIND, CALL_LISTEN, CALL_ACCEPT, CALL_ACCEPT4, CALL_CONNECT,
	CALL_READ, CALL_WRITE, CALL_RECV, CALL_SEND, CALL_CLOSE, CALL_SHUTDOWN,
	CALL_SETSOCKOPT, CALL_GETSOCKOPT, CALL_FCNTL, CALL_POLL, CALL_EPOLL_CREATE,
	CALL_EPOLL_CTL, CALL_EPOLL_WAIT, CALL_GETSOCKNAME, CALL_GETPEERNAME,
};

struct call_spec {
	enum call_id id;
	const char *name;        /* static */
	struct expr *args;
	size_t nargs;
	long long result;
	int err;                 /* expected errno (positive), 0 for none */
};

enum ev_type { EV_PACKET, EV_CALL, EV_COMMAND };

struct event {
	enum ev_type type;
	int line, col;
	char *text;              /* the event as written, blanks collapsed */
	struct ev_time time;
	struct pkt_spec pkt;
	struct call_spec call;
	char *cmd;
};

struct script {
	char *path;
	char *init_cmd;
	int init_line;
	char *cleanup_cmd;
	int cleanup_line;
	struct event *ev;
	size_t nev;
	/* From option lines (--name=value), with packetdrill's defaults. */
	long long tolerance_us;  /* --tolerance_usecs, default 4000 */
	double tolerance_pct;    /* --tolerance_percent, default 12.5 */
	long long ts_tick_us;    /* --tcp_ts_tick_usecs, 0 = TS val not checked */
	int bind_port;           /* --bind_port, default 8080 */
	int connect_port;        /* --connect_port, default 8080 */
	char **ignored_opts;     /* options accepted but without effect */
	size_t nignored;
};

/* Parses `text`; 0, or -1 with *err set (the script is left empty). */
int script_parse(const char *path, const char *text, size_t len, struct script *out,
		 struct parse_error *err);
void script_free(struct script *sc);

/* Looks up a symbolic constant (SOCK_STREAM, O_NONBLOCK, POLLIN, errno names...). */
bool script_const(const char *name, size_t len, long long *out);
/* The call's id and arity; false for an unknown name. */
bool script_call_lookup(const char *name, size_t len, enum call_id *id, const char **canon,
			size_t *min_args, size_t *max_args);

/* ------------------------------------------------------------------ running */

struct run_opts {
	bool verbose;
	bool strict;
	uint64_t seed;
	FILE *vout;                      /* the -v timeline */
	struct tern_ctl_server *ctl;     /* NULL: shell commands run without one */
	const char *ctl_path;            /* $TERN_CTL for commands */
	const char *shim_dir;            /* put first on $PATH for commands */
};

struct run_result {
	bool pass;
	int line;                /* of the failing event (0: the script as a whole) */
	char *msg;               /* one line, then optional indented detail lines */
};

/* Runs one parsed script against a fresh stack. */
void script_run(const struct script *sc, const struct run_opts *o, struct run_result *res);

/* What the runner follows: packetdrill's `struct socket`, one per socket() or
 * per passive connection started by an injected segment. */
enum conn_state {
	CONN_NEW,                /* socket() made it */
	CONN_LISTENING,          /* listen() */
	CONN_CONNECTING,         /* connect() called, SYN not yet seen in the script */
	CONN_SYN_SENT,           /* the script expects (or saw) our SYN */
	CONN_SYN_ACKED,          /* active side: the peer's SYN-ACK was injected */
	CONN_PASSIVE,            /* an injected segment started it */
	CONN_SYNACK_SENT,        /* our SYN-ACK was seen */
	CONN_SYNACK_ACKED,       /* the handshake's ACK was injected */
};

struct ts_pair {
	uint32_t script_val;
	uint32_t live_val;
};

struct conn {
	enum conn_state state;
	int id;                  /* creation order, for logs */
	bool tuple;              /* ports known */
	uint16_t lport, rport;   /* ours (tern's) and the peer's */
	bool isn_known;
	uint32_t script_isn, live_isn;   /* tern's ISN: as the script wrote it, live */
	bool remote_known;
	uint32_t remote_isn;             /* the peer's (the runner's) ISN, from its SYN */
	struct ts_pair *ts;      /* script TS val -> the live one it stood for */
	size_t nts, cap_ts;
	bool ts_base;
	uint32_t ts_first_script, ts_first_live;
};

struct fd_map {
	int script_fd;
	int live_fd;
	struct conn *conn;       /* NULL for epoll descriptors */
};

/* One datagram the stack sent to the runner. */
struct out_pkt {
	tern_time at;
	uint8_t *buf;
	size_t len;
	bool tcp_ok;             /* parsed as TCP (IPv4 header checksum right) */
	bool bad_csum;           /* ... but its TCP checksum is wrong */
	struct tern_ipv4 ip;
	struct tern_tcp tcp;
	bool on_sut;             /* on the socket under test's 4-tuple when it was sent */
};

/* A system call that waits in virtual time (a blocking socket, or poll with a
 * timeout). Only one at a time, like packetdrill's one system-call thread. */
struct call_ctx;

struct pending {
	bool active;
	const struct event *ev;
	bool explicit_end;       /* written with "...end" */
	tern_time start;
	tern_time end;           /* when the script says it returns */
	tern_time tol;
	tern_time deadline;      /* poll/epoll timeout, else TERN_TIME_NEVER */
	struct call_ctx *ctx;
};

struct runner {
	const struct script *sc;
	const struct run_opts *o;
	struct tern_sim *sim;
	struct tern_stack *st;
	int ep_node;
	struct conn **conns;
	size_t nconns, cap_conns;
	struct conn *sut;        /* the socket under test, NULL before any */
	struct fd_map *fds;
	size_t nfds, cap_fds;
	struct out_pkt *q;       /* segments sent by the stack, oldest first */
	size_t qhead, qlen, qcap;
	uint16_t next_port;      /* the next "ephemeral" remote port */
	uint16_t ip_id;
	struct pending blk;
	const struct event *cur; /* the event being run */
	bool failed;
	int fail_line;
	char *fail_msg;
	bool runaway;
};

/* run.c, for the other stages */
tern_time run_now(const struct runner *r);
void run_sync_stack(struct runner *r);        /* the stack's clock to the sim's */
void run_settle(struct runner *r);            /* everything due at this instant */
void run_fail(struct runner *r, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void run_vlog(struct runner *r, tern_time t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct conn *run_new_conn(struct runner *r, enum conn_state state);
struct fd_map *run_fd(struct runner *r, int script_fd);
void run_map_fd(struct runner *r, int script_fd, int live_fd, struct conn *c);
void run_unmap_fd(struct runner *r, int script_fd);
void fmt_time(char *buf, size_t cap, tern_time t);

/* pktmatch.c */
/* What packetdrill adds to script numbers to get live ones (its
 * local_seq_script_to_live_offset / remote_seq_script_to_live_offset): in a SYN
 * or SYN-ACK line numbers are absolute (ours shifted by live - script ISN), after
 * that both sides' numbers are relative to their ISN. */
uint32_t conn_local_offset(const struct conn *c, bool is_syn);
uint32_t conn_remote_offset(const struct conn *c, bool is_syn);
/* Builds the datagram for an injected line; false with `why` on failure. */
bool pkt_build(struct runner *r, const struct pkt_spec *ps, const struct conn *c,
	       uint8_t *buf, size_t cap, size_t *len, char *why, size_t whycap);
/* Compares an expected line with what the stack sent; false with `why` listing
 * every difference. Records the TS val mapping. */
bool pkt_match(struct runner *r, const struct pkt_spec *ps, struct conn *c,
	       const struct out_pkt *p, tern_time tol, char *why, size_t whycap);
void pkt_format_spec(const struct pkt_spec *ps, char *buf, size_t cap);
/* A segment in script numbers when `c` is known, else absolute. */
void pkt_format_live(const struct tern_tcp *seg, const struct conn *c, bool ports,
		     char *buf, size_t cap);

/* One simulator step no later than `limit` (the pending call's timeout counts as
 * a step); false when nothing is due by then. */
bool run_step(struct runner *r, tern_time limit);

/* syscalls.c */
void call_run(struct runner *r, const struct event *ev, tern_time start, tern_time end,
	      tern_time tol);
/* Tries to finish the pending call; true if it finished (or failed). */
bool call_poll_pending(struct runner *r);
/* Drops a pending call's resources (end of script). */
void call_discard_pending(struct runner *r);

/* shell.c: runs `cmd` through /bin/sh; false (and run_fail) if it failed. `what`
 * names it in messages ("command", "init command", "cleanup command"). */
bool shell_run(struct runner *r, const char *cmd, int line, const char *what);

#endif
