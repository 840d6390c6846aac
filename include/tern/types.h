/*
 * tern/types.h: scalar domain types shared by every layer.
 *
 * Time is a monotonic count of nanoseconds passed in by the driver (virtual time in
 * the simulator, CLOCK_MONOTONIC on a real network); the core never reads a clock.
 * Addresses are held in a family-tagged type wide enough for IPv6 so that adding
 * IPv6 later changes no signature.
 */
#ifndef TERN_TYPES_H
#define TERN_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Monotonic time in nanoseconds. */
typedef int64_t tern_time;

/* "No deadline": later than any real time. */
#define TERN_TIME_NEVER INT64_MAX

#define TERN_NS_PER_US  1000LL
#define TERN_NS_PER_MS  1000000LL
#define TERN_NS_PER_SEC 1000000000LL

/* A TCP sequence number; compare with the modular helpers in the TCP layer. */
typedef uint32_t tern_seq;

/* Address families, with Linux's values so that sockaddr conversions are direct. */
#define TERN_AF_UNSPEC 0
#define TERN_AF_INET   2
#define TERN_AF_INET6  10

/* An IP address. For IPv4, `v4` is in host byte order (192.168.0.1 is 0xc0a80001). */
struct tern_addr {
	uint8_t family;
	union {
		uint32_t v4;
		uint8_t v6[16];
	} u;
};

/* Builds an IPv4 address from its four dotted-quad parts. */
static inline struct tern_addr tern_addr_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct tern_addr addr = { .family = TERN_AF_INET };
	addr.u.v4 = ((uint32_t)a << 24) | ((uint32_t)b << 16) | ((uint32_t)c << 8) | d;
	return addr;
}

static inline bool tern_addr_eq(const struct tern_addr *a, const struct tern_addr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == TERN_AF_INET)
		return a->u.v4 == b->u.v4;
	for (int i = 0; i < 16; i++)
		if (a->u.v6[i] != b->u.v6[i])
			return false;
	return true;
}

/* Longest text tern_addr_format writes, with its NUL (an IPv6 address). */
#define TERN_ADDR_STRLEN 46

/* Parses dotted-quad IPv4 text. Returns 0, or -EINVAL (as a negative errno). */
int tern_addr_parse(const char *text, struct tern_addr *out);

/* Writes the address as text; returns `buf`. `len` should be TERN_ADDR_STRLEN. */
char *tern_addr_format(const struct tern_addr *addr, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
