#!/usr/bin/env bash
# CI step for examples/kvserver (run from the repository top after the main
# steps; build/ is built).  Installs the memcached clients if missing, then
# runs the server's tests (memccapable -a + kvtest), the two-server ketama
# demo, the three-server twemproxy test (a server killed mid-run) and the
# eviction test (hit ratio and RSS against memcached on one trace).  The benchmark (make bench-kvserver) is not run here: CI machines are
# too noisy for it to mean anything.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=
command -v memccapable >/dev/null 2>&1 || need="$need libmemcached-tools"
pkg-config --exists libmemcached 2>/dev/null || need="$need libmemcached-dev"
command -v nutcracker >/dev/null 2>&1 || need="$need nutcracker"
command -v memcached >/dev/null 2>&1 || need="$need memcached"
if [ -n "$need" ]; then
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y -q $need >/dev/null
fi
make -C build -j"$(nproc)" examples/kvserver/lfd-kvserver examples/kvserver/kvtest >/dev/null
make -C build check-TESTS TESTS=examples/kvserver/check.sh || {
	cat build/examples/kvserver/check.sh.log; exit 1; }
grep -q '27 ASCII tests passed' build/examples/kvserver/check.sh.log || {
	echo "kvserver: memccapable did not pass all 27 ASCII tests (skipped?)"
	cat build/examples/kvserver/check.sh.log; exit 1; }
make -C build shard-kvserver
make -C build proxy-kvserver
make -C build evict-kvserver
# The systemd unit parses and names an executable (where systemd is there:
# a container may not have it), pointed at the server just built.
if command -v systemd-analyze >/dev/null 2>&1; then
	unit=$(mktemp -d)/lfd-kvserver.service
	sed "s|/usr/local/bin/lfd-kvserver|$PWD/build/examples/kvserver/lfd-kvserver|" \
		examples/kvserver/lfd-kvserver.service >"$unit"
	systemd-analyze verify "$unit"
	echo "systemd unit: verified"
fi
