/*
 * reclaim.c - deferred reclamation through the RCU flavour.  Uses
 * count.h (the backlog gauge), slab.h (entry memory) and base.h; nothing
 * of the list or the index (the layers: lib/dict.c's design comment).
 *
 * SPDX-License-Identifier: MIT
 *
 * Retired items (popped entries, and records carrying an overwritten value
 * to its destructor) are pushed on a lock-free stack, one per stripe
 * (lfd_stripe.retire): a thread pushes on its stripe's (its CPU's,
 * base.h), so pops running at once seldom write one line.  One batch at a
 * time waits for a grace period: whoever finds no batch in flight takes
 * every stripe's whole stack (each stripe's part in its `inflight`) and
 * hands them to one update_call_rcu.  One call_rcu per batch instead of
 * one per entry, and no rcu_head in an entry.  A pusher never waits: if a batch is in flight, its
 * item rides in the next, and it learns that from one load of retire_busy.
 *
 * Who frees.  The callback runs on the flavour's call_rcu worker, one
 * thread for the whole process.  Under oversubscription (1000 updaters on
 * 2 cores) that thread gets a thousandth of the CPU while the updaters
 * retire items at full speed; if it had to free every batch alone, the
 * backlog would grow without bound (stress/ found 24 GB after 330 s).  So
 * the callback frees at most LFD_CB_BUDGET items of its batch per run
 * (and, while the backlog is over its bound, up to LFD_CB_BUDGET
 * handed-over items besides: lfd_free_raw), and puts the rest
 * of a batch -- past its grace period -- in one of LFD_READY_SLOTS ready
 * slots.  Every update that retired something then frees up to
 * LFD_HELP_BUDGET ready items after its own read-side section has ended
 * (its caller may still hold one: helping there is safe, the items are past
 * their grace period), never more: the rest goes back to a slot, or with
 * every slot full onto the retire stack (lfd_give_back).  Freeing capacity
 * grows with the number of threads that create garbage.  The callback
 * drops the item budget when nothing new was retired during its grace
 * period or nobody helped since its last run, so reclamation finishes when
 * the updates stop.  No update ever waits for a grace period.
 *
 * The worker is shared: every dictionary's callbacks (frees and resizes)
 * run on it one after another.  So a run also stops after LFD_CB_TIME_NS
 * and leaves the rest for its next run, queued behind the callbacks that
 * came meanwhile: one dictionary's slow destructors delay another's
 * resizes and frees by about that much per run, not by its whole backlog
 * -- except while a thread waits in lfd_barrier or lfd_trim on that
 * dictionary, which asked for the whole backlog (lfd_free_all).
 * lfd_destroy is no waiter: it repeats the flavour's barrier until the
 * pipeline is idle, and its callbacks run with their budgets.
 *
 * A slot holds a chain; taking it is one exchange, so two threads never
 * free the same item and no pop has an ABA window.  A helper frees a few
 * items of the chain it took and puts the rest back in any empty slot.
 *
 * Grace-period argument: an item is pushed only after it left the
 * dictionary (entry unlinked, value overwritten); the batch holding it is
 * handed to call_rcu after the push; so the grace period the callback waits
 * for starts after the item became unreachable for new readers, and every
 * item in a ready slot has had its grace period.
 *
 * Waiting (lfd_barrier, lfd_trim; fork keeps helpers out the same way): a
 * waiter announces itself in
 * `reclaim_waiters`, waits until no helper holds a chain, then pushes a
 * marker on every stripe's stack.  While a waiter is announced, no helper
 * takes a chain, and every callback frees its whole batch and empties all
 * slots, with no budget, before it signals the markers of its batch.  One
 * marker per stripe: an item retired before the wait began is below the
 * marker of its own stripe (its push happens-before the marker's, so it
 * comes first in that stack's modification order), so the batch that
 * takes the marker, or an earlier one, holds it; a single marker on one
 * stripe would say nothing of the others, whose stacks the batch taker
 * reads at other instants.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "items.h"
#include "reclaim.h"

/* Items the callback frees per run before it leaves the rest to helpers. */
#define LFD_CB_BUDGET 1024u
/* Time a callback run may spend freeing, whatever else: the call_rcu
 * worker is one thread for the whole process, and every dictionary's
 * callbacks (frees, resizes) queue on it.  What is left waits for the next
 * run, a grace period later, queued behind the others. */
#define LFD_CB_TIME_NS 4000000L
/* Items an update frees per call when ready items wait: exactly this many
 * destructors at most, on the updating thread. */
#define LFD_HELP_BUDGET 32u

/* Backpressure: while more than LFD_BACKLOG_MIN + count items wait to be
 * reclaimed, each update that retires one pauses 1, 2, 4, ... times
 * LFD_THROTTLE_NS at 1, 2, 3, ... times that bound (at most LFD_THROTTLE_MAX
 * times).  The
 * backlog is summed every LFD_THROTTLE_CHECK retiring updates per thread and
 * by every callback run. */
#define LFD_BACKLOG_MIN ((size_t)1 << 20)
#define LFD_THROTTLE_NS 1000000L
#define LFD_THROTTLE_MAX 32
#define LFD_THROTTLE_CHECK 32u

static _Thread_local unsigned int lfd_since_check;

/* Set while this thread frees on a dictionary's behalf: a destructor that
 * updates a dictionary does not start helping again (no recursion), and
 * lfd_barrier/lfd_destroy from a destructor get -EDEADLK. */
static _Thread_local int lfd_helping;
/* A pause owed by an update made inside a read-side section (the caller's,
 * or lfd_foreach's around its callback): taken when that section has ended
 * (sleeping inside it would hold back the grace period the pause is meant
 * to let through). */
static _Thread_local int lfd_pause_owed;

/*
 * An entry that was allocated but never linked.  A slab slot may be
 * reused only after a grace period since it was taken (slab.c), so it is
 * retired like a popped entry, with no value for the destructor; anything
 * else is freed now.
 */
void lfd_entry_discard(struct lfd *d, struct lfd_entry *e)
{
	if (lfd_slab_class(d, e->ln.klen) < 0)
		lfd_entry_drop(d, e); /* not a slab slot: freed now */
	else
		lfd_retire_entry(d, e, LFD_TOMBSTONE);
}

static struct lfd *lfd_of_retire_head(struct rcu_head *head)
{
	return LFD_CONTAINER_OF(head, struct lfd, retire_head);
}

static void lfd_retire_cb(struct rcu_head *head);
static void lfd_throttle_update(struct lfd *d);

/* Is anything waiting: not yet in a batch, or ready to be freed? */
/* Is any stripe's retire stack non-empty?  seq_cst: the store-buffering
 * pairs described in lfd_retire_schedule (the callback's budget heuristic
 * needs no order; once per batch, the same loads serve it). */
static bool lfd_any_retired(struct lfd *d)
{
	unsigned int i;

	for (i = 0; i < d->nstripes; i++)
		if (lfd_a_load(&d->stripes[i].retire, memory_order_seq_cst))
			return true;
	return false;
}

/* Are handed-over items waiting (slab.c)?  seq_cst: as lfd_any_retired,
 * against a hand-over (write; check busy). */
static bool lfd_any_raw(struct lfd *d)
{
	unsigned int i;

	/* With a destructor nothing is handed over: no loads of every
	 * stripe.  Once lfd_destroy began, handed-over items are not work
	 * either: lfd_slab_fini frees their blocks whole (relaxed: a stale
	 * 0 costs a callback run that frees some of them). */
	if (d->value_free || lfd_a_load(&d->destroying, memory_order_relaxed))
		return false;
	if (lfd_a_load(&d->raw_chains, memory_order_seq_cst))
		return true;
	for (i = 0; i < d->nstripes; i++)
		if (lfd_a_load(&d->stripes[i].raw, memory_order_seq_cst))
			return true;
	return false;
}

static bool lfd_reclaim_work(struct lfd *d)
{
	/* seq_cst: as lfd_any_retired. */
	return lfd_any_retired(d) ||
	       lfd_a_load(&d->ready_count, memory_order_seq_cst) != 0 ||
	       lfd_any_raw(d);
}

/* Take every stripe's stack into its `inflight` (the caller holds
 * retire_busy); true if any was not empty. */
static bool lfd_batch_take(struct lfd *d)
{
	bool any = false;
	unsigned int i;

	for (i = 0; i < d->nstripes; i++) {
		struct lfd_stripe *s = &d->stripes[i];

		/* acquire: pairs with the pushes' release, so each item's
		 * link and value are visible to the callback; seq_cst for
		 * the waiter's markers (lfd_reclaim_wait). */
		s->inflight = lfd_a_xchg(&s->retire, (uintptr_t)0,
					 memory_order_seq_cst);
		any |= s->inflight != 0;
	}
	return any;
}

/* The batch in flight's next non-empty chain, taken from its stripe
 * (*i: the stripe to look at next); 0 when none is left.  Callback only. */
static uintptr_t lfd_batch_next(struct lfd *d, unsigned int *i)
{
	while (*i < d->nstripes) {
		struct lfd_stripe *s = &d->stripes[(*i)++];
		uintptr_t w = s->inflight;

		if (w != 0) {
			s->inflight = 0;
			return w;
		}
	}
	return 0;
}

/* If work waits and no batch is in flight, queue a callback for it. */
static void lfd_retire_schedule(struct lfd *d)
{
	for (;;) {
		int idle = 0;

		/* seq_cst (these loads, the busy CAS, the stores of
		 * retire_busy = 0, the pushes and the slot counts): store
		 * buffering between a pusher or a helper putting a chain back
		 * (write; check busy) and the callback (clear busy; check
		 * work) -- one of them always sees the other's write, so no
		 * item is left behind with no callback queued.
		 * Busy first: a batch in flight will see the work, and a
		 * retiring update learns it from one load of a line written
		 * once per batch, before it reads the other stripes' lines
		 * or writes any shared one (the gate and the CAS below take
		 * theirs exclusive; they were 12% of a 2-thread U run's
		 * samples, doc/performance.md). */
		if (lfd_a_load(&d->retire_busy, memory_order_seq_cst) != 0)
			return;
		if (!lfd_reclaim_work(d))
			return;
		/* From taking a batch to handing it to call_rcu: a window a
		 * fork must not cut (base.h); closed: fork.c reschedules. */
		if (!lfd_gate_enter(d))
			return;
		/* seq_cst on failure too: a failure is this pair's load of
		 * busy, and returns on what it read. */
		if (!lfd_a_cas(&d->retire_busy, &idle, 1, memory_order_seq_cst,
			     memory_order_seq_cst)) {
			lfd_gate_exit(d);
			return; /* the callback in flight will see it */
		}
		/* Handed-over items alone are work too: a callback frees
		 * them once no update takes them (lfd_retire_cb, alone). */
		if (lfd_batch_take(d) ||
		    lfd_a_load(&d->ready_count, memory_order_seq_cst) != 0 ||
		    lfd_any_raw(d)) {
#ifdef LFD_BREAK_NO_GRACE /* deliberately broken build for stress/, see doc/torture.md */
			lfd_retire_cb(&d->retire_head); /* no grace period */
			lfd_gate_exit(d);
			return;
#endif
			d->flavor->update_call_rcu(&d->retire_head,
						   lfd_retire_cb);
			lfd_gate_exit(d);
			return;
		}
		lfd_a_store(&d->retire_busy, 0, memory_order_seq_cst);
		lfd_gate_exit(d);
	}
}

/* Push the chain first..last (linked, last's link about to be set) on
 * stripe s's retire stack. */
static void lfd_retire_push_chain(struct lfd *d, struct lfd_stripe *s,
				  uintptr_t first, uintptr_t last)
{
	LFD_ATOMIC(uintptr_t) *link = lfd_item_link(last);
	/* relaxed: only seeds the CAS loop. */
	uintptr_t head = lfd_a_load(&s->retire, memory_order_relaxed);

	do
		/* release: an entry's link is its next word, which walkers
		 * still inside a read-side section may load; they see
		 * LFD_RETIRED and start again (solist.c, I2).  This thread
		 * unlinked the entry or saw it unlinked (lfd_list_remove), so
		 * a walker that reads this store also sees the unlink and its
		 * new walk does not meet the entry again (each restart means
		 * a pop completed: lock-free).  For the batch taker, the
		 * CAS's release publishes the link. */
		lfd_a_store(link, head | LFD_LINK_TAGS, memory_order_release);
	/* seq_cst: release publishes r to the batch taker; seq_cst for the
	 * store-buffering pair described in lfd_retire_schedule. */
	while (!lfd_a_cas_weak(&s->retire, &head, first,
			     memory_order_seq_cst, memory_order_relaxed));
	lfd_retire_schedule(d);
}

static void lfd_retire_push(struct lfd *d, uintptr_t item)
{
	if (lfd_item_kind(item) != LFD_KIND_MARKER)
		lfd_backlog_add(d, 1);
	lfd_retire_push_chain(d, lfd_my_stripe(d), item, item);
}

/*
 * Give back chain w (past its grace period, held by this thread) that a
 * budget left unfreed: into an empty ready slot, or, with every slot full,
 * onto the retire stack, where it waits one more grace period (items
 * counted in the backlog once: no count here).  Never frees anything, so
 * a budget is exact.  Markers met by a run that stopped short go back on
 * the stack too (a marker is signalled only by a run that freed all).
 */
static void lfd_give_back(struct lfd *d, uintptr_t w, unsigned from,
			  struct lfd_retired *markers)
{
	if (w != 0 && !lfd_ready_put(d, w, from)) {
		uintptr_t last = w, next;

		/* O(length) loads, no destructor: the bound is on
		 * destructors and frees. */
		while ((next = lfd_item_next(last)) != 0)
			last = next;
		lfd_retire_push_chain(d, lfd_my_stripe(d), w, last);
	}
	while (markers != NULL) {
		/* relaxed: this thread's list (lfd_free_items). */
		struct lfd_retired *next = (struct lfd_retired *)lfd_a_load(
			&markers->link, memory_order_relaxed);

		lfd_retire_push(d, (uintptr_t)markers);
		markers = next;
	}
}

void lfd_retire_entry(struct lfd *d, struct lfd_entry *e, void *popped)
{
	if (d->value_free)
		*lfd_entry_popped(e) = popped;
	/* A big entry may not be handed over (slab.c, "Handed-over chains":
	 * a stale popper may still read it when it is freed).  relaxed: the
	 * push below publishes the flag with the entry (its release, and the
	 * acquires that bring the entry's chain to a helper), and a helper
	 * checks it after taking its chain. */
	else if (lfd_slab_class(d, e->ln.klen) < 0 &&
		 !lfd_a_load(&d->raw_off, memory_order_relaxed))
		lfd_a_store(&d->raw_off, 1, memory_order_relaxed);
	lfd_retire_push(d, (uintptr_t)e);
}

void lfd_record_retire(struct lfd *d, struct lfd_retired *r, void *value)
{
	r->kind = LFD_KIND_RECORD;
	r->value = value;
	lfd_retire_push(d, (uintptr_t)r);
}

/* Free handed-over items (slab.c) within budget b; what the budget leaves
 * is handed over again, unloaded, in one push.  A spent budget takes
 * nothing. */
static void lfd_free_raw(struct lfd *d, struct lfd_budget *b,
			 struct lfd_retired **markers)
{
	uintptr_t c;

	if (b->items == 0 || (b->deadline != 0 && lfd_now_ns() >= b->deadline))
		return;
	c = lfd_slab_raw_take_all(d);
	while (c != 0) {
		uintptr_t next = lfd_slab_raw_next(c);
		uintptr_t rest = lfd_free_items(d, c, b, markers);

		if (rest != 0) {
			lfd_slab_hand_over(d, rest, next);
			return;
		}
		c = next;
	}
}

/*
 * With a waiter: free chain w, the rest of the batch (its chains from
 * stripe *i on) and every ready chain, then signal the markers met.  No
 * budget: a marker stands for everything retired before it, and under a
 * steady stream of retires a run that stopped short could leave the waiter
 * behind for ever.  The waiter asked for this wait.
 */
static void lfd_free_all(struct lfd *d, uintptr_t w, unsigned int *i,
			 struct lfd_retired **markers)
{
	struct lfd_budget all = { UINT_MAX, 0 };
	uintptr_t c;

	while ((c = lfd_ready_take(d, 0)) != 0)
		lfd_free_items(d, c, &all, markers);
	lfd_free_raw(d, &all, markers);
	do
		lfd_free_items(d, w, &all, markers);
	while ((w = lfd_batch_next(d, i)) != 0);
	lfd_signal_markers(*markers);
	*markers = NULL;
}

static void lfd_retire_cb(struct rcu_head *head)
{
	struct lfd *d = lfd_of_retire_head(head);
	unsigned int i = 0; /* the next stripe of the batch to free */
	uintptr_t w = lfd_batch_next(d, &i);
	struct lfd_retired *markers = NULL;
	struct lfd_budget budget = { UINT_MAX, lfd_now_ns() + LFD_CB_TIME_NS };
	/* relaxed: a heuristic; only this callback chain reads it. */
	unsigned long taken = lfd_a_load(&d->help_taken, memory_order_relaxed);
	/* Chains left by the last run, and no update took any since: the
	 * updates have stopped or retire too little to help, and this thread
	 * is not starved by them -- free all it can now (within the time
	 * budget) rather than an item budget per grace period. */
	bool alone = taken == d->help_taken_seen &&
		     (lfd_a_load(&d->ready_count, memory_order_relaxed) > 0 ||
		      lfd_any_raw(d));
	int helping = lfd_helping;

	d->help_taken_seen = taken;
	lfd_helping = 1; /* destructors' updates neither help nor pause */
	/* A waiter announces itself before it pushes its marker, and this
	 * batch was taken (acquire) after the push (release): happens-before
	 * and coherence, so a batch with a marker always sees the waiter
	 * (seq_cst is not needed for that; kept for simplicity). */
	if (lfd_a_load(&d->reclaim_waiters, memory_order_seq_cst) != 0) {
		lfd_free_all(d, w, &i, &markers);
	} else {
		uintptr_t c = w;

		/* Nobody helped since the last run, or nothing was retired
		 * during the grace period and the backlog is under its bound
		 * (the updates stopped or are few): no reason to leave work
		 * behind but the time budget -- a chain left with no update to
		 * take it waits for the next run.  Over the bound, updates are
		 * running and will help; this thread may be the starved one:
		 * an item budget too. */
		/* (anything retired since this batch was taken: a heuristic) */
		if (!alone && (lfd_any_retired(d) ||
			       lfd_a_load(&d->throttle, memory_order_relaxed)))
			budget.items = LFD_CB_BUDGET;
		/* The batch's chains, then the ready ones, until the budget
		 * stops the run (c: the rest of the chain it stopped in). */
		while (c != 0 || (c = lfd_batch_next(d, &i)) != 0 ||
		       (c = lfd_ready_take(d, 0)) != 0) {
			c = lfd_free_items(d, c, &budget, &markers);
			if (c != 0)
				break;
		}
		/* Handed-over items wait for allocations.  With none coming
		 * (alone), free them in what the run has left.  Over the
		 * bound, free up to a budget of their own: with more pops than
		 * inserts nothing else takes them, and a batch that fills the
		 * run's item budget every time must not leave them holding the
		 * backlog over its bound (the time budget is shared). */
		if (alone) {
			lfd_free_raw(d, &budget, &markers);
		} else if (lfd_a_load(&d->throttle, memory_order_relaxed)) {
			struct lfd_budget raw = { LFD_CB_BUDGET,
						  budget.deadline };

			lfd_free_raw(d, &raw, &markers);
		}
		/* Markers come only with a waiter (above); if one ever came
		 * here, it gets what it waits for. */
		if (markers != NULL) {
			lfd_free_all(d, c, &i, &markers);
		} else {
			do
				lfd_give_back(d, c, 0, NULL);
			while ((c = lfd_batch_next(d, &i)) != 0);
		}
	}
	lfd_helping = helping;
	lfd_throttle_update(d);
	lfd_a_store(&d->retire_busy, 0, memory_order_seq_cst);
	lfd_retire_schedule(d);
}

/* Recompute the pause in ms: 0 under the bound, doubling with each further
 * bound's worth of backlog (at most LFD_THROTTLE_MAX). */
static void lfd_throttle_update(struct lfd *d)
{
	size_t bound = LFD_BACKLOG_MIN + lfd_count_sum(d);
	size_t q = lfd_backlog_sum(d) / bound;
	/* 1, 2, 4, ... ms for 1, 2, 3, ... bounds' worth: a linear gain
	 * (1 ms per bound, at most 8) let 1000 threads on 2 loaded cores sit
	 * at 4-5 bounds for minutes (the hour torture). */
	int over = q == 0 ? 0 : q > 6 ? LFD_THROTTLE_MAX : 1 << (q - 1);

	/* relaxed: a hint read by updates; a stale value costs one pause
	 * too many or too few, nothing else. */
	if (lfd_a_load(&d->throttle, memory_order_relaxed) != over)
		lfd_a_store(&d->throttle, over, memory_order_relaxed);
}

/* Free up to LFD_HELP_BUDGET items that are past their grace period. */
static void lfd_help_free(struct lfd *d)
{
	uintptr_t c;
	struct lfd_budget budget = { LFD_HELP_BUDGET, 0 };
	unsigned from;
	struct lfd_retired *markers = NULL;

	/* relaxed: a hint; a chain missed now is taken by a later call or
	 * by the callback, which keeps running while chains remain. */
	if (lfd_a_load(&d->ready_count, memory_order_relaxed) <= 0 ||
	    lfd_a_load(&d->reclaim_waiters, memory_order_relaxed) != 0)
		return;
	/* seq_cst, with the waiter's announcement: store buffering (helper:
	 * count self, check waiters; waiter: announce, check helpers) --
	 * either this helper sees the waiter and backs off, or the waiter
	 * sees this helper and waits for it to put its chain back. */
	lfd_a_fetch_add(&d->reclaim_helpers, 1, memory_order_seq_cst);
	if (lfd_a_load(&d->reclaim_waiters, memory_order_seq_cst) == 0) {
		from = lfd_my_thread_no();
		c = lfd_ready_take(d, from);
		if (c != 0) {
			/* relaxed: a heuristic for the callback's budget. */
			lfd_a_fetch_add(&d->help_taken, 1ul,
					memory_order_relaxed);
			lfd_helping = 1;
			/* No destructor: nothing to do for an item but give
			 * its memory back, which an allocation does when it
			 * reuses it -- hand the chain over unloaded (slab.c,
			 * "Handed-over chains"), unless an entry too big for
			 * the slab was ever retired (raw_off; this load comes
			 * after the take's acquire, lfd_retire_entry), the
			 * backlog is over its bound, or chains handed over
			 * before are still waiting (the allocations do not
			 * keep up: other sizes, more pops than inserts), so
			 * that the pile stays a few chains: at most one per
			 * stripe and one waiting, plus what racing helpers
			 * hand over at once (relaxed: hints). */
			if (!d->value_free &&
			    !lfd_a_load(&d->raw_off, memory_order_relaxed) &&
			    !lfd_a_load(&d->throttle, memory_order_relaxed) &&
			    !lfd_a_load(&d->raw_chains,
					memory_order_relaxed)) {
				lfd_slab_hand_over(d, c, 0);
				c = 0;
			} else {
				c = lfd_free_items(d, c, &budget, &markers);
			}
			lfd_helping = 0;
			/* The rest back in a slot, or, every slot full, on
			 * the retire stack: never a second budget. */
			lfd_give_back(d, c, from, markers);
		}
	}
	/* release: the chain put back above happens-before a waiter that
	 * sees the helper count drop (its acquire load). */
	lfd_a_fetch_add(&d->reclaim_helpers, -1, memory_order_release);
	/* A chain put back while no callback was queued must not wait for
	 * the next retire. */
	lfd_retire_schedule(d);
}

/* Give the CPU to the readers that hold grace periods back and to the
 * threads that free: a bounded pause (`ms` <= LFD_THROTTLE_MAX), never a
 * wait for a grace period. */
static void lfd_pause(int ms)
{
	struct timespec pause = { 0, ms * LFD_THROTTLE_NS };

	nanosleep(&pause, NULL);
}

/*
 * Called by every update that retired something, after its own read-side
 * section (its caller may hold one): help free, and pause while the backlog
 * is over its limit -- at once, or, inside a read-side section, when that
 * section ends: the caller's outermost lfd_read_unlock, or the end of the
 * lfd_foreach whose callback made the update (lfd_reclaim_unlocked).
 */
void lfd_reclaim_help(struct lfd *d)
{
	int ms;

	if (lfd_helping)
		return; /* a destructor's update: no recursion, no pause */
	lfd_help_free(d);
	if ((++lfd_since_check & (LFD_THROTTLE_CHECK - 1)) == 0)
		lfd_throttle_update(d);
	/* relaxed: see lfd_throttle_update. */
	ms = lfd_a_load(&d->throttle, memory_order_relaxed);
	if (ms > 0) {
		/* relaxed: a statistic. */
		lfd_a_fetch_add(&d->throttled, (uint64_t)1,
				memory_order_relaxed);
		if (d->flavor->read_ongoing()) {
			if (ms > lfd_pause_owed)
				lfd_pause_owed = ms;
		} else {
			lfd_pause(ms);
		}
	}
}

/* After a section ends (lfd_read_unlock's outermost, lfd_foreach's): take
 * a pause owed by updates made inside, unless a section still holds the
 * thread (the pause waits for that one's end). */
void lfd_reclaim_unlocked(struct lfd *d)
{
	if (lfd_pause_owed && !d->flavor->read_ongoing()) {
		int ms = lfd_pause_owed;

		lfd_pause_owed = 0;
		lfd_pause(ms);
	}
}

bool lfd_reclaim_in_destructor(void)
{
	return lfd_helping != 0;
}

void lfd_reclaim_destroy_value(struct lfd *d, void *value)
{
	int helping = lfd_helping;

	lfd_helping = 1; /* as in every destructor lfdict runs */
	d->value_free(value, d->value_free_arg);
	lfd_helping = helping;
}

/* A grace period of d's flavour, waited for with the calls every flavour
 * lfdict accepts has (update_call_rcu, barrier; lfd_new checks them):
 * the callback runs after a grace period that began after the call. */
struct lfd_reclaim_gp {
	struct rcu_head head;
	LFD_ATOMIC(int) done;
};

static void lfd_reclaim_gp_cb(struct rcu_head *head)
{
	struct lfd_reclaim_gp *g = LFD_CONTAINER_OF(head, struct lfd_reclaim_gp, head);

	/* release: nothing the waiter needs, but the callback's last touch
	 * of g (the waiter's frame) happens-before the waiter returns. */
	lfd_a_store(&g->done, 1, memory_order_release);
}

void lfd_reclaim_grace_period(struct lfd *d)
{
	struct lfd_reclaim_gp g;

	lfd_a_init(&g.done, 0);
	d->flavor->update_call_rcu(&g.head, lfd_reclaim_gp_cb);
	/* acquire: pairs with the callback's release. */
	while (!lfd_a_load(&g.done, memory_order_acquire))
		d->flavor->barrier();
}

/*
 * Wait until every item retired before the call has been reclaimed.  Not
 * from a read-side section, nor from a destructor.
 */
void lfd_reclaim_wait(struct lfd *d)
{
	struct lfd_marker m[LFD_MAX_STRIPES];
	unsigned int i;

	/* seq_cst, and seq_cst loads of reclaim_helpers below: the
	 * store-buffering pair of lfd_help_free (both loads must be seq_cst;
	 * an acquire load here could read a stale 0 under C11) -- either the
	 * helper sees us and backs off, or we see its count.  The seq_cst
	 * load that reads the helpers' release decrement also acquires: a
	 * helper puts its chain back before it leaves.  Helpers hold a chain
	 * for LFD_HELP_BUDGET destructor calls. */
	lfd_a_fetch_add(&d->reclaim_waiters, 1, memory_order_seq_cst);
	while (lfd_a_load(&d->reclaim_helpers, memory_order_seq_cst) != 0)
		sched_yield();
	/* One marker per stripe: see "Waiting" at the top. */
	for (i = 0; i < d->nstripes; i++) {
		lfd_a_init(&m[i].r.link, (uintptr_t)0);
		m[i].r.kind = LFD_KIND_MARKER;
		m[i].r.value = NULL;
		lfd_a_init(&m[i].done, 0);
		lfd_retire_push_chain(d, &d->stripes[i], (uintptr_t)&m[i].r,
				      (uintptr_t)&m[i].r);
	}
	/* acquire: pairs with the callback's release of done. */
	for (i = 0; i < d->nstripes; i++)
		while (!lfd_a_load(&m[i].done, memory_order_acquire))
			d->flavor->barrier();
	/* An insert may have taken handed-over items of another size before
	 * the drain and not freed them yet: it frees them inside its
	 * read-side section (slab.c, lfd_raw_alloc), so a grace period
	 * covers it -- if anything was ever handed over.  relaxed: an insert
	 * holds such items only through a refill, and a refill that moved a
	 * chain counted itself in reclaim_helpers while the load above saw
	 * no waiter; the acquire load above that saw the helpers at 0 read
	 * its decrement or a later one (every change of the count is a
	 * read-modify-write), so the hand-over's store of raw_used, before
	 * the push the refill's exchange read, happens-before this load. */
	if (lfd_a_load(&d->raw_used, memory_order_relaxed))
		lfd_reclaim_grace_period(d);
	/* relaxed: helpers read the count only to back off; a stale
	 * nonzero costs one skipped help. */
	lfd_a_fetch_add(&d->reclaim_waiters, -1, memory_order_relaxed);
}

void lfd_reclaim_kick(struct lfd *d)
{
	lfd_retire_schedule(d);
}

bool lfd_reclaim_idle(struct lfd *d)
{
	return lfd_a_load(&d->retire_busy, memory_order_seq_cst) == 0 &&
	       !lfd_reclaim_work(d);
}
