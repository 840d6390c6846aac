/*
 * tools/tern.c: the `tern` command, one binary with subcommands (like `ip` or
 * `git`). This file only dispatches; each subcommand lives in its own file.
 */
#include <stdio.h>
#include <string.h>

#include "tern.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "demo", tern_cmd_demo, "two simulated hosts ping over a lossy link; writes a pcap" },
	{ "sysctl", tern_cmd_sysctl, "read and set the stack's knobs, as sysctl(8) does" },
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
