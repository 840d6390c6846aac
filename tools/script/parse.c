/*
 * tools/script/parse.c: packetdrill script text -> struct script.
 *
 * A recursive-descent parser over the lexer's tokens, for the language of
 * ../shared/spec/packetdrill.md §1:
 *
 *   script  := { option } [ command ] { event } [ command ]
 *   option  := "--name[=value]" on a line of its own
 *   event   := time ( packet | call | command )
 *   time    := "*" | point [ "~" point | "..." point ]      point := ["+"] seconds
 *   packet  := ("<" | ">") [ port ">" port ] flags seq ":" end "(" len ")"
 *              { "ack" n | "win" n | "urg" n } [ "<" ( "..." | opt { "," opt } ) ">" ]
 *   opt     := "nop" | "eol" | "mss" n | "wscale" n | "sackOK" | "sack" { n ":" n }
 *            | "TS" "val" n "ecr" n
 *   call    := name "(" [ expr { "," expr } ] ")" "=" expr [ ERRNO ] [ "(" prose ")" ]
 *   expr    := "..." | "[" exprs "]" | "{" name "=" expr ... "}" | "\"str\""
 *            | term { "|" term }            term := ["-"] n | CONSTANT
 *
 * Everything that can be checked without running is checked here, so a typo
 * fails before any packet moves: unknown calls, constants, errno names and TCP
 * options, argument counts, seq:end(len) consistency, options not padded to a
 * multiple of 4 bytes, a window missing on an injected packet, ranges or "*" on
 * events that cannot have them. Each error names its line and column.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"
#include "tern/errors.h"

struct parser {
	struct lexer lx;
	struct parse_error *err;
	struct script *sc;
	bool failed;
};

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static bool perr(struct parser *p, const struct token *t, const char *fmt, ...)
{
	if (p->failed)
		return false;
	p->failed = true;
	p->err->line = t->line;
	p->err->col = t->col;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
	va_end(ap);
	return false;
}

static bool next(struct parser *p, struct token *t)
{
	if (p->failed)
		return false;
	if (!lex_next(&p->lx, t)) {
		p->failed = true;
		return false;
	}
	return true;
}

static bool peek(struct parser *p, struct token *t)
{
	if (p->failed)
		return false;
	if (!lex_peek(&p->lx, t)) {
		p->failed = true;
		return false;
	}
	return true;
}

static bool is_punct(const struct token *t, char c)
{
	return t->kind == TOK_PUNCT && t->ch == c;
}

static bool is_word(const struct token *t, const char *w)
{
	return t->kind == TOK_IDENT && t->len == strlen(w) && !memcmp(t->text, w, t->len);
}

static const char *describe(const struct token *t, char *buf, size_t cap)
{
	switch (t->kind) {
	case TOK_EOF:
		return "end of file";
	case TOK_CMD:
		return "a ` command";
	case TOK_OPTION:
		return "an option line";
	case TOK_ELLIPSIS:
		return "'...'";
	default:
		snprintf(buf, cap, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->text);
		return buf;
	}
}

static bool expect_punct(struct parser *p, char c, const char *what)
{
	struct token t;
	char d[64];
	if (!next(p, &t))
		return false;
	if (!is_punct(&t, c))
		return perr(p, &t, "expected '%c' %s, found %s", c, what, describe(&t, d, sizeof d));
	return true;
}

static char *dup_text(struct parser *p, const struct token *t, const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (!d) {
		perr(p, t, "out of memory");
		return NULL;
	}
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* ------------------------------------------------------------------ numbers */

/* An unsigned integer (decimal or 0x hex) no larger than `max`. */
static bool num_value(struct parser *p, const struct token *t, unsigned long long max,
		      unsigned long long *out)
{
	char d[64];
	if (t->kind != TOK_NUM)
		return perr(p, t, "expected a number, found %s", describe(t, d, sizeof d));
	if (memchr(t->text, '.', t->len))
		return perr(p, t, "expected an integer, found '%.*s'", (int)t->len, t->text);
	char buf[32];
	if (t->len >= sizeof buf)
		return perr(p, t, "number too large");
	memcpy(buf, t->text, t->len);
	buf[t->len] = '\0';
	errno = 0;
	char *end;
	unsigned long long v = strtoull(buf, &end, 0);
	if (errno || *end || v > max)
		return perr(p, t, "number %s out of range (at most %llu)", buf, max);
	*out = v;
	return true;
}

static bool next_uint(struct parser *p, unsigned long long max, unsigned long long *out)
{
	struct token t;
	return next(p, &t) && num_value(p, &t, max, out);
}

/* Seconds, "1", "0.100", ".5", as exact nanoseconds. */
static bool seconds_value(struct parser *p, const struct token *t, tern_time *out)
{
	char d[64];
	if (t->kind != TOK_NUM)
		return perr(p, t, "expected a time in seconds, found %s", describe(t, d, sizeof d));
	long long whole = 0, frac = 0;
	int fdigits = 0;
	size_t i = 0;
	if (t->len > 1 && t->text[0] == '0' && (t->text[1] == 'x' || t->text[1] == 'X'))
		return perr(p, t, "a time is written in decimal seconds");
	for (; i < t->len && t->text[i] != '.'; i++) {
		whole = whole * 10 + (t->text[i] - '0');
		if (whole > 1000000000LL)
			return perr(p, t, "time too large");
	}
	if (i < t->len)
		i++;
	for (; i < t->len; i++) {
		if (++fdigits > 9)
			return perr(p, t, "more than 9 decimals (nanoseconds are the limit)");
		frac = frac * 10 + (t->text[i] - '0');
	}
	while (fdigits++ < 9)
		frac *= 10;
	*out = whole * TERN_NS_PER_SEC + frac;
	return true;
}

/* ------------------------------------------------------------------ time */

static bool time_point(struct parser *p, enum time_kind *kind, tern_time *t)
{
	struct token tok;
	char d[64];
	if (!next(p, &tok))
		return false;
	if (is_punct(&tok, '*')) {
		*kind = TIME_ANY;
		*t = 0;
		return true;
	}
	*kind = TIME_ABS;
	if (is_punct(&tok, '+')) {
		*kind = TIME_REL;
		if (!next(p, &tok))
			return false;
	} else if (tok.kind != TOK_NUM) {
		return perr(p, &tok, "expected an event time (0, +0.1, *), found %s",
			    describe(&tok, d, sizeof d));
	}
	return seconds_value(p, &tok, t);
}

static bool parse_time(struct parser *p, struct ev_time *et)
{
	struct token t;
	memset(et, 0, sizeof *et);
	if (!time_point(p, &et->kind, &et->t) || !peek(p, &t))
		return false;
	if (is_punct(&t, '~') || t.kind == TOK_ELLIPSIS) {
		bool range = is_punct(&t, '~');
		enum time_kind k;
		next(p, &t);
		if (et->kind == TIME_ANY)
			return perr(p, &t, "'*' cannot start a %s", range ? "range" : "blocking call");
		if (!time_point(p, &k, &et->end))
			return false;
		if (k == TIME_ANY)
			return perr(p, &t, "'*' cannot end a %s", range ? "range" : "blocking call");
		/* Both ends share the start's base, as packetdrill reads them. */
		et->end_kind = et->kind;
		et->range = range;
		et->blocking = !range;
		if (et->end < et->t)
			return perr(p, &t, "the %s ends before it starts", range ? "range" : "call");
	}
	return true;
}

/* ------------------------------------------------------------------ packets */

static bool parse_flags(struct parser *p, uint8_t *flags)
{
	struct token t;
	char d[64];
	bool first = true;
	*flags = 0;
	for (;;) {
		if (!peek(p, &t))
			return false;
		if (!first && t.space_before)
			return true;
		if (is_punct(&t, '.')) {
			*flags |= TERN_TCP_ACK;
		} else if (is_punct(&t, '-') && first) {
			next(p, &t);
			return true;
		} else if (t.kind == TOK_IDENT) {
			for (size_t i = 0; i < t.len; i++) {
				static const char letters[] = "FSRPUEW";
				static const uint8_t bits[] = { TERN_TCP_FIN, TERN_TCP_SYN, TERN_TCP_RST,
								TERN_TCP_PSH, TERN_TCP_URG, TERN_TCP_ECE,
								TERN_TCP_CWR };
				const char *pos = strchr(letters, t.text[i]);
				if (!pos)
					return perr(p, &t, "unknown TCP flag '%c' (flags are F S R P . U E W, or -)",
						    t.text[i]);
				*flags |= bits[pos - letters];
			}
		} else if (first) {
			return perr(p, &t, "expected TCP flags (S, S., ., P., F., R, -...), found %s",
				    describe(&t, d, sizeof d));
		} else {
			return true;
		}
		next(p, &t);
		first = false;
	}
}

static bool add_opt(struct parser *p, const struct token *t, struct tern_tcp_opts *o,
		    uint8_t kind, uint8_t len)
{
	if (o->count >= TERN_TCP_MAX_OPT_LEN)
		return perr(p, t, "too many TCP options");
	o->kinds[o->count] = kind;
	o->lens[o->count] = len;
	o->count++;
	return true;
}

static bool parse_one_option(struct parser *p, struct pkt_spec *ps)
{
	struct token t;
	char d[64];
	unsigned long long v, w;
	struct tern_tcp_opts *o = &ps->opts;

	if (!next(p, &t))
		return false;
	if (is_word(&t, "nop"))
		return add_opt(p, &t, o, TERN_TCPOPT_NOP, 1);
	if (is_word(&t, "eol"))
		return add_opt(p, &t, o, TERN_TCPOPT_EOL, 1);
	if (is_word(&t, "sackOK")) {
		o->present |= TERN_TCPOPT_HAS_SACK_PERM;
		return add_opt(p, &t, o, TERN_TCPOPT_SACK_PERM, 2);
	}
	if (is_word(&t, "mss")) {
		if (!next_uint(p, 65535, &v))
			return false;
		o->mss = (uint16_t)v;
		o->present |= TERN_TCPOPT_HAS_MSS;
		return add_opt(p, &t, o, TERN_TCPOPT_MSS, 4);
	}
	if (is_word(&t, "wscale")) {
		if (!next_uint(p, 255, &v))
			return false;
		o->wscale = (uint8_t)v;
		o->present |= TERN_TCPOPT_HAS_WSCALE;
		return add_opt(p, &t, o, TERN_TCPOPT_WSCALE, 3);
	}
	if (is_word(&t, "TS")) {
		struct token k;
		if (!next(p, &k))
			return false;
		if (!is_word(&k, "val"))
			return perr(p, &k, "expected 'val' after TS");
		if (!next_uint(p, UINT32_MAX, &v) || !next(p, &k))
			return false;
		if (!is_word(&k, "ecr"))
			return perr(p, &k, "expected 'ecr' after TS val N");
		if (!next_uint(p, UINT32_MAX, &w))
			return false;
		if (o->present & TERN_TCPOPT_HAS_TS)
			return perr(p, &t, "two TS options");
		o->ts_val = (uint32_t)v;
		o->ts_ecr = (uint32_t)w;
		o->present |= TERN_TCPOPT_HAS_TS;
		return add_opt(p, &t, o, TERN_TCPOPT_TS, 10);
	}
	if (is_word(&t, "sack")) {
		struct token n;
		if (o->present & TERN_TCPOPT_HAS_SACK)
			return perr(p, &t, "two SACK options");
		for (;;) {
			if (!peek(p, &n))
				return false;
			if (n.kind != TOK_NUM)
				break;
			if (o->sack_count >= TERN_TCP_MAX_SACK_BLOCKS)
				return perr(p, &n, "more than %d SACK blocks", TERN_TCP_MAX_SACK_BLOCKS);
			if (!next_uint(p, UINT32_MAX, &v) || !expect_punct(p, ':', "in a SACK block") ||
			    !next_uint(p, UINT32_MAX, &w))
				return false;
			o->sack[o->sack_count].start = (uint32_t)v;
			o->sack[o->sack_count].end = (uint32_t)w;
			o->sack_count++;
		}
		if (o->sack_count == 0)
			return perr(p, &n, "a SACK option needs at least one block a:b");
		o->present |= TERN_TCPOPT_HAS_SACK;
		return add_opt(p, &t, o, TERN_TCPOPT_SACK, (uint8_t)(2 + 8 * o->sack_count));
	}
	return perr(p, &t, "unknown TCP option %s (known: nop, eol, mss, wscale, sackOK, sack, TS)",
		    describe(&t, d, sizeof d));
}

static bool parse_options(struct parser *p, struct pkt_spec *ps, const struct token *lt)
{
	struct token t;
	char d[64];
	if (!peek(p, &t))
		return false;
	if (t.kind == TOK_ELLIPSIS) {
		next(p, &t);
		ps->opts_mode = OPTS_ANY;
		return expect_punct(p, '>', "after '<...'");
	}
	ps->opts_mode = OPTS_LIST;
	for (;;) {
		if (!parse_one_option(p, ps) || !next(p, &t))
			return false;
		if (is_punct(&t, '>'))
			break;
		if (!is_punct(&t, ','))
			return perr(p, &t, "expected ',' or '>' in the option list, found %s",
				    describe(&t, d, sizeof d));
	}
	size_t bytes = 0;
	for (unsigned i = 0; i < ps->opts.count; i++)
		bytes += ps->opts.lens[i];
	ps->opts_bytes = bytes;
	if (bytes > TERN_TCP_MAX_OPT_LEN)
		return perr(p, lt, "TCP options take %zu bytes; at most 40 fit in a header", bytes);
	if (bytes % 4)
		return perr(p, lt, "TCP options take %zu bytes; a header needs a multiple of 4 "
			    "(pad with nop)", bytes);
	return true;
}

static bool parse_packet(struct parser *p, struct event *ev, const struct token *dir)
{
	struct pkt_spec *ps = &ev->pkt;
	struct token t;
	unsigned long long a, b, n;

	ev->type = EV_PACKET;
	ps->inbound = is_punct(dir, '<');
	if (!peek(p, &t))
		return false;
	if (t.kind == TOK_NUM) {
		if (!next_uint(p, 65535, &a) || !expect_punct(p, '>', "between the ports") ||
		    !next_uint(p, 65535, &b))
			return false;
		ps->ports = true;
		ps->sport = (uint16_t)a;
		ps->dport = (uint16_t)b;
	}
	if (!parse_flags(p, &ps->flags))
		return false;
	struct token seqtok;
	if (!peek(p, &seqtok) || !next_uint(p, UINT32_MAX, &a) ||
	    !expect_punct(p, ':', "in start:end(len)") || !next_uint(p, UINT32_MAX, &b) ||
	    !expect_punct(p, '(', "in start:end(len)") || !next_uint(p, 65535, &n) ||
	    !expect_punct(p, ')', "in start:end(len)"))
		return false;
	if ((uint32_t)(b - a) != n)
		return perr(p, &seqtok, "%llu:%llu is %u bytes but the length says %llu", a, b,
			    (unsigned)(uint32_t)(b - a), n);
	ps->seq = (uint32_t)a;
	ps->len = (uint32_t)n;

	for (;;) {
		if (!peek(p, &t))
			return false;
		if (is_word(&t, "ack") || is_word(&t, "win") || is_word(&t, "urg")) {
			next(p, &t);
			bool *has = is_word(&t, "ack") ? &ps->has_ack : is_word(&t, "win") ? &ps->has_win
											   : &ps->has_urg;
			if (*has)
				return perr(p, &t, "'%.*s' given twice", (int)t.len, t.text);
			*has = true;
			if (is_word(&t, "ack")) {
				if (!next_uint(p, UINT32_MAX, &a))
					return false;
				ps->ack = (uint32_t)a;
			} else {
				if (!next_uint(p, 65535, &a))
					return false;
				if (is_word(&t, "win"))
					ps->win = (uint16_t)a;
				else
					ps->urg = (uint16_t)a;
			}
		} else if (is_punct(&t, '<')) {
			next(p, &t);
			if (ps->opts_mode != OPTS_NONE)
				return perr(p, &t, "two option lists");
			if (!parse_options(p, ps, &t))
				return false;
		} else {
			break;
		}
	}
	if (ps->has_ack && !(ps->flags & TERN_TCP_ACK))
		return perr(p, &seqtok, "'ack' given without the ACK flag '.'");
	if ((ps->flags & TERN_TCP_ACK) && !ps->has_ack && ps->inbound)
		return perr(p, &seqtok, "an injected ACK needs 'ack N'");
	if (ps->inbound && !ps->has_win)
		return perr(p, &seqtok, "an injected packet needs 'win N'");
	if (ps->inbound && ps->opts_mode == OPTS_ANY)
		return perr(p, &seqtok, "'<...>' only makes sense on an expected (>) packet");
	if (!ps->inbound && ps->ports)
		return perr(p, dir, "explicit ports are only for injected (<) packets");
	return true;
}

/* ------------------------------------------------------------------ expressions */

static void expr_free(struct expr *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nitems; i++)
		expr_free(&e->items[i]);
	free(e->items);
	free(e->str);
	free(e->field);
}

static bool parse_expr(struct parser *p, struct expr *e);

static bool push_item(struct parser *p, const struct token *t, struct expr *list, struct expr *item)
{
	struct expr *n = realloc(list->items, (list->nitems + 1) * sizeof *n);
	if (!n) {
		expr_free(item);
		return perr(p, t, "out of memory");
	}
	list->items = n;
	list->items[list->nitems++] = *item;
	return true;
}

static bool parse_term(struct parser *p, long long *v)
{
	struct token t;
	char d[64];
	bool neg = false;
	if (!next(p, &t))
		return false;
	if (is_punct(&t, '-')) {
		neg = true;
		if (!next(p, &t))
			return false;
	}
	if (t.kind == TOK_NUM) {
		unsigned long long u;
		if (!num_value(p, &t, (unsigned long long)INT64_MAX, &u))
			return false;
		*v = neg ? -(long long)u : (long long)u;
		return true;
	}
	if (t.kind == TOK_IDENT) {
		long long c;
		if (!script_const(t.text, t.len, &c))
			return perr(p, &t, "unknown constant '%.*s'", (int)t.len, t.text);
		*v = neg ? -c : c;
		return true;
	}
	return perr(p, &t, "expected a number or a constant, found %s", describe(&t, d, sizeof d));
}

static bool parse_int_expr(struct parser *p, long long *v)
{
	struct token t;
	if (!parse_term(p, v))
		return false;
	for (;;) {
		long long more = 0;
		if (!peek(p, &t))
			return false;
		if (!is_punct(&t, '|'))
			return true;
		next(p, &t);
		if (!parse_term(p, &more))
			return false;
		*v |= more;
	}
}

static bool parse_expr(struct parser *p, struct expr *e)
{
	struct token t;
	char d[64];
	memset(e, 0, sizeof *e);
	if (!peek(p, &t))
		return false;
	e->line = t.line;
	e->col = t.col;
	if (t.kind == TOK_ELLIPSIS) {
		next(p, &t);
		e->kind = EXPR_ELLIPSIS;
		return true;
	}
	if (t.kind == TOK_STRING) {
		next(p, &t);
		e->kind = EXPR_STRING;
		e->str = dup_text(p, &t, t.text, t.len);
		return e->str != NULL;
	}
	if (is_punct(&t, '[') || is_punct(&t, '{')) {
		bool is_struct = is_punct(&t, '{');
		char close = is_struct ? '}' : ']';
		next(p, &t);
		e->kind = is_struct ? EXPR_STRUCT : EXPR_LIST;
		if (!peek(p, &t))
			return false;
		if (is_punct(&t, close)) {
			next(p, &t);
			return true;
		}
		for (;;) {
			struct expr item;
			char *field = NULL;
			if (is_struct) {
				struct token name;
				if (!next(p, &name))
					goto fail;
				if (name.kind != TOK_IDENT) {
					perr(p, &name, "expected a member name, found %s",
					     describe(&name, d, sizeof d));
					goto fail;
				}
				field = dup_text(p, &name, name.text, name.len);
				if (!field || !expect_punct(p, '=', "after the member name")) {
					free(field);
					goto fail;
				}
			}
			if (!parse_expr(p, &item)) {
				free(field);
				goto fail;
			}
			item.field = field;
			if (!push_item(p, &t, e, &item) || !next(p, &t))
				goto fail;
			if (is_punct(&t, close))
				return true;
			if (!is_punct(&t, ',')) {
				perr(p, &t, "expected ',' or '%c', found %s", close, describe(&t, d, sizeof d));
				goto fail;
			}
		}
	}
	e->kind = EXPR_INT;
	return parse_int_expr(p, &e->num);
fail:
	expr_free(e);
	memset(e, 0, sizeof *e);
	return false;
}

/* ------------------------------------------------------------------ calls */

static bool parse_call(struct parser *p, struct event *ev, const struct token *name)
{
	struct call_spec *c = &ev->call;
	struct token t;
	char d[64];
	size_t min_args, max_args;

	ev->type = EV_CALL;
	if (!script_call_lookup(name->text, name->len, &c->id, &c->name, &min_args, &max_args))
		return perr(p, name, "unknown system call '%.*s'", (int)name->len, name->text);
	if (!expect_punct(p, '(', "after the call's name") || !peek(p, &t))
		return false;
	struct expr list = { .kind = EXPR_LIST };
	if (is_punct(&t, ')')) {
		next(p, &t);
	} else {
		for (;;) {
			struct expr item;
			if (!parse_expr(p, &item)) {
				expr_free(&list);
				return false;
			}
			if (!push_item(p, &t, &list, &item) || !next(p, &t)) {
				expr_free(&list);
				return false;
			}
			if (is_punct(&t, ')'))
				break;
			if (!is_punct(&t, ',')) {
				expr_free(&list);
				return perr(p, &t, "expected ',' or ')' in the arguments, found %s",
					    describe(&t, d, sizeof d));
			}
		}
	}
	c->args = list.items;
	c->nargs = list.nitems;
	if (c->nargs < min_args || c->nargs > max_args) {
		if (min_args == max_args)
			return perr(p, name, "%s takes %zu arguments, not %zu", c->name, min_args, c->nargs);
		return perr(p, name, "%s takes %zu to %zu arguments, not %zu", c->name, min_args,
			    max_args, c->nargs);
	}
	if (!expect_punct(p, '=', "before the call's result") || !parse_int_expr(p, &c->result))
		return false;
	if (!peek(p, &t))
		return false;
	if (t.kind == TOK_IDENT) {
		next(p, &t);
		char buf[32];
		int e = 0;
		if (t.len < sizeof buf) {
			memcpy(buf, t.text, t.len);
			buf[t.len] = '\0';
			e = tern_errno_from_name(buf);
		}
		if (e <= 0)
			return perr(p, &t, "unknown errno name '%.*s'", (int)t.len, t.text);
		if (c->result != -1)
			return perr(p, &t, "an errno goes with the result -1");
		c->err = e;
		if (!peek(p, &t))
			return false;
	}
	if (is_punct(&t, '(') && t.line == name->line) {
		next(p, &t);
		if (!lex_raw_parens(&p->lx, &t)) {
			p->failed = true;
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------------ options */

static bool parse_option(struct parser *p, const struct token *t)
{
	struct script *sc = p->sc;
	const char *eq = memchr(t->text, '=', t->len);
	size_t nlen = eq ? (size_t)(eq - t->text) : t->len;
	const char *val = eq ? eq + 1 : "";
	size_t vlen = eq ? t->len - nlen - 1 : 0;
	char vbuf[64];
	char *end;

	static const struct {
		const char *name;
		int which;
	} known[] = {
		{ "tolerance_usecs", 1 }, { "tolerance_percent", 2 }, { "tcp_ts_tick_usecs", 3 },
		{ "bind_port", 4 }, { "connect_port", 5 },
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		if (strlen(known[i].name) != nlen || memcmp(known[i].name, t->text, nlen))
			continue;
		if (!eq || vlen == 0 || vlen >= sizeof vbuf)
			return perr(p, t, "--%s needs a value", known[i].name);
		memcpy(vbuf, val, vlen);
		vbuf[vlen] = '\0';
		errno = 0;
		if (known[i].which == 2) {
			double d = strtod(vbuf, &end);
			if (errno || *end || d < 0 || d > 100)
				return perr(p, t, "--%s: '%s' is not a percentage", known[i].name, vbuf);
			sc->tolerance_pct = d;
			return true;
		}
		long long v = strtoll(vbuf, &end, 10);
		if (errno || *end || v < 0 || (known[i].which >= 4 && (v < 1 || v > 65535)) ||
		    v > 1000000000LL)
			return perr(p, t, "--%s: bad value '%s'", known[i].name, vbuf);
		if (known[i].which == 1)
			sc->tolerance_us = v;
		else if (known[i].which == 3)
			sc->ts_tick_us = v;
		else if (known[i].which == 4)
			sc->bind_port = (int)v;
		else
			sc->connect_port = (int)v;
		return true;
	}
	char **n = realloc(sc->ignored_opts, (sc->nignored + 1) * sizeof *n);
	if (!n)
		return perr(p, t, "out of memory");
	sc->ignored_opts = n;
	sc->ignored_opts[sc->nignored] = dup_text(p, t, t->text, t->len);
	if (!sc->ignored_opts[sc->nignored])
		return false;
	sc->nignored++;
	return true;
}

/* ------------------------------------------------------------------ script */

static struct event *new_event(struct parser *p, const struct token *t)
{
	struct script *sc = p->sc;
	struct event *n = realloc(sc->ev, (sc->nev + 1) * sizeof *n);
	if (!n) {
		perr(p, t, "out of memory");
		return NULL;
	}
	sc->ev = n;
	memset(&n[sc->nev], 0, sizeof n[sc->nev]);
	return &n[sc->nev++];
}

static bool parse_event(struct parser *p, const struct token *first, struct token *body)
{
	struct event *ev = new_event(p, first);
	struct token t;
	char d[64];
	if (!ev)
		return false;
	ev->line = first->line;
	ev->col = first->col;
	if (!parse_time(p, &ev->time) || !next(p, &t))
		return false;
	*body = t;
	if (is_punct(&t, '<') || is_punct(&t, '>')) {
		if (!parse_packet(p, ev, &t))
			return false;
		if (ev->pkt.inbound && (ev->time.kind == TIME_ANY || ev->time.range))
			return perr(p, first, "an injected packet needs one exact time ('*' and "
				    "ranges are for expected packets)");
		if (ev->time.blocking)
			return perr(p, first, "'...' is for blocking system calls");
		return true;
	}
	if (t.kind == TOK_CMD) {
		ev->type = EV_COMMAND;
		ev->cmd = dup_text(p, &t, t.text, t.len);
		if (!ev->cmd)
			return false;
		if (ev->time.kind == TIME_ANY || ev->time.range || ev->time.blocking)
			return perr(p, first, "a command needs one exact time");
		return true;
	}
	if (t.kind == TOK_IDENT) {
		if (!parse_call(p, ev, &t))
			return false;
		if (ev->time.kind == TIME_ANY || ev->time.range)
			return perr(p, first, "a system call needs one exact start time ('*' and "
				    "ranges are for expected packets)");
		return true;
	}
	return perr(p, &t, "expected a packet (< or >), a system call or a ` command after the "
		    "time, found %s", describe(&t, d, sizeof d));
}

/* The event's source text after its time, to its last token, blanks collapsed and
 * comments dropped, for messages and the -v timeline. */
static bool keep_text(struct parser *p, struct event *ev, const struct token *first)
{
	const char *s = p->lx.src + first->off;
	size_t n = p->lx.last_end > first->off ? p->lx.last_end - first->off : 0;
	char *d = malloc(n + 1);
	size_t k = 0;
	bool blank = false, quoted = false;
	if (!d)
		return perr(p, first, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '`')
			quoted = !quoted;
		if (quoted && c != '`') {
			d[k++] = c;
			continue;
		}
		if (c == '/' && i + 1 < n && s[i + 1] == '/') {
			while (i < n && s[i] != '\n')
				i++;
			blank = true;
			continue;
		}
		if (c == '/' && i + 1 < n && s[i + 1] == '*') {
			i += 2;
			while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'))
				i++;
			i++;
			blank = true;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			blank = true;
			continue;
		}
		if (blank && k > 0)
			d[k++] = ' ';
		blank = false;
		d[k++] = c;
	}
	d[k] = '\0';
	ev->text = d;
	return true;
}

static bool parse_all(struct parser *p)
{
	struct script *sc = p->sc;
	struct token t;
	char d[64];
	bool cleanup_seen = false;
	struct token cleanup_tok;

	for (;;) {
		if (!peek(p, &t))
			return false;
		if (t.kind == TOK_EOF)
			return true;
		if (cleanup_seen)
			return perr(p, &t, "nothing may follow the cleanup command (line %d): give "
				    "the command a time to make it an event", cleanup_tok.line);
		if (t.kind == TOK_OPTION) {
			next(p, &t);
			if (sc->nev > 0 || sc->init_cmd)
				return perr(p, &t, "options must come before the first event");
			if (!parse_option(p, &t))
				return false;
		} else if (t.kind == TOK_CMD) {
			next(p, &t);
			char *cmd = dup_text(p, &t, t.text, t.len);
			if (!cmd)
				return false;
			if (sc->nev == 0 && !sc->init_cmd) {
				sc->init_cmd = cmd;
				sc->init_line = t.line;
			} else if (sc->nev == 0) {
				free(cmd);
				return perr(p, &t, "a second command without a time before the first "
					    "event (only one init command)");
			} else {
				sc->cleanup_cmd = cmd;
				sc->cleanup_line = t.line;
				cleanup_seen = true;
				cleanup_tok = t;
			}
		} else if (t.kind == TOK_NUM || is_punct(&t, '+') || is_punct(&t, '*')) {
			struct token body;
			if (!parse_event(p, &t, &body) || !keep_text(p, &sc->ev[sc->nev - 1], &body))
				return false;
		} else {
			next(p, &t);
			return perr(p, &t, "expected an event (a time such as 0, +.1 or *), found %s",
				    describe(&t, d, sizeof d));
		}
	}
}

void script_free(struct script *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->nev; i++) {
		struct event *ev = &sc->ev[i];
		for (size_t j = 0; j < ev->call.nargs; j++)
			expr_free(&ev->call.args[j]);
		free(ev->call.args);
		free(ev->cmd);
		free(ev->text);
	}
	free(sc->ev);
	for (size_t i = 0; i < sc->nignored; i++)
		free(sc->ignored_opts[i]);
	free(sc->ignored_opts);
	free(sc->init_cmd);
	free(sc->cleanup_cmd);
	free(sc->path);
	memset(sc, 0, sizeof *sc);
}

int script_parse(const char *path, const char *text, size_t len, struct script *out,
		 struct parse_error *err)
{
	struct parser p = { .err = err, .sc = out };
	memset(out, 0, sizeof *out);
	memset(err, 0, sizeof *err);
	out->tolerance_us = 4000;
	out->tolerance_pct = 12.5;
	out->bind_port = 8080;
	out->connect_port = 8080;
	if (memchr(text, '\0', len)) {
		err->line = 1;
		err->col = 1;
		snprintf(err->msg, sizeof err->msg, "the file contains a NUL byte: not a script");
		return -1;
	}
	out->path = strdup(path);
	lex_init(&p.lx, text, len, err);
	if (!out->path || !parse_all(&p)) {
		if (!out->path && !p.failed) {
			err->line = 1;
			snprintf(err->msg, sizeof err->msg, "out of memory");
		}
		script_free(out);
		return -1;
	}
	return 0;
}
