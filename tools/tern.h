/*
 * tools/tern.h: the subcommands of the `tern` command. Each takes argc/argv with
 * argv[0] being the subcommand's name, prints to stdout/stderr, and returns the
 * process exit status. Tools use only the public headers (DESIGN.md §2).
 */
#ifndef TERN_TOOLS_TERN_H
#define TERN_TOOLS_TERN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tern/stack.h"

#ifndef TERN_VERSION
#define TERN_VERSION "0.0.0"   /* the build defines the real one */
#endif

int tern_cmd_demo(int argc, char **argv);
int tern_cmd_sysctl(int argc, char **argv);
int tern_cmd_script(int argc, char **argv);
int tern_cmd_shims(int argc, char **argv);     /* tools/ctl.c */
int tern_cmd_serve(int argc, char **argv);     /* tools/cmd_serve.c: a host on a TUN device */
int tern_cmd_connect(int argc, char **argv);   /* tools/cmd_connect.c: its client side */
int tern_cmd_ladder(int argc, char **argv);    /* tools/cmd_ladder.c: pcap to SVG sequence diagram */
int tern_cmd_trace(int argc, char **argv), tern_cmd_pcap(int argc, char **argv); /* tools/cmd_trace.c */
int tern_cmd_ss(int argc, char **argv);        /* tools/ctl.c: forwards to $TERN_CTL */
int tern_cmd_nstat(int argc, char **argv);     /* tools/ctl.c: forwards to $TERN_CTL */
int tern_cmd_bench(int argc, char **argv);     /* tools/cmd_bench.c: benchmarks beside Linux */

/* ------------------------------------------------------------------ the tools
 * ss, nstat and sysctl as functions of a stack: argv[0] names the tool, the output
 * goes to `out` and `err`, the exit status is returned (tools/ctl.h runs them for
 * a shim). They keep no state between calls except nstat's history. */

/* nstat's "history file": the counters as the last updating nstat saw them. The
 * control server keeps one per stack it serves. */
struct tern_nstat_history {
	bool valid;
	uint64_t values[TERN_CTR_COUNT];
};

int tern_tool_ss(struct tern_stack *st, int argc, char **argv, FILE *out, FILE *err);
/* `hist` may be NULL: no history, as for a first run whose update is discarded. */
int tern_tool_nstat(const struct tern_stack *st, struct tern_nstat_history *hist,
		    int argc, char **argv, FILE *out, FILE *err);
/* procps sysctl; with argv[0] "tern sysctl" the help and hints are tern's own. */
int tern_tool_sysctl(struct tern_stack *st, int argc, char **argv, FILE *out, FILE *err);

/* A reentrant getopt_long for the tools (they run inside a long-lived process, so
 * glibc's global getopt state is off limits). GNU conventions: short options may
 * be clustered (-tanH), "optstring" marks an argument with ':', long options may
 * be abbreviated while unambiguous and take "--name=value" or "--name value", the
 * operands are gathered in order wherever they appear, "--" ends the options.
 * Errors are reported on `err` with glibc's wording, prefixed by `prog`. */
struct tern_tool_longopt {
	const char *name;
	bool has_arg;
	int key;            /* returned for it: a short letter, or a value >= 256 */
};
struct tern_tool_getopt {
	int argc;
	char **argv;
	const char *prog;
	FILE *err;
	int ind;            /* next argv element */
	int sub;            /* position inside a cluster of short options */
	const char *arg;    /* the current option's argument */
	int nops;           /* operands gathered so far, in ops[] */
	char **ops;         /* caller-provided, argc entries */
};
void tern_tool_getopt_init(struct tern_tool_getopt *g, int argc, char **argv, char **ops,
			   const char *prog, FILE *err);
/* The next option's key, -1 when done (operands are then in ops[0..nops)), or '?'
 * after printing an error. */
int tern_tool_getopt(struct tern_tool_getopt *g, const char *shortopts,
		     const struct tern_tool_longopt *longopts);

/* The text after the last '/'. */
const char *tern_tool_basename(const char *path);

#endif
