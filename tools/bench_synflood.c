/* tools/bench_synflood.c: being written (issue 9). */
#include "bench.h"

int bench_synflood(const struct bench_opts *o, const struct bench_machine *m)
{
	(void)o;
	(void)m;
	fprintf(stderr, "tern bench: synflood is not written yet\n");
	return 1;
}
