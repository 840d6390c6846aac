/*
 * tcp/poll.c: readiness. tern__sock_poll computes a socket's poll(2) bits as
 * Linux's tcp_poll does; tern_poll and the epoll calls report them without
 * waiting (the driver waits). epoll keeps a ready list fed by socket wake-ups, so
 * a wait costs what is ready, not what is registered; level-triggered entries stay
 * on the list while still ready, edge-triggered ones leave it when reported.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp/sock.h"
#include "tern/errors.h"

struct tern_epoll;

/* One registration: a socket watched by an epoll instance. */
struct tern_epitem {
	struct tern_epitem *sk_next;     /* the socket's registrations */
	struct tern_epitem *rdy_next, *rdy_prev;   /* the instance's ready list */
	struct tern_epoll *ep;
	struct tern_sock *sk;
	uint32_t events;
	uint64_t data;
	uint8_t on_ready;
	uint8_t disabled;                /* EPOLLONESHOT fired */
};

/* An instance does not list its registrations: each socket lists its own, and
 * closing an instance (rare) finds them through the descriptor table. So adding
 * and removing a registration costs the same however many there are. */
struct tern_epoll {
	uint64_t nitems;
	struct tern_epitem *rdy_head, *rdy_tail;
};

_Static_assert(sizeof(struct tern_epitem) <= 64, "epitem pool objects are 64 bytes");

/* Writable while at least a third of the send buffer is free (Linux's
 * sk_stream_is_writeable: free space >= half of what is queued). */
static bool send_room(const struct tern_sock *sk)
{
	size_t queued = tern__stream_len(&sk->xfer->sndq);
	size_t limit = sk->sndbuf;

	return queued < limit && limit - queued >= queued / 2;
}

/* Linux's tcp_poll. */
uint32_t tern__sock_poll(struct tern_stack *st, struct tern_sock *sk)
{
	uint32_t mask = 0;
	int state = sk->state;
	uint32_t flags = sk->flags;

	/* The usual case first: an open connection that neither side has shut
	 * down and no lingering close, for which the tests below come to readable
	 * with data, writable with room, and the error. The shutdown bits are
	 * read only after it, so this path does not compute them. */
	if (state == TERN_TCP_ESTABLISHED && !(flags & (SK_LINGER_WAIT | SK_SHUT_RD | SK_PEER_FIN | SK_SHUT_WR))) {
		if (tern__stream_len(&sk->xfer->rcvq))
			mask |= TERN_POLLIN | TERN_POLLRDNORM;
		if (send_room(sk))
			mask |= TERN_POLLOUT | TERN_POLLWRNORM;
		if (sk->err)
			mask |= TERN_POLLERR;
		return mask;
	}
	if (flags & SK_LINGER_WAIT)
		return tern__tcp_linger_done(st, sk) ? TERN_POLLHUP : 0;
	if (state == TERN_TCP_LISTEN)
		return sk->lq->acc_head ? TERN_POLLIN | TERN_POLLRDNORM : 0;
	bool rd_shut = flags & (SK_SHUT_RD | SK_PEER_FIN);
	bool wr_shut = flags & SK_SHUT_WR;
	if ((rd_shut && wr_shut) || state == TERN_TCP_CLOSE)
		mask |= TERN_POLLHUP;
	if (rd_shut)
		mask |= TERN_POLLIN | TERN_POLLRDNORM | TERN_POLLRDHUP;
	if (state != TERN_TCP_SYN_SENT && state != TERN_TCP_SYN_RECV && state != TERN_TCP_CLOSE) {
		if (tern__stream_len(&sk->xfer->rcvq))
			mask |= TERN_POLLIN | TERN_POLLRDNORM;
		if (wr_shut || send_room(sk))
			mask |= TERN_POLLOUT | TERN_POLLWRNORM;
	}
	/* A connect that failed is writable with an error, as on Linux. */
	if (sk->err)
		mask |= TERN_POLLERR;
	if (state == TERN_TCP_CLOSE && (flags & SK_CONNECTING))
		mask |= TERN_POLLOUT | TERN_POLLWRNORM;
	return mask;
}

static void ready_push(struct tern_epoll *ep, struct tern_epitem *it)
{
	if (it->on_ready || it->disabled)
		return;
	it->on_ready = 1;
	it->rdy_next = NULL;
	it->rdy_prev = ep->rdy_tail;
	if (ep->rdy_tail)
		ep->rdy_tail->rdy_next = it;
	else
		ep->rdy_head = it;
	ep->rdy_tail = it;
}

void tern__sock_wakeup(struct tern_stack *st, struct tern_sock *sk)
{
	(void)st;
	for (struct tern_epitem *it = tern__sk_epitems(sk); it; it = it->sk_next)
		ready_push(it->ep, it);
}

static void ready_remove(struct tern_epoll *ep, struct tern_epitem *it)
{
	if (!it->on_ready)
		return;
	if (it->rdy_prev)
		it->rdy_prev->rdy_next = it->rdy_next;
	else
		ep->rdy_head = it->rdy_next;
	if (it->rdy_next)
		it->rdy_next->rdy_prev = it->rdy_prev;
	else
		ep->rdy_tail = it->rdy_prev;
	it->rdy_next = it->rdy_prev = NULL;
	it->on_ready = 0;
}

/* Frees a registration already off its socket's list. */
static void item_release(struct tern_stack *st, struct tern_epitem *it)
{
	struct tern_epoll *ep = it->ep;

	ready_remove(ep, it);
	ep->nitems--;
	tern__pool_put(&st->tcp->epitem_pool, it);
}

static void item_free(struct tern_stack *st, struct tern_epitem *it)
{
	for (struct tern_epitem **pp = &it->sk->epitems; *pp; pp = &(*pp)->sk_next)
		if (*pp == it) {
			*pp = it->sk_next;
			break;
		}
	item_release(st, it);
}

/* Every registration goes, each the first on the list: no search for it. */
void tern__sock_epoll_detach(struct tern_stack *st, struct tern_sock *sk)
{
	struct tern_epitem *it;

	while ((it = tern__sk_epitems(sk))) {
		sk->epitems = it->sk_next;
		item_release(st, it);
	}
}

static struct tern_epoll *fd_epoll(struct tern_stack *st, int epfd)
{
	struct tern_tcp_tables *t = st->tcp;

	/* One unsigned comparison for both ends of the range. */
	if ((unsigned int)epfd >= (unsigned int)t->nfds || tern__fd_kind(t, epfd) != FD_EPOLL)
		return NULL;
	return tern__fd_obj_of(t, epfd, FD_EPOLL);
}

int tern_epoll_create(struct tern_stack *st)
{
	struct tern_epoll *ep = calloc(1, sizeof(*ep));

	if (!ep)
		return -TERN_ENOMEM;
	int fd = tern__fd_alloc(st, FD_EPOLL, ep);
	if (fd < 0)
		free(ep);
	return fd;
}

void tern__epoll_destroy(struct tern_stack *st, int epfd)
{
	struct tern_epoll *ep = fd_epoll(st, epfd);

	for (int fd = 0; ep->nitems && fd < st->tcp->nfds; fd++) {
		if (tern__fd_kind(st->tcp, fd) != FD_SOCK)
			continue;
		struct tern_sock *sk = tern__fd_obj(st->tcp, fd);
		struct tern_epitem *it = sk->epitems, *next;
		for (; it; it = next) {
			next = it->sk_next;
			if (it->ep == ep)
				item_free(st, it);
		}
	}
	TERN_ASSERT(ep->nitems == 0);
	tern__fd_free(st, epfd);
	free(ep);
}

int tern_epoll_ctl(struct tern_stack *st, int epfd, int op, int fd, const struct tern_epoll_event *ev)
{
	struct tern_epoll *ep = fd_epoll(st, epfd);
	struct tern_epitem *it = NULL;
	int err;

	if (!ep)
		return epfd >= 0 && epfd < st->tcp->nfds && tern__fd_kind(st->tcp, epfd) != FD_FREE ? -TERN_EINVAL
											  : -TERN_EBADF;
	struct tern_sock *sk = tern__fd_sock(st, fd, &err);
	if (!sk)
		return err == -TERN_ENOTSOCK ? -TERN_EPERM : err;
	for (it = sk->epitems; it && it->ep != ep; it = it->sk_next)
		;
	switch (op) {
	case TERN_EPOLL_CTL_ADD:
		if (it)
			return -TERN_EEXIST;
		if (!ev)
			return -TERN_EFAULT;
		it = tern__pool_get(&st->tcp->epitem_pool);
		if (!it)
			return -TERN_ENOMEM;
		memset(it, 0, sizeof(*it));
		it->ep = ep;
		it->sk = sk;
		it->events = ev->events;
		it->data = ev->data;
		it->sk_next = sk->epitems;
		sk->epitems = it;
		ep->nitems++;
		ready_push(ep, it);
		return 0;
	case TERN_EPOLL_CTL_MOD:
		if (!it)
			return -TERN_ENOENT;
		if (!ev)
			return -TERN_EFAULT;
		it->events = ev->events;
		it->data = ev->data;
		it->disabled = 0;
		ready_push(ep, it);
		return 0;
	case TERN_EPOLL_CTL_DEL:
		if (!it)
			return -TERN_ENOENT;
		item_free(st, it);
		return 0;
	default:
		return -TERN_EINVAL;
	}
}

int tern_epoll_wait(struct tern_stack *st, int epfd, struct tern_epoll_event *evs, int max)
{
	struct tern_epoll *ep = fd_epoll(st, epfd);
	int n = 0;

	if (!ep)
		return -TERN_EBADF;
	if (max <= 0)
		return -TERN_EINVAL;
	/* Walk the ready list once; entries still ready and level-triggered go back on
	 * the end of it. */
	struct tern_epitem *list = ep->rdy_head;
	ep->rdy_head = ep->rdy_tail = NULL;
	while (list) {
		struct tern_epitem *it = list;
		list = it->rdy_next;
		it->on_ready = 0;
		if (n == max) {
			ready_push(ep, it);
			continue;
		}
		uint32_t want = (it->events & ~(TERN_EPOLLET | TERN_EPOLLONESHOT)) | TERN_POLLERR | TERN_POLLHUP;
		uint32_t got = tern__sock_poll(st, it->sk) & want;
		if (!got)
			continue;
		evs[n].events = got;
		evs[n].data = it->data;
		n++;
		if (it->events & TERN_EPOLLONESHOT)
			it->disabled = 1;
		else if (!(it->events & TERN_EPOLLET))
			ready_push(ep, it);
	}
	return n;
}

int tern_poll(struct tern_stack *st, struct tern_pollfd *fds, size_t nfds)
{
	int ready = 0;

	for (size_t i = 0; i < nfds; i++) {
		int err;
		fds[i].revents = 0;
		if (fds[i].fd < 0)
			continue;
		struct tern_sock *sk = tern__fd_sock_any(st, fds[i].fd, &err);
		if (!sk) {
			fds[i].revents = TERN_POLLNVAL;
		} else {
			uint32_t m = tern__sock_poll(st, sk);
			fds[i].revents = (short)(m & ((uint16_t)fds[i].events | TERN_POLLERR | TERN_POLLHUP));
		}
		if (fds[i].revents)
			ready++;
	}
	return ready;
}
