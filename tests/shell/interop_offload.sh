#!/usr/bin/env bash
# interop_offload: the TUN driver's offloads end to end (issue 8): IFF_VNET_HDR with
# TUN_F_CSUM | TUN_F_TSO4, TSO packets from the kernel taken whole by the stack (as
# GRO) or, with --no-gro, cut into segments before the stack sees them, the
# stack's segments glued into TSO packets for the kernel.
#
# `tern serve --netns NS --app echo` (offloads on, the default) and, from inside
# the namespace:
#   - a capture on the device (tcpdump, else dumpcap) during a 10 MiB echo sees
#     datagrams longer than the 1500-byte MTU in both directions;
#   - 100 MiB through echo, both directions at once, SHA-256 compared;
#   - tern's own counters (`tern nstat` through the control socket): the
#     MTU-sized segments the stack sent, and the datagrams it took in, one per
#     device read (TSO packets whole, as Linux counts InSegs per GRO skb);
#   - the driver's summary at exit: TSO packets in holding more segments than
#     packets, taken whole; TSO packets out made of more segments than packets,
#     none refused, no bad vnet header.
# Then `--no-gro`, with 4 MiB receive buffers: a 10 MiB echo works, and the stack
# counts the segments the TSO packets were cut into, several times the datagrams
# that crossed the device; 64 MiB into discard are all read (tern's FIN follows
# the client's), though the window is more than discard reads per turn.
# Then `--no-offload`: the same echo works, the start line says offloads are off,
# there is no offload summary, and the capture has nothing longer than the MTU.
# Bad arguments are checked first (no root needed). Needs root, /dev/net/tun, ip,
# python3 and sha256sum; exits 77 (skipped) without them. Every namespace and
# process it creates is removed on any exit.
set -euo pipefail
: "${TERN_BIN:?TERN_BIN must name the tern binary}"

TEST_NAME=interop_offload
# shellcheck source=../support/interop.sh
. "$(dirname "$0")/../support/interop.sh"

# ---------------------------------------------------------------- bad arguments
set +e
"$TERN_BIN" serve --no-offload extra >/dev/null 2>/tmp/interop_offload_err.$$; rc=$?
set -e
msg=$(cat /tmp/interop_offload_err.$$)
rm -f /tmp/interop_offload_err.$$
[ "$rc" -eq 2 ] && [ "$(wc -l <<<"$msg")" -eq 1 ] && grep -q '^tern serve: ' <<<"$msg" \
	|| fail "'serve --no-offload extra' exited $rc: $msg"
"$TERN_BIN" serve --help | grep -q -- '--no-offload' || fail "--help lacks --no-offload"

interop_require python3 sha256sum

ns="tern-io-$$"
interop_tmp
ctl="$tmp/ctl"
pid=""
cap=""
cleanup() {
	interop_stop "$cap" "$pid"
	interop_del_ns "$ns" "$ns-plain" "$ns-split"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

T="192.0.2.2"
K="192.0.2.1"

# Starts tern serve in namespace $1 with output to $tmp/$1.out, extra options after.
start_serve() {
	local name=$1
	shift
	"$TERN_BIN" serve --netns "$name" --app echo --app discard --ctl "$ctl" --duration 300 "$@" \
		>"$tmp/$name.out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		grep -q '^tern serve: ready' "$tmp/$name.out" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	fail "tern serve did not start in $name"
}

stop_serve() {
	kill -TERM "$pid"
	set +e
	wait "$pid"; rc=$?
	set -e
	pid=""
	[ "$rc" -eq 0 ] || fail "tern serve exited $rc after SIGTERM"
}

# The capture: tcpdump or dumpcap on the device inside namespace $1, first 128
# bytes of each datagram (the pcap records keep the full length) into $2.
capturer=""
command -v tcpdump >/dev/null 2>&1 && capturer=tcpdump
[ -z "$capturer" ] && command -v dumpcap >/dev/null 2>&1 && capturer=dumpcap
start_capture() {
	case "$capturer" in
	tcpdump) ip netns exec "$1" tcpdump -i tern0 -s 128 -U --immediate-mode -w "$2" >"$tmp/cap.log" 2>&1 & ;;
	dumpcap) ip netns exec "$1" dumpcap -i tern0 -s 128 -P -w "$2" >"$tmp/cap.log" 2>&1 & ;;
	*) return 0 ;;
	esac
	cap=$!
	# Both print a line on stderr once they listen.
	for _ in $(seq 100); do
		grep -qi 'listening\|capturing' "$tmp/cap.log" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "$capturer did not start: $(cat "$tmp/cap.log")"
}
stop_capture() {
	[ -n "$cap" ] || return 0
	# The kernel hands a capture its packets in blocks, retired after at most a
	# second (dumpcap has no immediate mode): the echo may take less.
	sleep 1.2
	kill -INT "$cap" 2>/dev/null || true
	wait "$cap" 2>/dev/null || true
	cap=""
}
# Prints "LONGEST_FROM_KERNEL LONGEST_FROM_TERN COUNT" for the pcap $1 (LINKTYPE_RAW).
longest() {
	python3 - "$1" "$K" "$T" <<'EOF'
import socket, struct, sys
data = open(sys.argv[1], "rb").read()
magic = struct.unpack("<I", data[:4])[0]
end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
link = struct.unpack(end + "I", data[20:24])[0]
if link not in (101, 228, 12):
    sys.exit("unexpected link type %d" % link)
k, t = socket.inet_aton(sys.argv[2]), socket.inet_aton(sys.argv[3])
off, best, n = 24, {k: 0, t: 0}, 0
while off + 16 <= len(data):
    _, _, incl, orig = struct.unpack(end + "IIII", data[off:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if len(pkt) >= 20 and pkt[0] >> 4 == 4 and pkt[12:16] in best:
        best[pkt[12:16]] = max(best[pkt[12:16]], orig)
        n += 1
print(best[k], best[t], n)
EOF
}

# $2 MiB into tern's discard from namespace $1, then our FIN; tern's FIN must follow
# within 20 s: discard read every byte, not only what arrived while the client sent.
discard_mib() {
	ip netns exec "$1" python3 - "$T" "$2" <<'EOF'
import socket, sys
T, mib = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((T, 9), timeout=20)
chunk = bytes(1 << 20)
for _ in range(mib):
    s.sendall(chunk)
s.shutdown(socket.SHUT_WR)
try:
    if s.recv(1) != b"":
        sys.exit("discard: data from the server")
except socket.timeout:
    sys.exit("discard: no FIN from the server within 20 s after ours")
s.close()
EOF
}

# Echo through tern: $1 MiB both directions at once on one connection, SHA-256 of
# what went out against what came back.
echo_mib() {
	ip netns exec "$1" python3 - "$T" "$2" <<'EOF'
import hashlib, random, socket, sys, threading
T, mib = sys.argv[1], int(sys.argv[2])
rng = random.Random(8)
sent, got = hashlib.sha256(), hashlib.sha256()
count = {"got": 0}
s = socket.create_connection((T, 7), timeout=60)
def reader():
    while True:
        b = s.recv(1 << 18)
        if not b:
            return
        got.update(b)
        count["got"] += len(b)
t = threading.Thread(target=reader)
t.start()
for _ in range(mib):
    chunk = rng.randbytes(1 << 20)
    sent.update(chunk)
    s.sendall(chunk)
s.shutdown(socket.SHUT_WR)
t.join()
s.close()
if count["got"] != mib << 20 or got.digest() != sent.digest():
    sys.exit("echo: %d of %d bytes back, SHA-256 %s" % (count["got"], mib << 20,
             "equal" if got.digest() == sent.digest() else "differs"))
EOF
}

# ---------------------------------------------------------------- offloads on
start_serve "$ns"
grep -q '^tern serve: offloads on ' "$tmp/$ns.out" || fail "offloads not on"

if [ -n "$capturer" ]; then
	start_capture "$ns" "$tmp/on.pcap"
	echo_mib "$ns" 10 || fail "10 MiB echo (captured) failed"
	stop_capture
	read -r from_k from_t n < <(longest "$tmp/on.pcap")
	[ "$n" -gt 100 ] || fail "capture holds $n datagrams"
	[ "$from_k" -gt 1500 ] || fail "the kernel sent nothing longer than the MTU (longest $from_k)"
	[ "$from_t" -gt 1500 ] || fail "tern wrote nothing longer than the MTU (longest $from_t)"
	say "$capturer on the device: longest datagram $from_k bytes from the kernel, $from_t from tern"
else
	say "no tcpdump or dumpcap: capture not checked"
fi

echo_mib "$ns" 100 || fail "100 MiB echo failed"
say "100 MiB both ways through echo, SHA-256 equal"

# The stack's counters and the driver's summary at exit, for the serve in $1.
# Sets in_segs, out_segs, dev_in, gin, gin_segs, gout, gout_segs, how.
read_counters() {
	TERN_CTL="$ctl" "$TERN_BIN" nstat -saz TcpInSegs TcpOutSegs TcpInErrs >"$tmp/nstat"
	in_segs=$(awk '$1 == "TcpInSegs" { print $2 }' "$tmp/nstat")
	out_segs=$(awk '$1 == "TcpOutSegs" { print $2 }' "$tmp/nstat")
	grep -Eq '^TcpInErrs +0 ' "$tmp/nstat" || fail "TcpInErrs: $(cat "$tmp/nstat")"
	stop_serve
	line=$(grep '^tern serve: offloads: ' "$tmp/$1.out") || fail "no offload summary"
	read -r gin gin_segs how gout gout_segs refused bad < <(sed -E \
		's/.*: ([0-9]+) TSO packets in holding ([0-9]+) segments \((taken whole|cut)\), ([0-9]+) TSO packets out made of ([0-9]+) segments \(([0-9]+) refused\), [0-9]+ partial checksums in, ([0-9]+) bad vnet headers$/\1 \2 \3 \4 \5 \6 \7/' <<<"$line" | sed 's/taken whole/whole/')
	[ -n "${bad:-}" ] || fail "cannot read the summary: $line"
	[ "$gin" -gt 0 ] && [ "$gin_segs" -gt $((gin * 2)) ] || fail "no TSO packets in: $line"
	[ "$gout" -gt 0 ] && [ "$gout_segs" -gt $((gout * 2)) ] || fail "no TSO packets coalesced: $line"
	[ "$refused" -eq 0 ] && [ "$bad" -eq 0 ] || fail "refused or bad: $line"
	dev_in=$(sed -nE 's/.*device: ([0-9]+) datagrams in.*/\1/p' "$tmp/$1.out")
}

read_counters "$ns"
[ "$how" = whole ] || fail "TSO packets in were not taken whole: $line"
# 110 MiB each way; tern's own segments are at most 1448 bytes: at least 79,600.
[ "${out_segs:-0}" -ge 79600 ] || fail "the stack sent too few segments: $(cat "$tmp/nstat")"
# Whole: one stack datagram per device read (a few reads may not be TCP).
[ "$in_segs" -le "$dev_in" ] && [ "$in_segs" -lt $((out_segs / 2)) ] \
	|| fail "stack segments in $in_segs, device datagrams in $dev_in, out $out_segs"
say "took $gin TSO packets holding $gin_segs segments whole, coalesced $gout_segs segments" \
	"into $gout; the stack saw $in_segs datagrams in for $dev_in device reads"

# ---------------------------------------------------------------- --no-gro
# With a receive buffer of 4 MiB from the start (more than discard reads per turn).
start_serve "$ns-split" --no-gro --sysctl "net.ipv4.tcp_rmem=4096 4194304 8388608"
grep -q '^tern serve: offloads on .*cut into segments (--no-gro)' "$tmp/$ns-split.out" \
	|| fail "--no-gro not said: $(head -3 "$tmp/$ns-split.out")"
echo_mib "$ns-split" 10 || fail "10 MiB echo with --no-gro failed"
discard_mib "$ns-split" 64 || fail "64 MiB into discard with a 4 MiB window"
read_counters "$ns-split"
[ "$how" = cut ] || fail "TSO packets in were not cut: $line"
# 74 MiB in segments of at most 1448 bytes: at least 53,500, and several per read.
[ "$in_segs" -ge 53500 ] && [ "$in_segs" -gt $((dev_in * 2)) ] \
	|| fail "--no-gro: stack segments in $in_segs, device datagrams in $dev_in"
say "--no-gro: cut $gin TSO packets into $gin_segs segments; the stack saw $in_segs segments" \
	"in for $dev_in device reads"

# ---------------------------------------------------------------- offloads off
start_serve "$ns-plain" --no-offload
grep -q '^tern serve: offloads off (--no-offload)' "$tmp/$ns-plain.out" || fail "--no-offload not said"
if [ -n "$capturer" ]; then
	start_capture "$ns-plain" "$tmp/off.pcap"
fi
echo_mib "$ns-plain" 10 || fail "10 MiB echo without offloads failed"
stop_capture
if [ -n "$capturer" ]; then
	read -r from_k from_t n < <(longest "$tmp/off.pcap")
	[ "$n" -gt 100 ] && [ "$from_k" -le 1500 ] && [ "$from_t" -le 1500 ] \
		|| fail "without offloads: $n datagrams, longest $from_k from the kernel, $from_t from tern"
fi
stop_serve
! grep -q '^tern serve: offloads: ' "$tmp/$ns-plain.out" || fail "an offload summary without offloads"
! ip netns list | grep -q "^$ns" || fail "a namespace left behind"
say "ok"
