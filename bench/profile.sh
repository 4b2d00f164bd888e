#!/bin/sh
# bench/profile.sh - profile one lfd-bench cell with perf's software clock
# (hardware counters are unavailable on the benchmark machine) or callgrind.
#
#   bench/profile.sh BUILDDIR IMPL WL N THREADS [SECONDS] [perf|callgrind]
#
# perf:      perf record -e cpu-clock -g, then the top symbols (self and
#            children) on stdout; data in /tmp/lfd-prof.IMPL.WL.N.T.data
# callgrind: a short run under valgrind --tool=callgrind (inclusive costs
#            per function), output /tmp/lfd-prof.IMPL.WL.N.T.callgrind
set -eu
b=${1:?BUILDDIR}; impl=${2:?IMPL}; wl=${3:?WL}; n=${4:?N}; t=${5:?THREADS}
secs=${6:-2}; tool=${7:-perf}
base=/tmp/lfd-prof.$impl.$wl.$n.$t
export LD_LIBRARY_PATH="$b/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exe="$b/bench/.libs/lfd-bench"
[ -x "$exe" ] || exe="$b/bench/lfd-bench"
case $tool in
perf)
	perf record -q -e cpu-clock -F 2000 -g -o "$base.data" -- \
		"$exe" -i "$impl" -w "$wl" -n "$n" -t "$t" -s "$secs" >/dev/null
	perf report -i "$base.data" --no-children --stdio --percent-limit 1.5 \
		-g none --sort symbol 2>/dev/null | grep -v '^#' | grep -v '^$'
	;;
callgrind)
	valgrind --tool=callgrind --callgrind-out-file="$base.callgrind" \
		"$exe" -i "$impl" -w "$wl" -n "$n" -t "$t" -s "$secs" >/dev/null
	callgrind_annotate --inclusive=no "$base.callgrind" 2>/dev/null | head -40
	;;
esac
