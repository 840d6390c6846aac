/*
 * core/util.h: small helpers every layer may use: invariant assertions that vanish
 * in release builds, container_of, byte-order loads and stores.
 */
#ifndef TERN_CORE_UTIL_H
#define TERN_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Broken invariants (programmer errors, never packet contents: DESIGN.md §5). */
#ifdef TERN_DEBUG
#include <stdio.h>
#define TERN_ASSERT(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)
#else
#define TERN_ASSERT(cond) ((void)0)
#endif

#define TERN_CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define TERN_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TERN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TERN_MAX(a, b) ((a) > (b) ? (a) : (b))

static inline uint16_t tern_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t tern_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void tern_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void tern_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

#endif
