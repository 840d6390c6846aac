/* tools/bench_scale.c: being written (issue 9). */
#include "bench.h"

int bench_scale(const struct bench_opts *o, const struct bench_machine *m)
{
	(void)o;
	(void)m;
	fprintf(stderr, "tern bench: scale is not written yet\n");
	return 1;
}
