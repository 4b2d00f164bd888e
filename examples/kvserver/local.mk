# Automake fragment included by the top Makefile.am (append with +=).
# examples/kvserver: a memcached text-protocol server on one shared lfdict
# (doc/kvserver.md).

noinst_PROGRAMS += examples/kvserver/lfd-kvserver
# tests/rcu_pthread.c is compiled in (unused unless -DLFD_TEST_RCU_PTHREAD,
# the ThreadSanitizer build, where the server selects that flavour).
examples_kvserver_lfd_kvserver_SOURCES = examples/kvserver/kvserver.h \
	examples/kvserver/protocol.c examples/kvserver/items.c \
	examples/kvserver/conn.c examples/kvserver/main.c \
	examples/kvserver/evict.c \
	tests/rcu_pthread.c tests/rcu_pthread.h
examples_kvserver_lfd_kvserver_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
examples_kvserver_lfd_kvserver_CFLAGS = $(AM_CFLAGS) $(URCU_MEMB_CFLAGS) \
	$(PTHREAD_LIBS)
examples_kvserver_lfd_kvserver_LDADD = lib/liblfdict.la $(URCU_MEMB_LIBS) \
	$(PTHREAD_LIBS)

# The server's own protocol tests (bad input, isolation), run by check.sh.
check_PROGRAMS += examples/kvserver/kvtest
examples_kvserver_kvtest_SOURCES = examples/kvserver/kvtest.c
examples_kvserver_kvtest_CFLAGS = $(AM_CFLAGS) $(PTHREAD_LIBS)
examples_kvserver_kvtest_LDADD = $(PTHREAD_LIBS)

TESTS += examples/kvserver/check.sh
EXTRA_DIST += examples/kvserver/check.sh examples/kvserver/bench.sh \
	examples/kvserver/memcached-tests.sh \
	examples/kvserver/shard-client.c \
	examples/kvserver/shard-demo.sh examples/kvserver/kvlib.sh \
	examples/kvserver/proxy-client.c examples/kvserver/proxy-test.sh \
	examples/kvserver/lfd-kvserver.service examples/kvserver/trace-replay.c \
	examples/kvserver/trace.h examples/kvserver/evict-sim.c \
	examples/kvserver/evict-test.sh

# make bench-kvserver: lfd-kvserver vs memcached under memcslap/memaslap.
bench-kvserver: examples/kvserver/lfd-kvserver
	$(SHELL) $(srcdir)/examples/kvserver/bench.sh
# make shard-kvserver: two servers behind one ketama client (doc/kvserver.md).
shard-kvserver: examples/kvserver/lfd-kvserver
	$(SHELL) $(srcdir)/examples/kvserver/shard-demo.sh
# make proxy-kvserver: three servers behind twemproxy (nutcracker), one
# killed mid-run (doc/kvserver.md).
proxy-kvserver: examples/kvserver/lfd-kvserver
	bash $(srcdir)/examples/kvserver/proxy-test.sh
# make evict-kvserver: hit ratio and RSS against memcached at the same -m
# on one replayed trace (doc/kvserver.md).
evict-kvserver: examples/kvserver/lfd-kvserver
	bash $(srcdir)/examples/kvserver/evict-test.sh
# make check-memcached: memcached 1.6.18's own text-protocol tests (Debian's
# source, kept under the build directory) against lfd-kvserver and, as the
# control, Debian's memcached (doc/kvserver.md).
check-memcached: examples/kvserver/lfd-kvserver
	$(SHELL) $(srcdir)/examples/kvserver/memcached-tests.sh
.PHONY: bench-kvserver shard-kvserver proxy-kvserver evict-kvserver \
	check-memcached
