/*
 * tcp/sockopt.c: setsockopt/getsockopt for SOL_SOCKET and SOL_TCP, with Linux's
 * bounds, units and quirks (SO_RCVBUF/SO_SNDBUF are doubled and reported doubled;
 * TCP_LINGER2 reports tcp_fin_timeout when unset; TCP_DEFER_ACCEPT is kept in
 * retransmission periods; TCP_MAXSEG reports the MSS in use once connected).
 */
#include <string.h>

#include "tcp/sock.h"
#include "tern/errors.h"

#define TCP_MIN_MSS 88
#define MAX_TCP_WINDOW 32767
#define MAX_TCP_KEEPIDLE 32767
#define MAX_TCP_KEEPINTVL 32767
#define MAX_TCP_KEEPCNT 127
#define MAX_TCP_SYNCNT 127
#define TCP_FIN_TIMEOUT_MAX_S 120
#define SOCK_MIN_RCVBUF 2304
#define SOCK_MIN_SNDBUF 4608
/* TCP_DEFER_ACCEPT's conversion: retransmission periods of 1 s doubling, capped at
 * 120 s (Linux's secs_to_retrans / retrans_to_secs). */
#define DEFER_TIMEOUT_S 1
#define DEFER_RTO_MAX_S 120

static int secs_to_retrans(int seconds)
{
	int res = 0, period = DEFER_TIMEOUT_S;

	if (seconds > 0) {
		res = 1;
		while (seconds > period && res < 255) {
			res++;
			period <<= 1;
			if (period > DEFER_RTO_MAX_S)
				period = DEFER_RTO_MAX_S;
			seconds -= period;
		}
	}
	return res;
}

static int retrans_to_secs(int retrans)
{
	int period = DEFER_TIMEOUT_S, res = 0;

	if (retrans > 0) {
		res = period;
		while (--retrans) {
			period <<= 1;
			if (period > DEFER_RTO_MAX_S)
				period = DEFER_RTO_MAX_S;
			res += period;
		}
	}
	return res;
}

static int set_sol_socket(struct tern_stack *st, struct tern_sock *sk, int name, int val, const void *optval,
			  size_t len)
{
	switch (name) {
	case TERN_SO_REUSEADDR:
		sk->flags = val ? sk->flags | SK_REUSEADDR : sk->flags & ~SK_REUSEADDR;
		return 0;
	case TERN_SO_REUSEPORT:
		sk->flags = val ? sk->flags | SK_REUSEPORT : sk->flags & ~SK_REUSEPORT;
		return 0;
	case TERN_SO_KEEPALIVE:
		sk->flags = val ? sk->flags | SK_KEEPALIVE : sk->flags & ~SK_KEEPALIVE;
		if (sk->state == TERN_TCP_ESTABLISHED || sk->state == TERN_TCP_CLOSE_WAIT || !val)
			tern__tcp_arm_keepalive(st, sk);
		return 0;
	case TERN_SO_LINGER: {
		struct tern_linger l;
		if (len < sizeof(l))
			return -TERN_EINVAL;
		memcpy(&l, optval, sizeof(l));
		if (!l.l_onoff) {
			/* Off: linger_s back to 0, which a socket with no block of its
			 * own has already. */
			sk->flags &= ~SK_LINGER;
			if (sk->opts != &tern__sk_opts_none)
				tern__sk_opts(st, sk)->linger_s = 0;   /* its own: no allocation */
			return 0;
		}
		struct tern_sk_opts *o = tern__sk_opts(st, sk);
		if (!o)
			return -TERN_ENOMEM;
		sk->flags |= SK_LINGER;
		o->linger_s = l.l_linger < 0 ? 0 : l.l_linger;
		return 0;
	}
	case TERN_SO_RCVBUF: {
		/* Linux doubles the request for bookkeeping overhead and caps it at
		 * rmem_max (net.core.rmem_max). */
		int64_t v = val < 0 ? 0 : val;
		v = TERN_MIN(v, st->sys.rmem_max);
		sk->rcvbuf = (uint32_t)TERN_MAX(v * 2, (int64_t)SOCK_MIN_RCVBUF);
		sk->flags |= SK_RCVBUF_LOCK;
		return 0;
	}
	case TERN_SO_SNDBUF: {
		int64_t v = val < 0 ? 0 : val;
		v = TERN_MIN(v, st->sys.wmem_max);
		sk->sndbuf = (uint32_t)TERN_MAX(v * 2, (int64_t)SOCK_MIN_SNDBUF);
		sk->flags |= SK_SNDBUF_LOCK;
		return 0;
	}
	default:
		return -TERN_ENOPROTOOPT;
	}
}

static int set_sol_tcp(struct tern_stack *st, struct tern_sock *sk, int name, int val, const void *optval,
		       size_t len)
{
	struct tern_sk_opts *o;   /* the socket's own options block, taken once the value is valid */

	switch (name) {
	case TERN_TCP_NODELAY:
		sk->flags = val ? sk->flags | SK_NODELAY : sk->flags & ~SK_NODELAY;
		if (val)
			tern__tcp_push(st, sk);
		return 0;
	case TERN_TCP_CORK:
		sk->flags = val ? sk->flags | SK_CORK : sk->flags & ~SK_CORK;
		if (!val)
			tern__tcp_push(st, sk);
		return 0;
	case TERN_TCP_MAXSEG:
		if (val && (val < TCP_MIN_MSS || val > MAX_TCP_WINDOW))
			return -TERN_EINVAL;
		if (!(o = tern__sk_opts(st, sk)))
			return -TERN_ENOMEM;
		o->user_mss = (uint16_t)val;
		return 0;
	case TERN_TCP_KEEPIDLE:
		if (val < 1 || val > MAX_TCP_KEEPIDLE)
			return -TERN_EINVAL;
		if (!(o = tern__sk_opts(st, sk)))
			return -TERN_ENOMEM;
		o->keepidle_s = (int16_t)val;
		if (sk->state == TERN_TCP_ESTABLISHED || sk->state == TERN_TCP_CLOSE_WAIT)
			tern__tcp_arm_keepalive(st, sk);
		return 0;
	case TERN_TCP_KEEPINTVL:
		if (val < 1 || val > MAX_TCP_KEEPINTVL)
			return -TERN_EINVAL;
		if (!(o = tern__sk_opts(st, sk)))
			return -TERN_ENOMEM;
		o->keepintvl_s = (int16_t)val;
		return 0;
	case TERN_TCP_KEEPCNT:
		if (val < 1 || val > MAX_TCP_KEEPCNT)
			return -TERN_EINVAL;
		if (!(o = tern__sk_opts(st, sk)))
			return -TERN_ENOMEM;
		o->keepcnt = (uint8_t)val;
		return 0;
	case TERN_TCP_SYNCNT:
		if (val < 1 || val > MAX_TCP_SYNCNT)
			return -TERN_EINVAL;
		if (!(o = tern__sk_opts(st, sk)))
			return -TERN_ENOMEM;
		o->syncnt = (uint8_t)val;
		return 0;
	case TERN_TCP_LINGER2:
		if (!(o = tern__sk_opts(st, sk)))
			return -TERN_ENOMEM;
		o->linger2_s = (int16_t)(val < 0 ? -1 : TERN_MIN(val, TCP_FIN_TIMEOUT_MAX_S));
		return 0;
	case TERN_TCP_DEFER_ACCEPT:
		if (!(o = tern__sk_opts(st, sk)))
			return -TERN_ENOMEM;
		o->defer_accept = (uint8_t)secs_to_retrans(val);
		return 0;
	case TERN_TCP_QUICKACK:
		/* 0: interactive mode (delay ACKs), undone by the next delayed-ACK
		 * timer. 1: leave it, and mark an owed ACK pushed: it leaves now if the
		 * receive queue is empty, else at the read that empties it (Linux's
		 * __tcp_sock_set_quickack, spec §14.4). */
		if (!val) {
			sk->pingpong = 1;
			return 0;
		}
		sk->pingpong = 0;
		if ((sk->state == TERN_TCP_ESTABLISHED || sk->state == TERN_TCP_CLOSE_WAIT) &&
		    (sk->ack_pending & ACK_SCHED)) {
			sk->ack_pending |= ACK_PUSHED;
			tern__tcp_clean_rbuf(st, sk, 1);
			tern__sk_xfer_trim(st, sk);
		}
		return 0;
	case TERN_TCP_USER_TIMEOUT:
		if (val < 0)
			return -TERN_EINVAL;
		if (!(o = tern__sk_opts(st, sk)))
			return -TERN_ENOMEM;
		o->user_timeout_ms = (uint32_t)val;
		return 0;
	case TERN_TCP_CONGESTION: {
		char name_buf[16];
		const struct tern_cc_ops *ops;
		size_t n = TERN_MIN(len, sizeof(name_buf) - 1);
		memcpy(name_buf, optval, n);
		name_buf[n] = 0;
		int err = tern__cc_find(name_buf, &ops);
		if (err < 0)
			return err;
		struct tern_cc_conn c = { .now = st->now, .snd_una = sk->snd_una, .snd_nxt = sk->snd_nxt };
		tern__cc_switch(&sk->cc, ops, &c);
		return 0;
	}
	case TERN_TCP_WINDOW_CLAMP:
		if (val < 0)
			return -TERN_EINVAL;
		sk->window_clamp = val ? TERN_MAX((uint32_t)val, (uint32_t)SOCK_MIN_RCVBUF / 2) : 0;
		return 0;
	default:
		return -TERN_ENOPROTOOPT;
	}
}

int tern_setsockopt(struct tern_stack *st, int fd, int level, int name, const void *val, size_t len)
{
	int err, ival = 0;
	struct tern_sock *sk = tern__fd_sock(st, fd, &err);

	if (!sk)
		return err;
	if (!val)
		return -TERN_EFAULT;
	bool is_string = level == TERN_SOL_TCP && name == TERN_TCP_CONGESTION;
	if (!is_string) {
		if (len < sizeof(int))
			return -TERN_EINVAL;
		memcpy(&ival, val, sizeof(int));
	}
	switch (level) {
	case TERN_SOL_SOCKET:
		return set_sol_socket(st, sk, name, ival, val, len);
	case TERN_SOL_TCP:
		return set_sol_tcp(st, sk, name, ival, val, len);
	default:
		return -TERN_ENOPROTOOPT;
	}
}

static int put_int(void *val, size_t *len, int v)
{
	size_t n = TERN_MIN(*len, sizeof(int));
	memcpy(val, &v, n);
	*len = n;
	return 0;
}

int tern_getsockopt(struct tern_stack *st, int fd, int level, int name, void *val, size_t *len)
{
	int err;
	struct tern_sock *sk = tern__fd_sock(st, fd, &err);

	if (!sk)
		return err;
	if (!val || !len)
		return -TERN_EFAULT;
	if (level == TERN_SOL_SOCKET) {
		switch (name) {
		case TERN_SO_REUSEADDR: return put_int(val, len, !!(sk->flags & SK_REUSEADDR));
		case TERN_SO_REUSEPORT: return put_int(val, len, !!(sk->flags & SK_REUSEPORT));
		case TERN_SO_KEEPALIVE: return put_int(val, len, !!(sk->flags & SK_KEEPALIVE));
		case TERN_SO_TYPE: return put_int(val, len, TERN_SOCK_STREAM);
		case TERN_SO_ACCEPTCONN: return put_int(val, len, sk->state == TERN_TCP_LISTEN);
		case TERN_SO_RCVBUF: return put_int(val, len, (int)sk->rcvbuf);
		case TERN_SO_SNDBUF: return put_int(val, len, (int)sk->sndbuf);
		case TERN_SO_ERROR: {
			int e = sk->err;
			sk->err = 0;
			return put_int(val, len, e);
		}
		case TERN_SO_LINGER: {
			struct tern_linger l = { !!(sk->flags & SK_LINGER), sk->opts->linger_s };
			size_t n = TERN_MIN(*len, sizeof(l));
			memcpy(val, &l, n);
			*len = n;
			return 0;
		}
		default:
			return -TERN_ENOPROTOOPT;
		}
	}
	if (level != TERN_SOL_TCP)
		return -TERN_ENOPROTOOPT;
	switch (name) {
	case TERN_TCP_NODELAY: return put_int(val, len, !!(sk->flags & SK_NODELAY));
	case TERN_TCP_CORK: return put_int(val, len, !!(sk->flags & SK_CORK));
	case TERN_TCP_MAXSEG: {
		int v = sk->mss_cache;
		if (sk->state == TERN_TCP_ESTABLISHED || sk->state == TERN_TCP_CLOSE_WAIT ||
		    sk->state == TERN_TCP_FIN_WAIT1 || sk->state == TERN_TCP_FIN_WAIT2) {
			tern__tcp_push(st, sk);   /* refreshes mss_cache */
			v = sk->mss_cache;
		}
		if (sk->opts->user_mss && (sk->state == TERN_TCP_CLOSE || sk->state == TERN_TCP_LISTEN))
			v = sk->opts->user_mss;
		return put_int(val, len, v);
	}
	case TERN_TCP_KEEPIDLE:
		return put_int(val, len, sk->opts->keepidle_s ? sk->opts->keepidle_s : (int)st->sys.tcp_keepalive_time);
	case TERN_TCP_KEEPINTVL:
		return put_int(val, len,
			       sk->opts->keepintvl_s ? sk->opts->keepintvl_s : (int)st->sys.tcp_keepalive_intvl);
	case TERN_TCP_KEEPCNT:
		return put_int(val, len, sk->opts->keepcnt ? sk->opts->keepcnt : (int)st->sys.tcp_keepalive_probes);
	case TERN_TCP_SYNCNT:
		return put_int(val, len, sk->opts->syncnt ? sk->opts->syncnt : (int)st->sys.tcp_syn_retries);
	case TERN_TCP_LINGER2:
		return put_int(val, len, sk->opts->linger2_s < 0 ? -1 : sk->opts->linger2_s ? sk->opts->linger2_s
										  : (int)st->sys.tcp_fin_timeout);
	case TERN_TCP_DEFER_ACCEPT: return put_int(val, len, retrans_to_secs(sk->opts->defer_accept));
	case TERN_TCP_QUICKACK: return put_int(val, len, !sk->pingpong);
	case TERN_TCP_USER_TIMEOUT: return put_int(val, len, (int)sk->opts->user_timeout_ms);
	case TERN_TCP_WINDOW_CLAMP: return put_int(val, len, (int)sk->window_clamp);
	case TERN_TCP_CONGESTION: {
		const char *n = sk->cc.ops ? sk->cc.ops->name : "";
		size_t want = strlen(n) + 1;
		size_t copy = TERN_MIN(*len, want);
		memcpy(val, n, copy);
		*len = copy;
		return 0;
	}
	default:
		return -TERN_ENOPROTOOPT;
	}
}
