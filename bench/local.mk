# Automake fragment included by the top Makefile.am (append with +=).
# bench/: the benchmark of issues 5 and 21 (lfdict against rculfhash,
# ck_ht, GLib GHashTable, a sequential table and, where configure found
# them, the C++ peers libcuckoo, oneTBB and Abseil).  Not part of `make
# check` or CI.
#   make bench        full matrix  (bench/run.sh full;  see doc/performance.md)
#   make bench-quick  reduced matrix, < 3 minutes, prints the target table
# Built on demand by `make bench`/`make bench-quick` only (EXTRA_PROGRAMS):
# the peers need libck-dev and libglib2.0-dev, which building and testing
# lfdict does not (doc/performance.md lists the packages).
EXTRA_PROGRAMS += bench/lfd-bench
# The harness and one adapter file per peer; a new peer adds its line here
# and in BENCH_PEERS (bench/peer.h).
bench_lfd_bench_SOURCES = bench/harness.c bench/peer.h \
	bench/peer_lfdict.c \
	bench/peer_rculfhash.c \
	bench/peer_ck_ht.c \
	bench/peer_ghash.c \
	bench/peer_seq.c
bench_lfd_bench_CPPFLAGS = $(AM_CPPFLAGS)
bench_lfd_bench_CFLAGS = $(AM_CFLAGS) $(PTHREAD_LIBS) \
	`pkg-config --cflags liburcu-cds liburcu-memb ck glib-2.0`
bench_lfd_bench_CXXFLAGS = $(AM_CXXFLAGS) $(PTHREAD_LIBS)
bench_lfd_bench_LDADD = lib/liblfdict.la \
	-lurcu-cds -lurcu-memb -lurcu-common -lck -lglib-2.0 \
	$(PTHREAD_LIBS)
# The C++ peers, each built only if configure found a C++17 compiler and
# its package (configure.ac); LFD_BENCH_NAME puts it in BENCH_PEERS.  With
# none of them, lfd-bench is all C and links with $(CC).
if LFD_BENCH_LIBCUCKOO
bench_lfd_bench_SOURCES += bench/peer_libcuckoo.cc
bench_lfd_bench_CPPFLAGS += -DLFD_BENCH_LIBCUCKOO
endif
if LFD_BENCH_TBB
bench_lfd_bench_SOURCES += bench/peer_tbb.cc
bench_lfd_bench_CPPFLAGS += -DLFD_BENCH_TBB
bench_lfd_bench_CXXFLAGS += $(TBB_CFLAGS)
bench_lfd_bench_LDADD += $(TBB_LIBS)
endif
if LFD_BENCH_ABSL
bench_lfd_bench_SOURCES += bench/peer_absl.cc
bench_lfd_bench_CPPFLAGS += -DLFD_BENCH_ABSL
bench_lfd_bench_CXXFLAGS += $(ABSL_CFLAGS)
bench_lfd_bench_LDADD += $(ABSL_LIBS)
endif
# Automake links a program with any .cc source, even a conditional one,
# with $(CXX): link with $(CC) when no C++ peer is built (a machine without
# a C++ compiler still builds lfd-bench), with $(CXX) (libstdc++) otherwise.
if LFD_BENCH_CXX
bench_lfd_bench_LINK = $(LIBTOOL) $(AM_V_lt) --tag=CXX $(AM_LIBTOOLFLAGS) \
	$(LIBTOOLFLAGS) --mode=link $(CXXLD) $(bench_lfd_bench_CXXFLAGS) \
	$(CXXFLAGS) $(AM_LDFLAGS) $(LDFLAGS) -o $@
else
bench_lfd_bench_LINK = $(LIBTOOL) $(AM_V_lt) --tag=CC $(AM_LIBTOOLFLAGS) \
	$(LIBTOOLFLAGS) --mode=link $(CCLD) $(bench_lfd_bench_CFLAGS) \
	$(CFLAGS) $(AM_LDFLAGS) $(LDFLAGS) -o $@
endif
# How long a retired entry waits to be freed under U (urcu-bp's grace
# periods, lfdict's backlog): `make bench/lfd-gp`, doc/performance.md.
EXTRA_PROGRAMS += bench/lfd-gp
bench_lfd_gp_SOURCES = bench/lfd-gp.c
bench_lfd_gp_CFLAGS = $(AM_CFLAGS) $(PTHREAD_LIBS)
bench_lfd_gp_LDADD = lib/liblfdict.la -lurcu-bp -lurcu-memb -lurcu-common \
	$(PTHREAD_LIBS)
# How long lfd_barrier takes on an insert-only dictionary:
# `make bench/lfd-barrier`.
EXTRA_PROGRAMS += bench/lfd-barrier
bench_lfd_barrier_SOURCES = bench/lfd-barrier.c
bench_lfd_barrier_CFLAGS = $(AM_CFLAGS) $(PTHREAD_LIBS)
bench_lfd_barrier_LDADD = lib/liblfdict.la $(PTHREAD_LIBS)
EXTRA_DIST += bench/run.sh bench/report.py bench/targets.py bench/profile.sh \
	bench/ab.sh \
	bench/peer_cxx.hh

BENCH_OUT ?= bench-results
bench: bench/lfd-bench
	$(srcdir)/bench/run.sh full $(BENCH_OUT) bench/lfd-bench
bench-quick: bench/lfd-bench
	$(srcdir)/bench/run.sh quick $(BENCH_OUT)-quick bench/lfd-bench
.PHONY: bench bench-quick
