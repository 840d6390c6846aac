/*
 * tools/ctl.h: the control socket through which `ss`, `nstat` and `sysctl` reach a
 * running tern stack (the script runner's, later `tern serve`'s).
 *
 * The tools run inside the process that owns the stack: tern_tool_run executes one
 * command line against a stack and writes what the real tool would print. A shim
 * (the `tern` binary invoked as `ss`, `nstat` or `sysctl`, or `tern ss ...`) only
 * forwards its argv over a unix socket named by $TERN_CTL and prints the answer:
 *
 *   request:  u32 argc, then argc NUL-terminated strings (u32 lengths precede each)
 *   answer:   i32 exit status, u32 stdout length, stdout bytes, u32 stderr length,
 *             stderr bytes
 *
 * All integers little-endian. One request per connection.
 */
#ifndef TERN_TOOLS_CTL_H
#define TERN_TOOLS_CTL_H

#include <stdio.h>

#include "tern/stack.h"

/* Runs `argv` (argv[0] is "ss", "nstat" or "sysctl") against `st`, writing to
 * out/err exactly what the real tool would; returns the exit status. */
int tern_tool_run(struct tern_stack *st, int argc, char **argv, FILE *out, FILE *err);

/* The server end, owned by the process that owns the stack. */
struct tern_ctl_server;
/* Listens on the unix socket `path` (created, replacing a stale one). 0 or -errno. */
int tern_ctl_listen(const char *path, struct tern_ctl_server **out);
/* Its descriptor, to poll for readability. */
int tern_ctl_fd(const struct tern_ctl_server *srv);
/* Accepts and answers every request pending now (never blocks waiting for one). */
void tern_ctl_serve(struct tern_ctl_server *srv, struct tern_stack *st);
/* Stops listening and removes the socket file. NULL is a no-op. */
void tern_ctl_close(struct tern_ctl_server *srv);

/* The client end: forwards argv to $TERN_CTL, prints the answer, returns the exit
 * status (or prints an error and returns 1 when there is no instance). */
int tern_ctl_client(int argc, char **argv);

/* `tern shims DIR`: creates DIR/ss, DIR/nstat and DIR/sysctl as links to this
 * binary (which then dispatches on its name). 0 or -errno. */
int tern_ctl_make_shims(const char *dir, const char *self_path);

#endif
