/*
 * tools/script/shell.c: the backtick commands of a script.
 *
 * A command runs through /bin/sh -c with two changes to its environment: PATH
 * starts with the shim directory, whose `sysctl`, `ss` and `nstat` are this very
 * binary under those names, and TERN_CTL names the control socket they talk to
 * (tools/ctl.h). While the shell runs, the runner serves that socket against the
 * script's stack, so the tools see exactly the stack under test at the current
 * virtual time: virtual time stands still while a command runs.
 *
 * The command's stdout and stderr are collected (up to a limit) for the -v
 * timeline and for the failure message; a non-zero exit status fails the script,
 * as in packetdrill. A command that runs longer than COMMAND_TIMEOUT_MS of real
 * time is killed and fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../ctl.h"
#include "script.h"

#define COMMAND_TIMEOUT_MS 60000
#define OUTPUT_LIMIT 16384

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct output {
	char buf[OUTPUT_LIMIT + 1];
	size_t len;
	bool truncated;
};

static bool drain(int fd, struct output *out)
{
	char tmp[4096];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n > 0) {
			size_t room = OUTPUT_LIMIT - out->len;
			size_t take = (size_t)n < room ? (size_t)n : room;
			memcpy(out->buf + out->len, tmp, take);
			out->len += take;
			if (take < (size_t)n)
				out->truncated = true;
			continue;
		}
		if (n == 0)
			return true;              /* end of file */
		if (errno == EINTR)
			continue;
		return false;                     /* EAGAIN: nothing more now */
	}
}

static void child(const struct runner *r, const char *cmd, int outfd)
{
	int null = open("/dev/null", O_RDONLY);
	if (null >= 0 && null != STDIN_FILENO) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
	dup2(outfd, STDOUT_FILENO);
	dup2(outfd, STDERR_FILENO);
	if (outfd > STDERR_FILENO)
		close(outfd);
	signal(SIGPIPE, SIG_DFL);
	if (r->o->shim_dir) {
		const char *path = getenv("PATH");
		size_t n = strlen(r->o->shim_dir) + (path ? strlen(path) : 0) + 32;
		char *np = malloc(n);
		if (np) {
			snprintf(np, n, "%s:%s", r->o->shim_dir, path && *path ? path : "/usr/bin:/bin");
			setenv("PATH", np, 1);
		}
	}
	if (r->o->ctl_path)
		setenv("TERN_CTL", r->o->ctl_path, 1);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

/* Indents the captured output for messages and the timeline. */
static void indented(const struct output *out, char *dst, size_t cap, int max_lines)
{
	size_t k = 0;
	int lines = 0;
	bool bol = true;
	dst[0] = '\0';
	for (size_t i = 0; i < out->len && k + 8 < cap; i++) {
		if (bol) {
			if (lines++ == max_lines) {
				k += (size_t)snprintf(dst + k, cap - k, "\n    ...");
				break;
			}
			k += (size_t)snprintf(dst + k, cap - k, "\n    | ");
			bol = false;
		}
		if (out->buf[i] == '\n') {
			bol = true;
			continue;
		}
		dst[k++] = out->buf[i];
		dst[k] = '\0';
	}
}

bool shell_run(struct runner *r, const char *cmd, int line, const char *what)
{
	struct output *out = calloc(1, sizeof *out);
	int pfd[2];
	int status = 0;
	bool exited = false, eof = false;

	if (!out) {
		run_fail(r, line, "out of memory");
		return false;
	}
	run_settle(r);
	run_sync_stack(r);
	if (!strcmp(what, "init command"))
		run_vlog(r, run_now(r), "`%s`   [init, line %d]", cmd, line);
	else if (!strcmp(what, "cleanup command"))
		run_vlog(r, run_now(r), "`%s`   [cleanup, line %d]", cmd, line);
	else
		run_vlog(r, run_now(r), "`%s`   [line %d]", cmd, line);
	fflush(NULL);
	if (pipe(pfd) < 0) {
		run_fail(r, line, "%s: cannot make a pipe: %s", what, strerror(errno));
		free(out);
		return false;
	}
	pid_t pid = fork();
	if (pid < 0) {
		run_fail(r, line, "%s: cannot fork: %s", what, strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		free(out);
		return false;
	}
	if (pid == 0) {
		close(pfd[0]);
		child(r, cmd, pfd[1]);
	}
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);

	long long give_up = mono_ms() + COMMAND_TIMEOUT_MS;
	int ctl_fd = r->o->ctl ? tern_ctl_fd(r->o->ctl) : -1;
	while (!exited) {
		struct pollfd p[2] = {
			{ .fd = ctl_fd, .events = POLLIN },
			{ .fd = eof ? -1 : pfd[0], .events = POLLIN },
		};
		int n = poll(p, 2, 10);
		if (n < 0 && errno != EINTR)
			break;
		if (ctl_fd >= 0 && (p[0].revents & POLLIN))
			tern_ctl_serve(r->o->ctl, r->st);
		if (!eof && (p[1].revents & (POLLIN | POLLHUP)))
			eof = drain(pfd[0], out);
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			exited = true;
		else if (w < 0 && errno != EINTR)
			break;
		if (!exited && mono_ms() > give_up) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(pfd[0]);
			run_fail(r, line, "%s `%s` still running after %d s: killed", what, cmd,
				 COMMAND_TIMEOUT_MS / 1000);
			free(out);
			return false;
		}
	}
	/* Whatever is left in the pipe (a background grandchild may keep it open, so
	 * do not wait for its end), and requests sent just before the exit. */
	if (!eof)
		drain(pfd[0], out);
	close(pfd[0]);
	if (ctl_fd >= 0)
		tern_ctl_serve(r->o->ctl, r->st);
	out->buf[out->len] = '\0';

	char text[2048];
	indented(out, text, sizeof text, 12);
	bool ok = exited && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (r->o->verbose && r->o->vout) {
		if (out->len > 0)
			fprintf(r->o->vout, "            output:%s%s\n", text,
				out->truncated ? "\n    (truncated)" : "");
		if (!ok && exited && WIFEXITED(status))
			fprintf(r->o->vout, "            exit status %d\n", WEXITSTATUS(status));
	}
	if (!ok) {
		if (!exited)
			run_fail(r, line, "%s `%s`: lost track of the shell", what, cmd);
		else if (WIFSIGNALED(status))
			run_fail(r, line, "%s `%s` killed by signal %d%s", what, cmd, WTERMSIG(status), text);
		else
			run_fail(r, line, "%s `%s` exited with status %d%s", what, cmd,
				 WEXITSTATUS(status), text);
	}
	free(out);
	run_settle(r);
	return ok;
}
