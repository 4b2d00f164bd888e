# Automake fragment included by the top Makefile.am (append with +=).
# stress/: the torture suite (doc/torture.md).

noinst_PROGRAMS += stress/lfd-torture
# Its sources: stress/torture/ (torture.h says what each file holds).
stress_lfd_torture_SOURCES = stress/torture/torture.h stress/torture/main.c \
	stress/torture/util.c stress/torture/alloc.c stress/torture/values.c \
	stress/torture/history.c stress/torture/lincheck.c \
	stress/torture/lincheck.h stress/torture/workers.c \
	stress/torture/modes.c stress/torture/monitor.c stress/torture/stall.c \
	stress/torture/final.c stress/torture/fork.c tests/rcu_pthread.c \
	tests/rcu_pthread.h tests/density.h
stress_lfd_torture_CFLAGS = $(AM_CFLAGS) $(URCU_MEMB_CFLAGS) \
	$(URCU_BP_CFLAGS) $(PTHREAD_LIBS)
stress_lfd_torture_LDADD = lib/liblfdict.la $(URCU_MEMB_LIBS) \
	$(URCU_BP_LIBS) $(PTHREAD_LIBS)

# make check: a short torture of every mode (about 75 s on 2 cores; scaled
# down automatically in sanitizer builds, or by LFD_TORTURE_SCALE).
TESTS += stress/torture-short.sh
EXTRA_DIST += stress/torture-short.sh stress/torture-long.sh \
	stress/broken-builds.sh stress/fuzz_lfd.c stress/fuzz.sh

# make torture [TORTURE_DURATION=seconds]: the long run (default one hour,
# split over every mode), logged to torture.log in the build directory.
TORTURE_DURATION = 3600
torture: stress/lfd-torture$(EXEEXT)
	$(SHELL) $(srcdir)/stress/torture-long.sh $(TORTURE_DURATION) \
		torture.log
# make broken-builds: each LFD_BREAK_ variant must end in FAILURE.
broken-builds:
	$(SHELL) $(srcdir)/stress/broken-builds.sh
# make fuzz [FUZZ_ARGS=...]: the libFuzzer target (clang).
fuzz:
	$(SHELL) $(srcdir)/stress/fuzz.sh $(FUZZ_ARGS)
.PHONY: torture broken-builds fuzz
