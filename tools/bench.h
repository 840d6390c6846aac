/*
 * tools/bench.h: what every `tern bench NAME` shares. A benchmark measures tern,
 * runs its Linux baseline (a program from bench/, built beside tern as
 * build/bench/linux-NAME, printing one JSON object) in the same run, and reports
 * both with their ratio: as text for people, or with --json as one JSON object
 * that scripts/bench-report.py turns into docs/benchmarks.md.
 *
 * Benchmarks are not tests: they assert nothing about speed. --quick shrinks every
 * size so that `make check` can run each one in a second or two as a smoke test.
 */
#ifndef TERN_TOOLS_BENCH_H
#define TERN_TOOLS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------------------------------------------------------- JSON output
 * A small streaming writer: objects and arrays nest, commas are placed for the
 * caller. Keys are plain identifiers; strings are escaped. */
struct bench_json {
	FILE *out;
	int depth;
	bool first[16];       /* per nesting level: nothing written yet */
	char kind[16];        /* per nesting level: '{' or '[' */
};
void bench_json_begin(struct bench_json *j, FILE *out);      /* opens the top object */
void bench_json_end(struct bench_json *j);                   /* closes it, newline */
void bench_json_obj(struct bench_json *j, const char *key);  /* key NULL inside arrays */
void bench_json_arr(struct bench_json *j, const char *key);
void bench_json_close(struct bench_json *j);                 /* ends an object or array */
void bench_json_num(struct bench_json *j, const char *key, double v);
void bench_json_int(struct bench_json *j, const char *key, int64_t v);
void bench_json_str(struct bench_json *j, const char *key, const char *v);
void bench_json_bool(struct bench_json *j, const char *key, bool v);
void bench_json_null(struct bench_json *j, const char *key);
/* An array of n numbers under `key` (each run's rate, say). */
void bench_json_nums(struct bench_json *j, const char *key, const double *v, int n);
/* Copies a complete JSON value (say a baseline's object) under `key` verbatim. */
void bench_json_raw(struct bench_json *j, const char *key, const char *json);

/* Reads a number from a flat JSON object: "key": <number>. Nested keys use dots
 * ("linux.rate"), matched by searching for the last component after the first.
 * NAN when absent. Good enough for the baselines' one-line outputs. */
double bench_json_get(const char *json, const char *key);

/* ---------------------------------------------------------------- the machine */
struct bench_machine {
	char cpu[128];        /* model name from /proc/cpuinfo */
	int cores;            /* online CPUs */
	char kernel[160];     /* uname -sr */
	uint64_t mem_bytes;   /* physical memory */
};
void bench_machine_read(struct bench_machine *m);
void bench_machine_json(struct bench_json *j, const struct bench_machine *m); /* "machine": {...} */
void bench_machine_print(FILE *out, const struct bench_machine *m);

/* ---------------------------------------------------------------- measuring */
/* Monotonic wall clock in seconds; CPU time of this thread in seconds. */
double bench_wall(void);
double bench_cpu(void);
/* Bytes the C allocator has handed out and not had back (mallinfo2). */
size_t bench_heap_bytes(void);
/* Resident set size of this process in bytes (/proc/self/statm). */
size_t bench_rss_bytes(void);
/* The index of the median of v[0..n), n odd and at most 16 (for an even n, the
 * upper of the middle two); v is left as it is. */
int bench_median_index(const double *v, int n);
/* Prints " v[0] v[1] ..." with `decimals` places, for a line listing each run. */
void bench_print_runs(FILE *out, const double *v, int n, int decimals);

/* ---------------------------------------------------------------- baselines */
/* Runs the Linux baseline program `name` (say "linux-lifecycle") with `args`
 * (NULL-terminated, argv[0] excluded) and captures its stdout, which must be one
 * JSON object, into buf. The program is looked up in $TERN_BENCH_DIR, then in
 * bench/ beside the tern executable. 0 on success; otherwise -errno and a reason in
 * buf ("not built", "exit 3: ..."), so the report can say why the baseline is
 * missing instead of failing the whole run. */
int bench_run_baseline(const char *name, const char *const *args, char *buf, size_t len);
/* Runs the baseline n times (n odd, at most 16), each run's JSON object in
 * base[k] and its `key` number in v[k]. The index of the median run by that
 * number, or -1 when a run failed (base[0] then says why, as buf above). */
#define BENCH_BASE_LEN 4096
int bench_run_baseline_runs(const char *name, const char *const *args, int n, const char *key,
			    char (*base)[BENCH_BASE_LEN], double *v);

/* ---------------------------------------------------------------- options */
struct bench_opts {
	bool json;            /* --json: one JSON object on stdout, nothing else there */
	bool quick;           /* --quick: smoke-test sizes */
	bool no_linux;        /* --no-linux: skip the baseline */
	int argc;             /* the remaining, benchmark-specific arguments */
	char **argv;
};

/* One benchmark: measures, prints (text or JSON per opts), returns the exit status
 * (0, or 1 when tern itself failed: a connection that did not complete, ...). A
 * missing baseline is not a failure: the report says so. */
struct bench_def {
	const char *name;
	const char *summary;
	int (*run)(const struct bench_opts *o, const struct bench_machine *m);
};

int bench_lifecycle(const struct bench_opts *o, const struct bench_machine *m);
int bench_synflood(const struct bench_opts *o, const struct bench_machine *m);
int bench_memory(const struct bench_opts *o, const struct bench_machine *m);
int bench_scale(const struct bench_opts *o, const struct bench_machine *m);
int bench_bulk(const struct bench_opts *o, const struct bench_machine *m);
int bench_tun(const struct bench_opts *o, const struct bench_machine *m);

/* ---------------------------------------------------------------- lifecycles
 * The lifecycle engine (tools/bench_lifecycle.c), shared with `bench scale`: a
 * client and a server stack on one simulated wire, the server listening on port
 * 80, the client keeping `inflight` lifecycles going. */
struct bench_lc;
struct bench_lc_result {
	uint64_t done, failed;
	double wall_s, cpu_s, virtual_s;
	double rate;          /* lifecycles per wall-clock second */
};
struct tern_sim;
struct tern_stack;
struct bench_lc *bench_lc_create(uint64_t seed, int inflight);
struct tern_sim *bench_lc_sim(struct bench_lc *lc);
struct tern_stack *bench_lc_server(struct bench_lc *lc);   /* 10.0.0.2 */
struct tern_stack *bench_lc_client(struct bench_lc *lc);   /* 10.0.0.1 */
/* Runs `count` more lifecycles. 0, or -ETIMEDOUT when the network went idle with
 * connections still open (a bug). */
int bench_lc_run(struct bench_lc *lc, uint64_t count, struct bench_lc_result *out);
void bench_lc_destroy(struct bench_lc *lc);

/* Writes the common head of a JSON record: "bench", "tern_version", "quick",
 * "machine". The caller then adds its fields and calls bench_json_end. */
void bench_json_head(struct bench_json *j, const char *name, const struct bench_opts *o,
		     const struct bench_machine *m);

/* Reads a long option `--name=V` or `--name V` out of o->argv; returns its value or
 * `dflt`. Unknown options are the benchmark's to reject. */
const char *bench_opt(const struct bench_opts *o, const char *name, const char *dflt);
long bench_opt_long(const struct bench_opts *o, const char *name, long dflt);
/* Checks that o->argv holds only `--name V` or `--name=V` for the `count` names;
 * false after one line on stderr ("tern bench BENCH: ...", `help` listing them). */
bool bench_opts_check(const struct bench_opts *o, const char *bench, const char *const *names, size_t count,
		      const char *help);

/* Adds the Linux baseline's record to a JSON object: "linux" (its JSON, or null
 * with --no-linux), else "linux_error" with why it did not run. `brc` and `base`
 * are bench_run_baseline's result and output. */
void bench_json_baseline(struct bench_json *j, const struct bench_opts *o, int brc, const char *base);

#endif
