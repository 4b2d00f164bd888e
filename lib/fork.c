/*
 * fork.c - dictionaries across fork().  Uses api.h (the layers: lib/dict.c's
 * design comment): the reclaim and resize calls it reschedules with, and
 * base.h's fork gate.
 *
 * SPDX-License-Identifier: MIT
 *
 * What a fork finds.  Other threads may be anywhere in an lfdict call when
 * a thread forks; the child has only the forking thread.  lfdict's state
 * is lock-free, so a call cut at any instruction leaves the structure
 * whole -- what a dead thread had half done, any other thread finishes or
 * ignores (a marked entry is unlinked by whoever meets it) -- except in a
 * few windows where one thread holds work that nobody else can see:
 *   - a retire batch taken but not yet handed to call_rcu (lfd_retire_
 *     schedule): the child would have retire_busy set for ever;
 *   - a chain of ready items held by a helper (lfd_help_free), or
 *     handed-over chains a refill is moving (slab.c, lfd_raw_refill, which
 *     counts itself as a helper): the child's helper count would never
 *     drop, and lfd_barrier would spin;
 *   - a resize run or a grow chunk on an updating thread: resize_busy, or
 *     a grow that never completes;
 *   - a trim holding the free slots and detached blocks (trim.c): the only
 *     window that blocks, for one grace period.
 * So lfdict prepares every fork (pthread_atfork, registered by the first
 * lfd_new): it closes each live dictionary's gate (base.h) and announces a
 * waiter to its helpers, as lfd_barrier does, and waits until no thread
 * is inside a window (windows never block: a short wait); threads that
 * come to a window meanwhile skip it (a trimmer waits for the fork).  Then, with the default flavour, it
 * calls liburcu's fork hooks, call_rcu's first (its worker finishes the
 * batch of callbacks it runs and pauses; queued callbacks move to the
 * child's new worker) and urcu-bp's (its locks; the child drops the
 * reader records of threads it does not have).  After the fork, parent
 * and child open the gates and reschedule what was skipped; the child
 * also zeroes the counts of waiters and helpers (a helper that came after
 * the wait backs off holding nothing, but its count may be copied).
 *
 * What stays behind in the child: what the other threads held as their
 * own when they stopped -- an entry they had allocated and not linked, or
 * popped and not yet retired, a destructor record, up to one chain of 64
 * free slab slots per thread, up to 8 handed-over items of another size
 * it was freeing (slab.c) -- is not reclaimed: a few entries per thread,
 * never more.  Values they had popped and not yet retired do
 * not get their destructor.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "api.h"

static pthread_mutex_t lfd_fork_lock = PTHREAD_MUTEX_INITIALIZER;
/* Signalled when a fork is done: lfd_destroy waits for it to unregister. */
static pthread_cond_t lfd_fork_done = PTHREAD_COND_INITIALIZER;
static pthread_once_t lfd_fork_once = PTHREAD_ONCE_INIT;
static int lfd_fork_hooked; /* 0: not yet; 1: registered; -errno */
/* Under lfd_fork_lock: the live dictionaries, and a fork in progress. */
static struct lfd *lfd_fork_list;
static bool lfd_forking;

static void lfd_fork_prepare(void);
static void lfd_fork_parent(void);
static void lfd_fork_child(void);

static void lfd_fork_hook(void)
{
	int r = pthread_atfork(lfd_fork_prepare, lfd_fork_parent,
			       lfd_fork_child);

	lfd_fork_hooked = r == 0 ? 1 : -r;
}

/* Close d's gate and keep its helpers out (under lfd_fork_lock). */
static void lfd_fork_close(struct lfd *d)
{
	/* relaxed: the gate's count is read with acquire by the wait below,
	 * and the store buffering against lfd_gate_enter is the RMW's
	 * (seq_cst there, and a single modification order here). */
	lfd_a_fetch_add(&d->fork_gate, LFD_GATE_CLOSED, memory_order_seq_cst);
	/* seq_cst: as lfd_reclaim_wait's announcement (store buffering with
	 * lfd_help_free's count and check). */
	lfd_a_fetch_add(&d->reclaim_waiters, 1, memory_order_seq_cst);
}

/* Is no thread inside one of d's windows? */
static bool lfd_fork_quiet(struct lfd *d)
{
	/* acquire: pairs with lfd_gate_exit's release and with the helpers'
	 * release decrement (lfd_help_free): what they did is seen here and
	 * is in the child's copy. */
	return lfd_a_load(&d->fork_gate, memory_order_acquire) ==
		       LFD_GATE_CLOSED &&
	       lfd_a_load(&d->reclaim_helpers, memory_order_seq_cst) == 0;
}

static void lfd_fork_prepare(void)
{
	struct lfd *d;
	bool quiet;

	pthread_mutex_lock(&lfd_fork_lock);
	lfd_forking = true;
	for (d = lfd_fork_list; d != NULL; d = d->fork_next)
		lfd_fork_close(d);
	/* Wait without the lock: a destructor run by a helper we wait for
	 * may create a dictionary (born closed, lfd_fork_register); none is
	 * destroyed while lfd_forking (lfd_fork_unregister waits). */
	do {
		quiet = true;
		for (d = lfd_fork_list; d != NULL && quiet; d = d->fork_next)
			quiet = lfd_fork_quiet(d);
		if (!quiet) {
			pthread_mutex_unlock(&lfd_fork_lock);
			sched_yield();
			pthread_mutex_lock(&lfd_fork_lock);
		}
	} while (!quiet);
	/* Held across the fork: the child walks the list. */
	urcu_bp_call_rcu_before_fork();
	urcu_bp_before_fork();
}

/* After the fork, in parent and child: open the gates, reschedule what a
 * closed gate skipped.  child: no other thread exists, so no helper or
 * waiter of the parent's is left either. */
static void lfd_fork_resume(bool child)
{
	struct lfd *d;

	for (d = lfd_fork_list; d != NULL; d = d->fork_next) {
		/* release: what the forking thread did meanwhile happens-
		 * before the windows that open now (lfd_gate_enter's RMW). */
		lfd_a_fetch_add(&d->fork_gate, -LFD_GATE_CLOSED,
				memory_order_release);
		if (child) {
			/* relaxed: this is the child's only thread; a
			 * waiter of the parent's (in lfd_barrier) is gone,
			 * and so is a trimmer of the parent's (outside its
			 * window: it held no slot, trim.c). */
			lfd_a_store(&d->reclaim_waiters, 0,
				    memory_order_relaxed);
			lfd_a_store(&d->slab_trimming, 0,
				    memory_order_relaxed);
			/* relaxed, as above.  No chain was held at the fork
			 * (the prepare waited until no helper was counted,
			 * and a helper or refill counted after that saw the
			 * announcement and took nothing), but such a thread
			 * may have been between its count and its drop: its
			 * count, copied here, would never drop, and the
			 * child's lfd_barrier would wait for it for ever
			 * (test_budget, fork_after_backoff). */
			lfd_a_store(&d->reclaim_helpers, 0,
				    memory_order_relaxed);
		} else
			/* relaxed: helpers read it only to back off. */
			lfd_a_fetch_add(&d->reclaim_waiters, -1,
					memory_order_relaxed);
	}
	lfd_forking = false;
	/* What a closed gate skipped: queue the reclaim batch, ask for the
	 * resize.  Neither runs a destructor; a resize may do a grow here
	 * (at most 65536 buckets, lfd_grow_inline). */
	for (d = lfd_fork_list; d != NULL; d = d->fork_next) {
		lfd_reclaim_kick(d);
		lfd_resize_check(d);
	}
}

static void lfd_fork_parent(void)
{
	urcu_bp_after_fork_parent();
	urcu_bp_call_rcu_after_fork_parent();
	lfd_fork_resume(false);
	pthread_cond_broadcast(&lfd_fork_done);
	pthread_mutex_unlock(&lfd_fork_lock);
}

static void lfd_fork_child(void)
{
	urcu_bp_after_fork_child();
	urcu_bp_call_rcu_after_fork_child();
	lfd_fork_resume(true);
	/* The parent's threads waiting on the condition are not here. */
	pthread_cond_init(&lfd_fork_done, NULL);
	pthread_mutex_unlock(&lfd_fork_lock);
}

int lfd_fork_register(struct lfd *d)
{
	pthread_once(&lfd_fork_once, lfd_fork_hook);
	if (lfd_fork_hooked < 0)
		return lfd_fork_hooked;
	pthread_mutex_lock(&lfd_fork_lock);
	/* relaxed: published to other threads by the caller's publication
	 * of d; a fork in progress sees it under the lock. */
	lfd_a_store(&d->fork_gate, lfd_forking ? LFD_GATE_CLOSED : 0u,
		    memory_order_relaxed);
	if (lfd_forking)
		lfd_a_fetch_add(&d->reclaim_waiters, 1, memory_order_relaxed);
	d->fork_prev = NULL;
	d->fork_next = lfd_fork_list;
	if (lfd_fork_list != NULL)
		lfd_fork_list->fork_prev = d;
	lfd_fork_list = d;
	pthread_mutex_unlock(&lfd_fork_lock);
	return 0;
}

void lfd_fork_unregister(struct lfd *d)
{
	pthread_mutex_lock(&lfd_fork_lock);
	while (lfd_forking)
		pthread_cond_wait(&lfd_fork_done, &lfd_fork_lock);
	if (d->fork_prev != NULL)
		d->fork_prev->fork_next = d->fork_next;
	else
		lfd_fork_list = d->fork_next;
	if (d->fork_next != NULL)
		d->fork_next->fork_prev = d->fork_prev;
	pthread_mutex_unlock(&lfd_fork_lock);
}
