/*
 * tern/sysctl.h: the stack's knobs, with Linux's names, defaults and meanings.
 *
 * One declarative table (src/sysctl/table.h) lists every knob: its name as sysctl(8)
 * spells it ("net.ipv4.tcp_syncookies"), how many integers it holds (tcp_rmem holds
 * three) or the words it accepts (tcp_congestion_control), its default, its bounds
 * and a one-line description. Knobs Linux lacks are named "tern.*". docs/sysctl.md is
 * generated from the same table (`tern sysctl --markdown`).
 *
 * Values are text, as in /proc/sys: integers of a vector are separated by a tab on
 * output and by any whitespace on input.
 */
#ifndef TERN_SYSCTL_H
#define TERN_SYSCTL_H

#include <stddef.h>

#include "tern/stack.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_SYSCTL_MAX_VALUES 3

/* What one knob is. */
struct tern_sysctl_info {
	const char *name;            /* "net.ipv4.tcp_rmem" */
	const char *doc;             /* one line */
	const char *unit;            /* "bytes", "seconds", "ms", "us", "ns", "count", "bool", "" */
	int nvalues;                 /* integers it holds (1..3); 0 for a word-valued knob */
	long long min;               /* bounds for each integer */
	long long max;
	long long defaults[TERN_SYSCTL_MAX_VALUES];
	const char *const *words;    /* NULL-terminated choices of a word-valued knob */
	const char *default_word;
};

/* The number of knobs, and the i-th in table order. */
int tern_sysctl_count(void);
const struct tern_sysctl_info *tern_sysctl_at(int i);
/* Finds a knob by name; "net/ipv4/tcp_sack" (the /proc/sys path form) works too.
 * NULL if there is none. */
const struct tern_sysctl_info *tern_sysctl_find(const char *name);

/* Writes a knob's current value as /proc/sys shows it ("4096\t131072\t6291456").
 * Returns the length, -ENOENT for an unknown name, -ENOSPC if `len` is too small. */
int tern_sysctl_get(const struct tern_stack *st, const char *name, char *buf, size_t len);
/* Sets a knob from text. 0, -ENOENT (unknown name), or -EINVAL (not a number, wrong
 * count, out of bounds, or not one of the words); on error nothing changes. */
int tern_sysctl_set(struct tern_stack *st, const char *name, const char *value);

#ifdef __cplusplus
}
#endif
#endif
