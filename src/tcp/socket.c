/*
 * tcp/socket.c: the user calls of include/tern/socket.h (RFC 9293 §3.9.1 user
 * interface, with Linux's errors and choices), and the state changes they and the
 * input path share (tern__tcp_set_state, tern__tcp_done, tern__tcp_reset,
 * tern__tcp_established), which keep the Tcp: MIB as Linux's tcp_set_state and
 * tcp_done do.
 *
 * close() and shutdown() follow spec §6.1-§6.2 step by step. Calls never block:
 * where Linux would sleep, tern returns -EAGAIN / -EINPROGRESS and the driver waits
 * for readiness.
 */
#include <string.h>

#include "ip/ip.h"
#include "tcp/reqsk.h"
#include "tcp/sock.h"
#include "tcp/tcp.h"
#include "tern/errors.h"

const char *tern__tcp_state_name(int state)
{
	static const char *const names[] = {
		[TERN_TCP_ESTABLISHED] = "ESTAB",    [TERN_TCP_SYN_SENT] = "SYN-SENT",
		[TERN_TCP_SYN_RECV] = "SYN-RECV",    [TERN_TCP_FIN_WAIT1] = "FIN-WAIT-1",
		[TERN_TCP_FIN_WAIT2] = "FIN-WAIT-2", [TERN_TCP_TIME_WAIT] = "TIME-WAIT",
		[TERN_TCP_CLOSE] = "UNCONN",         [TERN_TCP_CLOSE_WAIT] = "CLOSE-WAIT",
		[TERN_TCP_LAST_ACK] = "LAST-ACK",    [TERN_TCP_LISTEN] = "LISTEN",
		[TERN_TCP_CLOSING] = "CLOSING",
	};
	return state > 0 && state < (int)TERN_ARRAY_SIZE(names) && names[state] ? names[state] : "UNKNOWN";
}

static bool rcv_shutdown(const struct tern_sock *sk)
{
	return sk->flags & (SK_SHUT_RD | SK_PEER_FIN);
}

/* ------------------------------------------------------------ state changes */

/* The states TcpCurrEstab counts (Linux's: ESTABLISHED and CLOSE_WAIT), one bit
 * each, so that a state's membership is a shift and a mask. */
#define CURR_ESTAB_STATES ((1u << TERN_TCP_ESTABLISHED) | (1u << TERN_TCP_CLOSE_WAIT))
_Static_assert(TERN_TCP_CLOSING < 32, "every state is a bit of a uint32_t");

/* tern__tcp_set_state without the wake-up, for a caller that knows no epoll
 * registration watches the socket (tern_close, after tern__sock_epoll_detach). */
static inline void set_state_quiet(struct tern_stack *st, struct tern_sock *sk, int state)
{
	int old = sk->state;
	uint32_t was_estab = (CURR_ESTAB_STATES >> old) & 1;
	uint32_t is_estab = (CURR_ESTAB_STATES >> state) & 1;

	/* +1 on entering the pair, -1 on leaving it, 0 otherwise (the uint64_t
	 * counter wraps as the decrement did). */
	st->counters[TERN_CTR_TcpCurrEstab] += (uint64_t)is_estab - was_estab;
	if (state == TERN_TCP_CLOSE) {
		if (was_estab)
			tern__count(st, TERN_CTR_TcpEstabResets);
		tern__ehash_remove(st, sk);
		/* An ephemeral port goes back; a port the user bound stays bound until
		 * the descriptor is closed (Linux's SOCK_BINDPORT_LOCK). */
		if ((sk->flags & SK_BOUND) && !(sk->flags & SK_USER_BOUND))
			tern__port_unbind(st, sk);
	}
	sk->state = (uint8_t)state;
}

void tern__tcp_set_state(struct tern_stack *st, struct tern_sock *sk, int state)
{
	set_state_quiet(st, sk, state);
	tern__sock_wakeup(st, sk);
}

/* Takes a child off its listener's accept queue (if it is on it) and forgets the
 * listener. */
/* Takes `sk` off accept queue `lq`; `prev` is the child before it (NULL: the
 * head). */
static void accq_unlink(struct tern_listen_q *lq, struct tern_sock *prev, struct tern_sock *sk)
{
	if (prev)
		prev->acc_next = sk->acc_next;
	else
		lq->acc_head = sk->acc_next;
	if (lq->acc_tail == sk)
		lq->acc_tail = prev;
	lq->acc_len--;
}

/* The child's two shared words become the user's socket's: no listener, no
 * registration (struct tern_sock). */
static void child_detach(struct tern_sock *sk)
{
	sk->flags &= ~(SK_ACCQ | SK_CHILD);
	sk->parent = NULL;
	sk->acc_next = NULL;
}

static void unlink_from_parent(struct tern_sock *sk)
{
	struct tern_sock *lsk = tern__sk_parent(sk);

	if (!lsk)
		return;
	if (sk->flags & SK_ACCQ) {
		struct tern_sock *prev = NULL;
		for (struct tern_sock *p = lsk->lq->acc_head; p; prev = p, p = p->acc_next) {
			if (p == sk) {
				accq_unlink(lsk->lq, prev, sk);
				break;
			}
		}
	}
	child_detach(sk);
}

/* Frees a socket out of the connection hash (its orphan count goes with it). */
static void release(struct tern_stack *st, struct tern_sock *sk)
{
	if (sk->flags & SK_ORPHAN) {
		TERN_ASSERT(st->tcp->orphans > 0);
		st->tcp->orphans--;
	}
	tern__sock_free(st, sk);
}

static void destroy(struct tern_stack *st, struct tern_sock *sk)
{
	tern__ehash_remove(st, sk);
	release(st, sk);
}

/* Linux's tcp_done: the connection is over. A socket nobody holds (an orphan, or a
 * child never accepted) is freed at once; one with a descriptor waits for close(). */
void tern__tcp_done(struct tern_stack *st, struct tern_sock *sk)
{
	bool attempt = sk->state == TERN_TCP_SYN_SENT || sk->state == TERN_TCP_SYN_RECV;

	if (attempt)
		tern__count(st, TERN_CTR_TcpAttemptFails);
	tern__tcp_set_state(st, sk, TERN_TCP_CLOSE);
	if (sk->fd < 0) {
		/* Freed at once (the usual end of a closed connection): the state
		 * change took it out of the connection hash, and tern__sock_free
		 * stops its timers. */
		tern__sk_xfer_trim(st, sk);
		if (tern__sk_parent(sk))
			unlink_from_parent(sk);
		release(st, sk);
		return;
	}
	tern__tcp_clear_timers(st, sk);
	tern__sk_xfer_trim(st, sk);
	sk->flags |= SK_SHUT_RD | SK_SHUT_WR;
	if (tern__sk_parent(sk))
		unlink_from_parent(sk);
}

/* Linux's tcp_reset: the peer reset the connection (spec §7.1 for the errors). */
void tern__tcp_reset(struct tern_stack *st, struct tern_sock *sk)
{
	switch (sk->state) {
	case TERN_TCP_SYN_SENT:
		sk->err = TERN_ECONNREFUSED;
		break;
	case TERN_TCP_CLOSE_WAIT:
		sk->err = TERN_EPIPE;
		break;
	case TERN_TCP_CLOSE:
		return;
	default:
		sk->err = TERN_ECONNRESET;
		break;
	}
	if (sk->state == TERN_TCP_SYN_RECV && tern__sk_parent(sk))
		tern__count(st, TERN_CTR_TcpExtEmbryonicRsts);
	if (tern__sk_has_xfer(sk))
		tern__stream_clear(&sk->xfer->sndq, &st->tcp->chunk_pool);
	tern__tcp_free_txq(st, sk);
	sk->write_seq = sk->snd_nxt;
	tern__tcp_done(st, sk);
}

/* tern__cc_start with the connection's view, built where it is used: neither
 * the state change nor the buffer space before it writes now, snd_una or
 * snd_nxt, so the view is the one tern__tcp_established was called with. */
static inline void cc_start(struct tern_stack *st, struct tern_sock *sk)
{
	struct tern_cc_conn c = { .now = st->now, .snd_una = sk->snd_una, .snd_nxt = sk->snd_nxt };

	tern__cc_start(&sk->cc, &c);
}

/* The same for an algorithm other than the default: out of line, as its init is
 * called through a pointer that needs the view in memory. */
static __attribute__((noinline, cold)) void cc_start_other(struct tern_stack *st, struct tern_sock *sk)
{
	cc_start(st, sk);
}

void tern__tcp_established(struct tern_stack *st, struct tern_sock *sk)
{
	struct tern_sock *lsk = tern__sk_parent(sk);

	tern__tcp_set_state(st, sk, TERN_TCP_ESTABLISHED);
	tern__tcp_init_buffer_space(st, sk);
	/* Cubic (the default): its init is inlined and reads the view's fields
	 * where they are, so nothing is built on the stack. */
	if (sk->cc.ops == &tern__cc_cubic)
		cc_start(st, sk);
	else
		cc_start_other(st, sk);
	tern__tcp_sndbuf_expand(st, sk);
	tern__tcp_arm_keepalive_inline(st, sk);
	if (lsk) {
		/* Passive open done: the child joins the accept queue. */
		sk->flags |= SK_ACCQ;
		sk->acc_next = NULL;
		if (lsk->lq->acc_tail)
			lsk->lq->acc_tail->acc_next = sk;
		else
			lsk->lq->acc_head = sk;
		lsk->lq->acc_tail = sk;
		lsk->lq->acc_len++;
		tern__sock_wakeup(st, lsk);
	}
}

/* ------------------------------------------------------------ socket, bind, listen */

int tern_socket(struct tern_stack *st, int domain, int type, int protocol)
{
	const struct tern_cc_ops *cc;
	struct tern_sock *sk;
	int base = type & ~(TERN_SOCK_NONBLOCK | TERN_SOCK_CLOEXEC);

	if (domain != TERN_AF_INET)
		return -TERN_EAFNOSUPPORT;
	if (base != TERN_SOCK_STREAM)
		return -TERN_ESOCKTNOSUPPORT;
	if (protocol != TERN_IPPROTO_IP && protocol != TERN_IPPROTO_TCP)
		return -TERN_EPROTONOSUPPORT;
	sk = tern__sock_alloc(st);
	if (!sk)
		return -TERN_ENOBUFS;
	sk->rcvbuf = (uint32_t)st->sys.tcp_rmem[1];
	sk->sndbuf = (uint32_t)st->sys.tcp_wmem[1];
	sk->mss_cache = TERN_TCP_DEFAULT_MSS;
	if (tern__cc_find(st->sys.tcp_congestion_control == TERN_CC_RENO ? "reno" : "cubic", &cc) < 0)
		tern__cc_find("reno", &cc);
	tern__cc_init(&sk->cc, cc);
	if (type & TERN_SOCK_NONBLOCK)
		sk->flags |= SK_NONBLOCK;
	int fd = tern__fd_alloc(st, FD_SOCK, sk);
	if (fd < 0) {
		tern__sock_free(st, sk);
		return fd;
	}
	sk->fd = fd;
	return fd;
}

static int check_addr(struct tern_stack *st, const struct tern_sockaddr *a)
{
	if (!a)
		return -TERN_EFAULT;
	if (a->addr.family != TERN_AF_INET)
		return -TERN_EAFNOSUPPORT;
	return 0;
}

int tern_bind(struct tern_stack *st, int fd, const struct tern_sockaddr *addr)
{
	int err;
	struct tern_sock *sk = tern__fd_sock(st, fd, &err);

	if (!sk)
		return err;
	if ((err = check_addr(st, addr)) < 0)
		return err;
	if (addr->addr.u.v4 && !tern__stack_owns_v4(st, addr->addr.u.v4))
		return -TERN_EADDRNOTAVAIL;
	if ((sk->flags & SK_BOUND) || sk->state != TERN_TCP_CLOSE)
		return -TERN_EINVAL;
	return tern__port_bind(st, sk, addr->addr.u.v4, addr->port);
}

int tern_listen(struct tern_stack *st, int fd, int backlog)
{
	int err;
	struct tern_sock *sk = tern__fd_sock(st, fd, &err);
	uint32_t somaxconn = (uint32_t)st->sys.somaxconn;

	if (!sk)
		return err;
	/* backlog' = min(backlog, somaxconn); a negative backlog is huge unsigned, so
	 * it becomes somaxconn too (spec §2.1). */
	int bl = (uint32_t)backlog > somaxconn ? (int)somaxconn : backlog;
	if (sk->state == TERN_TCP_LISTEN) {
		sk->lq->backlog = bl;   /* listen() again only updates the backlog */
		return 0;
	}
	if (sk->state != TERN_TCP_CLOSE || sk->raddr)
		return -TERN_EINVAL;
	if (!sk->lq) {
		if (!(sk->lq = tern__pool_get(&st->tcp->listen_pool)))
			return -TERN_ENOMEM;
		memset(sk->lq, 0, sizeof(*sk->lq));
	}
	sk->state = TERN_TCP_LISTEN;
	if (!(sk->flags & SK_BOUND)) {
		/* LINUX-COMPAT: an unbound socket is bound to an ephemeral port. */
		err = tern__port_bind(st, sk, 0, 0);
	} else {
		err = tern__port_relisten_check(st, sk);
	}
	if (err < 0) {
		sk->state = TERN_TCP_CLOSE;
		return err;
	}
	if ((err = tern__listener_attach(st, sk)) < 0) {
		sk->state = TERN_TCP_CLOSE;
		return err;
	}
	sk->lq->backlog = bl;
	tern__lhash_insert(st, sk);
	return 0;
}

int tern_accept(struct tern_stack *st, int fd, struct tern_sockaddr *peer, int flags)
{
	int err;
	struct tern_sock *lsk = tern__fd_sock(st, fd, &err);

	if (!lsk)
		return err;
	if (lsk->state != TERN_TCP_LISTEN)
		return -TERN_EINVAL;
	if (flags & ~(TERN_SOCK_NONBLOCK | TERN_SOCK_CLOEXEC))
		return -TERN_EINVAL;
	struct tern_sock *sk = lsk->lq->acc_head;
	if (!sk)
		return -TERN_EAGAIN;
	int nfd = tern__fd_alloc(st, FD_SOCK, sk);
	if (nfd < 0)
		return nfd;
	/* The head of the queue leaves it: no search (unlink_from_parent's). */
	TERN_ASSERT(tern__sk_parent(sk) == lsk && (sk->flags & SK_ACCQ));
	accq_unlink(lsk->lq, NULL, sk);
	child_detach(sk);
	sk->fd = nfd;
	sk->flags |= SK_ACCEPTED;
	if (flags & TERN_SOCK_NONBLOCK)
		sk->flags |= SK_NONBLOCK;
	if (peer) {
		peer->addr = (struct tern_addr){ .family = TERN_AF_INET, .u.v4 = sk->raddr };
		peer->port = sk->rport;
	}
	return nfd;
}

/* ------------------------------------------------------------ connect */

int tern_connect(struct tern_stack *st, int fd, const struct tern_sockaddr *addr)
{
	int err;
	struct tern_sock *sk = tern__fd_sock(st, fd, &err);

	if (!sk)
		return err;
	if ((err = check_addr(st, addr)) < 0)
		return err;
	switch (sk->state) {
	case TERN_TCP_SYN_SENT:
	case TERN_TCP_SYN_RECV:
		return -TERN_EALREADY;
	case TERN_TCP_CLOSE:
		break;
	default:
		/* Linux's inet_stream_connect: the first call after a non-blocking connect
		 * completed reports success, later ones EISCONN. */
		if (sk->flags & SK_CONNECTING) {
			sk->flags &= ~SK_CONNECTING;
			return 0;
		}
		return -TERN_EISCONN;
	}
	if (sk->flags & SK_CONNECTING) {
		/* The attempt failed (RST, timeout): report it once. */
		sk->flags &= ~SK_CONNECTING;
		int e = sk->err ? sk->err : TERN_ECONNABORTED;
		sk->err = 0;
		return -e;
	}
	if (addr->addr.u.v4 == 0 || addr->port == 0)
		return -TERN_ECONNREFUSED;

	uint32_t raddr = addr->addr.u.v4;
	if (!sk->laddr)
		sk->laddr = tern__stack_owns_v4(st, raddr) ? raddr : st->addrs[0].u.v4;
	struct tern_tw_reuse reuse;
	uint32_t hash;
	if ((err = tern__port_connect_hashed(st, sk, raddr, addr->port, &reuse, &hash)) < 0)
		return err;
	sk->raddr = raddr;
	sk->rport = addr->port;
	sk->err = 0;
	if (reuse.used) {
		/* A reused time-wait 4-tuple: an ISN past what the old connection sent,
		 * and its timestamps (spec §6.7); no hashed ISN to throw away. */
		sk->iss = reuse.isn;
		sk->ts_recent = reuse.ts_recent;
		sk->ts_recent_stamp = reuse.ts_recent_stamp;
	} else {
		sk->iss = tern__isn(st, sk->laddr, sk->raddr, sk->lport, sk->rport);
	}
	sk->snd_una = sk->snd_nxt = sk->snd_max = sk->write_seq = sk->iss;
	sk->pushed_seq = sk->snd_sml = sk->iss;
	sk->ts_offset = tern__ts_offset(st, sk->laddr, sk->raddr);
	sk->ip_id = (uint16_t)tern__prng_u32(&st->prng);
	/* What our SYN offers, per the sysctls (RFC 7323, RFC 2018). */
	sk->neg.wscale_ok = st->sys.tcp_window_scaling != 0;
	tern__tcp_init_mss(st, sk);
	tern__tcp_init_rcv_window(st, sk, sk->advmss);
	sk->rcv_tstamp = tern__sk_ms(st);
	tern__tcp_set_state(st, sk, TERN_TCP_SYN_SENT);
	tern__ehash_insert_hashed(st, sk, hash);
	tern__count(st, TERN_CTR_TcpActiveOpens);
	sk->flags |= SK_CONNECTING;
	tern__tcp_send_syn(st, sk, false);
	return -TERN_EINPROGRESS;
}

/* ------------------------------------------------------------ send, recv */

/* How many bytes the send queue may still take (Linux's sk_stream_memory_free,
 * charging payload bytes against sk_sndbuf). */
static size_t send_space(const struct tern_sock *sk)
{
	size_t queued = tern__stream_len(&sk->xfer->sndq);
	return queued >= sk->sndbuf ? 0 : sk->sndbuf - queued;
}

ssize_t tern_send(struct tern_stack *st, int fd, const void *buf, size_t len, int flags)
{
	int err;
	struct tern_sock *sk = tern__fd_sock(st, fd, &err);

	(void)flags;
	if (!sk)
		return err;
	if (sk->err) {
		int e = sk->err;
		sk->err = 0;
		return -e;
	}
	if (sk->state != TERN_TCP_ESTABLISHED && sk->state != TERN_TCP_CLOSE_WAIT) {
		if (sk->state == TERN_TCP_SYN_SENT || sk->state == TERN_TCP_SYN_RECV)
			return -TERN_EAGAIN;
		return -TERN_EPIPE;
	}
	if (sk->flags & SK_SHUT_WR)
		return -TERN_EPIPE;
	if (len == 0)
		return 0;
	size_t room = send_space(sk);
	if (room == 0)
		return -TERN_EAGAIN;
	size_t n = TERN_MIN(len, room);
	/* After an idle spell longer than the RTO, slow start begins again
	 * (net.ipv4.tcp_slow_start_after_idle, RFC 5681 §4.1). */
	if (sk->xfer->packets_out == 0 && tern__tcp_unsent(sk) == 0 && st->sys.tcp_slow_start_after_idle &&
	    sk->lsndtime && tern__sk_ms_age(st, sk->lsndtime) > (tern_time)tern__rtt_rto_us(&sk->rtt) * TERN_NS_PER_US) {
		struct tern_cc_conn c = tern__tcp_cc_conn(st, sk);
		tern__cc_cwnd_restart(&sk->cc, &c, tern__sk_ms_age(st, sk->lsndtime), tern__rtt_rto_us(&sk->rtt),
				      TERN_TCP_INIT_CWND);
	}
	struct tern_xfer *x = tern__sk_xfer(st, sk);
	if (!x)
		return -TERN_ENOBUFS;
	n = buf ? tern__stream_append(&x->sndq, &st->tcp->chunk_pool, buf, n)
		: tern__stream_append_zeros(&x->sndq, &st->tcp->chunk_pool, n);
	if (n == 0) {
		tern__sk_xfer_trim(st, sk);
		return -TERN_ENOBUFS;
	}
	tern__tcp_written(st, sk, (uint32_t)n);
	tern__tcp_push_inline(st, sk);
	return (ssize_t)n;
}

ssize_t tern_recv(struct tern_stack *st, int fd, void *buf, size_t len, int flags)
{
	int err;
	struct tern_sock *sk = tern__fd_sock(st, fd, &err);

	if (!sk)
		return err;
	if (sk->state == TERN_TCP_LISTEN)
		return -TERN_ENOTCONN;
	size_t avail = tern__stream_len(&sk->xfer->rcvq);
	if (avail && len) {
		size_t n = TERN_MIN(avail, len);
		if (flags & TERN_MSG_PEEK) {
			n = buf ? tern__stream_peek(&sk->xfer->rcvq, 0, buf, n) : n;
			return (ssize_t)n;
		}
		n = buf ? tern__stream_read(&sk->xfer->rcvq, &st->tcp->chunk_pool, buf, n)
			: tern__stream_consume(&sk->xfer->rcvq, &st->tcp->chunk_pool, n);
		sk->copied_seq += (uint32_t)n;
		tern__tcp_rcv_space_adjust(st, sk);
		tern__tcp_clean_rbuf(st, sk, n);
		tern__sk_xfer_trim(st, sk);
		return (ssize_t)n;
	}
	if (len == 0)
		return 0;
	if (sk->flags & SK_PEER_FIN)
		return 0;
	if (sk->err) {
		int e = sk->err;
		sk->err = 0;
		return -e;
	}
	if (rcv_shutdown(sk))
		return 0;
	if (sk->state == TERN_TCP_CLOSE)
		return -TERN_ENOTCONN;
	return -TERN_EAGAIN;
}

/* ------------------------------------------------------------ shutdown, close */

/* The state change of close_state: with the wake-up (shutdown), or without it
 * (close, whose registrations are gone: the wake-up would find none). */
static inline void close_set_state(struct tern_stack *st, struct tern_sock *sk, int state, bool wake)
{
	if (wake)
		tern__tcp_set_state(st, sk, state);
	else
		set_state_quiet(st, sk, state);
}

/* Linux's tcp_close_state (spec §6.1): the next state, and whether a FIN goes.
 * `wake`: see close_set_state (a constant in each caller). */
static inline bool close_state(struct tern_stack *st, struct tern_sock *sk, bool wake)
{
	switch (sk->state) {
	case TERN_TCP_ESTABLISHED:
	case TERN_TCP_SYN_RECV:
		close_set_state(st, sk, TERN_TCP_FIN_WAIT1, wake);
		return true;
	case TERN_TCP_CLOSE_WAIT:
		close_set_state(st, sk, TERN_TCP_LAST_ACK, wake);
		return true;
	case TERN_TCP_SYN_SENT:
	case TERN_TCP_LISTEN:
	case TERN_TCP_CLOSE:
	case TERN_TCP_TIME_WAIT:
		close_set_state(st, sk, TERN_TCP_CLOSE, wake);
		return false;
	default:
		return false;
	}
}

/* Queues our FIN after the data (the state changed first: spec §6.1). */
static void send_fin(struct tern_stack *st, struct tern_sock *sk)
{
	sk->flags |= SK_FIN_QUEUED;
	tern__tcp_push_inline(st, sk);
}

int tern_shutdown(struct tern_stack *st, int fd, int how)
{
	int err;
	struct tern_sock *sk = tern__fd_sock(st, fd, &err);

	if (!sk)
		return err;
	if (how < TERN_SHUT_RD || how > TERN_SHUT_RDWR)
		return -TERN_EINVAL;
	int ret = 0;
	switch (sk->state) {
	case TERN_TCP_CLOSE:
		ret = -TERN_ENOTCONN;
		break;
	case TERN_TCP_LISTEN:
	case TERN_TCP_SYN_SENT:
		/* Linux's inet_shutdown: a listener whose reading side is shut stops
		 * listening; a connect in progress is abandoned. */
		if (sk->state == TERN_TCP_LISTEN) {
			if (how == TERN_SHUT_WR)
				return 0;
			tern__tcp_listener_stop(st, sk);
			tern__lhash_remove(st, sk);
		}
		tern__tcp_set_state(st, sk, TERN_TCP_CLOSE);
		tern__tcp_clear_timers(st, sk);
		tern__tcp_free_txq(st, sk);
		tern__sk_xfer_trim(st, sk);
		return 0;
	default:
		break;
	}
	if (how != TERN_SHUT_WR)
		sk->flags |= SK_SHUT_RD;
	if (how != TERN_SHUT_RD && !(sk->flags & SK_SHUT_WR)) {
		sk->flags |= SK_SHUT_WR;
		if (sk->state == TERN_TCP_ESTABLISHED || sk->state == TERN_TCP_SYN_RECV ||
		    sk->state == TERN_TCP_CLOSE_WAIT) {
			if (close_state(st, sk, true))
				send_fin(st, sk);
		}
	}
	tern__sock_wakeup(st, sk);
	return ret;
}

/* Stopping a listener (spec §2.4): every child waiting for accept() is reset; its
 * half-open requests are orphaned and die at their next tick. */
void tern__tcp_listener_stop(struct tern_stack *st, struct tern_sock *lsk)
{
	while (lsk->lq->acc_head) {
		struct tern_sock *sk = lsk->lq->acc_head;
		unlink_from_parent(sk);
		tern__tcp_send_active_reset(st, sk);
		tern__tcp_done(st, sk);
	}
	tern__listener_detach(st, lsk);
}

/* Linux's tcp_disconnect for SO_LINGER 0 (spec §6.2 step 5). */
static void abort_linger0(struct tern_stack *st, struct tern_sock *sk)
{
	int s = sk->state;
	bool unsent = tern__tcp_unsent(sk) != 0;

	if (s == TERN_TCP_ESTABLISHED || s == TERN_TCP_CLOSE_WAIT || s == TERN_TCP_FIN_WAIT1 ||
	    s == TERN_TCP_FIN_WAIT2 || s == TERN_TCP_SYN_RECV ||
	    ((s == TERN_TCP_CLOSING || s == TERN_TCP_LAST_ACK) && unsent))
		tern__tcp_send_active_reset(st, sk);
	tern__count(st, TERN_CTR_TcpExtTCPAbortOnData);
	tern__tcp_set_state(st, sk, TERN_TCP_CLOSE);
}

/* close() steps 7 to 9 (spec §6.2): the socket becomes an orphan, and the
 * descriptor is released. */
static int close_finish(struct tern_stack *st, struct tern_sock *sk, int fd)
{
	struct tern_tcp_tables *t = st->tcp;

	tern__fd_free(st, fd);
	sk->fd = -1;
	if (sk->state == TERN_TCP_CLOSE) {
		tern__tcp_clear_timers(st, sk);
		destroy(st, sk);
		return 0;
	}
	/* 7. Nobody holds it now. */
	sk->flags |= SK_ORPHAN;
	t->orphans++;
	if (sk->state == TERN_TCP_FIN_WAIT2) {
		/* 8. Already in FIN_WAIT2: waits tcp_fin_timeout for the peer's FIN. */
		tern__tcp_orphan_fin_wait2(st, sk, false);
		if (!(sk->flags & SK_HASHED) && sk->state == TERN_TCP_CLOSE)
			return 0;   /* became a time-wait entry, or was reset: gone */
	}
	/* 9. Too many orphans: reset rather than hold on (tcp_check_oom). */
	if (sk->state != TERN_TCP_CLOSE && t->orphans > (uint32_t)st->sys.tcp_max_orphans) {
		tern__tcp_send_active_reset(st, sk);
		tern__tcp_set_state(st, sk, TERN_TCP_CLOSE);
		tern__count(st, TERN_CTR_TcpExtTCPAbortOnMemory);
		tern__log(st, TERN_LOG_WARNING, "too many orphaned sockets");
	}
	if (sk->state == TERN_TCP_CLOSE) {
		tern__tcp_clear_timers(st, sk);
		destroy(st, sk);
	}
	return 0;
}

/* A lingering close is over once our FIN is acknowledged (the state leaves
 * FIN_WAIT1, CLOSING and LAST_ACK) or the linger time has run out. */
bool tern__tcp_linger_done(const struct tern_stack *st, const struct tern_sock *sk)
{
	return (sk->state != TERN_TCP_FIN_WAIT1 && sk->state != TERN_TCP_CLOSING && sk->state != TERN_TCP_LAST_ACK) ||
	       (int32_t)(tern__sk_ms(st) - sk->opts->linger_until) >= 0;
}

int tern_close(struct tern_stack *st, int fd)
{
	struct tern_tcp_tables *t = st->tcp;
	int err;
	struct tern_sock *sk = tern__fd_sock_any(st, fd, &err);

	if (!sk) {
		/* A descriptor in use that is not a socket is an epoll instance (the
		 * only other kind), so the socket's lookup comes first. */
		if (err != -TERN_ENOTSOCK)
			return err;
		tern__epoll_destroy(st, fd);
		return 0;
	}
	if (sk->flags & SK_LINGER_WAIT) {
		/* The second call of a lingering close: done waiting or not, finish. */
		if (!tern__tcp_linger_done(st, sk))
			return -TERN_EINPROGRESS;
		/* The only way to close_finish with the bit set: every other path
		 * found it clear above and returns where it sets it. */
		sk->flags &= ~SK_LINGER_WAIT;
		goto finish;
	}
	sk->flags |= SK_SHUT_RD | SK_SHUT_WR;
	tern__sock_epoll_detach(st, sk);

	/* 1. A listener: its queue goes. */
	if (sk->state == TERN_TCP_LISTEN) {
		tern__lhash_remove(st, sk);
		tern__tcp_listener_stop(st, sk);
		tern__tcp_set_state(st, sk, TERN_TCP_CLOSE);
		goto finish;
	}
	/* 2. Unread data is discarded and counted (a FIN is not data). */
	size_t unread = tern__stream_len(&sk->xfer->rcvq);
	if (tern__sk_has_xfer(sk))
		tern__stream_clear(&sk->xfer->rcvq, &t->chunk_pool);
	tern__sk_ooo_put(st, sk, true);
	/* 3. Already closed (reset, timed out): nothing more to say. */
	if (sk->state == TERN_TCP_CLOSE)
		goto finish;
	if (unread) {
		/* 4. RFC 2525 §2.17: closing with unread data resets. */
		tern__tcp_set_state(st, sk, TERN_TCP_CLOSE);
		tern__tcp_send_active_reset(st, sk);
		tern__count(st, TERN_CTR_TcpExtTCPAbortOnClose);
	} else if ((sk->flags & SK_LINGER) && sk->opts->linger_s == 0) {
		/* 5. SO_LINGER with zero time: abort. */
		abort_linger0(st, sk);
	} else if (close_state(st, sk, false)) {
		/* 6. The orderly close: FIN after the data. With SO_LINGER > 0 close()
		 * waits for the FIN's ACK or the linger time: tern never blocks, so it
		 * answers -EINPROGRESS, keeps the descriptor (poll says POLLHUP when the
		 * wait is over) and finishes on the next tern_close. */
		send_fin(st, sk);
		if ((sk->flags & SK_LINGER) && sk->opts->linger_s > 0) {
			/* Rounded up: the wait is never shorter than asked. A nonzero
			 * linger_s lives only in a block of the socket's own, which
			 * tern__sk_opts returns without allocating. */
			struct tern_sk_opts *o = tern__sk_opts(st, sk);
			o->linger_until = (uint32_t)((st->now + (tern_time)o->linger_s * TERN_NS_PER_SEC +
						      TERN_NS_PER_MS - 1) / TERN_NS_PER_MS) + 1;
			if (!tern__tcp_linger_done(st, sk)) {
				sk->flags |= SK_LINGER_WAIT;
				return -TERN_EINPROGRESS;
			}
		}
	}
	/* Every close that goes ahead ends here: close_finish has this one
	 * caller, and the compiler folds it in (it is every connection's way out). */
finish:
	return close_finish(st, sk, fd);
}

/* ------------------------------------------------------------ names, fcntl */

int tern_getsockname(struct tern_stack *st, int fd, struct tern_sockaddr *out)
{
	int err;
	struct tern_sock *sk = tern__fd_sock(st, fd, &err);

	if (!sk)
		return err;
	out->addr = (struct tern_addr){ .family = TERN_AF_INET, .u.v4 = sk->laddr };
	out->port = sk->lport;
	return 0;
}

int tern_getpeername(struct tern_stack *st, int fd, struct tern_sockaddr *out)
{
	int err;
	struct tern_sock *sk = tern__fd_sock(st, fd, &err);

	if (!sk)
		return err;
	if (!sk->raddr || sk->state == TERN_TCP_LISTEN || sk->state == TERN_TCP_SYN_SENT ||
	    (sk->state == TERN_TCP_CLOSE && !(sk->flags & SK_PEER_FIN)))
		return -TERN_ENOTCONN;
	out->addr = (struct tern_addr){ .family = TERN_AF_INET, .u.v4 = sk->raddr };
	out->port = sk->rport;
	return 0;
}

int tern_fcntl(struct tern_stack *st, int fd, int cmd, int arg)
{
	int err;
	struct tern_sock *sk = tern__fd_sock(st, fd, &err);

	if (!sk)
		return err;
	switch (cmd) {
	case TERN_F_GETFL:
		return TERN_O_RDWR | ((sk->flags & SK_NONBLOCK) ? TERN_O_NONBLOCK : 0);
	case TERN_F_SETFL:
		if (arg & TERN_O_NONBLOCK)
			sk->flags |= SK_NONBLOCK;
		else
			sk->flags &= ~SK_NONBLOCK;
		return 0;
	default:
		return -TERN_EINVAL;
	}
}
