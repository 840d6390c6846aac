/*
 * tcp/ports.c: local ports. bind() conflicts and SO_REUSEADDR/SO_REUSEPORT as
 * Linux decides them (spec §8.3), bind(0) (§8.2), and the ephemeral port for
 * connect() by RFC 6056 Algorithm 4 the way Linux runs it (§8.1).
 *
 * Every socket holding a local port is on the bind chain of that port (bhash), be
 * it bound by the user, by listen() or connect() on an unbound socket, or inherited
 * by a listener's child. A port is "user-owned" when some socket on it was bound by
 * bind() or is listening: connect() never picks such a port for itself.
 */
#include "tcp/sock.h"
#include "tcp/tw.h"
#include "tern/errors.h"

static struct tern_sock **bchain(struct tern_stack *st, uint16_t port)
{
	return &st->tcp->bhash[port % TERN_BHASH_SIZE];
}

static bool addrs_overlap(uint32_t a, uint32_t b)
{
	return a == 0 || b == 0 || a == b;
}

/* Would `sk` bound to addr:port clash with a socket already there (spec §8.3)?
 * Linux asks again at listen() with the same rule, which is what stops a second
 * listener: by then the first one is in LISTEN. */
static bool bind_conflict(struct tern_stack *st, const struct tern_sock *sk, uint32_t addr, uint16_t port)
{
	for (const struct tern_sock *o = *bchain(st, port); o; o = o->bind_next) {
		if (o == sk || o->lport != port || !addrs_overlap(o->laddr, addr))
			continue;
		/* SO_REUSEADDR on both and the one already there is not listening: no
		 * clash, whatever its state (TIME-WAIT and ESTABLISHED included). */
		if ((sk->flags & SK_REUSEADDR) && (o->flags & SK_REUSEADDR) && o->state != TERN_TCP_LISTEN)
			continue;
		/* SO_REUSEPORT on both (there is one user here), or the old one in
		 * TIME-WAIT. */
		if ((sk->flags & SK_REUSEPORT) && ((o->flags & SK_REUSEPORT) || o->state == TERN_TCP_TIME_WAIT))
			continue;
		return true;
	}
	/* Time-wait entries hold their ports too. */
	return tern__tw_bind_conflict(st, addr, port, sk->flags & SK_REUSEADDR, sk->flags & SK_REUSEPORT);
}

static void bind_link(struct tern_stack *st, struct tern_sock *sk, uint32_t addr, uint16_t port)
{
	struct tern_sock **head = bchain(st, port);

	sk->laddr = addr;
	sk->lport = port;
	sk->bind_next = *head;
	if (*head)
		(*head)->bind_pprev = &sk->bind_next;
	sk->bind_pprev = head;
	*head = sk;
	sk->flags |= SK_BOUND;
}

/* O(1): a listener's port may hold millions of accepted children, and each one
 * leaves the chain when it closes. */
void tern__port_unbind(struct tern_stack *st, struct tern_sock *sk)
{
	(void)st;
	TERN_ASSERT(sk->bind_pprev && *sk->bind_pprev == sk);
	*sk->bind_pprev = sk->bind_next;
	if (sk->bind_next)
		sk->bind_next->bind_pprev = sk->bind_pprev;
	sk->bind_next = NULL;
	sk->bind_pprev = NULL;
	sk->flags &= ~(SK_BOUND | SK_USER_BOUND);
}

/* bind(0) and listen() on an unbound socket: a random start, odd ports first
 * (Linux keeps even ones for connect(); spec §8.2), then even. */
static int pick_bind_port(struct tern_stack *st, struct tern_sock *sk, uint32_t addr)
{
	uint32_t low = (uint32_t)st->sys.ip_local_port_range[0];
	uint32_t high = (uint32_t)st->sys.ip_local_port_range[1];
	uint32_t remaining = high - low + 1;
	uint32_t offset = (uint32_t)tern__prng_below(&st->prng, remaining) | 1;

	for (int parity = 0; parity < 2; parity++, offset++) {
		for (uint32_t i = 0; i < remaining; i += 2) {
			uint16_t port = (uint16_t)(low + (offset + i) % remaining);
			if (!bind_conflict(st, sk, addr, port))
				return port;
		}
	}
	return -TERN_EADDRINUSE;
}

/* Binds `sk` (0 for the port picks one); -EADDRINUSE on a clash. */
int tern__port_bind(struct tern_stack *st, struct tern_sock *sk, uint32_t addr, uint16_t port)
{
	if (port == 0) {
		int p = pick_bind_port(st, sk, addr);
		if (p < 0)
			return p;
		bind_link(st, sk, addr, (uint16_t)p);
		return 0;
	}
	if (bind_conflict(st, sk, addr, port))
		return -TERN_EADDRINUSE;
	bind_link(st, sk, addr, port);
	sk->flags |= SK_USER_BOUND;
	return 0;
}

/* A listener bound to the port, or a socket bound to it by bind(), keeps connect()
 * off the port (Linux skips buckets with fastreuse >= 0). */
static bool port_user_owned(struct tern_stack *st, uint16_t port)
{
	for (const struct tern_sock *o = *bchain(st, port); o; o = o->bind_next)
		if (o->lport == port && ((o->flags & SK_USER_BOUND) || o->state == TERN_TCP_LISTEN))
			return true;
	return false;
}

/*
 * connect()'s ephemeral port (spec §8.1). The scan starts at an offset hashed from
 * the addresses, the destination port and a 10-second epoch, plus a perturbation
 * entry that moves on after each use, so consecutive connects to one destination
 * walk the range instead of colliding. The first pass tries ports of the range's
 * low parity (even by default), the second the other parity. A port already used
 * by connect() is fine if the whole 4-tuple is new.
 */
/* Is the 4-tuple free? A time-wait entry holding it may be reused (spec §6.7),
 * which fills *reuse. Inline: its two lookups are inline already, and every
 * ephemeral connect asks at least once (GCC kept it a call). */
static inline bool tuple_free(struct tern_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
			      uint16_t rport, bool bound, struct tern_tw_reuse *reuse, uint32_t *hashp)
{
	uint32_t hash = tern__tuple_hash(st, laddr, lport, raddr, rport);
	*hashp = hash;
	if (tern__ehash_lookup_hashed(st, hash, laddr, lport, raddr, rport))
		return false;
	struct tern_tw *tw = tern__tw_lookup_hashed(st, hash, laddr, lport, raddr, rport);
	if (!tw)
		return true;
	reuse->used = tern__tw_try_reuse(st, tw, bound, &reuse->isn, &reuse->ts_recent, &reuse->ts_recent_stamp);
	return reuse->used;
}

int tern__port_connect_hashed(struct tern_stack *st, struct tern_sock *sk, uint32_t raddr, uint16_t rport,
			      struct tern_tw_reuse *reuse, uint32_t *hash)
{
	struct tern_tcp_tables *t = st->tcp;
	uint32_t low = (uint32_t)st->sys.ip_local_port_range[0];
	uint32_t high = (uint32_t)st->sys.ip_local_port_range[1];
	uint32_t remaining = (high - low + 1) & ~1u;
	uint32_t epoch = (uint32_t)(st->now / (10 * TERN_NS_PER_SEC));
	struct tern_port_off_memo *m = &t->port_off_memo;
	/* The key never changes, so the last inputs' hash can be kept. */
	if (!m->valid || m->laddr != sk->laddr || m->raddr != raddr || m->rport != rport || m->epoch != epoch) {
		m->off = tern__siphash_4u32(&st->secrets.port, sk->laddr, raddr, rport, epoch);
		m->laddr = sk->laddr;
		m->raddr = raddr;
		m->rport = rport;
		m->epoch = epoch;
		m->valid = true;
	}
	uint64_t port_offset = m->off;
	uint32_t index = (uint32_t)port_offset & (TERN_PERTURB_SIZE - 1);

	reuse->used = false;
	if (sk->flags & SK_BOUND) {
		/* Explicitly bound: only the 4-tuple must be unique; a time-wait entry
		 * on it is reused without the sysctl's say (spec §6.7 (b)). */
		return tuple_free(st, sk->laddr, sk->lport, raddr, rport, true, reuse, hash) ? 0 : -TERN_EADDRNOTAVAIL;
	}
	if (remaining == 0)
		remaining = 2;

	uint32_t offset = (t->perturb[index] + (uint32_t)(port_offset >> 32)) % remaining;
	offset &= ~1u;
	for (int parity = 0; parity < 2; parity++, offset++) {
		/* at = (offset + i) % remaining, kept by wrapping instead of dividing
		 * (offset < remaining, and both step by 2 within an even range). */
		uint32_t at = offset;
		for (uint32_t i = 0; i < remaining; i += 2, at = at + 2 >= remaining ? at + 2 - remaining : at + 2) {
			uint16_t port = (uint16_t)(low + at);
			if (port > high || port_user_owned(st, port))
				continue;
			if (!tuple_free(st, sk->laddr, port, raddr, rport, false, reuse, hash))
				continue;
			uint32_t step = (uint32_t)tern__prng_below(&st->prng, 8) * 2;
			t->perturb[index] += TERN_MAX(i, step) + 2;
			bind_link(st, sk, sk->laddr, port);
			return 0;
		}
	}
	return -TERN_EADDRNOTAVAIL;
}

/* listen()'s second look at the port: `sk` is now in LISTEN. */
int tern__port_relisten_check(struct tern_stack *st, struct tern_sock *sk)
{
	return bind_conflict(st, sk, sk->laddr, sk->lport) ? -TERN_EADDRINUSE : 0;
}

/* A listener's child shares its port (Linux's inet_inherit_port). */
void tern__port_inherit(struct tern_stack *st, struct tern_sock *child, const struct tern_sock *listener)
{
	bind_link(st, child, child->laddr, listener->lport);
}
