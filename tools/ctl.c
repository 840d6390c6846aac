/*
 * tools/ctl.c: the control socket that lets `ss`, `nstat` and `sysctl` act on a
 * running tern stack (tools/ctl.h), plus the small machinery the three tools share.
 *
 * Call chain: a script's shell runs `ss -tanH` from a directory made by
 * `tern shims DIR`, so the `tern` binary starts under the name "ss"; main()
 * (tools/tern.c) hands it to tern_ctl_client, which sends the argv over the unix
 * socket named by $TERN_CTL. The process that owns the stack (the script runner,
 * the packetdrill library) calls tern_ctl_serve whenever the socket is readable;
 * the request runs through tern_tool_run against the live stack and the captured
 * stdout, stderr and exit status go back to the client, which prints them as its
 * own. The tool therefore sees the stack at the very instant of the command, in
 * the owner's virtual time.
 *
 * Wire format (ctl.h): all integers are little-endian u32 (the status i32). Each
 * string's length counts its terminating NUL, which must be present and be the
 * only NUL in it. The server trusts nothing: it accepts without blocking, reads
 * with a short deadline, bounds every length, answers a malformed request with an
 * error (or simply closes), and never lets one client hold it for long.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "tern.h"

/* Request bounds: far above any real command line, far below anything harmful. */
#define CTL_MAX_ARGS      256
#define CTL_MAX_ARG_BYTES 4096
#define CTL_MAX_REQUEST   (64 * 1024)
/* Answers are bounded only by what a tool prints; the client still refuses
 * absurd lengths so that a corrupt answer cannot make it allocate wildly. */
#define CTL_MAX_ANSWER    (256u * 1024 * 1024)

/* How long the server gives one client to deliver its request, to take its answer,
 * and how long one tern_ctl_serve call may spend in all before leaving the rest of
 * the queue for the next call. */
#define CTL_READ_MS       250
#define CTL_WRITE_MS      1000
#define CTL_SERVE_MS      1000
#define CTL_SERVE_MAX     32
/* How long a client waits for its answer: the owner answers when its event loop
 * next looks at the socket, which in a script run is at once. */
#define CTL_CLIENT_MS     60000

/* ------------------------------------------------------------ option parsing */

const char *tern_tool_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

void tern_tool_getopt_init(struct tern_tool_getopt *g, int argc, char **argv, char **ops,
			   const char *prog, FILE *err)
{
	*g = (struct tern_tool_getopt){ .argc = argc, .argv = argv, .prog = prog, .err = err,
					.ind = 1, .ops = ops };
}

static int long_option(struct tern_tool_getopt *g, const struct tern_tool_longopt *longopts)
{
	char *word = g->argv[g->ind++];
	const char *name = word + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct tern_tool_longopt *hit = NULL;
	int matches = 0;

	for (const struct tern_tool_longopt *o = longopts; o && o->name; o++) {
		if (strncmp(o->name, name, len))
			continue;
		if (strlen(o->name) == len) {      /* an exact match wins outright */
			hit = o;
			matches = 1;
			break;
		}
		hit = o;
		matches++;
	}
	if (!matches) {
		fprintf(g->err, "%s: unrecognized option '%s'\n", g->prog, word);
		return '?';
	}
	if (matches > 1) {
		fprintf(g->err, "%s: option '--%.*s' is ambiguous; possibilities:", g->prog, (int)len, name);
		for (const struct tern_tool_longopt *o = longopts; o->name; o++)
			if (!strncmp(o->name, name, len))
				fprintf(g->err, " '--%s'", o->name);
		fputc('\n', g->err);
		return '?';
	}
	g->arg = NULL;
	if (!hit->has_arg) {
		if (eq) {
			fprintf(g->err, "%s: option '--%s' doesn't allow an argument\n", g->prog, hit->name);
			return '?';
		}
		return hit->key;
	}
	if (eq) {
		g->arg = eq + 1;
	} else if (g->ind < g->argc) {
		g->arg = g->argv[g->ind++];
	} else {
		fprintf(g->err, "%s: option '--%s' requires an argument\n", g->prog, hit->name);
		return '?';
	}
	return hit->key;
}

int tern_tool_getopt(struct tern_tool_getopt *g, const char *shortopts,
		     const struct tern_tool_longopt *longopts)
{
	while (!g->sub) {
		if (g->ind >= g->argc)
			return -1;
		char *word = g->argv[g->ind];
		if (!strcmp(word, "--")) {
			for (g->ind++; g->ind < g->argc; g->ind++)
				g->ops[g->nops++] = g->argv[g->ind];
			return -1;
		}
		if (word[0] != '-' || word[1] == '\0') {
			g->ops[g->nops++] = word;
			g->ind++;
			continue;
		}
		if (word[1] == '-')
			return long_option(g, longopts);
		g->sub = 1;
	}

	char *word = g->argv[g->ind];
	char c = word[g->sub++];
	const char *spec = c == ':' ? NULL : strchr(shortopts, c);
	bool last = word[g->sub] == '\0';

	g->arg = NULL;
	if (!spec) {
		fprintf(g->err, "%s: invalid option -- '%c'\n", g->prog, c);
	} else if (spec[1] == ':') {
		if (!last) {
			g->arg = word + g->sub;
		} else if (g->ind + 1 < g->argc) {
			g->arg = g->argv[++g->ind];
		} else {
			fprintf(g->err, "%s: option requires an argument -- '%c'\n", g->prog, c);
			spec = NULL;
		}
		last = true;
	}
	if (last) {
		g->ind++;
		g->sub = 0;
	}
	return spec ? c : '?';
}

/* ------------------------------------------------------------ running a tool */

static int run_tool(struct tern_stack *st, struct tern_nstat_history *hist, int argc, char **argv,
		    FILE *out, FILE *err)
{
	if (argc < 1 || !argv[0]) {
		fputs("tern: no command given\n", err);
		return 2;
	}
	const char *name = tern_tool_basename(argv[0]);
	if (!strcmp(name, "ss"))
		return tern_tool_ss(st, argc, argv, out, err);
	if (!strcmp(name, "nstat"))
		return tern_tool_nstat(st, hist, argc, argv, out, err);
	if (!strcmp(name, "sysctl"))
		return tern_tool_sysctl(st, argc, argv, out, err);
	fprintf(err, "tern: '%s' is not a tool of a tern instance (ss, nstat, sysctl)\n", name);
	return 127;
}

int tern_tool_run(struct tern_stack *st, int argc, char **argv, FILE *out, FILE *err)
{
	return run_tool(st, NULL, argc, argv, out, err);
}

/* ------------------------------------------------------------ I/O helpers */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until `fd` is ready for `events` or the deadline passes: 1, 0 or -1. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Reads exactly `len` bytes before the deadline. 0, or -1 on EOF, error or timeout. */
static int read_full(int fd, void *buf, size_t len, int64_t deadline)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = recv(fd, p, len, MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n == 0) {
			return -1;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_fd(fd, POLLIN, deadline) <= 0)
				return -1;
		} else if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len, int64_t deadline)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline) <= 0)
				return -1;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			return -1;
		}
	}
	return 0;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int read_u32(int fd, uint32_t *v, int64_t deadline)
{
	uint8_t b[4];
	if (read_full(fd, b, 4, deadline) < 0)
		return -1;
	*v = get_u32(b);
	return 0;
}

/* ------------------------------------------------------------ the server */

/* A stream subscriber's buffer: room for a few hundred full-size datagrams. */
#define CTL_SUB_BUFFER    (1024 * 1024)
/* How long closing the server waits for each subscriber to take its END frame. */
#define CTL_SUB_CLOSE_MS  200

struct ctl_sub {
	int fd;                    /* -1: a free slot */
	uint8_t *buf;              /* CTL_SUB_BUFFER bytes; [0, len) waits to be sent */
	size_t len;
	uint64_t drops;            /* datagrams dropped for this subscriber so far */
	bool drops_unreported;     /* a DROPS frame is owed */
};

struct tern_ctl_server {
	int fd;
	bool streams;              /* stream requests allowed */
	struct ctl_sub subs[TERN_CTL_MAX_SUBSCRIBERS];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	/* nstat's history, for the stack it was taken from. */
	const struct tern_stack *hist_owner;
	struct tern_nstat_history hist;
};

int tern_ctl_listen(const char *path, struct tern_ctl_server **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat sb;

	*out = NULL;
	if (!path || !*path)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);

	/* Replace a stale socket (nobody answering), never a live one or a file. */
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode))
			return -EEXIST;
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return -errno;
		int live = connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(probe);
		if (live)
			return -EADDRINUSE;
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
	}

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	struct tern_ctl_server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	srv->fd = fd;
	for (int i = 0; i < TERN_CTL_MAX_SUBSCRIBERS; i++)
		srv->subs[i].fd = -1;
	strcpy(srv->path, path);
	*out = srv;
	return 0;
}

int tern_ctl_fd(const struct tern_ctl_server *srv)
{
	return srv ? srv->fd : -1;
}

static void sub_end(struct ctl_sub *s);

void tern_ctl_close(struct tern_ctl_server *srv)
{
	if (!srv)
		return;
	for (int i = 0; i < TERN_CTL_MAX_SUBSCRIBERS; i++)
		sub_end(&srv->subs[i]);
	close(srv->fd);
	unlink(srv->path);
	free(srv);
}

/* Reads one request into argv (strings in one allocation). 0, or -1 when the
 * request is malformed or does not arrive in time; *why says which. */
static int read_request(int fd, int64_t deadline, int *argc_out, char ***argv_out, const char **why)
{
	uint32_t argc, len;
	size_t total = 0;

	*why = "incomplete request";
	if (read_u32(fd, &argc, deadline) < 0)
		return -1;
	if (argc < 1 || argc > CTL_MAX_ARGS) {
		*why = "bad argument count";
		return -1;
	}
	char **argv = calloc(argc + 1, sizeof(char *));
	if (!argv) {
		*why = "out of memory";
		return -1;
	}
	for (uint32_t i = 0; i < argc; i++) {
		if (read_u32(fd, &len, deadline) < 0)
			goto fail;
		if (len < 1 || len > CTL_MAX_ARG_BYTES || (total += len) > CTL_MAX_REQUEST) {
			*why = "bad argument length";
			goto fail;
		}
		argv[i] = malloc(len);
		if (!argv[i]) {
			*why = "out of memory";
			goto fail;
		}
		if (read_full(fd, argv[i], len, deadline) < 0)
			goto fail;
		if (argv[i][len - 1] != '\0' || memchr(argv[i], '\0', len - 1)) {
			*why = "argument is not one NUL-terminated string";
			goto fail;
		}
	}
	*argc_out = (int)argc;
	*argv_out = argv;
	return 0;
fail:
	for (uint32_t i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	return -1;
}

static void send_answer(int fd, int status, const char *out, size_t outlen, const char *err,
			size_t errlen, int64_t deadline)
{
	uint8_t head[8];

	put_u32(head, (uint32_t)status);
	put_u32(head + 4, (uint32_t)outlen);
	if (write_full(fd, head, 8, deadline) < 0 || write_full(fd, out, outlen, deadline) < 0)
		return;
	put_u32(head, (uint32_t)errlen);
	if (write_full(fd, head, 4, deadline) < 0)
		return;
	write_full(fd, err, errlen, deadline);
}

/* ------------------------------------------------------------ streams */

static void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

static void sub_drop(struct ctl_sub *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	*s = (struct ctl_sub){ .fd = -1 };
}

/* Sends what the buffer holds without blocking. false if the subscriber is gone. */
static bool sub_send(struct ctl_sub *s)
{
	size_t off = 0;
	while (off < s->len) {
		ssize_t n = send(s->fd, s->buf + off, s->len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		} else {
			sub_drop(s);
			return false;
		}
	}
	if (off) {
		memmove(s->buf, s->buf + off, s->len - off);
		s->len -= off;
	}
	return true;
}

static bool sub_append(struct ctl_sub *s, uint32_t flags, uint64_t ts, const void *pkt, size_t len)
{
	if (CTL_SUB_BUFFER - s->len < TERN_CTL_FRAME_HEADER + len)
		return false;
	uint8_t *p = s->buf + s->len;
	put_u32(p, (uint32_t)len);
	put_u32(p + 4, flags);
	put_u64(p + 8, ts);
	if (len)
		memcpy(p + TERN_CTL_FRAME_HEADER, pkt, len);
	s->len += TERN_CTL_FRAME_HEADER + len;
	return true;
}

/* Says goodbye (an END frame, waiting a little for it to go) and frees the slot. */
static void sub_end(struct ctl_sub *s)
{
	if (s->fd < 0)
		return;
	if (!sub_append(s, TERN_CTL_FRAME_END, s->drops, NULL, 0)) {
		s->len = 0;             /* no room: drop the backlog, the END matters more */
		sub_append(s, TERN_CTL_FRAME_END, s->drops, NULL, 0);
	}
	int64_t deadline = now_ms() + CTL_SUB_CLOSE_MS;
	while (s->fd >= 0 && s->len && sub_send(s) && s->len)
		if (wait_fd(s->fd, POLLOUT, deadline) <= 0)
			break;
	sub_drop(s);
}

void tern_ctl_allow_streams(struct tern_ctl_server *srv)
{
	if (srv)
		srv->streams = true;
}

void tern_ctl_publish(struct tern_ctl_server *srv, uint64_t wall_ns, bool out, const void *pkt,
		      size_t len)
{
	if (!srv || len > TERN_CTL_FRAME_MAX)
		return;
	for (int i = 0; i < TERN_CTL_MAX_SUBSCRIBERS; i++) {
		struct ctl_sub *s = &srv->subs[i];
		if (s->fd < 0)
			continue;
		if (s->drops_unreported && sub_append(s, TERN_CTL_FRAME_DROPS, s->drops, NULL, 0))
			s->drops_unreported = false;
		if (s->drops_unreported ||
		    !sub_append(s, out ? TERN_CTL_FRAME_OUT : 0, wall_ns, pkt, len)) {
			s->drops++;
			s->drops_unreported = true;
		}
		sub_send(s);
	}
}

bool tern_ctl_flush(struct tern_ctl_server *srv)
{
	bool pending = false;
	if (!srv)
		return false;
	for (int i = 0; i < TERN_CTL_MAX_SUBSCRIBERS; i++) {
		struct ctl_sub *s = &srv->subs[i];
		if (s->fd < 0)
			continue;
		/* A subscriber sends nothing: readable means it closed (or misbehaves). */
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		if (poll(&p, 1, 0) > 0) {
			char junk[256];
			ssize_t n = recv(s->fd, junk, sizeof(junk), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
			    (p.revents & (POLLHUP | POLLERR))) {
				sub_drop(s);
				continue;
			}
		}
		if (s->len && sub_send(s) && s->len)
			pending = true;
	}
	return pending;
}

/* Turns the connection into a subscriber. true if it now owns `fd`. */
static bool subscribe(struct tern_ctl_server *srv, int fd, int64_t deadline)
{
	static const char no[] = "tern: this tern instance does not stream packets "
				 "(only tern serve and tern connect do)\n";
	char msg[128];

	if (!srv->streams) {
		send_answer(fd, 1, "", 0, no, sizeof(no) - 1, deadline);
		return false;
	}
	tern_ctl_flush(srv);        /* frees the slots of subscribers that left */
	struct ctl_sub *s = NULL;
	for (int i = 0; i < TERN_CTL_MAX_SUBSCRIBERS && !s; i++)
		if (srv->subs[i].fd < 0)
			s = &srv->subs[i];
	uint8_t *buf = s ? malloc(CTL_SUB_BUFFER) : NULL;
	if (!buf) {
		int n = snprintf(msg, sizeof(msg), s ? "tern: out of memory\n"
						     : "tern: too many trace/pcap clients on this "
						       "instance (at most %d)\n", TERN_CTL_MAX_SUBSCRIBERS);
		send_answer(fd, 1, "", 0, msg, (size_t)n, deadline);
		return false;
	}
	uint8_t ok[12] = { 0 };
	if (write_full(fd, ok, sizeof(ok), deadline) < 0) {
		free(buf);
		return false;
	}
	*s = (struct ctl_sub){ .fd = fd, .buf = buf };
	return true;
}

/* Answers one request; true if the connection was kept (a stream subscriber). */
static bool serve_one(struct tern_ctl_server *srv, struct tern_stack *st, int fd)
{
	int argc;
	char **argv;
	const char *why;
	int64_t start = now_ms();

	if (read_request(fd, start + CTL_READ_MS, &argc, &argv, &why) < 0) {
		char msg[128];
		int n = snprintf(msg, sizeof(msg), "tern: malformed control request (%s)\n", why);
		send_answer(fd, 2, "", 0, msg, (size_t)n, now_ms() + CTL_READ_MS);
		return false;
	}
	if (!strcmp(argv[0], "trace") || !strcmp(argv[0], "pcap")) {
		bool kept = subscribe(srv, fd, now_ms() + CTL_WRITE_MS);
		for (int i = 0; i < argc; i++)
			free(argv[i]);
		free(argv);
		return kept;
	}

	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	FILE *fo = open_memstream(&out, &outlen);
	FILE *fe = open_memstream(&err, &errlen);
	int status;
	if (!fo || !fe) {
		status = 2;
	} else {
		if (srv->hist_owner != st) {    /* another stack: its history starts afresh */
			srv->hist_owner = st;
			srv->hist.valid = false;
		}
		status = run_tool(st, &srv->hist, argc, argv, fo, fe);
	}
	if (fo)
		fclose(fo);
	if (fe)
		fclose(fe);
	if (!fo || !fe) {
		static const char oom[] = "tern: out of memory\n";
		send_answer(fd, status, "", 0, oom, sizeof(oom) - 1, now_ms() + CTL_WRITE_MS);
	} else {
		send_answer(fd, status, out, outlen, err, errlen, now_ms() + CTL_WRITE_MS);
	}
	free(out);
	free(err);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	return false;
}

void tern_ctl_serve(struct tern_ctl_server *srv, struct tern_stack *st)
{
	if (!srv)
		return;
	int64_t deadline = now_ms() + CTL_SERVE_MS;
	for (int served = 0; served < CTL_SERVE_MAX && now_ms() < deadline; served++) {
		int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;     /* EAGAIN: nothing pending; anything else: try next time */
		}
		if (!serve_one(srv, st, fd))
			close(fd);
	}
}

/* ------------------------------------------------------------ the client */

static int client_fail(const char *what, const char *path, int e)
{
	if (e)
		fprintf(stderr, "tern: %s at %s: %s\n", what, path, strerror(e));
	else
		fprintf(stderr, "tern: %s at %s\n", what, path);
	return 1;
}

static int write_all_fd(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one length-prefixed block of the answer and writes it to `to`. */
static int relay_block(int sock, int to, int64_t deadline)
{
	uint32_t len;
	char buf[16384];

	if (read_u32(sock, &len, deadline) < 0 || len > CTL_MAX_ANSWER)
		return -1;
	while (len) {
		size_t chunk = len < sizeof(buf) ? len : sizeof(buf);
		if (read_full(sock, buf, chunk, deadline) < 0)
			return -1;
		write_all_fd(to, buf, chunk);   /* a closed stdout (`| head`) is not our error */
		len -= (uint32_t)chunk;
	}
	return 0;
}

int tern_ctl_client(int argc, char **argv)
{
	const char *path = getenv("TERN_CTL");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (argc < 1 || !argv[0]) {
		fputs("tern: no command given\n", stderr);
		return 2;
	}
	if (!path || !*path) {
		fprintf(stderr, "tern: no tern instance for '%s' ($TERN_CTL is not set)\n",
			tern_tool_basename(argv[0]));
		return 1;
	}
	if (strlen(path) >= sizeof(sa.sun_path))
		return client_fail("no tern instance", path, ENAMETOOLONG);
	if (argc > CTL_MAX_ARGS) {
		fprintf(stderr, "tern: too many arguments (%d; at most %d)\n", argc, CTL_MAX_ARGS);
		return 2;
	}

	/* The request, built whole so that it leaves in one write. */
	size_t total = 4, strings = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = i ? argv[i] : tern_tool_basename(argv[0]);
		size_t len = strlen(a) + 1;
		if (len > CTL_MAX_ARG_BYTES) {
			fprintf(stderr, "tern: argument %d is too long (%zu bytes; at most %d)\n", i,
				len - 1, CTL_MAX_ARG_BYTES - 1);
			return 2;
		}
		strings += len;
		total += 4 + len;
	}
	if (strings > CTL_MAX_REQUEST) {
		fprintf(stderr, "tern: command line too long (at most %d bytes)\n", CTL_MAX_REQUEST);
		return 2;
	}
	uint8_t *req = malloc(total), *p = req;
	if (!req) {
		fputs("tern: out of memory\n", stderr);
		return 1;
	}
	put_u32(p, (uint32_t)argc);
	p += 4;
	for (int i = 0; i < argc; i++) {
		const char *a = i ? argv[i] : tern_tool_basename(argv[0]);
		size_t len = strlen(a) + 1;
		put_u32(p, (uint32_t)len);
		memcpy(p + 4, a, len);
		p += 4 + len;
	}

	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		free(req);
		return client_fail("no tern instance", path, e);
	}
	int64_t deadline = now_ms() + CTL_CLIENT_MS;
	int rc = write_full(fd, req, total, deadline);
	free(req);
	if (rc < 0) {
		close(fd);
		return client_fail("cannot send the command to the tern instance", path, errno);
	}

	uint32_t status;
	if (read_u32(fd, &status, deadline) < 0 || relay_block(fd, STDOUT_FILENO, deadline) < 0 ||
	    relay_block(fd, STDERR_FILENO, deadline) < 0) {
		close(fd);
		return client_fail("no answer from the tern instance", path, 0);
	}
	close(fd);
	return (int)(status & 0xff);
}

int tern_ctl_stream_open(const char *prog, const char *path, const char *kind)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t req[32];
	size_t klen = strlen(kind) + 1;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: no tern instance at %s: %s\n", prog, path, strerror(ENAMETOOLONG));
		return -1;
	}
	if (klen + 8 > sizeof(req))
		return -1;
	put_u32(req, 1);
	put_u32(req + 4, (uint32_t)klen);
	memcpy(req + 8, kind, klen);

	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "%s: no tern instance at %s: %s\n", prog, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int64_t deadline = now_ms() + CTL_CLIENT_MS;
	uint32_t status, outlen, errlen;
	if (write_full(fd, req, 8 + klen, deadline) < 0 || read_u32(fd, &status, deadline) < 0 ||
	    read_u32(fd, &outlen, deadline) < 0 || outlen > CTL_MAX_ANSWER) {
		fprintf(stderr, "%s: no answer from the tern instance at %s\n", prog, path);
		close(fd);
		return -1;
	}
	char msg[512];
	while (outlen) {               /* a stream's answer has none; skip any */
		uint32_t chunk = outlen < sizeof(msg) ? outlen : (uint32_t)sizeof(msg);
		if (read_full(fd, msg, chunk, deadline) < 0)
			break;
		outlen -= chunk;
	}
	if (outlen || read_u32(fd, &errlen, deadline) < 0 || errlen > CTL_MAX_ANSWER) {
		fprintf(stderr, "%s: no answer from the tern instance at %s\n", prog, path);
		close(fd);
		return -1;
	}
	size_t keep = errlen < sizeof(msg) - 1 ? errlen : sizeof(msg) - 1;
	if (read_full(fd, msg, keep, deadline) < 0)
		keep = 0;
	msg[keep] = '\0';
	if (status != 0) {
		const char *text = msg;
		if (!strncmp(text, "tern: ", 6))
			text += 6;
		text = *text ? text : "the instance refused the request\n";
		fprintf(stderr, "%s: %s%s", prog, text, text[strlen(text) - 1] == '\n' ? "" : "\n");
		close(fd);
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------------ shims */

int tern_ctl_make_shims(const char *dir, const char *self_path)
{
	static const char *const names[] = { "ss", "nstat", "sysctl" };
	char path[4096];
	struct stat sb;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		if (lstat(path, &sb) == 0) {
			if (!S_ISLNK(sb.st_mode))
				return -EEXIST;     /* a real file: not ours to replace */
			if (unlink(path) < 0)
				return -errno;
		}
		if (symlink(self_path, path) < 0)
			return -errno;
	}
	return 0;
}

int tern_cmd_shims(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		bool help = argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
		fputs("usage: tern shims DIR\n"
		      "\n"
		      "Creates DIR/ss, DIR/nstat and DIR/sysctl as links to this tern binary.\n"
		      "Run under those names, tern forwards the command to the tern instance\n"
		      "whose control socket $TERN_CTL names, and prints what the real tool\n"
		      "would print for that instance's stack.\n", help ? stdout : stderr);
		return help ? 0 : 2;
	}
	const char *dir = argv[1];
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || n >= (ssize_t)sizeof(self) - 1) {
		fprintf(stderr, "tern shims: cannot find this binary: %s\n", strerror(errno));
		return 1;
	}
	self[n] = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "tern shims: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	int e = tern_ctl_make_shims(dir, self);
	if (e < 0) {
		fprintf(stderr, "tern shims: cannot create the links in %s: %s\n", dir, strerror(-e));
		return 1;
	}
	return 0;
}

int tern_cmd_ss(int argc, char **argv)
{
	return tern_ctl_client(argc, argv);
}

int tern_cmd_nstat(int argc, char **argv)
{
	return tern_ctl_client(argc, argv);
}
