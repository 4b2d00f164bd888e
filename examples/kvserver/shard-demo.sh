#!/bin/sh
# make shard-kvserver: two lfd-kvserver processes behind one libmemcached
# client with consistent hashing (ketama).  Builds examples/kvserver/
# shard-client.c against libmemcached (Debian: libmemcached-dev), starts two
# servers on kernel-chosen loopback ports, runs the client, stops the servers.
set -u
bin=${KV_BIN:-examples/kvserver/lfd-kvserver}
src=$(cd "$(dirname "$0")" && pwd)
nkeys=${KV_SHARD_KEYS:-10000}
. "$src/kvlib.sh"
kv_setup shard

${CC:-cc} -std=gnu11 -O2 -Wall -o "$tmp/shard-client" "$src/shard-client.c" \
	$(pkg-config --cflags --libs libmemcached) || exit 1
servers=
kv_start 2 -t 1 || exit 1
echo "two lfd-kvserver processes:$servers"
"$tmp/shard-client" "$nkeys" $servers
rc=$?
kv_stop || rc=1
[ $rc = 0 ] && echo "shard demo: ok" || echo "shard demo: FAILED"
exit $rc
