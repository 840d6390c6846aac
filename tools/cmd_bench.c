/*
 * tools/cmd_bench.c: `tern bench NAME [--json] [--quick] [--no-linux] [options]`,
 * the dispatcher of the benchmarks (tools/bench.h). Each benchmark lives in its own
 * tools/bench_NAME.c.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "tern.h"

static const struct bench_def benches[] = {
	{ "lifecycle", "connect, accept, 1 byte, close by both: lifecycles per second", bench_lifecycle },
	{ "synflood", "cookie SYN-ACKs per second, legitimate clients during a flood", bench_synflood },
	{ "memory", "bytes per half-open request, TIME-WAIT entry, idle connection", bench_memory },
	{ "scale", "idle connections up to 10 M, lifecycle rate beside them", bench_scale },
	{ "bulk", "one-direction throughput with 64 KiB writes", bench_bulk },
	{ "tun", "kernel client and tern server over TUN, against veth", bench_tun },
};
#define NBENCH (sizeof(benches) / sizeof(benches[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: tern bench NAME [--json] [--quick] [--no-linux] [options]\n"
		     "       tern bench list\n\n"
		     "Measures tern and, in the same run, its Linux baseline (bench/).\n"
		     "  --json      one JSON object on stdout\n"
		     "  --quick     smoke-test sizes (what make check runs)\n"
		     "  --no-linux  skip the Linux baseline\n\n"
		     "benchmarks:\n");
	for (size_t i = 0; i < NBENCH; i++)
		fprintf(out, "  %-10s %s\n", benches[i].name, benches[i].summary);
}

int tern_cmd_bench(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "list")) {
		for (size_t i = 0; i < NBENCH; i++)
			printf("%s\n", benches[i].name);
		return 0;
	}
	const struct bench_def *def = NULL;
	for (size_t i = 0; i < NBENCH; i++)
		if (!strcmp(argv[1], benches[i].name))
			def = &benches[i];
	if (!def) {
		fprintf(stderr, "tern bench: unknown benchmark '%s' (try 'tern bench list')\n", argv[1]);
		return 2;
	}
	/* Common flags are taken out; the rest is the benchmark's. */
	static char *rest[256];
	struct bench_opts o = { .argv = rest };
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			o.json = true;
		else if (!strcmp(argv[i], "--quick"))
			o.quick = true;
		else if (!strcmp(argv[i], "--no-linux"))
			o.no_linux = true;
		else if (o.argc < (int)(sizeof(rest) / sizeof(rest[0])))
			rest[o.argc++] = argv[i];
	}
	struct bench_machine m;
	bench_machine_read(&m);
	return def->run(&o, &m);
}
