/*
 * The knob table and its text interface: every default as Linux 6.x has it (the list
 * below is written out by hand, not taken from the table), each knob's field in
 * st->sys, every bound (min and max accepted, one past either refused), exact counts,
 * strict decimal parsing, word knobs, the /proc/sys path form, -ENOENT and -ENOSPC,
 * refused writes that change nothing, and stacks that do not share knobs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/stack.h"
#include "sysctl/sysctl.h"
#include "tern/sysctl.h"
#include "tern/tern.h"

/* Linux 6.x defaults (spec §9, §13.15; tcp_sk_init; ip-sysctl.rst), for a 24 GiB host. */
static const struct {
	const char *name;
	const char *value;
} linux_defaults[] = {
	{ "net.core.netdev_max_backlog", "1000" },
	{ "net.core.rmem_default", "212992" },
	{ "net.core.rmem_max", "212992" },
	{ "net.core.somaxconn", "4096" },
	{ "net.core.wmem_default", "212992" },
	{ "net.core.wmem_max", "212992" },
	{ "net.ipv4.ip_default_ttl", "64" },
	{ "net.ipv4.ip_local_port_range", "32768\t60999" },
	{ "net.ipv4.ip_no_pmtu_disc", "0" },
	{ "net.ipv4.tcp_abort_on_overflow", "0" },
	{ "net.ipv4.tcp_adv_win_scale", "1" },
	{ "net.ipv4.tcp_app_win", "31" },
	{ "net.ipv4.tcp_autocorking", "1" },
	{ "net.ipv4.tcp_base_mss", "1024" },
	{ "net.ipv4.tcp_challenge_ack_limit", "2147483647" },
	{ "net.ipv4.tcp_comp_sack_delay_ns", "1000000" },
	{ "net.ipv4.tcp_comp_sack_nr", "44" },
	{ "net.ipv4.tcp_comp_sack_slack_ns", "100000" },
	{ "net.ipv4.tcp_congestion_control", "cubic" },
	{ "net.ipv4.tcp_dsack", "1" },
	{ "net.ipv4.tcp_early_retrans", "3" },
	{ "net.ipv4.tcp_ecn", "2" },
	{ "net.ipv4.tcp_fin_timeout", "60" },
	{ "net.ipv4.tcp_frto", "2" },
	{ "net.ipv4.tcp_invalid_ratelimit", "500" },
	{ "net.ipv4.tcp_keepalive_intvl", "75" },
	{ "net.ipv4.tcp_keepalive_probes", "9" },
	{ "net.ipv4.tcp_keepalive_time", "7200" },
	{ "net.ipv4.tcp_limit_output_bytes", "4194304" },
	{ "net.ipv4.tcp_max_orphans", "131072" },
	{ "net.ipv4.tcp_max_reordering", "300" },
	{ "net.ipv4.tcp_max_syn_backlog", "2048" },
	{ "net.ipv4.tcp_max_tw_buckets", "131072" },
	{ "net.ipv4.tcp_migrate_req", "0" },
	{ "net.ipv4.tcp_min_snd_mss", "48" },
	{ "net.ipv4.tcp_min_tso_segs", "2" },
	{ "net.ipv4.tcp_moderate_rcvbuf", "1" },
	{ "net.ipv4.tcp_mtu_probing", "0" },
	{ "net.ipv4.tcp_no_metrics_save", "0" },
	{ "net.ipv4.tcp_notsent_lowat", "4294967295" },
	{ "net.ipv4.tcp_orphan_retries", "0" },
	{ "net.ipv4.tcp_recovery", "1" },
	{ "net.ipv4.tcp_reordering", "3" },
	{ "net.ipv4.tcp_retrans_collapse", "1" },
	{ "net.ipv4.tcp_retries1", "3" },
	{ "net.ipv4.tcp_retries2", "15" },
	{ "net.ipv4.tcp_rfc1337", "0" },
	{ "net.ipv4.tcp_rmem", "4096\t131072\t6291456" },
	{ "net.ipv4.tcp_rto_max_ms", "120000" },
	{ "net.ipv4.tcp_rto_min_us", "200000" },
	{ "net.ipv4.tcp_sack", "1" },
	{ "net.ipv4.tcp_shrink_window", "0" },
	{ "net.ipv4.tcp_slow_start_after_idle", "1" },
	{ "net.ipv4.tcp_stdurg", "0" },
	{ "net.ipv4.tcp_syn_linear_timeouts", "4" },
	{ "net.ipv4.tcp_syn_retries", "6" },
	{ "net.ipv4.tcp_synack_retries", "5" },
	{ "net.ipv4.tcp_syncookies", "1" },
	{ "net.ipv4.tcp_thin_linear_timeouts", "0" },
	{ "net.ipv4.tcp_timestamps", "1" },
	{ "net.ipv4.tcp_tso_win_divisor", "3" },
	{ "net.ipv4.tcp_tw_reuse", "2" },
	{ "net.ipv4.tcp_tw_reuse_delay", "1000" },
	{ "net.ipv4.tcp_window_scaling", "1" },
	{ "net.ipv4.tcp_wmem", "4096\t16384\t4194304" },
	{ "net.ipv4.tcp_workaround_signed_windows", "0" },
	{ "tern.kernel_profile", "6.13" },
};

#define NDEFAULTS ((int)(sizeof(linux_defaults) / sizeof(linux_defaults[0])))

/* The table seen from inside: each knob's field, expanded from table.h as the
 * storage struct is. */
static const struct {
	const char *name;
	const char *field;
	size_t offset;
	int count;
} fields[] = {
#define TERN_KNOB(n_, f_, u_, lo_, hi_, d_, doc_) \
	{ n_, #f_, offsetof(struct tern_sysctls, f_), 1 },
#define TERN_KNOB_VEC(n_, f_, c_, u_, lo_, hi_, fl_, d_, doc_) \
	{ n_, #f_, offsetof(struct tern_sysctls, f_), c_ },
#define TERN_KNOB_WORDS(n_, f_, d_, w_, doc_) \
	{ n_, #f_, offsetof(struct tern_sysctls, f_), 1 },
#include "sysctl/table.h"
};

#define NFIELDS ((int)(sizeof(fields) / sizeof(fields[0])))

static void drop(void *ctx, tern_time now, const uint8_t *pkt, size_t len)
{
	(void)ctx, (void)now, (void)pkt, (void)len;
}

static struct tern_stack *new_stack(void)
{
	struct tern_stack_config cfg;
	struct tern_stack *st = NULL;

	tern_stack_config_init(&cfg);
	cfg.addr = tern_addr_v4(10, 0, 0, 1);
	cfg.emit = drop;
	assert_int_equal(tern_stack_create(&cfg, &st), 0);
	return st;
}

static int setup(void **state)
{
	*state = new_stack();
	return 0;
}

static int teardown(void **state)
{
	tern_stack_destroy(*state);
	return 0;
}

/* The knob's current value as text. */
static const char *get(struct tern_stack *st, const char *name)
{
	static char buf[128];
	int n = tern_sysctl_get(st, name, buf, sizeof(buf));
	assert_true(n >= 0);
	assert_int_equal((size_t)n, strlen(buf));
	return buf;
}

/* A write that must be refused with `err` and leave every knob as it was. */
static void refused(struct tern_stack *st, const char *name, const char *value, int err)
{
	struct tern_sysctls before = st->sys;
	assert_int_equal(tern_sysctl_set(st, name, value), err);
	assert_memory_equal(&before, &st->sys, sizeof(before));
}

static void every_default_is_linux(void **state)
{
	struct tern_stack *st = *state;

	assert_int_equal(tern_sysctl_count(), NDEFAULTS);
	for (int i = 0; i < NDEFAULTS; i++) {
		assert_non_null(tern_sysctl_find(linux_defaults[i].name));
		assert_string_equal(get(st, linux_defaults[i].name), linux_defaults[i].value);
	}
	/* The struct holds the same numbers, words as their index. */
	assert_int_equal(st->sys.somaxconn, 4096);
	assert_int_equal(st->sys.tcp_syncookies, 1);
	assert_int_equal(st->sys.tcp_rmem[0], 4096);
	assert_int_equal(st->sys.tcp_rmem[1], 131072);
	assert_int_equal(st->sys.tcp_rmem[2], 6291456);
	assert_int_equal(st->sys.ip_local_port_range[0], 32768);
	assert_int_equal(st->sys.ip_local_port_range[1], 60999);
	assert_int_equal(st->sys.tcp_notsent_lowat, 4294967295LL);
	assert_int_equal(st->sys.tcp_congestion_control, TERN_CC_CUBIC);
	assert_int_equal(st->sys.kernel_profile, TERN_PROFILE_6_13);
}

static void table_is_well_formed(void **state)
{
	struct tern_stack *st = *state;
	static const char *const units[] = { "bytes", "seconds", "ms", "us", "ns", "count",
					      "bool", "", NULL };

	assert_int_equal(NFIELDS, tern_sysctl_count());
	assert_null(tern_sysctl_at(-1));
	assert_null(tern_sysctl_at(tern_sysctl_count()));
	for (int i = 0; i < tern_sysctl_count(); i++) {
		const struct tern_sysctl_info *k = tern_sysctl_at(i);
		assert_non_null(k);
		assert_ptr_equal(tern_sysctl_find(k->name), k);
		/* Byte order of names, as sysctl -a lists /proc/sys; no duplicates. */
		if (i > 0)
			assert_true(strcmp(tern_sysctl_at(i - 1)->name, k->name) < 0);
		assert_true(!strncmp(k->name, "net.", 4) || !strncmp(k->name, "tern.", 5));
		/* The field is named after the last path component. */
		assert_string_equal(fields[i].name, k->name);
		assert_string_equal(fields[i].field, strrchr(k->name, '.') + 1);
		/* One line of documentation that fits a markdown table cell. */
		assert_true(strlen(k->doc) > 10);
		assert_null(strchr(k->doc, '\n'));
		assert_null(strchr(k->doc, '|'));
		bool unit_ok = false;
		for (int u = 0; units[u]; u++)
			unit_ok |= !strcmp(units[u], k->unit);
		assert_true(unit_ok);
		assert_true(k->min <= k->max);
		if (k->words) {
			assert_int_equal(k->nvalues, 0);
			assert_int_equal(fields[i].count, 1);
			assert_int_equal(k->min, 0);
			int n = 0;
			while (k->words[n])
				n++;
			assert_int_equal(k->max, n - 1);
			assert_string_equal(get(st, k->name), k->default_word);
		} else {
			assert_true(k->nvalues >= 1 && k->nvalues <= TERN_SYSCTL_MAX_VALUES);
			assert_int_equal(fields[i].count, k->nvalues);
			assert_null(k->default_word);
			for (int j = 0; j < k->nvalues; j++)
				assert_true(k->defaults[j] >= k->min && k->defaults[j] <= k->max);
		}
	}
	/* The word enums follow the word lists. */
	const struct tern_sysctl_info *cc = tern_sysctl_find("net.ipv4.tcp_congestion_control");
	assert_string_equal(cc->words[TERN_CC_RENO], "reno");
	assert_string_equal(cc->words[TERN_CC_CUBIC], "cubic");
	const struct tern_sysctl_info *prof = tern_sysctl_find("tern.kernel_profile");
	assert_string_equal(prof->words[TERN_PROFILE_6_13], "6.13");
	assert_string_equal(prof->words[TERN_PROFILE_4_4], "4.4");
}

/* Each knob writes its own field and nothing else. */
static void each_knob_owns_its_field(void **state)
{
	struct tern_stack *st = *state;

	for (int i = 0; i < NFIELDS; i++) {
		const struct tern_sysctl_info *k = tern_sysctl_at(i);
		char value[96];
		int64_t want;
		if (k->words) {
			int64_t def = -1;
			for (int w = 0; k->words[w]; w++)
				if (!strcmp(k->words[w], k->default_word))
					def = w;
			assert_true(def >= 0);
			want = (def + 1) % (k->max + 1);        /* some other word */
			snprintf(value, sizeof(value), "%s", k->words[want]);
		} else {
			want = k->defaults[0] == k->max ? k->min : k->max;
			assert_true(want != k->defaults[0]);
			int n = 0;
			for (int j = 0; j < k->nvalues; j++)
				n += snprintf(value + n, sizeof(value) - (size_t)n, "%lld ",
					      (long long)want);
		}
		struct tern_sysctls before = st->sys;
		assert_int_equal(tern_sysctl_set(st, k->name, value), 0);
		int64_t *v = (int64_t *)(void *)((char *)&st->sys + fields[i].offset);
		for (int j = 0; j < fields[i].count; j++) {
			assert_int_equal(v[j], want);
			v[j] = ((int64_t *)(void *)((char *)&before + fields[i].offset))[j];
		}
		assert_memory_equal(&before, &st->sys, sizeof(before));
	}
}

/* min and max are accepted, one past either is refused; for every integer knob. */
static void every_bound_is_enforced(void **state)
{
	struct tern_stack *st = *state;

	for (int i = 0; i < tern_sysctl_count(); i++) {
		const struct tern_sysctl_info *k = tern_sysctl_at(i);
		if (k->words)
			continue;
		const long long edge[2] = { k->min, k->max };
		for (int e = 0; e < 2; e++) {
			char ok[96] = "", bad[96] = "", shown[96] = "";
			long long past = e ? k->max + 1 : k->min - 1;
			int n = 0, m = 0, s = 0;
			for (int j = 0; j < k->nvalues; j++) {
				n += snprintf(ok + n, sizeof(ok) - (size_t)n, " %lld", edge[e]);
				s += snprintf(shown + s, sizeof(shown) - (size_t)s, "%s%lld",
					      j ? "\t" : "", edge[e]);
				/* Only the last value is out of range (still ascending). */
				m += snprintf(bad + m, sizeof(bad) - (size_t)m, " %lld",
					      j == k->nvalues - 1 ? past : edge[e]);
			}
			assert_int_equal(tern_sysctl_set(st, k->name, ok), 0);
			assert_string_equal(get(st, k->name), shown);
			refused(st, k->name, bad, -TERN_EINVAL);
		}
	}
}

static void round_trips(void **state)
{
	struct tern_stack *st = *state;

	assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_syncookies", "2"), 0);
	assert_string_equal(get(st, "net.ipv4.tcp_syncookies"), "2");
	assert_int_equal(st->sys.tcp_syncookies, 2);

	assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_rmem", "4096 87380 6291456"), 0);
	assert_string_equal(get(st, "net.ipv4.tcp_rmem"), "4096\t87380\t6291456");
	assert_int_equal(st->sys.tcp_rmem[1], 87380);

	/* Any whitespace separates and surrounds, as echo > /proc/sys/... writes it. */
	assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_wmem", " \t8192\n16384\t\t65536\n"), 0);
	assert_string_equal(get(st, "net.ipv4.tcp_wmem"), "8192\t16384\t65536");
	assert_int_equal(tern_sysctl_set(st, "net.core.somaxconn", "128\n"), 0);
	assert_int_equal(st->sys.somaxconn, 128);

	/* Signs. */
	assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_adv_win_scale", "-2"), 0);
	assert_string_equal(get(st, "net.ipv4.tcp_adv_win_scale"), "-2");
	assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_adv_win_scale", "+3"), 0);
	assert_string_equal(get(st, "net.ipv4.tcp_adv_win_scale"), "3");
	assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_sack", "-0"), 0);
	assert_string_equal(get(st, "net.ipv4.tcp_sack"), "0");
	/* Leading zeros are decimal, not octal. */
	assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_synack_retries", "010"), 0);
	assert_int_equal(st->sys.tcp_synack_retries, 10);

	/* The unsigned knob's whole range. */
	assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_notsent_lowat", "16384"), 0);
	assert_string_equal(get(st, "net.ipv4.tcp_notsent_lowat"), "16384");
	assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_notsent_lowat", "4294967295"), 0);
	assert_int_equal(st->sys.tcp_notsent_lowat, 4294967295LL);
}

static void counts_must_be_exact(void **state)
{
	struct tern_stack *st = *state;

	refused(st, "net.ipv4.tcp_rmem", "4096 131072", -TERN_EINVAL);
	refused(st, "net.ipv4.tcp_rmem", "4096", -TERN_EINVAL);
	refused(st, "net.ipv4.tcp_rmem", "4096 131072 6291456 1", -TERN_EINVAL);
	refused(st, "net.ipv4.tcp_syncookies", "1 1", -TERN_EINVAL);
	refused(st, "net.ipv4.ip_local_port_range", "40000", -TERN_EINVAL);
	refused(st, "net.ipv4.ip_local_port_range", "40000 50000 60000", -TERN_EINVAL);

	/* The port range must not run backwards (Linux refuses it too); equal is fine. */
	refused(st, "net.ipv4.ip_local_port_range", "50000 40000", -TERN_EINVAL);
	refused(st, "net.ipv4.ip_local_port_range", "1023 40000", -TERN_EINVAL);
	assert_int_equal(tern_sysctl_set(st, "net.ipv4.ip_local_port_range", "40000 40000"), 0);
	assert_string_equal(get(st, "net.ipv4.ip_local_port_range"), "40000\t40000");
	/* tcp_rmem carries no ordering rule, as in Linux. */
	assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_rmem", "9000 8000 7000"), 0);
	assert_string_equal(get(st, "net.ipv4.tcp_rmem"), "9000\t8000\t7000");
}

static void junk_is_refused(void **state)
{
	struct tern_stack *st = *state;
	static const char *const junk[] = {
		"", " ", "\n", "x", "1x", "1 x", "x1", "1-", "--1", "+-1", "-+1", "- 1", "+",
		"-", "1.5", "1,2", "0x10", "1e3", "1\x01", "\xef\xbc\x91", "one",
		NULL,
	};

	for (int i = 0; junk[i]; i++) {
		refused(st, "net.ipv4.tcp_syncookies", junk[i], -TERN_EINVAL);
		refused(st, "net.ipv4.tcp_rmem", junk[i], -TERN_EINVAL);
	}
	refused(st, "net.ipv4.tcp_rmem", "4096 131072 6291456x", -TERN_EINVAL);
	refused(st, "net.ipv4.tcp_rmem", "4096 1e5 6291456", -TERN_EINVAL);
	refused(st, "net.ipv4.tcp_syncookies", NULL, -TERN_EINVAL);
	assert_string_equal(get(st, "net.ipv4.tcp_syncookies"), "1");
}

static void overflow_is_refused(void **state)
{
	struct tern_stack *st = *state;

	/* Past int64 in either direction, and far past it. */
	refused(st, "net.ipv4.tcp_notsent_lowat", "9223372036854775808", -TERN_EINVAL);
	refused(st, "net.ipv4.tcp_notsent_lowat", "-9223372036854775809", -TERN_EINVAL);
	refused(st, "net.ipv4.tcp_notsent_lowat", "18446744073709551616", -TERN_EINVAL);
	refused(st, "net.ipv4.tcp_notsent_lowat", "99999999999999999999999999", -TERN_EINVAL);
	/* Within int64 but past the knob's type. */
	refused(st, "net.ipv4.tcp_notsent_lowat", "4294967296", -TERN_EINVAL);
	refused(st, "net.core.somaxconn", "2147483648", -TERN_EINVAL);
	refused(st, "net.ipv4.tcp_synack_retries", "256", -TERN_EINVAL);
	/* The extremes of int64 parse, and are then out of range. */
	refused(st, "net.ipv4.tcp_adv_win_scale", "9223372036854775807", -TERN_EINVAL);
	refused(st, "net.ipv4.tcp_adv_win_scale", "-9223372036854775808", -TERN_EINVAL);
	assert_int_equal(tern_sysctl_set(st, "net.core.somaxconn", "2147483647"), 0);
	assert_int_equal(st->sys.somaxconn, 2147483647);
}

static void word_knobs(void **state)
{
	struct tern_stack *st = *state;

	assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_congestion_control", "reno"), 0);
	assert_int_equal(st->sys.tcp_congestion_control, TERN_CC_RENO);
	assert_string_equal(get(st, "net.ipv4.tcp_congestion_control"), "reno");
	/* Whitespace around the word is fine (echo adds a newline). */
	assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_congestion_control", " cubic\n"), 0);
	assert_int_equal(st->sys.tcp_congestion_control, TERN_CC_CUBIC);

	static const char *const bad[] = { "", "bbr", "Reno", "reno cubic", "ren", "renoo",
					   "0", "1", NULL };
	for (int i = 0; bad[i]; i++)
		refused(st, "net.ipv4.tcp_congestion_control", bad[i], -TERN_EINVAL);

	assert_int_equal(tern_sysctl_set(st, "tern.kernel_profile", "4.4"), 0);
	assert_int_equal(st->sys.kernel_profile, TERN_PROFILE_4_4);
	assert_string_equal(get(st, "tern.kernel_profile"), "4.4");
	refused(st, "tern.kernel_profile", "6.12", -TERN_EINVAL);
	refused(st, "tern.kernel_profile", "4", -TERN_EINVAL);
	assert_int_equal(tern_sysctl_set(st, "tern.kernel_profile", "6.13"), 0);
	assert_int_equal(st->sys.kernel_profile, TERN_PROFILE_6_13);
}

static void path_form(void **state)
{
	struct tern_stack *st = *state;

	assert_ptr_equal(tern_sysctl_find("net/ipv4/tcp_sack"), tern_sysctl_find("net.ipv4.tcp_sack"));
	assert_string_equal(tern_sysctl_find("net/core/somaxconn")->name, "net.core.somaxconn");
	assert_int_equal(tern_sysctl_set(st, "net/ipv4/tcp_sack", "0"), 0);
	assert_int_equal(st->sys.tcp_sack, 0);
	assert_string_equal(get(st, "net/ipv4/tcp_sack"), "0");
	assert_string_equal(get(st, "net.ipv4.tcp_sack"), "0");
	assert_string_equal(get(st, "tern/kernel_profile"), "6.13");
	/* A mix of both separators is no name. */
	assert_null(tern_sysctl_find("net/ipv4.tcp_sack"));
	assert_null(tern_sysctl_find("net.ipv4/tcp_sack"));
	refused(st, "net/ipv4.tcp_sack", "1", -TERN_ENOENT);
}

static void unknown_names(void **state)
{
	struct tern_stack *st = *state;
	char buf[64] = "untouched";
	static const char *const unknown[] = {
		"", "net", "net.ipv4", "net.ipv4.", "net.ipv4.foo", "net.ipv4.tcp_sack.",
		"net.ipv4.tcp_sac", "net.ipv4.tcp_sackx", "NET.IPV4.TCP_SACK", " net.ipv4.tcp_sack",
		"net.ipv4.tcp_sack ", "tcp_sack", "net..ipv4.tcp_sack", "/net/ipv4/tcp_sack",
		"net.ipv4.tcp_tw_recycle",   /* removed in Linux 4.12; writing it is ENOENT there too */
		NULL,
	};

	for (int i = 0; unknown[i]; i++) {
		assert_null(tern_sysctl_find(unknown[i]));
		assert_int_equal(tern_sysctl_get(st, unknown[i], buf, sizeof(buf)), -TERN_ENOENT);
		refused(st, unknown[i], "1", -TERN_ENOENT);
	}
	assert_string_equal(buf, "untouched");
	assert_null(tern_sysctl_find(NULL));
	assert_int_equal(tern_sysctl_get(st, NULL, buf, sizeof(buf)), -TERN_ENOENT);
	refused(st, NULL, "1", -TERN_ENOENT);
}

static void small_buffer_is_enospc(void **state)
{
	struct tern_stack *st = *state;
	char buf[32];

	/* "4096\t131072\t6291456" is 19 characters and needs 20 bytes with its NUL. */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(tern_sysctl_get(st, "net.ipv4.tcp_rmem", buf, 19), -TERN_ENOSPC);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(tern_sysctl_get(st, "net.ipv4.tcp_rmem", buf, 1), -TERN_ENOSPC);
	assert_int_equal(tern_sysctl_get(st, "net.ipv4.tcp_rmem", buf, 0), -TERN_ENOSPC);
	assert_int_equal(tern_sysctl_get(st, "net.ipv4.tcp_rmem", NULL, 0), -TERN_ENOSPC);
	assert_int_equal(tern_sysctl_get(st, "net.ipv4.tcp_rmem", buf, 20), 19);
	assert_string_equal(buf, "4096\t131072\t6291456");
	assert_int_equal(tern_sysctl_get(st, "net.ipv4.tcp_congestion_control", buf, 5), -TERN_ENOSPC);
	assert_int_equal(tern_sysctl_get(st, "net.ipv4.tcp_congestion_control", buf, 6), 5);
	assert_string_equal(buf, "cubic");
	/* An unknown name is ENOENT whatever the buffer. */
	assert_int_equal(tern_sysctl_get(st, "net.ipv4.foo", buf, 0), -TERN_ENOENT);
}

/* A refused write leaves even the values before the bad one alone. */
static void error_changes_nothing(void **state)
{
	struct tern_stack *st = *state;

	assert_int_equal(tern_sysctl_set(st, "net.ipv4.tcp_rmem", "1000 2000 3000"), 0);
	struct tern_sysctls before = st->sys;
	refused(st, "net.ipv4.tcp_rmem", "5000 6000 0", -TERN_EINVAL);
	refused(st, "net.ipv4.tcp_rmem", "5000 6000 junk", -TERN_EINVAL);
	refused(st, "net.ipv4.tcp_rmem", "5000 6000", -TERN_EINVAL);
	refused(st, "net.ipv4.tcp_rmem", "5000 6000 7000 8000", -TERN_EINVAL);
	refused(st, "net.ipv4.ip_local_port_range", "50000 40000", -TERN_EINVAL);
	refused(st, "net.ipv4.tcp_congestion_control", "vegas", -TERN_EINVAL);
	assert_memory_equal(&before, &st->sys, sizeof(before));
	assert_string_equal(get(st, "net.ipv4.tcp_rmem"), "1000\t2000\t3000");
}

static void stacks_do_not_share_knobs(void **state)
{
	struct tern_stack *a = *state;
	struct tern_stack *b = new_stack();

	assert_int_equal(tern_sysctl_set(a, "net.ipv4.tcp_syncookies", "0"), 0);
	assert_int_equal(tern_sysctl_set(a, "net.ipv4.tcp_rmem", "1 2 3"), 0);
	assert_int_equal(tern_sysctl_set(b, "net.ipv4.tcp_congestion_control", "reno"), 0);

	assert_string_equal(get(a, "net.ipv4.tcp_syncookies"), "0");
	assert_string_equal(get(b, "net.ipv4.tcp_syncookies"), "1");
	assert_string_equal(get(b, "net.ipv4.tcp_rmem"), "4096\t131072\t6291456");
	assert_string_equal(get(a, "net.ipv4.tcp_congestion_control"), "cubic");
	assert_string_equal(get(b, "net.ipv4.tcp_congestion_control"), "reno");

	/* A new stack starts from the defaults, whatever others did. */
	struct tern_stack *c = new_stack();
	for (int i = 0; i < NDEFAULTS; i++)
		assert_string_equal(get(c, linux_defaults[i].name), linux_defaults[i].value);
	tern_stack_destroy(c);
	tern_stack_destroy(b);
}

/* tern__sysctl_init resets every field, whatever was there. */
static void init_restores_defaults(void **state)
{
	struct tern_stack *st = *state;
	struct tern_sysctls fresh;

	tern__sysctl_init(&fresh);
	memset(&st->sys, 0x5a, sizeof(st->sys));
	tern__sysctl_init(&st->sys);
	assert_memory_equal(&fresh, &st->sys, sizeof(fresh));
	assert_string_equal(get(st, "net.ipv4.tcp_wmem"), "4096\t16384\t4194304");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_default_is_linux, setup, teardown),
		cmocka_unit_test_setup_teardown(table_is_well_formed, setup, teardown),
		cmocka_unit_test_setup_teardown(each_knob_owns_its_field, setup, teardown),
		cmocka_unit_test_setup_teardown(every_bound_is_enforced, setup, teardown),
		cmocka_unit_test_setup_teardown(round_trips, setup, teardown),
		cmocka_unit_test_setup_teardown(counts_must_be_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(junk_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(overflow_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(word_knobs, setup, teardown),
		cmocka_unit_test_setup_teardown(path_form, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_names, setup, teardown),
		cmocka_unit_test_setup_teardown(small_buffer_is_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(error_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(stacks_do_not_share_knobs, setup, teardown),
		cmocka_unit_test_setup_teardown(init_restores_defaults, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
