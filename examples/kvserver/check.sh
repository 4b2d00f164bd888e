#!/bin/sh
# make check: start lfd-kvserver on a free loopback port, run libmemcached's
# conformance tester (memccapable -a, all ASCII tests) and the server's own
# tests (kvtest: bad input, isolation, races, the fixes memcached's own
# tests asked for), kvtest's -F and -C checks on two more servers, then stop
# the servers with SIGTERM and require a clean exit (under ASan: no leak).
# Skips (77) when memccapable is not installed (Debian: libmemcached-tools).
set -u
bin=examples/kvserver/lfd-kvserver
kvtest=examples/kvserver/kvtest
[ -x "$bin" ] || { echo "no $bin (run from the build directory)"; exit 99; }
command -v memccapable >/dev/null 2>&1 || {
	echo "SKIP: memccapable not found (apt-get install libmemcached-tools)"
	exit 77
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvcheck.XXXXXX") || exit 99
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start NAME ARGS...: a server on a free port (-p 0: the kernel picks one;
# --port-file tells us which); sets $pid and $port.
start() {
	name=$1; shift
	"$bin" -p 0 -P "$tmp/$name.port" "$@" &
	pid=$!
	pids="$pids $pid"
	i=0
	while [ ! -s "$tmp/$name.port" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
			echo "FAIL: server $name did not start"; exit 1
		fi
		sleep 0.1
	done
	port=$(cat "$tmp/$name.port")
	echo "lfd-kvserver $name ($*) pid $pid on 127.0.0.1:$port"
}

# -R 4: kvtest's pipeline of 10 commands must yield; --debug-time: kvtest
# moves the clock with debugtime.
start main -t 2 -c 16 -I 1k -m 16 -R 4 --debug-time

rc=0
# memccapable flushes the server first; -t: I/O timeout in seconds.
timeout 60 memccapable -h 127.0.0.1 -p "$port" -a -t 10 >"$tmp/capable" 2>&1
crc=$?
cat "$tmp/capable"
npass=$(grep -c '\[pass\]' "$tmp/capable")
if [ $crc -ne 0 ] || ! grep -q 'All tests passed' "$tmp/capable"; then
	echo "FAIL: memccapable -a (exit $crc, $npass passed)"; rc=1
else
	echo "memccapable -a: $npass ASCII tests passed"
fi

timeout 60 "$kvtest" "$port" || { echo "FAIL: kvtest"; rc=1; }
start noflush -t 1 -F -m 1 -M
timeout 60 "$kvtest" "$port" no-flush || { echo "FAIL: kvtest no-flush"; rc=1; }
start nocas -t 1 -C --debug-time
timeout 60 "$kvtest" "$port" no-cas || { echo "FAIL: kvtest no-cas"; rc=1; }
start evict -t 2 -m 1 -I 64k
timeout 60 "$kvtest" "$port" evict || { echo "FAIL: kvtest evict"; rc=1; }

# Clean shutdown: SIGTERM, exit status 0, within 10 s.
for pid in $pids; do
	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "FAIL: server $pid still running 10 s after SIGTERM"
			kill -KILL "$pid"; rc=1; break
		fi
		sleep 0.1
	done
	wait "$pid"
	src=$?
	if [ $src -ne 0 ]; then
		echo "FAIL: server $pid exit status $src after SIGTERM"; rc=1
	else
		echo "server $pid stopped cleanly on SIGTERM"
	fi
done
pids=
exit $rc
