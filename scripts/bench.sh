#!/usr/bin/env bash
# scripts/bench.sh: what `make bench` runs after building. Every benchmark that
# `tern bench list` names runs once with --json, one after the other (they are
# measurements: never two at a time), its JSON saved to RESULTS/NAME.json, its
# stderr to NAME.log and its exit status to NAME.status; then
# scripts/bench-report.py turns the lot into the report and its plots. A
# benchmark that fails or hangs does not stop the others: the report's section
# for it says what happened, from its log.
#
# Where perf works, each benchmark runs under `perf record` (a sampling profiler
# at 499 Hz: no measurable cost) and the flat profile of the tern process (the
# baseline's processes left out) goes to NAME.profile.txt, which the report
# shows as "where the time goes". The samples cover the whole run, set-up
# included.
#
#   scripts/bench.sh [--quick] [--no-profile] [--build DIR] [--results DIR]
#                    [--report FILE] [NAME...]
#
#   --quick        smoke-test sizes (tern bench --quick): checks the pipeline in
#                  seconds; the report then says it is not representative
#   --no-profile   no perf, even where it works
#   --build DIR    where tern was built (default: build)
#   --results DIR  default: DIR/bench-results of the build
#   --report FILE  default: docs/benchmarks.md (plots in docs/bench/)
#   NAME...        only these benchmarks (default: all)
#
# $BENCH_TIMEOUT (seconds, default 3600) bounds each benchmark. Exit status 0
# when the report was written, even if benchmarks failed (they are listed on
# stderr); 2 for bad arguments; 1 when no report could be written.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
build=build
results=
report=docs/benchmarks.md
quick=()
names=()
profile=true
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=(--quick) ;;
	--no-profile) profile=false ;;
	--build) build=${2:?--build needs a directory}; shift ;;
	--results) results=${2:?--results needs a directory}; shift ;;
	--report) report=${2:?--report needs a file}; shift ;;
	-h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "bench.sh: unknown option '$1'" >&2; exit 2 ;;
	*) names+=("$1") ;;
	esac
	shift
done
results=${results:-$build/bench-results}
tern=$build/tern
timeout_s=${BENCH_TIMEOUT:-3600}
case $timeout_s in ''|*[!0-9]*) echo "bench.sh: BENCH_TIMEOUT must be a number of seconds" >&2; exit 2 ;; esac

[ -x "$tern" ] || { echo "bench.sh: $tern is not built (run make build)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench.sh: python3 is needed for the report (apt-get install python3)" >&2; exit 1; }
all=$("$tern" bench list) || { echo "bench.sh: '$tern bench list' failed" >&2; exit 1; }
if [ ${#names[@]} -eq 0 ]; then
	mapfile -t names <<<"$all"
else
	for n in "${names[@]}"; do
		grep -qx -- "$n" <<<"$all" || { echo "bench.sh: no benchmark '$n' (tern bench list: $(tr '\n' ' ' <<<"$all"))" >&2; exit 2; }
	done
fi
[ "$(id -u)" = 0 ] || echo "bench.sh: not root: the Linux baselines that need network namespaces will say so in the report" >&2

# One run's results only: older files would mix runs in one report.
mkdir -p "$results"
rm -f "$results"/*.json "$results"/*.log "$results"/*.status "$results"/*.profile.txt "$results"/*.perf.data
# perf may be missing or not allowed (perf_event_paranoid, containers): try it.
perf=()
if $profile && command -v perf >/dev/null &&
	perf record -q -o "$results/probe.perf.data" -- true >/dev/null 2>&1; then
	perf=(perf record -q -F 499)
fi
rm -f "$results/probe.perf.data"
[ ${#perf[@]} -gt 0 ] || ! $profile || echo "bench.sh: perf does not work here: no profiles in the report" >&2
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
dirty=false
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && dirty=true
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
# The tern command is linked with link-time optimisation when the compiler can.
lto=false
grep -q -- -flto "$build/CMakeFiles/tern.dir/link.txt" 2>/dev/null && lto=true
# The stack's own objects are built at -O3 in the optimised builds (CMakeLists.txt).
opt=-O2
grep -q -- -O3 "$build/CMakeFiles/tern_obj.dir/flags.make" 2>/dev/null && opt=-O3
python3 - "$results/meta.json" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$commit" "$dirty" "${build_type:-unknown}" \
	"${quick[*]:-}" "$lto" "$opt" <<'EOF'
import json, sys
path, date, commit, dirty, build, quick, lto, opt = sys.argv[1:9]
flags = opt + " -g" + (", LTO" if lto == "true" else "")
json.dump({"date": date, "commit": commit, "dirty": dirty == "true",
           "build": build + (" (" + flags + ")" if build == "RelWithDebInfo" else ""),
           "quick": quick == "--quick"}, open(path, "w"))
EOF

failed=()
for name in "${names[@]}"; do
	echo "bench: $name ..." >&2
	t0=$(date +%s)
	data=$results/$name.perf.data
	timeout --kill-after=30 "$timeout_s" ${perf[@]+"${perf[@]}" -o "$data" --} "$tern" bench "$name" --json \
		${quick[@]+"${quick[@]}"} >"$results/$name.json" 2>"$results/$name.log" </dev/null
	rc=$?
	echo "$rc" >"$results/$name.status"
	if [ -s "$data" ]; then
		samples=$(perf report -i "$data" --stdio --comm tern 2>/dev/null | sed -n 's/^# Samples: \([0-9.]*[KMG]\{0,1\}\).*/\1/p' | head -1)
		{
			echo "perf record -F 499, the tern process over the whole run: ${samples:-?} samples; symbols at 0.5 % or more"
			perf report -i "$data" --stdio --no-children --comm tern --sort dso,sym -g none \
				--percent-limit 0.5 2>/dev/null | grep -v '^#' | grep -v '^[[:space:]]*$' | head -40
		} >"$results/$name.profile.txt"
	fi
	rm -f "$data"
	[ "$rc" -eq 124 ] && echo "bench.sh: timed out after $timeout_s s" >>"$results/$name.log"
	echo "bench: $name: exit $rc after $(($(date +%s) - t0)) s" >&2
	[ "$rc" -eq 0 ] || failed+=("$name")
done

mkdir -p "$(dirname "$report")"
python3 scripts/bench-report.py "$results" "$report" || { echo "bench.sh: the report was not written" >&2; exit 1; }
if [ ${#failed[@]} -gt 0 ]; then
	echo "bench.sh: failed: ${failed[*]} (see their sections in $report and $results/NAME.log)" >&2
fi
exit 0
