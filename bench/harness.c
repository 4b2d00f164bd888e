/*
 * bench/harness.c - lfd-bench's harness: one benchmark cell per process,
 * lfdict against the tables a server author would otherwise pick (issue 5).
 *
 *   lfd-bench -i IMPL -w R|G|M|U|C|B -n N -t THREADS [-s SECONDS] [-r REP]
 *   lfd-bench -l          list the implementations
 *
 * Prints one CSV line (see CSV_HEADER) on stdout; exits 1 (and prints the
 * reason on stderr) if any lookup returned a wrong value or a check failed,
 * 3 (and says why) if IMPL does not run this cell: more threads than its
 * max_threads, M or U for a table whose pop is not thread-safe, or G for a
 * table with no many-keys lookup.
 *
 * Every table gets the same 8-byte keys, key(i) = (i + 1) * golden (never 0),
 * 8-byte values val(key) = key ^ VAL_XOR, and, where it takes one, the same
 * hash: the murmur3 64-bit finalizer of the key (bench_hash).  lfdict runs
 * with that hash (lfdict-h: apples to apples) and with its default keyed
 * hash (lfdict: what users get; AES-128 for these keys where the CPU has
 * AES instructions, SipHash-1-3 elsewhere).
 *
 * Workloads (keys drawn uniformly by a per-thread xorshift generator):
 *   R  100% get of present keys (ids in [0, N)); every value checked.
 *   G  R with GET_MANY keys per call (lfd_get_many; only tables that have
 *      such a call); ops are keys looked up, so G and R compare per key.
 *   M  90% get, 5% insert, 5% pop over ids in [0, 2N); N prefilled, so the
 *      size stays at N on average.  Found values checked.
 *   U  50% get, 25% insert, 25% pop, as M.
 *   C  compare-and-set increments on 4 hot keys of a table of N keys
 *      (get, then cas(v, v + 1) until it succeeds); the final values must
 *      add up to the increments done.  Peers: their nearest equivalent
 *      (rculfhash: cmpxchg on the node's value; lock-based tables: lock).
 *   B  build: THREADS threads insert disjoint shares of N keys into an empty
 *      table (no size hint, except rculfhash-presized); timed to the last
 *      thread done; then every key is checked.
 * Timed workloads run for SECONDS (default 1) after a start barrier.
 *
 * Memory: heap in use (mallinfo2: uordblks + hblkhd, every arena) before
 * the table is created and after it holds its N keys (after prefill, or
 * after the build), once the table is quiescent (lfd_barrier, rcu_barrier,
 * deferred frees done): bytes per entry all-in (nodes, buckets, counters,
 * malloc headers and rounding).
 *
 * This file holds the command line, the workloads, the timing, the memory
 * figure and the checks; the table of peers is BENCH_PEERS in bench/peer.h,
 * and each peer's adapter is its own file, bench/peer_NAME.c.  Uses
 * pthreads, glibc's mallinfo2, liburcu-memb (the main thread and
 * memb_enter register with it) and bench/peer.h, never a peer's own API.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "peer.h"

#define CSV_HEADER                                                        \
	"impl,wl,n,threads,rep,ops,secs,mops,mem_bytes_per_entry,final_size"

#define VAL_XOR 0x5bd1e9955bd1e995ULL
#define HOT_KEYS 4u
/* keys per call in G: as many as lfd_get_many's group (lib/many.c), what
 * a memcached multi-get of a page's items would send */
#define GET_MANY 32

/* ------------------------------------------------------------------ */
/* keys, values                                                         */

static inline uint64_t key_of(uint64_t id)
{
	return (id + 1) * 0x9E3779B97F4A7C15ULL;
}

static inline uint64_t val_of(uint64_t key)
{
	return key ^ VAL_XOR;
}

/* ------------------------------------------------------------------ */
/* checks, and the helpers the peers share (bench/peer.h)               */

static atomic_int failed;

void fail(const char *what, uint64_t key, uint64_t got, uint64_t want)
{
	if (atomic_exchange(&failed, 1) == 0)
		fprintf(stderr,
			"lfd-bench: FAIL: %s: key %#" PRIx64 " got %#" PRIx64
			" want %#" PRIx64 "\n",
			what, key, got, want);
}

void nop_thread(void *t)
{
	(void)t;
}

void memb_enter(void *t)
{
	(void)t;
	urcu_memb_register_thread();
}

void memb_exit(void *t)
{
	(void)t;
	urcu_memb_unregister_thread();
}

/* ------------------------------------------------------------------ */
/* the implementations: every peer's, in the order of BENCH_PEERS       */

#define PEER_REF(p) peer_##p,
static const struct impl *const peers[] = { BENCH_PEERS(PEER_REF) };

#define NPEERS (sizeof(peers) / sizeof(peers[0]))

/* ------------------------------------------------------------------ */
/* the driver                                                           */

struct shared {
	const struct impl *im;
	void *t;
	char wl;
	size_t n;
	int nthreads;
	pthread_barrier_t start;
	atomic_int stop;
	atomic_ulong incr_total;
	atomic_int building; /* B: threads still inserting */
	struct timespec b_end;
	pthread_mutex_t b_lock;
};

struct worker {
	struct shared *sh;
	pthread_t tid;
	int idx;
	unsigned long ops;
	unsigned long incr;
	double b_start; /* B: when this thread began inserting */
} __attribute__((aligned(64)));

static inline uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* uniform in [0, n) without division (Lemire) */
static inline uint64_t below(uint64_t *s, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)xs(s) * n) >> 64);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void check_found(const char *what, uint64_t k, uint64_t v)
{
	if (v != val_of(k))
		fail(what, k, v, val_of(k));
}

static void run_mixed(struct worker *w, uint64_t *rs, unsigned get_pct,
		      unsigned ins_pct)
{
	struct shared *sh = w->sh;
	const struct impl *im = sh->im;
	void *t = sh->t;
	uint64_t range = 2 * sh->n;
	unsigned long ops = 0;

	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		for (int i = 0; i < 64; i++) {
			uint64_t r = xs(rs);
			uint64_t k = key_of((uint64_t)(((unsigned __int128)r *
							 range) >>
							64));
			unsigned p = (unsigned)(r & 0xffff) % 100u;
			uint64_t v;

			if (p < get_pct) {
				if (im->get(t, k, &v))
					check_found("get", k, v);
			} else if (p < get_pct + ins_pct) {
				(void)im->insert(t, k, val_of(k));
			} else {
				if (im->pop(t, k, &v))
					check_found("pop", k, v);
			}
		}
		ops += 64;
	}
	w->ops = ops;
}

static void run_many(struct worker *w, uint64_t *rs)
{
	struct shared *sh = w->sh;
	const struct impl *im = sh->im;
	uint64_t keys[GET_MANY], vals[GET_MANY];
	unsigned char found[GET_MANY];
	unsigned long ops = 0;

	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		for (int i = 0; i < GET_MANY; i++)
			keys[i] = key_of(below(rs, sh->n));
		if (im->get_many(sh->t, GET_MANY, keys, vals, found) !=
		    GET_MANY)
			fail("get_many: not every present key found", keys[0],
			     0, 0);
		for (int i = 0; i < GET_MANY; i++) {
			if (!found[i])
				fail("get_many: present key not found",
				     keys[i], 0, val_of(keys[i]));
			else
				check_found("get_many", keys[i], vals[i]);
		}
		ops += GET_MANY;
	}
	w->ops = ops;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	const struct impl *im = sh->im;
	void *t = sh->t;
	uint64_t rs = 0x9E3779B97F4A7C15ULL * (uint64_t)(w->idx + 1) + 12345;
	unsigned long ops = 0;

	im->thread_enter(t);
	pthread_barrier_wait(&sh->start);
	switch (sh->wl) {
	case 'R':
		while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
			for (int i = 0; i < 64; i++) {
				uint64_t k = key_of(below(&rs, sh->n));
				uint64_t v = 0;

				if (!im->get(t, k, &v))
					fail("get: present key not found", k,
					     0, val_of(k));
				else
					check_found("get", k, v);
			}
			ops += 64;
		}
		w->ops = ops;
		break;
	case 'G':
		run_many(w, &rs);
		break;
	case 'M':
		run_mixed(w, &rs, 90, 5);
		break;
	case 'U':
		run_mixed(w, &rs, 50, 25);
		break;
	case 'C':
		while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
			for (int i = 0; i < 64; i++)
				(void)im->incr(t,
					       key_of(below(&rs, HOT_KEYS)));
			ops += 64;
		}
		w->ops = ops;
		w->incr = ops;
		break;
	case 'B': {
		size_t lo = sh->n * (size_t)w->idx / (size_t)sh->nthreads;
		size_t hi = sh->n * (size_t)(w->idx + 1) / (size_t)sh->nthreads;

		/* The build is timed from the first thread's start to the
		 * last one's end, both taken by the workers: at N = 1,000 a
		 * worker can finish before the main thread leaves the start
		 * barrier, so a start taken there gave negative times. */
		w->b_start = now();
		for (size_t i = lo; i < hi; i++) {
			uint64_t k = key_of(i);

			if (!im->insert(t, k, val_of(k)))
				fail("build: insert found the key", k, 0, 0);
		}
		w->ops = hi - lo;
		pthread_mutex_lock(&sh->b_lock);
		if (atomic_fetch_sub(&sh->building, 1) == 1)
			clock_gettime(CLOCK_MONOTONIC, &sh->b_end);
		pthread_mutex_unlock(&sh->b_lock);
		break;
	}
	default:
		break;
	}
	im->thread_exit(t);
	return NULL;
}

struct prefill_arg {
	struct shared *sh;
	size_t lo, hi;
	bool enter; /* a new thread (the main thread is registered already) */
};

static void *prefill_main(void *arg)
{
	struct prefill_arg *a = arg;
	const struct impl *im = a->sh->im;

	if (a->enter)
		im->thread_enter(a->sh->t);
	for (size_t i = a->lo; i < a->hi; i++) {
		uint64_t k = key_of(i);

		if (!im->insert(a->sh->t, k, val_of(k)))
			fail("prefill: insert found the key", k, 0, 0);
	}
	if (a->enter)
		im->thread_exit(a->sh->t);
	return NULL;
}

/* Insert ids [0, N): with 2 threads (the machine's cores) when the table
 * takes concurrent writers and N is large, to keep cells short. */
static void prefill(struct shared *sh)
{
	struct prefill_arg a[2] = { { sh, 0, sh->n / 2, false },
				    { sh, sh->n / 2, sh->n, true } };
	pthread_t tid;

	if (sh->im->max_threads == 1 || sh->n < 100000) {
		a[0].hi = sh->n;
		prefill_main(&a[0]);
		return;
	}
	if (pthread_create(&tid, NULL, prefill_main, &a[1]) != 0) {
		perror("pthread_create");
		exit(2);
	}
	prefill_main(&a[0]);
	pthread_join(tid, NULL);
}

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: lfd-bench -i IMPL -w R|G|M|U|C|B -n N -t THREADS "
		"[-s SECONDS] [-r REP] [-H]\n       lfd-bench -l\n"
		"  -H  print the CSV header first\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const struct impl *im = NULL, *p;
	struct shared sh;
	struct worker *ws;
	double secs = 1.0, t0, elapsed;
	size_t mem0, mem1, final_size;
	unsigned long total = 0, incr_total = 0;
	uint64_t *hot_before = NULL;
	int rep = 0, header = 0, opt;
	char wl = 0;

	memset(&sh, 0, sizeof(sh));
	sh.nthreads = 1;
	while ((opt = getopt(argc, argv, "i:w:n:t:s:r:Hl")) != -1) {
		switch (opt) {
		case 'i':
			for (size_t f = 0; f < NPEERS; f++)
				for (p = peers[f]; p->name; p++)
					if (strcmp(optarg, p->name) == 0)
						im = p;
			if (im == NULL) {
				fprintf(stderr, "unknown impl %s\n", optarg);
				return 2;
			}
			break;
		case 'w':
			wl = optarg[0];
			break;
		case 'n':
			sh.n = strtoull(optarg, NULL, 0);
			break;
		case 't':
			sh.nthreads = atoi(optarg);
			break;
		case 's':
			secs = atof(optarg);
			break;
		case 'r':
			rep = atoi(optarg);
			break;
		case 'H':
			header = 1;
			break;
		case 'l':
			for (size_t f = 0; f < NPEERS; f++)
				for (p = peers[f]; p->name; p++)
					printf("%-13s %s\n", p->name,
					       p->about);
			return 0;
		default:
			usage();
		}
	}
	if (im == NULL || strchr("RGMUCB", wl) == NULL || wl == 0 ||
	    sh.n < HOT_KEYS || sh.nthreads < 1)
		usage();
	if (im->max_threads && sh.nthreads > im->max_threads) {
		fprintf(stderr, "%s runs with at most %d thread(s)\n", im->name,
			im->max_threads);
		return 3;
	}
	if (im->no_concurrent_pop && (wl == 'M' || wl == 'U')) {
		fprintf(stderr,
			"%s does not run %c: its pop is not thread-safe "
			"(workloads R, C and B only)\n",
			im->name, wl);
		return 3;
	}
	if (wl == 'G' && im->get_many == NULL) {
		fprintf(stderr, "%s does not run G: no many-keys lookup\n",
			im->name);
		return 3;
	}
	if (header)
		printf("%s\n", CSV_HEADER);

	sh.im = im;
	sh.wl = wl;
	atomic_init(&sh.stop, 0);
	atomic_init(&sh.building, sh.nthreads);
	pthread_mutex_init(&sh.b_lock, NULL);
	pthread_barrier_init(&sh.start, NULL, (unsigned)sh.nthreads + 1);

	/* The main thread takes part in RCU like the workers (prefill,
	 * checks). */
	urcu_memb_register_thread();
	mem0 = heap_in_use();
	sh.t = im->create(sh.n);
	if (wl != 'B')
		prefill(&sh);
	im->quiesce(sh.t);
	mem1 = heap_in_use();
	if (wl == 'C') {
		hot_before = calloc(HOT_KEYS, sizeof(uint64_t));
		for (unsigned h = 0; h < HOT_KEYS; h++)
			if (!im->get(sh.t, key_of(h), &hot_before[h]))
				fail("hot key missing", key_of(h), 0, 0);
	}

	ws = aligned_alloc(64, sizeof(*ws) * (size_t)sh.nthreads);
	if (ws == NULL)
		return 2;
	memset(ws, 0, sizeof(*ws) * (size_t)sh.nthreads);
	for (int i = 0; i < sh.nthreads; i++) {
		ws[i].sh = &sh;
		ws[i].idx = i;
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0) {
			perror("pthread_create");
			return 2;
		}
	}
	pthread_barrier_wait(&sh.start);
	t0 = now();
	if (wl != 'B') {
		struct timespec ts = { (time_t)secs,
				       (long)((secs - (double)(time_t)secs) *
					      1e9) };

		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		atomic_store(&sh.stop, 1);
	}
	for (int i = 0; i < sh.nthreads; i++) {
		pthread_join(ws[i].tid, NULL);
		total += ws[i].ops;
		incr_total += ws[i].incr;
	}
	if (wl == 'B') {
		double start = ws[0].b_start;

		for (int i = 1; i < sh.nthreads; i++)
			if (ws[i].b_start < start)
				start = ws[i].b_start;
		elapsed = (double)sh.b_end.tv_sec +
			  (double)sh.b_end.tv_nsec * 1e-9 - start;
		im->quiesce(sh.t);
		mem1 = heap_in_use();
		/* every key present with its value */
		for (size_t i = 0; i < sh.n; i++) {
			uint64_t k = key_of(i), v = 0;

			if (!im->get(sh.t, k, &v))
				fail("build: key missing", k, 0, val_of(k));
			else
				check_found("build: get", k, v);
		}
	} else {
		elapsed = now() - t0;
	}
	if (wl == 'C') {
		unsigned long sum = 0;

		for (unsigned h = 0; h < HOT_KEYS; h++) {
			uint64_t v = 0;

			if (!im->get(sh.t, key_of(h), &v))
				fail("hot key missing", key_of(h), 0, 0);
			sum += (unsigned long)(v - hot_before[h]);
		}
		if (sum != incr_total)
			fail("C: increments lost", 0, sum, incr_total);
		free(hot_before);
	}
	im->quiesce(sh.t);
	final_size = im->size(sh.t);
	if ((wl == 'R' || wl == 'G' || wl == 'C' || wl == 'B') && final_size != sh.n)
		fail("final size", 0, final_size, sh.n);
	/* Large tables are left to process exit: freeing 16M nodes one by
	 * one is not what the cell measures and takes longer than the cell. */
	if (sh.n <= 100000)
		im->destroy(sh.t);
	urcu_memb_unregister_thread();

	if (atomic_load(&failed))
		return 1;
	printf("%s,%c,%zu,%d,%d,%lu,%.4f,%.4f,%.2f,%zu\n", im->name, wl, sh.n,
	       sh.nthreads, rep, total, elapsed, (double)total / elapsed / 1e6,
	       (double)(mem1 - mem0) / (double)sh.n, final_size);
	free(ws);
	return 0;
}
