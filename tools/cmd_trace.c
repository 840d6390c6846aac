/*
 * tools/cmd_trace.c: `tern trace` and `tern pcap FILE`, live views of a running
 * instance (`tern serve`, `tern connect`) through its control socket.
 *
 * Both ask the instance for its packet stream (tools/ctl.h: every datagram the
 * stack reads or writes, framed with a wall-clock stamp) and stop on Ctrl-C
 * (SIGINT, SIGTERM, SIGHUP), after --count datagrams, after --duration seconds, or
 * when the instance stops. `trace` prints one line per datagram (tools/trace.c:
 * seconds since the first datagram, endpoints, the segment in packetdrill syntax
 * with sequence numbers relative to each side's ISN); `pcap` writes a classic
 * pcap file (tern/pcap.h, LINKTYPE_RAW, nanosecond wall-clock stamps). The
 * instance never waits for a slow reader: it drops what does not fit in the
 * reader's buffer and says how many, and the summary on stderr reports them.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "tern.h"
#include "tern/errors.h"
#include "tern/pcap.h"
#include "trace.h"

#define MAX_DURATION_S (366.0 * 86400)

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads exactly `len` bytes. 1 done, 0 EOF before any byte of it, -1 error or EOF
 * midway, -2 stopped (signal or the deadline, -1 for none). */
static int read_exact(int fd, void *buf, size_t len, int64_t deadline)
{
	uint8_t *p = buf;
	size_t got = 0;
	while (got < len) {
		if (stop_signal)
			return -2;
		int wait = -1;
		if (deadline >= 0) {
			int64_t left = deadline - mono_ms();
			if (left <= 0)
				return -2;
			wait = left > 1000 ? 1000 : (int)left;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n = poll(&pfd, 1, wait);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n <= 0)
			continue;
		ssize_t r = read(fd, p + got, len - got);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			return got ? -1 : 0;
		else if (errno != EINTR && errno != EAGAIN)
			return -1;
	}
	return 1;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int usage(const char *prog, bool pcap, bool help)
{
	fprintf(help ? stdout : stderr,
		"usage: %s [--ctl PATH] [--count N] [--duration SECONDS]%s%s\n"
		"\n"
		"%s"
		"\n"
		"  --ctl PATH          the instance's control socket (default $TERN_CTL)\n"
		"  --count N, -c N     stop after N datagrams\n"
		"  --duration SECONDS  stop after this long\n"
		"%s"
		"\n"
		"Stops on Ctrl-C too, and when the instance stops. A reader too slow for the\n"
		"instance loses datagrams rather than slowing it down; the summary on stderr\n"
		"counts them.\n",
		prog, pcap ? "" : " [--wall]", pcap ? " FILE" : "",
		pcap ? "Captures every datagram a running tern instance reads or writes to FILE\n"
		       "(classic pcap, LINKTYPE_RAW, nanosecond wall-clock stamps).\n"
		     : "Prints one line per datagram a running tern instance reads or writes:\n"
		       "seconds since the first, endpoints, and the TCP segment in packetdrill\n"
		       "syntax (sequence numbers relative to each side's ISN).\n",
		pcap ? "" : "  --wall              start each line with the wall-clock time\n");
	return help ? 0 : 2;
}

static int run(int argc, char **argv, bool pcap)
{
	const char *prog = pcap ? "tern pcap" : "tern trace";
	static const struct tern_tool_longopt longopts[] = {
		{ "ctl", true, 'C' }, { "count", true, 'c' }, { "duration", true, 'd' },
		{ "wall", false, 'w' }, { "help", false, 'h' }, { NULL, false, 0 },
	};
	struct tern_tool_getopt g;
	char **ops = calloc((size_t)argc + 1, sizeof(char *));
	const char *ctl = getenv("TERN_CTL");
	unsigned long long count = 0;
	double duration = 0;
	bool wall = false;
	int key;
	char *end;

	if (!ops) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	tern_tool_getopt_init(&g, argc, argv, ops, prog, stderr);
	while ((key = tern_tool_getopt(&g, "c:h", longopts)) != -1) {
		switch (key) {
		case 'C':
			if (!*g.arg) {
				fprintf(stderr, "%s: --ctl: empty path\n", prog);
				goto bad;
			}
			ctl = g.arg;
			break;
		case 'c':
			errno = 0;
			count = strtoull(g.arg, &end, 10);
			if (errno || end == g.arg || *end || g.arg[0] == '-' || count == 0) {
				fprintf(stderr, "%s: --count: '%s' is not a positive integer\n", prog, g.arg);
				goto bad;
			}
			break;
		case 'd':
			errno = 0;
			duration = strtod(g.arg, &end);
			if (errno || end == g.arg || *end || !isfinite(duration) || duration <= 0 ||
			    duration > MAX_DURATION_S) {
				fprintf(stderr, "%s: --duration: '%s' is not a number of seconds in (0, %.0f]\n",
					prog, g.arg, MAX_DURATION_S);
				goto bad;
			}
			break;
		case 'w':
			if (pcap) {
				fprintf(stderr, "%s: unrecognized option '--wall'\n", prog);
				goto bad;
			}
			wall = true;
			break;
		case 'h':
			free(ops);
			return usage(prog, pcap, true);
		default:
			goto bad;   /* the getopt printed the one line */
		}
	}
	const char *file = NULL;
	if (pcap) {
		if (g.nops != 1) {
			fprintf(stderr, g.nops ? "%s: one FILE only\n" : "%s: no FILE given\n", prog);
			goto bad;
		}
		file = ops[0];
	} else if (g.nops) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, ops[0]);
		goto bad;
	}
	if (!ctl || !*ctl) {
		fprintf(stderr, "%s: no tern instance (give --ctl PATH or set $TERN_CTL)\n", prog);
		free(ops);
		return 1;
	}

	/* Signals first, so that a Ctrl-C right after connecting still ends cleanly. */
	struct sigaction sa = { .sa_handler = on_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int fd = tern_ctl_stream_open(prog, ctl, pcap ? "pcap" : "trace");
	if (fd < 0) {
		free(ops);
		return 1;
	}
	struct tern_pcap_writer *pw = NULL;
	if (pcap) {
		int rc = tern_pcap_open(file, &pw);
		if (rc < 0) {
			fprintf(stderr, "%s: cannot create %s: %s\n", prog, file, tern_strerror(rc));
			close(fd);
			free(ops);
			return 1;
		}
	}

	struct tern_trace *tr = pcap ? NULL : malloc(sizeof(*tr));
	uint8_t *pkt = malloc(TERN_CTL_FRAME_MAX);
	if ((!pcap && !tr) || !pkt) {
		fprintf(stderr, "%s: out of memory\n", prog);
		tern_pcap_close(pw);
		close(fd);
		free(tr);
		free(pkt);
		free(ops);
		return 1;
	}
	if (tr)
		tern_trace_init(tr);

	int64_t deadline = duration > 0 ? mono_ms() + (int64_t)ceil(duration * 1000) : -1;
	unsigned long long seen = 0;
	uint64_t drops = 0, first = 0;
	const char *why = NULL;         /* how it ended, when not by our own choice */
	int status = 0;
	char line[1024];

	while (!count || seen < count) {
		uint8_t head[TERN_CTL_FRAME_HEADER];
		int r = read_exact(fd, head, sizeof(head), deadline);
		if (r == -2)
			break;
		if (r == 0) {
			why = "the instance closed the stream";
			break;
		}
		uint32_t len = le32(head), flags = le32(head + 4);
		uint64_t ts = (uint64_t)le32(head + 8) | (uint64_t)le32(head + 12) << 32;
		if (r < 0 || len > TERN_CTL_FRAME_MAX) {
			why = "the stream broke off";
			status = 1;
			break;
		}
		if (len && (r = read_exact(fd, pkt, len, deadline)) != 1) {
			if (r == -2)
				break;
			why = "the stream broke off";
			status = 1;
			break;
		}
		if (flags & TERN_CTL_FRAME_END) {
			why = "the instance stopped";
			drops = ts > drops ? ts : drops;
			break;
		}
		if (flags & TERN_CTL_FRAME_DROPS) {
			drops = ts;
			continue;
		}
		if (!seen)
			first = ts;
		seen++;
		if (pw) {
			if (tern_pcap_write(pw, (tern_time)ts, pkt, len) < 0) {
				why = "cannot write the file";
				status = 1;
				break;
			}
			continue;
		}
		int n = tern_trace_line(tr, (tern_time)(ts - first), pkt, len, line, sizeof(line));
		if (n < 0)
			continue;
		if (wall) {
			time_t sec = (time_t)(ts / 1000000000u);
			struct tm tm;
			localtime_r(&sec, &tm);
			printf("%02d:%02d:%02d.%06u ", tm.tm_hour, tm.tm_min, tm.tm_sec,
			       (unsigned)(ts % 1000000000u / 1000));
		}
		fputs(line, stdout);
		putchar('\n');
		if (fflush(stdout) == EOF && errno == EPIPE)
			break;              /* `| head`: the reader has seen enough */
	}
	close(fd);
	if (pw && tern_pcap_close(pw) < 0) {
		fprintf(stderr, "%s: error writing %s\n", prog, file);
		status = 1;
	}
	if (why)
		fprintf(stderr, "%s: %s\n", prog, why);
	fprintf(stderr, "%s: %llu datagram%s, %llu dropped by the instance (reader too slow)\n", prog,
		seen, seen == 1 ? "" : "s", (unsigned long long)drops);
	free(tr);
	free(pkt);
	free(ops);
	return status;
bad:
	free(ops);
	return 2;
}

int tern_cmd_trace(int argc, char **argv)
{
	return run(argc, argv, false);
}

int tern_cmd_pcap(int argc, char **argv)
{
	return run(argc, argv, true);
}
