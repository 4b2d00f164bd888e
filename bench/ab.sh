#!/bin/sh
# bench/ab.sh - A/B one lfd-bench cell between two builds of lfdict,
# runs interleaved (A, B, A, B, ...) so that machine noise hits both alike.
#
#   bench/ab.sh BUILD_A BUILD_B REPS lfd-bench-args...
#   e.g. bench/ab.sh /tmp/bold build 5 -i lfdict-h -w R -n 1000000 -t 1 -s 0.3
#
# Prints, per build, the sorted Mops/s of each run and their median, then
# the ratio B/A of each pair of runs (A's run and the B run right after it)
# and their median [min-max]: the figure doc/performance.md quotes as
# "paired runs".
set -eu
a=${1:?BUILD_A}; b=${2:?BUILD_B}; reps=${3:?REPS}; shift 3
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
i=0
while [ "$i" -lt "$reps" ]; do
	for d in "$a" "$b"; do
		exe=$d/bench/.libs/lfd-bench
		[ -x "$exe" ] || exe=$d/bench/lfd-bench
		printf '%s ' "$d" >>"$tmp"
		LD_LIBRARY_PATH=$d/lib/.libs "$exe" "$@" | cut -d, -f8 >>"$tmp"
	done
	i=$((i + 1))
done
for d in "$a" "$b"; do
	awk -v d="$d" '$1 == d { print $2 }' "$tmp" | sort -g |
		awk -v d="$d" '{ v[NR] = $1; s = s " " $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
		      printf "%s: median %.2f Mops/s (runs:%s)\n", d, m, s }'
done
# the lines alternate A, B: pair each A with the B after it
awk 'NR % 2 == 1 { x = $2; next } { print $2 / x }' "$tmp" | sort -g |
	awk '{ v[NR] = $1; s = s sprintf(" %.3f", $1) }
	END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
	      printf "B/A per pair: median %.3f [%.3f-%.3f] (pairs:%s)\n",
		     m, v[1], v[NR], s }'
