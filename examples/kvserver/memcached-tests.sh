#!/bin/sh
# make check-memcached: memcached 1.6.18's own text-protocol tests (its
# t/*.t, run by prove with its t/lib/MemcachedTest.pm) against lfd-kvserver,
# and against Debian's /usr/bin/memcached as the control, in the same run.
# Prints, for each server, the files passing and the assertions passing.
# Exit 0 when every listed file passes against lfd-kvserver.
#
# Run from the build directory (like check.sh).  The source comes from
# Debian (apt-get source memcached) with a deb-src entry given to apt for
# these two calls only (a private sources.list.d and lists directory: the
# system's apt configuration and state are not touched); it is unpacked
# once into $KV_MC_CACHE (default: memcached-1.6.18 under the build
# directory) and reused.  Needs: apt-get, dpkg-source (dpkg-dev), prove
# (perl), cc; memcached (Debian's package) for the control run, skipped
# with a note when it is not installed.  The memcached tests are not edited.
#
# The harness starts "memcached-debug" from the folder it runs in (with
# timedrun, built from the source).  Each server gets its own run folder
# (run-lfd, run-memcached: t/ linked in, a wrapper named memcached-debug):
# for lfd-kvserver the wrapper translates memcached's options; for the
# control it runs /usr/bin/memcached with the options as given.
#
# Environment: KV_MC_CACHE (where the source is kept), KV_MC_FILES (run only
# these files, e.g. "getset.t cas.t"), KV_MC_CONTROL=0 (skip the control),
# KV_MC_TIMEOUT (seconds per file, default 300).
set -u
bin=$(pwd)/examples/kvserver/lfd-kvserver
[ -x "$bin" ] || { echo "no $bin (run from the build directory)"; exit 99; }
version=1.6.18
cache=${KV_MC_CACHE:-$(pwd)/memcached-$version}
src=$cache/src
tmo=${KV_MC_TIMEOUT:-300}

# The 25 files that test the text protocol: every t/*.t of memcached
# 1.6.18 except those about
#   the binary protocol       binary.t binary-get.t issue_50.t issue_192.t
#                             issue_260.t
#   the meta protocol         metaget.t conn-limits.t refhang.t
#   extstore                  extstore.t extstore-buckets.t extstore-jbod.t
#                             binary-extstore.t chunked-extstore.t
#                             error-extstore.t
#   TLS, SASL, auth           ssl_*.t binary-sasl.t ascii-auth.t
#   the proxy                 proxy.t
#   UDP and unix sockets      udp.t issue_67.t unixsocket.t stats-conns.t
#   slab and LRU internals    (per-slab-class stats, slab moves, the LRU
#                             maintainer and crawler, logger watchers)
#                             64bit.t evictions.t issue_14.t issue_22.t
#                             issue_29.t issue_41.t issue_42.t issue_140.t
#                             issue_163.t lru.t lru-crawler.t
#                             lru-maintainer.t slabs_reassign.t
#                             slabs-reassign2.t slabs-reassign-chunked.t
#                             slabhang.t dyn-maxbytes.t stats.t
#                             stats-detail.t watcher.t watcher_connid.t
#   startup and daemon options, process handling
#                             00-startup.t daemonize.t restart.t
#                             shutdown.t idle-timeout.t item_size_max.t
#                             misbehave.t
# and the two that test memcached's own source files, not a server
# (line-lengths.t, whitespace.t).
files="bogus-commands.t cas.t chunked-items.t dash-M.t expirations.t flags.t
flush-all.t getandtouch.t getset.t incrdecr.t issue_104.t issue_108.t
issue_152.t issue_183.t issue_3.t issue_61.t issue_68.t issue_70.t
malicious-commands.t maxconns.t multiversioning.t noreply.t quit.t
strtol-testing.t touch.t"
files=${KV_MC_FILES:-$files}

# ---- the source, once ---------------------------------------------------
if [ ! -f "$src/t/lib/MemcachedTest.pm" ]; then
	command -v apt-get >/dev/null && command -v dpkg-source >/dev/null || {
		echo "SKIP: needs apt-get and dpkg-source (dpkg-dev)"; exit 77; }
	rm -rf "$cache" && mkdir -p "$cache/apt/parts" "$cache/apt/lists/partial" ||
		exit 99
	# deb-src entries for the suites of the system's sources (bookworm)
	cat >"$cache/apt/parts/deb-src.sources" <<-EOF
	Types: deb-src
	URIs: http://deb.debian.org/debian
	Suites: bookworm bookworm-updates
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

	Types: deb-src
	URIs: http://deb.debian.org/debian-security
	Suites: bookworm-security
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	apt="-o Dir::Etc::SourceList=/dev/null
	     -o Dir::Etc::SourceParts=$cache/apt/parts
	     -o Dir::State::Lists=$cache/apt/lists
	     -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache="
	# shellcheck disable=SC2086
	if ! apt-get -q $apt update >"$cache/apt.log" 2>&1 ||
	   ! (cd "$cache" && apt-get -q $apt source --download-only \
		memcached) >>"$cache/apt.log" 2>&1 ||
	   ! (cd "$cache" && dpkg-source -x memcached_$version*.dsc src) \
		>>"$cache/apt.log" 2>&1; then
		cat "$cache/apt.log"
		echo "FAIL: could not get memcached $version's source"
		rm -rf "$src"
		exit 99
	fi
	# bookworm's memcached is 1.6.18 (with Debian's security fixes)
	grep -q "\[$version\]" "$src/version.m4" || {
		echo "FAIL: Debian's memcached source is not $version:"
		cat "$src/version.m4"; rm -rf "$src"; exit 99; }
	rm -rf "$cache/apt/lists"
fi
[ -x "$cache/timedrun" ] || cc -O2 -o "$cache/timedrun" "$src/timedrun.c" ||
	exit 99

# ---- one run folder per server --------------------------------------------
mkrun() { # name
	rm -rf "$cache/run-$1" && mkdir "$cache/run-$1" &&
	ln -s ../src/t "$cache/run-$1/t" && ln -s ../timedrun "$cache/run-$1/timedrun"
}
mkrun lfd || exit 99
# The harness runs "memcached-debug -h" for every socket it opens (to see
# whether TLS is on): answered from a copy, not by starting the server
# through libtool's wrapper script each time (0.3 s).
"$bin" --help >"$cache/run-lfd/help.txt" || exit 99
cat >"$cache/run-lfd/memcached-debug" <<EOF
#!/bin/sh
# memcached-debug for memcached's test harness: lfd-kvserver with memcached's
# options translated.  Options that only tune memcached's internals (slab
# sizes, its LRU threads, privileges, UDP) are dropped; anything else not
# known here is refused, so that a test never runs against a silently
# different configuration.
args="--debug-time"
while [ \$# -gt 0 ]; do
	case \$1 in
	-h) exec cat "$cache/run-lfd/help.txt" ;;
	-p|-l|-t|-c|-m|-I|-R) args="\$args \$1 \$2"; shift ;;
	-M|-F|-C) args="\$args \$1" ;;
	-U|-u) shift ;;	# UDP port (no UDP), user to run as
	-o) for o in \$(echo "\$2" | tr , ' '); do
		case \$o in
		relaxed_privileges|modern|no_modern|slab_chunk_max=*|\\
		no_lru_crawler|no_lru_maintainer) ;;
		*) echo "memcached-debug: -o \$o not translated" >&2; exit 2 ;;
		esac
	    done; shift ;;
	*) echo "memcached-debug: \$1 not translated" >&2; exit 2 ;;
	esac
	shift
done
# shellcheck disable=SC2086
exec "$bin" \$args
EOF
chmod +x "$cache/run-lfd/memcached-debug"

control=${KV_MC_CONTROL:-1}
if [ "$control" = 1 ] && [ ! -x /usr/bin/memcached ]; then
	echo "note: no /usr/bin/memcached (apt-get install memcached): no control run"
	control=0
fi
if [ "$control" = 1 ]; then
	mkrun memcached || exit 99
	# the harness adds "-o relaxed_privileges", which only a debug build of
	# memcached knows (Debian's refuses it): dropped, the rest as given
	cat >"$cache/run-memcached/memcached-debug" <<-'EOF'
	#!/bin/sh
	n=$#
	while [ $n -gt 0 ]; do
		a=$1; shift; n=$((n - 1))
		if [ "$a" = -o ] && [ $n -gt 0 ]; then
			o=$(echo ",$1," | sed 's/,relaxed_privileges,/,/; s/^,//; s/,$//')
			shift; n=$((n - 1))
			[ -n "$o" ] && set -- "$@" -o "$o"
		else
			set -- "$@" "$a"
		fi
	done
	exec /usr/bin/memcached "$@"
	EOF
	chmod +x "$cache/run-memcached/memcached-debug"
fi

# ---- run ------------------------------------------------------------------
# Each file alone (prove -v, under timeout: a hung file fails, the rest
# still run); a file passes when prove does; assertions passing are the
# "ok" lines of its TAP output.
runall() { # name label
	d=$cache/run-$1
	nf=0 pf=0 pa=0 ta=0
	for f in $files; do
		(cd "$d" && timeout -k 5 "$tmo" prove -v "t/$f") >"$d/$f.log" 2>&1
		rc=$?
		ok=$(grep -c '^ok ' "$d/$f.log")
		nok=$(grep -c '^not ok ' "$d/$f.log")
		nf=$((nf + 1)) pa=$((pa + ok)) ta=$((ta + ok + nok))
		if [ $rc -eq 0 ]; then
			pf=$((pf + 1))
		else
			what="exit $rc"; [ $rc -eq 124 ] && what="timed out after $tmo s"
			echo "  $2: FAIL t/$f ($what; $ok ok, $nok not ok; log: $d/$f.log)"
		fi
	done
	printf '%-16s files passing %2d / %d   assertions passing %s (of %s run)\n' \
		"$2" "$pf" "$nf" "$pa" "$ta"
	[ "$pf" -eq "$nf" ]
}
echo "memcached $version's text-protocol tests, $(echo $files | wc -w) files"
rc=0
[ "$control" = 1 ] && { runall memcached "memcached" || true; }
runall lfd "lfd-kvserver" || rc=1
exit $rc
