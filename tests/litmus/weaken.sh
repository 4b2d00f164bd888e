#!/bin/sh
# weaken.sh - show that the evidence can fail: rebuild the Relacy model
# checker (tests/litmus/mc_relacy.cpp, which compiles the real lib/ code)
# with one memory-order site of lib/atomics.h weakened at a time
# (-DLFD_MO_<SITE>=...), and report which checks catch it.
#
# Usage: tests/litmus/weaken.sh [iterations]   (from the source tree top or
# anywhere; needs g++, relacy-dev, liburcu-dev).  Prints one table row per
# weakening: site, order, result ("caught by: <tests>" or "NOT caught").
# Exit status: 0 if the table was produced (it is a report, not a test).
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
iters=${1:-20000}
cxx=${CXX:-g++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
build() {
	$cxx -std=gnu++14 -O1 -fpermissive -w -I"$src/include" -I"$src/lib" \
		-I/usr/include/x86_64-linux-gnu "$@" \
		"$src/tests/litmus/mc_relacy.cpp" -o "$tmp/mc" \
		-lurcu-bp -lurcu-common
}
row() { # site order extra-flags...
	site=$1 order=$2
	shift 2
	if ! build "-DLFD_MO_$site=memory_order_$order" "$@"; then
		printf '| %-15s | %-8s | build failed |\n' "$site" "$order"
		return
	fi
	"$tmp/mc" "$iters" >"$tmp/out" 2>&1
	failed=$(sed -n 's/^mc_relacy: \([a-z_]*\) *FAILED$/\1/p' "$tmp/out" |
		tr '\n' ' ')
	if [ -n "$failed" ]; then
		printf '| %-15s | %-8s | caught by mc_relacy: %s|\n' "$site" \
			"$order" "$failed"
	else
		printf '| %-15s | %-8s | NOT caught by mc_relacy |\n' "$site" \
			"$order"
	fi
}
echo "| site            | weakened | result |"
echo "|-----------------|----------|--------|"
build && "$tmp/mc" "$iters" >"$tmp/out" 2>&1 &&
	echo "| (none)          | -        | all pass |"
row LINK_LOAD acquire
row LINK_LOAD relaxed
row LINK_CAS acq_rel
row LINK_CAS release
row LINK_CAS acquire
row LINK_CAS relaxed
row UNLINK_CAS relaxed
row MARK_CAS relaxed
row VALUE_LOAD acquire
row VALUE_LOAD relaxed
row VALUE_CAS acq_rel -DLFD_MO_VALUE_CAS_FAIL=memory_order_acquire
row VALUE_CAS release -DLFD_MO_VALUE_CAS_FAIL=memory_order_relaxed
row VALUE_CAS acquire -DLFD_MO_VALUE_CAS_FAIL=memory_order_acquire
row VALUE_CAS_FAIL acquire
row VALUE_CAS_FAIL relaxed
row SIZE_STORE relaxed
row SIZE_LOAD relaxed
row SEG_STORE relaxed
row SEG_LOAD relaxed
row CLEAR_CAS relaxed
row CLAIM_CAS relaxed
row DONE_ADD release
row DONE_ADD acquire
row DONE_ADD relaxed
row RAW_PUSH_CAS release
row RAW_PUSH_CAS relaxed
row RAW_TAKE_XCHG relaxed
row RAW_PLACE_CAS release
row RAW_PLACE_CAS relaxed
row RAW_POP_LOAD relaxed
row RAW_POP_CAS relaxed
