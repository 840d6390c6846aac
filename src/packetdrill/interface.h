/*
 * packetdrill/interface.h: the table of entry points packetdrill expects from a
 * shared object loaded with --so_filename (docs: ../shared/spec/packetdrill.md §2).
 *
 * packetdrill looks up one symbol, packetdrill_interface_init, and calls it with the
 * string given as --so_flags and a table to fill in. From then on every system call
 * of the script, every packet it injects or expects, and every clock read or sleep
 * goes through the table. The members below are declared here in tern's own words;
 * what matters is that their number, order and types match packetdrill's table
 * exactly, since packetdrill reads them by position. Each function takes the table's
 * `userdata` first; the remaining parameters and the result follow the libc call of
 * the same name (-1 and errno on failure, Linux's constants and structures).
 */
#ifndef TERN_PACKETDRILL_INTERFACE_H
#define TERN_PACKETDRILL_INTERFACE_H

#include <poll.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

struct packetdrill_interface {
	/* 0: handed back as the first argument of every function below */
	void *userdata;
	/* 1: tears the instance down (packetdrill calls it once, at the very end) */
	void (*free)(void *userdata);
	/* 2-23: the socket calls of a script */
	int (*socket)(void *userdata, int domain, int type, int protocol);
	int (*bind)(void *userdata, int fd, const struct sockaddr *addr, socklen_t addrlen);
	int (*listen)(void *userdata, int fd, int backlog);
	int (*accept)(void *userdata, int fd, struct sockaddr *addr, socklen_t *addrlen);
	int (*connect)(void *userdata, int fd, const struct sockaddr *addr, socklen_t addrlen);
	ssize_t (*read)(void *userdata, int fd, void *buf, size_t count);
	ssize_t (*readv)(void *userdata, int fd, const struct iovec *iov, int iovcnt);
	ssize_t (*recv)(void *userdata, int fd, void *buf, size_t len, int flags);
	ssize_t (*recvfrom)(void *userdata, int fd, void *buf, size_t len, int flags,
			    struct sockaddr *src_addr, socklen_t *addrlen);
	ssize_t (*recvmsg)(void *userdata, int fd, struct msghdr *msg, int flags);
	ssize_t (*write)(void *userdata, int fd, const void *buf, size_t count);
	ssize_t (*writev)(void *userdata, int fd, const struct iovec *iov, int iovcnt);
	ssize_t (*send)(void *userdata, int fd, const void *buf, size_t len, int flags);
	ssize_t (*sendto)(void *userdata, int fd, const void *buf, size_t len, int flags,
			  const struct sockaddr *dest_addr, socklen_t addrlen);
	ssize_t (*sendmsg)(void *userdata, int fd, const struct msghdr *msg, int flags);
	int (*fcntl)(void *userdata, int fd, int cmd, ...);           /* an int argument */
	int (*ioctl)(void *userdata, int fd, unsigned long request, ...);  /* an int * */
	int (*close)(void *userdata, int fd);
	int (*shutdown)(void *userdata, int fd, int how);
	int (*getsockopt)(void *userdata, int fd, int level, int optname, void *optval,
			  socklen_t *optlen);
	int (*setsockopt)(void *userdata, int fd, int level, int optname, const void *optval,
			  socklen_t optlen);
	int (*poll)(void *userdata, struct pollfd *fds, nfds_t nfds, int timeout);
	/* 24-25: the network device: a raw IP datagram into the stack; the next one out
	 * (*count is the buffer's size on entry, the datagram's on return) with the time
	 * it left, in gettimeofday's microseconds */
	int (*netdev_send)(void *userdata, const void *buf, size_t count);
	int (*netdev_receive)(void *userdata, void *buf, size_t *count, long long *time_usecs);
	/* 26-27: the clock */
	int (*usleep)(void *userdata, useconds_t usec);
	int (*gettimeofday)(void *userdata, struct timeval *tv, struct timezone *tz);
	/* 28-30: epoll */
	int (*epoll_create)(void *userdata, int size);
	int (*epoll_ctl)(void *userdata, int epfd, int op, int fd, struct epoll_event *event);
	int (*epoll_wait)(void *userdata, int epfd, struct epoll_event *events, int maxevents,
			  int timeout);
	/* 31-32: pipes and splice (not offered by tern: they fail with ENOSYS) */
	int (*pipe)(void *userdata, int pipefd[2]);
	ssize_t (*splice)(void *userdata, int fd_in, loff_t *off_in, int fd_out, loff_t *off_out,
			  size_t len, unsigned int flags);
};

/* The one exported symbol: fills `ifc` for the options in `flags` (may be NULL). */
void packetdrill_interface_init(const char *flags, struct packetdrill_interface *ifc);

#endif
