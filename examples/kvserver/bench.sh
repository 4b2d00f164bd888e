#!/bin/sh
# make bench-kvserver: lfd-kvserver against memcached, same thread count, on
# loopback, driven by libmemcached's load generators:
#   memcaslap (memaslap)  get-heavy (90% get / 10% set) and set-heavy
#                         (10% get / 90% set) mixes, and the get-heavy mix
#                         with its gets as multi-gets of 20 keys
#                         (--division=20), fixed time per run;
#   memcslap              its own "get" and "set" tests, fixed op count.
# Each measurement is repeated, alternating the two servers so drift in the
# machine's load hits both alike; the median and the min..max spread are
# printed, with the ratio of the medians (lfd / memcached).  The load
# generator shares the CPUs with the server: compare ratios, not absolutes.
#
# Environment: KV_BENCH_THREADS (server threads, default: nproc),
#   KV_BENCH_SECONDS (per memcaslap run, 3), KV_BENCH_REPEAT (5),
#   KV_BENCH_CONC (memcaslap concurrency, 16), KV_BENCH_OPS (memcslap
#   ops per thread, 10000).
set -u
bin=${KV_BIN:-examples/kvserver/lfd-kvserver}
threads=${KV_BENCH_THREADS:-$(nproc)}
secs=${KV_BENCH_SECONDS:-3}
rep=${KV_BENCH_REPEAT:-5}
conc=${KV_BENCH_CONC:-16}
ops=${KV_BENCH_OPS:-10000}

[ -x "$bin" ] || { echo "no $bin: run from the build directory after make"; exit 1; }
for t in memcached memcaslap memcslap; do
	command -v $t >/dev/null 2>&1 || {
		echo "missing $t: apt-get install memcached libmemcached-tools"; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvbench.XXXXXX") || exit 1
lfd_pid= mc_pid=
cleanup() {
	[ -n "$lfd_pid" ] && kill "$lfd_pid" 2>/dev/null && wait "$lfd_pid" 2>/dev/null
	[ -n "$mc_pid" ] && kill "$mc_pid" 2>/dev/null && wait "$mc_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# lfd-kvserver on a kernel-chosen port
"$bin" -p 0 -P "$tmp/port" -t "$threads" -m 1024 &
lfd_pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "lfd-kvserver did not start"; exit 1; }
	sleep 0.1
done
lfd_port=$(cat "$tmp/port")

# memcached: try a few random ports (it exits if the bind fails)
user=; [ "$(id -u)" = 0 ] && user="-u nobody"
for try in 1 2 3 4 5; do
	mc_port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
	memcached $user -l 127.0.0.1 -p "$mc_port" -U 0 -t "$threads" -m 1024 -c 1024 &
	mc_pid=$!
	sleep 0.3
	kill -0 "$mc_pid" 2>/dev/null && memcping --servers=127.0.0.1:$mc_port >/dev/null 2>&1 && break
	kill "$mc_pid" 2>/dev/null; wait "$mc_pid" 2>/dev/null; mc_pid=
done
[ -n "$mc_pid" ] || { echo "memcached did not start"; exit 1; }

printf 'key\n32 32 1\nvalue\n100 100 1\ncmd\n0 0.1\n1 0.9\n' >"$tmp/get-heavy.cfg"
printf 'key\n32 32 1\nvalue\n100 100 1\ncmd\n0 0.9\n1 0.1\n' >"$tmp/set-heavy.cfg"

echo "lfd-kvserver 127.0.0.1:$lfd_port and $(memcached -V) 127.0.0.1:$mc_port," \
	"$threads server threads each; $(nproc) CPUs shared with the load generator"
echo "memcaslap: -T 2 -c $conc, ${secs}s per run; memcslap: --concurrency=$conc," \
	"--execute-number=$ops; $rep runs each, servers alternated"

# one run: prints ops/s
run_aslap() { # port cfg [memcaslap options]
	p=$1 cfg=$2; shift 2
	timeout $((secs + 30)) memcaslap -s 127.0.0.1:$p -T 2 -c "$conc" -t "${secs}s" \
		-F "$cfg" "$@" 2>&1 | sed -n 's/.*TPS: \([0-9]*\).*/\1/p' | tail -1
}
run_slap() { # port test
	out=$(timeout 120 memcslap --servers=127.0.0.1:$1 --concurrency="$conc" \
		--execute-number="$ops" --test="$2" 2>&1)
	# "Time to get 160000 keys by 16 threads: 1.234 seconds."
	echo "$out" | awk -v t="$2" '
		$1 == "Time" && $2 == "to" && $3 == t && $5 == "keys" && $6 == "by" {
			n = $4; s = $(NF - 1) }
		END { if (s > 0) printf "%d\n", n / s }'
}
# median and spread of the numbers on stdin
stats() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - -"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%d %d %d\n", m, v[1], v[NR] }'
}

printf '\n%-22s %24s %24s %7s\n' "workload (ops/s)" "lfd-kvserver median" \
	"memcached median" "ratio"
printf '%-22s %24s %24s %7s\n' "" "[min..max]" "[min..max]" "lfd/mc"
for w in aslap:get-heavy aslap:set-heavy aslap:mget slap:get slap:set; do
	kind=${w%%:*} mix=${w#*:}
	: >"$tmp/lfd" ; : >"$tmp/mc"
	# each workload starts from empty servers (neither evicts in a run:
	# 1 GB each)
	memcflush --servers=127.0.0.1:$lfd_port,127.0.0.1:$mc_port >/dev/null 2>&1
	for r in $(seq 1 "$rep"); do
		for s in lfd mc; do
			# alternate which server goes first
			[ $((r % 2)) = 0 ] && { [ $s = lfd ] && s=mc || s=lfd; }
			port=$lfd_port; [ $s = mc ] && port=$mc_port
			if [ $w = aslap:mget ]; then
				v=$(run_aslap "$port" "$tmp/get-heavy.cfg" --division=20)
			elif [ $kind = aslap ]; then
				v=$(run_aslap "$port" "$tmp/$mix.cfg")
			else
				v=$(run_slap "$port" "$mix")
			fi
			# a failed run (no figure, or 0) is reported, not counted
			if [ -n "$v" ] && [ "$v" -gt 0 ]; then echo "$v" >>"$tmp/$s"
			else echo "  ($w on $s: run failed)"; fi
		done
	done
	set -- $(stats <"$tmp/lfd") $(stats <"$tmp/mc")
	ratio=$(awk -v a="$1" -v b="$4" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	label="memcaslap $mix"; [ $kind = slap ] && label="memcslap $mix"
	[ $w = aslap:mget ] && label="memcaslap mget x20"
	printf '%-22s %24s %24s %7s\n' "$label" "$1 [$2..$3]" "$4 [$5..$6]" "$ratio"
done
echo
echo "lfd-kvserver stats after the runs:"
memcstat --servers=127.0.0.1:$lfd_port 2>/dev/null | grep -E 'curr_items|cmd_get|cmd_set|bytes:' | sed 's/^/  /'
