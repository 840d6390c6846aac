/*
 * tcp/reqsk.c: the SYN queue's storage: compact half-open requests (spec §1.1).
 *
 * Design. A request must be cheap: a flood creates them by the million and most
 * never complete. Linux keeps a ~300-byte request_sock with its own timer; tern
 * keeps a 56-byte entry in one growable array and links entries by index (4 bytes)
 * instead of pointer (8): a hash chain by 4-tuple, and a timer FIFO.
 *
 * Timers without a timer per entry: a request's interval is 1 s << num_timeout,
 * capped at 120 s (spec §4.2), so every request at retry level k waits the same
 * time. Appending at the tail when a request is armed keeps each level's FIFO in
 * expiry order, so the earliest deadline is always one of 8 heads. One wheel timer
 * per stack follows the earliest head; re-arming or removing is O(1).
 *
 * Requests name their listener by (slot, generation) rather than by pointer. When
 * a listener stops, its slot's generation moves on and its requests are orphaned:
 * as on Linux (spec §2.4), they vanish silently at their next tick or packet.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp/listen.h"
#include "tcp/reqsk.h"
#include "tcp/sock.h"
#include "tern/errors.h"

_Static_assert(sizeof(struct tern_req) == 56, "a request entry is 56 bytes");

#define REQ_HASH_INITIAL 64u
#define REQ_LEVEL_CAP_NS (120 * TERN_NS_PER_SEC)

struct tern_req_table {
	struct tern_req *reqs;
	uint32_t cap;                   /* entries allocated */
	uint32_t high;                  /* entries ever used (reqs[0..high) initialised) */
	uint32_t free_head;             /* free list through hnext, index + 1 */
	uint32_t count;                 /* live requests */
	uint32_t *buckets;              /* index + 1 of each chain's first entry */
	uint32_t mask;
	uint32_t head[TERN_REQ_LEVELS], tail[TERN_REQ_LEVELS];
	uint32_t levels;                /* bit l set while head[l] is */
	struct tern_timer timer;        /* at the earliest head */
	struct tern_sock **lslots;      /* listeners by slot */
	uint16_t *lgen;
	uint32_t nslots;
};

static struct tern_req_table *table(const struct tern_stack *st)
{
	return st->tcp->reqs;
}

static struct tern_req *at(struct tern_req_table *t, uint32_t idx1)
{
	return idx1 ? &t->reqs[idx1 - 1] : NULL;
}

static uint32_t idx1_of(struct tern_req_table *t, const struct tern_req *r)
{
	return (uint32_t)(r - t->reqs) + 1;
}

/* ------------------------------------------------------------ the timer */

tern_time tern__req_interval(const struct tern_req *req)
{
	tern_time ivl = TERN_NS_PER_SEC << (req->num_timeout < 8 ? req->num_timeout : 7);
	return TERN_MIN(ivl, REQ_LEVEL_CAP_NS);
}

tern_time tern__req_expires(const struct tern_stack *st, const struct tern_req *req)
{
	tern_time now_us = st->now / TERN_NS_PER_US;

	return (now_us + (int32_t)(req->expires_us - (uint32_t)now_us)) * TERN_NS_PER_US;
}

/* Due at now + the current interval, rounded up to the microsecond: never early. */
static void set_expiry(struct tern_stack *st, struct tern_req *req)
{
	tern_time when = st->now + tern__req_interval(req);

	req->expires_us = (uint32_t)((when + TERN_NS_PER_US - 1) / TERN_NS_PER_US);
}

/* The wheel timer waits for the earliest FIFO head, rounded up to the wheel's
 * millisecond tick. It is armed only when that tick changes: requests made in the
 * same millisecond share a tick, and re-arming for it again would only move the
 * timer behind the others due then (firing order is not a contract between the
 * table's timer and the sockets' own: Linux gives same-jiffy timers no order
 * either). Callers skip the call when no FIFO head changed. */
static void rearm_timer(struct tern_stack *st)
{
	struct tern_req_table *t = table(st);
	tern_time now_us = st->now / TERN_NS_PER_US;
	int32_t first = INT32_MAX;
	bool any = false;

	/* As tern__req_expires, with the clock read once; in level order. */
	for (uint32_t used = t->levels; used; used &= used - 1) {
		int l = __builtin_ctz(used);
		int32_t left = (int32_t)(at(t, t->head[l])->expires_us - (uint32_t)now_us);
		if (!any || left < first)
			first = left;
		any = true;
	}
	if (!any) {
		tern__timer_cancel(&st->timers, &t->timer);
		return;
	}
	uint64_t tick = tern__timer_tick_ceil((now_us + first) * TERN_NS_PER_US);
	if (!tern__timer_pending(&t->timer) || tern__timer_expiry_tick(&t->timer) != tick)
		tern__timer_arm_tick(&st->timers, &t->timer, tick);
}

static void fifo_unlink(struct tern_req_table *t, struct tern_req *r)
{
	if (r->prev)
		at(t, r->prev)->next = r->next;
	else if (!(t->head[r->level] = r->next))
		t->levels &= ~(1u << r->level);
	if (r->next)
		at(t, r->next)->prev = r->prev;
	else
		t->tail[r->level] = r->prev;
	r->prev = r->next = 0;
}

static void fifo_append(struct tern_req_table *t, struct tern_req *r)
{
	uint32_t me = idx1_of(t, r);

	r->prev = t->tail[r->level];
	r->next = 0;
	if (r->prev)
		at(t, r->prev)->next = me;
	else
		t->head[r->level] = me;
	t->levels |= 1u << r->level;
	t->tail[r->level] = me;
}

void tern__req_rearm(struct tern_stack *st, struct tern_req *req)
{
	struct tern_req_table *t = table(st);
	bool was_head = !req->prev;

	fifo_unlink(t, req);
	req->level = (uint8_t)TERN_MIN(req->num_timeout, TERN_REQ_LEVELS - 1);
	set_expiry(st, req);
	fifo_append(t, req);
	if (was_head || !req->prev)
		rearm_timer(st);
}

/* Fires every request due, earliest first across the levels. The decision for
 * each is listen.c's; it re-arms or removes the request. */
static void req_timer_fire(void *ctx, struct tern_timer *tm)
{
	struct tern_stack *st = ctx;
	struct tern_req_table *t = table(st);

	(void)tm;
	for (;;) {
		struct tern_req *due = NULL;
		for (int l = 0; l < TERN_REQ_LEVELS; l++) {
			struct tern_req *h = at(t, t->head[l]);
			if (h && tern__req_expires(st, h) <= st->now &&
			    (!due || tern__req_expires(st, h) < tern__req_expires(st, due)))
				due = h;
		}
		if (!due)
			break;
		tern__listen_req_timeout(st, due);
	}
	rearm_timer(st);
}

/* ------------------------------------------------------------ the table */

int tern__req_init(struct tern_stack *st)
{
	struct tern_req_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -TERN_ENOMEM;
	t->buckets = calloc(REQ_HASH_INITIAL, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return -TERN_ENOMEM;
	}
	t->mask = REQ_HASH_INITIAL - 1;
	tern__timer_init(&t->timer, req_timer_fire);
	st->tcp->reqs = t;
	return 0;
}

void tern__req_fini(struct tern_stack *st)
{
	struct tern_req_table *t = table(st);

	if (!t)
		return;
	tern__timer_cancel(&st->timers, &t->timer);
	free(t->reqs);
	free(t->buckets);
	free(t->lslots);
	free(t->lgen);
	free(t);
	st->tcp->reqs = NULL;
}

static bool grow_hash(struct tern_stack *st)
{
	struct tern_req_table *t = table(st);
	uint32_t n = (t->mask + 1) * 2;
	uint32_t *b = calloc(n, sizeof(*b));

	if (!b)
		return false;
	for (uint32_t i = 0; i < t->high; i++) {
		struct tern_req *r = &t->reqs[i];
		if (!(r->flags & REQ_IN_USE))
			continue;
		uint32_t h = tern__tuple_hash(st, r->laddr, r->lport, r->raddr, r->rport) & (n - 1);
		r->hnext = b[h];
		b[h] = i + 1;
	}
	free(t->buckets);
	t->buckets = b;
	t->mask = n - 1;
	return true;
}

struct tern_req *tern__req_lookup(struct tern_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
				  uint16_t rport)
{
	return tern__req_lookup_hashed(st, tern__tuple_hash(st, laddr, lport, raddr, rport), laddr, lport, raddr,
				       rport);
}

struct tern_req *tern__req_lookup_hashed(struct tern_stack *st, uint32_t hash, uint32_t laddr, uint16_t lport,
					 uint32_t raddr, uint16_t rport)
{
	struct tern_req_table *t = table(st);

	if (!t->count)
		return NULL;
	for (uint32_t i = t->buckets[hash & t->mask]; i; i = t->reqs[i - 1].hnext) {
		struct tern_req *r = &t->reqs[i - 1];
		st->tcp->hash_probes++;
		if (r->lport == lport && r->rport == rport && r->laddr == laddr && r->raddr == raddr)
			return r;
	}
	return NULL;
}

static struct tern_req *entry_alloc(struct tern_req_table *t)
{
	if (t->free_head) {
		struct tern_req *r = at(t, t->free_head);
		t->free_head = r->hnext;
		return r;
	}
	if (t->high == t->cap) {
		/* Growth happens only at a new high-water mark; indices stay valid. */
		uint32_t n = t->cap ? t->cap * 2 : 256;
		struct tern_req *grown = realloc(t->reqs, (size_t)n * sizeof(*grown));
		if (!grown)
			return NULL;
		t->reqs = grown;
		t->cap = n;
	}
	return &t->reqs[t->high++];
}

struct tern_req *tern__req_add_hashed(struct tern_stack *st, struct tern_sock *lsk, uint32_t hash, uint32_t laddr,
				      uint16_t lport, uint32_t raddr, uint16_t rport)
{
	TERN_ASSERT(hash == tern__tuple_hash(st, laddr, lport, raddr, rport));
	struct tern_req_table *t = table(st);

	if (t->count > t->mask && !grow_hash(st) && t->count > 4 * (t->mask + 1))
		return NULL;
	struct tern_req *r = entry_alloc(t);
	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->flags = REQ_IN_USE;
	r->laddr = laddr;
	r->raddr = raddr;
	r->lport = lport;
	r->rport = rport;
	r->lslot = (uint16_t)lsk->lq->lslot;
	r->lgen = t->lgen[lsk->lq->lslot];
	uint32_t h = hash & t->mask;
	r->hnext = t->buckets[h];
	t->buckets[h] = idx1_of(t, r);
	t->count++;
	lsk->lq->syn_len++;
	lsk->lq->young++;
	r->level = 0;
	set_expiry(st, r);
	fifo_append(t, r);
	if (!r->prev)
		rearm_timer(st);
	return r;
}

void tern__req_remove(struct tern_stack *st, struct tern_req *req)
{
	tern__req_remove_hashed(st, req, tern__tuple_hash(st, req->laddr, req->lport, req->raddr, req->rport));
}

void tern__req_remove_hashed(struct tern_stack *st, struct tern_req *req, uint32_t hash)
{
	tern__req_remove_listened(st, req, hash, tern__req_listener(st, req));
}

void tern__req_remove_listened(struct tern_stack *st, struct tern_req *req, uint32_t hash, struct tern_sock *lsk)
{
	TERN_ASSERT(hash == tern__tuple_hash(st, req->laddr, req->lport, req->raddr, req->rport));
	TERN_ASSERT(lsk == tern__req_listener(st, req));
	struct tern_req_table *t = table(st);
	uint32_t me = idx1_of(t, req);

	if (lsk) {
		lsk->lq->syn_len--;
		if (req->num_timeout == 0)
			lsk->lq->young--;
	}
	for (uint32_t *pp = &t->buckets[hash & t->mask]; *pp;
	     pp = &t->reqs[*pp - 1].hnext) {
		if (*pp == me) {
			*pp = req->hnext;
			break;
		}
	}
	bool was_head = !req->prev;
	/* A head whose successor has the same deadline leaves every level's head
	 * deadline as it was, so the earliest tick is unchanged; a pending timer is
	 * always at that tick (every head change re-arms it), and rearm_timer would
	 * leave it alone. Requests made in one microsecond share a deadline. */
	bool same_deadline = req->next && at(t, req->next)->expires_us == req->expires_us;
	fifo_unlink(t, req);
	req->flags = 0;
	req->hnext = t->free_head;
	t->free_head = me;
	t->count--;
	if (was_head && !(same_deadline && tern__timer_pending(&t->timer)))
		rearm_timer(st);
}

uint32_t tern__req_count(const struct tern_stack *st)
{
	return table(st)->count;
}

size_t tern__req_entry_size(void)
{
	return sizeof(struct tern_req);
}

/* ------------------------------------------------------------ listener slots */

int tern__listener_attach(struct tern_stack *st, struct tern_sock *lsk)
{
	struct tern_req_table *t = table(st);
	uint32_t slot;

	for (slot = 0; slot < t->nslots; slot++)
		if (!t->lslots[slot])
			break;
	if (slot == t->nslots) {
		uint32_t n = t->nslots ? t->nslots * 2 : 16;
		if (n > 65536)
			return -TERN_ENOBUFS;
		struct tern_sock **s = realloc(t->lslots, n * sizeof(*s));
		if (!s)
			return -TERN_ENOMEM;
		t->lslots = s;
		uint16_t *g = realloc(t->lgen, n * sizeof(*g));
		if (!g)
			return -TERN_ENOMEM;
		t->lgen = g;
		for (uint32_t i = t->nslots; i < n; i++) {
			t->lslots[i] = NULL;
			t->lgen[i] = 0;
		}
		t->nslots = n;
	}
	t->lslots[slot] = lsk;
	lsk->lq->lslot = slot;
	return 0;
}

void tern__listener_detach(struct tern_stack *st, struct tern_sock *lsk)
{
	struct tern_req_table *t = table(st);

	if (lsk->lq->lslot < t->nslots && t->lslots[lsk->lq->lslot] == lsk) {
		t->lslots[lsk->lq->lslot] = NULL;
		t->lgen[lsk->lq->lslot]++;
	}
	lsk->lq->syn_len = 0;
	lsk->lq->young = 0;
}

struct tern_sock *tern__req_listener(struct tern_stack *st, const struct tern_req *req)
{
	struct tern_req_table *t = table(st);

	if (req->lslot >= t->nslots || t->lgen[req->lslot] != req->lgen)
		return NULL;
	return t->lslots[req->lslot];
}

/* ------------------------------------------------------------ ss */

int tern__req_diag(struct tern_stack *st, tern_diag_fn fn, void *ctx)
{
	struct tern_req_table *t = table(st);

	for (uint32_t i = 0; i < t->high; i++) {
		struct tern_req *r = &t->reqs[i];
		if (!(r->flags & REQ_IN_USE))
			continue;
		/* Request sockets report SYN-RECV, empty queues, their retransmissions
		 * and the timer (spec §10.1). */
		struct tern_diag_sock d = {
			.state = TERN_STATE_SYN_RECV,
			.laddr = { .family = TERN_AF_INET, .u.v4 = r->laddr },
			.raddr = { .family = TERN_AF_INET, .u.v4 = r->raddr },
			.lport = r->lport,
			.rport = r->rport,
			.timer = TERN_DIAG_TIMER_ON,
			.timer_left = TERN_MAX(tern__req_expires(st, r) - st->now, 0),
			.retrans = r->num_retrans,
			.fd = -1,
			.uid_inode = (uint64_t)i + 1,
		};
		int rc = fn(ctx, &d);
		if (rc)
			return rc;
	}
	return 0;
}
