/*
 * tcp/stream.c: the chunked byte stream behind the send and receive queues
 * (tcp/stream.h explains the layout, the memory rules and the cursor).
 *
 * Called by the TCP engine: the user-call side appends (send) and reads (receive);
 * output peeks segment payloads at offsets from snd_una; ACK processing consumes
 * acknowledged bytes; input appends in-order payloads and the out-of-order queue
 * hands over chunks with tern__stream_put_chunk. Nothing here knows about sequence
 * numbers: offsets count from the first byte held.
 */
#include "tcp/stream.h"

#include <string.h>

#include "core/util.h"

_Static_assert(sizeof(struct tern_chunk) <= TERN_CHUNK_BYTES, "chunk header too large");
_Static_assert(TERN_CHUNK_DATA <= UINT16_MAX, "chunk offsets are 16-bit");

void tern__chunk_pool_init(struct tern_pool *p, size_t max_chunks)
{
	tern__pool_init(p, TERN_CHUNK_BYTES, 0, max_chunks);
}

void tern__stream_init(struct tern_stream *s)
{
	s->head = NULL;
	s->tail = NULL;
	s->len = 0;
	s->nchunks = 0;
	s->front = 0;
	s->cur = NULL;
	s->cur_pos = 0;
	s->hops = 0;
}

/*
 * memcpy for copies that are often a few bytes (interactive segments, a short
 * read): up to 16 bytes as two possibly overlapping loads and stores of a fixed
 * width, which the compiler emits as plain moves, instead of a call into libc
 * and its dispatch on the size. Longer copies go to memcpy. `dst` and `src` do
 * not overlap; both loads come before the stores all the same.
 */
static inline void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
	/* Smallest first: the shorter the copy, the more a test in front costs. */
	if (n < 2) {
		if (n)
			*dst = *src;
	} else if (n < 4) {
		uint16_t a, b;
		memcpy(&a, src, 2);
		memcpy(&b, src + n - 2, 2);
		memcpy(dst, &a, 2);
		memcpy(dst + n - 2, &b, 2);
	} else if (n <= 8) {
		uint32_t a, b;
		memcpy(&a, src, 4);
		memcpy(&b, src + n - 4, 4);
		memcpy(dst, &a, 4);
		memcpy(dst + n - 4, &b, 4);
	} else if (n <= 16) {
		uint64_t a, b;
		memcpy(&a, src, 8);
		memcpy(&b, src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &b, 8);
	} else {
		memcpy(dst, src, n);
	}
}

static void link_tail(struct tern_stream *s, struct tern_chunk *c)
{
	c->next = NULL;
	if (s->tail)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	s->nchunks++;
}

/* Appends `len` bytes from `data`, or zeros when `data` is NULL. */
static size_t append_bytes(struct tern_stream *s, struct tern_pool *pool, const uint8_t *data, size_t len)
{
	size_t done = 0;
	struct tern_chunk *t = s->tail;
	/* First whatever room the last chunk has left. */
	if (t && t->hi < TERN_CHUNK_DATA) {
		size_t n = TERN_MIN(TERN_CHUNK_DATA - t->hi, len);
		if (data)
			copy_bytes(t->data + t->hi, data, n);
		else
			memset(t->data + t->hi, 0, n);
		t->hi = (uint16_t)(t->hi + n);
		done = n;
	}
	while (done < len) {
		struct tern_chunk *c = tern__pool_get(pool);
		if (!c)
			break; /* the pool's ceiling: keep what fit */
		size_t n = TERN_MIN(TERN_CHUNK_DATA, len - done);
		if (data)
			copy_bytes(c->data, data + done, n);
		else
			memset(c->data, 0, n);
		c->lo = 0;
		c->hi = (uint16_t)n;
		c->seq = 0;
		c->run_end = 0;
		link_tail(s, c);
		done += n;
	}
	s->len += done;
	return done;
}

inline size_t tern__stream_append(struct tern_stream *s, struct tern_pool *pool, const void *data, size_t len)
{
	struct tern_chunk *t = s->tail;

	TERN_ASSERT(data != NULL || len == 0);
	if (len == 0)
		return 0;
	/* The common cases inline (a write or a segment that fits in the last
	 * chunk's room, or, with no room there, in one new chunk); append_bytes does
	 * the same in general, out of line. */
	if (t && TERN_CHUNK_DATA - t->hi >= len) {
		copy_bytes(t->data + t->hi, data, len);
		t->hi = (uint16_t)(t->hi + len);
		s->len += (uint32_t)len;
		return len;
	}
	if ((!t || t->hi == TERN_CHUNK_DATA) && len <= TERN_CHUNK_DATA) {
		struct tern_chunk *c = tern__pool_get(pool);
		if (!c)
			return 0; /* the pool's ceiling: nothing fit */
		copy_bytes(c->data, data, len);
		c->lo = 0;
		c->hi = (uint16_t)len;
		c->seq = 0;
		c->run_end = 0;
		link_tail(s, c);
		s->len += (uint32_t)len;
		return len;
	}
	return append_bytes(s, pool, data, len);
}

size_t tern__stream_append_zeros(struct tern_stream *s, struct tern_pool *pool, size_t len)
{
	return append_bytes(s, pool, NULL, len);
}

void tern__stream_put_chunk(struct tern_stream *s, struct tern_pool *pool, struct tern_chunk *c)
{
	size_t n = tern__chunk_len(c);
	struct tern_chunk *t = s->tail;
	if (n == 0) {
		tern__pool_put(pool, c);
		return;
	}
	s->len += n;
	/* Small pieces are folded into the last chunk's free room so that a run of
	 * short segments does not hold one 2 KiB chunk each. */
	if (t && TERN_CHUNK_DATA - t->hi >= n) {
		memcpy(t->data + t->hi, c->data + c->lo, n);
		t->hi = (uint16_t)(t->hi + n);
		tern__pool_put(pool, c);
		return;
	}
	link_tail(s, c);
}

/* The absolute position of the cursor's chunk (s->cur set). The cursor is never
 * behind front nor more than len (< 2^31) past it, so its distance from front is
 * the difference of the low 32 bits, taken modulo 2^32. */
static inline uint64_t cursor_pos(const struct tern_stream *s)
{
	return s->front + (uint32_t)(s->cur_pos - (uint32_t)s->front);
}

/* The chunk holding absolute position `target` (which must be held), with the
 * absolute position of its first valid byte in *pos. Starts from the cursor when
 * the cursor is not past the target, and leaves the cursor on the chunk found. */
static struct tern_chunk *locate(struct tern_stream *s, uint64_t target, uint64_t *pos)
{
	struct tern_chunk *c = s->head;
	uint64_t p = s->front;
	if (s->cur && cursor_pos(s) <= target) {
		c = s->cur;
		p = cursor_pos(s);
	}
	while (target - p >= tern__chunk_len(c)) {
		p += tern__chunk_len(c);
		c = c->next;
		s->hops++;
		TERN_ASSERT(c != NULL);
	}
	s->cur = c;
	s->cur_pos = (uint32_t)p;
	*pos = p;
	return c;
}

/* tern__stream_peek's copy across chunks, or from a chunk the cursor does not
 * start at: out of line, so that the common case inlines into its callers. */
static __attribute__((noinline)) size_t peek_walk(struct tern_stream *s, uint64_t target, void *out, size_t len)
{
	uint64_t pos;
	struct tern_chunk *c = locate(s, target, &pos);
	size_t in = (size_t)(target - pos); /* offset within c's valid bytes */
	uint8_t *dst = out;
	size_t done = 0;
	while (done < len) {
		size_t clen = tern__chunk_len(c);
		size_t n = TERN_MIN(clen - in, len - done);
		memcpy(dst + done, c->data + c->lo + in, n);
		done += n;
		in += n;
		/* Step to the next chunk once this one is used up, so that the cursor
		 * is left where the next consecutive peek begins. */
		if (in == clen && c->next) {
			pos += clen;
			c = c->next;
			s->hops++;
			in = 0;
		}
	}
	s->cur = c;
	s->cur_pos = (uint32_t)pos;
	return done;
}

inline size_t tern__stream_peek(struct tern_stream *s, size_t off, void *out, size_t len)
{
	if (off >= s->len || len == 0)
		return 0;
	len = TERN_MIN(len, s->len - off);
	uint64_t target = s->front + off;
	struct tern_chunk *c = s->head;
	uint64_t pos = s->front;
	if (s->cur && cursor_pos(s) <= target) {
		c = s->cur;
		pos = cursor_pos(s);
	}
	size_t first = (size_t)(target - pos) + len;
	if (first < tern__chunk_len(c) || (first == tern__chunk_len(c) && !c->next)) {
		/* Within the chunk where locate starts (a segment's payload usually
		 * is): one copy, and the cursor left where peek_walk leaves it. */
		copy_bytes(out, c->data + c->lo + (target - pos), len);
		s->cur = c;
		s->cur_pos = (uint32_t)pos;
		return len;
	}
	return peek_walk(s, target, out, len);
}

size_t tern__stream_span(struct tern_stream *s, size_t off, const uint8_t **ptr)
{
	if (off >= s->len) {
		*ptr = NULL;
		return 0;
	}
	uint64_t pos;
	struct tern_chunk *c = locate(s, s->front + off, &pos);
	size_t in = (size_t)(s->front + off - pos);
	*ptr = c->data + c->lo + in;
	return tern__chunk_len(c) - in;
}

inline size_t tern__stream_consume(struct tern_stream *s, struct tern_pool *pool, size_t len)
{
	len = TERN_MIN(len, s->len);
	size_t left = len;
	while (left > 0) {
		struct tern_chunk *h = s->head;
		size_t n = tern__chunk_len(h);
		if (left < n) {
			/* Part of the first chunk: its bytes keep their absolute
			 * positions, so a cursor on it just moves its start. */
			h->lo = (uint16_t)(h->lo + left);
			if (s->cur == h)
				s->cur_pos += (uint32_t)left;
			s->front += left;
			s->len -= left;
			break;
		}
		s->head = h->next;
		if (s->cur == h)
			s->cur = NULL;
		s->front += n;
		s->len -= n;
		s->nchunks--;
		left -= n;
		tern__pool_put(pool, h);
	}
	if (!s->head)
		s->tail = NULL;
	return len;
}

size_t tern__stream_read(struct tern_stream *s, struct tern_pool *pool, void *out, size_t len)
{
	size_t n = tern__stream_peek(s, 0, out, len);
	tern__stream_consume(s, pool, n);
	return n;
}

void tern__stream_clear(struct tern_stream *s, struct tern_pool *pool)
{
	struct tern_chunk *c = s->head;
	while (c) {
		struct tern_chunk *next = c->next;
		tern__pool_put(pool, c);
		c = next;
	}
	s->front += s->len;
	s->head = NULL;
	s->tail = NULL;
	s->len = 0;
	s->nchunks = 0;
	s->cur = NULL;
}

bool tern__stream_check(const struct tern_stream *s)
{
	size_t len = 0, n = 0;
	bool cursor_seen = s->cur == NULL;
	uint64_t pos = s->front;
	const struct tern_chunk *last = NULL;
	for (const struct tern_chunk *c = s->head; c; c = c->next) {
		if (c->lo >= c->hi || c->hi > TERN_CHUNK_DATA)
			return false; /* no empty chunk is ever kept */
		if (c == s->cur) {
			if (s->cur_pos != (uint32_t)pos)
				return false;
			cursor_seen = true;
		}
		pos += tern__chunk_len(c);
		len += tern__chunk_len(c);
		n++;
		last = c;
	}
	return len == s->len && n == s->nchunks && last == s->tail && cursor_seen;
}
