#!/usr/bin/env bash
# interop_kernel: tern against the Linux kernel's TCP on a TUN device, the rest of
# issue 8's interop list (tests/shell/interop_tun.sh has the first part).
#
# Each `tern serve` or `tern connect` runs in a private namespace it creates
# (tern 192.0.2.2, the kernel 192.0.2.1); the kernel's side runs there with
# `ip netns exec`:
#   1. 100 MiB each way with SHA-256 compared: a python3 client through tern's
#      echo (both directions on one connection), and `tern connect` against a
#      python3 server (tern's bytes checked against the generator, the server's
#      random bytes hashed as tern writes them);
#   2. RST both ways: the kernel client closes with SO_LINGER 0 and tern's echo
#      sees ECONNRESET (its log, TcpEstabResets); `--app reset` aborts after
#      the request and the kernel client gets ECONNRESET (TcpExtTCPAbortOnData);
#   3. close with unread data: `--app unread` closes with the request unread,
#      tern sends RST, the kernel client gets ECONNRESET (TcpExtTCPAbortOnClose);
#   4. the accept queue overflowing under kernel clients: `--backlog 2
#      --hold-accept`, eight clients; `tern ss -lnt` shows Recv-Q 3, Send-Q 2,
#      ListenOverflows rises, the capture holds SYNs sent more than once from
#      the same port, and every client is served once the hold ends;
#   5. a SYN flood (20,000 spoofed SYNs from a raw socket, sources inside
#      192.0.2.0/24 only) with tcp_syncookies=1 and --backlog 16 while curl
#      fetches pages: every fetch succeeds, SyncookiesSent and SyncookiesRecv;
#   6. `ss -tan` column for column: the same full accept queue built on the
#      kernel (a python3 listener, backlog 2, never accepting) and on tern;
#      the kernel's ss and tern ss agree on every line once addresses and ports
#      are normalised, for the listener's side and for the clients' side;
#   7. handshake options: in tern's capture the kernel's SYN carries MSS,
#      SACK-permitted, timestamps and window scale, and tern's SYN-ACK answers
#      with all four, echoing the SYN's TSval.
# Needs root, /dev/net/tun, ip, curl and python3; exits 77 (skipped) without them.
# Every namespace and process it creates is removed on any exit.
set -euo pipefail
: "${TERN_BIN:?TERN_BIN must name the tern binary}"

TEST_NAME=interop_kernel
# shellcheck source=../support/interop.sh
. "$(dirname "$0")/../support/interop.sh"

# ---------------------------------------------------------------- bad arguments
for bad in "--hold-accept -1" "--hold-accept x" "--hold-accept 1e9" "--app resetx"; do
	set +e
	# shellcheck disable=SC2086
	"$TERN_BIN" serve $bad >/dev/null 2>/tmp/interop_kernel_err.$$; rc=$?
	set -e
	msg=$(cat /tmp/interop_kernel_err.$$)
	rm -f /tmp/interop_kernel_err.$$
	[ "$rc" -eq 2 ] || fail "'serve $bad' exited $rc"
	[ "$(wc -l <<<"$msg")" -eq 1 ] && grep -q '^tern serve: ' <<<"$msg" || fail "'serve $bad': $msg"
done
"$TERN_BIN" serve --help | grep -q -- '--hold-accept' || fail "--help lacks --hold-accept"

interop_require curl python3 sha256sum mkfifo

started=$(date +%s)
ns="tern-ik-$$"
interop_tmp
pids=()
cleanup() {
	interop_stop "${pids[@]}"
	interop_del_ns "$ns-a" "$ns-b" "$ns-big" "$ns-c"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

T="192.0.2.2"
K="192.0.2.1"

# Starts `tern serve ARGS...` in the background with its output in $tmp/$1.out;
# its pid is then in $served.
serve() {
	local name=$1
	shift
	"$TERN_BIN" serve "$@" >"$tmp/$name.out" 2>&1 &
	served=$!
	pids+=("$served")
	for _ in $(seq 100); do
		grep -q '^tern serve: ready' "$tmp/$name.out" 2>/dev/null && return 0
		kill -0 "$served" 2>/dev/null || fail "tern serve ($name) did not start"
		sleep 0.05
	done
	fail "tern serve ($name) not ready"
}
# Stops it with SIGTERM; it must exit 0 and leave no namespace.
stop() {
	local p=$1 netns=$2 rc
	kill -TERM "$p"
	set +e
	wait "$p"; rc=$?
	set -e
	[ "$rc" -eq 0 ] || fail "tern serve in $netns exited $rc"
	! ip netns list | grep -q "^$netns\b" || fail "namespace $netns left behind"
}
# nstat value of counter $2 from control socket $1.
counter() {
	TERN_CTL="$1" "$TERN_BIN" nstat -saz "$2" | awk -v n="$2" '$1 == n { print $2 }'
}

# Reads a pcap (LINKTYPE_RAW, as tern serve --pcap writes) and prints one line per
# TCP segment: src sport dst dport flags seq ack opts, where opts is a
# comma-separated list of mss=N, sack, ts=VAL/ECR, ws=N (or "-").
cat >"$tmp/pcap.py" <<'EOF'
import socket, struct, sys
data = open(sys.argv[1], "rb").read()
magic = struct.unpack("<I", data[:4])[0]
if magic in (0xa1b2c3d4, 0xa1b23c4d):
    e = "<"
else:
    e = ">"
linktype = struct.unpack(e + "I", data[20:24])[0]
if linktype not in (101, 228, 12):
    sys.exit("pcap: link type %d, not raw IP" % linktype)
off = 24
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if len(pkt) < 40 or pkt[0] >> 4 != 4 or pkt[9] != 6:
        continue
    ihl = (pkt[0] & 15) * 4
    src, dst = socket.inet_ntoa(pkt[12:16]), socket.inet_ntoa(pkt[16:20])
    t = pkt[ihl:]
    sport, dport, seq, ack, doff, flags = struct.unpack("!HHIIBB", t[:14])
    hl = (doff >> 4) * 4
    o, opts, i = t[20:hl], [], 0
    while i < len(o):
        k = o[i]
        if k == 0:
            break
        if k == 1:
            i += 1
            continue
        if i + 1 >= len(o) or o[i + 1] < 2:
            break
        v = o[i + 2:i + o[i + 1]]
        if k == 2 and len(v) == 2:
            opts.append("mss=%d" % struct.unpack("!H", v)[0])
        elif k == 3 and len(v) == 1:
            opts.append("ws=%d" % v[0])
        elif k == 4:
            opts.append("sack")
        elif k == 8 and len(v) == 8:
            opts.append("ts=%d/%d" % struct.unpack("!II", v))
        i += o[i + 1]
    fl = "".join(c for c, b in zip("FSRPAU", (1, 2, 4, 8, 16, 32)) if flags & b)
    print(src, sport, dst, dport, fl, seq, ack, ",".join(opts) or "-")
EOF
segments() { python3 "$tmp/pcap.py" "$1"; }

# ================================================================ instance a
# echo, http, reset and unread; backlog 16 and cookies on for the flood.
serve a --netns "$ns-a" --app echo --app http --app reset --app unread --backlog 16 \
	--sysctl net.ipv4.tcp_syncookies=1 --ctl "$tmp/a.ctl" --pcap "$tmp/a.pcap" --duration 120
pa=$served
actl="$tmp/a.ctl"
ina() { ip netns exec "$ns-a" "$@"; }

# ---------------------------------------------------------------- 7: handshake
# One short echo exchange; its handshake is checked in the capture at the end.
hs_port=$(ina python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=10)
s.sendall(b"options\n")
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(100)
    if not b:
        break
    got += b
assert got == b"options\n", got
print(s.getsockname()[1])
' "$T") || fail "echo for the handshake check failed"

# ---------------------------------------------------------------- 2, 3: resets
eresets0=$(counter "$actl" TcpEstabResets)
ondata0=$(counter "$actl" TcpExtTCPAbortOnData)
onclose0=$(counter "$actl" TcpExtTCPAbortOnClose)
outrsts0=$(counter "$actl" TcpOutRsts)

# 2a: the kernel aborts. The echo answer first, so that tern's application has
# the connection (accepted and read) when the RST comes.
ina python3 -c '
import socket, struct, sys
s = socket.create_connection((sys.argv[1], 7), timeout=10)
s.sendall(b"hello\n")
assert s.recv(100) == b"hello\n"
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
' "$T" || fail "linger-0 client failed"
# Up to ten seconds: a sanitizer build on a loaded machine can be slow to log.
for _ in $(seq 200); do
	grep -q '^tern serve: echo connection [0-9]* failed: ECONNRESET (Connection reset by peer) after 6 bytes in, 6 out$' \
		"$tmp/a.out" && break
	sleep 0.05
done
grep -q '^tern serve: echo connection [0-9]* failed: ECONNRESET' "$tmp/a.out" \
	|| fail "tern's echo did not see ECONNRESET after the kernel's RST"
eresets1=$(counter "$actl" TcpEstabResets)
[ "$eresets1" -eq $((eresets0 + 1)) ] || fail "TcpEstabResets $eresets0 -> $eresets1 after the kernel's RST"
[ "$(counter "$actl" TcpOutRsts)" -eq "$outrsts0" ] || fail "tern sent an RST when the kernel aborted"
say "kernel RST (SO_LINGER 0): tern's echo saw ECONNRESET, TcpEstabResets +1"

# 2b and 3: tern aborts; the kernel client sees ECONNRESET on its next read.
cat >"$tmp/aborted.py" <<'EOF'
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection((host, port), timeout=10)
s.sendall(b"x" * n)
try:
    got = s.recv(100)
except ConnectionResetError:
    print("ECONNRESET")
    sys.exit(0)
print("read %r instead of ECONNRESET" % got)
sys.exit(1)
EOF
# TcpOutRsts must rise; by exactly one only if nothing crossed the RST: on a
# loaded machine the kernel can retransmit its request before tern's RST reaches
# it, and tern rightly answers that segment with a second RST (spec §7.1).
out=$(ina python3 "$tmp/aborted.py" "$T" 10 100) || fail "reset app: $out"
[ "$out" = ECONNRESET ] || fail "reset app: $out"
[ "$(counter "$actl" TcpExtTCPAbortOnData)" -eq $((ondata0 + 1)) ] || fail "TcpExtTCPAbortOnData did not rise by 1"
outrsts1=$(counter "$actl" TcpOutRsts)
[ "$outrsts1" -gt "$outrsts0" ] || fail "TcpOutRsts did not rise (reset)"
say "tern RST (SO_LINGER 0): the kernel client got ECONNRESET, TcpExtTCPAbortOnData +1"

out=$(ina python3 "$tmp/aborted.py" "$T" 12 20000) || fail "unread app: $out"
[ "$out" = ECONNRESET ] || fail "unread app: $out"
[ "$(counter "$actl" TcpExtTCPAbortOnClose)" -eq $((onclose0 + 1)) ] || fail "TcpExtTCPAbortOnClose did not rise by 1"
[ "$(counter "$actl" TcpOutRsts)" -gt "$outrsts1" ] || fail "TcpOutRsts did not rise (unread)"
[ "$(counter "$actl" TcpExtTCPAbortOnData)" -eq $((ondata0 + 1)) ] || fail "unread counted as TCPAbortOnData"
say "close with unread data: tern sent RST, the kernel client got ECONNRESET, TcpExtTCPAbortOnClose +1"

# ---------------------------------------------------------------- 5: SYN flood
# SYNs from random sources in 192.0.2.10-250 (the namespace's own TEST-NET-1
# subnet, routed nowhere but the device; tern's SYN-ACKs to them are dropped by
# the kernel, which does not forward), about 10,000 a second, while curl fetches
# pages from the same listener. The flood goes on until the fetches are done (a
# stop file), at most 600,000 SYNs (a minute), so a slow host cannot end it first.
cat >"$tmp/flood.py" <<'EOF'
import os, random, socket, struct, sys, time
dst, port, count, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
rs = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
rs.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
d = socket.inet_aton(dst)
rnd = random.Random(8)
t0 = time.time()
for i in range(count):
    src = socket.inet_aton("192.0.2.%d" % rnd.randint(10, 250))
    tcp = struct.pack("!HHIIBBHHHBBH", rnd.randint(1024, 65535), port, rnd.getrandbits(32), 0,
                      6 << 4, 0x02, 64240, 0, 0, 2, 4, 1460)
    c = csum(src + d + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xffff, 0, 64, 6, 0, src, d)
    for attempt in range(1000):
        try:
            rs.sendto(ip + tcp, (dst, 0))
            break
        except OSError:          # ENOBUFS: the device's queue is full
            time.sleep(0.001)
    else:
        sys.exit("flood: cannot send")
    if i % 500 == 499:           # about 10,000 a second
        if os.path.exists(stop):
            break
        time.sleep(max(0.0, t0 + (i + 1) / 10000 - time.time()))
print("%d SYNs in %.2f s" % (i + 1, time.time() - t0))
EOF
ip netns exec "$ns-a" python3 "$tmp/flood.py" "$T" 80 600000 "$tmp/flood.stop" >"$tmp/flood.out" 2>&1 &
flood=$!
pids+=("$flood")
for _ in $(seq 100); do
	[ "$(counter "$actl" TcpExtSyncookiesSent)" -gt 0 ] && break
	sleep 0.02
done
[ "$(counter "$actl" TcpExtSyncookiesSent)" -gt 0 ] || fail "no SYN cookies under the flood"
ok=0
for i in $(seq 10); do
	code=$(ina curl -sS -m 5 -o "$tmp/flood-body" -w '%{http_code}' "http://$T/$((1000 + i))") \
		|| fail "curl $i failed during the SYN flood"
	[ "$code" = 200 ] && [ "$(stat -c %s "$tmp/flood-body")" -eq $((1000 + i)) ] || fail "curl $i: $code"
	ok=$((ok + 1))
done
kill -0 "$flood" 2>/dev/null || fail "the flood ended before the fetches did: $(cat "$tmp/flood.out")"
touch "$tmp/flood.stop"
wait "$flood" || fail "flood: $(cat "$tmp/flood.out")"
sent=$(counter "$actl" TcpExtSyncookiesSent)
recv=$(counter "$actl" TcpExtSyncookiesRecv)
synrecv=$(TERN_CTL="$actl" "$TERN_BIN" ss -tanH state syn-recv '( sport = :80 )' | wc -l)
[ "$sent" -gt 1000 ] || fail "SyncookiesSent $sent"
# The SYN queue is full for the whole flood (its entries wait for ACKs that never
# come), so each curl SYN was answered with a cookie, and each ACK validated.
[ "$recv" -ge "$ok" ] || fail "SyncookiesRecv $recv for $ok fetches"
[ "$(counter "$actl" TcpExtSyncookiesFailed)" -eq 0 ] || fail "SyncookiesFailed"
# Linux 6.13+: backlog + 1 requests in the SYN queue (tern models that).
[ "$synrecv" -eq 17 ] || fail "$synrecv SYN-RECV entries with backlog 16"
say "SYN flood: $(cat "$tmp/flood.out"), $ok/$ok curl fetches ok, SyncookiesSent $sent, SyncookiesRecv $recv"

stop "$pa" "$ns-a"
grep -q '^tern serve: .* 1 reset by the peer)' "$tmp/a.out" || fail "summary lacks the reset: $(tail -1 "$tmp/a.out")"

# ---------------------------------------------------------------- 7 (capture)
segments "$tmp/a.pcap" >"$tmp/a.seg"
# (By the whole 4-tuple: the flood's random source ports may include this one.)
conn() { awk -v k="$K" -v p="$hs_port" '($1 == k && $2 == p && $4 == 7) || ($3 == k && $4 == p && $2 == 7)' "$tmp/a.seg"; }
syn=$(conn | awk '$5 == "S"' | head -1)
synack=$(conn | awk '$5 == "SA"' | head -1)
[ -n "$syn" ] && [ -n "$synack" ] || fail "handshake of port $hs_port not in the capture"
python3 - "$syn" "$synack" <<'EOF' || fail "handshake options: SYN [$syn] SYN-ACK [$synack]"
import sys
def opts(line):
    o = {}
    for kv in line.split()[7].split(","):
        k, _, v = kv.partition("=")
        o[k] = v
    return o
syn, sa = opts(sys.argv[1]), opts(sys.argv[2])
for k in ("mss", "sack", "ts", "ws"):
    assert k in syn, "kernel SYN lacks " + k
    assert k in sa, "tern SYN-ACK lacks " + k
tsval, tsecr = syn["ts"].split("/")
assert tsecr == "0", "SYN TSecr " + tsecr
assert sa["ts"].split("/")[1] == tsval, "SYN-ACK TSecr %s, SYN TSval %s" % (sa["ts"], tsval)
assert sa["mss"] == "1460", "SYN-ACK MSS " + sa["mss"]
assert 0 <= int(sa["ws"]) <= 14 and 0 <= int(syn["ws"]) <= 14
EOF
# From then on both sides carry timestamps on every segment but RSTs (RFC 7323 §3.2).
conn | awk '$5 !~ /R/ && $8 !~ /ts=/' >"$tmp/nots"
[ ! -s "$tmp/nots" ] || fail "segments without timestamps: $(head -3 "$tmp/nots")"
say "handshake: kernel SYN [${syn#* * * * }], tern SYN-ACK [${synack#* * * * }]"

# ================================================================ instance b
# Backlog 2, accept() held: the accept queue fills and overflows under eight
# kernel clients; the same is then built on the kernel for ss to compare. Both
# listeners are 0.0.0.0:7 (tern's echo; a kernel python3 listener in the same
# namespace, reached at 192.0.2.1), so every address in both outputs has the
# same width and ss's column layout must come out the same too.
serve b --netns "$ns-b" --app echo --backlog 2 --hold-accept 4 --ctl "$tmp/b.ctl" \
	--pcap "$tmp/b.pcap" --duration 60
pb=$served
grep -q '^tern serve: holding accept() for 4 s' "$tmp/b.out" || fail "no hold line"
cat >"$tmp/queue.py" <<'EOF'
import os, select, socket, subprocess, sys, time
T, K, out, tern = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
env = dict(os.environ, TERN_CTL=sys.argv[5])

def save(name, argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if r.returncode:
        sys.exit("%s: %s" % (argv, r.stderr))
    open(os.path.join(out, name), "w").write(r.stdout)
    return r.stdout

def nstat(name):
    o = save("nstat", [tern, "nstat", "-saz", name], env=env)
    return int([l.split()[1] for l in o.splitlines() if l.split()[:1] == [name]][0])

def fill(host):
    # Eight non-blocking connects, 50 ms apart: one handshake at a time, so the
    # outcome does not depend on how they interleave. Those that complete send
    # 8 bytes, which wait unread in the accept queue.
    cs = []
    for i in range(8):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect((host, 7))
        except BlockingIOError:
            pass
        cs.append(s)
        time.sleep(0.05)
    time.sleep(0.2)
    sent = set()
    for i, s in enumerate(cs):
        _, w, _ = select.select([], [s], [], 0)
        if w and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            s.send(b"hello %d\n" % i)
            sent.add(i)
    time.sleep(0.3)          # their ACKs, delayed or not
    return cs, sent

# tern: the accept queue is held.
tcs, tsent = fill(T)
save("t_srv", [tern, "ss", "-tan", "( sport = :7 )"], env=env)
save("t_lst", [tern, "ss", "-lnt"], env=env)
save("t_cli", ["ss", "-tan", "dst", T])
over1 = nstat("TcpExtListenOverflows")

# The kernel: a listener with backlog 2 that never accepts.
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", 7))
ls.listen(2)
kcs, ksent = fill(K)
save("k_srv", ["ss", "-tan", "( sport = :7 )"])
save("k_lst", ["ss", "-lnt"])
save("k_cli", ["ss", "-tan", "dst", K, "and", "dport", "=", ":7"])
for s in kcs:
    s.close()
ls.close()

# tern's clients retransmit their SYNs into the full queue.
t0 = time.time()
over2 = over1
while over2 <= over1 and time.time() - t0 < 3:
    time.sleep(0.1)
    over2 = nstat("TcpExtListenOverflows")

# Once the hold ends every client is served, the late ones once a retransmitted
# SYN finds room (1 s apart on Linux 6.x, 1, 2, 4, 8 s before that).
got = {}
t0 = time.time()
while len(got) < 8 and time.time() - t0 < 20:
    for i, s in enumerate(tcs):
        if i in got:
            continue
        if i not in tsent:
            _, w, _ = select.select([], [s], [], 0)
            if not w:
                continue
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                sys.exit("client %d failed to connect" % i)
            s.send(b"hello %d\n" % i)
            tsent.add(i)
        try:
            b = s.recv(100)
        except BlockingIOError:
            continue
        if b != b"hello %d\n" % i:
            sys.exit("client %d got %r" % (i, b))
        got[i] = time.time() - t0
    time.sleep(0.02)
print("%d %d %d %s" % (over1, over2, len(got), ",".join("%d" % i for i in sorted(got)) or "-"))
EOF
res=$(ip netns exec "$ns-b" python3 "$tmp/queue.py" "$T" "$K" "$tmp" "$TERN_BIN" "$tmp/b.ctl") \
	|| fail "accept-queue clients: $res"
read -r over1 over2 nserved served_list <<<"$res"

# ---------------------------------------------------------------- 4: overflow
grep -Eq '^LISTEN +3 +2 +0\.0\.0\.0:7 +0\.0\.0\.0:\* *$' "$tmp/t_lst" \
	|| fail "tern ss -lnt with a full queue: $(cat "$tmp/t_lst")"
[ "$over1" -ge 5 ] || fail "ListenOverflows $over1 after five clients met a full queue"
[ "$over2" -gt "$over1" ] || fail "ListenOverflows did not rise with the SYN retransmits ($over1, $over2)"
[ "$nserved" -eq 8 ] || fail "$nserved of 8 clients served after the hold ($served_list)"
grep -q '^tern serve: accepting$' "$tmp/b.out" || fail "the hold did not end"
stop "$pb" "$ns-b"
grep -Eq '^tern serve: 8 connections ' "$tmp/b.out" || fail "summary: $(tail -1 "$tmp/b.out")"
# In the capture: clients whose SYN was sent more than once from the same port.
retrans=$(segments "$tmp/b.pcap" | awk -v k="$K" '$1 == k && $4 == 7 && $5 == "S" { n[$2]++ }
	END { for (p in n) if (n[p] > 1) r++; print r + 0 }')
[ "$retrans" -ge 5 ] || fail "$retrans clients retransmitted their SYN in the capture"
say "accept queue: Recv-Q 3 Send-Q 2, ListenOverflows $over1 -> $over2, $retrans clients' SYNs retransmitted, 8/8 served after the hold"

# ---------------------------------------------------------------- 6: ss -tan
# The same situation on both stacks, the same ss output once addresses and ports
# are normalised (data lines sorted: ss lists sockets in table order).
norm() {
	sed -E 's/[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/ADDR/g; s/:[0-9]+/:PORT/g' "$1" |
		{ IFS= read -r head; printf '%s\n' "$head"; sort; }
}
for pair in srv lst cli; do
	norm "$tmp/t_$pair" >"$tmp/t_$pair.n"
	norm "$tmp/k_$pair" >"$tmp/k_$pair.n"
	diff -u "$tmp/k_$pair.n" "$tmp/t_$pair.n" >"$tmp/$pair.diff" \
		|| fail "ss ($pair): kernel vs tern differ: $(cat "$tmp/$pair.diff")"
done
[ "$(grep -Ec '^ESTAB +8 +0 ' "$tmp/t_srv.n")" -eq 3 ] && grep -Eq '^LISTEN +3 +2 ' "$tmp/t_srv.n" \
	|| fail "the compared situation is not a full queue: $(cat "$tmp/t_srv")"
[ "$(grep -c '^SYN-SENT ' "$tmp/t_cli.n")" -eq 5 ] || fail "clients' side: $(cat "$tmp/t_cli")"
say "ss -tan: kernel and tern agree column for column (listener, 3 queued, 5 clients in SYN-SENT)"

# ================================================================ 1: 100 MiB
# Kernel client through tern's echo: 100 MiB up and the same 100 MiB back, at once.
serve big --netns "$ns-big" --app echo --ctl none --duration 60
pbig=$served
ip netns exec "$ns-big" python3 - "$T" <<'EOF' || fail "100 MiB through echo"
import hashlib, random, socket, sys, threading
n = 100 << 20
data = random.Random(1).randbytes(n)
s = socket.create_connection((sys.argv[1], 7), timeout=30)
h, box = hashlib.sha256(), {"n": 0}
def reader():
    while True:
        b = s.recv(1 << 20)
        if not b:
            return
        h.update(b)
        box["n"] += len(b)
t = threading.Thread(target=reader)
t.start()
s.sendall(data)
s.shutdown(socket.SHUT_WR)
t.join()
s.close()
if box["n"] != n or h.digest() != hashlib.sha256(data).digest():
    sys.exit("echo returned %d of %d bytes, SHA-256 %s" % (box["n"], n, h.hexdigest()))
EOF
stop "$pbig" "$ns-big"
say "100 MiB each way through tern's echo: SHA-256 equal"

# tern connect against a kernel python3 server: tern sends 100 MiB of the http
# pattern (the server checks its SHA-256), the server sends 100 MiB of its own
# (hashed as tern writes them into a FIFO), both directions at once.
cat >"$tmp/bigserver.py" <<'EOF'
import hashlib, random, socket, sys, threading
host, port, res = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n = 100 << 20
chars = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
period = b"".join(bytes(chars[(k + c) % 62] for c in range(63)) + b"\n" for k in range(62))
want = hashlib.sha256((period * (n // len(period) + 1))[:n]).hexdigest()
mine = random.Random(2).randbytes(n)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((host, port))
ls.listen(1)
c, _ = ls.accept()
def sender():
    c.sendall(mine)
    c.shutdown(socket.SHUT_WR)
t = threading.Thread(target=sender)
t.start()
h, got = hashlib.sha256(), 0
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    h.update(b)
    got += len(b)
t.join()
c.close()
open(res, "w").write("%d %s %s\n" % (got, h.hexdigest() == want, hashlib.sha256(mine).hexdigest()))
EOF
mkfifo "$tmp/fifo"
sha256sum <"$tmp/fifo" >"$tmp/tern-got.sha" &
hasher=$!
pids+=("$hasher")
"$TERN_BIN" connect --netns "$ns-c" --ctl none --port 5003 --send $((100 << 20)) --output "$tmp/fifo" \
	--duration 60 --exec "python3 $tmp/bigserver.py $K 5003 $tmp/server.res" >"$tmp/connect.out" 2>&1 \
	|| fail "tern connect 100 MiB: $(cat "$tmp/connect.out")"
wait "$hasher" || fail "hashing what tern received"
! ip netns list | grep -q "^$ns-c\b" || fail "namespace $ns-c left behind"
[ -s "$tmp/server.res" ] || fail "the kernel server left no result"
read -r sgot sok smine <"$tmp/server.res"
[ "$sgot" -eq $((100 << 20)) ] && [ "$sok" = True ] || fail "kernel server got $sgot bytes, SHA-256 ok: $sok"
[ "$(cut -d' ' -f1 "$tmp/tern-got.sha")" = "$smine" ] || fail "tern received other bytes than the server sent"
grep -q "^tern connect: sent $((100 << 20)) bytes, received $((100 << 20)) bytes" "$tmp/connect.out" \
	|| fail "connect: $(cat "$tmp/connect.out")"
say "100 MiB each way, tern connect against a kernel server: SHA-256 equal"

say "ok ($(($(date +%s) - started)) s)"
