#!/usr/bin/env bash
# bench_smoke: every benchmark `tern bench list` names runs with --quick --json,
# exits 0 and prints exactly one JSON object on stdout with "bench" (its name),
# "tern_version", "quick": true, "machine" (cpu, cores, kernel, mem_bytes) and
# its results ("tern", or for scale "sizes"; lifecycle and bulk give the median of
# an odd number of runs, each listed); then scripts/bench-report.py turns
# those results into a report in a temporary directory (never docs/) with a
# section and a well-formed SVG plot per benchmark. A broken result (no JSON, a
# failed exit, fields missing) still gives a report that says so, never a crash.
# Speeds are not asserted: --quick numbers mean nothing, and benchmarks are not
# tests. Needs python3 (skipped, 77, without it); xmllint for the SVG check.
set -euo pipefail
: "${TERN_BIN:?TERN_BIN must name the tern binary}"
repo=$(cd "$(dirname "$0")/../.." && pwd)
report_py=$repo/scripts/bench-report.py
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
tmp=$(mktemp -d "${TERN_TEST_TMPDIR:-/tmp}/bench_smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

names=$("$TERN_BIN" bench list)
[ -n "$names" ] || fail "tern bench list names nothing"
mkdir "$tmp/results"
bad=()
for name in $names; do
	t0=$(date +%s)
	rc=0
	timeout --kill-after=10 120 "$TERN_BIN" bench "$name" --quick --json \
		>"$tmp/results/$name.json" 2>"$tmp/results/$name.log" </dev/null || rc=$?
	echo "$rc" >"$tmp/results/$name.status"
	echo "$name: exit $rc in $(($(date +%s) - t0)) s"
	if [ "$rc" -ne 0 ]; then
		sed 's/^/  log: /' "$tmp/results/$name.log" | tail -5
		bad+=("$name: exit $rc")
		continue
	fi
	if ! python3 - "$name" "$tmp/results/$name.json" <<'EOF'; then
import json, math, sys
name, path = sys.argv[1], sys.argv[2]
text = open(path).read()
try:
    d = json.loads(text)   # the whole of stdout: one value, nothing else
except ValueError as e:
    sys.exit("stdout is not exactly one JSON value: %s; it starts %r" % (e, text[:200]))
if not isinstance(d, dict):
    sys.exit("stdout is JSON but not an object")
if text.strip().count("\n"):
    sys.exit("the JSON object spans several lines")
if d.get("bench") != name:
    sys.exit('"bench" is %r, not %r' % (d.get("bench"), name))
if not isinstance(d.get("tern_version"), str):
    sys.exit('no "tern_version"')
if d.get("quick") is not True:
    sys.exit('"quick" is not true')
m = d.get("machine")
if not isinstance(m, dict) or not all(k in m for k in ("cpu", "cores", "kernel", "mem_bytes")):
    sys.exit('"machine" lacks cpu, cores, kernel or mem_bytes: %r' % (m,))
if name == "scale":
    sizes = d.get("sizes")
    if not isinstance(sizes, list) or not sizes or not all(isinstance(s, dict) for s in sizes):
        sys.exit('"sizes" is not a list of objects')
elif not isinstance(d.get("tern"), dict) or not d["tern"]:
    sys.exit('"tern" is not an object with results')
# Rates taken over several runs report the median run, with every run listed.
each = {"lifecycle": ("rates", "rate"), "bulk": ("gbps_runs", "gbps")}.get(name)
if each:
    runs, v = d.get("runs"), d["tern"].get(each[0])
    if not isinstance(runs, int) or runs < 3 or runs % 2 == 0 or not isinstance(v, list) or len(v) != runs:
        sys.exit('"runs" (%r) is not an odd count >= 3 of tern.%s (%r)' % (runs, each[0], v))
    if d["tern"].get(each[1]) != sorted(v)[runs // 2]:
        sys.exit('tern.%s %r is not the median of %r' % (each[1], d["tern"].get(each[1]), v))
EOF
		bad+=("$name: bad JSON")
	fi
done

# The report of these results, written into the temporary directory; the
# hand-written notes are read from the repository (read only).
python3 "$report_py" "$tmp/results" "$tmp/report/benchmarks.md" --notes "$repo/docs/bench/notes" ||
	fail "bench-report.py failed"
md=$tmp/report/benchmarks.md
for name in $names; do
	grep -q "^## $name: " "$md" || fail "the report has no section for $name"
	case " ${bad[*]:-} " in *" $name: "*) continue ;; esac
	[ -s "$tmp/report/bench/$name.svg" ] || fail "no plot for $name"
	grep -q "^!\[$name\](bench/$name.svg)$" "$md" || fail "the report does not show the plot of $name"
done
grep -q '^## Summary' "$md" || fail "no summary"
grep -q '^| CPU | ' "$md" && grep -q '^| commit | ' "$md" && grep -q '^| kernel | ' "$md" || fail "no machine description"

# Broken results: a benchmark that printed nothing and failed, one that printed
# garbage, one whose fields are all missing. The report says so for each.
mkdir "$tmp/broken"
: >"$tmp/broken/lifecycle.json"
echo 'tern bench lifecycle: something went wrong' >"$tmp/broken/lifecycle.log"
echo 1 >"$tmp/broken/lifecycle.status"
echo '{"bench": "memory", "tern": ' >"$tmp/broken/memory.json"
echo 0 >"$tmp/broken/memory.status"
echo '{"bench": "synflood", "linux_error": "needs root"}' >"$tmp/broken/synflood.json"
echo '{"bench": "scale", "sizes": [{}, {"connections": null}]}' >"$tmp/broken/scale.json"
echo '{"bench": "bulk", "tern": {"gbps": "fast"}, "linux": {"gbps": null}}' >"$tmp/broken/bulk.json"
echo '{"bench": "tun", "tern": [], "linux": 7, "target_gbps": "x"}' >"$tmp/broken/tun.json"
python3 "$report_py" "$tmp/broken" "$tmp/broken-report/b.md" --notes "$tmp/nonotes" ||
	fail "bench-report.py failed on broken results"
b=$tmp/broken-report/b.md
grep -Fq 'Not measured: `tern bench lifecycle` printed nothing on stdout (exit status 1)' "$b" || fail "no failure said for lifecycle"
grep -Fq 'tern bench lifecycle: something went wrong' "$b" || fail "lifecycle's log is not quoted"
grep -Fq 'Not measured: `tern bench memory` printed no valid JSON object' "$b" || fail "no failure said for memory"
grep -Fq 'Linux baseline not measured: needs root' "$b" || fail "linux_error not reported"
grep -q '^| cookie SYN-ACKs/s, one core | — | — | — |' "$b" || fail "missing fields are not dashes"
for name in lifecycle synflood memory scale bulk tun; do
	grep -q "^## $name: " "$b" || fail "the broken report has no section for $name"
done

if command -v xmllint >/dev/null; then
	for f in "$tmp"/report/bench/*.svg "$tmp"/broken-report/bench/*.svg; do
		[ -e "$f" ] || continue
		xmllint --noout "$f" || fail "$f is not well-formed XML"
	done
else
	echo "note: xmllint not installed, SVGs not checked (apt-get install libxml2-utils)"
fi

[ ${#bad[@]} -eq 0 ] || fail "benchmarks that failed the smoke test: ${bad[*]}"
echo "bench_smoke: ok ($(echo $names | wc -w) benchmarks)"
