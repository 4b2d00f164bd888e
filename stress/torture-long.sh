#!/bin/sh
# make torture: the long torture.  Usage: torture-long.sh [seconds] [log]
# The duration (default 3600 s) is split over every mode; each mode's
# output, with its seed and its SUCCESS/FAILURE line, goes to the log.
total=${1:-3600}
log=${2:-torture.log}
bin=${LFD_TORTURE:-./stress/lfd-torture}
[ -x "$bin" ] || bin=$(dirname "$0")/lfd-torture
modes="mixed storm chain hot oversub churn stall enomem reader-stall shrink-stall fork memb-nodtor"
n=$(echo $modes | wc -w)
each=$(awk -v t="$total" -v n="$n" 'BEGIN { printf "%d", t / n < 1 ? 1 : t / n }')
: >"$log"
echo "lfd-torture long run: $total s in $n modes of $each s; log $log"
fails=0
for m in $modes; do
	case $m in
	memb-nodtor) args="--mode=mixed --flavor=memb --dtor=off" ;;
	storm) args="--mode=storm --keys=1000000" ;;
	oversub) args="--mode=oversub --threads=1000" ;;
	*) args="--mode=$m" ;;
	esac
	echo "=== $m: $bin --duration=$each -v --interval=60 $args" | tee -a "$log"
	"$bin" --duration="$each" -v --interval=60 $args >>"$log" 2>&1
	rc=$?
	tail -n 1 "$log"
	[ $rc -eq 0 ] || [ $rc -eq 77 ] || fails=$((fails + 1))
done
if [ $fails -eq 0 ]; then
	echo "torture: SUCCESS (all $n modes; log $log)" | tee -a "$log"
else
	echo "torture: FAILURE ($fails of $n modes; log $log)" | tee -a "$log"
	exit 1
fi
