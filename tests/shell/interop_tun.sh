#!/usr/bin/env bash
# interop_tun: tern on a TUN device against the kernel's own clients (issue 8).
#
# `tern serve --netns NS` runs echo, discard, chargen and http on 192.0.2.2 inside
# a private network namespace whose only other address is the kernel's 192.0.2.1
# on the device; everything below runs there with `ip netns exec`:
#   - curl: generated bodies of several sizes (length and SHA-256 of the content),
#     keep-alive (two requests, one connection), HEAD, 404, and a server-side
#     close that leaves TIME-WAIT on tern's side;
#   - nc: echo of a few lines, with the client's half-close;
#   - python3 sockets: 10 MiB through echo (sent and returned, SHA-256 compared),
#     10 MiB downloaded from http (SHA-256 against the generator), a half-close
#     (shutdown(SHUT_WR), then read the rest), chargen's RFC 864 lines;
#   - `tern ss` and `tern nstat` through the control socket against the live
#     instance, with the kernel's own ss for the same connection as the mirror;
#   - an idle instance sleeps (no busy loop), SIGTERM removes the device, the
#     namespace and the control socket; --duration ends a run by itself; a
#     namespace that already exists is refused and left alone;
#   - `tern connect`: tern as the client of kernel nc servers, 1 MiB each way.
# Bad arguments are checked first (no root needed). Needs root, /dev/net/tun,
# ip, curl, nc and python3; exits 77 (skipped) without them. Every namespace and
# process it creates is removed on any exit.
set -euo pipefail
: "${TERN_BIN:?TERN_BIN must name the tern binary}"

TEST_NAME=interop_tun
# shellcheck source=../support/interop.sh
. "$(dirname "$0")/../support/interop.sh"

# ---------------------------------------------------------------- bad arguments
for bad in "--app nope" "--app http:0" "--app http:70000" "--port 0" "--port x" "--backlog -1" \
	"--addr 1.2.3" "--addr 127.0.0.1" "--peer 224.0.0.1" "--netns bad/name" "--dev ../x" \
	"--dev 0123456789abcdefg" "--duration 0" "--duration x" "--duration 1e300" "--sysctl foo" \
	"--mtu 100" "--count 0" "--app echo --app discard --port 5" "--app echo --app http:7" \
	"extra" "--nope"; do
	set +e
	# shellcheck disable=SC2086
	"$TERN_BIN" serve $bad >/dev/null 2>/tmp/interop_err.$$; rc=$?
	set -e
	lines=$(wc -l </tmp/interop_err.$$)
	msg=$(head -1 /tmp/interop_err.$$)
	rm -f /tmp/interop_err.$$
	[ "$rc" -eq 2 ] || fail "'serve $bad' exited $rc"
	[ "$lines" -eq 1 ] && grep -q '^tern serve: ' <<<"$msg" || fail "'serve $bad' gave no one-line error: $msg"
done

interop_require curl nc python3 sha256sum

ns="tern-it-$$"
interop_tmp
ctl="$tmp/ctl"
pid=""
held=""
cleanup() {
	[ -z "$held" ] || kill -KILL "$held" 2>/dev/null || true
	interop_stop "$pid"
	interop_del_ns "$ns" "$ns-dup" "$ns-dur" "$ns-cli"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

T="192.0.2.2"
inns() { ip netns exec "$ns" "$@"; }
tctl() { TERN_CTL="$ctl" "$TERN_BIN" "$@"; }

# Waits for the line "tern serve: ready" in file $1 from process $2.
wait_ready() {
	for _ in $(seq 100); do
		grep -q '^tern serve: ready' "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

"$TERN_BIN" serve --netns "$ns" --app echo --app discard --app chargen --app http \
	--ctl "$ctl" --pcap "$tmp/it.pcap" --duration 300 >"$tmp/serve.out" 2>&1 &
pid=$!
wait_ready "$tmp/serve.out" "$pid" || fail "tern serve did not start"
grep -q "^tern serve: device tern0 in netns $ns, tern $T, kernel 192.0.2.1" "$tmp/serve.out" \
	|| fail "no device line"
ip netns list | grep -q "^$ns" || fail "namespace $ns not there"
inns ip -o addr show dev tern0 | grep -q "inet 192.0.2.1 peer $T/32" || fail "kernel side not configured"
echo "interop_tun: tern serve up in $ns"

# ---------------------------------------------------------------- curl and http
# The generator of the http bodies (tools/app_http.c: app_http_body_byte).
gen_body() {
	python3 - "$1" <<'EOF'
import sys
chars = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
n = int(sys.argv[1])
line = lambda k: bytes(chars[(k + c) % 62] for c in range(63)) + b"\n"
lines = [line(k) for k in range(62)]
out = bytearray()
k = 0
while len(out) < n:
    out += lines[k % 62]
    k += 1
sys.stdout.buffer.write(bytes(out[:n]))
EOF
}
for size in 0 1 63 64 1000 65536 1000003; do
	inns curl -sS -m 20 -o "$tmp/body" "http://$T/$size" || fail "curl /$size failed"
	got=$(stat -c %s "$tmp/body")
	[ "$got" -eq "$size" ] || fail "curl /$size: $got bytes"
	want=$(gen_body "$size" | sha256sum | cut -d' ' -f1)
	have=$(sha256sum <"$tmp/body" | cut -d' ' -f1)
	[ "$want" = "$have" ] || fail "curl /$size: content differs from the generator"
done
head -c 64 "$tmp/body" | grep -qx '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0' \
	|| fail "body does not start with the first line"
echo "interop_tun: curl bodies ok"

# Keep-alive: two requests, one connection.
out=$(inns curl -sS -m 10 -o /dev/null -o /dev/null -w '%{num_connects} %{http_code}\n' \
	"http://$T/100" "http://$T/200")
[ "$(echo "$out" | tr '\n' ' ')" = "1 200 0 200 " ] || fail "keep-alive: curl says '$out'"
# HEAD and 404.
inns curl -sS -m 10 -I "http://$T/12345" >"$tmp/head" || fail "HEAD failed"
grep -q '^HTTP/1.1 200 OK' "$tmp/head" && grep -qi '^Content-Length: 12345' "$tmp/head" \
	|| fail "HEAD answer: $(cat "$tmp/head")"
code=$(inns curl -sS -m 10 -o /dev/null -w '%{http_code}' "http://$T/nope")
[ "$code" = 404 ] || fail "/nope gave $code"
# The server closes first ("Connection: close"): tern's side ends in TIME-WAIT.
inns curl -sS -m 10 -o /dev/null -H 'Connection: close' "http://$T/10" || fail "close request failed"
tctl ss -tanH state time-wait >"$tmp/tw"
grep -q "$T:80 *192.0.2.1:" "$tmp/tw" || fail "no TIME-WAIT on tern after it closed first: $(cat "$tmp/tw")"
echo "interop_tun: keep-alive, HEAD, 404, TIME-WAIT ok"

# ---------------------------------------------------------------- nc echo
printf 'one\ntwo\nthree\n' >"$tmp/lines"
inns nc -N -w 5 "$T" 7 <"$tmp/lines" >"$tmp/echoed" || fail "nc echo failed"
cmp -s "$tmp/lines" "$tmp/echoed" || fail "nc echo returned '$(cat "$tmp/echoed")'"
echo "interop_tun: nc echo ok"

# ---------------------------------------------------------------- python sockets
inns python3 - "$T" <<'EOF' || fail "python checks failed"
import hashlib, os, socket, sys, threading
T = sys.argv[1]
MiB = 1 << 20

def check(cond, what):
    if not cond:
        print("python: " + what, file=sys.stderr)
        sys.exit(1)

def read_all(s):
    parts = []
    while True:
        b = s.recv(1 << 16)
        if not b:
            return b"".join(parts)
        parts.append(b)

# 10 MiB up through echo and back, both directions at once.
data = os.urandom(10 * MiB)
s = socket.create_connection((T, 7), timeout=30)
box = {}
t = threading.Thread(target=lambda: box.update(got=read_all(s)))
t.start()
s.sendall(data)
s.shutdown(socket.SHUT_WR)
t.join()
s.close()
check(len(box["got"]) == len(data), "echo returned %d of %d bytes" % (len(box["got"]), len(data)))
check(hashlib.sha256(box["got"]).digest() == hashlib.sha256(data).digest(), "echo: SHA-256 differs")

# 10 MiB down from http, checked against the generator.
chars = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
period = b"".join(bytes(chars[(k + c) % 62] for c in range(63)) + b"\n" for k in range(62))
n = 10 * MiB
want = (period * (n // len(period) + 1))[:n]
s = socket.create_connection((T, 80), timeout=30)
s.sendall(b"GET /%d HTTP/1.1\r\nHost: tern\r\nConnection: close\r\n\r\n" % n)
resp = read_all(s)
s.close()
head, _, body = resp.partition(b"\r\n\r\n")
check(head.startswith(b"HTTP/1.1 200 OK"), "http: bad status %r" % head[:40])
check(len(body) == n, "http: %d of %d body bytes" % (len(body), n))
check(hashlib.sha256(body).digest() == hashlib.sha256(want).digest(), "http: SHA-256 differs")

# Half-close: the client finishes sending, then reads what is still coming.
s = socket.create_connection((T, 7), timeout=30)
msg = os.urandom(300000)
s.sendall(msg)
s.shutdown(socket.SHUT_WR)
back = read_all(s)
s.close()
check(back == msg, "half-close: %d of %d bytes back" % (len(back), len(msg)))

# 10 MiB into discard: the peer takes it all and closes after our FIN.
s = socket.create_connection((T, 9), timeout=30)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
check(read_all(s) == b"", "discard sent data")
s.close()

# chargen: RFC 864 lines.
s = socket.create_connection((T, 19), timeout=30)
got = b""
while len(got) < 74 * 3:
    got += s.recv(4096)
s.close()
line0 = bytes(32 + c % 95 for c in range(72)) + b"\r\n"
line1 = bytes(32 + (1 + c) % 95 for c in range(72)) + b"\r\n"
check(got[:148] == line0 + line1, "chargen: unexpected lines %r" % got[:80])
EOF
echo "interop_tun: python 10 MiB echo, 10 MiB http, half-close, discard, chargen ok"

# ---------------------------------------------------------------- ss and nstat
# A connection held open: tern's ss and the kernel's show the two ends of it.
# (ip netns exec, not the inns function, so that $! is python itself.)
ip netns exec "$ns" python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 7))
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
print(s.getsockname()[1], flush=True)
time.sleep(30)
' "$T" >"$tmp/held" 2>/dev/null &
held=$!
for _ in $(seq 100); do [ -s "$tmp/held" ] && break; sleep 0.05; done
cport=$(cat "$tmp/held")
[ -n "$cport" ] || fail "held connection did not start"
tctl ss -tnH state established >"$tmp/ss"
grep -Eq "^0 +0 +$T:7 +192\.0\.2\.1:$cport *$" "$tmp/ss" || fail "tern ss: $(cat "$tmp/ss")"
inns ss -tnH state established "( sport = :$cport )" >"$tmp/kss"
grep -Eq "^0 +0 +192\.0\.2\.1:$cport +$T:7 *$" "$tmp/kss" || fail "kernel ss: $(cat "$tmp/kss")"
tctl ss -ltnH >"$tmp/listen"
for p in 7 9 19 80; do
	grep -Eq "^LISTEN +0 +128 +0\.0\.0\.0:$p " "$tmp/listen" || fail "tern ss -ltn lacks :$p: $(cat "$tmp/listen")"
done
kill "$held" 2>/dev/null || true
wait "$held" 2>/dev/null || true
held=""
tctl nstat -saz TcpPassiveOpens TcpExtListenOverflows TcpInErrs TcpInSegs >"$tmp/nstat"
opens=$(awk '$1 == "TcpPassiveOpens" { print $2 }' "$tmp/nstat")
[ "${opens:-0}" -ge 17 ] || fail "TcpPassiveOpens ${opens:-?} (want >= 17): $(cat "$tmp/nstat")"
grep -Eq '^TcpExtListenOverflows +0 ' "$tmp/nstat" || fail "listen overflows: $(cat "$tmp/nstat")"
grep -Eq '^TcpInErrs +0 ' "$tmp/nstat" || fail "TcpInErrs: $(cat "$tmp/nstat")"
tctl sysctl net.ipv4.tcp_syncookies | grep -q '^net.ipv4.tcp_syncookies = 1$' || fail "sysctl through ctl"
echo "interop_tun: ss, nstat, sysctl through the control socket ok"

# ---------------------------------------------------------------- idle and exit
# Idle, the process sleeps: well under 5% of a CPU over a second.
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
a=$(ticks); sleep 1; b=$(ticks)
hz=$(getconf CLK_TCK)
[ $((b - a)) -le $((hz / 20)) ] || fail "idle instance used $((b - a)) of $hz ticks in 1 s"

kill -TERM "$pid"
set +e
wait "$pid"; rc=$?
set -e
pid=""
[ "$rc" -eq 0 ] || fail "tern serve exited $rc after SIGTERM"
grep -q '^tern serve: stopped by signal 15' "$tmp/serve.out" || fail "no stop message"
! ip netns list | grep -q "^$ns" || fail "namespace $ns left behind"
[ ! -e "$ctl" ] || fail "control socket left behind"
if command -v tshark >/dev/null 2>&1; then
	n=$(tshark -r "$tmp/it.pcap" 2>/dev/null | wc -l)
	[ "$n" -gt 1000 ] || fail "capture holds $n packets"
	m=$(tshark -r "$tmp/it.pcap" -Y '_ws.malformed' 2>/dev/null | wc -l)
	[ "$m" -eq 0 ] || fail "capture has $m malformed packets"
fi
echo "interop_tun: SIGTERM cleanup ok"

# --duration ends the run by itself, and removes everything.
"$TERN_BIN" serve --netns "$ns-dur" --ctl none --duration 0.5 >"$tmp/dur.out" 2>&1 \
	|| fail "--duration run failed: $(cat "$tmp/dur.out")"
! ip netns list | grep -q "^$ns-dur" || fail "namespace $ns-dur left behind"
# A namespace that exists already is refused, and not removed.
ip netns add "$ns-dup"
set +e
"$TERN_BIN" serve --netns "$ns-dup" --ctl none --duration 5 >/dev/null 2>"$tmp/dup.err"; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "an existing namespace was accepted"
grep -q "^tern serve: cannot create network namespace $ns-dup" "$tmp/dup.err" || fail "dup: $(cat "$tmp/dup.err")"
ip netns list | grep -q "^$ns-dup" || fail "an existing namespace was removed"
ip netns del "$ns-dup"
echo "interop_tun: --duration and an existing namespace ok"

# ---------------------------------------------------------------- tern connect
# tern as the client: 1 MiB to a kernel nc (content checked), then 1 MiB back
# from a python3 server; in the first the kernel half-closes first, in the second
# tern does.
n=1048576
"$TERN_BIN" connect --netns "$ns-cli" --ctl none --port 5001 --send "$n" --duration 60 \
	--exec "nc -l -N 192.0.2.1 5001 >$tmp/to-kernel" >"$tmp/c1.out" 2>&1 || fail "connect (send): $(cat "$tmp/c1.out")"
[ "$(gen_body "$n" | sha256sum)" = "$(sha256sum <"$tmp/to-kernel")" ] || fail "connect: the kernel got other bytes"
head -c "$n" /dev/urandom >"$tmp/from-kernel"
# Not nc for this one: netcat-openbsd stops sending once it reads the peer's FIN,
# and tern, sending nothing, half-closes at once.
cat >"$tmp/server.py" <<'EOF'
import socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2])))
ls.listen(1)
c, _ = ls.accept()
c.sendall(open(sys.argv[3], "rb").read())
c.shutdown(socket.SHUT_WR)
while c.recv(65536):
    pass
c.close()
EOF
"$TERN_BIN" connect --netns "$ns-cli" --ctl none --port 5002 --output "$tmp/got" --duration 60 \
	--exec "python3 $tmp/server.py 192.0.2.1 5002 $tmp/from-kernel" >"$tmp/c2.out" 2>&1 \
	|| fail "connect (recv): $(cat "$tmp/c2.out")"
cmp -s "$tmp/from-kernel" "$tmp/got" || fail "connect: tern got other bytes"
! ip netns list | grep -q "^$ns-cli" || fail "namespace $ns-cli left behind"
echo "interop_tun: ok"
