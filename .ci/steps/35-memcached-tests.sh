#!/usr/bin/env bash
# CI step: memcached 1.6.18's own text-protocol tests (25 files of its t/,
# see examples/kvserver/memcached-tests.sh) against lfd-kvserver, and against
# Debian's memcached as the control (run from the repository top after the
# main steps; build/ is built).  Installs what the run needs if missing:
# memcached (the control), dpkg-dev (apt-get source unpacks with
# dpkg-source), perl (prove).  About 3 minutes, most of it the tests' own
# sleeps and getset.t's 38,000 assertions, twice.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=
[ -x /usr/bin/memcached ] || need="$need memcached"
command -v dpkg-source >/dev/null 2>&1 || need="$need dpkg-dev"
command -v prove >/dev/null 2>&1 || need="$need perl"
sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
if [ -n "$need" ]; then
	$sudo apt-get install -y -q $need >/dev/null
fi
make -C build -j"$(nproc)" examples/kvserver/lfd-kvserver >/dev/null
# apt-get update and source run with the script's own sources list and
# lists directory: no root needed, the system's apt state is not touched
make -C build check-memcached
