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

/* A grace period of d's flavour, waited for with the calls every flavour
 * lfdict accepts has (update_call_rcu, barrier; lfd_new checks them):
 * the callback runs after a grace period that began after the call. */
struct lfd_trim_gp {
	struct rcu_head head;
	LFD_ATOMIC(int) done;
};

static void lfd_trim_gp_cb(struct rcu_head *head)
{
	struct lfd_trim_gp *g = LFD_CONTAINER_OF(head, struct lfd_trim_gp, head);

	/* release: nothing the waiter needs, but the callback's last touch
	 * of g (the waiter's frame) happens-before the waiter returns. */
	lfd_a_store(&g->done, 1, memory_order_release);
}

static void lfd_trim_grace_period(struct lfd *d)
{
	struct lfd_trim_gp g;

	lfd_a_init(&g.done, 0);
	d->flavor->update_call_rcu(&g.head, lfd_trim_gp_cb);
	/* acquire: pairs with the callback's release. */
	while (!lfd_a_load(&g.done, memory_order_acquire))
		d->flavor->barrier();
}

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
		(void)lfd_trim_grace_period; /* blocks freed with no grace period */
#else
		lfd_trim_grace_period(d);
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
