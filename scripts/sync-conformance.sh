#!/usr/bin/env bash
# Refreshes tests/conformance, the snapshot of ../shared/conformance that a clone
# without the shared corpus beside it (CI's fresh clone) tests against. The
# scripts are copied byte for byte: never edit them here.
set -euo pipefail
cd "$(dirname "$0")/.."
src=../shared/conformance
[ -d "$src" ] || { echo "sync-conformance: no corpus at $src" >&2; exit 1; }
note=$(cat tests/conformance/SNAPSHOT.md)
rm -rf tests/conformance
mkdir -p tests/conformance
cp -r "$src"/. tests/conformance/
printf '%s\n' "$note" > tests/conformance/SNAPSHOT.md
echo "tests/conformance now matches $src ($(find tests/conformance -name '*.pkt' | wc -l) scripts)"
