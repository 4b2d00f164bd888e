# kvlib.sh - sourced by shard-demo.sh and proxy-test.sh: start lfd-kvserver
# processes on kernel-chosen loopback ports and stop them.
# Needs: $bin (the server), $tmp (a scratch folder).  Sets $servers
# ("127.0.0.1:port ..."), $pids, and $pid_<i> for server i.

# kv_start N [server options]: start servers 1..N, wait until each listens.
kv_start() {
	_n=$1; shift
	_i=1
	while [ "$_i" -le "$_n" ]; do
		"$bin" -p 0 -P "$tmp/port$_i" "$@" &
		pids="$pids $!"
		eval "pid_$_i=$!"
		_w=0
		while [ ! -s "$tmp/port$_i" ]; do
			_w=$((_w + 1))
			[ $_w -gt 100 ] && { echo "server $_i did not start"; return 1; }
			sleep 0.1
		done
		servers="$servers 127.0.0.1:$(cat "$tmp/port$_i")"
		_i=$((_i + 1))
	done
}

# kv_stop: SIGTERM every server still running; 1 if one exited badly.
kv_stop() {
	_rc=0
	for _p in $pids; do
		kill -TERM "$_p" 2>/dev/null
		wait "$_p" || _rc=1
	done
	pids=
	return $_rc
}
