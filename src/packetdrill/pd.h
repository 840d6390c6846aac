/*
 * packetdrill/pd.h: the state of one packetdrill instance, shared by pd.c (life
 * cycle, virtual clock, network device, blocking, descriptors, control socket) and
 * calls.c (the socket calls).
 *
 * Locking: everything below `mu` is guarded by it. Every entry point takes it for
 * its whole duration, except while a blocked call sleeps on `changed_cv` and while a
 * driver call waits on `settled_cv` for blocked calls to catch up.
 */
#ifndef TERN_PACKETDRILL_PD_H
#define TERN_PACKETDRILL_PD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include "ctl.h"
#include "tern/socket.h"
#include "tern/stack.h"
#include "tern/types.h"

/* A datagram the stack emitted, waiting for netdev_receive. */
struct pd_packet {
	struct pd_packet *next;
	tern_time at;            /* virtual time it left the stack */
	size_t len;
	uint8_t bytes[];
};

/* A call sleeping until the stack changes (tern never blocks; see pd.c). */
struct pd_waiter {
	struct pd_waiter *next;
	uint64_t seen;           /* the generation its last attempt looked at */
	tern_time deadline;      /* virtual time it gives up; TERN_TIME_NEVER if never */
};

struct pd {
	pthread_mutex_t mu;
	pthread_cond_t changed_cv;   /* blocked calls sleep here */
	pthread_cond_t settled_cv;   /* drivers wait here for blocked calls to retry */

	struct tern_stack *st;       /* NULL when the instance failed to start */
	tern_time now;               /* the virtual clock (the stack may lag until caught up) */
	uint64_t gen;                /* bumped at every change a blocked call may care about */
	struct pd_waiter *waiters;
	tern_time wake_at;           /* earliest deadline of a sleeping call, or NEVER */
	bool closing;                /* free() has begun: blocked calls leave */
	pthread_t driver;            /* the thread that drives the clock: the one that
	                              * called packetdrill_interface_init (packetdrill's
	                              * main thread); its own blocking calls move time */

	struct pd_packet *q_head, **q_tail;   /* emitted, not yet received */
	size_t q_len;
	uint64_t q_dropped;

	int *fdmap;                  /* real descriptor -> tern descriptor + 1 (0: none) */
	size_t fdmap_len;

	struct tern_ctl_server *ctl;
	char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_t ctl_thread;
	bool ctl_thread_running;
	int ctl_wake;                /* eventfd that stops the control thread */

	bool verbose;
	uint64_t sleeps;             /* times a blocked call went to sleep (diagnostics) */
};

/* Entering and leaving an entry point (pd.c). enter() locks, lets blocked calls
 * catch up with earlier changes, and brings the stack to the virtual clock. leave()
 * records whether the call changed anything and unlocks. */
void tern__pd_enter(struct pd *pd);
void tern__pd_leave(struct pd *pd, bool changed);

/* Runs one call, sleeping between attempts when `blocking` (pd.c); on the driver
 * thread, moving the clock between attempts instead. `attempt` returns true when
 * the call is over, with its result in *rc; it sets *progress when it changed the
 * stack without finishing (a partial write). The call also ends when the virtual
 * clock reaches `deadline`, with the last attempt's *rc. */
typedef bool (*tern_pd_attempt_fn)(struct pd *pd, void *ctx, long *rc, bool *progress);
long tern__pd_run(struct pd *pd, tern_pd_attempt_fn attempt, void *ctx, bool blocking,
		  tern_time deadline);

/* Descriptors (pd.c): the tern descriptor behind a real one, or -1. */
int tern__pd_lookup(struct pd *pd, int fd);
/* Hands out a fresh real descriptor for tern descriptor `tfd`; returns it, or a
 * negative errno after closing `tfd`. */
int tern__pd_attach(struct pd *pd, int tfd);
/* Forgets a real descriptor and closes it (the call close() of the script). */
void tern__pd_detach(struct pd *pd, int fd);

/* Fills the socket calls of the table (calls.c). */
struct packetdrill_interface;
void tern__pd_fill_calls(struct packetdrill_interface *ifc);

#endif
