#!/usr/bin/env bash
# CI step: the benchmark still builds with every peer and every table
# still returns the right values.  Not a measurement (CI machines are too
# noisy for figures; doc/performance.md says how to measure): each
# implementation runs a few tiny cells, and lfd-bench exits 1 on the first
# wrong value, so a broken adapter or a lookup that returns a wrong value
# fails here instead of in somebody's benchmark run.
# Installs the peers' packages (benchmark only, never library
# dependencies), configures a build of its own (configure looks for the
# peers), builds lfd-bench, runs it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
top=$(pwd)
pkgs="g++ libck-dev libglib2.0-dev libcuckoo-dev libtbb-dev libabsl-dev"
need=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		need="$need $p"
done
if [ -n "$need" ]; then
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	echo "installing:$need"
	$sudo apt-get install -y -q --no-install-recommends $need >/dev/null
fi
LFD_BUILD_DIR="$top/build-bench" scripts/build.sh >/dev/null
make -C build-bench -j"$(nproc)" bench/lfd-bench >/dev/null
bench=build-bench/bench/lfd-bench
impls=$("$bench" -l | awk '{ print $1 }')
# every peer configure could build must be there: a missing package or a
# C++ peer that stopped compiling would otherwise drop out silently
for want in lfdict-h lfdict rcu-auto ck_ht libcuckoo tbb-chm tbb-cum absl \
	ghash-mutex seq; do
	echo "$impls" | grep -qx "$want" || {
		echo "bench smoke: lfd-bench lacks $want"; exit 1; }
done
ran=0
for im in $impls; do
	for cell in "R 1000 1" "U 1000 2" "M 1000 4" "C 1000 2" "B 20000 1"; do
		set -- $cell
		rc=0
		timeout 60 "$bench" -i "$im" -w "$1" -n "$2" -t "$3" -s 0.05 \
			>/dev/null 2>build-bench/smoke.err || rc=$?
		case $rc in
		0) ran=$((ran + 1)) ;;
		3) ;; # a cell this table does not run (threads, workload)
		*) cat build-bench/smoke.err
		   echo "bench smoke: $im $cell: exit $rc"; exit 1 ;;
		esac
	done
done
echo "bench smoke: $ran cells of $(echo "$impls" | wc -l) implementations, every value checked: ok"
