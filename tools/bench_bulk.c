/* tools/bench_bulk.c: being written (issue 9). */
#include "bench.h"

int bench_bulk(const struct bench_opts *o, const struct bench_machine *m)
{
	(void)o;
	(void)m;
	fprintf(stderr, "tern bench: bulk is not written yet\n");
	return 1;
}
