/*
 * packetdrill/calls.c: the socket calls of the packetdrill table, carried out by
 * tern's socket API (include/tern/socket.h) on the instance's stack.
 *
 * Each call follows libc: it translates the real descriptors packetdrill holds into
 * tern's (pd.c), converts Linux's structures (sockaddr_in, iovec, msghdr, pollfd,
 * epoll_event) to tern's, and returns the result or -1 with errno. tern's constants
 * and errors are Linux's, so flags, option names and error values pass through.
 *
 * A call that Linux would block in (accept, connect, read and friends, write and
 * friends on a socket without O_NONBLOCK and without MSG_DONTWAIT; poll and
 * epoll_wait with a timeout) runs through tern__pd_run, which sleeps between
 * attempts. The attempts mirror the kernel: accept waits for a connection; connect
 * for the handshake's outcome, reported by SO_ERROR; a read for data, EOF or an
 * error (and with MSG_WAITALL for the whole length); a write until every byte is
 * queued; poll for any readiness or the timeout, counted in virtual time.
 *
 * Not offered: ancillary data (msg_control) is ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "packetdrill/interface.h"
#include "packetdrill/pd.h"
#include "tern/diag.h"
#include "tern/errors.h"
#include "tern/socket.h"

/* Linux's limits: iovecs per call (UIO_MAXIOV) and, here, descriptors per poll. */
#define PD_MAX_IOV 1024
#define PD_MAX_POLL 4096
/* The most one read or write moves through a bounce buffer; a larger request is
 * served in part, as a short read or write. */
#define PD_MAX_IO_BYTES (64u << 20)
/* A tern descriptor that is never handed out: poll reports POLLNVAL for it. */
#define PD_NO_FD 0x3fffffff

/* Sets errno from a negative tern result; returns the libc-style result. */
static long ret(long rc)
{
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

/* The tern descriptor for `fd`, or a negative errno. */
static int sock_of(struct pd *pd, int fd)
{
	if (!pd->st)
		return -TERN_ENETDOWN;
	int tfd = tern__pd_lookup(pd, fd);
	return tfd < 0 ? -TERN_EBADF : tfd;
}

/* Would Linux block in this call on this socket? */
static bool blocks(struct pd *pd, int tfd, int msg_flags)
{
	int fl = tern_fcntl(pd->st, tfd, TERN_F_GETFL, 0);
	return fl >= 0 && !(fl & TERN_O_NONBLOCK) && !(msg_flags & MSG_DONTWAIT);
}

/* A poll or epoll_wait timeout (ms; negative: none) as a virtual deadline. */
static tern_time deadline_after(struct pd *pd, int timeout_ms)
{
	return timeout_ms < 0 ? TERN_TIME_NEVER : pd->now + (tern_time)timeout_ms * TERN_NS_PER_MS;
}

static int sockaddr_in_to_tern(const struct sockaddr *sa, socklen_t len, struct tern_sockaddr *out)
{
	struct sockaddr_in sin;

	if (!sa)
		return -TERN_EFAULT;
	if (len < sizeof(sin))
		return -TERN_EINVAL;
	memcpy(&sin, sa, sizeof(sin));
	if (sin.sin_family != AF_INET)
		return -TERN_EAFNOSUPPORT;
	*out = (struct tern_sockaddr){ .addr = { .family = TERN_AF_INET }, .port = ntohs(sin.sin_port) };
	out->addr.u.v4 = ntohl(sin.sin_addr.s_addr);
	return 0;
}

/* Writes `in` as a sockaddr_in into the caller's buffer of *len bytes (truncated
 * if shorter) and sets *len to the full size, as accept() and recvfrom() do. */
static void tern_to_sockaddr_in(const struct tern_sockaddr *in, struct sockaddr *sa, socklen_t *len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(in->port) };

	sin.sin_addr.s_addr = htonl(in->addr.u.v4);
	memcpy(sa, &sin, *len < sizeof(sin) ? *len : sizeof(sin));
	*len = sizeof(sin);
}

/* ------------------------------------------------------------------ setup calls */

static int pd_socket(void *ud, int domain, int type, int protocol)
{
	struct pd *pd = ud;
	long rc;

	tern__pd_enter(pd);
	if (!pd->st) {
		rc = -TERN_ENETDOWN;
	} else {
		rc = tern_socket(pd->st, domain, type, protocol);
		if (rc >= 0)
			rc = tern__pd_attach(pd, (int)rc);
	}
	tern__pd_leave(pd, false);
	return (int)ret(rc);
}

static int pd_bind(void *ud, int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	struct pd *pd = ud;
	struct tern_sockaddr sa;

	tern__pd_enter(pd);
	long rc = sock_of(pd, fd);
	if (rc >= 0) {
		int tfd = (int)rc;
		rc = sockaddr_in_to_tern(addr, addrlen, &sa);
		if (rc == 0)
			rc = tern_bind(pd->st, tfd, &sa);
	}
	tern__pd_leave(pd, true);
	return (int)ret(rc);
}

static int pd_listen(void *ud, int fd, int backlog)
{
	struct pd *pd = ud;

	tern__pd_enter(pd);
	long rc = sock_of(pd, fd);
	if (rc >= 0)
		rc = tern_listen(pd->st, (int)rc, backlog);
	tern__pd_leave(pd, true);
	return (int)ret(rc);
}

struct accept_ctx {
	int tfd;
	struct tern_sockaddr peer;
};

static bool try_accept(struct pd *pd, void *ctx, long *rc, bool *progress)
{
	struct accept_ctx *x = ctx;
	*rc = tern_accept(pd->st, x->tfd, &x->peer, 0);
	return *rc != -TERN_EAGAIN;
}

static int pd_accept(void *ud, int fd, struct sockaddr *addr, socklen_t *addrlen)
{
	struct pd *pd = ud;
	struct accept_ctx x;

	tern__pd_enter(pd);
	long rc = sock_of(pd, fd);
	if (rc >= 0 && addr && !addrlen)
		rc = -TERN_EFAULT;
	if (rc >= 0) {
		x.tfd = (int)rc;
		rc = tern__pd_run(pd, try_accept, &x, blocks(pd, x.tfd, 0), TERN_TIME_NEVER);
		if (rc >= 0)
			rc = tern__pd_attach(pd, (int)rc);
		if (rc >= 0 && addr)
			tern_to_sockaddr_in(&x.peer, addr, addrlen);
	}
	tern__pd_leave(pd, true);
	return (int)ret(rc);
}

struct connect_ctx {
	int tfd;
	struct tern_sockaddr to;
	bool started;
};

static bool try_connect(struct pd *pd, void *ctx, long *rc, bool *progress)
{
	struct connect_ctx *x = ctx;

	if (!x->started) {
		x->started = true;
		*rc = tern_connect(pd->st, x->tfd, &x->to);
		*progress = *rc == -TERN_EINPROGRESS;   /* the SYN is out */
		return !*progress;
	}
	/* Blocking: the handshake is over when the socket is writable or in error. */
	struct tern_pollfd p = { .fd = x->tfd, .events = TERN_POLLOUT };
	tern_poll(pd->st, &p, 1);
	if (p.revents & TERN_POLLNVAL) {
		*rc = -TERN_EBADF;
		return true;
	}
	if (!(p.revents & (TERN_POLLOUT | TERN_POLLERR | TERN_POLLHUP)))
		return false;
	int err = 0;
	size_t len = sizeof(err);
	long g = tern_getsockopt(pd->st, x->tfd, TERN_SOL_SOCKET, TERN_SO_ERROR, &err, &len);
	*rc = g < 0 ? g : -(long)err;
	return true;
}

static int pd_connect(void *ud, int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	struct pd *pd = ud;
	struct connect_ctx x = { .started = false };

	tern__pd_enter(pd);
	long rc = sock_of(pd, fd);
	if (rc >= 0) {
		x.tfd = (int)rc;
		rc = sockaddr_in_to_tern(addr, addrlen, &x.to);
		if (rc == 0)
			rc = tern__pd_run(pd, try_connect, &x, blocks(pd, x.tfd, 0), TERN_TIME_NEVER);
	}
	tern__pd_leave(pd, true);
	return (int)ret(rc);
}

/* ------------------------------------------------------------------ reading */

struct recv_ctx {
	int tfd;
	uint8_t *buf;
	size_t want, done;
	int flags;
	bool waitall;
};

static bool try_recv(struct pd *pd, void *ctx, long *rc, bool *progress)
{
	struct recv_ctx *x = ctx;
	ssize_t n = tern_recv(pd->st, x->tfd, x->buf + x->done, x->want - x->done, x->flags);

	if (n > 0) {
		x->done += (size_t)n;
		*rc = (long)x->done;
		if (!x->waitall || x->done == x->want)
			return true;
		*progress = true;            /* the window opened; wait for the rest */
		return false;
	}
	if (n == -TERN_EAGAIN) {
		*rc = x->done ? (long)x->done : n;
		return false;
	}
	*rc = x->done ? (long)x->done : n;   /* EOF or an error ends a partial read */
	return true;
}

/* The five reading calls in one: into iov[0..iovcnt), filling in the peer's address
 * when `name` is given. */
static ssize_t do_recv(struct pd *pd, int fd, const struct iovec *iov, int iovcnt, int flags,
		       struct sockaddr *name, socklen_t *namelen)
{
	struct recv_ctx x = { .flags = flags & ~MSG_WAITALL };
	uint8_t *bounce = NULL;
	size_t total = 0;
	long rc;

	if (iovcnt < 0 || iovcnt > PD_MAX_IOV)
		return ret(-TERN_EINVAL);
	if (iovcnt && !iov)
		return ret(-TERN_EFAULT);
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > PD_MAX_IO_BYTES - total) {
			total = PD_MAX_IO_BYTES;
			break;
		}
		total += iov[i].iov_len;
	}
	if (iovcnt == 1) {
		x.buf = iov[0].iov_base;
	} else if (total && !(x.buf = bounce = malloc(total))) {
		return ret(-TERN_ENOMEM);
	}
	x.want = total;
	x.waitall = (flags & MSG_WAITALL) && !(flags & MSG_PEEK);

	tern__pd_enter(pd);
	rc = sock_of(pd, fd);
	if (rc >= 0) {
		x.tfd = (int)rc;
		rc = tern__pd_run(pd, try_recv, &x, blocks(pd, x.tfd, flags), TERN_TIME_NEVER);
		struct tern_sockaddr peer;
		if (rc >= 0 && name && namelen && tern_getpeername(pd->st, x.tfd, &peer) == 0)
			tern_to_sockaddr_in(&peer, name, namelen);
	}
	tern__pd_leave(pd, true);

	if (bounce && rc > 0) {
		size_t off = 0;
		for (int i = 0; i < iovcnt && off < (size_t)rc; i++) {
			size_t n = iov[i].iov_len < (size_t)rc - off ? iov[i].iov_len : (size_t)rc - off;
			memcpy(iov[i].iov_base, bounce + off, n);
			off += n;
		}
	}
	free(bounce);
	return ret(rc);
}

static ssize_t pd_read(void *ud, int fd, void *buf, size_t count)
{
	struct iovec v = { .iov_base = buf, .iov_len = count };
	return do_recv(ud, fd, &v, 1, 0, NULL, NULL);
}

static ssize_t pd_readv(void *ud, int fd, const struct iovec *iov, int iovcnt)
{
	return do_recv(ud, fd, iov, iovcnt, 0, NULL, NULL);
}

static ssize_t pd_recv(void *ud, int fd, void *buf, size_t len, int flags)
{
	struct iovec v = { .iov_base = buf, .iov_len = len };
	return do_recv(ud, fd, &v, 1, flags, NULL, NULL);
}

static ssize_t pd_recvfrom(void *ud, int fd, void *buf, size_t len, int flags,
			   struct sockaddr *src_addr, socklen_t *addrlen)
{
	struct iovec v = { .iov_base = buf, .iov_len = len };
	return do_recv(ud, fd, &v, 1, flags, src_addr, addrlen);
}

static ssize_t pd_recvmsg(void *ud, int fd, struct msghdr *msg, int flags)
{
	if (!msg)
		return ret(-TERN_EFAULT);
	if (msg->msg_iovlen > PD_MAX_IOV)
		return ret(-TERN_EMSGSIZE);
	ssize_t n = do_recv(ud, fd, msg->msg_iov, (int)msg->msg_iovlen, flags,
			    msg->msg_name, msg->msg_name ? &msg->msg_namelen : NULL);
	if (n >= 0) {
		msg->msg_controllen = 0;
		msg->msg_flags = 0;
	}
	return n;
}

/* ------------------------------------------------------------------ writing */

struct send_ctx {
	int tfd;
	const uint8_t *buf;
	size_t want, done;
	int flags;
};

static bool try_send(struct pd *pd, void *ctx, long *rc, bool *progress)
{
	struct send_ctx *x = ctx;
	ssize_t n = tern_send(pd->st, x->tfd, x->buf + x->done, x->want - x->done, x->flags);

	if (n >= 0)
		x->done += (size_t)n;
	if (n >= 0 && x->done == x->want) {
		*rc = (long)x->done;
		return true;
	}
	if (n >= 0 || n == -TERN_EAGAIN) {   /* the send buffer is full: wait for room */
		*progress = n > 0;
		*rc = x->done ? (long)x->done : -TERN_EAGAIN;
		return false;
	}
	*rc = x->done ? (long)x->done : n;
	return true;
}

/* The five writing calls in one: from iov[0..iovcnt), as one write. */
static ssize_t do_send(struct pd *pd, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	struct send_ctx x = { .flags = flags };
	uint8_t *bounce = NULL;
	size_t total = 0;

	if (iovcnt < 0 || iovcnt > PD_MAX_IOV)
		return ret(-TERN_EINVAL);
	if (iovcnt && !iov)
		return ret(-TERN_EFAULT);
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > PD_MAX_IO_BYTES - total) {
			total = PD_MAX_IO_BYTES;
			break;
		}
		total += iov[i].iov_len;
	}
	if (iovcnt == 1) {
		x.buf = iov[0].iov_base;
	} else if (total) {
		if (!(bounce = malloc(total)))
			return ret(-TERN_ENOMEM);
		size_t off = 0;
		for (int i = 0; i < iovcnt && off < total; i++) {
			size_t n = iov[i].iov_len < total - off ? iov[i].iov_len : total - off;
			memcpy(bounce + off, iov[i].iov_base, n);
			off += n;
		}
		x.buf = bounce;
	}
	x.want = total;

	tern__pd_enter(pd);
	long rc = sock_of(pd, fd);
	if (rc >= 0) {
		x.tfd = (int)rc;
		rc = tern__pd_run(pd, try_send, &x, blocks(pd, x.tfd, flags), TERN_TIME_NEVER);
	}
	tern__pd_leave(pd, true);
	free(bounce);
	return ret(rc);
}

static ssize_t pd_write(void *ud, int fd, const void *buf, size_t count)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = count };
	return do_send(ud, fd, &v, 1, 0);
}

static ssize_t pd_writev(void *ud, int fd, const struct iovec *iov, int iovcnt)
{
	return do_send(ud, fd, iov, iovcnt, 0);
}

static ssize_t pd_send(void *ud, int fd, const void *buf, size_t len, int flags)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = len };
	return do_send(ud, fd, &v, 1, flags);
}

/* On a connected TCP socket Linux ignores the destination address. */
static ssize_t pd_sendto(void *ud, int fd, const void *buf, size_t len, int flags,
			 const struct sockaddr *dest_addr, socklen_t addrlen)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = len };
	return do_send(ud, fd, &v, 1, flags);
}

static ssize_t pd_sendmsg(void *ud, int fd, const struct msghdr *msg, int flags)
{
	if (!msg)
		return ret(-TERN_EFAULT);
	if (msg->msg_iovlen > PD_MAX_IOV)
		return ret(-TERN_EMSGSIZE);
	return do_send(ud, fd, msg->msg_iov, (int)msg->msg_iovlen, flags);
}

/* ------------------------------------------------------------------ control calls */

static int pd_fcntl(void *ud, int fd, int cmd, ...)
{
	struct pd *pd = ud;
	int arg = 0;

	if (cmd == F_SETFL || cmd == F_SETFD) {
		va_list ap;
		va_start(ap, cmd);
		arg = va_arg(ap, int);
		va_end(ap);
	}
	tern__pd_enter(pd);
	long rc = sock_of(pd, fd);
	if (rc >= 0) {
		int tfd = (int)rc;
		switch (cmd) {
		case F_GETFL:
			rc = tern_fcntl(pd->st, tfd, TERN_F_GETFL, 0);
			break;
		case F_SETFL:
			rc = tern_fcntl(pd->st, tfd, TERN_F_SETFL, arg);
			break;
		case F_GETFD:   /* close-on-exec lives on the real descriptor */
		case F_SETFD:
			rc = fcntl(fd, cmd, arg);
			if (rc < 0)
				rc = -errno;
			break;
		default:
			rc = -TERN_EINVAL;
			break;
		}
	}
	tern__pd_leave(pd, cmd == F_SETFL);
	return (int)ret(rc);
}

struct diag_find {
	int tfd;
	bool found;
	struct tern_diag_sock sock;
};

static int find_sock(void *ctx, const struct tern_diag_sock *s)
{
	struct diag_find *f = ctx;
	if (s->fd != f->tfd)
		return 0;
	f->found = true;
	f->sock = *s;
	return 1;
}

/* SIOCINQ (FIONREAD): unread bytes; SIOCOUTQ: bytes not yet acknowledged; FIONBIO:
 * O_NONBLOCK. A listener has no queues to report (EINVAL, as Linux). */
static int pd_ioctl(void *ud, int fd, unsigned long request, ...)
{
	struct pd *pd = ud;
	va_list ap;
	va_start(ap, request);
	int *argp = va_arg(ap, int *);
	va_end(ap);

	tern__pd_enter(pd);
	long rc = sock_of(pd, fd);
	if (rc >= 0) {
		int tfd = (int)rc;
		struct diag_find f = { .tfd = tfd };
		if (!argp) {
			rc = -TERN_EFAULT;
		} else if (request == FIONBIO) {
			int fl = tern_fcntl(pd->st, tfd, TERN_F_GETFL, 0);
			rc = fl < 0 ? fl
				    : tern_fcntl(pd->st, tfd, TERN_F_SETFL,
						 *argp ? fl | TERN_O_NONBLOCK : fl & ~TERN_O_NONBLOCK);
		} else if (request == FIONREAD || request == TIOCOUTQ) {
			tern_diag_foreach(pd->st, find_sock, &f);
			if (!f.found)
				rc = -TERN_EBADF;
			else if (f.sock.state == TERN_STATE_LISTEN)
				rc = -TERN_EINVAL;
			else
				*argp = (int)(request == FIONREAD ? f.sock.recv_q : f.sock.send_q);
		} else {
			rc = -ENOTTY;
		}
	}
	tern__pd_leave(pd, request == FIONBIO);
	return (int)ret(rc < 0 ? rc : 0);
}

/* close() with SO_LINGER waits for the FIN's ACK or the linger time, whatever
 * O_NONBLOCK says (Linux's inet_release): tern answers -EINPROGRESS while it
 * lingers, and the call sleeps until a retry finishes it. */
static bool try_close(struct pd *pd, void *ctx, long *rc, bool *progress)
{
	*rc = tern_close(pd->st, *(int *)ctx);
	*progress = *rc != -TERN_EINPROGRESS;
	return *progress;
}

static int pd_close(void *ud, int fd)
{
	struct pd *pd = ud;

	tern__pd_enter(pd);
	long rc = sock_of(pd, fd);
	if (rc >= 0) {
		int tfd = (int)rc;
		rc = tern__pd_run(pd, try_close, &tfd, true, TERN_TIME_NEVER);
		tern__pd_detach(pd, fd);
	}
	tern__pd_leave(pd, true);
	return (int)ret(rc);
}

static int pd_shutdown(void *ud, int fd, int how)
{
	struct pd *pd = ud;

	tern__pd_enter(pd);
	long rc = sock_of(pd, fd);
	if (rc >= 0)
		rc = tern_shutdown(pd->st, (int)rc, how);
	tern__pd_leave(pd, true);
	return (int)ret(rc);
}

static int pd_getsockopt(void *ud, int fd, int level, int optname, void *optval, socklen_t *optlen)
{
	struct pd *pd = ud;

	tern__pd_enter(pd);
	long rc = sock_of(pd, fd);
	if (rc >= 0 && !optlen) {
		rc = -TERN_EFAULT;
	} else if (rc >= 0) {
		size_t len = *optlen;
		rc = tern_getsockopt(pd->st, (int)rc, level, optname, optval, &len);
		if (rc >= 0)
			*optlen = (socklen_t)len;
	}
	tern__pd_leave(pd, false);
	return (int)ret(rc);
}

static int pd_setsockopt(void *ud, int fd, int level, int optname, const void *optval,
			 socklen_t optlen)
{
	struct pd *pd = ud;

	tern__pd_enter(pd);
	long rc = sock_of(pd, fd);
	if (rc >= 0)
		rc = tern_setsockopt(pd->st, (int)rc, level, optname, optval, optlen);
	tern__pd_leave(pd, true);
	return (int)ret(rc);
}

/* ------------------------------------------------------------------ readiness */

struct poll_ctx {
	struct pollfd *fds;
	struct tern_pollfd *t;
	nfds_t n;
};

static bool try_poll(struct pd *pd, void *ctx, long *rc, bool *progress)
{
	struct poll_ctx *x = ctx;

	*rc = tern_poll(pd->st, x->t, x->n);
	for (nfds_t i = 0; i < x->n; i++)
		x->fds[i].revents = x->t[i].revents;
	return *rc != 0;
}

static int pd_poll(void *ud, struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct pd *pd = ud;
	struct poll_ctx x = { .fds = fds, .n = nfds };
	long rc;

	if (nfds > PD_MAX_POLL)
		return (int)ret(-TERN_EINVAL);
	if (nfds && !fds)
		return (int)ret(-TERN_EFAULT);
	if (nfds && !(x.t = calloc(nfds, sizeof(*x.t))))
		return (int)ret(-TERN_ENOMEM);

	tern__pd_enter(pd);
	if (!pd->st) {
		rc = -TERN_ENETDOWN;
	} else {
		for (nfds_t i = 0; i < nfds; i++) {
			int tfd = fds[i].fd < 0 ? -1 : tern__pd_lookup(pd, fds[i].fd);
			x.t[i].fd = fds[i].fd < 0 ? -1 : tfd < 0 ? PD_NO_FD : tfd;
			x.t[i].events = fds[i].events;
		}
		rc = tern__pd_run(pd, try_poll, &x, timeout != 0, deadline_after(pd, timeout));
	}
	tern__pd_leave(pd, false);
	free(x.t);
	return (int)ret(rc);
}

static int pd_epoll_create(void *ud, int size)
{
	struct pd *pd = ud;
	long rc;

	if (size <= 0)
		return (int)ret(-TERN_EINVAL);
	tern__pd_enter(pd);
	if (!pd->st) {
		rc = -TERN_ENETDOWN;
	} else {
		rc = tern_epoll_create(pd->st);
		if (rc >= 0)
			rc = tern__pd_attach(pd, (int)rc);
	}
	tern__pd_leave(pd, false);
	return (int)ret(rc);
}

static int pd_epoll_ctl(void *ud, int epfd, int op, int fd, struct epoll_event *event)
{
	struct pd *pd = ud;
	struct tern_epoll_event tev = { 0 };

	if (op != EPOLL_CTL_DEL && !event)
		return (int)ret(-TERN_EFAULT);
	if (event) {
		tev.events = event->events;
		tev.data = event->data.u64;
	}
	tern__pd_enter(pd);
	long rc = sock_of(pd, epfd);
	if (rc >= 0) {
		int tep = (int)rc;
		rc = sock_of(pd, fd);
		if (rc >= 0)
			rc = tern_epoll_ctl(pd->st, tep, op, (int)rc, event ? &tev : NULL);
	}
	tern__pd_leave(pd, true);
	return (int)ret(rc);
}

struct epoll_ctx {
	int tep;
	struct epoll_event *out;
	struct tern_epoll_event *evs;
	int max;
};

static bool try_epoll_wait(struct pd *pd, void *ctx, long *rc, bool *progress)
{
	struct epoll_ctx *x = ctx;

	*rc = tern_epoll_wait(pd->st, x->tep, x->evs, x->max);
	for (long i = 0; i < *rc; i++) {
		x->out[i].events = x->evs[i].events;
		x->out[i].data.u64 = x->evs[i].data;
	}
	return *rc != 0;
}

static int pd_epoll_wait(void *ud, int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	struct pd *pd = ud;
	struct epoll_ctx x = { .out = events, .max = maxevents };

	if (maxevents <= 0)
		return (int)ret(-TERN_EINVAL);
	if (!events)
		return (int)ret(-TERN_EFAULT);
	if (x.max > PD_MAX_POLL)
		x.max = PD_MAX_POLL;
	if (!(x.evs = calloc((size_t)x.max, sizeof(*x.evs))))
		return (int)ret(-TERN_ENOMEM);

	tern__pd_enter(pd);
	long rc = sock_of(pd, epfd);
	if (rc >= 0) {
		x.tep = (int)rc;
		rc = tern__pd_run(pd, try_epoll_wait, &x, timeout != 0, deadline_after(pd, timeout));
	}
	tern__pd_leave(pd, false);
	free(x.evs);
	return (int)ret(rc);
}

/* ------------------------------------------------------------------ the table */

void tern__pd_fill_calls(struct packetdrill_interface *ifc)
{
	ifc->socket = pd_socket;
	ifc->bind = pd_bind;
	ifc->listen = pd_listen;
	ifc->accept = pd_accept;
	ifc->connect = pd_connect;
	ifc->read = pd_read;
	ifc->readv = pd_readv;
	ifc->recv = pd_recv;
	ifc->recvfrom = pd_recvfrom;
	ifc->recvmsg = pd_recvmsg;
	ifc->write = pd_write;
	ifc->writev = pd_writev;
	ifc->send = pd_send;
	ifc->sendto = pd_sendto;
	ifc->sendmsg = pd_sendmsg;
	ifc->fcntl = pd_fcntl;
	ifc->ioctl = pd_ioctl;
	ifc->close = pd_close;
	ifc->shutdown = pd_shutdown;
	ifc->getsockopt = pd_getsockopt;
	ifc->setsockopt = pd_setsockopt;
	ifc->poll = pd_poll;
	ifc->epoll_create = pd_epoll_create;
	ifc->epoll_ctl = pd_epoll_ctl;
	ifc->epoll_wait = pd_epoll_wait;
}
