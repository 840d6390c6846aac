/*
 * test_wire_format.c: the one-line packetdrill-syntax formatter (tern_tcp_format)
 * and the parser status names. Flag combinations, relative and absolute numbers,
 * sequence wrap-around near 2^32, SACK blocks, the ports prefix, options the
 * formatter cannot decode, and truncation into tiny buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tern/wire.h"

/* Relative to zero bases, no window: the shortest line, for flag tests. */
static const struct tern_tcp_fmt bare = { .relative = true };

/* A formatted line, returned by value (C11 keeps the array alive for the whole
 * expression it is used in). */
struct line {
	char s[512];
};

static struct line fmt_line(const struct tern_tcp *t, const struct tern_tcp_fmt *f)
{
	struct line l;
	int n = tern_tcp_format(l.s, sizeof(l.s), t, f);
	assert_int_equal(n, (int)strlen(l.s));
	return l;
}

static struct tern_tcp seg(uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len)
{
	struct tern_tcp t;
	memset(&t, 0, sizeof(t));
	t.flags = flags;
	t.seq = seq;
	t.ack = ack;
	t.payload_len = len;
	t.win = 65535;
	t.sport = 40000;
	t.dport = 8080;
	return t;
}

static void add_opt(struct tern_tcp *t, uint8_t kind, uint8_t len)
{
	t->opt.kinds[t->opt.count] = kind;
	t->opt.lens[t->opt.count] = len;
	t->opt.count++;
}

static void test_flags(void **state)
{
	(void)state;
	struct tern_tcp t;
	t = seg(TERN_TCP_SYN, 0, 0, 0);
	assert_string_equal(fmt_line(&t, &bare).s, "S 0:0(0)");
	t = seg(TERN_TCP_SYN | TERN_TCP_ACK, 0, 1, 0);
	assert_string_equal(fmt_line(&t, &bare).s, "S. 0:0(0) ack 1");
	t = seg(TERN_TCP_ACK, 1, 1, 0);
	assert_string_equal(fmt_line(&t, &bare).s, ". 1:1(0) ack 1");
	t = seg(TERN_TCP_PSH | TERN_TCP_ACK, 1, 1, 10);
	assert_string_equal(fmt_line(&t, &bare).s, "P. 1:11(10) ack 1");
	t = seg(TERN_TCP_FIN | TERN_TCP_ACK, 11, 1, 0);
	assert_string_equal(fmt_line(&t, &bare).s, "F. 11:11(0) ack 1");
	t = seg(TERN_TCP_RST, 5, 0, 0);
	assert_string_equal(fmt_line(&t, &bare).s, "R 5:5(0)");
	t = seg(TERN_TCP_RST | TERN_TCP_ACK, 0, 1, 0);
	assert_string_equal(fmt_line(&t, &bare).s, "R. 0:0(0) ack 1");
	t = seg(TERN_TCP_FIN | TERN_TCP_PSH | TERN_TCP_ACK, 1, 1, 3);
	assert_string_equal(fmt_line(&t, &bare).s, "FP. 1:4(3) ack 1");
	t = seg(0, 1, 99, 0);
	assert_string_equal(fmt_line(&t, &bare).s, "- 1:1(0)"); /* no ACK: no ack number */
}

static void test_ecn_and_urgent_flags(void **state)
{
	(void)state;
	struct tern_tcp t;
	t = seg(TERN_TCP_SYN | TERN_TCP_ECE | TERN_TCP_CWR, 0, 0, 0);
	assert_string_equal(fmt_line(&t, &bare).s, "SEW 0:0(0)");
	t = seg(TERN_TCP_SYN | TERN_TCP_ACK | TERN_TCP_ECE, 0, 1, 0);
	assert_string_equal(fmt_line(&t, &bare).s, "S.E 0:0(0) ack 1");
	t = seg(TERN_TCP_ACK | TERN_TCP_CWR, 1, 1, 0);
	assert_string_equal(fmt_line(&t, &bare).s, ".W 1:1(0) ack 1");
	t = seg(TERN_TCP_PSH | TERN_TCP_ACK | TERN_TCP_URG, 1, 1, 4);
	t.urg = 4;
	assert_string_equal(fmt_line(&t, &bare).s, "P.U 1:5(4) ack 1 urg 4");
	t = seg(TERN_TCP_URG, 1, 1, 1);
	t.urg = 1;
	assert_string_equal(fmt_line(&t, &bare).s, "U 1:2(1) urg 1");
	t = seg(0xff, 1, 2, 0);
	t.urg = 3;
	assert_string_equal(fmt_line(&t, &bare).s, "FSRP.UEW 1:1(0) ack 2 urg 3");
}

static void test_null_fmt_is_absolute_with_window(void **state)
{
	(void)state;
	struct tern_tcp t = seg(TERN_TCP_ACK, 3000000000u, 123456789u, 100);
	t.win = 4321;
	assert_string_equal(fmt_line(&t, NULL).s, ". 3000000000:3000000100(100) ack 123456789 win 4321");
}

static void test_relative_vs_absolute(void **state)
{
	(void)state;
	struct tern_tcp t = seg(TERN_TCP_PSH | TERN_TCP_ACK, 1000001, 2000001, 50);
	struct tern_tcp_fmt rel = { .relative = true, .seq_base = 1000000, .ack_base = 2000000,
				    .win = true };
	assert_string_equal(fmt_line(&t, &rel).s, "P. 1:51(50) ack 1 win 65535");
	/* The bases are ignored when not relative. */
	struct tern_tcp_fmt abs = rel;
	abs.relative = false;
	assert_string_equal(fmt_line(&t, &abs).s, "P. 1000001:1000051(50) ack 2000001 win 65535");
	abs.win = false;
	assert_string_equal(fmt_line(&t, &abs).s, "P. 1000001:1000051(50) ack 2000001");
}

static void test_wrap_around(void **state)
{
	(void)state;
	struct tern_tcp_fmt rel = { .relative = true, .seq_base = 0xfffffff0u, .ack_base = 0xffffff00u };
	/* The ISN itself. */
	struct tern_tcp t = seg(TERN_TCP_SYN, 0xfffffff0u, 0, 0);
	assert_string_equal(fmt_line(&t, &rel).s, "S 0:0(0)");
	/* Data straddling 2^32: relative numbers stay small. */
	t = seg(TERN_TCP_ACK, 0xfffffff1u, 0x10, 100);
	assert_string_equal(fmt_line(&t, &rel).s, ". 1:101(100) ack 272");
	/* Entirely past the wrap. */
	t = seg(TERN_TCP_ACK, 0x00000050u, 0xffffff01u, 10);
	assert_string_equal(fmt_line(&t, &rel).s, ". 96:106(10) ack 1");
	/* In absolute form the end wraps. */
	t = seg(TERN_TCP_ACK, 0xfffffff1u, 0x10, 100);
	assert_string_equal(fmt_line(&t, NULL).s, ". 4294967281:85(100) ack 16 win 65535");
}

static void test_options_target_line(void **state)
{
	(void)state;
	struct tern_tcp t = seg(TERN_TCP_SYN | TERN_TCP_ACK, 0, 1, 0);
	add_opt(&t, TERN_TCPOPT_MSS, 4);
	add_opt(&t, TERN_TCPOPT_SACK_PERM, 2);
	add_opt(&t, TERN_TCPOPT_TS, 10);
	add_opt(&t, TERN_TCPOPT_NOP, 1);
	add_opt(&t, TERN_TCPOPT_WSCALE, 3);
	t.opt.mss = 1460;
	t.opt.ts_val = 1;
	t.opt.ts_ecr = 0;
	t.opt.wscale = 7;
	struct tern_tcp_fmt f = { .relative = true, .win = true };
	assert_string_equal(fmt_line(&t, &f).s,
			    "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>");
	/* Options built from scratch (length 0) print the same. */
	memset(t.opt.lens, 0, sizeof(t.opt.lens));
	assert_string_equal(fmt_line(&t, &f).s,
			    "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>");
	/* Large timestamps print unsigned. */
	t.opt.ts_val = 0xffffffffu;
	t.opt.ts_ecr = 0x80000000u;
	t.opt.count = 1;
	t.opt.kinds[0] = TERN_TCPOPT_TS;
	assert_string_equal(fmt_line(&t, &bare).s, "S. 0:0(0) ack 1 <TS val 4294967295 ecr 2147483648>");
}

static void test_sack_blocks(void **state)
{
	(void)state;
	struct tern_tcp t = seg(TERN_TCP_ACK, 1001, 5001, 0);
	add_opt(&t, TERN_TCPOPT_NOP, 1);
	add_opt(&t, TERN_TCPOPT_NOP, 1);
	add_opt(&t, TERN_TCPOPT_SACK, 18);
	t.opt.sack_count = 2;
	t.opt.sack[0] = (struct tern_sack_block){ 5101, 5201 };
	t.opt.sack[1] = (struct tern_sack_block){ 5301, 5401 };
	struct tern_tcp_fmt rel = { .relative = true, .seq_base = 1000, .ack_base = 5000 };
	assert_string_equal(fmt_line(&t, &rel).s, ". 1:1(0) ack 1 <nop,nop,sack 101:201 301:401>");
	assert_string_equal(fmt_line(&t, NULL).s,
			    ". 1001:1001(0) ack 5001 win 65535 <nop,nop,sack 5101:5201 5301:5401>");
	/* SACK edges wrap like the ack. */
	rel.ack_base = 0xfffffff0u;
	t.ack = 0xfffffff1u;
	t.opt.sack_count = 1;
	t.opt.lens[2] = 10;
	t.opt.sack[0] = (struct tern_sack_block){ 0xfffffff8u, 0x00000008u };
	assert_string_equal(fmt_line(&t, &rel).s, ". 1:1(0) ack 1 <nop,nop,sack 8:24>");
	/* A length that disagrees with the block count is not decoded. */
	t.opt.lens[2] = 18;
	assert_string_equal(fmt_line(&t, &rel).s, ". 1:1(0) ack 1 <nop,nop,malformed-kind 5 len 18>");
}

static void test_ports_prefix(void **state)
{
	(void)state;
	struct tern_tcp t = seg(TERN_TCP_SYN, 0, 0, 0);
	add_opt(&t, TERN_TCPOPT_MSS, 4);
	t.opt.mss = 1460;
	struct tern_tcp_fmt f = { .relative = true, .ports = true, .win = true };
	assert_string_equal(fmt_line(&t, &f).s, "40000>8080 S 0:0(0) win 65535 <mss 1460>");
	t.sport = 0;
	t.dport = 65535;
	f.win = false;
	assert_string_equal(fmt_line(&t, &f).s, "0>65535 S 0:0(0) <mss 1460>");
}

static void test_unknown_and_malformed_options(void **state)
{
	(void)state;
	struct tern_tcp t = seg(TERN_TCP_ACK, 1, 1, 0);
	add_opt(&t, 30, 4);
	add_opt(&t, TERN_TCPOPT_MSS, 3);
	add_opt(&t, TERN_TCPOPT_WSCALE, 4);
	add_opt(&t, TERN_TCPOPT_SACK_PERM, 3);
	add_opt(&t, TERN_TCPOPT_TS, 8);
	add_opt(&t, 254, 2);
	add_opt(&t, TERN_TCPOPT_EOL, 1);
	assert_string_equal(fmt_line(&t, &bare).s,
			    ". 1:1(0) ack 1 <unknown-kind 30 len 4,malformed-kind 2 len 3,"
			    "malformed-kind 3 len 4,malformed-kind 4 len 3,malformed-kind 8 len 8,"
			    "unknown-kind 254 len 2,eol>");
	/* A count larger than the arrays is clamped, not followed. */
	struct tern_tcp big = seg(TERN_TCP_ACK, 1, 1, 0);
	memset(big.opt.kinds, TERN_TCPOPT_NOP, sizeof(big.opt.kinds));
	big.opt.count = 255;
	struct line l = fmt_line(&big, &bare);
	assert_int_equal(strlen(l.s), strlen(". 1:1(0) ack 1 <>") + 40 * 3 + 39);
}

static void test_truncation(void **state)
{
	(void)state;
	struct tern_tcp t = seg(TERN_TCP_SYN | TERN_TCP_ACK, 0, 1, 0);
	add_opt(&t, TERN_TCPOPT_MSS, 4);
	add_opt(&t, TERN_TCPOPT_SACK_PERM, 2);
	t.opt.mss = 1460;
	struct tern_tcp_fmt f = { .relative = true, .win = true };
	const char *full = "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK>";
	int want = (int)strlen(full);

	char buf[64];
	memset(buf, 'x', sizeof(buf));
	/* cap 0: nothing is written at all, and NULL is allowed. */
	assert_int_equal(tern_tcp_format(buf, 0, &t, &f), want);
	assert_int_equal(buf[0], 'x');
	assert_int_equal(tern_tcp_format(NULL, 0, &t, &f), want);
	/* cap 1: just the terminator. */
	assert_int_equal(tern_tcp_format(buf, 1, &t, &f), want);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'x');
	/* cap 10: the first 9 characters. */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(tern_tcp_format(buf, 10, &t, &f), want);
	assert_string_equal(buf, "S. 0:0(0)");
	assert_int_equal(buf[10], 'x');
	/* Every cap from 0 to the full length plus one. */
	for (size_t cap = 1; cap <= (size_t)want + 1; cap++) {
		memset(buf, 'x', sizeof(buf));
		assert_int_equal(tern_tcp_format(buf, cap, &t, &f), want);
		assert_int_equal(strlen(buf), cap - 1 < (size_t)want ? cap - 1 : (size_t)want);
		assert_memory_equal(buf, full, strlen(buf));
		assert_int_equal(buf[cap], 'x');
	}
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(tern_wire_status_name(TERN_WIRE_OK), "ok");
	assert_string_equal(tern_wire_status_name(TERN_WIRE_IP_TOO_SHORT), "ip-too-short");
	assert_string_equal(tern_wire_status_name(TERN_WIRE_IP_BAD_VERSION), "ip-bad-version");
	assert_string_equal(tern_wire_status_name(TERN_WIRE_IP_BAD_IHL), "ip-bad-ihl");
	assert_string_equal(tern_wire_status_name(TERN_WIRE_IP_TOTLEN_BELOW_BUF), "ip-totlen-below-buf");
	assert_string_equal(tern_wire_status_name(TERN_WIRE_IP_FRAGMENT), "ip-fragment");
	assert_string_equal(tern_wire_status_name(TERN_WIRE_ICMP_BAD_CHECKSUM), "icmp-bad-checksum");
	assert_string_equal(tern_wire_status_name(TERN_WIRE_TCP_BAD_DATA_OFFSET), "tcp-bad-data-offset");
	assert_string_equal(tern_wire_status_name(TERN_WIRE_TCP_OPTION_PAST_HEADER),
			    "tcp-option-past-header");
	/* Every status has its own kebab-case name. */
	for (int a = 0; a < TERN_WIRE_STATUS_COUNT; a++) {
		const char *n = tern_wire_status_name((enum tern_wire_status)a);
		assert_non_null(n);
		assert_true(strlen(n) > 1);
		for (const char *c = n; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') || *c == '-');
		for (int b = 0; b < a; b++)
			assert_string_not_equal(n, tern_wire_status_name((enum tern_wire_status)b));
	}
	assert_string_equal(tern_wire_status_name(TERN_WIRE_STATUS_COUNT), "invalid-status");
	assert_string_equal(tern_wire_status_name((enum tern_wire_status)-1), "invalid-status");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_ecn_and_urgent_flags),
		cmocka_unit_test(test_null_fmt_is_absolute_with_window),
		cmocka_unit_test(test_relative_vs_absolute),
		cmocka_unit_test(test_wrap_around),
		cmocka_unit_test(test_options_target_line),
		cmocka_unit_test(test_sack_blocks),
		cmocka_unit_test(test_ports_prefix),
		cmocka_unit_test(test_unknown_and_malformed_options),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_status_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
