/*
 * bench/linux_bulk.c: the kernel's side of `tern bench bulk`.
 *
 * One-direction throughput over loopback: a sender thread writes the stream in
 * 64 KiB writes, a receiver thread reads it in 64 KiB reads and throws it away.
 * Socket buffers are the kernel's defaults (tcp_wmem/tcp_rmem with autotuning),
 * as an ordinary application gets them. The time runs from the moment the
 * connection is established until the receiver has the last byte; goodput is
 * application bytes received over that time.
 *
 *   linux-bulk [--bytes N]        (default 4 GiB)
 *
 * The stream carries a pattern that depends on each byte's offset (with a prime
 * period, so a 64 KiB write moved, lost or repeated shows), and the receiver checks
 * one read in sixteen in full: a cheap sign that the bytes are the ones sent.
 *
 * Output: one JSON object on stdout: {"gbps", "bytes", "wall_s", "mode", ...},
 * with the buffer sizes autotuning reached by the end (rcvbuf_end, sndbuf_end).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536u
#define PERIOD 65521u          /* the largest prime below 64 Ki */

static uint8_t pattern[PERIOD + CHUNK];

struct rx {
	int lfd;
	uint64_t want;            /* bytes to receive */
	uint64_t got;
	uint64_t bad;             /* sampled reads whose bytes were wrong */
	double t_end;
	int rcvbuf;               /* SO_RCVBUF at the end: where autotuning went */
	int err;
};

static double now_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *receiver(void *arg)
{
	struct rx *rx = arg;
	int fd = accept(rx->lfd, NULL, NULL);
	if (fd < 0) {
		rx->err = errno;
		return NULL;
	}
	uint8_t *buf = malloc(CHUNK);
	if (!buf) {
		rx->err = ENOMEM;
		close(fd);
		return NULL;
	}
	uint64_t reads = 0;
	while (rx->got < rx->want) {
		ssize_t n = read(fd, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rx->err = n < 0 ? errno : EPIPE;
			break;
		}
		if ((reads++ & 15) == 0 &&
		    memcmp(buf, pattern + rx->got % PERIOD, (size_t)n) != 0)
			rx->bad++;
		rx->got += (uint64_t)n;
	}
	rx->t_end = now_s(CLOCK_MONOTONIC);
	socklen_t sl = sizeof(rx->rcvbuf);
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rx->rcvbuf, &sl);
	free(buf);
	close(fd);
	return NULL;
}

static int fail(const char *what, int err)
{
	printf("{\"error\":\"%s: %s\"}\n", what, strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	uint64_t bytes = 4ull << 30;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--bytes") && i + 1 < argc) {
			char *end;
			const char *v = argv[++i];
			unsigned long long x = strtoull(v, &end, 0);
			if (end == v || *end || x == 0 || v[0] == '-') {
				fprintf(stderr, "linux-bulk: bad --bytes '%s'\n", v);
				return 2;
			}
			bytes = x;
		} else {
			fprintf(stderr, "linux-bulk: unknown argument '%s'\n"
				"usage: linux-bulk [--bytes N]\n", argv[i]);
			return 2;
		}
	}
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)((i % PERIOD) * 131u + 7u);

	struct rx rx = { .want = bytes };
	rx.lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (rx.lfd < 0)
		return fail("socket", errno);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	if (bind(rx.lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(rx.lfd, 1) < 0 ||
	    getsockname(rx.lfd, (struct sockaddr *)&a, &alen) < 0)
		return fail("listen", errno);

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket", errno);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return fail("connect", errno);
	pthread_t th;
	int r = pthread_create(&th, NULL, receiver, &rx);
	if (r != 0)
		return fail("pthread_create", r);

	double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
	uint64_t sent = 0;
	int err = 0;
	while (sent < bytes) {
		size_t n = bytes - sent < CHUNK ? (size_t)(bytes - sent) : CHUNK;
		ssize_t w = write(fd, pattern + sent % PERIOD, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = errno;
			break;
		}
		sent += (uint64_t)w;
	}
	pthread_join(th, NULL);
	double cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	int sndbuf = 0;
	socklen_t sl = sizeof(sndbuf);
	getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl);
	close(fd);
	close(rx.lfd);
	if (err)
		return fail("write", err);
	if (rx.err)
		return fail("read", rx.err);
	if (rx.bad) {
		printf("{\"error\":\"%llu sampled reads carried the wrong bytes\"}\n",
		       (unsigned long long)rx.bad);
		return 1;
	}
	double wall = rx.t_end - t0;
	printf("{\"gbps\":%.3f,\"bytes\":%llu,\"wall_s\":%.6f,\"cpu_s\":%.6f,"
	       "\"rcvbuf_end\":%d,\"sndbuf_end\":%d,\"mode\":\"loopback, sender and receiver threads, 64 KiB writes and reads, default buffers\"}\n",
	       wall > 0 ? (double)rx.got * 8 / wall / 1e9 : 0.0,
	       (unsigned long long)rx.got, wall, cpu, rx.rcvbuf, sndbuf);
	return 0;
}
