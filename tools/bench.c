/*
 * tools/bench.c: the shared pieces of `tern bench` (tools/bench.h): a JSON writer,
 * the machine description, clocks and memory readings, and running a Linux
 * baseline program.
 */
#include "bench.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tern.h"

/* ---------------------------------------------------------------- JSON output */

static void json_key(struct bench_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->out);
	j->first[j->depth] = false;
	if (key)
		fprintf(j->out, "\"%s\":", key);
}

static void json_push(struct bench_json *j, char open)
{
	fputc(open, j->out);
	if (j->depth + 1 < (int)(sizeof(j->first) / sizeof(j->first[0])))
		j->depth++;
	j->first[j->depth] = true;
	j->kind[j->depth] = open;
}

void bench_json_begin(struct bench_json *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->first[0] = true;
	json_push(j, '{');
}

void bench_json_end(struct bench_json *j)
{
	while (j->depth > 0)
		bench_json_close(j);
	fputc('\n', j->out);
	fflush(j->out);
}

void bench_json_obj(struct bench_json *j, const char *key)
{
	json_key(j, key);
	json_push(j, '{');
}

void bench_json_arr(struct bench_json *j, const char *key)
{
	json_key(j, key);
	json_push(j, '[');
}

void bench_json_close(struct bench_json *j)
{
	if (j->depth <= 0)
		return;
	fputc(j->kind[j->depth] == '[' ? ']' : '}', j->out);
	j->depth--;
}

void bench_json_num(struct bench_json *j, const char *key, double v)
{
	json_key(j, key);
	if (isfinite(v))
		fprintf(j->out, "%.6g", v);
	else
		fputs("null", j->out);
}

void bench_json_int(struct bench_json *j, const char *key, int64_t v)
{
	json_key(j, key);
	fprintf(j->out, "%lld", (long long)v);
}

void bench_json_str(struct bench_json *j, const char *key, const char *v)
{
	json_key(j, key);
	fputc('"', j->out);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(j->out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(j->out, "\\u%04x", *p);
		else
			fputc(*p, j->out);
	}
	fputc('"', j->out);
}

void bench_json_bool(struct bench_json *j, const char *key, bool v)
{
	json_key(j, key);
	fputs(v ? "true" : "false", j->out);
}

void bench_json_null(struct bench_json *j, const char *key)
{
	json_key(j, key);
	fputs("null", j->out);
}

void bench_json_nums(struct bench_json *j, const char *key, const double *v, int n)
{
	bench_json_arr(j, key);
	for (int k = 0; k < n; k++)
		bench_json_num(j, NULL, v[k]);
	bench_json_close(j);
}

void bench_json_raw(struct bench_json *j, const char *key, const char *json)
{
	json_key(j, key);
	size_t n = strlen(json);
	while (n > 0 && (json[n - 1] == '\n' || json[n - 1] == ' '))
		n--;
	fwrite(json, 1, n, j->out);
}

double bench_json_get(const char *json, const char *key)
{
	const char *last = strrchr(key, '.');
	const char *scope = json;
	if (last) {
		/* "a.b": find "a": first, then "b": after it. */
		char outer[64];
		size_t n = (size_t)(strchr(key, '.') - key);
		if (n + 3 >= sizeof(outer))
			return NAN;
		snprintf(outer, sizeof(outer), "\"%.*s\":", (int)n, key);
		scope = strstr(json, outer);
		if (!scope)
			return NAN;
		key = last + 1;
	}
	char pat[80];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(scope, pat);
	if (!p)
		return NAN;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	char *end;
	double v = strtod(p, &end);
	return end == p ? NAN : v;
}

/* ---------------------------------------------------------------- the machine */

void bench_machine_read(struct bench_machine *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->cpu, sizeof(m->cpu), "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[256];
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "model name", 10))
				continue;
			char *v = strchr(line, ':');
			if (!v)
				continue;
			v++;
			while (*v == ' ' || *v == '\t')
				v++;
			v[strcspn(v, "\n")] = 0;
			snprintf(m->cpu, sizeof(m->cpu), "%s", v);
			break;
		}
		fclose(f);
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	m->cores = n > 0 ? (int)n : 1;
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s %s", u.sysname, u.release);
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	if (pages > 0 && psz > 0)
		m->mem_bytes = (uint64_t)pages * (uint64_t)psz;
}

void bench_machine_json(struct bench_json *j, const struct bench_machine *m)
{
	bench_json_obj(j, "machine");
	bench_json_str(j, "cpu", m->cpu);
	bench_json_int(j, "cores", m->cores);
	bench_json_str(j, "kernel", m->kernel);
	bench_json_int(j, "mem_bytes", (int64_t)m->mem_bytes);
	bench_json_close(j);
}

void bench_machine_print(FILE *out, const struct bench_machine *m)
{
	fprintf(out, "machine: %s, %d cores, %.1f GiB, %s\n", m->cpu, m->cores,
		(double)m->mem_bytes / (1024.0 * 1024 * 1024), m->kernel);
}

void bench_json_head(struct bench_json *j, const char *name, const struct bench_opts *o,
		     const struct bench_machine *m)
{
	bench_json_str(j, "bench", name);
	bench_json_str(j, "tern_version", TERN_VERSION);
	bench_json_bool(j, "quick", o->quick);
	bench_machine_json(j, m);
}

/* ---------------------------------------------------------------- measuring */

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_wall(void) { return clock_s(CLOCK_MONOTONIC); }

int bench_run_baseline_runs(const char *name, const char *const *args, int n, const char *key,
			    char (*base)[BENCH_BASE_LEN], double *v)
{
	for (int k = 0; k < n; k++) {
		if (bench_run_baseline(name, args, base[k], BENCH_BASE_LEN) != 0) {
			if (k > 0)
				memcpy(base[0], base[k], BENCH_BASE_LEN);
			return -1;
		}
		v[k] = bench_json_get(base[k], key);
	}
	return bench_median_index(v, n);
}

void bench_print_runs(FILE *out, const double *v, int n, int decimals)
{
	for (int k = 0; k < n; k++)
		fprintf(out, " %.*f", decimals, v[k]);
}

int bench_median_index(const double *v, int n)
{
	int order[16];
	if (n < 1 || n > 16)
		return -1;
	/* An insertion sort of the indices by value: n is a handful of runs. */
	for (int a = 0; a < n; a++) {
		int b = a;
		for (; b > 0 && v[order[b - 1]] > v[a]; b--)
			order[b] = order[b - 1];
		order[b] = a;
	}
	return order[n / 2];
}
double bench_cpu(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }

#if defined(__SANITIZE_ADDRESS__)
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

size_t bench_heap_bytes(void)
{
#if defined(__SANITIZE_ADDRESS__)
	/* ASan's allocator replaces malloc; glibc's statistics would read zero. */
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
#endif
}

size_t bench_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	unsigned long size = 0, rss = 0;
	int n = fscanf(f, "%lu %lu", &size, &rss);
	fclose(f);
	return n == 2 ? (size_t)rss * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

/* ---------------------------------------------------------------- baselines */

static int find_baseline(const char *name, char *path, size_t len)
{
	const char *dir = getenv("TERN_BENCH_DIR");
	if (dir && *dir) {
		snprintf(path, len, "%s/%s", dir, name);
		if (access(path, X_OK) == 0)
			return 0;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -ENOENT;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	snprintf(path, len, "%s/bench/%s", self, name);
	return access(path, X_OK) == 0 ? 0 : -ENOENT;
}

int bench_run_baseline(const char *name, const char *const *args, char *buf, size_t len)
{
	char path[PATH_MAX + 64];
	if (find_baseline(name, path, sizeof(path)) < 0) {
		snprintf(buf, len, "%s not built (set TERN_BENCH_DIR or build bench/)", name);
		return -ENOENT;
	}
	int pipefd[2];
	if (pipe(pipefd) < 0) {
		snprintf(buf, len, "pipe: %s", strerror(errno));
		return -errno;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		snprintf(buf, len, "fork: %s", strerror(e));
		return -e;
	}
	if (pid == 0) {
		const char *argv[64];
		int n = 0;
		argv[n++] = path;
		for (int i = 0; args && args[i] && n < 63; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	size_t used = 0;
	for (;;) {
		if (used + 1 >= len)
			break;
		ssize_t r = read(pipefd[0], buf + used, len - 1 - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		used += (size_t)r;
	}
	buf[used] = 0;
	/* Drain anything past the buffer so the child never blocks on a full pipe. */
	char sink[4096];
	while (read(pipefd[0], sink, sizeof(sink)) > 0)
		;
	close(pipefd[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char out[256];
		snprintf(out, sizeof(out), "%.200s", buf);
		out[strcspn(out, "\n")] = 0;
		if (WIFEXITED(status))
			snprintf(buf, len, "%s exited with %d%s%s", name, WEXITSTATUS(status),
				 *out ? ": " : "", out);
		else
			snprintf(buf, len, "%s killed by signal %d", name, WTERMSIG(status));
		return -ECHILD;
	}
	if (!strchr(buf, '{')) {
		snprintf(buf, len, "%s printed no JSON", name);
		return -EPROTO;
	}
	return 0;
}

/* ---------------------------------------------------------------- options */

const char *bench_opt(const struct bench_opts *o, const char *name, const char *dflt)
{
	size_t n = strlen(name);
	for (int i = 0; i < o->argc; i++) {
		const char *a = o->argv[i];
		if (strncmp(a, "--", 2) || strncmp(a + 2, name, n))
			continue;
		if (a[2 + n] == '=')
			return a + 3 + n;
		if (a[2 + n] == 0 && i + 1 < o->argc)
			return o->argv[i + 1];
	}
	return dflt;
}

bool bench_opts_check(const struct bench_opts *o, const char *bench, const char *const *names, size_t count,
		      const char *help)
{
	for (int i = 0; i < o->argc; i++) {
		const char *a = o->argv[i];
		size_t n = strncmp(a, "--", 2) ? 0 : strcspn(a + 2, "=");
		bool known = false;
		for (size_t k = 0; n && k < count; k++)
			known |= strlen(names[k]) == n && !strncmp(a + 2, names[k], n);
		if (!known) {
			fprintf(stderr, "tern bench %s: unknown option '%s' (%s)\n", bench, a, help);
			return false;
		}
		if (a[2 + n] != '=' && ++i >= o->argc) {
			fprintf(stderr, "tern bench %s: %s needs a value\n", bench, a);
			return false;
		}
	}
	return true;
}

void bench_json_baseline(struct bench_json *j, const struct bench_opts *o, int brc, const char *base)
{
	if (brc == 0)
		bench_json_raw(j, "linux", base);
	else if (o->no_linux)
		bench_json_null(j, "linux");
	else
		bench_json_str(j, "linux_error", base);
}

long bench_opt_long(const struct bench_opts *o, const char *name, long dflt)
{
	const char *v = bench_opt(o, name, NULL);
	if (!v)
		return dflt;
	char *end;
	long x = strtol(v, &end, 0);
	if (end == v)
		return dflt;
	/* k, M, G suffixes: 10M connections reads better than 10000000. */
	if (*end == 'k' || *end == 'K')
		x *= 1000;
	else if (*end == 'M')
		x *= 1000000;
	else if (*end == 'G')
		x *= 1000000000;
	return x;
}
