#!/usr/bin/env bash
# `tern sysctl`: docs/sysctl.md is exactly what --markdown prints (the table is the
# one source), and the command answers as procps-ng 4 sysctl does: "NAME = VALUE"
# with tab-separated vectors, the /proc/sys path form, prefixes, -a, -n, -N, -w, -q,
# -e, procps's messages for unknown names and refused values, exit status 1 for
# either (measured with procps-ng 4.0.2).
set -euo pipefail
: "${TERN_BIN:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tmp="$(mktemp -d "${TERN_TEST_TMPDIR:-/tmp}/sysctl_doc.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
tab=$'\t'

# Runs the command; leaves stdout, stderr and the exit status in out, err, rc.
run() {
	set +e
	"$TERN_BIN" sysctl "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
	out="$(cat "$tmp/out")"
	err="$(cat "$tmp/err")"
}
expect() {  # expect RC STDOUT STDERR -- ARGS...
	local want_rc=$1 want_out=$2 want_err=$3
	shift 4
	run "$@"
	[ "$rc" -eq "$want_rc" ] || fail "sysctl $*: exit status $rc, want $want_rc"
	[ "$out" = "$want_out" ] || fail "sysctl $*: stdout '$out', want '$want_out'"
	[ "$err" = "$want_err" ] || fail "sysctl $*: stderr '$err', want '$want_err'"
}

# The committed reference is the generated one.
"$TERN_BIN" sysctl --markdown >"$tmp/sysctl.md"
diff -u "$root/docs/sysctl.md" "$tmp/sysctl.md" >&2 ||
	fail "docs/sysctl.md is stale: regenerate it with 'tern sysctl --markdown > docs/sysctl.md'"
count=$("$TERN_BIN" sysctl -a | wc -l)
rows=$(grep -c '^| `' "$tmp/sysctl.md")
[ "$rows" -eq "$count" ] || fail "docs list $rows knobs, sysctl -a $count"

# Reading, as procps prints it.
expect 0 "net.ipv4.tcp_syncookies = 1" "" -- net.ipv4.tcp_syncookies
expect 0 "net.ipv4.tcp_rmem = 4096${tab}131072${tab}6291456" "" -- net.ipv4.tcp_rmem
expect 0 "net.ipv4.tcp_sack = 1" "" -- net/ipv4/tcp_sack
expect 0 "net.ipv4.tcp_congestion_control = cubic" "" -- net.ipv4.tcp_congestion_control
expect 0 "net.core.somaxconn = 4096
net.ipv4.ip_local_port_range = 32768${tab}60999" "" -- net.core.somaxconn net.ipv4.ip_local_port_range
expect 0 "4096${tab}16384${tab}4194304" "" -- -n net.ipv4.tcp_wmem
expect 0 "net.ipv4.tcp_wmem" "" -- -N net.ipv4.tcp_wmem
expect 0 "tern.kernel_profile = 6.13" "" -- tern

# -a lists every knob once, in name order, and includes the vectors with tabs.
run -a
[ "$rc" -eq 0 ] && [ -z "$err" ] || fail "sysctl -a: status $rc, stderr '$err'"
[ "$out" = "$(printf '%s\n' "$out" | LC_ALL=C sort -u)" ] || fail "sysctl -a is not sorted"
grep -qx "net.ipv4.tcp_wmem = 4096${tab}16384${tab}4194304" "$tmp/out" || fail "-a lacks tcp_wmem"
grep -qx "net.ipv4.tcp_notsent_lowat = 4294967295" "$tmp/out" || fail "-a lacks tcp_notsent_lowat"
# A prefix lists the knobs under it, as a /proc/sys directory does.
want="$("$TERN_BIN" sysctl -a | grep '^net\.core\.')"
run net.core
[ "$rc" -eq 0 ] && [ "$out" = "$want" ] && [ "$(wc -l <"$tmp/out")" -ge 6 ] ||
	fail "sysctl net.core: '$out'"

# Unknown names: procps's message and status, also in the path form; -e hides them.
nostat() { echo "sysctl: cannot stat /proc/sys/$1: No such file or directory"; }
expect 1 "" "$(nostat net/ipv4/foo)" -- net.ipv4.foo
expect 1 "" "$(nostat net/ipv4/foo)" -- net/ipv4/foo
expect 1 "" "$(nostat net/ipv4/tcp_tw_recycle)" -- net.ipv4.tcp_tw_recycle
expect 1 "net.ipv4.tcp_sack = 1" "$(nostat net/ipv4/foo)" -- net.ipv4.tcp_sack net.ipv4.foo
expect 0 "" "" -- -e net.ipv4.foo
expect 1 "" "$(nostat net/ipv4/foo)" -- -w net.ipv4.foo=1

# Writes are checked, then echoed as given; a refused value changes nothing.
expect 0 "net.ipv4.tcp_syncookies = 2" "" -- -w net.ipv4.tcp_syncookies=2
expect 0 "net.ipv4.tcp_rmem = 4096 87380 6291456" "" -- -w "net.ipv4.tcp_rmem=4096 87380 6291456"
expect 0 "net.ipv4.tcp_sack = 0" "" -- -w net/ipv4/tcp_sack=0
expect 0 "net.ipv4.tcp_congestion_control = reno" "" -- net.ipv4.tcp_congestion_control=reno
expect 0 "tern.kernel_profile = 4.4" "" -- -w "tern.kernel_profile = 4.4"
expect 0 "" "" -- -q -w net.ipv4.tcp_ecn=1
bad() { echo "sysctl: setting key \"$1\": Invalid argument"; }
expect 1 "" "$(bad net.ipv4.tcp_syncookies)" -- -w net.ipv4.tcp_syncookies=3
expect 1 "" "$(bad net.ipv4.tcp_syncookies)" -- -w net.ipv4.tcp_syncookies=abc
expect 1 "" "$(bad net.ipv4.tcp_syncookies)" -- -w net.ipv4.tcp_syncookies=
expect 1 "" "$(bad net.ipv4.tcp_rmem)" -- -w "net.ipv4.tcp_rmem=4096 87380"
expect 1 "" "$(bad net.ipv4.tcp_syn_retries)" -- -w net.ipv4.tcp_syn_retries=0
expect 1 "" "$(bad net.ipv4.tcp_congestion_control)" -- -w net.ipv4.tcp_congestion_control=bbr
expect 1 "" "sysctl: command line(0): invalid syntax, continuing..." -- -w net.ipv4.tcp_sack
expect 1 "net.ipv4.tcp_ecn = 1" "$(bad net.ipv4.tcp_ecn)" -- -w net.ipv4.tcp_ecn=1 net.ipv4.tcp_ecn=3

# No names.
expect 1 "" "sysctl: no variables specified
Try \`tern sysctl --help' for more information." -- -n
run
[ "$rc" -eq 1 ] && [ -z "$out" ] && grep -q '^usage: tern sysctl' "$tmp/err" || fail "bare sysctl: status $rc"
run --help
[ "$rc" -eq 0 ] && grep -q '^usage: tern sysctl' "$tmp/out" || fail "sysctl --help: status $rc"
"$TERN_BIN" --help | grep -q '^  sysctl ' || fail "tern help does not list sysctl"

echo "sysctl_doc: ok"
