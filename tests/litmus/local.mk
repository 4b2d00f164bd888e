# Automake fragment included by the top Makefile.am (append with +=).
# Memory-model evidence (doc/memory-model.md): hardware litmus tests, the
# Relacy model checker of the core, the weakening table, the man pages.

# --- litmus tests: one program per pattern, all from tests/litmus/litmus.c
# (the program's name selects the pattern).  `make check` runs each for
# LFD_LITMUS_ROUNDS rounds (default 10000; 1000 in sanitizer builds); `make litmus-long` for 10^6.
LFD_LITMUS = tests/litmus/lit_mp tests/litmus/lit_mp_many \
	tests/litmus/lit_mp_update tests/litmus/lit_mp_goc tests/litmus/lit_cad \
	tests/litmus/lit_mp_scan \
	tests/litmus/lit_sb tests/litmus/lit_sb_set \
	tests/litmus/lit_lb tests/litmus/lit_iriw tests/litmus/lit_2plus2w \
	tests/litmus/lit_setdefault tests/litmus/lit_pop2 \
	tests/litmus/lit_counter tests/litmus/lit_count_not_snapshot \
	tests/litmus/lit_foreach_not_snapshot
check_PROGRAMS += $(LFD_LITMUS)
# Each must see its race happen (threads' calls in flight together), which
# needs cores of their own: they run one at a time, after the other tests
# (check-local waits for check-TESTS), each printing its last line; a
# failure prints the whole run.
check-local: check-TESTS
	@fail=0; for t in $(LFD_LITMUS); do \
		if ./$$t >$$t.log 2>&1; then tail -n 1 $$t.log; \
		else cat $$t.log; echo "FAIL: $$t"; fail=1; fi; \
	done; exit $$fail
# (automake cleans the logs of TESTS only)
clean-local: clean-litmus-logs
clean-litmus-logs:
	rm -f $(LFD_LITMUS:=.log)
.PHONY: clean-litmus-logs
LFD_LITMUS_SRC = tests/litmus/litmus.c $(LFD_TEST_COMMON)
tests_litmus_lit_mp_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_mp_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_mp_many_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_mp_many_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_mp_update_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_mp_update_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_mp_goc_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_mp_goc_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_cad_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_cad_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_mp_scan_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_mp_scan_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_sb_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_sb_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_sb_set_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_sb_set_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_lb_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_lb_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_iriw_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_iriw_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_2plus2w_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_2plus2w_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_setdefault_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_setdefault_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_pop2_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_pop2_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_counter_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_counter_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_count_not_snapshot_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_count_not_snapshot_CFLAGS = $(LFD_TEST_CFLAGS)
tests_litmus_lit_foreach_not_snapshot_SOURCES = $(LFD_LITMUS_SRC)
tests_litmus_lit_foreach_not_snapshot_CFLAGS = $(LFD_TEST_CFLAGS)

litmus-long: $(LFD_LITMUS)
	@for t in $(LFD_LITMUS); do \
		LFD_LITMUS_ROUNDS=1000000 ./$$t || exit 1; done

# --- Relacy model checker (C++, header-only relacy-dev); not part of
# `make check` (no C++ compiler is required to build lfdict):
# `make modelcheck` (bounded, ~1 s), `make modelcheck LFD_MC_ITERS=200000`.
LFD_MC_ITERS = 20000
LFD_MC_CXX = g++
modelcheck: $(srcdir)/tests/litmus/mc_relacy.cpp
	$(LFD_MC_CXX) -std=gnu++14 -O1 -fpermissive -w \
		-I$(top_srcdir)/include -I$(top_srcdir)/lib $(URCU_BP_CFLAGS) \
		$(srcdir)/tests/litmus/mc_relacy.cpp -o tests/litmus/mc_relacy \
		$(URCU_BP_LIBS)
	./tests/litmus/mc_relacy $(LFD_MC_ITERS) >tests/litmus/mc_relacy.log 2>&1; \
		rc=$$?; grep '^mc_relacy: [a-z_]* *\(ok\|FAILED\)$$' tests/litmus/mc_relacy.log; \
		exit $$rc

# The weakening table of doc/memory-model.md.
weaken:
	$(SHELL) $(srcdir)/tests/litmus/weaken.sh $(LFD_MC_ITERS)

.PHONY: litmus-long modelcheck weaken

EXTRA_DIST += tests/litmus/mc_relacy.cpp tests/litmus/weaken.sh

# --- man pages -------------------------------------------------------------
man3_MANS = doc/man/lfdict.3 doc/man/lfd_new.3 doc/man/lfd_destroy.3 \
	doc/man/lfd_get.3 doc/man/lfd_get_many.3 doc/man/lfd_insert.3 \
	doc/man/lfd_set.3 doc/man/lfd_replace.3 doc/man/lfd_cas.3 \
	doc/man/lfd_pop.3 doc/man/lfd_pop_if.3 doc/man/lfd_cad.3 \
	doc/man/lfd_update.3 doc/man/lfd_get_or_create.3 doc/man/lfd_count.3 \
	doc/man/lfd_foreach.3 doc/man/lfd_scan.3 doc/man/lfd_clear.3 \
	doc/man/lfd_read_lock.3 doc/man/lfd_read_unlock.3 \
	doc/man/lfd_barrier.3 doc/man/lfd_trim.3 doc/man/lfd_stats.3 \
	doc/man/lfd_strerror.3 doc/man/lfd_config.3
