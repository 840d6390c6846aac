/*
 * sysctl/sysctl.c: the knobs' lookup, defaults, reading and writing.
 *
 * Two arrays are expanded from the one table (sysctl/table.h), index for index: the
 * public description of each knob (struct tern_sysctl_info) and where its value sits
 * in struct tern_sysctls. Values travel as text, as through /proc/sys:
 *
 *   reading   integers in decimal, a vector's separated by one tab, no newline
 *             ("4096\t131072\t6291456"); a word-valued knob shows its word.
 *   writing   decimal integers with an optional sign, separated and surrounded by
 *             any whitespace (so "4096 131072 6291456\n" from echo is fine); exactly
 *             the knob's count, each within [min, max], vectors marked ascending in
 *             order. Anything else (empty text, junk after a number, a number past
 *             int64) is -EINVAL. A word knob takes one of its words, whitespace
 *             around it allowed. The value is checked whole before any of it is
 *             stored, so a refused write changes nothing.
 *
 * LINUX-COMPAT: Linux's integer parser also takes hex ("0x10") and octal ("010");
 * tern reads decimal only, which is what sysctl.conf files and the conformance
 * scripts use. Linux answers an unknown congestion-control name with ENOENT; the
 * public contract here reports every bad value as -EINVAL.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/stack.h"
#include "sysctl/sysctl.h"
#include "tern/errors.h"
#include "tern/sysctl.h"

/* Unwraps a parenthesised list from the table: KNOB_LIST (a, b) is a, b. */
#define KNOB_LIST(...) __VA_ARGS__
/* How many words a parenthesised word list holds. */
#define KNOB_NWORDS(words) \
	((long long)(sizeof((const char *[]){ KNOB_LIST words }) / sizeof(const char *)))

static const struct tern_sysctl_info knobs[] = {
#define TERN_KNOB(n_, f_, u_, lo_, hi_, d_, doc_) \
	{ .name = n_, .doc = doc_, .unit = u_, .nvalues = 1, .min = lo_, .max = hi_, \
	  .defaults = { d_ } },
#define TERN_KNOB_VEC(n_, f_, c_, u_, lo_, hi_, fl_, d_, doc_) \
	{ .name = n_, .doc = doc_, .unit = u_, .nvalues = c_, .min = lo_, .max = hi_, \
	  .defaults = { KNOB_LIST d_ } },
#define TERN_KNOB_WORDS(n_, f_, d_, w_, doc_) \
	{ .name = n_, .doc = doc_, .unit = "", .nvalues = 0, .min = 0, \
	  .max = KNOB_NWORDS(w_) - 1, \
	  .words = (const char *const[]){ KNOB_LIST w_, NULL }, .default_word = d_ },
#include "sysctl/table.h"
};

#define NKNOBS ((int)(sizeof(knobs) / sizeof(knobs[0])))

/* Where each knob's value lives, and the checks the public description lacks. */
struct knob_slot {
	size_t offset;          /* into struct tern_sysctls */
	unsigned flags;         /* TERN_KNOB_ASCENDING */
};

static const struct knob_slot slots[] = {
#define TERN_KNOB(n_, f_, u_, lo_, hi_, d_, doc_) \
	{ offsetof(struct tern_sysctls, f_), 0 },
#define TERN_KNOB_VEC(n_, f_, c_, u_, lo_, hi_, fl_, d_, doc_) \
	{ offsetof(struct tern_sysctls, f_), fl_ },
#define TERN_KNOB_WORDS(n_, f_, d_, w_, doc_) \
	{ offsetof(struct tern_sysctls, f_), 0 },
#include "sysctl/table.h"
};

_Static_assert(sizeof(slots) / sizeof(slots[0]) == sizeof(knobs) / sizeof(knobs[0]),
	       "the two expansions of table.h must agree");

static int64_t *slot_values(struct tern_sysctls *sys, int i)
{
	return (int64_t *)(void *)((char *)sys + slots[i].offset);
}

static const int64_t *slot_values_const(const struct tern_sysctls *sys, int i)
{
	return (const int64_t *)(const void *)((const char *)sys + slots[i].offset);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The knob `query` names, in either spelling: "net.ipv4.tcp_sack" or the /proc/sys
 * path form "net/ipv4/tcp_sack" (slashes only; a mix of both is no name). */
static int knob_index(const char *query)
{
	if (!query)
		return -1;
	bool path = strchr(query, '/') != NULL;
	if (path && strchr(query, '.'))
		return -1;
	for (int i = 0; i < NKNOBS; i++) {
		const char *k = knobs[i].name, *q = query;
		for (; *k && *q; k++, q++) {
			char c = (path && *q == '/') ? '.' : *q;
			if (c != *k)
				break;
		}
		if (!*k && !*q)
			return i;
	}
	return -1;
}

static int word_index(const struct tern_sysctl_info *k, const char *word, size_t len)
{
	for (int w = 0; k->words[w]; w++)
		if (strlen(k->words[w]) == len && !memcmp(k->words[w], word, len))
			return w;
	return -1;
}

/* Reads one decimal integer, optionally signed, at *pp. It must end at whitespace or
 * at the end of the text, and fit an int64_t. */
static int parse_int(const char **pp, int64_t *out)
{
	const char *p = *pp;
	bool neg = false;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p < '0' || *p > '9')
		return -TERN_EINVAL;

	/* Accumulate the magnitude unsigned; a negative number may reach 2^63. */
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	uint64_t mag = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned digit = (unsigned)(*p - '0');
		if (mag > (limit - digit) / 10)
			return -TERN_EINVAL;
		mag = mag * 10 + digit;
	}
	if (*p && !is_space(*p))
		return -TERN_EINVAL;

	if (!neg)
		*out = (int64_t)mag;
	else if (mag == (uint64_t)INT64_MAX + 1)
		*out = INT64_MIN;
	else
		*out = -(int64_t)mag;
	*pp = p;
	return 0;
}

/* Parses and checks a whole integer value into vals[]; stores nothing elsewhere. */
static int parse_values(int i, const char *text, int64_t *vals)
{
	const struct tern_sysctl_info *k = &knobs[i];
	const char *p = text;
	int n = 0;

	for (;;) {
		while (is_space(*p))
			p++;
		if (!*p)
			break;
		if (n == k->nvalues)
			return -TERN_EINVAL;          /* more numbers than the knob holds */
		int64_t v;
		if (parse_int(&p, &v) < 0 || v < k->min || v > k->max)
			return -TERN_EINVAL;
		vals[n++] = v;
	}
	if (n != k->nvalues)
		return -TERN_EINVAL;                  /* empty, or too few */
	if (slots[i].flags & TERN_KNOB_ASCENDING)
		for (int j = 1; j < n; j++)
			if (vals[j] < vals[j - 1])
				return -TERN_EINVAL;
	return 0;
}

/* Finds the word a value names, ignoring whitespace around it. */
static int parse_word(int i, const char *text, int64_t *out)
{
	const char *end = text + strlen(text);

	while (is_space(*text))
		text++;
	while (end > text && is_space(end[-1]))
		end--;
	int w = word_index(&knobs[i], text, (size_t)(end - text));
	if (w < 0)
		return -TERN_EINVAL;
	*out = w;
	return 0;
}

int tern_sysctl_count(void)
{
	return NKNOBS;
}

const struct tern_sysctl_info *tern_sysctl_at(int i)
{
	return i >= 0 && i < NKNOBS ? &knobs[i] : NULL;
}

const struct tern_sysctl_info *tern_sysctl_find(const char *name)
{
	int i = knob_index(name);
	return i < 0 ? NULL : &knobs[i];
}

void tern__sysctl_init(struct tern_sysctls *sys)
{
	memset(sys, 0, sizeof(*sys));
	for (int i = 0; i < NKNOBS; i++) {
		const struct tern_sysctl_info *k = &knobs[i];
		int64_t *v = slot_values(sys, i);
		if (k->words) {
			int w = word_index(k, k->default_word, strlen(k->default_word));
			TERN_ASSERT(w >= 0);
			*v = w;
			continue;
		}
		for (int j = 0; j < k->nvalues; j++)
			v[j] = k->defaults[j];
	}
}

int tern_sysctl_get(const struct tern_stack *st, const char *name, char *buf, size_t len)
{
	int i = knob_index(name);
	if (i < 0)
		return -TERN_ENOENT;

	const struct tern_sysctl_info *k = &knobs[i];
	const int64_t *v = slot_values_const(&st->sys, i);
	/* Three int64 values of up to 20 characters, two tabs, the NUL. */
	char text[TERN_SYSCTL_MAX_VALUES * 21 + 1];
	int n = 0;

	if (k->words) {
		TERN_ASSERT(*v >= k->min && *v <= k->max);
		n = snprintf(text, sizeof(text), "%s", k->words[*v]);
	} else {
		for (int j = 0; j < k->nvalues; j++)
			n += snprintf(text + n, sizeof(text) - (size_t)n, "%s%" PRId64,
				      j ? "\t" : "", v[j]);
	}
	TERN_ASSERT(n >= 0 && (size_t)n < sizeof(text));

	if (!buf || (size_t)n >= len) {
		if (buf && len)
			buf[0] = '\0';
		return -TERN_ENOSPC;
	}
	memcpy(buf, text, (size_t)n + 1);
	return n;
}

int tern_sysctl_set(struct tern_stack *st, const char *name, const char *value)
{
	int i = knob_index(name);
	if (i < 0)
		return -TERN_ENOENT;
	if (!value)
		return -TERN_EINVAL;

	const struct tern_sysctl_info *k = &knobs[i];
	int64_t vals[TERN_SYSCTL_MAX_VALUES];
	int err = k->words ? parse_word(i, value, vals) : parse_values(i, value, vals);
	if (err < 0)
		return err;

	int64_t *v = slot_values(&st->sys, i);
	for (int j = 0; j < (k->words ? 1 : k->nvalues); j++)
		v[j] = vals[j];
	return 0;
}
