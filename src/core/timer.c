/*
 * core/timer.c: the hierarchical timing wheel declared in core/timer.h.
 *
 * Where a timer lives. Write ticks in base 64, digit L being bits 6L..6L+5. A timer
 * whose expiry tick `e` is later than the wheel's tick `now` sits at level L, the
 * highest digit in which e and now differ, in the slot numbered by e's digit L. A
 * timer that is due (e <= now) sits in level 0 at now's digit. Because every digit
 * above L matches now, level L's occupied slots are all numbered above now's digit,
 * and slot s of level L becomes interesting exactly when time reaches the first tick
 * of its span (now's upper digits, then s, then zeros). At that tick the slot is
 * emptied and each timer re-filed by the same rule ("cascade"); a timer falls at
 * least one level per cascade, so it is touched at most once per level (plus once
 * per lap of the top level for a deadline past the horizon, below).
 *
 * The horizon. Only six digits exist (64^6 ticks, about 2.2 years at 1 ms). A
 * deadline that differs from now above digit 5 is filed in the top level at the
 * slot of its digit 5, as if the top level were a ring: the slot's next span start
 * after now is then at or before the deadline, the timer cascades there, and if its
 * real span is still one or more laps away it goes back into the same top slot.
 * Because of this the top level may hold timers in the slot numbered by now's own
 * digit (a later lap), so a top-level slot is cascaded only when time stands on the
 * first tick of its span, never merely because now's digit names it. The expiry
 * kept in the timer is always the true one; the horizon only decides where it waits.
 *
 * Running. tern__timers_run never walks empty time. From now it looks at each
 * level's occupancy map: the lowest level with an occupied slot above now's digit
 * gives the next interesting tick (a lower level's candidate lies inside the current
 * span of the level above, so it always comes first), found with one
 * count-trailing-zeros. It jumps there, cascades top-down the slots whose span
 * starts at that tick, then fires level 0's slot for that tick. An idle minute with
 * one pending timer costs a handful of stops, whatever else is pending further out.
 *
 * Order. Slots are singly linked lists with a back pointer (`pprev`), so unlinking
 * is O(1); a slot only knows its head, so timers are pushed at the head and each
 * list runs newest first. Taking a slot apart reverses it into arming order; a
 * cascade re-files oldest first (so each destination again runs newest first), and
 * firing pops from the reversed list, which gives equal deadlines in arming order.
 * A slot that receives cascaded timers holds nothing armed earlier than them: any
 * older timer for the same span would have been filed in the same upper slot.
 *
 * Callbacks run with the timer already unlinked, so they may re-arm it; timers they
 * arm for the current tick or earlier land in the current slot and fire before the
 * run moves on; a timer they cancel from the batch being fired is simply unlinked.
 * The occupancy bit of a slot is cleared when cancelling empties it. The slot
 * need not be stored: a timer that empties its slot was the last in it, so its
 * back pointer is the slot's head.
 */
#include "core/timer.h"

#include <string.h>

#include "core/util.h"

#define DIGIT_MASK ((uint64_t)TERN_WHEEL_SLOTS - 1)
#define TOP_LEVEL (TERN_WHEEL_LEVELS - 1)
/* log2 of the wheel's whole span in ticks: 6 levels of 6 bits. */
#define WHEEL_SPAN_BITS (TERN_WHEEL_LEVELS * TERN_WHEEL_BITS)

/* Largest tick whose time in ns still fits in tern_time. */
#define MAX_TICK ((uint64_t)(INT64_MAX / TERN_TIMER_TICK_NS))

_Static_assert(TERN_WHEEL_SLOTS == 64, "occupancy maps are one uint64_t per level");

static unsigned digit_of(uint64_t tick, unsigned level)
{
	return (unsigned)((tick >> (level * TERN_WHEEL_BITS)) & DIGIT_MASK);
}

/* The first tick of level `level`'s span that contains `tick`. */
static uint64_t span_floor(uint64_t tick, unsigned level)
{
	unsigned shift = level * TERN_WHEEL_BITS;
	return tick >> shift << shift;
}

/* Slots of a 64-slot map strictly above slot `d`. */
static uint64_t slots_above(unsigned d)
{
	return d >= TERN_WHEEL_SLOTS - 1 ? 0 : ~(uint64_t)0 << (d + 1);
}

/* The tick that contains `now`: everything due at or before `now` has expiry <= it. */
static uint64_t tick_floor(tern_time now)
{
	return now <= 0 ? 0 : (uint64_t)(now / TERN_TIMER_TICK_NS);
}

static tern_time tick_to_ns(uint64_t tick)
{
	return tick > MAX_TICK ? TERN_TIME_NEVER : (tern_time)tick * TERN_TIMER_TICK_NS;
}

/* The level of the highest differing bit: its digit, and past the horizon the
 * top level's ring. A table rather than a division by 6 and a cap. */
const uint8_t tern__timer_level_of_bit[64] = {
	0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3,
	3, 3, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
};
_Static_assert(TERN_WHEEL_BITS == 6 && TOP_LEVEL == 5, "the table is for 6 levels of 6 bits");

#ifdef TERN_DEBUG
/* Where a timer expiring at `expires` belongs while the wheel stands at `now`:
 * tern__timer_file's rule (timer.h), for the debug check of a cascade. */
static void timer_place(uint64_t expires, uint64_t now, unsigned *level, unsigned *slot)
{
	if (expires <= now) {
		*level = 0;
		*slot = digit_of(now, 0);
		return;
	}
	unsigned l = tern__timer_level_of_bit[63u - (unsigned)__builtin_clzll(expires ^ now)];
	*level = l;
	*slot = digit_of(expires, l);
}
#endif

static void timer_file(struct tern_timers *w, struct tern_timer *t)
{
	tern__timer_file(w, t);
}

/* Takes `t` off whatever list holds it: a slot, or a batch being fired. Only a
 * timer that was its slot's last can empty it, and then its back pointer is the
 * slot's head, which names the slot: no need to work out the place again from
 * the expiry. A timer in a batch points into the batch (or at another timer),
 * never at a slot, and the batch's slot was emptied, its bit cleared, when the
 * batch was taken. */
static void timer_unlink(struct tern_timers *w, struct tern_timer *t)
{
	tern__timer_unlink(w, t);
}

/* Empties slot (level, s) into *out in arming order (oldest first), with each
 * timer's back pointer valid so that callbacks can unlink any of them. */
static void slot_take(struct tern_timers *w, unsigned level, unsigned s, struct tern_timer **out)
{
	struct tern_timer *t = w->slots[level][s].head;
	w->slots[level][s].head = NULL;
	w->occupied[level] &= ~((uint64_t)1 << s);
	*out = NULL;
	while (t) {
		struct tern_timer *next = t->next;
		t->next = *out;
		if (t->next)
			t->next->pprev = &t->next;
		*out = t;
		t->pprev = out;
		t = next;
		w->work.walked++;
	}
}

/* Re-files the timers of every slot whose span starts at the current tick, top
 * level first so that a timer can fall through several levels in one stop. */
static void cascade_here(struct tern_timers *w)
{
	for (int level = TOP_LEVEL; level >= 1; level--) {
		unsigned lv = (unsigned)level;
		if (span_floor(w->now, lv) != w->now)
			continue;
		unsigned s = digit_of(w->now, lv);
		if (!(w->occupied[lv] & ((uint64_t)1 << s)))
			continue;
		struct tern_timer *batch;
		slot_take(w, lv, s, &batch);
		while (batch) {
			struct tern_timer *t = batch;
			batch = t->next;
			t->next = NULL;
			t->pprev = NULL;
			timer_file(w, t);
			w->work.cascaded++;
#ifdef TERN_DEBUG
			unsigned nl, ns;
			timer_place(t->expires, w->now, &nl, &ns);
			TERN_ASSERT(nl < lv || (lv == TOP_LEVEL && ns == s));
#endif
		}
	}
}

/* Fires level 0's slot for the current tick, including timers the callbacks arm
 * for the current tick or earlier. */
static void fire_here(struct tern_timers *w, void *ctx)
{
	unsigned s = digit_of(w->now, 0);
	while (w->slots[0][s].head) {
		struct tern_timer *batch;
		slot_take(w, 0, s, &batch);
		while (batch) {
			struct tern_timer *t = batch;
			TERN_ASSERT(t->expires <= w->now);
			TERN_ASSERT(t->fn != NULL);
			batch = t->next;
			if (batch)
				batch->pprev = &batch;
			t->next = NULL;
			t->pprev = NULL;
			w->pending--;
			w->work.fired++;
			t->fn(ctx, t);
		}
	}
}

/* The earliest tick after the current one at which a slot must cascade or fire;
 * false if there is none (level 0's current slot is not considered). */
static bool next_stop(const struct tern_timers *w, uint64_t *tick)
{
	uint64_t now = w->now;
	for (unsigned level = 0; level < TOP_LEVEL; level++) {
		uint64_t later = w->occupied[level] & slots_above(digit_of(now, level));
		if (later) {
			unsigned s = (unsigned)__builtin_ctzll(later);
			*tick = span_floor(now, level + 1) + ((uint64_t)s << (level * TERN_WHEEL_BITS));
			return true;
		}
#ifdef TERN_DEBUG
		/* Below and at now's digit only level 0's current slot may be occupied. */
		uint64_t earlier = w->occupied[level] & ~slots_above(digit_of(now, level));
		if (level == 0)
			earlier &= ~((uint64_t)1 << digit_of(now, 0));
		TERN_ASSERT(earlier == 0);
#endif
	}
	uint64_t top = w->occupied[TOP_LEVEL];
	if (!top)
		return false;
	const unsigned shift = TOP_LEVEL * TERN_WHEEL_BITS;
	uint64_t lap = span_floor(now, TERN_WHEEL_LEVELS);
	uint64_t later = top & slots_above(digit_of(now, TOP_LEVEL));
	if (!later) {
		/* Every occupied top slot is next reached in the following lap. */
		later = top;
		lap += (uint64_t)1 << WHEEL_SPAN_BITS;
	}
	*tick = lap + ((uint64_t)__builtin_ctzll(later) << shift);
	return true;
}

void tern__timers_init(struct tern_timers *w, tern_time now)
{
	memset(w, 0, sizeof(*w));
	w->now = tick_floor(now);
}

void tern__timer_init(struct tern_timer *t, tern_timer_fn fn)
{
	t->next = NULL;
	t->pprev = NULL;
	t->expires = 0;
	t->fn = fn;
}

void tern__timer_arm_tick(struct tern_timers *w, struct tern_timer *t, uint64_t tick)
{
	TERN_ASSERT(t->fn != NULL);
	if (t->pprev)
		timer_unlink(w, t); /* a re-arm: still pending, so not counted as a cancel */
	else
		w->pending++;
	t->expires = tick;
	timer_file(w, t);
	w->work.armed++;
}

void tern__timer_arm(struct tern_timers *w, struct tern_timer *t, tern_time when)
{
	tern__timer_arm_tick(w, t, tern__timer_tick_ceil(when));
}

void tern__timer_cancel(struct tern_timers *w, struct tern_timer *t)
{
	if (!t->pprev)
		return;
	TERN_ASSERT(w->pending > 0);
	timer_unlink(w, t);
	w->pending--;
	w->work.cancelled++;
}

tern_time tern__timer_expiry(const struct tern_timer *t)
{
	return tick_to_ns(t->expires);
}

void tern__timers_advance(struct tern_timers *w, tern_time now, void *ctx)
{
	uint64_t target = tick_floor(now);
	TERN_ASSERT(target >= w->now); /* time never goes backwards */
	if (target < w->now)
		target = w->now;

	w->work.steps++;
	fire_here(w, ctx); /* timers armed for the current tick or earlier */
	uint64_t stop;
	while (next_stop(w, &stop) && stop <= target) {
		w->now = stop;
		w->work.steps++;
		cascade_here(w);
		fire_here(w, ctx);
	}
	/* No slot's span starts in (stop, target], so the placement of every pending
	 * timer is the same at target as at the last stop. */
	w->now = target;
}

tern_time tern__timers_next(const struct tern_timers *w)
{
	if (w->pending == 0)
		return TERN_TIME_NEVER;
	if (w->occupied[0] & ((uint64_t)1 << digit_of(w->now, 0)))
		return tick_to_ns(w->now);
	uint64_t stop;
	if (!next_stop(w, &stop))
		return TERN_TIME_NEVER;
	return tick_to_ns(stop);
}
