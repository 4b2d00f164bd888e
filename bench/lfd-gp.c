/*
 * lfd-gp.c - how long a retired entry waits before it is freed, under
 * lfd-bench's U workload (50% get, 25% insert, 25% pop, 8-byte keys, the
 * peers' fmix64 hash through cfg.hash: lfdict-h).  While T threads run
 * it, the main thread samples, every few milliseconds, the length of a
 * grace period of the dictionary's RCU flavour (one synchronize_rcu,
 * timed) and the dictionary's backlog (lfd_stats: popped entries not yet
 * freed).  The flavour is urcu-bp, lfdict's default, or with -m urcu-memb
 * (the threads then register with it).  doc/performance.md uses it to explain why freeing a retired
 * entry is a cache miss (U at 1,000 keys).
 *
 *   bench/lfd-gp [-m] [-n keys] [-t threads] [-s seconds] [-p sample ms]
 *
 * Prints throughput, then the 10th, 50th, 90th percentile and the maximum
 * of the grace periods (ms) and of the backlog (entries, and bytes at 32
 * bytes per 8-byte-key entry).
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu/flavor.h>

#include <lfdict.h>

#include "peer.h" /* bench_hash: the peers' hash */

static struct lfd *dict;
static uint64_t nkeys = 1000;
static atomic_int stop;
static atomic_ulong total_ops;
/* liburcu's flavours (each flavour's own header would rename the other's
 * calls; their vtables carry everything used here) */
extern const struct rcu_flavor_struct urcu_bp_flavor, urcu_memb_flavor;
static int memb; /* -m: urcu-memb instead of urcu-bp */

static uint64_t fmix64(const void *key, size_t len, void *arg)
{
	(void)arg;
	(void)len; /* 8-byte keys only */
	return bench_hash(load_u64(key));
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *worker(void *arg)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL * ((uintptr_t)arg + 1);
	unsigned long ops = 0;

	if (memb)
		urcu_memb_flavor.register_thread();
	/* relaxed: a stop flag; no data is handed over through it. */
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < 256; i++) {
			uint64_t k;
			void *v;
			int r;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			k = x % nkeys;
			switch ((x >> 40) & 3) {
			case 0:
			case 1:
				r = lfd_get(dict, &k, sizeof(k), &v);
				if (r == 0 && (uintptr_t)v != k + 1)
					abort();
				break;
			case 2:
				r = lfd_insert(dict, &k, sizeof(k),
					       (void *)(uintptr_t)(k + 1), NULL);
				break;
			default:
				r = lfd_pop(dict, &k, sizeof(k), &v);
				break;
			}
			if (r != 0 && r != -ENOENT && r != -EEXIST)
				abort();
		}
		ops += 256;
	}
	/* relaxed: read after the join. */
	atomic_fetch_add_explicit(&total_ops, ops, memory_order_relaxed);
	if (memb)
		urcu_memb_flavor.unregister_thread();
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* p10, median, p90, max of v[0..n-1] (sorted in place). */
static void quantiles(double *v, size_t n, double q[4])
{
	qsort(v, n, sizeof(*v), cmp_double);
	q[0] = v[n / 10];
	q[1] = v[n / 2];
	q[2] = v[n * 9 / 10];
	q[3] = v[n - 1];
}

int main(int argc, char **argv)
{
	unsigned threads = 2, sample_ms = 5;
	double secs = 2.0;
	int opt;

	while ((opt = getopt(argc, argv, "mn:t:s:p:")) != -1) {
		switch (opt) {
		case 'm': memb = 1; break;
		case 'n': nkeys = strtoull(optarg, NULL, 10); break;
		case 't': threads = (unsigned)atoi(optarg); break;
		case 's': secs = atof(optarg); break;
		case 'p': sample_ms = (unsigned)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-m] [-n keys] [-t threads] "
					"[-s seconds] [-p sample-ms]\n",
				argv[0]);
			return 2;
		}
	}
	if (nkeys == 0 || threads == 0 || threads > 1024 || secs <= 0)
		return 2;

	struct lfd_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.hash = fmix64;
	if (memb)
		cfg.flavor = &urcu_memb_flavor;
	dict = lfd_new(&cfg);
	if (dict == NULL)
		return 1;
	for (uint64_t k = 0; k < nkeys; k += 2)
		if (lfd_insert(dict, &k, sizeof(k), (void *)(uintptr_t)(k + 1),
			       NULL) != 0)
			return 1;

	pthread_t *tid = calloc(threads, sizeof(*tid));
	size_t cap = (size_t)(secs * 1000.0) + 16, n = 0;
	double *gp = calloc(cap, sizeof(*gp)), *bl = calloc(cap, sizeof(*bl));

	if (tid == NULL || gp == NULL || bl == NULL)
		return 1;
	for (unsigned i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, worker,
				   (void *)(uintptr_t)i) != 0)
			return 1;
	double t0 = now_s(), end = t0 + secs;
	while (n < cap && now_s() < end) {
		struct lfd_stats st;
		double a = now_s();

		(memb ? &urcu_memb_flavor : &urcu_bp_flavor)
			->update_synchronize_rcu();
		gp[n] = (now_s() - a) * 1e3;
		if (lfd_stats(dict, &st) != 0)
			return 1;
		bl[n] = (double)st.backlog;
		n++;
		usleep(sample_ms * 1000u);
	}
	/* relaxed: see worker. */
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	for (unsigned i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	double el = now_s() - t0;

	double g[4], b[4];
	if (n == 0)
		return 1;
	quantiles(gp, n, g);
	quantiles(bl, n, b);
	printf("U, %llu keys, %u threads, %s, %.2f s: %.2f Mops/s; %zu "
	       "samples\n", (unsigned long long)nkeys, threads,
	       memb ? "urcu-memb" : "urcu-bp", el,
	       (double)atomic_load(&total_ops) / el / 1e6, n);
	printf("grace period (ms):  p10 %.3f  median %.3f  p90 %.3f  max %.3f\n",
	       g[0], g[1], g[2], g[3]);
	printf("backlog (entries):  p10 %.0f  median %.0f  p90 %.0f  max %.0f"
	       "  (median %.2f MiB at 32 bytes)\n",
	       b[0], b[1], b[2], b[3], b[1] * 32.0 / 1048576.0);
	free(gp);
	free(bl);
	free(tid);
	return lfd_destroy(dict) == 0 ? 0 : 1;
}
