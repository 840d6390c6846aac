#!/usr/bin/env bash
# `tern script`, the packetdrill-script runner (tools/script/):
#  (a) a script that does not parse is reported as FILE:LINE:COL: message, and
#      fails with a non-zero status;
#  (b) broken copies of corpus scripts (made here with sed) fail at the broken
#      line and say what differs: wrong ack, wrong window, a packet that never
#      comes, a wrong errno, a packet 2 s late;
#  (c) hand-written scripts pass (here and tests/scripts/*.pkt), a 131 s
#      timeline costs no real time, and --strict catches an unexpected packet;
#  (d) -v prints the timeline: packets both ways, calls with results, commands.
# The corpus lives at ../shared/conformance next to the repository; without it
# the snapshot in tests/conformance stands in.
set -euo pipefail
: "${TERN_BIN:?}"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
corpus="$repo/../shared/conformance"
[ -d "$corpus" ] || corpus="$repo/tests/conformance"
tmp=$(mktemp -d "${TERN_TEST_TMPDIR:-${TMPDIR:-/tmp}}/script-runner.XXXXXX")
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# run_tern OUT -- ARGS...: runs tern script, stdout+stderr into OUT; sets $rc.
run_tern() {
	local out=$1; shift
	set +e
	"$TERN_BIN" script "$@" >"$out" 2>&1
	rc=$?
	set -e
}

# expect_fail NAME FILE LINE PATTERN...: FILE must fail at LINE with every
# (grep -E) PATTERN somewhere in the output, exit status 1 and a 0/1 summary.
expect_fail() {
	local name=$1 file=$2 line=$3; shift 3
	local out="$tmp/$name.out"
	run_tern "$out" "$file"
	[ "$rc" -eq 1 ] || { cat "$out" >&2; fail "$name: exit status $rc, expected 1"; }
	grep -q "^FAIL $file:$line: " "$out" || { cat "$out" >&2; fail "$name: no 'FAIL $file:$line:' line"; }
	grep -q '^0 passed, 1 failed$' "$out" || { cat "$out" >&2; fail "$name: bad summary"; }
	local p
	for p in "$@"; do
		grep -Eq -- "$p" "$out" || { cat "$out" >&2; fail "$name: output lacks /$p/"; }
	done
}

# line_of FILE PATTERN: the number of the first line matching (grep -E).
line_of() {
	local n
	n=$(grep -En -- "$2" "$1" | head -1 | cut -d: -f1)
	[ -n "$n" ] || fail "no line /$2/ in $1"
	echo "$n"
}

# ---------------------------------------------------------------- (a) parse errors
cat >"$tmp/bad-option.pkt" <<'EOF'
// a TCP option the language does not have
0  socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 < S 0:0(0) win 65535 <mss 1460,frob 3>
EOF
run_tern "$tmp/a1.out" "$tmp/bad-option.pkt"
[ "$rc" -ne 0 ] || fail "a parse error exited 0"
grep -q "^$tmp/bad-option.pkt:3:35: unknown TCP option 'frob'" "$tmp/a1.out" ||
	{ cat "$tmp/a1.out" >&2; fail "parse error does not name file:line:col"; }
grep -q "^FAIL $tmp/bad-option.pkt:3: " "$tmp/a1.out" || fail "no FAIL line for the parse error"

printf '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 frobnicate(3) = 0\n' >"$tmp/bad-call.pkt"
run_tern "$tmp/a2.out" "$tmp/bad-call.pkt"
[ "$rc" -ne 0 ] || fail "an unknown call exited 0"
grep -q ":2:4: unknown system call 'frobnicate'" "$tmp/a2.out" || { cat "$tmp/a2.out" >&2; fail "unknown call"; }

printf '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\n  +.1 < S 0:0(0) <mss 1460>\n' >"$tmp/no-win.pkt"
run_tern "$tmp/a3.out" "$tmp/no-win.pkt"
grep -q ":3:11: an injected packet needs 'win N'" "$tmp/a3.out" || { cat "$tmp/a3.out" >&2; fail "missing win"; }

printf '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(3) = -1 ENOTANERRNO\n' >"$tmp/bad-errno.pkt"
run_tern "$tmp/a4.out" "$tmp/bad-errno.pkt"
grep -q ":2:18: unknown errno name 'ENOTANERRNO'" "$tmp/a4.out" || { cat "$tmp/a4.out" >&2; fail "bad errno"; }

printf '0 < S 0:10(5) win 1\n' >"$tmp/bad-len.pkt"
run_tern "$tmp/a5.out" "$tmp/bad-len.pkt"
grep -q ":1:7: 0:10 is 10 bytes but the length says 5" "$tmp/a5.out" || { cat "$tmp/a5.out" >&2; fail "bad length"; }

printf '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3 /* never closed\n' >"$tmp/bad-comment.pkt"
run_tern "$tmp/a6.out" "$tmp/bad-comment.pkt"
grep -q ":1:45: unterminated /\* comment" "$tmp/a6.out" || { cat "$tmp/a6.out" >&2; fail "open comment"; }

run_tern "$tmp/a7.out" "$tmp/does-not-exist.pkt"
[ "$rc" -eq 1 ] || fail "a missing file exited $rc"
grep -q "^FAIL $tmp/does-not-exist.pkt: cannot read" "$tmp/a7.out" || fail "missing file not reported"

run_tern "$tmp/a8.out"
[ "$rc" -eq 2 ] || fail "no arguments exited $rc, expected 2"

# ---------------------------------------------------------------- (c) passing scripts
cat >"$tmp/small.pkt" <<'EOF'
// A listener, one client, ten bytes each way, the client closes.
--tolerance_usecs=5000
`sysctl -q net.ipv4.tcp_timestamps=0 net.ipv4.tcp_sack=0`
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1000>
+0  > S. 0:0(0) ack 1 <mss 1460>
+.1 < . 1:1(0) ack 1 win 65535
+0  accept(3, ..., ...) = 4
+0  getsockopt(4, SOL_TCP, TCP_MAXSEG, [1000], [4]) = 0
+0  < P. 1:11(10) ack 1 win 65535
+0  > . 1:1(0) ack 11
+0  read(4, ..., 100) = 10
+0  write(4, ..., 10) = 10
+0  > P. 1:11(10) ack 11
+.1 < . 11:11(0) ack 11 win 65535
+0  close(4) = 0
+0  > F. 11:11(0) ack 11
+0  `ss -tanH | grep -q FIN-WAIT-1`
+.1 < F. 11:11(0) ack 12 win 65535
+0  > . 12:12(0) ack 12
EOF
run_tern "$tmp/c1.out" "$tmp/small.pkt"
[ "$rc" -eq 0 ] || { cat "$tmp/c1.out" >&2; fail "the small hand-written script failed"; }
grep -q "^PASS $tmp/small.pkt$" "$tmp/c1.out" || fail "no PASS line"
grep -q '^1 passed, 0 failed$' "$tmp/c1.out" || fail "bad summary for a pass"

# The project's own scripts.
run_tern "$tmp/c2.out" "$repo"/tests/scripts/*.pkt
[ "$rc" -eq 0 ] || { cat "$tmp/c2.out" >&2; fail "tests/scripts/*.pkt do not all pass"; }

# Virtual time: 131 s of idle connection cost nothing; the seed changes nothing
# that a script can see.
cat >"$tmp/long.pkt" <<'EOF'
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   bind(3, ..., ...) = 0
+0   listen(3, 1) = 0
+0   < S 0:0(0) win 65535 <mss 1460>
+0   > S. 0:0(0) ack 1 <mss 1460>
+.1  < . 1:1(0) ack 1 win 65535
+0   accept(3, ..., ...) = 4
+131 write(4, ..., 100) = 100
+0   > P. 1:101(100) ack 1
EOF
start=$(date +%s%N)
run_tern "$tmp/c3.out" "$tmp/long.pkt"
[ "$rc" -eq 0 ] || { cat "$tmp/c3.out" >&2; fail "the 131 s script failed"; }
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed_ms" -lt 5000 ] || fail "a 131 s timeline took ${elapsed_ms} ms of real time"
run_tern "$tmp/c4.out" --seed 12345 "$tmp/long.pkt" "$tmp/small.pkt"
[ "$rc" -eq 0 ] || { cat "$tmp/c4.out" >&2; fail "--seed 12345 changed the outcome"; }

# An unexpected packet before an expected one fails the expected line; one after
# the last expected line passes by default and fails under --strict.
sed '/^+0  > \. 1:1(0) ack 11$/d' "$tmp/small.pkt" >"$tmp/unexpected.pkt"
run_tern "$tmp/c5.out" "$tmp/unexpected.pkt"
grep -Eq "^FAIL $tmp/unexpected.pkt:[0-9]+: flags \., expected P\.; payload 0 bytes, expected 10$" "$tmp/c5.out" ||
	{ cat "$tmp/c5.out" >&2; fail "an unexpected packet before an expected one passed"; }
head -n "$(line_of "$tmp/small.pkt" '< P\. 1:11\(10\)')" "$tmp/small.pkt" >"$tmp/trailing.pkt"
run_tern "$tmp/c6.out" "$tmp/trailing.pkt"
[ "$rc" -eq 0 ] || { cat "$tmp/c6.out" >&2; fail "a trailing unexpected ACK failed without --strict"; }
run_tern "$tmp/c7.out" --strict "$tmp/trailing.pkt"
[ "$rc" -eq 1 ] || fail "--strict passed a trailing unexpected ACK"
grep -q "unexpected packet on the connection under test (--strict)" "$tmp/c7.out" ||
	{ cat "$tmp/c7.out" >&2; fail "--strict does not say why"; }
grep -Eq "actual: +0\.1[0-9]* > \. 1:1\(0\) ack 11" "$tmp/c7.out" ||
	{ cat "$tmp/c7.out" >&2; fail "--strict does not show the packet"; }

# ---------------------------------------------------------------- (d) the timeline
run_tern "$tmp/d1.out" -v "$repo/tests/scripts/handshake-passive.pkt"
v="$tmp/d1.out"
grep -Eq '^ +0\.000  `sysctl -q .*`   \[init, line 7\]$' "$v" || { cat "$v" >&2; fail "-v: no init command"; }
grep -Eq '^ +0\.000  socket\(\.\.\., SOCK_STREAM, IPPROTO_TCP\) = 3 -> 3   \[line 9\]$' "$v" || fail "-v: no socket()"
grep -Eq '^ +0\.000  accept\(3, \.\.\., \.\.\.\) = -1 EAGAIN .* -> -1 EAGAIN' "$v" || fail "-v: no failing accept()"
grep -Eq '^ +0\.100  < [0-9]+>8080 S 0:0\(0\) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>   \[line 16\]$' "$v" ||
	{ cat "$v" >&2; fail "-v: no injected SYN"; }
grep -Eq '^ +0\.100  > S\. 0:0\(0\) ack 1 win 65160 <mss 1460,sackOK,TS val 200 ecr 100,nop,wscale 7>   \[ok\]$' "$v" ||
	{ cat "$v" >&2; fail "-v: no SYN-ACK"; }
grep -Eq '^ +0\.200  > P\. 1:101\(100\) ack 1 win [0-9]+ <nop,nop,TS val 300 ecr 110>   \[ok\]$' "$v" || fail "-v: no data"
grep -q "^PASS $repo/tests/scripts/handshake-passive.pkt$" "$v" || fail "-v: no PASS line"

# ---------------------------------------------------------------- (b) broken copies
if [ ! -d "$corpus" ]; then
	echo "script_runner: ok (corpus not found at $corpus: broken-copy checks skipped)"
	exit 0
fi
hs="$corpus/handshake/passive-open-default-options.pkt"
synack=$(line_of "$hs" '^\+0 +> S\. 0:0\(0\) ack 1 win 65160')

sed "${synack}s/ack 1 win 65160/ack 2 win 65160/" "$hs" >"$tmp/wrong-ack.pkt"
expect_fail wrong-ack "$tmp/wrong-ack.pkt" "$synack" \
	"FAIL .*:$synack: ack 1, expected 2$" \
	'^    expected: 0\.100 > S\. 0:0\(0\) ack 2 win 65160 <mss 1460,sackOK,TS val 200 ecr 100,nop,wscale 7>$' \
	'^    actual:   0\.100 > S\. 0:0\(0\) ack 1 win 65160 <mss 1460,sackOK,TS val 200 ecr 100,nop,wscale 7>$'

sed "${synack}s/win 65160/win 29200/" "$hs" >"$tmp/wrong-win.pkt"
expect_fail wrong-win "$tmp/wrong-win.pkt" "$synack" \
	"FAIL .*:$synack: win 65160, expected 29200$" \
	'^    expected: 0\.100 > S\. 0:0\(0\) ack 1 win 29200 ' '^    actual:   0\.100 > S\. 0:0\(0\) ack 1 win 65160 '

# The write is gone, so the data segment the script expects never comes.
sed '/write(4, \.\.\., 10) = 10/d' "$hs" >"$tmp/missing.pkt"
data=$(line_of "$tmp/missing.pkt" '> P\. 1:11\(10\)')
expect_fail missing "$tmp/missing.pkt" "$data" \
	"FAIL .*:$data: expected packet never came: nothing was sent on the connection up to 120\.200 s$" \
	'^    expected: 0\.200 > P\. 1:11\(10\) ack 1 <nop,nop,TS val 300 ecr 110>$'

refused="$corpus/active-open/syn-sent-rst-ack-econnrefused.pkt"
conn=$(line_of "$refused" 'connect\(3')
sed 's/ECONNREFUSED (Connection refused)/ECONNRESET (Connection reset by peer)/' "$refused" >"$tmp/wrong-errno.pkt"
expect_fail wrong-errno "$tmp/wrong-errno.pkt" "$conn" \
	"FAIL .*:$conn: connect returned -1 ECONNREFUSED \(Connection refused\), expected -1 ECONNRESET \(Connection reset by peer\)$"

# The first keepalive probe comes 2 s after the handshake; the copy expects it at once.
ka="$corpus/keepalive/keepalive-probes-timeout.pkt"
probe=$(line_of "$ka" '^ +\+2 > \. 0:0\(0\) ack 1')
sed "${probe}s/+2 >/+0 >/" "$ka" >"$tmp/late.pkt"
expect_fail late "$tmp/late.pkt" "$probe" \
	"FAIL .*:$probe: packet late: expected at 0\.100 s \(tolerance 0\.004 s\), it came at 2\.100 s$" \
	'^    expected: 0\.100 > \. 0:0\(0\) ack 1$' '^    actual:   2\.100 > \. 0:0\(0\) ack 1 win [0-9]+$'

echo "script_runner: ok"
