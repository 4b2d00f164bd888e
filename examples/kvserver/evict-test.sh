#!/usr/bin/env bash
# make evict-kvserver: lfd-kvserver and memcached at the same -m, the same
# replayed trace (trace-replay.c: Zipf(0.99) keys, mixed sizes 64 B - 16
# KiB, a working set 4x the memory limit, cache-aside: a miss is followed
# by a set); prints both hit ratios, their ratio, and each server's RSS
# after the trace.  Fails if lfd-kvserver's hit ratio is below
# KV_EVICT_MIN (default 1.0) times memcached's, if its RSS exceeds the
# limit by more than KV_EVICT_RSS_SLACK_MB (default 24: the table, the
# threads' buffers, the allocator), or if a read returned a wrong value.
# Run from the build directory.
set -u
bin=${KV_BIN:-examples/kvserver/lfd-kvserver}
src=$(cd "$(dirname "$0")" && pwd)
mb=${KV_EVICT_MB:-16}
requests=${KV_EVICT_REQUESTS:-300000}
min=${KV_EVICT_MIN:-1.0}
slack=${KV_EVICT_RSS_SLACK_MB:-24}
command -v memcached >/dev/null 2>&1 || {
	echo "needs memcached (apt-get install memcached)"; exit 1; }
. "$src/kvlib.sh"
kv_setup evict
${CC:-cc} -std=gnu11 -O2 -Wall -o "$tmp/trace-replay" "$src/trace-replay.c" \
	$(pkg-config --cflags --libs libmemcached) -lm || exit 1

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

# replay NAME PID PORT: the trace against one server; sets hr_NAME, rss_NAME
replay() {
	out=$("$tmp/trace-replay" "127.0.0.1:$3" $((mb * 4)) "$requests" 1) || {
		echo "$1: $out"; return 1; }
	echo "$1 (-m $mb): $out"
	eval "hr_$1=$(echo "$out" | sed 's/.*hit ratio \([0-9.]*\).*/\1/')"
	eval "rss_$1=$(rss_kb "$2")"
	echo "$1: RSS after the trace $(rss_kb "$2") kB"
}

rc=0
servers=
kv_start 1 -t 2 -m "$mb" || exit 1
replay lfd "$pid_1" "${servers##*:}" || rc=1
kv_stop || rc=1
user=; [ "$(id -u)" = 0 ] && user="-u nobody"
port=$(free_port)
memcached $user -l 127.0.0.1 -p "$port" -U 0 -t 2 -m "$mb" &
pids="$pids $!"
mpid=$!
n=0
until (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do
	n=$((n + 1)); [ $n -gt 100 ] && { echo "memcached did not start"; exit 1; }
	sleep 0.1
done
replay memcached "$mpid" "$port" || rc=1
[ $rc = 0 ] || exit 1
awk -v a="$hr_lfd" -v b="$hr_memcached" -v min="$min" \
    -v rss="$rss_lfd" -v lim=$(( (mb + slack) * 1024 )) 'BEGIN {
	printf "hit ratio lfd-kvserver / memcached: %.4f / %.4f = %.3f (target >= %s)\n",
	       a, b, a / b, min
	printf "lfd-kvserver RSS %d kB, limit + slack %d kB\n", rss, lim
	exit !(a >= min * b && rss <= lim) }' || rc=1
[ $rc = 0 ] && echo "evict test: ok" || echo "evict test: FAILED"
exit $rc
