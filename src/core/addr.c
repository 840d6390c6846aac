/*
 * core/addr.c: IP addresses as text (include/tern/types.h).
 *
 * Parsing accepts only the strict dotted quad: four decimal numbers 0-255 joined by
 * dots, nothing before or after. The historical shorthands that inet_aton() also
 * takes (fewer parts, hex, octal with a leading zero) are refused, and so is any
 * leading zero, as inet_pton() refuses it: "010" means 8 to some parsers and 10 to
 * others, and a stack that logs and compares addresses wants one spelling only.
 *
 * Formatting writes IPv4 as a dotted quad and IPv6 in the canonical form of
 * RFC 5952 §4: lower-case hex without leading zeros, the longest run of two or more
 * zero groups (the first, on a tie) written as "::", and IPv4-mapped addresses with
 * their last 32 bits dotted (§5).
 */
#include <stdio.h>
#include <string.h>

#include "tern/errors.h"
#include "tern/types.h"

/* Reads one part of a dotted quad at *pp: 1-3 digits, no leading zero unless the
 * part is "0", value at most 255. Advances *pp past it. */
static int parse_octet(const char **pp, uint32_t *out)
{
	const char *p = *pp;
	uint32_t v = 0;
	int digits = 0;
	while (*p >= '0' && *p <= '9') {
		if (digits == 3)
			return -TERN_EINVAL;
		if (digits == 1 && v == 0)
			return -TERN_EINVAL; /* leading zero */
		v = v * 10 + (uint32_t)(*p - '0');
		digits++;
		p++;
	}
	if (digits == 0 || v > 255)
		return -TERN_EINVAL;
	*out = v;
	*pp = p;
	return 0;
}

int tern_addr_parse(const char *text, struct tern_addr *out)
{
	if (!text || !out)
		return -TERN_EINVAL;
	const char *p = text;
	uint32_t v4 = 0;
	for (int i = 0; i < 4; i++) {
		if (i > 0) {
			if (*p != '.')
				return -TERN_EINVAL;
			p++;
		}
		uint32_t octet;
		if (parse_octet(&p, &octet) != 0)
			return -TERN_EINVAL;
		v4 = v4 << 8 | octet;
	}
	if (*p != '\0')
		return -TERN_EINVAL;
	memset(out, 0, sizeof(*out));
	out->family = TERN_AF_INET;
	out->u.v4 = v4;
	return 0;
}

static void format_v6(const uint8_t *b, char *buf, size_t len)
{
	uint16_t g[8];
	for (int i = 0; i < 8; i++)
		g[i] = (uint16_t)(b[2 * i] << 8 | b[2 * i + 1]);

	/* ::ffff:a.b.c.d (RFC 4291 §2.5.5.2 mapped addresses, RFC 5952 §5). */
	if (!g[0] && !g[1] && !g[2] && !g[3] && !g[4] && g[5] == 0xffff) {
		snprintf(buf, len, "::ffff:%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
		return;
	}

	int best = -1, best_len = 1; /* a lone zero group is not shortened */
	for (int i = 0; i < 8;) {
		if (g[i]) {
			i++;
			continue;
		}
		int j = i;
		while (j < 8 && !g[j])
			j++;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
		i = j;
	}

	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < 8 && used < len; i++) {
		int n;
		if (i == best) {
			n = snprintf(buf + used, len - used, "::");
			i += best_len - 1;
		} else {
			bool after_gap = best >= 0 && i == best + best_len;
			n = snprintf(buf + used, len - used, "%s%x", (i == 0 || after_gap) ? "" : ":", g[i]);
		}
		if (n < 0)
			return;
		used += (size_t)n;
	}
}

char *tern_addr_format(const struct tern_addr *addr, char *buf, size_t len)
{
	if (!buf || len == 0)
		return buf;
	if (!addr) {
		snprintf(buf, len, "?");
		return buf;
	}
	switch (addr->family) {
	case TERN_AF_INET: {
		uint32_t a = addr->u.v4;
		snprintf(buf, len, "%u.%u.%u.%u", (unsigned)(a >> 24), (unsigned)(a >> 16 & 0xff),
			 (unsigned)(a >> 8 & 0xff), (unsigned)(a & 0xff));
		break;
	}
	case TERN_AF_INET6:
		format_v6(addr->u.v6, buf, len);
		break;
	default:
		snprintf(buf, len, "?");
		break;
	}
	return buf;
}
