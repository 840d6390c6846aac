/*
 * tests/unit/test_pcap.c: the pcap writer and reader (src/link/pcap.c).
 *
 * Round trips to the nanosecond, the exact file-header bytes, files from other
 * writers built by hand (microsecond magic, the other byte order), and every way a
 * file can be broken: garbage, a short header, a short record, a captured length
 * past the snap length, a fraction of a second that is not one.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tern/errors.h"
#include "tern/pcap.h"

/* A scratch file name under TERN_TEST_TMPDIR (or /tmp), unique to this process. */
static void tmp_path(char *buf, size_t len, const char *name)
{
	const char *dir = getenv("TERN_TEST_TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(buf, len, "%s/test_pcap_%ld_%s", dir, (long)getpid(), name);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (len > 0)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v;
}

/* A little-endian file header with the given magic, snap length and link type. */
static void le_file_header(uint8_t *p, uint32_t magic, uint32_t snaplen, uint32_t linktype)
{
	le32(p, magic);
	le16(p + 4, 2);
	le16(p + 6, 4);
	le32(p + 8, 0);
	le32(p + 12, 0);
	le32(p + 16, snaplen);
	le32(p + 20, linktype);
}

static void le_record(uint8_t *p, uint32_t sec, uint32_t frac, uint32_t incl, uint32_t orig)
{
	le32(p, sec);
	le32(p + 4, frac);
	le32(p + 8, incl);
	le32(p + 12, orig);
}

/* Opening `path` as a pcap file fails with `want`. */
static void expect_open_fails(const char *path, int want)
{
	struct tern_pcap_reader *r = (struct tern_pcap_reader *)(uintptr_t)1;
	assert_int_equal(tern_pcap_reader_open(path, &r), want);
	assert_null(r);
}

static void fill_pattern(uint8_t *buf, size_t len, unsigned salt)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + salt);
}

static void test_round_trip(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof path, "rt.pcap");

	static uint8_t big[65535];
	fill_pattern(big, sizeof big, 3);
	uint8_t small[20];
	fill_pattern(small, sizeof small, 9);
	const struct { tern_time ts; const uint8_t *data; size_t len; } recs[] = {
		{ 0, small, sizeof small },
		{ 1000000001LL, big, 1500 },
		{ 123456789012LL, big, sizeof big },
		{ 4294967295LL * 1000000000LL + 999999999LL, small, 0 },
	};

	struct tern_pcap_writer *w = NULL;
	assert_int_equal(tern_pcap_open(path, &w), 0);
	assert_non_null(w);
	for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++)
		assert_int_equal(tern_pcap_write(w, recs[i].ts, recs[i].data, recs[i].len), 0);
	assert_int_equal(tern_pcap_close(w), 0);

	struct tern_pcap_reader *r = NULL;
	assert_int_equal(tern_pcap_reader_open(path, &r), 0);
	for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
		tern_time ts = -1;
		const uint8_t *pkt = NULL;
		size_t len = 1;
		assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 1);
		assert_int_equal(ts, recs[i].ts);
		assert_int_equal(len, recs[i].len);
		assert_non_null(pkt);
		if (len)
			assert_memory_equal(pkt, recs[i].data, len);
	}
	tern_time ts;
	const uint8_t *pkt;
	size_t len;
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 0);
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 0);
	tern_pcap_reader_close(r);
	unlink(path);
}

static void test_header_bytes(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof path, "hdr.pcap");
	struct tern_pcap_writer *w = NULL;
	assert_int_equal(tern_pcap_open(path, &w), 0);
	const uint8_t pkt[4] = { 0xde, 0xad, 0xbe, 0xef };
	assert_int_equal(tern_pcap_write(w, 2500000123LL, pkt, sizeof pkt), 0);
	assert_int_equal(tern_pcap_close(w), 0);

	uint8_t buf[128];
	size_t n = read_file(path, buf, sizeof buf);
	assert_int_equal(n, 24 + 16 + 4);

	/* Native byte order: build what this machine writes for each field. */
	uint8_t want[44];
	uint32_t v32;
	uint16_t v16;
	v32 = 0xa1b23c4du; memcpy(want + 0, &v32, 4);
	v16 = 2; memcpy(want + 4, &v16, 2);
	v16 = 4; memcpy(want + 6, &v16, 2);
	v32 = 0; memcpy(want + 8, &v32, 4); memcpy(want + 12, &v32, 4);
	v32 = 65535; memcpy(want + 16, &v32, 4);
	v32 = 101; memcpy(want + 20, &v32, 4);
	v32 = 2; memcpy(want + 24, &v32, 4);
	v32 = 500000123; memcpy(want + 28, &v32, 4);
	v32 = 4; memcpy(want + 32, &v32, 4); memcpy(want + 36, &v32, 4);
	memcpy(want + 40, pkt, 4);
	assert_memory_equal(buf, want, sizeof want);

	/* And literally, on the little-endian machines tern is built on. */
	const uint16_t probe = 1;
	if (*(const uint8_t *)&probe == 1) {
		const uint8_t lit[24] = { 0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
					  0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0, 0, 0 };
		assert_memory_equal(buf, lit, sizeof lit);
	}
	unlink(path);
}

static void test_microsecond_file(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof path, "us.pcap");
	uint8_t f[24 + 16 + 3 + 16 + 1];
	le_file_header(f, 0xa1b2c3d4u, 65535, 101);
	le_record(f + 24, 5, 250000, 3, 3);
	f[40] = 1; f[41] = 2; f[42] = 3;
	le_record(f + 43, 7, 999999, 1, 60);  /* captured 1 of 60 bytes */
	f[59] = 0x45;
	write_file(path, f, sizeof f);

	struct tern_pcap_reader *r = NULL;
	assert_int_equal(tern_pcap_reader_open(path, &r), 0);
	tern_time ts;
	const uint8_t *pkt;
	size_t len;
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 1);
	assert_int_equal(ts, 5250000000LL);
	assert_int_equal(len, 3);
	assert_memory_equal(pkt, f + 40, 3);
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 1);
	assert_int_equal(ts, 7999999000LL);
	assert_int_equal(len, 1);
	assert_int_equal(pkt[0], 0x45);
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 0);
	tern_pcap_reader_close(r);
	unlink(path);
}

/* A big-endian nanosecond file: every field byte-swapped relative to x86. */
static void test_swapped_file(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof path, "be.pcap");
	uint8_t f[24 + 16 + 5];
	be32(f, 0xa1b23c4du);
	be16(f + 4, 2);
	be16(f + 6, 4);
	be32(f + 8, 0);
	be32(f + 12, 0);
	be32(f + 16, 65535);
	be32(f + 20, 101);
	be32(f + 24, 0x01020304u);
	be32(f + 28, 123456789u);
	be32(f + 32, 5);
	be32(f + 36, 5);
	memcpy(f + 40, "\x45\x00\x00\x05\x99", 5);
	write_file(path, f, sizeof f);

	struct tern_pcap_reader *r = NULL;
	assert_int_equal(tern_pcap_reader_open(path, &r), 0);
	tern_time ts;
	const uint8_t *pkt;
	size_t len;
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 1);
	assert_int_equal(ts, (tern_time)0x01020304 * 1000000000LL + 123456789LL);
	assert_int_equal(len, 5);
	assert_memory_equal(pkt, f + 40, 5);
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 0);
	tern_pcap_reader_close(r);

	/* The same file with the microsecond magic, still big-endian. */
	be32(f, 0xa1b2c3d4u);
	be32(f + 28, 654321u);
	write_file(path, f, sizeof f);
	assert_int_equal(tern_pcap_reader_open(path, &r), 0);
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), 1);
	assert_int_equal(ts, (tern_time)0x01020304 * 1000000000LL + 654321000LL);
	tern_pcap_reader_close(r);
	unlink(path);
}

static void test_rejects_garbage(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof path, "bad.pcap");

	const char text[] = "this is not a capture file, not even close.";
	write_file(path, text, sizeof text);
	expect_open_fails(path, -TERN_EINVAL);

	/* Empty file and a header cut short. */
	write_file(path, "", 0);
	expect_open_fails(path, -TERN_EINVAL);
	uint8_t f[24];
	le_file_header(f, 0xa1b23c4du, 65535, 101);
	write_file(path, f, 23);
	expect_open_fails(path, -TERN_EINVAL);

	/* A well-formed header for Ethernet, not raw IP. */
	le_file_header(f, 0xa1b23c4du, 65535, 1);
	write_file(path, f, sizeof f);
	expect_open_fails(path, -TERN_EINVAL);

	/* pcapng's section header magic. */
	le_file_header(f, 0x0a0d0d0au, 65535, 101);
	write_file(path, f, sizeof f);
	expect_open_fails(path, -TERN_EINVAL);

	/* A version that is not 2.x. */
	le_file_header(f, 0xa1b2c3d4u, 65535, 101);
	le16(f + 4, 3);
	write_file(path, f, sizeof f);
	expect_open_fails(path, -TERN_EINVAL);

	/* No such file: the errno comes through. */
	tmp_path(path, sizeof path, "missing/none.pcap");
	expect_open_fails(path, -TERN_ENOENT);
	tmp_path(path, sizeof path, "bad.pcap");
	unlink(path);
}

/* Writes a header plus `extra` bytes of records; reads one record expecting `want`. */
static void expect_first_read(const char *path, const uint8_t *recs, size_t extra, int want)
{
	uint8_t f[24 + 64];
	assert_true(extra <= 64);
	le_file_header(f, 0xa1b23c4du, 65535, 101);
	memcpy(f + 24, recs, extra);
	write_file(path, f, 24 + extra);

	struct tern_pcap_reader *r = NULL;
	assert_int_equal(tern_pcap_reader_open(path, &r), 0);
	tern_time ts;
	const uint8_t *pkt;
	size_t len;
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), want);
	if (want < 0)  /* a broken file stays broken */
		assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), want);
	tern_pcap_reader_close(r);
}

static void test_rejects_truncated_record(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof path, "trunc.pcap");
	uint8_t rec[64];
	memset(rec, 0xab, sizeof rec);
	le_record(rec, 1, 2, 40, 40);

	expect_first_read(path, rec, 0, 0);          /* header only: no records */
	expect_first_read(path, rec, 10, -TERN_EINVAL);  /* record header cut */
	expect_first_read(path, rec, 16, -TERN_EINVAL);  /* no bytes at all */
	expect_first_read(path, rec, 16 + 39, -TERN_EINVAL);  /* one byte short */
	expect_first_read(path, rec, 16 + 40, 1);     /* exactly complete */

	/* Nanoseconds must be below one second. */
	le_record(rec, 1, 1000000000u, 0, 0);
	expect_first_read(path, rec, 16, -TERN_EINVAL);
	unlink(path);
}

/* A captured length past the snap length is refused before any allocation, even
 * when the snap length in the header is itself absurd. */
static void test_rejects_huge_incl_len(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof path, "huge.pcap");
	uint8_t rec[16];
	le_record(rec, 0, 0, 0xfffffff0u, 0xfffffff0u);
	expect_first_read(path, rec, sizeof rec, -TERN_EINVAL);
	le_record(rec, 0, 0, 65536, 65536);
	expect_first_read(path, rec, sizeof rec, -TERN_EINVAL);

	uint8_t f[24 + 16];
	le_file_header(f, 0xa1b2c3d4u, 0xffffffffu, 101);
	le_record(f + 24, 0, 0, 0x7fffffffu, 0x7fffffffu);
	write_file(path, f, sizeof f);
	struct tern_pcap_reader *r = NULL;
	assert_int_equal(tern_pcap_reader_open(path, &r), 0);
	tern_time ts;
	const uint8_t *pkt;
	size_t len;
	assert_int_equal(tern_pcap_read(r, &ts, &pkt, &len), -TERN_EINVAL);
	tern_pcap_reader_close(r);
	unlink(path);
}

static void test_writer_errors(void **state)
{
	(void)state;
	struct tern_pcap_writer *w = (struct tern_pcap_writer *)(uintptr_t)1;
	char path[512];
	tmp_path(path, sizeof path, "missing/none.pcap");
	assert_int_equal(tern_pcap_open(path, &w), -TERN_ENOENT);
	assert_null(w);

	tmp_path(path, sizeof path, "w.pcap");
	assert_int_equal(tern_pcap_open(path, &w), 0);
	uint8_t pkt[20] = { 0x45 };
	assert_int_equal(tern_pcap_write(w, -1, pkt, sizeof pkt), -TERN_EINVAL);
	assert_int_equal(tern_pcap_write(w, (tern_time)1 << 62, pkt, sizeof pkt), -TERN_EINVAL);
	assert_int_equal(tern_pcap_write(w, 0, NULL, 5), -TERN_EINVAL);
	assert_int_equal(tern_pcap_close(w), 0);
	assert_int_equal(tern_pcap_close(NULL), 0);
	tern_pcap_reader_close(NULL);

	/* A full disk shows up, at the latest, when the file is closed. */
	if (access("/dev/full", W_OK) == 0) {
		assert_int_equal(tern_pcap_open("/dev/full", &w), 0);
		int rc = 0;
		for (int i = 0; i < 1000 && rc == 0; i++)
			rc = tern_pcap_write(w, i, pkt, sizeof pkt);
		int crc = tern_pcap_close(w);
		assert_int_equal(rc ? rc : crc, -TERN_ENOSPC);
	}
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_header_bytes),
		cmocka_unit_test(test_microsecond_file),
		cmocka_unit_test(test_swapped_file),
		cmocka_unit_test(test_rejects_garbage),
		cmocka_unit_test(test_rejects_truncated_record),
		cmocka_unit_test(test_rejects_huge_incl_len),
		cmocka_unit_test(test_writer_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
