/*
 * tools/cmd_script.c: `tern script`, the packetdrill-script runner.
 *
 *   tern script [-v] [--strict] [--seed N] FILE.pkt...
 *
 * Each script runs against a fresh tern stack on the simulated network, with
 * the runner as the remote peer, in virtual time (tools/script/ does the work;
 * ../shared/spec/packetdrill.md §1 is the language). One line per script:
 *
 *   PASS path
 *   FAIL path:LINE: reason          (detail lines follow, indented)
 *
 * then "N passed, N failed". The exit status is 0 only if every script passed
 * (1 otherwise, 2 for a usage error). A script that does not parse also gets
 * "path:LINE:COL: message" on stderr.
 *
 * Shell commands inside scripts find tern's sysctl, ss and nstat first on their
 * PATH: the runner makes those shims once per run in a private temporary
 * directory (tools/ctl.h, tern_ctl_make_shims) along with the control socket they
 * reach the stack through, and removes both on exit.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "script/script.h"
#include "tern.h"

/* The largest script file read. */
#define MAX_SCRIPT_BYTES (4u << 20)

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tern script [-v] [--strict] [--seed N] FILE.pkt...\n"
		"\n"
		"Runs packetdrill scripts against a fresh tern stack each, on the simulated\n"
		"network in virtual time; the runner plays the remote peer 192.0.2.1.\n"
		"\n"
		"options:\n"
		"  -v, --verbose   print each script's timeline (packets, calls, commands)\n"
		"      --strict    also fail on packets nobody expected on the connection\n"
		"                  under test (packetdrill does not check them)\n"
		"      --seed N    seed of the stack and the simulation (default 1)\n"
		"  -h, --help      this text\n");
}

/* The whole file, NUL-terminated; NULL with errno set. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(MAX_SCRIPT_BYTES + 1);
	if (!buf) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	size_t n = fread(buf, 1, MAX_SCRIPT_BYTES + 1, f);
	int err = ferror(f) ? EIO : 0;
	fclose(f);
	if (err || n > MAX_SCRIPT_BYTES) {
		free(buf);
		errno = err ? err : EFBIG;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Empties and removes the temporary directory. */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char path[PATH_MAX];
			if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
				unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

struct env {
	char dir[PATH_MAX];
	char ctl_path[PATH_MAX];
	struct tern_ctl_server *ctl;
};

static bool env_setup(struct env *e)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		fprintf(stderr, "tern script: cannot find my own binary: %s\n", strerror(errno));
		return false;
	}
	self[n] = '\0';
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (snprintf(e->dir, sizeof e->dir, "%s/tern-script.XXXXXX", tmp) >= (int)sizeof e->dir ||
	    !mkdtemp(e->dir)) {
		fprintf(stderr, "tern script: cannot make a temporary directory in %s: %s\n", tmp,
			strerror(errno));
		e->dir[0] = '\0';
		return false;
	}
	int rc = tern_ctl_make_shims(e->dir, self);
	if (rc < 0) {
		fprintf(stderr, "tern script: cannot make the ss/nstat/sysctl shims in %s: %s\n",
			e->dir, strerror(-rc));
		return false;
	}
	if (strlen(e->dir) + sizeof "/ctl.sock" > sizeof e->ctl_path) {
		fprintf(stderr, "tern script: temporary directory path too long\n");
		return false;
	}
	memcpy(e->ctl_path, e->dir, strlen(e->dir));
	memcpy(e->ctl_path + strlen(e->dir), "/ctl.sock", sizeof "/ctl.sock");
	rc = tern_ctl_listen(e->ctl_path, &e->ctl);
	if (rc < 0) {
		fprintf(stderr, "tern script: cannot open the control socket %s: %s\n", e->ctl_path,
			strerror(-rc));
		return false;
	}
	return true;
}

static void env_teardown(struct env *e)
{
	tern_ctl_close(e->ctl);
	e->ctl = NULL;
	if (e->dir[0])
		remove_dir(e->dir);
}

/* Runs one file; true if it passed. */
static bool run_file(const char *path, const struct run_opts *o)
{
	size_t len;
	char *text = read_file(path, &len);
	if (!text) {
		printf("FAIL %s: cannot read: %s\n", path, strerror(errno));
		return false;
	}
	struct script sc;
	struct parse_error err;
	if (script_parse(path, text, len, &sc, &err) < 0) {
		free(text);
		fflush(stdout);
		fprintf(stderr, "%s:%d:%d: %s\n", path, err.line, err.col, err.msg);
		printf("FAIL %s:%d: parse error at column %d: %s\n", path, err.line, err.col, err.msg);
		return false;
	}
	free(text);
	struct run_result res;
	script_run(&sc, o, &res);
	if (res.pass)
		printf("PASS %s\n", path);
	else if (res.line > 0)
		printf("FAIL %s:%d: %s\n", path, res.line, res.msg ? res.msg : "failed");
	else
		printf("FAIL %s: %s\n", path, res.msg ? res.msg : "failed");
	fflush(stdout);
	free(res.msg);
	script_free(&sc);
	return res.pass;
}

int tern_cmd_script(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "strict", no_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts o = { .seed = 1, .vout = stdout };
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			o.verbose = true;
			break;
		case 'S':
			o.strict = true;
			break;
		case 's': {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 0);
			if (errno || *end || !*optarg || optarg[0] == '-') {
				fprintf(stderr, "tern script: --seed needs a non-negative number, not '%s'\n",
					optarg);
				return 2;
			}
			o.seed = v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}

	/* A shim that quits early must not kill the runner with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	struct env env;
	memset(&env, 0, sizeof env);
	if (!env_setup(&env)) {
		env_teardown(&env);
		return 2;
	}
	o.ctl = env.ctl;
	o.ctl_path = env.ctl_path;
	o.shim_dir = env.dir;

	int passed = 0, failed = 0;
	for (int i = optind; i < argc; i++) {
		if (run_file(argv[i], &o))
			passed++;
		else
			failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	env_teardown(&env);
	return failed ? 1 : 0;
}
