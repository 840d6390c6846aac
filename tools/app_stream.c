/*
 * tools/app_stream.c: the three classic stream services of `tern serve`
 * (tools/app.h): echo (RFC 862), discard (RFC 863) and chargen (RFC 864), plus
 * the output queue every application shares.
 *
 * All three close only once the peer's FIN has been read, so a closing tern never
 * has unread data in its receive queue (which would turn its FIN into a reset, as
 * on Linux): a client that half-closes gets everything, then tern's FIN.
 *
 * Also here: `reset` and `unread`, which end every connection with an RST on
 * purpose, the two ways a Linux application can (SO_LINGER 0, and close() with
 * unread data), so that tests see the kernel's side of an abort.
 */
#include <string.h>

#include "app.h"
#include "tern/errors.h"

/* Each step reads at most this much before yielding to the other connections. */
#define STEP_READ_BYTES (256 * 1024)

const char app_names[] = "echo, discard, chargen, http, reset, unread";

const struct app *app_find(const char *name)
{
	static const struct app *const all[] = { &app_echo,  &app_discard, &app_chargen,
						 &app_http,  &app_reset,   &app_unread };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}

int app_flush(struct app_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = tern_send(c->st, c->fd, c->out + c->out_off, c->out_len - c->out_off,
				      TERN_MSG_NOSIGNAL);
		if (n == -TERN_EAGAIN)
			return 0;
		if (n <= 0) {
			c->err = n < 0 ? (int)-n : TERN_EPIPE;
			return -1;
		}
		c->out_off += (size_t)n;
		c->tx_bytes += (uint64_t)n;
	}
	c->out_off = c->out_len = 0;
	return 1;
}

size_t app_room(struct app_conn *c)
{
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	return sizeof(c->out) - c->out_len;
}

/* Reads into `out` (echo) or nowhere (discard, chargen) until the socket would
 * block, the budget is spent or `out` is full. 1: may continue, 0: would block,
 * -1: failed. Sets c->eof at the peer's FIN. */
static int take_input(struct app_conn *c, bool keep)
{
	uint8_t sink[16384];
	size_t budget = STEP_READ_BYTES;

	while (!c->eof && budget) {
		uint8_t *to = sink;
		size_t room = sizeof(sink);
		if (keep) {
			room = app_room(c);
			if (!room)
				return 1;
			to = c->out + c->out_len;
		}
		ssize_t n = tern_recv(c->st, c->fd, to, room, 0);
		if (n == -TERN_EAGAIN)
			return 0;
		if (n < 0) {
			c->err = (int)-n;
			return -1;
		}
		if (n == 0) {
			c->eof = true;
			break;
		}
		c->rx_bytes += (uint64_t)n;
		if (keep)
			c->out_len += (size_t)n;
		budget -= (size_t)n < budget ? (size_t)n : budget;
	}
	return 1;
}

/* ------------------------------------------------------------ echo */

static uint32_t echo_step(struct app_conn *c)
{
	for (int round = 0; round < 64; round++) {
		int f = app_flush(c);
		if (f < 0)
			return 0;
		if (f == 0)
			return TERN_POLLOUT;     /* stop reading until the peer takes more */
		if (c->eof)
			return 0;                /* all echoed: close, sending our FIN */
		int r = take_input(c, true);
		if (r < 0)
			return 0;
		if (r == 0 && c->out_len == 0)
			return TERN_POLLIN;
	}
	return TERN_POLLIN | TERN_POLLOUT;       /* yield; still ready */
}

const struct app app_echo = { "echo", 7, "RFC 862: sends back what it reads", echo_step };

/* ------------------------------------------------------------ discard */

static uint32_t discard_step(struct app_conn *c)
{
	int r = take_input(c, false);
	if (r < 0 || c->eof)
		return 0;
	return TERN_POLLIN;
}

const struct app app_discard = { "discard", 9, "RFC 863: reads and drops", discard_step };

/* ------------------------------------------------------------ chargen */

/* RFC 864's suggested pattern: the 95 printable characters (32..126), lines of 72
 * of them, each line starting one character further along, ended by CR LF. */
#define CHARGEN_LINE 74

static uint8_t chargen_byte(uint64_t i)
{
	uint64_t line = i / CHARGEN_LINE, col = i % CHARGEN_LINE;
	if (col == 72)
		return '\r';
	if (col == 73)
		return '\n';
	return (uint8_t)(' ' + (line + col) % 95);
}

/* The pattern repeats every 95 lines (each starts one character further on):
 * 7,030 bytes, built once and then copied, not made byte by byte. */
#define CHARGEN_PERIOD (95 * CHARGEN_LINE)

static void chargen_fill(uint8_t *to, uint64_t pos, size_t len)
{
	static uint8_t period[CHARGEN_PERIOD];
	static bool built;
	if (!built) {
		for (size_t i = 0; i < CHARGEN_PERIOD; i++)
			period[i] = chargen_byte(i);
		built = true;
	}
	size_t off = (size_t)(pos % CHARGEN_PERIOD);
	while (len) {
		size_t n = CHARGEN_PERIOD - off < len ? CHARGEN_PERIOD - off : len;
		memcpy(to, period + off, n);
		to += n;
		len -= n;
		off = 0;
	}
}

static uint32_t chargen_step(struct app_conn *c)
{
	/* Input is read and dropped: it is only there to learn about the FIN. */
	if (take_input(c, false) < 0 || c->eof)
		return 0;
	for (int round = 0; round < 64; round++) {
		int f = app_flush(c);
		if (f < 0)
			return 0;
		if (f == 0)
			return TERN_POLLIN | TERN_POLLOUT;
		size_t room = app_room(c);
		chargen_fill(c->out + c->out_len, c->pos, room);
		c->out_len += room;
		c->pos += room;
	}
	return TERN_POLLIN | TERN_POLLOUT;
}

const struct app app_chargen = { "chargen", 19, "RFC 864: a stream of text lines, until the peer closes",
				 chargen_step };

/* ------------------------------------------------------------ reset, unread */

/* reset: once the client has sent something, reads all of it and closes with
 * SO_LINGER {1, 0}. Nothing is left unread, so it is the linger that turns the
 * close into an abort (Linux's tcp_disconnect): an RST, TcpExtTCPAbortOnData. A
 * client that closes without sending just gets closed. */
static uint32_t reset_step(struct app_conn *c)
{
	int r = take_input(c, false);
	if (r < 0)
		return 0;
	if (c->rx_bytes == 0 && !c->eof)
		return TERN_POLLIN;
	if (c->rx_bytes) {
		struct tern_linger lg = { .l_onoff = 1, .l_linger = 0 };
		tern_setsockopt(c->st, c->fd, TERN_SOL_SOCKET, TERN_SO_LINGER, &lg, sizeof(lg));
	}
	return 0;
}

const struct app app_reset = { "reset", 10, "reads the request, then aborts (SO_LINGER 0): RST",
			       reset_step };

/* unread: once the client has sent something, reads one byte and closes with the
 * rest still queued; RFC 2525 §2.17 (and Linux) answer such a close with an RST
 * rather than a FIN: TcpExtTCPAbortOnClose. A client that sends exactly one byte
 * leaves nothing unread and gets a FIN. */
static uint32_t unread_step(struct app_conn *c)
{
	uint8_t one;
	ssize_t n = tern_recv(c->st, c->fd, &one, 1, 0);
	if (n == -TERN_EAGAIN)
		return TERN_POLLIN;
	if (n < 0)
		c->err = (int)-n;
	else
		c->rx_bytes += (uint64_t)n;
	return 0;
}

const struct app app_unread = { "unread", 12, "reads one byte, closes with the rest unread: RST",
				unread_step };
