/*
 * items.c - retired items (popped entries, destructor records, waiters'
 * markers) once their grace period has passed: what each one is, freeing
 * a chain of them within a budget, and the ready slots where chains wait
 * for a thread to free them.  Uses slab.h (entry memory), count.h (the
 * backlog gauge) and base.h; reclaim.c, in the same layer, is its only
 * user (the layers: lib/dict.c's design comment).
 *
 * SPDX-License-Identifier: MIT
 */
#include <limits.h>
#include <string.h>
#include <time.h>

#include "items.h"

/* An entry, a record and a marker all begin with their link word, and the
 * word after it tells them apart (struct lfd_retired). */
#ifndef __cplusplus /* the model checker's build checks nothing here */
_Static_assert(offsetof(struct lfd_entry, ln.next) == 0 &&
		       offsetof(struct lfd_retired, link) == 0 &&
		       offsetof(struct lfd_marker, r) == 0,
	       "a retire-stack item's address is its link word's");
_Static_assert(offsetof(struct lfd_entry, ln.so_key) ==
		       offsetof(struct lfd_retired, kind),
	       "an item's kind is read where an entry keeps its so_key");
#endif

/* The link word of retire-stack item w: the atomic word at its address
 * (an entry's ln.next, a record's or marker's link). */
LFD_ATOMIC(uintptr_t) *lfd_item_link(uintptr_t w)
{
	return (LFD_ATOMIC(uintptr_t) *)(void *)w;
}

/* Item w's kind: LFD_KIND_RECORD, LFD_KIND_MARKER, or odd for an entry
 * (its so_key, written before it was linked or discarded).  Read as bytes:
 * an entry is not a struct lfd_retired, and C's common-initial-sequence
 * rule covers unions only. */
uint32_t lfd_item_kind(uintptr_t w)
{
	uint32_t k;

	memcpy(&k, (const char *)w + offsetof(struct lfd_retired, kind),
	       sizeof(k));
	return k;
}

/* The next item after w, from w's link word. */
uintptr_t lfd_item_next(uintptr_t w)
{
	/* relaxed: the chain's links were published to whoever holds it by
	 * the exchange or CAS it took it with (a stripe's retire stack, a
	 * ready slot), or written by this thread. */
	return lfd_a_load(lfd_item_link(w), memory_order_relaxed) &
	       ~LFD_LINK_TAGS;
}

struct lfd_retired *lfd_record_alloc(struct lfd *d)
{
	struct lfd_retired *r = lfd_mem_alloc(d, sizeof(struct lfd_retired));

	if (r != NULL)
		lfd_a_init(&r->link, (uintptr_t)0);
	return r;
}

void lfd_record_free(struct lfd *d, struct lfd_retired *r)
{
	lfd_mem_free(d, r, sizeof(*r));
}

int64_t lfd_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Is b spent?  The clock is read before every item of a dictionary with a
 * destructor (whose cost is the caller's), every 64 items otherwise. */
static bool lfd_budget_spent(const struct lfd *d, struct lfd_budget *b,
			     long freed)
{
	if (b->items == 0)
		return true;
	if (b->deadline == 0 || (!d->value_free && (freed & 63) != 0))
		return false;
	return lfd_now_ns() >= b->deadline;
}

/*
 * Free items of chain w within budget b: run destructors, free entries and
 * records, move markers onto *markers.  Returns the rest of the chain (0
 * when done).
 */
uintptr_t lfd_free_items(struct lfd *d, uintptr_t w,
				struct lfd_budget *b,
				struct lfd_retired **markers)
{
	long freed = 0;
	struct lfd_slab_batch batch;

	memset(&batch, 0, sizeof(batch));

	while (w != 0 && !lfd_budget_spent(d, b, freed)) {
		uintptr_t next = lfd_item_next(w);
		uint32_t kind = lfd_item_kind(w);

		/* The chain is a list: start fetching the next item (its
		 * link and kind are read, its slot written) while this one
		 * is freed. */
		if (next != 0)
			__builtin_prefetch((void *)next, 1);

		if (kind == LFD_KIND_MARKER) {
			struct lfd_retired *r = (struct lfd_retired *)w;

			/* The stack is LIFO: items pushed before a marker come
			 * after it in the batch.  Signal markers last.
			 * (relaxed: the marker list is this thread's.) */
			lfd_a_store(&r->link, (uintptr_t)*markers,
				    memory_order_relaxed);
			*markers = r;
			w = next;
			continue;
		}
		if (kind == LFD_KIND_RECORD) {
			struct lfd_retired *r = (struct lfd_retired *)w;

			if (d->value_free)
				d->value_free(r->value, d->value_free_arg);
			lfd_record_free(d, r);
		} else {
			struct lfd_entry *e = (struct lfd_entry *)w;

			/* No value: an entry never linked (discarded). */
			if (d->value_free &&
			    *lfd_entry_popped(e) != LFD_TOMBSTONE)
				d->value_free(*lfd_entry_popped(e),
					      d->value_free_arg);
			lfd_entry_free(d, e, &batch);
		}
		b->items--;
		freed++;
		w = next;
	}
	lfd_slab_flush(d, &batch);
	lfd_backlog_add(d, -freed);
	return w;
}

/* Take a chain from some ready slot, starting the scan at `from`; 0 if
 * every slot was empty. */
uintptr_t lfd_ready_take(struct lfd *d, unsigned from)
{
	unsigned i;

	for (i = 0; i < LFD_READY_SLOTS; i++) {
		LFD_ATOMIC(uintptr_t) *s =
			&d->ready[(from + i) % LFD_READY_SLOTS];
		uintptr_t w;

		/* relaxed: a hint that skips empty slots; the exchange
		 * decides. */
		if (lfd_a_load(s, memory_order_relaxed) == 0)
			continue;
		/* acquire: pairs with lfd_ready_put's release, so the chain's
		 * links (written by whoever pushed or put it) are visible. */
		w = lfd_a_xchg(s, (uintptr_t)0, memory_order_acquire);
		if (w != 0) {
			/* relaxed: only the increments take part in the
			 * store-buffering pair of lfd_retire_schedule; the
			 * count stays >= the slots in use because the slot
			 * exchange acquired the put's release, which came
			 * after the put's increment. */
			lfd_a_fetch_add(&d->ready_count, -1,
					memory_order_relaxed);
			return w;
		}
	}
	return 0;
}

/* Put chain w in an empty ready slot; false if all are full. */
bool lfd_ready_put(struct lfd *d, uintptr_t w, unsigned from)
{
	unsigned i;

	for (i = 0; i < LFD_READY_SLOTS; i++) {
		LFD_ATOMIC(uintptr_t) *s =
			&d->ready[(from + i) % LFD_READY_SLOTS];
		uintptr_t empty = 0;

		/* relaxed: a hint that skips full slots without two RMWs on
		 * the count; the CAS below decides (a slot emptied meanwhile
		 * is at worst missed, as if the CAS had lost). */
		if (lfd_a_load(s, memory_order_relaxed) != 0)
			continue;
		/* seq_cst: the store-buffering pair of lfd_retire_schedule
		 * (count, then check busy; against clear busy, then check
		 * the count).  Counted before the slot is filled, so the
		 * count is never below the slots in use... */
		lfd_a_fetch_add(&d->ready_count, 1, memory_order_seq_cst);
		/* release: publishes the chain's links to the taker's
		 * acquire exchange. */
		if (lfd_a_cas(s, &empty, w, memory_order_release,
			      memory_order_relaxed))
			return true;
		/* ...and uncounted again if the slot was full (relaxed:
		 * see lfd_ready_take). */
		lfd_a_fetch_add(&d->ready_count, -1, memory_order_relaxed);
	}
	return false;
}

void lfd_signal_markers(struct lfd_retired *markers)
{
	while (markers != NULL) {
		/* relaxed: this thread's list (lfd_free_items). */
		struct lfd_retired *next = (struct lfd_retired *)lfd_a_load(
			&markers->link, memory_order_relaxed);

		/* release: every destructor and free before this happens-
		 * before the waiter's return; the waiter's frame may vanish
		 * right after this store, so the marker is not touched
		 * again. */
		lfd_a_store(&((struct lfd_marker *)markers)->done, 1,
			    memory_order_release);
		markers = next;
	}
}
