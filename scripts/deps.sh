#!/usr/bin/env bash
# Install lfdict's build and test dependencies from Debian 12 packages.
# Non-interactive; does nothing for packages already installed.
set -euo pipefail
pkgs=(build-essential autoconf automake libtool pkg-config
      liburcu-dev check clang libclang-rt-14-dev libmemcached-tools
      mandoc relacy-dev gcc-multilib)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
