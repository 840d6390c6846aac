#!/usr/bin/env bash
# recovery-vs-kernel.sh: one impaired-link bulk transfer, tern against the kernel
# (issue 7's last point). Each configuration moves BYTES over one TCP connection
# through the same impaired path and reports the sender's recovery counters:
#
#   tern  up    kernel client (python3) -> tern discard (9)      sender: kernel (client ns)
#   tern  down  tern http GET /BYTES    -> kernel client          sender: tern (tern nstat)
#   kern  up    kernel client -> python3 discard server           sender: kernel (client ns)
#   kern  down  python3 server sends BYTES -> kernel client       sender: kernel (server ns)
#
# The impairment is NOT netem: this host's kernel has no sch_netem (and no modprobe),
# so a userspace netem (python3, below) relays IP datagrams between two TUN devices,
# imp0 in the client namespace and imp1 in the server's (tern's namespace, which then
# forwards to tern0, or the kernel server's namespace). It follows netem's rules in
# BOTH directions, independently: loss first, then `reorder P%` uncorrelated (such a packet
# skips the delay and the rate queue, as netem's reorder does), then
# time_to_send = max(now + delay, previous) + len*8/rate, 1000-packet limit.
#
# usage: scripts/recovery-vs-kernel.sh [-r RUNS] [-b BYTES] [-d DELAY_MS] [-l LOSS%]
#            [-o REORDER%] [-R RATE_MBIT] [-t TERN_BINARY] [-k] [-T]
#   -k only the kernel<->kernel runs, -T only the tern runs
#   defaults: 3 runs, 4 MiB, 20 ms one way (RTT 40 ms), 2 % loss, 2 % reorder, 50 Mbit/s
set -euo pipefail

RUNS=3 BYTES=$((4 << 20)) DELAY=20 LOSS=2 REORDER=2 RATE=50
HERE=$(cd "$(dirname "$0")/.." && pwd)
TERN=$HERE/build/tern
DO_TERN=1 DO_KERN=1
while getopts "r:b:d:l:o:R:t:kTh" o; do
	case $o in
	r) RUNS=$OPTARG ;; b) BYTES=$OPTARG ;; d) DELAY=$OPTARG ;; l) LOSS=$OPTARG ;;
	o) REORDER=$OPTARG ;; R) RATE=$OPTARG ;; t) TERN=$OPTARG ;;
	k) DO_TERN=0 ;; T) DO_KERN=0 ;;
	*) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
[ -x "$TERN" ] || { echo "no tern binary at $TERN (cmake -S . -B build-cmp && cmake --build build-cmp)" >&2; exit 1; }

PFX=rvk$$
NSK=${PFX}k NST=${PFX}t NSS=${PFX}s
TMP=$(mktemp -d /tmp/rvk.XXXXXX)
PIDS=()

stop_pids() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	PIDS=()
}
del_ns() {
	local n
	for n in $NSK $NST $NSS; do
		if [ -e /run/netns/$n ]; then ip netns pids $n 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true; ip netns del $n 2>/dev/null || true; fi
	done
}
cleanup() { stop_pids; del_ns; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ helpers
cat >"$TMP/netem.py" <<'PY'
# userspace netem between two TUN devices in two namespaces
import ctypes, fcntl, heapq, os, random, select, signal, struct, sys, time
nsa, deva, nsb, devb, delay, loss, reorder, rate, seed, readyf = sys.argv[1:11]
delay = float(delay) / 1e3; loss = float(loss) / 100; reorder = float(reorder) / 100
rate = float(rate) * 1e6; LIMIT = 1000; CORR = 0.0
random.seed(int(seed))
libc = ctypes.CDLL(None, use_errno=True)
def open_tun(ns, dev):
    f = os.open("/run/netns/" + ns, os.O_RDONLY)
    if libc.setns(f, 0x40000000) != 0:
        raise OSError(ctypes.get_errno(), "setns " + ns)
    os.close(f)
    t = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(t, 0x400454ca, struct.pack("16sH", dev.encode(), 0x0001 | 0x1000))
    return t
fa, fb = open_tun(nsa, deva), open_tun(nsb, devb)
out = {fa: fb, fb: fa}
name = {fa: "a>b", fb: "b>a"}
last = {fa: 0.0, fb: 0.0}
rlast = {fa: 0.0, fb: 0.0}
st = {fa: [0, 0, 0, 0], fb: [0, 0, 0, 0]}     # in, lost, reordered, overflow
q = []; qn = {fa: 0, fb: 0}; seq = 0
run = True
def stop(*_):
    global run
    run = False
signal.signal(signal.SIGTERM, stop); signal.signal(signal.SIGINT, stop)
open(readyf, "w").write("ready\n")
while run:
    now = time.monotonic()
    while q and q[0][0] <= now:
        _, _, src, pkt = heapq.heappop(q); qn[src] -= 1
        try: os.write(out[src], pkt)
        except OSError: pass
    to = max(0.0, q[0][0] - now) if q else 0.5
    try: r, _, _ = select.select([fa, fb], [], [], to)
    except InterruptedError: continue
    now = time.monotonic()
    for f in r:
        for _ in range(256):
            try: pkt = os.read(f, 65536)
            except BlockingIOError: break
            s = st[f]; s[0] += 1
            if random.random() < loss:
                s[1] += 1; continue
            if qn[f] >= LIMIT:
                s[3] += 1; continue
            v = random.random() * (1 - CORR) + rlast[f] * CORR; rlast[f] = v
            if v < reorder:                      # netem reorder: send now, ahead of the queue
                s[2] += 1; t = now
            else:
                t = max(now + delay, last[f]) + len(pkt) * 8 / rate
                last[f] = t
            seq += 1; qn[f] += 1
            heapq.heappush(q, (t, seq, f, pkt))
for f in (fa, fb):
    s = st[f]
    print("%s in=%d lost=%d reordered=%d overflow=%d" % (name[f], *s), flush=True)
PY

cat >"$TMP/server.py" <<'PY'
# kernel twin of tern's discard (9) and http GET /N (80)
import socket, sys, threading
def discard(c):
    while c.recv(1 << 16): pass
    c.close()
def http(c):
    req = b""
    while b"\r\n\r\n" not in req:
        d = c.recv(4096)
        if not d: c.close(); return
        req += d
    n = int(req.split()[1][1:])
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % n)
    buf = bytes(range(48, 112)) * 1024
    while n:
        k = c.send(buf[:min(n, len(buf))]); n -= k
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096): pass
    c.close()
def serve(port, fn):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(8)
    while True:
        c, _ = s.accept(); threading.Thread(target=fn, args=(c,), daemon=True).start()
threading.Thread(target=serve, args=(9, discard), daemon=True).start()
open(sys.argv[1], "w").write("ready\n")
serve(80, http)
PY

cat >"$TMP/client.py" <<'PY'
# up: send N to port 9, half-close, wait for the FIN. down: GET /N from port 80.
import socket, sys, time
mode, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(); s.settimeout(120)
t0 = time.monotonic()
if mode == "up":
    s.connect(("192.0.2.2", 9))
    chunk = b"x" * 65536; left = n
    while left:
        left -= s.send(chunk[:min(left, len(chunk))])
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536): pass
else:
    s.connect(("192.0.2.2", 80))
    s.sendall(b"GET /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % n)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d: sys.exit("short header")
        buf += d
    got = len(buf) - buf.index(b"\r\n\r\n") - 4
    while got < n:
        d = s.recv(1 << 20)
        if not d: sys.exit("short body: %d of %d" % (got, n))
        got += len(d)
print("%.4f" % (time.monotonic() - t0))
s.close()
PY

wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "timeout waiting for $1" >&2; return 1; }

# counters: "name value" lines; kernel's nstat in a namespace or tern's over its ctl
kstat() { ip netns exec "$1" nstat -asz 2>/dev/null | awk '!/^#/ {print $1, $2}'; }
tstat() { TERN_CTL=$TMP/t.ctl "$TERN" nstat -az; }

# one transfer: $1 = tern|kern, $2 = up|down, $3 = run index
run_one() {
	local cfg=$1 dir=$2 i=$3 far sender
	rm -f "$TMP"/*.ready "$TMP/t.ctl"
	ip netns add $NSK
	ip netns exec $NSK ip link set lo up
	ip netns exec $NSK ip tuntap add dev imp0 mode tun
	if [ "$cfg" = tern ]; then
		far=$NST
		"$TERN" serve --netns $NST --app discard --app http --ctl "$TMP/t.ctl" \
			>"$TMP/tern.out" 2>"$TMP/tern.err.$dir.$i" &
		PIDS+=($!)
		for _ in $(seq 100); do grep -q ready "$TMP/tern.out" 2>/dev/null && break; sleep 0.05; done
		grep -q ready "$TMP/tern.out" || { cat "$TMP/tern.err.$dir.$i" >&2; return 1; }
	else
		far=$NSS
		ip netns add $NSS
		ip netns exec $NSS ip link set lo up
		ip netns exec $NSS ip addr add 192.0.2.2/32 dev lo
	fi
	ip netns exec $far ip tuntap add dev imp1 mode tun
	python3 "$TMP/netem.py" $NSK imp0 $far imp1 "$DELAY" "$LOSS" "$REORDER" "$RATE" "$i" \
		"$TMP/netem.ready" >"$TMP/netem.$cfg.$dir.$i" 2>&1 &
	PIDS+=($!)
	wait_file "$TMP/netem.ready"
	ip netns exec $NSK ip addr add 10.9.0.1 peer 10.9.0.2 dev imp0
	ip netns exec $NSK ip link set imp0 mtu 1500 up
	ip netns exec $NSK ip route add 192.0.2.0/24 dev imp0
	ip netns exec $far ip addr add 10.9.0.2 peer 10.9.0.1 dev imp1
	ip netns exec $far ip link set imp1 mtu 1500 up
	if [ "$cfg" = tern ]; then
		ip netns exec $far sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0
	else
		ip netns exec $NSS python3 "$TMP/server.py" "$TMP/server.ready" &
		PIDS+=($!)
		wait_file "$TMP/server.ready"
	fi
	sleep 0.2

	if [ "$dir" = up ]; then sender=kernel:$NSK
	elif [ "$cfg" = tern ]; then sender=tern
	else sender=kernel:$NSS; fi
	snap() { if [ "$sender" = tern ]; then tstat; else kstat "${sender#kernel:}"; fi; }
	snap >"$TMP/before"
	local t
	if ! t=$(ip netns exec $NSK python3 "$TMP/client.py" "$dir" "$BYTES" 2>"$TMP/client.err"); then
		echo "  $cfg $dir run $i FAILED: $(tail -1 "$TMP/client.err")" >&2
		t=NaN
	fi
	sleep 0.1
	snap >"$TMP/after"
	stop_pids
	del_ns
	local imp
	imp=$(grep "$([ "$dir" = up ] && echo 'a>b' || echo 'b>a')" "$TMP/netem.$cfg.$dir.$i" | tr '\n' ' ')
	python3 - "$cfg" "$dir" "$i" "$t" "$BYTES" "$TMP/before" "$TMP/after" "$imp" >>"$TMP/results" <<'PY'
import sys
cfg, d, i, t, n, fb, fa, imp = sys.argv[1:9]
def rd(p):
    m = {}
    for l in open(p):
        f = l.split()
        if len(f) >= 2 and not f[0].startswith("#"):
            try: m[f[0]] = int(f[1])
            except ValueError: pass
    return m
b, a = rd(fb), rd(fa)
names = ["TcpOutSegs", "TcpRetransSegs", "TcpExtTCPFastRetrans", "TcpExtTCPLossProbes",
         "TcpExtTCPTimeouts", "TcpExtTCPSackRecovery", "TcpExtTCPLostRetransmit",
         "TcpExtTCPSpuriousRTOs", "TcpExtTCPSACKReorder"]
v = [str(a.get(k, 0) - b.get(k, 0)) for k in names]
kv = dict(x.split("=") for x in imp.split()[1:]) if imp.strip() else {}
print("\t".join([cfg, d, i, t, n] + v + [kv.get("in", "0"), kv.get("lost", "0"), kv.get("reordered", "0"), kv.get("overflow", "0")]))
PY
	printf '  %-4s %-4s run %d: %s s  (sender %s; data path: %s)\n' "$cfg" "$dir" "$i" "$t" "${sender%%:*}" "$imp" >&2
}

echo "impairment, each direction: delay ${DELAY} ms, loss ${LOSS} %, reorder ${REORDER} % (uncorrelated), rate ${RATE} Mbit/s; ${BYTES} bytes x ${RUNS} runs" >&2
: >"$TMP/results"
for dir in down up; do
	for i in $(seq "$RUNS"); do
		[ $DO_TERN = 1 ] && run_one tern $dir "$i"
		[ $DO_KERN = 1 ] && run_one kern $dir "$i"
	done
done

python3 - "$TMP/results" <<'PY'
import statistics, sys, math
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
cols = ["time s", "Mbit/s", "OutSegs", "RetransSegs", "FastRetrans", "LossProbes", "Timeouts",
        "SackRecovery", "LostRetransmit", "SpuriousRTOs", "SACKReorder", "link drops", "link reord"]
def fmt(xs, p):
    xs = [x for x in xs if not math.isnan(x)]
    if not xs: return "fail"
    m = statistics.median(xs)
    if min(xs) == max(xs): return f"{m:.{p}f}"
    return f"{m:.{p}f} ({min(xs):.{p}f}-{max(xs):.{p}f})"
label = {("tern", "down"): "tern sends -> kernel receives",
         ("kern", "down"): "kernel sends -> kernel receives",
         ("tern", "up"): "kernel sends -> tern receives",
         ("kern", "up"): "kernel sends -> kernel receives"}
out = []
for d in ("down", "up"):
    for c in ("tern", "kern"):
        rs = [r for r in rows if r[0] == c and r[1] == d]
        if not rs: continue
        t = [float(r[3]) for r in rs]
        gp = [int(r[4]) * 8 / x / 1e6 if not math.isnan(x) else float("nan") for r, x in zip(rs, t)]
        vals = [fmt(t, 2), fmt(gp, 2)] + [fmt([float(r[k]) for r in rs], 0) for k in range(5, 18) if k != 14 and k != 17]
        out.append([f"{d:4} {label[(c, d)]} [{len(rs)}]"] + vals)
hdr = ["run (median (min-max))"] + cols
w = [max(len(str(x[k])) for x in out + [hdr]) for k in range(len(hdr))]
print()
print("  ".join(h.ljust(w[k]) for k, h in enumerate(hdr)))
print("  ".join("-" * w[k] for k in range(len(hdr))))
for r in out:
    print("  ".join(str(x).ljust(w[k]) for k, x in enumerate(r)))
print("\ncounters are the SENDER's (tern nstat for tern sending, the kernel's nstat in the sending namespace otherwise);"
      "\nlink drops/reord = datagrams the userspace netem dropped/reordered on the data direction.")
PY
