/*
 * test_wire_ipv4.c: IPv4 (RFC 791 §3.1) and ICMP (RFC 792) parsing and building.
 * A real header captured from Linux, one test per malformation with the exact
 * status the parser must give, and a robustness sweep (every truncation, random
 * garbage, random corruption) in exactly sized heap buffers so the sanitizer build
 * catches any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/util.h"
#include "tern/wire.h"
#include "unit/linux_handshake.h"

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* A copy of `len` bytes in a heap block of exactly that size. */
static uint8_t *dup_exact(const uint8_t *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	if (len)
		memcpy(p, src, len);
	return p;
}

/* Parses `len` bytes from an exactly sized copy, so ASan sees any overrun. */
static enum tern_wire_status parse_exact(const uint8_t *src, size_t len, struct tern_ipv4 *out)
{
	uint8_t *p = dup_exact(src, len);
	enum tern_wire_status st = tern_ipv4_parse(p, len, out);
	free(p);
	return st;
}

static void fix_ip_checksum(uint8_t *h)
{
	size_t hl = (size_t)(h[0] & 0x0f) * 4;
	h[10] = h[11] = 0;
	tern_put16(h + 10, tern_csum_fold(tern_csum_add(0, h, hl)));
}

/* A valid 40-byte datagram: 20-byte header, 20 bytes of payload. */
static size_t make_datagram(uint8_t *buf, size_t cap)
{
	struct tern_ipv4 ip = { .tos = 0x10, .ttl = 64, .proto = TERN_IPPROTO_TCP, .id = 0x1234,
				.frag = TERN_IP_DF, .src = 0x0a000001, .dst = 0x0a000002 };
	size_t n = tern_ipv4_build(buf, cap, &ip, 20);
	assert_int_equal(n, 20);
	for (size_t i = 0; i < 20; i++)
		buf[20 + i] = (uint8_t)(0xa0 + i);
	return 40;
}

/* ------------------------------------------------------------ good input */

static void test_linux_header(void **state)
{
	(void)state;
	struct tern_ipv4 ip;
	assert_int_equal(parse_exact(linux_hs_syn, sizeof(linux_hs_syn), &ip), TERN_WIRE_OK);
	assert_int_equal(ip.tos, 0);
	assert_int_equal(ip.ttl, 64);
	assert_int_equal(ip.proto, TERN_IPPROTO_TCP);
	assert_int_equal(ip.hdr_len, 20);
	assert_int_equal(ip.total_len, 60);
	assert_int_equal(ip.id, 38143);
	assert_int_equal(ip.frag, TERN_IP_DF);
	assert_int_equal(ip.checksum, 0xa7ba);
	assert_int_equal(ip.src, 0x7f000001);
	assert_int_equal(ip.dst, 0x7f000001);
	assert_int_equal(ip.payload_len, 40);
	assert_null(ip.options);

	/* The parsed fields rebuild the same header. */
	uint8_t out[20];
	assert_int_equal(tern_ipv4_build(out, sizeof(out), &ip, ip.payload_len), 20);
	assert_memory_equal(out, linux_hs_syn, 20);
}

static void test_build_fields(void **state)
{
	(void)state;
	uint8_t b[64];
	assert_int_equal(make_datagram(b, sizeof(b)), 40);
	const uint8_t want[20] = { 0x45, 0x10, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06,
				   0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02 };
	uint8_t w[20];
	memcpy(w, want, 20);
	fix_ip_checksum(w);
	assert_memory_equal(b, w, 20);

	struct tern_ipv4 ip;
	assert_int_equal(tern_ipv4_parse(b, 40, &ip), TERN_WIRE_OK);
	assert_int_equal(ip.tos, 0x10);
	assert_int_equal(ip.id, 0x1234);
	assert_int_equal(ip.payload_len, 20);
	assert_ptr_equal(ip.payload, b + 20);
}

static void test_build_limits(void **state)
{
	(void)state;
	uint8_t b[20];
	struct tern_ipv4 ip = { .ttl = 1, .proto = TERN_IPPROTO_ICMP };
	assert_int_equal(tern_ipv4_build(b, 19, &ip, 0), 0);
	assert_int_equal(tern_ipv4_build(b, 0, &ip, 0), 0);
	assert_int_equal(tern_ipv4_build(b, 20, &ip, UINT16_MAX - 20), 20);
	assert_int_equal(tern_get16(b + 2), UINT16_MAX);
	assert_int_equal(tern_ipv4_build(b, 20, &ip, UINT16_MAX - 19), 0);
}

static void test_with_ip_options(void **state)
{
	(void)state;
	uint8_t b[28] = { 0x46, 0, 0, 28, 0, 1, 0, 0, 64, 6, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
			  1, 1, 1, 0, 0xde, 0xad, 0xbe, 0xef };
	fix_ip_checksum(b);
	struct tern_ipv4 ip;
	uint8_t *p = dup_exact(b, sizeof(b));
	assert_int_equal(tern_ipv4_parse(p, sizeof(b), &ip), TERN_WIRE_OK);
	assert_int_equal(ip.hdr_len, 24);
	assert_ptr_equal(ip.options, p + 20);
	assert_ptr_equal(ip.payload, p + 24);
	assert_int_equal(ip.payload_len, 4);
	free(p);
}

static void test_df_alone_is_not_a_fragment(void **state)
{
	(void)state;
	uint8_t b[40];
	make_datagram(b, sizeof(b));
	assert_int_equal(tern_get16(b + 6), TERN_IP_DF);
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_OK);
	tern_put16(b + 6, 0);
	fix_ip_checksum(b);
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_OK);
}

/* ------------------------------------------------------------ malformed */

static void test_too_short(void **state)
{
	(void)state;
	uint8_t b[40];
	make_datagram(b, sizeof(b));
	struct tern_ipv4 ip;
	assert_int_equal(tern_ipv4_parse(NULL, 0, &ip), TERN_WIRE_IP_TOO_SHORT);
	assert_int_equal(parse_exact(b, 0, &ip), TERN_WIRE_IP_TOO_SHORT);
	assert_int_equal(parse_exact(b, 1, &ip), TERN_WIRE_IP_TOO_SHORT);
	assert_int_equal(parse_exact(b, 19, &ip), TERN_WIRE_IP_TOO_SHORT);
}

static void test_bad_version(void **state)
{
	(void)state;
	uint8_t b[40];
	const uint8_t versions[] = { 6, 0, 5, 15 };
	for (size_t i = 0; i < sizeof(versions); i++) {
		make_datagram(b, sizeof(b));
		b[0] = (uint8_t)(versions[i] << 4 | 5);
		fix_ip_checksum(b);
		assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_IP_BAD_VERSION);
	}
}

static void test_ihl_below_5(void **state)
{
	(void)state;
	uint8_t b[40];
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		make_datagram(b, sizeof(b));
		b[0] = (uint8_t)(0x40 | ihl);
		assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_IP_BAD_IHL);
	}
}

static void test_ihl_past_buffer(void **state)
{
	(void)state;
	uint8_t b[40];
	make_datagram(b, sizeof(b));
	/* 24-byte header claimed in a 20-byte buffer. */
	b[0] = 0x46;
	tern_put16(b + 2, 20);
	assert_int_equal(parse_exact(b, 20, NULL), TERN_WIRE_IP_BAD_IHL);
	/* 60-byte header claimed in a 40-byte buffer. */
	b[0] = 0x4f;
	tern_put16(b + 2, 40);
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_IP_BAD_IHL);
	/* Exactly fitting is fine as far as IHL goes. */
	b[0] = 0x4a;
	fix_ip_checksum(b);
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_OK);
}

static void test_total_length_too_long(void **state)
{
	(void)state;
	uint8_t b[40];
	make_datagram(b, sizeof(b));
	tern_put16(b + 2, 41);
	fix_ip_checksum(b);
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_IP_TOTLEN_TOO_LONG);
	tern_put16(b + 2, 0xffff);
	fix_ip_checksum(b);
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_IP_TOTLEN_TOO_LONG);
	/* A truncated datagram: the header is whole, the payload is not. */
	make_datagram(b, sizeof(b));
	assert_int_equal(parse_exact(b, 39, NULL), TERN_WIRE_IP_TOTLEN_TOO_LONG);
}

static void test_total_length_below_header(void **state)
{
	(void)state;
	uint8_t b[40];
	make_datagram(b, sizeof(b));
	tern_put16(b + 2, 19);
	fix_ip_checksum(b);
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_IP_TOTLEN_TOO_SHORT);
	tern_put16(b + 2, 0);
	fix_ip_checksum(b);
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_IP_TOTLEN_TOO_SHORT);
	/* With options: total length 22 < IHL*4 = 24. */
	b[0] = 0x46;
	tern_put16(b + 2, 22);
	fix_ip_checksum(b);
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_IP_TOTLEN_TOO_SHORT);
}

static void test_total_length_below_buffer(void **state)
{
	(void)state;
	/* Ethernet padding: a 40-byte datagram in a 46-byte buffer. */
	uint8_t b[46] = { 0 };
	make_datagram(b, sizeof(b));
	struct tern_ipv4 ip;
	uint8_t *p = dup_exact(b, sizeof(b));
	assert_int_equal(tern_ipv4_parse(p, sizeof(b), &ip), TERN_WIRE_IP_TOTLEN_BELOW_BUF);
	assert_int_equal(ip.total_len, 40);
	assert_int_equal(ip.payload_len, 20);
	assert_ptr_equal(ip.payload, p + 20);
	/* Trimmed to the total length, it passes. */
	assert_int_equal(tern_ipv4_parse(p, ip.total_len, &ip), TERN_WIRE_OK);
	free(p);
	/* Linux's order (ip_rcv_core): the checksum is looked at before the total
	 * length, so a bad header checksum wins over trailing bytes and truncation. */
	b[8] ^= 1;
	assert_int_equal(parse_exact(b, 41, NULL), TERN_WIRE_IP_BAD_CHECKSUM);
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_IP_BAD_CHECKSUM);
	assert_int_equal(parse_exact(b, 39, NULL), TERN_WIRE_IP_BAD_CHECKSUM);
	b[8] ^= 1;
	assert_int_equal(parse_exact(b, 41, NULL), TERN_WIRE_IP_TOTLEN_BELOW_BUF);
	assert_int_equal(parse_exact(b, 39, NULL), TERN_WIRE_IP_TOTLEN_TOO_LONG);
}

static void test_bad_checksum(void **state)
{
	(void)state;
	uint8_t b[40];
	make_datagram(b, sizeof(b));
	b[11] ^= 0x01;
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_IP_BAD_CHECKSUM);
	make_datagram(b, sizeof(b));
	b[8]--; /* TTL changed without updating the checksum */
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_IP_BAD_CHECKSUM);
	/* The payload is not covered by the header checksum. */
	make_datagram(b, sizeof(b));
	b[30] ^= 0xff;
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_OK);
	/* Checksum comes before fragment. */
	make_datagram(b, sizeof(b));
	tern_put16(b + 6, TERN_IP_MF);
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_IP_BAD_CHECKSUM);
}

static void test_fragment_mf(void **state)
{
	(void)state;
	uint8_t b[40];
	make_datagram(b, sizeof(b));
	tern_put16(b + 6, TERN_IP_MF);
	fix_ip_checksum(b);
	struct tern_ipv4 ip;
	assert_int_equal(parse_exact(b, 40, &ip), TERN_WIRE_IP_FRAGMENT);
	assert_int_equal(ip.frag, TERN_IP_MF);
	tern_put16(b + 6, TERN_IP_MF | TERN_IP_DF);
	fix_ip_checksum(b);
	assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_IP_FRAGMENT);
}

static void test_fragment_offset(void **state)
{
	(void)state;
	uint8_t b[40];
	const uint16_t frags[] = { 1, 0x100, TERN_IP_OFFMASK, TERN_IP_DF | 1, TERN_IP_MF | 7 };
	for (size_t i = 0; i < TERN_ARRAY_SIZE(frags); i++) {
		make_datagram(b, sizeof(b));
		tern_put16(b + 6, frags[i]);
		fix_ip_checksum(b);
		assert_int_equal(parse_exact(b, 40, NULL), TERN_WIRE_IP_FRAGMENT);
	}
}

/* ------------------------------------------------------------ ICMP */

static void test_icmp_echo_round_trip(void **state)
{
	(void)state;
	const uint8_t data[] = "ping data!"; /* 11 bytes with the NUL: odd length */
	struct tern_icmp req = { .type = TERN_ICMP_ECHO, .code = 0, .id = 0xbeef, .seq = 7,
				 .data = data, .data_len = sizeof(data) };
	uint8_t b[64];
	size_t n = tern_icmp_build_echo(b, sizeof(b), &req);
	assert_int_equal(n, 8 + sizeof(data));
	assert_int_equal(b[0], 8);
	assert_int_equal(b[1], 0);
	assert_int_equal(tern_get16(b + 4), 0xbeef);
	assert_int_equal(tern_get16(b + 6), 7);
	assert_memory_equal(b + 8, data, sizeof(data));

	struct tern_icmp m;
	uint8_t *p = dup_exact(b, n);
	assert_int_equal(tern_icmp_parse(p, n, &m), TERN_WIRE_OK);
	assert_int_equal(m.type, TERN_ICMP_ECHO);
	assert_int_equal(m.id, 0xbeef);
	assert_int_equal(m.seq, 7);
	assert_int_equal(m.checksum, tern_get16(b + 2));
	assert_int_equal(m.data_len, sizeof(data));
	assert_ptr_equal(m.data, p + 8);

	/* The reply built in place over the request. */
	m.type = TERN_ICMP_ECHOREPLY;
	assert_int_equal(tern_icmp_build_echo(p, n, &m), n);
	assert_int_equal(tern_icmp_parse(p, n, &m), TERN_WIRE_OK);
	assert_int_equal(m.type, TERN_ICMP_ECHOREPLY);
	assert_memory_equal(m.data, data, sizeof(data));
	free(p);

	/* No room, or no data pointer. */
	assert_int_equal(tern_icmp_build_echo(b, 8 + sizeof(data) - 1, &req), 0);
	req.data = NULL;
	assert_int_equal(tern_icmp_build_echo(b, sizeof(b), &req), 0);
	req.data_len = 0;
	assert_int_equal(tern_icmp_build_echo(b, 8, &req), 8);
	assert_int_equal(tern_icmp_parse(b, 8, &m), TERN_WIRE_OK);
	assert_int_equal(m.data_len, 0);
}

static void test_icmp_known_bytes(void **state)
{
	(void)state;
	/* Echo request, id 1, seq 1, no data: the sum of 0800 0000 0001 0001 is
	 * 0x0802, so the checksum is 0xf7fd. */
	struct tern_icmp req = { .type = TERN_ICMP_ECHO, .id = 1, .seq = 1 };
	uint8_t b[8];
	assert_int_equal(tern_icmp_build_echo(b, sizeof(b), &req), 8);
	const uint8_t want[8] = { 8, 0, 0xf7, 0xfd, 0, 1, 0, 1 };
	assert_memory_equal(b, want, 8);
}

static void test_icmp_too_short(void **state)
{
	(void)state;
	uint8_t b[8] = { 8, 0, 0xf7, 0xfd, 0, 1, 0, 1 };
	struct tern_icmp m;
	for (size_t len = 0; len < 8; len++) {
		uint8_t *p = dup_exact(b, len);
		assert_int_equal(tern_icmp_parse(p, len, &m), TERN_WIRE_ICMP_TOO_SHORT);
		free(p);
	}
	assert_int_equal(tern_icmp_parse(NULL, 0, &m), TERN_WIRE_ICMP_TOO_SHORT);
}

static void test_icmp_bad_checksum(void **state)
{
	(void)state;
	uint8_t b[12] = { 8, 0, 0xf7, 0xfd, 0, 1, 0, 1, 0, 0, 0, 0 };
	assert_int_equal(tern_icmp_parse(b, sizeof(b), NULL), TERN_WIRE_OK);
	b[11] = 1; /* a data byte: the checksum covers the whole message */
	assert_int_equal(tern_icmp_parse(b, sizeof(b), NULL), TERN_WIRE_ICMP_BAD_CHECKSUM);
	b[11] = 0;
	b[3] ^= 0x10;
	assert_int_equal(tern_icmp_parse(b, sizeof(b), NULL), TERN_WIRE_ICMP_BAD_CHECKSUM);
}

/* ------------------------------------------------------------ robustness */

static void test_every_truncation(void **state)
{
	(void)state;
	struct tern_ipv4 ip;
	size_t full = sizeof(linux_hs_data);
	for (size_t len = 0; len <= full; len++) {
		enum tern_wire_status st = parse_exact(linux_hs_data, len, &ip);
		if (len < 20)
			assert_int_equal(st, TERN_WIRE_IP_TOO_SHORT);
		else if (len < full)
			assert_int_equal(st, TERN_WIRE_IP_TOTLEN_TOO_LONG);
		else
			assert_int_equal(st, TERN_WIRE_OK);
		/* The ICMP parser on the same bytes must not overrun either. */
		uint8_t *p = dup_exact(linux_hs_data, len);
		(void)tern_icmp_parse(p, len, NULL);
		free(p);
	}
}

static void test_random_garbage(void **state)
{
	(void)state;
	uint64_t rng = 0x1234567887654321ull;
	uint8_t valid[40];
	make_datagram(valid, sizeof(valid));

	for (int iter = 0; iter < 20000; iter++) {
		size_t len = (size_t)(rng_next(&rng) % 80);
		uint8_t *p = malloc(len ? len : 1);
		assert_non_null(p);
		if (iter % 2 == 0) {
			/* Pure noise, mostly with a plausible first byte. */
			for (size_t i = 0; i < len; i++)
				p[i] = (uint8_t)rng_next(&rng);
			if (len > 0 && iter % 4 == 0)
				p[0] = (uint8_t)(0x40 | (p[0] & 0x0f));
		} else {
			/* A valid datagram with a few bytes changed. */
			for (size_t i = 0; i < len; i++)
				p[i] = i < sizeof(valid) ? valid[i] : (uint8_t)rng_next(&rng);
			for (int k = (int)(rng_next(&rng) % 4); k >= 0 && len > 0; k--)
				p[rng_next(&rng) % len] = (uint8_t)rng_next(&rng);
		}
		struct tern_ipv4 ip;
		enum tern_wire_status st = tern_ipv4_parse(p, len, &ip);
		assert_true(st < TERN_WIRE_STATUS_COUNT);
		if (st == TERN_WIRE_OK) {
			assert_true(ip.hdr_len >= 20 && ip.total_len == len);
			assert_int_equal(ip.payload_len, len - ip.hdr_len);
			assert_ptr_equal(ip.payload, p + ip.hdr_len);
		}
		(void)tern_icmp_parse(p, len, NULL);
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_header),
		cmocka_unit_test(test_build_fields),
		cmocka_unit_test(test_build_limits),
		cmocka_unit_test(test_with_ip_options),
		cmocka_unit_test(test_df_alone_is_not_a_fragment),
		cmocka_unit_test(test_too_short),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_ihl_below_5),
		cmocka_unit_test(test_ihl_past_buffer),
		cmocka_unit_test(test_total_length_too_long),
		cmocka_unit_test(test_total_length_below_header),
		cmocka_unit_test(test_total_length_below_buffer),
		cmocka_unit_test(test_bad_checksum),
		cmocka_unit_test(test_fragment_mf),
		cmocka_unit_test(test_fragment_offset),
		cmocka_unit_test(test_icmp_echo_round_trip),
		cmocka_unit_test(test_icmp_known_bytes),
		cmocka_unit_test(test_icmp_too_short),
		cmocka_unit_test(test_icmp_bad_checksum),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_random_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
