/*
 * main.c - lfd-torture, a torture test for lfdict (see doc/torture.md):
 * the options, the run's start and end, the report and its last line.
 *
 * SPDX-License-Identifier: MIT
 *
 * Uses: torture.h, and through it every other torture file (torture.h
 * lists them); tests/rcu_pthread.h for the pthread flavour.
 *
 * Worker threads run a random mix of every call on a shared dictionary
 * while the program checks, during the run and at its end:
 *  - values: every value is a 64-byte record from a private pool, with a
 *    magic, a unique id (uid) and the id of its key; the value destructor
 *    poisons it.  Readers (inside lfd_read_lock) check that every value they
 *    are handed is a pool record, live, and belongs to the key asked for.
 *  - accounting: every value leaves the dictionary at most once (returned by
 *    exactly one pop/pop_if/cad/set/replace/cas/update) and is destroyed
 *    exactly once; a value an update or get_or_create built and lfdict did
 *    not store comes back through their discard exactly once;
 *    at the end every value handed out is either present (visited once by
 *    a final lfd_foreach) or departed and destroyed; after lfd_destroy no
 *    value and no byte of the dictionary's allocator is live.
 *  - linearizability: every call on a sample of keys is recorded with
 *    invocation and response timestamps (one global atomic clock) in
 *    windows of HCAP calls; a checker thread checks each window against a
 *    sequential single-key register (Wing & Gong search with Lowe's
 *    memoization).  Linearizability is local, so keys are checked alone.
 *    When the checker's queue is full, the thread that filled a window
 *    checks it itself: every window is checked.
 *  - iteration: pinned keys (present for the whole run) are visited exactly
 *    once by every lfd_foreach and every scan in lfd_scan slices; no key is
 *    visited twice; a scan's outcome on each sampled key enters that key's
 *    history as a get spanning the scan (its value if visited, absent if
 *    not: a key present for the whole scan must have been visited).
 *  - clear (mode clear): lfd_clear's count of removed keys keeps the count
 *    exact at quiescence; each value it removes is destroyed once.
 *  - count: concurrent lfd_count within the bound of lfdict.h; exact at
 *    quiescence.
 *  - resize: bucket count converged after lfd_barrier (storm phases, end).
 *  - trim: a thread calls lfd_trim every 100-300 ms; each returns 0, and
 *    the blocks it gives back are poisoned and quarantined by the
 *    allocator, so a slot still in use shows in the checks above.
 *  - progress: a call that has not returned after --hang seconds ends the
 *    run with FAILURE (livelock, deadlock); so does a run that does not end.
 * The last line is SUCCESS or FAILURE with totals; exit 0 only on SUCCESS.
 */
#include <getopt.h>
#include <sys/mman.h>
#include <unistd.h>

#include "torture.h"

#include "../../tests/rcu_pthread.h"

/* urcu-bp's flavour (its header's macros would clash with urcu-memb's). */
extern const struct rcu_flavor_struct urcu_bp_flavor;

#if defined(__SANITIZE_THREAD__)
#define T_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define T_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_ASAN 1
#endif
#endif
#ifndef T_TSAN
#define T_TSAN 0
#endif
#ifndef T_ASAN
#define T_ASAN 0
#endif

/* ------------------------------------------------------------------ */
/* options                                                             */

const char *const op_names[OP_N] = { "get", "insert", "set",
	"replace", "cas", "pop", "pop_if", "cad", "update", "get_or_create",
	"iterate", "count", "scan", "clear" };

const char *const flav_names[] = { "bp", "memb", "pthread" };

struct opts O;
const struct rcu_flavor_struct *FL;

/* The calls' names, space separated (--help, a bad --mix). */
static void op_names_print(FILE *f)
{
	for (int i = 0; i < OP_N; i++)
		fprintf(f, "%s%s", i ? " " : "", op_names[i]);
}

/* --mix: the calls' weights, name:weight,... (the others 0). */
void set_mix(const char *s)
{
	memset(O.mix, 0, sizeof O.mix);
	char *dup = strdup(s), *save = NULL;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *c = strchr(t, ':');
		int i;
		if (!c)
			goto bad;
		*c = 0;
		for (i = 0; i < OP_N; i++)
			if (!strcmp(t, op_names[i]))
				break;
		if (i == OP_N)
			goto bad;
		O.mix[i] = (unsigned)atoi(c + 1);
	}
	free(dup);
	return;
bad:
	fprintf(stderr, "bad --mix %s (name:weight,...; names: ", s);
	op_names_print(stderr);
	fprintf(stderr, ")\n");
	exit(2);
}

static void usage(void)
{
	printf("usage: lfd-torture [options]\n"
	       "  --mode=M          ");
	mode_names_print();
	printf("\n"
	       "  --duration=S      seconds (default 10)\n"
	       "  --threads=N       worker threads\n"
	       "  --keys=N          key-space size\n"
	       "  --pinned=N        keys kept present (iteration check)\n"
	       "  --hist-keys=N     keys whose histories are checked\n"
	       "  --mix=op:w,...    op weights (");
	op_names_print(stdout);
	printf(")\n"
	       "  --dtor=on|off     value destructor\n"
	       "  --flavor=F        bp (default) | memb | pthread "
	       "(tests/rcu_pthread.c; default in TSan builds)\n"
	       "  --capacity=N --max-capacity=N --fixed   sizing, resize mode\n"
	       "  --enomem=N        fail 1 in N allocations (enomem mode: 16)\n"
	       "  --hang=S          a call that uses S seconds of CPU without "
	       "returning is a\n"
	       "                    failure (default 1; 3 with sanitizers)\n"
	       "  --seed=N          replay a run\n"
	       "  --pool-mib=N      value pool's address space (default 16384)\n"
	       "  -v, --verbose     periodic counter lines; --interval=S\n"
	       "  --build-info      print the build's sanitizer and default "
	       "flavour\n");
}

/* ------------------------------------------------------------------ */
/* main                                                                */

static void fatal_handler(int sig)
{
	char buf[160];
	int n = snprintf(buf, sizeof buf, "\nFAILURE: fatal signal %d (%s) "
			 "(seed %" PRIu64 ", t=%.2f s)\n", sig, strsignal(sig),
			 O.seed, now() - t_start);
	if (n > 0 && write(1, buf, (size_t)n) < 0)
		_exit(3);
	_exit(3);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "mode", 1, 0, 'm' },     { "duration", 1, 0, 'd' },
		{ "threads", 1, 0, 't' },  { "keys", 1, 0, 'k' },
		{ "pinned", 1, 0, 'p' },   { "hist-keys", 1, 0, 'H' },
		{ "mix", 1, 0, 'x' },      { "dtor", 1, 0, 'D' },
		{ "flavor", 1, 0, 'f' },   { "capacity", 1, 0, 'c' },
		{ "max-capacity", 1, 0, 'C' }, { "fixed", 0, 0, 'F' },
		{ "seed", 1, 0, 's' },     { "verbose", 0, 0, 'v' },
		{ "interval", 1, 0, 'i' }, { "enomem", 1, 0, 'e' },
		{ "build-info", 0, 0, 'B' }, { "help", 0, 0, 'h' },
		{ "hang", 1, 0, 'g' },     { "pool-mib", 1, 0, 'P' },
		{ 0, 0, 0, 0 }
	};
	int o, m = mode_find("mixed");
	bool seed_set = false;

	setvbuf(stdout, NULL, _IOLBF, 0);
	t_start = now();
	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "--mode=", 7) &&
		    mode_find(argv[i] + 7) >= 0)
			m = mode_find(argv[i] + 7);
	mode_defaults(m);
	O.flavor = T_TSAN ? F_PTHREAD : F_BP;
#ifdef LFD_TEST_RCU_PTHREAD
	O.flavor = F_PTHREAD;
#endif
	while ((o = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (o) {
		case 'm':
			if (mode_find(optarg) < 0) {
				fprintf(stderr, "unknown mode %s\n", optarg);
				return 2;
			}
			break;
		case 'd': O.duration = atof(optarg); break;
		case 't': O.threads = (unsigned)atoi(optarg); break;
		case 'k': O.keys = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'p': O.pinned = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'H': O.hkeys = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'x': set_mix(optarg); break;
		case 'D': O.dtor = strcmp(optarg, "off") != 0; break;
		case 'f':
			O.flavor = !strcmp(optarg, "memb") ? F_MEMB
				   : !strcmp(optarg, "pthread") ? F_PTHREAD
								: F_BP;
			break;
		case 'c': O.capacity = strtoull(optarg, NULL, 0); break;
		case 'C': O.max_capacity = strtoull(optarg, NULL, 0); break;
		case 'F': O.fixed = true; break;
		case 'P':
			pool_bytes = (size_t)strtoull(optarg, NULL, 0) << 20;
			if (pool_bytes < ((size_t)1 << 20)) {
				fprintf(stderr, "--pool-mib: at least 1\n");
				return 2;
			}
			break;
		case 's': O.seed = strtoull(optarg, NULL, 0); seed_set = true; break;
		case 'v': O.verbose = 1; break;
		case 'i': O.interval = atof(optarg); break;
		case 'e': O.enomem_rate = (unsigned)atoi(optarg); break;
		case 'g': O.hang = atof(optarg); break;
		case 'B':
			printf("sanitizer=%s default-flavor=%s\n",
			       T_TSAN ? "thread" : T_ASAN ? "address" : "none",
			       flav_names[O.flavor]);
			return 0;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (O.threads < 1)
		O.threads = 1;
	if (O.hang <= 0)
		O.hang = (T_ASAN || T_TSAN) ? 3 : 1;
	if (O.keys < 4)
		O.keys = 4;
	if (O.pinned > O.keys / 2)
		O.pinned = O.keys / 2;
	if (O.hkeys > O.keys - O.pinned)
		O.hkeys = O.keys - O.pinned;
	if (O.mode->storm && O.threads < 2)
		O.threads = 2;
	if (!seed_set) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		O.seed = mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
			       (uint64_t)getpid()) % 1000000000000ull;
	}
	FL = O.flavor == F_MEMB ? &urcu_memb_flavor
	     : O.flavor == F_PTHREAD ? &lfd_test_rcu_pthread_flavor
				     : &urcu_bp_flavor;
	if (O.mode->stall != STALL_NONE && O.flavor == F_PTHREAD) {
		printf("lfd-torture: mode %s needs a non-blocking RCU flavour; "
		       "the pthread flavour blocks readers behind a waiting "
		       "grace period\nSKIP\n", O.mode->name);
		return 77;
	}
	if (O.mode->forks && (O.flavor != F_BP || T_TSAN || T_ASAN)) {
		/* lfdict makes a fork safe by itself with the default
		 * flavour only (lib/fork.c).  ThreadSanitizer does not
		 * support a multithreaded fork, and clang 14's
		 * AddressSanitizer allocator does not lock itself across one
		 * (a child that allocates can hang on a lock a parent thread
		 * held); tests/test_fork runs under ASan with a locked
		 * allocator instead. */
		printf("lfd-torture: mode %s needs the default flavour (bp) "
		       "and a build without ThreadSanitizer or "
		       "AddressSanitizer\nSKIP\n", O.mode->name);
		return 77;
	}
	printf("lfd-torture: mode=%s seed=%" PRIu64 " duration=%.1fs threads=%u "
	       "keys=%u pinned=%u hist-keys=%u dtor=%s flavor=%s capacity=%zu "
	       "max-capacity=%zu fixed=%d enomem=1/%u\n"
	       "  replay: lfd-torture --mode=%s --seed=%" PRIu64 " (plus the same "
	       "options)\n", O.mode->name, O.seed, O.duration, O.threads,
	       O.keys, O.pinned, O.hkeys, O.dtor ? "on" : "off",
	       flav_names[O.flavor], O.capacity, O.max_capacity, O.fixed,
	       O.enomem_rate, O.mode->name, O.seed);

	if (!T_ASAN && !T_TSAN) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = fatal_handler;
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		sigaction(SIGFPE, &sa, NULL);
		sigaction(SIGILL, &sa, NULL);
		sigaction(SIGABRT, &sa, NULL);
	}
	if (O.mode->stall == STALL_SIGNAL) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = stall_handler;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR1, &sa, NULL);
	}
	watchdog_secs = (T_ASAN || T_TSAN) ? 4 * O.duration + 120
					   : 2 * O.duration + 60;
	pthread_t wd;
	pthread_create(&wd, NULL, watchdog_main, NULL);
	pool = mmap(NULL, pool_bytes, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pool == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	h_init();
	if (O.flavor == F_MEMB)
		urcu_memb_register_thread();

	struct lfd_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.capacity = O.capacity;
	cfg.max_capacity = O.max_capacity;
	cfg.flags = O.fixed ? LFD_FIXED_SIZE : 0;
	cfg.flavor = FL;
	if (O.dtor)
		cfg.value_free = t_dtor;
	cfg.alloc = t_alloc;
	cfg.free = t_free;
	cfg.hash = O.mode->hash; /* NULL: lfdict's */
	/* before lfd_new: the torture's fork handlers must be registered
	 * before lfdict's, so that lfdict prepares a fork first (fork.c) */
	if (O.mode->forks)
		fork_setup();
	D = lfd_new(&cfg);
	if (!D) {
		printf("FAILURE: lfd_new: %s\n", strerror(errno));
		return 1;
	}
	nW = O.threads;
	slot_ops = calloc(nW + 1, sizeof *slot_ops);
	slot_take(nW); /* the setup's calls, below */
	/* seq_cst: pairs with the watchdog's load, after which it reads
	 * slot_ops and nW, set above */
	atomic_store_explicit(&hang_armed, 1, SEQ);
	/* pinned keys */
	struct worker *w0 = worker_new(nW, 999999);
	for (uint32_t k = 0; k < O.pinned; k++)
		do_key_op(w0, OP_INS, k);
	/* not during setup; seq_cst: the workers, started below, get it
	 * through pthread_create (and see a_rate, alloc.c) */
	atomic_store_explicit(&a_rate, O.enomem_rate, SEQ);

	pthread_t checker, mon, trimmer;
	pthread_create(&checker, NULL, checker_main, NULL);
	W = calloc(nW, sizeof *W); /* nW was set above, before hang_armed */
	if (O.mode->storm)
		pthread_barrier_init(&storm_bar, NULL, nW);
	uint64_t stream = 1;
	for (unsigned i = 0; i < nW; i++) {
		W[i] = worker_new(i, stream++);
		W[i]->storm_lo = (uint32_t)((uint64_t)O.keys * i / nW);
		W[i]->storm_hi = (uint32_t)((uint64_t)O.keys * (i + 1) / nW);
	}
	double t0 = now();
	for (unsigned i = 0; i < nW; i++)
		worker_start(W[i]);
	pthread_create(&mon, NULL, monitor_main, NULL);
	pthread_create(&trimmer, NULL, trimmer_main, NULL);
	while (now() - t0 < O.duration) {
		if (O.mode->churn) {
			/* seq_cst: pairs with worker_main's store; the
			 * join orders the rest */
			for (unsigned i = 0; i < nW; i++)
				if (atomic_load_explicit(&W[i]->finished,
							 SEQ)) {
					pthread_join(W[i]->tid, NULL);
					worker_fold(W[i]);
					W[i] = worker_new(i, stream++);
					worker_start(W[i]);
				}
			sleep_s(0.005);
		} else {
			sleep_s(0.05);
		}
	}
	/* seq_cst: the stop flags; the workers, the monitor and the trimmer
	 * see them at their next check, and the joins order the rest */
	atomic_store_explicit(&stop_flag, 1, SEQ);
	atomic_store_explicit(&mon_stop, 1, SEQ);
	pthread_join(mon, NULL);
	pthread_join(trimmer, NULL);
	for (unsigned i = 0; i < nW; i++) {
		pthread_join(W[i]->tid, NULL);
		worker_fold(W[i]);
		W[i] = NULL;
	}
	double elapsed = now() - t0;
	/* seq_cst: the workers are joined; the RCU callback thread sees it
	 * late or not, either is fine (see a_rate, alloc.c) */
	atomic_store_explicit(&a_rate, 0, SEQ);
	tcache_drain(&w0->cache);
	worker_fold(w0);
	h_finish(checker);

	long leaked = final_checks();
	a_quar_flush();

	long total = 0;
	char kinds[512];
	size_t kl = 0;
	/* The report's loads, seq_cst: the threads that wrote these counts
	 * are joined, but for the watchdog (most_cpu_call, a recent value). */
	for (int i = 0; i < OP_N; i++) {
		long ok = atomic_load_explicit(&tot_ok[i], SEQ),
		     fail = atomic_load_explicit(&tot_fail[i], SEQ);
		total += ok + fail;
		kl += (size_t)snprintf(kinds + kl, sizeof kinds - kl, "%s%s=%ld/%ld",
				       i ? " " : "", op_names[i], ok, fail);
	}
	/* seq_cst: the report's loads (see above), here and below */
	printf("  ops (ok/failed): %s enomem=%ld (injected %ld)\n", kinds,
	       atomic_load_explicit(&tot_enomem, SEQ),
	       atomic_load_explicit(&a_injected, SEQ));
	if (O.mode->expect_enomem)
		CHECK(atomic_load_explicit(&tot_enomem, SEQ) > 0, "enomem "
		      "mode: %ld allocation failures injected, no call "
		      "returned -ENOMEM", atomic_load_explicit(&a_injected,
							       SEQ));
	printf("  threads started %ld; iterations checked %ld; scans checked "
	       "%ld (slices %ld); clears %ld; counts checked %ld; storm convergence checks %ld; destructor calls %ld; "
	       "departures %ld; peak dictionary bytes %ld; most CPU seen in "
	       "one call by the hang check %.3f s\n",
	       atomic_load_explicit(&threads_started, SEQ),
	       atomic_load_explicit(&n_iter_checked, SEQ),
	       atomic_load_explicit(&n_scan_checked, SEQ),
	       atomic_load_explicit(&n_scan_slices, SEQ),
	       atomic_load_explicit(&n_clears, SEQ),
	       atomic_load_explicit(&n_count_checked, SEQ),
	       atomic_load_explicit(&n_storm_checks, SEQ),
	       atomic_load_explicit(&n_dtor, SEQ),
	       atomic_load_explicit(&n_depart, SEQ),
	       atomic_load_explicit(&a_peak_bytes, SEQ),
	       atomic_load_explicit(&most_cpu_call, SEQ));
	/* seq_cst: the report's loads (see above) */
	printf("  update tries lost (fn called again) %ld; get_or_create "
	       "inserts lost to another's %ld\n",
	       atomic_load_explicit(&n_upd_lost, SEQ),
	       atomic_load_explicit(&n_goc_lost, SEQ));
	printf("  lfd_trim: %ld calls during the run, %ld bytes given back, "
	       "%ld more returned -ENOMEM\n", atomic_load_explicit(&trims, SEQ),
	       atomic_load_explicit(&trim_bytes, SEQ),
	       atomic_load_explicit(&trims_enomem, SEQ));
	stall_report();
	if (O.mode->report)
		O.mode->report();
	/* seq_cst: pairs with the watchdog's loads; it ends, and is joined */
	atomic_store_explicit(&all_done, 1, SEQ);
	pthread_join(wd, NULL);
	/* seq_cst: the total; every thread that reports is joined (the RCU
	 * callbacks: past final_checks' barrier) */
	long v = atomic_load_explicit(&n_viol, SEQ);
	printf("%s: mode=%s seed=%" PRIu64 " %.1fs ops=%ld (%.0f ops/s) "
	       "histories: windows=%ld ops_checked=%ld inconclusive=%ld "
	       "by_workers=%ld dropped=%ld; violations=%ld leaked=%ld "
	       "max_bucket_lag=%d "
	       "max_backlog=%ld paused=%" PRIu64 "\n",
	       v == 0 && leaked == 0 ? "SUCCESS" : "FAILURE", O.mode->name,
	       O.seed, elapsed, total, (double)total / elapsed,
	       /* seq_cst: the checker and the workers are joined */
	       atomic_load_explicit(&h_windows, SEQ),
	       atomic_load_explicit(&h_ops, SEQ),
	       atomic_load_explicit(&h_inconclusive, SEQ),
	       atomic_load_explicit(&h_own, SEQ),
	       atomic_load_explicit(&h_made, SEQ) -
		       atomic_load_explicit(&h_windows, SEQ),
	       v, leaked,
	       max_lag, max_backlog, last_throttled);
	return v == 0 && leaked == 0 ? 0 : 1;
}
