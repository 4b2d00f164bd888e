/*
 * evict.c - lfd-kvserver's eviction under -m: when a new item does not fit
 * the memory limit, the storing thread removes the least valuable items
 * it finds in a window of the table (doc/kvserver.md, "Eviction").
 *
 * SPDX-License-Identifier: MIT
 *
 * The policy is hyperbolic caching with size (Blankstein, Sen, Freedman,
 * "Hyperbolic caching: flexible caching for web applications", USENIX ATC
 * 2017): an item's value is its hits / (its age x its size), and the item
 * of least value goes first.  Which policy was measured, before building
 * it, with evict-sim.c on evict-test.sh's trace (16 MB of a 64 MB working
 * set, Zipf 0.99, 64 B - 16 KiB values): exact LRU 0.797, CLOCK 0.813,
 * this one 0.873, memcached 1.6.18 itself 0.870.  Sizes matter: a hit on
 * a small item costs less memory than one on a big item.
 *
 * The candidates are not random samples but windows of the table's own
 * order: a shared hand (a lfd_scan position, which survives every resize)
 * walks the table; each eviction pass takes the next EVICT_WINDOW items
 * from it with one lfd_scan slice, and removes the EVICT_PER_WINDOW least
 * valuable (dead items first) with lfd_cad: only if the key still holds
 * the very item judged, so an item stored meanwhile is never evicted
 * unjudged.  The split order is a hash order, so a window is a sample
 * that has nothing to do with age or size (simulated: windows of 256
 * with 4 removed give the hit ratio of 64 random samples per eviction).  No lock: threads that evict at once read overlapping or
 * adjacent windows, and lfd_cad lets exactly one of them remove an item.
 *
 * The hit path: one relaxed load of the item's hit counter, and a store
 * only for items with fewer than 64 hits or, beyond, with probability
 * 64 / hits (adding hits / 64: the count stays unbiased, and a hot item's
 * cache line is written about once per hits / 64 hits instead of at every
 * hit).  Lost updates between threads make the count approximate, which
 * the policy tolerates.
 *
 * Memory: an evicted item is freed a grace period later (item_free, the
 * value destructor).  Its bytes are counted in `evicting` until then, so
 * that the storing thread does not evict more while the frees are
 * pending; the limit is thus on the items in the table plus those being
 * built, and the bytes waiting for a grace period come on top (a few
 * milliseconds' worth of stores).
 */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>

#include "kvserver.h"

#define EVICT_WINDOW 256     /* items judged per pass */
#define EVICT_PER_WINDOW 4   /* the least valuable removed per pass */
#define EVICT_MAX_PASSES 64  /* a store gives up after this many passes */
#define HITS_EXACT 64	     /* hit counts counted exactly below this */

atomic_size_t evicting;			/* bytes evicted, not yet freed */
atomic_uint_fast64_t evictions;		/* items evicted */
static _Atomic uint64_t hand = LFD_SCAN_START; /* where the next pass starts */

/* Milliseconds on the monotonic clock: items' birth and age. */
uint64_t evict_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A per-thread xorshift for the hit counter's sampling. */
static uint32_t hit_rand(void)
{
	static _Thread_local uint32_t x = 2463534242u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

void item_hit(struct item *it)
{
	/* relaxed: a statistic; racing hits may lose a count (see above) */
	uint32_t h = atomic_load_explicit(&it->hits, memory_order_relaxed);

	if (h < HITS_EXACT)
		atomic_store_explicit(&it->hits, h + 1, memory_order_relaxed);
	else if (hit_rand() % h < HITS_EXACT && h < UINT32_MAX - h / HITS_EXACT)
		atomic_store_explicit(&it->hits, h + h / HITS_EXACT,
				      memory_order_relaxed);
}

/* The value of keeping an item: hits per millisecond of age per byte;
 * a dead item (expired, flushed) is worth nothing. */
static double item_value(const struct item *it, uint64_t now_ms,
			 int64_t now_s)
{
	if (item_dead(it, now_s))
		return -1;
	double age = (double)(now_ms - it->birth) + 1;
	/* relaxed: a statistic */
	double hits = atomic_load_explicit(&it->hits, memory_order_relaxed);

	return hits / (age * (double)item_bytes(it));
}

/* One pass's candidates: the EVICT_PER_WINDOW least valuable items seen,
 * sorted by value, each with its key (copied: the key bytes lfd_scan
 * passes are valid only while fn runs). */
struct window {
	uint64_t now_ms;
	int64_t now_s;
	int seen, n;
	struct cand {
		const struct item *it;
		double value;
		size_t klen;
		char key[KEY_MAX];
	} c[EVICT_PER_WINDOW];
};

static int judge(void *arg, const void *key, size_t len, void *value)
{
	struct window *w = arg;
	const struct item *it = value;
	double v = item_value(it, w->now_ms, w->now_s);
	int i;

	w->seen++;
	if (len > KEY_MAX)
		return 0;
	if (w->n == EVICT_PER_WINDOW && v >= w->c[w->n - 1].value)
		return 0;
	/* insert in order of value; the most valuable falls off a full list */
	if (w->n < EVICT_PER_WINDOW)
		w->n++;
	for (i = w->n - 1; i > 0 && w->c[i - 1].value > v; i--)
		w->c[i] = w->c[i - 1];
	w->c[i].it = it;
	w->c[i].value = v;
	w->c[i].klen = len;
	memcpy(w->c[i].key, key, len);
	return 0;
}

/* Room under the limit, counting what is being freed. */
static bool fits(void)
{
	/* relaxed: both are gauges; a stale value costs one pass more or
	 * less, never a wrong item */
	size_t used = atomic_load_explicit(&mem_used, memory_order_relaxed);
	size_t ev = atomic_load_explicit(&evicting, memory_order_relaxed);

	return used <= opt.mem_limit + ev;
}

bool evict_room(void)
{
	for (int pass = 0; pass < EVICT_MAX_PASSES; pass++) {
		struct window w = { evict_clock(), time(NULL), 0, 0, { { 0 } } };
		/* relaxed: the hand is a hint; threads passing over the same
		 * window only judge the same items twice */
		uint64_t from = atomic_load_explicit(&hand, memory_order_relaxed);
		uint64_t pos = from;

		if (fits())
			return true;
		/* One section around the judging and the removals: a judged
		 * item cannot be freed and its address reused by a newer item
		 * of the key before lfd_cad compares it (no ABA). */
		lfd_read_lock(dict);
		if (lfd_scan(dict, &pos, EVICT_WINDOW, judge, &w) != 0)
			pos = from; /* cannot happen: judge returns 0 */
		if (pos == LFD_SCAN_END)
			pos = LFD_SCAN_START; /* round the table again */
		/* relaxed: the hand is a hint (see above) */
		atomic_compare_exchange_strong_explicit(&hand, &from, pos,
							memory_order_relaxed,
							memory_order_relaxed);
		for (int i = 0; i < w.n && !fits(); i++) {
			struct item *it = (struct item *)w.c[i].it;

			if (lfd_cad(dict, w.c[i].key, w.c[i].klen, it, NULL) != 0)
				continue; /* changed meanwhile: not ours */
			/* relaxed: read by item_release after a grace period,
			 * which starts after this section ends */
			atomic_store_explicit(&it->evicted, true,
					      memory_order_relaxed);
			/* relaxed: a gauge (see "Memory" above) */
			atomic_fetch_add_explicit(&evicting, item_bytes(it),
						  memory_order_relaxed);
			if (w.c[i].value < 0) /* dead: expired or flushed */
				count_reclaimed();
			else /* relaxed: a lone counter, read by "stats" */
				atomic_fetch_add_explicit(&evictions, 1,
							  memory_order_relaxed);
		}
		lfd_read_unlock(dict);
		if (w.seen == 0 && from == LFD_SCAN_START)
			return fits(); /* an empty table: nothing to evict */
	}
	return fits();
}
