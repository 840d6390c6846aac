/* tools/bench_tun.c: being written (issue 9). */
#include "bench.h"

int bench_tun(const struct bench_opts *o, const struct bench_machine *m)
{
	(void)o;
	(void)m;
	fprintf(stderr, "tern bench: tun is not written yet\n");
	return 1;
}
