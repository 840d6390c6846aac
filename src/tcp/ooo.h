/*
 * tcp/ooo.h: the out-of-order queue, where a receiver keeps the bytes of segments
 * that arrived beyond rcv_nxt until the hole in front of them is filled (RFC 9293
 * §3.10.7.4 lets a receiver keep such segments; Linux always does), and the source
 * of the SACK blocks it reports (RFC 2018) and of D-SACK (RFC 2883).
 *
 * Called by the engine's input path: tern__ooo_insert for a segment past rcv_nxt
 * (its report gives the D-SACK span of any duplicate bytes); tern__ooo_deliver
 * after every advance of rcv_nxt, to move what has become contiguous into the
 * receive queue and retire SACK blocks; tern__ooo_prune_tail under memory
 * pressure. Output asks tern__ooo_sack_blocks for the blocks to send.
 *
 * Shape. The queue is one list of chunks from the stack's chunk pool (tcp/stream.h),
 * sorted by sequence number, never overlapping. Each chunk carries the sequence
 * number of its first byte, so a range (a maximal run of contiguous bytes) is just
 * a run of chunks each starting where the previous one ends, and the first chunk of
 * a run records where the run ends. There are no separate range objects: a range
 * costs nothing beyond the chunks that hold its bytes (4 bytes of header per chunk
 * for that run end), and merging ranges when a hole fills is relinking, not
 * copying. New bytes go into the free room of the chunk they continue, so a run of
 * short segments packs into few chunks. Delivery hands chunks over to the receive
 * queue without allocating, so it cannot fail for lack of memory.
 *
 * SACK blocks. Besides the bytes, the queue keeps the blocks a SACK option reports,
 * in the order RFC 2018 §4 asks for: the block holding the latest segment first,
 * then the others by how recently they changed.
 * LINUX-COMPAT: the blocks follow Linux's selective_acks (tcp_sack_new_ofo_skb,
 * tcp_sack_remove, tcp_sack_reset): at most 4; a segment that touches a block
 * extends it and brings it to the front, where it absorbs any block it now meets;
 * one that touches none starts a new block at the front, forgetting the oldest if
 * all 4 are in use; blocks at or below rcv_nxt go when rcv_nxt advances; pruning
 * forgets them all. A block therefore never claims a byte the queue does not hold,
 * though it may say less than the queue holds.
 *
 * Cost. An insert walks from the best of three starting points: the last chunk
 * (new data beyond the highest range, the common case during loss recovery), the
 * chunk the previous insert ended at (retransmissions filling holes in order), or
 * the front. Listing ranges and looking one up walk the chunks.
 *
 * All sequence arithmetic is modular (tcp/seq.h); everything held must lie within
 * 2^31 of rcv_nxt, which a receive window guarantees.
 */
#ifndef TERN_TCP_OOO_H
#define TERN_TCP_OOO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "tcp/stream.h"
#include "tern/types.h"
#include "tern/wire.h"

/* Bytes [start, end) in sequence space. */
struct tern_ooo_range {
	tern_seq start, end;
};

/* SACK blocks remembered, most recent first: Linux's TCP_NUM_SACKS. */
#define TERN_OOO_SACKS 4

struct tern_ooo {
	struct tern_chunk *head, *tail; /* lowest and highest chunk; NULL when empty */
	struct tern_chunk *tail_run;    /* first chunk of the range holding tail */
	struct tern_chunk *hint;        /* where the last insert ended, or NULL */
	struct tern_chunk *hint_run;    /* first chunk of the range holding hint */
	uint32_t bytes;                 /* bytes held */
	uint32_t nchunks;               /* chunks held */
	uint32_t nranges;               /* ranges held */
	uint8_t nsacks;                 /* entries used in sacks[] */
	struct tern_ooo_range sacks[TERN_OOO_SACKS]; /* blocks to report, newest first */
};

/* What an insert did with a segment [seq, seq + len). */
struct tern_ooo_insert {
	uint32_t stored;   /* new bytes kept */
	uint32_t dup;      /* bytes that were already held */
	uint32_t refused;  /* new bytes not kept because the pool refused a chunk */
	bool duplicate;    /* the whole segment was already held (dup == len > 0) */
	/* The range that now holds the lowest byte of the segment that is held
	 * (normally the whole segment): the SACK block to report first (RFC 2018 §4).
	 * Meaningless when has_range is false (nothing of the segment is held). */
	bool has_range;
	struct tern_ooo_range range;
	/* When dup > 0: from the first to the last byte that was already held, the
	 * block a D-SACK reports (RFC 2883 §4). */
	struct tern_ooo_range dup_span;
};

/* Prepares an empty queue; allocates nothing. */
void tern__ooo_init(struct tern_ooo *q);

/* Stores segment [seq, seq + len) of `data`: bytes already held are left as they
 * are, the rest fill the holes, and ranges that become contiguous merge. If the
 * pool refuses a chunk, the new bytes stored up to that point stay (the queue is
 * consistent) and the remainder of the segment's new bytes are counted in
 * `refused`; the engine then prunes or drops. A segment held in full (new or
 * duplicate) updates the SACK blocks; one cut short does not. len must be below
 * 2^31. Bytes at or before rcv_nxt (which the engine normally trims first) are
 * kept until tern__ooo_deliver discards them. */
struct tern_ooo_insert tern__ooo_insert(struct tern_ooo *q, struct tern_pool *pool, tern_seq seq, const void *data,
				        size_t len);

/* Discards every byte before rcv_nxt, then moves the bytes contiguous from rcv_nxt
 * into `dst` (the receive queue) and returns how many moved; the caller advances
 * rcv_nxt by that much. SACK blocks now at or below the new rcv_nxt are forgotten.
 * Never allocates. */
size_t tern__ooo_deliver(struct tern_ooo *q, struct tern_pool *pool, tern_seq rcv_nxt, struct tern_stream *dst);

/* Writes up to `max` ranges, lowest first, into `out`; returns how many were
 * written (all of them when max >= tern__ooo_ranges). */
size_t tern__ooo_list(const struct tern_ooo *q, struct tern_ooo_range *out, size_t max);

/* Writes up to `max` SACK blocks, most recent first, into `out` (RFC 2018 §4);
 * returns how many. The caller sizes `max` to the option space: 3 beside
 * timestamps, 4 without, one fewer when a D-SACK block goes first (RFC 2883). */
int tern__ooo_sack_blocks(const struct tern_ooo *q, struct tern_sack_block *out, int max);

/* The range holding byte `seq`, if any. */
bool tern__ooo_find(const struct tern_ooo *q, tern_seq seq, struct tern_ooo_range *out);

/* Frees at least `nchunks` chunks (all of them if fewer are held) by dropping the
 * highest bytes first, whole chunks at a time, so that the ranges nearest rcv_nxt
 * survive. Returns the bytes dropped. If anything was dropped the SACK blocks are
 * forgotten.
 * LINUX-COMPAT: tcp_prune_ofo_queue frees memory the same way, from the highest
 * sequence down one buffer at a time until the goal is met, then resets the SACK
 * state; bytes already SACKed may be dropped (reneging, RFC 2018 §8). */
size_t tern__ooo_prune_tail(struct tern_ooo *q, struct tern_pool *pool, size_t nchunks);

/* Drops everything, returning every chunk to the pool. */
void tern__ooo_clear(struct tern_ooo *q, struct tern_pool *pool);

/* Checks every invariant (order, no overlap, counts, run ends, cached pointers);
 * for tests and debug assertions. */
bool tern__ooo_check(const struct tern_ooo *q);

static inline bool tern__ooo_empty(const struct tern_ooo *q)
{
	return q->head == NULL;
}

/* Bytes held. */
static inline size_t tern__ooo_bytes(const struct tern_ooo *q)
{
	return q->bytes;
}

/* Ranges held (separate runs of contiguous bytes). */
static inline size_t tern__ooo_ranges(const struct tern_ooo *q)
{
	return q->nranges;
}

/* Chunks held: the queue's memory is this times TERN_CHUNK_BYTES. */
static inline size_t tern__ooo_chunks(const struct tern_ooo *q)
{
	return q->nchunks;
}

/* The sequence number of the lowest byte held (the queue must not be empty). */
static inline tern_seq tern__ooo_start(const struct tern_ooo *q)
{
	return q->head->seq;
}

/* The sequence number just past the highest byte held (the queue must not be
 * empty). */
static inline tern_seq tern__ooo_end(const struct tern_ooo *q)
{
	return q->tail->seq + (uint32_t)tern__chunk_len(q->tail);
}

#endif
