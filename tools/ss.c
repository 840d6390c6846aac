/*
 * tools/ss.c: `ss` as iproute2 prints it, for a tern stack's TCP sockets.
 *
 * Reached through the control socket (tools/ctl.c): a script's `ss -tanH state
 * time-wait` runs here against the stack under test. The sockets come from
 * tern_diag_foreach (include/tern/diag.h), which reports them as Linux's inet_diag
 * does; this file only selects and lays them out. Measured against iproute2 6.1 on
 * Linux 6.18; tests/shell/tools_vs_kernel.sh compares the two side by side.
 *
 * Selection, as ss does it: without -a or -l the TCP table shows the "connected"
 * states, which for ss exclude LISTEN, TIME-WAIT, SYN-RECV and CLOSE; -l shows
 * listeners, -a everything; `state NAME` (repeatable, also the groups `all`,
 * `connected`, `synchronized`, `bucket`, `big`) and `exclude NAME` replace that
 * choice; then an expression over ports and addresses (sport, dport, src, dst with
 * = != < > <= >= and their word forms, and/or/not, parentheses, words separated by
 * blanks) picks sockets. Linux never lists a TCP socket in CLOSE, so neither do we.
 *
 * Layout, as ss does it when stdout is not a terminal: each column is as wide as
 * its longest cell plus its one-space left delimiter (the first visible column has
 * none); "Local Address:" and "Peer Address:" are right-aligned, the rest padded
 * on the right; the State column disappears when the state filter names a single
 * state, the Netid column when only one socket table is asked for. Two quirks are
 * part of the output and reproduced: every padded cell keeps its trailing blanks,
 * and the -o timer text of the very last line does not count towards its column's
 * width (ss measures a cell when it moves past it, and it never moves past the
 * last one), so that line's timer sticks out while a timer on any other line pads
 * every line.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tern.h"
#include "tern/diag.h"
#include "tern/sysctl.h"

/* ------------------------------------------------------------ states, tables */

/* One bit per state, with Linux's state numbers (bit 0 is "unknown"). */
#define ST(s)       (1u << (s))
#define SS_ALL      0xfffu
#define SS_CLOSED   ST(TERN_STATE_CLOSE)
#define SS_LISTENS  ST(TERN_STATE_LISTEN)
#define SS_CONN     (SS_ALL & ~(SS_LISTENS | SS_CLOSED | ST(TERN_STATE_TIME_WAIT) | \
			       ST(TERN_STATE_SYN_RECV)))

/* The socket tables ss knows; only TCP has anything in tern. */
enum { DB_TCP, DB_MPTCP, DB_DCCP, DB_UDP, DB_RAW, DB_UNIX_DG, DB_UNIX_ST, DB_UNIX_SQ,
       DB_PACKET_DG, DB_PACKET_R, DB_NETLINK, DB_SCTP, DB_VSOCK_ST, DB_VSOCK_DG, DB_TIPC,
       DB_XDP, DB_COUNT };
enum { FAM_INET, FAM_INET6, FAM_UNIX, FAM_PACKET, FAM_NETLINK, FAM_VSOCK, FAM_TIPC, FAM_XDP,
       FAM_COUNT };
#define B(x) (1u << (x))
#define DBS_INET  (B(DB_TCP) | B(DB_MPTCP) | B(DB_DCCP) | B(DB_UDP) | B(DB_SCTP) | B(DB_RAW))
#define DBS_UNIX  (B(DB_UNIX_DG) | B(DB_UNIX_ST) | B(DB_UNIX_SQ))
#define DBS_PKT   (B(DB_PACKET_DG) | B(DB_PACKET_R))
#define DBS_VSOCK (B(DB_VSOCK_ST) | B(DB_VSOCK_DG))
#define DBS_ALL   (DBS_INET | DBS_UNIX | DBS_PKT | DBS_VSOCK | B(DB_NETLINK) | B(DB_XDP))
#define TIPC_CONN (ST(TERN_STATE_ESTABLISHED) | SS_LISTENS | SS_CLOSED)

/* What each table shows by default and which families it belongs to. */
static const struct { unsigned states, families; } db_default[DB_COUNT] = {
	[DB_TCP] = { SS_CONN, B(FAM_INET) | B(FAM_INET6) },
	[DB_MPTCP] = { SS_CONN, B(FAM_INET) | B(FAM_INET6) },
	[DB_DCCP] = { SS_CONN, B(FAM_INET) | B(FAM_INET6) },
	[DB_UDP] = { ST(TERN_STATE_ESTABLISHED), B(FAM_INET) | B(FAM_INET6) },
	[DB_RAW] = { ST(TERN_STATE_ESTABLISHED), B(FAM_INET) | B(FAM_INET6) },
	[DB_UNIX_DG] = { SS_CLOSED, B(FAM_UNIX) },
	[DB_UNIX_ST] = { SS_CONN, B(FAM_UNIX) },
	[DB_UNIX_SQ] = { SS_CONN, B(FAM_UNIX) },
	[DB_PACKET_DG] = { SS_CLOSED, B(FAM_PACKET) },
	[DB_PACKET_R] = { SS_CLOSED, B(FAM_PACKET) },
	[DB_NETLINK] = { SS_CLOSED, B(FAM_NETLINK) },
	[DB_SCTP] = { SS_CONN, B(FAM_INET) | B(FAM_INET6) },
	[DB_VSOCK_ST] = { SS_CONN, B(FAM_VSOCK) },
	[DB_VSOCK_DG] = { SS_CONN, B(FAM_VSOCK) },
	[DB_TIPC] = { TIPC_CONN, B(FAM_TIPC) },
	[DB_XDP] = { SS_CLOSED, B(FAM_XDP) },
};
/* ...and what each family brings. */
static const struct { unsigned dbs, states; } fam_default[FAM_COUNT] = {
	[FAM_INET] = { DBS_INET, SS_CONN },
	[FAM_INET6] = { DBS_INET, SS_CONN },
	[FAM_UNIX] = { DBS_UNIX, SS_CONN },
	[FAM_PACKET] = { DBS_PKT, SS_CLOSED },
	[FAM_NETLINK] = { B(DB_NETLINK), SS_CLOSED },
	[FAM_VSOCK] = { DBS_VSOCK, SS_CONN },
	[FAM_TIPC] = { B(DB_TIPC), TIPC_CONN },
	[FAM_XDP] = { B(DB_XDP), SS_CLOSED },
};

/* -A names. */
static const struct { const char *name; unsigned dbs; } db_names[] = {
	{ "all", DBS_ALL }, { "inet", DBS_INET }, { "udp", B(DB_UDP) }, { "dccp", B(DB_DCCP) },
	{ "tcp", B(DB_TCP) }, { "mptcp", B(DB_MPTCP) }, { "sctp", B(DB_SCTP) }, { "raw", B(DB_RAW) },
	{ "unix", DBS_UNIX }, { "unix_stream", B(DB_UNIX_ST) }, { "u_str", B(DB_UNIX_ST) },
	{ "unix_dgram", B(DB_UNIX_DG) }, { "u_dgr", B(DB_UNIX_DG) },
	{ "unix_seqpacket", B(DB_UNIX_SQ) }, { "u_seq", B(DB_UNIX_SQ) },
	{ "packet", DBS_PKT }, { "packet_raw", B(DB_PACKET_R) }, { "p_raw", B(DB_PACKET_R) },
	{ "packet_dgram", B(DB_PACKET_DG) }, { "p_dgr", B(DB_PACKET_DG) },
	{ "netlink", B(DB_NETLINK) }, { "vsock", DBS_VSOCK }, { "vsock_stream", B(DB_VSOCK_ST) },
	{ "v_str", B(DB_VSOCK_ST) }, { "vsock_dgram", B(DB_VSOCK_DG) }, { "v_dgr", B(DB_VSOCK_DG) },
	{ "tipc", B(DB_TIPC) }, { "xdp", B(DB_XDP) },
};

/* -f names. */
static const struct { const char *name; int fam; } fam_names[] = {
	{ "inet", FAM_INET }, { "inet6", FAM_INET6 }, { "link", FAM_PACKET }, { "unix", FAM_UNIX },
	{ "netlink", FAM_NETLINK }, { "vsock", FAM_VSOCK }, { "tipc", FAM_TIPC }, { "xdp", FAM_XDP },
};

/* `state` names: single states, then the groups. */
static const struct { const char *name; unsigned states; } state_names[] = {
	{ "established", ST(TERN_STATE_ESTABLISHED) }, { "syn-sent", ST(TERN_STATE_SYN_SENT) },
	{ "syn-recv", ST(TERN_STATE_SYN_RECV) }, { "syn-rcv", ST(TERN_STATE_SYN_RECV) },
	{ "fin-wait-1", ST(TERN_STATE_FIN_WAIT1) }, { "fin-wait-2", ST(TERN_STATE_FIN_WAIT2) },
	{ "time-wait", ST(TERN_STATE_TIME_WAIT) }, { "unconnected", SS_CLOSED },
	{ "close", SS_CLOSED }, { "closed", SS_CLOSED },
	{ "close-wait", ST(TERN_STATE_CLOSE_WAIT) }, { "last-ack", ST(TERN_STATE_LAST_ACK) },
	{ "listening", SS_LISTENS }, { "closing", ST(TERN_STATE_CLOSING) },
	{ "unknown", 1 },
	{ "all", SS_ALL },
	{ "connected", SS_ALL & ~(SS_CLOSED | SS_LISTENS) },
	{ "synchronized", SS_ALL & ~(SS_CLOSED | SS_LISTENS | ST(TERN_STATE_SYN_SENT)) },
	{ "bucket", ST(TERN_STATE_SYN_RECV) | ST(TERN_STATE_TIME_WAIT) },
	{ "big", SS_ALL & ~(ST(TERN_STATE_SYN_RECV) | ST(TERN_STATE_TIME_WAIT)) },
};

/* ------------------------------------------------------------ the expression */

enum ex_kind { EX_AND, EX_OR, EX_NOT, EX_SRC, EX_DST, EX_SPORT_GE, EX_SPORT_LE, EX_DPORT_GE,
	       EX_DPORT_LE, EX_AUTOBOUND };

/* EX_SRC/EX_DST match a port (-1: any) and an address prefix (plen 0: any). */
struct ex {
	enum ex_kind kind;
	struct ex *a, *b;
	int port;
	uint32_t addr;
	int plen;
};

struct ex_parser {
	char **tok;
	int ntok, pos;
	const struct tern_stack *st;
	FILE *err;
	int status;          /* nonzero once an error has been reported */
	bool after_port;     /* the last condition was sport/dport: ss reads a bare
				word that follows as another port */
};

static struct ex *ex_new(struct ex_parser *p, enum ex_kind kind, struct ex *a, struct ex *b)
{
	struct ex *e = calloc(1, sizeof(*e));
	if (!e) {
		if (!p->status)
			fputs("ss: out of memory\n", p->err);
		p->status = 1;
		return NULL;
	}
	e->kind = kind;
	e->a = a;
	e->b = b;
	e->port = -1;
	return e;
}

static void ex_free(struct ex *e)
{
	if (!e)
		return;
	ex_free(e->a);
	ex_free(e->b);
	free(e);
}

static const char *peek(const struct ex_parser *p)
{
	return p->pos < p->ntok ? p->tok[p->pos] : NULL;
}

static bool is_word(const char *t, const char *const *words)
{
	for (; t && *words; words++)
		if (!strcmp(t, *words))
			return true;
	return false;
}

static const char *const w_or[] = { "or", "|", "||", NULL };
static const char *const w_and[] = { "and", "&", "&&", NULL };
static const char *const w_not[] = { "not", "!", NULL };
static const char *const w_eq[] = { "=", "==", "eq", NULL };
static const char *const w_ne[] = { "!=", "ne", "neq", NULL };
static const char *const w_ge[] = { ">=", "ge", "geq", NULL };
static const char *const w_le[] = { "<=", "le", "leq", NULL };
static const char *const w_gt[] = { ">", "gt", NULL };
static const char *const w_lt[] = { "<", "lt", NULL };

static void syntax_error(struct ex_parser *p)
{
	if (p->status)
		return;
	fputs("ss: bison bellows (while parsing filter): \"syntax error!\" Sorry.\n", p->err);
	p->status = 255;
}

static void port_error(struct ex_parser *p, const char *text)
{
	if (p->status)
		return;
	fprintf(p->err, "Error: \"%s\" does not look like a port.\nCannot parse dst/src address.\n", text);
	p->status = 1;
}

static void addr_error(struct ex_parser *p, const char *text)
{
	if (p->status)
		return;
	fprintf(p->err, "Error: an inet prefix is expected rather than \"%s\".\n"
			"Cannot parse dst/src address.\n", text);
	p->status = 1;
}

/* A port as ss reads one: '*' for any, a number (C syntax: 0x1f90 works), or a
 * service name from the services database. -2 when it is none of those. */
static int parse_port(const char *s)
{
	if (!strcmp(s, "*"))
		return -1;
	if (!*s)
		return -2;
	char *end;
	long v = strtol(s, &end, 0);
	if (!*end)
		return v >= 0 && v <= 65535 ? (int)v : -2;
	struct servent se, *res = NULL;
	char buf[1024];
	if (getservbyname_r(s, "tcp", &se, buf, sizeof(buf), &res) == 0 && res)
		return ntohs((uint16_t)res->s_port);
	return -2;
}

/* `sport`/`dport` operand: ":8080", "8080", ":http", "*". */
static struct ex *port_cond(struct ex_parser *p, bool src, const char *text)
{
	const char *s = text[0] == ':' ? text + 1 : text;
	int port = parse_port(s);
	if (port == -2) {
		port_error(p, s);
		return NULL;
	}
	struct ex *e = ex_new(p, src ? EX_SRC : EX_DST, NULL, NULL);
	if (e)
		e->port = port;
	return e;
}

/* `src`/`dst` operand: ADDR, ADDR/LEN, ADDR:PORT, ADDR/LEN:PORT, *:PORT, :PORT, *,
 * [ADDR]:PORT, with an optional "inet:" in front. IPv4 only, as tern is. */
static struct ex *host_cond(struct ex_parser *p, bool src, const char *text)
{
	char buf[256];
	const char *orig = text;

	if (!strncmp(text, "inet:", 5))
		text += 5;
	if (strlen(text) >= sizeof(buf)) {
		addr_error(p, orig);
		return NULL;
	}
	strcpy(buf, text);

	char *host = buf, *port = NULL;
	if (host[0] == '[') {
		char *close = strchr(++host, ']');
		if (!close) {
			addr_error(p, orig);
			return NULL;
		}
		*close = '\0';
		if (close[1] == ':')
			port = close + 2;
	} else {
		char *colon = strrchr(host, ':');
		if (colon) {
			*colon = '\0';
			port = colon + 1;
		}
	}

	struct ex *e = ex_new(p, src ? EX_SRC : EX_DST, NULL, NULL);
	if (!e)
		return NULL;
	if (port) {
		e->port = parse_port(port);
		if (e->port == -2) {
			port_error(p, port);
			free(e);
			return NULL;
		}
	}
	if (!*host || !strcmp(host, "*"))
		return e;

	int plen = 32;
	char *slash = strchr(host, '/');
	if (slash) {
		char *end;
		long v = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end || v < 0 || v > 32) {
			addr_error(p, host);
			free(e);
			return NULL;
		}
		plen = (int)v;
		*slash = '\0';
	}
	struct in_addr in;
	if (inet_pton(AF_INET, host, &in) != 1) {
		addr_error(p, host);
		free(e);
		return NULL;
	}
	e->addr = ntohl(in.s_addr);
	e->plen = plen;
	return e;
}

static struct ex *parse_or(struct ex_parser *p);

/* A port comparison: `sport >= :1024` and friends. */
static struct ex *port_cmp(struct ex_parser *p, bool src, const char *op, const char *text)
{
	const char *s = text[0] == ':' ? text + 1 : text;
	int port = parse_port(s);
	if (port < 0) {
		port_error(p, s);
		return NULL;
	}
	bool ge = is_word(op, w_ge) || is_word(op, w_lt);
	struct ex *e = ex_new(p, ge ? (src ? EX_SPORT_GE : EX_DPORT_GE) : (src ? EX_SPORT_LE : EX_DPORT_LE),
			      NULL, NULL);
	if (!e)
		return NULL;
	e->port = port;
	if (is_word(op, w_gt) || is_word(op, w_lt))
		return ex_new(p, EX_NOT, e, NULL);      /* > is not <=, < is not >= */
	return e;
}

static struct ex *parse_cond(struct ex_parser *p)
{
	const char *t = peek(p);
	if (!t) {
		syntax_error(p);
		return NULL;
	}
	p->pos++;
	if (!strcmp(t, "(")) {
		struct ex *e = parse_or(p);
		if (!e)
			return NULL;
		if (!peek(p) || strcmp(peek(p), ")")) {
			ex_free(e);
			syntax_error(p);
			return NULL;
		}
		p->pos++;
		return e;
	}
	if (is_word(t, w_not)) {
		struct ex *e = parse_cond(p);
		return e ? ex_new(p, EX_NOT, e, NULL) : NULL;
	}
	if (!strcmp(t, "autobound")) {
		p->after_port = false;
		return ex_new(p, EX_AUTOBOUND, NULL, NULL);
	}

	bool port = !strcmp(t, "sport") || !strcmp(t, "dport");
	bool host = !strcmp(t, "src") || !strcmp(t, "dst");
	if (!port && !host) {
		/* A bare word is a port or an address to ss, and then a syntax error. */
		if (p->after_port) {
			const char *s = t[0] == ':' ? t + 1 : t;
			if (parse_port(s) == -2)
				port_error(p, s);
		} else {
			ex_free(host_cond(p, true, t));
		}
		syntax_error(p);
		return NULL;
	}
	bool src = t[0] == 's';
	p->after_port = port;
	const char *op = peek(p);
	bool neg = false;
	if (is_word(op, w_eq) || is_word(op, w_ne)) {
		neg = is_word(op, w_ne);
		p->pos++;
	} else if (port && (is_word(op, w_ge) || is_word(op, w_le) || is_word(op, w_gt) ||
			    is_word(op, w_lt))) {
		p->pos++;
		const char *v = peek(p);
		if (!v) {
			syntax_error(p);
			return NULL;
		}
		p->pos++;
		return port_cmp(p, src, op, v);
	}
	const char *v = peek(p);
	if (!v) {
		syntax_error(p);
		return NULL;
	}
	p->pos++;
	struct ex *e = port ? port_cond(p, src, v) : host_cond(p, src, v);
	if (e && neg)
		e = ex_new(p, EX_NOT, e, NULL);
	return e;
}

static bool starts_cond(const char *t)
{
	return t && strcmp(t, ")") && !is_word(t, w_or) && !is_word(t, w_and);
}

static struct ex *parse_and(struct ex_parser *p)
{
	struct ex *e = parse_cond(p);
	while (e) {
		const char *t = peek(p);
		if (is_word(t, w_and))
			p->pos++;
		else if (!starts_cond(t))
			break;
		struct ex *r = parse_cond(p);
		if (!r) {
			ex_free(e);
			return NULL;
		}
		e = ex_new(p, EX_AND, e, r);
	}
	return e;
}

static struct ex *parse_or(struct ex_parser *p)
{
	struct ex *e = parse_and(p);
	while (e && is_word(peek(p), w_or)) {
		p->pos++;
		struct ex *r = parse_and(p);
		if (!r) {
			ex_free(e);
			return NULL;
		}
		e = ex_new(p, EX_OR, e, r);
	}
	return e;
}

/* Splits the operands into blank-separated words, as ss's filter lexer does. */
static int tokenize(char **ops, int nops, char ***out, int *ntok)
{
	size_t cap = 0;
	for (int i = 0; i < nops; i++)
		cap += strlen(ops[i]) / 2 + 1;
	char **tok = calloc(cap + 1, sizeof(char *));
	if (!tok)
		return -1;
	int n = 0;
	for (int i = 0; i < nops; i++) {
		const char *s = ops[i];
		while (*s) {
			s += strspn(s, " \t\n");
			size_t len = strcspn(s, " \t\n");
			if (!len)
				break;
			if (!(tok[n] = strndup(s, len))) {
				*out = tok;
				*ntok = n;
				return -1;
			}
			n++;
			s += len;
		}
	}
	*out = tok;
	*ntok = n;
	return 0;
}

static bool prefix_match(uint32_t addr, uint32_t want, int plen)
{
	if (!plen)
		return true;
	uint32_t mask = plen >= 32 ? 0xffffffffu : ~(0xffffffffu >> plen);
	return (addr & mask) == (want & mask);
}

static bool port_ephemeral(const struct tern_stack *st, int port);

static bool ex_match(const struct ex *e, const struct tern_stack *st, const struct tern_diag_sock *s)
{
	bool src;
	switch (e->kind) {
	case EX_AND:
		return ex_match(e->a, st, s) && ex_match(e->b, st, s);
	case EX_OR:
		return ex_match(e->a, st, s) || ex_match(e->b, st, s);
	case EX_NOT:
		return !ex_match(e->a, st, s);
	case EX_SRC:
	case EX_DST:
		src = e->kind == EX_SRC;
		if (e->port >= 0 && e->port != (src ? s->lport : s->rport))
			return false;
		if (e->plen && (src ? &s->laddr : &s->raddr)->family != TERN_AF_INET)
			return false;
		return prefix_match(src ? s->laddr.u.v4 : s->raddr.u.v4, e->addr, e->plen);
	case EX_SPORT_GE:
		return s->lport >= e->port;
	case EX_SPORT_LE:
		return s->lport <= e->port;
	case EX_DPORT_GE:
		return s->rport >= e->port;
	case EX_DPORT_LE:
		return s->rport <= e->port;
	case EX_AUTOBOUND:
		return port_ephemeral(st, s->lport);
	}
	return false;
}

/* ------------------------------------------------------------ the table */

enum { COL_NETID, COL_STATE, COL_RECVQ, COL_SENDQ, COL_LADDR, COL_LPORT, COL_RADDR, COL_RPORT,
       COL_EXT, COL_PROC, NCOLS };

static const struct {
	const char *header;
	const char *delim;   /* printed before the cell when it is not first on the line */
	bool right;          /* right-aligned */
} columns[NCOLS] = {
	[COL_NETID] = { "Netid", "", false },
	[COL_STATE] = { "State", " ", false },
	[COL_RECVQ] = { "Recv-Q", " ", false },
	[COL_SENDQ] = { "Send-Q", " ", false },
	[COL_LADDR] = { "Local Address:", " ", true },
	[COL_LPORT] = { "Port", "", false },
	[COL_RADDR] = { "Peer Address:", " ", true },
	[COL_RPORT] = { "Port", "", false },
	[COL_EXT] = { "Process", "", false },
	[COL_PROC] = { "", "", false },
};

struct table {
	bool hidden[NCOLS];
	char *(*rows)[NCOLS];
	size_t nrows, cap;
	bool header;          /* rows[0] is the header line */
	bool failed;
};

static char *(*table_add(struct table *t))[NCOLS]
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		void *p = realloc(t->rows, cap * sizeof(*t->rows));
		if (!p) {
			t->failed = true;
			return NULL;
		}
		t->rows = p;
		t->cap = cap;
	}
	char *(*row)[NCOLS] = &t->rows[t->nrows++];
	for (int c = 0; c < NCOLS; c++)
		(*row)[c] = NULL;
	return row;
}

static void cell(struct table *t, char *(*row)[NCOLS], int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void cell(struct table *t, char *(*row)[NCOLS], int col, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		s = NULL;
		t->failed = true;
	}
	va_end(ap);
	(*row)[col] = s;
}

static void table_free(struct table *t)
{
	for (size_t r = 0; r < t->nrows; r++)
		for (int c = 0; c < NCOLS; c++)
			free(t->rows[r][c]);
	free(t->rows);
}

static size_t cell_len(const char *s)
{
	return s ? strlen(s) : 0;
}

static void pad(FILE *out, long n)
{
	for (; n > 0; n--)
		fputc(' ', out);
}

static void table_print(const struct table *t, FILE *out)
{
	size_t width[NCOLS] = { 0 };
	bool first = true;

	if (!t->nrows)
		return;
	for (int c = 0; c < NCOLS; c++) {
		if (t->hidden[c])
			continue;
		size_t max = 0;
		for (size_t r = 0; r < t->nrows; r++) {
			bool last_data_row = r == t->nrows - 1 && !(t->header && r == 0);
			if (last_data_row && c >= COL_EXT)
				continue;   /* the cell ss never moves past */
			size_t len = cell_len(t->rows[r][c]);
			if (len > max)
				max = len;
		}
		width[c] = !first && max ? max + strlen(columns[c].delim) : max;
		if (width[c])
			first = false;
	}

	for (size_t r = 0; r < t->nrows; r++) {
		bool started = false;
		for (int c = 0; c < NCOLS; c++) {
			if (t->hidden[c])
				continue;
			const char *s = t->rows[r][c] ? t->rows[r][c] : "";
			long printed = 0;
			if (started) {
				fputs(columns[c].delim, out);
				printed = (long)strlen(columns[c].delim);
			}
			started = true;
			long len = (long)strlen(s);
			if (width[c] && columns[c].right) {
				pad(out, (long)width[c] - len - printed);
				printed = (long)width[c] - len > printed ? (long)width[c] - len : printed;
			}
			fputs(s, out);
			printed += len;
			if (width[c] && !columns[c].right)
				pad(out, (long)width[c] - printed);
		}
		fputc('\n', out);
	}
}

/* ------------------------------------------------------------ formatting */

static bool port_ephemeral(const struct tern_stack *st, int port)
{
	char buf[64];
	long lo = 32768, hi = 60999;   /* Linux's default ip_local_port_range */
	if (tern_sysctl_get(st, "net.ipv4.ip_local_port_range", buf, sizeof(buf)) > 0)
		sscanf(buf, "%ld %ld", &lo, &hi);
	return port >= lo && port <= hi;
}

/* The port column: "*" for none, else a number (-n) or the service name ss would
 * find (never for a port in the ephemeral range, which would only mislead). */
static void format_port(const struct tern_stack *st, bool numeric, int port, char *buf, size_t len)
{
	if (port == 0) {
		snprintf(buf, len, "*");
		return;
	}
	if (!numeric && !port_ephemeral(st, port)) {
		struct servent se, *res = NULL;
		char sbuf[1024];
		if (getservbyport_r(htons((uint16_t)port), "tcp", &se, sbuf, sizeof(sbuf), &res) == 0 &&
		    res && res->s_name) {
			snprintf(buf, len, "%s", res->s_name);
			return;
		}
	}
	snprintf(buf, len, "%d", port);
}

static void format_addr(const struct tern_addr *a, char *buf, size_t len)
{
	if (a->family == TERN_AF_INET6) {
		static const uint8_t zero[16];
		char tmp[INET6_ADDRSTRLEN];
		if (!memcmp(a->u.v6, zero, 16) || !inet_ntop(AF_INET6, a->u.v6, tmp, sizeof(tmp)))
			snprintf(buf, len, "*");
		else
			snprintf(buf, len, "[%s]", tmp);
		return;
	}
	uint32_t v = a->u.v4;
	snprintf(buf, len, "%u.%u.%u.%u", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

/* A time left as ss shows it: minutes, seconds, milliseconds, dropping the finer
 * units once the coarser ones make them noise (below 10 s: "3.250ms" reads 3.25 s). */
static void format_ms(uint64_t ms, char *buf, size_t len)
{
	uint64_t min = ms / 60000, sec = (ms / 1000) % 60, msec = ms % 1000;
	size_t n = 0;

	buf[0] = '\0';
	if (min) {
		msec = 0;
		n += (size_t)snprintf(buf + n, len - n, "%llumin", (unsigned long long)min);
		if (min > 9)
			sec = 0;
	}
	if (sec && n < len) {
		if (sec > 9)
			msec = 0;
		n += (size_t)snprintf(buf + n, len - n, "%llu%s", (unsigned long long)sec, msec ? "." : "sec");
	}
	if (msec && n < len)
		snprintf(buf + n, len - n, "%03llums", (unsigned long long)msec);
}

static const char *timer_name(int timer)
{
	switch (timer) {
	case TERN_DIAG_TIMER_ON: return "on";
	case TERN_DIAG_TIMER_KEEPALIVE: return "keepalive";
	case TERN_DIAG_TIMER_TIMEWAIT: return "timewait";
	case TERN_DIAG_TIMER_PERSIST: return "persist";
	default: return NULL;   /* none, and tern's delayed-ACK timer, which ss never shows */
	}
}

struct ss_run {
	struct tern_stack *st;
	unsigned states;
	bool numeric, options, inet4;
	const struct ex *expr;
	struct table *t;
};

static int add_sock(void *ctx, const struct tern_diag_sock *s)
{
	struct ss_run *run = ctx;
	struct table *t = run->t;

	/* Linux lists no TCP socket in CLOSE: it is in neither of the tables it dumps. */
	if (s->state <= 0 || s->state > 11 || s->state == TERN_STATE_CLOSE)
		return 0;
	if (!(run->states & ST(s->state)))
		return 0;
	if (s->laddr.family != TERN_AF_INET || !run->inet4)
		return 0;
	if (run->expr && !ex_match(run->expr, run->st, s))
		return 0;

	char *(*row)[NCOLS] = table_add(t);
	if (!row)
		return 1;
	char addr[64], port[64];
	cell(t, row, COL_NETID, "tcp");
	cell(t, row, COL_STATE, "%s", tern_state_name(s->state));
	cell(t, row, COL_RECVQ, "%-6d", (int)s->recv_q);
	cell(t, row, COL_SENDQ, "%-6d", (int)s->send_q);
	format_addr(&s->laddr, addr, sizeof(addr));
	cell(t, row, COL_LADDR, "%s:", addr);
	format_port(run->st, run->numeric, s->lport, port, sizeof(port));
	cell(t, row, COL_LPORT, "%s", port);
	format_addr(&s->raddr, addr, sizeof(addr));
	cell(t, row, COL_RADDR, "%s:", addr);
	format_port(run->st, run->numeric, s->rport, port, sizeof(port));
	cell(t, row, COL_RPORT, "%s", port);
	const char *tn = run->options ? timer_name(s->timer) : NULL;
	if (tn) {
		char left[64];
		format_ms((uint64_t)(s->timer_left / TERN_NS_PER_MS), left, sizeof(left));
		cell(t, row, COL_EXT, " timer:(%s,%s,%u)", tn, left, s->retrans);
	}
	return t->failed;
}

/* ------------------------------------------------------------ the command */

static void usage(FILE *f)
{
	fputs("Usage: ss [ OPTIONS ]\n"
	      "       ss [ OPTIONS ] [ FILTER ]\n"
	      "   -h, --help          print this text\n"
	      "   -V, --version       print the version\n"
	      "   -n, --numeric       show ports as numbers, not service names\n"
	      "   -a, --all           show sockets in every state\n"
	      "   -l, --listening     show listening sockets only\n"
	      "   -o, --options       show each socket's pending timer\n"
	      "   -H, --no-header     leave out the header line\n"
	      "   -O, --oneline       one line per socket (always the case here)\n"
	      "   -4, --ipv4          IPv4 sockets only\n"
	      "   -6, --ipv6          IPv6 sockets only (tern has none)\n"
	      "   -t, --tcp           TCP sockets only\n"
	      "   -u, -d, -w, -x, -S, -M, -0, --tipc, --vsock, --xdp\n"
	      "                       other socket tables (empty in tern)\n"
	      "   -f, --family=FAMILY inet|inet6|link|unix|netlink|vsock|tipc|xdp\n"
	      "   -A, --query=TABLES  comma-separated socket tables (all, inet, tcp, udp, ...)\n"
	      "\n"
	      "   FILTER := [ state STATE-FILTER ] [ EXPRESSION ]\n"
	      "   STATE-FILTER := {all|connected|synchronized|bucket|big|TCP-STATES}\n"
	      "   TCP-STATES := {established|syn-sent|syn-recv|fin-wait-{1,2}|time-wait|closed|\n"
	      "                  close-wait|last-ack|listening|closing}\n"
	      "   EXPRESSION: sport, dport, src, dst compared with = != < > <= >= (or eq ne lt\n"
	      "   gt le ge), joined with and, or, not and parentheses, e.g. 'sport = :8080'\n"
	      "\n"
	      "   This is tern's ss: it lists the TCP sockets of the tern instance named by\n"
	      "   $TERN_CTL, printed as iproute2's ss prints a kernel's.\n", f);
}

enum { OPT_TIPC = 256, OPT_VSOCK, OPT_XDP, OPT_TIPCINFO, OPT_TOS, OPT_CGROUP, OPT_INET_SOCKOPT };

static const struct tern_tool_longopt ss_longopts[] = {
	{ "help", false, 'h' }, { "version", false, 'V' }, { "numeric", false, 'n' },
	{ "resolve", false, 'r' }, { "all", false, 'a' }, { "listening", false, 'l' },
	{ "options", false, 'o' }, { "extended", false, 'e' }, { "memory", false, 'm' },
	{ "processes", false, 'p' }, { "threads", false, 'T' }, { "info", false, 'i' },
	{ "tipcinfo", false, OPT_TIPCINFO }, { "summary", false, 's' }, { "tos", false, OPT_TOS },
	{ "cgroup", false, OPT_CGROUP }, { "bpf", false, 'b' }, { "events", false, 'E' },
	{ "context", false, 'Z' }, { "contexts", false, 'z' }, { "net", true, 'N' },
	{ "ipv4", false, '4' }, { "ipv6", false, '6' }, { "packet", false, '0' },
	{ "tcp", false, 't' }, { "mptcp", false, 'M' }, { "sctp", false, 'S' }, { "udp", false, 'u' },
	{ "dccp", false, 'd' }, { "raw", false, 'w' }, { "unix", false, 'x' },
	{ "tipc", false, OPT_TIPC }, { "vsock", false, OPT_VSOCK }, { "xdp", false, OPT_XDP },
	{ "family", true, 'f' }, { "kill", false, 'K' }, { "no-header", false, 'H' },
	{ "oneline", false, 'O' }, { "inet-sockopt", false, OPT_INET_SOCKOPT },
	{ "query", true, 'A' }, { "socket", true, 'A' }, { "diag", true, 'D' },
	{ "filter", true, 'F' }, { NULL, false, 0 },
};

struct ss_filter {
	unsigned dbs, families, states;
	bool do_default;
};

static void set_db(struct ss_filter *f, unsigned dbs, bool on)
{
	for (int d = 0; d < DB_COUNT; d++) {
		if (!(dbs & B(d)))
			continue;
		if (on) {
			f->states |= db_default[d].states;
			f->dbs |= B(d);
		} else {
			f->dbs &= ~B(d);
		}
	}
	f->do_default = false;
}

static void set_family(struct ss_filter *f, int fam)
{
	f->states |= fam_default[fam].states;
	f->families |= B(fam);
	f->do_default = false;
}

static int parse_query(struct ss_filter *f, const char *list, FILE *err)
{
	char buf[256];
	if (strlen(list) >= sizeof(buf)) {
		fprintf(err, "ss: \"%s\" is illegal socket table id\n", list);
		return -1;
	}
	strcpy(buf, list);
	for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		bool on = w[0] != '!';
		const char *name = on ? w : w + 1;
		size_t i;
		for (i = 0; i < sizeof(db_names) / sizeof(db_names[0]); i++)
			if (!strcmp(name, db_names[i].name))
				break;
		if (i == sizeof(db_names) / sizeof(db_names[0])) {
			fprintf(err, "ss: \"%s\" is illegal socket table id\n", w);
			return -1;
		}
		set_db(f, db_names[i].dbs, on);
	}
	return 0;
}

static int scan_state(const char *name, unsigned *bits, FILE *err)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (!strcasecmp(name, state_names[i].name)) {
			*bits = state_names[i].states;
			return 0;
		}
	}
	fprintf(err, "ss: wrong state name: %s\n", name);
	return -1;
}

static bool one_bit(unsigned v)
{
	return !(v & (v - 1));
}

int tern_tool_ss(struct tern_stack *st, int argc, char **argv, FILE *out, FILE *err)
{
	struct ss_filter f = { .do_default = true };
	unsigned state_filter = 0;
	bool numeric = false, options = false, header = true;
	struct tern_tool_getopt g;
	int c, status = 0;
	char **ops = calloc((size_t)argc + 1, sizeof(char *));
	char **tok = NULL;
	int ntok = 0;
	struct ex *expr = NULL;
	struct table t = { .nrows = 0 };

	if (!ops) {
		fputs("ss: out of memory\n", err);
		return 1;
	}
	tern_tool_getopt_init(&g, argc, argv, ops, "ss", err);
	while ((c = tern_tool_getopt(&g, "dhaletuwxnro460spbEf:mMiA:D:F:vVzZN:KHSOT", ss_longopts)) != -1) {
		switch (c) {
		case 'h':
			usage(out);
			goto done;
		case 'V':
		case 'v':
			fprintf(out, "ss utility, tern-%s\n", TERN_VERSION);
			goto done;
		case 'n': numeric = true; break;
		case 'a': state_filter = SS_ALL; break;
		case 'l': state_filter = SS_LISTENS | SS_CLOSED; break;
		case 'o': options = true; break;
		case 'H': header = false; break;
		case 'O': break;
		case 't': set_db(&f, B(DB_TCP), true); break;
		case 'M': set_db(&f, B(DB_MPTCP), true); break;
		case 'u': set_db(&f, B(DB_UDP), true); break;
		case 'd': set_db(&f, B(DB_DCCP), true); break;
		case 'w': set_db(&f, B(DB_RAW), true); break;
		case 'S': set_db(&f, B(DB_SCTP), true); break;
		case OPT_TIPC: set_db(&f, B(DB_TIPC), true); break;
		case OPT_VSOCK: set_db(&f, DBS_VSOCK, true); break;
		case OPT_XDP: set_db(&f, B(DB_XDP), true); break;
		case 'x': set_family(&f, FAM_UNIX); break;
		case '4': set_family(&f, FAM_INET); break;
		case '6': set_family(&f, FAM_INET6); break;
		case '0': set_family(&f, FAM_PACKET); break;
		case 'f': {
			size_t i;
			for (i = 0; i < sizeof(fam_names) / sizeof(fam_names[0]); i++)
				if (!strcmp(g.arg, fam_names[i].name))
					break;
			if (!strcmp(g.arg, "help")) {
				usage(out);
				goto done;
			}
			if (i == sizeof(fam_names) / sizeof(fam_names[0])) {
				fprintf(err, "ss: \"%s\" is invalid family\n", g.arg);
				usage(err);
				status = 255;
				goto done;
			}
			set_family(&f, fam_names[i].fam);
			break;
		}
		case 'A':
			if (parse_query(&f, g.arg, err) < 0) {
				usage(err);
				status = 255;
				goto done;
			}
			break;
		case '?':
			usage(err);
			status = 255;
			goto done;
		default:
			/* Real ss options whose output tern cannot give (process lists,
			 * TCP_INFO, memory, SELinux, kill, ...): refuse rather than lie. */
			if (c >= 256) {
				for (const struct tern_tool_longopt *o = ss_longopts; o->name; o++)
					if (o->key == c)
						fprintf(err, "ss: option '--%s' is not supported by tern\n", o->name);
			} else {
				fprintf(err, "ss: option '-%c' is not supported by tern\n", c);
			}
			status = 1;
			goto done;
		}
	}

	/* The state words come first, then the expression. */
	int i = 0;
	bool saw_states = false;
	while (i < g.nops && (!strcmp(ops[i], "state") || !strcmp(ops[i], "exclude") ||
			      !strcmp(ops[i], "excl"))) {
		bool excl = ops[i][0] == 'e';
		unsigned bits;
		if (++i >= g.nops) {
			fputs("Command line is not complete. Try option \"help\"\n", err);
			status = 255;
			goto done;
		}
		if (scan_state(ops[i++], &bits, err) < 0) {
			status = 255;
			goto done;
		}
		if (!saw_states)
			state_filter = excl ? SS_ALL : 0;
		state_filter = excl ? state_filter & ~bits : state_filter | bits;
		saw_states = true;
	}

	if (f.do_default) {
		if (!state_filter)
			state_filter = SS_CONN;
		set_db(&f, DBS_ALL, true);
	}
	if (state_filter)
		f.states = state_filter;
	for (int d = 0; d < DB_COUNT; d++)     /* a table brings its families... */
		if ((f.dbs & B(d)) && !(db_default[d].families & f.families))
			f.families |= db_default[d].families;
	for (int fam = 0; fam < FAM_COUNT; fam++)   /* ...and a family its tables */
		if ((f.families & B(fam)) && !(fam_default[fam].dbs & f.dbs))
			f.dbs |= fam_default[fam].dbs;
	if (!f.dbs) {
		fputs("ss: no socket tables to show with such filter.\n", err);
		goto done;
	}
	if (!f.families) {
		fputs("ss: no families to show with such filter.\n", err);
		goto done;
	}
	if (!f.states) {
		fputs("ss: no socket states to show with such filter.\n", err);
		goto done;
	}

	if (i < g.nops) {
		if (tokenize(ops + i, g.nops - i, &tok, &ntok) < 0) {
			fputs("ss: out of memory\n", err);
			status = 1;
			goto done;
		}
		struct ex_parser p = { .tok = tok, .ntok = ntok, .st = st, .err = err };
		if (ntok) {
			expr = parse_or(&p);
			if (expr && p.pos < ntok) {
				ex_free(expr);
				expr = NULL;
				syntax_error(&p);
			}
			if (!expr) {
				if (!p.status)
					syntax_error(&p);
				if (p.status == 255)
					usage(err);
				status = p.status;
				goto done;
			}
		}
	}

	t.hidden[COL_NETID] = one_bit(f.dbs);
	t.hidden[COL_STATE] = one_bit(f.states);
	if (header) {
		char *(*row)[NCOLS] = table_add(&t);
		for (int col = 0; row && col < COL_PROC; col++)
			cell(&t, row, col, "%s", columns[col].header);
		t.header = true;
	}
	if ((f.dbs & B(DB_TCP)) && (f.families & B(FAM_INET))) {
		struct ss_run run = { .st = st, .states = f.states, .numeric = numeric,
				      .options = options, .inet4 = true, .expr = expr, .t = &t };
		tern_diag_foreach(st, add_sock, &run);
	}
	if (t.failed) {
		fputs("ss: out of memory\n", err);
		status = 1;
		goto done;
	}
	table_print(&t, out);

done:
	table_free(&t);
	ex_free(expr);
	for (int k = 0; tok && k < ntok; k++)
		free(tok[k]);
	free(tok);
	free(ops);
	return status;
}
