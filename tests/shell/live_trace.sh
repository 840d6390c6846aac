#!/usr/bin/env bash
# live_trace: `tern trace` and `tern pcap FILE` against a running `tern serve`
# (issue 8, item 3), through its control socket.
#
#   - bad input (an option that does not exist, a bad --count, no FILE, no
#     instance at the path) gets a one-line error and a non-zero exit (no root);
#   - `tern trace --count 20` and `tern pcap --duration 3 FILE` run at the same
#     time while the kernel's curl fetches pages inside the namespace: the trace
#     shows the handshake (S, S.) and a FIN, ends after exactly 20 lines; the
#     pcap opens in tshark with the handshake (and, without tshark, is checked
#     with python3);
#   - a stopped (SIGSTOP) reader during a 20 MiB download does not slow the
#     instance: the download completes, and the reader, continued and stopped
#     with SIGINT, reports the datagrams the instance dropped for it;
#   - a fifth subscriber is refused (at most four at once);
#   - when the instance stops, a running trace ends by itself with status 0.
# Needs root, /dev/net/tun, ip, curl and python3; exits 77 (skipped) without
# them. The namespace and every process it starts are removed on any exit.
set -euo pipefail
: "${TERN_BIN:?TERN_BIN must name the tern binary}"

TEST_NAME=live_trace
# shellcheck source=../support/interop.sh
. "$(dirname "$0")/../support/interop.sh"

# ---------------------------------------------------------------- bad input
err=$(mktemp "${TERN_TEST_TMPDIR:-/tmp}/live_trace_err.XXXXXX")
check_bad() {   # check_bad WANT_PREFIX ARGS...: non-zero exit, one line on stderr
	local prefix=$1 rc
	shift
	set +e
	"$TERN_BIN" "$@" >/dev/null 2>"$err" </dev/null
	rc=$?
	set -e
	[ "$rc" -ne 0 ] || fail "'tern $*' exited 0"
	[ "$(wc -l <"$err")" -eq 1 ] && grep -q "^$prefix: " "$err" ||
		fail "'tern $*' gave no one-line error: $(cat "$err")"
}
check_bad "tern trace" trace --nope
check_bad "tern trace" trace --count 0
check_bad "tern trace" trace --count x
check_bad "tern trace" trace --duration -1
check_bad "tern trace" trace extra
check_bad "tern pcap" pcap --ctl /nonexistent/ctl
check_bad "tern pcap" pcap --wall x.pcap
check_bad "tern trace" trace --ctl "/nonexistent/tern-$$.ctl"
check_bad "tern pcap" pcap --ctl "/nonexistent/tern-$$.ctl" /dev/null
(unset TERN_CTL; check_bad "tern trace" trace)
rm -f "$err"

interop_require curl python3

ns="tern-lt-$$"
interop_tmp
ctl="$tmp/ctl"
err="$tmp/bad.err"
pid=""
bg=()
cleanup() {
	for p in "${bg[@]}"; do
		kill -CONT "$p" 2>/dev/null || true
		kill -KILL "$p" 2>/dev/null || true
	done
	interop_stop "$pid"
	interop_del_ns "$ns"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

"$TERN_BIN" serve --netns "$ns" --app http --ctl "$ctl" >"$tmp/serve.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
	grep -q '^tern serve: ready' "$tmp/serve.out" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || fail "tern serve exited early"
	sleep 0.05
done
grep -q '^tern serve: ready' "$tmp/serve.out" || fail "tern serve did not get ready"

# A stream request to the instance is refused cleanly when the path is not one.
check_bad "tern trace" trace --ctl "$tmp"

# ---------------------------------------------------------------- trace and pcap
"$TERN_BIN" trace --ctl "$ctl" --count 20 --duration 20 >"$tmp/trace.out" 2>"$tmp/trace.err" &
tpid=$!
bg+=("$tpid")
"$TERN_BIN" pcap --ctl "$ctl" --duration 3 "$tmp/x.pcap" 2>"$tmp/pcap.err" &
ppid=$!
bg+=("$ppid")
sleep 0.5          # both subscribed before the first SYN
for i in 1 2 3; do
	ip netns exec "$ns" curl -sS -o /dev/null --max-time 5 "http://192.0.2.2/$((i * 1000))" ||
		fail "curl $i failed"
done
wait "$tpid" || fail "tern trace exited $?"
wait "$ppid" || fail "tern pcap exited $?"
bg=()

[ "$(wc -l <"$tmp/trace.out")" -eq 20 ] || fail "the trace has $(wc -l <"$tmp/trace.out") lines, not 20"
grep -Eq '^ +[0-9]+\.[0-9]{6} 192\.0\.2\.1:[0-9]+ > 192\.0\.2\.2:80  S 0:0\(0\) win [0-9]+ <mss' "$tmp/trace.out" ||
	fail "no SYN from the kernel in the trace"
grep -Eq ' 192\.0\.2\.2:80 > 192\.0\.2\.1:[0-9]+  S\. 0:0\(0\) ack 1 ' "$tmp/trace.out" ||
	fail "no SYN-ACK from tern in the trace"
grep -Eq '  F\. [0-9]+:[0-9]+\(0\) ack ' "$tmp/trace.out" || fail "no FIN in the trace"
grep -Eq '  P\. 1:[0-9]+\([0-9]+\) ack 1 ' "$tmp/trace.out" || fail "no request in the trace"
grep -q '^tern trace: 20 datagrams, 0 dropped' "$tmp/trace.err" || fail "bad trace summary"
grep -Eq '^tern pcap: [0-9]+ datagrams, 0 dropped' "$tmp/pcap.err" || fail "bad pcap summary"

if command -v tshark >/dev/null 2>&1; then
	tshark -r "$tmp/x.pcap" -Y tcp -T fields -e tcp.flags.str -e tcp.srcport 2>/dev/null >"$tmp/tshark.out" ||
		fail "tshark cannot read the capture"
	sed -n '1,3p' "$tmp/tshark.out" | tr -d '·' >"$tmp/hs"
	grep -Eq '^ *S[[:space:]]+[0-9]+$' <(sed -n 1p "$tmp/hs") &&
		grep -Eq '^ *A *S[[:space:]]+80$' <(sed -n 2p "$tmp/hs") &&
		grep -Eq '^ *A[[:space:]]+[0-9]+$' <(sed -n 3p "$tmp/hs") ||
		fail "no handshake at the start of the capture: $(cat "$tmp/tshark.out" | head -3)"
	n=$(wc -l <"$tmp/tshark.out")
	[ "$n" -ge 30 ] || fail "only $n TCP segments in the capture (3 fetches)"
else
	python3 - "$tmp/x.pcap" <<'EOF' || fail "the capture is not a pcap with the handshake"
import struct, sys
d = open(sys.argv[1], "rb").read()
magic, _, _, _, _, _, link = struct.unpack("<IHHiIII", d[:24])
assert magic == 0xa1b23c4d and link == 101
off, flags = 24, []
while off < len(d):
    _, _, incl, _ = struct.unpack("<IIII", d[off:off + 16])
    p = d[off + 16:off + 16 + incl]
    off += 16 + incl
    ihl = (p[0] & 15) * 4
    if p[9] == 6:
        flags.append(p[ihl + 13])
assert flags[:3] == [0x02, 0x12, 0x10], flags[:3]
EOF
fi

# ---------------------------------------------------------------- a stopped reader
"$TERN_BIN" trace --ctl "$ctl" >"$tmp/slow.out" 2>"$tmp/slow.err" &
spid=$!
bg+=("$spid")
sleep 0.3
kill -STOP "$spid"
ip netns exec "$ns" curl -sS -o /dev/null --max-time 20 http://192.0.2.2/20971520 ||
	fail "a stopped trace reader held up the instance (the download failed)"
kill -CONT "$spid"
sleep 0.5
kill -INT "$spid"
rc=0
wait "$spid" || rc=$?
bg=()
[ "$rc" -eq 0 ] || fail "tern trace stopped by SIGINT exited $rc"
grep -Eq '^tern trace: [0-9]+ datagrams, [1-9][0-9]* dropped by the instance' "$tmp/slow.err" ||
	fail "the slow reader's drops were not reported: $(cat "$tmp/slow.err")"

# ---------------------------------------------------------------- at most four
for i in 1 2 3 4; do
	"$TERN_BIN" trace --ctl "$ctl" >/dev/null 2>"$tmp/sub$i.err" &
	bg+=("$!")
done
sleep 0.5
check_bad "tern trace" trace --ctl "$ctl"
grep -q 'at most 4' "$err" || fail "a fifth subscriber was not refused as such: $(cat "$err")"
for p in "${bg[@]}"; do kill -INT "$p"; wait "$p" || fail "a subscriber stopped by SIGINT failed"; done
bg=()
# Their slots are free again: a new subscriber is accepted and, when the
# instance stops, ends by itself.
"$TERN_BIN" trace --ctl "$ctl" >/dev/null 2>"$tmp/last.err" &
lpid=$!
bg+=("$lpid")
sleep 0.3
kill -0 "$lpid" 2>/dev/null || fail "a subscriber after the four left was refused: $(cat "$tmp/last.err")"
kill -TERM "$pid"
wait "$pid" || fail "tern serve exited $? on SIGTERM"
pid=""
for _ in $(seq 50); do kill -0 "$lpid" 2>/dev/null || break; sleep 0.1; done
rc=0
wait "$lpid" || rc=$?
bg=()
[ "$rc" -eq 0 ] || fail "the trace of a stopping instance exited $rc"
grep -q '^tern trace: the instance stopped' "$tmp/last.err" || fail "no end of stream: $(cat "$tmp/last.err")"
ip netns list | grep -qw "$ns" && fail "namespace $ns left behind"
[ -e "$ctl" ] && fail "control socket left behind"
echo "PASS: live_trace"
