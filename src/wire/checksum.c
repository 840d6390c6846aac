/*
 * wire/checksum.c: the Internet checksum, a 16-bit one's-complement sum of 16-bit
 * words (RFC 1071), and the IPv4 pseudo-header that the TCP checksum covers
 * (RFC 9293 §3.1).
 *
 * Called by the IPv4, ICMP and TCP parsers and builders in this folder, and by
 * anything above that needs to check or fill in a checksum.
 *
 * Speed: the sum is taken 8 bytes at a time in native byte order into a 64-bit
 * accumulator, counting the carries out of bit 63 separately; everything is folded
 * to 16 bits once at the end. This is sound because of two properties RFC 1071 §2
 * describes: the one's-complement sum does not care how the words are grouped
 * (2^64, 2^32 and 2^16 are all congruent to 1 modulo 2^16 - 1, so a carry out of
 * any of those widths is an end-around carry), and summing in the other byte order
 * just byte-swaps the result. The native-order total is therefore stored back to
 * memory and read as a big-endian word, which turns it into the network-order sum
 * that tern_csum_pseudo_v4 and the callers work with.
 *
 * Running sums passed between calls are network-order values of at most 17 bits
 * and carry no state about alignment, so the header's rule applies: every chunk but
 * the last must have even length (start at an even offset of the whole).
 */
#include <string.h>

#include "core/util.h"
#include "tern/wire.h"
#include "wire/csum.h"

uint32_t tern_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = 0;
	uint64_t carries = 0;

	/* Four independent 8-byte words per round keep the loop short. */
	while (len >= 32) {
		uint64_t w[4];
		memcpy(w, p, sizeof(w));
		for (int i = 0; i < 4; i++) {
			acc += w[i];
			carries += acc < w[i];
		}
		p += 32;
		len -= 32;
	}

	/* The rest (under 32 bytes: all of most headers) in 8-byte words, then one
	 * 4-byte word, which a separate 64-bit sum holds without carries. The last
	 * odd byte is the high-order half of a word whose low half is zero (RFC
	 * 1071): in memory, the byte followed by a zero. */
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		acc += w;
		carries += acc < w;
		p += 8;
		len -= 8;
	}
	uint64_t rest = 0;
	if (len >= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		rest += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		rest += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t tail[2] = { *p, 0 };
		uint16_t w;
		memcpy(&w, tail, 2);
		rest += w;
	}
	acc += rest;
	carries += acc < rest;

	/* Each wrap of the accumulator past 2^64 is worth 1 in the folded sum. */
	uint64_t native = (acc & 0xffffffffu) + (acc >> 32) + carries;
	native = (native & 0xffffu) + (native >> 16);
	native = (native & 0xffffu) + (native >> 16);
	native = (native & 0xffffu) + (native >> 16);

	/* Reinterpret the native-order sum as a network-order one (byte swap on
	 * little-endian hosts, identity on big-endian ones). */
	uint8_t bytes[2];
	uint16_t n16 = (uint16_t)native;
	memcpy(bytes, &n16, 2);
	uint32_t total = sum + tern_get16(bytes);
	total = (total & 0xffffu) + (total >> 16);
	total = (total & 0xffffu) + (total >> 16);
	return total;
}

uint16_t tern_csum_fold(uint32_t sum)
{
	return wire_csum_fold(sum);
}

uint32_t tern_csum_pseudo_v4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	return wire_csum_pseudo_v4(src, dst, proto, len);
}
