/*
 * core/util.h: small helpers every layer may use: invariant assertions that vanish
 * in release builds, container_of, byte-order loads and stores, clearing an object.
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

/* Two adjacent big-endian fields at `p` (16-bit ones, or 32-bit ones) into two
 * adjacent host-order fields at `dst`, the first first, with one store. For a
 * parse whose two fields are soon read back as one wider load (a tuple hash
 * taking both ports or both addresses at once): a load that spans two narrower
 * stores still in the store buffer is not forwarded from them, and waits until
 * both have reached the cache. Forced inline: left to itself GCC laid out IP
 * input's common path a little worse (8 instructions a lifecycle more). */
static inline __attribute__((always_inline)) void tern_get16x2(void *dst, const uint8_t *p)
{
	uint32_t v = tern_get32(p);   /* the first field in the high half */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = v >> 16 | v << 16;
#endif
	__builtin_memcpy(dst, &v, sizeof(v));
}
static inline __attribute__((always_inline)) void tern_get32x2(void *dst, const uint8_t *p)
{
	uint64_t v = (uint64_t)tern_get32(p) << 32 | tern_get32(p + 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = v >> 32 | v << 32;
#endif
	__builtin_memcpy(dst, &v, sizeof(v));
}
static inline void tern_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void tern_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Clears an object of constant size with 16-byte stores. For the few hundred
 * bytes of a socket or a transfer block, GCC's memset becomes a `rep stos` with
 * an alignment set-up: a step per 8 bytes (and a start-up cost on hardware);
 * unrolled SSE stores take half the steps. The pragma unrolls the loop before
 * GCC could turn it back into a memset. */
typedef uint64_t tern_zero_vec __attribute__((vector_size(16), aligned(1), may_alias));

static inline __attribute__((always_inline)) void tern_zero(void *p, size_t n)
{
	tern_zero_vec *v = p;
	size_t i;

#pragma GCC unroll 64
	for (i = 0; i < n / 16; i++)
		v[i] = (tern_zero_vec){ 0, 0 };
	if (n % 16)
		__builtin_memset((char *)p + n - n % 16, 0, n % 16);
}

#endif
