#!/usr/bin/env bash
# Configure and build lfdict out of tree in build/ (or $LFD_BUILD_DIR),
# with any extra configure arguments given.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bdir=${LFD_BUILD_DIR:-$top/build}
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null)
mkdir -p "$bdir"
cd "$bdir"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ] || [ $# -gt 0 ]; then
	"$top/configure" --enable-Werror "$@" >configure.out ||
		{ cat configure.out; exit 1; }
fi
make -j"$(nproc)" all >/dev/null
