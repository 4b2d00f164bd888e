# kvlib.sh - sourced by shard-demo.sh, proxy-test.sh and evict-test.sh:
# the scratch folder and its cleanup, free ports, and lfd-kvserver
# processes on kernel-chosen loopback ports.
# Needs: $bin (the server).  Sets $tmp, $servers ("127.0.0.1:port ..."),
# $pids, and $pid_<i> for server i; cleanup also stops $kv_others.

# kv_setup NAME: check the server and libmemcached are there, make $tmp,
# and stop every process in $pids and $kv_others and remove $tmp on exit.
kv_setup() {
	[ -x "$bin" ] || { echo "no $bin: run from the build directory after make"; exit 1; }
	pkg-config --exists libmemcached 2>/dev/null || {
		echo "needs libmemcached-dev (apt-get install libmemcached-dev)"; exit 1; }
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/kv$1.XXXXXX") || exit 1
	pids=
	kv_others=
	trap kv_cleanup EXIT
	trap 'exit 1' INT TERM
}

kv_cleanup() {
	for _p in $pids $kv_others; do kill "$_p" 2>/dev/null; wait "$_p" 2>/dev/null; done
	rm -rf "$tmp"
}

# free_port: a loopback port nothing listens on, for servers that cannot
# be given port 0 (bash: /dev/tcp), below Linux's default ephemeral range
# (32768-60999), where a client socket may hold a port without listening.
free_port() {
	while :; do
		_p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000 ))
		(exec 3<>/dev/tcp/127.0.0.1/$_p) 2>/dev/null || { echo $_p; return; }
	done
}

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
