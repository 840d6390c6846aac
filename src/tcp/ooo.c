/*
 * tcp/ooo.c: the out-of-order queue (tcp/ooo.h describes the shape and the costs).
 *
 * Invariants, checked by tern__ooo_check:
 *   - chunks are sorted by sequence number, none overlaps the next, none is empty;
 *   - a run is a maximal sequence of chunks each starting where the previous one
 *     ends; its first chunk's run_end is the sequence number just past it;
 *   - tail_run is the first chunk of the run holding tail, hint_run that of the run
 *     holding hint (hint may be NULL);
 *   - bytes, nchunks and nranges count what the list holds;
 *   - every SACK block is non-empty and lies inside one range.
 *
 * Insertion walks forward along the list with `prev` (the last chunk starting at or
 * before the next byte to place, or NULL for "before the head") and `run` (the
 * first chunk of prev's run). Bytes covered by prev are duplicates; a hole before
 * the next chunk is filled, first into prev's free room when the hole starts where
 * prev ends, then into fresh chunks linked after prev. When the filling reaches the
 * next chunk, the two runs become one: the next chunk stops being a run start and
 * its run_end moves to `run`. Delivery only ever removes whole runs (anything a
 * delivery touches is either discarded or contiguous from rcv_nxt), so the runs
 * that remain, and the cached tail_run, stay valid.
 */
#include "tcp/ooo.h"

#include <string.h>

#include "core/util.h"
#include "tcp/seq.h"

static tern_seq chunk_end(const struct tern_chunk *c)
{
	return c->seq + (uint32_t)tern__chunk_len(c);
}

void tern__ooo_init(struct tern_ooo *q)
{
	q->head = NULL;
	q->tail = NULL;
	q->tail_run = NULL;
	q->hint = NULL;
	q->hint_run = NULL;
	q->bytes = 0;
	q->nchunks = 0;
	q->nranges = 0;
	q->nsacks = 0;
}

/* ---------------------------------------------------------------- SACK blocks
 * Kept as Linux keeps selective_acks (see tcp/ooo.h), so that the blocks a tern
 * receiver reports, and their order, are the ones Linux would send. */

/* Grows block `b` to cover [start, end) if the two overlap or touch. */
static bool sack_absorb(struct tern_ooo_range *b, tern_seq start, tern_seq end)
{
	if (seq_gt(start, b->end) || seq_gt(b->start, end))
		return false;
	b->start = seq_min(b->start, start);
	b->end = seq_max(b->end, end);
	return true;
}

static void sack_forget(struct tern_ooo *q, unsigned i)
{
	for (; i + 1 < q->nsacks; i++)
		q->sacks[i] = q->sacks[i + 1];
	q->nsacks--;
}

/* A segment [start, end) is now held in full: record it. */
static void sack_note(struct tern_ooo *q, tern_seq start, tern_seq end)
{
	unsigned i;
	for (i = 0; i < q->nsacks; i++)
		if (sack_absorb(&q->sacks[i], start, end))
			break;
	if (i < q->nsacks) {
		/* Bring the grown block to the front, keeping the others' order... */
		struct tern_ooo_range grown = q->sacks[i];
		for (; i > 0; i--)
			q->sacks[i] = q->sacks[i - 1];
		q->sacks[0] = grown;
		/* ...and let it swallow any block it now overlaps or touches. */
		for (unsigned j = 1; j < q->nsacks;) {
			if (sack_absorb(&q->sacks[0], q->sacks[j].start, q->sacks[j].end))
				sack_forget(q, j);
			else
				j++;
		}
		return;
	}
	/* A new block at the front; the oldest falls off a full list. */
	if (q->nsacks == TERN_OOO_SACKS)
		q->nsacks--;
	for (i = q->nsacks; i > 0; i--)
		q->sacks[i] = q->sacks[i - 1];
	q->sacks[0].start = start;
	q->sacks[0].end = end;
	q->nsacks++;
}

int tern__ooo_sack_blocks(const struct tern_ooo *q, struct tern_sack_block *out, int max)
{
	int n = 0;
	for (; n < max && n < (int)q->nsacks; n++) {
		out[n].start = q->sacks[n].start;
		out[n].end = q->sacks[n].end;
	}
	return n;
}

/* Copies the hole [*posp, end) from `src` into the list after *prevp and before
 * `cur`: first into *prevp's free room when the hole continues it, then into new
 * chunks. Advances *posp and *prevp past what was stored. Returns false when the
 * pool refused a chunk before the hole was full. */
static bool store_hole(struct tern_ooo *q, struct tern_pool *pool, struct tern_chunk **prevp,
		       struct tern_chunk *cur, tern_seq *posp, tern_seq end, const uint8_t *src)
{
	struct tern_chunk *prev = *prevp;
	tern_seq pos = *posp;
	bool ok = true;
	if (prev && chunk_end(prev) == pos && prev->hi < TERN_CHUNK_DATA) {
		size_t n = TERN_MIN(TERN_CHUNK_DATA - prev->hi, (size_t)(uint32_t)(end - pos));
		memcpy(prev->data + prev->hi, src, n);
		prev->hi = (uint16_t)(prev->hi + n);
		pos += (uint32_t)n;
		src += n;
	}
	while (pos != end) {
		struct tern_chunk *c = tern__pool_get(pool);
		if (!c) {
			ok = false;
			break;
		}
		size_t n = TERN_MIN(TERN_CHUNK_DATA, (size_t)(uint32_t)(end - pos));
		memcpy(c->data, src, n);
		c->seq = pos;
		c->run_end = 0;
		c->lo = 0;
		c->hi = (uint16_t)n;
		c->next = cur;
		if (prev)
			prev->next = c;
		else
			q->head = c;
		q->nchunks++;
		prev = c;
		pos += (uint32_t)n;
		src += n;
	}
	*prevp = prev;
	*posp = pos;
	return ok;
}

struct tern_ooo_insert tern__ooo_insert(struct tern_ooo *q, struct tern_pool *pool, tern_seq seq, const void *data,
				        size_t len)
{
	struct tern_ooo_insert r;
	memset(&r, 0, sizeof(r));
	TERN_ASSERT(len < 0x80000000u);
	TERN_ASSERT(data != NULL || len == 0);
	if (len == 0)
		return r;
	const uint8_t *src = data;
	const tern_seq end = seq + (uint32_t)len;
	tern_seq pos = seq;

	/* Start as far along as a cached position allows. tail starts at or after
	 * hint, so it is the better start whenever it qualifies. */
	struct tern_chunk *prev = NULL, *run = NULL;
	if (q->tail && seq_leq(q->tail->seq, seq)) {
		prev = q->tail;
		run = q->tail_run;
	} else if (q->hint && seq_leq(q->hint->seq, seq)) {
		prev = q->hint;
		run = q->hint_run;
	}

	struct tern_chunk *first_run = NULL; /* run holding the lowest byte held */
	bool refused = false;
	for (;;) {
		/* Bytes prev already holds. */
		if (prev && seq_lt(pos, chunk_end(prev))) {
			tern_seq stop = seq_min(chunk_end(prev), end);
			if (r.dup == 0)
				r.dup_span.start = pos;
			r.dup += (uint32_t)(stop - pos);
			r.dup_span.end = stop;
			if (!first_run)
				first_run = run;
			pos = stop;
		}
		if (!seq_lt(pos, end))
			break;
		struct tern_chunk *cur = prev ? prev->next : q->head;
		if (cur && seq_leq(cur->seq, pos)) {
			if (!prev || chunk_end(prev) != cur->seq)
				run = cur;
			prev = cur;
			continue;
		}
		/* A hole: [pos, hole_end) holds nothing. */
		tern_seq hole_end = cur && seq_lt(cur->seq, end) ? cur->seq : end;
		if (!refused) {
			struct tern_chunk *before = prev;
			tern_seq hole_start = pos;
			bool joined = prev && chunk_end(prev) == pos;
			refused = !store_hole(q, pool, &prev, cur, &pos, hole_end, src + (uint32_t)(pos - seq));
			uint32_t n = (uint32_t)(pos - hole_start);
			if (n > 0) {
				if (!joined) {
					/* The new bytes begin a run of their own. */
					run = before ? before->next : q->head;
					q->nranges++;
				}
				if (!first_run)
					first_run = run;
				r.stored += n;
				q->bytes += n;
				if (cur && pos == cur->seq) {
					/* The hole is closed: cur's run joins this one. */
					run->run_end = cur->run_end;
					q->nranges--;
					if (q->tail_run == cur)
						q->tail_run = run;
				} else {
					run->run_end = pos;
				}
			}
		}
		if (refused) {
			/* Once the pool has said no, the rest of the new bytes are
			 * counted, not stored. */
			r.refused += (uint32_t)(hole_end - pos);
			pos = hole_end;
		}
	}

	if (prev && !prev->next) {
		q->tail = prev;
		q->tail_run = run;
	}
	q->hint = prev;
	q->hint_run = run;

	r.duplicate = r.dup == (uint32_t)len;
	if (r.refused == 0)
		sack_note(q, seq, end);
	if (first_run) {
		r.has_range = true;
		r.range.start = first_run->seq;
		r.range.end = first_run->run_end;
	}
	TERN_ASSERT(r.stored + r.dup + r.refused == (uint32_t)len);
	return r;
}

/* Unlinks the first chunk and settles the counts; the caller disposes of it. */
static struct tern_chunk *pop_head(struct tern_ooo *q)
{
	struct tern_chunk *h = q->head;
	struct tern_chunk *next = h->next;
	if (!next || chunk_end(h) != next->seq)
		q->nranges--; /* h was the last chunk of its run */
	q->head = next;
	q->nchunks--;
	q->bytes -= (uint32_t)tern__chunk_len(h);
	if (h == q->tail) {
		q->tail = NULL;
		q->tail_run = NULL;
	}
	q->hint = NULL;
	q->hint_run = NULL;
	return h;
}

size_t tern__ooo_deliver(struct tern_ooo *q, struct tern_pool *pool, tern_seq rcv_nxt, struct tern_stream *dst)
{
	size_t moved = 0;
	struct tern_chunk *h;
	while ((h = q->head) != NULL) {
		if (seq_leq(chunk_end(h), rcv_nxt)) {
			/* Wholly before rcv_nxt: already received by other means. */
			tern__pool_put(pool, pop_head(q));
			continue;
		}
		if (seq_lt(h->seq, rcv_nxt)) {
			uint32_t cut = (uint32_t)(rcv_nxt - h->seq);
			h->lo = (uint16_t)(h->lo + cut);
			h->seq = rcv_nxt;
			q->bytes -= cut;
		}
		if (h->seq != rcv_nxt)
			break; /* a hole remains in front */
		size_t n = tern__chunk_len(h);
		tern__stream_put_chunk(dst, pool, pop_head(q));
		rcv_nxt += (uint32_t)n;
		moved += n;
	}
	/* Blocks reaching back to rcv_nxt were delivered or discarded whole. */
	for (unsigned i = 0; i < q->nsacks;) {
		if (!q->head || seq_leq(q->sacks[i].start, rcv_nxt))
			sack_forget(q, i);
		else
			i++;
	}
	return moved;
}

size_t tern__ooo_list(const struct tern_ooo *q, struct tern_ooo_range *out, size_t max)
{
	size_t n = 0;
	const struct tern_chunk *c = q->head;
	while (c && n < max) {
		/* c starts a run; its run_end says where the run stops. */
		out[n].start = c->seq;
		out[n].end = c->run_end;
		n++;
		while (chunk_end(c) != out[n - 1].end)
			c = c->next;
		c = c->next;
	}
	return n;
}

bool tern__ooo_find(const struct tern_ooo *q, tern_seq seq, struct tern_ooo_range *out)
{
	const struct tern_chunk *run = NULL, *prev = NULL;
	for (const struct tern_chunk *c = q->head; c; c = c->next) {
		if (seq_lt(seq, c->seq))
			return false; /* in a hole or before the head */
		if (!prev || chunk_end(prev) != c->seq)
			run = c;
		if (seq_lt(seq, chunk_end(c))) {
			out->start = run->seq;
			out->end = run->run_end;
			return true;
		}
		prev = c;
	}
	return false;
}

size_t tern__ooo_prune_tail(struct tern_ooo *q, struct tern_pool *pool, size_t nchunks)
{
	if (nchunks == 0 || !q->head)
		return 0;
	if (nchunks >= q->nchunks) {
		size_t bytes = q->bytes;
		tern__ooo_clear(q, pool);
		return bytes;
	}
	/* Keep the lowest chunks, counting their runs on the way. */
	size_t keep = q->nchunks - nchunks;
	struct tern_chunk *last = q->head, *run = q->head;
	uint32_t ranges = 1;
	for (size_t i = 1; i < keep; i++) {
		struct tern_chunk *next = last->next;
		if (chunk_end(last) != next->seq) {
			run = next;
			ranges++;
		}
		last = next;
	}
	struct tern_chunk *drop = last->next;
	last->next = NULL;
	size_t bytes = 0;
	while (drop) {
		struct tern_chunk *next = drop->next;
		bytes += tern__chunk_len(drop);
		q->nchunks--;
		tern__pool_put(pool, drop);
		drop = next;
	}
	q->bytes -= (uint32_t)bytes;
	q->nranges = ranges;
	q->tail = last;
	q->tail_run = run;
	run->run_end = chunk_end(last); /* the last run may have been cut short */
	q->hint = NULL;
	q->hint_run = NULL;
	q->nsacks = 0;
	return bytes;
}

void tern__ooo_clear(struct tern_ooo *q, struct tern_pool *pool)
{
	struct tern_chunk *c = q->head;
	while (c) {
		struct tern_chunk *next = c->next;
		tern__pool_put(pool, c);
		c = next;
	}
	tern__ooo_init(q);
}

bool tern__ooo_check(const struct tern_ooo *q)
{
	uint32_t bytes = 0, nchunks = 0, nranges = 0;
	const struct tern_chunk *prev = NULL, *run = NULL;
	bool hint_seen = q->hint == NULL;
	for (const struct tern_chunk *c = q->head; c; c = c->next) {
		if (c->lo >= c->hi || c->hi > TERN_CHUNK_DATA)
			return false;
		if (prev) {
			/* Offsets from the head grow: sorted, no overlap, and the
			 * whole queue spans less than the circle. */
			uint32_t prev_end = (uint32_t)(chunk_end(prev) - q->head->seq);
			uint32_t start = (uint32_t)(c->seq - q->head->seq);
			if (start < prev_end || prev_end < (uint32_t)(prev->seq - q->head->seq))
				return false;
		}
		if (!prev || chunk_end(prev) != c->seq) {
			if (run && run->run_end != chunk_end(prev))
				return false;
			run = c;
			nranges++;
		}
		if (c == q->hint) {
			if (q->hint_run != run)
				return false;
			hint_seen = true;
		}
		bytes += (uint32_t)tern__chunk_len(c);
		nchunks++;
		prev = c;
	}
	if (run && run->run_end != chunk_end(prev))
		return false;
	if (prev != q->tail || q->tail_run != run)
		return false;
	if (q->head && (uint32_t)(chunk_end(q->tail) - q->head->seq) >= 0x80000000u)
		return false;
	if (q->nsacks > TERN_OOO_SACKS)
		return false;
	for (unsigned i = 0; i < q->nsacks; i++) {
		struct tern_ooo_range held;
		const struct tern_ooo_range *b = &q->sacks[i];
		if (!seq_lt(b->start, b->end) || !tern__ooo_find(q, b->start, &held) ||
		    seq_gt(b->end, held.end))
			return false;
	}
	return hint_seen && bytes == q->bytes && nchunks == q->nchunks && nranges == q->nranges;
}
