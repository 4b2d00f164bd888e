/*
 * reclaim.c - memory and deferred reclamation through the RCU flavour.
 *
 * SPDX-License-Identifier: MIT
 *
 * Retired items (popped entries, and records carrying an overwritten value
 * to its destructor) are pushed on a per-dictionary lock-free stack.  One
 * batch at a time is in flight: whoever finds no batch in flight takes the
 * whole stack and hands it to one update_call_rcu; the callback, after a
 * grace period, runs the destructors and frees the batch, then takes the
 * next batch if items arrived meanwhile.  One call_rcu per batch instead of
 * one per entry, and no rcu_head in an entry.  A pusher never waits: if a
 * batch is in flight, its item simply rides in the next one.
 *
 * Grace-period argument: an item is pushed only after it left the
 * dictionary (entry unlinked, value overwritten); the batch holding it is
 * handed to call_rcu after the push; so the grace period the callback waits
 * for starts after the item became unreachable for new readers.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

void *lfd_mem_alloc(struct lfd *d, size_t size)
{
	return d->alloc(size, d->alloc_arg);
}

void lfd_mem_free(struct lfd *d, void *p, size_t size)
{
	d->free(p, size, d->alloc_arg);
}

size_t lfd_entry_size(uint32_t klen)
{
	return sizeof(struct lfd_entry) + klen;
}

static struct lfd_retired *lfd_retired_ptr(uintptr_t w)
{
	return (struct lfd_retired *)(w & ~LFD_RETIRED_TAGS);
}

static struct lfd *lfd_of_retire_head(struct rcu_head *head)
{
	return LFD_CONTAINER_OF(head, struct lfd, retire_head);
}

static void lfd_retire_cb(struct rcu_head *head);

/* If items wait and no batch is in flight, send them as one. */
static void lfd_retire_schedule(struct lfd *d)
{
	for (;;) {
		int idle = 0;
		uintptr_t batch;

		/* seq_cst (this load, the busy CAS, and the stores of
		 * retire_busy = 0 and pushes): store buffering between a pusher
		 * (push; check busy) and the batch callback (clear busy; check
		 * pending) -- one of them always sees the other's write, so no
		 * item is left behind with no batch scheduled. */
		if (lfd_a_load(&d->retire_pending, memory_order_seq_cst) == 0)
			return;
		if (!lfd_a_cas(&d->retire_busy, &idle, 1, memory_order_seq_cst,
			     memory_order_relaxed))
			return; /* the batch in flight will take them */
		/* acquire: pairs with the pushes' release, so each item's
		 * link and value are visible to the callback. */
		batch = lfd_a_xchg(&d->retire_pending, (uintptr_t)0,
				 memory_order_acq_rel);
		if (batch != 0) {
			d->retire_inflight = batch;
#ifdef LFD_BREAK_NO_GRACE /* deliberately broken build for stress/, see doc/torture.md */
			lfd_retire_cb(&d->retire_head); /* no grace period */
			return;
#endif
			d->flavor->update_call_rcu(&d->retire_head,
						   lfd_retire_cb);
			return;
		}
		lfd_a_store(&d->retire_busy, 0, memory_order_seq_cst);
	}
}

static void lfd_retire_push(struct lfd *d, uintptr_t item)
{
	struct lfd_retired *r = lfd_retired_ptr(item);
	/* relaxed: only seeds the CAS loop. */
	uintptr_t head = lfd_a_load(&d->retire_pending, memory_order_relaxed);

	do
		r->link = head;
	/* seq_cst: release publishes r to the batch taker; seq_cst for the
	 * store-buffering pair described in lfd_retire_schedule. */
	while (!lfd_a_cas_weak(&d->retire_pending, &head, item,
			     memory_order_seq_cst, memory_order_relaxed));
	lfd_retire_schedule(d);
}

void lfd_retire_entry(struct lfd *d, struct lfd_entry *e, void *popped)
{
	e->retired.value = popped;
	lfd_retire_push(d, (uintptr_t)&e->retired);
}

struct lfd_retired *lfd_record_alloc(struct lfd *d)
{
	return lfd_mem_alloc(d, sizeof(struct lfd_retired));
}

void lfd_record_free(struct lfd *d, struct lfd_retired *r)
{
	lfd_mem_free(d, r, sizeof(*r));
}

void lfd_record_retire(struct lfd *d, struct lfd_retired *r, void *value)
{
	r->value = value;
	lfd_retire_push(d, (uintptr_t)r | LFD_RETIRED_RECORD);
}

static void lfd_retire_cb(struct rcu_head *head)
{
	struct lfd *d = lfd_of_retire_head(head);
	uintptr_t w = d->retire_inflight;
	struct lfd_retired *markers = NULL;

	while (w != 0) {
		struct lfd_retired *r = lfd_retired_ptr(w);
		uintptr_t next = r->link;

		if (w & LFD_RETIRED_MARKER) {
			/* The stack is LIFO: items pushed before a marker come
			 * after it in the batch.  Signal markers last. */
			r->link = (uintptr_t)markers;
			markers = r;
		} else if (w & LFD_RETIRED_RECORD) {
			if (d->value_free)
				d->value_free(r->value, d->value_free_arg);
			lfd_record_free(d, r);
		} else {
			struct lfd_entry *e =
				LFD_CONTAINER_OF(r, struct lfd_entry, retired);

			if (d->value_free)
				d->value_free(r->value, d->value_free_arg);
			lfd_mem_free(d, e, lfd_entry_size(e->ln.klen));
		}
		w = next;
	}
	d->retire_inflight = 0;
	while (markers != NULL) {
		struct lfd_retired *next = (struct lfd_retired *)markers->link;

		/* release: every destructor and free above happens-before the
		 * waiter's return; the waiter's frame may vanish right after
		 * this store, so the marker is not touched again. */
		lfd_a_store(&((struct lfd_marker *)markers)->done, 1,
			    memory_order_release);
		markers = next;
	}
	lfd_a_store(&d->retire_busy, 0, memory_order_seq_cst);
	lfd_retire_schedule(d);
}

/*
 * Wait until every item retired before the call has been reclaimed: push a
 * marker and wait for the batch that carries it.  A batch takes the whole
 * stack, so that batch carries everything pushed before the marker, or a
 * batch before it did.  The marker lives in this frame: we do not return
 * before the callback is done with it.  Not from a read-side section.
 */
void lfd_reclaim_wait(struct lfd *d)
{
	struct lfd_marker m;

	m.r.value = NULL;
	lfd_a_init(&m.done, 0);
	lfd_retire_push(d, (uintptr_t)&m.r | LFD_RETIRED_MARKER);
	/* acquire: pairs with the callback's release of done. */
	while (!lfd_a_load(&m.done, memory_order_acquire))
		d->flavor->barrier();
}

bool lfd_reclaim_idle(struct lfd *d)
{
	return lfd_a_load(&d->retire_busy, memory_order_seq_cst) == 0 &&
	       lfd_a_load(&d->retire_pending, memory_order_seq_cst) == 0;
}
