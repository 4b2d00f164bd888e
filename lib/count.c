/*
 * count.c - the split entry counter and the reclaim backlog gauge.
 * Uses base.h (allocator hooks, thread numbers) and nothing above it.
 *
 * SPDX-License-Identifier: MIT
 *
 * One counter per stripe, each alone on a cache line; a thread adds to the
 * stripe of the CPU it runs on (or of its thread number: lfd_my_stripe,
 * base.h), so updates running at once seldom contend on one line.  Any
 * stripe takes any thread's additions: only the sum means anything.  The
 * sum is exact when no update is in flight; while updates run it is off by
 * at most the number of updates that have linearized but not yet added
 * (lfd_count's documented bound).
 *
 * The counter also drives resizing: when a stripe crosses a multiple of an
 * interval that scales with the bucket count, lfd_count_update tells its
 * caller, which asks for a resize (lfd_resize_check sums the stripes and
 * resizes if the load is out of range; the counter sits below the resizer
 * and calls nothing of it).  With S stripes and
 * interval I = clamp(B / (8 S), 1, 64), at most S * I <= B / 8 updates go
 * unchecked, so the bucket count stays within a small factor of the load.
 */
#include <errno.h>
#include <unistd.h>

#include "count.h"

#define LFD_CHECK_MAX_LOG 6u /* at most 64 updates between checks */

int lfd_count_init(struct lfd *d)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int n = 1, i;
	uintptr_t p;

	while (n < LFD_MAX_STRIPES && (long)n < 2 * cpus)
		n *= 2;
	d->nstripes = n;
	d->stripes_raw_size = n * sizeof(struct lfd_stripe) + LFD_CACHELINE - 1;
	d->stripes_raw = lfd_mem_alloc(d, d->stripes_raw_size);
	if (d->stripes_raw == NULL)
		return -ENOMEM;
	p = ((uintptr_t)d->stripes_raw + LFD_CACHELINE - 1) &
	    ~(uintptr_t)(LFD_CACHELINE - 1);
	d->stripes = (struct lfd_stripe *)p;
	for (i = 0; i < n; i++) {
		lfd_a_init(&d->stripes[i].n, 0L);
		lfd_a_init(&d->stripes[i].backlog, 0L);
		for (int c = 0; c < LFD_SLAB_CLASSES; c++)
			lfd_a_init(&d->stripes[i].slab[c], (uintptr_t)0);
		lfd_a_init(&d->stripes[i].retire, (uintptr_t)0);
		lfd_a_init(&d->stripes[i].raw, (uintptr_t)0);
		d->stripes[i].inflight = 0;
	}
	return 0;
}

void lfd_count_fini(struct lfd *d)
{
	lfd_mem_free(d, d->stripes_raw, d->stripes_raw_size);
}

bool lfd_count_update(struct lfd *d, long delta)
{
	struct lfd_stripe *s = lfd_my_stripe(d);
	/* relaxed: the count orders nothing; lfd_resize_check fences. */
	long v = lfd_a_fetch_add(&s->n, delta, memory_order_relaxed) + delta;
	/* interval = buckets / (8 * stripes), both powers of two: a shift
	 * (a division here cost each update a divide instruction) */
	unsigned int log = lfd_a_load(&d->size_log, memory_order_relaxed);
	unsigned int shift = 3u + (unsigned int)__builtin_ctz(d->nstripes);
	unsigned int ilog = log > shift ? log - shift : 0u;

	if (ilog > LFD_CHECK_MAX_LOG)
		ilog = LFD_CHECK_MAX_LOG;
	return ((unsigned long)v & ((1ul << ilog) - 1)) == 0;
}

/* Sum one counter over the stripes (the entry count or the backlog), as a
 * sum of independent counters, not a snapshot; negative sums read 0. */
static size_t lfd_stripes_sum(struct lfd *d, bool backlog)
{
	long t = 0;
	unsigned int i;

	for (i = 0; i < d->nstripes; i++) {
		struct lfd_stripe *s = &d->stripes[i];

		/* relaxed: independent counters, not a snapshot. */
		t += lfd_a_load(backlog ? &s->backlog : &s->n,
				memory_order_relaxed);
	}
	return t < 0 ? 0 : (size_t)t;
}

size_t lfd_count_sum(struct lfd *d)
{
	return lfd_stripes_sum(d, false);
}

size_t lfd_backlog_sum(struct lfd *d)
{
	return lfd_stripes_sum(d, true);
}
