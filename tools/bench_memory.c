/* tools/bench_memory.c: being written (issue 9). */
#include "bench.h"

int bench_memory(const struct bench_opts *o, const struct bench_machine *m)
{
	(void)o;
	(void)m;
	fprintf(stderr, "tern bench: memory is not written yet\n");
	return 1;
}
