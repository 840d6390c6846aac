/*
 * tcp/table.c: where sockets are found. Descriptors (lowest free first, from 3, as
 * a process's are), the connection hash keyed by a secret hash of the 4-tuple (so a
 * hostile peer cannot aim at one chain), listeners by local port, bind chains by
 * port, and the pools every TCP object comes from.
 *
 * The connection hash doubles when it holds more sockets than chains, rehashing at
 * once; lookups count the chain links they follow (hash_probes) so tests can show
 * that a lookup's cost does not grow with the number of connections.
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "tcp/reqsk.h"
#include "tcp/sock.h"
#include "tcp/tw.h"
#include "tern/errors.h"

#define EHASH_INITIAL 256

/* An idle connection costs its socket (in a 16-byte pool slot), its 8-byte
 * descriptor slot and its connection-hash bucket; 480 keeps that under the 512
 * bytes of issue 9 (docs/design.md, "Connection memory"). */
_Static_assert(sizeof(struct tern_sock) <= 480, "an idle connection must stay under 512 bytes");

int tern__tcp_init(struct tern_stack *st)
{
	struct tern_tcp_tables *t = calloc(1, sizeof(*t));

	if (!t)
		return -TERN_ENOMEM;
	t->ehash = calloc(EHASH_INITIAL, sizeof(*t->ehash));
	t->nfds = 64;
	t->fds = calloc((size_t)t->nfds, sizeof(*t->fds));
	if (!t->ehash || !t->fds) {
		free(t->ehash);
		free(t->fds);
		free(t);
		return -TERN_ENOMEM;
	}
	t->ehash_mask = EHASH_INITIAL - 1;
	t->fd_hint = 3;
	tern__pool_init(&t->sock_pool, sizeof(struct tern_sock), 0, 0);
	tern__pool_init(&t->txseg_pool, sizeof(struct tern_txseg), 0, 0);
	tern__chunk_pool_init(&t->chunk_pool, 0);
	tern__pool_init(&t->epitem_pool, 64, 0, 0);
	tern__pool_init(&t->ooo_pool, sizeof(struct tern_ooo), 0, 0);
	tern__pool_init(&t->xfer_pool, sizeof(struct tern_xfer), 0, 0);
	tern__pool_init(&t->listen_pool, sizeof(struct tern_listen_q), 16, 0);
	tern__pool_init(&t->opts_pool, sizeof(struct tern_sk_opts), 16, 0);
	for (int i = 0; i < TERN_PERTURB_SIZE; i++)
		t->perturb[i] = tern__prng_u32(&st->prng);
	st->tcp = t;
	int err = tern__req_init(st);
	if (err == 0)
		err = tern__tw_init(st);
	if (err < 0) {
		tern__tcp_fini(st);
		return err;
	}
	return 0;
}

void tern__tcp_fini(struct tern_stack *st)
{
	struct tern_tcp_tables *t = st->tcp;

	if (!t)
		return;
	if (t->reqs)
		tern__req_fini(st);
	if (t->tws)
		tern__tw_fini(st);
	/* Pools own every object, so destroying them frees sockets, segments, chunks
	 * and epoll items at once; nothing outside the pools points into them. */
	tern__pool_destroy(&t->sock_pool);
	tern__pool_destroy(&t->txseg_pool);
	tern__pool_destroy(&t->chunk_pool);
	tern__pool_destroy(&t->epitem_pool);
	tern__pool_destroy(&t->ooo_pool);
	tern__pool_destroy(&t->xfer_pool);
	tern__pool_destroy(&t->listen_pool);
	tern__pool_destroy(&t->opts_pool);
	for (int i = 0; i < t->nfds; i++)
		if (tern__fd_kind(t, i) == FD_EPOLL)
			free(tern__fd_obj(t, i));
	free(t->fds);
	free(t->ehash);
	free(t);
	st->tcp = NULL;
}

/* ------------------------------------------------------------ descriptors */

int tern__fd_alloc_scan(struct tern_stack *st, enum tern_fd_kind kind, void *obj)
{
	struct tern_tcp_tables *t = st->tcp;
	int fd = t->fd_hint;

	while (fd < t->nfds && tern__fd_kind(t, fd) != FD_FREE)
		fd++;
	if (fd == t->nfds) {
		int n = t->nfds * 2;
		void *grown = realloc(t->fds, (size_t)n * sizeof(*t->fds));
		if (!grown)
			return -TERN_EMFILE;
		t->fds = grown;
		memset(t->fds + t->nfds, 0, (size_t)(n - t->nfds) * sizeof(*t->fds));
		t->nfds = n;
	}
	TERN_ASSERT(((uintptr_t)obj & TERN_FD_KIND_MASK) == 0);
	t->fds[fd] = (uintptr_t)obj | (uintptr_t)kind;
	t->fd_hint = fd + 1;
	return fd;
}

void tern__fd_free(struct tern_stack *st, int fd)
{
	struct tern_tcp_tables *t = st->tcp;

	TERN_ASSERT(fd >= 3 && fd < t->nfds && tern__fd_kind(t, fd) != FD_FREE);
	t->fds[fd] = 0;
	if (fd < t->fd_hint)
		t->fd_hint = fd;
}

struct tern_sock *tern__fd_sock(struct tern_stack *st, int fd, int *err)
{
	struct tern_sock *sk = tern__fd_sock_any(st, fd, err);

	/* A descriptor whose close() is lingering is closed to every other call. */
	if (sk && (sk->flags & SK_LINGER_WAIT)) {
		*err = -TERN_EBADF;
		return NULL;
	}
	return sk;
}

struct tern_sock *tern__fd_sock_any(struct tern_stack *st, int fd, int *err)
{
	struct tern_tcp_tables *t = st->tcp;

	/* The usual answer first: one unsigned comparison covers both ends of the
	 * range. */
	if ((unsigned int)fd < (unsigned int)t->nfds && tern__fd_kind(t, fd) == FD_SOCK)
		return tern__fd_obj_of(t, fd, FD_SOCK);
	if (fd < 0 || fd >= t->nfds || tern__fd_kind(t, fd) == FD_FREE) {
		*err = -TERN_EBADF;
		return NULL;
	}
	*err = -TERN_ENOTSOCK;
	return NULL;
}

/* ------------------------------------------------------------ transfer blocks */

/* What a socket without a transfer block reads: nothing queued, nothing in
 * flight. Constant, so a write that forgot to take a block faults at once. */
const struct tern_xfer tern__xfer_none = { 0 };

struct tern_xfer *tern__sk_xfer(struct tern_stack *st, struct tern_sock *sk)
{
	if (tern__sk_has_xfer(sk))
		return sk->xfer;
	struct tern_xfer *x = tern__pool_get(&st->tcp->xfer_pool);
	if (!x)
		return NULL;
	/* All zero is a fresh block's state (struct tern_xfer says why that equals
	 * what a block given back held). */
	tern_zero(x, sizeof(*x));
	tern__stream_init(&x->sndq);
	tern__stream_init(&x->rcvq);
	sk->xfer = x;
	return x;
}

__attribute__((noinline)) void tern__sk_xfer_trim_ooo(struct tern_stack *st, struct tern_sock *sk)
{
	tern__sk_ooo_put(st, sk, false);
	if (!tern__sk_xfer_idle(sk))
		return;
	tern__pool_put(&st->tcp->xfer_pool, sk->xfer);
	sk->xfer = (struct tern_xfer *)&tern__xfer_none;
}

/* Drops everything the block holds and gives it back. */
static void xfer_release(struct tern_stack *st, struct tern_sock *sk)
{
	struct tern_tcp_tables *t = st->tcp;

	if (!tern__sk_has_xfer(sk))
		return;
	tern__stream_clear(&sk->xfer->sndq, &t->chunk_pool);
	tern__stream_clear(&sk->xfer->rcvq, &t->chunk_pool);
	tern__sk_ooo_put(st, sk, true);
	tern__tcp_free_txq(st, sk);
	tern__pool_put(&t->xfer_pool, sk->xfer);
	sk->xfer = (struct tern_xfer *)&tern__xfer_none;
}

/* ------------------------------------------------------------ sockets */

struct tern_sock *tern__sock_alloc(struct tern_stack *st)
{
	struct tern_sock *sk = tern__pool_get(&st->tcp->sock_pool);

	if (!sk)
		return NULL;
	tern_zero(sk, sizeof(*sk));
	sk->fd = -1;
	sk->state = TERN_TCP_CLOSE;
	sk->scaling_ratio = TERN_TCP_DEFAULT_SCALING_RATIO;
	sk->xfer = (struct tern_xfer *)&tern__xfer_none;
	sk->opts = &tern__sk_opts_none;
	tern__rtt_init(&sk->rtt);
	tern__tcp_timers_init(sk);
	return sk;
}

void tern__sock_free(struct tern_stack *st, struct tern_sock *sk)
{
	struct tern_tcp_tables *t = st->tcp;

	TERN_ASSERT(!(sk->flags & SK_HASHED));
	tern__tcp_clear_timers(st, sk);
	tern__sock_epoll_detach(st, sk);
	xfer_release(st, sk);
	if (sk->flags & SK_BOUND)
		tern__port_unbind(st, sk);
	if (tern__sk_lq(sk))
		tern__pool_put(&t->listen_pool, sk->lq);
	if (sk->opts != &tern__sk_opts_none)
		tern__pool_put(&t->opts_pool, (void *)sk->opts);
	tern__pool_put(&t->sock_pool, sk);
}

const struct tern_sk_opts tern__sk_opts_none = { 0 };

struct tern_sk_opts *tern__sk_opts(struct tern_stack *st, struct tern_sock *sk)
{
	if (sk->opts != &tern__sk_opts_none)
		return (struct tern_sk_opts *)sk->opts;
	struct tern_sk_opts *o = tern__pool_get(&st->tcp->opts_pool);
	if (!o)
		return NULL;
	*o = tern__sk_opts_none;
	sk->opts = o;
	return o;
}

struct tern_ooo *tern__sk_ooo_get(struct tern_stack *st, struct tern_sock *sk)
{
	struct tern_xfer *x = tern__sk_xfer(st, sk);

	if (!x)
		return NULL;
	if (!x->ooo) {
		x->ooo = tern__pool_get(&st->tcp->ooo_pool);
		if (x->ooo)
			tern__ooo_init(x->ooo);
	}
	return x->ooo;
}

void tern__sk_ooo_put(struct tern_stack *st, struct tern_sock *sk, bool drop)
{
	if (!sk->xfer->ooo)
		return;
	if (drop)
		tern__ooo_clear(sk->xfer->ooo, &st->tcp->chunk_pool);
	if (!tern__ooo_empty(sk->xfer->ooo))
		return;
	tern__pool_put(&st->tcp->ooo_pool, sk->xfer->ooo);
	sk->xfer->ooo = NULL;
}

/* ------------------------------------------------------------ connection hash */

/*
 * A bucket is the chain's first socket with, on x86-64 where user pointers fit in
 * 48 bits, a 16-bit summary of the chain in the top bits: bit (hash >> 28) of every
 * socket on it. A lookup whose bit is clear knows the 4-tuple is absent without
 * walking the chain. That matters for SYNs (every new connection is first a miss)
 * once millions of idle sockets make each chained socket a cache miss.
 *
 * Each socket also keeps the summary of the chain behind it (hash_rest), so that
 * taking the first socket off leaves the bucket exact: a short-lived connection
 * joins a chain of idle sockets at its head and leaves from there, and if its bit
 * stayed behind, the next connection on the same 4-tuple (a client cycling
 * through its ports) would find it set and read the idle sockets in vain. A
 * socket taken from further down (one that joined before the present head)
 * leaves its bit in the summaries before it; summaries may hold too many
 * bits, never too few, and a lookup that walks a whole chain in vain has just
 * read every socket on it and rewrites the bucket's and the first socket's
 * summaries exactly.
 *
 * The bucket's reading (tern__eh_first and the summary) and the lookup are in
 * sock.h, inline in the segment path; the healing walk stays here.
 */

static uint32_t sk_hash(const struct tern_stack *st, const struct tern_sock *sk)
{
	return tern__tuple_hash(st, sk->laddr, sk->lport, sk->raddr, sk->rport);
}

/* Rewrites the summaries of bucket `b` and of its first socket exactly (out of
 * line, and not in sock.h beside the lookup: a hit should not pay for it). */
void __attribute__((noinline)) tern__ehash_heal(const struct tern_stack *st, uintptr_t *b)
{
	struct tern_sock *first = tern__eh_first(*b);
	uint16_t rest = 0;

	for (struct tern_sock *sk = first->hash_next; sk; sk = sk->hash_next)
		rest |= tern__eh_bit(sk_hash(st, sk));
	first->hash_rest = rest;
	*b = tern__eh_make(first, rest | tern__eh_bit(sk_hash(st, first)));
}

void __attribute__((noinline)) tern__ehash_grow(struct tern_stack *st)
{
	struct tern_tcp_tables *t = st->tcp;
	uint32_t n = (t->ehash_mask + 1) * 2;
	uintptr_t *grown = tern__table_zalloc((size_t)n * sizeof(*grown));

	if (!grown)
		return; /* keep the longer chains: slower, still correct */
	for (uint32_t i = 0; i <= t->ehash_mask; i++) {
		struct tern_sock *sk = tern__eh_first(t->ehash[i]);
		while (sk) {
			struct tern_sock *next = sk->hash_next;
			uint32_t hash = sk_hash(st, sk);
			tern__eh_push(&grown[hash & (n - 1)], sk, hash);
			sk = next;
		}
	}
	free(t->ehash);
	t->ehash = grown;
	t->ehash_mask = n - 1;
}

/* Takes a hashed `sk` off its chain; `hash` is its tuple's. */
static void ehash_unlink(struct tern_stack *st, struct tern_sock *sk, uint32_t hash)
{
	struct tern_tcp_tables *t = st->tcp;
	uintptr_t *b = &t->ehash[hash & t->ehash_mask];

	t->eh_hint = NULL;      /* whichever it was: it stays exact */
	if (tern__eh_first(*b) == sk) {
		*b = tern__eh_make(sk->hash_next, sk->hash_rest);
	} else {
		struct tern_sock *prev = tern__eh_first(*b);
		while (prev && prev->hash_next != sk)
			prev = prev->hash_next;
		TERN_ASSERT(prev && "hashed socket missing from its chain");
		if (!prev)
			return;
		prev->hash_next = sk->hash_next;
	}
	sk->hash_next = NULL;
	sk->hash_rest = 0;
	sk->flags &= ~SK_HASHED;
	t->ehash_count--;
}

void tern__ehash_remove(struct tern_stack *st, struct tern_sock *sk)
{
	const struct tern_tcp_tables *t = st->tcp;

	if (sk->flags & SK_HASHED)
		ehash_unlink(st, sk, sk == t->eh_hint ? t->eh_hint_hash : sk_hash(st, sk));
}

void tern__ehash_remove_hashed(struct tern_stack *st, struct tern_sock *sk, uint32_t hash)
{
	TERN_ASSERT(hash == sk_hash(st, sk));
	if (sk->flags & SK_HASHED)
		ehash_unlink(st, sk, hash);
}

struct tern_sock *tern__ehash_lookup(struct tern_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
				     uint16_t rport)
{
	return tern__ehash_lookup_hashed(st, tern__tuple_hash(st, laddr, lport, raddr, rport), laddr, lport, raddr,
					 rport);
}

/* Every socket in the connection hash, for ss. */
struct tern_sock *tern__ehash_chain(const struct tern_stack *st, uint32_t i)
{
	return tern__eh_first(st->tcp->ehash[i]);
}

/* ------------------------------------------------------------ listeners */

void tern__lhash_insert(struct tern_stack *st, struct tern_sock *sk)
{
	struct tern_sock **head = &st->tcp->lhash[sk->lport % TERN_LHASH_SIZE];

	sk->hash_next = *head;
	*head = sk;
}

void tern__lhash_remove(struct tern_stack *st, struct tern_sock *sk)
{
	for (struct tern_sock **pp = &st->tcp->lhash[sk->lport % TERN_LHASH_SIZE]; *pp; pp = &(*pp)->hash_next) {
		if (*pp == sk) {
			*pp = sk->hash_next;
			sk->hash_next = NULL;
			return;
		}
	}
}

/* A listener bound to the exact address beats a wildcard one (Linux scores them
 * the same way in compute_score). */
struct tern_sock *tern__lhash_lookup(struct tern_stack *st, uint32_t laddr, uint16_t lport)
{
	struct tern_sock *wild = NULL;

	for (struct tern_sock *sk = st->tcp->lhash[lport % TERN_LHASH_SIZE]; sk; sk = sk->hash_next) {
		st->tcp->hash_probes++;
		if (sk->lport != lport)
			continue;
		if (sk->laddr == laddr)
			return sk;
		if (sk->laddr == 0 && !wild)
			wild = sk;
	}
	return wild;
}
