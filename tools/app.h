/*
 * tools/app.h: the built-in applications of `tern serve` (tools/cmd_serve.c).
 *
 * An application serves one accepted connection at a time through `step`, which
 * the server calls whenever the connection's socket reports readiness. A step
 * reads and writes until the socket would block (the socket API never blocks) and
 * answers with the readiness it waits for next, TERN_POLLIN and/or TERN_POLLOUT,
 * or 0 when it is finished with the connection, which the server then closes.
 * Output the send buffer did not take waits in `out` (app_queue, app_flush), so
 * an application never has to regenerate what it already produced.
 *
 * The applications and their well-known ports:
 *   echo     RFC 862: every byte back; at the peer's FIN, the rest, then close
 *   discard  RFC 863: reads and drops; closes at the peer's FIN
 *   chargen  RFC 864: the rotating 72-character lines, until the peer closes
 *   http     HTTP/1.1 (RFC 9112): GET /N answers N bytes of app_http_body;
 *            keep-alive, HEAD, pipelined requests answered in order
 * and two that end connections the abrupt way, for tests against the kernel
 * (ports 10 and 12 are unassigned in IANA's registry):
 *   reset    (10) reads what the client sent, then closes with SO_LINGER 0: an
 *            RST instead of a FIN (TcpExtTCPAbortOnData)
 *   unread   (12) reads one byte of what the client sent and closes with the rest
 *            unread: an RST (RFC 2525 §2.17, TcpExtTCPAbortOnClose)
 *
 * A connection that fails (the peer's RST, a timeout) records the error in
 * `err`, which the server reports.
 */
#ifndef TERN_TOOLS_APP_H
#define TERN_TOOLS_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/socket.h"

#define APP_OUT_BYTES 16384
#define APP_HTTP_REQ_BYTES 8192

struct app_conn {
	struct tern_stack *st;
	int fd;
	const struct app *app;
	bool eof;                      /* the peer's FIN has been read */
	uint64_t rx_bytes, tx_bytes;   /* what the application read and had accepted */
	int err;                       /* TERN_E* that ended the connection, or 0 */
	uint8_t out[APP_OUT_BYTES];    /* produced, not yet taken by the send buffer */
	size_t out_off, out_len;
	uint64_t pos;                  /* chargen: stream offset */
	/* http */
	char req[APP_HTTP_REQ_BYTES];  /* the request being received */
	size_t req_len;
	uint64_t body_left;            /* body bytes of the current answer not produced */
	uint64_t body_pos;             /* offset in the body of the next one */
	uint64_t skip_left;            /* request body bytes to drop (Content-Length) */
	bool close_after;              /* close once the current answer is out */
	uint64_t requests;
};

struct app {
	const char *name;
	uint16_t port;                 /* the well-known one */
	const char *summary;
	/* Called at accept and whenever the socket is ready; returns the readiness
	 * wanted next, or 0 to have the connection closed. */
	uint32_t (*step)(struct app_conn *c);
};

extern const struct app app_echo, app_discard, app_chargen, app_http, app_reset, app_unread;

/* The names, for messages: "echo, discard, chargen, http, reset, unread". */
extern const char app_names[];

/* The application called `name`, or NULL. */
const struct app *app_find(const char *name);

/* Sends what `out` holds. 1 when it is empty, 0 when the send buffer is full
 * (wait for POLLOUT), -1 when the connection failed (close it; `err` says why). */
int app_flush(struct app_conn *c);
/* Room left at the end of `out` (compacting it first). */
size_t app_room(struct app_conn *c);

/* Byte `i` of the body `GET /N` answers: 64-byte lines, 63 characters from
 * [0-9A-Za-z] rotating by one per line, then '\n'. Tests recompute it. */
uint8_t app_http_body_byte(uint64_t i);

#endif
