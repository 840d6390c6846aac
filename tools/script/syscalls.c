/*
 * tools/script/syscalls.c: the system calls of a script, run through tern's
 * socket API (include/tern/socket.h), and their symbolic constants.
 *
 * Descriptors: a script names sockets by the numbers packetdrill would see; the
 * runner maps each to the live tern descriptor (socket(), accept() and
 * epoll_create() add a mapping, close() removes it; an unknown number maps to
 * one tern has never handed out, so the call fails with EBADF as it would).
 * "..." arguments are filled in as packetdrill does: bind() to the wildcard
 * address and the bind port (8080), connect() to the peer 192.0.2.1 and the
 * connect port (8080), accept() and get*name() get any address, read/write
 * buffers are zeros.
 *
 * Blocking. tern never blocks (DESIGN.md §1), so the runner plays the blocking
 * kernel: a call on a blocking socket (fcntl F_GETFL without O_NONBLOCK, and no
 * MSG_DONTWAIT) that would block becomes the pending call. It finishes when the
 * socket is ready (accept, read and write are retried after every simulator
 * step; a connect finishes when poll shows it writable or in error, with
 * SO_ERROR as its result), poll and epoll_wait when something is ready or their
 * timeout passes. Written "+0...END", the script's other events go on while it
 * waits and it must return at END (within the tolerance); written without an end
 * it is like packetdrill's main thread blocking: nothing else happens, and it must
 * return within the tolerance of its start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"
#include "tern/errors.h"
#include "tern/socket.h"
#include "tern/stack.h"

/* A descriptor number tern never hands out: calls on it fail with EBADF. */
#define NO_SUCH_FD 0x3fffffff
/* The largest buffer a read or write may ask for. */
#define MAX_IO_BYTES (64u << 20)

/* ------------------------------------------------------------------ tables */

static const struct {
	const char *name;
	enum call_id id;
	size_t min_args, max_args;
} call_table[] = {
	{ "socket", CALL_SOCKET, 3, 3 },         { "bind", CALL_BIND, 3, 3 },
	{ "listen", CALL_LISTEN, 2, 2 },         { "accept", CALL_ACCEPT, 3, 3 },
	{ "accept4", CALL_ACCEPT4, 4, 4 },       { "connect", CALL_CONNECT, 3, 3 },
	{ "read", CALL_READ, 3, 3 },             { "write", CALL_WRITE, 3, 3 },
	{ "recv", CALL_RECV, 4, 4 },             { "send", CALL_SEND, 4, 4 },
	{ "close", CALL_CLOSE, 1, 1 },           { "shutdown", CALL_SHUTDOWN, 2, 2 },
	{ "setsockopt", CALL_SETSOCKOPT, 5, 5 }, { "getsockopt", CALL_GETSOCKOPT, 5, 5 },
	{ "fcntl", CALL_FCNTL, 2, 3 },           { "poll", CALL_POLL, 3, 3 },
	{ "epoll_create", CALL_EPOLL_CREATE, 1, 1 },
	{ "epoll_create1", CALL_EPOLL_CREATE, 1, 1 },
	{ "epoll_ctl", CALL_EPOLL_CTL, 4, 4 },   { "epoll_wait", CALL_EPOLL_WAIT, 4, 4 },
	{ "getsockname", CALL_GETSOCKNAME, 3, 3 },
	{ "getpeername", CALL_GETPEERNAME, 3, 3 },
};

bool script_call_lookup(const char *name, size_t len, enum call_id *id, const char **canon,
			size_t *min_args, size_t *max_args)
{
	for (size_t i = 0; i < sizeof call_table / sizeof call_table[0]; i++) {
		if (strlen(call_table[i].name) == len && !memcmp(call_table[i].name, name, len)) {
			*id = call_table[i].id;
			*canon = call_table[i].name;
			*min_args = call_table[i].min_args;
			*max_args = call_table[i].max_args;
			return true;
		}
	}
	return false;
}

/* Linux's values, which are tern's (include/tern/socket.h). */
static const struct {
	const char *name;
	long long value;
} const_table[] = {
	{ "AF_UNSPEC", 0 }, { "AF_INET", 2 }, { "AF_INET6", 10 }, { "PF_INET", 2 },
	{ "PF_INET6", 10 },
	{ "SOCK_STREAM", 1 }, { "SOCK_DGRAM", 2 }, { "SOCK_NONBLOCK", 04000 },
	{ "SOCK_CLOEXEC", 02000000 },
	{ "IPPROTO_IP", 0 }, { "IPPROTO_TCP", 6 }, { "IPPROTO_UDP", 17 },
	{ "SOL_SOCKET", 1 }, { "SOL_IP", 0 }, { "SOL_TCP", 6 },
	{ "SO_DEBUG", 1 }, { "SO_REUSEADDR", 2 }, { "SO_TYPE", 3 }, { "SO_ERROR", 4 },
	{ "SO_DONTROUTE", 5 }, { "SO_BROADCAST", 6 }, { "SO_SNDBUF", 7 }, { "SO_RCVBUF", 8 },
	{ "SO_KEEPALIVE", 9 }, { "SO_OOBINLINE", 10 }, { "SO_LINGER", 13 },
	{ "SO_REUSEPORT", 15 }, { "SO_RCVLOWAT", 18 }, { "SO_SNDLOWAT", 19 },
	{ "SO_RCVTIMEO", 20 }, { "SO_SNDTIMEO", 21 }, { "SO_ACCEPTCONN", 30 },
	{ "TCP_NODELAY", 1 }, { "TCP_MAXSEG", 2 }, { "TCP_CORK", 3 }, { "TCP_KEEPIDLE", 4 },
	{ "TCP_KEEPINTVL", 5 }, { "TCP_KEEPCNT", 6 }, { "TCP_SYNCNT", 7 }, { "TCP_LINGER2", 8 },
	{ "TCP_DEFER_ACCEPT", 9 }, { "TCP_WINDOW_CLAMP", 10 }, { "TCP_INFO", 11 },
	{ "TCP_QUICKACK", 12 }, { "TCP_CONGESTION", 13 }, { "TCP_USER_TIMEOUT", 18 },
	{ "TCP_FASTOPEN", 23 }, { "TCP_NOTSENT_LOWAT", 25 },
	{ "O_RDONLY", 0 }, { "O_WRONLY", 1 }, { "O_RDWR", 2 }, { "O_NONBLOCK", 04000 },
	{ "O_NDELAY", 04000 },
	{ "F_GETFD", 1 }, { "F_SETFD", 2 }, { "F_GETFL", 3 }, { "F_SETFL", 4 },
	{ "SHUT_RD", 0 }, { "SHUT_WR", 1 }, { "SHUT_RDWR", 2 },
	{ "MSG_OOB", 0x1 }, { "MSG_PEEK", 0x2 }, { "MSG_DONTROUTE", 0x4 }, { "MSG_TRUNC", 0x20 },
	{ "MSG_DONTWAIT", 0x40 }, { "MSG_EOR", 0x80 }, { "MSG_WAITALL", 0x100 },
	{ "MSG_NOSIGNAL", 0x4000 }, { "MSG_MORE", 0x8000 },
	{ "POLLIN", 0x1 }, { "POLLPRI", 0x2 }, { "POLLOUT", 0x4 }, { "POLLERR", 0x8 },
	{ "POLLHUP", 0x10 }, { "POLLNVAL", 0x20 }, { "POLLRDNORM", 0x40 }, { "POLLRDBAND", 0x80 },
	{ "POLLWRNORM", 0x100 }, { "POLLWRBAND", 0x200 }, { "POLLRDHUP", 0x2000 },
	{ "EPOLLIN", 0x1 }, { "EPOLLPRI", 0x2 }, { "EPOLLOUT", 0x4 }, { "EPOLLERR", 0x8 },
	{ "EPOLLHUP", 0x10 }, { "EPOLLRDNORM", 0x40 }, { "EPOLLRDBAND", 0x80 },
	{ "EPOLLWRNORM", 0x100 }, { "EPOLLWRBAND", 0x200 }, { "EPOLLRDHUP", 0x2000 },
	{ "EPOLLEXCLUSIVE", 1ll << 28 }, { "EPOLLONESHOT", 1ll << 30 }, { "EPOLLET", 1ll << 31 },
	{ "EPOLL_CTL_ADD", 1 }, { "EPOLL_CTL_DEL", 2 }, { "EPOLL_CTL_MOD", 3 },
	{ "EPOLL_CLOEXEC", 02000000 },
};

bool script_const(const char *name, size_t len, long long *out)
{
	for (size_t i = 0; i < sizeof const_table / sizeof const_table[0]; i++) {
		if (strlen(const_table[i].name) == len && !memcmp(const_table[i].name, name, len)) {
			*out = const_table[i].value;
			return true;
		}
	}
	char buf[32];
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, name, len);
	buf[len] = '\0';
	int e = tern_errno_from_name(buf);
	if (e > 0) {
		*out = e;
		return true;
	}
	return false;
}

/* ------------------------------------------------------------------ arguments */

struct call_ctx {
	int fd;                  /* live descriptor the call acts on */
	int flags;
	bool blocking;
	bool started;            /* connect: the live connect() was issued */
	size_t want, done;       /* read/write sizes */
	void *buf;
	struct tern_sockaddr peer;
	struct tern_pollfd *pfds;
	size_t npfds;
	struct tern_epoll_event *evs;
	int maxev;
	long long timeout_ms;
};

static void ctx_free(struct call_ctx *x)
{
	if (!x)
		return;
	free(x->buf);
	free(x->pfds);
	free(x->evs);
	free(x);
}

static const struct expr *arg(const struct event *ev, size_t i)
{
	return &ev->call.args[i];
}

static bool want_int(struct runner *r, const struct event *ev, const struct expr *e,
		     const char *what, long long *v)
{
	if (e->kind != EXPR_INT) {
		run_fail(r, ev->line, "%s: %s must be an integer here", ev->call.name, what);
		return false;
	}
	*v = e->num;
	return true;
}

static bool want_ellipsis(struct runner *r, const struct event *ev, size_t i)
{
	if (arg(ev, i)->kind != EXPR_ELLIPSIS) {
		run_fail(r, ev->line, "%s: argument %zu must be '...' (the runner fills in "
			 "addresses and buffers)", ev->call.name, i + 1);
		return false;
	}
	return true;
}

/* A script descriptor, as the live one. */
static bool want_fd(struct runner *r, const struct event *ev, size_t i, int *live)
{
	long long v;
	if (!want_int(r, ev, arg(ev, i), "the descriptor", &v))
		return false;
	struct fd_map *m = (v >= 0 && v <= 0x7fffffff) ? run_fd(r, (int)v) : NULL;
	*live = m ? m->live_fd : NO_SUCH_FD;
	return true;
}

static const struct expr *field(const struct expr *s, const char *name)
{
	for (size_t i = 0; i < s->nitems; i++)
		if (s->items[i].field && !strcmp(s->items[i].field, name))
			return &s->items[i];
	return NULL;
}

static bool field_int(struct runner *r, const struct event *ev, const struct expr *s,
		      const char *name, bool required, long long *v)
{
	const struct expr *f = field(s, name);
	if (!f) {
		if (required)
			run_fail(r, ev->line, "%s: the struct needs '%s='", ev->call.name, name);
		return !required;
	}
	return want_int(r, ev, f, name, v);
}

/* ------------------------------------------------------------------ results */

static void result_text(long long rc, char *buf, size_t cap)
{
	if (rc >= 0)
		snprintf(buf, cap, "%lld", rc);
	else if (tern_errname((int)-rc))
		snprintf(buf, cap, "-1 %s (%s)", tern_errname((int)-rc), tern_strerror((int)-rc));
	else
		snprintf(buf, cap, "-1 errno %lld", -rc);
}

static void expected_text(const struct call_spec *cs, char *buf, size_t cap)
{
	if (cs->result == -1 && cs->err)
		result_text(-(long long)cs->err, buf, cap);
	else
		snprintf(buf, cap, "%lld", cs->result);
}

/* Checks the return value; `any_fd` accepts any descriptor for a script's fd. */
static bool check_result(struct runner *r, const struct event *ev, long long rc, bool any_fd)
{
	const struct call_spec *cs = &ev->call;
	bool ok;
	if (rc >= 0)
		ok = cs->result >= 0 && (any_fd || rc == cs->result);
	else
		ok = cs->result == -1 && (cs->err == 0 || cs->err == -rc);
	if (!ok) {
		char got[96], want[96];
		result_text(rc, got, sizeof got);
		expected_text(cs, want, sizeof want);
		run_fail(r, ev->line, "%s returned %s, expected %s", cs->name, got, want);
	}
	return ok;
}

/* The end-time check of a call that waited (or should not have). */
static void check_return_time(struct runner *r)
{
	const struct pending *p = &r->blk;
	tern_time now = run_now(r);
	char tn[32], te[32], tt[32];
	fmt_time(tn, sizeof tn, now);
	if (p->explicit_end) {
		tern_time base = r->sc->tolerance_us * TERN_NS_PER_US;
		tern_time dyn = (tern_time)((double)(p->end - p->start) * r->sc->tolerance_pct / 100.0);
		tern_time tol = dyn > base ? dyn : base;
		if (now < p->end - tol || now > p->end + tol) {
			fmt_time(te, sizeof te, p->end);
			fmt_time(tt, sizeof tt, tol);
			run_fail(r, p->ev->line, "%s returned at %s s, expected at %s s (tolerance %s s)",
				 p->ev->call.name, tn, te, tt);
		}
	} else if (now > p->start + p->tol) {
		fmt_time(te, sizeof te, p->start);
		run_fail(r, p->ev->line, "%s blocked from %s s until %s s; a call that waits needs "
			 "an end time (+0...END)", p->ev->call.name, te, tn);
	}
}

/* ------------------------------------------------------------------ bookkeeping */

static bool has_fd(const struct runner *r, const struct conn *c)
{
	for (size_t i = 0; i < r->nfds; i++)
		if (r->fds[i].conn == c)
			return true;
	return false;
}

/* packetdrill hands an accepted descriptor its newest passive connection; the
 * runner takes the one whose remote port the stack reports, which is the same
 * wherever the corpus calls accept(), and falls back to the newest. */
static struct conn *accepted_conn(struct runner *r, const struct tern_sockaddr *peer, int live_fd)
{
	struct conn *fallback = NULL;
	for (size_t i = r->nconns; i-- > 0;) {
		struct conn *c = r->conns[i];
		if ((c->state != CONN_SYNACK_SENT && c->state != CONN_SYNACK_ACKED) || has_fd(r, c))
			continue;
		if (c->tuple && c->rport == peer->port)
			return c;
		if (!fallback)
			fallback = c;
	}
	if (fallback)
		return fallback;
	struct conn *c = run_new_conn(r, CONN_SYNACK_ACKED);
	if (c) {
		struct tern_sockaddr self;
		c->tuple = true;
		c->rport = peer->port;
		c->lport = tern_getsockname(r->st, live_fd, &self) == 0 ? self.port
									: (uint16_t)r->sc->bind_port;
	}
	return c;
}

static void after_success(struct runner *r, const struct event *ev, long long rc)
{
	const struct call_spec *cs = &ev->call;
	struct call_ctx *x = r->blk.ctx;
	struct fd_map *m;

	switch (cs->id) {
	case CALL_SOCKET: {
		struct conn *c = run_new_conn(r, CONN_NEW);
		if (!c) {
			run_fail(r, ev->line, "out of memory");
			return;
		}
		run_map_fd(r, (int)cs->result, (int)rc, c);
		r->sut = c;
		break;
	}
	case CALL_ACCEPT:
	case CALL_ACCEPT4: {
		struct conn *c = accepted_conn(r, &x->peer, (int)rc);
		if (!c) {
			run_fail(r, ev->line, "out of memory");
			return;
		}
		/* Not made the socket under test: packetdrill only names the descriptor
		 * (listen0-one-connection.pkt relies on the newest client staying
		 * the one followed). */
		run_map_fd(r, (int)cs->result, (int)rc, c);
		break;
	}
	case CALL_EPOLL_CREATE:
		run_map_fd(r, (int)cs->result, (int)rc, NULL);
		break;
	case CALL_LISTEN:
		m = run_fd(r, (int)arg(ev, 0)->num);
		if (m && m->conn && (m->conn->state == CONN_NEW || m->conn->state == CONN_LISTENING))
			m->conn->state = CONN_LISTENING;
		break;
	case CALL_CLOSE:
		run_unmap_fd(r, (int)arg(ev, 0)->num);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ calls */

static bool is_blocking_fd(struct runner *r, int fd, int msg_flags)
{
	int fl = tern_fcntl(r->st, fd, TERN_F_GETFL, 0);
	return fl >= 0 && !(fl & TERN_O_NONBLOCK) && !(msg_flags & TERN_MSG_DONTWAIT);
}

/* Compares poll's revents with the script's. */
static bool check_poll(struct runner *r, const struct event *ev, struct call_ctx *x)
{
	const struct expr *list = arg(ev, 0);
	for (size_t i = 0; i < x->npfds; i++) {
		long long want;
		if (!field(&list->items[i], "revents"))
			continue;
		field_int(r, ev, &list->items[i], "revents", true, &want);
		if ((short)want != x->pfds[i].revents) {
			run_fail(r, ev->line, "poll: entry %zu revents 0x%x, expected 0x%llx", i + 1,
				 (unsigned)(unsigned short)x->pfds[i].revents, want);
			return false;
		}
	}
	return true;
}

static bool check_epoll(struct runner *r, const struct event *ev, struct call_ctx *x, int n)
{
	const struct expr *list = arg(ev, 1);
	if (list->kind != EXPR_LIST)
		return true;
	if ((size_t)n != list->nitems) {
		run_fail(r, ev->line, "epoll_wait: %d events, the script lists %zu", n, list->nitems);
		return false;
	}
	for (int i = 0; i < n; i++) {
		long long ev_bits, fd;
		if (!field_int(r, ev, &list->items[i], "events", true, &ev_bits) ||
		    !field_int(r, ev, &list->items[i], "fd", true, &fd))
			return false;
		if ((uint32_t)ev_bits != x->evs[i].events || (uint64_t)fd != x->evs[i].data) {
			run_fail(r, ev->line, "epoll_wait: event %d is {events=0x%x, fd=%llu}, expected "
				 "{events=0x%llx, fd=%lld}", i + 1, x->evs[i].events,
				 (unsigned long long)x->evs[i].data, ev_bits, fd);
			return false;
		}
	}
	return true;
}

/* One attempt at a call that may wait. True when it finished, with *rc. */
static bool attempt(struct runner *r, const struct event *ev, struct call_ctx *x, long long *rc)
{
	int n;
	switch (ev->call.id) {
	case CALL_ACCEPT:
	case CALL_ACCEPT4:
		n = tern_accept(r->st, x->fd, &x->peer, x->flags);
		if (n == -TERN_EAGAIN && x->blocking)
			return false;
		*rc = n;
		return true;
	case CALL_CONNECT: {
		if (!x->started) {
			struct tern_sockaddr to = { .addr = tern_addr_v4(192, 0, 2, 1),
						    .port = (uint16_t)r->sc->connect_port };
			x->started = true;
			n = tern_connect(r->st, x->fd, &to);
			if (n == -TERN_EINPROGRESS && x->blocking)
				return false;
			*rc = n;
			return true;
		}
		struct tern_pollfd pfd = { .fd = x->fd, .events = TERN_POLLOUT };
		if (tern_poll(r->st, &pfd, 1) <= 0 ||
		    !(pfd.revents & (TERN_POLLOUT | TERN_POLLERR | TERN_POLLHUP)))
			return false;
		int err = 0;
		size_t len = sizeof err;
		n = tern_getsockopt(r->st, x->fd, TERN_SOL_SOCKET, TERN_SO_ERROR, &err, &len);
		*rc = n < 0 ? n : err ? -(long long)err : 0;
		return true;
	}
	case CALL_READ:
	case CALL_RECV: {
		ssize_t got = tern_recv(r->st, x->fd, x->buf, x->want, x->flags);
		if (got == -TERN_EAGAIN && x->blocking)
			return false;
		*rc = got;
		return true;
	}
	case CALL_WRITE:
	case CALL_SEND: {
		ssize_t sent = tern_send(r->st, x->fd, (const char *)x->buf + x->done,
					 x->want - x->done, x->flags);
		if (sent >= 0)
			x->done += (size_t)sent;
		if (x->blocking && x->done < x->want && (sent >= 0 || sent == -TERN_EAGAIN))
			return false;
		*rc = sent < 0 && x->done == 0 ? sent : (long long)x->done;
		return true;
	}
	case CALL_POLL:
		n = tern_poll(r->st, x->pfds, x->npfds);
		if (n == 0 && x->blocking && run_now(r) < r->blk.deadline)
			return false;
		*rc = n;
		return true;
	case CALL_EPOLL_WAIT:
		n = tern_epoll_wait(r->st, x->fd, x->evs, x->maxev);
		if (n == 0 && x->blocking && run_now(r) < r->blk.deadline)
			return false;
		*rc = n;
		return true;
	case CALL_CLOSE:
		/* A lingering close finishes once poll says the wait is over. */
		if (x->started) {
			struct tern_pollfd pfd = { .fd = x->fd, .events = 0 };
			if (tern_poll(r->st, &pfd, 1) <= 0 || !(pfd.revents & TERN_POLLHUP))
				return false;
		}
		n = tern_close(r->st, x->fd);
		if (n == -TERN_EINPROGRESS) {
			x->started = true;
			return false;
		}
		*rc = n;
		return true;
	default:
		return true;
	}
}

/* A finished call: result, side effects, return time, log. */
static void finish(struct runner *r, long long rc)
{
	const struct event *ev = r->blk.ev;
	const struct call_spec *cs = &ev->call;
	bool any_fd = cs->id == CALL_SOCKET || cs->id == CALL_ACCEPT || cs->id == CALL_ACCEPT4 ||
		      cs->id == CALL_EPOLL_CREATE;
	char res[96];

	result_text(rc, res, sizeof res);
	run_vlog(r, run_now(r), "%s -> %s%s   [line %d]", ev->text, res,
		 r->blk.explicit_end ? " (returned)" : "", ev->line);
	if (check_result(r, ev, rc, any_fd)) {
		if (rc >= 0)
			after_success(r, ev, rc);
		if (cs->id == CALL_POLL && rc >= 0)
			check_poll(r, ev, r->blk.ctx);
		if (cs->id == CALL_EPOLL_WAIT && rc >= 0)
			check_epoll(r, ev, r->blk.ctx, (int)rc);
	}
	if (!r->failed)
		check_return_time(r);
	call_discard_pending(r);
}

void call_discard_pending(struct runner *r)
{
	ctx_free(r->blk.ctx);
	memset(&r->blk, 0, sizeof r->blk);
}

bool call_poll_pending(struct runner *r)
{
	long long rc;
	if (!r->blk.active || !r->blk.ctx || r->failed)
		return false;
	run_sync_stack(r);
	if (!attempt(r, r->blk.ev, r->blk.ctx, &rc))
		return false;
	finish(r, rc);
	return true;
}

/* ------------------------------------------------------------------ immediate calls */

static void log_call(struct runner *r, const struct event *ev, long long rc)
{
	char res[96];
	result_text(rc, res, sizeof res);
	run_vlog(r, run_now(r), "%s -> %s   [line %d]", ev->text, res, ev->line);
}

static void simple_call(struct runner *r, const struct event *ev)
{
	const struct call_spec *cs = &ev->call;
	long long rc = 0, v1, v2;
	int fd;

	switch (cs->id) {
	case CALL_SOCKET: {
		long long domain = TERN_AF_INET;
		if (arg(ev, 0)->kind != EXPR_ELLIPSIS && !want_int(r, ev, arg(ev, 0), "the domain", &domain))
			return;
		if (!want_int(r, ev, arg(ev, 1), "the type", &v1) ||
		    !want_int(r, ev, arg(ev, 2), "the protocol", &v2))
			return;
		rc = tern_socket(r->st, (int)domain, (int)v1, (int)v2);
		break;
	}
	case CALL_BIND: {
		if (!want_fd(r, ev, 0, &fd) || !want_ellipsis(r, ev, 1) || !want_ellipsis(r, ev, 2))
			return;
		/* packetdrill binds IPv4 sockets to the wildcard address. */
		struct tern_sockaddr a = { .addr = tern_addr_v4(0, 0, 0, 0),
					   .port = (uint16_t)r->sc->bind_port };
		rc = tern_bind(r->st, fd, &a);
		break;
	}
	case CALL_LISTEN:
		if (!want_fd(r, ev, 0, &fd) || !want_int(r, ev, arg(ev, 1), "the backlog", &v1))
			return;
		rc = tern_listen(r->st, fd, (int)v1);
		break;
	case CALL_CLOSE:
		if (!want_fd(r, ev, 0, &fd))
			return;
		rc = tern_close(r->st, fd);
		break;
	case CALL_SHUTDOWN:
		if (!want_fd(r, ev, 0, &fd) || !want_int(r, ev, arg(ev, 1), "how", &v1))
			return;
		rc = tern_shutdown(r->st, fd, (int)v1);
		break;
	case CALL_FCNTL:
		if (!want_fd(r, ev, 0, &fd) || !want_int(r, ev, arg(ev, 1), "the command", &v1))
			return;
		v2 = 0;
		if (cs->nargs > 2 && !want_int(r, ev, arg(ev, 2), "the argument", &v2))
			return;
		rc = tern_fcntl(r->st, fd, (int)v1, (int)v2);
		break;
	case CALL_GETSOCKNAME:
	case CALL_GETPEERNAME: {
		struct tern_sockaddr a;
		if (!want_fd(r, ev, 0, &fd))
			return;
		rc = cs->id == CALL_GETSOCKNAME ? tern_getsockname(r->st, fd, &a)
						: tern_getpeername(r->st, fd, &a);
		break;
	}
	case CALL_EPOLL_CREATE:
		if (!want_int(r, ev, arg(ev, 0), "the size", &v1))
			return;
		rc = tern_epoll_create(r->st);
		break;
	case CALL_EPOLL_CTL: {
		int epfd;
		struct tern_epoll_event e = { 0 };
		if (!want_fd(r, ev, 0, &epfd) || !want_int(r, ev, arg(ev, 1), "the operation", &v1) ||
		    !want_fd(r, ev, 2, &fd))
			return;
		const struct expr *s = arg(ev, 3);
		if (s->kind == EXPR_STRUCT) {
			long long bits, sfd = arg(ev, 2)->num;
			if (!field_int(r, ev, s, "events", true, &bits) ||
			    !field_int(r, ev, s, "fd", false, &sfd))
				return;
			e.events = (uint32_t)bits;
			e.data = (uint64_t)sfd;
		} else if (s->kind != EXPR_ELLIPSIS) {
			run_fail(r, ev->line, "epoll_ctl: the event must be {events=..., fd=...} or ...");
			return;
		}
		rc = tern_epoll_ctl(r->st, epfd, (int)v1, fd, s->kind == EXPR_STRUCT ? &e : NULL);
		break;
	}
	case CALL_SETSOCKOPT: {
		long long level, name, len;
		unsigned char val[64];
		size_t vlen;
		memset(val, 0, sizeof val);
		if (!want_fd(r, ev, 0, &fd) || !want_int(r, ev, arg(ev, 1), "the level", &level) ||
		    !want_int(r, ev, arg(ev, 2), "the option", &name) ||
		    !want_int(r, ev, arg(ev, 4), "the length", &len))
			return;
		const struct expr *v = arg(ev, 3);
		if (v->kind == EXPR_LIST && v->nitems == 1 && v->items[0].kind == EXPR_INT) {
			int i = (int)v->items[0].num;
			memcpy(val, &i, sizeof i);
			vlen = sizeof i;
		} else if (v->kind == EXPR_STRUCT) {
			struct tern_linger l;
			long long on, secs;
			if (!field_int(r, ev, v, "onoff", true, &on) ||
			    !field_int(r, ev, v, "linger", true, &secs))
				return;
			l.l_onoff = (int)on;
			l.l_linger = (int)secs;
			memcpy(val, &l, sizeof l);
			vlen = sizeof l;
		} else if (v->kind == EXPR_STRING) {
			vlen = strlen(v->str);
			if (vlen >= sizeof val) {
				run_fail(r, ev->line, "setsockopt: string value too long");
				return;
			}
			memcpy(val, v->str, vlen);
		} else {
			run_fail(r, ev->line, "setsockopt: the value must be [N], {onoff=, linger=} "
				 "or \"text\"");
			return;
		}
		if (len < 0 || (size_t)len > sizeof val) {
			run_fail(r, ev->line, "setsockopt: length %lld out of range", len);
			return;
		}
		(void)vlen;
		rc = tern_setsockopt(r->st, fd, (int)level, (int)name, val, (size_t)len);
		break;
	}
	case CALL_GETSOCKOPT: {
		long long level, name;
		unsigned char val[64];
		memset(val, 0, sizeof val);
		if (!want_fd(r, ev, 0, &fd) || !want_int(r, ev, arg(ev, 1), "the level", &level) ||
		    !want_int(r, ev, arg(ev, 2), "the option", &name))
			return;
		const struct expr *v = arg(ev, 3), *l = arg(ev, 4);
		size_t len = sizeof(int);
		if (v->kind == EXPR_STRUCT)
			len = sizeof(struct tern_linger);
		if (l->kind == EXPR_INT || (l->kind == EXPR_LIST && l->nitems == 1 &&
					    l->items[0].kind == EXPR_INT)) {
			long long in = l->kind == EXPR_INT ? l->num : l->items[0].num;
			if (in < 0 || (size_t)in > sizeof val) {
				run_fail(r, ev->line, "getsockopt: length %lld out of range", in);
				return;
			}
			len = (size_t)in;
		}
		rc = tern_getsockopt(r->st, fd, (int)level, (int)name, val, &len);
		log_call(r, ev, rc);
		if (!check_result(r, ev, rc, false) || rc < 0)
			return;
		if (l->kind == EXPR_LIST && (size_t)l->items[0].num != len) {
			run_fail(r, ev->line, "getsockopt: length %zu, expected %lld", len,
				 l->items[0].num);
			return;
		}
		if (v->kind == EXPR_LIST && v->nitems == 1 && v->items[0].kind == EXPR_INT) {
			int got = 0;
			memcpy(&got, val, len < sizeof got ? len : sizeof got);
			if (got != (int)v->items[0].num) {
				const char *en = name == TERN_SO_ERROR ? tern_errname(got) : NULL;
				run_fail(r, ev->line, "getsockopt: value %d%s%s%s, expected %lld", got,
					 en ? " (" : "", en ? en : "", en ? ")" : "", v->items[0].num);
				return;
			}
		} else if (v->kind == EXPR_STRUCT) {
			struct tern_linger got;
			long long on, secs;
			memcpy(&got, val, sizeof got);
			if (!field_int(r, ev, v, "onoff", true, &on) ||
			    !field_int(r, ev, v, "linger", true, &secs))
				return;
			if ((on != 0) != (got.l_onoff != 0) || secs != got.l_linger) {
				run_fail(r, ev->line, "getsockopt: {onoff=%d, linger=%d}, expected "
					 "{onoff=%lld, linger=%lld}", got.l_onoff, got.l_linger, on, secs);
				return;
			}
		} else if (v->kind != EXPR_ELLIPSIS) {
			run_fail(r, ev->line, "getsockopt: the value must be [N], {onoff=, linger=} or ...");
			return;
		}
		break;
	}
	default:
		run_fail(r, ev->line, "%s is not supported here", cs->name);
		return;
	}
	if (r->failed || cs->id == CALL_GETSOCKOPT)
		return;
	log_call(r, ev, rc);
	bool any_fd = cs->id == CALL_SOCKET || cs->id == CALL_EPOLL_CREATE;
	if (check_result(r, ev, rc, any_fd) && rc >= 0)
		after_success(r, ev, rc);
}

/* ------------------------------------------------------------------ entry */

/* Sets up the context of a call that may wait; false if the call failed. */
static bool prepare(struct runner *r, const struct event *ev, struct call_ctx *x)
{
	const struct call_spec *cs = &ev->call;
	long long v;

	switch (cs->id) {
	case CALL_ACCEPT:
	case CALL_ACCEPT4:
		if (!want_fd(r, ev, 0, &x->fd) || !want_ellipsis(r, ev, 1) || !want_ellipsis(r, ev, 2))
			return false;
		if (cs->id == CALL_ACCEPT4) {
			if (!want_int(r, ev, arg(ev, 3), "the flags", &v))
				return false;
			x->flags = (int)v;
		}
		x->blocking = is_blocking_fd(r, x->fd, 0);
		return true;
	case CALL_CONNECT: {
		if (!want_fd(r, ev, 0, &x->fd) || !want_ellipsis(r, ev, 1) || !want_ellipsis(r, ev, 2))
			return false;
		struct fd_map *m = run_fd(r, (int)arg(ev, 0)->num);
		if (m && m->conn && m->conn->state == CONN_NEW) {
			m->conn->state = CONN_CONNECTING;
			m->conn->rport = (uint16_t)r->sc->connect_port;
		}
		x->blocking = is_blocking_fd(r, x->fd, 0);
		return true;
	}
	case CALL_READ:
	case CALL_WRITE:
	case CALL_RECV:
	case CALL_SEND:
		if (!want_fd(r, ev, 0, &x->fd) || !want_ellipsis(r, ev, 1) ||
		    !want_int(r, ev, arg(ev, 2), "the length", &v))
			return false;
		if (v < 0 || v > MAX_IO_BYTES) {
			run_fail(r, ev->line, "%s: length %lld out of range (0..%u)", cs->name, v,
				 MAX_IO_BYTES);
			return false;
		}
		x->want = (size_t)v;
		x->buf = calloc(1, x->want ? x->want : 1);
		if (!x->buf) {
			run_fail(r, ev->line, "out of memory");
			return false;
		}
		if (cs->nargs > 3) {
			if (!want_int(r, ev, arg(ev, 3), "the flags", &v))
				return false;
			x->flags = (int)v;
		}
		x->blocking = is_blocking_fd(r, x->fd, x->flags);
		return true;
	case CALL_POLL: {
		const struct expr *list = arg(ev, 0);
		long long nfds;
		if (list->kind != EXPR_LIST) {
			run_fail(r, ev->line, "poll: the first argument must be [{fd=, events=}, ...]");
			return false;
		}
		if (!want_int(r, ev, arg(ev, 1), "nfds", &nfds) ||
		    !want_int(r, ev, arg(ev, 2), "the timeout", &x->timeout_ms))
			return false;
		if (nfds < 0 || (size_t)nfds != list->nitems) {
			run_fail(r, ev->line, "poll: nfds %lld, but the list has %zu entries", nfds,
				 list->nitems);
			return false;
		}
		x->npfds = list->nitems;
		x->pfds = calloc(x->npfds ? x->npfds : 1, sizeof *x->pfds);
		if (!x->pfds) {
			run_fail(r, ev->line, "out of memory");
			return false;
		}
		for (size_t i = 0; i < x->npfds; i++) {
			const struct expr *s = &list->items[i];
			long long sfd, events;
			if (s->kind != EXPR_STRUCT) {
				run_fail(r, ev->line, "poll: entry %zu must be {fd=, events=}", i + 1);
				return false;
			}
			if (!field_int(r, ev, s, "fd", true, &sfd) ||
			    !field_int(r, ev, s, "events", true, &events))
				return false;
			struct fd_map *m = sfd >= 0 && sfd <= 0x7fffffff ? run_fd(r, (int)sfd) : NULL;
			x->pfds[i].fd = m ? m->live_fd : NO_SUCH_FD;
			x->pfds[i].events = (short)events;
		}
		x->blocking = x->timeout_ms != 0;
		return true;
	}
	case CALL_EPOLL_WAIT:
		if (!want_fd(r, ev, 0, &x->fd) || !want_int(r, ev, arg(ev, 2), "maxevents", &v) ||
		    !want_int(r, ev, arg(ev, 3), "the timeout", &x->timeout_ms))
			return false;
		if (v <= 0 || v > 1024) {
			run_fail(r, ev->line, "epoll_wait: maxevents %lld out of range (1..1024)", v);
			return false;
		}
		x->maxev = (int)v;
		x->evs = calloc((size_t)v, sizeof *x->evs);
		if (!x->evs) {
			run_fail(r, ev->line, "out of memory");
			return false;
		}
		x->blocking = x->timeout_ms != 0;
		return true;
	case CALL_CLOSE:
		/* close() waits with SO_LINGER whatever O_NONBLOCK says (Linux's
		 * inet_release): tern answers -EINPROGRESS while it lingers. */
		if (!want_fd(r, ev, 0, &x->fd))
			return false;
		x->blocking = true;
		return true;
	default:
		return true;
	}
}

static bool may_wait(enum call_id id)
{
	switch (id) {
	case CALL_ACCEPT:
	case CALL_ACCEPT4:
	case CALL_CONNECT:
	case CALL_READ:
	case CALL_WRITE:
	case CALL_RECV:
	case CALL_SEND:
	case CALL_POLL:
	case CALL_EPOLL_WAIT:
	case CALL_CLOSE:
		return true;
	default:
		return false;
	}
}

void call_run(struct runner *r, const struct event *ev, tern_time start, tern_time end,
	      tern_time tol)
{
	run_settle(r);
	run_sync_stack(r);
	if (!may_wait(ev->call.id)) {
		if (ev->time.blocking) {
			run_fail(r, ev->line, "%s never waits: drop the '...' end time", ev->call.name);
			return;
		}
		simple_call(r, ev);
		run_settle(r);
		return;
	}
	if (r->blk.active) {
		run_fail(r, ev->line, "another system call is still waiting (line %d): one blocking "
			 "call at a time", r->blk.ev->line);
		return;
	}
	struct call_ctx *x = calloc(1, sizeof *x);
	if (!x) {
		run_fail(r, ev->line, "out of memory");
		return;
	}
	r->blk.active = true;
	r->blk.ev = ev;
	r->blk.explicit_end = ev->time.blocking;
	r->blk.start = start;
	r->blk.end = ev->time.blocking ? end : start;
	r->blk.tol = tol;
	r->blk.deadline = TERN_TIME_NEVER;
	r->blk.ctx = x;
	if (!prepare(r, ev, x)) {
		call_discard_pending(r);
		return;
	}
	if ((ev->call.id == CALL_POLL || ev->call.id == CALL_EPOLL_WAIT) && x->timeout_ms > 0)
		r->blk.deadline = run_now(r) + x->timeout_ms * TERN_NS_PER_MS;

	long long rc;
	if (attempt(r, ev, x, &rc)) {
		finish(r, rc);
		run_settle(r);
		return;
	}
	run_vlog(r, run_now(r), "%s ... waiting   [line %d]", ev->text, ev->line);
	run_settle(r);
	if (!ev->time.blocking) {
		/* Like packetdrill's main thread inside the call: nothing else happens
		 * until it returns, which must be at once. */
		while (r->blk.active && !r->failed && run_step(r, start + tol))
			;
		if (r->blk.active && !r->failed) {
			char ts[32], part[96] = "";
			fmt_time(ts, sizeof ts, start);
			if ((ev->call.id == CALL_WRITE || ev->call.id == CALL_SEND) && x->done > 0)
				snprintf(part, sizeof part, " after taking %zu of %zu bytes", x->done,
					 x->want);
			run_fail(r, ev->line, "%s would block%s (a blocking socket, at %s s); a call that "
				 "waits needs an end time (+0...END) or O_NONBLOCK", ev->call.name, part,
				 ts);
			call_discard_pending(r);
		}
	}
}
