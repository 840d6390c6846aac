/*
 * link/sim.c: the simulated network (include/tern/sim.h): nodes, links, the event
 * queue and the virtual clock.
 *
 * Sits at the edge, as a driver: it owns tern stacks (their `emit` lands here) and
 * raw endpoints, and moves datagrams between them over links that model delay,
 * jitter, a serialisation rate with a drop-tail queue, and loss, duplication,
 * reordering and corruption. Nothing here reads a clock: time is a number that
 * jumps from one event to the next, so an idle minute costs one step.
 *
 * What happens to a datagram entering one direction of a link, in this order (the
 * random draws come from the simulation's one PRNG, in exactly this order and only
 * for the faults that are enabled, so a seed replays a run bit for bit):
 *
 *   1. SEND taps record it as offered, stamped now.
 *   2. Loss: dropped with probability `loss`.
 *   3. Rate: the bytes still waiting to be serialised are derived from when the
 *      direction falls idle, (busy_until - now) * rate / 8 (the datagram being
 *      serialised counts, as in a real transmit queue). If that backlog plus this
 *      datagram exceeds `queue_bytes`, drop-tail. Otherwise the datagram departs
 *      when the earlier ones are out plus its own serialisation time, rounded up
 *      to the next nanosecond so that no datagram is ever free.
 *   4. Arrival = departure + delay + a uniform draw in [0, jitter], clamped to be no
 *      earlier than the previous arrival in this direction: jitter spreads the
 *      spacing but never reorders.
 *   5. Reorder: with probability `reorder` the datagram is held back a further
 *      reorder_delay (or max(delay, 1 ms) when that is 0) and does not become the
 *      "previous arrival", so the datagrams after it overtake it.
 *   6. Duplicate: with probability `duplicate` a second copy arrives at the same
 *      instant, right after the first.
 *   7. Corrupt: with probability `corrupt` one bit, drawn uniformly, is flipped in
 *      what is delivered (both copies of a duplicated datagram carry the same flip;
 *      the SEND tap has already recorded the original).
 *
 * Pending deliveries come out in (arrival time, sequence number given at enqueue)
 * order; the sequence number makes equal times come out in the order they went in.
 * Within one direction of a link arrivals never go backwards except for a datagram
 * held back to be reordered, so each direction keeps its in-order datagrams in a
 * FIFO ring, and only the head of each ring (plus the held-back datagrams) sits in
 * a binary min-heap: the heap stays as small as the number of busy directions, and
 * a delivery costs O(1) ring work plus one sift down the small heap (the ring's
 * next datagram takes the delivered one's place), however many datagrams are in
 * flight. The merged order is the same as one big heap's.
 * Bytes live in two pools (datagrams up to 2048 bytes and larger ones up to
 * 65535), so once the pools and rings have grown to the working set, delivery
 * allocates nothing.
 */
#include "tern/sim.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/prng.h"
#include "core/util.h"
#include "tern/errors.h"
#include "tern/pcap.h"

/* An IPv4 header is at least 20 bytes; the total-length field caps a datagram. */
#define SIM_MIN_DGRAM 20u
#define SIM_MAX_DGRAM 65535u
/* Pool object sizes: a bare header (SYN, ACK, FIN, a few bytes of data) fits the
 * tiny one, an Ethernet-MTU segment the small one. Tiny buffers matter for the
 * cache: hundreds of queued 2 KiB buffers would all start on the same few cache
 * sets (a 2 KiB stride), and their headers would evict one another. */
#define SIM_TINY_BUF 128u
#define SIM_SMALL_BUF 2048u
#define SIM_LARGE_BUF SIM_MAX_DGRAM
/* Large buffers are 64 KiB each; carve them a few at a time. */
#define SIM_LARGE_PER_CHUNK 4u
/* Reorder hold-back when the link gives none and its delay is shorter. */
#define SIM_DEFAULT_REORDER_NS TERN_NS_PER_MS
#define SIM_INITIAL_CAP 16u
/* For the few small steps of every datagram's path that the compiler would
 * otherwise leave as calls (they have several callers). */
#define SIM_INLINE static inline __attribute__((always_inline))

/* A tap writes a pcap file, or hands each datagram to a watcher callback. */
struct sim_tap {
	struct sim_tap *next;
	struct tern_pcap_writer *w;
	tern_sim_watch_fn fn;
	void *ctx;
	enum tern_sim_tap_point at;
};

/* A datagram on its way. 32 bytes: events are copied into and out of the rings
 * and moved about the heap, once or twice per datagram each. */
struct sim_event {
	tern_time at;
	uint64_t seq;
	uint8_t *buf;              /* from the tiny, small or large pool, by len */
	uint32_t dix;              /* its direction: sim->dirs[dix], 2 * link + dir */
	uint16_t len;              /* SIM_MAX_DGRAM fits */
	bool fifo;                 /* the head of its direction's ring, not held back */
};

/* One direction of a link: its model, its counters and its queue state. */
struct sim_dir {
	struct tern_link_params p;
	bool faults;              /* any of loss, rate, jitter, reorder, duplicate, corrupt */
	bool tapped;              /* the link has taps (a copy of taps != NULL for both
				     directions, so that a delivery need not find the link) */
	bool ideal;               /* neither faults nor taps */
	bool fast;                /* ideal and head_in_heap: emit_fast may append */
	/* The receiving node and the input flags its deliveries carry, fixed when the
	 * link is made (nodes never move, and their offload is fixed at creation). */
	struct sim_node *to;
	unsigned in_flags;
	/* to's stack when the link has no taps, else NULL: a delivery that finds
	 * it has nothing else to look at (to->stack is fixed when the node is
	 * made, before any link to it). */
	struct tern_stack *plain_stack;
	uint32_t dix;             /* its own index: 2 * link + dir */
	/* In-order datagrams behind the one in the heap (see the header comment). */
	struct sim_event *ring;
	size_t ring_head, ring_len, ring_cap;   /* ring_cap is a power of two */
	size_t ring_mask;         /* ring_cap - 1 (0 while there is no ring) */
	bool head_in_heap;
	struct tern_link_stats stats;
	tern_time busy_until;     /* when the serialiser finishes what it holds */
	tern_time last_arrival;   /* latest in-order arrival, the floor for the next */
	uint64_t delay1;          /* p.delay + 1, for emit_fast's end-of-time test */
};

/* A direction's slot in sim->dirs: a power-of-two stride, so that an event finds
 * its direction with a shift. */
#define SIM_DIR_SLOT 256u
union sim_dir_slot {
	struct sim_dir d;
	unsigned char pad[SIM_DIR_SLOT];
};
_Static_assert(sizeof(union sim_dir_slot) == SIM_DIR_SLOT, "sim_dir outgrew its slot");

/* A link's directions are sim->dirs[2 * id] (node[0] -> node[1]) and [2 * id + 1]. */
struct sim_link {
	int node[2];
	struct sim_tap *taps;
};

/* A node is allocated on its own so that the pointer handed to its stack as the
 * emit context stays valid while the node table grows. */
struct sim_node {
	struct tern_sim *sim;
	int id;
	struct tern_stack *stack;  /* NULL for a raw endpoint */
	bool csum_offload;         /* its stack leaves TCP checksums partial: what it
				      sends is delivered as TERN_INPUT_CSUM_OK, like a
				      loopback or an offloading NIC pair */
	struct tern_addr addr;     /* a raw endpoint's address; a stack's first one
				      (tern_stack_addr, fixed at creation) */
	tern_sim_rx_fn rx;
	void *rx_ctx;
	int *links;                /* ids of the links touching this node, in creation order */
	size_t nlinks, cap_links;
	/* The last destination sent to and where the link scan sent it, so that the
	 * scan runs only when the destination changes; -1 when nothing is known (a
	 * new link may own a destination that used to fall to the first link).
	 * route_dst is as the bytes lie in the header (no byte swap to compare);
	 * route_d points at the direction, at sim_no_route when route_link is -1
	 * (never NULL, so emit_fast need not test it), and is pointed again
	 * whenever the link table moves (tern_sim_link). */
	int route_link;
	int route_dir;
	uint32_t route_dst;
	struct sim_dir *route_d;
};

struct tern_sim {
	tern_time now;
	struct tern_prng prng;
	uint64_t next_seq;
	uint64_t unroutable;
	bool in_step;              /* a step is running: refuse to nest another */
	bool closing;              /* destroy is running: stacks' last words are dropped */

	struct sim_node **nodes;
	size_t nnodes, cap_nodes;
	struct sim_link *links;
	size_t nlinks, cap_links;
	union sim_dir_slot *dirs;  /* 2 per link; grows with links */
	size_t cap_dirs;

	struct sim_event *heap;
	size_t nheap, cap_heap;
	struct tern_pool tiny_pool;
	/* Tiny buffers delivered and not yet taken again: a free list in front of
	 * tiny_pool's (its objects stay counted in use there), so that the usual
	 * datagram's buffer comes and goes in three instructions each way. */
	void *tiny_free;
	struct tern_pool small_pool;
	struct tern_pool large_pool;
};

/* What a node with no remembered route points route_d at: a direction that is
 * not `fast`, so emit_fast leaves the datagram to the general path. Only read. */
static const union sim_dir_slot sim_no_route;
#define SIM_NO_ROUTE ((struct sim_dir *)&sim_no_route.d)

/* ------------------------------------------------------------------ helpers */

/* Makes room for `need` elements of `size` bytes in *arr, doubling. 0 or -ENOMEM. */
static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : SIM_INITIAL_CAP;
	while (ncap < need)
		ncap *= 2;
	if (ncap > SIZE_MAX / size)
		return -TERN_ENOMEM;
	void *p = realloc(*arr, ncap * size);
	if (!p)
		return -TERN_ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static tern_time time_add(tern_time t, tern_time d)
{
	return d > TERN_TIME_NEVER - 1 - t ? TERN_TIME_NEVER - 1 : t + d;
}

/* a * b / c rounded down, saturating at UINT64_MAX. */
static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c)
{
#if defined(__SIZEOF_INT128__)
	unsigned __int128 v = (unsigned __int128)a * b / c;
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
#else
	long double v = (long double)a * (long double)b / (long double)c;
	return v >= 18446744073709551615.0L ? UINT64_MAX : (uint64_t)v;
#endif
}

/* Nanoseconds to clock `len` bytes out at `rate_bps`, rounded up. len * 8e9 is at
 * most 5.3e14 for a 65535-byte datagram, far inside 64 bits. */
static tern_time tx_time(size_t len, uint64_t rate_bps)
{
	uint64_t bits_ns = (uint64_t)len * 8u * (uint64_t)TERN_NS_PER_SEC;
	uint64_t t = bits_ns / rate_bps + (bits_ns % rate_bps != 0);
	return (tern_time)t;
}

/* A random draw only for a fault that is switched on, so that enabling one fault
 * on one link does not shift the draws of a run that never uses it. */
static bool roll(struct tern_sim *sim, double p)
{
	return p > 0.0 && tern__prng_chance(&sim->prng, p);
}

static bool params_valid(const struct tern_link_params *p)
{
	if (p->delay < 0 || p->jitter < 0 || p->reorder_delay < 0)
		return false;
	const double probs[] = { p->loss, p->duplicate, p->reorder, p->corrupt };
	for (size_t i = 0; i < TERN_ARRAY_SIZE(probs); i++)
		if (!(probs[i] >= 0.0 && probs[i] <= 1.0))  /* also refuses NaN */
			return false;
	return true;
}

static struct sim_node *node_get(const struct tern_sim *sim, int id)
{
	if (id < 0 || (size_t)id >= sim->nnodes)
		return NULL;
	return sim->nodes[id];
}

/* Direction `dix` (2 * link + dir). */
static inline struct sim_dir *dir_at(const struct tern_sim *sim, uint32_t dix)
{
	return &sim->dirs[dix].d;
}

/* ------------------------------------------------------------------ event heap */

static bool ev_before(const struct sim_event *a, const struct sim_event *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static int heap_push(struct tern_sim *sim, const struct sim_event *ev)
{
	if (grow((void **)&sim->heap, &sim->cap_heap, sim->nheap + 1, sizeof *sim->heap))
		return -TERN_ENOMEM;
	size_t i = sim->nheap++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!ev_before(ev, &sim->heap[parent]))
			break;
		sim->heap[i] = sim->heap[parent];
		i = parent;
	}
	sim->heap[i] = *ev;
	return 0;
}

/* Puts `ev` where the top was, sifting it down to its place. Inline: a delivery
 * makes one, usually a comparison or two. */
SIM_INLINE void heap_replace_top(struct tern_sim *sim, const struct sim_event *ev)
{
	size_t n = sim->nheap, i = 0;
	if (n == 2) {
		/* The usual case, two busy directions: the other entry or this one. */
		struct sim_event *h = sim->heap;
		if (ev_before(&h[1], ev)) {
			h[0] = h[1];
			h[1] = *ev;
		} else {
			h[0] = *ev;
		}
		return;
	}
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= n)
			break;
		if (child + 1 < n && ev_before(&sim->heap[child + 1], &sim->heap[child]))
			child++;
		if (!ev_before(&sim->heap[child], ev))
			break;
		sim->heap[i] = sim->heap[child];
		i = child;
	}
	sim->heap[i] = *ev;
}

/* Drops the top (the caller has copied it). */
static void heap_remove_top(struct tern_sim *sim)
{
	TERN_ASSERT(sim->nheap > 0);
	if (--sim->nheap > 0)
		heap_replace_top(sim, &sim->heap[sim->nheap]);
}

/* A direction's ring: append at the back, take from the front. 0 or -ENOMEM.
 * Called when the ring is full; event_queue appends to one with room itself. */
static int __attribute__((noinline)) ring_push(struct sim_dir *d, const struct sim_event *ev)
{
	if (d->ring_len == d->ring_cap) {
		size_t ncap = d->ring_cap ? d->ring_cap * 2 : SIM_INITIAL_CAP;
		struct sim_event *r = malloc(ncap * sizeof *r);
		if (!r)
			return -TERN_ENOMEM;
		/* Every slot of a ring holds an in-order event of this direction, so
		 * each slot's dix and fifo are written here once, and emit_fast
		 * leaves them be (what else writes a slot writes the same). */
		for (size_t i = 0; i < ncap; i++) {
			r[i].dix = d->dix;
			r[i].fifo = true;
		}
		for (size_t i = 0; i < d->ring_len; i++)
			r[i] = d->ring[(d->ring_head + i) & (d->ring_cap - 1)];
		free(d->ring);
		d->ring = r;
		d->ring_cap = ncap;
		d->ring_mask = ncap - 1;
		d->ring_head = 0;
	}
	d->ring[(d->ring_head + d->ring_len) & (d->ring_cap - 1)] = *ev;
	d->ring_len++;
	return 0;
}

/* event_queue for an event that goes into the heap. */
static int __attribute__((noinline)) event_queue_heap(struct tern_sim *sim, struct sim_dir *d,
						      const struct sim_event *ev)
{
	int err = heap_push(sim, ev);
	if (err == 0 && ev->fifo) {
		d->head_in_heap = true;
		d->fast = d->ideal;
	}
	return err;
}

/* Queues an event: a held-back one straight into the heap; an in-order one into
 * the heap when its direction has nothing there, else behind the others. Inline
 * with its usual case, a ring with room, written in place. 0 or -ENOMEM. */
static inline int event_queue(struct tern_sim *sim, struct sim_dir *d, const struct sim_event *ev)
{
	if (!ev->fifo || !d->head_in_heap)
		return event_queue_heap(sim, d, ev);
	if (d->ring_len == d->ring_cap)
		return ring_push(d, ev);
	d->ring[(d->ring_head + d->ring_len) & (d->ring_cap - 1)] = *ev;
	d->ring_len++;
	return 0;
}

/* Takes the next due event out of the heap, leaving its bytes in *buf and *len
 * and its direction in *d; the direction's next in-order datagram takes its
 * place. Keys (time, sequence) are unique, so which heap operations get there
 * does not change the order: taking the place is one sift down instead of a pop
 * and a push, and with a few busy directions that is a comparison or two. The
 * top is read in place, not copied. */
SIM_INLINE void event_take(struct tern_sim *sim, uint8_t **buf, size_t *len, struct sim_dir **d)
{
	TERN_ASSERT(sim->nheap > 0);
	const struct sim_event *top = &sim->heap[0];
	struct sim_dir *dd = dir_at(sim, top->dix);
	*buf = top->buf;
	*len = top->len;
	*d = dd;
	if (top->fifo) {
		size_t head = dd->ring_head;
		if (dd->ring_len > 0) {
			dd->ring_head = (head + 1) & dd->ring_mask;
			dd->ring_len--;
			heap_replace_top(sim, &dd->ring[head]);
			/* The next datagram's first line, asked for while this one is
			 * handled: with hundreds in flight it has left L1 since it was
			 * sent, and its header is the first thing the receiving stack
			 * reads. The heap is not empty here. */
			__builtin_prefetch(sim->heap[0].buf);
			return;
		}
		dd->head_in_heap = false;
		dd->fast = false;
	}
	heap_remove_top(sim);
	if (sim->nheap > 0)
		__builtin_prefetch(sim->heap[0].buf);
}

/* ------------------------------------------------------------------ buffers */

static struct tern_pool *pool_for(struct tern_sim *sim, size_t len)
{
	if (len <= SIM_TINY_BUF)
		return &sim->tiny_pool;
	return len <= SIM_SMALL_BUF ? &sim->small_pool : &sim->large_pool;
}

/* A buffer for a datagram of `len` bytes (contents undefined), or NULL when
 * memory ran out. A tiny one comes from the free list in front of its pool first,
 * so the pool grows exactly when no tiny buffer is free at all. */
SIM_INLINE uint8_t *buf_get(struct tern_sim *sim, size_t len)
{
	if (len <= SIM_TINY_BUF && sim->tiny_free) {
		uint8_t *buf = sim->tiny_free;
		sim->tiny_free = *(void **)buf;
		return buf;
	}
	return tern__pool_get(pool_for(sim, len));
}

/* Gives back a buffer from buf_get. */
SIM_INLINE void buf_put(struct tern_sim *sim, uint8_t *buf, size_t len)
{
	if (len <= SIM_TINY_BUF) {
		*(void **)buf = sim->tiny_free;
		sim->tiny_free = buf;
		return;
	}
	tern__pool_put(pool_for(sim, len), buf);
}

/* Copies a datagram into a pool buffer. A header-only datagram (the usual case,
 * 20 to 64 bytes) is moved as two overlapping fixed-size blocks, which the
 * compiler does in a few registers, instead of a call into the C library. */
static inline void dgram_copy(uint8_t *restrict dst, const uint8_t *restrict src, size_t len)
{
	if (len > 64) {
		memcpy(dst, src, len);
	} else if (len >= 32) {
		memcpy(dst, src, 32);
		memcpy(dst + len - 32, src + len - 32, 32);
	} else {
		memcpy(dst, src, 16);  /* len >= SIM_MIN_DGRAM */
		memcpy(dst + len - 16, src + len - 16, 16);
	}
}

/* Queues one copy of `pkt` for delivery at `at` on direction `d`. False when
 * memory ran out. Inline: it is most of the work of an ideal wire's send. */
SIM_INLINE bool enqueue_copy(struct tern_sim *sim, struct sim_dir *d, tern_time at, bool in_order,
			     const uint8_t *pkt, size_t len, bool flip, uint64_t bit)
{
	uint8_t *buf = buf_get(sim, len);
	if (!buf)
		return false;
	dgram_copy(buf, pkt, len);
	if (flip)
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	struct sim_event ev = {
		.at = at, .seq = sim->next_seq++, .buf = buf, .dix = d->dix,
		.len = (uint16_t)len, .fifo = in_order,
	};
	if (event_queue(sim, d, &ev) != 0) {
		buf_put(sim, buf, len);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ links */

static void tap_record(struct sim_link *l, enum tern_sim_tap_point at, tern_time now,
		       const uint8_t *pkt, size_t len)
{
	/* A failing tap never disturbs the simulation; the writer keeps its first
	 * error, and the capture simply stops growing. */
	for (struct sim_tap *t = l->taps; t; t = t->next) {
		if (t->at != at)
			continue;
		if (t->fn)
			t->fn(t->ctx, now, pkt, len);
		else
			(void)tern_pcap_write(t->w, now, pkt, len);
	}
}

/* Steps 2 to 7 of the file comment for a direction with faults enabled. Out of
 * line, so that the ideal wire's path stays short. */
static void __attribute__((noinline)) link_enter_faults(struct tern_sim *sim, int link, int dir,
							 const uint8_t *pkt, size_t len)
{
	struct sim_dir *d = dir_at(sim, 2u * (uint32_t)link + (uint32_t)dir);
	const struct tern_link_params *p = &d->p;
	tern_time now = sim->now;

	if (roll(sim, p->loss)) {
		d->stats.lost++;
		return;
	}

	tern_time departure = now;
	if (p->rate_bps > 0) {
		uint64_t backlog = 0;
		if (d->busy_until > now)
			backlog = muldiv((uint64_t)(d->busy_until - now), p->rate_bps,
					 8u * (uint64_t)TERN_NS_PER_SEC);
		if (p->queue_bytes > 0 && (backlog > p->queue_bytes ||
					   len > p->queue_bytes - backlog)) {
			d->stats.queue_drops++;
			return;
		}
		departure = time_add(TERN_MAX(now, d->busy_until), tx_time(len, p->rate_bps));
		d->busy_until = departure;
	}

	tern_time arrival = time_add(departure, p->delay);
	if (p->jitter > 0)
		arrival = time_add(arrival, (tern_time)tern__prng_below(&sim->prng,
								       (uint64_t)p->jitter + 1));
	if (arrival < d->last_arrival)
		arrival = d->last_arrival;
	bool in_order = true;
	if (roll(sim, p->reorder)) {
		in_order = false;
		tern_time hold = p->reorder_delay ? p->reorder_delay
						  : TERN_MAX(p->delay, SIM_DEFAULT_REORDER_NS);
		arrival = time_add(arrival, hold);
		d->stats.reordered++;
	} else {
		d->last_arrival = arrival;
	}

	bool dup = roll(sim, p->duplicate);
	bool flip = roll(sim, p->corrupt);
	uint64_t bit = flip ? tern__prng_below(&sim->prng, (uint64_t)len * 8u) : 0;
	if (flip)
		d->stats.corrupted++;

	/* Out of memory for the copy: a drop like a full queue (DESIGN.md §5). */
	if (!enqueue_copy(sim, d, arrival, in_order, pkt, len, flip, bit)) {
		d->stats.queue_drops++;
		return;
	}
	if (dup) {
		if (enqueue_copy(sim, d, arrival, in_order, pkt, len, flip, bit))
			d->stats.duplicated++;
		else
			d->stats.queue_drops++;
	}
}

/* One datagram enters direction `dir` of `link` at the current time: the model in
 * the file comment, steps 1 to 7. */
SIM_INLINE void link_enter(struct tern_sim *sim, int link, int dir, const uint8_t *pkt, size_t len)
{
	struct sim_link *l = &sim->links[link];
	struct sim_dir *d = dir_at(sim, 2u * (uint32_t)link + (uint32_t)dir);

	d->stats.sent++;
	if (l->taps)
		tap_record(l, TERN_SIM_TAP_SEND, sim->now, pkt, len);

	if (d->faults) {
		link_enter_faults(sim, link, dir, pkt, len);
		return;
	}
	/* An ideal wire: only the delay, and no random draw (as roll() would make
	 * none). */
	tern_time arrival = TERN_MAX(time_add(sim->now, d->p.delay), d->last_arrival);
	d->last_arrival = arrival;
	if (!enqueue_copy(sim, d, arrival, true, pkt, len, false, 0))
		d->stats.queue_drops++;
}

/* Whether node `n` owns the IPv4 address `dst` (host order). */
static bool node_owns(const struct sim_node *n, uint32_t dst)
{
	return n->addr.family == TERN_AF_INET && n->addr.u.v4 == dst;
}

/* Sends a datagram from node `n`: the link whose far end owns the destination,
 * else the node's first link. 0, or -ENETUNREACH (counted) without any link (a
 * remembered route implies a link: links are never taken away). */
/* Finds and remembers node `n`'s route to `dst`. Out of line: most datagrams go
 * where the node's last one went. */
static int __attribute__((noinline)) node_route(struct tern_sim *sim, struct sim_node *n, uint32_t raw_dst)
{
	uint32_t dst = tern_get32((const uint8_t *)&raw_dst);
	if (n->nlinks == 0) {
		sim->unroutable++;
		return -TERN_ENETUNREACH;
	}
	int link = n->links[0];
	for (size_t i = 0; i < n->nlinks; i++) {
		const struct sim_link *l = &sim->links[n->links[i]];
		int far = l->node[0] == n->id ? l->node[1] : l->node[0];
		if (node_owns(sim->nodes[far], dst)) {
			link = n->links[i];
			break;
		}
	}
	n->route_link = link;
	n->route_dir = sim->links[link].node[0] == n->id ? 0 : 1;
	n->route_dst = raw_dst;
	n->route_d = dir_at(sim, 2u * (uint32_t)link + (uint32_t)n->route_dir);
	return 0;
}

SIM_INLINE int node_send(struct tern_sim *sim, struct sim_node *n, const uint8_t *pkt, size_t len)
{
	uint32_t dst;
	memcpy(&dst, pkt + 16, sizeof dst);  /* as the bytes lie: see route_dst */
	if (n->route_link < 0 || n->route_dst != dst) {
		int err = node_route(sim, n, dst);
		if (err)
			return err;
	}
	link_enter(sim, n->route_link, n->route_dir, pkt, len);
	return 0;
}

static void stack_emit_slow(struct tern_sim *sim, struct sim_node *n, const uint8_t *pkt, size_t len);

/* The usual datagram, sent with no call: header-sized (at most 64 bytes), to the
 * node's last destination, over a fault-free direction without taps whose ring
 * has room behind a head already in the heap, with a tiny buffer ready on the
 * free list. Everything is tested before anything changes, and then it
 * does what link_enter would (the same counter, arrival floor, sequence number
 * and ring append); anything else is left to the general path. Being free of
 * calls, it needs no saved registers. */
SIM_INLINE bool emit_fast(struct tern_sim *sim, struct sim_node *n, const uint8_t *pkt, size_t len)
{
	struct sim_dir *d = n->route_d;  /* never NULL: see sim_no_route */
	uint32_t dst;
	memcpy(&dst, pkt + 16, sizeof dst);
	if (len > 64 || len < SIM_MIN_DGRAM || n->route_dst != dst)
		return false;
	/* The ring's fields are read again after the copy: its byte stores could
	 * alias them. */
	if (!d->fast)
		return false;
	uint8_t *buf = sim->tiny_free;
	if (!buf)
		return false;
	size_t ring_len = d->ring_len;
	if (ring_len == d->ring_cap)
		return false;
	/* now + delay past the end of time (TERN_TIME_NEVER - 1) saturates: the
	 * general path's business. now + delay + 1 has its top bit set exactly
	 * then (now and delay are below 2^63, so it does not wrap). */
	uint64_t at1 = (uint64_t)sim->now + d->delay1;
	if ((int64_t)at1 < 0)
		return false;
	uint64_t at = at1 - 1;
	void *next_free = *(void **)buf;
	sim->tiny_free = next_free;
	/* The next get's buffer, brought in for writing (as tern__pool_get does). */
	__builtin_prefetch(next_free, 1);
	/* The copy first, while few registers are live; what it might alias is read
	 * after it. */
	dgram_copy(buf, pkt, len);
	ring_len = d->ring_len;
	struct sim_event *ev = &d->ring[(d->ring_head + ring_len) & d->ring_mask];
	/* No floor to apply: a fast direction is ideal, so every arrival it was
	 * given was the clock then plus this same delay (or the end of time, after
	 * which `at` is past it too), and the clock never goes back. */
	tern_time arrival = (tern_time)at;
	TERN_ASSERT(d->last_arrival <= arrival);
	uint64_t seq = sim->next_seq;
	sim->next_seq = seq + 1;
	d->stats.sent++;
	d->last_arrival = arrival;
	d->ring_len = ring_len + 1;
	/* The slot's dix and fifo already read this direction and true (ring_push). */
	ev->at = arrival;
	ev->seq = seq;
	ev->buf = buf;
	ev->len = (uint16_t)len;
	return true;
}

/* The emit callback of every simulated stack: its node is the context. */
static void stack_emit(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	(void)now;  /* datagrams enter links at the simulation's time */
	struct sim_node *n = ctx;
	struct tern_sim *sim = n->sim;
	/* Closing: every route_d is sim_no_route, and the general path drops. */
	if (pkt && emit_fast(sim, n, pkt, len))
		return;
	stack_emit_slow(sim, n, pkt, len);
}

static void __attribute__((noinline)) stack_emit_slow(struct tern_sim *sim, struct sim_node *n, const uint8_t *pkt,
						      size_t len)
{
	if (sim->closing)
		return;
	if (!pkt || len < SIM_MIN_DGRAM || len > SIM_MAX_DGRAM) {
		sim->unroutable++;
		return;
	}
	(void)node_send(sim, n, pkt, len);
}

/* deliver's other cases: a tapped link, or a raw endpoint at the far end. */
static void __attribute__((noinline)) deliver_slow(struct tern_sim *sim, struct sim_dir *d, uint8_t *buf,
						   size_t len)
{
	struct sim_node *to = d->to;
	unsigned flags = d->in_flags;
	tern_time now = sim->now;

	if (d->tapped)
		tap_record(&sim->links[d->dix / 2], TERN_SIM_TAP_RECV, now, buf, len);

	if (to->stack)
		tern_stack_input_flags(to->stack, now, buf, len, flags);
	else if (to->rx)
		to->rx(to->rx_ctx, sim, to->id, now, buf, len);
}

/* Hands one due datagram, `len` bytes in `buf`, taken from direction `d`, to the
 * far node. The direction is finished with before the node runs:
 * the node may add links (moving the table) or inject. */
SIM_INLINE void deliver(struct tern_sim *sim, struct sim_dir *d, uint8_t *buf, size_t len)
{
	struct tern_stack *st = d->plain_stack;
	unsigned flags = d->in_flags;

	d->stats.delivered++;
	d->stats.bytes_delivered += len;
	if (st)
		tern_stack_input_flags(st, sim->now, buf, len, flags);
	else
		deliver_slow(sim, d, buf, len);
	buf_put(sim, buf, len);
}

/* ------------------------------------------------------------------ public API */

int tern_sim_create(uint64_t seed, struct tern_sim **out)
{
	if (!out)
		return -TERN_EINVAL;
	*out = NULL;
	struct tern_sim *sim = calloc(1, sizeof *sim);
	if (!sim)
		return -TERN_ENOMEM;
	tern__prng_seed(&sim->prng, seed);
	tern__pool_init(&sim->tiny_pool, SIM_TINY_BUF, 0, 0);
	tern__pool_init(&sim->small_pool, SIM_SMALL_BUF, 0, 0);
	tern__pool_init(&sim->large_pool, SIM_LARGE_BUF, SIM_LARGE_PER_CHUNK, 0);
	*out = sim;
	return 0;
}

void tern_sim_destroy(struct tern_sim *sim)
{
	if (!sim)
		return;
	sim->closing = true;
	/* Every node's datagrams to the general path, which drops them. */
	for (size_t i = 0; i < sim->nnodes; i++) {
		sim->nodes[i]->route_link = -1;
		sim->nodes[i]->route_d = SIM_NO_ROUTE;
	}
	for (size_t i = 0; i < sim->nnodes; i++) {
		struct sim_node *n = sim->nodes[i];
		if (n->stack)
			tern_stack_destroy(n->stack);
		free(n->links);
		free(n);
	}
	for (size_t i = 0; i < sim->nlinks; i++) {
		struct sim_tap *t = sim->links[i].taps;
		while (t) {
			struct sim_tap *next = t->next;
			if (t->w)
				(void)tern_pcap_close(t->w);
			free(t);
			t = next;
		}
		free(sim->dirs[2 * i].d.ring);
		free(sim->dirs[2 * i + 1].d.ring);
	}
	free(sim->nodes);
	free(sim->links);
	free(sim->dirs);
	free(sim->heap);  /* in-flight bytes go with the pools */
	tern__pool_destroy(&sim->tiny_pool);
	tern__pool_destroy(&sim->small_pool);
	tern__pool_destroy(&sim->large_pool);
	free(sim);
}

/* Appends a fresh node; the caller fills in what kind it is. */
static int node_new(struct tern_sim *sim, struct sim_node **out)
{
	if (sim->nnodes >= INT_MAX)
		return -TERN_ENOSPC;
	if (grow((void **)&sim->nodes, &sim->cap_nodes, sim->nnodes + 1, sizeof *sim->nodes))
		return -TERN_ENOMEM;
	struct sim_node *n = calloc(1, sizeof *n);
	if (!n)
		return -TERN_ENOMEM;
	n->sim = sim;
	n->id = (int)sim->nnodes;
	n->route_link = -1;
	n->route_d = SIM_NO_ROUTE;
	*out = n;
	return 0;
}

int tern_sim_add_stack(struct tern_sim *sim, const struct tern_stack_config *cfg,
		       struct tern_stack **out)
{
	if (!sim || !cfg)
		return -TERN_EINVAL;
	struct sim_node *n;
	int rc = node_new(sim, &n);
	if (rc)
		return rc;
	struct tern_stack_config c = *cfg;
	c.emit = stack_emit;
	c.emit_ctx = n;
	c.now = sim->now;
	rc = tern_stack_create(&c, &n->stack);
	if (rc) {
		free(n);
		return rc;
	}
	n->csum_offload = cfg->tx_csum_offload;
	n->addr = tern_stack_addr(n->stack);
	sim->nodes[sim->nnodes++] = n;
	if (out)
		*out = n->stack;
	return n->id;
}

int tern_sim_add_endpoint(struct tern_sim *sim, const struct tern_addr *addr,
			  tern_sim_rx_fn rx, void *ctx)
{
	if (!sim || !addr || addr->family != TERN_AF_INET)
		return -TERN_EINVAL;
	struct sim_node *n;
	int rc = node_new(sim, &n);
	if (rc)
		return rc;
	n->addr = *addr;
	n->rx = rx;
	n->rx_ctx = ctx;
	sim->nodes[sim->nnodes++] = n;
	return n->id;
}

/* Points every remembered route's direction into sim->dirs again, after it
 * moved. */
static void routes_repoint(struct tern_sim *sim)
{
	for (size_t i = 0; i < sim->nnodes; i++) {
		struct sim_node *n = sim->nodes[i];
		if (n->route_link >= 0)
			n->route_d = dir_at(sim, 2u * (uint32_t)n->route_link + (uint32_t)n->route_dir);
	}
}

static int node_add_link(struct sim_node *n, int link)
{
	if (grow((void **)&n->links, &n->cap_links, n->nlinks + 1, sizeof *n->links))
		return -TERN_ENOMEM;
	n->links[n->nlinks++] = link;
	n->route_link = -1;
	n->route_d = SIM_NO_ROUTE;
	return 0;
}

int tern_sim_link(struct tern_sim *sim, int a, int b, const struct tern_link_params *ab,
		  const struct tern_link_params *ba)
{
	if (!sim)
		return -TERN_EINVAL;
	struct sim_node *na = node_get(sim, a), *nb = node_get(sim, b);
	if (!na || !nb || a == b)
		return -TERN_EINVAL;
	if ((ab && !params_valid(ab)) || (ba && !params_valid(ba)))
		return -TERN_EINVAL;
	if (sim->nlinks >= INT_MAX)
		return -TERN_ENOSPC;
	if (grow((void **)&sim->links, &sim->cap_links, sim->nlinks + 1, sizeof *sim->links))
		return -TERN_ENOMEM;
	union sim_dir_slot *old_dirs = sim->dirs;
	if (grow((void **)&sim->dirs, &sim->cap_dirs, 2 * (sim->nlinks + 1), sizeof *sim->dirs))
		return -TERN_ENOMEM;
	if (sim->dirs != old_dirs)
		routes_repoint(sim);
	/* Reserve both nodes' slots before changing anything, so a failure leaves no
	 * half-made link behind. */
	if (grow((void **)&na->links, &na->cap_links, na->nlinks + 1, sizeof *na->links) ||
	    grow((void **)&nb->links, &nb->cap_links, nb->nlinks + 1, sizeof *nb->links))
		return -TERN_ENOMEM;

	int id = (int)sim->nlinks++;
	struct sim_link *l = &sim->links[id];
	memset(l, 0, sizeof *l);
	l->node[0] = a;
	l->node[1] = b;
	struct sim_dir *dirs[2] = { dir_at(sim, 2u * (uint32_t)id), dir_at(sim, 2u * (uint32_t)id + 1) };
	for (int i = 0; i < 2; i++) {
		memset(&sim->dirs[2 * (size_t)id + (size_t)i], 0, sizeof *sim->dirs);
		dirs[i]->dix = 2u * (uint32_t)id + (uint32_t)i;
	}
	if (ab)
		dirs[0]->p = *ab;
	if (ba)
		dirs[1]->p = *ba;
	for (int i = 0; i < 2; i++) {
		const struct tern_link_params *p = &dirs[i]->p;
		dirs[i]->delay1 = (uint64_t)p->delay + 1u;
		const struct sim_node *from = i == 0 ? na : nb;
		dirs[i]->faults = p->loss > 0.0 || p->rate_bps > 0 || p->jitter > 0 || p->reorder > 0.0 ||
				   p->duplicate > 0.0 || p->corrupt > 0.0;
		dirs[i]->ideal = !dirs[i]->faults;  /* a new link has no taps */
		dirs[i]->to = i == 0 ? nb : na;
		dirs[i]->plain_stack = dirs[i]->to->stack;  /* a new link has no taps */
		dirs[i]->in_flags = from->csum_offload ? TERN_INPUT_CSUM_OK : 0;
	}
	(void)node_add_link(na, id);
	(void)node_add_link(nb, id);
	return id;
}

static void tap_append(struct tern_sim *sim, int link, struct sim_tap *t)
{
	/* Append, so that taps record in the order they were opened. */
	struct sim_tap **tail = &sim->links[link].taps;
	while (*tail)
		tail = &(*tail)->next;
	*tail = t;
	for (uint32_t i = 0; i < 2; i++) {
		struct sim_dir *d = dir_at(sim, 2u * (uint32_t)link + i);
		d->tapped = true;
		d->plain_stack = NULL;
		d->ideal = false;
		d->fast = false;
	}
}

static bool tap_args_ok(const struct tern_sim *sim, int link, enum tern_sim_tap_point at)
{
	return sim && link >= 0 && (size_t)link < sim->nlinks && (at == TERN_SIM_TAP_SEND || at == TERN_SIM_TAP_RECV);
}

int tern_sim_tap(struct tern_sim *sim, int link, const char *path, enum tern_sim_tap_point at)
{
	if (!path || !tap_args_ok(sim, link, at))
		return -TERN_EINVAL;
	struct sim_tap *t = calloc(1, sizeof *t);
	if (!t)
		return -TERN_ENOMEM;
	int rc = tern_pcap_open(path, &t->w);
	if (rc) {
		free(t);
		return rc;
	}
	t->at = at;
	tap_append(sim, link, t);
	return 0;
}

int tern_sim_watch(struct tern_sim *sim, int link, enum tern_sim_tap_point at, tern_sim_watch_fn fn, void *ctx)
{
	if (!fn || !tap_args_ok(sim, link, at))
		return -TERN_EINVAL;
	struct sim_tap *t = calloc(1, sizeof *t);
	if (!t)
		return -TERN_ENOMEM;
	t->fn = fn;
	t->ctx = ctx;
	t->at = at;
	tap_append(sim, link, t);
	return 0;
}

int tern_sim_inject(struct tern_sim *sim, int node, const void *pkt, size_t len)
{
	if (!sim)
		return -TERN_EINVAL;
	struct sim_node *n = node_get(sim, node);
	if (!n || n->stack || !pkt || len < SIM_MIN_DGRAM || len > SIM_MAX_DGRAM)
		return -TERN_EINVAL;
	return node_send(sim, n, pkt, len);
}

tern_time tern_sim_now(const struct tern_sim *sim)
{
	return sim ? sim->now : 0;
}

tern_time tern_sim_next_event(const struct tern_sim *sim)
{
	if (!sim)
		return TERN_TIME_NEVER;
	tern_time t = sim->nheap ? sim->heap[0].at : TERN_TIME_NEVER;
	for (size_t i = 0; i < sim->nnodes; i++) {
		const struct sim_node *n = sim->nodes[i];
		if (n->stack) {
			tern_time dl = tern_stack_next_deadline(n->stack);
			if (dl < t)
				t = dl;
		}
	}
	/* A deadline already passed (a stack may report early) is due now: time
	 * never runs backwards. */
	if (t < sim->now)
		t = sim->now;
	return t;
}

/*
 * One instant of the simulation. Deliveries due now go first, in (time, sequence)
 * order; a datagram sent during this step for this very instant (an ideal wire) is
 * left for the next step at the same time, so one step always ends. Then every
 * stack whose deadline has come runs its timers, in node order.
 */
bool tern_sim_step(struct tern_sim *sim, tern_time limit)
{
	if (!sim || sim->in_step)
		return false;
	tern_time t = tern_sim_next_event(sim);
	if (t == TERN_TIME_NEVER || t > limit)
		return false;

	sim->in_step = true;
	sim->now = t;
	uint64_t seq_end = sim->next_seq;
	while (sim->nheap > 0 && sim->heap[0].at <= t && sim->heap[0].seq < seq_end) {
		uint8_t *buf;
		size_t len;
		struct sim_dir *d;
		event_take(sim, &buf, &len, &d);  /* prefetches the next one's bytes */
		deliver(sim, d, buf, len);
	}
	for (size_t i = 0; i < sim->nnodes; i++) {
		struct tern_stack *st = sim->nodes[i]->stack;
		if (st && tern_stack_next_deadline(st) <= t)
			tern_stack_advance(st, t);
	}
	sim->in_step = false;
	return true;
}

/*
 * Steps through every event up to `t`, then sets the clock to `t`. Stacks are not
 * advanced to `t` themselves: none has a timer due, and every stack entry point
 * takes the time, so a stack's clock catches up at its next call.
 */
void tern_sim_run_until(struct tern_sim *sim, tern_time t)
{
	if (!sim || sim->in_step)
		return;
	while (tern_sim_step(sim, t))
		;
	if (t > sim->now)
		sim->now = t;
}

void tern_sim_link_stats(const struct tern_sim *sim, int link, int dir, struct tern_link_stats *out)
{
	if (!out)
		return;
	if (!sim || link < 0 || (size_t)link >= sim->nlinks || dir < 0 || dir > 1) {
		memset(out, 0, sizeof *out);
		return;
	}
	*out = dir_at(sim, 2u * (uint32_t)link + (uint32_t)dir)->stats;
}

struct tern_stack *tern_sim_stack(const struct tern_sim *sim, int node)
{
	if (!sim)
		return NULL;
	const struct sim_node *n = node_get(sim, node);
	return n ? n->stack : NULL;
}

uint64_t tern_sim_unroutable(const struct tern_sim *sim)
{
	return sim ? sim->unroutable : 0;
}
