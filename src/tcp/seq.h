/*
 * tcp/seq.h: comparisons on TCP sequence numbers, the vocabulary of every check in
 * the TCP layer (RFC 9293 §3.4).
 *
 * Sequence numbers live on a circle of 2^32 values, so "a comes before b" is only
 * meaningful when the two are less than half the circle apart: a precedes b when
 * b - a, taken modulo 2^32, is in (0, 2^31). Every comparison of sequence (and
 * acknowledgment) numbers in tern goes through these helpers; a plain `<` on two
 * sequence numbers is a bug waiting for the wrap at 2^32.
 *
 * The sign is read from the top bit of the unsigned difference rather than by
 * converting to int32_t, which keeps the helpers free of implementation-defined
 * conversions. When a and b are exactly 2^31 apart neither is "before" the other
 * in a useful sense; seq_lt then holds both ways round, as Linux's before() does,
 * and the window checks that guard every use never let such a pair meet.
 */
#ifndef TERN_TCP_SEQ_H
#define TERN_TCP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

#include "tern/types.h"

/* a < b on the circle: b is ahead of a by less than half the circle. */
static inline bool seq_lt(tern_seq a, tern_seq b)
{
	return ((uint32_t)(a - b) & 0x80000000u) != 0;
}

/* a <= b on the circle. */
static inline bool seq_leq(tern_seq a, tern_seq b)
{
	return a == b || seq_lt(a, b);
}

/* a > b on the circle. */
static inline bool seq_gt(tern_seq a, tern_seq b)
{
	return !seq_leq(a, b);
}

/* a >= b on the circle. */
static inline bool seq_geq(tern_seq a, tern_seq b)
{
	return !seq_lt(a, b);
}

/* The later of a and b. */
static inline tern_seq seq_max(tern_seq a, tern_seq b)
{
	return seq_lt(a, b) ? b : a;
}

/* The earlier of a and b. */
static inline tern_seq seq_min(tern_seq a, tern_seq b)
{
	return seq_lt(a, b) ? a : b;
}

/* lo <= x <= hi, both ends included, walking forward from lo (Linux's between()).
 * Correct for any span hi - lo, even one of 2^31 or more. */
static inline bool seq_between(tern_seq x, tern_seq lo, tern_seq hi)
{
	return (uint32_t)(x - lo) <= (uint32_t)(hi - lo);
}

/* start <= x < end: x lies in the half-open range [start, end), the shape of a
 * window test such as RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND (RFC 9293 §3.10.7.4).
 * An empty range (start == end) holds nothing. */
static inline bool seq_in_range(tern_seq x, tern_seq start, tern_seq end)
{
	return (uint32_t)(x - start) < (uint32_t)(end - start);
}

/* Linux's tcp_in_window, the acceptability test of objects without a full socket
 * (a SYN-queue request, a TIME-WAIT entry) against [s_win, e_win]: the segment
 * [seq, end) starts at the left edge, overlaps the window, or is an empty segment
 * at the right edge. */
static inline bool seq_in_window(tern_seq seq, tern_seq end, tern_seq s_win, tern_seq e_win)
{
	if (seq == s_win)
		return true;
	if (seq_gt(end, s_win) && seq_lt(seq, e_win))
		return true;
	return seq == e_win && seq == end;
}

/* The signed distance a - b on the circle, in [-2^31, 2^31). */
static inline int32_t seq_diff(tern_seq a, tern_seq b)
{
	uint32_t d = (uint32_t)(a - b);
	if (d < 0x80000000u)
		return (int32_t)d;
	return (int32_t)(d - 0x80000000u) - INT32_MAX - 1;
}

#endif
