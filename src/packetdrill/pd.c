/*
 * packetdrill/pd.c: libtern-packetdrill.so, through which the real packetdrill binary
 * drives one tern stack (../shared/spec/packetdrill.md §2). This file holds the life
 * cycle, the virtual clock, the network device, the emulation of blocking calls,
 * the descriptor table and the control socket; calls.c holds the socket calls.
 *
 * Time. The stack lives in virtual time that only the calls move, so a script with
 * a 63 s retransmission schedule runs in microseconds and the same way every time:
 *   - gettimeofday advances the clock by 1 µs per read (packetdrill spins on it
 *     while it waits for an event, so a frozen clock would hang it);
 *   - usleep jumps the clock forward;
 *   - netdev_receive, finding no datagram queued, jumps to the stack's next
 *     deadline and runs the timers, and repeats until one is emitted. With no
 *     deadline left, or none within an hour, it reports the missing packet the only
 *     way packetdrill understands: success with a zero length.
 * Whenever the clock jumps, it stops at every timer deadline on the way and fires
 * that timer at its own time, so each retransmission is stamped when it was due.
 *
 * Blocking. tern's calls never block (DESIGN.md §1), but a script's accept() on a
 * blocking socket must. packetdrill runs such a call on a second thread and checks
 * (in /proc) that the thread sleeps. Here the call makes an attempt and, if tern
 * says it would block, sleeps on a condition variable; every entry point that may
 * change what it waits for (a packet injected, time moved, another call) bumps a
 * generation number and wakes it, and it tries again. A poll or epoll_wait with a
 * timeout also registers its deadline, which the clock treats as an event like a
 * timer. To keep runs deterministic, a call that drives the stack (netdev_send,
 * netdev_receive, usleep, any socket call) first waits until every sleeping call has
 * retried against the latest change ("settling"): so a blocked accept returns at the
 * virtual instant of the ACK that completed the handshake, however the threads are
 * scheduled. One thread is special: the one that called packetdrill_interface_init
 * (packetdrill's main thread) is the one that moves the clock, so when it blocks
 * (a script's connect or poll written without an end time) nobody else would; it
 * then moves the clock itself, event by event, until its call completes, as the
 * kernel's clock runs on while a process sleeps.
 *
 * Descriptors. packetdrill closes the script's descriptors with the real close() at
 * the end, so the numbers handed out are real and harmless: one eventfd each, mapped
 * to the tern descriptor behind it. A number closed behind our back and handed out
 * again by the kernel simply replaces the old mapping (and the orphaned tern socket
 * is closed, as the kernel would have done). free() leaves the handed-out numbers
 * alone: they are the caller's.
 *
 * Control socket. As for `tern script`, a unix socket (tools/ctl.h) lets the `ss`,
 * `nstat` and `sysctl` shims of `tern shims DIR` act on this very stack from a
 * script's backtick commands; its path is exported as $TERN_CTL. A small thread
 * serves it under the stack's mutex.
 *
 * Threads: one mutex guards the instance; see pd.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "packetdrill/interface.h"
#include "packetdrill/pd.h"
#include "tern/errors.h"

/* gettimeofday's value at virtual time 0 (2023-11-14 22:13:20 UTC): any fixed
 * point will do, packetdrill only looks at differences. */
#define PD_EPOCH_US 1700000000000000LL
/* Each clock read moves virtual time by 1 µs. */
#define PD_READ_TICK_NS TERN_NS_PER_US
/* netdev_receive gives up on a packet due more than an hour of virtual time away. */
#define PD_MAX_WAIT_NS (3600 * TERN_NS_PER_SEC)
/* Datagrams kept for netdev_receive; beyond that they are dropped and counted. */
#define PD_QUEUE_MAX 65536
/* Bound on the stops of one clock jump: a guard against a stuck timer. */
#define PD_MAX_STEPS 1000000
/* How long (real time) a driver waits for sleeping calls to catch up before going
 * on regardless: far above any scheduling delay, even under ThreadSanitizer. */
#define PD_SETTLE_S 10
/* The interface's MTU unless --mtu says otherwise (as for tern script). */
#define PD_DEFAULT_MTU 1500

/* Numbers the default control-socket paths of the instances of this process: the
 * one piece of process-wide state, and only a counter. */
static atomic_uint instances;

/* ------------------------------------------------------------------ the queue */

static void on_emit(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	struct pd *pd = ctx;
	struct pd_packet *p;

	if (pd->q_len >= PD_QUEUE_MAX || !(p = malloc(sizeof(*p) + len))) {
		pd->q_dropped++;
		return;
	}
	p->next = NULL;
	p->at = now;
	p->len = len;
	memcpy(p->bytes, pkt, len);
	*pd->q_tail = p;
	pd->q_tail = &p->next;
	pd->q_len++;
}

static struct pd_packet *queue_pop(struct pd *pd)
{
	struct pd_packet *p = pd->q_head;
	if (p) {
		pd->q_head = p->next;
		if (!pd->q_head)
			pd->q_tail = &pd->q_head;
		pd->q_len--;
	}
	return p;
}

static void on_log(void *ctx, int level, const char *msg)
{
	struct pd *pd = ctx;
	fprintf(stderr, "tern-packetdrill: %.6f: %s\n", (double)pd->now / TERN_NS_PER_SEC, msg);
}

/* ------------------------------------------------------------------ waking */

/* Something a sleeping call may be waiting for has changed. */
static void bump(struct pd *pd)
{
	pd->gen++;
	if (pd->waiters)
		pthread_cond_broadcast(&pd->changed_cv);
}

static bool lagging(const struct pd *pd)
{
	for (const struct pd_waiter *w = pd->waiters; w; w = w->next)
		if (w->seen != pd->gen)
			return true;
	return false;
}

/* Waits until every sleeping call has retried since the latest change. */
static void settle(struct pd *pd)
{
	struct timespec limit;

	if (!lagging(pd))
		return;
	clock_gettime(CLOCK_MONOTONIC, &limit);
	limit.tv_sec += PD_SETTLE_S;
	while (lagging(pd))
		if (pthread_cond_timedwait(&pd->settled_cv, &pd->mu, &limit) == ETIMEDOUT)
			break;
}

/* ------------------------------------------------------------------ the clock */

/* Brings the stack to virtual time `to`, stopping at each deadline on the way so
 * that every timer fires at its own time. True if any deadline was reached. */
static bool stack_to(struct pd *pd, tern_time to)
{
	tern_time last = -1;
	bool fired = false;

	for (int i = 0; i < PD_MAX_STEPS; i++) {
		tern_time d = tern_stack_next_deadline(pd->st);
		tern_time cur = tern_stack_now(pd->st);
		if (d > to)
			break;
		if (d < cur)
			d = cur;
		if (d == last)      /* nothing more falls due before `to` at this grain */
			break;
		tern_stack_advance(pd->st, d);
		last = d;
		fired = true;
	}
	if (tern_stack_now(pd->st) < to)
		tern_stack_advance(pd->st, to);
	return fired;
}

/* The next virtual instant something is due: a timer or a sleeping call's end. */
static tern_time next_event(const struct pd *pd)
{
	tern_time d = tern_stack_next_deadline(pd->st);
	return pd->wake_at < d ? pd->wake_at : d;
}

/* Moves the clock to `t` (never backwards), fires what is due, and lets sleeping
 * calls react before anything else happens. */
static void step_to(struct pd *pd, tern_time t)
{
	if (t > pd->now)
		pd->now = t;
	if (pd->wake_at <= pd->now)
		pd->wake_at = TERN_TIME_NEVER;
	stack_to(pd, pd->now);
	bump(pd);
	settle(pd);
}

/* Steps from event to event up to `limit` (at most PD_MAX_STEPS, and never twice
 * at the same instant); with `want_packet`, stops as soon as the stack has sent a
 * packet, and returns it. */
static struct pd_packet *run_events(struct pd *pd, tern_time limit, bool want_packet)
{
	struct pd_packet *p = NULL;
	tern_time last = -1;

	for (int i = 0; i < PD_MAX_STEPS && !(want_packet && (p = queue_pop(pd))); i++) {
		tern_time e = next_event(pd);
		if (e == TERN_TIME_NEVER || e > limit)
			break;
		if (e < pd->now)
			e = pd->now;
		if (e == last)
			break;
		step_to(pd, e);
		last = e;
	}
	return p;
}

/* Jumps the clock to `target`, stopping at every event on the way. */
static void jump_to(struct pd *pd, tern_time target)
{
	run_events(pd, target, false);
	step_to(pd, target);
}

/* ------------------------------------------------------------------ entry and exit */

void tern__pd_enter(struct pd *pd)
{
	pthread_mutex_lock(&pd->mu);
	settle(pd);
	if (pd->st && stack_to(pd, pd->now))
		bump(pd);
}

void tern__pd_leave(struct pd *pd, bool changed)
{
	if (changed)
		bump(pd);
	pthread_mutex_unlock(&pd->mu);
}

static void unqueue(struct pd *pd, struct pd_waiter *w)
{
	struct pd_waiter **pp = &pd->waiters;
	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
	pthread_cond_broadcast(&pd->settled_cv);
}

long tern__pd_run(struct pd *pd, tern_pd_attempt_fn attempt, void *ctx, bool blocking,
		  tern_time deadline)
{
	struct pd_waiter w = { .deadline = deadline };
	bool queued = false, done;
	bool driver = pthread_equal(pthread_self(), pd->driver);
	tern_time last = -1;
	long rc = 0;

	for (;;) {
		bool progress = false;
		done = attempt(pd, ctx, &rc, &progress);
		if (progress)
			bump(pd);
		w.seen = pd->gen;
		if (done || !blocking || pd->closing || pd->now >= deadline)
			break;
		if (driver) {
			/* The thread that moves the clock is the one waiting, so nobody else
			 * will: it moves the clock itself, event by event, as the kernel's
			 * clock runs on while a process sleeps. What the stack emits on the
			 * way waits in the queue with its own time. */
			tern_time e = next_event(pd);
			if (deadline < e)
				e = deadline;
			if (e < pd->now)
				e = pd->now;
			if (e != TERN_TIME_NEVER && e != last) {
				if (queued)
					unqueue(pd, &w);
				queued = false;
				step_to(pd, e);
				last = e;
				continue;
			}
			/* Nothing is due, ever: like the kernel, wait for another thread. */
		}
		if (!queued) {
			w.next = pd->waiters;
			pd->waiters = &w;
			queued = true;
		}
		if (deadline < pd->wake_at)
			pd->wake_at = deadline;
		pd->sleeps++;
		pthread_cond_broadcast(&pd->settled_cv);   /* this attempt is accounted for */
		pthread_cond_wait(&pd->changed_cv, &pd->mu);
	}
	if (queued)
		unqueue(pd, &w);
	if (!done && blocking && pd->closing)
		rc = -TERN_EINTR;
	return rc;
}

/* ------------------------------------------------------------------ descriptors */

int tern__pd_lookup(struct pd *pd, int fd)
{
	if (fd < 0 || (size_t)fd >= pd->fdmap_len)
		return -1;
	return pd->fdmap[fd] - 1;
}

int tern__pd_attach(struct pd *pd, int tfd)
{
	int fd = eventfd(0, EFD_CLOEXEC);

	if (fd < 0) {
		int err = errno;
		tern_close(pd->st, tfd);
		return -err;
	}
	if ((size_t)fd >= pd->fdmap_len) {
		size_t len = (size_t)fd * 2 + 16;
		int *map = realloc(pd->fdmap, len * sizeof(*map));
		if (!map) {
			close(fd);
			tern_close(pd->st, tfd);
			return -TERN_ENOMEM;
		}
		memset(map + pd->fdmap_len, 0, (len - pd->fdmap_len) * sizeof(*map));
		pd->fdmap = map;
		pd->fdmap_len = len;
	}
	/* A number still mapped was closed with libc close(): its socket is orphaned. */
	int stale = pd->fdmap[fd] - 1;
	if (stale >= 0 && stale != tfd)
		tern_close(pd->st, stale);
	pd->fdmap[fd] = tfd + 1;
	return fd;
}

void tern__pd_detach(struct pd *pd, int fd)
{
	if (tern__pd_lookup(pd, fd) < 0)
		return;
	pd->fdmap[fd] = 0;
	close(fd);
}

/* ------------------------------------------------------------------ clock and device calls */

static int pd_gettimeofday(void *ud, struct timeval *tv, struct timezone *tz)
{
	struct pd *pd = ud;

	pthread_mutex_lock(&pd->mu);
	pd->now += PD_READ_TICK_NS;
	tern_time now = pd->now;
	if (pd->st && (tern_stack_next_deadline(pd->st) <= now || pd->wake_at <= now)) {
		if (pd->wake_at <= now)
			pd->wake_at = TERN_TIME_NEVER;
		stack_to(pd, now);
		bump(pd);
	}
	pthread_mutex_unlock(&pd->mu);

	long long us = PD_EPOCH_US + now / TERN_NS_PER_US;
	if (tv) {
		tv->tv_sec = (time_t)(us / 1000000);
		tv->tv_usec = (suseconds_t)(us % 1000000);
	}
	if (tz)
		memset(tz, 0, sizeof(*tz));
	return 0;
}

static int pd_usleep(void *ud, useconds_t usec)
{
	struct pd *pd = ud;

	tern__pd_enter(pd);
	tern_time target = pd->now + (tern_time)usec * TERN_NS_PER_US;
	if (pd->st)
		jump_to(pd, target);
	else
		pd->now = target;
	tern__pd_leave(pd, false);
	return 0;
}

static int pd_netdev_send(void *ud, const void *buf, size_t count)
{
	struct pd *pd = ud;
	int err = 0;

	tern__pd_enter(pd);
	if (!pd->st)
		err = ENETDOWN;
	else if (!buf && count)
		err = EFAULT;
	else
		tern_stack_input(pd->st, pd->now, buf, count);
	tern__pd_leave(pd, err == 0);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

static int pd_netdev_receive(void *ud, void *buf, size_t *count, long long *time_usecs)
{
	struct pd *pd = ud;
	struct pd_packet *p = NULL;

	tern__pd_enter(pd);
	if (pd->st)
		p = run_events(pd, pd->now + PD_MAX_WAIT_NS, true);
	tern__pd_leave(pd, false);

	if (!p) {       /* the expected packet never comes: packetdrill fails the script */
		*count = 0;
		return 0;
	}
	size_t n = p->len < *count ? p->len : *count;
	memcpy(buf, p->bytes, n);
	*count = n;
	if (time_usecs)
		*time_usecs = PD_EPOCH_US + p->at / TERN_NS_PER_US;
	free(p);
	return 0;
}

static int pd_pipe(void *ud, int pipefd[2])
{
	errno = ENOSYS;
	return -1;
}

static ssize_t pd_splice(void *ud, int fd_in, loff_t *off_in, int fd_out, loff_t *off_out,
			 size_t len, unsigned int flags)
{
	errno = ENOSYS;
	return -1;
}

/* ------------------------------------------------------------------ control socket */

static void *ctl_main(void *arg)
{
	struct pd *pd = arg;
	struct pollfd p[2] = {
		{ .fd = tern_ctl_fd(pd->ctl), .events = POLLIN },
		{ .fd = pd->ctl_wake, .events = POLLIN },
	};

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			/* The tool sees the stack at this instant of virtual time. */
			tern__pd_enter(pd);
			tern_ctl_serve(pd->ctl, pd->st);
			tern__pd_leave(pd, true);     /* a sysctl may have changed a knob */
		}
	}
	return NULL;
}

static void ctl_start(struct pd *pd, const char *path)
{
	int err = tern_ctl_listen(path, &pd->ctl);

	if (err < 0) {
		fprintf(stderr, "tern-packetdrill: no control socket at %s (%s): backtick ss, "
			"nstat and sysctl will not reach this stack\n", path, tern_strerror(err));
		return;
	}
	pd->ctl_wake = eventfd(0, EFD_CLOEXEC);
	if (pd->ctl_wake < 0 || pthread_create(&pd->ctl_thread, NULL, ctl_main, pd) != 0) {
		fprintf(stderr, "tern-packetdrill: cannot start the control socket's thread\n");
		tern_ctl_close(pd->ctl);
		pd->ctl = NULL;
		return;
	}
	pd->ctl_thread_running = true;
	snprintf(pd->ctl_path, sizeof(pd->ctl_path), "%s", path);
	setenv("TERN_CTL", path, 1);
}

static void ctl_stop(struct pd *pd)
{
	if (pd->ctl_thread_running) {
		uint64_t one = 1;
		while (write(pd->ctl_wake, &one, sizeof(one)) < 0 && errno == EINTR)
			;
		pthread_join(pd->ctl_thread, NULL);
		pd->ctl_thread_running = false;
	}
	if (pd->ctl) {
		const char *env = getenv("TERN_CTL");
		if (env && !strcmp(env, pd->ctl_path))
			unsetenv("TERN_CTL");
		tern_ctl_close(pd->ctl);
		pd->ctl = NULL;
	}
	if (pd->ctl_wake >= 0)
		close(pd->ctl_wake);
	pd->ctl_wake = -1;
}

/* ------------------------------------------------------------------ flags */

struct pd_options {
	struct tern_addr addr;
	uint32_t mtu;
	uint64_t seed;
	bool verbose;
	char ctl[sizeof(((struct pd *)0)->ctl_path)];
};

static bool parse_uint(const char *text, unsigned long long max, unsigned long long *out)
{
	char *end;
	if (!*text || *text == '-')
		return false;
	errno = 0;
	*out = strtoull(text, &end, 0);
	return !errno && !*end && *out <= max;
}

/* Reads --so_flags: whitespace-separated --name=value words. 0, or -1 after
 * printing what is wrong. Unknown words are reported and ignored. */
static int parse_flags(const char *flags, struct pd_options *o)
{
	char *copy = strdup(flags ? flags : ""), *save = NULL;
	int rc = 0;

	if (!copy) {
		fputs("tern-packetdrill: out of memory\n", stderr);
		return -1;
	}
	for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		char *eq = strchr(w, '=');
		const char *val = eq ? eq + 1 : "";
		size_t name_len = eq ? (size_t)(eq - w) : strlen(w);
		unsigned long long n;
#define IS(name) (name_len == strlen(name) && !strncmp(w, name, name_len))
		if (IS("--local_ip")) {
			if (tern_addr_parse(val, &o->addr) < 0) {
				fprintf(stderr, "tern-packetdrill: --local_ip: '%s' is not an IPv4 address\n", val);
				rc = -1;
			}
		} else if (IS("--ctl")) {
			if (!*val || strlen(val) >= sizeof(o->ctl)) {
				fprintf(stderr, "tern-packetdrill: --ctl: the path must be 1 to %zu bytes long\n",
					sizeof(o->ctl) - 1);
				rc = -1;
			} else {
				strcpy(o->ctl, val);
			}
		} else if (IS("--mtu")) {
			if (!parse_uint(val, 65535, &n) || n < 576) {
				fprintf(stderr, "tern-packetdrill: --mtu: '%s' is not a number from 576 to 65535\n", val);
				rc = -1;
			} else {
				o->mtu = (uint32_t)n;
			}
		} else if (IS("--seed")) {
			if (!parse_uint(val, UINT64_MAX, &n)) {
				fprintf(stderr, "tern-packetdrill: --seed: '%s' is not a number\n", val);
				rc = -1;
			} else {
				o->seed = n;
			}
		} else if (IS("--verbose") && !eq) {
			o->verbose = true;
		} else {
			fprintf(stderr, "tern-packetdrill: ignoring unknown flag '%s' (known: --local_ip=, "
				"--ctl=, --mtu=, --seed=, --verbose)\n", w);
		}
#undef IS
	}
	free(copy);
	return rc;
}

static void default_ctl_path(char *buf, size_t len)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	unsigned n = atomic_fetch_add(&instances, 1);

	if (!dir || !*dir ||
	    snprintf(buf, len, "%s/tern-packetdrill-%ld-%u.ctl", dir, (long)getpid(), n) >= (int)len)
		snprintf(buf, len, "/tmp/tern-packetdrill-%ld-%u.ctl", (long)getpid(), n);
}

/* ------------------------------------------------------------------ life cycle */

static void pd_free(void *ud)
{
	struct pd *pd = ud;

	if (!pd)
		return;
	ctl_stop(pd);

	/* Calls still sleeping leave with EINTR before the stack goes away. */
	pthread_mutex_lock(&pd->mu);
	pd->closing = true;
	bump(pd);
	while (pd->waiters)
		pthread_cond_wait(&pd->settled_cv, &pd->mu);
	pthread_mutex_unlock(&pd->mu);

	if (pd->q_dropped || pd->verbose)
		fprintf(stderr, "tern-packetdrill: %llu datagrams dropped (output queue full), "
			"%llu sleeps of blocked calls\n", (unsigned long long)pd->q_dropped,
			(unsigned long long)pd->sleeps);
	if (pd->st)
		tern_stack_destroy(pd->st);
	for (struct pd_packet *p; (p = queue_pop(pd));)
		free(p);
	free(pd->fdmap);
	pthread_cond_destroy(&pd->changed_cv);
	pthread_cond_destroy(&pd->settled_cv);
	pthread_mutex_destroy(&pd->mu);
	free(pd);
}

static int sync_init(struct pd *pd)
{
	pthread_condattr_t attr;

	if (pthread_mutex_init(&pd->mu, NULL))
		return -1;
	if (pthread_condattr_init(&attr))
		return -1;
	int bad = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) ||
		  pthread_cond_init(&pd->changed_cv, &attr) ||
		  pthread_cond_init(&pd->settled_cv, &attr);
	pthread_condattr_destroy(&attr);
	return bad ? -1 : 0;
}

static int stack_start(struct pd *pd, const struct pd_options *o)
{
	struct tern_stack_config cfg;

	tern_stack_config_init(&cfg);
	cfg.addr = o->addr;
	cfg.mtu = o->mtu;
	cfg.now = 0;
	cfg.seed = o->seed;
	cfg.emit = on_emit;
	cfg.emit_ctx = pd;
	if (o->verbose) {
		cfg.log = on_log;
		cfg.log_ctx = pd;
	}
	int err = tern_stack_create(&cfg, &pd->st);
	if (err < 0) {
		fprintf(stderr, "tern-packetdrill: cannot create the stack: %s\n", tern_strerror(err));
		pd->st = NULL;
		return -1;
	}
	return 0;
}

void packetdrill_interface_init(const char *flags, struct packetdrill_interface *ifc)
{
	struct pd *pd = calloc(1, sizeof(*pd));
	struct pd_options o = { .addr = tern_addr_v4(192, 168, 0, 1), .mtu = PD_DEFAULT_MTU,
				.seed = 1 };

	if (!pd || sync_init(pd) < 0) {
		/* packetdrill cannot go on without a table; there is nothing to fall back on */
		fputs("tern-packetdrill: out of memory\n", stderr);
		abort();
	}
	pd->q_tail = &pd->q_head;
	pd->wake_at = TERN_TIME_NEVER;
	pd->driver = pthread_self();
	pd->ctl_wake = -1;

	/* A bad flag leaves an instance without a stack: every call then fails with
	 * ENETDOWN and every expected packet is missing, so the script fails visibly. */
	if (parse_flags(flags, &o) == 0 && stack_start(pd, &o) == 0) {
		pd->verbose = o.verbose;
		if (!o.ctl[0])
			default_ctl_path(o.ctl, sizeof(o.ctl));
		ctl_start(pd, o.ctl);
	}

	memset(ifc, 0, sizeof(*ifc));
	ifc->userdata = pd;
	ifc->free = pd_free;
	ifc->netdev_send = pd_netdev_send;
	ifc->netdev_receive = pd_netdev_receive;
	ifc->usleep = pd_usleep;
	ifc->gettimeofday = pd_gettimeofday;
	ifc->pipe = pd_pipe;
	ifc->splice = pd_splice;
	tern__pd_fill_calls(ifc);
}
