/*
 * core/pool.c: fixed-size object pools (core/pool.h).
 *
 * A chunk is one allocation on a cache-line boundary: a small header, padded to a
 * line, followed by `count` objects of `obj_size` bytes. An object whose size is a
 * multiple of a line (an epoll item, a simulator buffer) then occupies whole
 * lines instead of straddling one more, and the others start at the same offsets
 * in every chunk; with hundreds of connections in flight their objects are cold at
 * each visit, so every line saved is a miss saved (lifecycle benchmark: about 2 of
 * its 13 misses per lifecycle out of a 1 MiB cache). Free objects are kept on an
 * intrusive LIFO list: the link is written into the first bytes of the free object
 * itself, so the list costs no memory, and the most recently returned object is the
 * next one handed out. Recent is not warm when hundreds of connections are in
 * flight (an object comes back a whole flight after it was last touched), so a get
 * also starts fetching the object the next get will hand out: the link that get
 * reads is then in cache, and the new owner's first writes find their line. A pool
 * grows one chunk at a time and only when the free list
 * is empty; chunks are returned to the allocator only by tern__pool_destroy, so a
 * pool's memory follows its high-water mark.
 *
 * The ceiling bounds the objects in use; the last chunk is cut short so that the
 * capacity never passes it. A get at the ceiling or after a failed malloc returns
 * NULL and counts a failure (DESIGN.md §5: running out is a normal outcome).
 */
#include "core/pool.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/util.h"
#include "tern/errors.h"

struct tern_pool_chunk {
	struct tern_pool_chunk *next;
	size_t count; /* objects carved from this chunk */
};

/* The target size of a chunk when the caller leaves the choice to the pool. */
#define POOL_DEFAULT_CHUNK_BYTES 65536u
/* A cache line on the machines tern runs on. */
#define POOL_ALIGN 64u

static size_t round_up(size_t n, size_t align)
{
	return (n + align - 1) / align * align;
}

/* Bytes before the first object of a chunk: the header, padded to a line (which
 * keeps every fundamental alignment too). */
static size_t chunk_header_size(void)
{
	return round_up(sizeof(struct tern_pool_chunk), POOL_ALIGN);
}

/* What a chunk of `count` objects takes from the allocator: aligned_alloc wants a
 * multiple of the alignment. */
static size_t chunk_bytes(const struct tern_pool *p, size_t count)
{
	return round_up(chunk_header_size() + count * p->obj_size, POOL_ALIGN);
}

static void free_push(struct tern_pool *p, void *obj)
{
	*(void **)obj = p->free_list;
	p->free_list = obj;
}

/* Adds one chunk and puts its objects on the free list. 0 or -ENOMEM. */
static int pool_grow(struct tern_pool *p)
{
	size_t count = p->per_chunk;
	if (p->max_objects) {
		if (p->capacity >= p->max_objects)
			return -TERN_ENOMEM;
		if (count > p->max_objects - p->capacity)
			count = p->max_objects - p->capacity;
	}
	if (count > (SIZE_MAX - chunk_header_size() - POOL_ALIGN) / p->obj_size)
		return -TERN_ENOMEM;
	struct tern_pool_chunk *c = aligned_alloc(POOL_ALIGN, chunk_bytes(p, count));
	if (!c)
		return -TERN_ENOMEM;
	c->count = count;
	c->next = p->chunks;
	p->chunks = c;
	/* Pushed from the last object down, so gets hand them out in address order. */
	unsigned char *base = (unsigned char *)c + chunk_header_size();
	for (size_t i = count; i-- > 0;)
		free_push(p, base + i * p->obj_size);
	p->capacity += count;
	return 0;
}

void tern__pool_init(struct tern_pool *p, size_t obj_size, size_t per_chunk, size_t max_objects)
{
	/* Large enough for the free-list link, and a multiple of the alignment so that
	 * every object in a chunk stays aligned. */
	if (obj_size < sizeof(void *))
		obj_size = sizeof(void *);
	p->obj_size = round_up(obj_size, alignof(max_align_t));
	if (per_chunk == 0) {
		size_t room = POOL_DEFAULT_CHUNK_BYTES - chunk_header_size();
		per_chunk = room >= p->obj_size ? room / p->obj_size : 1;
	}
	p->per_chunk = per_chunk;
	p->max_objects = max_objects;
	p->in_use = 0;
	p->capacity = 0;
	p->high_water = 0;
	p->failures = 0;
	p->free_list = NULL;
	p->chunks = NULL;
}

int tern__pool_reserve(struct tern_pool *p, size_t n)
{
	if (p->max_objects && n > p->max_objects)
		return -TERN_ENOMEM;
	while (p->capacity < n) {
		int err = pool_grow(p);
		if (err)
			return err;
	}
	return 0;
}

void *tern__pool_get_slow(struct tern_pool *p)
{
	if (p->max_objects && p->in_use >= p->max_objects) {
		p->failures++;
		return NULL;
	}
	if (!p->free_list && pool_grow(p) != 0) {
		p->failures++;
		return NULL;
	}
	void *obj = p->free_list;
	p->free_list = *(void **)obj;
	p->in_use++;
	if (p->in_use > p->high_water)
		p->high_water = p->in_use;
	return obj;
}

void tern__pool_put(struct tern_pool *p, void *obj)
{
	TERN_ASSERT(obj != NULL);
	TERN_ASSERT(p->in_use > 0);
	free_push(p, obj);
	p->in_use--;
}

void tern__pool_destroy(struct tern_pool *p)
{
	struct tern_pool_chunk *c = p->chunks;
	while (c) {
		struct tern_pool_chunk *next = c->next;
		free(c);
		c = next;
	}
	p->chunks = NULL;
	p->free_list = NULL;
	p->in_use = 0;
	p->capacity = 0;
}

size_t tern__pool_footprint(const struct tern_pool *p)
{
	size_t bytes = 0;
	for (const struct tern_pool_chunk *c = p->chunks; c; c = c->next)
		bytes += chunk_bytes(p, c->count);
	return bytes;
}
