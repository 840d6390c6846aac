/*
 * core/timer.h: the stack's one timer structure, a hierarchical timing wheel.
 *
 * Arming, re-arming and cancelling are O(1); expiry is O(1) per timer plus at most
 * one cascade per timer per level, so no operation's cost grows with the number of
 * pending timers (DESIGN.md §1: no periodic scans). The tick is 1 ms: a deadline is
 * rounded up to the next tick, so a timer never fires early.
 *
 * Layout: TERN_WHEEL_LEVELS levels of 64 slots. Level L's slots are 64^L ticks wide,
 * so the wheel spans 64^6 ticks (about 2.2 years at 1 ms); later deadlines are held
 * at the horizon and re-filed as time approaches. A timer whose deadline agrees with
 * the current tick in every digit above level L (base 64) lives at level L, in the
 * slot given by its level-L digit. When time reaches the start of an upper slot's
 * span, its timers are re-filed at lower levels ("cascade"). A 64-bit occupancy map
 * per level finds the next non-empty slot with one count-trailing-zeros.
 *
 * The wheel knows nothing of the stack: the owner passes a context pointer to
 * tern__timers_run, and each timer carries its callback. Embed struct tern_timer in
 * the object it times and recover the object with TERN_CONTAINER_OF.
 */
#ifndef TERN_CORE_TIMER_H
#define TERN_CORE_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/types.h"

#define TERN_TIMER_TICK_NS TERN_NS_PER_MS
#define TERN_WHEEL_BITS 6
#define TERN_WHEEL_SLOTS (1u << TERN_WHEEL_BITS)
#define TERN_WHEEL_LEVELS 6

struct tern_timer;
typedef void (*tern_timer_fn)(void *ctx, struct tern_timer *t);

/* 32 bytes. A zeroed timer is not pending (cancel and pending are safe on it), but
 * it has no callback: tern__timer_init it before it is first armed. */
struct tern_timer {
	struct tern_timer *next;
	struct tern_timer **pprev;   /* NULL when not pending */
	uint64_t expires;            /* tick at which it fires */
	tern_timer_fn fn;
};

struct tern_timer_slot {
	struct tern_timer *head;
};

/* Work counters: lets tests prove costs without timing anything. */
struct tern_timer_work {
	uint64_t armed;       /* tern__timer_arm calls */
	uint64_t cancelled;   /* cancels of pending timers */
	uint64_t fired;       /* callbacks run */
	uint64_t cascaded;    /* timers re-filed by a cascade (to a lower level, or to the
	                       * top level again when the deadline is past the horizon) */
	uint64_t steps;       /* stops made by tern__timers_run: one on entry, then one per
	                       * tick at which a slot had to cascade or fire */
	uint64_t walked;      /* list links followed while taking a slot apart (cascade or
	                       * fire); arming and cancelling never walk a list */
};

struct tern_timers {
	uint64_t now;                   /* current tick */
	uint64_t pending;               /* timers armed and not yet fired or cancelled */
	uint64_t occupied[TERN_WHEEL_LEVELS];
	struct tern_timer_slot slots[TERN_WHEEL_LEVELS][TERN_WHEEL_SLOTS];
	struct tern_timer_work work;
};

/* Starts an empty wheel at `now`. */
void tern__timers_init(struct tern_timers *w, tern_time now);

/* Prepares a timer with its callback; it is not pending. */
void tern__timer_init(struct tern_timer *t, tern_timer_fn fn);

/* Arms (or re-arms) `t` to fire at `when` (ns). A deadline at or before the wheel's
 * current time fires at the next tern__timers_run. */
void tern__timer_arm(struct tern_timers *w, struct tern_timer *t, tern_time when);

/* tern__timer_arm with the deadline already a tick (tern__timer_tick_ceil's):
 * for owners that keep their deadlines in ticks. */
void tern__timer_arm_tick(struct tern_timers *w, struct tern_timer *t, uint64_t tick);

/* ------------------------------------------------------------ filing, inline
 * The wheel's placement rule (timer.c's header comment) and its list operations,
 * here so that an owner's hot arming or cancel can take them without a call. */

/* Level of the highest bit in which a deadline differs from now (timer.c). */
extern const uint8_t tern__timer_level_of_bit[64];

/* Files `t` (not on any list) by its expiry: a due timer in level 0 at now's
 * digit, else at the level of the highest digit in which it differs from now. */
static inline void tern__timer_file(struct tern_timers *w, struct tern_timer *t)
{
	uint64_t expires = t->expires, now = w->now;
	unsigned level = 0, s = (unsigned)(now & (TERN_WHEEL_SLOTS - 1));

	if (expires > now) {
		level = tern__timer_level_of_bit[63u - (unsigned)__builtin_clzll(expires ^ now)];
		s = (unsigned)(expires >> (level * TERN_WHEEL_BITS) & (TERN_WHEEL_SLOTS - 1));
	}
	/* The slot as one index into the levels' rows laid end to end (the layout
	 * timer.c's unlink reads back from a slot's address). */
	struct tern_timer_slot *slot = &w->slots[0][0] + (size_t)level * TERN_WHEEL_SLOTS + s;
	struct tern_timer **head = &slot->head;
	struct tern_timer *first = *head;
	t->next = first;
	t->pprev = head;
	*head = t;
	if (first)
		first->pprev = &t->next;
	w->occupied[level] |= (uint64_t)1 << s;
}

/* tern__timer_arm_tick for a timer its owner knows is not pending (it cancels
 * it whenever it has no deadline left): no re-arm's unlink to test for. Inline
 * for the owner's hot arming; the others call tern__timer_arm_tick. */
static inline void tern__timer_add_tick(struct tern_timers *w, struct tern_timer *t, uint64_t tick)
{
	w->pending++;
	t->expires = tick;
	tern__timer_file(w, t);
	w->work.armed++;
}

/* Takes a pending `t` off its list (timer.c's timer_unlink says how the slot's
 * occupancy bit is found). */
static inline void tern__timer_unlink(struct tern_timers *w, struct tern_timer *t)
{
	struct tern_timer **pprev = t->pprev;
	struct tern_timer *next = t->next;

	*pprev = next;
	if (next) {
		next->pprev = pprev;
	} else {
		uintptr_t off = (uintptr_t)pprev - (uintptr_t)&w->slots[0][0];
		if (off < sizeof(w->slots)) {
			size_t i = off / sizeof(struct tern_timer_slot);
			w->occupied[i / TERN_WHEEL_SLOTS] &= ~((uint64_t)1 << (i % TERN_WHEEL_SLOTS));
		}
	}
	t->next = NULL;
	t->pprev = NULL;
}

/* tern__timer_cancel for a timer its owner knows is pending. */
static inline void tern__timer_del(struct tern_timers *w, struct tern_timer *t)
{
	tern__timer_unlink(w, t);
	w->pending--;
	w->work.cancelled++;
}

/* Disarms `t` if pending; harmless otherwise. */
void tern__timer_cancel(struct tern_timers *w, struct tern_timer *t);

static inline bool tern__timer_pending(const struct tern_timer *t) { return t->pprev != 0; }

/* The deadline (ns, rounded up to the tick) of a pending timer. */
tern_time tern__timer_expiry(const struct tern_timer *t);

/* The tick a pending timer fires at. */
static inline uint64_t tern__timer_expiry_tick(const struct tern_timer *t) { return t->expires; }

/* The tick a deadline of `when` ns fires at: rounded up, so never early; times
 * before zero are long past (tick 0). A timer armed for tern__timer_tick_ns(k)
 * fires at tick k exactly. */
static inline uint64_t tern__timer_tick_ceil(tern_time when)
{
	if (when <= 0)
		return 0;
	/* Unsigned, as `when` is positive here: one multiply by the reciprocal, where
	 * the signed quotient and remainder took two and their sign fix-ups. The sum
	 * stays below 2^63 + 10^6, so it cannot wrap. */
	return ((uint64_t)when + (TERN_TIMER_TICK_NS - 1)) / TERN_TIMER_TICK_NS;
}

static inline tern_time tern__timer_tick_ns(uint64_t tick)
{
	return (tern_time)tick * TERN_TIMER_TICK_NS;
}

/* Advances the wheel to `now` and fires, in deadline order, every timer due by then.
 * Timers with equal deadlines fire in the order they were armed. A callback may arm
 * or cancel any timer, itself included; timers it arms for times <= now fire in the
 * same call. `now` must not be earlier than the last call's. */
/* Out of line (LTO would pull it into the inline fast path's callers). */
void __attribute__((noinline)) tern__timers_advance(struct tern_timers *w, tern_time now, void *ctx);
/* Inline for the common case, which is how most packets find the wheel: still
 * within the current tick, with nothing due in it (no slot's span starts before
 * the next tick, so there is nothing to fire or cascade). tern__timers_advance
 * does the rest. tern__timers_run_tick takes the tick of `now` (now >= 0) from a
 * caller that has it already. */
static inline void tern__timers_run_tick(struct tern_timers *w, tern_time now, uint64_t tick, void *ctx)
{
	if (tick == w->now && !(w->occupied[0] & (uint64_t)1 << (w->now & (TERN_WHEEL_SLOTS - 1)))) {
		w->work.steps++;
		return;
	}
	tern__timers_advance(w, now, ctx);
}

static inline void tern__timers_run(struct tern_timers *w, tern_time now, void *ctx)
{
	if (now < 0) {
		tern__timers_advance(w, now, ctx);
		return;
	}
	tern__timers_run_tick(w, now, (uint64_t)(now / TERN_TIMER_TICK_NS), ctx);
}

/* The earliest time (ns) at which tern__timers_run has work: a deadline, or the start
 * of a slot that must cascade (so it may be early, never late). TERN_TIME_NEVER if no
 * timer is pending. */
tern_time tern__timers_next(const struct tern_timers *w);

#endif
