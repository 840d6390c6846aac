/*
 * core/mem.c: memory for the tables that grow with the number of connections.
 *
 * At millions of connections the connection hash is tens or hundreds of megabytes
 * read at random, a cache line per new connection. With 4 KiB pages nearly every
 * such read also misses the TLB and walks the page tables; with 2 MiB pages the
 * whole table fits in a few dozen TLB entries. Linux with transparent huge pages in
 * "madvise" mode (a common default) backs a range with them only when asked, by
 * madvise(MADV_HUGEPAGE). That hint is the one thing the core asks of the OS by
 * itself: it changes no behaviour, its failure is ignored, and where it does not
 * exist the tables are plain heap memory.
 *
 * The table is an ordinary malloc block, so the allocator counts every byte of it
 * (the benchmarks' heap figures are mallinfo2's), and the hint covers the 2 MiB
 * pages that lie wholly inside it: all but at most 4 MiB at its ends. Aligning the
 * block instead would cover those too, but glibc keeps and counts the alignment's
 * slack, 2 MiB a table. The hint is given before the zeroing, so that fresh pages
 * (a block this large is normally a fresh mapping) fault in as huge pages.
 */
#define _DEFAULT_SOURCE /* madvise */

#include "core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<sys/mman.h>)
#include <sys/mman.h>
#endif
#endif

#define HUGE_PAGE_BYTES ((uintptr_t)2 << 20)

void *tern__table_zalloc(size_t bytes)
{
#ifdef MADV_HUGEPAGE
	void *p = malloc(bytes ? bytes : 1);
	if (!p)
		return NULL;
	uintptr_t lo = ((uintptr_t)p + HUGE_PAGE_BYTES - 1) & ~(HUGE_PAGE_BYTES - 1);
	uintptr_t hi = ((uintptr_t)p + bytes) & ~(HUGE_PAGE_BYTES - 1);
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
	memset(p, 0, bytes);
	return p;
#else
	return calloc(1, bytes);
#endif
}
