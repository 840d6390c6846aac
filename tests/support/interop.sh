# tests/support/interop.sh: what the shell tests that run tern on a TUN device
# against the kernel share (interop_tun, interop_kernel, interop_offload,
# live_trace). Sourced, never run: set TEST_NAME first.
#
#   fail MSG...      FAIL on stderr, then every $tmp/*.out and *.err file (the
#                    logs of tern serve, trace, pcap...) indented, exit 1
#   skip MSG...      SKIP, exit 77 (CTest's SKIP_RETURN_CODE)
#   say MSG...       a progress line prefixed by the test's name
#   interop_require TOOL...
#                    skips unless root, /dev/net/tun and every TOOL are there
#   interop_tmp      makes $tmp, a fresh directory under $TERN_TEST_TMPDIR or /tmp
#   interop_stop PID...
#                    for cleanups: SIGTERM to each running PID (empty ones are
#                    skipped), up to 5 s for it to go, then SIGKILL
#   interop_del_ns NS...
#                    for cleanups: kills what runs in each namespace, deletes it
#
# Each test keeps its own cleanup() (what it starts differs) and traps it.

fail() {
	echo "FAIL: $*" >&2
	for f in "${tmp:-/nonexistent}"/*.out "${tmp:-/nonexistent}"/*.err; do
		[ -f "$f" ] && sed "s|^|  $(basename "$f"): |" "$f" >&2
	done
	exit 1
}
skip() { echo "SKIP: $*"; exit 77; }
say() { echo "$TEST_NAME: $*"; }

interop_require() {
	[ "$(id -u)" = 0 ] || skip "needs root (TUN device and network namespaces)"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	local tool
	for tool in ip "$@"; do
		command -v "$tool" >/dev/null 2>&1 || skip "no $tool"
	done
}

interop_stop() {
	local p
	for p in "$@"; do
		[ -n "$p" ] && kill -0 "$p" 2>/dev/null || continue
		kill -TERM "$p" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
}

interop_del_ns() {
	local n
	for n in "$@"; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
		ip netns del "$n" 2>/dev/null || true
	done
}

interop_tmp() {
	tmp=$(mktemp -d "${TERN_TEST_TMPDIR:-/tmp}/$TEST_NAME.XXXXXX")
}
