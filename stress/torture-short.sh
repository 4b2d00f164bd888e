#!/bin/sh
# make check: a short torture of every mode of stress/lfd-torture.
# LFD_TORTURE_SCALE=<factor> scales every duration (default 1; 0.3 in
# sanitizer builds).  LFD_TORTURE=<path> picks the binary.
# LFD_TORTURE_STOP_ON_FAIL=1 stops at the first failing mode.  Exit 0 only if
# every mode ends with SUCCESS (a mode that cannot run in this build, e.g.
# the stall modes with the blocking pthread RCU flavour, is skipped).
bin=${LFD_TORTURE:-./stress/lfd-torture}
[ -x "$bin" ] || bin=$(dirname "$0")/lfd-torture
info=$("$bin" --build-info) || exit 99
echo "lfd-torture build: $info"
case $info in
*sanitizer=none*) scale=${LFD_TORTURE_SCALE:-1}; many=256 ;;
*) scale=${LFD_TORTURE_SCALE:-0.3}; many=64 ;;
esac
# ThreadSanitizer cannot see liburcu's grace periods: every run of a TSan
# build uses the pthread flavour (tests/rcu_pthread.c).
memb=memb
case $info in *sanitizer=thread*|*default-flavor=pthread*) memb=pthread ;; esac
secs() { awk -v s="$1" -v f="$scale" 'BEGIN { d = s * f; if (d < 1) d = 1; printf "%.1f", d }'; }
fails=0; runs=0; skipped=0; failed_modes=
run() {
	name=$1; d=$(secs "$2"); shift 2
	echo "=== $name: $bin --duration=$d $*"
	runs=$((runs + 1))
	"$bin" --duration="$d" "$@"
	rc=$?
	if [ $rc -eq 77 ]; then
		skipped=$((skipped + 1))
	elif [ $rc -ne 0 ]; then
		echo "=== $name: FAILED (exit $rc)"
		fails=$((fails + 1)); failed_modes="$failed_modes $name"
		[ -n "$LFD_TORTURE_STOP_ON_FAIL" ] && exit 1
	fi
}
run mixed 7 --mode=mixed
run storm 8 --mode=storm
run chain 5 --mode=chain
run hot 5 --mode=hot
run oversub 6 --mode=oversub --threads=$many
run churn 6 --mode=churn
run stall 6 --mode=stall
run enomem 6 --mode=enomem
run reader-stall 6 --mode=reader-stall
run shrink-stall 6 --mode=shrink-stall
run fork 6 --mode=fork
run clear 6 --mode=clear
run mixed-$memb-nodtor 5 --mode=mixed --flavor=$memb --dtor=off
# without a destructor, helpers hand chains to the allocations (slab.c,
# "Handed-over chains"): with forks, and with many threads preempted
run fork-nodtor 4 --mode=fork --dtor=off
run oversub-nodtor 4 --mode=oversub --threads=$many --dtor=off
run fixed-pthread 4 --mode=mixed --flavor=pthread --fixed --capacity=256 --keys=2048
echo "=== torture-short: $runs runs, $fails failed,$failed_modes $skipped skipped"
[ $fails -eq 0 ]
