/*
 * modes.c - lfd-torture: the modes (doc/torture.md).  Each is an entry of
 * modes[]: its name, its workers' loop and what it asks of the other files
 * (struct mode, torture.h), plus its defaults in mode_defaults.  The loops
 * are here: the mix of calls, and the resize storm (storm, shrink-stall).
 * Adding a mode: its M_ name, its entry, its defaults (and its loop, if
 * none of these fits) -- here, and nowhere else unless it needs something
 * that struct mode does not offer yet.
 *
 * SPDX-License-Identifier: MIT
 *
 * Uses: torture.h (the options; the calls of workers.c; maybe_pause and
 * the thread flags of stall.c; set_mix of main.c).
 */
#include "torture.h"

static void mix_loop(struct worker *w);
static void storm_loop(struct worker *w);
static void fork_loop(struct worker *w);
static uint64_t chain_hash(const void *key, size_t len, void *arg);

enum { M_MIXED, M_STORM, M_CHAIN, M_HOT, M_OVERSUB, M_CHURN, M_STALL,
	    M_ENOMEM, M_RSTALL, M_SSTALL, M_FORK, M_CLEAR, M_N };

/* In --help's order; the first is the default. */
static const struct mode modes[M_N] = {
	[M_MIXED] = { .name = "mixed", .loop = mix_loop },
	[M_STORM] = { .name = "storm", .loop = storm_loop, .storm = true,
		      .get_many = true },
	[M_CHAIN] = { .name = "chain", .loop = mix_loop, .hash = chain_hash },
	[M_HOT] = { .name = "hot", .loop = mix_loop, .get_many = true },
	[M_OVERSUB] = { .name = "oversub", .loop = mix_loop },
	[M_CHURN] = { .name = "churn", .loop = mix_loop, .churn = true },
	[M_STALL] = { .name = "stall", .loop = mix_loop,
		      .stall = STALL_SIGNAL },
	[M_ENOMEM] = { .name = "enomem", .loop = mix_loop,
		       .expect_enomem = true },
	[M_RSTALL] = { .name = "reader-stall", .loop = mix_loop,
		       .stall = STALL_READER },
	[M_SSTALL] = { .name = "shrink-stall", .loop = storm_loop,
		       .storm = true, .stall = STALL_ALLOC },
	[M_FORK] = { .name = "fork", .loop = fork_loop, .forks = true,
		     .report = fork_report },
	[M_CLEAR] = { .name = "clear", .loop = mix_loop, .clears = true },
};

/* The index of the mode called name, or -1. */
int mode_find(const char *name)
{
	for (int k = 0; k < M_N; k++)
		if (!strcmp(name, modes[k].name))
			return k;
	return -1;
}

/* The modes' names for --help: mixed|storm|... */
void mode_names_print(void)
{
	for (int k = 0; k < M_N; k++)
		printf("%s%s", k ? "|" : "", modes[k].name);
}

/* Mode m and its options, before the command line is read. */
void mode_defaults(int m)
{
	O.mode = &modes[m];
	O.duration = 10;
	O.threads = 4;
	O.keys = 4096;
	O.pinned = 64;
	O.hkeys = 16;
	set_mix("get:40,insert:12,set:10,replace:8,cas:8,pop:12,pop_if:6,"
		"iterate:0,count:2,scan:0,clear:0");
	O.mix[OP_ITER] = 0;
	/* compare-and-delete, update with a function, get-or-create: every
	 * mode (hot: more updates, for lost tries and lost creates) */
	O.mix[OP_CAD] = 4;
	O.mix[OP_UPD] = 8;
	O.mix[OP_GOC] = 6;
	O.dtor = true;
	O.interval = 1;
	O.churn_ops = 3000;
	switch (m) {
	case M_STORM:
		O.keys = 200000;
		O.pinned = 16;
		O.hkeys = 8;
		O.mix[OP_ITER] = 0;
		break;
	case M_CHAIN:
		O.keys = 256;
		O.pinned = 16;
		O.hkeys = 8;
		break;
	case M_HOT:
		O.keys = 4;
		O.pinned = 0;
		O.hkeys = 4;
		O.threads = 8;
		O.mix[OP_UPD] = 16;
		O.mix[OP_GOC] = 10;
		break;
	case M_OVERSUB:
		O.threads = 256;
		break;
	case M_CHURN:
		O.threads = 8;
		break;
	case M_ENOMEM:
		O.enomem_rate = 16;
		break;
	case M_SSTALL:
		O.keys = 65536;
		O.pinned = 16;
		O.hkeys = 8;
		break;
	case M_FORK:
		O.keys = 16384;
		break;
	case M_CLEAR:
		/* lfd_clear removes every key: none pinned, none sampled
		 * (its pops are not in any history), no count checks (a
		 * clear is one update that removes many) */
		O.pinned = 0;
		O.hkeys = 0;
		O.mix[OP_COUNT] = 0;
		break;
	default:
		break;
	}
	/* an iteration costs O(keys): about one in 20000 calls' worth; as
	 * does a scan (in slices: lfd_scan) */
	O.mix[OP_ITER] = O.keys <= 4096 ? 1 : 0;
	O.mix[OP_SCAN] = O.mix[OP_ITER];
	if (m == M_CLEAR) {
		/* one clear in about 10000 calls: the table fills again (to
		 * about half the keys) between clears */
		for (int i = 0; i < OP_N; i++)
			O.mix[i] *= 100;
		O.mix[OP_CLEAR] = 1;
	}
}

static uint64_t chain_hash(const void *key, size_t len, void *arg)
{
	(void)key;
	(void)len;
	(void)arg;
	return 0x5bd1e995u; /* every key in one chain */
}

/* The calls of the mix, until the run's end (churn: w->limit of them). */
static void mix_loop(struct worker *w)
{
	/* relaxed: the stop flag orders nothing; the worker sees it at a next
	 * check, and main's join orders the rest */
	for (long n = 0; !atomic_load_explicit(&stop_flag, RLX); n++) {
		if (w->limit && n >= w->limit)
			break;
		maybe_pause();
		tl_in_op = 1;
		one_op(w);
		tl_in_op = 0;
	}
}

/* fork: worker 0 runs the mix for 20-100 ms, forks (fork.c), and again;
 * the others run the mix. */
static void fork_loop(struct worker *w)
{
	if (w->idx != 0) {
		mix_loop(w);
		return;
	}
	/* relaxed, each load of stop_flag: as in mix_loop */
	while (!atomic_load_explicit(&stop_flag, RLX)) {
		double until = now() + 0.02 +
			       0.08 * (double)rng_below(&w->r, 1000) / 1000.0;

		while (now() < until && !atomic_load_explicit(&stop_flag, RLX)) {
			maybe_pause();
			tl_in_op = 1;
			one_op(w);
			tl_in_op = 0;
		}
		if (!atomic_load_explicit(&stop_flag, RLX))
			fork_once(w);
	}
}

/* The workers of a storm mode meet here (main sets it up for nW). */
pthread_barrier_t storm_bar;
static int storm_stop; /* written by worker 0 between barriers */

/* resize storm: grow to O.keys, converge, shrink back, converge, ... */
static void storm_check(struct worker *w, const char *what)
{
	pthread_barrier_wait(&storm_bar);
	if (w->idx == 0) {
		int rc = lfd_barrier(D);
		CHECK(rc == 0, "lfd_barrier returned %d", rc);
		struct lfd_stats st;
		size_t cnt = quiescent_check(what, &st);
		if (O.verbose)
			printf("  storm %s: count %zu buckets %zu grows %" PRIu64
			       " shrinks %" PRIu64 "\n", what, cnt, st.buckets,
			       st.grows, st.shrinks);
		/* seq_cst: a count, read after the joins */
		atomic_fetch_add_explicit(&n_storm_checks, 1, SEQ);
	}
	pthread_barrier_wait(&storm_bar);
}

/*
 * shrink-stall: after the pops, while the table shrinks one step after the
 * other, keep inserting and popping again random keys of the share range,
 * with calls of the mix on them and on the history keys in between.  The
 * table is sparse, so most inserts link right after their bucket's node --
 * the nodes a shrink unlinks -- and the count stays low (every key inserted
 * is popped again), so the shrinking goes on down to a few buckets.  Until
 * the resize is done (or 1.5 s).
 */
static void shrink_linger(struct worker *w)
{
	double deadline = now() + 1.5;
	uint32_t lo = O.pinned + O.hkeys;

	for (unsigned i = 0;; i++) {
		if (i % 64 == 0) {
			struct lfd_stats st;
			size_t need, cap;

			lfd_stats(D, &st);
			td_converged_range(&st, st.count, &need, &cap);
			if ((!st.resizing && st.buckets <= cap) ||
			    now() > deadline)
				break;
		}
		uint32_t k = lo + (uint32_t)rng_below(&w->r, O.keys - lo);
		do_key_op(w, rng_below(&w->r, 4) ? OP_INS : OP_SET, k);
		if (i % 4 == 0)
			one_op_on(w, i % 8 || !O.hkeys ? k : O.pinned +
				  (uint32_t)rng_below(&w->r, O.hkeys));
		do_key_op(w, rng_below(&w->r, 4) ? OP_POP : OP_POPIF, k);
	}
}

/* shrink-stall runs at least this many cycles, however long they take:
 * on a machine loaded by other work a cycle can take seconds, and a run
 * with one shrink phase proves little. */
#define SSTALL_MIN_CYCLES 3

static void storm_loop(struct worker *w)
{
	for (unsigned cycles = 1;; cycles++) {
		/* grow: insert (or set) every key of our share */
		for (uint32_t k = w->storm_lo; k < w->storm_hi; k++) {
			if (k < O.pinned + O.hkeys)
				continue;
			do_key_op(w, rng_below(&w->r, 4) ? OP_INS : OP_SET, k);
			if ((k & 7) == 0)
				one_op(w);
		}
		storm_check(w, "after growth");
		for (uint32_t k = w->storm_lo; k < w->storm_hi; k++) {
			if (k < O.pinned + O.hkeys)
				continue;
			do_key_op(w, rng_below(&w->r, 4) ? OP_POP : OP_POPIF, k);
			if (rng_below(&w->r, 8) == 0)
				do_key_op(w, OP_POP, k);
			/* (shrink-stall: none, they would leave keys behind
			 * and stop the shrink early; see shrink_linger) */
			if ((k & 7) == 0 && O.mode != &modes[M_SSTALL])
				one_op(w);
		}
		if (O.mode == &modes[M_SSTALL]) {
			pthread_barrier_wait(&storm_bar); /* all popped */
			shrink_linger(w);
		}
		storm_check(w, "after shrink");
		/* seq_cst: worker 0 alone reads stop_flag here; the others
		 * get its decision in storm_stop, across the barrier */
		if (w->idx == 0)
			storm_stop = atomic_load_explicit(&stop_flag, SEQ) &&
				     (O.mode != &modes[M_SSTALL] ||
				      cycles >= SSTALL_MIN_CYCLES);
		pthread_barrier_wait(&storm_bar);
		if (storm_stop)
			break;
	}
}
