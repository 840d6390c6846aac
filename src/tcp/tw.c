/*
 * tcp/tw.c: TIME-WAIT as a compact object (spec §6.5-§6.7; RFC 9293 §3.6.1 for
 * why it exists, RFC 7323 §5 for the PAWS that lets Linux keep it 60 s).
 *
 * Design. A busy client or server holds tens of thousands of TIME-WAIT entries, a
 * flood of short connections millions. Linux keeps a ~200-byte tw_sock with its
 * own timer; tern keeps what §6.5 lists in a 48-byte entry of one growable array,
 * linked by index: a hash chain by 4-tuple and an expiry list. The expiry list's
 * links (8 bytes an entry) are a second array beside the first: removing an entry
 * writes its two neighbours' links, and a SYN that reopens a 4-tuple removes an
 * entry from the middle of the list; with tens of thousands of entries those
 * neighbours are cold, and their links are far likelier to be in cache in an
 * array a seventh the size (in a 1 MiB cache model of the lifecycle benchmark,
 * 1.2 misses of 11 per lifecycle were these two writes).
 *
 * bind() must see a port held by time-wait entries as taken, unless the closed
 * sockets had SO_REUSEADDR (spec §8.3). Rather than chaining every entry by port
 * (8 bytes an entry, and a bind() walking a million entries on a busy server's
 * port), each local address holding entries counts them per port, and how many
 * lacked SO_REUSEADDR, in pages of 256 ports made on first use: a bind() reads one
 * counter per address, whatever the number of entries.
 *
 * Expiry without a timer per entry: TIME-WAIT lasts exactly 60 s (TCP_TIMEWAIT_LEN)
 * and is restarted by moving to the tail, so its list is in expiry order by
 * construction. An orphan's FIN-WAIT-2 lives max(tcp_fin_timeout or TCP_LINGER2,
 * 3.5 RTO), which is nearly always the same value; its list is kept sorted by
 * inserting from the tail, O(1) in that common case. One wheel timer per stack
 * follows the earlier of the two heads. Times are 32-bit milliseconds: an entry
 * lives at most a few minutes, so modular comparison is exact.
 *
 * tern__tw_rcv is Linux's tcp_timewait_state_process, a verdict per segment, plus
 * what tcp_v4_rcv does with the verdict.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ip/ip.h"
#include "tcp/listen.h"
#include "tcp/sock.h"
#include "tcp/tcp.h"
#include "tcp/tw.h"
#include "tern/errors.h"

_Static_assert(sizeof(struct tern_tw) == 48, "a time-wait entry is 48 bytes");
/* tern__tw_enter copies the 4-tuple as one block. */
#define TW_TUPLE_BYTES 12
_Static_assert(offsetof(struct tern_tw, raddr) == offsetof(struct tern_tw, laddr) + 4 &&
		       offsetof(struct tern_tw, lport) == offsetof(struct tern_tw, laddr) + 8 &&
		       offsetof(struct tern_tw, rport) == offsetof(struct tern_tw, laddr) + 10 &&
		       offsetof(struct tern_sock, raddr) == offsetof(struct tern_sock, laddr) + 4 &&
		       offsetof(struct tern_sock, lport) == offsetof(struct tern_sock, laddr) + 8 &&
		       offsetof(struct tern_sock, rport) == offsetof(struct tern_sock, laddr) + 10,
	       "the 4-tuple is laid out alike in a socket and an entry");

#define TW_HASH_INITIAL 256u
#define LIST_TW 0
#define LIST_FW2 1
/* PAWS limits (RFC 7323 §5.5, Linux 6.7+): a timestamp older than this is not
 * used to judge; an RST is judged against one at most 60 s old. */
#define PAWS_WRAP_S 2147u
#define PAWS_MSL_S 60u

/* How many time-wait entries hold each of 256 consecutive ports of one local
 * address, and how many of them were closed without SO_REUSEADDR. */
struct tw_port_page {
	uint32_t all[256];
	uint32_t strict[256];
	uint32_t used;          /* entries on the page's ports */
};

/* A local address holding time-wait entries (a host has few), its ports in pages
 * made on first use: a server's one port costs one page, a client whose whole
 * ephemeral range is in TIME-WAIT 8 bytes a port. */
struct tw_addr {
	uint32_t laddr;
	uint32_t count;         /* entries on the address */
	struct tw_port_page *page[256];
};

/* An entry's place on its expiry list (indices plus one; 0: none). */
struct tw_link {
	uint32_t prev, next;
};

struct tern_tw_table {
	struct tern_tw_index ix;     /* first: what the inline lookup (tw.h) reads */
	struct tw_link *links;       /* links[i] is ix.tws[i]'s */
	uint32_t cap, high, free_head;
	struct tw_addr **addrs;      /* local addresses with entries, in no order */
	uint32_t naddrs;
	struct tw_addr *last_addr;   /* the one addr_find found last, NULL if freed */
	uint32_t head[2], tail[2];
	struct tern_timer timer;
};

static struct tern_tw_table *table(const struct tern_stack *st)
{
	return st->tcp->tws;
}

static struct tern_tw *at(struct tern_tw_table *t, uint32_t i1)
{
	return i1 ? &t->ix.tws[i1 - 1] : NULL;
}

static uint32_t idx1(struct tern_tw_table *t, const struct tern_tw *tw)
{
	return (uint32_t)(tw - t->ix.tws) + 1;
}

static struct tw_link *link_of(struct tern_tw_table *t, uint32_t i1)
{
	return &t->links[i1 - 1];
}

static uint32_t ms_now(const struct tern_stack *st)
{
	return (uint32_t)st->now_ms;
}

static uint32_t secs_now(const struct tern_stack *st)
{
	return (uint32_t)(st->now / TERN_NS_PER_SEC) + 1;
}

static bool has_ts(const struct tern_tw *tw)
{
	return tw->flags & TW_HAS_TS;
}

/* Seconds since ts_recent was taken. Exact below 2^16 s, far beyond the 2147 s
 * after which PAWS ignores the timestamp; the stamp is clamped to that age when
 * the entry is made, so an older one never reads young. */
static uint32_t ts_age_s(const struct tern_stack *st, const struct tern_tw *tw)
{
	return (uint16_t)(secs_now(st) - tw->ts_stamp_s);
}

static void set_ts_stamp(struct tern_tw *tw, uint32_t secs)
{
	tw->ts_stamp_s = (uint16_t)secs;
}

/* ------------------------------------------------------------ expiry */

static void list_unlink(struct tern_tw_table *t, struct tern_tw *tw)
{
	struct tw_link *l = link_of(t, idx1(t, tw));

	if (l->prev)
		link_of(t, l->prev)->next = l->next;
	else
		t->head[tw->list] = l->next;
	if (l->next)
		link_of(t, l->next)->prev = l->prev;
	else
		t->tail[tw->list] = l->prev;
	l->prev = l->next = 0;
}

/* Inserts in expiry order, walking back from the tail (O(1) when lifetimes are
 * equal, as they are for TIME-WAIT). */
static void list_insert(struct tern_tw_table *t, struct tern_tw *tw)
{
	uint32_t me = idx1(t, tw);
	struct tw_link *l = link_of(t, me);
	uint32_t after = t->tail[tw->list];

	while (after && (int32_t)(at(t, after)->expires_ms - tw->expires_ms) > 0)
		after = link_of(t, after)->prev;
	l->prev = after;
	l->next = after ? link_of(t, after)->next : t->head[tw->list];
	if (l->next)
		link_of(t, l->next)->prev = me;
	else
		t->tail[tw->list] = me;
	if (after)
		link_of(t, after)->next = me;
	else
		t->head[tw->list] = me;
}

static void rearm_timer(struct tern_stack *st)
{
	struct tern_tw_table *t = table(st);
	int64_t now_ms = (int64_t)st->now_ms;
	int32_t first = INT32_MAX;
	bool any = false;

	/* Deadlines are whole milliseconds, so the wheel's ticks: compared and armed
	 * as ticks. One before time zero (only near the clock's start) is re-armed
	 * for tick 0 every time, as its time in ns never equals a tick's. */
	for (int l = 0; l < 2; l++) {
		struct tern_tw *h = at(t, t->head[l]);
		if (h) {
			int32_t left = (int32_t)(h->expires_ms - (uint32_t)now_ms);
			if (!any || left < first)
				first = left;
			any = true;
		}
	}
	if (!any) {
		tern__timer_cancel(&st->timers, &t->timer);
		return;
	}
	int64_t tick = now_ms + first;
	if (tick < 0 || !tern__timer_pending(&t->timer) || tern__timer_expiry_tick(&t->timer) != (uint64_t)tick)
		tern__timer_arm_tick(&st->timers, &t->timer, tick < 0 ? 0 : (uint64_t)tick);
}

/* Files an entry that is on no list, `timeout` from now; `was_head` says it
 * headed its list before. Inline (GCC declines by size): tern__tw_enter files
 * one per connection, and the call was dearer than the walk from the tail. */
static inline void file_entry(struct tern_stack *st, struct tern_tw *tw, tern_time timeout, bool was_head)
{
	struct tern_tw_table *t = table(st);

	tw->list = (tw->substate == TERN_TCP_TIME_WAIT ? LIST_TW : LIST_FW2) & 0xf;
	/* Rounded up from the exact deadline: an entry never leaves early. */
	tw->expires_ms = (uint32_t)((st->now + timeout + TERN_NS_PER_MS - 1) / TERN_NS_PER_MS);
	list_insert(t, tw);
	/* The wheel follows the heads only: an entry queued behind others (every
	 * new TIME-WAIT entry but the first) leaves it alone. */
	if (was_head || !link_of(t, idx1(t, tw))->prev)
		rearm_timer(st);
}

static void schedule(struct tern_stack *st, struct tern_tw *tw, tern_time timeout)
{
	struct tern_tw_table *t = table(st);
	const struct tw_link *l = link_of(t, idx1(t, tw));
	bool was_head = t->head[tw->list] == idx1(t, tw);

	if (l->prev || l->next || was_head)
		list_unlink(t, tw);
	file_entry(st, tw, timeout, was_head);
}

/* The lifetime ran out: the entry goes silently (spec §6.5). */
static void tw_timer_fire(void *ctx, struct tern_timer *tm)
{
	struct tern_stack *st = ctx;
	struct tern_tw_table *t = table(st);
	uint32_t now = ms_now(st);

	(void)tm;
	for (int l = 0; l < 2; l++) {
		struct tern_tw *h;
		while ((h = at(t, t->head[l])) && (int32_t)(h->expires_ms - now) <= 0)
			tern__tw_kill(st, h);
	}
	rearm_timer(st);
}

/* ------------------------------------------------------------ ports held */

/* The address's counters, or NULL. The last one found is tried first: both
 * entry and kill look up the address (twice per connection), and a host's
 * TIME-WAIT entries are nearly always on the same one. last_addr is cleared
 * whenever the address it names is freed, so it is always one of addrs. */
static struct tw_addr *addr_find(struct tern_tw_table *t, uint32_t laddr)
{
	struct tw_addr *a = t->last_addr;

	if (a && a->laddr == laddr)
		return a;
	for (uint32_t i = 0; i < t->naddrs; i++)
		if (t->addrs[i]->laddr == laddr)
			return t->last_addr = t->addrs[i];
	return NULL;
}

/* Makes sure laddr:port has a counter, so that counting an entry in cannot fail:
 * the address's counters, or NULL when memory runs out. */
static struct tw_addr *ports_reserve(struct tern_tw_table *t, uint32_t laddr, uint16_t port)
{
	struct tw_addr *a = addr_find(t, laddr);

	if (!a) {
		struct tw_addr **grown = realloc(t->addrs, (t->naddrs + 1) * sizeof(*grown));
		if (!grown)
			return NULL;
		t->addrs = grown;
		a = calloc(1, sizeof(*a));
		if (!a)
			return NULL;
		a->laddr = laddr;
		t->addrs[t->naddrs++] = a;
	}
	if (a->page[port >> 8])
		return a;
	a->page[port >> 8] = calloc(1, sizeof(struct tw_port_page));
	if (a->page[port >> 8])
		return a;
	if (!a->count) {
		/* Do not keep an address that holds nothing. */
		t->addrs[--t->naddrs] = NULL;
		if (t->last_addr == a)
			t->last_addr = NULL;
		free(a);
	}
	return NULL;
}

/* Counts an entry in (+1, after ports_reserve) or out (-1) of its port on its
 * address `a`. Pages and addresses go when their last entry does. Inline for
 * tern__tw_enter and tern__tw_kill, once each per connection: the counting is
 * a few adds, the freeing rare. */
static inline void ports_hold(struct tern_tw_table *t, struct tw_addr *a, const struct tern_tw *tw, int delta)
{
	struct tw_port_page *pg = a->page[tw->lport >> 8];
	uint32_t d = (uint32_t)delta;

	pg->all[tw->lport & 0xff] += d;
	if (!(tw->flags & TW_REUSEADDR))
		pg->strict[tw->lport & 0xff] += d;
	pg->used += d;
	a->count += d;
	if (!pg->used) {
		free(pg);
		a->page[tw->lport >> 8] = NULL;
	}
	if (!a->count) {
		for (uint32_t i = 0; i < t->naddrs; i++)
			if (t->addrs[i] == a)
				t->addrs[i] = t->addrs[--t->naddrs];
		if (t->last_addr == a)
			t->last_addr = NULL;
		free(a);
	}
}

/* ------------------------------------------------------------ the table */

int tern__tw_init(struct tern_stack *st)
{
	struct tern_tw_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -TERN_ENOMEM;
	t->ix.buckets = calloc(TW_HASH_INITIAL, sizeof(*t->ix.buckets));
	if (!t->ix.buckets) {
		free(t);
		return -TERN_ENOMEM;
	}
	t->ix.mask = TW_HASH_INITIAL - 1;
	{
		/* TW_WORD matches the bit-fields' layout. */
		struct tern_tw probe = { .word = TW_WORD(0x1234, 0x5, 0x6, 0x7, 0x8) };
		TERN_ASSERT(probe.ts_stamp_s == 0x1234 && probe.substate == 0x5 && probe.list == 0x6 &&
			    probe.rcv_wscale == 0x7 && probe.flags == 0x8);
		(void)probe;
	}
	tern__timer_init(&t->timer, tw_timer_fire);
	st->tcp->tws = t;
	return 0;
}

void tern__tw_fini(struct tern_stack *st)
{
	struct tern_tw_table *t = table(st);

	if (!t)
		return;
	tern__timer_cancel(&st->timers, &t->timer);
	free(t->ix.tws);
	free(t->links);
	free(t->ix.buckets);
	for (uint32_t i = 0; i < t->naddrs; i++) {
		for (int p = 0; p < 256; p++)
			free(t->addrs[i]->page[p]);
		free(t->addrs[i]);
	}
	free(t->addrs);
	free(t);
	st->tcp->tws = NULL;
}

uint32_t tern__tw_count(const struct tern_stack *st)
{
	return table(st)->ix.count;
}

/* The bucket format (an index and a summary of the chain) is in tw.h. */
#define TW_MAX_ENTRIES TW_IDX_MASK

static uint32_t tw_hash(const struct tern_stack *st, const struct tern_tw *tw)
{
	return tern__tuple_hash(st, tw->laddr, tw->lport, tw->raddr, tw->rport);
}

static bool grow_hash(struct tern_stack *st)
{
	struct tern_tw_table *t = table(st);
	uint32_t n = (t->ix.mask + 1) * 2;
	uint32_t *b = calloc(n, sizeof(*b));

	if (!b)
		return false;
	for (uint32_t i = 0; i < t->high; i++) {
		struct tern_tw *tw = &t->ix.tws[i];
		if (!(tw->flags & TW_IN_USE))
			continue;
		uint32_t hash = tw_hash(st, tw);
		uint32_t *bucket = &b[hash & (n - 1)];
		tw->hnext = *bucket & TW_IDX_MASK;
		*bucket = (*bucket & ~TW_IDX_MASK) | tern__tw_summary_bit(hash) | (i + 1);
	}
	free(t->ix.buckets);
	t->ix.buckets = b;
	t->ix.mask = n - 1;
	return true;
}

static struct tern_tw *entry_alloc(struct tern_tw_table *t)
{
	if (t->free_head) {
		struct tern_tw *tw = at(t, t->free_head);
		t->free_head = tw->hnext;
		/* The next entry to hand out, fetched ahead as the pools do theirs. */
		__builtin_prefetch(at(t, t->free_head), 1);
		return tw;
	}
	if (t->high == TW_MAX_ENTRIES)
		return NULL;   /* counted as an overflow: 2^28 entries is 15 GB */
	if (t->high == t->cap) {
		uint32_t n = t->cap ? TERN_MIN(t->cap * 2, TW_MAX_ENTRIES) : 256;
		struct tern_tw *grown = realloc(t->ix.tws, (size_t)n * sizeof(*grown));
		if (!grown)
			return NULL;
		t->ix.tws = grown;
		struct tw_link *links = realloc(t->links, (size_t)n * sizeof(*links));
		if (!links)
			return NULL;   /* the larger entry array is kept; cap says the old size */
		t->links = links;
		t->cap = n;
	}
	/* A new entry is on no list; a reused one left its list when killed. */
	t->links[t->high] = (struct tw_link){ 0, 0 };
	return &t->ix.tws[t->high++];
}

struct tern_tw *tern__tw_lookup(struct tern_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
				uint16_t rport)
{
	return tern__tw_lookup_hashed(st, tern__tuple_hash(st, laddr, lport, raddr, rport), laddr, lport, raddr,
				      rport);
}

/* A walk that found nothing rewrites its chain's summary from the entries in it
 * (removals leave bits set). Out of line: the hits that pass the summary test
 * should not pay for the hashing. */
void __attribute__((noinline)) tern__tw_heal(const struct tern_stack *st, uint32_t *bucket)
{
	struct tern_tw_table *t = table(st);
	uint32_t summary = 0;

	for (uint32_t i = *bucket & TW_IDX_MASK; i; i = t->ix.tws[i - 1].hnext)
		summary |= tern__tw_summary_bit(tw_hash(st, &t->ix.tws[i - 1]));
	*bucket = (*bucket & TW_IDX_MASK) | summary;
}

/* Entry `i1`, both ends of it: a 48-byte entry straddles two lines one time in
 * two. */
static void prefetch_entry(struct tern_tw_table *t, uint32_t i1)
{
	const char *p = (const char *)at(t, i1);
	__builtin_prefetch(p);
	__builtin_prefetch(p + sizeof(struct tern_tw) - 1);
}

/* How many entries behind a killed one fetch_ahead asks for. */
#define TW_FETCH_AHEAD 4

/*
 * Entries tend to leave near the order they entered. The reaper takes each
 * list's head. A client reconnecting to a server walks its ephemeral ports
 * upwards again, a few at a time (Linux's connect() steps by 2 to 16 per
 * destination), and the server's side of its earlier connections on those ports
 * entered TIME-WAIT in the order of that earlier walk; so the entries the next
 * SYNs reopen are often a few places behind the one a SYN reopens now (in the
 * lifecycle benchmark, six in ten of the entries SYNs reopen are among those the
 * last 64 kills fetched, one in ten by the kill just before). By then each is a
 * whole pass of the port range old and out of cache (tens of thousands of
 * entries: more than L2 holds), and its load was the largest single stall of a
 * reconnecting client's lifecycle. So a kill asks for the entries behind the one it kills; a wrong
 * guess costs a prefetch.
 *
 * Forced inline: GCC takes a function that only prefetches for one without
 * effects, and drops the call.
 */
static inline __attribute__((always_inline)) void fetch_ahead(struct tern_tw_table *t, uint32_t me)
{
	uint32_t n = link_of(t, me)->next;

	for (int i = 0; i < TW_FETCH_AHEAD && n; i++) {
		prefetch_entry(t, n);
		n = link_of(t, n)->next;
	}
}

void tern__tw_kill(struct tern_stack *st, struct tern_tw *tw)
{
	struct tern_tw_table *t = table(st);
	uint32_t me = idx1(t, tw);

	fetch_ahead(t, me);

	/* The entry the last lookup found has its hash there; the slot is cleared
	 * with the entry, before its index can be handed out again. */
	uint32_t hash = t->ix.hit == me ? t->ix.hit_hash : tw_hash(st, tw);
	t->ix.hit = 0;
	uint32_t *bucket = &t->ix.buckets[hash & t->ix.mask];
	if ((*bucket & TW_IDX_MASK) == me) {
		/* An emptied chain has nothing to summarise. */
		*bucket = tw->hnext ? (*bucket & ~TW_IDX_MASK) | tw->hnext : 0;
	} else {
		for (uint32_t i = *bucket & TW_IDX_MASK; i; i = t->ix.tws[i - 1].hnext) {
			st->tcp->hash_probes++;
			if (t->ix.tws[i - 1].hnext == me) {
				t->ix.tws[i - 1].hnext = tw->hnext;
				break;
			}
		}
	}
	ports_hold(t, addr_find(t, tw->laddr), tw, -1);
	bool was_head = !link_of(t, me)->prev;
	list_unlink(t, tw);
	tw->flags = 0;
	tw->hnext = t->free_head;
	t->free_head = me;
	t->ix.count--;
	if (was_head)
		rearm_timer(st);
}

/* Linux's tcp_time_wait. */
void tern__tw_enter(struct tern_stack *st, struct tern_sock *sk, int state, tern_time timeout)
{
	struct tern_tw_table *t = table(st);
	struct tern_tw *tw = NULL;
	struct tw_addr *a = NULL;

	TERN_ASSERT(state == TERN_TCP_TIME_WAIT || state == TERN_TCP_FIN_WAIT2);
	if (t->ix.count >= (uint64_t)st->sys.tcp_max_tw_buckets) {
		/* No room: no time-wait at all, no reset, no log (spec §6.5). */
		tern__count(st, TERN_CTR_TcpExtTCPTimeWaitOverflow);
	} else if ((t->ix.count <= t->ix.mask || grow_hash(st) || t->ix.count < 4 * (t->ix.mask + 1)) &&
		   (a = ports_reserve(t, sk->laddr, sk->lport)) != NULL &&
		   (tw = entry_alloc(t)) != NULL) {
		int32_t win = (int32_t)(sk->rcv_wup + sk->rcv_wnd - sk->rcv_nxt);
		uint32_t flags = TW_IN_USE | ((sk->flags & SK_REUSEADDR) ? TW_REUSEADDR : 0) |
				 ((sk->flags & SK_REUSEPORT) ? TW_REUSEPORT : 0);
		uint32_t ts_recent = 0, stamp = 0;
		if (sk->neg.ts_ok) {
			uint32_t taken = (uint32_t)(sk->ts_recent_stamp / TERN_NS_PER_SEC) + 1;
			flags |= TW_HAS_TS;
			ts_recent = sk->ts_recent;
			/* Taken under 2147 s of time ago, its whole seconds are under 2148
			 * apart from now's, so the clamp below is a no-op: one division
			 * rather than two. */
			if (sk->ts_recent_stamp <= st->now &&
			    st->now - sk->ts_recent_stamp < (tern_time)PAWS_WRAP_S * TERN_NS_PER_SEC)
				stamp = (uint16_t)taken;
			else
				stamp = (uint16_t)(secs_now(st) - TERN_MIN(secs_now(st) - taken, PAWS_WRAP_S));
		}
		/* Written whole, field by field or word by word rather than zeroed
		 * first; hnext and expires_ms below; on no list yet (its links are
		 * zero), its list set when filed. */
		memcpy(&tw->laddr, &sk->laddr, TW_TUPLE_BYTES);
		tw->snd_nxt = sk->snd_nxt;
		tw->rcv_nxt = sk->rcv_nxt;
		tw->ts_recent = ts_recent;
		tw->word = TW_WORD(stamp, (uint32_t)state & 0xf, 0, sk->neg.rcv_wscale & 0xf, flags);
		tw->rcv_wnd = win > 0 ? (uint32_t)win : 0;
		tw->entry_ms = ms_now(st);     /* GCC makes these two one store */
		tw->last_oow_ms = 0;
		/* The socket's tuple, so its hash, which segment input remembered
		 * if this comes from a segment for the socket (sock.h's eh_hint). */
		uint32_t hash = sk == st->tcp->eh_hint ? st->tcp->eh_hint_hash : tw_hash(st, tw);
		TERN_ASSERT(hash == tw_hash(st, tw));
		uint32_t *bucket = &t->ix.buckets[hash & t->ix.mask];
		tw->hnext = *bucket & TW_IDX_MASK;
		*bucket = (*bucket & ~TW_IDX_MASK) | tern__tw_summary_bit(hash) | idx1(t, tw);
		ports_hold(t, a, tw, +1);
		t->ix.count++;
		/* TW counts time-wait entered with a timeout above 4 s, TWKilled the rest
		 * (what they count is entry, despite the names: spec §10.3). */
		tern__count(st, timeout > 4 * TERN_NS_PER_SEC ? TERN_CTR_TcpExtTW : TERN_CTR_TcpExtTWKilled);
		file_entry(st, tw, timeout, false);
		/* The entry has the socket's 4-tuple, so its hash is the socket's: the
		 * socket leaves the connection hash here rather than have tcp_done's
		 * state change hash the tuple again. */
		tern__ehash_remove_hashed(st, sk, hash);
	} else {
		tern__count(st, TERN_CTR_TcpExtTCPTimeWaitOverflow);
	}
	tern__tcp_done(st, sk);
}

/* ------------------------------------------------------------ segments */

static bool oow_ratelimited(struct tern_stack *st, struct tern_tw *tw, const struct tern_tcp *seg,
			    enum tern_counter skipped)
{
	/* Data segments are never part of an ACK loop: always answered (Linux's
	 * tcp_oow_rate_limited). A retransmitted FIN counts as data here. */
	bool data = (seg->payload_len || (seg->flags & TERN_TCP_FIN)) && !(seg->flags & TERN_TCP_SYN);
	uint32_t now = ms_now(st) | 1;

	if (data)
		return false;
	if (tw->last_oow_ms && now - tw->last_oow_ms < (uint32_t)st->sys.tcp_invalid_ratelimit) {
		tern__count(st, skipped);
		return true;
	}
	tw->last_oow_ms = now;
	return false;
}

/* Linux's tcp_v4_timewait_ack: seq = snd_nxt, ack = rcv_nxt, the window last
 * offered, our timestamp echoing the last one seen. */
static void tw_send_ack(struct tern_stack *st, struct tern_tw *tw, uint8_t tos)
{
	struct tern_tcp seg = {
		.sport = tw->lport, .dport = tw->rport,
		.seq = tw->snd_nxt, .ack = tw->rcv_nxt,
		.flags = TERN_TCP_ACK,
		.win = (uint16_t)TERN_MIN(tw->rcv_wnd >> tw->rcv_wscale, 65535u),
	};
	struct tern_ip_out out = {
		.src = tw->laddr, .dst = tw->raddr, .proto = TERN_IPPROTO_TCP,
		.tos = (uint8_t)(tos & ~0x03), .df = true, .id = -1,
	};
	if (has_ts(tw))
		tern__tcp_opts_ts_only(&seg.opt, ms_now(st) + tern__ts_offset(st, tw->laddr, tw->raddr), tw->ts_recent);
	tern__tcp_emit(st, &out, &seg);
}

/* RFC 7323 §5.3 against the entry's timestamp, as Linux's tcp_paws_reject. */
static bool paws_reject(const struct tern_stack *st, const struct tern_tw *tw, const struct tern_tcp *seg)
{
	if (!has_ts(tw) || !(seg->opt.present & TERN_TCPOPT_HAS_TS))
		return false;
	if ((int32_t)(tw->ts_recent - seg->opt.ts_val) <= 0)
		return false;
	if (ts_age_s(st, tw) >= PAWS_WRAP_S || !tw->ts_recent)
		return false;
	/* An RST is judged only against a timestamp less than 60 s old. */
	if ((seg->flags & TERN_TCP_RST) && ts_age_s(st, tw) >= PAWS_MSL_S)
		return false;
	return true;
}

static void take_ts(struct tern_stack *st, struct tern_tw *tw, const struct tern_tcp *seg)
{
	if (has_ts(tw) && (seg->opt.present & TERN_TCPOPT_HAS_TS)) {
		tw->ts_recent = seg->opt.ts_val;
		set_ts_stamp(tw, secs_now(st));
	}
}

enum tw_verdict { TW_SUCCESS, TW_ACK, TW_RST, TW_SYN };

/* spec §6.6: the FIN-WAIT-2 sub-state. */
static enum tw_verdict fw2_process(struct tern_stack *st, struct tern_tw *tw, const struct tern_tcp *seg,
				   tern_seq end, bool paws)
{
	if (paws || !seq_in_window(seg->seq, end, tw->rcv_nxt, tw->rcv_nxt + tw->rcv_wnd))
		return oow_ratelimited(st, tw, seg, TERN_CTR_TcpExtTCPACKSkippedFinWait2) ? TW_SUCCESS : TW_ACK;
	if (seg->flags & TERN_TCP_RST) {
		tern__tw_kill(st, tw);
		return TW_SUCCESS;
	}
	if ((seg->flags & TERN_TCP_SYN) && !seq_lt(seg->seq, tw->rcv_nxt)) {
		tern__tw_kill(st, tw);
		return TW_RST;
	}
	/* A duplicate, or a pure ACK: nothing to do. */
	if (!(seg->flags & TERN_TCP_ACK) || !seq_gt(end, tw->rcv_nxt) || end == seg->seq)
		return TW_SUCCESS;
	/* New data after our half-close, or a FIN not at rcv_nxt: reset (spec §13.10:
	 * this path counts no TCPAbortOnData). */
	if (!(seg->flags & TERN_TCP_FIN) || end != tw->rcv_nxt + 1) {
		tern__tw_kill(st, tw);
		return TW_RST;
	}
	/* The FIN: the true TIME-WAIT begins, for 60 s. */
	tw->substate = TERN_TCP_TIME_WAIT;
	tw->rcv_nxt = end;
	if (has_ts(tw) && (seg->opt.present & TERN_TCPOPT_HAS_TS)) {
		take_ts(st, tw, seg);
		tw->entry_ms = ms_now(st);
	}
	schedule(st, tw, TERN_TCP_TIMEWAIT_NS);
	return TW_ACK;
}

/* spec §6.6: the TIME-WAIT sub-state. */
static enum tw_verdict tw_process(struct tern_stack *st, struct tern_tw *tw, const struct tern_tcp *seg,
				  tern_seq end, bool paws, tern_seq *isn)
{
	uint8_t f = seg->flags;

	/* 1. In window and in order: a bare ACK or an RST. */
	if (!paws && seg->seq == tw->rcv_nxt && (seg->seq == end || (f & TERN_TCP_RST))) {
		if (f & TERN_TCP_RST) {
			/* TIME-WAIT assassination (RFC 1337) unless tcp_rfc1337=1. */
			if (!st->sys.tcp_rfc1337) {
				tern__tw_kill(st, tw);
				return TW_SUCCESS;
			}
		} else {
			schedule(st, tw, TERN_TCP_TIMEWAIT_NS);
		}
		take_ts(st, tw, seg);
		return TW_SUCCESS;
	}
	/* 2. A new SYN: newer sequence or newer timestamp reopens through the
	 * listener, with an ISN past anything this incarnation sent. */
	if ((f & TERN_TCP_SYN) && !(f & (TERN_TCP_RST | TERN_TCP_ACK)) && !paws &&
	    (seq_gt(seg->seq, tw->rcv_nxt) || (has_ts(tw) && (seg->opt.present & TERN_TCPOPT_HAS_TS) &&
					      (int32_t)(tw->ts_recent - seg->opt.ts_val) < 0))) {
		*isn = tw->snd_nxt + 65535 + 2;
		if (*isn == 0)
			*isn = 1;
		return TW_SYN;
	}
	/* 3. Anything else. */
	if (paws)
		tern__count(st, TERN_CTR_TcpExtPAWSTimewait);
	if (f & TERN_TCP_RST)
		return TW_SUCCESS;
	if (paws || (f & TERN_TCP_ACK))
		schedule(st, tw, TERN_TCP_TIMEWAIT_NS);
	return oow_ratelimited(st, tw, seg, TERN_CTR_TcpExtTCPACKSkippedTimeWait) ? TW_SUCCESS : TW_ACK;
}

void tern__tw_rcv(struct tern_stack *st, struct tern_tw *tw, const struct tern_ipv4 *ip, const struct tern_tcp *seg)
{
	tern_seq end = seg->seq + seg->payload_len + !!(seg->flags & TERN_TCP_SYN) + !!(seg->flags & TERN_TCP_FIN);
	bool paws = paws_reject(st, tw, seg);
	tern_seq isn = 0;
	enum tw_verdict v;

	if (tw->substate == TERN_TCP_FIN_WAIT2)
		v = fw2_process(st, tw, seg, end, paws);
	else
		v = tw_process(st, tw, seg, end, paws, &isn);

	switch (v) {
	case TW_SYN: {
		struct tern_sock *lsk = tern__lhash_lookup(st, ip->dst, seg->dport);
		if (lsk) {
			tern__tw_kill(st, tw);
			tern__listen_syn_reopen(st, lsk, ip, seg, isn);
			return;
		}
		tw_send_ack(st, tw, ip->tos);   /* no listener: answered with an ACK */
		return;
	}
	case TW_ACK:
		tw_send_ack(st, tw, ip->tos);
		return;
	case TW_RST:
		tern__tcp_send_reset(st, ip, seg);
		return;
	case TW_SUCCESS:
		return;
	}
}

/* ------------------------------------------------------------ ports */

bool tern__tw_bind_conflict(struct tern_stack *st, uint32_t addr, uint16_t port, bool reuseaddr, bool reuseport)
{
	struct tern_tw_table *t = table(st);

	/* Both SO_REUSEADDR, or SO_REUSEPORT on the new one: a time-wait entry is
	 * never a conflict then (spec §8.3). */
	if (reuseport)
		return false;
	/* A wildcard bind meets the entries of every address; an address, its own
	 * (an entry's address is never the wildcard: it was connected). */
	for (uint32_t i = 0; i < t->naddrs; i++) {
		const struct tw_addr *a = t->addrs[i];
		const struct tw_port_page *pg = a->page[port >> 8];
		st->tcp->hash_probes++;
		if ((addr == 0 || a->laddr == addr) && pg && (reuseaddr ? pg->strict : pg->all)[port & 0xff])
			return true;
	}
	return false;
}

/* Linux's tcp_twsk_unique (spec §6.7). */
bool tern__tw_try_reuse(struct tern_stack *st, struct tern_tw *tw, bool bound, tern_seq *isn, uint32_t *ts_recent,
			tern_time *ts_recent_stamp)
{
	int reuse = (int)st->sys.tcp_tw_reuse;

	if (reuse == 2) {
		/* Loopback only: an address in 127/8 on either side. */
		bool lo = (tw->laddr >> 24) == 127 || (tw->raddr >> 24) == 127;
		reuse = lo ? 1 : 0;
	}
	if (tw->substate == TERN_TCP_FIN_WAIT2)
		reuse = 0;
	if (!has_ts(tw))
		return false;
	if (!bound && !(reuse && (int32_t)(ms_now(st) - (tw->entry_ms + (uint32_t)st->sys.tcp_tw_reuse_delay)) > 0))
		return false;
	*isn = tw->snd_nxt + 65535 + 2;
	if (*isn == 0)
		*isn = 1;
	*ts_recent = tw->ts_recent;
	*ts_recent_stamp = (tern_time)(secs_now(st) - ts_age_s(st, tw) - 1) * TERN_NS_PER_SEC;
	tern__tw_kill(st, tw);
	tern__count(st, TERN_CTR_TcpExtTWRecycled);
	return true;
}

/* ------------------------------------------------------------ ss */

int tern__tw_diag(struct tern_stack *st, tern_diag_fn fn, void *ctx)
{
	struct tern_tw_table *t = table(st);
	uint32_t now = ms_now(st);

	for (uint32_t i = 0; i < t->high; i++) {
		struct tern_tw *tw = &t->ix.tws[i];
		if (!(tw->flags & TW_IN_USE))
			continue;
		int32_t left = (int32_t)(tw->expires_ms - now);
		struct tern_diag_sock d = {
			.state = tw->substate,
			.laddr = { .family = TERN_AF_INET, .u.v4 = tw->laddr },
			.raddr = { .family = TERN_AF_INET, .u.v4 = tw->raddr },
			.lport = tw->lport,
			.rport = tw->rport,
			.timer = TERN_DIAG_TIMER_TIMEWAIT,
			.timer_left = left > 0 ? (tern_time)left * TERN_NS_PER_MS : 0,
			.fd = -1,
			.uid_inode = 0,
		};
		int rc = fn(ctx, &d);
		if (rc)
			return rc;
	}
	return 0;
}
