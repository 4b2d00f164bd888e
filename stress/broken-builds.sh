#!/bin/sh
# Build each deliberately broken variant of lib/ (-DLFD_BREAK_<NAME>, see
# doc/torture.md) in its own build directory and run the short torture of
# every mode on it.  Each variant must end in FAILURE; the script prints a
# table (variant, modes that failed with the time into the run of each
# mode's first report -- its time to detection --, the first report) and
# exits 1 if some variant passed every mode.
#   LFD_BROKEN_DIR  where the build directories go (default /tmp/lfd-broken)
#   LFD_BREAKS      the variants to try (default: all)
#   LFD_TORTURE_SCALE  passed on to torture-short.sh
top=$(cd "$(dirname "$0")/.." && pwd)
base=${LFD_BROKEN_DIR:-/tmp/lfd-broken}
breaks=${LFD_BREAKS:-"TOMBSTONE PLAIN_STORE NO_GRACE NO_UNLINK GROW_EARLY COUNT SHRINK_NO_GRACE WALK_RETIRED UPDATE_MATCH"}
CC=${CC:-cc}
mkdir -p "$base"
status=0
table="$base/results.md"
printf '| variant | result | modes that failed (first report at) | first report |\n|---|---|---|---|\n' >"$table"
for b in $breaks; do
	d="$base/$b"
	mkdir -p "$d"
	echo "=== LFD_BREAK_$b: building in $d"
	# Compiled directly (no configure): the variant's lib/ sources and the
	# torture, statically together, with the warnings as errors.
	mkdir -p "$d/stress"
	$CC -std=gnu11 -O2 -g -Wall -Wextra -Werror -DLFD_BREAK_$b \
		-I"$top/include" -I"$top/lib" $(pkg-config --cflags liburcu-bp) \
		"$top"/lib/*.c "$top"/stress/torture/*.c "$top/tests/rcu_pthread.c" \
		$(pkg-config --libs liburcu-bp liburcu-memb) -pthread \
		-o "$d/stress/lfd-torture" >"$d/build.log" 2>&1 || {
		cat "$d/build.log"; echo "build failed"; status=1; continue; }
	(cd "$d" && sh "$top/stress/torture-short.sh" >torture.log 2>&1)
	rc=$?
	# Each failed mode, with the t= of its first VIOLATION or FAILURE
	# line (seconds into that mode's run); then the variant's first report.
	failed=$(awk '
		/^=== [a-z-]*: FAILED/ { m = $2; sub(/:$/, "", m)
			printf "%s (%s) ", m, (m in t) ? t[m] : "?"; next }
		/^=== [a-z-]*: / { cur = $2; sub(/:$/, "", cur); next }
		/^(VIOLATION|FAILURE)/ && !(cur in t) && match($0, /t=[0-9.]+ s/) {
			t[cur] = substr($0, RSTART + 2, RLENGTH - 2) }' "$d/torture.log" |
		sed 's/ $//')
	first=$(awk '/^=== [a-z-]*: / { cur = $2 }
		/^(VIOLATION|FAILURE)/ { print cur " " $0; exit }' "$d/torture.log" |
		sed 's/ (seed [0-9]*, \(t=[0-9.]* s\))/ (\1)/; s/ seed=[0-9]*//; s/|/\\|/g' |
		cut -c1-200)
	if [ $rc -ne 0 ]; then
		res=FAILURE
	else
		res="SUCCESS (not caught!)"
		status=1
	fi
	echo "LFD_BREAK_$b: $res; failed modes: $failed"
	echo "  first report: $first"
	printf '| LFD_BREAK_%s | %s | %s | %s |\n' "$b" "$res" "$failed" "$first" >>"$table"
done
echo "=== results ($table)"
cat "$table"
exit $status
