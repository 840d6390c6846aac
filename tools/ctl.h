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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/* Packet streams (`tern trace`, `tern pcap`). A request whose argv[0] is "trace"
 * or "pcap" asks for every datagram the instance reads or writes. A server that
 * allows streams answers it with status 0 and two empty blocks, then keeps the
 * connection and sends frames on it until either end closes:
 *
 *   frame:    u32 length, u32 flags, u64 wall-clock time (ns since 1970), then
 *             `length` bytes (one IP datagram)
 *   flags:    TERN_CTL_FRAME_OUT     the stack wrote it (else: it read it)
 *             TERN_CTL_FRAME_DROPS   no datagram; the time field is the number of
 *                                    datagrams dropped so far for this subscriber
 *             TERN_CTL_FRAME_END     no datagram; the instance is stopping
 *
 * Nothing ever blocks the stack: each subscriber has a bounded buffer written
 * with non-blocking sends, and a datagram that does not fit is dropped and
 * counted (a DROPS frame precedes the next datagram that fits). At most
 * TERN_CTL_MAX_SUBSCRIBERS at once; more are refused with a one-line error, as is
 * every stream request to a server that does not allow streams. */
#define TERN_CTL_MAX_SUBSCRIBERS 4
#define TERN_CTL_FRAME_HEADER    16
#define TERN_CTL_FRAME_OUT       1u
#define TERN_CTL_FRAME_DROPS     2u
#define TERN_CTL_FRAME_END       4u
#define TERN_CTL_FRAME_MAX       65536u
/* Lets this server take stream requests (the TUN host does; the script runner not). */
void tern_ctl_allow_streams(struct tern_ctl_server *srv);
/* Hands one datagram to every subscriber. NULL srv is a no-op. */
void tern_ctl_publish(struct tern_ctl_server *srv, uint64_t wall_ns, bool out, const void *pkt,
		      size_t len);
/* Sends what subscribers' buffers still hold, as far as they take it without
 * blocking, and drops subscribers that hung up. true while something is left to
 * send (the caller should call again soon). */
bool tern_ctl_flush(struct tern_ctl_server *srv);

/* The client end of a stream: connects to `path`, asks for `kind` ("trace" or
 * "pcap"); the descriptor to read frames from, or -1 after printing a one-line
 * error prefixed by `prog`. */
int tern_ctl_stream_open(const char *prog, const char *path, const char *kind);

/* The client end: forwards argv to $TERN_CTL, prints the answer, returns the exit
 * status (or prints an error and returns 1 when there is no instance). */
int tern_ctl_client(int argc, char **argv);

/* `tern shims DIR`: creates DIR/ss, DIR/nstat and DIR/sysctl as links to this
 * binary (which then dispatches on its name). 0 or -errno. */
int tern_ctl_make_shims(const char *dir, const char *self_path);

#endif
