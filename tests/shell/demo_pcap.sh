#!/usr/bin/env bash
# `tern demo` end to end: it prints the story (pings, statistics, the closed-port
# reset), its pcaps open in tshark with zero malformed packets and zero expert
# errors, and the same seed writes byte-identical pcaps while another seed does not.
set -euo pipefail
: "${TERN_BIN:?TERN_BIN must name the tern binary}"
tmp=$(mktemp -d "${TERN_TEST_TMPDIR:-/tmp}/demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$TERN_BIN" demo --seed 7 --pcap "$tmp/a.pcap" --tcp-pcap "$tmp/a-tcp.pcap")
echo "$out"
grep -Eq '^20 packets transmitted, [0-9]+ received' <<<"$out" || fail "no ping statistics"
grep -Eq 'bytes from 10\.0\.0\.2: icmp_seq=[0-9]+ time=' <<<"$out" || fail "no echo replies"
grep -Fq '40000>80 S 1000:1000(0) win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>' <<<"$out" \
	|| fail "probe SYN not shown"
grep -Fq '80>40000 R. 0:0(0) ack 1001 win 0' <<<"$out" || fail "closed port did not answer with RST|ACK"
# The TCP act: a traced handshake with Linux's windows, the states as they change,
# all the data, and TIME-WAIT ending in virtual time.
grep -Eq '10\.0\.0\.1:[0-9]+ > 10\.0\.0\.2:80  S 0:0\(0\) win 64240 <mss 1460,sackOK,TS val [0-9]+ ecr 0,nop,wscale 7>' <<<"$out" \
	|| fail "no SYN with Linux's options in the trace"
grep -Eq '10\.0\.0\.2:80 > 10\.0\.0\.1:[0-9]+  S\. 0:0\(0\) ack 1 win 65160 <mss 1460,sackOK,TS val [0-9]+ ecr [0-9]+,nop,wscale 7>' <<<"$out" \
	|| fail "no SYN-ACK with Linux's options in the trace"
for st in 'A is now SYN-SENT' 'A is now ESTAB' 'B is now SYN-RECV' 'B is now FIN-WAIT-1' 'B is now TIME-WAIT' 'B is now gone'; do
	grep -Fq -- "-- $st" <<<"$out" || fail "trace lacks '$st'"
done
grep -Eq '^A sent [0-9]+ request bytes and received ([0-9]+) of \1 response bytes\.$' <<<"$out" \
	|| fail "the HTTP answer did not arrive whole"

# Determinism: same seed, same bytes; another seed, other bytes.
"$TERN_BIN" demo --seed 7 --pcap "$tmp/b.pcap" --tcp-pcap "$tmp/b-tcp.pcap" >/dev/null
cmp -s "$tmp/a.pcap" "$tmp/b.pcap" || fail "same seed gave different pcaps"
"$TERN_BIN" demo --seed 8 --pcap "$tmp/c.pcap" --tcp-pcap "$tmp/c-tcp.pcap" >/dev/null
! cmp -s "$tmp/a.pcap" "$tmp/c.pcap" || fail "different seeds gave identical pcaps"
# Seeds are 64-bit integers: two that differ only past 2^53 are two runs.
"$TERN_BIN" demo --seed 9007199254740992 --pcap "$tmp/d.pcap" --tcp-pcap "$tmp/d-tcp.pcap" >/dev/null
"$TERN_BIN" demo --seed 9007199254740993 --pcap "$tmp/e.pcap" --tcp-pcap "$tmp/e-tcp.pcap" >/dev/null
! cmp -s "$tmp/d.pcap" "$tmp/e.pcap" || fail "seeds 2^53 and 2^53+1 gave identical pcaps"
out=$("$TERN_BIN" demo --seed 18446744073709551615 --count 1 --pcap "$tmp/f.pcap" --tcp-pcap "$tmp/f-tcp.pcap")
grep -q '^tern demo (seed 18446744073709551615)' <<<"$out" || fail "largest seed not taken"

# Bad arguments get a clear error and exit status 2, never a crash.
for bad in "--count 0" "--count 1e30" "--loss 101" "--seed x" "--seed 1e30" "--seed -1" \
	"--interval -1" "--interval 1e300" "--delay 1e300" "extra"; do
	set +e
	# shellcheck disable=SC2086
	"$TERN_BIN" demo $bad >/dev/null 2>"$tmp/err"; rc=$?
	set -e
	[ "$rc" -eq 2 ] || fail "'demo $bad' exited $rc"
	grep -q 'tern demo' "$tmp/err" || fail "'demo $bad' gave no message"
done

# The captures are sound in Wireshark's eyes (last: without tshark the checks
# above still ran).
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
for f in "$tmp/a.pcap" "$tmp/a-tcp.pcap"; do
	n=$(tshark -r "$f" 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] || fail "$f: tshark read no packets"
	# Packets are judged one by one: the capture is taken at the sender of a lossy
	# link, so a lost segment and its retransmission are both in it, and
	# Wireshark's stream reassembly reports that overlap as an error even though
	# the bytes are identical (the test below checks they are).
	malformed=$(tshark -r "$f" -o tcp.desegment_tcp_streams:FALSE -Y '_ws.malformed' 2>/dev/null | wc -l)
	[ "$malformed" -eq 0 ] || fail "$f: $malformed malformed packets"
	errors=$(tshark -r "$f" -o tcp.desegment_tcp_streams:FALSE -Y '_ws.expert.severity == error' 2>/dev/null | wc -l)
	[ "$errors" -eq 0 ] || fail "$f: $errors packets with expert errors"
done
# The probe capture shows the SYN and the reset, decoded as TCP.
tshark -r "$tmp/a-tcp.pcap" -T fields -e tcp.flags.str 2>/dev/null | tr -d '\302\267' >"$tmp/flags"
grep -q 'S' "$tmp/flags" || fail "no SYN in the probe capture"
grep -q 'AR' "$tmp/flags" || fail "no RST|ACK in the probe capture"
# The TCP act: Wireshark decodes the HTTP request and answer, and every segment
# sent twice (retransmissions) carried the same bytes both times.
tshark -r "$tmp/a.pcap" -Y 'http.request.method == "GET"' 2>/dev/null | grep -q 'GET /demo' \
	|| fail "no HTTP request in the capture"
tshark -r "$tmp/a.pcap" -Y 'http.response.code == 200' 2>/dev/null | grep -q '200 OK' \
	|| fail "no HTTP response in the capture"
tshark -r "$tmp/a.pcap" -o tcp.relative_sequence_numbers:FALSE -Y 'tcp.len > 0' \
	-T fields -e tcp.srcport -e tcp.seq -e tcp.payload 2>/dev/null | sort -u | awk '
	{ k = $1 " " $2; if (k in seen && seen[k] != $3) bad++; seen[k] = $3 }
	END { exit bad > 0 }' || fail "a retransmitted segment carried different bytes"
# The ping capture holds echo requests and replies.
req=$(tshark -r "$tmp/a.pcap" -Y 'icmp.type == 8' 2>/dev/null | wc -l)
rep=$(tshark -r "$tmp/a.pcap" -Y 'icmp.type == 0' 2>/dev/null | wc -l)
[ "$req" -ge 20 ] && [ "$rep" -gt 0 ] || fail "ping capture: $req requests, $rep replies"

echo "demo_pcap: ok"
