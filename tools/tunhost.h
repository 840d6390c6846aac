/*
 * tools/tunhost.h: what `tern serve` and `tern connect` share: a tern host on a
 * TUN device (tern/tun.h), optionally in a private network namespace it creates
 * and removes, with the control socket (tools/ctl.h), a pcap capture, sysctls
 * applied at start, a run-time limit, and SIGINT/SIGTERM/SIGHUP turned into an
 * orderly stop.
 */
#ifndef TERN_TOOLS_TUNHOST_H
#define TERN_TOOLS_TUNHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "tern.h"
#include "tern/pcap.h"
#include "tern/tun.h"

#define TUNHOST_MAX_SYSCTL 64

/* The options both commands take; keys of tern_tool_getopt from 256 on. */
enum {
	TUNHOST_OPT_DEV = 256,
	TUNHOST_OPT_ADDR,
	TUNHOST_OPT_PEER,
	TUNHOST_OPT_NETNS,
	TUNHOST_OPT_CTL,
	TUNHOST_OPT_PCAP,
	TUNHOST_OPT_DURATION,
	TUNHOST_OPT_SYSCTL,
	TUNHOST_OPT_MTU,
	TUNHOST_OPT_VERBOSE,
	TUNHOST_OPT_NO_OFFLOAD,
	TUNHOST_OPT_NO_GRO,
	TUNHOST_OPT_END     /* commands number their own options from here */
};

#define TUNHOST_LONGOPTS                                                            \
	{ "dev", true, TUNHOST_OPT_DEV }, { "addr", true, TUNHOST_OPT_ADDR },         \
	{ "peer", true, TUNHOST_OPT_PEER }, { "netns", true, TUNHOST_OPT_NETNS },     \
	{ "ctl", true, TUNHOST_OPT_CTL }, { "pcap", true, TUNHOST_OPT_PCAP },         \
	{ "duration", true, TUNHOST_OPT_DURATION },                                 \
	{ "sysctl", true, TUNHOST_OPT_SYSCTL }, { "mtu", true, TUNHOST_OPT_MTU },     \
	{ "verbose", false, TUNHOST_OPT_VERBOSE },                                  \
	{ "no-offload", false, TUNHOST_OPT_NO_OFFLOAD },                            \
	{ "no-gro", false, TUNHOST_OPT_NO_GRO }

/* Help text for the shared options, for a command's usage. */
extern const char tunhost_usage[];

struct tunhost_opts {
	const char *dev;           /* default "tern0" */
	struct tern_addr addr;     /* tern's; default 192.0.2.2 */
	struct tern_addr peer;     /* the kernel's; default 192.0.2.1 */
	const char *netns;         /* NULL: the current namespace */
	const char *ctl;           /* NULL: the default path; "none": no control socket */
	const char *pcap;
	double duration_s;         /* 0: no limit */
	uint32_t mtu;
	int verbose;
	bool no_offload;           /* --no-offload: no vnet header, no TSO */
	bool no_gro;               /* --no-gro: TSO packets cut before the stack */
	int nsysctl;
	const char *sysctl[TUNHOST_MAX_SYSCTL];   /* "name=value" */
};

struct tunhost {
	const char *prog;          /* "tern serve", for messages */
	struct tunhost_opts o;
	struct tern_tun *tun;
	struct tern_stack *st;
	bool netns_made;           /* we created o.netns and must remove it */
	int sigfd;
	int stop_signal;           /* the signal that stopped us, or 0 */
	bool stop;
	struct tern_ctl_server *ctl;
	char ctl_path[108];
	struct tern_pcap_writer *pcap;
	tern_time wall_offset;     /* CLOCK_REALTIME - CLOCK_MONOTONIC, for pcap stamps */
	tern_time start, until;
};

/* Sets the defaults. */
void tunhost_opts_init(struct tunhost_opts *o);
/* Takes a shared option (key from TUNHOST_LONGOPTS). 0, or -1 after printing a
 * one-line error. */
int tunhost_option(struct tunhost_opts *o, const char *prog, int key, const char *arg);

/* Builds it all: signals, namespace, device, stack, sysctls, control socket,
 * capture. 0, or -1 after printing a one-line error and undoing what was done. */
int tunhost_start(struct tunhost *h, const char *prog, const struct tunhost_opts *o);
/* One turn of the loop. false once it should stop (signal, duration, failure). */
bool tunhost_poll(struct tunhost *h);
/* The same, but the wait also ends at `wake` (a tern_tun_clock time), for a
 * command's own deadline; reaching `wake` is not a reason to stop. */
bool tunhost_poll_until(struct tunhost *h, tern_time wake);
/* Undoes tunhost_start: everything it created is gone afterwards. */
void tunhost_finish(struct tunhost *h);

#endif
