/*
 * tcp/diag.c: the socket iterator behind ss (include/tern/diag.h), reporting each
 * socket as Linux's inet_diag does (spec §10.1): a listener's Recv-Q is its accept
 * queue and Send-Q its backlog'; a connection's are unread bytes and bytes not yet
 * acknowledged; TIME-WAIT and an orphan's FIN-WAIT-2 show their lifetime timer.
 */
#include "tcp/reqsk.h"
#include "tcp/sock.h"
#include "tcp/tw.h"
#include "tern/diag.h"

const char *tern_state_name(int state)
{
	return tern__tcp_state_name(state);
}

static void fill_timer(const struct tern_stack *st, const struct tern_sock *sk, struct tern_diag_sock *d)
{
	if (sk->state == TERN_TCP_TIME_WAIT ||
	    (sk->state == TERN_TCP_FIN_WAIT2 && (sk->flags & SK_ORPHAN) && tern__sk_timer_pending(sk, TERN_SKT_KA))) {
		/* An orphan's FIN-WAIT-2 is a time-wait object on Linux: ss shows
		 * "timewait" for both (spec §10.1). */
		d->timer = TERN_DIAG_TIMER_TIMEWAIT;
		d->timer_left = tern__sk_timer_expiry(st, sk, TERN_SKT_KA) - st->now;
	} else if (tern__sk_timer_pending(sk, TERN_SKT_RTX)) {
		d->timer = sk->rtx_kind == RTX_PERSIST ? TERN_DIAG_TIMER_PERSIST : TERN_DIAG_TIMER_ON;
		d->timer_left = tern__sk_timer_expiry(st, sk, TERN_SKT_RTX) - st->now;
		d->retrans = sk->rtx_kind == RTX_PERSIST ? sk->probes_out : sk->retransmits;
	} else if (tern__sk_timer_pending(sk, TERN_SKT_KA)) {
		d->timer = TERN_DIAG_TIMER_KEEPALIVE;
		d->timer_left = tern__sk_timer_expiry(st, sk, TERN_SKT_KA) - st->now;
		d->retrans = sk->probes_out;
	}
	if (d->timer_left < 0)
		d->timer_left = 0;
}

static void describe(const struct tern_stack *st, const struct tern_sock *sk, struct tern_diag_sock *d)
{
	*d = (struct tern_diag_sock){
		.state = sk->state,
		.laddr = { .family = TERN_AF_INET, .u.v4 = sk->laddr },
		.raddr = { .family = TERN_AF_INET, .u.v4 = sk->raddr },
		.lport = sk->lport,
		.rport = sk->rport,
		.fd = sk->fd,
		.snd_cwnd = sk->cc.cwnd_segs,
		.snd_mss = sk->mss_cache,
		.rcv_mss = sk->rcv_mss,
		.rto_ms = tern__rtt_rto_us(&sk->rtt) / 1000,
		.rtt_us = tern__rtt_srtt_us(&sk->rtt),
		.rttvar_us = sk->rtt.rttvar_us,
		.snd_wscale = sk->neg.snd_wscale,
		.rcv_wscale = sk->neg.rcv_wscale,
		.ts_ok = sk->neg.ts_ok,
		.sack_ok = sk->neg.sack_ok,
		.uid_inode = (uint64_t)(uintptr_t)sk,
	};
	if (sk->state == TERN_TCP_LISTEN) {
		d->recv_q = sk->lq->acc_len;
		d->send_q = (uint32_t)sk->lq->backlog;
		return;
	}
	if (sk->state == TERN_TCP_TIME_WAIT || sk->state == TERN_TCP_SYN_RECV) {
		/* Request and time-wait objects report empty queues. */
		fill_timer(st, sk, d);
		if (sk->state == TERN_TCP_SYN_RECV)
			d->retrans = sk->retransmits;
		return;
	}
	d->recv_q = sk->rcv_nxt - sk->copied_seq - !!(sk->flags & SK_PEER_FIN);
	if (sk->state == TERN_TCP_CLOSE || sk->state == TERN_TCP_SYN_SENT)
		d->recv_q = 0;
	if (sk->state == TERN_TCP_CLOSE)
		d->send_q = 0;
	/* Linux's write_seq - snd_una: our SYN and FIN count, as sequence space. */
	d->send_q = sk->write_seq + !!(sk->flags & (SK_FIN_QUEUED | SK_FIN_SENT)) - sk->snd_una;
	fill_timer(st, sk, d);
}

int tern_diag_foreach(struct tern_stack *st, tern_diag_fn fn, void *ctx)
{
	struct tern_tcp_tables *t = st->tcp;
	struct tern_diag_sock d;
	int r;

	/* Listeners and unconnected sockets first, by descriptor; then every
	 * connection in the hash (children, orphans, TIME-WAIT included). */
	for (int fd = 3; fd < t->nfds; fd++) {
		if (tern__fd_kind(t, fd) != FD_SOCK)
			continue;
		struct tern_sock *sk = tern__fd_obj(t, fd);
		if (sk->flags & SK_HASHED)
			continue;
		describe(st, sk, &d);
		if ((r = fn(ctx, &d)) != 0)
			return r;
	}
	for (uint32_t i = 0; i <= t->ehash_mask; i++) {
		for (struct tern_sock *sk = tern__ehash_chain(st, i); sk; sk = sk->hash_next) {
			describe(st, sk, &d);
			if ((r = fn(ctx, &d)) != 0)
				return r;
		}
	}
	if ((r = tern__tw_diag(st, fn, ctx)) != 0)
		return r;
	return tern__req_diag(st, fn, ctx);
}
