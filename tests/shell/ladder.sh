#!/usr/bin/env bash
# `tern ladder` end to end: the demo's HTTP exchange drawn as an SVG ladder holds
# the handshake, the close and the states the demo's own trace reports, in order;
# the closed-port probe is two arrows ending in a reset; the same capture framed as
# Ethernet, Linux SLL/SLL2 or BSD loopback draws the same picture; the demo's
# printed trace (the lines `tern trace` streams, read as text) draws the same
# arrows, labels and states as its pcap, with or without --wall clock times, from
# a file or standard input, the other lines counted as skipped; a hand-made trace
# with every option kind and some broken lines draws exactly what it says; no
# mangled trace line crashes it; bad input gets one line on stderr and exit 1 (2
# for usage errors); every SVG is well-formed XML.
set -euo pipefail
: "${TERN_BIN:?TERN_BIN must name the tern binary}"
tmp=$(mktemp -d "${TERN_TEST_TMPDIR:-/tmp}/ladder.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

reframed=()   # more SVGs for xmllint at the end
demo=$("$TERN_BIN" demo --seed 7 --pcap "$tmp/a.pcap" --tcp-pcap "$tmp/y.pcap")

# --list: one connection, as many packets as the demo traced segments.
list=$("$TERN_BIN" ladder --list "$tmp/a.pcap")
echo "$list"
traced=$(grep -cE '^ +[0-9.]+ 10\.0\.0\.1:[0-9]+ > 10\.0\.0\.2:80  |^ +[0-9.]+ 10\.0\.0\.2:80 > 10\.0\.0\.1:[0-9]+  ' <<<"$demo")
grep -Eq "^ +1  10\.0\.0\.1:[0-9]+ +10\.0\.0\.2:80 +$traced " <<<"$list" || fail "--list does not show the $traced traced segments"
[ "$(grep -c '10\.0\.0\.' <<<"$list")" -eq 1 ] || fail "--list shows more than one connection"

# The HTTP exchange.
"$TERN_BIN" ladder -o "$tmp/a.svg" --title 'demo <seed 7> & "friends"' "$tmp/a.pcap"
svg=$(cat "$tmp/a.svg")
client=$(grep -oE '10\.0\.0\.1:[0-9]+ > 10\.0\.0\.2:80' <<<"$demo" | head -1 | cut -d' ' -f1)
for want in ">client<" ">server<" ">$client<" ">10.0.0.2:80<" \
	'>S 0:0(0) win 64240<' '>S. 0:0(0) ack 1 win 65160<' '>. 1:1(0) ack 1 win 502<' \
	'&lt;mss 1460,sackOK,TS val' '>FP. 20025:20069(44) ack 62 win 509<' \
	'<title>demo &lt;seed 7&gt; &amp; &quot;friends&quot;</title>' 'without segments (not to scale)'; do
	grep -Fq -- "$want" <<<"$svg" || fail "a.svg lacks '$want'"
done
grep -q '<mss' <<<"$svg" && fail "a.svg holds an unescaped '<'"
# The demo loses segments: the resent SYN and some data are drawn as retransmissions.
grep -Fq 'fill="#c0392b">S 0:0(0) win 64240<' <<<"$svg" || fail "the resent SYN is not marked"
n=$(grep -c 'marker-end="url(#head-retx)"' <<<"$svg")
[ "$n" -ge 3 ] || fail "only $n retransmission arrows"
# Each side's states: the textbook ones for this exchange (the server closes
# first), in order; every state the demo's trace reported (ss names mapped to
# RFC 9293's) must appear among them in the same order.
states() { # $1: client|server; the SVG on stdin. Client states are right-aligned.
	if [ "$1" = client ]; then grep -F 'text-anchor="end" font-weight="bold"'
	else grep -F 'font-weight="bold" fill="#1f5fa8"' | grep -vF 'text-anchor="end"'; fi |
		sed -E 's/.*>([A-Z0-9-]+)<\/text>$/\1/' | tr '\n' ' '
}
cs=$(states client <<<"$svg"); ss=$(states server <<<"$svg")
echo "client: $cs"; echo "server: $ss"
[ "$cs" = "SYN-SENT ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED " ] || fail "client states: $cs"
[ "$ss" = "SYN-RECEIVED ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT " ] || fail "server states: $ss"
grep -Fq 'text-anchor="end" fill="#1f5fa8">CLOSED<' <<<"$svg" || fail "the client does not start CLOSED"
grep -Fq 'fill="#1f5fa8">LISTEN<' <<<"$svg" || fail "the server does not start in LISTEN"
for side in A B; do
	mine=$([ $side = A ] && echo "$cs" || echo "$ss")
	rest=" $mine"
	while read -r st; do
		case $st in ESTAB) st=ESTABLISHED ;; SYN-RECV) st=SYN-RECEIVED ;; gone*) continue ;; esac
		[[ $rest == *" $st "* ]] || fail "trace says $side entered $st; the ladder does not (after it: '$rest')"
		rest=" ${rest#* "$st" }"
	done < <(grep -oE -- "-- $side is now [A-Z0-9-]+( \(CLOSED\))?|-- $side is now gone" <<<"$demo" |
		sed -E "s/^-- $side is now //")
done

# The probe of a closed port: a SYN and the reset, nothing else.
"$TERN_BIN" ladder -o "$tmp/y.svg" "$tmp/y.pcap"
ysvg=$(cat "$tmp/y.svg")
[ "$(grep -c '^<g>$' <<<"$ysvg")" -eq 2 ] || fail "the probe ladder does not have two arrows"
for want in '>S 0:0(0) win 65535<' '>R. 0:0(0) ack 1 win 0<' '>10.0.0.3:40000<' '>SYN-SENT<' '>CLOSED<'; do
	grep -Fq -- "$want" <<<"$ysvg" || fail "y.svg lacks '$want'"
done
[ "$(states client <<<"$ysvg")" = "SYN-SENT CLOSED " ] || fail "probe client states"
[ -z "$(states server <<<"$ysvg")" ] || fail "the closed port changed state"
grep -Fq 'fill="#1f5fa8">CLOSED</text>' <<<"$ysvg" || fail "the probed server does not start CLOSED"

# Selecting by port or number, default output on stdout: the same picture.
"$TERN_BIN" ladder --title demo -o "$tmp/ref.svg" "$tmp/a.pcap"
"$TERN_BIN" ladder --title demo --port 80 "$tmp/a.pcap" >"$tmp/p.svg"
cmp -s "$tmp/p.svg" "$tmp/ref.svg" || fail "--port 80 drew another picture"
"$TERN_BIN" ladder --title demo --conn 1 "$tmp/a.pcap" | cmp -s - "$tmp/ref.svg" || fail "--conn 1 drew another picture"

# The same exchange from the demo's printed trace (no root needed: the demo's
# segment lines are tools/trace.c's, as `tern trace` streams them). Arrows,
# labels, retransmission colours and states must match the pcap's picture; only
# positions may differ (the trace has microseconds, the pcap nanoseconds).
printf '%s\n' "$demo" >"$tmp/demo.txt"
content() { # the drawn text and arrows without coordinates, in order
	grep -E 'font-family="monospace"|font-weight="bold"|marker-end=' "$1" |
		sed -E 's/ (x|y|x1|y1|x2|y2)="[^"]*"//g'
}
"$TERN_BIN" ladder --list "$tmp/demo.txt" 2>"$tmp/tlist.err" >"$tmp/tlist"
grep -Eq "^ +1  10\.0\.0\.1:[0-9]+ +10\.0\.0\.2:80 +$traced " "$tmp/tlist" || fail "--list of the trace: $(cat "$tmp/tlist")"
"$TERN_BIN" ladder --title demo -o "$tmp/t.svg" "$tmp/demo.txt" 2>"$tmp/t.err"
cat "$tmp/t.err"
total=$(grep -c '[^[:space:]]' "$tmp/demo.txt")
grep -Fxq "tern ladder: $tmp/demo.txt: skipped $((total - traced)) of $total lines (not TCP segments in trace format)" \
	"$tmp/t.err" || fail "the skipped lines are not counted right: $(cat "$tmp/t.err")"
diff <(content "$tmp/ref.svg") <(content "$tmp/t.svg") >"$tmp/t.diff" ||
	{ head -20 "$tmp/t.diff"; fail "the trace drew another ladder than the pcap"; }
for want in '>S 0:0(0) win 64240<' '>S. 0:0(0) ack 1 win 65160<' '>FP. 20025:20069(44) ack 62 win 509<' \
	'>SYN-SENT<' '>SYN-RECEIVED<' '>ESTABLISHED<' '>FIN-WAIT-1<' '>TIME-WAIT<' 'into the trace' \
	'one trace cannot tell'; do
	grep -Fq -- "$want" "$tmp/t.svg" || fail "t.svg lacks '$want'"
done
[ "$(states client <"$tmp/t.svg")" = "$cs" ] && [ "$(states server <"$tmp/t.svg")" = "$ss" ] ||
	fail "the trace's states differ from the pcap's"
# --wall clock times before each line, CRLF line ends, standard input: the same.
sed -E 's/^ +([0-9]+\.[0-9]{6} )/08:30:15.952963   \1/; s/$/\r/' "$tmp/demo.txt" >"$tmp/wall.txt"
grep -q '^08:30:15.952963  *[0-9.]* 10\.0\.0\.1' "$tmp/wall.txt" || fail "wall.txt not made"
"$TERN_BIN" ladder --title demo "$tmp/wall.txt" >"$tmp/w.svg" 2>/dev/null
"$TERN_BIN" ladder --title demo - <"$tmp/demo.txt" >"$tmp/s.svg" 2>/dev/null
for f in w s; do
	cmp -s <(grep -v 'source: ' "$tmp/$f.svg") <(grep -v 'source: ' "$tmp/t.svg") || fail "$f.svg differs from t.svg"
done

# A hand-made trace: every option the formatter writes, urgent data, a flagless
# segment, flags in another order than the formatter's (drawn in its order), a
# second connection seen mid-stream (absolute numbers), and lines
# that are not segments (a comment, a UDP datagram, a blank line not counted)
# or break the format (end not seq + len, ACK flag without "ack", a bad flag,
# a window or port out of range, options not closed, five SACK blocks, trailing
# words, a flagless segment with "ack").
cat >"$tmp/hand.txt" <<'EOF'
# not a segment: counted
   0.000000 10.0.0.1:40000 > 10.0.0.2:80  S 0:0(0) win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>
   0.010000 10.0.0.2:80 > 10.0.0.1:40000  S. 0:0(0) ack 1 win 65535 <mss 1400,nop,nop,sackOK,unknown-kind 253 len 4,malformed-kind 8 len 6,eol>
   0.015000 10.0.0.1:40000 > 10.0.0.2:80  S 5:3(0) win 1
   0.016000 10.0.0.1:40000 > 10.0.0.2:80  . 1:1(0) win 502
   0.017000 10.0.0.1:40000 > 10.0.0.2:80  X 1:1(0) ack 1 win 502
   0.018000 10.0.0.1:40000 > 10.0.0.2:80  . 1:1(0) ack 1 win 70000
   0.019000 10.0.0.1:40000 > 10.0.0.2:80  . 1:1(0) ack 1 win 502 <mss 1460
   0.019500 10.0.0.1:40000 > 10.0.0.2:80  . 1:1(0) ack 1 win 502 <sack 1:2 3:4 5:6 7:8 9:10>
   0.019700 10.0.0.1:400000 > 10.0.0.2:80  . 1:1(0) ack 1 win 502
   0.019800 10.0.0.1:40000 > 10.0.0.2:80  . 1:1(0) ack 1 win 502 trailing
   0.019900 10.0.0.1:40000 > 10.0.0.2:80  - 1:1(0) ack 1 win 502
   0.020000 10.0.0.1:40000 > 10.0.0.2:80  . 1:1(0) ack 1 win 502

   0.030000 10.0.0.1:40000 > 10.0.0.2:80  PU. 1:11(10) ack 1 urg 3 win 502
   0.040000 10.0.0.2:80 > 10.0.0.1:40000  . 1:1(0) ack 11 win 510 <nop,nop,sack 11:21>
   0.045000 10.0.0.1:40000 > 10.0.0.2:80  - 11:11(0) win 502
   0.050000 10.0.0.1:40000 > 10.0.0.2:80  F. 11:11(0) ack 1 win 502
   0.060000 10.0.0.2:80 > 10.0.0.1:40000  FEW. 1:1(0) ack 12 win 510
   0.070000 10.0.0.1:40000 > 10.0.0.2:80  . 12:12(0) ack 2 win 502
   0.080000 10.0.0.3:5000 > 10.0.0.4:443  P. 4000000000:4000000100(100) ack 123456 win 500
   0.090000 10.0.0.3:5000 > 10.0.0.4:443 proto 17, 30 bytes
EOF
"$TERN_BIN" ladder -o "$tmp/hand.svg" "$tmp/hand.txt" 2>"$tmp/hand.err"
grep -Fxq "tern ladder: $tmp/hand.txt: skipped 11 of 21 lines (not TCP segments in trace format)" "$tmp/hand.err" ||
	fail "hand.txt: $(cat "$tmp/hand.err")"
[ "$(grep -c '^<g>$' "$tmp/hand.svg")" -eq 9 ] || fail "hand.svg does not have 9 arrows"
for want in '>S 0:0(0) win 65535<' '>&lt;mss 1460,sackOK,TS val 1 ecr 0,wscale 7&gt;<' \
	'>S. 0:0(0) ack 1 win 65535<' '>&lt;mss 1400,sackOK,unknown-kind 253 len 4,malformed-kind 8 len 6&gt;<' \
	'>P.U 1:11(10) ack 1 urg 3 win 502<' '>&lt;sack 11:21&gt;<' '>- 11:11(0) win 502<' \
	'>F.EW 1:1(0) ack 12 win 510<' '>. 12:12(0) ack 2 win 502<'; do
	grep -Fq -- "$want" "$tmp/hand.svg" || fail "hand.svg lacks '$want'"
done
[ "$(states client <"$tmp/hand.svg")" = "SYN-SENT ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT " ] ||
	fail "hand client states: $(states client <"$tmp/hand.svg")"
[ "$(states server <"$tmp/hand.svg")" = "SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED " ] ||
	fail "hand server states: $(states server <"$tmp/hand.svg")"
"$TERN_BIN" ladder --conn 2 -o "$tmp/hand2.svg" "$tmp/hand.txt" 2>/dev/null
grep -Fq '>P. 1:101(100) ack 1 win 500<' "$tmp/hand2.svg" || fail "the mid-stream connection is not drawn relative"
grep -Fq 'client (guessed)' "$tmp/hand2.svg" || fail "the mid-stream connection's client is not marked as guessed"

# Mangled trace lines (every segment line of the demo cut at every byte, and
# single bytes replaced) never crash it: exit 0 or 1, never a signal.
if command -v python3 >/dev/null; then
	python3 - "$tmp/demo.txt" "$tmp/mangled" <<'EOF'
import random, sys
lines = [l for l in open(sys.argv[1]).read().split('\n') if ' > ' in l]
rng = random.Random(7)
junk = [' ', ':', '.', '<', '>', ',', '(', ')', '9', '-', 'S', '\t', '\x00', '\xff', '99999999999999999999']
with open(sys.argv[2] + '.cut', 'w', encoding='latin-1') as f:
    for l in lines:
        for i in range(len(l)):
            f.write(l[:i] + '\n')
with open(sys.argv[2] + '.sub', 'w', encoding='latin-1') as f:
    for _ in range(20000):
        l = rng.choice(lines)
        i = rng.randrange(len(l))
        f.write(l[:i] + rng.choice(junk) + l[i + 1:] + '\n')
EOF
	for f in cut sub; do
		for args in --list "-o $tmp/mangled_$f.svg"; do
			rc=0
			# shellcheck disable=SC2086
			"$TERN_BIN" ladder $args "$tmp/mangled.$f" >/dev/null 2>"$tmp/m.err" || rc=$?
			[ "$rc" -le 1 ] || fail "mangled.$f ($args): exit $rc: $(cat "$tmp/m.err")"
		done
		[ -e "$tmp/mangled_$f.svg" ] && reframed+=("$tmp/mangled_$f.svg")
	done
fi

# Bad input: exit 1 and exactly one line starting with "tern ladder: ".
: >"$tmp/empty.pcap"
# Random bytes, the same each run.
LC_ALL=C awk 'BEGIN { srand(7); for (i = 0; i < 4096; i++) printf "%c", int(rand() * 255) + 1 }' >"$tmp/random.bin"
head -c 3000 "$tmp/a.pcap" >"$tmp/trunc.pcap"
head -c 12 "$tmp/a.pcap" >"$tmp/short.pcap"
head -c 24 "$tmp/a.pcap" >"$tmp/notcp.pcap"
{ head -c 20 "$tmp/a.pcap"; printf '\151\000\000\000'; tail -c +25 "$tmp/a.pcap"; } >"$tmp/lt105.pcap"
printf '\012\015\015\012\034\000\000\000\115\074\053\032' >"$tmp/ng.pcapng"
# A record claiming a 16 MiB body.
{ head -c 32 "$tmp/a.pcap"; printf '\000\000\000\001\000\000\000\001'; } >"$tmp/huge.pcap"
expect_err() { # $1: exit status, then the arguments
	local want=$1 rc; shift
	set +e
	"$TERN_BIN" ladder "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
	set -e
	[ "$rc" -eq "$want" ] || fail "'ladder $*' exited $rc, not $want"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "'ladder $*' wrote $(wc -l <"$tmp/err") lines on stderr"
	grep -q '^tern ladder: ' "$tmp/err" || fail "'ladder $*': $(cat "$tmp/err")"
	cat "$tmp/err"
}
expect_err 1 "$tmp/empty.pcap"
expect_err 1 "$tmp/random.bin"
expect_err 1 "$tmp/trunc.pcap"; grep -q 'truncated' "$tmp/err" || fail "truncation not named"
expect_err 1 "$tmp/short.pcap"
expect_err 1 "$tmp/notcp.pcap"; grep -q 'no TCP' "$tmp/err" || fail "'no TCP' not said"
expect_err 1 "$tmp/lt105.pcap"; grep -q 'link type 105' "$tmp/err" || fail "link type not named"
expect_err 1 "$tmp/ng.pcapng"; grep -q 'pcapng' "$tmp/err" || fail "pcapng not named"
expect_err 1 "$tmp/huge.pcap"
printf 'hello\n\n  world\n' >"$tmp/hello.txt"
expect_err 1 "$tmp/hello.txt"; grep -q 'no TCP segments in 2 lines of text' "$tmp/err" || fail "a text file without segments"
printf '\001\002\003\004 10.0.0.1:1 > 10.0.0.2:2' >"$tmp/binary.bin"
expect_err 1 "$tmp/binary.bin"; grep -q 'neither a pcap capture nor a text trace' "$tmp/err" || fail "binary not refused"
expect_err 1 --conn 99 "$tmp/a.pcap"
expect_err 1 --port 81 "$tmp/a.pcap"
expect_err 1 "$tmp/missing.pcap"
expect_err 1 -o "$tmp/no/such/dir.svg" "$tmp/a.pcap"
expect_err 1 -o "$tmp/out.svg" --conn 2 "$tmp/a.pcap"
expect_err 2
expect_err 2 --conn 0 "$tmp/a.pcap"
expect_err 2 --port 70000 "$tmp/a.pcap"
expect_err 2 --conn 1 --port 80 "$tmp/a.pcap"
expect_err 2 "$tmp/a.pcap" "$tmp/y.pcap"
expect_err 2 --frobnicate "$tmp/a.pcap"
[ ! -e "$tmp/out.svg" ] || fail "an output file was left behind"

# The same packets framed as tcpdump and tshark record other interfaces (and in
# the other byte order, and with microsecond stamps) draw the same picture.
if command -v python3 >/dev/null; then
	python3 - "$tmp/a.pcap" "$tmp" <<'EOF'
import struct, sys
src, out = sys.argv[1], sys.argv[2]
data = open(src, 'rb').read()
assert struct.unpack('<I', data[:4])[0] == 0xa1b23c4d, 'tern writes ns-resolution LE pcap'
recs, off = [], 24
while off < len(data):
    sec, frac, incl, orig = struct.unpack('<IIII', data[off:off + 16])
    recs.append((sec, frac, data[off + 16:off + 16 + incl]))
    off += 16 + incl
def write(name, linktype, frame, endian='<', micro=False):
    magic = 0xa1b2c3d4 if micro else 0xa1b23c4d
    with open(f'{out}/{name}.pcap', 'wb') as f:
        f.write(struct.pack(endian + 'IHHiIII', magic, 2, 4, 0, 0, 262144, linktype))
        for sec, frac, pkt in recs:
            fr = frame(pkt)
            f.write(struct.pack(endian + 'IIII', sec, frac // 1000 if micro else frac, len(fr), len(fr)))
            f.write(fr)
mac = b'\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02'
pad = lambda b: b + bytes(max(0, 60 - len(b)))
write('eth', 1, lambda p: pad(mac + b'\x08\x00' + p), '>')
write('vlan', 1, lambda p: pad(mac + b'\x81\x00\x00\x07\x08\x00' + p))
write('sll', 113, lambda p: b'\x00\x00\x00\x01\x00\x06' + mac[:6] + b'\x00\x00\x08\x00' + p)
write('sll2', 276, lambda p: b'\x08\x00\x00\x00\x00\x00\x00\x01\x00\x01\x00\x06' + mac[:6] + b'\x00\x00' + p)
write('null', 0, lambda p: struct.pack('<I', 2) + p)
write('loop', 108, lambda p: struct.pack('>I', 2) + p, '>')
write('raw_us', 101, lambda p: p, '<', True)
EOF
	for f in eth vlan sll sll2 null loop; do
		"$TERN_BIN" ladder -o "$tmp/$f.svg" --title demo "$tmp/$f.pcap"
		cmp -s <(grep -v 'source: ' "$tmp/$f.svg") <(grep -v 'source: ' "$tmp/ref.svg") \
			|| fail "$f framing drew another picture"
		reframed+=("$tmp/$f.svg")
	done
	"$TERN_BIN" ladder -o "$tmp/raw_us.svg" "$tmp/raw_us.pcap"
	grep -Fq '>S. 0:0(0) ack 1 win 65160<' "$tmp/raw_us.svg" || fail "microsecond pcap not drawn"
	reframed+=("$tmp/raw_us.svg")
else
	echo "note: python3 not installed, other framings not checked"
fi

# Well-formed XML (last: without xmllint everything above still ran).
command -v xmllint >/dev/null || { echo "SKIP: xmllint not installed (apt-get install libxml2-utils)"; exit 77; }
for f in "$tmp/a.svg" "$tmp/y.svg" "$tmp/p.svg" "$tmp/t.svg" "$tmp/hand.svg" "$tmp/hand2.svg" "${reframed[@]}"; do
	xmllint --noout "$f" || fail "$f is not well-formed XML"
done
echo "ladder: ok"
