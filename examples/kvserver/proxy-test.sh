#!/usr/bin/env bash
# make proxy-kvserver: three lfd-kvservers behind twemproxy (Debian's
# nutcracker), keys placed by ketama, a failed server ejected
# (doc/kvserver.md, "Behind twemproxy").  Run from the build directory.
#   1. three servers, nutcracker in front (the configuration below);
#   2. proxy-client loads NKEYS keys through the proxy and reads each back,
#      then asks each server alone: every key on exactly one server, each
#      server holding at least a tenth;
#   3. memcslap loads the proxy from 4 threads in the background while
#      proxy-client reads and writes for RUN seconds, every value checked;
#      a third of the way in, one server is killed (SIGKILL); the proxy
#      must eject it and go on serving: the run's last second must have
#      answers and no error, and no read may ever return a wrong value;
#   4. proxy-client reads every key (right, or missing: the dead server's)
#      and writes and reads them all again: no error;
#   5. nutcracker's stats must count the ejection.
set -u
bin=${KV_BIN:-examples/kvserver/lfd-kvserver}
src=$(cd "$(dirname "$0")" && pwd)
nkeys=${KV_PROXY_KEYS:-20000}
runfor=${KV_PROXY_RUN:-6}
command -v nutcracker >/dev/null 2>&1 || {
	echo "needs nutcracker (apt-get install nutcracker)"; exit 1; }
command -v memcslap >/dev/null 2>&1 || {
	echo "needs memcslap (apt-get install libmemcached-tools)"; exit 1; }
. "$src/kvlib.sh"
kv_setup proxy

${CC:-cc} -std=gnu11 -O2 -Wall -o "$tmp/proxy-client" "$src/proxy-client.c" \
	$(pkg-config --cflags --libs libmemcached) || exit 1
servers=
kv_start 3 -t 2 || exit 1
# The proxy: ketama over the three, a server ejected at its first failure
# and not retried for 60 s (longer than the test), 500 ms per request.
proxy_conf() {
	echo "kv:"
	echo "  listen: 127.0.0.1:$pport"
	echo "  hash: fnv1a_64"
	echo "  distribution: ketama"
	echo "  auto_eject_hosts: true"
	echo "  server_failure_limit: 1"
	echo "  server_retry_timeout: 60000"
	echo "  timeout: 500"
	echo "  servers:"
	i=1
	for s in $servers; do echo "   - $s:1 kv$i"; i=$((i + 1)); done
}
echo "three lfd-kvserver processes:$servers"
# Start nutcracker; another process may take a chosen port first: then
# choose again (three tries).
for try in 1 2 3; do
	pport=$(free_port)
	sport=$(free_port)
	proxy_conf >"$tmp/nutcracker.yml"
	# -i: aggregate the stats every 200 ms (default 30 s)
	nutcracker -c "$tmp/nutcracker.yml" -s "$sport" -a 127.0.0.1 -i 200 \
		-o "$tmp/nutcracker.log" &
	proxy=$!
	kv_others=$proxy
	n=0
	until (exec 3<>/dev/tcp/127.0.0.1/$pport) 2>/dev/null; do
		n=$((n + 1))
		kill -0 "$proxy" 2>/dev/null && [ $n -le 100 ] || break
		sleep 0.1
	done
	(exec 3<>/dev/tcp/127.0.0.1/$pport) 2>/dev/null && break
	kill "$proxy" 2>/dev/null; wait "$proxy" 2>/dev/null; proxy= kv_others=
done
[ -n "$proxy" ] || { echo "nutcracker did not start"; cat "$tmp/nutcracker.log"; exit 1; }
echo "nutcracker on 127.0.0.1:$pport, configuration:"
sed 's/^/    /' "$tmp/nutcracker.yml"

rc=0
"$tmp/proxy-client" "127.0.0.1:$pport" "$nkeys" load $servers || rc=1

memcslap --servers="127.0.0.1:$pport" --test=set --concurrency=4 \
	--execute-number=100000000 --quiet >/dev/null 2>&1 &
slap=$!
"$tmp/proxy-client" "127.0.0.1:$pport" "$nkeys" run "$runfor" >"$tmp/run.out" &
client=$!
sleep "$(echo "$runfor" | awk '{ print $1 / 3 }')"
echo "killing server 3 (pid $pid_3) mid-run"
kill -KILL "$pid_3"
wait "$pid_3" 2>/dev/null
pids=$(echo "$pids" | sed "s/ $pid_3\$//; s/ $pid_3 / /")
wait "$client" || rc=1
kill "$slap" 2>/dev/null
wait "$slap" 2>/dev/null
cat "$tmp/run.out"
"$tmp/proxy-client" "127.0.0.1:$pport" "$nkeys" verify || rc=1

# nutcracker's stats (JSON on its stats port): the ejection counted.
sleep 0.5
stats=$( (exec 3<>/dev/tcp/127.0.0.1/$sport && cat <&3) 2>/dev/null)
ejects=$(echo "$stats" | tr ',{}' '\n\n\n' | sed -n 's/.*"server_ejects":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
echo "nutcracker counted $ejects server ejection(s)"
[ "$ejects" -ge 1 ] || rc=1
kill -TERM "$proxy"; wait "$proxy" 2>/dev/null; proxy= kv_others=
kv_stop || rc=1
[ $rc = 0 ] && echo "proxy test: ok" || echo "proxy test: FAILED"
exit $rc
