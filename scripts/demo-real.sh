#!/usr/bin/env bash
# demo-real.sh: issue 8's story on the real network (`make demo` runs this).
#
#   scripts/demo-real.sh [TERN_BINARY]        (default build/tern)
#
# As root with /dev/net/tun, ip, curl, nc and python3: tern serves http and echo
# on a TUN device inside a private network namespace made for this run; the
# kernel's own curl, nc and python3 in that namespace are its clients:
#   1. the namespace, the device and `tern serve`;
#   2. a page with curl, a line through echo with nc;
#   3. `tern ss -lnt`: what Recv-Q and Send-Q mean on a listener;
#   4. a full accept queue (a second instance with --backlog 2 --hold-accept 8):
#      ListenOverflows rising, the kernel clients' SYN retransmits in the capture;
#   5. a flood of spoofed SYNs from a raw socket while curl still gets its page,
#      thanks to SYN cookies;
#   6. tern stops (SIGTERM), and nothing of the run is left;
#   7. the numbers, the pcap, and an SVG ladder of the curl connection.
# Every packet stays inside the namespace. The namespace, the devices and every
# process the script starts are removed on any exit, Ctrl-C included.
#
# Without root, /dev/net/tun or one of the tools (or with TERN_DEMO_SIM=1) it says
# why in one line and runs the same story on the simulated network (`tern demo`).
set -euo pipefail

TERN=${1:-build/tern}
[ -x "$TERN" ] || { echo "demo-real.sh: no tern binary at $TERN (run make first)" >&2; exit 1; }
OUT=$(dirname -- "$TERN")          # build/: the pcaps and the SVG go beside the binary

simulate() {
	echo "$1: running the same story on the simulated network"
	echo
	exec "$TERN" demo --pcap "$OUT/demo.pcap" --tcp-pcap "$OUT/demo-tcp.pcap"
}

# ------------------------------------------------------------------ can we?
if [ -n "${TERN_DEMO_SIM:-}" ]; then
	simulate "TERN_DEMO_SIM is set"
fi
[ "$(id -u)" = 0 ] || simulate "not root"
[ -c /dev/net/tun ] || simulate "no /dev/net/tun"
{ : <>/dev/net/tun; } 2>/dev/null || simulate "/dev/net/tun cannot be opened"
for tool in ip curl nc python3; do
	command -v "$tool" >/dev/null 2>&1 || simulate "no $tool on PATH"
done

# ------------------------------------------------------------------ state and cleanup
NS="tern-demo-$$"
T=192.0.2.2                        # tern (TEST-NET-1, RFC 5737)
K=192.0.2.1                        # the kernel's end of tern0
T2=198.51.100.2                    # the second instance on tern1 (TEST-NET-2)
K2=198.51.100.1
PCAP="$OUT/demo-real.pcap"
PCAP2="$OUT/demo-real-backlog.pcap"
SVG="$OUT/demo-ladder.svg"
SVG2="$OUT/demo-ladder-backlog.svg"
waited_port=""                     # a client of step 4 that had to retransmit its SYN
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tern-demo.XXXXXX")
CTL="$tmp/ctl"
CTL2="$tmp/ctl2"
serve_pid=""
serve2_pid=""
helpers=""                         # background clients and flooders
nap_pid=""                         # a sleep in progress (see nap)
done_ok=""
start_s=$(date +%s.%N)

stop_pid() {                       # SIGTERM, wait up to 5 s, then SIGKILL
	local p=$1
	[ -n "$p" ] || return 0
	kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	for p in $helpers $nap_pid; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	stop_pid "$serve2_pid"
	stop_pid "$serve_pid"
	if [ -e "/run/netns/$NS" ]; then
		ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$NS" 2>/dev/null
	fi
	if [ -z "$done_ok" ]; then
		if [ "$rc" -ne 130 ] && [ "$rc" -ne 143 ] && [ -s "$tmp/serve.out" ]; then
			echo "tern serve said:"
			tail -5 "$tmp/serve.out" | sed 's/^/    /'
		fi
		echo
		if [ -e "/run/netns/$NS" ]; then
			echo "demo-real.sh: stopped early (status $rc); could not remove namespace $NS"
		else
			echo "demo-real.sh: stopped early (status $rc); namespace $NS, its devices and processes removed"
		fi
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo-real.sh: interrupted"; exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ output helpers
if [ -t 1 ]; then B=$'\e[1m'; D=$'\e[2m'; N=$'\e[0m'; else B=""; D=""; N=""; fi
step() { echo; echo "${B}== $* ==${N}"; echo; }
say() { printf '%s\n' "$@"; }
# Shows a command as typed (with TERN_CTL and the ns spelt out), then its output indented.
show() {
	printf '%s$ %s%s\n' "$D" "$1" "$N"
	shift
	"$@" 2>&1 | sed 's/^/    /'
}
elapsed() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(date +%s.%N)"; }
# sleep, but in the background and waited for, so a signal to the script alone
# (kill -INT) is handled at once rather than when the sleep ends.
nap() { sleep "$1" & nap_pid=$!; wait "$nap_pid"; nap_pid=""; }
die() { echo "demo-real.sh: $*" >&2; exit 1; }

# (Not for background jobs: `inns x &` would give the pid of a subshell, not of x.)
inns() { ip netns exec "$NS" "$@"; }
# curl's -w line: status, size, and the handshake and total times in ms.
CURL_FMT='%{http_code} %{size_download} %{time_connect} %{time_total}\n'
fetch() { inns curl -sS -m 10 -o /dev/null -w "$CURL_FMT" "$@" | curl_ms; }
curl_ms() { awk '{ printf "HTTP %s, %s bytes, handshake done after %.2f ms, all of it after %.2f ms\n", $1, $2, $3 * 1000, $4 * 1000 }'; }
tctl() { TERN_CTL="$CTL" "$TERN" "$@"; }
tctl2() { TERN_CTL="$CTL2" "$TERN" "$@"; }
counter() {                        # counter CTL NAME: one absolute value from tern nstat
	TERN_CTL="$1" "$TERN" nstat -az "$2" | awk -v n="$2" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }'
}

# Waits for "tern serve: ready" in $1 from pid $2, then for the control socket $3.
wait_ready() {
	for _ in $(seq 100); do
		grep -q '^tern serve: ready' "$1" 2>/dev/null && break
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	for _ in $(seq 100); do
		TERN_CTL="$3" "$TERN" ss -lnt >/dev/null 2>&1 && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# ------------------------------------------------------------------ python helpers
# clients.py HOST PORT N MIN MAX: N kernel connections, one after another (each
# gets 0.2 s to complete), held open; prints when each one got in or failed. Ends
# once every one is settled and MIN seconds have passed, or at MAX seconds.
cat >"$tmp/clients.py" <<'EOF'
import errno, os, select, socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
min_t, max_t = float(sys.argv[4]), float(sys.argv[5])
t0 = time.monotonic()
pending, socks = {}, []
def poll(timeout):
    if not pending:
        return
    _, w, _ = select.select([], list(pending), [], max(0.0, timeout))
    for s in w:
        i, p = pending.pop(s)
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        t = time.monotonic() - t0
        if err == 0:
            print("client %d (port %d): connected at %.2f s" % (i, p, t), flush=True)
        else:
            print("client %d (port %d): connect() failed at %.2f s: %s (%s)" %
                  (i, p, t, errno.errorcode.get(err, str(err)), os.strerror(err)), flush=True)
for i in range(1, n + 1):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((host, port))
    socks.append(s)
    p = s.getsockname()[1]
    pending[s] = (i, p)
    print("client %d (port %d): SYN sent at %.2f s" % (i, p, time.monotonic() - t0), flush=True)
    end = time.monotonic() + 0.2
    while s in pending and time.monotonic() < end:
        poll(end - time.monotonic())
while time.monotonic() - t0 < max_t and (pending or time.monotonic() - t0 < min_t):
    poll(0.05)
    time.sleep(0.05)
for i, p in sorted(pending.values()):
    print("client %d (port %d): still in SYN-SENT at %.2f s" % (i, p, time.monotonic() - t0), flush=True)
EOF

# flood.py DST PORT COUNT RATE: COUNT SYNs with an MSS option from random
# sources in 192.0.2.0/24 (not .0, .1, .2, .255) and random ports, at RATE a second.
cat >"$tmp/flood.py" <<'EOF'
import random, socket, struct, sys, time
dst, dport, count, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
d = socket.inet_aton(dst)
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)   # IP_HDRINCL
t0 = time.monotonic()
sent = 0
for i in range(count):
    src = bytes([192, 0, 2, random.randint(3, 254)])
    sport = random.randint(1024, 65535)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), 0, 6 << 4, 0x02, 64240, 0, 0)
    tcp += struct.pack("!BBH", 2, 4, 1460)
    c = csum(src + d + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0x4000,
                     64, 6, 0, src, d)
    try:
        raw.sendto(ip + tcp, (dst, 0))
        sent += 1
    except OSError:
        pass
    if i % 100 == 99:
        ahead = (i + 1) / rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
print("%d SYNs sent in %.1f s" % (sent, time.monotonic() - t0))
EOF

# syns.py PCAP PORT: per client port, the times of the SYNs it sent to PORT
# (LINKTYPE_RAW as tern writes it, or Ethernet/Linux cooked as tcpdump does).
cat >"$tmp/syns.py" <<'EOF'
import struct, sys
path, port = sys.argv[1], int(sys.argv[2])
with open(path, "rb") as f:
    data = f.read()
magic = struct.unpack("<I", data[:4])[0]
e = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
link = struct.unpack(e + "I", data[20:24])[0]
skip = {101: 0, 228: 0, 1: 14, 113: 16}.get(link, 0)
off, syns, t0 = 24, {}, None
while off + 16 <= len(data):
    sec, frac, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
    pkt = data[off + 16 + skip:off + 16 + incl]
    off += 16 + incl
    t = sec + frac / (1e9 if nano else 1e6)
    if len(pkt) < 40 or pkt[0] >> 4 != 4 or pkt[9] != 6:
        continue
    ihl = (pkt[0] & 15) * 4
    sport, dport = struct.unpack("!HH", pkt[ihl:ihl + 4])
    flags = pkt[ihl + 13]
    if dport == port and flags & 0x12 == 0x02:
        if t0 is None:
            t0 = t
        syns.setdefault(sport, []).append(t - t0)
total = 0
for sport, ts in syns.items():
    total += len(ts) - 1
    print("client port %d: %d SYN%s at %s%s" % (sport, len(ts), "" if len(ts) == 1 else "s",
          ", ".join("%.2f" % x for x in ts),
          "" if len(ts) == 1 else "  <- %d retransmitted" % (len(ts) - 1)))
print("RETRANS %d" % total)
EOF

# ================================================================== the story
echo "${B}tern on the real network${N}: the kernel's own curl, nc and python3 against tern,"
echo "a userspace TCP/IP stack on a TUN device, in a private network namespace."

# ------------------------------------------------------------------ 1
step "1. A private namespace, a TUN device, and tern serving http and echo"
say "tern serve --netns creates namespace $NS and the TUN device tern0"
say "in it: the kernel's end is $K, tern owns $T (TEST-NET-1, RFC 5737)."
say "SYN cookies are on in Linux's default mode (tcp_syncookies=1: only once the SYN"
say "queue is full). --duration 120 is a safety net: tern removes all of it by itself."
echo
say "${D}\$ $TERN serve --netns $NS --app http --app echo \\"
say "      --pcap $PCAP --ctl \$CTL \\"
say "      --sysctl net.ipv4.tcp_syncookies=1 --duration 120 &${N}"
"$TERN" serve --netns "$NS" --app http --app echo --pcap "$PCAP" --ctl "$CTL" \
	--sysctl net.ipv4.tcp_syncookies=1 --duration 120 --verbose >"$tmp/serve.out" 2>&1 &
serve_pid=$!
if ! wait_ready "$tmp/serve.out" "$serve_pid" "$CTL"; then
	why=$(grep -m1 -v '^tern serve: \(device\|http\|echo\|control\)' "$tmp/serve.out" || true)
	wait "$serve_pid" 2>/dev/null || true
	serve_pid=""
	[ -e "/run/netns/$NS" ] && ip netns del "$NS" 2>/dev/null
	done_ok=1
	rm -rf "$tmp"
	trap - EXIT
	simulate "tern serve could not start (${why:-no reason given})"
fi
sed 's/^/    /' "$tmp/serve.out"
echo
show "ip netns exec $NS ip -br addr" inns ip -br addr

# ------------------------------------------------------------------ 2
step "2. The kernel's curl and nc talk to tern"
say "curl fetches 4000 generated bytes over HTTP/1.1 (from local port 40080, so the"
say "ladder in step 7 can find this connection):"
show "ip netns exec $NS curl -s --local-port 40080 -o /dev/null -w '...' http://$T/4000" \
	fetch --local-port 40080 "http://$T/4000"
echo
say "nc sends a line to tern's echo service (port 7) and half-closes; tern sends it back:"
line="hello from the kernel's nc, $(date +%T)"
back=$(printf '%s\n' "$line" | inns nc -N -w 5 "$T" 7)
printf '%s$ echo "%s" | ip netns exec %s nc -N %s 7%s\n' "$D" "$line" "$NS" "$T" "$N"
printf '    %s\n' "$back"
[ "$back" = "$line" ] || die "echo returned '$back'"
say "    (the same line came back)"

# ------------------------------------------------------------------ 3
step "3. tern's listeners, as ss shows them"
say "tern ss reaches the running instance through its control socket (TERN_CTL) and"
say "prints what iproute2's ss prints. On a LISTEN socket the queue columns mean"
say "something else than on a connection: Recv-Q is the accept queue (connections"
say "whose handshake is done, waiting for accept()), Send-Q is its limit,"
say "min(backlog, somaxconn): 128 here. curl's and nc's connections were accepted at"
say "once, so both queues are empty."
echo
show "TERN_CTL=\$CTL $TERN ss -lnt" tctl ss -lnt

# ------------------------------------------------------------------ 4
step "4. A full accept queue"
if ! "$TERN" serve --help 2>&1 | grep -q -- '--hold-accept'; then
	say "(accept-queue overflow step needs --hold-accept; skipped)"
	overflows="skipped"
	syn_retrans="skipped"
else
	say "A second tern instance on a second device in the same namespace, tern1"
	say "($T2, kernel $K2): http on port 8080 with listen(fd, 2),"
	say "and an application that does not call accept() for its first 8 seconds."
	echo
	say "${D}\$ ip netns exec $NS $TERN serve --dev tern1 \\"
	say "      --addr $T2 --peer $K2 --app http:8080 \\"
	say "      --backlog 2 --hold-accept 8 --pcap $PCAP2 --ctl \$CTL2 &${N}"
	ip netns exec "$NS" "$TERN" serve --dev tern1 --addr "$T2" --peer "$K2" --app http:8080 --backlog 2 \
		--hold-accept 8 --pcap "$PCAP2" --ctl "$CTL2" --duration 60 >"$tmp/serve2.out" 2>&1 &
	serve2_pid=$!
	wait_ready "$tmp/serve2.out" "$serve2_pid" "$CTL2" || {
		sed 's/^/  serve: /' "$tmp/serve2.out" >&2; die "the second tern serve did not start"; }
	t_hold=$(date +%s.%N)
	echo
	say "Six kernel clients (python3) connect, one after another, and keep their sockets"
	say "open:"
	ip netns exec "$NS" python3 "$tmp/clients.py" "$T2" 8080 6 9 16 >"$tmp/clients.out" 2>&1 &
	clients_pid=$!
	helpers="$helpers $clients_pid"
	nap 1.5
	shown=$(wc -l <"$tmp/clients.out")
	sed 's/^/    /' "$tmp/clients.out"
	echo
	say "Linux (and tern) let a listener hold backlog+1 connections: the first three"
	say "complete their handshake and wait in the accept queue. A SYN that finds the"
	say "queue full is dropped and counted (ListenOverflows, ListenDrops); nothing"
	say "answers it, so the client's kernel sends it again when its SYN timer fires."
	echo
	show "TERN_CTL=\$CTL2 $TERN ss -lnt" tctl2 ss -lnt
	show "TERN_CTL=\$CTL2 $TERN ss -tn" tctl2 ss -tn
	echo
	say "The kernel's side of the same six connections: three established, three"
	say "still in SYN-SENT (Send-Q 1 is the SYN, not yet acknowledged):"
	show "ip netns exec $NS ss -tn dport = :8080" inns ss -tn dport = :8080
	echo
	say "ListenOverflows as the clients retry, now and two seconds later:"
	show "TERN_CTL=\$CTL2 $TERN nstat -az TcpExtListenOverflows" tctl2 nstat -az TcpExtListenOverflows
	nap 2
	show "TERN_CTL=\$CTL2 $TERN nstat -az TcpExtListenOverflows" tctl2 nstat -az TcpExtListenOverflows
	# After the hold, tern's application accepts the three queued connections.
	left=$(python3 -c "import sys; print('%.2f' % max(0.0, 8.4 - (float(sys.argv[2]) - float(sys.argv[1]))))" \
		"$t_hold" "$(date +%s.%N)")
	nap "$left"
	echo
	say "At 8 s the application starts calling accept(): the accept queue drains."
	show "TERN_CTL=\$CTL2 $TERN ss -lnt" tctl2 ss -lnt
	echo
	retries=$(inns sysctl -n net.ipv4.tcp_syn_retries 2>/dev/null || echo "?")
	linear=$(inns sysctl -n net.ipv4.tcp_syn_linear_timeouts 2>/dev/null || true)
	say "The three other clients are still retrying. Their kernel resends a SYN until"
	if [ -n "$linear" ]; then
		say "the time budget of tcp_syn_retries=$retries is spent: here the first $linear retries"
		say "come 1 s apart (tcp_syn_linear_timeouts=$linear), then the timer doubles. Their"
	else
		say "tcp_syn_retries=$retries retries are spent, the timer doubling from 1 s. Their"
	fi
	say "next SYN finds room in the queue (waiting up to 16 s from the start):"
	wait "$clients_pid" 2>/dev/null || true
	helpers=""
	tail -n +"$((shown + 1))" "$tmp/clients.out" | sed 's/^/    /'
	overflows=$(counter "$CTL2" TcpExtListenOverflows)
	accepted2=$(counter "$CTL2" TcpPassiveOpens)
	stop_pid "$serve2_pid"
	serve2_pid=""
	echo
	say "The SYNs in tern's capture of tern1 ($PCAP2),"
	say "in seconds from the first:"
	python3 "$tmp/syns.py" "$PCAP2" 8080 >"$tmp/syns.out"
	grep -v '^RETRANS ' "$tmp/syns.out" | sed 's/^/    /'
	syn_retrans=$(awk '/^RETRANS / { print $2 }' "$tmp/syns.out")
	waited_port=$(awk '/retransmitted/ { sub(":", "", $3); print $3; exit }' "$tmp/syns.out")
fi

# ------------------------------------------------------------------ 5
step "5. A SYN flood, and SYN cookies"
say "A python3 raw socket in the namespace sends 20000 SYNs to $T:80 from"
say "random spoofed sources in 192.0.2.0/24, 10000 a second. tern's SYN-ACKs to them go"
say "nowhere (the kernel does not forward), so each half-open request would sit in"
say "the SYN queue for a minute. The queue takes backlog+1 = 129 requests (Linux 6.13"
say "and later); after that tern, like Linux with tcp_syncookies=1, keeps no state"
say "and answers each SYN with a cookie: its ISN encodes the connection."
say "Meanwhile curl fetches a page:"
echo
before_sent=$(counter "$CTL" TcpExtSyncookiesSent)
before_recv=$(counter "$CTL" TcpExtSyncookiesRecv)
printf '%s$ ip netns exec %s python3 flood.py %s 80 20000 10000 &%s\n' "$D" "$NS" "$T" "$N"
ip netns exec "$NS" python3 "$tmp/flood.py" "$T" 80 20000 10000 >"$tmp/flood.out" 2>&1 &
flood_pid=$!
helpers="$helpers $flood_pid"
nap 0.8
show "ip netns exec $NS curl -s -o /dev/null -w '...' http://$T/20000" fetch "http://$T/20000"
show "TERN_CTL=\$CTL $TERN ss -lnt" tctl ss -lnt
say "${D}\$ TERN_CTL=\$CTL $TERN ss -tnH state syn-recv | wc -l${N}"
echo "    $(tctl ss -tnH state syn-recv | wc -l)"
wait "$flood_pid" || die "the flood failed: $(cat "$tmp/flood.out")"
helpers=""
sed 's/^/    flood.py: /' "$tmp/flood.out"
nap 0.2
flood_log=$(grep -m1 'SYN flooding' "$tmp/serve.out" || true)
if [ -n "$flood_log" ]; then
	echo
	say "tern's log says what the kernel's dmesg says in this situation:"
	flood_log=${flood_log#tern serve: }; say "    ${flood_log#stack: }"
fi
echo
say "curl's SYN came while the queue was full: it got a cookie too, and its ACK"
say "carried the cookie back (SyncookiesRecv). The half-open requests stay in the"
say "SYN queue (Recv-Q 0 above is the accept queue); the rest cost tern nothing:"
show "TERN_CTL=\$CTL $TERN nstat -az 'TcpExtSyncookies*' 'TcpExtTCPReqQFull*' TcpExtListenDrops" \
	tctl nstat -az 'TcpExtSyncookies*' 'TcpExtTCPReqQFull*' TcpExtListenDrops
cookies_sent=$(( $(counter "$CTL" TcpExtSyncookiesSent) - before_sent ))
cookies_recv=$(( $(counter "$CTL" TcpExtSyncookiesRecv) - before_recv ))

# ------------------------------------------------------------------ 6
step "6. Stopping tern"
passive=$(counter "$CTL" TcpPassiveOpens)
in_segs=$(counter "$CTL" TcpInSegs)
out_segs=$(counter "$CTL" TcpOutSegs)
synack_re=$(counter "$CTL" TcpExtTCPSynRetrans)
printf '%s$ kill -TERM %s%s\n' "$D" "$serve_pid" "$N"
stop_pid "$serve_pid"
serve_pid=""
grep -E '^tern serve: (stopped|[0-9]+ connections)' "$tmp/serve.out" | sed 's/^/    /'
left_over=""
[ -e "/run/netns/$NS" ] && left_over="$left_over namespace $NS;"
ip -o link 2>/dev/null | grep -q ' tern[01]\(@\|:\)' && left_over="$left_over a tern0/tern1 device in the root namespace;"
pgrep -f "serve --netns $NS" >/dev/null 2>&1 && left_over="$left_over a tern serve process;"
[ -e "$CTL" ] && left_over="$left_over the control socket;"
if [ -z "$left_over" ]; then
	say "    nothing left: no namespace $NS (ip netns list), no tern device, no tern"
	say "    serve process, no control socket"
else
	die "left behind:$left_over"
fi

# ------------------------------------------------------------------ 7
step "7. What happened"
say "  real traffic:  tern (192.0.2.2) accepted $passive connections from the kernel's curl"
say "                 and nc, and took in $in_segs TCP segments and sent $out_segs."
if [ "$overflows" = skipped ]; then
	say "  accept queue:  (skipped: this tern serve has no --hold-accept)"
else
	say "  accept queue:  listen(fd, 2) held 3 connections; $overflows SYNs found it full"
	say "                 (ListenOverflows), the capture shows the clients' $syn_retrans SYN"
	say "                 retransmissions, and $accepted2 of 6 clients got in at last."
fi
say "  SYN flood:     $cookies_sent SYN cookies sent, $cookies_recv came back (curl's);"
say "                 $synack_re SYN-ACKs retransmitted to the spoofed half-open requests"
say "                 that fill the SYN queue."
say "  capture:       $PCAP"
[ "$syn_retrans" = skipped ] || say "                 $PCAP2 (the full accept queue)"
if "$TERN" ladder --help >/dev/null 2>&1; then
	if "$TERN" ladder --port 40080 --title "kernel curl (192.0.2.1:40080) and tern's http (192.0.2.2:80)" \
		-o "$SVG" "$PCAP" >"$tmp/ladder.out" 2>&1; then
		say "  ladder:        $SVG: curl's connection from step 2"
		say "                 (tern ladder --port 40080 -o $SVG $PCAP)"
		if [ -n "$waited_port" ] && "$TERN" ladder --port "$waited_port" \
			--title "a kernel client ($K2:$waited_port) against a full accept queue" \
			-o "$SVG2" "$PCAP2" >"$tmp/ladder.out" 2>&1; then
			say "                 $SVG2: a client of step 4 and"
			say "                 its SYN retransmissions (tern ladder --port $waited_port ...)"
		fi
	else
		say "  ladder:        tern ladder failed: $(head -1 "$tmp/ladder.out")"
	fi
else
	say "  ladder:        (tern ladder is not available in this build; no SVG)"
fi
say "  took $(elapsed "$start_s") s"
done_ok=1
