#!/bin/sh
# bench/run.sh - drive lfd-bench: one process per cell, repetitions
# interleaved across peers, then bench/report.py for the tables and plots.
#
#   bench/run.sh quick|full OUTDIR [path/to/lfd-bench]
#
# quick: the cells of issue 21's target table, N up to 1,000,000, 3
#        repetitions of 0.15 s cells (under three minutes on the 2-core box).
# full:  every workload x N in {1e3, 1e6, 1.6e7} x threads {1,2,8,64} x
#        every implementation, 5 repetitions of 1 s cells (hours at 16M).
# A peer lfd-bench was built without (a C++ peer whose package configure did
# not find) is left out; a cell an implementation does not run (lfd-bench
# exits 3: absl and seq above 1 thread, tbb-cum in M and U) is skipped.
# Environment overrides (full mode, or to rerun a slice):
#   BENCH_REPS BENCH_SECS BENCH_WL ("R G M U C B") BENCH_N BENCH_THREADS
#   BENCH_IMPLS BENCH_TIMEOUT (seconds per cell: quick 6, full 600; a
#   cell over it is recorded as a timeout, a collapse, not a failure)
# Output in OUTDIR: raw.csv (one line per cell and repetition), summary.csv,
# ratios.csv, report.md, *.png.  Exit status 1 if any cell failed its checks.
set -u
mode=${1:?usage: run.sh quick|full OUTDIR [lfd-bench]}
out=${2:?usage: run.sh quick|full OUTDIR [lfd-bench]}
bin=${3:-bench/lfd-bench}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
raw=$out/raw.csv
log=$out/run.log
: >"$log"
if [ "$mode" = quick ]; then timeout_s=${BENCH_TIMEOUT:-6}; else timeout_s=${BENCH_TIMEOUT:-600}; fi
LF="lfdict-h lfdict"

# A cell list: lines "WL N THREADS IMPL...".
cells() {
	if [ "$mode" = quick ]; then
		M=1000000
		echo "U 1000 2 $LF rcu-auto libcuckoo"
		echo "U 1000 8 $LF libcuckoo tbb-chm"
		echo "U 1000 64 $LF libcuckoo tbb-chm"
		echo "R 1000 1 $LF rcu-auto ck_ht libcuckoo absl seq"
		echo "R $M 2 $LF ck_ht libcuckoo tbb-chm tbb-cum"
		echo "G $M 2 $LF"
		echo "M $M 2 $LF ck_ht libcuckoo"
		echo "B $M 1 $LF rcu-auto libcuckoo tbb-chm tbb-cum absl seq"
		return
	fi
	all=${BENCH_IMPLS:-"lfdict-h lfdict lfdict-memb rcu-auto rcu-pre ck_ht libcuckoo tbb-chm tbb-cum ghash-mutex ghash-rwlock absl seq"}
	for w in ${BENCH_WL:-R G M U C B}; do
		for n in ${BENCH_N:-1000 1000000 16000000}; do
			for t in ${BENCH_THREADS:-1 2 8 64}; do
				echo "$w $n $t $all"
			done
		done
	done
}

if [ "$mode" = quick ]; then
	reps=${BENCH_REPS:-3}; secs=${BENCH_SECS:-0.15}
else
	reps=${BENCH_REPS:-5}; secs=${BENCH_SECS:-1}
fi
built=" $("$bin" -l | cut -d' ' -f1 | tr '\n' ' ') "
[ "$built" != "  " ] || { echo "run.sh: cannot run $bin" >&2; exit 2; }
rm -f "$out/.failed"
# BENCH_APPEND=1 adds to an earlier raw.csv (e.g. a slice rerun with
# BENCH_REP0=6 so repetition numbers do not clash)
[ "${BENCH_APPEND:-0}" = 1 ] || rm -f "$raw"
[ -s "$raw" ] || echo "impl,wl,n,threads,rep,ops,secs,mops,mem_bytes_per_entry,final_size" >"$raw"
{
	echo "# lfd-bench $mode: reps=$reps secs=$secs $(date -u +%FT%TZ)"
	echo "# host: $(uname -srm); $(nproc) CPUs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
	echo "# load: $(cat /proc/loadavg)"
} >>"$log"
cat "$log"
status=0
start=$(date +%s)
rep=${BENCH_REP0:-1}
last=$((rep + reps - 1))
while [ "$rep" -le "$last" ]; do
	cells | while read -r w n t impls; do
		# only the implementations this lfd-bench has
		set --
		for i in $impls; do
			case $built in *" $i "*) set -- "$@" "$i" ;; esac
		done
		[ $# -gt 0 ] || continue
		# rotate the implementation order by the repetition number, so
		# no peer always runs first (or right after a 16M cell)
		k=$(( (rep - 1) % $# ))
		while [ "$k" -gt 0 ]; do x=$1; shift; set -- "$@" "$x"; k=$((k - 1)); done
		for i in "$@"; do
			line=$(timeout "$timeout_s" "$bin" -i "$i" -w "$w" -n "$n" -t "$t" -s "$secs" -r "$rep" 2>>"$log")
			rc=$?
			if [ $rc = 0 ]; then
				echo "$line" >>"$raw"
			elif [ $rc = 3 ]; then
				: # not a cell this implementation runs (said in the log)
			elif [ $rc = 124 ]; then
				# not a wrong answer: the table took longer than the
				# cell's time limit (report.py counts it as a collapse)
				echo "TIMEOUT after ${timeout_s}s: $i $w n=$n t=$t rep=$rep" | tee -a "$log" >&2
				echo "$i,$w,$n,$t,$rep,0,$timeout_s,timeout,nan,0" >>"$raw"
			else
				echo "FAILED or timed out: $i $w n=$n t=$t rep=$rep" | tee -a "$log" >&2
				echo "$i,$w,$n,$t,$rep,0,0,nan,nan,0" >>"$raw"
				touch "$out/.failed"
			fi
		done
	done
	echo "repetition $rep/$last done after $(( $(date +%s) - start )) s" | tee -a "$log"
	rep=$((rep + 1))
done
[ -e "$out/.failed" ] && status=1
python3 "$here/report.py" "$out" "$mode" || status=1
echo "total $(( $(date +%s) - start )) s; results in $out/report.md" | tee -a "$log"
exit $status
