/*
 * tools/tern.c: the `tern` command, one binary with subcommands (like `ip` or
 * `git`). This file only dispatches; each subcommand lives in its own file.
 * Started under the name ss, nstat or sysctl (a link made by `tern shims DIR`),
 * the binary is that tool for the tern instance named by $TERN_CTL (tools/ctl.h).
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "tern.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "demo", tern_cmd_demo, "ping and a traced HTTP exchange over a lossy simulated link; writes pcaps" },
	{ "sysctl", tern_cmd_sysctl, "read and set the stack's knobs, as sysctl(8) does" },
	{ "script", tern_cmd_script, "run packetdrill scripts against tern in virtual time" },
	{ "ss", tern_cmd_ss, "list a tern instance's sockets, as ss(8) does ($TERN_CTL)" },
	{ "nstat", tern_cmd_nstat, "print a tern instance's counters, as nstat(8) does ($TERN_CTL)" },
	{ "serve", tern_cmd_serve, "run tern on a TUN device with echo/discard/chargen/http servers" },
	{ "connect", tern_cmd_connect, "tern on a TUN device as the client of a kernel server" },
	{ "ladder", tern_cmd_ladder, "draw one TCP connection of a pcap file as an SVG ladder diagram" },
	{ "trace", tern_cmd_trace, "stream a running instance's segments, one line each ($TERN_CTL)" },
	{ "pcap", tern_cmd_pcap, "capture a running instance's datagrams to a pcap file ($TERN_CTL)" },
	{ "bench", tern_cmd_bench, "benchmarks with the Linux baseline measured in the same run" },
	{ "shims", tern_cmd_shims, "make DIR/ss, DIR/nstat, DIR/sysctl that act on $TERN_CTL" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: tern <command> [options]\n"
		     "       tern <command> --help\n\n"
		     "tern is a userspace TCP/IP stack that behaves like Linux.\n\n"
		     "commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "  %-10s %s\n", "help", "this list");
	fprintf(out, "  %-10s %s\n", "version", "print the version");
}

int main(int argc, char **argv)
{
	if (argc >= 1 && argv[0]) {
		const char *name = tern_tool_basename(argv[0]);
		if (!strcmp(name, "ss") || !strcmp(name, "nstat") || !strcmp(name, "sysctl"))
			return tern_ctl_client(argc, argv);
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("tern %s\n", TERN_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(cmd, subcommands[i].name))
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "tern: unknown command '%s' (try 'tern help')\n", cmd);
	return 2;
}
