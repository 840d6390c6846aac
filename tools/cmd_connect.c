/*
 * tools/cmd_connect.c: `tern connect`, tern as the client of a kernel server.
 *
 *   tern connect --netns demo --port 5001 --send 1000000 \
 *       --exec 'nc -l -N 192.0.2.1 5001 >/tmp/got'
 *
 * The host is tools/tunhost.c, as for `tern serve`. `--exec` starts a shell
 * command once the device is up, inside the namespace (the command inherits it),
 * which is how a kernel server comes to exist in a namespace this command creates.
 * tern then connects to --peer:--port, retrying refused attempts until
 * CONNECT_RETRY_NS has passed (the server may not be listening yet), sends --send
 * bytes of the http application's body pattern (app_http_body_byte, so the far end
 * can check them), half-closes, reads to the end (into --output if given) and
 * closes. Either side may half-close first: sending goes on after the server's
 * FIN, and reading after ours. Exit status 0 when the whole exchange completed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "tern.h"
#include "tern/errors.h"
#include "tern/socket.h"
#include "tunhost.h"

/* How long refused connection attempts are retried, and how often. */
#define CONNECT_RETRY_NS (10 * TERN_NS_PER_SEC)
#define CONNECT_RETRY_GAP_NS (100 * TERN_NS_PER_MS)

enum { OPT_PORT = TUNHOST_OPT_END, OPT_SEND, OPT_OUTPUT, OPT_EXEC, OPT_HELP };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tern connect --port N [--send BYTES] [--output FILE] [--exec CMD] [options]\n"
		"\n"
		"tern connects to the kernel's address (--peer) on port N, sends BYTES bytes of\n"
		"64-byte text lines, half-closes, reads until the server closes and closes.\n"
		"\n"
		"  --port N            the server's port\n"
		"  --send BYTES        how much to send (default 0)\n"
		"  --output FILE       write what the server sent to FILE\n"
		"  --exec CMD          run `sh -c CMD` once the device is up (in --netns)\n"
		"%s",
		tunhost_usage);
}

static pid_t spawn(const char *cmd)
{
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void reap(pid_t pid)
{
	int status;
	if (pid <= 0)
		return;
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGTERM);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
}

int tern_cmd_connect(int argc, char **argv)
{
	static const struct tern_tool_longopt longopts[] = {
		TUNHOST_LONGOPTS,
		{ "port", true, OPT_PORT }, { "send", true, OPT_SEND }, { "output", true, OPT_OUTPUT },
		{ "exec", true, OPT_EXEC }, { "help", false, OPT_HELP }, { NULL, false, 0 },
	};
	static struct tunhost h;
	struct tunhost_opts o;
	struct tern_tool_getopt g;
	const char *output = NULL, *exec_cmd = NULL;
	unsigned long long port = 0, send_total = 0;
	char *end;
	int key;

	tunhost_opts_init(&o);
	char **ops = calloc((size_t)argc + 1, sizeof(char *));
	if (!ops)
		return 1;
	tern_tool_getopt_init(&g, argc, argv, ops, "tern connect", stderr);
	while ((key = tern_tool_getopt(&g, "hv", longopts)) != -1) {
		switch (key) {
		case OPT_PORT:
			errno = 0;
			port = strtoull(g.arg, &end, 10);
			if (errno || *end || !*g.arg || g.arg[0] == '-' || port == 0 || port > 65535) {
				fprintf(stderr, "tern connect: --port: '%s' is not in 1..65535\n", g.arg);
				goto bad;
			}
			break;
		case OPT_SEND:
			errno = 0;
			send_total = strtoull(g.arg, &end, 10);
			if (errno || *end || !*g.arg || g.arg[0] == '-' || send_total > (1ull << 40)) {
				fprintf(stderr, "tern connect: --send: '%s' is not a byte count\n", g.arg);
				goto bad;
			}
			break;
		case OPT_OUTPUT:
			output = g.arg;
			break;
		case OPT_EXEC:
			exec_cmd = g.arg;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			free(ops);
			return 0;
		case 'v':
			o.verbose++;
			break;
		case '?':
			goto bad;
		default:
			if (tunhost_option(&o, "tern connect", key, g.arg) < 0)
				goto bad;
		}
	}
	if (g.nops) {
		fprintf(stderr, "tern connect: unexpected argument '%s'\n", ops[0]);
		goto bad;
	}
	free(ops);
	if (!port) {
		fprintf(stderr, "tern connect: --port is required\n");
		return 2;
	}

	FILE *out = NULL;
	if (output && !(out = fopen(output, "wb"))) {
		fprintf(stderr, "tern connect: cannot create %s: %s\n", output, strerror(errno));
		return 1;
	}
	if (tunhost_start(&h, "tern connect", &o) < 0) {
		if (out)
			fclose(out);
		return 1;
	}
	pid_t child = exec_cmd ? spawn(exec_cmd) : -1;

	struct tern_stack *st = h.st;
	struct tern_sockaddr to = { .addr = o.peer, .port = (uint16_t)port };
	int fd = -1, status = 1;
	bool connected = false, shut = false, eof = false;
	uint64_t sent = 0, got = 0;
	tern_time start = tern_tun_clock(), next_try = start;
	static uint8_t buf[65536];

	while (!(eof && shut)) {
		tern_time now = tern_tun_clock();
		if (fd < 0 && now >= next_try) {
			fd = tern_socket(st, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
			int rc = fd < 0 ? fd : tern_connect(st, fd, &to);
			if (rc < 0 && rc != -TERN_EINPROGRESS) {
				fprintf(stderr, "tern connect: connect: %s\n", tern_strerror(rc));
				break;
			}
		}
		if (fd >= 0 && !connected) {
			struct tern_pollfd p = { .fd = fd, .events = TERN_POLLOUT };
			tern_poll(st, &p, 1);
			if (p.revents & (TERN_POLLERR | TERN_POLLHUP)) {
				int err = 0;
				size_t len = sizeof(err);
				tern_getsockopt(st, fd, TERN_SOL_SOCKET, TERN_SO_ERROR, &err, &len);
				tern_close(st, fd);
				fd = -1;
				if (err != TERN_ECONNREFUSED || now - start > CONNECT_RETRY_NS) {
					fprintf(stderr, "tern connect: connect: %s\n", tern_strerror(-err));
					break;
				}
				next_try = now + CONNECT_RETRY_GAP_NS;
			} else if (p.revents & TERN_POLLOUT) {
				connected = true;
			}
		}
		while (connected && sent < send_total) {
			size_t k = send_total - sent < sizeof(buf) ? (size_t)(send_total - sent) : sizeof(buf);
			for (size_t j = 0; j < k; j++)
				buf[j] = app_http_body_byte(sent + j);
			ssize_t n = tern_send(st, fd, buf, k, TERN_MSG_NOSIGNAL);
			if (n == -TERN_EAGAIN)
				break;
			if (n < 0) {
				fprintf(stderr, "tern connect: send: %s\n", tern_strerror((int)n));
				goto done;
			}
			sent += (uint64_t)n;
		}
		if (connected && sent == send_total && !shut) {
			tern_shutdown(st, fd, TERN_SHUT_WR);
			shut = true;
		}
		while (connected && !eof) {
			ssize_t n = tern_recv(st, fd, buf, sizeof(buf), 0);
			if (n == -TERN_EAGAIN)
				break;
			if (n < 0) {
				fprintf(stderr, "tern connect: recv: %s\n", tern_strerror((int)n));
				goto done;
			}
			if (n == 0) {
				eof = true;
				break;
			}
			got += (uint64_t)n;
			if (out && fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
				fprintf(stderr, "tern connect: cannot write %s\n", output);
				goto done;
			}
		}
		if (eof && shut)
			break;
		/* Sleep until something happens, at most until the next attempt is due. */
		tern_time until = h.until;
		if (fd < 0 && next_try < until)
			until = next_try;
		tern_time keep = h.until;
		h.until = until;
		bool go = tunhost_poll(&h);
		h.until = keep;
		/* Stopped by a signal, a failure, or the real --duration: give up. */
		if (!go && (h.stop_signal || tern_tun_clock() < until || tern_tun_clock() >= keep))
			break;
		h.stop = false;
	}
	if (eof && shut) {
		double secs = (double)(tern_tun_clock() - start) / 1e9;
		printf("tern connect: sent %" PRIu64 " bytes, received %" PRIu64 " bytes in %.3f s\n", sent,
		       got, secs);
		status = 0;
	} else if (h.stop_signal) {
		fprintf(stderr, "tern connect: stopped by signal %d\n", h.stop_signal);
	} else if (fd >= 0 || connected) {
		fprintf(stderr, "tern connect: the exchange did not finish in time\n");
	}
done:
	if (fd >= 0)
		tern_close(st, fd);
	/* Let the FIN (or reset) leave and the server see it before the device goes. */
	for (tern_time stop = tern_tun_clock() + 200 * TERN_NS_PER_MS; tern_tun_clock() < stop;) {
		tern_time keep = h.until;
		h.until = stop;
		bool go = tunhost_poll(&h);
		h.until = keep;
		if (!go && (h.stop_signal || tern_tun_clock() < stop))
			break;
		h.stop = false;
	}
	reap(child);
	if (out && fclose(out) != 0) {
		fprintf(stderr, "tern connect: cannot write %s\n", output);
		status = 1;
	}
	tunhost_finish(&h);
	return status;
bad:
	free(ops);
	return 2;
}
