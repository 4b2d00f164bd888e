/*
 * trim.c - lfd_trim: the entry memory of a dictionary's empty slab blocks
 * back to its allocator.  The work is slab.c's ("Trim" in its header
 * comment); this file makes it a call: the argument checks, one trim at a
 * time, the reclaim that comes first, the fork window and the grace
 * period between taking the free slots and giving them back.  Uses
 * api.h, which brings every layer below.
 *
 * SPDX-License-Identifier: MIT
 *
 * One at a time.  A second lfd_trim on the same dictionary while one runs
 * returns -EBUSY at once rather than waiting: the running trim takes
 * every free slot, so a second one could find only what was freed since,
 * and a caller that wants it anyway can call again.  Waiting would make a
 * trimmer depend on another's grace periods for nothing.
 *
 * Why not from the automatic shrink: see doc/design.md ("Memory of
 * entries").
 */
#include <errno.h>
#include <sched.h>

#include "api.h"

LFD_EXPORT int lfd_trim(struct lfd *d, size_t *freed)
{
	struct lfd_slab_trim t;
	size_t bytes = 0;
	int idle = 0, r;

	if (d == NULL)
		return -EINVAL;
	if (d->flavor->read_ongoing() || lfd_reclaim_in_destructor())
		return -EDEADLK;
	/* acquire: the last trim's work (its relinked slots and blocks)
	 * happens-before this one's; pairs with the release below. */
	if (!lfd_a_cas(&d->slab_trimming, &idle, 1, memory_order_acquire,
		       memory_order_relaxed))
		return -EBUSY;
	/* As lfd_barrier: the backlog reclaimed, so that the slots of
	 * entries popped before the call are free. */
	lfd_resize_wait(d);
	lfd_reclaim_wait(d);
	/* The trimmer holds free slots and detached blocks nobody else can
	 * see: a window a fork must not cut (base.h).  A fork being
	 * prepared waits for it (one grace period); here we wait for the
	 * fork. */
	while (!lfd_gate_enter(d))
		sched_yield();
	r = lfd_slab_trim_take(d, &t);
	if (r == 0 && t.n != 0) {
#ifdef LFD_BREAK_TRIM_NO_GRACE /* deliberately broken build, see doc/torture.md */
		(void)lfd_reclaim_grace_period; /* blocks freed with no grace period */
#else
		lfd_reclaim_grace_period(d);
#endif
		bytes = lfd_slab_trim_finish(d, &t);
	}
	lfd_gate_exit(d);
	/* release: pairs with the next trim's acquire. */
	lfd_a_store(&d->slab_trimming, 0, memory_order_release);
	if (r == 0 && freed != NULL)
		*freed = bytes;
	return r;
}
