#!/usr/bin/env bash
# Makes sure the Debian packages the build and the tests need are present.
# As root it installs what is missing (apt-get); otherwise it stops and prints the
# exact command to run. Usage: scripts/deps.sh [build|check]
set -euo pipefail

build_pkgs=(cmake make gcc pkg-config)
check_pkgs=(libcmocka-dev tshark iproute2 curl netcat-openbsd python3 libxml2-utils)

want=("${build_pkgs[@]}")
[ "${1:-build}" = check ] && want+=("${check_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "tern: missing Debian packages: ${missing[*]}" >&2
  echo "tern: run as root:  apt-get update && $cmd" >&2
  exit 1
fi
echo "tern: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q "${missing[@]}" >&2
