/*
 * tern/socket.h: the BSD-shaped socket API of a tern stack.
 *
 * Calls mirror their libc namesakes, with Linux's constants and Linux's errors,
 * returned as negative errno values (-TERN_ECONNREFUSED). Descriptors are small
 * integers private to one stack, handed out lowest-free from 3 as a process's are.
 *
 * No call ever blocks: the stack is sans-I/O and single-threaded. A call that would
 * block on Linux returns at once (-TERN_EAGAIN, or -TERN_EINPROGRESS for connect),
 * and the driver waits for readiness (tern_poll / tern_epoll_wait) while it moves
 * time forward, then retries. O_NONBLOCK is still recorded per socket so drivers
 * that emulate blocking calls (the packetdrill adapter) know which calls to wait on.
 *
 * Every call acts at the stack's current time: the latest `now` given to
 * tern_stack_input or tern_stack_advance. Advance the stack before calling when
 * time has moved.
 */
#ifndef TERN_SOCKET_H
#define TERN_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tern/stack.h"
#include "tern/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An endpoint: address and port (host byte order). */
struct tern_sockaddr {
	struct tern_addr addr;   /* family TERN_AF_INET; address 0 is the wildcard */
	uint16_t port;
};

/* socket() */
#define TERN_SOCK_STREAM   1
#define TERN_SOCK_NONBLOCK 04000     /* Linux's O_NONBLOCK, also accepted in type */
#define TERN_SOCK_CLOEXEC  02000000  /* accepted and ignored: no exec here */
#define TERN_IPPROTO_IP    0

/* fcntl() */
#define TERN_F_GETFL 3
#define TERN_F_SETFL 4
#define TERN_O_NONBLOCK 04000
#define TERN_O_RDWR 02

/* shutdown() */
#define TERN_SHUT_RD   0
#define TERN_SHUT_WR   1
#define TERN_SHUT_RDWR 2

/* send()/recv() flags */
#define TERN_MSG_PEEK     0x02
#define TERN_MSG_DONTWAIT 0x40
#define TERN_MSG_WAITALL  0x100
#define TERN_MSG_NOSIGNAL 0x4000

/* Option levels and names, with Linux's values. */
#define TERN_SOL_SOCKET 1
#define TERN_SOL_TCP    6
#define TERN_SO_REUSEADDR 2
#define TERN_SO_TYPE      3
#define TERN_SO_ERROR     4
#define TERN_SO_SNDBUF    7
#define TERN_SO_RCVBUF    8
#define TERN_SO_KEEPALIVE 9
#define TERN_SO_LINGER    13
#define TERN_SO_REUSEPORT 15
#define TERN_SO_ACCEPTCONN 30
#define TERN_TCP_NODELAY      1
#define TERN_TCP_MAXSEG       2
#define TERN_TCP_CORK         3
#define TERN_TCP_KEEPIDLE     4
#define TERN_TCP_KEEPINTVL    5
#define TERN_TCP_KEEPCNT      6
#define TERN_TCP_SYNCNT       7
#define TERN_TCP_LINGER2      8
#define TERN_TCP_DEFER_ACCEPT 9
#define TERN_TCP_WINDOW_CLAMP 10
#define TERN_TCP_QUICKACK     12
#define TERN_TCP_CONGESTION   13
#define TERN_TCP_USER_TIMEOUT 18

/* SO_LINGER's value, laid out as Linux's struct linger. */
struct tern_linger {
	int l_onoff;
	int l_linger;   /* seconds */
};

/* Readiness bits, with poll(2)'s values. */
#define TERN_POLLIN    0x001
#define TERN_POLLPRI   0x002
#define TERN_POLLOUT   0x004
#define TERN_POLLERR   0x008
#define TERN_POLLHUP   0x010
#define TERN_POLLNVAL  0x020
#define TERN_POLLRDNORM 0x040
#define TERN_POLLWRNORM 0x100
#define TERN_POLLRDHUP 0x2000
#define TERN_EPOLLET   (1u << 31)
#define TERN_EPOLLONESHOT (1u << 30)

int tern_socket(struct tern_stack *st, int domain, int type, int protocol);
int tern_bind(struct tern_stack *st, int fd, const struct tern_sockaddr *addr);
int tern_listen(struct tern_stack *st, int fd, int backlog);
/* Returns the new descriptor; `peer` (may be NULL) gets the remote end. `flags`
 * takes TERN_SOCK_NONBLOCK as accept4() does. */
int tern_accept(struct tern_stack *st, int fd, struct tern_sockaddr *peer, int flags);
int tern_connect(struct tern_stack *st, int fd, const struct tern_sockaddr *addr);
ssize_t tern_send(struct tern_stack *st, int fd, const void *buf, size_t len, int flags);
ssize_t tern_recv(struct tern_stack *st, int fd, void *buf, size_t len, int flags);
int tern_shutdown(struct tern_stack *st, int fd, int how);
/* Closes (spec §6.2). With SO_LINGER on and a linger time, Linux's close() waits
 * until our FIN is acknowledged or the time runs out; tern returns -EINPROGRESS
 * instead, keeps the descriptor (closed to every call but tern_poll, which reports
 * POLLHUP when the wait is over, and tern_close), and finishes on the next
 * tern_close (which answers -EINPROGRESS again while the wait lasts). */
int tern_close(struct tern_stack *st, int fd);
int tern_getsockname(struct tern_stack *st, int fd, struct tern_sockaddr *out);
int tern_getpeername(struct tern_stack *st, int fd, struct tern_sockaddr *out);
int tern_setsockopt(struct tern_stack *st, int fd, int level, int name, const void *val, size_t len);
/* `*len` is the buffer size on entry and the value's size on return. */
int tern_getsockopt(struct tern_stack *st, int fd, int level, int name, void *val, size_t *len);
/* F_GETFL returns the flags; F_SETFL sets O_NONBLOCK from `arg` (other bits ignored). */
int tern_fcntl(struct tern_stack *st, int fd, int cmd, int arg);

/* poll(2) without the wait: fills revents and returns how many entries have any. */
struct tern_pollfd {
	int fd;
	short events;
	short revents;
};
int tern_poll(struct tern_stack *st, struct tern_pollfd *fds, size_t nfds);

/* epoll without the wait. Level-triggered unless TERN_EPOLLET is in `events`. */
#define TERN_EPOLL_CTL_ADD 1
#define TERN_EPOLL_CTL_DEL 2
#define TERN_EPOLL_CTL_MOD 3
struct tern_epoll_event {
	uint32_t events;
	uint64_t data;
};
int tern_epoll_create(struct tern_stack *st);
int tern_epoll_ctl(struct tern_stack *st, int epfd, int op, int fd, const struct tern_epoll_event *ev);
/* Returns up to `max` ready events now (0 if none): the driver waits, not tern. */
int tern_epoll_wait(struct tern_stack *st, int epfd, struct tern_epoll_event *evs, int max);

#ifdef __cplusplus
}
#endif
#endif
