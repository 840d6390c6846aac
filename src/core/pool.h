/*
 * core/pool.h: fixed-size object pools, the only way per-connection and per-packet
 * memory is obtained. Objects are carved from chunks; a freed object goes on a free
 * list and is handed out again before any new chunk is allocated, so once a pool
 * has grown to its working size the hot path never calls malloc. A pool may have a
 * ceiling: past it tern__pool_get returns NULL, a normal outcome the caller handles
 * (a counted drop, -ENOMEM, a SYN cookie), never a crash.
 */
#ifndef TERN_CORE_POOL_H
#define TERN_CORE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tern_pool_chunk;

struct tern_pool {
	size_t obj_size;          /* rounded up to the alignment of max_align_t */
	size_t per_chunk;         /* objects per chunk */
	size_t max_objects;       /* 0: no ceiling */
	size_t in_use;            /* objects handed out */
	size_t capacity;          /* objects carved so far (in use + free) */
	size_t high_water;        /* most in use at once */
	uint64_t failures;        /* gets refused at the ceiling or on ENOMEM */
	void *free_list;
	struct tern_pool_chunk *chunks;
};

/* Prepares an empty pool; allocates nothing. `per_chunk` 0 picks a chunk of ~64 KiB. */
void tern__pool_init(struct tern_pool *p, size_t obj_size, size_t per_chunk, size_t max_objects);
/* Grows the pool so that `n` objects can be in use without another allocation.
 * 0 or -ENOMEM. */
int tern__pool_reserve(struct tern_pool *p, size_t n);
/* tern__pool_get when the free list is empty or the ceiling may be reached. */
void *tern__pool_get_slow(struct tern_pool *p);

/* Whether tern__pool_get would hand out an object without growing: a free one and
 * no ceiling in the way. */
static inline bool tern__pool_ready(const struct tern_pool *p)
{
	return p->free_list && (!p->max_objects || p->in_use < p->max_objects);
}

/* An object (contents undefined), or NULL at the ceiling or when memory runs out.
 * Inline, as the simulator and TCP take several objects per segment; the usual
 * case is a free object below any ceiling. */
static inline void *tern__pool_get(struct tern_pool *p)
{
	void *obj = p->free_list;

	if (!obj || (p->max_objects && p->in_use >= p->max_objects))
		return tern__pool_get_slow(p);
	p->free_list = *(void **)obj;
	/* The next get's object, brought in now for writing: with hundreds of
	 * connections in flight a freed object is cold by the time it is handed out
	 * again, and reading its link would stall that get. */
	__builtin_prefetch(p->free_list, 1);
	if (++p->in_use > p->high_water)
		p->high_water = p->in_use;
	return obj;
}
/* Returns an object obtained from this pool. */
void tern__pool_put(struct tern_pool *p, void *obj);
/* Frees every chunk. Objects still in use become invalid. */
void tern__pool_destroy(struct tern_pool *p);
/* Bytes the pool holds from the allocator (chunks and their headers). */
size_t tern__pool_footprint(const struct tern_pool *p);

#endif
