/*
 * tests/unit/test_timer.c: the timing wheel (core/timer.c).
 *
 * Checks what the stack relies on: deadline order with ties in arming order, never
 * firing early and at most one tick late, cancel and re-arm (also from inside a
 * callback), deadlines hours and years away, the next-deadline hint, and that no
 * cost grows with the number of pending timers (proved with the work counters, not
 * with a clock). A long randomised run is compared against a plain reference model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/prng.h"
#include "core/timer.h"
#include "core/util.h"

#define TICK TERN_TIMER_TICK_NS
#define MS TERN_NS_PER_MS
#define SEC TERN_NS_PER_SEC
#define DAY (86400 * SEC)

/* A timed object: the wheel sees only the embedded timer. */
struct item {
	struct tern_timer timer;
	int id;
	tern_time when; /* the deadline asked for */
};

/* What the callbacks write into; reached through the run's context pointer. */
struct log {
	struct tern_timers *w;
	tern_time run_now; /* the time passed to the current tern__timers_run */
	size_t n;
	size_t cap;
	int *ids;
	uint64_t *ticks; /* the wheel's tick when each fired */
	tern_time *run_times;
};

static void log_init(struct log *lg, struct tern_timers *w, size_t cap)
{
	memset(lg, 0, sizeof(*lg));
	lg->w = w;
	lg->cap = cap;
	lg->ids = calloc(cap, sizeof(*lg->ids));
	lg->ticks = calloc(cap, sizeof(*lg->ticks));
	lg->run_times = calloc(cap, sizeof(*lg->run_times));
	assert_non_null(lg->ids);
	assert_non_null(lg->ticks);
	assert_non_null(lg->run_times);
}

static void log_free(struct log *lg)
{
	free(lg->ids);
	free(lg->ticks);
	free(lg->run_times);
}

static void log_fire(struct log *lg, struct tern_timer *t)
{
	struct item *it = TERN_CONTAINER_OF(t, struct item, timer);
	assert_true(lg->n < lg->cap);
	assert_false(tern__timer_pending(t)); /* unlinked before the call */
	lg->ids[lg->n] = it->id;
	lg->ticks[lg->n] = lg->w->now;
	lg->run_times[lg->n] = lg->run_now;
	lg->n++;
}

static void on_fire(void *ctx, struct tern_timer *t)
{
	log_fire(ctx, t);
}

static void run_to(struct tern_timers *w, struct log *lg, tern_time now)
{
	lg->run_now = now;
	tern__timers_run(w, now, lg);
}

static uint64_t ceil_tick(tern_time when)
{
	return when <= 0 ? 0 : (uint64_t)(when / TICK) + (when % TICK != 0);
}

/* A tick as ns, saturating at TERN_TIME_NEVER as tern__timer_expiry does. */
static tern_time tick_ns(uint64_t tick)
{
	return tick > (uint64_t)(INT64_MAX / TICK) ? TERN_TIME_NEVER : (tern_time)tick * TICK;
}

static uint64_t work_total(const struct tern_timer_work *k)
{
	return k->armed + k->cancelled + k->fired + k->cascaded + k->steps + k->walked;
}

/* ------------------------------------------------------------------ order */

struct order_key {
	uint64_t tick;
	int id; /* ids are handed out in arming order */
};

static int by_deadline_then_id(const void *a, const void *b)
{
	const struct order_key *x = a, *y = b;
	if (x->tick != y->tick)
		return x->tick < y->tick ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* Random deadlines, many sharing a tick: the fire order is the deadlines sorted,
 * ties in the order the timers were armed, whether the run is one jump or many. */
static void check_order(size_t n, bool one_jump, uint64_t seed)
{
	struct tern_timers w;
	struct log lg;
	struct tern_prng r;
	tern__timers_init(&w, 0);
	log_init(&lg, &w, n);
	tern__prng_seed(&r, seed);
	struct item *items = calloc(n, sizeof(*items));
	struct order_key *want = calloc(n, sizeof(*want));
	assert_non_null(items);
	assert_non_null(want);

	for (size_t i = 0; i < n; i++) {
		items[i].id = (int)i;
		/* 3000 distinct ms over 300 s, plus a sub-ms part on half of them, so that
		 * many deadlines round to the same tick. */
		items[i].when = (tern_time)tern__prng_below(&r, 3000) * 100 * MS;
		if (tern__prng_chance(&r, 0.5))
			items[i].when -= (tern_time)tern__prng_below(&r, MS);
		tern__timer_init(&items[i].timer, on_fire);
		tern__timer_arm(&w, &items[i].timer, items[i].when);
		want[i].tick = ceil_tick(items[i].when);
		want[i].id = (int)i;
	}
	qsort(want, n, sizeof(*want), by_deadline_then_id);

	if (one_jump) {
		run_to(&w, &lg, 400 * SEC);
	} else {
		for (tern_time t = 0; t <= 400 * SEC; t += (tern_time)tern__prng_below(&r, 2 * SEC))
			run_to(&w, &lg, t);
		run_to(&w, &lg, 400 * SEC);
	}
	assert_int_equal(lg.n, n);
	assert_int_equal(w.pending, 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(lg.ids[i], want[i].id);
		assert_int_equal(lg.ticks[i], want[i].tick);
	}
	assert_int_equal(tern__timers_next(&w), TERN_TIME_NEVER);
	free(items);
	free(want);
	log_free(&lg);
}

static void test_order_one_jump(void **state)
{
	(void)state;
	check_order(20000, true, 1);
}

static void test_order_many_runs(void **state)
{
	(void)state;
	check_order(20000, false, 2);
}

/* ------------------------------------------------------------------ rounding */

/* Deadlines with every sub-ms offset: a timer fires in the first run whose time has
 * reached its deadline rounded up to the tick, never before its deadline, and its
 * reported expiry is that rounded deadline. */
static void test_rounding(void **state)
{
	(void)state;
	enum { N = 400 };
	const tern_time step = 50 * TERN_NS_PER_US;
	struct tern_timers w;
	struct log lg;
	struct tern_prng r;
	struct item items[N];
	tern__prng_seed(&r, 3);
	tern__timers_init(&w, 7 * MS + 123); /* start between ticks */
	log_init(&lg, &w, N);
	for (int i = 0; i < N; i++) {
		items[i].id = i;
		items[i].when = 8 * MS + (tern_time)tern__prng_below(&r, 100 * MS);
		if (i % 10 == 0)
			items[i].when = 8 * MS + (i / 10) * MS; /* exactly on a tick */
		tern__timer_init(&items[i].timer, on_fire);
		tern__timer_arm(&w, &items[i].timer, items[i].when);
		assert_true(tern__timer_pending(&items[i].timer));
		tern_time expiry = tern__timer_expiry(&items[i].timer);
		assert_true(expiry >= items[i].when);
		assert_true(expiry - items[i].when < TICK);
		assert_int_equal(expiry % TICK, 0);
	}
	for (tern_time now = 7 * MS + 123; now <= 120 * MS; now += step)
		run_to(&w, &lg, now);
	assert_int_equal(lg.n, N);
	for (size_t k = 0; k < lg.n; k++) {
		const struct item *it = &items[lg.ids[k]];
		tern_time expiry = (tern_time)ceil_tick(it->when) * TICK;
		assert_true(lg.run_times[k] >= it->when);        /* never early */
		assert_true(lg.run_times[k] >= expiry);           /* due on the tick */
		assert_true(lg.run_times[k] - step < expiry);     /* the first run past it */
		assert_true(lg.run_times[k] < it->when + TICK + step); /* at most a tick late */
	}
	log_free(&lg);
}

/* ------------------------------------------------------------------ cancel */

static void test_cancel(void **state)
{
	(void)state;
	enum { N = 300 };
	struct tern_timers w;
	struct log lg;
	struct item items[N];
	tern__timers_init(&w, 0);
	log_init(&lg, &w, N);
	for (int i = 0; i < N; i++) {
		items[i].id = i;
		/* Groups of three share a deadline, so cancels hit the head, the middle and
		 * the tail of slot lists at every level. */
		items[i].when = (tern_time)(1 + i / 3) * 37 * MS;
		tern__timer_init(&items[i].timer, on_fire);
		tern__timer_arm(&w, &items[i].timer, items[i].when);
	}
	assert_int_equal(w.pending, N);
	uint64_t cancelled = 0;
	for (int i = 0; i < N; i++) {
		if (i % 2) {
			tern__timer_cancel(&w, &items[i].timer);
			cancelled++;
			assert_false(tern__timer_pending(&items[i].timer));
			tern__timer_cancel(&w, &items[i].timer); /* again: harmless */
		}
	}
	assert_int_equal(w.work.cancelled, cancelled);
	assert_int_equal(w.pending, N - cancelled);

	struct item never;
	tern__timer_init(&never.timer, on_fire);
	tern__timer_cancel(&w, &never.timer); /* never armed: harmless */
	assert_int_equal(w.work.cancelled, cancelled);

	run_to(&w, &lg, 100 * SEC);
	assert_int_equal(lg.n, N - cancelled);
	for (size_t k = 0; k < lg.n; k++)
		assert_int_equal(lg.ids[k] % 2, 0);
	assert_int_equal(tern__timers_next(&w), TERN_TIME_NEVER);
	log_free(&lg);
}

/* Cancelling everything leaves no occupied slot behind: the next hint says NEVER,
 * and a later run walks no time. */
static void test_cancel_all_clears_wheel(void **state)
{
	(void)state;
	enum { N = 1000 };
	struct tern_timers w;
	struct item items[N];
	struct tern_prng r;
	tern__prng_seed(&r, 4);
	tern__timers_init(&w, 5 * SEC);
	for (int i = 0; i < N; i++) {
		tern__timer_init(&items[i].timer, on_fire);
		tern__timer_arm(&w, &items[i].timer, 5 * SEC + (tern_time)tern__prng_below(&r, 10 * DAY));
	}
	for (int i = N - 1; i >= 0; i -= 2)
		tern__timer_cancel(&w, &items[i].timer);
	for (int i = 0; i < N; i += 2)
		tern__timer_cancel(&w, &items[i].timer);
	assert_int_equal(w.pending, 0);
	for (int l = 0; l < TERN_WHEEL_LEVELS; l++)
		assert_int_equal(w.occupied[l], 0);
	assert_int_equal(tern__timers_next(&w), TERN_TIME_NEVER);
	uint64_t steps = w.work.steps;
	tern__timers_run(&w, 20 * DAY, NULL);
	assert_int_equal(w.work.steps - steps, 1);
}

/* ------------------------------------------------------------------ callbacks */

struct scene {
	struct log lg;
	struct tern_timers w;
	struct item periodic, victim, late, past, between;
	int periodic_left;
};

static void periodic_fire(void *ctx, struct tern_timer *t)
{
	struct scene *s = ctx;
	log_fire(&s->lg, t);
	if (--s->periodic_left > 0)
		tern__timer_arm(&s->w, t, tern__timer_expiry(t) + 10 * MS);
}

/* A periodic timer re-arms itself from its callback: one long run fires it at every
 * period, each at its exact tick. */
static void test_rearm_self_in_callback(void **state)
{
	(void)state;
	struct scene *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	tern__timers_init(&s->w, 0);
	log_init(&s->lg, &s->w, 200);
	s->periodic.id = 1;
	s->periodic_left = 100;
	tern__timer_init(&s->periodic.timer, periodic_fire);
	tern__timer_arm(&s->w, &s->periodic.timer, 10 * MS);
	s->lg.run_now = 5 * SEC;
	tern__timers_run(&s->w, 5 * SEC, s);
	assert_int_equal(s->lg.n, 100);
	for (size_t k = 0; k < 100; k++)
		assert_int_equal(s->lg.ticks[k], (k + 1) * 10);
	assert_false(tern__timer_pending(&s->periodic.timer));
	assert_int_equal(s->w.pending, 0);
	log_free(&s->lg);
	free(s);
}

/* The first callback cancels a timer due at the same tick (not yet fired), arms one
 * for the past, one for the current tick and one between now and the run's end:
 * the cancelled one never fires, the others all fire within the same run. */
static void chain_fire(void *ctx, struct tern_timer *t)
{
	struct scene *s = ctx;
	log_fire(&s->lg, t);
	struct item *it = TERN_CONTAINER_OF(t, struct item, timer);
	if (it->id != 1)
		return;
	tern__timer_cancel(&s->w, &s->victim.timer);
	tern__timer_arm(&s->w, &s->past.timer, 1 * MS);          /* long past */
	tern__timer_arm(&s->w, &s->late.timer, 20 * MS);         /* the current tick */
	tern__timer_arm(&s->w, &s->between.timer, 90 * MS + 1); /* before the run's end */
}

static void test_arm_from_callback_same_run(void **state)
{
	(void)state;
	struct scene *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	tern__timers_init(&s->w, 0);
	log_init(&s->lg, &s->w, 16);
	struct item *all[] = { &s->periodic, &s->victim, &s->late, &s->past, &s->between };
	for (int i = 0; i < 5; i++) {
		all[i]->id = i + 1;
		tern__timer_init(&all[i]->timer, chain_fire);
	}
	tern__timer_arm(&s->w, &s->periodic.timer, 20 * MS); /* id 1 */
	tern__timer_arm(&s->w, &s->victim.timer, 20 * MS);   /* id 2, same tick, after */
	s->lg.run_now = 100 * MS;
	tern__timers_run(&s->w, 100 * MS, s);
	int want_ids[] = { 1, 4, 3, 5 };
	uint64_t want_ticks[] = { 20, 20, 20, 91 };
	assert_int_equal(s->lg.n, 4);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(s->lg.ids[k], want_ids[k]);
		assert_int_equal(s->lg.ticks[k], want_ticks[k]);
	}
	assert_int_equal(s->w.pending, 0);
	log_free(&s->lg);
	free(s);
}

/* Arming for a time already past, outside any callback: fires at the next run,
 * before anything later, in arming order with other past timers. */
static void test_arm_in_past(void **state)
{
	(void)state;
	struct tern_timers w;
	struct log lg;
	struct item a, b, c;
	tern__timers_init(&w, 10 * SEC);
	log_init(&lg, &w, 4);
	a.id = 1;
	b.id = 2;
	c.id = 3;
	tern__timer_init(&a.timer, on_fire);
	tern__timer_init(&b.timer, on_fire);
	tern__timer_init(&c.timer, on_fire);
	tern__timer_arm(&w, &c.timer, 10 * SEC + 1);
	tern__timer_arm(&w, &a.timer, 10 * SEC);
	tern__timer_arm(&w, &b.timer, 3 * SEC);
	assert_true(tern__timers_next(&w) <= 10 * SEC);
	run_to(&w, &lg, 10 * SEC);
	assert_int_equal(lg.n, 2);
	assert_int_equal(lg.ids[0], 1);
	assert_int_equal(lg.ids[1], 2);
	assert_int_equal(tern__timers_next(&w), 10 * SEC + MS);
	run_to(&w, &lg, 10 * SEC + MS);
	assert_int_equal(lg.n, 3);
	assert_int_equal(lg.ids[2], 3);
	log_free(&lg);
}

/* ------------------------------------------------------------------ far deadlines */

/* Runs towards `deadline` in `hops` jumps that stop short of it, checking that the
 * timer has not fired and that the next hint never passes its deadline, then runs
 * to one ns before and to the deadline itself. Returns the stops made. */
static uint64_t approach(struct tern_timers *w, struct log *lg, struct item *it, tern_time from,
			 int hops)
{
	size_t fired = lg->n;
	uint64_t steps = w->work.steps;
	tern_time due = (tern_time)ceil_tick(it->when) * TICK;
	for (int h = 1; h <= hops; h++) {
		tern_time t = from + (due - from) / (hops + 1) * h;
		run_to(w, lg, t);
		assert_int_equal(lg->n, fired);
		tern_time next = tern__timers_next(w);
		assert_true(next <= due);
		assert_true(next > t);
	}
	run_to(w, lg, due - 1);
	assert_int_equal(lg->n, fired);
	assert_int_equal(tern__timers_next(w), due); /* at level 0 by now: exact */
	run_to(w, lg, due);
	assert_int_equal(lg->n, fired + 1);
	assert_int_equal(lg->ids[fired], it->id);
	assert_int_equal(lg->ticks[fired], (uint64_t)(due / TICK));
	return w->work.steps - steps;
}

static void test_far_deadlines(void **state)
{
	(void)state;
	struct tern_timers w;
	struct log lg;
	struct item keepalive, minute, years, decade;
	const tern_time start = 12345 * MS + 678;
	tern__timers_init(&w, start);
	log_init(&lg, &w, 8);

	keepalive.id = 1; /* net.ipv4.tcp_keepalive_time default: 7200 s */
	keepalive.when = start + 7200 * SEC;
	minute.id = 2;
	minute.when = start + 60 * SEC;
	years.id = 3; /* past the 64^6 ms (about 2.18 years) horizon */
	years.when = start + 3 * 365 * DAY + 500 * TERN_NS_PER_US;
	decade.id = 4;
	decade.when = start + 10 * 365 * DAY;
	struct item *all[] = { &keepalive, &minute, &years, &decade };
	for (int i = 0; i < 4; i++) {
		tern__timer_init(&all[i]->timer, on_fire);
		tern__timer_arm(&w, &all[i]->timer, all[i]->when);
		assert_int_equal(tern__timer_expiry(&all[i]->timer),
				 (tern_time)ceil_tick(all[i]->when) * TICK);
	}
	assert_true(tern__timers_next(&w) <= minute.when);

	/* A minute straight away costs a handful of stops, not 60,000. */
	uint64_t steps = approach(&w, &lg, &minute, start, 0);
	assert_true(steps <= 2 * (TERN_WHEEL_LEVELS + 1));
	steps = approach(&w, &lg, &keepalive, minute.when, 5);
	assert_true(steps <= 8 * (TERN_WHEEL_LEVELS + 1));
	/* Years away: crosses the horizon several times on the way. */
	uint64_t cascaded = w.work.cascaded;
	approach(&w, &lg, &years, keepalive.when, 40);
	approach(&w, &lg, &decade, years.when, 100);
	assert_int_equal(w.pending, 0);
	assert_true(w.work.cascaded - cascaded < 64);
	log_free(&lg);
}

/* A wheel started just before the end of its 64^6-tick lap: short deadlines that
 * land in the next lap fire exactly on time. */
static void test_lap_boundary(void **state)
{
	(void)state;
	const uint64_t lap = (uint64_t)1 << (TERN_WHEEL_BITS * TERN_WHEEL_LEVELS);
	const tern_time start = (tern_time)(lap - 10) * TICK;
	struct tern_timers w;
	struct log lg;
	struct item items[6];
	const tern_time delays[6] = { 5 * MS, 10 * MS, 11 * MS, 100 * MS, 70 * SEC, 3 * 365 * DAY };
	tern__timers_init(&w, start);
	log_init(&lg, &w, 8);
	for (int i = 0; i < 6; i++) {
		items[i].id = i;
		items[i].when = start + delays[i];
		tern__timer_init(&items[i].timer, on_fire);
		tern__timer_arm(&w, &items[i].timer, items[i].when);
	}
	tern_time from = start;
	for (int i = 0; i < 6; i++) {
		approach(&w, &lg, &items[i], from, 3);
		from = items[i].when;
	}
	log_free(&lg);
}

/* ------------------------------------------------------------------ next */

/* Random timers; after each run the hint is never later than the earliest pending
 * deadline, and exact once that deadline is within level 0 (the same 64-tick span
 * as now). Running to the hint each time visits every deadline. */
static void test_next_hint(void **state)
{
	(void)state;
	enum { N = 2000 };
	struct tern_timers w;
	struct log lg;
	struct tern_prng r;
	struct item *items = calloc(N, sizeof(*items));
	assert_non_null(items);
	tern__prng_seed(&r, 5);
	tern__timers_init(&w, 0);
	log_init(&lg, &w, N);
	for (int i = 0; i < N; i++) {
		items[i].id = i;
		tern_time range = i % 4 == 0 ? 50 * MS : i % 4 == 1 ? 10 * SEC : i % 4 == 2 ? DAY : 1000 * DAY;
		items[i].when = 1 + (tern_time)tern__prng_below(&r, (uint64_t)range);
		tern__timer_init(&items[i].timer, on_fire);
		tern__timer_arm(&w, &items[i].timer, items[i].when);
	}
	int exact = 0, stops = 0;
	while (w.pending) {
		tern_time earliest = TERN_TIME_NEVER;
		for (int i = 0; i < N; i++)
			if (tern__timer_pending(&items[i].timer) && tern__timer_expiry(&items[i].timer) < earliest)
				earliest = tern__timer_expiry(&items[i].timer);
		tern_time next = tern__timers_next(&w);
		assert_true(next <= earliest);
		assert_true(next > (tern_time)w.now * TICK);
		if ((uint64_t)(earliest / TICK) >> TERN_WHEEL_BITS == w.now >> TERN_WHEEL_BITS) {
			assert_int_equal(next, earliest);
			exact++;
		}
		size_t before = lg.n;
		run_to(&w, &lg, next);
		stops++;
		if (next == earliest)
			assert_true(lg.n > before);
		else
			assert_int_equal(lg.n, before);
	}
	assert_int_equal(lg.n, N);
	assert_true(exact > 0);
	assert_true(stops < 3 * N);
	free(items);
	log_free(&lg);
}

/* ------------------------------------------------------------------ cost */

struct cost_run {
	struct tern_timer_work arm_cancel;
	struct tern_timer_work jump;
};

static struct tern_timer_work work_delta(struct tern_timer_work a, struct tern_timer_work b)
{
	struct tern_timer_work d = {
		.armed = b.armed - a.armed,
		.cancelled = b.cancelled - a.cancelled,
		.fired = b.fired - a.fired,
		.cascaded = b.cascaded - a.cascaded,
		.steps = b.steps - a.steps,
		.walked = b.walked - a.walked,
	};
	return d;
}

static void count_fire(void *ctx, struct tern_timer *t)
{
	(void)t;
	(*(uint64_t *)ctx)++;
}

/* `idle` timers pending between 1 and 3 hours out (the shape of idle keepalives),
 * then 10,000 arms and cancels at mixed distances, then a 60 s jump with one timer
 * due at 60 s. */
static struct cost_run measure(size_t idle)
{
	enum { EXTRA = 10000 };
	struct cost_run out;
	struct tern_timers *w = malloc(sizeof(*w));
	struct tern_timer *idle_timers = calloc(idle, sizeof(*idle_timers));
	struct tern_timer *extra = calloc(EXTRA, sizeof(*extra));
	assert_non_null(w);
	assert_non_null(idle_timers);
	assert_non_null(extra);
	struct tern_prng r;
	uint64_t fired = 0;

	tern__timers_init(w, 0);
	tern__prng_seed(&r, 6);
	for (size_t i = 0; i < idle; i++) {
		tern__timer_init(&idle_timers[i], count_fire);
		tern__timer_arm(w, &idle_timers[i], 3600 * SEC + (tern_time)tern__prng_below(&r, 7200 * (uint64_t)SEC));
	}

	tern__prng_seed(&r, 7); /* the same extra timers whatever `idle` is */
	struct tern_timer_work before = w->work;
	for (int i = 0; i < EXTRA; i++) {
		static const tern_time ranges[] = { 200 * MS, 60 * SEC, 7200 * SEC, 1000 * DAY };
		tern__timer_init(&extra[i], count_fire);
		tern__timer_arm(w, &extra[i], 1 + (tern_time)tern__prng_below(&r, (uint64_t)ranges[i % 4]));
	}
	for (int i = 0; i < EXTRA; i++)
		tern__timer_cancel(w, &extra[(i * 7919) % EXTRA]);
	out.arm_cancel = work_delta(before, w->work);
	assert_int_equal(w->pending, idle);

	struct tern_timer minute;
	tern__timer_init(&minute, count_fire);
	tern__timer_arm(w, &minute, 60 * SEC);
	before = w->work;
	tern__timers_run(w, 60 * SEC, &fired);
	out.jump = work_delta(before, w->work);
	assert_int_equal(fired, 1);

	free(extra);
	free(idle_timers);
	free(w);
	return out;
}

static void test_cost_independent_of_pending(void **state)
{
	(void)state;
	struct cost_run few = measure(10);
	struct cost_run many = measure(1000000);

	print_message("arm+cancel 10000: %llu work with 10 pending, %llu with 1000000 "
		      "(armed %llu cancelled %llu walked %llu steps %llu)\n",
		      (unsigned long long)work_total(&few.arm_cancel),
		      (unsigned long long)work_total(&many.arm_cancel),
		      (unsigned long long)many.arm_cancel.armed,
		      (unsigned long long)many.arm_cancel.cancelled,
		      (unsigned long long)many.arm_cancel.walked,
		      (unsigned long long)many.arm_cancel.steps);
	print_message("60 s jump: %llu steps, %llu cascaded, %llu walked, %llu fired with 10 "
		      "pending; %llu steps, %llu cascaded, %llu walked with 1000000\n",
		      (unsigned long long)few.jump.steps, (unsigned long long)few.jump.cascaded,
		      (unsigned long long)few.jump.walked, (unsigned long long)few.jump.fired,
		      (unsigned long long)many.jump.steps, (unsigned long long)many.jump.cascaded,
		      (unsigned long long)many.jump.walked);

	assert_memory_equal(&few.arm_cancel, &many.arm_cancel, sizeof(few.arm_cancel));
	assert_int_equal(many.arm_cancel.armed, 10000);
	assert_int_equal(many.arm_cancel.cancelled, 10000);
	assert_int_equal(many.arm_cancel.walked, 0); /* no list is ever searched */
	assert_int_equal(many.arm_cancel.steps, 0);
	assert_int_equal(many.arm_cancel.cascaded, 0);

	assert_memory_equal(&few.jump, &many.jump, sizeof(few.jump));
	assert_int_equal(many.jump.fired, 1);
	assert_true(many.jump.steps <= TERN_WHEEL_LEVELS + 1);
	assert_true(many.jump.cascaded <= TERN_WHEEL_LEVELS);
}

/* ------------------------------------------------------------------ model */

/*
 * The reference model: for each timer, whether it is pending, its tick, its
 * effective tick (a deadline already past when armed counts as due at the tick the
 * wheel stood at) and an arming sequence number. A run repeatedly takes the pending
 * timer with the smallest (effective tick, sequence) that is due, which is the
 * specification of the wheel's order, by brute force.
 */
enum { MODEL_TIMERS = 512, MODEL_LOG = 1 << 16 };

struct model {
	bool pending[MODEL_TIMERS];
	uint64_t expires[MODEL_TIMERS];
	uint64_t eff[MODEL_TIMERS];
	uint64_t seq[MODEL_TIMERS];
	unsigned fires[MODEL_TIMERS];
	uint64_t next_seq;
	uint64_t now;
	size_t n;
	int ids[MODEL_LOG];
	uint64_t ticks[MODEL_LOG];
};

struct model_world {
	struct tern_timers w;
	struct item items[MODEL_TIMERS];
	unsigned fires[MODEL_TIMERS];
	size_t n;
	int ids[MODEL_LOG];
	uint64_t ticks[MODEL_LOG];
	struct model m;
};

/* What a callback does, as a pure function of the timer and how often it fired, so
 * that the wheel's callbacks and the model make the same moves. */
struct effect {
	int rearm_self;       /* re-arm itself `delay` after the current tick */
	int cancel_other;     /* -1 or a timer to cancel */
	int arm_other;        /* -1 or a timer to arm `delay` after the current tick */
	tern_time delay;
};

static struct effect effect_of(int id, unsigned fires)
{
	struct effect e = { 0, -1, -1, 0 };
	uint64_t h = (uint64_t)id * 7919u + fires * 104729u;
	e.delay = (tern_time)(h % 3000) * 100 * TERN_NS_PER_US - 2 * MS; /* -2 ms .. 298 ms */
	if (id % 5 == 0 && fires < 40)
		e.rearm_self = 1;
	if (id % 7 == 3)
		e.cancel_other = (id + 1) % MODEL_TIMERS;
	if (id % 11 == 4 && fires < 40)
		e.arm_other = (id + 3) % MODEL_TIMERS;
	return e;
}

/* base + d, saturating at the end of time (a callback near it re-arms there). */
static tern_time after(tern_time base, tern_time d)
{
	return d > INT64_MAX - base ? INT64_MAX : base + d;
}

static void model_arm(struct model *m, int id, tern_time when)
{
	uint64_t e = ceil_tick(when);
	m->pending[id] = true;
	m->expires[id] = e;
	m->eff[id] = e > m->now ? e : m->now;
	m->seq[id] = m->next_seq++;
}

static void model_run(struct model *m, tern_time now)
{
	uint64_t target = now <= 0 ? 0 : (uint64_t)(now / TICK);
	for (;;) {
		int best = -1;
		for (int i = 0; i < MODEL_TIMERS; i++) {
			if (!m->pending[i] || m->eff[i] > target)
				continue;
			if (best < 0 || m->eff[i] < m->eff[best] ||
			    (m->eff[i] == m->eff[best] && m->seq[i] < m->seq[best]))
				best = i;
		}
		if (best < 0)
			break;
		m->now = m->eff[best];
		m->pending[best] = false;
		assert_true(m->n < MODEL_LOG);
		m->ids[m->n] = best;
		m->ticks[m->n] = m->now;
		m->n++;
		struct effect e = effect_of(best, m->fires[best]++);
		tern_time base = (tern_time)m->now * TICK;
		if (e.rearm_self)
			model_arm(m, best, after(base, e.delay));
		if (e.cancel_other >= 0)
			m->pending[e.cancel_other] = false;
		if (e.arm_other >= 0)
			model_arm(m, e.arm_other, after(base, e.delay + 7 * MS));
	}
	m->now = target;
}

static void model_fire(void *ctx, struct tern_timer *t)
{
	struct model_world *mw = ctx;
	struct item *it = TERN_CONTAINER_OF(t, struct item, timer);
	assert_true(mw->n < MODEL_LOG);
	mw->ids[mw->n] = it->id;
	mw->ticks[mw->n] = mw->w.now;
	mw->n++;
	struct effect e = effect_of(it->id, mw->fires[it->id]++);
	tern_time base = (tern_time)mw->w.now * TICK;
	if (e.rearm_self)
		tern__timer_arm(&mw->w, t, after(base, e.delay));
	if (e.cancel_other >= 0)
		tern__timer_cancel(&mw->w, &mw->items[e.cancel_other].timer);
	if (e.arm_other >= 0)
		tern__timer_arm(&mw->w, &mw->items[e.arm_other].timer, after(base, e.delay + 7 * MS));
}

static void model_compare(struct model_world *mw)
{
	struct model *m = &mw->m;
	assert_int_equal(mw->n, m->n);
	for (size_t k = 0; k < m->n; k++) {
		if (mw->ids[k] != m->ids[k] || mw->ticks[k] != m->ticks[k])
			fail_msg("fire %zu: wheel timer %d at tick %llu, model timer %d at tick %llu", k,
				 mw->ids[k], (unsigned long long)mw->ticks[k], m->ids[k],
				 (unsigned long long)m->ticks[k]);
	}
	mw->n = 0;
	m->n = 0;
	uint64_t pending = 0;
	uint64_t earliest = UINT64_MAX;
	for (int i = 0; i < MODEL_TIMERS; i++) {
		assert_int_equal(tern__timer_pending(&mw->items[i].timer), m->pending[i]);
		if (!m->pending[i])
			continue;
		pending++;
		assert_int_equal(tern__timer_expiry(&mw->items[i].timer), tick_ns(m->expires[i]));
		if (m->eff[i] < earliest)
			earliest = m->eff[i];
	}
	assert_int_equal(mw->w.pending, pending);
	assert_int_equal(mw->w.now, m->now);
	tern_time next = tern__timers_next(&mw->w);
	if (!pending) {
		assert_int_equal(next, TERN_TIME_NEVER);
	} else {
		assert_true(next <= tick_ns(earliest));
		if (earliest > m->now)
			assert_true(next > (tern_time)m->now * TICK);
		if (earliest >> TERN_WHEEL_BITS == m->now >> TERN_WHEEL_BITS)
			assert_int_equal(next, tick_ns(earliest));
	}
}

static tern_time pick(struct tern_prng *r, const tern_time *ranges, const unsigned *weights, int n)
{
	uint64_t total = 0;
	for (int i = 0; i < n; i++)
		total += weights[i];
	uint64_t x = tern__prng_below(r, total);
	for (int i = 0; i < n; i++) {
		if (x < weights[i])
			return (tern_time)tern__prng_below(r, (uint64_t)ranges[i]);
		x -= weights[i];
	}
	return 0;
}

static void test_against_model(void **state)
{
	(void)state;
	static const tern_time arm_ranges[] = { 5 * MS, 200 * MS, 70 * SEC, 3 * 3600 * SEC, 5 * 365 * DAY };
	static const unsigned arm_weights[] = { 10, 50, 25, 10, 5 };
	static const tern_time run_ranges[] = { 5 * MS, 500 * MS, 100 * SEC, DAY, 400 * DAY };
	static const unsigned run_weights[] = { 600, 300, 90, 9, 1 };
	struct model_world *mw = calloc(1, sizeof(*mw));
	assert_non_null(mw);
	struct tern_prng r;
	tern__prng_seed(&r, 0x7e57);
	tern_time now = 1000 * SEC + 17;
	tern__timers_init(&mw->w, now);
	mw->m.now = (uint64_t)(now / TICK);
	for (int i = 0; i < MODEL_TIMERS; i++) {
		mw->items[i].id = i;
		tern__timer_init(&mw->items[i].timer, model_fire);
	}

	for (int op = 0; op < 100000; op++) {
		uint64_t kind = tern__prng_below(&r, 100);
		int id = (int)tern__prng_below(&r, MODEL_TIMERS);
		if (kind < 45) {
			tern_time when = now + pick(&r, arm_ranges, arm_weights, 5);
			if (tern__prng_chance(&r, 0.1))
				when = now - (tern_time)tern__prng_below(&r, 5 * MS); /* past */
			tern__timer_arm(&mw->w, &mw->items[id].timer, when);
			model_arm(&mw->m, id, when);
		} else if (kind < 65) {
			tern__timer_cancel(&mw->w, &mw->items[id].timer);
			mw->m.pending[id] = false;
		} else {
			now += pick(&r, run_ranges, run_weights, 5);
			tern__timers_run(&mw->w, now, mw);
			model_run(&mw->m, now);
		}
		model_compare(mw);
	}
	/* Drain: every timer left fires, years out included. */
	now += 6 * 365 * DAY;
	tern__timers_run(&mw->w, now, mw);
	model_run(&mw->m, now);
	model_compare(mw);
	assert_int_equal(mw->w.pending, 0);
	print_message("model: %llu armed, %llu fired, %llu cancelled, %llu cascaded, %llu steps\n",
		      (unsigned long long)mw->w.work.armed, (unsigned long long)mw->w.work.fired,
		      (unsigned long long)mw->w.work.cancelled, (unsigned long long)mw->w.work.cascaded,
		      (unsigned long long)mw->w.work.steps);
	free(mw);
}

/* The same model with the ranges pushed to the edges: deadlines decades out, on lap
 * boundaries and up to TERN_TIME_NEVER, jumps of years and decades, a start just
 * before a lap ends late in the int64 range, and a final run to the end of time. */
static void test_against_model_extremes(void **state)
{
	(void)state;
	const uint64_t lap = (uint64_t)1 << (TERN_WHEEL_BITS * TERN_WHEEL_LEVELS);
	const tern_time year = 365 * DAY;
	static const tern_time arm_ranges[] = { 5 * MS, 70 * SEC, 3 * 365 * DAY, 100 * 365 * DAY };
	static const unsigned arm_weights[] = { 30, 30, 20, 20 };
	static const tern_time run_ranges[] = { 5 * MS, 100 * SEC, 3 * 365 * DAY, 20 * 365 * DAY };
	static const unsigned run_weights[] = { 700, 280, 15, 5 };
	const tern_time limit = INT64_MAX - 2 * year; /* jumps stop here */
	struct model_world *mw = calloc(1, sizeof(*mw));
	assert_non_null(mw);
	struct tern_prng r;
	tern__prng_seed(&r, 0xed9e);
	tern_time now = (tern_time)(3 * lap - 5) * TICK + 321;
	tern__timers_init(&mw->w, now);
	mw->m.now = (uint64_t)(now / TICK);
	for (int i = 0; i < MODEL_TIMERS; i++) {
		mw->items[i].id = i;
		tern__timer_init(&mw->items[i].timer, model_fire);
	}

	for (int op = 0; op < 30000; op++) {
		uint64_t kind = tern__prng_below(&r, 100);
		int id = (int)tern__prng_below(&r, MODEL_TIMERS);
		if (kind < 45) {
			tern_time when;
			uint64_t shape = tern__prng_below(&r, 10);
			if (shape == 0) {
				when = TERN_TIME_NEVER - (tern_time)tern__prng_below(&r, 3 * MS);
			} else if (shape == 1) {
				/* The first tick of a lap (or of a top-level slot) a few laps on. */
				uint64_t t = ((uint64_t)now / TICK / lap + 1 + tern__prng_below(&r, 5)) * lap;
				t += tern__prng_below(&r, 2) * (lap / 64) * tern__prng_below(&r, 64);
				when = tick_ns(t) - (tern_time)tern__prng_below(&r, 2);
			} else if (shape == 2) {
				when = now + (tern_time)tern__prng_below(&r, (uint64_t)(INT64_MAX - now));
			} else {
				when = after(now, pick(&r, arm_ranges, arm_weights, 4));
			}
			tern__timer_arm(&mw->w, &mw->items[id].timer, when);
			model_arm(&mw->m, id, when);
		} else if (kind < 65) {
			tern__timer_cancel(&mw->w, &mw->items[id].timer);
			mw->m.pending[id] = false;
		} else {
			tern_time jump = pick(&r, run_ranges, run_weights, 4);
			now = jump > limit - now ? limit : now + jump;
			tern__timers_run(&mw->w, now, mw);
			model_run(&mw->m, now);
		}
		model_compare(mw);
	}
	/* To the end of time: everything fires except deadlines past the last whole
	 * tick that tern_time can express. */
	now = TERN_TIME_NEVER;
	tern__timers_run(&mw->w, now, mw);
	model_run(&mw->m, now);
	model_compare(mw);
	for (int i = 0; i < MODEL_TIMERS; i++)
		if (tern__timer_pending(&mw->items[i].timer))
			assert_int_equal(tern__timer_expiry(&mw->items[i].timer), TERN_TIME_NEVER);
	print_message("extremes: %llu armed, %llu fired, %llu cascaded, %llu steps, %llu pending at the end\n",
		      (unsigned long long)mw->w.work.armed, (unsigned long long)mw->w.work.fired,
		      (unsigned long long)mw->w.work.cascaded, (unsigned long long)mw->w.work.steps,
		      (unsigned long long)mw->w.pending);
	free(mw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_one_jump),
		cmocka_unit_test(test_order_many_runs),
		cmocka_unit_test(test_rounding),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_cancel_all_clears_wheel),
		cmocka_unit_test(test_rearm_self_in_callback),
		cmocka_unit_test(test_arm_from_callback_same_run),
		cmocka_unit_test(test_arm_in_past),
		cmocka_unit_test(test_far_deadlines),
		cmocka_unit_test(test_lap_boundary),
		cmocka_unit_test(test_next_hint),
		cmocka_unit_test(test_cost_independent_of_pending),
		cmocka_unit_test(test_against_model),
		cmocka_unit_test(test_against_model_extremes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
