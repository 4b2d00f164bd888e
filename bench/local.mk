# Automake fragment included by the top Makefile.am (append with +=).
# bench/: the benchmark of issue 5 (lfdict against rculfhash, ck_ht, GLib
# GHashTable and a sequential table).  Not part of `make check` or CI.
#   make bench        full matrix  (bench/run.sh full;  see doc/performance.md)
#   make bench-quick  reduced matrix, < 2 minutes, prints the target table
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
bench_lfd_bench_CFLAGS = $(AM_CFLAGS) $(PTHREAD_LIBS) \
	`pkg-config --cflags liburcu-cds liburcu-memb ck glib-2.0`
bench_lfd_bench_LDADD = lib/liblfdict.la \
	-lurcu-cds -lurcu-memb -lurcu-common -lck -lglib-2.0 \
	$(PTHREAD_LIBS)
EXTRA_DIST += bench/run.sh bench/report.py bench/profile.sh bench/ab.sh

BENCH_OUT ?= bench-results
bench: bench/lfd-bench
	$(srcdir)/bench/run.sh full $(BENCH_OUT) bench/lfd-bench
bench-quick: bench/lfd-bench
	$(srcdir)/bench/run.sh quick $(BENCH_OUT)-quick bench/lfd-bench
.PHONY: bench bench-quick
