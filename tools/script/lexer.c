/*
 * tools/script/lexer.c: splits a packetdrill script into tokens.
 *
 * The language is free-form (newlines are blanks), with three lexical quirks:
 *  - "--name=value" at the start of a line is one option token (the value runs to
 *    the end of the line), so option values need no quoting;
 *  - backticks enclose a shell command taken verbatim, comment markers included;
 *  - a free-text note after a result, "(Connection refused)", is taken raw on the
 *    parser's request (lex_raw_parens), since it is prose, not tokens.
 * A number stops before "..." so that "+0...0.5" reads as 0, "...", 0.5, and a
 * dot directly followed by a digit starts a number (".1"), while a lone dot is
 * the ACK flag of a packet line. Comments are // to the end of the line and
 * block comments; they count as blanks. Positions are 1-based line and column.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "script.h"

void lex_init(struct lexer *lx, const char *src, size_t len, struct parse_error *err)
{
	memset(lx, 0, sizeof *lx);
	lx->src = src;
	lx->len = len;
	lx->line = 1;
	lx->col = 1;
	lx->line_start = true;
	lx->err = err;
}

static bool lex_error(struct lexer *lx, int line, int col, const char *msg)
{
	if (lx->err) {
		lx->err->line = line;
		lx->err->col = col;
		snprintf(lx->err->msg, sizeof lx->err->msg, "%s", msg);
	}
	return false;
}

static int cur(const struct lexer *lx)
{
	return lx->pos < lx->len ? (unsigned char)lx->src[lx->pos] : -1;
}

static int at(const struct lexer *lx, size_t ahead)
{
	return lx->pos + ahead < lx->len ? (unsigned char)lx->src[lx->pos + ahead] : -1;
}

static void advance(struct lexer *lx)
{
	if (lx->pos >= lx->len)
		return;
	if (lx->src[lx->pos] == '\n') {
		lx->line++;
		lx->col = 1;
		lx->line_start = true;
	} else {
		lx->col++;
		if (lx->src[lx->pos] != ' ' && lx->src[lx->pos] != '\t' && lx->src[lx->pos] != '\r')
			lx->line_start = false;
	}
	lx->pos++;
}

/* Skips blanks and comments; false on an unterminated block comment. */
static bool skip_blanks(struct lexer *lx, bool *skipped)
{
	*skipped = false;
	for (;;) {
		int c = cur(lx);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
			advance(lx);
			*skipped = true;
		} else if (c == '/' && at(lx, 1) == '/') {
			while (cur(lx) != -1 && cur(lx) != '\n')
				advance(lx);
			*skipped = true;
		} else if (c == '/' && at(lx, 1) == '*') {
			int line = lx->line, col = lx->col;
			bool start = lx->line_start;
			advance(lx);
			advance(lx);
			while (cur(lx) != -1 && !(cur(lx) == '*' && at(lx, 1) == '/'))
				advance(lx);
			if (cur(lx) == -1)
				return lex_error(lx, line, col, "unterminated /* comment");
			advance(lx);
			advance(lx);
			/* A comment does not end "the start of a line". */
			if (start && lx->line == line)
				lx->line_start = true;
			*skipped = true;
		} else {
			return true;
		}
	}
}

static bool is_ident_start(int c)
{
	return c != -1 && (isalpha(c) || c == '_');
}

static bool is_ident_char(int c)
{
	return c != -1 && (isalnum(c) || c == '_');
}

static bool scan_token(struct lexer *lx, struct token *t);

static bool scan(struct lexer *lx, struct token *t)
{
	if (!scan_token(lx, t))
		return false;
	t->end = lx->pos;
	return true;
}

static bool scan_token(struct lexer *lx, struct token *t)
{
	bool skipped;
	size_t before = lx->pos;

	if (!skip_blanks(lx, &skipped))
		return false;
	memset(t, 0, sizeof *t);
	t->line = lx->line;
	t->col = lx->col;
	t->off = lx->pos;
	t->text = lx->src + lx->pos;
	t->space_before = skipped || before == 0;

	int c = cur(lx);
	if (c == -1) {
		t->kind = TOK_EOF;
		return true;
	}
	if (c == '-' && at(lx, 1) == '-' && lx->line_start) {
		/* An option line: --name or --name=value, to the end of the line. */
		advance(lx);
		advance(lx);
		t->text = lx->src + lx->pos;
		size_t start = lx->pos;
		while (cur(lx) != -1 && cur(lx) != '\n')
			advance(lx);
		size_t end = lx->pos;
		while (end > start && isspace((unsigned char)lx->src[end - 1]))
			end--;
		t->kind = TOK_OPTION;
		t->len = end - start;
		return true;
	}
	if (c == '`') {
		advance(lx);
		t->text = lx->src + lx->pos;
		size_t start = lx->pos;
		while (cur(lx) != -1 && cur(lx) != '`')
			advance(lx);
		if (cur(lx) == -1)
			return lex_error(lx, t->line, t->col, "unterminated ` command");
		t->len = lx->pos - start;
		advance(lx);
		t->kind = TOK_CMD;
		return true;
	}
	if (c == '"') {
		advance(lx);
		t->text = lx->src + lx->pos;
		size_t start = lx->pos;
		while (cur(lx) != -1 && cur(lx) != '"' && cur(lx) != '\n')
			advance(lx);
		if (cur(lx) != '"')
			return lex_error(lx, t->line, t->col, "unterminated string");
		t->len = lx->pos - start;
		advance(lx);
		t->kind = TOK_STRING;
		return true;
	}
	if (c == '.' && at(lx, 1) == '.' && at(lx, 2) == '.') {
		advance(lx);
		advance(lx);
		advance(lx);
		t->kind = TOK_ELLIPSIS;
		t->len = 3;
		return true;
	}
	if (isdigit(c) || (c == '.' && at(lx, 1) != -1 && isdigit(at(lx, 1)))) {
		size_t start = lx->pos;
		if (c == '0' && (at(lx, 1) == 'x' || at(lx, 1) == 'X')) {
			advance(lx);
			advance(lx);
			while (cur(lx) != -1 && isxdigit(cur(lx)))
				advance(lx);
		} else {
			while (cur(lx) != -1 && isdigit(cur(lx)))
				advance(lx);
			/* A fraction, but not the start of "...". */
			if (cur(lx) == '.' && at(lx, 1) != '.') {
				advance(lx);
				while (cur(lx) != -1 && isdigit(cur(lx)))
					advance(lx);
			}
		}
		if (is_ident_char(cur(lx)))
			return lex_error(lx, lx->line, lx->col, "malformed number");
		t->kind = TOK_NUM;
		t->len = lx->pos - start;
		return true;
	}
	if (is_ident_start(c)) {
		size_t start = lx->pos;
		while (is_ident_char(cur(lx)))
			advance(lx);
		t->kind = TOK_IDENT;
		t->len = lx->pos - start;
		return true;
	}
	if (strchr("+-*~<>()[]{},=:|.", c)) {
		advance(lx);
		t->kind = TOK_PUNCT;
		t->ch = (char)c;
		t->len = 1;
		return true;
	}
	char msg[64];
	if (isprint(c))
		snprintf(msg, sizeof msg, "unexpected character '%c'", c);
	else
		snprintf(msg, sizeof msg, "unexpected byte 0x%02x", (unsigned)c);
	return lex_error(lx, t->line, t->col, msg);
}

bool lex_next(struct lexer *lx, struct token *t)
{
	if (lx->has_peek) {
		*t = lx->peek;
		lx->has_peek = false;
	} else if (!scan(lx, t)) {
		return false;
	}
	lx->last_end = t->end;
	return true;
}

bool lex_peek(struct lexer *lx, struct token *t)
{
	if (!lx->has_peek) {
		if (!scan(lx, &lx->peek))
			return false;
		lx->has_peek = true;
	}
	*t = lx->peek;
	return true;
}

/* Rewinds to the start of a peeked token so raw scanning sees its text. */
static void unpeek(struct lexer *lx)
{
	if (!lx->has_peek)
		return;
	lx->has_peek = false;
	/* Recount the position from the start: scripts are small, and this keeps
	 * line and column exact without storing more state. */
	size_t target = lx->peek.off;
	lx->pos = 0;
	lx->line = 1;
	lx->col = 1;
	lx->line_start = true;
	while (lx->pos < target)
		advance(lx);
}

bool lex_raw_parens(struct lexer *lx, struct token *t)
{
	unpeek(lx);
	memset(t, 0, sizeof *t);
	t->kind = TOK_STRING;
	t->line = lx->line;
	t->col = lx->col;
	t->off = lx->pos;
	t->text = lx->src + lx->pos;
	int depth = 1;
	size_t start = lx->pos;
	for (;;) {
		int c = cur(lx);
		if (c == -1 || c == '\n')
			return lex_error(lx, t->line, t->col, "unterminated ( note");
		if (c == '(')
			depth++;
		if (c == ')' && --depth == 0)
			break;
		advance(lx);
	}
	t->len = lx->pos - start;
	advance(lx);
	t->end = lx->pos;
	lx->last_end = lx->pos;
	return true;
}
