#!/usr/bin/env bash
# The tern command's front door: help lists the subcommands, version prints, an
# unknown subcommand is refused with exit status 2 and a message.
set -euo pipefail
: "${TERN_BIN:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$TERN_BIN" --help | grep -q '^  demo ' || fail "help does not list demo"
"$TERN_BIN" help | grep -q 'usage: tern' || fail "help has no usage"
"$TERN_BIN" version | grep -Eq '^tern [0-9]+\.[0-9]+\.[0-9]+$' || fail "version"
set +e
"$TERN_BIN" frobnicate 2>/tmp/tern-cli-err.$$; rc=$?
"$TERN_BIN" >/dev/null 2>&1; rc0=$?
set -e
[ "$rc" -eq 2 ] || fail "unknown command exited $rc"
grep -q "unknown command 'frobnicate'" /tmp/tern-cli-err.$$ || fail "no message for unknown command"
rm -f /tmp/tern-cli-err.$$
[ "$rc0" -eq 2 ] || fail "no command exited $rc0"
echo "cli: ok"
