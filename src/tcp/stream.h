/*
 * tcp/stream.h: a byte stream kept in a chain of pool chunks, the storage behind a
 * connection's send queue (bytes from snd_una on: written, not yet acknowledged)
 * and receive queue (bytes in order, not yet read). The TCP engine appends at the
 * back, copies segments out at an offset with tern__stream_peek, and drops from
 * the front as data is acknowledged or read. The out-of-order queue (tcp/ooo.h)
 * stores its bytes in the same chunks and hands them to the receive queue whole.
 *
 * Memory. Every chunk is one object of a chunk pool the stack owns (one pool per
 * stack, set up with tern__chunk_pool_init): an empty stream holds no chunk, a
 * stream grows one chunk at a time and gives each chunk back the moment its last
 * byte is consumed, so an idle connection costs only the few words of struct
 * tern_stream. Appending never calls malloc once the pool has grown to its working
 * size; at the pool's ceiling an append stores what fits and says how much that
 * was. How much a queue may hold is the engine's decision (SO_SNDBUF, SO_RCVBUF);
 * tern__stream_chunks gives it the memory in use.
 *
 * Chunk layout. A chunk is TERN_CHUNK_BYTES (2 KiB) with a 20-byte header on LP64
 * and TERN_CHUNK_DATA (2028) bytes of data, of which data[lo, hi) are valid. A
 * stream fills each chunk before taking the next, so only the first chunk (partly
 * consumed) and the last (partly filled) are short, plus any chunk handed over by
 * the out-of-order queue, which is linked in as it is rather than copied.
 *
 * Cursor. A peek must find the chunk holding its offset. The stream remembers the
 * chunk the last lookup ended in and where it starts, so copying consecutive
 * segments, or walking forward through a retransmission, costs the chunks copied,
 * not a walk from the front each time. A lookup behind the cursor starts again from
 * the front. Positions are kept as absolute byte counts since the stream began
 * (64-bit, never wrapping), so the cursor survives consumption at the front.
 */
#ifndef TERN_TCP_STREAM_H
#define TERN_TCP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"

/* Size of one pool object. 2 KiB holds a full 1460-byte segment with room to spare
 * and keeps the waste of a half-empty last chunk small; it is a multiple of the
 * pool's alignment, so the pool adds no padding. */
#define TERN_CHUNK_BYTES 2048u

struct tern_chunk {
	struct tern_chunk *next;
	/* Used by the out-of-order queue only: the sequence number of data[lo], and, in
	 * the first chunk of a run of contiguous chunks, the sequence number just past
	 * the run. */
	uint32_t seq;
	uint32_t run_end;
	uint16_t lo, hi; /* the valid bytes are data[lo, hi) */
	uint8_t data[];
};

/* Data bytes in one chunk: what is left of the object after the header. */
#define TERN_CHUNK_DATA (TERN_CHUNK_BYTES - offsetof(struct tern_chunk, data))

/* Bytes held by a chunk. */
static inline size_t tern__chunk_len(const struct tern_chunk *c)
{
	return (size_t)(c->hi - c->lo);
}

/* The length and the chunk count come first: the transfer block puts the
 * receive queue's first 16 bytes on the line that holds the send queue, so that
 * giving the block back reads both counts from one line (tcp/sock.h). */
struct tern_stream {
	uint32_t len;                   /* bytes held (a socket buffer: under 2^31) */
	uint32_t nchunks;               /* chunks held */
	struct tern_chunk *head, *tail; /* both NULL when empty */
	uint64_t front;                 /* absolute position of the first byte held */
	struct tern_chunk *cur;         /* cursor: a chunk of the list, or NULL */
	uint32_t cur_pos;               /* low 32 bits of the absolute position of cur's
					   first valid byte: it lies in [front, front + len],
					   under 2^31 past front, so front and these bits
					   give it back whole (stream.c's cursor_pos) */
	uint32_t hops;                  /* chunk-to-chunk steps taken by lookups (for tests) */
};

/* Two of them sit in every transfer block (tcp/sock.h), which must stay within
 * three cache lines. */
_Static_assert(sizeof(struct tern_stream) <= 48, "struct tern_stream grew past 48 bytes");

/* Prepares `p` as a chunk pool: objects of TERN_CHUNK_BYTES, at most `max_chunks`
 * in use at once (0: no ceiling). Allocates nothing. */
void tern__chunk_pool_init(struct tern_pool *p, size_t max_chunks);

/* Prepares an empty stream; allocates nothing. */
void tern__stream_init(struct tern_stream *s);

/* Appends `len` bytes of `data` at the back. Returns the bytes appended: all of
 * them, or fewer when the pool refuses a chunk; the bytes appended are exactly the
 * first ones of `data`, so the caller may retry the rest later. */
size_t tern__stream_append(struct tern_stream *s, struct tern_pool *pool, const void *data, size_t len);

/* As tern__stream_append, with `len` zero bytes. */
size_t tern__stream_append_zeros(struct tern_stream *s, struct tern_pool *pool, size_t len);

/* Takes ownership of chunk `c` (its data[lo, hi) valid, the rest of it ignored) and
 * appends its bytes at the back: copied into the last chunk when they fit there
 * (and `c` goes back to the pool), linked in whole otherwise. Never allocates, so
 * it cannot fail; the out-of-order queue delivers through it. */
void tern__stream_put_chunk(struct tern_stream *s, struct tern_pool *pool, struct tern_chunk *c);

/* Copies up to `len` bytes starting `off` bytes from the front into `out`, without
 * removing them; this is how a segment's payload is built. Returns the bytes
 * copied: min(len, length - off), 0 when off is at or past the end. */
size_t tern__stream_peek(struct tern_stream *s, size_t off, void *out, size_t len);

/* Points `*ptr` at the byte `off` from the front and returns how many bytes are
 * contiguous there (up to the end of its chunk); 0 (and NULL) when off is at or past
 * the end. Lets a caller checksum or copy a stream without an extra copy. The
 * pointer stays valid until the stream is next consumed or cleared. */
size_t tern__stream_span(struct tern_stream *s, size_t off, const uint8_t **ptr);

/* Drops up to `len` bytes from the front, returning emptied chunks to the pool.
 * Returns the bytes dropped. */
size_t tern__stream_consume(struct tern_stream *s, struct tern_pool *pool, size_t len);

/* Copies up to `len` bytes from the front into `out` and drops them (a read by the
 * application). Returns the bytes read. */
size_t tern__stream_read(struct tern_stream *s, struct tern_pool *pool, void *out, size_t len);

/* Drops every byte and returns every chunk to the pool. */
void tern__stream_clear(struct tern_stream *s, struct tern_pool *pool);

/* Checks the stream's invariants (chunk count, length, tail, cursor); for tests
 * and debug assertions. */
bool tern__stream_check(const struct tern_stream *s);

/* Bytes held. */
static inline size_t tern__stream_len(const struct tern_stream *s)
{
	return s->len;
}

/* Chunks held: the stream's memory is this times TERN_CHUNK_BYTES. */
static inline size_t tern__stream_chunks(const struct tern_stream *s)
{
	return s->nchunks;
}

#endif
